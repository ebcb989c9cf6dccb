#!/bin/sh
# fake-toolkit.sh REAL_HOME DIR MODE: makes DIR a CUDA toolkit whose NVRTC,
# headers and fatbinary are REAL_HOME's and whose ptxas misbehaves:
#   hang   records its pid in DIR/ptxas.pid, then sleeps (as that pid)
#   crash  dies of SIGSEGV
#   line   reports an error at the line after the first .entry of its input
#   last   the same after the last .entry
real=$1 dir=$2 mode=$3
rm -rf "$dir" && mkdir -p "$dir/bin"
for d in lib64 lib include; do
	[ -e "$real/$d" ] && ln -s "$real/$d" "$dir/$d"
done
ln -s "$real/bin/fatbinary" "$dir/bin/fatbinary"
case $mode in
hang) body="echo \$\$ > '$dir/ptxas.pid'; exec sleep 60" ;;
crash) body='kill -s SEGV $$' ;;
line) body='for a; do f=$a; done
n=$(grep -n "^.visible .entry" "$f" | head -n 1 | cut -d: -f1)
echo "ptxas $f, line $((n + 1)); error   : Something is wrong here"
echo "ptxas fatal   : Ptx assembly aborted due to errors"
exit 255' ;;
last) body='for a; do f=$a; done
n=$(grep -n "^.visible .entry" "$f" | tail -n 1 | cut -d: -f1)
echo "ptxas $f, line $((n + 1)); error   : Something is wrong here"
exit 255' ;;
esac
printf '#!/bin/sh\n%s\n' "$body" > "$dir/bin/ptxas"
chmod +x "$dir/bin/ptxas"
