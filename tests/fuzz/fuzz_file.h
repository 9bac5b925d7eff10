/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The fuzz targets' one helper: put the input bytes into a file, because the
 * config and geo loaders take a path, not a buffer (they read whole files,
 * gzip ones included, and name the file in every message).
 *
 * A memfd per file, created once per process and rewritten per execution,
 * named by its /proc/self/fd path: no directory to create or clean up, no
 * disk I/O, and two fuzzer processes never share a file. Any failure here is
 * a broken environment, not a finding, so it aborts with a message.
 */

#ifndef DS_FUZZ_FILE_H
#define DS_FUZZ_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct fuzz_file {
	int fd;
	char path[64];
};

/* Create the memfd behind @p f (once, from LLVMFuzzerInitialize or on first use). */
static inline void fuzz_file_open(struct fuzz_file *f, const char *name)
{
	f->fd = memfd_create(name, MFD_CLOEXEC);
	if (f->fd < 0) {
		perror("fuzz: memfd_create");
		abort();
	}
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

/* Make the file hold exactly @p size bytes of @p data. */
static inline void fuzz_file_set(struct fuzz_file *f, const void *data, size_t size)
{
	const uint8_t *p = data;
	size_t done = 0;

	if (ftruncate(f->fd, 0) != 0) {
		perror("fuzz: ftruncate");
		abort();
	}
	while (done < size) {
		ssize_t n = pwrite(f->fd, p + done, size - done, (off_t)done);

		if (n <= 0) {
			perror("fuzz: pwrite");
			abort();
		}
		done += (size_t)n;
	}
}

#endif /* DS_FUZZ_FILE_H */
