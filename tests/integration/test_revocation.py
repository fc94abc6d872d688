"""Revocation reaches everything (issue 6): a user's `sessions revoke` voids outstanding codes and
open Allow pages as well as sessions and tokens; a code used twice revokes its token (RFC 6749
4.1.2); SSO switched off issues nothing from what is outstanding; consuming a code and minting its
token is one atomic script, so a Redis fault cannot burn the code."""
from sbtest import env
from sbtest.browser import code_from, pkce
from sbtest.flows import admin, describe
from sbtest.idp import b64
from sbtest.procs import Redis


def revoke(b, internal_id, tenant='acme'):
    r = admin(b, 'POST', f'/api/v1/tenants/{tenant}/users/{internal_id}/sessions/revoke')
    assert r.status_code in (200, 204), r.text
    return r


def last(e, since, event):
    recs = e.new_audit(since, event)
    assert recs, f'no new audit record with event {event!r}'
    return recs[-1]


def workers(b):
    return b.worker_pids()


def refused_grant(r):
    assert r.status_code == 400 and r.json().get('error') == 'invalid_grant', (r.status_code, r.text)


def test_revoke_voids_an_outstanding_code(acme):
    user, iid, _ = acme.fresh_user()
    r = acme.signin(user)
    assert r['code'], describe(r['out'])
    revoke(acme.b, iid)
    n = acme.audit_len()
    refused_grant(acme.panel().token(r['code'], r['verifier']))
    rec = last(acme, n, 'code_redeemed')
    assert rec.get('outcome') == 'rejected' and rec.get('reason') == 'revoked', rec
    assert rec.get('internal_id') == iid, rec


def test_revoke_voids_an_open_allow_page(acme):
    user, iid, _ = acme.fresh_user()
    br = acme.browser()
    login = br.start_login()                    # a fresh user: first_use consent asks
    out = br.post_acs('acme', b64(acme.idp['acme'].good(user, login.rid)), login.relay)
    assert out.kind == 'form', describe(out)
    revoke(acme.b, iid)
    n = acme.audit_len()
    keys = acme.b.keys()
    res = br.consent(out.resp, 'allow')
    assert res.chain[0].status_code == 403, describe(res)
    assert code_from(res, acme.b.tenant().redirect_uri)[0] is None, 'no code after a revoke'
    recs = acme.new_audit(n)
    assert any(x.get('reason') == 'revoked' and x.get('outcome') == 'rejected' for x in recs), recs
    new = {k for k in acme.b.keys() - keys if 'audit' not in k}
    assert not new, f'nothing is stored for a revoked user: {sorted(new)}'


def test_revoke_ends_session_and_token(acme):
    user, iid, _ = acme.fresh_user()
    r = acme.signin(user)
    tok = acme.panel().token(r['code'], r['verifier']).json()['access_token']
    p = acme.panel()
    assert p.introspect(tok).json().get('active') is True
    j = revoke(acme.b, iid).json()
    assert j.get('revoked_tokens') == 1 and j.get('revoked_sessions') == 1, j
    assert p.introspect(tok).json() == {'active': False}
    out = r['browser'].authorize(challenge=pkce()[1])
    assert out.kind == 'away' and out.url.startswith(acme.b.tenant().idp_sso), \
        f'the browser session survived the revoke: {describe(out)}'
    # and the user signs in again afterwards (the revocation is not a ban)
    again = acme.signin(user)
    assert again['code'], describe(again['out'])
    assert acme.panel().token(again['code'], again['verifier']).status_code == 200


def test_items_of_an_older_generation_are_void(acme):
    """What a sign-in racing a revoke wrote (a session, a code) recorded the generation before the
    revoke: bumping the generation alone, without deleting anything, must void both."""
    user, iid, _ = acme.fresh_user()
    r = acme.signin(user)
    assert r['code'], describe(r['out'])
    acme.b.redis.cli(acme.b.db, 'HINCRBY', 'bk:v1:{acme}:ugen', iid, '1')
    refused_grant(acme.panel().token(r['code'], r['verifier']))
    out = r['browser'].authorize(challenge=pkce()[1])
    assert out.kind == 'away' and out.url.startswith(acme.b.tenant().idp_sso), \
        f'a session of an older generation was honoured: {describe(out)}'


def test_code_reuse_revokes_its_token(acme):
    r = acme.signin(acme.fresh_user()[0])
    p = acme.panel()
    tok = p.token(r['code'], r['verifier']).json()['access_token']
    other = acme.token_for(acme.fresh_user()[0])
    n = acme.audit_len()
    refused_grant(p.token(r['code'], r['verifier']))
    assert p.introspect(tok).json() == {'active': False}, 'the token of a code used twice is revoked'
    assert p.introspect(other).json().get('active') is True, 'only that token'
    rec = last(acme, n, 'code_redeemed')
    assert rec.get('reason') == 'code_reused' and rec.get('outcome') == 'rejected', rec


def test_sso_off_by_sighup(factory):
    """An outstanding code and an open Allow page yield nothing once SSO is switched off."""
    e = factory.env(tenants=[('acme', {})])
    b = e.b
    first = e.signin('alice@acme.example')          # consent given: a code
    assert first['code'], describe(first['out'])
    br = e.browser()                                # carol: left on the Allow page
    login = br.start_login()
    page = br.post_acs('acme', b64(e.idp['acme'].good('carol@acme.example', login.rid)), login.relay)
    assert page.kind == 'form', describe(page)
    b.tenants['acme'].tenant['enable_salesforce_sso'] = 'false'
    b.reload()

    def off():
        out = e.browser().authorize(challenge=pkce()[1])
        return out.kind == 'page' and out.resp.status_code == 403
    assert env.wait_for(off, 15), 'SIGHUP did not switch SSO off'
    # Until the old generation has drained it may still accept a connection (proc.c reload).
    assert env.wait_for(lambda: len(workers(b)) == 2, 15), f'old workers still running: {workers(b)}'
    n = e.audit_len()
    refused_grant(e.panel().token(first['code'], first['verifier']))
    rec = last(e, n, 'code_redeemed')
    assert rec.get('reason') == 'sso_disabled', rec
    # A fresh connection: an idle keep-alive one gets one more answer from the draining old
    # worker, under the old configuration (proc.c drain).
    br.s.close()
    res = br.consent(page.resp, 'allow')
    assert res.chain[0].status_code == 403 and code_from(res, b.tenant().redirect_uri)[0] is None, describe(res)
    rec = last(e, n, 'consent')
    assert rec.get('reason') == 'sso_disabled', rec


def test_redeem_is_one_script_and_a_fault_leaves_the_code(factory, tmp_path):
    """Consume + mint is one EVALSHA; when Redis refuses the write (maxmemory reached) the code
    is not burned and redeems once Redis recovers."""
    rd = Redis(tmp_path / 'redis')
    try:
        e = factory.env(tenants=[('acme', {})], redis=rd)
        r = e.signin('alice@acme.example')
        assert r['code'], describe(r['out'])
        db, p = e.b.db, e.panel()
        rd.cli(db, 'CONFIG', 'RESETSTAT')
        rd.cli(db, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
        rd.cli(db, 'CONFIG', 'SET', 'maxmemory', '1')
        try:
            t = p.token(r['code'], r['verifier'])
        finally:
            rd.cli(db, 'CONFIG', 'SET', 'maxmemory', '0')
        assert t.status_code == 503 and t.json().get('error') == 'temporarily_unavailable', t.text
        stats = rd.cli(db, 'INFO', 'commandstats')
        t = p.token(r['code'], r['verifier'])
        assert t.status_code == 200, f'the fault burned the code: {t.text}'
        calls = {}
        for line in stats.splitlines():
            if line.startswith('cmdstat_'):
                name, _, rest = line.partition(':')
                calls[name[8:]] = int(rest.split(',')[0].split('=')[1])
        assert calls.get('evalsha') == 1, f'one script per redemption: {calls}'
        assert not set(calls) & {'getdel', 'del', 'sadd'}, f'no command outside it: {calls}'
        assert p.introspect(t.json()['access_token']).json().get('active') is True
    finally:
        factory.close()             # the broker first, then its private Redis
        rd.stop()
