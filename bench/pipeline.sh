#!/bin/sh
# Benchmarks the default pass pipeline: on generated modules of 100, 1000
# and 10000 kernels (bench/gen.py, 60 lines a kernel) and on the testdata
# corpus (the well-formed modules testdata/pipeline/all.sh runs).
# usage: bench/pipeline.sh [BUILD] [TESTDATA]   (part of `make bench`)
#
# Prints, per size: lines, parse seconds (tirxc --time-passes without
# passes), the passes together (--no-verify), the verifier's runs with
# --verify-each, the ratio passes/parse, the peak RSS (GNU time %M) of the
# parse-only run, the pipeline run and the verified run, and the time ratio
# of the passes to the previous size (10x the kernels should give <= 11x).
# Then, for 1000 kernels and for the corpus, the time of every pass; for
# 1000 kernels also the peak RSS of the pipeline cut after that pass.
# Times are the best of five runs (this kind of machine varies a lot).
set -eu
build=${1:-build}
data=${2:-testdata}
tirxc="$build/tirxc"
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
reps="1 2 3 4 5"

# The phase and pass rows of one --time-passes table ("seconds name").
rows() { awk '!/^#/ { print $1, $3 }' "$1"; }

# best FILE...: per row name, the smallest time over the tables given.
best() {
	awk '!/^#/ { if (!($3 in t) || $1 < t[$3]) t[$3] = $1; if (!($3 in o)) o[$3] = n++ }
	     END { for (k in t) print o[k], t[k], k }' "$@" | sort -n | cut -d' ' -f2-
}

# The sum of the pass rows (everything but the driver's phases).
passes_sum() {
	awk '$2 !~ /^(read|parse|verify|print|write|total)$/ { s += $1 } END { printf "%.4f\n", s }'
}

row() { awk -v k="$2" '$2 == k { print $1 }' "$1"; }

peak_kb() { # peak RSS in KiB of the command
	/usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null 2>&1 || true
	cat "$tmp/rss"
}

pipeline="BindTarget FlattenBuffer BF16ComputeLegalize VectorizeLoop FP8ComputeLegalize
VerifyMemory AnnotateEntryFunc ThreadSync MergeSharedMemoryAllocations AnnotateDeviceRegions
SplitHostDevice LowerDeviceKernelLaunch MakePackedAPI FP8StorageLegalize BF16StorageLegalize
LowerTVMBuiltin LowerIntrin"

echo "# default pipeline on generated modules (seconds, best of 5; MiB peak RSS)"
printf '%8s %9s %8s %8s %8s %7s %8s %8s %8s %6s\n' \
	kernels lines parse passes verify ratio rss_parse rss_pipe rss_verify growth
prev=""
for k in ${BENCH_KERNELS:-100 1000 10000}; do
	python3 "$here/gen.py" $((k * 60)) --kernels $k >"$tmp/k$k.tx"
	lines=$(wc -l <"$tmp/k$k.tx")
	for r in $reps; do
		"$tirxc" "$tmp/k$k.tx" --time-passes -o /dev/null 2>"$tmp/parse.$r"
		"$tirxc" "$tmp/k$k.tx" --pipeline=default --no-verify --time-passes \
			-o /dev/null 2>"$tmp/pipe.$r"
		"$tirxc" "$tmp/k$k.tx" --pipeline=default --verify-each --time-passes \
			-o /dev/null 2>"$tmp/ver.$r"
	done
	best "$tmp"/parse.? >"$tmp/parse.best"
	parse=$(row "$tmp/parse.best" parse)
	best "$tmp"/pipe.? >"$tmp/pipe.best.$k"
	passes=$(passes_sum <"$tmp/pipe.best.$k")
	best "$tmp"/ver.? >"$tmp/ver.best"
	verify=$(row "$tmp/ver.best" verify)
	ratio=$(awk "BEGIN{printf \"%.2f\", $passes / $parse}")
	rp=$(peak_kb "$tirxc" "$tmp/k$k.tx" -o /dev/null)
	rq=$(peak_kb "$tirxc" "$tmp/k$k.tx" --pipeline=default --no-verify -o /dev/null)
	rv=$(peak_kb "$tirxc" "$tmp/k$k.tx" --pipeline=default --verify-each -o /dev/null)
	growth=-
	[ -n "$prev" ] && growth=$(awk "BEGIN{printf \"%.2f\", $passes / $prev}")
	printf '%8d %9d %8s %8s %8s %7s %8d %8d %8d %6s\n' $k "$lines" "$parse" "$passes" \
		"$verify" "$ratio" $((rp / 1024)) $((rq / 1024)) $((rv / 1024)) "$growth"
	prev=$passes
done

echo
echo "# per pass, 1000 kernels: seconds (best of 5, --no-verify) and the peak"
echo "# RSS (MiB) of the pipeline up to and including the pass"
list=""
for p in $pipeline; do
	list="${list:+$list,}$p"
	kb=$(peak_kb "$tirxc" "$tmp/k1000.tx" --passes="$list" --no-verify -o /dev/null)
	printf '%10s %6d  %s\n' "$(row "$tmp/pipe.best.1000" "$p")" $((kb / 1024)) "$p"
done

# The corpus: all.sh's selection (no error or verifier tests, no expected
# failures, modules that parse and get through the pipeline).
echo
echo "# per pass, testdata corpus: seconds summed over the modules (best of 5)"
n=0
: >"$tmp/corpus.list"
for f in $(find "$data" -name '*.tx' ! -path '*/errors/*' ! -path '*/verify/*' | sort); do
	grep -qE -- 'not %tirxc|test \$\? (-eq|=) 1|--no-verify' "$f" && continue
	"$tirxc" --pipeline=default --target=cuda --host=llvm "$f" -o /dev/null 2>/dev/null || continue
	echo "$f" >>"$tmp/corpus.list"
	n=$((n + 1))
done
for r in $reps; do
	: >"$tmp/corpus.$r"
	while read -r f; do
		"$tirxc" --pipeline=default --no-verify --target=cuda --host=llvm --time-passes \
			"$f" -o /dev/null 2>>"$tmp/corpus.$r"
	done <"$tmp/corpus.list"
	awk '!/^#/ { if (!($3 in t)) o[$3] = n++; t[$3] += $1 }
	     END { for (k in t) printf "%d %.6f - %s\n", o[k], t[k], k }' "$tmp/corpus.$r" |
		sort -n | cut -d' ' -f2- >"$tmp/csum.$r"
done
best "$tmp"/csum.? >"$tmp/csum.best"
awk '{ printf "%10s  %s\n", $1, $2 }' "$tmp/csum.best"
cparse=$(row "$tmp/csum.best" parse)
cpasses=$(passes_sum <"$tmp/csum.best")
echo "$n modules; passes $cpasses s, parse $cparse s, ratio $(awk "BEGIN{printf \"%.2f\", $cpasses / $cparse}")"
