#!/bin/bash
# sso-broker bench: a Redis failover under sign-in load (issue 12 item 7).
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/redis_failover.sh      # ~1 min; SECONDS_AFTER=30 after the failover
#
# 1. builds (no sanitizers, BUILD=build/bench) with lib.sh's bk_build;
# 2. runs tests/integration/test_redis_ha.py with a longer load: a primary,
#    a replica and three Sentinels (quorum 2) on 127.0.0.1, one broker
#    (2 workers) that finds the master through the sentinels, THREADS
#    clients doing whole sign-ins (login, signed Response, code, token),
#    SENTINEL FAILOVER after 2 s, SECONDS_AFTER more seconds of load;
# 3. writes the figures to bench/results/ha-<stamp>.md: completed and
#    failed sign-ins and how they failed, the gap without a completed
#    sign-in, codes redeemed twice (must be 0), codes and completed
#    sign-ins without their audit record (must be 0).
# Exits non-zero when a check fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bk_init
bk_build
mkdir -p "$BK_BENCH/results"
out="$BK_BENCH/results/ha-$(date -u +%Y%m%d-%H%M%S).md"
rc=0
(cd "$BK_TOP/tests/integration" &&
    HA_THREADS=${THREADS:-4} HA_LOAD_SECONDS=${SECONDS_AFTER:-30} HA_REPORT="$BK_RUN/ha.txt" BROKER_BUILD=$BUILD \
    "$PY" -m pytest -q -s -p no:cacheprovider test_redis_ha.py) || rc=$?
{
	echo "# Redis failover under sign-in load ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	echo
	echo "One broker (2 workers), primary + replica + 3 Sentinels on loopback,"
	echo "SENTINEL FAILOVER after 2 s of load, ${SECONDS_AFTER:-30} s more; $(nproc) cores."
	echo
	echo '```'
	cat "$BK_RUN/ha.txt" 2>/dev/null || echo "(no figures: the run failed)"
	echo '```'
} >"$out"
cat "$out"
exit $rc
