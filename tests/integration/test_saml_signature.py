"""Signature processing: XML Signature Wrapping (SECURITY-CASES S01-S08), stripping, spoofing,
tampering, bundling, algorithms and reference tricks (S09-S29).  Every case: 403 with the
reason code in the audit file, no session cookie, no code, no new Redis key, broker healthy."""
import pytest

from sbtest import idp as idpmod
from sbtest import mutate
from sbtest.idp import b64

ALICE = 'alice@acme.example'
SIG = {'saml_signature_invalid', 'saml_signature_missing', 'saml_signature_shape', 'saml_schema',
       'saml_assertion_count', 'saml_duplicate_id'}


def attempt(acme, build, slugs, status=None, tenant='acme'):
    """Start a real login, build a hostile response for its request ID, post it, check rejection."""
    br = acme.browser()
    login = br.start_login(tenant)
    payload = build(acme.idp[tenant], login.rid)
    snap = acme.snapshot()
    data = payload if isinstance(payload, str) else b64(payload)
    out = br.post_acs(tenant, data, login.relay)
    return acme.expect_rejected(out, snap, slugs, tenant=tenant, status=status)


def both_signed(x, rid, name=ALICE):
    return x.good(name, rid, sign_response=True)


def response_signed_only(x, rid, name=ALICE):
    r = x.response([x.assertion(name, rid)], rid)
    idpmod.sign(r, x.key, x.cert)
    return r


@pytest.mark.parametrize('xsw', sorted(mutate.XSW_RESPONSE))
@pytest.mark.parametrize('shape', ['response-signed', 'both-signed'])
def test_xsw_on_signed_response(acme, xsw, shape):
    build = response_signed_only if shape == 'response-signed' else both_signed
    attempt(acme, lambda x, rid: mutate.XSW_RESPONSE[xsw](build(x, rid)), SIG)


@pytest.mark.parametrize('xsw', sorted(mutate.XSW_ASSERTION))
@pytest.mark.parametrize('shape', ['assertion-signed', 'both-signed'])
def test_xsw_on_signed_assertion(acme, xsw, shape):
    def build(x, rid):
        r = x.good(ALICE, rid, sign_response=(shape == 'both-signed'))
        return mutate.XSW_ASSERTION[xsw](r)
    attempt(acme, build, SIG)


def test_signature_stripped(acme):
    attempt(acme, lambda x, rid: mutate.strip_all(x.good(ALICE, rid)), 'saml_signature_missing')


def test_evil_key_with_evil_cert_in_keyinfo(acme):
    pki = acme.b.pki
    attempt(acme, lambda x, rid: x.response([x.signed_assertion(
        'bob@acme.example', rid, key=pki.key('evil'), cert=pki.cert('evil'))], rid), 'saml_signature_invalid')


@pytest.mark.parametrize('what', ['nameid', 'audience', 'not_on_or_after'])
def test_tamper_after_signing(acme, what):
    fn = {'nameid': mutate.tamper_nameid, 'audience': mutate.tamper_audience,
          'not_on_or_after': mutate.tamper_not_on_or_after}[what]
    attempt(acme, lambda x, rid: fn(x.good(ALICE, rid)), 'saml_signature_invalid')


@pytest.mark.parametrize('trick', ['comment', 'cdata'])
def test_comment_injection_in_nameid(acme, trick):
    """S23/S24: the IdP signed alice@acme.example.evil.test; an inserted comment or CDATA
    section keeps the signature valid and must not turn the identity into alice."""
    signed = 'alice@acme.example.evil.test'
    ins = {'comment': 'alice@acme.example<!---->.evil.test',
           'cdata': 'alice@acme.example<![CDATA[.evil.test]]>'}[trick]

    def build(x, rid):
        r = x.response([x.signed_assertion(signed, rid, attrs={})], rid)
        return b64(mutate.bytes_replace(r, f'>{signed}</saml:NameID>', f'>{ins}</saml:NameID>'))
    rec = attempt(acme, build, {'user_unmapped', 'saml_nameid', 'saml_signature_invalid'})
    assert str(rec.get('internal_id')) != '1001' and (rec.get('user') or '').lower() != 'alice@acme.example', rec


def test_processing_instruction_in_nameid(acme):
    signed = 'alice@acme.example.evil.test'

    def build(x, rid):
        r = x.response([x.signed_assertion(signed, rid, attrs={})], rid)
        return b64(mutate.bytes_replace(r, f'>{signed}</saml:NameID>', '>alice@acme.example<?x y?>.evil.test</saml:NameID>'))
    attempt(acme, build, {'saml_signature_invalid', 'user_unmapped', 'saml_nameid'})


def test_two_signed_assertions(acme):
    """S14: two validly signed assertions (alice, bob) in one unsigned Response."""
    attempt(acme, lambda x, rid: x.response([x.signed_assertion(ALICE, rid), x.signed_assertion('bob@acme.example', rid)], rid),
            'saml_assertion_count')


@pytest.mark.parametrize('order', ['signed-first', 'unsigned-first'])
def test_appended_unsigned_assertion(acme, order):
    """S12/S13: a signed assertion plus an unsigned evil one."""
    def build(x, rid):
        a, b = x.signed_assertion(ALICE, rid), x.assertion('bob@acme.example', rid)
        return x.response([a, b] if order == 'signed-first' else [b, a], rid)
    attempt(acme, build, {'saml_assertion_count', 'saml_signature_missing'})


def test_signed_response_unsigned_assertion(acme):
    """S10: the recommended policy is to require a signed Assertion."""
    attempt(acme, response_signed_only, 'saml_signature_missing')


def test_multiple_references(acme):
    """S21: SignedInfo with two References (both digests correct)."""
    def build(x, rid):
        a = x.assertion(ALICE, rid)
        idpmod.sign(a, x.key, x.cert, extra_refs=['#' + a.get('ID')])
        return x.response([a], rid)
    attempt(acme, build, {'saml_signature_shape', 'saml_signature_invalid'})


def test_reference_uri_empty(acme):
    """S19: URI="" with an enveloped transform."""
    def build(x, rid):
        a = x.assertion(ALICE, rid)
        idpmod.sign(a, x.key, x.cert, uri='')
        return x.response([a], rid)
    attempt(acme, build, {'saml_signature_shape', 'saml_signature_invalid'})


def test_reference_to_other_element(acme):
    """S20: the assertion's signature references the (unsigned) Response."""
    def build(x, rid):
        a = x.assertion(ALICE, rid)
        r = x.response([a], rid)
        idpmod.sign(a, x.key, x.cert, uri='#' + r.get('ID'))
        return r
    attempt(acme, build, {'saml_signature_shape', 'saml_signature_invalid', 'saml_signature_missing'})


def test_signature_not_enveloped(acme):
    """S18: the Signature moved into Subject."""
    attempt(acme, lambda x, rid: mutate.signature_into_subject(x.good(ALICE, rid)),
            {'saml_signature_missing', 'saml_signature_shape', 'saml_signature_invalid', 'saml_schema'})


def test_comment_in_digest_value_with_changed_content(acme):
    """S25: a comment inside DigestValue never makes altered content verify."""
    attempt(acme, lambda x, rid: mutate.digest_comment(x.good(ALICE, rid)),
            {'saml_signature_invalid', 'saml_signature_shape'})


def test_duplicate_ids(acme):
    """S22: the Response carries the Assertion's ID."""
    def build(x, rid):
        a = x.signed_assertion(ALICE, rid)
        return x.response([a], rid, rid=a.get('ID'))
    attempt(acme, build, {'saml_duplicate_id', 'saml_signature_invalid', 'saml_signature_shape'})


def test_sha1_refused_by_default(acme):
    attempt(acme, lambda x, rid: x.good(ALICE, rid, alg='sha1'), 'saml_signature_alg')


def test_sha1_accepted_with_allow_sha1(factory):
    e = factory.env(tenants=[('acme', {'allow_sha1': 'true'})])
    r = e.signin('alice@acme.example', alg='sha1')
    assert r['code'], f'allow_sha1 = true, SHA-1 signature: {r["out"].kind} {r["out"].resp.status_code}'


def test_issuer_mismatch_between_response_and_assertion(acme):
    """S15: assertion Issuer names another IdP known to the broker (beta's), signed with a
    certificate acme trusts."""
    beta = acme.b.tenant('beta').idp_entity
    attempt(acme, lambda x, rid: x.response([x.signed_assertion(ALICE, rid, assertion_issuer=beta)], rid), 'saml_issuer')


def test_issuer_of_another_tenant(acme):
    """An assertion from beta's IdP, signed by idp2 (which acme also trusts for rollover), posted to acme."""
    beta = acme.b.tenant('beta').idp_entity
    pki = acme.b.pki

    def build(x, rid):
        a = idpmod.assertion(beta, ALICE, x.sp_entity, x.acs, rid)
        idpmod.sign(a, pki.key('idp2'), pki.cert('idp2'))
        return idpmod.response(beta, x.acs, rid, [a])
    attempt(acme, build, 'saml_issuer')
