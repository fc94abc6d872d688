/*
 * sso-broker: ssoctl command-line parsing (pure; no network, no libcurl).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * ssoctl_args_parse() turns argv into a verb, its one positional argument
 * and the options given, checking that every option belongs to the verb.
 * It is kept apart from the HTTP code so that the unit test can link it
 * alone.
 * Trust: argv comes from the operator; values are passed on as given and
 * are percent-encoded by the caller before they go into a URL.
 */
#ifndef SSOCTL_H
#define SSOCTL_H

#include <stddef.h>

/* Exit statuses (documented in ssoctl(1)). */
#define SSOCTL_EXIT_OK		0	/* success */
#define SSOCTL_EXIT_FAIL	1	/* API, network, file, verify failure */
#define SSOCTL_EXIT_USAGE	2	/* bad command line */

/* audit verify --file: at most this many files (rotated ones, in order) */
#define SSOCTL_FILES_MAX	256

/* Option identifiers; the order is the order of ssoctl_opts[]. */
enum ssoctl_opt_id {
	/* global */
	SSOCTL_O_URL,
	SSOCTL_O_TOKEN_FILE,
	SSOCTL_O_JSON,
	SSOCTL_O_TENANT,
	SSOCTL_O_TIMEOUT,
	SSOCTL_O_HELP,
	SSOCTL_O_VERSION,
	/* verb options */
	SSOCTL_O_OUTPUT,
	SSOCTL_O_DRY_RUN,
	SSOCTL_O_ALLOW_NEW,
	SSOCTL_O_DELETE_MISSING,
	SSOCTL_O_USER_NAME,
	SSOCTL_O_FIRST_NAME,
	SSOCTL_O_LAST_NAME,
	SSOCTL_O_EMAIL,
	SSOCTL_O_EXTENSION,
	SSOCTL_O_SALESFORCE_ID,
	SSOCTL_O_CUSTOM_1,
	SSOCTL_O_CUSTOM_2,
	SSOCTL_O_CUSTOM_3,
	SSOCTL_O_USER,
	SSOCTL_O_OUTCOME,
	SSOCTL_O_REASON,
	SSOCTL_O_EVENT,
	SSOCTL_O_SINCE,
	SSOCTL_O_UNTIL,
	SSOCTL_O_ASSERTION_ID,
	SSOCTL_O_LIMIT,
	SSOCTL_O_REQUEST_ID,	/* audit query filters (issue 9) */
	SSOCTL_O_CLIENT,
	SSOCTL_O_SOURCE,
	SSOCTL_O_CURSOR,
	SSOCTL_O_FILE,		/* audit verify: repeatable */
	SSOCTL_O_KEY_FILE,
	SSOCTL_O_HEAD,
	SSOCTL_O_VERIFY,	/* audit show-assertion */
	SSOCTL_O_ROLE,		/* admins add */
	SSOCTL_O_CONFIRM_ZERO,	/* users import: held changes confirmed */
	SSOCTL_O_CONFIRM_DELETE,
	SSOCTL_O_EXCEL,		/* users export: ="0101" cells */
	SSOCTL_O_COUNT
};

enum ssoctl_verb {
	SSOCTL_V_NONE,
	SSOCTL_V_HELP,
	SSOCTL_V_VERSION,
	SSOCTL_V_TENANTS_LIST,
	SSOCTL_V_TENANTS_SHOW,
	SSOCTL_V_USERS_EXPORT,
	SSOCTL_V_USERS_IMPORT,
	SSOCTL_V_USERS_GET,
	SSOCTL_V_USERS_SET,
	SSOCTL_V_USERS_DELETE,
	SSOCTL_V_SESSIONS_REVOKE,
	SSOCTL_V_AUDIT_QUERY,
	SSOCTL_V_AUDIT_EXPORT,
	SSOCTL_V_AUDIT_VERIFY,
	SSOCTL_V_AUDIT_KEYGEN,
	SSOCTL_V_AUDIT_SHOW_ASSERTION,
	SSOCTL_V_TENANTS_SSO,
	SSOCTL_V_ADMINS_ADD,
	SSOCTL_V_ADMINS_LIST,
	SSOCTL_V_ADMINS_REVOKE
};

/* admins add --tenant: at most this many (the broker's cap too) */
#define SSOCTL_TENANTS_MAX	64

/** The parsed command line; every string is borrowed from argv. */
struct ssoctl_args {
	enum ssoctl_verb	 verb;
	/* the verb's positional argument (ID or FILE), NULL when absent */
	const char		*arg;
	/* a second positional argument (tenants sso on|off ID), or NULL */
	const char		*arg2;
	/* option values; flags are set to "1"; NULL when not given */
	const char		*opt[SSOCTL_O_COUNT];
	/* --file, each in the order given (opt[SSOCTL_O_FILE] is the first) */
	const char		*files[SSOCTL_FILES_MAX];
	size_t			 nfiles;
	/* --tenant, each in the order given (repeatable for admins add) */
	const char		*tenants[SSOCTL_TENANTS_MAX];
	size_t			 ntenants;
};

/**
 * Parse argv (argv[0] is the program name).  Options may come before or
 * after the verb, as --opt=value or --opt value (short -o FILE or -oFILE);
 * "--" ends the options.  An option given twice, an option that does not
 * belong to the verb, a missing or extra positional argument or an
 * unknown verb is an error.  --help/-h and --version win over everything
 * else that parses.
 * @param argc, argv  the command line; borrowed, must outlive a
 * @param a  filled in; borrowed strings point into argv
 * @param err, errlen  one-line reason on failure (no "ssoctl: " prefix)
 * @return BK_OK, or BK_E_INVAL with err set.
 * Context: any; no I/O.
 */
int	ssoctl_args_parse(int argc, char *const argv[], struct ssoctl_args *a,
	    char *err, size_t errlen);

/** Long name of an option ("dry-run"), for messages. */
const char *ssoctl_opt_name(enum ssoctl_opt_id id);

/** The usage text printed by "ssoctl help". */
extern const char ssoctl_usage[];

#endif /* SSOCTL_H */
