#!/usr/bin/env bats
# Bad input that once crashed a reader or gave a silent wrong answer
# (issue 17): the probe's mutants replayed through every reader, and storage
# HDF5 allows but a reader must not follow (external files, virtual
# datasets, chunks missing or misplaced).

load test_helper

setup() {
	PATH="$VB_BIN:$PATH"
	cd "$BATS_TEST_TMPDIR" || return 1
}

CORPUS="$BATS_TEST_DIRNAME/corpus/probe"

# runs "$@" and fails unless it exits 2 with messages from the program only
refused() {
	run "$@"
	[ "$status" -eq 2 ] || fail "$*: exit $status: $output"
	[ -n "$output" ] || fail "$*: exit 2 without a message"
}

@test "every probe mutant is refused with exit 2 by the readers it reaches, none crashes" {
	n=0
	for f in "$CORPUS"/*.h5; do
		n=$((n + 1))
		case "$(basename "$f")" in
		cell_badprov_*)
			# only its provenance is damaged, which metrics does not read
			# (solve carries it into the run: refused below)
			metrics "$f" > /dev/null
			;;
		*) refused metrics "$f" ;;
		esac
		case "$(basename "$f")" in
		cathode_*)
			refused genstruct info "$f"
			refused genstruct reverse "$f" -o o.h5
			refused assemble -q "$f" --cell assb -o o.h5
			;;
		cell_* | run_*)
			refused solve -q "$f" --current 2mA/cm2 --max-time 30s -o o.h5
			;;
		esac
		assert_no_output_file o.h5
	done
	[ "$n" -ge 16 ] || fail "only $n files in $CORPUS"
}

@test "labels in external files or a virtual dataset are refused, not followed" {
	genstruct homogeneous --size 12x8x8um --voxel 2um --cam 0.6 -o c.h5 2> /dev/null
	/usr/bin/python3 - <<'PY'
import shutil, h5py
def relabel(name, make):
    shutil.copy('c.h5', name)
    f = h5py.File(name, 'r+')
    attrs, labels = dict(f['labels'].attrs), f['labels'][...]
    del f['labels']
    d = make(f, labels)
    for k, v in attrs.items():
        d.attrs[k] = v
    f.close()
def external(f, l):
    l.tofile('ext.bin')
    return f.create_dataset('labels', shape=l.shape, dtype='u1', external=[('ext.bin', 0, l.size)])
def virtual(f, l):
    with h5py.File('src.h5', 'w') as g:
        g['x'] = l
    lay = h5py.VirtualLayout(shape=l.shape, dtype='u1')
    lay[...] = h5py.VirtualSource('src.h5', 'x', shape=l.shape)
    return f.create_virtual_dataset('labels', lay)
def partial(f, l):
    d = f.create_dataset('labels', shape=l.shape, dtype='u1', chunks=(3, 4, 4))
    d[0:3, 0:4, 0:4] = l[0:3, 0:4, 0:4]
    return d
relabel('ext.h5', external)
relabel('virt.h5', virtual)
relabel('part.h5', partial)
PY
	refused genstruct info ext.h5
	assert_output "genstruct: ext.h5:/labels: stored in external files, which are not read"
	refused metrics virt.h5
	assert_output "metrics: virt.h5:/labels: a virtual dataset (data in other files)"
	refused genstruct info part.h5
	assert_output --partial "part.h5:/labels: 1 of its 2 chunks are stored"
	# the chunk index of this mutant puts its one chunk outside the dataset:
	# the data read back as all void
	refused genstruct info "$CORPUS/cathode_silent_m163.h5"
	assert_output --partial "chunk 0 of its index lies outside the dataset"
}
