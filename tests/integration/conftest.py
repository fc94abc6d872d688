"""Fixtures of the sso-broker integration suite: a private redis-server, a test PKI, brokers
started from the BRIEF's config contract, and the IdPs (hand-made, pysaml2, lasso).

Run:  /usr/bin/python3 -m pytest tests/integration -q      (BROKER_BUILD = the build dir)"""
import os
import signal
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from sbtest import env  # noqa: E402
from sbtest.flows import Env  # noqa: E402
from sbtest.procs import PKI, Broker, Redis  # noqa: E402


def stop_checked(b):
    """SIGTERM; the broker must exit 0 within 10 s with no sanitizer report in its log."""
    if b.proc is None:
        b.stop()
        return
    pgid = b.proc.pid
    rc, san = b.stop(10)
    problems = []
    def group_gone():
        try:
            os.killpg(pgid, 0)
            return False
        except ProcessLookupError:
            return True
    if not env.wait_for(group_gone, 3):   # workers must not outlive the parent
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        problems.append('processes of the broker survived its exit by 3 s (killed)')
    if rc != 0:
        problems.append(f'exit status {rc} after SIGTERM (None = still running after 10 s, killed)')
    if san:
        problems.append('sanitizer report: ' + ' | '.join(san[:5]))
    if problems:
        raise AssertionError(f'broker {b.dir}: ' + '; '.join(problems) + '\n' + b.log_tail())


@pytest.fixture(scope='session')
def pki(tmp_path_factory):
    return PKI(tmp_path_factory.mktemp('pki'))


@pytest.fixture(scope='session')
def redis(tmp_path_factory):
    r = Redis(tmp_path_factory.mktemp('redis'))
    yield r
    r.stop()


def default_tenants():
    return [('acme', {}),
            ('beta', {'allow_idp_initiated': 'false', 'consent': 'never'}),
            ('off', {'enable_salesforce_sso': 'false', 'idp_entity': 'https://off-it.my.salesforce.com',
                     'idp_sso': 'https://off-it.my.salesforce.com/idp/endpoint/HttpRedirect',
                     'idp_certs': None})]


class Factory:
    """Starts brokers with config overrides; every one is stopped (and checked) at teardown."""

    def __init__(self, tmp_path_factory, pki, redis):
        self.tpf, self.pki, self.redis = tmp_path_factory, pki, redis
        self.started = []

    def broker(self, tenants=None, start=True, **kw):
        tenants = tenants or default_tenants()
        fixed = []
        for tid, over in tenants:
            over = dict(over)
            if over.get('idp_certs', 1) is None:
                over['idp_certs'] = [self.pki.cert('idp')]
            fixed.append((tid, over))
        b = Broker(self.tpf.mktemp('broker'), self.pki, kw.pop('redis', self.redis), fixed, **kw)
        self.started.append(b)
        if start:
            b.start()
        return b

    def env(self, tenants=None, users=True, **kw):
        b = self.broker(tenants, **kw)
        return Env(b, b.dir, users=users)

    def close(self):
        errors = []
        for b in self.started:
            try:
                stop_checked(b)
            except AssertionError as e:
                errors.append(str(e))
        self.started = []
        if errors:
            raise AssertionError('\n'.join(errors))


@pytest.fixture(scope='session')
def session_factory(tmp_path_factory, pki, redis):
    f = Factory(tmp_path_factory, pki, redis)
    yield f
    f.close()


@pytest.fixture(scope='module')
def module_factory(tmp_path_factory, pki, redis):
    """A module's brokers, stopped (and checked) when the module ends: at most 15 run at once."""
    f = Factory(tmp_path_factory, pki, redis)
    yield f
    f.close()


@pytest.fixture
def factory(tmp_path_factory, pki, redis):
    """Per-test brokers (stopped and checked when the test ends)."""
    f = Factory(tmp_path_factory, pki, redis)
    yield f
    f.close()


@pytest.fixture(scope='session')
def acme(session_factory):
    """The shared broker: tenants acme (SAML, consent first_use, IdP-initiated allowed, IdP
    certificates idp + idp2), beta (IdP-initiated refused, consent never, idp2) and off (SSO off).
    Users: alice 1001 (0101;0102), bob 1002, carol 1003, user01..user120 (fresh_user())."""
    return session_factory.env()


@pytest.fixture(scope='session')
def broker(acme):
    return acme.b
