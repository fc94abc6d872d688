/*
 * sso-broker: fuzz target for the audit writer (audit_write_line) and the
 * chain check that reads its records back (audit_verify).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The input is split at NUL bytes into the record's fields (an empty
 * field is left out).  Whatever the bytes, no decision may lose its
 * record: both writes must succeed, each line must parse as JSON, a field
 * that was valid UTF-8 and short must come back unchanged, every other
 * one valid and capped, and the file must verify as one chain of two.
 * The file is a memfd (no disk); the clock is not asserted on.
 * Trust: the fuzzer's bytes stand for attacker-chosen field values
 * (client_id, a StatusCode, an element name in a reason text, ...).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "bk.h"

#define FZ_NFIELDS	13

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fz_keys[FZ_NFIELDS] = {
	"event", "outcome", "reason", "tenant", "issuer", "user",
	"internal_id", "assertion_id", "client_id", "client_addr",
	"request_id", "cert_fingerprint", "detail",
};
/* Each field's cap in audit_rec_obj(): a shorter value reads back exact. */
static const size_t fz_caps[FZ_NFIELDS] = {
	64, 16, 64, 64, 512, 512, 256, 256, 256, 64, 64, 128, 2048,
};

static void
fz_rec(struct audit_rec *r, char *f[FZ_NFIELDS])
{
	const char	**p[FZ_NFIELDS] = {
		&r->event, &r->outcome, &r->reason, &r->tenant, &r->issuer,
		&r->user, &r->internal_id, &r->assertion_id, &r->client_id,
		&r->client_addr, &r->request_id, &r->cert_fingerprint,
		&r->detail,
	};
	int		  i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < FZ_NFIELDS; i++)
		*p[i] = f[i];
}

/* The line as read back must hold every field, exact when it can be. */
static void
fz_check_line(const char *line, char *f[FZ_NFIELDS])
{
	json_t		*o, *in;
	json_error_t	 err;
	const char	*v;
	int		 i;

	if ((o = json_loads(line, JSON_REJECT_DUPLICATES, &err)) == NULL)
		abort();
	for (i = 0; i < FZ_NFIELDS; i++) {
		v = json_string_value(json_object_get(o, fz_keys[i]));
		if (f[i] == NULL) {
			if (v != NULL)
				abort();
			continue;
		}
		if (v == NULL || *v == '\0')
			abort();
		/* jansson is the judge of "valid UTF-8", not the writer. */
		in = json_string(f[i]);
		if (in != NULL && strlen(f[i]) < fz_caps[i] - 4 &&
		    strcmp(v, f[i]) != 0)
			abort();
		json_decref(in);
	}
	json_decref(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int			 mfd = -1;
	char				 path[64], *buf, *f[FZ_NFIELDS];
	char				*line;
	struct audit			*a;
	struct audit_rec		 r;
	struct audit_verify_result	 vr;
	size_t				 i, start;
	int				 n, k;

	if (mfd < 0 && (mfd = memfd_create("fuzz_audit", MFD_CLOEXEC)) < 0)
		abort();
	if (ftruncate(mfd, 0) != 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	memset(f, 0, sizeof(f));
	for (i = start = 0, n = 0; i <= size && n < FZ_NFIELDS; i++) {
		if (i < size && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		f[n++] = i > start ? buf + start : NULL;
		start = i + 1;
	}
	if (audit_open(path, &a) != BK_OK)
		abort();
	fz_rec(&r, f);
	for (k = 0; k < 2; k++) {
		if (audit_write_line(a, &r, &line) != BK_OK || line == NULL)
			abort();
		fz_check_line(line, f);
		free(line);
	}
	if (audit_verify(a, &vr) != BK_OK || !vr.ok || vr.records != 2)
		abort();
	audit_free(a);
	free(buf);
	return 0;
}
