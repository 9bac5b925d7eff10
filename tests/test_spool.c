/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit test of the durable spool (lib/redis/ds_spool.c): the file format and
 * the directory, without EAL or Redis. A rollup with every kind of content
 * makes a round trip through the bytes and through the disk, and a file of
 * the previous format version is read; then every way a file can go wrong:
 * cut at every byte offset, every single bit flipped, an unknown version,
 * another sensor, a forged count behind valid CRCs, a bad join flag, a
 * leftover temp file, and a spool at its size cap. A bad file must come back
 * as -EBADMSG with a reason and be moved to bad/, never crash or be queued.
 *
 * The ways to spoil a file are a table of their own (spoiled[]): each row
 * says how to damage the encoding, in how many variants, which reason the
 * refusal must give and whether a spool directory holding the damaged file
 * sets it aside when it opens (a bad header) or only when the file is read
 * (a bad payload). One runner applies every row the same way, so a new kind
 * of damage is one line, checked as thoroughly as the others.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "ds_rollup.h"
#include "ds_spool.h"

/* 2018-03-29T20:13:00Z */
#define MINUTE 25372573
#define SENSOR "tokyo-1"

static char root[256];
static unsigned bad_calls;
static char last_reason[DS_SPOOL_REASON_MAX];

#define CHECK(cond, ...) do { if (!(cond)) { printf("  FAIL %s:%d: ", __FILE__, __LINE__); \
			     printf(__VA_ARGS__); printf("\n"); fail = 1; goto out; } } while (0)

static void
on_bad(void *arg, const char *file, const char *reason)
{
	(void)arg;
	(void)file;
	bad_calls++;
	snprintf(last_reason, sizeof(last_reason), "%s", reason);
}

/* A fresh spool directory under root. */
static void
fresh_dir(const char *tag, char *out, size_t len)
{
	static unsigned n;

	snprintf(out, len, "%s/%s-%u", root, tag, n++);
}

static struct ds_spool *
open_spool(const char *dir, const char *sensor, uint64_t max)
{
	return ds_spool_open(&(struct ds_spool_opts){
		.dir = dir, .sensor = sensor, .max_bytes = max, .on_bad = on_bad, .arg = NULL,
	});
}

/* A rollup with content in every part the format carries; `salt` varies the figures. */
static struct ds_rollup *
build(const char *sensor, int64_t minute, uint32_t salt)
{
	static const char *const feeds[] = { "darknet", "quiet" };
	struct ds_rollup *r = ds_rollup_create(sensor, minute, 2, feeds);
	uint32_t *src;

	if (r == NULL)
		return NULL;
	r->partial = salt & 1;
	r->join = salt & 1;
	r->writer = 0x8000000000000001ull + salt;
	r->sources_sampling = 3;
	if (ds_rollup_set_signatures_version(r, "2024.1") < 0 ||
	    ds_rollup_layout_add(r, "MSS,NOP,WS") < 0 ||
	    ds_rollup_name_add(r, DS_DIM_WATCH, "window-5656") < 0 ||
	    ds_rollup_dim_resize(&r->feeds[0].dims[DS_DIM_TCP_DST_PORT], 3) < 0 ||
	    ds_rollup_dim_resize(&r->feeds[0].dims[DS_DIM_PROTO], 1) < 0)
		goto fail;
	r->feeds[0].packets = 1000 + salt;
	r->feeds[0].bytes = 64000;
	r->feeds[0].sources = 77;
	for (uint32_t i = 0; i < 3; i++) {
		struct ds_rollup_entry *e = &r->feeds[0].dims[DS_DIM_TCP_DST_PORT].entries[i];

		e->value = i == 2 ? DS_ROLLUP_OTHER : 23 + i * 422;
		e->packets = 300 - i + salt;
		e->sources = 10 + i;
	}
	r->feeds[0].dims[DS_DIM_PROTO].entries[0] =
		(struct ds_rollup_entry){ 6, 1000 + salt, 64000, 77 };
	src = malloc(3 * sizeof(*src));
	if (src == NULL)
		goto fail;
	src[0] = 0x0a000001;
	src[1] = 0xc0a80001 + salt;
	src[2] = 0xffffffff;
	if (ds_rollup_srcset_add(r, 0, DS_SRCSET_FEED, 0, src, 3) < 0 ||
	    ds_rollup_counter_add(r, "outside", 5) < 0 ||
	    ds_rollup_counter_add(r, "redis.dropped_total", 1ull << 40) < 0)
		goto fail;
	return r;
fail:
	ds_rollup_free(r);
	return NULL;
}

/* Field by field: NULL when equal, else what differs. */
static const char *
differs(const struct ds_rollup *a, const struct ds_rollup *b)
{
	if (strcmp(a->sensor, b->sensor) != 0 || a->minute != b->minute)
		return "sensor or minute";
	if (a->partial != b->partial || a->sources_sampling != b->sources_sampling)
		return "partial or sampling";
	if (a->join != b->join || a->writer != b->writer)
		return "join or writer";
	if ((a->signatures_version == NULL) != (b->signatures_version == NULL) ||
	    (a->signatures_version && strcmp(a->signatures_version, b->signatures_version)))
		return "signatures version";
	if (a->n_feeds != b->n_feeds)
		return "feed count";
	for (uint32_t f = 0; f < a->n_feeds; f++) {
		const struct ds_rollup_feed *x = &a->feeds[f], *y = &b->feeds[f];

		if (strcmp(x->name, y->name) || x->packets != y->packets || x->bytes != y->bytes ||
		    x->sources != y->sources)
			return "feed totals";
		for (int d = 0; d < DS_DIM_MAX; d++) {
			if (x->dims[d].n != y->dims[d].n)
				return "entry count";
			for (uint32_t i = 0; i < x->dims[d].n; i++) {
				const struct ds_rollup_entry *p = &x->dims[d].entries[i];
				const struct ds_rollup_entry *q = &y->dims[d].entries[i];

				if (p->value != q->value || p->packets != q->packets ||
				    p->bytes != q->bytes || p->sources != q->sources)
					return "entry";
			}
		}
	}
	for (int d = 0; d < DS_DIM_MAX; d++) {
		if (a->names[d].n != b->names[d].n)
			return "label count";
		for (uint32_t i = 0; i < a->names[d].n; i++)
			if (strcmp(a->names[d].v[i], b->names[d].v[i]) != 0)
				return "label";
	}
	if (a->n_srcsets != b->n_srcsets)
		return "source set count";
	for (uint32_t i = 0; i < a->n_srcsets; i++) {
		const struct ds_rollup_srcset *x = &a->srcsets[i], *y = &b->srcsets[i];

		if (x->feed != y->feed || x->dim != y->dim || x->value != y->value ||
		    x->n != y->n ||
		    memcmp(x->src, y->src, x->n * sizeof(*x->src)) != 0)
			return "source set";
	}
	if (a->n_counters != b->n_counters)
		return "counter count";
	for (uint32_t i = 0; i < a->n_counters; i++)
		if (strcmp(a->counters[i].name, b->counters[i].name) ||
		    a->counters[i].value != b->counters[i].value)
			return "counter";
	return NULL;
}

static int
write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		return -1;
	n = len ? fwrite(buf, 1, len, f) : 0;
	return fclose(f) == 0 && n == len ? 0 : -1;
}

static bool
exists(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Files in dir (not counting . .. and bad). */
static int
count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
		    strcmp(de->d_name, DS_SPOOL_BAD_DIR))
			n++;
	closedir(d);
	return n;
}

/* Rewrite a header's CRC after a deliberate change (sensor length from the header). */
static void
fix_header_crc(uint8_t *buf)
{
	uint32_t slen = buf[12] | buf[13] << 8, crc;
	size_t at = 40 + slen;

	crc = (uint32_t)crc32(0L, buf, (uInt)at);
	buf[at] = (uint8_t)crc;
	buf[at + 1] = (uint8_t)(crc >> 8);
	buf[at + 2] = (uint8_t)(crc >> 16);
	buf[at + 3] = (uint8_t)(crc >> 24);
}

static int
case_bad_arguments(void)
{
	struct ds_rollup *r = build(SENSOR, MINUTE, 0), *out = (void *)1;
	char dir[300], reason[DS_SPOOL_REASON_MAX];
	struct ds_spool *s = NULL;
	uint8_t *buf;
	size_t len;
	int fail = 0;

	CHECK(r != NULL, "build");
	fresh_dir("args", dir, sizeof(dir));
	errno = 0;
	CHECK(ds_spool_open(NULL) == NULL && errno == EINVAL, "open(NULL)");
	CHECK(open_spool("", SENSOR, 1000) == NULL && errno == EINVAL, "empty dir");
	CHECK(open_spool(dir, "", 1000) == NULL && errno == EINVAL, "empty sensor");
	CHECK(open_spool(dir, "a/b", 1000) == NULL && errno == EINVAL, "sensor with a slash");
	CHECK(open_spool(dir, SENSOR, 0) == NULL && errno == EINVAL, "max_bytes 0");
	CHECK(open_spool("/proc/version/x", SENSOR, 1000) == NULL && errno == ENOTDIR,
	      "dir under a file: errno %d", errno);
	CHECK(ds_spool_encode(NULL, &buf, &len) == -EINVAL, "encode(NULL)");
	CHECK(ds_spool_decode(NULL, 10, SENSOR, &out, reason) == -EINVAL && out == NULL,
	      "decode(NULL)");
	CHECK(ds_spool_put(NULL, r) == -EINVAL, "put(NULL)");
	CHECK(ds_spool_peek(NULL, &out) == -EINVAL, "peek(NULL)");
	CHECK(ds_spool_pop(NULL) == -EINVAL, "pop(NULL)");
	s = open_spool(dir, SENSOR, 1000000);
	CHECK(s != NULL, "open %s: %s", dir, strerror(errno));
	CHECK(ds_spool_peek(s, &out) == -ENOENT && out == NULL, "peek on an empty spool");
	CHECK(ds_spool_pop(s) == -ENOENT, "pop on an empty spool");
	{
		struct ds_rollup *other = build("osaka-2", MINUTE, 0);

		CHECK(other != NULL, "build");
		CHECK(ds_spool_put(s, other) == -EINVAL, "put of another sensor's minute");
		ds_rollup_free(other);
	}
out:
	ds_spool_close(s);
	ds_rollup_free(r);
	return fail;
}

static int
case_round_trip(void)
{
	struct ds_rollup *r = build(SENSOR, MINUTE, 1), *r2 = build(SENSOR, MINUTE + 1, 2);
	struct ds_rollup *back = NULL;
	char dir[300], reason[DS_SPOOL_REASON_MAX];
	struct ds_spool *s = NULL;
	struct ds_spool_stats st;
	uint8_t *buf = NULL;
	const char *d;
	size_t len;
	int fail = 0;

	CHECK(r != NULL && r2 != NULL, "build");
	CHECK(ds_spool_encode(r, &buf, &len) == 0, "encode");
	CHECK(ds_spool_decode(buf, len, SENSOR, &back, reason) == 0, "decode: %s", reason);
	d = differs(back, r);
	CHECK(d == NULL, "bytes round trip differs: %s", d);
	ds_rollup_free(back);
	back = NULL;

	fresh_dir("rt", dir, sizeof(dir));
	s = open_spool(dir, SENSOR, 1 << 20);
	CHECK(s != NULL, "open: %s", strerror(errno));
	CHECK(ds_spool_put(s, r) == 0 && ds_spool_put(s, r2) == 0, "put");
	CHECK(exists(dir, SENSOR ".201803292013.0000000000.spool"), "file name of the first");
	CHECK(!exists(dir, SENSOR ".tmp"), "no temp file left");
	ds_spool_stats(s, &st);
	CHECK(st.files == 2 && st.bytes == 2 * len && st.spooled == 2, "stats %u files %llu "
	      "bytes, want 2 and %zu", st.files, (unsigned long long)st.bytes, 2 * len);
	/* A restart: the next open finds both, in order, byte for byte. */
	ds_spool_close(s);
	s = open_spool(dir, SENSOR, 1 << 20);
	CHECK(s != NULL, "reopen");
	ds_spool_stats(s, &st);
	CHECK(st.files == 2 && st.bad == 0, "reopened: %u files, %llu bad", st.files,
	      (unsigned long long)st.bad);
	CHECK(ds_spool_peek(s, &back) == 0, "peek");
	d = differs(back, r);
	CHECK(d == NULL, "disk round trip differs: %s", d);
	ds_rollup_free(back);
	back = NULL;
	/* Sequence numbers go on after a restart: the same minute again is a new file. */
	CHECK(ds_spool_put(s, r) == 0 && exists(dir, SENSOR ".201803292013.0000000002.spool"),
	      "sequence 2 after a restart with 0 and 1 in the spool");
	CHECK(ds_spool_pop(s) == 0, "pop");
	CHECK(!exists(dir, SENSOR ".201803292013.0000000000.spool"), "popped file deleted");
	CHECK(ds_spool_peek(s, &back) == 0 && differs(back, r2) == NULL, "second minute");
	ds_rollup_free(back);
	back = NULL;
	CHECK(ds_spool_pop(s) == 0, "pop");
	CHECK(ds_spool_peek(s, &back) == 0 && differs(back, r) == NULL, "third: the first again");
	CHECK(ds_spool_pop(s) == 0 && count_files(dir) == 0, "spool empty");
	ds_spool_stats(s, &st);
	CHECK(st.files == 0 && st.bytes == 0 && st.delivered == 3, "stats when empty");
out:
	ds_rollup_free(back);
	ds_spool_close(s);
	free(buf);
	ds_rollup_free(r);
	ds_rollup_free(r2);
	return fail;
}

/* Older minutes first after a restart, whatever the order they were spooled in. */
static int
case_order(void)
{
	int64_t put_order[] = { MINUTE + 5, MINUTE + 3, MINUTE + 4 }, want[] = { 3, 4, 5 };
	struct ds_rollup *back = NULL;
	struct ds_spool *s = NULL;
	char dir[300];
	int fail = 0;

	fresh_dir("order", dir, sizeof(dir));
	s = open_spool(dir, SENSOR, 1 << 20);
	CHECK(s != NULL, "open");
	for (int i = 0; i < 3; i++) {
		struct ds_rollup *r = build(SENSOR, put_order[i], (uint32_t)i);

		CHECK(r != NULL && ds_spool_put(s, r) == 0, "put");
		ds_rollup_free(r);
	}
	ds_spool_close(s);
	s = open_spool(dir, SENSOR, 1 << 20);
	CHECK(s != NULL, "reopen");
	for (int i = 0; i < 3; i++) {
		CHECK(ds_spool_peek(s, &back) == 0, "peek %d", i);
		CHECK(back->minute == MINUTE + want[i], "minute %d: %lld, want +%lld", i,
		      (long long)(back->minute - MINUTE), (long long)want[i]);
		ds_rollup_free(back);
		back = NULL;
		CHECK(ds_spool_pop(s) == 0, "pop");
	}
out:
	ds_rollup_free(back);
	ds_spool_close(s);
	return fail;
}

/* Ways to damage an encoded minute; each returns -1 if the bytes are not as it expects. */

static int
spoil_nothing(uint8_t *buf, size_t *len, size_t i)
{
	(void)buf;
	(void)len;
	(void)i;
	return 0;
}

/* Keep the first i bytes: a file torn by a crash at any point of its write. */
static int
spoil_cut(uint8_t *buf, size_t *len, size_t i)
{
	(void)buf;
	*len = i;
	return 0;
}

static int
spoil_bit(uint8_t *buf, size_t *len, size_t i)
{
	(void)len;
	buf[i / 8] ^= (uint8_t)(1u << (i % 8));
	return 0;
}

/* One bit near the end, in the payload: the header is fine, so the file is indexed. */
static int
spoil_payload_bit(uint8_t *buf, size_t *len, size_t i)
{
	(void)i;
	buf[*len - 3] ^= 0x10;
	return 0;
}

static int
spoil_version(uint8_t *buf, size_t *len, size_t i)
{
	(void)len;
	(void)i;
	buf[8] = 3;
	fix_header_crc(buf);
	return 0;
}

/* 4294967294 feeds, with both CRCs recomputed: only the decoder's bounds can refuse it. */
/* Payload length and CRC in the header, then the header's CRC, for a payload of len - hlen. */
static void
fix_payload(uint8_t *buf, size_t len)
{
	size_t hlen = 40 + strlen(SENSOR) + 4;
	uint64_t plen = len - hlen;
	uint32_t crc = (uint32_t)crc32(0L, buf + hlen, (uInt)plen);

	for (int k = 0; k < 8; k++)
		buf[24 + k] = (uint8_t)(plen >> 8 * k);
	for (int k = 0; k < 4; k++)
		buf[32 + k] = (uint8_t)(crc >> 8 * k);
	fix_header_crc(buf);
}

/* Where the payload's join flag is: after u32 dims, u8 partial, u8 sampling, str sigver. */
#define AT_JOIN (40 + sizeof(SENSOR) - 1 + 4 + 4 + 1 + 1 + 4 + 6)

static int
spoil_feed_count(uint8_t *buf, size_t *len, size_t i)
{
	/* After the join flag: u64 writer, then u32 n_feeds. */
	size_t at = AT_JOIN + 1 + 8;

	(void)i;
	if (buf[at] != 2 || buf[at + 1] != 0)
		return -1;
	memset(buf + at, 0xff, 4);
	buf[at] = 0xfe;
	fix_payload(buf, *len);
	return 0;
}

static int
spoil_join(uint8_t *buf, size_t *len, size_t i)
{
	(void)i;
	if (buf[AT_JOIN] != 0)
		return -1;
	buf[AT_JOIN] = 2;
	fix_payload(buf, *len);
	return 0;
}

/* Three bytes after the payload: a file that is longer than its header says. */
static int
spoil_trailing(uint8_t *buf, size_t *len, size_t i)
{
	(void)i;
	memset(buf + *len, 0xab, 3);
	*len += 3;
	return 0;
}

/* How many damaged files a row makes out of one encoding. */
enum variants {
	ONE,
	EACH_BYTE,                  /* i = 0 .. len - 1 */
	EACH_BIT,                   /* i = 0 .. 8 * len - 1 */
};

/* Where the spool must notice: never (bytes only), at open (header) or at peek (payload). */
enum noticed {
	BYTES_ONLY,
	AT_OPEN,
	AT_PEEK,
};

static const struct spoiled_case {
	const char *name;
	int (*spoil)(uint8_t *buf, size_t *len, size_t i);
	enum variants variants;
	const char *reader;         /* the sensor that decodes it, and opens the spool */
	const char *reason;         /* in every refusal's reason ("": any, but one) */
	enum noticed noticed;
	/*
	 * NULL: the file has its proper name. Else the name it is written
	 * under: the bytes are intact (ds_spool_decode() takes them), only
	 * the spool can notice.
	 */
	const char *file;
} spoiled[] = {
	/* Every cut: each torn file is set aside at open. */
	{ "cut at every byte offset", spoil_cut, EACH_BYTE, SENSOR, "", AT_OPEN, NULL },
	/* Header and payload bits alike; the CRCs must catch each one. */
	{ "every single bit flipped", spoil_bit, EACH_BIT, SENSOR, "", BYTES_ONLY, NULL },
	{ "a payload bit flipped, in a file", spoil_payload_bit, ONE, SENSOR, "crc", AT_PEEK,
	  NULL },
	{ "another sensor's minute", spoil_nothing, ONE, "osaka-2", "sensor " SENSOR, AT_OPEN,
	  NULL },
	{ "unknown version", spoil_version, ONE, SENSOR, "unknown version 3", AT_OPEN, NULL },
	{ "forged counts behind valid CRCs", spoil_feed_count, ONE, SENSOR, "feed count",
	  AT_PEEK, NULL },
	{ "a join flag of 2", spoil_join, ONE, SENSOR, "join flag 2", AT_PEEK, NULL },
	{ "bytes after the payload", spoil_trailing, ONE, SENSOR, "header says", AT_OPEN, NULL },
	{ "a name that is not its minute's", spoil_nothing, ONE, SENSOR, "name does not match",
	  AT_OPEN, SENSOR ".201803292014.0000000000.spool" },
};

/*
 * Each variant of a row: ds_spool_decode() refuses it with the row's reason;
 * then, unless the row is about bytes only, the same damaged bytes as the
 * only file of a spool directory are set aside in bad/, with on_bad() called
 * once, when the spool opens or when the file is first read.
 */
static int
run_spoiled(const struct spoiled_case *c)
{
	struct ds_rollup *r = build(SENSOR, MINUTE, 0), *out = NULL;
	char reason[DS_SPOOL_REASON_MAX], dir[300], name[128], aside[512];
	uint8_t *enc = NULL, *buf = NULL;
	struct ds_spool *s = NULL;
	struct ds_spool_stats st;
	size_t len, n = 0, i;
	int fail = 0;

	CHECK(r != NULL && ds_spool_encode(r, &enc, &len) == 0, "encode");
	buf = malloc(len + 8);      /* room for spoil_trailing() */
	CHECK(buf != NULL, "malloc");
	n = c->variants == EACH_BYTE ? len : c->variants == EACH_BIT ? 8 * len : 1;
	fresh_dir("spoiled", dir, sizeof(dir));
	if (c->file != NULL)
		snprintf(name, sizeof(name), "%s", c->file);
	else
		snprintf(name, sizeof(name), "%s.201803292013.0000000000.spool", c->reader);
	snprintf(aside, sizeof(aside), "%s/" DS_SPOOL_BAD_DIR "/%s", dir, name);
	for (i = 0; i < n; i++) {
		size_t blen = len;
		int rc;

		memcpy(buf, enc, len);
		CHECK(c->spoil(buf, &blen, i) == 0, "variant %zu: the encoding is not as expected",
		      i);
		rc = ds_spool_decode(buf, blen, c->reader, &out, reason);
		if (c->file != NULL) {
			CHECK(rc == 0 && out != NULL, "variant %zu: intact bytes decode (%d)", i,
			      rc);
			ds_rollup_free(out);
			out = NULL;
		} else {
			CHECK(rc == -EBADMSG && out == NULL,
			      "variant %zu (%zu of %zu bytes): decode %d", i, blen, len, rc);
			CHECK(reason[0] != '\0' && strstr(reason, c->reason) != NULL,
			      "variant %zu: reason \"%s\", want \"%s\"", i, reason, c->reason);
		}
		if (c->noticed == BYTES_ONLY)
			continue;

		CHECK(mkdir(dir, 0750) == 0 || errno == EEXIST, "mkdir");
		/* The previous variant's file must not stand in for this one's. */
		CHECK(unlink(aside) == 0 || errno == ENOENT, "unlink %s", aside);
		CHECK(write_file(dir, name, buf, blen) == 0, "write");
		bad_calls = 0;
		last_reason[0] = '\0';
		s = open_spool(dir, c->reader, 1 << 20);
		CHECK(s != NULL, "variant %zu: open with a file of %zu bytes", i, blen);
		if (c->noticed == AT_PEEK) {
			ds_spool_stats(s, &st);
			CHECK(st.files == 1 && bad_calls == 0, "variant %zu: not indexed at open "
			      "(%u files, %u bad calls)", i, st.files, bad_calls);
			CHECK(ds_spool_peek(s, &out) == -ENOENT && out == NULL,
			      "variant %zu: peek serves the file", i);
		}
		ds_spool_stats(s, &st);
		CHECK(st.files == 0 && st.bytes == 0 && st.bad == 1 && bad_calls == 1 &&
		      access(aside, F_OK) == 0 && !exists(dir, name),
		      "variant %zu (%zu of %zu bytes): %u files, %llu bad, %u bad calls, moved %d",
		      i, blen, len, st.files, (unsigned long long)st.bad, bad_calls,
		      access(aside, F_OK) == 0);
		CHECK(strstr(last_reason, c->reason) != NULL,
		      "variant %zu: set aside for \"%s\", want \"%s\"", i, last_reason, c->reason);
		ds_spool_close(s);
		s = NULL;
	}
	printf("  %zu variant(s) of the %zu-byte file refused; last reason \"%s\"\n", n, len,
	       c->file != NULL ? last_reason : reason);
out:
	ds_rollup_free(out);
	ds_spool_close(s);
	free(buf);
	free(enc);
	ds_rollup_free(r);
	return fail;
}

/* Torn after it was indexed: found when read back, and the next file is served. */
static int
case_torn_after_index(void)
{
	struct ds_rollup *r = build(SENSOR, MINUTE, 0), *r2 = build(SENSOR, MINUTE + 1, 5);
	struct ds_rollup *out = NULL;
	struct ds_spool *s = NULL;
	uint8_t *buf = NULL;
	char dir[300], path[400];
	size_t len;
	int fail = 0;

	CHECK(r != NULL && r2 != NULL && ds_spool_encode(r, &buf, &len) == 0, "encode");
	fresh_dir("torn", dir, sizeof(dir));
	s = open_spool(dir, SENSOR, 1 << 20);
	CHECK(s != NULL, "open");
	CHECK(ds_spool_put(s, r) == 0 && ds_spool_put(s, r2) == 0, "put");
	snprintf(path, sizeof(path), "%s/%s", dir, SENSOR ".201803292013.0000000000.spool");
	CHECK(truncate(path, (off_t)len / 2) == 0, "truncate %s", path);
	bad_calls = 0;
	CHECK(ds_spool_peek(s, &out) == 0 && out->minute == MINUTE + 1 && bad_calls == 1,
	      "peek skips the torn file (%u bad calls)", bad_calls);
out:
	ds_rollup_free(out);
	ds_spool_close(s);
	free(buf);
	ds_rollup_free(r);
	ds_rollup_free(r2);
	return fail;
}

/*
 * A directory shared with another sensor: its files stay where they are,
 * while our own bad files and a leftover temp file of an interrupted put go.
 */
static int
case_shared_directory(void)
{
	struct ds_rollup *r = build(SENSOR, MINUTE, 0);
	struct ds_spool *s = NULL;
	struct ds_spool_stats st;
	uint8_t *buf = NULL;
	char dir[300];
	size_t len;
	int fail = 0;

	CHECK(r != NULL && ds_spool_encode(r, &buf, &len) == 0, "encode");
	fresh_dir("ver", dir, sizeof(dir));
	CHECK(mkdir(dir, 0750) == 0, "mkdir");
	/* Another sensor's file, properly named: left alone. */
	CHECK(write_file(dir, SENSOR ".201803292013.0000000000.spool", buf, len) == 0, "write");
	/* Our name, another sensor inside. */
	CHECK(write_file(dir, "osaka-2.201803292013.0000000000.spool", buf, len) == 0, "write");
	CHECK(spoil_version(buf, &len, 0) == 0, "version 3");
	CHECK(write_file(dir, "osaka-2.201803292014.0000000001.spool", buf, len) == 0, "write");
	/* A leftover temp file of an interrupted put. */
	CHECK(write_file(dir, "osaka-2.tmp", buf, len / 2) == 0, "write");
	bad_calls = 0;
	s = open_spool(dir, "osaka-2", 1 << 20);
	CHECK(s != NULL, "open");
	ds_spool_stats(s, &st);
	CHECK(st.files == 0 && st.bad == 3 && bad_calls == 3, "osaka-2: %u files %llu bad",
	      st.files, (unsigned long long)st.bad);
	CHECK(exists(dir, SENSOR ".201803292013.0000000000.spool") && count_files(dir) == 1,
	      "the other sensor's file stays");
	ds_spool_close(s);
	s = open_spool(dir, SENSOR, 1 << 20);
	CHECK(s != NULL, "open as " SENSOR);
	ds_spool_stats(s, &st);
	CHECK(st.files == 1 && st.bad == 0, SENSOR ": %u files", st.files);
out:
	ds_spool_close(s);
	free(buf);
	ds_rollup_free(r);
	return fail;
}

/* The size cap: refused with -ENOSPC, nothing written, room again after a pop. */
static int
case_spool_full(void)
{
	struct ds_rollup *r = build(SENSOR, MINUTE, 0);
	struct ds_spool *s = NULL;
	struct ds_spool_stats st;
	uint8_t *buf = NULL;
	char dir[300];
	size_t len;
	int fail = 0;

	CHECK(r != NULL && ds_spool_encode(r, &buf, &len) == 0, "encode");
	fresh_dir("full", dir, sizeof(dir));
	s = open_spool(dir, SENSOR, 2 * len + len / 2);
	CHECK(s != NULL, "open");
	CHECK(ds_spool_put(s, r) == 0 && ds_spool_put(s, r) == 0, "two fit");
	CHECK(ds_spool_put(s, r) == -ENOSPC, "the third does not");
	ds_spool_stats(s, &st);
	CHECK(st.files == 2 && st.full == 1 && count_files(dir) == 2 && !exists(dir, SENSOR ".tmp"),
	      "after refusal: %u files, %llu full, %d on disk", st.files,
	      (unsigned long long)st.full, count_files(dir));
	CHECK(ds_spool_pop(s) == 0 && ds_spool_put(s, r) == 0, "room again after a pop");
	/* Files found at open count towards the cap. */
	ds_spool_close(s);
	s = open_spool(dir, SENSOR, len);
	CHECK(s != NULL, "reopen with a smaller cap");
	ds_spool_stats(s, &st);
	CHECK(st.files == 2 && st.bytes == 2 * len && ds_spool_put(s, r) == -ENOSPC,
	      "over the cap at open: %u files, put refused", st.files);
out:
	ds_spool_close(s);
	free(buf);
	ds_rollup_free(r);
	return fail;
}

/*
 * A file of format version 1, which has no join flag and writer: read, as a
 * minute that is not a join. Made from version 2's bytes by removing them.
 */
static int
case_version1(void)
{
	struct ds_rollup *r = build(SENSOR, MINUTE, 1), *back = NULL;
	char dir[300], reason[DS_SPOOL_REASON_MAX];
	struct ds_spool *s = NULL;
	uint8_t *buf = NULL;
	const char *d;
	size_t len;
	int fail = 0;

	CHECK(r != NULL && ds_spool_encode(r, &buf, &len) == 0, "encode");
	CHECK(buf[8] == 2 && buf[AT_JOIN] == 1, "version 2 with the join flag at %zu",
	      (size_t)AT_JOIN);
	memmove(buf + AT_JOIN, buf + AT_JOIN + 9, len - AT_JOIN - 9);
	len -= 9;
	buf[8] = 1;
	fix_payload(buf, len);
	CHECK(ds_spool_decode(buf, len, SENSOR, &back, reason) == 0, "decode: %s", reason);
	CHECK(!back->join && back->writer == 0, "version 1: join %d writer %" PRIx64,
	      back->join, back->writer);
	r->join = false;
	r->writer = 0;
	d = differs(back, r);
	CHECK(d == NULL, "version 1 differs: %s", d);
	ds_rollup_free(back);
	back = NULL;
	fresh_dir("v1", dir, sizeof(dir));
	CHECK(mkdir(dir, 0750) == 0, "mkdir");
	CHECK(write_file(dir, SENSOR ".201803292013.0000000000.spool", buf, len) == 0, "write");
	s = open_spool(dir, SENSOR, 1 << 20);
	CHECK(s != NULL, "open");
	CHECK(ds_spool_peek(s, &back) == 0 && differs(back, r) == NULL,
	      "the version 1 file read from a spool directory");
out:
	ds_spool_close(s);
	ds_rollup_free(back);
	free(buf);
	ds_rollup_free(r);
	return fail;
}

static const struct {
	const char *name;
	int (*run)(void);
} cases[] = {
	{ "bad arguments are rejected", case_bad_arguments },
	{ "round trip through bytes and disk, sequence across restarts", case_round_trip },
	{ "oldest minute first after a restart", case_order },
	{ "a file torn after it was indexed", case_torn_after_index },
	{ "other sensors' files stay, a leftover temp file goes", case_shared_directory },
	{ "size cap", case_spool_full },
	{ "a file of format version 1 is read", case_version1 },
};

int
main(void)
{
	char cmd[300];
	int failed = 0;

	snprintf(root, sizeof(root), "%s/ds-test-spool-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fail = cases[i].run();

		printf("%s: %s\n", fail ? "FAIL" : "ok", cases[i].name);
		failed += fail;
	}
	for (size_t i = 0; i < sizeof(spoiled) / sizeof(spoiled[0]); i++) {
		int fail = run_spoiled(&spoiled[i]);

		printf("%s: refused: %s\n", fail ? "FAIL" : "ok", spoiled[i].name);
		failed += fail;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		printf("could not remove %s\n", root);
	return failed ? 1 : 0;
}
