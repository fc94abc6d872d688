"""Key custody (issue 12 item 3): the SP private keys live in the key holder, never in a worker.

Each worker's memory is searched for the SP key's secret bytes (the private exponent and primes,
big- and little-endian, the DER and the PEM text): not found; the same search finds them in the
key holder, so the search works.  A key that does not match its certificate stops --check-config,
the start and a reload with the file and reason; a key holder that dies is replaced with its
workers, and sign-ins go on."""
import os
import re
import signal
import subprocess
import time

import pytest
from cryptography.hazmat.primitives import serialization

from sbtest import env
from sbtest.flows import Env


def _children(pid):
    out = []
    for d in os.listdir('/proc'):
        if d.isdigit():
            try:
                with open(f'/proc/{d}/stat') as f:
                    st = f.read()
            except OSError:
                continue
            if int(st.rsplit(')', 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


def _holder_pid(b):
    return b.keys_pid


def _needles(key_path):
    with open(key_path, 'rb') as f:
        pem = f.read()
    k = serialization.load_pem_private_key(pem, None)
    n = k.private_numbers()
    out = {}
    for name, v in (('d', n.d), ('p', n.p), ('q', n.q)):
        size = (v.bit_length() + 7) // 8
        be, le = v.to_bytes(size, 'big'), v.to_bytes(size, 'little')
        out[name + '-be'] = be[size // 4:size // 4 + 32]
        out[name + '-le'] = le[size // 4:size // 4 + 32]
    der = k.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption())
    out['der'] = der[-200:-160]     # inside the CRT numbers (the front holds the public modulus)
    lines = [l for l in pem.split(b'\n') if l and not l.startswith(b'-----')]
    out['pem'] = lines[len(lines) // 2]
    return out


# Regions larger than this are ASan's shadow memory (terabytes of metadata about the program's
# memory, not its data); the heap and every other mapping are far smaller.
HUGE = 16 << 30
CHUNK = 64 << 20


def _found(pid, needles):
    """Names of the needles found anywhere in pid's readable memory (read in chunks)."""
    hits = set()
    overlap = max(len(n) for n in needles.values())
    with open(f'/proc/{pid}/maps') as maps, open(f'/proc/{pid}/mem', 'rb', 0) as mem:
        for line in maps:
            parts = line.split()
            if 'r' not in parts[1] or (len(parts) > 5 and parts[5] in ('[vvar]', '[vsyscall]')):
                continue
            lo, hi = (int(x, 16) for x in parts[0].split('-'))
            if hi - lo > HUGE:
                continue
            tail = b''
            for off in range(lo, hi, CHUNK):
                try:
                    mem.seek(off)
                    chunk = tail + mem.read(min(CHUNK, hi - off))
                except (OSError, ValueError, OverflowError):
                    break
                for name, needle in needles.items():
                    if needle in chunk:
                        hits.add(name)
                tail = chunk[-overlap:]
    return hits


def test_workers_hold_no_sp_key(factory):
    if os.geteuid() != 0:
        pytest.skip('reading another process memory needs root')
    b = factory.broker(workers=2)
    e = Env(b, b.dir)
    assert e.signin('alice@acme.example')['code']      # the workers have done real work
    holder = _holder_pid(b)
    assert holder, b.log_tail()
    workers = [p for p in _children(b.pid) if p != holder]
    assert len(workers) == 2, (workers, holder)
    needles = _needles(b.pki.key('sp'))
    for w in workers + [b.pid]:
        assert _found(w, needles) == set(), f'SP key bytes in process {w}'
    # The search works: the holder has the key (OpenSSL keeps the numbers little-endian).
    assert {'d-le', 'p-le', 'q-le'} <= _found(holder, needles)
    st = open(f'/proc/{holder}/status').read()
    assert re.search(r'^TracerPid:\s+0$', st, re.M)


def test_mismatched_key_is_refused(factory):
    b = factory.broker(start=False)
    b.tenants['acme'].saml['sp_key'] = b.pki.key('evil')
    b.write()
    r = subprocess.run([env.broker_bin(), '-c', b.conf_path, '--check-config'],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'tenant acme: [saml] sp_key' in r.stderr and 'does not match sp_cert' in r.stderr
    with pytest.raises(RuntimeError):
        b.start(timeout=10)
    assert 'does not match sp_cert' in b.log_text()
    assert b.proc.wait(10) == 1
    b.proc = None


def test_reload_with_a_bad_key_is_refused(factory):
    b = factory.broker()
    holder = _holder_pid(b)
    b.tenants['acme'].saml['sp_key'] = b.pki.key('evil')
    b.reload()
    assert env.wait_for(lambda: 'reload refused' in b.log_text() or
                        'keys: ' in b.log_text() and 'does not match' in b.log_text(), 10)
    time.sleep(0.5)
    assert _holder_pid(b) == holder and b.healthy()
    assert 'reload done' not in b.log_text()


def test_holder_that_dies_is_replaced(factory):
    b = factory.broker(workers=2)
    holder = _holder_pid(b)
    os.kill(holder, signal.SIGKILL)
    assert env.wait_for(lambda: (_holder_pid(b) or holder) != holder, 10), b.log_tail()
    e = Env(b, b.dir)
    assert env.wait_for(lambda: b.get('/readyz').status_code == 200, 15)
    assert e.signin('alice@acme.example')['code']
    assert b.alive()


def test_workers_hold_no_audit_key(factory, tmp_path):
    """The audit sealing key ([audit] key_file) lives in the key holder too: records are sealed
    there, over each worker's channel; no worker and not the parent has the epoch key's bytes."""
    if os.geteuid() != 0:
        pytest.skip('reading another process memory needs root')
    import json
    from test_audit_seal import keyed_broker
    e, key, _ = keyed_broker(factory, tmp_path, epoch=3600)
    b = e.b
    assert e.signin('alice@acme.example')['code']
    state = json.loads(open(key).read())     # the holder wrote the state form back at start
    k = bytes.fromhex(state['key'])
    needles = {'key': k, 'key-hex': state['key'].encode()}
    holder = _holder_pid(b)
    workers = [p for p in _children(b.pid) if p != holder]
    assert workers
    for w in workers + [b.pid]:
        assert _found(w, needles) == set(), f'audit key bytes in process {w}'
    assert 'key' in _found(holder, needles)
    assert 'sealed (HMAC-SHA256) by the key holder' in b.log_text()
