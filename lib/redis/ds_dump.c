/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * A minute's sorted sets and big source sets in Redis' own formats, built
 * here so that the server only copies them in.
 *
 * Why. A minute of a port scan has zsets of 65 536 members (every TCP port,
 * every SYN window), each written as its packets and its distinct sources.
 * ZADD costs the server, per member, the parse of two arguments and a
 * skiplist insert at a random place: on this project's test machine
 * (redis-server 7.0) 44-69 ms for 65 536 members in random order. RESTORE
 * of a DUMP payload costs it the read of one string, and when the members
 * come greatest first every insert of the load lands at the head of the
 * skiplist (Redis writes its RDB files in that order for that reason):
 * 11-15 ms for the same zset. A source set of hundreds of thousands of
 * addresses, PFADDed, is as many arguments to parse and hash; as the
 * finished HyperLogLog it is one 12 KiB string for PFMERGE.
 *
 * The zset payload (an RDB "ZSET_2" object, the form DUMP returns):
 *
 *   05                                   type: sorted set, binary scores
 *   LEN(n)                               members
 *   n x { LEN(len) label  score }        greatest first; score a little-endian double
 *   09 00                                RDB version 9 (Redis 5.0; a server
 *                                        takes any version up to its own)
 *   CRC-64 of all of the above           little-endian
 *
 * LEN is RDB's length: 00xxxxxx below 64, 01xxxxxx xxxxxxxx below 16384,
 * else 0x80 and four bytes big-endian. Redis orders members by score, then
 * by label (memcmp, then the shorter first), and refuses a payload with the
 * same label twice: labels that render alike (stand-in names) are merged
 * here into one member with the sum of their scores.
 *
 * qsort() of one 65 536-member zset by (score, label) took 7.6 ms in a
 * microbenchmark; here labels are ranked once per dimension by radix sort on their
 * first 8 bytes (a merge sort settles the rare runs with equal first bytes),
 * and each zset is a stable radix sort of its scores over the members in
 * label order: (score, label) order in a few passes over the array.
 *
 * The HyperLogLog is Redis' dense representation (hyperloglog.c): "HYLL",
 * encoding 0 (dense), three unused bytes, eight bytes of cached cardinality
 * (marked invalid: the top bit of the last), then 16384 registers of 6 bits
 * packed little-endian. An element sets register hash & 16383 to at least
 * 1 + the number of trailing zeros of (hash >> 14 | 1 << 50), with hash =
 * MurmurHash64A(element, seed 0xadc83b19). PFMERGE from it gives exactly
 * the registers PFADD of the same elements gives; test_redis compares the
 * two byte for byte on a real redis-server, and RESTORE against ZADD.
 */

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ds_dump.h"

/* --- CRC-64 ------------------------------------------------------------------------------ */

/* The Jones polynomial 0xad93d23594c935a9, bit-reflected. */
#define CRC64_POLY 0x95ac9329ac4bc9b5ULL

/* Slice-by-8 tables, eight bytes a step: 1 MiB in 0.67 ms on the test machine. */
static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void
crc64_init(void)
{
	for (unsigned int i = 0; i < 256; i++) {
		uint64_t c = i;

		for (int b = 0; b < 8; b++)
			c = c & 1 ? (c >> 1) ^ CRC64_POLY : c >> 1;
		crc64_table[0][i] = c;
	}
	for (unsigned int i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc64_table[t][i] = (crc64_table[t - 1][i] >> 8) ^
					    crc64_table[0][crc64_table[t - 1][i] & 0xff];
}

/* The 8 bytes at p as a little-endian number, whatever the host. */
static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint8_t *
store_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 8;
}

uint64_t
ds_crc64(uint64_t crc, const void *data, size_t n)
{
	const uint8_t *p = data;

	pthread_once(&crc64_once, crc64_init);
	for (; n >= 8; n -= 8, p += 8) {
		crc ^= load_le64(p);
		crc = crc64_table[7][crc & 0xff] ^ crc64_table[6][(crc >> 8) & 0xff] ^
		      crc64_table[5][(crc >> 16) & 0xff] ^ crc64_table[4][(crc >> 24) & 0xff] ^
		      crc64_table[3][(crc >> 32) & 0xff] ^ crc64_table[2][(crc >> 40) & 0xff] ^
		      crc64_table[1][(crc >> 48) & 0xff] ^ crc64_table[0][crc >> 56];
	}
	for (; n > 0; n--, p++)
		crc = crc64_table[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
	return crc;
}

/* --- HyperLogLog ------------------------------------------------------------------------- */

uint64_t
ds_murmur64a(const void *key, size_t len, uint64_t seed)
{
	const uint64_t m = 0xc6a4a7935bd1e995ULL;
	const int r = 47;
	const uint8_t *p = key;
	const uint8_t *end = p + (len & ~(size_t)7);
	uint64_t h = seed ^ (len * m);

	for (; p != end; p += 8) {
		uint64_t k = load_le64(p);

		k *= m;
		k ^= k >> r;
		k *= m;
		h ^= k;
		h *= m;
	}
	if (len & 7) {
		for (size_t i = len & 7; i-- > 0;)
			h ^= (uint64_t)p[i] << (8 * i);
		h *= m;
	}
	h ^= h >> r;
	h *= m;
	h ^= h >> r;
	return h;
}

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_SEED 0xadc83b19ULL
#define HLL_HDR 16

void
ds_hll_init(uint8_t hll[DS_HLL_DENSE_SIZE])
{
	memset(hll, 0, DS_HLL_DENSE_SIZE);
	memcpy(hll, "HYLL", 4);
	hll[15] = 0x80;         /* cached cardinality invalid: PFCOUNT computes it */
}

void
ds_hll_add(uint8_t hll[DS_HLL_DENSE_SIZE], const void *ele, size_t len)
{
	uint64_t hash = ds_murmur64a(ele, len, HLL_SEED);
	uint32_t reg = (uint32_t)(hash & (DS_HLL_REGISTERS - 1));
	uint8_t count = (uint8_t)(__builtin_ctzll((hash >> HLL_P) | 1ULL << HLL_Q) + 1);
	uint8_t *p = hll + HLL_HDR + reg * 6 / 8;
	unsigned int fb = reg * 6 & 7;
	/* The register's 6 bits; they run into the next byte when they start past bit 2. */
	unsigned int v = p[0] >> fb;

	if (fb > 2)
		v |= (unsigned int)p[1] << (8 - fb);
	if (count <= (v & 63))
		return;
	p[0] = (uint8_t)((p[0] & ~(63u << fb)) | (unsigned int)count << fb);
	if (fb > 2)
		p[1] = (uint8_t)((p[1] & ~(63u >> (8 - fb))) | (unsigned int)count >> (8 - fb));
}

/* --- sorting ----------------------------------------------------------------------------- */

/* Stable LSD radix sort on key, 8 bits a pass, skipping the bytes all keys share. */
static void
radix_sort(struct ds_dump_item *a, struct ds_dump_item *tmp, size_t n)
{
	struct ds_dump_item *src = a, *dst = tmp;
	uint64_t diff = 0;

	for (size_t i = 1; i < n; i++)
		diff |= a[i].key ^ a[0].key;
	for (unsigned int shift = 0; shift < 64; shift += 8) {
		size_t count[256] = { 0 }, pos = 0;
		struct ds_dump_item *t;

		if (((diff >> shift) & 0xff) == 0)
			continue;
		for (size_t i = 0; i < n; i++)
			count[(src[i].key >> shift) & 0xff]++;
		for (int d = 0; d < 256; d++) {
			size_t c = count[d];

			count[d] = pos;
			pos += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[count[(src[i].key >> shift) & 0xff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

static inline size_t
label_len(const struct ds_dump_zset *z, uint32_t k)
{
	return z->off[k + 1] - z->off[k];
}

/* Redis' order of members with equal scores (sdscmp): memcmp, then the shorter first. */
static int
label_cmp(const struct ds_dump_zset *z, uint32_t a, uint32_t b)
{
	size_t la = label_len(z, a), lb = label_len(z, b);
	int c = memcmp(z->labels + z->off[a], z->labels + z->off[b], la < lb ? la : lb);

	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb;
}

/* A label's first 8 bytes, big-endian, zeros after its end: orders as label_cmp() or ties. */
static uint64_t
label_prefix(const struct ds_dump_zset *z, uint32_t k)
{
	const uint8_t *s = (const uint8_t *)z->labels + z->off[k];
	size_t len = label_len(z, k);
	uint64_t v = 0;

	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (i < len ? s[i] : 0);
	return v;
}

/* Merge sort by label_cmp(), for the runs the prefixes leave tied. */
static void
label_sort(const struct ds_dump_zset *z, struct ds_dump_item *a, struct ds_dump_item *tmp,
	   size_t n)
{
	size_t h = n / 2, i = 0, j = h, k = 0;

	if (n < 2)
		return;
	label_sort(z, a, tmp, h);
	label_sort(z, a + h, tmp, n - h);
	while (i < h && j < n)
		tmp[k++] = label_cmp(z, a[j].idx, a[i].idx) < 0 ? a[j++] : a[i++];
	while (i < h)
		tmp[k++] = a[i++];
	memcpy(a, tmp, k * sizeof(*a));
}

/* --- sorted sets ------------------------------------------------------------------------- */

static int
zset_grow(struct ds_dump_zset *z, size_t n)
{
	void *p;

	if (n <= z->cap)
		return 0;
	if ((p = realloc(z->rank, n * sizeof(*z->rank))) == NULL)
		return -ENOMEM;
	z->rank = p;
	if ((p = realloc(z->first, n * sizeof(*z->first))) == NULL)
		return -ENOMEM;
	z->first = p;
	if ((p = realloc(z->sum, n * sizeof(*z->sum))) == NULL)
		return -ENOMEM;
	z->sum = p;
	if ((p = realloc(z->items, n * sizeof(*z->items))) == NULL)
		return -ENOMEM;
	z->items = p;
	if ((p = realloc(z->tmp, n * sizeof(*z->tmp))) == NULL)
		return -ENOMEM;
	z->tmp = p;
	z->cap = n;
	return 0;
}

int
ds_dump_zset_labels(struct ds_dump_zset *z, const char *labels, const size_t *off, uint32_t n)
{
	struct ds_dump_item *it;
	uint32_t m = 0;

	if (zset_grow(z, n) < 0)
		return -ENOMEM;
	z->labels = labels;
	z->off = off;
	z->n = n;
	it = z->items;
	for (uint32_t k = 0; k < n; k++) {
		it[k].key = label_prefix(z, k);
		it[k].idx = k;
	}
	radix_sort(it, z->tmp, n);
	/* Equal prefixes: labels of 8 bytes or more may still differ after them. */
	for (uint32_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && it[j].key == it[i].key; j++)
			;
		if (j - i > 1)
			label_sort(z, it + i, z->tmp, j - i);
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = it[i].idx;

		if (i > 0 && (it[i].key != it[i - 1].key || label_cmp(z, it[i - 1].idx, k) != 0))
			m++;
		if (i == 0 || z->rank[it[i - 1].idx] != m)
			z->first[m] = k;
		z->rank[k] = m;
	}
	z->n_members = n > 0 ? m + 1 : 0;
	return 0;
}

/* Bytes of RDB's length encoding of n (n < 2^32). */
static size_t
len_size(uint32_t n)
{
	return n < 64 ? 1 : n < 16384 ? 2 : 5;
}

static uint8_t *
put_len(uint8_t *p, uint32_t n)
{
	if (n < 64) {
		*p++ = (uint8_t)n;
	} else if (n < 16384) {
		*p++ = (uint8_t)(0x40 | n >> 8);
		*p++ = (uint8_t)n;
	} else {
		*p++ = 0x80;
		for (int i = 3; i >= 0; i--)
			*p++ = (uint8_t)(n >> (8 * i));
	}
	return p;
}

size_t
ds_dump_zset_order(struct ds_dump_zset *z, const void *base, size_t stride)
{
	const uint8_t *b = base;
	/* type, count; version and CRC */
	size_t size = 1 + len_size(z->n_members) + 2 + 8;

	memset(z->sum, 0, z->n_members * sizeof(*z->sum));
	for (uint32_t k = 0; k < z->n; k++) {
		uint64_t v;

		memcpy(&v, b + k * stride, sizeof(v));
		z->sum[z->rank[k]] += v;
	}
	/* In member (label) order, then stably by score: (score, label) order. */
	for (uint32_t m = 0; m < z->n_members; m++) {
		size_t len = label_len(z, z->first[m]);

		z->items[m].key = z->sum[m];
		z->items[m].idx = m;
		size += len_size((uint32_t)len) + len + 8;
	}
	radix_sort(z->items, z->tmp, z->n_members);
	return size;
}

void
ds_dump_zset_write(const struct ds_dump_zset *z, uint8_t *out)
{
	uint8_t *p = out;

	*p++ = 5;               /* RDB_TYPE_ZSET_2 */
	p = put_len(p, z->n_members);
	for (uint32_t i = z->n_members; i-- > 0;) {
		uint32_t k = z->first[z->items[i].idx];
		size_t len = label_len(z, k);
		double score = (double)z->items[i].key;
		uint64_t bits;

		p = put_len(p, (uint32_t)len);
		memcpy(p, z->labels + z->off[k], len);
		p += len;
		memcpy(&bits, &score, sizeof(bits));
		p = store_le64(p, bits);
	}
	*p++ = 9;               /* RDB version, little-endian */
	*p++ = 0;
	store_le64(p, ds_crc64(0, out, (size_t)(p - out)));
}

void
ds_dump_zset_free(struct ds_dump_zset *z)
{
	free(z->rank);
	free(z->first);
	free(z->sum);
	free(z->items);
	free(z->tmp);
	memset(z, 0, sizeof(*z));
}

/* --- sums by label ----------------------------------------------------------------------- */

/*
 * The labels are values a sender chose (ports, windows, fingerprints): with
 * a hash anyone can compute, it could aim them all at one run of slots.
 */
static uint64_t sums_seed;

void
ds_dump_sums_set_seed(uint64_t seed)
{
	sums_seed = seed;
}

static uint32_t
sums_find(const struct ds_dump_sums *s, const char *label, size_t len, uint64_t h)
{
	uint32_t mask = s->n_slots - 1, i = (uint32_t)h & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t k = s->slot[i];

		if (k == 0)
			return i;
		k--;
		if (s->off[k + 1] - s->off[k] == len &&
		    memcmp(s->labels + s->off[k], label, len) == 0)
			return i;
	}
}

/* Room for n more labels of len bytes in all: arrays, buffer, and the index at half full. */
int
ds_dump_sums_reserve(struct ds_dump_sums *s, uint32_t n, size_t len)
{
	void *p;

	if (s->len + len > s->cap_labels) {
		size_t cap = s->cap_labels ? s->cap_labels : 4096;

		while (cap < s->len + len)
			cap *= 2;
		if ((p = realloc(s->labels, cap)) == NULL)
			return -ENOMEM;
		s->labels = p;
		s->cap_labels = cap;
	}
	if (s->n + n > s->cap) {
		uint32_t cap = s->cap ? s->cap : 256;

		while (cap < s->n + n)
			cap *= 2;
		if ((p = realloc(s->off, (cap + 1) * sizeof(*s->off))) == NULL)
			return -ENOMEM;
		s->off = p;
		if ((p = realloc(s->sum, cap * sizeof(*s->sum))) == NULL)
			return -ENOMEM;
		s->sum = p;
		s->cap = cap;
	}
	if (2 * ((size_t)s->n + n) > s->n_slots) {
		uint32_t n_slots = s->n_slots ? s->n_slots : 512;
		uint32_t *old = s->slot;

		while (n_slots < 2 * ((size_t)s->n + n))
			n_slots *= 2;
		if ((s->slot = calloc(n_slots, sizeof(*s->slot))) == NULL) {
			s->slot = old;
			return -ENOMEM;
		}
		s->n_slots = n_slots;
		for (uint32_t k = 0; k < s->n; k++) {
			const char *l = s->labels + s->off[k];
			size_t ln = s->off[k + 1] - s->off[k];

			s->slot[sums_find(s, l, ln, ds_murmur64a(l, ln, sums_seed))] = k + 1;
		}
		free(old);
	}
	return 0;
}

int
ds_dump_sums_add(struct ds_dump_sums *s, const char *label, size_t len, uint64_t v)
{
	uint64_t h = ds_murmur64a(label, len, sums_seed);
	uint32_t i;

	if (s->n_slots > 0) {
		i = sums_find(s, label, len, h);
		if (s->slot[i] != 0) {
			s->sum[s->slot[i] - 1] += v;
			return 0;
		}
	}
	if (ds_dump_sums_reserve(s, 1, len) < 0)
		return -ENOMEM;
	if (s->n == 0)
		s->off[0] = 0;
	memcpy(s->labels + s->len, label, len);
	s->len += len;
	s->sum[s->n] = v;
	s->off[s->n + 1] = s->len;
	s->n++;
	s->slot[sums_find(s, label, len, h)] = s->n;
	return 0;
}

void
ds_dump_sums_clear(struct ds_dump_sums *s)
{
	if (s->n_slots > 0)
		memset(s->slot, 0, s->n_slots * sizeof(*s->slot));
	s->n = 0;
	s->len = 0;
}

void
ds_dump_sums_free(struct ds_dump_sums *s)
{
	free(s->labels);
	free(s->off);
	free(s->sum);
	free(s->slot);
	memset(s, 0, sizeof(*s));
}
