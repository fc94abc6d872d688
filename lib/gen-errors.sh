#!/bin/sh
# Generate errors.h / errors.c / errors.md from errors.def.
# usage: gen-errors.sh errors.def h|c|md
set -eu
def=$1
case $2 in
h)
	echo '/* Generated from lib/errors.def by gen-errors.sh: do not edit. */'
	echo '#ifndef BK_ERRORS_H'
	echo '#define BK_ERRORS_H'
	echo 'enum bk_err {'
	awk '!/^#/ && NF >= 4 { if ($2 == 0) printf "\tBK_%s = 0,\n", $1; else printf "\tBK_E_%s = -%d,\n", $1, $2 }' "$def"
	echo '};'
	echo '/** Human description of rv (never NULL). */'
	echo 'const char *bk_strerror(int rv);'
	echo '/** HTTP status the client sees for rv. */'
	echo 'int bk_err_http(int rv);'
	echo '/** Stable audit/reason slug for rv. */'
	echo 'const char *bk_err_slug(int rv);'
	echo '#endif'
	;;
c)
	echo '/* Generated from lib/errors.def by gen-errors.sh: do not edit. */'
	echo '#include <stddef.h>'
	echo '#include "errors.h"'
	echo 'struct bk_err_row { int code; int http; const char *slug; const char *desc; };'
	echo 'static const struct bk_err_row bk_err_rows[] = {'
	awk '!/^#/ && NF >= 4 { d=""; for (i = 5; i <= NF; i++) d = d (i > 5 ? " " : "") $i; gsub(/"/, "\\\"", d); printf "\t{ -%d, %d, \"%s\", \"%s\" },\n", $2, $3, $4, d }' "$def"
	echo '};'
	cat <<'EOC'
static const struct bk_err_row *
bk_err_row(int rv)
{
	size_t i;

	for (i = 0; i < sizeof(bk_err_rows) / sizeof(bk_err_rows[0]); i++)
		if (bk_err_rows[i].code == rv)
			return &bk_err_rows[i];
	return NULL;
}

const char *
bk_strerror(int rv)
{
	const struct bk_err_row *r = bk_err_row(rv);

	return r ? r->desc : "Unknown error";
}

int
bk_err_http(int rv)
{
	const struct bk_err_row *r = bk_err_row(rv);

	return r ? r->http : 500;
}

const char *
bk_err_slug(int rv)
{
	const struct bk_err_row *r = bk_err_row(rv);

	return r ? r->slug : "unknown";
}
EOC
	;;
md)
	echo '# Error and reason codes'
	echo
	echo 'Generated from `lib/errors.def`. The slug is the `reason` in audit records, logs and'
	echo 'error answers; the HTTP status is what the client sees.'
	echo
	echo '| code | slug | HTTP | meaning |'
	echo '|---:|---|---:|---|'
	awk '!/^#/ && NF >= 4 { d=""; for (i = 5; i <= NF; i++) d = d (i > 5 ? " " : "") $i; printf "| %d | `%s` | %d | %s |\n", $2, $4, $3, d }' "$def"
	;;
esac
