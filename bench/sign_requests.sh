#!/bin/bash
# sso-broker bench: what signed AuthnRequests cost a login (issue 11 item 1).
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/sign_requests.sh      # ~1 min; N=2000 authorize requests per variant
#
# 1. builds (no sanitizers, BUILD=build/bench) with lib.sh's bk_build;
# 2. bench/sign_requests.py starts its own redis-server and ONE broker worker
#    per variant ([saml] sign_requests = false, then true) on 127.0.0.1 and
#    times N GET /oauth2/authorize one after the other (each a 302 with a
#    fresh AuthnRequest; signed ones are signed by the key holder), then runs
#    openssl speed rsa2048 for the bare RSA-2048 signature;
# 3. writes the table to bench/results/sign-requests-<stamp>.md.
# Exits 2 when a signed login costs more than LIMIT_MS (2.0) over an
# unsigned one at the median.  Knobs: N, WARM, LIMIT_MS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bk_init
bk_build
mkdir -p "$BK_BENCH/results"
out="$BK_BENCH/results/sign-requests-$(date -u +%Y%m%d-%H%M%S).md"
rc=0
BROKER_BUILD=$BUILD "$PY" "$BK_BENCH/sign_requests.py" >"$BK_RUN/result.md" || rc=$?
cat "$BK_RUN/result.md"
if [ -s "$BK_RUN/result.md" ]; then
	cp "$BK_RUN/result.md" "$out"
	bk_log "wrote $out"
fi
exit "$rc"
