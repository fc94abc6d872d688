/*
 * sso-broker: the web console's sessions in the store, typed.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A console session is a 256-bit random cookie value; the store keeps
 * only its SHA-256 (the key's suffix), like the browser sessions of the
 * sign-in, with a short text record (front_console.c writes and parses
 * it) and an idle timeout that each read renews (GETEX).  Keys live in
 * the default store.  Every operation calls its callback exactly once
 * (at once when the command cannot be sent); rv is BK_OK or a
 * BK_E_STORE_* code; the record is borrowed for the callback's duration.
 * Trust: the stored record is untrusted and parsed strictly by the
 * caller.
 */
#ifndef BK_STORE_CONSOLE_H
#define BK_STORE_CONSOLE_H

#include <stddef.h>

struct store;

typedef void store_console_done_cb(void *arg, int rv);
/** Keep record under the digest of sid for idle seconds. */
void	store_console_put(struct store *s, const char *sid, const char *record,
	    int idle, store_console_done_cb *cb, void *arg);

/* rec is NULL when the session is unknown or expired. */
typedef void store_console_cb(void *arg, int rv, const char *rec, size_t len);
/** Read the session sid and renew its idle timeout. */
void	store_console_get(struct store *s, const char *sid, int idle,
	    store_console_cb *cb, void *arg);
/** End the session sid (sign-out). */
void	store_console_del(struct store *s, const char *sid,
	    store_console_done_cb *cb, void *arg);

/*
 * An import preview (the uploaded file and what it was checked against,
 * front_console.c's record) under the digest of its random id, for ttl
 * seconds; read back as it is, deleted once submitted.
 */
void	store_console_preview_put(struct store *s, const char *id,
	    const char *data, size_t len, int ttl, store_console_done_cb *cb,
	    void *arg);
void	store_console_preview_get(struct store *s, const char *id,
	    store_console_cb *cb, void *arg);
void	store_console_preview_del(struct store *s, const char *id,
	    store_console_done_cb *cb, void *arg);

#endif /* BK_STORE_CONSOLE_H */
