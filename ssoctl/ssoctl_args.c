/*
 * sso-broker: ssoctl command-line parsing.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * A small hand-written permuting parser rather than getopt_long(3): we want
 * options after the verb, a per-verb check of which options are allowed,
 * "given twice" errors and no abbreviations (an abbreviated option that
 * later becomes ambiguous would silently change meaning in scripts), and
 * no global state so that the parser can be unit-tested.
 * Trust: argv comes from the operator.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bk.h"
#include "ssoctl.h"

#define SSOCTL_WORDS_MAX	8

#define O(x)	((uint64_t)1 << (SSOCTL_O_##x))
#define O_GLOBAL	(O(URL) | O(TOKEN_FILE) | O(JSON) | O(TENANT) | \
			    O(TIMEOUT) | O(HELP) | O(VERSION))
#define O_USERSET	(O(USER_NAME) | O(FIRST_NAME) | O(LAST_NAME) | \
			    O(EMAIL) | O(EXTENSION) | O(SALESFORCE_ID) | \
			    O(CUSTOM_1) | O(CUSTOM_2) | O(CUSTOM_3) | \
			    O(ALLOW_NEW))
#define O_FILTERS	(O(USER) | O(OUTCOME) | O(REASON) | O(EVENT) | \
			    O(SINCE) | O(UNTIL) | O(ASSERTION_ID) | O(LIMIT) | \
			    O(REQUEST_ID) | O(CLIENT) | O(SOURCE))

struct ssoctl_opt {
	const char	*name;		/* long name without "--" */
	char		 shortopt;	/* 0 when none */
	int		 has_arg;
};

/* Indexed by enum ssoctl_opt_id. */
static const struct ssoctl_opt ssoctl_opts[SSOCTL_O_COUNT] = {
	[SSOCTL_O_URL] =		{ "url", 0, 1 },
	[SSOCTL_O_TOKEN_FILE] =		{ "token-file", 0, 1 },
	[SSOCTL_O_JSON] =		{ "json", 0, 0 },
	[SSOCTL_O_TENANT] =		{ "tenant", 0, 1 },
	[SSOCTL_O_TIMEOUT] =		{ "timeout", 0, 1 },
	[SSOCTL_O_HELP] =		{ "help", 'h', 0 },
	[SSOCTL_O_VERSION] =		{ "version", 0, 0 },
	[SSOCTL_O_OUTPUT] =		{ "output", 'o', 1 },
	[SSOCTL_O_DRY_RUN] =		{ "dry-run", 0, 0 },
	[SSOCTL_O_ALLOW_NEW] =		{ "allow-new", 0, 0 },
	[SSOCTL_O_DELETE_MISSING] =	{ "delete-missing", 0, 0 },
	[SSOCTL_O_USER_NAME] =		{ "user-name", 0, 1 },
	[SSOCTL_O_FIRST_NAME] =		{ "first-name", 0, 1 },
	[SSOCTL_O_LAST_NAME] =		{ "last-name", 0, 1 },
	[SSOCTL_O_EMAIL] =		{ "email", 0, 1 },
	[SSOCTL_O_EXTENSION] =		{ "extension", 0, 1 },
	[SSOCTL_O_SALESFORCE_ID] =	{ "salesforce-id", 0, 1 },
	[SSOCTL_O_CUSTOM_1] =		{ "custom-field-1", 0, 1 },
	[SSOCTL_O_CUSTOM_2] =		{ "custom-field-2", 0, 1 },
	[SSOCTL_O_CUSTOM_3] =		{ "custom-field-3", 0, 1 },
	[SSOCTL_O_USER] =		{ "user", 0, 1 },
	[SSOCTL_O_OUTCOME] =		{ "outcome", 0, 1 },
	[SSOCTL_O_REASON] =		{ "reason", 0, 1 },
	[SSOCTL_O_EVENT] =		{ "event", 0, 1 },
	[SSOCTL_O_SINCE] =		{ "since", 0, 1 },
	[SSOCTL_O_UNTIL] =		{ "until", 0, 1 },
	[SSOCTL_O_ASSERTION_ID] =	{ "assertion-id", 0, 1 },
	[SSOCTL_O_LIMIT] =		{ "limit", 0, 1 },
	[SSOCTL_O_REQUEST_ID] =		{ "request-id", 0, 1 },
	[SSOCTL_O_CLIENT] =		{ "client", 0, 1 },
	[SSOCTL_O_SOURCE] =		{ "source", 0, 1 },
	[SSOCTL_O_CURSOR] =		{ "cursor", 0, 1 },
	[SSOCTL_O_FILE] =		{ "file", 0, 1 },
	[SSOCTL_O_KEY_FILE] =		{ "key-file", 0, 1 },
	[SSOCTL_O_HEAD] =		{ "head", 0, 1 },
	[SSOCTL_O_VERIFY] =		{ "verify", 0, 0 },
	[SSOCTL_O_ROLE] =		{ "role", 0, 1 },
	[SSOCTL_O_CONFIRM_ZERO] =	{ "confirm-dropped-zero", 0, 1 },
	[SSOCTL_O_CONFIRM_DELETE] =	{ "confirm-delete", 0, 1 },
	[SSOCTL_O_EXCEL] =		{ "excel", 0, 0 },
};

/* Positional-argument rules for a verb. */
enum ssoctl_pos {
	SSOCTL_POS_NONE,	/* no argument */
	SSOCTL_POS_OPT,		/* zero or one */
	SSOCTL_POS_ONE,		/* exactly one */
	SSOCTL_POS_ONE_OPT	/* one, then zero or one more */
};

struct ssoctl_verbdef {
	const char		*group;
	const char		*sub;	/* NULL: the group alone */
	enum ssoctl_verb	 verb;
	enum ssoctl_pos		 pos;
	const char		*argname;	/* for "missing ID" */
	uint64_t		 opts;		/* besides O_GLOBAL */
};

static const struct ssoctl_verbdef ssoctl_verbs[] = {
	{ "help", NULL, SSOCTL_V_HELP, SSOCTL_POS_OPT, "TOPIC", 0 },
	{ "version", NULL, SSOCTL_V_VERSION, SSOCTL_POS_NONE, NULL, 0 },
	{ "tenants", NULL, SSOCTL_V_TENANTS_LIST, SSOCTL_POS_NONE, NULL, 0 },
	{ "tenants", "list", SSOCTL_V_TENANTS_LIST, SSOCTL_POS_NONE, NULL, 0 },
	{ "tenants", "show", SSOCTL_V_TENANTS_SHOW, SSOCTL_POS_OPT, "ID", 0 },
	{ "tenants", "sso", SSOCTL_V_TENANTS_SSO, SSOCTL_POS_ONE_OPT, "on|off",
	    0 },
	{ "users", "export", SSOCTL_V_USERS_EXPORT, SSOCTL_POS_NONE, NULL,
	    O(OUTPUT) | O(EXCEL) },
	{ "users", "import", SSOCTL_V_USERS_IMPORT, SSOCTL_POS_ONE, "FILE",
	    O(DRY_RUN) | O(ALLOW_NEW) | O(DELETE_MISSING) | O(CONFIRM_ZERO) |
	    O(CONFIRM_DELETE) },
	{ "users", "get", SSOCTL_V_USERS_GET, SSOCTL_POS_ONE, "ID", 0 },
	{ "users", "set", SSOCTL_V_USERS_SET, SSOCTL_POS_ONE, "ID", O_USERSET },
	{ "users", "delete", SSOCTL_V_USERS_DELETE, SSOCTL_POS_ONE, "ID", 0 },
	{ "sessions", "revoke", SSOCTL_V_SESSIONS_REVOKE, SSOCTL_POS_ONE, "ID",
	    0 },
	{ "audit", "query", SSOCTL_V_AUDIT_QUERY, SSOCTL_POS_NONE, NULL,
	    O_FILTERS | O(CURSOR) },
	{ "audit", "export", SSOCTL_V_AUDIT_EXPORT, SSOCTL_POS_NONE, NULL,
	    O_FILTERS | O(OUTPUT) },
	{ "audit", "verify", SSOCTL_V_AUDIT_VERIFY, SSOCTL_POS_NONE, NULL,
	    O(FILE) | O(KEY_FILE) | O(HEAD) },
	{ "audit", "keygen", SSOCTL_V_AUDIT_KEYGEN, SSOCTL_POS_ONE, "FILE", 0 },
	{ "audit", "show-assertion", SSOCTL_V_AUDIT_SHOW_ASSERTION,
	    SSOCTL_POS_ONE, "ID", O(VERIFY) | O(FILE) },
	{ "admins", NULL, SSOCTL_V_ADMINS_LIST, SSOCTL_POS_NONE, NULL, 0 },
	{ "admins", "list", SSOCTL_V_ADMINS_LIST, SSOCTL_POS_NONE, NULL, 0 },
	{ "admins", "add", SSOCTL_V_ADMINS_ADD, SSOCTL_POS_ONE, "NAME",
	    O(ROLE) },
	{ "admins", "revoke", SSOCTL_V_ADMINS_REVOKE, SSOCTL_POS_ONE, "NAME",
	    0 },
};

const char ssoctl_usage[] =
"usage: ssoctl [--url URL] [--token-file FILE] [--json] [--tenant ID]\n"
"              [--timeout SEC] COMMAND [ARGS] [OPTIONS]\n"
"\n"
"commands:\n"
"  tenants [list]                 list the tenants\n"
"  tenants show [ID]              one tenant: policy, IdP certificates\n"
"  tenants sso on|off [ID]        switch SSO on or off for the whole account\n"
"                                 (every broker; off ends its sessions and\n"
"                                 tokens)\n"
"  users export [-o FILE] [--excel]\n"
"                                 the user mapping as CSV (--excel: \"0101\"\n"
"                                 written as =\"0101\" so Excel keeps zeros)\n"
"  users import FILE [--dry-run] [--allow-new] [--delete-missing]\n"
"               [--confirm-delete N] [--confirm-dropped-zero ID[,ID..]|all]\n"
"                                 upload a CSV (FILE may be -); print the\n"
"                                 diff, the warnings and what to confirm\n"
"  users get ID                   one user\n"
"  users set ID [--user-name X] [--first-name X] [--last-name X] [--email X]\n"
"               [--extension E] [--salesforce-id X] [--custom-field-1 X]\n"
"               [--custom-field-2 X] [--custom-field-3 X] [--allow-new]\n"
"                                 change one user (\"\" clears a field)\n"
"  users delete ID                remove one user\n"
"  sessions revoke ID             end every session and token of a user\n"
"  audit query [FILTERS] [--cursor C]\n"
"                                 audit records as a table, newest first\n"
"                                 (one page; --cursor C gives the next)\n"
"  audit export [FILTERS] [-o FILE]\n"
"                                 audit records as JSON lines, oldest first\n"
"  audit verify [--file F]... [--key-file K] [--head [CHAIN:]SEQ:HASH]\n"
"                                 check the audit chain: the broker's files,\n"
"                                 or the files given (oldest first, no\n"
"                                 broker needed), seals with the initial key\n"
"  audit keygen FILE              write a new audit sealing key (mode 0600)\n"
"  audit show-assertion ID [--verify] [--file F.raw]\n"
"                                 a raw SAML Response kept with its record\n"
"                                 (keep_raw_assertions); --verify checks its\n"
"                                 signature offline against the recorded IdP\n"
"                                 certificate\n"
"  admins [list]                  the admin credentials (operator)\n"
"  admins add NAME --role admin|auditor|operator [--tenant T]...\n"
"                                 a new credential for the tenants given;\n"
"                                 its token is printed once\n"
"  admins revoke NAME             end a credential, on every broker\n"
"  help, --help, --version\n"
"\n"
"filters: --user U --event E --outcome accepted|rejected --reason R\n"
"         --request-id R --assertion-id A --client ADDR\n"
"         --since T --until T (RFC 3339, a date YYYY-MM-DD: the whole day,\n"
"         or epoch seconds) --limit N (query: 1 to 1000, default 100)\n"
"         --source stream|file (default stream: every broker's records in\n"
"         Redis; file: this broker's files, rotated ones too)\n"
"\n"
"The admin token is read from SSOCTL_TOKEN, else from --token-file (which\n"
"must not be readable by group or others).  --url defaults to SSOCTL_URL,\n"
"else http://127.0.0.1:8081; --tenant to SSOCTL_TENANT, else the only\n"
"tenant.  Exit status: 0 success, 1 failure, 2 usage error.\n";

const char *
ssoctl_opt_name(enum ssoctl_opt_id id)
{
	if ((int)id < 0 || id >= SSOCTL_O_COUNT)
		return "?";
	return ssoctl_opts[id].name;
}

/* One more value of a repeatable option: list[*n], the first in *first. */
static int
ssoctl_args_push(const char **list, size_t *n, size_t max,
    const char **first, const char *val, int id, char *err, size_t errlen)
{
	if (*n == max) {
		snprintf(err, errlen, "more than %zu --%s options", max,
		    ssoctl_opts[id].name);
		return BK_E_INVAL;
	}
	list[(*n)++] = val;
	if (*first == NULL)
		*first = val;
	return BK_OK;
}

static int
ssoctl_args_set(struct ssoctl_args *a, int id, const char *val,
    char *err, size_t errlen)
{
	if (id == SSOCTL_O_TENANT)	/* repeatable for admins add */
		return ssoctl_args_push(a->tenants, &a->ntenants,
		    SSOCTL_TENANTS_MAX, &a->opt[id], val, id, err, errlen);
	if (id == SSOCTL_O_FILE)	/* repeatable */
		return ssoctl_args_push(a->files, &a->nfiles,
		    SSOCTL_FILES_MAX, &a->opt[id], val, id, err, errlen);
	if (a->opt[id] != NULL) {
		snprintf(err, errlen, "option --%s given twice",
		    ssoctl_opts[id].name);
		return BK_E_INVAL;
	}
	a->opt[id] = val;
	return BK_OK;
}

/* One "--name[=value]" argument; may consume argv[*i + 1]. */
static int
ssoctl_args_long(int argc, char *const argv[], int *i, struct ssoctl_args *a,
    char *err, size_t errlen)
{
	const char	*s = argv[*i] + 2, *eq, *val = NULL;
	size_t		 n;
	int		 id;

	eq = strchr(s, '=');
	n = eq != NULL ? (size_t)(eq - s) : strlen(s);
	for (id = 0; id < SSOCTL_O_COUNT; id++) {
		if (strlen(ssoctl_opts[id].name) == n &&
		    strncmp(ssoctl_opts[id].name, s, n) == 0)
			break;
	}
	if (id == SSOCTL_O_COUNT) {
		snprintf(err, errlen, "unknown option --%.*s", (int)n, s);
		return BK_E_INVAL;
	}
	if (!ssoctl_opts[id].has_arg) {
		if (eq != NULL) {
			snprintf(err, errlen, "option --%s takes no value",
			    ssoctl_opts[id].name);
			return BK_E_INVAL;
		}
		return ssoctl_args_set(a, id, "1", err, errlen);
	}
	if (eq != NULL)
		val = eq + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	else {
		snprintf(err, errlen, "option --%s needs a value",
		    ssoctl_opts[id].name);
		return BK_E_INVAL;
	}
	return ssoctl_args_set(a, id, val, err, errlen);
}

/* One "-x[value]" argument (no bundling: only -h and -o exist). */
static int
ssoctl_args_short(int argc, char *const argv[], int *i, struct ssoctl_args *a,
    char *err, size_t errlen)
{
	const char	*s = argv[*i] + 1, *val;
	int		 id;

	for (id = 0; id < SSOCTL_O_COUNT; id++) {
		if (ssoctl_opts[id].shortopt != 0 &&
		    ssoctl_opts[id].shortopt == s[0])
			break;
	}
	if (id == SSOCTL_O_COUNT) {
		snprintf(err, errlen, "unknown option -%c", s[0]);
		return BK_E_INVAL;
	}
	if (!ssoctl_opts[id].has_arg) {
		if (s[1] != '\0') {
			snprintf(err, errlen, "unknown option %s", argv[*i]);
			return BK_E_INVAL;
		}
		return ssoctl_args_set(a, id, "1", err, errlen);
	}
	if (s[1] != '\0')
		val = s + 1;
	else if (*i + 1 < argc)
		val = argv[++*i];
	else {
		snprintf(err, errlen, "option -%c needs a value", s[0]);
		return BK_E_INVAL;
	}
	return ssoctl_args_set(a, id, val, err, errlen);
}

/* Find the verb for words[]; *used is how many words name it. */
static const struct ssoctl_verbdef *
ssoctl_verb_find(const char **words, size_t nwords, size_t *used)
{
	const struct ssoctl_verbdef	*v, *alone = NULL;
	size_t				 k;

	for (k = 0; k < BK_NELEM(ssoctl_verbs); k++) {
		v = &ssoctl_verbs[k];
		if (strcmp(v->group, words[0]) != 0)
			continue;
		if (v->sub == NULL)
			alone = v;
		else if (nwords > 1 && strcmp(v->sub, words[1]) == 0) {
			*used = 2;
			return v;
		}
	}
	/* "tenants" alone is "tenants list"; "tenants acme" is not. */
	if (alone != NULL && (nwords == 1 || alone->pos != SSOCTL_POS_NONE)) {
		*used = 1;
		return alone;
	}
	return NULL;
}

static int
ssoctl_args_check(const struct ssoctl_verbdef *v, const char **words,
    size_t nargs, struct ssoctl_args *a, char *err, size_t errlen)
{
	uint64_t	allowed = O_GLOBAL | v->opts;
	const char	*sub = v->sub != NULL ? v->sub : "";
	int		id;

	if (v->pos == SSOCTL_POS_ONE_OPT && nargs == 2) {
		a->arg2 = words[1];
		nargs = 1;
	}
	if (nargs > 1 || (nargs == 1 && v->pos == SSOCTL_POS_NONE)) {
		snprintf(err, errlen, "%s%s%s: unexpected argument '%s'",
		    v->group, *sub ? " " : "", sub,
		    words[v->pos == SSOCTL_POS_NONE ? 0 : 1]);
		return BK_E_INVAL;
	}
	if (nargs == 0 && (v->pos == SSOCTL_POS_ONE ||
	    v->pos == SSOCTL_POS_ONE_OPT)) {
		snprintf(err, errlen, "%s %s: missing %s", v->group, sub,
		    v->argname);
		return BK_E_INVAL;
	}
	if (v->verb == SSOCTL_V_TENANTS_SSO && strcmp(words[0], "on") != 0 &&
	    strcmp(words[0], "off") != 0) {
		snprintf(err, errlen, "tenants sso: '%.64s' is not on or off",
		    words[0]);
		return BK_E_INVAL;
	}
	if ((nargs == 1 && words[0][0] == '\0') ||
	    (a->arg2 != NULL && a->arg2[0] == '\0')) {
		snprintf(err, errlen, "%s %s: empty %s", v->group, sub,
		    v->argname);
		return BK_E_INVAL;
	}
	for (id = 0; id < SSOCTL_O_COUNT; id++) {
		if (a->opt[id] != NULL &&
		    (allowed & ((uint64_t)1 << id)) == 0) {
			snprintf(err, errlen, "option --%s does not apply to "
			    "'%s%s%s'", ssoctl_opts[id].name, v->group,
			    *sub ? " " : "", sub);
			return BK_E_INVAL;
		}
	}
	if (a->ntenants > 1 && v->verb != SSOCTL_V_ADMINS_ADD) {
		snprintf(err, errlen, "option --tenant given twice");
		return BK_E_INVAL;
	}
	a->verb = v->verb;
	a->arg = nargs == 1 ? words[0] : NULL;
	return BK_OK;
}

int
ssoctl_args_parse(int argc, char *const argv[], struct ssoctl_args *a,
    char *err, size_t errlen)
{
	const struct ssoctl_verbdef	*v;
	const char			*words[SSOCTL_WORDS_MAX];
	size_t				 nwords = 0, used = 0;
	int				 i, rv, opts_done = 0;

	memset(a, 0, sizeof(*a));
	if (errlen > 0)
		err[0] = '\0';
	for (i = 1; i < argc; i++) {
		const char *s = argv[i];

		if (!opts_done && strcmp(s, "--") == 0) {
			opts_done = 1;
			continue;
		}
		if (!opts_done && s[0] == '-' && s[1] == '-')
			rv = ssoctl_args_long(argc, argv, &i, a, err, errlen);
		else if (!opts_done && s[0] == '-' && s[1] != '\0')
			rv = ssoctl_args_short(argc, argv, &i, a, err, errlen);
		else if (nwords == SSOCTL_WORDS_MAX) {
			snprintf(err, errlen, "too many arguments");
			rv = BK_E_INVAL;
		} else {
			words[nwords++] = s;
			rv = BK_OK;
		}
		if (rv != BK_OK)
			return rv;
	}
	if (a->opt[SSOCTL_O_HELP] != NULL) {
		a->verb = SSOCTL_V_HELP;
		return BK_OK;
	}
	if (a->opt[SSOCTL_O_VERSION] != NULL) {
		a->verb = SSOCTL_V_VERSION;
		return BK_OK;
	}
	if (nwords == 0) {
		snprintf(err, errlen, "missing command (see 'ssoctl help')");
		return BK_E_INVAL;
	}
	if ((v = ssoctl_verb_find(words, nwords, &used)) == NULL) {
		if (nwords > 1)
			snprintf(err, errlen, "unknown command '%s %s' "
			    "(see 'ssoctl help')", words[0], words[1]);
		else
			snprintf(err, errlen, "unknown command '%s' "
			    "(see 'ssoctl help')", words[0]);
		return BK_E_INVAL;
	}
	return ssoctl_args_check(v, words + used, nwords - used, a, err,
	    errlen);
}
