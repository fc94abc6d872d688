#!/bin/bash
# sso-broker bench: CPU cost of the worst SAML shapes before the signature
# (issue 6) against a normal sign-in.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/saml_worst.sh        # ~1 min; REPEAT=200 posts per shape
#
# 1. builds (no sanitizers, BUILD=build/bench) with lib.sh's bk_build;
# 2. bench/saml_worst.py starts its own redis-server and broker (two
#    workers, tenant acme with two IdP keys, as the integration suite does),
#    measures the workers' CPU time (/proc/<pid>/stat) per accepted sign-in,
#    then per post of each hostile shape of tests/integration/
#    test_saml_cost.py plus a genuinely signed Response inflated to the
#    limits after signing;
# 3. writes the table to bench/results/saml-worst-<stamp>.md.
# Before the fix, one post of the first shape (1,000 namespace declarations
# x 1,000 nodes, 33 KB) cost 9.3 s of CPU; see docs/benchmarks.md.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bk_init
bk_build
mkdir -p "$BK_BENCH/results"
BROKER_BUILD=$BUILD "$PY" "$BK_BENCH/saml_worst.py" |
	tee "$BK_BENCH/results/saml-worst-$(date +%Y%m%d-%H%M%S).md"
