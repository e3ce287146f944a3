/* vb_cli: command-line helpers shared by the programs. */
#include "vb_cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vb_units.h"

/* A word needs quoting unless it is made only of these characters. */
static int is_plain(const char *w)
{
	if (w[0] == '\0')
		return 0;
	for (const char *c = w; *c; c++)
		if (strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789-_./:=,+%@",
			   *c) == NULL)
			return 0;
	return 1;
}

char *vb_cli_join_argv(int argc, char *const argv[])
{
	size_t size = 1;
	for (int a = 0; a < argc; a++)
		size += 4 * strlen(argv[a]) + 3; /* worst case: every char is a quote */
	char *out = malloc(size);
	if (out == NULL)
		return NULL;
	char *p = out;
	for (int a = 0; a < argc; a++) {
		if (a > 0)
			*p++ = ' ';
		if (is_plain(argv[a])) {
			size_t n = strlen(argv[a]);
			memcpy(p, argv[a], n);
			p += n;
			continue;
		}
		*p++ = '\'';
		for (const char *c = argv[a]; *c; c++) {
			if (*c == '\'') {
				memcpy(p, "'\\''", 4);
				p += 4;
			} else {
				*p++ = *c;
			}
		}
		*p++ = '\'';
	}
	*p = '\0';
	return out;
}

void vb_cli_utc_now(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int vb_cli_split_path_number(const char *arg, const char *what, char *path, size_t path_size,
			     double *value, vb_err *e)
{
	const char *colon = strrchr(arg, ':');
	if (colon == NULL || colon == arg)
		return vb_err_set(e, VB_ERR_INPUT, "%s: '%s' is not of the form FILE:NUMBER", what,
				  arg);
	size_t n = (size_t)(colon - arg);
	if (n >= path_size)
		return vb_err_set(e, VB_ERR_INPUT, "%s: file name in '%s' is too long", what, arg);
	memcpy(path, arg, n);
	path[n] = '\0';
	return vb_units_parse_number(colon + 1, what, value, e);
}

/* The long name of option token t ("--name" or "--name=value", "-o", "-q")
 * into name; 0 if t is not one. */
static int option_name(const char *t, char *name, size_t size)
{
	if (strcmp(t, "-o") == 0 || strcmp(t, "-q") == 0) {
		snprintf(name, size, "%s", t[1] == 'o' ? "output" : "quiet");
		return 1;
	}
	if (strncmp(t, "--", 2) != 0 || t[2] == '\0')
		return 0;
	snprintf(name, size, "%.*s", (int)strcspn(t + 2, "="), t + 2);
	return 1;
}

int vb_cli_check_repeats(int argc, char *const argv[], int first, const char *const *repeatable,
			 vb_err *e)
{
	for (int i = first; i < argc && strcmp(argv[i], "--") != 0; i++) {
		char a[128];
		if (!option_name(argv[i], a, sizeof a))
			continue;
		int free_to_repeat = 0;
		for (const char *const *r = repeatable; r != NULL && *r != NULL; r++)
			free_to_repeat |= strcmp(*r, a) == 0;
		if (free_to_repeat)
			continue;
		for (int j = i + 1; j < argc && strcmp(argv[j], "--") != 0; j++) {
			char b[128];
			if (option_name(argv[j], b, sizeof b) && strcmp(a, b) == 0)
				return vb_err_set(e, VB_ERR_INPUT,
						  "--%s is given twice; which one is meant?", a);
		}
	}
	return VB_OK;
}
