#!/bin/sh
# stop-tool.sh TIRXC FAKE_HOME DIR INPUT: builds a cubin with the hanging
# ptxas of FAKE_HOME over a stale DIR/out.cubin, sends SIGTERM to tirxc once
# ptxas runs, and prints how tirxc ended, whether the output, ptxas and the
# temporary files (TMPDIR=DIR/tmp) are still there.
tirxc=$1 home=$2 dir=$3 in=$4
rm -rf "$dir/tmp" && mkdir -p "$dir/tmp"
rm -f "$home/ptxas.pid"
echo stale > "$dir/out.cubin"
CUDA_HOME=$home TMPDIR=$dir/tmp "$tirxc" "$in" --arch=sm_80 -o "$dir/out.cubin" &
pid=$!
i=0
while [ ! -s "$home/ptxas.pid" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
kill -s TERM "$pid"
wait "$pid"
echo "status $?"
if [ -e "$dir/out.cubin" ]; then echo "output left"; else echo "output removed"; fi
tool=$(cat "$home/ptxas.pid")
i=0
while kill -0 "$tool" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$tool" 2>/dev/null; then echo "tool still running"; kill "$tool"; else echo "tool stopped"; fi
if [ -z "$(ls -A "$dir/tmp")" ]; then echo "temporaries removed"; else echo "left:"; ls -A "$dir/tmp"; fi
