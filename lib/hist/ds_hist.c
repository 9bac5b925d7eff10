/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Minute buffers (allocation, reset, the slow paths of counting) and the
 * merge of several workers' buffers into one struct ds_rollup.
 *
 * The packet path is the static inline ds_minbuf_count_key() in ds_hist.h; what
 * is here runs either rarely on a worker (a new SYN option layout, a pair
 * table that needs sampling) or on the control thread (reset, merge). The
 * merge works in time proportional to what the minute touched, not to the
 * size of the tables: a replay of a sparse capture seals thousands of nearly
 * empty minutes per second.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "ds_hist.h"

struct ds_hist_seeds ds_hist_seeds;

void
ds_hist_set_seeds(uint64_t slot, uint64_t sample)
{
	ds_hist_seeds.slot = slot;
	ds_hist_seeds.sample = sample;
}

static const uint32_t dim_size[DS_DIM_MAX] = {
	[DS_DIM_PROTO] = 256,
	[DS_DIM_TCP_DST_PORT] = 65536,
	[DS_DIM_UDP_DST_PORT] = 65536,
	[DS_DIM_ICMP] = 65536,
	[DS_DIM_ICMP6] = 65536,
	[DS_DIM_TCP_SYN_WINDOW] = 65536,
	[DS_DIM_TCP_SYN_OPTIONS] = 0,
	[DS_DIM_SRC_COUNTRY] = DS_CC_MAX,
	[DS_DIM_SRC_ASN] = 0,
	[DS_DIM_SRC_HOME] = DS_HOME_MAX,
	[DS_DIM_TCP_FINGERPRINT] = 0,
	[DS_DIM_SIGNATURE] = 64,
	[DS_DIM_SIGNATURE_COUNTRY] = 64 << 10,
	[DS_DIM_SIGNATURE_HOME] = 64 << 2,
	[DS_DIM_WATCH] = 64,
	[DS_DIM_WATCH_COUNTRY] = 64 << 10,
	[DS_DIM_WATCH_HOME] = 64 << 2,
};

/* Values each dimension can take; dictionaries get their bound + 1 (`other`). */
static uint32_t
dim_values(const struct ds_hist_limits *lim, int d)
{
	if (d == DS_DIM_TCP_SYN_OPTIONS)
		return lim->syn_option_layouts + 1;
	if (d == DS_DIM_SRC_ASN)
		return lim->src_asns + 1;
	if (d == DS_DIM_TCP_FINGERPRINT)
		return lim->tcp_fingerprints + 1;
	return dim_size[d];
}

/* Bytes of a dense array's touched map: one per 64 counters. */
static uint32_t
touched_bytes(uint32_t size)
{
	return (size + 63) / 64;
}

/* Words of a pair table's touched map (source_pairs is a power of two >= 1024). */
static size_t
pairs_touched_words(uint32_t slots)
{
	return slots / (DS_PAIRS_LINE * 64);
}

static uint32_t
pow2_at_least(uint64_t x)
{
	uint32_t p = 1;

	while (p < x)
		p <<= 1;
	return p;
}

static int
limits_ok(const struct ds_hist_limits *lim)
{
	return lim != NULL && lim->n_feeds >= 1 && lim->n_feeds <= DS_HIST_MAX_FEEDS &&
	       lim->source_pairs >= 1024 && lim->source_pairs <= (1u << 28) &&
	       (lim->source_pairs & (lim->source_pairs - 1)) == 0 &&
	       lim->syn_option_layouts >= 1 && lim->syn_option_layouts <= 65535 &&
	       lim->src_asns >= 1 && lim->src_asns < DS_PAIR_VALUE_MASK &&
	       lim->tcp_fingerprints >= 1 && lim->tcp_fingerprints <= 65535;
}

/* Carve cache-aligned pieces out of one allocation (or, with base NULL, measure). */
struct carver {
	uint8_t *base;
	size_t off;
};

static void *
carve(struct carver *c, size_t bytes)
{
	void *p;

	c->off = (c->off + 63) & ~(size_t)63;
	p = c->base != NULL ? c->base + c->off : NULL;
	c->off += bytes;
	return p;
}

/* A dictionary of cap entries, in a table twice its size. */
static void
dict_carve(struct ds_dict *d, uint32_t cap, struct carver *c)
{
	uint32_t slots = pow2_at_least(2ull * cap);

	d->slot_id = carve(c, slots * sizeof(uint64_t));
	d->by_id = carve(c, cap * sizeof(struct ds_dict_entry));
	d->cap = cap;
	d->mask = slots - 1;
}

static void
minbuf_layout(struct ds_minbuf *b, const struct ds_hist_limits *lim, struct carver *c)
{
	uint32_t asn_slots = pow2_at_least(2ull * lim->src_asns);

	b->feeds = carve(c, lim->n_feeds * sizeof(*b->feeds));
	for (uint32_t f = 0; f < lim->n_feeds; f++) {
		for (int d = 0; d < DS_DIM_MAX; d++) {
			uint32_t size = dim_values(lim, d);
			uint32_t *count = carve(c, size * sizeof(uint32_t));
			uint8_t *touched = carve(c, touched_bytes(size));

			if (b->feeds != NULL) {
				b->feeds[f].dims[d].count = count;
				b->feeds[f].dims[d].touched = touched;
				b->feeds[f].dims[d].size = size;
			}
		}
	}
	b->pairs.slots = carve(c, (size_t)lim->source_pairs * sizeof(uint64_t));
	b->pairs.touched = carve(c, pairs_touched_words(lim->source_pairs) * sizeof(uint64_t));
	b->pend = carve(c, DS_PEND_CAP * sizeof(struct ds_pair_pend));
	dict_carve(&b->layouts, lim->syn_option_layouts, c);
	dict_carve(&b->fps, lim->tcp_fingerprints, c);
	b->asns.slot_id = carve(c, asn_slots * sizeof(uint64_t));
	b->asns.by_id = carve(c, lim->src_asns * sizeof(uint32_t));
	b->pairs.mask = lim->source_pairs - 1;
	b->pairs.load_n = lim->source_pairs / 4 * 3;
	b->pairs.max_n = b->pairs.load_n;
	b->pairs.keep_max = UINT64_MAX;
	b->asns.cap = lim->src_asns;
	b->asns.mask = asn_slots - 1;
	b->n_feeds = lim->n_feeds;
}

size_t
ds_minbuf_mem_size(const struct ds_hist_limits *lim)
{
	struct ds_minbuf b;
	struct carver c = {NULL, 0};

	if (!limits_ok(lim))
		return 0;
	memset(&b, 0, sizeof(b));
	minbuf_layout(&b, lim, &c);
	return c.off;
}

#define HUGE_PAGE ((size_t)2 << 20)

/*
 * The pair table and the dense counters are hit at random, a TLB miss per
 * access with 4 KiB pages. The buffer is its own mapping, aligned to and a
 * multiple of 2 MiB and advised MADV_HUGEPAGE before its first touch, so
 * that where the kernel offers transparent huge pages every page of it can
 * be one (a calloc'd block is neither aligned nor whole: only the 2 MiB
 * extents that happened to fall inside it could be). The advice may be
 * refused; that changes nothing but speed.
 */
static void *
map_huge(size_t len)
{
	size_t span = len + HUGE_PAGE;
	uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t lo;
	size_t head;

	if (p == MAP_FAILED)
		return NULL;
	lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
	head = lo - (uintptr_t)p;
	if (head > 0)
		munmap(p, head);
	munmap((uint8_t *)lo + len, span - head - len);
	(void)madvise((void *)lo, len, MADV_HUGEPAGE);
	return (void *)lo;
}

/*
 * Write one byte of every page, so that the worker does not take the page
 * faults itself: a fresh buffer's first minute would otherwise fault in up
 * to its whole size (with MADV_HUGEPAGE, 2 MiB pages zeroed, perhaps after
 * compaction) while packets queue, milliseconds at a time.
 */
static void
prefault(void *p, size_t len)
{
	for (size_t off = 0; off < len; off += 4096)
		((volatile uint8_t *)p)[off] = 0;
	if (len > 0)
		((volatile uint8_t *)p)[len - 1] = 0;   /* p need not start a page */
}

struct ds_minbuf *
ds_minbuf_create(const struct ds_hist_limits *lim)
{
	struct ds_minbuf *b;
	struct carver c = {NULL, 0};
	size_t size = ds_minbuf_mem_size(lim);

	if (size == 0) {
		errno = EINVAL;
		return NULL;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->used_size = size;
	size = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	b->mem = map_huge(size);
	if (b->mem == NULL) {
		free(b);
		errno = ENOMEM;
		return NULL;
	}
	b->mem_size = size;
	c.base = b->mem;
	minbuf_layout(b, lim, &c);
	prefault(b->mem, size);
	return b;
}

void
ds_minbuf_free(struct ds_minbuf *b)
{
	if (b == NULL)
		return;
	munmap(b->mem, b->mem_size);
	free(b);
}

/*
 * Zero the blocks of an array that a touched bitmap marks (bit b: bytes
 * [b * block, (b + 1) * block) of base, the last block cut at size), then
 * the map itself: how the pair table resets.
 */
static void
clear_touched(uint64_t *touched, size_t words, void *base, size_t block, size_t size)
{
	for (size_t w = 0; w < words; w++) {
		uint64_t bits = touched[w];

		while (bits != 0) {
			size_t first = (w * 64 + (size_t)__builtin_ctzll(bits)) * block;

			memset((uint8_t *)base + first, 0, size - first < block ? size - first : block);
			bits &= bits - 1;
		}
		touched[w] = 0;
	}
}

static void
dense_reset(struct ds_dense *d)
{
	for (uint32_t blk = 0; blk < touched_bytes(d->size); blk++) {
		uint32_t first = blk * 64;

		if (d->touched[blk] == 0)
			continue;
		memset(&d->count[first], 0,
		       (d->size - first < 64 ? d->size - first : 64) * sizeof(d->count[0]));
		d->touched[blk] = 0;
	}
}

/* The hash a pair was inserted with (see ds_minbuf_count()). */
static uint64_t
pair_hash(const struct ds_minbuf *b, uint64_t key)
{
	uint64_t dim = key >> DS_PAIR_DIM_SHIFT & 0x3f;
	uint64_t value_bits = (uint64_t)DS_PAIR_VALUE_MASK << DS_PAIR_VALUE_SHIFT;

	uint32_t id = (uint32_t)(key >> DS_PAIR_VALUE_SHIFT & DS_PAIR_VALUE_MASK);

	if (dim == DS_DIM_TCP_SYN_OPTIONS + 1)
		return ds_slot_hash((key & ~value_bits) ^ ds_dict_hash(&b->layouts, id));
	if (dim == DS_DIM_TCP_FINGERPRINT + 1)
		return ds_slot_hash((key & ~value_bits) ^ ds_dict_hash(&b->fps, id));
	if (dim == DS_DIM_SRC_ASN + 1)
		return ds_slot_hash((key & ~value_bits) ^ ds_asns_hash(&b->asns, id));
	return ds_slot_hash(key);
}

/*
 * Walk the keys of a pair table, visiting only the lines its touched map
 * marks. The order is the table's, the same on every run with the same input.
 */
struct pair_iter {
	const struct ds_pairs *p;
	uint32_t word;          /* touched word being walked */
	uint64_t bits;          /* its lines not yet visited */
	uint32_t slot;          /* next slot of the current line */
	uint32_t end;           /* end of the current line */
};

static void
pair_iter_init(struct pair_iter *it, const struct ds_pairs *p)
{
	it->p = p;
	it->word = 0;
	it->bits = p->touched[0];
	it->slot = it->end = 0;
}

static bool
pair_next(struct pair_iter *it, uint64_t *key)
{
	const struct ds_pairs *p = it->p;
	size_t words = pairs_touched_words(p->mask + 1);

	for (;;) {
		while (it->slot < it->end) {
			uint64_t k = p->slots[it->slot++];

			if (k != 0) {
				*key = k;
				return true;
			}
		}
		while (it->bits == 0) {
			if (++it->word >= words)
				return false;
			it->bits = p->touched[it->word];
		}
		it->slot = (it->word * 64 + (uint32_t)__builtin_ctzll(it->bits)) * DS_PAIRS_LINE;
		it->end = it->slot + DS_PAIRS_LINE;
		it->bits &= it->bits - 1;
	}
}

static void
pairs_clear(struct ds_minbuf *b)
{
	struct ds_pairs *p = &b->pairs;
	size_t words = pairs_touched_words(p->mask + 1);
	size_t size = ((size_t)p->mask + 1) * sizeof(p->slots[0]);

	if (p->n > (p->mask + 1) / 16) {
		memset(p->slots, 0, size);
		memset(p->touched, 0, words * sizeof(p->touched[0]));
	} else {
		clear_touched(p->touched, words, p->slots, DS_PAIRS_LINE * sizeof(p->slots[0]),
			      size);
	}
	p->n = 0;
}

static void
dict_clear(struct ds_dict *d)
{
	memset(d->slot_id, 0, ((size_t)d->mask + 1) * sizeof(uint64_t));
	d->n = 0;
}

/* Clear an AS dictionary, visiting only the slots it used. */
static void
asns_clear(struct ds_asns *a)
{
	if (a->n > (a->mask + 1) / 16) {
		memset(a->slot_id, 0, ((size_t)a->mask + 1) * sizeof(uint64_t));
	} else {
		/*
		 * Clear in reverse insertion order: when a key is cleared, every
		 * key it probed past was inserted before it and is still in
		 * place, so probing finds it again.
		 */
		for (uint32_t id = a->n; id-- > 0;) {
			uint32_t i = (uint32_t)ds_slot_hash(a->by_id[id]) & a->mask;

			while ((uint32_t)a->slot_id[i] != id + 1)
				i = (i + 1) & a->mask;
			a->slot_id[i] = 0;
		}
	}
	a->n = 0;
}

void
ds_minbuf_reset(struct ds_minbuf *b, int64_t minute)
{
	b->n_pend = 0;
	pairs_clear(b);
	b->pairs.level = 0;
	b->pairs.keep_max = UINT64_MAX;
	b->pairs.sweeping = false;
	b->pairs.max_n = b->pairs.load_n;
	for (uint32_t f = 0; f < b->n_feeds; f++) {
		struct ds_feed_hist *fh = &b->feeds[f];

		fh->packets = 0;
		fh->bytes = 0;
		memset(fh->proto_bytes, 0, sizeof(fh->proto_bytes));
		for (int d = 0; d < DS_DIM_MAX; d++)
			dense_reset(&fh->dims[d]);
	}
	dict_clear(&b->layouts);
	dict_clear(&b->fps);
	asns_clear(&b->asns);
	memset(&b->ctr, 0, sizeof(b->ctr));
	b->minute = minute;
}

/*
 * Raising the level sweeps the table in place, without a second table: each
 * visited key is taken out, dropped if the new sample excludes it, else put
 * back from its home slot (Knuth's rule for deleting from a linear-probing
 * table, applied to every slot in turn). The sweep starts just after an empty
 * slot, so it enters no probe run in its middle; a key put back lands at or
 * before its old slot, in a slot that held a key (its line's touched bit is
 * set), and the keys after it in the run are still found once the sweep has
 * passed them.
 *
 * Between the steps the worker inserts. A key whose run crosses a slot the
 * sweep has just emptied is not found until the sweep reaches it, so its
 * insert may leave a second copy behind the sweep: putting the key back
 * meets that copy on its way from home and drops itself. An insert may also
 * wrap a run past the empty slot the sweep started after; so after its round
 * the sweep goes on to the next empty slot, which puts such runs back too.
 */
void
ds_pairs_sweep(struct ds_minbuf *b, uint32_t slots)
{
	struct ds_pairs *p = &b->pairs;

	while (p->sweeping && slots-- > 0) {
		uint32_t i = p->sweep_at, j;
		uint64_t key = p->slots[i];

		if (p->sweep_left == 0 && key == 0) {
			p->sweeping = false;
			p->max_n = p->load_n;
			break;
		}
		p->sweep_at = (i + 1) & p->mask;
		p->sweep_left -= p->sweep_left != 0;
		if (key == 0)
			continue;
		p->slots[i] = 0;
		if (ds_pair_sample_hash(key) > p->keep_max) {
			p->n--;
			continue;
		}
		j = (uint32_t)pair_hash(b, key) & p->mask;
		while (p->slots[j] != 0 && p->slots[j] != key)
			j = (j + 1) & p->mask;
		if (p->slots[j] == key)
			p->n--;
		else
			p->slots[j] = key;
	}
}

void
ds_minbuf_sample_more(struct ds_minbuf *b)
{
	struct ds_pairs *p = &b->pairs;
	uint32_t start = 0;

	/* Full again before the sweep ended: end it now. */
	if (p->sweeping)
		ds_pairs_sweep(b, UINT32_MAX);
	if (p->n < p->load_n || p->level >= 63)
		return;
	p->level++;
	p->keep_max = UINT64_MAX >> p->level;
	/* There is an empty slot: the table is at most 7/8 full. */
	while (p->slots[start] != 0)
		start++;
	p->sweeping = true;
	p->sweep_at = (start + 1) & p->mask;
	p->sweep_left = p->mask + 1;
	p->max_n = p->load_n + (p->mask + 1) / 8;
}

void
ds_minbuf_seal(struct ds_minbuf *b)
{
	ds_minbuf_flush(b);
	ds_pairs_sweep(b, UINT32_MAX);
}

/* Word 0 of a stored key. */
static uint64_t
fp_word0(const struct ds_fingerprint *k)
{
	return ds_fp_word0(k->window, k->mss, k->wscale, k->ttl_class, k->flags, k->n);
}

/* A stored key as ds_dict_id() takes it: word 0 returned, the kinds as words in @p kinds. */
static uint64_t
fp_key_words(const struct ds_fingerprint *k, uint64_t kinds[5])
{
	memcpy(kinds, k->kinds, 5 * sizeof(kinds[0]));
	return fp_word0(k);
}

uint64_t
ds_fingerprint_hash(const struct ds_fingerprint *fp)
{
	uint64_t kinds[5];
	uint64_t w0 = fp_key_words(fp, kinds);

	return ds_dict_key_hash(w0, kinds);
}

uint32_t
ds_dict_id(struct ds_dict *d, uint64_t h, uint64_t w0, const uint64_t *kinds)
{
	uint32_t i = (uint32_t)h & d->mask;
	uint64_t tag = h & 0xffffffff00000000ULL;
	struct ds_dict_entry *e;

	while (d->slot_id[i] != 0) {
		if ((d->slot_id[i] & 0xffffffff00000000ULL) == tag) {
			uint32_t id = (uint32_t)d->slot_id[i] - 1;

			e = &d->by_id[id];
			if (e->hash == h && fp_word0(&e->key) == w0 &&
			    memcmp(e->key.kinds, kinds, sizeof(e->key.kinds)) == 0)
				return id;
		}
		i = (i + 1) & d->mask;
	}
	if (d->n == d->cap)
		return d->cap;
	e = &d->by_id[d->n];
	e->hash = h;
	e->key = (struct ds_fingerprint){
		.window = (uint16_t)w0,
		.mss = (uint16_t)(w0 >> 16),
		.wscale = (uint8_t)(w0 >> 32),
		.ttl_class = (uint8_t)(w0 >> 40),
		.flags = (uint8_t)(w0 >> 48),
		.n = (uint8_t)(w0 >> 56),
	};
	memcpy(e->key.kinds, kinds, sizeof(e->key.kinds));
	e->aux = 0;
	d->slot_id[i] = tag | ++d->n;
	return d->n - 1;
}

/*
 * The merge.
 *
 * Values of all feeds and dimensions accumulate in one open-addressing map
 * keyed by (feed, dimension, value); the workers' pair tables are united in a
 * second, merge-local table. Both are sized from what the minute touched and
 * reused from minute to minute. Dictionary values (layouts, fingerprints,
 * ASes) get merge-wide ids, bounded like a worker's: beyond the limit they
 * are `other`. For the dimensions that carry source sets (signatures and
 * watch rules), each new pair also appends its source to its value's list.
 */

struct acc {
	uint64_t key;           /* 0: empty; else 1 << 63 | feed << 40 | dim << 32 | value */
	uint64_t packets;
	uint64_t bytes;
	uint64_t sources;
	uint32_t *src;          /* want_src: the distinct sources */
	uint32_t n_src;
	uint32_t cap_src;
	bool want_src;          /* among the top values of its dimension */
};

/* A merge-wide dictionary and the map of one worker's ids into it. */
struct merge_dict {
	struct ds_dict d;
	uint32_t *map;          /* [worker cap + 1] */
};

struct ds_merge {
	struct ds_hist_limits lim;
	struct acc *acc;
	uint32_t acc_mask;
	uint32_t acc_n;
	/*
	 * The slots of acc in use, in the order their keys came: every pass and
	 * the reset go through these, so that a big table (acc_start_slots())
	 * costs a small minute nothing. (acc_mask + 1) / 2 of them.
	 */
	uint32_t *used;
	uint64_t *uni;          /* union of pair keys */
	uint32_t uni_cap;       /* allocated slots */
	struct merge_dict layouts;
	struct merge_dict fps;
	struct ds_asns asns;    /* merge-wide AS ids */
	uint32_t *asn_map;      /* worker AS id -> merge id */
	uint64_t *scratch;      /* packet counts, to find each dimension's top values */
	uint32_t scratch_cap;
	/* mark_top_values(), per (feed, dimension) group: */
	uint32_t top_start[DS_HIST_MAX_FEEDS * DS_DIM_MAX + 1]; /* its slice of scratch */
	uint32_t top_fill[DS_HIST_MAX_FEEDS * DS_DIM_MAX];
	uint64_t top_cut[DS_HIST_MAX_FEEDS * DS_DIM_MAX];       /* fewest packets of a top value */
	struct acc feed_src[DS_HIST_MAX_FEEDS]; /* all sources of each feed */
};

/*
 * The merge's two big tables, the accumulator and the union of pair keys,
 * are each their own mapping (map_huge()), zeroed, with every page written
 * at once (prefault()), and are sized at create for a busy minute (below).
 * Grown in the first merge instead, the accumulator's doublings wrote 56 MiB
 * of fresh memory there, 80 ms of its 190 on this VM, where a page touched
 * for the first time is slow (docs/PERFORMANCE.md, "Cold start on this
 * VM"), and the union up to 16 MiB more; at create the start pays it.
 */
static size_t
table_bytes(size_t n, size_t size)
{
	return (n * size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

static void *
table_map(size_t n, size_t size)
{
	void *p = map_huge(table_bytes(n, size));

	if (p != NULL)
		prefault(p, table_bytes(n, size));
	return p;
}

static void
table_unmap(void *p, size_t n, size_t size)
{
	if (p != NULL)
		munmap(p, table_bytes(n, size));
}

/*
 * The accumulator of @p slots entries and its list of slots in use, which
 * holds half as many: acc_get() grows the table before it is half full.
 */
static void
acc_unmap(struct acc *acc, uint32_t *used, uint32_t slots)
{
	table_unmap(acc, slots, sizeof(*acc));
	table_unmap(used, slots / 2, sizeof(*used));
}

static int
acc_map(uint32_t slots, struct acc **acc, uint32_t **used)
{
	*acc = table_map(slots, sizeof(**acc));
	*used = table_map(slots / 2, sizeof(**used));
	if (*acc != NULL && *used != NULL)
		return 0;
	acc_unmap(*acc, *used, slots);
	*acc = NULL;
	*used = NULL;
	return -ENOMEM;
}

/*
 * Accumulator slots at create: every TCP and UDP port and SYN window of
 * every feed at half load (2^19 entries, 28 MiB, for one feed; at most
 * 2^20), as a scanned telescope sees them all within a minute. It doubles
 * when a minute has more values.
 */
static uint32_t
acc_start_slots(const struct ds_hist_limits *lim)
{
	uint64_t want = 2ull * 3 * 65536 * lim->n_feeds;

	return (uint32_t)pow2_at_least(want < (1u << 20) ? want : (1u << 20));
}

static int
merge_dict_init(struct merge_dict *md, uint32_t cap)
{
	uint32_t slots = pow2_at_least(2ull * cap);

	md->d.cap = cap;
	md->d.mask = slots - 1;
	md->d.slot_id = calloc(slots, sizeof(uint64_t));
	md->d.by_id = calloc(cap, sizeof(struct ds_dict_entry));
	md->map = calloc(cap + 1, sizeof(uint32_t));
	return md->d.slot_id && md->d.by_id && md->map ? 0 : -ENOMEM;
}

static void
merge_dict_free(struct merge_dict *md)
{
	free(md->d.slot_id);
	free(md->d.by_id);
	free(md->map);
}

struct ds_merge *
ds_merge_create(const struct ds_hist_limits *lim)
{
	struct ds_merge *m;

	if (!limits_ok(lim)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	m->lim = *lim;
	m->asns.cap = lim->src_asns;
	m->asns.mask = pow2_at_least(2ull * lim->src_asns) - 1;
	m->asns.slot_id = calloc((size_t)m->asns.mask + 1, sizeof(uint64_t));
	m->asns.by_id = calloc(lim->src_asns, sizeof(uint32_t));
	m->asn_map = calloc(lim->src_asns + 1, sizeof(uint32_t));
	m->acc_mask = acc_start_slots(lim) - 1;
	acc_map(m->acc_mask + 1, &m->acc, &m->used);
	/* The union holds one worker's pairs at half load (merge_pairs()). */
	m->uni_cap = pow2_at_least(2ull * lim->source_pairs);
	m->uni = table_map(m->uni_cap, sizeof(*m->uni));
	if (merge_dict_init(&m->layouts, lim->syn_option_layouts) < 0 ||
	    merge_dict_init(&m->fps, lim->tcp_fingerprints) < 0 || m->asns.slot_id == NULL ||
	    m->asns.by_id == NULL || m->asn_map == NULL || m->acc == NULL || m->uni == NULL) {
		ds_merge_free(m);
		errno = ENOMEM;
		return NULL;
	}
	return m;
}

static void
acc_free_sources(struct ds_merge *m)
{
	for (uint32_t k = 0; k < m->acc_n; k++)
		free(m->acc[m->used[k]].src);
	for (uint32_t f = 0; f < DS_HIST_MAX_FEEDS; f++) {
		free(m->feed_src[f].src);
		memset(&m->feed_src[f], 0, sizeof(m->feed_src[f]));
	}
}

void
ds_merge_free(struct ds_merge *m)
{
	if (m == NULL)
		return;
	if (m->acc != NULL)
		acc_free_sources(m);
	acc_unmap(m->acc, m->used, m->acc_mask + 1);
	table_unmap(m->uni, m->uni_cap, sizeof(*m->uni));
	merge_dict_free(&m->layouts);
	merge_dict_free(&m->fps);
	free(m->asns.slot_id);
	free(m->asns.by_id);
	free(m->asn_map);
	free(m->scratch);
	free(m);
}

static uint64_t
acc_key(uint32_t feed, uint32_t dim, uint32_t value)
{
	return 1ULL << 63 | (uint64_t)feed << 40 | (uint64_t)dim << 32 | value;
}

static int
acc_grow(struct ds_merge *m)
{
	uint32_t cap = (m->acc_mask + 1) * 2;
	struct acc *a;
	uint32_t *used;

	if (acc_map(cap, &a, &used) < 0)
		return -ENOMEM;
	for (uint32_t k = 0; k < m->acc_n; k++) {
		const struct acc *e = &m->acc[m->used[k]];
		uint32_t j = (uint32_t)ds_slot_hash(e->key) & (cap - 1);

		while (a[j].key != 0)
			j = (j + 1) & (cap - 1);
		a[j] = *e;
		used[k] = j;
	}
	acc_unmap(m->acc, m->used, m->acc_mask + 1);
	m->acc = a;
	m->used = used;
	m->acc_mask = cap - 1;
	return 0;
}

static struct acc *
acc_get(struct ds_merge *m, uint64_t key)
{
	uint32_t i;

	if (m->acc_n + 1 > (m->acc_mask + 1) / 2 && acc_grow(m) < 0)
		return NULL;
	i = (uint32_t)ds_slot_hash(key) & m->acc_mask;
	while (m->acc[i].key != 0 && m->acc[i].key != key)
		i = (i + 1) & m->acc_mask;
	if (m->acc[i].key == 0) {
		m->acc[i].key = key;
		m->used[m->acc_n++] = i;
	}
	return &m->acc[i];
}

static int
acc_add_source(struct acc *a, uint32_t src)
{
	if (a->n_src == a->cap_src) {
		uint32_t cap = a->cap_src ? a->cap_src * 2 : 16;
		uint32_t *v = realloc(a->src, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		a->src = v;
		a->cap_src = cap;
	}
	a->src[a->n_src++] = src;
	return 0;
}

static void
merge_reset(struct ds_merge *m)
{
	acc_free_sources(m);
	for (uint32_t k = 0; k < m->acc_n; k++)
		memset(&m->acc[m->used[k]], 0, sizeof(*m->acc));
	m->acc_n = 0;
	dict_clear(&m->layouts.d);
	dict_clear(&m->fps.d);
	asns_clear(&m->asns);
}

/* Map a worker's dictionary ids to merge-wide ids; its `other` stays `other`. */
static void
map_dict(struct merge_dict *md, const struct ds_dict *w)
{
	for (uint32_t i = 0; i < w->n; i++) {
		uint64_t kinds[5];
		uint64_t w0 = fp_key_words(&w->by_id[i].key, kinds);

		md->map[i] = ds_dict_id(&md->d, w->by_id[i].hash, w0, kinds);
	}
	md->map[w->cap] = md->d.cap;
}

static void
map_dicts(struct ds_merge *m, const struct ds_minbuf *b)
{
	map_dict(&m->layouts, &b->layouts);
	map_dict(&m->fps, &b->fps);
	for (uint32_t i = 0; i < b->asns.n; i++)
		m->asn_map[i] = ds_asns_id(&m->asns, b->asns.by_id[i]);
	m->asn_map[b->asns.cap] = m->asns.cap;
}

/*
 * A worker's value of a dimension as the rollup states it; *merge_id gets
 * the merge-wide id that stands for it in pair keys.
 */
static uint32_t
merged_value(const struct ds_merge *m, int dim, uint32_t local, uint32_t *merge_id)
{
	const struct merge_dict *md;
	uint32_t g;

	switch (dim) {
	case DS_DIM_TCP_SYN_OPTIONS:
	case DS_DIM_TCP_FINGERPRINT:
		md = dim == DS_DIM_TCP_SYN_OPTIONS ? &m->layouts : &m->fps;
		g = md->map[local];
		*merge_id = g;
		return g == md->d.cap ? DS_ROLLUP_OTHER : g;
	case DS_DIM_SRC_ASN:
		g = m->asn_map[local];
		*merge_id = g;
		return g == m->asns.cap ? DS_ROLLUP_OTHER : m->asns.by_id[g];
	default:
		*merge_id = local;
		return local;
	}
}

static int
merge_counts(struct ds_merge *m, const struct ds_minbuf *b)
{
	for (uint32_t f = 0; f < b->n_feeds; f++) {
		const struct ds_feed_hist *fh = &b->feeds[f];

		for (int d = 0; d < DS_DIM_MAX; d++) {
			const struct ds_dense *dd = &fh->dims[d];

			for (uint32_t blk = 0; blk < touched_bytes(dd->size); blk++) {
				uint32_t first = blk * 64;
				uint32_t last = first + 64 < dd->size ? first + 64 : dd->size;

				if (dd->touched[blk] == 0)
					continue;
				for (uint32_t v = first; v < last; v++) {
					struct acc *a;
					uint32_t id;

					if (dd->count[v] == 0)
						continue;
					a = acc_get(m, acc_key(f, (uint32_t)d,
							       merged_value(m, d, v, &id)));
					if (a == NULL)
						return -ENOMEM;
					a->packets += dd->count[v];
					if (d == DS_DIM_PROTO)
						a->bytes += fh->proto_bytes[v];
				}
			}
		}
	}
	return 0;
}

static int
u64_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y) - (x > y);
}

/*
 * Mark, in every (feed, dimension), the values whose sources the rollup
 * lists: those with at least the packets of the srcset_values-th largest
 * (ties all included). Runs after the counts are merged, before the pairs.
 *
 * The value map is walked three times in all, not twice per (feed,
 * dimension): a busy minute's map is tens of MiB. Count the values of each
 * group, place their packet counts side by side in scratch (a counting
 * sort by group), sort each group's slice for its cut, then mark.
 */
#define TOP_GROUPS (DS_HIST_MAX_FEEDS * DS_DIM_MAX)

static uint32_t
acc_group(uint64_t key)
{
	return (uint32_t)(key >> 40 & 0x3f) * DS_DIM_MAX + (uint32_t)(key >> 32 & 0xff);
}

static int
mark_top_values(struct ds_merge *m)
{
	uint32_t *start = m->top_start, *fill = m->top_fill;
	uint64_t *cut = m->top_cut;
	uint32_t k = m->lim.srcset_values;

	if (k == 0)
		return 0;
	if (m->scratch_cap < m->acc_n) {
		free(m->scratch);
		m->scratch = malloc((m->acc_n ? m->acc_n : 1) * sizeof(uint64_t));
		if (m->scratch == NULL) {
			m->scratch_cap = 0;
			return -ENOMEM;
		}
		m->scratch_cap = m->acc_n;
	}
	memset(start, 0, sizeof(m->top_start));
	for (uint32_t k = 0; k < m->acc_n; k++)
		start[acc_group(m->acc[m->used[k]].key) + 1]++;
	for (uint32_t g = 0; g < TOP_GROUPS; g++) {
		start[g + 1] += start[g];
		fill[g] = start[g];
	}
	for (uint32_t k = 0; k < m->acc_n; k++) {
		const struct acc *a = &m->acc[m->used[k]];

		m->scratch[fill[acc_group(a->key)]++] = a->packets;
	}
	for (uint32_t g = 0; g < TOP_GROUPS; g++) {
		uint32_t n = start[g + 1] - start[g];

		cut[g] = UINT64_MAX;
		if (n == 0)
			continue;
		qsort(m->scratch + start[g], n, sizeof(uint64_t), u64_desc);
		cut[g] = m->scratch[start[g] + (n < k ? n : k) - 1];
	}
	for (uint32_t k = 0; k < m->acc_n; k++) {
		struct acc *a = &m->acc[m->used[k]];

		if (a->packets >= cut[acc_group(a->key)])
			a->want_src = true;
	}
	return 0;
}

/*
 * Pairs on their way into the union, with the slots they will probe. The
 * union table and the value map are far larger than the caches at a busy
 * minute, so pairs are taken a batch at a time: every slot of the batch is
 * prefetched before the first is probed, and the misses overlap.
 */
#define MERGE_BATCH 32

struct merge_item {
	uint64_t key;           /* the pair, its value rewritten to merge ids */
	uint64_t acc;           /* acc_key() of its value; 0 for a feed's own pair */
	uint32_t feed;
	uint32_t slot;          /* home slot in m->uni */
};

static int
merge_batch(struct ds_merge *m, const struct merge_item *q, uint32_t nq, uint32_t mask,
	    uint64_t *feed_sources)
{
	for (uint32_t k = 0; k < nq; k++) {
		uint64_t key = q[k].key;
		uint32_t s = q[k].slot;
		struct acc *a;

		while (m->uni[s] != 0 && m->uni[s] != key)
			s = (s + 1) & mask;
		if (m->uni[s] == key)
			continue;
		m->uni[s] = key;
		if (q[k].acc == 0) {
			feed_sources[q[k].feed]++;
			if (m->lim.srcset_values != 0 &&
			    acc_add_source(&m->feed_src[q[k].feed], (uint32_t)key) < 0)
				return -ENOMEM;
			continue;
		}
		a = acc_get(m, q[k].acc);
		if (a == NULL)
			return -ENOMEM;
		a->sources++;
		if (a->want_src && acc_add_source(a, (uint32_t)key) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Unite the pair sets; count each new pair for its value. */
static int
merge_pairs(struct ds_merge *m, struct ds_minbuf *const *bufs, uint32_t n, uint8_t level,
	    uint64_t *feed_sources)
{
	uint64_t keep_max = UINT64_MAX >> level;
	uint64_t total = 0;
	uint32_t cap, mask;

	for (uint32_t i = 0; i < n; i++)
		total += bufs[i]->pairs.n;
	cap = pow2_at_least(2 * total + 2);
	if (cap < 1024)
		cap = 1024;
	if (cap > m->uni_cap) {
		table_unmap(m->uni, m->uni_cap, sizeof(*m->uni));
		m->uni = table_map(cap, sizeof(*m->uni));
		if (m->uni == NULL) {
			m->uni_cap = 0;
			return -ENOMEM;
		}
		m->uni_cap = cap;
	}
	memset(m->uni, 0, (size_t)cap * sizeof(uint64_t));
	mask = cap - 1;

	for (uint32_t i = 0; i < n; i++) {
		const struct ds_minbuf *b = bufs[i];
		struct merge_item q[MERGE_BATCH];
		struct pair_iter it;
		uint32_t nq = 0;
		uint64_t key;
		int rc;

		map_dicts(m, b);
		pair_iter_init(&it, &b->pairs);
		while (pair_next(&it, &key)) {
			uint32_t feed = (uint32_t)(key >> DS_PAIR_FEED_SHIFT);
			uint32_t dimf = (uint32_t)(key >> DS_PAIR_DIM_SHIFT & 0x3f);
			uint32_t value = (uint32_t)(key >> DS_PAIR_VALUE_SHIFT & DS_PAIR_VALUE_MASK);
			struct merge_item *e = &q[nq];

			if (b->pairs.level < level && ds_pair_sample_hash(key) > keep_max)
				continue;
			e->acc = 0;
			if (dimf != DS_PAIR_DIM_ALL) {
				/* Rewrite a worker's dictionary id as the merge's. */
				uint32_t g;

				value = merged_value(m, (int)dimf - 1, value, &g);
				key &= ~((uint64_t)DS_PAIR_VALUE_MASK << DS_PAIR_VALUE_SHIFT);
				key |= (uint64_t)g << DS_PAIR_VALUE_SHIFT;
				e->acc = acc_key(feed, dimf - 1, value);
				__builtin_prefetch(&m->acc[ds_slot_hash(e->acc) & m->acc_mask], 1);
			}
			e->key = key;
			e->feed = feed;
			e->slot = (uint32_t)ds_slot_hash(key) & mask;
			__builtin_prefetch(&m->uni[e->slot], 1);
			if (++nq < MERGE_BATCH)
				continue;
			rc = merge_batch(m, q, nq, mask, feed_sources);
			if (rc < 0)
				return rc;
			nq = 0;
		}
		rc = merge_batch(m, q, nq, mask, feed_sources);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int
add_counters(struct ds_rollup *r, struct ds_minbuf *const *bufs, uint32_t n,
	     const struct ds_merge_names *names)
{
	struct ds_minbuf_counters sum;
	uint64_t malformed = 0, outside = 0;
	char name[DS_COUNTER_NAME_MAX];
	int rc = 0;

	memset(&sum, 0, sizeof(sum));
	for (uint32_t i = 0; i < n; i++) {
		const struct ds_minbuf_counters *c = &bufs[i]->ctr;

		sum.rx_packets += c->rx_packets;
		sum.rx_bytes += c->rx_bytes;
		sum.non_ip += c->non_ip;
		sum.fragments += c->fragments;
		sum.late += c->late;
		sum.no_timestamp += c->no_timestamp;
		for (int k = 0; k < DS_DECODE_RESULT_MAX; k++)
			sum.malformed[k] += c->malformed[k];
		for (int k = 0; k < DS_HIST_MAX_PORTS; k++) {
			sum.port_rx[k] += c->port_rx[k];
			sum.outside[k] += c->outside[k];
		}
	}
	for (int k = DS_DECODE_ETH_TRUNC; k < DS_DECODE_RESULT_MAX; k++)
		malformed += sum.malformed[k];
	for (int k = 0; k < DS_HIST_MAX_PORTS; k++)
		outside += sum.outside[k];

	rc |= ds_rollup_counter_add(r, "rx_packets", sum.rx_packets);
	rc |= ds_rollup_counter_add(r, "rx_bytes", sum.rx_bytes);
	rc |= ds_rollup_counter_add(r, "outside", outside);
	rc |= ds_rollup_counter_add(r, "non_ip", sum.non_ip);
	rc |= ds_rollup_counter_add(r, "malformed", malformed);
	for (int k = DS_DECODE_ETH_TRUNC; k < DS_DECODE_RESULT_MAX; k++) {
		snprintf(name, sizeof(name), "malformed.%s", ds_decode_result_name(k));
		rc |= ds_rollup_counter_add(r, name, sum.malformed[k]);
	}
	rc |= ds_rollup_counter_add(r, "fragments", sum.fragments);
	rc |= ds_rollup_counter_add(r, "late", sum.late);
	rc |= ds_rollup_counter_add(r, "no_timestamp", sum.no_timestamp);
	for (uint32_t p = 0; p < names->n_ports && p < DS_HIST_MAX_PORTS; p++) {
		snprintf(name, sizeof(name), "port.%s.rx_packets", names->ports[p]);
		rc |= ds_rollup_counter_add(r, name, sum.port_rx[p]);
		snprintf(name, sizeof(name), "port.%s.outside", names->ports[p]);
		rc |= ds_rollup_counter_add(r, name, sum.outside[p]);
	}
	return rc < 0 ? -ENOMEM : 0;
}

static int
build_dims(struct ds_merge *m, struct ds_rollup *r, uint8_t level)
{
	uint32_t counts[DS_HIST_MAX_FEEDS][DS_DIM_MAX];

	memset(counts, 0, sizeof(counts));
	for (uint32_t k = 0; k < m->acc_n; k++) {
		uint64_t key = m->acc[m->used[k]].key;

		counts[key >> 40 & 0x3f][key >> 32 & 0xff]++;
	}
	for (uint32_t f = 0; f < r->n_feeds; f++)
		for (int d = 0; d < DS_DIM_MAX; d++)
			if (ds_rollup_dim_resize(&r->feeds[f].dims[d], counts[f][d]) < 0)
				return -ENOMEM;
	memset(counts, 0, sizeof(counts));
	for (uint32_t k = 0; k < m->acc_n; k++) {
		const struct acc *a = &m->acc[m->used[k]];
		uint32_t f, d;
		struct ds_rollup_entry *e;

		f = a->key >> 40 & 0x3f;
		d = a->key >> 32 & 0xff;
		e = &r->feeds[f].dims[d].entries[counts[f][d]++];
		e->value = (uint32_t)a->key;
		e->packets = a->packets;
		e->bytes = a->bytes;
		e->sources = a->sources << level;
	}
	/* Hand the source sets over to the rollup: each feed's, then the top values'. */
	for (uint32_t f = 0; f < r->n_feeds; f++) {
		struct acc *a = &m->feed_src[f];

		if (a->src == NULL)
			continue;
		if (ds_rollup_srcset_add(r, f, DS_SRCSET_FEED, 0, a->src, a->n_src) < 0) {
			a->src = NULL;
			return -ENOMEM;
		}
		memset(a, 0, sizeof(*a));
	}
	for (uint32_t k = 0; k < m->acc_n; k++) {
		struct acc *a = &m->acc[m->used[k]];

		if (a->src == NULL)
			continue;
		if (ds_rollup_srcset_add(r, a->key >> 40 & 0x3f, a->key >> 32 & 0xff,
					 (uint32_t)a->key, a->src, a->n_src) < 0) {
			a->src = NULL;
			return -ENOMEM;
		}
		a->src = NULL;
	}
	for (uint32_t f = 0; f < r->n_feeds; f++)
		for (int d = 0; d < DS_DIM_MAX; d++)
			ds_rollup_dim_sort(&r->feeds[f].dims[d]);
	return 0;
}

struct ds_rollup *
ds_merge_minute(struct ds_merge *m, struct ds_minbuf *const *bufs, uint32_t n,
		const struct ds_merge_names *names, int64_t minute)
{
	uint64_t feed_sources[DS_HIST_MAX_FEEDS] = {0};
	struct ds_rollup *r;
	uint8_t level = 0;
	char label[8 * DS_TCP_MAX_OPTS + 32];

	r = ds_rollup_create(names->sensor, minute, m->lim.n_feeds, names->feeds);
	if (r == NULL)
		return NULL;
	merge_reset(m);
	for (uint32_t i = 0; i < n; i++) {
		ds_minbuf_seal(bufs[i]);
		if (bufs[i]->pairs.level > level)
			level = bufs[i]->pairs.level;
	}
	r->sources_sampling = level;

	for (uint32_t i = 0; i < n; i++) {
		map_dicts(m, bufs[i]);
		if (merge_counts(m, bufs[i]) < 0)
			goto nomem;
		for (uint32_t f = 0; f < bufs[i]->n_feeds; f++) {
			r->feeds[f].packets += bufs[i]->feeds[f].packets;
			r->feeds[f].bytes += bufs[i]->feeds[f].bytes;
		}
	}
	if (mark_top_values(m) < 0 || merge_pairs(m, bufs, n, level, feed_sources) < 0)
		goto nomem;
	for (uint32_t f = 0; f < r->n_feeds; f++)
		r->feeds[f].sources = feed_sources[f] << level;
	if (build_dims(m, r, level) < 0)
		goto nomem;
	/* Labels of the values that are indexes. */
	for (uint32_t i = 0; i < m->layouts.d.n; i++) {
		const struct ds_fingerprint *k = &m->layouts.d.by_id[i].key;

		ds_layout_label_kinds(k->kinds, k->n, label, sizeof(label));
		if (ds_rollup_name_add(r, DS_DIM_TCP_SYN_OPTIONS, label) < 0)
			goto nomem;
	}
	for (uint32_t i = 0; i < m->fps.d.n; i++) {
		ds_fingerprint_label(&m->fps.d.by_id[i].key, label, sizeof(label));
		if (ds_rollup_name_add(r, DS_DIM_TCP_FINGERPRINT, label) < 0)
			goto nomem;
	}
	for (uint32_t i = 0; i < DS_SIG_MAX; i++)
		if (ds_rollup_name_add(r, DS_DIM_SIGNATURE, ds_sig_names[i]) < 0)
			goto nomem;
	for (uint32_t i = 0; i < names->n_watch; i++)
		if (ds_rollup_name_add(r, DS_DIM_WATCH, names->watch[i]) < 0)
			goto nomem;
	if (ds_rollup_set_signatures_version(r, DS_SIGNATURES_VERSION) < 0 ||
	    add_counters(r, bufs, n, names) < 0)
		goto nomem;
	return r;
nomem:
	ds_rollup_free(r);
	errno = ENOMEM;
	return NULL;
}
