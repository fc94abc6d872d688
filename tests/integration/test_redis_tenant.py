"""A tenant with a Redis of its own (tenant file [redis], issue 12 item 8): acme stays on
broker.conf's Redis, beta gets a second redis-server.  Each tenant's keys, sign-ins, codes,
tokens and mapping live in its own store; beta's store down keeps beta out and acme in."""
import os
import re
import subprocess

import pytest

from sbtest import env
from sbtest.flows import BETA_CSV, Env, admin, describe, import_users
from sbtest.idp import b64
from sbtest.procs import Redis

BETA_DB = 3


@pytest.fixture
def two(factory, tmp_path):
    """(Env, the second Redis): beta's [redis] url names the second server."""
    r2 = Redis(tmp_path / 'redis-beta')
    try:
        url = f'redis://127.0.0.1:{r2.port}/{BETA_DB}'
        b = factory.broker(tenants=[('acme', {}),
                                    ('beta', {'allow_idp_initiated': 'false', 'consent': 'never',
                                              'redis': {'url': url, 'timeout_ms': '500'}})])
        e = Env(b, b.dir)
        yield e, r2
    finally:
        r2.stop()      # by its PID (Redis.stop), also when the test failed


def signin_token(e, user, tenant):
    return e.token_for(user, tenant)


def test_each_tenant_in_its_store(two):
    e, r2 = two
    b = e.b
    tok_a = signin_token(e, 'alice@acme.example', 'acme')
    tok_b = signin_token(e, 'dave@beta.example', 'beta')
    ia = e.panel('acme').introspect(tok_a)
    ib = e.panel('beta').introspect(tok_b)
    assert ia.status_code == 200 and ia.json().get('active') is True, ia.text
    assert ib.status_code == 200 and ib.json().get('active') is True, ib.text
    assert ib.json().get('extension') in (None, '0301') or '0301' in ib.text, ib.text
    # beta's keys are in beta's Redis only; acme's in the default one only.
    default_keys = b.keys()
    beta_keys = r2.keys(BETA_DB)
    assert not [k for k in default_keys if k.startswith('bk:v1:{beta}:')], sorted(default_keys)[:10]
    assert [k for k in default_keys if k.startswith('bk:v1:{acme}:')]
    assert not [k for k in beta_keys if k.startswith('bk:v1:{acme}:')], sorted(beta_keys)[:10]
    for kind in ('users', 'sfdc', 'tok:', 'sess:', 'codeused:'):
        assert [k for k in beta_keys if k.startswith('bk:v1:{beta}:' + kind)], (kind, sorted(beta_keys))
    # each store has its own data marker; the audit chain heads stay on the default store
    assert 'bk:v1:marker' in beta_keys and 'bk:v1:marker' in default_keys
    assert env.wait_for(lambda: 'bk:v1:{_broker}:audit:heads' in b.keys(), 5)
    assert 'bk:v1:{_broker}:audit:heads' not in r2.keys(BETA_DB)
    assert env.wait_for(lambda: 'bk:v1:{beta}:audit' in r2.keys(BETA_DB), 5)
    # the fleet-wide audit query reads beta's stream on beta's Redis, acme's on the default
    def q(**params):
        r = admin(b, 'GET', '/api/v1/audit', params=dict(params, limit=1000))
        assert r.status_code == 200, r.text
        return r.json()['records']
    got = env.wait_for(lambda: [x for x in q(tenant='beta') if x.get('event') == 'code_redeemed'], 5)
    assert got and all(x.get('tenant') == 'beta' for x in q(tenant='beta')), q(tenant='beta')[:2]
    both = {x.get('tenant') for x in q()}
    assert {'acme', 'beta'} <= both, both
    # a token of one tenant is not known to the other (its client_id names its store)
    assert e.panel('acme').introspect(tok_b).json() == {'active': False}
    # revocation goes to beta's store
    rv = e.panel('beta').revoke(tok_b)
    assert rv.status_code == 200, rv.text
    assert e.panel('beta').introspect(tok_b).json() == {'active': False}
    # an admin mapping import for beta lands in beta's Redis
    before = r2.cli(BETA_DB, 'HLEN', 'bk:v1:{beta}:users')
    note = import_users(b, 'beta', BETA_CSV + '3201,erin,0321,erin@beta.example\n', e.workdir)
    assert note is None, note
    assert int(r2.cli(BETA_DB, 'HLEN', 'bk:v1:{beta}:users')) == int(before) + 1
    assert r2.cli(BETA_DB, 'HGET', 'bk:v1:{beta}:sfdc', 'erin@beta.example') == '3201'
    assert not [k for k in b.keys() if k.startswith('bk:v1:{beta}:')]
    # /readyz, the admin's tenant view and /metrics name the stores
    tv = admin(b, 'GET', '/api/v1/tenants').json()['tenants']
    assert {t['id']: t.get('store') for t in tv} == {'acme': None, 'beta': 'beta'}, tv
    assert {t['id']: t['users'] for t in tv}['beta'] == int(before) + 1
    st = b.get('/readyz').json()['tenant_state']
    assert 'store' not in st['acme'] and st['beta']['store'] == 'beta', st
    def metric_ok():
        m = admin(b, 'GET', '/metrics').text
        return re.search(r'^ssobroker_redis_store_up\{store="beta"\} 2$', m, re.M) and \
            re.search(r'^ssobroker_redis_store_up\{store="default"\} 2$', m, re.M)
    assert env.wait_for(metric_ok, 5), [l for l in admin(b, 'GET', '/metrics').text.splitlines()
                                         if 'redis_' in l and '#' not in l]
    # the password of a tenant's Redis is never in the log (there is none here: the URL is)
    assert f'127.0.0.1:{r2.port}' in b.log_text()


def test_tenant_store_down(two):
    e, r2 = two
    b = e.b
    assert signin_token(e, 'dave@beta.example', 'beta')
    br = e.browser()
    login = br.start_login('beta')      # kept in beta's store before it hangs
    r2.pause()     # SIGSTOP: a hung Redis, not a closed one
    try:
        def beta_out():
            """Every worker (4 answers in a row) sees beta out, acme in, the broker ready."""
            for _ in range(4):
                r = b.get('/readyz')
                st = r.json().get('tenant_state', {})
                if not (r.status_code == 200 and st.get('beta', {}).get('ready') is False and
                        st.get('acme', {}).get('ready') is True):
                    return None
            return r.json()
        rz = env.wait_for(beta_out, 10)
        assert rz, b.get('/readyz').text
        assert rz['status'] == 'ready' and rz['redis'] is True, rz
        assert rz['tenant_state']['beta']['reason'].startswith('store_'), rz
        # beta's sign-ins get 503 with the store's reason; acme signs in as before
        out = e.browser().authorize('beta', challenge='c' * 43)
        assert out.kind == 'page' and out.resp.status_code == 503, (out.kind, out.url, out.resp.status_code)
        snap = e.audit_len()
        acs = br.post_acs('beta', b64(e.idp['beta'].good('dave@beta.example', login.rid)), login.relay)
        assert acs.resp.status_code == 503, describe(acs)
        recs = e.new_audit(snap, 'assertion')
        assert any(r.get('tenant') == 'beta' and str(r.get('reason')).startswith('store_')
                   for r in recs), [(r.get('tenant'), r.get('outcome'), r.get('reason')) for r in recs]
        tok = signin_token(e, 'alice@acme.example', 'acme')
        assert e.panel('acme').introspect(tok).json().get('active') is True
    finally:
        r2.resume()
    assert env.wait_for(lambda: all(b.get('/readyz').json()['tenant_state']['beta']['ready'] is True
                                    for _ in range(6)), 10), b.get('/readyz').text
    assert signin_token(e, 'dave@beta.example', 'beta')


def test_tenant_redis_reload(two):
    """SIGHUP: a tenant that loses its [redis] moves to the default store in the new
    generation (its data stays behind: moving it is the operator's, docs/admin.md)."""
    e, r2 = two
    b = e.b
    b.tenant('beta').redis = None
    b.reload()
    assert env.wait_for(lambda: all('store' not in b.get('/readyz').json()['tenant_state']['beta']
                                    for _ in range(6)), 15), b.log_tail()
    import_users(b, 'beta', BETA_CSV, e.workdir)
    assert [k for k in b.keys() if k.startswith('bk:v1:{beta}:users')]
    assert signin_token(e, 'dave@beta.example', 'beta')
    # and gains one again: the next generation writes to the second Redis
    r2.cli(BETA_DB, 'FLUSHDB')
    b.tenant('beta').redis = {'url': f'redis://127.0.0.1:{r2.port}/{BETA_DB}'}
    b.reload()
    assert env.wait_for(lambda: all(b.get('/readyz').json()['tenant_state']['beta'].get('store') == 'beta'
                                    for _ in range(6)), 15), b.log_tail()
    import_users(b, 'beta', BETA_CSV, e.workdir)
    assert signin_token(e, 'dave@beta.example', 'beta')
    assert [k for k in r2.keys(BETA_DB) if k.startswith('bk:v1:{beta}:tok:')]


def test_tenant_redis_config_errors(factory):
    b = factory.broker(tenants=[('acme', {}), ('beta', {'redis': {'url': 'redis://u:hunter2@127.0.0.1:99999/0'}})],
                       start=False)
    b.write()
    r = subprocess.run([env.broker_bin(), '-c', b.conf_path, '--check-config'], capture_output=True,
                       text=True, timeout=30)
    out = r.stdout + r.stderr
    with open(b.tenant_path('beta')) as f:
        n = [i for i, l in enumerate(f, 1) if l.startswith('url')][0]
    assert r.returncode == 1 and f'{b.tenant_path("beta")}:{n}: invalid url' in out, out
    assert 'hunter2' not in out
    b.tenant('beta').redis = {'master_name': 'big'}
    b.write()
    r = subprocess.run([env.broker_bin(), '-c', b.conf_path, '--check-config'], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and 'needs url or sentinels' in r.stdout + r.stderr, r.stdout + r.stderr
    assert os.path.exists(b.tenant_path('beta'))


def test_tenant_store_data_lost(two):
    """The marker is per store: beta's Redis flushed makes beta not ready (store_data_lost),
    not acme and not the broker; the marker set back from the log line ends it."""
    e, r2 = two
    b = e.b
    assert env.wait_for(lambda: r2.cli(BETA_DB, 'GET', 'bk:v1:marker') != '', 5)
    marker = r2.cli(BETA_DB, 'GET', 'bk:v1:marker')
    assert marker != b.redis.cli(b.db, 'GET', 'bk:v1:marker'), 'each store writes its own marker'
    r2.cli(BETA_DB, 'FLUSHDB')

    def lost():
        rs = [b.get('/readyz') for _ in range(4)]
        return all(r.status_code == 200 and r.json()['tenant_state']['beta'].get('reason') == 'store_data_lost'
                   and r.json()['tenant_state']['acme']['ready'] is True for r in rs)
    assert env.wait_for(lost, 10), b.get('/readyz').text
    line = [l for l in b.log_text().splitlines() if 'Redis lost the data' in l and '(store beta)' in l]
    assert line and marker in line[-1], b.log_tail()
    assert e.token_for('alice@acme.example', 'acme')
    r2.cli(BETA_DB, 'SET', 'bk:v1:marker', marker)
    assert env.wait_for(lambda: all(b.get('/readyz').json()['tenant_state']['beta']['ready'] is True
                                    for _ in range(4)), 10), b.get('/readyz').text


def test_tenant_sentinel_and_password(factory, tmp_path):
    """A tenant's store found through its own Sentinel, with AUTH: the master's password is in
    the tenant file only, never in the log or the -T dump."""
    from sbtest.procs import Sentinel
    r2 = Redis(tmp_path / 'redis-beta')
    sen = None
    try:
        # the broker's own ACL user (the sentinel keeps the default one)
        r2.cli(0, 'ACL', 'SETUSER', 'sso-beta', 'on', '>beta-s3cret-pw', '~bk:*', '+@all')
        sen = Sentinel(tmp_path / 'sentinel-beta', r2.port, name='betamaster')
        b = factory.broker(tenants=[('acme', {}), ('beta', {
            'allow_idp_initiated': 'false', 'consent': 'never',
            'redis': {'url': f'redis://sso-beta:beta-s3cret-pw@127.0.0.1:1/{BETA_DB}',
                      'sentinels': f'127.0.0.1:{sen.port}', 'master_name': 'betamaster'}})])
        e = Env(b, b.dir)
        tok = e.token_for('dave@beta.example', 'beta')
        assert e.panel('beta').introspect(tok).json().get('active') is True
        assert [k for k in r2.keys(BETA_DB) if k.startswith('bk:v1:{beta}:tok:')], \
            'beta token not in the Sentinel-named master'
        assert not [k for k in b.keys() if k.startswith('bk:v1:{beta}:')]
        assert 'user=sso-beta' in r2.cli(0, 'CLIENT', 'LIST')
        dump = subprocess.run([env.broker_bin(), '-c', b.conf_path, '-T'], capture_output=True, text=True,
                              timeout=30)
        assert 'beta-s3cret-pw' not in dump.stdout + dump.stderr
        assert 'beta-s3cret-pw' not in b.log_text()
    finally:
        if sen is not None:
            sen.stop()
        r2.stop()


def test_logout_across_stores(two):
    """One browser signed in to both tenants: /logout ends the session in each store."""
    e, r2 = two
    b = e.b
    br = e.browser()
    for user, tid in (('alice@acme.example', 'acme'), ('dave@beta.example', 'beta')):
        r = e.signin(user, tid, browser=br)
        assert r['code'], describe(r['out'])
    sess = lambda keys, tid: [k for k in keys if k.startswith(f'bk:v1:{{{tid}}}:sess:')]
    assert len(sess(b.keys(), 'acme')) == 1 and len(sess(r2.keys(BETA_DB), 'beta')) == 1
    out = br.logout()
    assert out.resp.status_code == 200, describe(out)
    assert sess(b.keys(), 'acme') == [] and sess(r2.keys(BETA_DB), 'beta') == []


def test_oauth_tenant_own_store(factory, tmp_path):
    """The OAuth way in (state taken once at the callback, then the flow) on a tenant's store."""
    from sbtest import browser as sbb
    from sbtest.sfdc import SfdcStandin
    from test_oidc_signin import USERS, signin
    r2 = Redis(tmp_path / 'redis-sf')
    b = factory.broker([('sf', {'consent': 'never', 'redis': {'url': f'redis://127.0.0.1:{r2.port}/{BETA_DB}'}})],
                       start=False)
    op = SfdcStandin(tmp_path, redirect_uris=[b.pub + '/t/sf/oidc/callback'], users=['alice@acme.example'])
    op.__enter__()
    try:
        b.tenants['sf'].oidc = op.oidc_section()
        b.start()
        assert import_users(b, 'sf', USERS, b.dir) is None
        br, v, state, out = signin(b, op)
        code, st, err = sbb.code_from(out, b.tenant('sf').redirect_uri)
        assert code and st == state and err is None, (out.kind, out.url, out.resp.text[:300])
        r = sbb.Panel(b, 'sf').token(code, v)
        assert r.status_code == 200, r.text
        assert [k for k in r2.keys(BETA_DB) if k.startswith('bk:v1:{sf}:tok:')]
        assert not [k for k in b.keys() if k.startswith('bk:v1:{sf}:')]
    finally:
        op.__exit__(None, None, None)
        r2.stop()
