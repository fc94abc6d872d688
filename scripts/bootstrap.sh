#!/bin/sh
# Install what the build needs (idempotent), then autoreconf, configure, make.
#   scripts/bootstrap.sh [BUILD_DIR] [configure options...]
# BUILD_DIR defaults to ./build (an out-of-tree build of this checkout).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
[ $# -gt 0 ] && shift

pkgs=$(grep -v '^#' "$top/scripts/deps.txt" | tr '\n' ' ')
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bootstrap: installing:$missing"
	SUDO=
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# lasso >= 2.8.1-1+deb12u1 carries the fixes for CVE-2025-47151, -46404, -46705.
v=$(dpkg-query -W -f='${Version}' liblasso3)
dpkg --compare-versions "$v" ge 2.8.1-1+deb12u1 ||
	{ echo "bootstrap: liblasso3 $v is older than 2.8.1-1+deb12u1 (CVE-2025-47151)"; exit 1; }

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt Makefile.in ]; then
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
mkdir -p "$build"
cd "$build"
opts="$*"
if [ ! -f Makefile ] || [ "$(cat .bk-configure-opts 2>/dev/null)" != "$opts" ]; then
	# shellcheck disable=SC2086
	"$top/configure" -q $opts
	echo "$opts" > .bk-configure-opts
fi
make -j"$(nproc)" -s
