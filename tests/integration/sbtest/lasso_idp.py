"""An IdP built on python3-lasso (lasso.Server in the IdP role + lasso.Login): it reads the
broker's SP metadata, processes the broker's AuthnRequest and answers by HTTP-POST with a
signed assertion (RSA-SHA256), NameID = the Salesforce username.

With want_signed, the IdP wants signed AuthnRequests: its metadata says
WantAuthnRequestsSigned="true" and the login's signature verify hint is FORCE, so lasso checks the
HTTP-Redirect query signature with the SP's certificate from its metadata and raises lasso.Error
(e.g. DS_ERROR_SIGNATURE_NOT_FOUND, DS_ERROR_INVALID_SIGNATURE) otherwise."""
import base64
import os
import urllib.parse

import lasso

from .idp import idp_metadata

UNSPEC = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'


class LassoIdP:
    def __init__(self, workdir, entity, sso_url, key, cert, sp_metadata_xml, want_signed=False,
                 slo_url=None):
        os.makedirs(workdir, exist_ok=True)
        self.idp_md = os.path.join(workdir, 'lasso-idp-metadata.xml')
        self.sp_md = os.path.join(workdir, 'lasso-sp-metadata.xml')
        with open(self.idp_md, 'w') as f:
            md = idp_metadata(entity, sso_url, [cert], slo=slo_url)
            if want_signed:
                md = md.replace('WantAuthnRequestsSigned="false"', 'WantAuthnRequestsSigned="true"')
            f.write(md)
        with open(self.sp_md, 'wb') as f:
            f.write(sp_metadata_xml if isinstance(sp_metadata_xml, bytes) else sp_metadata_xml.encode())
        self.server = lasso.Server(self.idp_md, key, None, cert)
        self.server.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256
        self.server.addProvider(lasso.PROVIDER_ROLE_SP, self.sp_md)
        self.entity = entity
        self.want_signed = want_signed
        self.sessions = {}      # username -> lasso session dump (for single logout)
        self.identities = {}

    def answer(self, redirect_url, username, *, is_portal_user='false', encrypt=None):
        """-> (SAMLResponse base64, RelayState, ACS URL).  encrypt: None, or dict(sym=
        lasso.ENCRYPTION_SYM_KEY_TYPE_*, key=lasso.KEY_ENCRYPTION_METHOD_*): lasso encrypts the
        assertion to the SP metadata's encryption certificate (AES-CBC; OAEP or PKCS#1 v1.5)."""
        query = urllib.parse.urlparse(redirect_url).query
        login = lasso.Login(self.server)
        if self.want_signed:
            login.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_FORCE)
        login.processAuthnRequestMsg(query)
        if encrypt:
            sp = self.server.getProvider(login.remoteProviderId)
            sp.setEncryptionMode(lasso.ENCRYPTION_MODE_ASSERTION)
            sp.setEncryptionSymKeyType(encrypt['sym'])
            sp.setKeyEncryptionMethod(encrypt['key'])
        try:
            login.validateRequestMsg(True, True)
        except lasso.Error as e:   # e.g. a federation/consent remark; the request itself is fine
            if getattr(e, 'code', None) not in (lasso.LOGIN_ERROR_FEDERATION_NOT_FOUND,):
                raise
        import datetime
        t = datetime.datetime.utcnow()
        fmt = lambda d: d.strftime('%Y-%m-%dT%H:%M:%SZ')
        login.buildAssertion(lasso.SAML2_AUTHN_CONTEXT_PASSWORD_PROTECTED_TRANSPORT, fmt(t), None,
                             fmt(t - datetime.timedelta(seconds=30)), fmt(t + datetime.timedelta(minutes=5)))
        a = login.assertion
        nid = lasso.Saml2NameID()
        nid.format = UNSPEC
        nid.content = username
        a.subject.nameID = nid
        attrs = []
        for name, val in (('userId', '005000000000001AAA'), ('username', username), ('email', username),
                          ('is_portal_user', is_portal_user)):
            at = lasso.Saml2Attribute()
            at.name = name
            at.nameFormat = lasso.SAML2_ATTRIBUTE_NAME_FORMAT_UNSPECIFIED
            v = lasso.Saml2AttributeValue()
            tn = lasso.MiscTextNode.newWithString(val)
            tn.textChild = True
            v.any = (tn,)
            at.attributeValue = (v,)
            attrs.append(at)
        st = lasso.Saml2AttributeStatement()
        st.attribute = tuple(attrs)
        a.attributeStatement = (st,)
        login.buildAuthnResponseMsg()
        if login.session is not None:
            self.sessions[username] = login.session.dump()
        if login.identity is not None:
            self.identities[username] = login.identity.dump()
        relay = urllib.parse.parse_qs(query).get('RelayState', [None])[0]
        return login.msgBody, relay, login.msgUrl

    # -- single logout (HTTP-Redirect), lasso.Logout in the IdP role
    def logout_answer(self, redirect_url, username):
        """The SP's LogoutRequest (signature checked by lasso with the SP certificate of its
        metadata) -> (LogoutResponse URL, the request's NameID).  Ends the user's IdP session."""
        query = urllib.parse.urlparse(redirect_url).query
        lo = lasso.Logout(self.server)
        lo.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_FORCE)
        if username in self.sessions:
            lo.setSessionFromDump(self.sessions[username])
        if username in self.identities:
            lo.setIdentityFromDump(self.identities[username])
        lo.processRequestMsg(query)
        nid = lo.request.nameId.content
        try:
            lo.validateRequest()
        except lasso.Error as e:
            if getattr(e, 'code', None) not in (lasso.PROFILE_ERROR_SESSION_NOT_FOUND,
                                                lasso.PROFILE_ERROR_IDENTITY_NOT_FOUND,
                                                lasso.LOGOUT_ERROR_UNSUPPORTED_PROFILE):
                raise
        self.sessions.pop(username, None)
        lo.buildResponseMsg()
        return lo.msgUrl, nid

    def logout_request(self, username, session_dump=None, post=False):
        """An IdP-initiated LogoutRequest signed by lasso -> (URL, lasso.Logout); with post, the
        HTTP-POST binding (enveloped XML signature): lo.msgBody is the SAMLRequest form value."""
        lo = lasso.Logout(self.server)
        lo.setSessionFromDump(session_dump or self.sessions[username])
        if username in self.identities:
            lo.setIdentityFromDump(self.identities[username])
        lo.initRequest(None, lasso.HTTP_METHOD_POST if post else lasso.HTTP_METHOD_REDIRECT)
        lo.buildRequestMsg()
        return lo.msgUrl, lo

    @staticmethod
    def logout_check_response(lo, redirect_url):
        """lasso checks our LogoutResponse (signature with the SP certificate, InResponseTo,
        status); raises lasso.Error otherwise."""
        lo.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_FORCE)
        lo.processResponseMsg(urllib.parse.urlparse(redirect_url).query)
        return lo.response.status.statusCode.value
