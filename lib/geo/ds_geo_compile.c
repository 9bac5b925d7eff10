/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Compiling loaded geo sources into the tables the workers look up.
 *
 * Everything here works on sorted lists of inclusive IPv4 ranges, so each
 * step is a sort and a linear sweep, whatever the size of the data (a full
 * RouteViews table is a million prefixes):
 *
 *  1. flatten: one source's ranges, which may nest or overlap, become
 *     disjoint ranges where every address carries the value of the smallest
 *     range that contains it (the first in the file among equals): for
 *     prefix data that is longest-prefix match, done once at load time;
 *  2. overlay: the sources are laid over each other in precedence order,
 *     the special-purpose (bogon) space first, so an address takes its
 *     value from the first layer that covers it;
 *  3. the AS table: every AS of the result gets an index, which is what the
 *     LPM next hop holds (0 is the bogon slot), and its country: from the
 *     first asn_country source that lists it, else, when asked, the country
 *     covering most of its addresses in the prefix_country layers.
 *
 *   source 1 ranges --flatten-->  |----A----|  |--B--|
 *   source 2 ranges --flatten-->       |------C------------|
 *   bogons                      |x|
 *   overlay                     |x|--A----|CC|--B--|CCCCCCC|
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ds_geo.h"

/* A growable list of ranges. */
struct rlist {
	struct ds_geo_range *r;
	size_t n;
	size_t cap;
};

static int
rlist_push(struct rlist *l, uint32_t first, uint32_t last, uint32_t value)
{
	if (l->n > 0 && l->r[l->n - 1].value == value && l->r[l->n - 1].last + 1 == first &&
	    l->r[l->n - 1].last != UINT32_MAX) {
		/* Adjacent, same value: extend, so the tables stay small. */
		l->r[l->n - 1].last = last;
		return 0;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		struct ds_geo_range *r = realloc(l->r, cap * sizeof(*r));

		if (r == NULL)
			return -ENOMEM;
		l->r = r;
		l->cap = cap;
	}
	l->r[l->n++] = (struct ds_geo_range){first, last, value};
	return 0;
}

/* A range waiting in flatten()'s heap: smaller first, then earlier in the file. */
struct ranked {
	struct ds_geo_range r;
	uint64_t size;
	size_t pos;
};

static int
by_start(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;

	return (x->r.first > y->r.first) - (x->r.first < y->r.first);
}

static bool
ranks_before(const struct ranked *x, const struct ranked *y)
{
	return x->size < y->size || (x->size == y->size && x->pos < y->pos);
}

static void
heap_push(struct ranked *h, size_t *n, struct ranked v)
{
	size_t i = (*n)++;

	while (i > 0 && ranks_before(&v, &h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static void
heap_pop(struct ranked *h, size_t *n)
{
	struct ranked v = h[--*n];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && ranks_before(&h[c + 1], &h[c]))
			c++;
		if (!ranks_before(&h[c], &v))
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n > 0)
		h[i] = v;
}

/*
 * Disjoint ranges where each address carries the value of the smallest
 * range containing it (the first in the file among equals): for prefixes,
 * longest-prefix match. A sweep in address order keeps the ranges that
 * contain the current address in a heap, smallest on top; ranges that have
 * ended are dropped from the top lazily.
 */
static int
flatten(const struct ds_geo_range *in, size_t n, struct rlist *out)
{
	struct ranked *v = malloc((n ? n : 1) * sizeof(*v));
	struct ranked *heap = malloc((n ? n : 1) * sizeof(*heap));
	size_t i = 0, nh = 0;
	uint64_t pos = 0;
	int rc = 0;

	if (v == NULL || heap == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		v[k] = (struct ranked){in[k], (uint64_t)in[k].last - in[k].first, k};
	qsort(v, n, sizeof(*v), by_start);

	while (rc == 0 && (i < n || nh > 0)) {
		uint64_t end;

		if (nh == 0 && pos < v[i].r.first)
			pos = v[i].r.first;
		while (i < n && v[i].r.first <= pos)
			heap_push(heap, &nh, v[i++]);
		while (nh > 0 && heap[0].r.last < pos)
			heap_pop(heap, &nh);
		if (nh == 0)
			continue;
		/* The top owns the addresses until it ends or another range starts. */
		end = heap[0].r.last;
		if (i < n && (uint64_t)v[i].r.first - 1 < end)
			end = v[i].r.first - 1;
		rc = rlist_push(out, (uint32_t)pos, (uint32_t)end, heap[0].r.value);
		pos = end + 1;
	}
out:
	free(v);
	free(heap);
	return rc;
}

/*
 * out = base, then the parts of `lower` that base does not cover. Both are
 * sorted and disjoint, and so is the result.
 */
static int
overlay(const struct rlist *base, const struct rlist *lower, struct rlist *out)
{
	size_t i = 0, j = 0;
	uint64_t pos = 0;       /* lower[j] is done below pos */
	int rc = 0;

	while (rc == 0 && (i < base->n || j < lower->n)) {
		if (j == lower->n ||
		    (i < base->n && base->r[i].first <= (pos > lower->r[j].first ?
							 pos : lower->r[j].first))) {
			/* The next thing in address order is a base range: it wins. */
			rc = rlist_push(out, base->r[i].first, base->r[i].last, base->r[i].value);
			pos = (uint64_t)base->r[i].last + 1;
			i++;
			/* Skip lower ranges now wholly covered. */
			while (j < lower->n && lower->r[j].last < pos)
				j++;
			continue;
		}
		/* A lower range (or its rest) up to the next base range. */
		{
			uint64_t from = pos > lower->r[j].first ? pos : lower->r[j].first;
			uint64_t to = lower->r[j].last;

			if (i < base->n && base->r[i].first <= to)
				to = (uint64_t)base->r[i].first - 1;
			rc = rlist_push(out, (uint32_t)from, (uint32_t)to, lower->r[j].value);
			pos = to + 1;
			if (pos > lower->r[j].last)
				j++;
		}
	}
	return rc;
}

/* Lay the sources' ranges of one kind over the bogons, in precedence order. */
static int
layer(const struct ds_geo_source *const *srcs, size_t n, bool asn, uint32_t bogon_value,
      struct rlist *result)
{
	struct rlist cur = {0}, flat = {0}, next = {0};
	int rc = 0;

	for (size_t b = 0; b < ds_geo_n_bogons4 && rc == 0; b++)
		rc = rlist_push(&cur, ds_geo_bogons4[b].first, ds_geo_bogons4[b].last,
				bogon_value);
	for (size_t s = 0; s < n && rc == 0; s++) {
		const struct ds_geo_range *in = asn ? srcs[s]->asn : srcs[s]->cc;
		size_t nin = asn ? srcs[s]->n_asn : srcs[s]->n_cc;

		if (nin == 0)
			continue;
		flat.n = 0;
		next.n = 0;
		rc = flatten(in, nin, &flat);
		if (rc == 0)
			rc = overlay(&cur, &flat, &next);
		if (rc == 0) {
			struct rlist t = cur;

			cur = next;
			next = t;
		}
	}
	free(flat.r);
	free(next.r);
	if (rc != 0) {
		free(cur.r);
		return rc;
	}
	*result = cur;
	return 0;
}

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Index of an AS in the sorted table (index 0, the bogon slot, is not searched). */
static uint32_t
asn_index(const struct ds_geo_compiled *c, uint32_t asn)
{
	size_t lo = 1, hi = c->n_asns;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->asns[mid] < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (uint32_t)lo;
}

/* Address counts of (AS index, country) for the derivation. */
struct share {
	uint32_t asn_idx;
	uint16_t cc;
	uint64_t addrs;
};

static int
share_cmp(const void *a, const void *b)
{
	const struct share *x = a, *y = b;

	if (x->asn_idx != y->asn_idx)
		return x->asn_idx < y->asn_idx ? -1 : 1;
	return (x->cc > y->cc) - (x->cc < y->cc);
}

/*
 * AS without a registry country: the country holding most of its addresses
 * (a sweep over the AS and country ranges, both disjoint and sorted).
 */
static int
derive_countries(struct ds_geo_compiled *c)
{
	struct share *sh = NULL;
	size_t n = 0, cap = 0, i = 0, j = 0;

	while (i < c->n_asn_ranges && j < c->n_cc_ranges) {
		const struct ds_geo_range *a = &c->asn_ranges[i], *k = &c->cc_ranges[j];
		uint32_t lo = a->first > k->first ? a->first : k->first;
		uint32_t hi = a->last < k->last ? a->last : k->last;

		if (lo <= hi && a->value != 0 && k->value < DS_CC_CODES &&
		    c->asn_cc[a->value] == DS_CC_UNKNOWN) {
			if (n == cap) {
				struct share *t;

				cap = cap ? cap * 2 : 4096;
				t = realloc(sh, cap * sizeof(*t));
				if (t == NULL) {
					free(sh);
					return -ENOMEM;
				}
				sh = t;
			}
			sh[n++] = (struct share){a->value, (uint16_t)k->value,
						 (uint64_t)hi - lo + 1};
		}
		if (a->last < k->last)
			i++;
		else
			j++;
	}
	/*
	 * No shares at all (AS data without country data, or nothing to derive)
	 * leaves sh NULL, and qsort() must not be given a NULL array even for
	 * n == 0 (C11 7.22.5; glibc declares it nonnull). Found by fuzz_geo_*.
	 */
	if (n > 1)
		qsort(sh, n, sizeof(*sh), share_cmp);
	for (size_t s = 0; s < n;) {
		uint32_t as = sh[s].asn_idx;
		uint64_t best = 0;
		uint16_t best_cc = DS_CC_UNKNOWN;

		while (s < n && sh[s].asn_idx == as) {
			uint16_t cc = sh[s].cc;
			uint64_t sum = 0;

			while (s < n && sh[s].asn_idx == as && sh[s].cc == cc)
				sum += sh[s++].addrs;
			/* Strictly more: on a tie the lower country index stays. */
			if (sum > best) {
				best = sum;
				best_cc = cc;
			}
		}
		c->asn_cc[as] = best_cc;
		c->asn_cc_derived++;
	}
	free(sh);
	return 0;
}

int
ds_geo_compile(const struct ds_geo_source *const *srcs, size_t n, uint32_t flags,
	       struct ds_geo_compiled *out)
{
	struct rlist asn = {0}, cc = {0};
	size_t n_unique = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = layer(srcs, n, true, DS_ASN_BOGON, &asn);
	if (rc == 0)
		rc = layer(srcs, n, false, DS_CC_BOGON, &cc);
	if (rc != 0)
		goto fail;
	out->asn_ranges = asn.r;
	out->n_asn_ranges = asn.n;
	out->cc_ranges = cc.r;
	out->n_cc_ranges = cc.n;

	/* The AS table: slot 0 for bogons, then every AS in order. */
	out->asns = malloc((asn.n + 1) * sizeof(uint32_t));
	if (out->asns == NULL)
		goto nomem;
	for (size_t i = 0; i < asn.n; i++)
		if (asn.r[i].value != DS_ASN_BOGON)
			out->asns[1 + n_unique++] = asn.r[i].value;
	qsort(out->asns + 1, n_unique, sizeof(uint32_t), u32_cmp);
	out->n_asns = 1;
	for (size_t i = 1; i <= n_unique; i++)
		if (out->n_asns == 1 || out->asns[i] != out->asns[out->n_asns - 1])
			out->asns[out->n_asns++] = out->asns[i];
	out->asns[0] = DS_ASN_BOGON;
	if (out->n_asns > 0xffffff) {
		rc = -E2BIG;    /* rte_lpm next hops hold 24 bits */
		goto fail;
	}
	for (size_t i = 0; i < asn.n; i++)
		asn.r[i].value = asn.r[i].value == DS_ASN_BOGON ? 0 : asn_index(out, asn.r[i].value);

	/* Countries: registry data first (first source, then first line, wins). */
	out->asn_cc = malloc(out->n_asns * sizeof(uint16_t));
	if (out->asn_cc == NULL)
		goto nomem;
	for (uint32_t i = 0; i < out->n_asns; i++)
		out->asn_cc[i] = DS_CC_UNKNOWN;
	out->asn_cc[0] = DS_CC_BOGON;
	for (size_t s = 0; s < n; s++) {
		for (size_t k = 0; k < srcs[s]->n_asn_cc; k++) {
			uint32_t idx = asn_index(out, srcs[s]->asn_cc[k].asn);

			if (idx < out->n_asns && out->asns[idx] == srcs[s]->asn_cc[k].asn &&
			    out->asn_cc[idx] == DS_CC_UNKNOWN && srcs[s]->asn_cc[k].cc < DS_CC_CODES) {
				out->asn_cc[idx] = srcs[s]->asn_cc[k].cc;
				out->asn_cc_registry++;
			}
		}
	}
	if (flags & DS_GEO_DERIVE_ASN_COUNTRY) {
		rc = derive_countries(out);
		if (rc != 0)
			goto fail;
	}
	return 0;
nomem:
	rc = -ENOMEM;
fail:
	if (out->asn_ranges == NULL)
		free(asn.r);
	if (out->cc_ranges == NULL)
		free(cc.r);
	ds_geo_compiled_free(out);
	return rc;
}

void
ds_geo_compiled_free(struct ds_geo_compiled *c)
{
	if (c == NULL)
		return;
	free(c->asn_ranges);
	free(c->cc_ranges);
	free(c->asns);
	free(c->asn_cc);
	memset(c, 0, sizeof(*c));
}
