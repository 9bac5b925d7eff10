/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Source address -> origin AS and country: the data side.
 *
 * Telescope reports rank sources by the country the regional registry
 * allocated their AS to, and list the ASes themselves. The data comes from
 * public files in several formats (CAIDA RouteViews prefix2as,
 * ip-location-db, RIR delegated statistics, MaxMind GeoLite2 CSV); an
 * operator combines several, in an order of precedence, in the YAML
 * (geo.sources). This part is pure: files in, flat tables out, no EAL, so it
 * is tested on its own. ds_geo_table.h turns the result into rte_lpm tables
 * for the workers.
 *
 *   file --ds_geo_load()--> struct ds_geo_source      (per file: ranges, AS->country)
 *   sources --ds_geo_compile()--> struct ds_geo_compiled  (disjoint ranges, AS table)
 *
 * Ranges are IPv4, host byte order, inclusive. What a loader returns may
 * nest, as prefix data does (a /24 inside a /16); ds_geo_compile() resolves
 * each file with longest-prefix semantics (the smallest range containing an
 * address wins), then layers the files: an address takes its AS (or
 * country) from the first source in geo.sources that covers it. Special-
 * purpose space (RFC 6890: private, shared, loopback, link-local, multicast,
 * reserved, documentation, benchmarking) overrides every file and is
 * `bogon`.
 */

#ifndef DS_GEO_H
#define DS_GEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_config.h"
#include "ds_rollup.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Country indexes, DS_CC_*, DS_ASN_*, ds_cc_index() and ds_cc_name() are in ds_rollup.h. */

/** An inclusive IPv4 range and its value (an AS number or a country index). */
struct ds_geo_range {
	uint32_t first;
	uint32_t last;
	uint32_t value;
};

struct ds_geo_asn_cc {
	uint32_t asn;
	uint16_t cc;
};

/** What one file gave. Ranges keep file order; they may nest. */
struct ds_geo_source {
	struct ds_geo_range *asn;       /**< address -> AS (DS_GEO_PREFIX_ASN) */
	size_t n_asn;
	struct ds_geo_range *cc;        /**< address -> country (DS_GEO_PREFIX_COUNTRY) */
	size_t n_cc;
	struct ds_geo_asn_cc *asn_cc;   /**< AS -> country (DS_GEO_ASN_COUNTRY) */
	size_t n_asn_cc;
	size_t lines;                   /**< lines read */
	size_t skipped;                 /**< well-formed lines that carry nothing used (IPv6,
					     RIR records without a country, ...) */
};

#define DS_GEO_ERR_MAX 512

/** A data mistake, formatted as "FILE:LINE: FIELD: what was expected, got ..." */
struct ds_geo_error {
	char msg[DS_GEO_ERR_MAX];
};

/** Format name as in the YAML ("caida-pfx2as"); "unknown" outside the enum. */
const char *ds_geo_format_name(enum ds_geo_format f);

/** DS_GEO_* bits the format can provide. */
uint32_t ds_geo_format_provides(enum ds_geo_format f);

/**
 * Load one file.
 *
 * @param fmt        its format
 * @param path       the file (gzip is recognised by its magic bytes, any format)
 * @param locations  maxmind-country: the Country-Locations CSV; else NULL
 * @param provides   DS_GEO_* bits wanted (a subset of what the format gives)
 * @param out        filled; free with ds_geo_source_free()
 * @return 0, or -errno with err->msg set: -errno of open/read (-ENOENT,
 *         -EACCES, -EISDIR, -EIO, ...; names the file), -EINVAL (a malformed
 *         line: names file, line and field), -ENOMEM.
 */
int ds_geo_load(enum ds_geo_format fmt, const char *path, const char *locations,
		uint32_t provides, struct ds_geo_source *out, struct ds_geo_error *err);

/** Free what a source holds and zero it; NULL is a no-op. */
void ds_geo_source_free(struct ds_geo_source *s);

/** The special-purpose IPv4 ranges (RFC 6890) treated as bogon, sorted. */
extern const struct ds_geo_range ds_geo_bogons4[];
extern const size_t ds_geo_n_bogons4;

/** Is an IPv6 source special-purpose space (RFC 6890)? (network byte order) */
bool ds_geo_bogon6(const uint8_t a[16]);

/** The compiled tables, ready for rte_lpm. */
struct ds_geo_compiled {
	/* Disjoint, sorted ranges; value = index into asns[] (0: bogon). */
	struct ds_geo_range *asn_ranges;
	size_t n_asn_ranges;
	/* Disjoint, sorted ranges; value = country index (DS_CC_BOGON for bogons). */
	struct ds_geo_range *cc_ranges;
	size_t n_cc_ranges;
	/* AS table: asns[0] is the bogon slot (DS_ASN_BOGON). */
	uint32_t *asns;
	uint16_t *asn_cc;               /**< country of each AS, DS_CC_UNKNOWN when none */
	uint32_t n_asns;
	size_t asn_cc_registry;         /**< ASes whose country came from asn_country data */
	size_t asn_cc_derived;          /**< ASes whose country was derived from prefix data */
};

/* ds_geo_compile() flags */
#define DS_GEO_DERIVE_ASN_COUNTRY 0x1

/**
 * Layer the sources (srcs[0] has precedence) into disjoint tables.
 * With DS_GEO_DERIVE_ASN_COUNTRY, an AS that no source gives a country
 * gets the country covering most of its addresses (ties: the lower country
 * index).
 * @return 0, -ENOMEM, or -E2BIG (more ASes than an rte_lpm next hop holds).
 */
int ds_geo_compile(const struct ds_geo_source *const *srcs, size_t n, uint32_t flags,
		   struct ds_geo_compiled *out);

/** Free a compiled table and zero it; NULL is a no-op. */
void ds_geo_compiled_free(struct ds_geo_compiled *c);

/**
 * Split an inclusive range into the fewest aligned prefixes, calling
 * fn(addr, depth, arg) for each in address order; stops at the first
 * non-zero return and returns it. (Used to load rte_lpm; exported for tests.)
 */
int ds_geo_range_prefixes(uint32_t first, uint32_t last,
			  int (*fn)(uint32_t addr, uint8_t depth, void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif /* DS_GEO_H */
