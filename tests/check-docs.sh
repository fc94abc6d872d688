#!/bin/sh
# docs/errors.md must be what lib/errors.def generates [curl test1477].
set -eu
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
if ! sh "$top/lib/gen-errors.sh" "$top/lib/errors.def" md | cmp -s - "$top/docs/errors.md"; then
	echo "docs/errors.md is out of date: run"
	echo "  sh lib/gen-errors.sh lib/errors.def md > docs/errors.md"
	exit 1
fi
echo "docs/errors.md matches lib/errors.def"
