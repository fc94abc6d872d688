/*
 * sso-broker: processes: the parent (config, keys, sockets, audit file,
 * workers) and the workers (one libevent loop each).
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 * The parent never parses network data.  Workers receive an already
 * checked configuration by fork and never read files.
 * Trust: the configuration files (operator input).
 */
#ifndef BK_PROC_H
#define BK_PROC_H

struct conf;

/**
 * Load and check the configuration and build every tenant's SAML context.
 * On failure *errors holds "file:line: reason" lines (returned-owned).
 */
int	proc_conf_load(const char *path, struct conf **out, char **errors);
/** Free a configuration built by proc_conf_load (and its SAML contexts). */
void	proc_conf_free(struct conf *c);
struct conf_tenant;
/**
 * Log a warning for t's IdP metadata validUntil and each IdP and SP
 * certificate that ends within PROC_EXPIRY_WARN (or has ended).  At load
 * in the parent, and in a worker after a metadata refresh (mdr.c).
 */
void	proc_tenant_expiry_warn(const struct conf_tenant *t);
/** Run the daemon in the foreground until SIGTERM.  Returns the exit code. */
int	proc_run(const char *path, struct conf *c);

#endif /* BK_PROC_H */
