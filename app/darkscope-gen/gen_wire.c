/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope-gen: header writers and Internet checksums.
 *
 * Builders write the L4 header and payload first, at the offset the IP
 * header will leave free, then "seal" the datagram: the seal writes the IP
 * header and fills in both checksums, because the L4 checksum covers a
 * pseudo header made of IP fields and so can only be computed once both
 * layers are known. Keeping the checksum code in one place is what lets the
 * tests ask tshark to validate every checksum of every packet.
 *
 * All fields are stored big-endian byte by byte (ds_gen_put16/32), so the
 * output does not depend on the host's byte order or alignment.
 */

#include <string.h>

#include "gen.h"

/* Offsets of the checksum field inside each L4 header. */
#define TCP_CSUM_OFF 16
#define UDP_CSUM_OFF 6
#define ICMP_CSUM_OFF 2

/*
 * One's-complement sum of big-endian 16-bit words (RFC 1071). An odd final
 * byte is the high half of a word padded with zero, so a sum may be carried
 * over several calls only when every part but the last has an even length.
 */
uint32_t
ds_gen_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

uint16_t
ds_gen_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t
ds_gen_tcp_write(uint8_t *l4, const struct ds_gen_tcp *t)
{
	size_t hlen = 20 + (size_t)t->opts_len;

	ds_gen_put16(l4, t->sport);
	ds_gen_put16(l4 + 2, t->dport);
	ds_gen_put32(l4 + 4, t->seq);
	ds_gen_put32(l4 + 8, t->ack);
	l4[12] = (uint8_t)((hlen / 4) << 4);
	l4[13] = t->flags;
	ds_gen_put16(l4 + 14, t->window);
	ds_gen_put16(l4 + 16, 0);       /* checksum, filled in by the seal */
	ds_gen_put16(l4 + 18, 0);       /* urgent pointer */
	if (t->opts_len)
		memcpy(l4 + 20, t->opts, t->opts_len);
	return hlen;
}

size_t
ds_gen_udp_write(uint8_t *l4, uint16_t sport, uint16_t dport, const uint8_t *payload, size_t len)
{
	ds_gen_put16(l4, sport);
	ds_gen_put16(l4 + 2, dport);
	ds_gen_put16(l4 + 4, (uint16_t)(8 + len));
	ds_gen_put16(l4 + 6, 0);
	if (len)
		memcpy(l4 + 8, payload, len);
	return 8 + len;
}

/* The header alone, with its checksum; also used for headers quoted in ICMP errors. */
void
ds_gen_ip4_header(uint8_t *ip, const struct ds_gen_ip4 *h, uint16_t total_len)
{
	ip[0] = 0x45;                   /* version 4, 20-byte header */
	ip[1] = 0;                      /* DSCP/ECN */
	ds_gen_put16(ip + 2, total_len);
	ds_gen_put16(ip + 4, h->id);
	ds_gen_put16(ip + 6, h->df ? 0x4000 : 0);
	ip[8] = h->ttl;
	ip[9] = h->proto;
	ds_gen_put16(ip + 10, 0);
	ds_gen_put32(ip + 12, h->src);
	ds_gen_put32(ip + 16, h->dst);
	ds_gen_put16(ip + 10, ds_gen_csum_fold(ds_gen_csum_add(0, ip, 20)));
}

/* Which checksum an L4 protocol carries and where; -1 when none is computed. */
static int
l4_csum_offset(uint8_t proto)
{
	switch (proto) {
	case DS_GEN_IPPROTO_TCP:
		return TCP_CSUM_OFF;
	case DS_GEN_IPPROTO_UDP:
		return UDP_CSUM_OFF;
	case DS_GEN_IPPROTO_ICMP:
	case DS_GEN_IPPROTO_ICMPV6:
		return ICMP_CSUM_OFF;
	default:
		return -1;
	}
}

size_t
ds_gen_ip4_seal(uint8_t *l3, const struct ds_gen_ip4 *h, size_t l4_len)
{
	uint8_t *l4 = l3 + 20;
	int off = l4_csum_offset(h->proto);
	uint32_t sum = 0;
	uint16_t csum;

	ds_gen_ip4_header(l3, h, (uint16_t)(20 + l4_len));
	if (off < 0)
		return 20 + l4_len;
	ds_gen_put16(l4 + off, 0);
	/* ICMPv4 has no pseudo header; TCP and UDP sum src, dst, proto and length. */
	if (h->proto != DS_GEN_IPPROTO_ICMP) {
		sum = ds_gen_csum_add(sum, l3 + 12, 8);
		sum += h->proto;
		sum += (uint32_t)l4_len;
	}
	sum = ds_gen_csum_add(sum, l4, l4_len);
	csum = ds_gen_csum_fold(sum);
	/* A UDP checksum of 0 means "none"; the same value is sent as 0xffff. */
	if (csum == 0 && h->proto == DS_GEN_IPPROTO_UDP)
		csum = 0xffff;
	ds_gen_put16(l4 + off, csum);
	return 20 + l4_len;
}

size_t
ds_gen_ip6_seal(uint8_t *l3, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
		uint8_t hlim, size_t l4_len)
{
	uint8_t *l4 = l3 + 40;
	int off = l4_csum_offset(proto);
	uint32_t sum = 0;
	uint16_t csum;

	ds_gen_put32(l3, UINT32_C(6) << 28);   /* version 6, class 0, flow label 0 */
	ds_gen_put16(l3 + 4, (uint16_t)l4_len);
	l3[6] = proto;
	l3[7] = hlim;
	memcpy(l3 + 8, src, 16);
	memcpy(l3 + 24, dst, 16);
	if (off < 0)
		return 40 + l4_len;
	/* Every IPv6 upper layer, ICMPv6 included, sums the pseudo header (RFC 8200 8.1). */
	ds_gen_put16(l4 + off, 0);
	sum = ds_gen_csum_add(sum, l3 + 8, 32);
	sum += (uint32_t)l4_len;
	sum += proto;
	sum = ds_gen_csum_add(sum, l4, l4_len);
	csum = ds_gen_csum_fold(sum);
	if (csum == 0 && proto == DS_GEN_IPPROTO_UDP)
		csum = 0xffff;
	ds_gen_put16(l4 + off, csum);
	return 40 + l4_len;
}
