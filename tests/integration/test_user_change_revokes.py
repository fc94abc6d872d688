"""A user's live sign-ins end when their profile changes who signs in where (issue 10 item 4):
deleting the profile, or changing its Salesforce ID or its extension, by a single edit or by a CSV
import, ends its tokens and browser sessions and voids its codes in the same atomic step as the
change; an edit of another field (a name) leaves them alone."""
from sbtest.browser import pkce
from sbtest.flows import admin, describe


def signed_in(acme, user):
    r = acme.signin(user)
    assert r['code'], describe(r['out'])
    tok = acme.panel().token(r['code'], r['verifier']).json()['access_token']
    assert acme.panel().introspect(tok).json().get('active') is True
    return r, tok


def ended(acme, r, tok):
    assert acme.panel().introspect(tok).json() == {'active': False}, 'the token outlived the change'
    out = r['browser'].authorize(challenge=pkce()[1])
    assert out.kind == 'away' and out.url.startswith(acme.b.tenant().idp_sso), \
        f'the browser session outlived the change: {describe(out)}'


def put(acme, iid, body):
    r = admin(acme.b, 'PUT', f'/api/v1/tenants/acme/users/{iid}', json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_delete_ends_token_and_session(acme):
    user, iid, _ = acme.fresh_user()
    r, tok = signed_in(acme, user)
    d = admin(acme.b, 'DELETE', f'/api/v1/tenants/acme/users/{iid}')
    assert d.status_code == 200, d.text
    ended(acme, r, tok)


def test_extension_change_ends_token_and_session(acme):
    user, iid, _ = acme.fresh_user()
    r, tok = signed_in(acme, user)
    assert put(acme, iid, {'extension': '0' + iid})['extension'] == '0' + iid
    ended(acme, r, tok)
    # the panel signs in again and gets the new extension
    again = acme.signin(user)
    assert again['code'], describe(again['out'])
    j = acme.panel().token(again['code'], again['verifier']).json()
    assert '0' + iid in str(j), j


def test_extension_change_voids_an_outstanding_code(acme):
    user, iid, _ = acme.fresh_user()
    r = acme.signin(user)
    assert r['code'], describe(r['out'])
    put(acme, iid, {'extension': '9' + iid})
    t = acme.panel().token(r['code'], r['verifier'])
    assert t.status_code == 400 and t.json().get('error') == 'invalid_grant', t.text


def test_salesforce_id_change_ends_token(acme):
    user, iid, _ = acme.fresh_user()
    r, tok = signed_in(acme, user)
    put(acme, iid, {'salesforce_id': 'moved-' + user})
    ended(acme, r, tok)


def test_name_change_keeps_token(acme):
    user, iid, _ = acme.fresh_user()
    r, tok = signed_in(acme, user)
    put(acme, iid, {'first_name': 'Renamed'})
    assert acme.panel().introspect(tok).json().get('active') is True, 'a name edit ended the token'


def test_import_extension_change_ends_token(acme):
    user, iid, _ = acme.fresh_user()
    r, tok = signed_in(acme, user)
    other, oid, _ = acme.fresh_user()
    r2, tok2 = signed_in(acme, other)
    csv = f'8x8 Internal ID,Extension\n{iid},7{iid}\n'
    a = admin(acme.b, 'POST', '/api/v1/tenants/acme/users.csv', data=csv.encode(),
              headers={'Content-Type': 'text/csv'})
    assert a.status_code == 200, a.text
    ended(acme, r, tok)
    assert acme.panel().introspect(tok2).json().get('active') is True, 'an untouched user lost the token'
