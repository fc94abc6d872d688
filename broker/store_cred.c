/*
 * sso-broker: the admin credentials' keys, scripts and replies
 * (store_cred.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Two hashes under one hash tag, {_admin}: "creds" maps a token's digest
 * to its record, "cred_names" a name to the digest.  Add and revoke are
 * scripts, so the two never disagree.  Like the mapping, credentials
 * have no TTL: they live until revoked.
 * Trust: records and replies are untrusted (admin_cred_parse()).
 */
#include <stdlib.h>
#include <string.h>

#include "admin_cred.h"
#include "bk.h"
#include "log.h"
#include "store_cred.h"
#include "store_int.h"

#define SC_TAG	"_admin"

/*
 * Add a credential unless its name is taken.
 * KEYS: 1 creds, 2 cred_names.  ARGV: 1 name, 2 digest, 3 record.
 * Returns 1 (added) or 0 (the name exists; nothing written).
 */
const char store_lua_cred_add[] =
	"if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end\n"
	"redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
	"redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])\n"
	"return 1\n";

/*
 * Revoke a credential by name.  KEYS: 1 creds, 2 cred_names.  ARGV: 1
 * name.  Returns 1 (removed) or 0 (no such name).
 */
const char store_lua_cred_revoke[] =
	"local d = redis.call('HGET', KEYS[2], ARGV[1])\n"
	"if not d then return 0 end\n"
	"redis.call('HDEL', KEYS[1], d)\n"
	"redis.call('HDEL', KEYS[2], ARGV[1])\n"
	"return 1\n";

struct sc_call {
	union {
		store_cred_cb		*one;
		store_cred_list_cb	*list;
		store_cred_done_cb	*done;
	} cb;
	void	*arg;
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
sc_lookup_done(int rv, const struct store_reply *r, void *arg)
{
	struct sc_call		*c = arg;
	struct admin_cred	 cred;
	const char		*s = NULL;
	size_t			 len = 0;

	memset(&cred, 0, sizeof(cred));
	if (rv == BK_OK && store_reply_type(r) != STORE_R_NIL &&
	    (s = store_reply_str(r, &len)) == NULL)
		rv = BK_E_STORE_REPLY;
	if (rv == BK_OK && s != NULL && (rv = admin_cred_parse(s, len,
	    &cred)) != BK_OK)
		log_warnx_r(rv, "an admin credential's stored record does "
		    "not parse: refused");
	c->cb.one(c->arg, rv, rv == BK_OK && s != NULL ? &cred : NULL);
	admin_cred_cleanup(&cred);
	free(c);
}

/* cmd on the creds hash (then arg, if any) for c; done() exactly once. */
static void
sc_cmd(struct store *s, struct sc_call *c, store_cb *done, const char *cmd,
    const char *arg)
{
	const char	*argv[3];
	char		*k;
	int		 rv = BK_E_NOMEM;

	if ((k = store_key(SC_TAG, "creds", NULL)) != NULL) {
		argv[0] = cmd;
		argv[1] = k;
		argv[2] = arg;
		rv = store_cmdv(s, done, c, arg != NULL ? 3 : 2, argv);
	}
	free(k);
	if (rv != BK_OK)
		done(rv, NULL, c);
}

void
store_cred_lookup(struct store *s, const char *digest, store_cred_cb *cb,
    void *arg)
{
	struct sc_call	*c;

	if ((c = sc_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	c->cb.one = cb;
	sc_cmd(s, c, sc_lookup_done, "HGET", digest);
}

static int
sc_cred_cmp(const void *a, const void *b)
{
	return strcmp(((const struct admin_cred *)a)->name,
	    ((const struct admin_cred *)b)->name);
}

static void
sc_list_done(int rv, const struct store_reply *r, void *arg)
{
	struct sc_call		*c = arg;
	struct admin_cred	*v = NULL;
	const char		*s;
	size_t			 i, n = 0, len, total;

	if (rv == BK_OK && store_reply_type(r) != STORE_R_ARRAY)
		rv = BK_E_STORE_REPLY;
	total = rv == BK_OK ? store_reply_count(r) : 0;
	if (total > 0 && (v = calloc(total, sizeof(*v))) == NULL)
		rv = BK_E_NOMEM;
	for (i = 0; rv == BK_OK && i < total; i++) {
		if ((s = store_reply_str(store_reply_elem(r, i), &len)) ==
		    NULL)
			rv = BK_E_STORE_REPLY;
		else if ((rv = admin_cred_parse(s, len, &v[n])) == BK_OK)
			n++;
	}
	if (rv == BK_OK && n > 1)
		qsort(v, n, sizeof(*v), sc_cred_cmp);
	c->cb.list(c->arg, rv, rv == BK_OK ? v : NULL, rv == BK_OK ? n : 0);
	while (n > 0)
		admin_cred_cleanup(&v[--n]);
	free(v);
	free(c);
}

void
store_cred_list(struct store *s, store_cred_list_cb *cb, void *arg)
{
	struct sc_call	*c;

	if ((c = sc_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM, NULL, 0);
		return;
	}
	c->cb.list = cb;
	sc_cmd(s, c, sc_list_done, "HVALS", NULL);
}

static void
sc_done(int rv, const struct store_reply *r, void *arg)
{
	struct sc_call	*c = arg;
	long long	 n = 0;

	if (rv == BK_OK) {
		if (store_reply_type(r) != STORE_R_INTEGER ||
		    ((n = store_reply_int(r)) != 0 && n != 1))
			rv = BK_E_STORE_REPLY;
	}
	c->cb.done(c->arg, rv, rv == BK_OK && n == 1);
	free(c);
}

/* Run script (KEYS creds, cred_names; then args) for c, done() once. */
static void
sc_eval(struct store *s, struct sc_call *c, const char *script,
    const char **args, int nargs)
{
	const char	*av[5];
	char		*k1, *k2;
	int		 i, rv = BK_E_NOMEM;

	k1 = store_key(SC_TAG, "creds", NULL);
	k2 = store_key(SC_TAG, "cred_names", NULL);
	if (k1 != NULL && k2 != NULL) {
		av[0] = k1;
		av[1] = k2;
		for (i = 0; i < nargs; i++)
			av[2 + i] = args[i];
		rv = store_eval(s, sc_done, c, script, 2, 2 + nargs, av,
		    NULL);
	}
	free(k1);
	free(k2);
	if (rv != BK_OK)
		sc_done(rv, NULL, c);
}

void
store_cred_add(struct store *s, const struct admin_cred *cred,
    const char *digest, store_cred_done_cb *cb, void *arg)
{
	struct sc_call	*c;
	const char	*args[3];
	char		*rec = NULL;

	if ((c = sc_call_new(arg)) == NULL ||
	    admin_cred_build(cred, &rec) != BK_OK) {
		free(c);
		cb(arg, BK_E_NOMEM, 0);
		return;
	}
	c->cb.done = cb;
	args[0] = cred->name;
	args[1] = digest;
	args[2] = rec;
	sc_eval(s, c, store_lua_cred_add, args, 3);
	free(rec);
}

void
store_cred_revoke(struct store *s, const char *name, store_cred_done_cb *cb,
    void *arg)
{
	struct sc_call	*c;

	if ((c = sc_call_new(arg)) == NULL) {
		cb(arg, BK_E_NOMEM, 0);
		return;
	}
	c->cb.done = cb;
	sc_eval(s, c, store_lua_cred_revoke, &name, 1);
}
