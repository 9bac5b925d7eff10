/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Small shared pieces of the geo data side: format names,
 * the special-purpose address lists, and the range -> prefixes split that
 * loads a range into rte_lpm.
 */

#include <stdio.h>
#include <string.h>

#include "ds_geo.h"

static const char *const format_names[DS_GEO_FORMAT_MAX] = {
	[DS_GEO_CAIDA_PFX2AS] = "caida-pfx2as",
	[DS_GEO_IPLOC_ASN] = "ip-location-db-asn",
	[DS_GEO_IPLOC_COUNTRY] = "ip-location-db-country",
	[DS_GEO_RIR_DELEGATED] = "rir-delegated",
	[DS_GEO_MAXMIND_ASN] = "maxmind-asn",
	[DS_GEO_MAXMIND_COUNTRY] = "maxmind-country",
};

static const uint32_t format_provides[DS_GEO_FORMAT_MAX] = {
	[DS_GEO_CAIDA_PFX2AS] = DS_GEO_PREFIX_ASN,
	[DS_GEO_IPLOC_ASN] = DS_GEO_PREFIX_ASN,
	[DS_GEO_IPLOC_COUNTRY] = DS_GEO_PREFIX_COUNTRY,
	[DS_GEO_RIR_DELEGATED] = DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY,
	[DS_GEO_MAXMIND_ASN] = DS_GEO_PREFIX_ASN,
	[DS_GEO_MAXMIND_COUNTRY] = DS_GEO_PREFIX_COUNTRY,
};

const char *
ds_geo_format_name(enum ds_geo_format f)
{
	return (unsigned int)f < DS_GEO_FORMAT_MAX ? format_names[f] : "unknown";
}

uint32_t
ds_geo_format_provides(enum ds_geo_format f)
{
	return (unsigned int)f < DS_GEO_FORMAT_MAX ? format_provides[f] : 0;
}

#define R(a, b, c, d, len) \
	{(uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d), \
	 ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d)) | (0xffffffffu >> (len)), 0}

/*
 * RFC 6890 special-purpose IPv4 space (with its successors): no packet from
 * here is routed on the Internet, so a telescope that sees one sees a
 * spoofed or leaked source. 192.0.0.0/24 is taken whole (it holds two
 * anycast /32s), and multicast and the former class E are included.
 */
const struct ds_geo_range ds_geo_bogons4[] = {
	R(0, 0, 0, 0, 8),               /* "this network" */
	R(10, 0, 0, 0, 8),              /* private */
	R(100, 64, 0, 0, 10),           /* shared address space (CGN) */
	R(127, 0, 0, 0, 8),             /* loopback */
	R(169, 254, 0, 0, 16),          /* link-local */
	R(172, 16, 0, 0, 12),           /* private */
	R(192, 0, 0, 0, 24),            /* IETF protocol assignments */
	R(192, 0, 2, 0, 24),            /* TEST-NET-1 */
	R(192, 88, 99, 0, 24),          /* 6to4 relay anycast (deprecated) */
	R(192, 168, 0, 0, 16),          /* private */
	R(198, 18, 0, 0, 15),           /* benchmarking */
	R(198, 51, 100, 0, 24),         /* TEST-NET-2 */
	R(203, 0, 113, 0, 24),          /* TEST-NET-3 */
	R(224, 0, 0, 0, 4),             /* multicast */
	R(240, 0, 0, 0, 4),             /* reserved, and the limited broadcast */
};
const size_t ds_geo_n_bogons4 = sizeof(ds_geo_bogons4) / sizeof(ds_geo_bogons4[0]);

#undef R

/* IPv6 special-purpose space: first bytes and prefix length. */
static const struct {
	uint8_t addr[16];
	uint8_t len;
} bogons6[] = {
	{{0}, 127},                                             /* :: and ::1 */
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96},       /* IPv4-mapped */
	{{0, 0x64, 0xff, 0x9b, 0, 1}, 48},                      /* local-use NAT64 */
	{{0x01, 0x00}, 64},                                     /* discard-only */
	{{0x20, 0x01, 0x00, 0x00}, 23},                         /* IETF protocol assignments */
	{{0x20, 0x01, 0x0d, 0xb8}, 32},                         /* documentation */
	{{0x3f, 0xff}, 20},                                     /* documentation */
	{{0x5f, 0x00}, 16},                                     /* SRv6 SIDs (RFC 9602) */
	{{0xfc}, 7},                                            /* unique local */
	{{0xfe, 0x80}, 10},                                     /* link-local */
	{{0xff}, 8},                                            /* multicast */
};

bool
ds_geo_bogon6(const uint8_t a[16])
{
	for (size_t i = 0; i < sizeof(bogons6) / sizeof(bogons6[0]); i++) {
		uint8_t len = bogons6[i].len;
		uint8_t full = len / 8, rest = len % 8;

		if (memcmp(a, bogons6[i].addr, full) != 0)
			continue;
		if (rest == 0 ||
		    ((a[full] ^ bogons6[i].addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0)
			return true;
	}
	return false;
}

int
ds_geo_range_prefixes(uint32_t first, uint32_t last,
		      int (*fn)(uint32_t addr, uint8_t depth, void *arg), void *arg)
{
	uint64_t a = first, end = (uint64_t)last + 1;

	while (a < end) {
		/* The largest block aligned at a that fits before end. */
		uint64_t size = a == 0 ? 1ull << 32 : a & -a;
		uint8_t depth;
		int rc;

		while (a + size > end)
			size >>= 1;
		depth = (uint8_t)(32 - __builtin_ctzll(size));
		rc = fn((uint32_t)a, depth, arg);
		if (rc != 0)
			return rc;
		a += size;
	}
	return 0;
}
