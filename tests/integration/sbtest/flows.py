"""A running broker plus its IdPs and users, and the checks every hostile case repeats."""
import itertools
import json
import os
import subprocess
import time

import requests

from . import env
from .browser import Browser, Panel, code_from, is_deletion, set_cookies, sp_info
from .idp import XmlIdP

USERS_CSV = ('8x8 Internal ID,User Name,First Name,Last Name,Email,Extension,Salesforce ID\n'
             '1001,alice,Alice,Smith,alice@acme.example,0101;0102,alice@acme.example\n'
             '1002,bob,Bob,Jones,bob@acme.example,0102,bob@acme.example\n'
             '1003,carol,Carol,King,carol@acme.example,0103,carol@acme.example\n'
             + ''.join(f'{2000 + i},user{i:02d},User,{i:02d},user{i:02d}@acme.example,{2000 + i},user{i:02d}@acme.example\n'
                       for i in range(1, 121)))
BETA_CSV = ('8x8 Internal ID,User Name,Extension,Salesforce ID\n'
            '3001,dave,0301,dave@beta.example\n'
            + ''.join(f'{3100 + i},beta{i:02d},{3100 + i},beta{i:02d}@beta.example\n' for i in range(1, 11)))


def ssoctl(broker, *args, input=None, timeout=30):
    exe = env.ssoctl_bin()
    if not exe:
        raise AssertionError(f'no ssoctl under {env.BUILD}')
    e = dict(os.environ, SSOCTL_TOKEN=broker.pki.admin_token)
    return subprocess.run([exe, '--url', broker.admin, *args], capture_output=True, text=True,
                          input=input, env=e, timeout=timeout)


def admin(broker, method, path, token=True, **kw):
    h = kw.pop('headers', {})
    if token is True:
        h['Authorization'] = 'Bearer ' + broker.pki.admin_token
    elif token:
        h['Authorization'] = token
    kw.setdefault('timeout', 15)
    kw.setdefault('verify', broker.verify)
    return requests.request(method, broker.admin + path, headers=h, **kw)


def import_users(broker, tenant, csv_text, workdir):
    """Load a mapping with ssoctl (falling back to the admin API so other tests still run)."""
    p = os.path.join(workdir, f'{tenant}-users.csv')
    with open(p, 'w') as f:
        f.write(csv_text)
    r = ssoctl(broker, '--tenant', tenant, 'users', 'import', p, '--allow-new')
    if r.returncode == 0:
        return None
    a = admin(broker, 'POST', f'/api/v1/tenants/{tenant}/users.csv?allow_new=1', data=csv_text.encode(),
              headers={'Content-Type': 'text/csv'})
    if a.status_code != 200:
        raise RuntimeError(f'mapping import failed: ssoctl rc={r.returncode} {r.stderr.strip()[:200]}; '
                           f'API {a.status_code} {a.text[:200]}')
    return f'ssoctl import failed (rc={r.returncode}: {r.stderr.strip()[:200]}); the admin API worked'


class Env:
    """A broker with its tenants' SP facts, an XML IdP per tenant and a pool of fresh users."""

    def __init__(self, broker, workdir, users=True):
        self.b = broker
        self.workdir = workdir
        self.sp = {}
        self.idp = {}
        self.import_note = None
        for tid, t in broker.tenants.items():
            try:
                ent, acs, md = sp_info(broker, tid)
            except AssertionError:
                ent, acs, md = None, None, None
            if not ent:
                ent, acs = f'{broker.pub}/t/{tid}/saml/metadata', f'{broker.pub}/t/{tid}/saml/acs'
            self.sp[tid] = (ent, acs, md)
            key = broker.pki.key('idp' if tid != 'beta' else 'idp2')
            cert = broker.pki.cert('idp' if tid != 'beta' else 'idp2')
            self.idp[tid] = XmlIdP(t.idp_entity, key, cert, ent, acs)
        if users:
            self.import_note = import_users(broker, 'acme', USERS_CSV, workdir) if 'acme' in broker.tenants else None
            if 'beta' in broker.tenants:
                import_users(broker, 'beta', BETA_CSV, workdir)
        self._fresh = itertools.count(1)

    def fresh_user(self):
        """A mapped acme user no earlier test has used in this broker (fresh consent state)."""
        n = next(self._fresh)
        assert n <= 120, 'user pool exhausted'
        return f'user{n:02d}@acme.example', str(2000 + n), str(2000 + n)

    def browser(self):
        return Browser(self.b)

    def panel(self, tenant='acme'):
        return Panel(self.b, tenant)

    def audit_len(self):
        return len(self.b.audit())

    def new_audit(self, since, event=None, timeout=3.0):
        """Audit records appended after index `since` (optionally only one event), polled briefly."""
        def get():
            recs = self.b.audit()[since:]
            return [r for r in recs if event is None or r.get('event') == event]
        return env.wait_for(get, timeout) or []

    def signin(self, user='alice@acme.example', tenant='acme', choice='allow', browser=None,
               idp=None, **kw):
        """The whole SP-initiated sign-in; returns dict(code, state, error, verifier, browser, out, login)."""
        br = browser or self.browser()
        login = br.start_login(tenant)
        if idp is None:
            resp = self.idp[tenant].good(user, login.rid, **kw)
            from .idp import b64
            saml, relay = b64(resp), login.relay
        else:
            saml, relay, _ = idp.answer(login.idp_url, user, **kw)
        out = br.post_acs(tenant, saml, relay)
        out = br.finish(out, choice)
        code, state, err = code_from(out, self.b.tenant(tenant).redirect_uri)
        return {'code': code, 'state': state, 'error': err, 'verifier': login.verifier, 'browser': br,
                'out': out, 'login': login, 'expected_state': login.state, 'saml': saml}

    def token_for(self, user='alice@acme.example', tenant='acme'):
        r = self.signin(user, tenant)
        assert r['code'], describe(r['out'])
        t = self.panel(tenant).token(r['code'], r['verifier'])
        assert t.status_code == 200, t.text
        return t.json()['access_token']

    # -- the checks every hostile case repeats
    def snapshot(self):
        return {'keys': self.b.keys(), 'audit': self.audit_len()}

    def expect_rejected(self, out, snap, slugs, tenant='acme', status=None, audit=True):
        """No sign-in happened: status, no session cookie, no code, the audit reason, no new
        Redis keys, /healthz still 200.  slugs: the acceptable reason codes."""
        slugs = {slugs} if isinstance(slugs, str) else set(slugs)
        r = out.chain[0]
        problems = []
        code, _, _ = code_from(out, self.b.tenant(tenant).redirect_uri)
        if out.kind in ('form', 'away') or r.status_code < 400:
            problems.append(f'not refused: {describe(out)}')
        if code:
            problems.append('a code was issued')
        cookies = [c for resp in out.chain for c in set_cookies(resp) if not is_deletion(c)]
        if cookies:
            problems.append(f'Set-Cookie on a refused sign-in: {cookies}')
        rec = None
        if audit:
            recs = self.new_audit(snap['audit'], 'assertion')
            rec = recs[-1] if recs else None
            if rec is None:
                problems.append('no new audit record with event "assertion"')
            else:
                if rec.get('outcome') != 'rejected':
                    problems.append(f'audit outcome {rec.get("outcome")!r}')
                if rec.get('reason') not in slugs:
                    problems.append(f'audit reason {rec.get("reason")!r}, expected one of {sorted(slugs)}')
        want = status
        if want is None:
            got_slug = rec.get('reason') if rec and rec.get('reason') in slugs else sorted(slugs)[0]
            want = env.http_of(got_slug)
        if want is not None and r.status_code != want:
            problems.append(f'HTTP {r.status_code}, expected {want}')
        if r.status_code == 200:
            problems.append('an error page with 200')
        new_keys = {k for k in self.b.keys() - snap['keys'] if 'audit' not in k.lower()}
        if new_keys:
            problems.append(f'new Redis keys: {sorted(new_keys)[:5]}')
        if not self.b.healthy():
            problems.append('/healthz not 200 afterwards')
        assert not problems, '; '.join(problems) + f' [audit: {json.dumps(rec)[:300] if rec else None}]'
        return rec


def describe(out):
    return f'{out.kind} {out.url} HTTP {out.resp.status_code} {out.resp.text[:160]!r}'
