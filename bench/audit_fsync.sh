#!/bin/bash
# sso-broker bench: sign-in throughput with durable audit ([audit] fsync =
# true: each answer waits for its record's group-commit fdatasync) against
# fsync = false, side by side in one run (issue 9 item 4).
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/audit_fsync.sh                     # ~2 min on 2 cores
#   RUNS=5 DURATION=10 CONNS=16 bench/audit_fsync.sh
#
# Builds the broker without sanitizers, then bench/audit_fsync.py starts one
# redis-server and two brokers that differ only in [audit] fsync, posts
# pre-signed IdP-initiated Responses (each a whole accepted sign-in) to them
# in turn, and prints the table; a copy goes to
# bench/results/audit-fsync-<stamp>.md.  The target: the durable side at
# least 90 % of the other.  The audit files are in the scratch directory
# (TMPDIR): put it on the disk the broker's audit lives on in production
# to measure that disk.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bk_init
bk_build
mkdir -p "$BK_BENCH/results"
BROKER_BUILD=$BUILD "$PY" "$BK_BENCH/audit_fsync.py" |
	tee "$BK_BENCH/results/audit-fsync-$(date -u +%Y%m%d-%H%M%S).md"
