"""Self-checks of the suite's hostile inputs (no broker needed): the attacks that should carry a
*valid* signature really do, so that a broker rejecting them is rejecting the attack and not a
broken test input."""
import base64

import pytest
import xmlsec
from lxml import etree

from sbtest import idp as idpmod
from sbtest import mutate

SP, ACS = 'https://sp.test/t/acme/saml/metadata', 'https://sp.test/t/acme/saml/acs'


@pytest.fixture(scope='module')
def x(pki):
    return idpmod.XmlIdP('https://idp.test', pki.key('idp'), pki.cert('idp'), SP, ACS)


def verify_bytes(data, cert, xpath='//saml:Assertion[ds:Signature]'):
    doc = etree.fromstring(data)
    el = doc.xpath(xpath, namespaces=idpmod.NS)[0]
    idpmod.verify(el, cert)
    return el


def test_good_response_verifies(x, pki):
    r = x.good('alice@acme.example', '_r1', sign_response=True)
    idpmod.verify(r, pki.cert('idp'))
    idpmod.verify(mutate.assertion_of(r), pki.cert('idp'))


def test_comment_injection_keeps_signature_valid(x, pki):
    signed = 'alice@acme.example.evil.test'
    r = x.response([x.signed_assertion(signed, '_r1', attrs={})], '_r1')
    data = mutate.bytes_replace(r, f'>{signed}</saml:NameID>', '>alice@acme.example<!---->.evil.test</saml:NameID>')
    el = verify_bytes(data, pki.cert('idp'))
    nid = el.find('.//saml:NameID', idpmod.NS)
    assert nid.text == 'alice@acme.example', 'the first text node alone would be alice (the attack)'
    assert ''.join(nid.itertext()) == signed


def test_multiple_references_verify(x, pki):
    a = x.assertion('alice@acme.example', '_r1')
    idpmod.sign(a, x.key, x.cert, extra_refs=['#' + a.get('ID')])
    assert len(a.findall('.//ds:Reference', idpmod.NS)) == 2
    idpmod.verify(a, pki.cert('idp'))


def test_evil_signature_verifies_with_evil_cert_only(x, pki):
    a = x.signed_assertion('bob@acme.example', '_r1', key=pki.key('evil'), cert=pki.cert('evil'))
    idpmod.verify(a, pki.cert('evil'))
    with pytest.raises(xmlsec.Error):
        idpmod.verify(a, pki.cert('idp'))


def test_tamper_breaks_signature(x, pki):
    r = mutate.tamper_nameid(x.good('alice@acme.example', '_r1'))
    with pytest.raises(xmlsec.Error):
        idpmod.verify(mutate.assertion_of(r), pki.cert('idp'))


@pytest.mark.parametrize('name', sorted(mutate.XSW_ASSERTION))
def test_xsw_keeps_original_signed_assertion(x, pki, name):
    r = mutate.XSW_ASSERTION[name](x.good('alice@acme.example', '_r1'))
    data = etree.tostring(r)
    assert b'bob@acme.example' in data and b'alice@acme.example' in data
    base64.b64encode(data)


@pytest.mark.parametrize('name', sorted(mutate.XSW_RESPONSE))
def test_xsw_response(x, name):
    r = x.response([x.assertion('alice@acme.example', '_r1')], '_r1')
    idpmod.sign(r, x.key, x.cert)
    out = etree.tostring(mutate.XSW_RESPONSE[name](r))
    assert b'_evil_response' in out and b'bob@acme.example' in out


def test_sha1_signature(x, pki):
    a = x.signed_assertion('alice@acme.example', '_r1', alg='sha1')
    assert b'rsa-sha1' in etree.tostring(a)
    idpmod.verify(a, pki.cert('idp'))
