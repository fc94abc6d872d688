"""Encrypted assertions (issue 11 item 3, saml/saml_enc.c, the key holder's unwrap).

Positive: pysaml2 in the IdP role signs the Assertion and encrypts it with xmlsec1 to the SP's
encryption certificate from the broker's metadata, in the configurations Salesforce offers
(AES-256-GCM and AES-128-GCM content, RSA-OAEP key transport); python3-xmlsec (the xmlsec
library itself) does the same; the rollover: encrypted to sp_next_cert.  Hostile (item 5), each
refused with its reason code, its audit record and nothing stored: an encrypted assertion
wrapping a second one, an unsigned assertion inside the encryption, RSA PKCS#1 v1.5 key
transport, CBC where the tenant does not allow it, a wrong key, truncated or garbled
ciphertext, a tampered GCM tag, a plaintext with a DTD, over the depth limit or over the node
limit, RetrievalMethod and CipherReference (never fetched).  With allow_cbc, CBC decrypts, and
every failure up to the assertion's signature is the one answer saml_decrypt, with the same
status and page.  require_encryption refuses a plain assertion.  The hostile documents are
built here with Python's cryptography, so every field can be wrong."""
import base64
import os
import re
import subprocess

import lasso
import pytest
import xmlsec
from lxml import etree

from sbtest.browser import code_from
from sbtest.lasso_idp import LassoIdP
from sbtest.flows import Env, admin, describe, ssoctl
from sbtest.idp import SAML, b64, sign
from sbtest.procs import IDP_ENTITY, IDP_SSO
from sbtest.pysaml_idp import PySamlIdP
from sbtest.xenc import (CBC128, CBC256, DSNS, GCM128, GCM256, MGF1P, OAEP11, RSA15, XENC,
                         cipher_reference, encrypted_assertion, retrieval_method)

MD = '{urn:oasis:names:tc:SAML:2.0:metadata}'


def _keypair(d, name):
    key, crt = os.path.join(d, name + '.key'), os.path.join(d, name + '.crt')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days',
                    '30', '-subj', f'/CN=sso-broker-it-{name}', '-keyout', key, '-out', crt],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return key, crt


def _broker(module_factory, **saml):
    b = module_factory.broker(tenants=[('acme', {})], start=False)
    nk, nc = _keypair(b.dir, 'sp-next')
    b.tenants['acme'].saml.update({'sp_next_key': nk, 'sp_next_cert': nc, **saml})
    b.start()
    e = Env(b, b.dir)
    e.next_cert = nc
    return e


@pytest.fixture(scope='module')
def enc(module_factory):
    """acme with a rollover key (sp_next_key), GCM only."""
    return _broker(module_factory)


@pytest.fixture(scope='module')
def cbc(module_factory):
    """acme with allow_cbc and require_encryption."""
    return _broker(module_factory, allow_cbc='true', require_encryption='true')


def _post(e, build, tenant='acme'):
    """Start a login, build the SAMLResponse from its request ID, post it.  -> (browser, the
    store and audit snapshot taken after the login started, the outcome)."""
    br = e.browser()
    login = br.start_login(tenant)
    saml = build(login.rid)
    snap = e.snapshot()
    return br, snap, br.post_acs(tenant, saml, login.relay)


def _signed_assertion_bytes(e, user, rid, **kw):
    return etree.tostring(e.idp['acme'].signed_assertion(user, rid, **kw))


def _response_b64(e, rid, eas, sign_response=False):
    idp = e.idp['acme']
    r = idp.response(eas, rid)
    if sign_response:
        sign(r, idp.key, idp.cert)
    return b64(r)


def _hand(e, user, cert=None, assertion=None, sign_response=False, **kw):
    def build(rid):
        pt = assertion(rid) if assertion else _signed_assertion_bytes(e, user, rid)
        ea = encrypted_assertion(pt, cert or e.b.pki.cert('sp'), **kw)
        return _response_b64(e, rid, [ea], sign_response)
    return build


def _signed_in(e, br, out):
    out = br.finish(out, 'allow')
    code, _, _ = code_from(out, e.b.tenant('acme').redirect_uri)
    assert code, describe(out)
    return code


# ------------------------------------------------------------ metadata

def test_sp_metadata_offers_both_encryption_keys(enc, cbc):
    md = etree.fromstring(enc.b.get('/t/acme/saml/metadata').content)
    kds = md.findall(f'{MD}SPSSODescriptor/{MD}KeyDescriptor')
    assert [k.get('use') for k in kds] == ['signing', 'encryption', 'encryption']
    certs = [k.findtext(f'{{{DSNS}}}KeyInfo/{{{DSNS}}}X509Data/{{{DSNS}}}X509Certificate') for k in kds]
    with open(enc.next_cert) as f:
        nxt = ''.join(f.read().split('\n')[1:-2])
    assert certs[0] == certs[1] and certs[2] == nxt
    algs = [m.get('Algorithm') for m in kds[1].findall(f'{MD}EncryptionMethod')]
    assert algs == [GCM256, GCM128, OAEP11, MGF1P], algs
    algs = [m.get('Algorithm') for m in etree.fromstring(cbc.b.get('/t/acme/saml/metadata').content)
            .findall(f'{MD}SPSSODescriptor/{MD}KeyDescriptor/{MD}EncryptionMethod')]
    assert CBC256 in algs and CBC128 in algs and RSA15 not in algs


# ------------------------------------------------------------ IdPs we did not write

@pytest.mark.parametrize('msg_enc,key_type,sign_response', [(GCM256, 'aes-256', False),
                                                            (GCM128, 'aes-128', False),
                                                            (GCM256, 'aes-256', True)])
def test_pysaml2_encrypted_signin(enc, msg_enc, key_type, sign_response):
    user, iid, ext = enc.fresh_user()
    _, _, md = enc.sp['acme']
    idp = PySamlIdP(os.path.join(enc.workdir, f'pysaml-{key_type}-{sign_response}'), IDP_ENTITY,
                    IDP_SSO, enc.b.pki.key('idp'), enc.b.pki.cert('idp'), md)
    snap = enc.audit_len()
    r = enc.signin(user, idp=idp, encrypt={'msg_enc': msg_enc, 'key_type': key_type},
                   sign_response=sign_response)
    assert b'EncryptedAssertion' in base64.b64decode(r['saml'])
    assert b'<saml:Assertion' not in base64.b64decode(r['saml'])
    # the Response's signature (over the ciphertext) is the only one in the clear
    assert (b'SignatureValue' in base64.b64decode(r['saml'])) is sign_response
    assert r['code'], describe(r['out'])
    t = enc.panel().token(r['code'], r['verifier'])
    assert t.status_code == 200 and t.json()['extension'] == ext, t.text
    rec = [x for x in enc.new_audit(snap, 'assertion') if x.get('outcome') == 'accepted']
    assert rec and user in (rec[-1].get('user'), rec[-1].get('subject')), rec


def test_pysaml2_rollover_to_next_key(enc):
    """The IdP was given sp_next_cert (the connected app's new certificate)."""
    user, _, ext = enc.fresh_user()
    _, _, md = enc.sp['acme']
    idp = PySamlIdP(os.path.join(enc.workdir, 'pysaml-next'), IDP_ENTITY, IDP_SSO,
                    enc.b.pki.key('idp'), enc.b.pki.cert('idp'), md)
    r = enc.signin(user, idp=idp, encrypt={'msg_enc': GCM256, 'key_type': 'aes-256',
                                           'cert': enc.next_cert})
    assert r['code'], describe(r['out'])
    assert enc.panel().token(r['code'], r['verifier']).json()['extension'] == ext


def _xmlsec_encrypt(assertion_xml, cert, content):
    """python3-xmlsec: the assertion replaced by its EncryptedData, the key by RSA-OAEP."""
    doc = etree.fromstring(b'<saml:EncryptedAssertion xmlns:saml="%s">' % SAML.encode()
                           + assertion_xml + b'</saml:EncryptedAssertion>')
    target = doc[0]
    tr = {GCM256: xmlsec.Transform.AES256_GCM, GCM128: xmlsec.Transform.AES128_GCM}[content]
    ed = xmlsec.template.encrypted_data_create(doc, tr, type=xmlsec.EncryptionType.ELEMENT, ns='xenc')
    xmlsec.template.encrypted_data_ensure_cipher_value(ed)
    ki = xmlsec.template.encrypted_data_ensure_key_info(ed, ns='dsig')
    ek = xmlsec.template.add_encrypted_key(ki, xmlsec.Transform.RSA_OAEP)
    xmlsec.template.encrypted_data_ensure_cipher_value(ek)
    mngr = xmlsec.KeysManager()
    mngr.add_key(xmlsec.Key.from_file(cert, xmlsec.KeyFormat.CERT_PEM))
    ctx = xmlsec.EncryptionContext(mngr)
    ctx.key = xmlsec.Key.generate(xmlsec.constants.KeyDataAes, 256 if '256' in content else 128,
                                  xmlsec.constants.KeyDataTypeSession)
    ctx.encrypt_xml(ed, target)
    return doc


@pytest.mark.parametrize('content', [GCM256, GCM128])
def test_xmlsec_encrypted_signin(enc, content):
    user, _, _ = enc.fresh_user()

    def build(rid):
        ea = _xmlsec_encrypt(_signed_assertion_bytes(enc, user, rid), enc.b.pki.cert('sp'), content)
        return _response_b64(enc, rid, [ea])
    br, _, out = _post(enc, build)
    _signed_in(enc, br, out)


@pytest.mark.parametrize('variant', ['oaep11-sha256', 'key-beside', 'no-cert-named',
                                     'next-no-cert-named', 'signed-response'])
def test_hand_encrypted_variants_accepted(enc, variant):
    user, _, _ = enc.fresh_user()
    kw = {'oaep11-sha256': dict(transport=OAEP11, digest='sha256', mgf='sha256'),
          'key-beside': dict(key_beside=True),
          'no-cert-named': dict(name_cert=False),
          'next-no-cert-named': dict(name_cert=False, cert=enc.next_cert),
          'signed-response': dict(sign_response=True)}[variant]
    br, _, out = _post(enc, _hand(enc, user, **kw))
    _signed_in(enc, br, out)


# ------------------------------------------------------------ hostile (item 5)

def _nested(e, user):
    """A signed assertion with a second signed one inside it (Advice)."""
    def f(rid):
        idp = e.idp['acme']
        inner = idp.signed_assertion('admin@acme.example', rid)
        outer = idp.signed_assertion(user, rid)
        adv = etree.SubElement(outer, f'{{{SAML}}}Advice')
        adv.append(inner)
        return etree.tostring(outer)
    return f


def _unsigned(e, user):
    return lambda rid: etree.tostring(e.idp['acme'].assertion(user, rid))


def _dtd(e, user):
    return lambda rid: (b'<!DOCTYPE a [<!ENTITY x "alice@acme.example">]>'
                        + _signed_assertion_bytes(e, user, rid))


def _deep(e, user):
    def f(rid):
        a = e.idp['acme'].signed_assertion(user, rid)
        n = a.find(f'{{{SAML}}}Subject')
        for _ in range(40):
            n = etree.SubElement(n, f'{{{SAML}}}Deep')
        return etree.tostring(a)
    return f


def _wide(e, user):
    def f(rid):
        a = e.idp['acme'].signed_assertion(user, rid)
        st = etree.SubElement(a, f'{{{SAML}}}AttributeStatement')
        for i in range(1500):
            etree.SubElement(st, f'{{{SAML}}}Attribute').set('Name', f'a{i}')
        return etree.tostring(a)
    return f


HOSTILE = {
    'second-assertion-inside': (lambda e, u: dict(assertion=_nested(e, u)), 'saml_encryption_content'),
    'unsigned-inside': (lambda e, u: dict(assertion=_unsigned(e, u)), 'saml_signature_missing'),
    'unsigned-inside-signed-response': (lambda e, u: dict(assertion=_unsigned(e, u), sign_response=True),
                                        'saml_signature_missing'),
    'rsa-1_5': (lambda e, u: dict(transport=RSA15), 'saml_encryption_rsa15'),
    'cbc-not-allowed': (lambda e, u: dict(content=CBC256), 'saml_encryption_cbc'),
    'wrong-key-named': (lambda e, u: dict(cert=e.b.pki.cert('evil')), 'saml_encryption_key'),
    'wrong-key-unnamed': (lambda e, u: dict(cert=e.b.pki.cert('evil'), name_cert=False), 'saml_decrypt'),
    'wrapped-key-garbled': (lambda e, u: dict(tamper='wrapped'), 'saml_decrypt'),
    'truncated': (lambda e, u: dict(tamper='truncate'), 'saml_decrypt'),
    'garbled': (lambda e, u: dict(tamper='garble'), 'saml_decrypt'),
    'gcm-tag': (lambda e, u: dict(tamper='tag'), 'saml_decrypt'),
    'dtd-in-plaintext': (lambda e, u: dict(assertion=_dtd(e, u)), 'saml_dtd'),
    'too-deep': (lambda e, u: dict(assertion=_deep(e, u)), 'saml_xml_depth'),
    'too-many-nodes': (lambda e, u: dict(assertion=_wide(e, u)), 'saml_xml_nodes'),
    'retrieval-method': (lambda e, u: dict(extra=retrieval_method), 'saml_encryption_reference'),
    'cipher-reference': (lambda e, u: dict(extra=cipher_reference), 'saml_encryption_reference'),
    'oaep-label': (lambda e, u: dict(extra=lambda ea, ed, ki, ek: etree.SubElement(
        ek.find(f'{{{XENC}}}EncryptionMethod'), f'{{{XENC}}}OAEPparams')), 'saml_encryption_alg'),
    'unknown-content-alg': (lambda e, u: dict(extra=lambda ea, ed, ki, ek: ed.find(
        f'{{{XENC}}}EncryptionMethod').set('Algorithm', XENC + 'tripledes-cbc')), 'saml_encryption_alg'),
}


@pytest.mark.parametrize('case', sorted(HOSTILE))
def test_hostile_encrypted(enc, case):
    mk, slug = HOSTILE[case]
    _, snap, out = _post(enc, _hand(enc, 'alice@acme.example', **mk(enc, 'alice@acme.example')))
    enc.expect_rejected(out, snap, slug)


def test_two_encrypted_assertions(enc):
    def build(rid):
        eas = [encrypted_assertion(_signed_assertion_bytes(enc, u, rid), enc.b.pki.cert('sp'))
               for u in ('alice@acme.example', 'bob@acme.example')]
        return _response_b64(enc, rid, eas)
    _, snap, out = _post(enc, build)
    enc.expect_rejected(out, snap, 'saml_assertion_count')


def test_encrypted_and_plain_assertion(enc):
    def build(rid):
        ea = encrypted_assertion(_signed_assertion_bytes(enc, 'alice@acme.example', rid),
                                 enc.b.pki.cert('sp'))
        return _response_b64(enc, rid, [ea, enc.idp['acme'].signed_assertion('bob@acme.example', rid)])
    _, snap, out = _post(enc, build)
    enc.expect_rejected(out, snap, 'saml_assertion_count')


def test_plain_assertion_still_accepted_without_require(enc):
    user, _, _ = enc.fresh_user()
    r = enc.signin(user)
    assert r['code'], describe(r['out'])


# ------------------------------------------------------------ allow_cbc, require_encryption

def test_require_encryption_refuses_plain(cbc):
    br = cbc.browser()
    login = br.start_login()
    snap = cbc.snapshot()
    out = br.post_acs('acme', b64(cbc.idp['acme'].good('alice@acme.example', login.rid)), login.relay)
    cbc.expect_rejected(out, snap, 'saml_encryption_required')


@pytest.mark.parametrize('content', [CBC256, CBC128, GCM256])
def test_cbc_allowed_signin(cbc, content):
    user, _, _ = cbc.fresh_user()
    br, _, out = _post(cbc, _hand(cbc, user, content=content))
    _signed_in(cbc, br, out)


def _page(out):
    """The refusal page without its request ID."""
    return re.sub(r'[0-9a-f]{16,}', 'ID', out.chain[0].text)


def test_cbc_failures_are_one_answer(cbc):
    """Bad key, bad padding, bad XML, an unsigned or DTD-carrying plaintext: one code, one status,
    one page (the XML Encryption padding oracle, Jager and Somorovsky 2011)."""
    u = 'alice@acme.example'
    cases = {
        'wrapped-key-garbled': dict(tamper='wrapped'),
        'garbled-blocks': dict(tamper='garble'),
        'truncated': dict(tamper='truncate'),
        'wrong-key-unnamed': dict(cert=cbc.b.pki.cert('evil'), name_cert=False),
        'unsigned-inside': dict(assertion=_unsigned(cbc, u)),
        'dtd-in-plaintext': dict(assertion=_dtd(cbc, u)),
        'not-xml': dict(assertion=lambda rid: b'\x00\x01not xml at all' * 5),
        'second-assertion-inside': dict(assertion=_nested(cbc, u)),
    }
    pages = {}
    for name, kw in cases.items():
        _, snap, out = _post(cbc, _hand(cbc, u, content=CBC128, **kw))
        rec = cbc.expect_rejected(out, snap, 'saml_decrypt', status=403)
        pages[name] = (out.chain[0].status_code, _page(out), rec.get('reason'))
    assert len(set(pages.values())) == 1, pages


def test_holder_memory_has_no_key_in_workers_after_decrypt(enc):
    """The decryption happened in the holder: the worker's memory search of test_keys.py runs
    on its own; here the broker log names no key material and the holder is still the same."""
    pid = enc.b.keys_pid
    user, _, _ = enc.fresh_user()
    br, _, out = _post(enc, _hand(enc, user))
    _signed_in(enc, br, out)
    assert enc.b.keys_pid == pid
    assert 'PRIVATE KEY' not in enc.b.log_text()


def test_policy_shown_by_admin_api_and_ssoctl(enc, cbc):
    for e, req, allow in ((enc, False, False), (cbc, True, True)):
        t = admin(e.b, 'GET', '/api/v1/tenants/acme').json()
        assert (t['require_encryption'], t['allow_cbc'], t['encryption_keys']) == (req, allow, 2), t
        out = ssoctl(e.b, 'tenants', 'show', 'acme').stdout
        assert re.search(rf'^require_encryption\s+{str(req).lower()}$', out, re.M), out
        assert re.search(r'^encryption_keys\s+2$', out, re.M), out


def test_replayed_encrypted_response(enc):
    """The replay cache keys on the decrypted assertion's ID: the same POST again is refused."""
    user, _, _ = enc.fresh_user()
    kept = []
    build = _hand(enc, user)
    br, _, out = _post(enc, lambda rid: kept.append(build(rid)) or kept[0])
    _signed_in(enc, br, out)
    snap = enc.snapshot()
    again = br.post_acs('acme', kept[0])
    enc.expect_rejected(again, snap, {'saml_replay', 'saml_in_response_to'})


def _lasso(e, tag):
    _, _, md = e.sp['acme']
    return LassoIdP(os.path.join(e.workdir, 'lasso-' + tag), IDP_ENTITY, IDP_SSO, e.b.pki.key('idp'),
                    e.b.pki.cert('idp'), md)


LASSO_OAEP = {'sym': lasso.ENCRYPTION_SYM_KEY_TYPE_AES_256, 'key': lasso.KEY_ENCRYPTION_METHOD_OAEP}


def test_lasso_aes_cbc_oaep_with_allow_cbc(cbc):
    """lasso 2.8 encrypts with AES-CBC only: accepted where the tenant allows CBC."""
    user, _, ext = cbc.fresh_user()
    r = cbc.signin(user, idp=_lasso(cbc, 'cbc'), encrypt=LASSO_OAEP)
    raw = base64.b64decode(r['saml'])
    assert b'EncryptedAssertion' in raw and b'aes256-cbc' in raw and b'rsa-oaep-mgf1p' in raw
    assert r['code'], describe(r['out'])
    assert cbc.panel().token(r['code'], r['verifier']).json()['extension'] == ext


@pytest.mark.parametrize('key,slug', [(lasso.KEY_ENCRYPTION_METHOD_OAEP, 'saml_encryption_cbc'),
                                      (lasso.KEY_ENCRYPTION_METHOD_PKCS1, 'saml_encryption_rsa15')])
def test_lasso_refused_without_cbc_or_with_pkcs1(enc, cbc, key, slug):
    e = enc if slug == 'saml_encryption_cbc' else cbc
    idp = _lasso(e, f'k{key}')
    br = e.browser()
    login = br.start_login()
    saml, relay, _ = idp.answer(login.idp_url, 'alice@acme.example',
                                encrypt={'sym': lasso.ENCRYPTION_SYM_KEY_TYPE_AES_128, 'key': key})
    snap = e.snapshot()
    out = br.post_acs('acme', saml, relay)
    e.expect_rejected(out, snap, slug)


# ------------------------------------------------------------ configuration

def _check(b):
    from sbtest import env
    r = subprocess.run([env.broker_bin(), '-c', b.conf_path, '--check-config'], capture_output=True,
                       text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


def test_check_config_rollover_pair(factory):
    b = factory.broker(tenants=[('acme', {})], start=False)
    nk, nc = _keypair(b.dir, 'sp-next')
    # half a pair: file:line
    b.tenants['acme'].saml['sp_next_key'] = nk
    b.write()
    rc, out = _check(b)
    assert rc == 1 and re.search(re.escape(b.tenant_path('acme')) + r':\d+: \[saml\] sp_next_key and '
                                 r'sp_next_cert are given both or neither', out), out
    # a key that is not the certificate's: named, and nothing starts
    b.tenants['acme'].saml['sp_next_cert'] = b.pki.cert('idp')
    b.write()
    rc, out = _check(b)
    assert rc != 0 and 'sp_next_key' in out and 'does not match sp_next_cert' in out, out
    # a readable secret: refused like sp_key
    b.tenants['acme'].saml['sp_next_cert'] = nc
    os.chmod(nk, 0o644)
    b.write()
    rc, out = _check(b)
    assert rc == 1 and f'{nk} is readable by group or others' in out, out
    os.chmod(nk, 0o600)
    rc, out = _check(b)
    assert rc == 0 and 'configuration OK' in out, out


def test_workers_hold_no_sp_key_after_decrypting(enc):
    """test_keys.py's memory search, after decryptions with both keys: neither sp_key nor
    sp_next_key is in a worker (or the parent), both are in the holder."""
    if os.geteuid() != 0:
        pytest.skip('reading another process memory needs root')
    from test_keys import _children, _found, _holder_pid, _needles
    for cert in (enc.b.pki.cert('sp'), enc.next_cert):
        user, _, _ = enc.fresh_user()
        br, _, out = _post(enc, _hand(enc, user, cert=cert))
        _signed_in(enc, br, out)
    holder = _holder_pid(enc.b)
    workers = [p for p in _children(enc.b.pid) if p != holder]
    assert holder and len(workers) == 2, (holder, workers)
    for key in (enc.b.pki.key('sp'), enc.next_cert.replace('.crt', '.key')):
        needles = _needles(key)
        for w in workers + [enc.b.pid]:
            assert _found(w, needles) == set(), f'{key} bytes in process {w}'
        assert {'d-le', 'p-le', 'q-le'} <= _found(holder, needles), key


def test_rollover_key_added_by_reload(factory):
    """Step 1 of the rollover (docs/admin.md): sp_next_* added with SIGHUP, no restart; the new
    holder decrypts for the new workers."""
    from sbtest import env
    b = factory.broker(tenants=[('acme', {})])
    e = Env(b, b.dir)
    md = lambda: etree.fromstring(b.get('/t/acme/saml/metadata').content)  # noqa: E731
    kds = md().findall(f'{MD}SPSSODescriptor/{MD}KeyDescriptor')
    assert [k.get('use') for k in kds] == ['signing', 'encryption']
    holder = b.keys_pid
    nk, nc = _keypair(b.dir, 'sp-next')
    b.tenants['acme'].saml.update({'sp_next_key': nk, 'sp_next_cert': nc})
    b.reload()
    assert env.wait_for(lambda: b.keys_pid not in (None, holder) and len(
        md().findall(f'{MD}SPSSODescriptor/{MD}KeyDescriptor')) == 3, 15), b.log_tail()
    user, _, _ = e.fresh_user()
    br, _, out = _post(e, _hand(e, user, cert=nc))
    _signed_in(e, br, out)


def test_next_certificate_expiry_gauge(enc):
    text = admin(enc.b, 'GET', '/metrics').text
    sp = [l for l in text.splitlines() if l.startswith('ssobroker_certificate_not_after_seconds{')
          and 'tenant="acme"' in l and 'kind="sp"' in l]
    assert len(sp) == 2, sp
