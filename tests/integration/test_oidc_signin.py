"""The OAuth way in (issue 8): the panel's authorize -> the broker -> the stand-in Salesforce
authorization server (demo/sfdc_oauth.py, on python3-authlib, over HTTPS with a demo CA) ->
"Allow Access?" -> the broker's callback -> the flow -> the panel's code -> a token.

Every relying-party case of SECURITY-CASES section 3 that the stand-in can produce is refused with
its reason code, audited, and issues no code."""
import secrets
import urllib.parse

import pytest

from sbtest import browser as sbb
from sbtest.flows import admin, import_users, ssoctl
from sbtest.sfdc import SfdcStandin

USERS = ('8x8 Internal ID,User Name,First Name,Last Name,Email,Extension,Salesforce ID\n'
         '3001,alice,Alice,Smith,alice@acme.example,0101,alice@acme.example\n'
         '3002,bob,Bob,Jones,bob@acme.example,0102,bob@acme.example\n')


def make_oidc(factory, workdir):
    """A broker with the OAuth tenant sf, and its stand-in Salesforce (started)."""
    b = factory.broker([('sf', {'consent': 'never'})], start=False)
    op = SfdcStandin(workdir, redirect_uris=[b.pub + '/t/sf/oidc/callback'],
                     users=['alice@acme.example', 'bob@acme.example', 'nobody@acme.example'])
    op.__enter__()
    try:
        b.tenants['sf'].oidc = op.oidc_section()
        b.start()
        import_users(b, 'sf', USERS, b.dir)
    except BaseException:
        op.__exit__(None, None, None)     # never leave the stand-in running
        raise
    return b, op


@pytest.fixture(scope='module')
def oidc(tmp_path_factory, module_factory):
    b, op = make_oidc(module_factory, tmp_path_factory.mktemp('sfdc'))
    yield b, op
    op.__exit__(None, None, None)


def start(b, br):
    """The panel's authorize: the browser is sent to the stand-in's authorize endpoint."""
    v, c = sbb.pkce()
    state = secrets.token_urlsafe(12)
    out = br.authorize('sf', state=state, challenge=c)
    assert out.kind == 'away', (out.kind, out.resp.status_code, out.resp.text[:300])
    return v, state, out.url


def signin(b, op, user='alice@acme.example', choice='allow'):
    br = sbb.Browser(b)
    v, state, url = start(b, br)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    assert q['code_challenge_method'] == ['S256'] and q['scope'] == ['openid id']
    assert len(q['state'][0]) == 43 and len(q['nonce'][0]) == 43
    got = op.sign_in(url, user, choice=choice)
    assert got['location'], got
    out = br.walk(br.s.get(got['location'], allow_redirects=False, timeout=30))
    return br, v, state, out


def audit_since(b, n):
    return b.audit()[n:]


def test_allow_gives_a_panel_token(oidc):
    b, op = oidc
    op.set_modes()
    t = b.tenant('sf')
    br, v, state, out = signin(b, op)
    code, st, err = sbb.code_from(out, t.redirect_uri)
    assert code and st == state and err is None, (out.kind, out.url, out.resp.text[:300])
    r = sbb.Panel(b, 'sf').token(code, v)
    assert r.status_code == 200, r.text
    j = r.json()
    assert j['sfdc_username'] == 'alice@acme.example' and j['extension'] == '0101'
    ev = [a for a in b.audit() if a.get('tenant') == 'sf']
    assert any(a['event'] == 'id_token' and a['outcome'] == 'accepted' for a in ev)


def test_second_signin_uses_the_session(oidc):
    b, op = oidc
    op.set_modes()
    br, v, state, out = signin(b, op)
    t = b.tenant('sf')
    assert sbb.code_from(out, t.redirect_uri)[0]
    # The browser session skips Salesforce.
    v2, c2 = sbb.pkce()
    out2 = br.authorize('sf', state='s2', challenge=c2)
    code, st, _ = sbb.code_from(out2, t.redirect_uri)
    assert code and st == 's2'


@pytest.mark.parametrize('spelling', ['access_denied', 'access-denied'])
def test_deny_tells_the_panel(oidc, spelling):
    b, op = oidc
    op.set_modes()
    br = sbb.Browser(b)
    v, state, url = start(b, br)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    n = len(b.audit())
    r = br.s.get(b.pub + '/t/sf/oidc/callback?' + urllib.parse.urlencode(
        {'error': spelling, 'state': q['state'][0]}), allow_redirects=False, timeout=10)
    out = br.walk(r)
    code, st, err = sbb.code_from(out, b.tenant('sf').redirect_uri)
    assert err == 'access_denied' and st == state and code is None
    new = audit_since(b, n)
    assert any(a['event'] == 'consent' and a['reason'] == 'consent_denied' for a in new), new
    # The state is spent: a second callback with it is refused.
    r = br.s.get(b.pub + '/t/sf/oidc/callback?' + urllib.parse.urlencode(
        {'code': 'x', 'state': q['state'][0]}), allow_redirects=False, timeout=10)
    assert r.status_code == 403 and 'oidc_state' in r.text


def test_deny_at_the_approval_page(oidc):
    b, op = oidc
    op.set_modes()
    op.reset()
    br, v, state, out = signin(b, op, user='bob@acme.example', choice='deny')
    code, st, err = sbb.code_from(out, b.tenant('sf').redirect_uri)
    assert err == 'access_denied' and code is None


@pytest.mark.parametrize('mode,slug', [
    ('bad_signature', 'oidc_sig_invalid'),
    ('alg_none', ('oidc_alg', 'oidc_token_format')),   # "none" has no signature part
    ('hs256_with_public_key', 'oidc_alg'),
    ('jku_header', 'oidc_header'),
    ('wrong_iss', 'oidc_iss'),
    ('wrong_aud', 'oidc_aud'),
    ('expired', 'oidc_expired'),
    ('no_nonce', 'oidc_nonce_missing'),
    ('wrong_nonce', 'oidc_nonce'),
    ('wrong_org', None),
    ('bad_token_signature', 'oidc_token_signature'),
    ('unknown_kid', 'oidc_kid_unknown'),
])
def test_bad_tokens_are_refused(oidc, mode, slug):
    b, op = oidc
    op.set_modes(**{mode: True})
    try:
        n = len(b.audit())
        br, v, state, out = signin(b, op)
        code, _, _ = sbb.code_from(out, b.tenant('sf').redirect_uri)
        assert code is None, f'{mode}: a code was issued'
        assert out.resp.status_code in (403, 502), (mode, out.resp.status_code, out.resp.text[:300])
        new = [a for a in audit_since(b, n) if a.get('outcome') == 'rejected']
        assert new, f'{mode}: no audit record'
        if slug:
            slugs = slug if isinstance(slug, tuple) else (slug,)
            assert any(a['reason'] in slugs for a in new), (mode, [a['reason'] for a in new])
        else:
            assert any(a['reason'] in ('oidc_wrong_org', 'oidc_identity', 'oidc_sub', 'oidc_userinfo_sub')
                       for a in new), (mode, [a['reason'] for a in new])
    finally:
        op.set_modes()


def test_unmapped_user(oidc):
    b, op = oidc
    op.set_modes()
    br, v, state, out = signin(b, op, user='nobody@acme.example')
    assert out.resp.status_code == 403 and 'user_unmapped' in out.resp.text
    assert 'nobody@acme.example' in out.resp.text


def test_state_missing_or_foreign(oidc):
    b, op = oidc
    br = sbb.Browser(b)
    r = br.s.get(b.pub + '/t/sf/oidc/callback?code=x', allow_redirects=False, timeout=10)
    assert r.status_code == 403 and 'oidc_state' in r.text
    # A state started in another browser.
    other = sbb.Browser(b)
    v, state, url = start(b, other)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)
    start(b, br)    # br has its own correlation cookie
    r = br.s.get(b.pub + '/t/sf/oidc/callback?' + urllib.parse.urlencode(
        {'code': 'x', 'state': q['state'][0]}), allow_redirects=False, timeout=10)
    assert r.status_code == 403 and 'oidc_state' in r.text


def test_tenant_is_listed_ready(oidc):
    """The admin API and ssoctl tenants show whether the provider answered (discovery + JWKS)."""
    b, op = oidc
    r = admin(b, 'GET', '/api/v1/tenants/sf')
    assert r.status_code == 200, r.text
    j = r.json()
    assert j['login'] == 'oidc' and j['ready'] == 'ready' and j['issuer'] == op.base
    assert b.get('/readyz').json()['tenant_state']['sf'] == {'login': 'oidc', 'ready': True}
    out = ssoctl(b, 'tenants')
    assert out.returncode == 0 and 'READY' in out.stdout, out.stdout + out.stderr
    row = [l for l in out.stdout.splitlines() if l.startswith('sf ')]
    assert row and 'ready' in row[0] and op.base in row[0], out.stdout


def test_unreachable_provider_is_not_ready(factory, tmp_path):
    """A provider that cannot be reached: that tenant not ready (503 oidc_not_ready, shown in
    ssoctl tenants), the broker and its other tenants unaffected."""
    import socket
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    secret = tmp_path / 'op.secret'
    secret.write_text('x' * 32 + '\n')
    secret.chmod(0o600)
    b = factory.broker([('acme', {}), ('sf', {'consent': 'never', 'oidc': {
        'issuer': f'https://127.0.0.1:{port}', 'client_id': 'c', 'client_secret_file': str(secret),
        'org_id': '00DDM0000000001'}})])
    j = admin(b, 'GET', '/api/v1/tenants/sf').json()
    assert j['ready'] != 'ready', j
    br = sbb.Browser(b)
    v, c = sbb.pkce()
    out = br.authorize('sf', state='s', challenge=c)
    assert out.resp.status_code == 503 and 'oidc_not_ready' in out.resp.text, out.resp.text[:300]
    # The SAML tenant still signs in.
    assert br.get('/t/acme/saml/metadata').status_code == 200
    assert b.get('/healthz').status_code == 200
    # /readyz: the broker stays ready (one tenant's upstream does not take it out of the load
    # balancer) and says, per tenant, which one cannot sign anyone in and why.
    r = b.get('/readyz')
    assert r.status_code == 200, r.text
    st = r.json()['tenant_state']
    assert st['acme'] == {'login': 'saml', 'ready': True}, st
    assert st['sf']['login'] == 'oidc' and st['sf']['ready'] is False, st
    assert st['sf']['reason'] == j['ready'], (st, j)


def test_key_rotation_and_refetch_limit(factory, tmp_path):
    """A token signed with a new key (rotation): the JWKS is fetched again once and the sign-in
    works.  Tokens naming unknown kids afterwards do not make the broker fetch it again within the
    interval (RP_JWKS_MIN_S), whatever an attacker sends."""
    b, op = make_oidc(factory, tmp_path / 'sfdc')
    op.set_modes(rotate_keys=True)
    try:
        before = op.stats()['jwks']
        br, v, state, out = signin(b, op)
        code, _, _ = sbb.code_from(out, b.tenant('sf').redirect_uri)
        assert code, (out.resp.status_code, out.resp.text[:300])
        op.set_modes(unknown_kid=True)
        for _ in range(4):
            br, v, state, out = signin(b, op)
            assert sbb.code_from(out, b.tenant('sf').redirect_uri)[0] is None
        # at most one refetch per worker for the rotation, none for the attacker's kids
        assert op.stats()['jwks'] - before <= 2, op.stats()
    finally:
        op.__exit__(None, None, None)


def test_code_injection_is_refused(oidc):
    """A code obtained in one sign-in, delivered with another sign-in's state (code injection,
    SECURITY-CASES 3): the exchange carries the other sign-in's PKCE verifier, so the provider
    refuses it and no code is issued to the panel."""
    b, op = oidc
    op.set_modes()
    br_a = sbb.Browser(b)
    _, _, url_a = start(b, br_a)
    state_a = urllib.parse.parse_qs(urllib.parse.urlparse(url_a).query)['state'][0]
    br_b = sbb.Browser(b)
    _, _, url_b = start(b, br_b)
    got = op.sign_in(url_b, 'alice@acme.example', choice='allow')
    code_b = urllib.parse.parse_qs(urllib.parse.urlparse(got['location']).query)['code'][0]
    n = len(b.audit())
    r = br_a.s.get(b.pub + '/t/sf/oidc/callback?' + urllib.parse.urlencode(
        {'code': code_b, 'state': state_a}), allow_redirects=False, timeout=30)
    out = br_a.walk(r)
    assert sbb.code_from(out, b.tenant('sf').redirect_uri)[0] is None
    assert out.resp.status_code in (403, 502), out.resp.status_code
    new = [a for a in audit_since(b, n) if a.get('outcome') == 'rejected']
    assert any(a['reason'] in ('oidc_token_response', 'hout_status') for a in new), new


def test_state_is_kept_as_a_digest(oidc):
    """Redis holds the state only as digests: neither the key nor the record carries it."""
    b, op = oidc
    br = sbb.Browser(b)
    _, _, url = start(b, br)
    state = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)['state'][0]
    nonce = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)['nonce'][0]
    keys = b.redis.cli(b.db, 'KEYS', '*authn*').split()
    dump = ' '.join(keys) + ' '.join(b.redis.cli(b.db, 'GET', k) for k in keys)
    assert keys and state not in dump and nonce not in dump
