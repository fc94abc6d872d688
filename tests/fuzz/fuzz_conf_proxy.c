/*
 * sso-broker: fuzz target for the client address behind trusted proxies
 * (conf_proxy_client): X-Forwarded-For and Forwarded values from a
 * trusted peer.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The input is "X-Forwarded-For value", a NUL, "Forwarded value" (a
 * missing part is an absent header).  Whatever it holds, the answer is an
 * address inet_pton reads back (never header text), the peer whenever a
 * note is given, and the call returns BK_OK exactly when no note is.
 * Trust: the input is hostile.  No I/O, no clock.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "conf.h"

#define FUZZ_PEER	"10.0.0.5"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf *
fuzz_conf(void)
{
	static const char text[] = "[server]\n"
	    "public_url = http://127.0.0.1:8080\n"
	    "trusted_proxies = 10.0.0.0/8, 2001:db8::/32\n"
	    "[audit]\npath = /tmp/audit.jsonl\n"
	    "[admin]\ntoken_file = /tmp/admin.token\n"
	    "[tenants]\ndir = /tmp/tenants.d\n";
	static struct conf	*c;
	char			*errors = NULL;

	if (c == NULL && conf_parse_string(text, sizeof(text) - 1, "f.conf",
	    &c, &errors) != BK_OK)
		abort();
	free(errors);
	return c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c = fuzz_conf();
	char		*buf, out[64];
	unsigned char	 a[16];
	const char	*xff, *fwd = NULL, *note;
	size_t		 n;
	int		 rv;

	if ((buf = malloc(size + 2)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = buf[size + 1] = '\0';
	xff = buf;
	n = strlen(buf);
	if (n < size)
		fwd = buf + n + 1;
	rv = conf_proxy_client(c, FUZZ_PEER, size > 0 ? xff : NULL, fwd, out,
	    sizeof(out), &note);
	if ((rv == BK_OK) != (note == NULL))
		abort();
	if (note != NULL && strcmp(out, FUZZ_PEER) != 0)
		abort();
	if (inet_pton(AF_INET, out, a) != 1 && inet_pton(AF_INET6, out, a) != 1)
		abort();
	free(buf);
	return 0;
}
