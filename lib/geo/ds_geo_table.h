/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Source address -> origin AS and country: the lookup side.
 *
 * A compiled table (ds_geo.h) is loaded into DPDK's rte_fib (DIR-24-8): the
 * next hop is an index into a flat array of AS numbers and their countries
 * (index 0 is bogon space; a miss is unrouted space). With country_source
 * `prefix` the next hop packs the country of the address beside its AS
 * index (DS_GEO_HOP()): one table built from both sets of ranges, so a
 * source still costs one lookup. Workers look a whole burst up at once with
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

/*
 * A packed next hop (country_source prefix): bits 0-20 the AS index, bits
 * 21-30 the country; the all-ones value of a field means no range gave it,
 * so DS_GEO_MISS unpacks as neither. (DIR-24-8 keeps 31 bits of a 4-byte
 * next hop.)
 */
#define DS_GEO_HOP_AS_BITS 21
#define DS_GEO_HOP_NO_AS ((1u << DS_GEO_HOP_AS_BITS) - 1)
#define DS_GEO_HOP_NO_CC 0x3ffu
#define DS_GEO_HOP(as_index, cc) ((uint32_t)(cc) << DS_GEO_HOP_AS_BITS | (as_index))
_Static_assert(DS_CC_MAX < DS_GEO_HOP_NO_CC, "a country index fits its 10 bits");
_Static_assert(DS_GEO_HOP(DS_GEO_HOP_NO_AS, DS_GEO_HOP_NO_CC) == DS_GEO_MISS,
	       "a miss unpacks as neither an AS nor a country");

struct ds_geo_table {
	/**
	 * src -> index into asns[] (bogons at least); packed with the
	 * country (DS_GEO_HOP()) when `packed`.
	 */
	struct rte_fib *fib_asn;
	bool packed;                    /**< country_source prefix: the hop carries the country */
	const uint32_t *asns;           /**< [n_asns] AS numbers, asns[0] = DS_ASN_BOGON */
	const uint16_t *asn_cc;         /**< [n_asns] country of each AS (unread when packed) */
	uint32_t n_asns;
	int home_cc;                    /**< geo.home_country index, -1 when unset */
	/* A miss: unrouted when AS data is configured, else unknown. */
	uint32_t miss_asn;
	uint16_t miss_cc;
	/* For the logs and the benchmark. */
	uint32_t asn_prefixes;          /**< prefixes loaded into fib_asn */
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
	if (t->packed) {
		for (unsigned int i = 0; i < n; i++) {
			uint32_t as = (uint32_t)hops[i] & DS_GEO_HOP_NO_AS;
			uint32_t cc = (uint32_t)hops[i] >> DS_GEO_HOP_AS_BITS;

			out[i].asn = as != DS_GEO_HOP_NO_AS ? t->asns[as] : t->miss_asn;
			out[i].cc = cc != DS_GEO_HOP_NO_CC ? (uint16_t)cc : DS_CC_UNROUTED;
			out[i].home = ds_geo_home(t, out[i].cc);
		}
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		if (hops[i] != DS_GEO_MISS) {
			out[i].asn = t->asns[hops[i]];
			out[i].cc = t->asn_cc[hops[i]];
		} else {
			out[i].asn = t->miss_asn;
			out[i].cc = t->miss_cc;
		}
		out[i].home = ds_geo_home(t, out[i].cc);
	}
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
