#!/bin/bash
# The test command: installs what it needs, builds with ASan+UBSan (and
# -Werror), then runs every suite and ends with "N passed, N failed".
#
#   scripts/test.sh            everything (what CI runs)
#   scripts/test.sh --quick    skip make distcheck and the fuzz runs
#
# Suites: unit tests (cmocka) and corpus replays (make check); make
# distcheck; integration tests (pytest: real redis-server, the daemon, IdPs
# from python3-pysaml2 and python3-lasso); Chromium sign-in; short libFuzzer
# runs of every fuzz target.  Environment: FUZZ_SECONDS (default 20),
# SANITIZERS=0 to build without sanitizers.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
quick=0
[ "${1:-}" = "--quick" ] && quick=1
PY=/usr/bin/python3
build=$top/build/test
fuzzbuild=$top/build/fuzz
passed=0
failed=0
failures=()

note() { printf '\n== %s\n' "$*"; }
count() {	# count PASSED FAILED NAME
	passed=$((passed + $1))
	failed=$((failed + $2))
	[ "$2" -gt 0 ] && failures+=("$3 ($2 failed)")
	return 0
}

conf_opts="--enable-werror"
[ "${SANITIZERS:-1}" = 1 ] && conf_opts="$conf_opts --enable-sanitizers"

note "build ($conf_opts)"
if ! "$top/scripts/bootstrap.sh" "$build" $conf_opts; then
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

# ASan: abort on the first error; leaks are checked at every exit.  The
# suppressions cover one-time allocations inside lasso/GLib/libxml2 that
# those libraries never free (documented in tests/lsan.supp).
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:halt_on_error=1:exitcode=86"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"

note "unit tests and corpus replays (make check)"
rm -f "$build"/tests/unit/*.trs "$build"/tests/fuzz/*.trs "$build"/tests/*.trs \
    "$build"/scripts/*.trs
(cd "$build" && make -s -j"$(nproc)" check >"$build/check.log" 2>&1)
check_rc=$?
ntrs=0
for trs in "$build"/tests/unit/*.trs "$build"/tests/fuzz/*.trs "$build"/tests/*.trs \
    "$build"/scripts/*.trs; do
	[ -f "$trs" ] || continue
	log=${trs%.trs}.log
	name=$(basename "${trs%.trs}")
	res=$(sed -n 's/^:test-result: //p' "$trs")
	p=$(grep -ho '^\[  PASSED  \] [0-9]*' "$log" 2>/dev/null | awk '{s+=$4} END {print s+0}')
	f=$(grep -ho '^\[  FAILED  \] [0-9]* test' "$log" 2>/dev/null | awk '{s+=$4} END {print s+0}')
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then	# not cmocka: one test
		[ "$res" = PASS ] && p=1 || f=1
	elif [ "$res" != PASS ] && [ "$f" -eq 0 ]; then
		f=1	# crashed after its cases
	fi
	printf '  %-32s %s (%d passed, %d failed)\n' "$name" "$res" "$p" "$f"
	count "$p" "$f" "$name"
	[ "$res" = PASS ] || tail -20 "$log"
	ntrs=$((ntrs + 1))
done
if [ "$check_rc" -ne 0 ] && { [ "$ntrs" -eq 0 ] || [ "$failed" -eq 0 ]; }; then
	# make check itself failed (a test did not build, or crashed the harness)
	grep -E 'error|Error' "$build/check.log" | head -20
	count 0 1 "make check"
fi

if [ "$quick" = 0 ]; then
	note "make distcheck"
	if (cd "$build" && make -s distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror \
	    >"$build/distcheck.log" 2>&1); then
		echo "  distcheck ok"
		count 1 0 distcheck
	else
		tail -30 "$build/distcheck.log"
		count 0 1 distcheck
	fi
	# The README's "Building by hand", exactly: in-tree, in a copy of the
	# checkout (an in-tree configure would stop the out-of-tree builds).
	note "in-tree build (README: autoreconf -fi && ./configure && make && make check)"
	intree=$top/build/intree
	rm -rf "$intree" && mkdir -p "$intree"
	if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$top" ls-files -z | (cd "$top" && tar --null -T - -cf -) |
		    tar -xf - -C "$intree"
	else
		(cd "$top" && tar --exclude=./build -cf - .) | tar -xf - -C "$intree"
	fi
	if (cd "$intree" && autoreconf -fi && ./configure && make -j"$(nproc)" &&
	    make -j"$(nproc)" check) >"$top/build/intree.log" 2>&1; then
		echo "  in-tree build and make check ok"
		count 1 0 in-tree
	else
		tail -30 "$top/build/intree.log"
		count 0 1 in-tree
	fi
fi

run_pytest() {	# name dir...
	local name=$1 out rc p f e
	shift
	out=$(mktemp)
	BROKER_BUILD="$build" $PY -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$out" | tail -40
	rc=${PIPESTATUS[0]}
	p=$(grep -Eo '[0-9]+ passed' "$out" | tail -1 | awk '{print $1}')
	f=$(grep -Eo '[0-9]+ failed' "$out" | tail -1 | awk '{print $1}')
	e=$(grep -Eo '[0-9]+ errors?' "$out" | tail -1 | awk '{print $1}')
	p=${p:-0}
	f=$((${f:-0} + ${e:-0}))
	# exit 5 = no tests collected: a suite that ran nothing fails.
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	count "$p" "$f" "$name"
	rm -f "$out"
}

note "integration tests (pytest, real redis-server, the daemon, pysaml2 and lasso IdPs)"
run_pytest integration "$top/tests/integration"

note "browser sign-in (headless Chromium)"
run_pytest browser "$top/tests/browser"

if [ "$quick" = 0 ]; then
	note "fuzzing (libFuzzer, ${FUZZ_SECONDS:-20} s per target)"
	if CC=clang "$top/scripts/bootstrap.sh" "$fuzzbuild" --enable-fuzzers >/dev/null 2>&1; then
		for fz in "$fuzzbuild"/tests/fuzz/fuzz_*; do
			[ -x "$fz" ] || continue
			name=$(basename "$fz")
			target=${name#fuzz_}
			work=$(mktemp -d)
			cp "$top/tests/corpus/$target"/* "$work"/ 2>/dev/null
			rm -f "$work"/*.expect "$work"/*.md
			if (cd "$work" && "$fz" -max_total_time="${FUZZ_SECONDS:-20}" -rss_limit_mb=1024 \
			    -timeout=10 -print_final_stats=1 "$work" >"$work/fuzz.log" 2>&1); then
				runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/fuzz.log" | awk '{print $2}')
				printf '  %-24s ok (%s executions)\n' "$name" "${runs:-?}"
				count 1 0 "$name"
			else
				tail -30 "$work/fuzz.log"
				echo "  $name: crash inputs are kept in $work"
				count 0 1 "$name"
				continue
			fi
			rm -rf "$work"
		done
	else
		echo "  cannot build the fuzzers (clang, libclang-rt-14-dev)"
		count 0 1 fuzz-build
	fi
fi

note "summary"
for f in "${failures[@]}"; do echo "  FAILED: $f"; done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
