"""Metrics from the configuration in force (issue 12 item 6): build information, every
certificate's expiry (IdP, SP, TLS listener) as gauges, the tenants, the last reload's result,
time and generation; and docs/grafana-dashboard.json draws only metrics the broker exports."""
import calendar
import json
import os
import re
import signal
import time

from sbtest import env
from sbtest.flows import Env, admin

pytestmark = __import__('pytest').mark.filterwarnings(
    'ignore::urllib3.exceptions.InsecureRequestWarning')


def scrape(b):
    r = admin(b, 'GET', '/metrics')
    assert r.status_code == 200, r.text
    assert r.headers['Content-Type'].startswith('text/plain; version=0.0.4')
    return r.text


def series(text, name):
    """{labels-string: value} of one metric."""
    out = {}
    for line in text.splitlines():
        m = re.match(rf'^{name}(\{{[^}}]*\}})? (\S+)$', line)
        if m:
            out[m.group(1) or ''] = float(m.group(2))
    return out


def test_build_tenants_and_certificates(factory):
    b = factory.broker(tls=True)
    text = scrape(b)
    build = series(text, 'ssobroker_build_info')
    assert len(build) == 1 and list(build.values()) == [1.0], build
    assert 'version="0.1.0"' in list(build)[0] and 'openssl="3.' in list(build)[0]
    tenants = series(text, 'ssobroker_tenant_info')
    assert any('tenant="acme"' in k and 'login="saml"' in k and 'sso="on"' in k for k in tenants), \
        tenants
    certs = series(text, 'ssobroker_certificate_not_after_seconds')
    # The IdP certificates, as the admin API lists them.
    t = admin(b, 'GET', '/api/v1/tenants/acme').json()
    for c in t['idp_certificates']:
        key = f'{{tenant="acme",kind="idp",fingerprint="{c["fingerprint_sha256"][:16]}"}}'
        assert key in certs, (key, certs)
        want = calendar.timegm(time.strptime(c['not_after'], '%Y-%m-%dT%H:%M:%SZ'))
        assert abs(certs[key] - want) < 2, (certs[key], c['not_after'])
    assert any(k.startswith('{tenant="acme",kind="sp",') for k in certs), certs
    tls = [v for k, v in certs.items() if 'kind="tls"' in k]
    assert len(tls) == 1 and 20 * 86400 < tls[0] - time.time() < 31 * 86400, certs


def test_reload_result_time_and_generation(factory):
    b = factory.broker()
    text = scrape(b)
    assert series(text, 'ssobroker_config_reload_success') == {'': 1.0}
    assert series(text, 'ssobroker_config_generation') == {'': 0.0}
    t0 = series(text, 'ssobroker_config_reload_timestamp_seconds')['']
    time.sleep(1.1)
    b.reload()
    assert env.wait_for(lambda: series(scrape(b), 'ssobroker_config_generation') == {'': 1.0},
                        10), b.log_tail()
    text = scrape(b)
    assert series(text, 'ssobroker_config_reload_timestamp_seconds')[''] > t0
    # A refused reload: the result turns 0, the generation in force stays.
    with open(b.tenant_path('acme'), 'a') as f:
        f.write('\n[tenant]\nenable_salesforce_sso = maybe\n')
    b.signal(signal.SIGHUP)
    assert env.wait_for(lambda: series(scrape(b), 'ssobroker_config_reload_success') ==
                        {'': 0.0}, 10), b.log_tail()
    assert series(scrape(b), 'ssobroker_config_generation') == {'': 1.0}
    assert b.healthy()


def test_grafana_dashboard_draws_exported_metrics(factory):
    """Every metric a panel of docs/grafana-dashboard.json queries is on /metrics (after a
    sign-in, a refusal and some requests, so the counters exist)."""
    b = factory.broker()
    e = Env(b, b.dir)
    assert e.signin('alice@acme.example')['code']
    e.browser().post_acs('acme', 'bm90IHNhbWw=')
    text = scrape(b)
    exported = set(re.findall(r'^(ssobroker_[a-z_]+)', text, re.M))
    dash = json.load(open(os.path.join(env.SRC, 'docs', 'grafana-dashboard.json')))
    assert dash['panels'], 'no panels'
    used = set()
    for p in dash['panels']:
        assert p['targets'], p['title']
        for t in p['targets']:
            used |= set(re.findall(r'ssobroker_[a-z_]+', t['expr']))
    assert used, 'no metric in any panel'
    missing = sorted(m for m in used if m not in exported)
    assert not missing, missing


def test_decisions_by_tenant_event_and_reason(factory):
    b = factory.broker(tenants=[('acme', {}), ('beta', {'consent': 'never'})])
    e = Env(b, b.dir)
    assert e.signin('alice@acme.example')['code']
    e.browser().post_acs('acme', 'bm90IHNhbWw=')            # refused before any signature
    text = scrape(b)
    ten = series(text, 'ssobroker_tenant_decisions_total')
    assert ten.get('{tenant="acme",event="assertion",outcome="accepted"}', 0) >= 1, ten
    assert ten.get('{tenant="acme",event="code_issued",outcome="accepted"}', 0) >= 1, ten
    assert not any('tenant="beta",event="assertion"' in k for k in ten), ten   # none signed in
    ev = series(text, 'ssobroker_decisions_by_event_total')
    assert ev.get('{event="assertion",outcome="accepted",reason="ok"}', 0) >= 1, ev
    assert any(k.startswith('{event="assertion",outcome="rejected",reason="') for k in ev), ev
    # Labels stay bounded: events from the fixed list, tenants configured (or "other").
    for k in ten:
        assert re.match(r'^\{tenant="(acme|beta|other)",event="[a-z_]+",outcome="(accepted|rejected)"\}$',
                        k), k
