/*
 * sso-broker: the console's one-time sign-in grants (store_cgrant.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Key: {tenant}:cgrant:<sha256(code)>, a JSON object {user, role}, set
 * with EX and taken with GETDEL, so a code redeems exactly once even when
 * two admin listeners race for it.
 * Trust: the record is ours; it is still parsed strictly.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bk.h"
#include "store_cgrant.h"
#include "store_int.h"

struct sc_call {
	store_console_put_cb	*put;
	store_console_take_cb	*take;
	void			*arg;
};

static struct sc_call *
sc_call_new(void *arg)
{
	struct sc_call	*c = calloc(1, sizeof(*c));

	if (c != NULL)
		c->arg = arg;
	return c;
}

static void
sc_put_done(int rv, const struct store_reply *r, void *arg)
{
	struct sc_call	*c = arg;

	if (rv == BK_OK && store_reply_type(r) != STORE_R_STATUS)
		rv = BK_E_STORE_RECORD;
	c->put(c->arg, rv);
	free(c);
}

void
store_console_grant_put(struct store *s, const char *tenant,
    const char *code, const struct store_console_grant *g,
    store_console_put_cb *cb, void *arg)
{
	struct sc_call	*c;
	const char	*argv[5];
	char		*key = NULL, *val = NULL, ttl[16];
	json_t		*o;
	int		 rv = BK_E_NOMEM;

	if ((c = sc_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	c->put = cb;
	o = json_pack("{s:s, s:s}", "user", g->user, "role", g->role);
	if (o != NULL)
		val = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	key = store_key_digest(tenant, "cgrant", code);
	snprintf(ttl, sizeof(ttl), "%d", STORE_CONSOLE_GRANT_TTL);
	argv[0] = "SET";
	argv[1] = key;
	argv[2] = val;
	argv[3] = "EX";
	argv[4] = ttl;
	if (key != NULL && val != NULL)
		rv = store_cmdv(s, sc_put_done, c, 5, argv);
	if (rv != BK_OK)
		sc_put_done(rv, NULL, c);
	free(key);
	free(val);
}

static void
sc_take_done(int rv, const struct store_reply *r, void *arg)
{
	struct sc_call			*c = arg;
	struct store_console_grant	 g;
	const char			*s, *u = NULL, *role = NULL;
	size_t				 len;
	json_t				*o = NULL;

	memset(&g, 0, sizeof(g));
	if (rv == BK_OK && store_reply_type(r) == STORE_R_NIL)
		rv = BK_E_CONSOLE_CODE;
	else if (rv == BK_OK) {
		s = store_reply_str(r, &len);
		if (s == NULL || (o = json_loadb(s, len, JSON_REJECT_DUPLICATES,
		    NULL)) == NULL || json_unpack(o, "{s:s, s:s}", "user", &u,
		    "role", &role) != 0)
			rv = BK_E_STORE_RECORD;
		g.user = u;
		g.role = role;
	}
	c->take(c->arg, rv, rv == BK_OK ? &g : NULL);
	json_decref(o);
	free(c);
}

void
store_console_grant_take(struct store *s, const char *tenant,
    const char *code, store_console_take_cb *cb, void *arg)
{
	struct sc_call	*c;
	const char	*argv[2];
	char		*key;
	int		 rv = BK_E_NOMEM;

	if ((c = sc_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	c->take = cb;
	argv[0] = "GETDEL";
	argv[1] = key = store_key_digest(tenant, "cgrant", code);
	if (key != NULL)
		rv = store_cmdv(s, sc_take_done, c, 2, argv);
	if (rv != BK_OK)
		sc_take_done(rv, NULL, c);
	free(key);
}
