/*
 * sso-broker: fuzz target for the form/query parser used by every OAuth
 * endpoint and the ACS (front_params_parse), plus the PKCE and URL
 * helpers it feeds.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Trust: the input is hostile.  No I/O, no clock.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front_int.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct front_params	 p;
	const char		*v;
	char			 s256[BK_TOKEN_LEN + 1];
	char			*u;

	if (front_params_parse((const char *)data, size, &p) != BK_OK)
		return 0;
	/* Whatever parsed must be usable by the endpoints' next steps. */
	if ((v = front_param(&p, "code_verifier")) != NULL && front_pkce_ok(v))
		front_pkce_s256(v, s256);
	if ((v = front_param(&p, "state")) != NULL) {
		u = front_url_add("https://panel.test/cb?x=1", "code", "c", "state", v,
		    NULL, NULL);
		free(u);
	}
	front_params_cleanup(&p);
	return 0;
}
