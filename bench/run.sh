#!/bin/sh
# Benchmarks parse + verify + print on generated modules of growing size.
# usage: bench/run.sh [BUILD]   (make bench)
# Prints, per size: lines, wall seconds of the whole run (best of 3), lines/s,
# peak RSS, the time ratio to the previous size (10x input should give <= 11x
# time), and lines/s of parse + verify + print alone (best of 3, from
# --time-passes: the whole run less reading and writing the files).
set -eu
build=${1:-build}
tirxc="$build/tirxc"
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
# Wall clock in nanoseconds (GNU date); /usr/bin/time only gives 10 ms.
now() { date +%s%N; }
printf '%10s %10s %12s %10s %8s %12s\n' lines seconds lines/s peak_MiB ratio pvp_lines/s
prev=""
for n in 1000 10000 100000 1000000; do
	python3 "$here/gen.py" $n >"$tmp/in.tx"
	lines=$(wc -l <"$tmp/in.tx")
	best=""
	peak=0
	pvp=""
	for rep in 1 2 3; do
		"$tirxc" "$tmp/in.tx" --emit=tir -o "$tmp/out.tx" --time-passes 2>"$tmp/phases"
		t=$(awk '$3 == "parse" || $3 == "verify" || $3 == "print" {s += $1} END {printf "%.4f", s}' "$tmp/phases")
		if [ -z "$pvp" ] || awk "BEGIN{exit !($t < $pvp)}"; then pvp=$t; fi
		t0=$(now)
		/usr/bin/time -f '%M' -o "$tmp/time" "$tirxc" "$tmp/in.tx" --emit=tir -o "$tmp/out.tx"
		t1=$(now)
		secs=$(awk "BEGIN{printf \"%.4f\", ($t1 - $t0) / 1e9}")
		read -r kb <"$tmp/time"
		if [ -z "$best" ] || awk "BEGIN{exit !($secs < $best)}"; then best=$secs; fi
		[ "$kb" -gt "$peak" ] && peak=$kb
	done
	# (parentheses: a bare '>' in awk's printf redirects to a file)
	rate=$(awk "BEGIN{printf \"%d\", ($best > 0 ? $lines / $best : 0)}")
	ratio=-
	if [ -n "$prev" ]; then
		ratio=$(awk "BEGIN{printf \"%.2f\", ($prev > 0 ? $best / $prev : 0)}")
	fi
	prate=$(awk "BEGIN{printf \"%d\", ($pvp > 0 ? $lines / $pvp : 0)}")
	printf '%10d %10s %12s %10d %8s %12s\n' "$lines" "$best" "$rate" $((peak / 1024)) "$ratio" "$prate"
	prev=$best
done
# The per-phase split for the largest size.
"$tirxc" "$tmp/in.tx" --emit=tir -o "$tmp/out.tx" --time-passes 2>&1 | sed 's/^/  /'
