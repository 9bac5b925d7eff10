/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The durable spool: one file per sealed minute, in a directory, in the order
 * Redis must receive them (ds_spool.h gives the names and the layout).
 *
 *   put(minute) --> SENSOR.tmp --fsync--> rename --> SENSOR.KEY.SEQ.spool --fsync(dir)
 *                                                          |
 *   ents[] (minute, seq, size) in delivery order  <--------'   (and every file found at open)
 *      |
 *   peek() reads and checks the first file --bad--> rename to bad/, on_bad(), next file
 *   pop()  unlinks it once Redis has it
 *
 * The directory is the truth and the array only its index, rebuilt at open.
 * Durability rests on rename(2) being atomic: a reader finds either no file
 * or a whole one, and the fsync of the file before the rename and of the
 * directory after it make that hold across a power cut, not only a crash.
 *
 * Every file is hostile on the way back in: a disk can tear or flip bits and
 * anyone with access to the directory can put anything there. The header has
 * its own CRC32, the payload another, and the parser checks every length and
 * count against the bytes that are left before it reads or allocates, so a
 * file that passes the CRCs by design still cannot make it read past the end
 * or allocate more than its own size allows. What does not parse is moved
 * aside, never deleted: an operator may want to look at it.
 *
 * Only the index lives in memory (24 bytes a minute); a rollup is read back
 * one at a time, when the writer is ready to send it.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "ds_spool.h"

/* Fixed part of the header, before the sensor name and the header CRC. */
#define HDR_FIXED 40
#define SENSOR_MAX 63
/* Longest string in a payload: labels and names are far shorter. */
#define STR_MAX 4096
#define NAME_MAX_LEN (SENSOR_MAX + 64)

struct spool_ent {
	int64_t minute;
	uint64_t seq;
	uint64_t size;
};

struct ds_spool {
	char dir[4096];
	char sensor[SENSOR_MAX + 1];
	int dfd;                    /* the directory, for *at() calls and fsync */
	uint64_t max_bytes;
	void (*on_bad)(void *arg, const char *file, const char *reason);
	void *arg;
	uint64_t next_seq;

	struct spool_ent *ents;     /* ents[head .. head + n) in delivery order */
	uint32_t head;
	uint32_t n;
	uint32_t cap;

	struct ds_spool_stats st;
};

/* ---- Encoding: one pass that only counts (p == NULL), one that writes. ---- */

struct wr {
	uint8_t *p;
	size_t off;
};

static void
put_bytes(struct wr *w, const void *v, size_t n)
{
	if (w->p != NULL && n > 0)
		memcpy(w->p + w->off, v, n);
	w->off += n;
}

static void
put_u8(struct wr *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void
put_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	put_bytes(w, b, 4);
}

static void
put_u64(struct wr *w, uint64_t v)
{
	put_u32(w, (uint32_t)v);
	put_u32(w, (uint32_t)(v >> 32));
}

/* A string: u32 length, then the bytes; UINT32_MAX for NULL. */
static void
put_str(struct wr *w, const char *s)
{
	if (s == NULL) {
		put_u32(w, UINT32_MAX);
		return;
	}
	put_u32(w, (uint32_t)strlen(s));
	put_bytes(w, s, strlen(s));
}

static void
encode_payload(struct wr *w, const struct ds_rollup *ru)
{
	/* The dimension count pins the layout: a build with other dims reads nothing. */
	put_u32(w, DS_DIM_MAX);
	put_u8(w, ru->partial ? 1 : 0);
	put_u8(w, ru->sources_sampling);
	put_str(w, ru->signatures_version);
	put_u8(w, ru->join ? 1 : 0);
	put_u64(w, ru->writer);
	put_u32(w, ru->n_feeds);
	for (uint32_t f = 0; f < ru->n_feeds; f++) {
		const struct ds_rollup_feed *fd = &ru->feeds[f];

		put_str(w, fd->name);
		put_u64(w, fd->packets);
		put_u64(w, fd->bytes);
		put_u64(w, fd->sources);
		for (int d = 0; d < DS_DIM_MAX; d++) {
			put_u32(w, fd->dims[d].n);
			for (uint32_t i = 0; i < fd->dims[d].n; i++) {
				const struct ds_rollup_entry *e = &fd->dims[d].entries[i];

				put_u32(w, e->value);
				put_u64(w, e->packets);
				put_u64(w, e->bytes);
				put_u64(w, e->sources);
			}
		}
	}
	for (int d = 0; d < DS_DIM_MAX; d++) {
		put_u32(w, ru->names[d].n);
		for (uint32_t i = 0; i < ru->names[d].n; i++)
			put_str(w, ru->names[d].v[i]);
	}
	put_u32(w, ru->n_srcsets);
	for (uint32_t i = 0; i < ru->n_srcsets; i++) {
		const struct ds_rollup_srcset *ss = &ru->srcsets[i];

		put_u32(w, ss->feed);
		put_u32(w, ss->dim);
		put_u32(w, ss->value);
		put_u32(w, ss->n);
		for (uint32_t k = 0; k < ss->n; k++)
			put_u32(w, ss->src[k]);
	}
	put_u32(w, ru->n_counters);
	for (uint32_t i = 0; i < ru->n_counters; i++) {
		put_str(w, ru->counters[i].name);
		put_u64(w, ru->counters[i].value);
	}
}

static void
store_u32(uint8_t *p, uint32_t v)
{
	struct wr w = { p, 0 };

	put_u32(&w, v);
}

int
ds_spool_encode(const struct ds_rollup *ru, uint8_t **buf, size_t *len)
{
	struct wr w = { NULL, 0 };
	size_t slen, hlen, plen;
	uint8_t *b;

	if (ru == NULL || buf == NULL || len == NULL || ru->sensor == NULL)
		return -EINVAL;
	slen = strlen(ru->sensor);
	if (slen == 0 || slen > SENSOR_MAX)
		return -EINVAL;
	encode_payload(&w, ru);
	plen = w.off;
	hlen = HDR_FIXED + slen + 4;
	b = malloc(hlen + plen);
	if (b == NULL)
		return -ENOMEM;
	w.p = b + hlen;
	w.off = 0;
	encode_payload(&w, ru);

	w.p = b;
	w.off = 0;
	put_bytes(&w, DS_SPOOL_MAGIC, 8);
	put_u32(&w, DS_SPOOL_VERSION);
	put_u32(&w, (uint32_t)slen);
	put_u64(&w, (uint64_t)ru->minute);
	put_u64(&w, plen);
	put_u32(&w, (uint32_t)crc32(0L, b + hlen, (uInt)plen));
	put_u32(&w, 0);
	put_bytes(&w, ru->sensor, slen);
	store_u32(b + w.off, (uint32_t)crc32(0L, b, (uInt)w.off));
	*buf = b;
	*len = hlen + plen;
	return 0;
}

/* ---- Decoding: a cursor that refuses to read past the end. ---- */

struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool short_read;
};

static bool
need(struct rd *r, size_t n)
{
	if (r->short_read || r->len - r->off < n) {
		r->short_read = true;
		return false;
	}
	return true;
}

static uint32_t
get_u32(struct rd *r)
{
	const uint8_t *q;

	if (!need(r, 4))
		return 0;
	q = r->p + r->off;
	r->off += 4;
	return (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
}

static uint64_t
get_u64(struct rd *r)
{
	uint64_t lo = get_u32(r);

	return lo | (uint64_t)get_u32(r) << 32;
}

static uint8_t
get_u8(struct rd *r)
{
	if (!need(r, 1))
		return 0;
	return r->p[r->off++];
}

/*
 * A count of items of at least `min` bytes each: no more than the bytes left
 * could hold, so a forged count cannot ask for a huge allocation.
 */
static bool
get_count(struct rd *r, size_t min, uint32_t *n)
{
	*n = get_u32(r);
	if (r->short_read)
		return false;
	if ((uint64_t)*n * min > r->len - r->off) {
		r->short_read = true;
		return false;
	}
	return true;
}

/*
 * A string into a new allocation; *out stays NULL for an encoded NULL when
 * allowed. Embedded NULs are refused: the string ends up in Redis keys.
 * @return 0, -EBADMSG or -ENOMEM.
 */
static int
get_str(struct rd *r, char **out, bool null_ok, size_t max)
{
	uint32_t n = get_u32(r);
	char *s;

	*out = NULL;
	if (r->short_read)
		return -EBADMSG;
	if (n == UINT32_MAX && null_ok)
		return 0;
	if (n > max || !need(r, n) || memchr(r->p + r->off, '\0', n) != NULL)
		return -EBADMSG;
	s = malloc((size_t)n + 1);
	if (s == NULL)
		return -ENOMEM;
	memcpy(s, r->p + r->off, n);
	s[n] = '\0';
	r->off += n;
	*out = s;
	return 0;
}

#define BAD(...) do { snprintf(reason, DS_SPOOL_REASON_MAX, __VA_ARGS__); rc = -EBADMSG; \
		      goto out; } while (0)

/* The payload into ru (sensor and minute already set); ds_rollup_free() undoes a failure. */
static int
decode_payload(struct rd *r, uint32_t version, struct ds_rollup *ru, char *reason)
{
	uint32_t n = get_u32(r);
	int rc = 0;

	if (n != DS_DIM_MAX && !r->short_read)
		BAD("written with %" PRIu32 " dimensions, this build has %d", n, DS_DIM_MAX);
	n = get_u8(r);
	if (n > 1)
		BAD("partial flag %u", n);
	ru->partial = n == 1;
	ru->sources_sampling = get_u8(r);
	rc = get_str(r, &ru->signatures_version, true, STR_MAX);
	if (rc == -EBADMSG)
		BAD("bad signatures version");
	if (rc < 0)
		goto out;
	if (version >= 2) {
		n = get_u8(r);
		if (n > 1)
			BAD("join flag %u", n);
		ru->join = n == 1;
		ru->writer = get_u64(r);
	}
	/* A feed is at least its name length, three totals and DS_DIM_MAX counts. */
	if (!get_count(r, 4 + 24 + 4 * DS_DIM_MAX, &n))
		BAD("bad feed count");
	ru->feeds = calloc(n ? n : 1, sizeof(*ru->feeds));
	if (ru->feeds == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint32_t f = 0; f < n; f++) {
		struct ds_rollup_feed *fd = &ru->feeds[f];

		ru->n_feeds = f + 1;
		rc = get_str(r, &fd->name, false, STR_MAX);
		if (rc == -EBADMSG)
			BAD("bad name of feed %u", f);
		if (rc < 0)
			goto out;
		fd->packets = get_u64(r);
		fd->bytes = get_u64(r);
		fd->sources = get_u64(r);
		for (int d = 0; d < DS_DIM_MAX; d++) {
			uint32_t m;

			if (!get_count(r, 28, &m))
				BAD("bad entry count, feed %u dimension %d", f, d);
			if (ds_rollup_dim_resize(&fd->dims[d], m) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			for (uint32_t i = 0; i < m; i++) {
				struct ds_rollup_entry *e = &fd->dims[d].entries[i];

				e->value = get_u32(r);
				e->packets = get_u64(r);
				e->bytes = get_u64(r);
				e->sources = get_u64(r);
			}
		}
	}
	for (int d = 0; d < DS_DIM_MAX; d++) {
		if (!get_count(r, 4, &n))
			BAD("bad label count, dimension %d", d);
		ru->names[d].v = calloc(n ? n : 1, sizeof(char *));
		if (ru->names[d].v == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		for (uint32_t i = 0; i < n; i++) {
			rc = get_str(r, &ru->names[d].v[i], false, STR_MAX);
			if (rc == -EBADMSG)
				BAD("bad label %u of dimension %d", i, d);
			if (rc < 0)
				goto out;
			ru->names[d].n = i + 1;
		}
	}
	if (!get_count(r, 16, &n))
		BAD("bad source set count");
	ru->srcsets = calloc(n ? n : 1, sizeof(*ru->srcsets));
	if (ru->srcsets == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ru->cap_srcsets = n;
	for (uint32_t i = 0; i < n; i++) {
		struct ds_rollup_srcset *ss = &ru->srcsets[i];

		ss->feed = get_u32(r);
		ss->dim = get_u32(r);
		ss->value = get_u32(r);
		if (!r->short_read && (ss->feed >= ru->n_feeds || ss->dim > DS_SRCSET_FEED))
			BAD("source set %u names feed %u dimension %u", i, ss->feed, ss->dim);
		if (!get_count(r, 4, &ss->n))
			BAD("bad size of source set %u", i);
		ss->src = malloc(ss->n ? (size_t)ss->n * 4 : 4);
		if (ss->src == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		ru->n_srcsets = i + 1;
		for (uint32_t k = 0; k < ss->n; k++)
			ss->src[k] = get_u32(r);
	}
	if (!get_count(r, 12, &n))
		BAD("bad counter count");
	ru->counters = calloc(n ? n : 1, sizeof(*ru->counters));
	if (ru->counters == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	ru->cap_counters = n;
	for (uint32_t i = 0; i < n; i++) {
		char *name;

		rc = get_str(r, &name, false, DS_COUNTER_NAME_MAX - 1);
		if (rc == -EBADMSG)
			BAD("bad name of counter %u", i);
		if (rc < 0)
			goto out;
		strcpy(ru->counters[i].name, name);
		free(name);
		ru->counters[i].value = get_u64(r);
		ru->n_counters = i + 1;
	}
	if (r->short_read)
		BAD("payload shorter than its contents");
	if (r->off != r->len)
		BAD("%zu bytes after the payload", r->len - r->off);
out:
	return rc;
}

/*
 * The header alone (enough to index a file at open without reading it all):
 * @return 0 with minute, header and payload lengths, or -EBADMSG and reason.
 */
static int
decode_header(const uint8_t *buf, size_t len, const char *sensor, uint32_t *ver,
	      int64_t *minute, size_t *hlen, uint64_t *plen, uint32_t *pcrc, char *reason)
{
	struct rd r = { buf, len, 0, false };
	uint32_t version, slen, hcrc;
	int rc = 0;

	if (len < 8 || memcmp(buf, DS_SPOOL_MAGIC, 8) != 0)
		BAD(len < 8 ? "truncated header" : "bad magic");
	r.off = 8;
	version = get_u32(&r);
	if (r.short_read)
		BAD("truncated header");
	if (version < 1 || version > DS_SPOOL_VERSION)
		BAD("unknown version %" PRIu32 " (this build reads 1 to %d)", version,
		    DS_SPOOL_VERSION);
	*ver = version;
	slen = get_u32(&r);
	*minute = (int64_t)get_u64(&r);
	*plen = get_u64(&r);
	*pcrc = get_u32(&r);
	(void)get_u32(&r);
	if (r.short_read)
		BAD("truncated header");
	if (slen == 0 || slen > SENSOR_MAX)
		BAD("sensor name of %" PRIu32 " bytes", slen);
	if (!need(&r, (size_t)slen + 4))
		BAD("truncated header");
	hcrc = (uint32_t)crc32(0L, buf, (uInt)(HDR_FIXED + slen));
	r.off = HDR_FIXED + slen;
	if (get_u32(&r) != hcrc)
		BAD("header crc mismatch");
	if (strlen(sensor) != slen || memcmp(buf + HDR_FIXED, sensor, slen) != 0)
		BAD("sensor %.*s, expected %s", (int)slen, (const char *)buf + HDR_FIXED, sensor);
	*hlen = HDR_FIXED + slen + 4;
out:
	return rc;
}

int
ds_spool_decode(const uint8_t *buf, size_t len, const char *sensor, struct ds_rollup **out,
		char *reason)
{
	struct ds_rollup *ru = NULL;
	uint32_t pcrc, version;
	int64_t minute;
	uint64_t plen;
	size_t hlen;
	struct rd r;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (buf == NULL || sensor == NULL || out == NULL || reason == NULL)
		return -EINVAL;
	reason[0] = '\0';
	rc = decode_header(buf, len, sensor, &version, &minute, &hlen, &plen, &pcrc, reason);
	if (rc < 0)
		return rc;
	if (plen != len - hlen) {
		snprintf(reason, DS_SPOOL_REASON_MAX, "payload of %zu bytes, header says %" PRIu64,
			 len - hlen, plen);
		return -EBADMSG;
	}
	if ((uint32_t)crc32(0L, buf + hlen, (uInt)plen) != pcrc) {
		snprintf(reason, DS_SPOOL_REASON_MAX, "payload crc mismatch");
		return -EBADMSG;
	}
	ru = calloc(1, sizeof(*ru));
	if (ru == NULL)
		return -ENOMEM;
	ru->minute = minute;
	ru->sensor = strdup(sensor);
	if (ru->sensor == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	r = (struct rd){ buf + hlen, (size_t)plen, 0, false };
	rc = decode_payload(&r, version, ru, reason);
out:
	if (rc < 0) {
		ds_rollup_free(ru);
		return rc;
	}
	*out = ru;
	return 0;
}

#undef BAD

/* ---- The directory ---- */

static void
file_name(const struct ds_spool *s, int64_t minute, uint64_t seq, char *buf, size_t len)
{
	char key[32];

	ds_minute_key(minute, key, sizeof(key));
	snprintf(buf, len, "%s.%s.%010" PRIu64 DS_SPOOL_SUFFIX, s->sensor, key, seq);
}

static void
tmp_name(const struct ds_spool *s, char *buf, size_t len)
{
	snprintf(buf, len, "%s.tmp", s->sensor);
}

/*
 * Move a file to bad/ (replacing an older one of the same name), report and
 * count it. When even that fails it is removed: a file the spool can
 * neither read nor move would be found, and fail, at every start.
 */
static void
set_aside(struct ds_spool *s, const char *name, const char *reason)
{
	char dst[NAME_MAX_LEN + 8];

	snprintf(dst, sizeof(dst), DS_SPOOL_BAD_DIR "/%s", name);
	if (renameat(s->dfd, name, s->dfd, dst) != 0 && errno != ENOENT)
		unlinkat(s->dfd, name, 0);
	fsync(s->dfd);
	s->st.bad++;
	if (s->on_bad != NULL)
		s->on_bad(s->arg, name, reason);
}

static int
ents_append(struct ds_spool *s, int64_t minute, uint64_t seq, uint64_t size)
{
	if (s->head + s->n == s->cap) {
		if (s->head > 0) {
			memmove(s->ents, s->ents + s->head, s->n * sizeof(*s->ents));
			s->head = 0;
		} else {
			uint32_t cap = s->cap ? s->cap * 2 : 64;
			struct spool_ent *e;

			if (cap < s->cap)
				return -ENOMEM;
			e = realloc(s->ents, (size_t)cap * sizeof(*e));
			if (e == NULL)
				return -ENOMEM;
			s->ents = e;
			s->cap = cap;
		}
	}
	s->ents[s->head + s->n] = (struct spool_ent){ minute, seq, size };
	s->n++;
	s->st.files = s->n;
	s->st.bytes += size;
	return 0;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct spool_ent *x = a, *y = b;

	if (x->minute != y->minute)
		return x->minute < y->minute ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * "SENSOR.KEY.SEQ.spool" of this sensor: @return true with the sequence
 * number. KEY holds no dot, so the files of sensor "a.b" are not sensor a's.
 */
static bool
parse_name(const struct ds_spool *s, const char *name, uint64_t *seq)
{
	size_t sl = strlen(s->sensor), nl = strlen(name), xl = strlen(DS_SPOOL_SUFFIX);
	const char *key, *dot, *end;
	char *stop;

	if (nl <= sl + 1 + xl || strncmp(name, s->sensor, sl) != 0 || name[sl] != '.' ||
	    strcmp(name + nl - xl, DS_SPOOL_SUFFIX) != 0)
		return false;
	key = name + sl + 1;
	end = name + nl - xl;
	dot = memchr(key, '.', (size_t)(end - key));
	if (dot == NULL || dot == key || dot + 1 >= end || memchr(dot + 1, '.',
								  (size_t)(end - dot - 1)))
		return false;
	if (dot[1] < '0' || dot[1] > '9')
		return false;
	errno = 0;
	*seq = strtoull(dot + 1, &stop, 10);
	return errno == 0 && stop == end;
}

/* Index one file of this sensor, or set it aside. */
static int
scan_file(struct ds_spool *s, const char *name, uint64_t seq)
{
	uint8_t hdr[HDR_FIXED + SENSOR_MAX + 4];
	char reason[DS_SPOOL_REASON_MAX], canon[NAME_MAX_LEN];
	uint32_t pcrc, version;
	uint64_t plen;
	int64_t minute;
	struct stat st;
	size_t hlen;
	ssize_t got;
	int fd, rc;

	fd = openat(s->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(reason, sizeof(reason), "cannot read: %s",
			 fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		set_aside(s, name, reason);
		return 0;
	}
	got = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	rc = decode_header(hdr, got > 0 ? (size_t)got : 0, s->sensor, &version, &minute, &hlen,
			   &plen, &pcrc, reason);
	if (rc == 0 && (uint64_t)st.st_size != hlen + plen) {
		snprintf(reason, sizeof(reason), "torn: %" PRIu64 " bytes, header says %" PRIu64,
			 (uint64_t)st.st_size, (uint64_t)hlen + plen);
		rc = -EBADMSG;
	}
	if (rc == 0) {
		file_name(s, minute, seq, canon, sizeof(canon));
		if (strcmp(canon, name) != 0) {
			snprintf(reason, sizeof(reason), "name does not match its minute %" PRId64,
				 minute);
			rc = -EBADMSG;
		}
	}
	if (rc < 0) {
		set_aside(s, name, reason);
		return 0;
	}
	if (seq >= s->next_seq)
		s->next_seq = seq + 1;
	return ents_append(s, minute, seq, (uint64_t)st.st_size);
}

static int
scan(struct ds_spool *s)
{
	char tmp[NAME_MAX_LEN];
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	fd = openat(s->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		rc = -errno;
		close(fd);
		return rc;
	}
	tmp_name(s, tmp, sizeof(tmp));
	while (rc == 0 && (de = readdir(d)) != NULL) {
		uint64_t seq;

		if (strcmp(de->d_name, tmp) == 0)
			set_aside(s, de->d_name, "temp file of an interrupted write");
		else if (parse_name(s, de->d_name, &seq))
			rc = scan_file(s, de->d_name, seq);
	}
	closedir(d);
	if (rc == 0 && s->n > 1)
		qsort(s->ents, s->n, sizeof(*s->ents), ent_cmp);
	return rc;
}

/* mkdir -p, mode 0750: @return 0 or an errno value. */
static int
mkdir_parents(const char *dir)
{
	char path[sizeof(((struct ds_spool *)0)->dir)];

	strcpy(path, dir);
	for (char *p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST)
			return errno;
		*p = c;
		if (c == '\0')
			return 0;
	}
}

struct ds_spool *
ds_spool_open(const struct ds_spool_opts *opts)
{
	struct ds_spool *s = NULL;
	size_t sl;
	int err = EINVAL;

	if (opts == NULL || opts->dir == NULL || opts->dir[0] == '\0' || opts->sensor == NULL ||
	    opts->max_bytes == 0)
		goto fail;
	sl = strlen(opts->sensor);
	if (sl == 0 || sl > SENSOR_MAX || strlen(opts->dir) >= sizeof(s->dir))
		goto fail;
	for (size_t i = 0; i < sl; i++) {
		char c = opts->sensor[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			goto fail;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		err = ENOMEM;
		goto fail;
	}
	s->dfd = -1;
	strcpy(s->dir, opts->dir);
	strcpy(s->sensor, opts->sensor);
	s->max_bytes = opts->max_bytes;
	s->on_bad = opts->on_bad;
	s->arg = opts->arg;
	err = mkdir_parents(s->dir);
	if (err != 0)
		goto fail;
	s->dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dfd < 0) {
		err = errno;
		goto fail;
	}
	/* Checked now, not at the first outage, when nobody is watching. */
	if (faccessat(s->dfd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
		err = errno;
		goto fail;
	}
	if (mkdirat(s->dfd, DS_SPOOL_BAD_DIR, 0750) != 0 && errno != EEXIST) {
		err = errno;
		goto fail;
	}
	err = -scan(s);
	if (err != 0)
		goto fail;
	return s;
fail:
	ds_spool_close(s);
	errno = err;
	return NULL;
}

/* write(2) until done: a short write is not an error. */
static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ds_spool_put(struct ds_spool *s, const struct ds_rollup *ru)
{
	char tmp[NAME_MAX_LEN], name[NAME_MAX_LEN];
	uint8_t *buf = NULL;
	size_t len = 0;
	int fd = -1, rc;

	if (s == NULL || ru == NULL || ru->sensor == NULL || strcmp(ru->sensor, s->sensor) != 0)
		return -EINVAL;
	rc = ds_spool_encode(ru, &buf, &len);
	if (rc < 0)
		return rc;
	if (s->st.bytes + len > s->max_bytes) {
		s->st.full++;
		rc = -ENOSPC;
		goto out;
	}
	tmp_name(s, tmp, sizeof(tmp));
	file_name(s, ru->minute, s->next_seq, name, sizeof(name));
	fd = openat(s->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, buf, len);
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	fd = -1;
	if (rc == 0 && renameat(s->dfd, tmp, s->dfd, name) != 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(s->dfd, tmp, 0);
		if (rc == -EDQUOT)
			rc = -ENOSPC;
		if (rc == -ENOSPC)
			s->st.full++;
		goto out;
	}
	/* The rename is durable only once the directory is. */
	fsync(s->dfd);
	s->next_seq++;
	rc = ents_append(s, ru->minute, s->next_seq - 1, len);
	if (rc < 0) {
		/* Not indexed: the next start finds it. */
		goto out;
	}
	s->st.spooled++;
out:
	free(buf);
	return rc;
}

/* Forget the first entry (its file is gone or moved). */
static void
ents_pop(struct ds_spool *s)
{
	s->st.bytes -= s->ents[s->head].size;
	s->head++;
	s->n--;
	if (s->n == 0)
		s->head = 0;
	s->st.files = s->n;
}

int
ds_spool_peek(struct ds_spool *s, struct ds_rollup **out)
{
	if (out != NULL)
		*out = NULL;
	if (s == NULL || out == NULL)
		return -EINVAL;
	while (s->n > 0) {
		const struct spool_ent *e = &s->ents[s->head];
		char name[NAME_MAX_LEN], reason[DS_SPOOL_REASON_MAX] = "";
		uint8_t *buf = NULL;
		struct stat st;
		ssize_t got = 0;
		int fd, rc = -EBADMSG;

		file_name(s, e->minute, e->seq, name, sizeof(name));
		fd = openat(s->dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || fstat(fd, &st) != 0) {
			snprintf(reason, sizeof(reason), "cannot read: %s", strerror(errno));
		} else if ((uint64_t)st.st_size != e->size) {
			/* Changed since it was indexed: trust no size the index did not see. */
			snprintf(reason, sizeof(reason), "torn: %" PRIu64 " bytes, %" PRIu64
				 " when spooled", (uint64_t)st.st_size, e->size);
		} else if ((buf = malloc(e->size ? e->size : 1)) == NULL) {
			rc = -ENOMEM;
		} else if ((got = pread(fd, buf, e->size, 0)) != (ssize_t)e->size) {
			snprintf(reason, sizeof(reason), "cannot read: %s",
				 got < 0 ? strerror(errno) : "short read");
		} else {
			rc = ds_spool_decode(buf, e->size, s->sensor, out, reason);
			if (rc == 0 && (*out)->minute != e->minute) {
				snprintf(reason, sizeof(reason), "minute changed since it was "
					 "spooled");
				ds_rollup_free(*out);
				*out = NULL;
				rc = -EBADMSG;
			}
		}
		if (fd >= 0)
			close(fd);
		free(buf);
		if (rc == 0 || rc == -ENOMEM)
			return rc;
		set_aside(s, name, reason);
		ents_pop(s);
	}
	return -ENOENT;
}

int
ds_spool_pop(struct ds_spool *s)
{
	char name[NAME_MAX_LEN];
	int rc = 0;

	if (s == NULL)
		return -EINVAL;
	if (s->n == 0)
		return -ENOENT;
	file_name(s, s->ents[s->head].minute, s->ents[s->head].seq, name, sizeof(name));
	if (unlinkat(s->dfd, name, 0) != 0)
		rc = -errno;
	ents_pop(s);
	s->st.delivered++;
	return rc;
}

void
ds_spool_stats(const struct ds_spool *s, struct ds_spool_stats *st)
{
	if (st == NULL)
		return;
	if (s == NULL)
		memset(st, 0, sizeof(*st));
	else
		*st = s->st;
}

const char *
ds_spool_dir(const struct ds_spool *s)
{
	return s == NULL ? "" : s->dir;
}

void
ds_spool_close(struct ds_spool *s)
{
	if (s == NULL)
		return;
	if (s->dfd >= 0)
		close(s->dfd);
	free(s->ents);
	free(s);
}
