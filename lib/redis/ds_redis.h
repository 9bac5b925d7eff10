/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Redis sink: writes sealed minutes (struct ds_rollup) to Redis, and applies
 * each to its hour and day.
 *
 * Two layers:
 *  - struct ds_redis, a connection that writes one rollup per call with a
 *    single Lua script (ds_minute.lua, EVALSHA): atomic, so a reader never
 *    sees half a minute. The script deletes every key of the minute and
 *    writes absolute values, so writing a minute again (a retry, or a second
 *    replay of the same capture) leaves the same content; and it adds to the
 *    minute's hour and day only the difference between the new values and
 *    what the minute held before, so those hold the sum of the minutes as
 *    they are now, each counted exactly once.
 *  - struct ds_redis_writer, a thread with a bounded queue in front of the
 *    connection. The control thread submits rollups and goes back to work;
 *    the writer retries with exponential backoff while Redis is away. When
 *    the queue is full it either drops the oldest minute (live capture: the
 *    sensor must never stall) or makes the submitter wait (replay: the
 *    capture file can wait, nothing is lost). Drops are counted and logged.
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
 * Create a sink. It connects lazily, on the first write.
 * @return the sink, or NULL with errno EINVAL (missing host/socket or
 *         prefix, or a rollup_timezone other than UTC that is not the
 *         process' TZ) or ENOMEM.
 */
struct ds_redis *ds_redis_create(const struct ds_redis_opts *opts);

/**
 * Write one minute: connect (and AUTH, SELECT, SCRIPT LOAD) if not
 * connected, then run the script once (EVALSHA; EVAL when the server lost
 * the script, e.g. after SCRIPT FLUSH). On any failure the connection is
 * dropped so the next call reconnects.
 * @return 0, or -EINVAL (NULL argument), -ENOMEM, -ENOENT (no such unix
 *         socket), -ECONNREFUSED (any other connect failure), -ETIMEDOUT,
 *         -EPERM (AUTH refused: WRONGPASS, NOAUTH, NOPERM), -EIO (any other
 *         error reply or a broken connection). ds_redis_errstr() describes
 *         the last failure. A struct ds_redis is not thread-safe.
 */
int ds_redis_write(struct ds_redis *r, const struct ds_rollup *ru);

/**
 * Minutes whose hour and day sums this sink had to leave alone since it was
 * created: minutes rewritten after their keys expired (their old values
 * unknown, docs/SCHEMA.md "Sums are applied exactly once"). 0 for NULL.
 */
uint64_t ds_redis_rollup_skipped(const struct ds_redis *r);

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
};

struct ds_redis_writer_stats {
	uint64_t written;           /**< minutes written */
	uint64_t dropped;           /**< minutes dropped because the queue was full */
	uint64_t failures;          /**< failed write attempts */
	uint64_t rollup_skipped;    /**< minutes written whose hour and day sums were skipped */
	uint64_t write_max_us;      /**< the longest successful write of one minute */
	uint32_t queued;            /**< minutes waiting now */
	bool connected;             /**< the last attempt succeeded */
};

struct ds_redis_writer;

/**
 * Start the writer thread.
 * @return the writer, or NULL with errno EINVAL (bad options, including
 *         retry_min_ms 0 or retry_max_ms < retry_min_ms), ENOMEM or the error
 *         of pthread_create().
 */
struct ds_redis_writer *ds_redis_writer_create(const struct ds_redis_writer_opts *opts);

/**
 * Queue a rollup; the writer takes ownership and frees it once written or
 * dropped. With DS_REDIS_QUEUE_WAIT a full queue blocks the caller until
 * there is room; with DS_REDIS_QUEUE_DROP_OLDEST it drops the oldest queued
 * minute, counts and logs it.
 * @return 0, -EINVAL for a NULL argument, or -ESHUTDOWN after
 *         ds_redis_writer_free() began (in both cases the rollup is freed).
 */
int ds_redis_writer_submit(struct ds_redis_writer *w, struct ds_rollup *ru);

/**
 * Wait until every queued minute is written, or the timeout passes.
 * @return 0, -EINVAL for NULL, or -ETIMEDOUT with minutes still queued.
 */
int ds_redis_writer_drain(struct ds_redis_writer *w, uint32_t timeout_ms);

/** Snapshot of the counters. */
void ds_redis_writer_stats(struct ds_redis_writer *w, struct ds_redis_writer_stats *st);

/**
 * Stop the thread and free the writer; minutes still queued are freed
 * unwritten and logged. NULL is a no-op.
 */
void ds_redis_writer_free(struct ds_redis_writer *w);

#ifdef __cplusplus
}
#endif

#endif /* DS_REDIS_H */
