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
#include "store_console.h"
#include "store_int.h"

#define SC_TENANT	"console"
#define SC_KIND		"csess"
#define SC_PREVIEW	"cprev"

struct sc_call {
	store_console_done_cb	*done;
	store_console_cb	*get;
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

/* Send argv (lens NULL: strings) for c; on failure cb runs at once. */
static void
sc_send_lens(struct store *s, struct sc_call *c, store_cb *cb, int argc,
    const char **argv, const size_t *lens)
{
	int	 i, rv = BK_OK;

	for (i = 0; i < argc; i++)
		if (argv[i] == NULL)
			rv = BK_E_NOMEM;
	if (rv == BK_OK)
		rv = lens != NULL ? store_cmd(s, cb, c, argc, argv, lens) :
		    store_cmdv(s, cb, c, argc, argv);
	if (rv != BK_OK)
		cb(rv, NULL, c);
}

static void
sc_send(struct store *s, struct sc_call *c, store_cb *cb, int argc,
    const char **argv)
{
	sc_send_lens(s, c, cb, argc, argv, NULL);
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

/* DEL or GET of the key of kind for secret. */
static void
sc_one(struct store *s, const char *cmd, const char *kind,
    const char *secret, struct sc_call *c, store_cb *cb)
{
	char		*k = store_key_digest(SC_TENANT, kind, secret);
	const char	*argv[2];

	argv[0] = cmd;
	argv[1] = k;
	sc_send(s, c, cb, 2, argv);
	free(k);
}

void
store_console_del(struct store *s, const char *sid, store_console_done_cb *cb,
    void *arg)
{
	struct sc_call	*c;

	if ((c = sc_call_new(cb, NULL, arg)) == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	sc_one(s, "DEL", SC_KIND, sid, c, sc_done);
}

void
store_console_preview_put(struct store *s, const char *id, const char *data,
    size_t len, int ttl, store_console_done_cb *cb, void *arg)
{
	struct sc_call	*c;
	char		*k, t[16];
	const char	*argv[5];
	size_t		 lens[5];

	if ((c = sc_call_new(cb, NULL, arg)) == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	snprintf(t, sizeof(t), "%d", ttl);
	k = store_key_digest(SC_TENANT, SC_PREVIEW, id);
	argv[0] = "SET";
	argv[1] = k;
	argv[2] = data;
	argv[3] = "EX";
	argv[4] = t;
	lens[0] = 3;
	lens[1] = k != NULL ? strlen(k) : 0;
	lens[2] = len;
	lens[3] = 2;
	lens[4] = strlen(t);
	sc_send_lens(s, c, sc_done, 5, argv, lens);
	free(k);
}

void
store_console_preview_get(struct store *s, const char *id,
    store_console_cb *cb, void *arg)
{
	struct sc_call	*c;

	if ((c = sc_call_new(NULL, cb, arg)) == NULL) {
		cb(arg, BK_E_NOMEM, NULL, 0);
		return;
	}
	sc_one(s, "GET", SC_PREVIEW, id, c, sc_got);
}

void
store_console_preview_del(struct store *s, const char *id,
    store_console_done_cb *cb, void *arg)
{
	struct sc_call	*c;

	if ((c = sc_call_new(cb, NULL, arg)) == NULL) {
		cb(arg, BK_E_NOMEM);
		return;
	}
	sc_one(s, "DEL", SC_PREVIEW, id, c, sc_done);
}
