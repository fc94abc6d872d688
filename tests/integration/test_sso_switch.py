"""The account's SSO switch is an admin action shared by every broker (issue 10 item 3).

The tenant file's enable_salesforce_sso is the value a tenant starts with; an admin sets the value
in force (PUT /api/v1/tenants/<t>/sso, ssoctl tenants sso on|off), kept in Redis, which every
broker and every worker follows within a second.  Off ends the tenant's live sessions and panel
tokens at once, voids its codes, and a reload does not undo it."""
import json
import time

import pytest

from sbtest import env
from sbtest.browser import pkce
from sbtest.flows import Env, admin, describe, ssoctl
from sbtest.procs import Redis
from test_user_change_revokes import signed_in   # sign in, redeem, check the token


@pytest.fixture
def pair(factory):
    """Broker A (two workers, the mapping imported) and broker B on the same Redis database."""
    a = factory.env(workers=2)
    b = factory.broker(redis_url=a.b.redis_url, workers=2)
    return a, Env(b, b.dir, users=False)


def sso(broker, tenant='acme'):
    r = admin(broker, 'GET', f'/api/v1/tenants/{tenant}/sso')
    assert r.status_code == 200, r.text
    return r.json()


def put(broker, enabled, tenant='acme', **kw):
    return admin(broker, 'PUT', f'/api/v1/tenants/{tenant}/sso', json={'enabled': enabled}, **kw)


def login_status(broker, tenant='acme'):
    return broker.get(f'/t/{tenant}/saml/login').status_code


def steadily(broker, want, n=8, timeout=2.0):
    """Within timeout, n answers in a row of status want (both workers answer in turn)."""
    def ok():
        return all(login_status(broker) == want for _ in range(n))
    return env.wait_for(ok, timeout)


def everywhere(pred, n=8, timeout=2.0):
    """pred() n times in a row within timeout: every worker (each answers in turn) agrees."""
    return env.wait_for(lambda: all(pred() for _ in range(n)), timeout)


def test_file_value_is_the_start_value(acme):
    j = sso(acme.b)
    assert j['sso_enabled'] is True and j['sso_file_value'] is True and j['sso_source'] == 'file'
    assert j['sso_set_by'] is None and j['sso_set_at'] is None
    off = sso(acme.b, 'off')
    assert off['sso_enabled'] is False and off['sso_source'] == 'file'
    t = admin(acme.b, 'GET', '/api/v1/tenants').json()['tenants']
    row = [x for x in t if x['id'] == 'off'][0]
    assert row['enable_salesforce_sso'] is False and row['sso_file_value'] is False
    assert 'ssobroker_tenant_info{tenant="off",login="saml",sso="off"} 1' in admin(acme.b, 'GET', '/metrics').text


def test_off_on_one_broker_refused_on_the_other(pair):
    a, b = pair
    user, iid, _ = a.fresh_user()
    r, tok = signed_in(a, user)
    other, _, _ = a.fresh_user()
    code = a.signin(other)
    assert code['code'], describe(code['out'])
    rb, tokb = signed_in(b, a.fresh_user()[0])
    assert login_status(b.b) == 303 or login_status(b.b) == 302
    n0 = len(a.b.audit())
    t0 = time.monotonic()
    p = put(a.b, False)
    assert p.status_code == 200, p.text
    j = p.json()
    assert j['sso_enabled'] is False and j['sso_source'] == 'admin' and j['sso_set_by'] == 'operator'
    assert j['ended']['sessions'] >= 2 and j['ended']['tokens'] >= 2, j
    # every worker of both brokers refuses within about a second (polled up to 2 s)
    assert steadily(b.b, 403), 'broker B still lets sign-ins start'
    assert steadily(a.b, 403), 'a worker of broker A still lets sign-ins start'
    assert time.monotonic() - t0 < 4
    page = b.b.get('/t/acme/saml/login')
    assert page.status_code == 403 and 'not enabled' in page.text
    # the live tokens of both brokers introspect inactive at once; the outstanding code is void
    assert a.panel().introspect(tok).json() == {'active': False}
    assert b.panel().introspect(tokb).json() == {'active': False}
    t = a.panel().token(code['code'], code['verifier'])
    assert t.status_code in (400, 403) and t.json().get('error'), t.text
    # on the other broker too: it reads the same store
    assert sso(b.b)['sso_enabled'] is False and sso(b.b)['sso_set_by'] == 'operator'
    recs = [x for x in a.b.audit()[n0:] if x.get('event') == 'sso_set']
    assert recs and recs[-1]['outcome'] == 'accepted' and recs[-1].get('credential') == 'operator', recs
    assert 'sessions and' in recs[-1].get('detail', '') and recs[-1]['after'] == {'enabled': False}
    # on again, from broker B: A signs in again within a second; the old session is gone
    p = put(b.b, True)
    assert p.status_code == 200 and p.json()['sso_enabled'] is True and 'ended' not in p.json(), p.text
    assert steadily(a.b, 302) or steadily(a.b, 303), a.b.get('/t/acme/saml/login').status_code
    out = r['browser'].authorize(challenge=pkce()[1])
    assert out.kind == 'away' and out.url.startswith(a.b.tenant().idp_sso), \
        f'the browser session outlived the switch: {describe(out)}'
    assert a.panel().introspect(tok).json() == {'active': False}, 'on again revived an old token'
    again, tok2 = signed_in(a, user)
    assert a.panel().introspect(tok2).json()['active'] is True
    m = admin(a.b, 'GET', '/metrics').text
    assert 'ssobroker_tenant_info{tenant="acme",login="saml",sso="on"} 1' in m


def test_reload_keeps_the_admin_value(factory):
    e = factory.env(workers=2)
    b = e.b
    assert put(b, True, 'off').status_code == 200
    assert put(b, False, 'acme').status_code == 200

    def gauges():
        m = admin(b, 'GET', '/metrics').text
        return 'tenant="acme",login="saml",sso="off"' in m and 'tenant="off",login="saml",sso="on"' in m
    assert everywhere(gauges), 'the tenant gauge does not show the value in force on every worker'
    # the files change too: acme's policy (the reload applies) and beta's starting value (beta has
    # no admin value, so its file's new value is in force); acme and off keep the admin's
    b.tenants['acme'].policy['consent'] = 'never'
    b.tenants['beta'].tenant['enable_salesforce_sso'] = 'false'
    pids = set(b.worker_pids())
    b.reload()
    assert env.wait_for(lambda: not (set(b.worker_pids()) & pids), 15), 'the old workers did not go'
    assert everywhere(lambda: sso(b)['sso_read'], timeout=5)
    assert sso(b)['sso_enabled'] is False and sso(b)['sso_file_value'] is True
    assert sso(b, 'off')['sso_enabled'] is True and sso(b, 'off')['sso_source'] == 'admin'
    assert steadily(b, 403)
    assert admin(b, 'GET', '/api/v1/tenants/acme').json()['consent'] == 'never', 'the reload did not apply'
    assert sso(b, 'beta')['sso_enabled'] is False and sso(b, 'beta')['sso_source'] == 'file'
    # ssoctl sets it back
    r = ssoctl(b, 'tenants', 'sso', 'on', 'acme')
    assert r.returncode == 0, r.stderr
    assert steadily(b, 302) or steadily(b, 303)


def test_ssoctl_verbs_and_output(factory):
    e = factory.env()
    b = e.b
    user, _, _ = e.fresh_user()
    _, tok = signed_in(e, user)
    r = ssoctl(b, 'tenants', 'sso', 'off', 'acme')
    assert r.returncode == 0, r.stderr
    assert 'tenant acme: SSO is off on every broker (set by operator at ' in r.stdout, r.stdout
    assert 'ended 1 sessions and 1 tokens' in r.stdout, r.stdout
    assert e.panel().introspect(tok).json() == {'active': False}
    assert everywhere(lambda: sso(b)['sso_enabled'] is False)
    # each connection may land on either worker: read until this one has caught up (< 1 s)
    def acme_row():
        out = ssoctl(b, 'tenants')
        assert out.returncode == 0 and 'SSO SET BY' in out.stdout, out.stdout
        row = [l for l in out.stdout.splitlines() if l.startswith('acme ')][0]
        return (out, row) if ' off ' in row and 'operator 20' in row else None
    got = env.wait_for(acme_row, 3.0)
    assert got, ssoctl(b, 'tenants').stdout
    out, row = got
    row = [l for l in out.stdout.splitlines() if l.startswith('beta ')][0]
    assert row.rstrip().endswith('file'), row
    j = json.loads(ssoctl(b, '--json', 'tenants').stdout)
    acme = [t for t in j['tenants'] if t['id'] == 'acme'][0]
    assert acme['sso_enabled'] is False and acme['sso_set_by'] == 'operator' and acme['sso_set_at']
    show = ssoctl(b, 'tenants', 'show', 'acme').stdout
    assert 'sso_source' in show and 'admin' in show, show
    r = ssoctl(b, '--tenant', 'acme', 'tenants', 'sso', 'on')
    assert r.returncode == 0 and 'SSO is on' in r.stdout and 'ended' not in r.stdout, r.stdout + r.stderr
    r = ssoctl(b, '--json', 'tenants', 'sso', 'on', 'beta')
    assert r.returncode == 0 and json.loads(r.stdout)['sso_enabled'] is True, r.stdout
    assert everywhere(lambda: sso(b)['sso_enabled'] is True)
    for args in (('tenants', 'sso'), ('tenants', 'sso', 'maybe', 'acme'), ('tenants', 'sso', 'on', 'acme', 'x'),
                 ('tenants', 'sso', 'on', 'nosuch')):
        r = ssoctl(b, *args)
        assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1, (args, r.stdout, r.stderr)
    assert sso(b)['sso_enabled'] is True


HOSTILE = [b'', b'{}', b'null', b'true', b'[]', b'{"enabled": 1}', b'{"enabled": "false"}',
           b'{"enabled": null}', b'{"enabled": false, "extra": 1}', b'{"Enabled": false}',
           b'{"enabled": false, "enabled": true}', b'{"enabled": false} x', b'{"enabled": fals}',
           b'\xff\xfe{"enabled": false}', b'{"enabled": false', b'{"enabled": false}\x00']


def test_hostile_bodies_change_nothing(acme):
    b = acme.b
    before = sso(b)
    n0 = len(b.audit())
    for body in HOSTILE:
        r = admin(b, 'PUT', '/api/v1/tenants/acme/sso', data=body, headers={'Content-Type': 'application/json'})
        assert r.status_code == 400, (body, r.status_code, r.text)
        assert r.json()['error'] == 'sso_bad_body' and '"enabled"' in r.json()['message'], r.text
    r = admin(b, 'PUT', '/api/v1/tenants/acme/sso', data=b'{"enabled": false}' + b' ' * 4096)
    assert r.status_code == 413, r.text
    assert admin(b, 'POST', '/api/v1/tenants/acme/sso', json={'enabled': False}).status_code == 405
    assert admin(b, 'DELETE', '/api/v1/tenants/acme/sso').status_code == 405
    assert put(b, False, 'nosuch').status_code == 404
    assert put(b, False, token=None).status_code == 401
    assert put(b, False, token='Bearer wrong').status_code == 401
    assert everywhere(lambda: sso(b) == before and login_status(b) in (302, 303))
    assert not [k for k in b.keys() if k.endswith(':sso')]
    recs = [x for x in b.audit()[n0:] if x.get('event') == 'sso_set']
    assert len(recs) >= len(HOSTILE) and all(x['outcome'] == 'rejected' for x in recs)
    assert b.healthy()


def test_redis_down_is_503_and_changes_nothing(factory, tmp_path):
    rd = Redis(tmp_path / 'redis-sso')
    try:
        b = factory.broker(tenants=[('acme', {})], redis=rd)
        assert put(b, False).status_code == 200
        assert everywhere(lambda: sso(b)['sso_enabled'] is False)
        rd.stop()
        assert env.wait_for(lambda: b.get('/readyz').status_code == 503, 10)
        r = put(b, True)
        assert r.status_code == 503, r.text
        assert r.json()['error'] == 'sso_store_unavailable' and 'nothing was changed' in r.json()['message']
        # the last value known stays in force while the store cannot be read
        assert everywhere(lambda: sso(b)['sso_enabled'] is False and login_status(b) in (403, 503))
        recs = [x for x in b.audit() if x.get('event') == 'sso_set']
        assert recs[-1]['outcome'] == 'rejected' and recs[-1]['reason'] == 'sso_store_unavailable', recs[-1]
    finally:
        rd.stop()


def test_tenant_with_its_own_store(factory, tmp_path):
    """beta's [redis] names a second server: its switch lives there, read by the poll of that
    store; acme's, on broker.conf's Redis, is not touched by beta's off."""
    r2 = Redis(tmp_path / 'redis-beta-sso')
    try:
        url = f'redis://127.0.0.1:{r2.port}/3'
        b = factory.broker(tenants=[('acme', {}), ('beta', {'consent': 'never',
                                                            'redis': {'url': url}})])
        e = Env(b, b.dir)
        tok = e.token_for('dave@beta.example', 'beta')
        acme = e.token_for('alice@acme.example', 'acme')
        p = put(b, False, 'beta')
        assert p.status_code == 200 and p.json()['ended']['tokens'] == 1, p.text
        assert 'bk:v1:{beta}:sso' in r2.keys(3) and 'bk:v1:{beta}:sso' not in b.keys()
        assert e.panel('beta').introspect(tok).json() == {'active': False}
        assert e.panel('acme').introspect(acme).json().get('active') is True
        assert everywhere(lambda: sso(b, 'beta')['sso_enabled'] is False and sso(b)['sso_enabled'] is True)
        assert everywhere(lambda: b.get('/t/beta/saml/login').status_code == 403)
    finally:
        r2.stop()


def test_off_sweeps_a_big_account_in_batches(factory):
    """3,000 more profiles: the sweep after an off takes several batches (STORE_SSO_SWEEP) and
    still ends every session and token it lists, and says its count is complete."""
    e = factory.env()
    b = e.b
    csv = '8x8 Internal ID,Extension,Salesforce ID\n' + ''.join(
        f'{9000 + i},{9000 + i},big{i}@acme.example\n' for i in range(3000))
    a = admin(b, 'POST', '/api/v1/tenants/acme/users.csv?allow_new=1', data=csv.encode(),
              headers={'Content-Type': 'text/csv'})
    assert a.status_code == 200, a.text[:300]
    toks = [signed_in(e, u)[1] for u in (e.fresh_user()[0], 'big2999@acme.example', 'big0@acme.example')]
    p = put(b, False)
    assert p.status_code == 200, p.text
    assert p.json()['ended'] == {'sessions': 3, 'tokens': 3, 'complete': True}, p.json()
    assert not [k for k in b.keys() if ':usess:' in k or ':utok:' in k or ':tok:' in k]
    assert all(e.panel().introspect(t).json() == {'active': False} for t in toks)


def test_open_allow_page_yields_nothing_after_off(factory):
    """An Allow page opened before the off gives no code after it (consent first_use)."""
    e = factory.env()
    b = e.b
    user, _, _ = e.fresh_user()
    br = e.browser()
    login = br.start_login('acme')
    from sbtest.idp import b64
    out = br.post_acs('acme', b64(e.idp['acme'].good(user, login.rid)), login.relay)
    assert out.kind == 'form', describe(out)
    assert put(b, False).status_code == 200
    assert everywhere(lambda: sso(b)['sso_enabled'] is False)
    done = br.consent(out.resp, 'allow')
    assert done.resp.status_code == 403 and 'code=' not in (done.url or ''), describe(done)
    # refused at the consent (the worker knew of the off) or, where this worker had not heard
    # yet, by the code's issue (the off moved the user's generation on): on record either way
    def refused():
        return [x for x in b.audit() if x.get('outcome') == 'rejected' and
                x.get('reason') in ('sso_disabled', 'revoked')]
    assert env.wait_for(refused, 3.0), b.audit()[-3:]


def test_admin_switch_off_does_not_lock_the_console_out(factory):
    """With the account's switch off (an admin's value), an admin still signs in to the console
    (to switch it on again), while an agent's sign-in stays refused."""
    from test_console_signin import ADMIN, BOSS, code_of, console_signin, grant
    b = factory.broker([('acme', {'admin': ADMIN})])
    e = Env(b, b.dir, users=False)
    assert put(b, False).status_code == 200
    assert everywhere(lambda: sso(b)['sso_enabled'] is False)
    _, out = console_signin(e, BOSS)
    g, _ = grant(e, 'acme', code_of(e, out))
    assert g['role'] == 'admin'
    assert login_status(b) == 403
