# shellcheck shell=bash
# sso-broker benchmarks: shared helpers (source it, do not run it).
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
# Builds the broker without sanitizers (scripts/bootstrap.sh), starts a
# private redis-server and the broker on free loopback ports with a tenant
# "acme" that trusts bench-peers' test IdP, and stops everything it started
# by PID on exit.  Knobs (environment):
#   BUILD      build dir            (default <top>/build/bench)
#   PEERS      bench-peers copy      (default /tmp/bench-peers, copied from
#              /work/shared/bench-peers or $PEERS_SRC when missing)
#   BK_RUN     scratch dir           (default: mktemp -d /tmp/bk-bench.XXXXXX)
#   WORKERS    broker workers        (default 2)
#   KEEP_RUN=1 keep the scratch dir (configs, logs) after the run

BK_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BK_BENCH="$BK_TOP/bench"
BUILD=${BUILD:-$BK_TOP/build/bench}
PEERS=${PEERS:-/tmp/bench-peers}
PEERS_SRC=${PEERS_SRC:-/work/shared/bench-peers}
WORKERS=${WORKERS:-2}
PY=/usr/bin/python3
BK_PIDS=()

bk_log() { printf '[bk-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bk_die() { bk_log "ERROR: $*"; exit 1; }

bk_cleanup() {
	set +e
	local p i
	# newest first: the broker drains before its redis-server goes away
	for ((i = ${#BK_PIDS[@]} - 1; i >= 0; i--)); do
		kill -TERM "${BK_PIDS[i]}" 2>/dev/null
		[ "$i" -gt 0 ] && sleep 0.3
	done
	for i in $(seq 50); do
		local alive=0
		for p in "${BK_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.2
	done
	for p in "${BK_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	if [ -n "${BK_RUN:-}" ] && [ -d "$BK_RUN" ]; then
		if [ -n "${KEEP_RUN:-}" ]; then bk_log "kept $BK_RUN"; else rm -rf "$BK_RUN"; fi
	fi
}

# bk_init: scratch dir + cleanup trap (call once, first)
bk_init() {
	BK_RUN=${BK_RUN:-$(mktemp -d /tmp/bk-bench.XXXXXX)}
	mkdir -p "$BK_RUN"
	trap bk_cleanup EXIT
	trap 'exit 130' INT TERM
}

bk_free_port() { bk_free_ports 1; }
# bk_free_ports N: N distinct free loopback ports (held together while chosen)
bk_free_ports() {
	$PY -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# bk_build: scripts/bootstrap.sh BUILD (no sanitizers).  If bootstrap's
# package step fails (e.g. a package name apt does not know), fall back to
# its configure + make steps so that a benchmark still measures this tree.
bk_build() {
	bk_log "building into $BUILD (scripts/bootstrap.sh)"
	if ! "$BK_TOP/scripts/bootstrap.sh" "$BUILD" >"$BK_RUN/bootstrap.log" 2>&1; then
		bk_log "bootstrap.sh failed: $(grep -v '^ *$' "$BK_RUN/bootstrap.log" | tail -1)"
		bk_log "falling back to configure + make in $BUILD"
		mkdir -p "$BUILD"
		(cd "$BUILD" && { [ -f Makefile ] || "$BK_TOP/configure" -q; } && make -j"$(nproc)" -s) \
			>>"$BK_RUN/bootstrap.log" 2>&1 || { tail -20 "$BK_RUN/bootstrap.log" >&2; bk_die "build failed"; }
	fi
	BROKER=$BUILD/broker/sso-broker
	SSOCTL=$BUILD/ssoctl/ssoctl
	[ -x "$BROKER" ] && [ -x "$SSOCTL" ] || bk_die "no broker/sso-broker or ssoctl/ssoctl in $BUILD"
	if grep -q -- '-fsanitize' "$BUILD/Makefile" 2>/dev/null &&
		grep -E '^(CFLAGS|LDFLAGS) =' "$BUILD/Makefile" | grep -q -- '-fsanitize'; then
		bk_log "WARNING: $BUILD was configured with sanitizers; numbers will be low"
	fi
}

# bk_peers: a writable bench-peers copy with certs/ and metadata/
bk_peers() {
	if [ ! -x "$PEERS/run-peers.sh" ]; then
		[ -d "$PEERS_SRC" ] || bk_die "no bench-peers at $PEERS or $PEERS_SRC"
		bk_log "copying $PEERS_SRC to $PEERS"
		mkdir -p "$PEERS"
		cp -rn "$PEERS_SRC"/. "$PEERS"/
		chmod -R u+w "$PEERS"
	fi
	"$PEERS/scripts/make-certs.sh" >&2
	[ -f "$PEERS/metadata/idp-metadata.xml" ] || $PY "$PEERS/scripts/make-metadata.py" >&2
	IDP_METADATA=$PEERS/metadata/idp-metadata.xml
}

# bk_need_peer_deps: apache2 + mod_auth_mellon & co (bench-peers/scripts/install-deps.sh, root)
bk_need_peer_deps() {
	if [ -f /usr/lib/apache2/modules/mod_auth_mellon.so ] && command -v wrk >/dev/null &&
		command -v hyperfine >/dev/null && pkg-config --exists xmlsec1-openssl &&
		$PY -c 'import lasso, saml2, xmlsec, lxml' 2>/dev/null; then
		return 0
	fi
	[ "$(id -u)" = 0 ] || bk_die "missing peer packages; run $PEERS/scripts/install-deps.sh as root"
	bk_log "installing bench-peers packages (scripts/install-deps.sh)"
	"$PEERS/scripts/install-deps.sh" >"$BK_RUN/install-deps.log" 2>&1 ||
		{ tail -5 "$BK_RUN/install-deps.log" >&2; bk_die "install-deps.sh failed"; }
}

bk_redis_start() {
	REDIS_PORT=$(bk_free_port)
	redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$BK_RUN" --logfile "$BK_RUN/redis.log" >/dev/null 2>&1 &
	REDIS_PID=$!
	BK_PIDS+=("$REDIS_PID")
	local i
	for i in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.1; done
	bk_die "redis-server did not come up"
}

# bk_write_conf [consent]: broker.conf + tenants.d/acme.conf under BK_RUN
# (BK_POLICY_EXTRA: more [policy] lines, e.g. "code_ttl = 600")
bk_write_conf() {
	local consent=${1:-never}
	BK_CONF_ARGS=("$@")
	read -r PUB_PORT ADM_PORT PANEL_PORT <<<"$(bk_free_ports 3)"
	PUB=http://127.0.0.1:$PUB_PORT; ADM=http://127.0.0.1:$ADM_PORT
	REDIRECT_URI=http://127.0.0.1:$PANEL_PORT/sso/callback
	CLIENT_ID=panel-acme
	mkdir -p "$BK_RUN/pki" "$BK_RUN/tenants.d"
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "/CN=bench-sp" \
		-keyout "$BK_RUN/pki/sp.key" -out "$BK_RUN/pki/sp.crt" >/dev/null 2>&1 || bk_die "openssl"
	head -c 32 /dev/urandom | base64 | tr -d '=+/\n' >"$BK_RUN/pki/admin.token"
	head -c 32 /dev/urandom | base64 | tr -d '=+/\n' >"$BK_RUN/pki/panel.secret"
	chmod 600 "$BK_RUN"/pki/*
	cp "$IDP_METADATA" "$BK_RUN/idp-metadata.xml"
	cat >"$BK_RUN/broker.conf" <<EOF
[server]
listen = 127.0.0.1:$PUB_PORT
public_url = $PUB
admin_listen = 127.0.0.1:$ADM_PORT
workers = $WORKERS

[redis]
url = redis://127.0.0.1:$REDIS_PORT/0

[audit]
path = $BK_RUN/audit.jsonl

[admin]
token_file = $BK_RUN/pki/admin.token

[tenants]
dir = $BK_RUN/tenants.d
EOF
	cat >"$BK_RUN/tenants.d/acme.conf" <<EOF
[tenant]
id = acme
enable_salesforce_sso = true

[saml]
idp_metadata = $BK_RUN/idp-metadata.xml
sp_key = $BK_RUN/pki/sp.key
sp_cert = $BK_RUN/pki/sp.crt
allow_idp_initiated = true
clock_skew = 60

[panel]
client_id = $CLIENT_ID
client_secret_file = $BK_RUN/pki/panel.secret
redirect_uri = $REDIRECT_URI
initiate_login_uri = http://127.0.0.1:$PANEL_PORT/sso/start

[policy]
consent = $consent
${BK_POLICY_EXTRA:-}
EOF
	chmod 600 "$BK_RUN/broker.conf" "$BK_RUN/tenants.d/acme.conf"
	export SSOCTL_TOKEN
	SSOCTL_TOKEN=$(cat "$BK_RUN/pki/admin.token")
	PANEL_SECRET=$(cat "$BK_RUN/pki/panel.secret")
	BROKER_LOG=$BK_RUN/broker.log
	"$BROKER" -c "$BK_RUN/broker.conf" --check-config >"$BK_RUN/check.out" 2>&1 ||
		bk_die "--check-config: $(head -3 "$BK_RUN/check.out")"
}

# bk_broker_start [wrapper...]: run the broker (optionally under a wrapper,
# e.g. valgrind) in the foreground of a background job; wait for /healthz
# (another program may take a chosen port before the broker binds it: then
# new ports, up to 3 tries)
bk_broker_start() {
	local i try
	for try in 1 2 3; do
		"$@" "$BROKER" -c "$BK_RUN/broker.conf" >"$BROKER_LOG" 2>&1 &
		BROKER_PID=$!
		BK_PIDS+=("$BROKER_PID")
		for i in $(seq 600); do
			curl -fsS -o /dev/null "$PUB/healthz" 2>/dev/null && break
			kill -0 "$BROKER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$BROKER_PID" 2>/dev/null && break
		wait "$BROKER_PID" 2>/dev/null
		grep -q 'Address already in use' "$BROKER_LOG" && [ $try -lt 3 ] ||
			bk_die "broker exited: $(tail -3 "$BROKER_LOG")"
		bk_log "a port was taken before the broker bound it; new ports"
		bk_write_conf "${BK_CONF_ARGS[@]}"
	done
	curl -fsS -o /dev/null "$PUB/healthz" || bk_die "broker did not answer /healthz"
	SP_ENTITY=$(curl -fsS "$PUB/t/acme/saml/metadata" | $PY -c 'import sys
from lxml import etree
print(etree.fromstring(sys.stdin.buffer.read()).get("entityID"))') || bk_die "no SP metadata"
	ACS=$PUB/t/acme/saml/acs
	bk_log "broker pid $BROKER_PID ($WORKERS workers) on $PUB, admin $ADM, redis :$REDIS_PORT; SP $SP_ENTITY"
}

# bk_broker_stop: SIGTERM (drain) and wait, so that e.g. callgrind writes its output
bk_broker_stop() {
	[ -n "${BROKER_PID:-}" ] || return 0
	kill -TERM "$BROKER_PID" 2>/dev/null
	local i
	for i in $(seq 300); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$BROKER_PID" 2>/dev/null && { bk_log "broker did not stop; KILL"; kill -KILL "$BROKER_PID"; }
	wait "$BROKER_PID" 2>/dev/null
	BROKER_PID=
}

# bk_import_users N: map the NameIDs gen_responses.py uses (userNNNNNN@acme-corp.example.com)
bk_import_users() {
	local n=$1
	"$BK_BENCH/gen-users-csv.py" "$n" "$BK_RUN/users.csv" --sfdc 'user%06d@acme-corp.example.com'
	"$SSOCTL" --url "$ADM" users import "$BK_RUN/users.csv" --allow-new >"$BK_RUN/import.out" 2>&1 ||
		bk_die "ssoctl users import: $(tail -2 "$BK_RUN/import.out")"
	bk_log "imported $n users: $(tail -1 "$BK_RUN/import.out")"
}

# bk_gen_bodies N OUT [gen_responses.py args]: signed IdP-initiated responses for the broker's ACS
bk_gen_bodies() {
	local n=$1 out=$2; shift 2
	$PY "$PEERS/scripts/gen_responses.py" -n "$n" -o "$out" --acs "$ACS" --audience "$SP_ENTITY" "$@"
}
