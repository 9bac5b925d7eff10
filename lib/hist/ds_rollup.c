/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Construction, labelling and freeing of struct ds_rollup. The merge in
 * ds_hist.c fills rollups; the sinks only read them. Kept apart from the
 * merge so that sink tests can build rollups by hand.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ds_rollup.h"

static const char *const dim_names[DS_DIM_MAX] = {
	[DS_DIM_PROTO] = "proto",
	[DS_DIM_TCP_DST_PORT] = "tcp_dst_port",
	[DS_DIM_UDP_DST_PORT] = "udp_dst_port",
	[DS_DIM_ICMP] = "icmp",
	[DS_DIM_ICMP6] = "icmp6",
	[DS_DIM_TCP_SYN_WINDOW] = "tcp_syn_window",
	[DS_DIM_TCP_SYN_OPTIONS] = "tcp_syn_options",
	[DS_DIM_SRC_COUNTRY] = "src_country",
	[DS_DIM_SRC_ASN] = "src_asn",
	[DS_DIM_SRC_HOME] = "src_home",
	[DS_DIM_TCP_FINGERPRINT] = "tcp_fingerprint",
	[DS_DIM_SIGNATURE] = "signature",
	[DS_DIM_SIGNATURE_COUNTRY] = "signature_country",
	[DS_DIM_SIGNATURE_HOME] = "signature_home",
	[DS_DIM_WATCH] = "watch",
	[DS_DIM_WATCH_COUNTRY] = "watch_country",
	[DS_DIM_WATCH_HOME] = "watch_home",
};


int
ds_cc_index(const char *cc)
{
	int a, b;

	if (cc == NULL || cc[0] == '\0' || cc[1] == '\0' || cc[2] != '\0')
		return -1;
	a = (cc[0] | 0x20) - 'a';
	b = (cc[1] | 0x20) - 'a';
	if (a < 0 || a > 25 || b < 0 || b > 25)
		return -1;
	return a * 26 + b;
}

void
ds_cc_name(uint32_t idx, char *buf, size_t len)
{
	if (idx < DS_CC_CODES)
		snprintf(buf, len, "%c%c", 'A' + idx / 26, 'A' + idx % 26);
	else if (idx == DS_CC_BOGON)
		snprintf(buf, len, "bogon");
	else if (idx == DS_CC_UNROUTED)
		snprintf(buf, len, "unrouted");
	else
		snprintf(buf, len, "unknown");
}

const char *
ds_dim_name(enum ds_dim dim)
{
	if ((unsigned int)dim >= DS_DIM_MAX)
		return "unknown";
	return dim_names[dim];
}

struct ds_rollup *
ds_rollup_create(const char *sensor, int64_t minute, uint32_t n_feeds,
		 const char *const *feed_names)
{
	struct ds_rollup *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->minute = minute;
	r->sensor = strdup(sensor);
	r->feeds = calloc(n_feeds ? n_feeds : 1, sizeof(*r->feeds));
	if (r->sensor == NULL || r->feeds == NULL)
		goto fail;
	r->n_feeds = n_feeds;
	for (uint32_t i = 0; i < n_feeds; i++) {
		r->feeds[i].name = strdup(feed_names[i]);
		if (r->feeds[i].name == NULL)
			goto fail;
	}
	return r;
fail:
	ds_rollup_free(r);
	errno = ENOMEM;
	return NULL;
}

void
ds_rollup_free(struct ds_rollup *r)
{
	if (r == NULL)
		return;
	for (uint32_t i = 0; r->feeds != NULL && i < r->n_feeds; i++) {
		free(r->feeds[i].name);
		for (int d = 0; d < DS_DIM_MAX; d++)
			free(r->feeds[i].dims[d].entries);
	}
	for (int d = 0; d < DS_DIM_MAX; d++) {
		for (uint32_t i = 0; i < r->names[d].n; i++)
			free(r->names[d].v[i]);
		free(r->names[d].v);
	}
	for (uint32_t i = 0; i < r->n_srcsets; i++)
		free(r->srcsets[i].src);
	free(r->srcsets);
	free(r->signatures_version);
	free(r->counters);
	free(r->feeds);
	free(r->sensor);
	free(r);
}

int
ds_rollup_dim_resize(struct ds_rollup_dim *d, uint32_t n)
{
	struct ds_rollup_entry *e = calloc(n ? n : 1, sizeof(*e));

	if (e == NULL)
		return -ENOMEM;
	free(d->entries);
	d->entries = e;
	d->n = n;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct ds_rollup_entry *x = a, *y = b;

	if (x->packets != y->packets)
		return x->packets > y->packets ? -1 : 1;
	return (x->value > y->value) - (x->value < y->value);
}

void
ds_rollup_dim_sort(struct ds_rollup_dim *d)
{
	if (d->n > 1)
		qsort(d->entries, d->n, sizeof(d->entries[0]), entry_cmp);
}

int
ds_rollup_name_add(struct ds_rollup *r, enum ds_dim dim, const char *label)
{
	struct ds_rollup_names *nm = &r->names[dim];
	char **l = realloc(nm->v, (nm->n + 1) * sizeof(*l));

	if (l == NULL)
		return -ENOMEM;
	nm->v = l;
	l[nm->n] = strdup(label);
	if (l[nm->n] == NULL)
		return -ENOMEM;
	return (int)nm->n++;
}

int
ds_rollup_layout_add(struct ds_rollup *r, const char *label)
{
	return ds_rollup_name_add(r, DS_DIM_TCP_SYN_OPTIONS, label);
}

int
ds_rollup_set_signatures_version(struct ds_rollup *r, const char *version)
{
	char *v = strdup(version);

	if (v == NULL)
		return -ENOMEM;
	free(r->signatures_version);
	r->signatures_version = v;
	return 0;
}

int
ds_rollup_srcset_add(struct ds_rollup *r, uint32_t feed, uint32_t dim, uint32_t value,
		     uint32_t *src, uint32_t n)
{
	if (r->n_srcsets == r->cap_srcsets) {
		uint32_t cap = r->cap_srcsets ? r->cap_srcsets * 2 : 16;
		struct ds_rollup_srcset *s = realloc(r->srcsets, cap * sizeof(*s));

		if (s == NULL) {
			free(src);
			return -ENOMEM;
		}
		r->srcsets = s;
		r->cap_srcsets = cap;
	}
	r->srcsets[r->n_srcsets++] = (struct ds_rollup_srcset){feed, dim, value, n, src};
	return 0;
}

/* names[dim][i], or a stand-in when the index is unknown. */
static const char *
name_of(const struct ds_rollup *r, enum ds_dim dim, uint32_t i, char *tmp, size_t len)
{
	if (i < r->names[dim].n)
		return r->names[dim].v[i];
	snprintf(tmp, len, "%s%u", dim == DS_DIM_WATCH ? "rule" : "#", i);
	return tmp;
}

static const char *
home_name(uint32_t h)
{
	return h == DS_HOME_DOMESTIC ? "domestic" : h == DS_HOME_OVERSEAS ? "overseas" : "unknown";
}

static struct ds_rollup_counter *
counter_find(const struct ds_rollup *r, const char *name)
{
	for (uint32_t i = 0; i < r->n_counters; i++)
		if (strcmp(r->counters[i].name, name) == 0)
			return &r->counters[i];
	return NULL;
}

int
ds_rollup_counter_add(struct ds_rollup *r, const char *name, uint64_t value)
{
	struct ds_rollup_counter *c = counter_find(r, name);

	if (c != NULL) {
		c->value += value;
		return 0;
	}
	if (r->n_counters == r->cap_counters) {
		uint32_t cap = r->cap_counters ? r->cap_counters * 2 : 32;
		c = realloc(r->counters, cap * sizeof(*c));
		if (c == NULL)
			return -ENOMEM;
		r->counters = c;
		r->cap_counters = cap;
	}
	c = &r->counters[r->n_counters++];
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->value = value;
	return 0;
}

uint64_t
ds_rollup_counter_get(const struct ds_rollup *r, const char *name)
{
	const struct ds_rollup_counter *c = counter_find(r, name);

	return c != NULL ? c->value : 0;
}

int
ds_rollup_label(const struct ds_rollup *r, enum ds_dim dim, uint32_t value, char *buf,
		size_t len)
{
	if (value == DS_ROLLUP_OTHER)
		return snprintf(buf, len, "other");
	switch (dim) {
	case DS_DIM_ICMP:
	case DS_DIM_ICMP6:
		return snprintf(buf, len, "%u/%u", value >> 8, value & 0xff);
	case DS_DIM_TCP_SYN_OPTIONS:
	case DS_DIM_TCP_FINGERPRINT:
	case DS_DIM_SIGNATURE:
	case DS_DIM_WATCH: {
		char tmp[24];

		return snprintf(buf, len, "%s", name_of(r, dim, value, tmp, sizeof(tmp)));
	}
	case DS_DIM_SIGNATURE_COUNTRY:
	case DS_DIM_WATCH_COUNTRY: {
		enum ds_dim base = dim == DS_DIM_WATCH_COUNTRY ? DS_DIM_WATCH : DS_DIM_SIGNATURE;
		char tmp[24], cc[16];

		ds_cc_name(value & 1023, cc, sizeof(cc));
		return snprintf(buf, len, "%s/%s", name_of(r, base, value >> 10, tmp, sizeof(tmp)),
				cc);
	}
	case DS_DIM_SIGNATURE_HOME:
	case DS_DIM_WATCH_HOME: {
		enum ds_dim base = dim == DS_DIM_WATCH_HOME ? DS_DIM_WATCH : DS_DIM_SIGNATURE;
		char tmp[24];

		return snprintf(buf, len, "%s/%s", name_of(r, base, value >> 2, tmp, sizeof(tmp)),
				home_name(value & 3));
	}
	case DS_DIM_SRC_COUNTRY: {
		char cc[16];

		/* Through a local buffer: callers may measure with buf NULL, len 0. */
		ds_cc_name(value, cc, sizeof(cc));
		return snprintf(buf, len, "%s", cc);
	}
	case DS_DIM_SRC_ASN:
		if (value == DS_ASN_UNROUTED)
			return snprintf(buf, len, "unrouted");
		if (value == DS_ASN_BOGON)
			return snprintf(buf, len, "bogon");
		if (value == DS_ASN_UNKNOWN)
			return snprintf(buf, len, "unknown");
		return snprintf(buf, len, "%u", value);
	case DS_DIM_SRC_HOME:
		return snprintf(buf, len, "%s", home_name(value));
	default:
		return snprintf(buf, len, "%u", value);
	}
}

static void
minute_tm(int64_t minute, struct tm *tm)
{
	time_t t = (time_t)(minute * 60);

	gmtime_r(&t, tm);
}

void
ds_minute_iso(int64_t minute, char *buf, size_t len)
{
	struct tm tm;

	minute_tm(minute, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:00Z", &tm);
}

void
ds_minute_key(int64_t minute, char *buf, size_t len)
{
	struct tm tm;

	minute_tm(minute, &tm);
	strftime(buf, len, "%Y%m%d%H%M", &tm);
}
