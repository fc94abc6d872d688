#!/usr/bin/python3
"""sso-broker bench: what signed AuthnRequests ([saml] sign_requests) cost a login.
Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.

Started by bench/sign_requests.sh (BROKER_BUILD = a build without sanitizers).  Starts, on
127.0.0.1 and by PID, a private redis-server and, per variant, ONE broker worker with the SAML
tenant acme, sign_requests = false then true, through tests/integration/sbtest as the
integration tests do.  Each variant sends WARM then N GET /oauth2/authorize on one keep-alive
connection, one at a time (each builds an AuthnRequest, and with sign_requests has the key holder
sign it over the worker's channel, keys_sign()), and times each answer (a 302 to the IdP).  Also
runs `openssl speed rsa2048` for the bare signature.  Prints Markdown; exit 2 if a signed login
costs more than LIMIT_MS (2.0) over an unsigned one at the median.
Knobs (environment): N (2000), WARM (200), LIMIT_MS (2.0)."""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import requests

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))

from sbtest.browser import pkce  # noqa: E402
from sbtest.procs import PKI, Broker, Redis  # noqa: E402

N = int(os.environ.get('N', '2000'))
WARM = int(os.environ.get('WARM', '200'))
LIMIT_MS = float(os.environ.get('LIMIT_MS', '2.0'))


def latencies(b, n):
    s = requests.Session()
    s.trust_env = False
    t = b.tenants['acme']
    out = []
    for i in range(n):
        q = {'client_id': t.client_id, 'redirect_uri': t.redirect_uri, 'response_type': 'code',
             'state': f'bench-{i:08d}', 'code_challenge': pkce()[1], 'code_challenge_method': 'S256'}
        t0 = time.perf_counter()
        r = s.get(b.pub + '/oauth2/authorize', params=q, allow_redirects=False, timeout=10)
        out.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 302 or 'SAMLRequest=' not in r.headers.get('Location', ''):
            raise SystemExit(f'authorize answered {r.status_code}: {r.text[:200]}')
    return out


def variant(work, pki, redis, sign):
    b = Broker(tempfile.mkdtemp(dir=work), pki, redis, [('acme', {})], workers=1)
    b.tenants['acme'].saml['sign_requests'] = sign
    b.start()
    try:
        latencies(b, WARM)
        loc = requests.get(b.pub + '/t/acme/saml/metadata', timeout=10).text
        assert f'AuthnRequestsSigned="{sign}"' in loc
        lat = latencies(b, N)
    finally:
        b.stop()
    q = statistics.quantiles(lat, n=100)
    return statistics.median(lat), q[94], q[98]


def main():
    work = tempfile.mkdtemp(prefix='bk-sign-')
    pki, redis = PKI(os.path.join(work, 'pki')), Redis(os.path.join(work, 'redis'))
    try:
        res = {s: variant(work, pki, redis, s) for s in ('false', 'true')}
    finally:
        redis.stop()
    speed = subprocess.run(['openssl', 'speed', '-seconds', '3', 'rsa2048'], capture_output=True,
                           text=True).stdout.strip().splitlines()[-1]
    d = res['true'][0] - res['false'][0]
    print(f'## Signed AuthnRequests: GET /oauth2/authorize, one worker, N={N} sequential\n')
    print('| sign_requests | median ms | p95 ms | p99 ms |')
    print('|---|---|---|---|')
    for s in ('false', 'true'):
        print(f'| {s} | {res[s][0]:.3f} | {res[s][1]:.3f} | {res[s][2]:.3f} |')
    print(f'\nsigned minus unsigned, median: {d:.3f} ms (limit {LIMIT_MS} ms)\n')
    print(f'openssl speed rsa2048 (one core): `{speed}`')
    return 2 if d > LIMIT_MS else 0


if __name__ == '__main__':
    sys.exit(main())
