#!/bin/sh
# make check: the house rules (scripts/checksrc) hold for every source file.
exec sh "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/scripts/checksrc"
