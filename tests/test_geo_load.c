/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of the geo data loaders (lib/geo/ds_geo_load.c).
 *
 * Every case writes a small hand-written file (and, for maxmind-country, its
 * locations file) into a temporary directory, loads it and compares the
 * outcome with the table: for valid files every range, AS->country entry,
 * the line count and the skipped count; for broken ones the complete
 * message, "PATH:LINE: FIELD: what was expected, got "VALUE"", so a wrong
 * line, field name or wording fails the case. The expected messages were
 * written by hand from the rules in docs/GEO.md, not pasted from the
 * loader's output. Some cases are written through zlib (gzopen "wb") and
 * then cut short or given a bad check value: that must be an error, never
 * a shorter table.
 *
 * With $DS_SHARED_DATA/geo present, the real public files are loaded too
 * and compared with a second, deliberately plain reader in this file
 * (gzgets/fgets + sscanf/strsep), and with counts taken with awk (see
 * real_rir()). Load times are printed.
 *
 * Prints one line per case; exits 0 when all pass, 1 otherwise.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "ds_geo.h"

static int failures;
static char tmpdir[PATH_MAX];

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

struct tcase {
	const char *suite;
	const char *name;
	bool ok;
};

static void tc_start(struct tcase *t, const char *suite, const char *name)
{
	t->suite = suite;
	t->name = name;
	t->ok = true;
}

__attribute__((format(printf, 2, 3)))
static void tc_fail(struct tcase *t, const char *fmt, ...)
{
	va_list ap;

	printf("    %s: %s: ", t->suite, t->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	t->ok = false;
}

static void tc_end(struct tcase *t)
{
	printf("%s %s: %s\n", t->ok ? "ok  " : "FAIL", t->suite, t->name);
	if (!t->ok)
		failures++;
}

static void expect_int(struct tcase *t, const char *what, long long got, long long want)
{
	if (got != want)
		tc_fail(t, "%s = %lld, want %lld", what, got, want);
}

static void expect_str(struct tcase *t, const char *what, const char *got, const char *want)
{
	if (got == NULL || strcmp(got, want) != 0)
		tc_fail(t, "%s =\n        \"%s\", want\n        \"%s\"", what, got ? got : "(null)",
			want);
}

#define EXPECT_INT(t, expr, want) expect_int(t, #expr, (long long)(expr), (long long)(want))
#define EXPECT_STR(t, expr, want) expect_str(t, #expr, (expr), (want))

/* Host-order IPv4 address. */
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
/* Country index, as ds_cc_index() computes it. */
#define CC(a, b) ((uint32_t)((a) - 'A') * 26 + (uint32_t)((b) - 'A'))

/* dir/name into buf (PATH_MAX bytes); a test directory that long is a setup error. */
static void join(char *buf, const char *dir, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", dir, name);

	if (n < 0 || n >= PATH_MAX) {
		fprintf(stderr, "path too long: %s/%s\n", dir, name);
		exit(1);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes len bytes to path; returns 0 or -1. */
static int write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (f == NULL)
		return -1;
	if (fwrite(text, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/* Writes text through zlib, as a gzip file. */
static int write_gzip(const char *path, const char *text, size_t len)
{
	gzFile gz = gzopen(path, "wb");
	int rc = 0;

	if (gz == NULL)
		return -1;
	if (len > 0 && gzwrite(gz, text, (unsigned int)len) != (int)len)
		rc = -1;
	if (gzclose(gz) != Z_OK)
		rc = -1;
	return rc;
}

static long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Flips the first byte of the CRC-32 in the gzip trailer (8 bytes from the end). */
static int corrupt_crc(const char *path)
{
	long size = file_size(path);
	FILE *f = fopen(path, "r+b");
	int c, rc = -1;

	if (f == NULL)
		return -1;
	if (size >= 18 && fseek(f, size - 8, SEEK_SET) == 0 && (c = fgetc(f)) != EOF &&
	    fseek(f, size - 8, SEEK_SET) == 0 && fputc(c ^ 0xff, f) != EOF)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

/*
 * Newlines zlib's raw inflate can recover from a cut gzip file: the loader
 * must have read exactly these lines and report the next one as broken.
 */
static long inflatable_newlines(const char *path)
{
	unsigned char in[65536], out[65536];
	z_stream z = {0};
	FILE *f = fopen(path, "rb");
	size_t n;
	long nl = 0;
	int zr;

	if (f == NULL)
		return -1;
	n = fread(in, 1, sizeof(in), f);
	fclose(f);
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -1;
	z.next_in = in;
	z.avail_in = (unsigned int)n;
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		zr = inflate(&z, Z_NO_FLUSH);
		for (unsigned char *p = out; p < z.next_out; p++)
			nl += *p == '\n';
	} while (zr == Z_OK && z.avail_out == 0);
	inflateEnd(&z);
	return nl;
}

/* Replaces $F, $L and $D by the data path, the locations path and the temp dir; $N by n. */
static void subst(char *buf, size_t size, const char *tmpl, const char *data, const char *loc,
		  long n)
{
	size_t o = 0;

	for (const char *p = tmpl; *p != '\0' && o + 1 < size; p++) {
		const char *put = NULL;
		char num[32];

		if (p[0] == '$' && p[1] == 'F')
			put = data;
		else if (p[0] == '$' && p[1] == 'L')
			put = loc;
		else if (p[0] == '$' && p[1] == 'D')
			put = tmpdir;
		else if (p[0] == '$' && p[1] == 'N') {
			snprintf(num, sizeof(num), "%ld", n);
			put = num;
		}
		if (put == NULL) {
			buf[o++] = *p;
			continue;
		}
		o += (size_t)snprintf(buf + o, size - o, "%s", put);
		if (o >= size)
			o = size - 1;
		p++;
	}
	buf[o] = '\0';
}

static bool source_is_zero(const struct ds_geo_source *s)
{
	return s->asn == NULL && s->n_asn == 0 && s->cc == NULL && s->n_cc == 0 &&
	       s->asn_cc == NULL && s->n_asn_cc == 0 && s->lines == 0 && s->skipped == 0;
}

static void expect_ranges(struct tcase *t, const char *what, const struct ds_geo_range *got,
			  size_t n_got, const struct ds_geo_range *want, size_t n_want)
{
	if (n_got != n_want) {
		tc_fail(t, "%s: %zu ranges, want %zu", what, n_got, n_want);
		return;
	}
	for (size_t i = 0; i < n_got; i++) {
		if (got[i].first != want[i].first || got[i].last != want[i].last ||
		    got[i].value != want[i].value) {
			tc_fail(t, "%s[%zu] = %08x-%08x %u, want %08x-%08x %u", what, i,
				got[i].first, got[i].last, got[i].value, want[i].first,
				want[i].last, want[i].value);
			return;
		}
	}
}

static void expect_asn_cc(struct tcase *t, const struct ds_geo_asn_cc *got, size_t n_got,
			  const struct ds_geo_asn_cc *want, size_t n_want)
{
	if (n_got != n_want) {
		tc_fail(t, "asn_cc: %zu entries, want %zu", n_got, n_want);
		return;
	}
	for (size_t i = 0; i < n_got; i++) {
		if (got[i].asn != want[i].asn || got[i].cc != want[i].cc) {
			tc_fail(t, "asn_cc[%zu] = AS%u %u, want AS%u %u", i, got[i].asn,
				got[i].cc, want[i].asn, want[i].cc);
			return;
		}
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Bad arguments                                                                              */
/* ------------------------------------------------------------------------------------------ */

enum arg_path { P_DATA, P_NULL, P_EMPTY, P_MISSING, P_DIR };

struct args_case {
	const char *name;
	int fmt;
	enum arg_path path;
	const char *loc;        /* "$F"-style template or NULL */
	uint32_t provides;
	bool no_out, no_err;
	int rc;
	const char *msg;        /* NULL: not checked (no err to write to) */
};

static const struct args_case args_cases[] = {
	{"format past the enum", DS_GEO_FORMAT_MAX, P_DATA, NULL, DS_GEO_PREFIX_ASN, false, false,
	 -EINVAL, "ds_geo_load: unknown format 6"},
	{"negative format", -1, P_DATA, NULL, DS_GEO_PREFIX_ASN, false, false,
	 -EINVAL, "ds_geo_load: unknown format -1"},
	{"path NULL", DS_GEO_CAIDA_PFX2AS, P_NULL, NULL, DS_GEO_PREFIX_ASN, false, false,
	 -EINVAL, "ds_geo_load: caida-pfx2as: no file given"},
	{"path empty", DS_GEO_IPLOC_ASN, P_EMPTY, NULL, DS_GEO_PREFIX_ASN, false, false,
	 -EINVAL, "ds_geo_load: ip-location-db-asn: no file given"},
	{"provides nothing", DS_GEO_CAIDA_PFX2AS, P_DATA, NULL, 0, false, false,
	 -EINVAL, "$F: caida-pfx2as: nothing to provide"},
	{"provides what pfx2as lacks", DS_GEO_CAIDA_PFX2AS, P_DATA, NULL,
	 DS_GEO_PREFIX_ASN | DS_GEO_PREFIX_COUNTRY, false, false,
	 -EINVAL, "$F: caida-pfx2as cannot provide prefix_country"},
	{"provides asn_country from ip-location-db-country", DS_GEO_IPLOC_COUNTRY, P_DATA, NULL,
	 DS_GEO_ASN_COUNTRY, false, false,
	 -EINVAL, "$F: ip-location-db-country cannot provide asn_country"},
	{"provides prefix_asn from rir-delegated", DS_GEO_RIR_DELEGATED, P_DATA, NULL,
	 DS_GEO_PREFIX_ASN | DS_GEO_ASN_COUNTRY, false, false,
	 -EINVAL, "$F: rir-delegated cannot provide prefix_asn"},
	{"provides an unknown bit", DS_GEO_RIR_DELEGATED, P_DATA, NULL,
	 DS_GEO_ASN_COUNTRY | 0x10, false, false,
	 -EINVAL, "$F: rir-delegated cannot provide 0x10"},
	{"maxmind-country without locations", DS_GEO_MAXMIND_COUNTRY, P_DATA, NULL,
	 DS_GEO_PREFIX_COUNTRY, false, false,
	 -EINVAL, "$F: maxmind-country needs its locations file"},
	{"maxmind-country with empty locations", DS_GEO_MAXMIND_COUNTRY, P_DATA, "",
	 DS_GEO_PREFIX_COUNTRY, false, false,
	 -EINVAL, "$F: maxmind-country needs its locations file"},
	{"out NULL", DS_GEO_CAIDA_PFX2AS, P_DATA, NULL, DS_GEO_PREFIX_ASN, true, false,
	 -EINVAL, NULL},
	{"err NULL", DS_GEO_CAIDA_PFX2AS, P_DATA, NULL, DS_GEO_PREFIX_ASN, false, true,
	 -EINVAL, NULL},
	{"missing file", DS_GEO_CAIDA_PFX2AS, P_MISSING, NULL, DS_GEO_PREFIX_ASN, false, false,
	 -ENOENT, "$D/missing: cannot read: No such file or directory"},
	{"a directory", DS_GEO_IPLOC_COUNTRY, P_DIR, NULL, DS_GEO_PREFIX_COUNTRY, false, false,
	 -EISDIR, "$D: cannot read: Is a directory"},
	{"missing locations file", DS_GEO_MAXMIND_COUNTRY, P_DATA, "$D/missing",
	 DS_GEO_PREFIX_COUNTRY, false, false,
	 -ENOENT, "$D/missing: cannot read: No such file or directory"},
};

static void test_args(void)
{
	char data[PATH_MAX], loc[PATH_MAX], want[DS_GEO_ERR_MAX * 2];
	struct tcase t;

	join(data, tmpdir, "args.txt");
	for (size_t i = 0; i < sizeof(args_cases) / sizeof(args_cases[0]); i++) {
		const struct args_case *c = &args_cases[i];
		const char *path = data;
		struct ds_geo_source out;
		struct ds_geo_error err;
		int rc;

		tc_start(&t, "args", c->name);
		if (c->path == P_NULL)
			path = NULL;
		else if (c->path == P_EMPTY)
			path = "";
		else if (c->path == P_MISSING)
			path = "$D/missing";
		else if (c->path == P_DIR)
			path = "$D";
		if (path != NULL && path[0] == '$') {
			static char p[PATH_MAX];

			subst(p, sizeof(p), path, data, "", 0);
			path = p;
		}
		if (c->loc != NULL)
			subst(loc, sizeof(loc), c->loc, data, "", 0);
		/* Garbage in: the loader must overwrite, not free, what out held. */
		memset(&out, 0x5a, sizeof(out));
		snprintf(err.msg, sizeof(err.msg), "untouched");
		rc = ds_geo_load((enum ds_geo_format)c->fmt, path, c->loc != NULL ? loc : NULL,
				 c->provides, c->no_out ? NULL : &out, c->no_err ? NULL : &err);
		EXPECT_INT(&t, rc, c->rc);
		if (c->msg != NULL) {
			subst(want, sizeof(want), c->msg, data, loc, 0);
			EXPECT_STR(&t, err.msg, want);
		}
		if (!c->no_out && !c->no_err && !source_is_zero(&out))
			tc_fail(&t, "out not zeroed");
		tc_end(&t);
	}

	tc_start(&t, "args", "ds_geo_source_free(NULL) and twice");
	{
		struct ds_geo_source s = {0};

		ds_geo_source_free(NULL);
		s.asn = malloc(sizeof(*s.asn));
		s.n_asn = 1;
		ds_geo_source_free(&s);
		if (!source_is_zero(&s))
			tc_fail(&t, "not zeroed");
		ds_geo_source_free(&s);
	}
	tc_end(&t);
}

/* ------------------------------------------------------------------------------------------ */
/* Hand-written files                                                                         */
/* ------------------------------------------------------------------------------------------ */

enum how {
	PLAIN,          /* written as is */
	GZIP,           /* through gzopen("wb") */
	GZIP_CUT,       /* gzip without its 8-byte trailer */
	GZIP_CRC,       /* gzip with a wrong CRC-32 */
	GZIP_HALF,      /* gzip cut to half its size; $N = 1 + lines zlib can still recover */
};

struct load_case {
	const char *suite;
	const char *name;
	enum ds_geo_format fmt;
	uint32_t provides;
	const char *text;
	const char *loc;        /* maxmind-country: the locations file */
	enum how how;
	int rc;
	const char *msg;        /* $F data file, $L locations file, $N see GZIP_HALF */
	const struct ds_geo_range *asn;
	size_t n_asn;
	const struct ds_geo_range *cc;
	size_t n_cc;
	const struct ds_geo_asn_cc *asn_cc;
	size_t n_asn_cc;
	size_t lines;
	size_t skipped;
};

#define NARGS(type, ...) (sizeof((const type[]){__VA_ARGS__}) / sizeof(type))
#define ASN(...) .asn = (const struct ds_geo_range[]){__VA_ARGS__}, \
	.n_asn = NARGS(struct ds_geo_range, __VA_ARGS__)
#define CCS(...) .cc = (const struct ds_geo_range[]){__VA_ARGS__}, \
	.n_cc = NARGS(struct ds_geo_range, __VA_ARGS__)
#define ASN_CC(...) .asn_cc = (const struct ds_geo_asn_cc[]){__VA_ARGS__}, \
	.n_asn_cc = NARGS(struct ds_geo_asn_cc, __VA_ARGS__)

/* Shorthands for the many one-line error cases. */
#define PFX(name, text, msg) {"caida-pfx2as", name, DS_GEO_CAIDA_PFX2AS, DS_GEO_PREFIX_ASN, \
	text, NULL, PLAIN, -EINVAL, msg, .asn = NULL}
#define IPA(name, text, msg) {"ip-location-db-asn", name, DS_GEO_IPLOC_ASN, DS_GEO_PREFIX_ASN, \
	text, NULL, PLAIN, -EINVAL, msg, .asn = NULL}
#define IPC(name, text, msg) {"ip-location-db-country", name, DS_GEO_IPLOC_COUNTRY, \
	DS_GEO_PREFIX_COUNTRY, text, NULL, PLAIN, -EINVAL, msg, .asn = NULL}
#define RIR_HDR "2.3|apnic|20160131|73407|19830613|20160129|+1000\n"
#define RIR(name, text, msg) {"rir-delegated", name, DS_GEO_RIR_DELEGATED, \
	DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY, RIR_HDR text, NULL, PLAIN, -EINVAL, msg, \
	.asn = NULL}
#define MMA_HDR "network,autonomous_system_number,autonomous_system_organization\n"
#define MMA(name, text, msg) {"maxmind-asn", name, DS_GEO_MAXMIND_ASN, DS_GEO_PREFIX_ASN, \
	text, NULL, PLAIN, -EINVAL, msg, .asn = NULL}
#define MMC_HDR6 "network,geoname_id,registered_country_geoname_id," \
	"represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider"
#define MMC_HDR MMC_HDR6 ",is_anycast\n"
#define LOC_HDR "geoname_id,locale_code,continent_code,continent_name,country_iso_code," \
	"country_name,is_in_european_union\n"
#define LOCS LOC_HDR \
	"1861060,en,AS,Asia,JP,Japan,0\n" \
	"2077456,en,OC,Oceania,AU,Australia,0\n" \
	"6255147,en,AS,Asia,,,0\n" \
	"6252001,en,NA,\"North America\",US,\"United States\",0\n" \
	"7626844,en,NA,\"North America\",BQ,\"Bonaire, Sint Eustatius, and Saba\",0\n"
#define MMC(name, text, loc, msg) {"maxmind-country", name, DS_GEO_MAXMIND_COUNTRY, \
	DS_GEO_PREFIX_COUNTRY, text, loc, PLAIN, -EINVAL, msg, .asn = NULL}

/* The rir-delegated sample: comments, header, summaries, every kind of record. */
#define RIR_GOOD \
	"# APNIC statistics\n" \
	"#\n" \
	RIR_HDR \
	"apnic|*|asn|*|3|summary\n" \
	"apnic|*|ipv4|*|5|summary\n" \
	"apnic|JP|asn|2500|3|19860101|allocated|A91\n" \
	"apnic|AU|ipv4|1.0.0.0|256|20110811|assigned|A9\n" \
	"apnic|CN|ipv4|1.0.1.0|768|20110414|allocated|A9|e-stats|more\n" \
	"apnic|JP|ipv6|2001:200::|35|19990813|allocated|A9\n" \
	"\n" \
	"apnic||asn|135062|519||available|\n" \
	"apnic|ZZ|ipv4|1.0.4.0|1024||reserved|\n" \
	"apnic||ipv4|1.0.8.0|256|20200101|allocated|\n" \
	"apnic|ZZ|asn|64512|1|20200101|assigned|\n" \
	"apnic|kr|ipv4|255.255.255.0|256|20200101|allocated|X\r\n" \
	"apnic|US|asn|4294967295|1|20200101|allocated"

#define RIR_GOOD_CC CCS({IP(1, 0, 0, 0), IP(1, 0, 0, 255), CC('A', 'U')}, \
	{IP(1, 0, 1, 0), IP(1, 0, 3, 255), CC('C', 'N')}, \
	{IP(255, 255, 255, 0), IP(255, 255, 255, 255), CC('K', 'R')})
#define RIR_GOOD_ASN_CC ASN_CC({2500, CC('J', 'P')}, {2501, CC('J', 'P')}, {2502, CC('J', 'P')}, \
	{4294967295u, CC('U', 'S')})

#define PFX_GOOD \
	"1.0.0.0\t24\t13335\n" \
	"1.0.4.0\t22\t38803\n" \
	"1.2.4.0\t24\t24151_24409\r\n" \
	"\n" \
	"67.14.0.0 \t17\t209_3356,6223\n" \
	"103.20.204.0\t22\t45458,134240_45458,65000\n" \
	"2001:db8::\t32\t64496\n" \
	"0.0.0.0\t0\t0\n" \
	"8.8.8.8\t32\t4294967295"
#define PFX_GOOD_ASN ASN({IP(1, 0, 0, 0), IP(1, 0, 0, 255), 13335}, \
	{IP(1, 0, 4, 0), IP(1, 0, 7, 255), 38803}, \
	{IP(1, 2, 4, 0), IP(1, 2, 4, 255), 24151}, \
	{IP(67, 14, 0, 0), IP(67, 14, 127, 255), 209}, \
	{IP(103, 20, 204, 0), IP(103, 20, 207, 255), 45458}, \
	{0, 0xffffffffu, 0}, \
	{IP(8, 8, 8, 8), IP(8, 8, 8, 8), 4294967295u})

#define GZ_TEXT "1.0.0.0\t24\t13335\n1.0.4.0\t22\t38803\n1.2.4.0\t24\t24151_24409\n"

static const struct load_case load_cases[] = {
	/* caida-pfx2as ----------------------------------------------------------------- */
	{"caida-pfx2as", "valid: MOAS, AS set, CRLF, blanks, IPv6, /0, /32, no final newline",
	 DS_GEO_CAIDA_PFX2AS, DS_GEO_PREFIX_ASN, PFX_GOOD, NULL, PLAIN, 0, "",
	 PFX_GOOD_ASN, .lines = 9, .skipped = 1},
	{"caida-pfx2as", "valid, gzip copy", DS_GEO_CAIDA_PFX2AS, DS_GEO_PREFIX_ASN, PFX_GOOD,
	 NULL, GZIP, 0, "", PFX_GOOD_ASN, .lines = 9, .skipped = 1},
	{"caida-pfx2as", "empty file", DS_GEO_CAIDA_PFX2AS, DS_GEO_PREFIX_ASN, "", NULL, PLAIN,
	 0, "", .asn = NULL},
	PFX("address with three parts", "1.0.0.0\t24\t1\n\n1.0.0\t24\t1\n",
	    "$F:3: prefix: expected a dotted IPv4 address, got \"1.0.0\""),
	PFX("address part over 255", "1.0.256.0\t24\t1\n",
	    "$F:1: prefix: expected a dotted IPv4 address, got \"1.0.256.0\""),
	PFX("address part with a leading zero", "01.0.0.0\t8\t1\n",
	    "$F:1: prefix: expected a dotted IPv4 address, got \"01.0.0.0\""),
	PFX("address with a trailing dot", "1.0.0.0.\t24\t1\n",
	    "$F:1: prefix: expected a dotted IPv4 address, got \"1.0.0.0.\""),
	PFX("length 33", "1.0.0.0\t33\t1\n",
	    "$F:1: length: expected a prefix length 0-32, got \"33\""),
	PFX("length not a number", "1.0.0.0\t/24\t1\n",
	    "$F:1: length: expected a prefix length 0-32, got \"/24\""),
	PFX("length negative", "1.0.0.0\t-1\t1\n",
	    "$F:1: length: expected a prefix length 0-32, got \"-1\""),
	PFX("host bits set", "1.0.4.0\t22\t38803\n1.0.5.0\t22\t38803\n",
	    "$F:2: prefix: expected host bits zero for /22, got \"1.0.5.0\""),
	PFX("host bits set in a /0", "0.0.0.1\t0\t1\n",
	    "$F:1: prefix: expected host bits zero for /0, got \"0.0.0.1\""),
	PFX("ASN over 32 bits", "1.0.0.0\t24\t4294967296\n",
	    "$F:1: asn: expected AS numbers 0-4294967295 separated by '_' or ',', "
	    "got \"4294967296\""),
	PFX("second MOAS ASN over 32 bits", "1.0.0.0\t24\t13335_99999999999\n",
	    "$F:1: asn: expected AS numbers 0-4294967295 separated by '_' or ',', "
	    "got \"13335_99999999999\""),
	PFX("ASN with AS prefix", "1.0.0.0\t24\tAS13335\n",
	    "$F:1: asn: expected AS numbers 0-4294967295 separated by '_' or ',', "
	    "got \"AS13335\""),
	PFX("ASN asdot", "1.0.0.0\t24\t1.10\n",
	    "$F:1: asn: expected AS numbers 0-4294967295 separated by '_' or ',', got \"1.10\""),
	PFX("trailing MOAS separator", "1.0.0.0\t24\t13335_\n",
	    "$F:1: asn: expected AS numbers 0-4294967295 separated by '_' or ',', "
	    "got \"13335_\""),
	PFX("empty AS set member", "1.0.0.0\t24\t1,,2\n",
	    "$F:1: asn: expected AS numbers 0-4294967295 separated by '_' or ',', got \"1,,2\""),
	PFX("control byte and quote are escaped", "1.0.0.0\t24\t\"1\x01\"\n",
	    "$F:1: asn: expected AS numbers 0-4294967295 separated by '_' or ',', "
	    "got \"\\\"1\\x01\\\"\""),
	PFX("long value cut at 40 bytes", "1.0.0.0\t24\t"
	    "12345678901234567890123456789012345678901234567890\n",
	    "$F:1: asn: expected AS numbers 0-4294967295 separated by '_' or ',', "
	    "got \"1234567890123456789012345678901234567890...\""),
	PFX("two fields", "1.0.0.0\t24\n", "$F:1: fields: expected 3 fields, got 2"),
	PFX("four fields", "1.0.0.0\t24\t1\t2\n", "$F:1: fields: expected 3 fields, got 4"),
	PFX("blank line is not empty", "1.0.0.0\t24\t1\n \n",
	    "$F:2: fields: expected 3 fields, got 0"),
	{"caida-pfx2as", "gzip without its trailer", DS_GEO_CAIDA_PFX2AS, DS_GEO_PREFIX_ASN,
	 GZ_TEXT, NULL, GZIP_CUT, -EINVAL,
	 "$F:4: gzip: expected a complete, intact gzip stream, got \"unexpected end of file\"",
	 .asn = NULL},
	/*
	 * A bad check value is found by the gzread() call that inflates the last
	 * bytes, and zlib drops what that call produced: for a file this small,
	 * that is the first read, so no line was complete.
	 */
	{"caida-pfx2as", "gzip with a bad CRC", DS_GEO_CAIDA_PFX2AS, DS_GEO_PREFIX_ASN,
	 GZ_TEXT, NULL, GZIP_CRC, -EINVAL,
	 "$F:1: gzip: expected a complete, intact gzip stream, got \"incorrect data check\"",
	 .asn = NULL},
	{"caida-pfx2as", "gzip cut in half", DS_GEO_CAIDA_PFX2AS, DS_GEO_PREFIX_ASN,
	 GZ_TEXT GZ_TEXT GZ_TEXT GZ_TEXT GZ_TEXT GZ_TEXT GZ_TEXT GZ_TEXT, NULL, GZIP_HALF, -EINVAL,
	 "$F:$N: gzip: expected a complete, intact gzip stream, got \"unexpected end of file\"",
	 .asn = NULL},

	/* ip-location-db-asn ----------------------------------------------------------- */
	{"ip-location-db-asn", "valid: quoted org, escaped quotes, numeric, IPv6, empty org",
	 DS_GEO_IPLOC_ASN, DS_GEO_PREFIX_ASN,
	 "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n"
	 "1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd\r\n"
	 "2.26.200.0,2.26.215.255,201907,\"LLC \"\"SPUTNIK\"\"\"\n"
	 "\n"
	 "16777216,16777471,13335,numeric\n"
	 "2001:db8::,2001:db8::ffff,64496,Documentation\n"
	 "9.9.9.9,9.9.9.9,0,\n"
	 "3.0.0.0,50331903,16509,\"mixed, \"\"forms\"\"\"\n"
	 "0,4294967295,4294967295,\"all\"",
	 NULL, PLAIN, 0, "",
	 ASN({IP(1, 0, 0, 0), IP(1, 0, 0, 255), 13335},
	     {IP(1, 0, 4, 0), IP(1, 0, 7, 255), 38803},
	     {IP(2, 26, 200, 0), IP(2, 26, 215, 255), 201907},
	     {IP(1, 0, 0, 0), IP(1, 0, 0, 255), 13335},
	     {IP(9, 9, 9, 9), IP(9, 9, 9, 9), 0},
	     {IP(3, 0, 0, 0), IP(3, 0, 0, 255), 16509},
	     {0, 0xffffffffu, 4294967295u}),
	 .lines = 9, .skipped = 1},
	IPA("start with three parts", "1.0.0,1.0.0.255,1,x\n",
	    "$F:1: start: expected a dotted IPv4 address or a number 0-4294967295, got \"1.0.0\""),
	IPA("start number over 32 bits", "4294967296,4294967296,1,x\n",
	    "$F:1: start: expected a dotted IPv4 address or a number 0-4294967295, "
	    "got \"4294967296\""),
	IPA("start empty", ",1.0.0.255,1,x\n",
	    "$F:1: start: expected a dotted IPv4 address or a number 0-4294967295, got \"\""),
	IPA("end bad", "1.0.0.0,1.0.0.256,1,x\n",
	    "$F:1: end: expected a dotted IPv4 address or a number 0-4294967295, "
	    "got \"1.0.0.256\""),
	IPA("end below start", "1.0.0.0,1.0.0.255,1,x\n1.0.0.255,1.0.0.0,1,x\n",
	    "$F:2: end: expected an address not below start, got \"1.0.0.0\""),
	IPA("ASN not a number", "1.0.0.0,1.0.0.255,AS13335,x\n",
	    "$F:1: asn: expected an AS number 0-4294967295, got \"AS13335\""),
	IPA("ASN over 32 bits", "1.0.0.0,1.0.0.255,4294967296,x\n",
	    "$F:1: asn: expected an AS number 0-4294967295, got \"4294967296\""),
	IPA("ASN empty", "1.0.0.0,1.0.0.255,,x\n",
	    "$F:1: asn: expected an AS number 0-4294967295, got \"\""),
	IPA("three fields", "1.0.0.0,1.0.0.255,13335\n", "$F:1: fields: expected 4 fields, got 3"),
	IPA("unquoted comma in org", "1.0.0.0,1.0.0.255,13335,Cloudflare, Inc.\n",
	    "$F:1: fields: expected 4 fields, got 5"),
	IPA("unterminated quote", "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\n",
	    "$F:1: org: expected a quoted field to end with '\"' before ',' or the line end, "
	    "got \"\\\"Cloudflare, Inc.\""),
	IPA("text after a closing quote", "1.0.0.0,1.0.0.255,13335,\"Cloud\"flare\n",
	    "$F:1: org: expected a quoted field to end with '\"' before ',' or the line end, "
	    "got \"\\\"Cloud\\\"flare\""),

	/* ip-location-db-country ------------------------------------------------------- */
	{"ip-location-db-country", "valid: dotted, numeric, lower case, ZZ, IPv6",
	 DS_GEO_IPLOC_COUNTRY, DS_GEO_PREFIX_COUNTRY,
	 "1.0.0.0,1.0.0.255,AU\n"
	 "1.0.1.0,1.0.3.255,cn\n"
	 "16778240,16779263,JP\r\n"
	 "5.5.5.0,5.5.5.255,ZZ\n"
	 "::,::ffff,US\n"
	 "223.255.255.0,223.255.255.255,AU",
	 NULL, PLAIN, 0, "",
	 CCS({IP(1, 0, 0, 0), IP(1, 0, 0, 255), CC('A', 'U')},
	     {IP(1, 0, 1, 0), IP(1, 0, 3, 255), CC('C', 'N')},
	     {IP(1, 0, 4, 0), IP(1, 0, 7, 255), CC('J', 'P')},
	     {IP(5, 5, 5, 0), IP(5, 5, 5, 255), DS_CC_UNKNOWN},
	     {IP(223, 255, 255, 0), IP(223, 255, 255, 255), CC('A', 'U')}),
	 .lines = 6, .skipped = 1},
	{"ip-location-db-country", "valid, gzip copy", DS_GEO_IPLOC_COUNTRY,
	 DS_GEO_PREFIX_COUNTRY, "1.0.0.0,1.0.0.255,AU\n16777472,16778239,CN\n", NULL, GZIP, 0, "",
	 CCS({IP(1, 0, 0, 0), IP(1, 0, 0, 255), CC('A', 'U')},
	     {IP(1, 0, 1, 0), IP(1, 0, 3, 255), CC('C', 'N')}),
	 .lines = 2},
	IPC("country of three letters", "1.0.0.0,1.0.0.255,AUS\n",
	    "$F:1: cc: expected a two-letter country code, got \"AUS\""),
	IPC("country with a digit", "1.0.0.0,1.0.0.255,A1\n",
	    "$F:1: cc: expected a two-letter country code, got \"A1\""),
	IPC("country empty", "1.0.0.0,1.0.0.255,\n",
	    "$F:1: cc: expected a two-letter country code, got \"\""),
	IPC("end below start", "1.0.0.1,16777216,AU\n",
	    "$F:1: end: expected an address not below start, got \"16777216\""),
	IPC("start bad", "1.0.0.0/24,1.0.0.255,AU\n",
	    "$F:1: start: expected a dotted IPv4 address or a number 0-4294967295, "
	    "got \"1.0.0.0/24\""),
	IPC("four fields", "1.0.0.0,1.0.0.255,AU,x\n", "$F:1: fields: expected 3 fields, got 4"),
	IPC("two fields", "1.0.0.0,AU\n", "$F:1: fields: expected 3 fields, got 2"),

	/* rir-delegated ---------------------------------------------------------------- */
	{"rir-delegated", "valid: comments, summaries, all record kinds", DS_GEO_RIR_DELEGATED,
	 DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY, RIR_GOOD, NULL, PLAIN, 0, "",
	 RIR_GOOD_CC, RIR_GOOD_ASN_CC, .lines = 16, .skipped = 5},
	{"rir-delegated", "valid, gzip copy", DS_GEO_RIR_DELEGATED,
	 DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY, RIR_GOOD, NULL, GZIP, 0, "",
	 RIR_GOOD_CC, RIR_GOOD_ASN_CC, .lines = 16, .skipped = 5},
	{"rir-delegated", "asn_country only: ipv4 records not kept", DS_GEO_RIR_DELEGATED,
	 DS_GEO_ASN_COUNTRY, RIR_GOOD, NULL, PLAIN, 0, "",
	 RIR_GOOD_ASN_CC, .lines = 16, .skipped = 5},
	{"rir-delegated", "prefix_country only: asn records not kept", DS_GEO_RIR_DELEGATED,
	 DS_GEO_PREFIX_COUNTRY, RIR_GOOD, NULL, PLAIN, 0, "",
	 RIR_GOOD_CC, .lines = 16, .skipped = 5},
	{"rir-delegated", "version 2 header, the whole address space", DS_GEO_RIR_DELEGATED,
	 DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY,
	 "2|afrinic|20230323|1|00000000|20230323|00000\n"
	 "afrinic|ZA|ipv4|0.0.0.0|4294967296|20230323|allocated|F36B9F4B\n",
	 NULL, PLAIN, 0, "", CCS({0, 0xffffffffu, CC('Z', 'A')}), .lines = 2},
	{"rir-delegated", "version not a number", DS_GEO_RIR_DELEGATED, DS_GEO_ASN_COUNTRY,
	 "v2|apnic|20160131|1|19830613|20160129|+1000\n", NULL, PLAIN,
	 -EINVAL, "$F:1: header: expected a version line "
	 "\"2|registry|serial|records|startdate|enddate|UTCoffset\", "
	 "got \"v2|apnic|20160131|1|19830613|20160129|+1...\"", .asn = NULL},
	{"rir-delegated", "record before the version line", DS_GEO_RIR_DELEGATED,
	 DS_GEO_ASN_COUNTRY, "# c\napnic|JP|asn|2500|1|19860101|allocated|A9\n", NULL, PLAIN,
	 -EINVAL, "$F:2: header: expected a version line "
	 "\"2|registry|serial|records|startdate|enddate|UTCoffset\", "
	 "got \"apnic|JP|asn|2500|1|19860101|allocated|A...\"", .asn = NULL},
	{"rir-delegated", "only comments", DS_GEO_RIR_DELEGATED, DS_GEO_ASN_COUNTRY,
	 "# c\n#\n", NULL, PLAIN, -EINVAL, "$F:3: header: expected a version line "
	 "\"2|registry|serial|records|startdate|enddate|UTCoffset\", got \"\"", .asn = NULL},
	{"rir-delegated", "skipped records are not parsed further", DS_GEO_RIR_DELEGATED,
	 DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY,
	 RIR_HDR "apnic|ZZ|ipv4|bogus|0||reserved|\napnic|XYZ|asn|x|y||available\n", NULL, PLAIN,
	 0, "", .asn = NULL, .lines = 3, .skipped = 2},
	{"rir-delegated", "bad ipv4 record is an error when only asn_country is kept",
	 DS_GEO_RIR_DELEGATED, DS_GEO_ASN_COUNTRY,
	 RIR_HDR "apnic|JP|ipv4|1.0.0.0|0|19860101|allocated|A9\n", NULL, PLAIN, -EINVAL,
	 "$F:2: value: expected an address count 1-4294967296, got \"0\"", .asn = NULL},
	RIR("six fields", "apnic|JP|asn|2500|1|19860101\n",
	    "$F:2: fields: expected at least 7 fields, got 6"),
	RIR("summary-like with a cc", "apnic|JP|asn|*|3|summary\n",
	    "$F:2: fields: expected at least 7 fields, got 6"),
	RIR("unknown type", "apnic|JP|asn32|2500|1|19860101|allocated|A9\n",
	    "$F:2: type: expected asn, ipv4 or ipv6, got \"asn32\""),
	RIR("unknown status", "apnic|JP|asn|2500|1|19860101|legacy|A9\n",
	    "$F:2: status: expected allocated, assigned, available or reserved, got \"legacy\""),
	RIR("empty status", "apnic|JP|ipv4|1.0.0.0|256|19860101||A9\n",
	    "$F:2: status: expected allocated, assigned, available or reserved, got \"\""),
	RIR("country code of three letters", "apnic|JPN|asn|2500|1|19860101|allocated|A9\n",
	    "$F:2: cc: expected a two-letter country code, got \"JPN\""),
	RIR("AS number with AS prefix", "apnic|JP|asn|AS2500|1|19860101|allocated|A9\n",
	    "$F:2: start: expected an AS number 0-4294967295, got \"AS2500\""),
	RIR("AS count 0", "apnic|JP|asn|2500|0|19860101|allocated|A9\n",
	    "$F:2: value: expected an AS count 1-65536, got \"0\""),
	RIR("AS count over the cap", "apnic|JP|asn|2500|65537|19860101|allocated|A9\n",
	    "$F:2: value: expected an AS count 1-65536, got \"65537\""),
	RIR("AS count past AS4294967295", "apnic|JP|asn|4294967295|2|19860101|allocated|A9\n",
	    "$F:2: value: expected an AS count that ends by AS4294967295, got \"2\""),
	RIR("ipv4 start with three parts", "apnic|JP|ipv4|1.0.0|256|19860101|allocated|A9\n",
	    "$F:2: start: expected a dotted IPv4 address, got \"1.0.0\""),
	RIR("ipv4 count 0", "apnic|JP|ipv4|1.0.0.0|0|19860101|allocated|A9\n",
	    "$F:2: value: expected an address count 1-4294967296, got \"0\""),
	RIR("ipv4 count over 2^32", "apnic|JP|ipv4|0.0.0.0|4294967297|19860101|allocated|A9\n",
	    "$F:2: value: expected an address count 1-4294967296, got \"4294967297\""),
	RIR("ipv4 count past 255.255.255.255",
	    "apnic|JP|ipv4|255.255.255.0|257|19860101|allocated|A9\n",
	    "$F:2: value: expected an address count that ends by 255.255.255.255, got \"257\""),
	RIR("ipv4 count not a number", "apnic|JP|ipv4|1.0.0.0|/24|19860101|allocated|A9\n",
	    "$F:2: value: expected an address count 1-4294967296, got \"/24\""),
	{"rir-delegated", "gzip without its trailer", DS_GEO_RIR_DELEGATED, DS_GEO_ASN_COUNTRY,
	 RIR_GOOD "\n", NULL, GZIP_CUT, -EINVAL,
	 "$F:17: gzip: expected a complete, intact gzip stream, got \"unexpected end of file\"",
	 .asn = NULL},

	/* maxmind-asn ------------------------------------------------------------------ */
	{"maxmind-asn", "valid: quoted org, CRLF, IPv6, /32", DS_GEO_MAXMIND_ASN, DS_GEO_PREFIX_ASN,
	 MMA_HDR
	 "1.0.0.0/24,13335,\"Cloudflare, Inc.\"\n"
	 "1.0.4.0/22,38803,\"Gtelecom Pty Ltd\"\r\n"
	 "2001:db8::/32,64496,Documentation\n"
	 "8.8.8.8/32,15169,GOOGLE",
	 NULL, PLAIN, 0, "",
	 ASN({IP(1, 0, 0, 0), IP(1, 0, 0, 255), 13335},
	     {IP(1, 0, 4, 0), IP(1, 0, 7, 255), 38803},
	     {IP(8, 8, 8, 8), IP(8, 8, 8, 8), 15169}),
	 .lines = 5, .skipped = 1},
	MMA("wrong header", "network,asn,org\n1.0.0.0/24,13335,x\n",
	    "$F:1: header: expected "
	    "\"network,autonomous_system_number,autonomous_system_organization\", "
	    "got \"network,asn,org\""),
	MMA("no header", "1.0.0.0/24,13335,x\n",
	    "$F:1: header: expected "
	    "\"network,autonomous_system_number,autonomous_system_organization\", "
	    "got \"1.0.0.0/24,13335,x\""),
	MMA("empty file", "",
	    "$F:1: header: expected "
	    "\"network,autonomous_system_number,autonomous_system_organization\", got \"\""),
	MMA("network without a length", MMA_HDR "1.0.0.0,13335,x\n",
	    "$F:2: network: expected an IPv4 network a.b.c.d/0-32, got \"1.0.0.0\""),
	MMA("network length 33", MMA_HDR "1.0.0.0/33,13335,x\n",
	    "$F:2: network: expected an IPv4 network a.b.c.d/0-32, got \"1.0.0.0/33\""),
	MMA("network address bad", MMA_HDR "1.0.0/24,13335,x\n",
	    "$F:2: network: expected an IPv4 network a.b.c.d/0-32, got \"1.0.0/24\""),
	MMA("network host bits set", MMA_HDR "1.0.0.1/24,13335,x\n",
	    "$F:2: network: expected host bits zero for /24, got \"1.0.0.1/24\""),
	MMA("ASN not a number", MMA_HDR "1.0.0.0/24,AS13335,x\n",
	    "$F:2: autonomous_system_number: expected an AS number 0-4294967295, "
	    "got \"AS13335\""),
	MMA("ASN over 32 bits", MMA_HDR "1.0.0.0/24,4294967296,x\n",
	    "$F:2: autonomous_system_number: expected an AS number 0-4294967295, "
	    "got \"4294967296\""),
	MMA("two fields", MMA_HDR "1.0.0.0/24,13335\n", "$F:2: fields: expected 3 fields, got 2"),

	/* maxmind-country -------------------------------------------------------------- */
	{"maxmind-country", "valid: registered country wins, fallback, continent, IPv6",
	 DS_GEO_MAXMIND_COUNTRY, DS_GEO_PREFIX_COUNTRY,
	 MMC_HDR
	 "1.0.0.0/24,2077456,2077456,,0,0,\n"
	 "1.0.1.0/24,1861060,6252001,,0,0,\n"
	 "1.0.2.0/23,,1861060,,0,0,\n"
	 "1.0.4.0/22,2077456,,,0,0,\n"
	 "1.0.8.0/21,,,,1,0,\n"
	 "1.0.16.0/20,1861060,6255147,,0,0,\n"
	 "2001:db8::/32,1861060,1861060,,0,0,\n"
	 "1.0.32.0/19,7626844,7626844,,0,0,1",
	 LOCS, PLAIN, 0, "",
	 CCS({IP(1, 0, 0, 0), IP(1, 0, 0, 255), CC('A', 'U')},
	     {IP(1, 0, 1, 0), IP(1, 0, 1, 255), CC('U', 'S')},
	     {IP(1, 0, 2, 0), IP(1, 0, 3, 255), CC('J', 'P')},
	     {IP(1, 0, 4, 0), IP(1, 0, 7, 255), CC('A', 'U')},
	     {IP(1, 0, 32, 0), IP(1, 0, 63, 255), CC('B', 'Q')}),
	 .lines = 9, .skipped = 3},
	{"maxmind-country", "valid, six columns (before is_anycast), gzip locations",
	 DS_GEO_MAXMIND_COUNTRY, DS_GEO_PREFIX_COUNTRY,
	 MMC_HDR6 "\n1.0.0.0/24,2077456,2077456,,0,0\n", LOCS, GZIP, 0, "",
	 CCS({IP(1, 0, 0, 0), IP(1, 0, 0, 255), CC('A', 'U')}), .lines = 2},
	MMC("wrong header", "network,geoname_id\n", LOCS,
	    "$F:1: header: expected \"" MMC_HDR6 "\" (optionally followed by \",is_anycast\"), "
	    "got \"network,geoname_id\""),
	MMC("seven fields under a six-column header", MMC_HDR6 "\n1.0.0.0/24,2077456,,,0,0,\n",
	    LOCS, "$F:2: fields: expected 6 fields, got 7"),
	MMC("unknown registered country", MMC_HDR "1.0.0.0/24,2077456,999,,0,0,\n", LOCS,
	    "$F:2: registered_country_geoname_id: expected a geoname id listed in $L, "
	    "got \"999\""),
	MMC("unknown geoname_id beside a known registered one",
	    MMC_HDR "1.0.0.0/24,2077456,2077456,,0,0,\n1.0.1.0/24,42,2077456,,0,0,\n", LOCS,
	    "$F:3: geoname_id: expected a geoname id listed in $L, got \"42\""),
	MMC("geoname_id not a number", MMC_HDR "1.0.0.0/24,x,,,0,0,\n", LOCS,
	    "$F:2: geoname_id: expected a geoname id 0-4294967295, got \"x\""),
	MMC("network host bits set", MMC_HDR "1.0.0.128/24,2077456,2077456,,0,0,\n", LOCS,
	    "$F:2: network: expected host bits zero for /24, got \"1.0.0.128/24\""),
	MMC("locations: wrong header", MMC_HDR, "geoname_id,locale_code\n",
	    "$L:1: header: expected \"geoname_id,locale_code,continent_code,continent_name,"
	    "country_iso_code,country_name,is_in_european_union\", got \"geoname_id,locale_code\""),
	MMC("locations: bad country code", MMC_HDR,
	    LOC_HDR "1861060,en,AS,Asia,JPN,Japan,0\n",
	    "$L:2: country_iso_code: expected a two-letter country code or nothing, got \"JPN\""),
	MMC("locations: six fields", MMC_HDR, LOC_HDR "1861060,en,AS,Asia,JP,Japan\n",
	    "$L:2: fields: expected 7 fields, got 6"),
	MMC("locations: id twice", MMC_HDR,
	    LOC_HDR "2077456,en,OC,Oceania,AU,Australia,0\n1861060,en,AS,Asia,JP,Japan,0\n"
	    "2077456,en,OC,Oceania,AU,Australia,0\n",
	    "$L:4: geoname_id: expected each id once, got \"2077456\" again (line 2)"),
	MMC("locations: unterminated quote", MMC_HDR,
	    LOC_HDR "6252001,en,NA,\"North America,US,United States,0\n",
	    "$L:2: continent_name: expected a quoted field to end with '\"' before ',' or the "
	    "line end, got \"\\\"North America,US,United States,0\""),
};

/* Writes one case's file(s); returns the $N of GZIP_HALF (or 0), -1 on failure. */
static long write_case(const struct load_case *c, const char *data, const char *loc)
{
	size_t len = strlen(c->text);
	long n = 0;

	if (c->loc != NULL) {
		/* maxmind-country's gzip variant compresses the locations file. */
		int rc = c->how == GZIP ? write_gzip(loc, c->loc, strlen(c->loc)) :
					  write_file(loc, c->loc, strlen(c->loc));

		if (rc != 0)
			return -1;
		if (c->how == GZIP)
			return write_file(data, c->text, len) == 0 ? 0 : -1;
	}
	if (c->how == PLAIN)
		return write_file(data, c->text, len) == 0 ? 0 : -1;
	if (write_gzip(data, c->text, len) != 0)
		return -1;
	if (c->how == GZIP_CUT && truncate(data, file_size(data) - 8) != 0)
		return -1;
	if (c->how == GZIP_CRC && corrupt_crc(data) != 0)
		return -1;
	if (c->how == GZIP_HALF) {
		if (truncate(data, file_size(data) / 2) != 0)
			return -1;
		n = inflatable_newlines(data);
		if (n < 0)
			return -1;
		n++;
	}
	return n;
}

static void test_load(void)
{
	char data[PATH_MAX], loc[PATH_MAX], want[DS_GEO_ERR_MAX * 2];
	struct tcase t;

	join(data, tmpdir, "data");
	join(loc, tmpdir, "locations.csv");
	for (size_t i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		const struct load_case *c = &load_cases[i];
		struct ds_geo_source out;
		struct ds_geo_error err;
		long n;
		int rc;

		tc_start(&t, c->suite, c->name);
		n = write_case(c, data, loc);
		if (n < 0) {
			tc_fail(&t, "cannot write %s: %s", data, strerror(errno));
			tc_end(&t);
			continue;
		}
		rc = ds_geo_load(c->fmt, data, c->loc != NULL ? loc : NULL, c->provides, &out,
				 &err);
		EXPECT_INT(&t, rc, c->rc);
		subst(want, sizeof(want), c->msg, data, loc, n);
		EXPECT_STR(&t, err.msg, want);
		if (c->how == GZIP_HALF && n < 2)
			tc_fail(&t, "the cut kept %ld lines: make the text longer", n - 1);
		if (rc != 0) {
			if (!source_is_zero(&out))
				tc_fail(&t, "out not zeroed after an error");
		} else {
			expect_ranges(&t, "asn", out.asn, out.n_asn, c->asn, c->n_asn);
			expect_ranges(&t, "cc", out.cc, out.n_cc, c->cc, c->n_cc);
			expect_asn_cc(&t, out.asn_cc, out.n_asn_cc, c->asn_cc, c->n_asn_cc);
			EXPECT_INT(&t, out.lines, c->lines);
			EXPECT_INT(&t, out.skipped, c->skipped);
		}
		ds_geo_source_free(&out);
		unlink(data);
		unlink(loc);
		tc_end(&t);
	}
}

/* Lines right at and just past the 64 KiB limit. */
static void test_long_lines(void)
{
	static const struct {
		const char *name;
		size_t len;
		const char *msg;
	} cases[] = {
		{"line of 65536 bytes is read", 65536, "$F:2: fields: expected 3 fields, got 1"},
		{"line of 65537 bytes is refused", 65537,
		 "$F:2: line: expected at most 65536 bytes, got a longer line"},
	};
	char data[PATH_MAX], want[DS_GEO_ERR_MAX * 2];
	struct tcase t;

	join(data, tmpdir, "long");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static const char first[] = "1.0.0.0\t24\t1\n";
		size_t len = sizeof(first) - 1 + cases[i].len + 1;
		char *text = malloc(len);
		struct ds_geo_source out;
		struct ds_geo_error err;
		int rc = -1;

		tc_start(&t, "caida-pfx2as", cases[i].name);
		if (text != NULL) {
			memcpy(text, first, sizeof(first) - 1);
			memset(text + sizeof(first) - 1, 'x', cases[i].len);
			text[len - 1] = '\n';
			rc = write_file(data, text, len);
		}
		free(text);
		if (rc != 0) {
			tc_fail(&t, "cannot write %s", data);
		} else {
			rc = ds_geo_load(DS_GEO_CAIDA_PFX2AS, data, NULL, DS_GEO_PREFIX_ASN, &out,
					 &err);
			EXPECT_INT(&t, rc, -EINVAL);
			subst(want, sizeof(want), cases[i].msg, data, "", 0);
			EXPECT_STR(&t, err.msg, want);
			ds_geo_source_free(&out);
		}
		unlink(data);
		tc_end(&t);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Real files                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* Loads a real file and prints its time; false (and a failed case) on error. */
static bool load_real(struct tcase *t, enum ds_geo_format fmt, const char *path,
		      uint32_t provides, struct ds_geo_source *out)
{
	struct ds_geo_error err;
	double t0 = now();
	int rc = ds_geo_load(fmt, path, NULL, provides, out, &err);

	printf("    %s: %.3f s, %zu lines, %zu asn, %zu cc, %zu asn_cc, %zu skipped\n",
	       strrchr(path, '/') + 1, now() - t0, out->lines, out->n_asn, out->n_cc,
	       out->n_asn_cc, out->skipped);
	if (rc != 0)
		tc_fail(t, "load: %d %s", rc, err.msg);
	return rc == 0;
}

/* The range of a.b.c.d/len in s, or NULL. */
static const struct ds_geo_range *find(const struct ds_geo_source *s, uint32_t first,
				       uint32_t last)
{
	for (size_t i = 0; i < s->n_asn; i++)
		if (s->asn[i].first == first && s->asn[i].last == last)
			return &s->asn[i];
	return NULL;
}

static void real_pfx2as(const char *dir)
{
	static const struct {
		uint32_t addr;
		unsigned int len;
		uint32_t asn;
	} known[] = {
		{IP(1, 0, 0, 0), 24, 13335},
		{IP(1, 2, 4, 0), 24, 24151},            /* 24151_24409 (MOAS) */
		{IP(67, 14, 0, 0), 17, 209},            /* 209_3356,6223,6224,19901 */
		{IP(103, 20, 204, 0), 22, 45458},       /* 45458,134240_45458,65000,134240 */
		{IP(223, 255, 254, 0), 24, 55415},      /* the last line */
	};
	char path[PATH_MAX], line[512];
	struct ds_geo_source s;
	struct tcase t;
	size_t i = 0;
	gzFile gz;

	tc_start(&t, "real", "routeviews-rv2-20240406.pfx2as.gz");
	join(path, dir, "routeviews-rv2-20240406.pfx2as.gz");
	if (!load_real(&t, DS_GEO_CAIDA_PFX2AS, path, DS_GEO_PREFIX_ASN, &s)) {
		tc_end(&t);
		return;
	}
	EXPECT_INT(&t, s.n_asn, 998042);
	EXPECT_INT(&t, s.lines, 998042);
	EXPECT_INT(&t, s.skipped, 0);
	for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
		uint32_t last = known[k].addr | (0xffffffffu >> known[k].len);
		const struct ds_geo_range *r = find(&s, known[k].addr, last);

		if (r == NULL || r->value != known[k].asn)
			tc_fail(&t, "%08x/%u: AS%u, want AS%u", known[k].addr, known[k].len,
				r != NULL ? r->value : 0, known[k].asn);
	}
	/* Every line again with sscanf: the first number of the ASN list. */
	gz = gzopen(path, "rb");
	while (gz != NULL && gzgets(gz, line, sizeof(line)) != NULL && t.ok) {
		unsigned int a, b, c, d, len;
		unsigned long asn;
		uint32_t first;

		if (sscanf(line, "%u.%u.%u.%u %u %lu", &a, &b, &c, &d, &len, &asn) != 6) {
			tc_fail(&t, "test reader cannot parse \"%s\"", line);
			break;
		}
		first = IP(a, b, c, d);
		if (i >= s.n_asn || s.asn[i].first != first ||
		    s.asn[i].last != (first | (len >= 32 ? 0 : 0xffffffffu >> len)) ||
		    s.asn[i].value != asn)
			tc_fail(&t, "entry %zu differs from line \"%s\"", i, line);
		i++;
	}
	if (gz != NULL)
		gzclose(gz);
	EXPECT_INT(&t, i, s.n_asn);
	ds_geo_source_free(&s);
	tc_end(&t);
}

/* A dotted and a numeric file must give the same table. */
static void real_iploc(const char *dir, enum ds_geo_format fmt, uint32_t provides,
		       const char *name, const char *name_num, size_t rows,
		       struct ds_geo_range first, struct ds_geo_range last)
{
	char path[PATH_MAX], path_num[PATH_MAX];
	struct ds_geo_source s, n;
	struct tcase t;
	bool ok1, ok2;

	tc_start(&t, "real", name);
	join(path, dir, name);
	join(path_num, dir, name_num);
	ok1 = load_real(&t, fmt, path, provides, &s);
	ok2 = load_real(&t, fmt, path_num, provides, &n);
	if (ok1 && ok2) {
		const struct ds_geo_range *a = fmt == DS_GEO_IPLOC_ASN ? s.asn : s.cc;
		const struct ds_geo_range *b = fmt == DS_GEO_IPLOC_ASN ? n.asn : n.cc;
		size_t na = fmt == DS_GEO_IPLOC_ASN ? s.n_asn : s.n_cc;
		size_t nb = fmt == DS_GEO_IPLOC_ASN ? n.n_asn : n.n_cc;

		EXPECT_INT(&t, na, rows);
		EXPECT_INT(&t, nb, rows);
		EXPECT_INT(&t, s.lines, rows);
		EXPECT_INT(&t, s.skipped + n.skipped, 0);
		if (na == nb && na > 0 && memcmp(a, b, na * sizeof(*a)) != 0)
			tc_fail(&t, "dotted and numeric tables differ");
		if (na == rows) {
			expect_ranges(&t, "first row", a, 1, &first, 1);
			expect_ranges(&t, "last row", a + na - 1, 1, &last, 1);
		}
	}
	ds_geo_source_free(&s);
	ds_geo_source_free(&n);
	tc_end(&t);
}

/*
 * An RIR file against a reader written the obvious way (fgets + strsep), and
 * against totals counted with awk over the same files:
 *
 *   awk -F'|' '/^#/ || NF==0 {next} !hdr {hdr=1; next} $6=="summary" {next}
 *     { if ($3=="ipv6" || $7=="available" || $7=="reserved" || $2=="" || $2=="ZZ")
 *         {skip++; next}
 *       if ($3=="asn") asn+=$5; if ($3=="ipv4") v4++ }
 *     END {print NR, asn, v4, skip}' FILE
 */
static void real_rir(const char *dir, const char *name, size_t lines, size_t asn_cc,
		     size_t ipv4, size_t skipped)
{
	char path[PATH_MAX], line[1024];
	struct ds_geo_source s;
	size_t n_asn_cc = 0, n_cc = 0;
	bool header = false;
	struct tcase t;
	FILE *f;

	tc_start(&t, "real", name);
	join(path, dir, name);
	if (!load_real(&t, DS_GEO_RIR_DELEGATED, path,
		       DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY, &s)) {
		tc_end(&t);
		return;
	}
	EXPECT_INT(&t, s.lines, lines);
	EXPECT_INT(&t, s.n_asn_cc, asn_cc);
	EXPECT_INT(&t, s.n_cc, ipv4);
	EXPECT_INT(&t, s.skipped, skipped);
	f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL && t.ok) {
		char *p = line, *fld[8] = {0};
		unsigned long start, value;
		int nf = 0;
		uint32_t cc;

		line[strcspn(line, "\n")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (!header) {
			header = true;
			continue;
		}
		while (nf < 8 && (fld[nf] = strsep(&p, "|")) != NULL)
			nf++;
		if (nf < 7 || strcmp(fld[2], "ipv6") == 0 || strcmp(fld[6], "available") == 0 ||
		    strcmp(fld[6], "reserved") == 0 || strlen(fld[1]) != 2 ||
		    strcmp(fld[1], "ZZ") == 0)
			continue;
		cc = CC(fld[1][0], fld[1][1]);
		value = strtoul(fld[4], NULL, 10);
		if (strcmp(fld[2], "asn") == 0) {
			start = strtoul(fld[3], NULL, 10);
			for (unsigned long k = 0; k < value; k++, n_asn_cc++)
				if (n_asn_cc >= s.n_asn_cc || s.asn_cc[n_asn_cc].asn != start + k ||
				    s.asn_cc[n_asn_cc].cc != cc)
					tc_fail(&t, "asn_cc %zu differs from \"%s\"", n_asn_cc,
						line);
		} else {
			unsigned int a, b, c, d;

			sscanf(fld[3], "%u.%u.%u.%u", &a, &b, &c, &d);
			start = IP(a, b, c, d);
			if (n_cc >= s.n_cc || s.cc[n_cc].first != start ||
			    s.cc[n_cc].last != start + value - 1 || s.cc[n_cc].value != cc)
				tc_fail(&t, "cc %zu differs from \"%s\"", n_cc, line);
			n_cc++;
		}
	}
	if (f != NULL)
		fclose(f);
	EXPECT_INT(&t, n_asn_cc, s.n_asn_cc);
	EXPECT_INT(&t, n_cc, s.n_cc);
	ds_geo_source_free(&s);
	tc_end(&t);
}

static void test_real(void)
{
	const char *shared = getenv("DS_SHARED_DATA");
	char dir[PATH_MAX];
	struct stat st;

	if (shared == NULL || shared[0] == '\0')
		shared = "";
	join(dir, shared[0] != '\0' ? shared : ".", "geo");
	if (shared[0] == '\0' || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		printf("skip real: no $DS_SHARED_DATA/geo\n");
		return;
	}
	real_pfx2as(dir);
	real_iploc(dir, DS_GEO_IPLOC_ASN, DS_GEO_PREFIX_ASN, "asn-ipv4.csv", "asn-ipv4-num.csv",
		   411961, (struct ds_geo_range){IP(1, 0, 0, 0), IP(1, 0, 0, 255), 13335},
		   (struct ds_geo_range){IP(223, 255, 254, 0), IP(223, 255, 254, 255), 55415});
	real_iploc(dir, DS_GEO_IPLOC_COUNTRY, DS_GEO_PREFIX_COUNTRY, "asn-country-ipv4.csv",
		   "asn-country-ipv4-num.csv", 141822,
		   (struct ds_geo_range){IP(1, 0, 0, 0), IP(1, 0, 0, 255), CC('A', 'U')},
		   (struct ds_geo_range){IP(223, 255, 255, 0), IP(223, 255, 255, 255),
					 CC('A', 'U')});
	real_rir(dir, "delegated-afrinic-extended-20230323", 15023, 2272, 4621, 8126);
	real_rir(dir, "delegated-apnic-extended-20160131", 73438, 11693, 32305, 34419);
	real_rir(dir, "delegated-lacnic-extended-20230323", 86241, 12916, 19089, 54232);
}

int
main(int argc, char **argv)
{
	const char *base = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	join(tmpdir, base, "ds_test_geo_XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_args();
	test_load();
	test_long_lines();
	test_real();
	rmdir(tmpdir);
	printf("%s\n", failures == 0 ? "all passed" : "FAILED");
	return failures == 0 ? 0 : 1;
}
