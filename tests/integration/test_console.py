"""The web console on the admin listener, at the HTTP level (issue 10 item 2): sign-in with the
operator token, the session cookie and headers, CSRF on every form, the users page (search,
paging, escaping), edit and delete with confirmation, the CSV template, the SSO page, and hostile
inputs (long queries, oversized and malformed forms, bad cookies)."""
import hashlib
import json
import re

import pytest
import requests

from sbtest.env import wait_for
from sbtest.flows import admin

HDR = '8x8 Internal ID,User Name,First Name,Last Name,Email,Extension,Salesforce ID\n'
EVIL = '<script>alert(1)</script>'
CSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"


def base_csv():
    rows = ['1001,alice,Alice,Smith,alice@acme.example,0101,alice@acme.example',
            '1002,bob,Bob,Jones,bob@acme.example,0102,bob@acme.example',
            f'1003,"{EVIL}",Eve,"O\'Hara & <b>",eve@acme.example,0103,eve@acme.example']
    rows += [f'2{i:03d},user{i:03d},U{i},Test,user{i:03d}@acme.example,2{i:03d},user{i:03d}@acme.example'
             for i in range(1, 121)]
    return HDR + '\n'.join(rows) + '\n'


@pytest.fixture(scope='module')
def m(module_factory):
    return module_factory.env(tenants=[('acme', {'consent': 'never'}), ('beta', {'consent': 'never'})],
                               users=False)


@pytest.fixture
def b(m):
    q = '/api/v1/tenants/acme/users.csv?allow_new=1&delete_missing=1&confirm_zero=all'
    kw = {'data': base_csv().encode(), 'headers': {'Content-Type': 'text/csv'}}
    dry = admin(m.b, 'POST', q + '&dry_run=1', **kw)
    assert dry.status_code == 200, dry.text[:300]
    n = dry.json()['summary']['deleted']
    r = admin(m.b, 'POST', q + (f'&confirm_delete={n}' if n else ''), **kw)
    assert r.status_code == 200, r.text[:300]
    return m.b


def export(b):
    return admin(b, 'GET', '/api/v1/tenants/acme/users.csv').content


def csrf_of(html):
    m = re.search(r'name="csrf" value="([A-Za-z0-9_-]+)"', html)
    assert m, html[:500]
    return m.group(1)


def signin(b, token=None):
    s = requests.Session()
    s.verify = b.verify
    r = s.get(b.admin + '/console/signin', timeout=10)
    assert r.status_code == 200, r.text[:300]
    r = s.post(b.admin + '/console/signin', data={'csrf': csrf_of(r.text), 'token': token or b.pki.admin_token},
               allow_redirects=False, timeout=10)
    return s, r


def console(b):
    s, r = signin(b)
    assert r.status_code == 303 and r.headers['Location'] == '/console/', (r.status_code, r.text[:300])
    return s


def test_root_redirects_and_no_session_goes_to_signin(m):
    b = m.b
    r = requests.get(b.admin + '/', allow_redirects=False, verify=b.verify, timeout=10)
    assert r.status_code == 303 and r.headers['Location'] == '/console/'
    r = requests.get(b.admin + '/console/t/acme/users', allow_redirects=False, verify=b.verify, timeout=10)
    assert r.status_code == 303 and r.headers['Location'] == '/console/signin'
    # the JSON API still wants its token
    assert admin(b, 'GET', '/api/v1/tenants', token=False).status_code == 401


def test_headers_and_cookie(m):
    b = m.b
    s = requests.Session()
    s.verify = b.verify
    r = s.get(b.admin + '/console/signin', timeout=10)
    for resp in (r, s.get(b.admin + '/console/style.css', timeout=10)):
        h = resp.headers
        assert h['Content-Security-Policy'] == CSP
        assert h['X-Content-Type-Options'] == 'nosniff'
        assert h['Referrer-Policy'] == 'no-referrer'
        assert 'no-store' in h['Cache-Control']
    assert 'text/css' in s.get(b.admin + '/console/style.css', timeout=10).headers['Content-Type']
    assert '<script' not in r.text and 'style=' not in r.text and '<style' not in r.text
    r = s.post(b.admin + '/console/signin', data={'csrf': csrf_of(r.text), 'token': b.pki.admin_token},
               allow_redirects=False, timeout=10)
    assert r.status_code == 303
    cookies = [v for k, v in r.raw.headers.items() if k.lower() == 'set-cookie']
    sess = [c for c in cookies if c.startswith('ssob_console=') and 'Max-Age=0' not in c]
    assert len(sess) == 1, cookies
    c = sess[0]
    for attr in ('HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/'):
        assert attr in c, c
    sid = c.split(';')[0].split('=', 1)[1]
    assert len(sid) == 43
    # the store keeps the digest, never the cookie
    keys = b.keys()
    assert not any(sid in k for k in keys)
    assert any(k.endswith(hashlib.sha256(sid.encode()).hexdigest()) for k in keys), keys
    home = s.get(b.admin + '/console/', timeout=10)
    assert home.status_code == 200 and 'acme' in home.text and 'Sign out' in home.text


def test_wrong_token_refused_and_recorded(m):
    b = m.b
    s, r = signin(b, token='not-the-token')
    assert r.status_code == 401 and 'wrong or missing operator token' in r.text
    assert s.get(b.admin + '/console/', allow_redirects=False, timeout=10).status_code == 303
    recs = [x for x in b.audit() if x.get('event') == 'console_signin']
    assert any(x.get('outcome') == 'rejected' and x.get('reason') == 'console_signin' for x in recs), recs[-3:]
    assert 'not-the-token' not in open(b.audit_path).read()


def test_signin_form_without_its_cookie_is_refused(m):
    b = m.b
    r = requests.post(b.admin + '/console/signin', data={'csrf': 'x' * 43, 'token': b.pki.admin_token},
                      allow_redirects=False, verify=b.verify, timeout=10)
    assert r.status_code == 403 and 'ssob_console=' not in r.headers.get('Set-Cookie', '')


def test_users_search_paging_and_escaping(b):
    s = console(b)
    r = s.get(b.admin + '/console/t/acme/users', timeout=10)
    assert r.status_code == 200
    assert '123 of 123 profiles match; page 1 of 3' in r.text
    assert EVIL not in r.text and '&lt;script&gt;alert(1)&lt;/script&gt;' in r.text
    assert '<b>' not in r.text
    r = s.get(b.admin + '/console/t/acme/users', params={'page': '3'}, timeout=10)
    assert 'page 3 of 3' in r.text and 'user120' in r.text and 'Previous' in r.text
    for q, want in (('alice@ACME', '1001'), ('0102', 'bob'), ('2050', 'user050'), ('Alice Smith', '1001'),
                    ('Jones', '1002')):
        r = s.get(b.admin + '/console/t/acme/users', params={'q': q}, timeout=10)
        assert r.status_code == 200 and '1 of 123 profiles match' in r.text and want in r.text, (q, r.text[-400:])
    r = s.get(b.admin + '/console/t/acme/users', params={'q': '<img src=x>'}, timeout=10)
    assert '<img src=x>' not in r.text and '0 of 123' in r.text
    # the worker's copy of the mapping follows a change made elsewhere at once
    assert admin(b, 'PUT', '/api/v1/tenants/acme/users/2007', json={'last_name': 'Renamed'}).status_code == 200
    r = s.get(b.admin + '/console/t/acme/users', params={'q': 'Renamed'}, timeout=10)
    assert '1 of 123 profiles match' in r.text and 'user007' in r.text


def test_users_page_follows_every_kind_of_change(b):
    """Each worker keeps a copy of the profiles and asks the store, per page, what changed since
    (issue 10 item 7): an edit, a delete and a new profile are merged in order; a write that left
    the change log out, or a store that lost its log and came back at the same version, brings a
    whole read."""
    s = console(b)
    users = 'bk:v1:{acme}:users'

    def pages(n=20, **params):     # a new connection each: both workers answer
        return [s.get(b.admin + '/console/t/acme/users', params=params, headers={'Connection': 'close'},
                      timeout=10).text for _ in range(n)]

    def stored(uid):
        return json.loads(b.redis.cli(b.db, 'HGET', users, uid))

    def write_around_the_log(uid, **fields):
        rec = stored(uid)
        rec.update(fields)
        b.redis.cli(b.db, 'HSET', users, uid, json.dumps(rec, separators=(',', ':')))

    # a search gives each worker its copy at once (a page without one may read its rows alone)
    assert all('123 of 123 profiles match' in t for t in pages(q='acme'))
    assert admin(b, 'PUT', '/api/v1/tenants/acme/users/2009', json={'first_name': 'Zelda'}).status_code == 200
    assert admin(b, 'DELETE', '/api/v1/tenants/acme/users/2010').status_code in (200, 204)
    r = admin(b, 'PUT', '/api/v1/tenants/acme/users/1500?allow_new=1',
              json={'user_name': 'newbie', 'first_name': 'New', 'last_name': 'Person', 'extension': '1500'})
    assert r.status_code == 201, r.text
    # written without moving the version: a merged copy does not read it (a whole read would)
    write_around_the_log('2011', last_name='Unlogged')
    for t in pages():
        assert '123 of 123 profiles match; page 1 of 3' in t, t[-300:]
        rows = re.findall(r'<tr><td>([^<]+)</td>', t)
        assert rows[:5] == ['1001', '1002', '1003', '1500', '2001'], rows[:5]
    for t in pages(4, q='Zelda'):
        assert '1 of 123 profiles match' in t and '2009' in t
    for t in pages(4, q='user010'):
        assert '0 of 123 profiles match' in t
    for t in pages(4, q='Unlogged'):
        assert '0 of 123 profiles match' in t
    for t in pages(4, page='3'):
        assert 'page 3 of 3' in t and 'user120' in t
    # a write that moved the version without the log: the next page reads everything
    b.redis.cli(b.db, 'INCR', users + ':ver')
    for t in pages(4, q='Unlogged'):
        assert '1 of 123 profiles match' in t and '2011' in t
    # the log lost and the version counted back to the copy's: another epoch, a whole read
    ver = b.redis.cli(b.db, 'GET', users + ':ver')
    assert admin(b, 'PUT', '/api/v1/tenants/acme/users/2012', json={'first_name': 'Logged'}).status_code == 200
    pages(6)
    write_around_the_log('2013', last_name='Recounted')
    b.redis.cli(b.db, 'DEL', users + ':log', users + ':chg')
    b.redis.cli(b.db, 'SET', users + ':ver', ver)
    for t in pages(4, q='Recounted'):
        assert '1 of 123 profiles match' in t and '2013' in t
    # a search still finds what only a parsed profile shows: "First Last" across two fields
    for t in pages(2, q='new person'):
        assert '1 of 123 profiles match' in t and '1500' in t


def test_users_page_without_a_copy(m):
    """A worker without a copy answers a page without a search from the sorted ID set (its 50
    profiles alone) and reads the copy after, in the background; the set follows every write,
    is built again when it does not match the profiles, and a set that does not is never used."""
    b = m.b
    s = console(b)
    ids, users = 'bk:v1:{beta}:users:ids', 'bk:v1:{beta}:users'
    rows = ''.join(f'3{i:03d},b{i:03d},B{i},Beta,b{i:03d}@beta.example,3{i:03d},b{i:03d}@beta.example\n'
                   for i in range(120, 0, -1))     # the file in reverse: the page sorts
    r = admin(b, 'POST', '/api/v1/tenants/beta/users.csv?allow_new=1', data=(HDR + rows).encode(),
              headers={'Content-Type': 'text/csv'})
    assert r.status_code == 200, r.text[:300]
    count = lambda: (int(b.redis.cli(b.db, 'ZCARD', ids)), int(b.redis.cli(b.db, 'HLEN', users)))
    assert count() == (120, 120)

    def page(**params):
        return s.get(b.admin + '/console/t/beta/users', params=params, headers={'Connection': 'close'},
                     timeout=10).text

    first = page()
    assert '120 of 120 profiles match; page 1 of 3' in first, first[-300:]
    assert re.findall(r'<tr><td>([^<]+)</td>', first)[:3] == ['3001', '3002', '3003']
    t = page(page='3')
    assert 'page 3 of 3' in t and re.findall(r'<tr><td>([^<]+)</td>', t)[-1] == '3120'
    assert '<tr><td>' not in page(page='9')
    # the set follows a delete and a new profile
    assert admin(b, 'DELETE', '/api/v1/tenants/beta/users/3001').status_code in (200, 204)
    assert admin(b, 'PUT', '/api/v1/tenants/beta/users/3000a?allow_new=1',
                 json={'extension': '3999'}).status_code == 201
    assert count() == (120, 120)
    # a set that does not match the profiles is not used (the whole read is), and the next
    # write builds it again
    b.redis.cli(b.db, 'DEL', ids)
    for _ in range(6):
        t = page()
        assert '120 of 120 profiles match' in t
        assert re.findall(r'<tr><td>([^<]+)</td>', t)[:2] == ['3000a', '3002'], t[-400:]
    assert admin(b, 'PUT', '/api/v1/tenants/beta/users/3002', json={'first_name': 'Again'}).status_code == 200
    assert count() == (120, 120)
    for _ in range(6):
        assert 'Again' in page()


def test_users_page_order_of_any_ids(m):
    """The whole read sorts IDs as strcmp() does (by a number made of the 8 bytes after the prefix
    every ID shares, then the rest): IDs that are prefixes of others, longer than that number,
    of mixed case and punctuation come in byte order on every page."""
    b = m.b
    s = console(b)
    ids = ['acct-000000000001', 'acct-000000000002', 'acct-0000000000010', 'acct-00000000001',
           'acct-000000000001-b', 'acct-0000', 'acct-', 'acct-ZZ', 'acct-zz', 'acct-Zz~', 'acct-!']
    ids += [f'acct-{i:012d}x' for i in range(60)]
    rows = ''.join(f'{i},,,,,,\n' for i in ids)
    q = '/api/v1/tenants/beta/users.csv?allow_new=1&delete_missing=1'
    kw = {'data': (HDR + rows).encode(), 'headers': {'Content-Type': 'text/csv'}}
    n = admin(b, 'POST', q + '&dry_run=1', **kw).json()['summary']['deleted']
    r = admin(b, 'POST', q + (f'&confirm_delete={n}' if n else ''), **kw)
    assert r.status_code == 200, r.text[:300]
    want = sorted(ids, key=lambda x: x.encode())

    def listed():
        got = []
        for p in (1, 2):
            t = s.get(b.admin + '/console/t/beta/users', params={'q': 'acct', 'page': str(p)},
                      headers={'Connection': 'close'}, timeout=10).text
            got += re.findall(r'<tr><td>([^<]+)</td>', t)
        return got
    for _ in range(4):     # merged into a copy, or a whole read, on either worker
        assert listed() == want
    b.redis.cli(b.db, 'INCR', 'bk:v1:{beta}:users:ver')     # the whole read (and its sort) on both
    for _ in range(4):
        got = listed()
        assert got == want, (got[:12], want[:12])


def test_users_page_with_a_corrupt_record(b):
    """A stored profile that does not parse, or that names another ID than its key, fails the
    page that shows it or the search that reaches it (503 store_record), never the pages that
    do not; the export refuses rather than write a partial file."""
    s = console(b)
    users = 'bk:v1:{acme}:users'
    good = b.redis.cli(b.db, 'HGET', users, '2050')
    try:
        for bad in ('{not json', '{"v":1,"internal_id":"9999"}'):
            b.redis.cli(b.db, 'HSET', users, '2050', bad)
            b.redis.cli(b.db, 'INCR', users + ':ver')       # around the log: a whole read
            for _ in range(4):
                r = s.get(b.admin + '/console/t/acme/users', headers={'Connection': 'close'}, timeout=10)
                assert r.status_code == 200 and '123 of 123 profiles match' in r.text
                r = s.get(b.admin + '/console/t/acme/users', params={'page': '2'},
                          headers={'Connection': 'close'}, timeout=10)
                assert r.status_code == 503 and 'store_record' in r.text, r.text[-300:]
            r = s.get(b.admin + '/console/t/acme/users', params={'q': 'alice'}, timeout=10)
            assert r.status_code == 200 and '1 of 123' in r.text
            r = admin(b, 'GET', '/api/v1/tenants/acme/users.csv')
            assert r.status_code == 503 and r.json()['error'] == 'store_record', r.text[:300]
    finally:
        b.redis.cli(b.db, 'HSET', users, '2050', good)
        b.redis.cli(b.db, 'INCR', users + ':ver')


def test_hostile_queries(b):
    s = console(b)
    for params in ({'q': 'a' * 300}, {'page': '-1'}, {'page': 'x'}, {'page': '0'}, {'q': 'a\x01b'}):
        r = s.get(b.admin + '/console/t/acme/users', params=params, timeout=10)
        assert r.status_code == 400, (params, r.status_code)
    r = s.get(b.admin + '/console/t/acme/users?q=' + 'a' * 20000, timeout=10)
    assert r.status_code in (400, 414, 431), r.status_code
    assert s.get(b.admin + '/console/t/nosuch/users', timeout=10).status_code == 404
    assert s.get(b.admin + '/console/t/acme/nothing', timeout=10).status_code == 404
    assert s.get(b.admin + '/console/t/acme/users/%00/edit', timeout=10).status_code == 400
    assert s.get(b.admin + '/console/t/acme/users/9999/edit', timeout=10).status_code == 404
    for junk in ('A' * 43, '"<x>' * 10, 'x' * 300):
        r = requests.get(b.admin + '/console/', cookies={'ssob_console': junk}, verify=b.verify,
                         allow_redirects=False, timeout=10)
        assert r.status_code == 303, junk


def test_edit_user(b):
    s = console(b)
    r = s.get(b.admin + '/console/t/acme/users/1002/edit', timeout=10)
    assert r.status_code == 200 and 'bob@acme.example' in r.text
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', r.text))
    form['extension'] = '0199'
    form['first_name'] = 'Robert'
    r = s.post(b.admin + '/console/t/acme/users/1002/edit', data=form, allow_redirects=False, timeout=10)
    assert r.status_code == 303, r.text[:500]
    u = admin(b, 'GET', '/api/v1/tenants/acme/users/1002').json()
    assert u['extension'] == '0199' and u['first_name'] == 'Robert'
    rec = [x for x in b.audit() if x.get('event') == 'user_set'][-1]
    assert rec['outcome'] == 'accepted' and rec.get('credential') == 'console:operator'
    # the same validation as PUT users/{id}: a bad Salesforce ID is refused, nothing written
    before = export(b)
    r = s.get(b.admin + '/console/t/acme/users/1002/edit', timeout=10)
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', r.text))
    form['salesforce_id'] = 'bad id\twith tab'
    r = s.post(b.admin + '/console/t/acme/users/1002/edit', data=form, allow_redirects=False, timeout=10)
    assert r.status_code == 400 and 'error' in r.text
    assert export(b) == before
    # a form from before a change is refused: the profile changed since it was opened
    stale = form
    stale['salesforce_id'] = 'bob@acme.example'
    admin(b, 'PUT', '/api/v1/tenants/acme/users/1002', json={'last_name': 'Changed'})
    before = export(b)
    r = s.post(b.admin + '/console/t/acme/users/1002/edit', data=stale, allow_redirects=False, timeout=10)
    assert r.status_code == 409 and export(b) == before


def test_delete_needs_confirmation(b):
    s = console(b)
    r = s.get(b.admin + '/console/t/acme/users/1001/delete', timeout=10)
    assert r.status_code == 200 and 'Delete this user' in r.text and 'sessions' in r.text
    assert admin(b, 'GET', '/api/v1/tenants/acme/users/1001').status_code == 200
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', r.text))
    r = s.post(b.admin + '/console/t/acme/users/1001/delete', data=form, allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert admin(b, 'GET', '/api/v1/tenants/acme/users/1001').status_code == 404
    assert [x for x in b.audit() if x.get('event') == 'user_delete'][-1]['outcome'] == 'accepted'


def test_csrf_refused_nothing_changed(b):
    s = console(b)
    r = s.get(b.admin + '/console/t/acme/users/1002/delete', timeout=10)
    form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', r.text))
    before = export(b)
    for bad in (None, 'A' * 43, form['csrf'][:-1], ''):
        data = dict(form)
        if bad is None:
            del data['csrf']
        else:
            data['csrf'] = bad
        r = s.post(b.admin + '/console/t/acme/users/1002/delete', data=data, allow_redirects=False, timeout=10)
        assert r.status_code == 403, (bad, r.status_code)
    # another session's token does not open this one
    other = console(b)
    data = dict(form)
    data['csrf'] = csrf_of(other.get(b.admin + '/console/', timeout=10).text)
    assert s.post(b.admin + '/console/t/acme/users/1002/delete', data=data, timeout=10).status_code == 403
    r = s.post(b.admin + '/console/t/acme/users/1002/delete', data=form, headers={'Content-Type': 'text/plain'},
               allow_redirects=False, timeout=10)
    assert r.status_code in (403, 415)
    assert export(b) == before
    assert any(x.get('event') == 'console_csrf' for x in b.audit())


def test_oversized_and_malformed_forms(b):
    s = console(b)
    before = export(b)
    r = s.post(b.admin + '/console/t/acme/users/1002/edit', data={'csrf': 'x', 'pad': 'a' * 200000}, timeout=20)
    assert r.status_code in (403, 413)
    r = s.post(b.admin + '/console/t/acme/users/1002/edit', data=b'%zz&&==%', timeout=10,
               headers={'Content-Type': 'application/x-www-form-urlencoded'})
    assert r.status_code in (400, 403)
    r = s.post(b.admin + '/console/signin', data={'token': 'a' * 10000, 'csrf': 'b'}, timeout=10)
    assert r.status_code in (403, 413)
    assert export(b) == before


def test_template_is_the_api_export(b):
    s = console(b)
    r = s.get(b.admin + '/console/t/acme/users.csv', timeout=10)
    assert r.status_code == 200 and 'attachment' in r.headers['Content-Disposition']
    assert r.content == export(b)


def test_sso_switch_says_what_it_does_and_does_it(b):
    s = console(b)
    r = s.get(b.admin + '/console/t/acme/sso', timeout=10)
    assert r.status_code == 200 and 'id="sso-state">on<' in r.text
    try:
        r = s.get(b.admin + '/console/t/acme/sso', params={'to': 'off'}, timeout=10)
        assert 'ends every live session and panel token' in r.text
        form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', r.text))
        r = s.post(b.admin + '/console/t/acme/sso', data=form, timeout=10)
        assert r.status_code == 200 and 'is now <strong>off</strong>' in r.text, r.text[:500]
        # the API may be answered by the other worker: read until it has caught up (< 1 s)
        def off():
            j = admin(b, 'GET', '/api/v1/tenants/acme').json()
            return j if j['sso_enabled'] is False and j['sso_set_by'] == 'console:operator' else None
        assert wait_for(off, 3.0), admin(b, 'GET', '/api/v1/tenants/acme').json()
        recs = [x for x in b.audit() if x.get('event') == 'sso_set']
        assert recs[-1]['outcome'] == 'accepted' and recs[-1].get('credential') == 'console:operator'
        r = s.get(b.admin + '/console/t/acme/sso', timeout=10)
        assert 'id="sso-state">off<' in r.text and 'set by console:operator' in r.text
    finally:
        r = s.get(b.admin + '/console/t/acme/sso', params={'to': 'on'}, timeout=10)
        form = dict(re.findall(r'name="(\w+)" value="([^"]*)"', r.text))
        r = s.post(b.admin + '/console/t/acme/sso', data=form, timeout=10)
        assert r.status_code == 200 and 'is now <strong>on</strong>' in r.text


def test_signout_ends_the_session(b):
    s = console(b)
    csrf = csrf_of(s.get(b.admin + '/console/', timeout=10).text)
    n = len(b.keys())
    r = s.post(b.admin + '/console/signout', data={'csrf': csrf}, allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers['Location'] == '/console/signin'
    assert len(b.keys()) == n - 1
    assert s.get(b.admin + '/console/', allow_redirects=False, timeout=10).status_code == 303


def test_idle_timeout(b):
    s = console(b)
    sid = s.cookies.get('ssob_console')
    key = [k for k in b.keys() if k.endswith(hashlib.sha256(sid.encode()).hexdigest())][0]
    ttl = int(b.redis.cli(b.db, 'TTL', key))
    assert 850 < ttl <= 900, ttl
    b.redis.cli(b.db, 'EXPIRE', key, '1000000')
    s.get(b.admin + '/console/', timeout=10)
    assert int(b.redis.cli(b.db, 'TTL', key)) <= 900    # each use renews the idle timeout
    b.redis.cli(b.db, 'DEL', key)                       # what the idle timeout does
    assert s.get(b.admin + '/console/', allow_redirects=False, timeout=10).status_code == 303


# --- CSV upload, preview, submit ---

def upload(s, b, text, allow_new=False, csrf=None, tenant='acme', raw=None):
    page = s.get(b.admin + f'/console/t/{tenant}/import', timeout=10)
    assert page.status_code == 200 and 'multipart/form-data' in page.text and 'type="file"' in page.text
    data = {'csrf': csrf if csrf is not None else csrf_of(page.text)}
    if allow_new:
        data['allow_new'] = '1'
    body = raw if raw is not None else (text.encode() if isinstance(text, str) else text)
    return s.post(b.admin + f'/console/t/{tenant}/import', data=data, files={'file': ('users.csv', body, 'text/csv')},
                  allow_redirects=False, timeout=60)


def preview_id(html):
    import re as _re
    m = _re.search(r'name="preview" value="([A-Za-z0-9_-]+)"', html)
    return m.group(1) if m else None


def edited_csv(b):
    text = export(b).decode('utf-8-sig')
    text = text.replace(',0102,', ',0199,')          # bob: a new extension
    text = text.replace(',0101,', ',101,')           # alice: what Excel does to 0101
    return text + '9001,zed,Zed,New,zed@acme.example,9001,zed@acme.example,,,\n'


def test_upload_preview_submit(b):
    s = console(b)
    before = export(b)
    r = upload(s, b, edited_csv(b), allow_new=True)
    assert r.status_code == 200, r.text[:800]
    assert '1 added, 2 changed, 121 unchanged, 0 rejected' in r.text, r.text[:800]
    assert 'Extension: 0102 -&gt; 0199' in r.text and 'Extension: 0101 -&gt; 101' in r.text
    assert '9001' in r.text
    assert export(b) == before, 'a preview wrote something'
    pid = preview_id(r.text)
    assert pid
    # alice's 0101 -> 101 is what Excel does: a warning, and Submit must confirm it
    assert 'a spreadsheet may have dropped a leading zero' in r.text and 'name="confirm_zero"' in r.text
    csrf = csrf_of(r.text)
    r = s.post(b.admin + '/console/t/acme/import/submit', data={'csrf': csrf, 'preview': pid},
               allow_redirects=False, timeout=60)
    assert r.status_code == 409 and 'nothing was written' in r.text and export(b) == before
    r = s.post(b.admin + '/console/t/acme/import/submit', data={'csrf': csrf, 'preview': pid,
               'confirm_zero': '1'}, allow_redirects=False, timeout=60)
    assert r.status_code == 200 and 'Applied: 1 added, 2 changed' in r.text, r.text[:500]
    assert admin(b, 'GET', '/api/v1/tenants/acme/users/1001').json()['extension'].startswith('101')
    assert admin(b, 'GET', '/api/v1/tenants/acme/users/1002').json()['extension'] == '0199'
    assert admin(b, 'GET', '/api/v1/tenants/acme/users/9001').status_code == 200
    recs = [x for x in b.audit() if x.get('event') == 'mapping_import' and x.get('credential') == 'console:operator']
    assert any(x.get('detail') == 'changed' and x.get('internal_id') == '1002' for x in recs), recs[-4:]
    assert any('added=1 changed=2' in (x.get('detail') or '') for x in recs)
    # a preview is submitted once
    r = s.post(b.admin + '/console/t/acme/import/submit', data={'csrf': csrf_of(r.text), 'preview': pid,
               'confirm_zero': '1'}, allow_redirects=False, timeout=60)
    assert r.status_code == 409 and 'preview again' in r.text


def test_preview_again_after_a_concurrent_change(b):
    s = console(b)
    r = upload(s, b, edited_csv(b), allow_new=True)
    pid = preview_id(r.text)
    assert pid
    assert admin(b, 'PUT', '/api/v1/tenants/acme/users/2005', json={'last_name': 'Meanwhile'}).status_code == 200
    before = export(b)
    r = s.post(b.admin + '/console/t/acme/import/submit', data={'csrf': csrf_of(r.text), 'preview': pid,
               'confirm_zero': '1'}, allow_redirects=False, timeout=60)
    assert r.status_code == 409 and 'preview again' in r.text and 'nothing was written' in r.text
    assert export(b) == before


def test_preview_is_bound_to_its_session(b):
    s, other = console(b), console(b)
    r = upload(s, b, edited_csv(b), allow_new=True)
    pid = preview_id(r.text)
    before = export(b)
    csrf = csrf_of(other.get(b.admin + '/console/', timeout=10).text)
    r = other.post(b.admin + '/console/t/acme/import/submit', data={'csrf': csrf, 'preview': pid,
                                                                      'confirm_zero': '1'}, timeout=60)
    assert r.status_code == 403 and export(b) == before


def test_rejected_rows_and_files(b):
    s = console(b)
    before = export(b)
    r = upload(s, b, base_csv().replace(',0102,bob@acme.example', ',0102,' + 'x' * 300))
    assert r.status_code == 400 and 'Rejected rows (1)' in r.text, r.text[:800]
    assert 'Salesforce ID' in r.text and not preview_id(r.text)
    # a European Excel file (;) reads as the comma one; a Windows-1252 file is refused, its reason shown
    semi = HDR.replace(',', ';') + '1001;alice;Alicia;Smith;alice@acme.example;0101;alice@acme.example\n'
    r = upload(s, b, semi)
    assert r.status_code == 200 and 'First Name: Alice -&gt; Alicia' in r.text, r.text[-800:]
    cp = (HDR + '1001,alice,Alicé,Smith,alice@acme.example,0101,alice@acme.example\n').encode('cp1252')
    r = upload(s, b, None, raw=cp)
    assert r.status_code == 400 and ('UTF-8' in r.text or 'utf-8' in r.text) and not preview_id(r.text)
    assert export(b) == before


def test_upload_hostile(b):
    s = console(b)
    before = export(b)
    # wrong CSRF part: 403, nothing read
    assert upload(s, b, edited_csv(b), allow_new=True, csrf='A' * 43).status_code == 403
    for ctype, body in (('multipart/form-data', b'x'), ('multipart/form-data; boundary=zz', b'garbage'),
                        ('multipart/form-data; boundary=zz', b'--zz\r\nContent-Disposition: form-data\r\n\r\nx'),
                        ('multipart/form-data; boundary=' + 'z' * 100, b'--zz'),
                        ('text/csv', b'a,b\n')):
        r = s.post(b.admin + '/console/t/acme/import', data=body, headers={'Content-Type': ctype}, timeout=20)
        assert r.status_code in (400, 403, 415), (ctype, body, r.status_code)
    big = b'x' * (64 * 1024 * 1024 + 128 * 1024)
    r = s.post(b.admin + '/console/t/acme/import', data=big,
               headers={'Content-Type': 'multipart/form-data; boundary=zz'}, timeout=120)
    assert r.status_code == 413
    assert export(b) == before


# --- the audit page ---

def test_audit_page_query_and_export(b):
    s = console(b)
    assert admin(b, 'PUT', '/api/v1/tenants/acme/users/2003', json={'first_name': 'Audited'}).status_code == 200
    r = s.get(b.admin + '/console/t/acme/audit', params={'event': 'user_set', 'outcome': 'accepted', 'user': '',
                                                          'since': '2026-01-01'}, timeout=20)
    assert r.status_code == 200 and 'user_set' in r.text and 'user003@acme.example' in r.text, r.text[-1500:]
    assert 'records, newest first' in r.text and 'Export (JSON lines)' in r.text
    # the read is on record, under the console credential
    assert any(x.get('event') == 'audit_read' and x.get('credential') == 'console:operator' for x in b.audit())
    r = s.get(b.admin + '/console/t/acme/audit/export', params={'event': 'user_set'}, timeout=30)
    assert r.status_code == 200 and 'attachment' in r.headers.get('Content-Disposition', '')
    lines = [json.loads(x) for x in r.text.splitlines() if x]
    assert lines and all(x['tenant'] == 'acme' and x['event'] == 'user_set' for x in lines)
    # the tenant is the path's: a tenant filter in the query cannot widen it
    r = s.get(b.admin + '/console/t/acme/audit/export', params={'tenant': 'beta', 'event': 'user_set'}, timeout=30)
    assert all(json.loads(x)['tenant'] == 'acme' for x in r.text.splitlines() if x)
    r = s.get(b.admin + '/console/t/acme/audit', params={'since': 'not-a-time'}, timeout=20)
    assert r.status_code == 400 and 'since' in r.text and '<title>' in r.text
    r = s.get(b.admin + '/console/t/acme/audit', params={'user': '<script>x</script>'}, timeout=20)
    assert r.status_code == 200 and '<script>x' not in r.text


# --- roles: every console route checks the session's role and tenant ---

def planted(b, role, tenant, name='someone@acme.example'):
    """A console session of role for tenant, as the Salesforce sign-in makes one (test_console_signin.py)."""
    import secrets
    sid = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    key = 'bk:v1:{console}:csess:' + hashlib.sha256(sid.encode()).hexdigest()
    import time as _t
    b.redis.cli(b.db, 'SET', key, f'v1 {role} {tenant} {int(_t.time())} {csrf} {name}', 'EX', '900')
    s = requests.Session()
    s.verify = b.verify
    s.cookies.set('ssob_console', sid)
    return s, csrf


GETS = {'users': '/console/t/{t}/users', 'edit': '/console/t/{t}/users/1002/edit',
        'delete': '/console/t/{t}/users/1002/delete', 'csv': '/console/t/{t}/users.csv',
        'import': '/console/t/{t}/import', 'sso': '/console/t/{t}/sso', 'audit': '/console/t/{t}/audit',
        'export': '/console/t/{t}/audit/export'}
POSTS = {'edit': '/console/t/{t}/users/1002/edit', 'delete': '/console/t/{t}/users/1002/delete',
         'sso': '/console/t/{t}/sso', 'submit': '/console/t/{t}/import/submit'}


@pytest.mark.parametrize('role,allowed', [('admin', {'users', 'edit', 'delete', 'csv', 'import', 'sso', 'submit'}),
                                          ('auditor', {'audit', 'export'})])
def test_roles_on_every_route(b, role, allowed):
    s, csrf = planted(b, role, 'acme')
    before = export(b)
    for name, path in GETS.items():
        r = s.get(b.admin + path.format(t='acme'), allow_redirects=False, timeout=20)
        assert (r.status_code == 200) == (name in allowed), (role, name, r.status_code)
        if name not in allowed:
            assert r.status_code == 403 and 'console_forbidden' in r.text
        # another tenant: never
        r = s.get(b.admin + path.format(t='beta'), allow_redirects=False, timeout=20)
        assert r.status_code == 403, (role, name, 'beta', r.status_code)
    for name, path in POSTS.items():
        for t in ('acme', 'beta'):
            if t == 'acme' and name in allowed:
                continue
            r = s.post(b.admin + path.format(t=t), data={'csrf': csrf, 'rev': 'x', 'to': 'off', 'preview': 'x'},
                       allow_redirects=False, timeout=20)
            assert r.status_code == 403, (role, name, t, r.status_code)
    # an upload to another tenant, with this session's own token
    r = s.post(b.admin + '/console/t/beta/import', data={'csrf': csrf}, files={'file': ('u.csv', b'x', 'text/csv')},
               timeout=20)
    assert r.status_code == 403
    assert export(b) == before
    home = s.get(b.admin + '/console/', timeout=10).text
    assert 'beta' not in home and 'acme' in home
    recs = [x for x in b.audit() if x.get('event') == 'console_forbidden']
    assert recs and recs[-1].get('credential') == 'console:someone@acme.example'


def test_audit_export_refused_is_a_page(b):
    s = console(b)
    r = s.get(b.admin + '/console/t/acme/audit/export', params={'since': 'garbage'}, timeout=20)
    assert r.status_code == 400 and 'text/html' in r.headers['Content-Type']
    assert 'Content-Disposition' not in r.headers


def test_large_upload_is_recorded_in_batches(b):
    """1,200 changed profiles: every one on record (written 500 a loop turn), then the summary."""
    s = console(b)
    rows = [f'5{i:04d},big{i},B,{i},big{i}@acme.example,5{i:04d},big{i}@acme.example' for i in range(1200)]
    r = upload(s, b, HDR + '\n'.join(rows) + '\n', allow_new=True)
    assert '1200 added' in r.text and 'and 200 more' in r.text
    n0 = len(b.audit())
    r = s.post(b.admin + '/console/t/acme/import/submit', data={'csrf': csrf_of(r.text), 'preview': preview_id(r.text)},
               timeout=120)
    assert r.status_code == 200 and 'Applied: 1200 added' in r.text
    new = [x for x in b.audit()[n0:] if x.get('event') == 'mapping_import']
    assert len([x for x in new if x.get('detail') == 'added']) == 1200
    assert 'added=1200' in new[-1]['detail']
    assert admin(b, 'GET', '/api/v1/tenants/acme/users/51199').status_code == 200


# --- the tenant file's console roles: [admin] users, auditors ---

def test_tenant_admin_section_checked_with_file_and_line(factory):
    import subprocess
    from sbtest import env
    b = factory.broker(tenants=[('acme', {})], start=False)
    b.write()
    path = b.tenant_path('acme')
    with open(path, 'a') as f:
        f.write('\n[admin]\nusers = boss@acme.example, deputy@acme.example\nauditors = audit@acme.example\n')
    r = subprocess.run([env.broker_bin(), '-c', b.conf_path, '--check-config'], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(path, 'a') as f:
        f.write('auditors = bad user@acme.example\n')
    r = subprocess.run([env.broker_bin(), '-c', b.conf_path, '--check-config'], capture_output=True, text=True,
                       timeout=30)
    n = sum(1 for _ in open(path))
    assert r.returncode == 1 and f'{path}:{n}:' in r.stdout + r.stderr and 'auditors' in r.stdout + r.stderr, \
        r.stdout + r.stderr
