/*
 * sso-broker: fuzz target for the audit chain verifier (lib/bk_chain.c),
 * which ssoctl and the broker run on files an intruder may have written.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The input is split at newlines into lines, verified with the key
 * 0x5a x 32 (epoch 0) and one anchor; the corpus holds real sealed lines
 * under that key (tests/corpus/chain_verify/).  Whatever the bytes: no
 * crash, a failure always names its line and kind, every line read is
 * either a record or the failure, the answer is one JSON object, and a
 * second walk over the same lines gives the same verdict.
 * Trust: the fuzzer's bytes stand for an edited audit file.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bk.h"
#include "chain.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fz_walk(const uint8_t *data, size_t size, struct bk_chain_verify *v)
{
	struct bk_chain_key	 k;
	const char		*p = (const char *)data, *end = p + size, *nl;
	size_t			 lineno = 0;

	memset(&k, 0x5a, sizeof(k));
	k.epoch = 0;
	k.start = 0;
	bk_chain_verify_init(v, &k);
	(void)bk_chain_verify_anchor(v, "", 3, "00000000000000000000000000000"
	    "00000000000000000000000000000000000", "fuzz");
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		(void)bk_chain_verify_line(v, ++lineno, p, (size_t)(nl - p));
		p = nl + 1;
	}
	return bk_chain_verify_end(v);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bk_chain_verify	 v, w;
	json_t			*o;
	json_error_t		 err;
	char			*rep = NULL;
	int			 ok;

	if (size > 256 * 1024)
		return 0;
	ok = fz_walk(data, size, &v);
	if (!ok && (v.bad.kind == NULL || v.bad.reason[0] == '\0'))
		abort();
	if (ok && v.records > 0 && v.seq == 0)
		abort();
	if (bk_chain_verify_report(&v, "fuzz", &rep) != BK_OK)
		abort();
	if ((o = json_loads(rep, 0, &err)) == NULL || !json_is_object(o))
		abort();
	json_decref(o);
	free(rep);
	if (fz_walk(data, size, &w) != ok || w.records != v.records ||
	    w.bad.line != v.bad.line)
		abort();
	bk_chain_verify_cleanup(&v);
	bk_chain_verify_cleanup(&w);
	return 0;
}
