"""The user mapping through ssoctl and the admin API: template export, dry run, all-or-nothing
import with row-level errors, the CSV dialects admins produce, single-user edits."""
import pytest

from sbtest.admin import count, csv_file, export, find, jloads, run, user, reset
from sbtest.flows import admin
from sbtest.idp import b64

HDR = '8x8 Internal ID,User Name,First Name,Last Name,Email,Extension,Salesforce ID\n'
BASE = HDR + '1001,alice,Alice,Smith,alice@acme.example,0101,alice@acme.example\n' \
             '1002,bob,Bob,Jones,bob@acme.example,0102,bob@acme.example\n'
TEMPLATE = ['8x8 Internal ID', 'User Name', 'First Name', 'Last Name', 'Email', 'Extension', 'Salesforce ID',
            'Custom Field 1', 'Custom Field 2', 'Custom Field 3']


@pytest.fixture(scope='module')
def m(module_factory):
    return module_factory.env(tenants=[('acme', {'consent': 'never'})], users=False)


@pytest.fixture
def base(m, tmp_path):
    """Reset the mapping to alice + bob (delete_missing) before a test."""
    r = reset(m.b, tmp_path, BASE)
    assert r.returncode == 0, r.stderr
    return m


def test_template_export(m):
    r = admin(m.b, 'GET', '/api/v1/tenants/acme/users.csv')
    assert r.status_code == 200 and 'csv' in r.headers.get('Content-Type', '')
    first = r.content.decode('utf-8-sig').splitlines()[0]
    assert [h.strip('"') for h in first.split(',')] == TEMPLATE, first


def test_dry_run_reports_and_stores_nothing(base, tmp_path):
    b = base.b
    before, keys = export(b), b.keys()
    csv = HDR + '1001,alice,Alice,Smith,alice@acme.example,0101,alice@acme.example\n' \
                '1002,bob,Bob,Jones,bob@acme.example,0199,bob@acme.example\n' \
                '1003,carol,Carol,King,carol@acme.example,0103,carol@acme.example\n'
    r = run(b, 'users', 'import', csv_file(tmp_path, 'd.csv', csv), '--dry-run', '--allow-new', json_out=True)
    assert r.returncode == 0, r.stderr
    rep = jloads(r.stdout)
    assert (count(rep, 'added'), count(rep, 'changed'), count(rep, 'unchanged'), count(rep, 'rejected')) == (1, 1, 1, 0), rep
    assert export(b) == before and b.keys() == keys, 'a dry run stored something'
    human = run(b, 'users', 'import', csv_file(tmp_path, 'd.csv', csv), '--dry-run', '--allow-new')
    assert human.returncode == 0 and 'added' in human.stdout.lower() and 'changed' in human.stdout.lower()
    api = admin(b, 'POST', '/api/v1/tenants/acme/users.csv?dry_run=1&allow_new=1', data=csv.encode(),
                headers={'Content-Type': 'text/csv'})
    assert api.status_code == 200 and count(api.json(), 'added') == 1
    assert export(b) == before


def _rejected(b, tmp_path, csv, *opts, must_name=()):
    before, keys = export(b), b.keys()
    r = run(b, 'users', 'import', csv_file(tmp_path, 'r.csv', csv), *opts)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert export(b) == before and b.keys() == keys, 'a rejected import changed the mapping'
    for s in must_name:
        assert s in out, f'{s!r} not named in: {out[:400]}'
    return out


def test_unknown_internal_id_without_allow_new(base, tmp_path):
    _rejected(base.b, tmp_path, BASE + '1009,zed,Z,Z,z@acme.example,0109,zed@acme.example\n', must_name=('1009',))


def test_duplicate_salesforce_id_names_both_rows(base, tmp_path):
    csv = HDR + '1001,alice,Alice,Smith,alice@acme.example,0101,same@acme.example\n' \
                '1002,bob,Bob,Jones,bob@acme.example,0102,SAME@acme.example\n'
    out = _rejected(base.b, tmp_path, csv)
    assert ('1001' in out and '1002' in out) or ('2' in out and '3' in out), out
    api = admin(base.b, 'POST', '/api/v1/tenants/acme/users.csv', data=csv.encode(), headers={'Content-Type': 'text/csv'})
    assert api.status_code in (400, 409), api.status_code


def test_missing_internal_id_column(base, tmp_path):
    _rejected(base.b, tmp_path, 'User Name,Extension,Salesforce ID\nalice,0101,alice@acme.example\n', '--allow-new')
    api = admin(base.b, 'POST', '/api/v1/tenants/acme/users.csv?dry_run=1', data=b'User Name\nalice\n',
                headers={'Content-Type': 'text/csv'})
    assert api.status_code == 400 and find(api.json(), 'error') in ('csv_header', None), api.text


def test_unterminated_quote(base, tmp_path):
    _rejected(base.b, tmp_path, HDR + '1001,"alice,Alice,Smith,alice@acme.example,0101,alice@acme.example\n')


def test_one_bad_row_rejects_everything(base, tmp_path):
    csv = HDR + '1001,alice,Alice,Smith,alice@acme.example,0777,alice@acme.example\n' \
                '1002,' + 'b' * 300 + ',Bob,Jones,bob@acme.example,0102,bob@acme.example\n'
    _rejected(base.b, tmp_path, csv)


def test_import_dialects(base, tmp_path):
    """Headers in any order, SFDC ID, CRLF, UTF-8 BOM, quoted commas and newlines, leading zeros,
    a leading ' stripped; absent columns leave fields as they are."""
    csv = ('Extension,SFDC ID,8x8 Internal ID,Last Name,Custom Field 1\n'
           "'0042;0043,alice.sf@acme.example,1001,\"Smith, Jr.\",\"line one\nline two\"\n"
           '007,bob@acme.example,1002,Jones,x\n')
    p = csv_file(tmp_path, 'dialect.csv', '\ufeff' + csv, newline='\r\n')
    r = run(base.b, 'users', 'import', p)
    assert r.returncode == 0, r.stdout + r.stderr
    st, a = user(base.b, '1001')
    assert st == 200, a
    assert find(a, 'extension') in ('0042;0043', ['0042', '0043']), a
    assert find(a, 'salesforce_id') == 'alice.sf@acme.example', a
    assert find(a, 'last_name') == 'Smith, Jr.', a
    assert find(a, 'first_name') == 'Alice', 'absent column left as it was'
    assert 'line one' in str(a) and 'line two' in str(a)
    st, bb = user(base.b, '1002')
    assert find(bb, 'extension') == '007', bb


def test_case_insensitive_and_renamed_salesforce_id_signin(base, tmp_path):
    r = run(base.b, 'users', 'import', csv_file(tmp_path, 'c.csv', '8x8 Internal ID,Salesforce ID\n1001,Alice.Mixed@Acme.Example\n'))
    assert r.returncode == 0, r.stderr
    s = base.signin('ALICE.MIXED@acme.example')
    assert s['code'], s['out']
    assert str(base.panel().token(s['code'], s['verifier']).json().get('internal_id')) == '1001'


def test_users_get_set_delete_ssoctl(base):
    b = base.b
    g = run(b, 'users', 'get', '1001', json_out=True)
    assert g.returncode == 0 and find(jloads(g.stdout), 'salesforce_id') == 'alice@acme.example', g.stdout
    s = run(b, 'users', 'set', '1001', '--extension', '0555;0556', '--salesforce-id', 'alice2@acme.example')
    assert s.returncode == 0, s.stderr
    assert find(user(b, '1001')[1], 'salesforce_id') == 'alice2@acme.example'
    tok = base.signin('alice2@acme.example')
    j = base.panel().token(tok['code'], tok['verifier']).json()
    assert j.get('extension') == '0555'
    dup = run(b, 'users', 'set', '1002', '--salesforce-id', 'alice2@acme.example')
    assert dup.returncode != 0, 'a Salesforce ID maps to at most one profile'
    d = run(b, 'users', 'delete', '1002')
    assert d.returncode == 0 and user(b, '1002')[0] == 404
    assert run(b, 'users', 'get', '1002').returncode != 0
    assert run(b, 'users', 'delete', '1002').returncode != 0
    assert any(r.get('event') == 'user_set' for r in b.audit()) and any(r.get('event') == 'user_delete' for r in b.audit())


def test_users_api(base):
    b = base.b
    r = admin(b, 'PUT', '/api/v1/tenants/acme/users/1002', json={'extension': '0777'})
    assert r.status_code in (200, 204), r.text
    assert find(user(b, '1002')[1], 'extension') == '0777'
    assert find(user(b, '1002')[1], 'salesforce_id') == 'bob@acme.example', 'absent keys are kept'
    bad = admin(b, 'PUT', '/api/v1/tenants/acme/users/1002', data=b'{not json', headers={'Content-Type': 'application/json'})
    assert bad.status_code == 400
    assert admin(b, 'GET', '/api/v1/tenants/acme/users/9999').status_code == 404
    assert admin(b, 'GET', '/api/v1/tenants/nosuch/users/1001').status_code == 404
    assert admin(b, 'DELETE', '/api/v1/tenants/acme/users/1002').status_code in (200, 204)
    assert admin(b, 'GET', '/api/v1/tenants/acme/users/1002').status_code == 404


def test_sessions_revoke(base):
    b = base.b
    toks = [base.token_for('alice@acme.example') for _ in range(2)]
    other = base.token_for('bob@acme.example')
    r = run(b, 'sessions', 'revoke', '1001')
    assert r.returncode == 0, r.stderr
    p = base.panel()
    assert all(p.introspect(t).json().get('active') is False for t in toks)
    assert p.introspect(other).json().get('active') is True
    assert any(x.get('event') == 'session_revoked' for x in b.audit())
    api = admin(b, 'POST', '/api/v1/tenants/acme/users/1002/sessions/revoke')
    assert api.status_code in (200, 204) and p.introspect(other).json().get('active') is False


def test_mapping_import_audited(base):
    assert any(r.get('event') == 'mapping_import' and r.get('outcome') == 'accepted' for r in base.b.audit())
