/*
 * sso-broker: command line.
 * Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
 *
 *   sso-broker -c FILE [-d]          run in the foreground
 *   sso-broker -c FILE --check-config (or -n)   check and exit
 *   sso-broker -c FILE -T            print the effective configuration
 * Trust: argv is the operator's.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "bk.h"
#include "conf.h"
#include "hout.h"
#include "keys.h"
#include "log.h"
#include "proc.h"
#include "saml.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: sso-broker -c FILE [--check-config | -T] [-d]\n"
	    "  -c, --config FILE    broker.conf (required)\n"
	    "  -n, --check-config   check the configuration and exit\n"
	    "  -T, --dump-config    print the effective configuration (secrets "
	    "masked)\n"
	    "  -d, --debug          debug logging\n"
	    "  -V, --version        print the version\n");
}

/*
 * The libraries, once, before anything else: SAML first (S32: LASSO_FLAG
 * removed and verification asserted), then libcurl, before any worker is
 * forked or thread started.
 */
static int
main_libs_init(void)
{
	if (saml_init() != BK_OK) {
		fprintf(stderr,
		    "sso-broker: cannot initialise the SAML library\n");
		return BK_E_INTERNAL;
	}
	if (hout_global_init() != BK_OK) {
		fprintf(stderr,
		    "sso-broker: cannot initialise outbound HTTPS (libcurl)\n");
		saml_shutdown();
		return BK_E_INTERNAL;
	}
	return BK_OK;
}

static void
main_libs_shutdown(void)
{
	hout_global_cleanup();
	saml_shutdown();
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'n' },
		{ "dump-config", no_argument, NULL, 'T' },
		{ "debug", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*path = NULL;
	int		 ch, check = 0, dump = 0, debug = 0, rv;
	struct conf	*c = NULL;
	char		*errors = NULL;

	while ((ch = getopt_long(argc, argv, "c:nTdVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'T':
			dump = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'V':
			printf("sso-broker %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("parent", debug);
	if (main_libs_init() != BK_OK)
		return 1;
	rv = proc_conf_load(path, &c, &errors);
	if (rv != BK_OK) {
		fprintf(stderr, "%s",
		    errors ? errors : "configuration error\n");
		free(errors);
		main_libs_shutdown();
		return 1;
	}
	if (check || dump) {
		/* The private keys: here only, in this process that exits. */
		if (check && keys_check(c, &errors) != BK_OK) {
			fprintf(stderr, "%s", errors ? errors :
			    "keys: error\n");
			free(errors);
			proc_conf_free(c);
			main_libs_shutdown();
			return 1;
		}
		if (dump)
			conf_dump(c, stdout);
		else
			printf("configuration OK\n");
		proc_conf_free(c);
		main_libs_shutdown();
		return 0;
	}
	rv = proc_run(path, c);
	main_libs_shutdown();
	return rv;
}
