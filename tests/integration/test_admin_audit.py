"""Audit query/export/verify (and tamper evidence), admin authentication, tenants, metrics."""
import json
import re
import subprocess
import time

import pytest

from sbtest.admin import find, jloads, run
from sbtest.flows import admin
from sbtest.idp import b64


@pytest.fixture(scope='module')
def a(module_factory):
    """A broker of its own (its audit file gets tampered with at the end)."""
    e = module_factory.env(tenants=[('acme', {'consent': 'never'})])
    ok = e.signin('alice@acme.example')
    assert ok['code']
    e.panel().token(ok['code'], ok['verifier'])
    br = e.browser()
    login = br.start_login()
    br.post_acs('acme', b64(e.idp['acme'].good('nobody@acme.example', login.rid)), login.relay)
    return e


def test_audit_query_filters(a):
    r = run(a.b, 'audit', 'query', '--outcome', 'rejected', '--reason', 'user_unmapped', json_out=True)
    assert r.returncode == 0, r.stderr
    recs = _records(r.stdout)
    assert recs and all(x['outcome'] == 'rejected' and x['reason'] == 'user_unmapped' for x in recs), recs[:3]
    r = run(a.b, 'audit', 'query', '--user', 'alice@acme.example', '--event', 'assertion', json_out=True)
    recs = _records(r.stdout)
    assert recs and all(x['event'] == 'assertion' and x['user'].lower() == 'alice@acme.example' for x in recs)
    aid = recs[-1]['assertion_id']
    api = admin(a.b, 'GET', '/api/v1/audit', params={'assertion_id': aid})
    assert api.status_code == 200
    got = _records(api.text)
    assert got and all(x['assertion_id'] == aid for x in got)
    lim = admin(a.b, 'GET', '/api/v1/audit', params={'limit': 1})
    assert len(_records(lim.text)) == 1
    none = admin(a.b, 'GET', '/api/v1/audit', params={'user': 'nobody-at-all@x'})
    assert none.status_code == 200 and _records(none.text) == []
    human = run(a.b, 'audit', 'query', '--outcome', 'rejected')
    assert human.returncode == 0 and 'user_unmapped' in human.stdout


def test_audit_query_time_range(a):
    recs = a.b.audit()
    t = recs[-1]['time']
    r = admin(a.b, 'GET', '/api/v1/audit', params={'since': '2000-01-01T00:00:00Z', 'until': '2001-01-01T00:00:00Z'})
    assert r.status_code == 200 and _records(r.text) == []
    r = admin(a.b, 'GET', '/api/v1/audit', params={'since': '2000-01-01T00:00:00Z'})
    assert len(_records(r.text)) >= 3, t
    bad = admin(a.b, 'GET', '/api/v1/audit', params={'since': 'yesterday-ish'})
    assert bad.status_code == 400


def test_audit_export_json_lines(a):
    r = run(a.b, 'audit', 'export')
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    recs = [json.loads(l) for l in lines]
    assert len(recs) >= 3
    seqs = [x['seq'] for x in recs]
    assert seqs == sorted(seqs)
    api = admin(a.b, 'GET', '/api/v1/audit/export')
    assert api.status_code == 200 and all(json.loads(l) for l in api.text.splitlines() if l.strip())
    for x in recs:
        assert 'SAMLResponse' not in json.dumps(x)


def test_audit_chain_links(a):
    recs = a.b.audit()
    for prev, cur in zip(recs, recs[1:]):
        if prev.get('chain') == cur.get('chain'):
            assert cur['prev'] == prev['hash'], (prev['seq'], cur['seq'])


def test_admin_requires_token(a):
    for path in ('/api/v1/tenants', '/api/v1/tenants/acme', '/api/v1/tenants/acme/users.csv',
                 '/api/v1/tenants/acme/users/1001', '/api/v1/audit', '/api/v1/audit/export', '/api/v1/audit/verify',
                 '/metrics'):
        for tok in (None, 'Bearer ' + 'x' * 43, 'Basic YWRtaW46YWRtaW4='):
            r = admin(a.b, 'GET', path, token=tok)
            assert r.status_code == 401, f'{path} with {tok!r}: {r.status_code}'
    r = admin(a.b, 'DELETE', '/api/v1/tenants/acme/users/1001', token=None)
    assert r.status_code == 401 and find(admin(a.b, 'GET', '/api/v1/tenants/acme/users/1001').json(), 'internal_id')
    import os
    e = dict(os.environ, SSOCTL_TOKEN='wrong')
    from sbtest import env
    r = subprocess.run([env.ssoctl_bin(), '--url', a.b.admin, 'tenants'], capture_output=True, text=True, env=e, timeout=20)
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) >= 1


def test_admin_not_on_public_listener(a):
    r = a.b.get('/api/v1/tenants', headers={'Authorization': 'Bearer ' + a.b.pki.admin_token})
    assert r.status_code == 404


def test_tenants(a):
    r = run(a.b, 'tenants', tenant=None, json_out=True)
    assert r.returncode == 0 and 'acme' in r.stdout, r.stderr
    s = run(a.b, 'tenants', 'show', 'acme', tenant=None, json_out=True)
    assert s.returncode == 0, s.stderr
    fp = subprocess.run(['openssl', 'x509', '-noout', '-fingerprint', '-sha256', '-in', a.b.pki.cert('idp')],
                        capture_output=True, text=True).stdout.split('=', 1)[1].strip().replace(':', '').lower()
    norm = re.sub(r'[^0-9a-f]', '', s.stdout.lower())
    assert fp in norm, 'tenants show lists the IdP certificate fingerprints'
    assert 'never' in s.stdout, 'the policy in force'
    api = admin(a.b, 'GET', '/api/v1/tenants/acme')
    assert api.status_code == 200 and api.json()
    assert admin(a.b, 'GET', '/api/v1/tenants/nosuch').status_code == 404


def test_metrics(a):
    r = admin(a.b, 'GET', '/metrics')
    assert r.status_code == 200
    assert r.headers.get('Content-Type', '').startswith('text/plain') and '0.0.4' in r.headers.get('Content-Type', '')
    names = re.findall(r'^(ssobroker_[a-zA-Z0-9_:]+)', r.text, flags=re.M)
    assert names, r.text[:300]
    assert re.search(r'^# TYPE ssobroker_\w+ (counter|gauge|histogram|summary)$', r.text, flags=re.M)
    for line in r.text.splitlines():
        if line and not line.startswith('#'):
            assert re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? [-+0-9.eEInfa]+( \d+)?$', line), line


def test_audit_verify_then_tamper(a):
    """Last in this module: one altered byte in the audit file makes verify fail."""
    r = run(a.b, 'audit', 'verify')
    assert r.returncode == 0, r.stdout + r.stderr
    assert admin(a.b, 'GET', '/api/v1/audit/verify').status_code == 200
    with open(a.b.audit_path, 'rb') as f:
        data = f.read()
    i = data.find(b'"alice@acme.example"')
    assert i > 0
    data = data[:i + 1] + b'b' + data[i + 2:]     # "blice@acme.example"
    with open(a.b.audit_path, 'wb') as f:
        f.write(data)
    r = run(a.b, 'audit', 'verify')
    assert r.returncode != 0, 'verify still passes after the audit file was altered: ' + r.stdout
    v = admin(a.b, 'GET', '/api/v1/audit/verify')
    assert v.status_code != 200 or v.json().get('ok') is False or find(v.json(), 'ok') is False, v.text


def _records(text):
    text = text.strip()
    if not text:
        return []
    try:
        j = json.loads(text)
        if isinstance(j, dict):
            for k in ('records', 'items', 'results', 'audit'):
                if isinstance(j.get(k), list):
                    return j[k]
            return [j]
        return j
    except ValueError:
        return [json.loads(l) for l in text.splitlines() if l.strip()]


def _synthetic_chain(path, n):
    """n valid records in the broker's chain format: hash = SHA-256(prev "\\n" record-without-hash)."""
    import hashlib
    prev = '0' * 64
    with open(path, 'w') as f:
        for i in range(1, n + 1):
            o = {'audit_version': 1, 'chain': 'c' * 32, 'event': 'assertion', 'outcome': 'accepted',
                 'reason': 'ok', 'seq': i, 'tenant': 'acme', 'time': '2026-11-01T00:00:00Z',
                 'user': 'user%06d@acme.example' % i, 'prev': prev}
            h = hashlib.sha256((prev + '\n' + json.dumps(o, sort_keys=True, separators=(',', ':'))).encode()).hexdigest()
            o['hash'] = h
            f.write(json.dumps(o, sort_keys=True, separators=(',', ':')) + '\n')
            prev = h


def test_large_audit_file_streams_and_continues_the_chain(factory):
    """Scans run off the event loop and stream: an abandoned export leaves the broker serving,
    a query over the whole file answers, and new records continue the file's chain."""
    import requests
    b = factory.broker(start=False)
    _synthetic_chain(b.audit_path, 40000)
    b.start()
    auth = {'Authorization': 'Bearer ' + b.pki.admin_token}
    # the synthetic records are in the file only (source=file); the streams have none of them
    with requests.get(b.admin + '/api/v1/audit/export', params={'source': 'file'}, headers=auth,
                      stream=True, timeout=30) as r:
        assert r.status_code == 200 and r.headers.get('Content-Type', '').startswith('application/x-ndjson')
        first = next(r.iter_lines())
        assert json.loads(first)['seq'] == 1
    # the client left mid-stream; the broker still answers on both listeners
    assert b.get('/healthz').status_code == 200
    q = requests.get(b.admin + '/api/v1/audit', params={'user': 'nobody@nowhere.example', 'source': 'file'},
                     headers=auth, timeout=30)
    assert q.status_code == 200, q.text[:200]
    assert q.json()['records'] == [] and q.json()['truncated'] is False and q.json()['next'] is None, q.text[:200]
    # newest first from the file: the last synthetic record (or a later one of this broker) leads
    q = requests.get(b.admin + '/api/v1/audit', params={'event': 'assertion', 'source': 'file', 'limit': 2},
                     headers=auth, timeout=30).json()
    assert [x['seq'] for x in q['records']] == [40000, 39999] and q['next'], q
    assert b.get('/readyz').status_code == 200
    b.reload()      # the reload's audit record continues the file's chain too
    time.sleep(1.5)
    v = requests.get(b.admin + '/api/v1/audit/verify', headers=auth, timeout=60).json()
    assert v['ok'] is True and v['records'] >= 40000, v
