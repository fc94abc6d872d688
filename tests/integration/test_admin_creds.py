"""Named, scoped admin credentials (issue 10 item 1): ssoctl admins add|list|revoke and the
admin API, digest-only storage in Redis, revocation on every broker, and the authorization of
EVERY admin route: a credential of another tenant, or of too small a role, gets 403 and changes
nothing (the matrix below is checked against the route tables of broker/front_admin.c, so a new
route without a row here fails the suite)."""
import hashlib
import json
import os
import re
import subprocess
import time

import pytest

from sbtest import env
from sbtest.browser import code_from
from sbtest.flows import Env, admin, describe, ssoctl
from sbtest.idp import b64

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'broker', 'front_admin.c')
SNAP = ("local ks = redis.call('KEYS', '*'); table.sort(ks); local a = {} "
        "for _, k in ipairs(ks) do if not string.find(k, ':audit', 1, true) then "
        "a[#a + 1] = k; a[#a + 1] = redis.call('DUMP', k) end end "
        "return redis.sha1hex(table.concat(a, '|'))")


@pytest.fixture(scope='module')
def m(module_factory):
    b = module_factory.broker(tenants=[('acme', {'consent': 'never'}),
                                        ('beta', {'allow_idp_initiated': 'false', 'consent': 'never'})],
                               start=False)
    b.tenants['acme'].saml['keep_raw_assertions'] = 'true'
    b.start()
    return Env(b, b.dir)


def bearer(tok):
    return 'Bearer ' + tok


def add(b, name, role, tenants, token=True):
    return admin(b, 'POST', '/api/v1/admins', token=token,
                 json={'name': name, 'role': role, 'tenants': tenants})


def snapshot(b):
    """A digest of every Redis key of the broker but the audit's (which a 403 appends to)."""
    return b.redis.cli(b.db, 'EVAL', SNAP, '0')


def ctl(b, token, *args):
    exe = env.ssoctl_bin()
    e = dict(os.environ, SSOCTL_TOKEN=token)
    return subprocess.run([exe, '--url', b.admin, *args], capture_output=True, text=True, env=e,
                          timeout=30)


def record(b, rid, event=None):
    for _ in range(50):
        recs = [r for r in b.audit() if r.get('request_id') == rid and (event is None or r.get('event') == event)]
        if recs:
            return recs
        time.sleep(0.05)
    raise AssertionError(f'no record of request {rid} ({event})')


@pytest.fixture(scope='module')
def creds(m):
    """One credential per role and tenant, made by the token file's operator."""
    out = {}
    for name, role, ten in (('acme-admin', 'admin', ['acme']), ('acme-auditor', 'auditor', ['acme']),
                            ('beta-admin', 'admin', ['beta']), ('beta-auditor', 'auditor', ['beta']),
                            ('ops2', 'operator', [])):
        r = add(m.b, name, role, ten)
        assert r.status_code == 201, r.text
        j = r.json()
        assert j['name'] == name and j['role'] == role and j['tenants'] == ten and j['created_by'] == 'operator'
        assert r.headers.get('Cache-Control') == 'no-store'
        out[name] = j['token']
    return out


# ---------------------------------------------------------------- the basics

def test_add_list_revoke_via_api(m, creds):
    b = m.b
    r = add(b, 'temp-1', 'admin', ['acme'])
    assert r.status_code == 201, r.text
    tok = r.json()['token']
    assert len(tok) >= 43
    ok = admin(b, 'GET', '/api/v1/tenants/acme/users/1001', token=bearer(tok))
    assert ok.status_code == 200, ok.text
    lst = admin(b, 'GET', '/api/v1/admins')
    assert lst.status_code == 200
    names = {a['name']: a for a in lst.json()['admins']}
    assert names['operator']['source'] == 'token_file' and names['operator']['role'] == 'operator'
    assert names['temp-1']['tenants'] == ['acme'] and names['temp-1']['created_by'] == 'operator'
    assert tok not in lst.text and 'digest' not in lst.text
    assert add(b, 'temp-1', 'auditor', ['beta']).status_code == 409
    rv = admin(b, 'DELETE', '/api/v1/admins/temp-1')
    assert rv.status_code == 200 and rv.json() == {'revoked': 'temp-1'}, rv.text
    gone = admin(b, 'GET', '/api/v1/tenants/acme/users/1001', token=bearer(tok))
    assert gone.status_code == 401, gone.text
    assert admin(b, 'DELETE', '/api/v1/admins/temp-1').status_code == 404
    assert admin(b, 'DELETE', '/api/v1/admins/operator').status_code == 409
    recs = [r for r in b.audit() if r.get('event') in ('admin_cred_add', 'admin_cred_revoke')
            and 'admin=temp-1' in (r.get('detail') or '')]
    assert any(r['event'] == 'admin_cred_add' and r['outcome'] == 'accepted' and r['credential'] == 'operator'
               for r in recs), recs
    assert any(r['event'] == 'admin_cred_revoke' and r['outcome'] == 'accepted' for r in recs), recs
    assert all(tok not in json.dumps(r) for r in b.audit())


def test_add_list_revoke_via_ssoctl(m, creds):
    b = m.b
    r = ssoctl(b, 'admins', 'add', 'ctl-aud', '--role', 'auditor', '--tenant', 'acme', '--tenant', 'beta')
    assert r.returncode == 0, r.stderr
    tok = r.stdout.strip()
    assert re.fullmatch(r'[A-Za-z0-9_-]{43,}', tok), r.stdout
    assert 'shown this once' in r.stderr and tok not in r.stderr
    q = ctl(b, tok, 'audit', 'query', '--tenant', 'beta', '--limit', '1')
    assert q.returncode == 0, q.stderr
    lst = ssoctl(b, 'admins', 'list')
    assert lst.returncode == 0 and 'ctl-aud' in lst.stdout and 'acme,beta' in lst.stdout, lst.stdout
    assert 'NAME' in lst.stdout.splitlines()[0] and tok not in lst.stdout
    js = ssoctl(b, '--json', 'admins', 'list')
    assert js.returncode == 0
    row = [a for a in json.loads(js.stdout)['admins'] if a['name'] == 'ctl-aud'][0]
    assert row['role'] == 'auditor' and row['tenants'] == ['acme', 'beta']
    dup = ssoctl(b, 'admins', 'add', 'ctl-aud', '--role', 'auditor', '--tenant', 'acme')
    assert dup.returncode == 1 and len(dup.stderr.strip().splitlines()) == 1 and 'exists' in dup.stderr
    bad = ssoctl(b, 'admins', 'add', 'x', '--role', 'root', '--tenant', 'acme')
    assert bad.returncode == 1 and 'role' in bad.stderr, bad.stderr
    unk = ssoctl(b, 'admins', 'add', 'x', '--role', 'admin', '--tenant', 'nope')
    assert unk.returncode == 1 and 'tenant' in unk.stderr, unk.stderr
    assert ssoctl(b, 'admins', 'add', 'x', '--tenant', 'acme').returncode == 2
    rv = ssoctl(b, 'admins', 'revoke', 'ctl-aud')
    assert rv.returncode == 0 and 'revoked' in rv.stdout
    assert ctl(b, tok, 'audit', 'query', '--tenant', 'beta').returncode != 0
    again = ssoctl(b, 'admins', 'revoke', 'ctl-aud')
    assert again.returncode == 1 and 'ctl-aud' not in ssoctl(b, 'admins', 'list').stdout
    # a scoped credential cannot manage credentials
    no = ctl(b, creds['acme-admin'], 'admins', 'list')
    assert no.returncode == 1 and 'may not' in no.stderr, no.stderr


def test_token_stored_only_as_digest(m, creds):
    b = m.b
    r = add(b, 'digest-check', 'admin', ['acme'])
    tok = r.json()['token']
    dump = []
    for k in b.keys():
        dump.append(k)
        t = b.redis.cli(b.db, 'TYPE', k)
        if t == 'hash':
            dump.append(b.redis.cli(b.db, 'HGETALL', k))
        elif t == 'string':
            dump.append(b.redis.cli(b.db, 'GET', k))
    text = '\n'.join(dump)
    assert tok not in text
    assert hashlib.sha256(tok.encode()).hexdigest() in text
    for other in creds.values():
        assert other not in text
    assert tok not in open(b.audit_path).read() and tok not in b.log_text()


def test_revoke_counts_on_every_broker(m, factory):
    b2 = factory.broker(tenants=[('acme', {'consent': 'never'}),
                                 ('beta', {'allow_idp_initiated': 'false', 'consent': 'never'})],
                        redis_url=m.b.redis_url)
    r = add(m.b, 'fleet', 'admin', ['acme'])
    tok = r.json()['token']
    assert admin(b2, 'GET', '/api/v1/tenants/acme/users.csv', token=bearer(tok)).status_code == 200
    assert admin(b2, 'DELETE', '/api/v1/admins/fleet').status_code == 200
    for b in (m.b, b2):
        assert admin(b, 'GET', '/api/v1/tenants/acme/users.csv', token=bearer(tok)).status_code == 401


def test_records_name_the_credential(m, creds):
    b = m.b
    r = admin(b, 'PUT', '/api/v1/tenants/acme/users/1003', token=bearer(creds['acme-admin']),
              json={'custom_field_1': 'by-acme-admin'})
    assert r.status_code == 200, r.text
    rec = record(b, r.headers['X-Request-Id'], 'user_set')
    assert rec[-1]['credential'] == 'acme-admin' and rec[-1]['outcome'] == 'accepted'
    q = admin(b, 'GET', '/api/v1/audit?tenant=acme&limit=1', token=bearer(creds['acme-auditor']))
    assert q.status_code == 200, q.text
    rec = record(b, q.headers['X-Request-Id'], 'audit_read')
    assert rec[-1]['credential'] == 'acme-auditor'
    o = admin(b, 'GET', '/api/v1/tenants/acme/users/1003')
    rec = [x for x in b.audit() if x.get('credential') == 'operator']
    assert rec and o.status_code == 200
    assert not any(x.get('credential') == 'admin-token' for x in b.audit())


def test_scoped_lists(m, creds):
    b = m.b
    t = admin(b, 'GET', '/api/v1/tenants', token=bearer(creds['beta-admin']))
    assert t.status_code == 200 and [x['id'] for x in t.json()['tenants']] == ['beta'], t.text
    t = admin(b, 'GET', '/api/v1/tenants', token=bearer(creds['acme-auditor']))
    assert [x['id'] for x in t.json()['tenants']] == ['acme']
    t = admin(b, 'GET', '/api/v1/tenants', token=bearer(creds['ops2']))
    assert sorted(x['id'] for x in t.json()['tenants']) == ['acme', 'beta']
    # an auditor without a tenant filter reads its own tenants only
    q = admin(b, 'GET', '/api/v1/audit?limit=1000', token=bearer(creds['beta-auditor']))
    assert q.status_code == 200, q.text
    assert q.json()['records'] and all(r.get('tenant') == 'beta' for r in q.json()['records'])
    e = admin(b, 'GET', '/api/v1/audit/export', token=bearer(creds['beta-auditor']))
    assert e.status_code == 200
    assert all(json.loads(l).get('tenant') == 'beta' for l in e.text.splitlines() if l.strip())
    f = admin(b, 'GET', '/api/v1/audit?source=file&limit=1000', token=bearer(creds['beta-auditor']))
    assert f.status_code == 200 and all(r.get('tenant') == 'beta' for r in f.json()['records']), f.text
    q = admin(b, 'GET', '/api/v1/audit?tenant=_broker', token=bearer(creds['beta-auditor']))
    assert q.status_code == 403


def test_store_down(m, creds):
    """The token file still opens /metrics and /healthz; a stored credential gets 503."""
    b = m.b
    b.redis.pause()
    try:
        r = admin(b, 'GET', '/metrics')
        assert r.status_code == 200
        r = admin(b, 'GET', '/api/v1/tenants/acme/users.csv', token=bearer(creds['acme-admin']), timeout=30)
        assert r.status_code == 503, r.text
        assert admin(b, 'GET', '/healthz', token=False).status_code == 200
    finally:
        b.redis.resume()
    # back once the store reconnects: nothing was cached meanwhile
    assert env.wait_for(lambda: admin(b, 'GET', '/api/v1/tenants/acme/users.csv',
                                      token=bearer(creds['acme-admin'])).status_code == 200, 20)


# ---------------------------------------------------------------- hostile inputs

@pytest.mark.parametrize('body,code', [
    (b'{', 400), (b'[]', 400), (b'"x"', 400), (b'', 400),
    (b'{"name":"a","role":"admin","tenants":["acme"],"extra":1}', 400),
    (b'{"name":"a","name":"b","role":"admin","tenants":["acme"]}', 400),
    (json.dumps({'name': 'a' * 65, 'role': 'admin', 'tenants': ['acme']}).encode(), 400),
    (json.dumps({'name': 'bad\nname', 'role': 'admin', 'tenants': ['acme']}).encode(), 400),
    (json.dumps({'name': 'bad\x00', 'role': 'admin', 'tenants': ['acme']}).encode(), 400),
    (json.dumps({'name': 'Upper', 'role': 'admin', 'tenants': ['acme']}).encode(), 400),
    (json.dumps({'name': '-dash', 'role': 'admin', 'tenants': ['acme']}).encode(), 400),
    (json.dumps({'name': 'caf\u00e9', 'role': 'admin', 'tenants': ['acme']}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'root', 'tenants': ['acme']}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'ADMIN', 'tenants': ['acme']}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'admin', 'tenants': []}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'admin'}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'admin', 'tenants': 'acme'}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'admin', 'tenants': ['nope']}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'admin', 'tenants': ['acme', 'acme']}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'admin', 'tenants': ['ACME']}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'admin', 'tenants': [1]}).encode(), 400),
    (json.dumps({'name': 'ok', 'role': 'operator', 'tenants': ['acme']}).encode(), 400),
    (json.dumps({'name': 'operator', 'role': 'operator', 'tenants': []}).encode(), 409),
    (b'{"name":"ok","role":"admin","tenants":["acme"]' + b' ' * 20000 + b'}', 413),
])
def test_hostile_add(m, creds, body, code):
    b = m.b
    before = snapshot(b)
    r = admin(b, 'POST', '/api/v1/admins', data=body, headers={'Content-Type': 'application/json'})
    assert r.status_code == code, (body[:80], r.status_code, r.text)
    j = r.json()
    assert j['error'] and j['message'] and 'token' not in j
    assert snapshot(b) == before
    assert b.healthy()


@pytest.mark.parametrize('path,code', [
    ('/api/v1/admins/' + 'a' * 65, 400), ('/api/v1/admins/%0a', 400), ('/api/v1/admins/%00x', 400),
    ('/api/v1/admins/.x', 400), ('/api/v1/admins/A', 400), ('/api/v1/admins/', 400),
    ('/api/v1/admins/nobody', 404),
])
def test_hostile_revoke(m, creds, path, code):
    before = snapshot(m.b)
    r = admin(m.b, 'DELETE', path)
    assert r.status_code == code, (path, r.text)
    assert snapshot(m.b) == before


@pytest.mark.parametrize('auth', [None, 'Bearer ', 'Bearer nope', 'Basic abc', 'Bearer ' + 'x' * 5000,
                                  'bearer x'])
def test_bad_tokens_401(m, creds, auth):
    r = admin(m.b, 'GET', '/api/v1/tenants', token=auth if auth else False)
    assert r.status_code == 401 and r.headers.get('WWW-Authenticate', '').startswith('Bearer')
    rec = record(m.b, r.json()['request_id'], 'admin_auth')
    assert rec[-1]['outcome'] == 'rejected' and rec[-1]['reason'] == 'unauthorized'
    assert 'credential' not in rec[-1]
    if auth and len(auth) > 7:
        assert auth[7:] not in json.dumps(rec) or len(auth[7:]) < 4


# ---------------------------------------------------------------- the matrix

def route_table():
    """(table, path, method) of every route row of broker/front_admin.c."""
    src = open(SRC).read()
    out = set()
    for table in ('admin_routes', 'admin_tenant_routes'):
        body = re.search(r'static const struct admin_route ' + table + r'\[\] = \{(.*?)\n\};', src, re.S).group(1)
        rows = re.findall(r'\{\s*"([^"]*)",\s*([^,]+),\s*([^,]+),\s*(MR_\w+),\s*(\w+),\s*(\w+),\s*(\w+),\s*(\w+)\s*\}',
                          body)
        assert rows, table
        for path, flags, _roles, _mr, *fns in rows:
            if 'ADM_OPEN' in flags:
                continue
            for meth, fn in zip(('GET', 'POST', 'PUT', 'DELETE'), fns):
                if fn != 'NULL':
                    out.add((table, path, meth))
    return out


CSV = '8x8 Internal ID,Extension\n1002,0777\n'
# (table, path, method) -> (url, body, roles that may, kind): kind 'tenant' (a route of acme),
# 'audit' (a global route filtered by tenant=acme), 'global' (operator only), 'list'.
MATRIX = {
    ('admin_routes', '/metrics', 'GET'): ('/metrics', None, set(), 'global'),
    ('admin_routes', '/metrics', 'POST'): ('/metrics', b'', set(), 'global'),
    ('admin_routes', '/metrics', 'PUT'): ('/metrics', b'', set(), 'global'),
    ('admin_routes', '/metrics', 'DELETE'): ('/metrics', None, set(), 'global'),
    ('admin_routes', '/api/v1/tenants', 'GET'): ('/api/v1/tenants', None, {'admin', 'auditor'}, 'list'),
    ('admin_routes', '/api/v1/audit', 'GET'): ('/api/v1/audit?tenant=acme', None, {'auditor'}, 'audit'),
    ('admin_routes', '/api/v1/audit/export', 'GET'): ('/api/v1/audit/export?tenant=acme', None, {'auditor'},
                                                      'audit'),
    ('admin_routes', '/api/v1/audit/verify', 'GET'): ('/api/v1/audit/verify', None, set(), 'global'),
    ('admin_routes', '/api/v1/audit/assertion', 'GET'): ('/api/v1/audit/assertion?id={aid}', None, {'auditor'},
                                                         'audit'),
    ('admin_routes', '/api/v1/admins', 'GET'): ('/api/v1/admins', None, set(), 'global'),
    ('admin_routes', '/api/v1/admins', 'POST'): ('/api/v1/admins', json.dumps(
        {'name': 'sneaky', 'role': 'operator', 'tenants': []}).encode(), set(), 'global'),
    ('admin_routes', '/api/v1/admins/:id', 'DELETE'): ('/api/v1/admins/ops2', None, set(), 'global'),
    ('admin_tenant_routes', '', 'GET'): ('/api/v1/tenants/acme', None, {'admin', 'auditor'}, 'tenant'),
    ('admin_tenant_routes', 'users.csv', 'GET'): ('/api/v1/tenants/acme/users.csv', None, {'admin'}, 'tenant'),
    ('admin_tenant_routes', 'users.csv', 'POST'): ('/api/v1/tenants/acme/users.csv?delete_missing=1',
                                                   CSV.encode(), {'admin'}, 'tenant'),
    ('admin_tenant_routes', 'users/:id', 'GET'): ('/api/v1/tenants/acme/users/1001', None, {'admin'}, 'tenant'),
    ('admin_tenant_routes', 'users/:id', 'PUT'): ('/api/v1/tenants/acme/users/1001', json.dumps(
        {'extension': '0999'}).encode(), {'admin'}, 'tenant'),
    ('admin_tenant_routes', 'users/:id', 'DELETE'): ('/api/v1/tenants/acme/users/1001', None, {'admin'},
                                                     'tenant'),
    ('admin_tenant_routes', 'users/:id/sessions/revoke', 'POST'): (
        '/api/v1/tenants/acme/users/1001/sessions/revoke', b'', {'admin'}, 'tenant'),
    ('admin_tenant_routes', 'sso', 'GET'): ('/api/v1/tenants/acme/sso', None, {'admin'}, 'tenant'),
    ('admin_tenant_routes', 'sso', 'PUT'): ('/api/v1/tenants/acme/sso', json.dumps(
        {'enabled': False}).encode(), {'admin'}, 'tenant'),
}


def test_matrix_covers_every_route():
    table = route_table()
    missing = table - set(MATRIX)
    assert not missing, f'admin routes without a row in MATRIX (add one, with the roles it admits): {missing}'
    assert not set(MATRIX) - table, f'MATRIX rows for routes that no longer exist: {set(MATRIX) - table}'


@pytest.fixture(scope='module')
def aid(m):
    """A kept raw assertion of acme (for the assertion route)."""
    br = m.browser()
    login = br.start_login('acme')
    out = br.post_acs('acme', b64(m.idp['acme'].good('alice@acme.example', login.rid)), login.relay)
    code, _, _ = code_from(out, m.b.tenant('acme').redirect_uri)
    assert code, describe(out)
    recs = [r for r in m.b.audit() if r.get('event') == 'assertion' and r.get('outcome') == 'accepted']
    return recs[-1]['assertion_id']


def denied(kind, allowed):
    """(credential, why) pairs that must get 403 on a route."""
    out = []
    roles = {'admin': 'acme-admin', 'auditor': 'acme-auditor'}
    for role, cred in roles.items():
        if role not in allowed:
            out.append((cred, 'role'))
    if kind in ('tenant', 'audit'):
        for role in allowed:
            out.append(('beta-' + role, 'tenant'))
    return out


@pytest.mark.parametrize('key', sorted(MATRIX), ids=lambda k: f'{k[2]} {k[0]}:{k[1] or "/"}')
def test_matrix_403_changes_nothing(m, creds, aid, key):
    b = m.b
    url, body, allowed, kind = MATRIX[key]
    url = url.replace('{aid}', aid)
    meth = key[2]
    cases = denied(kind, allowed)
    assert cases or kind == 'list'
    for cred, why in cases:
        before, mapping = snapshot(b), admin(b, 'GET', '/api/v1/tenants/acme/users.csv').content
        kw = {'data': body} if body is not None else {}
        ct = {'Content-Type': 'text/csv' if 'csv' in url else 'application/json'}
        r = admin(b, meth, url, token=bearer(creds[cred]), headers=ct, **kw)
        assert r.status_code == 403, (cred, why, meth, url, r.status_code, r.text[:300])
        j = r.json()
        assert j['error'] in ('admin_forbidden', 'audit_forbidden') and cred in j['message'], j
        assert snapshot(b) == before, f'{cred} changed Redis through {meth} {url}'
        assert admin(b, 'GET', '/api/v1/tenants/acme/users.csv').content == mapping
        rec = record(b, j['request_id'])
        assert any(x['outcome'] == 'rejected' and x.get('credential') == cred and
                   x.get('reason') in ('admin_forbidden', 'audit_forbidden') for x in rec), rec
    if kind == 'list':
        for cred in ('beta-admin', 'beta-auditor'):
            r = admin(b, meth, url, token=bearer(creds[cred]))
            assert r.status_code == 200 and 'acme' not in [t['id'] for t in r.json()['tenants']]


@pytest.mark.parametrize('key', sorted(k for k in MATRIX if MATRIX[k][3] in ('tenant', 'audit')
                                       and k[2] == 'GET'), ids=lambda k: f'{k[2]} {k[1] or "/"}')
def test_matrix_allowed_roles_pass(m, creds, aid, key):
    url, _, allowed, _ = MATRIX[key]
    for role in allowed:
        r = admin(m.b, 'GET', url.replace('{aid}', aid), token=bearer(creds['acme-' + role]))
        assert r.status_code == 200, (role, url, r.text[:300])
    r = admin(m.b, 'GET', url.replace('{aid}', aid), token=bearer(creds['ops2']))
    assert r.status_code == 200, r.text[:300]


def test_operator_credential_from_store_is_operator(m, creds):
    r = admin(m.b, 'GET', '/metrics', token=bearer(creds['ops2']))
    assert r.status_code == 200
    r = admin(m.b, 'GET', '/api/v1/audit/verify', token=bearer(creds['ops2']))
    assert r.status_code == 200, r.text
