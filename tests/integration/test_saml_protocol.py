"""Assertion and protocol checks (SECURITY-CASES 1.3): audience, recipient, destination, time
window, conditions, confirmation method, status, InResponseTo correlation, unsolicited
responses, replay, portal users."""
import base64

import pytest

from sbtest import idp as idpmod
from sbtest.browser import code_from
from sbtest.flows import describe
from sbtest.idp import b64, now, secs

ALICE = 'alice@acme.example'


def attempt(acme, build, slugs, tenant='acme', status=None):
    br = acme.browser()
    login = br.start_login(tenant)
    payload = build(acme.idp[tenant], login.rid)
    snap = acme.snapshot()
    out = br.post_acs(tenant, payload if isinstance(payload, str) else b64(payload), login.relay)
    return acme.expect_rejected(out, snap, slugs, tenant=tenant, status=status)


def resp_with(**akw):
    def build(x, rid):
        return x.response([x.signed_assertion(ALICE, rid, **akw)], rid)
    return build


# -- audience (P01-P04)

def test_audience_wrong(acme):
    attempt(acme, resp_with(audiences=[['https://evil.test/sp']]), 'saml_audience')


def test_audience_restriction_absent(acme):
    attempt(acme, resp_with(audiences=[]), 'saml_audience')


def test_conditions_absent(acme):
    attempt(acme, resp_with(conditions=False), {'saml_audience', 'saml_condition', 'saml_schema'})


def test_audience_two_restrictions_and(acme):
    ent = acme.sp['acme'][0]
    attempt(acme, resp_with(audiences=[[ent], ['https://other.test/sp']]), 'saml_audience')


def test_audience_several_values_none_ours(acme):
    attempt(acme, resp_with(audiences=[['https://other.test/sp', 'https://other2.test/sp']]), 'saml_audience')


def test_audience_extra_restriction_empty(acme):
    ent = acme.sp['acme'][0]
    attempt(acme, resp_with(audiences=[[ent], []]), {'saml_audience', 'saml_schema', 'saml_condition'})


# -- recipient / destination (P05-P08)

def test_recipient_wrong(acme):
    attempt(acme, resp_with(recipient='https://evil.test/acs'), 'saml_recipient')


def test_recipient_missing(acme):
    attempt(acme, resp_with(recipient=None), 'saml_recipient')


def test_destination_wrong(acme):
    attempt(acme, lambda x, rid: x.response([x.signed_assertion(ALICE, rid)], rid, destination='https://evil.test/acs'),
            'saml_destination')


def test_destination_missing_on_signed_response(acme):
    def build(x, rid):
        r = x.response([x.signed_assertion(ALICE, rid)], rid, destination=None)
        idpmod.sign(r, x.key, x.cert)
        return r
    attempt(acme, build, 'saml_destination')


# -- time (P12-P16, P27)

def test_expired(acme):
    t = now()
    attempt(acme, resp_with(t=t - secs(3600), not_before=t - secs(7200), not_on_or_after=t - secs(3600)),
            {'saml_expired', 'saml_issue_instant'})


def test_expired_conditions_only(acme):
    t = now()
    attempt(acme, resp_with(not_on_or_after=t - secs(600), scd_not_on_or_after=t + secs(300)), 'saml_expired')


def test_bearer_confirmation_expired(acme):
    t = now()
    attempt(acme, resp_with(scd_not_on_or_after=t - secs(600)), {'saml_expired', 'saml_subject_confirmation'})


def test_bearer_confirmation_without_not_on_or_after(acme):
    attempt(acme, resp_with(scd_not_on_or_after=False), {'saml_subject_confirmation', 'saml_expired'})


def test_not_yet_valid(acme):
    attempt(acme, resp_with(not_before=now() + secs(3600)), 'saml_not_yet_valid')


def test_clock_skew_boundary_reject_not_before(acme):
    """clock_skew = 60: NotBefore = now + 75 s is outside."""
    attempt(acme, resp_with(not_before=now() + secs(75)), 'saml_not_yet_valid')


def test_clock_skew_boundary_reject_not_on_or_after(acme):
    t = now() - secs(75)
    attempt(acme, resp_with(not_on_or_after=t, scd_not_on_or_after=t), 'saml_expired')


@pytest.mark.parametrize('value', ['garbage', '2099-01-01T00:00:00+02:00', '2020-01-01t00:00:00z', '', '2020-13-45T99:99:99Z'])
def test_malformed_timestamp(acme, value):
    attempt(acme, resp_with(not_before=value), {'saml_time_format', 'saml_schema'})


def test_malformed_not_on_or_after(acme):
    attempt(acme, resp_with(not_on_or_after='tomorrow', scd_not_on_or_after=now() + secs(300)),
            {'saml_time_format', 'saml_schema'})


def test_issue_instant_far_past(acme):
    t = now()
    attempt(acme, resp_with(issue_instant=t - secs(86400 * 7)), {'saml_issue_instant', 'saml_expired'})


def test_authn_instant_in_future(acme):
    attempt(acme, resp_with(authn_instant=now() + secs(3600)), 'saml_authn_instant')


# -- conditions, confirmation, status, issuer

def test_unknown_condition(acme):
    attempt(acme, resp_with(extra_conditions='<saml:Condition xmlns:x="urn:x" xsi:type="x:Foo"/>'), 'saml_condition')


def test_proxy_restriction_is_not_silently_ignored(acme):
    """An unknown element inside Conditions (X09) fails closed."""
    attempt(acme, resp_with(extra_conditions='<saml:Foo/>'), {'saml_condition', 'saml_schema'})


def test_holder_of_key(acme):
    attempt(acme, resp_with(method=idpmod.HOK), 'saml_subject_confirmation')


@pytest.mark.parametrize('status', ['urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
                                    'urn:oasis:names:tc:SAML:2.0:status:RequestDenied'])
def test_non_success_status(acme, status):
    attempt(acme, lambda x, rid: x.response([x.signed_assertion(ALICE, rid)], rid, status=status), 'saml_status')


def test_response_issuer_unknown(acme):
    def build(x, rid):
        a = x.signed_assertion(ALICE, rid)
        return idpmod.response('https://unknown-idp.test', x.acs, rid, [a])
    attempt(acme, build, 'saml_issuer')


def test_response_without_issuer_and_unknown_assertion_issuer(acme):
    def build(x, rid):
        a = x.signed_assertion(ALICE, rid, assertion_issuer='https://unknown-idp.test')
        return x.response([a], rid, with_issuer=False)
    attempt(acme, build, {'saml_issuer', 'saml_signature_invalid'})


def test_portal_user_refused(acme):
    attempt(acme, resp_with(is_portal_user='true'), 'saml_portal_user')


def test_nameid_missing(acme):
    def build(x, rid):
        a = x.assertion('', rid)
        nid = a.find(f'.//{{{idpmod.SAML}}}NameID')
        nid.getparent().remove(nid)
        idpmod.sign(a, x.key, x.cert)
        return x.response([a], rid)
    attempt(acme, build, {'saml_nameid', 'saml_schema', 'saml_subject_confirmation'})


def test_nameid_with_whitespace(acme):
    attempt(acme, lambda x, rid: x.response([x.signed_assertion('\n  alice@acme.example  \n', rid, attrs={})], rid),
            {'saml_nameid', 'user_unmapped'})


# -- InResponseTo correlation (P09-P11)

def test_in_response_to_never_issued(acme):
    attempt(acme, lambda x, rid: x.good(ALICE, '_neverIssued' + rid[-8:]), {'saml_in_response_to', 'no_browser_binding'})


def test_in_response_to_issued_to_another_browser(acme):
    victim, attacker = acme.browser(), acme.browser()
    vlogin = victim.start_login()
    alogin = attacker.start_login()
    resp = acme.idp['acme'].good(ALICE, vlogin.rid)
    snap = acme.snapshot()
    out = attacker.post_acs('acme', b64(resp), alogin.relay)
    acme.expect_rejected(out, snap, {'saml_in_response_to', 'no_browser_binding'})


def test_in_response_to_without_any_cookie(acme):
    br = acme.browser()
    login = br.start_login()
    stranger = acme.browser()
    snap = acme.snapshot()
    out = stranger.post_acs('acme', b64(acme.idp['acme'].good(ALICE, login.rid)), login.relay)
    acme.expect_rejected(out, snap, {'saml_in_response_to', 'no_browser_binding'})


def test_request_id_reused(acme):
    """P11: two different responses answering one AuthnRequest: the second is refused."""
    user, _, _ = acme.fresh_user()
    br = acme.browser()
    login = br.start_login()
    first = br.finish(br.post_acs('acme', b64(acme.idp['acme'].good(user, login.rid)), login.relay))
    assert code_from(first, acme.b.tenant().redirect_uri)[0], describe(first)
    snap = acme.snapshot()   # a second tab of the same browser answers the same request again
    out = br.post_acs('acme', b64(acme.idp['acme'].good(user, login.rid)), login.relay)
    acme.expect_rejected(out, snap, {'saml_in_response_to', 'no_browser_binding'})


def test_in_response_to_mismatch_between_response_and_confirmation(acme):
    br = acme.browser()
    login = br.start_login()
    x = acme.idp['acme']
    resp = x.response([x.signed_assertion(ALICE, '_other' + login.rid[-10:])], login.rid)
    snap = acme.snapshot()
    out = br.post_acs('acme', b64(resp), login.relay)
    acme.expect_rejected(out, snap, {'saml_in_response_to', 'saml_subject_confirmation'})


# -- unsolicited (P10) and replay (P20, P22)

def test_unsolicited_refused_when_tenant_forbids(acme):
    x = acme.idp['beta']
    snap = acme.snapshot()
    out = acme.browser().post_acs('beta', b64(x.good('dave@beta.example')))
    acme.expect_rejected(out, snap, 'saml_unsolicited', tenant='beta')


def _idp_initiated(acme, user):
    saml = b64(acme.idp['acme'].good(user))
    br = acme.browser()
    out = br.finish(br.post_acs('acme', saml))
    assert out.kind == 'away' and out.url.startswith(acme.b.tenant().initiate_login_uri), describe(out)
    return saml


def test_replay_same_bytes(acme):
    user, _, _ = acme.fresh_user()
    saml = _idp_initiated(acme, user)
    snap = acme.snapshot()
    out = acme.browser().post_acs('acme', saml)
    acme.expect_rejected(out, snap, 'saml_replay')


def test_replay_reencoded_with_line_breaks(acme):
    user, _, _ = acme.fresh_user()
    saml = _idp_initiated(acme, user)
    wrapped = '\r\n'.join(saml[i:i + 76] for i in range(0, len(saml), 76))
    snap = acme.snapshot()
    out = acme.browser().post_acs('acme', wrapped)
    acme.expect_rejected(out, snap, 'saml_replay')


def test_replay_with_resigned_response(acme):
    """P22: same Assertion, the outer Response re-signed (new Response ID)."""
    user, _, _ = acme.fresh_user()
    saml = _idp_initiated(acme, user)
    from lxml import etree
    r = etree.fromstring(base64.b64decode(saml))
    r.set('ID', '_r2' + r.get('ID')[3:])
    x = acme.idp['acme']
    idpmod.sign(r, x.key, x.cert)
    snap = acme.snapshot()
    out = acme.browser().post_acs('acme', b64(r))
    acme.expect_rejected(out, snap, 'saml_replay')


def test_replay_sp_initiated_in_new_browser(acme):
    r = acme.signin(acme.fresh_user()[0])
    assert r['code'], describe(r['out'])
    snap = acme.snapshot()
    out = acme.browser().post_acs('acme', r['saml'], r['login'].relay)
    acme.expect_rejected(out, snap, {'saml_replay', 'saml_in_response_to', 'no_browser_binding'})


def test_relay_state_too_long(acme):
    """P33: an over-long RelayState is rejected or ignored, never echoed to a redirect."""
    br = acme.browser()
    login = br.start_login()
    long_relay = 'r' * 200
    snap = acme.snapshot()
    out = br.post_acs('acme', b64(acme.idp['acme'].good(ALICE, login.rid)), long_relay)
    if out.chain[0].status_code >= 400:
        acme.expect_rejected(out, snap, {'saml_relaystate', 'saml_in_response_to', 'no_browser_binding'})
    for resp in br.history:
        assert long_relay not in resp.headers.get('Location', '')


@pytest.mark.parametrize('relay', ['https://evil.test/', '//evil.test', 'javascript:alert(1)'])
def test_relay_state_never_redirects_off_site(acme, relay):
    """P32: an IdP-initiated response with a URL RelayState lands on the panel, never off-site."""
    user, _, _ = acme.fresh_user()
    br = acme.browser()
    out = br.finish(br.post_acs('acme', b64(acme.idp['acme'].good(user)), relay))
    assert 'evil.test' not in out.url and not out.url.startswith('javascript'), describe(out)
    for resp in out.chain:
        assert 'evil.test' not in resp.headers.get('Location', '')
