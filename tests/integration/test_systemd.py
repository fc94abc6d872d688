"""Running under systemd (issue 12 item 1): Type=notify through a real NOTIFY_SOCKET.

The broker tells the service manager READY=1 once its tenants are loaded and a worker's store
answered, then STATUS lines; RELOADING=1 and READY=1 around a SIGHUP; STOPPING=1 on SIGTERM; and
WATCHDOG=1 at least twice per WatchdogSec.  Without NOTIFY_SOCKET it runs the same (every other
test)."""
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from sbtest import env

TOP = env.SRC


class NotifySocket:
    """What sd_notify(3) sends: one datagram of NAME=value lines per call."""

    def __init__(self, path):
        self.path = path
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        self.s.settimeout(0.2)
        self.got = []

    def drain(self):
        while True:
            try:
                self.got.append(self.s.recv(4096).decode())
            except socket.timeout:
                return

    def wait(self, needle, timeout=10):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.drain()
            if any(needle in m for m in self.got):
                return True
        return False

    def close(self):
        self.s.close()


def test_notify_ready_status_reload_stop(factory, tmp_path, monkeypatch):
    ns = NotifySocket(str(tmp_path / 'notify.sock'))
    monkeypatch.setenv('NOTIFY_SOCKET', ns.path)
    monkeypatch.setenv('WATCHDOG_USEC', '1000000')
    try:
        b = factory.broker([('acme', {})])
        assert ns.wait('READY=1'), ns.got
        ready = [m for m in ns.got if 'READY=1' in m][0]
        assert 'STATUS=serving 1 tenants' in ready, ready
        n = len([m for m in ns.got if m == 'WATCHDOG=1'])
        time.sleep(1.6)
        ns.drain()
        assert len([m for m in ns.got if m == 'WATCHDOG=1']) >= n + 2, ns.got
        ns.got.clear()
        os.kill(b.proc.pid, signal.SIGHUP)
        assert ns.wait('RELOADING=1'), ns.got
        assert ns.wait('READY=1'), ns.got
        ns.got.clear()
        os.kill(b.proc.pid, signal.SIGTERM)
        assert ns.wait('STOPPING=1'), ns.got
    finally:
        ns.close()


def test_unit_file_is_sandboxed():
    """The unit's exposure as systemd-analyze rates it (OK or better: 4.x or less)."""
    sa = shutil.which('systemd-analyze')
    if sa is None:
        pytest.skip('systemd-analyze is not installed')
    unit = os.path.join(TOP, 'etc', 'sso-broker.service')
    r = subprocess.run([sa, 'security', '--offline=true', '--no-pager', unit], capture_output=True,
                       text=True, timeout=60)
    out = r.stdout + r.stderr
    line = [l for l in out.splitlines() if 'Overall exposure level' in l]
    assert line, out[-2000:]
    score = float(line[0].split('level for')[1].split(':')[1].split()[0])
    assert score <= 4.9, line[0]
