#!/usr/bin/python3
"""Slow and dribbling clients at a low fd limit (issue 6): the attack that stopped the broker.

Starts its own redis-server and broker (RLIMIT_NOFILE = --nofile, soft and hard) from
$BROKER_BUILD (default build/), opens --conns connections that dribble a head (1 byte a second)
or a 900 KB body (1 byte per 100 ms), and reports every 5 s: connections the kernel accepted,
ones closed by the broker, CPU seconds the broker used, log growth, worker RSS, and how long a
fresh GET /healthz takes.  Stops what it started by PID.

    BROKER_BUILD=build bench/slow-clients.py --conns 2200 --nofile 1024 --seconds 45
"""
import argparse
import os
import resource
import selectors
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))
os.environ.setdefault('BROKER_BUILD', os.path.join(HERE, '..', 'build'))

from sbtest import procs  # noqa: E402
from test_http_strict import children, proc_cpu, rss_kb  # noqa: E402


def healthz_ms(port):
    t = time.monotonic()
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=10)
        s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        ok = s.recv(12).startswith(b'HTTP/1.1 200')
        s.close()
    except OSError:
        ok = False
    return (time.monotonic() - t) * 1000 if ok else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--conns', type=int, default=2200)
    ap.add_argument('--nofile', type=int, default=1024)
    ap.add_argument('--seconds', type=int, default=45)
    ap.add_argument('--workers', type=int, default=2)
    a = ap.parse_args()
    import tempfile
    d = tempfile.mkdtemp(prefix='bench-slow-')
    pki = procs.PKI(os.path.join(d, 'pki'))
    redis = procs.Redis(os.path.join(d, 'redis'))
    b = procs.Broker(os.path.join(d, 'b'), pki, redis, [('acme', {})], workers=a.workers)
    orig = subprocess.Popen

    def popen(*args, **kw):
        kw['preexec_fn'] = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (a.nofile, a.nofile))
        return orig(*args, **kw)
    procs.subprocess.Popen = popen
    try:
        b.start()
    finally:
        procs.subprocess.Popen = orig
    resource.setrlimit(resource.RLIMIT_NOFILE, (a.conns + 256, max(a.conns + 256,
                       resource.getrlimit(resource.RLIMIT_NOFILE)[1])))
    sel = selectors.DefaultSelector()
    socks = []
    head = b'GET /healthz HTTP/1.1\r\nHost: x\r\n'
    body = (b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n'
            b'Content-Length: 900000\r\n\r\n')
    try:
        for i in range(a.conns):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(('127.0.0.1', b.port))
            socks.append([s, body if i % 2 else head, 0.1 if i % 2 else 1.0, 0.0, True])
            sel.register(s, selectors.EVENT_READ, len(socks) - 1)
        log0, cpu0, t0 = os.path.getsize(b.log_path), proc_cpu(b.pid), time.monotonic()
        nxt = t0
        while time.monotonic() - t0 < a.seconds:
            now = time.monotonic()
            for c in socks:
                if c[4] and now - c[3] >= c[2]:
                    try:
                        c[0].send(c[1][:1] if c[1] else b'a')
                        c[1] = c[1][1:]
                    except OSError:
                        pass
                    c[3] = now
            for key, _ in sel.select(0.05):
                c = socks[key.data]
                try:
                    if not c[0].recv(65536):
                        raise OSError
                except BlockingIOError:
                    continue
                except OSError:
                    c[4] = False
                    sel.unregister(c[0])
            if now >= nxt:
                nxt += 5
                rss = sum(rss_kb(w) for w in children(b.pid)) // 1024
                print(f'{now - t0:5.1f}s open={sum(c[4] for c in socks)} cpu={proc_cpu(b.pid) - cpu0:.2f}s '
                      f'log=+{os.path.getsize(b.log_path) - log0}B rss={rss}MB healthz={healthz_ms(b.port)}ms',
                      flush=True)
    finally:
        for c in socks:
            c[0].close()
        print('stop:', b.stop())
        redis.stop()


if __name__ == '__main__':
    main()
