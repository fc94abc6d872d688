"""Signed AuthnRequests (issue 11 item 1): [saml] sign_requests, the HTTP-Redirect binding
signature (SAML Bindings 3.4.4.1) made by the key holder, AuthnRequestsSigned in the SP metadata.

Checked by IdPs this project did not write, each set to require signed requests: pysaml2
(want_authn_requests_signed, the query signature by pysaml2's verify_redirect_signature) and
lasso (WantAuthnRequestsSigned, verify hint FORCE).  A sign-in with sign_requests on succeeds
end to end with both; with it off both refuse the request; a tampered Signature, SigAlg or
SAMLRequest is refused by both (so our signature is what they check).  The signature is also
checked here with Python's cryptography against the SP certificate, over the raw query bytes.
A key holder that does not answer makes the login a 503 page with its audit record; the
directive is strict, shown by the admin API and ssoctl, and a reload turns it on."""
import base64
import os
import re
import signal
import subprocess
import urllib.parse

import lasso
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from sbtest import env
from sbtest.browser import pkce
from sbtest.flows import Env, admin, describe, ssoctl
from sbtest.lasso_idp import LassoIdP
from sbtest.procs import IDP_ENTITY, IDP_SSO
from sbtest.pysaml_idp import PySamlIdP, RequestRefused

MD = '{urn:oasis:names:tc:SAML:2.0:metadata}'
RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1'


@pytest.fixture(scope='module')
def signing(module_factory):
    """A broker whose tenant acme signs its AuthnRequests (sign_requests = true)."""
    b = module_factory.broker(tenants=[('acme', {})], start=False)
    b.tenants['acme'].saml['sign_requests'] = 'true'
    b.start()
    return Env(b, b.dir)


def _idps(e, tag, want_signed=True):
    ent, acs, md = e.sp['acme']
    d = os.path.join(e.workdir, f'{tag}-{want_signed}')
    return {
        'pysaml2': PySamlIdP(os.path.join(d, 'pysaml2'), IDP_ENTITY, IDP_SSO, e.b.pki.key('idp'),
                             e.b.pki.cert('idp'), md, want_signed=want_signed),
        'lasso': LassoIdP(os.path.join(d, 'lasso'), IDP_ENTITY, IDP_SSO, e.b.pki.key('idp'),
                          e.b.pki.cert('idp'), md, want_signed=want_signed),
    }


@pytest.fixture(scope='module')
def requiring(signing):
    return _idps(signing, 'signing')


@pytest.fixture(scope='module')
def requiring_unsigned(acme):
    """The same requiring IdPs in front of the shared broker, whose acme does not sign."""
    return _idps(acme, 'unsigned')


def _refused(idp, url):
    """True when the IdP refuses the AuthnRequest in url."""
    try:
        idp.answer(url, 'alice@acme.example')
    except (RequestRefused, lasso.Error):
        return True
    return False


def _split(url):
    """The raw query's parameters, in order, still encoded: [(name, value)]."""
    q = urllib.parse.urlsplit(url).query
    return [tuple(p.split('=', 1)) for p in q.split('&')]


def _join(url, params):
    u = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(u._replace(query='&'.join(f'{k}={v}' for k, v in params)))


def _sp_key(e):
    with open(e.b.pki.cert('sp'), 'rb') as f:
        return x509.load_pem_x509_certificate(f.read()).public_key()


def _verifies(e, url):
    """Bindings 3.4.4.1: Signature over the encoded query up to it, RSA-SHA256, the SP cert."""
    q = urllib.parse.urlsplit(url).query
    signed, _, sig = q.rpartition('&Signature=')
    try:
        _sp_key(e).verify(base64.b64decode(urllib.parse.unquote(sig)), signed.encode('ascii'),
                          padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def test_sp_metadata_says_signed(signing, acme):
    for e, want in ((signing, 'true'), (acme, 'false')):
        sp = etree.fromstring(e.b.get('/t/acme/saml/metadata').content).find(MD + 'SPSSODescriptor')
        assert sp.get('AuthnRequestsSigned') == want, (want, sp.attrib)
        # the policy in force, as the admin API and ssoctl tenants show say it
        assert admin(e.b, 'GET', '/api/v1/tenants/acme').json()['sign_requests'] is (want == 'true')
        out = ssoctl(e.b, 'tenants', 'show', 'acme').stdout
        assert re.search(rf'^sign_requests\s+{want}$', out, re.M), out


def test_redirect_signature_shape_and_verification(signing):
    login = signing.browser().start_login()
    params = _split(login.idp_url)
    assert [k for k, _ in params] == ['SAMLRequest', 'SigAlg', 'Signature'], params
    assert urllib.parse.unquote(dict(params)['SigAlg']) == RSA_SHA256
    assert _verifies(signing, login.idp_url), 'the SP certificate does not verify the Signature'
    # every value URL-encoded: no raw '+', '/' or '=' of base64 in the query
    for k, v in params:
        assert not set(v) & set('+/=:#'), (k, v)
    # the bytes signed are exactly the query before Signature: one byte more and it fails
    tampered = login.idp_url.replace('&SigAlg=', '&SigAlg=x', 1)
    assert not _verifies(signing, tampered)


@pytest.mark.parametrize('which', ['pysaml2', 'lasso'])
def test_signed_signin_with_requiring_idp(signing, requiring, which):
    user, iid, ext = signing.fresh_user()
    r = signing.signin(user, idp=requiring[which])
    assert r['code'], f'{which}: no code: {describe(r["out"])}'
    t = signing.panel().token(r['code'], r['verifier'])
    assert t.status_code == 200, t.text
    assert t.json()['extension'] == ext and str(t.json()['internal_id']) == iid


@pytest.mark.parametrize('which', ['pysaml2', 'lasso'])
def test_unsigned_request_refused_by_requiring_idp(acme, requiring_unsigned, which):
    login = acme.browser().start_login()
    assert 'Signature' not in dict(_split(login.idp_url))
    assert _refused(requiring_unsigned[which], login.idp_url), \
        f'{which} wants signed requests but accepted an unsigned one'


def _tamper_signature(v):
    raw = bytearray(base64.b64decode(urllib.parse.unquote(v)))
    raw[len(raw) // 2] ^= 0x01
    return urllib.parse.quote(base64.b64encode(bytes(raw)).decode(), safe='')


def _tamper_request(v):
    """The same AuthnRequest with another ID: re-deflated, re-encoded (valid, but not signed)."""
    import zlib
    xml = zlib.decompress(base64.b64decode(urllib.parse.unquote(v)), -15)
    xml = re.sub(rb'ID="([^"]+)"', rb'ID="\1x"', xml, count=1)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return urllib.parse.quote(base64.b64encode(c.compress(xml) + c.flush()).decode(), safe='')


TAMPER = {
    'signature': lambda k, v: _tamper_signature(v) if k == 'Signature' else v,
    'sigalg-sha1': lambda k, v: urllib.parse.quote(RSA_SHA1, safe='') if k == 'SigAlg' else v,
    'sigalg-sha512': lambda k, v: (urllib.parse.quote(RSA_SHA256.replace('256', '512'), safe='')
                                   if k == 'SigAlg' else v),
    'request': lambda k, v: _tamper_request(v) if k == 'SAMLRequest' else v,
    'relaystate-added': None,
}


@pytest.mark.parametrize('which', ['pysaml2', 'lasso'])
@pytest.mark.parametrize('how', sorted(TAMPER))
def test_tampered_request_refused(signing, requiring, which, how):
    login = signing.browser().start_login()
    params = _split(login.idp_url)
    if how == 'relaystate-added':
        params.insert(1, ('RelayState', 'injected'))
    else:
        params = [(k, TAMPER[how](k, v)) for k, v in params]
    url = _join(login.idp_url, params)
    assert url != login.idp_url
    assert not _verifies(signing, url)
    assert _refused(requiring[which], url), f'{which} accepted a request with a tampered {how}'
    # the control: the untouched URL is accepted by the same IdP
    assert not _refused(requiring[which], login.idp_url)


def _holder_pid(b):
    m = re.findall(r'the key holder runs \(pid (\d+)\)', b.log_text())
    return int(m[-1]) if m else None


def test_key_holder_unreachable_is_503(factory):
    b = factory.broker(tenants=[('acme', {})], start=False)
    b.tenants['acme'].saml['sign_requests'] = 'true'
    b.start()
    e = Env(b, b.dir, users=False)
    holder = _holder_pid(b)
    assert holder, b.log_tail()
    since = e.audit_len()
    os.kill(holder, signal.SIGSTOP)
    try:
        out = e.browser().authorize(challenge=pkce()[1])
    finally:
        os.kill(holder, signal.SIGCONT)
    assert out.resp.status_code == 503, describe(out)
    assert 'text/html' in out.resp.headers.get('Content-Type', '')
    assert 'Service unavailable' in out.resp.text and 'key holder' in out.resp.text, out.resp.text[:600]
    recs = e.new_audit(since, 'authorize')
    assert recs and recs[-1]['outcome'] == 'rejected' and recs[-1]['reason'] == 'saml_request_sign', recs
    assert 'ssob_rq' not in out.resp.headers.get('Set-Cookie', ''), 'no request kept for a refused start'
    # the holder answers again: the next login is signed and goes to the IdP
    login = e.browser().start_login()
    assert _verifies(e, login.idp_url)


def test_sign_requests_is_strict(factory):
    b = factory.broker(tenants=[('acme', {})], start=False)
    b.tenants['acme'].saml['sign_requests'] = 'yes'
    b.write()
    r = subprocess.run([env.broker_bin(), '-c', b.conf_path, '--check-config'], capture_output=True,
                       text=True, timeout=30)
    with open(b.tenant_path('acme')) as f:
        n = next(i for i, l in enumerate(f, 1) if l.startswith('sign_requests'))
    assert r.returncode == 1 and f'{b.tenant_path("acme")}:{n}:' in r.stdout + r.stderr, r.stdout + r.stderr


def test_reload_turns_signing_on(factory):
    """SIGHUP with sign_requests flipped: the new workers sign, the metadata says so."""
    b = factory.broker(tenants=[('acme', {})])
    e = Env(b, b.dir, users=False)
    assert 'Signature' not in dict(_split(e.browser().start_login().idp_url))
    b.tenants['acme'].saml['sign_requests'] = 'true'
    b.reload()

    def signed():
        md = b.get('/t/acme/saml/metadata').content
        return b'AuthnRequestsSigned="true"' in md and 'Signature' in dict(_split(e.browser().start_login().idp_url))
    assert env.wait_for(signed, 15), b.log_tail()
    assert _verifies(e, e.browser().start_login().idp_url)
