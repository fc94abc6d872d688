"""Redis faults the broker must see and survive: a connect that is never accepted, a hung
server, a server still loading its data, a Sentinel failover with codes outstanding, and
sentinels that do not answer.  /readyz must tell the truth; /healthz and the loop stay fast."""
import socket
import threading
import time

import requests

from sbtest import env
from sbtest.browser import code_from, pkce
from sbtest.flows import Env
from sbtest.procs import Redis, Sentinel


def _ready(b):
    try:
        r = b.get('/readyz', timeout=5)
        return r.status_code, r.json()
    except (requests.RequestException, ValueError):
        return None, {}


def _ready_all(b, n=6):
    """n answers in a row are 200 (every worker is ready)."""
    return all(_ready(b)[0] == 200 for _ in range(n))


def _healthz_times(b, n=20):
    """Seconds each of n /healthz answers took."""
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        assert b.get('/healthz', timeout=10).status_code == 200
        out.append(time.monotonic() - t0)
    return out


def _loop_fast(times, slow=0.3):
    """No stall: at most one answer slower than `slow` (a loaded machine), none over 2 s.  A
    loop that waited on Redis or a sentinel would show one every time it asked."""
    return sum(t > slow for t in times) <= 1 and max(times) < 2.0


def _blackhole(port):
    """A listener on port whose accept queue is full: the kernel drops further SYNs."""
    hole = socket.socket()
    hole.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    hole.bind(('127.0.0.1', port))
    hole.listen(0)
    fill = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(('127.0.0.1', port))
        fill.append(c)
    return [hole] + fill


def test_connect_timeout_blackhole(factory, tmp_path):
    """Redis goes away and its port stops answering SYNs: without a connect timeout the
    broker would wait for the kernel's SYN retries.  Then a real Redis takes the port."""
    rd = Redis(tmp_path / 'redis-hole')
    socks = []
    try:
        b = factory.broker(tenants=[('acme', {})], redis=rd, redis_extra=[('timeout_ms', '300')])
        assert env.wait_for(lambda: _ready(b)[0] == 200, 10)
        rd.cli(0, 'SAVE')       # the restart below reads it back: the marker stays
        rd.stop()
        socks = _blackhole(rd.port)
        assert env.wait_for(lambda: 'connect not accepted within 300 ms' in b.log_text(), 8), b.log_tail()
        code, body = _ready(b)
        assert code == 503 and body.get('redis') is False, body
        t = _healthz_times(b)
        assert _loop_fast(t), f'the loop stalls while Redis does not accept: {t}'
        for c in socks:
            c.close()
        socks = []
        rd.start()
        t0 = time.monotonic()
        assert env.wait_for(lambda: _ready(b)[0] == 200, 10), (_ready(b), b.log_tail())
        # backoff is at most 2 s plus one connect timeout, never the kernel's SYN retries
        assert time.monotonic() - t0 < 8
    finally:
        for c in socks:
            c.close()
        rd.stop()


def test_redis_stopped_is_not_ready(factory, tmp_path):
    """SIGSTOP: connections stay open but nothing answers."""
    rd = Redis(tmp_path / 'redis-hung')
    try:
        b = factory.broker(tenants=[('acme', {})], redis=rd, redis_extra=[('timeout_ms', '500')])
        assert env.wait_for(lambda: _ready(b)[0] == 200, 10)
        rd.pause()
        t0 = time.monotonic()
        # every worker (answers alternate between them)
        assert env.wait_for(lambda: all(_ready(b)[0] == 503 for _ in range(6)), 10), \
            'readyz stays 200 with Redis hung'
        # each worker's probe runs every second and times out after 500 ms
        assert time.monotonic() - t0 < 6, time.monotonic() - t0
        assert _ready(b)[1].get('redis_reason') in ('store_timeout', 'store_unavailable'), _ready(b)
        t = _healthz_times(b)
        assert _loop_fast(t), f'/healthz waits for a hung Redis: {t}'
        rd.resume()
        assert env.wait_for(lambda: _ready(b)[0] == 200, 10), b.log_tail()
    finally:
        rd.stop()


def test_redis_loading_is_not_ready(factory, tmp_path):
    """A Redis restarted with a data set to read answers LOADING until it is done."""
    rd = Redis(tmp_path / 'redis-loading')
    try:
        b = factory.broker(tenants=[('acme', {})], redis=rd)
        assert env.wait_for(lambda: _ready(b)[0] == 200, 10)
        rd.cli(40, 'EVAL', "for i = 1, 20000 do redis.call('SET', 'fill:' .. i, 'x') end", '0')
        rd.cli(0, 'SAVE')
        rd.stop()
        # 20,000 keys at 150 microseconds each: about 3 s of loading, during which Redis
        # answers LOADING (it serves clients every 1 KB of its file)
        rd.start(wait=False, extra=['--key-load-delay', '150',
                                    '--loading-process-events-interval-bytes', '1024'])
        seen = []

        def loading():
            c, body = _ready(b)
            seen.append(body.get('redis_reason'))
            return body.get('redis_reason') == 'store_loading'
        assert env.wait_for(loading, 8), f'never reported loading: {seen[-5:]} {b.log_tail()}'
        assert 'loading its data' in b.log_text()
        assert env.wait_for(lambda: _ready(b)[0] == 200, 15), (_ready(b), b.log_tail())
    finally:
        rd.stop()


def test_demoted_server_takes_no_commands(factory, tmp_path):
    """Without Sentinel: the configured server turns into a replica (a manual role swap).
    ROLE, checked every second, stops the broker from using it; promoted again, it is used."""
    one = Redis(tmp_path / 'one')
    two = Redis(tmp_path / 'two', extra=['--replicaof', '127.0.0.1', str(one.port)])
    try:
        b = factory.broker(tenants=[('acme', {})], redis=one)
        assert env.wait_for(lambda: _ready_all(b), 10)
        assert env.wait_for(lambda: 'master_link_status:up' in two.cli(0, 'INFO', 'replication'), 10)
        assert one.cli(0, 'WAIT', '1', '2000') == '1'
        two.cli(0, 'REPLICAOF', 'NO', 'ONE')
        one.cli(0, 'REPLICAOF', '127.0.0.1', str(two.port))
        assert env.wait_for(lambda: all(_ready(b)[0] == 503 for _ in range(4)), 5), _ready(b)
        assert 'role is slave, not master' in b.log_text(), b.log_tail()
        one.cli(0, 'REPLICAOF', 'NO', 'ONE')
        assert env.wait_for(lambda: _ready_all(b), 10), (_ready(b), b.log_tail())
    finally:
        two.stop()
        one.stop()


def _issue_codes(e, br, n):
    """n codes from one browser session (the first sign-in gave consent)."""
    out = []
    for _ in range(n):
        v, c = pkce()
        o = br.authorize(challenge=c)
        code, _, _ = code_from(o, e.b.tenant('acme').redirect_uri)
        if code:
            out.append((code, v))
    return out


def _cmdstats(rd, names=('role', 'get', 'select', 'evalsha', 'eval', 'getdel', 'set')):
    """Calls of the commands only the broker sends, from INFO commandstats."""
    total = 0
    for line in rd.cli(0, 'INFO', 'commandstats').splitlines():
        if line.startswith('cmdstat_'):
            name = line.split(':')[0][len('cmdstat_'):]
            if name in names:
                total += int(line.split('calls=')[1].split(',')[0])
    return total


class _Writer(threading.Thread):
    """Keeps asking for codes (writes) while a failover runs."""

    def __init__(self, e, br):
        super().__init__(daemon=True)
        self.e, self.br, self.codes, self.stop = e, br, [], threading.Event()
        self.statuses = {}

    def run(self):
        while not self.stop.is_set():
            v, c = pkce()
            try:
                o = self.br.authorize(challenge=c)
            except requests.RequestException:
                continue
            code, _, _ = code_from(o, self.e.b.tenant('acme').redirect_uri)
            st = 302 if code else o.resp.status_code
            self.statuses[st] = self.statuses.get(st, 0) + 1
            if code:
                self.codes.append((code, v))
            time.sleep(0.01)


def test_sentinel_failover_no_code_twice(factory, tmp_path):
    primary = Redis(tmp_path / 'primary')
    replica = Redis(tmp_path / 'replica', extra=['--replicaof', '127.0.0.1', str(primary.port)])
    sents = []
    try:
        sents = [Sentinel(tmp_path / f'sentinel{i}', primary.port) for i in range(2)]
        assert env.wait_for(lambda: all(s.knows_replica(replica.port) for s in sents), 15), \
            'the sentinels did not find the replica'
        b = factory.broker(tenants=[('acme', {})], redis=primary, start=False,
                           redis_extra=[('sentinels', ', '.join(f'127.0.0.1:{s.port}' for s in sents)),
                                        ('master_name', 'sbmaster')])
        b.redis_url = f'redis://127.0.0.1:{env.free_port()}/{b.db}'
        b.start()
        assert env.wait_for(lambda: _ready(b)[0] == 200, 10), b.log_tail()
        e = Env(b, b.dir)
        first = e.signin('alice@acme.example')
        assert first['code'], first['out']
        codes = [(first['code'], first['verifier'])] + _issue_codes(e, first['browser'], 30)
        assert len(codes) == 31
        assert primary.cli(0, 'WAIT', '1', '2000') == '1', 'the replica did not acknowledge'
        w = _Writer(e, first['browser'])
        w.start()
        time.sleep(0.3)
        assert sents[0].cli(0, 'SENTINEL', 'FAILOVER', 'sbmaster') == 'OK'
        assert env.wait_for(lambda: sents[0].master_port_now() == replica.port, 15), 'no failover'
        assert env.wait_for(lambda: _ready_all(b), 10), (_ready(b), b.log_tail())
        # what only the broker sends to the old primary, from now on
        before = _cmdstats(primary)
        time.sleep(0.5)
        w.stop.set()
        w.join(10)
        assert w.codes, f'no code issued while the failover ran: {w.statuses}'
        codes += w.codes
        # Every code the broker handed out exists on the new master and works exactly once.
        ok = [c for c, v in codes if e.panel().token(c, v).status_code == 200]
        assert len(ok) == len(codes), f'{len(codes) - len(ok)} of {len(codes)} codes lost; {w.statuses}'
        assert _cmdstats(primary) == before, 'the broker still talks to the demoted primary'
        # What Sentinel does seconds later: the old primary follows the new one and resyncs.
        primary.cli(0, 'REPLICAOF', '127.0.0.1', str(replica.port))
        assert env.wait_for(lambda: 'master_link_status:up' in primary.cli(0, 'INFO', 'replication'), 15)
        assert env.wait_for(lambda: _ready(b)[0] == 200, 10)
        twice = [c for c, v in codes if e.panel().token(c, v).status_code == 200]
        assert twice == [], f'{len(twice)} codes redeemed twice'
        assert 'writes stop until the new master is known' in b.log_text(), b.log_tail()
    finally:
        for s in sents:
            s.stop()
        replica.stop()
        primary.stop()


def test_sentinel_not_answering_loop_stays_fast(factory, tmp_path):
    """A SIGSTOPped sentinel accepts connections (the kernel does) and never answers."""
    rd = Redis(tmp_path / 'primary')
    stuck, good = None, None
    try:
        stuck = Sentinel(tmp_path / 'stuck', rd.port)
        good = Sentinel(tmp_path / 'good', rd.port)
        stuck.pause()
        b = factory.broker(tenants=[('acme', {})], redis=rd, start=False, workers=1,
                           redis_extra=[('sentinels', f'127.0.0.1:{stuck.port}, 127.0.0.1:{good.port}'),
                                        ('master_name', 'sbmaster')])
        b.redis_url = f'redis://127.0.0.1:{env.free_port()}/{b.db}'
        b.start()
        assert env.wait_for(lambda: _ready(b)[0] == 200, 10), b.log_tail()
        # the one worker asks the sentinels every second, and again at every reconnect (forced
        # here); each question to the stuck one waits 500 ms: none of it may show in /healthz
        times = []
        for _ in range(4):
            rd.cli(0, 'CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes')
            times += _healthz_times(b, 10)
            time.sleep(0.3)
        assert _loop_fast(times), f'/healthz stalls behind a stuck sentinel: {sorted(times)[-3:]}'
        assert env.wait_for(lambda: _ready(b)[0] == 200, 10), b.log_tail()
        # the good one stops too: the master we have stays in use
        good.pause()
        time.sleep(1.5)
        assert _ready(b)[0] == 200
        assert _loop_fast(_healthz_times(b))
        assert 'did not answer within 500 ms' in b.log_text()
    finally:
        for s in (stuck, good):
            if s:
                s.stop()
        rd.stop()
