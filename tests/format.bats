#!/usr/bin/env bats
# The files as a user opens them (docs/FORMAT.md, issue 15): h5py sees str
# attributes, int64 /regions that slice /labels and one spelling of units;
# every output has an XDMF file of its own that XML parsers and ParaView's
# reader (VTK) load; older files (fixed-length strings, float64 regions)
# are still read.

load test_helper

PY=${VB_PYTHON:-/usr/bin/python3}

setup_file() {
	PATH="$VB_BIN:$PATH"
	cd "$BATS_FILE_TMPDIR" || return 1
	genstruct homogeneous --size 6x4x4um --voxel 2um --cam 0.6 --cbd 0.2 \
		--electrolyte 0.2 --diameter 4um --seed 3 -o c.h5 2>/dev/null
	assemble c.h5 --cell assb --separator 2um -o cell.h5
	solve -q cell.h5 --current 5mA/cm2 --max-time 10s -o run.h5
}

# py SCRIPT ARGS...: runs python with h5py at hand
py() {
	"$PY" - "$@"
}

@test "h5py reads every kind of output as a user would: str attributes, /regions slice /labels, units" {
	run py "$BATS_FILE_TMPDIR"/c.h5 "$BATS_FILE_TMPDIR"/cell.h5 "$BATS_FILE_TMPDIR"/run.h5 <<'PY'
import sys, h5py, numpy as np
for path, content in zip(sys.argv[1:], ["structure", "cell", "run"]):
    f = h5py.File(path, "r")
    assert f.attrs["content"] == content, (path, f.attrs["content"])
    assert f.attrs["voxbat_format"] == "voxbat/1"
    lab = f["labels"]
    assert lab.attrs["voxel_size_units"] == "m"
    assert lab.attrs["legend"].startswith("0=void,1=CAM")
    assert "history" in f.attrs and f.attrs["history"].count("\n") >= 1
    labels = lab[()]
    if content != "structure":
        r = f["regions"].attrs["cathode"]
        cathode = labels[r[0]:r[1]]          # raises if r holds floats
        assert set(np.unique(cathode)) <= {0, 1, 2}, np.unique(cathode)
        assert (labels[f["regions"].attrs["li"][0]] == 5).all()
        assert f["parameters"].attrs["cam.c_max.units"] == "mol/m^3"
        assert f["parameters"].attrs["cam.diffusivity.units"] == "m^2/s"
    if content == "run":
        assert f["timeseries/current"].attrs["units"] == "A/m^2"
        assert f["fields/0001/c_s"].attrs["units"] == "mol/m^3"
print("ok")
PY
	assert_success
	assert_output "ok"
}

@test "string attributes are variable-length UTF-8 (h5py returns str, not bytes)" {
	run py "$BATS_FILE_TMPDIR"/cell.h5 <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
for obj in (f, f["labels"], f["parameters"], f["provenance/step_002"]):
    for k, v in obj.attrs.items():
        t = obj.attrs.get_id(k).get_type()
        if isinstance(t, h5py.h5t.TypeStringID):
            assert t.is_variable_str() and t.get_cset() == h5py.h5t.CSET_UTF8, k
            assert isinstance(v, str), (k, type(v))
print("ok")
PY
	assert_success
	assert_output "ok"
}

# old_strings IN OUT: a copy of IN with every string attribute fixed-length
# ASCII, as voxbat wrote them before variable-length strings
old_strings() {
	cp "$1" "$2"
	py "$2" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r+")
def redo(name, obj):
    for k in list(obj.attrs):
        v = obj.attrs[k]
        if isinstance(v, str):
            del obj.attrs[k]
            obj.attrs.create(k, np.bytes_(v.encode()))
redo("/", f)
f.visititems(redo)
t = f["labels"].attrs.get_id("legend").get_type()
assert not t.is_variable_str()
PY
}

@test "files with fixed-length string attributes (older versions) are still read" {
	old_strings "$BATS_FILE_TMPDIR"/c.h5 old-c.h5
	old_strings "$BATS_FILE_TMPDIR"/cell.h5 old-cell.h5
	run assemble old-c.h5 --cell assb --separator 2um -o from-old.h5
	assert_success
	# the history of the old file is carried on, and its parameters are read
	run h5dump -a /history from-old.h5
	assert_output --partial "genstruct"
	# the same figures (the first line names the file)
	metrics "$BATS_FILE_TMPDIR"/cell.h5 | tail -n +2 > new.txt
	metrics old-cell.h5 | tail -n +2 > old.txt
	grep -q "capacity" new.txt
	diff new.txt old.txt
}

@test "/regions are int64 [first, end) x-slices" {
	run h5dump -H -a /regions/cathode "$BATS_FILE_TMPDIR"/cell.h5
	assert_output --partial "H5T_STD_I64LE"
	run h5dump -a /regions/cathode "$BATS_FILE_TMPDIR"/cell.h5
	assert_output --partial "(0): 3, 6"
}

@test "a cell with float64 /regions (older versions) is still read by metrics" {
	cp "$BATS_FILE_TMPDIR"/cell.h5 oldreg.h5
	py oldreg.h5 <<'PY'
import sys, h5py, numpy as np
g = h5py.File(sys.argv[1], "r+")["regions"]
for k in ["anode_cc", "li", "separator", "cathode", "cathode_cc"]:
    v = g.attrs[k]
    del g.attrs[k]
    g.attrs.create(k, np.asarray(v, dtype=np.float64))
assert g.attrs["cathode"].dtype == np.float64
PY
	metrics "$BATS_FILE_TMPDIR"/cell.h5 | tail -n +2 > new.txt
	metrics oldreg.h5 | tail -n +2 > old.txt
	grep -q "capacity" new.txt
	diff new.txt old.txt
}

@test "units in /parameters are spelled as in the fields: mol/m^3, m^2/s, kg/m^3" {
	run h5dump -a "/parameters/cam.c_max.units" -a "/parameters/cam.diffusivity.units" \
		-a "/parameters/cam.density.units" "$BATS_FILE_TMPDIR"/cell.h5
	assert_output --partial '"mol/m^3"'
	assert_output --partial '"m^2/s"'
	assert_output --partial '"kg/m^3"'
	run h5dump -a /timeseries/current/units "$BATS_FILE_TMPDIR"/run.h5
	assert_output --partial '"A/m^2"'
}

@test "the command line takes the files' spelling too: A/m^2, cm^2/s" {
	run solve -q "$BATS_FILE_TMPDIR"/cell.h5 --current 50A/m^2 \
		--set cam.diffusivity=1e-11cm^2/s --max-time 1s -o caret.h5
	assert_success
	run h5dump -a /provenance/step_003/current_A_m2 caret.h5
	assert_output --partial "(0): 50"
	run h5dump -a /parameters/cam.diffusivity caret.h5
	assert_output --partial "1e-15"
}

@test "genstruct import --map takes the legend's form V=PHASE as well as V:PHASE" {
	printf '\000\001\002\003\000\001\002\003' > img.raw
	run genstruct import --raw img.raw --dims 2x2x2 --voxel 1um \
		--map 0=void,1=CAM,2=electrolyte,3=CBD -o eq.h5
	assert_success
	genstruct import --raw img.raw --dims 2x2x2 --voxel 1um \
		--map 0:void,1:CAM,2:electrolyte,3:CBD -o colon.h5
	genstruct export eq.h5 -o eq.raw
	cmp eq.raw img.raw
	genstruct export colon.h5 -o colon.raw
	cmp colon.raw img.raw
}

# xml_check FILE: parses FILE with xml.etree; prints each HDF reference
xml_refs() {
	py "$1" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "Xdmf"
for d in root.iter("DataItem"):
    if d.get("Format") == "HDF":
        print(d.text)
PY
}

@test "every output's XDMF file is well-formed XML referring to its own file" {
	for f in c cell run; do
		run xml_refs "$BATS_FILE_TMPDIR/$f.h5.xdmf"
		assert_success
		assert_line "$f.h5:/labels"
	done
	run xml_refs "$BATS_FILE_TMPDIR/run.h5.xdmf"
	assert_line "run.h5:/fields/0001/phi_e"
}

@test "structures and cells get an XDMF file with the phase legend" {
	run py "$BATS_FILE_TMPDIR"/c.h5.xdmf "$BATS_FILE_TMPDIR"/cell.h5.xdmf <<'PY'
import sys, xml.etree.ElementTree as ET
for path, dims in zip(sys.argv[1:], ["3 2 2", "7 2 2"]):
    root = ET.parse(path).getroot()
    info = {i.get("Name"): i.get("Value") for i in root.iter("Information")}
    assert info["legend"] == "0=void,1=CAM,2=electrolyte,3=CBD,4=separator,5=Li,6=cathode_cc,7=anode_cc", info
    item = [d for d in root.iter("DataItem") if d.get("Format") == "HDF"][0]
    assert item.get("Dimensions") == dims, (path, item.get("Dimensions"))
print("ok")
PY
	assert_success
	assert_output "ok"
}

@test "the XDMF says ParaView's Z is through the thickness, lengths in metres" {
	run py "$BATS_FILE_TMPDIR"/cell.h5.xdmf <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
info = {i.get("Name"): i.get("Value") for i in root.iter("Information")}
assert "Z is through the thickness" in info["axes"] and "in m" in info["axes"], info
topo = next(root.iter("Topology"))
assert topo.get("Dimensions") == "8 3 3"          # points, slowest (x) first
geo = [d.text.split() for d in next(root.iter("Geometry"))]
assert [float(v) for v in geo[1]] == [2e-6] * 3    # metres
print("ok")
PY
	assert_success
	assert_output "ok"
}

@test "names are XML-escaped: -o 'a&b<c>.h5' gives well-formed XDMF" {
	cp "$BATS_FILE_TMPDIR"/cell.h5 .
	solve -q cell.h5 --current 5mA/cm2 --max-time 1s -o 'a&b<c>.h5'
	run xml_refs 'a&b<c>.h5.xdmf'
	assert_success
	assert_line 'a&b<c>.h5:/labels'
}

@test "-o r8, r8.h5 and r8.hdf5 each get an XDMF file of their own" {
	for o in r8 r8.h5 r8.hdf5; do
		genstruct reverse "$BATS_FILE_TMPDIR"/c.h5 -o "$o"
	done
	for o in r8 r8.h5 r8.hdf5; do
		run xml_refs "$o.xdmf"
		assert_success
		assert_output "$o:/labels"
	done
}

@test "ParaView's reader (VTK) loads every XDMF: through-thickness extent in metres" {
	# ParaView's reader: Debian's python3-paraview (5.11) provides it; its
	# python3-vtk9 has none. Not in install-deps (a large install for one
	# test): skipped, with a message, where it is missing.
	"$PY" -c 'import vtk' 2>/dev/null || skip "no VTK for Python (install python3-paraview)"
	"$PY" -c 'import vtk; (getattr(vtk, "vtkXdmfReader", None) or vtk.vtkXdmf3Reader)' \
		2>/dev/null || skip "this VTK has no XDMF reader (install python3-paraview)"
	run py "$BATS_FILE_TMPDIR" <<'PY'
import sys, vtk, h5py
R = getattr(vtk, "vtkXdmfReader", None) or vtk.vtkXdmf3Reader
for name in ["c.h5", "cell.h5", "run.h5"]:
    path = sys.argv[1] + "/" + name
    f = h5py.File(path, "r")
    nx, ny, nz = f["labels"].shape
    h = f["labels"].attrs["voxel_size"]
    r = R(); r.SetFileName(path + ".xdmf"); r.UpdateInformation(); r.Update()
    d = r.GetOutputDataObject(0)
    while not hasattr(d, "GetBounds"):          # a temporal collection
        d = d.GetBlock(0)
    b = d.GetBounds()
    # ParaView's Z is the through-thickness x (docs/FORMAT.md)
    assert abs(b[5] - b[4] - nx * h) < 1e-12 and abs(b[1] - b[0] - nz * h) < 1e-12, (name, b)
    a = d.GetCellData().GetArray("labels")
    assert a.GetNumberOfTuples() == nx * ny * nz
    assert a.GetValue(0) == f["labels"][0, 0, 0] and a.GetValue(1) == f["labels"][0, 0, 1]
print("ok")
PY
	assert_success
	assert_output "ok"
}
