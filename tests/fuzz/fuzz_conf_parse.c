/*
 * sso-broker: fuzz target for the configuration parser.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Feeds the input as broker.conf text to conf_parse_string(): the line
 * reader, the inih glue, every value type and validator, the defaults and
 * the cross-field checks, without touching the disk (tenants and secrets
 * are not loaded there).  On success the conf_dump() output must parse
 * again: the dump is documented as a valid config.
 * Trust: the input is arbitrary bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bk.h"
#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c = NULL, *c2 = NULL;
	char		*errs = NULL, *out = NULL;
	size_t		 outlen = 0;
	FILE		*fp;

	if (size > 64 * 1024)
		return 0;
	if (conf_parse_string((const char *)data, size, "fuzz.conf", &c,
	    &errs) != BK_OK) {
		free(errs);
		return 0;
	}
	if ((fp = open_memstream(&out, &outlen)) != NULL) {
		conf_dump(c, fp);
		if (fclose(fp) == 0) {
			if (conf_parse_string(out, outlen, "dump.conf", &c2,
			    &errs) != BK_OK)
				abort();	/* the dump must re-parse */
			conf_free(c2);
		}
		free(out);
	}
	conf_free(c);
	return 0;
}
