"""Spreadsheet-made CSV through the admin API and ssoctl (issue 10 item 5): a European Excel `;`
file, a tab file, Excel's ="0101", spaces around a Salesforce ID, a Windows-1252 file."""
import pytest

from sbtest.admin import count, csv_file, export, run, reset
from sbtest.flows import admin

HDR = '8x8 Internal ID,User Name,First Name,Last Name,Email,Extension,Salesforce ID\n'
BASE = HDR + '1001,alice,Alice,Smith,alice@acme.example,0101,alice@acme.example\n' \
             '1002,bob,Bob,Jones,bob@acme.example,0102,bob@acme.example\n'
URL = '/api/v1/tenants/acme/users.csv'
CT = {'Content-Type': 'text/csv'}


@pytest.fixture(scope='module')
def m(module_factory):
    return module_factory.env(tenants=[('acme', {'consent': 'never'})], users=False)


@pytest.fixture
def base(m, tmp_path):
    r = reset(m.b, tmp_path, BASE)
    assert r.returncode == 0, r.stderr
    return m


@pytest.mark.parametrize('body', [
    HDR.replace(',', ';') + '1001;alice;Alice;Smith;alice@acme.example;0101;alice@acme.example\n',
    HDR.replace(',', '\t') + '1001\talice\tAlice\tSmith\talice@acme.example\t0101\talice@acme.example\n',
    '\ufeff' + HDR + '1001,alice,Alice,Smith,alice@acme.example,="0101", alice@acme.example \n',
    HDR.replace(',', ';') + '="1001";alice;Alice;Smith;alice@acme.example;"=""0101""";alice@acme.example\r\n',
], ids=['semicolon', 'tab', 'bom-formula-space', 'semicolon-quoted-formula'])
def test_spreadsheet_forms_unchanged(base, body):
    before = export(base.b)
    api = admin(base.b, 'POST', URL + '?dry_run=1', data=body.encode('utf-8'), headers=CT)
    assert api.status_code == 200, api.text
    rep = api.json()
    assert (count(rep, 'unchanged'), count(rep, 'changed'), count(rep, 'rejected')) == (1, 0, 0), rep
    assert export(base.b) == before


def test_semicolon_file_applies_through_ssoctl(base, tmp_path):
    body = HDR.replace(',', ';') + '1002;bob;Bob;Jones;bob@acme.example;0199;bob@acme.example\n'
    r = run(base.b, 'users', 'import', csv_file(tmp_path, 's.csv', body))
    assert r.returncode == 0, r.stdout + r.stderr
    assert b'0199' in export(base.b)


def test_windows_1252_file_says_save_as_utf8(base, tmp_path):
    before, keys = export(base.b), base.b.keys()
    body = HDR + '1001,alice,Ren\u00e9,Smith,alice@acme.example,0101,alice@acme.example\n'
    api = admin(base.b, 'POST', URL, data=body.encode('cp1252'), headers=CT)
    assert api.status_code == 400, api.text
    assert 'save it as CSV UTF-8' in api.text and 'line 2' in api.text and '0xE9' in api.text, api.text
    assert 'csv_not_utf8' in api.text, api.text
    r = run(base.b, 'users', 'import', csv_file(tmp_path, 'w.csv', body, encoding='cp1252'))
    assert r.returncode != 0 and 'save it as CSV UTF-8' in r.stdout + r.stderr
    assert export(base.b) == before and base.b.keys() == keys
