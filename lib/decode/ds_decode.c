/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Packet decoder: Ethernet, VLAN, IPv4/IPv6 and TCP/UDP/ICMP into struct ds_pkt.
 *
 * It runs once per received frame on every worker core, tens of millions of
 * times a second, on traffic that anybody on the Internet can shape. Two
 * rules follow and the code is laid out around them:
 *
 *  - Trust no length. Each layer receives a pointer and the number of bytes
 *    it may read, checks that count before every load, and hands the next
 *    layer a smaller count. The IP layer computes the datagram bound, the
 *    smaller of the bytes captured and the bytes the header states, so that
 *    Ethernet padding is never mistaken for a header; L4 never sees past it.
 *
 *  - Be quick on the common frame. Ethernet -> IPv4 -> TCP is a straight run
 *    of loads with the rare branches (VLAN tags, IPv4 options, fragments,
 *    IPv6 extension headers) marked unlikely. Multi-byte fields are loaded
 *    byte by byte in big-endian order, which compilers turn into one load and
 *    a byte swap, with no alignment assumption about the frame. The only
 *    loops are the TCP option walk (per option) and the IPv6 extension header
 *    chain (per header, at most DS_IPV6_MAX_EXT).
 *
 * A layer writes its fields into the packet only after all of its own checks
 * pass, so a failed decode leaves the outer layers filled in and zeros for the
 * layer that failed and everything inside it, as ds_decode.h promises.
 */

#include <stdint.h>
#include <string.h>

#include "ds_decode.h"

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define ETH_HLEN 14
#define VLAN_TAG_LEN 4          /* TCI + the next ethertype */
#define VLAN_VID_MASK 0x0fff

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100   /* 802.1Q */
#define ETHERTYPE_QINQ 0x88a8   /* 802.1ad service tag */
#define ETHERTYPE_QINQ_OLD 0x9100

#define IPV4_HLEN 20
#define IPV4_MF 0x2000
#define IPV4_OFF_MASK 0x1fff

#define IPV6_HLEN 40
#define IPV6_EXT_MIN_LEN 8      /* every extension header is at least 8 bytes */
#define IPV6_FRAG_LEN 8
#define IPV6_FRAG_OFF_MASK 0xfff8 /* 13-bit offset in 8-byte units, already scaled */
#define IPV6_FRAG_M 0x0001

/* IP protocol / IPv6 next header numbers (IANA). */
#define PROTO_HOPOPTS 0
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ROUTING 43
#define PROTO_FRAGMENT 44
#define PROTO_AH 51
#define PROTO_ICMPV6 58
#define PROTO_DSTOPTS 60
#define PROTO_MOBILITY 135
#define PROTO_HIP 139
#define PROTO_SHIM6 140

#define TCP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 4

static inline uint16_t
load_be16(const uint8_t *p)
{
	return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t
load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Lengths stated by an IPv6 jumbogram are bounded by the capture, which may exceed 16 bits. */
static inline uint16_t
clamp_u16(uint32_t v)
{
	return v > UINT16_MAX ? UINT16_MAX : (uint16_t)v;
}

static inline int
is_vlan_type(uint16_t type)
{
	return type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ || type == ETHERTYPE_QINQ_OLD;
}

/*
 * Walk the TCP options in opt[0, len). len is at most 40 and every option
 * takes at least one byte, so opt_kinds[] (40 entries) cannot overflow. Each
 * length byte is checked against the option space before it is used, and an
 * option's value is taken only when its length is the one the RFC gives, so
 * a lying length can neither move the walk out of bounds nor plant a value.
 */
static enum ds_decode_result
decode_tcp_opts(const uint8_t *opt, uint32_t len, struct ds_pkt *pkt)
{
	uint32_t i = 0;
	uint32_t n = 0;
	uint16_t flags = 0;
	uint16_t mss = 0;
	uint8_t wscale = 0;
	uint32_t tsval = 0;
	uint32_t tsecr = 0;

	while (i < len) {
		uint8_t kind = opt[i];
		uint32_t olen;

		pkt->opt_kinds[n++] = kind;
		/* Everything after EOL is padding, whatever its bytes say. */
		if (kind == DS_TCPOPT_EOL)
			break;
		if (kind == DS_TCPOPT_NOP) {
			i++;
			continue;
		}
		if (unlikely(len - i < 2))
			goto bad;
		olen = opt[i + 1];
		if (unlikely(olen < 2 || olen > len - i))
			goto bad;
		switch (kind) {
		case DS_TCPOPT_MSS:
			if (olen == 4) {
				mss = load_be16(opt + i + 2);
				flags |= DS_PKT_F_TCP_MSS;
			}
			break;
		case DS_TCPOPT_WS:
			if (olen == 3) {
				wscale = opt[i + 2];
				flags |= DS_PKT_F_TCP_WS;
			}
			break;
		case DS_TCPOPT_SACK_PERM:
			if (olen == 2)
				flags |= DS_PKT_F_TCP_SACK_PERM;
			break;
		case DS_TCPOPT_TS:
			if (olen == 10) {
				tsval = load_be32(opt + i + 2);
				tsecr = load_be32(opt + i + 6);
				flags |= DS_PKT_F_TCP_TS;
			}
			break;
		default:
			break;
		}
		i += olen;
	}
	pkt->n_opts = (uint8_t)n;
	pkt->mss = mss;
	pkt->wscale = wscale;
	pkt->tsval = tsval;
	pkt->tsecr = tsecr;
	pkt->flags |= flags;
	return DS_DECODE_OK;
bad:
	/* The TCP layer failed: leave none of it behind. */
	memset(pkt->opt_kinds, 0, n);
	return DS_DECODE_TCP_OPT;
}

/*
 * l4 points at the transport header; avail is how many of its bytes lie
 * inside the datagram bound (captured and stated), stated is the L4 length
 * the IP header claims, which payload_len is derived from.
 */
static inline enum ds_decode_result
decode_tcp(const uint8_t *l4, uint32_t avail, uint32_t stated, struct ds_pkt *pkt)
{
	uint32_t hlen;

	if (unlikely(avail < TCP_HLEN))
		return DS_DECODE_TCP_TRUNC;
	hlen = (uint32_t)(l4[12] >> 4) * 4;
	if (unlikely(hlen < TCP_HLEN || hlen > avail))
		return DS_DECODE_TCP_DOFF;
	/* Scanners often send bare 20-byte headers (Mirai, masscan): skip the walk. */
	if (hlen > TCP_HLEN) {
		enum ds_decode_result r = decode_tcp_opts(l4 + TCP_HLEN, hlen - TCP_HLEN, pkt);

		if (unlikely(r != DS_DECODE_OK))
			return r;
	}
	pkt->sport = load_be16(l4);
	pkt->dport = load_be16(l4 + 2);
	pkt->seq = load_be32(l4 + 4);
	pkt->ack = load_be32(l4 + 8);
	pkt->tcp_flags = l4[13];
	pkt->window = load_be16(l4 + 14);
	/* Stated, not captured: a snapped capture still reports the sender's size. */
	pkt->payload_len = stated > hlen ? clamp_u16(stated - hlen) : 0;
	pkt->flags |= DS_PKT_F_L4;
	return DS_DECODE_OK;
}

static inline enum ds_decode_result
decode_udp(const uint8_t *l4, uint32_t avail, struct ds_pkt *pkt)
{
	uint16_t ulen;

	if (unlikely(avail < UDP_HLEN))
		return DS_DECODE_UDP_TRUNC;
	/*
	 * The length field is reported as the sender states it, like TCP's
	 * payload_len; only a value that cannot cover the UDP header is wrong.
	 */
	ulen = load_be16(l4 + 4);
	if (unlikely(ulen < UDP_HLEN))
		return DS_DECODE_UDP_LEN;
	pkt->sport = load_be16(l4);
	pkt->dport = load_be16(l4 + 2);
	pkt->payload_len = (uint16_t)(ulen - UDP_HLEN);
	pkt->flags |= DS_PKT_F_L4;
	return DS_DECODE_OK;
}

/*
 * ICMP and ICMPv6 share the type/code/checksum prefix, which is all we read.
 * Both are decoded by protocol number alone, whichever IP version carries them.
 */
static inline enum ds_decode_result
decode_icmp(const uint8_t *l4, uint32_t avail, uint32_t stated, struct ds_pkt *pkt)
{
	if (unlikely(avail < ICMP_HLEN))
		return DS_DECODE_ICMP_TRUNC;
	pkt->icmp_type = l4[0];
	pkt->icmp_code = l4[1];
	pkt->payload_len = stated > ICMP_HLEN ? clamp_u16(stated - ICMP_HLEN) : 0;
	pkt->flags |= DS_PKT_F_L4;
	return DS_DECODE_OK;
}

static inline enum ds_decode_result
decode_l4(uint8_t proto, const uint8_t *l4, uint32_t avail, uint32_t stated, struct ds_pkt *pkt)
{
	if (likely(proto == PROTO_TCP))
		return decode_tcp(l4, avail, stated, pkt);
	if (proto == PROTO_UDP)
		return decode_udp(l4, avail, pkt);
	if (proto == PROTO_ICMP || proto == PROTO_ICMPV6)
		return decode_icmp(l4, avail, stated, pkt);
	/* GRE, ESP, SCTP, ...: counted by protocol only. */
	return DS_DECODE_OK;
}

/* ip points at the IPv4 header; present is the number of captured bytes from there. */
static inline enum ds_decode_result
decode_ipv4(const uint8_t *ip, uint32_t present, struct ds_pkt *pkt)
{
	uint32_t hlen, totlen, bound;
	uint16_t frag;
	uint16_t flags = 0;

	if (unlikely(present < IPV4_HLEN))
		return DS_DECODE_IPV4_TRUNC;
	if (unlikely(ip[0] >> 4 != 4))
		return DS_DECODE_IPV4_VERSION;
	hlen = (uint32_t)(ip[0] & 0x0f) * 4;
	if (unlikely(hlen < IPV4_HLEN))
		return DS_DECODE_IPV4_IHL;
	if (unlikely(hlen > present))
		return DS_DECODE_IPV4_TRUNC;
	totlen = load_be16(ip + 2);
	if (unlikely(totlen < hlen))
		return DS_DECODE_IPV4_TOTLEN;

	/* Padding beyond totlen is not ours; a short capture is flagged, not rejected. */
	bound = totlen;
	if (unlikely(totlen > present)) {
		bound = present;
		flags |= DS_PKT_F_SNAPPED;
	}
	/* Options are only skipped: nothing downstream reads them. */
	if (unlikely(hlen > IPV4_HLEN))
		flags |= DS_PKT_F_IPV4_OPTS;

	pkt->ip_version = 4;
	pkt->tos = ip[1];
	pkt->l3_len = (uint16_t)totlen;
	pkt->ip_id = load_be16(ip + 4);
	pkt->ttl = ip[8];
	pkt->proto = ip[9];
	pkt->src4 = load_be32(ip + 12);
	pkt->dst4 = load_be32(ip + 16);

	frag = load_be16(ip + 6);
	if (unlikely(frag & (IPV4_MF | IPV4_OFF_MASK))) {
		flags |= DS_PKT_F_FRAG;
		pkt->frag_off = (uint16_t)((frag & IPV4_OFF_MASK) << 3);
		/* A later fragment starts mid-payload: its first bytes are not an L4 header. */
		if (pkt->frag_off != 0) {
			pkt->flags = flags | DS_PKT_F_FRAG_LATER;
			return DS_DECODE_OK;
		}
	}
	pkt->flags = flags;
	return decode_l4(ip[9], ip + hlen, bound - hlen, totlen - hlen, pkt);
}

/*
 * Follow the IPv6 extension header chain. Every extension header is at least
 * 8 bytes, so one check covers the next-header and length bytes of any of
 * them before the type-specific length is computed and checked in turn.
 */
static enum ds_decode_result
decode_ipv6(const uint8_t *ip, uint32_t present, struct ds_pkt *pkt)
{
	uint32_t plen, bound, off, ext_len, stated;
	uint32_t n_ext = 0;
	uint16_t flags = 0;
	uint8_t nh;

	if (unlikely(present < IPV6_HLEN))
		return DS_DECODE_IPV6_TRUNC;
	if (unlikely(ip[0] >> 4 != 6))
		return DS_DECODE_IPV6_VERSION;
	plen = load_be16(ip + 4);

	/* Payload length 0 means a jumbogram (or nonsense): the capture is the only bound. */
	bound = present;
	if (likely(plen != 0)) {
		if (IPV6_HLEN + plen < present)
			bound = IPV6_HLEN + plen;
		else if (IPV6_HLEN + plen > present)
			pkt->flags = DS_PKT_F_SNAPPED;
	}

	pkt->ip_version = 6;
	pkt->tos = (uint8_t)((ip[0] & 0x0f) << 4 | ip[1] >> 4);
	pkt->l3_len = IPV6_HLEN + plen;
	pkt->ttl = ip[7];
	memcpy(pkt->src6, ip + 8, 16);
	memcpy(pkt->dst6, ip + 24, 16);

	nh = ip[6];
	off = IPV6_HLEN;
	for (;;) {
		switch (nh) {
		case PROTO_HOPOPTS:
		case PROTO_ROUTING:
		case PROTO_DSTOPTS:
		case PROTO_MOBILITY:
		case PROTO_HIP:
		case PROTO_SHIM6:
		case PROTO_AH:
		case PROTO_FRAGMENT:
			break;
		default:
			/* An upper layer, no next header (59), ESP (50) or unknown. */
			goto chain_end;
		}
		if (unlikely(n_ext == DS_IPV6_MAX_EXT))
			return DS_DECODE_IPV6_EXT_DEPTH;
		if (unlikely(bound - off < IPV6_EXT_MIN_LEN))
			return DS_DECODE_IPV6_EXT_TRUNC;
		/* AH counts 4-byte words minus 2 (RFC 4302); the others 8-byte units minus 1. */
		if (nh == PROTO_FRAGMENT)
			ext_len = IPV6_FRAG_LEN;
		else if (nh == PROTO_AH)
			ext_len = ((uint32_t)ip[off + 1] + 2) * 4;
		else
			ext_len = ((uint32_t)ip[off + 1] + 1) * 8;
		if (unlikely(ext_len > bound - off))
			return DS_DECODE_IPV6_EXT_TRUNC;
		n_ext++;
		if (nh == PROTO_FRAGMENT) {
			uint16_t fo = load_be16(ip + off + 2);

			if (fo & IPV6_FRAG_OFF_MASK) {
				/* Later fragment: record what it carries and stop at L3. */
				pkt->proto = ip[off];
				pkt->frag_off = fo & IPV6_FRAG_OFF_MASK;
				pkt->flags |= DS_PKT_F_IPV6_EXT | DS_PKT_F_FRAG |
					      DS_PKT_F_FRAG_LATER;
				return DS_DECODE_OK;
			}
			/* Offset 0 without M is an atomic fragment (RFC 6946): a whole datagram. */
			if (fo & IPV6_FRAG_M)
				flags |= DS_PKT_F_FRAG;
		}
		nh = ip[off];
		off += ext_len;
	}
chain_end:
	if (n_ext != 0)
		flags |= DS_PKT_F_IPV6_EXT;
	pkt->proto = nh;
	pkt->flags |= flags;

	/* off <= bound <= 40 + plen when plen != 0, so neither subtraction wraps. */
	stated = plen != 0 ? IPV6_HLEN + plen - off : present - off;
	return decode_l4(nh, ip + off, bound - off, stated, pkt);
}

enum ds_decode_result
ds_decode(const uint8_t *frame, uint32_t len, struct ds_pkt *pkt)
{
	uint32_t off = ETH_HLEN;
	uint16_t type;

	/*
	 * Two halves rather than one 128-byte memset: GCC emits `rep stosq` for
	 * the whole struct, whose start-up cost was 4 of the 10 ns a bare SYN
	 * took; 64-byte clears become a few vector stores.
	 */
	_Static_assert(sizeof(*pkt) > 64, "struct ds_pkt shrank: clear it in one memset");
	memset(pkt, 0, 64);
	memset((uint8_t *)pkt + 64, 0, sizeof(*pkt) - 64);
	if (unlikely(len < ETH_HLEN))
		return DS_DECODE_ETH_TRUNC;
	type = load_be16(frame + 12);

	/*
	 * Tags are recorded as they are peeled, so a VLAN_DEPTH or VLAN_TRUNC
	 * frame still says on which VLANs it arrived.
	 */
	if (unlikely(is_vlan_type(type))) {
		do {
			if (unlikely(pkt->n_vlan == DS_MAX_VLAN))
				return DS_DECODE_VLAN_DEPTH;
			if (unlikely(len - off < VLAN_TAG_LEN))
				return DS_DECODE_VLAN_TRUNC;
			pkt->vlan[pkt->n_vlan++] = load_be16(frame + off) & VLAN_VID_MASK;
			type = load_be16(frame + off + 2);
			off += VLAN_TAG_LEN;
		} while (is_vlan_type(type));
	}

	if (likely(type == ETHERTYPE_IPV4))
		return decode_ipv4(frame + off, len - off, pkt);
	if (type == ETHERTYPE_IPV6)
		return decode_ipv6(frame + off, len - off, pkt);
	/* ARP, LLDP, 802.3 length frames (type < 0x0600), ...: well formed, not ours. */
	return DS_DECODE_NOT_IP;
}

static const char *const result_names[] = {
	[DS_DECODE_OK] = "ok",
	[DS_DECODE_NOT_IP] = "not_ip",
	[DS_DECODE_ETH_TRUNC] = "eth_trunc",
	[DS_DECODE_VLAN_TRUNC] = "vlan_trunc",
	[DS_DECODE_VLAN_DEPTH] = "vlan_depth",
	[DS_DECODE_IPV4_TRUNC] = "ipv4_trunc",
	[DS_DECODE_IPV4_VERSION] = "ipv4_version",
	[DS_DECODE_IPV4_IHL] = "ipv4_ihl",
	[DS_DECODE_IPV4_TOTLEN] = "ipv4_totlen",
	[DS_DECODE_IPV6_TRUNC] = "ipv6_trunc",
	[DS_DECODE_IPV6_VERSION] = "ipv6_version",
	[DS_DECODE_IPV6_EXT_TRUNC] = "ipv6_ext_trunc",
	[DS_DECODE_IPV6_EXT_DEPTH] = "ipv6_ext_depth",
	[DS_DECODE_TCP_TRUNC] = "tcp_trunc",
	[DS_DECODE_TCP_DOFF] = "tcp_doff",
	[DS_DECODE_TCP_OPT] = "tcp_opt",
	[DS_DECODE_UDP_TRUNC] = "udp_trunc",
	[DS_DECODE_UDP_LEN] = "udp_len",
	[DS_DECODE_ICMP_TRUNC] = "icmp_trunc",
};

/* A result appended to the enum without a name here fails the build, not a counter dump. */
_Static_assert(sizeof(result_names) / sizeof(result_names[0]) == DS_DECODE_RESULT_MAX,
	       "every enum ds_decode_result value needs a name");

const char *
ds_decode_result_name(enum ds_decode_result r)
{
	if ((unsigned int)r >= DS_DECODE_RESULT_MAX)
		return "unknown";
	return result_names[r];
}
