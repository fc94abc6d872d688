"""The pages a person sees (issue 7 item 5): every error page is titled by its kind, keeps the
status, reason code and request ID of lib/errors.def, and offers only next steps that work; the
user_unmapped page names the Salesforce username received; API clients still get the same JSON."""
import urllib.parse

import pytest
import requests
from lxml import html

from sbtest import env
from sbtest.browser import code_from, pkce
from sbtest.flows import Env, describe
from sbtest.idp import b64
from sbtest.procs import Redis

CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'")


def page(r):
    """(title, h1, reason code, request id, {link id: href}, text) of an HTML answer."""
    assert r.headers.get('Content-Type', '').startswith('text/html'), (r.status_code, r.headers)
    doc = html.fromstring(r.content)
    assert doc.get('lang') == 'en'
    title = doc.findtext('.//title')
    h1 = [e.text_content() for e in doc.iter('h1')]
    assert h1 == [title], f'one heading, the title: {h1} {title!r}'
    codes = [c.text_content() for c in doc.iter('code')]
    text = doc.body.text_content()
    reason = codes[0] if 'Reason code' in text and len(codes) > 1 else None
    links = {a.get('id'): a.get('href') for a in doc.iter('a')}
    return {'title': title, 'reason': reason, 'request_id': codes[-1] if codes else None, 'links': links,
            'text': ' '.join(text.split()), 'doc': doc}


def error_page(r, status, slug, title):
    assert r.status_code == status, (r.status_code, r.text[:300])
    p = page(r)
    assert p['title'] == title, f'{slug}: title {p["title"]!r}, expected {title!r}'
    assert p['reason'] == slug, (p['reason'], p['text'][:300])
    assert p['request_id'] and p['request_id'] == r.headers.get('X-Request-Id'), \
        (p['request_id'], r.headers.get('X-Request-Id'))
    assert r.headers.get('Content-Security-Policy') == CSP
    assert r.headers.get('Cache-Control') == 'no-store'
    for a in p['doc'].iter('a'):
        assert not a.get('href', '').startswith('javascript:')
    for bad in ('<script', 'src=', '<link', '@import'):
        assert bad not in r.text, f'external or active content {bad!r} on a page'
    return p


def panel_links(t, pub):
    """What the links of a page for tenant t must be: initiate_login_uri with iss, the panel's origin."""
    o = urllib.parse.urlsplit(t.redirect_uri)
    return (t.initiate_login_uri + '?' + urllib.parse.urlencode({'iss': pub}), f'{o.scheme}://{o.netloc}/')


def test_not_found(acme):
    b = acme.b
    p = error_page(b.get('/no/such/page'), 404, 'http_no_route', 'Not found')
    assert 'Sign-in refused' not in p['text']
    # /t/<unknown>/... names no tenant of ours: no link can be offered
    p = error_page(b.get('/t/nosuch/consent'), 404, 'tenant_unknown', 'Not found')
    assert p['links'] == {}, p['links']


def test_method_not_allowed(acme):
    b = acme.b
    r = b.get('/t/acme/saml/acs')
    p = error_page(r, 405, 'saml_method', 'Method not allowed')
    assert r.headers.get('Allow') == 'POST'
    si, back = panel_links(b.tenant(), b.pub)
    assert p['links'] == {'signin-again': si, 'back-to-panel': back}, p['links']
    r = b.post('/t/acme/saml/metadata', data={'a': 'b'})
    error_page(r, 405, 'http_method', 'Method not allowed')


def test_bad_request(acme):
    b = acme.b
    p = error_page(b.get('/t/acme/consent?tx=short'), 400, 'http_bad_param', 'Bad request')
    assert 'signin-again' in p['links']
    r = acme.browser().authorize(client_id='nobody')
    p = error_page(r.resp, 400, 'unknown_client', 'Bad request')
    r = acme.browser().authorize(redirect_uri='https://evil.example/cb')
    p = error_page(r.resp, 400, 'invalid_redirect_uri', 'Bad request')
    assert 'evil.example' not in r.resp.text, 'a rejected redirect_uri is never a link'


def test_sign_in_refused(acme):
    """beta refuses IdP-initiated responses; a signed one is a refused sign-in."""
    br = acme.browser()
    out = br.post_acs('beta', b64(acme.idp['beta'].good('beta01@beta.example', None)))
    p = error_page(out.resp, 403, 'saml_unsolicited', 'Sign-in refused')
    assert 'request ID below' in p['text']
    t = acme.b.tenant('beta')
    assert p['links'] == dict(zip(('signin-again', 'back-to-panel'), panel_links(t, acme.b.pub)))


def test_sso_off(acme):
    """off: SSO switched off; "Sign in again" cannot work there, the panel link stays."""
    p = error_page(acme.b.get('/t/off/saml/login'), 403, 'sso_disabled',
                   'Single sign-on is not enabled for this account')
    assert 'account administrator' in p['text']
    assert list(p['links']) == ['back-to-panel'], p['links']


def test_expired_transaction(acme):
    p = error_page(acme.b.get('/t/acme/consent?tx=' + 'A' * 43), 403, 'no_browser_binding',
                   'This sign-in has expired')
    assert 'Sign in again' in p['text']


def test_consent_denied_page(acme):
    """IdP-initiated, then Deny: no redirect_uri to tell, so the page says it."""
    user, _, _ = acme.fresh_user()
    br = acme.browser()
    out = br.post_acs('acme', b64(acme.idp['acme'].good(user, None)))
    assert out.kind == 'form', describe(out)
    out = br.consent(out.resp, 'deny')
    error_page(out.resp, 403, 'access_denied', 'Single sign-on was not allowed')


def test_user_unmapped_names_the_username(acme):
    user = 'nobody.<i>here</i>&co@acme.example'
    r = acme.signin(user)
    out = r['out']
    p = error_page(out.resp, 403, 'user_unmapped', 'Sign-in refused')
    assert user in p['text'], p['text']
    assert '<i>here</i>' not in out.resp.text and '&lt;i&gt;here&lt;/i&gt;&amp;co' in out.resp.text
    assert '8x8 user mapping' in p['text'] and 'sign in again' in p['text']
    si, back = panel_links(acme.b.tenant(), acme.b.pub)
    assert p['links'] == {'signin-again': si, 'back-to-panel': back}


def test_json_answers_unchanged(acme):
    r = acme.b.get('/no/such/page', headers={'Accept': 'application/json'})
    assert r.status_code == 404 and r.headers['Content-Type'].startswith('application/json')
    assert r.json() == {'error': 'http_no_route', 'error_description': 'No such page',
                        'request_id': r.headers['X-Request-Id']}
    r = acme.b.get('/t/off/saml/login', headers={'Accept': 'application/json'})
    assert r.status_code == 403 and r.json()['error'] == 'sso_disabled'


def test_signed_out_links_work(acme):
    r = acme.signin()
    assert r['code'], describe(r['out'])
    br = r['browser']
    lo = br.logout()
    assert lo.resp.status_code == 200
    p = page(lo.resp)
    assert p['title'] == 'Signed out' and p['request_id'] == lo.resp.headers['X-Request-Id']
    si, back = panel_links(acme.b.tenant(), acme.b.pub)
    assert p['links'] == {'signin-again': si, 'back-to-panel': back}, p['links']
    # no browser session: the tenant is not known on a broker of several tenants, so no link
    p = page(acme.browser().logout().resp)
    assert p['title'] == 'Signed out' and p['links'] == {}, p['links']


def test_sign_in_again_by_saml_login(factory):
    """Without initiate_login_uri, "Sign in again" is our SAML login, and it starts one."""
    e = factory.env(tenants=[('acme', {'initiate_login_uri': None})])
    t = e.b.tenant()
    br = e.browser()
    p = page(br.logout().resp)          # one tenant: its links, even without a session
    o = urllib.parse.urlsplit(t.redirect_uri)
    assert p['links'] == {'signin-again': '/t/acme/saml/login', 'back-to-panel': f'{o.scheme}://{o.netloc}/'}
    r = br.get(p['links']['signin-again'])
    assert r.status_code in (302, 303) and r.headers['Location'].startswith(t.idp_sso), \
        (r.status_code, r.headers.get('Location'))
    # and the sign-in it starts completes (ending like an IdP-initiated one: no panel request)
    from sbtest import idp as idpmod
    req = idpmod.parse_redirect(r.headers['Location'])
    out = br.post_acs('acme', b64(e.idp['acme'].good('alice@acme.example', req['id'])), req['relay'])
    out = br.finish(out)
    assert out.resp.status_code == 200 and page(out.resp)['title'] in ('Signed in', 'You are signed in'), \
        describe(out)


def test_service_unavailable(factory, tmp_path):
    rd = Redis(tmp_path / 'redis-pages')
    try:
        b = factory.broker(tenants=[('acme', {})], redis=rd)
        rd.stop()
        assert env.wait_for(lambda: b.get('/readyz').status_code == 503, 10)
        out = Env(b, b.dir, users=False).browser().authorize(challenge=pkce()[1])
        p = error_page(out.resp, 503, 'store_unavailable', 'Service unavailable')
        assert 'try again in a moment' in p['text']
        assert 'signin-again' in p['links']
    finally:
        rd.stop()


def consent_url(signin):
    return next(r.url for r in signin['browser'].history
                if r.request.method == 'GET' and '/consent?tx=' in r.url)


def test_spent_allow_page_says_signed_in(acme):
    """Back to the Allow page after Allow, in the browser that holds the session."""
    user, _, _ = acme.fresh_user()
    r = acme.signin(user)
    assert r['code'], describe(r['out'])
    again = r['browser'].get(consent_url(r))
    p = page(again)
    assert p['title'] == 'You are signed in' and user in p['text'], (again.status_code, p['text'][:300])
    si, _ = panel_links(acme.b.tenant(), acme.b.pub)
    assert p['links'] == {'continue': si}, p['links']
    # another browser (no session) gets the expired page
    error_page(acme.browser().get(consent_url(r)), 403, 'no_browser_binding', 'This sign-in has expired')


def test_acs_repost_says_signed_in(acme):
    user, _, _ = acme.fresh_user()
    r = acme.signin(user)
    assert r['code'], describe(r['out'])
    out = r['browser'].post_acs('acme', r['saml'], r['login'].relay)
    p = page(out.resp)
    assert p['title'] == 'You are signed in' and user in p['text'], (out.resp.status_code, p['text'][:300])
