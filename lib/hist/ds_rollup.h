/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * struct ds_rollup: one sealed minute of one sensor, merged over all workers,
 * as the sinks receive it.
 *
 * A rollup is immutable once built and owns all of its memory, so it can sit
 * in the Redis writer's queue for as long as Redis is away while the sensor
 * goes on counting. Every sink gets the same rollup: the JSON-lines sink and
 * Redis can never disagree about a minute.
 *
 *   ds_rollup
 *    |- sensor, minute, partial, join, writer, sources_sampling
 *    |- feeds[]                     one per configured feed, always all of them
 *    |   |- packets, bytes, sources
 *    |   `- dims[DS_DIM_*]          (value -> packets, sources) sorted by packets
 *    |- names[DS_DIM_*]             labels of values that are indexes: SYN option
 *    |                              layouts, fingerprints, signatures, watch rules
 *    |- srcsets[]                   the distinct sources of each feed and of the top
 *    |                              values of each dimension, for hours and days
 *    `- counters[]                  sensor-wide counters of the minute
 *
 * Distinct sources ("sources") count distinct source addresses: per feed,
 * and per value of each dimension. They are exact when sources_sampling is 0;
 * when a worker's pair table overflowed they are estimated from a 1/2^k
 * sample of the sources, k = sources_sampling (see ds_hist.h).
 */

#ifndef DS_ROLLUP_H
#define DS_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The dimensions every feed-minute is histogrammed by. */
enum ds_dim {
	DS_DIM_PROTO = 0,        /**< IP protocol (IPv6: final next header); entries carry bytes */
	DS_DIM_TCP_DST_PORT,     /**< every TCP packet with its header */
	DS_DIM_UDP_DST_PORT,
	DS_DIM_ICMP,             /**< ICMPv4, value type << 8 | code, label "type/code" */
	DS_DIM_ICMP6,            /**< ICMPv6, value type << 8 | code, label "type/code" */
	DS_DIM_TCP_SYN_WINDOW,   /**< window of SYNs without ACK */
	DS_DIM_TCP_SYN_OPTIONS,  /**< option layout of SYNs without ACK, value indexes layouts[] */
	DS_DIM_SRC_COUNTRY,      /**< country of the source (DS_CC_*), label "JP" */
	DS_DIM_SRC_ASN,          /**< origin AS of the source (DS_ASN_* specials), label "4713" */
	DS_DIM_SRC_HOME,         /**< DS_HOME_*: geo.home_country or not */
	DS_DIM_TCP_FINGERPRINT,  /**< SYN fingerprint, value indexes names[], "64:29200:1460:7:MSS,..." */
	DS_DIM_SIGNATURE,        /**< built-in signature (enum ds_sig), label "mirai" */
	DS_DIM_SIGNATURE_COUNTRY, /**< signature << 10 | country, label "mirai/JP" */
	DS_DIM_SIGNATURE_HOME,   /**< signature << 2 | DS_HOME_*, label "mirai/domestic" */
	DS_DIM_WATCH,            /**< watch rule, label its name */
	DS_DIM_WATCH_COUNTRY,    /**< rule << 10 | country, label "window-5656/JP" */
	DS_DIM_WATCH_HOME,       /**< rule << 2 | DS_HOME_*, label "window-5656/overseas" */
	DS_DIM_MAX
};

/*
 * Countries are ISO 3166 alpha-2 codes as indexes 0-675: (c0 - 'A') * 26 +
 * (c1 - 'A'). Three more values name what is not a country.
 */
#define DS_CC_CODES 676
#define DS_CC_BOGON 676         /**< special-purpose source address: "bogon" */
#define DS_CC_UNROUTED 677      /**< no data covers the address: "unrouted" */
#define DS_CC_UNKNOWN 678       /**< covered, country not known (or IPv6 without data): "unknown" */
#define DS_CC_MAX 679

/* Special AS values of DS_DIM_SRC_ASN. AS0 means "no origin" (RFC 7607). */
#define DS_ASN_UNROUTED 0u              /**< "unrouted" */
#define DS_ASN_BOGON 0xfffffffeu        /**< "bogon" */
#define DS_ASN_UNKNOWN 0xfffffffdu      /**< "unknown" (IPv6 sources: no IPv6 data) */

/* Values of DS_DIM_SRC_HOME. */
#define DS_HOME_DOMESTIC 0      /**< "domestic": the source's country is geo.home_country */
#define DS_HOME_OVERSEAS 1      /**< "overseas": another country */
#define DS_HOME_UNKNOWN 2       /**< "unknown": bogon, unrouted or no country */
#define DS_HOME_MAX 3

/** "JP" -> its index; -1 unless exactly two letters A-Z (either case). */
int ds_cc_index(const char *cc);

/** Index -> "JP", "bogon", "unrouted", "unknown" (buf at least 9 bytes). */
void ds_cc_name(uint32_t idx, char *buf, size_t len);

/** Value of the `other` bucket: values beyond a table's bound. Label "other". */
#define DS_ROLLUP_OTHER UINT32_MAX

struct ds_rollup_entry {
	uint32_t value;
	uint64_t packets;
	uint64_t bytes;          /**< DS_DIM_PROTO only, else 0 */
	uint64_t sources;        /**< distinct sources that sent this value */
};

struct ds_rollup_dim {
	struct ds_rollup_entry *entries; /**< packets descending, then value ascending */
	uint32_t n;
};

struct ds_rollup_feed {
	char *name;
	uint64_t packets;
	uint64_t bytes;          /**< frame bytes as received (without FCS) */
	uint64_t sources;
	struct ds_rollup_dim dims[DS_DIM_MAX];
};

#define DS_COUNTER_NAME_MAX 128

/** A sensor-wide counter of the minute, e.g. "outside" or "malformed.tcp_doff". */
struct ds_rollup_counter {
	char name[DS_COUNTER_NAME_MAX];
	uint64_t value;
};

/** Labels of a dimension whose values are indexes. */
struct ds_rollup_names {
	char **v;
	uint32_t n;
};

/** srcset dim of the set of all of a feed's sources (value 0). */
#define DS_SRCSET_FEED DS_DIM_MAX

/**
 * The distinct sources of one value of one feed-minute (or of the feed, dim
 * DS_SRCSET_FEED): IPv4 addresses in host order, IPv6 sources as the 32-bit
 * identity the histograms use. Kept for the feed and for the values of each
 * dimension with the most packets (ds_hist_limits.srcset_values). A sampled
 * minute (sources_sampling > 0) holds a sample.
 */
struct ds_rollup_srcset {
	uint32_t feed;
	uint32_t dim;            /**< enum ds_dim, or DS_SRCSET_FEED */
	uint32_t value;
	uint32_t n;
	uint32_t *src;
};

struct ds_rollup {
	char *sensor;
	int64_t minute;          /**< minutes since the Unix epoch, UTC */
	bool partial;            /**< the sensor did not observe the whole minute */
	/**
	 * The first minute of a live start: Redis adds it to what an earlier
	 * process of the sensor wrote of the same minute, partial, before it
	 * stopped, instead of replacing that (docs/SCHEMA.md, "A restart inside
	 * a minute"). writer tells this process' rewrites of it (retries) from
	 * another process' join.
	 */
	bool join;
	uint64_t writer;         /**< the sealing process, random at its start; with join */
	uint8_t sources_sampling; /**< 0: sources exact; k: estimated from a 1/2^k sample */
	char *signatures_version; /**< DS_SIGNATURES_VERSION of the sensor, NULL when unset */
	uint32_t n_feeds;
	struct ds_rollup_feed *feeds;
	/*
	 * names[DS_DIM_TCP_SYN_OPTIONS]: "MSS,NOP,WS,NOP,NOP,SACK", "none";
	 * names[DS_DIM_TCP_FINGERPRINT]: fingerprint labels;
	 * names[DS_DIM_SIGNATURE]: signature names (also for _COUNTRY, _HOME);
	 * names[DS_DIM_WATCH]: watch rule names (also for _COUNTRY, _HOME).
	 */
	struct ds_rollup_names names[DS_DIM_MAX];
	uint32_t n_srcsets;
	uint32_t cap_srcsets;
	struct ds_rollup_srcset *srcsets;
	uint32_t n_counters;
	uint32_t cap_counters;
	struct ds_rollup_counter *counters;
};

/** Stable name of a dimension ("tcp_dst_port"), used as JSON and Redis key part. */
const char *ds_dim_name(enum ds_dim dim);

/**
 * Allocate an empty rollup with n_feeds feeds named from feed_names.
 * @return the rollup, or NULL with errno ENOMEM.
 */
struct ds_rollup *ds_rollup_create(const char *sensor, int64_t minute, uint32_t n_feeds,
				   const char *const *feed_names);

/** Free a rollup and everything it owns; NULL is a no-op. */
void ds_rollup_free(struct ds_rollup *r);

/**
 * Make room for n entries in a dimension (its entries become n zeroed
 * entries). @return 0 or -ENOMEM.
 */
int ds_rollup_dim_resize(struct ds_rollup_dim *d, uint32_t n);

/** Sort a dimension's entries: packets descending, then value ascending. */
void ds_rollup_dim_sort(struct ds_rollup_dim *d);

/** Append a label to names[dim]; @return its index, or -ENOMEM. */
int ds_rollup_name_add(struct ds_rollup *r, enum ds_dim dim, const char *label);

/** Append a SYN option layout label (names[DS_DIM_TCP_SYN_OPTIONS]); @return its index. */
int ds_rollup_layout_add(struct ds_rollup *r, const char *label);

/** Set the signatures version string. @return 0 or -ENOMEM. */
int ds_rollup_set_signatures_version(struct ds_rollup *r, const char *version);

/**
 * Append a source set; the rollup takes ownership of @p src (malloc'd).
 * @return 0 or -ENOMEM (then src is freed).
 */
int ds_rollup_srcset_add(struct ds_rollup *r, uint32_t feed, uint32_t dim, uint32_t value,
			 uint32_t *src, uint32_t n);

/** Append (or add to, when the name exists) a counter. @return 0 or -ENOMEM. */
int ds_rollup_counter_add(struct ds_rollup *r, const char *name, uint64_t value);

/** A counter's value, 0 when absent. */
uint64_t ds_rollup_counter_get(const struct ds_rollup *r, const char *name);

/**
 * Label of a value as the sinks print it: "23", "8/0", "MSS,NOP,WS", "JP",
 * "mirai/domestic", "other". @return the length written (snprintf
 * semantics, buf may be NULL with len 0).
 */
int ds_rollup_label(const struct ds_rollup *r, enum ds_dim dim, uint32_t value, char *buf,
		    size_t len);

/** "2018-03-29T20:13:00Z" (buf at least 21 bytes). */
void ds_minute_iso(int64_t minute, char *buf, size_t len);

/** "201803292013", the minute as it appears in Redis keys (buf at least 13 bytes). */
void ds_minute_key(int64_t minute, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* DS_ROLLUP_H */
