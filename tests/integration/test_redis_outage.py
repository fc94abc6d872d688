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
        assert env.wait_for(lambda: b.get('/readyz').status_code == 200, 10), 'readyz not back within 10 s'
        assert b.pid == pid and b.alive(), 'the broker was restarted'
        # Redis came back empty (no persistence): the mapping is gone, but the broker serves again
        assert b.get('/oauth2/authorize').status_code in (400, 302, 303)
        assert time.monotonic() - t0 < 10
    finally:
        rd.stop()
