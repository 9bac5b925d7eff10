/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Packet decoder: one Ethernet frame in, one struct ds_pkt out.
 *
 * Everything a telescope receives is unsolicited and much of it is hostile,
 * so the decoder trusts nothing: every read is preceded by a bounds check
 * against the bytes actually present, and every length field is checked
 * against what contains it. A frame that cannot be decoded is not an error
 * of the program but a fact about the traffic: ds_decode() returns the reason
 * and the caller counts it; nothing is logged and nothing is allocated.
 *
 * The decoder is pure C with no DPDK dependency, so its tests run on byte
 * arrays without EAL, hugepages or ports.
 *
 * Layers: Ethernet II, up to two VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8,
 * and 0x9100, at any tag position), IPv4 with options and fragments, IPv6 with
 * its extension headers, then TCP (with its full option list), UDP, ICMP and
 * ICMPv6. Only the first fragment of a fragmented datagram carries the L4
 * header; later fragments decode at L3 only (DS_PKT_F_FRAG_LATER).
 *
 * Length rules:
 *  - The IP datagram is bounded by the smaller of the bytes captured and the
 *    length the IP header states (IPv4 total length, IPv6 40 + payload
 *    length): Ethernet padding after a short datagram is never parsed as
 *    header or option bytes.
 *  - A datagram that states more bytes than were captured (a capture with a
 *    small snap length) is decoded as far as its headers go and flagged
 *    DS_PKT_F_SNAPPED; only a header that is itself cut short is an error.
 *  - IPv6 jumbograms (payload length 0 with a Jumbo Payload option) are
 *    bounded by the captured bytes.
 */

#ifndef DS_DECODE_H
#define DS_DECODE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Most TCP options one header can carry: 40 option bytes, one byte each. */
#define DS_TCP_MAX_OPTS 40

/** Most VLAN tags decoded; a third tag is DS_DECODE_VLAN_DEPTH. */
#define DS_MAX_VLAN 2

/** Most IPv6 extension headers followed before DS_DECODE_IPV6_EXT_DEPTH. */
#define DS_IPV6_MAX_EXT 8

/* TCP option kinds (IANA). */
#define DS_TCPOPT_EOL 0
#define DS_TCPOPT_NOP 1
#define DS_TCPOPT_MSS 2
#define DS_TCPOPT_WS 3
#define DS_TCPOPT_SACK_PERM 4
#define DS_TCPOPT_SACK 5
#define DS_TCPOPT_TS 8

/* TCP flag bits, as in the header's 13th byte. */
#define DS_TCP_FIN 0x01
#define DS_TCP_SYN 0x02
#define DS_TCP_RST 0x04
#define DS_TCP_PSH 0x08
#define DS_TCP_ACK 0x10
#define DS_TCP_URG 0x20
#define DS_TCP_ECE 0x40
#define DS_TCP_CWR 0x80

/* struct ds_pkt.flags */
#define DS_PKT_F_L4 0x0001          /**< sport/dport/tcp/icmp fields are valid */
#define DS_PKT_F_FRAG 0x0002        /**< datagram is a fragment (MF set or offset != 0) */
#define DS_PKT_F_FRAG_LATER 0x0004  /**< fragment with offset != 0: no L4 header */
#define DS_PKT_F_SNAPPED 0x0008     /**< fewer bytes captured than the IP header states */
#define DS_PKT_F_IPV4_OPTS 0x0010   /**< IPv4 header longer than 20 bytes */
#define DS_PKT_F_IPV6_EXT 0x0020    /**< at least one IPv6 extension header */
#define DS_PKT_F_TCP_MSS 0x0100     /**< mss is valid */
#define DS_PKT_F_TCP_WS 0x0200      /**< wscale is valid */
#define DS_PKT_F_TCP_SACK_PERM 0x0400
#define DS_PKT_F_TCP_TS 0x0800      /**< tsval/tsecr are valid */

/**
 * Outcome of ds_decode(). DS_DECODE_OK and DS_DECODE_NOT_IP are normal
 * outcomes; every other value is a malformed frame, named by the first check
 * it failed. The values index counter arrays, so they are dense and stable.
 */
enum ds_decode_result {
	DS_DECODE_OK = 0,
	DS_DECODE_NOT_IP,          /**< well-formed frame of another ethertype (ARP, LLDP, ...) */
	DS_DECODE_ETH_TRUNC,       /**< shorter than an Ethernet header (14 bytes) */
	DS_DECODE_VLAN_TRUNC,      /**< VLAN ethertype but the 4-byte tag is cut short */
	DS_DECODE_VLAN_DEPTH,      /**< more than DS_MAX_VLAN tags */
	DS_DECODE_IPV4_TRUNC,      /**< fewer than 20 bytes, or fewer than IHL * 4 */
	DS_DECODE_IPV4_VERSION,    /**< ethertype IPv4, version field is not 4 */
	DS_DECODE_IPV4_IHL,        /**< IHL < 5 */
	DS_DECODE_IPV4_TOTLEN,     /**< total length < IHL * 4 */
	DS_DECODE_IPV6_TRUNC,      /**< fewer than 40 bytes */
	DS_DECODE_IPV6_VERSION,    /**< ethertype IPv6, version field is not 6 */
	DS_DECODE_IPV6_EXT_TRUNC,  /**< an extension header is cut short or overruns the datagram */
	DS_DECODE_IPV6_EXT_DEPTH,  /**< more than DS_IPV6_MAX_EXT extension headers */
	DS_DECODE_TCP_TRUNC,       /**< fewer than 20 bytes of TCP header */
	DS_DECODE_TCP_DOFF,        /**< data offset < 5, or header longer than the datagram or the capture */
	DS_DECODE_TCP_OPT,         /**< option length 0 or 1, or an option overruns the header */
	DS_DECODE_UDP_TRUNC,       /**< fewer than 8 bytes of UDP header */
	DS_DECODE_UDP_LEN,         /**< UDP length field < 8 */
	DS_DECODE_ICMP_TRUNC,      /**< fewer than 4 bytes of ICMP/ICMPv6 header */
	DS_DECODE_RESULT_MAX
};

/**
 * One decoded packet. Fields are host byte order. Fields of a layer that was
 * not decoded are left zero; `flags` says which groups are valid.
 *
 * The fields the histograms read on every packet come first so that they
 * share the first cache line; the IPv6 addresses and TCP option details
 * come last.
 */
struct ds_pkt {
	uint32_t src4;          /**< IPv4 source (ip_version == 4) */
	uint32_t dst4;          /**< IPv4 destination (ip_version == 4) */
	uint16_t flags;         /**< DS_PKT_F_* */
	uint8_t ip_version;     /**< 4 or 6 */
	uint8_t proto;          /**< IPv4 protocol / final IPv6 next header */
	uint16_t sport;         /**< TCP/UDP source port (DS_PKT_F_L4) */
	uint16_t dport;         /**< TCP/UDP destination port (DS_PKT_F_L4) */
	uint8_t tcp_flags;      /**< DS_TCP_* (DS_PKT_F_L4, proto 6) */
	uint8_t icmp_type;      /**< ICMP/ICMPv6 type (DS_PKT_F_L4, proto 1 or 58) */
	uint8_t icmp_code;      /**< ICMP/ICMPv6 code */
	uint8_t ttl;            /**< IPv4 TTL / IPv6 hop limit */
	uint16_t window;        /**< TCP window, unscaled */
	uint16_t ip_id;         /**< IPv4 identification; 0 for IPv6 */
	uint32_t seq;           /**< TCP sequence number */
	uint32_t ack;           /**< TCP acknowledgement number */
	uint32_t l3_len;        /**< IP length as stated: IPv4 total length, IPv6 40 + payload
				     length (40 for payload length 0, a jumbogram) */
	uint16_t payload_len;   /**< L4 payload bytes as stated by the headers (not as captured) */
	uint16_t frag_off;      /**< fragment offset in bytes (IPv4 or IPv6 fragment header) */
	uint8_t tos;            /**< IPv4 TOS / IPv6 traffic class */
	uint8_t n_vlan;         /**< VLAN tags seen, outer first in vlan[] */
	uint16_t vlan[DS_MAX_VLAN]; /**< VLAN IDs (low 12 bits of the TCI) */

	/* TCP options, in the order they appear (DS_PKT_F_L4, proto 6). */
	uint8_t n_opts;                     /**< option kinds in opt_kinds[], EOL included */
	uint8_t wscale;                     /**< DS_PKT_F_TCP_WS */
	uint16_t mss;                       /**< DS_PKT_F_TCP_MSS */
	uint32_t tsval;                     /**< DS_PKT_F_TCP_TS */
	uint32_t tsecr;                     /**< DS_PKT_F_TCP_TS */
	uint8_t opt_kinds[DS_TCP_MAX_OPTS]; /**< kinds; parsing stops after EOL */

	uint8_t src6[16];       /**< IPv6 source, network byte order (ip_version == 6) */
	uint8_t dst6[16];       /**< IPv6 destination, network byte order (ip_version == 6) */
};

/**
 * Decode one Ethernet frame.
 *
 * @param frame  first byte of the Ethernet header
 * @param len    bytes present at @p frame (captured length, without FCS)
 * @param pkt    filled in; zeroed first, so a failed decode leaves the layers
 *               decoded before the failure and zeros after it
 * @return DS_DECODE_OK, DS_DECODE_NOT_IP, or the malformed-frame reason.
 *         Never reads outside [frame, frame + len).
 */
enum ds_decode_result ds_decode(const uint8_t *frame, uint32_t len, struct ds_pkt *pkt);

/**
 * Stable lower-case name of a result for counters and logs, e.g. "tcp_doff".
 * Returns "unknown" for a value outside the enum.
 */
const char *ds_decode_result_name(enum ds_decode_result r);

#ifdef __cplusplus
}
#endif

#endif /* DS_DECODE_H */
