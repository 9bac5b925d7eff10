/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Tests of the per-worker minute buffers and their merge (lib/hist).
 *
 * The reference is deliberately naive: every packet's (feed, dimension,
 * value, source) tuples are appended to an array, sorted and counted. It
 * shares nothing with the hash tables under test, so a merge that loses,
 * doubles or mislabels anything disagrees with it.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/resource.h>
#include <unistd.h>

#include "ds_hist.h"

static int failures;

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			failures++;                                                        \
			printf("  FAIL %s:%d: ", __FILE__, __LINE__);                      \
			printf(__VA_ARGS__);                                               \
			printf("\n");                                                      \
		}                                                                          \
	} while (0)

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static struct ds_hist_limits
limits(uint32_t feeds, uint32_t pairs, uint32_t layouts)
{
	return (struct ds_hist_limits){feeds, pairs, layouts, 64, 256, 0};
}

/* A decoded TCP packet, as ds_decode() would produce it. */
static struct ds_pkt
tcp(uint32_t src, uint32_t dst, uint16_t dport, uint8_t flags, uint16_t win,
    const uint8_t *kinds, uint8_t n_opts)
{
	struct ds_pkt p;

	memset(&p, 0, sizeof(p));
	p.ip_version = 4;
	p.proto = 6;
	p.flags = DS_PKT_F_L4;
	p.src4 = src;
	p.dst4 = dst;
	p.sport = 40000;
	p.dport = dport;
	p.tcp_flags = flags;
	p.window = win;
	p.n_opts = n_opts;
	/* memcpy() from NULL is undefined even for 0 bytes (UBSan says so). */
	if (n_opts > 0)
		memcpy(p.opt_kinds, kinds, n_opts);
	return p;
}

static struct ds_pkt
udp(uint32_t src, uint16_t dport)
{
	struct ds_pkt p = tcp(src, 1, 0, 0, 0, NULL, 0);

	p.proto = 17;
	p.dport = dport;
	return p;
}

static struct ds_pkt
icmp(uint32_t src, uint8_t type, uint8_t code, bool v6)
{
	struct ds_pkt p = tcp(src, 1, 0, 0, 0, NULL, 0);

	p.proto = v6 ? 58 : 1;
	p.ip_version = v6 ? 6 : 4;
	p.icmp_type = type;
	p.icmp_code = code;
	if (v6) {
		p.src6[0] = 0x20;
		p.src6[15] = (uint8_t)src;
		p.src6[14] = (uint8_t)(src >> 8);
	}
	return p;
}

static const struct ds_rollup_entry *
find(const struct ds_rollup *r, uint32_t feed, enum ds_dim d, uint32_t value)
{
	const struct ds_rollup_dim *dim = &r->feeds[feed].dims[d];

	for (uint32_t i = 0; i < dim->n; i++)
		if (dim->entries[i].value == value)
			return &dim->entries[i];
	return NULL;
}

static const char *feed_names[] = {"a", "b", "c", "d"};
static const char *port_names[] = {"p0", "p1"};
static const struct ds_merge_names names = {"s1", feed_names, port_names, 2, NULL, 0};

static void
test_bad_arguments(void)
{
	struct ds_hist_limits bad[] = {
		limits(0, 1024, 16),            /* no feed */
		limits(65, 1024, 16),           /* too many feeds */
		limits(1, 1000, 16),            /* not a power of two */
		limits(1, 512, 16),             /* too small */
		limits(1, 1024, 0),             /* no layouts */
		limits(1, 1024, 65536),         /* too many layouts */
		{1, 1024, 16, 0, 256, 0},       /* no AS */
		{1, 1024, 16, 1 << 20, 256, 0}, /* too many ASes for the pair key */
		{1, 1024, 16, 64, 0, 0},        /* no fingerprint */
		{1, 1024, 16, 64, 65536, 0},    /* too many fingerprints */
	};

	printf("bad arguments\n");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		CHECK(ds_minbuf_create(&bad[i]) == NULL && errno == EINVAL, "minbuf case %zu", i);
		errno = 0;
		CHECK(ds_merge_create(&bad[i]) == NULL && errno == EINVAL, "merge case %zu", i);
		CHECK(ds_minbuf_mem_size(&bad[i]) == 0, "mem size case %zu", i);
	}
	CHECK(ds_minbuf_create(NULL) == NULL, "NULL limits");
	ds_minbuf_free(NULL);
	ds_merge_free(NULL);
}

static void
test_one_worker_exact(void)
{
	struct ds_hist_limits lim = limits(2, 1024, 16);
	struct ds_minbuf *b = ds_minbuf_create(&lim);
	struct ds_merge *m = ds_merge_create(&lim);
	static const uint8_t linux_opts[] = {2, 4, 8, 1, 3};
	static const uint8_t win_opts[] = {2, 1, 3, 1, 1, 4};
	struct ds_pkt p;
	struct ds_rollup *r;
	const struct ds_rollup_entry *e;
	char label[64];

	printf("one worker, exact counts\n");
	ds_minbuf_reset(b, 100);
	/* Three SYNs to 23 from two sources, one SYN-ACK to 23 (not a SYN). */
	p = tcp(0x01020304, 9, 23, DS_TCP_SYN, 5656, NULL, 0);
	ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
	ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
	p = tcp(0x01020305, 9, 23, DS_TCP_SYN, 5656, linux_opts, 5);
	ds_minbuf_count(b, 0, &p, 74, NULL, 0, 0);
	p = tcp(0x01020306, 9, 23, DS_TCP_SYN | DS_TCP_ACK, 1000, win_opts, 6);
	ds_minbuf_count(b, 0, &p, 66, NULL, 0, 0);
	p = udp(0x01020304, 53);
	ds_minbuf_count(b, 0, &p, 80, NULL, 0, 0);
	p = icmp(0x0a000001, 8, 0, false);
	ds_minbuf_count(b, 0, &p, 98, NULL, 0, 0);
	p = icmp(0x0a000001, 128, 0, true);
	ds_minbuf_count(b, 0, &p, 118, NULL, 0, 0);
	/* A later fragment: counted by protocol only. */
	p = tcp(0x01020307, 9, 80, DS_TCP_SYN, 1, NULL, 0);
	p.flags = DS_PKT_F_FRAG | DS_PKT_F_FRAG_LATER;
	ds_minbuf_count(b, 0, &p, 1500, NULL, 0, 0);
	/* Feed 1 sees one packet. */
	p = tcp(0x01020304, 9, 22, DS_TCP_SYN, 1024, win_opts, 6);
	ds_minbuf_count(b, 1, &p, 60, NULL, 0, 0);
	b->ctr.rx_packets = 10;
	b->ctr.outside[1] = 1;
	b->ctr.malformed[DS_DECODE_TCP_DOFF] = 2;

	r = ds_merge_minute(m, &b, 1, &names, 100);
	CHECK(r != NULL, "merge failed");
	if (r == NULL)
		goto out;
	CHECK(r->minute == 100 && strcmp(r->sensor, "s1") == 0 && r->n_feeds == 2, "header");
	CHECK(r->sources_sampling == 0, "sampling %u", r->sources_sampling);
	CHECK(r->feeds[0].packets == 8, "feed a packets %" PRIu64, r->feeds[0].packets);
	CHECK(r->feeds[0].bytes == 60 + 60 + 74 + 66 + 80 + 98 + 118 + 1500, "bytes %" PRIu64,
	      r->feeds[0].bytes);
	/* Sources: .4, .5, .6, 10.0.0.1, the IPv6 one, .7 */
	CHECK(r->feeds[0].sources == 6, "feed a sources %" PRIu64, r->feeds[0].sources);
	CHECK(r->feeds[1].packets == 1 && r->feeds[1].sources == 1, "feed b");

	e = find(r, 0, DS_DIM_TCP_DST_PORT, 23);
	CHECK(e != NULL && e->packets == 4 && e->sources == 3, "port 23");
	CHECK(find(r, 0, DS_DIM_TCP_DST_PORT, 80) == NULL, "later fragment has no port");
	CHECK(r->feeds[0].dims[DS_DIM_TCP_DST_PORT].n == 1, "tcp ports n");
	e = find(r, 0, DS_DIM_PROTO, 6);
	CHECK(e != NULL && e->packets == 5 && e->bytes == 60 + 60 + 74 + 66 + 1500 &&
	      e->sources == 4, "proto 6");
	e = find(r, 0, DS_DIM_UDP_DST_PORT, 53);
	CHECK(e != NULL && e->packets == 1 && e->sources == 1, "udp 53");
	e = find(r, 0, DS_DIM_ICMP, 8 << 8);
	CHECK(e != NULL && e->packets == 1, "icmp 8/0");
	e = find(r, 0, DS_DIM_ICMP6, 128 << 8);
	CHECK(e != NULL && e->packets == 1, "icmp6 128/0");
	ds_rollup_label(r, DS_DIM_ICMP, 8 << 8, label, sizeof(label));
	CHECK(strcmp(label, "8/0") == 0, "icmp label %s", label);
	/* SYN window and options: the SYN-ACK is not a SYN. */
	e = find(r, 0, DS_DIM_TCP_SYN_WINDOW, 5656);
	CHECK(e != NULL && e->packets == 3 && e->sources == 2, "window 5656");
	CHECK(find(r, 0, DS_DIM_TCP_SYN_WINDOW, 1000) == NULL, "SYN-ACK window not counted");
	CHECK(r->feeds[0].dims[DS_DIM_TCP_SYN_OPTIONS].n == 2, "two layouts in feed a");
	for (uint32_t i = 0; i < r->feeds[0].dims[DS_DIM_TCP_SYN_OPTIONS].n; i++) {
		e = &r->feeds[0].dims[DS_DIM_TCP_SYN_OPTIONS].entries[i];
		ds_rollup_label(r, DS_DIM_TCP_SYN_OPTIONS, e->value, label, sizeof(label));
		if (strcmp(label, "none") == 0)
			CHECK(e->packets == 2 && e->sources == 1, "none layout");
		else
			CHECK(strcmp(label, "MSS,SACK,TS,NOP,WS") == 0 && e->packets == 1,
			      "linux layout %s", label);
	}
	e = &r->feeds[1].dims[DS_DIM_TCP_SYN_OPTIONS].entries[0];
	ds_rollup_label(r, DS_DIM_TCP_SYN_OPTIONS, e->value, label, sizeof(label));
	CHECK(strcmp(label, "MSS,NOP,WS,NOP,NOP,SACK") == 0, "windows layout %s", label);
	/* Sorted by packets. */
	CHECK(r->feeds[0].dims[DS_DIM_PROTO].entries[0].value == 6, "proto order");
	CHECK(ds_rollup_counter_get(r, "rx_packets") == 10, "rx_packets");
	CHECK(ds_rollup_counter_get(r, "outside") == 1, "outside");
	CHECK(ds_rollup_counter_get(r, "port.p1.outside") == 1, "port p1 outside");
	CHECK(ds_rollup_counter_get(r, "malformed") == 2, "malformed");
	CHECK(ds_rollup_counter_get(r, "malformed.tcp_doff") == 2, "malformed.tcp_doff");
	ds_rollup_free(r);
out:
	ds_merge_free(m);
	ds_minbuf_free(b);
}

/* Reference tuples: (feed, dim + 1, value, source); dim + 1 == 0 is the feed total. */
struct tuple {
	uint32_t feed, dim, value, src;
};

static int
tuple_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct tuple));
}

static void
test_merge_equals_reference(uint32_t n_workers, uint32_t n_packets, uint32_t n_sources)
{
	struct ds_hist_limits lim = limits(3, 1 << 20, 64);
	struct ds_minbuf *b[8];
	struct ds_merge *m = ds_merge_create(&lim);
	struct tuple *t = malloc(sizeof(*t) * n_packets * 3);
	uint64_t pkts[3][65536] = {{0}}, feed_pkts[3] = {0};
	size_t nt = 0, mismatches = 0;
	struct ds_rollup *r;

	printf("%u workers, %u packets, %u sources: merge == reference\n", n_workers, n_packets,
	       n_sources);
	for (uint32_t w = 0; w < n_workers; w++) {
		b[w] = ds_minbuf_create(&lim);
		ds_minbuf_reset(b[w], 7);
	}
	for (uint32_t i = 0; i < n_packets; i++) {
		/* Sources hit every worker, as RSS on destinations would make them. */
		uint32_t src = 0x0b000000 + (uint32_t)(rnd() % n_sources);
		uint32_t feed = (uint32_t)(rnd() % 3);
		uint16_t port = (uint16_t)(rnd() % 3 ? rnd() % 40 : rnd());
		struct ds_pkt p = tcp(src, 1, port, DS_TCP_SYN | DS_TCP_ACK, 1, NULL, 0);

		ds_minbuf_count(b[rnd() % n_workers], feed, &p, 60, NULL, 0, 0);
		pkts[feed][port]++;
		feed_pkts[feed]++;
		t[nt++] = (struct tuple){feed, 0, 0, src};
		t[nt++] = (struct tuple){feed, DS_DIM_TCP_DST_PORT + 1, port, src};
	}
	qsort(t, nt, sizeof(*t), tuple_cmp);

	r = ds_merge_minute(m, b, n_workers, &names, 7);
	CHECK(r != NULL && r->sources_sampling == 0, "merge");
	if (r == NULL)
		goto out;
	for (uint32_t f = 0; f < 3; f++) {
		uint64_t srcs = 0;
		const struct ds_rollup_dim *d = &r->feeds[f].dims[DS_DIM_TCP_DST_PORT];
		uint64_t listed = 0;

		for (size_t i = 0; i < nt; i++)
			if (t[i].feed == f && t[i].dim == 0 &&
			    (i == 0 || tuple_cmp(&t[i], &t[i - 1]) != 0))
				srcs++;
		CHECK(r->feeds[f].packets == feed_pkts[f], "feed %u packets %" PRIu64 " != %" PRIu64,
		      f, r->feeds[f].packets, feed_pkts[f]);
		CHECK(r->feeds[f].sources == srcs, "feed %u sources %" PRIu64 " != %" PRIu64, f,
		      r->feeds[f].sources, srcs);
		for (uint32_t i = 0; i < d->n; i++) {
			const struct ds_rollup_entry *e = &d->entries[i];
			uint64_t s = 0;

			listed += e->packets;
			for (size_t k = 0; k < nt; k++)
				if (t[k].feed == f && t[k].dim == DS_DIM_TCP_DST_PORT + 1 &&
				    t[k].value == e->value &&
				    (k == 0 || tuple_cmp(&t[k], &t[k - 1]) != 0))
					s++;
			if (e->packets != pkts[f][e->value] || e->sources != s)
				mismatches++;
			if (i > 0)
				CHECK(d->entries[i - 1].packets >= e->packets, "sorted");
		}
		CHECK(listed == feed_pkts[f], "feed %u: ports list all packets", f);
	}
	CHECK(mismatches == 0, "%zu port entries differ from the reference", mismatches);
	ds_rollup_free(r);
out:
	for (uint32_t w = 0; w < n_workers; w++)
		ds_minbuf_free(b[w]);
	ds_merge_free(m);
	free(t);
}

static void
test_layout_bound(void)
{
	struct ds_hist_limits lim = limits(1, 1024, 4);
	struct ds_minbuf *b[2] = {ds_minbuf_create(&lim), ds_minbuf_create(&lim)};
	struct ds_merge *m = ds_merge_create(&lim);
	struct ds_rollup *r;
	const struct ds_rollup_entry *other;
	uint64_t listed = 0;

	printf("SYN option layouts beyond the bound go to `other`\n");
	ds_minbuf_reset(b[0], 1);
	ds_minbuf_reset(b[1], 1);
	/* Worker 0 sees layouts 0..9, worker 1 layouts 5..14: 15 distinct, bound 4. */
	for (int w = 0; w < 2; w++) {
		for (uint8_t k = 0; k < 10; k++) {
			uint8_t kinds[2] = {2, (uint8_t)(30 + k + 5 * w)};
			struct ds_pkt p = tcp(0x0c000000u + k, 1, 23, DS_TCP_SYN, 1, kinds, 2);

			ds_minbuf_count(b[w], 0, &p, 60, NULL, 0, 0);
		}
	}
	CHECK(b[0]->layouts.n == 4, "worker dictionary holds %u", b[0]->layouts.n);
	r = ds_merge_minute(m, b, 2, &names, 1);
	CHECK(r != NULL, "merge");
	if (r != NULL) {
		const struct ds_rollup_dim *d = &r->feeds[0].dims[DS_DIM_TCP_SYN_OPTIONS];

		CHECK(d->n == 5, "4 layouts + other, got %u", d->n);
		CHECK(r->names[DS_DIM_TCP_SYN_OPTIONS].n == 4, "rollup layouts %u",
		      r->names[DS_DIM_TCP_SYN_OPTIONS].n);
		other = find(r, 0, DS_DIM_TCP_SYN_OPTIONS, DS_ROLLUP_OTHER);
		CHECK(other != NULL && other->packets == 20 - 4, "other holds the rest");
		for (uint32_t i = 0; i < d->n; i++)
			listed += d->entries[i].packets;
		CHECK(listed == 20, "no SYN lost: %" PRIu64, listed);
		ds_rollup_free(r);
	}
	ds_minbuf_free(b[0]);
	ds_minbuf_free(b[1]);
	ds_merge_free(m);
}

static void
test_sampling(void)
{
	struct ds_hist_limits lim = limits(1, 16384, 16);
	struct ds_minbuf *b[2] = {ds_minbuf_create(&lim), ds_minbuf_create(&lim)};
	struct ds_merge *m = ds_merge_create(&lim);
	const uint32_t n = 200000;
	struct ds_rollup *r;
	double ratio;

	printf("pair table overflow: sampled, bounded, estimated\n");
	ds_minbuf_reset(b[0], 1);
	ds_minbuf_reset(b[1], 1);
	/* 200000 distinct sources (1M pairs), each seen by both workers, into 16384 slots. */
	for (uint32_t i = 0; i < n; i++) {
		struct ds_pkt p = tcp(0x10000000u + i * 7919u, 1, 23, DS_TCP_SYN, 1, NULL, 0);

		ds_minbuf_count(b[0], 0, &p, 60, NULL, 0, 0);
		ds_minbuf_count(b[1], 0, &p, 60, NULL, 0, 0);
	}
	ds_minbuf_seal(b[0]);
	CHECK(b[0]->pairs.n < b[0]->pairs.load_n && !b[0]->pairs.sweeping, "bounded: %u pairs",
	      b[0]->pairs.n);
	CHECK(b[0]->pairs.level > 0, "sampling level %u", b[0]->pairs.level);
	r = ds_merge_minute(m, b, 2, &names, 1);
	CHECK(r != NULL, "merge");
	if (r != NULL) {
		ratio = (double)r->feeds[0].sources / n;
		printf("  level %u, estimate %" PRIu64 " of %u (%.3f)\n", r->sources_sampling,
		       r->feeds[0].sources, n, ratio);
		CHECK(r->sources_sampling > 0, "rollup marks sampling");
		/*
		 * A fifth of the kept pairs are (feed, source) pairs: about 2000,
		 * a relative standard error near 2.5 %, so 25 % is ten sigma.
		 */
		CHECK(ratio > 0.75 && ratio < 1.25, "estimate ratio %.3f", ratio);
		CHECK(r->feeds[0].packets == 2 * n, "packets stay exact");
		ds_rollup_free(r);
	}
	/* Reset restores exact counting. */
	ds_minbuf_reset(b[0], 2);
	for (uint32_t i = 0; i < 100; i++) {
		struct ds_pkt p = tcp(0x20000000u + i, 1, 23, DS_TCP_SYN, 1, NULL, 0);

		ds_minbuf_count(b[0], 0, &p, 60, NULL, 0, 0);
	}
	r = ds_merge_minute(m, b, 1, &names, 2);
	CHECK(r != NULL && r->sources_sampling == 0 && r->feeds[0].sources == 100 &&
	      r->feeds[0].packets == 100, "exact again after reset");
	ds_rollup_free(r);
	ds_minbuf_free(b[0]);
	ds_minbuf_free(b[1]);
	ds_merge_free(m);
}

/* Minor page faults of this process so far. */
static long
minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Read one byte of every page, and the last; not instrumented, so ASan's shadow stays out. */
__attribute__((no_sanitize_address)) static uint64_t
read_pages(const uint8_t *p, size_t len)
{
	uint64_t sum = 0;

	for (size_t off = 0; off < len; off += 4096)
		sum += ((const volatile uint8_t *)p)[off];
	return sum + ((const volatile uint8_t *)p)[len - 1];
}

/*
 * A new buffer is mapped whole: its pages were written at create, so the
 * worker takes no page fault (nor a transparent huge page's zeroing) in its
 * first minute. Without that, reading its 10.6 MiB faulted 665 pages in.
 * It is one 2 MiB-aligned mapping of whole 2 MiB pages, so that with
 * transparent huge pages none of its random accesses misses the TLB.
 */
static void
test_resident(void)
{
	/* The default limits (ds_config.c), one feed. */
	struct ds_hist_limits lim = {1, 1u << 20, 1024, 16384, 4096, 0};
	struct ds_minbuf *b = ds_minbuf_create(&lim);
	long before;
	uint64_t sum;

	printf("a new buffer is mapped whole\n");
	CHECK(b != NULL, "create");
	if (b == NULL)
		return;
	before = minor_faults();
	sum = read_pages(b->mem, b->mem_size);
	CHECK(minor_faults() - before == 0 && sum == 0, "%ld page faults reading %zu bytes",
	      minor_faults() - before, b->mem_size);
	/* Every page can be a transparent huge page: aligned, whole 2 MiB pages. */
	CHECK((uintptr_t)b->mem % (2u << 20) == 0 && b->mem_size % (2u << 20) == 0 &&
		      b->mem_size >= b->used_size && b->mem_size - b->used_size < (2u << 20) &&
		      b->used_size == ds_minbuf_mem_size(&lim),
	      "mapping %p + %zu bytes for %zu used", b->mem, b->mem_size, b->used_size);
	ds_minbuf_free(b);
}

/* Resident memory of the process, in KiB (/proc/self/statm). */
static long
resident_kib(void)
{
	long size = 0, resident = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * The merge's two big tables are ready at create: the accumulator with room
 * for every TCP port and SYN window of a feed, the union of pair keys for
 * one worker's pair table, both written whole there. So a first merge of
 * 131 000 values (every port, every window) and 393 216 pairs adds no more
 * resident memory than its rollup takes (about 6 MiB); grown in the merge
 * instead, the tables were 28 MiB and 8 MiB of fresh memory
 * (docs/PERFORMANCE.md). Page faults would not show it where transparent
 * huge pages are on: one fault then maps 2 MiB.
 */
static void
test_merge_prepared(void)
{
	struct ds_hist_limits lim = limits(1, 1u << 20, 16);
	struct ds_minbuf *b = ds_minbuf_create(&lim);
	struct ds_merge *m = ds_merge_create(&lim);
	struct ds_rollup *r = NULL;
	long before, grew;

	printf("the merge's tables are ready at create\n");
	CHECK(b != NULL && m != NULL, "create");
	if (b == NULL || m == NULL)
		goto out;
	ds_minbuf_reset(b, 3);
	for (uint32_t i = 0; i < 65536; i++) {
		struct ds_pkt p = tcp(0x0a000000u + i, 1, (uint16_t)i, DS_TCP_SYN, (uint16_t)i,
				      NULL, 0);

		ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
	}
	before = resident_kib();
	r = ds_merge_minute(m, &b, 1, &names, 3);
	grew = resident_kib() - before;
	CHECK(r != NULL && r->feeds[0].packets == 65536 &&
	      r->feeds[0].dims[DS_DIM_TCP_DST_PORT].n == 65536 &&
	      r->feeds[0].dims[DS_DIM_TCP_SYN_WINDOW].n == 65536, "every port and window counted");
	printf("  resident memory grew by %ld KiB in the first merge (%u pairs)\n", grew,
	       b->pairs.n);
	CHECK(before > 0 && grew < 10 * 1024, "the first merge grew resident memory by %ld KiB",
	      grew);
out:
	ds_rollup_free(r);
	ds_minbuf_free(b);
	ds_merge_free(m);
}

/*
 * One merge, three minutes: the first has more values than the accumulator
 * holds at create (every TCP and UDP port, SYN window and ICMP type and
 * code: 262 147 values against room for 262 144), so it grows in that
 * merge; the next two have a few values, counted exactly, with nothing of
 * the first left over, as a fresh merge counts them.
 */
static void
test_merge_grows_and_forgets(void)
{
	struct ds_hist_limits lim = limits(1, 1u << 20, 16);
	struct ds_minbuf *b = ds_minbuf_create(&lim);
	struct ds_merge *m = ds_merge_create(&lim), *fresh = ds_merge_create(&lim);
	static const enum ds_dim full[] = {
		DS_DIM_TCP_DST_PORT, DS_DIM_UDP_DST_PORT, DS_DIM_TCP_SYN_WINDOW, DS_DIM_ICMP,
	};

	printf("a merge grows past its start size, then counts small minutes exactly\n");
	CHECK(b != NULL && m != NULL && fresh != NULL, "create");
	if (b == NULL || m == NULL || fresh == NULL)
		goto out;
	for (int round = 0; round < 3; round++) {
		struct ds_rollup *r, *want;

		ds_minbuf_reset(b, 10 + round);
		for (uint32_t i = 0; round == 0 && i < 65536; i++) {
			struct ds_pkt p = tcp(0x0a000000u + i, 1, (uint16_t)i, DS_TCP_SYN,
					      (uint16_t)i, NULL, 0);

			ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
			p = udp(0x0a000000u + i, (uint16_t)i);
			ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
			p = icmp(0x0a000000u + i, (uint8_t)(i >> 8), (uint8_t)i, false);
			ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
		}
		for (uint32_t i = 0; round > 0 && i < 100; i++) {
			struct ds_pkt p = tcp(0x0b000000u + i % (round * 10), 1,
					      (uint16_t)(80 + round), DS_TCP_SYN, 5656, NULL, 0);

			ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
		}
		r = ds_merge_minute(m, &b, 1, &names, 10 + round);
		want = round > 0 ? ds_merge_minute(fresh, &b, 1, &names, 10 + round) : NULL;
		CHECK(r != NULL, "round %d: merge", round);
		if (r == NULL) {
			ds_rollup_free(want);
			continue;
		}
		if (round == 0) {
			for (size_t k = 0; k < sizeof(full) / sizeof(full[0]); k++)
				CHECK(r->feeds[0].dims[full[k]].n == 65536,
				      "round 0: %s has %u values", ds_dim_name(full[k]),
				      r->feeds[0].dims[full[k]].n);
		} else {
			const struct ds_rollup_entry *e =
				find(r, 0, DS_DIM_TCP_DST_PORT, 80 + (uint32_t)round);

			CHECK(e != NULL && e->packets == 100 && e->sources == 10u * round,
			      "round %d: port %d: %" PRIu64 " packets, %" PRIu64 " sources", round,
			      80 + round, e ? e->packets : 0, e ? e->sources : 0);
			for (int d = 0; want != NULL && d < DS_DIM_MAX; d++) {
				const struct ds_rollup_dim *x = &r->feeds[0].dims[d];
				const struct ds_rollup_dim *y = &want->feeds[0].dims[d];
				bool same = x->n == y->n;

				for (uint32_t i = 0; same && i < x->n; i++)
					same = x->entries[i].value == y->entries[i].value &&
					       x->entries[i].packets == y->entries[i].packets &&
					       x->entries[i].bytes == y->entries[i].bytes &&
					       x->entries[i].sources == y->entries[i].sources;
				CHECK(same, "round %d: %s differs from a fresh merge's (%u and %u "
				      "values)", round, ds_dim_name(d), x->n, y->n);
			}
		}
		ds_rollup_free(r);
		ds_rollup_free(want);
	}
out:
	ds_minbuf_free(b);
	ds_merge_free(m);
	ds_merge_free(fresh);
}

static void
test_reset(void)
{
	struct ds_hist_limits lim = limits(1, 4096, 16);
	struct ds_minbuf *b = ds_minbuf_create(&lim);
	struct ds_merge *m = ds_merge_create(&lim);
	struct ds_rollup *r;

	printf("reset leaves nothing behind (both clearing paths)\n");
	for (int round = 0; round < 2; round++) {
		/* Few pairs clear by probing, many by memset. */
		uint32_t n = round == 0 ? 50 : 2500;

		ds_minbuf_reset(b, 1);
		for (uint32_t i = 0; i < n; i++) {
			uint8_t kinds[1] = {(uint8_t)(i % 7)};
			struct ds_pkt p = tcp(0x30000000u + i, 1, (uint16_t)i, DS_TCP_SYN,
					      (uint16_t)i, kinds, 1);

			ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
		}
		ds_minbuf_reset(b, 2);
		r = ds_merge_minute(m, &b, 1, &names, 2);
		CHECK(r != NULL && r->feeds[0].packets == 0 && r->feeds[0].sources == 0,
		      "round %d: empty after reset", round);
		for (int d = 0; r != NULL && d < DS_DIM_MAX; d++)
			CHECK(r->feeds[0].dims[d].n == 0, "round %d: dim %s empty", round,
			      ds_dim_name(d));
		ds_rollup_free(r);
		CHECK(b->pairs.n == 0 && b->layouts.n == 0, "round %d: tables empty", round);
		for (uint32_t i = 0; i <= b->pairs.mask; i++)
			if (b->pairs.slots[i] != 0) {
				CHECK(0, "round %d: slot %u not cleared", round, i);
				break;
			}
	}
	ds_minbuf_free(b);
	ds_merge_free(m);
}

static void
test_geo_dims(void)
{
	struct ds_hist_limits lim = {1, 4096, 16, 4, 256, 0};
	struct ds_minbuf *b[2] = {ds_minbuf_create(&lim), ds_minbuf_create(&lim)};
	struct ds_merge *m = ds_merge_create(&lim);
	struct ds_rollup *r;
	const struct ds_rollup_entry *e;
	uint64_t listed = 0;
	char label[32];

	printf("source country, AS and home: counted, bounded, united across workers\n");
	ds_minbuf_reset(b[0], 1);
	ds_minbuf_reset(b[1], 1);
	/*
	 * Worker 0: ASes 100..105 (6 > bound 4), worker 1: 103..108. Source i
	 * is in AS 100 + i % 9, country JP when the AS is even, else US.
	 */
	for (int w = 0; w < 2; w++) {
		for (uint32_t i = 0; i < 6; i++) {
			uint32_t asn = 100 + 3 * (uint32_t)w + i;
			struct ds_src_geo g = {asn, (uint16_t)ds_cc_index(asn % 2 ? "US" : "JP"),
					       asn % 2 ? DS_HOME_OVERSEAS : DS_HOME_DOMESTIC};
			struct ds_pkt p = tcp(0x40000000u + asn, 1, 23, DS_TCP_SYN, 1, NULL, 0);

			ds_minbuf_count(b[w], 0, &p, 60, &g, 0, 0);
		}
	}
	{
		/* A bogon source, and one without a home country configured. */
		struct ds_src_geo g = {DS_ASN_BOGON, DS_CC_BOGON, DS_HOME_UNKNOWN};
		struct ds_src_geo nohome = {DS_ASN_UNROUTED, DS_CC_UNROUTED, DS_HOME_MAX};
		struct ds_pkt p = tcp(0x0a000001, 1, 23, DS_TCP_SYN, 1, NULL, 0);

		ds_minbuf_count(b[0], 0, &p, 60, &g, 0, 0);
		p.src4 = 0x0b000001;
		ds_minbuf_count(b[0], 0, &p, 60, &nohome, 0, 0);
	}
	CHECK(b[0]->asns.n == 4, "worker dictionary holds %u ASes", b[0]->asns.n);
	r = ds_merge_minute(m, b, 2, &names, 1);
	CHECK(r != NULL, "merge");
	if (r == NULL)
		goto out;
	/* Sources 103..105 were seen by both workers: counted once. */
	CHECK(r->feeds[0].sources == 9 + 2, "sources %" PRIu64, r->feeds[0].sources);
	e = find(r, 0, DS_DIM_SRC_COUNTRY, (uint32_t)ds_cc_index("JP"));
	CHECK(e != NULL && e->packets == 6 && e->sources == 5, "JP: even ASes 100..108");
	e = find(r, 0, DS_DIM_SRC_COUNTRY, (uint32_t)ds_cc_index("US"));
	CHECK(e != NULL && e->packets == 6 && e->sources == 4, "US: odd ASes 101..107");
	e = find(r, 0, DS_DIM_SRC_COUNTRY, DS_CC_BOGON);
	CHECK(e != NULL && e->packets == 1, "bogon country");
	ds_rollup_label(r, DS_DIM_SRC_COUNTRY, DS_CC_UNROUTED, label, sizeof(label));
	CHECK(strcmp(label, "unrouted") == 0, "unrouted label %s", label);
	/* Sinks measure a label first, snprintf-style, with no buffer. */
	CHECK(ds_rollup_label(r, DS_DIM_SRC_COUNTRY, (uint32_t)ds_cc_index("JP"), NULL, 0) == 2 &&
	      ds_rollup_label(r, DS_DIM_SRC_ASN, 4713, NULL, 0) == 4 &&
	      ds_rollup_label(r, DS_DIM_SRC_HOME, DS_HOME_OVERSEAS, NULL, 0) == 8,
	      "label lengths measured without a buffer");
	e = find(r, 0, DS_DIM_SRC_HOME, DS_HOME_DOMESTIC);
	CHECK(e != NULL && e->packets == 6 && e->sources == 5, "domestic");
	e = find(r, 0, DS_DIM_SRC_HOME, DS_HOME_UNKNOWN);
	CHECK(e != NULL && e->packets == 1, "home unknown: the bogon only, not the unset one");
	/* ASes: at most 4 named, the rest `other`; nothing lost. */
	CHECK(r->feeds[0].dims[DS_DIM_SRC_ASN].n == 5, "4 ASes + other: %u",
	      r->feeds[0].dims[DS_DIM_SRC_ASN].n);
	for (uint32_t i = 0; i < r->feeds[0].dims[DS_DIM_SRC_ASN].n; i++)
		listed += r->feeds[0].dims[DS_DIM_SRC_ASN].entries[i].packets;
	CHECK(listed == 14, "AS packets listed %" PRIu64, listed);
	e = find(r, 0, DS_DIM_SRC_ASN, 100);
	CHECK(e != NULL && e->packets == 1 && e->sources == 1, "AS100 named");
	ds_rollup_label(r, DS_DIM_SRC_ASN, DS_ASN_BOGON, label, sizeof(label));
	CHECK(strcmp(label, "bogon") == 0, "bogon AS label %s", label);
	ds_rollup_label(r, DS_DIM_SRC_ASN, 4713, label, sizeof(label));
	CHECK(strcmp(label, "4713") == 0, "AS label %s", label);
	ds_rollup_free(r);
out:
	ds_minbuf_free(b[0]);
	ds_minbuf_free(b[1]);
	ds_merge_free(m);
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void
test_signatures_watch_fingerprints(void)
{
	struct ds_hist_limits lim = {1, 4096, 16, 64, 4, 50};
	struct ds_minbuf *b[2] = {ds_minbuf_create(&lim), ds_minbuf_create(&lim)};
	struct ds_merge *m = ds_merge_create(&lim);
	static const char *watch_names[64];
	struct ds_merge_names wn = names;
	struct ds_rollup *r;
	const struct ds_rollup_entry *e;
	const struct ds_rollup_srcset *set = NULL;
	uint32_t jp = (uint32_t)ds_cc_index("JP");
	uint64_t listed = 0;
	char label[96];

	printf("signatures and watch rules by country and home; source sets; fingerprints bounded\n");
	for (int i = 0; i < 64; i++)
		watch_names[i] = i == 0 ? "window-5656" : i == 63 ? "last" : "r";
	wn.watch = watch_names;
	wn.n_watch = 64;
	ds_minbuf_reset(b[0], 1);
	ds_minbuf_reset(b[1], 1);
	/*
	 * Sources .0-.9 on worker 0 and .5-.14 on worker 1 (15 distinct); every
	 * SYN carries mirai and rules 0 and 63; windows 1000 + i % 6 make six
	 * fingerprints for a bound of four.
	 */
	for (int w = 0; w < 2; w++) {
		for (uint32_t i = 0; i < 10; i++) {
			uint32_t src = 0x05000000u + i + 5 * (uint32_t)w;
			struct ds_src_geo g = {100, (uint16_t)jp, DS_HOME_DOMESTIC};
			struct ds_pkt p = tcp(src, 1, 23, DS_TCP_SYN, (uint16_t)(1000 + src % 6), NULL,
					      0);

			p.ttl = 50;
			ds_minbuf_count(b[w], 0, &p, 60, &g, 1ull << DS_SIG_MIRAI,
					1ull << 0 | 1ull << 63);
		}
	}
	CHECK(b[0]->fps.n == 4, "worker fingerprint dictionary holds %u", b[0]->fps.n);
	r = ds_merge_minute(m, b, 2, &wn, 1);
	CHECK(r != NULL, "merge");
	if (r == NULL)
		goto out;
	CHECK(r->signatures_version != NULL &&
	      strcmp(r->signatures_version, DS_SIGNATURES_VERSION) == 0, "signatures version");
	e = find(r, 0, DS_DIM_SIGNATURE, DS_SIG_MIRAI);
	CHECK(e != NULL && e->packets == 20 && e->sources == 15, "mirai 20 packets, 15 sources");
	CHECK(find(r, 0, DS_DIM_SIGNATURE, DS_SIG_ZMAP) == NULL, "no zmap");
	e = find(r, 0, DS_DIM_SIGNATURE_COUNTRY, DS_SIG_MIRAI << 10 | jp);
	CHECK(e != NULL && e->packets == 20 && e->sources == 15, "mirai/JP");
	ds_rollup_label(r, DS_DIM_SIGNATURE_COUNTRY, DS_SIG_MIRAI << 10 | jp, label, sizeof(label));
	CHECK(strcmp(label, "mirai/JP") == 0, "label %s", label);
	e = find(r, 0, DS_DIM_SIGNATURE_HOME, DS_SIG_MIRAI << 2 | DS_HOME_DOMESTIC);
	CHECK(e != NULL && e->sources == 15, "mirai/domestic");
	ds_rollup_label(r, DS_DIM_SIGNATURE_HOME, DS_SIG_MIRAI << 2 | DS_HOME_DOMESTIC, label,
			sizeof(label));
	CHECK(strcmp(label, "mirai/domestic") == 0, "label %s", label);
	e = find(r, 0, DS_DIM_WATCH, 63);
	CHECK(e != NULL && e->packets == 20 && e->sources == 15, "rule 63 (the last bit)");
	ds_rollup_label(r, DS_DIM_WATCH_HOME, 0 << 2 | DS_HOME_DOMESTIC, label, sizeof(label));
	CHECK(strcmp(label, "window-5656/domestic") == 0, "label %s", label);
	ds_rollup_label(r, DS_DIM_WATCH, 63, label, sizeof(label));
	CHECK(strcmp(label, "last") == 0, "label %s", label);

	/* The source set of rule 0 by home: exactly the 15 sources, once each. */
	for (uint32_t i = 0; i < r->n_srcsets; i++)
		if (r->srcsets[i].dim == DS_DIM_WATCH_HOME &&
		    r->srcsets[i].value == (0 << 2 | DS_HOME_DOMESTIC))
			set = &r->srcsets[i];
	CHECK(set != NULL && set->n == 15, "window-5656/domestic source set of 15");
	if (set != NULL && set->n == 15) {
		uint32_t v[15];

		memcpy(v, set->src, sizeof(v));
		qsort(v, 15, sizeof(v[0]), u32_cmp);
		for (uint32_t i = 0; i < 15; i++)
			CHECK(v[i] == 0x05000000u + i, "source %u", i);
	}
	/* The feed's own set, and sets only for the top values (all of them, here). */
	set = NULL;
	for (uint32_t i = 0; i < r->n_srcsets; i++)
		if (r->srcsets[i].dim == DS_SRCSET_FEED)
			set = &r->srcsets[i];
	CHECK(set != NULL && set->n == 15, "the feed's source set of 15");

	/* Fingerprints: four named, the rest `other`, nothing lost. */
	CHECK(r->feeds[0].dims[DS_DIM_TCP_FINGERPRINT].n == 5, "4 fingerprints + other: %u",
	      r->feeds[0].dims[DS_DIM_TCP_FINGERPRINT].n);
	for (uint32_t i = 0; i < r->feeds[0].dims[DS_DIM_TCP_FINGERPRINT].n; i++)
		listed += r->feeds[0].dims[DS_DIM_TCP_FINGERPRINT].entries[i].packets;
	CHECK(listed == 20, "fingerprint packets listed %" PRIu64, listed);
	CHECK(find(r, 0, DS_DIM_TCP_FINGERPRINT, DS_ROLLUP_OTHER) != NULL, "fingerprint other");
	e = &r->feeds[0].dims[DS_DIM_TCP_FINGERPRINT].entries[0];
	if (e->value == DS_ROLLUP_OTHER)
		e++;
	ds_rollup_label(r, DS_DIM_TCP_FINGERPRINT, e->value, label, sizeof(label));
	CHECK(strncmp(label, "64:10", 5) == 0 && strstr(label, ":-:-:none") != NULL,
	      "fingerprint label %s", label);
	CHECK(strcmp(ds_dim_name(DS_DIM_WATCH_COUNTRY), "watch_country") == 0, "dim name");
	ds_rollup_free(r);
out:
	ds_minbuf_free(b[0]);
	ds_minbuf_free(b[1]);
	ds_merge_free(m);
}

static void
test_srcset_top_values(void)
{
	struct ds_hist_limits lim = {1, 4096, 16, 64, 64, 3};
	struct ds_minbuf *b = ds_minbuf_create(&lim);
	struct ds_merge *m = ds_merge_create(&lim);
	struct ds_rollup *r;
	uint32_t ports = 0;

	printf("source sets: only the top values of each dimension (ties included)\n");
	ds_minbuf_reset(b, 1);
	/* Port p gets 10 - p packets from one source each, p = 0..9; ports 2 and 3 tie. */
	for (uint32_t p = 0; p < 10; p++)
		for (uint32_t k = 0; k < (p == 3 ? 8 : 10 - p); k++) {
			struct ds_pkt pk = tcp(0x06000000u + p * 100 + k, 1, (uint16_t)(1000 + p),
					       DS_TCP_SYN | DS_TCP_ACK, 1, NULL, 0);

			ds_minbuf_count(b, 0, &pk, 60, NULL, 0, 0);
		}
	r = ds_merge_minute(m, &b, 1, &names, 1);
	CHECK(r != NULL, "merge");
	for (uint32_t i = 0; r != NULL && i < r->n_srcsets; i++) {
		const struct ds_rollup_srcset *s = &r->srcsets[i];

		if (s->dim != DS_DIM_TCP_DST_PORT)
			continue;
		ports++;
		CHECK(s->value >= 1000 && s->value <= 1003, "port %u is not a top value", s->value);
		CHECK(s->n == (s->value == 1003 ? 8u : 10 - (s->value - 1000)),
		      "port %u: %u sources", s->value, s->n);
	}
	CHECK(ports == 4, "ports 1000-1002 and 1003 (tied with 1002): %u sets", ports);
	ds_rollup_free(r);
	ds_minbuf_free(b);
	ds_merge_free(m);
}

/* Sources of a rollup dimension's value, 0 when absent. */
static uint64_t
value_sources(const struct ds_rollup *r, enum ds_dim d, uint32_t value)
{
	const struct ds_rollup_dim *dim = &r->feeds[0].dims[d];

	for (uint32_t i = 0; i < dim->n; i++)
		if (dim->entries[i].value == value)
			return dim->entries[i].sources;
	return 0;
}

/*
 * Workers at different sampling levels: the merge keeps, of every worker,
 * only the sources the highest level's sample holds, so each count is
 * exactly the sampled sources of the union times 2^level, and a source is
 * in or out with all of its values. Worker 0 sees 60000 sources on port 23
 * and samples; worker 1 sees 3000 sources on port 80 (half of them also
 * worker 0's) and does not.
 */
static void
test_sampling_merge(void)
{
	struct ds_hist_limits lim = limits(1, 16384, 16);
	struct ds_minbuf *b[2] = {ds_minbuf_create(&lim), ds_minbuf_create(&lim)};
	struct ds_merge *m = ds_merge_create(&lim);
	uint64_t keep, feed = 0, p23 = 0, p80 = 0;
	struct ds_rollup *r = NULL;
	uint8_t level;

	printf("sampling: workers at different levels merge to one sample of sources\n");
	CHECK(b[0] != NULL && b[1] != NULL && m != NULL, "buffers");
	if (b[0] == NULL || b[1] == NULL || m == NULL)
		goto out;
	ds_minbuf_reset(b[0], 1);
	ds_minbuf_reset(b[1], 1);
	for (uint32_t i = 0; i < 60000; i++) {
		struct ds_pkt p = tcp(0x30000000u + i, 1, 23, DS_TCP_ACK, 1, NULL, 0);

		ds_minbuf_count(b[0], 0, &p, 60, NULL, 0, 0);
	}
	for (uint32_t i = 0; i < 3000; i++) {
		struct ds_pkt p = tcp(0x30000000u + 58500 + i, 1, 80, DS_TCP_ACK, 1, NULL, 0);

		ds_minbuf_count(b[1], 0, &p, 60, NULL, 0, 0);
	}
	level = b[0]->pairs.level;
	r = ds_merge_minute(m, b, 2, &names, 1);
	CHECK(r != NULL && level > 0 && b[1]->pairs.level == 0 && r->sources_sampling == level,
	      "levels %u and %u, rollup %u", level, b[1]->pairs.level,
	      r != NULL ? r->sources_sampling : 0);
	if (r == NULL)
		goto out;
	/* The reference: which of the union's sources the level keeps. Feed 0: key = source. */
	keep = UINT64_MAX >> level;
	for (uint32_t src = 0x30000000u; src < 0x30000000u + 61500; src++) {
		bool in = ds_pair_sample_hash(src) <= keep;

		feed += in;
		p23 += in && src < 0x30000000u + 60000;
		p80 += in && src >= 0x30000000u + 58500;
	}
	printf("  level %u: %" PRIu64 " of 61500 sources kept; port 23 %" PRIu64 ", port 80 %" PRIu64
	       "\n", level, feed, p23, p80);
	CHECK(p80 > 0 && p80 < 3000, "port 80 partly sampled out (%" PRIu64 " kept)", p80);
	CHECK(r->feeds[0].sources == feed << level, "feed sources %" PRIu64 ", expected %" PRIu64,
	      r->feeds[0].sources, feed << level);
	CHECK(value_sources(r, DS_DIM_TCP_DST_PORT, 23) == p23 << level &&
	      value_sources(r, DS_DIM_TCP_DST_PORT, 80) == p80 << level,
	      "port sources %" PRIu64 " and %" PRIu64 ", expected %" PRIu64 " and %" PRIu64,
	      value_sources(r, DS_DIM_TCP_DST_PORT, 23), value_sources(r, DS_DIM_TCP_DST_PORT, 80),
	      p23 << level, p80 << level);
	CHECK(r->feeds[0].packets == 63000, "packets stay exact");
out:
	ds_rollup_free(r);
	ds_minbuf_free(b[0]);
	ds_minbuf_free(b[1]);
	ds_merge_free(m);
}

/* Is key in the pair table, found by probing from its home slot as an insert would? */
static bool
pair_findable(const struct ds_pairs *p, uint64_t key)
{
	for (uint32_t i = (uint32_t)ds_slot_hash(key) & p->mask; p->slots[i] != 0;
	     i = (i + 1) & p->mask)
		if (p->slots[i] == key)
			return true;
	return false;
}

/*
 * Raising the sampling level sweeps the pair table in place, a step after
 * each burst, while the next bursts insert. Once sealed, the table must hold
 * exactly the pairs the sample keeps, each once, each reachable from its
 * home slot, each in a line marked touched. The reference
 * is a table large enough never to sample. Packets without SYN make only
 * pairs whose hash is ds_slot_hash(key): feed, protocol, TCP port.
 */
static void
test_sampling_in_place(uint32_t slots, uint32_t packets, uint32_t sources, uint32_t burst)
{
	struct ds_hist_limits small = limits(1, slots, 16), big = limits(1, 1u << 20, 16);
	struct ds_minbuf *s = ds_minbuf_create(&small), *r = ds_minbuf_create(&big);
	uint32_t expected = 0, held = 0, lost = 0, extra = 0, untouched = 0, mid_sweep = 0;

	printf("sampling sweeps the pair table in place, between bursts (%u slots, %u packets from"
	       " %u sources, bursts of %u)\n", slots, packets, sources, burst);
	CHECK(s != NULL && r != NULL, "buffers");
	if (s == NULL || r == NULL)
		goto out;
	ds_minbuf_reset(s, 1);
	ds_minbuf_reset(r, 1);
	for (uint32_t i = 0; i < packets; i++) {
		/* Sources come back at random, with the same port: pairs already held. */
		uint32_t src = (uint32_t)(rnd() % sources);
		struct ds_pkt p = tcp(0x0a000000u + src * 2654435761u, 1, (uint16_t)(src % 977),
				      DS_TCP_ACK, 1, NULL, 0);

		ds_minbuf_count(s, 0, &p, 60, NULL, 0, 0);
		ds_minbuf_count(r, 0, &p, 60, NULL, 0, 0);
		/* Drain as often as the worker does: sampling may rise mid-queue. */
		if (i % burst == burst - 1) {
			ds_minbuf_flush(s);
			ds_minbuf_flush(r);
			mid_sweep += s->pairs.sweeping;
		}
	}
	ds_minbuf_seal(s);
	ds_minbuf_seal(r);
	CHECK(r->pairs.level == 0 && s->pairs.level >= 3, "reference exact, sample at level %u",
	      s->pairs.level);
	CHECK(mid_sweep > 0 && !s->pairs.sweeping, "bursts counted during a sweep: %u", mid_sweep);
	for (uint32_t i = 0; i <= r->pairs.mask; i++) {
		uint64_t key = r->pairs.slots[i];

		if (key == 0 || ds_pair_sample_hash(key) > s->pairs.keep_max)
			continue;
		expected++;
		lost += !pair_findable(&s->pairs, key);
	}
	for (uint32_t i = 0; i <= s->pairs.mask; i++) {
		uint64_t key = s->pairs.slots[i];

		if (key == 0)
			continue;
		held++;
		extra += !pair_findable(&r->pairs, key) ||
			 ds_pair_sample_hash(key) > s->pairs.keep_max ||
			 !pair_findable(&s->pairs, key);
		untouched += !(s->pairs.touched[i / (DS_PAIRS_LINE * 64)] >>
			       (i / DS_PAIRS_LINE % 64) & 1);
	}
	printf("  level %u: %u pairs kept of %u in the reference, %u expected; %u bursts"
	       " mid-sweep\n", s->pairs.level, held, r->pairs.n, expected, mid_sweep);
	CHECK(expected > 100 && lost == 0, "every sampled pair reachable (%u lost of %u)", lost,
	      expected);
	CHECK(extra == 0 && held == expected && held == s->pairs.n,
	      "nothing else, nothing twice (%u extra, %u held, n %u)", extra, held, s->pairs.n);
	CHECK(untouched == 0, "every held slot in a touched line (%u not)", untouched);
out:
	ds_minbuf_free(s);
	ds_minbuf_free(r);
}

/*
 * A protocol pair (feed 0, protocol 6) of a new source whose home slot in a
 * table of mask + 1 slots lies in [lo, hi], and whose source is in the sample
 * of @p level or out of it. Its slot hash is ds_slot_hash(key), as
 * ds_minbuf_count() makes it.
 */
static uint64_t
sweep_key(uint32_t mask, uint32_t lo, uint32_t hi, bool in_sample, uint8_t level, uint32_t *src)
{
	for (;;) {
		uint64_t key = (uint64_t)(DS_DIM_PROTO + 1) << DS_PAIR_DIM_SHIFT |
			       (uint64_t)6 << DS_PAIR_VALUE_SHIFT | (*src)++;
		uint32_t home = (uint32_t)ds_slot_hash(key) & mask;

		if (home >= lo && home <= hi &&
		    (ds_pair_sample_hash(key) <= UINT64_MAX >> level) == in_sample)
			return key;
	}
}

static uint32_t
copies(const struct ds_pairs *p, uint64_t key)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i <= p->mask; i++)
		n += p->slots[i] == key;
	return n;
}

/*
 * The two cases of a sweep that interleaved inserts make, built slot by slot
 * in a table of 4096 (load limit 3072, hard limit 3584):
 *  - a copy left behind: A, B, C share home 10 and sit in 10, 11, 12; the
 *    sweep drops B (out of the sample) and stops at 11, so C is not found
 *    from its home and its next insert puts a second C in 11. Putting the
 *    old C back must meet that copy and drop itself;
 *  - a run wrapped past the sweep's start: the sweep starts after the empty
 *    slot 0; then Z (home 4095) takes 0 and W (home 4092) wraps to 1, ahead
 *    of the sweep, which passes W early and only then drops X from 4092, on
 *    W's way from home. The sweep must go on past its round to put W back.
 * And a table that reaches 7/8 during a sweep finishes it at once.
 */
static void
test_sweep_cases(void)
{
	struct ds_hist_limits lim = limits(1, 4096, 16);
	struct ds_minbuf *b = ds_minbuf_create(&lim);
	struct ds_pairs *p;
	uint64_t a, bk, c, x, z, w, y[3];
	uint32_t src = 1, held = 0, most = 0;

	printf("sweep: a copy left behind it, a run wrapped past its start, 7/8 full\n");
	CHECK(b != NULL, "buffer");
	if (b == NULL)
		return;
	p = &b->pairs;
	ds_minbuf_reset(b, 1);
	a = sweep_key(p->mask, 10, 10, true, 1, &src);
	bk = sweep_key(p->mask, 10, 10, false, 1, &src);
	c = sweep_key(p->mask, 10, 10, true, 1, &src);
	x = sweep_key(p->mask, 4092, 4092, false, 1, &src);
	for (uint32_t k = 0; k < 3; k++)
		y[k] = sweep_key(p->mask, 4093 + k, 4093 + k, true, 1, &src);
	z = sweep_key(p->mask, 4095, 4095, true, 1, &src);
	w = sweep_key(p->mask, 4092, 4092, true, 1, &src);
	ds_pairs_add(b, a, ds_slot_hash(a));
	ds_pairs_add(b, bk, ds_slot_hash(bk));
	ds_pairs_add(b, c, ds_slot_hash(c));
	ds_pairs_add(b, x, ds_slot_hash(x));
	for (uint32_t k = 0; k < 3; k++)
		ds_pairs_add(b, y[k], ds_slot_hash(y[k]));
	CHECK(p->slots[10] == a && p->slots[11] == bk && p->slots[12] == c &&
	      p->slots[4092] == x && p->slots[4095] == y[2], "the table as built");
	/* Fill to the load limit far from both places: the last insert starts a sweep. */
	while (p->n < p->load_n) {
		uint64_t f = sweep_key(p->mask, 200, 3600, true, 1, &src);

		ds_pairs_add(b, f, ds_slot_hash(f));
	}
	CHECK(p->sweeping && p->level == 1 && p->sweep_at == 1 && p->slots[0] == 0,
	      "a sweep starts after slot 0 (sweeping %d, level %u, at %u)", p->sweeping, p->level,
	      p->sweep_at);
	ds_pairs_add(b, z, ds_slot_hash(z));
	ds_pairs_add(b, w, ds_slot_hash(w));
	CHECK(p->slots[0] == z && p->slots[1] == w, "Z in 0, W wrapped to 1");
	ds_pairs_sweep(b, 11);
	CHECK(p->slots[10] == a && p->slots[11] == 0 && p->slots[12] == c && p->sweep_at == 12,
	      "the sweep dropped B and stopped at 11");
	ds_pairs_add(b, c, ds_slot_hash(c));
	CHECK(copies(p, c) == 2, "C not found from home: a second copy (%u)", copies(p, c));
	ds_minbuf_seal(b);
	for (uint32_t i = 0; i <= p->mask; i++)
		held += p->slots[i] != 0;
	CHECK(!p->sweeping && copies(p, c) == 1 && held == p->n,
	      "one C, and n counts the table (%u copies, %u held, n %u)", copies(p, c), held, p->n);
	CHECK(copies(p, bk) == 0 && copies(p, x) == 0, "B and X dropped");
	CHECK(pair_findable(p, a) && pair_findable(p, c) && pair_findable(p, z) &&
	      pair_findable(p, y[0]) && pair_findable(p, y[1]) && pair_findable(p, y[2]),
	      "A, C, Y and Z found");
	CHECK(pair_findable(p, w), "W found from its home (it is in slot %s)",
	      p->slots[1] == w ? "1, behind the dropped X" : "another");
	/* Insert pairs a second sweep keeps, until it meets the hard limit. */
	for (uint32_t k = 0; k < 1000; k++) {
		uint64_t f = sweep_key(p->mask, 200, 3600, true, 2, &src);

		ds_pairs_add(b, f, ds_slot_hash(f));
		most = p->n > most ? p->n : most;
	}
	CHECK(p->level >= 2 && most <= p->load_n + (p->mask + 1) / 8,
	      "7/8 full ends the sweep (level %u, at most %u pairs)", p->level, most);
	ds_minbuf_free(b);
}

/* A random decoded SYN with n option kinds; kinds beyond n stay zero, as ds_decode() does. */
static struct ds_pkt
random_syn(uint8_t n)
{
	uint8_t kinds[DS_TCP_MAX_OPTS];
	struct ds_pkt p;

	for (uint8_t k = 0; k < n; k++)
		kinds[k] = (uint8_t)rnd();
	p = tcp((uint32_t)rnd(), 1, (uint16_t)rnd(), DS_TCP_SYN, (uint16_t)rnd(), kinds, n);
	p.ttl = (uint8_t)rnd();
	p.flags |= (uint16_t)(rnd() & (DS_PKT_F_TCP_MSS | DS_PKT_F_TCP_WS));
	p.mss = (uint16_t)rnd();
	p.wscale = (uint8_t)rnd();
	return p;
}

/*
 * The worker hashes a SYN's dictionary key from the packet (ds_syn_key_of());
 * entries, labels and the merge use struct ds_fingerprint. Both must give the
 * same hash, kinds a hand-made packet leaves beyond n_opts must not count,
 * and a word equal to its hash constant must not hide its partner word.
 */
static void
test_syn_key(void)
{
	struct ds_hist_limits lim = limits(1, 1024, 64);
	struct ds_minbuf *b = ds_minbuf_create(&lim);
	uint32_t fp_diff = 0, lay_diff = 0, stray = 0;
	uint64_t zero_factor[2][2];

	printf("SYN keys: packet and fingerprint hash alike\n");
	for (uint32_t i = 0; i < 20000; i++) {
		struct ds_pkt p = random_syn((uint8_t)(i % (DS_TCP_MAX_OPTS + 1))), q;
		struct ds_fingerprint fp, lay;
		struct ds_syn_key k, kq;

		ds_syn_key_of(&p, &k);
		ds_fingerprint_of(&p, &fp);
		memset(&lay, 0, sizeof(lay));
		lay.n = fp.n;
		memcpy(lay.kinds, fp.kinds, fp.n);
		fp_diff += k.fp_hash != ds_fingerprint_hash(&fp);
		lay_diff += k.layout_hash != ds_fingerprint_hash(&lay);
		q = p;
		memset(q.opt_kinds + q.n_opts, 0xa5, DS_TCP_MAX_OPTS - q.n_opts);
		ds_syn_key_of(&q, &kq);
		stray += memcmp(&k, &kq, sizeof(k)) != 0;
	}
	CHECK(fp_diff == 0 && lay_diff == 0,
	      "packet and struct hashes differ (%u fingerprints, %u layouts of 20000)", fp_diff,
	      lay_diff);
	CHECK(stray == 0, "kinds beyond n_opts changed %u keys of 20000", stray);

	/* Kinds word 1 equal to its constant, then kinds word 2 equal to its constant. */
	for (int side = 0; side < 2; side++) {
		for (int v = 0; v < 2; v++) {
			uint64_t w[5] = {1, 2, 3, 4, 5};
			struct ds_fingerprint fp = {.window = 1, .ttl_class = 64, .n = 40};

			w[1 + side] = side == 0 ? 0xa4093822299f31d0ULL : 0x082efa98ec4e6c89ULL;
			w[2 - side] = 100 + (uint64_t)v;
			memcpy(fp.kinds, w, sizeof(w));
			zero_factor[side][v] = ds_fingerprint_hash(&fp);
		}
		CHECK(zero_factor[side][0] != zero_factor[side][1],
		      "a zero factor hides its partner word (word %d at its constant)", 2 + side);
	}

	/* Counting with the worker's key finds the same entry as counting without. */
	CHECK(b != NULL, "buffer");
	if (b != NULL) {
		static const uint8_t opts[] = {2, 4, 8, 1, 3};
		struct ds_pkt p = tcp(0x01020304, 1, 23, DS_TCP_SYN, 5656, opts, 5), q = p;
		struct ds_syn_key k;

		ds_minbuf_reset(b, 1);
		q.opt_kinds[7] = 0xee;
		ds_syn_key_of(&p, &k);
		ds_minbuf_count_key(b, 0, &p, 60, NULL, 0, 0, &k);
		ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
		ds_minbuf_count(b, 0, &q, 60, NULL, 0, 0);
		CHECK(b->fps.n == 1 && b->layouts.n == 1, "one fingerprint and one layout (%u, %u)",
		      b->fps.n, b->layouts.n);
		CHECK(b->feeds[0].dims[DS_DIM_TCP_FINGERPRINT].count[0] == 3,
		      "fingerprint id 0 counted 3 times (%u)",
		      b->feeds[0].dims[DS_DIM_TCP_FINGERPRINT].count[0]);
	}
	ds_minbuf_free(b);
}

/* Longest run of occupied slots in a table of n slots, wrapping round. */
static uint32_t
longest_run(const uint64_t *slot, uint32_t n)
{
	uint32_t best = 0, run = 0;

	for (uint32_t i = 0; i < 2 * n && best < n; i++) {
		run = slot[i % n] != 0 ? run + 1 : 0;
		best = run > best ? run : best;
	}
	return best < n ? best : n;
}

/*
 * Keys a sender aimed at the first slots of a table, for the unkeyed hashes
 * (seeds 0): windows of SYNs (fingerprint dictionary), ASes (AS dictionary),
 * sources (pair table, their TCP port pair).
 */
struct flood {
	uint16_t win[2048];
	uint32_t asn[1024];
	uint32_t src[900];
};

static const uint8_t flood_opts[] = {2, 4, 8, 1, 3};

static void
flood_aim(struct flood *f, const struct ds_minbuf *b)
{
	uint32_t n = 0;

	ds_hist_set_seeds(0, 0);
	for (uint32_t w = 0; w < 65536 && n < 2048; w++) {
		struct ds_pkt p = tcp(1, 1, 23, DS_TCP_SYN, (uint16_t)w, flood_opts, 5);
		struct ds_syn_key k;

		ds_syn_key_of(&p, &k);
		if ((k.fp_hash & b->fps.mask) < (b->fps.mask + 1) / 16)
			f->win[n++] = (uint16_t)w;
	}
	CHECK(n == 2048, "aimed windows (%u)", n);
	n = 0;
	for (uint32_t asn = 1; n < 1024; asn++)
		if ((ds_slot_hash(asn) & b->asns.mask) < (b->asns.mask + 1) / 16)
			f->asn[n++] = asn;
	n = 0;
	for (uint32_t src = 1; n < 900; src++) {
		uint64_t key = (uint64_t)(DS_DIM_TCP_DST_PORT + 1) << DS_PAIR_DIM_SHIFT |
			       (uint64_t)23 << DS_PAIR_VALUE_SHIFT | src;

		if ((ds_slot_hash(key) & b->pairs.mask) < 64)
			f->src[n++] = src;
	}
}

/* Count the aimed keys; the longest runs of the three tables. */
static void
flood_count(struct ds_minbuf *b, const struct flood *f, uint32_t run[3])
{
	ds_minbuf_reset(b, 1);
	for (uint32_t i = 0; i < 2048; i++) {
		struct ds_pkt p = tcp(1, 1, 23, DS_TCP_SYN, f->win[i], flood_opts, 5);

		ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
	}
	for (uint32_t i = 0; i < 1024; i++) {
		struct ds_pkt p = tcp(2, 1, 80, DS_TCP_ACK, 0, NULL, 0);
		struct ds_src_geo g = {f->asn[i], 1, DS_HOME_MAX};

		ds_minbuf_count(b, 0, &p, 60, &g, 0, 0);
	}
	for (uint32_t i = 0; i < 900; i++) {
		struct ds_pkt p = tcp(f->src[i], 1, 23, DS_TCP_ACK, 0, NULL, 0);

		ds_minbuf_count(b, 0, &p, 60, NULL, 0, 0);
	}
	ds_minbuf_flush(b);
	run[0] = longest_run(b->fps.slot_id, b->fps.mask + 1);
	run[1] = longest_run(b->asns.slot_id, b->asns.mask + 1);
	run[2] = longest_run(b->pairs.slots, b->pairs.mask + 1);
}

/*
 * A sender who can compute the tables' hashes can aim its keys at one run
 * of slots, and every probe then walks the run. With the hashes unkeyed
 * (seeds 0) the aimed keys must form one run each: the attack works, so
 * the test can see it. Keyed with three random seeds, the longest run of
 * the same keys must be short. Then the sample: sources chosen to be kept
 * at level 8 by the unkeyed hash must mostly be dropped by a keyed one.
 */
static void
test_keyed_hashes(void)
{
	struct ds_hist_limits lim = {1, 16384, 64, 1024, 2048, 0};
	struct ds_minbuf *b = ds_minbuf_create(&lim);
	static struct flood f;
	uint32_t run[3], kept = 0, chosen[200], n = 0;

	printf("keyed hashes: keys aimed at one run of slots\n");
	CHECK(b != NULL, "buffer");
	if (b == NULL)
		return;
	flood_aim(&f, b);
	flood_count(b, &f, run);
	printf("  unkeyed: longest runs %u (fingerprints, of %u slots), %u (ASes, of %u), %u "
	       "(pairs, of %u)\n", run[0], b->fps.mask + 1, run[1], b->asns.mask + 1, run[2],
	       b->pairs.mask + 1);
	CHECK(b->fps.n == 2048 && b->asns.n == 1024 && run[0] >= 2048 && run[1] >= 1024 &&
	      run[2] >= 900, "unkeyed, the aimed keys form one run each (%u, %u, %u)", run[0],
	      run[1], run[2]);
	for (int r = 0; r < 3; r++) {
		ds_hist_set_seeds(rnd(), rnd());
		flood_count(b, &f, run);
		printf("  keyed: longest runs %u, %u, %u\n", run[0], run[1], run[2]);
		CHECK(b->fps.n == 2048 && b->asns.n == 1024 && b->pairs.level == 0,
		      "every key counted, unsampled (%u fingerprints, %u ASes, level %u)", b->fps.n,
		      b->asns.n, b->pairs.level);
		CHECK(run[0] <= 128 && run[1] <= 128 && run[2] <= 300,
		      "keyed, the longest runs are short (%u, %u, %u)", run[0], run[1], run[2]);
	}

	ds_hist_set_seeds(0, 0);
	for (uint32_t src = 1; n < 200; src++)
		if (ds_pair_sample_hash(src) <= UINT64_MAX >> 8)
			chosen[n++] = src;
	ds_hist_set_seeds(rnd(), rnd());
	for (uint32_t i = 0; i < n; i++)
		kept += ds_pair_sample_hash(chosen[i]) <= UINT64_MAX >> 8;
	CHECK(kept <= 10, "keyed, %u of 200 sources chosen for level 8 are still kept", kept);
	ds_hist_set_seeds(0, 0);
	ds_minbuf_free(b);
}

int
main(void)
{
	/* First: later tests leave freed buffers that malloc would hand back mapped. */
	test_resident();
	test_merge_prepared();
	test_merge_grows_and_forgets();
	test_bad_arguments();
	test_one_worker_exact();
	test_merge_equals_reference(1, 20000, 500);
	test_merge_equals_reference(4, 50000, 3000);
	test_layout_bound();
	test_sampling();
	test_sampling_merge();
	test_sampling_in_place(4096, 40000, 40000, 32);
	test_sampling_in_place(4096, 120000, 20000, 32);
	test_sampling_in_place(65536, 400000, 100000, 32);
	/* Up to 1024 inserts between two steps of a sweep. */
	test_sampling_in_place(4096, 40000, 40000, 1024);
	test_sweep_cases();
	test_reset();
	test_geo_dims();
	test_signatures_watch_fingerprints();
	test_syn_key();
	test_srcset_top_values();
	test_keyed_hashes();
	/* The merge and the in-place sampling again, with keyed hashes. */
	ds_hist_set_seeds(rnd(), rnd());
	test_merge_equals_reference(4, 50000, 3000);
	test_sampling_merge();
	test_sampling_in_place(4096, 120000, 20000, 32);
	test_sweep_cases();
	ds_hist_set_seeds(0, 0);
	printf("%s (%d failure%s)\n", failures ? "FAIL" : "PASS", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
