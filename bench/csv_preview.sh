#!/bin/bash
# sso-broker bench: the preview (dry run) of a 100,000-row CSV upload over a
# 100,000-profile mapping (issue 10 item 7, the CSV half).
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   bench/csv_preview.sh       # ROWS=100000 (ROWS=N to change), RUNS=5; ~1 min with the build
#
# Builds (scripts/bootstrap.sh, no sanitizers), starts a private redis-server
# and the broker on loopback ports, loads ROWS profiles (ssoctl users import
# --allow-new), then writes the file an admin sends back after editing it in
# a spreadsheet: every 10th extension changed, every 100th with its leading
# zeros dropped (a held, confirm-me warning), the rest unchanged; and times
# its dry run RUNS times:
#   api     POST users.csv?dry_run=1 with curl (broker + Redis + the JSON
#           report of 100,000 rows: what the web console's preview waits for)
#   ssoctl  ssoctl users import FILE --dry-run (the same, plus ssoctl
#           printing the changed rows and the warnings table)
# and prints the median and worst of each.  Target: under 5 s.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
ROWS=${ROWS:-100000}
RUNS=${RUNS:-5}

bk_init
bk_build
bk_peers
bk_redis_start
bk_write_conf never
bk_broker_start

base=$BK_RUN/users-$ROWS.csv
edited=$BK_RUN/users-$ROWS-edited.csv
"$BK_BENCH/gen-users-csv.py" "$ROWS" "$base"
"$BK_BENCH/gen-users-csv.py" "$ROWS" "$edited" --change-every 10 --drop-zero-every 100
"$SSOCTL" --url "$ADM" --timeout 300 users import "$base" --allow-new >"$BK_RUN/load.out" 2>&1 ||
	bk_die "loading the mapping: $(tail -2 "$BK_RUN/load.out")"
bk_log "mapping: $(head -1 "$BK_RUN/load.out")"
bk_log "edited file: $ROWS rows, $(du -h "$edited" | cut -f1)"

api_s=() cli_s=()
for r in $(seq "$RUNS"); do
	t=$(curl -sS -o "$BK_RUN/preview.json" -w '%{time_total}' -X POST --data-binary @"$edited" \
		-H 'Content-Type: text/csv' -H "Authorization: Bearer $SSOCTL_TOKEN" \
		"$ADM/api/v1/tenants/acme/users.csv?dry_run=1")
	api_s+=("$t")
	t0=$(date +%s.%N)
	"$SSOCTL" --url "$ADM" --timeout 300 users import "$edited" --dry-run >"$BK_RUN/preview.out" 2>&1 ||
		bk_die "ssoctl dry run: $(tail -2 "$BK_RUN/preview.out")"
	t1=$(date +%s.%N)
	cli_s+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')")
	bk_log "run $r: api ${api_s[-1]} s, ssoctl ${cli_s[-1]} s"
done
summary=$($PY -c 'import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
print("%d changed, %d unchanged, %d rejected, %d warnings (%d held), %d bytes of JSON" % (
    s["changed"], s["unchanged"], s["rejected"], s["warnings"], s["held"], len(open(sys.argv[1]).read())))' \
	"$BK_RUN/preview.json")
bk_log "preview: $summary"

stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR] = $1} END {printf "%.2f | %.2f", a[int((NR + 1) / 2)], a[NR]}'; }
mkdir -p "$BK_BENCH/results"
{
echo
echo "### CSV preview (dry run), $ROWS-row upload over $ROWS profiles ($(date -u +%Y-%m-%dT%H:%MZ), workers=$WORKERS, $RUNS runs)"
echo
echo "| path | median s | worst s | target |"
echo "|---|---:|---:|---|"
echo "| POST users.csv?dry_run=1 (curl) | $(stats "${api_s[@]}") | < 5 s |"
echo "| ssoctl users import --dry-run | $(stats "${cli_s[@]}") | < 5 s |"
echo
echo "($summary)"
} | tee "$BK_BENCH/results/csv-preview-$(date +%Y%m%d-%H%M%S).md"
