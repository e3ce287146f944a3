/* vb_outfile: temp-file + fsync + rename outputs, cleaned up on signals.
 * The signal handler needs the pending temporary names without a context
 * argument, so they live in a small static table: the one piece of global
 * state in lib, written only by begin/commit/abort. */
#include "vb_outfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PENDING 8

static char pending[MAX_PENDING][PATH_MAX];
static volatile sig_atomic_t pending_used[MAX_PENDING];
static int handlers_installed;
static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
static struct sigaction previous[sizeof caught / sizeof caught[0]];

/* A program that handles the signal itself (solve stops between steps and
 * finishes what it is writing) keeps it; otherwise the pending temporary
 * files go and the signal takes its default action. */
static void on_signal(int sig)
{
	for (size_t k = 0; k < sizeof caught / sizeof caught[0]; k++)
		if (caught[k] == sig && previous[k].sa_handler != SIG_DFL &&
		    previous[k].sa_handler != SIG_IGN) {
			previous[k].sa_handler(sig);
			return;
		}
	for (int n = 0; n < MAX_PENDING; n++)
		if (pending_used[n])
			unlink(pending[n]);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_handlers(void)
{
	if (handlers_installed)
		return;
	handlers_installed = 1;
	for (size_t n = 0; n < sizeof caught / sizeof caught[0]; n++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(caught[n], &sa, &previous[n]);
	}
}

static void track(const char *tmp)
{
	for (int n = 0; n < MAX_PENDING; n++) {
		if (!pending_used[n]) {
			snprintf(pending[n], PATH_MAX, "%s", tmp);
			pending_used[n] = 1;
			return;
		}
	}
}

static void untrack(const char *tmp)
{
	for (int n = 0; n < MAX_PENDING; n++)
		if (pending_used[n] && strcmp(pending[n], tmp) == 0)
			pending_used[n] = 0;
}

/* VB_ERR_INPUT if path exists and is not a regular file: the rename into
 * place would replace a device node, FIFO or socket with a file. */
static int not_regular(const char *path, vb_err *e)
{
	struct stat st;
	if (lstat(path, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
		return VB_OK; /* missing, a file, or a directory (refused apart) */
	if (S_ISLNK(st.st_mode) && (stat(path, &st) != 0 || S_ISREG(st.st_mode)))
		return VB_OK; /* a link to a file (or dangling): the link is replaced */
	return vb_err_set(e, VB_ERR_INPUT,
			  "%s: exists and is not a regular file (a device, FIFO or socket), which "
			  "an output would replace; give '-o -' and redirect stdout to it",
			  path);
}

/* The name path has once the links in its directory are resolved
 * (realpath of the directory, then the last component), for comparing
 * names of files that need not exist yet; 0 if the directory cannot be
 * resolved. */
static int canonical(const char *path, char *out, size_t size)
{
	char d[PATH_MAX], b[PATH_MAX], real[PATH_MAX];
	if (snprintf(d, sizeof d, "%s", path) >= (int)sizeof d ||
	    snprintf(b, sizeof b, "%s", path) >= (int)sizeof b)
		return 0;
	if (realpath(dirname(d), real) == NULL)
		return 0;
	return snprintf(out, size, "%s/%s", real, basename(b)) < (int)size;
}

int vb_outfile_same(const char *a, const char *b)
{
	struct stat sa, sb;
	if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
		return 0;
	if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
		return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
	char ca[PATH_MAX], cb[PATH_MAX];
	return canonical(a, ca, sizeof ca) && canonical(b, cb, sizeof cb) && strcmp(ca, cb) == 0;
}

/* Who writes a temporary: "HOST-NS-PID", the host, the PID namespace (two
 * containers on one host may share a directory) and the process. A
 * temporary is NAME.tmp.HOST-NS-PID.XXXXXX, so that a later program can tell
 * one a killed process left (SIGKILL runs no handler) from one still being
 * written. */
static void owner_prefix(char *out, size_t size)
{
	char host[65] = "";
	gethostname(host, sizeof host - 1);
	for (char *c = host; *c; c++)
		if (*c == '/' || *c == '-' || *c == '.')
			*c = '_';
	char ns[64] = "";
	ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
	unsigned long inode = 0;
	if (n > 0)
		ns[n] = '\0', sscanf(ns, "pid:[%lu]", &inode);
	snprintf(out, size, "%s-%lu-", host[0] ? host : "host", inode);
}

/* Removes the temporaries of output path (dir/base) that a process of this
 * host and namespace left and that no process of that PID still writes.
 * Others are left: another host's, a live process's, and the untagged
 * NAME.tmp.XXXXXX of older versions, which cannot be told apart. */
static void remove_stale(const char *dir, const char *base)
{
	char owner[128], prefix[PATH_MAX];
	owner_prefix(owner, sizeof owner);
	const int len = snprintf(prefix, sizeof prefix, "%s.tmp.%s", base, owner);
	if (len >= (int)sizeof prefix)
		return;
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	for (struct dirent *ent; (ent = readdir(d)) != NULL;) {
		if (strncmp(ent->d_name, prefix, (size_t)len) != 0)
			continue;
		char *end = NULL;
		errno = 0;
		const long pid = strtol(ent->d_name + len, &end, 10);
		if (errno != 0 || end == ent->d_name + len || pid <= 0 || pid == (long)getpid() ||
		    end[0] != '.' || strlen(end + 1) != 6)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue; /* alive, or not ours to ask */
		char full[PATH_MAX];
		if (snprintf(full, sizeof full, "%s/%s", dir, ent->d_name) < (int)sizeof full)
			unlink(full);
	}
	closedir(d);
}

int vb_outfile_begin(vb_outfile *o, const char *path, vb_err *e)
{
	memset(o, 0, sizeof *o);
	if (path == NULL || path[0] == '\0')
		return vb_err_set(e, VB_ERR_INPUT, "no output file given (-o FILE)");
	if (snprintf(o->path, sizeof o->path, "%s", path) >= (int)sizeof o->path)
		return vb_err_set(e, VB_ERR_INPUT, "output name too long: %s", path);
	int n;
	char owner[128], dir[PATH_MAX], base[PATH_MAX];
	owner_prefix(owner, sizeof owner);
	if (strcmp(path, "-") == 0) {
		const char *tmp = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s", tmp && tmp[0] ? tmp : "/tmp");
		snprintf(base, sizeof base, "voxbat-stdout");
	} else {
		char copy[PATH_MAX];
		snprintf(copy, sizeof copy, "%s", path);
		snprintf(dir, sizeof dir, "%s", dirname(copy));
		snprintf(copy, sizeof copy, "%s", path);
		snprintf(base, sizeof base, "%s", basename(copy));
	}
	n = snprintf(o->tmp_path, sizeof o->tmp_path, "%s/%s.tmp.%s%ld.XXXXXX", dir, base, owner,
		     (long)getpid());
	if (n >= (int)sizeof o->tmp_path)
		return vb_err_set(e, VB_ERR_INPUT, "output name too long: %s", path);
	if (strcmp(path, "-") != 0 && not_regular(path, e) != VB_OK)
		return e->status;
	remove_stale(dir, base);
	install_handlers();
	int fd = mkstemp(o->tmp_path);
	if (fd < 0)
		return vb_err_set(e, VB_ERR_RUN, "%s: cannot create a temporary file: %s", path,
				  strerror(errno));
	close(fd);
	track(o->tmp_path);
	o->active = 1;
	return VB_OK;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	/* Some file systems refuse fsync on directories; that is not a failure. */
	if (rc != 0 && (errno == EINVAL || errno == EBADF))
		rc = 0;
	close(fd);
	return rc;
}

static int copy_to_stdout(const char *tmp, vb_err *e)
{
	FILE *in = fopen(tmp, "rb");
	if (in == NULL)
		return vb_err_set(e, VB_ERR_RUN, "%s: %s", tmp, strerror(errno));
	char buf[1 << 16];
	size_t n;
	int rc = VB_OK;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
		if (fwrite(buf, 1, n, stdout) != n) {
			rc = vb_err_set(e, VB_ERR_RUN, "writing to standard output: %s",
					strerror(errno));
			break;
		}
	}
	if (rc == VB_OK && ferror(in))
		rc = vb_err_set(e, VB_ERR_RUN, "%s: read error", tmp);
	fclose(in);
	if (rc == VB_OK && fflush(stdout) != 0)
		rc = vb_err_set(e, VB_ERR_RUN, "writing to standard output: %s", strerror(errno));
	return rc;
}

int vb_outfile_commit(vb_outfile *o, vb_err *e)
{
	if (!o->active)
		return vb_err_set(e, VB_ERR_RUN, "%s: output was not started", o->path);
	if (strcmp(o->path, "-") == 0) {
		int rc = copy_to_stdout(o->tmp_path, e);
		vb_outfile_abort(o);
		return rc;
	}
	if (fsync_path(o->tmp_path, O_RDONLY) != 0) {
		vb_err_set(e, VB_ERR_RUN, "%s: fsync failed: %s", o->tmp_path, strerror(errno));
		vb_outfile_abort(o);
		return VB_ERR_RUN;
	}
	/* mkstemp makes the file 0600; give it the permissions a new file gets. */
	mode_t mask = umask(0);
	umask(mask);
	chmod(o->tmp_path, 0666 & ~mask);
	if (rename(o->tmp_path, o->path) != 0) {
		vb_err_set(e, VB_ERR_RUN, "%s: cannot rename %s into place: %s", o->path,
			   o->tmp_path, strerror(errno));
		vb_outfile_abort(o);
		return VB_ERR_RUN;
	}
	untrack(o->tmp_path);
	o->active = 0;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", o->path);
	fsync_path(dirname(dir), O_RDONLY | O_DIRECTORY);
	return VB_OK;
}

void vb_outfile_abort(vb_outfile *o)
{
	if (o == NULL || !o->active)
		return;
	unlink(o->tmp_path);
	untrack(o->tmp_path);
	o->active = 0;
}

int vb_outfile_check(const char *output, const char *const inputs[], int n_inputs, vb_err *e)
{
	if (output == NULL || output[0] == '\0')
		return vb_err_set(e, VB_ERR_INPUT, "no output file given (-o FILE)");
	if (strcmp(output, "-") == 0)
		return VB_OK;
	char dir[PATH_MAX];
	/* room for the ".tmp.HOST-NS-PID.XXXXXX" that vb_outfile_begin appends */
	if (strlen(output) + 128 + 32 >= sizeof dir)
		return vb_err_set(e, VB_ERR_INPUT, "%s: output name too long", output);
	struct stat st;
	if (stat(output, &st) == 0 && S_ISDIR(st.st_mode))
		return vb_err_set(e, VB_ERR_INPUT, "%s: is a directory, expected a file name",
				  output);
	if (not_regular(output, e) != VB_OK)
		return e->status;
	snprintf(dir, sizeof dir, "%s", output);
	const char *d = dirname(dir);
	if (stat(d, &st) != 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: cannot create: directory %s: %s", output,
				  d, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return vb_err_set(e, VB_ERR_INPUT, "%s: cannot create: %s is not a directory",
				  output, d);
	/* the temporary is created there and renamed: write and search permission */
	if (access(d, W_OK | X_OK) != 0)
		return vb_err_set(e, VB_ERR_INPUT, "%s: cannot create: directory %s: %s", output,
				  d, strerror(errno));
	for (int k = 0; k < n_inputs; k++)
		if (inputs[k] != NULL && vb_outfile_check_distinct(output, inputs[k], e) != VB_OK)
			return e->status;
	return VB_OK;
}

int vb_outfile_check_distinct(const char *output, const char *input, vb_err *e)
{
	if (vb_outfile_same(output, input))
		return vb_err_set(
			e, VB_ERR_INPUT,
			"%s: output is the same file as input %s; inputs are never modified",
			output, input);
	return VB_OK;
}
