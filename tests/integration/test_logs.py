"""Log records carry their fields as JSON keys (issue 12 item 6): tenant, event, user, request id,
assertion id, route, status and duration are keys, not words inside the message; and the optional
access log ([server] access_log): one JSON line per request, the path without its query (codes
never reach it), followed to a new file after rotation and SIGHUP."""
import json
import os
import signal

from sbtest import env
from sbtest.flows import Env


def _records(path):
    out = []
    with open(path, errors='replace') as f:
        for line in f:
            line = line.strip()
            if line.startswith('{'):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def test_signin_fields_are_keys(factory):
    b = factory.broker()
    e = Env(b, b.dir)
    r = e.signin('alice@acme.example')
    assert r['code']
    e.browser().post_acs('acme', 'bm90IHNhbWw=')
    recs = _records(b.log_path)
    ok = [x for x in recs if x.get('msg') == 'assertion accepted']
    assert ok, [x.get('msg') for x in recs][-20:]
    x = ok[-1]
    assert x['tenant'] == 'acme' and x['event'] == 'assertion'
    assert x['user'] == 'alice@acme.example' and x['req'] and x['id'].startswith('_')
    assert 'tenant=' not in x['msg'] and 'user=' not in x['msg']
    bad = [x for x in recs if x.get('event') == 'assertion' and x.get('reason')
           and 'rejected' in x.get('msg', '')]
    assert bad and bad[-1]['tenant'] == 'acme', recs[-5:]


def test_access_log(factory, tmp_path):
    path = str(tmp_path / 'access.jsonl')
    b = factory.broker(server_extra={'access_log': path})
    e = Env(b, b.dir)
    r = e.signin('alice@acme.example')
    assert r['code']
    tok = e.panel().token(r['code'], r['verifier'])
    assert tok.status_code == 200
    assert env.wait_for(lambda: os.path.exists(path) and os.path.getsize(path), 5)
    lines = _records(path)
    routes = {x['route'] for x in lines}
    assert {'oauth2_authorize', 'saml_acs', 'oauth2_token'} <= routes, routes
    for x in lines:
        assert set(x) >= {'ts', 'req', 'method', 'path', 'route', 'status', 'duration_ms',
                          'client'}, x
        assert '?' not in x['path'], x
    text = open(path).read()
    assert r['code'] not in text and r['verifier'] not in text
    assert tok.json()['access_token'] not in text
    acs = [x for x in lines if x['route'] == 'saml_acs'][-1]
    assert acs['method'] == 'POST' and acs['tenant'] == 'acme' and acs['status'] in (302, 303)
    # Rotation: move the file, SIGHUP; the next requests go to a new file.
    os.rename(path, path + '.1')
    b.signal(signal.SIGHUP)
    assert env.wait_for(lambda: 'reload done' in b.log_text(), 10)

    def fresh():
        b.get('/healthz')
        return os.path.exists(path) and any(x['route'] == 'healthz' for x in _records(path))
    assert env.wait_for(fresh, 10), b.log_tail()
    assert os.stat(path).st_mode & 0o777 == 0o640
