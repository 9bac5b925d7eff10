/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Redis sink: writes sealed minutes (struct ds_rollup) to Redis, and applies
 * each to its hour and day.
 *
 * Two layers:
 *  - struct ds_redis, a connection that writes one rollup per call in one
 *    transaction (MULTI: the values RESTOREd to staged keys, a Lua script,
 *    ds_minute.lua, run by EVALSHA, and the HyperLogLogs; EXEC):
 *    atomic, so a reader never sees half a minute. The script deletes
 *    every key of the minute, moves the staged values into place and
 *    so writes absolute values: writing a minute again (a retry, or a second
 *    replay of the same capture) leaves the same content (a live start's
 *    first minute, ds_rollup.join, is added to a stopped process' part of
 *    it instead, and its retries too leave the same content); it adds to the
 *    minute's hour and day only the difference between the new values and
 *    what the minute held before, so those hold the sum of the minutes as
 *    they are now, each counted exactly once.
 *  - struct ds_redis_writer, a thread with a bounded queue in front of the
 *    connection. The control thread submits rollups and goes back to work;
 *    the writer retries with exponential backoff while Redis is away. When
 *    the queue is full it either drops the oldest minute (live capture: the
 *    sensor must never stall) or makes the submitter wait (replay: the
 *    capture file can wait, nothing is lost). Drops are counted and logged.
 *    With a spool directory (ds_spool.h) the oldest minute of a full queue
 *    goes to disk instead; the spool is written to Redis before the queue,
 *    oldest first, and what a previous run left there is picked up at start.
 *
 * The key schema is documented in docs/SCHEMA.md.
 */

#ifndef DS_REDIS_H
#define DS_REDIS_H

#include <stdbool.h>
#include <stdint.h>

#include "ds_rollup.h"

#ifdef __cplusplus
extern "C" {
#endif

struct ds_redis_opts {
	const char *host;           /**< used when unix_socket is NULL or "" */
	uint16_t port;
	const char *unix_socket;
	uint32_t db;
	const char *username;       /**< NULL or "": AUTH with the password only */
	const char *password;       /**< NULL or "": no AUTH; never logged */
	const char *key_prefix;     /**< e.g. "ds" */
	uint32_t retention_s;       /**< EXPIRE of every minute key; 0: no expiry */
	uint32_t hour_retention_s;  /**< EXPIRE of every hour key; 0: no expiry */
	uint32_t day_retention_s;   /**< EXPIRE of every day key; 0: no expiry */
	/**
	 * IANA zone of the day keys ("Asia/Tokyo"); NULL, "" or "UTC": UTC.
	 * Any other zone must be the process' TZ (setenv("TZ", zone) and
	 * tzset() before ds_redis_create()), as local time is computed with
	 * localtime_r().
	 */
	const char *rollup_timezone;
	uint32_t hll_values;        /**< per feed and dimension, the values with the most
					 packets whose sources go to HyperLogLogs; 0: none */
	uint32_t connect_timeout_ms; /**< 0: 2000 */
	uint32_t command_timeout_ms; /**< 0: 5000 */
};

struct ds_redis;

/**
 * Create a sink. It connects on the first write, or when ds_redis_connect()
 * asks it to.
 * @return the sink, or NULL with errno EINVAL (missing host/socket or
 *         prefix, or a rollup_timezone other than UTC that is not the
 *         process' TZ) or ENOMEM.
 */
struct ds_redis *ds_redis_create(const struct ds_redis_opts *opts);

/**
 * Write one minute: connect (and AUTH, SELECT, SCRIPT LOAD) if not
 * connected, read back the sums of its hour and day when the sink does not
 * have them (docs/SCHEMA.md, "Hours and days"; ds_redis_read_ahead() does
 * it between minutes), then send its transaction once (the script by EVALSHA; the
 * transaction again with EVAL when the server lost the script, e.g. after
 * SCRIPT FLUSH). On any failure the connection is
 * dropped so the next call reconnects.
 * @return 0, or -EINVAL (NULL argument), -ENOMEM, -ENOENT (no such unix
 *         socket), -ECONNREFUSED (any other connect failure), -ETIMEDOUT,
 *         -EPERM (AUTH refused: WRONGPASS, NOAUTH, NOPERM), -EIO (any other
 *         error reply or a broken connection). ds_redis_errstr() describes
 *         the last failure. A struct ds_redis is not thread-safe.
 */
int ds_redis_write(struct ds_redis *r, const struct ds_rollup *ru);

/**
 * Connect now (AUTH, SELECT, SCRIPT LOAD) unless connected; the connection
 * is kept for the next write. darkscope calls it once at start so that a
 * server that refuses the configuration (a wrong password, an ACL user
 * without the rights) is reported before any packet is counted, not a
 * minute later by the writer thread.
 * @return 0, or the errors of ds_redis_write(); -EPERM is the one a retry
 *         cannot mend.
 */
int ds_redis_connect(struct ds_redis *r);

/**
 * Minutes whose hour and day sums this sink had to leave alone since it was
 * created: minutes rewritten after their keys expired (their old values
 * unknown, docs/SCHEMA.md "Sums are applied exactly once"). 0 for NULL.
 */
uint64_t ds_redis_rollup_skipped(const struct ds_redis *r);

/**
 * Periods (a feed's hour or day) whose zsets this sink sent whole and the
 * script took, since it was created, instead of summing them in Redis
 * (docs/SCHEMA.md, "Hours and days"). 0 for NULL.
 */
uint64_t ds_redis_periods_whole(const struct ds_redis *r);

/**
 * Periods whose sums this sink read back from Redis since it was created
 * (its first minute of a period, or after the script refused its sums), so
 * that their next minutes go whole again (docs/SCHEMA.md, "Hours and
 * days"). 0 for NULL.
 */
uint64_t ds_redis_periods_read(const struct ds_redis *r);

/**
 * Whether the last minute written left a period (a feed's hour or day)
 * whose sums this sink does not have: the script refused them, or it never
 * had them (its first minute of the period was a join). false for NULL.
 */
bool ds_redis_reads_pending(const struct ds_redis *r);

/**
 * Read back the sums of those periods now (docs/SCHEMA.md, "Hours and
 * days"), so that the next minute of each goes whole without reading them
 * first. For a writer between minutes: it costs a few round trips and, for a
 * period of every port, some tens of ms. Each pending period is tried once;
 * one that is not read now is read before its next minute, as before.
 * @return 0, or the errors of ds_redis_write() (the connection is then
 *         dropped, and the next write reconnects).
 */
int ds_redis_read_ahead(struct ds_redis *r);

/**
 * How long the last ds_redis_write() took, in microseconds; *encode_us (when
 * not NULL) gets the part of it spent building the transaction, the client's
 * share (the rest is sending it, the server's work and the replies). 0 for
 * NULL or before the first write.
 */
uint64_t ds_redis_write_us(const struct ds_redis *r, uint64_t *encode_us);

/** Last error as text ("" when none). */
const char *ds_redis_errstr(const struct ds_redis *r);

/** Close and free; NULL is a no-op. */
void ds_redis_free(struct ds_redis *r);

enum ds_redis_queue_policy {
	DS_REDIS_QUEUE_DROP_OLDEST,
	DS_REDIS_QUEUE_WAIT,
};

struct ds_redis_writer_opts {
	struct ds_redis_opts redis;
	uint32_t queue_len;         /**< rollups held while Redis is away, >= 1 */
	enum ds_redis_queue_policy policy;
	uint32_t retry_min_ms;      /**< first backoff, doubled per failure */
	uint32_t retry_max_ms;      /**< backoff ceiling */
	const char *spool_dir;      /**< NULL or "": no spool */
	uint64_t spool_max_bytes;   /**< cap of the spool's files, >= 1 with a spool */
	const char *sensor;         /**< whose spool files to pick up; required with a spool */
};

struct ds_redis_writer_stats {
	uint64_t written;           /**< minutes written */
	uint64_t dropped;           /**< minutes dropped because the queue was full */
	uint64_t failures;          /**< failed write attempts */
	uint64_t rollup_skipped;    /**< minutes written whose hour and day sums were skipped */
	uint64_t write_max_us;      /**< the longest successful write of one minute */
	uint32_t queued;            /**< minutes waiting now */
	bool connected;             /**< the last attempt succeeded */
	bool spool;                 /**< a spool is configured */
	bool spool_refused;         /**< the last minute offered to the spool did not go in */
	uint32_t spool_files;       /**< minutes in the spool now */
	uint64_t spool_bytes;       /**< their size on disk */
	uint64_t spooled;           /**< minutes written to the spool */
	uint64_t spool_written;     /**< spooled minutes since written to Redis */
	uint64_t spool_bad;         /**< spool files set aside as unreadable */
};

struct ds_redis_writer;

/**
 * Start the writer thread; with a spool_dir, open the spool first (creating
 * the directory) and queue what it holds of this sensor for writing.
 * @return the writer, or NULL with errno EINVAL (bad options, including
 *         retry_min_ms 0 or retry_max_ms < retry_min_ms, a spool without
 *         sensor or size), ENOMEM, the error of ds_spool_open() (ENOTDIR,
 *         EACCES, ...) or of pthread_create().
 */
struct ds_redis_writer *ds_redis_writer_create(const struct ds_redis_writer_opts *opts);

/**
 * Queue a rollup; the writer takes ownership and frees it once written or
 * dropped. A full queue first moves its oldest minute to the spool, if any;
 * when that fails (spool full or absent), with DS_REDIS_QUEUE_WAIT a full
 * queue blocks the caller until there is room; with DS_REDIS_QUEUE_DROP_OLDEST
 * it drops the oldest queued minute, counts and logs it (the first time the
 * spool refuses, the minute stays queued: the queue holds one more).
 * @return 0, -EINVAL for a NULL argument, or -ESHUTDOWN after
 *         ds_redis_writer_free() began (in both cases the rollup is freed).
 */
int ds_redis_writer_submit(struct ds_redis_writer *w, struct ds_rollup *ru);

/**
 * Wait until every queued and spooled minute is written, or the timeout passes.
 * @return 0, -EINVAL for NULL, or -ETIMEDOUT with minutes still queued.
 */
int ds_redis_writer_drain(struct ds_redis_writer *w, uint32_t timeout_ms);

/** Snapshot of the counters. */
void ds_redis_writer_stats(struct ds_redis_writer *w, struct ds_redis_writer_stats *st);

/**
 * Stop the thread; minutes still queued go to the spool when there is one
 * (a next start delivers them). Submissions fail from here on. Calling it
 * again does nothing and returns 0.
 * @return the minutes discarded: neither written nor spooled (0 for NULL).
 */
uint32_t ds_redis_writer_stop(struct ds_redis_writer *w);

/**
 * Stop (ds_redis_writer_stop()) and free the writer; minutes that could not
 * be kept are logged. NULL is a no-op.
 */
void ds_redis_writer_free(struct ds_redis_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* DS_REDIS_H */
