#!/usr/bin/python3
"""Writes the seeds of tests/corpus/saml_decrypt (the fuzz_saml_decrypt target and
tests/unit/test_saml_enc.c): Responses at the fuzz clock (2026-01-01T00:00:00Z) for the test
tenant (IdP https://idp.test/sf signing with tests/keys/idp.key, SP https://broker.test/sp),
each with an EncryptedAssertion built by tests/integration/sbtest/xenc.py, and its .expect:
the reason slug for the GCM-only tenant (expect:) and for the allow_cbc + require_encryption
tenant (cbc:).  Run from the source tree: /usr/bin/python3 tests/fuzz/gen_saml_decrypt.py"""
import datetime
import os
import sys

from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, 'tests', 'integration'))
from sbtest import idp as I  # noqa: E402
from sbtest.xenc import (CBC128, GCM128, OAEP11, RSA15, SAML,  # noqa: E402
                         cipher_reference, encrypted_assertion, retrieval_method)

KEYS = os.path.join(TOP, 'tests', 'keys')
OUT = os.path.join(TOP, 'tests', 'corpus', 'saml_decrypt')
T = datetime.datetime(2026, 1, 1, 0, 0, 0)
IDP, SP, ACS = 'https://idp.test/sf', 'https://broker.test/sp', 'https://broker.test/acs'
K = lambda n: os.path.join(KEYS, n)  # noqa: E731


def signed(user='alice@example.com', sign_it=True, aid=None):
    a = I.assertion(IDP, user, SP, recipient=ACS, t=T, aid=aid)
    if sign_it:
        I.sign(a, K('idp.key'), K('idp.crt'))
    return a


def resp(eas, sign_response=False):
    r = I.response(IDP, ACS, None, eas, t=T, rid='_r-fuzz')
    if sign_response:
        I.sign(r, K('idp.key'), K('idp.crt'))
    return etree.tostring(r)


def ea(pt=None, cert='sp.crt', **kw):
    pt = pt if pt is not None else etree.tostring(signed())
    return encrypted_assertion(pt, K(cert), **kw)


def nested():
    outer, inner = signed(), signed('admin@example.com', aid='_inner')
    etree.SubElement(outer, f'{{{SAML}}}Advice').append(inner)
    return etree.tostring(outer)


def deep():
    a = signed()
    n = a.find(f'{{{SAML}}}Subject')
    for _ in range(40):
        n = etree.SubElement(n, f'{{{SAML}}}Deep')
    return etree.tostring(a)


DTD = b'<!DOCTYPE a [<!ENTITY x "y">]>'
SEEDS = [
    ('gcm256-ok', lambda: resp([ea()]), 'ok', 'ok'),
    ('gcm128-oaep11-sha256', lambda: resp([ea(content=GCM128, transport=OAEP11, digest='sha256',
                                               mgf='sha256')]), 'ok', 'ok'),
    ('key-beside-data', lambda: resp([ea(key_beside=True)]), 'ok', 'ok'),
    ('next-key-unnamed', lambda: resp([ea(cert='idp2.crt', name_cert=False)]), 'ok', 'ok'),
    ('signed-response', lambda: resp([ea()], sign_response=True), 'ok', 'ok'),
    ('cbc128', lambda: resp([ea(content=CBC128)]), 'saml_encryption_cbc', 'ok'),
    ('rsa-1_5', lambda: resp([ea(transport=RSA15)]), 'saml_encryption_rsa15',
     'saml_encryption_rsa15'),
    ('wrong-key-named', lambda: resp([ea(cert='evil.crt')]), 'saml_encryption_key',
     'saml_encryption_key'),
    ('wrong-key-unnamed', lambda: resp([ea(cert='evil.crt', name_cert=False)]), 'saml_decrypt',
     'saml_decrypt'),
    ('gcm-tag', lambda: resp([ea(tamper='tag')]), 'saml_decrypt', 'saml_decrypt'),
    ('truncated', lambda: resp([ea(tamper='truncate')]), 'saml_decrypt', 'saml_decrypt'),
    ('wrapped-key-garbled', lambda: resp([ea(tamper='wrapped')]), 'saml_decrypt', 'saml_decrypt'),
    ('unsigned-inside', lambda: resp([ea(etree.tostring(signed(sign_it=False)))]),
     'saml_signature_missing', 'saml_signature_missing'),
    ('unsigned-inside-signed-response',
     lambda: resp([ea(etree.tostring(signed(sign_it=False)))], sign_response=True),
     'saml_signature_missing', 'saml_signature_missing'),
    ('cbc-unsigned-inside', lambda: resp([ea(etree.tostring(signed(sign_it=False)),
                                             content=CBC128)]), 'saml_encryption_cbc',
     'saml_decrypt'),
    ('cbc-dtd', lambda: resp([ea(DTD + etree.tostring(signed()), content=CBC128)]),
     'saml_encryption_cbc', 'saml_decrypt'),
    ('cbc-garbled', lambda: resp([ea(content=CBC128, tamper='garble')]), 'saml_encryption_cbc',
     'saml_decrypt'),
    ('cbc-not-xml', lambda: resp([ea(b'\x01 not xml ' * 9, content=CBC128)]),
     'saml_encryption_cbc', 'saml_decrypt'),
    ('dtd-in-plaintext', lambda: resp([ea(DTD + etree.tostring(signed()))]), 'saml_dtd',
     'saml_dtd'),
    ('second-assertion-inside', lambda: resp([ea(nested())]), 'saml_encryption_content',
     'saml_encryption_content'),
    ('too-deep', lambda: resp([ea(deep())]), 'saml_xml_depth', 'saml_xml_depth'),
    ('retrieval-method', lambda: resp([ea(extra=retrieval_method)]), 'saml_encryption_reference',
     'saml_encryption_reference'),
    ('cipher-reference', lambda: resp([ea(extra=cipher_reference)]), 'saml_encryption_reference',
     'saml_encryption_reference'),
    ('two-encrypted', lambda: resp([ea(), ea()]), 'saml_assertion_count', 'saml_assertion_count'),
    ('plain-assertion', lambda: resp([signed()]), 'ok', 'saml_encryption_required'),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    for i, (name, mk, gcm, cbc) in enumerate(SEEDS, 1):
        base = os.path.join(OUT, f'{i:04d}-{name}.xml')
        with open(base, 'wb') as f:
            f.write(mk())
        with open(base + '.expect', 'w') as f:
            f.write(f'expect: {gcm}\ncbc: {cbc}\nkeywords: saml, xmlenc\n'
                    f'origin: tests/fuzz/gen_saml_decrypt.py seed "{name}"\n')
    print(f'{len(SEEDS)} seeds in {OUT}')


if __name__ == '__main__':
    main()
