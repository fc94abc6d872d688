#!/bin/bash
# sso-broker bench: CPU ticks (utime+stime, 1/100 s) of the processes under
# test, for bench-peers' CPU_PROBE hook (run-peers.sh adds NAME_cpu_pct= to
# each ACS row).  Prints "broker_ticks=N redis_ticks=N apache_ticks=N".
#   cpu-probe.sh BROKER_PARENT_PID REDIS_PID [APACHE_PIDFILE]
# broker = the parent and its children (the workers), apache = the parent in
# the pid file and its children.
b=$1 r=$2 apf=${3:-/tmp/bench-peers/apache/httpd.pid}
a=$(cat "$apf" 2>/dev/null || echo 0)
# /proc/PID/stat: field 2 (comm) may hold spaces; strip through ") "
for s in /proc/[0-9]*/stat; do
	read -r line 2>/dev/null <"$s" || continue
	pid=${line%% *}
	rest=${line##*) }
	set -- $rest
	# after "pid (comm) ": $1 state, $2 ppid, ... $12 utime, $13 stime
	echo "$pid $2 $(( ${12} + ${13} ))"
done | awk -v b="$b" -v r="$r" -v a="$a" '
	($1 == b || $2 == b) { bt += $3 }
	($1 == r) { rt += $3 }
	(a > 0 && ($1 == a || $2 == a)) { at += $3 }
	END { printf "broker_ticks=%d redis_ticks=%d apache_ticks=%d\n", bt, rt, at }'
