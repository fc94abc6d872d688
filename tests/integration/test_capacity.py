"""Capacity on paper, from measurements (issue 12 item 8): what one agent costs in Redis (keys and
bytes of the mapping; keys and bytes of a live sign-in: session, token, the user's sets, the code
tombstone, the replay entry and the audit stream), how many Redis commands and how much Redis CPU a
whole sign-in takes.  docs/capacity.md scales these to 1,000,000 agents; bench/capacity.sh runs
this with more sign-ins and keeps the figures (CAPACITY_SIGNINS, CAPACITY_REPORT).  The bounds
below catch a change that makes a sign-in or an agent much dearer, not a slow machine."""
import json
import os
import time

from sbtest import env
from sbtest.flows import Env, import_users

HEADER = '8x8 Internal ID,User Name,First Name,Last Name,Email,Extension,Salesforce ID'

N_AGENTS = 2000


def _info(rd, section):
    out = {}
    for line in rd.cli(0, 'INFO', section).splitlines():
        if ':' in line and not line.startswith('#'):
            k, v = line.split(':', 1)
            out[k] = v
    return out


IGNORED = ('info', 'memory', 'scan', 'dbsize', 'type', 'keys', 'ping', 'config', 'flushdb',
           'select', 'client', 'hello', 'command')


def _commands(rd):
    """{command: calls} of what the broker sends (not this test's own probes)."""
    out = {}
    for k, v in _info(rd, 'commandstats').items():
        name = k[len('cmdstat_'):] if k.startswith('cmdstat_') else None
        if name and name not in IGNORED:
            out[name] = int(v.split('calls=')[1].split(',')[0])
    return out


def _cpu(rd):
    i = _info(rd, 'cpu')
    return float(i['used_cpu_user']) + float(i['used_cpu_sys'])


def _mem(rd, db, pattern):
    """(keys, bytes by MEMORY USAGE) of the keys matching pattern."""
    keys = [k for k in rd.cli(db, '--scan', '--pattern', pattern).splitlines() if k]
    total = 0
    for k in keys:
        total += int(rd.cli(db, 'MEMORY', 'USAGE', k, 'SAMPLES', '0') or 0)
    return len(keys), total


def _mapping_csv(n):
    rows = [HEADER]
    for i in range(n):
        rows.append(f'{500000 + i},agent{i},First{i},Last{i},agent{i}@acme.example,'
                    f'{10000 + i},agent{i}@acme.example')
    return '\n'.join(rows) + '\n'


def test_capacity_figures(factory, redis, tmp_path):
    signins = int(os.environ.get('CAPACITY_SIGNINS', '60'))
    b = factory.broker(tenants=[('acme', {'consent': 'never'})], workers=1)
    e = Env(b, str(tmp_path))
    db = b.db
    # The mapping: N_AGENTS more agents, bytes per agent over the three admin keys.
    before = sum(_mem(redis, db, f'bk:v1:{{acme}}:{k}')[1] for k in ('users', 'sfdc', 'ugen'))
    import_users(b, 'acme', _mapping_csv(N_AGENTS), str(tmp_path))
    after = sum(_mem(redis, db, f'bk:v1:{{acme}}:{k}')[1] for k in ('users', 'sfdc', 'ugen'))
    per_agent = (after - before) / N_AGENTS
    # Whole sign-ins of distinct agents: commands, CPU and the keys they leave.
    keys0 = set(redis.cli(db, '--scan', '--pattern', 'bk:v1:*').splitlines())
    stream0 = _mem(redis, db, 'bk:v1:{acme}:audit*')[1]
    # Redis's own background work (serverCron, other brokers' probes) at rest, to subtract.
    idle0, t_idle = _cpu(redis), time.monotonic()
    time.sleep(3)
    idle_rate = (_cpu(redis) - idle0) / (time.monotonic() - t_idle)
    c0, cpu0, t0 = _commands(redis), _cpu(redis), time.monotonic()
    done = 0
    for i in range(signins):
        tok = e.token_for(f'agent{i}@acme.example')
        assert tok
        done += 1
    c1, cpu1, t1 = _commands(redis), _cpu(redis), time.monotonic()
    new = sorted(set(redis.cli(db, '--scan', '--pattern', 'bk:v1:*').splitlines()) - keys0)
    kinds = {}
    for k in new:
        kind = k.split('}:', 1)[1].split(':')[0] if '}:' in k else k
        kinds.setdefault(kind, [0, 0])
        kinds[kind][0] += 1
        kinds[kind][1] += int(redis.cli(db, 'MEMORY', 'USAGE', k, 'SAMPLES', '0') or 0)
    stream1 = _mem(redis, db, 'bk:v1:{acme}:audit*')[1]
    live = sum(v[1] for k, v in kinds.items() if not k.startswith('audit'))
    fig = {
        'agents_measured': N_AGENTS, 'mapping_bytes_per_agent': round(per_agent),
        'signins_measured': done,
        # every command Redis ran, those inside the broker's Lua scripts included
        'redis_commands_per_signin': round((sum(c1.values()) - sum(c0.values())) / done, 1),
        'commands_by_name_per_signin': {k: round((c1[k] - c0.get(k, 0)) / done, 2)
                                        for k in sorted(c1) if c1[k] != c0.get(k, 0)},
        'redis_cpu_us_per_signin': round(max(cpu1 - cpu0 - idle_rate * (t1 - t0), 0) /
                                         done * 1e6),
        'redis_scripts_per_signin': round((c1.get('evalsha', 0) - c0.get('evalsha', 0)) / done,
                                          2),
        'live_keys_per_signin': round(sum(v[0] for k, v in kinds.items()
                                          if not k.startswith('audit')) / done, 2),
        'live_bytes_per_signin': round(live / done),
        'audit_stream_bytes_per_signin': round((stream1 - stream0) / done),
        'keys_by_kind': {k: {'keys': v[0], 'bytes_each': round(v[1] / max(v[0], 1))}
                         for k, v in sorted(kinds.items())},
    }
    text = json.dumps(fig, indent=2)
    print('\n' + text)
    if os.environ.get('CAPACITY_REPORT'):
        with open(os.environ['CAPACITY_REPORT'], 'w') as f:
            f.write(text + '\n')
    # Loose bounds: a change that makes an agent or a sign-in several times dearer fails here.
    assert per_agent < 1500, text
    assert fig['redis_commands_per_signin'] < 120, text
    assert fig['live_bytes_per_signin'] < 8000, text
