#!/bin/bash
# sso-broker bench: OAuth endpoints the panel calls - code minting through
# /oauth2/authorize, redemption at /oauth2/token, and /oauth2/introspect.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/oauth.sh          # ~2 min
#
# 1. builds (no sanitizers), starts redis + the broker (WORKERS=2), tenant
#    acme with consent = never and code_ttl = 600, maps the bench users;
# 2. signs in for real: SESSIONS fresh IdP-initiated signed responses
#    (bench-peers' gen_responses.py) POSTed to the ACS -> session cookies;
# 3. mint: wrk GET /oauth2/authorize (client_id, exact redirect_uri, state,
#    PKCE S256) with those session cookies, MINT_CONNS connections, until
#    N_CODES codes are collected (bench/wrk-mint-codes.lua keeps every code
#    from the 302 Location) - the "sign in once" path of the panel;
# 4. redeem: wrk POSTs every code exactly once to /oauth2/token
#    (client_secret_basic, grant_type=authorization_code, redirect_uri,
#    code_verifier) at REDEEM_CONNS connections and counts 200 + access_token
#    (bench/wrk-redeem-codes.lua; rate = tokens / wall time of the redemption);
# 5. introspect: one live token, wrk POST /oauth2/introspect
#    (client_secret_basic) at INTRO_CONNS (64) connections, a 2-second check
#    run that reads every body ("active":true) and RUNS timed runs of
#    DURATION (10) s; the median is reported.
# Target (issue): introspection >= 25,000 req/s at 64 connections.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N_CODES=${N_CODES:-40000}
SESSIONS=${SESSIONS:-4}
MINT_CONNS=${MINT_CONNS:-16}
REDEEM_CONNS=${REDEEM_CONNS:-16}
INTRO_CONNS=${INTRO_CONNS:-64}
DURATION=${DURATION:-10}
RUNS=${RUNS:-3}
command -v wrk >/dev/null || bk_die "needs wrk"

bk_init
bk_build
bk_peers
bk_redis_start
BK_POLICY_EXTRA="code_ttl = 600" bk_write_conf never
bk_broker_start
bk_import_users 5000
T=$(nproc)
thr() { [ "$1" -lt "$T" ] && echo "$1" || echo "$T"; }
enc() { $PY -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
wait_quiet() { # like bench-peers' wait_idle: >= 85 % idle over 0.5 s, at most 20 s
	local t0=$SECONDS a b i tot idle
	while [ $((SECONDS - t0)) -lt 20 ]; do
		read -ra a </proc/stat; sleep 0.5; read -ra b </proc/stat
		tot=0; for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
		idle=$(((b[4] - a[4]) + (b[5] - a[5])))
		[ "$tot" -gt 0 ] && [ $((idle * 100 / tot)) -ge 85 ] && return 0
	done
	bk_log "machine still busy (idle $((idle * 100 / tot))%); measuring anyway"
}
kv() { tr " " "\n" <<<"$2" | sed -n "s/^$1=//p" | awk "NR == 1"; }

# ---- 2. real sign-ins -> session cookies
bk_gen_bodies "$SESSIONS" "$BK_RUN/signin.txt" -j 1 2>/dev/null
COOKIES=()
while read -r body; do
	ck=$(printf %s "$body" | curl -s -o /dev/null -D - -X POST \
		-H 'Content-Type: application/x-www-form-urlencoded' --data-binary @- "$ACS" |
		tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(ssob_s_[^;]*\);.*/\1/p' | head -1)
	[ -n "$ck" ] || bk_die "sign-in refused: $(tail -1 "$BROKER_LOG")"
	COOKIES+=("$ck")
done <"$BK_RUN/signin.txt"
bk_log "${#COOKIES[@]} browser sessions from real signed responses"

# ---- 3. mint codes (PKCE S256 of one verifier: every code still needs it)
VERIFIER=$(head -c 48 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary | base64 | tr '+/' '-_' | tr -d '=\n')
RURI=$(enc "$REDIRECT_URI")
AUTHZ="$PUB/oauth2/authorize?client_id=$CLIENT_ID&redirect_uri=$RURI&response_type=code&state=bench&code_challenge=$CHALLENGE&code_challenge_method=S256"
rm -f "$BK_RUN"/codes.*
MINT=()
i=0
while :; do
	have=$({ cat "$BK_RUN"/codes.* 2>/dev/null || true; } | wc -l)
	[ "$have" -ge "$N_CODES" ] && break
	[ $i -lt 20 ] || bk_die "only $have codes after 20 mint runs"
	ck=${COOKIES[$((i % ${#COOKIES[@]}))]}
	wait_quiet
	res=$(wrk -t "$(thr "$MINT_CONNS")" -c "$MINT_CONNS" -d 3s --timeout 30s \
		-s "$BK_BENCH/wrk-mint-codes.lua" "$AUTHZ" -- "$ck" "$BK_RUN/codes" | grep '^RESULT')
	bk_log "mint run $i: $(kv rps "$res") req/s, p50 $(kv lat_p50_ms "$res") ms, p99 $(kv lat_p99_ms "$res") ms, codes $(kv codes "$res"), other $(kv other "$res")"
	MINT+=("$res")
	i=$((i + 1))
done
cat "$BK_RUN"/codes.* | awk -v n="$N_CODES" 'NR <= n' >"$BK_RUN/codes.txt"
[ "$(sort -u "$BK_RUN/codes.txt" | wc -l)" = "$N_CODES" ] || bk_die "duplicate codes minted"
bk_log "$N_CODES distinct codes"

# ---- 4. redeem each code once
BASIC=$(printf '%s:%s' "$CLIENT_ID" "$PANEL_SECRET" | base64 -w0)
bound=$((N_CODES / 5000 + 5))   # an upper bound (wrk waits it out); the Lua stops sending when done
wait_quiet
RED=$(wrk -t "$(thr "$REDEEM_CONNS")" -c "$REDEEM_CONNS" -d "${bound}s" --timeout 30s \
	-s "$BK_BENCH/wrk-redeem-codes.lua" "$PUB/oauth2/token" -- \
	"$BK_RUN/codes.txt" "$(thr "$REDEEM_CONNS")" "$BASIC" "$RURI" "$VERIFIER" | grep '^RESULT')
bk_log "redeem: $RED"
[ "$(kv ok "$RED")" = "$N_CODES" ] || bk_log "WARNING: $(kv ok "$RED") tokens for $N_CODES codes"
# a second redemption of a code must fail (single use)
c1=$(head -1 "$BK_RUN/codes.txt")
st=$(curl -s -o "$BK_RUN/again.json" -w '%{http_code}' -u "$CLIENT_ID:$PANEL_SECRET" \
	-d grant_type=authorization_code -d "code=$c1" -d "redirect_uri=$RURI" -d "code_verifier=$VERIFIER" "$PUB/oauth2/token")
bk_log "code reused: HTTP $st $(cat "$BK_RUN/again.json")"

# ---- 5. introspection of one live token
code=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: ${COOKIES[0]}" "$AUTHZ" | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
TOKEN=$(curl -s -u "$CLIENT_ID:$PANEL_SECRET" -d grant_type=authorization_code -d "code=$code" \
	-d "redirect_uri=$RURI" -d "code_verifier=$VERIFIER" "$PUB/oauth2/token" |
	$PY -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') || bk_die "no token"
wait_quiet
CHK=$(wrk -t "$(thr "$INTRO_CONNS")" -c "$INTRO_CONNS" -d 2s --timeout 30s -s "$BK_BENCH/wrk-introspect.lua" \
	"$PUB/oauth2/introspect" -- "$BASIC" "$TOKEN" check | grep '^RESULT')
bk_log "introspect check: $(kv requests "$CHK") replies, $(kv active "$CHK") active:true, $(kv other "$CHK") other"
INTRO=()
for r in $(seq "$RUNS"); do
	wait_quiet
	res=$(wrk -t "$(thr "$INTRO_CONNS")" -c "$INTRO_CONNS" -d "${DURATION}s" --timeout 30s \
		-s "$BK_BENCH/wrk-introspect.lua" "$PUB/oauth2/introspect" -- "$BASIC" "$TOKEN" | grep '^RESULT')
	bk_log "introspect run $r: $(kv rps "$res") req/s p50 $(kv lat_p50_ms "$res") ms p99 $(kv lat_p99_ms "$res") ms, err_status $(kv err_status "$res")"
	INTRO+=("$res")
done
kill -0 "$BROKER_PID" || bk_die "broker died"

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
mrow() { # NAME CONNS "RESULT..."...: median rps/p50/p99 over the runs, errors summed
	local name=$1 c=$2; shift 2
	local rps p50 p99 err
	rps=$(for x in "$@"; do kv rps "$x"; done | median)
	p50=$(for x in "$@"; do kv lat_p50_ms "$x"; done | median)
	p99=$(for x in "$@"; do kv lat_p99_ms "$x"; done | median)
	err=$(for x in "$@"; do echo $(($(kv err_status "$x") + $(kv err_connect "$x") + $(kv err_read "$x") + $(kv err_timeout "$x"))); done | awk '{s+=$1} END {print s}')
	printf '| %s | %s | %.0f | %.2f | %.2f | %d | %s |\n' "$name" "$c" "$rps" "$p50" "$p99" "$err" "$#"
}
mkdir -p "$BK_BENCH/results"
{
echo
echo "### OAuth endpoints ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, broker workers=$WORKERS)"
echo
echo "| what | conns | per second | p50 ms | p99 ms | errors | runs |"
echo "|---|---:|---:|---:|---:|---:|---:|"
mrow "mint: GET /oauth2/authorize with a session -> 302 + code" "$MINT_CONNS" "${MINT[@]}"
printf '| %s | %s | %.0f | %.2f | %.2f | %d | 1 |\n' "redeem: POST /oauth2/token, each code once -> 200 + token" "$REDEEM_CONNS" \
	"$(kv redeem_rps "$RED")" "$(kv lat_p50_ms "$RED")" "$(kv lat_p99_ms "$RED")" \
	$(($(kv other "$RED") + $(kv err_connect "$RED") + $(kv err_read "$RED") + $(kv err_timeout "$RED")))
mrow "introspect: POST /oauth2/introspect, one live token" "$INTRO_CONNS" "${INTRO[@]}"
echo
echo "redeemed $(kv ok "$RED") of $N_CODES codes in $(kv redeem_s "$RED") s; a reused code answered HTTP $st;" \
	"introspection check: $(kv active "$CHK")/$(kv requests "$CHK") active:true"
} | tee "$BK_BENCH/results/oauth-$(date +%Y%m%d-%H%M%S).md"
