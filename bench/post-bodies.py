#!/usr/bin/python3
# sso-broker bench: POST form bodies (one per line) to a URL, one after the
# other on one keep-alive connection; print a status histogram.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
#   post-bodies.py URL BODIES [FIRST [COUNT]]
# Exit status 0 when every reply was 2xx/3xx.
import collections
import http.client
import sys
import time
import urllib.parse


def main():
    url = urllib.parse.urlsplit(sys.argv[1])
    lines = [l.rstrip("\r\n") for l in open(sys.argv[2]) if l.strip()]
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    count = int(sys.argv[4]) if len(sys.argv) > 4 else len(lines) - first
    lines = lines[first:first + count]
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    hist = collections.Counter()
    t0 = time.monotonic()
    for body in lines:
        conn.request("POST", url.path, body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        r.read()
        hist[r.status] += 1
    el = time.monotonic() - t0
    print("posted %d in %.1f s (%.1f/s): %s" % (len(lines), el, len(lines) / max(el, 1e-9),
          " ".join("%d x%d" % kv for kv in sorted(hist.items()))))
    sys.exit(0 if all(200 <= s < 400 for s in hist) else 1)


if __name__ == "__main__":
    main()
