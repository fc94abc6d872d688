"""Configuration: --check-config, secret-file permissions, SIGHUP reloads (broken and good),
SIGTERM."""
import os
import re
import signal
import subprocess
import threading

import pytest
import requests

from sbtest import env
from sbtest.browser import code_from
from sbtest.flows import Env, describe
from sbtest.idp import b64


def check(conf_path):
    r = subprocess.run([env.broker_bin(), '-c', conf_path, '--check-config'], capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout + r.stderr


@pytest.fixture
def cfg(factory):
    """A written (not started) broker config to break in various ways."""
    b = factory.broker(tenants=[('acme', {})], start=False)
    b.write()
    return b


def edit(path, fn):
    with open(path) as f:
        text = f.read()
    with open(path, 'w') as f:
        f.write(fn(text))


def line_of(path, needle):
    with open(path) as f:
        for i, l in enumerate(f, 1):
            if needle in l:
                return i
    raise AssertionError(needle)


def test_good_config(cfg):
    rc, out = check(cfg.conf_path)
    assert rc == 0 and 'configuration OK' in out, out


def test_unknown_key(cfg):
    edit(cfg.tenant_path('acme'), lambda t: t.replace('[policy]\n', '[policy]\nconsnet = never\n'))
    rc, out = check(cfg.conf_path)
    n = line_of(cfg.tenant_path('acme'), 'consnet')
    assert rc == 1 and f'{cfg.tenant_path("acme")}:{n}:' in out, out


def test_unknown_key_in_broker_conf(cfg):
    edit(cfg.conf_path, lambda t: t.replace('[server]\n', '[server]\nlisten_backlog = 5\n'))
    rc, out = check(cfg.conf_path)
    assert rc == 1 and f'{cfg.conf_path}:{line_of(cfg.conf_path, "listen_backlog")}:' in out, out


def test_repeated_key(cfg):
    edit(cfg.conf_path, lambda t: t.replace('workers = 2\n', 'workers = 2\nworkers = 3\n'))
    rc, out = check(cfg.conf_path)
    with open(cfg.conf_path) as f:
        n = [i for i, l in enumerate(f, 1) if l.startswith('workers')][1]
    assert rc == 1 and f'{cfg.conf_path}:{n}:' in out, out


@pytest.mark.parametrize('value', ['TRUE', 'yes', '1', 'on'])
def test_enable_salesforce_sso_not_exactly_true(cfg, value):
    edit(cfg.tenant_path('acme'), lambda t: t.replace('enable_salesforce_sso = true', f'enable_salesforce_sso = {value}'))
    rc, out = check(cfg.conf_path)
    n = line_of(cfg.tenant_path('acme'), 'enable_salesforce_sso')
    assert rc == 1 and f'{cfg.tenant_path("acme")}:{n}:' in out, out


def test_enable_salesforce_sso_false_is_valid(cfg):
    edit(cfg.tenant_path('acme'), lambda t: t.replace('enable_salesforce_sso = true', 'enable_salesforce_sso = false'))
    rc, out = check(cfg.conf_path)
    assert rc == 0, out


@pytest.mark.parametrize('key', ['client_id', 'client_secret_file', 'redirect_uri'])
def test_missing_required_panel_key(cfg, key):
    edit(cfg.tenant_path('acme'), lambda t: re.sub(rf'^{key} = .*\n', '', t, flags=re.M))
    rc, out = check(cfg.conf_path)
    assert rc == 1 and cfg.tenant_path('acme') in out and re.search(r':\d+:', out), out


def test_missing_public_url(cfg):
    edit(cfg.conf_path, lambda t: re.sub(r'^public_url = .*\n', '', t, flags=re.M))
    rc, out = check(cfg.conf_path)
    assert rc == 1 and cfg.conf_path in out and re.search(r':\d+:', out), out


def test_group_readable_secret_refused(cfg, pki, tmp_path):
    p = tmp_path / 'panel.secret'
    p.write_text(pki.panel_secret + '\n')
    os.chmod(p, 0o640)
    edit(cfg.tenant_path('acme'), lambda t: re.sub(r'^client_secret_file = .*$', f'client_secret_file = {p}', t, flags=re.M))
    rc, out = check(cfg.conf_path)
    assert rc == 1 and str(p) in out, out


def test_group_readable_admin_token_refused(cfg, pki, tmp_path):
    p = tmp_path / 'admin.token'
    p.write_text(pki.admin_token + '\n')
    os.chmod(p, 0o644)
    edit(cfg.conf_path, lambda t: re.sub(r'^token_file = .*$', f'token_file = {p}', t, flags=re.M))
    rc, out = check(cfg.conf_path)
    assert rc == 1 and str(p) in out, out


def test_bad_consent_value(cfg):
    edit(cfg.tenant_path('acme'), lambda t: t.replace('consent = first_use', 'consent = sometimes'))
    rc, out = check(cfg.conf_path)
    assert rc == 1 and f':{line_of(cfg.tenant_path("acme"), "consent")}:' in out, out


def test_start_refuses_bad_config(cfg):
    edit(cfg.tenant_path('acme'), lambda t: t.replace('[policy]\n', '[policy]\nbogus = 1\n'))
    r = subprocess.run([env.broker_bin(), '-c', cfg.conf_path], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and 'bogus' in (r.stdout + r.stderr), r.stdout + r.stderr


def test_sighup_broken_tenant_keeps_old_config(factory):
    b = factory.broker(tenants=[('acme', {'consent': 'never'})])
    e = Env(b, b.dir)
    pid = b.pid
    before = b.get('/t/acme/saml/metadata').content
    edit(b.tenant_path('acme'), lambda t: t.replace('consent = never', 'consent = always\nbogus_key = 1'))
    b.signal(signal.SIGHUP)
    n = line_of(b.tenant_path('acme'), 'bogus_key')
    assert env.wait_for(lambda: f'{b.tenant_path("acme")}:{n}' in b.log_text(), 10), \
        'the reload error with file:line is not logged: ' + b.log_tail()
    assert b.alive() and b.pid == pid
    assert b.get('/t/acme/saml/metadata').content == before
    r = e.signin('alice@acme.example')       # still consent = never: no Allow page
    assert r['code'] and r['out'].kind == 'away', describe(r['out'])


def _hammer_during_reload(factory, keepalive):
    b = factory.broker(tenants=[('acme', {'consent': 'always'})])
    e = Env(b, b.dir)
    errors, done, count = [], threading.Event(), [0]

    def hammer():
        s = requests.Session()
        s.trust_env = False
        while not done.is_set():
            try:
                if keepalive:
                    r = s.get(b.pub + '/t/acme/saml/metadata', timeout=10)
                else:       # a new connection per request: every failure is a dropped request
                    r = requests.get(b.pub + '/t/acme/saml/metadata', timeout=10, headers={'Connection': 'close'})
                if r.status_code != 200:
                    errors.append(r.status_code)
                count[0] += 1
            except requests.RequestException as ex:
                errors.append(repr(ex)[:120])
    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        env.wait_for(lambda: count[0] > 20, 5)
        b.tenants['acme'].policy['consent'] = 'never'
        b.reload()

        def took_effect():
            br = e.browser()
            login = br.start_login()
            out = br.post_acs('acme', b64(e.idp['acme'].good('alice@acme.example', login.rid)), login.relay)
            return out.kind == 'away' and code_from(out, b.tenant().redirect_uri)[0]
        assert env.wait_for(took_effect, 10, 0.3), 'consent = never not in force after SIGHUP'
        n0 = count[0]
        env.wait_for(lambda: count[0] > n0 + 20, 5)
    finally:
        done.set()
        for t in threads:
            t.join(15)
    assert not errors, f'{len(errors)} of {count[0] + len(errors)} requests failed across the reload: {errors[:3]}'
    return b


def test_sighup_good_change_without_dropping_requests(factory):
    b = _hammer_during_reload(factory, keepalive=False)
    assert any(r.get('event') == 'config_reload' for r in b.audit()), 'the reload is audited'


def test_sighup_keeps_keepalive_connections(factory):
    """BRIEF: SIGHUP reloads "without dropping connections": a panel's keep-alive connection
    must not be closed under it."""
    _hammer_during_reload(factory, keepalive=True)


def test_sigterm_exits_zero(factory):
    b = factory.broker(tenants=[('acme', {})])
    rc, san = b.stop(10)
    assert rc == 0 and not san, (rc, san)
