#!/bin/sh
# A stand-in for tirxc that breaks one promise of mk/robust.py, chosen by
# FAKE_MODE, whenever a pipeline runs; a plain check (no --pipeline) passes
# unless it reads what badoutput wrote.
# Arguments as robust.py passes them: options, SRC, -o, OUT.
pipeline=0 src= out=
while [ $# -gt 0 ]; do
	case $1 in
	--pipeline=*) pipeline=1 ;;
	-o) out=$2; shift ;;
	-*) ;;
	*) src=$1 ;;
	esac
	shift
done
if [ $pipeline -eq 0 ]; then
	# The read-back of an output: refuse what badoutput writes.
	if grep -q 'not a module' "$src"; then
		echo "$src:1:1: error: not a module" >&2
		exit 1
	fi
	exit 0
fi
case $FAKE_MODE in
located) echo "$src:3:1: error: refused" >&2; exit 1 ;;
wholefile) echo "$src: error: refused" >&2; exit 1 ;;
internal) echo "tirxc: internal error: boom during the passes" >&2; exit 70 ;;
unlocated) echo "tirxc: error: refused" >&2; exit 1 ;;
otherfile) echo "elsewhere.tx:3:1: error: refused" >&2; exit 1 ;;
leftover) echo "$src:3:1: error: refused" >&2; : >"$out"; exit 1 ;;
nooutput) exit 0 ;;
badoutput) echo "not a module" >"$out"; exit 0 ;;
sanitizer) echo "==1==ERROR: AddressSanitizer: heap-use-after-free" >&2; exit 1 ;;
ubsan) echo "x.c:1:2: runtime error: signed integer overflow" >&2; exit 1 ;;
hang) sleep 30 ;;
esac
