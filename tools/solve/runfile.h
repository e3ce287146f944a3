/* runfile: what solve writes: the run file (docs/FORMAT.md, content "run"),
 * its XDMF companion for ParaView, and checkpoints (read back by --resume). */
#ifndef SV_RUNFILE_H
#define SV_RUNFILE_H

#include <hdf5.h>

#include "discharge.h"
#include "vb_params.h"
#include "vb_voxel.h"

typedef struct sv_runfile {
	const vb_image *cell;
	const vb_params *params; /* with the --set overrides applied */
	const sv_run *run;
	const sv_options *opts;
	hid_t input; /* the cell file, for /regions and provenance */
	const char *in_name, *cmdline, *overrides;
	double wall_time; /* s */
	int threads;
} sv_runfile;

/* vb_h5_writer that fills a run file from a sv_runfile. */
int sv_runfile_write(hid_t file, const void *ctx, vb_err *e);

/* Writes the XDMF file of run file h5_path beside it (vb_xdmf.h). */
int sv_runfile_write_xdmf(const char *h5_path, const sv_run *r, const vb_image *cell, vb_err *e);

/* Checkpoints: the whole state of a run plus a fingerprint of the options
 * that must not change on --resume. */
int sv_checkpoint_write(const char *path, const sv_run *r, const char *fingerprint, vb_err *e);

/* What a --checkpoint path holds, found silently: nothing, something that
 * is not a voxbat checkpoint, a checkpoint of another run (another cell or
 * other options, or fingerprint NULL), or one of this run. */
typedef enum sv_checkpoint_kind {
	SV_CKPT_NONE,
	SV_CKPT_NOT_ONE,
	SV_CKPT_OTHER,
	SV_CKPT_OURS
} sv_checkpoint_kind;
sv_checkpoint_kind sv_checkpoint_probe(const char *path, const char *fingerprint);

/* Reads a checkpoint into r (initialised by sv_run_init for the same cell);
 * VB_ERR_INPUT if it belongs to another cell or other options. */
int sv_checkpoint_read(const char *path, sv_run *r, const char *fingerprint, vb_err *e);

#endif
