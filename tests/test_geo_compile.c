/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Tests of ds_geo_compile() (pure, no EAL): flattening nested ranges,
 * layering sources by precedence under the bogon space, the AS table and
 * the AS country (registry, then derived by majority of addresses).
 *
 * The reference works address by address: for each address of a small
 * window it walks the sources in order and, within a source, takes the
 * smallest range containing the address (the first in the file on a tie).
 * It shares no code with the sweeps under test.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_geo.h"

static int failures;

#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			failures++;                                                        \
			printf("  FAIL %s:%d: ", __FILE__, __LINE__);                      \
			printf(__VA_ARGS__);                                               \
			printf("\n");                                                      \
		}                                                                          \
	} while (0)

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/* Value of addr in compiled disjoint ranges; `none` when uncovered. */
static uint32_t
compiled_value(const struct ds_geo_range *r, size_t n, uint32_t addr, uint32_t none)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && r[lo].first <= addr ? r[lo].value : none;
}

/* The reference: first source covering addr, smallest range, first in file. */
static uint32_t
reference(const struct ds_geo_source *const *srcs, size_t n, bool asn, uint32_t addr,
	  uint32_t bogon, uint32_t none)
{
	for (size_t b = 0; b < ds_geo_n_bogons4; b++)
		if (addr >= ds_geo_bogons4[b].first && addr <= ds_geo_bogons4[b].last)
			return bogon;
	for (size_t s = 0; s < n; s++) {
		const struct ds_geo_range *r = asn ? srcs[s]->asn : srcs[s]->cc;
		size_t nr = asn ? srcs[s]->n_asn : srcs[s]->n_cc;
		uint64_t best = UINT64_MAX;
		uint32_t value = none;

		for (size_t i = 0; i < nr; i++) {
			uint64_t size = (uint64_t)r[i].last - r[i].first;

			if (addr >= r[i].first && addr <= r[i].last && size < best) {
				best = size;
				value = r[i].value;
			}
		}
		if (best != UINT64_MAX)
			return value;
	}
	return none;
}

/* Random nested prefixes (and a few plain ranges) inside [base, base + 2^16). */
static void
random_source(struct ds_geo_source *s, uint32_t base, size_t n, bool prefixes_only)
{
	s->asn = calloc(n, sizeof(*s->asn));
	s->cc = calloc(n, sizeof(*s->cc));
	for (size_t i = 0; i < n; i++) {
		uint32_t len = 16 + rnd(17), first, last;

		if (!prefixes_only && i % 5 == 0) {
			first = base + rnd(65536);
			last = first + rnd(base + 65536 - first);
		} else {
			uint32_t size = 1u << (32 - len);

			first = base + (rnd(65536) & ~(size - 1));
			last = first + size - 1;
		}
		/* AS values from a small set, so ASes repeat across ranges. */
		s->asn[i] = (struct ds_geo_range){first, last, 64500 + rnd(20)};
		s->cc[i] = (struct ds_geo_range){first, last, rnd(30)};
	}
	s->n_asn = n;
	s->n_cc = n;
}

static void
test_bad_and_empty(void)
{
	struct ds_geo_compiled c;
	int rc;

	printf("no sources: only bogons, an AS table with the bogon slot\n");
	rc = ds_geo_compile(NULL, 0, 0, &c);
	CHECK(rc == 0, "compile of nothing: %d", rc);
	CHECK(c.n_asns == 1 && c.asns[0] == DS_ASN_BOGON && c.asn_cc[0] == DS_CC_BOGON,
	      "bogon slot");
	/* Adjacent bogon ranges merge (224/4 and 240/4); every bogon edge stays bogon. */
	CHECK(c.n_asn_ranges <= ds_geo_n_bogons4, "bogon ranges %zu", c.n_asn_ranges);
	for (size_t b = 0; b < ds_geo_n_bogons4; b++)
		CHECK(compiled_value(c.asn_ranges, c.n_asn_ranges, ds_geo_bogons4[b].first, 99) == 0 &&
		      compiled_value(c.asn_ranges, c.n_asn_ranges, ds_geo_bogons4[b].last, 99) == 0,
		      "bogon %zu covered", b);
	CHECK(compiled_value(c.asn_ranges, c.n_asn_ranges, 0x0a000001, 99) == 0, "10.0.0.1 bogon");
	CHECK(compiled_value(c.asn_ranges, c.n_asn_ranges, 0x08080808, 99) == 99, "8.8.8.8 none");
	ds_geo_compiled_free(&c);
	ds_geo_compiled_free(NULL);
}

static void
test_layers_vs_reference(uint32_t base, bool prefixes_only)
{
	struct ds_geo_source s[3];
	const struct ds_geo_source *srcs[3] = {&s[0], &s[1], &s[2]};
	struct ds_geo_compiled c;
	size_t bad_asn = 0, bad_cc = 0;

	printf("3 random sources in %u.%u.0.0/16%s: every address == reference\n", base >> 24,
	       base >> 16 & 255, prefixes_only ? " (prefixes only)" : " (with plain ranges)");
	memset(s, 0, sizeof(s));
	random_source(&s[0], base, 40, prefixes_only);
	random_source(&s[1], base, 120, prefixes_only);
	random_source(&s[2], base, 10, prefixes_only);
	/* An exact duplicate with another value: the first in the file wins. */
	s[1].asn[7] = s[1].asn[3];
	s[1].asn[7].value = 1;
	if (ds_geo_compile(srcs, 3, 0, &c) != 0) {
		CHECK(0, "compile failed");
		return;
	}
	for (uint32_t a = base; a < base + 65536; a++) {
		uint32_t want = reference(srcs, 3, true, a, DS_ASN_BOGON, 0);
		uint32_t idx = compiled_value(c.asn_ranges, c.n_asn_ranges, a, UINT32_MAX);
		uint32_t got = idx == UINT32_MAX ? 0 : c.asns[idx];

		bad_asn += got != want;
		want = reference(srcs, 3, false, a, DS_CC_BOGON, DS_CC_UNROUTED);
		bad_cc += compiled_value(c.cc_ranges, c.n_cc_ranges, a, DS_CC_UNROUTED) != want;
	}
	CHECK(bad_asn == 0, "%zu addresses with a wrong AS", bad_asn);
	CHECK(bad_cc == 0, "%zu addresses with a wrong country", bad_cc);
	for (size_t i = 1; i < c.n_asn_ranges; i++)
		CHECK(c.asn_ranges[i - 1].last < c.asn_ranges[i].first, "ranges disjoint, sorted");
	for (uint32_t i = 2; i < c.n_asns; i++)
		CHECK(c.asns[i - 1] < c.asns[i], "AS table sorted and unique");
	ds_geo_compiled_free(&c);
	for (int i = 0; i < 3; i++) {
		free(s[i].asn);
		free(s[i].cc);
	}
}

static void
test_asn_country(void)
{
	/* AS 100: 256 addresses in JP, 512 in US -> US. AS 200: 256 JP, 256 KR -> JP (tie,
	 * lower index). AS 300: registry says DE, whatever the prefixes. AS 400: no
	 * country data anywhere -> unknown. */
	struct ds_geo_range asn[] = {
		{0x01000000, 0x010002ff, 100},
		{0x01000300, 0x010004ff, 200},
		{0x01000500, 0x010005ff, 300},
		{0x02000000, 0x020000ff, 400},
	};
	int jp = ds_cc_index("JP"), us = ds_cc_index("US"), kr = ds_cc_index("KR");
	int de = ds_cc_index("DE"), fr = ds_cc_index("FR");
	struct ds_geo_range cc[] = {
		{0x01000000, 0x010000ff, (uint32_t)jp},
		{0x01000100, 0x010002ff, (uint32_t)us},
		{0x01000300, 0x010003ff, (uint32_t)kr},
		{0x01000400, 0x010004ff, (uint32_t)jp},
		{0x01000500, 0x010005ff, (uint32_t)fr},
	};
	struct ds_geo_asn_cc reg[] = {{300, (uint16_t)de}, {300, (uint16_t)fr}};
	struct ds_geo_source s = {.asn = asn, .n_asn = 4, .cc = cc, .n_cc = 5,
				  .asn_cc = reg, .n_asn_cc = 2};
	const struct ds_geo_source *srcs[] = {&s};
	struct ds_geo_compiled c;
	uint16_t want_derived[] = {DS_CC_BOGON, (uint16_t)us, (uint16_t)jp, (uint16_t)de,
				   DS_CC_UNKNOWN};
	uint16_t want_registry[] = {DS_CC_BOGON, DS_CC_UNKNOWN, DS_CC_UNKNOWN, (uint16_t)de,
				    DS_CC_UNKNOWN};

	printf("AS country: registry first, then the majority of addresses, ties to the lower\n");
	for (int derive = 0; derive < 2; derive++) {
		if (ds_geo_compile(srcs, 1, derive ? DS_GEO_DERIVE_ASN_COUNTRY : 0, &c) != 0) {
			CHECK(0, "compile failed");
			return;
		}
		CHECK(c.n_asns == 5, "5 AS slots, got %u", c.n_asns);
		for (uint32_t i = 0; i < c.n_asns && i < 5; i++)
			CHECK(c.asn_cc[i] == (derive ? want_derived : want_registry)[i],
			      "derive %d: AS %u country %u", derive, c.asns[i], c.asn_cc[i]);
		CHECK(c.asn_cc_registry == 1, "one registry country");
		CHECK(c.asn_cc_derived == (derive ? 2u : 0u), "derived %zu", c.asn_cc_derived);
		ds_geo_compiled_free(&c);
	}
}

struct collect {
	uint32_t addr[64];
	uint8_t depth[64];
	int n;
};

static int
collect(uint32_t addr, uint8_t depth, void *arg)
{
	struct collect *c = arg;

	if (c->n < 64) {
		c->addr[c->n] = addr;
		c->depth[c->n] = depth;
	}
	c->n++;
	return 0;
}

static void
test_range_prefixes(void)
{
	struct {
		uint32_t first, last;
		int n;
	} cases[] = {
		{0, UINT32_MAX, 1},                     /* 0.0.0.0/0 */
		{0x0a000000, 0x0affffff, 1},            /* a /8 */
		{5, 5, 1},                              /* a /32 */
		{0x01000001, 0x010000fe, 14},           /* .1 - .254 */
		{0xfffffffe, 0xffffffff, 1},
		{1, UINT32_MAX - 1, 62},
	};

	printf("ranges split into the fewest aligned prefixes\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct collect c = {.n = 0};
		uint64_t next = cases[i].first;

		ds_geo_range_prefixes(cases[i].first, cases[i].last, collect, &c);
		CHECK(c.n == cases[i].n, "case %zu: %d prefixes, want %d", i, c.n, cases[i].n);
		for (int k = 0; k < c.n && k < 64; k++) {
			uint64_t size = 1ull << (32 - c.depth[k]);

			CHECK(c.addr[k] == next && (c.addr[k] & (size - 1)) == 0,
			      "case %zu: prefix %d contiguous and aligned", i, k);
			next += size;
		}
		if (c.n <= 64)
			CHECK(next == (uint64_t)cases[i].last + 1, "case %zu: covers the range", i);
	}
}

int
main(void)
{
	test_bad_and_empty();
	test_layers_vs_reference(0x01000000, true);
	test_layers_vs_reference(0x01000000, false);
	/* 192.0.0.0/16 holds 192.0.0.0/24 and 192.0.2.0/24: bogons inside the window. */
	test_layers_vs_reference(0xc0000000, false);
	test_asn_country();
	test_range_prefixes();
	printf("%s (%d failure%s)\n", failures ? "FAIL" : "PASS", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
