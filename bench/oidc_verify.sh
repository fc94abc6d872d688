#!/bin/sh
# sso-broker: ID token verifications per second per core (oidc/, in-process).
# Copyright (c) 2026 the sso-broker authors. MIT licence, see LICENSE.
#
# Configures an unsanitized build in BUILD (default build/bench-oidc) when
# it has none, builds only tests/bench/oidc_verify, runs it for SECONDS (default
# 5) and writes the figures to bench/results/oidc-verify-<stamp>.md, with
# OpenSSL's RSA 2048 verify rate and the load average for scale.
# Exits 2 when the rate is under MIN (default 20000/s, issue 8).
#   bench/oidc_verify.sh [SECONDS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build/bench-oidc}
secs=${1:-5}
min=${MIN:-20000}

[ -x "$top/configure" ] || "$top/scripts/bootstrap.sh" "$build"
mkdir -p "$build"
if [ ! -f "$build/Makefile" ]; then
	(cd "$build" && "$top/configure" -q)
fi
if grep -E '^BK_CFLAGS =' "$build/Makefile" | grep -q -- '-fsanitize'; then
	echo "oidc_verify.sh: $build is a sanitizer build; use another BUILD" >&2
	exit 1
fi
make -C "$build" -s lib/errors.h >/dev/null
make -C "$build" -s tests/bench/oidc_verify >/dev/null
stamp=$(date -u +%Y%m%d-%H%M%S)
out="$top/bench/results/oidc-verify-$stamp.md"
rc=0
res=$("$build/tests/bench/oidc_verify" "$secs" "$min") || rc=$?
# OpenSSL's own RSA 2048 public-key rate on this machine, for scale.
rsa=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048/ {print $NF}')
res="$res
openssl speed rsa2048 verify: ${rsa:-?}/s; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%s\n' "$res"
{
	echo "# ID token verification, in-process ($stamp UTC)"
	echo
	echo "\`bench/oidc_verify.sh $secs\` on $(nproc) cores," \
	    "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')," \
	    "one thread, process CPU time, no sanitizers."
	echo
	printf '%s\n' "$res" | sed 's/^/    /'
} > "$out"
echo "wrote $out"
exit "$rc"
