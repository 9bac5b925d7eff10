/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Scanner signatures, SYN fingerprints and watch rules over a decoded packet.
 *
 * ds_sig_match() runs on every packet a worker counts, tens of millions of
 * times a second, so it is one dispatch on the transport protocol followed by
 * straight-line code: each signature is a boolean computed from fields in the
 * first cache line of struct ds_pkt and shifted into its bit. There is no
 * loop and no division; what would take a chain of compares is one load from
 * a small constant table indexed by a packet byte (the TCP flags, the ICMP
 * type, the first octet of the IPv4 source), so the cost does not depend on
 * what a sender puts in those bytes:
 *
 *      struct ds_pkt
 *        |-- TCP  --> flags table: backscatter_synack/rst, spoof_flags, "SYN"
 *        |            SYN: mirai zmap masscan nmap_syn; spoof_port0
 *        |-- UDP  --> backscatter_dns, spoof_port0
 *        |-- ICMP --> type table: backscatter_icmp
 *        '-- every packet: spoof_high_ttl, spoof_src_eq_dst, spoof_src_octet,
 *            spoof_bogon (IPv6 addresses out of line)
 *                    --> one uint64_t, bit = enum ds_sig
 *
 * Every test that reads a transport field needs DS_PKT_F_L4: the decoder
 * leaves those fields zero without it (a later fragment, an unknown
 * protocol), and zero would otherwise match "port 0" or "no TCP flags".
 * What each rule means, where it comes from and how it fails is in
 * docs/SIGNATURES.md; a change here changes DS_SIGNATURES_VERSION.
 *
 * The fingerprint and its labels run once per new SYN layout or per minute:
 * plain loops over bounded arrays, every count taken from a config struct
 * clamped to its array first. The watch rules run once per packet of a
 * feed, compiled into one table lookup per field ("Compiled watch rules"
 * below); ds_watch_match(), the rules asked one by one, is the reference
 * the compiled form is tested against.
 */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ds_sig.h"

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

#define ZMAP_IP_ID 54321        /* ZMap's fixed IPv4 ID, up to 4.0 */
#define NMAP_WINDOW 1024        /* Nmap -sS default window */
#define HIGH_TTL 200

#define SIG(s) ((uint32_t)1 << DS_SIG_##s)

const char *const ds_sig_names[DS_SIG_MAX] = {
	[DS_SIG_MIRAI] = "mirai",
	[DS_SIG_ZMAP] = "zmap",
	[DS_SIG_MASSCAN] = "masscan",
	[DS_SIG_NMAP_SYN] = "nmap_syn",
	[DS_SIG_BACKSCATTER] = "backscatter",
	[DS_SIG_BACKSCATTER_SYNACK] = "backscatter_synack",
	[DS_SIG_BACKSCATTER_RST] = "backscatter_rst",
	[DS_SIG_BACKSCATTER_ICMP] = "backscatter_icmp",
	[DS_SIG_BACKSCATTER_DNS] = "backscatter_dns",
	[DS_SIG_SPOOF_SRC_EQ_DST] = "spoof_src_eq_dst",
	[DS_SIG_SPOOF_HIGH_TTL] = "spoof_high_ttl",
	[DS_SIG_SPOOF_SRC_OCTET] = "spoof_src_octet",
	[DS_SIG_SPOOF_PORT0] = "spoof_port0",
	[DS_SIG_SPOOF_FLAGS] = "spoof_flags",
	[DS_SIG_SPOOF_BOGON] = "spoof_bogon",
};

/*
 * The match works in 32 bits and keeps bit 31 for itself (the flag table's
 * "SYN without ACK"); the API's uint64_t leaves room to grow past that.
 */
_Static_assert(DS_SIG_MAX <= 31, "enum ds_sig outgrew the 32-bit working mask of ds_sig_match");

const char *
ds_sig_name(enum ds_sig s)
{
	if ((unsigned int)s >= DS_SIG_MAX)
		return "unknown";
	return ds_sig_names[s];
}

/*
 * TCP flags byte -> the signature bits the flags decide on their own, plus
 * FL_SYN_ONLY for "SYN set, ACK clear", which the scanner marks need. The
 * 256 entries are computed by the preprocessor from the rules below, so the
 * table is the rule, not a copy of it; one load replaces some twenty
 * instructions of flag arithmetic.
 */
#define FL_SYN_ONLY ((uint32_t)1 << 31)
#define FL_BAD(f) \
	(((f) & (DS_TCP_SYN | DS_TCP_FIN)) == (DS_TCP_SYN | DS_TCP_FIN) || \
	 ((f) & (DS_TCP_SYN | DS_TCP_RST)) == (DS_TCP_SYN | DS_TCP_RST) || \
	 ((f) & (DS_TCP_FIN | DS_TCP_RST)) == (DS_TCP_FIN | DS_TCP_RST) || (f) == 0 || \
	 ((f) & (DS_TCP_FIN | DS_TCP_PSH | DS_TCP_URG | DS_TCP_ACK)) == \
	 (DS_TCP_FIN | DS_TCP_PSH | DS_TCP_URG))
#define FL_SYNACK(f) (((f) & (DS_TCP_SYN | DS_TCP_ACK)) == (DS_TCP_SYN | DS_TCP_ACK))
#define FL_RST(f) (((f) & DS_TCP_RST) != 0)
#define FL(f) \
	((FL_SYNACK(f) ? SIG(BACKSCATTER) | SIG(BACKSCATTER_SYNACK) : 0) | \
	 (FL_RST(f) ? SIG(BACKSCATTER) | SIG(BACKSCATTER_RST) : 0) | \
	 (FL_BAD(f) ? SIG(SPOOF_FLAGS) : 0) | \
	 (((f) & (DS_TCP_SYN | DS_TCP_ACK)) == DS_TCP_SYN ? FL_SYN_ONLY : 0))
#define FL4(f) FL(f), FL((f) + 1), FL((f) + 2), FL((f) + 3)
#define FL16(f) FL4(f), FL4((f) + 4), FL4((f) + 8), FL4((f) + 12)
#define FL64(f) FL16(f), FL16((f) + 16), FL16((f) + 32), FL16((f) + 48)

static const uint32_t tcp_flag_sigs[256] = { FL64(0), FL64(64), FL64(128), FL64(192) };

/*
 * ICMP type -> bit 0: an ICMPv4 answer a victim sends to a spoofed source
 * (echo reply 0, unreachable 3, source quench 4, redirect 5, time exceeded
 * 11, parameter problem 12, timestamp reply 14, information reply 16,
 * address mask reply 18); bit 1: the ICMPv6 ones (errors 1-4, echo reply
 * 129). Requests (8, 13, 128, ...) are what scanners send, not answers.
 */
#define IC4(t) ((t) == 0 || (t) == 3 || (t) == 4 || (t) == 5 || (t) == 11 || (t) == 12 || \
		(t) == 14 || (t) == 16 || (t) == 18)
#define IC6(t) (((t) >= 1 && (t) <= 4) || (t) == 129)
#define IC(t) (IC4(t) | IC6(t) << 1)
#define IC4X(t) IC(t), IC((t) + 1), IC((t) + 2), IC((t) + 3)
#define IC16(t) IC4X(t), IC4X((t) + 4), IC4X((t) + 8), IC4X((t) + 12)
#define IC64(t) IC16(t), IC16((t) + 16), IC16((t) + 32), IC16((t) + 48)

static const uint8_t icmp_backscatter[256] = { IC64(0), IC64(64), IC64(128), IC64(192) };

/*
 * IPv4 special-purpose sources (the list of lib/geo/ds_geo_common.c) as
 * mask-and-compare terms. The first octet picks a class; a class is at most
 * three (mask, value) pairs, and the address is a bogon when any pair
 * matches. Class 0 (most of the space) has pairs that never match, class 1
 * (0/8, 10/8, 127/8, 224/3) one that always does. The three compares always
 * run: two loads and a dozen ALU operations whatever the address, no walk
 * over the 15 ranges and no branch.
 */
enum { B4_NONE, B4_ALL, B4_100, B4_169, B4_172, B4_192, B4_198, B4_203, B4_CLASSES };

static const uint8_t bogon4_class[256] = {
	[0] = B4_ALL, [10] = B4_ALL, [127] = B4_ALL,
	[100] = B4_100, [169] = B4_169, [172] = B4_172, [192] = B4_192, [198] = B4_198,
	[203] = B4_203,
	[224] = B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL,   /* 224-231 */
	B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL,          /* 232-239 */
	B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL,          /* 240-247 */
	B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL, B4_ALL,          /* 248-255 */
};

#define NEVER {0, 1}            /* (a & 0) == 1 is false for every a */

static const struct {
	uint32_t mask;
	uint32_t value;
} bogon4_pairs[B4_CLASSES][3] = {
	[B4_NONE] = {NEVER, NEVER, NEVER},
	[B4_ALL] = {{0, 0}, NEVER, NEVER},
	[B4_100] = {{0xffc00000u, 0x64400000u}, NEVER, NEVER},         /* 100.64/10 */
	[B4_169] = {{0xffff0000u, 0xa9fe0000u}, NEVER, NEVER},         /* 169.254/16 */
	[B4_172] = {{0xfff00000u, 0xac100000u}, NEVER, NEVER},         /* 172.16/12 */
	/* 192.0.0/24 and 192.0.2/24 differ in one bit (0x200), masked out. */
	[B4_192] = {{0xfffffd00u, 0xc0000000u},
		    {0xffffff00u, 0xc0586300u},                         /* 192.88.99/24 */
		    {0xffff0000u, 0xc0a80000u}},                        /* 192.168/16 */
	[B4_198] = {{0xfffe0000u, 0xc6120000u},                         /* 198.18/15 */
		    {0xffffff00u, 0xc6336400u}, NEVER},                 /* 198.51.100/24 */
	[B4_203] = {{0xffffff00u, 0xcb007100u}, NEVER, NEVER},         /* 203.0.113/24 */
};

static inline bool
bogon4(uint32_t a)
{
	const uint8_t c = bogon4_class[a >> 24];

	return ((a & bogon4_pairs[c][0].mask) == bogon4_pairs[c][0].value) |
	       ((a & bogon4_pairs[c][1].mask) == bogon4_pairs[c][1].value) |
	       ((a & bogon4_pairs[c][2].mask) == bogon4_pairs[c][2].value);
}

static inline uint64_t
load_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * IPv6 special-purpose sources, on the address as two big-endian halves: a
 * prefix of length L <= 64 is a compare of hi >> (64 - L).
 */
static inline bool
bogon6(uint64_t hi, uint64_t lo)
{
	return ((hi == 0) & ((lo >> 1) == 0)) |                 /* ::/127 */
	       ((hi == 0) & ((lo >> 32) == 0xffff)) |           /* ::ffff:0:0/96 */
	       ((hi >> 16) == 0x0064ff9b0001u) |                /* 64:ff9b:1::/48 */
	       (hi == 0x0100000000000000u) |                    /* 100::/64 */
	       ((hi >> 41) == (0x20010000u >> 9)) |             /* 2001::/23 */
	       ((hi >> 32) == 0x20010db8u) |                    /* 2001:db8::/32 */
	       ((hi >> 44) == 0x3fff0u) |                       /* 3fff::/20 */
	       ((hi >> 48) == 0x5f00u) |                        /* 5f00::/16 */
	       ((hi >> 57) == (0xfcu >> 1)) |                   /* fc00::/7 */
	       ((hi >> 54) == (0xfe80u >> 6)) |                 /* fe80::/10 */
	       ((hi >> 56) == 0xffu);                           /* ff00::/8 */
}

/*
 * The address-based marks of an IPv6 packet. Kept out of line: telescopes
 * see little IPv6, and its 32 address bytes would otherwise crowd the
 * registers of the IPv4 path.
 */
static __attribute__((noinline)) uint32_t
sig_addr6(const struct ds_pkt *p)
{
	uint64_t hi = load_be64(p->src6), lo = load_be64(p->src6 + 8);
	bool same = ((hi ^ load_be64(p->dst6)) | (lo ^ load_be64(p->dst6 + 8))) == 0;

	return (uint32_t)same << DS_SIG_SPOOF_SRC_EQ_DST |
	       (uint32_t)bogon6(hi, lo) << DS_SIG_SPOOF_BOGON;
}

/* Bit `sig` from a boolean, without a branch. */
#define BIT(sig, cond) ((uint32_t)(cond) << DS_SIG_##sig)

uint64_t
ds_sig_match(const struct ds_pkt *p)
{
	const bool v4 = p->ip_version == 4;
	const bool l4 = (p->flags & DS_PKT_F_L4) != 0;
	bool masscan = false;
	uint32_t m = 0;

	/*
	 * One dispatch on the transport, then straight-line code. Measured on
	 * the shared captures, this beat computing every protocol's marks
	 * unconditionally (6.5 against 9 ns a packet), even with TCP, UDP and
	 * ICMP shuffled in equal parts.
	 */
	if (likely(l4 && p->proto == PROTO_TCP)) {
		const uint32_t fl = tcp_flag_sigs[p->tcp_flags];
		const bool syn = (fl & FL_SYN_ONLY) != 0;
		const bool syn4 = syn & v4;

		/* IPv6 leaves dst4 and ip_id zero: the IPv4-only marks require v4. */
		masscan = syn4 & (p->ip_id == ((p->dst4 ^ p->dport ^ p->seq) & 0xffff));
		m = (fl & ~FL_SYN_ONLY) |
		    BIT(MIRAI, syn4 & (p->seq == p->dst4)) |
		    BIT(ZMAP, syn4 & (p->ip_id == ZMAP_IP_ID)) |
		    BIT(MASSCAN, masscan) |
		    BIT(NMAP_SYN, syn & (p->window == NMAP_WINDOW) & (p->n_opts == 1) &
			(p->opt_kinds[0] == DS_TCPOPT_MSS)) |
		    BIT(SPOOF_PORT0, (p->sport == 0) | (p->dport == 0));
	} else if (l4 && p->proto == PROTO_UDP) {
		const bool dns = p->sport == 53;

		m = BIT(BACKSCATTER, dns) | BIT(BACKSCATTER_DNS, dns) |
		    BIT(SPOOF_PORT0, (p->sport == 0) | (p->dport == 0));
	} else if (l4 && (p->proto == PROTO_ICMP || p->proto == PROTO_ICMPV6)) {
		/* The ICMPv4 types sit in bit 0 of the table, the ICMPv6 ones in bit 1. */
		const bool icmp = (icmp_backscatter[p->icmp_type] >>
				   (p->proto == PROTO_ICMPV6)) & 1;

		m = BIT(BACKSCATTER, icmp) | BIT(BACKSCATTER_ICMP, icmp);
	}

	/*
	 * Sources no real stack produces, for every packet (a later fragment
	 * included). A last octet of 0 or 255 is (octet + 1) mod 256 <= 1;
	 * masscan is exempt from the TTL test because its raw packets leave
	 * with TTL 255.
	 */
	m |= BIT(SPOOF_HIGH_TTL, (p->ttl >= HIGH_TTL) & !masscan) |
	     BIT(SPOOF_SRC_EQ_DST, v4 & (p->src4 == p->dst4)) |
	     BIT(SPOOF_SRC_OCTET, v4 & (((p->src4 + 1) & 0xff) <= 1)) |
	     BIT(SPOOF_BOGON, v4 & bogon4(p->src4));
	if (unlikely(p->ip_version == 6))
		m |= sig_addr6(p);
	return m;
}

void
ds_fingerprint_of(const struct ds_pkt *p, struct ds_fingerprint *fp)
{
	uint8_t n = p->n_opts <= DS_TCP_MAX_OPTS ? p->n_opts : DS_TCP_MAX_OPTS;

	/* The struct is a hash key: every byte, the unused kinds included, must be defined. */
	memset(fp, 0, sizeof(*fp));
	fp->window = p->window;
	fp->ttl_class = ds_fp_ttl_class(p->ttl);
	fp->flags = ds_fp_flags(p->flags);
	if (fp->flags & DS_FP_MSS)
		fp->mss = p->mss;
	if (fp->flags & DS_FP_WS)
		fp->wscale = p->wscale;
	fp->n = n;
	memcpy(fp->kinds, p->opt_kinds, n);
}

/*
 * An output buffer with snprintf semantics: everything is counted, only
 * what fits before the last byte is stored, and the text is terminated once
 * at the end. buf may be NULL when len is 0 (a length query).
 */
struct out {
	char *buf;
	size_t len;
	size_t off;
};

static void
out_str(struct out *o, const char *s)
{
	for (; *s != '\0'; s++, o->off++)
		if (o->off + 1 < o->len)
			o->buf[o->off] = *s;
}

static void
out_u32(struct out *o, uint32_t v)
{
	char tmp[11];
	size_t i = sizeof(tmp) - 1;

	tmp[i] = '\0';
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	out_str(o, tmp + i);
}

static int
out_end(struct out *o)
{
	if (o->len != 0)
		o->buf[o->off < o->len ? o->off : o->len - 1] = '\0';
	return (int)o->off;
}

static void
out_layout(struct out *o, const uint8_t *kinds, uint8_t n)
{
	/* The names docs/SCHEMA.md gives for tcp_syn_options; other kinds print as numbers. */
	static const char *const names[] = {
		[DS_TCPOPT_EOL] = "EOL", [DS_TCPOPT_NOP] = "NOP",
		[DS_TCPOPT_MSS] = "MSS", [DS_TCPOPT_WS] = "WS",
		[DS_TCPOPT_SACK_PERM] = "SACK", [DS_TCPOPT_SACK] = "SACKB",
		[6] = NULL, [7] = NULL, [DS_TCPOPT_TS] = "TS",
	};

	if (n == 0) {
		out_str(o, "none");
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint8_t k = kinds[i];

		if (i != 0)
			out_str(o, ",");
		if (k < sizeof(names) / sizeof(names[0]) && names[k] != NULL)
			out_str(o, names[k]);
		else
			out_u32(o, k);
	}
}

int
ds_layout_label_kinds(const uint8_t *kinds, uint8_t n, char *buf, size_t len)
{
	struct out o = {buf, len, 0};

	if ((kinds == NULL && n != 0) || (buf == NULL && len != 0))
		return -EINVAL;
	out_layout(&o, kinds, n);
	return out_end(&o);
}

int
ds_fingerprint_label(const struct ds_fingerprint *fp, char *buf, size_t len)
{
	struct out o = {buf, len, 0};

	if (fp == NULL || (buf == NULL && len != 0))
		return -EINVAL;
	out_u32(&o, fp->ttl_class);
	out_str(&o, ":");
	out_u32(&o, fp->window);
	out_str(&o, ":");
	if (fp->flags & DS_FP_MSS)
		out_u32(&o, fp->mss);
	else
		out_str(&o, "-");
	out_str(&o, ":");
	if (fp->flags & DS_FP_WS)
		out_u32(&o, fp->wscale);
	else
		out_str(&o, "-");
	out_str(&o, ":");
	/* fp->n comes from ds_fingerprint_of() (<= 40) but the struct is public: clamp it. */
	out_layout(&o, fp->kinds, fp->n <= DS_TCP_MAX_OPTS ? fp->n : DS_TCP_MAX_OPTS);
	return out_end(&o);
}

/*
 * Watch rules.
 *
 * The packet is reduced once to the predicates the fields depend on; each
 * rule is then a sequence of "field present -> it must match" tests that
 * stops at the first field that fails. The alternative counts come from the
 * config parser; they are clamped to the arrays anyway, so a struct filled
 * by other code can never make the matcher read past a rule.
 */

/* Fields that read the TCP header (and so need proto 6 with DS_PKT_F_L4). */
#define WATCH_TCP_FIELDS \
	(DS_WATCH_TCP_FLAGS | DS_WATCH_WINDOW | DS_WATCH_OPTIONS | DS_WATCH_MSS | \
	 DS_WATCH_WSCALE | DS_WATCH_SEQ_EQ_DST)

static inline uint32_t
clamp(uint32_t n, uint32_t max)
{
	return n < max ? n : max;
}

static bool
in_ranges(const struct ds_range16 *r, uint8_t n, uint32_t v)
{
	uint32_t k = clamp(n, DS_WATCH_MAX_ALT);

	/* lo > hi is an empty range, never "everything after lo". */
	for (uint32_t i = 0; i < k; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

static bool
flags_match(const struct ds_flag_match *fm, uint8_t n, uint8_t flags)
{
	uint32_t k = clamp(n, DS_WATCH_MAX_ALT);

	for (uint32_t i = 0; i < k; i++)
		if ((flags & fm[i].mask) == fm[i].value)
			return true;
	return false;
}

static bool
layout_match(const struct ds_watch_layout *l, uint8_t n, const struct ds_pkt *p)
{
	uint32_t k = clamp(n, DS_WATCH_MAX_LAYOUTS);

	/* p->n_opts <= DS_TCP_MAX_OPTS from the decoder, and equal n bounds both reads. */
	for (uint32_t i = 0; i < k; i++)
		if (l[i].n == p->n_opts && l[i].n <= sizeof(l[i].kinds) &&
		    memcmp(l[i].kinds, p->opt_kinds, l[i].n) == 0)
			return true;
	return false;
}

static bool
rule_match(const struct ds_watch_rule *r, const struct ds_pkt *p, bool l4, bool tcp, bool ports,
	   bool v4)
{
	uint32_t f = r->fields;

	if ((f & WATCH_TCP_FIELDS) && !tcp)
		return false;
	if ((f & (DS_WATCH_DST_PORT | DS_WATCH_SRC_PORT)) && !ports)
		return false;
	if ((f & DS_WATCH_PAYLOAD_LEN) && !l4)
		return false;
	if ((f & (DS_WATCH_SEQ_EQ_DST | DS_WATCH_IP_ID)) && !v4)
		return false;

	if ((f & DS_WATCH_PROTO) && !(r->proto[p->proto >> 3] & (1u << (p->proto & 7))))
		return false;
	if ((f & DS_WATCH_DST_PORT) && !in_ranges(r->dst_port, r->n_dst_port, p->dport))
		return false;
	if ((f & DS_WATCH_SRC_PORT) && !in_ranges(r->src_port, r->n_src_port, p->sport))
		return false;
	if ((f & DS_WATCH_TCP_FLAGS) && !flags_match(r->tcp_flags, r->n_tcp_flags, p->tcp_flags))
		return false;
	if ((f & DS_WATCH_WINDOW) && !in_ranges(r->window, r->n_window, p->window))
		return false;
	if ((f & DS_WATCH_TTL) && !in_ranges(r->ttl, r->n_ttl, p->ttl))
		return false;
	if ((f & DS_WATCH_OPTIONS) && !layout_match(r->options, r->n_options, p))
		return false;
	if ((f & DS_WATCH_MSS) &&
	    (!(p->flags & DS_PKT_F_TCP_MSS) || !in_ranges(r->mss, r->n_mss, p->mss)))
		return false;
	if ((f & DS_WATCH_WSCALE) &&
	    (!(p->flags & DS_PKT_F_TCP_WS) || !in_ranges(r->wscale, r->n_wscale, p->wscale)))
		return false;
	if ((f & DS_WATCH_SEQ_EQ_DST) && (p->seq == p->dst4) != r->seq_eq_dst)
		return false;
	if ((f & DS_WATCH_IP_ID) && !in_ranges(r->ip_id, r->n_ip_id, p->ip_id))
		return false;
	if ((f & DS_WATCH_PAYLOAD_LEN) &&
	    !in_ranges(r->payload_len, r->n_payload_len, p->payload_len))
		return false;
	return true;
}

/* One bit per rule in a uint64_t: the config may not allow more rules than that. */
_Static_assert(DS_MAX_WATCH_RULES <= 64, "watch rules no longer fit the uint64_t result");

uint64_t
ds_watch_match(const struct ds_watch_rule *rules, uint32_t n, const struct ds_pkt *p)
{
	uint32_t k = clamp(n, DS_MAX_WATCH_RULES);
	bool l4, tcp, ports, v4;
	uint64_t m = 0;

	if (rules == NULL || p == NULL)
		return 0;
	l4 = (p->flags & DS_PKT_F_L4) != 0;
	tcp = l4 && p->proto == PROTO_TCP;
	ports = tcp || (l4 && p->proto == PROTO_UDP);
	v4 = p->ip_version == 4;
	for (uint32_t i = 0; i < k; i++)
		if (rule_match(&rules[i], p, l4, tcp, ports, v4))
			m |= (uint64_t)1 << i;
	return m;
}

/*
 * Compiled watch rules
 * --------------------
 * ds_watch_match() asks every rule in turn, so a packet costs more with each
 * rule an operator adds. The index asks every field once instead: for each
 * value a field can take it holds the mask of the rules that value does not
 * rule out (a rule that does not name the field allows all of its values),
 * and a packet's rules are the AND of one such mask per field:
 *
 *     m = active & proto[p->proto] & ttl[p->ttl] & tcp_flags[p->tcp_flags]
 *                & dst_port(p->dport) & src_port(p->sport) & window(p->window)
 *                & ip_id(p->ip_id) & payload_len(p->payload_len)
 *                & (MSS present ? mss(p->mss) : rules without mss)
 *                & (scale present ? wscale[p->wscale] : rules without wscale)
 *                & (seq == dst ? seq_eq : seq_ne)
 *                & (no L4 header ? rules that need none : all) & (no TCP ...) ...
 *
 * An 8-bit field indexes a table of 256 masks. A 16-bit field indexes a
 * table of 256 leaf numbers with its high byte, then that leaf, 256 masks,
 * with its low byte. Leaves are shared by every 16-bit field: a field no
 * rule names, or a stretch of 256 values that every rule treats alike, is
 * one leaf for all of them, so the usual rule set (a few ports, a window)
 * fits in a few KiB that stay in the L1/L2 caches. Option layouts cannot be
 * tabled: the rules that name one and are still in m are checked last with
 * layout_match().
 *
 * The tables are filled by asking each rule, value by value, the same
 * questions rule_match() asks (in_ranges(), flags_match(), the protocol
 * bitmap), so the index answers as ds_watch_match() does by construction;
 * test_sig compares the two on random rules and packets. Building walks
 * every value of every field a rule names, once per rule, on the control
 * thread when the configuration is (re)loaded: about 0.3 s for 64 rules
 * that name every field with 16 alternatives each (this VM, -O2).
 */

enum { W8_PROTO, W8_TTL, W8_TCP_FLAGS, W8_WSCALE, W8_MAX };
enum { W16_DST_PORT, W16_SRC_PORT, W16_WINDOW, W16_MSS, W16_IP_ID, W16_PAYLOAD_LEN, W16_MAX };

#define WATCH_LEAF 256
#define WATCH_MAX_LEAVES (W16_MAX * 256)        /* every top entry its own leaf */

struct ds_watch_index {
	const struct ds_watch_rule *rules;      /* for the option layouts */
	uint64_t active;        /* rules indexed */
	uint64_t no_l4;         /* rules a packet without a TCP/UDP/ICMP header may match */
	uint64_t no_tcp;        /* ... a packet that is not TCP with its header */
	uint64_t no_ports;      /* ... neither TCP nor UDP with its header */
	uint64_t no_v4;         /* ... an IPv6 packet */
	uint64_t no_mss;        /* ... a packet without an MSS option */
	uint64_t no_wscale;     /* ... a packet without a window scale option */
	uint64_t seq_eq;        /* ... a packet whose sequence number is its destination */
	uint64_t seq_ne;        /* ... one whose is not */
	uint64_t layouts;       /* rules that name option layouts */
	uint64_t t8[W8_MAX][256];
	uint16_t top[W16_MAX][256];
	uint32_t n_leaves;
	uint64_t leaf[][WATCH_LEAF];
};

/* The DS_WATCH_* bit of each field. */
static const uint32_t w8_bit[W8_MAX] = {
	[W8_PROTO] = DS_WATCH_PROTO,
	[W8_TTL] = DS_WATCH_TTL,
	[W8_TCP_FLAGS] = DS_WATCH_TCP_FLAGS,
	[W8_WSCALE] = DS_WATCH_WSCALE,
};
static const uint32_t w16_bit[W16_MAX] = {
	[W16_DST_PORT] = DS_WATCH_DST_PORT,
	[W16_SRC_PORT] = DS_WATCH_SRC_PORT,
	[W16_WINDOW] = DS_WATCH_WINDOW,
	[W16_MSS] = DS_WATCH_MSS,
	[W16_IP_ID] = DS_WATCH_IP_ID,
	[W16_PAYLOAD_LEN] = DS_WATCH_PAYLOAD_LEN,
};

/* Does value v of 8-bit field f pass rule r, which names f? */
static bool
allows8(const struct ds_watch_rule *r, int f, uint32_t v)
{
	switch (f) {
	case W8_PROTO:
		return (r->proto[v >> 3] & (1u << (v & 7))) != 0;
	case W8_TTL:
		return in_ranges(r->ttl, r->n_ttl, v);
	case W8_TCP_FLAGS:
		return flags_match(r->tcp_flags, r->n_tcp_flags, (uint8_t)v);
	default:
		return in_ranges(r->wscale, r->n_wscale, v);
	}
}

/* Does value v of 16-bit field f pass rule r, which names f? */
static bool
allows16(const struct ds_watch_rule *r, int f, uint32_t v)
{
	switch (f) {
	case W16_DST_PORT:
		return in_ranges(r->dst_port, r->n_dst_port, v);
	case W16_SRC_PORT:
		return in_ranges(r->src_port, r->n_src_port, v);
	case W16_WINDOW:
		return in_ranges(r->window, r->n_window, v);
	case W16_MSS:
		return in_ranges(r->mss, r->n_mss, v);
	case W16_IP_ID:
		return in_ranges(r->ip_id, r->n_ip_id, v);
	default:
		return in_ranges(r->payload_len, r->n_payload_len, v);
	}
}

/* The rules of @p use that do not name any of @p fields. */
static uint64_t
rules_without(const struct ds_watch_rule *rules, uint64_t use, uint32_t fields)
{
	uint64_t m = use;

	for (uint64_t u = use; u != 0; u &= u - 1) {
		uint32_t i = (uint32_t)__builtin_ctzll(u);

		if (rules[i].fields & fields)
			m &= ~((uint64_t)1 << i);
	}
	return m;
}

/*
 * The rules of @p use that value v of field f leaves in play: those not in
 * @p named (they do not name f) and those of @p named that v passes.
 */
static uint64_t
value_mask(const struct ds_watch_rule *rules, uint64_t use, uint64_t named,
	   bool (*allows)(const struct ds_watch_rule *r, int f, uint32_t v), int f, uint32_t v)
{
	uint64_t m = use & ~named;

	for (uint64_t u = named; u != 0; u &= u - 1) {
		uint32_t i = (uint32_t)__builtin_ctzll(u);

		if (allows(&rules[i], f, v))
			m |= (uint64_t)1 << i;
	}
	return m;
}

/* FNV-1a over a leaf: tells most different leaves apart before memcmp(). */
static uint64_t
leaf_hash(const uint64_t *leaf)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < WATCH_LEAF; i++)
		h = (h ^ leaf[i]) * 0x100000001b3ULL;
	return h;
}

/* Fill the leaves of 16-bit field f, sharing each with an equal one already made. */
static void
build16(struct ds_watch_index *x, uint64_t *hashes, const struct ds_watch_rule *rules,
	uint64_t use, int f)
{
	uint64_t named = use & ~rules_without(rules, use, w16_bit[f]);
	uint64_t tmp[WATCH_LEAF];

	for (uint32_t hi = 0; hi < 256; hi++) {
		uint64_t h;
		uint32_t l;

		for (uint32_t lo = 0; lo < WATCH_LEAF; lo++)
			tmp[lo] = value_mask(rules, use, named, allows16, f, hi << 8 | lo);
		h = leaf_hash(tmp);
		for (l = 0; l < x->n_leaves; l++)
			if (hashes[l] == h && memcmp(x->leaf[l], tmp, sizeof(tmp)) == 0)
				break;
		if (l == x->n_leaves) {
			memcpy(x->leaf[l], tmp, sizeof(tmp));
			hashes[l] = h;
			x->n_leaves++;
		}
		x->top[f][hi] = (uint16_t)l;
	}
}

struct ds_watch_index *
ds_watch_index_build(const struct ds_watch_rule *rules, uint32_t n, uint64_t active)
{
	uint32_t k = clamp(n, DS_MAX_WATCH_RULES);
	uint64_t use = k == 64 ? active : active & (((uint64_t)1 << k) - 1);
	size_t head = offsetof(struct ds_watch_index, leaf);
	struct ds_watch_index *x, *shrunk;
	uint64_t *hashes;

	if (rules == NULL && use != 0) {
		errno = EINVAL;
		return NULL;
	}
	x = calloc(1, head + (size_t)WATCH_MAX_LEAVES * sizeof(x->leaf[0]));
	hashes = malloc(WATCH_MAX_LEAVES * sizeof(*hashes));
	if (x == NULL || hashes == NULL) {
		free(x);
		free(hashes);
		errno = ENOMEM;
		return NULL;
	}
	x->rules = rules;
	x->active = use;
	x->no_l4 = rules_without(rules, use, DS_WATCH_PAYLOAD_LEN);
	x->no_tcp = rules_without(rules, use, WATCH_TCP_FIELDS);
	x->no_ports = rules_without(rules, use, DS_WATCH_DST_PORT | DS_WATCH_SRC_PORT);
	x->no_v4 = rules_without(rules, use, DS_WATCH_SEQ_EQ_DST | DS_WATCH_IP_ID);
	x->no_mss = rules_without(rules, use, DS_WATCH_MSS);
	x->no_wscale = rules_without(rules, use, DS_WATCH_WSCALE);
	x->seq_eq = x->seq_ne = rules_without(rules, use, DS_WATCH_SEQ_EQ_DST);
	x->layouts = use & ~rules_without(rules, use, DS_WATCH_OPTIONS);
	for (uint64_t u = use & ~x->seq_eq; u != 0; u &= u - 1) {
		uint32_t i = (uint32_t)__builtin_ctzll(u);

		if (rules[i].seq_eq_dst)
			x->seq_eq |= (uint64_t)1 << i;
		else
			x->seq_ne |= (uint64_t)1 << i;
	}
	for (int f = 0; f < W8_MAX; f++) {
		uint64_t named = use & ~rules_without(rules, use, w8_bit[f]);

		for (uint32_t v = 0; v < 256; v++)
			x->t8[f][v] = value_mask(rules, use, named, allows8, f, v);
	}
	for (int f = 0; f < W16_MAX; f++)
		build16(x, hashes, rules, use, f);
	free(hashes);
	/* Give back the leaves not used; keep the big block if that fails. */
	shrunk = realloc(x, head + (size_t)x->n_leaves * sizeof(x->leaf[0]));
	return shrunk != NULL ? shrunk : x;
}

void
ds_watch_index_free(struct ds_watch_index *x)
{
	free(x);
}

size_t
ds_watch_index_mem_size(const struct ds_watch_index *x)
{
	return x == NULL ? 0 :
			   offsetof(struct ds_watch_index, leaf) + x->n_leaves * sizeof(x->leaf[0]);
}

static inline uint64_t
leaf16(const struct ds_watch_index *x, int f, uint16_t v)
{
	return x->leaf[x->top[f][v >> 8]][v & 0xff];
}

uint64_t
ds_watch_index_match(const struct ds_watch_index *x, const struct ds_pkt *p)
{
	bool l4, tcp, ports;
	uint64_t m;

	if (x == NULL || p == NULL)
		return 0;
	l4 = (p->flags & DS_PKT_F_L4) != 0;
	tcp = l4 && p->proto == PROTO_TCP;
	ports = tcp || (l4 && p->proto == PROTO_UDP);
	m = x->active;
	/* Selects, not branches: the compiler makes them conditional moves. */
	m &= l4 ? UINT64_MAX : x->no_l4;
	m &= tcp ? UINT64_MAX : x->no_tcp;
	m &= ports ? UINT64_MAX : x->no_ports;
	m &= p->ip_version == 4 ? UINT64_MAX : x->no_v4;
	m &= p->seq == p->dst4 ? x->seq_eq : x->seq_ne;
	m &= (p->flags & DS_PKT_F_TCP_MSS) ? leaf16(x, W16_MSS, p->mss) : x->no_mss;
	m &= (p->flags & DS_PKT_F_TCP_WS) ? x->t8[W8_WSCALE][p->wscale] : x->no_wscale;
	m &= x->t8[W8_PROTO][p->proto] & x->t8[W8_TTL][p->ttl] &
	     x->t8[W8_TCP_FLAGS][p->tcp_flags];
	m &= leaf16(x, W16_DST_PORT, p->dport) & leaf16(x, W16_SRC_PORT, p->sport) &
	     leaf16(x, W16_WINDOW, p->window) & leaf16(x, W16_IP_ID, p->ip_id) &
	     leaf16(x, W16_PAYLOAD_LEN, p->payload_len);
	for (uint64_t u = m & x->layouts; u != 0; u &= u - 1) {
		uint32_t i = (uint32_t)__builtin_ctzll(u);

		if (!layout_match(x->rules[i].options, x->rules[i].n_options, p))
			m &= ~((uint64_t)1 << i);
	}
	return m;
}
