/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * libFuzzer target: one geo data loader (lib/geo/ds_geo_load.c), then the
 * compiler on what it loaded.
 *
 * Built once per format (meson.build passes -DFUZZ_GEO_FORMAT=<enum
 * ds_geo_format>), so each loader gets its own corpus, its own coverage
 * figures and its own run of executions. The input is
 *
 *   byte 0   options: bit 0 gzip the rest before loading (the reader's
 *            inflate path on well-formed streams); bits 1-3 the `provides`
 *            subset (masked with what the format gives, 0 = all); bit 4
 *            ds_geo_compile() with DS_GEO_DERIVE_ASN_COUNTRY
 *   byte 1-  the file; for maxmind-country the blocks file, a NUL byte and
 *            the locations file
 *
 * With -DFUZZ_GEO_RAW (fuzz_geo_pfx2as_gz) there is no options byte: the
 * whole input is the file, seeded with gzip files, so the fuzzer mutates the
 * compressed bytes themselves (bad headers, cut streams, wrong check values):
 * the reader must refuse them with a message, never load a shorter table.
 *
 * A load that succeeds is compiled, and the compiled tables are checked for
 * what ds_geo_table.c relies on when it fills rte_lpm: sorted, disjoint
 * ranges, AS indexes inside the AS table, country indexes below DS_CC_MAX,
 * and a range split into prefixes that cover exactly the range.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "ds_geo.h"
#include "fuzz_file.h"

#ifndef FUZZ_GEO_FORMAT
#error "FUZZ_GEO_FORMAT must name the enum ds_geo_format to fuzz"
#endif

#define OPT_GZIP 0x01
#define OPT_PROVIDES_SHIFT 1
#define OPT_DERIVE 0x10

static struct fuzz_file file, locations;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_open(&file, "fuzz_geo");
	fuzz_file_open(&locations, "fuzz_geo_locations");
	return 0;
}

/* Write @p data gzip-compressed into @p f (a real gzip member, as gzip(1) writes). */
static void set_gzip(struct fuzz_file *f, const uint8_t *data, size_t size)
{
	z_stream z;
	uLong cap = compressBound((uLong)size) + 64;
	uint8_t *out = malloc(cap);

	if (out == NULL)
		abort();
	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer instead of zlib's. */
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		abort();
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)size;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		abort();
	fuzz_file_set(f, out, z.total_out);
	deflateEnd(&z);
	free(out);
}

/* Sorted, disjoint, values in range: what the rte_lpm loader assumes. */
static void check_ranges(const struct ds_geo_range *r, size_t n, uint32_t max_value)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i].first > r[i].last || r[i].value >= max_value)
			abort();
		if (i > 0 && r[i - 1].last >= r[i].first)
			abort();
	}
}

struct cover {
	uint64_t next;  /* the first address the next prefix must start at */
};

static int cover_one(uint32_t addr, uint8_t depth, void *arg)
{
	struct cover *c = arg;
	uint64_t size = 1ull << (32 - depth);

	if (depth > 32 || addr != c->next || (addr & (size - 1)) != 0)
		abort();
	c->next = addr + size;
	return 0;
}

/* The prefixes of a range must tile it exactly, in order. */
static void check_prefixes(const struct ds_geo_range *r, size_t n)
{
	/* A few ranges per input: the split is the same code for every range. */
	for (size_t i = 0; i < n && i < 8; i++) {
		struct cover c = { r[i].first };

		if (ds_geo_range_prefixes(r[i].first, r[i].last, cover_one, &c) != 0 ||
		    c.next != (uint64_t)r[i].last + 1)
			abort();
	}
}

static void check_compiled(const struct ds_geo_compiled *c)
{
	check_ranges(c->asn_ranges, c->n_asn_ranges, c->n_asns);
	check_ranges(c->cc_ranges, c->n_cc_ranges, DS_CC_MAX);
	if (c->n_asns < 1 || c->asns[0] != DS_ASN_BOGON)
		abort();
	for (uint32_t i = 0; i < c->n_asns; i++) {
		if (c->asn_cc[i] >= DS_CC_MAX)
			abort();
		/* The AS table is sorted after slot 0: lookups bisect it. */
		if (i > 1 && c->asns[i - 1] >= c->asns[i])
			abort();
	}
	check_prefixes(c->asn_ranges, c->n_asn_ranges);
	check_prefixes(c->cc_ranges, c->n_cc_ranges);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum ds_geo_format fmt = FUZZ_GEO_FORMAT;
	uint32_t can = ds_geo_format_provides(fmt), provides = can;
	const struct ds_geo_source *srcs[1];
	struct ds_geo_compiled comp;
	struct ds_geo_source src;
	struct ds_geo_error err;
	uint32_t flags = DS_GEO_DERIVE_ASN_COUNTRY;
	const uint8_t *nul;
	uint8_t opt = 0;
	int rc;

#ifndef FUZZ_GEO_RAW
	if (size < 1)
		return 0;
	opt = data[0];
	data++;
	size--;
	if ((opt >> OPT_PROVIDES_SHIFT & 7 & can) != 0)
		provides = opt >> OPT_PROVIDES_SHIFT & 7 & can;
	flags = opt & OPT_DERIVE ? DS_GEO_DERIVE_ASN_COUNTRY : 0;
#endif
	if (fmt == DS_GEO_MAXMIND_COUNTRY) {
		/* blocks \0 locations */
		nul = memchr(data, '\0', size);
		fuzz_file_set(&locations, nul != NULL ? nul + 1 : data,
			      nul != NULL ? size - (size_t)(nul + 1 - data) : 0);
		if (nul != NULL)
			size = (size_t)(nul - data);
	}
	if (opt & OPT_GZIP)
		set_gzip(&file, data, size);
	else
		fuzz_file_set(&file, data, size);

	rc = ds_geo_load(fmt, file.path, fmt == DS_GEO_MAXMIND_COUNTRY ? locations.path : NULL,
			 provides, &src, &err);
	if (rc != 0) {
		/* A refusal says why; nothing is left allocated. */
		if (err.msg[0] == '\0' || src.asn != NULL || src.cc != NULL || src.asn_cc != NULL)
			abort();
		return 0;
	}
	if ((src.n_asn != 0 && !(provides & DS_GEO_PREFIX_ASN)) ||
	    (src.n_cc != 0 && !(provides & DS_GEO_PREFIX_COUNTRY)) ||
	    (src.n_asn_cc != 0 && !(provides & DS_GEO_ASN_COUNTRY)))
		abort();
	srcs[0] = &src;
	rc = ds_geo_compile(srcs, 1, flags, &comp);
	if (rc == 0) {
		check_compiled(&comp);
		ds_geo_compiled_free(&comp);
	} else if (rc != -E2BIG && rc != -ENOMEM) {
		abort();
	}
	ds_geo_source_free(&src);
	return 0;
}
