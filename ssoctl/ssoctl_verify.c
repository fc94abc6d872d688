/*
 * sso-broker: ssoctl audit verify: the broker checks its chain (and its
 * head against the shared state and the Redis anchor), or ssoctl checks
 * files itself with no broker (--file, --key-file).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * Trust: the answer and the files are untrusted; strings are sanitised by
 * ssoctl_out.c before display.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "chain.h"
#include "ssoctl_int.h"
#include "ssoctl_out.h"

/* The initial key (or a later state) from a file only its owner reads. */
static int
ssoctl_verify_key_load(struct ssoctl *c, const char *path,
    struct bk_chain_key *k)
{
	char		 buf[1024];
	struct stat	 st;
	ssize_t		 n;
	int		 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ssoctl_fail(c, BK_E_IO, "--key-file %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		return ssoctl_fail(c, BK_E_PERM, "--key-file %s: must be a "
		    "regular file readable by its owner only (chmod 600)",
		    path);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	rv = n > 0 ? bk_chain_key_parse(buf, (size_t)n, k) : BK_E_INVAL;
	OPENSSL_cleanse(buf, sizeof(buf));
	if (rv != BK_OK)
		return ssoctl_fail(c, BK_E_INVAL, "--key-file %s: not an audit "
		    "key (64 hex digits, or the broker's key state)", path);
	return BK_OK;
}

/* --head [CHAIN:]SEQ:HASH, as verify --json prints it or Redis keeps it. */
static int
ssoctl_verify_head(struct ssoctl *c, const char *s, struct bk_chain_verify *v)
{
	char		 chain[BK_CHAIN_ID_MAX + 1] = "", num[24];
	const char	*hash = strrchr(s, ':'), *c1 = strchr(s, ':'), *why;
	const char	*seq = s;
	long long	 n;
	size_t		 i;

	if (hash == NULL)
		goto out;
	if (c1 != hash) {
		if ((size_t)(c1 - s) > BK_CHAIN_ID_MAX || c1 == s)
			goto out;
		memcpy(chain, s, (size_t)(c1 - s));
		chain[c1 - s] = '\0';
		seq = c1 + 1;
	}
	if ((size_t)(hash - seq) >= sizeof(num) || strchr(seq, ':') != hash)
		goto out;
	memcpy(num, seq, (size_t)(hash - seq));
	num[hash - seq] = '\0';
	hash++;
	for (i = 0; hash[i] != '\0'; i++)
		if (strchr("0123456789abcdef", hash[i]) == NULL)
			goto out;
	if (i != BK_DIGEST_HEX || bk_strtonum(num, 1, 1LL << 62, &n,
	    &why) != BK_OK)
		goto out;
	return bk_chain_verify_anchor(v, chain, (unsigned long long)n, hash,
	    "--head");
 out:
	c->exit_code = SSOCTL_EXIT_USAGE;
	return ssoctl_fail(c, BK_E_INVAL, "--head %s: expected "
	    "[CHAIN:]SEQ:HASH (HASH: 64 lower-case hex digits)", s);
}

/* verify --file F...: the walk here, no broker; *report as the broker's. */
static int
ssoctl_verify_files(struct ssoctl *c, char **report)
{
	const struct ssoctl_args	*a = c->args;
	struct bk_chain_verify		 v;
	struct bk_chain_key		 k;
	const char			*kf = a->opt[SSOCTL_O_KEY_FILE];
	size_t				 i;
	int				 fd, rv;

	if (kf != NULL && (rv = ssoctl_verify_key_load(c, kf, &k)) != BK_OK)
		return rv;
	bk_chain_verify_init(&v, kf != NULL ? &k : NULL);
	bk_chain_key_cleanup(&k);
	if (a->opt[SSOCTL_O_HEAD] != NULL &&
	    (rv = ssoctl_verify_head(c, a->opt[SSOCTL_O_HEAD], &v)) != BK_OK)
		goto out;
	for (i = 0; i < a->nfiles; i++) {
		if ((fd = open(a->files[i], O_RDONLY | O_CLOEXEC)) < 0) {
			rv = ssoctl_fail(c, BK_E_IO, "--file %s: %s",
			    a->files[i], strerror(errno));
			goto out;
		}
		rv = bk_chain_verify_fd(&v, fd, a->files[i]);
		close(fd);
		if (rv != BK_OK) {
			rv = ssoctl_fail(c, rv, "--file %s: read error",
			    a->files[i]);
			goto out;
		}
	}
	(void)bk_chain_verify_end(&v);
	if ((rv = bk_chain_verify_report(&v, kf == NULL ? "offline, no key" :
	    "offline, with the key", report)) != BK_OK)
		rv = ssoctl_fail(c, rv, "out of memory");
 out:
	bk_chain_verify_cleanup(&v);
	return rv;
}

static void
ssoctl_verify_print_seals(const json_t *j)
{
	const char	*seals = json_string_value(json_object_get(j, "seals"));
	json_t		*hold = json_object_get(j, "seals_hold_through_epoch");
	json_t		*from = json_object_get(j, "untrusted_from_epoch");

	if (seals == NULL)
		return;
	if (strcmp(seals, "unkeyed") == 0)
		printf("seals: none; the records are linked by SHA-256 only "
		    "(no [audit] key_file)\n");
	else if (strcmp(seals, "not_checked") == 0)
		printf("seals: not checked (give the initial key: --file ... "
		    "--key-file K)\n");
	else if (strcmp(seals, "partly_checked") == 0)
		printf("seals: checked for epoch %" JSON_INTEGER_FORMAT " on; "
		    "earlier epochs need the initial key (--file ... "
		    "--key-file K)\n",
		    json_integer_value(json_object_get(j, "key_epoch")));
	else
		printf("seals: checked\n");
	if (json_is_integer(hold))
		printf("seals hold through epoch %" JSON_INTEGER_FORMAT "\n",
		    json_integer_value(hold));
	if (json_is_integer(from))
		printf("sealing cannot be trusted from epoch %"
		    JSON_INTEGER_FORMAT " on\n", json_integer_value(from));
}

/* Each head the chain was held against, and what the broker noted. */
static void
ssoctl_verify_print_anchors(const json_t *j)
{
	const json_t	*a;
	char		*src, *notes;
	size_t		 i;

	json_array_foreach(json_object_get(j, "anchors"), i, a) {
		src = ssoctl_jval(json_object_get(a, "source"), "?");
		printf("head anchored in %s: seq %" JSON_INTEGER_FORMAT " %s\n",
		    src != NULL ? src : "?",
		    json_integer_value(json_object_get(a, "seq")),
		    json_is_true(json_object_get(a, "found")) ? "found" :
		    "NOT found");
		free(src);
	}
	notes = ssoctl_jval(json_object_get(j, "notes"), "");
	if (notes != NULL && notes[0] != '\0')
		printf("note: %s\n", notes);
	free(notes);
}

static void
ssoctl_verify_print(const json_t *j)
{
	const json_t	*bad = json_object_get(j, "first_bad");
	char		*file, *reason, *kind, *hash;

	if (json_is_true(json_object_get(j, "ok"))) {
		hash = ssoctl_jval(json_object_get(json_object_get(j, "head"),
		    "hash"), "-");
		printf("audit chain OK: %" JSON_INTEGER_FORMAT " records in %"
		    JSON_INTEGER_FORMAT " chains; head seq %"
		    JSON_INTEGER_FORMAT " hash %s\n",
		    json_integer_value(json_object_get(j, "records")),
		    json_integer_value(json_object_get(j, "chains")),
		    json_integer_value(json_object_get(json_object_get(j,
		    "head"), "seq")), hash != NULL ? hash : "-");
		free(hash);
	} else if (json_is_object(bad)) {
		file = ssoctl_jval(json_object_get(bad, "file"), "-");
		kind = ssoctl_jval(json_object_get(bad, "kind"), "?");
		reason = ssoctl_jval(json_object_get(bad, "reason"), "?");
		printf("audit chain BROKEN: %s record at %s line %"
		    JSON_INTEGER_FORMAT " (seq %" JSON_INTEGER_FORMAT "): %s\n",
		    kind != NULL ? kind : "?", file != NULL ? file : "-",
		    json_integer_value(json_object_get(bad, "line")),
		    json_integer_value(json_object_get(bad, "seq")),
		    reason != NULL ? reason : "?");
		free(file);
		free(kind);
		free(reason);
	}
	ssoctl_verify_print_seals(j);
	ssoctl_verify_print_anchors(j);
	if (json_is_true(json_object_get(j, "partial_tail")))
		printf("note: the last line is an incomplete record (a write "
		    "in progress, or cut by a crash); not counted\n");
}

int
ssoctl_cmd_audit_verify(struct ssoctl *c)
{
	json_t		*j = NULL;
	json_error_t	 err;
	char		*report = NULL, *reason;
	int		 rv;

	if (c->args->nfiles == 0 && (c->args->opt[SSOCTL_O_KEY_FILE] != NULL ||
	    c->args->opt[SSOCTL_O_HEAD] != NULL)) {
		c->exit_code = SSOCTL_EXIT_USAGE;
		return ssoctl_fail(c, BK_E_INVAL, "--key-file and --head go "
		    "with --file (the broker never holds the initial key)");
	}
	if (c->args->nfiles > 0) {
		if ((rv = ssoctl_verify_files(c, &report)) != BK_OK)
			goto out;
		if ((j = json_loads(report, 0, &err)) == NULL) {
			rv = ssoctl_fail(c, BK_E_NOMEM, "out of memory");
			goto out;
		}
	} else if ((rv = ssoctl_json_call(c, "GET", "/api/v1/audit/verify",
	    NULL, &j, NULL)) != BK_OK)
		goto out;
	if (c->json)
		ssoctl_json_print(c, j);
	else
		ssoctl_verify_print(j);
	if (json_is_true(json_object_get(j, "ok")))
		goto out;
	c->exit_code = SSOCTL_EXIT_FAIL;
	reason = ssoctl_jval(json_object_get(j, "reason"), "no reason given");
	rv = ssoctl_fail(c, BK_E_AUDIT_CHAIN, "audit verify failed: first bad "
	    "line %" JSON_INTEGER_FORMAT ": %s",
	    json_integer_value(json_object_get(j, "first_bad_line")),
	    reason != NULL ? reason : "?");
	free(reason);
 out:
	free(report);
	json_decref(j);
	return rv;
}

/* audit keygen FILE: 32 bytes of the CSPRNG as hex, a new file, 0600. */
int
ssoctl_cmd_audit_keygen(struct ssoctl *c)
{
	const char	*path = c->args->arg;
	char		 hex[2 * BK_CHAIN_KEY_LEN + 2];
	int		 fd, e = 0;

	if (bk_random_hex(hex, BK_CHAIN_KEY_LEN) != BK_OK)
		return ssoctl_fail(c, BK_E_RANDOM, "no randomness");
	hex[2 * BK_CHAIN_KEY_LEN] = '\n';
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) < 0 || fchmod(fd, 0600) != 0 ||
	    write(fd, hex, sizeof(hex) - 1) != (ssize_t)sizeof(hex) - 1 ||
	    fsync(fd) != 0)
		e = errno != 0 ? errno : EIO;
	OPENSSL_cleanse(hex, sizeof(hex));
	if (fd >= 0 && close(fd) != 0 && e == 0)
		e = errno;
	if (e != 0) {
		if (fd >= 0)
			(void)unlink(path);
		return ssoctl_fail(c, BK_E_IO, "%s: %s", path, strerror(e));
	}
	if (!c->json)
		printf("wrote a new audit sealing key to %s (mode 0600); give "
		    "a copy to the security team, kept off this machine, "
		    "before the broker first starts with it\n", path);
	return BK_OK;
}

int
ssoctl_verb_is_offline(const struct ssoctl_args *a)
{
	return a->verb == SSOCTL_V_AUDIT_KEYGEN ||
	    (a->verb == SSOCTL_V_AUDIT_VERIFY && a->nfiles > 0) ||
	    (a->verb == SSOCTL_V_AUDIT_SHOW_ASSERTION && a->nfiles > 0);
}
