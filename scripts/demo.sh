#!/bin/sh
# The main job on a small built-in example: the Study P base cathode
# (106 x 60 x 60 um, 65 vol% CAM, 21 vol% CBD, 14 vol% electrolyte), a
# perforated variant, what they contain, the ASSB cells made from them and
# what those promise (capacity, energy bound, effective conductivity).
# usage: scripts/demo.sh BIN_DIR OUT_DIR
set -eu
bin=$1
out=$2
mkdir -p "$out"
PATH="$bin:$PATH"

run() {
	echo "\$ $*"
	"$@"
}

run genstruct homogeneous --size 106x60x60um --voxel 1um --cam 0.65 --cbd 0.21 \
	--electrolyte 0.14 --seed 1 -o "$out/cathode.h5"
run genstruct info "$out/cathode.h5"
echo
run genstruct perforate --radius 16um "$out/cathode.h5" -o "$out/perforated.h5"
run genstruct info "$out/perforated.h5"
echo
run assemble "$out/cathode.h5" --cell assb -o "$out/cell.h5"
run assemble "$out/perforated.h5" --cell assb -o "$out/cell-perforated.h5"
run metrics --conductivity "$out/cell.h5"
echo
run metrics --conductivity "$out/cell-perforated.h5"
echo
echo "demo files are in $out/"
