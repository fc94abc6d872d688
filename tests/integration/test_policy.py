"""Tenant policy at sign-in: unmapped users, SSO switched off, IdP-initiated sign-in."""
from sbtest.browser import code_from, pkce
from sbtest.flows import describe
from sbtest.idp import b64


def test_unmapped_user(acme):
    br = acme.browser()
    login = br.start_login()
    snap = acme.snapshot()
    out = br.post_acs('acme', b64(acme.idp['acme'].good('nobody@acme.example', login.rid)), login.relay)
    rec = acme.expect_rejected(out, snap, 'user_unmapped', status=403)
    assert b'<form' not in out.resp.content.lower(), 'error pages never contain a form'
    assert (rec.get('user') or '').lower() == 'nobody@acme.example'


def test_unmapped_user_json_error(acme):
    br = acme.browser()
    login = br.start_login()
    r = br.s.post(acme.b.pub + '/t/acme/saml/acs', headers={'Accept': 'application/json'}, allow_redirects=False,
                  data={'SAMLResponse': b64(acme.idp['acme'].good('nobody@acme.example', login.rid)),
                        'RelayState': login.relay or ''}, timeout=10)
    assert r.status_code == 403
    j = r.json()
    assert j.get('error') == 'user_unmapped' and j.get('request_id') and j.get('error_description'), j
    assert 'SAMLResponse' not in r.text and 'PHNhbWxw' not in r.text, 'the message is never echoed'


def test_sso_disabled_authorize(acme):
    t = acme.b.tenant('off')
    n = acme.audit_len()
    out = acme.browser().authorize('off', challenge=pkce()[1])
    assert not out.url.startswith(t.idp_sso), f'a login was started for a tenant with SSO off: {out.url}'
    assert code_from(out, t.redirect_uri)[0] is None
    if out.kind == 'away':
        assert 'error=' in out.url, describe(out)
    else:
        assert out.resp.status_code == 403, describe(out)
    recs = acme.new_audit(n)
    assert any(r.get('reason') == 'sso_disabled' for r in recs), recs[-3:]


def test_sso_disabled_acs(acme):
    ent, acs = acme.sp['off'][0], acme.sp['off'][1]
    x = acme.idp['off']
    snap = acme.snapshot()
    out = acme.browser().post_acs('off', b64(x.good('alice@acme.example')))
    acme.expect_rejected(out, snap, 'sso_disabled', tenant='off', status=403)


def test_enable_salesforce_sso_false_is_off_only_for_that_tenant(acme):
    r = acme.signin('bob@acme.example')
    assert r['code'], describe(r['out'])


def test_idp_initiated_allowed(acme):
    user, iid, ext = acme.fresh_user()
    br = acme.browser()
    n = acme.audit_len()
    out = br.finish(br.post_acs('acme', b64(acme.idp['acme'].good(user))))
    t = acme.b.tenant()
    assert out.kind == 'away' and out.url.startswith(t.initiate_login_uri), describe(out)
    recs = acme.new_audit(n, 'assertion')
    assert recs and recs[-1].get('outcome') == 'accepted' and recs[-1].get('assertion_id')
    # the panel's initiate_login_uri starts step 1, which completes at once
    v, c = pkce()
    out2 = br.authorize(state='idpi', challenge=c)
    code, state, _ = code_from(out2, t.redirect_uri)
    assert code and state == 'idpi', describe(out2)
    j = acme.panel().token(code, v).json()
    assert j.get('extension') == ext


def test_idp_initiated_refused(acme):
    snap = acme.snapshot()
    out = acme.browser().post_acs('beta', b64(acme.idp['beta'].good('dave@beta.example')))
    acme.expect_rejected(out, snap, 'saml_unsolicited', tenant='beta', status=403)


def test_unknown_tenant(acme):
    r = acme.b.post('/t/nosuch/saml/acs', data={'SAMLResponse': 'AAAA'})
    assert r.status_code == 404
    assert acme.b.get('/t/nosuch/saml/login').status_code == 404


def test_audit_record_fields(acme):
    r = acme.signin(acme.fresh_user()[0])
    assert r['code']
    recs = [x for x in acme.b.audit() if x.get('event') == 'assertion' and x.get('outcome') == 'accepted']
    rec = recs[-1]
    for k in ('audit_version', 'seq', 'time', 'chain', 'prev', 'hash', 'request_id', 'event', 'outcome', 'reason',
              'tenant', 'issuer', 'user', 'internal_id', 'assertion_id', 'client_addr', 'cert_fingerprint'):
        assert k in rec, f'audit record lacks {k}: {rec}'
    assert rec['tenant'] == 'acme' and rec['issuer'] == acme.b.tenant().idp_entity
    events = {x.get('event') for x in acme.b.audit()}
    assert {'authorize', 'assertion', 'code_issued'} <= events, events


def test_health_and_ready(acme):
    assert acme.b.get('/healthz').status_code == 200
    assert acme.b.get('/readyz').status_code == 200
    assert acme.b.get('/no/such/page').status_code == 404
