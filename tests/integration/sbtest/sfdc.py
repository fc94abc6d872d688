"""The stand-in Salesforce authorization server (demo/sfdc_oauth.py, on authlib) for the tests.

    from sbtest.sfdc import SfdcStandin, pkce

    with SfdcStandin(tmp_path, redirect_uris=[broker.pub + '/t/acme/oidc/callback'],
                     users=['alice@acme.example']) as op:
        tenant [oidc] lines: op.oidc_section()  (issuer, client_id, client_secret_file, org_id, ca_file)
        op.set_modes(wrong_iss=True)          # POST /_test/mode (replaces the set; {} = none)
        out = op.sign_in(authorize_url, 'alice@acme.example', choice='allow')
        out['location']                       # the redirect to the callback (code or error, state)
        op.stats()['jwks']                    # how often the JWKS was fetched

The stand-in is started with --port 0 (it prints its base URL), --test-control, the demo PKI of
certs/gen-demo-pki.sh (its CA verifies the server) and a fresh client secret; it is stopped by
PID.  Its log (stderr) is op.log_path."""
import base64
import hashlib
import hmac
import html.parser
import os
import secrets
import select
import signal
import subprocess
import time
import urllib.parse

import requests

from . import env

SFDC = os.path.join(env.SRC, 'demo', 'sfdc_oauth.py')
GEN_PKI = os.path.join(env.SRC, 'certs', 'gen-demo-pki.sh')
PY = '/usr/bin/python3'      # Debian's, with python3-authlib
ORG_ID = '00DDM0000000001'
OTHER_ORG = '00DEV0000000666'
CLIENT_ID = '3MVG9sso.broker.it.connected.app'
_SFID_SUFFIX = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345'


def sfid18(id15):
    """The 18-character form of a 15-character Salesforce ID."""
    out = id15
    for i in range(3):
        out += _SFID_SUFFIX[sum(1 << j for j in range(5) if 'A' <= id15[i * 5 + j] <= 'Z')]
    return out


def pkce():
    """(code_verifier, S256 code_challenge)."""
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b'=').decode()
    return v, c


def token_signature(identity, issued_at, secret):
    """Salesforce's token response signature: base64(HMAC-SHA256(secret, id + issued_at))."""
    return base64.b64encode(hmac.new(secret.encode(), (identity + issued_at).encode(),
                                     hashlib.sha256).digest()).decode()


def demo_pki(d):
    """certs/gen-demo-pki.sh into d (idempotent); returns d."""
    subprocess.run(['sh', GEN_PKI, str(d)], check=True, capture_output=True, timeout=60)
    return str(d)


class _Form(html.parser.HTMLParser):
    """The hidden inputs and button names of a page's forms."""

    def __init__(self):
        super().__init__()
        self.fields, self.buttons, self.action = {}, [], None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'form':
            self.action = a.get('action')
        elif tag == 'input' and a.get('type') == 'hidden':
            self.fields[a.get('name')] = a.get('value', '')
        elif tag == 'button' and a.get('name'):
            self.buttons.append(a['name'])


def parse_form(text):
    f = _Form()
    f.feed(text)
    return f


class SfdcStandin:
    """One stand-in Salesforce process.  Attributes: base (= issuer), ca_file, client_id,
    client_secret, client_secret_file, org_id (15), org_id18, pid, log_path."""

    def __init__(self, workdir, redirect_uris=(), client_id=CLIENT_ID, client_secret=None, users=(),
                 modes=(), org_id=ORG_ID, host='127.0.0.1', pki_dir=None, test_control=True,
                 client_name=None, extra_args=()):
        self.dir = str(workdir)
        os.makedirs(self.dir, exist_ok=True)
        self.pki = demo_pki(pki_dir or os.path.join(self.dir, 'pki'))
        self.ca_file = os.path.join(self.pki, 'ca.crt')
        self.client_id, self.org_id, self.org_id18 = client_id, org_id, sfid18(org_id)
        self.client_secret = client_secret or secrets.token_urlsafe(32)
        self.client_secret_file = os.path.join(self.dir, 'sfdc-client.secret')
        with open(self.client_secret_file, 'w') as f:
            f.write(self.client_secret + '\n')
        os.chmod(self.client_secret_file, 0o600)
        self.redirect_uris = list(redirect_uris) or ['https://127.0.0.1:9/cb']
        self.users, self.modes_at_start = list(users), list(modes)
        self.host, self.test_control, self.client_name = host, test_control, client_name
        self.extra_args = list(extra_args)
        self.log_path = os.path.join(self.dir, 'sfdc.log')
        self.proc, self.base = None, None
        self.http = self.session()

    def session(self):
        """A requests Session that trusts the demo CA.  trust_env off: REQUESTS_CA_BUNDLE would
        otherwise win over Session.verify, and no proxy is taken from the environment."""
        s = requests.Session()
        s.trust_env = False
        s.verify = self.ca_file
        return s

    # -- process
    def argv(self):
        a = [PY, SFDC, '--port', '0', '--host', self.host, '--cert', os.path.join(self.pki, 'sfdc.crt'),
             '--key', os.path.join(self.pki, 'sfdc.key'), '--org-id', self.org_id, '--client-id', self.client_id,
             '--client-secret-file', self.client_secret_file]
        for u in self.redirect_uris:
            a += ['--redirect-uri', u]
        for u in self.users:
            a += ['--user', u]
        for m in self.modes_at_start:
            a += ['--mode', m]
        if self.client_name:
            a += ['--client-name', self.client_name]
        if self.test_control:
            a.append('--test-control')
        return a + self.extra_args

    def start(self, timeout=20):
        log = open(self.log_path, 'ab')
        self.proc = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=log, start_new_session=True,
                                     cwd=os.path.dirname(SFDC))
        log.close()
        end = time.monotonic() + timeout
        line = b''
        while not line.endswith(b'\n') and time.monotonic() < end and self.proc.poll() is None:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                ch = os.read(self.proc.stdout.fileno(), 256)
                if not ch:
                    break
                line += ch
        if not line.startswith(b'https://'):
            self.stop()
            raise RuntimeError(f'the stand-in Salesforce did not start: {self.log_tail()}')
        self.base = line.decode().strip()
        if not env.wait_for(self._healthy, timeout):
            self.stop()
            raise RuntimeError(f'the stand-in Salesforce is not healthy: {self.log_tail()}')
        return self

    def _healthy(self):
        try:
            return self.http.get(self.base + '/healthz', timeout=2).status_code == 200
        except requests.RequestException:
            return False

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def issuer(self):
        return self.base

    def stop(self, timeout=5):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc.stdout.close()
        self.proc = None
        return rc

    def __enter__(self):
        return self.start() if self.proc is None else self

    def __exit__(self, *exc):
        self.stop()

    def log_text(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def log_tail(self, n=15):
        return '\n'.join(self.log_text().splitlines()[-n:])

    # -- HTTP
    def url(self, path):
        return self.base + path

    def get(self, path, **kw):
        kw.setdefault('timeout', 10)
        kw.setdefault('allow_redirects', False)
        return self.http.get(self.base + path, **kw)

    def post(self, path, **kw):
        kw.setdefault('timeout', 10)
        kw.setdefault('allow_redirects', False)
        return self.http.post(self.base + path, **kw)

    def control(self, path, body):
        r = self.post(path, json=body)
        if r.status_code != 200:
            raise AssertionError(f'POST {path}: {r.status_code} {r.text[:300]}')
        return r.json()

    # -- test control
    def set_modes(self, modes=None, **kw):
        """Replace the misbehaving modes (set_modes() turns them all off)."""
        return self.control('/_test/mode', dict(modes or {}, **kw))

    def reset(self):
        """Modes off; stats, sessions, consents, codes and tokens cleared (keys kept)."""
        return self.control('/_test/reset', {})

    def keys(self, action, kid=None):
        """action: add (publish a new key), activate KID, rotate (add + activate), remove KID."""
        return self.control('/_test/keys', {'action': action, **({'kid': kid} if kid else {})})

    def add_users(self, usernames):
        return self.control('/_test/users', {'usernames': list(usernames)})

    def add_client(self, client_id, client_secret, redirect_uris, name=None):
        return self.control('/_test/clients', {'client_id': client_id, 'client_secret': client_secret,
                                               'redirect_uris': list(redirect_uris),
                                               **({'name': name} if name else {})})

    def stats(self):
        return self.get('/_stats').json()

    def jwks(self):
        return self.get('/id/keys').json()

    # -- what a tenant file needs
    def oidc_section(self):
        """The [oidc] directives of a tenant that signs in here."""
        return {'issuer': self.base, 'client_id': self.client_id, 'client_secret_file': self.client_secret_file,
                'org_id': self.org_id, 'ca_file': self.ca_file}

    def identity_url(self, user_id15, org=None):
        return f'{self.base}/id/{sfid18(org or self.org_id)}/{sfid18(user_id15)}'

    # -- a browser on the stand-in's pages
    def authorize_url(self, redirect_uri=None, state=None, nonce=None, challenge=None, scope='openid id',
                      **extra):
        q = {'response_type': 'code', 'client_id': self.client_id,
             'redirect_uri': redirect_uri or self.redirect_uris[0], 'scope': scope,
             'state': state or secrets.token_urlsafe(16), 'nonce': nonce or secrets.token_urlsafe(16)}
        if challenge is not False:
            q.update({'code_challenge': challenge or pkce()[1], 'code_challenge_method': 'S256'})
        q.update(extra)
        return self.base + '/services/oauth2/authorize?' + urllib.parse.urlencode(q)

    def sign_in(self, authorize_url, username, password='demo', choice='allow', session=None):
        """Drive the login form and the "Allow Access?" page as a browser would.
        choice: 'allow', 'deny' or None (stop at the approval page).  Returns dict(location: the
        redirect out (None if none), status, page: the last page's text, session, steps: the pages
        seen ('login', 'approval'))."""
        s = session or self.session()
        steps = []
        r = s.get(authorize_url, allow_redirects=False, timeout=10)
        if r.status_code == 200 and 'id="Login"' in r.text:
            steps.append('login')
            f = parse_form(r.text)
            r = s.post(self.base + '/login', data=dict(f.fields, username=username, password=password),
                       allow_redirects=False, timeout=10)
        if r.status_code == 200 and 'id="oaapprove"' in r.text:
            steps.append('approval')
            if choice is not None:
                f = parse_form(r.text)
                button = {'allow': 'oaapprove', 'deny': 'oadeny'}[choice]
                r = s.post(self.base + '/services/oauth2/authorize',
                           data=dict(f.fields, **{button: 'Allow' if choice == 'allow' else 'Deny'}),
                           allow_redirects=False, timeout=10)
        loc = r.headers.get('Location') if r.status_code in (301, 302, 303) else None
        return {'location': loc, 'status': r.status_code, 'page': r.text, 'session': s, 'steps': steps}

    @staticmethod
    def redirect_params(location):
        """The query parameters of a redirect (one value each)."""
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))

    def redeem(self, code, verifier, redirect_uri=None, auth='basic', secret=None):
        """POST /services/oauth2/token (authorization_code, PKCE); returns the requests Response."""
        data = {'grant_type': 'authorization_code', 'code': code, 'redirect_uri': redirect_uri or self.redirect_uris[0],
                'code_verifier': verifier}
        secret = self.client_secret if secret is None else secret
        kw = {}
        if auth == 'basic':
            kw['auth'] = (self.client_id, secret)
        else:
            data.update({'client_id': self.client_id, 'client_secret': secret})
        return self.post('/services/oauth2/token', data=data, **kw)
