"""XML Encryption 1.1 by hand (Python's cryptography), for the encrypted-assertion tests and the
tests/corpus/saml_decrypt seeds: every field of an EncryptedAssertion can be chosen, or wrong."""
import base64
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding
from lxml import etree

SAML = 'urn:oasis:names:tc:SAML:2.0:assertion'
XENC = 'http://www.w3.org/2001/04/xmlenc#'
XENC11 = 'http://www.w3.org/2009/xmlenc11#'
DSNS = 'http://www.w3.org/2000/09/xmldsig#'
GCM256, GCM128 = XENC11 + 'aes256-gcm', XENC11 + 'aes128-gcm'
CBC256, CBC128 = XENC + 'aes256-cbc', XENC + 'aes128-cbc'
MGF1P, OAEP11, RSA15 = XENC + 'rsa-oaep-mgf1p', XENC11 + 'rsa-oaep', XENC + 'rsa-1_5'


def _pub(cert):
    with open(cert, 'rb') as f:
        c = x509.load_pem_x509_certificate(f.read())
    return c, c.public_key()


def _el(parent, ns, name, **attrs):
    e = etree.SubElement(parent, f'{{{ns}}}{name}')
    for k, v in attrs.items():
        e.set(k, v)
    return e


def encrypted_assertion(plaintext, cert, *, content=GCM256, transport=MGF1P, digest=None,
                        mgf=None, name_cert=True, key_beside=False, tamper=None, extra=None):
    """An EncryptedAssertion of plaintext (bytes) to cert, XML Encryption 1.1 by hand.
    tamper: 'tag', 'truncate', 'garble', 'wrapped' (the EncryptedKey's bytes)."""
    c, pub = _pub(cert)
    klen = 32 if '256' in content else 16
    cek = os.urandom(klen)
    if 'gcm' in content:
        iv = os.urandom(12)
        data = iv + AESGCM(cek).encrypt(iv, plaintext, None)
    else:
        iv = os.urandom(16)
        n = 16 - len(plaintext) % 16
        padded = plaintext + os.urandom(n - 1) + bytes([n])
        enc = Cipher(algorithms.AES(cek), modes.CBC(iv)).encryptor()
        data = iv + enc.update(padded) + enc.finalize()
    if transport == RSA15:
        wrapped = pub.encrypt(cek, padding.PKCS1v15())
    else:
        md = hashes.SHA256() if digest == 'sha256' else hashes.SHA1()
        mg = hashes.SHA256() if mgf == 'sha256' else hashes.SHA1()
        wrapped = pub.encrypt(cek, padding.OAEP(mgf=padding.MGF1(mg), algorithm=md, label=None))
    if tamper == 'tag':
        data = data[:-1] + bytes([data[-1] ^ 1])
    elif tamper == 'truncate':
        data = data[:20]
    elif tamper == 'garble':
        data = data[:40] + bytes(b ^ 0x5a for b in data[40:60]) + data[60:]
    elif tamper == 'wrapped':
        wrapped = wrapped[:-1] + bytes([wrapped[-1] ^ 1])
    ea = etree.Element(f'{{{SAML}}}EncryptedAssertion', nsmap={'saml': SAML, 'xenc': XENC,
                                                               'ds': DSNS, 'xenc11': XENC11})
    ed = _el(ea, XENC, 'EncryptedData', Type=XENC + 'Element')
    _el(ed, XENC, 'EncryptionMethod', Algorithm=content)
    ki = _el(ed, DSNS, 'KeyInfo')
    ek = etree.Element(f'{{{XENC}}}EncryptedKey')
    em = _el(ek, XENC, 'EncryptionMethod', Algorithm=transport)
    if digest:
        _el(em, DSNS, 'DigestMethod', Algorithm={'sha256': XENC + 'sha256',
                                                 'sha1': DSNS + 'sha1'}[digest])
    if mgf:
        _el(em, XENC11, 'MGF', Algorithm=XENC11 + 'mgf1' + mgf)
    if name_cert:
        xd = _el(_el(ek, DSNS, 'KeyInfo'), DSNS, 'X509Data')
        _el(xd, DSNS, 'X509Certificate').text = base64.b64encode(c.public_bytes(Encoding.DER)).decode()
    _el(_el(ek, XENC, 'CipherData'), XENC, 'CipherValue').text = base64.b64encode(wrapped).decode()
    if key_beside:
        ea.append(ek)
    else:
        ki.append(ek)
    _el(_el(ed, XENC, 'CipherData'), XENC, 'CipherValue').text = base64.b64encode(data).decode()
    if extra:
        extra(ea, ed, ki, ek)
    return ea


def retrieval_method(ea, ed, ki, ek):
    """extra=: a ds:RetrievalMethod pointing at a network key (never to be fetched)."""
    rm = etree.SubElement(ki, f'{{{DSNS}}}RetrievalMethod')
    rm.set('URI', 'http://127.0.0.1:9/evil-key')
    rm.set('Type', XENC + 'EncryptedKey')


def cipher_reference(ea, ed, ki, ek):
    """extra=: the EncryptedData's CipherValue replaced by a CipherReference to a URL."""
    cd = ed.find(f'{{{XENC}}}CipherData')
    for c in list(cd):
        cd.remove(c)
    etree.SubElement(cd, f'{{{XENC}}}CipherReference').set('URI', 'http://127.0.0.1:9/ct')
