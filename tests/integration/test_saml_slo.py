"""SAML single logout, front channel, HTTP-Redirect binding (issue 11 item 2, hostile cases of
item 5): /logout sends a signed LogoutRequest to the IdP's SingleLogoutService and handles its
LogoutResponse at /t/<tenant>/saml/slo; a LogoutRequest from the IdP ends the sessions and panel
tokens of its NameID (and SessionIndex) and is answered with a signed LogoutResponse.

Checked against IdPs this project did not write, python3-lasso (lasso.Logout) and python3-pysaml2
(saml2.server.Server) in the IdP role: each builds and signs the IdP-initiated LogoutRequest and
verifies our LogoutResponse, and verifies our LogoutRequest and answers it.  The hostile messages are built here and signed with the IdP's key
(cryptography), so each case isolates one check; each has its reason code and audit record."""
import base64
import datetime
import os
import re
import urllib.parse
import uuid
import zlib

import lasso
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from lxml import etree

from sbtest.browser import pkce, set_cookies
from sbtest.flows import Env, describe
from sbtest.idp import idp_metadata
from sbtest.lasso_idp import LassoIdP
from sbtest.procs import IDP_ENTITY, IDP_SSO
from sbtest.pysaml_idp import PySamlIdP

SLO = 'https://acme-it.my.salesforce.com/services/auth/idp/saml2/logout'
MD = '{urn:oasis:names:tc:SAML:2.0:metadata}'
SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol'
SAML = 'urn:oasis:names:tc:SAML:2.0:assertion'
RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1'
SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success'
UNKNOWN_PRINCIPAL = 'urn:oasis:names:tc:SAML:2.0:status:UnknownPrincipal'
UNSPEC = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'


@pytest.fixture(scope='module')
def slo(module_factory):
    """A broker whose acme IdP metadata has an HTTP-Redirect SingleLogoutService."""
    b = module_factory.broker(tenants=[('acme', {})], start=False)
    t = b.tenants['acme']
    with open(t.metadata, 'w') as f:
        f.write(idp_metadata(t.idp_entity, t.idp_sso, [b.pki.cert('idp'), b.pki.cert('idp2')], slo=SLO))
    b.start()
    return Env(b, b.dir)


@pytest.fixture(scope='module')
def lidp(slo):
    _, _, md = slo.sp['acme']
    return LassoIdP(os.path.join(slo.workdir, 'lasso-slo'), IDP_ENTITY, IDP_SSO, slo.b.pki.key('idp'),
                    slo.b.pki.cert('idp'), md, slo_url=SLO)


@pytest.fixture(scope='module')
def pidp(slo):
    _, _, md = slo.sp['acme']
    return PySamlIdP(os.path.join(slo.workdir, 'pysaml2-slo'), IDP_ENTITY, IDP_SSO, slo.b.pki.key('idp'),
                     slo.b.pki.cert('idp'), md, slo_url=SLO)


def _slo_url(e):
    return f'{e.b.pub}/t/acme/saml/slo'


def _signed_in(e, idp):
    """A fresh user signed in through idp: (user, browser, panel token)."""
    user, _, _ = e.fresh_user()
    r = e.signin(user, idp=idp)
    assert r['code'], describe(r['out'])
    t = e.panel().token(r['code'], r['verifier'])
    assert t.status_code == 200, t.text
    return user, r['browser'], t.json()['access_token']


def _active(e, tok):
    r = e.panel().introspect(tok)
    assert r.status_code == 200, r.text
    return r.json()['active']


def _silent(e, br):
    """True when the browser's session still signs in without the IdP (a code, or the Allow page)."""
    _, c = pkce()
    out = br.authorize('acme', challenge=c)
    if out.kind == 'away' and out.url.startswith(e.b.tenant('acme').idp_sso):
        return False
    assert out.kind == 'form' or 'code=' in out.url, describe(out)
    return True


def _q(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)


def _inflate(v):
    return etree.fromstring(zlib.decompress(base64.b64decode(v), -15))


def _one(e, since, event, **want):
    recs = [r for r in e.new_audit(since, event) if all(r.get(k) == v for k, v in want.items())]
    assert recs, f'no {event} record with {want}: {e.b.audit()[since:]}'
    return recs[-1]


# -- what the broker publishes

def test_sp_metadata_advertises_slo(slo):
    sp = etree.fromstring(slo.b.get('/t/acme/saml/metadata').content).find(MD + 'SPSSODescriptor')
    s = sp.findall(MD + 'SingleLogoutService')
    assert [x.get('Binding') for x in s] == ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
                                             'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST']
    assert {x.get('Location') for x in s} == {_slo_url(slo)}
    # schema order: SingleLogoutService before NameIDFormat
    tags = [c.tag for c in sp]
    assert tags.index(MD + 'SingleLogoutService') < tags.index(MD + 'NameIDFormat')


# -- IdP-initiated, with lasso

def test_idp_initiated_lasso(slo, lidp):
    user, br, tok = _signed_in(slo, lidp)
    assert _active(slo, tok) and _silent(slo, br)
    url, lo = lidp.logout_request(user)
    assert url.startswith(_slo_url(slo) + '?'), url
    n = slo.audit_len()
    r = br.get(url)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    loc = r.headers['Location']
    assert loc.startswith(SLO + '?'), loc
    q = _q(loc)
    assert set(q) >= {'SAMLResponse', 'SigAlg', 'Signature'}, q.keys()
    # lasso verifies our LogoutResponse: signature (SP cert), InResponseTo, status
    assert lidp.logout_check_response(lo, loc) == SUCCESS
    assert not _active(slo, tok), 'the panel token is still active after single logout'
    assert not _silent(slo, br), 'the session cookie still signs in silently'
    rec = _one(slo, n, 'slo_request', outcome='accepted')
    assert rec.get('name_id') == user and rec.get('user') == user, rec
    lrec = _one(slo, n, 'logout', outcome='accepted')
    assert lrec.get('user') == user, lrec


def test_idp_initiated_other_users_sessions_kept(slo, lidp):
    """A signed LogoutRequest for one user ends that user's sessions only."""
    a, bra, toka = _signed_in(slo, lidp)
    b, brb, tokb = _signed_in(slo, lidp)
    url, lo = lidp.logout_request(a)
    r = brb.get(url)              # delivered through the other user's browser
    assert r.status_code == 302
    assert lidp.logout_check_response(lo, r.headers['Location']) == SUCCESS
    assert not _active(slo, toka) and not _silent(slo, bra)
    assert _active(slo, tokb) and _silent(slo, brb), "another user's session was ended"


def test_idp_initiated_pysaml2(slo, pidp):
    user, br, tok = _signed_in(slo, pidp)
    ent, _, _ = slo.sp['acme']
    url, rid = pidp.logout_request(ent, _slo_url(slo), user)
    n = slo.audit_len()
    r = br.get(url)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    loc = r.headers['Location']
    assert _q(loc).get('RelayState') == ['rs-pysaml2'], loc
    assert pidp.logout_check_response(loc, ent, rid) == SUCCESS
    assert not _active(slo, tok) and not _silent(slo, br)
    _one(slo, n, 'slo_request', outcome='accepted', user=user)


def test_sp_initiated_pysaml2(slo, pidp):
    user, br, tok = _signed_in(slo, pidp)
    ent, _, _ = slo.sp['acme']
    out = br.logout()
    assert out.kind == 'away' and out.url.startswith(SLO + '?'), describe(out)
    resp_url, nid = pidp.logout_answer(out.url, ent)
    assert nid == user
    page = br.walk(br.get(resp_url))
    assert 'signed out here and at Salesforce' in page.resp.text, describe(page)
    assert not _active(slo, tok) and not _silent(slo, br)


# -- SP-initiated, with lasso

def test_sp_initiated_lasso(slo, lidp):
    user, br, tok = _signed_in(slo, lidp)
    n = slo.audit_len()
    out = br.logout()
    assert out.kind == 'away' and out.url.startswith(SLO + '?'), describe(out)
    q = _q(out.url)
    assert set(q) >= {'SAMLRequest', 'SigAlg', 'Signature'} and q['SigAlg'] == [RSA_SHA256], q.keys()
    req = _inflate(q['SAMLRequest'][0])
    nid = req.find(f'{{{SAML}}}NameID')
    assert nid.text == user and nid.get('Format') == UNSPEC, etree.tostring(req)
    assert req.find(f'{{{SAMLP}}}SessionIndex') is not None
    assert req.get('Destination') == SLO
    # the broker session and its token ended before the browser left
    assert not _active(slo, tok)
    assert [c for c in set_cookies(out.resp) if c.split('=')[0].endswith('ssob_lo')], 'no binding cookie'
    # lasso checks the signature with our SP certificate and answers
    resp_url, nid_seen = lidp.logout_answer(out.url, user)
    assert nid_seen == user and resp_url.startswith(_slo_url(slo) + '?'), resp_url
    page = br.walk(br.get(resp_url))
    assert page.resp.status_code == 200, describe(page)
    assert 'signed out here and at Salesforce' in page.resp.text, page.resp.text[:500]
    rec = _one(slo, n, 'slo_response', outcome='accepted')
    assert rec.get('user') == user, rec
    _one(slo, n, 'slo_request', outcome='accepted')
    _one(slo, n, 'logout', outcome='accepted', user=user)
    # the same LogoutResponse again: its InResponseTo was taken once
    again = br.get(resp_url)
    assert again.status_code == 403, again.status_code
    _one(slo, n, 'slo_response', reason='saml_slo_in_response_to')
    assert not _silent(slo, br)


def test_sp_initiated_idp_refuses(slo, lidp):
    """The IdP answers with a failure status: signed out here only, and the page says so."""
    user, br, _ = _signed_in(slo, lidp)
    out = br.logout()
    req = _inflate(_q(out.url)['SAMLRequest'][0])
    n = slo.audit_len()
    url = _redirect(slo, 'SAMLResponse', _response_xml(slo, req.get('ID'),
                    status='urn:oasis:names:tc:SAML:2.0:status:Responder'))
    page = br.walk(br.get(url))
    assert page.resp.status_code == 200, describe(page)
    assert 'signed out here only' in page.resp.text, page.resp.text[:400]
    _one(slo, n, 'slo_response', reason='saml_slo_status')


def test_local_logout(slo, lidp):
    user, br, tok = _signed_in(slo, lidp)
    n = slo.audit_len()
    out = br.walk(br.get('/logout?local=1'))
    assert out.kind == 'page' and out.resp.status_code == 200, describe(out)
    assert not _active(slo, tok) and not _silent(slo, br)
    _one(slo, n, 'logout', outcome='accepted', user=user)
    assert not slo.new_audit(n, 'slo_request', timeout=0.3)


def test_no_slo_endpoint_is_local(acme):
    """A tenant whose IdP metadata has no SingleLogoutService: /logout is local, slo refused."""
    r = acme.signin('alice@acme.example')
    out = r['browser'].logout()
    assert out.kind == 'page' and out.resp.status_code == 200, describe(out)
    n = acme.audit_len()
    x = acme.browser().get('/t/acme/saml/slo?SAMLRequest=x')
    assert x.status_code == 404, x.status_code
    _one(acme, n, 'slo_request', reason='saml_slo_not_configured')


# -- hostile messages, built and signed here with the IdP's key

def _idp_key(e):
    with open(e.b.pki.key('idp'), 'rb') as f:
        return serialization.load_pem_private_key(f.read(), None)


def _now(delta=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta)
    return t.strftime('%Y-%m-%dT%H:%M:%SZ')


def _request_xml(e, name_id, *, issuer=IDP_ENTITY, dest=None, ii=None, sid=None, session_index=None,
                 noa=None):
    dest = _slo_url(e) if dest is None else dest
    si = f'<samlp:SessionIndex>{session_index}</samlp:SessionIndex>' if session_index else ''
    return (f'<samlp:LogoutRequest xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" '
            f'ID="{sid or "_" + uuid.uuid4().hex}" Version="2.0" IssueInstant="{ii or _now()}" '
            f'Destination="{dest}"' + (f' NotOnOrAfter="{noa}"' if noa else '') + '>'
            f'<saml:Issuer>{issuer}</saml:Issuer>'
            f'<saml:NameID Format="{UNSPEC}">{name_id}</saml:NameID>{si}</samlp:LogoutRequest>').encode()


def _response_xml(e, irt, status=SUCCESS):
    return (f'<samlp:LogoutResponse xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="_{uuid.uuid4().hex}" '
            f'Version="2.0" IssueInstant="{_now()}" Destination="{_slo_url(e)}" InResponseTo="{irt}">'
            f'<saml:Issuer>{IDP_ENTITY}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{status}"/>'
            f'</samlp:Status></samlp:LogoutResponse>').encode()


def _deflate(xml):
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(c.compress(xml) + c.flush()).decode()


def _redirect(e, param, xml, *, sign=True, sigalg=RSA_SHA256, raw=None, tamper=False):
    qv = lambda v: urllib.parse.quote(v, safe='')
    q = f'{param}={qv(raw if raw is not None else _deflate(xml))}'
    if not sign:
        return f'{_slo_url(e)}?{q}'
    q += f'&SigAlg={qv(sigalg)}'
    h = hashes.SHA1() if sigalg == RSA_SHA1 else hashes.SHA256()
    sig = bytearray(_idp_key(e).sign(q.encode(), padding.PKCS1v15(), h))
    if tamper:
        sig[len(sig) // 2] ^= 1
    return f'{_slo_url(e)}?{q}&Signature={qv(base64.b64encode(bytes(sig)).decode())}'


def _refused(e, br, url, slug, status, event='slo_request'):
    n = e.audit_len()
    r = br.get(url)
    assert r.status_code == status, (slug, r.status_code, r.text[:200])
    assert 'Location' not in r.headers, 'a refused logout message was answered to the IdP'
    rec = _one(e, n, event, reason=slug)
    assert rec.get('outcome') == 'rejected', rec
    return rec


def test_control_signed_here_is_accepted(slo, lidp):
    """The builder below is right: its well-signed request ends the session."""
    user, br, tok = _signed_in(slo, lidp)
    r = br.get(_redirect(slo, 'SAMLRequest', _request_xml(slo, user)))
    assert r.status_code == 302 and r.headers['Location'].startswith(SLO), r.status_code
    assert not _active(slo, tok)


HOSTILE = {
    'unsigned': (lambda e, u: _redirect(e, 'SAMLRequest', _request_xml(e, u), sign=False),
                 'saml_slo_unsigned', 403),
    'tampered-signature': (lambda e, u: _redirect(e, 'SAMLRequest', _request_xml(e, u), tamper=True),
                           'saml_slo_signature', 403),
    'sha1-not-allowed': (lambda e, u: _redirect(e, 'SAMLRequest', _request_xml(e, u), sigalg=RSA_SHA1),
                         'saml_slo_signature_alg', 403),
    'wrong-destination': (lambda e, u: _redirect(e, 'SAMLRequest', _request_xml(
        e, u, dest='https://evil.example/t/acme/saml/slo')), 'saml_slo_destination', 403),
    'wrong-issuer': (lambda e, u: _redirect(e, 'SAMLRequest', _request_xml(
        e, u, issuer='https://evil.example')), 'saml_slo_issuer', 403),
    'expired': (lambda e, u: _redirect(e, 'SAMLRequest', _request_xml(e, u, ii=_now(-3600))),
                'saml_slo_expired', 403),
    'past-not-on-or-after': (lambda e, u: _redirect(e, 'SAMLRequest', _request_xml(
        e, u, noa=_now(-600))), 'saml_slo_expired', 403),
    'malformed-not-xml': (lambda e, u: _redirect(e, 'SAMLRequest', b'<samlp:LogoutRequest'),
                          'saml_xml', 400),
    'malformed-not-deflate': (lambda e, u: _redirect(e, 'SAMLRequest', None,
                                                     raw=base64.b64encode(b'plain').decode()),
                              'saml_slo_malformed', 400),
    'malformed-no-nameid': (lambda e, u: _redirect(e, 'SAMLRequest', re.sub(
        rb'<saml:NameID[^>]*>[^<]*</saml:NameID>', b'', _request_xml(e, u))), 'saml_slo_malformed', 400),
    'dtd': (lambda e, u: _redirect(e, 'SAMLRequest', b'<!DOCTYPE x [<!ENTITY a "b">]>' +
                                   _request_xml(e, u)), 'saml_dtd', 400),
    'oversized-inflated': (lambda e, u: _redirect(e, 'SAMLRequest', _request_xml(e, u).replace(
        b'</samlp:LogoutRequest>', b'<!--' + b'x' * 70000 + b'--></samlp:LogoutRequest>')),
        'saml_slo_too_big', 413),
    'response-unknown-in-response-to': (lambda e, u: _redirect(e, 'SAMLResponse', _response_xml(
        e, '_' + uuid.uuid4().hex)), 'saml_slo_in_response_to', 403),
}


@pytest.mark.parametrize('case', sorted(HOSTILE))
def test_hostile_logout_message(slo, lidp, case):
    make, slug, status = HOSTILE[case]
    user, br, tok = _signed_in(slo, lidp)
    ev = 'slo_response' if case.startswith('response') else 'slo_request'
    _refused(slo, br, make(slo, user), slug, status, ev)
    assert _active(slo, tok) and _silent(slo, br), f'{case}: the session ended anyway'
    assert slo.b.healthy()


def test_replayed_request(slo, lidp):
    user, br, tok = _signed_in(slo, lidp)
    url = _redirect(slo, 'SAMLRequest', _request_xml(slo, user))
    assert br.get(url).status_code == 302
    assert not _active(slo, tok)
    # the user signs in again; the same LogoutRequest must not end the new session
    user2, br2, tok2 = user, None, None
    r = slo.signin(user, idp=lidp)
    tok2 = slo.panel().token(r['code'], r['verifier']).json()['access_token']
    _refused(slo, r['browser'], url, 'saml_slo_replay', 403)
    assert _active(slo, tok2) and _silent(slo, r['browser'])


def test_request_for_another_user(slo, lidp):
    """Signed, but for a NameID with no session here: UnknownPrincipal; nobody's session ends."""
    user, br, tok = _signed_in(slo, lidp)
    n = slo.audit_len()
    r = br.get(_redirect(slo, 'SAMLRequest', _request_xml(slo, 'mallory@acme.example')))
    assert r.status_code == 302, r.status_code
    resp = _inflate(_q(r.headers['Location'])['SAMLResponse'][0])
    codes = [c.get('Value') for c in resp.iter(f'{{{SAMLP}}}StatusCode')]
    assert codes[-1] == UNKNOWN_PRINCIPAL, codes
    assert _active(slo, tok) and _silent(slo, br), "the browser's own session was ended"
    _one(slo, n, 'slo_request', reason='saml_slo_unknown_principal')


def test_request_other_session_index(slo, lidp):
    """The right NameID but another SessionIndex: the session stays."""
    user, br, tok = _signed_in(slo, lidp)
    r = br.get(_redirect(slo, 'SAMLRequest', _request_xml(slo, user, session_index='_not-this-one')))
    assert r.status_code == 302
    assert _active(slo, tok) and _silent(slo, br)


def _post(br, url, form):
    h = {'Origin': 'null', 'Sec-Fetch-Site': 'cross-site'}   # the IdP's auto-submitting form
    return br.s.post(url, data=form, headers=h, allow_redirects=False, timeout=10)


def test_idp_initiated_post_binding_lasso(slo, lidp):
    """HTTP-POST binding: lasso's enveloped XML signature on the LogoutRequest."""
    user, br, tok = _signed_in(slo, lidp)
    url, lo = lidp.logout_request(user, post=True)
    assert url == _slo_url(slo), url
    n = slo.audit_len()
    r = _post(br, url, {'SAMLRequest': lo.msgBody})
    assert r.status_code == 302, (r.status_code, r.text[:300])
    assert lidp.logout_check_response(lo, r.headers['Location']) == SUCCESS
    assert not _active(slo, tok) and not _silent(slo, br)
    _one(slo, n, 'slo_request', outcome='accepted', user=user)


def _post_tampered(xml_b64, how):
    xml = base64.b64decode(xml_b64)
    if how == 'unsigned':
        xml = re.sub(rb'<(\w+:)?Signature[ >].*</(\w+:)?Signature>', b'', xml, flags=re.S)
    elif how == 'tampered':
        xml = xml.replace(b'</saml:NameID>', b'x</saml:NameID>', 1)
    return base64.b64encode(xml).decode()


@pytest.mark.parametrize('how,slug', [('unsigned', 'saml_slo_unsigned'), ('tampered', 'saml_slo_signature')])
def test_post_binding_hostile(slo, lidp, how, slug):
    user, br, tok = _signed_in(slo, lidp)
    url, lo = lidp.logout_request(user, post=True)
    body = _post_tampered(lo.msgBody, how)
    assert body != lo.msgBody
    n = slo.audit_len()
    r = _post(br, url, {'SAMLRequest': body})
    assert r.status_code == 403 and 'Location' not in r.headers, r.status_code
    assert _one(slo, n, 'slo_request', reason=slug)['outcome'] == 'rejected'
    assert _active(slo, tok) and _silent(slo, br)


def test_post_binding_malformed(slo):
    n = slo.audit_len()
    r = _post(slo.browser(), _slo_url(slo), {'SAMLRequest': 'x', 'SAMLResponse': 'y'})
    assert r.status_code == 400
    _one(slo, n, 'slo_request', reason='saml_slo_param')


def test_duplicate_parameter_is_audited(slo):
    """Refused by the query parser before the handler: still a record."""
    n = slo.audit_len()
    r = slo.browser().get('/t/acme/saml/slo?SAMLRequest=a&SAMLRequest=b')
    assert r.status_code == 400
    _one(slo, n, 'slo_request', reason='http_dup_param')
