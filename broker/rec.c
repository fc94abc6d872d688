/*
 * sso-broker: stored records, one strict versioned parser and writer.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * One table per kind names each field, its JSON type, its place in the
 * struct and whether it is required; rec_read() and rec_write() walk the
 * same table, so a field cannot be written under one name and read under
 * another.  JSON is jansson's (duplicate keys refused, NUL refused).
 * Trust: see rec.h.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bk.h"
#include "rec.h"

enum rec_type { RT_STR, RT_TIME, RT_BOOL, RT_GEN };

struct rec_field {
	const char	*name;
	enum rec_type	 type;
	size_t		 off;
	int		 required;
};

#define F(st, name, type, req) { #name, type, offsetof(st, name), req }

static const struct rec_field rec_signin_f[] = {
	F(struct rec_signin, rid, RT_STR, 1),
	F(struct rec_signin, bind, RT_STR, 1),
	F(struct rec_signin, client_id, RT_STR, 0),
	F(struct rec_signin, redirect_uri, RT_STR, 0),
	F(struct rec_signin, state, RT_STR, 0),
	F(struct rec_signin, challenge, RT_STR, 0),
	F(struct rec_signin, nonce, RT_STR, 0),
	F(struct rec_signin, verifier, RT_STR, 0),
	F(struct rec_signin, user, RT_STR, 0),
	F(struct rec_signin, purpose, RT_STR, 0),
	{ NULL, RT_STR, 0, 0 }
};

static const struct rec_field rec_session_f[] = {
	F(struct rec_session, internal_id, RT_STR, 1),
	F(struct rec_session, user, RT_STR, 1),
	F(struct rec_session, sfdc_key, RT_STR, 1),
	F(struct rec_session, exp, RT_TIME, 1),
	F(struct rec_session, issuer, RT_STR, 0),
	F(struct rec_session, assertion_id, RT_STR, 0),
	F(struct rec_session, gen, RT_GEN, 1),
	F(struct rec_session, name_id, RT_STR, 0),
	F(struct rec_session, nid_format, RT_STR, 0),
	F(struct rec_session, nid_nq, RT_STR, 0),
	F(struct rec_session, nid_spnq, RT_STR, 0),
	F(struct rec_session, session_index, RT_STR, 0),
	{ NULL, RT_STR, 0, 0 }
};

static const struct rec_field rec_grant_f[] = {
	F(struct rec_grant, tenant, RT_STR, 1),
	F(struct rec_grant, internal_id, RT_STR, 1),
	F(struct rec_grant, user, RT_STR, 1),
	F(struct rec_grant, sfdc_key, RT_STR, 1),
	F(struct rec_grant, extension, RT_STR, 0),
	F(struct rec_grant, client_id, RT_STR, 0),
	F(struct rec_grant, redirect_uri, RT_STR, 0),
	F(struct rec_grant, challenge, RT_STR, 0),
	F(struct rec_grant, state, RT_STR, 0),
	F(struct rec_grant, sess, RT_STR, 0),
	F(struct rec_grant, sess_exp, RT_TIME, 1),
	F(struct rec_grant, idp_init, RT_BOOL, 1),
	F(struct rec_grant, gen, RT_GEN, 1),
	{ NULL, RT_STR, 0, 0 }
};

static const struct rec_field rec_token_f[] = {
	F(struct rec_token, tenant, RT_STR, 1),
	F(struct rec_token, client_id, RT_STR, 1),
	F(struct rec_token, internal_id, RT_STR, 1),
	F(struct rec_token, user, RT_STR, 1),
	F(struct rec_token, extension, RT_STR, 0),
	F(struct rec_token, sfdc_key, RT_STR, 1),
	F(struct rec_token, iat, RT_TIME, 1),
	F(struct rec_token, exp, RT_TIME, 1),
	F(struct rec_token, gen, RT_GEN, 1),
	{ NULL, RT_STR, 0, 0 }
};

static const struct rec_field rec_tomb_f[] = {
	F(struct rec_tomb, tok, RT_STR, 1),
	F(struct rec_tomb, internal_id, RT_STR, 1),
	F(struct rec_tomb, user, RT_STR, 1),
	{ NULL, RT_STR, 0, 0 }
};

#undef F

static const struct {
	const char		*name;
	const struct rec_field	*f;
	size_t			 size;
} rec_kinds[REC_NKINDS] = {
	[REC_SIGNIN] = { "signin", rec_signin_f, sizeof(struct rec_signin) },
	[REC_SESSION] = { "session", rec_session_f,
	    sizeof(struct rec_session) },
	[REC_GRANT] = { "grant", rec_grant_f, sizeof(struct rec_grant) },
	[REC_TOKEN] = { "token", rec_token_f, sizeof(struct rec_token) },
	[REC_TOMB] = { "tombstone", rec_tomb_f, sizeof(struct rec_tomb) },
};

const char *
rec_kind_name(enum rec_kind k)
{
	return k < REC_NKINDS ? rec_kinds[k].name : "?";
}

int
rec_gen_ok(const char *s, size_t len)
{
	size_t	 i, dot = 0;

	if (s == NULL || len == 0 || len > REC_GEN_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && dot == 0 && i > 0 && i + 1 < len) {
			dot = i;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

static const struct rec_field *
rec_field_find(const struct rec_field *f, const char *name)
{
	for (; f->name != NULL; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

/* One field from v into the struct at base; *why on a refusal. */
static int
rec_field_read(const struct rec_field *f, json_t *v, char *base,
    const char **why)
{
	const char	*s;
	size_t		 len;

	switch (f->type) {
	case RT_STR:
		if (!json_is_string(v) ||
		    (len = json_string_length(v)) > REC_STR_MAX) {
			*why = "a string field is not a string or too long";
			return BK_E_STORE_RECORD;
		}
		s = json_string_value(v);
		if ((*(char **)(void *)(base + f->off) = bk_strdup(s)) == NULL)
			return BK_E_NOMEM;
		return BK_OK;
	case RT_TIME:
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			*why = "a time field is not a non-negative integer";
			return BK_E_STORE_RECORD;
		}
		*(time_t *)(void *)(base + f->off) =
		    (time_t)json_integer_value(v);
		return BK_OK;
	case RT_BOOL:
		if (!json_is_boolean(v)) {
			*why = "a flag is not a boolean";
			return BK_E_STORE_RECORD;
		}
		*(int *)(void *)(base + f->off) = json_is_true(v);
		return BK_OK;
	case RT_GEN:
		s = json_string_value(v);
		if (s == NULL || !rec_gen_ok(s, json_string_length(v))) {
			*why = "the generation is not a decimal string";
			return BK_E_STORE_RECORD;
		}
		memcpy(base + f->off, s, json_string_length(v) + 1);
		return BK_OK;
	}
	return BK_E_STORE_RECORD;
}

/* Every key known and well typed, every required field present. */
static int
rec_fields_read(const struct rec_field *tab, json_t *o, char *base,
    const char **why)
{
	const struct rec_field	*f;
	const char		*key;
	json_t			*v;
	int			 rv;

	json_object_foreach(o, key, v) {
		if (strcmp(key, "v") == 0)
			continue;
		if ((f = rec_field_find(tab, key)) == NULL) {
			*why = "unknown field";
			return BK_E_STORE_RECORD;
		}
		if (json_is_null(v) && !f->required)
			continue;
		if ((rv = rec_field_read(f, v, base, why)) != BK_OK)
			return rv;
	}
	for (f = tab; f->name != NULL; f++)
		if (f->required && json_object_get(o, f->name) == NULL) {
			*why = "a required field is missing";
			return BK_E_STORE_RECORD;
		}
	return BK_OK;
}

int
rec_read(enum rec_kind k, const char *p, size_t len, void *out,
    const char **why)
{
	const char	*dummy;
	json_t		*o, *v;
	json_error_t	 err;
	int		 rv = BK_E_STORE_RECORD;

	if (why == NULL)
		why = &dummy;
	*why = "not a JSON object";
	if (k >= REC_NKINDS)
		return BK_E_STORE_RECORD;
	memset(out, 0, rec_kinds[k].size);
	if (p == NULL ||
	    (o = json_loadb(p, len, JSON_REJECT_DUPLICATES, &err)) == NULL)
		return BK_E_STORE_RECORD;
	if (!json_is_object(o))
		goto out;
	v = json_object_get(o, "v");
	if (!json_is_integer(v) || json_integer_value(v) != REC_VERSION) {
		*why = "unknown record version";
		goto out;
	}
	rv = rec_fields_read(rec_kinds[k].f, o, out, why);
 out:
	json_decref(o);
	if (rv != BK_OK)
		rec_cleanup(k, out);
	return rv;
}

/* One field of the struct at base into o; a NULL string is left out. */
static int
rec_field_write(const struct rec_field *f, const char *base, json_t *o)
{
	const char	*s;
	json_t		*v = NULL;

	switch (f->type) {
	case RT_STR:
		if ((s = *(char *const *)(const void *)(base + f->off)) ==
		    NULL)
			return f->required ? BK_E_STORE_RECORD : BK_OK;
		v = json_string(s);
		break;
	case RT_TIME:
		v = json_integer((json_int_t)*(const time_t *)(const void *)
		    (base + f->off));
		break;
	case RT_BOOL:
		v = json_boolean(*(const int *)(const void *)(base + f->off));
		break;
	case RT_GEN:
		s = base + f->off;
		v = json_string(s[0] != '\0' ? s : "0");
		break;
	}
	if (v == NULL || json_object_set_new(o, f->name, v) != 0)
		return BK_E_NOMEM;
	return BK_OK;
}

char *
rec_write(enum rec_kind k, const void *in)
{
	const struct rec_field	*f;
	json_t			*o;
	char			*s = NULL;

	if (k >= REC_NKINDS || (o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "v", json_integer(REC_VERSION)) != 0)
		goto out;
	for (f = rec_kinds[k].f; f->name != NULL; f++)
		if (rec_field_write(f, in, o) != BK_OK)
			goto out;
	s = json_dumps(o, JSON_COMPACT);
 out:
	json_decref(o);
	return s;
}

void
rec_cleanup(enum rec_kind k, void *rec)
{
	const struct rec_field	*f;
	char			*base = rec;

	if (k >= REC_NKINDS || rec == NULL)
		return;
	for (f = rec_kinds[k].f; f->name != NULL; f++)
		if (f->type == RT_STR)
			bk_strfree_secret(*(char **)(void *)(base + f->off));
	memset(rec, 0, rec_kinds[k].size);
}
