"""An IdP built on python3-lasso (lasso.Server in the IdP role + lasso.Login): it reads the
broker's SP metadata, processes the broker's AuthnRequest and answers by HTTP-POST with a
signed assertion (RSA-SHA256), NameID = the Salesforce username."""
import base64
import os
import urllib.parse

import lasso

from .idp import idp_metadata

UNSPEC = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'


class LassoIdP:
    def __init__(self, workdir, entity, sso_url, key, cert, sp_metadata_xml):
        os.makedirs(workdir, exist_ok=True)
        self.idp_md = os.path.join(workdir, 'lasso-idp-metadata.xml')
        self.sp_md = os.path.join(workdir, 'lasso-sp-metadata.xml')
        with open(self.idp_md, 'w') as f:
            f.write(idp_metadata(entity, sso_url, [cert]))
        with open(self.sp_md, 'wb') as f:
            f.write(sp_metadata_xml if isinstance(sp_metadata_xml, bytes) else sp_metadata_xml.encode())
        self.server = lasso.Server(self.idp_md, key, None, cert)
        self.server.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256
        self.server.addProvider(lasso.PROVIDER_ROLE_SP, self.sp_md)
        self.entity = entity

    def answer(self, redirect_url, username, *, is_portal_user='false'):
        """-> (SAMLResponse base64, RelayState, ACS URL)."""
        query = urllib.parse.urlparse(redirect_url).query
        login = lasso.Login(self.server)
        login.processAuthnRequestMsg(query)
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
        relay = urllib.parse.parse_qs(query).get('RelayState', [None])[0]
        return login.msgBody, relay, login.msgUrl
