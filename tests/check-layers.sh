#!/bin/sh
# The layering is kept by the build: lib/, saml/, policy/, oidc/ and
# ssoctl/ compile with their own include path, which holds no daemon
# header.  Each module's real flags (from the Makefile) must fail on a
# daemon header and still compile its own and lib/'s.
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
set -u
top=${top_srcdir:?}
cc=${LAYER_CC:?}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
try() {	# module flags header expect(0 ok, 1 refused)
	printf '#include "%s"\nint layer_probe;\n' "$3" > "$tmp/$1/probe.c"
	if $cc $2 -I"$top/$1" -fsyntax-only "$tmp/$1/probe.c" 2>/dev/null; then
		got=0
	else
		got=1
	fi
	if [ "$got" = "$4" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "layers: $1 including $3: expected $([ "$4" = 1 ] &&
		    echo refused || echo compiled)"
	fi
}
check() {	# module flags own-header
	mkdir -p "$tmp/$1"
	try "$1" "$2" bk.h 0
	[ -n "$3" ] && try "$1" "$2" "$3" 0
	for h in front.h front_int.h store.h conf.h audit.h metrics.h proc.h; do
		try "$1" "$2" "$h" 1
	done
}
check lib "$LAYER_LIB" log.h
check saml "$LAYER_SAML" saml.h
check policy "$LAYER_POL" pol.h
check oidc "$LAYER_OIDC" oidc.h
check ssoctl "$LAYER_SSOCTL" ssoctl.h
# A relative path would go round the include path.
if grep -n '#[ \t]*include[ \t]*["<]\.\./' "$top"/lib/*.[ch] \
    "$top"/saml/*.[ch] "$top"/policy/*.[ch] "$top"/oidc/*.[ch] \
    "$top"/ssoctl/*.[ch] "$top"/broker/*.[ch]; then
	fail=$((fail + 1))
	echo "layers: an include by relative path (above)"
fi
echo "layers: $pass passed, $fail failed"
[ "$fail" = 0 ]
