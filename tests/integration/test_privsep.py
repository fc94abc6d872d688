"""Privileges (issue 12 item 2): started as root, the parent binds the sockets, reads keys and
secrets and opens the audit file; the workers run as [server] user (default sso-broker; nobody
where that account does not exist) with no capabilities and no way back to root.

Read from /proc: each worker's uids, gids, groups, capability sets and NoNewPrivs; the parent
and the key holder stay root.  The audit file stays the parent's (0600, root), yet everything a
worker needs from it still works through the parent (mon.c): verify with rotated files, a
rotation + SIGHUP while old workers drain, the raw assertions' side file.  An account that does
not exist is a config error with file:line; root only when named.  The rest of the suite runs
its brokers the same way, so the audit suites (rotation, verify, file queries, raw assertions) and
the metadata URL's backing file show that the parent's services (mon.c) do the file work."""
import os
import pwd
import re
import subprocess

from sbtest import env


def _status(pid):
    out = {}
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            k, _, v = line.partition(':')
            out[k] = v.split()
    return out


def _expected_user(b):
    """sso-broker, or nobody where that account did not exist when b started (the broker says so
    in its log; test_install's dpkg -i may create the account while the shared broker runs)."""
    name = 'nobody' if 'workers run as nobody' in b.log_text() else 'sso-broker'
    p = pwd.getpwnam(name)
    return p.pw_uid, p.pw_gid


def test_workers_run_unprivileged(acme):
    b = acme.b
    uid, gid = _expected_user(b)
    pids = b.worker_pids()
    assert pids
    for pid in pids:
        st = _status(pid)
        assert st['Uid'] == [str(uid)] * 4, (pid, st['Uid'])
        assert st['Gid'] == [str(gid)] * 4, (pid, st['Gid'])
        assert st.get('Groups', []) in ([], [str(gid)]), st.get('Groups')
        for cap in ('CapInh', 'CapPrm', 'CapEff', 'CapAmb'):
            assert int(st[cap][0], 16) == 0, (pid, cap, st[cap])
        assert st['NoNewPrivs'] == ['1']
    assert _status(b.pid)['Uid'][0] == '0'
    assert _status(b.keys_pid)['Uid'][0] == '0'
    assert re.search(r'workers run as (sso-broker|nobody)', b.log_text())
    # the audit file is the parent's: a worker holds a descriptor, not the right to open it
    st = os.stat(b.audit_path)
    assert st.st_uid == 0 and (st.st_mode & 0o077) == 0


def test_user_root_only_when_named(factory):
    b = factory.broker(server_extra={'user': 'root'})
    for pid in b.worker_pids():
        assert _status(pid)['Uid'][0] == '0'
    assert 'workers run as root' in b.log_text()


def test_user_that_does_not_exist(factory):
    b = factory.broker(start=False, server_extra={'user': 'no-such-account'})
    b.write()
    p = subprocess.run([env.broker_bin(), '-c', b.conf_path, '--check-config'], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode != 0
    line = [i for i, l in enumerate(open(b.conf_path).read().splitlines(), 1) if l.startswith('user')][0]
    assert f'{b.conf_path}:{line}:' in p.stdout + p.stderr, p.stdout + p.stderr
    assert 'no-such-account does not exist' in p.stdout + p.stderr
