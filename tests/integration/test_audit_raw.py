"""Raw assertions (issue 9 item 6): a tenant with keep_raw_assertions keeps each signed Response
with its record; `ssoctl audit show-assertion ID --verify` checks the signature again offline
against the recorded IdP certificate, through the broker or from a copied side file; an edited
Response, an edited certificate and an unknown ID are each refused; junk is never kept."""
import base64
import hashlib
import json
import os
import subprocess

import pytest

from sbtest import env
from sbtest.admin import run
from sbtest.env import ssoctl_bin
from sbtest.browser import code_from
from sbtest.flows import Env, admin, describe
from sbtest.idp import b64


@pytest.fixture(scope='module')
def raw(module_factory):
    b = module_factory.broker(tenants=[('acme', {'consent': 'never'})], start=False)
    b.tenants['acme'].saml['keep_raw_assertions'] = 'true'
    b.start()
    return Env(b, b.dir)


def sign_in(e, user='alice@acme.example'):
    br = e.browser()
    login = br.start_login('acme')
    out = br.post_acs('acme', b64(e.idp['acme'].good(user, login.rid)), login.relay)
    code, _, _ = code_from(out, e.b.tenant('acme').redirect_uri)
    assert code, describe(out)
    return [r for r in e.b.audit() if r.get('request_id') == out.chain[0].headers['X-Request-Id']]


def raw_lines(b):
    with open(b.audit_path + '.raw') as f:
        return [json.loads(l) for l in f if l.strip()]


def offline(path, *args):
    return subprocess.run([ssoctl_bin(), 'audit', 'show-assertion', *args, '--file', path],
                          capture_output=True, text=True, timeout=60)


def test_record_names_the_kept_response(raw):
    recs = sign_in(raw)
    a = [r for r in recs if r['event'] == 'assertion'][0]
    assert a['outcome'] == 'accepted' and len(a['raw_sha256']) == 64
    assert all('raw_sha256' not in r for r in recs if r['event'] != 'assertion')
    kept = [l for l in raw_lines(raw.b) if l['assertion_id'] == a['assertion_id']]
    assert len(kept) == 1
    k = kept[0]
    assert k['seq'] == a['seq'] and k['chain'] == a['chain'] and k['sha256'] == a['raw_sha256']
    assert hashlib.sha256(k['response_b64'].encode()).hexdigest() == a['raw_sha256']
    der = base64.b64decode(k['idp_cert'])
    assert hashlib.sha256(der).hexdigest() == a['cert_fingerprint'] == k['idp_cert_fingerprint']
    assert oct(os.stat(raw.b.audit_path + '.raw').st_mode & 0o777) == '0o600'


def test_show_assertion_verify_through_the_broker(raw):
    a = [r for r in sign_in(raw) if r['event'] == 'assertion'][0]
    r = run(raw.b, 'audit', 'show-assertion', a['assertion_id'], '--verify', tenant=None)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'signature: verified' in r.stdout and a['cert_fingerprint'] in r.stdout
    assert '<saml2:Assertion' in r.stdout or 'Assertion' in r.stdout
    j = run(raw.b, 'audit', 'show-assertion', a['assertion_id'], tenant=None, json_out=True)
    assert j.returncode == 0 and json.loads(j.stdout)['sha256'] == a['raw_sha256']
    # the read itself is on record
    assert env.wait_for(lambda: any(x.get('event') == 'audit_read' and 'show-assertion' in json.dumps(x)
                                    for x in raw.b.audit()), 5)


def test_show_assertion_offline_and_tampering(raw, tmp_path):
    a = [r for r in sign_in(raw) if r['event'] == 'assertion'][0]
    k = [l for l in raw_lines(raw.b) if l['assertion_id'] == a['assertion_id']][0]
    good = str(tmp_path / 'copy.raw')
    with open(good, 'w') as f:
        f.write(json.dumps(k) + '\n')
    r = offline(good, a['assertion_id'], '--verify')
    assert r.returncode == 0 and 'signature: verified' in r.stdout, r.stdout + r.stderr

    def variant(name, change):
        x = dict(k)
        change(x)
        p = str(tmp_path / name)
        with open(p, 'w') as f:
            f.write(json.dumps(x) + '\n')
        return offline(p, a['assertion_id'], '--verify')

    xml = base64.b64decode(k['response_b64'])
    forged = xml.replace(b'alice@acme.example', b'mallory@acme.example')
    assert forged != xml
    # the Response swapped, digest left: the record no longer names it
    r = variant('swap.raw', lambda x: x.update(response_b64=base64.b64encode(forged).decode()))
    assert r.returncode == 1 and 'SHA-256 differs' in r.stderr, r.stderr
    # the Response and its digest both forged: the signature does not verify
    def forge(x):
        x['response_b64'] = base64.b64encode(forged).decode()
        x['sha256'] = hashlib.sha256(x['response_b64'].encode()).hexdigest()
    r = variant('forge.raw', forge)
    assert r.returncode == 1 and 'does not verify' in r.stderr, r.stderr
    # another certificate: not the one the record names
    other = raw.b.pki.cert('idp2')
    with open(other) as f:
        pem = ''.join(l for l in f.read().splitlines() if not l.startswith('-----'))
    r = variant('cert.raw', lambda x: x.update(idp_cert=pem))
    assert r.returncode == 1 and 'not the one the record names' in r.stderr, r.stderr
    r = offline(good, 'no-such-id', '--verify')
    assert r.returncode == 1 and 'no raw assertion' in r.stderr


def test_unknown_id_is_404(raw):
    r = admin(raw.b, 'GET', '/api/v1/audit/assertion?id=nope')
    assert r.status_code == 404 and r.json()['error'] == 'audit_raw_not_found'
    r = admin(raw.b, 'GET', '/api/v1/audit/assertion?id=x', token='Bearer wrong')
    assert r.status_code == 401


def test_junk_is_not_kept(raw):
    before = len(raw_lines(raw.b))
    for body in ('!!!', 'PGZvbz48L2Zvbz4='):
        r = raw.b.post('/t/acme/saml/acs', data={'SAMLResponse': body})
        assert r.status_code in (400, 403)
    assert len(raw_lines(raw.b)) == before
