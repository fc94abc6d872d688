#!/usr/bin/python3
"""sso-broker bench: N audit records straight into Redis, in the keys the broker writes
(broker/store_audit.c): the tenant's stream, the per-user index stream with the same entry
IDs, and the request-id and assertion-id day hashes.  Writes the Redis protocol on stdout
for `redis-cli --pipe` (much faster than N sign-ins).

    audit-fill.py N USERS DAYS [--tenant acme] [--heavy USER:COUNT] > fill.resp

Records are spread evenly over the last DAYS days (entry IDs are their times), users
user000000@acme.example .. round robin, plus COUNT more records of the heavy user, and
look like the broker's (sorted keys, the fields of an assertion record).
Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
"""
import argparse
import hashlib
import json
import sys
import time

DAY_MS = 86400000


def resp(*args):
    out = [b'*%d\r\n' % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b'$%d\r\n%s\r\n' % (len(a), a))
    return b''.join(out)


def key(tenant, sfx=None):
    return 'bk:v1:{%s}:audit%s' % (tenant, (':' + sfx) if sfx else '')


def record(i, user, tenant, ms, chain):
    t = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(ms // 1000))
    o = {'assertion_id': '_a%032x' % i, 'audit_version': 1, 'chain': chain,
         'cert_fingerprint': 'SHA256:' + 'ab' * 32, 'client_addr': '198.51.100.%d' % (i % 250),
         'digest_alg': 'sha256', 'event': 'assertion', 'instance': 'broker-1',
         'issuer': 'https://acme.my.salesforce.com', 'name_id': user,
         'outcome': 'accepted' if i % 20 else 'rejected', 'peer_addr': '10.0.0.2',
         'reason': 'ok' if i % 20 else 'user_unmapped', 'request_id': '%016x' % i,
         'seal': 'sha256', 'seq': i, 'sig_alg': 'rsa-sha256', 'tenant': tenant, 'time': t,
         'user': user, 'user_agent': 'Mozilla/5.0 (bench)', 'prev': '%064x' % (i - 1),
         'hash': '%064x' % i}
    return json.dumps(o, sort_keys=True, separators=(',', ':')), o


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('n', type=int)
    ap.add_argument('users', type=int)
    ap.add_argument('days', type=int)
    ap.add_argument('--tenant', default='acme')
    ap.add_argument('--heavy', default='')
    ap.add_argument('--retention-days', type=int, default=90)
    a = ap.parse_args()
    heavy_user, heavy_n = (a.heavy.split(':') + ['0'])[:2] if a.heavy else ('', '0')
    heavy_n = int(heavy_n)
    total = a.n + heavy_n
    now = int(time.time() * 1000)
    start = now - a.days * DAY_MS
    step = max(1, (now - start) // total)
    ttl = a.retention_days * 86400 + 86400
    chain = '%032x' % 0xbe7c4
    out = sys.stdout.buffer
    buf = []
    users = set()
    stream = key(a.tenant)
    for i in range(1, total + 1):
        ms = start + i * step
        eid = '%d-0' % ms
        user = heavy_user if heavy_n and i % (total // heavy_n) == 0 else \
            'user%06d@acme.example' % (i % a.users)
        line, o = record(i, user, a.tenant, ms, chain)
        day = ms // DAY_MS
        uk = key(a.tenant, 'u:' + hashlib.sha256(user.lower().encode()).hexdigest())
        buf.append(resp('XADD', stream, eid, 'rec', line))
        buf.append(resp('XADD', uk, eid, 'i', ''))
        buf.append(resp('HSET', key(a.tenant, 'r:%d' % day), o['request_id'], eid))
        buf.append(resp('HSET', key(a.tenant, 'a:%d' % day), o['assertion_id'], eid))
        users.add(uk)
        if i % 10000 == 0:
            out.write(b''.join(buf))
            buf = []
    for uk in users:
        buf.append(resp('EXPIRE', uk, ttl))
    for d in range((start // DAY_MS) - 1, now // DAY_MS + 2):
        buf.append(resp('EXPIRE', key(a.tenant, 'r:%d' % d), ttl))
        buf.append(resp('EXPIRE', key(a.tenant, 'a:%d' % d), ttl))
    out.write(b''.join(buf))


if __name__ == '__main__':
    main()
