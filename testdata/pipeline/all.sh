#!/bin/sh
# Runs the default pipeline with --verify-each over every well-formed module
# in testdata (functions without a target get --target=cuda --host=llvm).
# Inputs of expected-failure tests (RUN lines with `not %tirxc` or an exit
# status of 1) and deliberately ill-formed modules (--no-verify) are left out.
# usage: all.sh TIRXC TESTDATA OUTDIR
tirxc=$1 dir=$2 out=$3
mkdir -p "$out"
n=0 fail=0
for f in $(find "$dir" -name '*.tx' ! -path '*/errors/*' ! -path '*/verify/*' | sort); do
	if grep -qE -- 'not %tirxc|test \$\? (-eq|=) 1|--no-verify' "$f"; then
		continue
	fi
	"$tirxc" "$f" -o /dev/null 2>/dev/null || continue
	n=$((n + 1))
	if ! "$tirxc" --pipeline=default --verify-each --target=cuda --host=llvm "$f" \
		-o "$out/out.tx" 2>"$out/err.txt"; then
		echo "FAIL: $f: $(head -n 1 "$out/err.txt")"
		fail=1
	fi
done
echo "ran the default pipeline on $n modules"
[ "$n" -gt 100 ] && [ $fail -eq 0 ]
