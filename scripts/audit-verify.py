#!/usr/bin/python3
"""A reference verifier of sso-broker's audit chain, written from docs/security.md
("Audit seal") alone, so that a security team can check the files without our C code.

    audit-verify.py [--key-file K] [--head [CHAIN:]SEQ:HASH] FILE...   (oldest file first)

Exit 0 when every link (and, with the initial key, every seal) holds, else 1 with the first
bad record named.  Python 3 standard library only.  The functions (canon, seal, key_at,
verify) are also what tests/integration/test_audit_seal.py uses to play the attacker."""
import hashlib
import hmac
import json
import sys

GENESIS = '0' * 64
LABEL = b'sso-broker audit epoch '
_ESC = {'"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t'}


def _str(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in _ESC:
            out.append(_ESC[ch])
        elif o < 0x20:
            out.append('\\u%04X' % o)
        elif o < 0x80:
            out.append(ch)
        elif o < 0x10000:
            out.append('\\u%04X' % o)
        else:                               # a surrogate pair, upper-case hex
            o -= 0x10000
            out.append('\\u%04X\\u%04X' % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
    out.append('"')
    return ''.join(out)


def canon(v):
    """The canonical text: compact, keys sorted by their UTF-8 bytes, ASCII only."""
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode('utf-8'))
        return '{' + ','.join(_str(k) + ':' + canon(v[k]) for k in keys) + '}'
    if isinstance(v, list):
        return '[' + ','.join(canon(x) for x in v) + ']'
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    if v is None:
        return 'null'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return _str(v)
    raise ValueError('no real numbers in a record')


def key_step(key, epoch, to):
    """K_{e+1} = HMAC-SHA256(K_e, "sso-broker audit epoch " decimal(e+1)), up to epoch to."""
    while epoch < to:
        epoch += 1
        key = hmac.new(key, LABEL + str(epoch).encode(), hashlib.sha256).digest()
    return key


def load_key(text):
    """(epoch, key bytes) of a key file: 64 hex digits (epoch 0), or {"epoch","key","start"}."""
    text = text.strip()
    if text.startswith('{'):
        o = json.loads(text)
        return int(o['epoch']), bytes.fromhex(o['key'])
    if len(text) != 64:
        raise ValueError('not an audit key')
    return 0, bytes.fromhex(text)


def seal(rec, key=None):
    """The "hash" of rec (a dict; its own "hash" is ignored) with the epoch key, or SHA-256."""
    body = {k: v for k, v in rec.items() if k != 'hash'}
    msg = rec['prev'].encode('ascii') + b'\n' + canon(body).encode('ascii')
    if key is None:
        return hashlib.sha256(msg).hexdigest()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def _pairs(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError('duplicate key ' + k)
        d[k] = v
    return d


def verify(paths, key=None, head=None):
    """(ok, message).  key: (epoch, bytes) of the initial key or None; head: (chain, seq, hash)."""
    last, kep, kb, seen = None, None, None, None
    if key:
        kep, kb = key
    for path in paths:
        with open(path, 'rb') as f:
            lines = f.read().split(b'\n')
        if lines and lines[-1] == b'':
            lines.pop()
        for n, raw in enumerate(lines, 1):
            where = f'{path} line {n}'
            try:
                r = json.loads(raw.decode('ascii'), object_pairs_hook=_pairs)
            except ValueError:
                return False, f'{where}: not a JSON record'
            hmac_seal = r.get('seal') == 'hmac-sha256'
            if hmac_seal and kb is not None and r['epoch'] >= kep:
                kb, kep = key_step(kb, kep, r['epoch']), r['epoch']
                if not hmac.compare_digest(seal(r, kb), r['hash']):
                    return False, f'{where} (seq {r["seq"]}, epoch {r["epoch"]}): the seal does not hold'
            elif not hmac_seal and not hmac.compare_digest(seal(r), r['hash']):
                return False, f'{where} (seq {r["seq"]}): the hash does not hold'
            fresh = last is None or (r['seq'] == 1 and r['prev'] == GENESIS)
            if not fresh:
                if r['chain'] != last['chain'] or r['seq'] != last['seq'] + 1:
                    return False, f'{where}: seq {r["seq"]} of chain {r["chain"]} after seq {last["seq"]}'
                if r['prev'] != last['hash']:
                    return False, f'{where}: does not link to seq {last["seq"]} (edited or replaced)'
                if 'epoch' in last and r.get('epoch', -1) < last['epoch']:
                    return False, f'{where}: epoch {r.get("epoch")} after epoch {last["epoch"]}'
            if head and r['seq'] == head[1] and (not head[0] or head[0] == r['chain']):
                seen = r['hash']
            last = r
    if head:
        if seen is None and (last is None or last['seq'] < head[1]):
            return False, f'records up to seq {head[1]} are cut off the end'
        if seen is not None and seen != head[2]:
            return False, f'seq {head[1]} is not the anchored head'
    return True, f'ok: {last["seq"] if last else 0} is the last seq'


def main(argv):
    key, head, paths, i = None, None, [], 0
    while i < len(argv):
        if argv[i] == '--key-file':
            with open(argv[i + 1]) as f:
                key = load_key(f.read())
            i += 2
        elif argv[i] == '--head':
            parts = argv[i + 1].split(':')
            chain = parts[0] if len(parts) == 3 else ''
            head = (chain, int(parts[-2]), parts[-1])
            i += 2
        else:
            paths.append(argv[i])
            i += 1
    ok, msg = verify(paths, key, head)
    print(msg if ok else 'BROKEN: ' + msg)
    if key is None:
        print('seals not checked (no --key-file)')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
