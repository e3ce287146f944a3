/* Shared by the fuzz targets (tests/fuzz, docs/testing.md): the input bytes
 * as a file the readers open by name, so that every
 * target goes through the same path a user's file does. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes data to a new file (in /dev/shm when there is one: memory) and puts
 * its name in path; returns its descriptor, or -1. fuzz_done removes it.
 * (A memfd's /proc/self/fd name does not do: HDF5 resolves the real path
 * of every file it opens.) */
static inline int fuzz_file(const uint8_t *data, size_t size, char *path, size_t len)
{
	snprintf(path, len, "%s/voxbat-fuzz.XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < size) {
		ssize_t w = write(fd, data + done, size - done);
		if (w <= 0) {
			close(fd);
			unlink(path);
			return -1;
		}
		done += (size_t)w;
	}
	return fd;
}

static inline void fuzz_done(int fd, const char *path)
{
	close(fd);
	unlink(path);
}

#endif
