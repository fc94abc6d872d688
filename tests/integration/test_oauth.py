"""The panel's side: /oauth2/authorize, /oauth2/token, /oauth2/introspect, /oauth2/revoke and
the discovery document (RFC 6749, 7636, 7009, 7662, 8414, 9700)."""
import urllib.parse

import pytest
import requests

from sbtest.browser import code_from, pkce
from sbtest.flows import describe

ALICE = 'alice@acme.example'


def oauth_error(r, status, error):
    assert r.status_code == status, f'HTTP {r.status_code}, expected {status}: {r.text[:200]}'
    assert r.headers.get('Content-Type', '').startswith('application/json'), r.headers.get('Content-Type')
    j = r.json()
    assert j.get('error') == error, j
    assert 'no-store' in r.headers.get('Cache-Control', ''), 'token answers carry Cache-Control: no-store'


@pytest.fixture
def code(acme):
    r = acme.signin(ALICE)
    assert r['code'], describe(r['out'])
    return r


@pytest.mark.parametrize('auth', ['basic', 'post'])
def test_code_life_cycle(acme, auth):
    r = acme.signin(ALICE)
    assert r['code'] and r['state'] == r['expected_state'], describe(r['out'])
    assert len(r['code']) >= 43, 'a code carries at least 256 bits'
    p = acme.panel()
    t = p.token(r['code'], r['verifier'], auth=auth)
    assert t.status_code == 200, t.text
    assert t.headers.get('Content-Type', '').startswith('application/json')
    assert 'no-store' in t.headers.get('Cache-Control', '')
    j = t.json()
    assert j.get('token_type', '').lower() == 'bearer'
    assert isinstance(j.get('expires_in'), int) and j['expires_in'] > 0
    assert len(j.get('access_token', '')) >= 43
    assert j.get('extension') == '0101', 'the first of "0101;0102"'
    assert str(j.get('internal_id')) == '1001'
    assert j.get('sfdc_username', '').lower() == ALICE
    assert j.get('tenant') == 'acme'
    i = p.introspect(j['access_token'])
    assert i.status_code == 200 and i.json().get('active') is True, i.text
    again = p.token(r['code'], r['verifier'], auth=auth)
    oauth_error(again, 400, 'invalid_grant')
    # RFC 6749 4.1.2: a code used twice revokes the token issued for it
    assert p.introspect(j['access_token']).json() == {'active': False}
    assert j['access_token'] not in acme.b.log_text(), 'tokens are never logged'
    assert r['code'] not in acme.b.log_text(), 'codes are never logged'
    assert not any(j['access_token'] in k or r['code'] in k for k in acme.b.keys()), 'stored only as a digest'


def test_wrong_verifier(acme, code):
    oauth_error(acme.panel().token(code['code'], pkce()[0]), 400, 'invalid_grant')


def test_missing_verifier(acme, code):
    r = acme.panel().token(code['code'], None)
    assert r.status_code == 400 and r.json().get('error') in ('invalid_grant', 'invalid_request'), r.text


def test_wrong_redirect_uri(acme, code):
    other = acme.b.tenant().panel + '/sso/acme/other'     # registered, but not the one authorized
    oauth_error(acme.panel().token(code['code'], code['verifier'], redirect_uri=other), 400, 'invalid_grant')


def test_code_of_another_client(acme, code):
    """A code issued to panel-acme, redeemed by panel-beta with beta's valid credentials."""
    beta = acme.b.tenant('beta')
    r = acme.panel().token(code['code'], code['verifier'], client_id=beta.client_id, secret=beta.secret,
                           redirect_uri=acme.b.tenant().redirect_uri)
    assert r.status_code in (400, 401) and r.json().get('error') in ('invalid_grant', 'invalid_client'), r.text
    assert acme.panel().token(code['code'], code['verifier']).status_code in (200, 400)


@pytest.mark.parametrize('how', ['wrong-secret', 'unknown-client', 'no-auth'])
def test_client_authentication_failures(acme, code, how):
    p = acme.panel()
    if how == 'wrong-secret':
        r = p.token(code['code'], code['verifier'], secret='x' * 43)
    elif how == 'unknown-client':
        r = p.token(code['code'], code['verifier'], client_id='nobody', secret='x')
    else:
        r = p.token(code['code'], code['verifier'], auth=None)
    oauth_error(r, 401, 'invalid_client')
    if how != 'no-auth':
        assert 'Basic' in r.headers.get('WWW-Authenticate', ''), 'a 401 to Basic auth names the scheme'


def test_unsupported_grant_type(acme, code):
    oauth_error(acme.panel().token(code['code'], code['verifier'], extra={'grant_type': 'password'}),
                400, 'unsupported_grant_type')


def test_token_get_not_allowed(acme):
    r = acme.b.get('/oauth2/token')
    assert r.status_code in (400, 405)


@pytest.mark.parametrize('variant', ['no-challenge', 'plain', 'no-method'])
def test_pkce_required_at_authorize(acme, variant):
    br = acme.browser()
    v, c = pkce()
    kw = {'no-challenge': dict(challenge=None), 'plain': dict(challenge=v, method='plain'),
          'no-method': dict(challenge=c, method=None)}[variant]
    out = br.authorize(**kw)
    t = acme.b.tenant()
    assert not out.url.startswith(t.idp_sso), f'{variant}: a login was started: {out.url}'
    c0, _, err = code_from(out, t.redirect_uri)
    assert c0 is None, 'never a code'
    if out.kind == 'away':
        assert out.url.split('?')[0] == t.redirect_uri and err in ('invalid_request',), describe(out)
    else:
        assert out.resp.status_code == 400, describe(out)


@pytest.mark.parametrize('uri', ['http://evil.test/cb', '{panel}/sso/acme/callback/x', '{panel}/sso/acme/callback?x=1',
                                 '{panel}/SSO/acme/callback'])
def test_unregistered_redirect_uri(acme, uri):
    t = acme.b.tenant()
    br = acme.browser()
    out = br.authorize(redirect_uri=uri.format(panel=t.panel), challenge=pkce()[1])
    assert out.kind == 'page' and out.resp.status_code == 400, describe(out)
    assert 'Location' not in out.resp.headers
    assert b'<form' not in out.resp.content.lower()


def test_unknown_client_at_authorize(acme):
    out = acme.browser().authorize(client_id='nobody', challenge=pkce()[1])
    assert out.kind == 'page' and out.resp.status_code == 400, describe(out)


def test_response_type_token_refused(acme):
    out = acme.browser().authorize(challenge=pkce()[1], extra={'response_type': 'token'})
    t = acme.b.tenant()
    assert code_from(out, t.redirect_uri)[0] is None and not out.url.startswith(t.idp_sso), describe(out)
    if out.kind == 'away':
        assert 'error=unsupported_response_type' in out.url
    else:
        assert out.resp.status_code == 400


@pytest.mark.parametrize('bad', [{'response_type': 'token'}, {'code_challenge_method': 'plain'},
                                 {'state': 'x' * 600}])
def test_error_redirect_carries_iss(acme, bad):
    """RFC 9207 2: error responses to the redirect_uri carry iss, like the code does; audited."""
    n = acme.audit_len()
    out = acme.browser().authorize(challenge=pkce()[1], extra=bad)
    t = acme.b.tenant()
    assert out.kind == 'away' and out.url.split('?')[0] == t.redirect_uri, describe(out)
    q = urllib.parse.parse_qs(urllib.parse.urlparse(out.url).query)
    assert q.get('error') and q.get('iss') == [acme.b.pub], q
    recs = acme.new_audit(n, 'authorize')
    assert recs and recs[-1].get('outcome') == 'rejected', recs


def test_introspect(acme):
    tok = acme.token_for(ALICE)
    p = acme.panel()
    i = p.introspect(tok)
    assert i.status_code == 200 and i.json().get('active') is True
    assert i.json().get('client_id') in (None, 'panel-acme')
    r = p.introspect(tok, auth=False)
    assert r.status_code == 401
    g = p.introspect('x' * 43)
    assert g.status_code == 200 and g.json() == {'active': False}, g.text
    assert p.introspect('').json() == {'active': False} or p.introspect('').status_code == 400


def test_introspect_by_another_client_is_inactive(acme):
    """T06: a token is bound to the client it was issued to."""
    tok = acme.token_for(ALICE)
    r = acme.panel('beta').introspect(tok)
    assert r.status_code == 200 and r.json().get('active') is False, r.text


def test_revoke(acme):
    tok = acme.token_for(ALICE)
    p = acme.panel()
    assert p.revoke(tok, auth=False).status_code == 401
    assert p.introspect(tok).json().get('active') is True
    assert p.revoke(tok).status_code == 200
    assert p.introspect(tok).json() == {'active': False}
    assert p.revoke(tok).status_code == 200, 'revoking twice is fine (RFC 7009)'
    assert p.revoke('garbage').status_code == 200


def test_token_in_url_not_accepted(acme):
    """T07: ?token= in the URL is never read."""
    tok = acme.token_for(ALICE)
    t = acme.b.tenant()
    r = requests.post(acme.b.pub + '/oauth2/introspect?token=' + tok, auth=(t.client_id, t.secret), timeout=10)
    assert r.status_code == 400 or (r.status_code == 200 and r.json().get('active') is False), r.text
    r = requests.post(acme.b.pub + '/oauth2/revoke?token=' + tok, auth=(t.client_id, t.secret), timeout=10)
    assert acme.panel().introspect(tok).json().get('active') is True, 'a token in the URL revoked it'


def test_discovery_document(acme):
    r = acme.b.get('/.well-known/oauth-authorization-server')
    assert r.status_code == 200 and r.headers.get('Content-Type', '').startswith('application/json')
    j = r.json()
    pub = acme.b.pub
    assert j['issuer'] == pub
    assert j['authorization_endpoint'] == pub + '/oauth2/authorize'
    assert j['token_endpoint'] == pub + '/oauth2/token'
    assert j['introspection_endpoint'] == pub + '/oauth2/introspect'
    assert j['revocation_endpoint'] == pub + '/oauth2/revoke'
    assert j['code_challenge_methods_supported'] == ['S256']
    assert j.get('response_types_supported') == ['code']
    assert 'authorization_code' in j.get('grant_types_supported', ['authorization_code'])
    assert set(j.get('token_endpoint_auth_methods_supported', [])) >= {'client_secret_basic', 'client_secret_post'}


def test_json_error_answer_for_browser_errors(acme):
    """Error pages answer JSON on request: {"error": slug, "error_description", "request_id"}."""
    r = acme.b.get('/oauth2/authorize?client_id=nobody&response_type=code', headers={'Accept': 'application/json'})
    assert r.status_code == 400
    j = r.json()
    assert j.get('error') in ('unknown_client', 'invalid_request', 'invalid_redirect_uri', 'invalid_pkce') \
        and j.get('error_description') and j.get('request_id'), j
