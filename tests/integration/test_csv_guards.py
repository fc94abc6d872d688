"""Spreadsheet-safe CSV guards through the admin API and ssoctl (issue 10 item 5): an extension
a spreadsheet stripped of its leading zeros is held until confirmed, the deletion count of
--delete-missing must be confirmed, every error of a row is reported, extensions are trimmed,
warnings have their own list; hostile confirmations are refused.  Stored data is unchanged after
every refusal."""
import pytest

from sbtest.admin import csv_file, export, jloads, reset, run, user
from sbtest.flows import admin

HDR = '8x8 Internal ID,User Name,Extension,Salesforce ID,Email\n'
BASE = HDR + '1001,alice,0101,alice@acme.example,alice@acme.example\n' \
             '1002,bob,0102;0202,bob@acme.example,bob@acme.example\n' \
             '1003,carol,0103,carol@acme.example,carol@acme.example\n'
URL = '/api/v1/tenants/acme/users.csv'
CT = {'Content-Type': 'text/csv'}
ZERO = HDR + '1001,alice,101,alice@acme.example,alice@acme.example\n' \
             '1002,bob,0102;0202,bob@acme.example,bob@acme.example\n' \
             '1003,carol,0199,carol@acme.example,carol@acme.example\n'


@pytest.fixture(scope='module')
def m(module_factory):
    return module_factory.env(tenants=[('acme', {'consent': 'never'})], users=False)


@pytest.fixture
def base(m, tmp_path):
    r = reset(m.b, tmp_path, BASE)
    assert r.returncode == 0, r.stdout + r.stderr
    return m


def post(b, body, query=''):
    return admin(b, 'POST', URL + query, data=body.encode('utf-8'), headers=CT)


def ext(b, iid):
    st, u = user(b, iid)
    assert st == 200, u
    return u.get('extension')


def unchanged_after(b, fn):
    before, keys = export(b), b.keys()
    out = fn()
    assert export(b) == before and b.keys() == keys, 'a refused import changed the mapping'
    return out


# --- the dropped leading zero ---

def test_dropped_zero_is_a_held_warning_in_the_dry_run(base):
    r = unchanged_after(base.b, lambda: post(base.b, ZERO, '?dry_run=1'))
    assert r.status_code == 200, r.text
    rep = r.json()
    w = [x for x in rep['warnings'] if x['kind'] == 'dropped_zero']
    assert len(w) == 1, rep['warnings']
    w = w[0]
    assert (w['row'], w['line'], w['internal_id'], w['column'], w['old'], w['new']) == \
        (1, 2, '1001', 'Extension', '0101', '101'), w
    assert 'a spreadsheet may have dropped a leading zero' in w['message']
    assert w['blocking'] is True and w['confirmed'] is False
    assert rep['applicable'] is False and rep['summary']['held'] == 1
    assert rep['needs_confirmation']['confirm_zero'] == '1001', rep['needs_confirmation']
    row = next(x for x in rep['rows'] if x.get('internal_id') == '1001')
    assert row['result'] == 'changed' and row.get('held') is True, row
    # the ordinary change of 1003 is not a warning
    assert not any(x.get('internal_id') == '1003' for x in rep['warnings'])


def test_dropped_zero_apply_without_confirm_refuses_whole(base):
    n = base.audit_len()
    r = unchanged_after(base.b, lambda: post(base.b, ZERO))
    assert r.status_code == 409, r.text
    j = r.json()
    assert j['error'] == 'dropped_zero_unconfirmed', j
    assert 'row 1' in j['message'] and '1001' in j['message'] and '0101 -> 101' in j['message'], j
    assert j['applied'] is False
    # all or nothing: 1003's ordinary change is not applied either
    assert ext(base.b, '1003') == '0103' and ext(base.b, '1001') == '0101'
    recs = base.new_audit(n, 'mapping_import')
    assert any(x.get('reason') == 'dropped_zero_unconfirmed' for x in recs), recs


@pytest.mark.parametrize('confirm', ['1001', 'all', '1001,1001'])
def test_dropped_zero_applies_when_confirmed(base, confirm):
    r = post(base.b, ZERO, '?confirm_zero=' + confirm)
    assert r.status_code == 200, r.text
    assert r.json()['applied'] is True
    assert ext(base.b, '1001') == '101' and ext(base.b, '1003') == '0199'


def test_dropped_zero_in_an_extension_list(base):
    body = HDR + '1002,bob,102;0202,bob@acme.example,bob@acme.example\n'
    rep = post(base.b, body, '?dry_run=1').json()
    w = [x for x in rep['warnings'] if x['kind'] == 'dropped_zero']
    assert len(w) == 1 and (w[0]['old'], w[0]['new']) == ('0102;0202', '102;0202'), rep
    assert unchanged_after(base.b, lambda: post(base.b, body)).status_code == 409
    assert post(base.b, body, '?confirm_zero=1002').status_code == 200
    assert ext(base.b, '1002') == '102;0202'


def test_adding_zeros_or_other_digits_is_no_warning(base):
    body = HDR + '1001,alice,00101,alice@acme.example,alice@acme.example\n' \
                 '1002,bob,0102;202,bob@acme.example,bob@acme.example\n'
    rep = post(base.b, body, '?dry_run=1').json()
    # 0202 -> 202 is a dropped zero; 0101 -> 00101 is not
    w = [x['internal_id'] for x in rep['warnings'] if x['kind'] == 'dropped_zero']
    assert w == ['1002'], rep['warnings']


def test_dropped_zero_through_ssoctl(base, tmp_path):
    f = csv_file(tmp_path, 'z.csv', ZERO)
    d = run(base.b, 'users', 'import', f, '--dry-run')
    assert d.returncode == 0, d.stdout + d.stderr
    assert 'warnings:' in d.stdout and 'a spreadsheet may have dropped a leading zero' in d.stdout, d.stdout
    assert '--confirm-dropped-zero 1001' in d.stdout, d.stdout
    a = unchanged_after(base.b, lambda: run(base.b, 'users', 'import', f))
    assert a.returncode == 1 and 'dropped_zero_unconfirmed' in a.stderr + a.stdout, a.stdout + a.stderr
    j = run(base.b, 'users', 'import', f, '--dry-run', json_out=True)
    assert jloads(j.stdout)['needs_confirmation']['confirm_zero'] == '1001'
    ok = run(base.b, 'users', 'import', f, '--confirm-dropped-zero', '1001')
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ext(base.b, '1001') == '101'


# --- the deletion count ---

ONLY = HDR + '1001,alice,0101,alice@acme.example,alice@acme.example\n'


def test_delete_missing_states_the_count(base):
    rep = post(base.b, ONLY, '?dry_run=1&delete_missing=1').json()
    assert rep['summary']['deleted'] == 2
    w = [x for x in rep['warnings'] if x['kind'] == 'delete_missing']
    assert len(w) == 1 and '2 profiles not in the file would be deleted' in w[0]['message'], rep['warnings']
    assert rep['needs_confirmation']['confirm_delete'] == 2 and rep['applicable'] is False


@pytest.mark.parametrize('q', ['', '&confirm_delete=1', '&confirm_delete=3', '&confirm_delete=0'],
                         ids=['no-count', 'too-few', 'too-many', 'zero'])
def test_delete_missing_wrong_count_refused(base, q):
    r = unchanged_after(base.b, lambda: post(base.b, ONLY, '?delete_missing=1' + q))
    assert r.status_code == 409, r.text
    j = r.json()
    assert j['error'] == 'delete_unconfirmed' and '2 profiles would be deleted; confirm that count' in j['message'], j


def test_delete_missing_right_count_applies(base):
    r = post(base.b, ONLY, '?delete_missing=1&confirm_delete=2')
    assert r.status_code == 200, r.text
    assert user(base.b, '1002')[0] == 404 and user(base.b, '1003')[0] == 404 and user(base.b, '1001')[0] == 200


def test_delete_missing_nothing_to_delete_needs_no_count(base):
    assert post(base.b, BASE, '?delete_missing=1').status_code == 200


def test_both_holds_named_in_one_refusal(base):
    body = HDR + '1001,alice,101,alice@acme.example,alice@acme.example\n'
    r = unchanged_after(base.b, lambda: post(base.b, body, '?delete_missing=1'))
    assert r.status_code == 409
    msg = r.json()['message']
    assert 'leading zero' in msg and '2 profiles would be deleted' in msg, msg
    assert post(base.b, body, '?delete_missing=1&confirm_delete=2').status_code == 409
    assert post(base.b, body, '?delete_missing=1&confirm_delete=2&confirm_zero=1001').status_code == 200


def test_delete_missing_through_ssoctl(base, tmp_path):
    f = csv_file(tmp_path, 'only.csv', ONLY)
    d = run(base.b, 'users', 'import', f, '--delete-missing', '--dry-run')
    assert d.returncode == 0 and '2 profiles not in the file would be deleted' in d.stdout, d.stdout
    assert '--confirm-delete 2' in d.stdout, d.stdout
    no = unchanged_after(base.b, lambda: run(base.b, 'users', 'import', f, '--delete-missing'))
    assert no.returncode == 1 and 'confirm that count' in no.stderr, no.stdout + no.stderr
    bad = unchanged_after(base.b, lambda: run(base.b, 'users', 'import', f, '--delete-missing',
                                              '--confirm-delete', '5'))
    assert bad.returncode == 1
    usage = run(base.b, 'users', 'import', f, '--confirm-delete', '2')
    assert usage.returncode == 2 and 'needs --delete-missing' in usage.stderr, usage.stderr
    ok = run(base.b, 'users', 'import', f, '--delete-missing', '--confirm-delete', '2')
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert user(base.b, '1002')[0] == 404


# --- hostile confirmations ---

@pytest.mark.parametrize('q', [
    '?confirm_zero=', '?confirm_zero=,', '?confirm_zero=1001,,1003', '?confirm_zero=1001%20',
    '?confirm_zero=%01', '?confirm_zero=' + 'x' * 300, '?confirm_zero=1003', '?confirm_zero=ALL',
    '?confirm_zero=%C3%A9', '?delete_missing=1&confirm_delete=-1', '?delete_missing=1&confirm_delete=abc',
    '?delete_missing=1&confirm_delete=1e3', '?delete_missing=1&confirm_delete=%202',
    '?delete_missing=1&confirm_delete=', '?delete_missing=1&confirm_delete=99999999999999999999',
    '?delete_missing=1&confirm_delete=+2', '?confirm_delete=2', '?delete_missing=2',
    '?delete_missing=yes&confirm_delete=2',
])
@pytest.mark.parametrize('dry', [False, True], ids=['apply', 'dry'])
def test_hostile_confirmations_refused(base, q, dry):
    query = q + ('&dry_run=1' if dry else '')
    r = unchanged_after(base.b, lambda: post(base.b, ZERO if 'zero' in q else ONLY, query))
    assert r.status_code == 400, (q, r.status_code, r.text)
    assert r.json().get('error') in ('confirm_invalid', 'http_bad_param'), r.text
    assert admin(base.b, 'GET', '/healthz').status_code == 200


def test_confirm_zero_repeated_parameter_refused(base):
    r = unchanged_after(base.b, lambda: post(base.b, ZERO, '?confirm_zero=1001&confirm_zero=all'))
    assert r.status_code == 400, r.text


def test_ssoctl_hostile_confirmations_are_usage_errors(base, tmp_path):
    f = csv_file(tmp_path, 'z.csv', ZERO)
    for args in (['--confirm-dropped-zero', ''], ['--confirm-dropped-zero', 'a b'],
                 ['--delete-missing', '--confirm-delete', '-1'], ['--delete-missing', '--confirm-delete', 'x']):
        r = unchanged_after(base.b, lambda: run(base.b, 'users', 'import', f, *args))
        assert r.returncode == 2, (args, r.stdout + r.stderr)


# --- every error of a row ---

MULTI = HDR + '1001,alice,12a,alice@acme.example,a@b@c\n' \
              '1002,bob,0102;0202,bob@acme.example,bob@acme.example\n'


def test_every_error_of_a_row(base, tmp_path):
    for q in ('?dry_run=1', ''):
        r = unchanged_after(base.b, lambda: post(base.b, MULTI, q))
        assert r.status_code == 400, r.text
        row = next(x for x in r.json()['rows'] if x['result'] == 'rejected')
        # in the template's column order
        cols = [(e['column'], e['code']) for e in row['errors']]
        assert cols == [('Email', 'field_invalid'), ('Extension', 'field_invalid')], row
        # the first error stays where older clients read it
        assert row['column'] == 'Email' and 'exactly one @' in row['reason'], row
    s = unchanged_after(base.b, lambda: run(base.b, 'users', 'import', csv_file(tmp_path, 'm.csv', MULTI)))
    assert s.returncode == 1 and 'digits' in s.stdout and 'exactly one @' in s.stdout, s.stdout


def test_unknown_id_row_still_checks_its_fields(base):
    body = HDR + '9999,zed,x1,zed@acme.example,zed@acme.example\n'
    row = post(base.b, body, '?dry_run=1').json()['rows'][0]
    assert [e['code'] for e in row['errors']] == ['user_unknown', 'field_invalid'], row


# --- trimmed extension, other warnings ---

def test_whitespace_around_extension_trimmed(base, tmp_path):
    body = HDR + '1001,alice, 0101 ,alice@acme.example,alice@acme.example\n' \
                 '1002,bob,"\t0102 ; 0202\t",bob@acme.example,bob@acme.example\n' \
                 '1003,carol," 0199",carol@acme.example,carol@acme.example\n'
    rep = post(base.b, body, '?dry_run=1').json()
    assert (rep['summary']['unchanged'], rep['summary']['changed'], rep['summary']['rejected']) == (2, 1, 0), rep
    r = run(base.b, 'users', 'import', csv_file(tmp_path, 't.csv', body))
    assert r.returncode == 0, r.stdout + r.stderr
    assert ext(base.b, '1003') == '0199' and ext(base.b, '1002') == '0102;0202'


def test_salesforce_id_cleared_is_an_information_warning(base):
    body = HDR + '1003,carol,0103,,carol@acme.example\n'
    rep = post(base.b, body, '?dry_run=1').json()
    w = [x for x in rep['warnings'] if x['kind'] == 'salesforce_id_cleared']
    assert len(w) == 1 and w[0]['blocking'] is False and rep['applicable'] is True, rep
    assert post(base.b, body).status_code == 200


# --- export and leading zeros ---

def test_excel_export_keeps_zeros_and_reads_back_unchanged(base, tmp_path):
    plain = export(base.b).decode()
    assert ',0101,' in plain and '="' not in plain, plain     # the template's plain text by default
    r = admin(base.b, 'GET', URL + '?excel=1')
    assert r.status_code == 200, r.text
    text = r.content.decode()
    assert ',="0101",' in text and ',="0102;0202",' in text, text
    rep = post(base.b, text, '?dry_run=1').json()
    assert rep['summary']['unchanged'] == 3 and rep['summary']['changed'] == 0, rep
    out = tmp_path / 'x.csv'
    s = run(base.b, 'users', 'export', '--excel', '-o', str(out))
    assert s.returncode == 0, s.stderr
    assert out.read_text() == text
