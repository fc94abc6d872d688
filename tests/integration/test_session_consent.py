"""Browser session ("sign in once"), logout, the Allow page (consent policies, Deny, CSRF,
clickjacking headers) and cookie attributes."""
import pytest
from lxml import html

from sbtest.browser import (CORR_COOKIE, SESSION_COOKIE, broker_cookie, code_from, is_deletion,
                            parse_set_cookie, pkce, set_cookies)
from sbtest.flows import describe
from sbtest.idp import b64


def session_cookies(signin):
    """Cookies set (not deleted) by the ACS answer and the pages after it."""
    h = signin['browser'].history
    acs = next(i for i, r in enumerate(h) if r.request.method == 'POST' and '/saml/acs' in r.url)
    return [parse_set_cookie(c) for resp in h[acs:] for c in set_cookies(resp) if not is_deletion(c)]


def test_sign_in_once_then_logout(acme):
    user, _, _ = acme.fresh_user()
    r = acme.signin(user)
    assert r['code'], describe(r['out'])
    br, t = r['browser'], acme.b.tenant()
    v, c = pkce()
    out = br.authorize(state='again', challenge=c)
    code, state, _ = code_from(out, t.redirect_uri)
    assert code and state == 'again', f'second authorize in the same browser: {describe(out)}'
    assert acme.panel().token(code, v).status_code == 200
    lo = br.logout()
    assert lo.resp.status_code in (200, 302, 303) and lo.resp.status_code < 400, describe(lo)
    recs = [x for x in acme.b.audit() if x.get('event') == 'logout']
    assert recs, 'logout is audited'
    out = br.authorize(challenge=pkce()[1])
    assert out.kind == 'away' and out.url.startswith(t.idp_sso), f'after /logout: {describe(out)}'


def test_consent_first_use_remembered(acme):
    user, _, _ = acme.fresh_user()
    first = acme.signin(user)
    assert first['code']
    br = acme.browser()            # a new browser: the IdP again, but no Allow page
    login = br.start_login()
    out = br.post_acs('acme', b64(acme.idp['acme'].good(user, login.rid)), login.relay)
    assert out.kind == 'away' and code_from(out, acme.b.tenant().redirect_uri)[0], \
        f'first_use: the second sign-in must not ask again: {describe(out)}'


def test_consent_never(acme):
    """beta has consent = never."""
    br = acme.browser()
    login = br.start_login('beta')
    out = br.post_acs('beta', b64(acme.idp['beta'].good('beta01@beta.example', login.rid)), login.relay)
    assert out.kind == 'away' and code_from(out, acme.b.tenant('beta').redirect_uri)[0], describe(out)


def test_consent_always(factory):
    e = factory.env(tenants=[('acme', {'consent': 'always'})])
    br = e.browser()
    login = br.start_login()
    out = br.post_acs('acme', b64(e.idp['acme'].good('alice@acme.example', login.rid)), login.relay)
    assert out.kind == 'form', describe(out)
    out = br.consent(out.resp, 'allow')
    assert code_from(out, e.b.tenant().redirect_uri)[0], describe(out)
    again = br.authorize(challenge=pkce()[1])
    assert again.kind == 'form', f'consent = always asks on every authorization: {describe(again)}'


def test_deny(acme):
    user, _, _ = acme.fresh_user()
    br = acme.browser()
    login = br.start_login()
    out = br.post_acs('acme', b64(acme.idp['acme'].good(user, login.rid)), login.relay)
    assert out.kind == 'form', describe(out)
    n = acme.audit_len()
    out = br.consent(out.resp, 'deny')
    code, state, err = code_from(out, acme.b.tenant().redirect_uri)
    assert code is None and err == 'access_denied' and state == login.state, describe(out)
    recs = acme.new_audit(n, 'consent')
    assert recs and recs[-1].get('outcome') == 'rejected', recs


def _at_consent(acme):
    user, _, _ = acme.fresh_user()
    br = acme.browser()
    login = br.start_login()
    out = br.post_acs('acme', b64(acme.idp['acme'].good(user, login.rid)), login.relay)
    assert out.kind == 'form', describe(out)
    return br, out


def test_consent_page_shape_and_headers(acme):
    br, out = _at_consent(acme)
    r = out.resp
    csp = r.headers.get('Content-Security-Policy', '')
    assert "frame-ancestors 'none'" in csp, csp
    assert r.headers.get('X-Frame-Options', '').upper() == 'DENY'
    assert 'no-store' in r.headers.get('Cache-Control', '')
    doc = html.fromstring(r.content)
    f = doc.forms[0]
    assert f.method.upper() == 'POST' and f.action.split('?')[0].endswith('/t/acme/consent'), (f.method, f.action)
    hidden = {i.name for i in f.inputs if i.get('type') == 'hidden'}
    assert {'tx', 'csrf'} <= hidden, hidden
    buttons = {(e.get('name'), e.get('value')) for e in f.xpath('.//button|.//input[@type="submit"]')}
    assert {('decision', 'allow'), ('decision', 'deny')} <= buttons, buttons


def test_consent_page_lets_the_form_reach_the_panel(acme):
    """CSP form-action also governs the redirect after the POST (Chromium enforces it):
    the page must list the panel's origin, and keep no other."""
    br, out = _at_consent(acme)
    csp = out.resp.headers.get('Content-Security-Policy', '')
    fa = [d.strip() for d in csp.split(';') if d.strip().startswith('form-action')]
    assert fa, csp
    panel = '/'.join(acme.b.tenant().redirect_uri.split('/')[:3])
    assert fa[0].split()[1:] == ["'self'", panel], fa
    assert out.resp.headers.get('Referrer-Policy') == 'same-origin'


def test_consent_same_origin_with_null_origin(acme):
    """A same-origin form POST may carry Origin: null (privacy settings, no-referrer
    pages); Sec-Fetch-Site, which a page cannot forge, decides."""
    br, out = _at_consent(acme)
    res = br.consent(out.resp, 'allow', headers={'Origin': 'null', 'Sec-Fetch-Site': 'same-origin', 'Referer': None})
    assert code_from(res, acme.b.tenant().redirect_uri)[0], describe(res)


def test_consent_null_origin_without_fetch_metadata_is_refused(acme):
    br, out = _at_consent(acme)
    res = br.consent(out.resp, 'allow', headers={'Origin': 'null', 'Sec-Fetch-Site': None, 'Referer': None})
    assert res.chain[0].status_code == 403, describe(res)


@pytest.mark.parametrize('attack', ['missing-token', 'wrong-token', 'sec-fetch-cross-site', 'evil-origin'])
def test_consent_csrf(acme, attack):
    br, out = _at_consent(acme)
    n = acme.audit_len()
    keys = acme.b.keys()
    fields, headers = None, {}
    if attack == 'missing-token':
        fields = lambda d: {k: v for k, v in d.items() if k != 'csrf'}
    elif attack == 'wrong-token':
        fields = lambda d: dict(d, csrf='A' * len(d.get('csrf') or 'x' * 43))
    elif attack == 'sec-fetch-cross-site':
        headers = {'Sec-Fetch-Site': 'cross-site', 'Origin': None, 'Referer': None}
    else:
        headers = {'Origin': 'https://evil.test', 'Sec-Fetch-Site': None, 'Referer': None}
    res = br.consent(out.resp, 'allow', headers=headers, fields=fields)
    assert res.chain[0].status_code == 403, f'{attack}: {describe(res)}'
    assert code_from(res, acme.b.tenant().redirect_uri)[0] is None
    assert not [c for resp in res.chain for c in set_cookies(resp) if not is_deletion(c)]
    assert not {k for k in acme.b.keys() - keys if 'audit' not in k}, 'no new state after a refused POST'


def test_consent_tx_of_another_browser(acme):
    br, out = _at_consent(acme)
    other, _ = _at_consent(acme)
    form = br.consent_form(out.resp)
    r = other.s.post(form['action'], data=dict(form['fields'], decision='allow'),
                     headers={'Origin': acme.b.pub, 'Sec-Fetch-Site': 'same-origin'}, allow_redirects=False, timeout=10)
    assert r.status_code == 403 and 'code=' not in r.headers.get('Location', ''), r.status_code


def test_session_cookie_attributes(acme):
    user, _, _ = acme.fresh_user()
    r = acme.signin(user)
    assert r['code']
    cookies = session_cookies(r)
    assert cookies, 'no session cookie set on sign-in'
    for name, value, attrs in cookies:
        assert 'httponly' in attrs, name
        assert attrs.get('samesite', '').lower() in ('lax', 'strict'), (name, attrs)
        assert 'domain' not in attrs
        assert len(value) >= 43, 'at least 256 bits'


def test_session_cookie_secure_over_tls(factory):
    """Over https every cookie is Secure (the loopback-http relaxation does not apply)."""
    e = factory.env(tenants=[('acme', {})], tls=True)
    r = e.signin('alice@acme.example')
    assert r['code'], describe(r['out'])
    all_cookies = [parse_set_cookie(c) for resp in r['browser'].history for c in set_cookies(resp)]
    assert all_cookies
    for name, _, attrs in all_cookies:
        assert 'secure' in attrs, f'{name}: not Secure over https: {attrs}'


def test_session_fixation(acme):
    """T10: a cookie value planted before sign-in is never adopted."""
    user, _, _ = acme.fresh_user()
    r = acme.signin(user)
    names = {n for n, _, _ in session_cookies(r)}
    assert names
    br = acme.browser()
    for n in names:
        br.s.cookies.set(n, 'F' * 43, domain='127.0.0.1', path='/')
    r2 = acme.signin(acme.fresh_user()[0], browser=br)
    assert r2['code'], describe(r2['out'])
    for n, v, _ in session_cookies(r2):
        assert v != 'F' * 43


def _set_by(resp):
    return {n: (v, a) for n, v, a in (parse_set_cookie(c) for c in set_cookies(resp))}


def test_correlation_cookie_is_minted_never_adopted(acme):
    """Issue 6: an attacker-chosen ssob_rq is never set back, so it cannot bind an AuthnRequest;
    a response for the attacker's request posted with that value fails the InResponseTo binding."""
    name = broker_cookie(acme.b, CORR_COOKIE)
    chosen = 'A' * 43
    attacker = acme.browser()
    attacker.s.cookies.set(name, chosen, domain='127.0.0.1', path='/')
    login = attacker.start_login()
    got = _set_by(login.outcome.chain[0])
    assert name in got and got[name][0] not in ('', chosen), f'the chosen value was adopted: {got}'
    assert len(got[name][0]) >= 43
    victim = acme.browser()
    victim.s.cookies.set(name, chosen, domain='127.0.0.1', path='/')
    snap = acme.snapshot()
    out = victim.post_acs('acme', b64(acme.idp['acme'].good(acme.fresh_user()[0], login.rid)), login.relay)
    acme.expect_rejected(out, snap, {'saml_in_response_to'})
    # every login start mints a new value, even over a value the broker set itself
    again = _set_by(attacker.start_login().outcome.chain[0])
    assert again[name][0] not in (got[name][0], chosen)


def test_host_prefixed_cookies_over_tls(factory):
    """Over https the broker's cookies are __Host- names (Secure, Path=/, no Domain), read back on
    the next request (sign in once), and cleared by /logout."""
    e = factory.env(tenants=[('acme', {})], tls=True)
    r = e.signin('alice@acme.example')
    assert r['code'], describe(r['out'])
    seen = [parse_set_cookie(c) for resp in r['browser'].history for c in set_cookies(resp)]
    names = {n for n, _, _ in seen}
    assert names >= {broker_cookie(e.b, CORR_COOKIE), broker_cookie(e.b, SESSION_COOKIE, 'acme')}, names
    for n, _, a in seen:
        assert n.startswith('__Host-'), n
        assert 'secure' in a and a.get('path') == '/' and 'domain' not in a, (n, a)
    br, t = r['browser'], e.b.tenant()
    out = br.authorize(challenge=pkce()[1])
    assert code_from(out, t.redirect_uri)[0], f'the __Host- session cookie was not read back: {describe(out)}'
    # the plain name is not read over https (a sibling host could have planted it)
    plain = e.browser()
    plain.s.cookies.set(SESSION_COOKIE + 'acme', br.s.cookies.get(broker_cookie(e.b, SESSION_COOKIE, 'acme')),
                        domain='127.0.0.1', path='/')
    out = plain.authorize(challenge=pkce()[1])
    assert out.kind == 'away' and out.url.startswith(t.idp_sso), describe(out)
    lo = br.logout()
    cleared = {parse_set_cookie(c)[0] for resp in lo.chain for c in set_cookies(resp) if is_deletion(c)}
    assert broker_cookie(e.b, SESSION_COOKIE, 'acme') in cleared, cleared
