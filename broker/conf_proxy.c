/*
 * sso-broker: [server] trusted_proxies: the CIDR list, and the client's
 * address read from X-Forwarded-For or Forwarded (RFC 7239) behind them.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The headers are believed only when the TCP peer is a trusted proxy.
 * The hops are walked from the right (the peer's own claim last): each
 * trusted proxy is skipped, and the first address that is not one is the
 * client; a proxy appends what it saw, so everything to the left of that
 * address is the client's own claim and is never read for the answer.  A
 * hop that does not parse, a hidden one ("unknown", an obfuscated node,
 * an element without for=) or two headers that disagree leave the peer as
 * the client, with a note for the audit record.  Addresses are read with
 * inet_pton() and written back with inet_ntop(), so what is recorded is
 * always a canonical address, never header text.
 * Trust: the CIDR list is operator input; the headers are untrusted.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "conf.h"
#include "conf_int.h"

/* Most hops read from one header; a longer chain is refused. */
#define CONF_PROXY_HOPS		64
/* Longest text of one hop (an IPv6 address in brackets with a port). */
#define CONF_PROXY_HOP_MAX	96

/* One hop of a header. */
struct conf_hop {
	enum { HOP_ADDR = 2, HOP_HIDDEN, HOP_BAD } kind;
	struct conf_cidr ip;	/* HOP_ADDR: bits is the full length */
};

struct conf_hops {
	struct conf_hop	 h[CONF_PROXY_HOPS];
	size_t		 n;
	int		 overflow;
};

/* An address in s[0..len), no port: inet_pton, IPv4-mapped read as IPv4. */
static int
conf_ip_parse(const char *s, size_t len, int v6, struct conf_cidr *out)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0xff, 0xff };
	char	 buf[INET6_ADDRSTRLEN + 1];

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(buf))
		return BK_E_INVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!v6 && inet_pton(AF_INET, buf, out->addr) == 1) {
		out->family = AF_INET;
		out->bits = 32;
		return BK_OK;
	}
	if (inet_pton(AF_INET6, buf, out->addr) != 1)
		return BK_E_INVAL;
	out->family = AF_INET6;
	out->bits = 128;
	if (memcmp(out->addr, mapped, sizeof(mapped)) == 0) {
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
		out->family = AF_INET;
		out->bits = 32;
	}
	return BK_OK;
}

int
conf_cidr_parse(const char *s, struct conf_cidr *out, const char **why)
{
	const char	*slash = strchr(s, '/');
	size_t		 alen = slash ? (size_t)(slash - s) : strlen(s);
	long long	 bits;
	const char	*e;
	int		 i, max;

	*why = NULL;
	if (conf_ip_parse(s, alen, strchr(s, ':') != NULL, out) != BK_OK ||
	    (strchr(s, ':') != NULL) != (out->family == AF_INET6)) {
		*why = "not an IPv4 or IPv6 address (an IPv4-mapped address "
		    "is written as IPv4)";
		return BK_E_INVAL;
	}
	max = out->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' ||
		    bk_strtonum(slash + 1, 0, max, &bits, &e) != BK_OK) {
			*why = "the prefix length is not a number from 0 to "
			    "32 (IPv4) or 128 (IPv6)";
			return BK_E_INVAL;
		}
		out->bits = (int)bits;
	}
	for (i = out->bits; i < max; i++)
		if (out->addr[i / 8] & (0x80 >> (i % 8))) {
			*why = "the address has bits set beyond the prefix "
			    "length";
			return BK_E_INVAL;
		}
	return BK_OK;
}

int
conf_cidr_check(const char *s, const char **why)
{
	struct conf_cidr c;

	return conf_cidr_parse(s, &c, why);
}

static int
conf_cidr_has(const struct conf_cidr *net, const struct conf_cidr *ip)
{
	int	 full = net->bits / 8, rest = net->bits % 8;

	if (net->family != ip->family ||
	    memcmp(net->addr, ip->addr, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((net->addr[full] ^ ip->addr[full]) &
	    (0xff << (8 - rest)) & 0xff) == 0;
}

static int
conf_ip_trusted(const struct conf *c, const struct conf_cidr *ip)
{
	size_t	 i;

	for (i = 0; i < c->n_trusted_proxies; i++)
		if (conf_cidr_has(&c->proxies[i], ip))
			return 1;
	return 0;
}

int
conf_proxy_is_trusted(const struct conf *c, const char *addr)
{
	struct conf_cidr ip;

	if (c->n_trusted_proxies == 0 || conf_ip_parse(addr, strlen(addr),
	    strchr(addr, ':') != NULL, &ip) != BK_OK)
		return 0;
	return conf_ip_trusted(c, &ip);
}

static int
conf_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* ":port", 1 to 5 digits; in Forwarded also an obfuscated ":_port". */
static int
conf_port_ok(const char *s, size_t len, int fwd)
{
	size_t	 i;
	long	 port;

	if (len < 2 || len > 33 || s[0] != ':')
		return 0;
	if (fwd && s[1] == '_') {
		for (i = 2; i < len; i++)
			if (!(conf_is_alnum(s[i]) || s[i] == '.' ||
			    s[i] == '_' || s[i] == '-'))
				return 0;
		return 1;
	}
	if (len > 6)
		return 0;
	for (i = 1, port = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		port = port * 10 + (s[i] - '0');
	}
	return port <= 65535;
}

/*
 * One node: IPv4 [":" port], "[" IPv6 "]" [":" port], a bare IPv6
 * address (X-Forwarded-For only), or, in Forwarded (fwd), "unknown" or
 * an obfuscated "_name" (RFC 7239 6).
 */
static void
conf_hop_parse(const char *s, size_t len, int fwd, struct conf_hop *h)
{
	const char	*colon, *end;

	h->kind = HOP_BAD;
	if (fwd && ((len == 7 && strncasecmp(s, "unknown", 7) == 0) ||
	    (len > 1 && s[0] == '_'))) {
		h->kind = HOP_HIDDEN;
		return;
	}
	if (len > 0 && s[0] == '[') {
		if ((end = memchr(s, ']', len)) == NULL ||
		    conf_ip_parse(s + 1, (size_t)(end - s - 1), 1,
		    &h->ip) != BK_OK || (end + 1 != s + len &&
		    !conf_port_ok(end + 1, (size_t)(s + len - end - 1), fwd)))
			return;
		h->kind = HOP_ADDR;
		return;
	}
	colon = memchr(s, ':', len);
	if (colon != NULL && memchr(colon + 1, ':', (size_t)(s + len - colon -
	    1)) == NULL) {
		/* one colon: IPv4 with a port */
		if (conf_ip_parse(s, (size_t)(colon - s), 0, &h->ip) == BK_OK &&
		    h->ip.family == AF_INET &&
		    conf_port_ok(colon, (size_t)(s + len - colon), fwd))
			h->kind = HOP_ADDR;
		return;
	}
	/* Forwarded quotes an IPv6 node in brackets; a bare one is refused. */
	if (conf_ip_parse(s, len, colon != NULL, &h->ip) == BK_OK &&
	    (colon == NULL || !fwd))
		h->kind = HOP_ADDR;
}

static struct conf_hop *
conf_hops_next(struct conf_hops *hs)
{
	if (hs->n >= CONF_PROXY_HOPS) {
		hs->overflow = 1;
		return NULL;
	}
	return &hs->h[hs->n++];
}

/* X-Forwarded-For: comma-separated nodes; empty list elements skipped. */
static void
conf_xff_parse(const char *v, struct conf_hops *hs)
{
	const char	*s, *next;
	struct conf_hop	*h;
	size_t		 l;

	for (next = v; next != NULL;) {
		s = conf_list_elem(next, &l, &next);
		if (l == 0)
			continue;
		if ((h = conf_hops_next(hs)) == NULL)
			return;
		if (l > CONF_PROXY_HOP_MAX)
			h->kind = HOP_BAD;
		else
			conf_hop_parse(s, l, 0, h);
	}
}

/* RFC 7230 3.2.6 tchar. */
static int
conf_is_tchar(char c)
{
	return conf_is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/*
 * One value at *p, a token or a quoted-string (RFC 7230 3.2.6), unquoted
 * into buf.  BK_E_INVAL for anything else or a value over size - 1.
 */
static int
conf_fwd_value(const char **p, char *buf, size_t size)
{
	const char	*s = *p;
	size_t		 n = 0;

	if (*s != '"') {
		while (conf_is_tchar(*s) && n + 1 < size)
			buf[n++] = *s++;
		buf[n] = '\0';
		*p = s;
		return n > 0 && !conf_is_tchar(*s) ? BK_OK : BK_E_INVAL;
	}
	for (s++; *s != '"'; s++) {
		if (*s == '\\')
			s++;
		/* qdtext or a quoted-pair's char: HTAB, SP, VCHAR */
		if ((*s != '\t' && ((unsigned char)*s < 0x20 ||
		    (unsigned char)*s > 0x7e)) || n + 1 >= size)
			return BK_E_INVAL;
		buf[n++] = *s;
	}
	buf[n] = '\0';
	*p = s + 1;
	return BK_OK;
}

/*
 * One forwarded-pair at *p (RFC 7239 4): token "=" value.  A for= is
 * parsed into *h; a second one in the element is malformed.
 */
static int
conf_fwd_pair(const char **p, struct conf_hop *h, int *has_for)
{
	char		 name[16], val[CONF_PROXY_HOP_MAX + 1];
	size_t		 n = 0;
	const char	*s = *p;

	while (conf_is_tchar(*s) && n + 1 < sizeof(name))
		name[n++] = *s++;
	name[n] = '\0';
	if (n == 0 || *s++ != '=')
		return BK_E_INVAL;
	if (conf_fwd_value(&s, val, sizeof(val)) != BK_OK)
		return BK_E_INVAL;
	*p = s;
	if (strcasecmp(name, "for") != 0)
		return BK_OK;
	if ((*has_for)++)
		return BK_E_INVAL;
	conf_hop_parse(val, strlen(val), 1, h);
	return BK_OK;
}

/* One forwarded-element at *p, up to the "," or the end, into *h. */
static int
conf_fwd_element(const char **p, struct conf_hop *h, int *any)
{
	int	 has_for = 0;

	memset(h, 0, sizeof(*h));
	h->kind = HOP_HIDDEN;
	*any = 0;
	for (;;) {
		while (**p == ' ' || **p == '\t')
			(*p)++;
		if (**p == ',' || **p == '\0')
			return BK_OK;
		if (**p == ';') {
			(*p)++;
			continue;
		}
		if (conf_fwd_pair(p, h, &has_for) != BK_OK)
			return BK_E_INVAL;
		*any = 1;
		while (**p == ' ' || **p == '\t')
			(*p)++;
		if (**p != ';' && **p != ',' && **p != '\0')
			return BK_E_INVAL;
	}
}

/*
 * Forwarded: elements separated by ",", pairs by ";".  An element without
 * for= hides its node.  A header whose syntax breaks is one bad hop: the
 * elements after the break cannot be told apart any more.
 */
static void
conf_fwd_parse(const char *v, struct conf_hops *hs)
{
	const char	*p = v;
	struct conf_hop	 h;
	int		 any;

	for (;;) {
		if (conf_fwd_element(&p, &h, &any) != BK_OK) {
			hs->n = 0;
			hs->overflow = 0;
			hs->h[hs->n++].kind = HOP_BAD;
			return;
		}
		if (any && conf_hops_next(hs) != NULL)
			hs->h[hs->n - 1] = h;
		if (*p++ == '\0')
			return;
	}
}

/* Why a header names no client: conf_proxy_notes[header][why]. */
enum conf_hops_why { WHY_LONG, WHY_BAD, WHY_HIDDEN, WHY_EMPTY };

static const char *const conf_proxy_notes[2][4] = {
	{ "X-Forwarded-For has too many hops; the peer is recorded",
	  "X-Forwarded-For is malformed; the peer is recorded",
	  "X-Forwarded-For hides the client; the peer is recorded",
	  "X-Forwarded-For is empty; the peer is recorded" },
	{ "Forwarded has too many hops; the peer is recorded",
	  "Forwarded is malformed; the peer is recorded",
	  "Forwarded hides the client (unknown, obfuscated or no for=); "
	  "the peer is recorded",
	  "Forwarded is empty; the peer is recorded" },
};

/*
 * From the right: trusted proxies skipped, the first other address is
 * the client; all trusted: the leftmost.  Else -1 - the reason.
 */
static int
conf_hops_walk(const struct conf *c, const struct conf_hops *hs,
    struct conf_cidr *client)
{
	size_t	 i;

	if (hs->overflow)
		return -1 - WHY_LONG;
	for (i = hs->n; i-- > 0;) {
		if (hs->h[i].kind != HOP_ADDR)
			return -1 - (hs->h[i].kind == HOP_BAD ? WHY_BAD :
			    WHY_HIDDEN);
		*client = hs->h[i].ip;
		if (!conf_ip_trusted(c, client))
			return 0;
	}
	return hs->n == 0 ? -1 - WHY_EMPTY : 0;
}

static void
conf_ip_format(const struct conf_cidr *ip, char *out, size_t size)
{
	char	 buf[INET6_ADDRSTRLEN];

	if (inet_ntop(ip->family, ip->addr, buf, sizeof(buf)) == NULL)
		snprintf(buf, sizeof(buf), "-");
	snprintf(out, size, "%s", buf);
}

/* The client one header names, or BK_E_INVAL and its note. */
static int
conf_proxy_header(const struct conf *c, const char *v, int fwd,
    struct conf_cidr *client, const char **note)
{
	struct conf_hops *hs;
	int		  w;

	if ((hs = calloc(1, sizeof(*hs))) == NULL) {
		*note = "out of memory reading the forwarding header; the "
		    "peer is recorded";
		return BK_E_NOMEM;
	}
	if (fwd)
		conf_fwd_parse(v, hs);
	else
		conf_xff_parse(v, hs);
	w = conf_hops_walk(c, hs, client);
	free(hs);
	if (w == 0)
		return BK_OK;
	*note = conf_proxy_notes[fwd][-1 - w];
	return BK_E_INVAL;
}

int
conf_proxy_client(const struct conf *c, const char *peer, const char *xff,
    const char *fwd, char *out, size_t size, const char **note)
{
	struct conf_cidr ip, a, b;

	*note = NULL;
	if (conf_ip_parse(peer, strlen(peer), strchr(peer, ':') != NULL,
	    &ip) != BK_OK) {
		snprintf(out, size, "%s", peer);	/* not an IP socket */
		return BK_OK;
	}
	conf_ip_format(&ip, out, size);
	if (!conf_ip_trusted(c, &ip) || (xff == NULL && fwd == NULL))
		return BK_OK;
	if (xff != NULL && conf_proxy_header(c, xff, 0, &a, note) != BK_OK)
		return BK_E_INVAL;
	if (fwd != NULL && conf_proxy_header(c, fwd, 1, &b, note) != BK_OK)
		return BK_E_INVAL;
	if (xff != NULL && fwd != NULL && (a.family != b.family ||
	    memcmp(a.addr, b.addr, sizeof(a.addr)) != 0)) {
		*note = "X-Forwarded-For and Forwarded name different clients; "
		    "the peer is recorded";
		return BK_E_INVAL;
	}
	conf_ip_format(xff != NULL ? &a : &b, out, size);
	return BK_OK;
}
