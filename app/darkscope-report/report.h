/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope-report: the periodic telescope report, read from the hour and
 * day rollups the sensors keep in Redis (docs/SCHEMA.md, "Hours and days").
 *
 * The program is a straight pipeline, one file per stage:
 *
 *   main.c         command line -> struct ds_report_opts, exit status
 *   period.c       dates, periods, time zones: which UTC instants bound each
 *                  calendar day of the report zone
 *   redis_io.c     connection and a pipelined batch of commands
 *   fetch.c        what to read (day or hour keys per sensor and day), the
 *                  reads themselves in three round trips, rankings, movers
 *   chart.c        gnuplot: a data file and a script per chart, run in parallel
 *   render_json.c  the JSON document
 *   render_doc.c   text, markdown and HTML
 *
 * Everything the report holds lives in one arena (struct ds_report_arena)
 * freed at once: the data are read once, ranked, rendered and thrown away,
 * so there is no object with a life of its own.
 *
 * Words used throughout: a "slot" is one day or hour key stamp of one
 * sensor (YYYYMMDD or YYYYMMDDHH), a "unit" is one slot of one feed, that is
 * one key prefix P:S:F:d:D or P:S:F:h:H. The current period has index 0, the
 * previous period (same number of days, just before) index 1.
 */

#ifndef DS_REPORT_H
#define DS_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ds_config.h"

#define DS_REPORT_PROG "darkscope-report"

/* Exit statuses: a mistake on the command line, or a failure while running. */
#define DS_REPORT_EXIT_RUNTIME 1
#define DS_REPORT_EXIT_USAGE 2

/* Longest period: ten years of days keeps every per-day array small. */
#define DS_REPORT_MAX_DAYS 3660
#define DS_REPORT_MAX_TOP 1000
#define DS_REPORT_MAX_SENSORS 256
#define DS_REPORT_MAX_FEEDS 256

enum ds_report_format {
	DS_REPORT_TEXT,
	DS_REPORT_MARKDOWN,
	DS_REPORT_HTML,
	DS_REPORT_JSON,
};

/* The command line, validated by main.c. */
struct ds_report_opts {
	const char *redis_url;
	const char *username;           /**< NULL: AUTH with the password only */
	const char *password;           /**< NULL: no AUTH; never printed */
	const char *prefix;
	const char **sensors;           /**< --sensor values, n_sensors of them */
	unsigned int n_sensors;
	const char **feeds;             /**< --feed values */
	unsigned int n_feeds;
	int32_t first_day;              /**< days since 1970-01-01, inclusive */
	int32_t last_day;
	char period_name[48];           /**< "2024Q2", "2024-05", ... for titles */
	const char *tz;                 /**< NULL: the sensors' rollup zone */
	unsigned int top;
	bool per_sensor_average;
	const char *home;               /**< NULL or a country code, for labels */
	enum ds_report_format format;
	const char *out;                /**< NULL: stdout */
	const char *charts_dir;         /**< NULL: next to out */
	bool no_charts;
	struct ds_config_redis auth;    /**< --username, --password-env/-file */
	char password_buf[512];
};

/* ------------------------------------------------------------------------------------------ */
/* Arena: every allocation of a report, freed together.                                       */

struct ds_report_chunk;

struct ds_report_arena {
	struct ds_report_chunk *head;
};

void *ds_report_alloc(struct ds_report_arena *a, size_t size);
char *ds_report_strdup(struct ds_report_arena *a, const char *s);
char *ds_report_strndup(struct ds_report_arena *a, const char *s, size_t len);
char *ds_report_sprintf(struct ds_report_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ds_report_arena_free(struct ds_report_arena *a);

/* ------------------------------------------------------------------------------------------ */
/* Dates and zones (period.c)                                                                 */

/** "2024-05-20" (buf of 11) and "20240520" (buf of 9) of a day number. */
void ds_report_date_iso(int32_t day, char *buf);
void ds_report_date_stamp(int32_t day, char *buf);

/**
 * Parse a period argument into its first and last day (inclusive).
 * @p kind is the option: "from", "to", "quarter", "month", "week" or "day";
 * "from" and "to" set only *first.
 * @return 0, or -EINVAL when the text is not of the expected form.
 */
int ds_report_period_parse(const char *kind, const char *arg, int32_t *first, int32_t *last);

/**
 * Check that @p zone names a time zone of the system's database (or "UTC").
 * @return 0, -EINVAL for a malformed name, -ENOENT when the database lacks it.
 */
int ds_report_zone_check(const char *zone);

/**
 * The Unix times of the n + 1 local midnights starting the days
 * first .. first + n in @p zone (the last one ends day first + n - 1).
 * @return 0, or -EINVAL when mktime() cannot place a midnight.
 */
int ds_report_zone_midnights(const char *zone, int32_t first, unsigned int n, int64_t *out);

/* ------------------------------------------------------------------------------------------ */
/* The report                                                                                 */

/* Counters read from P:S:d:D:counters / P:S:h:H:counters, summed. */
enum ds_report_ctr {
	DS_REPORT_CTR_IMISSED,          /* every port.NAME.imissed */
	DS_REPORT_CTR_RX_NOMBUF,        /* every port.NAME.rx_nombuf */
	DS_REPORT_CTR_MALFORMED,
	DS_REPORT_CTR_DROPPED,          /* redis.dropped_total */
	DS_REPORT_CTR_SKIPPED,          /* redis.rollup_skipped_total */
	DS_REPORT_CTR_MAX,
};

extern const char *const ds_report_ctr_names[DS_REPORT_CTR_MAX];

struct ds_report_counters {
	double v[DS_REPORT_CTR_MAX];
	bool present[DS_REPORT_CTR_MAX];
};

struct ds_report_sensor {
	const char *id;
	const char *zone;               /**< rollup_timezone of P:S:meta, else "UTC" */
	bool zone_from_meta;
	unsigned int *feeds;            /**< indexes into ds_report.feeds */
	unsigned int n_feeds;
	bool has_data[2];               /**< some unit hash present in the period */
	unsigned int hour_days[2];      /**< days read from hour keys */
	struct ds_report_counters ctr;  /**< current period */
};

struct ds_report_feed {
	const char *name;
	double packets[2];
	uint64_t sources;               /**< PFCOUNT over the current period */
};

/* One feed of one sensor: the granularity of completeness. */
struct ds_report_sf {
	unsigned int sensor, feed;
	uint64_t expected[2];           /**< minutes the period's days span */
	uint64_t minutes[2], partial[2];
	unsigned int keys[2];           /**< day or hour hashes expected */
	unsigned int missing[2];        /**< of which absent */
	unsigned int hour_keys[2];      /**< of which hour keys */
	double packets[2];
};

struct ds_report_slot {
	unsigned int sensor;
	unsigned int day;               /**< index of the day in its period */
	bool hour;
	char stamp[11];                 /**< YYYYMMDD or YYYYMMDDHH */
};

struct ds_report_unit {
	unsigned int sf;
	unsigned int slot;
	const char *base;               /**< "P:S:F:d:D" or "P:S:F:h:H" */
	bool present;
};

struct ds_report_period {
	int32_t first;
	unsigned int ndays;
	int64_t *bounds;                /**< ndays + 1 midnights of the report zone */
	struct ds_report_slot *slots;
	size_t n_slots;
	struct ds_report_unit *units;   /**< ordered by day */
	size_t n_units;
	size_t *day_units;              /**< units of day d: [day_units[d], day_units[d + 1]) */
	unsigned int sensors_with_data;
	double divisor;                 /**< 1, or sensors_with_data with --per-sensor-average */
	double packets;
	uint64_t sources;
};

/* One value of a ranked dimension. */
struct ds_report_item {
	const char *label;              /**< as shown: "23/tcp", "US", "4713" */
	const char *value;              /**< member of the dimension: "23" */
	const char *dim;                /**< "tcp_dst_port", ... */
	int port;                       /**< ports: 0-65535; else -1 */
	double packets;                 /**< over the period, divided by the divisor */
	unsigned int rank;              /**< 1-based in its ranking; 0 when excluded */
	/* Filled for the items shown (top N, movers). */
	unsigned int prev_rank;         /**< 0: no packets in the previous period */
	double prev_packets;
	uint64_t sources;
	const char *service;
	double *daily;                  /**< ndays values, top N only */
};

struct ds_report_ranking {
	struct ds_report_item *v;       /**< ranked values, v[i].rank == i + 1 */
	size_t n;
	struct ds_report_item *ex;      /**< excluded labels (bogon, ...), by packets */
	size_t n_ex;
	struct ds_report_item **by_label;       /**< v sorted by label, for look-ups */
};

enum ds_report_rank_kind {
	DS_REPORT_PORTS,
	DS_REPORT_COUNTRIES,
	DS_REPORT_ASNS,
	DS_REPORT_FPS,
	DS_REPORT_RANK_MAX,
};

extern const char *const ds_report_kind_names[DS_REPORT_RANK_MAX];

/* A watch rule or a signature. */
struct ds_report_rule {
	const char *name;
	double packets;
	uint64_t sources, domestic, overseas;
	double *day_packets;
	uint64_t *day_domestic, *day_overseas;
	bool has_home;                  /**< some day has domestic or overseas sources */
	int chart;                      /**< index into ds_report.charts, -1 */
};

struct ds_report_mover {
	enum ds_report_rank_kind kind;
	const char *label;
	double packets, prev_packets;
	unsigned int rank, prev_rank;   /**< 0: no packets in that period */
	double log2_ratio, rank_term, score;
	bool is_new, gone;
};

struct ds_report_chart {
	const char *stem;               /**< file name without extension */
	const char *title;
	const char *ylabel;
	unsigned int n_series;
	const char **names;
	const double **series;          /**< n_series arrays of ndays values */
	const char *dat, *gp, *svg, *png;       /**< paths */
	bool made;
};

struct ds_report {
	struct ds_report_arena arena;
	const struct ds_report_opts *opts;
	const char *tz;                 /**< the report zone */
	bool tz_default;                /**< taken from the sensors, not --tz */

	struct ds_report_sensor *sensors;
	unsigned int n_sensors;
	struct ds_report_feed *feeds;
	unsigned int n_feeds;
	struct ds_report_sf *sfs;
	unsigned int n_sfs;
	struct ds_report_period per[2];

	struct ds_report_ranking rank[DS_REPORT_RANK_MAX][2];
	unsigned int n_shown[DS_REPORT_RANK_MAX];       /**< min(top, ranked) */

	struct ds_report_rule *watch, *sigs;
	unsigned int n_watch, n_sigs;

	struct ds_report_mover *movers;
	unsigned int n_movers;
	unsigned int movers_depth;      /**< candidates: top this many of either period */

	struct ds_report_chart *charts;
	unsigned int n_charts;
	const char *charts_dir;         /**< NULL: charts not written */
	bool charts_temporary;          /**< a temporary directory for HTML on stdout */
	const char *charts_rel;         /**< how the report refers to that directory */

	const char **notes;
	unsigned int n_notes, cap_notes;

	/* The first error: its text, and whether it was the user's (exit 2). */
	char errstr[512];
	bool usage_error;
};

/* Record an error; returns @p ret so callers can `return ds_report_error(...)`. */
int ds_report_error(struct ds_report *r, int ret, bool usage, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Add a line to the notes every format prints. */
void ds_report_note(struct ds_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** Read everything from Redis and rank it. @return 0 or -errno (errstr set). */
int ds_report_fetch(struct ds_report *r);

/** Write the data files and scripts, run gnuplot. @return 0 or -errno. */
int ds_report_charts(struct ds_report *r);

/** Write the report in the chosen format. @return 0 or -errno. */
int ds_report_write_json(const struct ds_report *r, FILE *f);
int ds_report_write_text(const struct ds_report *r, FILE *f);
int ds_report_write_markdown(const struct ds_report *r, FILE *f);
int ds_report_write_html(const struct ds_report *r, FILE *f);

/* Helpers shared by the renderers. */
/** Packets as text: an integer, or three decimals when averaged. */
void ds_report_fmt_packets(double v, char *buf, size_t size);
/** The heading of domestic / overseas columns, following --home. */
const char *ds_report_home_label(const struct ds_report *r, bool domestic);

#endif /* DS_REPORT_H */
