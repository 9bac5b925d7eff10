/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope configuration: one YAML file (libyaml) read into struct ds_config.
 *
 * The loader is pure: it reads a file and fills plain structs, it never
 * touches EAL, so its tests run anywhere. Everything the sensor needs comes
 * from this file, including the EAL arguments: the operator never types
 * them.
 *
 * Every mistake is reported as one line that names the file, the line and
 * column, the key and what was expected, e.g.
 *
 *   darkscope.yaml:14:17: redis.port: expected an integer 1-65535, got "http"
 *   darkscope.yaml:3:3: ports[0].rxqueues: unknown key (expected one of: name,
 *       device, rx_queues, rss, rx_descriptors, promiscuous)
 *
 * Unknown keys are errors, never ignored: a misspelt key silently falling
 * back to a default is how sensors end up counting the wrong thing for a
 * quarter. The keys and their defaults are documented in
 * config/darkscope.yaml, which the tests load.
 */

#ifndef DS_CONFIG_H
#define DS_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DS_NAME_MAX 64          /**< names: [A-Za-z0-9_.-]{1,63} */
#define DS_MAX_PORTS 32
#define DS_MAX_FEEDS 64
#define DS_MAX_WORKERS 64
#define DS_MAX_RX_QUEUES 64     /**< per port */
#define DS_CONFIG_ERR_MAX 512

/** A user mistake, formatted as "FILE:LINE:COL: KEY: what was expected". */
struct ds_config_error {
	char msg[DS_CONFIG_ERR_MAX];
};

/** An IPv4 or IPv6 prefix; host bits are always zero. */
struct ds_prefix {
	uint8_t family;         /**< 4 or 6 */
	uint8_t len;            /**< prefix length: 0-32 or 0-128 */
	uint8_t addr[16];       /**< network byte order; IPv4 in addr[0..3] */
};

struct ds_config_port {
	char name[DS_NAME_MAX];
	char device[256];       /**< PCI address ("0000:3b:00.0") or vdev ("net_pcap0,rx_pcap=x") */
	bool is_vdev;           /**< device begins with "net_" */
	uint16_t rx_queues;     /**< 1-64, default 1 */
	bool rss;               /**< spread queues by RSS; default true when rx_queues > 1 */
	uint16_t rx_descriptors; /**< per queue, 64-16384, default 1024 */
	bool promiscuous;       /**< default true */
	uint32_t line;          /**< where the entry starts, for later messages */
};

struct ds_config_feed {
	char name[DS_NAME_MAX];
	struct ds_prefix *prefixes; /**< malloc'd, n_prefixes entries */
	uint32_t n_prefixes;
	uint64_t port_mask;     /**< bit i = ports[i] carries this feed; all ports when absent */
	uint32_t line;
};

struct ds_config_rxq {
	uint16_t port;          /**< index into ds_config.ports */
	uint16_t queue;
};

struct ds_config_worker {
	unsigned int lcore;
	struct ds_config_rxq rxq[DS_MAX_PORTS * DS_MAX_RX_QUEUES / DS_MAX_WORKERS];
	uint32_t n_rxq;
};

enum ds_time_source {
	DS_TIME_AUTO = 0,       /**< packet timestamps when replaying, clock on live ports */
	DS_TIME_PACKET,
	DS_TIME_CLOCK,
};

enum ds_queue_full {
	DS_QUEUE_FULL_AUTO = 0, /**< wait when replaying, drop_oldest on live ports */
	DS_QUEUE_FULL_DROP_OLDEST,
	DS_QUEUE_FULL_WAIT,
};

struct ds_config_eal {
	char lcores[128];       /**< "auto", a DPDK core list such as "0-3" or "0,2,4", or an
				     lcore map "0@0,1@1,2@1" (see lcores_map) */
	bool lcores_map;        /**< lcores is an lcore@cpu map: passed as --lcores */
	int main_lcore;         /**< -1: auto (the first lcore) */
	uint32_t memory_mb;     /**< 0: EAL default (with huge_pages false: 512) */
	bool huge_pages;        /**< false adds --no-huge; default true */
	char file_prefix[64];   /**< default "darkscope" */
	char **extra_args;      /**< malloc'd strings, passed to EAL last */
	uint32_t n_extra_args;
};

struct ds_config_capture {
	uint16_t burst;             /**< rx burst size, 1-512, default 32 */
	uint32_t mbufs;             /**< mbufs per pool; 0: sized from the queues */
	enum ds_time_source time_source;
	uint32_t stats_interval_s;  /**< log stats every N s; 0 off; default 60 */
};

struct ds_config_redis {
	bool enabled;               /**< default true */
	char host[256];             /**< default "127.0.0.1" */
	uint16_t port;              /**< default 6379 */
	char unix_socket[108];      /**< used instead of host/port when set */
	uint32_t db;                /**< default 0 */
	char username[64];          /**< ACL user; "" = default user */
	char password_env[64];      /**< environment variable holding the password */
	char password_file[PATH_MAX]; /**< file whose first line is the password */
	char key_prefix[64];        /**< default "ds"; [A-Za-z0-9_.-] */
	uint32_t retention_s;       /**< TTL of minute keys; 0 keeps forever; default 30 days */
	uint32_t hour_retention_s;  /**< TTL of hour keys; 0 keeps forever; default 35 days */
	uint32_t day_retention_s;   /**< TTL of day keys; 0 keeps forever; default 800 days */
	char rollup_timezone[64];   /**< IANA zone of the day keys; default "UTC" */
	uint32_t hll_values;        /**< per dimension and minute, top values with a distinct-source
					 HyperLogLog, 0-65535; default 50 */
	uint32_t queue_minutes;     /**< sealed minutes held while Redis is away; default 120 */
	enum ds_queue_full queue_full;
	uint32_t connect_timeout_ms; /**< default 2000 */
	uint32_t command_timeout_ms; /**< default 5000 */
	uint32_t retry_max_ms;      /**< backoff ceiling; default 10000 */
	uint32_t drain_timeout_ms;  /**< at exit, how long to wait for Redis; default 30000 */
	char spool_dir[PATH_MAX];   /**< "" no spool (default); resolved like data file paths */
	uint32_t spool_max_mb;      /**< cap of the spool's files in MiB, 1-1048576; default 1024 */
};

struct ds_config_limits {
	uint32_t source_pairs;      /**< pair-table slots per worker-minute, power of two; default 1 << 20 */
	uint32_t syn_option_layouts; /**< distinct SYN option layouts per worker-minute; default 1024 */
	uint32_t src_asns;          /**< distinct source ASNs per worker-minute; default 16384 */
	uint32_t tcp_fingerprints;  /**< distinct SYN fingerprints per worker-minute; default 4096 */
};

/** Geo data file formats (geo.sources[].format). */
enum ds_geo_format {
	DS_GEO_CAIDA_PFX2AS = 0,    /**< "caida-pfx2as": prefix<TAB>len<TAB>asn, plain or gzip */
	DS_GEO_IPLOC_ASN,           /**< "ip-location-db-asn": start,end,asn,org (dotted or numeric) */
	DS_GEO_IPLOC_COUNTRY,       /**< "ip-location-db-country": start,end,cc */
	DS_GEO_RIR_DELEGATED,       /**< "rir-delegated": registry|cc|type|start|value|date|status|... */
	DS_GEO_MAXMIND_ASN,         /**< "maxmind-asn": GeoLite2-ASN-Blocks-IPv4.csv */
	DS_GEO_MAXMIND_COUNTRY,     /**< "maxmind-country": GeoLite2-Country-Blocks-IPv4.csv + locations */
	DS_GEO_FORMAT_MAX
};

/* What a geo source provides (geo.sources[].provides), as bits. */
#define DS_GEO_PREFIX_ASN 0x1       /**< "prefix_asn": address -> origin AS */
#define DS_GEO_PREFIX_COUNTRY 0x2   /**< "prefix_country": address -> country of its allocation */
#define DS_GEO_ASN_COUNTRY 0x4      /**< "asn_country": AS -> country of its registration */

#define DS_MAX_GEO_SOURCES 16

struct ds_config_geo_source {
	enum ds_geo_format format;
	char path[PATH_MAX];        /**< resolved: relative paths are taken from the config file's directory */
	char locations[PATH_MAX];   /**< maxmind-country: the Country-Locations CSV (required there) */
	uint32_t provides;          /**< DS_GEO_* bits; default: all the format can give */
	uint32_t line;              /**< where the entry starts, for messages */
};

enum ds_geo_country_source {
	DS_GEO_COUNTRY_BY_ASN = 0,  /**< "asn": the country the AS is registered in (default) */
	DS_GEO_COUNTRY_BY_PREFIX,   /**< "prefix": the country of the allocation covering the address */
};

/*
 * Watch rules (`watch:`): a named rule matches decoded packets of a feed by
 * any of these fields, all present fields must match (AND), and each field
 * is a list of alternatives (OR): values, "lo-hi" ranges, flag patterns.
 */
#define DS_MAX_WATCH_RULES 64
#define DS_WATCH_MAX_ALT 16     /**< alternatives per field */
#define DS_WATCH_MAX_LAYOUTS 8  /**< option layouts per rule */

/* struct ds_watch_rule.fields */
#define DS_WATCH_PROTO 0x0001
#define DS_WATCH_DST_PORT 0x0002
#define DS_WATCH_SRC_PORT 0x0004
#define DS_WATCH_TCP_FLAGS 0x0008
#define DS_WATCH_WINDOW 0x0010
#define DS_WATCH_TTL 0x0020
#define DS_WATCH_OPTIONS 0x0040
#define DS_WATCH_MSS 0x0080
#define DS_WATCH_WSCALE 0x0100
#define DS_WATCH_SEQ_EQ_DST 0x0200
#define DS_WATCH_IP_ID 0x0400
#define DS_WATCH_PAYLOAD_LEN 0x0800

/** Inclusive range of a 16-bit field (ports, window, MSS, IP ID, payload length, TTL, scale). */
struct ds_range16 {
	uint16_t lo;
	uint16_t hi;
};

/** TCP flags alternative: (flags & mask) == value; "S" means mask 0xff. */
struct ds_flag_match {
	uint8_t value;
	uint8_t mask;
};

/** An option layout: the kinds in order (as struct ds_pkt.opt_kinds). */
struct ds_watch_layout {
	uint8_t n;
	uint8_t kinds[40];      /**< DS_TCP_MAX_OPTS (ds_decode.h) */
};

struct ds_watch_rule {
	char name[DS_NAME_MAX];
	uint32_t line;                  /**< where the rule starts */
	uint32_t fields;                /**< DS_WATCH_* present */
	uint8_t proto[32];              /**< bitmap of IP protocol numbers */
	struct ds_range16 dst_port[DS_WATCH_MAX_ALT];
	uint8_t n_dst_port;
	struct ds_range16 src_port[DS_WATCH_MAX_ALT];
	uint8_t n_src_port;
	struct ds_flag_match tcp_flags[DS_WATCH_MAX_ALT];
	uint8_t n_tcp_flags;
	struct ds_range16 window[DS_WATCH_MAX_ALT];
	uint8_t n_window;
	struct ds_range16 ttl[DS_WATCH_MAX_ALT];
	uint8_t n_ttl;
	struct ds_watch_layout options[DS_WATCH_MAX_LAYOUTS];
	uint8_t n_options;
	struct ds_range16 mss[DS_WATCH_MAX_ALT];
	uint8_t n_mss;
	struct ds_range16 wscale[DS_WATCH_MAX_ALT];
	uint8_t n_wscale;
	bool seq_eq_dst;                /**< with DS_WATCH_SEQ_EQ_DST: required value */
	struct ds_range16 ip_id[DS_WATCH_MAX_ALT];
	uint8_t n_ip_id;
	struct ds_range16 payload_len[DS_WATCH_MAX_ALT];
	uint8_t n_payload_len;
};

struct ds_config_geo {
	bool enabled;               /**< true when geo.sources lists at least one file */
	enum ds_geo_country_source country_source;
	char home_country[3];       /**< "JP"; "" when unset (no domestic/overseas split) */
	bool derive_asn_country;    /**< AS without a registry country: the country of most of its
				         addresses (prefix_country data); default true */
	struct ds_config_geo_source sources[DS_MAX_GEO_SOURCES]; /**< precedence: first wins */
	uint32_t n_sources;
};

struct ds_config {
	char path[PATH_MAX];        /**< file it was read from */
	char sensor_id[DS_NAME_MAX]; /**< default: the host name up to the first dot */
	struct ds_config_eal eal;
	struct ds_config_capture capture;
	struct ds_config_port ports[DS_MAX_PORTS];
	uint32_t n_ports;
	struct ds_config_feed feeds[DS_MAX_FEEDS];
	uint32_t n_feeds;
	bool workers_auto;          /**< default true: queues spread over worker lcores */
	struct ds_config_worker workers[DS_MAX_WORKERS];
	uint32_t n_workers;
	struct ds_config_redis redis;
	char jsonl_path[PATH_MAX];  /**< "" off, "-" stdout */
	struct ds_config_limits limits;
	struct ds_config_geo geo;
	struct ds_watch_rule watch[DS_MAX_WATCH_RULES]; /**< `watch:` rules, in file order */
	uint32_t n_watch;
};

/**
 * Read and validate a configuration file.
 *
 * @return the configuration (free with ds_config_free()), or NULL with
 *         err->msg set for: unreadable file, YAML syntax error, unknown key,
 *         wrong type or out-of-range value, missing required key, duplicate
 *         name, duplicate prefix, reference to an unknown port, queue or
 *         lcore. errno is set to EINVAL (or the errno of a failed open).
 */
struct ds_config *ds_config_load(const char *path, struct ds_config_error *err);

/** Free a configuration; NULL is a no-op. */
void ds_config_free(struct ds_config *cfg);

/**
 * Override the Redis endpoint from a command line URL:
 * "unix:/path/redis.sock", "unix:/path/redis.sock?db=2",
 * "redis://host:port", "redis://host:port/2" or "host:port".
 * @return 0, or -EINVAL with err->msg naming the URL and the expected forms.
 */
int ds_config_set_redis_url(struct ds_config *cfg, const char *url, struct ds_config_error *err);

/**
 * Resolve the Redis password from password_env or password_file into buf.
 * An empty result means no password is configured.
 * @return 0, or -errno with err->msg naming the variable or file (never the
 *         password): -ENOENT unset variable or missing file, -EACCES,
 *         -ENAMETOOLONG password longer than len - 1.
 */
int ds_config_redis_password(const struct ds_config_redis *r, char *buf, unsigned int len,
			     struct ds_config_error *err);

/**
 * Parse "198.18.0.0/15" or "2001:db8::/32" (host bits must be zero).
 * @return 0, -EINVAL for bad syntax, -ERANGE for host bits set (then *p
 *         holds the prefix with the host bits cleared, for "did you mean").
 */
int ds_prefix_parse(const char *s, struct ds_prefix *p);

/** Format a prefix back to text. */
void ds_prefix_format(const struct ds_prefix *p, char *buf, unsigned int len);

#ifdef __cplusplus
}
#endif

#endif /* DS_CONFIG_H */
