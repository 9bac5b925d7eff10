/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * JSON-lines sink: every sealed minute becomes one line per feed, in the
 * format of docs/SCHEMA.md:
 *
 *   {"sensor": S, "feed": F, "minute": ISO, "partial": B, "sources_sampling": K,
 *    ["signatures_version": V,] "packets": N, "bytes": N, "sources": N,
 *    "dims": {"proto": {LABEL: {"packets": N, "bytes": N, "sources": N}, ...},
 *             "tcp_dst_port": {LABEL: {"packets": N, "sources": N}, ...}, ...},
 *    "counters": {NAME: N, ...}}
 *
 * The separators are those of Python's json.dumps (", " and ": "), so a
 * reader can compare a line with json.dumps() of what it parsed. Keys come
 * in a fixed order, dimensions in enum order and all of them present (an
 * empty object when the feed saw no such packet), entries in the rollup's
 * order (packets descending) and counters in the rollup's order: the same
 * minute always gives the same bytes.
 *
 * Each line is built in memory and handed to the stream with one fwrite, and
 * the stream is flushed after the minute. A consumer tailing the file thus
 * never sees half a line from us, and a write error (disk full, closed pipe)
 * is reported by this call rather than by some later one.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_jsonl.h"

/* A growable string; a failed allocation latches `oom` so callers check once per line. */
struct sbuf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

static bool
sbuf_reserve(struct sbuf *b, size_t extra)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + extra + 1 <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

static void
sbuf_put(struct sbuf *b, const char *s, size_t n)
{
	if (!sbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_put(b, s, strlen(s));
}

static void
sbuf_u64(struct sbuf *b, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, v);

	sbuf_put(b, num, (size_t)n);
}

/*
 * A JSON string. Quote and backslash are escaped, and every control
 * character as \u00XX: names come from the configuration and may hold
 * anything YAML allows. Bytes >= 0x80 pass through, the config is UTF-8.
 */
static void
sbuf_str(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	sbuf_put(b, "\"", 1);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			sbuf_put(b, esc, 2);
		} else if (c < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };

			sbuf_put(b, esc, 6);
		} else {
			sbuf_put(b, (const char *)&c, 1);
		}
	}
	sbuf_put(b, "\"", 1);
}

/* `"key": ` followed by an unsigned number; `sep` goes in front (", " or ""). */
static void
sbuf_field_u64(struct sbuf *b, const char *sep, const char *key, uint64_t v)
{
	sbuf_puts(b, sep);
	sbuf_str(b, key);
	sbuf_puts(b, ": ");
	sbuf_u64(b, v);
}

/*
 * A value's label as a JSON string. Layout labels are the longest (one name
 * per option byte, well under the stack buffer); a longer one is formatted
 * on the heap rather than cut.
 */
static void
label_json(struct sbuf *b, const struct ds_rollup *r, enum ds_dim d, uint32_t value)
{
	char label[512];
	int n = ds_rollup_label(r, d, value, label, sizeof(label));
	char *big;

	if (n >= 0 && (size_t)n < sizeof(label)) {
		sbuf_str(b, label);
		return;
	}
	big = n > 0 ? malloc((size_t)n + 1) : NULL;
	if (big == NULL) {
		b->oom = true;
		return;
	}
	ds_rollup_label(r, d, value, big, (size_t)n + 1);
	sbuf_str(b, big);
	free(big);
}

static void
dim_json(struct sbuf *b, const struct ds_rollup *r, enum ds_dim d,
	 const struct ds_rollup_dim *dim)
{
	sbuf_str(b, ds_dim_name(d));
	sbuf_puts(b, ": {");
	for (uint32_t i = 0; i < dim->n; i++) {
		const struct ds_rollup_entry *e = &dim->entries[i];

		if (i > 0)
			sbuf_puts(b, ", ");
		label_json(b, r, d, e->value);
		sbuf_field_u64(b, ": {", "packets", e->packets);
		/* Only the protocol dimension carries bytes (SCHEMA.md). */
		if (d == DS_DIM_PROTO)
			sbuf_field_u64(b, ", ", "bytes", e->bytes);
		sbuf_field_u64(b, ", ", "sources", e->sources);
		sbuf_puts(b, "}");
	}
	sbuf_puts(b, "}");
}

static void
feed_json(struct sbuf *b, const struct ds_rollup *r, const struct ds_rollup_feed *f,
	  const char *iso)
{
	sbuf_puts(b, "{\"sensor\": ");
	sbuf_str(b, r->sensor);
	sbuf_puts(b, ", \"feed\": ");
	sbuf_str(b, f->name);
	sbuf_puts(b, ", \"minute\": ");
	sbuf_str(b, iso);
	sbuf_puts(b, r->partial ? ", \"partial\": true" : ", \"partial\": false");
	sbuf_field_u64(b, ", ", "sources_sampling", r->sources_sampling);
	if (r->signatures_version != NULL) {
		sbuf_puts(b, ", \"signatures_version\": ");
		sbuf_str(b, r->signatures_version);
	}
	sbuf_field_u64(b, ", ", "packets", f->packets);
	sbuf_field_u64(b, ", ", "bytes", f->bytes);
	sbuf_field_u64(b, ", ", "sources", f->sources);
	sbuf_puts(b, ", \"dims\": {");
	for (int d = 0; d < DS_DIM_MAX; d++) {
		if (d > 0)
			sbuf_puts(b, ", ");
		dim_json(b, r, (enum ds_dim)d, &f->dims[d]);
	}
	sbuf_puts(b, "}, \"counters\": {");
	for (uint32_t i = 0; i < r->n_counters; i++)
		sbuf_field_u64(b, i > 0 ? ", " : "", r->counters[i].name, r->counters[i].value);
	sbuf_puts(b, "}}\n");
}

int
ds_jsonl_write(FILE *out, const struct ds_rollup *r)
{
	struct sbuf b = { 0 };
	char iso[32];
	int rc = 0;

	if (out == NULL || r == NULL)
		return -EINVAL;
	ds_minute_iso(r->minute, iso, sizeof(iso));
	for (uint32_t i = 0; i < r->n_feeds; i++) {
		b.len = 0;
		feed_json(&b, r, &r->feeds[i], iso);
		if (b.oom) {
			rc = -ENOMEM;
			goto out;
		}
		/* errno only means something after a failed call: clear any stale value. */
		errno = 0;
		if (fwrite(b.p, 1, b.len, out) != b.len) {
			rc = errno ? -errno : -EIO;
			goto out;
		}
	}
	errno = 0;
	if (fflush(out) != 0)
		rc = errno ? -errno : -EIO;
out:
	free(b.p);
	return rc;
}
