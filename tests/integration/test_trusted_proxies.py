"""Issue 9 item 8: [server] trusted_proxies.  X-Forwarded-For and Forwarded (RFC 7239) are
believed only when the TCP peer is a trusted proxy; the hops are walked from the right past
trusted proxies; a malformed header leaves the peer, noted.  Every record carries the believed
client (client_addr) and the TCP peer (peer_addr).  The parser's hostile cases are unit tests
(tests/unit/test_proxy.c); these go through the daemon."""
import requests

from sbtest import env
from sbtest.flows import describe


def last_record(b, since, event='assertion'):
    def get():
        recs = [r for r in b.audit()[since:] if r.get('event') == event]
        return recs[-1] if recs else None
    rec = env.wait_for(get, 3)
    assert rec, f'no {event} record'
    return rec


def acs_get(b, headers):
    """A GET on the ACS: refused (405) and recorded, with whatever address was believed."""
    n = len(b.audit())
    s = requests.Session()
    s.trust_env = False
    r = s.get(b.pub + '/t/acme/saml/acs', headers=headers, timeout=10)
    assert r.status_code == 405, r.status_code
    return last_record(b, n)


def test_headers_ignored_without_trusted_proxies(factory):
    b = factory.broker(tenants=[('acme', {})])
    rec = acs_get(b, {'X-Forwarded-For': '198.51.100.7', 'Forwarded': 'for=198.51.100.8'})
    if 'count' in rec:      # aggregated junk keeps the address it was counted under
        assert rec.get('client_addr') == '127.0.0.1', rec
        return
    assert rec.get('client_addr') == '127.0.0.1' and rec.get('peer_addr') == '127.0.0.1', rec
    assert 'client_addr_note' not in rec, rec


def test_trusted_peer_is_walked_past(factory):
    e = factory.env(tenants=[('acme', {})], server_extra={'trusted_proxies': '127.0.0.0/8, 10.0.0.0/8'})
    b = e.b
    # a real sign-in through "the load balancer": both addresses recorded
    br = e.browser()
    br.s.headers['X-Forwarded-For'] = '203.0.113.50, 10.1.2.3'
    n = len(b.audit())
    r = e.signin(browser=br)
    assert r['code'], describe(r['out'])
    rec = last_record(b, n)
    assert rec.get('outcome') == 'accepted', rec
    assert rec.get('client_addr') == '203.0.113.50' and rec.get('peer_addr') == '127.0.0.1', rec
    # forged hops to the left of the client are never believed
    n = len(b.audit())
    t = e.panel().token(r['code'], r['verifier'])
    assert t.status_code == 200, t.text
    rec = acs_get(b, {'X-Forwarded-For': '1.1.1.1, 198.51.100.9'})
    if 'count' not in rec:
        assert rec.get('client_addr') == '198.51.100.9', rec
    # Forwarded, quoted IPv6 with a port
    rec = acs_get(b, {'Forwarded': 'for="[2001:db8:cafe::17]:4711";proto=https'})
    if 'count' not in rec:
        assert rec.get('client_addr') == '2001:db8:cafe::17', rec
        assert rec.get('peer_addr') == '127.0.0.1', rec


def test_malformed_header_leaves_the_peer(factory):
    b = factory.broker(tenants=[('acme', {})], server_extra={'trusted_proxies': '127.0.0.1'})
    for h in ({'X-Forwarded-For': '198.51.100.1, not-an-address'},
              {'Forwarded': 'for="198.51.100.1'},
              {'Forwarded': 'for=unknown'},
              {'X-Forwarded-For': '198.51.100.1', 'Forwarded': 'for=198.51.100.2'}):
        rec = acs_get(b, h)
        assert rec.get('client_addr') == '127.0.0.1', (h, rec)
        if 'count' not in rec:
            assert rec.get('client_addr_note'), (h, rec)
    assert b.healthy()
