#!/bin/sh
# make check: the house rules (scripts/checksrc) hold for every source file.
# First checksrc itself is tried on a planted file: a rule whose pattern
# broke would otherwise pass everything in silence.
set -u
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/check-src.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$tmp/scripts" "$tmp/broker"
cp "$top/scripts/checksrc" "$top/scripts/checkrefs" "$tmp/scripts/"
{
	echo '/*'
	echo ' * planted.  Copyright (c) 2026 the sso-broker authors. MIT licence.'
	echo ' * Names real_fn(), struct real, ->real_field; gone_fn() and'
	echo ' * struct gone_rec, ->gone_field and store_gone_name.'
	echo ' */'
	echo 'struct real { int real_field; };'
	echo 'static int real_fn(void) { return 0; }'
	echo 'static int'
	echo 'planted(int a)'
	echo '{'
	echo '	switch (a) {'
	echo '	case 1:'
	echo '	default:'
	echo '		break;'
	echo '	}'
	echo '	if (a)'
	echo '		goto fail;'
	echo ' fail:'
	i=0
	while [ $i -lt 70 ]; do echo '	a++;'; i=$((i + 1)); done
	echo '	return real_fn();'
	echo '}'
} >"$tmp/broker/planted.c"
out=$(top_srcdir=$tmp sh "$tmp/scripts/checksrc" 2>&1) && {
	echo "check-src: checksrc passed a planted file"; exit 1; }
for want in 'planted.c:18: label fail' 'planted.c:9: planted is 81 lines' \
    'names gone_fn()' 'names struct gone_rec' 'names ->gone_field' \
    'names store_gone_name'; do
	case $out in
	*"$want"*) ;;
	*) echo "check-src: checksrc missed: $want"; echo "$out"; exit 1 ;;
	esac
done
case $out in
*real*|*"label default"*) echo "check-src: a false alarm: $out"; exit 1 ;;
esac
exec sh "$top/scripts/checksrc"
