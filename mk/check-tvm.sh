#!/bin/sh
# make check-tvm: compares tirxc's passes, and the CUDA C it generates, with
# apache-tvm 0.27 itself (mk/check_tvm.py).  Makes, or reuses when it
# already holds the right version, a virtual environment under BUILD with
# apache-tvm from the package index; the compiler itself never needs
# Python (nor does the tier need a CUDA toolkit).  A missing package
# index is a failure, never a silent skip.  The last line is
# "N passed, N failed".
# usage: check-tvm.sh BUILD [driver options...]
build=${1:-build}
[ $# -gt 0 ] && shift
root=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$build ;; esac
version=0.27.0.post1
venv=$build/tvm-venv
py=$venv/bin/python

have=$("$py" -c 'import importlib.metadata as m; print(m.version("apache-tvm"))' 2>/dev/null)
if [ "$have" != "$version" ]; then
	echo "check-tvm: installing apache-tvm==$version into $build/tvm-venv (once)"
	rm -rf "$venv"
	if ! python3 -m venv "$venv" >"$build/tvm-install.log" 2>&1 ||
		! "$py" -m pip install --quiet "apache-tvm==$version" \
			>>"$build/tvm-install.log" 2>&1; then
		tail -n 5 "$build/tvm-install.log"
		echo "check-tvm: could not install apache-tvm==$version with pip: is the package index reachable? (log: $build/tvm-install.log)"
		rm -rf "$venv"
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

exec "$py" "$root/mk/check_tvm.py" --tirxc "$build/tirxc" \
	--testdata "$root/testdata" --known "$root/testdata/tvm-deviations.txt" \
	--log "$build/check-tvm.log" "$@"
