"""Atomicity under concurrency: one code, one SAMLResponse, 50 times at once."""
import concurrent.futures

from sbtest.browser import Browser, code_from
from sbtest.flows import describe
from sbtest.idp import b64


def test_code_redeemed_50_times_at_once(acme):
    r = acme.signin(acme.fresh_user()[0])
    assert r['code'], describe(r['out'])
    p = acme.panel()
    with concurrent.futures.ThreadPoolExecutor(50) as ex:
        res = list(ex.map(lambda _: p.token(r['code'], r['verifier']), range(50)))
    statuses = [x.status_code for x in res]
    assert statuses.count(200) == 1, f'{statuses.count(200)} successes: {sorted(set(statuses))}'
    assert all(x.status_code == 400 and x.json().get('error') == 'invalid_grant' for x in res if x.status_code != 200)
    assert acme.b.healthy()


def test_saml_response_posted_50_times_at_once(acme):
    user, _, _ = acme.fresh_user()
    br = acme.browser()
    login = br.start_login()
    saml = b64(acme.idp['acme'].good(user, login.rid))
    redirect_uri = acme.b.tenant().redirect_uri

    def once(_):
        bb = Browser(acme.b)
        bb.s.cookies.update(br.s.cookies)
        out = bb.post_acs('acme', saml, login.relay)
        signed_in = out.kind == 'form' or code_from(out, redirect_uri)[0] is not None
        return signed_in, out.chain[0].status_code
    with concurrent.futures.ThreadPoolExecutor(50) as ex:
        res = list(ex.map(once, range(50)))
    wins = sum(1 for ok, _ in res if ok)
    assert wins == 1, f'{wins} sign-ins from one SAMLResponse; statuses {sorted({s for _, s in res})}'
    assert all(s == 403 for ok, s in res if not ok), sorted({s for ok, s in res if not ok})
    assert acme.b.healthy()
