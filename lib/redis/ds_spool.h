/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The durable spool: sealed minutes that Redis could not take in time, kept
 * on disk, one file per minute, until the Redis writer delivers them.
 *
 * This is the pure part: the file format and the directory. It knows nothing
 * of Redis, threads or EAL, so it is tested on its own (tests/test_spool.c);
 * ds_redis_writer.c decides when a minute goes to the spool and when it comes
 * back, and locks around every call (a struct ds_spool is not thread-safe).
 *
 * A file holds one struct ds_rollup, serialized (not the Redis commands: a
 * spooled minute is written by the very same Lua script as a queued one, so
 * the schema lives in one place). Its name is
 *
 *     SENSOR.YYYYMMDDHHMM.SEQ.spool       e.g. "tokyo-1.201803292013.0000000042.spool"
 *
 * SEQ numbers the files of a sensor in the order they were spooled and goes
 * on across restarts (the largest found + 1), so a minute spooled twice (a
 * replay restarted) never overwrites the file the writer may be reading.
 * docs/SPOOL.md describes the bytes; in short, little-endian:
 *
 *     "DSSPOOL\n" u32 version u32 sensor_len i64 minute u64 payload_len
 *     u32 payload_crc32 u32 0  sensor[sensor_len]  u32 header_crc32
 *     payload (the rollup)
 *
 * A file is written to SENSOR.tmp, fsync'd, renamed to its name and the
 * directory fsync'd: after a crash a file is either whole or still named
 * .tmp. A file that does not read back (torn, flipped bits, unknown version,
 * another sensor in its header) is moved to the bad/ subdirectory, reported
 * through the on_bad callback with the reason, and counted; it never stops
 * the spool.
 */

#ifndef DS_SPOOL_H
#define DS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "ds_rollup.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The format written; files of versions 1 to this are read (docs/SPOOL.md). */
#define DS_SPOOL_VERSION 2
#define DS_SPOOL_MAGIC "DSSPOOL\n"
#define DS_SPOOL_SUFFIX ".spool"
#define DS_SPOOL_BAD_DIR "bad"
/** Longest reason handed to on_bad. */
#define DS_SPOOL_REASON_MAX 128

struct ds_spool_opts {
	const char *dir;            /**< created with its parents (mode 0750) when absent */
	const char *sensor;         /**< 1-63 characters of [A-Za-z0-9_.-] */
	uint64_t max_bytes;         /**< cap on the sum of file sizes, >= 1 */
	/** Called for each file set aside (name without directory, reason); may be NULL. */
	void (*on_bad)(void *arg, const char *file, const char *reason);
	void *arg;
};

struct ds_spool_stats {
	uint32_t files;             /**< minutes in the spool now */
	uint64_t bytes;             /**< their size */
	uint64_t spooled;           /**< files written since open */
	uint64_t delivered;         /**< files removed by ds_spool_pop() since open */
	uint64_t bad;               /**< files set aside since open (including at open) */
	uint64_t full;              /**< ds_spool_put() refused for want of room */
};

struct ds_spool;

/**
 * Open (creating the directory and bad/ if needed) and scan the spool:
 * every SENSOR.*.spool file whose header reads (magic, version, sensor,
 * minute and length matching the name and size) is queued, oldest minute
 * first (then SEQ); a file of this sensor that does not read, and a
 * leftover SENSOR.tmp, is set aside. Files of other sensors are left alone.
 * Files found count towards max_bytes even beyond it.
 * @return the spool, or NULL with errno EINVAL (bad options), ENOTDIR,
 *         EACCES (directory not writable), ENOMEM or the error of mkdir(),
 *         opendir() or open().
 */
struct ds_spool *ds_spool_open(const struct ds_spool_opts *opts);

/**
 * Write a minute to the spool (temp file, fsync, rename, fsync of the
 * directory) at the end of the queue.
 * @return 0, -EINVAL (NULL argument, or a rollup of another sensor),
 *         -ENOSPC (the file would take the spool past max_bytes, or the disk
 *         is full), -ENOMEM, or the error of open/write/fsync/rename.
 */
int ds_spool_put(struct ds_spool *s, const struct ds_rollup *ru);

/**
 * Read the oldest minute. A file that does not read is set aside (on_bad,
 * counted) and the next one tried.
 * @return 0 with *out a rollup the caller frees, -EINVAL (NULL argument),
 *         -ENOENT (spool empty) or -ENOMEM (the file stays first).
 */
int ds_spool_peek(struct ds_spool *s, struct ds_rollup **out);

/**
 * Delete the oldest file: its minute was delivered.
 * @return 0, -EINVAL, -ENOENT (empty) or the error of unlink() (the file
 *         is forgotten all the same, so a failing disk cannot wedge the writer).
 */
int ds_spool_pop(struct ds_spool *s);

/** Counters; zeros for NULL. */
void ds_spool_stats(const struct ds_spool *s, struct ds_spool_stats *st);

/** Directory of the spool ("" for NULL). */
const char *ds_spool_dir(const struct ds_spool *s);

/** Forget the in-memory queue (the files stay for the next start); NULL is a no-op. */
void ds_spool_close(struct ds_spool *s);

/**
 * Serialize a rollup into a spool file image (header and payload).
 * @return 0 with *buf (malloc'd) and *len, -EINVAL or -ENOMEM.
 */
int ds_spool_encode(const struct ds_rollup *ru, uint8_t **buf, size_t *len);

/**
 * Parse a spool file image of sensor @p sensor. Every length and count is
 * checked against the bytes left before it is used.
 * @return 0 with *out a new rollup, -EINVAL (NULL argument), -ENOMEM, or
 *         -EBADMSG with @p reason (DS_SPOOL_REASON_MAX bytes) saying what
 *         did not match: "truncated header", "bad magic", "unknown version 7",
 *         "sensor x, expected y", "payload crc mismatch", ...
 */
int ds_spool_decode(const uint8_t *buf, size_t len, const char *sensor, struct ds_rollup **out,
		    char *reason);

#ifdef __cplusplus
}
#endif

#endif /* DS_SPOOL_H */
