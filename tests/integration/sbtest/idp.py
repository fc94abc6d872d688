"""A Salesforce-shaped SAML IdP made of lxml + python3-xmlsec, with the knobs the hostile
tests need (every field of the Assertion and the Response can be set or left out)."""
import base64
import copy
import datetime
import urllib.parse
import uuid
import zlib

import xmlsec
from lxml import etree

SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol'
SAML = 'urn:oasis:names:tc:SAML:2.0:assertion'
DS = 'http://www.w3.org/2000/09/xmldsig#'
MD = 'urn:oasis:names:tc:SAML:2.0:metadata'
XS = 'http://www.w3.org/2001/XMLSchema'
XSI = 'http://www.w3.org/2001/XMLSchema-instance'
NS = {'samlp': SAMLP, 'saml': SAML, 'ds': DS, 'md': MD}
BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer'
HOK = 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key'
UNSPEC = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'
SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success'


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0, tzinfo=None)


def iso(t):
    if isinstance(t, str):
        return t
    return t.strftime('%Y-%m-%dT%H:%M:%SZ')


def secs(n):
    return datetime.timedelta(seconds=n)


def pem_body(path):
    with open(path) as f:
        return ''.join(l.strip() for l in f if l.strip() and not l.startswith('-----'))


def idp_metadata(entity, sso, cert_paths, slo=None, slo_response=None):
    """slo: an HTTP-Redirect SingleLogoutService Location (and ResponseLocation)."""
    keys = ''.join(
        f'<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{pem_body(c)}'
        f'</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>' for c in cert_paths)
    post = sso.replace('HttpRedirect', 'HttpPost')
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<md:EntityDescriptor xmlns:md="{MD}" xmlns:ds="{DS}" entityID="{entity}">'
            f'<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="{SAMLP}">'
            f'{keys}'
            + (f'<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
               f'Location="{slo}"' + (f' ResponseLocation="{slo_response}"' if slo_response else '') + '/>'
               if slo else '') +
            f'<md:NameIDFormat>{UNSPEC}</md:NameIDFormat>'
            f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{sso}"/>'
            f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{post}"/>'
            f'</md:IDPSSODescriptor></md:EntityDescriptor>\n')


def parse_redirect(url):
    """The broker's HTTP-Redirect AuthnRequest URL -> dict(id, acs, issuer, relay, xml, query)."""
    u = urllib.parse.urlparse(url)
    q = urllib.parse.parse_qs(u.query)
    raw = base64.b64decode(q['SAMLRequest'][0])
    try:
        xml = zlib.decompress(raw, -15)
    except zlib.error:
        xml = raw
    doc = etree.fromstring(xml)
    iss = doc.find('saml:Issuer', NS)
    return {'id': doc.get('ID'), 'acs': doc.get('AssertionConsumerServiceURL'),
            'issuer': iss.text if iss is not None else None, 'relay': q.get('RelayState', [None])[0],
            'xml': xml, 'doc': doc, 'query': u.query, 'destination': doc.get('Destination')}


_ABSENT = object()


def assertion(issuer, name_id, audience, recipient=_ABSENT, in_response_to=None, *, t=None,
              not_before=None, not_on_or_after=None, scd_not_on_or_after=None, issue_instant=None,
              authn_instant=None, audiences=None, method=BEARER, conditions=True, aid=None,
              extra_conditions='', attrs=None, is_portal_user='false', name_format=UNSPEC,
              assertion_issuer=None, subject=True):
    """An unsigned saml:Assertion element.  recipient=None leaves Recipient out; audiences is a
    list of AudienceRestriction groups ([] = none); not_before=False leaves the attribute out."""
    t = t or now()
    aid = aid or '_a' + uuid.uuid4().hex
    nb = t - secs(30) if not_before is None else not_before
    noa = t + secs(300) if not_on_or_after is None else not_on_or_after
    snoa = noa if scd_not_on_or_after is None else scd_not_on_or_after
    if audiences is None:
        audiences = [[audience]]
    E = etree.Element
    a = E(f'{{{SAML}}}Assertion', nsmap={'saml': SAML, 'xs': XS, 'xsi': XSI})
    a.set('ID', aid)
    a.set('IssueInstant', iso(issue_instant or t))
    a.set('Version', '2.0')
    iss = etree.SubElement(a, f'{{{SAML}}}Issuer')
    iss.set('Format', 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity')
    iss.text = assertion_issuer or issuer
    if subject:
        s = etree.SubElement(a, f'{{{SAML}}}Subject')
        n = etree.SubElement(s, f'{{{SAML}}}NameID')
        if name_format:
            n.set('Format', name_format)
        n.text = name_id
        sc = etree.SubElement(s, f'{{{SAML}}}SubjectConfirmation')
        sc.set('Method', method)
        scd = etree.SubElement(sc, f'{{{SAML}}}SubjectConfirmationData')
        if in_response_to:
            scd.set('InResponseTo', in_response_to)
        if snoa is not False:
            scd.set('NotOnOrAfter', iso(snoa))
        if recipient is not None and recipient is not _ABSENT:
            scd.set('Recipient', recipient)
    if conditions:
        c = etree.SubElement(a, f'{{{SAML}}}Conditions')
        if nb is not False:
            c.set('NotBefore', iso(nb))
        if noa is not False:
            c.set('NotOnOrAfter', iso(noa))
        for grp in audiences:
            ar = etree.SubElement(c, f'{{{SAML}}}AudienceRestriction')
            for au in grp:
                etree.SubElement(ar, f'{{{SAML}}}Audience').text = au
        if extra_conditions:
            frag = etree.fromstring(f'<x xmlns:saml="{SAML}" xmlns:xsi="{XSI}" xmlns:xs="{XS}">{extra_conditions}</x>')
            for ch in frag:
                c.append(ch)
    st = etree.SubElement(a, f'{{{SAML}}}AuthnStatement')
    st.set('AuthnInstant', iso(authn_instant or t))
    st.set('SessionIndex', '_s' + uuid.uuid4().hex)
    ac = etree.SubElement(st, f'{{{SAML}}}AuthnContext')
    etree.SubElement(ac, f'{{{SAML}}}AuthnContextClassRef').text = \
        'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport'
    if attrs is None:
        attrs = {'userId': '005000000000001AAA', 'username': name_id, 'email': name_id,
                 'is_portal_user': is_portal_user}
    if attrs:
        ast = etree.SubElement(a, f'{{{SAML}}}AttributeStatement')
        for k, v in attrs.items():
            at = etree.SubElement(ast, f'{{{SAML}}}Attribute')
            at.set('Name', k)
            at.set('NameFormat', 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified')
            av = etree.SubElement(at, f'{{{SAML}}}AttributeValue')
            av.set(f'{{{XSI}}}type', 'xs:anyType')
            av.text = v
    return a


def response(issuer, destination, in_response_to, assertions, *, t=None, rid=None,
             status=SUCCESS, issue_instant=None, with_issuer=True):
    t = t or now()
    r = etree.Element(f'{{{SAMLP}}}Response', nsmap={'samlp': SAMLP, 'saml': SAML})
    if destination is not None:
        r.set('Destination', destination)
    r.set('ID', rid or '_r' + uuid.uuid4().hex)
    if in_response_to:
        r.set('InResponseTo', in_response_to)
    r.set('IssueInstant', iso(issue_instant or t))
    r.set('Version', '2.0')
    if with_issuer:
        i = etree.SubElement(r, f'{{{SAML}}}Issuer')
        i.set('Format', 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity')
        i.text = issuer
    s = etree.SubElement(r, f'{{{SAMLP}}}Status')
    sc = etree.SubElement(s, f'{{{SAMLP}}}StatusCode')
    if status == SUCCESS:
        sc.set('Value', SUCCESS)
    else:
        sc.set('Value', 'urn:oasis:names:tc:SAML:2.0:status:Responder')
        etree.SubElement(sc, f'{{{SAMLP}}}StatusCode').set('Value', status)
    for a in assertions:
        r.append(a)
    return r


def sign(elem, key, cert, *, alg='sha256', uri=None, extra_refs=(), position='after_issuer',
         keyinfo=True):
    """Enveloped signature over elem (exclusive c14n, Reference #ID, the cert in KeyInfo).
    extra_refs: further '#ID' references to put into the same SignedInfo (S21)."""
    sig_alg = {'sha256': xmlsec.Transform.RSA_SHA256, 'sha1': xmlsec.Transform.RSA_SHA1}[alg]
    dig_alg = {'sha256': xmlsec.Transform.SHA256, 'sha1': xmlsec.Transform.SHA1}[alg]
    sig = xmlsec.template.create(elem, xmlsec.Transform.EXCL_C14N, sig_alg, ns='ds')
    iss = elem.find(f'{{{SAML}}}Issuer')
    if position == 'after_issuer' and iss is not None:
        iss.addnext(sig)
    else:
        elem.insert(0, sig)
    ref = xmlsec.template.add_reference(sig, dig_alg, uri=uri if uri is not None else '#' + elem.get('ID'))
    xmlsec.template.add_transform(ref, xmlsec.Transform.ENVELOPED)
    xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
    for r in extra_refs:
        ref2 = xmlsec.template.add_reference(sig, dig_alg, uri=r)
        xmlsec.template.add_transform(ref2, xmlsec.Transform.ENVELOPED)
        xmlsec.template.add_transform(ref2, xmlsec.Transform.EXCL_C14N)
    if keyinfo:
        xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(sig))
    ctx = xmlsec.SignatureContext()
    k = xmlsec.Key.from_file(key, xmlsec.KeyFormat.PEM)
    k.load_cert_from_file(cert, xmlsec.KeyFormat.PEM)
    ctx.key = k
    root = elem.getroottree().getroot()
    for node in root.iter():
        if isinstance(node.tag, str) and node.get('ID'):
            ctx.register_id(node, 'ID')
    ctx.sign(sig)
    return sig


def verify(elem, cert):
    """Check a signature with xmlsec (used by the suite's self-tests of its own IdP)."""
    sig = elem.find(f'{{{DS}}}Signature')
    ctx = xmlsec.SignatureContext()
    ctx.key = xmlsec.Key.from_file(cert, xmlsec.KeyFormat.CERT_PEM)
    for node in elem.getroottree().getroot().iter():
        if isinstance(node.tag, str) and node.get('ID'):
            ctx.register_id(node, 'ID')
    ctx.verify(sig)


def to_bytes(elem):
    return etree.tostring(elem) if not isinstance(elem, bytes) else elem


def b64(elem_or_bytes):
    return base64.b64encode(to_bytes(elem_or_bytes)).decode()


def clone(elem):
    return copy.deepcopy(elem)


class XmlIdP:
    """The hand-made IdP: builds signed responses for one SP (entity + ACS)."""

    def __init__(self, entity, key, cert, sp_entity, acs):
        self.entity, self.key, self.cert = entity, key, cert
        self.sp_entity, self.acs = sp_entity, acs

    def assertion(self, name_id, in_response_to=None, **kw):
        kw.setdefault('recipient', self.acs)
        return assertion(self.entity, name_id, self.sp_entity, in_response_to=in_response_to, **kw)

    def signed_assertion(self, name_id, in_response_to=None, key=None, cert=None, alg='sha256', sign_kw=None, **kw):
        a = self.assertion(name_id, in_response_to, **kw)
        sign(a, key or self.key, cert or self.cert, alg=alg, **(sign_kw or {}))
        return a

    def response(self, assertions, in_response_to=None, destination=_ABSENT, **kw):
        dest = self.acs if destination is _ABSENT else destination
        return response(self.entity, dest, in_response_to, assertions, **kw)

    def good(self, name_id, in_response_to=None, sign_response=False, **kw):
        """The Salesforce shape: unsigned Response, signed Assertion (optionally both signed)."""
        a = self.signed_assertion(name_id, in_response_to, **kw)
        r = self.response([a], in_response_to)
        if sign_response:
            sign(r, self.key, self.cert)
        return r
