/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Geo benchmark: what a full-size prefix table costs the sensor.
 *
 * Loads CAIDA's RouteViews prefix2as (the 998,042-prefix file in
 * ../shared/data/geo, or a file given as argv[1]), compiles it, builds the
 * rte_fib table and prints: load, compile and build time; rte_fib memory and
 * the process's resident memory; and the cost of rte_fib_lookup_bulk() per
 * address, in TSC cycles, for random addresses (every lookup a cache miss,
 * like a spoofed flood) and for addresses from a small set (a typical
 * darknet minute). Figures, not assertions: timing is noisy on shared
 * machines.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "ds_geo.h"
#include "ds_geo_table.h"

#define N_ADDRS (1u << 22)
#define BURST 32

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kib;
}

static double
cycles_per_lookup(const struct ds_geo_table *t, uint32_t *addrs, uint32_t n)
{
	struct ds_src_geo out[BURST];
	uint64_t hops[BURST];
	uint64_t sum = 0, t0;

	t0 = rte_rdtsc_precise();
	for (uint32_t i = 0; i + BURST <= n; i += BURST) {
		ds_geo_lookup4_bulk(t, addrs + i, hops, out, BURST);
		sum += out[0].asn + out[BURST - 1].cc;
	}
	t0 = rte_rdtsc_precise() - t0;
	if (sum == 42)
		printf(" ");    /* keep the results alive */
	return (double)t0 / n;
}

int
main(int argc, char **argv)
{
	char path[4096], prefix[64];
	char *eal[] = {argv[0], "--no-huge", "--no-pci", "--no-shconf", "-m", "1024",
		       "--log-level=lib.eal:error", prefix, NULL};
	const char *shared = getenv("DS_SHARED_DATA");
	struct ds_geo_source src;
	const struct ds_geo_source *srcs[1] = {&src};
	struct ds_geo_compiled c;
	struct ds_geo_error err;
	struct ds_geo_table *t;
	uint32_t *addrs;
	uint64_t x = 0x2545f4914f6cdd1dULL;
	double t0, t_load, t_compile;
	long rss0, rss1;

	if (argc > 1)
		snprintf(path, sizeof(path), "%s", argv[1]);
	else
		snprintf(path, sizeof(path), "%s/geo/routeviews-rv2-20240406.pfx2as.gz",
			 shared ? shared : "../shared/data");
	if (access(path, R_OK) != 0) {
		printf("SKIP: no prefix2as file at %s\n", path);
		return 77;
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=ds-bench-geo-%d", getpid());
	if (rte_eal_init((int)(sizeof(eal) / sizeof(eal[0])) - 1, eal) < 0) {
		printf("EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rss0 = rss_kib();
	t0 = now_s();
	if (ds_geo_load(DS_GEO_CAIDA_PFX2AS, path, NULL, DS_GEO_PREFIX_ASN, &src, &err) != 0) {
		printf("%s\n", err.msg);
		return 1;
	}
	t_load = now_s() - t0;
	t0 = now_s();
	if (ds_geo_compile(srcs, 1, 0, &c) != 0)
		return 1;
	t_compile = now_s() - t0;
	t = ds_geo_table_create(&c, false, -1, 0, 0);
	if (t == NULL) {
		printf("table: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	rss1 = rss_kib();

	printf("prefix2as: %s\n", path);
	printf("  prefixes read          %zu (%zu lines)\n", src.n_asn, src.lines);
	printf("  load                   %.3f s\n", t_load);
	printf("  compile                %.3f s (%zu disjoint ranges, %u ASes)\n", t_compile,
	       c.n_asn_ranges, c.n_asns - 1);
	printf("  rte_fib build          %.3f s (%u prefixes)\n", (double)t->build_ns / 1e9,
	       t->asn_prefixes);
	printf("  rte_fib memory         %.1f MiB\n", (double)t->fib_bytes / (1 << 20));
	printf("  resident memory        +%.1f MiB (load + compile + table)\n",
	       (double)(rss1 - rss0) / 1024);
	ds_geo_source_free(&src);

	addrs = malloc(N_ADDRS * sizeof(uint32_t));
	for (uint32_t i = 0; i < N_ADDRS; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		addrs[i] = (uint32_t)(x >> 11);
	}
	cycles_per_lookup(t, addrs, N_ADDRS);   /* warm up */
	printf("  bulk lookup, random    %.1f cycles/address (%u addresses, bursts of %d)\n",
	       cycles_per_lookup(t, addrs, N_ADDRS), N_ADDRS, BURST);
	for (uint32_t i = 0; i < N_ADDRS; i++)
		addrs[i] = addrs[i % 1024];
	printf("  bulk lookup, 1024 srcs %.1f cycles/address\n",
	       cycles_per_lookup(t, addrs, N_ADDRS));
	printf("  TSC                    %.2f GHz\n", (double)rte_get_tsc_hz() / 1e9);
	free(addrs);
	ds_geo_table_free(t);
	ds_geo_compiled_free(&c);
	rte_eal_cleanup();
	return 0;
}
