"""A Salesforce-shaped IdP built on pysaml2 (python3-saml2): it reads the broker's SP
metadata, parses the broker's AuthnRequest from the HTTP-Redirect URL and answers with a
signed Assertion (unsigned Response, the Salesforce shape) or with both signed.

With want_signed (Salesforce's "Verify Request Signatures"), the IdP wants signed
AuthnRequests: the HTTP-Redirect query signature (SAML Bindings 3.4.4.1) is checked as
pysaml2's own tests do it (tests/test_70_redirect_signing.py): pysaml2's
verify_redirect_signature() with each signing certificate of the SP's metadata; an unsigned or
badly signed request raises RequestRefused."""
import base64
import os
import urllib.parse

from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
from saml2.attribute_converter import AttributeConverterNOOP
from saml2.config import IdPConfig
from saml2.saml import NAMEID_FORMAT_UNSPECIFIED, NameID
from saml2.server import Server
from saml2.saml import NAME_FORMAT_UNSPECIFIED
from saml2.saml import AUTHN_PASSWORD_PROTECTED

try:
    from saml2.xmldsig import SIG_RSA_SHA256, DIGEST_SHA256
except ImportError:  # pragma: no cover
    SIG_RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256'
    DIGEST_SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256'


class RequestRefused(Exception):
    """The IdP refused the AuthnRequest (its signature)."""


class PySamlIdP:
    def __init__(self, workdir, entity, sso_url, key, cert, sp_metadata_xml, want_signed=False,
                 slo_url=None):
        os.makedirs(workdir, exist_ok=True)
        self.sp_md = os.path.join(workdir, 'sp-metadata.xml')
        with open(self.sp_md, 'wb') as f:
            f.write(sp_metadata_xml if isinstance(sp_metadata_xml, bytes) else sp_metadata_xml.encode())
        conf = {
            'entityid': entity,
            'key_file': key,
            'cert_file': cert,
            'xmlsec_binary': '/usr/bin/xmlsec1',
            'signing_algorithm': SIG_RSA_SHA256,
            'digest_algorithm': DIGEST_SHA256,
            'metadata': {'local': [self.sp_md]},
            'service': {'idp': {
                'endpoints': {'single_sign_on_service': [(sso_url, BINDING_HTTP_REDIRECT),
                                                         (sso_url, BINDING_HTTP_POST)],
                              **({'single_logout_service': [(slo_url, BINDING_HTTP_REDIRECT)]}
                                 if slo_url else {})},
                'name_id_format': [NAMEID_FORMAT_UNSPECIFIED],
                'want_authn_requests_signed': False,
                'policy': {'default': {'lifetime': {'minutes': 5}, 'attribute_restrictions': None,
                                       'name_form': NAME_FORMAT_UNSPECIFIED}},
            }},
            'allow_unknown_attributes': True,
        }
        cfg = IdPConfig()
        cfg.load(conf)
        self.server = Server(config=cfg)
        # Salesforce sends attribute names as they are (NameFormat unspecified): pass them through.
        self.server.config.attribute_converters.insert(0, AttributeConverterNOOP(NAME_FORMAT_UNSPECIFIED))
        self.entity = entity
        self.want_signed = want_signed

    def check_signature(self, redirect_url):
        """The query's Signature, by pysaml2, with the SP's signing certificates (metadata)."""
        from saml2.sigver import verify_redirect_signature
        q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(redirect_url).query).items()}
        if 'Signature' not in q or 'SigAlg' not in q:
            raise RequestRefused('the AuthnRequest is not signed')
        req = self.server.parse_authn_request(q['SAMLRequest'], BINDING_HTTP_REDIRECT)
        certs = self.server.metadata.certs(req.message.issuer.text, 'any', 'signing')
        if not certs:
            raise RequestRefused('no signing certificate in the SP metadata')
        for c in certs:
            try:
                if verify_redirect_signature(q, self.server.sec.sec_backend, c):
                    return
            except Exception as e:      # pysaml2 raises Unsupported for an unknown SigAlg
                raise RequestRefused(f'{type(e).__name__}: {e}') from e
        raise RequestRefused('the AuthnRequest signature does not verify')

    def answer(self, redirect_url, username, *, sign_response=False, is_portal_user='false',
               encrypt=None):
        """-> (SAMLResponse base64, RelayState, ACS URL).  encrypt: None, or dict(msg_enc=URI,
        key_type=xmlsec1 --session-key, cert=PEM path or None for the SP metadata's encryption
        certificate): pysaml2 signs the Assertion, then encrypts it with xmlsec1 (RSA-OAEP)."""
        if self.want_signed:
            self.check_signature(redirect_url)
        q = urllib.parse.parse_qs(urllib.parse.urlparse(redirect_url).query)
        req = self.server.parse_authn_request(q['SAMLRequest'][0], BINDING_HTTP_REDIRECT)
        msg = req.message
        sp_entity = msg.issuer.text
        acs = msg.assertion_consumer_service_url
        if not acs:
            acs = self.server.metadata.assertion_consumer_service(sp_entity, BINDING_HTTP_POST)[0]['location']
        identity = {'userId': ['005000000000001AAA'], 'username': [username], 'email': [username],
                    'is_portal_user': [is_portal_user]}
        enc = self._encrypting(encrypt) if encrypt else {}
        resp = self.server.create_authn_response(
            identity, in_response_to=msg.id, destination=acs, sp_entity_id=sp_entity,
            name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=username),
            authn={'class_ref': AUTHN_PASSWORD_PROTECTED, 'authn_auth': self.entity},
            sign_assertion=True, sign_response=sign_response, userid=username,
            sign_alg=SIG_RSA_SHA256, digest_alg=DIGEST_SHA256, **enc)
        xml = str(resp).encode() if not isinstance(resp, bytes) else resp
        return base64.b64encode(xml).decode(), q.get('RelayState', [None])[0], acs

    def _encrypting(self, encrypt):
        """pysaml2 7 encrypts with 3DES by default: the content algorithm and the xmlsec1 session
        key it asks for are set per call (its pre_encryption_part and encrypt_assertion)."""
        import functools
        import saml2.entity
        from saml2.sigver import pre_encryption_part
        saml2.entity.pre_encryption_part = functools.partial(pre_encryption_part,
                                                             msg_enc=encrypt['msg_enc'])
        sec = self.server.sec
        if not hasattr(sec, '_sb_encrypt'):
            sec._sb_encrypt = sec.encrypt_assertion
        sec.encrypt_assertion = functools.partial(sec._sb_encrypt, key_type=encrypt['key_type'])
        kw = {'encrypt_assertion': True, 'encrypt_assertion_self_contained': True}
        if encrypt.get('cert'):
            with open(encrypt['cert']) as f:
                kw['encrypt_cert_assertion'] = f.read()
        return kw

    # -- single logout (HTTP-Redirect), pysaml2's Server in the IdP role
    def _sp_certs(self, sp_entity):
        return self.server.metadata.certs(sp_entity, 'any', 'signing')

    def _verify_redirect(self, url, sp_entity):
        from saml2.sigver import verify_redirect_signature
        q = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlparse(url).query).items()}
        if 'Signature' not in q or 'SigAlg' not in q:
            raise RequestRefused('the logout message is not signed')
        for c in self._sp_certs(sp_entity):
            if verify_redirect_signature(q, self.server.sec.sec_backend, c):
                return q
        raise RequestRefused('the logout message signature does not verify')

    def logout_request(self, sp_entity, sp_slo_url, username, session_index=None):
        """An IdP-initiated LogoutRequest, signed on the HTTP-Redirect binding by pysaml2
        -> (URL, request ID)."""
        req_id, req = self.server.create_logout_request(
            sp_slo_url, sp_entity, name_id=NameID(format=NAMEID_FORMAT_UNSPECIFIED, text=username),
            session_indexes=[session_index] if session_index else None, sign=False)
        info = self.server.apply_binding(BINDING_HTTP_REDIRECT, str(req), sp_slo_url, 'rs-pysaml2',
                                         sign=True, sigalg=SIG_RSA_SHA256)
        return dict(info['headers'])['Location'], req_id

    def logout_check_response(self, url, sp_entity, request_id):
        """pysaml2 checks our LogoutResponse: the query signature with the SP metadata's
        certificate, then parses it -> its top-level status."""
        q = self._verify_redirect(url, sp_entity)
        resp = self.server.parse_logout_request_response(q['SAMLResponse'], BINDING_HTTP_REDIRECT)
        assert resp.in_response_to == request_id, (resp.in_response_to, request_id)
        return resp.response.status.status_code.value

    def logout_answer(self, url, sp_entity):
        """The SP's LogoutRequest (signature checked by pysaml2) -> (LogoutResponse URL, NameID)."""
        q = self._verify_redirect(url, sp_entity)
        req = self.server.parse_logout_request(q['SAMLRequest'], BINDING_HTTP_REDIRECT)
        resp = self.server.create_logout_response(req.message, [BINDING_HTTP_REDIRECT], sign=False)
        dest = self.server.metadata.single_logout_service(sp_entity, BINDING_HTTP_REDIRECT, 'spsso')[0]['location']
        info = self.server.apply_binding(BINDING_HTTP_REDIRECT, str(resp), dest, q.get('RelayState'),
                                         response=True, sign=True, sigalg=SIG_RSA_SHA256)
        return dict(info['headers'])['Location'], req.message.name_id.text
