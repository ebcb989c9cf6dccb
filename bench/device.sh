#!/bin/sh
# Benchmarks device code generation (not a test): for each module, the
# wall seconds of
#   cuda     tirxc --emit=cuda (read, parse, verify, the default pipeline,
#            CUDA C, write)
#   nvrtc    NVRTC inside tirxc --emit=ptx (its --time-passes row "ptx")
#   ptxas    ptxas -arch=ARCH on that PTX
#   cubin    tirxc --emit=cubin end to end
#   nvcc     nvcc -cubin -arch=ARCH on the same CUDA C
# Modules: testdata/examples/*.tx and a generated module of KERNELS kernels
# (bench/gen.py, ~66 lines a kernel).  Small modules: best of 3 runs; the
# generated one: one run (a minute or more of NVRTC and ptxas each).
# usage: bench/device.sh [BUILD] [KERNELS] [ARCH]   (needs the CUDA toolkit)
set -eu
build=${1:-build}
kernels=${2:-1000}
arch=${3:-sm_80}
tirxc="$build/tirxc"
here=$(dirname "$0")
home=${CUDA_HOME:-$("$tirxc" --version | sed -n 's/^CUDA toolkit: \(.*\) (.*/\1/p')}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

now() { date +%s.%N; }
# wall seconds of one run of the command
secs() { t0=$(now); "$@" >/dev/null 2>&1; t1=$(now); echo "$t1 - $t0" | bc; }
# the best of $reps runs
best() { b=; for _ in $reps; do s=$(secs "$@"); if [ -z "$b" ] || [ "$(echo "$s < $b" | bc)" = 1 ]; then b=$s; fi; done; printf '%.3f' "$b"; }

python3 "$here/gen.py" $((kernels * 60)) > "$tmp/gen$kernels.tx"
printf '%-22s %7s %8s %8s %8s %8s %8s\n' module kernels cuda nvrtc ptxas cubin nvcc
for f in "$here"/../testdata/examples/*.tx "$tmp/gen$kernels.tx"; do
	b=$(basename "$f" .tx)
	case $b in gen*) reps="1" ;; *) reps="1 2 3" ;; esac
	cu="$tmp/$b.cu" ptx="$tmp/$b.ptx"
	"$tirxc" "$f" --emit=cuda -o "$cu"
	n=$(grep -c '^extern "C" __global__.*{$' "$cu" || true)
	c=$(best "$tirxc" "$f" --emit=cuda -o "$cu")
	nv=$("$tirxc" "$f" --arch="$arch" --emit=ptx -o "$ptx" --time-passes 2>&1 | awk '$3 == "ptx" { print $1 }')
	p=$(best "$home/bin/ptxas" -arch="$arch" -o "$tmp/$b.cubin" "$ptx")
	e=$(best "$tirxc" "$f" --arch="$arch" --emit=cubin -o "$tmp/$b.e2e.cubin")
	g=$(best "$home/bin/nvcc" -cubin -arch="$arch" -o "$tmp/$b.nvcc.cubin" "$cu")
	printf '%-22s %7s %8s %8.3f %8s %8s %8s\n' "$b" "$n" "$c" "$nv" "$p" "$e" "$g"
done
