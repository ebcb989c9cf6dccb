#!/bin/sh
# For every well-formed module in testdata (all .tx files outside errors/,
# verify/ and the deliberately ill-formed ones), checks the printer's two
# properties: print(parse(x)) is a fixed point of print . parse, and
# parse(print(m)) is structurally equal to m.  usage: roundtrip.sh TIRXC DIR
tirxc=$1 dir=$2 out=$3
mkdir -p "$out"
fail=0 n=0
for f in $(find "$dir" -name '*.tx' ! -path '*/errors/*' ! -path '*/verify/*' | sort); do
	# ill-formed on purpose (free vars) or not meant to parse: skip verification
	flags=""
	grep -q -- '--no-verify' "$f" && flags="--no-verify"
	"$tirxc" $flags "$f" -o "$out/a.tx" 2>/dev/null || continue
	n=$((n + 1))
	if ! "$tirxc" $flags "$out/a.tx" -o "$out/b.tx"; then
		echo "FAIL: $f: printed output does not parse"; fail=1; continue
	fi
	if ! cmp -s "$out/a.tx" "$out/b.tx"; then
		echo "FAIL: $f: printing is not a fixed point"; diff "$out/a.tx" "$out/b.tx" | head -5; fail=1
	fi
	if ! "$tirxc" $flags --compare "$f" "$out/a.tx" >/dev/null; then
		echo "FAIL: $f: parse(print(m)) differs from m"; fail=1
	fi
done
echo "round-tripped $n modules"
[ "$n" -gt 40 ] && [ $fail -eq 0 ]
