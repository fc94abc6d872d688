#!/bin/bash
# sso-broker bench: where the instructions of one sign-in go (callgrind).
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/profile.sh          # ~3 min: N=2000 ACS posts under callgrind
#
# Builds (no sanitizers; -O2 -g), starts redis and the broker with
# workers = 1 under valgrind --tool=callgrind --trace-children=yes (the
# forked worker is profiled in its own output file), posts WARM=50 signed
# responses, zeroes the worker's counters (callgrind_control -z), posts N
# fresh IdP-initiated responses one after the other (each accepted: verify,
# checks, replay cache, session, audit record, 303), dumps the counters
# (callgrind_control -d) and stops the broker.  Instruction counts are
# deterministic up to a few percent (random IDs, hash-table layouts), unlike
# wall-clock time on this shared machine.
#
# Prints: instructions per sign-in, self cost by library (object file),
# inclusive cost of the main stages, and the top functions; keeps the
# callgrind file (bench/results/callgrind.acs.<stamp>) for callgrind_annotate
# or kcachegrind.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
N=${N:-2000}
WARM=${WARM:-50}
WORKERS=1

command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
	bk_die "needs valgrind (apt-get install valgrind)"
bk_init
bk_build
bk_peers
bk_redis_start
bk_write_conf never
bk_broker_start valgrind --tool=callgrind --trace-children=yes \
	--callgrind-out-file="$BK_RUN/callgrind.out.%p"
bk_import_users 5000
worker=$(pgrep -P "$BROKER_PID" | head -1)
[ -n "$worker" ] || bk_die "no worker process under $BROKER_PID"
bk_log "worker pid $worker (under callgrind)"

bk_gen_bodies $((WARM + N)) "$BK_RUN/bodies.txt" 2>&1 | sed 's/^/  /' >&2
"$BK_BENCH/post-bodies.py" "$ACS" "$BK_RUN/bodies.txt" 0 "$WARM" >&2 || bk_die "warm-up posts failed"
callgrind_control -z "$worker" >/dev/null
bk_log "counters zeroed; posting $N responses"
"$BK_BENCH/post-bodies.py" "$ACS" "$BK_RUN/bodies.txt" "$WARM" "$N" | tee "$BK_RUN/posts.txt" >&2 ||
	bk_die "some posts were not accepted: $(cat "$BK_RUN/posts.txt")"
callgrind_control -d "$worker" >/dev/null
sleep 1
bk_broker_stop
dump=$(ls -t "$BK_RUN"/callgrind.out."$worker".* 2>/dev/null | head -1)
[ -n "$dump" ] || dump=$BK_RUN/callgrind.out.$worker
[ -f "$dump" ] || bk_die "no callgrind dump for worker $worker in $BK_RUN"
mkdir -p "$BK_BENCH/results"
keep=$BK_BENCH/results/callgrind.acs.$(date +%Y%m%d-%H%M%S)
cp "$dump" "$keep"

callgrind_annotate --auto=no --threshold=100 "$dump" >"$BK_RUN/self.txt" 2>/dev/null
callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$dump" >"$BK_RUN/incl.txt" 2>/dev/null
$PY "$BK_BENCH/profile-table.py" "$BK_RUN/self.txt" "$BK_RUN/incl.txt" "$N" | tee "$keep.md"
bk_log "callgrind file: $keep (callgrind_annotate $keep | less); table: $keep.md"
