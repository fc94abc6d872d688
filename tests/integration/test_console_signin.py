"""An admin signs in to the console with their own Salesforce account through the tenant's upstream
(issue 10 item 2): GET /t/{tenant}/console/login starts the tenant's SAML (or OAuth) sign-in, the
verified username must be one the tenant file names in [admin] users or auditors, and the browser
leaves for the admin listener with a one-time code whose grant (who, which role) lives 60 s in the
tenant's store under the code's digest.  SSO off does not lock the admin out; a mapping is not
needed; the request is bound to the browser like an agent's; every refusal is audited."""
import hashlib
import json
import re
import urllib.parse

import pytest

from sbtest.flows import Env, describe
from sbtest.idp import b64, parse_redirect

BOSS, AUDITOR = 'Boss@Acme.example', 'aud@acme.example'
ADMIN = {'users': 'boss@acme.example, both@acme.example', 'auditors': f'{AUDITOR}, both@acme.example'}


@pytest.fixture(scope='module')
def env(module_factory):
    b = module_factory.broker([('acme', {'admin': ADMIN}),
                                ('off', {'enable_salesforce_sso': 'false', 'admin': ADMIN,
                                         'idp_entity': 'https://off-it.my.salesforce.com',
                                         'idp_sso': 'https://off-it.my.salesforce.com/idp/endpoint/HttpRedirect',
                                         'idp_certs': None}),
                                ('beta', {'allow_idp_initiated': 'false'})])
    return Env(b, b.dir, users=False)


def console_start(env, tenant='acme', br=None):
    br = br or env.browser()
    out = br.walk(br.get(f'/t/{tenant}/console/login'))
    assert out.kind == 'away' and out.url.startswith(env.b.tenant(tenant).idp_sso), describe(out)
    return br, parse_redirect(out.url)


def acs(env, br, tenant, user, rid, relay=None):
    resp = env.idp[tenant].good(user, rid)
    return br.post_acs(tenant, b64(resp), relay)


def grant(env, tenant, code):
    key = f'bk:v1:{{{tenant}}}:cgrant:' + hashlib.sha256(code.encode()).hexdigest()
    v = env.b.redis.cli(env.b.db, 'GET', key)
    return (json.loads(v) if v else None), key


def console_signin(env, user, tenant='acme'):
    br, req = console_start(env, tenant)
    out = acs(env, br, tenant, user, req['id'], req['relay'])
    return br, out


def code_of(env, out, tenant='acme'):
    assert out.kind == 'away' and out.resp.status_code == 303, describe(out)
    u = urllib.parse.urlsplit(out.url)
    assert f'{u.scheme}://{u.netloc}' == env.b.admin and u.path == '/console/sso', out.url
    q = urllib.parse.parse_qs(u.query)
    assert q['tenant'] == [tenant]
    return q['code'][0]


@pytest.mark.parametrize('user,role', [(BOSS, 'admin'), (AUDITOR, 'auditor'),
                                       ('both@acme.example', 'admin+auditor')])
def test_listed_user_gets_a_one_time_grant(env, user, role):
    n = env.audit_len()
    _, out = console_signin(env, user)
    code = code_of(env, out)
    g, key = grant(env, 'acme', code)
    assert g == {'user': user, 'role': role}
    ttl = int(env.b.redis.cli(env.b.db, 'TTL', key))
    assert 0 < ttl <= 60
    recs = env.new_audit(n, 'console_signin')
    assert recs and recs[-1]['outcome'] == 'accepted' and recs[-1].get('user') == user, recs
    assert code not in json.dumps(env.b.audit()[n:]) and code not in env.b.log_tail(), 'the code leaked'


def test_unlisted_user_is_refused_and_audited(env):
    n = env.audit_len()
    before = env.b.keys()
    _, out = console_signin(env, 'alice@acme.example')
    assert out.resp.status_code == 403, describe(out)
    assert 'console' in out.resp.text
    recs = env.new_audit(n, 'console_signin')
    assert recs and recs[-1]['outcome'] != 'accepted' and recs[-1]['reason'] == 'console_not_allowed', recs
    assert not [k for k in env.b.keys() - before if ':cgrant:' in k]


def test_sso_off_does_not_lock_the_admin_out(env):
    _, out = console_signin(env, BOSS, tenant='off')
    g, _ = grant(env, 'off', code_of(env, out, 'off'))
    assert g['role'] == 'admin'


def test_agent_sign_in_stays_refused_when_sso_is_off(env):
    br = env.browser()
    out = br.walk(br.get('/t/off/saml/login'))
    assert out.resp.status_code == 403, describe(out)


def test_tenant_without_console_users_refuses_at_start(env):
    n = env.audit_len()
    br = env.browser()
    r = br.get('/t/beta/console/login')
    assert r.status_code == 403 and 'Location' not in r.headers
    recs = env.new_audit(n, 'console_signin')
    assert recs and recs[-1]['reason'] == 'console_not_allowed'


def test_response_is_bound_to_the_browser_that_started(env):
    _, req = console_start(env)
    other = env.browser()
    out = acs(env, other, 'acme', BOSS, req['id'], req['relay'])
    assert out.resp.status_code in (400, 403), describe(out)
    assert 'console/sso' not in (out.resp.headers.get('Location') or '')


def test_replayed_response_opens_nothing_twice(env):
    br, req = console_start(env)
    resp = b64(env.idp['acme'].good(BOSS, req['id']))
    first = br.post_acs('acme', resp, req['relay'])
    code_of(env, first)
    again = br.post_acs('acme', resp, req['relay'])
    assert again.resp.status_code in (400, 403) and 'console/sso' not in (again.resp.headers.get('Location') or '')


def test_idp_initiated_response_never_opens_the_console(env):
    """An unsolicited assertion for a console user is an agent's sign-in: it gets no console grant."""
    before = env.b.keys()
    br = env.browser()
    out = br.post_acs('acme', b64(env.idp['acme'].good(BOSS, None)))
    assert 'console/sso' not in out.url
    assert not [k for k in env.b.keys() - before if ':cgrant:' in k]


def test_agent_request_does_not_become_a_console_one(env):
    """A panel sign-in request answered for a console user still needs a mapping: unmapped here."""
    br = env.browser()
    login = br.start_login('acme')
    out = acs(env, br, 'acme', BOSS, login.rid, login.relay)
    assert 'console/sso' not in out.url and out.resp.status_code == 403, describe(out)


def test_oauth_tenant_console_sign_in_with_sso_off(factory, tmp_path):
    """The OAuth way in: the stand-in Salesforce (authlib) signs the admin in; SSO off, unmapped."""
    from sbtest.browser import Browser
    from sbtest.sfdc import SfdcStandin
    b = factory.broker([('sf', {'consent': 'never', 'enable_salesforce_sso': 'false',
                                'admin': {'users': 'boss@acme.example'}})], start=False)
    with SfdcStandin(tmp_path, redirect_uris=[b.pub + '/t/sf/oidc/callback'],
                     users=['boss@acme.example', 'alice@acme.example']) as op:
        b.tenants['sf'].oidc = op.oidc_section()
        b.start()
        op.set_modes()
        env = Env(b, b.dir, users=False)
        for user, status in (('boss@acme.example', 303), ('alice@acme.example', 403)):
            br = Browser(b)
            out = br.walk(br.get('/t/sf/console/login'))
            assert out.kind == 'away', describe(out)
            got = op.sign_in(out.url, user)
            back = br.walk(br.s.get(got['location'], allow_redirects=False, timeout=30))
            assert back.resp.status_code == status, describe(back)
            if status == 303:
                g, _ = grant(env, 'sf', code_of(env, back, 'sf'))
                assert g == {'user': user, 'role': 'admin'}


def open_console(env, br, out):
    """Follow the hand-off to the admin listener in the same browser: the session is made there."""
    r = br.s.get(out.url, allow_redirects=False, timeout=10)
    return r


@pytest.mark.parametrize('user,role,ok,refused', [
    (BOSS, 'admin', ('users', 'sso', 'import'), ('audit',)),
    (AUDITOR, 'auditor', ('audit',), ('users', 'sso', 'import')),
    ('both@acme.example', 'admin+auditor', ('users', 'audit'), ())])
def test_grant_opens_a_console_session_of_that_role_and_tenant(env, user, role, ok, refused):
    br, out = console_signin(env, user)
    code = code_of(env, out)
    r = open_console(env, br, out)
    assert r.status_code == 200 and 'Signed in as' in r.text and f'({role})' in r.text, r.text[:400]
    assert 'Set-Cookie' in r.headers and 'SameSite=Strict' in r.headers['Set-Cookie']
    assert code not in r.text
    for page in ok:
        p = br.s.get(env.b.admin + f'/console/t/acme/{page}', allow_redirects=False, timeout=10)
        assert p.status_code == 200, (page, p.status_code, p.text[:200])
    for page in refused:
        p = br.s.get(env.b.admin + f'/console/t/acme/{page}', allow_redirects=False, timeout=10)
        assert p.status_code == 403, (page, p.status_code)
    # another account's pages stay shut
    p = br.s.get(env.b.admin + '/console/t/off/users', allow_redirects=False, timeout=10)
    assert p.status_code == 403
    # the code worked once
    again = br.s.get(out.url, allow_redirects=False, timeout=10)
    assert again.status_code == 400 and 'sign in again' in again.text.lower()
    assert grant(env, 'acme', code)[0] is None


def test_console_sign_in_is_on_record_with_the_username(env):
    n = env.audit_len()
    br, out = console_signin(env, BOSS)
    r = open_console(env, br, out)
    assert r.status_code == 200
    recs = [x for x in env.b.audit()[n:] if x.get('event') == 'console_signin']
    assert len(recs) >= 2 and all(x['outcome'] == 'accepted' for x in recs), recs
    assert recs[-1].get('credential') == f'console:{BOSS}', recs[-1]


def test_bad_codes_are_refused(env):
    br = env.browser()
    for q in ('tenant=acme&code=x', 'tenant=nope&code=' + 'A' * 43, 'code=' + 'A' * 43, 'tenant=acme&code=' + 'A' * 43):
        r = br.s.get(env.b.admin + '/console/sso?' + q, allow_redirects=False, timeout=10)
        assert r.status_code == 400, (q, r.status_code)
        # no session: no console cookie with a value
        assert not re.search(r'ssob_console=[^;]', r.headers.get('Set-Cookie', '')), r.headers.get('Set-Cookie')


def test_signin_page_offers_salesforce_for_accounts_with_console_users(env):
    br = env.browser()
    r = br.s.get(env.b.admin + '/console/signin', timeout=10)
    assert f'{env.b.pub}/t/acme/console/login' in r.text and f'{env.b.pub}/t/off/console/login' in r.text
    assert '/t/beta/console/login' not in r.text
