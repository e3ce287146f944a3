#!/usr/bin/env bats
# assemble as a user runs it (issue 3): layers, CBD -> SE for ASSB, stored
# parameters and regions, and one clear line with exit 2 for bad input.

load test_helper

setup_file() {
	export CATHODE="$BATS_FILE_TMPDIR/c.h5"
	PATH="$VB_BIN:$PATH" genstruct homogeneous --size 20x10x10um --cam 0.6 --cbd 0.2 \
		--electrolyte 0.15 --seed 1 -o "$CATHODE"
}

# phase id of x-slice $2 (all voxels of the slice must agree) of file $1
slice_phase() {
	genstruct export "$1" -o s.raw
	od -An -tu1 -v -w100 -j $(($2 * 100)) -N 100 s.raw | tr -s ' ' '\n' | sort -u | grep -v '^$' | tr '\n' ' '
}

@test "an ASSB cell has anode collector, Li, 20 um separator, cathode, collector along x" {
	run assemble "$CATHODE" --cell assb -o cell.h5
	assert_success
	[ "$(genstruct info --json cell.h5 | json_get '.dims[0]')" -eq $((1 + 1 + 20 + 20 + 1)) ]
	[ "$(slice_phase cell.h5 0)" = "7 " ]
	[ "$(slice_phase cell.h5 1)" = "5 " ]
	[ "$(slice_phase cell.h5 2)" = "4 " ]
	[ "$(slice_phase cell.h5 21)" = "4 " ]
	[ "$(slice_phase cell.h5 42)" = "6 " ]
	run h5dump -a /regions/cathode cell.h5
	assert_output --partial "22, 42"
	run h5dump -a /cell_type cell.h5
	assert_output --partial '"assb"'
	run h5dump -a /content cell.h5
	assert_output --partial '"cell"'
}

@test "provenance records the command line as typed, not as option parsing reordered it" {
	assemble "$CATHODE" --cell assb -o cell.h5
	run h5dump -a /provenance/step_002/command_line cell.h5
	assert_output --partial "\"assemble $CATHODE --cell assb -o cell.h5\""
}

@test "an -o in a missing directory or naming a directory: exit 2 before any work" {
	run assemble "$CATHODE" --cell assb -o /nonexistent/dir/cell.h5
	assert_failure 2
	assert_output "assemble: /nonexistent/dir/cell.h5: cannot create: directory /nonexistent/dir: No such file or directory"
	mkdir cell.h5
	run assemble "$CATHODE" --cell assb -o cell.h5
	assert_failure 2
	assert_output "assemble: cell.h5: is a directory, expected a file name"
}

@test "ASSB maps CBD to solid electrolyte; LIB keeps CBD" {
	assemble "$CATHODE" --cell assb -o assb.h5
	assemble "$CATHODE" --cell lib -o lib.h5
	run genstruct info --json assb.h5
	[ "$(echo "$output" | json_get .phases.CBD.count)" -eq 0 ]
	[ "$(echo "$output" | json_get .phases.electrolyte.count)" -eq 700 ]
	run genstruct info --json lib.h5
	[ "$(echo "$output" | json_get .phases.CBD.count)" -eq 400 ]
	[ "$(echo "$output" | json_get .phases.electrolyte.count)" -eq 300 ]
}

@test "layer thicknesses are options with units" {
	run assemble "$CATHODE" --cell lib --separator 10um --anode 3um --collectors 2um -o cell.h5
	assert_success
	[ "$(genstruct info --json cell.h5 | json_get '.dims[0]')" -eq $((2 + 3 + 10 + 20 + 2)) ]
	run h5dump -a /regions/separator cell.h5
	assert_output --partial "5, 15"
}

@test "the full parameter set and provenance are stored in the cell" {
	assemble "$CATHODE" --cell assb -o cell.h5
	run h5dump -a /parameters/cam.c_max cell.h5
	assert_output --partial "49030"
	run h5dump -a /parameters/text cell.h5
	assert_output --partial "Chen et al."
	run h5dump -a /history cell.h5
	assert_output --partial "genstruct homogeneous"
	assert_output --partial "assemble"
	run h5dump -a /provenance/step_002/program cell.h5
	assert_output --partial '"assemble"'
}

@test "a copied and edited parameter file is used" {
	# twice the shipped scale of D_s(x): 1.742e-16 m2/s at the initial state
	sed 's/^scale = 0.0632818016358105/scale = 0.126563603271621/' \
		"$BATS_TEST_DIRNAME/../params/assb-nmc811-lpscl.ini" > my.ini
	run assemble "$CATHODE" --params my.ini -o cell.h5
	assert_success
	run h5dump -a /parameters/cam.diffusivity cell.h5
	assert_output --partial "1.742e-16"
}

@test "-o - writes the cell to standard output: the same cell as -o FILE, no spool left" {
	mkdir spool
	assemble "$CATHODE" --cell assb -o file.h5
	TMPDIR="$PWD/spool" run sh -c 'assemble "$CATHODE" --cell assb -o - > piped.h5'
	assert_success
	[ -z "$(ls -A spool)" ] || fail "left in TMPDIR: $(ls -A spool)"
	# stdout holds the HDF5 file and nothing else: its size is the file's
	# end-of-file address in the superblock (version 0: bytes 40-47)
	[ "$(od -An -tu1 -j8 -N1 piped.h5 | tr -d ' ')" = 0 ]
	[ "$(od -An -tu8 -j40 -N8 piped.h5 | tr -d ' ')" -eq "$(stat -c %s piped.h5)" ]
	h5dump -d /labels -b NATIVE -o file.bin file.h5 > /dev/null
	h5dump -d /labels -b NATIVE -o piped.bin piped.h5 > /dev/null
	[ "$(stat -c %s piped.bin)" -eq $(((1 + 1 + 20 + 20 + 1) * 100)) ]
	cmp file.bin piped.bin
	for a in /content /cell_type /regions/cathode /regions/separator /parameters/cam.c_max; do
		[ "$(h5dump -a "$a" piped.h5 | grep '(0)')" = "$(h5dump -a "$a" file.h5 | grep '(0)')" ] ||
			fail "$a differs"
	done
	run h5dump -a /cell_type piped.h5
	assert_output --partial '"assb"'
	# and in a pipe: genstruct to assemble to genstruct info
	run sh -c 'genstruct homogeneous --size 10x10x10um --cam 0.6 --cbd 0.2 -o - |
		assemble - --cell lib --separator 5um -o - | genstruct info --json -'
	assert_success
	[ "$(echo "$output" | json_get '.dims[0]')" -eq $((1 + 1 + 5 + 10 + 1)) ]
	[ "$(echo "$output" | json_get .phases.CBD.count)" -eq 200 ]
	[ "$(echo "$output" | json_get .phases.separator.count)" -eq 500 ]
}

@test "rejects an unknown cell type" {
	run assemble "$CATHODE" --cell flow -o cell.h5
	assert_failure 2
	assert_output --partial "unknown cell type"
	assert_no_output_file cell.h5
}

@test "rejects a missing parameter, naming file and key" {
	grep -v '^c_max' "$BATS_TEST_DIRNAME/../params/assb-nmc811-lpscl.ini" > my.ini
	run assemble "$CATHODE" --params my.ini -o cell.h5
	assert_failure 2
	assert_output "assemble: my.ini: missing parameter cam.c_max"
	assert_no_output_file cell.h5
}

@test "rejects a value with the wrong unit" {
	sed 's/^conductivity = 0.7e-3 S\/cm/conductivity = 0.7e-3 V/' \
		"$BATS_TEST_DIRNAME/../params/assb-nmc811-lpscl.ini" > my.ini
	run assemble "$CATHODE" --params my.ini -o cell.h5
	assert_failure 2
	assert_output --partial "my.ini: electrolyte.conductivity"
	assert_output --partial "unknown unit 'V'"
	[ "${#lines[@]}" -eq 1 ]
	assert_no_output_file cell.h5
}

@test "rejects a value out of its physical range" {
	sed 's/^c_init = 0.01131 mol\/cm3/c_init = -0.01 mol\/cm3/' \
		"$BATS_TEST_DIRNAME/../params/assb-nmc811-lpscl.ini" > my.ini
	run assemble "$CATHODE" --params my.ini -o cell.h5
	assert_failure 2
	assert_output --partial "cam.c_init"
	assert_output --partial "expected"
	assert_no_output_file cell.h5
}

@test "rejects a cathode without CAM" {
	head -c 1000 /dev/zero | tr '\0' '\2' > e.raw
	genstruct import --raw e.raw --dims 10x10x10 --voxel 1um -o e.h5
	run assemble e.h5 --cell assb -o cell.h5
	assert_failure 2
	assert_output --partial "no CAM"
	assert_no_output_file cell.h5
}

@test "rejects a file that is already a cell, and a separator of a fractional voxel count" {
	assemble "$CATHODE" --cell assb -o cell.h5
	run assemble cell.h5 --cell assb -o cell2.h5
	assert_failure 2
	assert_output --partial "expected a cathode structure"
	run assemble "$CATHODE" --cell assb --separator 2.5um -o cell3.h5
	assert_failure 2
	assert_output --partial "--separator"
	assert_no_output_file cell3.h5
}

@test "--help prints usage; missing --cell is a usage error" {
	run assemble --help
	assert_success
	assert_output --partial "--separator LEN"
	run assemble "$CATHODE" -o cell.h5
	assert_failure 2
}

@test "the XDMF file beside the cell is checked before any work too" {
	genstruct homogeneous --size 10x10x10um --cam 0.6 -o c.h5
	mkdir cell.h5.xdmf
	run assemble c.h5 --cell assb -o cell.h5
	assert_failure 2
	assert_output "assemble: cell.h5.xdmf: is a directory, expected a file name"
	assert_no_output_file cell.h5
}
