/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Sorted sets and HyperLogLogs in Redis' own formats, built by the client
 * (ds_redis.c) so that the server only has to copy them in. ds_dump.c says
 * why and what the formats are. Private to lib/redis.
 */

#ifndef DS_DUMP_H
#define DS_DUMP_H

#include <stddef.h>
#include <stdint.h>

/* Redis' CRC-64 (Jones polynomial, reflected, no final xor), as DUMP payloads carry it. */
uint64_t ds_crc64(uint64_t crc, const void *p, size_t n);

/* Redis' MurmurHash64A (hyperloglog.c), whatever the host's byte order. */
uint64_t ds_murmur64a(const void *key, size_t len, uint64_t seed);

/* A dense HyperLogLog as Redis stores it: 16-byte header, 16384 registers of 6 bits. */
#define DS_HLL_REGISTERS 16384
#define DS_HLL_DENSE_SIZE (16 + DS_HLL_REGISTERS * 6 / 8)

/* An empty dense HyperLogLog: header "HYLL", dense, cached cardinality invalid. */
void ds_hll_init(uint8_t hll[DS_HLL_DENSE_SIZE]);

/* Add one element (the bytes PFADD would get) to a dense HyperLogLog. */
void ds_hll_add(uint8_t hll[DS_HLL_DENSE_SIZE], const void *ele, size_t len);

/* Sorting scratch: a key and the index it belongs to. */
struct ds_dump_item {
	uint64_t key;
	uint32_t idx;
};

/*
 * One dimension's members, to be dumped as one or more sorted sets with the
 * same labels and different scores (packets, sources, bytes). The buffers
 * are kept from call to call; zero-initialise, free with ds_dump_zset_free().
 */
struct ds_dump_zset {
	const char *labels;         /* label k is labels[off[k]] .. labels[off[k + 1]] */
	const size_t *off;
	uint32_t n;                 /* labels given */
	uint32_t n_members;         /* distinct labels: the members of each zset */
	uint32_t *rank;             /* label k -> its member, in Redis' member order */
	uint32_t *first;            /* member -> a label k that names it */
	uint64_t *sum;              /* member -> its score in the zset being built */
	struct ds_dump_item *items, *tmp;
	size_t cap;
};

/*
 * Take n labels (not copied: they must stay until the last write) and order
 * them as Redis orders zset members (memcmp, then length). Labels that are
 * the same bytes make one member, whose score is the sum of theirs.
 * Returns 0 or -ENOMEM.
 */
int ds_dump_zset_labels(struct ds_dump_zset *z, const char *labels, const size_t *off, uint32_t n);

/*
 * Order the members by the scores of one zset: label k's score is the
 * uint64_t at base + k * stride. Returns the size of the payload that
 * ds_dump_zset_write() will write for these scores.
 */
size_t ds_dump_zset_order(struct ds_dump_zset *z, const void *base, size_t stride);

/*
 * Write the payload that RESTORE takes to out (as many bytes as
 * ds_dump_zset_order() returned): members greatest first, so that every
 * insert of the server's load lands at the head of its skiplist.
 */
void ds_dump_zset_write(const struct ds_dump_zset *z, uint8_t *out);

void ds_dump_zset_free(struct ds_dump_zset *z);

/*
 * Sums by label (a period's zset as the client last wrote it): labels in
 * one buffer in the order they came, label k at labels[off[k]] ..
 * labels[off[k + 1]] with sum[k], ready for ds_dump_zset_labels(); slot[]
 * indexes them by hash (k + 1, 0 empty). Zero-initialise.
 */
struct ds_dump_sums {
	char *labels;
	size_t len, cap_labels;
	size_t *off;                /* n + 1 entries */
	uint64_t *sum;
	uint32_t n, cap;
	uint32_t *slot;
	uint32_t n_slots;           /* a power of two, at least twice n */
};

/*
 * Room for n more labels of len bytes in all, so that adding them does not
 * grow the buffers or rebuild the index label by label. 0 or -ENOMEM.
 */
int ds_dump_sums_reserve(struct ds_dump_sums *s, uint32_t n, size_t len);

/* Add v to the sum of a label, adding the label if new. 0 or -ENOMEM. */
int ds_dump_sums_add(struct ds_dump_sums *s, const char *label, size_t len, uint64_t v);

/* Forget every label; the buffers are kept for the next labels. */
void ds_dump_sums_clear(struct ds_dump_sums *s);

/* Forget every label; the buffers are freed. */
void ds_dump_sums_free(struct ds_dump_sums *s);

/*
 * Key the hash that indexes every struct ds_dump_sums of the process with a
 * secret (0, the default, is MurmurHash64A unkeyed). Call it before the first
 * label is added: labels already indexed would no longer be found.
 */
void ds_dump_sums_set_seed(uint64_t seed);

#endif /* DS_DUMP_H */
