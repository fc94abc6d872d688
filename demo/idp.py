#!/usr/bin/python3
"""A Salesforce-shaped demo SAML identity provider for the sso-broker demo.

DEMO ONLY: fixed users with the password "demo", keys made by certs/gen-demo-pki.sh.

The SAML is lasso's (python3-lasso in the IdP role), not hand-written: lasso parses and checks the
broker's AuthnRequest (HTTP-Redirect binding), builds the Assertion (NameID = the Salesforce
username, format unspecified; AudienceRestriction; bearer SubjectConfirmationData with Recipient,
InResponseTo and NotOnOrAfter; Conditions; AuthnStatement) and signs both the Assertion and the
Response with RSA-SHA256, like Salesforce.  The Response goes back by HTTP-POST through an
auto-submitting form.

  idp.py metadata --cert IDP.crt --base-url http://127.0.0.1:8445 [--entity ID] > idp-metadata.xml
  idp.py serve --port 8445 --key IDP.key --cert IDP.crt --metadata idp-metadata.xml \
         --sp-metadata-url http://127.0.0.1:8443/t/demo/saml/metadata [--base-url URL]

Routes: GET /idp/sso?SAMLRequest=... (login form, or an answer at once when the browser already has
a demo Salesforce session), POST /idp/login, GET /idp/ (the "App launcher": IdP-initiated sign-in
to the demo tenant), GET /idp/launch, GET|POST /idp/logout (with a SAMLRequest: SAML single logout,
HTTP-Redirect), GET /idp/metadata, GET /idp/_stats.
Standard library (http.server) + lasso + lxml only.  Listens on 127.0.0.1 only.
"""
import argparse
import datetime
import html
import http.server
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse
import urllib.request

import lasso
from lxml import etree

from webbase import DemoHandler, make_log

DEMO_PASSWORD = 'demo'
# Salesforce username -> (Salesforce user ID, display name).  mallory is not in the broker's mapping.
USERS = {
    'alice@demo.example': ('005DEMO0000000001', 'Alice Agent'),
    'bob@demo.example': ('005DEMO0000000002', 'Bob Agent'),
    'mallory@demo.example': ('005DEMO0000000009', 'Mallory Unmapped'),
    # the account's console roles ([admin] users, auditors): no extension needed
    'admin@demo.example': ('005DEMO0000000010', 'Ada Admin'),
    'auditor@demo.example': ('005DEMO0000000011', 'Otto Auditor'),
}
DEFAULT_ENTITY = 'https://demo-org.my.salesforce.com'
COOKIE = 'demo_idp_session'   # cookies are per host, not per port: keep clear of the broker's names
SESSION_TTL = 8 * 3600
ASSERTION_TTL = 300

NS = {
    'md': 'urn:oasis:names:tc:SAML:2.0:metadata',
    'ds': 'http://www.w3.org/2000/09/xmldsig#',
    'saml': 'urn:oasis:names:tc:SAML:2.0:assertion',
    'samlp': 'urn:oasis:names:tc:SAML:2.0:protocol',
}


def cert_b64(path):
    with open(path) as f:
        return ''.join(l.strip() for l in f if l.strip() and not l.startswith('-----'))


def metadata_xml(cert, base_url, entity):
    sso = base_url.rstrip('/') + '/idp/sso'
    slo = base_url.rstrip('/') + '/idp/logout'
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<!-- sso-broker DEMO IdP (not for production) -->
<md:EntityDescriptor xmlns:md="{NS['md']}" xmlns:ds="{NS['ds']}" entityID="{html.escape(entity)}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert_b64(cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{html.escape(slo)}"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{html.escape(sso)}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
'''


def ts(dt):
    return dt.strftime('%Y-%m-%dT%H:%M:%SZ')


log = make_log('demo-idp')


PAGE = '''<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; background: #f3f2f2; margin: 0; }}
header {{ background: #0176d3; color: #fff; padding: .8em 1.5em; font-weight: 600; }}
main {{ max-width: 26em; margin: 3em auto; background: #fff; padding: 2em; border-radius: .4em;
       box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
label {{ display: block; margin-top: 1em; font-size: .9em; }}
input[type=text], input[type=password] {{ width: 100%; box-sizing: border-box; padding: .5em; }}
button, .button {{ margin-top: 1.5em; background: #0176d3; color: #fff; border: 0; padding: .6em 1.4em;
       border-radius: .3em; font-size: 1em; text-decoration: none; display: inline-block; cursor: pointer; }}
.note {{ color: #555; font-size: .85em; margin-top: 1.5em; }}
.err {{ color: #ba0517; }}
</style></head>
<body><header>Salesforce (demo)</header><main>
{body}
<p class="note">Demo identity provider of the sso-broker demo &mdash; not Salesforce, not for production.</p>
</main></body></html>
'''


class IdP:
    def __init__(self, args):
        self.args = args
        self.base = args.base_url.rstrip('/')
        self.entity = args.entity
        self.sessions = {}          # session id -> (username, expiry)
        self.pending = {}           # login form token -> (query string of the AuthnRequest, expiry)
        self.lock = threading.Lock()
        self.server = None
        self.sp_entity = None
        self.stats = {'sso_requests': 0, 'login_forms': 0, 'responses': 0, 'failed_logins': 0,
                      'slo_requests': 0}
        self.lasso_sessions = {}    # username -> lasso session dump (single logout)

    # --- lasso server, built lazily: the broker may start after us ---
    def lasso_server(self):
        with self.lock:
            if self.server is not None:
                return self.server
            with urllib.request.urlopen(self.args.sp_metadata_url, timeout=5) as r:
                sp_md = r.read().decode('utf-8')
            srv = lasso.Server(self.args.metadata, self.args.key, None, self.args.cert)
            srv.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256   # lasso's default is RSA-SHA1
            srv.addProviderFromBuffer(lasso.PROVIDER_ROLE_SP, sp_md)
            self.sp_entity = etree.fromstring(sp_md.encode()).get('entityID')
            self.server = srv
            log(f'loaded SP metadata of {self.sp_entity} from {self.args.sp_metadata_url}')
            return srv

    def reset_sp(self):
        with self.lock:
            self.server = None

    # --- sessions of the demo "Salesforce" ---
    def session_user(self, handler):
        sid = handler.cookie(COOKIE)
        if not sid:
            return None
        with self.lock:
            s = self.sessions.get(sid)
            if s and s[1] > time.time():
                return s[0]
            self.sessions.pop(sid, None)
        return None

    def new_session(self, user):
        sid = secrets.token_urlsafe(32)
        with self.lock:
            self.sessions[sid] = (user, time.time() + SESSION_TTL)
        return sid

    def end_session(self, handler):
        sid = handler.cookie(COOKIE)
        if sid:
            with self.lock:
                self.sessions.pop(sid, None)

    def stash(self, query):
        tok = secrets.token_urlsafe(24)
        now = time.time()
        with self.lock:
            for k in [k for k, v in self.pending.items() if v[1] < now]:
                del self.pending[k]
            self.pending[tok] = (query, now + 600)
        return tok

    def unstash(self, tok):
        with self.lock:
            v = self.pending.pop(tok or '', None)
        return v[0] if v and v[1] > time.time() else None

    # --- SAML, all through lasso ---
    def response_for(self, user, query=None):
        """query: the AuthnRequest query string (SP-initiated) or None (IdP-initiated).
        Returns (ACS URL, SAMLResponse, RelayState or None)."""
        srv = self.lasso_server()
        login = lasso.Login(srv)
        if query is not None:
            login.processAuthnRequestMsg(query)
        else:
            login.initIdpInitiatedAuthnRequest(self.sp_entity)
            login.request.nameIdPolicy.format = lasso.SAML2_NAME_IDENTIFIER_FORMAT_UNSPECIFIED
            login.request.nameIdPolicy.allowCreate = True
            login.request.protocolBinding = lasso.SAML2_METADATA_BINDING_POST
            login.processAuthnRequestMsg(None)
        try:
            login.validateRequestMsg(True, True)
        except lasso.Error as e:
            log(f'validateRequestMsg: {e}')
            raise
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        login.buildAssertion(lasso.SAML2_AUTHN_CONTEXT_PASSWORD_PROTECTED_TRANSPORT, ts(now), None,
                             ts(now - datetime.timedelta(seconds=30)),
                             ts(now + datetime.timedelta(seconds=ASSERTION_TTL)))
        assertion = login.response.assertion[0]
        nid = lasso.Saml2NameID()
        nid.format = lasso.SAML2_NAME_IDENTIFIER_FORMAT_UNSPECIFIED
        nid.content = user
        assertion.subject.nameID = nid
        login.nameIdentifier = nid
        uid, _name = USERS[user]
        attrs = []
        for name, value in (('userId', uid), ('username', user), ('email', user), ('is_portal_user', 'false')):
            a = lasso.Saml2Attribute()
            a.name = name
            a.nameFormat = lasso.SAML2_ATTRIBUTE_NAME_FORMAT_UNSPECIFIED
            v = lasso.Saml2AttributeValue()
            t = lasso.MiscTextNode.newWithString(value)
            t.textChild = True
            v.any = (t,)
            a.attributeValue = (v,)
            attrs.append(a)
        st = lasso.Saml2AttributeStatement()
        st.attribute = tuple(attrs)
        assertion.attributeStatement = (st,)
        login.buildAuthnResponseMsg()
        self.check_signed(login.msgBody)
        with self.lock:
            self.stats['responses'] += 1
            if login.session is not None:
                self.lasso_sessions[user] = login.session.dump()
        log(f'response for {user} to {login.msgUrl} ({"SP" if query is not None else "IdP"}-initiated)')
        return login.msgUrl, login.msgBody, login.msgRelayState

    @staticmethod
    def check_signed(b64):
        """The broker refuses an unsigned assertion even inside a signed Response: make sure lasso
        put an enveloped RSA-SHA256 signature on the Assertion itself."""
        import base64
        doc = etree.fromstring(base64.b64decode(b64))
        for a in doc.findall('saml:Assertion', NS):
            sm = a.find('ds:Signature/ds:SignedInfo/ds:SignatureMethod', NS)
            ref = a.find('ds:Signature/ds:SignedInfo/ds:Reference', NS)
            if sm is None or ref is None or ref.get('URI') != '#' + a.get('ID'):
                raise RuntimeError('lasso produced an assertion without an enveloped signature')
            if not sm.get('Algorithm', '').endswith('rsa-sha256'):
                raise RuntimeError('assertion signature is not RSA-SHA256: ' + sm.get('Algorithm', ''))


class Handler(DemoHandler):
    server_version = 'demo-idp/1.0'
    PAGE = PAGE
    EXTRA_HEADERS = (('X-Frame-Options', 'DENY'),)
    idp = None   # set at start

    def log_message(self, fmt, *a):
        # never log query strings (they carry SAML messages)
        line = re.sub(r'\?\S*', '', fmt % a)
        log(f'{self.address_string()} {line}')

    def session_cookie(self, sid, max_age=SESSION_TTL):
        return ('Set-Cookie', f'{COOKIE}={sid}; Path=/idp; HttpOnly; SameSite=Lax; Max-Age={max_age}')

    def post_form(self, acs, saml, relay, headers=()):
        relay_in = (f'<input type="hidden" name="RelayState" value="{html.escape(relay)}">' if relay else '')
        body = f'''<h1>Signing you in&hellip;</h1>
<form id="samlpost" method="post" action="{html.escape(acs)}">
<input type="hidden" name="SAMLResponse" value="{html.escape(saml)}">{relay_in}
<noscript><p>JavaScript is off: press the button to continue.</p><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById('samlpost').submit();</script>'''
        self.send_page(200, 'Salesforce (demo) - Signing in', body, headers)

    def login_form(self, token, error=None, status=200):
        with self.idp.lock:
            self.idp.stats['login_forms'] += 1
        err = f'<p class="err" role="alert">{html.escape(error)}</p>' if error else ''
        body = f'''<h1>Salesforce (demo) &mdash; Log in</h1>{err}
<form method="post" action="/idp/login">
<input type="hidden" name="req" value="{html.escape(token)}">
<label for="username">Username</label><input id="username" name="username" type="text" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button id="Login" type="submit">Log In</button>
</form>
<p class="note">Demo users: alice@demo.example, bob@demo.example (mapped to extensions),
mallory@demo.example (not mapped); console: admin@demo.example, auditor@demo.example.
Password: <code>demo</code>.</p>'''
        self.send_page(status, 'Salesforce (demo) - Log in', body)

    def fail(self, status, msg):
        self.send_page(status, 'Salesforce (demo) - Error', f'<h1>Error</h1><p class="err">{html.escape(msg)}</p>')

    def read_form(self):
        n = int(self.headers.get('Content-Length') or 0)
        if n > 64 * 1024:
            raise ValueError('body too large')
        return urllib.parse.parse_qs(self.rfile.read(n).decode('utf-8', 'replace'), keep_blank_values=True)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        try:
            if u.path == '/idp/sso':
                return self.sso(u.query, q)
            if u.path in ('/idp', '/idp/', '/'):
                return self.launcher()
            if u.path == '/idp/launch':
                return self.launch()
            if u.path == '/idp/logout' and 'SAMLRequest' in q:
                return self.slo(u.query)
            if u.path == '/idp/logout':
                return self.logout()
            if u.path == '/idp/metadata':
                data = metadata_xml(self.idp.args.cert, self.idp.base, self.idp.entity).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/samlmetadata+xml')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                return self.wfile.write(data)
            if u.path == '/idp/_stats':
                with self.idp.lock:
                    data = json.dumps(self.idp.stats).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                return self.wfile.write(data)
            if u.path == '/healthz':
                self.send_response(200)
                self.send_header('Content-Length', '3')
                self.end_headers()
                return self.wfile.write(b'ok\n')
            self.fail(404, 'Not found.')
        except urllib.error.URLError as e:
            self.fail(503, f'Cannot fetch the broker SP metadata ({self.idp.args.sp_metadata_url}): {e.reason}')
        except lasso.Error as e:
            self.idp.reset_sp()
            self.fail(400, f'SAML error: {e}')

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        try:
            f = self.read_form()
        except ValueError:
            return self.fail(413, 'Request too large.')
        try:
            if u.path == '/idp/login':
                return self.login(f)
            if u.path == '/idp/logout':
                return self.logout()
            self.fail(404, 'Not found.')
        except urllib.error.URLError as e:
            self.fail(503, f'Cannot fetch the broker SP metadata ({self.idp.args.sp_metadata_url}): {e.reason}')
        except lasso.Error as e:
            self.idp.reset_sp()
            self.fail(400, f'SAML error: {e}')

    def sso(self, query, q):
        with self.idp.lock:
            self.idp.stats['sso_requests'] += 1
        if 'SAMLRequest' not in q:
            return self.fail(400, 'No SAMLRequest.')
        # parse now, so a bad request is refused before the form is shown
        self.idp.lasso_server()
        probe = lasso.Login(self.idp.server)
        probe.processAuthnRequestMsg(query)
        user = self.idp.session_user(self)
        if user:   # already signed in to "Salesforce": answer at once, as Salesforce does
            acs, saml, relay = self.idp.response_for(user, query)
            return self.post_form(acs, saml, relay)
        self.login_form(self.idp.stash(query))

    def login(self, f):
        token = f.get('req', [''])[0]
        user = f.get('username', [''])[0].strip().lower()
        pw = f.get('password', [''])[0]
        if token == 'launch':
            query = None
        else:
            query = self.idp.unstash(token)
            if query is None:
                return self.fail(400, 'This login page has expired. Go back to the panel and sign in again.')
        if user not in USERS or not secrets.compare_digest(pw.encode(), DEMO_PASSWORD.encode()):
            with self.idp.lock:
                self.idp.stats['failed_logins'] += 1
            if query is not None:
                token = self.idp.stash(query)
            return self.login_form(token, 'Please check your username and password.', 401)
        sid = self.idp.new_session(user)
        cookie = self.session_cookie(sid)
        if query is None:
            return self.redirect('/idp/', [cookie])
        acs, saml, relay = self.idp.response_for(user, query)
        self.post_form(acs, saml, relay, [cookie])

    def launcher(self):
        user = self.idp.session_user(self)
        if not user:
            body = '''<h1>Salesforce (demo) &mdash; Log in</h1>
<form method="post" action="/idp/login"><input type="hidden" name="req" value="launch">
<label for="username">Username</label><input id="username" name="username" type="text" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password">
<button id="Login" type="submit">Log In</button></form>
<p class="note">Demo users: alice@demo.example, bob@demo.example, mallory@demo.example; console:
admin@demo.example, auditor@demo.example. Password: <code>demo</code>.</p>'''
            return self.send_page(200, 'Salesforce (demo) - Log in', body)
        body = f'''<h1>App Launcher</h1><p>Signed in to Salesforce (demo) as <b>{html.escape(user)}</b>.</p>
<p><a class="button" id="launch" href="/idp/launch">8x8 communication panel (demo)</a></p>
<p class="note">The tile starts an IdP-initiated SAML sign-in to the broker's demo tenant.</p>
<form method="post" action="/idp/logout"><button type="submit">Log out of Salesforce (demo)</button></form>'''
        self.send_page(200, 'Salesforce (demo) - App Launcher', body)

    def launch(self):
        user = self.idp.session_user(self)
        if not user:
            return self.redirect('/idp/')
        acs, saml, relay = self.idp.response_for(user, None)
        self.post_form(acs, saml, relay)

    def logout(self):
        self.idp.end_session(self)
        self.redirect('/idp/', [self.session_cookie('', 0)])

    def slo(self, query):
        """Single logout from the broker (HTTP-Redirect): lasso checks the LogoutRequest's
        signature with the SP certificate of the broker's metadata; the demo Salesforce session
        ends and a signed LogoutResponse goes back to the broker's SingleLogoutService."""
        lo = lasso.Logout(self.idp.lasso_server())
        lo.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_FORCE)
        user = self.idp.session_user(self)
        with self.idp.lock:
            self.idp.stats['slo_requests'] += 1
            dump = self.idp.lasso_sessions.pop(user, None) if user else None
        if dump:
            lo.setSessionFromDump(dump)
        lo.processRequestMsg(query)
        try:
            lo.validateRequest()
        except lasso.Error as e:    # no lasso session: lasso sets the failure status itself
            log(f'logout validateRequest: {e}')
        self.idp.end_session(self)
        lo.buildResponseMsg()
        log(f'single logout of {user or "(no session)"}')
        self.redirect(lo.msgUrl, [self.session_cookie('', 0)])


def serve(args):
    idp = IdP(args)
    Handler.idp = idp
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', args.port), Handler)
    httpd.daemon_threads = True
    log(f'listening on http://127.0.0.1:{args.port} as {args.base_url} (entity {args.entity})')
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    m = sub.add_parser('metadata', help='print the IdP metadata')
    m.add_argument('--cert', required=True)
    m.add_argument('--base-url', required=True)
    m.add_argument('--entity', default=DEFAULT_ENTITY)
    s = sub.add_parser('serve', help='run the IdP')
    s.add_argument('--port', type=int, default=8445)
    s.add_argument('--key', required=True)
    s.add_argument('--cert', required=True)
    s.add_argument('--metadata', required=True, help='this IdP\'s metadata file (from the metadata command)')
    s.add_argument('--sp-metadata-url', required=True)
    s.add_argument('--base-url', default=None)
    s.add_argument('--entity', default=DEFAULT_ENTITY)
    a = ap.parse_args()
    if a.cmd == 'metadata':
        sys.stdout.write(metadata_xml(a.cert, a.base_url, a.entity))
        return
    a.base_url = a.base_url or f'http://127.0.0.1:{a.port}'
    with open(a.metadata, 'rb') as f:
        ent = etree.fromstring(f.read()).get('entityID')
    if ent != a.entity:
        sys.exit(f'demo-idp: {a.metadata} is for {ent}, not {a.entity}')
    serve(a)


if __name__ == '__main__':
    main()
