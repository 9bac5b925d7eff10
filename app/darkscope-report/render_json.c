/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The JSON form of the report (docs/REPORT.md, "JSON"), for machines.
 *
 * Written by a small streaming writer rather than built as a tree: the
 * document mirrors struct ds_report section by section, and a writer that
 * only tracks "first element at this depth?" keeps the commas right with no
 * allocation. Strings are escaped per RFC 8259 (labels come from Redis and
 * may hold anything); bytes that are not valid UTF-8 become U+FFFD so the
 * document always parses. Absent figures are null, never 0: a previous rank
 * of null means "no packets in the previous period", which 0 would blur.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report.h"

#define DEPTH_MAX 16

/* The writer: first[d] is true until depth d has had its first member. */
struct jw {
	FILE *f;
	int depth;
	bool first[DEPTH_MAX];
};

static void
indent(struct jw *w)
{
	int i;

	fputc('\n', w->f);
	for (i = 0; i < w->depth; i++)
		fputs("  ", w->f);
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and beyond U+10FFFF are not valid. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static void
put_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p != '\0') {
		size_t n;

		if (*p == '"' || *p == '\\') {
			fputc('\\', f);
			fputc(*p++, f);
		} else if (*p < 0x20) {
			fprintf(f, "\\u%04x", *p++);
		} else if ((n = utf8_len(p)) == 0) {
			fputs("\\ufffd", f);
			p++;
		} else {
			fwrite(p, 1, n, f);
			p += n;
		}
	}
	fputc('"', f);
}

/* Start a member: comma and indentation, then "k": unless in an array. */
static void
key(struct jw *w, const char *k)
{
	if (!w->first[w->depth])
		fputc(',', w->f);
	w->first[w->depth] = false;
	indent(w);
	if (k != NULL) {
		put_string(w->f, k);
		fputs(": ", w->f);
	}
}

static void
open_(struct jw *w, const char *k, char c)
{
	key(w, k);
	fputc(c, w->f);
	if (w->depth + 1 < DEPTH_MAX)
		w->depth++;
	w->first[w->depth] = true;
}

static void
close_(struct jw *w, char c)
{
	bool empty = w->first[w->depth];

	w->depth--;
	if (!empty)
		indent(w);
	fputc(c, w->f);
}

#define OBJ(w, k) open_(w, k, '{')
#define ARR(w, k) open_(w, k, '[')
#define END_OBJ(w) close_(w, '}')
#define END_ARR(w) close_(w, ']')

static void
str(struct jw *w, const char *k, const char *v)
{
	key(w, k);
	put_string(w->f, v);
}

static void
u64(struct jw *w, const char *k, uint64_t v)
{
	key(w, k);
	fprintf(w->f, "%" PRIu64, v);
}

static void
num(struct jw *w, const char *k, double v)
{
	char buf[48];

	key(w, k);
	ds_report_fmt_packets(v, buf, sizeof(buf));
	fputs(buf, w->f);
}

static void
real(struct jw *w, const char *k, double v)
{
	key(w, k);
	fprintf(w->f, "%.4f", v);
}

static void
boolean(struct jw *w, const char *k, bool v)
{
	key(w, k);
	fputs(v ? "true" : "false", w->f);
}

static void
rank_or_null(struct jw *w, const char *k, unsigned int rank)
{
	key(w, k);
	if (rank > 0)
		fprintf(w->f, "%u", rank);
	else
		fputs("null", w->f);
}

static void
day_str(int32_t day, char *buf)
{
	ds_report_date_iso(day, buf);
}

/* "period" and "previous": the same shape, so a reader can compare them. */
static void
write_period(struct jw *w, const struct ds_report *r, unsigned int p, const char *k)
{
	const struct ds_report_period *per = &r->per[p];
	char a[11], z[11];

	day_str(per->first, a);
	day_str(per->first + (int32_t)per->ndays - 1, z);
	OBJ(w, k);
	str(w, "from", a);
	str(w, "to", z);
	str(w, "tz", r->tz);
	u64(w, "days", per->ndays);
	if (p == 0)
		str(w, "name", r->opts->period_name);
	num(w, "packets", per->packets);
	u64(w, "sources", per->sources);
	u64(w, "sensors_with_data", per->sensors_with_data);
	END_OBJ(w);
}

static void
write_items(struct jw *w, const struct ds_report *r, enum ds_report_rank_kind kind,
	    const char *k)
{
	const struct ds_report_ranking *rk = &r->rank[kind][0];
	unsigned int i;

	ARR(w, k);
	for (i = 0; i < r->n_shown[kind]; i++) {
		const struct ds_report_item *it = &rk->v[i];

		OBJ(w, NULL);
		if (kind == DS_REPORT_PORTS) {
			key(w, "port");
			if (it->port >= 0)
				fprintf(w->f, "%d", it->port);
			else
				fputs("null", w->f);
			str(w, "proto", strcmp(it->dim, "udp_dst_port") == 0 ? "udp" : "tcp");
			str(w, "label", it->label);
			str(w, "service", it->service != NULL ? it->service : "");
		} else if (kind == DS_REPORT_COUNTRIES) {
			str(w, "cc", it->label);
		} else if (it->label[0] >= '0' && it->label[0] <= '9' &&
			   strspn(it->label, "0123456789") == strlen(it->label) &&
			   strlen(it->label) <= 10) {
			/* AS numbers are numbers; any other label stays a string. */
			key(w, "asn");
			fputs(it->label, w->f);
		} else {
			str(w, "asn", it->label);
		}
		num(w, "packets", it->packets);
		u64(w, "sources", it->sources);
		u64(w, "rank", it->rank);
		rank_or_null(w, "previous_rank", it->prev_rank);
		num(w, "previous_packets", it->prev_packets);
		END_OBJ(w);
	}
	END_ARR(w);
}

/* The labels kept out of a ranking (bogon, ...) with their packets. */
static void
write_excluded(struct jw *w, const struct ds_report_ranking *rk, const char *k)
{
	size_t i;

	OBJ(w, k);
	for (i = 0; i < rk->n_ex; i++)
		num(w, rk->ex[i].label, rk->ex[i].packets);
	END_OBJ(w);
}

static void
write_rules(struct jw *w, const struct ds_report *r, const struct ds_report_rule *rules,
	    unsigned int n, const char *k)
{
	unsigned int i, d;
	char day[11];

	ARR(w, k);
	for (i = 0; i < n; i++) {
		const struct ds_report_rule *ru = &rules[i];

		OBJ(w, NULL);
		str(w, "name", ru->name);
		num(w, "packets", ru->packets);
		u64(w, "sources", ru->sources);
		u64(w, "domestic", ru->domestic);
		u64(w, "overseas", ru->overseas);
		/* Paths only for charts that exist and outlive the run. */
		if (ru->chart >= 0 && r->charts[ru->chart].made) {
			str(w, "chart_svg", r->charts_temporary ? "" : r->charts[ru->chart].svg);
			str(w, "chart_png", r->charts_temporary ? "" : r->charts[ru->chart].png);
		}
		ARR(w, "days");
		for (d = 0; d < r->per[0].ndays; d++) {
			day_str(r->per[0].first + (int32_t)d, day);
			OBJ(w, NULL);
			str(w, "day", day);
			num(w, "packets", ru->day_packets[d]);
			u64(w, "domestic", ru->day_domestic[d]);
			u64(w, "overseas", ru->day_overseas[d]);
			END_OBJ(w);
		}
		END_ARR(w);
		END_OBJ(w);
	}
	END_ARR(w);
}

/* Every counter always present: null says "no hash had it", 0 says "none". */
static void
write_counters(struct jw *w, const struct ds_report_counters *c, const char *k)
{
	unsigned int i;

	OBJ(w, k);
	for (i = 0; i < DS_REPORT_CTR_MAX; i++) {
		if (c->present[i])
			num(w, ds_report_ctr_names[i], c->v[i]);
		else {
			key(w, ds_report_ctr_names[i]);
			fputs("null", w->f);
		}
	}
	END_OBJ(w);
}

static void
write_completeness(struct jw *w, const struct ds_report *r)
{
	struct ds_report_counters all = { 0 };
	uint64_t expected = 0, minutes = 0, partial = 0;
	unsigned int i, k, missing = 0, keys = 0;

	for (i = 0; i < r->n_sfs; i++) {
		expected += r->sfs[i].expected[0];
		minutes += r->sfs[i].minutes[0];
		partial += r->sfs[i].partial[0];
		missing += r->sfs[i].missing[0];
		keys += r->sfs[i].keys[0];
	}
	for (i = 0; i < r->n_sensors; i++)
		for (k = 0; k < DS_REPORT_CTR_MAX; k++) {
			all.v[k] += r->sensors[i].ctr.v[k];
			all.present[k] |= r->sensors[i].ctr.present[k];
		}
	/* Totals first, then the detail they are made of. */
	OBJ(w, "completeness");
	u64(w, "expected_minutes", expected);
	u64(w, "minutes", minutes);
	u64(w, "partial_minutes", partial);
	u64(w, "keys", keys);
	u64(w, "missing_keys", missing);
	write_counters(w, &all, "counters");
	ARR(w, "feeds");
	for (i = 0; i < r->n_sfs; i++) {
		const struct ds_report_sf *sf = &r->sfs[i];

		OBJ(w, NULL);
		str(w, "sensor", r->sensors[sf->sensor].id);
		str(w, "feed", r->feeds[sf->feed].name);
		u64(w, "expected_minutes", sf->expected[0]);
		u64(w, "minutes", sf->minutes[0]);
		u64(w, "partial_minutes", sf->partial[0]);
		u64(w, "keys", sf->keys[0]);
		u64(w, "hour_keys", sf->hour_keys[0]);
		u64(w, "missing_keys", sf->missing[0]);
		OBJ(w, "previous");
		u64(w, "expected_minutes", sf->expected[1]);
		u64(w, "minutes", sf->minutes[1]);
		u64(w, "keys", sf->keys[1]);
		u64(w, "missing_keys", sf->missing[1]);
		END_OBJ(w);
		END_OBJ(w);
	}
	END_ARR(w);
	ARR(w, "sensors");
	for (i = 0; i < r->n_sensors; i++) {
		const struct ds_report_sensor *s = &r->sensors[i];

		OBJ(w, NULL);
		str(w, "sensor", s->id);
		str(w, "rollup_timezone", s->zone);
		str(w, "read", s->hour_days[0] == 0 ? "day keys" : s->hour_days[0] ==
		    r->per[0].ndays ? "hour keys" : "day and hour keys");
		boolean(w, "has_data", s->has_data[0]);
		write_counters(w, &s->ctr, "counters");
		END_OBJ(w);
	}
	END_ARR(w);
	END_OBJ(w);
}

static void
write_daily(struct jw *w, const struct ds_report *r, enum ds_report_rank_kind kind,
	    const char *k)
{
	unsigned int i, d;

	OBJ(w, k);
	for (i = 0; i < r->n_shown[kind]; i++) {
		const struct ds_report_item *it = &r->rank[kind][0].v[i];

		ARR(w, it->label);
		for (d = 0; d < r->per[0].ndays; d++)
			num(w, NULL, it->daily[d]);
		END_ARR(w);
	}
	END_OBJ(w);
}

int
ds_report_write_json(const struct ds_report *r, FILE *f)
{
	struct jw w = { .f = f, .depth = 0, .first = { true } };
	unsigned int i, d;
	char day[11];

	/* The root object: its members one level in. */
	fputc('{', f);
	w.depth = 1;
	w.first[1] = true;
	write_period(&w, r, 0, "period");
	write_period(&w, r, 1, "previous");

	ARR(&w, "sensors");
	for (i = 0; i < r->n_sensors; i++)
		str(&w, NULL, r->sensors[i].id);
	END_ARR(&w);
	key(&w, "home");
	if (r->opts->home != NULL)
		put_string(f, r->opts->home);
	else
		fputs("null", f);
	boolean(&w, "per_sensor_average", r->opts->per_sensor_average);
	u64(&w, "top", r->opts->top);

	OBJ(&w, "totals");
	num(&w, "packets", r->per[0].packets);
	u64(&w, "sources", r->per[0].sources);
	num(&w, "previous_packets", r->per[1].packets);
	u64(&w, "previous_sources", r->per[1].sources);
	ARR(&w, "feeds");
	for (i = 0; i < r->n_feeds; i++) {
		OBJ(&w, NULL);
		str(&w, "feed", r->feeds[i].name);
		num(&w, "packets", r->feeds[i].packets[0]);
		u64(&w, "sources", r->feeds[i].sources);
		num(&w, "previous_packets", r->feeds[i].packets[1]);
		END_OBJ(&w);
	}
	END_ARR(&w);
	END_OBJ(&w);

	write_items(&w, r, DS_REPORT_PORTS, "ports");
	write_items(&w, r, DS_REPORT_COUNTRIES, "countries");
	write_excluded(&w, &r->rank[DS_REPORT_COUNTRIES][0], "countries_excluded");
	write_items(&w, r, DS_REPORT_ASNS, "asns");
	write_excluded(&w, &r->rank[DS_REPORT_ASNS][0], "asns_excluded");
	write_rules(&w, r, r->watch, r->n_watch, "watch");
	write_rules(&w, r, r->sigs, r->n_sigs, "signatures");

	ARR(&w, "movers");
	for (i = 0; i < r->n_movers; i++) {
		const struct ds_report_mover *m = &r->movers[i];

		OBJ(&w, NULL);
		str(&w, "kind", ds_report_kind_names[m->kind]);
		str(&w, "label", m->label);
		num(&w, "packets", m->packets);
		num(&w, "previous_packets", m->prev_packets);
		rank_or_null(&w, "rank", m->rank);
		rank_or_null(&w, "previous_rank", m->prev_rank);
		real(&w, "log2_ratio", m->log2_ratio);
		real(&w, "rank_term", m->rank_term);
		real(&w, "score", m->score);
		boolean(&w, "new", m->is_new);
		boolean(&w, "gone", m->gone);
		END_OBJ(&w);
	}
	END_ARR(&w);
	u64(&w, "movers_depth", r->movers_depth);

	write_completeness(&w, r);

	OBJ(&w, "daily");
	ARR(&w, "days");
	for (d = 0; d < r->per[0].ndays; d++) {
		day_str(r->per[0].first + (int32_t)d, day);
		str(&w, NULL, day);
	}
	END_ARR(&w);
	write_daily(&w, r, DS_REPORT_PORTS, "ports");
	write_daily(&w, r, DS_REPORT_COUNTRIES, "countries");
	END_OBJ(&w);

	ARR(&w, "charts");
	for (i = 0; i < r->n_charts; i++) {
		const struct ds_report_chart *c = &r->charts[i];

		OBJ(&w, NULL);
		str(&w, "title", c->title);
		boolean(&w, "made", c->made);
		if (!r->charts_temporary) {
			str(&w, "data", c->dat);
			str(&w, "script", c->gp);
			str(&w, "svg", c->svg);
			str(&w, "png", c->png);
		}
		END_OBJ(&w);
	}
	END_ARR(&w);

	ARR(&w, "notes");
	for (i = 0; i < r->n_notes; i++)
		str(&w, NULL, r->notes[i]);
	END_ARR(&w);
	END_OBJ(&w);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}
