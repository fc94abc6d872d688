"""Cutting records off the end of the audit while the broker is down is noticed at the next start
(issue 9 item 2): the first worker compares the file's head with the chain's head anchored in
Redis (only ever raised) and, when Redis is ahead, logs it with the reason code, writes an
audit_truncated record naming how many records are missing, and `ssoctl audit verify` names the
cut.  An intact file starts without a word."""
import json
import time

from sbtest import env
from sbtest.flows import Env, ssoctl


def _lines(path):
    with open(path) as f:
        return [l for l in f if l.strip()]


def test_cut_tail_is_noticed_at_start(factory):
    b = factory.broker(tenants=[('acme', {'consent': 'never'})])
    e = Env(b, b.dir)
    for u in ('alice@acme.example', 'bob@acme.example'):
        assert e.signin(u)['code']
    head = lambda: b.redis.cli(b.db, 'HGETALL', 'bk:v1:{_broker}:audit:heads')
    assert env.wait_for(lambda: head().strip(), 5), 'no head anchored in Redis'
    b.stop()
    # An intact file: a restart says nothing.
    b.start()
    assert env.wait_for(lambda: b.get('/readyz').status_code == 200, 15)
    time.sleep(1.5)
    assert 'anchored in Redis' not in b.log_text()
    b.stop()
    lines = _lines(b.audit_path)
    with open(b.audit_path, 'w') as f:
        f.writelines(lines[:-3])
    b.start()
    assert env.wait_for(lambda: 'anchored in Redis' in b.log_text(), 15), b.log_tail()
    assert '3 records cut off the end' in b.log_text()
    recs = [json.loads(l) for l in _lines(b.audit_path)]
    cut = [r for r in recs if r.get('event') == 'audit_truncated']
    assert cut and cut[-1]['reason'] == 'audit_chain_broken', recs[-2:]
    r = ssoctl(b, 'audit', 'verify')
    assert r.returncode != 0, r.stdout + r.stderr
