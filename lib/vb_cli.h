/* vb_cli: what every program's main shares and that is not I/O: the version,
 * the command line as recorded in provenance, timestamps, `FILE:value`
 * arguments. Nothing here prints or exits. */
#ifndef VB_CLI_H
#define VB_CLI_H

#include <stddef.h>

#include "vb_err.h"

#define VB_VERSION "0.1.0"

/* The command line as one shell-quoted string (for provenance). Returns a
 * malloc'd string the caller frees, or NULL when out of memory. */
char *vb_cli_join_argv(int argc, char *const argv[]);

/* Current UTC time as ISO 8601 ("2026-11-24T19:30:00Z") into buf (>= 21 bytes). */
void vb_cli_utc_now(char *buf, size_t size);

/* Splits "PATH:VALUE" at the last ':' into path (caller's buffer of size
 * path_size) and a number; VB_ERR_INPUT if there is no ':' or VALUE is not a
 * number. what names the argument in the message. */
int vb_cli_split_path_number(const char *arg, const char *what, char *path, size_t path_size,
			     double *value, vb_err *e);

/* VB_ERR_INPUT naming the option if an option is given twice among
 * argv[first..argc) (until a "--"), where a second value would silently
 * replace the first; the long names in repeatable (NULL-terminated, without
 * "--") may repeat. "-o" counts as "--output" and "-q" as "--quiet". */
int vb_cli_check_repeats(int argc, char *const argv[], int first, const char *const *repeatable,
			 vb_err *e);

#endif
