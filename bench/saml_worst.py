#!/usr/bin/python3
"""sso-broker bench: CPU cost of the worst SAML shapes at the ACS vs a normal sign-in (issue 6).
Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.

Started by bench/saml_worst.sh (BROKER_BUILD = a build without sanitizers).  Starts its own
redis-server and broker (tests/integration/sbtest, tenant acme with two IdP keys), then for each
shape posts it REPEAT times and reports the workers' CPU time per post, read from
/proc/<pid>/stat (utime + stime) of the workers, against the same figure for full, accepted
sign-ins (authorize + signed Response + ACS).  Shapes: those of tests/integration/test_saml_cost.py
(no valid signature), plus 'signed-then-inflated': a genuinely signed Response whose Assertion was
grown to the limits after signing, so the SignedInfo check passes and xmlsec does the whole digest
(the worst anyone holding one real signed response can do).  Prints a Markdown table."""
import os
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))

from lxml import etree  # noqa: E402

from sbtest import idp as idpmod  # noqa: E402
from sbtest.flows import Env  # noqa: E402
from sbtest.procs import PKI, Broker, Redis  # noqa: E402
import test_saml_cost as tc  # noqa: E402

REPEAT = int(os.environ.get('REPEAT', '200'))


def inflated(x, rid):
    """A real signed Response, then LIM_NODES - 60 prefixed elements with 16 declarations in scope
    added to the Subject: the digest no longer matches, but SignedInfo is genuine."""
    r = x.good('alice@acme.example', rid)
    a = r.find(f'{{{idpmod.SAML}}}Assertion')
    subj = a.find(f'{{{idpmod.SAML}}}Subject')
    nsmap = {f'p{i}': f'urn:p:{i}' for i in range(8)}
    w = etree.SubElement(subj, 'w', nsmap=nsmap)
    w2 = etree.SubElement(w, 'w', nsmap={f'q{i}': f'urn:q:{i}' for i in range(tc.LIM['NS_SCOPE'] - 14)})
    for i in range(tc.LIM['NODES'] - 60):
        e = etree.SubElement(w2, f'{{urn:p:{i % 8}}}e')
        e.set(f'{{urn:p:{(i + 1) % 8}}}a', 'v')
    return idpmod.b64(r)


def per_post(e, pids, body):
    s = e.browser().s
    c0 = tc.workers_cpu(pids)
    t0 = time.monotonic()
    for _ in range(REPEAT):
        r = s.post(e.b.pub + '/t/acme/saml/acs', data={'SAMLResponse': body}, allow_redirects=False, timeout=30)
    return (tc.workers_cpu(pids) - c0) / REPEAT, (time.monotonic() - t0) / REPEAT, r.status_code


def normal(e, pids, n):
    """Full accepted sign-ins: CPU of the whole authorize + ACS round, per sign-in."""
    logins = []
    for i in range(n):
        br = e.browser()
        logins.append((br, br.start_login(), e.fresh_user()[0] if i < 60 else 'alice@acme.example'))
    bodies = [(br, idpmod.b64(e.idp['acme'].good(u, lg.rid)), lg.relay) for br, lg, u in logins]
    c0 = tc.workers_cpu(pids)
    ok = 0
    for br, b, relay in bodies:
        out = br.post_acs('acme', b, relay)
        ok += out.chain[0].status_code in (302, 303)
    return (tc.workers_cpu(pids) - c0) / n, ok


def main():
    d = tempfile.mkdtemp(prefix='bk-saml-worst.')
    pki = PKI(os.path.join(d, 'pki'))
    redis = Redis(os.path.join(d, 'redis'))
    b = Broker(os.path.join(d, 'broker'), pki, redis, [('acme', {'consent': 'never'})])
    try:
        b.start()
        e = Env(b, b.dir, users=True)
        pids = tc.worker_pids(b)
        ref, ok = normal(e, pids, 60)
        rows = [('normal sign-in (accepted, 60)', ref, 0.0, f'{ok}/60 accepted')]
        shapes = [(n, mk(), slug) for n, mk, slug in tc.CASES]
        shapes.append(('signed-then-inflated', inflated(e.idp['acme'], None), 'saml_signature_invalid'))
        for name, body, slug in shapes:
            cpu, wall, st = per_post(e, pids, body)
            rows.append((f'{name} ({len(body)} B)', cpu, wall, f'HTTP {st}, {slug}'))
        print(f'\n## ACS cost per post, {REPEAT} posts per shape, broker {os.environ.get("BROKER_BUILD")}\n')
        print('Worker CPU is utime + stime of both workers (/proc/<pid>/stat, 10 ms ticks) over all')
        print('posts of a shape, divided by their number; the normal row is whole accepted sign-ins.\n')
        print('| input | worker CPU per post | wall per post | answer | CPU over normal |')
        print('|---|---:|---:|---|---:|')
        for name, cpu, wall, what in rows:
            w = f'{wall * 1000:.2f} ms' if wall else '-'
            print(f'| {name} | {cpu * 1000:.2f} ms | {w} | {what} | '
                  f'{(cpu - ref) * 1000:+.2f} ms |')
    finally:
        b.stop()
        redis.stop()


if __name__ == '__main__':
    main()
