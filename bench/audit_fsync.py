#!/usr/bin/python3
"""sso-broker bench: sign-in throughput with durable audit ([audit] fsync = true) against
fsync = false, side by side in one run (issue 9 item 4).
Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.

Started by bench/audit_fsync.sh (BROKER_BUILD = a build without sanitizers).  Starts one
redis-server and two brokers (tests/integration/sbtest; tenant acme, consent = never,
allow_idp_initiated, 2 workers each), identical but for [audit] fsync, their audit files in the
same directory (the same file system).  Signed IdP-initiated Responses (one per sign-in, each a
new assertion ID: every post is a whole accepted sign-in with its records, the replay check,
the session) are made beforehand; CONNS client processes post them on keep-alive connections for
DURATION seconds, the two brokers in turn (A B A B ...), RUNS times each.  Prints a Markdown
table: sign-ins/s of each run, the median of each side, the ratio, and how many fdatasync calls
the durable side made per sign-in (the group commit)."""
import multiprocessing as mp
import os
import re
import statistics
import sys
import tempfile
import time
import http.client
import urllib.parse

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))

from sbtest import idp as idpmod  # noqa: E402
from sbtest.flows import Env, admin  # noqa: E402
from sbtest.procs import PKI, Broker, Redis  # noqa: E402

RUNS = int(os.environ.get('RUNS', '3'))
DURATION = float(os.environ.get('DURATION', '4'))
CONNS = int(os.environ.get('CONNS', '8'))
PER_RUN = int(os.environ.get('PER_RUN', '20000'))     # bodies made for one run (more than it takes)


def poster(url, bodies, deadline, q):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    ok = bad = 0
    for body in bodies:
        if time.monotonic() >= deadline:
            break
        c.request('POST', u.path, body=body, headers={'Content-Type': 'application/x-www-form-urlencoded'})
        r = c.getresponse()
        r.read()
        if r.status in (302, 303):
            ok += 1
        else:
            bad += 1
    q.put((ok, bad))


def one_run(b, bodies):
    url = b.pub + '/t/acme/saml/acs'
    q = mp.Queue()
    share = len(bodies) // CONNS
    t0 = time.monotonic()
    deadline = t0 + DURATION
    ps = [mp.Process(target=poster, args=(url, bodies[i * share:(i + 1) * share], deadline, q))
          for i in range(CONNS)]
    for p in ps:
        p.start()
    res = [q.get() for _ in ps]
    for p in ps:
        p.join()
    el = time.monotonic() - t0
    ok, bad = sum(r[0] for r in res), sum(r[1] for r in res)
    if ok >= share * CONNS * 0.95:
        print(f'warning: the run used {ok} of {share * CONNS} bodies: raise PER_RUN', file=sys.stderr)
    return ok / el, bad


def metric(b, name):
    m = re.search(r'^' + re.escape(name) + r' (\S+)$', admin(b, 'GET', '/metrics').text, re.M)
    return float(m.group(1)) if m else 0.0


def make_bodies(e, n):
    x = e.idp['acme']
    out = []
    for _ in range(n):
        out.append('SAMLResponse=' + urllib.parse.quote(idpmod.b64(x.good('alice@acme.example', None)), safe=''))
    return out


def broker(d, pki, redis, name, fsync):
    b = Broker(os.path.join(d, name), pki, redis, [('acme', {'consent': 'never'})], workers=2)
    orig = b.conf_text
    b.conf_text = lambda: orig().replace('[audit]\n', f'[audit]\nfsync = {fsync}\n', 1)
    b.audit_path = os.path.join(d, f'audit-{name}.jsonl')     # one file system for both
    b.start()
    return b, Env(b, b.dir, users=True)


def main():
    d = tempfile.mkdtemp(prefix='bk-fsync-')
    pki = PKI(os.path.join(d, 'pki'))
    redis = Redis(os.path.join(d, 'redis'))
    sides = []
    try:
        sides = [broker(d, pki, redis, 'durable', 'true'), broker(d, pki, redis, 'plain', 'false')]
        rates = {'durable': [], 'plain': []}
        s0 = metric(sides[0][0], 'ssobroker_audit_fsync_total{outcome="ok"}')
        n_durable = 0
        for run in range(RUNS):
            for (b, e), name in zip(sides, ('durable', 'plain')):
                bodies = make_bodies(e, PER_RUN)
                rate, bad = one_run(b, bodies)
                rates[name].append(rate)
                if name == 'durable':
                    n_durable += rate * DURATION
                print(f'run {run + 1} {name}: {rate:.0f} sign-ins/s ({bad} refused)', file=sys.stderr)
        syncs = metric(sides[0][0], 'ssobroker_audit_fsync_total{outcome="ok"}') - s0
        md, mp_ = statistics.median(rates['durable']), statistics.median(rates['plain'])
        print(f'\n## Sign-ins with durable audit vs without ({time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})\n')
        print(f'{os.cpu_count()} cores; 2 workers per broker; {CONNS} client processes on keep-alive '
              f'connections; {DURATION:g} s per run; IdP-initiated ACS posts, each a whole accepted '
              f'sign-in (signature, checks, replay cache, session, audit record); both audit files '
              f'in {d}.\n')
        print('| run | fsync = true (sign-ins/s) | fsync = false (sign-ins/s) |')
        print('|---:|---:|---:|')
        for i in range(RUNS):
            print(f'| {i + 1} | {rates["durable"][i]:.0f} | {rates["plain"][i]:.0f} |')
        print(f'| median | **{md:.0f}** | **{mp_:.0f}** |')
        print(f'\ndurable / not durable: **{100 * md / mp_:.1f} %** (target: at least 90 %)')
        if n_durable:
            print(f'\nfdatasync calls on the durable side: {syncs:.0f} for about {n_durable:.0f} '
                  f'sign-ins ({syncs / n_durable:.2f} per sign-in: the group commit)')
    finally:
        for b, _ in sides:
            b.stop()
        redis.stop()


if __name__ == '__main__':
    main()
