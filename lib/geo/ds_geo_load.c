/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Geo data loaders: one public file in, flat tables out (struct ds_geo_source).
 *
 * Six formats share one skeleton. A reader hands out lines from a zlib gzFile
 * (gzip or plain, chosen by the magic bytes), each line NUL-terminated in
 * place in one large buffer, so nothing is copied or allocated per line.
 * A per-format function splits the line into fields (runs of blanks for
 * pfx2as, '|' for RIR statistics, RFC 4180 CSV for the rest) and parses
 * them with small hand-written number and address parsers: the full
 * RouteViews table is a million lines and must load in well under a
 * second, which rules out sscanf/strtok per line.
 *
 *   file --reader_next()--> line --<format>_line()--> fields --> push_*() --> out
 *
 * Results go into arrays that double when full and are trimmed at the end.
 * Every mistake stops the load with one message
 *
 *   PATH:LINE: FIELD: what was expected, got "VALUE"
 *
 * naming the column, so an operator can fix the file or the config without
 * reading this code. A gzip stream that ends early or fails its check is an
 * error too: a half-downloaded table must never load as a smaller one.
 * What each format reads and skips is documented in docs/GEO.md.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "ds_geo.h"

/*
 * Read size, longest accepted line (real lines are under 200 bytes) and
 * zlib's buffer. The fuzz build (-Dfuzz=true, docs/FUZZING.md) shrinks them
 * with -D so that inputs of a few kB refill the buffer, carry partial lines
 * over and hit the line limit, which full-size buffers would only do on
 * files of hundreds of kB.
 */
#ifdef DS_GEO_READ_BUF
#define READ_BUF DS_GEO_READ_BUF
#define LINE_MAX_BYTES DS_GEO_LINE_MAX
#define GZ_BUF DS_GEO_GZ_BUF
#else
#define READ_BUF (256u * 1024u)
#define LINE_MAX_BYTES (64u * 1024u)
#define GZ_BUF (128u * 1024u)
#endif
/* reader_next() refills only below LINE_MAX_BYTES: a refill must always have room. */
_Static_assert(READ_BUF > LINE_MAX_BYTES + 1, "the read buffer must hold a longest line");
/* Fields looked at per line; RIR lines may carry more extensions, which are counted only. */
#define MAX_FIELDS 16
/* An RIR asn record expands to one entry per AS: bound what one line may cost. */
#define RIR_ASN_MAX_COUNT 65536u
/* How much of a bad value a message quotes. */
#define ERR_VALUE_MAX 40

/* ------------------------------------------------------------------------------------------ */
/* Errors                                                                                     */
/* ------------------------------------------------------------------------------------------ */

/* A field of the current line: points into the reader's buffer. */
struct field {
	char *s;
	size_t len;
};

/* Writes v into buf as a quoted C-like string, at most ERR_VALUE_MAX bytes of it. */
static void quote_value(char *buf, size_t size, const char *v, size_t len)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; i < len && i < ERR_VALUE_MAX && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20 || ch >= 0x7f) {
			/* Control and non-ASCII bytes would garble a log line. */
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/*
 * Appends to err->msg. Messages with a caller's text in them are built in
 * pieces here, so that a very long path cuts the message short, never more.
 */
__attribute__((format(printf, 2, 3)))
static void msg_add(struct ds_geo_error *err, const char *fmt, ...)
{
	size_t used = strnlen(err->msg, sizeof(err->msg) - 1);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg + used, sizeof(err->msg) - used, fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------------------------------------ */
/* Line reader                                                                                */
/* ------------------------------------------------------------------------------------------ */

struct reader {
	gzFile gz;
	const char *path;
	char *buf;              /* READ_BUF + 1: room for the NUL of an unterminated last line */
	size_t start;           /* first unread byte */
	size_t fill;            /* bytes in buf */
	bool eof;
	size_t line;            /* number of the line last returned */
};

static int reader_open(struct reader *r, const char *path, struct ds_geo_error *err)
{
	struct stat st;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	r->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto fail;
	}
	/* A directory opens fine and only fails at read(): say so up front. */
	rc = fstat(fd, &st) != 0 ? -errno : S_ISDIR(st.st_mode) ? -EISDIR : 0;
	if (rc != 0) {
		close(fd);
		goto fail;
	}
	r->gz = gzdopen(fd, "rb");
	if (r->gz == NULL) {
		close(fd);
		rc = -ENOMEM;
		goto fail;
	}
	/* Larger than zlib's 8 KiB default: fewer read() calls on big files. */
	gzbuffer(r->gz, GZ_BUF);
	r->buf = malloc(READ_BUF + 1);
	if (r->buf == NULL) {
		gzclose(r->gz);
		r->gz = NULL;
		rc = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", path, strerror(-rc));
	return rc;
}

static void reader_close(struct reader *r)
{
	if (r->gz != NULL)
		gzclose(r->gz);
	free(r->buf);
	r->gz = NULL;
	r->buf = NULL;
}

/* zlib prefixes its messages with its own name for the file ("<fd:3>: "); drop it. */
static const char *gz_message(gzFile gz, int *code)
{
	const char *m = gzerror(gz, code);
	const char *colon;

	if (m != NULL && m[0] == '<' && (colon = strstr(m, ": ")) != NULL)
		m = colon + 2;
	return m != NULL ? m : "";
}

/* After gzread() failed or hit the end: was that an error? 0 if the stream ended cleanly. */
static int reader_check(struct reader *r, int n, struct ds_geo_error *err)
{
	int code = Z_OK, e = errno;
	const char *m = gz_message(r->gz, &code);
	char q[4 * ERR_VALUE_MAX + 8];

	if (n >= 0 && code == Z_OK)
		return 0;
	if (code == Z_ERRNO) {
		e = e != 0 ? e : EIO;
		snprintf(err->msg, sizeof(err->msg), "%s: cannot read: %s", r->path, strerror(e));
		return -e;
	}
	if (code == Z_MEM_ERROR) {
		snprintf(err->msg, sizeof(err->msg), "%s: out of memory", r->path);
		return -ENOMEM;
	}
	/* Z_BUF_ERROR: the stream stopped mid-way; Z_DATA_ERROR: corrupt data or check. */
	quote_value(q, sizeof(q), m, strlen(m));
	snprintf(err->msg, sizeof(err->msg),
		 "%s:%zu: gzip: expected a complete, intact gzip stream, got %s",
		 r->path, r->line + 1, q);
	return -EINVAL;
}

/*
 * The next line without its "\n" or "\r\n", NUL-terminated in place.
 * Returns 1 with *line set, 0 at the end of the file, or -errno with err set.
 */
static int reader_next(struct reader *r, struct field *line, struct ds_geo_error *err)
{
	for (;;) {
		char *s = r->buf + r->start;
		char *nl = memchr(s, '\n', r->fill - r->start);
		size_t len;
		int n;

		if (nl != NULL || (r->eof && r->start < r->fill)) {
			/* A complete line, or the last one lacking its newline. */
			len = nl != NULL ? (size_t)(nl - s) : r->fill - r->start;
			if (len > LINE_MAX_BYTES)
				goto too_long;
			r->start += len + (nl != NULL);
			s[len] = '\0';
			if (len > 0 && s[len - 1] == '\r')
				s[--len] = '\0';
			r->line++;
			line->s = s;
			line->len = len;
			return 1;
		}
		if (r->eof)
			return 0;
		/* Keep the partial line, then refill behind it. */
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, r->fill - r->start);
			r->fill -= r->start;
			r->start = 0;
		}
		if (r->fill > LINE_MAX_BYTES)
			goto too_long;
		errno = 0;
		n = gzread(r->gz, r->buf + r->fill, (unsigned int)(READ_BUF - r->fill));
		if (n <= 0) {
			/* End of data: a truncated or corrupt stream is no short file. */
			int rc = reader_check(r, n, err);

			if (rc != 0)
				return rc;
			r->eof = true;
			continue;
		}
		r->fill += (size_t)n;
	}
too_long:
	/* Not a text table of this kind: better said than read as one huge line. */
	snprintf(err->msg, sizeof(err->msg),
		 "%s:%zu: line: expected at most %u bytes, got a longer line",
		 r->path, r->line + 1, LINE_MAX_BYTES);
	return -EINVAL;
}

/* ------------------------------------------------------------------------------------------ */
/* Splitting                                                                                  */
/* ------------------------------------------------------------------------------------------ */

/* Fields separated by runs of tabs and spaces (pfx2as). Returns the number of fields. */
static size_t split_blank(struct field line, struct field *f)
{
	char *p = line.s, *end = line.s + line.len;
	size_t n = 0;

	for (;;) {
		char *start;

		while (p < end && (*p == '\t' || *p == ' '))
			p++;
		if (p == end)
			return n;
		start = p;
		while (p < end && *p != '\t' && *p != ' ')
			p++;
		if (n < MAX_FIELDS)
			f[n] = (struct field){start, (size_t)(p - start)};
		n++;
	}
}

/* Fields separated by one character, each kept as is (RIR statistics). */
static size_t split_char(struct field line, char sep, struct field *f)
{
	char *p = line.s, *end = line.s + line.len;
	size_t n = 0;

	for (;;) {
		char *q = memchr(p, sep, (size_t)(end - p));

		if (q == NULL)
			q = end;
		if (n < MAX_FIELDS)
			f[n] = (struct field){p, (size_t)(q - p)};
		n++;
		if (q == end)
			return n;
		p = q + 1;
	}
}

/*
 * RFC 4180 CSV, in place: a quoted field loses its quotes and "" becomes ".
 * Returns the number of fields, or -1 - i when field i has a broken quote
 * (no closing quote, or text after it); *bad then holds the raw remainder.
 */
static long split_csv(struct field line, struct field *f, struct field *bad)
{
	char *p = line.s, *end = line.s + line.len;
	size_t n = 0;

	for (;;) {
		struct field cur = {p, 0};

		if (p < end && *p == '"') {
			char *r = p + 1, *w = p;

			/* Find the closing quote first: a broken field is quoted as it was. */
			for (;;) {
				r = memchr(r, '"', (size_t)(end - r));
				if (r == NULL)
					goto broken;
				if (r + 1 < end && r[1] == '"') {
					r += 2;
					continue;
				}
				break;
			}
			if (r + 1 < end && r[1] != ',')
				goto broken;
			/* Then drop the quotes and undouble "" in place. */
			for (char *q = p + 1; q < r; q++) {
				*w++ = *q;
				if (*q == '"')
					q++;
			}
			cur.len = (size_t)(w - p);
			p = r + 1;
		} else {
			char *q = memchr(p, ',', (size_t)(end - p));

			if (q == NULL)
				q = end;
			cur.len = (size_t)(q - p);
			p = q;
		}
		if (n < MAX_FIELDS)
			f[n] = cur;
		n++;
		if (p == end)
			return (long)n;
		p++;            /* the comma */
		continue;
broken:
		*bad = (struct field){cur.s, (size_t)(end - cur.s)};
		return -1 - (long)n;
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Numbers and addresses                                                                      */
/* ------------------------------------------------------------------------------------------ */

/* Decimal digits only, value <= max; no sign, no blank (max < 2^60, so v * 10 cannot wrap). */
static bool parse_dec(const struct field *f, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (f->len == 0)
		return false;
	for (size_t i = 0; i < f->len; i++) {
		unsigned int d = (unsigned char)f->s[i] - (unsigned int)'0';

		if (d > 9)
			return false;
		v = v * 10 + d;
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

static bool parse_u32(const struct field *f, uint32_t *out)
{
	uint64_t v;

	if (!parse_dec(f, UINT32_MAX, &v))
		return false;
	*out = (uint32_t)v;
	return true;
}

/* a.b.c.d, each 0-255 without leading zeros (which some parsers read as octal). */
static bool parse_dotted(const char *s, size_t len, uint32_t *out)
{
	const char *p = s, *end = s + len;
	uint32_t a = 0;

	for (int part = 0; part < 4; part++) {
		unsigned int v = 0, digits = 0;

		if (part > 0) {
			if (p == end || *p != '.')
				return false;
			p++;
		}
		while (p < end && *p >= '0' && *p <= '9') {
			if (digits == 1 && v == 0)
				return false;
			v = v * 10 + (unsigned int)(*p++ - '0');
			if (++digits > 3 || v > 255)
				return false;
		}
		if (digits == 0)
			return false;
		a = a << 8 | v;
	}
	if (p != end)
		return false;
	*out = a;
	return true;
}

static bool has_colon(const struct field *f)
{
	return memchr(f->s, ':', f->len) != NULL;
}

static bool field_is(const struct field *f, const char *s)
{
	size_t n = strlen(s);

	return f->len == n && memcmp(f->s, s, n) == 0;
}

/* Bits past a prefix length: the host part. */
static uint32_t host_mask(unsigned int len)
{
	return len >= 32 ? 0 : 0xffffffffu >> len;
}

/* ------------------------------------------------------------------------------------------ */
/* Load state                                                                                 */
/* ------------------------------------------------------------------------------------------ */

/* A geoname id of the MaxMind locations file and its country. */
struct location {
	uint32_t id;
	uint16_t cc;            /* NO_COUNTRY: a continent or other place without a code */
	size_t line;            /* where it was read, for the duplicate message */
};

#define NO_COUNTRY UINT16_MAX

struct loader {
	struct reader rd;
	struct ds_geo_error *err;
	uint32_t provides;
	struct ds_geo_source *out;
	size_t cap_asn, cap_cc, cap_asn_cc;
	const char *header;     /* what the first line must be ("expected ..."); NULL: none */
	bool header_done;
	size_t n_columns;       /* maxmind-country: 6 or 7 */
	struct location *locs;  /* maxmind-country, sorted by id */
	size_t n_locs, cap_locs;
	const char *loc_path;
};

/* "PATH:LINE: FIELD: <expected>, got "VALUE"": the one message a bad line produces. */
__attribute__((format(printf, 4, 5)))
static int bad(struct loader *ld, const char *field, const struct field *value,
	       const char *fmt, ...)
{
	char q[4 * ERR_VALUE_MAX + 8];
	size_t used;
	va_list ap;

	ld->err->msg[0] = '\0';
	msg_add(ld->err, "%s:%zu: %s: ", ld->rd.path, ld->rd.line, field);
	used = strlen(ld->err->msg);
	va_start(ap, fmt);
	vsnprintf(ld->err->msg + used, sizeof(ld->err->msg) - used, fmt, ap);
	va_end(ap);
	quote_value(q, sizeof(q), value->s, value->len);
	msg_add(ld->err, ", got %s", q);
	return -EINVAL;
}

static int bad_count(struct loader *ld, const char *fmt, size_t want, size_t got)
{
	snprintf(ld->err->msg, sizeof(ld->err->msg),
		 "%s:%zu: fields: expected %s%zu fields, got %zu", ld->rd.path, ld->rd.line, fmt,
		 want, got);
	return -EINVAL;
}

static int no_memory(struct loader *ld)
{
	snprintf(ld->err->msg, sizeof(ld->err->msg), "%s: out of memory", ld->rd.path);
	return -ENOMEM;
}

/* Room for `more` elements in *arr: doubles, so a file costs O(log n) reallocs. */
static int grow(struct loader *ld, void **arr, size_t *cap, size_t n, size_t more, size_t size)
{
	size_t want = n + more, c = *cap != 0 ? *cap : 1024;
	void *p;

	if (want <= *cap)
		return 0;
	while (c < want)
		c *= 2;
	if (c > SIZE_MAX / size)
		return no_memory(ld);
	p = realloc(*arr, c * size);
	if (p == NULL)
		return no_memory(ld);
	*arr = p;
	*cap = c;
	return 0;
}

/* One range more; only the array's doubling allocates, never a line. */
static int push_asn(struct loader *ld, uint32_t first, uint32_t last, uint32_t asn)
{
	struct ds_geo_source *o = ld->out;

	if (o->n_asn == ld->cap_asn &&
	    grow(ld, (void **)&o->asn, &ld->cap_asn, o->n_asn, 1, sizeof(*o->asn)) != 0)
		return -ENOMEM;
	o->asn[o->n_asn++] = (struct ds_geo_range){first, last, asn};
	return 0;
}

static int push_cc(struct loader *ld, uint32_t first, uint32_t last, uint16_t cc)
{
	struct ds_geo_source *o = ld->out;

	if (o->n_cc == ld->cap_cc &&
	    grow(ld, (void **)&o->cc, &ld->cap_cc, o->n_cc, 1, sizeof(*o->cc)) != 0)
		return -ENOMEM;
	o->cc[o->n_cc++] = (struct ds_geo_range){first, last, cc};
	return 0;
}

/* A two-letter code; "ZZ" (unknown or unassigned) is DS_CC_UNKNOWN. */
static bool parse_cc(const struct field *f, uint16_t *cc)
{
	char s[3];
	int i;

	if (f->len != 2)
		return false;
	s[0] = f->s[0];
	s[1] = f->s[1];
	s[2] = '\0';
	i = ds_cc_index(s);
	if (i < 0)
		return false;
	*cc = (s[0] | 0x20) == 'z' && (s[1] | 0x20) == 'z' ? DS_CC_UNKNOWN : (uint16_t)i;
	return true;
}

/* ------------------------------------------------------------------------------------------ */
/* caida-pfx2as: A.B.C.D <TAB> LEN <TAB> ASNS                                                */
/* ------------------------------------------------------------------------------------------ */

/*
 * ASNS lists the origins seen for the prefix: "a_b" for several origins
 * (MOAS), "a,b" for an AS set, or both. A source is counted under one AS, so
 * one must be chosen; the first number listed is a choice anyone can
 * reproduce from the file with cut(1). The rest must still be well-formed.
 */
static bool parse_origins(const struct field *f, uint32_t *first)
{
	const char *p = f->s, *end = f->s + f->len;
	bool have = false;

	for (;;) {
		struct field num = {(char *)p, 0};
		uint32_t v;

		while (p < end && *p != '_' && *p != ',')
			p++;
		num.len = (size_t)(p - num.s);
		if (!parse_u32(&num, &v))
			return false;
		if (!have) {
			*first = v;
			have = true;
		}
		if (p == end)
			return true;
		p++;            /* the separator: a number must follow */
	}
}

static int pfx2as_line(struct loader *ld, struct field line)
{
	struct field f[MAX_FIELDS];
	size_t n = split_blank(line, f);
	uint64_t len;
	uint32_t addr, asn;

	if (n != 3)
		return bad_count(ld, "", 3, n);
	/* RouteViews publishes IPv6 in a separate file, but a mixed one must still load. */
	if (has_colon(&f[0])) {
		ld->out->skipped++;
		return 0;
	}
	if (!parse_dotted(f[0].s, f[0].len, &addr))
		return bad(ld, "prefix", &f[0], "expected a dotted IPv4 address");
	/* Host bits set mean a damaged line, not a prefix: refuse rather than mask. */
	if (!parse_dec(&f[1], 32, &len))
		return bad(ld, "length", &f[1], "expected a prefix length 0-32");
	if ((addr & host_mask((unsigned int)len)) != 0)
		return bad(ld, "prefix", &f[0], "expected host bits zero for /%u",
			   (unsigned int)len);
	if (!parse_origins(&f[2], &asn))
		return bad(ld, "asn", &f[2],
			   "expected AS numbers 0-4294967295 separated by '_' or ','");
	return push_asn(ld, addr, addr | host_mask((unsigned int)len), asn);
}

/* ------------------------------------------------------------------------------------------ */
/* ip-location-db: start,end,asn,org and start,end,cc                                        */
/* ------------------------------------------------------------------------------------------ */

static const char *const iploc_asn_columns[] = {"start", "end", "asn", "org"};
static const char *const iploc_cc_columns[] = {"start", "end", "cc"};

/* A dotted address, or the same as an unsigned number (the "-num" files). */
static bool parse_addr_or_num(const struct field *f, uint32_t *out)
{
	if (memchr(f->s, '.', f->len) != NULL)
		return parse_dotted(f->s, f->len, out);
	return parse_u32(f, out);
}

/* Splits a CSV line into exactly `ncol` fields named by `cols`. */
static int csv_fields(struct loader *ld, struct field line, const char *const *cols, size_t ncol,
		      struct field *f)
{
	struct field rest;
	long n = split_csv(line, f, &rest);

	if (n < 0) {
		size_t i = (size_t)(-1 - n);

		return bad(ld, i < ncol ? cols[i] : "fields", &rest,
			   "expected a quoted field to end with '\"' before ',' or the line end");
	}
	if ((size_t)n != ncol)
		return bad_count(ld, "", ncol, (size_t)n);
	return 0;
}

/* start and end of an ip-location-db row; 1 for an IPv6 row (skip), 0 or -EINVAL. */
static int iploc_range(struct loader *ld, struct field *f, uint32_t *first, uint32_t *last)
{
	/* The IPv6 files share the layout; a ':' is never part of an IPv4 bound. */
	if (has_colon(&f[0]) || has_colon(&f[1])) {
		ld->out->skipped++;
		return 1;
	}
	if (!parse_addr_or_num(&f[0], first))
		return bad(ld, "start", &f[0],
			   "expected a dotted IPv4 address or a number 0-4294967295");
	if (!parse_addr_or_num(&f[1], last))
		return bad(ld, "end", &f[1],
			   "expected a dotted IPv4 address or a number 0-4294967295");
	if (*last < *first)
		return bad(ld, "end", &f[1], "expected an address not below start");
	return 0;
}

static int iploc_asn_line(struct loader *ld, struct field line)
{
	struct field f[MAX_FIELDS];
	uint32_t first, last, asn;
	int rc;

	rc = csv_fields(ld, line, iploc_asn_columns, 4, f);
	if (rc == 0)
		rc = iploc_range(ld, f, &first, &last);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (!parse_u32(&f[2], &asn))
		return bad(ld, "asn", &f[2], "expected an AS number 0-4294967295");
	/* The org name (f[3]) is free text and not kept. */
	return push_asn(ld, first, last, asn);
}

static int iploc_cc_line(struct loader *ld, struct field line)
{
	struct field f[MAX_FIELDS];
	uint32_t first, last;
	uint16_t cc;
	int rc;

	rc = csv_fields(ld, line, iploc_cc_columns, 3, f);
	if (rc == 0)
		rc = iploc_range(ld, f, &first, &last);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (!parse_cc(&f[2], &cc))
		return bad(ld, "cc", &f[2], "expected a two-letter country code");
	return push_cc(ld, first, last, cc);
}

/* ------------------------------------------------------------------------------------------ */
/* rir-delegated: registry|cc|type|start|value|date|status[|opaque-id[|extensions]]          */
/* ------------------------------------------------------------------------------------------ */

/* "2" or "2.3": the first field of the version line. */
static bool is_version(const struct field *f)
{
	bool digit = false;

	for (size_t i = 0; i < f->len; i++) {
		if (f->s[i] >= '0' && f->s[i] <= '9')
			digit = true;
		else if (f->s[i] != '.' || !digit)
			return false;
		else
			digit = false;
	}
	return digit;
}

static int rir_asn(struct loader *ld, struct field *f, uint16_t cc)
{
	struct ds_geo_source *o = ld->out;
	uint32_t start;
	uint64_t count;

	if (!parse_u32(&f[3], &start))
		return bad(ld, "start", &f[3], "expected an AS number 0-4294967295");
	if (!parse_dec(&f[4], RIR_ASN_MAX_COUNT, &count) || count == 0)
		return bad(ld, "value", &f[4], "expected an AS count 1-%u", RIR_ASN_MAX_COUNT);
	if (start + count - 1 > UINT32_MAX)
		return bad(ld, "value", &f[4], "expected an AS count that ends by AS4294967295");
	/* Checked even when not kept: a file is good or not, whatever part a config uses. */
	if (!(ld->provides & DS_GEO_ASN_COUNTRY))
		return 0;
	if (grow(ld, (void **)&o->asn_cc, &ld->cap_asn_cc, o->n_asn_cc, (size_t)count,
		 sizeof(*o->asn_cc)) != 0)
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++)
		o->asn_cc[o->n_asn_cc++] = (struct ds_geo_asn_cc){(uint32_t)(start + i), cc};
	return 0;
}

static int rir_ipv4(struct loader *ld, struct field *f, uint16_t cc)
{
	uint32_t start;
	uint64_t count;

	if (!parse_dotted(f[3].s, f[3].len, &start))
		return bad(ld, "start", &f[3], "expected a dotted IPv4 address");
	/* Any count, not only powers of two: RIRs record merged blocks. */
	if (!parse_dec(&f[4], 1ull << 32, &count) || count == 0)
		return bad(ld, "value", &f[4], "expected an address count 1-4294967296");
	if (start + count - 1 > UINT32_MAX)
		return bad(ld, "value", &f[4], "expected an address count that ends by "
			   "255.255.255.255");
	if (!(ld->provides & DS_GEO_PREFIX_COUNTRY))
		return 0;
	return push_cc(ld, start, (uint32_t)(start + count - 1), cc);
}

static int rir_line(struct loader *ld, struct field line)
{
	struct field f[MAX_FIELDS];
	size_t n;
	bool asn;
	uint16_t cc;

	if (line.s[0] == '#')
		return 0;
	/* '|' never appears inside a field, so no quoting rules apply. */
	n = split_char(line, '|', f);
	if (!ld->header_done) {
		/* version|registry|serial|records|startdate|enddate|UTCoffset */
		if (n < 7 || !is_version(&f[0]))
			return bad(ld, "header", &line, "%s", ld->header);
		ld->header_done = true;
		return 0;
	}
	/* registry|*|type|*|count|summary */
	if (n == 6 && field_is(&f[1], "*") && field_is(&f[5], "summary"))
		return 0;
	if (n < 7)
		return bad_count(ld, "at least ", 7, n);
	if (field_is(&f[2], "ipv6")) {
		ld->out->skipped++;
		return 0;
	}
	asn = field_is(&f[2], "asn");
	if (!asn && !field_is(&f[2], "ipv4"))
		return bad(ld, "type", &f[2], "expected asn, ipv4 or ipv6");
	/* Space the registry holds back or has not handed out: nobody's country yet. */
	if (field_is(&f[6], "available") || field_is(&f[6], "reserved")) {
		ld->out->skipped++;
		return 0;
	}
	if (!field_is(&f[6], "allocated") && !field_is(&f[6], "assigned"))
		return bad(ld, "status", &f[6],
			   "expected allocated, assigned, available or reserved");
	if (f[1].len == 0) {
		ld->out->skipped++;             /* delegated, but no country given */
		return 0;
	}
	if (!parse_cc(&f[1], &cc))
		return bad(ld, "cc", &f[1], "expected a two-letter country code");
	if (cc == DS_CC_UNKNOWN) {
		ld->out->skipped++;             /* "ZZ" */
		return 0;
	}
	return asn ? rir_asn(ld, f, cc) : rir_ipv4(ld, f, cc);
}

/* ------------------------------------------------------------------------------------------ */
/* MaxMind GeoLite2 CSV                                                                       */
/* ------------------------------------------------------------------------------------------ */

static const char *const mm_asn_columns[] = {
	"network", "autonomous_system_number", "autonomous_system_organization",
};
static const char *const mm_country_columns[] = {
	"network", "geoname_id", "registered_country_geoname_id",
	"represented_country_geoname_id", "is_anonymous_proxy", "is_satellite_provider",
	"is_anycast",
};
static const char *const mm_location_columns[] = {
	"geoname_id", "locale_code", "continent_code", "continent_name", "country_iso_code",
	"country_name", "is_in_european_union",
};

#define MM_ASN_HEADER "network,autonomous_system_number,autonomous_system_organization"
#define MM_COUNTRY_HEADER "network,geoname_id,registered_country_geoname_id," \
	"represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider"
#define MM_LOCATION_HEADER "geoname_id,locale_code,continent_code,continent_name," \
	"country_iso_code,country_name,is_in_european_union"

/* a.b.c.d/len with host bits zero; 1 for an IPv6 network (skip), 0 or -EINVAL. */
static int mm_network(struct loader *ld, struct field *f, uint32_t *first, uint32_t *last)
{
	const char *slash = memchr(f->s, '/', f->len);
	struct field len_field;
	uint64_t len;
	uint32_t addr;

	if (has_colon(f)) {
		ld->out->skipped++;
		return 1;
	}
	if (slash == NULL)
		return bad(ld, "network", f, "expected an IPv4 network a.b.c.d/0-32");
	len_field = (struct field){(char *)slash + 1, f->len - (size_t)(slash + 1 - f->s)};
	if (!parse_dotted(f->s, (size_t)(slash - f->s), &addr) ||
	    !parse_dec(&len_field, 32, &len))
		return bad(ld, "network", f, "expected an IPv4 network a.b.c.d/0-32");
	if ((addr & host_mask((unsigned int)len)) != 0)
		return bad(ld, "network", f, "expected host bits zero for /%u", (unsigned int)len);
	*first = addr;
	*last = addr | host_mask((unsigned int)len);
	return 0;
}

static int mm_asn_line(struct loader *ld, struct field line)
{
	struct field f[MAX_FIELDS];
	uint32_t first, last, asn;
	int rc;

	/*
	 * Headers are compared word for word: columns are found by position, and a
	 * release that moved one would otherwise load as wrong numbers.
	 */
	if (!ld->header_done) {
		if (!field_is(&line, MM_ASN_HEADER))
			return bad(ld, "header", &line, "%s", ld->header);
		ld->header_done = true;
		return 0;
	}
	rc = csv_fields(ld, line, mm_asn_columns, 3, f);
	if (rc == 0)
		rc = mm_network(ld, &f[0], &first, &last);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (!parse_u32(&f[1], &asn))
		return bad(ld, "autonomous_system_number", &f[1],
			   "expected an AS number 0-4294967295");
	return push_asn(ld, first, last, asn);
}

static int location_cmp(const void *a, const void *b)
{
	uint32_t x = ((const struct location *)a)->id, y = ((const struct location *)b)->id;

	return (x > y) - (x < y);
}

/* A few hundred locations: a binary search per block needs no hash table. */
static const struct location *location_find(const struct loader *ld, uint32_t id)
{
	size_t lo = 0, hi = ld->n_locs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ld->locs[mid].id == id)
			return &ld->locs[mid];
		if (ld->locs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* One row of GeoLite2-Country-Locations-*.csv: geoname id -> country (or none). */
static int mm_location_line(struct loader *ld, struct field line)
{
	struct field f[MAX_FIELDS];
	struct location loc;
	int rc;

	if (!ld->header_done) {
		if (!field_is(&line, MM_LOCATION_HEADER))
			return bad(ld, "header", &line, "%s", ld->header);
		ld->header_done = true;
		return 0;
	}
	rc = csv_fields(ld, line, mm_location_columns, 7, f);
	if (rc != 0)
		return rc;
	if (!parse_u32(&f[0], &loc.id))
		return bad(ld, "geoname_id", &f[0], "expected a geoname id 0-4294967295");
	loc.cc = NO_COUNTRY;
	if (f[4].len != 0 && !parse_cc(&f[4], &loc.cc))
		return bad(ld, "country_iso_code", &f[4],
			   "expected a two-letter country code or nothing");
	loc.line = ld->rd.line;
	if (ld->n_locs == ld->cap_locs &&
	    grow(ld, (void **)&ld->locs, &ld->cap_locs, ld->n_locs, 1, sizeof(*ld->locs)) != 0)
		return -ENOMEM;
	ld->locs[ld->n_locs++] = loc;
	return 0;
}

/* The country of a block's geoname id (NO_COUNTRY for a continent): 0 or -EINVAL. */
static int mm_country_of(struct loader *ld, const char *column, struct field *f, uint16_t *cc)
{
	const struct location *loc;
	uint32_t id;

	if (!parse_u32(f, &id))
		return bad(ld, column, f, "expected a geoname id 0-4294967295");
	loc = location_find(ld, id);
	if (loc == NULL)
		return bad(ld, column, f, "expected a geoname id listed in %s", ld->loc_path);
	*cc = loc->cc;
	return 0;
}

static int mm_country_line(struct loader *ld, struct field line)
{
	struct field f[MAX_FIELDS];
	uint16_t geo = NO_COUNTRY, reg = NO_COUNTRY, cc;
	uint32_t first, last;
	int rc;

	if (!ld->header_done) {
		/* is_anycast was appended in 2023; older files lack it. */
		if (field_is(&line, MM_COUNTRY_HEADER))
			ld->n_columns = 6;
		else if (field_is(&line, MM_COUNTRY_HEADER ",is_anycast"))
			ld->n_columns = 7;
		else
			return bad(ld, "header", &line, "%s", ld->header);
		ld->header_done = true;
		return 0;
	}
	rc = csv_fields(ld, line, mm_country_columns, ld->n_columns, f);
	if (rc == 0)
		rc = mm_network(ld, &f[0], &first, &last);
	if (rc != 0)
		return rc < 0 ? rc : 0;
	/*
	 * Both ids must be known, even the one not used: an unknown id means the
	 * two files come from different releases.
	 */
	if (f[1].len != 0 && (rc = mm_country_of(ld, "geoname_id", &f[1], &geo)) != 0)
		return rc;
	if (f[2].len != 0 &&
	    (rc = mm_country_of(ld, "registered_country_geoname_id", &f[2], &reg)) != 0)
		return rc;
	/* The registry country is what telescope reports rank by; the located one stands in. */
	cc = f[2].len != 0 ? reg : geo;
	if (cc == NO_COUNTRY) {
		ld->out->skipped++;     /* no id, or a continent */
		return 0;
	}
	return push_cc(ld, first, last, cc);
}

/* ------------------------------------------------------------------------------------------ */
/* Entry points                                                                               */
/* ------------------------------------------------------------------------------------------ */

/* The YAML name of one DS_GEO_* bit. */
static const char *provides_name(uint32_t bit)
{
	switch (bit) {
	case DS_GEO_PREFIX_ASN:
		return "prefix_asn";
	case DS_GEO_PREFIX_COUNTRY:
		return "prefix_country";
	case DS_GEO_ASN_COUNTRY:
		return "asn_country";
	default:
		return NULL;
	}
}

/* Reads every line of the open reader through fn; empty lines are skipped. */
static int load_lines(struct loader *ld, int (*fn)(struct loader *, struct field))
{
	struct field line;
	int rc;

	while ((rc = reader_next(&ld->rd, &line, ld->err)) > 0) {
		if (line.len == 0)
			continue;
		rc = fn(ld, line);
		if (rc != 0)
			return rc;
	}
	if (rc == 0 && ld->header != NULL && !ld->header_done) {
		/* An empty file (or only comments) where a header must come first. */
		struct field none = {(char *)"", 0};

		ld->rd.line++;
		return bad(ld, "header", &none, "%s", ld->header);
	}
	return rc;
}

/* The locations file of maxmind-country, sorted by id for lookups. */
static int load_locations(struct loader *ld, const char *path)
{
	int rc;

	rc = reader_open(&ld->rd, path, ld->err);
	if (rc != 0)
		return rc;
	ld->header = "expected \"" MM_LOCATION_HEADER "\"";
	rc = load_lines(ld, mm_location_line);
	if (rc == 0 && ld->n_locs > 0) {
		qsort(ld->locs, ld->n_locs, sizeof(*ld->locs), location_cmp);
		for (size_t i = 1; i < ld->n_locs; i++) {
			const struct location *a = &ld->locs[i - 1], *b = &ld->locs[i];

			if (a->id == b->id) {
				/* qsort is not stable: name the later line, cite the earlier. */
				size_t later = a->line > b->line ? a->line : b->line;
				size_t earlier = a->line < b->line ? a->line : b->line;

				snprintf(ld->err->msg, sizeof(ld->err->msg),
					 "%s:%zu: geoname_id: expected each id once, got \"%u\" "
					 "again (line %zu)", path, later, a->id, earlier);
				rc = -EINVAL;
				break;
			}
		}
	}
	reader_close(&ld->rd);
	ld->header_done = false;
	return rc;
}

/* Trims an array to its length; a failed shrink keeps the larger block. */
static void *trim(void *p, size_t n, size_t size)
{
	void *q;

	if (p == NULL || n == 0) {
		free(p);
		return NULL;
	}
	q = realloc(p, n * size);
	return q != NULL ? q : p;
}

int
ds_geo_load(enum ds_geo_format fmt, const char *path, const char *locations,
	    uint32_t provides, struct ds_geo_source *out, struct ds_geo_error *err)
{
	static int (*const line_fn[DS_GEO_FORMAT_MAX])(struct loader *, struct field) = {
		[DS_GEO_CAIDA_PFX2AS] = pfx2as_line,
		[DS_GEO_IPLOC_ASN] = iploc_asn_line,
		[DS_GEO_IPLOC_COUNTRY] = iploc_cc_line,
		[DS_GEO_RIR_DELEGATED] = rir_line,
		[DS_GEO_MAXMIND_ASN] = mm_asn_line,
		[DS_GEO_MAXMIND_COUNTRY] = mm_country_line,
	};
	/* What the first line must be, as the message says it. */
	static const char *const headers[DS_GEO_FORMAT_MAX] = {
		[DS_GEO_RIR_DELEGATED] = "expected a version line "
			"\"2|registry|serial|records|startdate|enddate|UTCoffset\"",
		[DS_GEO_MAXMIND_ASN] = "expected \"" MM_ASN_HEADER "\"",
		[DS_GEO_MAXMIND_COUNTRY] = "expected \"" MM_COUNTRY_HEADER
			"\" (optionally followed by \",is_anycast\")",
	};
	struct loader ld = {.err = err, .provides = provides, .out = out};
	uint32_t can = ds_geo_format_provides(fmt), extra = provides & ~can;
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (out == NULL || err == NULL)
		return -EINVAL;
	err->msg[0] = '\0';
	if ((unsigned int)fmt >= DS_GEO_FORMAT_MAX) {
		snprintf(err->msg, sizeof(err->msg), "ds_geo_load: unknown format %d", (int)fmt);
		return -EINVAL;
	}
	if (path == NULL || path[0] == '\0') {
		snprintf(err->msg, sizeof(err->msg), "ds_geo_load: %s: no file given",
			 ds_geo_format_name(fmt));
		return -EINVAL;
	}
	if (provides == 0) {
		snprintf(err->msg, sizeof(err->msg), "%s: %s: nothing to provide", path,
			 ds_geo_format_name(fmt));
		return -EINVAL;
	}
	if (extra != 0) {
		uint32_t bit = extra & -extra;

		msg_add(err, "%s: %s cannot provide ", path, ds_geo_format_name(fmt));
		if (provides_name(bit) != NULL)
			msg_add(err, "%s", provides_name(bit));
		else
			msg_add(err, "0x%x", bit);
		return -EINVAL;
	}
	if (fmt == DS_GEO_MAXMIND_COUNTRY) {
		if (locations == NULL || locations[0] == '\0') {
			snprintf(err->msg, sizeof(err->msg),
				 "%s: maxmind-country needs its locations file", path);
			return -EINVAL;
		}
		ld.loc_path = locations;
		rc = load_locations(&ld, locations);
		if (rc != 0)
			goto out;
	}
	rc = reader_open(&ld.rd, path, err);
	if (rc != 0)
		goto out;
	ld.header = headers[fmt];
	rc = load_lines(&ld, line_fn[fmt]);
	out->lines = ld.rd.line;
	reader_close(&ld.rd);
	if (rc == 0) {
		out->asn = trim(out->asn, out->n_asn, sizeof(*out->asn));
		out->cc = trim(out->cc, out->n_cc, sizeof(*out->cc));
		out->asn_cc = trim(out->asn_cc, out->n_asn_cc, sizeof(*out->asn_cc));
	}
out:
	free(ld.locs);
	if (rc != 0)
		ds_geo_source_free(out);
	return rc;
}

void
ds_geo_source_free(struct ds_geo_source *s)
{
	if (s == NULL)
		return;
	free(s->asn);
	free(s->cc);
	free(s->asn_cc);
	memset(s, 0, sizeof(*s));
}
