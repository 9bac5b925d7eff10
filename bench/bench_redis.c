/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Redis write benchmark: what the heaviest minute costs the Redis sink.
 *
 * Builds one synthetic minute as heavy as the pipeline benchmark's worst
 * capture makes it (every TCP and UDP port, every SYN window, the AS,
 * fingerprint and layout tables at their default caps, a sampled feed source
 * set and the sources of each dimension's top values), then writes it with
 * ds_redis_write() to the redis-server on the unix socket given as argv[1]
 * (bench_redis.py starts a throw-away one):
 *
 *   first   minute M of a new hour and day: the periods are created
 *   next    minutes M+1.. : each added to an hour and a day that exist,
 *           the case of every minute but the first of an hour
 *   rewrite minute M+1 again: the idempotent path, old values subtracted
 *
 * and prints the milliseconds of each, and the JSON argument's size. The
 * counts of each minute are drawn again, so every next minute changes every
 * value of its periods. Figures, not assertions.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "ds_redis.h"
#include "ds_rollup.h"

#define NEXT_MINUTES 5
/* 2024-04-06 00:00 UTC, in minutes: the first minute of an hour and a day. */
#define MINUTE0 28537920

/* Values per dimension: a minute from bench_pipeline.py's worst capture. */
static const struct {
	enum ds_dim dim;
	uint32_t n;
} shape[] = {
	{ DS_DIM_PROTO, 4 },
	{ DS_DIM_TCP_DST_PORT, 65536 },
	{ DS_DIM_UDP_DST_PORT, 65536 },
	{ DS_DIM_ICMP, 200 },
	{ DS_DIM_TCP_SYN_WINDOW, 65536 },
	{ DS_DIM_TCP_SYN_OPTIONS, 1024 },       /* limits.syn_option_layouts */
	{ DS_DIM_SRC_COUNTRY, 240 },
	{ DS_DIM_SRC_ASN, 16384 },              /* limits.src_asns */
	{ DS_DIM_SRC_HOME, 3 },
	{ DS_DIM_TCP_FINGERPRINT, 4096 },       /* limits.tcp_fingerprints */
	{ DS_DIM_SIGNATURE, 4 },
};

/*
 * The feed's sources in the sample the pair table keeps (2^20 slots, about
 * ten pairs a source), and how many values of each dimension list theirs
 * (redis.hll_values).
 */
#define FEED_SOURCES 65536
#define TOP_VALUES 50

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint32_t
value_of(enum ds_dim d, uint32_t i)
{
	switch (d) {
	case DS_DIM_PROTO:
		return (uint32_t[]){ 6, 17, 1, 58 }[i];
	case DS_DIM_ICMP:
		return (i / 16) << 8 | (i % 16);
	case DS_DIM_SRC_ASN:
		return 1 + i * 4;
	case DS_DIM_SRC_COUNTRY:
		return i * 2;
	default:
		return i;       /* ports, windows, indexes into the names */
	}
}

static uint32_t *
sources(uint32_t n)
{
	uint32_t *s = malloc((n ? n : 1) * sizeof(*s));

	if (s == NULL) {
		fprintf(stderr, "bench_redis: out of memory\n");
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++)
		s[i] = (uint32_t)rng();
	return s;
}

static struct ds_rollup *
heavy_minute(int64_t minute)
{
	static const char *feeds[] = { "darknet" };
	struct ds_rollup *ru = ds_rollup_create("bench", minute, 1, feeds);
	struct ds_rollup_feed *f;
	char label[64];

	if (ru == NULL)
		return NULL;
	f = &ru->feeds[0];
	for (uint32_t i = 0; i < 1024; i++) {
		snprintf(label, sizeof(label), "MSS,NOP,WS,SACK,TS,%" PRIu32, i);
		if (ds_rollup_layout_add(ru, label) < 0)
			goto fail;
	}
	for (uint32_t i = 0; i < 4096; i++) {
		snprintf(label, sizeof(label), "64:%" PRIu32 ":1460:7:MSS,NOP,WS", i);
		if (ds_rollup_name_add(ru, DS_DIM_TCP_FINGERPRINT, label) < 0)
			goto fail;
	}
	for (uint32_t i = 0; i < 4; i++) {
		snprintf(label, sizeof(label), "sig%" PRIu32, i);
		if (ds_rollup_name_add(ru, DS_DIM_SIGNATURE, label) < 0)
			goto fail;
	}
	for (size_t k = 0; k < sizeof(shape) / sizeof(shape[0]); k++) {
		struct ds_rollup_dim *dim = &f->dims[shape[k].dim];

		if (ds_rollup_dim_resize(dim, shape[k].n) < 0)
			goto fail;
		for (uint32_t i = 0; i < shape[k].n; i++) {
			struct ds_rollup_entry *e = &dim->entries[i];
			uint64_t share = FEED_SOURCES / shape[k].n;

			/* The feed's sources spread over the values, 1-8 packets each. */
			e->value = value_of(shape[k].dim, i);
			e->sources = 1 + share / 2 + (share ? rng() % share : 0);
			e->packets = e->sources * (1 + rng() % 8);
			e->bytes = shape[k].dim == DS_DIM_PROTO ? e->packets * 60 : 0;
			f->packets += shape[k].dim == DS_DIM_PROTO ? e->packets : 0;
		}
		ds_rollup_dim_sort(dim);
	}
	f->bytes = f->packets * 60;
	f->sources = FEED_SOURCES;
	if (ds_rollup_srcset_add(ru, 0, DS_SRCSET_FEED, 0, sources(FEED_SOURCES),
				 FEED_SOURCES) < 0)
		goto fail;
	for (size_t k = 0; k < sizeof(shape) / sizeof(shape[0]); k++) {
		const struct ds_rollup_dim *dim = &f->dims[shape[k].dim];

		for (uint32_t i = 0; i < dim->n && i < TOP_VALUES; i++) {
			const struct ds_rollup_entry *e = &dim->entries[i];
			uint32_t n = e->sources < FEED_SOURCES ? (uint32_t)e->sources : FEED_SOURCES;

			if (ds_rollup_srcset_add(ru, 0, shape[k].dim, e->value, sources(n), n) < 0)
				goto fail;
		}
	}
	if (ds_rollup_counter_add(ru, "outside", 12345) < 0)
		goto fail;
	return ru;
fail:
	ds_rollup_free(ru);
	return NULL;
}

/* One write, in ms; exits on failure (a benchmark of a failing sink is no figure). */
static double
timed_write(struct ds_redis *r, int64_t minute)
{
	struct ds_rollup *ru = heavy_minute(minute);
	double t0, t1;

	if (ru == NULL) {
		fprintf(stderr, "bench_redis: out of memory\n");
		exit(1);
	}
	t0 = now_ms();
	if (ds_redis_write(r, ru) < 0) {
		fprintf(stderr, "bench_redis: %s\n", ds_redis_errstr(r));
		exit(1);
	}
	t1 = now_ms();
	ds_rollup_free(ru);
	return t1 - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct ds_redis_opts o = {
		.key_prefix = "ds",
		.retention_s = 3600,
		.hour_retention_s = 86400,
		.day_retention_s = 86400 * 100,
		.hll_values = TOP_VALUES,
		.command_timeout_ms = 60000,
	};
	double next[NEXT_MINUTES], first, rewrite, heaviest;
	uint64_t values = 0;
	struct ds_redis *r;

	if (argc != 2) {
		fprintf(stderr, "usage: bench_redis UNIX_SOCKET (bench_redis.py starts a server)\n");
		return 2;
	}
	o.unix_socket = argv[1];
	r = ds_redis_create(&o);
	if (r == NULL) {
		perror("bench_redis: ds_redis_create");
		return 1;
	}
	for (size_t k = 0; k < sizeof(shape) / sizeof(shape[0]); k++)
		values += shape[k].n;
	printf("heavy minute: %" PRIu64 " values, %u feed sources, the sources of %u top values"
	       " per dimension\n", values, FEED_SOURCES, TOP_VALUES);
	first = timed_write(r, MINUTE0);
	for (int i = 0; i < NEXT_MINUTES; i++)
		next[i] = timed_write(r, MINUTE0 + 1 + i);
	rewrite = timed_write(r, MINUTE0 + 1);
	qsort(next, NEXT_MINUTES, sizeof(next[0]), cmp_double);
	printf("first minute of the hour and day: %.1f ms\n", first);
	printf("next minutes (%d): median %.1f ms, min %.1f, max %.1f\n", NEXT_MINUTES,
	       next[NEXT_MINUTES / 2], next[0], next[NEXT_MINUTES - 1]);
	printf("rewrite of a minute: %.1f ms\n", rewrite);
	heaviest = first > next[NEXT_MINUTES - 1] ? first : next[NEXT_MINUTES - 1];
	heaviest = rewrite > heaviest ? rewrite : heaviest;
	printf("heaviest write: %.2f %% of the minute\n", heaviest / 600.0);
	ds_redis_free(r);
	return 0;
}
