#!/bin/bash
# sso-broker bench: a junk flood at full speed at the ACS for 60 s (issue 9
# item 5): posts that are not base64, not SAML, without SAMLResponse, GETs
# (405) and an unknown tenant, from 4 client threads, with one real sign-in
# in the middle; the audit must grow by under 1 MB, every refusal accounted
# for (own records + counts = requests), the broker up.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/audit_flood.sh                 # ~75 s
#   AUDIT_FLOOD_SEC=120 bench/audit_flood.sh
#
# It is tests/integration/test_audit_flood.py's flood test, run for longer
# (the default suite runs it for 10 s); the figures go to
# bench/results/audit-flood-<stamp>.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bk_init
bk_build
mkdir -p "$BK_BENCH/results"
out="$BK_BENCH/results/audit-flood-$(date -u +%Y%m%d-%H%M%S).md"
rc=0
(cd "$BK_TOP/tests/integration" &&
    AUDIT_FLOOD_SEC=${AUDIT_FLOOD_SEC:-60} AUDIT_FLOOD_REPORT="$BK_RUN/flood.txt" BROKER_BUILD=$BUILD \
    "$PY" -m pytest -q -s -p no:cacheprovider test_audit_flood.py -k counted_not_recorded) || rc=$?
{
	echo "# Junk flood at the ACS for ${AUDIT_FLOOD_SEC:-60} s ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	echo
	echo '```'
	cat "$BK_RUN/flood.txt" 2>/dev/null || echo "(no figures: the run failed)"
	echo '```'
} >"$out"
cat "$out"
exit $rc
