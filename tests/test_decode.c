/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Tests of the packet decoder (lib/decode), no EAL needed.
 *
 * The frames are byte arrays written out below, one comment per header, so a
 * reader can check each expectation against the bytes by hand. Each case
 * names the result and the complete struct ds_pkt it must produce: every
 * field the case does not name must be zero, which also checks that a failed
 * decode leaves nothing of the failed layer behind.
 *
 * Then three robustness passes:
 *  - every prefix of every frame is copied into a heap buffer of exactly that
 *    size and decoded, so valgrind or ASan sees any read past the end (and
 *    once more against a PROT_NONE page, so a plain build faults too). For
 *    well-formed frames a prefix that cuts the headers must be malformed, and
 *    a prefix that keeps them must decode to the same fields, with
 *    DS_PKT_F_SNAPPED set exactly when the datagram was cut;
 *  - 1,000,000 mutated frames (seeded xorshift) must return a valid result
 *    and fields consistent with the bytes present;
 *  - the result names are the ones docs/SCHEMA.md documents.
 */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ds_decode.h"

/* Ethernet II: destination, source, ethertype. */
#define ETH(t0, t1) 0x02, 0x00, 0x5e, 0x00, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02, t0, t1
#define ETH_IPV4 ETH(0x08, 0x00)
#define ETH_IPV6 ETH(0x86, 0xdd)

/* 198.51.100.7 -> 192.0.2.1 */
#define SRC4 0xc6, 0x33, 0x64, 0x07
#define DST4 0xc0, 0x00, 0x02, 0x01
#define SRC4_U32 0xc6336407u
#define DST4_U32 0xc0000201u

/* 2001:db8::7 -> 2001:db8:1::1 */
#define SRC6 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07
#define DST6 0x20, 0x01, 0x0d, 0xb8, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01

/* IPv6 header: version 6, traffic class 0, flow 0, payload length, next header, hop limit. */
#define IPV6(plen, nh, hlim) 0x60, 0x00, 0x00, 0x00, (plen) >> 8, (plen) & 0xff, nh, hlim, \
	SRC6, DST6

#define ZERO4 0, 0, 0, 0
#define NOP10 1, 1, 1, 1, 1, 1, 1, 1, 1, 1

/*
 * IPv4/TCP SYN without options, as Mirai sends it: sequence number = the
 * destination address, IP ID 54321. Reused behind several link headers.
 */
#define SYN_V4 \
	/* IPv4: IHL 5, tos 0, total 40, id 54321, no frag, ttl 242, TCP */ \
	0x45, 0x00, 0x00, 0x28, 0xd4, 0x31, 0x00, 0x00, 0xf2, 0x06, 0x00, 0x00, SRC4, DST4, \
	/* TCP: 61000 -> 23, seq 0xc0000201, ack 0x5f3759df (stale), doff 5, SYN, win 14600 */ \
	0xee, 0x48, 0x00, 0x17, 0xc0, 0x00, 0x02, 0x01, 0x5f, 0x37, 0x59, 0xdf, \
	0x50, 0x02, 0x39, 0x08, 0x00, 0x00, 0x00, 0x00
#define SYN_V4_WANT \
	.ip_version = 4, .src4 = SRC4_U32, .dst4 = DST4_U32, .l3_len = 40, .ip_id = 54321, \
	.ttl = 242, .proto = 6, .sport = 61000, .dport = 23, .seq = 0xc0000201, \
	.ack = 0x5f3759df, .tcp_flags = DS_TCP_SYN, .window = 14600

/* Expected IPv4 layer with the SRC4/DST4 addresses. */
#define WANT4(tot, id, ttl_, proto_) \
	.ip_version = 4, .src4 = SRC4_U32, .dst4 = DST4_U32, .l3_len = (tot), .ip_id = (id), \
	.ttl = (ttl_), .proto = (proto_)
/* Expected IPv6 layer of IPV6(plen, ..., hlim); the final next header is named separately. */
#define WANT6(plen, hlim) \
	.ip_version = 6, .src6 = { SRC6 }, .dst6 = { DST6 }, .l3_len = 40 + (plen), .ttl = (hlim)

/* ---- well-formed frames ---- */

static const uint8_t syn_plain[] = { ETH_IPV4, SYN_V4 };

static const uint8_t syn_linux[] = {
	ETH_IPV4,
	/* IPv4: total 60, id 0x1c46, DF, ttl 64, TCP */
	0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	/* TCP: 41394 -> 443, seq 0x9e3779b9, doff 10, SYN, win 64240 */
	0xa1, 0xb2, 0x01, 0xbb, 0x9e, 0x37, 0x79, 0xb9, ZERO4, 0xa0, 0x02, 0xfa, 0xf0, 0, 0, 0, 0,
	/* options: MSS 1460, SACK permitted, TS 0x001a2b3c/0, NOP, WS 7 */
	0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x1a, 0x2b, 0x3c, ZERO4,
	0x01, 0x03, 0x03, 0x07,
};

static const uint8_t syn_windows[] = {
	ETH_IPV4,
	/* IPv4: total 52, id 0x4d2e, DF, ttl 128, TCP */
	0x45, 0x00, 0x00, 0x34, 0x4d, 0x2e, 0x40, 0x00, 0x80, 0x06, 0x00, 0x00, SRC4, DST4,
	/* TCP: 49153 -> 445, seq 0x01234567, doff 8, SYN, win 8192 */
	0xc0, 0x01, 0x01, 0xbd, 0x01, 0x23, 0x45, 0x67, ZERO4, 0x80, 0x02, 0x20, 0x00, 0, 0, 0, 0,
	/* options: MSS 1460, NOP, WS 8, NOP, NOP, SACK permitted */
	0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x08, 0x01, 0x01, 0x04, 0x02,
};

static const uint8_t syn_eol[] = {
	ETH_IPV4,
	/* IPv4: total 48, id 7, ttl 64, TCP */
	0x45, 0x00, 0x00, 0x30, 0x00, 0x07, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	/* TCP: 1024 -> 80, seq 1, doff 7, SYN, win 1024 */
	0x04, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, ZERO4, 0x70, 0x02, 0x04, 0x00, 0, 0, 0, 0,
	/* options: MSS 1400, EOL, then padding that would be a bad SACK option if parsed */
	0x02, 0x04, 0x05, 0x78, 0x00, 0x05, 0x01, 0x00,
};

static const uint8_t syn_unknown_opt[] = {
	ETH_IPV4,
	/* IPv4: total 48, id 8, ttl 64, TCP */
	0x45, 0x00, 0x00, 0x30, 0x00, 0x08, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	/* TCP: 1025 -> 80, seq 2, doff 7, SYN, win 1024 */
	0x04, 0x01, 0x00, 0x50, 0x00, 0x00, 0x00, 0x02, ZERO4, 0x70, 0x02, 0x04, 0x00, 0, 0, 0, 0,
	/* options: kind 30 (MPTCP) length 6, kind 34 (TFO) length 2 */
	0x1e, 0x06, 0x00, 0x00, 0x12, 0x34, 0x22, 0x02,
};

static const uint8_t syn_odd_len_opt[] = {
	ETH_IPV4,
	/* IPv4: total 52, id 9, ttl 64, TCP */
	0x45, 0x00, 0x00, 0x34, 0x00, 0x09, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	/* TCP: 1026 -> 80, seq 3, doff 8, SYN, win 1024 */
	0x04, 0x02, 0x00, 0x50, 0x00, 0x00, 0x00, 0x03, ZERO4, 0x80, 0x02, 0x04, 0x00, 0, 0, 0, 0,
	/* options with known kinds, wrong lengths: MSS len 6, WS len 2, SACK-perm len 3, NOP */
	0x02, 0x06, 0x05, 0xb4, 0x00, 0x00, 0x03, 0x02, 0x04, 0x03, 0x00, 0x01,
};

static const uint8_t syn_40_nops[] = {
	ETH_IPV4,
	/* IPv4: total 80, id 10, ttl 64, TCP */
	0x45, 0x00, 0x00, 0x50, 0x00, 0x0a, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	/* TCP: 1027 -> 80, seq 4, doff 15, SYN, win 1024 */
	0x04, 0x03, 0x00, 0x50, 0x00, 0x00, 0x00, 0x04, ZERO4, 0xf0, 0x02, 0x04, 0x00, 0, 0, 0, 0,
	/* options: 40 NOPs, the most option kinds a header can carry */
	NOP10, NOP10, NOP10, NOP10,
};

static const uint8_t ipv4_opts[] = {
	ETH_IPV4,
	/* IPv4: IHL 6, total 44, id 0x0101, ttl 1, TCP; option: router alert */
	0x46, 0x00, 0x00, 0x2c, 0x01, 0x01, 0x00, 0x00, 0x01, 0x06, 0x00, 0x00, SRC4, DST4,
	0x94, 0x04, 0x00, 0x00,
	/* TCP: 1028 -> 179, seq 5, doff 5, SYN, win 1024 */
	0x04, 0x04, 0x00, 0xb3, 0x00, 0x00, 0x00, 0x05, ZERO4, 0x50, 0x02, 0x04, 0x00, 0, 0, 0, 0,
};

static const uint8_t frag_first[] = {
	ETH_IPV4,
	/* IPv4: total 44, id 0xbeef, MF, offset 0, ttl 51, UDP */
	0x45, 0x00, 0x00, 0x2c, 0xbe, 0xef, 0x20, 0x00, 0x33, 0x11, 0x00, 0x00, SRC4, DST4,
	/* UDP: 53 -> 36634, length 1472 (the whole datagram, not this fragment) */
	0x00, 0x35, 0x8f, 0x1a, 0x05, 0xc0, 0x00, 0x00,
	/* the first 16 bytes of a DNS answer */
	0xab, 0xcd, 0x81, 0x80, 0x00, 0x01, 0x00, 0x40, 0x00, 0x00, 0x00, 0x00, 0x03, 0x77, 0x77,
	0x77,
};

static const uint8_t frag_later[] = {
	ETH_IPV4,
	/* IPv4: total 36, id 0xbeef, offset 185 (1480 bytes), last, ttl 51, UDP */
	0x45, 0x00, 0x00, 0x24, 0xbe, 0xef, 0x00, 0xb9, 0x33, 0x11, 0x00, 0x00, SRC4, DST4,
	/* payload; read as UDP it would have length 3 (udp_len) */
	0x00, 0x35, 0x8f, 0x1a, 0x00, 0x03, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe,
	0xef,
};

static const uint8_t frag_tiny_offset[] = {
	ETH_IPV4,
	/* IPv4: total 28, id 0xbef0, MF, offset 1 (8 bytes: overlaps a TCP header), ttl 51, TCP */
	0x45, 0x00, 0x00, 0x1c, 0xbe, 0xf0, 0x20, 0x01, 0x33, 0x06, 0x00, 0x00, SRC4, DST4,
	/* 8 bytes that would be TCP seq/ack if this were a header */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
};

static const uint8_t udp_wsd[] = {
	ETH_IPV4,
	/* IPv4: total 31, id 1, ttl 47, UDP */
	0x45, 0x00, 0x00, 0x1f, 0x00, 0x01, 0x00, 0x00, 0x2f, 0x11, 0x00, 0x00, SRC4, DST4,
	/* UDP: 54435 -> 3702 (WS-Discovery), length 11 */
	0xd4, 0xa3, 0x0e, 0x76, 0x00, 0x0b, 0x00, 0x00,
	/* payload */
	0x3c, 0x3a, 0x2f,
};

static const uint8_t icmp_echo[] = {
	ETH_IPV4,
	/* IPv4: total 36, id 12345, ttl 53, ICMP */
	0x45, 0x00, 0x00, 0x24, 0x30, 0x39, 0x00, 0x00, 0x35, 0x01, 0x00, 0x00, SRC4, DST4,
	/* ICMP: echo request (8/0), id 0x1234, seq 1 */
	0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x01,
	/* payload */
	0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
};

static const uint8_t icmp_unreach[] = {
	ETH_IPV4,
	/* IPv4: tos 0xc0, total 56, id 0x0202, ttl 254, ICMP */
	0x45, 0xc0, 0x00, 0x38, 0x02, 0x02, 0x00, 0x00, 0xfe, 0x01, 0x00, 0x00, SRC4, DST4,
	/* ICMP: destination unreachable, port unreachable (3/3), unused */
	0x03, 0x03, 0x00, 0x00, ZERO4,
	/* quoted IPv4 header (192.0.2.1 -> 198.51.100.7, UDP) and 8 bytes of UDP */
	0x45, 0x00, 0x00, 0x24, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00, DST4, SRC4,
	0x80, 0x00, 0x00, 0x35, 0x00, 0x10, 0x00, 0x00,
};

static const uint8_t vlan_1q[] = {
	ETH(0x81, 0x00),
	/* 802.1Q: PCP 5, VID 100, then IPv4 */
	0xa0, 0x64, 0x08, 0x00,
	SYN_V4,
};

static const uint8_t vlan_qinq[] = {
	ETH(0x88, 0xa8),
	/* 802.1ad S-tag: VID 200, then 802.1Q */
	0x00, 0xc8, 0x81, 0x00,
	/* 802.1Q C-tag: PCP 1, VID 1, then IPv4 */
	0x30, 0x01, 0x08, 0x00,
	SYN_V4,
};

static const uint8_t vlan_9100[] = {
	ETH(0x91, 0x00),
	/* 0x9100 tag: VID 4095, then IPv4 */
	0x0f, 0xff, 0x08, 0x00,
	SYN_V4,
};

static const uint8_t ipv6_synack[] = {
	ETH_IPV6,
	/* IPv6: traffic class 0x28, payload 32, TCP, hop limit 57 */
	0x62, 0x80, 0x00, 0x00, 0x00, 0x20, 0x06, 0x39, SRC6, DST6,
	/* TCP: 22 -> 55555, seq 0x11223344, ack 0x55667788, doff 8, SYN|ACK|ECE, win 65160 */
	0x00, 0x16, 0xd9, 0x03, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
	0x80, 0x52, 0xfe, 0x88, 0, 0, 0, 0,
	/* options: NOP, NOP, TS 42/0x001a2b3c */
	0x01, 0x01, 0x08, 0x0a, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x1a, 0x2b, 0x3c,
};

static const uint8_t ipv6_hbh_dst[] = {
	ETH_IPV6,
	IPV6(36, 0, 64),
	/* hop-by-hop: next 60, length 8, PadN 4 */
	0x3c, 0x00, 0x01, 0x04, ZERO4,
	/* destination options: next UDP, length 16, PadN 12 */
	0x11, 0x01, 0x01, 0x0c, ZERO4, ZERO4, ZERO4,
	/* UDP: 50000 -> 53, length 12 */
	0xc3, 0x50, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00,
	/* payload */
	0xde, 0xad, 0xbe, 0xef,
};

static const uint8_t ipv6_frag_first[] = {
	ETH_IPV6,
	IPV6(24, 44, 64),
	/* fragment: next UDP, offset 0, M, id 0xabcd */
	0x11, 0x00, 0x00, 0x01, 0x00, 0x00, 0xab, 0xcd,
	/* UDP: 53 -> 57843, length 1456 (whole datagram) */
	0x00, 0x35, 0xe1, 0xf3, 0x05, 0xb0, 0x00, 0x00,
	/* payload */
	0xab, 0xcd, 0x81, 0x80, 0x00, 0x01, 0x00, 0x40,
};

static const uint8_t ipv6_frag_later[] = {
	ETH_IPV6,
	IPV6(24, 44, 64),
	/* fragment: next UDP, offset 181 (1448 bytes), last, id 0xabcd */
	0x11, 0x00, 0x05, 0xa8, 0x00, 0x00, 0xab, 0xcd,
	/* payload; read as UDP it would have length 0 (udp_len) */
	0x00, 0x35, 0xe1, 0xf3, 0x00, 0x00, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe,
	0xef,
};

static const uint8_t ipv6_frag_offset8[] = {
	ETH_IPV6,
	IPV6(16, 44, 64),
	/* fragment: next TCP, offset 1 (8 bytes), M, id 0xabce */
	0x06, 0x00, 0x00, 0x09, 0x00, 0x00, 0xab, 0xce,
	/* 8 payload bytes */
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
};

static const uint8_t ipv6_ah[] = {
	ETH_IPV6,
	IPV6(44, 51, 64),
	/* AH: next TCP, length (4 + 2) * 4 = 24, SPI 0x1001, seq 1, 12-byte ICV */
	0x06, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22, 0x33, 0x33, 0x33, 0x33,
	/* TCP: 40000 -> 80, seq 0x0badcafe, doff 5, SYN, win 29200 */
	0x9c, 0x40, 0x00, 0x50, 0x0b, 0xad, 0xca, 0xfe, ZERO4, 0x50, 0x02, 0x72, 0x10, 0, 0, 0, 0,
};

static const uint8_t icmpv6_echo[] = {
	ETH_IPV6,
	IPV6(16, 58, 49),
	/* ICMPv6: echo request (128/0), id 0x0d0e, seq 1 */
	0x80, 0x00, 0x00, 0x00, 0x0d, 0x0e, 0x00, 0x01,
	/* payload */
	0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
};

static const uint8_t ipv6_no_next[] = {
	ETH_IPV6,
	IPV6(4, 59, 64),
	/* bytes after "no next header": ignored */
	0x06, 0x06, 0x06, 0x06,
};

static const uint8_t ipv6_esp[] = {
	ETH_IPV6,
	IPV6(16, 50, 64),
	/* ESP: SPI, sequence, encrypted data */
	0x00, 0x00, 0x20, 0x02, 0x00, 0x00, 0x00, 0x07, 0x9a, 0x8b, 0x7c, 0x6d, 0x5e, 0x4f, 0x30,
	0x21,
};

static const uint8_t ipv6_8_ext[] = {
	ETH_IPV6,
	IPV6(92, 0, 64),
	/* hop-by-hop -> destination options, length 8 */
	0x3c, 0x00, 0x01, 0x04, ZERO4,
	/* destination options -> routing, length 8 */
	0x2b, 0x00, 0x01, 0x04, ZERO4,
	/* routing (type 4, segments left 0) -> mobility, length 8 */
	0x87, 0x00, 0x04, 0x00, ZERO4,
	/* mobility -> HIP, length 8 */
	0x8b, 0x00, 0x00, 0x00, ZERO4,
	/* HIP -> shim6, length 8 */
	0x8c, 0x00, 0x00, 0x00, ZERO4,
	/* shim6 -> AH, length 8 */
	0x33, 0x00, 0x00, 0x00, ZERO4,
	/* AH -> fragment, length (2 + 2) * 4 = 16 */
	0x2c, 0x02, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, 0x01, ZERO4,
	/* fragment -> TCP: atomic (offset 0, no M), not a fragment */
	0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	/* TCP: 1029 -> 8080, seq 6, doff 5, SYN, win 1024 */
	0x04, 0x05, 0x1f, 0x90, 0x00, 0x00, 0x00, 0x06, ZERO4, 0x50, 0x02, 0x04, 0x00, 0, 0, 0, 0,
};

static const uint8_t ipv6_jumbo[] = {
	ETH_IPV6,
	IPV6(0, 0, 64),
	/* hop-by-hop -> TCP: Jumbo Payload option, length 0x0001001c */
	0x06, 0x00, 0xc2, 0x04, 0x00, 0x01, 0x00, 0x1c,
	/* TCP: 5001 -> 10000, seq 7, ack 8, doff 5, PSH|ACK, win 512 */
	0x13, 0x89, 0x27, 0x10, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x08,
	0x50, 0x18, 0x02, 0x00, 0, 0, 0, 0,
	/* 10 payload bytes captured */
	0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39,
};

static const uint8_t arp_request[] = {
	ETH(0x08, 0x06),
	/* ARP: Ethernet/IPv4, request, 02:00:5e:00:00:02 198.51.100.7 asks for 192.0.2.1 */
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	0x02, 0x00, 0x5e, 0x00, 0x00, 0x02, SRC4, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, DST4,
};

static const uint8_t ieee8023_stp[] = {
	ETH(0x00, 0x26),
	/* 802.3 length 38: LLC (STP SAP) */
	0x42, 0x42, 0x03,
	/* configuration BPDU: protocol, version, type, flags, root id, root cost, bridge id */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02, ZERO4,
	0x80, 0x00, 0x02, 0x00, 0x5e, 0x00, 0x00, 0x02,
	/* port id, message age, max age 20 s, hello 2 s, forward delay 15 s */
	0x80, 0x01, 0x00, 0x00, 0x14, 0x00, 0x02, 0x00, 0x0f, 0x00,
};

static const uint8_t rst_padded[] = {
	ETH_IPV4,
	/* IPv4: total 40, id 0, DF, ttl 63, TCP */
	0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x3f, 0x06, 0x00, 0x00, SRC4, DST4,
	/* TCP: 80 -> 54321, seq 0, ack 0x0badf00d, doff 5, RST|ACK, win 0 */
	0x00, 0x50, 0xd4, 0x31, ZERO4, 0x0b, 0xad, 0xf0, 0x0d, 0x50, 0x14, 0x00, 0x00, 0, 0, 0, 0,
	/* Ethernet padding to 60 bytes; it looks like an MSS option but is not ours */
	0x02, 0x04, 0x05, 0xb4, 0x01, 0x00,
};

static const uint8_t snapped_v4[] = {
	ETH_IPV4,
	/* IPv4: total 1400, id 0x0303, DF, ttl 64, TCP */
	0x45, 0x00, 0x05, 0x78, 0x03, 0x03, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	/* TCP: 443 -> 50001, seq 9, ack 10, doff 5, PSH|ACK, win 501 */
	0x01, 0xbb, 0xc3, 0x51, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00, 0x0a,
	0x50, 0x18, 0x01, 0xf5, 0, 0, 0, 0,
	/* the first 10 of 1360 payload bytes; the capture stopped here */
	0x17, 0x03, 0x03, 0x05, 0x4f, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const uint8_t snapped_v6[] = {
	ETH_IPV6,
	IPV6(1000, 17, 64),
	/* UDP: 123 -> 123, length 1000 */
	0x00, 0x7b, 0x00, 0x7b, 0x03, 0xe8, 0x00, 0x00,
	/* the first 4 of 992 payload bytes */
	0x17, 0x00, 0x03, 0x2a,
};

static const uint8_t ipv4_gre[] = {
	ETH_IPV4,
	/* IPv4: total 24, id 0x0404, ttl 64, GRE */
	0x45, 0x00, 0x00, 0x18, 0x04, 0x04, 0x00, 0x00, 0x40, 0x2f, 0x00, 0x00, SRC4, DST4,
	/* GRE: no flags, protocol IPv4 */
	0x00, 0x00, 0x08, 0x00,
};

/* ---- malformed frames (prefixes of the frames above are used as well) ---- */

static const uint8_t eth_only[] = { ETH_IPV4 };

static const uint8_t vlan_cut2[] = { ETH(0x81, 0x00), 0x00, 0x64 };

static const uint8_t vlan_cut3[] = { ETH(0x81, 0x00), 0x00, 0x64, 0x08 };

static const uint8_t vlan_inner_cut[] = {
	ETH(0x88, 0xa8),
	/* S-tag VID 200 -> 802.1Q */
	0x00, 0xc8, 0x81, 0x00,
	/* C-tag: three of its four bytes */
	0x30, 0x01, 0x08,
};

static const uint8_t vlan_no_ip4[] = { ETH(0x81, 0x00), 0x00, 0x64, 0x08, 0x00 };

static const uint8_t vlan_no_ip6[] = { ETH(0x81, 0x00), 0x00, 0x64, 0x86, 0xdd };

static const uint8_t vlan_three[] = {
	ETH(0x88, 0xa8),
	/* VID 200 -> 802.1Q, VID 1 -> 802.1Q, VID 2 -> IPv4 */
	0x00, 0xc8, 0x81, 0x00, 0x00, 0x01, 0x81, 0x00, 0x00, 0x02, 0x08, 0x00,
	SYN_V4,
};

static const uint8_t ipv4_opts_cut[] = {
	ETH_IPV4,
	/* IPv4: IHL 8 (32 bytes), total 52, ttl 64, TCP; 8 of 12 option bytes present */
	0x48, 0x00, 0x00, 0x34, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
};

static const uint8_t ipv4_ver6[] = {
	ETH_IPV4,
	/* "IPv4" header with version 6 */
	0x65, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
};

static const uint8_t ipv4_ver0[] = {
	ETH_IPV4,
	/* version 0, IHL 5 */
	0x05, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
};

static const uint8_t ipv4_ihl4[] = {
	ETH_IPV4,
	/* IPv4 with IHL 4 */
	0x44, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	ZERO4,
};

static const uint8_t ipv4_totlen19[] = {
	ETH_IPV4,
	/* IPv4: IHL 5, total 19 */
	0x45, 0x00, 0x00, 0x13, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	ZERO4, ZERO4,
};

static const uint8_t ipv4_totlen_lt_ihl[] = {
	ETH_IPV4,
	/* IPv4: IHL 6, total 20; option NOP x4 */
	0x46, 0x00, 0x00, 0x14, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	0x01, 0x01, 0x01, 0x01,
};

static const uint8_t ipv6_ver4[] = {
	ETH_IPV6,
	/* an IPv4 header and TCP where IPv6 is announced (40 bytes) */
	0x45, 0x00, 0x00, 0x28, 0xd4, 0x31, 0x00, 0x00, 0xf2, 0x06, 0x00, 0x00, SRC4, DST4,
	0xee, 0x48, 0x00, 0x17, 0xc0, 0x00, 0x02, 0x01, ZERO4, 0x50, 0x02, 0x39, 0x08, 0, 0, 0, 0,
};

/* Each extension header type with only 4 of its 8 minimum bytes inside the payload length. */
#define EXT_CUT(name, nh) \
	static const uint8_t name[] = { ETH_IPV6, IPV6(4, nh, 64), 0x06, 0x00, 0x00, 0x00 }
EXT_CUT(ext_cut_hbh, 0);
EXT_CUT(ext_cut_routing, 43);
EXT_CUT(ext_cut_frag, 44);
EXT_CUT(ext_cut_ah, 51);
EXT_CUT(ext_cut_dst, 60);
EXT_CUT(ext_cut_mob, 135);
EXT_CUT(ext_cut_hip, 139);
EXT_CUT(ext_cut_shim6, 140);

static const uint8_t ext_hbh_over_plen[] = {
	ETH_IPV6,
	IPV6(8, 0, 64),
	/* hop-by-hop: length 16, but the payload length allows 8 */
	0x06, 0x01, 0x01, 0x0c, ZERO4,
	/* 8 more bytes captured beyond the datagram (padding) */
	ZERO4, ZERO4,
};

static const uint8_t ext_ah_over[] = {
	ETH_IPV6,
	IPV6(20, 51, 64),
	/* AH: length (4 + 2) * 4 = 24, 20 bytes in the datagram */
	0x06, 0x04, 0x00, 0x00, 0x00, 0x00, 0x10, 0x01, 0x00, 0x00, 0x00, 0x01,
	0x11, 0x11, 0x11, 0x11, 0x22, 0x22, 0x22, 0x22,
};

static const uint8_t ext_second_cut[] = {
	ETH_IPV6,
	IPV6(16, 0, 64),
	/* hop-by-hop -> routing, length 8 */
	0x2b, 0x00, 0x01, 0x04, ZERO4,
	/* routing: length (2 + 1) * 8 = 24, 8 bytes in the datagram */
	0x06, 0x02, 0x04, 0x00, ZERO4,
};

static const uint8_t ext_nine[] = {
	ETH_IPV6,
	IPV6(92, 60, 64),
	/* nine destination options headers of 8 bytes, the last -> TCP */
	0x3c, 0x00, 0x01, 0x04, ZERO4, 0x3c, 0x00, 0x01, 0x04, ZERO4,
	0x3c, 0x00, 0x01, 0x04, ZERO4, 0x3c, 0x00, 0x01, 0x04, ZERO4,
	0x3c, 0x00, 0x01, 0x04, ZERO4, 0x3c, 0x00, 0x01, 0x04, ZERO4,
	0x3c, 0x00, 0x01, 0x04, ZERO4, 0x3c, 0x00, 0x01, 0x04, ZERO4,
	0x06, 0x00, 0x01, 0x04, ZERO4,
	/* TCP: 1029 -> 8080, seq 6, doff 5, SYN, win 1024 */
	0x04, 0x05, 0x1f, 0x90, 0x00, 0x00, 0x00, 0x06, ZERO4, 0x50, 0x02, 0x04, 0x00, 0, 0, 0, 0,
};

static const uint8_t tcp_short_totlen[] = {
	ETH_IPV4,
	/* IPv4: total 39 (19 bytes of TCP), ttl 64 */
	0x45, 0x00, 0x00, 0x27, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, SRC4, DST4,
	/* a 20-byte TCP header whose last byte lies outside the datagram */
	0x04, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, ZERO4, 0x50, 0x02, 0x04, 0x00, 0, 0, 0, 0,
	/* padding */
	ZERO4, ZERO4,
};

/* TCP header (1024 -> 80, seq 1, SYN, win 1024) with the given data offset byte. */
#define TCP_DOFF_HDR(doff_byte) \
	0x04, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x01, ZERO4, doff_byte, 0x02, 0x04, 0x00, \
	0, 0, 0, 0
/* IPv4 header, id 1, ttl 64, TCP, with the given total length. */
#define IPV4_TCP(tot) \
	0x45, 0x00, (tot) >> 8, (tot) & 0xff, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00, \
	SRC4, DST4

static const uint8_t tcp_doff4[] = { ETH_IPV4, IPV4_TCP(40), TCP_DOFF_HDR(0x40) };

static const uint8_t tcp_doff15[] = { ETH_IPV4, IPV4_TCP(40), TCP_DOFF_HDR(0xf0) };

static const uint8_t tcp_doff_padding[] = {
	ETH_IPV4, IPV4_TCP(40), TCP_DOFF_HDR(0x70),
	/* Ethernet padding shaped like MSS + NOPs: the header may not reach into it */
	0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x01, 0x01,
};

static const uint8_t opt_len0[] = {
	ETH_IPV4, IPV4_TCP(44), TCP_DOFF_HDR(0x60),
	/* option kind 2, length 0 */
	0x02, 0x00, 0x05, 0xb4,
};

static const uint8_t opt_len1[] = {
	ETH_IPV4, IPV4_TCP(44), TCP_DOFF_HDR(0x60),
	/* option kind 3, length 1 */
	0x03, 0x01, 0x01, 0x01,
};

static const uint8_t opt_overrun[] = {
	ETH_IPV4, IPV4_TCP(48), TCP_DOFF_HDR(0x70),
	/* MSS 1460, then TS with length 10 in the last 4 option bytes */
	0x02, 0x04, 0x05, 0xb4, 0x08, 0x0a, 0x00, 0x00,
};

static const uint8_t opt_overrun_by_one[] = {
	ETH_IPV4, IPV4_TCP(44), TCP_DOFF_HDR(0x60),
	/* NOP, then MSS with length 4 in the last 3 option bytes; the frame ends here */
	0x01, 0x02, 0x04, 0x05,
};

static const uint8_t opt_no_len[] = {
	ETH_IPV4, IPV4_TCP(44), TCP_DOFF_HDR(0x60),
	/* NOP x3, then kind 2 in the last option byte with no length byte */
	0x01, 0x01, 0x01, 0x02,
};

static const uint8_t udp_len7[] = {
	ETH_IPV4,
	/* IPv4: total 28, id 1, ttl 64, UDP */
	0x45, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00, SRC4, DST4,
	/* UDP: 53 -> 53, length 7 */
	0x00, 0x35, 0x00, 0x35, 0x00, 0x07, 0x00, 0x00,
};

static const uint8_t icmp_short[] = {
	ETH_IPV4,
	/* IPv4: total 23 (3 bytes of ICMP), id 1, ttl 64, ICMP */
	0x45, 0x00, 0x00, 0x17, 0x00, 0x01, 0x00, 0x00, 0x40, 0x01, 0x00, 0x00, SRC4, DST4,
	/* ICMP: type, code, half a checksum */
	0x08, 0x00, 0x00,
};

static const uint8_t icmpv6_short[] = {
	ETH_IPV6,
	IPV6(3, 58, 64),
	/* ICMPv6: type, code, half a checksum */
	0x80, 0x00, 0x00,
};

/*
 * One case. For well-formed frames (OK, NOT_IP) hdr_len is the number of
 * header bytes the decoder must see: any shorter prefix must be malformed.
 * ip_end is the Ethernet + VLAN length plus the datagram length the IP header
 * states (0 when there is none); a prefix ending before it is a snapped
 * capture. payload_captured marks the IPv6 jumbogram, whose payload length is
 * whatever was captured after hdr_len.
 */
struct decode_case {
	const char *name;
	const uint8_t *frame;
	uint32_t len;
	enum ds_decode_result want;
	struct ds_pkt pkt;
	uint32_t hdr_len;
	uint32_t ip_end;
	bool payload_captured;
};

#define FRAME(a) .frame = (a), .len = sizeof(a)

static const struct decode_case cases[] = {
	/* Bad arguments first: nothing or less than an Ethernet header. */
	{ .name = "null_len0", .frame = NULL, .len = 0, .want = DS_DECODE_ETH_TRUNC },
	{ .name = "len0", .frame = syn_plain, .len = 0, .want = DS_DECODE_ETH_TRUNC },
	{ .name = "len13", .frame = syn_plain, .len = 13, .want = DS_DECODE_ETH_TRUNC },

	/* Well-formed frames. */
	{ .name = "ipv4_tcp_syn_plain", FRAME(syn_plain), .want = DS_DECODE_OK,
	  .pkt = { SYN_V4_WANT, .flags = DS_PKT_F_L4 },
	  .hdr_len = 54, .ip_end = 54 },
	{ .name = "ipv4_tcp_syn_linux_opts", FRAME(syn_linux), .want = DS_DECODE_OK,
	  .pkt = { WANT4(60, 0x1c46, 64, 6), .sport = 41394, .dport = 443, .seq = 0x9e3779b9,
		   .tcp_flags = DS_TCP_SYN, .window = 64240,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_TCP_MSS | DS_PKT_F_TCP_SACK_PERM |
			    DS_PKT_F_TCP_TS | DS_PKT_F_TCP_WS,
		   .n_opts = 5, .opt_kinds = { 2, 4, 8, 1, 3 },
		   .mss = 1460, .wscale = 7, .tsval = 0x001a2b3c, .tsecr = 0 },
	  .hdr_len = 74, .ip_end = 74 },
	{ .name = "ipv4_tcp_syn_windows_opts", FRAME(syn_windows), .want = DS_DECODE_OK,
	  .pkt = { WANT4(52, 0x4d2e, 128, 6), .sport = 49153, .dport = 445, .seq = 0x01234567,
		   .tcp_flags = DS_TCP_SYN, .window = 8192,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_TCP_MSS | DS_PKT_F_TCP_WS |
			    DS_PKT_F_TCP_SACK_PERM,
		   .n_opts = 6, .opt_kinds = { 2, 1, 3, 1, 1, 4 }, .mss = 1460, .wscale = 8 },
	  .hdr_len = 66, .ip_end = 66 },
	{ .name = "tcp_eol_then_padding", FRAME(syn_eol), .want = DS_DECODE_OK,
	  .pkt = { WANT4(48, 7, 64, 6), .sport = 1024, .dport = 80, .seq = 1,
		   .tcp_flags = DS_TCP_SYN, .window = 1024,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_TCP_MSS,
		   .n_opts = 2, .opt_kinds = { 2, 0 }, .mss = 1400 },
	  .hdr_len = 62, .ip_end = 62 },
	{ .name = "tcp_unknown_kinds", FRAME(syn_unknown_opt), .want = DS_DECODE_OK,
	  .pkt = { WANT4(48, 8, 64, 6), .sport = 1025, .dport = 80, .seq = 2,
		   .tcp_flags = DS_TCP_SYN, .window = 1024, .flags = DS_PKT_F_L4,
		   .n_opts = 2, .opt_kinds = { 30, 34 } },
	  .hdr_len = 62, .ip_end = 62 },
	{ .name = "tcp_known_kinds_odd_lengths", FRAME(syn_odd_len_opt), .want = DS_DECODE_OK,
	  .pkt = { WANT4(52, 9, 64, 6), .sport = 1026, .dport = 80, .seq = 3,
		   .tcp_flags = DS_TCP_SYN, .window = 1024, .flags = DS_PKT_F_L4,
		   .n_opts = 4, .opt_kinds = { 2, 3, 4, 1 } },
	  .hdr_len = 66, .ip_end = 66 },
	{ .name = "tcp_40_nops", FRAME(syn_40_nops), .want = DS_DECODE_OK,
	  .pkt = { WANT4(80, 10, 64, 6), .sport = 1027, .dport = 80, .seq = 4,
		   .tcp_flags = DS_TCP_SYN, .window = 1024, .flags = DS_PKT_F_L4,
		   .n_opts = 40, .opt_kinds = { NOP10, NOP10, NOP10, NOP10 } },
	  .hdr_len = 94, .ip_end = 94 },
	{ .name = "ipv4_options_ihl6", FRAME(ipv4_opts), .want = DS_DECODE_OK,
	  .pkt = { WANT4(44, 0x0101, 1, 6), .sport = 1028, .dport = 179, .seq = 5,
		   .tcp_flags = DS_TCP_SYN, .window = 1024,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_IPV4_OPTS },
	  .hdr_len = 58, .ip_end = 58 },
	{ .name = "ipv4_first_fragment_udp", FRAME(frag_first), .want = DS_DECODE_OK,
	  .pkt = { WANT4(44, 0xbeef, 51, 17), .sport = 53, .dport = 36634, .payload_len = 1464,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_FRAG },
	  .hdr_len = 42, .ip_end = 58 },
	{ .name = "ipv4_later_fragment", FRAME(frag_later), .want = DS_DECODE_OK,
	  .pkt = { WANT4(36, 0xbeef, 51, 17), .frag_off = 1480,
		   .flags = DS_PKT_F_FRAG | DS_PKT_F_FRAG_LATER },
	  .hdr_len = 34, .ip_end = 50 },
	{ .name = "ipv4_fragment_offset_8", FRAME(frag_tiny_offset), .want = DS_DECODE_OK,
	  .pkt = { WANT4(28, 0xbef0, 51, 6), .frag_off = 8,
		   .flags = DS_PKT_F_FRAG | DS_PKT_F_FRAG_LATER },
	  .hdr_len = 34, .ip_end = 42 },
	{ .name = "ipv4_udp", FRAME(udp_wsd), .want = DS_DECODE_OK,
	  .pkt = { WANT4(31, 1, 47, 17), .sport = 54435, .dport = 3702, .payload_len = 3,
		   .flags = DS_PKT_F_L4 },
	  .hdr_len = 42, .ip_end = 45 },
	{ .name = "ipv4_icmp_echo", FRAME(icmp_echo), .want = DS_DECODE_OK,
	  .pkt = { WANT4(36, 12345, 53, 1), .icmp_type = 8, .icmp_code = 0, .payload_len = 12,
		   .flags = DS_PKT_F_L4 },
	  .hdr_len = 38, .ip_end = 50 },
	{ .name = "ipv4_icmp_port_unreachable", FRAME(icmp_unreach), .want = DS_DECODE_OK,
	  .pkt = { WANT4(56, 0x0202, 254, 1), .tos = 0xc0, .icmp_type = 3, .icmp_code = 3,
		   .payload_len = 32, .flags = DS_PKT_F_L4 },
	  .hdr_len = 38, .ip_end = 70 },
	{ .name = "vlan_8021q", FRAME(vlan_1q), .want = DS_DECODE_OK,
	  .pkt = { SYN_V4_WANT, .flags = DS_PKT_F_L4, .n_vlan = 1, .vlan = { 100 } },
	  .hdr_len = 58, .ip_end = 58 },
	{ .name = "vlan_qinq_88a8_8100", FRAME(vlan_qinq), .want = DS_DECODE_OK,
	  .pkt = { SYN_V4_WANT, .flags = DS_PKT_F_L4, .n_vlan = 2, .vlan = { 200, 1 } },
	  .hdr_len = 62, .ip_end = 62 },
	{ .name = "vlan_9100", FRAME(vlan_9100), .want = DS_DECODE_OK,
	  .pkt = { SYN_V4_WANT, .flags = DS_PKT_F_L4, .n_vlan = 1, .vlan = { 4095 } },
	  .hdr_len = 58, .ip_end = 58 },
	{ .name = "ipv6_tcp_synack_ece_ts", FRAME(ipv6_synack), .want = DS_DECODE_OK,
	  .pkt = { WANT6(32, 57), .proto = 6, .tos = 0x28, .sport = 22, .dport = 55555,
		   .seq = 0x11223344, .ack = 0x55667788,
		   .tcp_flags = DS_TCP_SYN | DS_TCP_ACK | DS_TCP_ECE, .window = 65160,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_TCP_TS, .n_opts = 3, .opt_kinds = { 1, 1, 8 },
		   .tsval = 42, .tsecr = 0x001a2b3c },
	  .hdr_len = 86, .ip_end = 86 },
	{ .name = "ipv6_hbh_dstopts_udp", FRAME(ipv6_hbh_dst), .want = DS_DECODE_OK,
	  .pkt = { WANT6(36, 64), .proto = 17, .sport = 50000, .dport = 53, .payload_len = 4,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_IPV6_EXT },
	  .hdr_len = 86, .ip_end = 90 },
	{ .name = "ipv6_first_fragment_udp", FRAME(ipv6_frag_first), .want = DS_DECODE_OK,
	  .pkt = { WANT6(24, 64), .proto = 17, .sport = 53, .dport = 57843, .payload_len = 1448,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_IPV6_EXT | DS_PKT_F_FRAG },
	  .hdr_len = 70, .ip_end = 78 },
	{ .name = "ipv6_later_fragment", FRAME(ipv6_frag_later), .want = DS_DECODE_OK,
	  .pkt = { WANT6(24, 64), .proto = 17, .frag_off = 1448,
		   .flags = DS_PKT_F_IPV6_EXT | DS_PKT_F_FRAG | DS_PKT_F_FRAG_LATER },
	  .hdr_len = 62, .ip_end = 78 },
	{ .name = "ipv6_fragment_offset_8", FRAME(ipv6_frag_offset8), .want = DS_DECODE_OK,
	  .pkt = { WANT6(16, 64), .proto = 6, .frag_off = 8,
		   .flags = DS_PKT_F_IPV6_EXT | DS_PKT_F_FRAG | DS_PKT_F_FRAG_LATER },
	  .hdr_len = 62, .ip_end = 70 },
	{ .name = "ipv6_ah_tcp", FRAME(ipv6_ah), .want = DS_DECODE_OK,
	  .pkt = { WANT6(44, 64), .proto = 6, .sport = 40000, .dport = 80, .seq = 0x0badcafe,
		   .tcp_flags = DS_TCP_SYN, .window = 29200,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_IPV6_EXT },
	  .hdr_len = 98, .ip_end = 98 },
	{ .name = "ipv6_icmpv6_echo", FRAME(icmpv6_echo), .want = DS_DECODE_OK,
	  .pkt = { WANT6(16, 49), .proto = 58, .icmp_type = 128, .payload_len = 12,
		   .flags = DS_PKT_F_L4 },
	  .hdr_len = 58, .ip_end = 70 },
	{ .name = "ipv6_no_next_header", FRAME(ipv6_no_next), .want = DS_DECODE_OK,
	  .pkt = { WANT6(4, 64), .proto = 59 },
	  .hdr_len = 54, .ip_end = 58 },
	{ .name = "ipv6_esp", FRAME(ipv6_esp), .want = DS_DECODE_OK,
	  .pkt = { WANT6(16, 64), .proto = 50 },
	  .hdr_len = 54, .ip_end = 70 },
	{ .name = "ipv6_8_ext_headers", FRAME(ipv6_8_ext), .want = DS_DECODE_OK,
	  .pkt = { WANT6(92, 64), .proto = 6, .sport = 1029, .dport = 8080, .seq = 6,
		   .tcp_flags = DS_TCP_SYN, .window = 1024,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_IPV6_EXT },
	  .hdr_len = 146, .ip_end = 146 },
	{ .name = "ipv6_jumbo_plen0", FRAME(ipv6_jumbo), .want = DS_DECODE_OK,
	  .pkt = { WANT6(0, 64), .proto = 6, .sport = 5001, .dport = 10000, .seq = 7, .ack = 8,
		   .tcp_flags = DS_TCP_PSH | DS_TCP_ACK, .window = 512, .payload_len = 10,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_IPV6_EXT },
	  .hdr_len = 82, .ip_end = 0, .payload_captured = true },
	{ .name = "arp_not_ip", FRAME(arp_request), .want = DS_DECODE_NOT_IP,
	  .hdr_len = 14 },
	{ .name = "ieee8023_length_not_ip", FRAME(ieee8023_stp), .want = DS_DECODE_NOT_IP,
	  .hdr_len = 14 },
	{ .name = "ipv4_rst_ethernet_padding", FRAME(rst_padded), .want = DS_DECODE_OK,
	  .pkt = { WANT4(40, 0, 63, 6), .sport = 80, .dport = 54321, .ack = 0x0badf00d,
		   .tcp_flags = DS_TCP_RST | DS_TCP_ACK, .flags = DS_PKT_F_L4 },
	  .hdr_len = 54, .ip_end = 54 },
	{ .name = "ipv4_snapped", FRAME(snapped_v4), .want = DS_DECODE_OK,
	  .pkt = { WANT4(1400, 0x0303, 64, 6), .sport = 443, .dport = 50001, .seq = 9, .ack = 10,
		   .tcp_flags = DS_TCP_PSH | DS_TCP_ACK, .window = 501, .payload_len = 1360,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_SNAPPED },
	  .hdr_len = 54, .ip_end = 1414 },
	{ .name = "ipv6_snapped", FRAME(snapped_v6), .want = DS_DECODE_OK,
	  .pkt = { WANT6(1000, 64), .proto = 17, .sport = 123, .dport = 123, .payload_len = 992,
		   .flags = DS_PKT_F_L4 | DS_PKT_F_SNAPPED },
	  .hdr_len = 62, .ip_end = 1054 },
	{ .name = "ipv4_gre_no_l4", FRAME(ipv4_gre), .want = DS_DECODE_OK,
	  .pkt = { WANT4(24, 0x0404, 64, 47) },
	  .hdr_len = 34, .ip_end = 38 },

	/* Truncated at each layer. */
	{ .name = "eth_only_ipv4_type", FRAME(eth_only), .want = DS_DECODE_IPV4_TRUNC },
	{ .name = "vlan_tag_2_of_4", FRAME(vlan_cut2), .want = DS_DECODE_VLAN_TRUNC },
	{ .name = "vlan_tag_3_of_4", FRAME(vlan_cut3), .want = DS_DECODE_VLAN_TRUNC },
	{ .name = "vlan_inner_tag_cut", FRAME(vlan_inner_cut), .want = DS_DECODE_VLAN_TRUNC,
	  .pkt = { .n_vlan = 1, .vlan = { 200 } } },
	{ .name = "vlan_no_payload_ipv4", FRAME(vlan_no_ip4), .want = DS_DECODE_IPV4_TRUNC,
	  .pkt = { .n_vlan = 1, .vlan = { 100 } } },
	{ .name = "vlan_no_payload_ipv6", FRAME(vlan_no_ip6), .want = DS_DECODE_IPV6_TRUNC,
	  .pkt = { .n_vlan = 1, .vlan = { 100 } } },
	{ .name = "ipv4_header_19_bytes", .frame = syn_plain, .len = 33,
	  .want = DS_DECODE_IPV4_TRUNC },
	{ .name = "ipv4_options_cut", FRAME(ipv4_opts_cut), .want = DS_DECODE_IPV4_TRUNC },
	{ .name = "ipv6_header_39_bytes", .frame = ipv6_synack, .len = 53,
	  .want = DS_DECODE_IPV6_TRUNC },
	{ .name = "ipv6_ext_cut_hop_by_hop", FRAME(ext_cut_hbh), .want = DS_DECODE_IPV6_EXT_TRUNC,
	  .pkt = { WANT6(4, 64) } },
	{ .name = "ipv6_ext_cut_routing", FRAME(ext_cut_routing),
	  .want = DS_DECODE_IPV6_EXT_TRUNC, .pkt = { WANT6(4, 64) } },
	{ .name = "ipv6_ext_cut_fragment", FRAME(ext_cut_frag), .want = DS_DECODE_IPV6_EXT_TRUNC,
	  .pkt = { WANT6(4, 64) } },
	{ .name = "ipv6_ext_cut_ah", FRAME(ext_cut_ah), .want = DS_DECODE_IPV6_EXT_TRUNC,
	  .pkt = { WANT6(4, 64) } },
	{ .name = "ipv6_ext_cut_dstopts", FRAME(ext_cut_dst), .want = DS_DECODE_IPV6_EXT_TRUNC,
	  .pkt = { WANT6(4, 64) } },
	{ .name = "ipv6_ext_cut_mobility", FRAME(ext_cut_mob), .want = DS_DECODE_IPV6_EXT_TRUNC,
	  .pkt = { WANT6(4, 64) } },
	{ .name = "ipv6_ext_cut_hip", FRAME(ext_cut_hip), .want = DS_DECODE_IPV6_EXT_TRUNC,
	  .pkt = { WANT6(4, 64) } },
	{ .name = "ipv6_ext_cut_shim6", FRAME(ext_cut_shim6), .want = DS_DECODE_IPV6_EXT_TRUNC,
	  .pkt = { WANT6(4, 64) } },
	{ .name = "ipv6_hbh_beyond_payload_len", FRAME(ext_hbh_over_plen),
	  .want = DS_DECODE_IPV6_EXT_TRUNC, .pkt = { WANT6(8, 64) } },
	{ .name = "ipv6_ah_beyond_payload_len", FRAME(ext_ah_over),
	  .want = DS_DECODE_IPV6_EXT_TRUNC, .pkt = { WANT6(20, 64) } },
	{ .name = "ipv6_second_ext_beyond_payload_len", FRAME(ext_second_cut),
	  .want = DS_DECODE_IPV6_EXT_TRUNC, .pkt = { WANT6(16, 64) } },
	{ .name = "ipv6_ext_snapped_mid_header", .frame = ipv6_hbh_dst, .len = 70,
	  .want = DS_DECODE_IPV6_EXT_TRUNC,
	  .pkt = { WANT6(36, 64), .flags = DS_PKT_F_SNAPPED } },
	{ .name = "tcp_header_19_bytes", .frame = syn_plain, .len = 53,
	  .want = DS_DECODE_TCP_TRUNC,
	  .pkt = { WANT4(40, 54321, 242, 6), .flags = DS_PKT_F_SNAPPED } },
	{ .name = "tcp_header_beyond_total_length", FRAME(tcp_short_totlen),
	  .want = DS_DECODE_TCP_TRUNC, .pkt = { WANT4(39, 1, 64, 6) } },
	{ .name = "tcp_options_snapped", .frame = syn_linux, .len = 64,
	  .want = DS_DECODE_TCP_DOFF,
	  .pkt = { WANT4(60, 0x1c46, 64, 6), .flags = DS_PKT_F_SNAPPED } },
	{ .name = "udp_header_7_bytes", .frame = udp_wsd, .len = 41, .want = DS_DECODE_UDP_TRUNC,
	  .pkt = { WANT4(31, 1, 47, 17), .flags = DS_PKT_F_SNAPPED } },
	{ .name = "icmp_header_3_bytes", FRAME(icmp_short), .want = DS_DECODE_ICMP_TRUNC,
	  .pkt = { WANT4(23, 1, 64, 1) } },
	{ .name = "icmpv6_header_3_bytes", FRAME(icmpv6_short), .want = DS_DECODE_ICMP_TRUNC,
	  .pkt = { WANT6(3, 64), .proto = 58 } },

	/* Bad fields. */
	{ .name = "ipv4_version_6", FRAME(ipv4_ver6), .want = DS_DECODE_IPV4_VERSION },
	{ .name = "ipv4_version_0", FRAME(ipv4_ver0), .want = DS_DECODE_IPV4_VERSION },
	{ .name = "ipv4_ihl_4", FRAME(ipv4_ihl4), .want = DS_DECODE_IPV4_IHL },
	{ .name = "ipv4_total_length_19", FRAME(ipv4_totlen19), .want = DS_DECODE_IPV4_TOTLEN },
	{ .name = "ipv4_total_length_below_ihl", FRAME(ipv4_totlen_lt_ihl),
	  .want = DS_DECODE_IPV4_TOTLEN },
	{ .name = "ipv6_version_4", FRAME(ipv6_ver4), .want = DS_DECODE_IPV6_VERSION },
	{ .name = "ipv6_9_ext_headers", FRAME(ext_nine), .want = DS_DECODE_IPV6_EXT_DEPTH,
	  .pkt = { WANT6(92, 64) } },
	{ .name = "vlan_three_tags", FRAME(vlan_three), .want = DS_DECODE_VLAN_DEPTH,
	  .pkt = { .n_vlan = 2, .vlan = { 200, 1 } } },
	{ .name = "tcp_doff_4", FRAME(tcp_doff4), .want = DS_DECODE_TCP_DOFF,
	  .pkt = { WANT4(40, 1, 64, 6) } },
	{ .name = "tcp_doff_15_beyond_datagram", FRAME(tcp_doff15), .want = DS_DECODE_TCP_DOFF,
	  .pkt = { WANT4(40, 1, 64, 6) } },
	{ .name = "tcp_doff_into_ethernet_padding", FRAME(tcp_doff_padding),
	  .want = DS_DECODE_TCP_DOFF, .pkt = { WANT4(40, 1, 64, 6) } },
	{ .name = "tcp_option_length_0", FRAME(opt_len0), .want = DS_DECODE_TCP_OPT,
	  .pkt = { WANT4(44, 1, 64, 6) } },
	{ .name = "tcp_option_length_1", FRAME(opt_len1), .want = DS_DECODE_TCP_OPT,
	  .pkt = { WANT4(44, 1, 64, 6) } },
	{ .name = "tcp_option_overrun", FRAME(opt_overrun), .want = DS_DECODE_TCP_OPT,
	  .pkt = { WANT4(48, 1, 64, 6) } },
	{ .name = "tcp_option_overrun_by_one", FRAME(opt_overrun_by_one), .want = DS_DECODE_TCP_OPT,
	  .pkt = { WANT4(44, 1, 64, 6) } },
	{ .name = "tcp_option_missing_length", FRAME(opt_no_len), .want = DS_DECODE_TCP_OPT,
	  .pkt = { WANT4(44, 1, 64, 6) } },
	{ .name = "udp_length_7", FRAME(udp_len7), .want = DS_DECODE_UDP_LEN,
	  .pkt = { WANT4(28, 1, 64, 17) } },
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/*
 * A frame placed so that its last byte is the last byte before a PROT_NONE
 * page: a read past the end faults even without valgrind or ASan.
 */
static uint8_t *guard_end;
static size_t guard_room;

static void
guard_init(void)
{
	long page = sysconf(_SC_PAGESIZE);
	uint8_t *map;

	if (page <= 0)
		return;
	map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	if (map == MAP_FAILED)
		return;
	if (mprotect(map + page, (size_t)page, PROT_NONE) != 0) {
		munmap(map, 2 * (size_t)page);
		return;
	}
	guard_end = map + page;
	guard_room = (size_t)page;
}

/*
 * Decode len bytes twice: from a heap buffer of exactly that size, so that
 * valgrind and ASan see any overread, and against the guard page, so that a
 * plain build faults on one. Both decodes must agree.
 */
static enum ds_decode_result
decode_exact(const uint8_t *bytes, uint32_t len, struct ds_pkt *pkt)
{
	uint8_t *buf = malloc(len ? len : 1);
	enum ds_decode_result r;

	if (buf == NULL) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	if (len != 0)
		memcpy(buf, bytes, len);
	/* Poison the output: a field the decoder forgets to clear cannot look right by luck. */
	memset(pkt, 0xa5, sizeof(*pkt));
	/* A zero-length frame is passed as a pointer to nothing, not as a 1-byte buffer. */
	r = ds_decode(len ? buf : NULL, len, pkt);
	free(buf);

	if (guard_end != NULL && len <= guard_room) {
		struct ds_pkt again;
		enum ds_decode_result r2;

		memset(&again, 0x5a, sizeof(again));
		if (len != 0)
			memcpy(guard_end - len, bytes, len);
		r2 = ds_decode(guard_end - len, len, &again);
		if (r2 != r || memcmp(&again, pkt, sizeof(again)) != 0) {
			printf("FAIL decode of %u bytes differs between two buffers\n", len);
			exit(1);
		}
	}
	return r;
}

/* Print every field that differs; return the number of differences. */
static int
compare_pkt(const char *name, const struct ds_pkt *got, const struct ds_pkt *want)
{
	int bad = 0;

#define CMP(f) do { \
		if (got->f != want->f) { \
			printf("  %s: %s = %lu, want %lu\n", name, #f, \
			       (unsigned long)got->f, (unsigned long)want->f); \
			bad++; \
		} \
	} while (0)
#define CMP_ARRAY(f) do { \
		if (memcmp(got->f, want->f, sizeof(got->f)) != 0) { \
			printf("  %s: %s differs\n", name, #f); \
			bad++; \
		} \
	} while (0)
	CMP(src4);
	CMP(dst4);
	CMP(flags);
	CMP(ip_version);
	CMP(proto);
	CMP(sport);
	CMP(dport);
	CMP(tcp_flags);
	CMP(icmp_type);
	CMP(icmp_code);
	CMP(ttl);
	CMP(window);
	CMP(ip_id);
	CMP(seq);
	CMP(ack);
	CMP(l3_len);
	CMP(payload_len);
	CMP(frag_off);
	CMP(tos);
	CMP(n_vlan);
	CMP_ARRAY(vlan);
	CMP(n_opts);
	CMP(wscale);
	CMP(mss);
	CMP(tsval);
	CMP(tsecr);
	CMP_ARRAY(opt_kinds);
	CMP_ARRAY(src6);
	CMP_ARRAY(dst6);
#undef CMP
#undef CMP_ARRAY
	return bad;
}

/*
 * Properties every decode must have, whatever the bytes: a result inside the
 * enum, and no field that claims a header byte beyond len. Returns NULL or
 * what is wrong.
 */
static const char *
check_invariants(enum ds_decode_result r, const struct ds_pkt *p, uint32_t len)
{
	static const struct ds_pkt zero;
	uint32_t l2 = 14 + 4u * p->n_vlan;
	uint32_t l3_min = p->ip_version == 4 ? 20 : 40;
	uint32_t l4_min;

	if ((unsigned int)r >= DS_DECODE_RESULT_MAX)
		return "result outside the enum";
	if (strcmp(ds_decode_result_name(r), "unknown") == 0)
		return "result without a name";
	if (p->n_vlan > DS_MAX_VLAN || p->n_opts > DS_TCP_MAX_OPTS)
		return "n_vlan or n_opts beyond its array";
	if (r == DS_DECODE_ETH_TRUNC && memcmp(p, &zero, sizeof(zero)) != 0)
		return "eth_trunc with fields set";
	if (len >= 14 && r == DS_DECODE_ETH_TRUNC)
		return "eth_trunc with an Ethernet header present";
	if (p->ip_version != 0 && p->ip_version != 4 && p->ip_version != 6)
		return "ip_version not 0, 4 or 6";
	switch (r) {
	case DS_DECODE_OK:
	case DS_DECODE_TCP_TRUNC:
	case DS_DECODE_TCP_DOFF:
	case DS_DECODE_TCP_OPT:
	case DS_DECODE_UDP_TRUNC:
	case DS_DECODE_UDP_LEN:
	case DS_DECODE_ICMP_TRUNC:
		if (p->ip_version == 0)
			return "IP-level result without an IP layer";
		break;
	case DS_DECODE_IPV6_EXT_TRUNC:
	case DS_DECODE_IPV6_EXT_DEPTH:
		if (p->ip_version != 6)
			return "extension header result without an IPv6 layer";
		break;
	default:
		/* Failed at or below the IP header, or not IP: no IP layer at all. */
		if (p->ip_version != 0 || p->flags != 0)
			return "IP fields set though the IP header was not decoded";
		break;
	}
	if (r != DS_DECODE_OK && (p->flags & DS_PKT_F_L4 || p->n_opts != 0))
		return "failed decode with an L4 layer";
	if (p->ip_version != 0 && l2 + l3_min > len)
		return "IP header claimed beyond len";
	if (r == DS_DECODE_OK && p->ip_version != 0 &&
	    !!(p->flags & DS_PKT_F_SNAPPED) != (l2 + p->l3_len > len))
		return "SNAPPED disagrees with l3_len and len";
	if (p->flags & DS_PKT_F_L4) {
		if (p->flags & DS_PKT_F_FRAG_LATER)
			return "L4 decoded in a later fragment";
		if (p->proto == 6)
			l4_min = 20 + p->n_opts;
		else if (p->proto == 17)
			l4_min = 8;
		else if (p->proto == 1 || p->proto == 58)
			l4_min = 4;
		else
			return "L4 flag on a protocol without L4 decode";
		if (l2 + l3_min + l4_min > len)
			return "L4 header claimed beyond len";
	}
	if ((p->n_opts != 0 || p->flags & (DS_PKT_F_TCP_MSS | DS_PKT_F_TCP_WS |
					   DS_PKT_F_TCP_SACK_PERM | DS_PKT_F_TCP_TS)) &&
	    !(p->flags & DS_PKT_F_L4 && p->proto == 6))
		return "TCP option fields outside TCP";
	return NULL;
}

static int
test_cases(void)
{
	int failed = 0;

	for (size_t i = 0; i < N_CASES; i++) {
		const struct decode_case *c = &cases[i];
		struct ds_pkt pkt;
		enum ds_decode_result r = decode_exact(c->frame, c->len, &pkt);
		const char *inv = check_invariants(r, &pkt, c->len);
		int bad = compare_pkt(c->name, &pkt, &c->pkt);

		if (r != c->want) {
			printf("  %s: result %s, want %s\n", c->name, ds_decode_result_name(r),
			       ds_decode_result_name(c->want));
			bad++;
		}
		if (inv != NULL) {
			printf("  %s: %s\n", c->name, inv);
			bad++;
		}
		printf("%s case %s (%s)\n", bad ? "FAIL" : "ok  ", c->name,
		       ds_decode_result_name(c->want));
		failed += bad != 0;
	}
	return failed;
}

/*
 * Every prefix 0..len of every frame, from a buffer of exactly that size.
 * For well-formed frames: a prefix that cuts the headers is malformed; one
 * that keeps them decodes as the whole frame does, snapped exactly when it
 * ends before the datagram does.
 */
static int
test_prefixes(void)
{
	int failed = 0;
	unsigned long decodes = 0;

	for (size_t i = 0; i < N_CASES; i++) {
		const struct decode_case *c = &cases[i];
		bool valid = c->want == DS_DECODE_OK || c->want == DS_DECODE_NOT_IP;
		int bad = 0;

		for (uint32_t n = 0; n <= c->len && bad == 0; n++) {
			struct ds_pkt pkt, want;
			enum ds_decode_result r = decode_exact(c->frame, n, &pkt);
			const char *inv = check_invariants(r, &pkt, n);

			decodes++;
			if (inv != NULL) {
				printf("  %s prefix %u: %s\n", c->name, n, inv);
				bad++;
			}
			if (!valid)
				continue;
			if (n < c->hdr_len) {
				if (r == DS_DECODE_OK || r == DS_DECODE_NOT_IP) {
					printf("  %s prefix %u: %s with headers cut\n", c->name, n,
					       ds_decode_result_name(r));
					bad++;
				}
				continue;
			}
			if (r != c->want) {
				printf("  %s prefix %u: result %s, want %s\n", c->name, n,
				       ds_decode_result_name(r), ds_decode_result_name(c->want));
				bad++;
				continue;
			}
			want = c->pkt;
			want.flags &= (uint16_t)~DS_PKT_F_SNAPPED;
			if (n < c->ip_end)
				want.flags |= DS_PKT_F_SNAPPED;
			if (c->payload_captured)
				want.payload_len = (uint16_t)(n - c->hdr_len);
			if (compare_pkt(c->name, &pkt, &want) != 0) {
				printf("  %s prefix %u: fields differ\n", c->name, n);
				bad++;
			}
		}
		printf("%s prefixes %s (0..%u)\n", bad ? "FAIL" : "ok  ", c->name, c->len);
		failed += bad != 0;
	}
	printf("ok   prefixes: %lu decodes\n", decodes);
	return failed;
}

/* xorshift64*: small, fast and the same sequence everywhere for a given seed. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/*
 * Mutated frames. Half start from the Linux SYN (Ethernet/IPv4/TCP), half
 * from any other well-formed frame; each gets a random length (shorter or
 * longer, with random bytes after the template) and 1-4 byte changes,
 * mostly inside the headers where the decisions are taken.
 */
static int
test_fuzz(void)
{
	const uint32_t rounds = 1000000;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	unsigned long hits[DS_DECODE_RESULT_MAX] = { 0 };
	uint8_t frame[256];
	size_t valid[N_CASES];
	size_t n_valid = 0;
	size_t linux_syn = 0;
	int bad = 0;

	for (size_t i = 0; i < N_CASES; i++) {
		if (cases[i].want == DS_DECODE_OK || cases[i].want == DS_DECODE_NOT_IP)
			valid[n_valid++] = i;
		if (cases[i].frame == syn_linux && cases[i].want == DS_DECODE_OK)
			linux_syn = i;
	}
	for (uint32_t round = 0; round < rounds && bad == 0; round++) {
		uint64_t x = rnd(&seed);
		const struct decode_case *c = &cases[x & 1 ? linux_syn : valid[(x >> 1) % n_valid]];
		uint32_t len = (uint32_t)(rnd(&seed) % (c->len + 33));
		uint32_t n_mut = 1 + (uint32_t)(rnd(&seed) % 4);
		struct ds_pkt pkt;
		enum ds_decode_result r;
		const char *inv;

		for (uint32_t j = 0; j < len; j++)
			frame[j] = j < c->len ? c->frame[j] : (uint8_t)rnd(&seed);
		for (uint32_t m = 0; m < n_mut && len != 0; m++) {
			uint64_t y = rnd(&seed);
			uint32_t span = y & 1 && len > 80 ? 80 : len;

			frame[(y >> 8) % span] = (uint8_t)(y >> 40);
		}
		r = decode_exact(frame, len, &pkt);
		inv = check_invariants(r, &pkt, len);
		if (inv != NULL) {
			printf("  fuzz round %u (template %s, len %u): %s\n", round, c->name, len,
			       inv);
			bad++;
			continue;
		}
		hits[r]++;
	}
	printf("%s fuzz: %u mutated frames\n", bad ? "FAIL" : "ok  ", rounds);
	for (int r = 0; r < DS_DECODE_RESULT_MAX; r++)
		printf("       %-15s %lu\n", ds_decode_result_name(r), hits[r]);
	return bad != 0;
}

static int
test_names(void)
{
	static const struct {
		int r;
		const char *name;
	} names[] = {
		{ -1, "unknown" },
		{ DS_DECODE_RESULT_MAX, "unknown" },
		{ 1000, "unknown" },
		{ DS_DECODE_OK, "ok" },
		{ DS_DECODE_NOT_IP, "not_ip" },
		{ DS_DECODE_ETH_TRUNC, "eth_trunc" },
		{ DS_DECODE_VLAN_TRUNC, "vlan_trunc" },
		{ DS_DECODE_VLAN_DEPTH, "vlan_depth" },
		{ DS_DECODE_IPV4_TRUNC, "ipv4_trunc" },
		{ DS_DECODE_IPV4_VERSION, "ipv4_version" },
		{ DS_DECODE_IPV4_IHL, "ipv4_ihl" },
		{ DS_DECODE_IPV4_TOTLEN, "ipv4_totlen" },
		{ DS_DECODE_IPV6_TRUNC, "ipv6_trunc" },
		{ DS_DECODE_IPV6_VERSION, "ipv6_version" },
		{ DS_DECODE_IPV6_EXT_TRUNC, "ipv6_ext_trunc" },
		{ DS_DECODE_IPV6_EXT_DEPTH, "ipv6_ext_depth" },
		{ DS_DECODE_TCP_TRUNC, "tcp_trunc" },
		{ DS_DECODE_TCP_DOFF, "tcp_doff" },
		{ DS_DECODE_TCP_OPT, "tcp_opt" },
		{ DS_DECODE_UDP_TRUNC, "udp_trunc" },
		{ DS_DECODE_UDP_LEN, "udp_len" },
		{ DS_DECODE_ICMP_TRUNC, "icmp_trunc" },
	};
	int failed = 0;

	/* The table above must name every value: a new result needs a documented name. */
	if (sizeof(names) / sizeof(names[0]) != 3 + DS_DECODE_RESULT_MAX) {
		printf("FAIL names: table covers %zu of %d results\n",
		       sizeof(names) / sizeof(names[0]) - 3, DS_DECODE_RESULT_MAX);
		failed++;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *got = ds_decode_result_name((enum ds_decode_result)names[i].r);
		bool ok = got != NULL && strcmp(got, names[i].name) == 0;

		printf("%s name %d = \"%s\"\n", ok ? "ok  " : "FAIL", names[i].r,
		       got ? got : "(null)");
		failed += !ok;
	}
	return failed;
}

int
main(void)
{
	int failed = 0;

	guard_init();
	failed += test_cases();
	failed += test_names();
	failed += test_prefixes();
	failed += test_fuzz();
	printf("%s: %d failure(s)\n", failed ? "FAIL" : "PASS", failed);
	return failed ? 1 : 0;
}
