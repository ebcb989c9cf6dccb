#!/bin/sh
# stop-signal.sh TIRXC DIR SIG: starts tirxc on a fifo input with a stale -o
# file, waits until it has opened the fifo (its handlers are set by then),
# sends SIG and prints how it ended and whether the output is still there.
tirxc=$1 dir=$2 sig=$3
rm -f "$dir/in.fifo" "$dir/out.tx"
mkfifo "$dir/in.fifo"
echo stale > "$dir/out.tx"
# (a background job of a script starts with SIGINT ignored; tirxc keeps
# an ignored signal ignored, so the default is restored for it)
env --default-signal=INT "$tirxc" "$dir/in.fifo" -o "$dir/out.tx" &
pid=$!
exec 3> "$dir/in.fifo" # returns once tirxc has opened the fifo
kill -s "$sig" "$pid"
wait "$pid"
rc=$?
exec 3>&-
echo "status $rc"
if [ -e "$dir/out.tx" ]; then echo "output left"; else echo "output removed"; fi
ls -A "$dir" | grep -v '^in.fifo$' || true
