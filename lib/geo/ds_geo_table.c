/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Loading compiled geo ranges into rte_fib (DIR-24-8, 4-byte next hops).
 * Each disjoint range is split into the fewest aligned prefixes; a first
 * pass counts them (routes) and the /24 blocks that need a tbl8 group
 * (prefixes longer than /24), so the table is created with the room it
 * needs.
 *
 * With country_source `prefix` the AS ranges and the country ranges are
 * laid over each other into one set of disjoint ranges whose next hop
 * packs both (DS_GEO_HOP_*), so a source costs one lookup, one random
 * line of a 64 MiB table, not two.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/types.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include <rte_rib.h>

#include "ds_geo_table.h"

struct count_ctx {
	uint32_t rules;
	uint32_t tbl8;
	int64_t last_block;     /* the /24 of the last long prefix counted */
};

static int
count_prefix(uint32_t addr, uint8_t depth, void *arg)
{
	struct count_ctx *c = arg;

	c->rules++;
	if (depth > 24 && (int64_t)(addr >> 8) != c->last_block) {
		c->tbl8++;
		c->last_block = addr >> 8;
	}
	return 0;
}

struct add_ctx {
	struct rte_fib *fib;
	uint32_t hop;
};

static int
add_prefix(uint32_t addr, uint8_t depth, void *arg)
{
	struct add_ctx *a = arg;

	return rte_fib_add(a->fib, addr, depth, a->hop);
}

static struct rte_fib *
build_fib(const char *name, const struct ds_geo_range *r, size_t n, int socket_id,
	  uint32_t *prefixes, uint64_t *bytes)
{
	struct count_ctx cnt = {0, 0, -1};
	struct rte_fib_conf conf;
	struct rte_fib *fib;
	struct add_ctx add;
	int rc = 0;

	for (size_t i = 0; i < n; i++)
		ds_geo_range_prefixes(r[i].first, r[i].last, count_prefix, &cnt);
	memset(&conf, 0, sizeof(conf));
	conf.type = RTE_FIB_DIR24_8;
	conf.default_nh = DS_GEO_MISS;
	conf.max_routes = (int)cnt.rules + 2;
	conf.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
	conf.dir24_8.num_tbl8 = cnt.tbl8 + 64;
	fib = rte_fib_create(name, socket_id, &conf);
	if (fib == NULL)
		return NULL;
	add.fib = fib;
	for (size_t i = 0; i < n && rc == 0; i++) {
		add.hop = r[i].value;
		rc = ds_geo_range_prefixes(r[i].first, r[i].last, add_prefix, &add);
	}
	if (rc < 0) {
		rte_fib_free(fib);
		rte_errno = -rc;
		return NULL;
	}
	*prefixes = cnt.rules;
	/* tbl24 and the tbl8 groups (4 bytes an entry), and the rib's nodes (~64 bytes). */
	*bytes += (uint64_t)(1u << 24) * 4 + (uint64_t)conf.dir24_8.num_tbl8 * 256 * 4 +
		  (uint64_t)conf.max_routes * 64;
	return fib;
}

/*
 * The AS and country ranges (each sorted and disjoint) laid over each other:
 * disjoint ranges whose value is DS_GEO_HOP(AS index or DS_GEO_HOP_NO_AS,
 * country or DS_GEO_HOP_NO_CC). Space neither covers is left out, so its
 * lookup gives the table's default, DS_GEO_MISS, which unpacks as neither.
 * Adjacent pieces with the same value are joined. Returns the number of
 * ranges in *out (malloc'd), or -1 when out of memory.
 */
static ssize_t
overlay_ranges(const struct ds_geo_range *as, size_t n_as, const struct ds_geo_range *cc,
	       size_t n_cc, struct ds_geo_range **out)
{
	/* Every range start and end cuts at most once: at most 2 (n_as + n_cc) pieces. */
	struct ds_geo_range *r = malloc((2 * (n_as + n_cc) + 1) * sizeof(*r));
	size_t i = 0, j = 0, n = 0;
	uint64_t a = 0;

	if (r == NULL)
		return -1;
	while (a <= UINT32_MAX) {
		bool in_as, in_cc;
		uint64_t end = UINT32_MAX;
		uint32_t hop;

		while (i < n_as && as[i].last < a)
			i++;
		while (j < n_cc && cc[j].last < a)
			j++;
		if (i == n_as && j == n_cc)
			break;
		in_as = i < n_as && as[i].first <= a;
		in_cc = j < n_cc && cc[j].first <= a;
		if (!in_as && !in_cc) {
			a = i == n_as ? cc[j].first : j == n_cc ? as[i].first :
				as[i].first < cc[j].first ? as[i].first : cc[j].first;
			continue;
		}
		if (i < n_as)
			end = in_as ? as[i].last : as[i].first - 1ull;
		if (j < n_cc) {
			uint64_t e = in_cc ? cc[j].last : cc[j].first - 1ull;

			end = e < end ? e : end;
		}
		hop = DS_GEO_HOP(in_as ? as[i].value : DS_GEO_HOP_NO_AS,
				 in_cc ? cc[j].value : DS_GEO_HOP_NO_CC);
		if (n > 0 && r[n - 1].value == hop && r[n - 1].last + 1ull == a)
			r[n - 1].last = (uint32_t)end;
		else
			r[n++] = (struct ds_geo_range){(uint32_t)a, (uint32_t)end, hop};
		a = end + 1;
	}
	*out = r;
	return (ssize_t)n;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct ds_geo_table *
ds_geo_table_create(const struct ds_geo_compiled *c, bool by_prefix, int home_cc,
		    uint32_t generation, int socket_id)
{
	uint64_t t0 = now_ns();
	struct ds_geo_table *t;
	uint32_t *asns;
	uint16_t *asn_cc;
	char name[32];          /* rte_fib and rte_rib names hold up to 63 characters */
	int err;

	/* The AS index must fit its next hop: the whole hop, or its part of a packed one. */
	if (c->n_asns > (by_prefix ? DS_GEO_HOP_NO_AS : 0xffffffu)) {
		rte_errno = E2BIG;
		return NULL;
	}
	t = rte_zmalloc_socket("ds_geo_table", sizeof(*t), RTE_CACHE_LINE_SIZE, socket_id);
	asns = rte_malloc_socket("ds_geo_asns", (c->n_asns ? c->n_asns : 1) * sizeof(uint32_t),
				 RTE_CACHE_LINE_SIZE, socket_id);
	asn_cc = rte_malloc_socket("ds_geo_asn_cc", (c->n_asns ? c->n_asns : 1) * sizeof(uint16_t),
				   RTE_CACHE_LINE_SIZE, socket_id);
	if (t == NULL || asns == NULL || asn_cc == NULL) {
		rte_free(t);
		rte_free(asns);
		rte_free(asn_cc);
		rte_errno = ENOMEM;
		return NULL;
	}
	memcpy(asns, c->asns, c->n_asns * sizeof(uint32_t));
	memcpy(asn_cc, c->asn_cc, c->n_asns * sizeof(uint16_t));
	t->asns = asns;
	t->asn_cc = asn_cc;
	t->n_asns = c->n_asns;
	t->home_cc = home_cc;
	t->generation = generation;

	/* Without any prefix_asn data the table still knows the bogons. */
	t->miss_asn = c->n_asns > 1 ? DS_ASN_UNROUTED : DS_ASN_UNKNOWN;
	t->miss_cc = c->n_asns > 1 ? DS_CC_UNROUTED : DS_CC_UNKNOWN;
	if (by_prefix) {
		struct ds_geo_range *both;
		ssize_t n = overlay_ranges(c->asn_ranges, c->n_asn_ranges, c->cc_ranges,
					   c->n_cc_ranges, &both);

		if (n < 0) {
			rte_errno = ENOMEM;
			goto fail;
		}
		snprintf(name, sizeof(name), "ds_geo_ascc%u", generation);
		t->fib_asn = build_fib(name, both, (size_t)n, socket_id, &t->asn_prefixes,
				       &t->fib_bytes);
		free(both);
		t->packed = true;
	} else {
		snprintf(name, sizeof(name), "ds_geo_as%u", generation);
		t->fib_asn = build_fib(name, c->asn_ranges, c->n_asn_ranges, socket_id,
				       &t->asn_prefixes, &t->fib_bytes);
	}
	if (t->fib_asn == NULL)
		goto fail;
	t->build_ns = now_ns() - t0;
	return t;
fail:
	err = rte_errno;
	ds_geo_table_free(t);
	rte_errno = err;
	return NULL;
}

void
ds_geo_table_free(struct ds_geo_table *t)
{
	if (t == NULL)
		return;
	rte_fib_free(t->fib_asn);
	rte_free((void *)(uintptr_t)t->asns);
	rte_free((void *)(uintptr_t)t->asn_cc);
	rte_free(t);
}
