#!/bin/sh
# usage: cuda-build.sh TIRXC TESTDATA WORKDIR
# Compiles the CUDA C of every kernel module in TESTDATA with nvcc: each .tx
# whose default pipeline yields device functions goes through
# `tirxc --emit=cuda`, then `nvcc -Werror all-warnings -cubin` for sm_80 and
# sm_90a (sm_90a only when the module's target asks for sm_90 or newer:
# such code may use what sm_80 lacks, e.g. cluster launch bounds).  Modules
# that tirxc refuses, or that have no kernel, are counted and skipped.
# Two nvcc at a time.  Exits 0 with a message when nvcc is missing; prints
# "cuda-build: N modules, N compiles, N failed" and fails on any failure.
tirxc=$1 testdata=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
cuda=${CUDA_HOME:-/usr/local/cuda}
nvcc=$cuda/bin/nvcc
if [ ! -x "$nvcc" ]; then
	echo "cuda-build: skipped: no nvcc at $nvcc"
	exit 0
fi
rm -rf "$work" && mkdir -p "$work" || exit 1
jobs=$work/jobs
: >"$jobs"
n=0 skipped=0
for f in $(find "$testdata" -name '*.tx' | LC_ALL=C sort); do
	case $f in
	# kernels that call a function nobody declares, on purpose: the
	# tools' error relay is tested with them
	*/cuda/Inputs/tools_undeclared*) continue ;;
	esac
	n=$((n + 1))
	cu=$work/$n.cu
	if ! "$tirxc" "$f" --emit=cuda -o "$cu" 2>/dev/null; then
		skipped=$((skipped + 1))
		continue
	fi
	echo "$f" >"$work/$n.src"
	if ! grep -qE '"arch": "sm_(9|[1-9][0-9])' "$f"; then
		echo "$n sm_80" >>"$jobs"
	fi
	echo "$n sm_90a" >>"$jobs"
done
# One line per compile: "ok N ARCH" or "FAIL N ARCH"; the log is N.ARCH.log.
W=$work NVCC=$nvcc EXT=$here/cuda-externs.h xargs -P 2 -L 1 sh -c '
	if "$NVCC" -Werror all-warnings -arch="$1" -cubin -include "$EXT" \
		-o "$W/$0.$1.cubin" "$W/$0.cu" >"$W/$0.$1.log" 2>&1; then
		echo "ok $0 $1"
	else
		echo "FAIL $0 $1"
	fi' <"$jobs" >"$work/results"
failed=0
for r in $(grep -n '^FAIL' "$work/results" | cut -d: -f1); do
	set -- $(sed -n "${r}p" "$work/results")
	echo "cuda-build: FAIL $3 $(cat "$work/$2.src") ($work/$2.cu)"
	sed 's/^/  /' "$work/$2.$3.log" | head -n 20
	failed=$((failed + 1))
done
compiles=$(wc -l <"$work/results")
echo "cuda-build: $((n - skipped)) modules, $compiles compiles, $failed failed ($skipped .tx without kernel or refused)"
[ "$failed" -eq 0 ] && [ "$compiles" -eq "$(wc -l <"$jobs")" ]
