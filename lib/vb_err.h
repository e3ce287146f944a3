/* vb_err: the status object every lib routine reports through.
 * lib never prints or exits; it fills a vb_err with a status and one line of
 * text naming the file, dataset or key, the value, and what was expected. */
#ifndef VB_ERR_H
#define VB_ERR_H

enum {
	VB_OK = 0,
	VB_ERR_RUN = -1,   /* failure while running: I/O, out of memory, no convergence */
	VB_ERR_INPUT = -2, /* invalid input or usage: the caller's data is wrong */
};

typedef struct vb_err {
	int status;	/* VB_OK or one of the VB_ERR_* codes above */
	char msg[1024]; /* one line, no trailing newline; empty when status is VB_OK */
} vb_err;

/* Resets e to VB_OK with an empty message. */
void vb_err_clear(vb_err *e);

/* Sets e's status and printf-style message. e may be NULL. */
void vb_err_setf(vb_err *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* vb_err_setf that evaluates to status, so that callers can write
 * `return vb_err_set(e, VB_ERR_INPUT, "...")`. A macro so that the value
 * is visible where it is used (static analysis follows it). */
#define vb_err_set(e, status, ...) (vb_err_setf((e), (status), __VA_ARGS__), vb_err_pass(status))

/* Identity; lets vb_err_set stand alone as a statement without a warning. */
static inline int vb_err_pass(int status)
{
	return status;
}

/* Prefixes e's message with "prefix: " (e.g. a file name), keeping its status. */
void vb_err_prefix(vb_err *e, const char *prefix);

/* Process exit code for a status: 0 ok, 1 run failure, 2 invalid input. */
int vb_err_exit_code(int status);

#endif
