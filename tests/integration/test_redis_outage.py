"""Redis goes away under a running broker and comes back on the same port."""
import time

from sbtest import env
from sbtest.flows import Env
from sbtest.procs import Redis


def test_redis_outage_and_recovery(factory, tmp_path):
    rd = Redis(tmp_path / 'redis-outage')
    try:
        b = factory.broker(tenants=[('acme', {})], redis=rd)
        e = Env(b, b.dir)
        tok = e.token_for('alice@acme.example')
        pid = b.pid
        assert b.get('/readyz').status_code == 200
        rd.stop()
        assert env.wait_for(lambda: b.get('/readyz').status_code == 503, 10), 'readyz stays 200 with Redis down'
        assert b.get('/healthz').status_code == 200, 'healthz is process liveness only'
        t = e.panel().token('x' * 43, 'y' * 43)
        assert t.status_code == 503, t.text
        assert t.headers.get('Content-Type', '').startswith('application/json') and t.json().get('error'), t.text
        i = e.panel().introspect(tok)
        assert i.status_code == 503 or i.json() == {'active': False}, 'fail closed'
        # a sign-in attempt fails closed as well: no redirect to the IdP with state that cannot be kept
        out = e.browser().authorize(challenge='c' * 43)
        assert out.kind == 'page' and out.resp.status_code == 503, (out.kind, out.url, out.resp.status_code)
        assert b.alive()
        rd.start()
        t0 = time.monotonic()
        # Redis came back empty (no persistence): the mapping, codes and replay cache are gone.
        # The broker serves again, but /readyz says the data was lost, on every worker.
        lost = lambda: all(b.get('/readyz').json().get('redis_reason') == 'store_data_lost' for _ in range(4))
        assert env.wait_for(lost, 10), b.get('/readyz').text
        assert b.pid == pid and b.alive(), 'the broker was restarted'
        assert b.get('/oauth2/authorize').status_code in (400, 302, 303)
        assert time.monotonic() - t0 < 10
        line = [l for l in b.log_text().splitlines() if 'Redis lost the data' in l]
        assert line, b.log_tail()
        # The line names what the operator runs once the loss is accepted (or data restored).
        marker = line[-1].split(' SET bk:v1:marker ')[1][:16]
        rd_marker = rd.cli(b.db, 'GET', 'bk:v1:marker')
        assert rd_marker in ('', marker), 'the broker wrote a new marker over the loss'
        rd.cli(b.db, 'SET', 'bk:v1:marker', marker)
        assert env.wait_for(lambda: all(b.get('/readyz').status_code == 200 for _ in range(4)), 10), \
            b.get('/readyz').text
    finally:
        rd.stop()
