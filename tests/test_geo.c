/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The geo lookup tables (rte_fib, so EAL runs without hugepages) against an
 * independent reference, on the real data in ../shared/data/geo.
 *
 * The reference reads the same files with its own few lines of parsing and
 * answers one address at a time: a longest-prefix match by binary search in
 * one sorted array per prefix length (prefix2as), a binary search among
 * disjoint ranges (ip-location-db, RIR statistics), its own list of
 * special-purpose space. The addresses are every IPv4 source of
 * lbnl_scanNG_23-tcp.pcap plus 100 000 random ones. Every loader is checked,
 * in both country_source modes, and one layered configuration.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "ds_geo.h"
#include "ds_geo_table.h"

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

#define N_RANDOM 100000

static char data[2048];
static uint32_t *addrs;
static size_t n_addrs;

/* ---- The reference ------------------------------------------------------------------ */

/* RFC 6890 special-purpose space, written out again for the reference. */
static const char *const ref_bogons[] = {
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
	"198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
};

static bool
ref_bogon(uint32_t a)
{
	for (size_t i = 0; i < sizeof(ref_bogons) / sizeof(ref_bogons[0]); i++) {
		char net[32];
		int len;
		struct in_addr in;

		sscanf(ref_bogons[i], "%31[^/]/%d", net, &len);
		inet_pton(AF_INET, net, &in);
		if (((a ^ ntohl(in.s_addr)) & (len ? ~0u << (32 - len) : 0)) == 0)
			return true;
	}
	return false;
}

/* Prefix -> value, one sorted array per length. */
struct ref_len {
	uint32_t *net;
	uint32_t *val;
	size_t n, cap;
};

struct ref_lpm {
	struct ref_len len[33];
};

static void
ref_lpm_add(struct ref_lpm *l, uint32_t net, int len, uint32_t val)
{
	struct ref_len *a = &l->len[len];

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->net = realloc(a->net, a->cap * sizeof(uint32_t));
		a->val = realloc(a->val, a->cap * sizeof(uint32_t));
	}
	a->net[a->n] = net;
	a->val[a->n++] = val;
}

static int
pair_cmp(const void *x, const void *y)
{
	const uint64_t *a = x, *b = y;

	return (*a > *b) - (*a < *b);
}

static void
ref_lpm_sort(struct ref_lpm *l)
{
	for (int len = 0; len <= 32; len++) {
		struct ref_len *a = &l->len[len];
		uint64_t *p = malloc((a->n + 1) * sizeof(uint64_t));

		/* Sort (net, file position) so the first of duplicates comes first. */
		for (size_t i = 0; i < a->n; i++)
			p[i] = (uint64_t)a->net[i] << 32 | i;
		qsort(p, a->n, sizeof(uint64_t), pair_cmp);
		{
			uint32_t *val = malloc((a->n + 1) * sizeof(uint32_t));

			for (size_t i = 0; i < a->n; i++) {
				val[i] = a->val[(uint32_t)p[i]];
				a->net[i] = (uint32_t)(p[i] >> 32);
			}
			free(a->val);
			a->val = val;
		}
		free(p);
	}
}

static bool
ref_lpm_find(const struct ref_lpm *l, uint32_t a, uint32_t *val)
{
	for (int len = 32; len >= 0; len--) {
		const struct ref_len *s = &l->len[len];
		uint32_t net = a & (len ? ~0u << (32 - len) : 0);
		size_t lo = 0, hi = s->n;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (s->net[mid] < net)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < s->n && s->net[lo] == net) {
			*val = s->val[lo];
			return true;
		}
	}
	return false;
}

static void
ref_lpm_free(struct ref_lpm *l)
{
	for (int len = 0; len <= 32; len++) {
		free(l->len[len].net);
		free(l->len[len].val);
	}
}

/* Disjoint ranges sorted by start. */
struct ref_ranges {
	uint32_t *first, *last, *val;
	size_t n, cap;
};

static void
ref_ranges_add(struct ref_ranges *r, uint32_t first, uint32_t last, uint32_t val)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->first = realloc(r->first, r->cap * sizeof(uint32_t));
		r->last = realloc(r->last, r->cap * sizeof(uint32_t));
		r->val = realloc(r->val, r->cap * sizeof(uint32_t));
	}
	r->first[r->n] = first;
	r->last[r->n] = last;
	r->val[r->n++] = val;
}

static void
ref_ranges_sort(struct ref_ranges *r)
{
	uint64_t *p = malloc((r->n + 1) * sizeof(uint64_t));
	uint32_t *f = malloc((r->n + 1) * 4), *l = malloc((r->n + 1) * 4),
		 *v = malloc((r->n + 1) * 4);

	for (size_t i = 0; i < r->n; i++)
		p[i] = (uint64_t)r->first[i] << 32 | i;
	qsort(p, r->n, sizeof(uint64_t), pair_cmp);
	for (size_t i = 0; i < r->n; i++) {
		uint32_t k = (uint32_t)p[i];

		f[i] = r->first[k];
		l[i] = r->last[k];
		v[i] = r->val[k];
	}
	free(r->first);
	free(r->last);
	free(r->val);
	r->first = f;
	r->last = l;
	r->val = v;
	free(p);
}

static void
ref_ranges_free(struct ref_ranges *r)
{
	free(r->first);
	free(r->last);
	free(r->val);
}

static bool
ref_ranges_find(const struct ref_ranges *r, uint32_t a, uint32_t *val)
{
	size_t lo = 0, hi = r->n;

	/* The last range starting at or before a. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (r->first[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || r->last[lo - 1] < a)
		return false;
	*val = r->val[lo - 1];
	return true;
}

static uint32_t
dotted(const char *s)
{
	struct in_addr in;

	if (strchr(s, '.') == NULL)
		return (uint32_t)strtoul(s, NULL, 10);
	inet_pton(AF_INET, s, &in);
	return ntohl(in.s_addr);
}

static int
cc_of(const char *s)
{
	return strcmp(s, "ZZ") == 0 ? DS_CC_UNKNOWN : ds_cc_index(s);
}

static bool
read_pfx2as(const char *path, struct ref_lpm *l)
{
	gzFile f = gzopen(path, "rb");
	char line[512], net[64], as[256];
	int len;

	if (f == NULL)
		return false;
	while (gzgets(f, line, sizeof(line)) != NULL)
		if (sscanf(line, "%63s %d %255s", net, &len, as) == 3)
			/* The first origin of a multi-origin or set entry. */
			ref_lpm_add(l, dotted(net), len, (uint32_t)strtoul(as, NULL, 10));
	gzclose(f);
	ref_lpm_sort(l);
	return true;
}

/* ip-location-db: start,end,value[,org]; value an AS or a country. */
static bool
read_iploc(const char *path, bool country, struct ref_ranges *r)
{
	FILE *f = fopen(path, "r");
	char line[1024], a[64], b[64], v[64];

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%63[^,],%63[^,],%63[^,\r\n]", a, b, v) != 3 || strchr(a, ':'))
			continue;
		ref_ranges_add(r, dotted(a), dotted(b),
			       country ? (uint32_t)cc_of(v) : (uint32_t)strtoul(v, NULL, 10));
	}
	fclose(f);
	ref_ranges_sort(r);
	return true;
}

/* RIR statistics: ipv4 records -> ranges, asn records -> asn_cc[asn]. */
static uint16_t *rir_asn_cc;    /* indexed by AS number below 1 << 22 (covers these files) */

static bool
read_rir(const char *path, struct ref_ranges *r)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *fld[8] = {0}, *save = NULL, *p = line;
		int n = 0;

		if (line[0] == '#')
			continue;
		while (n < 8 && (fld[n] = strtok_r(p, "|\r\n", &save)) != NULL) {
			p = NULL;
			n++;
		}
		if (n < 7 || strcmp(fld[5], "summary") == 0 ||
		    (strcmp(fld[6], "allocated") != 0 && strcmp(fld[6], "assigned") != 0) ||
		    cc_of(fld[1]) < 0 || cc_of(fld[1]) == DS_CC_UNKNOWN)
			continue;
		if (strcmp(fld[2], "ipv4") == 0) {
			uint32_t start = dotted(fld[3]);

			ref_ranges_add(r, start, start + (uint32_t)strtoul(fld[4], NULL, 10) - 1,
				       (uint32_t)cc_of(fld[1]));
		} else if (strcmp(fld[2], "asn") == 0) {
			uint32_t as = (uint32_t)strtoul(fld[3], NULL, 10);
			uint32_t count = (uint32_t)strtoul(fld[4], NULL, 10);

			for (uint32_t k = 0; k < count && as + k < (1u << 22); k++)
				if (rir_asn_cc[as + k] == DS_CC_UNKNOWN)
					rir_asn_cc[as + k] = (uint16_t)cc_of(fld[1]);
		}
	}
	fclose(f);
	return true;
}

/* ---- The table under test ------------------------------------------------------------ */

static struct ds_geo_table *
build(const struct ds_config_geo_source *cs, size_t n, bool by_prefix, int home, uint32_t gen)
{
	struct ds_geo_source src[8];
	const struct ds_geo_source *srcs[8];
	struct ds_geo_compiled c;
	struct ds_geo_error err;
	struct ds_geo_table *t;

	memset(src, 0, sizeof(src));
	for (size_t i = 0; i < n; i++) {
		if (ds_geo_load(cs[i].format, cs[i].path, NULL, cs[i].provides, &src[i], &err) != 0) {
			printf("  load: %s\n", err.msg);
			return NULL;
		}
		srcs[i] = &src[i];
	}
	if (ds_geo_compile(srcs, n, 0, &c) != 0)
		return NULL;
	for (size_t i = 0; i < n; i++)
		ds_geo_source_free(&src[i]);
	t = ds_geo_table_create(&c, by_prefix, home, gen, 0);
	if (t == NULL)
		printf("  table: %s\n", rte_strerror(rte_errno));
	ds_geo_compiled_free(&c);
	return t;
}

static void
lookup_all(const struct ds_geo_table *t, struct ds_src_geo *out)
{
	uint64_t hops[256];

	for (size_t i = 0; i < n_addrs; i += 256) {
		unsigned int k = n_addrs - i < 256 ? (unsigned int)(n_addrs - i) : 256;

		ds_geo_lookup4_bulk(t, addrs + i, hops, out + i, k);
	}
}

/* ---- Cases -------------------------------------------------------------------------- */

static struct ds_config_geo_source
source(enum ds_geo_format f, const char *file, uint32_t provides)
{
	struct ds_config_geo_source s;

	memset(&s, 0, sizeof(s));
	s.format = f;
	snprintf(s.path, sizeof(s.path), "%s/geo/%s", data, file);
	s.provides = provides;
	return s;
}

/* How the reference finds a country. */
enum cc_mode {
	CC_OF_AS_NONE,          /* by AS, no AS->country data: unknown when routed */
	CC_OF_AS_RIR,           /* by AS, from the RIR asn records */
	CC_BY_PREFIX,           /* from cc_ranges */
};

/*
 * One configuration: the table's AS and country for every address vs the
 * reference's. AS data: lpm, then as_ranges (either may be NULL; both NULL
 * means no AS data is configured, so every routed answer is "unknown").
 */
static void
compare(const char *what, const struct ds_geo_table *t, const struct ref_lpm *lpm,
	const struct ref_ranges *as_ranges, enum cc_mode mode, const struct ref_ranges *cc_ranges)
{
	struct ds_src_geo *g = malloc(n_addrs * sizeof(*g));
	size_t bad_as = 0, bad_cc = 0, routed = 0, bogons = 0;
	bool as_data = lpm != NULL || as_ranges != NULL;

	lookup_all(t, g);
	for (size_t i = 0; i < n_addrs; i++) {
		uint32_t a = addrs[i], as, cc, v;
		bool found = false;

		if (ref_bogon(a)) {
			as = DS_ASN_BOGON;
			cc = DS_CC_BOGON;
			bogons++;
		} else {
			if (lpm != NULL && ref_lpm_find(lpm, a, &v))
				found = true;
			else if (as_ranges != NULL && ref_ranges_find(as_ranges, a, &v))
				found = true;
			as = found ? v : as_data ? DS_ASN_UNROUTED : DS_ASN_UNKNOWN;
			routed += found;
			if (mode == CC_BY_PREFIX)
				cc = ref_ranges_find(cc_ranges, a, &v) ? v : DS_CC_UNROUTED;
			else if (!found)
				cc = as_data ? DS_CC_UNROUTED : DS_CC_UNKNOWN;
			else if (mode == CC_OF_AS_RIR && as < (1u << 22))
				cc = rir_asn_cc[as];
			else
				cc = DS_CC_UNKNOWN;
		}
		if (g[i].asn != as && bad_as++ < 3)
			printf("  %s: %u.%u.%u.%u: AS %u, reference %u\n", what, a >> 24,
			       a >> 16 & 255, a >> 8 & 255, a & 255, g[i].asn, as);
		if (g[i].cc != cc && bad_cc++ < 3)
			printf("  %s: %u.%u.%u.%u: country %u, reference %u\n", what, a >> 24,
			       a >> 16 & 255, a >> 8 & 255, a & 255, g[i].cc, cc);
	}
	printf("%s: %zu addresses (%zu with an AS, %zu bogon): AS differs %zu, country differs "
	       "%zu\n", what, n_addrs, routed, bogons, bad_as, bad_cc);
	CHECK(bad_as == 0 && bad_cc == 0, "%s: 100 %% agreement", what);
	free(g);
}

/* IPv4 sources of a pcap, parsed here (Ethernet, VLAN tags, IPv4). */
static void
pcap_sources(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t hdr[24], rec[16], pkt[65536];

	if (f == NULL || fread(hdr, 1, 24, f) != 24)
		goto out;
	while (fread(rec, 1, 16, f) == 16) {
		uint32_t cap = rec[8] | rec[9] << 8 | rec[10] << 16 | (uint32_t)rec[11] << 24;
		size_t off = 12;

		if (cap > sizeof(pkt) || fread(pkt, 1, cap, f) != cap)
			break;
		while (off + 2 <= cap && (pkt[off] << 8 | pkt[off + 1]) == 0x8100)
			off += 4;
		if (off + 2 + 16 <= cap && (pkt[off] << 8 | pkt[off + 1]) == 0x0800)
			addrs[n_addrs++] = (uint32_t)pkt[off + 14] << 24 | pkt[off + 15] << 16 |
					   pkt[off + 16] << 8 | pkt[off + 17];
	}
out:
	if (f != NULL)
		fclose(f);
}

/*
 * Two sets of ranges that cut each other at every kind of boundary, with
 * gaps on either side, one of them reaching each end of the address space
 * and ending after the other: laid over each other as AS and country ranges,
 * and the other way round, every address of those stretches must get the
 * AS and country of the ranges that hold it, from one packed table
 * (country_source prefix) and from the AS-only one. Values are below 10, so
 * each is an AS index and a country index alike.
 */
static const struct ds_geo_range overlay_a[] = {
	{0x0a000000, 0x0a0000ff, 1}, {0x0a000100, 0x0a00017f, 2}, {0x0a000205, 0x0a000307, 3},
	{0x0a000308, 0x0a000308, 1}, {0xfffffe80, 0xfffffe8f, 3}, {0xffffff00, 0xffffffff, 2},
};
static const struct ds_geo_range overlay_b[] = {
	{0x00000000, 0x00000003, 5}, {0x0a000080, 0x0a00013f, 7}, {0x0a000140, 0x0a00020a, 9},
	{0x0a000300, 0x0a000400, 7}, {0xfffffe10, 0xfffffe1f, 8},
};
#define N_OVERLAY_A (sizeof(overlay_a) / sizeof(overlay_a[0]))
#define N_OVERLAY_B (sizeof(overlay_b) / sizeof(overlay_b[0]))

static bool
in_ranges(const struct ds_geo_range *r, size_t n, uint32_t a, uint32_t *v)
{
	for (size_t i = 0; i < n; i++)
		if (a >= r[i].first && a <= r[i].last) {
			*v = r[i].value;
			return true;
		}
	return false;
}

/* Every address of the three stretches the ranges cover, against in_ranges(). */
static size_t
overlay_wrong(const struct ds_geo_table *t, const struct ds_geo_compiled *c, bool by_prefix)
{
	static const uint32_t from[] = {0x00000000, 0x09ffff00, 0xfffffe00};
	static const uint32_t count[] = {0x100, 0x600, 0x200};
	size_t bad = 0;

	for (size_t s = 0; s < 3; s++) {
		for (uint32_t k = 0; k < count[s]; k += 64) {
			uint32_t a[64], v;
			uint64_t hops[64];
			struct ds_src_geo g[64];

			for (uint32_t x = 0; x < 64; x++)
				a[x] = from[s] + k + x;
			ds_geo_lookup4_bulk(t, a, hops, g, 64);
			for (uint32_t x = 0; x < 64; x++) {
				bool as = in_ranges(c->asn_ranges, c->n_asn_ranges, a[x], &v);
				uint32_t want_as = as ? c->asns[v] : DS_ASN_UNROUTED;
				uint16_t want_cc = as ? c->asn_cc[v] : DS_CC_UNROUTED;

				if (by_prefix)
					want_cc = in_ranges(c->cc_ranges, c->n_cc_ranges, a[x], &v) ?
							  (uint16_t)v : DS_CC_UNROUTED;
				if ((g[x].asn != want_as || g[x].cc != want_cc) && bad++ < 3)
					printf("  %08x: AS %u country %u, want %u %u\n", a[x],
					       g[x].asn, g[x].cc, want_as, want_cc);
			}
		}
	}
	return bad;
}

static void
test_overlay(void)
{
	uint32_t asns[10];
	uint16_t asn_cc[10];
	struct ds_geo_compiled c = {.asns = asns, .asn_cc = asn_cc, .n_asns = 10};

	printf("AS and country ranges laid over each other\n");
	asns[0] = DS_ASN_BOGON;
	asn_cc[0] = DS_CC_BOGON;
	for (uint32_t i = 1; i < 10; i++) {
		asns[i] = 64500 + i;
		asn_cc[i] = (uint16_t)(100 + i);
	}
	for (int order = 0; order < 2; order++) {
		c.asn_ranges = (struct ds_geo_range *)(uintptr_t)(order ? overlay_b : overlay_a);
		c.n_asn_ranges = order ? N_OVERLAY_B : N_OVERLAY_A;
		c.cc_ranges = (struct ds_geo_range *)(uintptr_t)(order ? overlay_a : overlay_b);
		c.n_cc_ranges = order ? N_OVERLAY_A : N_OVERLAY_B;
		for (int by_prefix = 0; by_prefix <= 1; by_prefix++) {
			struct ds_geo_table *t = ds_geo_table_create(&c, by_prefix, -1,
								     200 + 2 * order + by_prefix, 0);

			CHECK(t != NULL && t->packed == (by_prefix != 0), "table %d/%d", order,
			      by_prefix);
			if (t == NULL)
				continue;
			CHECK(overlay_wrong(t, &c, by_prefix) == 0, "ranges %s, by_prefix %d",
			      order ? "b/a" : "a/b", by_prefix);
			ds_geo_table_free(t);
		}
	}
	c.n_asns = DS_GEO_HOP_NO_AS + 1;
	CHECK(ds_geo_table_create(&c, true, -1, 204, 0) == NULL && rte_errno == E2BIG,
	      "more ASes than a packed next hop holds");
}

int
main(int argc, char **argv)
{
	char prefix[64], file[4200];
	char *eal[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "2048",
		       "--log-level=lib.eal:error", prefix, NULL};
	const char *shared = getenv("DS_SHARED_DATA");
	struct ref_lpm pfx2as = {0};
	struct ref_ranges iploc_as = {0}, iploc_cc = {0}, rir = {0};
	struct ds_config_geo_source cs[4];
	struct ds_geo_table *t;
	uint64_t x = 0x853c49e6748fea9bULL;
	size_t n_pcap;

	(void)argc;
	snprintf(data, sizeof(data), "%s", shared ? shared : "../shared/data");
	snprintf(prefix, sizeof(prefix), "--file-prefix=ds-test-geo-%d", getpid());
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		printf("EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}

	printf("bad arguments\n");
	{
		struct ds_geo_compiled big = {.n_asns = 1u << 24};

		CHECK(ds_geo_table_create(&big, false, -1, 99, 0) == NULL && rte_errno == E2BIG,
		      "more ASes than a next hop holds");
	}
	test_overlay();

	snprintf(file, sizeof(file), "%s/geo/routeviews-rv2-20240406.pfx2as.gz", data);
	if (access(file, R_OK) != 0) {
		printf("SKIP: no geo data at %s/geo (%d failure%s before)\n", data, failures,
		       failures == 1 ? "" : "s");
		return failures ? 1 : 77;
	}

	addrs = malloc((N_RANDOM + 100000) * sizeof(uint32_t));
	snprintf(file, sizeof(file), "%s/pcap/lbnl_scanNG_23-tcp.pcap", data);
	pcap_sources(file);
	n_pcap = n_addrs;
	for (int i = 0; i < N_RANDOM; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		addrs[n_addrs++] = (uint32_t)(x >> 16);
	}
	printf("addresses: %zu pcap sources + %d random\n", n_pcap, N_RANDOM);
	CHECK(n_pcap == 1557, "pcap sources %zu", n_pcap);

	rir_asn_cc = malloc((1u << 22) * sizeof(uint16_t));
	for (uint32_t i = 0; i < (1u << 22); i++)
		rir_asn_cc[i] = DS_CC_UNKNOWN;
	snprintf(file, sizeof(file), "%s/geo/routeviews-rv2-20240406.pfx2as.gz", data);
	read_pfx2as(file, &pfx2as);
	snprintf(file, sizeof(file), "%s/geo/asn-ipv4-num.csv", data);
	read_iploc(file, false, &iploc_as);
	snprintf(file, sizeof(file), "%s/geo/asn-country-ipv4-num.csv", data);
	read_iploc(file, true, &iploc_cc);
	for (const char *const *r = (const char *const[]){"delegated-afrinic-extended-20230323",
			"delegated-lacnic-extended-20230323", "delegated-apnic-extended-20160131",
			NULL}; *r != NULL; r++) {
		snprintf(file, sizeof(file), "%s/geo/%s", data, *r);
		read_rir(file, &rir);
	}
	ref_ranges_sort(&rir);

	/* caida-pfx2as: AS by longest prefix (the brute-force LPM check). */
	cs[0] = source(DS_GEO_CAIDA_PFX2AS, "routeviews-rv2-20240406.pfx2as.gz", DS_GEO_PREFIX_ASN);
	t = build(cs, 1, false, -1, 1);
	CHECK(t != NULL, "pfx2as table");
	if (t != NULL) {
		printf("  pfx2as: %u ASes, %u prefixes in rte_fib, %.1f MiB, built in %.0f ms\n",
		       t->n_asns - 1, t->asn_prefixes, (double)t->fib_bytes / (1 << 20),
		       (double)t->build_ns / 1e6);
		compare("caida-pfx2as, AS", t, &pfx2as, NULL, CC_OF_AS_NONE, NULL);
		ds_geo_table_free(t);
	}

	/* ip-location-db-asn: AS by range. */
	cs[0] = source(DS_GEO_IPLOC_ASN, "asn-ipv4-num.csv", DS_GEO_PREFIX_ASN);
	t = build(cs, 1, false, -1, 2);
	CHECK(t != NULL, "ip-location-db-asn table");
	if (t != NULL) {
		compare("ip-location-db-asn, AS", t, NULL, &iploc_as, CC_OF_AS_NONE, NULL);
		ds_geo_table_free(t);
	}

	/* ip-location-db-country, country_source prefix. */
	cs[0] = source(DS_GEO_IPLOC_COUNTRY, "asn-country-ipv4-num.csv", DS_GEO_PREFIX_COUNTRY);
	t = build(cs, 1, true, -1, 3);
	CHECK(t != NULL, "ip-location-db-country table");
	if (t != NULL) {
		compare("ip-location-db-country, country by prefix", t, NULL, NULL, CC_BY_PREFIX,
			&iploc_cc);
		ds_geo_table_free(t);
	}

	/* rir-delegated (three registries), country_source prefix: ipv4 records. */
	cs[0] = source(DS_GEO_RIR_DELEGATED, "delegated-afrinic-extended-20230323",
		       DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY);
	cs[1] = source(DS_GEO_RIR_DELEGATED, "delegated-lacnic-extended-20230323",
		       DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY);
	cs[2] = source(DS_GEO_RIR_DELEGATED, "delegated-apnic-extended-20160131",
		       DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY);
	t = build(cs, 3, true, -1, 4);
	CHECK(t != NULL, "rir table");
	if (t != NULL) {
		compare("rir-delegated, country by prefix", t, NULL, NULL, CC_BY_PREFIX, &rir);
		ds_geo_table_free(t);
	}

	/* country_source asn: pfx2as for the AS, the RIR asn records for its country. */
	cs[3] = cs[2];
	cs[2] = cs[1];
	cs[1] = cs[0];
	cs[0] = source(DS_GEO_CAIDA_PFX2AS, "routeviews-rv2-20240406.pfx2as.gz", DS_GEO_PREFIX_ASN);
	t = build(cs, 4, false, ds_cc_index("JP"), 5);
	CHECK(t != NULL, "pfx2as + rir table");
	if (t != NULL) {
		struct ds_src_geo *g = malloc(n_addrs * sizeof(*g));
		size_t home_bad = 0;

		compare("caida-pfx2as + rir-delegated, country by AS", t, &pfx2as, NULL,
			CC_OF_AS_RIR, NULL);
		lookup_all(t, g);
		for (size_t i = 0; i < n_addrs; i++)
			home_bad += g[i].home != (g[i].cc >= DS_CC_CODES ? DS_HOME_UNKNOWN :
						  g[i].cc == ds_cc_index("JP") ? DS_HOME_DOMESTIC :
										  DS_HOME_OVERSEAS);
		CHECK(home_bad == 0, "home_country JP: %zu addresses misclassified", home_bad);
		free(g);
		ds_geo_table_free(t);
	}

	/* Layers: pfx2as first, ip-location-db where pfx2as has nothing. */
	cs[0] = source(DS_GEO_CAIDA_PFX2AS, "routeviews-rv2-20240406.pfx2as.gz", DS_GEO_PREFIX_ASN);
	cs[1] = source(DS_GEO_IPLOC_ASN, "asn-ipv4-num.csv", DS_GEO_PREFIX_ASN);
	t = build(cs, 2, false, -1, 6);
	CHECK(t != NULL, "layered table");
	if (t != NULL) {
		compare("caida-pfx2as then ip-location-db-asn, AS", t, &pfx2as, &iploc_as,
			CC_OF_AS_NONE, NULL);
		ds_geo_table_free(t);
	}
	/*
	 * The benchmark's geo: AS by pfx2as and country by ip-location-db's
	 * ranges, packed into one table whose next hops carry both.
	 */
	cs[0] = source(DS_GEO_CAIDA_PFX2AS, "routeviews-rv2-20240406.pfx2as.gz", DS_GEO_PREFIX_ASN);
	cs[1] = source(DS_GEO_IPLOC_COUNTRY, "asn-country-ipv4-num.csv", DS_GEO_PREFIX_COUNTRY);
	t = build(cs, 2, true, -1, 7);
	CHECK(t != NULL && t->packed, "pfx2as + ip-location-db-country table");
	if (t != NULL) {
		printf("  packed: %u prefixes in rte_fib, %.1f MiB, built in %.0f ms\n",
		       t->asn_prefixes, (double)t->fib_bytes / (1 << 20),
		       (double)t->build_ns / 1e6);
		compare("caida-pfx2as + ip-location-db-country, country by prefix", t, &pfx2as,
			NULL, CC_BY_PREFIX, &iploc_cc);
		ds_geo_table_free(t);
	}
	/* Everything freed, so that LeakSanitizer sees only the library's leaks. */
	ref_lpm_free(&pfx2as);
	ref_ranges_free(&iploc_as);
	ref_ranges_free(&iploc_cc);
	ref_ranges_free(&rir);
	free(rir_asn_cc);
	free(addrs);
	rte_eal_cleanup();
	printf("%s (%d failure%s)\n", failures ? "FAIL" : "PASS", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
