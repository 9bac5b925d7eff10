/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Tests of the feed lookup (lib/feed) on real rte_lpm / rte_lpm6 tables, so
 * EAL runs, without hugepages or PCI. The reference for the bulk lookups is
 * a linear longest-prefix scan over the configured prefixes.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/resource.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "ds_feed.h"

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

static struct ds_prefix
pfx(const char *s)
{
	struct ds_prefix p;

	memset(&p, 0, sizeof(p));
	if (ds_prefix_parse(s, &p) != 0) {
		printf("bad prefix in test: %s\n", s);
		exit(1);
	}
	return p;
}

static void
add_feed(struct ds_config *cfg, const char *name, const char *const *prefixes, uint64_t ports)
{
	struct ds_config_feed *f = &cfg->feeds[cfg->n_feeds++];
	uint32_t n = 0;

	while (prefixes[n] != NULL)
		n++;
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->prefixes = calloc(n, sizeof(*f->prefixes));
	f->n_prefixes = n;
	f->port_mask = ports;
	for (uint32_t i = 0; i < n; i++)
		f->prefixes[i] = pfx(prefixes[i]);
}

/* Forget the feeds (freeing what add_feed() allocated), so LeakSanitizer stays quiet. */
static void
drop_feeds(struct ds_config *cfg)
{
	for (uint32_t f = 0; f < cfg->n_feeds; f++)
		free(cfg->feeds[f].prefixes);
	cfg->n_feeds = 0;
}

/* Minor page faults of this process so far. */
static long
minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Linear longest-prefix match over the configuration: the reference. */
static uint32_t
reference4(const struct ds_config *cfg, uint32_t ip, uint32_t port, bool any_port)
{
	int best_len = -1;
	uint32_t best = DS_FEED_NONE;

	for (uint32_t f = 0; f < cfg->n_feeds; f++) {
		for (uint32_t i = 0; i < cfg->feeds[f].n_prefixes; i++) {
			const struct ds_prefix *p = &cfg->feeds[f].prefixes[i];
			uint32_t net = (uint32_t)p->addr[0] << 24 | (uint32_t)p->addr[1] << 16 |
				       (uint32_t)p->addr[2] << 8 | p->addr[3];
			/* IPv6 prefixes are longer than 32: no IPv4 mask for them. */
			uint32_t mask = p->family != 4 ? 0 : p->len ? ~0u << (32 - p->len) : 0;

			if (p->family == 4 && (ip & mask) == net && (int)p->len > best_len) {
				best_len = p->len;
				best = f;
			}
		}
	}
	if (best != DS_FEED_NONE && !any_port && !(cfg->feeds[best].port_mask >> port & 1))
		return DS_FEED_NONE;
	return best;
}

int
main(int argc, char **argv)
{
	char prefix[64];
	char *eal[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "512",
		       "--log-level=lib.eal:error", prefix, NULL};
	static const char *const wide[] = {"198.18.0.0/15", "2001:db8::/32", NULL};
	static const char *const narrow[] = {"198.18.7.0/24", "198.19.255.255/32",
					     "2001:db8:1::/48", NULL};
	static const char *const other[] = {"203.0.113.0/24", NULL};
	static const char *const all[] = {"0.0.0.0/0", "::/0", NULL};
	struct ds_config *cfg = calloc(1, sizeof(*cfg));
	struct ds_feed_table *t, *t_any, *t_all;
	uint32_t ips[1000], got[1000];
	uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	uint64_t x = 88172645463325252ULL;

	(void)argc;
	snprintf(prefix, sizeof(prefix), "--file-prefix=ds-test-feed-%d", getpid());
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		printf("EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}

	printf("bad arguments\n");
	t = ds_feed_table_create(cfg, false, "ds_t0", 0);
	CHECK(t == NULL && rte_errno == EINVAL, "no feeds must be rejected");

	add_feed(cfg, "wide", wide, 1u << 0);           /* carried by port 0 only */
	add_feed(cfg, "narrow", narrow, 3u);            /* ports 0 and 1 */
	add_feed(cfg, "other", other, 1u << 1);         /* port 1 only */
	t = ds_feed_table_create(cfg, false, "ds_t1", 0);
	t_any = ds_feed_table_create(cfg, true, "ds_t2", 0);
	CHECK(t != NULL && t_any != NULL, "create: %s", rte_strerror(rte_errno));
	if (t == NULL || t_any == NULL)
		return 1;
	CHECK(ds_feed_table_create(cfg, false, "ds_t1", 0) == NULL && rte_errno == EEXIST,
	      "a name in use is refused");

	/*
	 * A table's first level is 64 MiB, of which its few prefixes write a
	 * handful of pages. The create reads the rest in, so lookups anywhere
	 * (one address in each 4 KiB of it, in both tables) take no page fault;
	 * without that, 32 785 for the two.
	 */
	printf("IPv4: lookups over the whole address space fault no page in\n");
	{
		static uint32_t sweep[1u << 14], hops[1u << 14];
		long before;

		for (uint32_t i = 0; i < (1u << 14); i++)
			sweep[i] = i << 18;
		before = minor_faults();
		ds_feed_lookup4_bulk(t, sweep, hops, 1u << 14, 0);
		ds_feed_lookup4_bulk(t_any, sweep, hops, 1u << 14, 0);
		CHECK(minor_faults() - before < 64, "%ld page faults in 2 x 16384 lookups",
		      minor_faults() - before);
	}

	printf("IPv4: most specific prefix wins, ports restrict\n");
	{
		struct {
			uint32_t ip, port, feed, feed_any;
		} cases[] = {
			{0xc6120001, 0, 0, 0},                  /* 198.18.0.1 wide */
			{0xc6120001, 1, DS_FEED_NONE, 0},       /* wide not on port 1 */
			{0xc6120705, 1, 1, 1},                  /* 198.18.7.5 narrow */
			{0xc613ffff, 0, 1, 1},                  /* 198.19.255.255/32 */
			{0xc613fffe, 0, 0, 0},                  /* its neighbour: wide */
			{0xcb007101, 1, 2, 2},                  /* 203.0.113.1 other */
			{0xcb007101, 0, DS_FEED_NONE, 2},
			{0x08080808, 0, DS_FEED_NONE, DS_FEED_NONE},
			{0xc6140000, 0, DS_FEED_NONE, DS_FEED_NONE}, /* 198.20.0.0 just out */
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			uint32_t f, fa;

			ds_feed_lookup4_bulk(t, &cases[i].ip, &f, 1, cases[i].port);
			ds_feed_lookup4_bulk(t_any, &cases[i].ip, &fa, 1, cases[i].port);
			CHECK(f == cases[i].feed && fa == cases[i].feed_any,
			      "case %zu: %08x port %u -> %u/%u, want %u/%u", i, cases[i].ip,
			      cases[i].port, f, fa, cases[i].feed, cases[i].feed_any);
		}
	}

	printf("IPv4 bulk lookups == linear reference (1000 addresses, both ports)\n");
	for (uint32_t port = 0; port < 2; port++) {
		uint32_t bad = 0;

		for (int i = 0; i < 1000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Half near the prefixes, half anywhere. */
			ips[i] = i % 2 ? (uint32_t)x : 0xc6120000u | ((uint32_t)x & 0x1ffff);
		}
		ds_feed_lookup4_bulk(t, ips, got, 1000, port);
		for (int i = 0; i < 1000; i++)
			bad += got[i] != reference4(cfg, ips[i], port, false);
		CHECK(bad == 0, "port %u: %u of 1000 differ", port, bad);
	}

	printf("IPv6\n");
	CHECK(ds_feed_lookup6(t, v6, 0) == 1, "2001:db8:1::1 is narrow");
	v6[5] = 2;
	CHECK(ds_feed_lookup6(t, v6, 0) == 0, "2001:db8:2::1 is wide");
	CHECK(ds_feed_lookup6(t, v6, 1) == DS_FEED_NONE, "wide is not on port 1");
	v6[3] = 0xb9;
	CHECK(ds_feed_lookup6(t, v6, 0) == DS_FEED_NONE, "2001:db9:: is outside");

	printf("/0 covers everything\n");
	drop_feeds(cfg);
	add_feed(cfg, "all", all, ~0ULL);
	t_all = ds_feed_table_create(cfg, false, "ds_t3", 0);
	CHECK(t_all != NULL, "create /0");
	if (t_all != NULL) {
		uint32_t edge[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff}, f[5];

		ds_feed_lookup4_bulk(t_all, edge, f, 5, 7);
		for (int i = 0; i < 5; i++)
			CHECK(f[i] == 0, "%08x not in 0.0.0.0/0", edge[i]);
		CHECK(ds_feed_lookup6(t_all, v6, 3) == 0, "v6 not in ::/0");
		v6[0] = 0xff;
		CHECK(ds_feed_lookup6(t_all, v6, 3) == 0, "ff.. not in ::/0");
	}
	ds_feed_table_free(t);
	ds_feed_table_free(t_any);
	ds_feed_table_free(t_all);
	ds_feed_table_free(NULL);
	drop_feeds(cfg);
	free(cfg);
	rte_eal_cleanup();
	printf("%s (%d failure%s)\n", failures ? "FAIL" : "PASS", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
