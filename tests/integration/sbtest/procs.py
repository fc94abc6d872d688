"""Processes the suite runs: a private redis-server, the sso-broker daemon, and the PKI
they use.  Every process is started here and stopped by PID."""
import atexit
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

import requests

from . import env
from .idp import idp_metadata

IDP_ENTITY = 'https://acme-it.my.salesforce.com'
IDP_SSO = 'https://acme-it.my.salesforce.com/idp/endpoint/HttpRedirect'
BETA_ENTITY = 'https://beta-it.my.salesforce.com'
BETA_SSO = 'https://beta-it.my.salesforce.com/idp/endpoint/HttpRedirect'


# ---------------------------------------------------------------- PKI

class PKI:
    """RSA-2048/SHA-256 test keys made with openssl at session start."""
    NAMES = ('idp', 'idp2', 'evil', 'sp', 'tls')

    def __init__(self, d):
        self.dir = str(d)
        os.makedirs(self.dir, exist_ok=True)
        for n in self.NAMES:
            subj = '/CN=127.0.0.1' if n == 'tls' else f'/CN=sso-broker-it-{n}'
            extra = ['-addext', 'subjectAltName=IP:127.0.0.1'] if n == 'tls' else []
            subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256',
                            '-days', '30', '-subj', subj, *extra, '-keyout', self.key(n),
                            '-out', self.cert(n)], check=True, capture_output=True)
        self.admin_token = secrets.token_urlsafe(32)
        self.panel_secret = secrets.token_urlsafe(32)
        self.beta_secret = secrets.token_urlsafe(32)
        self._write('admin.token', self.admin_token + '\n')
        self._write('panel.secret', self.panel_secret + '\n')
        self._write('beta.secret', self.beta_secret + '\n')
        for n in self.NAMES:
            os.chmod(self.key(n), 0o600)

    def _write(self, name, text):
        p = self.path(name)
        with open(p, 'w') as f:
            f.write(text)
        os.chmod(p, 0o600)

    def path(self, name):
        return os.path.join(self.dir, name)

    def key(self, n):
        return self.path(n + '.key')

    def cert(self, n):
        return self.path(n + '.crt')


# ---------------------------------------------------------------- Redis

class Redis:
    """A private redis-server: TCP on 127.0.0.1:<port> and a unix socket, no persistence."""

    def __init__(self, d, port=None, extra=()):
        self.dir = str(d)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port or env.free_port()
        # The workers run as [server] user (not root), so the socket is where that account can
        # reach it, as an operator sets it up: a directory it may traverse, unixsocketperm 777.
        sdir = tempfile.mkdtemp(prefix='sso-broker-redis-')
        os.chmod(sdir, 0o711)
        atexit.register(shutil.rmtree, sdir, True)
        self.sock = os.path.join(sdir, 'redis.sock')
        self.proc = None
        self.extra = list(extra)    # more server arguments (a replica: --replicaof 127.0.0.1 PORT)
        self.start()

    def start(self, wait=True, extra=()):
        """wait=False returns at once (the server may still be loading its data)."""
        log = open(os.path.join(self.dir, 'redis.log'), 'ab')
        self.proc = subprocess.Popen(
            ['redis-server', '--port', str(self.port), '--bind', '127.0.0.1',
             '--unixsocket', self.sock, '--unixsocketperm', '777', '--save', '', '--appendonly', 'no',
             '--databases', '64', '--dir', self.dir, *self.extra, *extra],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait and not env.wait_for(lambda: self._ping(), 10):
            raise RuntimeError('redis-server did not start')

    def _ping(self):
        try:
            return self.cli(0, 'PING') == 'PONG'
        except Exception:
            return False

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.resume()
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def cli(self, db, *args):
        r = subprocess.run(['redis-cli', '--raw', '-p', str(self.port), '-n', str(db), *args],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return r.stdout.rstrip('\n')

    def dbsize(self, db):
        return int(self.cli(db, 'DBSIZE'))

    def keys(self, db):
        out = self.cli(db, 'KEYS', '*')
        return set(k for k in out.split('\n') if k)


# ---------------------------------------------------------------- broker

def ini(sections):
    """[(section, [(key, value), ...]), ...] -> INI text; a value of None drops the line."""
    out = []
    for sec, items in sections:
        out.append(f'[{sec}]')
        for k, v in items:
            if v is None:
                continue
            if isinstance(v, (list, tuple)):
                out.extend(f'{k} = {x}' for x in v)
            else:
                out.append(f'{k} = {v}')
        out.append('')
    return '\n'.join(out)


class Tenant:
    """One tenant file; attributes are the directives (None = omitted)."""

    def __init__(self, tid, pki, d, panel_port, **over):
        self.id = tid
        self.client_id = over.pop('client_id', f'panel-{tid}')
        self.secret_file = over.pop('client_secret_file', pki.path('beta.secret' if tid != 'acme' else 'panel.secret'))
        self.idp_entity = over.pop('idp_entity', IDP_ENTITY if tid == 'acme' else BETA_ENTITY)
        self.idp_sso = over.pop('idp_sso', IDP_SSO if tid == 'acme' else BETA_SSO)
        certs = over.pop('idp_certs', [pki.cert('idp'), pki.cert('idp2')] if tid == 'acme' else [pki.cert('idp2')])
        self.metadata = os.path.join(d, f'{tid}-idp-metadata.xml')
        with open(self.metadata, 'w') as f:
            f.write(idp_metadata(self.idp_entity, self.idp_sso, certs))
        self.panel = f'http://127.0.0.1:{panel_port}'
        self.redirect_uri = self.panel + f'/sso/{tid}/callback'
        self.initiate_login_uri = self.panel + f'/sso/{tid}/start'
        self.tenant = {'id': tid, 'login': None, 'enable_salesforce_sso': 'true'}
        self.saml = {'idp_metadata': self.metadata, 'sp_key': pki.key('sp'), 'sp_cert': pki.cert('sp'),
                     'allow_idp_initiated': 'true', 'clock_skew': '60', 'allow_sha1': None}
        self.panel_sec = {'client_id': self.client_id, 'client_secret_file': self.secret_file,
                          'redirect_uri': [self.redirect_uri, self.panel + f'/sso/{tid}/other'],
                          'initiate_login_uri': self.initiate_login_uri}
        self.policy = {'consent': 'first_use', 'code_ttl': None, 'session_ttl': None}
        # An OAuth tenant: its [oidc] directives (then login = oidc, no [saml]).
        self.oidc = over.pop('oidc', None)
        # The tenant's own store: its [redis] directives (None: broker.conf's).
        self.redis = over.pop('redis', None)
        # Who may open the console: its [admin] directives (users, auditors).
        self.admin = over.pop('admin', None)
        for k, v in over.items():
            for sec in (self.tenant, self.saml, self.panel_sec, self.policy):
                if k in sec:
                    sec[k] = v
                    break
            else:
                raise KeyError(k)

    @property
    def secret(self):
        with open(self.secret_file) as f:
            return f.read().strip()

    def text(self):
        if self.oidc is not None:
            self.tenant['login'] = 'oidc'
            up = ('oidc', list(self.oidc.items()))
        else:
            up = ('saml', list(self.saml.items()))
        own = [('redis', list(self.redis.items()))] if self.redis else []
        own += [('admin', list(self.admin.items()))] if self.admin else []
        return ini([('tenant', list(self.tenant.items())), up,
                    ('panel', list(self.panel_sec.items())), ('policy', list(self.policy.items()))] + own)


class Broker:
    """A running sso-broker with its own config dir, Redis database, audit file and log."""

    _dbs_in_use = set()     # Redis DB numbers 1..15 (the broker accepts 0..15); 0 is left to unix:// URLs

    def __init__(self, d, pki, redis, tenants=None, redis_url=None, tls=False, workers=2, server_extra=None,
                 redis_extra=None):
        self.dir = str(d)
        os.makedirs(os.path.join(self.dir, 'tenants.d'), exist_ok=True)
        self.pki, self.redis = pki, redis
        free = [n for n in range(1, 16) if n not in Broker._dbs_in_use]
        if not free:
            raise RuntimeError('more than 15 brokers at once')
        self.db = free[0]
        Broker._dbs_in_use.add(self.db)
        redis.cli(self.db, 'FLUSHDB')
        self.port, self.admin_port = env.free_port(), env.free_port()
        self.panel_port = env.free_port()
        scheme = 'https' if tls else 'http'
        self.pub = f'{scheme}://127.0.0.1:{self.port}'
        self.admin = f'{scheme}://127.0.0.1:{self.admin_port}'   # the admin listener shares tls_cert
        self.verify = pki.cert('tls') if tls else True
        self.audit_path = os.path.join(self.dir, 'audit.jsonl')
        self.log_path = os.path.join(self.dir, 'broker.log')
        self.conf_path = os.path.join(self.dir, 'broker.conf')
        self.redis_url = redis_url or f'redis://127.0.0.1:{redis.port}/{self.db}'
        self.redis_extra = list(redis_extra or [])   # more [redis] keys (sentinels, ...)
        # The suite's hostile cases post far more junk a minute than [audit] junk_records'
        # default (500) lets keep its own record; each case checks its own record, so the
        # suite's brokers keep them all.  The flood tests set it back (with_audit).
        self.audit_extra = [('junk_records', '100000000')]
        self.server = {'listen': f'127.0.0.1:{self.port}', 'public_url': self.pub,
                       'admin_listen': f'127.0.0.1:{self.admin_port}', 'workers': str(workers),
                       'tls_cert': pki.cert('tls') if tls else None, 'tls_key': pki.key('tls') if tls else None}
        self.server.update(server_extra or {})
        self.tenants = {}
        for spec in (tenants or [('acme', {})]):
            tid, over = spec
            self.tenants[tid] = Tenant(tid, pki, self.dir, self.panel_port, **over)
        self.proc = None

    # -- files
    def conf_text(self):
        return ini([('server', list(self.server.items())), ('redis', [('url', self.redis_url)] + self.redis_extra),
                    ('audit', [('path', self.audit_path)] + self.audit_extra), ('admin', [('token_file', self.pki.path('admin.token'))]),
                    ('tenants', [('dir', os.path.join(self.dir, 'tenants.d'))])])

    def write(self):
        with open(self.conf_path, 'w') as f:
            f.write(self.conf_text())
        os.chmod(self.conf_path, 0o600)
        for t in self.tenants.values():
            p = self.tenant_path(t.id)
            with open(p, 'w') as f:
                f.write(t.text())
            os.chmod(p, 0o600)

    def tenant_path(self, tid):
        return os.path.join(self.dir, 'tenants.d', f'{tid}.conf')

    # -- process
    def start(self, timeout=15):
        self.write()
        exe = env.broker_bin()
        if not exe:
            raise RuntimeError(f'no sso-broker under {env.BUILD} (set BROKER_BUILD)')
        log = open(self.log_path, 'ab')
        envv = dict(os.environ)
        envv.setdefault('ASAN_OPTIONS', 'detect_leaks=0')
        self.proc = subprocess.Popen([exe, '-c', self.conf_path], stdout=log, stderr=subprocess.STDOUT,
                                     env=envv, start_new_session=True)
        log.close()

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError(f'sso-broker exited {self.proc.returncode}: {self.log_tail()}')
            try:
                return requests.get(self.pub + '/healthz', timeout=1, verify=self.verify).status_code == 200
            except requests.RequestException:
                return False
        if not env.wait_for(up, timeout):
            self.kill()
            raise RuntimeError(f'sso-broker not healthy within {timeout}s: {self.log_tail()}')
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def keys_pid(self):
        """The key holder of the running generation (from its log line), or None."""
        m = re.findall(r'the key holder runs \(pid (\d+)\)', self.log_text())
        return int(m[-1]) if m else None

    def worker_pids(self):
        """The parent's children but the key holders: the workers (both generations while one
        drains)."""
        with open(f'/proc/{self.proc.pid}/task/{self.proc.pid}/children') as f:
            kids = [int(x) for x in f.read().split()]
        holders = {int(x) for x in re.findall(r'the key holder runs \(pid (\d+)\)', self.log_text())}
        return [p for p in kids if p not in holders]

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def reload(self):
        self.write()
        self.signal(signal.SIGHUP)

    def stop(self, timeout=10):
        """SIGTERM; returns (exit status or None when it had to be killed, sanitizer lines)."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    rc = self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.kill()
            else:
                rc = self.proc.returncode
            self.proc = None
        Broker._dbs_in_use.discard(self.db)
        return rc, self.sanitizer_lines()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def log_text(self):
        try:
            with open(self.log_path, errors='replace') as f:
                return f.read()
        except FileNotFoundError:
            return ''

    def log_tail(self, n=15):
        return '\n'.join(self.log_text().splitlines()[-n:])

    def sanitizer_lines(self):
        return [l for l in self.log_text().splitlines() if 'AddressSanitizer' in l or 'runtime error' in l
                or 'LeakSanitizer' in l]

    # -- state
    def audit(self):
        recs = []
        try:
            with open(self.audit_path, errors='replace') as f:
                for line in f:
                    line = line.strip()
                    if line:
                        try:
                            recs.append(json.loads(line))
                        except ValueError:
                            recs.append({'_unparsable': line})
        except FileNotFoundError:
            pass
        return recs

    def keys(self):
        return self.redis.keys(self.db)

    def dbsize(self):
        return self.redis.dbsize(self.db)

    def tenant(self, tid='acme'):
        return self.tenants[tid]

    def get(self, path, **kw):
        kw.setdefault('timeout', 10)
        kw.setdefault('allow_redirects', False)
        return requests.get(self.pub + path, verify=self.verify, **kw)

    def post(self, path, **kw):
        kw.setdefault('timeout', 10)
        kw.setdefault('allow_redirects', False)
        return requests.post(self.pub + path, verify=self.verify, **kw)

    def healthy(self):
        try:
            return self.get('/healthz', timeout=5).status_code == 200
        except requests.RequestException:
            return False


# ---------------------------------------------------------------- Sentinel

class Sentinel(Redis):
    """A redis-sentinel on 127.0.0.1 watching master `name` at master_port, with short timeouts
    so a failover takes about a second.  cli() talks to the sentinel (its db argument is ignored)."""

    def __init__(self, d, master_port, name='sbmaster', quorum=1, down_after_ms=1000,
                 failover_timeout_ms=4000):
        self.master_port, self.name = master_port, name
        self.quorum, self.down_after_ms, self.failover_timeout_ms = quorum, down_after_ms, failover_timeout_ms
        super().__init__(d)

    def start(self, wait=True, extra=()):
        conf = os.path.join(self.dir, 'sentinel.conf')
        with open(conf, 'w') as f:
            f.write(f'port {self.port}\nbind 127.0.0.1\ndir {self.dir}\n'
                    f'sentinel monitor {self.name} 127.0.0.1 {self.master_port} {self.quorum}\n'
                    f'sentinel down-after-milliseconds {self.name} {self.down_after_ms}\n'
                    f'sentinel failover-timeout {self.name} {self.failover_timeout_ms}\n')
        log = open(os.path.join(self.dir, 'sentinel.log'), 'ab')
        self.proc = subprocess.Popen(['redis-server', conf, '--sentinel', *extra], stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        if wait and not env.wait_for(lambda: self.master_port_now() == self.master_port, 10):
            raise RuntimeError('redis-sentinel did not start')

    def cli(self, db, *args):
        r = subprocess.run(['redis-cli', '--raw', '-p', str(self.port), *args],
                           capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return r.stdout.rstrip('\n')

    def master_port_now(self):
        """The port this sentinel names for the master (None if it does not answer)."""
        try:
            out = self.cli(0, 'SENTINEL', 'get-master-addr-by-name', self.name).split('\n')
            return int(out[1]) if len(out) == 2 else None
        except (RuntimeError, ValueError, subprocess.TimeoutExpired):
            return None

    def knows_replica(self, port):
        """The sentinel sees the replica at `port` as a healthy candidate for promotion."""
        try:
            out = self.cli(0, 'SENTINEL', 'replicas', self.name).split('\n')
        except (RuntimeError, subprocess.TimeoutExpired):
            return False
        fields = dict(zip(out[0::2], out[1::2])) if out and out[0] == 'name' else {}
        return fields.get('port') == str(port) and fields.get('flags') == 'slave' and \
            fields.get('master-link-status') == 'ok'
