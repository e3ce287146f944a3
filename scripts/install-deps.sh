#!/bin/sh
# Installs the Debian packages voxbat needs to build, test and run, and only
# those that are missing. `--check` lists what is missing and exits 1 if
# anything is, without installing. Further arguments name more packages
# (make fuzz: clang and libFuzzer). Needs root (or sudo) to install.
set -eu
CHECK=""
if [ "${1:-}" = "--check" ]; then
	CHECK=1
	shift
fi

PACKAGES="gcc make pkg-config libhdf5-dev hdf5-tools zlib1g-dev libsuitesparse-dev
libtiff-dev libtiff-tools libjansson-dev libinih-dev libhypre-dev bats bats-assert bats-support time jq gnuplot-nox procps
python3-h5py python3-numpy python3-pandas help2man $*"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ -n "$CHECK" ]; then
	echo "install-deps: missing Debian packages:$missing" >&2
	exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: missing packages:$missing; run this script as root" >&2
	exit 1
fi

echo "install-deps: installing$missing" >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
