/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The Redis writer: a thread with a bounded FIFO of sealed minutes in front
 * of one struct ds_redis, so that a slow or absent Redis never stalls the
 * control thread that seals minutes.
 *
 *   control thread                      writer thread
 *   --------------                      -------------
 *   submit(minute) --> [ m3 m4 m5 ] --> write(head) --ok--> pop head, free, backoff = min
 *                        ^ full?            |
 *                        |                  `--fail--> keep head, sleep backoff,
 *          DROP_OLDEST: free m3, count, log            backoff = min(2 * backoff, max)
 *          WAIT: block until the writer pops
 *
 * The head is popped only after a successful write: a failed minute is
 * retried first, so minutes reach Redis in the order they were sealed and
 * none is skipped while the queue has room. Writes are idempotent
 * (ds_redis.c), so a write that succeeded on the server but whose reply was
 * lost is simply written again.
 *
 * The write itself runs without the lock. While it runs, the head is "in
 * flight": if a DROP_OLDEST submit must drop it, the submit takes it out of
 * the queue, counts and logs the drop, and leaves the freeing to the writer
 * when the write returns (if that write did succeed, the minute is also
 * counted as written).
 *
 * The spool (ds_spool.h, optional) extends the queue onto disk:
 *
 *   submit: queue full --> oldest minute --put--> spool files (oldest first)
 *                                 |  refused (spool full, disk error)
 *                                 `--> back at the head, once; then DROP_OLDEST
 *   writer: spool not empty? write the spool's first minute, delete its file
 *           on success; else write the queue's head as above
 *
 * Spooled minutes are all older than the queued ones (they left the queue
 * from its head), so writing the spool first keeps Redis receiving minutes
 * in order. The head may be in flight when it is spooled; if that write
 * succeeds the minute is written twice, which the idempotent script makes
 * harmless. The spool's file I/O runs under the lock: it happens at most once
 * per sealed minute, on the control and writer threads, never on a worker.
 * ds_redis_writer_stop() spools what is still queued, so a sensor that must
 * exit during an outage hands its minutes to the next start.
 *
 * Logging is for operators watching an outage: one line when Redis goes
 * away (not one per retry), one when it is back with how long it took and
 * how much is queued, one per dropped minute with the running total, one
 * when minutes start going to the spool and when it is empty again, one per
 * spool file set aside, and one at shutdown if minutes had to be discarded.
 *
 * Locking: `lock` guards everything below it in the struct. Conditions use
 * CLOCK_MONOTONIC so backoff and drain timeouts survive clock steps.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_log.h>

#include "ds_redis.h"
#include "ds_spool.h"

/* Registered in ds_redis.c. */
extern int ds_redis_logtype;

#define WLOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, ds_redis_logtype, "darkscope.redis: " fmt "\n", ##__VA_ARGS__)

struct ds_redis_writer {
	struct ds_redis *redis;     /* used by the writer thread only */
	char endpoint[160];
	enum ds_redis_queue_policy policy;
	uint32_t retry_min_ms;
	uint32_t retry_max_ms;
	pthread_t thread;

	pthread_mutex_t lock;
	pthread_cond_t work;        /* to the thread: a minute was queued, or stop */
	pthread_cond_t room;        /* to WAIT submitters and free(): a slot was freed, or stop */
	pthread_cond_t idle;        /* to drain(): queue empty and nothing in flight */

	struct ds_rollup **ring;    /* FIFO of cap + 1 slots, count of them used from head */
	uint32_t cap;               /* "full"; the slot more is for a minute the spool refused */
	uint32_t slots;             /* cap + 1 */
	uint32_t head;
	uint32_t count;
	const struct ds_rollup *in_flight; /* the head while the thread writes it */
	bool in_flight_dropped;     /* a submit dropped it meanwhile: the thread frees it */
	bool stopping;
	uint32_t waiters;           /* submitters blocked on `room` */

	uint64_t written;
	uint64_t dropped;
	uint64_t failures;
	uint64_t rollup_skipped;    /* copied from the connection after each write */
	bool connected;             /* the last attempt succeeded */
	bool ever_connected;
	bool outage;                /* the outage was logged; cleared by a success */
	uint64_t outage_attempts;   /* failed attempts in the current outage */
	uint64_t write_max_us;      /* the longest successful write */

	struct ds_spool *spool;     /* NULL: no spool */
	char *spool_dir;            /* for log lines, also while the spool opens */
	struct ds_rollup *spool_ru; /* the spool's first minute, read, not yet written */
	bool spool_refused;         /* the last put failed; cleared by a put or a delivery */
	bool spooling;              /* "spooling" was logged; cleared when the spool empties */
	uint64_t spool_written;
	bool stopped;               /* ds_redis_writer_stop() ran */
	uint32_t discarded;         /* what it could neither write nor spool */
};

static struct timespec
deadline_after(uint32_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static void
ring_pop(struct ds_redis_writer *w)
{
	w->ring[w->head] = NULL;
	w->head = (w->head + 1) % w->slots;
	w->count--;
}

static uint32_t
spool_files(const struct ds_redis_writer *w)
{
	struct ds_spool_stats st;

	ds_spool_stats(w->spool, &st);
	return st.files;
}

/* Nothing left to write: queue, flight and spool all empty. */
static bool
all_written(const struct ds_redis_writer *w)
{
	return w->count == 0 && w->in_flight == NULL && w->spool_ru == NULL &&
	       spool_files(w) == 0;
}

/* ds_spool's on_bad: called with the lock held. */
static void
spool_bad(void *arg, const char *file, const char *reason)
{
	struct ds_redis_writer *w = arg;

	WLOG(ERR, "spool file %s/%s: %s; moved to %s/" DS_SPOOL_BAD_DIR "/ (counted in "
	     "redis.spool_bad_total)", w->spool_dir, file, reason, w->spool_dir);
}

/*
 * Called with the lock held after a successful attempt, before the head is
 * popped: the backlog reported includes the minute just written.
 */
static void
note_success(struct ds_redis_writer *w)
{
	w->written++;
	w->connected = true;
	if (w->outage)
		WLOG(NOTICE, "Redis back after %" PRIu64 " failed attempts, %" PRIu32
		     " minutes queued (%s)", w->outage_attempts, w->count, w->endpoint);
	else if (!w->ever_connected)
		WLOG(INFO, "writing minutes to Redis at %s", w->endpoint);
	w->ever_connected = true;
	w->outage = false;
	w->outage_attempts = 0;
}

/*
 * Called with the lock held after a successful write: did the script leave
 * this minute's hour and day alone (its keys had expired)? Logged once, as
 * a replay of old captures can skip every minute; the count goes on in the
 * stats (and the sensor's redis.rollup_skipped_total counter).
 */
static void
note_skipped(struct ds_redis_writer *w, const struct ds_rollup *ru)
{
	uint64_t n = ds_redis_rollup_skipped(w->redis);
	char iso[32];

	if (n == w->rollup_skipped)
		return;
	w->rollup_skipped = n;
	ds_minute_iso(ru->minute, iso, sizeof(iso));
	if (n == 1)
		WLOG(NOTICE, "minute %s was rewritten after its keys expired: its hour and day "
		     "were left as they were (counted in redis.rollup_skipped_total, not logged "
		     "again)", iso);
	else
		WLOG(DEBUG, "minute %s: hour and day left as they were (%" PRIu64 " so far)", iso,
		     n);
}

/* Called with the lock held after a failed attempt: logs the first failure of an outage. */
static void
note_failure(struct ds_redis_writer *w)
{
	w->failures++;
	w->outage_attempts++;
	w->connected = false;
	if (w->outage)
		return;
	w->outage = true;
	/* errstr never holds the password (ds_redis.c). */
	WLOG(WARNING, "%s: %s; retrying every %" PRIu32 "-%" PRIu32 " ms, queueing up to %"
	     PRIu32 " minutes (%" PRIu32 " queued)",
	     w->ever_connected ? "Redis connection lost" : "Redis unavailable",
	     ds_redis_errstr(w->redis), w->retry_min_ms, w->retry_max_ms, w->cap, w->count);
}

/*
 * The minute to write next, with the lock held: the spool's first (read from
 * disk once, kept until written), else the queue's head. NULL when there is
 * none after all (every spool file was bad) or it cannot be read now.
 */
static struct ds_rollup *
next_minute(struct ds_redis_writer *w, bool *from_spool)
{
	*from_spool = false;
	if (w->spool_ru == NULL && spool_files(w) > 0) {
		int rc = ds_spool_peek(w->spool, &w->spool_ru);

		if (rc == -ENOMEM)
			WLOG(ERR, "out of memory reading the spool; retrying");
	}
	if (w->spool_ru != NULL) {
		*from_spool = true;
		return w->spool_ru;
	}
	if (w->count == 0)
		return NULL;
	w->in_flight = w->ring[w->head];
	w->in_flight_dropped = false;
	return w->ring[w->head];
}

/* With the lock held, after the spool's first minute was written: delete its file. */
static void
spool_delivered(struct ds_redis_writer *w)
{
	struct ds_spool_stats st;
	int rc = ds_spool_pop(w->spool);

	if (rc < 0)
		WLOG(WARNING, "cannot delete a delivered spool file in %s: %s", w->spool_dir,
		     strerror(-rc));
	w->spool_written++;
	w->spool_refused = false;
	ds_spool_stats(w->spool, &st);
	if (st.files == 0 && w->spooling) {
		WLOG(NOTICE, "spool %s delivered: %" PRIu64 " minutes written from it so far",
		     w->spool_dir, w->spool_written);
		w->spooling = false;
	}
}

static void *
writer_main(void *arg)
{
	struct ds_redis_writer *w = arg;
	uint32_t backoff = w->retry_min_ms;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct ds_rollup *ru;
		uint64_t us, encode_us;
		bool dropped, from_spool;
		int rc;

		/*
		 * Idle until a minute arrives; a stop request wins over queued
		 * minutes. Periods whose sums the last write left unknown are
		 * read back first, so that the next minute does not wait for it.
		 */
		while (!w->stopping && w->count == 0 && spool_files(w) == 0 &&
		       w->spool_ru == NULL) {
			if (ds_redis_reads_pending(w->redis)) {
				pthread_mutex_unlock(&w->lock);
				if (ds_redis_read_ahead(w->redis) < 0)
					WLOG(INFO, "reading a period's sums back: %s (its next "
					     "minute tries again)", ds_redis_errstr(w->redis));
				pthread_mutex_lock(&w->lock);
				continue;
			}
			pthread_cond_wait(&w->work, &w->lock);
		}
		if (w->stopping)
			break;
		ru = next_minute(w, &from_spool);
		if (ru == NULL) {
			/* The spool's files were all bad, or memory is short: look again. */
			if (w->count == 0 && spool_files(w) == 0)
				pthread_cond_broadcast(&w->idle);
			if (spool_files(w) == 0)
				continue;
			rc = -ENOMEM;
			goto backoff;
		}
		pthread_mutex_unlock(&w->lock);

		/* The rollup stays in the ring or spool (and owned by it) while it is written. */
		rc = ds_redis_write(w->redis, ru);
		us = ds_redis_write_us(w->redis, &encode_us);
		if (rc == 0 && rte_log_can_log(ds_redis_logtype, RTE_LOG_DEBUG)) {
			char iso[32];

			ds_minute_iso(ru->minute, iso, sizeof(iso));
			WLOG(DEBUG, "minute %s written in %.1f ms (encode %.1f ms)%s", iso,
			     (double)us / 1000.0, (double)encode_us / 1000.0,
			     from_spool ? " (from the spool)" : "");
		}

		pthread_mutex_lock(&w->lock);
		if (rc == 0 && us > w->write_max_us)
			w->write_max_us = us;
		if (rc == 0)
			note_skipped(w, ru);
		if (from_spool) {
			if (rc == 0) {
				note_success(w);
				spool_delivered(w);
				w->spool_ru = NULL;
				backoff = w->retry_min_ms;
				if (all_written(w))
					pthread_cond_broadcast(&w->idle);
				pthread_mutex_unlock(&w->lock);
				ds_rollup_free(ru);
				pthread_mutex_lock(&w->lock);
				continue;
			}
			note_failure(w);
			goto backoff;
		}
		dropped = w->in_flight_dropped;
		w->in_flight = NULL;
		w->in_flight_dropped = false;
		if (rc == 0) {
			note_success(w);
			/* Popped only now: a failed minute stays first in line. */
			if (!dropped)
				ring_pop(w);
			backoff = w->retry_min_ms;
		} else {
			note_failure(w);
		}
		/* A slot was freed (by us, or by the submit that dropped the minute). */
		if (rc == 0 || dropped)
			pthread_cond_broadcast(&w->room);
		if (all_written(w))
			pthread_cond_broadcast(&w->idle);
		/* Freeing a busy minute's 65536 entries need not hold up submitters. */
		if (rc == 0 || dropped) {
			pthread_mutex_unlock(&w->lock);
			ds_rollup_free(ru);
			pthread_mutex_lock(&w->lock);
		}
		if (rc == 0)
			continue;
backoff:
		{
			/* Back off; new submissions do not cut the sleep short, free() does. */
			struct timespec until = deadline_after(backoff);

			while (!w->stopping &&
			       pthread_cond_timedwait(&w->work, &w->lock, &until) != ETIMEDOUT)
				;
			backoff = backoff > w->retry_max_ms / 2 ? w->retry_max_ms : backoff * 2;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/*
 * With the lock held and the queue full: move its head to the spool.
 * @return 0 (spooled, or kept in flight for the writer to free), or the
 *         error of ds_spool_put() with the head back in place.
 */
static int
spool_head(struct ds_redis_writer *w)
{
	struct ds_rollup *victim = w->ring[w->head];
	int rc = ds_spool_put(w->spool, victim);

	if (rc < 0) {
		if (!w->spool_refused)
			WLOG(WARNING, "cannot spool minute %" PRId64 " to %s: %s%s", victim->minute,
			     w->spool_dir, rc == -ENOSPC ? "spool full (redis.spool_max_mb)" :
			     strerror(-rc), w->policy == DS_REDIS_QUEUE_DROP_OLDEST ?
			     "; dropping minutes when the queue is full" : "");
		w->spool_refused = true;
		return rc;
	}
	if (!w->spooling) {
		struct ds_spool_stats st;

		ds_spool_stats(w->spool, &st);
		WLOG(NOTICE, "Redis queue full (%" PRIu32 " minutes): spooling the oldest minutes "
		     "to %s (%" PRIu32 " files there now)", w->cap, w->spool_dir, st.files);
		w->spooling = true;
	}
	w->spool_refused = false;
	ring_pop(w);
	/* The writer is busy with it: it frees it when its write returns. */
	if (victim == w->in_flight)
		w->in_flight_dropped = true;
	else
		ds_rollup_free(victim);
	return 0;
}

int
ds_redis_writer_submit(struct ds_redis_writer *w, struct ds_rollup *ru)
{
	struct ds_rollup *victim = NULL;
	uint64_t dropped_total = 0;
	int64_t victim_minute = 0;
	bool dropped = false;

	if (w == NULL || ru == NULL) {
		ds_rollup_free(ru);
		return -EINVAL;
	}
	pthread_mutex_lock(&w->lock);
	if (w->stopping)
		goto shutdown;
	/*
	 * The spool first. When it refuses, the head stays and this minute may
	 * take the one slot more: the submitter learns of the refusal from the
	 * stats (spool_refused) and waits or drops from then on, as its policy says.
	 */
	if (w->count >= w->cap && w->spool != NULL && spool_head(w) < 0 && w->count == w->cap) {
		/* Queued in the spare slot below. */
	} else if (w->count >= w->cap && w->policy == DS_REDIS_QUEUE_DROP_OLDEST) {
		victim = w->ring[w->head];
		victim_minute = victim->minute;
		ring_pop(w);
		/* The writer is busy with it: it frees it when its write returns. */
		if (victim == w->in_flight) {
			w->in_flight_dropped = true;
			victim = NULL;
		}
		dropped = true;
		dropped_total = ++w->dropped;
	} else if (w->count >= w->cap) {
		w->waiters++;
		while (w->count >= w->cap && !w->stopping)
			pthread_cond_wait(&w->room, &w->lock);
		w->waiters--;
		if (w->stopping) {
			/* free() waits for the last waiter to leave before it destroys the lock. */
			pthread_cond_broadcast(&w->room);
			goto shutdown;
		}
	}
	w->ring[(w->head + w->count) % w->slots] = ru;
	w->count++;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);

	/* Log and free outside the lock: the writer thread need not wait for stderr. */
	if (dropped) {
		char iso[32];

		ds_minute_iso(victim_minute, iso, sizeof(iso));
		WLOG(WARNING, "Redis queue full: dropped minute %s (%" PRIu64 " dropped so far)",
		     iso, dropped_total);
		ds_rollup_free(victim);
	}
	return 0;
shutdown:
	pthread_mutex_unlock(&w->lock);
	ds_rollup_free(ru);
	return -ESHUTDOWN;
}

int
ds_redis_writer_drain(struct ds_redis_writer *w, uint32_t timeout_ms)
{
	struct timespec until = deadline_after(timeout_ms);
	int rc = 0;

	if (w == NULL)
		return -EINVAL;
	pthread_mutex_lock(&w->lock);
	while (!all_written(w) && !w->stopping) {
		if (pthread_cond_timedwait(&w->idle, &w->lock, &until) == ETIMEDOUT)
			break;
	}
	if (!all_written(w))
		rc = -ETIMEDOUT;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void
ds_redis_writer_stats(struct ds_redis_writer *w, struct ds_redis_writer_stats *st)
{
	if (w == NULL || st == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	st->written = w->written;
	st->dropped = w->dropped;
	st->failures = w->failures;
	st->rollup_skipped = w->rollup_skipped;
	st->write_max_us = w->write_max_us;
	st->queued = w->count;
	st->connected = w->connected;
	st->spool = w->spool != NULL;
	st->spool_refused = w->spool_refused;
	st->spool_written = w->spool_written;
	if (w->spool != NULL) {
		struct ds_spool_stats ss;

		ds_spool_stats(w->spool, &ss);
		st->spool_files = ss.files;
		st->spool_bytes = ss.bytes;
		st->spooled = ss.spooled;
		st->spool_bad = ss.bad;
	} else {
		st->spool_files = 0;
		st->spool_bytes = 0;
		st->spooled = 0;
		st->spool_bad = 0;
	}
	pthread_mutex_unlock(&w->lock);
}

static int
init_sync(struct ds_redis_writer *w)
{
	pthread_condattr_t attr;
	int rc;

	rc = pthread_condattr_init(&attr);
	if (rc != 0)
		return rc;
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rc == 0)
		rc = pthread_mutex_init(&w->lock, NULL);
	if (rc == 0 && (rc = pthread_cond_init(&w->work, &attr)) != 0)
		pthread_mutex_destroy(&w->lock);
	if (rc == 0 && (rc = pthread_cond_init(&w->room, &attr)) != 0) {
		pthread_cond_destroy(&w->work);
		pthread_mutex_destroy(&w->lock);
	}
	if (rc == 0 && (rc = pthread_cond_init(&w->idle, &attr)) != 0) {
		pthread_cond_destroy(&w->room);
		pthread_cond_destroy(&w->work);
		pthread_mutex_destroy(&w->lock);
	}
	pthread_condattr_destroy(&attr);
	return rc;
}

static void
destroy_sync(struct ds_redis_writer *w)
{
	pthread_cond_destroy(&w->idle);
	pthread_cond_destroy(&w->room);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->lock);
}

struct ds_redis_writer *
ds_redis_writer_create(const struct ds_redis_writer_opts *opts)
{
	struct ds_redis_writer *w = NULL;
	sigset_t all, old;
	int err = ENOMEM;

	if (opts == NULL || opts->queue_len == 0 || opts->retry_min_ms == 0 ||
	    opts->retry_max_ms < opts->retry_min_ms ||
	    (opts->policy != DS_REDIS_QUEUE_DROP_OLDEST && opts->policy != DS_REDIS_QUEUE_WAIT) ||
	    opts->queue_len == UINT32_MAX ||
	    (opts->spool_dir != NULL && opts->spool_dir[0] != '\0' &&
	     (opts->sensor == NULL || opts->spool_max_bytes == 0))) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto fail;
	w->ring = calloc((size_t)opts->queue_len + 1, sizeof(*w->ring));
	if (w->ring == NULL)
		goto fail;
	if (opts->spool_dir != NULL && opts->spool_dir[0] != '\0') {
		struct ds_spool_stats st;

		w->spool_dir = strdup(opts->spool_dir);
		if (w->spool_dir == NULL)
			goto fail;
		/* Bad files found now are logged by spool_bad(), which needs only spool_dir. */
		w->spool = ds_spool_open(&(struct ds_spool_opts){
			.dir = opts->spool_dir,
			.sensor = opts->sensor,
			.max_bytes = opts->spool_max_bytes,
			.on_bad = spool_bad,
			.arg = w,
		});
		if (w->spool == NULL) {
			err = errno;
			goto fail;
		}
		ds_spool_stats(w->spool, &st);
		if (st.files > 0) {
			WLOG(NOTICE, "spool %s: %" PRIu32 " minutes (%" PRIu64 " bytes) of sensor "
			     "%s left by a previous run, written to Redis before new minutes",
			     w->spool_dir, st.files, st.bytes, opts->sensor);
			w->spooling = true;
		}
	}
	w->redis = ds_redis_create(&opts->redis);
	if (w->redis == NULL) {
		err = errno;
		goto fail;
	}
	/* The ring is allocated once: queueing never allocates, even during an outage. */
	w->cap = opts->queue_len;
	w->slots = opts->queue_len + 1;
	w->policy = opts->policy;
	w->retry_min_ms = opts->retry_min_ms;
	w->retry_max_ms = opts->retry_max_ms;
	if (opts->redis.unix_socket != NULL && opts->redis.unix_socket[0] != '\0')
		snprintf(w->endpoint, sizeof(w->endpoint), "unix:%s", opts->redis.unix_socket);
	else
		snprintf(w->endpoint, sizeof(w->endpoint), "%s:%u", opts->redis.host,
			 opts->redis.port);
	err = init_sync(w);
	if (err != 0)
		goto fail;

	/*
	 * The thread inherits the signal mask: block everything so that
	 * SIGINT/SIGTERM reach the control thread, never the writer.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0) {
		destroy_sync(w);
		goto fail;
	}
	return w;
fail:
	if (w != NULL) {
		ds_redis_free(w->redis);
		ds_spool_close(w->spool);
		free(w->spool_dir);
		free(w->ring);
		free(w);
	}
	errno = err;
	return NULL;
}

uint32_t
ds_redis_writer_stop(struct ds_redis_writer *w)
{
	uint32_t left, spooled = 0;

	if (w == NULL)
		return 0;
	pthread_mutex_lock(&w->lock);
	if (w->stopped) {
		pthread_mutex_unlock(&w->lock);
		return 0;
	}
	w->stopping = true;
	pthread_cond_broadcast(&w->work);
	pthread_cond_broadcast(&w->room);
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
	/* A write in progress finishes first: at most the connect and command timeouts. */
	pthread_join(w->thread, NULL);

	/*
	 * Submitters woken by the broadcast above still hold references to the
	 * lock: wait until the last has left before going on.
	 */
	pthread_mutex_lock(&w->lock);
	while (w->waiters > 0)
		pthread_cond_wait(&w->room, &w->lock);
	w->stopped = true;
	left = w->count;
	/* Oldest first, after what the spool holds: the next start writes them in order. */
	while (w->count > 0) {
		struct ds_rollup *ru = w->ring[w->head];

		if (w->spool != NULL && ds_spool_put(w->spool, ru) == 0)
			spooled++;
		ds_rollup_free(ru);
		ring_pop(w);
	}
	/* Read back but not written: its file stays in the spool. */
	ds_rollup_free(w->spool_ru);
	w->spool_ru = NULL;
	w->discarded = left - spooled;
	pthread_mutex_unlock(&w->lock);
	if (spooled > 0 || spool_files(w) > 0)
		WLOG(NOTICE, "Redis writer stopped: %" PRIu32 " minutes in the spool %s for the "
		     "next start (%" PRIu32 " of them from the queue now)", spool_files(w),
		     w->spool_dir, spooled);
	if (left > spooled)
		WLOG(WARNING, "Redis writer stopped: %" PRIu32 " minutes discarded unwritten "
		     "(%" PRIu64 " written, %" PRIu64 " dropped)", left - spooled, w->written,
		     w->dropped);
	return left - spooled;
}

void
ds_redis_writer_free(struct ds_redis_writer *w)
{
	if (w == NULL)
		return;
	ds_redis_writer_stop(w);
	destroy_sync(w);
	ds_redis_free(w->redis);
	ds_spool_close(w->spool);
	free(w->spool_dir);
	free(w->ring);
	free(w);
}
