"""Audit query across the fleet (issue 9 items 7 and 9): two brokers on one Redis, every filter,
a date alone, unknown filters refused, newest first and paging, retention, the files (rotated
ones too), export, the syslog copy, and the audit_read record of every read."""
import datetime
import json
import os
import re
import socket
import time

import pytest

from sbtest import env
from sbtest.admin import run
from sbtest.flows import Env, admin, import_users


def with_audit(b, **kv):
    """More [audit] keys in b's broker.conf (before b.start())."""
    b.audit_extra = [(k, v) for k, v in b.audit_extra if k not in kv]
    orig = b.conf_text

    def text():
        extra = ''.join(f'{k} = {v}\n' for k, v in kv.items())
        return orig().replace('[audit]\n', '[audit]\n' + extra, 1)
    b.conf_text = text


def q(b, **params):
    r = admin(b, 'GET', '/api/v1/audit', params=params)
    assert r.status_code == 200, r.text
    return r.json()


def stream_has(b, pred, timeout=3.0):
    """Redis gets the records without the sign-in waiting: poll the query briefly."""
    return env.wait_for(lambda: [x for x in q(b, limit=1000)['records'] if pred(x)], timeout) or []


@pytest.fixture(scope='module')
def pair(module_factory):
    """Two brokers, one Redis database: their streams meet."""
    t = [('acme', {'consent': 'never'})]
    e1 = module_factory.env(tenants=t)
    e2 = module_factory.env(tenants=t, redis_url=e1.b.redis_url, users=False)
    ok1 = e1.signin('alice@acme.example')
    assert ok1['code'], ok1
    e1.panel().token(ok1['code'], ok1['verifier'])
    ok2 = e2.signin('bob@acme.example')
    assert ok2['code'], ok2
    br = e2.browser()
    login = br.start_login()
    from sbtest.idp import b64
    br.post_acs('acme', b64(e2.idp['acme'].good('nobody@acme.example', login.rid)), login.relay)
    assert stream_has(e1.b, lambda x: x.get('user') == 'nobody@acme.example')
    return e1, e2


def chains_of(recs):
    return {x['chain'] for x in recs if 'chain' in x}


def test_one_query_finds_both_brokers(pair):
    e1, e2 = pair
    for b in (e1.b, e2.b):
        recs = q(b, limit=1000)['records']
        users = {x.get('user') for x in recs}
        assert {'alice@acme.example', 'bob@acme.example', 'nobody@acme.example'} <= users, users
        mine = chains_of(e1.b.audit()) | chains_of(e2.b.audit())
        assert chains_of(recs) == mine and len(mine) == 2, (chains_of(recs), mine)
    # ssoctl too (the default source is the streams)
    r = run(e2.b, 'audit', 'query', '--user', 'alice@acme.example', '--limit', '5', json_out=True)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)['records']
    assert got and all(x['user'] == 'alice@acme.example' for x in got)


def test_each_filter(pair):
    e1, _ = pair
    recs = q(e1.b, limit=1000)['records']
    acc = [x for x in recs if x.get('event') == 'assertion' and x.get('outcome') == 'accepted']
    assert acc, recs[:3]
    one = acc[0]
    cases = {
        'tenant': 'acme', 'user': 'ALICE@acme.example', 'event': 'assertion', 'outcome': 'rejected',
        'reason': 'user_unmapped', 'request_id': one['request_id'], 'assertion_id': one['assertion_id'],
        'client': one['client_addr'],
    }
    field = {'client': 'client_addr'}
    for k, v in cases.items():
        got = q(e1.b, **{k: v, 'limit': 1000})['records']
        assert got, (k, v)
        f = field.get(k, k)
        assert all(str(x.get(f, '')).lower() == v.lower() for x in got), (k, v, got[:2])
    # the request id of one sign-in names all its records, on every broker
    got = q(e1.b, request_id=one['request_id'])['records']
    assert one['assertion_id'] in {x.get('assertion_id') for x in got}
    # the filters combine
    got = q(e1.b, user='alice@acme.example', event='assertion', outcome='accepted')['records']
    assert got and all(x['event'] == 'assertion' and x['outcome'] == 'accepted' for x in got)
    assert q(e1.b, user='alice@acme.example', outcome='rejected', event='assertion')['records'] == []


def test_time_range_and_a_date_alone(pair):
    e1, _ = pair
    today = datetime.datetime.now(datetime.timezone.utc).date()
    yesterday = today - datetime.timedelta(days=1)
    def keys(recs):
        return {(x['chain'], x['seq']) for x in recs}
    every = keys(q(e1.b, limit=1000)['records'])     # each query adds its own audit_read record
    assert every <= keys(q(e1.b, since=today.isoformat(), limit=1000)['records'])
    assert every <= keys(q(e1.b, until=today.isoformat(), limit=1000)['records'])   # the whole day
    assert q(e1.b, until=yesterday.isoformat())['records'] == []
    assert q(e1.b, since=(today + datetime.timedelta(days=1)).isoformat())['records'] == []
    t = q(e1.b, limit=1)['records'][0]['time']
    assert q(e1.b, since=t, limit=1000)['records']
    stamp = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)
    later = stamp.strftime('%Y-%m-%dT%H:%M:%S+00:00')
    assert q(e1.b, since=later)['records'] == []
    r = run(e1.b, 'audit', 'query', '--since', today.isoformat(), '--until', today.isoformat(), json_out=True)
    assert r.returncode == 0 and json.loads(r.stdout)['records'], r.stderr


@pytest.mark.parametrize('params,word', [
    ({'usr': 'alice'}, "unknown filter 'usr'"),
    ({'since': 'yesterday-ish'}, 'since'),
    ({'until': '2026-02-30'}, 'until'),
    ({'outcome': 'maybe'}, 'outcome'),
    ({'limit': '0'}, 'limit'),
    ({'limit': '100000'}, 'limit'),
    ({'source': 'tape'}, 'source'),
    ({'cursor': 'nonsense'}, 'cursor'),
    ({'since': '2026-12-02', 'until': '2026-12-01'}, 'since is after until'),
    ({'user': ''}, 'user'),
    ({'tenant': 'acme}x'}, 'tenant'),
    ({'tenant': 'ACME'}, 'tenant'),
])
def test_unknown_or_malformed_filter_is_400(pair, params, word):
    e1, _ = pair
    r = admin(e1.b, 'GET', '/api/v1/audit', params=params)
    assert r.status_code == 400, r.text
    assert r.json()['error'] == 'audit_filter' and word in r.json()['message'], r.text
    if params.get('limit') != '100000':     # an export may ask for that many
        r = admin(e1.b, 'GET', '/api/v1/audit/export', params=params)
        assert r.status_code == 400, r.text


def test_twice_is_400(pair):
    e1, _ = pair
    r = admin(e1.b, 'GET', '/api/v1/audit?user=a&user=b')
    assert r.status_code == 400 and r.json()['error'] in ('http_dup_param', 'audit_filter'), r.text


def test_ssoctl_unknown_filter_fails_with_one_line(pair):
    e1, _ = pair
    for args in (['--usr', 'alice'], ['--since', 'yesterday-ish'], ['--outcome', 'maybe'],
                 ['--source', 'tape']):
        r = run(e1.b, 'audit', 'query', *args)
        assert r.returncode != 0, (args, r.stdout)
        lines = [l for l in r.stderr.splitlines() if l.strip()]
        assert len(lines) == 1, (args, r.stderr)
    r = run(e1.b, 'audit', 'query', '--since', 'yesterday-ish')
    assert 'since' in r.stderr, r.stderr


def test_newest_first_and_paging(pair):
    e1, _ = pair
    every = q(e1.b, limit=1000)
    assert every['next'] is None
    ids = [(x['chain'], x['seq']) for x in every['records']]
    times = [x['time'] for x in every['records']]
    assert times == sorted(times, reverse=True), times[:5]
    got, cur = [], None
    while True:
        p = q(e1.b, limit=3, **({'cursor': cur} if cur else {}))
        assert len(p['records']) <= 3
        got += [(x['chain'], x['seq']) for x in p['records']]
        cur = p['next']
        if cur is None:
            break
        assert p['truncated'] is True
    # audit_read records of these very pages come after the first page: compare the old part
    assert got[:len(ids)] == ids or set(ids) <= set(got), (got[:6], ids[:6])
    assert len(got) == len(set(got)), 'a record on two pages'
    human = run(e1.b, 'audit', 'query', '--limit', '2')
    assert human.returncode == 0 and '--cursor ' in human.stdout, human.stdout
    m = re.search(r'--cursor (\S+)\)', human.stdout)
    nxt = run(e1.b, 'audit', 'query', '--limit', '2', '--cursor', m.group(1))
    assert nxt.returncode == 0 and 'TIME' in nxt.stdout, nxt.stdout + nxt.stderr


def test_table_shows_detail_and_certificate(pair):
    e1, _ = pair
    r = run(e1.b, 'audit', 'query', '--event', 'assertion')
    assert r.returncode == 0, r.stderr
    head = r.stdout.splitlines()[0]
    assert 'DETAIL' in head and 'CERT/KEY' in head and 'REASON' in head, head


def test_export_is_json_lines_oldest_first_from_both(pair):
    e1, e2 = pair
    r = run(e1.b, 'audit', 'export', '--event', 'assertion')
    assert r.returncode == 0, r.stderr
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert len(chains_of(recs)) == 2 and all(x['event'] == 'assertion' for x in recs)
    times = [x['time'] for x in recs]
    assert times == sorted(times)
    lim = admin(e2.b, 'GET', '/api/v1/audit/export', params={'limit': 2})
    assert lim.status_code == 200 and len(lim.text.strip().splitlines()) == 2


def test_every_read_is_recorded(pair):
    e1, _ = pair
    q(e1.b, user='alice@acme.example', limit=7)
    assert admin(e1.b, 'GET', '/api/v1/audit', params={'usr': 'x'}).status_code == 400
    admin(e1.b, 'GET', '/api/v1/audit/verify')
    reads = [x for x in e1.b.audit() if x.get('event') == 'audit_read']
    details = [x.get('detail', '') for x in reads]
    assert any(d.startswith('query source=stream user=alice@acme.example limit=7 count=') for d in details), \
        details[-5:]
    assert any(x.get('outcome') == 'rejected' and 'usr' in x.get('detail', '') for x in reads), details[-5:]
    assert any(d.startswith('verify') for d in details), details[-5:]
    assert all(x.get('credential') == 'operator' for x in reads), reads[-1]
    assert all('tenant' not in x for x in reads)     # broker-wide: they go to the _broker stream
    assert stream_has(e1.b, lambda x: x.get('event') == 'audit_read')
    # no token: no read, and nothing is said
    r = admin(e1.b, 'GET', '/api/v1/audit', token=False)
    assert r.status_code == 401 and 'records' not in r.text


def test_chain_head_anchored_in_redis(pair):
    e1, _ = pair
    last = e1.b.audit()[-1]
    key = 'bk:v1:{_broker}:audit:heads'

    def head():
        v = e1.b.redis.cli(e1.b.db, 'HGET', key, last['chain']).strip()
        return v if v.startswith(f"{last['seq']} ") else None
    v = env.wait_for(head, 3)
    assert v and v.split()[1] == last['hash'], (v, last['seq'])


def test_files_source_reads_rotated_files(factory):
    b = factory.broker(tenants=[('acme', {'consent': 'never'})])
    e = Env(b, b.dir)
    assert e.signin('alice@acme.example')['code']
    os.rename(b.audit_path, b.audit_path + '.1')
    b.reload()
    assert env.wait_for(lambda: os.path.exists(b.audit_path), 5)
    assert e.signin('bob@acme.example')['code']
    got = q(b, source='file', event='assertion', limit=1000)
    users = [x.get('user') for x in got['records']]
    assert 'alice@acme.example' in users and 'bob@acme.example' in users, users
    assert users.index('bob@acme.example') < users.index('alice@acme.example')    # newest first
    # paging through the files
    p1 = q(b, source='file', limit=2)
    assert len(p1['records']) == 2 and p1['next']
    p2 = q(b, source='file', limit=2, cursor=p1['next'])
    seen1 = {(x['chain'], x['seq']) for x in p1['records']}
    assert p2['records'] and not seen1 & {(x['chain'], x['seq']) for x in p2['records']}
    assert p2['records'][0]['seq'] < p1['records'][-1]['seq']
    # a cursor of no record
    r = admin(b, 'GET', '/api/v1/audit', params={'source': 'file', 'cursor': 'ab' * 16 + '.999999'})
    assert 'audit_cursor' in r.text, r.text
    # compressed siblings are skipped, not read as records
    with open(b.audit_path + '.2.gz', 'wb') as f:
        f.write(b'\x1f\x8b junk')
    assert q(b, source='file', limit=5)['records']
    r = run(b, 'audit', 'export', '--source', 'file', '--event', 'assertion')
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    assert [x['user'] for x in recs if x['outcome'] == 'accepted'][:2] == ['alice@acme.example', 'bob@acme.example']


def test_retention_trims_the_stream(factory):
    b = factory.broker(tenants=[('acme', {'consent': 'never'})], start=False)
    with_audit(b, stream_retention=1)
    key = 'bk:v1:{acme}:audit'
    old = int(time.time() * 1000) - 3 * 86400 * 1000
    # 250 records three days old, as an earlier broker would have left them
    for i in range(250):
        b.redis.cli(b.db, 'XADD', key, f'{old + i}-0', 'rec',
                    json.dumps({'event': 'assertion', 'tenant': 'acme', 'user': 'old@acme.example',
                                'time': '2026-01-01T00:00:00Z', 'outcome': 'accepted'}))
    assert int(b.redis.cli(b.db, 'XLEN', key)) == 250
    b.start()
    e = Env(b, b.dir)
    assert e.signin('alice@acme.example')['code']
    # an append trims whole stream nodes (100 entries each) older than a day
    assert env.wait_for(lambda: int(b.redis.cli(b.db, 'XLEN', key)) < 150, 5), b.redis.cli(b.db, 'XLEN', key)
    # and what is left of them is never answered
    assert q(b, user='old@acme.example', limit=1000)['records'] == []
    assert all(x.get('user') != 'old@acme.example' for x in q(b, event='assertion', limit=1000)['records'])
    ttl = int(b.redis.cli(b.db, 'TTL', [k for k in b.keys() if ':audit:u:' in k][0]))
    assert 0 < ttl <= 2 * 86400


def test_syslog_copy_carries_the_chain_head(factory):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    s.settimeout(5)
    b = factory.broker(tenants=[('acme', {'consent': 'never'})], start=False)
    with_audit(b, syslog=f'udp://127.0.0.1:{s.getsockname()[1]}')
    b.start()
    # a small mapping: every imported profile is a record, and each one a datagram before ours
    e = Env(b, b.dir, users=False)
    import_users(b, 'acme', '8x8 Internal ID,Extension,Salesforce ID\n1001,0101,alice@acme.example\n', b.dir)
    assert e.signin('alice@acme.example')['code']
    msgs = []
    try:
        while True:
            msgs.append(s.recv(70000).decode())
            if any(' assertion - ' in m for m in msgs):
                break
    except socket.timeout:
        pass
    port = s.getsockname()[1]
    s.close()
    m = [x for x in msgs if ' assertion - ' in x]
    assert m, msgs[:3]
    hdr = re.match(r'^<(\d+)>1 (\S+) (\S+) sso-broker (\d+) assertion - (\{.*\})$', m[0])
    assert hdr, m[0][:200]
    assert int(hdr.group(1)) == 10 * 8 + 6       # authpriv.info: accepted
    rec = json.loads(hdr.group(5))
    file_rec = [x for x in b.audit() if x.get('seq') == rec['seq'] and x.get('chain') == rec['chain']]
    assert file_rec and file_rec[0]['hash'] == rec['hash'], rec
    metrics = admin(b, 'GET', '/metrics').text
    assert re.search(r'^ssobroker_audit_syslog_sent_total [1-9]', metrics, re.M), metrics[-500:]
    # the parent's records (a reload) have their copy too
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', port))
    s.settimeout(5)
    b.reload()
    got = []
    try:
        while not any(' config_reload - ' in m for m in got):
            got.append(s.recv(70000).decode())
    except socket.timeout:
        pass
    s.close()
    assert any(re.match(r'^<86>1 .* sso-broker \d+ config_reload - \{', m) for m in got), got[:3]


def test_syslog_down_never_blocks_a_signin(factory, tmp_path):
    b = factory.broker(tenants=[('acme', {'consent': 'never'})], start=False)
    with_audit(b, syslog='unix:' + str(tmp_path / 'no-such-socket'))
    b.start()
    e = Env(b, b.dir)
    t0 = time.time()
    assert e.signin('alice@acme.example')['code']
    assert time.time() - t0 < 5
    metrics = admin(b, 'GET', '/metrics').text
    assert re.search(r'^ssobroker_audit_syslog_dropped_total [1-9]', metrics, re.M), metrics[-500:]


def test_syslog_config_is_checked(factory):
    for bad in ('udp://10.0.0.1:514', 'tcp://127.0.0.1:514', 'unix:relative', 'udp://localhost:514'):
        b = factory.broker(start=False)
        with_audit(b, syslog=bad)
        b.write()
        import subprocess
        r = subprocess.run([env.broker_bin(), '-c', b.conf_path, '--check-config'], capture_output=True, text=True)
        assert r.returncode != 0 and 'syslog' in (r.stdout + r.stderr), (bad, r.stdout, r.stderr)


def test_redis_down_stream_503_files_still_answer(factory):
    """The streams need Redis; the files do not (the file is the record of authority)."""
    b = factory.broker(tenants=[('acme', {'consent': 'never'})],
                       redis_url=f'redis://127.0.0.1:{env.free_port()}/0')
    r = admin(b, 'GET', '/api/v1/audit')
    assert r.status_code == 503 and r.json()['error'] == 'store_unavailable', r.text
    got = q(b, source='file', limit=5)
    assert got['source'] == 'file'
    assert any(x.get('event') == 'audit_read' and x.get('outcome') == 'rejected' for x in b.audit()), b.audit()[-3:]
