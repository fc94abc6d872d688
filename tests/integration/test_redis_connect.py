"""How the broker reaches Redis: ACL user and password, and Sentinel discovery."""
import os
import subprocess

from sbtest import env


def _ready(b):
    return env.wait_for(lambda: b.get('/readyz').status_code == 200, 10)


def _log(b):
    with open(b.log_path, errors='replace') as f:
        return f.read()


def test_acl_user_and_password(factory, redis):
    pw = 'acl-' + os.urandom(8).hex()
    redis.cli(0, 'ACL', 'SETUSER', 'sbtest-broker', 'on', '>' + pw, '~*', '&*', '+@all')
    try:
        b = factory.broker(start=False)
        b.redis_url = f'redis://sbtest-broker:{pw}@127.0.0.1:{redis.port}/{b.db}'
        b.start()
        assert _ready(b), 'broker not ready with its ACL user'
        clients = redis.cli(0, 'CLIENT', 'LIST')
        assert 'user=sbtest-broker' in clients, 'the broker did not authenticate as its ACL user'
        assert pw not in _log(b), 'the Redis password reached the log'
    finally:
        redis.cli(0, 'ACL', 'DELUSER', 'sbtest-broker')


def test_wrong_password_is_not_ready(factory, redis):
    pw = 'acl-' + os.urandom(8).hex()
    redis.cli(0, 'ACL', 'SETUSER', 'sbtest-broker2', 'on', '>' + pw, '~*', '&*', '+@all')
    try:
        b = factory.broker(start=False)
        b.redis_url = f'redis://sbtest-broker2:not-{pw}@127.0.0.1:{redis.port}/{b.db}'
        b.start()
        assert env.wait_for(lambda: b.get('/healthz').status_code == 200, 10)
        r = b.get('/readyz')
        assert r.status_code == 503 and r.json().get('redis') is False, r.text
        assert 'WRONGPASS' in _log(b) and pw not in _log(b)
    finally:
        redis.cli(0, 'ACL', 'DELUSER', 'sbtest-broker2')


def test_sentinel_discovery(factory, redis, tmp_path):
    port = env.free_port()
    conf = tmp_path / 'sentinel.conf'
    conf.write_text(f'port {port}\nbind 127.0.0.1\ndir {tmp_path}\n'
                    f'sentinel monitor sbmaster 127.0.0.1 {redis.port} 1\n')
    log = open(tmp_path / 'sentinel.log', 'wb')
    sent = subprocess.Popen(['redis-server', str(conf), '--sentinel'], stdout=log, stderr=subprocess.STDOUT)
    try:
        def master_known():
            r = subprocess.run(['redis-cli', '-p', str(port), 'SENTINEL', 'get-master-addr-by-name', 'sbmaster'],
                               capture_output=True, text=True, timeout=5)
            return str(redis.port) in r.stdout
        assert env.wait_for(master_known, 10), 'sentinel did not start'
        b = factory.broker(start=False, redis_extra=[('sentinels', f'127.0.0.1:{port}'),
                                                     ('master_name', 'sbmaster')])
        # The url's own address is wrong on purpose: only the sentinel knows the master.
        b.redis_url = f'redis://127.0.0.1:{env.free_port()}/{b.db}'
        b.start()
        assert _ready(b), 'broker did not find the master through the sentinel'
    finally:
        sent.terminate()
        sent.wait(10)
        log.close()
