/* vb_outfile: atomic outputs. A program writes to OUTPUT.tmp.OWNER.XXXXXX in
 * the output's directory (OWNER: host, PID namespace and process ID) and
 * renames it into place only when complete, so an interrupted or failed run
 * never leaves a file Make would take as finished. A temporary a killed
 * process left (SIGKILL runs no handler) is removed by the next program that
 * writes the same output. "-" as output spools to a temporary file and
 * copies it to stdout. */
#ifndef VB_OUTFILE_H
#define VB_OUTFILE_H

#include <limits.h>

#include "vb_err.h"

typedef struct vb_outfile {
	char path[PATH_MAX];	 /* final name, or "-" for stdout */
	char tmp_path[PATH_MAX]; /* where the data is written until commit */
	int active;		 /* 1 between begin and commit/abort */
} vb_outfile;

/* Creates the temporary file for output path and registers it for removal on
 * SIGINT/SIGTERM/SIGHUP; first removes the temporaries of path that dead
 * processes of this host left. The caller writes to o->tmp_path (it exists,
 * empty). */
int vb_outfile_begin(vb_outfile *o, const char *path, vb_err *e);

/* fsyncs the temporary file, renames it to the final name and fsyncs the
 * directory (or copies it to stdout for "-" and removes it). */
int vb_outfile_commit(vb_outfile *o, vb_err *e);

/* Removes the temporary file; a no-op after commit or on a zeroed struct. */
void vb_outfile_abort(vb_outfile *o);

/* 1 if a and b name the same file: the same device and inode when both
 * exist, else the same name once the links of their directories are
 * resolved (an output not written yet); "-" is never the same. */
int vb_outfile_same(const char *a, const char *b);

/* VB_ERR_INPUT if output and input name the same file (vb_outfile_same):
 * inputs are never modified. */
int vb_outfile_check_distinct(const char *output, const char *input, vb_err *e);

/* What every program calls for each file it will write, before reading its
 * inputs or doing any work, so that a bad -o fails at once (exit 2) rather
 * than after the run: VB_ERR_INPUT unless output is "-" (stdout) or a name
 * that is not a directory, nor an existing device, FIFO or socket (which
 * the rename into place would replace: '-o -' and a redirection write to
 * those), whose directory exists and is writable, and that is not the
 * same file as any of the n_inputs inputs (NULL entries skipped). */
int vb_outfile_check(const char *output, const char *const inputs[], int n_inputs, vb_err *e);

#endif
