#!/bin/bash
# sso-broker bench: what an agent and a sign-in cost in Redis (issue 12 item 8).
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/capacity.sh      # ~1 min; SIGNINS=300 whole sign-ins
#
# 1. builds (no sanitizers, BUILD=build/bench) with lib.sh's bk_build;
# 2. runs tests/integration/test_capacity.py with SIGNINS sign-ins: a
#    mapping of 2,000 agents (bytes per agent: MEMORY USAGE of the users,
#    sfdc and ugen hashes), then whole sign-ins of distinct agents (login,
#    signed Response, code, token) against one worker: Redis commands per
#    sign-in (INFO commandstats, those inside the broker's Lua scripts
#    included), Redis CPU per sign-in (idle rate subtracted), the keys a
#    sign-in leaves and their bytes, the audit stream's bytes;
# 3. writes the figures to bench/results/capacity-<stamp>.md; docs/capacity.md
#    scales them to 1,000,000 agents.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bk_init
bk_build
mkdir -p "$BK_BENCH/results"
out="$BK_BENCH/results/capacity-$(date -u +%Y%m%d-%H%M%S).md"
rc=0
(cd "$BK_TOP/tests/integration" &&
    CAPACITY_SIGNINS=${SIGNINS:-300} CAPACITY_REPORT="$BK_RUN/capacity.json" BROKER_BUILD=$BUILD \
    "$PY" -m pytest -q -s -p no:cacheprovider test_capacity.py) || rc=$?
{
	echo "# What an agent and a sign-in cost in Redis ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	echo
	echo "One broker worker, redis-server $(redis-server --version | awk '{print $3}'), $(nproc) cores;"
	echo "sequential whole sign-ins (docs/capacity.md scales these)."
	echo
	echo '```json'
	cat "$BK_RUN/capacity.json" 2>/dev/null || echo "(no figures: the run failed)"
	echo '```'
} >"$out"
cat "$out"
exit $rc
