/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Scanner signatures, TCP SYN fingerprints and watch rules: what a decoded
 * packet is, beyond its header fields.
 *
 * Telescope operators track campaigns by one TCP parameter (SYNs with window
 * 5656 from compromised home routers) and recognise well-known scanners by
 * the marks their tools leave in every probe (Mirai's sequence number, ZMap's
 * IP ID, masscan's IP ID formula). This library answers, for one decoded
 * packet (struct ds_pkt):
 *  - which built-in signatures it carries (ds_sig_match(): a bitmask of
 *    enum ds_sig), a rule set versioned by DS_SIGNATURES_VERSION and
 *    documented in docs/SIGNATURES.md;
 *  - the fingerprint of a SYN (struct ds_fingerprint): window, option kinds
 *    in order, MSS, window scale and initial-TTL class, with a compact text
 *    form;
 *  - which configured watch rules (config `watch:`) it matches
 *    (ds_watch_index_match() on rules compiled by ds_watch_index_build(),
 *    or ds_watch_match() on the rules themselves: a bitmask of rule
 *    indexes).
 * Pure C, no EAL: tested on byte arrays. Only ds_watch_index_build()
 * allocates (malloc), on the control thread; matching never does.
 */

#ifndef DS_SIG_H
#define DS_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ds_config.h"
#include "ds_decode.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of the built-in rule set, stored with every minute. */
#define DS_SIGNATURES_VERSION "1"

/**
 * Built-in signatures. The values are stable bit positions; a new signature
 * is added at the end and bumps DS_SIGNATURES_VERSION.
 */
enum ds_sig {
	DS_SIG_MIRAI = 0,       /**< "mirai": TCP SYN (no ACK), seq == destination IPv4 */
	DS_SIG_ZMAP,            /**< "zmap": TCP SYN (no ACK), IPv4 ID 54321 (ZMap before 4.1) */
	DS_SIG_MASSCAN,         /**< "masscan": TCP SYN (no ACK), ip_id == (dst ^ dport ^ seq) & 0xffff */
	DS_SIG_NMAP_SYN,        /**< "nmap_syn": TCP SYN (no ACK), window 1024, options exactly MSS
				     (IPv4 or IPv6) */
	DS_SIG_BACKSCATTER,     /**< "backscatter": any of the four below */
	DS_SIG_BACKSCATTER_SYNACK, /**< "backscatter_synack": TCP SYN+ACK */
	DS_SIG_BACKSCATTER_RST, /**< "backscatter_rst": TCP RST (with or without ACK) */
	DS_SIG_BACKSCATTER_ICMP, /**< "backscatter_icmp": ICMP echo reply, unreachable, source
				      quench, redirect, time exceeded, parameter problem,
				      timestamp/info/address-mask reply; ICMPv6 errors (types
				      1-4) and echo reply (129) */
	DS_SIG_BACKSCATTER_DNS, /**< "backscatter_dns": UDP from port 53 */
	DS_SIG_SPOOF_SRC_EQ_DST, /**< "spoof_src_eq_dst": source address == destination */
	DS_SIG_SPOOF_HIGH_TTL,  /**< "spoof_high_ttl": TTL >= 200, not masscan (any IP packet,
				     later fragments included) */
	DS_SIG_SPOOF_SRC_OCTET, /**< "spoof_src_octet": IPv4 source ending in .0 or .255 */
	DS_SIG_SPOOF_PORT0,     /**< "spoof_port0": TCP/UDP source or destination port 0 */
	DS_SIG_SPOOF_FLAGS,     /**< "spoof_flags": impossible TCP flags (SYN+FIN, SYN+RST,
				     FIN+RST, none at all, FIN+PSH+URG without ACK) */
	DS_SIG_SPOOF_BOGON,     /**< "spoof_bogon": source in special-purpose space (RFC 6890) */
	DS_SIG_MAX
};

/** Stable name of a signature ("mirai"); "unknown" outside the enum. */
const char *ds_sig_name(enum ds_sig s);

/** Names of all signatures, indexed by enum ds_sig (DS_SIG_MAX entries). */
extern const char *const ds_sig_names[DS_SIG_MAX];

/**
 * The built-in signatures a decoded packet carries, as bits (1 << enum
 * ds_sig). Only for packets ds_decode() returned DS_DECODE_OK for.
 */
uint64_t ds_sig_match(const struct ds_pkt *p);

/*
 * TCP SYN fingerprint: everything a SYN's sender chose that survives the
 * network, as one key. Initial-TTL class: the smallest of 64, 128, 255 that
 * is >= the TTL seen (the hops since the sender only ever lower it).
 */
#define DS_FP_MSS 0x01          /**< mss is valid */
#define DS_FP_WS 0x02           /**< wscale is valid */

struct ds_fingerprint {
	uint16_t window;
	uint16_t mss;
	uint8_t wscale;
	uint8_t ttl_class;      /**< 64, 128 or 255 */
	uint8_t flags;          /**< DS_FP_* */
	uint8_t n;              /**< option kinds */
	uint8_t kinds[DS_TCP_MAX_OPTS];
};

/** Initial-TTL class of a TTL seen (struct ds_fingerprint.ttl_class). */
static inline uint8_t
ds_fp_ttl_class(uint8_t ttl)
{
	return ttl <= 64 ? 64 : ttl <= 128 ? 128 : 255;
}

/** DS_FP_* flags of a packet's DS_PKT_F_* flags. */
static inline uint8_t
ds_fp_flags(uint16_t pkt_flags)
{
	return (uint8_t)(((pkt_flags & DS_PKT_F_TCP_MSS) ? DS_FP_MSS : 0) |
			 ((pkt_flags & DS_PKT_F_TCP_WS) ? DS_FP_WS : 0));
}

/** Fill @p fp from a TCP SYN (fields of the struct beyond n are zeroed). */
void ds_fingerprint_of(const struct ds_pkt *p, struct ds_fingerprint *fp);

/**
 * Text form "TTL:WINDOW:MSS:WSCALE:LAYOUT", e.g.
 * "64:29200:1460:7:MSS,SACK,TS,NOP,WS"; "-" for an absent MSS or window
 * scale; LAYOUT as in tcp_syn_options ("none" without options).
 * @return the length written (snprintf semantics), or -EINVAL when fp is
 *         NULL, or buf is NULL with len > 0.
 */
int ds_fingerprint_label(const struct ds_fingerprint *fp, char *buf, size_t len);

/**
 * Option layout label: "MSS,NOP,WS,NOP,NOP,SACK"; "none" when n is 0.
 * Kind names: EOL NOP MSS WS SACK (permitted) SACKB (blocks) TS; others by
 * number. @return the length written (snprintf semantics), or -EINVAL when
 * kinds is NULL with n > 0, or buf is NULL with len > 0.
 */
int ds_layout_label_kinds(const uint8_t *kinds, uint8_t n, char *buf, size_t len);

/**
 * The watch rules a decoded packet matches, as bits (1 << rule index).
 * Fields that need a TCP/UDP/ICMP header never match a packet without one
 * (a later fragment, another protocol). Returns 0 for NULL rules or packet;
 * n is capped at DS_MAX_WATCH_RULES.
 */
uint64_t ds_watch_match(const struct ds_watch_rule *rules, uint32_t n, const struct ds_pkt *p);

/** Watch rules compiled for the packet path: one table lookup per field. */
struct ds_watch_index;

/**
 * Compile the rules of @p rules[0 .. n) whose bit is set in @p active (n is
 * capped at DS_MAX_WATCH_RULES). The index keeps a pointer to @p rules for
 * their option layouts: they must outlive it, unchanged.
 * @return the index, or NULL with errno EINVAL (rules NULL while some bit of
 *         active is below n) or ENOMEM.
 */
struct ds_watch_index *ds_watch_index_build(const struct ds_watch_rule *rules, uint32_t n,
					    uint64_t active);

/** Free an index; NULL is a no-op. */
void ds_watch_index_free(struct ds_watch_index *x);

/** Bytes an index takes (0 for NULL). */
size_t ds_watch_index_mem_size(const struct ds_watch_index *x);

/**
 * The compiled rules a decoded packet matches, as bits (1 << rule index):
 * ds_watch_match(rules, n, p) & active, at a cost that does not grow with
 * the number of rules. Returns 0 for a NULL index or packet.
 */
uint64_t ds_watch_index_match(const struct ds_watch_index *x, const struct ds_pkt *p);

#ifdef __cplusplus
}
#endif

#endif /* DS_SIG_H */
