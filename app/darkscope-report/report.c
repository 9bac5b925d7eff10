/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The little the stages of darkscope-report share: the arena every report
 * allocates from, the error and note records, and number formatting.
 *
 * The arena hands out memory from 1 MiB chunks (larger requests get a chunk
 * of their own) and frees them all at once: a report reads some hundred
 * thousand labels (65536 ports in each of two periods) that all live
 * exactly as long as the report, so one free beats a hundred thousand.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define CHUNK_SIZE (1u << 20)

struct ds_report_chunk {
	struct ds_report_chunk *next;
	size_t used, size;
	max_align_t data[];
};

const char *const ds_report_ctr_names[DS_REPORT_CTR_MAX] = {
	[DS_REPORT_CTR_IMISSED] = "imissed",
	[DS_REPORT_CTR_RX_NOMBUF] = "rx_nombuf",
	[DS_REPORT_CTR_MALFORMED] = "malformed",
	[DS_REPORT_CTR_DROPPED] = "redis.dropped_total",
	[DS_REPORT_CTR_SKIPPED] = "redis.rollup_skipped_total",
};

const char *const ds_report_kind_names[DS_REPORT_RANK_MAX] = {
	[DS_REPORT_PORTS] = "port",
	[DS_REPORT_COUNTRIES] = "country",
	[DS_REPORT_ASNS] = "asn",
	[DS_REPORT_FPS] = "fingerprint",
};

void *
ds_report_alloc(struct ds_report_arena *a, size_t size)
{
	const size_t align = sizeof(max_align_t);
	struct ds_report_chunk *c = a->head;
	void *p;

	size = (size + align - 1) / align * align;
	if (size == 0)
		size = align;
	if (c == NULL || c->size - c->used < size) {
		size_t cap = size > CHUNK_SIZE / 4 ? size : CHUNK_SIZE;

		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->size = cap;
		c->used = 0;
		/* A big request's chunk goes behind the head: the head keeps filling. */
		if (cap == size && a->head != NULL) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += size;
	memset(p, 0, size);
	return p;
}

char *
ds_report_strndup(struct ds_report_arena *a, const char *s, size_t len)
{
	char *d = ds_report_alloc(a, len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

char *
ds_report_strdup(struct ds_report_arena *a, const char *s)
{
	return ds_report_strndup(a, s, strlen(s));
}

char *
ds_report_sprintf(struct ds_report_arena *a, const char *fmt, ...)
{
	va_list ap;
	char *d;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	d = ds_report_alloc(a, (size_t)n + 1);
	if (d == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(d, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return d;
}

void
ds_report_arena_free(struct ds_report_arena *a)
{
	while (a->head != NULL) {
		struct ds_report_chunk *c = a->head;

		a->head = c->next;
		free(c);
	}
}

int
ds_report_error(struct ds_report *r, int ret, bool usage, const char *fmt, ...)
{
	va_list ap;

	/* The first error is the one the user needs; later ones are its echoes. */
	if (r->errstr[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
		va_end(ap);
		r->usage_error = usage;
	}
	return ret;
}

void
ds_report_note(struct ds_report *r, const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (r->n_notes == r->cap_notes) {
		unsigned int cap = r->cap_notes ? r->cap_notes * 2 : 16;
		const char **n = ds_report_alloc(&r->arena, cap * sizeof(*n));

		if (n == NULL)
			return;
		if (r->n_notes)
			memcpy(n, r->notes, r->n_notes * sizeof(*n));
		r->notes = n;
		r->cap_notes = cap;
	}
	r->notes[r->n_notes] = ds_report_strdup(&r->arena, buf);
	if (r->notes[r->n_notes] != NULL)
		r->n_notes++;
}

void
ds_report_fmt_packets(double v, char *buf, size_t size)
{
	/* Sums are integers; only a per-sensor average has a fraction. */
	if (v == (double)(int64_t)v)
		snprintf(buf, size, "%" PRId64, (int64_t)v);
	else
		snprintf(buf, size, "%.3f", v);
}

const char *
ds_report_home_label(const struct ds_report *r, bool domestic)
{
	static char buf[2][32];

	if (r->opts->home == NULL)
		return domestic ? "domestic" : "overseas";
	snprintf(buf[domestic], sizeof(buf[domestic]), domestic ? "domestic (%s)" :
		 "overseas (not %s)", r->opts->home);
	return buf[domestic];
}
