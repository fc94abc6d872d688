"""A Redis primary, a replica and three Sentinels on loopback, the broker under sign-in load, and a
forced failover (issue 12 item 7).  Used by tests/integration/test_redis_ha.py (short) and
bench/redis_failover.sh (longer, HA_LOAD_SECONDS).

Every client thread runs whole sign-ins: SP-initiated login, a signed SAML Response from the XML
IdP, the Allow page where the policy asks, the code, and the panel's token request.  Each attempt
is recorded with its time and how it ended; each code handed out is kept with its PKCE verifier
and the request ids of the code and token answers (X-Request-Id), so the audit can be matched
record by record afterwards."""
import collections
import re
import threading
import time

import requests

from . import env
from .browser import code_from
from .flows import Env
from .procs import Redis, Sentinel


class Cluster:
    """primary + replica + 3 sentinels (quorum 2), stopped by stop()."""

    def __init__(self, d):
        self.primary = Redis(d / 'primary')
        self.replica = Redis(d / 'replica', extra=['--replicaof', '127.0.0.1', str(self.primary.port)])
        self.sentinels = []
        try:
            self.sentinels = [Sentinel(d / f'sentinel{i}', self.primary.port, quorum=2)
                              for i in range(3)]
            if not env.wait_for(lambda: all(s.knows_replica(self.replica.port)
                                            for s in self.sentinels), 20):
                raise RuntimeError('the sentinels did not find the replica')
        except Exception:
            self.stop()
            raise

    def sentinel_list(self):
        return ', '.join(f'127.0.0.1:{s.port}' for s in self.sentinels)

    def master_port(self):
        ports = [s.master_port_now() for s in self.sentinels]
        return collections.Counter(p for p in ports if p).most_common(1)[0][0]

    def stop(self):
        for s in self.sentinels:
            s.stop()
        self.replica.stop()
        self.primary.stop()


class Load:
    """n threads of whole sign-ins; attempts[i] = (t_start, t_end, outcome)."""

    def __init__(self, e, n=4, tenant='acme'):
        self.e, self.n, self.tenant = e, n, tenant
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.attempts = []
        self.errors = []
        self.codes = []       # (code, verifier, code request id, token request id or None)
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(n)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self, timeout=30):
        self.stop.set()
        for t in self.threads:
            t.join(timeout)

    def _one(self, user):
        e = self.e
        r = e.signin(user, self.tenant)
        resp = r['out'].resp
        if not r['code']:
            return f'signin {resp.status_code}', None
        code_rid = resp.headers.get('X-Request-Id')
        t = e.panel(self.tenant).token(r['code'], r['verifier'])
        rec = [r['code'], r['verifier'], code_rid, None]
        with self.lock:
            self.codes.append(rec)
        if t.status_code != 200:
            return f'token {t.status_code}', rec
        rec[3] = t.headers.get('X-Request-Id')
        return 'ok', rec

    def _run(self, i):
        users = ['alice@acme.example', 'bob@acme.example']
        k = 0
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                outcome, _ = self._one(users[(i + k) % len(users)])
            except requests.RequestException as ex:
                outcome = f'connection {type(ex).__name__}'
            except AssertionError as ex:
                # start_login's "not sent to the IdP": the authorize answer's status
                m = re.search(r' (\d{3}) <', str(ex))
                outcome = f'authorize {m.group(1)}' if m else 'flow AssertionError'
                if not m:
                    with self.lock:
                        self.errors.append(str(ex)[-400:])
            except (KeyError, ValueError) as ex:
                outcome = f'flow {type(ex).__name__}'
                with self.lock:
                    self.errors.append(repr(ex)[-400:])
            k += 1
            with self.lock:
                self.attempts.append((t0, time.monotonic(), outcome))
            if outcome != 'ok':
                time.sleep(0.05)    # a client that was told 503 waits a little

    # -- what the run showed
    def outcomes(self):
        return collections.Counter(a[2] for a in self.attempts)

    def gap_around(self, t):
        """The longest time without a completed sign-in in the 30 s after t (seconds)."""
        ok = sorted(a[1] for a in self.attempts if a[2] == 'ok')
        before = [x for x in ok if x <= t]
        after = [x for x in ok if x > t]
        points = ([before[-1]] if before else [t]) + [x for x in after if x <= t + 30]
        return max((b - a for a, b in zip(points, points[1:])), default=float('inf'))


def run(b, d, seconds_before=2.0, seconds_after=4.0, threads=4):
    """The failover under load; returns a dict of figures and the lists the checks need."""
    e = Env(b, str(d))
    load = Load(e, threads)
    load.start()
    time.sleep(seconds_before)
    cl = b.ha_cluster
    old = cl.master_port()
    t_fail = time.monotonic()
    assert cl.sentinels[0].cli(0, 'SENTINEL', 'FAILOVER', 'sbmaster') == 'OK'
    assert env.wait_for(lambda: cl.master_port() != old, 20), 'no failover'
    t_new = time.monotonic()
    # What Sentinel does to the old primary: it follows the new one.
    time.sleep(seconds_after)
    load.finish()
    return {'env': e, 'load': load, 'failover_at': t_fail,
            'sentinel_switch_s': t_new - t_fail, 'gap_s': load.gap_around(t_fail),
            'outcomes': load.outcomes(), 'attempts': len(load.attempts)}


def check(res):
    """No code redeems twice; every completed sign-in has its audit records; figures back."""
    e, load = res['env'], res['load']
    b = e.b
    # Each code that gave a token: one more redemption must fail.  (A code whose redemption was
    # refused with a 503 gave no token: a later redemption is its first.)
    twice = [c for c, v, _, tok in load.codes
             if tok is not None and e.panel().token(c, v).status_code == 200]
    recs = b.audit()
    issued = {r.get('request_id') for r in recs
              if r.get('event') == 'code_issued' and r.get('outcome') == 'accepted'}
    redeemed = {r.get('request_id') for r in recs
                if r.get('event') == 'code_redeemed' and r.get('outcome') == 'accepted'}
    completed = [x for x in load.codes if x[3] is not None]
    no_issue_rec = [x for x in load.codes if x[2] not in issued]
    no_redeem_rec = [x for x in completed if x[3] not in redeemed]
    return {'codes_twice': len(twice), 'completed': len(completed),
            'codes_handed_out': len(load.codes), 'codes_without_issue_record': len(no_issue_rec),
            'completed_without_redeem_record': len(no_redeem_rec)}


def report(res, chk):
    o = res['outcomes']
    fails = {k: v for k, v in o.items() if k != 'ok'}
    return '\n'.join([
        f"attempts: {res['attempts']}, completed sign-ins: {o.get('ok', 0)}",
        f"failed attempts: {sum(fails.values())} {dict(sorted(fails.items()))}",
        f"sentinels named the new primary after {res['sentinel_switch_s']:.2f} s",
        f"longest gap without a completed sign-in: {res['gap_s']:.2f} s",
        f"codes handed out: {chk['codes_handed_out']}, redeemed twice: {chk['codes_twice']}",
        f"codes without a code_issued record: {chk['codes_without_issue_record']}",
        f"completed sign-ins without a code_redeemed record: "
        f"{chk['completed_without_redeem_record']}",
    ])
