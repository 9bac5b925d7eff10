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
 * Logging is for operators watching an outage: one line when Redis goes
 * away (not one per retry), one when it is back with how long it took and
 * how much is queued, one per dropped minute with the running total, and one
 * at shutdown if minutes had to be discarded.
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

	struct ds_rollup **ring;    /* FIFO of cap slots, count of them used from head */
	uint32_t cap;
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
	w->head = (w->head + 1) % w->cap;
	w->count--;
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

static void *
writer_main(void *arg)
{
	struct ds_redis_writer *w = arg;
	uint32_t backoff = w->retry_min_ms;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct ds_rollup *ru;
		struct timespec t0, t1;
		uint64_t us;
		bool dropped;
		int rc;

		/* Idle until a minute arrives; a stop request wins over queued minutes. */
		while (!w->stopping && w->count == 0)
			pthread_cond_wait(&w->work, &w->lock);
		if (w->stopping)
			break;
		ru = w->ring[w->head];
		w->in_flight = ru;
		w->in_flight_dropped = false;
		pthread_mutex_unlock(&w->lock);

		/* The rollup stays in the ring (and owned by it) while it is written. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = ds_redis_write(w->redis, ru);
		clock_gettime(CLOCK_MONOTONIC, &t1);

		pthread_mutex_lock(&w->lock);
		us = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000 +
		     (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000);
		if (rc == 0 && us > w->write_max_us)
			w->write_max_us = us;
		if (rc == 0)
			note_skipped(w, ru);
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
		if (w->count == 0)
			pthread_cond_broadcast(&w->idle);
		/* Freeing a busy minute's 65536 entries need not hold up submitters. */
		if (rc == 0 || dropped) {
			pthread_mutex_unlock(&w->lock);
			ds_rollup_free(ru);
			pthread_mutex_lock(&w->lock);
		}
		if (rc == 0)
			continue;

		/* Back off; new submissions do not cut the sleep short, free() does. */
		struct timespec until = deadline_after(backoff);

		while (!w->stopping &&
		       pthread_cond_timedwait(&w->work, &w->lock, &until) != ETIMEDOUT)
			;
		backoff = backoff > w->retry_max_ms / 2 ? w->retry_max_ms : backoff * 2;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
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
	if (w->count == w->cap && w->policy == DS_REDIS_QUEUE_DROP_OLDEST) {
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
	} else if (w->count == w->cap) {
		w->waiters++;
		while (w->count == w->cap && !w->stopping)
			pthread_cond_wait(&w->room, &w->lock);
		w->waiters--;
		if (w->stopping) {
			/* free() waits for the last waiter to leave before it destroys the lock. */
			pthread_cond_broadcast(&w->room);
			goto shutdown;
		}
	}
	w->ring[(w->head + w->count) % w->cap] = ru;
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
	while ((w->count > 0 || w->in_flight != NULL) && !w->stopping) {
		if (pthread_cond_timedwait(&w->idle, &w->lock, &until) == ETIMEDOUT)
			break;
	}
	if (w->count > 0 || w->in_flight != NULL)
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
	    (opts->policy != DS_REDIS_QUEUE_DROP_OLDEST && opts->policy != DS_REDIS_QUEUE_WAIT)) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto fail;
	w->ring = calloc(opts->queue_len, sizeof(*w->ring));
	if (w->ring == NULL)
		goto fail;
	w->redis = ds_redis_create(&opts->redis);
	if (w->redis == NULL) {
		err = errno;
		goto fail;
	}
	/* The ring is allocated once: queueing never allocates, even during an outage. */
	w->cap = opts->queue_len;
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
		free(w->ring);
		free(w);
	}
	errno = err;
	return NULL;
}

void
ds_redis_writer_free(struct ds_redis_writer *w)
{
	uint32_t left;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->work);
	pthread_cond_broadcast(&w->room);
	pthread_cond_broadcast(&w->idle);
	pthread_mutex_unlock(&w->lock);
	/* A write in progress finishes first: at most the connect and command timeouts. */
	pthread_join(w->thread, NULL);

	/*
	 * Submitters woken by the broadcast above still hold references to the
	 * lock: wait until the last has left before destroying it.
	 */
	pthread_mutex_lock(&w->lock);
	while (w->waiters > 0)
		pthread_cond_wait(&w->room, &w->lock);
	left = w->count;
	while (w->count > 0) {
		ds_rollup_free(w->ring[w->head]);
		ring_pop(w);
	}
	pthread_mutex_unlock(&w->lock);
	if (left > 0)
		WLOG(WARNING, "Redis writer stopped: %" PRIu32 " minutes discarded unwritten "
		     "(%" PRIu64 " written, %" PRIu64 " dropped)", left, w->written, w->dropped);
	destroy_sync(w);
	ds_redis_free(w->redis);
	free(w->ring);
	free(w);
}
