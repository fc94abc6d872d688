"""The pages a person sees (issue 7 item 5), in real headless Chromium against the demo stack.

    /usr/bin/python3 -m pytest tests/browser/test_chromium_pages.py

Every error kind is titled by its kind, the user_unmapped page names the Salesforce username, the
"Signed out" page's next steps work when clicked, the Allow page is exactly today's, and Back
after Allow never ends on "Sign-in refused (no_browser_binding)".  A screenshot of each page is
saved under the pytest basetemp, in pages-screenshots/ (the path is printed with -s).
"""
import os
import re
import signal
import subprocess
import time
import urllib.parse

import pytest
import requests

from test_chromium_signin import (DEMO, WAIT, Browser, decide, idp_login, start_stack,  # noqa: F401
                                  wait_consent)

selenium = pytest.importorskip('selenium', reason='python3-selenium is not installed (scripts/deps.txt)')
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope='module')
def stack(tmp_path_factory):
    """The demo stack with consent = always: every sign-in passes the Allow page."""
    run = str(tmp_path_factory.mktemp('demo-run-pages'))
    old = os.environ.get('DEMO_CONSENT')
    os.environ['DEMO_CONSENT'] = 'always'
    try:
        s = start_stack(run)
    finally:
        if old is None:
            del os.environ['DEMO_CONSENT']
        else:
            os.environ['DEMO_CONSENT'] = old
    yield s
    subprocess.run([DEMO, '--stop', run], capture_output=True, timeout=60)


@pytest.fixture(scope='module')
def shots(tmp_path_factory):
    d = tmp_path_factory.getbasetemp() / 'pages-screenshots'
    d.mkdir(exist_ok=True)
    yield str(d)
    print(f'page screenshots: {d}')


class PageBrowser(Browser):
    """Browser whose screenshots of one test share a folder with every other test's."""

    def __init__(self, outdir, prefix):
        super().__init__(outdir)
        self.prefix = prefix

    def shot(self, name):
        self.n += 1
        path = os.path.join(self.outdir, f'{self.prefix}-{self.n:02d}-{name}.png')
        self.d.save_screenshot(path)
        assert os.path.getsize(path) > 0
        return path

    def close(self):
        self.drain()
        self.d.quit()

    # -- what a page of the broker shows
    def title(self):
        return self.d.title

    def h1(self):
        return [e.text for e in self.d.find_elements(By.TAG_NAME, 'h1')]

    def link(self, ident):
        els = self.d.find_elements(By.ID, ident)
        return els[0] if els else None

    def links(self):
        return {a.get_attribute('id'): a.get_attribute('href') for a in self.d.find_elements(By.TAG_NAME, 'a')}

    def reason(self):
        m = re.search(r'Reason code:\s*(\S+)', self.text())
        return m.group(1) if m else None

    def request_id(self):
        m = re.search(r'Request ID:\s*([0-9a-f]{16})', self.text())
        return m.group(1) if m else None

    def doc_status(self):
        self.drain()
        return self.status.get(self.d.current_url.split('?')[0])


@pytest.fixture
def pb(shots, request):
    b = PageBrowser(shots, request.node.name.replace('test_', ''))
    yield b
    b.close()


def check_page(b, title, status, reason=None):
    """The page in the browser is titled `title` (tab and heading), answered `status`, shows the
    reason code and a request ID, and is plain HTML in English."""
    WebDriverWait(b.d, WAIT).until(lambda d: d.title != '')
    assert b.title() == title, f'title {b.title()!r}, expected {title!r}: {b.text()[:300]!r}'
    assert b.h1() == [title], b.h1()
    assert b.d.find_element(By.TAG_NAME, 'html').get_attribute('lang') == 'en'
    assert b.doc_status() == status, (b.doc_status(), b.docs[-3:])
    if reason is not None:
        assert b.reason() == reason, (b.reason(), b.text()[:300])
    assert b.request_id(), f'no request ID: {b.text()[:300]!r}'
    assert not b.d.find_elements(By.CSS_SELECTOR, 'script, img, link, iframe, object')


def reload_broker(stack, on):
    """Turn the demo tenant's SSO on or off in its file, SIGHUP the broker (the one this module's
    stack started) and wait until every worker serves the change."""
    path = os.path.join(stack['DEMO_RUN_DIR'], 'tenants.d', stack['TENANT'] + '.conf')
    with open(path) as f:
        text = f.read()
    with open(path, 'w') as f:
        f.write(re.sub(r'(?m)^enable_salesforce_sso = .*$', 'enable_salesforce_sso = ' + on, text))
    os.kill(int(stack['BROKER_PID']), signal.SIGHUP)
    want = 403 if on == 'false' else 302
    url = stack['BROKER_URL'] + '/t/demo/saml/login'
    served = lambda: all(requests.get(url, allow_redirects=False, timeout=5).status_code in
                         ((want,) if want == 403 else (302, 303)) for _ in range(6))
    deadline = time.monotonic() + 15
    while not served():
        assert time.monotonic() < deadline, f'the reload to enable_salesforce_sso = {on} is not served'
        time.sleep(0.3)


def finish_signin(b, stack, user):
    """From wherever a sign-in is (IdP login, Allow page, on its way), to the panel signed in."""
    for _ in range(4):
        text = b.wait_text(f'Signed in as {user}', 'Log in', 'Allow single sign-on')
        if f'Signed in as {user}' in text:
            return text
        if 'Log in' in text:
            idp_login(b, stack, user)
        else:
            wait_consent(b, stack)
            decide(b, stack, 'allow')
    raise AssertionError(f'no sign-in for {user}: {b.text()[:300]!r}')


def test_error_titles(stack, pb):
    b, pub = pb, stack['BROKER_URL']
    cases = [('/no/such/page', 'Not found', 404, 'http_no_route', 'not-found'),
             ('/t/demo/saml/acs', 'Method not allowed', 405, 'saml_method', 'method-not-allowed'),
             ('/t/demo/consent?tx=short', 'Bad request', 400, 'http_bad_param', 'bad-request'),
             ('/t/demo/consent?tx=' + 'A' * 43, 'This sign-in has expired', 403, 'no_browser_binding',
              'expired')]
    for path, title, status, reason, name in cases:
        b.d.get(pub + path)
        check_page(b, title, status, reason)
        b.shot(name)
        assert 'Sign-in refused' not in b.text()


def test_unmapped_page_names_the_username(stack, pb):
    b = pb
    b.d.get(stack['PANEL_URL'] + '/start')
    idp_login(b, stack, 'mallory@demo.example')
    b.wait_url(stack['BROKER_URL'])
    b.wait_text('Reason code')
    check_page(b, 'Sign-in refused', 403, 'user_unmapped')
    b.shot('user-unmapped')
    text = b.text()
    assert 'mallory@demo.example' in text, text
    assert '8x8 user mapping' in text and 'account administrator' in text, text
    assert b.link('signin-again') and b.link('back-to-panel'), b.links()
    b.link('back-to-panel').click()
    b.wait_text('Sign in with Salesforce')
    assert b.d.current_url.rstrip('/') == stack['PANEL_URL'], b.d.current_url
    b.shot('back-to-panel')


def test_allow_page_unchanged(stack, pb):
    b = pb
    b.d.get(stack['PANEL_URL'] + '/start')
    idp_login(b, stack, 'alice@demo.example')
    wait_consent(b, stack)
    check_page(b, 'Allow single sign-on to the communication panel?', 200)
    b.shot('allow-page')
    main = b.d.find_element(By.TAG_NAME, 'main').get_attribute('innerHTML')
    want = ('<h1>Allow single sign-on to the communication panel?</h1>'
            '<p><b>alice@demo.example</b> is signing in to the communication panel on extension '
            '<b>0101</b> with Salesforce single sign-on.</p>'
            '<p>Allow the communication panel to sign you in with your Salesforce account?</p>'
            '<form method="post" action="/t/demo/consent">'
            '<input type="hidden" name="tx" value="TX"><input type="hidden" name="csrf" value="CSRF">'
            '<button class="allow" type="submit" name="decision" value="allow">Allow</button>'
            '<button class="deny" type="submit" name="decision" value="deny">Deny</button></form>'
            '<p class="meta">Request ID: <code>RID</code></p>')
    got = re.sub(r'name="tx" value="[A-Za-z0-9_-]{43}"', 'name="tx" value="TX"', main)
    got = re.sub(r'name="csrf" value="[A-Za-z0-9_-]{43}"', 'name="csrf" value="CSRF"', got)
    got = re.sub(r'<code>[0-9a-f]{16}</code>', '<code>RID</code>', got)
    assert got == want, f'the Allow page changed:\n{main}'
    b.drain()
    h = {k.lower(): v for k, v in b.headers.get(b.d.current_url.split('?')[0], {}).items()}
    csp = h.get('content-security-policy', '')
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp, h
    assert re.search(r"form-action 'self' " + re.escape(stack['PANEL_URL']) + r"(;| )", csp), csp
    assert h.get('referrer-policy') == 'same-origin', h
    decide(b, stack, 'allow')
    b.wait_text('Signed in as alice@demo.example on extension 0101')
    b.shot('allowed')


def test_signed_out_links_work(stack, pb):
    b, panel = pb, stack['PANEL_URL']
    b.d.get(panel + '/start')
    finish_signin(b, stack, 'alice@demo.example')
    b.d.find_element(By.ID, 'signout').click()
    # the demo IdP has a SingleLogoutService: the page is the end of single logout
    b.wait_url(stack['BROKER_URL'] + '/t/demo/saml/slo')
    check_page(b, 'Signed out', 200)
    b.shot('signed-out')
    links = b.links()
    assert set(links) == {'signin-again', 'back-to-panel'}, links
    assert links['signin-again'].startswith(panel + '/start'), links
    assert links['back-to-panel'] == panel + '/', links
    b.link('back-to-panel').click()
    b.wait_text('Sign in with Salesforce')
    b.shot('signed-out-back-to-panel')
    b.d.back()
    # Back to the LogoutResponse: its InResponseTo was taken once (a refusal page), same links
    b.wait_url(stack['BROKER_URL'] + '/t/demo/saml/slo')
    b.link('signin-again').click()
    # single logout ended the demo IdP's session too: the password again; then the Allow page
    text = finish_signin(b, stack, 'alice@demo.example')
    assert 'on extension 0101' in text, text
    assert b.d.current_url.rstrip('/') == panel, b.d.current_url
    b.shot('signed-out-sign-in-again')


def test_denied_page(stack, pb):
    """IdP-initiated sign-in, then Deny: no panel request to answer, so the broker's page says it."""
    b = pb
    b.d.get(stack['IDP_URL'] + '/idp/')
    b.wait_text('Log in')
    b.d.find_element(By.ID, 'username').send_keys('bob@demo.example')
    b.d.find_element(By.ID, 'password').send_keys('demo')
    b.d.find_element(By.ID, 'Login').click()
    b.wait_text('App Launcher')
    b.d.find_element(By.ID, 'launch').click()
    wait_consent(b, stack)
    decide(b, stack, 'deny')
    b.wait_text('Reason code')
    check_page(b, 'Single sign-on was not allowed', 403, 'access_denied')
    b.shot('denied')
    assert b.link('back-to-panel'), b.links()


def signed_in_then_back(b, stack, user):
    """Sign in with Allow, then press Back once from the panel (to the Allow page)."""
    b.d.get(stack['PANEL_URL'] + '/start')
    idp_login(b, stack, user)
    wait_consent(b, stack)
    decide(b, stack, 'allow')
    b.wait_text(f'Signed in as {user}')
    back_to(b, stack['BROKER_URL'] + '/t/demo/consent')


def back_to(b, prefix):
    """Press Back and wait until Chromium has loaded a document under prefix (whatever it then
    shows: the broker may send it on), and that the page is complete."""
    b.drain()
    n = len(b.docs)
    b.d.back()
    deadline = time.monotonic() + WAIT
    while not any(u.startswith(prefix) for u, _ in b.docs[n:]):
        assert time.monotonic() < deadline, f'Back did not reach {prefix}: {b.docs[n:]}'
        time.sleep(0.2)
        b.drain()
    time.sleep(0.5)
    WebDriverWait(b.d, WAIT).until(lambda d: d.execute_script('return document.readyState') == 'complete')


def assert_standing(b, stack, user, text):
    """Where a person stands after Back: signed in (the broker's page, whose link continues to
    the panel; consent = always asks again there), or at the panel already."""
    assert 'no_browser_binding' not in text and b.title() not in ('Sign-in refused', 'This sign-in has expired'), \
        f'{b.title()}: {text[:400]!r}'
    assert b.title() == 'You are signed in' or f'Signed in as {user}' in text, f'{b.title()}: {text[:400]!r}'
    if b.title() == 'You are signed in':
        assert user in text, text
        b.shot('you-are-signed-in')
        assert b.link('continue'), b.links()
        b.link('continue').click()
        finish_signin(b, stack, user)
        b.shot('continued-to-panel')


def test_back_to_allow_page_after_allow(stack, pb):
    b = pb
    signed_in_then_back(b, stack, 'bob@demo.example')
    text = b.wait_text('You are signed in', 'Signed in as', 'Reason code')
    b.shot('back-to-allow-page')
    assert_standing(b, stack, 'bob@demo.example', text)


def repost_acs(b, stack, body):
    """POST body (form-urlencoded) to the ACS again from a page of the demo IdP's site, by a click:
    what Back and "resubmit", or a reload of a page the ACS answered, does."""
    b.d.get(stack['IDP_URL'] + '/healthz')
    fields = [(k, v) for k, vs in urllib.parse.parse_qs(body).items() for v in vs]
    b.d.execute_script("""
        var f = document.createElement('form');
        f.method = 'post'; f.action = arguments[0];
        arguments[1].forEach(function (kv) {
            var i = document.createElement('input');
            i.type = 'hidden'; i.name = kv[0]; i.value = kv[1]; f.appendChild(i);
        });
        var s = document.createElement('button'); s.id = 'repost'; s.textContent = 'Continue';
        f.appendChild(s); document.body.appendChild(f);""",
        stack['BROKER_URL'] + '/t/demo/saml/acs', fields)
    b.drain()
    n = len(b.docs)
    b.d.find_element(By.ID, 'repost').click()
    deadline = time.monotonic() + WAIT
    while not any(u.endswith('/saml/acs') for u, _ in b.docs[n:]):
        assert time.monotonic() < deadline, f'the ACS was not posted to: {b.docs[n:]}'
        time.sleep(0.2)
        b.drain()
    time.sleep(0.5)


def test_back_to_acs_after_allow(stack, pb):
    """The SAMLResponse of a finished sign-in posted to the ACS again, in the browser that holds the
    session.  (Chromium's Back skips the IdP's self-submitting page, as it skips every page that
    moved on without a user gesture, so the test posts the same form again by a click instead.)"""
    b = pb
    b.d.get(stack['PANEL_URL'] + '/start')
    finish_signin(b, stack, 'bob@demo.example')
    b.drain()
    assert b.acs_posts, 'Chromium\'s log shows no ACS POST body'
    repost_acs(b, stack, b.acs_posts[-1])
    text = b.wait_text('You are signed in', 'Signed in as', 'Reason code')
    b.shot('back-to-acs')
    assert_standing(b, stack, 'bob@demo.example', text)


def test_sso_off_page(stack, pb):
    b = pb
    reload_broker(stack, 'false')
    try:
        b.d.get(stack['BROKER_URL'] + '/t/demo/saml/login')
        check_page(b, 'Single sign-on is not enabled for this account', 403, 'sso_disabled')
        b.shot('sso-off')
        assert set(b.links()) == {'back-to-panel'}, b.links()
    finally:
        reload_broker(stack, 'true')


def test_service_unavailable_page(stack, pb):
    """Redis stopped (SIGSTOP to the demo's own redis-server): the sign-in start times out."""
    b, pid = pb, int(stack['REDIS_PID'])
    os.kill(pid, signal.SIGSTOP)
    try:
        b.d.get(stack['BROKER_URL'] + '/t/demo/saml/login')
        check_page(b, 'Service unavailable', 503)
        assert 'try again in a moment' in b.text()
        b.shot('service-unavailable')
    finally:
        os.kill(pid, signal.SIGCONT)
