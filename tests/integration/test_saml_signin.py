"""SP metadata and successful SAML sign-ins with three independent IdPs: the suite's own
(lxml + xmlsec), pysaml2 (Salesforce shape and both-signed) and lasso."""
import os

import pytest
from lxml import etree

from sbtest import idp as idpmod
from sbtest.browser import code_from, parse_set_cookie, set_cookies
from sbtest.flows import describe
from sbtest.lasso_idp import LassoIdP
from sbtest.procs import IDP_ENTITY, IDP_SSO
from sbtest.pysaml_idp import PySamlIdP

MD = '{urn:oasis:names:tc:SAML:2.0:metadata}'


def test_sp_metadata(acme, broker):
    r = broker.get('/t/acme/saml/metadata')
    assert r.status_code == 200
    assert r.headers.get('Content-Type', '').startswith('application/samlmetadata+xml'), r.headers.get('Content-Type')
    doc = etree.fromstring(r.content)
    assert doc.tag == MD + 'EntityDescriptor'
    sp = doc.find(MD + 'SPSSODescriptor')
    assert sp is not None
    acs = sp.findall(MD + 'AssertionConsumerService')
    assert [a.get('Binding') for a in acs] == ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST'], \
        'the ACS is HTTP-POST only'
    assert acs[0].get('Location') == broker.pub + '/t/acme/saml/acs'
    assert sp.get('WantAssertionsSigned') in ('true', '1')
    certs = [c.text.replace('\n', '').strip() for c in doc.iter('{http://www.w3.org/2000/09/xmldsig#}X509Certificate')]
    assert idpmod.pem_body(broker.pki.cert('sp')) in certs, 'SP metadata publishes sp_cert'
    assert broker.get('/t/nosuch/saml/metadata').status_code == 404


def test_authn_request_shape(acme):
    br = acme.browser()
    login = br.start_login()
    req = idpmod.parse_redirect(login.idp_url)
    ent, acs, _ = acme.sp['acme']
    assert req['issuer'] == ent
    assert req['id'] and len(req['id']) >= 17 and req['id'][0] not in '0123456789'
    assert req['acs'] in (None, acs)
    assert req['destination'] in (None, IDP_SSO)
    assert login.relay is None or len(login.relay) <= 80, 'RelayState must not exceed 80 bytes'
    # the correlation cookie must survive the IdP's cross-site POST
    corr = [parse_set_cookie(c) for resp in login.outcome.chain for c in set_cookies(resp)]
    assert corr, 'authorize sets no cookie binding the AuthnRequest to the browser'
    for name, value, attrs in corr:
        assert 'httponly' in attrs, f'{name}: HttpOnly missing'
        assert attrs.get('samesite', '').lower() == 'none' and 'secure' in attrs, \
            f'{name}: a correlation cookie for the cross-site ACS POST needs SameSite=None; Secure: {attrs}'
        assert 'domain' not in attrs, f'{name}: no broad Domain'


def _pysaml(acme, signed_response):
    ent, acs, md = acme.sp['acme']
    return PySamlIdP(os.path.join(acme.workdir, f'pysaml-{signed_response}'), IDP_ENTITY, IDP_SSO,
                     acme.b.pki.key('idp'), acme.b.pki.cert('idp'), md)


class _PySamlShape:
    def __init__(self, inner, sign_response):
        self.inner, self.sign_response = inner, sign_response

    def answer(self, url, user, **kw):
        return self.inner.answer(url, user, sign_response=self.sign_response, **kw)


@pytest.fixture(scope='module')
def idps(acme):
    ent, acs, md = acme.sp['acme']
    out = {'xml': None}
    out['pysaml2-assertion-signed'] = _PySamlShape(_pysaml(acme, False), False)
    out['pysaml2-both-signed'] = _PySamlShape(_pysaml(acme, True), True)
    out['lasso'] = LassoIdP(os.path.join(acme.workdir, 'lasso'), IDP_ENTITY, IDP_SSO,
                            acme.b.pki.key('idp'), acme.b.pki.cert('idp'), md)
    return out


@pytest.mark.parametrize('which', ['xml', 'pysaml2-assertion-signed', 'pysaml2-both-signed', 'lasso'])
def test_signin_with_idp(acme, idps, which):
    user, iid, ext = acme.fresh_user()
    r = acme.signin(user, idp=idps[which])
    assert r['code'], f'{which}: no code: {describe(r["out"])}'
    assert r['state'] == r['expected_state']
    t = acme.panel().token(r['code'], r['verifier'])
    assert t.status_code == 200, t.text
    j = t.json()
    assert j['extension'] == ext and str(j['internal_id']) == iid
    assert j['sfdc_username'].lower() == user
    recs = [x for x in acme.b.audit() if x.get('event') == 'assertion' and x.get('outcome') == 'accepted']
    assert recs and recs[-1].get('user', '').lower() == user


def test_first_use_shows_allow_page(acme):
    user, _, _ = acme.fresh_user()
    br = acme.browser()
    login = br.start_login()
    out = br.post_acs('acme', idpmod.b64(acme.idp['acme'].good(user, login.rid)), login.relay)
    assert out.kind == 'form', describe(out)
    assert out.url.startswith(acme.b.pub + '/t/acme/consent'), out.url


def test_rollover_second_idp_certificate(acme):
    """The tenant's metadata carries two signing certificates: either one verifies."""
    user, _, ext = acme.fresh_user()
    x = acme.idp['acme']
    rollover = idpmod.XmlIdP(x.entity, acme.b.pki.key('idp2'), acme.b.pki.cert('idp2'), x.sp_entity, x.acs)
    br = acme.browser()
    login = br.start_login()
    out = br.finish(br.post_acs('acme', idpmod.b64(rollover.good(user, login.rid)), login.relay))
    code, _, _ = code_from(out, acme.b.tenant().redirect_uri)
    assert code, describe(out)
    recs = [r for r in acme.b.audit() if r.get('event') == 'assertion' and r.get('outcome') == 'accepted']
    assert recs[-1].get('cert_fingerprint'), 'audit names the certificate that verified the assertion'


def test_signed_response_and_assertion_accepted(acme):
    user, _, _ = acme.fresh_user()
    r = acme.signin(user, sign_response=True)
    assert r['code'], describe(r['out'])


def test_case_insensitive_username(acme):
    """NameID ALICE@ACME.EXAMPLE signs in alice (usernames compare case-insensitively)."""
    r = acme.signin('ALICE@ACME.EXAMPLE')
    assert r['code'], describe(r['out'])
    j = acme.panel().token(r['code'], r['verifier']).json()
    assert str(j.get('internal_id')) == '1001' and j.get('extension') == '0101'


def test_one_time_use_condition_accepted_once(acme):
    user, _, _ = acme.fresh_user()
    r = acme.signin(user, extra_conditions='<saml:OneTimeUse/>')
    assert r['code'], describe(r['out'])


def test_audience_or_within_one_restriction_accepted(acme):
    """P04's positive control: ours among several audiences of one restriction."""
    user, _, _ = acme.fresh_user()
    ent = acme.sp['acme'][0]
    r = acme.signin(user, audiences=[['https://other.test/sp', ent]])
    assert r['code'], describe(r['out'])


def test_clock_skew_boundary_accept(acme):
    """NotBefore = now + skew - 15 s is still inside the window (clock_skew = 60)."""
    user, _, _ = acme.fresh_user()
    t = idpmod.now()
    r = acme.signin(user, not_before=t + idpmod.secs(45))
    assert r['code'], describe(r['out'])


def test_unix_socket_redis(factory, redis):
    e = factory.env(redis_url=f'unix://{redis.sock}', tenants=[('acme', {})])
    r = e.signin('alice@acme.example')
    assert r['code'], describe(r['out'])
    assert e.panel().token(r['code'], r['verifier']).status_code == 200
