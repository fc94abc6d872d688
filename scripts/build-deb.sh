#!/bin/sh
# Build the Debian package from this tree and check it with lintian.
#   scripts/build-deb.sh [OUT_DIR]      (default: build/deb)
# The tree is copied (git's files when this is a checkout, else everything
# but build/), so the build never writes into the checkout.  Prints the
# path of the .deb on its last line; exits non-zero if the build fails or
# lintian reports an error.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/deb}
need=
for p in debhelper lintian dpkg-dev fakeroot; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		need="$need $p"
done
if [ -n "$need" ]; then
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
rm -rf "$out"
mkdir -p "$out/sso-broker"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$top" ls-files -z --cached --others --exclude-standard |
	    (cd "$top" && tar --null -T - -cf -) | tar -xf - -C "$out/sso-broker"
else
	(cd "$top" && tar --exclude=./build -cf - .) | tar -xf - -C "$out/sso-broker"
fi
cd "$out/sso-broker"
dpkg-buildpackage -us -uc -b -j"$(nproc)" >"$out/build.log" 2>&1 ||
	{ tail -40 "$out/build.log"; exit 1; }
cd "$out"
deb=$(ls "$out"/sso-broker_*.deb)
# --fail-on error: warnings are reported, errors fail the build.
lintian --fail-on error --tag-display-limit 0 "$out"/sso-broker_*.changes \
    >"$out/lintian.log" 2>&1 || { cat "$out/lintian.log"; exit 1; }
cat "$out/lintian.log"
echo "$deb"
