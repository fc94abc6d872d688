/*
 * sso-broker: the web console on the admin listener (front_console.c).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Included by front*.c only.  The console's routes ("/" and "/console/")
 * do not take the admin API's bearer token: they use the console session
 * (a cookie, kept as a digest in the default store).
 * Trust: everything from the request is untrusted; every value shown is
 * escaped.
 */
#ifndef BK_FRONT_CONSOLE_H
#define BK_FRONT_CONSOLE_H

#include "conf.h"

struct front_req;
struct pol_row;
struct pol_user;
struct store_mapping;

/* Seconds a console session lasts without use (documented: docs/admin.md). */
#define FRONT_CONSOLE_IDLE	900
/* Seconds a console session lasts at most, used or not. */
#define FRONT_CONSOLE_MAX_AGE	(8 * 3600)

/* Who a console session is for: what the credential check answers. */
struct front_console_who {
	/* "operator", "admin", "auditor" or "admin+auditor" */
	char	 role[16];
	/* the credential's name, or the Salesforce username, for records */
	char	 name[128];
	/* the one tenant it may touch, or "*" (operator: every tenant) */
	char	 tenant[CONF_TENANT_ID_MAX + 1];
};

/** 1 when path is the console's ("/" or under "/console"). */
int	front_console_is_path(const char *path);
/** Answer a console request on the admin listener (no bearer token). */
void	front_console_dispatch(struct front_req *req, const char *path,
	    const char *query, int method);
/**
 * The one place a pasted credential is checked for the console: BK_OK
 * and *who, or BK_E_CONSOLE_SIGNIN.  Today: the operator token of
 * [admin] token_file (SHA-256, constant time), as admin_auth().
 */
int	front_console_credential_check(struct front_req *req,
	    const char *token, struct front_console_who *who);
/*
 * front_admin.c's helpers, shared with the console: a store call's own
 * reference on req (hold; the callback starts with held, NULL when
 * nobody waits), a decoded path segment (returned-owned, NULL when empty,
 * not printable or not decodable), a record's before/after of a profile,
 * the CSV template's answer (a store_mapping_cb) and an import row's
 * changed fields.
 */
void	*front_admin_hold(struct front_req *req);
struct front_req *front_admin_held(void *arg);
char	*front_admin_seg(const char *s, size_t n);
void	front_admin_change_set(char **dst, const struct pol_user *u);
void	front_admin_export_done(void *arg, int rv,
	    const struct store_mapping *m);
/** A changed import row's fields, old or new, as a JSON object text. */
char	*front_admin_import_fields(const struct pol_row *r, int after);

#endif /* BK_FRONT_CONSOLE_H */
