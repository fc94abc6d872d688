/*
 * sso-broker: the web console's sessions in the store (store_console.h).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Key "bk:v1:{console}:csess:<hex SHA-256 of the cookie>": the raw cookie
 * never reaches Redis.  Plain commands (SET EX, GETEX EX, DEL): one key
 * each, no script.
 * Trust: the record read back is handed to the caller as bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bk.h"
#include "store_admin.h"
#include "store_console.h"
#include "store_int.h"

#define SC_TENANT	"console"
#define SC_KIND		"csess"

struct sc_call {
	store_console_done_cb	*done;
	store_console_cb	*get;
	store_console_ver_cb	*ver;
	void			*arg;
};

static struct sc_call *
sc_call_new(store_console_done_cb *done, store_console_cb *get, void *arg)
{
	struct sc_call	*c = calloc(1, sizeof(*c));

	if (c != NULL) {
		c->done = done;
		c->get = get;
		c->arg = arg;
	}
	return c;
}

static void
sc_done(int rv, const struct store_reply *r, void *arg)
{
	struct sc_call	*c = arg;

	(void)r;
	c->done(c->arg, rv);
	free(c);
}

static void
sc_got(int rv, const struct store_reply *r, void *arg)
{
	struct sc_call	*c = arg;
	const char	*s = NULL;
	size_t		 len = 0;

	if (rv == BK_OK && store_reply_type(r) == STORE_R_STRING)
		s = store_reply_str(r, &len);
	else if (rv == BK_OK && store_reply_type(r) != STORE_R_NIL)
		rv = BK_E_STORE_REPLY;
	c->get(c->arg, rv, s, len);
	free(c);
}

/* Send argv for c; on failure the callback runs at once. */
static void
sc_send(struct store *s, struct sc_call *c, store_cb *cb, int argc,
    const char **argv)
{
	int	 i, rv = BK_OK;

	for (i = 0; i < argc; i++)
		if (argv[i] == NULL)
			rv = BK_E_NOMEM;
	if (rv == BK_OK)
		rv = store_cmdv(s, cb, c, argc, argv);
	if (rv != BK_OK)
		cb(rv, NULL, c);
}

void
store_console_put(struct store *s, const char *sid, const char *record,
    int idle, store_console_done_cb *cb, void *arg)
{
	struct sc_call	*c;
	char		*k, ttl[16];
	const char	*argv[5];

	if ((c = sc_call_new(cb, NULL, arg)) == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	snprintf(ttl, sizeof(ttl), "%d", idle);
	k = store_key_digest(SC_TENANT, SC_KIND, sid);
	argv[0] = "SET";
	argv[1] = k;
	argv[2] = record;
	argv[3] = "EX";
	argv[4] = ttl;
	sc_send(s, c, sc_done, 5, argv);
	free(k);
}

void
store_console_get(struct store *s, const char *sid, int idle,
    store_console_cb *cb, void *arg)
{
	struct sc_call	*c;
	char		*k, ttl[16];
	const char	*argv[4];

	if ((c = sc_call_new(NULL, cb, arg)) == NULL) {
		cb(arg, BK_E_NOMEM, NULL, 0);
		return;
	}
	snprintf(ttl, sizeof(ttl), "%d", idle);
	k = store_key_digest(SC_TENANT, SC_KIND, sid);
	argv[0] = "GETEX";
	argv[1] = k;
	argv[2] = "EX";
	argv[3] = ttl;
	sc_send(s, c, sc_got, 4, argv);
	free(k);
}

void
store_console_del(struct store *s, const char *sid, store_console_done_cb *cb,
    void *arg)
{
	struct sc_call	*c;
	char		*k;
	const char	*argv[2];

	if ((c = sc_call_new(cb, NULL, arg)) == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	k = store_key_digest(SC_TENANT, SC_KIND, sid);
	argv[0] = "DEL";
	argv[1] = k;
	sc_send(s, c, sc_done, 2, argv);
	free(k);
}

static void
sc_ver_got(int rv, const struct store_reply *r, void *arg)
{
	struct sc_call	*c = arg;
	char		 v[STORE_MAPPING_VER_MAX + 1];
	const char	*s;
	size_t		 len = 0;

	snprintf(v, sizeof(v), "0");
	if (rv == BK_OK && store_reply_type(r) == STORE_R_STRING) {
		s = store_reply_str(r, &len);
		if (len > STORE_MAPPING_VER_MAX)
			rv = BK_E_STORE_REPLY;
		else {
			memcpy(v, s, len);
			v[len] = '\0';
		}
	} else if (rv == BK_OK && store_reply_type(r) != STORE_R_NIL)
		rv = BK_E_STORE_REPLY;
	c->ver(c->arg, rv, rv == BK_OK ? v : NULL);
	free(c);
}

void
store_console_mapping_ver(struct store *s, const char *tenant,
    store_console_ver_cb *cb, void *arg)
{
	struct sc_call	*c;
	char		*k;
	const char	*argv[2];

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cb(arg, BK_E_NOMEM, NULL);
		return;
	}
	c->ver = cb;
	c->arg = arg;
	/* the key store_admin.c's sa_keys() names SA_VER */
	k = store_key(tenant, "users:ver", NULL);
	argv[0] = "GET";
	argv[1] = k;
	sc_send(s, c, sc_ver_got, 2, argv);
	free(k);
}
