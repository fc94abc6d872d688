#!/bin/bash
# sso-broker bench: user-mapping import of a large CSV through ssoctl.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/import.sh            # 100,000 rows (ROWS=N to change), ~1 min with the build
#
# Builds (scripts/bootstrap.sh, no sanitizers), starts a private redis-server
# and the broker on loopback ports, writes ROWS rows with bench/gen-users-csv.py
# and times, end to end as an admin sees it (ssoctl -> admin API -> Redis):
#   1. ssoctl users import FILE --dry-run --allow-new   (the diff, nothing stored)
#   2. ssoctl users import FILE --allow-new             (all rows new, applied atomically)
#   3. the same file again with --dry-run               (all rows unchanged)
#   4. a changed file (every 10th extension) for real   (10 % changed)
# and prints rows/s and seconds for each.  Target: the 100k import under 5 s.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROWS=${ROWS:-100000}

bk_init
bk_build
bk_peers
bk_redis_start
bk_write_conf never
bk_broker_start

csv=$BK_RUN/users-$ROWS.csv
csv2=$BK_RUN/users-$ROWS-changed.csv
"$BK_BENCH/gen-users-csv.py" "$ROWS" "$csv"
"$BK_BENCH/gen-users-csv.py" "$ROWS" "$csv2" --change-every 10
bk_log "CSV: $ROWS rows, $(du -h "$csv" | cut -f1)"

RESULTS=()
timed_import() { # NAME FILE ARGS...
	local name=$1 f=$2 t0 t1 s rc=0; shift 2
	t0=$(date +%s.%N)
	"$SSOCTL" --url "$ADM" --timeout 120 users import "$f" "$@" >"$BK_RUN/$name.out" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
	local summary; summary=$(grep -E '[0-9]+ added, ' "$BK_RUN/$name.out" | tail -1)
	[ $rc = 0 ] || bk_log "$name: ssoctl exited $rc: $(tail -2 "$BK_RUN/$name.out" | tr '\n' ' ')"
	RESULTS+=("$(printf '| %-28s | %7d | %6.2f | %8.0f | %s |' "$name" "$ROWS" "$s" \
		"$(awk -v n="$ROWS" -v s="$s" 'BEGIN{print n / s}')" "$([ $rc = 0 ] && echo ok || echo "exit $rc")")")
	bk_log "$name: $s s ($(awk -v n="$ROWS" -v s="$s" 'BEGIN{printf "%.0f", n / s}') rows/s) rc=$rc"
	[ -n "$summary" ] && bk_log "  $summary"
	return 0
}

timed_import dry-run-all-new "$csv" --dry-run --allow-new
timed_import import-all-new "$csv" --allow-new
timed_import dry-run-unchanged "$csv" --dry-run
timed_import import-10pct-changed "$csv2"

n=$(redis-cli -p "$REDIS_PORT" dbsize | tr -d '\r')
mkdir -p "$BK_BENCH/results"
{
echo
echo "### ssoctl users import, $ROWS rows ($(date -u +%Y-%m-%dT%H:%MZ), workers=$WORKERS)"
echo
echo "| step | rows | seconds | rows/s | result |"
echo "|---|---:|---:|---:|---|"
printf '%s\n' "${RESULTS[@]}"
echo
echo "(redis keys after the import: $n; per-step ssoctl output kept with KEEP_RUN=1)"
} | tee "$BK_BENCH/results/import-$(date +%Y%m%d-%H%M%S).md"
