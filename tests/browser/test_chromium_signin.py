"""End-to-end sign-in in real headless Chromium against the demo stack (scripts/demo.sh).

    /usr/bin/python3 -m pytest tests/browser            (needs: chromium chromium-driver python3-selenium)

The stack (redis, broker, demo IdP, demo panel) is started once per module by
`scripts/demo.sh --background` on free ports in a temporary run folder and stopped with
`scripts/demo.sh --stop`.  Set DEMO_BUILD_DIR to use another build (default ./build; built by
scripts/bootstrap.sh when missing).  Screenshots, cookie dumps and Chromium's own cookie verdicts
(from the DevTools performance log) are written to each test's tmp dir.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest

selenium = pytest.importorskip('selenium', reason='python3-selenium is not installed (scripts/deps.txt)')
from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import TimeoutException, WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(TOP, 'scripts', 'demo.sh')
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
WAIT = 20
DEMO_COOKIES = ('demo_panel_session', 'demo_idp_session')


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(('127.0.0.1', 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f:
            if '=' in line:
                k, v = line.rstrip('\n').split('=', 1)
                env[k] = v
    return env


def logs_of(run):
    out = []
    for n in ('broker.log', 'idp.log', 'sfdc.log', 'panel.log', 'redis.log', 'check-config.log',
              'import.log'):
        p = os.path.join(run, n)
        if os.path.exists(p):
            with open(p, errors='replace') as f:
                out.append(f'--- {n} (tail)\n' + ''.join(f.readlines()[-40:]))
    return '\n'.join(out)


def start_stack(run, idp_host='127.0.0.1'):
    panel, pub, adm, idp, sfdc = free_ports(5)
    env = dict(os.environ, DEMO_RUN_DIR=run, DEMO_PANEL_PORT=str(panel), DEMO_BROKER_PORT=str(pub),
               DEMO_ADMIN_PORT=str(adm), DEMO_IDP_PORT=str(idp), DEMO_IDP_HOST=idp_host,
               DEMO_SFDC_PORT=str(sfdc))
    build = os.environ.get('DEMO_BUILD_DIR', os.path.join(TOP, 'build'))
    if os.access(os.path.join(build, 'broker', 'sso-broker'), os.X_OK):
        env.setdefault('DEMO_SKIP_BUILD', '1')
    p = subprocess.run([DEMO, '--background'], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=900)
    if p.returncode != 0:
        subprocess.run([DEMO, '--stop', run], capture_output=True, timeout=60)
        pytest.fail(f'scripts/demo.sh --background failed ({p.returncode}):\n{p.stderr}\n{logs_of(run)}')
    return read_env(os.path.join(run, 'ready.env'))


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    run = str(tmp_path_factory.mktemp('demo-run'))
    s = start_stack(run)
    yield s
    subprocess.run([DEMO, '--stop', run], capture_output=True, timeout=60)


class Browser:
    """A headless Chromium with a recorder of what it did to cookies (DevTools performance log)."""

    def __init__(self, outdir):
        self.outdir = outdir
        os.makedirs(outdir, exist_ok=True)
        o = webdriver.ChromeOptions()
        o.binary_location = CHROMIUM
        # The stand-in Salesforce is https with the demo CA (certs/gen-demo-pki.sh), which this
        # throwaway browser profile does not trust; the broker itself is checked by its own CA.
        for a in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1200,900',
                  '--no-first-run', '--disable-gpu', '--lang=en-US', '--ignore-certificate-errors'):
            o.add_argument(a)
        o.set_capability('goog:loggingPrefs', {'performance': 'ALL'})
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
        self.d.set_page_load_timeout(WAIT)
        self.steps = []            # (step, cookies) as get_cookies() saw them
        self.blocked_set = []      # Set-Cookie lines Chromium refused, with its reasons
        self.blocked_sent = []     # cookies Chromium did not send, with its reasons
        self.status = {}           # document URL -> HTTP status
        self.urls = {}             # DevTools request id -> URL
        self.docs = []             # (document URL, HTTP status), redirects included, in order
        self.sent = []             # (URL, Origin / Sec-Fetch-Site / Referer request headers)
        self.headers = {}          # document URL (no query) -> its response headers, the last seen
        self.acs_posts = []        # bodies of the form POSTs to a SAML ACS, in order
        self.n = 0

    def drain(self):
        """Read Chromium's DevTools events: document statuses and every cookie it refused to store or
        to send, with its own reason (NotOnPath / DomainMismatch, i.e. cookies not meant for the
        request, are left out)."""
        try:
            entries = self.d.get_log('performance')
        except WebDriverException:
            return
        for e in entries:
            m = json.loads(e['message'])['message']
            p = m.get('params', {})
            meth = m.get('method')
            if meth == 'Network.requestWillBeSent':
                self.urls[p.get('requestId')] = p.get('request', {}).get('url', '').split('?')[0]
                rq = p.get('request', {})
                if rq.get('method') == 'POST' and rq.get('url', '').endswith('/saml/acs') and rq.get('postData'):
                    self.acs_posts.append(rq['postData'])
                rr = p.get('redirectResponse')
                if rr and p.get('type') == 'Document':
                    self.docs.append((rr['url'].split('?')[0], rr['status']))
            elif meth == 'Network.responseReceived' and p.get('type') == 'Document':
                self.status[p['response']['url'].split('?')[0]] = p['response']['status']
                self.headers[p['response']['url'].split('?')[0]] = p['response'].get('headers', {})
                self.docs.append((p['response']['url'].split('?')[0], p['response']['status']))
            elif meth == 'Network.responseReceivedExtraInfo':
                for b in p.get('blockedCookies', []):
                    self.blocked_set.append({'reasons': b.get('blockedReasons'),
                                             'set_cookie': re.sub(r'=[^;]*', '=(value hidden)',
                                                                  b.get('cookieLine', ''), count=1),
                                             'response': self.urls.get(p.get('requestId'), '')})
            elif meth == 'Network.requestWillBeSentExtraInfo':
                h = p.get('headers', {})
                if 'Origin' in h or 'Sec-Fetch-Site' in h:
                    self.sent.append((self.urls.get(p.get('requestId'), '?'),
                                      {k: v for k, v in h.items() if k in ('Origin', 'Sec-Fetch-Site', 'Referer')}))
                for c in p.get('associatedCookies', []):
                    why = [r for r in c.get('blockedReasons') or [] if r not in ('NotOnPath', 'DomainMismatch')]
                    if why and len(why) == len(c.get('blockedReasons')):
                        self.blocked_sent.append({'reasons': why, 'cookie': c.get('cookie', {}).get('name'),
                                                  'request_id': p.get('requestId')})
        for b in self.blocked_sent:
            if 'request_id' in b:
                b['request'] = self.urls.get(b.pop('request_id'), '?')

    def cookies(self, step):
        """Record the browser's cookies (values hidden) after a step, as Chromium holds them."""
        self.drain()
        cs = [{k: c.get(k) for k in ('name', 'domain', 'path', 'secure', 'httpOnly', 'sameSite', 'expiry')}
              for c in self.d.get_cookies()]
        self.steps.append({'step': step, 'url': self.d.current_url.split('?')[0], 'cookies': cs})
        return cs

    def shot(self, name):
        self.n += 1
        path = os.path.join(self.outdir, f'{self.n:02d}-{name}.png')
        self.d.save_screenshot(path)
        return path

    def text(self):
        # the page may change under us (auto-submitting forms, redirects): retry on a stale DOM
        for _ in range(5):
            try:
                return self.d.find_element(By.TAG_NAME, 'body').text
            except WebDriverException:
                time.sleep(0.2)
        return ''

    def wait_text(self, *needles, timeout=WAIT):
        try:
            WebDriverWait(self.d, timeout).until(lambda d: any(n in self.text() for n in needles))
        except TimeoutException:
            self.shot('timeout')
            raise AssertionError(f'none of {needles!r} appeared; at {self.d.current_url.split("?")[0]} '
                                 f'the page says: {self.text()[:600]!r}\n{self.report()}')
        return self.text()

    def wait_url(self, prefix, timeout=WAIT):
        try:
            WebDriverWait(self.d, timeout).until(lambda d: d.current_url.startswith(prefix))
        except TimeoutException:
            self.shot('timeout')
            raise AssertionError(f'never reached {prefix}; at {self.d.current_url.split("?")[0]}: '
                                 f'{self.text()[:600]!r}\n{self.report()}')

    def report(self):
        self.drain()
        return json.dumps({'blocked_set_cookie': self.blocked_set, 'blocked_sent_cookie': self.blocked_sent,
                           'steps': self.steps[-4:]}, indent=1)

    def close(self):
        self.drain()
        with open(os.path.join(self.outdir, 'cookies.json'), 'w') as f:
            json.dump({'steps': self.steps, 'blocked_set_cookie': self.blocked_set,
                       'blocked_sent_cookie': self.blocked_sent, 'documents': self.docs}, f, indent=1)
        self.d.quit()


@pytest.fixture
def browser(tmp_path):
    b = Browser(str(tmp_path))
    yield b
    b.close()
    print(f'screenshots and cookie log: {tmp_path}')


def idp_stats(stack):
    with urllib.request.urlopen(stack['IDP_URL'] + '/idp/_stats', timeout=5) as r:
        return json.load(r)


def idp_login(b, stack, user):
    b.wait_text('Salesforce (demo)')
    assert b.d.current_url.startswith(stack['IDP_URL'] + '/idp/sso'), b.d.current_url
    assert 'Log in' in b.d.title
    b.cookies('idp-login-form')
    b.d.find_element(By.ID, 'username').send_keys(user)
    b.d.find_element(By.ID, 'password').send_keys('demo')
    b.d.find_element(By.ID, 'Login').click()


def decision_button(b, choice):
    for el in b.d.find_elements(By.CSS_SELECTOR, f'[name="decision"][value="{choice}"]'):
        return el
    for el in b.d.find_elements(By.CSS_SELECTOR, 'button, input[type=submit]'):
        if choice in (el.text + ' ' + (el.get_attribute('value') or '')).lower():
            return el
    raise AssertionError(f'no {choice} button on the consent page: {b.text()[:400]!r}')


def decide(b, stack, choice):
    """Click Allow or Deny; if the broker refuses the POST as cross-site, say what Chromium sent."""
    decision_button(b, choice).click()
    time.sleep(0.5)
    if 'csrf_failed' in b.text():
        b.shot(f'{choice}-refused')
        b.drain()
        sent = [h for u, h in b.sent if u.startswith(stack['BROKER_URL'] + '/t/demo/consent')]
        raise AssertionError(f'the broker refused the {choice} POST from its own consent page as cross-site '
                             f'(csrf_failed); Chromium sent {sent[-1:]}: {b.text()[:300]!r}')


def wait_consent(b, stack):
    b.wait_url(stack['BROKER_URL'] + '/t/demo/consent')
    WebDriverWait(b.d, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[name="decision"]'))
    b.cookies('consent-page')


def broker_cookies(cs):
    return [c for c in cs if c['name'] not in DEMO_COOKIES]


def test_sign_in_allow_then_sign_in_once(stack, browser):
    b, panel, pub = browser, stack['PANEL_URL'], stack['BROKER_URL']
    b.d.get(panel + '/')
    assert 'Sign in with Salesforce' in b.wait_text('Sign in with Salesforce')
    b.cookies('panel-landing')
    b.d.find_element(By.ID, 'signin').click()
    idp_login(b, stack, 'alice@demo.example')

    wait_consent(b, stack)
    text = b.text()
    shot = b.shot('allow-page')
    assert os.path.getsize(shot) > 0
    assert 'allow' in text.lower(), text
    b.drain()
    assert b.status.get(b.d.current_url.split('?')[0], 200) == 200, b.docs
    decide(b, stack, 'allow')

    text = b.wait_text('Signed in as alice@demo.example on extension 0101', 'Sign-in failed')
    after = b.cookies('panel-signed-in')
    shot = b.shot('signed-in')
    assert 'Signed in as alice@demo.example on extension 0101' in text, text
    assert '1001' in text and 'demo' in text
    assert 'Token expires' in text

    # The broker's cookies as Chromium keeps them on http://127.0.0.1
    bc = broker_cookies(after)
    assert bc, f'Chromium holds no broker cookie after sign-in: {b.report()}'
    for c in bc:
        assert c['httpOnly'], f'broker cookie {c["name"]} is not HttpOnly'
        assert c['sameSite'] in ('Lax', 'None'), f'broker cookie {c["name"]} has SameSite={c["sameSite"]}'
    assert not [x for x in b.blocked_set if 'demo_' not in x['set_cookie']], \
        f'Chromium refused broker Set-Cookie headers: {b.blocked_set}'

    # sign in once: a second panel sign-in in the same browser needs neither the IdP nor consent
    before = idp_stats(stack)
    b.d.get(panel + '/start')
    text = b.wait_text('Signed in as alice@demo.example on extension 0101', 'Sign-in failed', 'Log in')
    b.cookies('second-sign-in')
    assert 'Signed in as alice@demo.example on extension 0101' in text, text
    assert idp_stats(stack)['sso_requests'] == before['sso_requests'], 'the second sign-in went to the IdP'

    # IdP-initiated: the Salesforce app launcher -> broker ACS -> panel initiate_login_uri -> signed in
    b.d.get(stack['IDP_URL'] + '/idp/')
    b.wait_text('App Launcher')
    b.d.find_element(By.ID, 'launch').click()
    text = b.wait_text('Signed in as alice@demo.example on extension 0101', 'Sign-in failed', 'Error')
    b.cookies('idp-initiated')
    assert 'Signed in as alice@demo.example on extension 0101' in text, text
    b.shot('idp-initiated')

    # sign out: revoke, broker /logout and single logout at the IdP; the next sign-in goes back to
    # the IdP, which asks for the password again (test_sign_out_through_slo checks that in detail)
    b.d.find_element(By.ID, 'signout').click()
    b.wait_text('You are signed out here and at Salesforce', 'signed out here only')
    b.cookies('after-logout')
    b.shot('logout')
    before = idp_stats(stack)
    b.d.get(panel + '/start')
    idp_login(b, stack, 'alice@demo.example')
    text = b.wait_text('Signed in as alice@demo.example on extension 0101', 'Sign-in failed', 'Allow')
    assert idp_stats(stack)['sso_requests'] == before['sso_requests'] + 1, 'after /logout the broker did not ask the IdP'
    assert 'Signed in as alice@demo.example' in text, 'consent was asked again after first_use Allow: ' + text


def test_sign_out_through_slo(stack, browser):
    """Sign in at the demo IdP (lasso) with the password, sign out at the panel: the broker sends a
    signed LogoutRequest, the IdP ends its session and answers; the next sign-in must type the
    password again."""
    b, panel, pub = browser, stack['PANEL_URL'], stack['BROKER_URL']
    b.d.get(panel + '/start')
    idp_login(b, stack, 'alice@demo.example')
    text = b.wait_text('Allow', 'Signed in as alice@demo.example', 'Sign-in failed')
    if 'Signed in as alice' not in text:
        wait_consent(b, stack)
        decide(b, stack, 'allow')
    text = b.wait_text('Signed in as alice@demo.example', 'Sign-in failed')
    assert 'Signed in as alice@demo.example' in text, text
    # with the IdP session alive, a sign-in needs no password (the control)
    b.d.get(stack['IDP_URL'] + '/idp/')
    assert 'App Launcher' in b.wait_text('App Launcher', 'Log in')
    before = idp_stats(stack)
    b.d.get(panel + '/signout')
    text = b.wait_text('You are signed out here and at Salesforce', 'signed out here only', 'Sign-in refused')
    b.shot('slo-signed-out')
    assert 'You are signed out here and at Salesforce' in text, text
    assert b.d.current_url.startswith(pub + '/t/demo/saml/slo'), b.d.current_url
    assert idp_stats(stack)['slo_requests'] == before['slo_requests'] + 1, 'the IdP saw no LogoutRequest'
    # the IdP session ended: its launcher asks for the password
    b.d.get(stack['IDP_URL'] + '/idp/')
    assert 'Log in' in b.wait_text('App Launcher', 'Log in')
    # and a new sign-in from the panel shows the password form again
    before = idp_stats(stack)
    b.d.get(panel + '/start')
    b.wait_text('Salesforce (demo)')
    assert b.d.current_url.startswith(stack['IDP_URL'] + '/idp/sso'), b.d.current_url
    assert b.d.find_elements(By.ID, 'password'), 'no password field: the IdP session survived the logout'
    idp_login(b, stack, 'alice@demo.example')
    text = b.wait_text('Signed in as alice@demo.example', 'Sign-in failed', 'Allow')
    assert 'Signed in as alice@demo.example' in text, text
    assert idp_stats(stack)['sso_requests'] == before['sso_requests'] + 1


def test_unmapped_user_gets_error_page(stack, browser):
    b = browser
    b.d.get(stack['PANEL_URL'] + '/start')
    idp_login(b, stack, 'mallory@demo.example')
    b.wait_url(stack['BROKER_URL'])
    text = b.wait_text('user_unmapped', 'rror', 'efused', 'not')
    b.cookies('unmapped-error')
    b.shot('unmapped-error')
    b.drain()
    last = [d for d in b.docs if d[0].startswith(stack['BROKER_URL'])][-1:]
    assert last and last[0][1] == 403, f'the broker\'s error page for an unmapped user is not a 403: {b.docs}'
    assert 'user_unmapped' in text, f'no reason code on the error page: {text!r}'
    assert re.search(r'(?i)request\s*(id)?\W+\S{6,}', text), f'no request id on the error page: {text!r}'
    assert 'Signed in' not in text


def test_deny_on_allow_page(stack, browser):
    b = browser
    b.d.get(stack['PANEL_URL'] + '/')
    b.d.find_element(By.ID, 'signin').click()
    idp_login(b, stack, 'bob@demo.example')
    wait_consent(b, stack)
    b.shot('allow-page-bob')
    decide(b, stack, 'deny')
    text = b.wait_text('You denied single sign-on', 'Sign-in failed')
    b.cookies('denied')
    b.shot('denied')
    assert 'You denied single sign-on' in text, text


def test_bob_allow_first_extension(stack, browser):
    """bob has two extensions, "0102;0199": the panel signs in to the first."""
    b = browser
    b.d.get(stack['PANEL_URL'] + '/start')
    idp_login(b, stack, 'bob@demo.example')
    wait_consent(b, stack)
    decide(b, stack, 'allow')
    text = b.wait_text('Signed in as bob@demo.example on extension 0102', 'Sign-in failed')
    b.shot('signed-in-bob')
    assert 'Signed in as bob@demo.example on extension 0102' in text, text


@pytest.fixture(scope='module')
def cross_site_stack(tmp_path_factory, stack):
    """The same stack with the IdP at http://localhost: the ACS POST is then a real cross-site POST,
    which only a SameSite=None; Secure cookie survives."""
    run = str(tmp_path_factory.mktemp('demo-run-xsite'))
    s = start_stack(run, idp_host='localhost')
    yield s
    subprocess.run([DEMO, '--stop', run], capture_output=True, timeout=60)


def test_cross_site_acs_post(cross_site_stack, browser):
    b, stack = browser, cross_site_stack
    b.d.get(stack['PANEL_URL'] + '/start')
    b.wait_url(stack['IDP_URL'] + '/idp/sso')
    idp_login(b, stack, 'alice@demo.example')
    text = b.wait_text('Allow', 'Signed in as', 'rror', 'efused')
    b.cookies('cross-site-after-acs')
    b.shot('cross-site-after-acs')
    assert b.d.current_url.startswith(stack['BROKER_URL'] + '/t/demo/consent'), \
        f'cross-site ACS POST did not reach the Allow page: {b.d.current_url.split("?")[0]} {text[:400]!r}\n{b.report()}'
    decide(b, stack, 'allow')
    text = b.wait_text('Signed in as alice@demo.example on extension 0101', 'Sign-in failed')
    assert 'Signed in as alice@demo.example on extension 0101' in text, text


def sfdc_login(b, stack, user):
    """The stand-in Salesforce's login form (demo/sfdc_oauth.py)."""
    b.wait_url(stack['SFDC_URL'])
    WebDriverWait(b.d, WAIT).until(lambda d: d.find_elements(By.ID, 'Login'))
    b.shot('sfdc-login')
    b.d.find_element(By.ID, 'username').send_keys(user)
    b.d.find_element(By.ID, 'password').send_keys('demo')
    b.d.find_element(By.ID, 'Login').click()


def test_oauth_allow_signs_in(stack, browser):
    """The OAuth way in: Salesforce's "Allow Access?", then the broker's Allow page, then the panel
    signed in on the right extension; the next sign-in is silent."""
    b, panel, pub = browser, stack['PANEL_URL'], stack['BROKER_URL']
    b.d.get(panel + '/')
    b.wait_text('Sign in with Salesforce')
    b.d.find_element(By.ID, 'signin-oauth').click()
    sfdc_login(b, stack, 'bob@demo.example')
    WebDriverWait(b.d, WAIT).until(lambda d: d.find_elements(By.ID, 'oaapprove'))
    b.shot('sfdc-allow-access')
    assert 'Allow' in b.text()
    b.d.find_element(By.ID, 'oaapprove').click()
    b.wait_url(pub + '/t/demo-oauth/consent')
    WebDriverWait(b.d, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, '[name="decision"]'))
    b.shot('broker-allow-page')
    decision_button(b, 'allow').click()
    text = b.wait_text('Signed in as bob@demo.example on extension', 'Sign-in failed', 'refused')
    b.shot('oauth-signed-in')
    assert 'Signed in as bob@demo.example on extension' in text, text
    assert 'demo-oauth' in text
    # Sign in once: the panel's next sign-in needs neither Salesforce nor the Allow page.
    b.d.get(panel + '/start?way=oauth')
    text = b.wait_text('Signed in as bob@demo.example on extension', 'Sign-in failed', 'Log In')
    assert 'Signed in as bob@demo.example' in text, text


def test_oauth_deny_at_salesforce(stack, browser):
    """Deny on Salesforce's "Allow Access?": the panel hears access_denied; no session."""
    b, panel = browser, stack['PANEL_URL']
    b.d.get(panel + '/')
    b.wait_text('Sign in with Salesforce')
    b.d.find_element(By.ID, 'signin-oauth').click()
    sfdc_login(b, stack, 'alice@demo.example')
    WebDriverWait(b.d, WAIT).until(lambda d: d.find_elements(By.ID, 'oadeny'))
    b.d.find_element(By.ID, 'oadeny').click()
    text = b.wait_text('You denied single sign-on', 'Sign-in failed', 'refused', 'not allowed')
    b.shot('oauth-denied')
    assert 'You denied single sign-on' in text, text
