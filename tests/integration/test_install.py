"""Install and package (issue 12 item 4).

`make install` puts the daemon in sbin and the CLI in bin, the man pages, the systemd unit (naming
the installed paths), sysusers.d and tmpfiles.d entries, a logrotate file for the audit and the
example configuration, and never overwrites an operator's broker.conf.  logrotate's rotation plus
its SIGHUP continues the audit chain in the new file.  scripts/build-deb.sh builds the Debian
package from the tree; its contents, maintainer scripts and lintian's verdict are checked here."""
import json
import os
import shutil
import subprocess
import time

import pytest

from sbtest import env

TOP = env.SRC
BUILD = env.BUILD


def _install(dest):
    r = subprocess.run(['make', '-C', BUILD, '-s', 'install', f'DESTDIR={dest}'],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r.stdout


def _prefix():
    """The build's configured prefix (from config.status)."""
    r = subprocess.run(['sh', './config.status', '--config'], cwd=BUILD, capture_output=True,
                       text=True)
    for word in r.stdout.replace("'", ' ').split():
        if word.startswith('--prefix='):
            return word.split('=', 1)[1]
    return '/usr/local'


def test_make_install_layout(tmp_path):
    if not os.path.exists(os.path.join(BUILD, 'config.status')):
        pytest.skip('not an autotools build directory')
    dest = str(tmp_path / 'root')
    _install(dest)
    p = dest + _prefix()
    for f in ('sbin/sso-broker', 'bin/ssoctl'):
        assert os.access(os.path.join(p, f), os.X_OK), f
    assert not os.path.exists(os.path.join(p, 'bin/sso-broker'))
    for m in ('share/man/man8/sso-broker.8', 'share/man/man1/ssoctl.1',
              'share/man/man5/broker.conf.5'):
        assert os.path.isfile(os.path.join(p, m)), m
    unit = open(os.path.join(p, 'lib/systemd/system/sso-broker.service')).read()
    assert f'ExecStart={_prefix()}/sbin/sso-broker -c {_prefix()}/etc/sso-broker/broker.conf' in unit
    # started as root: the workers drop to [server] user themselves (test_privsep.py)
    assert 'Type=notify' in unit and 'User=' not in unit
    assert 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID' in unit
    assert os.path.isfile(os.path.join(p, 'lib/sysusers.d/sso-broker.conf'))
    assert os.path.isfile(os.path.join(p, 'lib/tmpfiles.d/sso-broker.conf'))
    lr = open(os.path.join(p, 'etc/logrotate.d/sso-broker')).read()
    assert 'audit.jsonl' in lr and 'postrotate' in lr and 'nocompress' in lr
    etc = os.path.join(p, 'etc/sso-broker')
    for f in ('broker.conf', 'broker.conf.example', 'tenant.conf.example'):
        assert os.path.isfile(os.path.join(etc, f)), f
    assert os.path.isdir(os.path.join(etc, 'tenants.d'))
    # The operator edits broker.conf; a second install keeps it.
    with open(os.path.join(etc, 'broker.conf'), 'a') as f:
        f.write('# edited by the operator\n')
    out = _install(dest)
    assert 'keeping the existing' in out
    assert open(os.path.join(etc, 'broker.conf')).read().endswith('# edited by the operator\n')


def _records(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def test_logrotate_continues_the_chain(factory, tmp_path):
    """logrotate moves the file and sends SIGHUP (its postrotate); the chain goes on."""
    lr = shutil.which('logrotate') or '/usr/sbin/logrotate'
    if not os.path.exists(lr):
        pytest.fail('logrotate is not installed (scripts/deps.txt lists it)')
    b = factory.broker()
    # A record in the first file: a reload writes config_reload.
    b.reload()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not os.path.getsize(b.audit_path):
        time.sleep(0.1)
    old = _records(b.audit_path)
    assert old, 'no audit record before the rotation'
    conf = tmp_path / 'logrotate.conf'
    conf.write_text(f"""{b.audit_path} {{
    rotate 3
    nocompress
    missingok
    nocreate
    postrotate
        kill -HUP {b.pid}
    endscript
}}
""")
    r = subprocess.run([lr, '-f', '-s', str(tmp_path / 'state'), str(conf)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    rotated = b.audit_path + '.1'
    assert os.path.exists(rotated)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (os.path.exists(b.audit_path) and
                                               os.path.getsize(b.audit_path)):
        time.sleep(0.1)
    new = _records(b.audit_path)
    assert new, 'the SIGHUP wrote no record into the new file'
    last = _records(rotated)[-1]
    assert new[0]['chain'] == last['chain']
    assert new[0]['seq'] == last['seq'] + 1
    assert new[0]['prev'] == last['hash']
    b.stop()


@pytest.fixture(scope='module')
def deb(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('deb'))
    r = subprocess.run([os.path.join(TOP, 'scripts', 'build-deb.sh'), out],
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    path = r.stdout.strip().splitlines()[-1]
    assert path.endswith('.deb') and os.path.isfile(path), r.stdout[-2000:]
    return {'path': path, 'lintian': open(os.path.join(out, 'lintian.log')).read()}


def _dpkg_deb(*args):
    r = subprocess.run(['dpkg-deb', *args], capture_output=True, text=True, check=True)
    return r.stdout


def test_deb_contents(deb):
    files = {line.split()[-1].lstrip('.') for line in _dpkg_deb('-c', deb['path']).splitlines()}
    for f in ('/usr/sbin/sso-broker', '/usr/bin/ssoctl', '/lib/systemd/system/sso-broker.service',
              '/usr/lib/sysusers.d/sso-broker.conf', '/usr/lib/tmpfiles.d/sso-broker.conf',
              '/etc/logrotate.d/sso-broker', '/etc/sso-broker/broker.conf',
              '/etc/sso-broker/broker.conf.example', '/etc/sso-broker/tenant.conf.example',
              '/usr/share/man/man8/sso-broker.8.gz', '/usr/share/man/man1/ssoctl.1.gz',
              '/usr/share/man/man5/broker.conf.5.gz', '/usr/share/doc/sso-broker/copyright'):
        assert f in files, f
    info = _dpkg_deb('-I', deb['path'])
    assert 'Package: sso-broker' in info and 'adduser' in info


def test_deb_maintainer_scripts(deb, tmp_path):
    d = str(tmp_path / 'ctl')
    subprocess.run(['dpkg-deb', '-e', deb['path'], d], check=True)
    conffiles = open(os.path.join(d, 'conffiles')).read().split()
    assert '/etc/sso-broker/broker.conf' in conffiles
    assert '/etc/logrotate.d/sso-broker' in conffiles
    post = open(os.path.join(d, 'postinst')).read()
    assert 'adduser --system' in post               # the service user
    assert '/var/lib/sso-broker/tenants.d' in post  # its directories
    assert 'admin.token' in post                    # the operator's credential, once
    assert 'deb-systemd-invoke' in post             # started where systemd runs
    subprocess.run(['sh', '-n', os.path.join(d, 'postinst')], check=True)


def test_deb_lintian_has_no_errors(deb):
    errors = [l for l in deb['lintian'].splitlines() if l.startswith('E:')]
    assert not errors, deb['lintian']


def test_deb_installs_the_user_and_directories(deb):
    """dpkg -i on this machine (root only, when the package is not installed already): the user,
    its directories and the token are made; the installed configuration checks; purge removes
    the package and keeps /var/lib/sso-broker (the audit outlives the package)."""
    if os.geteuid() != 0:
        pytest.skip('dpkg -i needs root')
    q = subprocess.run(['dpkg-query', '-W', '-f=${Status}', 'sso-broker'], capture_output=True,
                       text=True)
    if 'install ok installed' in q.stdout:
        pytest.skip('sso-broker is installed on this machine; not touching it')
    r = subprocess.run(['dpkg', '-i', deb['path']], capture_output=True, text=True, timeout=300)
    try:
        assert r.returncode == 0, r.stdout + r.stderr
        subprocess.run(['getent', 'passwd', 'sso-broker'], check=True, capture_output=True)
        for d in ('/var/lib/sso-broker', '/var/lib/sso-broker/tenants.d', '/var/log/sso-broker'):
            st = os.stat(d)
            assert st.st_mode & 0o007 == 0, d
            assert st.st_uid == 0, d    # the parent's, not the workers'
        tok = os.stat('/var/lib/sso-broker/admin.token')
        assert tok.st_mode & 0o077 == 0 and tok.st_uid == 0
        # as the unit's ExecStartPre does it: root (the workers would be sso-broker)
        c = subprocess.run(['/usr/sbin/sso-broker', '-c', '/etc/sso-broker/broker.conf',
                            '--check-config'],
                           capture_output=True, text=True, timeout=60)
        assert c.returncode == 0, c.stdout + c.stderr
        # Where systemd does not run (CI), the installed unit is still checked.
        sa = shutil.which('systemd-analyze')
        if sa:
            v = subprocess.run([sa, 'verify', '/lib/systemd/system/sso-broker.service'],
                               capture_output=True, text=True, timeout=120)
            assert v.returncode == 0, v.stdout + v.stderr
    finally:
        p = subprocess.run(['dpkg', '--purge', 'sso-broker'], capture_output=True, text=True,
                           timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert not os.path.exists('/usr/sbin/sso-broker')
    assert os.path.exists('/var/lib/sso-broker/admin.token')
