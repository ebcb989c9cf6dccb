#!/bin/sh
# ptxas_all.sh TIRXC CUDA_HOME DIR FILES...: every FILE that --emit=cuda
# accepts goes through --emit=ptx --arch=sm_80 and `ptxas -arch=sm_80`
# (sm_90 for a module whose target asks for sm_90 or newer);
# prints the failures, then "ptxas: N modules, N failed".
tirxc=$1 home=$2 dir=$3
shift 3
n=0 bad=0
for f in "$@"; do
	b=$(basename "$f" .tx)
	"$tirxc" "$f" --emit=cuda -o /dev/null 2>/dev/null || continue
	arch=sm_80
	# A module whose target asks for sm_90 or newer may use what sm_80
	# lacks (cluster launch bounds, barrier.cluster): built for sm_90.
	grep -qE '"arch": "sm_(9|[1-9][0-9])' "$f" && arch=sm_90
	case $b in
	# Calls extern functions nobody defines: a kernel NVRTC must reject.
	tvm_access_ptr) continue ;;
	esac
	n=$((n + 1))
	if ! "$tirxc" "$f" --emit=ptx --arch=$arch -o "$dir/$b.ptx" 2>"$dir/$b.err"; then
		echo "FAIL tirxc $f"; cat "$dir/$b.err"; bad=$((bad + 1)); continue
	fi
	if ! "$home/bin/ptxas" -arch=$arch -o "$dir/$b.cubin" "$dir/$b.ptx" 2>"$dir/$b.err"; then
		echo "FAIL ptxas $f"; cat "$dir/$b.err"; bad=$((bad + 1))
	fi
done
echo "ptxas: $n modules, $bad failed"
