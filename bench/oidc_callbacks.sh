#!/bin/bash
# sso-broker bench: OAuth callbacks never block a worker (issue 8).
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/oidc_callbacks.sh      # ~2 min; N=200 callbacks per variant
#
# 1. builds (no sanitizers, BUILD=build/bench) with lib.sh's bk_build;
# 2. bench/oidc_callbacks.py starts its own redis-server, ONE broker worker
#    with the OAuth tenant sf and the stand-in Salesforce (demo/sfdc_oauth.py)
#    on 127.0.0.1, prepares N sign-ins up to the callback, then fires the N
#    callbacks at once against a token endpoint delayed DELAY_MS (2000) while
#    a separate process times GET /healthz on the same worker every 10 ms;
#    then again with the delay TIMEOUT_DELAY_MS (6000), above hout's 5 s
#    total timeout (compile-time), so that every callback fails with
#    hout_timeout;
# 3. writes the tables to bench/results/oidc-callbacks-<stamp>.md.
# Exits 2 when a target is missed (healthz p99 >= 20 ms, a callback that
# neither completes nor times out at the configured timeout).
# Knobs: N, DELAY_MS, TIMEOUT_DELAY_MS, VARIANTS, BASELINE_S, PREP_THREADS.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bk_init
bk_build
mkdir -p "$BK_BENCH/results"
out="$BK_BENCH/results/oidc-callbacks-$(date -u +%Y%m%d-%H%M%S).md"
rc=0
BROKER_BUILD=$BUILD "$PY" "$BK_BENCH/oidc_callbacks.py" >"$BK_RUN/result.md" || rc=$?
cat "$BK_RUN/result.md"
if [ -s "$BK_RUN/result.md" ]; then
	cp "$BK_RUN/result.md" "$out"
	bk_log "wrote $out"
fi
exit "$rc"
