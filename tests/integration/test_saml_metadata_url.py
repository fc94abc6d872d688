"""IdP metadata from a URL (issue 11 item 4): [saml] idp_metadata_url with its backing file
(idp_metadata), metadata_refresh, and the pinned metadata_signing_cert.

The IdP's metadata is served over HTTPS by a server this test starts on 127.0.0.1 (Python's
http.server + ssl, a throwaway CA made here with openssl, given to the tenant as
metadata_ca_file), signed with python3-xmlsec.  The broker starts from the URL (the URL's keys
replace the backing file's, and the file is rewritten), every hostile document or transport
failure is refused with its reason code while the metadata in force stays and sign-ins go on,
and the IdP's certificate rollover reaches a running worker without a restart.  A SIGHUP makes
new workers, which fetch at once: that is how a case is replayed without waiting for
metadata_refresh (60 s, the minimum)."""
import os
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lxml import etree

from sbtest import env
from sbtest.flows import Env, admin, ssoctl
from sbtest.idp import iso, now, idp_metadata, secs, sign
from sbtest.procs import IDP_ENTITY, IDP_SSO


def _openssl(*args):
    subprocess.run(['openssl', *args], check=True, capture_output=True)


class MdPKI:
    """Two CAs (a, trusted by the tenant; b, a stranger), the server's leaf from a, and RSA keys
    for the IdP (rollover), the metadata signer and an attacker."""

    def __init__(self, d):
        self.dir = str(d)
        for ca in ('ca_a', 'ca_b'):
            _openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
                     '-subj', f'/CN=sso-broker mdurl test {ca}',
                     '-addext', 'basicConstraints=critical,CA:TRUE',
                     '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
                     '-keyout', self.p(ca + '.key'), '-out', self.p(ca + '.crt'))
        _openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1',
                 '-keyout', self.p('srv.key'), '-out', self.p('srv.csr'))
        with open(self.p('srv.ext'), 'w') as f:
            f.write('subjectAltName=IP:127.0.0.1\n')
        _openssl('x509', '-req', '-in', self.p('srv.csr'), '-CA', self.p('ca_a.crt'),
                 '-CAkey', self.p('ca_a.key'), '-CAcreateserial', '-days', '2',
                 '-extfile', self.p('srv.ext'), '-out', self.p('srv.crt'))
        for n, bits in (('idp3', 2048), ('idp4', 2048), ('mdsign', 2048), ('mdevil', 2048),
                        ('weak', 1024)):
            _openssl('req', '-x509', '-newkey', f'rsa:{bits}', '-nodes', '-sha256', '-days', '30',
                     '-subj', f'/CN=sso-broker-mdurl-{n}', '-keyout', self.key(n),
                     '-out', self.cert(n))

    def p(self, name):
        return os.path.join(self.dir, name)

    def key(self, n):
        return self.p(n + '.key')

    def cert(self, n):
        return self.p(n + '.crt')


class MdServer:
    """HTTPS on 127.0.0.1: path -> (status, headers, body), changed by the test at any time."""

    def __init__(self, pki):
        self.routes = {}
        self.hits = 0
        outer = self

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits += 1
                status, headers, body = outer.routes.get(self.path, (404, {}, b'no'))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.p('srv.crt'), pki.p('srv.key'))
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f'https://127.0.0.1:{self.port}{path}'

    def serve(self, body, status=200, headers=None, path='/md'):
        self.routes[path] = (status, headers or {'Content-Type': 'application/samlmetadata+xml'},
                             body if isinstance(body, bytes) else body.encode())

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def metadata(certs, *, entity=IDP_ENTITY, signer=None, valid_until=3600, tamper=False):
    """The IdP's EntityDescriptor with these signing certificates, validUntil (seconds from now,
    None: none), enveloped-signed by signer ((key, cert) or None)."""
    root = etree.fromstring(idp_metadata(entity, IDP_SSO, certs).encode())
    root.set('ID', '_md' + os.urandom(8).hex())
    if valid_until is not None:
        root.set('validUntil', iso(now() + secs(valid_until)))
    if signer is not None:
        sign(root, signer[0], signer[1], position='first')
    if tamper:
        # after signing: a certificate of the attacker's slipped into the signed document
        kd = root.find('{urn:oasis:names:tc:SAML:2.0:metadata}IDPSSODescriptor/'
                       '{urn:oasis:names:tc:SAML:2.0:metadata}KeyDescriptor')
        kd.getparent().insert(kd.getparent().index(kd), etree.fromstring(etree.tostring(kd)))
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root)


def tenant_json(b):
    r = admin(b, 'GET', '/api/v1/tenants/acme')
    assert r.status_code == 200, r.text
    return r.json()


def wait_state(b, want, timeout=20):
    """Poll the admin API until the tenant's metadata_state is want; return the tenant JSON."""
    seen = {}

    def get():
        j = tenant_json(b)
        seen['j'] = j
        return j if j.get('metadata_state') == want else None
    j = env.wait_for(get, timeout, step=0.2)
    assert j, (want, seen.get('j'), b.log_tail(20))
    return j


def failures(b):
    """ssobroker_idp_metadata_refresh_failures_total by reason."""
    out = {}
    for line in admin(b, 'GET', '/metrics').text.splitlines():
        if line.startswith('ssobroker_idp_metadata_refresh_failures_total{'):
            reason = line.split('reason="', 1)[1].split('"', 1)[0]
            out[reason] = int(line.rsplit(' ', 1)[1])
    return out


def signs_in(e, key, cert):
    """A sign-in whose assertion is signed by key/cert: True when it gives a code."""
    e.idp['acme'].key, e.idp['acme'].cert = key, cert
    user, _, _ = e.fresh_user()
    r = e.signin(user)
    return bool(r['code'])


@pytest.fixture(scope='module')
def md(tmp_path_factory, module_factory):
    pki = MdPKI(tmp_path_factory.mktemp('mdpki'))
    srv = MdServer(pki)
    signer = (pki.key('mdsign'), pki.cert('mdsign'))
    # the URL's first document: the key idp3 (the backing file has the suite's idp key)
    srv.serve(metadata([pki.cert('idp3')], signer=signer))
    b = module_factory.broker([('acme', {'idp_certs': [module_factory.pki.cert('idp')]})],
                               start=False, workers=1)
    t = b.tenants['acme']
    t.saml.update({'idp_metadata_url': srv.url('/md'), 'metadata_refresh': '60',
                   'metadata_signing_cert': pki.cert('mdsign'), 'metadata_ca_file': pki.p('ca_a.crt')})
    try:
        b.start()
        e = Env(b, b.dir)
        yield e, srv, pki, signer
    finally:
        rc, san = b.stop()
        srv.stop()
    assert rc == 0 and not san, (rc, san, b.log_tail())


def reload_and_wait(b, want):
    """SIGHUP: new workers start from the backing file and fetch at once.  Done when the
    state is want and a new fetch was counted (the answer then comes from a new worker)."""
    before = failures(b).get(want, 0)
    b.reload()
    if want != 'ok':
        assert env.wait_for(lambda: failures(b).get(want, 0) > before, 20, step=0.2), \
            (want, failures(b), b.log_tail(20))
    else:
        time.sleep(1.0)
    return wait_state(b, want)


def test_starts_from_the_url(md):
    e, srv, pki, signer = md
    b = e.b
    j = wait_state(b, 'ok')
    assert j['metadata_source'] == 'url' and j['metadata_url'] == srv.url('/md')
    assert isinstance(j['metadata_age'], int) and j['metadata_fetched_at']
    assert j['ready'] == 'ready' and j['metadata_valid_until']
    fps = [c['fingerprint_sha256'] for c in j['idp_certificates']]
    assert len(fps) == 1
    # the URL's key signs in; the backing file's old key no longer does
    assert signs_in(e, pki.key('idp3'), pki.cert('idp3'))
    assert not signs_in(e, b.pki.key('idp'), b.pki.cert('idp'))
    # the backing file is the fetched document, written whole
    with open(b.tenants['acme'].metadata, 'rb') as f:
        assert f.read() == srv.routes['/md'][2]
    assert not [n for n in os.listdir(b.dir) if '.tmp.' in n]
    out = ssoctl(b, 'tenants')
    assert out.returncode == 0 and 'METADATA' in out.stdout and 'url ok' in out.stdout, out.stdout
    m = admin(b, 'GET', '/metrics').text
    assert 'ssobroker_idp_metadata_age_seconds{tenant="acme"}' in m
    assert 'ssobroker_idp_metadata_refresh_ok{tenant="acme"} 1' in m
    assert 'kind="idp",fingerprint="%s"' % fps[0][:16] in m


def _hostile(pki, signer, big):
    good = [pki.cert('idp3')]
    evil = (pki.key('mdevil'), pki.cert('mdevil'))
    return [
        ('bad_signature', metadata([pki.cert('mdevil')], signer=evil), 200, {},
         'saml_metadata_signature'),
        ('tampered', metadata(good, signer=signer, tamper=True), 200, {}, 'saml_metadata_signature'),
        ('unsigned', metadata([pki.cert('idp4')]), 200, {}, 'saml_metadata_unsigned'),
        ('expired', metadata([pki.cert('idp4')], signer=signer, valid_until=-60), 200, {},
         'saml_metadata_expired'),
        ('other_entity', metadata([pki.cert('idp4')], signer=signer,
                                  entity='https://evil.my.salesforce.com'), 200, {},
         'saml_metadata_entity'),
        ('weak_key', metadata([pki.cert('weak')], signer=signer), 200, {}, 'saml_metadata_cert'),
        ('not_xml', b'<html>Service Unavailable', 200, {}, 'saml_metadata_not_xml'),
        ('dtd', b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', 200, {},
         'saml_metadata_not_xml'),
        ('oversized', big, 200, {}, 'hout_too_big'),
        ('redirect', b'', 302, {'Location': '/md-elsewhere'}, 'hout_redirect'),
        ('not_found', b'gone', 404, {}, 'hout_status'),
    ]


def test_hostile_documents_never_replace_good_metadata(md):
    e, srv, pki, signer = md
    b = e.b
    wait_state(b, 'ok')
    good = srv.routes['/md']
    with open(b.tenants['acme'].metadata, 'rb') as f:
        backing = f.read()
    big = metadata([pki.cert('idp3')], signer=signer).replace(
        b'</md:EntityDescriptor>', b'<!--' + b'x' * (1100 * 1024) + b'--></md:EntityDescriptor>')
    srv.serve(metadata([pki.cert('idp4')], signer=signer), path='/md-elsewhere')
    try:
        for name, body, status, headers, slug in _hostile(pki, signer, big):
            srv.serve(body, status=status, headers=headers or None)
            j = reload_and_wait(b, slug)
            assert j['ready'] == 'ready', (name, j)
            # the document in force is still the good one: idp3 signs in, idp4 does not
            assert signs_in(e, pki.key('idp3'), pki.cert('idp3')), name
            assert not signs_in(e, pki.key('idp4'), pki.cert('idp4')), name
            with open(b.tenants['acme'].metadata, 'rb') as f:
                assert f.read() == backing, name
            assert slug in b.log_text() and 'the metadata in force stays' in b.log_text()
    finally:
        srv.routes['/md'] = good


def test_tls_failure_keeps_metadata(md):
    e, srv, pki, signer = md
    b = e.b
    t = b.tenants['acme']
    t.saml['metadata_ca_file'] = pki.p('ca_b.crt')     # the server's certificate is not from b
    try:
        j = reload_and_wait(b, 'hout_tls')
        assert j['ready'] == 'ready'
        assert signs_in(e, pki.key('idp3'), pki.cert('idp3'))
    finally:
        t.saml['metadata_ca_file'] = pki.p('ca_a.crt')
    reload_and_wait(b, 'ok')


def test_rollover_reaches_a_running_worker(md):
    """The IdP rolls its key: the running worker's next fetch (here the retry after a failed one,
    MDR_RETRY_MIN_S = 10 s) puts it in force, with no restart and no reload."""
    e, srv, pki, signer = md
    b = e.b
    wait_state(b, 'ok')
    srv.serve(b'<html>maintenance', status=503)
    reload_and_wait(b, 'hout_status')
    lines_before = b.log_text().splitlines()
    assert signs_in(e, pki.key('idp3'), pki.cert('idp3'))
    # rollover: the new document names idp4 only
    srv.serve(metadata([pki.cert('idp4')], signer=signer))
    j = wait_state(b, 'ok', timeout=30)
    assert signs_in(e, pki.key('idp4'), pki.cert('idp4'))
    assert not signs_in(e, pki.key('idp3'), pki.cert('idp3'))
    assert len(j['idp_certificates']) == 1
    # no reload happened in between: the log has no new generation after the failure
    new = b.log_text().splitlines()[len(lines_before):]
    assert not [l for l in new if 'reload' in l.lower()], new
    with open(b.tenants['acme'].metadata, 'rb') as f:
        assert f.read() == srv.routes['/md'][2]


def test_config_rules(factory, tmp_path):
    """The URL needs https and its backing file; the URL's keys need the URL."""
    b = factory.broker([('acme', {})], start=False)
    exe = env.broker_bin()
    t = b.tenants['acme']
    cases = [
        ({'idp_metadata_url': 'http://127.0.0.1:9/md'}, 'https'),
        ({'metadata_refresh': '600'}, 'needs idp_metadata_url'),
        ({'idp_metadata_url': 'https://127.0.0.1:9/md', 'metadata_refresh': '59'}, 'metadata_refresh'),
        ({'idp_metadata_url': 'https://127.0.0.1:9/md', 'idp_metadata': None}, 'idp_metadata'),
    ]
    for over, needle in cases:
        saved = dict(t.saml)
        t.saml.update(over)
        b.write()
        out = subprocess.run([exe, '-n', '-c', b.conf_path], capture_output=True, text=True)
        t.saml.clear()
        t.saml.update(saved)
        assert out.returncode != 0 and needle in out.stderr + out.stdout, (over, out.stderr)
        assert 'acme.conf:' in out.stderr + out.stdout


def test_past_valid_until_is_not_ready_until_the_url_renews_it(md):
    """/readyz (tenant_state) and the admin API show a tenant whose refreshed metadata is past its
    validUntil as not ready; its expired backing file still loads on a reload (the URL may renew
    it), and the URL's next good document makes it ready again."""
    e, srv, pki, signer = md
    b = e.b
    wait_state(b, 'ok')
    srv.serve(metadata([pki.cert('idp4')], signer=signer, valid_until=4))
    reload_and_wait(b, 'ok')

    def readyz_acme(want):
        st = b.get('/readyz').json()['tenant_state']['acme']
        return st if st['ready'] == want else None
    st = env.wait_for(lambda: readyz_acme(False), 15, step=0.2)
    assert st and st['reason'] == 'saml_metadata', st
    assert tenant_json(b)['ready'] == 'saml_metadata'
    assert not signs_in(e, pki.key('idp4'), pki.cert('idp4'))    # validUntil is honoured
    rec = [a for a in b.audit() if a.get('event') == 'assertion'][-1]
    assert rec['result' if 'result' in rec else 'outcome'] == 'rejected'
    assert rec['reason'] == 'saml_metadata', rec
    srv.serve(metadata([pki.cert('idp4')], signer=signer))
    reload_and_wait(b, 'ok')
    assert env.wait_for(lambda: readyz_acme(True), 15, step=0.2)
    assert 'reload refused' not in b.log_text()
    assert signs_in(e, pki.key('idp4'), pki.cert('idp4'))


def _pysaml_md(idp, pki):
    """The IdP's metadata as pysaml2 writes it (entity_descriptor() of its own configuration),
    with a validUntil an hour on, signed by pysaml2 (RSA-SHA256) with the pinned signer."""
    from saml2.config import Config
    from saml2.metadata import entity_descriptor, metadata_tostring_fix, sign_entity_descriptor
    from saml2.sigver import security_context
    ed = entity_descriptor(idp.server.config)
    ed.valid_until = iso(now() + secs(3600))
    conf = Config()
    conf.key_file, conf.cert_file = pki.key('mdsign'), pki.cert('mdsign')
    conf.xmlsec_binary = '/usr/bin/xmlsec1'
    eid, xmldoc = sign_entity_descriptor(
        ed, None, security_context(conf),
        sign_alg='http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
        digest_alg='http://www.w3.org/2001/04/xmlenc#sha256')
    out = metadata_tostring_fix(eid, {'xs': 'http://www.w3.org/2001/XMLSchema'}, xmldoc)
    return out if isinstance(out, bytes) else out.encode()


class _Answer:
    def __init__(self, idp):
        self.idp = idp

    def answer(self, url, user, **kw):
        return self.idp.answer(url, user, **kw)


def test_pysaml2_metadata_and_its_rollover(md):
    """A third-party IdP (pysaml2) writes and signs its own metadata; after it rolls its key, the
    running worker's next fetch makes its new responses verify and its old key fail."""
    from sbtest.pysaml_idp import PySamlIdP
    e, srv, pki, signer = md
    b = e.b
    sp_md = e.sp['acme'][2]
    old = PySamlIdP(os.path.join(b.dir, 'pys-old'), IDP_ENTITY, IDP_SSO, pki.key('idp3'),
                    pki.cert('idp3'), sp_md)
    new = PySamlIdP(os.path.join(b.dir, 'pys-new'), IDP_ENTITY, IDP_SSO, pki.key('idp4'),
                    pki.cert('idp4'), sp_md)
    srv.serve(_pysaml_md(old, pki))
    reload_and_wait(b, 'ok')
    user, _, _ = e.fresh_user()
    assert e.signin(user, idp=_Answer(old))['code']
    # the next fetch fails (the worker retries in 10 s), then the IdP has rolled its key
    srv.serve(b'', status=500)
    reload_and_wait(b, 'hout_status')
    srv.serve(_pysaml_md(new, pki))
    wait_state(b, 'ok', timeout=30)
    user, _, _ = e.fresh_user()
    assert e.signin(user, idp=_Answer(new))['code']
    user, _, _ = e.fresh_user()
    assert not e.signin(user, idp=_Answer(old))['code']


def test_expiry_warnings_and_gauge_for_refreshed_certificates(md, factory):
    """A certificate that ends within 14 days is warned about in the log: the SP's at load, an
    IdP's when a refresh brings it; the refreshed certificate is on the expiry gauge."""
    e, srv, pki, signer = md
    for n in ('spsoon', 'idpsoon'):
        _openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '5',
                 '-subj', f'/CN=sso-broker-mdurl-{n}', '-keyout', pki.key(n), '-out', pki.cert(n))
        os.chmod(pki.key(n), 0o600)
    srv.serve(metadata([pki.cert('idpsoon')], signer=signer), path='/md-soon')
    b = factory.broker([('acme', {'idp_certs': [factory.pki.cert('idp')], 'sp_key': pki.key('spsoon'),
                                  'sp_cert': pki.cert('spsoon')})], start=False, workers=1)
    b.tenants['acme'].saml.update({'idp_metadata_url': srv.url('/md-soon'),
                                   'metadata_signing_cert': pki.cert('mdsign'),
                                   'metadata_ca_file': pki.p('ca_a.crt')})
    b.start()
    j = wait_state(b, 'ok')
    fp = j['idp_certificates'][0]['fingerprint_sha256']
    log = b.log_text()
    assert 'tenant acme: SP certificate' in log and 'expires' in log, b.log_tail()
    assert f'tenant acme: IdP certificate {fp[:16]}... expires' in log, b.log_tail()
    m = admin(b, 'GET', '/metrics').text
    assert f'kind="idp",fingerprint="{fp[:16]}"' in m
    assert 'ssobroker_certificate_not_after_seconds{tenant="acme",kind="sp"' in m


def test_refresh_every_metadata_refresh_seconds(md):
    """Without a failure or a reload the worker fetches again after metadata_refresh (60 s, the
    minimum) and the IdP's rolled key is in force from then on (about a minute)."""
    e, srv, pki, signer = md
    b = e.b
    srv.serve(metadata([pki.cert('idp3')], signer=signer))
    b.reload()
    time.sleep(1.0)
    j = wait_state(b, 'ok')
    assert [c['subject'] for c in j['idp_certificates']] == ['/CN=sso-broker-mdurl-idp3'], j
    t0 = time.time()
    srv.serve(metadata([pki.cert('idp4')], signer=signer))     # the rollover
    assert signs_in(e, pki.key('idp3'), pki.cert('idp3'))

    def rolled():
        subj = [c['subject'] for c in tenant_json(b)['idp_certificates']]
        return subj == ['/CN=sso-broker-mdurl-idp4']
    assert env.wait_for(rolled, 80, step=1.0), tenant_json(b)
    assert 50 <= time.time() - t0 <= 80
    assert signs_in(e, pki.key('idp4'), pki.cert('idp4'))
    assert not signs_in(e, pki.key('idp3'), pki.cert('idp3'))
