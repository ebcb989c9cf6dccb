#!/bin/sh
# Runs the C unit tests and the lit file tests against $1/tirxc, then prints
# one closing line "N passed, N failed[, N skipped]" over both.
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
lit=${LIT:-/usr/lib/llvm-19/build/utils/lit/lit.py}
up=0 uf=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM

"$build/unittest" >"$out" 2>&1
rc=$?
# Passing unit tests provoke diagnostics on purpose; show them only when a
# test failed, so what make test prints is failures and the summary.
line=$(grep -E '^unit: [0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
if [ -n "$line" ]; then
	up=$(echo "$line" | sed -E 's/^unit: ([0-9]+) passed.*/\1/')
	uf=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
fi
[ $rc -ne 0 ] && [ "$uf" -eq 0 ] && uf=1
if [ "$uf" -ne 0 ]; then cat "$out"; else echo "$line"; fi

TIRXC="$root/$build/tirxc" TIRXC_BUILD="$root/$build" \
	python3 "$lit" -sv "$root/testdata" >"$out" 2>&1
rc=$?
grep -vE '^(PASS|UNSUPPORTED|XFAIL): ' "$out"
lp=$(sed -nE 's/^ *Passed *: *([0-9]+).*/\1/p' "$out")
lf=$(sed -nE 's/^ *Failed *: *([0-9]+).*/\1/p' "$out")
lx=$(sed -nE 's/^ *Unexpectedly Passed *: *([0-9]+).*/\1/p' "$out")
ls=$(sed -nE 's/^ *Unsupported *: *([0-9]+).*/\1/p' "$out")
lxf=$(sed -nE 's/^ *Expectedly Failed *: *([0-9]+).*/\1/p' "$out")
lp=${lp:-0} lf=${lf:-0} lx=${lx:-0} ls=${ls:-0} lxf=${lxf:-0}
lf=$((lf + lx))
[ $rc -ne 0 ] && [ "$lf" -eq 0 ] && lf=1
passed=$((up + lp + lxf))
failed=$((uf + lf))
if [ "$ls" -gt 0 ]; then
	echo "$passed passed, $failed failed, $ls skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
