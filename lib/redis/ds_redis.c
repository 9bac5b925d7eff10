/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * One Redis connection that writes one sealed minute per call, and applies
 * it to its hour and day.
 *
 * The key schema is the contract in docs/SCHEMA.md (P prefix, S sensor,
 * F feed, M minute as YYYYMMDDHHMM, H the UTC hour YYYYMMDDHH, D the day
 * YYYYMMDD in redis.rollup_timezone):
 *
 *   P:S:F:M, P:S:F:M:DIM, ...:sources, ...:proto:bytes, P:S:M:counters  the minute
 *   P:S:F:h:H, P:S:F:h:H:DIM, P:S:F:h:H:hll..., P:S:h:H:counters        its hour (sums)
 *   P:S:F:d:D, ... the same ..., P:S:F:d:D:applied                      its day (sums)
 *   P:sensors, P:S:feeds, P:S:F:minutes|hours|days, P:S:meta            indexes
 *
 * Hours and days hold sums, and sums are where "idempotent" gets hard: a
 * minute is written again after a lost reply, or when a capture is replayed,
 * or completed (a partial minute rewritten whole). Adding it each time would
 * count it twice; so a Lua script reads what the minute held, overwrites it
 * and adds only the difference to the hour and day (ds_minute.lua explains
 * the rule and its one exception: a minute rewritten after its keys
 * expired). The minute goes as one transaction, so a reader never sees half
 * of it and the read-modify-write cannot interleave with anything:
 *
 *   ds_redis_write(rollup)
 *     |- connect, AUTH, SELECT, SCRIPT LOAD  (once per connection: sha)
 *     |- periods_read(): the sums of a period this connection does not
 *     |    know, read back (connecting first; "Periods sent whole")
 *     |- encode_minute(): the transaction, built before connecting
 *     |    head  MULTI, UNLINK of the staged keys, RESTORE P:S:F:M:staged:DIM ...
 *     |    json  the script's argument: names, totals, counters, TTLs
 *     |    tail  SADD, PFADD (or SET and PFMERGE), EXPIRE of the period
 *     |          HyperLogLogs, EXEC
 *     |- send_transaction(): head, EVALSHA sha 0 json, tail; read every reply
 *     |    NOSCRIPT (SCRIPT FLUSH, a failover) --> the same with EVAL
 *     `- the script's reply: number of parts whose sums were skipped, and per
 *          feed whether its hour and day were taken whole
 *
 * The values themselves (a busy minute has a few hundred thousand) never
 * pass through Lua: each zset goes as one RESTORE of Redis' own
 * serialisation of it, built by ds_dump.c, into a staged key, which the
 * script renames into place and sums into the periods with ZUNIONSTORE, or,
 * while this connection knows the periods' sums, replaces them with the
 * new sums it sent whole ("Periods sent whole" below). Decoding them from a
 * JSON argument in the script and handing them back to ZADD from Lua took
 * about a third of the time of such a minute's write; ZADD of them natively
 * still cost the server a parse and a random skiplist insert per member
 * (docs/PERFORMANCE.md, item 4). The head and tail are RESP formatted here,
 * numbers as decimal digits by hand, labels and payloads as they are (RESP
 * is binary safe); the argument is JSON, decoded in the script with Redis'
 * built-in cjson, which a human can read in MONITOR. Numbers are integers
 * printed in decimal; cjson reads them as doubles, exact up to 2^53 (so are
 * zset scores).
 *
 * Which day a minute belongs to depends on redis.rollup_timezone. UTC is
 * arithmetic; any other zone goes through localtime_r()/mktime(), which use
 * the process' TZ: the caller sets TZ to the zone (darkscope does at start,
 * and uses local time nowhere else) and ds_redis_create() checks it did.
 *
 * On any failure (connect, AUTH, an error reply, a broken socket) the
 * context is freed and the next call reconnects from scratch: there is no
 * half-known protocol state to recover. A retry after a reply was lost runs
 * the script again, which then finds the minute already written and adds
 * nothing. The password is kept only to send AUTH; it never appears in
 * errstr or in a log line, even when a server echoes it back.
 *
 * Not thread-safe: one struct ds_redis belongs to one thread at a time (the
 * writer thread in ds_redis_writer.c).
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <rte_log.h>

#include "ds_dump.h"
#include "ds_redis.h"
#include "ds_minute_lua.h"

/* Shared with ds_redis_writer.c, which does the outage and drop logging. */
extern int ds_redis_logtype;
RTE_LOG_REGISTER(ds_redis_logtype, darkscope.redis, INFO);

/* Used when the caller leaves a timeout at 0: never block forever on a dead peer. */
#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_COMMAND_TIMEOUT_MS 5000
/* An SHA1 in hex, as SCRIPT LOAD returns it. */
#define SHA_HEX 40

/*
 * A buffer being built: the script's JSON argument, or the RESP commands of
 * the transaction. Kept from write to write: after the first busy minute it
 * is big enough and is only reused.
 */
struct json_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;                   /* latched by a failed allocation until the next minute */
};

/*
 * Periods sent whole. A period's zset of a big dimension (every port of an
 * hour) summed inside Redis by ZUNIONSTORE costs the server a rebuild of the
 * whole zset each minute; the sensor keeps the sums it last wrote to the
 * current hour and day of each feed and sends the new zsets instead, by
 * RESTORE to P:S:F:M:staged:hour:DIM (and :day:), which the script renames
 * into place only when the period still holds what this connection wrote
 * there: its hash's `rev` (bumped by every write of the period) is the one
 * this connection left, or, for rev 0, the period does not exist yet. Any
 * other case (a restart, a rewritten minute, another writer, a failed
 * write) takes ZUNIONSTORE as before, and the sums are dropped.
 *
 * Sums this connection does not have (its first minute of a period, or
 * after the script refused them) are read back from Redis before the next
 * minute of the period that is not a join: the period's rev and every DIM
 * zset in one MULTI/EXEC, so that they are the period's as of that rev
 * (period_read()). At most PERIOD_READS_MAX reads a period and connection:
 * a period that another writer keeps changing is summed by ZUNIONSTORE
 * until the next one, rather than read back every minute.
 */
#define PERIOD_HOUR 0
#define PERIOD_DAY 1
/*
 * Values of one dimension a period's sums may hold (every port and window
 * fits); past it the period is summed by ZUNIONSTORE. It bounds what a
 * sender who makes up new labels (fingerprints) can make the sensor keep:
 * 2 MiB of sums and index and the labels themselves (a few MiB more) per
 * dimension, feed and period.
 */
#define PERIOD_MAX_VALUES (1u << 17)
#define PERIOD_READS_MAX 3

struct period_sums {
	char tag[16];               /* H or D of the sums; "" none */
	uint64_t rev;               /* the period's `rev` after this connection's last write */
	bool valid;                 /* the sums are the period's, as of rev */
	bool claimed;               /* this minute's transaction sends them */
	bool want_read;             /* read them back before this minute */
	bool ahead;                 /* read them back when the writer is idle */
	uint8_t reads;              /* read back in this period */
	struct ds_dump_sums dims[DS_DIM_MAX];
};

struct feed_sums {
	char *name;
	struct period_sums per[2];  /* PERIOD_HOUR, PERIOD_DAY */
};

struct ds_redis {
	char *host;
	uint16_t port;
	char *unix_socket;          /* NULL: TCP */
	uint32_t db;
	char *username;             /* NULL: AUTH with the password only */
	char *password;             /* NULL: no AUTH; wiped on free */
	char *prefix;
	char *timezone;             /* NULL: UTC */
	uint32_t retention_s;
	uint32_t hour_retention_s;
	uint32_t day_retention_s;
	uint32_t hll_values;
	uint32_t connect_timeout_ms;
	uint32_t command_timeout_ms;
	char endpoint[160];         /* "unix:/run/redis.sock" or "host:port", for messages */

	redisContext *ctx;          /* NULL while disconnected */
	char sha[SHA_HEX + 1];      /* of ds_minute.lua, from SCRIPT LOAD on this connection */
	bool have_newest;
	int64_t newest;             /* newest minute written, the index trimming reference */
	uint64_t rollup_skipped;    /* minutes whose sums the script left alone */
	uint64_t periods_whole;     /* periods the script took whole */
	uint64_t periods_read;      /* periods whose sums were read back */
	char *sensor;               /* of the last minute written (NULL: none), for reads ahead */
	uint64_t write_us;          /* the last ds_redis_write() */
	uint64_t encode_us;         /* its encode_minute() (not reading periods back) */

	struct json_buf json;       /* the script's argument */
	struct json_buf head;       /* MULTI and the staged RESTOREs, as RESP */
	struct json_buf tail;       /* the HyperLogLogs' commands and EXEC, as RESP */
	uint32_t head_cmds;         /* commands in head, MULTI included */
	uint32_t tail_cmds;         /* commands in tail, EXEC included */
	struct json_buf labels;     /* one dimension's labels, each rendered once */
	struct json_buf reads;      /* a period's read back (period_read()), as RESP */
	size_t *label_off;          /* where each label starts in `labels`, and the end */
	size_t cap_label_off;
	struct ds_dump_zset dump;   /* one dimension's zsets as RESTORE payloads */
	uint8_t *hll;               /* a big source set as a HyperLogLog (DS_HLL_DENSE_SIZE) */
	struct feed_sums **sums;    /* per feed name, the periods sent whole */
	uint32_t n_sums;
	struct feed_sums **feed_sums; /* the rollup's feed i -> its sums (NULL: none) */
	uint8_t *whole;             /* feed i, period t: the script took the zsets sent whole */
	uint32_t cap_feed_sums;
	char errstr[256];
};

static void
set_err(struct ds_redis *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Record the last failure. Server messages are copied verbatim, so check the
 * result: if it contains the password (a server echoing arguments), withhold
 * the text rather than leak it to a log.
 */
static void
set_err(struct ds_redis *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
	va_end(ap);
	if (r->password != NULL && strstr(r->errstr, r->password) != NULL)
		snprintf(r->errstr, sizeof(r->errstr),
			 "%s: error text withheld (it contained the password)", r->endpoint);
}

static struct timeval
ms_to_tv(uint32_t ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return tv;
}

/* --- JSON -------------------------------------------------------------------------------- */

static bool
json_reserve(struct json_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->len + n <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64 * 1024;
	while (cap < b->len + n)
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
json_raw(struct json_buf *b, const char *s, size_t n)
{
	if (!json_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

#define JSON_LIT(b, lit) json_raw((b), (lit), sizeof(lit) - 1)

static void
json_char(struct json_buf *b, char c)
{
	if (json_reserve(b, 1))
		b->p[b->len++] = c;
}

/*
 * Decimal digits by hand, at the end of d[20]; returns where they start.
 * 400k numbers in a busy minute: snprintf would be the hot spot.
 */
static const char *
u64_digits(char d[20], uint64_t v, size_t *n)
{
	char *p = d + 20;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	*n = (size_t)(d + 20 - p);
	return p;
}

static void
json_u64(struct json_buf *b, uint64_t v)
{
	char d[20];
	size_t n;
	const char *p = u64_digits(d, v, &n);

	json_raw(b, p, n);
}

static void
json_i64(struct json_buf *b, int64_t v)
{
	if (v < 0) {
		json_char(b, '-');
		json_u64(b, 0 - (uint64_t)v);
	} else {
		json_u64(b, (uint64_t)v);
	}
}

/*
 * A quoted string. Labels come from the configuration or from packets
 * (option kinds, fingerprints): escape what JSON requires, quote and
 * backslash and control bytes; other bytes pass as they are, which cjson
 * hands to Redis unchanged.
 */
static void
json_str(struct json_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	/* Worst case 6 bytes per byte (\u00XX) plus the quotes. */
	if (!json_reserve(b, 6 * n + 2))
		return;
	b->p[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(b->p + b->len, "\\u00", 4);
			b->p[b->len + 4] = hex[c >> 4];
			b->p[b->len + 5] = hex[c & 15];
			b->len += 6;
		} else {
			b->p[b->len++] = (char)c;
		}
	}
	b->p[b->len++] = '"';
}

static void
json_cstr(struct json_buf *b, const char *s)
{
	json_str(b, s, strlen(s));
}

/* "key": (with the comma before it unless first) */
static void
json_key(struct json_buf *b, const char *key, bool first)
{
	if (!first)
		json_char(b, ',');
	json_cstr(b, key);
	json_char(b, ':');
}

/*
 * A value's label as it is, appended to b (for RESP, which needs no
 * escaping); a NUL follows it in the buffer, not counted in b->len.
 */
static void
raw_label(struct json_buf *b, const struct ds_rollup *ru, enum ds_dim d, uint32_t value)
{
	int n;

	if (!json_reserve(b, 256))
		return;
	n = ds_rollup_label(ru, d, value, b->p + b->len, b->cap - b->len);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n >= b->cap - b->len) {
		if (!json_reserve(b, (size_t)n + 1))
			return;
		ds_rollup_label(ru, d, value, b->p + b->len, (size_t)n + 1);
	}
	b->len += (size_t)n;
}

/* --- RESP: commands formatted here, sent with redisAppendFormattedCommand() -------------- */

/* "*n\r\n": a command of n arguments follows. */
static void
resp_array(struct json_buf *b, size_t n)
{
	json_char(b, '*');
	json_u64(b, n);
	JSON_LIT(b, "\r\n");
}

static void
resp_bulk(struct json_buf *b, const char *s, size_t n)
{
	json_char(b, '$');
	json_u64(b, n);
	JSON_LIT(b, "\r\n");
	json_raw(b, s, n);
	JSON_LIT(b, "\r\n");
}

static void
resp_cstr(struct json_buf *b, const char *s)
{
	resp_bulk(b, s, strlen(s));
}

static void
resp_u64(struct json_buf *b, uint64_t v)
{
	char d[20];
	size_t n;
	const char *p = u64_digits(d, v, &n);

	resp_bulk(b, p, n);
}

/* A key: n parts (prefix, sensor, feed, ...) joined by ':'. */
static void
resp_key(struct json_buf *b, size_t n, const char *const *parts)
{
	size_t len = n - 1;

	for (size_t i = 0; i < n; i++)
		len += strlen(parts[i]);
	json_char(b, '$');
	json_u64(b, len);
	JSON_LIT(b, "\r\n");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			json_char(b, ':');
		json_raw(b, parts[i], strlen(parts[i]));
	}
	JSON_LIT(b, "\r\n");
}

/* A key's parts as (count, array) arguments: PARTS(prefix, sensor, ...). */
#define PARTS(...) sizeof((const char *[]){ __VA_ARGS__ }) / sizeof(char *), \
		   (const char *[]){ __VA_ARGS__ }

/* resp_key() of the parts listed: KEY(b, prefix, sensor, ...). */
#define KEY(b, ...) resp_key((b), PARTS(__VA_ARGS__))

/* --- the minute's periods ---------------------------------------------------------------- */

/* The minute's keys and start times: minute and hour in UTC, day in the rollup zone. */
struct periods {
	char minute[32];
	char hour[16];
	char day[16];
	int64_t minute_t;
	int64_t hour_t;
	int64_t day_t;
};

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int
periods_of(const struct ds_redis *r, int64_t minute, struct periods *p)
{
	time_t t = (time_t)(minute * 60);
	struct tm tm;

	ds_minute_key(minute, p->minute, sizeof(p->minute));
	snprintf(p->hour, sizeof(p->hour), "%.10s", p->minute);
	p->minute_t = minute * 60;
	p->hour_t = floor_div(minute, 60) * 3600;
	if (r->timezone == NULL) {
		if (gmtime_r(&t, &tm) == NULL)
			return -EINVAL;
		p->day_t = floor_div(minute, 1440) * 86400;
	} else {
		time_t midnight;
		struct tm m;

		if (localtime_r(&t, &tm) == NULL)
			return -EINVAL;
		/*
		 * mktime() of 00:00 of that date: the day's first second even
		 * when the zone's offset changed during the day. isdst -1 lets
		 * it decide; a zone whose clocks skip midnight gets the first
		 * time that exists.
		 */
		m = tm;
		m.tm_hour = 0;
		m.tm_min = 0;
		m.tm_sec = 0;
		m.tm_isdst = -1;
		midnight = mktime(&m);
		if (midnight == (time_t)-1)
			return -EINVAL;
		p->day_t = (int64_t)midnight;
	}
	if (strftime(p->day, sizeof(p->day), "%Y%m%d", &tm) != 8)
		return -EINVAL;
	return 0;
}

/* --- encoding the rollup ------------------------------------------------------------------- */

/*
 * The values of one (feed, dimension) that rank among its hll_values values
 * with the most packets, sorted for bsearch. Built on first use: only the
 * pairs that have source sets need one.
 */
struct top_values {
	uint32_t *v;
	uint32_t n;
	bool built;
};

static int
u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Does this source set go to a HyperLogLog? The feed's own always; a
 * value's only when it ranks among the first hll_values entries of its
 * dimension (entries are sorted by packets, largest first, then by value),
 * whatever the rollup carries. The cut is strict, ties included: a sender
 * that puts one packet on each of 65536 ports ties them all, and must not
 * make 65536 HyperLogLogs per hour and per day. -ENOMEM, else 1 or 0.
 */
static int
srcset_wanted(const struct ds_redis *r, const struct ds_rollup *ru,
	      const struct ds_rollup_srcset *s, struct top_values *tops)
{
	const struct ds_rollup_dim *dim;
	struct top_values *t;

	if (s->feed >= ru->n_feeds || s->n == 0)
		return 0;
	if (s->dim == DS_SRCSET_FEED)
		return 1;
	if (s->dim >= DS_DIM_MAX || r->hll_values == 0)
		return 0;
	dim = &ru->feeds[s->feed].dims[s->dim];
	t = &tops[s->feed * DS_DIM_MAX + s->dim];
	if (!t->built) {
		t->n = dim->n < r->hll_values ? dim->n : r->hll_values;
		t->v = malloc((t->n ? t->n : 1) * sizeof(*t->v));
		if (t->v == NULL)
			return -ENOMEM;
		for (uint32_t i = 0; i < t->n; i++)
			t->v[i] = dim->entries[i].value;
		qsort(t->v, t->n, sizeof(*t->v), u32_cmp);
		t->built = true;
	}
	return bsearch(&s->value, t->v, t->n, sizeof(*t->v), u32_cmp) != NULL;
}

/*
 * RESTORE key 0 payload REPLACE, the payload being the zset that r->dump
 * holds ordered (size bytes, as ds_dump_zset_order() said). TTL 0: none;
 * the script sets the key's own when it renames it into place.
 */
static int
queue_restore(struct ds_redis *r, size_t size, size_t n_parts, const char *const *parts)
{
	struct json_buf *b = &r->head;

	JSON_LIT(b, "*5\r\n$7\r\nRESTORE\r\n");
	resp_key(b, n_parts, parts);
	JSON_LIT(b, "$1\r\n0\r\n$");
	json_u64(b, size);
	JSON_LIT(b, "\r\n");
	if (!json_reserve(b, size))
		return -ENOMEM;
	ds_dump_zset_write(&r->dump, (uint8_t *)b->p + b->len);
	b->len += size;
	JSON_LIT(b, "\r\n$7\r\nREPLACE\r\n");
	r->head_cmds++;
	return 0;
}

/*
 * Forget a period's sums. The buffers stay for the next period (its first
 * minute would otherwise fault in some MiB of fresh pages), unless free.
 */
static void
period_drop(struct period_sums *ps, bool free_them)
{
	for (int d = 0; d < DS_DIM_MAX; d++) {
		if (free_them)
			ds_dump_sums_free(&ps->dims[d]);
		else
			ds_dump_sums_clear(&ps->dims[d]);
	}
	ps->valid = false;
	ps->claimed = false;
}

/* The sums of a feed by name, made on first use; NULL when out of memory. */
static struct feed_sums *
feed_sums_of(struct ds_redis *r, const char *name)
{
	struct feed_sums *fs, **v;

	for (uint32_t i = 0; i < r->n_sums; i++)
		if (strcmp(r->sums[i]->name, name) == 0)
			return r->sums[i];
	v = realloc(r->sums, (r->n_sums + 1) * sizeof(*v));
	if (v == NULL)
		return NULL;
	r->sums = v;
	fs = calloc(1, sizeof(*fs));
	if (fs == NULL || (fs->name = strdup(name)) == NULL) {
		free(fs);
		return NULL;
	}
	r->sums[r->n_sums++] = fs;
	return fs;
}

/*
 * After the minute's transaction: a period the script took keeps its sums
 * (its rev is one more); any other claimed period, or all of them when the
 * write failed (whole NULL), is dropped. A period without sums is to be read
 * back ahead of its next minute (ds_redis_read_ahead()).
 */
static void
periods_settle(struct ds_redis *r, uint32_t n_feeds, const uint8_t *whole)
{
	for (uint32_t i = 0; i < n_feeds && i < r->cap_feed_sums; i++) {
		struct feed_sums *fs = r->feed_sums[i];

		for (int t = 0; fs != NULL && t < 2; t++) {
			struct period_sums *ps = &fs->per[t];

			if (ps->claimed && whole != NULL && whole[2 * i + t]) {
				ps->rev++;
				ps->claimed = false;
				r->periods_whole++;
			} else if (ps->claimed) {
				period_drop(ps, false);
			}
			ps->ahead = !ps->valid && ps->tag[0] != '\0' &&
				    ps->reads < PERIOD_READS_MAX;
		}
	}
}

/*
 * Before a minute of period tag: does its transaction send the period
 * whole? A period after one this connection wrote starts empty sums,
 * expected to be a new period in Redis too; the connection's first period
 * is read back first (want_read), and so is a period whose sums were
 * dropped, unless the minute is a join (the script takes no sums with
 * another process' part in it) or the period was read back often enough.
 * An older period (a backfill) leaves the sums alone and is summed by
 * ZUNIONSTORE.
 */
static void
period_begin(struct period_sums *ps, const char *tag, bool join)
{
	int c = strcmp(tag, ps->tag);

	ps->claimed = false;
	ps->want_read = false;
	if (c < 0)
		return;
	if (c > 0) {
		bool first = ps->tag[0] == '\0';

		period_drop(ps, false);
		snprintf(ps->tag, sizeof(ps->tag), "%s", tag);
		ps->rev = 0;
		ps->reads = 0;
		ps->valid = !first;
	}
	ps->want_read = !ps->valid && !join && ps->reads < PERIOD_READS_MAX;
	ps->claimed = ps->valid;
}

/*
 * Add a dimension's minute (its labels rendered in `labels`) to the
 * claimed periods' sums, and stage each period's new zset. A period that
 * runs out of memory or past PERIOD_MAX_VALUES is dropped (its claim
 * withdrawn: the script then ignores what was staged).
 */
static int
queue_period_dims(struct ds_redis *r, const struct ds_rollup *ru, const char *feed,
		  const char *minute, enum ds_dim d, const struct ds_rollup_dim *dim,
		  struct feed_sums *fs)
{
	static const char *const kinds[2] = { "hour", "day" };
	struct json_buf *lb = &r->labels;

	for (int t = 0; fs != NULL && t < 2; t++) {
		struct period_sums *ps = &fs->per[t];
		struct ds_dump_sums *sums = &ps->dims[d];
		size_t size;

		if (!ps->claimed)
			continue;
		/* A period's first values: sized at once, not doubled up to them. */
		if (sums->n == 0 && ds_dump_sums_reserve(sums, dim->n, r->label_off[dim->n]) < 0)
			period_drop(ps, true);
		for (uint32_t k = 0; k < dim->n && ps->claimed; k++) {
			/* A zero adds no member: the script drops zero sums too. */
			if (dim->entries[k].packets == 0)
				continue;
			if (ds_dump_sums_add(sums, lb->p + r->label_off[k],
					     r->label_off[k + 1] - r->label_off[k],
					     dim->entries[k].packets) < 0 ||
			    sums->n > PERIOD_MAX_VALUES)
				period_drop(ps, true);
		}
		if (!ps->claimed || sums->n == 0)
			continue;
		if (ds_dump_zset_labels(&r->dump, sums->labels, sums->off, sums->n) < 0)
			return -ENOMEM;
		size = ds_dump_zset_order(&r->dump, sums->sum, sizeof(sums->sum[0]));
		if (queue_restore(r, size, PARTS(r->prefix, ru->sensor, feed, minute,
						 "staged", kinds[t], ds_dim_name(d))) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Values per PFADD of the transaction: keeps each command near 100 KB. */
#define VALUES_PER_CMD 4096

/*
 * A dimension's staged zsets (packets, sources, and bytes for protocols):
 * RESTORE of P:S:F:M:staged:DIM, ...:staged:DIM:sources and
 * ...:staged:proto:bytes, for the script to rename into place. The payloads
 * are Redis' own serialisation of the zsets (ds_dump.c), built here so that
 * the server does not parse and place a few hundred thousand ZADD members
 * one by one. Each label is rendered once, into `labels`.
 */
static int
queue_dim(struct ds_redis *r, const struct ds_rollup *ru, const char *feed, const char *minute,
	  enum ds_dim d, const struct ds_rollup_dim *dim, struct feed_sums *fs)
{
	struct json_buf *lb = &r->labels;
	const char *name = ds_dim_name(d);
	int n_zsets = d == DS_DIM_PROTO ? 3 : 2;
	int rc;

	if (dim->n + 1 > r->cap_label_off) {
		size_t *off = realloc(r->label_off, (dim->n + 1) * sizeof(*off));

		if (off == NULL)
			return -ENOMEM;
		r->label_off = off;
		r->cap_label_off = dim->n + 1;
	}
	lb->len = 0;
	for (uint32_t i = 0; i < dim->n; i++) {
		r->label_off[i] = lb->len;
		raw_label(lb, ru, d, dim->entries[i].value);
	}
	r->label_off[dim->n] = lb->len;
	if (lb->oom || ds_dump_zset_labels(&r->dump, lb->p, r->label_off, dim->n) < 0)
		return -ENOMEM;

	for (int z = 0; z < n_zsets; z++) {
		const struct ds_rollup_entry *e = dim->entries;
		const uint64_t *score = z == 0 ? &e->packets : z == 1 ? &e->sources : &e->bytes;
		size_t size = ds_dump_zset_order(&r->dump, score, sizeof(*e));

		if (z == 0)
			rc = queue_restore(r, size, PARTS(r->prefix, ru->sensor, feed, minute,
							  "staged", name));
		else if (z == 1)
			rc = queue_restore(r, size, PARTS(r->prefix, ru->sensor, feed, minute,
							  "staged", name, "sources"));
		else
			rc = queue_restore(r, size, PARTS(r->prefix, ru->sensor, feed, minute,
							  "staged", "proto", "bytes"));
		if (rc < 0)
			return rc;
	}
	return queue_period_dims(r, ru, feed, minute, d, dim, fs);
}

/*
 * A feed in the script's argument: its totals and the names of its
 * dimensions with values (whose zsets are staged); the staged zsets
 * themselves go to the transaction's head.
 */
static int
encode_feed(struct ds_redis *r, const struct ds_rollup *ru, const struct ds_rollup_feed *f,
	    const struct periods *p, struct feed_sums *fs)
{
	struct json_buf *b = &r->json;
	const char *minute = p->minute;
	bool first = true;
	int rc = 0;

	json_char(b, '{');
	json_key(b, "name", true);
	json_cstr(b, f->name);
	json_key(b, "packets", false);
	json_u64(b, f->packets);
	json_key(b, "bytes", false);
	json_u64(b, f->bytes);
	json_key(b, "sources", false);
	json_u64(b, f->sources);
	/* Only dimensions with values: the script gives the others no key at all. */
	json_key(b, "dims", false);
	json_char(b, '[');
	for (int d = 0; d < DS_DIM_MAX && rc == 0; d++) {
		if (f->dims[d].n == 0)
			continue;
		if (!first)
			json_char(b, ',');
		first = false;
		json_cstr(b, ds_dim_name((enum ds_dim)d));
		rc = queue_dim(r, ru, f->name, minute, (enum ds_dim)d, &f->dims[d], fs);
	}
	JSON_LIT(b, "]");
	/*
	 * The periods sent whole, each with the rev it must still have. A
	 * minute without values stages nothing; the script still checks the
	 * rev, and a period it takes keeps its zsets and the sums.
	 */
	for (int t = 0; fs != NULL && t < 2; t++) {
		if (!fs->per[t].claimed)
			continue;
		json_key(b, t == PERIOD_HOUR ? "whole_hour" : "whole_day", false);
		json_u64(b, fs->per[t].rev);
	}
	json_char(b, '}');
	return rc;
}

/*
 * UNLINK every staged key a minute can have: what an earlier attempt at
 * this minute left if its script failed (NOSCRIPT, or an error half way; a
 * transaction that never reached EXEC leaves nothing).
 */
static void
queue_unlink_staged(struct ds_redis *r, const struct ds_rollup *ru, const char *minute)
{
	struct json_buf *b = &r->head;

	if (ru->n_feeds == 0)
		return;         /* UNLINK needs a key */
	resp_array(b, 1 + (size_t)ru->n_feeds * (4 * DS_DIM_MAX + 1));
	JSON_LIT(b, "$6\r\nUNLINK\r\n");
	for (uint32_t i = 0; i < ru->n_feeds; i++) {
		const char *f = ru->feeds[i].name;

		for (int d = 0; d < DS_DIM_MAX; d++) {
			const char *name = ds_dim_name((enum ds_dim)d);

			KEY(b, r->prefix, ru->sensor, f, minute, "staged", name);
			KEY(b, r->prefix, ru->sensor, f, minute, "staged", name, "sources");
			KEY(b, r->prefix, ru->sensor, f, minute, "staged", "hour", name);
			KEY(b, r->prefix, ru->sensor, f, minute, "staged", "day", name);
		}
		KEY(b, r->prefix, ru->sensor, f, minute, "staged", "proto", "bytes");
	}
	r->head_cmds++;
}

/* EXPIRE of the key of n parts; nothing when ttl is 0 (the key never expires). */
static void
queue_expire(struct ds_redis *r, uint32_t ttl, size_t n, const char *const *parts)
{
	struct json_buf *b = &r->tail;

	if (ttl == 0)
		return;
	resp_array(b, 3);
	JSON_LIT(b, "$6\r\nEXPIRE\r\n");
	resp_key(b, n, parts);
	resp_u64(b, ttl);
	r->tail_cmds++;
}

/*
 * A set of at least this many sources becomes a HyperLogLog here, which is
 * SET to a staged key and merged into the hour's and the day's (PFMERGE):
 * 12 KiB on the wire instead of a PFADD argument per address, each parsed
 * and hashed by the server twice. PFMERGE leaves its destination dense
 * (12 KiB), where PFADD of a thousand sources would leave a sparse one of
 * a few KiB (Redis turns it dense beyond hll-sparse-max-bytes, 3000 by
 * default, about 1 500 sources). Smaller sets are PFADDed to both. The cut
 * at 1024 rather than 4096 took the server's PFADD time of a minute of the
 * worst capture from 60 to 32 ms, for 3 ms more of PFMERGE.
 */
#define SRCSET_MERGE_MIN 1024

/* PFADD key src..., VALUES_PER_CMD addresses a command. */
static void
queue_pfadd(struct ds_redis *r, const struct ds_rollup_srcset *s, size_t n_parts,
	    const char *const *parts)
{
	struct json_buf *b = &r->tail;

	for (uint32_t i = 0; i < s->n; i += VALUES_PER_CMD) {
		uint32_t last = s->n - i < VALUES_PER_CMD ? s->n : i + VALUES_PER_CMD;

		resp_array(b, 2 + (size_t)(last - i));
		JSON_LIT(b, "$5\r\nPFADD\r\n");
		resp_key(b, n_parts, parts);
		for (uint32_t k = i; k < last; k++)
			resp_u64(b, s->src[k]);
		r->tail_cmds++;
	}
}

/* SET key to the dense HyperLogLog of the set's sources (ds_dump.c). */
static int
queue_hll(struct ds_redis *r, const struct ds_rollup_srcset *s, size_t n_parts,
	  const char *const *parts)
{
	struct json_buf *b = &r->tail;

	if (r->hll == NULL && (r->hll = malloc(DS_HLL_DENSE_SIZE)) == NULL)
		return -ENOMEM;
	ds_hll_init(r->hll);
	for (uint32_t k = 0; k < s->n; k++) {
		char d[20];
		size_t n;
		/* The element is what PFADD would get: the decimal digits. */
		const char *p = u64_digits(d, s->src[k], &n);

		ds_hll_add(r->hll, p, n);
	}
	resp_array(b, 3);
	JSON_LIT(b, "$3\r\nSET\r\n");
	resp_key(b, n_parts, parts);
	resp_bulk(b, (const char *)r->hll, DS_HLL_DENSE_SIZE);
	r->tail_cmds++;
	return 0;
}

/*
 * One source set into its hour's and day's HyperLogLogs (docs/SCHEMA.md,
 * "Distinct sources"), in the transaction after the script: PFADD is
 * idempotent, so a rewrite needs no old values. A value's set also names
 * its label in the period's index set P:S:F:TAG:hll:DIM.
 */
static int
queue_srcset(struct ds_redis *r, const struct ds_rollup *ru, const struct ds_rollup_srcset *s,
	     const struct periods *p)
{
	struct json_buf *b = &r->tail;
	const char *tags[2] = { p->hour, p->day }, *kinds[2] = { "h", "d" };
	const uint32_t ttls[2] = { r->hour_retention_s, r->day_retention_s };
	const char *dim = s->dim != DS_SRCSET_FEED ? ds_dim_name((enum ds_dim)s->dim) : NULL;
	const char *feed = ru->feeds[s->feed].name;
	size_t n_parts = dim != NULL ? 8 : 6;
	bool merge = s->n >= SRCSET_MERGE_MIN;
	const char *label = NULL;
	/* P:S:F:M:staged:hll, then :DIM:LABEL */
	const char *staged[8] = { r->prefix, ru->sensor, feed, p->minute, "staged", "hll" };

	if (dim != NULL) {
		/* The dimensions are queued: `labels` is free again. */
		r->labels.len = 0;
		raw_label(&r->labels, ru, (enum ds_dim)s->dim, s->value);
		if (r->labels.oom)
			return -ENOMEM;
		label = r->labels.p;
		staged[6] = dim;
		staged[7] = label;
	}
	if (merge && queue_hll(r, s, n_parts, staged) < 0)
		return -ENOMEM;
	for (int t = 0; t < 2; t++) {
		/* P:S:F:h:H:hll, then :DIM, then :LABEL */
		const char *parts[8] = { r->prefix, ru->sensor, feed, kinds[t], tags[t], "hll", dim,
					 label };

		if (dim != NULL) {
			resp_array(b, 3);
			JSON_LIT(b, "$4\r\nSADD\r\n");
			resp_key(b, 7, parts);
			resp_cstr(b, label);
			r->tail_cmds++;
			queue_expire(r, ttls[t], 7, parts);
		}
		if (merge) {
			resp_array(b, 3);
			JSON_LIT(b, "$7\r\nPFMERGE\r\n");
			resp_key(b, n_parts, parts);
			resp_key(b, n_parts, staged);
			r->tail_cmds++;
		} else {
			queue_pfadd(r, s, n_parts, parts);
		}
		queue_expire(r, ttls[t], n_parts, parts);
	}
	if (merge) {
		resp_array(b, 2);
		JSON_LIT(b, "$6\r\nUNLINK\r\n");
		resp_key(b, n_parts, staged);
		r->tail_cmds++;
	}
	return 0;
}

static int
queue_srcsets(struct ds_redis *r, const struct ds_rollup *ru, const struct periods *p)
{
	struct top_values *tops = calloc((size_t)ru->n_feeds * DS_DIM_MAX + 1, sizeof(*tops));
	int rc = 0;

	if (tops == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < ru->n_srcsets && rc >= 0; i++) {
		rc = srcset_wanted(r, ru, &ru->srcsets[i], tops);
		if (rc > 0)
			rc = queue_srcset(r, ru, &ru->srcsets[i], p);
	}
	for (size_t i = 0; i < (size_t)ru->n_feeds * DS_DIM_MAX; i++)
		free(tops[i].v);
	free(tops);
	return rc < 0 ? rc : 0;
}

/*
 * The sets and the meta hash must outlive every key they lead to: they
 * expire with the longest retention, and never when any data never expires.
 */
static uint32_t
index_ttl(const struct ds_redis *r)
{
	uint32_t t = r->retention_s;

	if (r->retention_s == 0 || r->hour_retention_s == 0 || r->day_retention_s == 0)
		return 0;
	if (r->hour_retention_s > t)
		t = r->hour_retention_s;
	if (r->day_retention_s > t)
		t = r->day_retention_s;
	return t;
}

/*
 * The minute's transaction: the head (MULTI, UNLINK of the staged keys, the
 * staged RESTOREs), the script's argument, and the tail (the HyperLogLogs'
 * commands, EXEC); send_transaction() sends them. p is the minute's periods
 * and their sums, from periods_prepare(). ds_minute.lua reads the
 * argument. The index cut-offs are relative to the newest minute written
 * (see ds_redis_write()); an hour or a day stays in its index as long as its
 * last minute would stay in the minutes index under the same retention.
 */
static int
encode_minute(struct ds_redis *r, const struct ds_rollup *ru, const struct periods *p,
	      int64_t newest)
{
	struct json_buf *b = &r->json;
	int64_t newest_t = newest * 60;
	int rc = 0;

	b->len = 0;
	b->oom = false;
	r->head.len = 0;
	r->head.oom = false;
	r->tail.len = 0;
	r->tail.oom = false;
	r->labels.oom = false;
	r->head_cmds = 0;
	r->tail_cmds = 0;
	JSON_LIT(&r->head, "*1\r\n$5\r\nMULTI\r\n");
	r->head_cmds++;
	queue_unlink_staged(r, ru, p->minute);
	json_char(b, '{');
	json_key(b, "prefix", true);
	json_cstr(b, r->prefix);
	json_key(b, "sensor", false);
	json_cstr(b, ru->sensor);
	json_key(b, "minute", false);
	json_cstr(b, p->minute);
	json_key(b, "minute_t", false);
	json_i64(b, p->minute_t);
	json_key(b, "hour", false);
	json_cstr(b, p->hour);
	json_key(b, "hour_t", false);
	json_i64(b, p->hour_t);
	json_key(b, "day", false);
	json_cstr(b, p->day);
	json_key(b, "day_t", false);
	json_i64(b, p->day_t);
	json_key(b, "timezone", false);
	json_cstr(b, r->timezone != NULL ? r->timezone : "UTC");
	json_key(b, "partial", false);
	json_u64(b, ru->partial ? 1 : 0);
	json_key(b, "sampling", false);
	json_u64(b, ru->sources_sampling);
	if (ru->join) {
		/* A string: a Lua number holds 53 bits. */
		char id[20];

		snprintf(id, sizeof(id), "%016" PRIx64, ru->writer);
		json_key(b, "join", false);
		json_cstr(b, id);
	}
	if (ru->signatures_version != NULL) {
		json_key(b, "signatures_version", false);
		json_cstr(b, ru->signatures_version);
	}
	json_key(b, "hll_values", false);
	json_u64(b, r->hll_values);
	JSON_LIT(b, ",\"ttl\":{\"minute\":");
	json_u64(b, r->retention_s);
	JSON_LIT(b, ",\"hour\":");
	json_u64(b, r->hour_retention_s);
	JSON_LIT(b, ",\"day\":");
	json_u64(b, r->day_retention_s);
	JSON_LIT(b, ",\"index\":");
	json_u64(b, index_ttl(r));
	JSON_LIT(b, "},\"cut\":{\"minute\":");
	json_i64(b, newest_t - (int64_t)r->retention_s);
	JSON_LIT(b, ",\"hour\":");
	json_i64(b, newest_t - (int64_t)r->hour_retention_s - (3600 - 60));
	JSON_LIT(b, ",\"day\":");
	json_i64(b, newest_t - (int64_t)r->day_retention_s - (86400 - 60));
	json_char(b, '}');

	/* Every dimension name: the script deletes (and reads) all keys a minute can have. */
	json_key(b, "dim_names", false);
	json_char(b, '[');
	for (int d = 0; d < DS_DIM_MAX; d++) {
		if (d > 0)
			json_char(b, ',');
		json_cstr(b, ds_dim_name((enum ds_dim)d));
	}
	json_char(b, ']');

	json_key(b, "feeds", false);
	json_char(b, '[');
	for (uint32_t i = 0; i < ru->n_feeds && rc == 0; i++) {
		if (i > 0)
			json_char(b, ',');
		rc = encode_feed(r, ru, &ru->feeds[i], p, r->feed_sums[i]);
	}
	json_char(b, ']');

	JSON_LIT(b, ",\"counters\":{\"names\":[");
	for (uint32_t i = 0; i < ru->n_counters; i++) {
		const struct ds_rollup_counter *c = &ru->counters[i];

		if (i > 0)
			json_char(b, ',');
		json_str(b, c->name, strnlen(c->name, sizeof(c->name)));
	}
	JSON_LIT(b, "],\"values\":[");
	for (uint32_t i = 0; i < ru->n_counters; i++) {
		if (i > 0)
			json_char(b, ',');
		json_u64(b, ru->counters[i].value);
	}
	JSON_LIT(b, "]}");

	json_char(b, '}');
	if (rc == 0)
		rc = queue_srcsets(r, ru, p);
	JSON_LIT(&r->tail, "*1\r\n$4\r\nEXEC\r\n");
	r->tail_cmds++;
	if (rc < 0 || b->oom || r->head.oom || r->tail.oom) {
		set_err(r, "%s: out of memory encoding minute %s", r->endpoint, p->minute);
		return -ENOMEM;
	}
	return 0;
}

/* --- replies and errors ------------------------------------------------------------------ */

/*
 * The socket failed (hiredis set c->err). Timeouts show up as EAGAIN from a
 * socket with SO_RCVTIMEO; everything else is a broken connection.
 */
static int
io_error(struct ds_redis *r, const char *what, int saved_errno)
{
	redisContext *c = r->ctx;

	if (c->err == REDIS_ERR_IO &&
	    (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT)) {
		set_err(r, "%s: %s: no reply within %" PRIu32 " ms", r->endpoint, what,
			r->command_timeout_ms);
		return -ETIMEDOUT;
	}
	set_err(r, "%s: %s: %s", r->endpoint, what,
		c->errstr[0] != '\0' ? c->errstr : "connection error");
	return -EIO;
}

/*
 * An error reply. Authentication problems (wrong password, a command sent
 * before AUTH, an ACL user without the right) are -EPERM: retrying will not
 * help, the operator must fix the configuration. For AUTH itself only the
 * error code is kept, never the rest of the message.
 */
static int
reply_error(struct ds_redis *r, const char *cmd, const redisReply *rep)
{
	const char *msg = rep->str != NULL ? rep->str : "";

	if (strcmp(cmd, "AUTH") == 0) {
		size_t code = strcspn(msg, " ");

		set_err(r, "%s: AUTH refused (%.*s)", r->endpoint, (int)(code < 32 ? code : 32),
			msg);
		return -EPERM;
	}
	set_err(r, "%s: %s: %s", r->endpoint, cmd, msg);
	if (strncmp(msg, "NOAUTH", 6) == 0 || strncmp(msg, "WRONGPASS", 9) == 0 ||
	    strncmp(msg, "NOPERM", 6) == 0)
		return -EPERM;
	return -EIO;
}

/*
 * Send one command and read its reply, whatever its type (the caller judges
 * it; *rep is then the caller's to free). Only the socket failing, or
 * running out of memory, is an error here.
 */
static int
roundtrip(struct ds_redis *r, int argc, const char **argv, const size_t *len, redisReply **rep)
{
	int saved;

	*rep = NULL;
	if (redisAppendCommandArgv(r->ctx, argc, argv, len) != REDIS_OK) {
		set_err(r, "%s: out of memory queueing %s", r->endpoint, argv[0]);
		return -ENOMEM;
	}
	errno = 0;
	if (redisGetReply(r->ctx, (void **)rep) != REDIS_OK || *rep == NULL) {
		saved = errno;
		*rep = NULL;
		return io_error(r, argv[0], saved);
	}
	return 0;
}

/* A command that must answer +OK (AUTH, SELECT). */
static int
simple_command(struct ds_redis *r, int argc, const char **argv, const size_t *len)
{
	redisReply *rep;
	int rc = roundtrip(r, argc, argv, len, &rep);

	if (rc < 0)
		return rc;
	if (rep->type == REDIS_REPLY_ERROR)
		rc = reply_error(r, argv[0], rep);
	else if (rep->type != REDIS_REPLY_STATUS || strcmp(rep->str, "OK") != 0) {
		set_err(r, "%s: %s: unexpected reply", r->endpoint, argv[0]);
		rc = -EIO;
	}
	freeReplyObject(rep);
	return rc;
}

/* --- connection -------------------------------------------------------------------------- */

/* A connect failure: refused, no socket file, timed out, or (anything else) "cannot connect". */
static int
connect_error(struct ds_redis *r, int saved_errno)
{
	const char *why = r->ctx->errstr[0] != '\0' ? r->ctx->errstr : "cannot connect";

	set_err(r, "connect to %s: %s", r->endpoint, why);
	switch (saved_errno) {
	case ENOENT:
		return -ENOENT;
	case ETIMEDOUT:
	case EAGAIN:
	case EINPROGRESS:
		return -ETIMEDOUT;
	default:
		return -ECONNREFUSED;
	}
}

/* SCRIPT LOAD: the server keeps the script and answers its SHA1 for EVALSHA. */
static int
load_script(struct ds_redis *r)
{
	const char *argv[] = { "SCRIPT", "LOAD", ds_minute_lua };
	const size_t len[] = { 6, 4, sizeof(ds_minute_lua) - 1 };
	redisReply *rep;
	int rc = roundtrip(r, 3, argv, len, &rep);

	if (rc < 0)
		return rc;
	if (rep->type == REDIS_REPLY_ERROR) {
		rc = reply_error(r, "SCRIPT LOAD", rep);
	} else if (rep->type != REDIS_REPLY_STRING || rep->len != SHA_HEX) {
		set_err(r, "%s: SCRIPT LOAD: unexpected reply", r->endpoint);
		rc = -EIO;
	} else {
		memcpy(r->sha, rep->str, SHA_HEX);
		r->sha[SHA_HEX] = '\0';
	}
	freeReplyObject(rep);
	return rc;
}

static int
redis_connect(struct ds_redis *r)
{
	struct timeval ctv = ms_to_tv(r->connect_timeout_ms);
	int saved, rc;

	errno = 0;
	if (r->unix_socket != NULL)
		r->ctx = redisConnectUnixWithTimeout(r->unix_socket, ctv);
	else
		r->ctx = redisConnectWithTimeout(r->host, r->port, ctv);
	saved = errno;
	if (r->ctx == NULL) {
		set_err(r, "connect to %s: out of memory", r->endpoint);
		return -ENOMEM;
	}
	/* hiredis returns a context even on failure; the caller frees it. */
	if (r->ctx->err)
		return connect_error(r, saved);
	/* From here on a silent server costs at most command_timeout_ms per read or write. */
	if (redisSetTimeout(r->ctx, ms_to_tv(r->command_timeout_ms)) != REDIS_OK) {
		set_err(r, "%s: cannot set the command timeout: %s", r->endpoint, r->ctx->errstr);
		return -EIO;
	}
	/* AUTH user pass (ACL, Redis 6+) only when a user is configured, else AUTH pass. */
	if (r->password != NULL) {
		const char *argv[3] = { "AUTH" };
		size_t len[3] = { 4 };
		int argc = 1;

		if (r->username != NULL) {
			argv[argc] = r->username;
			len[argc++] = strlen(r->username);
		}
		argv[argc] = r->password;
		len[argc++] = strlen(r->password);
		rc = simple_command(r, argc, argv, len);
		if (rc < 0)
			return rc;
	}
	if (r->db != 0) {
		char db[16];
		const char *argv[] = { "SELECT", db };
		size_t len[] = { 6, 0 };

		len[1] = (size_t)snprintf(db, sizeof(db), "%" PRIu32, r->db);
		rc = simple_command(r, 2, argv, len);
		if (rc < 0)
			return rc;
	}
	rc = load_script(r);
	if (rc < 0)
		return rc;
	rte_log(RTE_LOG_DEBUG, ds_redis_logtype, "darkscope.redis: connected to %s, script %s\n",
		r->endpoint, r->sha);
	return 0;
}

/* --- the minute -------------------------------------------------------------------------- */

/* Bytes per write of a large buffer (see send_bytes()). */
#define SEND_SLICE (256 * 1024)

/*
 * Send formatted commands a slice at a time. hiredis 0.14 keeps unsent
 * output in one buffer and moves what is left to its start after every
 * write(2), so handing it a busy minute's 10 MB at once would copy it
 * about as many times as the socket takes writes.
 */
static int
send_bytes(struct ds_redis *r, const char *p, size_t n)
{
	while (n > 0) {
		size_t k = n < SEND_SLICE ? n : SEND_SLICE;
		int done = 0, saved;

		if (redisAppendFormattedCommand(r->ctx, p, k) != REDIS_OK)
			return -ENOMEM;
		p += k;
		n -= k;
		if (n == 0)
			break;
		errno = 0;
		while (!done) {
			if (redisBufferWrite(r->ctx, &done) != REDIS_OK) {
				saved = errno;
				return io_error(r, "MULTI/EXEC", saved);
			}
		}
	}
	return 0;
}

static bool
is_noscript(const redisReply *rep)
{
	return rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0;
}

/*
 * Read the n replies of a transaction sent whole (MULTI, its commands,
 * EXEC). *queue_err gets the first command refused when queued (out of
 * memory, an ACL rule) and *err_at its place, counting MULTI as 0; *exec
 * the EXEC's reply. Both are the caller's to free. Only the socket failing
 * is an error here.
 */
static int
read_transaction(struct ds_redis *r, uint32_t n, const char *what, redisReply **queue_err,
		 uint32_t *err_at, redisReply **exec)
{
	redisReply *rep = NULL;

	*queue_err = NULL;
	*exec = NULL;
	for (uint32_t i = 0; i < n; i++) {
		int saved;

		errno = 0;
		if (redisGetReply(r->ctx, (void **)&rep) != REDIS_OK || rep == NULL) {
			saved = errno;
			if (*queue_err != NULL)
				freeReplyObject(*queue_err);
			*queue_err = NULL;
			return io_error(r, what, saved);
		}
		if (i + 1 == n)
			break;
		if (rep->type == REDIS_REPLY_ERROR && *queue_err == NULL) {
			*queue_err = rep;
			*err_at = i;
		} else {
			freeReplyObject(rep);
		}
	}
	*exec = rep;
	return 0;
}

/*
 * Send the minute's transaction and read its replies: MULTI's +OK, +QUEUED
 * for each command (an error instead makes EXEC refuse them all), and
 * EXEC's array of the commands' replies, the script's among them. The
 * script goes as EVALSHA, or as EVAL when @p eval (the server lost it).
 * Sets *noscript when the server does not have the script: the caller sends
 * the whole transaction again with EVAL (what this one staged is unlinked
 * by the next one's head). Returns 0 or -errno.
 */
static int
send_transaction(struct ds_redis *r, bool eval, uint32_t n_feeds, uint8_t *whole,
		 int64_t *skipped, bool *noscript)
{
	const char *argv[] = { "EVALSHA", r->sha, "0", r->json.p };
	size_t len[] = { 7, SHA_HEX, 1, r->json.len };
	/* Replies: MULTI, the head's commands, the script, the tail's, EXEC. */
	uint32_t n = r->head_cmds + 1 + r->tail_cmds;
	uint32_t script_at = r->head_cmds, err_at;
	redisReply *rep = NULL, *queue_err = NULL;
	int rc = 0;

	if (eval) {
		argv[0] = "EVAL";
		argv[1] = ds_minute_lua;
		len[0] = 4;
		len[1] = sizeof(ds_minute_lua) - 1;
	}
	*noscript = false;
	if (n_feeds > 0)
		memset(whole, 0, 2 * (size_t)n_feeds);
	rc = send_bytes(r, r->head.p, r->head.len);
	if (rc == 0 && redisAppendCommandArgv(r->ctx, 4, argv, len) != REDIS_OK)
		rc = -ENOMEM;
	if (rc == 0)
		rc = send_bytes(r, r->tail.p, r->tail.len);
	if (rc == -ENOMEM)
		set_err(r, "%s: out of memory queueing the minute", r->endpoint);
	if (rc < 0)
		return rc;
	rc = read_transaction(r, n, "MULTI/EXEC", &queue_err, &err_at, &rep);
	if (rc < 0)
		return rc;
	*noscript = queue_err != NULL && err_at == script_at && is_noscript(queue_err);
	if (queue_err != NULL) {
		if (!*noscript)
			rc = reply_error(r, "MULTI/EXEC", queue_err);
	} else if (rep->type == REDIS_REPLY_ERROR) {
		rc = reply_error(r, "EXEC", rep);
	} else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n - 2) {
		set_err(r, "%s: EXEC: unexpected reply", r->endpoint);
		rc = -EIO;
	} else {
		/* Element k is the reply of command k + 1 (MULTI has none). */
		const redisReply *sr = rep->element[script_at - 1];

		if (is_noscript(sr)) {
			*noscript = true;
		} else if (sr->type == REDIS_REPLY_ERROR) {
			rc = reply_error(r, argv[0], sr);
		} else if (sr->type != REDIS_REPLY_ARRAY || sr->elements < 1 ||
			   sr->element[0]->type != REDIS_REPLY_INTEGER) {
			set_err(r, "%s: %s: unexpected reply type %d", r->endpoint, argv[0],
				sr->type);
			rc = -EIO;
		} else {
			/* Skipped parts, then per feed: hour and day taken whole (1) or not. */
			*skipped = sr->element[0]->integer;
			for (size_t k = 1; k < sr->elements && k - 1 < 2 * (size_t)n_feeds; k++)
				whole[k - 1] = sr->element[k]->type == REDIS_REPLY_INTEGER &&
					       sr->element[k]->integer == 1;
		}
		for (size_t k = 0; k < rep->elements && rc == 0 && !*noscript; k++) {
			if (rep->element[k]->type == REDIS_REPLY_ERROR)
				rc = reply_error(r, "EXEC", rep->element[k]);
		}
	}
	if (queue_err != NULL)
		freeReplyObject(queue_err);
	freeReplyObject(rep);
	return rc;
}

/* A monotonic clock in microseconds, for the write's own timings. */
static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* --- the periods' sums ---------------------------------------------------------------------- */

/*
 * The minute's periods and each feed's sums (period_begin()). Returns how
 * many periods to read back before encoding, or -EINVAL (no calendar day)
 * or -ENOMEM.
 */
static int
periods_prepare(struct ds_redis *r, const struct ds_rollup *ru, struct periods *p)
{
	int rc = periods_of(r, ru->minute, p), n_read = 0;

	if (rc < 0) {
		set_err(r, "%s: minute %" PRId64 " has no calendar day", r->endpoint, ru->minute);
		return rc;
	}
	if (ru->n_feeds > r->cap_feed_sums) {
		struct feed_sums **v = realloc(r->feed_sums, ru->n_feeds * sizeof(*v));
		uint8_t *w;

		if (v != NULL)
			r->feed_sums = v;
		w = v != NULL ? realloc(r->whole, 2 * (size_t)ru->n_feeds) : NULL;
		if (w == NULL) {
			set_err(r, "%s: out of memory encoding minute %s", r->endpoint, p->minute);
			return -ENOMEM;
		}
		r->whole = w;
		r->cap_feed_sums = ru->n_feeds;
	}
	/* No sums for a feed (out of memory): its periods are summed by ZUNIONSTORE. */
	for (uint32_t i = 0; i < r->cap_feed_sums; i++) {
		struct feed_sums *fs = i < ru->n_feeds ? feed_sums_of(r, ru->feeds[i].name) : NULL;

		r->feed_sums[i] = fs;
		if (fs == NULL)
			continue;
		period_begin(&fs->per[PERIOD_HOUR], p->hour, ru->join);
		period_begin(&fs->per[PERIOD_DAY], p->day, ru->join);
		n_read += fs->per[PERIOD_HOUR].want_read + fs->per[PERIOD_DAY].want_read;
	}
	return n_read;
}

/* A zset score that is a count: digits only, exact as a double (below 2^53). */
static bool
parse_count(const redisReply *e, uint64_t *v)
{
	uint64_t x = 0;

	if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 16)
		return false;
	for (size_t i = 0; i < e->len; i++) {
		if (e->str[i] < '0' || e->str[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(e->str[i] - '0');
	}
	*v = x;
	return x < (1ull << 53);
}

/*
 * Take the replies of period_read()'s EXEC (EXISTS, HGET rev, then one
 * ZRANGE per dimension) as the period's sums. False when they cannot be
 * taken: a period without rev (or rev without the period), a score that is
 * not a count, more than PERIOD_MAX_VALUES values, no memory.
 */
static bool
period_take(struct period_sums *ps, const redisReply *rep)
{
	const redisReply *ex = rep->element[0], *rv = rep->element[1];
	uint64_t rev = 0;
	bool empty = true;

	if (ex->type != REDIS_REPLY_INTEGER)
		return false;
	if (rv->type == REDIS_REPLY_STRING) {
		if (!parse_count(rv, &rev) || rev == 0)
			return false;
	} else if (rv->type != REDIS_REPLY_NIL || ex->integer != 0) {
		return false;
	}
	for (int d = 0; d < DS_DIM_MAX; d++) {
		const redisReply *z = rep->element[2 + d];
		struct ds_dump_sums *sums = &ps->dims[d];
		size_t len = 0;

		ds_dump_sums_clear(sums);
		if (z->type != REDIS_REPLY_ARRAY || z->elements % 2 != 0 ||
		    z->elements / 2 > PERIOD_MAX_VALUES)
			return false;
		if (z->elements == 0)
			continue;
		empty = false;
		for (size_t k = 0; k < z->elements; k += 2)
			len += z->element[k]->len;
		if (ds_dump_sums_reserve(sums, (uint32_t)(z->elements / 2), len) < 0)
			return false;
		for (size_t k = 0; k < z->elements; k += 2) {
			uint64_t v;

			if (z->element[k]->type != REDIS_REPLY_STRING ||
			    !parse_count(z->element[k + 1], &v) ||
			    ds_dump_sums_add(sums, z->element[k]->str, z->element[k]->len, v) < 0)
				return false;
		}
	}
	/* No rev: the period must not exist at all, as the script checks for rev 0. */
	if (rv->type == REDIS_REPLY_NIL && !empty)
		return false;
	ps->rev = rev;
	return true;
}

/*
 * Read a period's sums back: its rev and every DIM zset, in one
 * MULTI/EXEC, so that they are the period's as of that rev. 0 when read
 * (the period is valid, or stays dropped when what Redis holds cannot be
 * taken); below 0 when the connection or a command failed, and the write
 * fails with it.
 */
static int
period_read(struct ds_redis *r, const char *sensor, const char *feed, int t,
	    struct period_sums *ps)
{
	enum { N_CMD = 2 + DS_DIM_MAX };
	const char *kind = t == PERIOD_HOUR ? "h" : "d";
	struct json_buf *b = &r->reads;
	redisReply *rep = NULL, *queue_err = NULL;
	uint64_t t0 = mono_us();
	uint32_t err_at;
	int rc;

	b->len = 0;
	b->oom = false;
	JSON_LIT(b, "*1\r\n$5\r\nMULTI\r\n");
	resp_array(b, 2);
	JSON_LIT(b, "$6\r\nEXISTS\r\n");
	KEY(b, r->prefix, sensor, feed, kind, ps->tag);
	resp_array(b, 3);
	JSON_LIT(b, "$4\r\nHGET\r\n");
	KEY(b, r->prefix, sensor, feed, kind, ps->tag);
	JSON_LIT(b, "$3\r\nrev\r\n");
	for (int d = 0; d < DS_DIM_MAX; d++) {
		resp_array(b, 5);
		JSON_LIT(b, "$6\r\nZRANGE\r\n");
		KEY(b, r->prefix, sensor, feed, kind, ps->tag, ds_dim_name((enum ds_dim)d));
		JSON_LIT(b, "$1\r\n0\r\n");
		resp_u64(b, PERIOD_MAX_VALUES);
		JSON_LIT(b, "$10\r\nWITHSCORES\r\n");
	}
	JSON_LIT(b, "*1\r\n$4\r\nEXEC\r\n");
	if (b->oom) {
		set_err(r, "%s: out of memory reading a period back", r->endpoint);
		return -ENOMEM;
	}
	ps->reads++;
	rc = send_bytes(r, b->p, b->len);
	if (rc == -ENOMEM)
		set_err(r, "%s: out of memory reading a period back", r->endpoint);
	if (rc < 0)
		return rc;
	/* MULTI, the commands, EXEC: the first refused when queued is the error. */
	rc = read_transaction(r, N_CMD + 2, "MULTI/EXEC (a period's sums)", &queue_err, &err_at,
			      &rep);
	if (rc < 0)
		return rc;
	if (queue_err != NULL) {
		rc = reply_error(r, "MULTI/EXEC (a period's sums)", queue_err);
		freeReplyObject(queue_err);
	} else if (rep->type == REDIS_REPLY_ERROR) {
		rc = reply_error(r, "EXEC (a period's sums)", rep);
	} else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != N_CMD) {
		set_err(r, "%s: EXEC (a period's sums): unexpected reply", r->endpoint);
		rc = -EIO;
	} else {
		for (size_t k = 0; k < rep->elements && rc == 0; k++)
			if (rep->element[k]->type == REDIS_REPLY_ERROR)
				rc = reply_error(r, "EXEC (a period's sums)", rep->element[k]);
	}
	if (rc == 0 && period_take(ps, rep)) {
		ps->valid = true;
		r->periods_read++;
		/* A period that does not exist yet is the usual start: not worth a line. */
		rte_log(ps->rev > 0 ? RTE_LOG_INFO : RTE_LOG_DEBUG, ds_redis_logtype,
			"darkscope.redis: read the sums of %s %s of feed %s back (rev %" PRIu64
			") in %.1f ms: its minutes go whole again\n", t == PERIOD_HOUR ? "hour" : "day",
			ps->tag, feed, ps->rev, (double)(mono_us() - t0) / 1000.0);
	} else {
		period_drop(ps, false);
	}
	freeReplyObject(rep);
	return rc;
}

/*
 * Read back the periods marked want_read (before a write: they are then
 * claimed when read) or ahead (between writes), connecting if need be.
 * Each marked period is tried once: its mark is cleared whether or not it
 * was read, and the first failure ends the reads.
 */
static int
periods_read(struct ds_redis *r, const char *sensor, bool ahead)
{
	int rc = r->ctx == NULL ? redis_connect(r) : 0;

	for (uint32_t i = 0; i < r->n_sums; i++) {
		for (int t = 0; t < 2; t++) {
			struct period_sums *ps = &r->sums[i]->per[t];
			bool *mark = ahead ? &ps->ahead : &ps->want_read;

			if (!*mark)
				continue;
			*mark = false;
			if (rc == 0)
				rc = period_read(r, sensor, r->sums[i]->name, t, ps);
			if (!ahead)
				ps->claimed = ps->valid;
		}
	}
	return rc;
}

bool
ds_redis_reads_pending(const struct ds_redis *r)
{
	for (uint32_t i = 0; r != NULL && r->sensor != NULL && i < r->n_sums; i++)
		if (r->sums[i]->per[PERIOD_HOUR].ahead || r->sums[i]->per[PERIOD_DAY].ahead)
			return true;
	return false;
}

/*
 * hiredis writes with write(2): a server that went away turns into SIGPIPE,
 * which would kill the sensor. Block it in this thread for the duration of
 * the call and swallow one that we caused, leaving the process' handling and
 * any signal that was already pending untouched.
 */
struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void
sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void
sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t set, pending;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1)
		sigtimedwait(&set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* Whatever failed, start over with a fresh connection next time. */
static void
drop_connection(struct ds_redis *r)
{
	if (r->ctx != NULL) {
		redisFree(r->ctx);
		r->ctx = NULL;
	}
}

int
ds_redis_connect(struct ds_redis *r)
{
	struct sigpipe_guard guard;
	int rc;

	if (r == NULL)
		return -EINVAL;
	if (r->ctx != NULL)
		return 0;
	sigpipe_block(&guard);
	r->errstr[0] = '\0';
	rc = redis_connect(r);
	if (rc < 0)
		drop_connection(r);
	sigpipe_restore(&guard);
	return rc;
}

/* The sensor whose periods ds_redis_read_ahead() reads (NULL when out of memory: none). */
static void
sensor_remember(struct ds_redis *r, const char *sensor)
{
	if (r->sensor != NULL && strcmp(r->sensor, sensor) == 0)
		return;
	free(r->sensor);
	r->sensor = strdup(sensor);
}

int
ds_redis_write(struct ds_redis *r, const struct ds_rollup *ru)
{
	struct sigpipe_guard guard;
	struct periods p;
	uint64_t t0, read_us = 0;
	int64_t newest, skipped = 0;
	bool noscript = false, read_failed = false;
	int rc;

	if (r == NULL || ru == NULL || ru->sensor == NULL)
		return -EINVAL;
	t0 = mono_us();
	sigpipe_block(&guard);
	r->errstr[0] = '\0';
	/*
	 * Trim against the newest minute ever written, not this one: a backfill
	 * of an older minute must not drop newer entries from the index.
	 */
	newest = r->have_newest && r->newest > ru->minute ? r->newest : ru->minute;
	/*
	 * Encoded before connecting (a minute that cannot be encoded needs no
	 * connection), unless periods' sums are to be read back first.
	 */
	rc = periods_prepare(r, ru, &p);
	if (rc > 0) {
		read_us = mono_us();
		rc = periods_read(r, ru->sensor, false);
		read_us = mono_us() - read_us;
		read_failed = rc < 0;
	}
	if (rc == 0)
		rc = encode_minute(r, ru, &p, newest);
	r->encode_us = mono_us() - t0 - read_us;
	if (rc < 0) {
		periods_settle(r, ru->n_feeds, NULL);
		if (read_failed)
			goto drop;
		goto out;
	}
	if (r->ctx == NULL)
		rc = redis_connect(r);
	if (rc == 0)
		rc = send_transaction(r, false, ru->n_feeds, r->whole, &skipped, &noscript);
	if (rc == 0 && noscript) {
		rte_log(RTE_LOG_INFO, ds_redis_logtype,
			"darkscope.redis: %s lost the script (NOSCRIPT): sending it again\n",
			r->endpoint);
		rc = send_transaction(r, true, ru->n_feeds, r->whole, &skipped, &noscript);
	}
	if (rc == 0 && noscript) {
		set_err(r, "%s: EVAL: NOSCRIPT", r->endpoint);
		rc = -EIO;
	}
	/* Whatever failed, connecting included: the sums hold this minute now. */
	periods_settle(r, ru->n_feeds, rc == 0 ? r->whole : NULL);
	sensor_remember(r, ru->sensor);
	if (rc < 0)
		goto drop;
	/* Only a minute that was written moves the trimming reference. */
	r->have_newest = true;
	r->newest = newest;
	if (skipped > 0)
		r->rollup_skipped++;
	goto out;
drop:
	drop_connection(r);
out:
	sigpipe_restore(&guard);
	r->write_us = mono_us() - t0;
	return rc;
}

uint64_t
ds_redis_rollup_skipped(const struct ds_redis *r)
{
	return r != NULL ? r->rollup_skipped : 0;
}

int
ds_redis_read_ahead(struct ds_redis *r)
{
	struct sigpipe_guard guard;
	int rc;

	if (!ds_redis_reads_pending(r))
		return 0;
	sigpipe_block(&guard);
	r->errstr[0] = '\0';
	rc = periods_read(r, r->sensor, true);
	if (rc < 0)
		drop_connection(r);
	sigpipe_restore(&guard);
	return rc;
}

uint64_t
ds_redis_periods_read(const struct ds_redis *r)
{
	return r != NULL ? r->periods_read : 0;
}

uint64_t
ds_redis_periods_whole(const struct ds_redis *r)
{
	return r != NULL ? r->periods_whole : 0;
}

uint64_t
ds_redis_write_us(const struct ds_redis *r, uint64_t *encode_us)
{
	if (encode_us != NULL)
		*encode_us = r != NULL ? r->encode_us : 0;
	return r != NULL ? r->write_us : 0;
}

const char *
ds_redis_errstr(const struct ds_redis *r)
{
	return r != NULL ? r->errstr : "";
}

/* NULL and "" both mean "not set". */
static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL || src[0] == '\0')
		return 0;
	*dst = strdup(src);
	return *dst != NULL ? 0 : -ENOMEM;
}

/*
 * A zone other than UTC is computed with the process' local time, so it must
 * be the process' TZ (":Asia/Tokyo" or "Asia/Tokyo"): otherwise day keys
 * would silently follow whatever TZ the sensor was started with.
 */
static bool
timezone_usable(const char *zone)
{
	const char *tz;

	if (zone == NULL || zone[0] == '\0' || strcmp(zone, "UTC") == 0)
		return true;
	tz = getenv("TZ");
	if (tz == NULL)
		return false;
	if (tz[0] == ':')
		tz++;
	return strcmp(tz, zone) == 0;
}

struct ds_redis *
ds_redis_create(const struct ds_redis_opts *opts)
{
	struct ds_redis *r;
	bool unix_sock;

	if (opts == NULL || opts->key_prefix == NULL || opts->key_prefix[0] == '\0' ||
	    !timezone_usable(opts->rollup_timezone)) {
		errno = EINVAL;
		return NULL;
	}
	unix_sock = opts->unix_socket != NULL && opts->unix_socket[0] != '\0';
	if (!unix_sock && (opts->host == NULL || opts->host[0] == '\0' || opts->port == 0)) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto nomem;
	/* Copies: the options may live in a configuration that is freed before the sink. */
	if (dup_opt(&r->prefix, opts->key_prefix) < 0 ||
	    dup_opt(&r->username, opts->username) < 0 ||
	    dup_opt(&r->password, opts->password) < 0)
		goto nomem;
	if (opts->rollup_timezone != NULL && strcmp(opts->rollup_timezone, "UTC") != 0 &&
	    dup_opt(&r->timezone, opts->rollup_timezone) < 0)
		goto nomem;
	if (unix_sock) {
		if (dup_opt(&r->unix_socket, opts->unix_socket) < 0)
			goto nomem;
		snprintf(r->endpoint, sizeof(r->endpoint), "unix:%s", r->unix_socket);
	} else {
		if (dup_opt(&r->host, opts->host) < 0)
			goto nomem;
		r->port = opts->port;
		snprintf(r->endpoint, sizeof(r->endpoint), "%s:%u", r->host, r->port);
	}
	r->db = opts->db;
	r->retention_s = opts->retention_s;
	r->hour_retention_s = opts->hour_retention_s;
	r->day_retention_s = opts->day_retention_s;
	r->hll_values = opts->hll_values;
	r->connect_timeout_ms = opts->connect_timeout_ms ? opts->connect_timeout_ms :
							   DEFAULT_CONNECT_TIMEOUT_MS;
	r->command_timeout_ms = opts->command_timeout_ms ? opts->command_timeout_ms :
							   DEFAULT_COMMAND_TIMEOUT_MS;
	return r;
nomem:
	ds_redis_free(r);
	errno = ENOMEM;
	return NULL;
}

void
ds_redis_free(struct ds_redis *r)
{
	if (r == NULL)
		return;
	drop_connection(r);
	if (r->password != NULL) {
		/* explicit_bzero, unlike memset before free, is not optimised away. */
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r->username);
	free(r->prefix);
	free(r->sensor);
	free(r->timezone);
	free(r->host);
	free(r->unix_socket);
	free(r->json.p);
	free(r->head.p);
	free(r->tail.p);
	free(r->labels.p);
	free(r->reads.p);
	free(r->label_off);
	ds_dump_zset_free(&r->dump);
	free(r->hll);
	for (uint32_t i = 0; i < r->n_sums; i++) {
		for (int t = 0; t < 2; t++)
			period_drop(&r->sums[i]->per[t], true);
		free(r->sums[i]->name);
		free(r->sums[i]);
	}
	free(r->sums);
	free(r->feed_sums);
	free(r->whole);
	free(r);
}
