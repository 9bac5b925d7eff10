/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Loading compiled geo ranges into rte_fib (DIR-24-8, 4-byte next hops).
 * Each disjoint range is split into the fewest aligned prefixes; a first
 * pass counts them (routes) and the /24 blocks that need a tbl8 group
 * (prefixes longer than /24), so the table is created with the room it
 * needs.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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

	if (c->n_asns > 0xffffff) {
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
	snprintf(name, sizeof(name), "ds_geo_as%u", generation);
	t->fib_asn = build_fib(name, c->asn_ranges, c->n_asn_ranges, socket_id, &t->asn_prefixes,
			       &t->fib_bytes);
	if (t->fib_asn == NULL)
		goto fail;
	if (by_prefix) {
		snprintf(name, sizeof(name), "ds_geo_cc%u", generation);
		t->fib_cc = build_fib(name, c->cc_ranges, c->n_cc_ranges, socket_id,
				      &t->cc_prefixes, &t->fib_bytes);
		if (t->fib_cc == NULL)
			goto fail;
	}
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
	rte_fib_free(t->fib_cc);
	rte_free((void *)(uintptr_t)t->asns);
	rte_free((void *)(uintptr_t)t->asn_cc);
	rte_free(t);
}
