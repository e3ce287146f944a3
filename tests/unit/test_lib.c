/* Unit tests of the foundation modules of lib against exact answers:
 * units, the Philox generator (Random123 known-answer vectors), voxel
 * images, HDF5 round trips with validation, provenance and atomic outputs. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vb_cli.h"
#include "vb_h5.h"
#include "vb_outfile.h"
#include "vb_rng.h"
#include "vb_test.h"
#include "vb_units.h"
#include "vb_voxel.h"

static void test_units_lengths(void)
{
	vb_err e;
	double v, t[3];
	CHECK(vb_units_parse("16um", VB_UNIT_LENGTH, "--radius", &v, &e) == VB_OK);
	CHECK_NEAR(v, 16e-6, 1e-20);
	CHECK(vb_units_parse("0.5 um", VB_UNIT_LENGTH, "--voxel", &v, &e) == VB_OK);
	CHECK_NEAR(v, 0.5e-6, 1e-20);
	CHECK(vb_units_parse("2mm", VB_UNIT_LENGTH, "x", &v, &e) == VB_OK && v == 2e-3);
	CHECK(vb_units_parse("8mA/cm2", VB_UNIT_CURRENT_DENSITY, "--current", &v, &e) == VB_OK);
	CHECK_NEAR(v, 80.0, 1e-12);
	CHECK(vb_units_parse_triple("106x60x60um", VB_UNIT_LENGTH, "--size", t, &e) == VB_OK);
	CHECK_NEAR(t[0], 106e-6, 1e-18);
	CHECK_NEAR(t[2], 60e-6, 1e-18);
	CHECK(vb_units_parse("16", VB_UNIT_LENGTH, "--radius", &v, &e) == VB_ERR_INPUT);
	CHECK(strstr(e.msg, "--radius") && strstr(e.msg, "no unit"));
	CHECK(vb_units_parse("16V", VB_UNIT_LENGTH, "--radius", &v, &e) == VB_ERR_INPUT);
	CHECK(vb_units_parse("abc", VB_UNIT_LENGTH, "--radius", &v, &e) == VB_ERR_INPUT);
	CHECK(vb_units_parse("nanum", VB_UNIT_LENGTH, "--radius", &v, &e) == VB_ERR_INPUT);
	CHECK(vb_units_parse_triple("106x60um", VB_UNIT_LENGTH, "--size", t, &e) == VB_ERR_INPUT);
}

/* Files spell exponents with a caret; input takes both spellings. */
static void test_units_carets(void)
{
	vb_err e;
	double v;
	CHECK(vb_units_parse("50A/m^2", VB_UNIT_CURRENT_DENSITY, "--current", &v, &e) == VB_OK &&
	      v == 50.0);
	CHECK(vb_units_parse("1e-11cm^2/s", VB_UNIT_DIFFUSIVITY, "D", &v, &e) == VB_OK);
	CHECK_NEAR(v, 1e-15, 1e-30);
	CHECK(vb_units_factor("A*cm^2.5/mol^1.5", VB_UNIT_EXCHANGE_FACTOR) == 1e-5);
	CHECK(vb_units_same("mol/m^3", "mol/m3") && !vb_units_same("mol/m^3", "mol/m2"));
	CHECK(vb_units_parse("1cm^3", VB_UNIT_LENGTH, "x", &v, &e) == VB_ERR_INPUT);
}

static void test_units_counts_and_voxels(void)
{
	vb_err e;
	int64_t n[3], c;
	CHECK(vb_units_parse_counts("100x80x80", "--dims", n, &e) == VB_OK);
	CHECK(n[0] == 100 && n[1] == 80 && n[2] == 80);
	CHECK(vb_units_parse_counts("100x80", "--dims", n, &e) == VB_ERR_INPUT);
	CHECK(vb_units_parse_counts("100x0x80", "--dims", n, &e) == VB_ERR_INPUT);
	CHECK(vb_units_parse_counts("100x8.5x80", "--dims", n, &e) == VB_ERR_INPUT);
	CHECK(vb_units_whole_voxels(106e-6, 0.5e-6, "--size", &c, &e) == VB_OK && c == 212);
	CHECK(vb_units_whole_voxels(0.3e-6 * 7, 0.3e-6, "--size", &c, &e) == VB_OK && c == 7);
	CHECK(vb_units_whole_voxels(20.5e-6, 1e-6, "--size", &c, &e) == VB_ERR_INPUT);
	CHECK(vb_units_whole_voxels(0.2e-6, 1e-6, "--size", &c, &e) == VB_ERR_INPUT);
}

static void test_philox_known_answers(void)
{
	uint32_t o[4];
	vb_rng_philox(0, 0, 0, o);
	CHECK(o[0] == 0x6627e8d5u && o[1] == 0xe169c58du && o[2] == 0xbc57ac4cu &&
	      o[3] == 0x9b00dbd8u);
	/* Random123 kat_vectors: ctr 243f6a88 85a308d3 13198a2e 03707344, key a4093822 299f31d0 */
	vb_rng_philox(0x299f31d0a4093822ull, 0x0370734413198a2eull, 0x85a308d3243f6a88ull, o);
	CHECK(o[0] == 0xd16cfe09u && o[1] == 0x94fdccebu && o[2] == 0x5001e420u &&
	      o[3] == 0x24126ea1u);
}

static void test_rng_moments(void)
{
	double s = 0, s2 = 0, z = 0, z2 = 0;
	const int n = 200000;
	for (int i = 0; i < n; i++) {
		double u = vb_rng_uniform(5, 1, (uint64_t)i, i & 3);
		double g = vb_rng_normal(5, 2, (uint64_t)i);
		s += u, s2 += u * u, z += g, z2 += g * g;
	}
	CHECK_NEAR(s / n, 0.5, 0.005);
	CHECK_NEAR(s2 / n - (s / n) * (s / n), 1.0 / 12.0, 0.002);
	CHECK_NEAR(z / n, 0.0, 0.01);
	CHECK_NEAR(z2 / n, 1.0, 0.01);
}

static void test_voxel_basics(void)
{
	vb_err e;
	vb_image *img = vb_voxel_new(3, 4, 5, 1e-6, &e);
	CHECK(img != NULL && vb_voxel_count(img) == 60);
	CHECK(vb_voxel_index(img, 1, 2, 3) == (1 * 4 + 2) * 5 + 3);
	img->labels[vb_voxel_index(img, 0, 0, 0)] = VB_PHASE_CAM;
	img->labels[vb_voxel_index(img, 2, 3, 4)] = VB_PHASE_CBD;
	int64_t c[VB_PHASE_COUNT], other;
	vb_voxel_count_phases(img, c, &other);
	CHECK(c[VB_PHASE_VOID] == 58 && c[VB_PHASE_CAM] == 1 && c[VB_PHASE_CBD] == 1 && other == 0);
	double f[3 * VB_PHASE_COUNT];
	vb_voxel_slice_fractions(img, f);
	CHECK_NEAR(f[0 * VB_PHASE_COUNT + VB_PHASE_CAM], 1.0 / 20, 1e-15);
	CHECK_NEAR(f[1 * VB_PHASE_COUNT + VB_PHASE_VOID], 1.0, 1e-15);
	CHECK(vb_voxel_phase_parse("cam") == VB_PHASE_CAM && vb_voxel_phase_parse("3") == 3);
	CHECK(vb_voxel_phase_parse("8") == -1 && vb_voxel_phase_parse("soup") == -1);
	img->labels[5] = 200;
	CHECK(vb_voxel_check_labels(img, &e) == VB_ERR_INPUT && strstr(e.msg, "label 200"));
	vb_voxel_free(&img);
	vb_voxel_free(&img); /* freeing NULL is a no-op */
	CHECK(vb_voxel_new(0, 4, 5, 1e-6, &e) == NULL && e.status == VB_ERR_INPUT);
	CHECK(vb_voxel_new(3, 4, 5, -1e-6, &e) == NULL && e.status == VB_ERR_INPUT);
}

static void test_percolation(void)
{
	vb_err e;
	vb_image *img = vb_voxel_new(5, 3, 3, 1e-6, &e);
	uint8_t cam[VB_PHASE_COUNT] = {[VB_PHASE_CAM] = 1};
	/* a bent path: along x at (j,k) = (0,0) up to i = 2, then over to (2,2) and on */
	for (int i = 0; i <= 2; i++)
		img->labels[vb_voxel_index(img, i, 0, 0)] = VB_PHASE_CAM;
	CHECK(vb_voxel_percolates_x(img, cam) == 0);
	img->labels[vb_voxel_index(img, 2, 1, 0)] = VB_PHASE_CAM;
	img->labels[vb_voxel_index(img, 2, 2, 0)] = VB_PHASE_CAM;
	img->labels[vb_voxel_index(img, 3, 2, 0)] = VB_PHASE_CAM;
	CHECK(vb_voxel_percolates_x(img, cam) == 0);
	img->labels[vb_voxel_index(img, 4, 2, 1)] = VB_PHASE_CAM; /* diagonal only: no */
	CHECK(vb_voxel_percolates_x(img, cam) == 0);
	img->labels[vb_voxel_index(img, 4, 2, 0)] = VB_PHASE_CAM;
	CHECK(vb_voxel_percolates_x(img, cam) == 1);
	vb_voxel_free(&img);
}

static char tmpdir[] = "/tmp/vb_test_lib.XXXXXX";

static void path_in_tmp(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmpdir, name);
}

static void test_h5_round_trip_and_provenance(void)
{
	vb_err e;
	char a[512], b[512];
	path_in_tmp(a, sizeof a, "a.h5");
	path_in_tmp(b, sizeof b, "b.h5");
	vb_image *img = vb_voxel_new(4, 3, 2, 0.5e-6, &e);
	for (int64_t v = 0; v < 24; v++)
		img->labels[v] = (uint8_t)(v % VB_PHASE_COUNT);
	hid_t f = vb_h5_create(a, "structure", &e);
	CHECK(f >= 0 && vb_h5_write_image(f, img, &e) == VB_OK);
	hid_t rec = vb_h5_provenance_begin(f, "genstruct", "homogeneous", "genstruct homogeneous x",
					   NULL, NULL, 0, &e);
	CHECK(rec >= 0 && vb_h5_attr_write_int64(rec, "seed", 42, &e) == VB_OK);
	H5Gclose(rec);
	CHECK(vb_h5_close(f, &e) == VB_OK);
	/* a second step copies the first's provenance and history */
	hid_t in = vb_h5_open(a, &e);
	CHECK(in >= 0);
	hid_t g = vb_h5_create(b, "structure", &e);
	const char *names[1] = {a};
	rec = vb_h5_provenance_begin(g, "genstruct", "reverse", "genstruct reverse a", &in, names,
				     1, &e);
	CHECK(rec >= 0);
	H5Gclose(rec);
	CHECK(vb_h5_write_image(g, img, &e) == VB_OK);
	vb_h5_close(g, &e);
	vb_image *back = NULL;
	CHECK(vb_h5_read_image(in, a, &back, &e) == VB_OK);
	CHECK(back && back->nx == 4 && back->ny == 3 && back->nz == 2 &&
	      back->voxel_size == 0.5e-6);
	CHECK(back && memcmp(back->labels, img->labels, 24) == 0);
	vb_h5_close(in, &e);
	hid_t out = vb_h5_open(b, &e);
	CHECK(out >= 0 && H5Lexists(out, "provenance/step_001", H5P_DEFAULT) > 0);
	CHECK(H5Lexists(out, "provenance/step_002", H5P_DEFAULT) > 0);
	double seed = 0;
	hid_t s1 = H5Gopen2(out, "provenance/step_001", H5P_DEFAULT);
	CHECK(vb_h5_attr_read_double(s1, "seed", "b", &seed, &e) == VB_OK && seed == 42);
	H5Gclose(s1);
	char *hist = NULL;
	CHECK(vb_h5_attr_read_string(out, "history", "b", &hist, &e) == VB_OK);
	CHECK(hist && strstr(hist, "genstruct homogeneous x\n") &&
	      strstr(hist, "genstruct reverse a\n") &&
	      strstr(hist, "homogeneous x") < strstr(hist, "reverse a"));
	free(hist);
	vb_h5_close(out, &e);
	vb_voxel_free(&img);
	vb_voxel_free(&back);
}

static void test_h5_rejects(void)
{
	vb_err e;
	char p[512];
	path_in_tmp(p, sizeof p, "missing.h5");
	CHECK(vb_h5_open(p, &e) < 0 && e.status == VB_ERR_INPUT && strstr(e.msg, "cannot open"));
	/* an HDF5 file without voxbat_format */
	path_in_tmp(p, sizeof p, "plain.h5");
	hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	H5Fclose(f);
	CHECK(vb_h5_open(p, &e) < 0 && strstr(e.msg, "not a voxbat file"));
	/* a voxbat file whose /labels has the wrong type and one with rank 2 */
	path_in_tmp(p, sizeof p, "badtype.h5");
	f = vb_h5_create(p, "structure", &e);
	hsize_t d3[3] = {2, 2, 2}, d2[2] = {2, 2};
	hid_t sp = H5Screate_simple(3, d3, NULL);
	hid_t ds =
		H5Dcreate2(f, "labels", H5T_NATIVE_INT, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	H5Dclose(ds);
	H5Sclose(sp);
	vb_h5_close(f, &e);
	vb_image *img = NULL;
	f = vb_h5_open(p, &e);
	CHECK(f >= 0 && vb_h5_read_image(f, p, &img, &e) == VB_ERR_INPUT && strstr(e.msg, "uint8"));
	vb_h5_close(f, &e);
	path_in_tmp(p, sizeof p, "rank2.h5");
	f = vb_h5_create(p, "structure", &e);
	sp = H5Screate_simple(2, d2, NULL);
	ds = H5Dcreate2(f, "labels", H5T_NATIVE_UINT8, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	H5Dclose(ds);
	H5Sclose(sp);
	vb_h5_close(f, &e);
	f = vb_h5_open(p, &e);
	CHECK(f >= 0 && vb_h5_read_image(f, p, &img, &e) == VB_ERR_INPUT && strstr(e.msg, "rank"));
	vb_h5_close(f, &e);
	/* no voxel_size */
	path_in_tmp(p, sizeof p, "novoxel.h5");
	f = vb_h5_create(p, "structure", &e);
	sp = H5Screate_simple(3, d3, NULL);
	ds = H5Dcreate2(f, "labels", H5T_NATIVE_UINT8, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	H5Dclose(ds);
	H5Sclose(sp);
	vb_h5_close(f, &e);
	f = vb_h5_open(p, &e);
	CHECK(f >= 0 && vb_h5_read_image(f, p, &img, &e) == VB_ERR_INPUT &&
	      strstr(e.msg, "voxel_size"));
	CHECK(img == NULL);
	vb_h5_close(f, &e);
}

/* Voxel-index attributes: int64 as written, whole float64 as in older files. */
static void test_h5_int64_attributes(void)
{
	vb_err e;
	char p[512];
	path_in_tmp(p, sizeof p, "ints.h5");
	hid_t f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	const int64_t w[2] = {3, 6};
	int64_t r[2] = {0, 0};
	CHECK(vb_h5_attr_write_int64s(f, "new", w, 2, &e) == VB_OK);
	CHECK(vb_h5_attr_write_doubles(f, "old", (const double[]){3.0, 6.0}, 2, &e) == VB_OK);
	CHECK(vb_h5_attr_write_doubles(f, "half", (const double[]){3.0, 6.5}, 2, &e) == VB_OK);
	hid_t a = H5Aopen(f, "new", H5P_DEFAULT), t = H5Aget_type(a);
	CHECK(H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 8);
	H5Tclose(t), H5Aclose(a);
	CHECK(vb_h5_attr_read_int64s(f, "new", "f", r, 2, &e) == VB_OK && r[0] == 3 && r[1] == 6);
	r[0] = r[1] = 0;
	CHECK(vb_h5_attr_read_int64s(f, "old", "f", r, 2, &e) == VB_OK && r[0] == 3 && r[1] == 6);
	CHECK(vb_h5_attr_read_int64s(f, "half", "f", r, 2, &e) == VB_ERR_INPUT);
	CHECK(strstr(e.msg, "6.5") != NULL);
	CHECK(vb_h5_attr_read_int64s(f, "new", "f", r, 1, &e) == VB_ERR_INPUT);
	/* strings are variable-length UTF-8 */
	CHECK(vb_h5_attr_write_string(f, "s", "m", &e) == VB_OK);
	a = H5Aopen(f, "s", H5P_DEFAULT), t = H5Aget_type(a);
	CHECK(H5Tis_variable_str(t) > 0 && H5Tget_cset(t) == H5T_CSET_UTF8);
	H5Tclose(t), H5Aclose(a);
	char *back = NULL;
	CHECK(vb_h5_attr_read_string(f, "s", "f", &back, &e) == VB_OK && strcmp(back, "m") == 0);
	free(back);
	H5Fclose(f);
	unlink(p);
}

static void test_outfile_commit_and_abort(void)
{
	vb_err e;
	char p[512];
	path_in_tmp(p, sizeof p, "out.txt");
	vb_outfile o;
	CHECK(vb_outfile_begin(&o, p, &e) == VB_OK);
	CHECK(strncmp(o.tmp_path, p, strlen(p)) == 0 && strstr(o.tmp_path, ".tmp."));
	FILE *f = fopen(o.tmp_path, "w");
	fputs("data", f);
	fclose(f);
	struct stat st;
	CHECK(stat(p, &st) != 0); /* nothing at the final name before commit */
	CHECK(vb_outfile_commit(&o, &e) == VB_OK);
	CHECK(stat(p, &st) == 0 && st.st_size == 4);
	CHECK(stat(o.tmp_path, &st) != 0);
	path_in_tmp(p, sizeof p, "aborted.txt");
	CHECK(vb_outfile_begin(&o, p, &e) == VB_OK);
	vb_outfile_abort(&o);
	CHECK(stat(p, &st) != 0 && stat(o.tmp_path, &st) != 0);
	path_in_tmp(p, sizeof p, "out.txt");
	CHECK(vb_outfile_check_distinct(p, p, &e) == VB_ERR_INPUT);
}

/* Everything that would make the output fail is refused before any work. */
static void test_outfile_check(void)
{
	vb_err e;
	char p[512], dir[512], missing[600], under_file[600];
	path_in_tmp(p, sizeof p, "out.txt"); /* exists: written by the test above */
	path_in_tmp(dir, sizeof dir, "");
	snprintf(missing, sizeof missing, "%s/no-such-dir/x.h5", dir);
	snprintf(under_file, sizeof under_file, "%s/x.h5", p);
	const char *in[2] = {NULL, "in.h5"};
	CHECK(vb_outfile_check("-", NULL, 0, &e) == VB_OK);
	CHECK(vb_outfile_check(p, in, 2, &e) == VB_OK); /* an existing file is replaced */
	CHECK(vb_outfile_check("", NULL, 0, &e) == VB_ERR_INPUT);
	CHECK(vb_outfile_check(missing, NULL, 0, &e) == VB_ERR_INPUT &&
	      strstr(e.msg, "no-such-dir: No such file or directory"));
	CHECK(vb_outfile_check(under_file, NULL, 0, &e) == VB_ERR_INPUT &&
	      strstr(e.msg, "is not a directory"));
	CHECK(vb_outfile_check(dir, NULL, 0, &e) == VB_ERR_INPUT &&
	      strstr(e.msg, "is a directory, expected a file name"));
	in[1] = p;
	CHECK(vb_outfile_check(p, in, 2, &e) == VB_ERR_INPUT && strstr(e.msg, "same file as input"));
}

static void test_cli_join(void)
{
	char *argv[] = {"genstruct", "stack", "a b.h5:0.3", "it's", "-o", "x.h5"};
	char *s = vb_cli_join_argv(6, argv);
	CHECK(s && strcmp(s, "genstruct stack 'a b.h5:0.3' 'it'\\''s' -o x.h5") == 0);
	free(s);
	char path[64];
	double v;
	vb_err e;
	CHECK(vb_cli_split_path_number("dir/L60.h5:0.3", "stack", path, sizeof path, &v, &e) ==
	      VB_OK);
	CHECK(strcmp(path, "dir/L60.h5") == 0 && v == 0.3);
	CHECK(vb_cli_split_path_number("L60.h5", "stack", path, sizeof path, &v, &e) ==
	      VB_ERR_INPUT);
}

int main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		BAIL_OUT("cannot make a temporary folder");
	RUN(test_units_lengths, "units: lengths and current densities to SI; bad units rejected");
	RUN(test_units_carets, "units: a caret before an exponent is optional (A/m^2 = A/m2)");
	RUN(test_units_counts_and_voxels, "units: voxel counts and whole numbers of voxels");
	RUN(test_philox_known_answers, "rng: Philox4x32-10 matches Random123 known answers");
	RUN(test_rng_moments, "rng: uniform and normal moments");
	RUN(test_voxel_basics, "voxel: index, counts, slice fractions, phase names, label check");
	RUN(test_percolation, "voxel: face-connected percolation along x");
	RUN(test_h5_round_trip_and_provenance,
	    "h5: labels round trip; provenance and history chain");
	RUN(test_h5_rejects, "h5: rejects missing, non-voxbat, wrong type, rank, no voxel_size");
	RUN(test_h5_int64_attributes,
	    "h5: int64 index attributes (whole float64 of older files too), UTF-8 strings");
	RUN(test_outfile_commit_and_abort, "outfile: temp + rename on commit, nothing on abort");
	RUN(test_outfile_check, "outfile: a missing directory, a directory, an input: refused");
	RUN(test_cli_join, "cli: shell-quoted command line and FILE:NUMBER");
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tmpdir);
	DONE();
}
