/* vb_h5: voxbat HDF5 files: validated reading, writing, provenance. */
#include "vb_h5.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5_hl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vb_cli.h"
#include "vb_outfile.h"

/* HDF5 prints its error stack to stderr by default; voxbat reports one line. */
static void quiet_hdf5(void)
{
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* Little-endian unsigned integer of k bytes at p. */
static uint64_t le(const unsigned char *p, int k)
{
	uint64_t v = 0;
	for (int i = k - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* 0 if a global heap collection of the file image b (n bytes) would send
 * HDF5 1.10 into an endless loop when it reads a variable-length string
 * (HDFGroup/hdf5#1707: a free-space object of size 0 does not advance its
 * parser) or out of the collection's bounds (an object larger than what is
 * left of it), else 1. Collections are found by their signature "GCOL" with
 * version 1 and zero reserved bytes, the layout of the HDF5 format
 * specification (III.E); the size of lengths is the superblock's. */
static int global_heaps_sane(const unsigned char *b, size_t n)
{
	static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
	size_t sb = 0;
	while (sb + 16 <= n && memcmp(b + sb, sig, 8) != 0)
		sb = sb == 0 ? 512 : sb * 2;
	if (sb + 16 > n)
		return 1; /* HDF5 itself will refuse it */
	const int version = b[sb + 8];
	const int lengths = version <= 1 ? b[sb + 14] : b[sb + 10];
	if (lengths != 2 && lengths != 4 && lengths != 8)
		return 1;
	const size_t hdr = 8 + (size_t)lengths; /* an object's header: index, refs, reserved, size */
	for (const unsigned char *at = b; (at = memchr(at, 'G', n - (size_t)(at - b))) != NULL;
	     at++) {
		const size_t off = (size_t)(at - b);
		if (off + 8 + (size_t)lengths > n || memcmp(at, "GCOL", 4) != 0 || at[4] != 1 ||
		    at[5] || at[6] || at[7])
			continue;
		const uint64_t size = le(at + 8, lengths);
		if (size < 4096 || size > n - off)
			continue; /* not a collection, or one HDF5 refuses */
		const unsigned char *p = at + 8 + lengths, *end = at + size;
		while (p < end) {
			if ((size_t)(end - p) < hdr)
				break;
			const unsigned idx = (unsigned)le(p, 2);
			const uint64_t osize = le(p + 8, lengths);
			const uint64_t need = idx > 0 ? hdr + ((osize + 7) & ~(uint64_t)7) : osize;
			/* an object that does not advance, or runs past its
			 * collection (HDF5 copies it out of bounds) */
			if (need == 0 || need > (uint64_t)(end - p))
				return 0;
			p += need;
		}
	}
	return 1;
}

/* Variable-length data are stored as their length (4 bytes), the address of
 * a global heap collection and the index of an object in it (4 bytes), all
 * little-endian. HDF5 1.10's H5HG_read looks the index up unchecked (an
 * assertion only) and dereferences what it finds: a reference to an object
 * its collection does not hold crashes it. So each reference is read as it
 * is stored, through the conversion below (to an opaque type of the same
 * size: HDF5 hands a soft conversion the stored bytes), and checked against
 * its collection before HDF5 follows it. */
static herr_t vl_raw_conv(hid_t src, hid_t dst, H5T_cdata_t *cdata, size_t nelmts,
			  size_t buf_stride, size_t bkg_stride, void *buf, void *bkg, hid_t dxpl)
{
	(void)nelmts, (void)buf_stride, (void)bkg_stride, (void)buf, (void)bkg, (void)dxpl;
	if (cdata->command == H5T_CONV_INIT) {
		cdata->need_bkg = H5T_BKG_NO;
		/* only a variable-length string to an opaque type of its size */
		return H5Tis_variable_str(src) > 0 && H5Tget_class(dst) == H5T_OPAQUE &&
				       H5Tget_size(src) == H5Tget_size(dst)
			       ? 0
			       : -1;
	}
	return 0; /* the stored bytes are the result, in place */
}

/* Reads n bytes of file at HDF5 address addr (past the user block) into
 * buf; 0 if they are not all there. */
static int read_at(hid_t file, uint64_t addr, void *buf, size_t n)
{
	hsize_t eof = 0, base = 0;
	hid_t fcpl = H5Fget_create_plist(file), fapl = H5Fget_access_plist(file);
	if (fcpl >= 0)
		H5Pget_userblock(fcpl, &base);
	const hid_t driver = fapl >= 0 ? H5Pget_driver(fapl) : -1;
	void *handle = NULL;
	int ok = H5Fget_filesize(file, &eof) >= 0 && addr <= eof && n <= eof - addr &&
		 base <= eof - addr - n && H5Fget_vfd_handle(file, fapl, &handle) >= 0 &&
		 handle != NULL;
	if (ok && driver == H5FD_SEC2)
		ok = pread(*(int *)handle, buf, n, (off_t)(base + addr)) == (ssize_t)n;
	else if (ok && driver == H5FD_CORE && *(unsigned char **)handle != NULL)
		memcpy(buf, *(unsigned char **)handle + base + addr, n);
	else
		ok = 0;
	if (fcpl >= 0)
		H5Pclose(fcpl);
	if (fapl >= 0)
		H5Pclose(fapl);
	return ok;
}

/* 1 if the global heap collection at addr holds object idx with at least
 * len bytes (HDF5 allocates and fills what the reference claims, up to
 * 4 GiB, whatever the object holds). */
static int heap_holds(hid_t file, uint64_t addr, uint64_t idx, uint64_t len, int lengths)
{
	unsigned char head[16];
	if (idx == 0 || idx > 0xffff || !read_at(file, addr, head, 8 + (size_t)lengths) ||
	    memcmp(head, "GCOL", 4) != 0 || head[4] != 1)
		return 0;
	const uint64_t size = le(head + 8, lengths);
	if (size < 8 + (uint64_t)lengths || size > ((uint64_t)1 << 30))
		return 0;
	unsigned char *heap = malloc(size);
	const size_t hdr = 8 + (size_t)lengths; /* an object's: index, refs, reserved, size */
	int held = 0;
	if (heap != NULL && read_at(file, addr, heap, size)) {
		for (size_t at = hdr; at <= size && size - at >= hdr;) {
			const uint64_t i = le(heap + at, 2), osize = le(heap + at + 8, lengths);
			if (i == 0 || osize > size - at - hdr)
				break; /* free space (the objects end), or one past the end */
			if (i == idx) {
				held = len <= osize;
				break;
			}
			at += hdr + (size_t)((osize + 7) & ~(uint64_t)7);
		}
	}
	free(heap);
	return held;
}

/* How a string that vl_refs_sane refuses is reported. */
#define DAMAGED_STRING "is a damaged string (its heap reference or its characters)"

/* 1 if the characters of the variable-length string attribute attr are of
 * one byte and every reference names an object its collection holds, of the
 * length it claims (or the stored form cannot be read: then HDF5 cannot read
 * the strings either, and fails cleanly). */
static int vl_refs_sane(hid_t attr)
{
	static int registered;
	if (!registered) {
		hid_t vs = H5Tcopy(H5T_C_S1), raw = H5Tcreate(H5T_OPAQUE, 16);
		H5Tset_size(vs, H5T_VARIABLE);
		H5Tregister(H5T_PERS_SOFT, "voxbat: stored variable-length string", vs, raw,
			    vl_raw_conv);
		H5Tclose(vs), H5Tclose(raw);
		registered = 1;
	}
	/* The characters' type: HDF5 sizes what it allocates and fills by it
	 * (a damaged one of 1.7 GB per character made a 4-character string
	 * take 13 GB for 35 s). H5Tencode gives the datatype message of the
	 * format specification (IV.A.2.d) after 2 bytes of its own; a layout
	 * not recognised is not refused. */
	unsigned char enc[64];
	size_t elen = 0;
	hid_t type = H5Aget_type(attr);
	if (type >= 0 && H5Tencode(type, NULL, &elen) >= 0 && elen >= 18 && elen <= sizeof enc &&
	    H5Tencode(type, enc, &elen) >= 0 && enc[0] == 3 && enc[1] == 0 && (enc[2] & 0x0f) == 9 &&
	    (enc[10] & 0x0f) <= 1 && le(enc + 14, 4) != 1) {
		H5Tclose(type);
		return 0;
	}
	if (type >= 0)
		H5Tclose(type);
	/* a file being written is this program's own, and its heap may not be
	 * on disk yet: only files opened to be read are checked */
	hid_t file = H5Iget_file_id(attr);
	unsigned intent = H5F_ACC_RDWR;
	if (file >= 0 && (H5Fget_intent(file, &intent) < 0 || (intent & H5F_ACC_RDWR))) {
		H5Fclose(file);
		return 1;
	}
	hid_t fcpl = file >= 0 ? H5Fget_create_plist(file) : -1;
	hid_t space = H5Aget_space(attr);
	size_t sa = 0, sl = 0;
	const hssize_t n = H5Sget_simple_extent_npoints(space);
	int sane = 1;
	if (fcpl >= 0 && H5Pget_sizes(fcpl, &sa, &sl) >= 0 && (sa == 4 || sa == 8) &&
	    (sl == 2 || sl == 4 || sl == 8) && n > 0 && n <= (1 << 20)) {
		const size_t rs = 8 + sa; /* length, address, index */
		hid_t raw = H5Tcreate(H5T_OPAQUE, rs);
		H5Tset_tag(raw, "voxbat: stored variable-length string");
		unsigned char *b = malloc((size_t)n * rs);
		if (b != NULL && H5Aread(attr, raw, b) >= 0)
			for (hssize_t k = 0; k < n && sane; k++) {
				const unsigned char *r = b + (size_t)k * rs;
				sane = le(r, 4) == 0 || heap_holds(file, le(r + 4, (int)sa),
								   le(r + 4 + sa, 4), le(r, 4), (int)sl);
			}
		free(b);
		H5Tclose(raw);
	}
	if (space >= 0)
		H5Sclose(space);
	if (fcpl >= 0)
		H5Pclose(fcpl);
	if (file >= 0)
		H5Fclose(file);
	return sane;
}

/* Reads all of stdin into a malloc'd buffer. */
static unsigned char *slurp_stdin(size_t *size)
{
	size_t cap = 1 << 20, n = 0;
	unsigned char *buf = malloc(cap);
	if (buf == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			unsigned char *bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				free(buf);
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
		size_t got = fread(buf + n, 1, cap - n, stdin);
		n += got;
		if (got == 0)
			break;
	}
	*size = n;
	return buf;
}

static int copy_attr(hid_t src, hid_t dst, const char *name, vb_err *e);

/* A trial read of a whole file in a child process. HDF5 1.10 is not hardened
 * against corrupt files: fuzzing found inputs on which it crashes while
 * building an object's attribute table or flushing what it decoded (besides
 * the global-heap cases above, which get their own message). The child
 * visits every object, reads every attribute and every dataset of up to
 * 1 MiB of contiguous or compact storage, and exits; a file it does not
 * survive within a minute is refused before the program itself touches
 * it. */
static herr_t walk_attr(hid_t loc, const char *name, const H5A_info_t *info, void *data)
{
	(void)info, (void)data;
	copy_attr(loc, -1, name, NULL); /* read only */
	return 0;
}

static herr_t walk_link(hid_t loc, const char *name, const H5L_info_t *info, void *data);

/* Every attribute of obj (by name and by index, as the readers take them),
 * its data when it is a small dataset of numbers, its members when it is a
 * group (depth: how deep it is). */
static void walk_object(hid_t obj, int depth)
{
	hsize_t at = 0;
	H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &at, walk_attr, NULL);
	H5O_info_t oi;
	if (H5Oget_info2(obj, &oi, H5O_INFO_BASIC | H5O_INFO_NUM_ATTRS) < 0)
		return;
	for (hsize_t k = 0; k < oi.num_attrs && k < 4096; k++) {
		char name[256];
		if (H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, k, name, sizeof name,
				       H5P_DEFAULT) > 0)
			walk_attr(obj, name, NULL, NULL);
	}
	if (oi.type == H5O_TYPE_GROUP && depth < 32) {
		H5G_info_t g;
		hsize_t idx = 0;
		H5Literate(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, walk_link, &depth);
		if (H5Gget_info(obj, &g) >= 0)
			for (hsize_t k = 0; k < g.nlinks && k < 65536; k++) {
				char name[256];
				H5L_info_t li;
				if (H5Lget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, k, name,
						       sizeof name, H5P_DEFAULT) > 0)
					H5Lget_info(obj, name, &li, H5P_DEFAULT);
			}
	} else if (oi.type == H5O_TYPE_DATASET) {
		hid_t type = H5Dget_type(obj), space = H5Dget_space(obj), dcpl = H5Dget_create_plist(obj);
		const H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
		const hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : 0;
		/* chunked data the readers read only once check_storage has
		 * checked the layout (a corrupt one made HDF5 iterate for ever) */
		const H5D_layout_t layout = dcpl >= 0 ? H5Pget_layout(dcpl) : H5D_LAYOUT_ERROR;
		if (H5Pget_external_count(dcpl) == 0 &&
		    (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) &&
		    (cls == H5T_INTEGER || cls == H5T_FLOAT) &&
		    n > 0 && H5Dget_storage_size(obj) <= (1 << 20) && n <= (1 << 17)) {
			double *v = malloc((size_t)n * sizeof *v);
			if (v != NULL)
				H5Dread(obj, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
			free(v);
		}
		if (dcpl >= 0)
			H5Pclose(dcpl);
		if (space >= 0)
			H5Sclose(space);
		if (type >= 0)
			H5Tclose(type);
	}
}

static herr_t walk_link(hid_t loc, const char *name, const H5L_info_t *info, void *data)
{
	const int depth = *(const int *)data;
	if (info->type != H5L_TYPE_HARD)
		return 0; /* the readers follow none */
	hid_t obj = H5Oopen(loc, name, H5P_DEFAULT);
	if (obj >= 0) {
		walk_object(obj, depth + 1);
		H5Oclose(obj);
	}
	return 0;
}

/* Set by a sanitizer runtime (and libFuzzer, which reports through it) when
 * one is linked in; NULL otherwise. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

static int survives_reading(const char *path, const unsigned char *image, size_t size)
{
	const pid_t pid = fork();
	if (pid < 0)
		return 1; /* cannot tell: read it as before */
	if (pid == 0) {
		/* The child's crash is its own way of answering: the default
		 * action, not the handlers of the program (or of a sanitizer or
		 * fuzzer, which would report it as the program's), and nothing on
		 * the user's terminal. A signal to stop ends it the same way. */
		static const int deadly[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGALRM,
					     /* not the parent's: it would remove its
					      * pending outputs (vb_outfile) */
					     SIGINT, SIGTERM, SIGHUP, SIGPIPE};
		for (size_t k = 0; k < sizeof deadly / sizeof deadly[0]; k++)
			signal(deadly[k], SIG_DFL);
		if (__sanitizer_set_death_callback != NULL)
			__sanitizer_set_death_callback(NULL);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO), dup2(null, STDOUT_FILENO);
		alarm(60);
		hid_t f = image != NULL ? H5LTopen_file_image((void *)image, size, 0)
					: H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
		hid_t root = f >= 0 ? H5Gopen2(f, "/", H5P_DEFAULT) : -1;
		if (root >= 0) {
			walk_object(root, 0);
			H5Gclose(root);
		}
		if (f >= 0)
			H5Fclose(f);
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

hid_t vb_h5_open(const char *path, vb_err *e)
{
	quiet_hdf5();
	hid_t file = -1;
	if (strcmp(path, "-") == 0) {
		size_t size = 0;
		unsigned char *buf = slurp_stdin(&size);
		if (buf == NULL) {
			vb_err_set(e, VB_ERR_RUN, "-: out of memory reading standard input");
			return -1;
		}
		if (size > 0 && !global_heaps_sane(buf, size)) {
			free(buf);
			vb_err_set(e, VB_ERR_INPUT, "-: a corrupt global heap, which HDF5 would loop on or read past");
			return -1;
		}
		if (size > 0 && !survives_reading(path, buf, size)) {
			free(buf);
			vb_err_set(e, VB_ERR_INPUT, "-: HDF5 cannot read it (corrupt file: a trial read crashed or hung)");
			return -1;
		}
		if (size > 0)
			file = H5LTopen_file_image(buf, size, 0);
		free(buf);
		if (file < 0) {
			vb_err_set(e, VB_ERR_INPUT, "-: standard input is not an HDF5 file");
			return -1;
		}
	} else {
		struct stat st;
		if (stat(path, &st) != 0) {
			vb_err_set(e, VB_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
			return -1;
		}
		if (!S_ISREG(st.st_mode) || H5Fis_hdf5(path) <= 0) {
			vb_err_set(e, VB_ERR_INPUT, "%s: not an HDF5 file", path);
			return -1;
		}
		int fd = open(path, O_RDONLY);
		void *map = fd >= 0 && st.st_size > 0
				    ? mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)
				    : MAP_FAILED;
		const int sane = map == MAP_FAILED || global_heaps_sane(map, (size_t)st.st_size);
		if (map != MAP_FAILED)
			munmap(map, (size_t)st.st_size);
		if (fd >= 0)
			close(fd);
		if (!sane) {
			vb_err_set(e, VB_ERR_INPUT, "%s: a corrupt global heap, which HDF5 would loop on or read past",
				   path);
			return -1;
		}
		if (!survives_reading(path, NULL, 0)) {
			vb_err_set(e, VB_ERR_INPUT,
				   "%s: HDF5 cannot read it (corrupt file: a trial read crashed or hung)",
				   path);
			return -1;
		}
		file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
		if (file < 0) {
			vb_err_set(e, VB_ERR_INPUT, "%s: HDF5 cannot open it (corrupt file?)",
				   path);
			return -1;
		}
	}
	char *format = NULL;
	if (vb_h5_attr_read_string(file, "voxbat_format", path, &format, NULL) != VB_OK) {
		H5Fclose(file);
		vb_err_set(e, VB_ERR_INPUT,
			   "%s: not a voxbat file (no root attribute voxbat_format)", path);
		return -1;
	}
	int ok = format != NULL && strcmp(format, VB_H5_FORMAT) == 0;
	if (!ok)
		vb_err_set(e, VB_ERR_INPUT, "%s: voxbat_format is '%s', expected '%s'", path,
			   format, VB_H5_FORMAT);
	free(format);
	if (!ok) {
		H5Fclose(file);
		return -1;
	}
	return file;
}

hid_t vb_h5_create(const char *path, const char *content, vb_err *e)
{
	quiet_hdf5();
	hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
	if (file < 0) {
		vb_err_set(e, VB_ERR_RUN, "%s: cannot create HDF5 file", path);
		return -1;
	}
	if (vb_h5_attr_write_string(file, "voxbat_format", VB_H5_FORMAT, e) != VB_OK ||
	    vb_h5_attr_write_string(file, "content", content, e) != VB_OK) {
		H5Fclose(file);
		return -1;
	}
	return file;
}

int vb_h5_write_atomic(const char *path, const char *content, vb_h5_writer write, const void *ctx,
		       vb_err *e)
{
	vb_outfile of;
	if (vb_outfile_begin(&of, path, e) != VB_OK)
		return VB_ERR_RUN;
	hid_t file = vb_h5_create(of.tmp_path, content, e);
	int rc = file < 0 ? VB_ERR_RUN : write(file, ctx, e);
	if (file >= 0 && vb_h5_close(file, rc == VB_OK ? e : NULL) != VB_OK && rc == VB_OK)
		rc = VB_ERR_RUN;
	if (rc == VB_OK)
		rc = vb_outfile_commit(&of, e);
	else
		vb_outfile_abort(&of);
	return rc;
}

int vb_h5_close(hid_t file, vb_err *e)
{
	if (file < 0)
		return VB_OK;
	if (H5Fclose(file) < 0)
		return vb_err_set(e, VB_ERR_RUN, "HDF5 failed to close a file");
	return VB_OK;
}

/* A dataset's storage against its dataspace, before anything is read: no
 * external files (one on a FIFO blocked every reader, one on /dev/zero read
 * as labels) and no virtual datasets; chunks of the dataset's rank, each
 * dimension from 1 to the dataset's, under HDF5's 4 GiB; every filter one
 * this HDF5 has. (A bit flip in the chunk dimensions of /labels crashed
 * every reader inside H5Dread.) */
static int check_storage(hid_t d, const char *what, vb_err *e)
{
	hid_t dcpl = H5Dget_create_plist(d), space = H5Dget_space(d), type = H5Dget_type(d);
	int rc = VB_OK;
	if (dcpl < 0 || space < 0 || type < 0) {
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: cannot read its storage (corrupt file?)", what);
		goto done;
	}
	const H5D_layout_t layout = H5Pget_layout(dcpl);
	if (layout == H5D_VIRTUAL) {
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: a virtual dataset (data in other files)", what);
		goto done;
	}
	if (H5Pget_external_count(dcpl) != 0) {
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: stored in external files, which are not read",
				what);
		goto done;
	}
	const int rank = H5Sget_simple_extent_ndims(space);
	hsize_t dims[H5S_MAX_RANK], chunk[H5S_MAX_RANK];
	if (rank < 0 || rank > H5S_MAX_RANK || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: bad dataspace", what);
		goto done;
	}
	if (layout == H5D_CHUNKED) {
		const int crank = H5Pget_chunk(dcpl, H5S_MAX_RANK, chunk);
		double bytes = (double)H5Tget_size(type);
		int ok = crank == rank;
		for (int k = 0; k < rank && ok; k++) {
			ok = chunk[k] >= 1 && chunk[k] <= (dims[k] > 0 ? dims[k] : 1);
			bytes *= (double)chunk[k];
		}
		if (!ok || bytes > 4294967295.0) {
			rc = vb_err_set(e, VB_ERR_INPUT,
					"%s: chunk layout does not fit its %d-D dataspace (corrupt "
					"file?)",
					what, rank);
			goto done;
		}
		/* the chunk index: every chunk of the grid once, in place (a
		 * corrupted index read back as all fill value, exit 0). None
		 * at all is HDF5's dataset never written: the fill value. */
		double expected = 1;
		for (int k = 0; k < rank; k++) {
			const hsize_t along = (dims[k] + chunk[k] - 1) / chunk[k]; /* whole chunks */
			expected *= (double)along;
		}
		hsize_t n = 0;
		if (H5Dget_num_chunks(d, space, &n) < 0 || (n != 0 && (double)n != expected)) {
			rc = vb_err_set(e, VB_ERR_INPUT,
					"%s: %llu of its %.0f chunks are stored (corrupt or partly "
					"written file?)",
					what, (unsigned long long)n, expected);
			goto done;
		}
		/* each chunk's place: HDF5 1.10 finds chunk i of its index by
		 * walking it, so this costs n^2 (15 625 chunks: 2.6 s); up to 1024
		 * chunks (a 1 GiB image in voxbat's 1 MiB chunks) it is milliseconds,
		 * beyond that the count above stands alone */
		for (hsize_t i = 0; i < n && n <= 1024 && rc == VB_OK; i++) {
			hsize_t off[H5S_MAX_RANK];
			unsigned mask = 0;
			haddr_t addr = 0;
			hsize_t size = 0;
			int in_place = H5Dget_chunk_info(d, space, i, off, &mask, &addr, &size) >= 0;
			for (int k = 0; k < rank && in_place; k++)
				in_place = off[k] < dims[k] && off[k] % chunk[k] == 0;
			if (!in_place)
				rc = vb_err_set(e, VB_ERR_INPUT,
						"%s: chunk %llu of its index lies outside the dataset "
						"(corrupt file?)",
						what, (unsigned long long)i);
		}
		if (rc != VB_OK)
			goto done;
	}
	const int nfilters = H5Pget_nfilters(dcpl);
	for (int k = 0; k < nfilters && rc == VB_OK; k++) {
		unsigned flags = 0, conf = 0;
		size_t nelem = 0;
		char name[64] = "";
		const H5Z_filter_t id =
			H5Pget_filter2(dcpl, (unsigned)k, &flags, &nelem, NULL, sizeof name, name, &conf);
		if (id < 0 || H5Zfilter_avail(id) <= 0)
			rc = vb_err_set(e, VB_ERR_INPUT,
					"%s: compressed with filter %d (%s), which this HDF5 lacks",
					what, (int)id, name[0] ? name : "unknown");
	}
done:
	if (type >= 0)
		H5Tclose(type);
	if (space >= 0)
		H5Sclose(space);
	if (dcpl >= 0)
		H5Pclose(dcpl);
	return rc;
}

int vb_h5_read_image(hid_t file, const char *path, vb_image **img, vb_err *e)
{
	*img = NULL;
	if (H5Lexists(file, "labels", H5P_DEFAULT) <= 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: no dataset /labels", path);
	hid_t dset = H5Dopen2(file, "labels", H5P_DEFAULT);
	if (dset < 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s:/labels: not a dataset", path);
	char swhat[1100];
	snprintf(swhat, sizeof swhat, "%s:/labels", path);
	if (check_storage(dset, swhat, e) != VB_OK) {
		H5Dclose(dset);
		return VB_ERR_INPUT;
	}
	hid_t type = H5Dget_type(dset), space = H5Dget_space(dset);
	int rc = VB_OK;
	hsize_t dims[3] = {0, 0, 0};
	int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
	if (type < 0 || H5Tget_class(type) != H5T_INTEGER || H5Tget_size(type) != 1 ||
	    H5Tget_sign(type) != H5T_SGN_NONE) {
		rc = vb_err_set(e, VB_ERR_INPUT, "%s:/labels: type is not uint8", path);
	} else if (rank != 3) {
		rc = vb_err_set(e, VB_ERR_INPUT, "%s:/labels: rank is %d, expected 3 (nx, ny, nz)",
				path, rank);
	} else {
		H5Sget_simple_extent_dims(space, dims, NULL);
	}
	double voxel_size = 0;
	if (rc == VB_OK) {
		char what[1100];
		snprintf(what, sizeof what, "%s:/labels", path);
		rc = vb_h5_attr_read_double(dset, "voxel_size", what, &voxel_size, e);
		if (rc == VB_OK && !(voxel_size > 0 && voxel_size < 1.0 && isfinite(voxel_size)))
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: voxel_size is %g m, expected > 0 and < 1 m",
					what, voxel_size);
	}
	if (rc == VB_OK) {
		/* Size check before allocation: the header is untrusted. */
		if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0 ||
		    dims[0] > (hsize_t)VB_VOXEL_MAX_COUNT / dims[1] / dims[2]) {
			rc = vb_err_set(
				e, VB_ERR_INPUT,
				"%s:/labels: %llux%llux%llu voxels, expected each > 0 and at most "
				"%lld in all",
				path, (unsigned long long)dims[0], (unsigned long long)dims[1],
				(unsigned long long)dims[2], (long long)VB_VOXEL_MAX_COUNT);
		} else {
			*img = vb_voxel_new((int64_t)dims[0], (int64_t)dims[1], (int64_t)dims[2],
					    voxel_size, e);
			if (*img == NULL)
				rc = (e != NULL && e->status != VB_OK) ? e->status : VB_ERR_RUN;
		}
	}
	if (rc == VB_OK && *img != NULL &&
	    H5Dread(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, (*img)->labels) < 0)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s:/labels: cannot read the data (corrupt file?)",
				path);
	if (rc == VB_OK && (rc = vb_voxel_check_labels(*img, e)) != VB_OK)
		vb_err_prefix(e, path);
	if (type >= 0)
		H5Tclose(type);
	if (space >= 0)
		H5Sclose(space);
	H5Dclose(dset);
	if (rc != VB_OK)
		vb_voxel_free(img);
	return rc;
}

int vb_h5_write_image(hid_t file, const vb_image *img, vb_err *e)
{
	hsize_t dims[3] = {(hsize_t)img->nx, (hsize_t)img->ny, (hsize_t)img->nz};
	/* Chunks of whole x-slices, about 1 MiB, so profiles read slice by slice. */
	hsize_t area = dims[1] * dims[2];
	hsize_t slices = area >= (1u << 20) ? 1 : (1u << 20) / area;
	hsize_t chunk[3] = {slices < dims[0] ? slices : dims[0], dims[1], dims[2]};
	hid_t space = H5Screate_simple(3, dims, NULL);
	hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
	H5Pset_chunk(dcpl, 3, chunk);
	if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0)
		H5Pset_deflate(dcpl, 4);
	hid_t dset =
		H5Dcreate2(file, "labels", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
	int rc = VB_OK;
	if (dset < 0 ||
	    H5Dwrite(dset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, img->labels) < 0)
		rc = vb_err_set(e, VB_ERR_RUN, "cannot write /labels");
	if (rc == VB_OK)
		rc = vb_h5_attr_write_double(dset, "voxel_size", img->voxel_size, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(dset, "voxel_size_units", "m", e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(dset, "legend", vb_voxel_legend(), e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(dset, "axes", "x (through thickness), y, z; z fastest",
					     e);
	if (dset >= 0)
		H5Dclose(dset);
	H5Pclose(dcpl);
	H5Sclose(space);
	return rc;
}

static int write_attr(hid_t loc, const char *name, hid_t type, hid_t space, const void *data,
		      vb_err *e)
{
	hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
	int rc = VB_OK;
	if (attr < 0 || H5Awrite(attr, type, data) < 0)
		rc = vb_err_set(e, VB_ERR_RUN, "cannot write attribute %s", name);
	if (attr >= 0)
		H5Aclose(attr);
	return rc;
}

int vb_h5_attr_write_double(hid_t loc, const char *name, double value, vb_err *e)
{
	return vb_h5_attr_write_doubles(loc, name, &value, 1, e);
}

int vb_h5_attr_write_doubles(hid_t loc, const char *name, const double *values, int n, vb_err *e)
{
	hsize_t dim = (hsize_t)n;
	hid_t space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
	int rc = write_attr(loc, name, H5T_NATIVE_DOUBLE, space, values, e);
	H5Sclose(space);
	return rc;
}

int vb_h5_attr_write_int64(hid_t loc, const char *name, int64_t value, vb_err *e)
{
	hid_t space = H5Screate(H5S_SCALAR);
	int rc = write_attr(loc, name, H5T_NATIVE_INT64, space, &value, e);
	H5Sclose(space);
	return rc;
}

int vb_h5_attr_write_string(hid_t loc, const char *name, const char *value, vb_err *e)
{
	/* Variable-length UTF-8: h5py returns these as str (fixed-length ones
	 * come back as bytes, and `attrs['units'] == 'm'` is silently False). */
	hid_t type = H5Tcopy(H5T_C_S1);
	H5Tset_size(type, H5T_VARIABLE);
	H5Tset_cset(type, H5T_CSET_UTF8);
	hid_t space = H5Screate(H5S_SCALAR);
	int rc = write_attr(loc, name, type, space, &value, e);
	H5Sclose(space);
	H5Tclose(type);
	return rc;
}

int vb_h5_attr_write_int64s(hid_t loc, const char *name, const int64_t *values, int n, vb_err *e)
{
	hsize_t dim = (hsize_t)n;
	hid_t space = H5Screate_simple(1, &dim, NULL);
	int rc = write_attr(loc, name, H5T_STD_I64LE, space, values, e);
	H5Sclose(space);
	return rc;
}

int vb_h5_attr_read_int64s(hid_t loc, const char *name, const char *what, int64_t *values, int n,
			   vb_err *e)
{
	if (H5Aexists(loc, name) <= 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: no attribute %s", what, name);
	hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
	hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
	H5T_class_t cls = H5Tget_class(type);
	double *d = malloc((size_t)(n > 0 ? n : 1) * sizeof *d);
	int rc = VB_OK;
	if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || H5Sget_simple_extent_npoints(space) != n)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: attribute %s is not %d whole numbers", what,
				name, n);
	else if (d == NULL)
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory");
	else if (H5Aread(attr, cls == H5T_INTEGER ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
			 cls == H5T_INTEGER ? (void *)values : (void *)d) < 0)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: cannot read attribute %s", what, name);
	/* older files stored voxel indices (/regions) as float64 */
	for (int k = 0; k < n && rc == VB_OK && cls == H5T_FLOAT; k++) {
		if (!(fabs(d[k]) < 9e15) || d[k] != nearbyint(d[k]))
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: attribute %s: %g is not a whole number",
					what, name, d[k]);
		else
			values[k] = (int64_t)d[k];
	}
	free(d);
	H5Sclose(space);
	H5Tclose(type);
	H5Aclose(attr);
	return rc;
}

int vb_h5_attr_read_double(hid_t loc, const char *name, const char *what, double *value, vb_err *e)
{
	if (H5Aexists(loc, name) <= 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: no attribute %s", what, name);
	hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
	hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
	H5T_class_t cls = H5Tget_class(type);
	int rc = VB_OK;
	if ((cls != H5T_FLOAT && cls != H5T_INTEGER) || H5Sget_simple_extent_npoints(space) != 1)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: attribute %s is not a single number", what,
				name);
	else if (H5Aread(attr, H5T_NATIVE_DOUBLE, value) < 0)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: cannot read attribute %s", what, name);
	H5Sclose(space);
	H5Tclose(type);
	H5Aclose(attr);
	return rc;
}

int vb_h5_attr_read_string(hid_t loc, const char *name, const char *what, char **value, vb_err *e)
{
	*value = NULL;
	if (H5Aexists(loc, name) <= 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: no attribute %s", what, name);
	hid_t attr = H5Aopen(loc, name, H5P_DEFAULT);
	hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
	int rc = VB_OK;
	if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_npoints(space) != 1) {
		rc = vb_err_set(e, VB_ERR_INPUT, "%s: attribute %s is not a single string", what,
				name);
	} else if (H5Tis_variable_str(type) > 0 && !vl_refs_sane(attr)) {
		rc = vb_err_set(e, VB_ERR_INPUT,
				"%s: attribute %s " DAMAGED_STRING " (corrupt file)",
				what, name);
	} else if (H5Tis_variable_str(type) > 0) {
		hid_t mem = H5Tcopy(H5T_C_S1);
		H5Tset_size(mem, H5T_VARIABLE);
		H5Tset_cset(mem, H5Tget_cset(type));
		char *s = NULL;
		if (H5Aread(attr, mem, &s) < 0 || s == NULL)
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: cannot read attribute %s", what,
					name);
		else
			*value = strdup(s);
		if (s != NULL)
			H5free_memory(s);
		H5Tclose(mem);
	} else {
		size_t size = H5Tget_size(type);
		hid_t mem = H5Tcopy(H5T_C_S1);
		H5Tset_size(mem, size + 1);
		H5Tset_strpad(mem, H5T_STR_NULLTERM);
		H5Tset_cset(mem, H5Tget_cset(type));
		*value = calloc(size + 2, 1);
		if (*value == NULL || H5Aread(attr, mem, *value) < 0) {
			free(*value);
			*value = NULL;
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: cannot read attribute %s", what,
					name);
		}
		H5Tclose(mem);
	}
	if (rc == VB_OK && *value == NULL)
		rc = vb_err_set(e, VB_ERR_RUN, "out of memory");
	H5Sclose(space);
	H5Tclose(type);
	H5Aclose(attr);
	return rc;
}

/* Copies one attribute of a provenance record: numbers as int64 or double,
 * strings (variable-length references checked, vl_refs_sane) as
 * variable-length strings, the dataspace as it is; anything else is
 * refused. dst < 0: only reads it (the trial read). */
static int copy_attr(hid_t src, hid_t dst, const char *name, vb_err *e)
{
	hid_t a = H5Aopen(src, name, H5P_DEFAULT);
	hid_t type = a >= 0 ? H5Aget_type(a) : -1, space = a >= 0 ? H5Aget_space(a) : -1;
	const H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
	const hssize_t n = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
	const int vl = cls == H5T_STRING && H5Tis_variable_str(type) > 0;
	const size_t fixed = cls == H5T_STRING && !vl ? H5Tget_size(type) : 0;
	int rc = VB_OK;
	if (a < 0 || space < 0 || n < 1 || n > (1 << 20) ||
	    H5Sget_simple_extent_type(space) == H5S_NULL ||
	    (cls != H5T_INTEGER && cls != H5T_FLOAT && cls != H5T_STRING) ||
	    (cls == H5T_STRING && !vl && (fixed == 0 || fixed >= (size_t)(1 << 26) / (size_t)n)))
		rc = vb_err_set(e, VB_ERR_INPUT, "attribute %s is not numbers or strings", name);
	else if (vl && !vl_refs_sane(a))
		rc = vb_err_set(e, VB_ERR_INPUT, "attribute %s " DAMAGED_STRING, name);
	void *buf = NULL;
	char **strs = NULL, *chars = NULL;
	hid_t mem = -1, out = -1;
	if (rc == VB_OK && cls != H5T_STRING) {
		mem = H5Tcopy(cls == H5T_INTEGER ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE);
		out = H5Tcopy(mem);
		buf = malloc((size_t)n * 8);
		if (buf == NULL || H5Aread(a, mem, buf) < 0)
			rc = vb_err_set(e, VB_ERR_INPUT, "attribute %s cannot be read", name);
	} else if (rc == VB_OK) {
		out = H5Tcopy(H5T_C_S1);
		H5Tset_size(out, H5T_VARIABLE);
		H5Tset_cset(out, H5Tget_cset(type) == H5T_CSET_ASCII ? H5T_CSET_ASCII
								     : H5T_CSET_UTF8);
		strs = calloc((size_t)n, sizeof *strs);
		if (vl) {
			mem = H5Tcopy(out);
			H5Tset_cset(mem, H5Tget_cset(type));
			if (strs == NULL || H5Aread(a, mem, strs) < 0)
				rc = vb_err_set(e, VB_ERR_INPUT, "attribute %s cannot be read", name);
		} else {
			mem = H5Tcopy(H5T_C_S1);
			H5Tset_size(mem, fixed + 1);
			H5Tset_strpad(mem, H5T_STR_NULLTERM);
			H5Tset_cset(mem, H5Tget_cset(type));
			chars = calloc((size_t)n, fixed + 1);
			if (strs == NULL || chars == NULL || H5Aread(a, mem, chars) < 0)
				rc = vb_err_set(e, VB_ERR_INPUT, "attribute %s cannot be read", name);
			for (hssize_t k = 0; rc == VB_OK && k < n; k++)
				strs[k] = chars + (size_t)k * (fixed + 1);
		}
		for (hssize_t k = 0; rc == VB_OK && k < n; k++)
			if (strs[k] == NULL)
				rc = vb_err_set(e, VB_ERR_INPUT, "attribute %s cannot be read", name);
		buf = strs;
	}
	if (rc == VB_OK && dst >= 0)
		rc = write_attr(dst, name, out, space, buf, e);
	if (vl && strs != NULL)
		for (hssize_t k = 0; k < n; k++)
			if (strs[k] != NULL)
				H5free_memory(strs[k]);
	if (cls != H5T_STRING)
		free(buf);
	free(strs), free(chars);
	if (mem >= 0)
		H5Tclose(mem);
	if (out >= 0)
		H5Tclose(out);
	if (type >= 0)
		H5Tclose(type);
	if (space >= 0)
		H5Sclose(space);
	if (a >= 0)
		H5Aclose(a);
	return rc;
}

/* Copies the provenance tree under group src into group dst: its
 * attributes (copy_attr) and, recursively, its groups (hard links only, at
 * most 16 deep; nothing else). Not H5Ocopy: that copies a corrupt file's
 * object header messages as they are (HDF5 1.10 then crashed flushing them,
 * a fuzz finding) and follows variable-length references unchecked. */
static int copy_tree(hid_t src, hid_t dst, int depth, vb_err *e)
{
	H5O_info_t info;
	if (depth > 16)
		return vb_err_set(e, VB_ERR_INPUT, "groups nested more than 16 deep");
	if (H5Oget_info2(src, &info, H5O_INFO_NUM_ATTRS) < 0)
		return vb_err_set(e, VB_ERR_INPUT, "a group cannot be read");
	int rc = VB_OK;
	for (hsize_t k = 0; k < info.num_attrs && rc == VB_OK; k++) {
		char name[256];
		ssize_t len = H5Aget_name_by_idx(src, ".", H5_INDEX_NAME, H5_ITER_INC, k, name,
						 sizeof name, H5P_DEFAULT);
		if (len < 1 || len >= (ssize_t)sizeof name)
			rc = vb_err_set(e, VB_ERR_INPUT, "an attribute name cannot be read");
		else
			rc = copy_attr(src, dst, name, e);
	}
	H5G_info_t g;
	if (rc == VB_OK && H5Gget_info(src, &g) < 0)
		rc = vb_err_set(e, VB_ERR_INPUT, "a group cannot be read");
	for (hsize_t k = 0; rc == VB_OK && k < g.nlinks; k++) {
		char name[256];
		ssize_t len = H5Lget_name_by_idx(src, ".", H5_INDEX_NAME, H5_ITER_INC, k, name,
						 sizeof name, H5P_DEFAULT);
		H5L_info_t li;
		H5O_info_t oi;
		if (len < 1 || len >= (ssize_t)sizeof name ||
		    H5Lget_info(src, name, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD ||
		    H5Oget_info_by_name2(src, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
		    oi.type != H5O_TYPE_GROUP) {
			rc = vb_err_set(e, VB_ERR_INPUT, "holds something other than groups");
			break;
		}
		hid_t in = H5Gopen2(src, name, H5P_DEFAULT);
		hid_t out = in >= 0 ? H5Gcreate2(dst, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
		if (in < 0 || out < 0)
			rc = vb_err_set(e, VB_ERR_INPUT, "group %s cannot be copied", name);
		else
			rc = copy_tree(in, out, depth + 1, e);
		if (out >= 0)
			H5Gclose(out);
		if (in >= 0)
			H5Gclose(in);
	}
	return rc;
}

/* Copies the group at src/name to a new group dst/name. */
static int copy_group(hid_t src, const char *name, hid_t dst, const char *new_name, vb_err *e)
{
	H5O_info_t oi;
	H5L_info_t li;
	if (H5Lget_info(src, name, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD)
		return vb_err_set(e, VB_ERR_INPUT, "%s is a link to elsewhere, not a group", name);
	if (H5Oget_info_by_name2(src, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0 ||
	    oi.type != H5O_TYPE_GROUP)
		return vb_err_set(e, VB_ERR_INPUT, "%s is not a group", name);
	hid_t in = H5Gopen2(src, name, H5P_DEFAULT);
	hid_t out = in >= 0 ? H5Gcreate2(dst, new_name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
	int rc = in < 0 || out < 0 ? vb_err_set(e, VB_ERR_INPUT, "%s cannot be copied", name)
				   : copy_tree(in, out, 0, e);
	if (out >= 0)
		H5Gclose(out);
	if (in >= 0)
		H5Gclose(in);
	return rc;
}

typedef struct copy_ctx {
	hid_t dst;
	int count;
	vb_err *e;
} copy_ctx;

static herr_t copy_record(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
	(void)info;
	copy_ctx *ctx = data;
	if (copy_group(group, name, ctx->dst, name, ctx->e) != VB_OK)
		return -1;
	ctx->count++;
	return 0;
}

/* Appends text (and a newline) to a growing malloc'd buffer. */
static int append(char **buf, size_t *len, const char *prefix, const char *text)
{
	size_t add = strlen(prefix) + strlen(text) + 1;
	char *bigger = realloc(*buf, *len + add + 1);
	if (bigger == NULL)
		return -1;
	*buf = bigger;
	*len += (size_t)snprintf(*buf + *len, add + 1, "%s%s\n", prefix, text);
	return 0;
}

/* Appends an input's history, each line prefixed with prefix. */
static int append_history(char **buf, size_t *len, hid_t input, const char *prefix)
{
	char *hist = NULL;
	if (vb_h5_attr_read_string(input, "history", "input", &hist, NULL) != VB_OK)
		return 0; /* an input without history contributes nothing */
	int rc = 0;
	char *save = NULL;
	for (char *line = strtok_r(hist, "\n", &save); line && rc == 0;
	     line = strtok_r(NULL, "\n", &save))
		rc = append(buf, len, prefix, line);
	free(hist);
	return rc;
}

int vb_h5_provenance_check(hid_t input, const char *name, vb_err *e)
{
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0) {
		if (fapl >= 0)
			H5Pclose(fapl);
		return vb_err_set(e, VB_ERR_RUN, "cannot create an HDF5 file in memory");
	}
	char mem_name[64];
	snprintf(mem_name, sizeof mem_name, "voxbat-provenance-check-%p", (void *)&fapl);
	hid_t mem = H5Fcreate(mem_name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
	H5Pclose(fapl);
	if (mem < 0)
		return vb_err_set(e, VB_ERR_RUN, "cannot create an HDF5 file in memory");
	const char *names[1] = {name};
	vb_err pe;
	vb_err_clear(&pe);
	hid_t rec = vb_h5_provenance_begin(mem, "check", "check", "", &input, names, 1, &pe);
	if (rec >= 0)
		H5Gclose(rec);
	H5Fclose(mem);
	if (rec < 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: its provenance cannot be read (%s)", name,
				  pe.msg);
	return VB_OK;
}

hid_t vb_h5_provenance_begin(hid_t out, const char *program, const char *operation,
			     const char *command_line, const hid_t *inputs,
			     const char *const *input_names, int n_inputs, vb_err *e)
{
	hid_t prov = H5Gcreate2(out, "provenance", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	if (prov < 0) {
		vb_err_set(e, VB_ERR_RUN, "cannot create /provenance");
		return -1;
	}
	vb_err ce;
	vb_err_clear(&ce);
	copy_ctx ctx = {prov, 0, &ce};
	herr_t copied = 0;
	if (n_inputs == 1 && H5Lexists(inputs[0], "provenance", H5P_DEFAULT) > 0) {
		hid_t in_prov = H5Gopen2(inputs[0], "provenance", H5P_DEFAULT);
		hsize_t idx = 0;
		copied = in_prov >= 0 ? H5Literate(in_prov, H5_INDEX_NAME, H5_ITER_INC, &idx,
						   copy_record, &ctx)
				      : -1;
		if (in_prov >= 0)
			H5Gclose(in_prov);
	}
	if (copied < 0) {
		H5Gclose(prov);
		vb_err_set(e, VB_ERR_INPUT, "%s: its provenance cannot be copied: %s", input_names[0],
			   ce.msg[0] ? ce.msg : "not a group");
		return -1;
	}
	char name[32], now[32];
	snprintf(name, sizeof name, "step_%03d", ctx.count + 1);
	hid_t rec = H5Gcreate2(prov, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
	H5Gclose(prov);
	if (rec < 0) {
		vb_err_set(e, VB_ERR_RUN, "cannot create /provenance/%s", name);
		return -1;
	}
	vb_cli_utc_now(now, sizeof now);
	int rc = vb_h5_attr_write_string(rec, "program", program, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(rec, "version", VB_VERSION, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(rec, "operation", operation, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(rec, "command_line", command_line, e);
	if (rc == VB_OK)
		rc = vb_h5_attr_write_string(rec, "time", now, e);
	for (int n = 0; n < n_inputs && rc == VB_OK; n++) {
		char key[32];
		snprintf(key, sizeof key, "input_%d", n);
		rc = vb_h5_attr_write_string(rec, key, input_names[n], e);
		if (rc == VB_OK && n_inputs > 1 &&
		    H5Lexists(inputs[n], "provenance", H5P_DEFAULT) > 0 &&
		    copy_group(inputs[n], "provenance", rec, key, &ce) != VB_OK)
			rc = vb_err_set(e, VB_ERR_INPUT, "%s: its provenance cannot be copied: %s",
					input_names[n], ce.msg);
	}
	/* The human-readable chain, as NCO's history attribute: inputs first. */
	char *hist = NULL;
	size_t len = 0;
	for (int n = 0; n < n_inputs && rc == VB_OK; n++) {
		char prefix[1100];
		if (n_inputs > 1)
			snprintf(prefix, sizeof prefix, "[%s] ", input_names[n]);
		else
			prefix[0] = '\0';
		if (append_history(&hist, &len, inputs[n], prefix) != 0)
			rc = vb_err_set(e, VB_ERR_RUN, "out of memory");
	}
	if (rc == VB_OK) {
		size_t size = strlen(now) + strlen(program) + strlen(command_line) + 64;
		char *line = malloc(size);
		if (line == NULL ||
		    (snprintf(line, size, "%s %s %s: %s", now, program, VB_VERSION, command_line),
		     append(&hist, &len, "", line) != 0))
			rc = vb_err_set(e, VB_ERR_RUN, "out of memory");
		free(line);
	}
	if (rc == VB_OK && hist != NULL)
		rc = vb_h5_attr_write_string(out, "history", hist, e);
	free(hist);
	if (rc != VB_OK) {
		H5Gclose(rec);
		return -1;
	}
	return rec;
}

static hid_t open_numeric(hid_t loc, const char *name, const char *what, hid_t *space, vb_err *e)
{
	hid_t d = H5Lexists(loc, name, H5P_DEFAULT) > 0 ? H5Dopen2(loc, name, H5P_DEFAULT) : -1;
	hid_t t = d >= 0 ? H5Dget_type(d) : -1;
	const H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
	if (t >= 0)
		H5Tclose(t);
	*space = d >= 0 ? H5Dget_space(d) : -1;
	if (d < 0 || *space < 0 || (cls != H5T_FLOAT && cls != H5T_INTEGER)) {
		if (*space >= 0)
			H5Sclose(*space);
		if (d >= 0)
			H5Dclose(d);
		*space = -1;
		vb_err_set(e, VB_ERR_INPUT, "%s:/%s: missing or not a numeric dataset", what, name);
		return -1;
	}
	char swhat[1200];
	snprintf(swhat, sizeof swhat, "%s:/%s", what, name);
	if (check_storage(d, swhat, e) != VB_OK) {
		H5Sclose(*space);
		H5Dclose(d);
		*space = -1;
		return -1;
	}
	return d;
}

int vb_h5_dataset_count(hid_t loc, const char *name, const char *what, int64_t *n, vb_err *e)
{
	hid_t sp;
	hid_t d = open_numeric(loc, name, what, &sp, e);
	if (d < 0)
		return VB_ERR_INPUT;
	*n = (int64_t)H5Sget_simple_extent_npoints(sp);
	H5Sclose(sp);
	H5Dclose(d);
	return VB_OK;
}

int vb_h5_read_doubles(hid_t loc, const char *name, const char *what, double *out, int64_t n,
		       vb_err *e)
{
	hid_t sp;
	hid_t d = open_numeric(loc, name, what, &sp, e);
	if (d < 0)
		return VB_ERR_INPUT;
	int rc = VB_OK;
	if (H5Sget_simple_extent_npoints(sp) != (hssize_t)n)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s:/%s: expected %lld values, found %lld", what,
				name, (long long)n, (long long)H5Sget_simple_extent_npoints(sp));
	else if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
		rc = vb_err_set(e, VB_ERR_INPUT, "%s:/%s: cannot read", what, name);
	H5Sclose(sp);
	H5Dclose(d);
	return rc;
}

const vb_h5_column vb_h5_series[VB_H5_SERIES_COLUMNS] = {
	{"time", "s"},	       {"voltage", "V"},    {"current", "A/m^2"},
	{"capacity", "C/m^2"}, {"energy", "J/m^2"},
};
