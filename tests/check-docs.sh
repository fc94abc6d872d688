#!/bin/sh
# docs/errors.md must be what broker/errors.def generates [curl test1477].
set -eu
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
if ! sh "$top/broker/gen-errors.sh" "$top/broker/errors.def" md | cmp -s - "$top/docs/errors.md"; then
	echo "docs/errors.md is out of date: run"
	echo "  sh broker/gen-errors.sh broker/errors.def md > docs/errors.md"
	exit 1
fi
echo "docs/errors.md matches broker/errors.def"
