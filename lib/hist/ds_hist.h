/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Per-worker minute histograms and their merge.
 *
 * Broad overview
 * --------------
 * Each worker owns minute buffers (struct ds_minbuf). While a minute runs,
 * the worker is the only thread that touches its buffer: counting a packet
 * is a handful of increments into plain memory, with no lock, no atomic
 * read-modify-write, no allocation and no system call. When the minute ends
 * the worker hands the buffer to the control thread and continues in a fresh
 * one; the control thread merges the buffers of all workers for that minute
 * into one struct ds_rollup (ds_merge_minute()), resets them and hands them
 * back. The hand-off protocol itself lives with the worker loop
 * (app/darkscope/worker.h); this library is pure and testable without EAL.
 *
 *     worker 0: [minbuf m ]--seal-->+
 *     worker 1: [minbuf m ]--seal-->+--> ds_merge_minute() --> ds_rollup --> sinks
 *     worker n: [minbuf m ]--seal-->+         (control thread)
 *
 * What a buffer holds, per feed:
 *  - packets and bytes, and bytes per IP protocol;
 *  - one dense counter array per dimension (ds_rollup.h: enum ds_dim), indexed
 *    by the value itself: a TCP port, a window, type << 8 | code. Dense arrays
 *    cost no hashing and cannot be grown by a sender; a map of touched
 *    64-counter blocks, a byte each, lets merge and reset visit only what
 *    was used;
 *  - SYN option layouts, SYN fingerprints and source ASes, which a sender
 *    can multiply at will, get small per-buffer ids from bounded
 *    dictionaries; beyond limits.syn_option_layouts, tcp_fingerprints and
 *    src_asns they share the `other` id. A buffer's ids mean nothing
 *    elsewhere: pair hashes are taken over the layout, fingerprint or AS
 *    itself, and the merge maps ids;
 *  - built-in signatures and watch rules, each alone and split by source
 *    country and by domestic/overseas (value = index << 10 | country,
 *    index << 2 | home).
 *
 * Distinct sources
 * ----------------
 * "Distinct sources per value" needs the set of (feed, dimension, value,
 * source) pairs: with RSS one source reaches several workers, so per-worker
 * counts cannot simply be added; the sets must be united. Each buffer keeps
 * its pairs in one open-addressing table of 64-bit keys:
 *
 *     63     58 57     52 51                 32 31                 0
 *    +---------+---------+---------------------+--------------------+
 *    |  feed   |  dim+1  |       value         |  source address    |
 *    +---------+---------+---------------------+--------------------+
 *
 * (dim 0 is the feed's own total; IPv6 sources use a 32-bit hash of the
 * address). The merge unites the workers' tables and counts pairs per value.
 * The table is bounded by limits.source_pairs. When a worker's table is 3/4
 * full it raises its sampling level k and keeps only the pairs of the sources
 * whose hash (of feed and source: ds_pair_sample_hash()) has its top k bits
 * zero: a uniform 1/2^k sample of the sources, each with all of its pairs,
 * that is still mergeable (Gibbons' distinct sampling, over sources): the
 * merge takes the highest level of all workers, filters the others to it and
 * reports sources as kept * 2^k. For any one value the kept sources are a
 * Binomial(n, 2^-k) draw of its n sources, as a sample of pairs would give;
 * but a packet whose source is out of the sample makes no pair at all, which
 * is what a flood of spoofed sources needs. Below the bound, which a real
 * darknet minute rarely reaches, every count is exact.
 *
 * Raising the level does not stop the worker: the pairs the new level
 * excludes are swept out of the table DS_PAIRS_SWEEP_STEP slots after each
 * burst (ds_minbuf_flush()), and only a table that reaches 7/8 full before
 * the sweep ends is swept at once. A buffer handed over mid-sweep is swept
 * to the end by the merge, on the control thread (ds_minbuf_seal()).
 */

#ifndef DS_HIST_H
#define DS_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ds_decode.h"
#include "ds_rollup.h"
#include "ds_sig.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DS_HIST_MAX_FEEDS 64    /**< 6 bits of the pair key */
#define DS_HIST_MAX_PORTS 32    /**< ports with an `outside` counter */

/** Sizes of a minute buffer; every bound a remote sender could push on. */
struct ds_hist_limits {
	uint32_t n_feeds;            /**< 1 - DS_HIST_MAX_FEEDS */
	uint32_t source_pairs;       /**< pair-table slots, power of two >= 1024 */
	uint32_t syn_option_layouts; /**< distinct SYN option layouts, 1 - 65535 */
	uint32_t src_asns;           /**< distinct source ASes, 1 - 1048574 */
	uint32_t tcp_fingerprints;   /**< distinct SYN fingerprints, 1 - 65535 */
	uint32_t srcset_values;      /**< per dimension, the values with the most packets
					  whose sources the rollup lists (0: none) */
};

/** Dense packet counters of one dimension, indexed by value. */
struct ds_dense {
	uint32_t *count;        /**< [size]; per worker-minute, so 32 bits hold 71 Mpps */
	/**
	 * Byte b non-zero: count[b * 64 .. b * 64 + 63] may be non-zero. A
	 * byte, not a bit, so that marking a block is a plain store, with no
	 * load of the word it shares with 63 other blocks.
	 */
	uint8_t *touched;
	uint32_t size;
};

struct ds_feed_hist {
	uint64_t packets;
	uint64_t bytes;
	uint64_t proto_bytes[256];
	struct ds_dense dims[DS_DIM_MAX];
};

/** Slots of the pair table per bit of its touched map: one 64-byte line. */
#define DS_PAIRS_LINE 8

/** The distinct-pair table (see the overview). Key 0 marks an empty slot. */
struct ds_pairs {
	uint64_t *slots;
	/**
	 * Bit b: line b (slots b * 8 .. b * 8 + 7) has held a key this minute.
	 * Merge and reset visit only those lines: a quiet minute costs a few
	 * words, not a walk of the whole table. 1/512 of the table's size.
	 */
	uint64_t *touched;
	uint32_t n;             /**< keys held */
	uint32_t max_n;         /**< ds_minbuf_sample_more() beyond it: load_n, or 7/8 in a sweep */
	uint32_t load_n;        /**< 3/4 of the slots: beyond it, sample */
	uint32_t mask;          /**< slots - 1 */
	uint8_t level;          /**< sampling level k */
	bool sweeping;          /**< keys the level excludes may still be in the table */
	uint32_t sweep_at;      /**< next slot the sweep visits */
	uint32_t sweep_left;    /**< slots left in its round; then on to an empty slot */
	uint64_t keep_max;      /**< keep a key iff its sample hash <= keep_max (UINT64_MAX >> k) */
};

/** Slots a sweep visits after each burst: 2^20 slots in 512 bursts. */
#define DS_PAIRS_SWEEP_STEP 2048

/**
 * Pairs a burst produced, waiting to enter the table. Counting first
 * gathers them with their hashes; ds_minbuf_flush() then inserts them while
 * prefetching the slots a few pairs ahead, so the table's cache misses
 * overlap instead of stalling one after the other.
 */
struct ds_pair_pend {
	uint64_t key;
	uint64_t hash;
};

#define DS_PEND_CAP 1024        /**< pending pairs per buffer */
/** Most pairs one packet makes: feed, proto, 3 geo, 4 TCP, 3 per signature and rule. */
#define DS_PAIRS_PER_PKT_MAX (9 + 3 * 64 * 2)
#define DS_PAIR_PREFETCH 12     /**< pairs prefetched ahead of the one inserted */

/** A dictionary entry: a SYN's option layout or its whole fingerprint, and its hash. */
struct ds_dict_entry {
	uint64_t hash;
	struct ds_fingerprint key;
	/**
	 * Fingerprints: 1 + the id of their option layout in the same buffer,
	 * 0 until known. A known fingerprint thus needs no layout lookup.
	 */
	uint32_t aux;
};

/** Bounded dictionary fingerprint -> id, per buffer (layouts use only n and kinds). */
struct ds_dict {
	/**
	 * Open addressing: the key hash's top 32 bits << 32 | (id + 1); 0
	 * empty. The tag settles most mismatches without touching by_id: a
	 * spray of new layouts probes a full dictionary on every SYN.
	 */
	uint64_t *slot_id;
	struct ds_dict_entry *by_id; /**< [cap] */
	uint32_t n;             /**< ids given */
	uint32_t cap;           /**< the limit; id cap is `other` */
	uint32_t mask;
};

/** Bounded dictionary AS number -> id, per buffer. */
struct ds_asns {
	uint64_t *slot_id;      /**< open addressing: AS << 32 | (id + 1), 0 empty: one line a probe */
	uint32_t *by_id;        /**< [cap]: the AS of each id */
	uint32_t n;
	uint32_t cap;           /**< limits.src_asns; id cap is `other` */
	uint32_t mask;
};

/** Sensor-wide counters of one worker-minute (docs/SCHEMA.md, "Counters"). */
struct ds_minbuf_counters {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t non_ip;
	uint64_t fragments;
	uint64_t late;
	uint64_t no_timestamp;
	uint64_t malformed[DS_DECODE_RESULT_MAX];
	uint64_t port_rx[DS_HIST_MAX_PORTS];    /**< frames per port index */
	uint64_t outside[DS_HIST_MAX_PORTS];
};

/** One worker's histograms of one minute. */
struct ds_minbuf {
	int64_t minute;                 /**< minutes since the epoch */
	struct ds_minbuf_counters ctr;
	uint32_t n_feeds;
	struct ds_feed_hist *feeds;
	struct ds_pairs pairs;
	struct ds_pair_pend *pend;      /**< [DS_PEND_CAP], pairs not yet inserted */
	uint32_t n_pend;
	struct ds_dict layouts;          /**< DS_DIM_TCP_SYN_OPTIONS */
	struct ds_dict fps;              /**< DS_DIM_TCP_FINGERPRINT */
	struct ds_asns asns;             /**< DS_DIM_SRC_ASN */
	void *mem;                      /**< one mapping behind all arrays, 2 MiB-aligned */
	size_t mem_size;                /**< bytes mapped: used_size rounded up to 2 MiB */
	size_t used_size;               /**< bytes the arrays take (ds_minbuf_mem_size()) */
};

/**
 * Allocate a zeroed minute buffer.
 * @return the buffer, or NULL with errno EINVAL (limits out of range) or ENOMEM.
 */
struct ds_minbuf *ds_minbuf_create(const struct ds_hist_limits *lim);

/** Bytes one buffer needs for @p lim (for sizing and documentation). */
size_t ds_minbuf_mem_size(const struct ds_hist_limits *lim);

/** Free a buffer; NULL is a no-op. */
void ds_minbuf_free(struct ds_minbuf *b);

/**
 * Zero everything counted and label the buffer with a new minute. Visits
 * only what was touched, so resetting a quiet minute is cheap.
 */
void ds_minbuf_reset(struct ds_minbuf *b, int64_t minute);

/**
 * The table is full (slow path of ds_pairs_add()): raise the sampling level
 * and start the sweep of the pairs it excludes; if a sweep is still going,
 * finish it first.
 */
void ds_minbuf_sample_more(struct ds_minbuf *b);

/** Visit up to @p slots slots of a running sweep (ds_minbuf_flush() does). */
void ds_pairs_sweep(struct ds_minbuf *b, uint32_t slots);

/**
 * Make the buffer ready to merge: insert the pending pairs and finish a
 * sweep. ds_merge_minute() calls it, on the control thread, so a sweep the
 * worker left running at the minute's end costs the worker nothing.
 */
void ds_minbuf_seal(struct ds_minbuf *b);

/* Bits of the pair key. */
#define DS_PAIR_SRC_BITS 32
#define DS_PAIR_VALUE_SHIFT 32
#define DS_PAIR_VALUE_MASK 0xfffffu
#define DS_PAIR_DIM_SHIFT 52
#define DS_PAIR_FEED_SHIFT 58
#define DS_PAIR_DIM_ALL 0       /**< dim field 0: the feed's total */
/** The bits of a pair key that name its feed and source: the key of the feed's own pair. */
#define DS_PAIR_SOURCE_BITS (0x3fULL << DS_PAIR_FEED_SHIFT | 0xffffffffULL)

/** 64-bit finaliser (murmur3 fmix64): cheap, and good in every bit. */
static inline uint64_t
ds_hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/*
 * Keyed hashes
 * ------------
 * Every key a table here holds is chosen by a sender: a source address, a
 * port, a SYN's window and options, an AS by the source's address. With a
 * hash anyone can compute, a sender could aim thousands of keys at one run
 * of slots, and every probe into that run would walk it: a few thousand
 * SYNs whose windows all land in one run of the fingerprint dictionary
 * would make each SYN cost thousands of probes. So the slot of a key in any
 * table of the workers and of the merge is ds_slot_hash(), keyed with a
 * secret of the process; where a key lands changes no count. The sample of
 * sources (ds_pair_sample_hash()) is keyed too, or a sender could choose
 * sources that every sampling level keeps and so multiply its weight in the
 * estimates; but which sources a sampled minute keeps is then the process's
 * choice, and a replay that must come out the same every time sets no
 * sample seed. ds_hash64() itself stays unkeyed, for identities that must
 * not change between runs (ds_hist_src6()).
 */

/** The seeds of the keyed hashes; both 0 (unkeyed) until ds_hist_set_seeds(). */
struct ds_hist_seeds {
	uint64_t slot;          /**< where keys land in the tables */
	uint64_t sample;        /**< which sources a sampled minute keeps */
};

extern struct ds_hist_seeds ds_hist_seeds;

/**
 * Key this process's hashes. Call it once, before any buffer counts a packet
 * or any merge runs: keys already in a table would no longer be found.
 */
void ds_hist_set_seeds(uint64_t slot, uint64_t sample);

/** Slot hash of a key in every open-addressing table (see "Keyed hashes"). */
static inline __attribute__((always_inline)) uint64_t
ds_slot_hash(uint64_t key)
{
	return ds_hash64(key ^ ds_hist_seeds.slot);
}

/**
 * The hash that decides whether a pair is in the sample: that of its feed and
 * source alone, so a source is kept or dropped with all of its pairs (see the
 * overview).
 */
static inline __attribute__((always_inline)) uint64_t
ds_pair_sample_hash(uint64_t key)
{
	return ds_hash64((key & DS_PAIR_SOURCE_BITS) ^ ds_hist_seeds.sample);
}

/** Identity of an IPv6 source in 32 bits (see the overview). */
static inline uint32_t
ds_hist_src6(const uint8_t a[16])
{
	uint64_t hi = 0, lo = 0;

	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | a[i];
		lo = lo << 8 | a[8 + i];
	}
	return (uint32_t)(ds_hash64(hi ^ ds_hash64(lo)) >> 32);
}

/**
 * Insert a pair key with its slot hash @p h unless the sample excludes it or
 * it is already present. The slot hash must be the same on every worker for
 * the same pair (see ds_minbuf_count()). Its source was in the sample when
 * the pair was queued; it is tested again only in a sampled minute, as the
 * level may have risen since.
 */
static inline void
ds_pairs_add(struct ds_minbuf *b, uint64_t key, uint64_t h)
{
	struct ds_pairs *p = &b->pairs;
	uint32_t i = (uint32_t)h & p->mask;

	if (p->level != 0 && ds_pair_sample_hash(key) > p->keep_max)
		return;
	while (p->slots[i] != 0) {
		if (p->slots[i] == key)
			return;
		i = (i + 1) & p->mask;
	}
	p->slots[i] = key;
	p->touched[i / (DS_PAIRS_LINE * 64)] |= 1ULL << (i / DS_PAIRS_LINE % 64);
	p->n++;
	if (__builtin_expect(p->n >= p->max_n, 0))
		ds_minbuf_sample_more(b);
}

/*
 * Queue a pair of a source in the sample for ds_minbuf_flush(). Counting
 * tests the source once a packet and makes no pair at all for one outside.
 */
static inline void
ds_pairs_push(struct ds_minbuf *b, uint64_t key, uint64_t h)
{
	b->pend[b->n_pend].key = key;
	b->pend[b->n_pend].hash = h;
	b->n_pend++;
}

/**
 * Insert the pending pairs into the pair table, then take the next step of
 * a sweep. The worker calls it after each burst and before handing a buffer
 * over; ds_merge_minute() seals the buffer, so no caller can forget pairs.
 */
static inline void
ds_minbuf_flush(struct ds_minbuf *b)
{
	const struct ds_pair_pend *q = b->pend;
	const uint64_t *slots = b->pairs.slots;
	uint32_t n = b->n_pend, mask = b->pairs.mask;

	for (uint32_t i = 0; i < n && i < DS_PAIR_PREFETCH; i++)
		__builtin_prefetch(&slots[q[i].hash & mask], 1);
	for (uint32_t i = 0; i < n; i++) {
		if (i + DS_PAIR_PREFETCH < n)
			__builtin_prefetch(&slots[q[i + DS_PAIR_PREFETCH].hash & mask], 1);
		ds_pairs_add(b, q[i].key, q[i].hash);
	}
	b->n_pend = 0;
	if (__builtin_expect(b->pairs.sweeping, 0))
		ds_pairs_sweep(b, DS_PAIRS_SWEEP_STEP);
}

static inline __attribute__((always_inline)) void
ds_dense_inc(struct ds_dense *d, uint32_t v)
{
	d->count[v]++;
	d->touched[v >> 6] = 1;
}

/*
 * Dictionary keys as words
 * ------------------------
 * A SYN's fingerprint is hashed and compared as six 64-bit words, built from
 * the decoded packet in registers (ds_syn_key_of()): word 0 holds window,
 * MSS, window scale, TTL class, DS_FP_* flags and the number of option kinds;
 * words 1-5 the 40 option kinds, zero beyond that number. Its option layout
 * is the same key with only the number in word 0. The worker computes the
 * key a few packets ahead, which lets it prefetch both dictionary slots.
 */

/** A TCP SYN's dictionary key and the hashes of its fingerprint and layout. */
struct ds_syn_key {
	uint64_t w[6];
	uint64_t fp_hash;
	uint64_t layout_hash;
};

/** Word 0 of a fingerprint key. */
static inline uint64_t
ds_fp_word0(uint16_t window, uint16_t mss, uint8_t wscale, uint8_t ttl_class, uint8_t flags,
	    uint8_t n)
{
	return (uint64_t)window | (uint64_t)mss << 16 | (uint64_t)wscale << 32 |
	       (uint64_t)ttl_class << 40 | (uint64_t)flags << 48 | (uint64_t)n << 56;
}

/** Word 0 of a layout key: only the number of kinds. */
static inline uint64_t
ds_layout_word0(uint64_t fp_word0)
{
	return fp_word0 & 0xff00000000000000ULL;
}

/** 64 x 64 -> 128-bit multiply folded to 64 bits (wyhash's "mum"). */
static inline uint64_t
ds_mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)(r >> 64) ^ (uint64_t)r;
}

/*
 * Two words into one: their product under two constants, plus both words,
 * so that a word equal to its constant (a zero factor) does not make its
 * partner vanish from the hash.
 */
static inline uint64_t
ds_mix_pair(uint64_t a, uint64_t b, uint64_t ca, uint64_t cb)
{
	return ds_mum(a ^ ca, b ^ cb) + a + b;
}

/** The part of a key's hash that only the kinds after the first eight make. */
static inline __attribute__((always_inline)) uint64_t
ds_dict_kinds_mix(const uint64_t *kinds)
{
	return ds_mix_pair(kinds[1], kinds[2], 0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL) ^
	       ds_mix_pair(kinds[3], kinds[4], 0x452821e638d01377ULL, 0xbe5466cf34e90c6cULL);
}

/** A key's hash from word 0, the first word of kinds and ds_dict_kinds_mix() of all five. */
static inline __attribute__((always_inline)) uint64_t
ds_dict_key_hash_mixed(uint64_t w0, uint64_t kinds0, uint64_t kinds_mix)
{
	return ds_slot_hash(ds_mix_pair(w0, kinds0, 0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL) ^
			    kinds_mix);
}

/**
 * Hash of a dictionary key (word 0, then the five words of kinds): three
 * independent multiplies and one finaliser rather than a chain of six
 * finalisers, whose latency a spray of new fingerprints would pay twice per
 * SYN. A fingerprint and its layout share the kinds, so ds_syn_key_of()
 * mixes them once for both hashes.
 */
static inline uint64_t
ds_dict_key_hash(uint64_t w0, const uint64_t *kinds)
{
	return ds_dict_key_hash_mixed(w0, kinds[0], ds_dict_kinds_mix(kinds));
}

/** Is the packet a TCP SYN (no ACK) whose header was decoded: one with a fingerprint? */
static inline bool
ds_pkt_is_syn(const struct ds_pkt *p)
{
	return p->proto == 6 && (p->flags & DS_PKT_F_L4) &&
	       (p->tcp_flags & (DS_TCP_SYN | DS_TCP_ACK)) == DS_TCP_SYN;
}

/** The mask that keeps the first @p have (0-8) option kinds of a word of kinds. */
static inline uint64_t
ds_kinds_mask(uint32_t have)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return have == 0 ? 0 : ~0ULL >> (64 - 8 * have);
#else
	return have == 0 ? 0 : ~0ULL << (64 - 8 * have);
#endif
}

/** The dictionary key of a decoded TCP SYN; equal to ds_fingerprint_of()'s, as words. */
static inline void
ds_syn_key_of(const struct ds_pkt *p, struct ds_syn_key *k)
{
	uint8_t n = p->n_opts <= DS_TCP_MAX_OPTS ? p->n_opts : DS_TCP_MAX_OPTS;
	uint8_t flags = ds_fp_flags(p->flags);
	static const uint64_t no_kinds[5];
	uint64_t kinds_mix;

	_Static_assert(DS_TCP_MAX_OPTS == 5 * 8, "five words of option kinds");
	/*
	 * ds_decode() leaves the kinds beyond n zero; a hand-made packet may
	 * not, so they are masked. Most SYNs carry eight kinds or fewer: one
	 * word, and the other four zero, whose mix is a constant.
	 */
	if (n <= 8) {
		memcpy(&k->w[1], p->opt_kinds, 8);
		k->w[1] &= ds_kinds_mask(n);
		k->w[2] = k->w[3] = k->w[4] = k->w[5] = 0;
		kinds_mix = ds_dict_kinds_mix(no_kinds);
	} else {
		memcpy(&k->w[1], p->opt_kinds, DS_TCP_MAX_OPTS);
		for (uint32_t i = 1; i < 5; i++) {
			uint32_t have = n > 8 * i ? n - 8 * i : 0;

			k->w[1 + i] &= ds_kinds_mask(have < 8 ? have : 8);
		}
		kinds_mix = ds_dict_kinds_mix(&k->w[1]);
	}
	k->w[0] = ds_fp_word0(p->window, (flags & DS_FP_MSS) ? p->mss : 0,
			      (flags & DS_FP_WS) ? p->wscale : 0, ds_fp_ttl_class(p->ttl), flags, n);
	k->fp_hash = ds_dict_key_hash_mixed(k->w[0], k->w[1], kinds_mix);
	k->layout_hash = ds_dict_key_hash_mixed(ds_layout_word0(k->w[0]), k->w[1], kinds_mix);
}

/**
 * Id of a key (word 0 @p w0, option kinds @p kinds, hash @p h) in a
 * dictionary, adding it when new; d->cap (the `other` id) once the
 * dictionary is full. Workers call it for SYNs, the merge to map a worker's
 * ids into its own.
 */
uint32_t ds_dict_id(struct ds_dict *d, uint64_t h, uint64_t w0, const uint64_t *kinds);

/** ds_syn_key_of()'s fingerprint hash, from a struct ds_fingerprint. */
uint64_t ds_fingerprint_hash(const struct ds_fingerprint *fp);

/** Hash standing for the `other` id of a dictionary in pair hashes. */
#define DS_LAYOUT_OTHER_HASH 0x9e3779b97f4a7c15ULL

/**
 * Id of an AS in this buffer, adding it when new; a->cap (the `other` id)
 * once the dictionary is full.
 */
static inline uint32_t
ds_asns_id(struct ds_asns *a, uint32_t asn)
{
	uint32_t i = (uint32_t)ds_slot_hash(asn) & a->mask;

	while (a->slot_id[i] != 0) {
		if (a->slot_id[i] >> 32 == asn)
			return (uint32_t)a->slot_id[i] - 1;
		i = (i + 1) & a->mask;
	}
	if (a->n == a->cap)
		return a->cap;
	a->by_id[a->n] = asn;
	a->slot_id[i] = (uint64_t)asn << 32 | ++a->n;
	return a->n - 1;
}

/** Hash standing for an AS id in pair hashes: the AS itself, or `other`. */
static inline uint64_t
ds_asns_hash(const struct ds_asns *a, uint32_t id)
{
	return id < a->n ? ds_hash64((uint64_t)a->by_id[id] << 1 | 1) : DS_LAYOUT_OTHER_HASH;
}

/** Hash standing for dictionary id @p id in pair hashes (the `other` id included). */
static inline uint64_t
ds_dict_hash(const struct ds_dict *d, uint32_t id)
{
	return id < d->n ? d->by_id[id].hash : DS_LAYOUT_OTHER_HASH;
}

/** What the geo tables say about a packet's source (DS_ASN_*, DS_CC_*, DS_HOME_*). */
struct ds_src_geo {
	uint32_t asn;
	uint16_t cc;
	uint8_t home;           /**< DS_HOME_MAX: no home country configured, not counted */
};

/**
 * Prefetch the counters and dictionary slots counting this packet will
 * touch (see ds_minbuf_count_key()). The worker calls it a few packets ahead of
 * the one it counts, so those cache misses overlap instead of queueing.
 * @p sk is the packet's key (ds_syn_key_of()) when it is a TCP SYN, else
 * NULL.
 */
static inline void
ds_minbuf_prefetch(const struct ds_minbuf *b, uint32_t feed, const struct ds_pkt *p,
		   const struct ds_src_geo *g, const struct ds_syn_key *sk)
{
	const struct ds_feed_hist *f = &b->feeds[feed];

	if (g != NULL) {
		__builtin_prefetch(&b->asns.slot_id[(uint32_t)ds_slot_hash(g->asn) & b->asns.mask]);
		__builtin_prefetch(&f->dims[DS_DIM_SRC_COUNTRY].count[g->cc], 1);
	}
	if (!(p->flags & DS_PKT_F_L4))
		return;
	switch (p->proto) {
	case 6:
		__builtin_prefetch(&f->dims[DS_DIM_TCP_DST_PORT].count[p->dport], 1);
		__builtin_prefetch(&f->dims[DS_DIM_TCP_DST_PORT].touched[p->dport >> 6], 1);
		if ((p->tcp_flags & (DS_TCP_SYN | DS_TCP_ACK)) == DS_TCP_SYN) {
			__builtin_prefetch(&f->dims[DS_DIM_TCP_SYN_WINDOW].count[p->window], 1);
			__builtin_prefetch(&f->dims[DS_DIM_TCP_SYN_WINDOW].touched[p->window >> 6],
					   1);
			if (sk != NULL) {
				__builtin_prefetch(&b->fps.slot_id[sk->fp_hash & b->fps.mask]);
				__builtin_prefetch(
					&b->layouts.slot_id[sk->layout_hash & b->layouts.mask]);
			}
		}
		break;
	case 17:
		__builtin_prefetch(&f->dims[DS_DIM_UDP_DST_PORT].count[p->dport], 1);
		break;
	default:
		break;
	}
}

/* Count value v of a dense dimension, and its (value, source) pair if the source is kept. */
#define DS_COUNT(d, v)                                                                     \
	do {                                                                               \
		ds_dense_inc(&f->dims[d], (v));                                            \
		if (keep) {                                                                \
			key = DS_PAIR(d, (v));                                             \
			ds_pairs_push(b, key, ds_slot_hash(key));                          \
		}                                                                          \
	} while (0)

/* Count a dictionary id of a dimension; the pair hash is taken over the key itself. */
#define DS_COUNT_ID(d, id, keyhash)                                                        \
	do {                                                                               \
		ds_dense_inc(&f->dims[d], (id));                                           \
		if (keep) {                                                                \
			key = DS_PAIR(d, 0);                                               \
			ds_pairs_push(b, key | (uint64_t)(id) << DS_PAIR_VALUE_SHIFT,       \
				      ds_slot_hash(key ^ (keyhash)));                      \
		}                                                                          \
	} while (0)

/*
 * Count the signatures (or watch rules) in @p bits: alone, by country, by
 * home. @p base is DS_DIM_SIGNATURE or DS_DIM_WATCH; the _COUNTRY and _HOME
 * dimensions follow it.
 */
#define DS_COUNT_BITS(base, bits)                                                          \
	do {                                                                               \
		uint64_t m_ = (bits);                                                      \
		while (m_ != 0) {                                                          \
			uint32_t i_ = (uint32_t)__builtin_ctzll(m_);                       \
			m_ &= m_ - 1;                                                      \
			DS_COUNT(base, i_);                                                \
			if (g == NULL)                                                     \
				continue;                                                  \
			DS_COUNT((base) + 1, i_ << 10 | g->cc);                            \
			if (g->home < DS_HOME_MAX)                                         \
				DS_COUNT((base) + 2, i_ << 2 | g->home);                   \
		}                                                                          \
	} while (0)

/**
 * Count one decoded packet of feed @p feed into buffer @p b.
 * @p wire_len is the frame length as received; @p g the source's AS and
 * country, or NULL when no geo data is configured; @p sigs the built-in
 * signatures (ds_sig_match()) and @p rules the watch rules
 * (ds_watch_match()) the packet carries; @p sk the packet's key
 * (ds_syn_key_of()) when the caller has it, else NULL.
 */
static inline void
ds_minbuf_count_key(struct ds_minbuf *b, uint32_t feed, const struct ds_pkt *p, uint32_t wire_len,
		    const struct ds_src_geo *g, uint64_t sigs, uint64_t rules,
		    const struct ds_syn_key *sk)
{
	struct ds_feed_hist *f = &b->feeds[feed];
	uint32_t src = p->ip_version == 4 ? p->src4 : ds_hist_src6(p->src6);
	uint64_t base = (uint64_t)feed << DS_PAIR_FEED_SHIFT | src;
	bool keep = ds_pair_sample_hash(base) <= b->pairs.keep_max;
	uint64_t key;
	uint32_t v;
	enum ds_dim dim;

#define DS_PAIR(d, val) \
	(base | (uint64_t)((d) + 1) << DS_PAIR_DIM_SHIFT | (uint64_t)(val) << DS_PAIR_VALUE_SHIFT)

	/* Room for this packet's pairs; normally the worker drains once a burst. */
	if (__builtin_expect(b->n_pend > DS_PEND_CAP - DS_PAIRS_PER_PKT_MAX, 0))
		ds_minbuf_flush(b);
	f->packets++;
	f->bytes += wire_len;
	f->proto_bytes[p->proto] += wire_len;
	if (keep)
		ds_pairs_push(b, base, ds_slot_hash(base));
	DS_COUNT(DS_DIM_PROTO, p->proto);
	if (g != NULL) {
		DS_COUNT(DS_DIM_SRC_COUNTRY, g->cc);
		if (g->home < DS_HOME_MAX)
			DS_COUNT(DS_DIM_SRC_HOME, g->home);
		/* Like layouts: a buffer-local id, a pair hash over the AS. */
		v = ds_asns_id(&b->asns, g->asn);
		DS_COUNT_ID(DS_DIM_SRC_ASN, v, ds_asns_hash(&b->asns, v));
	}
	if (sigs != 0)
		DS_COUNT_BITS(DS_DIM_SIGNATURE, sigs);
	if (rules != 0)
		DS_COUNT_BITS(DS_DIM_WATCH, rules);
	if (!(p->flags & DS_PKT_F_L4))
		return;

	switch (p->proto) {
	case 6:
		DS_COUNT(DS_DIM_TCP_DST_PORT, p->dport);
		if ((p->tcp_flags & (DS_TCP_SYN | DS_TCP_ACK)) != DS_TCP_SYN)
			return;
		DS_COUNT(DS_DIM_TCP_SYN_WINDOW, p->window);
		/*
		 * Dictionary ids are local to the buffer, so the pair's hash is
		 * taken over the layout or fingerprint itself: the same (value,
		 * source) pair hashes alike on every worker and is sampled alike.
		 */
		{
			struct ds_syn_key own;
			uint32_t lv;

			if (sk == NULL) {
				ds_syn_key_of(p, &own);
				sk = &own;
			}
			v = ds_dict_id(&b->fps, sk->fp_hash, sk->w[0], &sk->w[1]);
			DS_COUNT_ID(DS_DIM_TCP_FINGERPRINT, v, ds_dict_hash(&b->fps, v));
			if (v < b->fps.n && b->fps.by_id[v].aux != 0) {
				lv = b->fps.by_id[v].aux - 1;
			} else {
				lv = ds_dict_id(&b->layouts, sk->layout_hash,
						ds_layout_word0(sk->w[0]), &sk->w[1]);
				if (v < b->fps.n)
					b->fps.by_id[v].aux = lv + 1;
			}
			DS_COUNT_ID(DS_DIM_TCP_SYN_OPTIONS, lv, ds_dict_hash(&b->layouts, lv));
		}
		return;
	case 17:
		dim = DS_DIM_UDP_DST_PORT;
		v = p->dport;
		break;
	case 1:
		dim = DS_DIM_ICMP;
		v = (uint32_t)p->icmp_type << 8 | p->icmp_code;
		break;
	case 58:
		dim = DS_DIM_ICMP6;
		v = (uint32_t)p->icmp_type << 8 | p->icmp_code;
		break;
	default:
		return;
	}
	DS_COUNT(dim, v);
#undef DS_PAIR
}

/** ds_minbuf_count_key() without a precomputed key. */
static inline void
ds_minbuf_count(struct ds_minbuf *b, uint32_t feed, const struct ds_pkt *p, uint32_t wire_len,
		const struct ds_src_geo *g, uint64_t sigs, uint64_t rules)
{
	ds_minbuf_count_key(b, feed, p, wire_len, g, sigs, rules, NULL);
}
#undef DS_COUNT
#undef DS_COUNT_ID
#undef DS_COUNT_BITS

struct ds_merge;

/**
 * Create the merger used by the control thread (its scratch space grows as
 * needed; it is not used on the packet path).
 * @return the merger, or NULL with errno EINVAL or ENOMEM.
 */
struct ds_merge *ds_merge_create(const struct ds_hist_limits *lim);

/** Names the merge writes into a rollup. */
struct ds_merge_names {
	const char *sensor;
	const char *const *feeds;       /**< [lim.n_feeds] */
	const char *const *ports;       /**< [n_ports], for port.NAME.outside */
	uint32_t n_ports;
	const char *const *watch;       /**< [n_watch] watch rule names by index */
	uint32_t n_watch;
};

/** Free a merger; NULL is a no-op. */
void ds_merge_free(struct ds_merge *m);

/**
 * Merge the buffers of one minute (one per worker that saw the minute; n may
 * be 0 for a minute nobody saw) into a new rollup. Packets, bytes and
 * counters add up exactly; distinct sources are the union of the workers'
 * pair sets. The buffers are only read.
 *
 * @return the rollup (caller frees with ds_rollup_free()), or NULL with
 *         errno ENOMEM.
 */
struct ds_rollup *ds_merge_minute(struct ds_merge *m, struct ds_minbuf *const *bufs, uint32_t n,
				  const struct ds_merge_names *names, int64_t minute);

#ifdef __cplusplus
}
#endif

#endif /* DS_HIST_H */
