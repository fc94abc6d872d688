#!/usr/bin/python3
# sso-broker bench: side-by-side ACS table from bench-peers' raw.txt.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   acs-table.py RAW.txt [BROKER_NAME] [PEER_NAME]
#
# Medians over runs (like bench-peers' summarize.py): for each connection
# count, the broker's and mellon-tuned's req/s, p50, p99 and errors from the
# SAME run-peers.sh invocation, the ratio, and - when bench/cpu-probe.sh was
# the CPU_PROBE - the CPU each SP used (percent of one core) and the CPU
# milliseconds per sign-in (all processes of the SP; Redis listed apart).
import collections
import statistics
import sys

ERR = ("err_connect", "err_read", "err_write", "err_status", "err_timeout")


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def load(path):
    g = collections.defaultdict(list)
    for line in open(path):
        if not line.startswith("ROW "):
            continue
        kv = dict(p.split("=", 1) for p in line[4:].split() if "=" in p)
        g[(kv.get("phase"), kv.get("name"), kv.get("conns"))].append(kv)
    return g


def med(rows, k):
    v = [num(r.get(k)) for r in rows if num(r.get(k)) is not None]
    return statistics.median(v) if v else None


def f(v, nd=0):
    return "-" if v is None else "{:,.{}f}".format(v, nd)


def main():
    raw = sys.argv[1]
    bname = sys.argv[2] if len(sys.argv) > 2 else "sso-broker"
    pname = sys.argv[3] if len(sys.argv) > 3 else "mellon-tuned"
    g = load(raw)
    conns = sorted({int(k[2]) for k in g if k[0] == "acs" and k[2].isdigit()})
    print("| conns | %s req/s | p50 ms | p99 ms | errors | %s req/s | p50 ms | p99 ms | errors | ratio |"
          % (bname, pname))
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in conns:
        b = g.get(("acs", bname, str(c)), [])
        p = g.get(("acs", pname, str(c)), [])
        be = sum(int(num(r.get(k)) or 0) for r in b for k in ERR + ("log_errors",))
        pe = sum(int(num(r.get(k)) or 0) for r in p for k in ERR + ("log_errors",))
        br, pr = med(b, "rps"), med(p, "rps")
        ratio = "%.1fx" % (br / pr) if br and pr else "-"
        wr = max([int(num(r.get("wraps")) or 0) for r in b] or [0])
        print("| %d | %s | %s | %s | %d%s | %s | %s | %s | %d | %s |" % (
            c, f(br), f(med(b, "lat_p50_ms"), 2), f(med(b, "lat_p99_ms"), 2), be,
            " (wraps!)" if wr else "", f(pr), f(med(p, "lat_p50_ms"), 2),
            f(med(p, "lat_p99_ms"), 2), pe, ratio))
    # CPU split, when the probe ran
    rows = []
    for c in conns:
        for nm, key in ((bname, "broker"), (pname, "apache")):
            rs = g.get(("acs", nm, str(c)), [])
            cpu = med(rs, key + "_cpu_pct")
            if cpu is None:
                continue
            rps = med(rs, "rps")
            rows.append((c, nm, cpu, med(rs, "redis_cpu_pct") if key == "broker" else None,
                         med(rs, "total_cpu_pct"), 10.0 * cpu / rps if rps else None))
    if rows:
        print()
        print("| conns | SP | SP CPU % of one core | redis CPU % | whole machine CPU % (wrk incl.) | SP CPU ms per sign-in |")
        print("|---:|---|---:|---:|---:|---:|")
        for c, nm, cpu, rc, tot, ms in rows:
            print("| %d | %s | %s | %s | %s | %s |" % (c, nm, f(cpu), f(rc), f(tot), f(ms, 2)))
    checks = [r for k, v in g.items() if k[0] == "acs-check" for r in v]
    for r in checks:
        print()
        print("validation run %s, %s conns: %s responses 3xx + Set-Cookie, %s other" % (
            r.get("name"), r.get("conns"), r.get("checked_ok_cookie"), r.get("checked_other")))


if __name__ == "__main__":
    main()
