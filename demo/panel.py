#!/usr/bin/python3
"""A demo "communication panel" for the sso-broker demo: an OAuth 2.0 client of the broker.

DEMO ONLY.  It does what a real panel does against the broker's OAuth endpoints:
  GET /          landing page ("Sign in with Salesforce"), or the signed-in page
  GET /start     new state + PKCE S256 verifier (kept here, keyed by a cookie) -> broker /oauth2/authorize
                 (also the tenant's initiate_login_uri: IdP-initiated sign-ins end here)
                 ?way=oauth: the same as the client of the broker's OAuth tenant (Salesforce "Allow")
  GET /callback  checks state, redeems the code at /oauth2/token (client_secret_basic + code_verifier),
                 checks the token at /oauth2/introspect, then shows "Signed in as ... on extension ..."
                 error=access_denied -> "You denied single sign-on"
  GET /signout   /oauth2/revoke, then the broker's /logout
The token never leaves this process (never shown, never logged).  Standard library only.

  panel.py --port 8400 --broker-url http://127.0.0.1:8443 --client-id demo-panel --secret-file FILE \
           [--oauth-client-id demo-panel-oauth --oauth-secret-file FILE2]
"""
import argparse
import base64
import hashlib
import html
import http.server
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from webbase import DemoHandler, make_log

COOKIE = 'demo_panel_session'   # cookies are per host, not per port: keep clear of the broker's names
PENDING_TTL = 600


log = make_log('demo-panel')


PAGE = '''<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; background: #eef1f5; margin: 0; }}
header {{ background: #1b1f3b; color: #fff; padding: .8em 1.5em; font-weight: 600; }}
main {{ max-width: 34em; margin: 3em auto; background: #fff; padding: 2em; border-radius: .4em;
       box-shadow: 0 1px 4px rgba(0,0,0,.15); }}
.button {{ background: #0176d3; color: #fff; padding: .7em 1.4em; border-radius: .3em; text-decoration: none;
          display: inline-block; font-size: 1em; }}
.button.secondary {{ background: #6b6d70; }}
dl {{ display: grid; grid-template-columns: max-content auto; gap: .3em 1em; }}
dt {{ color: #555; }} dd {{ margin: 0; font-family: ui-monospace, monospace; }}
.note {{ color: #555; font-size: .85em; margin-top: 2em; }}
.err {{ color: #ba0517; }}
</style></head>
<body><header>Communication panel (demo)</header><main>
{body}
<p class="note">Demo panel of the sso-broker demo &mdash; not for production.</p>
</main></body></html>
'''


class Panel:
    def __init__(self, args):
        self.args = args
        self.broker = args.broker_url.rstrip('/')
        self.base = args.base_url.rstrip('/')
        self.redirect_uri = self.base + '/callback'
        self.clients = {'saml': (args.client_id, self.read(args.secret_file))}
        if args.oauth_client_id:
            self.clients['oauth'] = (args.oauth_client_id, self.read(args.oauth_secret_file))
        self.lock = threading.Lock()
        self.pending = {}     # state -> (browser sid, verifier, expiry)
        self.sessions = {}    # browser sid -> dict (token kept here only)

    @staticmethod
    def read(path):
        with open(path) as f:
            return f.read().strip()

    def basic(self, way):
        # RFC 6749 2.3.1: client_id and secret are form-urlencoded before base64
        cid, secret = self.clients[way]
        raw = urllib.parse.quote(cid, safe='') + ':' + urllib.parse.quote(secret, safe='')
        return 'Basic ' + base64.b64encode(raw.encode()).decode()

    def post(self, path, fields, way='saml'):
        """POST a form to the broker with client authentication; (status, JSON or None, raw text)."""
        req = urllib.request.Request(self.broker + path, data=urllib.parse.urlencode(fields).encode(),
                                     headers={'Authorization': self.basic(way),
                                              'Content-Type': 'application/x-www-form-urlencoded',
                                              'Accept': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, body = e.code, e.read()
        text = body.decode('utf-8', 'replace')
        try:
            js = json.loads(text) if text.strip() else None
        except ValueError:
            js = None
        return status, js, text


class Handler(DemoHandler):
    server_version = 'demo-panel/1.0'
    PAGE = PAGE
    EXTRA_HEADERS = (('Referrer-Policy', 'no-referrer'),)
    panel = None

    def log_message(self, fmt, *a):
        # never log query strings (codes, state)
        log(f'{self.address_string()} ' + re.sub(r'\?\S*', '', fmt % a))

    def set_cookie(self, sid, max_age=8 * 3600):
        return ('Set-Cookie', f'{COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}')

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        try:
            if u.path == '/':
                return self.home()
            if u.path == '/start':
                return self.start(q.get('way', ['saml'])[0])
            if u.path == '/callback':
                return self.callback(q)
            if u.path == '/signout':
                return self.signout()
            if u.path == '/healthz':
                self.send_response(200)
                self.send_header('Content-Length', '3')
                self.end_headers()
                return self.wfile.write(b'ok\n')
            self.send_page(404, 'Not found', '<h1>Not found</h1>')
        except urllib.error.URLError as e:
            self.send_page(502, 'Broker unreachable',
                           f'<h1>The broker does not answer</h1><p class="err">{html.escape(str(e.reason))}</p>')

    def home(self):
        P = self.panel
        sid = self.cookie(COOKIE)
        with P.lock:
            s = dict(P.sessions.get(sid) or {}) if sid else {}
        if s and s.get('exp', 0) > time.time():
            return self.signed_in(s)
        body = '''<h1>Welcome</h1>
<p>Sign in to the communication panel with your Salesforce account.</p>
<p><a class="button" id="signin" href="/start">Sign in with Salesforce</a></p>'''
        if 'oauth' in P.clients:
            body += '''
<p><a class="button" id="signin-oauth" href="/start?way=oauth">Sign in with Salesforce (OAuth, "Allow")</a></p>'''
        self.send_page(200, 'Communication panel (demo)', body)

    def signed_in(self, s):
        exp = s.get('exp')
        left = max(0, int(exp - time.time())) if exp else None
        exts = s.get('extensions')
        rows = [('Salesforce user', s.get('sfdc_username')), ('Extension', s.get('extension')),
                ('All extensions', ', '.join(exts) if isinstance(exts, list) and exts else None),
                ('8x8 internal ID', s.get('internal_id')), ('Tenant', s.get('tenant')),
                ('Token expires', (time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(exp)) +
                                   f' (in {left} s)') if exp else None),
                ('Introspection', 'active' if s.get('active') else 'NOT active')]
        dl = ''.join(f'<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>' for k, v in rows if v is not None)
        body = f'''<h1 id="status">Signed in as {html.escape(str(s.get("sfdc_username")))} on extension {html.escape(str(s.get("extension")))}</h1>
<dl>{dl}</dl>
<p><a class="button secondary" id="signout" href="/signout">Sign out</a></p>'''
        self.send_page(200, 'Communication panel (demo) - signed in', body)

    def start(self, way='saml'):
        P = self.panel
        if way not in P.clients:
            return self.send_page(404, 'Not found', '<h1>No such way in</h1>')
        sid = self.cookie(COOKIE)
        if not sid or not re.fullmatch(r'[A-Za-z0-9_-]{20,100}', sid):
            sid = secrets.token_urlsafe(32)
        state = secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(64)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b'=').decode()
        now = time.time()
        with P.lock:
            for k in [k for k, v in P.pending.items() if v[2] < now]:
                del P.pending[k]
            P.pending[state] = (sid, verifier, now + PENDING_TTL, way)
        q = urllib.parse.urlencode({'client_id': P.clients[way][0], 'redirect_uri': P.redirect_uri,
                                    'response_type': 'code', 'state': state, 'code_challenge': challenge,
                                    'code_challenge_method': 'S256'})
        self.redirect(P.broker + '/oauth2/authorize?' + q, [self.set_cookie(sid)])

    def callback(self, q):
        P = self.panel
        sid = self.cookie(COOKIE)
        state = q.get('state', [''])[0]
        with P.lock:
            pend = P.pending.pop(state, None)
        if not pend or not sid or not secrets.compare_digest(pend[0], sid) or pend[2] < time.time():
            return self.send_page(400, 'Sign-in failed', '''<h1>Sign-in failed</h1>
<p class="err">The answer from the broker does not belong to a sign-in started in this browser
(unknown or expired state).</p><p><a class="button" href="/start">Try again</a></p>''')
        err = q.get('error', [''])[0]
        if err == 'access_denied':
            return self.send_page(403, 'Single sign-on denied', '''<h1 id="status">You denied single sign-on</h1>
<p>The communication panel was not given access. You can sign in again at any time.</p>
<p><a class="button" id="signin" href="/start">Sign in with Salesforce</a></p>''')
        if err or 'code' not in q:
            desc = q.get('error_description', [''])[0]
            return self.send_page(400, 'Sign-in failed', f'''<h1 id="status">Sign-in failed</h1>
<p class="err">{html.escape(err or "no code")}: {html.escape(desc)}</p>
<p><a class="button" href="/start">Try again</a></p>''')
        way = pend[3]
        status, tj, text = P.post('/oauth2/token', {'grant_type': 'authorization_code', 'code': q['code'][0],
                                                    'redirect_uri': P.redirect_uri, 'code_verifier': pend[1]},
                                  way)
        if status != 200 or not tj or 'access_token' not in tj:
            log(f'token endpoint answered {status}')
            return self.send_page(502, 'Sign-in failed', f'''<h1 id="status">Sign-in failed</h1>
<p class="err">The broker's token endpoint answered {status}: {html.escape(text[:300])}</p>
<p><a class="button" href="/start">Try again</a></p>''')
        token = tj['access_token']
        istatus, ij, itext = P.post('/oauth2/introspect', {'token': token, 'token_type_hint': 'access_token'},
                                    way)
        if istatus != 200 or not ij:
            ij = {}
            log(f'introspect answered {istatus}')
        pick = lambda *names: next((src[n] for n in names for src in (tj, ij) if src.get(n) not in (None, '')), None)
        exp = ij.get('exp') or (time.time() + int(tj['expires_in']) if tj.get('expires_in') else None)
        s = {'token': token, 'way': way, 'active': ij.get('active') is True,
             'sfdc_username': pick('sfdc_username', 'username'), 'extension': pick('extension'),
             'extensions': pick('extensions'), 'internal_id': pick('internal_id', 'sub'),
             'tenant': pick('tenant', 'tenant_id'), 'exp': exp or time.time() + 3600}
        with P.lock:
            P.sessions[sid] = s
        log(f'signed in {s["sfdc_username"]} on extension {s["extension"]}')
        self.redirect('/', [self.set_cookie(sid)])

    def signout(self):
        P = self.panel
        sid = self.cookie(COOKIE)
        with P.lock:
            s = P.sessions.pop(sid, None) if sid else None
        if s:
            status, _, _ = P.post('/oauth2/revoke', {'token': s['token'], 'token_type_hint': 'access_token'},
                                  s.get('way', 'saml'))
            log(f'revoke answered {status}')
        self.redirect(P.broker + '/logout', [self.set_cookie('', 0)])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, default=8400)
    ap.add_argument('--base-url', default=None, help='default http://127.0.0.1:PORT')
    ap.add_argument('--broker-url', required=True)
    ap.add_argument('--client-id', default='demo-panel')
    ap.add_argument('--secret-file', required=True)
    ap.add_argument('--oauth-client-id', default=None, help="the client of the broker's OAuth tenant")
    ap.add_argument('--oauth-secret-file', default=None)
    a = ap.parse_args()
    a.base_url = a.base_url or f'http://127.0.0.1:{a.port}'
    Handler.panel = Panel(a)
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', a.port), Handler)
    httpd.daemon_threads = True
    log(f'listening on {a.base_url} (broker {a.broker_url}, client {a.client_id})')
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()


if __name__ == '__main__':
    main()
