"""The stand-in Salesforce authorization server itself (demo/sfdc_oauth.py): what the broker's
OIDC tests rely on.  No broker here: a requests client plays the relying party, and authlib
checks what the stand-in signs.

Run:  /usr/bin/python3 -m pytest -q tests/integration/test_sfdc_standin.py"""
import concurrent.futures
import hashlib
import hmac
import json
import os
import re
import secrets
import time

import pytest
import requests
from authlib.common.encoding import urlsafe_b64decode, urlsafe_b64encode
from authlib.jose import JsonWebKey, jwt
from authlib.jose.errors import BadSignatureError
from authlib.oidc.core.util import create_half_hash

from sbtest.sfdc import OTHER_ORG, SfdcStandin, pkce, sfid18, token_signature

CB = 'https://127.0.0.1:9/t/acme/oidc/callback'
ALICE = 'alice@demo.example'


@pytest.fixture(scope='module')
def op(tmp_path_factory):
    s = SfdcStandin(tmp_path_factory.mktemp('sfdc'), redirect_uris=[CB], users=['carol@acme.example'])
    s.start()
    yield s
    rc = s.stop()
    assert rc in (0, -15), f'stand-in exit status {rc}'


@pytest.fixture(autouse=True)
def fresh(op):
    op.reset()
    yield


def b64json(part):
    return json.loads(urlsafe_b64decode(part.encode() + b'=' * (-len(part) % 4)))


def parts(tok):
    h, p, s = tok.split('.')
    return b64json(h), b64json(p), s


def flow(op, user=ALICE, choice='allow', session=None, **kw):
    """authorize -> login -> Allow/Deny; returns (sign_in result, params of the redirect, verifier, nonce, state)."""
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    out = op.sign_in(op.authorize_url(state=state, nonce=nonce, challenge=challenge, **kw), user,
                     choice=choice, session=session)
    params = op.redirect_params(out['location']) if out['location'] else {}
    return out, params, verifier, nonce, state


def tokens(op, user=ALICE, auth='basic', **kw):
    out, params, verifier, nonce, state = flow(op, user, **kw)
    assert 'code' in params, out
    r = op.redeem(params['code'], verifier, auth=auth)
    return r, nonce


def good_tokens(op, **kw):
    r, nonce = tokens(op, **kw)
    assert r.status_code == 200, r.text
    return r.json(), nonce


def verify_id_token(op, tok, nonce, access_token):
    """The checks a relying party makes, with authlib; returns the claims."""
    keys = JsonWebKey.import_key_set(op.jwks())
    claims = jwt.decode(tok, keys, claims_options={
        'iss': {'essential': True, 'value': op.issuer},
        'aud': {'essential': True, 'value': op.client_id},
        'sub': {'essential': True}, 'exp': {'essential': True}, 'iat': {'essential': True},
        'nonce': {'essential': True, 'value': nonce}})
    claims.validate(leeway=5)
    assert claims['at_hash'] == create_half_hash(access_token, 'RS256').decode()
    return claims


# ---------------------------------------------------------------- documents

def test_discovery_is_salesforce_shaped_and_all_https(op):
    d = op.get('/.well-known/openid-configuration').json()
    assert d['issuer'] == op.issuer and op.issuer.startswith('https://127.0.0.1:')
    for k in ('authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'revocation_endpoint'):
        assert d[k].startswith(op.issuer + '/'), k
    assert d['authorization_endpoint'].endswith('/services/oauth2/authorize')
    assert d['jwks_uri'] == op.issuer + '/id/keys'
    assert d['id_token_signing_alg_values_supported'] == ['RS256']
    assert d['code_challenge_methods_supported'] == ['S256']
    assert set(d['token_endpoint_auth_methods_supported']) == {'client_secret_basic', 'client_secret_post'}


def test_jwks_rsa2048_with_kid(op):
    ks = op.jwks()['keys']
    assert len(ks) >= 1
    for k in ks:
        assert k['kty'] == 'RSA' and k['alg'] == 'RS256' and k['use'] == 'sig' and k['kid']
        assert 'd' not in k and 'p' not in k
        assert len(urlsafe_b64decode(k['n'].encode() + b'==')) * 8 == 2048


def test_tls_needs_the_demo_ca_and_names_localhost(op):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(op.url('/healthz'), timeout=5)          # the system store does not know the demo CA
    port = op.base.rsplit(':', 1)[1]
    assert requests.get(f'https://localhost:{port}/healthz', verify=op.ca_file, timeout=5).status_code == 200


# ---------------------------------------------------------------- the happy path

def test_login_allow_code_token_userinfo_identity(op):
    out, params, verifier, nonce, state = flow(op)
    assert out['steps'] == ['login', 'approval']
    assert params['state'] == state and len(params['code']) >= 43
    assert out['location'].startswith(CB + '?')
    t0 = time.time()
    r = op.redeem(params['code'], verifier)
    assert r.status_code == 200, r.text
    assert r.headers['Cache-Control'] == 'no-store'
    t = r.json()
    assert set(t) == {'access_token', 'signature', 'scope', 'id_token', 'instance_url', 'id', 'token_type',
                      'issued_at'}
    assert 'refresh_token' not in t and t['token_type'] == 'Bearer' and t['instance_url'] == op.issuer
    assert t['scope'] == 'openid id'
    assert abs(int(t['issued_at']) - t0 * 1000) < 10000
    assert t['signature'] == token_signature(t['id'], t['issued_at'], op.client_secret)
    m = re.fullmatch(re.escape(op.issuer) + r'/id/([A-Za-z0-9]{18})/([A-Za-z0-9]{18})', t['id'])
    assert m and m.group(1) == op.org_id18 and m.group(2).startswith('005')
    assert m.group(2) == sfid18(m.group(2)[:15])
    hdr = parts(t['id_token'])[0]
    assert hdr['alg'] == 'RS256' and hdr['kid'] in [k['kid'] for k in op.jwks()['keys']]
    assert not {'jku', 'jwk', 'x5u', 'x5c'} & set(hdr)
    c = verify_id_token(op, t['id_token'], nonce, t['access_token'])
    assert c['sub'] == t['id'] and c['aud'] == op.client_id
    assert 'preferred_username' not in c          # only with the profile scope, as Salesforce
    ui = op.get('/services/oauth2/userinfo', headers={'Authorization': 'Bearer ' + t['access_token']})
    assert ui.status_code == 200
    u = ui.json()
    assert u['sub'] == t['id'] and u['preferred_username'] == ALICE
    assert u['organization_id'] == op.org_id18 and u['user_id'] == m.group(2)
    ident = op.http.get(t['id'], headers={'Authorization': 'Bearer ' + t['access_token']}, timeout=10)
    assert ident.status_code == 200 and ident.json()['username'] == ALICE and ident.json()['id'] == t['id']


def test_profile_scope_puts_the_username_in_the_id_token(op):
    t, nonce = good_tokens(op, scope='openid id profile')
    assert verify_id_token(op, t['id_token'], nonce, t['access_token'])['preferred_username'] == ALICE


def test_second_authorization_is_silent(op):
    out, params, *_ = flow(op)
    assert out['steps'] == ['login', 'approval'] and 'code' in params
    again, params2, *_ = flow(op, session=out['session'])
    assert again['steps'] == [] and again['status'] == 302 and 'code' in params2
    assert op.stats()['consent_pages'] == 1


def test_prompt_login_and_consent_ask_again(op):
    out, params, *_ = flow(op)
    again, p2, *_ = flow(op, session=out['session'], prompt='login consent')
    assert again['steps'] == ['login', 'approval'] and 'code' in p2


def test_client_secret_post(op):
    r, _ = tokens(op, auth='post')
    assert r.status_code == 200, r.text


def test_users_added_at_start_and_by_control(op):
    r, _ = tokens(op, user='carol@acme.example')
    assert r.status_code == 200
    op.add_users(['dave@acme.example'])
    r, _ = tokens(op, user='dave@acme.example')
    assert r.status_code == 200


def test_wrong_password_shows_the_form_again(op):
    out = op.sign_in(op.authorize_url(), ALICE, password='nope')
    assert out['status'] == 401 and 'id="Login"' in out['page'] and out['location'] is None


# ---------------------------------------------------------------- refusals

def test_deny_redirects_with_access_denied_and_state(op):
    out, params, verifier, nonce, state = flow(op, choice='deny')
    assert out['steps'] == ['login', 'approval']
    assert params['error'] == 'access_denied' and params['state'] == state and 'code' not in params
    assert op.stats()['denied'] == 1
    again, p2, *_ = flow(op, session=out['session'], choice=None)   # a Deny is not remembered
    assert again['steps'] == ['approval']


def test_pkce_is_required_and_s256_only(op):
    out = op.sign_in(op.authorize_url(challenge=False), ALICE)
    p = op.redirect_params(out['location'])
    assert p['error'] == 'invalid_request' and 'code' not in p and out['steps'] == []
    out = op.sign_in(op.authorize_url(code_challenge_method='plain', challenge='x' * 43), ALICE)
    assert op.redirect_params(out['location'])['error'] == 'invalid_request'


def test_pkce_wrong_or_missing_verifier_refused_and_the_code_spent(op):
    out, params, verifier, *_ = flow(op)
    r = op.redeem(params['code'], pkce()[0])
    assert r.status_code == 400 and r.json()['error'] == 'invalid_grant'
    assert op.redeem(params['code'], verifier).json()['error'] == 'invalid_grant'
    out, params, verifier, *_ = flow(op, session=out['session'])
    r = op.redeem(params['code'], '')
    assert r.status_code == 400 and r.json()['error'] in ('invalid_request', 'invalid_grant')


def test_wrong_client_secret(op):
    out, params, verifier, *_ = flow(op)
    r = op.redeem(params['code'], verifier, secret='wrong')
    assert r.status_code == 401 and r.json()['error'] == 'invalid_client'
    r = op.redeem(params['code'], verifier, secret='wrong', auth='post')
    assert r.status_code in (400, 401) and r.json()['error'] == 'invalid_client'


def test_code_works_once_and_a_replay_revokes_its_token(op):
    out, params, verifier, *_ = flow(op)
    r = op.redeem(params['code'], verifier)
    assert r.status_code == 200
    at = r.json()['access_token']
    r2 = op.redeem(params['code'], verifier)
    assert r2.status_code == 400 and r2.json()['error'] == 'invalid_grant'
    assert op.get('/services/oauth2/userinfo', headers={'Authorization': 'Bearer ' + at}).status_code == 401


def test_redirect_uri_exact_match_and_openid_scope(op):
    out = op.sign_in(op.authorize_url(redirect_uri=CB + '/'), ALICE)
    assert out['status'] == 400 and out['location'] is None and out['steps'] == []
    out = op.sign_in(op.authorize_url(scope='id api'), ALICE)
    assert op.redirect_params(out['location'])['error'] == 'invalid_scope'
    out = op.sign_in(op.authorize_url(client_id='someone-else'), ALICE)
    assert out['status'] == 400 and out['location'] is None


def test_userinfo_needs_a_bearer_token(op):
    assert op.get('/services/oauth2/userinfo').status_code == 401
    r = op.get('/services/oauth2/userinfo', headers={'Authorization': 'Bearer 00Dnothing!x'})
    assert r.status_code == 401 and 'invalid_token' in r.headers.get('WWW-Authenticate', '')


# ---------------------------------------------------------------- misbehaving modes

def id_token_with(op, **modes):
    op.set_modes(**modes)
    t, nonce = good_tokens(op)
    return t, nonce, parts(t['id_token'])


def test_mode_bad_signature(op):
    t, nonce, (h, c, s) = id_token_with(op, bad_signature=True)
    assert h['kid'] in [k['kid'] for k in op.jwks()['keys']]
    with pytest.raises(BadSignatureError):
        verify_id_token(op, t['id_token'], nonce, t['access_token'])


def test_mode_unknown_kid(op):
    t, nonce, (h, c, s) = id_token_with(op, unknown_kid=True)
    assert h['alg'] == 'RS256' and h['kid'] not in [k['kid'] for k in op.jwks()['keys']]


def test_mode_alg_none(op):
    t, nonce, (h, c, s) = id_token_with(op, alg_none=True)
    assert h['alg'] == 'none' and s == '' and t['id_token'].endswith('.')


def test_mode_hs256_with_public_key(op):
    t, nonce, (h, c, s) = id_token_with(op, hs256_with_public_key=True)
    assert h['alg'] == 'HS256'
    pem = JsonWebKey.import_key([k for k in op.jwks()['keys'] if k['kid'] == h['kid']][0]).as_pem(is_private=False)
    head, payload, _ = t['id_token'].split('.')
    mac = hmac.new(pem, f'{head}.{payload}'.encode(), hashlib.sha256).digest()
    assert urlsafe_b64encode(mac).decode() == s           # keyed with the published public key


def test_mode_jku_header(op):
    t, nonce, (h, c, s) = id_token_with(op, jku_header=True)
    assert h['jku'] == op.issuer + '/_test/evil/keys'
    assert h['kid'] not in [k['kid'] for k in op.jwks()['keys']]
    evil = op.get('/_test/evil/keys').json()
    assert jwt.decode(t['id_token'], JsonWebKey.import_key_set(evil))['sub'] == t['id']
    assert op.stats()['evil_jwks'] == 1


@pytest.mark.parametrize('mode,check', [
    ('wrong_iss', lambda op, c, t, n: c['iss'] != op.issuer),
    ('wrong_aud', lambda op, c, t, n: c['aud'] != op.client_id),
    ('extra_aud', lambda op, c, t, n: c['aud'][0] == op.client_id and len(c['aud']) == 2 and 'azp' not in c),
    ('aud_array', lambda op, c, t, n: c['aud'] == [op.client_id]),
    ('expired', lambda op, c, t, n: c['exp'] < time.time() - 60 and c['iat'] < c['exp']),
    ('no_nonce', lambda op, c, t, n: 'nonce' not in c),
    ('wrong_nonce', lambda op, c, t, n: c['nonce'] != n),
    ('wrong_at_hash', lambda op, c, t, n: c['at_hash'] != create_half_hash(t['access_token'], 'RS256').decode()),
])
def test_mode_claims(op, mode, check):
    t, nonce, (h, c, s) = id_token_with(op, **{mode: True})
    assert check(op, c, t, nonce), c
    keys = JsonWebKey.import_key_set(op.jwks())
    jwt.decode(t['id_token'], keys)          # still properly signed: only the claim is wrong


def test_mode_claims_and_header_patches(op):
    t, nonce, (h, c, s) = id_token_with(op, claims={'iss': None, 'azp': 'x'}, header={'typ': None, 'cty': 'JWT'})
    assert 'iss' not in c and c['azp'] == 'x' and 'typ' not in h and h['cty'] == 'JWT'


def test_mode_wrong_org_is_consistent(op):
    t, nonce, (h, c, s) = id_token_with(op, wrong_org=True)
    assert f'/id/{sfid18(OTHER_ORG)}/' in t['id'] and c['sub'] == t['id']
    assert t['signature'] == token_signature(t['id'], t['issued_at'], op.client_secret)
    verify_id_token(op, t['id_token'], nonce, t['access_token'])
    u = op.get('/services/oauth2/userinfo', headers={'Authorization': 'Bearer ' + t['access_token']}).json()
    assert u['organization_id'] == sfid18(OTHER_ORG) and u['sub'] == t['id']


def test_mode_identity_other_user_and_userinfo_wrong_sub(op):
    t, nonce, (h, c, s) = id_token_with(op, identity_other_user=True)
    assert t['id'] != c['sub'] and t['signature'] == token_signature(t['id'], t['issued_at'], op.client_secret)
    t, nonce, (h, c, s) = id_token_with(op, userinfo_wrong_sub=True)
    u = op.get('/services/oauth2/userinfo', headers={'Authorization': 'Bearer ' + t['access_token']}).json()
    assert u['sub'] != c['sub'] and u['preferred_username'] != ALICE


def test_mode_short_ids(op):
    t, nonce, (h, c, s) = id_token_with(op, short_ids=True)
    assert t['id'].endswith('/id/' + op.org_id + '/' + t['id'].rsplit('/', 1)[1]) and len(t['id'].rsplit('/', 1)[1]) == 15


def test_mode_bad_token_signature(op):
    t, nonce, _ = id_token_with(op, bad_token_signature=True)
    assert t['signature'] != token_signature(t['id'], t['issued_at'], op.client_secret)
    verify_id_token(op, t['id_token'], nonce, t['access_token'])


def test_mode_token_delay_and_status(op):
    op.set_modes(token_delay_ms=1500)
    out, params, verifier, *_ = flow(op)
    t0 = time.monotonic()
    assert op.redeem(params['code'], verifier).status_code == 200
    assert time.monotonic() - t0 >= 1.4
    op.set_modes(token_status=503)
    out, params, verifier, *_ = flow(op, session=out['session'])
    assert op.redeem(params['code'], verifier).status_code == 503


def test_mode_rotate_keys_and_key_control(op):
    before = op.jwks()['keys']
    t1, _ = good_tokens(op)
    old_kid = parts(t1['id_token'])[0]['kid']
    st = op.set_modes(rotate_keys=True)['keys']
    assert st['active'] != old_kid and old_kid in st['kids']
    t2, nonce = good_tokens(op)
    new_kid = parts(t2['id_token'])[0]['kid']
    assert new_kid == st['active'] and new_kid not in [k['kid'] for k in before]
    verify_id_token(op, t2['id_token'], nonce, t2['access_token'])     # the JWKS publishes it
    added = op.keys('add')
    assert added['kid'] in added['kids'] and added['active'] == new_kid   # published, not signing
    op.keys('activate', added['kid'])
    assert op.keys('remove', old_kid)['kids'].count(old_kid) == 0
    with pytest.raises(AssertionError):
        op.keys('remove', added['kid'])          # the active key stays


@pytest.mark.parametrize('code', ['access_denied', 'access-denied', 'server_error'])
def test_mode_error_on_the_authorize_redirect(op, code):
    op.set_modes(error=code, error_description='end-user denied authorization')
    state = secrets.token_urlsafe(8)
    out = op.sign_in(op.authorize_url(state=state), ALICE)
    p = op.redirect_params(out['location'])
    assert out['steps'] == [] and p == {'error': code, 'error_description': 'end-user denied authorization',
                                        'state': state}


def test_modes_for_discovery_and_jwks(op):
    op.set_modes(discovery_http=True)
    assert op.get('/.well-known/openid-configuration').json()['token_endpoint'].startswith('http://')
    op.set_modes(discovery_status=500, jwks_status=503)
    assert op.get('/.well-known/openid-configuration').status_code == 500
    assert op.get('/id/keys').status_code == 503


def test_unknown_or_mistyped_mode_refused(op):
    for body in ({'no_such_mode': True}, {'token_delay_ms': 'slow'}, {'token_delay_ms': True}, ['x']):
        r = op.post('/_test/mode', json=body)
        assert r.status_code == 400, body
    r = op.post('/_test/mode', data='{}', headers={'Content-Type': 'text/plain'})
    assert r.status_code == 400                      # no cross-site form can drive the control
    assert op.get('/_test/mode').json() == {'modes': {}}


def test_stats_count_jwks_fetches(op):
    for _ in range(3):
        op.jwks()
    op.get('/.well-known/openid-configuration')
    s = op.stats()
    assert s['jwks'] == 3 and s['discovery'] == 1


def test_200_concurrent_token_calls_with_a_delay(op):
    """A thread per connection, the TLS handshake in it: 200 delayed answers overlap."""
    op.set_modes(token_delay_ms=1000)

    def call(_):
        r = op.session().post(op.url('/services/oauth2/token'), auth=(op.client_id, op.client_secret), timeout=60,
                   data={'grant_type': 'authorization_code', 'code': 'nope', 'redirect_uri': CB,
                         'code_verifier': 'v' * 43})
        return r.status_code
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(200) as ex:
        codes = list(ex.map(call, range(200)))
    took = time.monotonic() - t0
    assert codes == [400] * 200
    assert took < 15, f'200 calls of 1 s took {took:.1f} s: not concurrent'
    assert op.stats()['token'] == 200


def test_the_log_has_no_secret_code_or_token(op):
    out, params, verifier, *_ = flow(op)
    t = op.redeem(params['code'], verifier).json()
    log = op.log_text()
    for secret in (params['code'], t['access_token'], t['id_token'], op.client_secret, verifier,
                   params['state'], t['signature']):
        assert secret not in log
    assert 'token issued' in log


# ---------------------------------------------------------------- command line

def test_modes_from_the_command_line_and_no_control(tmp_path):
    with SfdcStandin(tmp_path, redirect_uris=[CB], test_control=False,
                     modes=['wrong_iss=https://evil.example', 'token_delay_ms=10']) as s:
        assert s.get('/_test/mode').status_code == 404
        assert s.post('/_test/mode', json={}).status_code == 404
        assert s.get('/_stats').status_code == 200
        out, params, verifier, nonce, state = flow(s)
        t = s.redeem(params['code'], verifier).json()
        assert parts(t['id_token'])[1]['iss'] == 'https://evil.example'
        pid = s.pid
        assert os.path.exists(f'/proc/{pid}')
    assert not os.path.exists(f'/proc/{pid}') or open(f'/proc/{pid}/stat').read().split()[2] == 'Z'


def test_bad_command_lines_refused(tmp_path):
    s = SfdcStandin(tmp_path, redirect_uris=[CB], modes=['no_such_mode'])
    with pytest.raises(RuntimeError):
        s.start(timeout=10)
    assert 'unknown mode' in s.log_text()


def test_prompt_none_answers_without_a_page(op):
    state = secrets.token_urlsafe(8)
    out = op.sign_in(op.authorize_url(state=state, prompt='none'), ALICE)
    p = op.redirect_params(out['location'])
    assert p['error'] == 'login_required' and p['state'] == state and out['steps'] == []
    first, *_ = flow(op, choice=None)                   # signed in, not yet approved
    out = op.sign_in(op.authorize_url(state=state, prompt='none'), ALICE, session=first['session'])
    p = op.redirect_params(out['location'])
    assert p['error'] == 'consent_required' and p['state'] == state and out['steps'] == []


def test_stats_start_at_zero(op):
    s = op.stats()
    assert s['jwks'] == 0 and s['token'] == 0 and s['evil_jwks'] == 0 and s['consent_pages'] == 0
