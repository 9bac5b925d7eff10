/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Source address -> origin AS and country: the lookup side.
 *
 * A compiled table (ds_geo.h) is loaded into DPDK's rte_fib (DIR-24-8): the
 * AS table's next hop is an index into a flat array of AS numbers and their
 * countries (index 0 is bogon space; a miss is unrouted space), and, with
 * country_source `prefix`, a second rte_fib maps addresses to country
 * indexes directly. Workers look a whole burst up at once with
 * rte_fib_lookup_bulk(). rte_fib rather than rte_lpm: both look up in a
 * DIR-24-8 table, but rte_lpm keeps its rules in per-depth arrays that every
 * add searches linearly, which makes a million-prefix table take minutes to
 * build, while rte_fib keeps them in a tree (rte_rib).
 *
 * A table is immutable once built. Reloading builds a new one beside it; the
 * application swaps the pointer and frees the old table only after every
 * worker has passed an RCU quiescent point (rte_rcu_qsbr), so a burst never
 * sees a table freed under it and no packet is lost or miscounted.
 */

#ifndef DS_GEO_TABLE_H
#define DS_GEO_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_fib.h>

#include "ds_geo.h"
#include "ds_hist.h"

#ifdef __cplusplus
extern "C" {
#endif

/** rte_fib default next hop: no range covers the address. */
#define DS_GEO_MISS 0x7fffffffu

struct ds_geo_table {
	struct rte_fib *fib_asn;        /**< src -> index into asns[] (bogons at least) */
	struct rte_fib *fib_cc;         /**< src -> country (country_source prefix), else NULL */
	const uint32_t *asns;           /**< [n_asns] AS numbers, asns[0] = DS_ASN_BOGON */
	const uint16_t *asn_cc;         /**< [n_asns] country of each AS */
	uint32_t n_asns;
	int home_cc;                    /**< geo.home_country index, -1 when unset */
	/* A miss: unrouted when AS data is configured, else unknown. */
	uint32_t miss_asn;
	uint16_t miss_cc;
	/* For the logs and the benchmark. */
	uint32_t asn_prefixes;          /**< prefixes loaded into fib_asn */
	uint32_t cc_prefixes;
	uint64_t fib_bytes;             /**< memory of the rte_fib tables (estimate) */
	uint64_t build_ns;
	uint32_t generation;
};

/**
 * Build the lookup tables of @p c on NUMA socket @p socket_id.
 * @param by_prefix  country from the prefix table instead of the AS's
 * @param home_cc    geo.home_country index, or -1
 * @param generation distinguishes the tables' DPDK names across reloads
 * @return the table, or NULL with rte_errno ENOMEM, EEXIST (name in use),
 *         E2BIG (too many ASes), or the error of rte_fib_add().
 */
struct ds_geo_table *ds_geo_table_create(const struct ds_geo_compiled *c, bool by_prefix,
					 int home_cc, uint32_t generation, int socket_id);

/** Free a table; NULL is a no-op. */
void ds_geo_table_free(struct ds_geo_table *t);

static inline uint8_t
ds_geo_home(const struct ds_geo_table *t, uint16_t cc)
{
	if (t->home_cc < 0)
		return DS_HOME_MAX;
	if (cc >= DS_CC_CODES)
		return DS_HOME_UNKNOWN;
	return cc == t->home_cc ? DS_HOME_DOMESTIC : DS_HOME_OVERSEAS;
}

/**
 * AS and country of @p n IPv4 sources (host byte order). @p hops is scratch
 * space of n entries. (@p src is not modified; rte_fib's prototype lacks the
 * const.)
 */
static inline void
ds_geo_lookup4_bulk(const struct ds_geo_table *t, uint32_t *src, uint64_t *hops,
		    struct ds_src_geo *out, unsigned int n)
{
	rte_fib_lookup_bulk(t->fib_asn, src, hops, (int)n);
	for (unsigned int i = 0; i < n; i++) {
		if (hops[i] != DS_GEO_MISS) {
			out[i].asn = t->asns[hops[i]];
			out[i].cc = t->asn_cc[hops[i]];
		} else {
			out[i].asn = t->miss_asn;
			out[i].cc = t->miss_cc;
		}
	}
	if (t->fib_cc != NULL) {
		rte_fib_lookup_bulk(t->fib_cc, src, hops, (int)n);
		for (unsigned int i = 0; i < n; i++)
			out[i].cc = hops[i] != DS_GEO_MISS ? (uint16_t)hops[i] : DS_CC_UNROUTED;
	}
	for (unsigned int i = 0; i < n; i++)
		out[i].home = ds_geo_home(t, out[i].cc);
}

/** AS and country of an IPv6 source: bogon or unknown (no IPv6 data yet). */
static inline void
ds_geo_lookup6(const struct ds_geo_table *t, const uint8_t src[16], struct ds_src_geo *out)
{
	bool bogon = ds_geo_bogon6(src);

	out->asn = bogon ? DS_ASN_BOGON : DS_ASN_UNKNOWN;
	out->cc = bogon ? DS_CC_BOGON : DS_CC_UNKNOWN;
	out->home = ds_geo_home(t, out->cc);
}

#ifdef __cplusplus
}
#endif

#endif /* DS_GEO_TABLE_H */
