#!/bin/bash
# Run the whole sso-broker demo on this machine: build, demo keys, a private redis-server, the
# broker, the demo user mapping, a demo Salesforce-shaped IdP (tenant "demo", SAML), a stand-in
# Salesforce authorization server (tenant "demo-oauth", OAuth "Allow") and a demo communication
# panel that offers both ways in.
# Everything listens on 127.0.0.1 only and everything it starts is stopped by PID on exit.
#
#   scripts/demo.sh                  run in the foreground until Ctrl-C / SIGTERM
#   scripts/demo.sh --background     start, write RUN_DIR/ready.env (URLs and PIDs), return
#   scripts/demo.sh --stop [RUN_DIR] stop what a --background run started (by PID)
#
# Environment (all optional):
#   DEMO_RUN_DIR       run folder (keys, configs, logs)       default ./run/demo (gitignored)
#   DEMO_BUILD_DIR     where scripts/bootstrap.sh builds      default ./build
#   DEMO_SKIP_BUILD=1  do not run scripts/bootstrap.sh when the binaries are already built
#   DEMO_PANEL_PORT    demo panel                             default 8400
#   DEMO_BROKER_PORT   broker public listener                 default 8443
#   DEMO_ADMIN_PORT    broker admin listener                  default 8444
#   DEMO_IDP_PORT      demo IdP                               default 8445
#   DEMO_SFDC_PORT     stand-in Salesforce OAuth server (https) default 8446
#   DEMO_REDIS_PORT    private redis-server on 127.0.0.1:PORT   default: a free port
#   DEMO_REDIS_UNIX=1  private redis-server on a unix socket in the run folder instead
#   DEMO_CONSENT       the demo tenant's [policy] consent: first_use (default), always, never
#   DEMO_IDP_HOST      host name in the IdP's URLs: 127.0.0.1 (default), or localhost to make the
#                      IdP another site than the broker (a real cross-site POST to the ACS)
#
# DEMO ONLY: the keys are made on the spot by certs/gen-demo-pki.sh and the IdP's users have the
# password "demo".  Never use any of it in production.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3    # Debian's: the python3 first on PATH may lack python3-lasso
me=demo

say() { echo "$me: $*" >&2; }
die() { echo "$me: error: $*" >&2; exit 1; }

usage() {
	sed -n '2,/^set -u/p' "$0" | sed -e '/^set -u/d' -e 's/^# \{0,1\}//' >&2
	exit "${1:-2}"
}

# ---- process bookkeeping: RUN/pids holds "name pid starttime" lines ----
starttime() { # PID -> the kernel's start time of the process (guards against PID reuse)
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086  # split the fields on purpose
	set -- $s
	echo "${20}"
}
alive() { # PID STARTTIME
	[ -n "$1" ] && [ "$(starttime "$1" 2>/dev/null)" = "$2" ]
}
stop_run() { # RUN_DIR
	local run=$1 name pid st list=() i left
	[ -f "$run/pids" ] || return 0
	while read -r name pid st; do list+=("$name $pid $st"); done <"$run/pids"
	# reverse start order: panel, idp, broker, redis
	for ((i = ${#list[@]} - 1; i >= 0; i--)); do
		# shellcheck disable=SC2086
		set -- ${list[$i]}
		alive "$2" "$3" || continue
		kill -TERM "$2" 2>/dev/null
		for _ in $(seq 50); do alive "$2" "$3" || break; sleep 0.1; done
		if alive "$2" "$3"; then
			say "$1 (pid $2) did not stop on SIGTERM; sending SIGKILL"
			kill -KILL "$2" 2>/dev/null
		fi
	done
	left=0
	for ((i = 0; i < ${#list[@]}; i++)); do
		# shellcheck disable=SC2086
		set -- ${list[$i]}
		alive "$2" "$3" && left=1
	done
	[ $left -eq 0 ] && rm -f "$run/pids" "$run/ready.env"
	return $left
}

case "${1:-}" in
"") mode="fg" ;;
--background) mode="bg" ;;
--stop)
	run=${2:-${DEMO_RUN_DIR:-$top/run/demo}}
	[ -d "$run" ] || die "no run folder $run"
	if stop_run "$run"; then say "stopped the demo in $run"; else die "some processes of $run would not stop"; fi
	exit 0
	;;
-h | --help) usage 0 ;;
*) usage ;;
esac

RUN=${DEMO_RUN_DIR:-$top/run/demo}
BUILD=${DEMO_BUILD_DIR:-$top/build}
PANEL_PORT=${DEMO_PANEL_PORT:-8400}
PUB_PORT=${DEMO_BROKER_PORT:-8443}
ADM_PORT=${DEMO_ADMIN_PORT:-8444}
IDP_PORT=${DEMO_IDP_PORT:-8445}
SFDC_PORT=${DEMO_SFDC_PORT:-8446}
REDIS_PORT=${DEMO_REDIS_PORT:-}
IDP_HOST=${DEMO_IDP_HOST:-127.0.0.1}
CONSENT=${DEMO_CONSENT:-first_use}
case "$CONSENT" in first_use | always | never) ;; *) die "DEMO_CONSENT must be first_use, always or never" ;; esac
case "$IDP_HOST" in 127.0.0.1 | localhost) ;; *) die "DEMO_IDP_HOST must be 127.0.0.1 or localhost" ;; esac

for pv in PANEL_PORT:DEMO_PANEL_PORT PUB_PORT:DEMO_BROKER_PORT ADM_PORT:DEMO_ADMIN_PORT IDP_PORT:DEMO_IDP_PORT \
	SFDC_PORT:DEMO_SFDC_PORT \
	${REDIS_PORT:+REDIS_PORT:DEMO_REDIS_PORT}; do
	v=${pv%%:*}; p=${!v}
	if ! [[ "$p" =~ ^[0-9]{1,5}$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then die "${pv#*:}=$p is not a port number"; fi
done
ports=("$PANEL_PORT" "$PUB_PORT" "$ADM_PORT" "$IDP_PORT" "$SFDC_PORT" ${REDIS_PORT:+"$REDIS_PORT"})
[ "$(printf '%s\n' "${ports[@]}" | sort -u | wc -l)" -eq "${#ports[@]}" ] ||
	die "the demo ports must all differ (panel $PANEL_PORT, broker $PUB_PORT, admin $ADM_PORT, idp $IDP_PORT)"

mkdir -p "$RUN" || die "cannot create $RUN"
chmod 700 "$RUN"
RUN=$(cd "$RUN" && pwd)
case "$RUN" in *[[:space:]]*) die "the run folder path may not contain spaces: $RUN" ;; esac

# A demo already running from this folder?
if [ -f "$RUN/pids" ]; then
	while read -r name pid st; do
		alive "$pid" "$st" && die "a demo is already running from $RUN ($name pid $pid); stop it with: scripts/demo.sh --stop $RUN"
	done <"$RUN/pids"
	rm -f "$RUN/pids" "$RUN/ready.env"
fi

# ---- 1. build (installs the Debian packages of scripts/deps.txt on first use) ----
BROKER=$BUILD/broker/sso-broker
SSOCTL=$BUILD/ssoctl/ssoctl
if [ "${DEMO_SKIP_BUILD:-}" = 1 ] && [ -x "$BROKER" ] && [ -x "$SSOCTL" ]; then
	:
else
	say "building with scripts/bootstrap.sh into $BUILD (the first run installs Debian packages; log: $RUN/bootstrap.log)"
	if ! "$top/scripts/bootstrap.sh" "$BUILD" >"$RUN/bootstrap.log" 2>&1; then
		tail -n 25 "$RUN/bootstrap.log" >&2
		die "scripts/bootstrap.sh failed (full log: $RUN/bootstrap.log)"
	fi
fi
[ -x "$BROKER" ] || die "no $BROKER after the build"
[ -x "$SSOCTL" ] || die "no $SSOCTL after the build"
for c in redis-server redis-cli openssl curl setsid; do
	command -v "$c" >/dev/null || die "$c not found (scripts/bootstrap.sh installs it from scripts/deps.txt)"
done
"$PY" -c 'import lasso, lxml' 2>/dev/null || die "$PY lacks python3-lasso or python3-lxml (Debian packages)"

# ---- 2. ports: fixed defaults, overridable, refused clearly when busy ----
port_busy() {
	"$PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # TIME_WAIT is not busy; a listener is
try:
    s.bind(('127.0.0.1', int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
EOF
}
for pv in "PANEL_PORT:demo panel:DEMO_PANEL_PORT" "PUB_PORT:broker public listener:DEMO_BROKER_PORT" \
	"ADM_PORT:broker admin listener:DEMO_ADMIN_PORT" "IDP_PORT:demo IdP:DEMO_IDP_PORT" \
	"SFDC_PORT:stand-in Salesforce:DEMO_SFDC_PORT" \
	${REDIS_PORT:+"REDIS_PORT:redis:DEMO_REDIS_PORT"}; do
	IFS=: read -r v what env <<<"$pv"
	port_busy "${!v}" && die "port ${!v} on 127.0.0.1 ($what) is busy; free it or set $env to another port"
done

PUB=http://127.0.0.1:$PUB_PORT
ADM=http://127.0.0.1:$ADM_PORT
PANEL=http://127.0.0.1:$PANEL_PORT
IDP=http://$IDP_HOST:$IDP_PORT
SFDC=https://127.0.0.1:$SFDC_PORT
TENANT=demo
OTENANT=demo-oauth
SFDC_CLIENT=3MVG9sso.broker.demo.connected.app
SFDC_ORG=00DDM0000000001

# ---- from here on, everything started is recorded and stopped by PID ----
redis_PID='' broker_PID='' idp_PID='' sfdc_PID='' panel_PID=''   # set by spawn
: >"$RUN/pids"
cleanup() {
	trap - EXIT INT TERM HUP
	say "stopping"
	stop_run "$RUN" || say "some processes would not stop, see $RUN/pids"
}
fail() {
	echo "$me: error: $*" >&2
	cleanup
	exit 1
}
trap cleanup EXIT
ready=0
on_signal() { # a stop asked for once the demo is up is a success; during start-up it is not
	[ "$ready" = 1 ] && exit 0
	exit 1
}
trap on_signal INT TERM HUP

spawn() { # NAME LOG CMD... : start detached (own session, so a Ctrl-C reaches only this script)
	local name=$1 logf=$2 pid st
	shift 2
	setsid "$@" </dev/null >>"$logf" 2>&1 &
	pid=$!
	st=
	for _ in $(seq 20); do st=$(starttime "$pid") && [ -n "$st" ] && break; sleep 0.05; done
	echo "$name $pid $st" >>"$RUN/pids"
	printf -v "${name}_PID" %s "$pid"
}
wait_http() { # NAME URL PID LOG
	local i
	for i in $(seq 150); do
		curl -fsS -o /dev/null --max-time 2 "$2" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || fail "$1 exited at start: $(tail -n 5 "$4" | tr '\n' ' ')"
		sleep 0.1
	done
	fail "$1 did not answer $2 within 15 s (log: $4)"
}

# ---- 3. demo keys ----
"$top/certs/gen-demo-pki.sh" "$RUN/pki" >/dev/null || fail "certs/gen-demo-pki.sh failed"

# ---- 4. private redis ----
if [ "${DEMO_REDIS_UNIX:-}" != 1 ]; then
	if [ -z "$REDIS_PORT" ]; then
		REDIS_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	fi
	spawn redis "$RUN/redis.log" redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no \
		--dir "$RUN" --protected-mode yes
	REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
	rcli=(redis-cli -h 127.0.0.1 -p "$REDIS_PORT")
else
	# The broker's workers run as [server] user (sso-broker, or nobody), not root: the socket
	# must be reachable by that account, as loopback TCP is (the files stay 0600).
	chmod 711 "$RUN"
	mkdir -p "$RUN/sock" && chmod 711 "$RUN/sock"
	rm -f "$RUN/sock/redis.sock"
	spawn redis "$RUN/redis.log" redis-server --port 0 --unixsocket "$RUN/sock/redis.sock" --unixsocketperm 777 \
		--save '' --appendonly no --dir "$RUN"
	REDIS_URL=unix://$RUN/sock/redis.sock
	rcli=(redis-cli -s "$RUN/sock/redis.sock")
fi
for _ in $(seq 100); do "${rcli[@]}" ping >/dev/null 2>&1 && break; sleep 0.1; done
"${rcli[@]}" ping >/dev/null 2>&1 || fail "redis-server did not start: $(tail -n 3 "$RUN/redis.log" | tr '\n' ' ')"

# ---- 5. configuration ----
"$PY" "$top/demo/idp.py" metadata --cert "$RUN/pki/idp.crt" --base-url "$IDP" >"$RUN/idp-metadata.xml" ||
	fail "demo/idp.py could not write its metadata"
mkdir -p "$RUN/tenants.d"
umask 077
cat >"$RUN/broker.conf" <<EOF
# sso-broker DEMO configuration, written by scripts/demo.sh (not for production)
[server]
listen = 127.0.0.1:$PUB_PORT
public_url = $PUB
admin_listen = 127.0.0.1:$ADM_PORT
workers = 2

[redis]
url = $REDIS_URL

[audit]
path = $RUN/audit.jsonl

[admin]
token_file = $RUN/pki/admin.token

[tenants]
dir = $RUN/tenants.d
EOF
cat >"$RUN/tenants.d/$TENANT.conf" <<EOF
# the demo tenant, written by scripts/demo.sh (not for production)
[tenant]
id = $TENANT
login = saml
enable_salesforce_sso = true

[saml]
idp_metadata = $RUN/idp-metadata.xml
sp_key = $RUN/pki/sp.key
sp_cert = $RUN/pki/sp.crt
allow_idp_initiated = true
clock_skew = 60

[panel]
client_id = demo-panel
client_secret_file = $RUN/pki/panel.secret
redirect_uri = $PANEL/callback
initiate_login_uri = $PANEL/start

[policy]
consent = $CONSENT

[admin]
users = admin@demo.example
auditors = auditor@demo.example
EOF
cat >"$RUN/tenants.d/$OTENANT.conf" <<EOF
# the demo OAuth tenant ("Allow"), written by scripts/demo.sh (not for production)
[tenant]
id = $OTENANT
login = oidc
enable_salesforce_sso = true

[oidc]
issuer = $SFDC
client_id = $SFDC_CLIENT
client_secret_file = $RUN/pki/sfdc-client.secret
org_id = $SFDC_ORG
ca_file = $RUN/pki/ca.crt

[panel]
client_id = demo-panel-oauth
client_secret_file = $RUN/pki/panel-oauth.secret
redirect_uri = $PANEL/callback
initiate_login_uri = $PANEL/start?way=oauth

[policy]
consent = $CONSENT

[admin]
users = admin@demo.example
auditors = auditor@demo.example
EOF
[ -s "$RUN/pki/panel-oauth.secret" ] || openssl rand -base64 48 | tr -d '\n=+/' >"$RUN/pki/panel-oauth.secret"
umask 022
chmod 600 "$RUN/broker.conf" "$RUN/tenants.d/$TENANT.conf" "$RUN/tenants.d/$OTENANT.conf" \
	"$RUN/pki/panel-oauth.secret"
"$BROKER" -c "$RUN/broker.conf" --check-config >"$RUN/check-config.log" 2>&1 ||
	fail "sso-broker --check-config refused the demo configuration: $(head -n 5 "$RUN/check-config.log" | tr '\n' ' ')"

# ---- 6. the stand-in Salesforce (the OAuth tenant's provider), then the broker ----
spawn sfdc "$RUN/sfdc.log" "$PY" "$top/demo/sfdc_oauth.py" --port "$SFDC_PORT" \
	--cert "$RUN/pki/sfdc.crt" --key "$RUN/pki/sfdc.key" --org-id "$SFDC_ORG" --client-id "$SFDC_CLIENT" \
	--client-secret-file "$RUN/pki/sfdc-client.secret" --users "$top/demo/users.csv" \
	--redirect-uri "$PUB/t/$OTENANT/oidc/callback"
for _ in $(seq 150); do
	curl -fsS -o /dev/null --max-time 2 --cacert "$RUN/pki/ca.crt" "$SFDC/healthz" 2>/dev/null && break
	kill -0 "$sfdc_PID" 2>/dev/null || fail "the stand-in Salesforce exited at start: $(tail -n 5 "$RUN/sfdc.log" | tr '\n' ' ')"
	sleep 0.1
done

spawn broker "$RUN/broker.log" "$BROKER" -c "$RUN/broker.conf"
wait_http broker "$PUB/healthz" "$broker_PID" "$RUN/broker.log"
for _ in $(seq 100); do curl -fsS -o /dev/null --max-time 2 "$PUB/readyz" 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null --max-time 2 "$PUB/readyz" 2>/dev/null ||
	fail "the broker is up but not ready ($PUB/readyz): $(tail -n 5 "$RUN/broker.log" | tr '\n' ' ')"

# ---- 7. the demo mapping ----
"$SSOCTL" --url "$ADM" --token-file "$RUN/pki/admin.token" --tenant "$TENANT" \
	users import "$top/demo/users.csv" --allow-new >"$RUN/import.log" 2>&1 ||
	fail "ssoctl users import demo/users.csv --allow-new: $(tail -n 5 "$RUN/import.log" | tr '\n' ' ')"
"$SSOCTL" --url "$ADM" --token-file "$RUN/pki/admin.token" --tenant "$OTENANT" \
	users import "$top/demo/users.csv" --allow-new >>"$RUN/import.log" 2>&1 ||
	fail "ssoctl users import (tenant $OTENANT): $(tail -n 5 "$RUN/import.log" | tr '\n' ' ')"

# ---- 8. the demo IdP and panel ----
spawn idp "$RUN/idp.log" "$PY" "$top/demo/idp.py" serve --port "$IDP_PORT" --base-url "$IDP" \
	--key "$RUN/pki/idp.key" --cert "$RUN/pki/idp.crt" --metadata "$RUN/idp-metadata.xml" \
	--sp-metadata-url "$PUB/t/$TENANT/saml/metadata"
spawn panel "$RUN/panel.log" "$PY" "$top/demo/panel.py" --port "$PANEL_PORT" --broker-url "$PUB" \
	--client-id demo-panel --secret-file "$RUN/pki/panel.secret" \
	--oauth-client-id demo-panel-oauth --oauth-secret-file "$RUN/pki/panel-oauth.secret"
wait_http "demo IdP" "http://127.0.0.1:$IDP_PORT/healthz" "$idp_PID" "$RUN/idp.log"
wait_http "demo panel" "$PANEL/healthz" "$panel_PID" "$RUN/panel.log"

cat >"$RUN/ready.env" <<EOF
DEMO_RUN_DIR=$RUN
PANEL_URL=$PANEL
BROKER_URL=$PUB
ADMIN_URL=$ADM
IDP_URL=$IDP
SFDC_URL=$SFDC
TENANT=$TENANT
OAUTH_TENANT=$OTENANT
REDIS_URL=$REDIS_URL
REDIS_PID=$redis_PID
BROKER_PID=$broker_PID
IDP_PID=$idp_PID
SFDC_PID=$sfdc_PID
PANEL_PID=$panel_PID
EOF

if [ "$mode" = bg ]; then
	trap - EXIT INT TERM HUP
	say "running in the background ($RUN/ready.env); stop with: scripts/demo.sh --stop $RUN"
	exit 0
fi

ready=1
echo "Open $PANEL/ and click \"Sign in with Salesforce\" (SAML) or \"Sign in with Salesforce (OAuth, \"Allow\")\" (demo users alice@demo.example, bob@demo.example, mallory@demo.example [unmapped], password: demo; Salesforce app launcher: $IDP/idp/); logs in $RUN; Ctrl-C stops everything."
echo "Admin console: $ADM/ (sign in with Salesforce as admin@demo.example or auditor@demo.example, password demo; or paste the operator token in $RUN/pki/admin.token)."
echo "ssoctl: SSOCTL_TOKEN=\$(cat $RUN/pki/admin.token) $SSOCTL --url $ADM tenants (a credential of its own for an account admin: ... admins add NAME --role admin --tenant $TENANT)"
# Stay up until a signal, or until one of the processes dies.
while :; do
	while read -r name pid st; do
		alive "$pid" "$st" || fail "$name (pid $pid) exited; see $RUN/$name.log"
	done <"$RUN/pids"
	sleep 1 &
	wait $! 2>/dev/null
done
