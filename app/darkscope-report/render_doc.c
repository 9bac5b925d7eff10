/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The report for people: text for a terminal, markdown, and one
 * self-contained HTML page.
 *
 * The sections are written once (write_doc()) against a handful of
 * primitives, and each format implements the primitives:
 *
 *                  text                markdown              HTML
 *   heading        underlined line     # / ## / ###          <h1>..<h3>
 *   para           wrapped as given    paragraph             <p>
 *   table          aligned columns     | pipe | table |      <table>
 *   chart          the file paths      ![title](STEM.png)    <img src="data:...;base64,...">
 *   details        shown as is         <details> block       <details>
 *
 * so the three formats always carry the same content in the same order.
 * Tables are buffered (text needs every cell to size its columns) in a
 * scratch arena freed when the document is done. Every string from Redis is
 * escaped for its format: markdown's punctuation is backslash-escaped, HTML
 * gets entities, text gets control characters replaced.
 *
 * The HTML page loads nothing: its style is inline, it has no script, and
 * each chart is the SVG gnuplot drew, base64-encoded into an <img> data
 * URI (an <img> keeps the charts' element ids apart, which inline <svg>
 * would mix up).
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define COLS_MAX 10

struct doc {
	FILE *f;
	enum ds_report_format fmt;
	const struct ds_report *r;
	struct ds_report_arena scratch;
	/* The table being built. */
	unsigned int ncols;
	const char *head[COLS_MAX];
	bool right[COLS_MAX];
	const char ***rows;
	size_t nrows, caprows;
};

/* ------------------------------------------------------------------------------------------ */
/* Escaping                                                                                   */

/* Any text from outside (labels, names, notes), safe for the format. */
static void
put_esc(struct doc *d, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f) {
			fputc('?', d->f);
		} else if (d->fmt == DS_REPORT_HTML) {
			switch (c) {
			case '&': fputs("&amp;", d->f); break;
			case '<': fputs("&lt;", d->f); break;
			case '>': fputs("&gt;", d->f); break;
			case '"': fputs("&quot;", d->f); break;
			case '\'': fputs("&#39;", d->f); break;
			default: fputc(c, d->f);
			}
		} else if (d->fmt == DS_REPORT_MARKDOWN && strchr("\\`*_[]<>|#", c) != NULL) {
			fputc('\\', d->f);
			fputc(c, d->f);
		} else {
			fputc(c, d->f);
		}
	}
}

static const char *
fmt(struct doc *d, const char *f, ...) __attribute__((format(printf, 2, 3)));

/* A formatted string in the scratch arena (never NULL: "" when out of memory). */
static const char *
fmt(struct doc *d, const char *f, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	const char *s = ds_report_strdup(&d->scratch, buf);

	return s != NULL ? s : "";
}

static const char *
pk(struct doc *d, double v)
{
	char buf[48];

	ds_report_fmt_packets(v, buf, sizeof(buf));
	return fmt(d, "%s", buf);
}

static const char *
u64s(struct doc *d, uint64_t v)
{
	return fmt(d, "%" PRIu64, v);
}

static const char *
iso(struct doc *d, int32_t day)
{
	char buf[11];

	ds_report_date_iso(day, buf);
	return fmt(d, "%s", buf);
}

/* ------------------------------------------------------------------------------------------ */
/* Primitives                                                                                 */

static void
heading(struct doc *d, int level, const char *text)
{
	size_t n = strlen(text);

	switch (d->fmt) {
	case DS_REPORT_TEXT:
		if (level > 1)
			fputc('\n', d->f);
		put_esc(d, text);
		fputc('\n', d->f);
		if (level < 3) {
			while (n--)
				fputc(level == 1 ? '=' : '-', d->f);
			fputc('\n', d->f);
		}
		break;
	case DS_REPORT_MARKDOWN:
		fprintf(d->f, "%s%.*s ", level > 1 ? "\n" : "", level, "###");
		put_esc(d, text);
		fputs("\n\n", d->f);
		break;
	default:
		fprintf(d->f, "<h%d>", level);
		put_esc(d, text);
		fprintf(d->f, "</h%d>\n", level);
	}
}

static void
para(struct doc *d, const char *text)
{
	switch (d->fmt) {
	case DS_REPORT_TEXT:
		put_esc(d, text);
		fputc('\n', d->f);
		break;
	case DS_REPORT_MARKDOWN:
		put_esc(d, text);
		fputs("\n\n", d->f);
		break;
	default:
		fputs("<p>", d->f);
		put_esc(d, text);
		fputs("</p>\n", d->f);
	}
}

static void
table_begin(struct doc *d, unsigned int ncols, const char *const *head, const char *align)
{
	unsigned int i;

	d->ncols = ncols < COLS_MAX ? ncols : COLS_MAX;
	for (i = 0; i < d->ncols; i++) {
		d->head[i] = head[i];
		d->right[i] = align[i] == 'r';
	}
	d->nrows = 0;
}

/*
 * One row of d->ncols cells (const char *), kept until table_end(). Cells
 * point into the scratch arena or into the report, both alive until then.
 */
static void
row(struct doc *d, ...)
{
	const char **cells;
	unsigned int i;
	va_list ap;

	if (d->nrows == d->caprows) {
		size_t cap = d->caprows ? d->caprows * 2 : 64;
		const char ***rows = ds_report_alloc(&d->scratch, cap * sizeof(*rows));

		if (rows == NULL)
			return;
		if (d->nrows)
			memcpy(rows, d->rows, d->nrows * sizeof(*rows));
		d->rows = rows;
		d->caprows = cap;
	}
	cells = ds_report_alloc(&d->scratch, d->ncols * sizeof(*cells));
	if (cells == NULL)
		return;
	va_start(ap, d);
	for (i = 0; i < d->ncols; i++) {
		const char *c = va_arg(ap, const char *);

		cells[i] = c != NULL ? c : "";
	}
	va_end(ap);
	d->rows[d->nrows++] = cells;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void
text_cell(struct doc *d, const char *s, size_t w, bool right, bool last)
{
	size_t n = width(s), pad = w > n ? w - n : 0;

	if (right)
		while (pad--)
			fputc(' ', d->f);
	put_esc(d, s);
	if (!right && !last)
		while (pad--)
			fputc(' ', d->f);
	if (!last)
		fputs("  ", d->f);
}

static void
table_end(struct doc *d)
{
	size_t w[COLS_MAX] = { 0 }, i;
	unsigned int c;

	/* Text: every column as wide as its widest cell, numbers to the right. */
	if (d->fmt == DS_REPORT_TEXT) {
		for (c = 0; c < d->ncols; c++) {
			w[c] = width(d->head[c]);
			for (i = 0; i < d->nrows; i++)
				if (width(d->rows[i][c]) > w[c])
					w[c] = width(d->rows[i][c]);
		}
		fputs("  ", d->f);
		for (c = 0; c < d->ncols; c++)
			text_cell(d, d->head[c], w[c], d->right[c], c + 1 == d->ncols);
		fputc('\n', d->f);
		for (i = 0; i < d->nrows; i++) {
			fputs("  ", d->f);
			for (c = 0; c < d->ncols; c++)
				text_cell(d, d->rows[i][c], w[c], d->right[c], c + 1 == d->ncols);
			fputc('\n', d->f);
		}
	} else if (d->fmt == DS_REPORT_MARKDOWN) {
		/* GitHub-flavoured pipe table; "---:" right-aligns a column. */
		fputc('|', d->f);
		for (c = 0; c < d->ncols; c++) {
			fputc(' ', d->f);
			put_esc(d, d->head[c]);
			fputs(" |", d->f);
		}
		fputs("\n|", d->f);
		for (c = 0; c < d->ncols; c++)
			fputs(d->right[c] ? "---:|" : "---|", d->f);
		fputc('\n', d->f);
		for (i = 0; i < d->nrows; i++) {
			fputc('|', d->f);
			for (c = 0; c < d->ncols; c++) {
				fputc(' ', d->f);
				put_esc(d, d->rows[i][c]);
				fputs(" |", d->f);
			}
			fputc('\n', d->f);
		}
		fputc('\n', d->f);
	} else {
		fputs("<table>\n<thead><tr>", d->f);
		for (c = 0; c < d->ncols; c++) {
			fputs(d->right[c] ? "<th class=\"n\">" : "<th>", d->f);
			put_esc(d, d->head[c]);
			fputs("</th>", d->f);
		}
		fputs("</tr></thead>\n<tbody>\n", d->f);
		for (i = 0; i < d->nrows; i++) {
			fputs("<tr>", d->f);
			for (c = 0; c < d->ncols; c++) {
				fputs(d->right[c] ? "<td class=\"n\">" : "<td>", d->f);
				put_esc(d, d->rows[i][c]);
				fputs("</td>", d->f);
			}
			fputs("</tr>\n", d->f);
		}
		fputs("</tbody>\n</table>\n", d->f);
	}
	d->nrows = 0;
}

/* A collapsible block in markdown and HTML; plain in text. */
static void
details_begin(struct doc *d, const char *summary)
{
	if (d->fmt == DS_REPORT_TEXT)
		return;
	fputs("<details><summary>", d->f);
	/* Inside an HTML block markdown is not parsed: entities there too. */
	enum ds_report_format f = d->fmt;

	d->fmt = DS_REPORT_HTML;
	put_esc(d, summary);
	d->fmt = f;
	fputs(d->fmt == DS_REPORT_MARKDOWN ? "</summary>\n\n" : "</summary>\n", d->f);
}

static void
details_end(struct doc *d)
{
	if (d->fmt != DS_REPORT_TEXT)
		fputs(d->fmt == DS_REPORT_MARKDOWN ? "\n</details>\n\n" : "</details>\n", d->f);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The file base64-encoded onto the output; -errno when it cannot be read. */
static int
put_base64_file(FILE *out, const char *path)
{
	unsigned char in[3 * 1024];
	FILE *f = fopen(path, "rb");
	size_t n, i;

	if (f == NULL)
		return -errno;
	while ((n = fread(in, 1, sizeof(in), f)) > 0) {
		for (i = 0; i + 2 < n; i += 3) {
			fputc(b64[in[i] >> 2], out);
			fputc(b64[(in[i] & 3) << 4 | in[i + 1] >> 4], out);
			fputc(b64[(in[i + 1] & 15) << 2 | in[i + 2] >> 6], out);
			fputc(b64[in[i + 2] & 63], out);
		}
		/* Only the last block of the file can leave a remainder (reads are whole). */
		if (i < n) {
			fputc(b64[in[i] >> 2], out);
			if (i + 1 < n) {
				fputc(b64[(in[i] & 3) << 4 | in[i + 1] >> 4], out);
				fputc(b64[(in[i + 1] & 15) << 2], out);
			} else {
				fputc(b64[(in[i] & 3) << 4], out);
				fputc('=', out);
			}
			fputc('=', out);
		}
	}
	n = (size_t)ferror(f);
	fclose(f);
	return n ? -EIO : 0;
}

/* The path markdown uses for a chart: next to the report, or absolute. */
static const char *
chart_ref(struct doc *d, const char *path)
{
	const struct ds_report *r = d->r;
	const char *slash = r->opts->out != NULL ? strrchr(r->opts->out, '/') : NULL;
	const char *out_dir = slash == NULL ? "." : fmt(d, "%.*s", (int)(slash - r->opts->out),
							 r->opts->out);
	const char *base = strrchr(path, '/');
	char real[PATH_MAX];

	base = base != NULL ? base + 1 : path;
	/* Next to the report: a relative name keeps the pair movable. */
	if (r->opts->charts_dir == NULL || strcmp(r->opts->charts_dir, out_dir) == 0)
		return base;
	if (realpath(path, real) != NULL)
		return fmt(d, "%s", real);
	return path;
}

static void
chart(struct doc *d, int idx)
{
	const struct ds_report *r = d->r;
	const struct ds_report_chart *c;

	if (idx < 0 || (unsigned int)idx >= r->n_charts) {
		para(d, r->charts_dir != NULL ? "No chart: nothing to draw." :
		     "Charts not drawn (see the notes).");
		return;
	}
	c = &r->charts[idx];
	if (!c->made) {
		para(d, r->charts_temporary ? "Chart not drawn (see the notes)." :
		     fmt(d, "Chart not drawn (see the notes); its data: %s, its script: %s", c->dat,
			 c->gp));
		return;
	}
	switch (d->fmt) {
	case DS_REPORT_TEXT:
		para(d, fmt(d, "Chart: %s (also %s)", c->svg, c->png));
		break;
	case DS_REPORT_MARKDOWN:
		fputs("![", d->f);
		put_esc(d, c->title);
		fprintf(d->f, "](%s)\n\n", chart_ref(d, c->png));
		break;
	default:
		fputs("<figure><img alt=\"", d->f);
		put_esc(d, c->title);
		fputs("\" src=\"data:image/svg+xml;base64,", d->f);
		if (put_base64_file(d->f, c->svg) != 0)
			fputs("\">\n<figcaption>(the chart's file could not be read)", d->f);
		else
			fputs("\">\n<figcaption>", d->f);
		put_esc(d, c->title);
		fputs("</figcaption></figure>\n", d->f);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Sections                                                                                   */

/* The chart whose stem ends in @p suffix ("-ports"), or -1 when there is none. */
static int
chart_index(const struct ds_report *r, const char *suffix)
{
	unsigned int i;
	size_t ls = strlen(suffix);

	for (i = 0; i < r->n_charts; i++) {
		size_t l = strlen(r->charts[i].stem);

		if (l >= ls && strcmp(r->charts[i].stem + l - ls, suffix) == 0)
			return (int)i;
	}
	return -1;
}

static const char *
prev_rank_str(struct doc *d, unsigned int rank)
{
	return rank > 0 ? fmt(d, "%u", rank) : "new";
}

/* A relative change; from nothing there is no percentage, only "new". */
static const char *
change_str(struct doc *d, double cur, double prev)
{
	if (prev <= 0)
		return cur > 0 ? "new" : "";
	return fmt(d, "%+.1f%%", 100.0 * (cur - prev) / prev);
}

static void
sec_overview(struct doc *d)
{
	static const char *const h1[] = { "feed", "packets", "sources", "previous packets",
					  "change" };
	static const char *const h2[] = { "sensor", "feed", "read from", "minutes", "expected",
					  "present", "partial", "keys missing" };
	static const char *const h3[] = { "sensor", "imissed", "rx_nombuf", "malformed",
					  "redis.dropped_total", "redis.rollup_skipped_total" };
	const struct ds_report *r = d->r;
	unsigned int i, k;

	heading(d, 2, "1. Overview");
	table_begin(d, 5, h1, "lrrrr");
	for (i = 0; i < r->n_feeds; i++)
		row(d, r->feeds[i].name, pk(d, r->feeds[i].packets[0]), u64s(d, r->feeds[i].sources),
		    pk(d, r->feeds[i].packets[1]),
		    change_str(d, r->feeds[i].packets[0], r->feeds[i].packets[1]));
	row(d, "total", pk(d, r->per[0].packets), u64s(d, r->per[0].sources),
	    pk(d, r->per[1].packets), change_str(d, r->per[0].packets, r->per[1].packets));
	table_end(d);
	para(d, fmt(d, "Sources are distinct source addresses over the whole period (one "
		    "PFCOUNT of its HyperLogLogs); the previous period had %" PRIu64 ".",
		    r->per[1].sources));

	heading(d, 3, "Completeness");
	table_begin(d, 8, h2, "lllrrrrr");
	for (i = 0; i < r->n_sfs; i++) {
		const struct ds_report_sf *sf = &r->sfs[i];

		row(d, r->sensors[sf->sensor].id, r->feeds[sf->feed].name,
		    sf->hour_keys[0] == 0 ? "day keys" : sf->hour_keys[0] == sf->keys[0] ?
		    "hour keys" : "day+hour keys",
		    u64s(d, sf->minutes[0]), u64s(d, sf->expected[0]),
		    sf->expected[0] ? fmt(d, "%.1f%%", 100.0 * (double)sf->minutes[0] /
					  (double)sf->expected[0]) : "",
		    u64s(d, sf->partial[0]), fmt(d, "%u of %u", sf->missing[0], sf->keys[0]));
	}
	table_end(d);
	table_begin(d, 6, h3, "lrrrrr");
	for (i = 0; i < r->n_sensors; i++) {
		const struct ds_report_counters *c = &r->sensors[i].ctr;
		const char *v[DS_REPORT_CTR_MAX];

		for (k = 0; k < DS_REPORT_CTR_MAX; k++)
			v[k] = c->present[k] ? pk(d, c->v[k]) : "-";
		row(d, r->sensors[i].id, v[0], v[1], v[2], v[3], v[4]);
	}
	table_end(d);
	para(d, "Counters are summed over the period's counters hashes; \"-\": not present.");
}

static void
daily_table(struct doc *d, enum ds_report_rank_kind kind)
{
	const struct ds_report *r = d->r;
	const char *head[COLS_MAX];
	char align[COLS_MAX + 1];
	unsigned int n = r->n_shown[kind], i, day;

	/* Wide tops (--top 20) keep their first columns here; JSON has all. */
	if (n + 1 > COLS_MAX)
		n = COLS_MAX - 1;
	head[0] = "day";
	align[0] = 'l';
	for (i = 0; i < n; i++) {
		head[i + 1] = r->rank[kind][0].v[i].label;
		align[i + 1] = 'r';
	}
	align[n + 1] = '\0';
	table_begin(d, n + 1, head, align);
	for (day = 0; day < r->per[0].ndays; day++) {
		const char *c[COLS_MAX] = { NULL };

		c[0] = iso(d, r->per[0].first + (int32_t)day);
		for (i = 0; i < n; i++)
			c[i + 1] = pk(d, r->rank[kind][0].v[i].daily[day]);
		row(d, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]);
	}
	table_end(d);
}

static void
sec_daily(struct doc *d, const char *title, enum ds_report_rank_kind kind, const char *suffix)
{
	const struct ds_report *r = d->r;

	heading(d, 2, title);
	if (r->n_shown[kind] == 0) {
		para(d, "No data in the period.");
		return;
	}
	chart(d, chart_index(r, suffix));
	details_begin(d, "Daily figures");
	daily_table(d, kind);
	details_end(d);
}

static void
sec_ports(struct doc *d)
{
	static const char *const h[] = { "rank", "previous", "port", "service", "packets",
					  "sources" };
	const struct ds_report *r = d->r;
	unsigned int i;

	heading(d, 2, fmt(d, "2. Top %u destination ports", r->opts->top));
	if (r->n_shown[DS_REPORT_PORTS] == 0) {
		para(d, "No TCP or UDP packets in the period.");
		return;
	}
	table_begin(d, 6, h, "rrllrr");
	for (i = 0; i < r->n_shown[DS_REPORT_PORTS]; i++) {
		const struct ds_report_item *it = &r->rank[DS_REPORT_PORTS][0].v[i];

		row(d, u64s(d, it->rank), prev_rank_str(d, it->prev_rank), it->label,
		    it->service != NULL ? it->service : "", pk(d, it->packets),
		    u64s(d, it->sources));
	}
	table_end(d);
	para(d, "TCP and UDP ranked together by packets; \"previous\" is the rank in the "
	     "previous period's full ranking, \"new\" when it had no packets then.");
}

static void
excluded_line(struct doc *d, const struct ds_report_ranking *rk, const char *what)
{
	char buf[800];
	size_t i, n = 0;

	if (rk->n_ex == 0)
		return;
	/* A handful of labels at most; the buffer bound only guards odd data. */
	for (i = 0; i < rk->n_ex && n < sizeof(buf) - 80; i++) {
		char v[48];

		ds_report_fmt_packets(rk->ex[i].packets, v, sizeof(v));
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.20s %s", i ? ", " : "",
				      rk->ex[i].label, v);
	}
	para(d, fmt(d, "Not ranked (not %s), packets: %s.", what, buf));
}

static void
rank_table(struct doc *d, enum ds_report_rank_kind kind, const char *col)
{
	static const char *h[] = { "rank", "previous", NULL, "packets", "sources" };
	const struct ds_report *r = d->r;
	unsigned int i;

	h[2] = col;
	table_begin(d, 5, h, "rrlrr");
	for (i = 0; i < r->n_shown[kind]; i++) {
		const struct ds_report_item *it = &r->rank[kind][0].v[i];

		row(d, u64s(d, it->rank), prev_rank_str(d, it->prev_rank), it->label,
		    pk(d, it->packets), u64s(d, it->sources));
	}
	table_end(d);
}

static void
sec_countries(struct doc *d)
{
	const struct ds_report *r = d->r;

	heading(d, 2, fmt(d, "4. Top %u source countries and ASes", r->opts->top));
	if (r->n_shown[DS_REPORT_COUNTRIES] == 0)
		para(d, "No source country in the period (is geo configured?).");
	else
		rank_table(d, DS_REPORT_COUNTRIES, "country");
	excluded_line(d, &r->rank[DS_REPORT_COUNTRIES][0], "a country");
	heading(d, 3, fmt(d, "Top %u source ASes", r->opts->top));
	if (r->n_shown[DS_REPORT_ASNS] == 0)
		para(d, "No source AS in the period.");
	else
		rank_table(d, DS_REPORT_ASNS, "AS");
	excluded_line(d, &r->rank[DS_REPORT_ASNS][0], "an AS");
}

static void
rule_days(struct doc *d, const struct ds_report_rule *ru)
{
	const struct ds_report *r = d->r;
	const char *h[] = { "day", "packets", ds_report_home_label(r, true),
			    ds_report_home_label(r, false) };
	unsigned int day;

	table_begin(d, 4, h, "lrrr");
	for (day = 0; day < r->per[0].ndays; day++)
		row(d, iso(d, r->per[0].first + (int32_t)day), pk(d, ru->day_packets[day]),
		    u64s(d, ru->day_domestic[day]), u64s(d, ru->day_overseas[day]));
	table_end(d);
}

static void
sec_rules(struct doc *d)
{
	const struct ds_report *r = d->r;
	const char *h[] = { "signature", "packets", "sources", ds_report_home_label(r, true),
			    ds_report_home_label(r, false) };
	unsigned int i;

	heading(d, 2, "6. Watch rules and signatures: distinct sources at home and abroad");
	para(d, fmt(d, "Per day, distinct sources %s and %s as the sensor counted them "
		    "(watch_home / signature_home), one PFCOUNT per day; period figures are "
		    "one PFCOUNT over all days.", ds_report_home_label(r, true),
		    ds_report_home_label(r, false)));
	if (r->n_watch == 0)
		para(d, "No watch rule matched in the period.");
	for (i = 0; i < r->n_watch; i++) {
		const struct ds_report_rule *ru = &r->watch[i];

		heading(d, 3, fmt(d, "Watch rule %s", ru->name));
		para(d, fmt(d, "%s packets from %" PRIu64 " distinct sources: %s %" PRIu64 ", "
			    "%s %" PRIu64 ".", pk(d, ru->packets), ru->sources,
			    ds_report_home_label(r, true), ru->domestic,
			    ds_report_home_label(r, false), ru->overseas));
		chart(d, ru->chart);
		rule_days(d, ru);
	}
	heading(d, 3, "Signatures");
	if (r->n_sigs == 0) {
		para(d, "No signature matched in the period.");
		return;
	}
	table_begin(d, 5, h, "lrrrr");
	for (i = 0; i < r->n_sigs; i++)
		row(d, r->sigs[i].name, pk(d, r->sigs[i].packets), u64s(d, r->sigs[i].sources),
		    u64s(d, r->sigs[i].domestic), u64s(d, r->sigs[i].overseas));
	table_end(d);
	/* A chart each for signatures with home figures; the others are all zero. */
	for (i = 0; i < r->n_sigs; i++) {
		const struct ds_report_rule *ru = &r->sigs[i];

		if (!ru->has_home)
			continue;
		heading(d, 3, fmt(d, "Signature %s", ru->name));
		chart(d, ru->chart);
		details_begin(d, "Daily figures");
		rule_days(d, ru);
		details_end(d);
	}
}

static void
sec_movers(struct doc *d)
{
	static const char *const h[] = { "kind", "value", "packets", "previous", "change",
					  "rank", "previous rank", "score" };
	const struct ds_report *r = d->r;
	unsigned int i;

	heading(d, 2, "7. Movers");
	para(d, fmt(d, "Ports, countries and TCP fingerprints within the top %u of either "
		    "period, by score = |log2((packets + 1) / (previous + 1))| + "
		    "|log2(previous rank / rank)| (a rank beyond %u, or none, counts as %u); "
		    "the %u highest of each kind.", r->movers_depth, r->movers_depth,
		    r->movers_depth + 1, r->opts->top));
	if (r->n_movers == 0) {
		para(d, "Nothing moved.");
		return;
	}
	table_begin(d, 8, h, "llrrrrrr");
	for (i = 0; i < r->n_movers; i++) {
		const struct ds_report_mover *m = &r->movers[i];

		row(d, ds_report_kind_names[m->kind], m->label, pk(d, m->packets),
		    pk(d, m->prev_packets), m->gone ? "gone" : change_str(d, m->packets,
									   m->prev_packets),
		    m->rank ? u64s(d, m->rank) : "-", m->prev_rank ? u64s(d, m->prev_rank) : "-",
		    fmt(d, "%.2f", m->score));
	}
	table_end(d);
}

static void
write_doc(struct doc *d)
{
	const struct ds_report *r = d->r;
	const struct ds_report_period *cur = &r->per[0], *prev = &r->per[1];
	char sensors[600] = "", feeds[600] = "";
	size_t n = 0;
	unsigned int i;

	/* Names for the summary line, cut short on a telescope of many sensors. */
	for (i = 0; i < r->n_sensors && n < sizeof(sensors) - 64; i++)
		n += (size_t)snprintf(sensors + n, sizeof(sensors) - n, "%s%.60s", i ? ", " : "",
				      r->sensors[i].id);
	for (i = 0, n = 0; i < r->n_feeds && n < sizeof(feeds) - 64; i++)
		n += (size_t)snprintf(feeds + n, sizeof(feeds) - n, "%s%.60s", i ? ", " : "",
				      r->feeds[i].name);

	/* A --from/--to period has no name of its own: its dates say it all. */
	heading(d, 1, fmt(d, "darkscope report%s%s: %s to %s (%s)",
			  strstr(r->opts->period_name, "..") ? "" : " ",
			  strstr(r->opts->period_name, "..") ? "" : r->opts->period_name,
			  iso(d, cur->first), iso(d, cur->first + (int32_t)cur->ndays - 1),
			  r->tz));
	para(d, fmt(d, "%u day%s; previous period %s to %s. Sensors: %s. Feeds: %s. Redis "
		    "prefix %s.", cur->ndays, cur->ndays == 1 ? "" : "s", iso(d, prev->first),
		    iso(d, prev->first + (int32_t)prev->ndays - 1), sensors, feeds,
		    r->opts->prefix));
	if (r->opts->per_sensor_average)
		para(d, fmt(d, "Packets are per-sensor averages: divided by the %u sensor(s) "
			    "with data in the period (%u in the previous period).",
			    cur->sensors_with_data, prev->sensors_with_data));

	sec_overview(d);
	sec_ports(d);
	sec_daily(d, "3. Daily packets of the top ports", DS_REPORT_PORTS, "-ports");
	sec_countries(d);
	sec_daily(d, "5. Daily packets of the top countries", DS_REPORT_COUNTRIES, "-countries");
	sec_rules(d);
	sec_movers(d);
	if (r->n_notes > 0) {
		heading(d, 2, "Notes");
		for (i = 0; i < r->n_notes; i++)
			para(d, fmt(d, "- %s", r->notes[i]));
	}
}

static int
write_format(const struct ds_report *r, FILE *f, enum ds_report_format format)
{
	struct doc d = { .f = f, .fmt = format, .r = r };

	if (format == DS_REPORT_HTML) {
		fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		      "<title>", f);
		put_esc(&d, fmt(&d, "darkscope report %s", r->opts->period_name));
		fputs("</title>\n<style>\n"
		      "body{font-family:sans-serif;max-width:1000px;margin:1em auto;padding:0 1em;"
		      "color:#222}\n"
		      "table{border-collapse:collapse;margin:.5em 0 1em}\n"
		      "th,td{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left}\n"
		      "th.n,td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
		      "figure{margin:.5em 0}\nfigure img{width:100%;max-width:960px}\n"
		      "figcaption{font-size:90%;color:#555}\n"
		      "h2{border-bottom:2px solid #888;margin-top:1.5em}\n"
		      "</style>\n</head>\n<body>\n", f);
	}
	write_doc(&d);
	if (format == DS_REPORT_HTML)
		fputs("</body>\n</html>\n", f);
	ds_report_arena_free(&d.scratch);
	return ferror(f) ? -EIO : 0;
}

int
ds_report_write_text(const struct ds_report *r, FILE *f)
{
	return write_format(r, f, DS_REPORT_TEXT);
}

int
ds_report_write_markdown(const struct ds_report *r, FILE *f)
{
	return write_format(r, f, DS_REPORT_MARKDOWN);
}

int
ds_report_write_html(const struct ds_report *r, FILE *f)
{
	return write_format(r, f, DS_REPORT_HTML);
}
