"""Strict HTTP before any handler (issue 6, items 3 and 8): raw byte streams over sockets.

Each malformed head is answered with its status and reason code, the connection is closed and
nothing after it (a smuggled second request) is answered; slow clients are cut by the deadlines
with 408; many slow connections at a low fd limit neither stop the broker nor spin it nor flood
its log; SIGTERM finishes an upload in progress and refuses new connections."""
import json
import os
import resource
import signal
import socket
import subprocess
import threading
import time

import pytest

from sbtest import env, procs

SMUGGLED = b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'


def port_of(b, admin=False):
    return b.admin_port if admin else b.port


def exchange(port, data, timeout=10):
    """Send data, read until the server closes (or timeout): (bytes, closed)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    try:
        s.sendall(data)
        out = b''
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return out, False
            except ConnectionResetError:
                return out, 'reset'
            if not chunk:
                return out, True
            out += chunk
    finally:
        s.close()


def responses(raw):
    return raw.count(b'HTTP/1.1 ')


def status_of(raw):
    return int(raw.split(b' ', 2)[1]) if raw.startswith(b'HTTP/1.1 ') else None


def body_json(raw):
    return json.loads(raw.split(b'\r\n\r\n', 1)[1].split(b'HTTP/1.1 ')[0])


BAD = [
    ('two different Content-Length', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n'
     b'Content-Length: 40\r\n\r\nabcd', 400, 'http_content_length'),
    ('two equal Content-Length', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n'
     b'Content-Length: 4\r\n\r\nabcd', 400, 'http_content_length'),
    ('space before the colon', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length : 4\r\n\r\nabcd',
     400, 'http_header_syntax'),
    ('space in a name', b'GET /healthz HTTP/1.1\r\nHost: x\r\nX Y: 1\r\n\r\n', 400, 'http_header_syntax'),
    ('signed Content-Length', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd',
     400, 'http_content_length'),
    ('Content-Length list', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd',
     400, 'http_content_length'),
    ('Content-Length and Transfer-Encoding', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
     b'Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'http_framing'),
    ('unknown transfer coding', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n',
     400, 'http_framing'),
    ('tab before chunked', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tchunked\r\n\r\n'
     b'0\r\n\r\n', 400, 'http_framing'),
    ('body on HEAD', b'HEAD /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcd', 400, 'http_framing'),
    ('obs-fold', b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n', 400, 'http_obs_fold'),
    ('no Host', b'GET /healthz HTTP/1.1\r\n\r\n', 400, 'http_host'),
    ('two Host', b'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400, 'http_host'),
    ('bare LF', b'GET /healthz HTTP/1.1\nHost: x\n\n', 400, 'http_request_line'),
    ('bare CR in a value', b'GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n', 400, 'http_header_syntax'),
    ('NUL in a value', b'GET /healthz HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n', 400, 'http_header_syntax'),
    ('bad request line', b'GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'http_request_line'),
    ('HTTP/2.0', b'GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n', 505, 'http_version'),
    ('unknown method', b'BREW /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 501, 'http_method_unknown'),
    ('chunk extension', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
     b'4;x=1\r\nabcd\r\n0\r\n\r\n', 400, 'http_chunk'),
    ('0x chunk size', b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
     b'0x4\r\nabcd\r\n0\r\n\r\n', 400, 'http_chunk'),
    ('oversized head', b'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 20000 + b'\r\n\r\n',
     431, 'http_headers_too_big'),
]


@pytest.mark.parametrize('admin', [False, True], ids=['public', 'admin'])
def test_malformed_heads(broker, admin):
    """Every shape: its status and code, closed, the smuggled request never answered."""
    port = port_of(broker, admin)
    problems = []
    for name, data, status, code in BAD:
        raw, closed = exchange(port, data + SMUGGLED)
        if status_of(raw) != status or responses(raw) != 1 or closed is not True:
            problems.append(f'{name}: {raw[:80]!r} ({responses(raw)} responses, closed={closed})')
            continue
        got = body_json(raw)
        if got.get('error') != code or not got.get('request_id'):
            problems.append(f'{name}: {got}')
        if b'connection: close' not in raw.lower():
            problems.append(f'{name}: no Connection: close')
    assert not problems, '\n'.join(problems)
    # A valid request on a new connection still works.
    raw, _ = exchange(port, b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    assert status_of(raw) in (200, 404, 401), raw[:200]
    # A refusal is logged, with its code, as its connection closes (which may be just after the
    # client saw the close: wait, do not race it).  Refusal lines are capped at 10 a second per
    # worker (the rest are counted as "similar lines suppressed"), so which of these shapes got
    # their own line depends on timing: ask for two of them, not for two given ones.
    codes = {code for _, _, _, code in BAD}
    logged = env.wait_for(lambda: sum(c in broker.log_text() for c in codes) >= 2, timeout=5)
    assert logged, 'refusals are logged with their code'


def test_pipelined_valid_then_malformed(broker):
    """The valid request is answered first, then the refusal, in order; nothing after it."""
    raw, closed = exchange(broker.port, SMUGGLED + b'GET /healthz HTTP/1.1\r\nHost: x\r\nX\t: 1\r\n\r\n' + SMUGGLED)
    assert responses(raw) == 2 and closed is True, raw
    first, second = raw.split(b'HTTP/1.1 ')[1:3]
    assert first.startswith(b'200') and second.startswith(b'400'), raw


def test_valid_framings_pass(broker):
    """Keep-alive, pipelined Content-Length and chunked bodies reach the handlers unchanged."""
    form = b'grant_type=authorization_code&code=x'
    chunked = b'%x\r\n%s\r\n0\r\n\r\n' % (len(form), form)
    data = (b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n'
            b'Content-Length: %d\r\n\r\n%s' % (len(form), form) +
            b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n'
            b'Transfer-Encoding: chunked\r\n\r\n' + chunked +
            b'\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    raw, closed = exchange(broker.port, data)
    assert responses(raw) == 3 and closed is True, raw
    codes = [int(p[:3]) for p in raw.split(b'HTTP/1.1 ')[1:]]
    assert codes[0] == codes[1] and codes[0] in (400, 401) and codes[2] == 200, codes


def dribble(port, head, body_len, step, interval, out, key):
    """Send head, then body_len bytes of step bytes every interval s; record status and time."""
    t0 = time.monotonic()
    s = socket.create_connection(('127.0.0.1', port), timeout=60)
    raw = b''
    try:
        s.sendall(head)
        sent = 0
        s.settimeout(interval)
        while sent < body_len and time.monotonic() - t0 < 50:
            try:
                chunk = s.recv(65536)
                if not chunk:
                    break
                raw += chunk
                break
            except socket.timeout:
                pass
            try:
                s.sendall(b'a' * step)
            except OSError:
                break
            sent += step
        s.settimeout(10)
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                raw += chunk
        except OSError:
            pass
    finally:
        s.close()
    out[key] = (raw, time.monotonic() - t0)


def test_deadlines_cut_dribbling_clients(broker):
    """A head dribbled past 10 s and a body dribbled at 1 byte per 100 ms past 30 s: 408 and
    closed (both run at once, so this test takes about 30 s)."""
    out = {}
    head = b'GET /healthz HTTP/1.1\r\nHost: x\r\n'
    body = (b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n'
            b'Content-Length: 900000\r\n\r\n')
    th = [threading.Thread(target=dribble, args=(broker.port, head, 10 ** 6, 1, 1.0, out, 'head')),
          threading.Thread(target=dribble, args=(broker.port, body, 900000, 1, 0.1, out, 'body'))]
    for t in th:
        t.start()
    for t in th:
        t.join(70)
    raw, secs = out['head']
    assert status_of(raw) == 408 and body_json(raw)['error'] == 'http_timeout', raw[:200]
    assert 9 <= secs < 20, secs
    raw, secs = out['body']
    assert status_of(raw) == 408 and body_json(raw)['error'] == 'http_timeout', raw[:200]
    assert 29 <= secs < 45, secs
    assert broker.healthy()


def start_limited(factory, nofile, **kw):
    """A broker whose soft and hard RLIMIT_NOFILE are nofile (so it cannot raise them)."""
    b = factory.broker(start=False, **kw)
    orig = subprocess.Popen

    def popen(*a, **k):
        k['preexec_fn'] = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        return orig(*a, **k)
    procs.subprocess.Popen = popen
    try:
        b.start()
    finally:
        procs.subprocess.Popen = orig
    return b


def proc_cpu(pid):
    """User + system CPU seconds of pid and its children (the workers)."""
    tot = 0.0
    tick = os.sysconf('SC_CLK_TCK')
    for p in [pid] + children(pid):
        try:
            with open(f'/proc/{p}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
            tot += (int(fields[11]) + int(fields[12])) / tick
        except (FileNotFoundError, IndexError):
            pass
    return tot


def children(pid):
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            return [int(x) for x in f.read().split()]
    except FileNotFoundError:
        return []


def rss_kb(pid):
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def test_slow_connections_at_low_fd_limit(factory):
    """More slow connections than the cap at RLIMIT_NOFILE 256: no spin, a small log, the admin
    listener still answers meanwhile, and the public one again once they are gone."""
    b = start_limited(factory, 256, workers=1)
    log0 = os.path.getsize(b.log_path)
    socks = []
    for _ in range(400):
        try:
            s = socket.create_connection(('127.0.0.1', b.port), timeout=2)
            s.sendall(b'GET /healthz HTTP/1.1\r\n')
            socks.append(s)
        except OSError:
            break
    assert len(socks) >= 300
    time.sleep(1)
    cpu0 = proc_cpu(b.pid)
    time.sleep(3)
    assert proc_cpu(b.pid) - cpu0 < 1.0, 'the broker spins while at its connection cap'
    raw, _ = exchange(b.admin_port, b'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', timeout=5)
    assert status_of(raw) is not None, 'the admin listener answers while the public one is full'
    for s in socks:
        s.close()
    assert env.wait_for(b.healthy, 15), b.log_tail()
    assert os.path.getsize(b.log_path) - log0 < 64 * 1024, 'log grew: ' + b.log_tail(5)


def asan_build():
    exe = env.broker_bin()
    try:
        return b'__asan_init' in open(exe, 'rb').read()
    except (OSError, TypeError):
        return False


def test_rss_after_abandoned_bodies(factory):
    """40 bodies of 900 KB left at 800 KB: the worker's memory comes back (glibc malloc_trim)."""
    if asan_build():
        pytest.skip('ASan has its own allocator and quarantine; RSS says nothing there')
    b = factory.broker(workers=1)
    worker = b.worker_pids()[0]     # not the key holder
    exchange(b.port, b'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    rss0 = rss_kb(worker)
    head = (b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n'
            b'Content-Length: 900000\r\n\r\n')
    socks = []
    for _ in range(40):
        s = socket.create_connection(('127.0.0.1', b.port), timeout=5)
        s.sendall(head + b'a' * 800000)
        socks.append(s)
    time.sleep(1)
    peak = rss_kb(worker)
    for s in socks:
        s.close()
    assert env.wait_for(lambda: rss_kb(worker) < rss0 + 8 * 1024, 5), (rss0, peak, rss_kb(worker))


def test_sigterm_finishes_upload_and_refuses_new(factory):
    """SIGTERM mid-upload: the upload gets a real answer; a new connection is refused."""
    b = factory.broker(workers=1)
    form = b'grant_type=authorization_code&code=' + b'a' * 60000
    head = (b'POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n'
            b'Content-Length: %d\r\n\r\n' % len(form))
    s = socket.create_connection(('127.0.0.1', b.port), timeout=10)
    s.sendall(head + form[:1000])
    time.sleep(0.3)
    b.signal(signal.SIGTERM)
    time.sleep(0.5)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.1', b.port), timeout=2).close()
    for i in range(1000, len(form), 10000):
        s.sendall(form[i:i + 10000])
        time.sleep(0.2)
    raw = b''
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        raw += chunk
    s.close()
    assert status_of(raw) in (400, 401, 413), raw[:200]   # the handler's answer, not a reset
    assert b.proc.wait(15) == 0


def test_worker_waits_for_its_store_then_accepts_anyway(factory):
    """Redis unreachable: a new worker holds its listeners for at most 2.5 s, then accepts so
    /healthz answers and store-backed requests get a clean 503 (issue 6, item 6)."""
    t0 = time.monotonic()
    b = factory.broker(workers=1, redis_url=f'redis://127.0.0.1:{env.free_port()}/1')
    assert time.monotonic() - t0 >= 2.0, 'accepted before its store was up or the wait was over'
    assert 'accepting anyway' in b.log_text()
    assert b.get('/readyz').status_code == 503
