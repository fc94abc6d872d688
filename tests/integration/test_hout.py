"""Outbound HTTPS (broker/hout.c, issue 8 item 2): the real module, driven by
tests/tools/hout_get on a libevent loop, against real TLS servers on 127.0.0.1 (Python's
http.server + ssl) with a throwaway test CA made here with openssl.  No mock of HTTP or TLS.

Each security setting of hout.c has a case: https only, no redirect followed, certificate and
host name verified, TLS 1.2 or newer, the per-request CA file, no proxy from the environment,
no cookies, the connect and total timeouts, the size cap; plus the contract (one callback per
request, never from inside hout_get, none for an owner that went away, "cancelled" on
hout_free) and the proof that the loop never blocks: 200 concurrent requests to a server that
answers after 2 s while the driver's 10 ms timer stays on time (p99 <= 20 ms late)."""
import base64
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from sbtest import env

DRIVER = os.path.join(env.BUILD, 'tests', 'tools', 'hout_get')
SANITIZER = re.compile(r'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: \w+Sanitizer')

pytestmark = pytest.mark.skipif(not os.access(DRIVER, os.X_OK),
                                reason=f'no {DRIVER} (run make in BROKER_BUILD)')


def version():
    with open(os.path.join(env.BUILD, 'config.h')) as f:
        m = re.search(r'#define PACKAGE_VERSION "([^"]+)"', f.read())
    return m.group(1)


# ---------------------------------------------------------------- a test PKI

def _openssl(*args):
    subprocess.run(['openssl', *args], check=True, capture_output=True)


class HoutPKI:
    """Two CAs (A is the one the client is given, B a stranger) and leaf certificates."""

    def __init__(self, d):
        self.dir = str(d)
        for ca in ('ca_a', 'ca_b'):
            _openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                     '-nodes', '-days', '1', '-subj', f'/CN=sso-broker hout test {ca}',
                     '-addext', 'basicConstraints=critical,CA:TRUE',
                     '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
                     '-keyout', self.p(ca + '.key'), '-out', self.p(ca + '.crt'))
        self.leaf('good', 'ca_a', 'IP:127.0.0.1')
        self.leaf('wrongname', 'ca_a', 'DNS:wrong.example')
        self.leaf('stranger', 'ca_b', 'IP:127.0.0.1')

    def p(self, name):
        return os.path.join(self.dir, name)

    def leaf(self, name, ca, san):
        ext = self.p(name + '.ext')
        with open(ext, 'w') as f:
            f.write(f'subjectAltName={san}\nextendedKeyUsage=serverAuth\n'
                    'basicConstraints=critical,CA:FALSE\n')
        _openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                 '-subj', '/CN=hout test server', '-keyout', self.p(name + '.key'),
                 '-out', self.p(name + '.csr'))
        _openssl('x509', '-req', '-in', self.p(name + '.csr'), '-CA', self.p(ca + '.crt'),
                 '-CAkey', self.p(ca + '.key'), '-set_serial', str(abs(hash(name)) % 10**9),
                 '-days', '1', '-sha256', '-extfile', ext, '-out', self.p(name + '.crt'))


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    return HoutPKI(tmp_path_factory.mktemp('hout-pki'))


# ---------------------------------------------------------------- servers

class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def _send(self, code, body=b'', ctype='application/json', headers=()):
        self.send_response(code)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _record(self, body=b''):
        self.server.seen.append({'method': self.command, 'path': self.path,
                                 'headers': {k.lower(): v for k, v in self.headers.items()},
                                 'body': body.decode('latin-1')})

    def do_POST(self):
        n = int(self.headers.get('Content-Length', '0'))
        body = self.rfile.read(n)
        self._record(body)
        u = urlsplit(self.path)
        if u.path == '/status':
            code = int(parse_qs(u.query)['code'][0])
            self._send(code, b'{"error":"invalid_grant"}')
        else:
            self._send(200, json.dumps({'got': body.decode('latin-1')}).encode())

    def do_GET(self):
        self._record()
        u = urlsplit(self.path)
        q = {k: v[0] for k, v in parse_qs(u.query).items()}
        if u.path == '/ok':
            self._send(200, b'{"ok":true}')
        elif u.path == '/setcookie':
            self._send(200, b'{}', headers=[('Set-Cookie', 'sid=s3ss10n; Path=/')])
        elif u.path == '/redirect':
            port = self.server.server_address[1]
            self._send(302, b'', ctype='text/html',
                       headers=[('Location', f'https://127.0.0.1:{port}/ok')])
        elif u.path == '/status':
            self._send(int(q['code']), b'{"error":"invalid_grant"}')
        elif u.path == '/big':
            self._send(200, b'x' * int(q['n']), ctype='application/octet-stream')
        elif u.path == '/chunked':
            self.send_response(200)
            self.send_header('Content-Type', 'application/octet-stream')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            left = int(q['n'])
            try:
                while left > 0:
                    k = min(left, 4096)
                    self.wfile.write(b'%x\r\n%s\r\n' % (k, b'y' * k))
                    left -= k
                self.wfile.write(b'0\r\n\r\n')
            except OSError:
                pass        # the client stopped reading at its cap
        elif u.path == '/slow':
            time.sleep(int(q['ms']) / 1000)
            self._send(200, b'{"slow":true}')
        elif u.path == '/stall':
            self.server.stop.wait(30)
        else:
            self._send(404, b'{}')


class TLSServer(ThreadingHTTPServer):
    """A threading HTTP(S) server; the TLS handshake runs in the connection's thread."""
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, ctx):
        self.ctx, self.seen, self.stop = ctx, [], threading.Event()
        super().__init__(('127.0.0.1', 0), Handler)
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def finish_request(self, request, client_address):
        if self.ctx is not None:
            try:
                request = self.ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return      # a refused handshake: what several cases expect
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass

    def url(self, path, scheme='https'):
        return f'{scheme}://127.0.0.1:{self.port}{path}'

    def close(self):
        self.stop.set()
        self.shutdown()
        self.server_close()


def server_ctx(pki, leaf, tls11=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.p(leaf + '.crt'), pki.p(leaf + '.key'))
    if tls11:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
    return ctx


class NicedServer:
    """The TLS server in a process of its own at nice 10: on this small machine the driver
    and the server share the cores, and the timer must measure the driver's loop, not the
    server's CPU (a real provider is elsewhere)."""

    def __init__(self, pki, leaf):
        self.proc = subprocess.Popen(
            ['nice', '-n', '10', sys.executable, os.path.abspath(__file__), 'serve',
             pki.p(leaf + '.crt'), pki.p(leaf + '.key')],
            stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def url(self, path):
        return f'https://127.0.0.1:{self.port}{path}'

    def close(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope='module')
def srv(pki):
    s = TLSServer(server_ctx(pki, 'good'))
    yield s
    s.close()


@pytest.fixture
def start():
    started = []

    def make(ctx):
        s = TLSServer(ctx)
        started.append(s)
        return s
    yield make
    for s in started:
        s.close()


class Listener:
    """A TCP socket that accepts and then says nothing; counts its connections."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.conns, self.stop = [], False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.1)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.conns.append(c)
            except socket.timeout:
                pass
            except OSError:
                return

    def close(self):
        self.stop = True
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


# ---------------------------------------------------------------- the driver

def drive(*args, env_extra=None, timeout=60):
    """Run hout_get; return (results by request index, summary, stderr)."""
    e = dict(os.environ)
    for k in ('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy',
              'ALL_PROXY', 'no_proxy', 'NO_PROXY'):
        e.pop(k, None)
    e.update(env_extra or {})
    p = subprocess.run([DRIVER, *map(str, args)], capture_output=True, text=True,
                       timeout=timeout, env=e)
    assert not SANITIZER.search(p.stderr), p.stderr[-3000:]
    assert p.returncode == 0, f'rc {p.returncode}\n{p.stderr[-3000:]}'
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    summary = lines[-1]
    assert summary.get('summary'), p.stdout
    res = {}
    for x in lines[:-1]:
        assert x['i'] not in res or 'dropped' in x, f'two results for one request: {x}'
        res.setdefault(x['i'], x)
    # The contract, in every run: at most one callback, never from inside hout_get,
    # every hold released.
    assert summary['twice'] == 0 and summary['reentrant'] == 0, summary
    assert summary['refs_left'] == 0 and summary['cb_dead'] == 0, summary
    return res, summary, p.stderr


def one(*args, **kw):
    res, summary, err = drive(*args, **kw)
    assert summary['callbacks'] == 1, (summary, err)
    return res[0], err


# ---------------------------------------------------------------- cases

def test_success_get(srv, pki):
    r, _ = one('--ca', pki.p('ca_a.crt'), '--body', srv.url('/ok'))
    assert (r['rv'], r['reason'], r['status']) == (0, 'ok', 200)
    assert r['ctype'] == 'application/json' and r['body'] == '{"ok":true}'
    h = [s for s in srv.seen if s['path'] == '/ok'][-1]['headers']
    assert h['user-agent'] == f'sso-broker/{version()}'
    assert h['accept'] == 'application/json'
    assert 'authorization' not in h and 'cookie' not in h


def test_post_form_basic_auth(srv, pki):
    body = 'grant_type=authorization_code&code=C0DE-4711&code_verifier=v3r1f13r'
    r, err = one('--ca', pki.p('ca_a.crt'), '--post', body, '--user', 'client id',
                 '--secret', 's3cr:t/&x', '--body', srv.url('/token'))
    assert r['rv'] == 0 and json.loads(r['body']) == {'got': body}
    seen = [s for s in srv.seen if s['path'] == '/token'][-1]
    assert seen['method'] == 'POST' and seen['body'] == body
    assert seen['headers']['content-type'] == 'application/x-www-form-urlencoded'
    # RFC 6749 2.3.1: each part form-encoded, then joined and base64-encoded.
    auth = seen['headers']['authorization']
    assert auth == 'Basic ' + base64.b64encode(b'client%20id:s3cr%3At%2F%26x').decode()
    assert 'expect' not in seen['headers']


def test_bearer(srv, pki):
    r, _ = one('--ca', pki.p('ca_a.crt'), '--bearer', 'Acc3ss.T0ken', srv.url('/ok'))
    assert r['rv'] == 0
    assert [s for s in srv.seen if s['path'] == '/ok'][-1]['headers']['authorization'] == \
        'Bearer Acc3ss.T0ken'


def test_secrets_never_logged(srv, pki):
    """A failing request logs its URL without the query, and no credential or body."""
    r, err = one('--ca', pki.p('ca_a.crt'), '--post', 'code=C0DE-4711', '--user', 'cid',
                 '--secret', 'S3CRET-9', '--debug', srv.url('/status?code=400&code=Q-C0DE'))
    assert r['reason'] == 'hout_status'
    assert 'hout: POST https://127.0.0.1:%d/status' % srv.port in err
    for secret in ('C0DE-4711', 'S3CRET-9', 'Q-C0DE', 'code=', base64.b64encode(b'cid:S3CRET-9')
                   .decode()):
        assert secret not in err


def test_status_not_2xx_gives_status_and_body(srv, pki):
    r, err = one('--ca', pki.p('ca_a.crt'), '--body', srv.url('/status?code=400'))
    assert (r['reason'], r['status']) == ('hout_status', 400)
    assert r['body'] == '{"error":"invalid_grant"}'
    assert r['rv'] == -954
    r, _ = one('--ca', pki.p('ca_a.crt'), srv.url('/status?code=503'))
    assert (r['reason'], r['status']) == ('hout_status', 503)


def test_wrong_ca_refused(start, pki):
    s = start(server_ctx(pki, 'stranger'))
    r, err = one('--ca', pki.p('ca_a.crt'), s.url('/ok'))
    assert r['reason'] == 'hout_tls' and r['status'] == 0
    assert 'certificate' in err
    assert not s.seen


def test_system_store_refuses_test_ca(srv):
    """Without a ca_file the system trust store decides, and it does not know the test CA."""
    r, _ = one(srv.url('/ok'))
    assert r['reason'] == 'hout_tls'


def test_trust_store_loaded_before_the_loop(srv, pki):
    """hout_trust_load (the parent's store, installed into each TLS context): the right CA
    is accepted, another refused, and the system bundle does not know the test CA."""
    r, _ = one('--trust', pki.p('ca_a.crt'), srv.url('/ok'))
    assert r['rv'] == 0
    r, _ = one('--trust', pki.p('ca_b.crt'), srv.url('/ok'))
    assert r['reason'] == 'hout_tls'
    r, _ = one('--trust-system', srv.url('/ok'))
    assert r['reason'] == 'hout_tls'


def test_trust_store_unreadable(tmp_path):
    """hout_trust_load names the file it could not use (a configuration error)."""
    empty = tmp_path / 'empty.pem'
    empty.write_text('no certificate here\n')
    for path in (str(tmp_path / 'missing.pem'), str(empty)):
        p = subprocess.run([DRIVER, '--trust', path, 'https://127.0.0.1:1/'],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode != 0 and not SANITIZER.search(p.stderr), p.stderr
        assert path in p.stderr and 'no CA certificate could be read' in p.stderr


@pytest.mark.parametrize('mine,other', [('--ca', '--alt-ca'), ('--trust', '--alt-trust'),
                                        ('--ca', '--alt-trust')])
def test_tenants_never_share_a_verified_connection(srv, pki, mine, other):
    """Requests alternate between a tenant that trusts the server's CA and one that does
    not, to one server: a connection verified for the first is never reused for the second."""
    res, summary, _ = drive(mine, pki.p('ca_a.crt'), other, pki.p('ca_b.crt'), '--serial',
                            '--count', 6, srv.url('/ok'))
    assert summary['callbacks'] == 6
    assert [res[i]['reason'] for i in range(6)] == ['ok', 'hout_tls'] * 3


def test_system_bundle_parsed_before_the_loop(srv):
    """40 handshakes against the system bundle: loaded by hout_trust_load before the loop,
    no handshake parses it (that costs this machine about 50 ms of a blocked loop)."""
    res, summary, _ = drive('--trust-system', '--count', 40, '--tick-ms', 5, srv.url('/ok'))
    assert {r['reason'] for r in res.values()} == {'hout_tls'}
    assert summary['late_max'] < 40, summary


def test_wrong_host_name_refused(start, pki):
    s = start(server_ctx(pki, 'wrongname'))
    r, err = one('--ca', pki.p('ca_a.crt'), s.url('/ok'))
    assert r['reason'] == 'hout_tls'
    assert not s.seen


def _tls11_possible(port, cafile):
    """Can this machine's OpenSSL speak TLS 1.1 at all (seclevel 0)?"""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cafile)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    ctx.set_ciphers('DEFAULT:@SECLEVEL=0')
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=3) as c:
            with ctx.wrap_socket(c, server_hostname='127.0.0.1') as t:
                return t.version() == 'TLSv1.1'
    except (ssl.SSLError, OSError):
        return False


def test_tls11_only_server_refused(start, pki):
    try:
        s = start(server_ctx(pki, 'good', tls11=True))
    except (ssl.SSLError, ValueError) as e:
        pytest.skip(f'the local OpenSSL cannot configure a TLS 1.1 server: {e}')
    if not _tls11_possible(s.port, pki.p('ca_a.crt')):
        pytest.skip('the local OpenSSL refuses TLS 1.1 even at security level 0')
    r, err = one('--ca', pki.p('ca_a.crt'), s.url('/ok'))
    assert r['reason'] == 'hout_tls'
    assert not s.seen


def test_redirect_refused_not_followed(srv, pki):
    before = len(srv.seen)
    r, _ = one('--ca', pki.p('ca_a.crt'), srv.url('/redirect'))
    assert (r['reason'], r['status']) == ('hout_redirect', 302)
    assert [s['path'] for s in srv.seen[before:]] == ['/redirect']


def test_plain_http_refused(start):
    plain = start(None)     # a real HTTP server: refusing must not mean "could not connect"
    r, _ = one(plain.url('/ok', scheme='http'))
    assert r['reason'] == 'hout_not_https'
    assert not plain.seen
    for url in ('ftp://127.0.0.1/x', 'not a url', f'HTTP://127.0.0.1:{plain.port}/ok'):
        r, _ = one(url)
        assert r['reason'] == 'hout_not_https', url
    assert not plain.seen


def test_userinfo_in_url_refused(srv, pki):
    """libcurl would send https://user:pass@host/ as Basic credentials; credentials belong in
    the request, and a URL is logged."""
    before = len(srv.seen)
    for userinfo in ('us3r:pa55w0rd@', 'us3r@', ':pa55w0rd@'):
        r, err = one('--ca', pki.p('ca_a.crt'), f'https://{userinfo}127.0.0.1:{srv.port}/ok')
        assert r['reason'] == 'hout_not_https', userinfo
        assert 'us3r' not in err and 'pa55w0rd' not in err
    assert len(srv.seen) == before


def test_answer_over_cap_refused(srv, pki):
    ca = pki.p('ca_a.crt')
    # Content-Length over the cap (CURLOPT_MAXFILESIZE_LARGE) ...
    r, _ = one('--ca', ca, '--max-bytes', 1000, srv.url('/big?n=1001'))
    assert r['reason'] == 'hout_too_big' and r['len'] == 0
    # ... and a chunked answer with no length, stopped by the write callback.
    r, _ = one('--ca', ca, '--max-bytes', 1000, srv.url('/chunked?n=50000'))
    assert r['reason'] == 'hout_too_big' and r['len'] == 0
    r, _ = one('--ca', ca, '--max-bytes', 1000, srv.url('/chunked?n=1000'))
    assert r['rv'] == 0 and r['len'] == 1000


def test_default_cap_is_one_mib(srv, pki):
    ca = pki.p('ca_a.crt')
    r, _ = one('--ca', ca, srv.url('/big?n=%d' % (1 << 20)))
    assert r['rv'] == 0 and r['len'] == 1 << 20
    r, _ = one('--ca', ca, srv.url('/chunked?n=%d' % ((1 << 20) + 1)))
    assert r['reason'] == 'hout_too_big'


def test_total_timeout_at_configured_time(srv, pki):
    r, _ = one('--ca', pki.p('ca_a.crt'), '--total-ms', 1200, srv.url('/stall'))
    assert r['reason'] == 'hout_timeout' and r['rv'] == -952
    assert 1200 <= r['ms'] <= 1200 + 400, r


def test_total_timeout_default_5s(srv, pki):
    r, _ = one('--ca', pki.p('ca_a.crt'), srv.url('/stall'))
    assert r['reason'] == 'hout_timeout'
    assert 5000 <= r['ms'] <= 5000 + 500, r


def test_connect_timeout_covers_a_silent_handshake(pki):
    """A server that accepts TCP and never answers the ClientHello: the connect timeout
    (which covers the TLS handshake) ends it, not the total one."""
    silent = Listener()
    try:
        r, _ = one('--ca', pki.p('ca_a.crt'), '--connect-ms', 700, '--total-ms', 4000,
                   f'https://127.0.0.1:{silent.port}/ok')
        assert r['reason'] == 'hout_timeout'
        assert 700 <= r['ms'] <= 700 + 400, r
        r, _ = one('--ca', pki.p('ca_a.crt'), f'https://127.0.0.1:{silent.port}/ok')
        assert r['reason'] == 'hout_timeout'
        assert 2000 <= r['ms'] <= 2000 + 400, r     # the default connect timeout
    finally:
        silent.close()


def test_closed_port(pki):
    port = env.free_port()
    r, err = one('--ca', pki.p('ca_a.crt'), f'https://127.0.0.1:{port}/ok')
    assert r['reason'] == 'hout_connect' and r['rv'] == -950
    assert r['ms'] < 1000


def test_proxy_from_environment_ignored(srv, pki):
    proxy = Listener()
    try:
        penv = {k: f'http://127.0.0.1:{proxy.port}' for k in
                ('https_proxy', 'HTTPS_PROXY', 'http_proxy', 'all_proxy', 'ALL_PROXY')}
        # Control: libcurl's own tool does take the variable (so the case means something).
        c = subprocess.run(['curl', '-s', '-m', '2', '--cacert', pki.p('ca_a.crt'),
                            srv.url('/ok')], capture_output=True,
                           env={**os.environ, **penv}) if os.access('/usr/bin/curl', os.X_OK) \
            else None
        if c is not None:
            assert env.wait_for(lambda: proxy.conns, 2), 'curl(1) ignored https_proxy?'
        n = len(proxy.conns)
        r, _ = one('--ca', pki.p('ca_a.crt'), srv.url('/ok?via=env'), env_extra=penv)
        assert r['rv'] == 0
        time.sleep(0.2)
        assert len(proxy.conns) == n
    finally:
        proxy.close()


def test_no_cookies_kept(srv, pki):
    before = len(srv.seen)
    res, summary, _ = drive('--ca', pki.p('ca_a.crt'), '--serial', '--count', 3,
                            srv.url('/setcookie'))
    assert summary['callbacks'] == 3 and all(r['rv'] == 0 for r in res.values())
    assert [s for s in srv.seen[before:] if 'cookie' in s['headers']] == []


def test_owner_gone_no_callback(srv, pki):
    res, summary, _ = drive('--ca', pki.p('ca_a.crt'), '--count', 5, '--drop-ms', 300,
                            srv.url('/slow?ms=1000'))
    assert summary['dropped'] == 5 and summary['callbacks'] == 0
    assert all(r.get('dropped') for r in res.values()) and len(res) == 5


def test_free_cancels_once(srv, pki):
    res, summary, _ = drive('--ca', pki.p('ca_a.crt'), '--count', 4, '--cancel-ms', 300,
                            srv.url('/slow?ms=2000'))
    assert summary['callbacks'] == 4
    assert {r['reason'] for r in res.values()} == {'hout_cancelled'}
    assert all(250 <= r['ms'] < 1500 for r in res.values()), res


def test_failures_called_back_from_the_loop(pki):
    """A request refused before it starts still gets its one callback, from the loop; a
    callback may start the next request (--serial)."""
    res, summary, _ = drive('--serial', '--count', 3, 'ftp://127.0.0.1/x')
    assert summary['callbacks'] == 3
    assert {r['reason'] for r in res.values()} == {'hout_not_https'}


@pytest.fixture(scope='module')
def niced(pki):
    s = NicedServer(pki, 'good')
    yield s
    s.close()


def idle_p99():
    """The timer alone on an idle loop: how late this machine makes it right now."""
    p = subprocess.run([DRIVER, '--idle-ms', '1000', '--tick-ms', '10'], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0 and not SANITIZER.search(p.stderr), p.stderr
    return json.loads(p.stdout.splitlines()[-1])['late_p99']


@pytest.mark.parametrize('trust', ['--ca', '--trust'])
def test_200_concurrent_slow_requests_never_block_the_loop(niced, pki, trust):
    """Every request completes (2 s, within the 5 s total), and the 10 ms timer on the same
    loop is at most 20 ms late at p99.  The machine is shared (2 cores, other sessions), so
    each run has an idle control run first and the best of up to three runs counts.  busy_p99
    bounds each lateness by the CPU the driver used meanwhile (what its own loop is to blame
    for) and must pass in every case; wall-clock p99 must pass unless even the idle control
    timer was over 10 ms late at p99 in every attempt (then the machine, not the loop, is
    measured, and the case is skipped with the numbers)."""
    runs = []
    for _ in range(3):
        control = idle_p99()
        res, summary, err = drive(trust, pki.p('ca_a.crt'), '--count', 200, '--tick-ms', 10,
                                  niced.url('/slow?ms=2000'), timeout=120)
        assert summary['callbacks'] == 200, summary
        bad = [r for r in res.values() if r['rv'] != 0]
        assert not bad, bad[:3]
        assert all(2000 <= r['ms'] < 5000 for r in res.values())
        assert summary['ticks'] >= 100
        summary['control_p99'] = control
        runs.append(summary)
        print(f"\n200 concurrent x 2 s ({trust}): ticks {summary['ticks']}, timer lateness "
              f"p50 {summary['late_p50']} ms, p99 {summary['late_p99']} ms, max "
              f"{summary['late_max']} ms, busy p99 {summary['busy_p99']} ms "
              f"(idle control p99 {control} ms)")
        if summary['late_p99'] <= 20:
            break
    best = min(runs, key=lambda x: x['late_p99'])
    assert best['busy_p99'] <= 20, runs
    if best['late_p99'] > 20 and min(r['control_p99'] for r in runs) > 10:
        pytest.skip(f'machine too loaded to judge wall-clock lateness: {runs}')
    assert best['late_p99'] <= 20, runs


if __name__ == '__main__' and sys.argv[1:2] == ['serve']:
    # NicedServer's process: serve until terminated, the port on the first line.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    server = TLSServer(ctx)
    print(server.port, flush=True)
    signal_event = threading.Event()
    import signal
    signal.signal(signal.SIGTERM, lambda *a: signal_event.set())
    signal_event.wait()
    server.close()
