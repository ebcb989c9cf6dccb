#!/bin/sh
# Installs, with apt-get, the Debian packages that building and testing tirxc
# need and that this machine lacks.  Does nothing when all are present.
set -e
need=""
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
for p in make gcc clang llvm-19-dev llvm-19-tools python3; do
	have "$p" || need="$need $p"
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "tirxc: missing Debian packages:$need (run as root, or install them)" >&2
	exit 1
fi
echo "tirxc: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq $need >/dev/null
