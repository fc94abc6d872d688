"""Helpers for the admin side: ssoctl runs, CSV files, loose readers of JSON reports."""
import json
import os

from .flows import admin, ssoctl


def run(broker, *args, tenant='acme', json_out=False, input=None):
    pre = (['--json'] if json_out else []) + (['--tenant', tenant] if tenant else [])
    return ssoctl(broker, *pre, *args, input=input)


def csv_file(tmp_path, name, text, encoding='utf-8', newline='\n'):
    p = os.path.join(str(tmp_path), name)
    with open(p, 'w', encoding=encoding, newline='') as f:
        f.write(text.replace('\n', newline))
    return p


def find(obj, key):
    """The first value of key at any depth of a JSON document, or None."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(obj, list):
        for v in obj:
            r = find(v, key)
            if r is not None:
                return r
    return None


def count(report, key):
    v = find(report, key)
    if isinstance(v, bool) or v is None:
        n = find(report, 'n_' + key)
        return n if isinstance(n, int) else None
    if isinstance(v, int):
        return v
    if isinstance(v, list):
        return len(v)
    return None


def export(broker, tenant='acme'):
    r = admin(broker, 'GET', f'/api/v1/tenants/{tenant}/users.csv')
    assert r.status_code == 200, r.text
    return r.content


def user(broker, iid, tenant='acme'):
    r = admin(broker, 'GET', f'/api/v1/tenants/{tenant}/users/{iid}')
    return r.status_code, (r.json() if r.headers.get('Content-Type', '').startswith('application/json') else r.text)


def jloads(text):
    try:
        return json.loads(text)
    except ValueError:
        raise AssertionError(f'not JSON: {text[:300]!r}')


def reset(broker, tmp_path, text, tenant='acme'):
    """Make the mapping exactly text: --allow-new --delete-missing with the deletion count the dry
    run states, confirmed (issue 10 item 5)."""
    f = csv_file(tmp_path, 'reset.csv', text)
    dry = run(broker, 'users', 'import', f, '--allow-new', '--delete-missing', '--dry-run', tenant=tenant,
              json_out=True)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    n = (json.loads(dry.stdout).get('summary') or {}).get('deleted', 0)
    return run(broker, 'users', 'import', f, '--allow-new', '--delete-missing', '--confirm-delete', str(n),
               tenant=tenant)
