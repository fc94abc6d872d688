"""A browser and a panel, as the broker sees them."""
import base64
import collections
import hashlib
import http.cookiejar
import secrets
import urllib.parse

import requests
from lxml import etree, html

from . import idp as idpmod

# Browsers treat http://127.0.0.1 as a secure context and send Secure cookies there; requests
# does not, so its cookie policy is widened to loopback hosts (this suite only talks to 127.0.0.1).
_orig_return_ok_secure = http.cookiejar.DefaultCookiePolicy.return_ok_secure


def _return_ok_secure(self, cookie, request):
    host = urllib.parse.urlparse(request.get_full_url()).hostname
    return host in ('127.0.0.1', 'localhost') or _orig_return_ok_secure(self, cookie, request)


http.cookiejar.DefaultCookiePolicy.return_ok_secure = _return_ok_secure

Outcome = collections.namedtuple('Outcome', 'kind url resp chain')

# The broker's cookies: the SAML correlation cookie and the browser session (+ tenant id).
CORR_COOKIE = 'ssob_rq'
SESSION_COOKIE = 'ssob_s_'


def broker_cookie(broker, base, tenant=''):
    """The name the broker gives a cookie: base + tenant on loopback http, "__Host-" + that over
    https (Secure, Path=/, no Domain: no sibling host or http answer can plant it)."""
    return ('__Host-' if broker.pub.startswith('https:') else '') + base + tenant
Login = collections.namedtuple('Login', 'rid relay verifier state idp_url outcome')


def pkce():
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b'=').decode()
    return v, c


def set_cookies(resp):
    """Raw Set-Cookie header values of one response."""
    try:
        return list(resp.raw.headers.getlist('Set-Cookie'))
    except AttributeError:
        v = resp.headers.get('Set-Cookie')
        return [v] if v else []


def parse_set_cookie(line):
    parts = [p.strip() for p in line.split(';')]
    name, _, value = parts[0].partition('=')
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition('=')
        attrs[k.strip().lower()] = v.strip()
    return name.strip(), value.strip(), attrs


def is_deletion(line):
    name, value, attrs = parse_set_cookie(line)
    if not value or attrs.get('max-age') in ('0', '-1'):
        return True
    exp = attrs.get('expires', '')
    return any(y in exp for y in ('1970', '1980', '2000', '2001'))


class Browser:
    def __init__(self, broker):
        self.b = broker
        self.s = requests.Session()
        self.s.verify = broker.verify
        self.s.trust_env = False      # no proxies, no CA bundle from the environment
        self.s.headers['User-Agent'] = 'sso-broker-it/1.0'
        self.history = []          # every response this browser received, in order
        self.s.hooks['response'].append(lambda r, *a, **k: self.history.append(r))

    # -- navigation
    def walk(self, resp, limit=10):
        chain = [resp]
        for _ in range(limit):
            if resp.status_code in (301, 302, 303, 307, 308):
                loc = urllib.parse.urljoin(resp.url, resp.headers.get('Location', ''))
                if loc.startswith(self.b.pub):
                    resp = self.s.get(loc, allow_redirects=False, timeout=10)
                    chain.append(resp)
                    continue
                return Outcome('away', loc, resp, chain)
            if resp.status_code == 200 and b'<form' in resp.content.lower():
                return Outcome('form', resp.url, resp, chain)
            return Outcome('page', resp.url, resp, chain)
        return Outcome('loop', resp.url, resp, chain)

    def get(self, path, **kw):
        kw.setdefault('allow_redirects', False)
        kw.setdefault('timeout', 10)
        return self.s.get(self.b.pub + path if path.startswith('/') else path, **kw)

    def authorize(self, tenant='acme', state=None, challenge=None, method='S256', redirect_uri=None,
                  client_id=None, extra=None, drop=()):
        t = self.b.tenant(tenant)
        q = {'client_id': client_id or t.client_id, 'redirect_uri': redirect_uri or t.redirect_uri,
             'response_type': 'code', 'state': state or secrets.token_urlsafe(12),
             'code_challenge': challenge, 'code_challenge_method': method}
        q.update(extra or {})
        q = {k: v for k, v in q.items() if v is not None and k not in drop}
        return self.walk(self.get('/oauth2/authorize?' + urllib.parse.urlencode(q)))

    def start_login(self, tenant='acme', **kw):
        """authorize -> the IdP's AuthnRequest.  Returns a Login, or raises AssertionError."""
        v, c = pkce()
        state = secrets.token_urlsafe(12)
        out = self.authorize(tenant, state=state, challenge=c, **kw)
        t = self.b.tenant(tenant)
        assert out.kind == 'away' and out.url.startswith(t.idp_sso), \
            f'authorize did not send the browser to the IdP: {out.kind} {out.url} {out.resp.status_code} {out.resp.text[:200]}'
        req = idpmod.parse_redirect(out.url)
        return Login(req['id'], req['relay'], v, state, out.url, out)

    def post_acs(self, tenant, saml_b64, relay=None, headers=None, raw_data=None, acs=None):
        data = raw_data if raw_data is not None else {'SAMLResponse': saml_b64}
        if relay is not None and raw_data is None:
            data['RelayState'] = relay
        h = {'Origin': 'null', 'Sec-Fetch-Site': 'cross-site'}   # the IdP's auto-submitting form
        h.update(headers or {})
        r = self.s.post(acs or f'{self.b.pub}/t/{tenant}/saml/acs', data=data, headers=h,
                        allow_redirects=False, timeout=30)
        return self.walk(r)

    def consent_form(self, page):
        doc = html.fromstring(page.content)
        if not doc.forms:
            return None
        f = doc.forms[0]
        fields = {i.name: (i.value or '') for i in f.inputs
                  if i.name and i.get('type', 'text').lower() not in ('submit', 'button', 'image')}
        action = urllib.parse.urljoin(page.url, f.action or page.url)
        return {'action': action, 'method': (f.method or 'GET').upper(), 'fields': fields,
                'buttons': [(e.get('name'), e.get('value')) for e in f.xpath('.//button|.//input[@type="submit"]')]}

    def consent(self, page, choice='allow', headers=None, fields=None):
        form = self.consent_form(page)
        assert form is not None, f'no consent form on {page.url}'
        data = dict(form['fields'])
        data['decision'] = choice
        if fields is not None:
            data = fields(data)
        h = {'Origin': self.b.pub, 'Sec-Fetch-Site': 'same-origin', 'Referer': page.url}
        h.update(headers or {})
        h = {k: v for k, v in h.items() if v is not None}
        r = self.s.post(form['action'], data=data, headers=h, allow_redirects=False, timeout=10)
        return self.walk(r)

    def finish(self, out, choice='allow'):
        if out.kind == 'form':
            return self.consent(out.resp, choice)
        return out

    def logout(self):
        return self.walk(self.get('/logout'))


def code_from(out, redirect_uri):
    """(code, state, error) when the outcome is the panel's redirect_uri, else (None, None, None)."""
    if out.kind == 'away' and out.url.split('?')[0] == redirect_uri:
        q = urllib.parse.parse_qs(urllib.parse.urlparse(out.url).query)
        g = lambda k: q.get(k, [None])[0]
        return g('code'), g('state'), g('error')
    return None, None, None


class Panel:
    """The communication panel's back end (OAuth client)."""

    def __init__(self, broker, tenant='acme'):
        self.b = broker
        self.t = broker.tenant(tenant)

    def token(self, code, verifier, *, auth='basic', redirect_uri=None, client_id=None, secret=None,
              extra=None, drop=()):
        cid = client_id or self.t.client_id
        sec = self.t.secret if secret is None else secret
        data = {'grant_type': 'authorization_code', 'code': code,
                'redirect_uri': redirect_uri or self.t.redirect_uri, 'code_verifier': verifier}
        kw = {}
        if auth == 'basic':
            kw['auth'] = (cid, sec)
        elif auth == 'post':
            data.update(client_id=cid, client_secret=sec)
        data.update(extra or {})
        data = {k: v for k, v in data.items() if v is not None and k not in drop}
        return self.b.post('/oauth2/token', data=data, **kw)

    def introspect(self, tok, auth=True, **kw):
        return self.b.post('/oauth2/introspect', data={'token': tok},
                           auth=(self.t.client_id, self.t.secret) if auth else None, **kw)

    def revoke(self, tok, auth=True):
        return self.b.post('/oauth2/revoke', data={'token': tok},
                           auth=(self.t.client_id, self.t.secret) if auth else None)


def sp_info(broker, tenant='acme'):
    """(entityID, ACS URL, raw metadata) from the broker's SP metadata."""
    r = broker.get(f'/t/{tenant}/saml/metadata')
    assert r.status_code == 200, r.status_code
    doc = etree.fromstring(r.content)
    acs = doc.find('.//{urn:oasis:names:tc:SAML:2.0:metadata}AssertionConsumerService')
    return doc.get('entityID'), acs.get('Location'), r.content
