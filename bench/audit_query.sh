#!/bin/bash
# sso-broker bench: an audit query over 1,000,000 records in the shared streams.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/audit_query.sh          # RECORDS=1000000 USERS=10000 DAYS=60, ~3 min with the build
#
# Builds (scripts/bootstrap.sh, no sanitizers), starts a private redis-server
# and the broker, fills RECORDS records spread over the last DAYS days into
# the keys the broker writes (bench/audit-fill.py | redis-cli --pipe: the
# tenant's stream, the user index, the request-id and assertion-id day
# hashes), USERS users round robin plus a heavy user with HEAVY records,
# then times, through the admin API (curl, best of 3) and ssoctl (end to end):
#   1. one user's last 30 days                     (target: under 1 s)
#   2. the heavy user's last 30 days, 1,000 records (the page's maximum)
#   3. one request id, one assertion id             (the day-hash indexes)
#   4. unindexed filters (outcome=rejected; an event nothing has), 30 days:
#      one page within the scan budget, and how many entries it examined
# Writes bench/results/audit-query-<stamp>.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RECORDS=${RECORDS:-1000000}
USERS=${USERS:-10000}
DAYS=${DAYS:-60}
HEAVY=${HEAVY:-20000}

bk_init
bk_build
bk_peers
bk_redis_start
bk_write_conf never
bk_broker_start
TOKEN=$(cat "$BK_RUN/pki/admin.token")

bk_log "filling $RECORDS records (+$HEAVY of heavy@acme.example) over $DAYS days"
t0=$(date +%s.%N)
$PY "$BK_BENCH/audit-fill.py" "$RECORDS" "$USERS" "$DAYS" --heavy "heavy@acme.example:$HEAVY" |
	redis-cli -p "$REDIS_PORT" --pipe >"$BK_RUN/fill.out"
t1=$(date +%s.%N)
tail -1 "$BK_RUN/fill.out" >&2
xlen=$(redis-cli -p "$REDIS_PORT" XLEN 'bk:v1:{acme}:audit')
mem=$(redis-cli -p "$REDIS_PORT" INFO memory | sed -n 's/^used_memory_human:\(.*\)\r$/\1/p')
bk_log "stream length $xlen, Redis memory $mem, fill $(echo "$t1 - $t0" | bc) s"

since=$(date -u -d '30 days ago' +%Y-%m-%d)
# best of 3 of curl's total time for one GET; prints "seconds records examined"
api() {
	local best=99 t n ex i out
	for i in 1 2 3; do
		out=$(curl -s -o "$BK_RUN/q.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" \
			"$ADM/api/v1/audit?$1")
		t=$out
		if (($(echo "$t < $best" | bc))); then best=$t; fi
	done
	n=$($PY -c 'import json,sys; j=json.load(open(sys.argv[1])); print(len(j["records"]), j.get("examined"))' \
		"$BK_RUN/q.json")
	echo "$best $n"
}
e2e() {
	local t0 t1
	t0=$(date +%s.%N)
	SSOCTL_TOKEN=$TOKEN "$SSOCTL" --url "$ADM" --tenant acme --json audit query "$@" >"$BK_RUN/e2e.json"
	t1=$(date +%s.%N)
	printf '%.3f' "$(echo "$t1 - $t0" | bc)"
}

rid=$(printf '%016x' 424242)
aid=$(printf '_a%032x' 424243)
read -r u_s u_n u_x <<<"$(api "tenant=acme&user=user004242@acme.example&since=$since&limit=1000")"
u_e=$(e2e --user user004242@acme.example --since "$since" --limit 1000)
read -r h_s h_n h_x <<<"$(api "tenant=acme&user=heavy@acme.example&since=$since&limit=1000")"
h_e=$(e2e --user heavy@acme.example --since "$since" --limit 1000)
read -r r_s r_n r_x <<<"$(api "tenant=acme&request_id=$rid")"
read -r a_s a_n a_x <<<"$(api "tenant=acme&assertion_id=$aid")"
read -r o_s o_n o_x <<<"$(api "tenant=acme&outcome=rejected&since=$since&limit=100")"
# nothing matches and nothing narrows it: one page stops at the scan budget
read -r b_s b_n b_x <<<"$(api "tenant=acme&event=no_such_event&since=$since")"
# without the tenant: every tenant's stream and the broker-wide one, merged
read -r w_s w_n w_x <<<"$(api "user=user004242@acme.example&since=$since&limit=1000")"

stamp=$(date -u +%Y%m%d-%H%M%S)
res=$BK_TOP/bench/results/audit-query-$stamp.md
mkdir -p "$BK_TOP/bench/results"
cat >"$res" <<EOF
# audit query over $xlen records ($stamp UTC)

$(uname -srm), $(nproc) cores; Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/'), memory $mem after the fill.
Fill: $RECORDS records + $HEAVY of one heavy user over $DAYS days, $USERS users, via bench/audit-fill.py | redis-cli --pipe.
Times: curl's time_total, best of 3 (admin API, one page); ssoctl: the whole command.

| query | records | examined | API s | ssoctl s |
|---|---|---|---|---|
| one user, last 30 days (since=$since) | $u_n | $u_x | $u_s | $u_e |
| heavy user, last 30 days, limit 1000 | $h_n | $h_x | $h_s | $h_e |
| one user, no tenant (all streams merged) | $w_n | $w_x | $w_s | |
| one request id | $r_n | $r_x | $r_s | |
| one assertion id | $a_n | $a_x | $a_s | |
| outcome=rejected, 30 days, limit 100 (no index) | $o_n | $o_x | $o_s | |
| an event nothing has, 30 days (no index: one page, the whole scan budget) | $b_n | $b_x | $b_s | |

Target (issue 9): one user's last 30 days under 1 s.
EOF
cat "$res"
bk_log "wrote $res"
