/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Test of the Redis sink against a real, throw-away redis-server.
 *
 * The server ($REDIS_SERVER, else redis-server from PATH; exit 77 when there
 * is none) runs in a mkdtemp directory, listening only on a unix socket, with
 * persistence off. Cases stop and restart it to play outages; an atexit
 * handler kills it and removes the directory whatever happens.
 *
 * Every check reads Redis back with plain hiredis and compares with the
 * rollup that was written, value by value, so a wrong key name, a missing
 * DEL, a doubled value or a missing EXPIRE shows up as a mismatch. The hours
 * and days are compared with sums this file computes itself (a model of
 * what the minutes add up to, with its own UTC and fixed-offset calendar),
 * over several minutes written in shuffled orders; the key set of the whole
 * database is compared name by name. The writer cases also compare the
 * whole database after a writer run with the database after direct writes
 * of the same minutes.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <rte_log.h>

#include "ds_dump.h"
#include "ds_redis.h"
#include "ds_rollup.h"

#define SENSOR "tokyo-1"
#define PREFIX "ds"
/* 2018-03-29T20:13, the minute of the examples in SCHEMA.md. */
#define MINUTE0 25372573
#define RETENTION 3600

static const char *server_path;
static char tmp_dir[PATH_MAX];
static char sock_path[PATH_MAX + 16];
static pid_t server_pid = -1;
static const char *client_password; /* what the checking client AUTHs with */

/* --- small helpers ----------------------------------------------------------------------- */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A growable string, for snapshots. */
struct sb {
	char *p;
	size_t len;
	size_t cap;
};

static void
sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if (b->len + (size_t)n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		if (b->p == NULL)
			abort();
		b->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static int mismatches;
static int case_mismatches;     /* mismatches when the current case began */

static void
mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Count a failed check; print only the first few so a broken build does not flood the log. */
static void
mismatch(const char *fmt, ...)
{
	va_list ap;

	if (mismatches++ - case_mismatches >= 10)
		return;
	printf("  ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define CHECK(cond, ...) do { if (!(cond)) mismatch(__VA_ARGS__); } while (0)

/* --- the server -------------------------------------------------------------------------- */

static const char *
find_redis_server(void)
{
	static char buf[PATH_MAX];
	const char *env = getenv("REDIS_SERVER");
	const char *path = getenv("PATH");

	if (env != NULL && env[0] != '\0')
		return access(env, X_OK) == 0 ? env : NULL;
	while (path != NULL && *path != '\0') {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/redis-server", (int)n, path);
		if (n > 0 && access(buf, X_OK) == 0)
			return buf;
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

static redisContext *
client(void)
{
	struct timeval tv = { 5, 0 };
	redisContext *c = redisConnectUnixWithTimeout(sock_path, tv);
	redisReply *rep;

	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (client_password != NULL) {
		rep = redisCommand(c, "AUTH %s", client_password);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			if (rep != NULL)
				freeReplyObject(rep);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(rep);
	}
	return c;
}

static redisReply *
q(redisContext *c, const char *fmt, ...)
{
	redisReply *rep;
	va_list ap;

	va_start(ap, fmt);
	rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	return rep;
}

/* An integer reply, or LLONG_MIN when the reply is missing or of another type. */
static long long
q_int(redisContext *c, const char *fmt, ...)
{
	redisReply *rep;
	long long v = LLONG_MIN;
	va_list ap;

	va_start(ap, fmt);
	rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
		v = rep->integer;
	if (rep != NULL)
		freeReplyObject(rep);
	return v;
}

static void
server_stop(void)
{
	int status;

	if (server_pid <= 0)
		return;
	kill(server_pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
			server_pid = -1;
			return;
		}
		sleep_ms(10);
	}
	kill(server_pid, SIGKILL);
	waitpid(server_pid, &status, 0);
	server_pid = -1;
}

/* SIGKILL: no clean shutdown, the socket file stays behind (connect gets ECONNREFUSED). */
static void
server_kill(void)
{
	int status;

	if (server_pid <= 0)
		return;
	kill(server_pid, SIGKILL);
	waitpid(server_pid, &status, 0);
	server_pid = -1;
}

/* SHUTDOWN NOSAVE over the protocol: the server removes its socket (connect gets ENOENT). */
static void
server_shutdown(void)
{
	redisContext *c = client();
	int status;

	if (c != NULL) {
		redisReply *rep = q(c, "SHUTDOWN NOSAVE");

		if (rep != NULL)
			freeReplyObject(rep);
		redisFree(c);
	}
	if (server_pid > 0) {
		for (int i = 0; i < 500; i++) {
			if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
				server_pid = -1;
				return;
			}
			sleep_ms(10);
		}
		server_stop();
	}
}

/* Start redis-server (extra args e.g. --requirepass) and wait until it answers PING. */
static int
server_start(const char *extra1, const char *extra2)
{
	char log_path[PATH_MAX + 16];
	pid_t pid;

	snprintf(log_path, sizeof(log_path), "%s/redis.log", tmp_dir);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *argv[] = {
			server_path, "--port", "0", "--unixsocket", sock_path,
			"--unixsocketperm", "700", "--save", "", "--appendonly", "no",
			"--daemonize", "no", "--dir", tmp_dir, "--logfile", log_path,
			extra1, extra2, NULL,
		};
		int null = open("/dev/null", O_RDWR);

		/*
		 * Die with the test, even when it crashes before its atexit
		 * cleanup, and do not hold the test's stdout open.
		 */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execv(server_path, (char *const *)argv);
		_exit(127);
	}
	server_pid = pid;
	for (int i = 0; i < 500; i++) {
		struct timeval tv = { 1, 0 };
		redisContext *c = redisConnectUnixWithTimeout(sock_path, tv);
		int status;

		if (c != NULL && !c->err) {
			redisReply *rep = q(c, "PING");
			/* With --requirepass, NOAUTH also proves the server is serving. */
			bool up = rep != NULL && (rep->type == REDIS_REPLY_STATUS ||
						  (rep->type == REDIS_REPLY_ERROR &&
						   strncmp(rep->str, "NOAUTH", 6) == 0));

			if (rep != NULL)
				freeReplyObject(rep);
			redisFree(c);
			if (up)
				return 0;
		} else if (c != NULL) {
			redisFree(c);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			printf("  redis-server exited (status %d), see %s\n", status, log_path);
			server_pid = -1;
			return -1;
		}
		sleep_ms(10);
	}
	printf("  redis-server did not come up\n");
	server_stop();
	return -1;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
cleanup(void)
{
	server_stop();
	if (tmp_dir[0] != '\0')
		nftw(tmp_dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int
flushall(void)
{
	redisContext *c = client();
	redisReply *rep;
	int rc = -1;

	if (c == NULL)
		return -1;
	rep = q(c, "FLUSHALL");
	if (rep != NULL && rep->type == REDIS_REPLY_STATUS)
		rc = 0;
	if (rep != NULL)
		freeReplyObject(rep);
	redisFree(c);
	return rc;
}

/* --- rollups ----------------------------------------------------------------------------- */

struct val {
	uint32_t value;
	uint64_t packets;
	uint64_t bytes;
	uint64_t sources;
};

static void
set_dim(struct ds_rollup_dim *d, const struct val *v, uint32_t n)
{
	if (ds_rollup_dim_resize(d, n) < 0)
		abort();
	for (uint32_t i = 0; i < n; i++) {
		d->entries[i].value = v[i].value;
		d->entries[i].packets = v[i].packets;
		d->entries[i].bytes = v[i].bytes;
		d->entries[i].sources = v[i].sources;
	}
	ds_rollup_dim_sort(d);
}

/* The n addresses base, base + 1, ... as a source set (the rollup owns them). */
static void
add_srcset(struct ds_rollup *r, uint32_t feed, uint32_t dim, uint32_t value, uint32_t base,
	   uint32_t n)
{
	uint32_t *src = malloc(n * sizeof(*src));

	if (src == NULL)
		abort();
	for (uint32_t i = 0; i < n; i++)
		src[i] = base + i;
	if (ds_rollup_srcset_add(r, feed, dim, value, src, n) < 0)
		abort();
}

/* Where the source sets of make_rollup() start, and how many they hold. */
#define SRC_FEED(minute) (0x0a000000u + (uint32_t)((minute) % 7) * 5)
#define N_FEED 20
#define N_23 10
#define SRC_445 0x0b000000u
#define N_445 5
#define SRC_22 0x0c000000u
#define N_22 3
#define SRC_8080 0x0d000000u
#define N_8080 4

/*
 * A minute with two feeds: "darknet" busy (an `other` port, an ICMP type,
 * SYN layouts with a label, "none" and `other`), "quiet" with nothing.
 * Values vary with the minute so that minutes are told apart.
 *   variant 0: partial and sampled; TCP 23, 445, 22, other; UDP 53, 123; ICMP
 *   variant 1: complete, fewer values: TCP 23 and other, no UDP, no ICMP
 *   variant 2: complete and changed: TCP 23 grew, 8080 new, 22 gone; UDP 123
 *              gone; other totals and counters changed
 * Source sets: the feed's 20 sources (overlapping from minute to minute) and
 * one per named TCP port; with HLL_VALUES 2 only the first two ports count.
 * redis.dropped_total varies, so that summing a running total would show.
 */
static struct ds_rollup *
make_rollup(int64_t minute, int variant)
{
	static const char *const feeds[] = { "darknet", "quiet" };
	struct ds_rollup *r = ds_rollup_create(SENSOR, minute, 2, feeds);
	uint64_t k = (uint64_t)(minute % 13);
	uint64_t more = variant == 2 ? 10 : 0;
	struct ds_rollup_feed *f;
	uint32_t mss, none;

	if (r == NULL)
		abort();
	mss = (uint32_t)ds_rollup_layout_add(r, "MSS,NOP,WS,NOP,NOP,SACK");
	none = (uint32_t)ds_rollup_layout_add(r, "none");
	r->partial = variant == 0;
	r->sources_sampling = variant == 0 ? 1 : 0;
	f = &r->feeds[0];
	f->packets = 123 + k + more;
	f->bytes = 8180 + 60 * k + 60 * more;
	f->sources = 52;
	{
		const struct val proto[] = { { 6, 100 + k + more, 6000 + 60 * k + 60 * more, 40 },
					     { 17, 20, 2000, 10 }, { 1, 3, 180, 2 } };
		const struct val tcp[] = { { 23, 60 + k, 0, 30 }, { 445, 25, 0, 12 },
					   { 22, 10, 0, 5 }, { DS_ROLLUP_OTHER, 5, 0, 2 } };
		const struct val tcp1[] = { { 23, 60 + k, 0, 30 }, { DS_ROLLUP_OTHER, 5, 0, 2 } };
		const struct val tcp2[] = { { 23, 70 + k, 0, 33 }, { 8080, 30, 0, 4 },
					    { 445, 25, 0, 12 }, { DS_ROLLUP_OTHER, 5, 0, 2 } };
		const struct val udp[] = { { 53, 15, 0, 8 }, { 123, 5, 0, 2 } };
		const struct val icmp[] = { { 8 << 8 | 0, 3, 0, 2 } };
		const struct val win[] = { { 5840, 40, 0, 20 }, { 65535, 30, 0, 10 } };
		const struct val opt[] = { { none, 50, 0, 25 }, { mss, 20, 0, 10 },
					   { DS_ROLLUP_OTHER, 1, 0, 1 } };

		set_dim(&f->dims[DS_DIM_PROTO], proto, 3);
		if (variant == 0) {
			set_dim(&f->dims[DS_DIM_TCP_DST_PORT], tcp, 4);
			set_dim(&f->dims[DS_DIM_UDP_DST_PORT], udp, 2);
			set_dim(&f->dims[DS_DIM_ICMP], icmp, 1);
		} else if (variant == 1) {
			set_dim(&f->dims[DS_DIM_TCP_DST_PORT], tcp1, 2);
		} else {
			set_dim(&f->dims[DS_DIM_TCP_DST_PORT], tcp2, 4);
			set_dim(&f->dims[DS_DIM_UDP_DST_PORT], udp, 1);
			set_dim(&f->dims[DS_DIM_ICMP], icmp, 1);
		}
		set_dim(&f->dims[DS_DIM_TCP_SYN_WINDOW], win, 2);
		set_dim(&f->dims[DS_DIM_TCP_SYN_OPTIONS], opt, 3);
	}
	if (ds_rollup_counter_add(r, "rx_packets", 200 + k + more) < 0 ||
	    ds_rollup_counter_add(r, "outside", 77) < 0 ||
	    ds_rollup_counter_add(r, "malformed.tcp_doff", (uint64_t)variant) < 0 ||
	    ds_rollup_counter_add(r, "redis.dropped_total", 5 + (uint64_t)variant) < 0)
		abort();
	add_srcset(r, 0, DS_SRCSET_FEED, 0, SRC_FEED(minute), N_FEED);
	add_srcset(r, 0, DS_DIM_TCP_DST_PORT, 23, SRC_FEED(minute), N_23);
	if (variant != 1)
		add_srcset(r, 0, DS_DIM_TCP_DST_PORT, 445, SRC_445, N_445);
	if (variant == 0)
		add_srcset(r, 0, DS_DIM_TCP_DST_PORT, 22, SRC_22, N_22);
	if (variant == 2)
		add_srcset(r, 0, DS_DIM_TCP_DST_PORT, 8080, SRC_8080, N_8080);
	return r;
}

/*
 * Every TCP and every UDP port in one minute; `shift` adds to every port's
 * packets, so two such minutes differ everywhere. With `heavy`, also the
 * source sets of a busy minute: 100000 sources for the feed, 1000 for each
 * of the 50 busiest TCP ports.
 */
static struct ds_rollup *
make_big_rollup(int64_t minute, uint64_t shift, bool heavy)
{
	static const char *const feeds[] = { "darknet" };
	struct ds_rollup *r = ds_rollup_create(SENSOR, minute, 1, feeds);
	struct ds_rollup_feed *f;

	if (r == NULL)
		abort();
	f = &r->feeds[0];
	for (int d = DS_DIM_TCP_DST_PORT; d <= DS_DIM_UDP_DST_PORT; d++) {
		struct ds_rollup_dim *dim = &f->dims[d];

		if (ds_rollup_dim_resize(dim, 65536) < 0)
			abort();
		for (uint32_t i = 0; i < 65536; i++) {
			dim->entries[i].value = i;
			dim->entries[i].packets = i % 1000 + 1 + (uint64_t)d + shift;
			dim->entries[i].sources = i % 37 + 1;
			f->packets += dim->entries[i].packets;
		}
		ds_rollup_dim_sort(dim);
	}
	f->bytes = f->packets * 60;
	f->sources = 65536;
	if (heavy) {
		const struct ds_rollup_dim *tcp = &f->dims[DS_DIM_TCP_DST_PORT];

		add_srcset(r, 0, DS_SRCSET_FEED, 0, 0x01000000u, 100000);
		for (uint32_t i = 0; i < 50; i++)
			add_srcset(r, 0, DS_DIM_TCP_DST_PORT, tcp->entries[i].value,
				   0x01000000u + 1000 * i, 1000);
	}
	return r;
}

/* --- what the keys should be, computed here ------------------------------------------------ */

#define HOUR_RETENTION 7200
#define DAY_RETENTION (3 * 86400)
#define HLL_VALUES 2
#define JST (9 * 3600)          /* Asia/Tokyo: +09:00 all year since 1951 */

/*
 * The minute's hour (UTC) and day (UTC shifted by a fixed offset), computed
 * with gmtime_r only: independent of the sink's localtime_r()/mktime().
 */
static void
test_periods(int64_t minute, int offset_s, char *hour, char *day)
{
	time_t t = (time_t)(minute * 60), td = t + offset_s;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(hour, 16, "%Y%m%d%H", &tm);
	gmtime_r(&td, &tm);
	strftime(day, 16, "%Y%m%d", &tm);
}

/* Rank of a value in its dimension (entries are sorted by packets), or UINT32_MAX. */
static uint32_t
rank_of(const struct ds_rollup_dim *dim, uint32_t value)
{
	for (uint32_t i = 0; i < dim->n; i++)
		if (dim->entries[i].value == value)
			return i;
	return UINT32_MAX;
}

/* Does this source set make HyperLogLog keys with hll_values? */
static bool
srcset_counts(const struct ds_rollup *ru, const struct ds_rollup_srcset *s, uint32_t hll_values)
{
	if (s->n == 0)
		return false;
	if (s->dim == DS_SRCSET_FEED)
		return true;
	return rank_of(&ru->feeds[s->feed].dims[s->dim], s->value) < hll_values;
}

/*
 * The sums an hour and a day must hold: (key, member) -> value, for the
 * period hashes (fields) and zsets (members). Linear, for a few hundred items.
 */
struct mitem {
	char *key;
	char *member;
	double v;
	bool zset;
};

struct model {
	struct mitem *v;
	size_t n;
	size_t cap;
};

static void
model_add(struct model *m, bool zset, const char *key, const char *member, double v)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].key, key) == 0 && strcmp(m->v[i].member, member) == 0) {
			m->v[i].v += v;
			return;
		}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 256;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		if (m->v == NULL)
			abort();
	}
	m->v[m->n].key = strdup(key);
	m->v[m->n].member = strdup(member);
	m->v[m->n].v = v;
	m->v[m->n].zset = zset;
	m->n++;
}

static void
model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].member);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/*
 * Add one minute as it should count in its hour and day: packets, bytes,
 * minutes, partial per feed, packets per value, bytes per protocol, and the
 * counters except running totals (*_total).
 */
static void
model_minute(struct model *m, const char *prefix, const struct ds_rollup *ru, int offset_s)
{
	char hour[16], day[16], per[2][24], key[512], label[256];
	const char *sn = ru->sensor;

	test_periods(ru->minute, offset_s, hour, day);
	snprintf(per[0], sizeof(per[0]), "h:%s", hour);
	snprintf(per[1], sizeof(per[1]), "d:%s", day);
	for (int p = 0; p < 2; p++) {
		for (uint32_t i = 0; i < ru->n_feeds; i++) {
			const struct ds_rollup_feed *f = &ru->feeds[i];

			snprintf(key, sizeof(key), "%s:%s:%s:%s", prefix, sn, f->name, per[p]);
			model_add(m, false, key, "packets", (double)f->packets);
			model_add(m, false, key, "bytes", (double)f->bytes);
			model_add(m, false, key, "minutes", 1);
			model_add(m, false, key, "partial", ru->partial);
			for (int d = 0; d < DS_DIM_MAX; d++) {
				for (uint32_t j = 0; j < f->dims[d].n; j++) {
					const struct ds_rollup_entry *e = &f->dims[d].entries[j];

					ds_rollup_label(ru, (enum ds_dim)d, e->value, label,
							sizeof(label));
					snprintf(key, sizeof(key), "%s:%s:%s:%s:%s", prefix, sn,
						 f->name, per[p], ds_dim_name((enum ds_dim)d));
					model_add(m, true, key, label, (double)e->packets);
					if (d != DS_DIM_PROTO)
						continue;
					snprintf(key, sizeof(key), "%s:%s:%s:%s:proto:bytes",
						 prefix, sn, f->name, per[p]);
					model_add(m, true, key, label, (double)e->bytes);
				}
			}
		}
		snprintf(key, sizeof(key), "%s:%s:%s:counters", prefix, ru->sensor, per[p]);
		for (uint32_t i = 0; i < ru->n_counters; i++) {
			const char *n = ru->counters[i].name;
			size_t len = strlen(n);

			if (len >= 6 && strcmp(n + len - 6, "_total") == 0)
				continue;
			model_add(m, false, key, n, (double)ru->counters[i].value);
		}
		model_add(m, false, key, "minutes", 1);
		model_add(m, false, key, "partial", ru->partial);
	}
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* zset members as ZRANGE lists them: by score, then by name. */
static int
mitem_zcmp(const void *a, const void *b)
{
	const struct mitem *x = *(const struct mitem *const *)a;
	const struct mitem *y = *(const struct mitem *const *)b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return strcmp(x->member, y->member);
}

/*
 * The model as snapshot() prints the database (every sum key expires): a
 * zset member whose sum is 0 is no member, a zset without members no key.
 */
static char *
model_text(const struct model *m)
{
	struct sb out = { 0 };
	const struct mitem **items = calloc(m->n + 1, sizeof(*items));
	char **keys = calloc(m->n + 1, sizeof(*keys));
	size_t nk = 0;

	if (items == NULL || keys == NULL)
		abort();
	for (size_t i = 0; i < m->n; i++) {
		bool seen = false;

		if (m->v[i].zset && m->v[i].v == 0)
			continue;
		for (size_t k = 0; k < nk && !seen; k++)
			seen = strcmp(keys[k], m->v[i].key) == 0;
		if (!seen)
			keys[nk++] = m->v[i].key;
	}
	qsort(keys, nk, sizeof(*keys), str_cmp);
	sb_printf(&out, "%zu keys\n", nk);
	for (size_t k = 0; k < nk; k++) {
		size_t n = 0;
		bool zset = false;

		for (size_t i = 0; i < m->n; i++) {
			const struct mitem *it = &m->v[i];

			if (strcmp(it->key, keys[k]) == 0 && !(it->zset && it->v == 0)) {
				items[n++] = it;
				zset = it->zset;
			}
		}
		sb_printf(&out, "%s %s expires:", keys[k], zset ? "zset" : "hash");
		if (zset) {
			qsort(items, n, sizeof(*items), mitem_zcmp);
			for (size_t i = 0; i < n; i++)
				sb_printf(&out, " %s %.17g", items[i]->member, items[i]->v);
		} else {
			char **fields = calloc(n + 1, sizeof(*fields));

			for (size_t i = 0; i < n; i++) {
				if (asprintf(&fields[i], "%s=%.0f", items[i]->member,
					     items[i]->v) < 0)
					abort();
			}
			qsort(fields, n, sizeof(*fields), str_cmp);
			for (size_t i = 0; i < n; i++) {
				sb_printf(&out, " %s", fields[i]);
				free(fields[i]);
			}
			free(fields);
		}
		sb_printf(&out, "\n");
	}
	free(items);
	free(keys);
	return out.p;
}

/* A key of hour or day sums (not a HyperLogLog, not the applied set). */
static bool
is_sum_key(const char *key)
{
	size_t n = strlen(key);

	return (strstr(key, ":h:") != NULL || strstr(key, ":d:") != NULL) &&
	       strstr(key, ":hll") == NULL && !(n >= 8 && strcmp(key + n - 8, ":applied") == 0);
}

/* The names of the keys some minutes must leave, deduplicated. */
struct keyset {
	char **k;
	size_t n;
	size_t cap;
};

static void
ks_add(struct keyset *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ks_add(struct keyset *s, const char *fmt, ...)
{
	va_list ap;
	char *k;

	va_start(ap, fmt);
	if (vasprintf(&k, fmt, ap) < 0)
		abort();
	va_end(ap);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->k[i], k) == 0) {
			free(k);
			return;
		}
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 128;
		s->k = realloc(s->k, s->cap * sizeof(*s->k));
		if (s->k == NULL)
			abort();
	}
	s->k[s->n++] = k;
}

static void
ks_free(struct keyset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->k[i]);
	free(s->k);
	memset(s, 0, sizeof(*s));
}

/*
 * Every key a written minute leaves (UTC days), or with hll_only just its
 * HyperLogLog keys: those stay when a rewrite no longer has the sources.
 */
static void
ks_minute(struct keyset *s, const char *p, const struct ds_rollup *ru, uint32_t hll_values,
	  bool hll_only)
{
	char mkey[32], hour[16], day[16], label[256];
	const char *sn = ru->sensor;

	ds_minute_key(ru->minute, mkey, sizeof(mkey));
	test_periods(ru->minute, 0, hour, day);
	for (uint32_t i = 0; i < ru->n_srcsets; i++) {
		const struct ds_rollup_srcset *set = &ru->srcsets[i];
		const char *fn = ru->feeds[set->feed].name;

		if (!srcset_counts(ru, set, hll_values))
			continue;
		if (set->dim == DS_SRCSET_FEED) {
			ks_add(s, "%s:%s:%s:h:%s:hll", p, sn, fn, hour);
			ks_add(s, "%s:%s:%s:d:%s:hll", p, sn, fn, day);
			continue;
		}
		ds_rollup_label(ru, (enum ds_dim)set->dim, set->value, label, sizeof(label));
		for (int per = 0; per < 2; per++) {
			const char *pn = per == 0 ? "h" : "d", *pk = per == 0 ? hour : day;
			const char *dn = ds_dim_name((enum ds_dim)set->dim);

			ks_add(s, "%s:%s:%s:%s:%s:hll:%s", p, sn, fn, pn, pk, dn);
			ks_add(s, "%s:%s:%s:%s:%s:hll:%s:%s", p, sn, fn, pn, pk, dn, label);
		}
	}
	if (hll_only)
		return;
	ks_add(s, "%s:sensors", p);
	ks_add(s, "%s:%s:feeds", p, sn);
	ks_add(s, "%s:%s:meta", p, sn);
	ks_add(s, "%s:%s:%s:counters", p, sn, mkey);
	ks_add(s, "%s:%s:h:%s:counters", p, sn, hour);
	ks_add(s, "%s:%s:d:%s:counters", p, sn, day);
	for (uint32_t i = 0; i < ru->n_feeds; i++) {
		const struct ds_rollup_feed *f = &ru->feeds[i];
		const char *fn = f->name;

		ks_add(s, "%s:%s:%s:%s", p, sn, fn, mkey);
		ks_add(s, "%s:%s:%s:minutes", p, sn, fn);
		ks_add(s, "%s:%s:%s:hours", p, sn, fn);
		ks_add(s, "%s:%s:%s:days", p, sn, fn);
		ks_add(s, "%s:%s:%s:h:%s", p, sn, fn, hour);
		ks_add(s, "%s:%s:%s:d:%s", p, sn, fn, day);
		ks_add(s, "%s:%s:%s:d:%s:applied", p, sn, fn, day);
		for (int d = 0; d < DS_DIM_MAX; d++) {
			const char *dn = ds_dim_name((enum ds_dim)d);

			if (f->dims[d].n == 0)
				continue;
			ks_add(s, "%s:%s:%s:%s:%s", p, sn, fn, mkey, dn);
			ks_add(s, "%s:%s:%s:%s:%s:sources", p, sn, fn, mkey, dn);
			ks_add(s, "%s:%s:%s:h:%s:%s", p, sn, fn, hour, dn);
			ks_add(s, "%s:%s:%s:d:%s:%s", p, sn, fn, day, dn);
			if (d != DS_DIM_PROTO)
				continue;
			ks_add(s, "%s:%s:%s:%s:proto:bytes", p, sn, fn, mkey);
			ks_add(s, "%s:%s:%s:h:%s:proto:bytes", p, sn, fn, hour);
			ks_add(s, "%s:%s:%s:d:%s:proto:bytes", p, sn, fn, day);
		}
	}
}

/* Every key of the database (SCAN), sorted; *n set. */
static char **
all_keys(redisContext *c, size_t *n)
{
	char **keys = NULL;
	size_t cap = 0;
	char cursor[32] = "0";

	*n = 0;
	do {
		redisReply *rep = q(c, "SCAN %s COUNT 1000", cursor);

		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
			abort();
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		for (size_t i = 0; i < rep->element[1]->elements; i++) {
			if (*n == cap) {
				cap = cap ? cap * 2 : 64;
				keys = realloc(keys, cap * sizeof(*keys));
				if (keys == NULL)
					abort();
			}
			keys[(*n)++] = strdup(rep->element[1]->element[i]->str);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	if (*n > 1)
		qsort(keys, *n, sizeof(*keys), str_cmp);
	return keys;
}

static void
free_keys(char **keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* The database holds exactly these keys: no stray one, none missing. */
static void
check_keyset(redisContext *c, struct keyset *want)
{
	size_t n, i = 0, j = 0;
	char **got = all_keys(c, &n);

	qsort(want->k, want->n, sizeof(*want->k), str_cmp);
	while (i < want->n || j < n) {
		int cmp = i == want->n ? 1 : j == n ? -1 : strcmp(want->k[i], got[j]);

		if (cmp < 0)
			mismatch("key %s missing", want->k[i++]);
		else if (cmp > 0)
			mismatch("unexpected key %s", got[j++]);
		else
			i++, j++;
	}
	free_keys(got, n);
}

/* --- reading back ------------------------------------------------------------------------ */

struct pair {
	char *member;
	double score;
};

static int
pair_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pair *)a)->member, ((const struct pair *)b)->member);
}

static void
check_ttl(redisContext *c, const char *key, uint32_t retention)
{
	long long ttl = q_int(c, "TTL %s", key);

	if (retention > 0)
		CHECK(ttl > 0 && ttl <= retention, "%s: TTL %lld, expected 1..%u", key, ttl,
		      retention);
	else
		CHECK(ttl == -1, "%s: TTL %lld, expected none (-1)", key, ttl);
}

/*
 * The TTL every key must have, by its kind: hour and day keys their own
 * retentions, the sets and meta the longest, the rest the minute's.
 * Matches redis_opts(): all 0 when retention is 0.
 */
static uint32_t
ttl_of(const char *key, uint32_t retention)
{
	size_t n = strlen(key);

	if (retention == 0)
		return 0;
	if (strstr(key, ":h:") != NULL || (n >= 6 && strcmp(key + n - 6, ":hours") == 0))
		return HOUR_RETENTION;
	if (strstr(key, ":d:") != NULL || (n >= 5 && strcmp(key + n - 5, ":days") == 0))
		return DAY_RETENTION;
	if (strcmp(key + n - 8, ":sensors") == 0 || strcmp(key + n - 6, ":feeds") == 0 ||
	    strcmp(key + n - 5, ":meta") == 0)
		return DAY_RETENTION;
	return retention;
}

/* Every key of the database has the TTL of its kind. */
static void
check_ttls(redisContext *c, uint32_t retention)
{
	size_t n;
	char **keys = all_keys(c, &n);

	for (size_t i = 0; i < n; i++)
		check_ttl(c, keys[i], ttl_of(keys[i], retention));
	free_keys(keys, n);
}

/* A zset must hold exactly the dimension's labels with the chosen score. */
static void
check_zset(redisContext *c, const struct ds_rollup *ru, enum ds_dim d,
	   const struct ds_rollup_dim *dim, const char *key, int what, uint32_t retention)
{
	struct pair *want = calloc(dim->n ? dim->n : 1, sizeof(*want));
	struct pair *got = calloc(dim->n ? dim->n : 1, sizeof(*got));
	redisReply *rep = q(c, "ZRANGE %s 0 -1 WITHSCORES", key);

	if (want == NULL || got == NULL || rep == NULL)
		abort();
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 * (size_t)dim->n) {
		mismatch("%s: %zu elements, expected %u members", key,
			 rep->type == REDIS_REPLY_ARRAY ? rep->elements / 2 : 0, dim->n);
		goto out;
	}
	for (uint32_t i = 0; i < dim->n; i++) {
		const struct ds_rollup_entry *e = &dim->entries[i];
		char label[256];

		ds_rollup_label(ru, d, e->value, label, sizeof(label));
		want[i].member = strdup(label);
		want[i].score = (double)(what == 0 ? e->packets :
					 what == 1 ? e->sources : e->bytes);
		got[i].member = rep->element[2 * i]->str;
		got[i].score = strtod(rep->element[2 * i + 1]->str, NULL);
	}
	qsort(want, dim->n, sizeof(*want), pair_cmp);
	qsort(got, dim->n, sizeof(*got), pair_cmp);
	for (uint32_t i = 0; i < dim->n; i++) {
		CHECK(strcmp(want[i].member, got[i].member) == 0, "%s: member %s, expected %s",
		      key, got[i].member, want[i].member);
		CHECK(want[i].score == got[i].score, "%s: %s scores %.0f, expected %.0f", key,
		      got[i].member, got[i].score, want[i].score);
	}
	check_ttl(c, key, retention);
out:
	for (uint32_t i = 0; i < dim->n; i++)
		free(want[i].member);
	free(want);
	free(got);
	freeReplyObject(rep);
}

/* HGETALL must give exactly these fields and values. */
static void
check_hash(redisContext *c, const char *key, const char *const *fields, const uint64_t *values,
	   size_t n)
{
	redisReply *rep = q(c, "HGETALL %s", key);

	if (rep == NULL)
		abort();
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 * n) {
		mismatch("%s: %zu fields, expected %zu", key,
			 rep->type == REDIS_REPLY_ARRAY ? rep->elements / 2 : 0, n);
		freeReplyObject(rep);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t j = 0; j < rep->elements; j += 2) {
			if (strcmp(rep->element[j]->str, fields[i]) != 0)
				continue;
			found = true;
			CHECK(strtoull(rep->element[j + 1]->str, NULL, 10) == values[i],
			      "%s %s = %s, expected %" PRIu64, key, fields[i],
			      rep->element[j + 1]->str, values[i]);
		}
		CHECK(found, "%s: field %s missing", key, fields[i]);
	}
	freeReplyObject(rep);
}

/* A string reply equal to want (NULL: a nil reply). */
static void
check_str(redisContext *c, const char *want, const char *fmt, ...)
{
	redisReply *rep;
	va_list ap;

	va_start(ap, fmt);
	rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (rep == NULL)
		abort();
	if (want == NULL)
		CHECK(rep->type == REDIS_REPLY_NIL, "%s: %s, expected nil", fmt,
		      rep->str != NULL ? rep->str : "?");
	else
		CHECK(rep->type == REDIS_REPLY_STRING && strcmp(rep->str, want) == 0,
		      "%s: %s, expected %s", fmt, rep->str != NULL ? rep->str : "nil", want);
	freeReplyObject(rep);
}

static int
u32_cmp_test(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The distinct addresses of some sets made by add_srcset(). */
static long long
union_size(const uint32_t *bases, const uint32_t *ns, int n)
{
	uint32_t all[1024];
	long long u = 0;
	int k = 0;

	for (int i = 0; i < n; i++)
		for (uint32_t j = 0; j < ns[i]; j++)
			all[k++] = bases[i] + j;
	qsort(all, (size_t)k, sizeof(all[0]), u32_cmp_test);
	for (int i = 0; i < k; i++)
		u += i == 0 || all[i] != all[i - 1];
	return u;
}

/*
 * A HyperLogLog must hold exactly the addresses of these sets: byte for
 * byte the HyperLogLog that PFADD of them makes (registers, and the cached
 * count once both were counted). Redis' estimate is not always the exact
 * size even for 20 addresses (a register collision): within 1 of it.
 */
static void
check_hll(redisContext *c, const char *key, const uint32_t *bases, const uint32_t *ns, int n)
{
	long long size = union_size(bases, ns, n), got, ref;
	redisReply *a, *b;

	freeReplyObject(q(c, "DEL test:hll"));
	for (int i = 0; i < n; i++)
		for (uint32_t j = 0; j < ns[i]; j++)
			freeReplyObject(q(c, "PFADD test:hll %u", bases[i] + j));
	got = q_int(c, "PFCOUNT %s", key);
	ref = q_int(c, "PFCOUNT test:hll");
	a = q(c, "GET %s", key);
	b = q(c, "GET test:hll");
	CHECK(got == ref && a->type == REDIS_REPLY_STRING && b->type == REDIS_REPLY_STRING &&
	      a->len == b->len && memcmp(a->str, b->str, a->len) == 0,
	      "%s: counts %lld, a HyperLogLog of its %lld sources %lld, or other bytes", key, got,
	      size, ref);
	CHECK(ref >= size - 1 && ref <= size + 1, "%lld sources count %lld", size, ref);
	freeReplyObject(a);
	freeReplyObject(b);
	freeReplyObject(q(c, "DEL test:hll"));
}

/*
 * Compare everything Redis holds for one minute with the rollup: summary,
 * every dimension (present or absent), counters, the minute in its indexes
 * and the applied set of its (UTC) day, sets, TTLs, and the HyperLogLog keys
 * and label sets of its source sets.
 */
static void
check_minute(redisContext *c, const char *prefix, const struct ds_rollup *ru, uint32_t retention)
{
	char mkey[32], key[512], hour[16], day[16], label[256], score[32];
	const char *sn = ru->sensor;

	ds_minute_key(ru->minute, mkey, sizeof(mkey));
	test_periods(ru->minute, 0, hour, day);
	for (uint32_t i = 0; i < ru->n_feeds; i++) {
		const struct ds_rollup_feed *f = &ru->feeds[i];
		static const char *const fields[] = {
			"packets", "bytes", "sources", "partial", "sources_sampling",
		};
		const uint64_t values[] = {
			f->packets, f->bytes, f->sources, ru->partial, ru->sources_sampling,
		};

		snprintf(key, sizeof(key), "%s:%s:%s:%s", prefix, ru->sensor, f->name, mkey);
		check_hash(c, key, fields, values, 5);
		check_ttl(c, key, retention);
		for (int d = 0; d < DS_DIM_MAX; d++) {
			const struct ds_rollup_dim *dim = &f->dims[d];
			const char *dn = ds_dim_name((enum ds_dim)d);

			snprintf(key, sizeof(key), "%s:%s:%s:%s:%s", prefix, ru->sensor, f->name,
				 mkey, dn);
			if (dim->n == 0) {
				CHECK(q_int(c, "EXISTS %s %s:sources %s:bytes", key, key, key) == 0,
				      "%s: empty dimension has keys", key);
				continue;
			}
			check_zset(c, ru, (enum ds_dim)d, dim, key, 0, retention);
			strcat(key, ":sources");
			check_zset(c, ru, (enum ds_dim)d, dim, key, 1, retention);
			if (d == DS_DIM_PROTO) {
				snprintf(key, sizeof(key), "%s:%s:%s:%s:proto:bytes", prefix,
					 ru->sensor, f->name, mkey);
				check_zset(c, ru, (enum ds_dim)d, dim, key, 2, retention);
			}
		}
		snprintf(score, sizeof(score), "%" PRId64, ru->minute * 60);
		check_str(c, score, "ZSCORE %s:%s:%s:minutes %s", prefix, sn, f->name, mkey);
		snprintf(key, sizeof(key), "%s:%s:%s:minutes", prefix, ru->sensor, f->name);
		check_ttl(c, key, retention);
		snprintf(score, sizeof(score), "%" PRId64, ru->minute / 60 * 3600);
		check_str(c, score, "ZSCORE %s:%s:%s:hours %s", prefix, ru->sensor, f->name, hour);
		snprintf(score, sizeof(score), "%" PRId64, ru->minute / 1440 * 86400);
		check_str(c, score, "ZSCORE %s:%s:%s:days %s", prefix, ru->sensor, f->name, day);
		CHECK(q_int(c, "SISMEMBER %s:%s:%s:d:%s:applied %s", prefix, sn, f->name, day,
			    mkey) == 1, "%s not in the applied set of %s", mkey, day);
		snprintf(key, sizeof(key), "%s:%s:feeds", prefix, ru->sensor);
		CHECK(q_int(c, "SISMEMBER %s %s", key, f->name) == 1, "%s lacks %s", key, f->name);
	}
	snprintf(key, sizeof(key), "%s:%s:feeds", prefix, ru->sensor);
	check_ttl(c, key, retention ? DAY_RETENTION : 0);
	snprintf(key, sizeof(key), "%s:sensors", prefix);
	CHECK(q_int(c, "SISMEMBER %s %s", key, ru->sensor) == 1, "%s lacks %s", key, ru->sensor);
	check_ttl(c, key, retention ? DAY_RETENTION : 0);
	{
		const char **fields = calloc(ru->n_counters + 1, sizeof(*fields));
		uint64_t *values = calloc(ru->n_counters + 1, sizeof(*values));

		if (fields == NULL || values == NULL)
			abort();
		fields[0] = "partial";
		values[0] = ru->partial;
		for (uint32_t i = 0; i < ru->n_counters; i++) {
			fields[i + 1] = ru->counters[i].name;
			values[i + 1] = ru->counters[i].value;
		}
		snprintf(key, sizeof(key), "%s:%s:%s:counters", prefix, ru->sensor, mkey);
		check_hash(c, key, fields, values, ru->n_counters + 1);
		check_ttl(c, key, retention);
		free(fields);
		free(values);
	}
	/* The HyperLogLogs exist (their counts are checked where the sets are known). */
	for (uint32_t i = 0; i < ru->n_srcsets; i++) {
		const struct ds_rollup_srcset *set = &ru->srcsets[i];
		const char *fn = ru->feeds[set->feed].name;

		if (!srcset_counts(ru, set, HLL_VALUES))
			continue;
		for (int per = 0; per < 2; per++) {
			const char *pn = per == 0 ? "h" : "d", *pk = per == 0 ? hour : day;
			const char *dn = ds_dim_name((enum ds_dim)set->dim);

			if (set->dim == DS_SRCSET_FEED) {
				CHECK(q_int(c, "PFCOUNT %s:%s:%s:%s:%s:hll", prefix, sn, fn, pn,
					    pk) >= 1, "no feed HyperLogLog in %s %s", pn, pk);
				continue;
			}
			ds_rollup_label(ru, (enum ds_dim)set->dim, set->value, label,
					sizeof(label));
			CHECK(q_int(c, "PFCOUNT %s:%s:%s:%s:%s:hll:%s:%s", prefix, sn, fn, pn, pk,
				    dn, label) >= 1, "no HyperLogLog for %s %s in %s %s", dn, label,
			      pn, pk);
			CHECK(q_int(c, "SISMEMBER %s:%s:%s:%s:%s:hll:%s %s", prefix, sn, fn, pn, pk,
				    dn, label) == 1, "label %s not listed in %s %s", label, pn, pk);
		}
	}
	/* A write's working keys (staged, old, delta; ds_minute.lua) never outlive it. */
	{
		size_t n;
		char **keys = all_keys(c, &n);

		for (size_t i = 0; i < n; i++)
			CHECK(strstr(keys[i], ":staged:") == NULL && strstr(keys[i], ":old:") == NULL &&
			      strstr(keys[i], ":delta:") == NULL, "working key left: %s", keys[i]);
		free_keys(keys, n);
	}
}

/*
 * The database as text: every key (SCAN) that `keep` accepts (NULL: all),
 * its type, whether it expires, and its content in a canonical order. Two
 * snapshots are equal exactly when the databases hold the same data; a
 * HyperLogLog is compared by its bytes.
 */
static char *
snapshot_of(redisContext *c, bool (*keep)(const char *key))
{
	struct sb out = { 0 };
	size_t n, kept = 0;
	char **keys = all_keys(c, &n);

	for (size_t i = 0; i < n; i++)
		kept += keep == NULL || keep(keys[i]);
	sb_printf(&out, "%zu keys\n", kept);
	for (size_t i = 0; i < n; i++) {
		redisReply *type, *rep = NULL;
		long long ttl;

		if (keep != NULL && !keep(keys[i]))
			continue;
		type = q(c, "TYPE %s", keys[i]);
		ttl = q_int(c, "TTL %s", keys[i]);
		if (type == NULL)
			abort();
		sb_printf(&out, "%s %s %s:", keys[i], type->str, ttl > 0 ? "expires" : "persists");
		if (strcmp(type->str, "hash") == 0)
			rep = q(c, "HGETALL %s", keys[i]);
		else if (strcmp(type->str, "zset") == 0)
			rep = q(c, "ZRANGE %s 0 -1 WITHSCORES", keys[i]);
		else if (strcmp(type->str, "set") == 0)
			rep = q(c, "SMEMBERS %s", keys[i]);
		else if (strcmp(type->str, "string") == 0) {
			/* PFCOUNT first: it sets the cached count in a HyperLogLog's header. */
			freeReplyObject(q(c, "PFCOUNT %s", keys[i]));
			rep = q(c, "GET %s", keys[i]);
		}
		if (rep != NULL && rep->type == REDIS_REPLY_ARRAY) {
			/* Hash fields and set members come in no particular order: sort them. */
			size_t step = strcmp(type->str, "hash") == 0 ? 2 : 1;
			size_t m = rep->elements / step;
			char **items = calloc(m ? m : 1, sizeof(*items));

			for (size_t j = 0; j < m; j++) {
				/*
				 * A period's rev counts its writes (the sensor checks it
				 * before sending the period whole): bookkeeping, not content.
				 */
				if (step == 2 && is_sum_key(keys[i]) &&
				    strcmp(rep->element[2 * j]->str, "rev") == 0) {
					items[j] = strdup("");
				} else if (step == 2) {
					if (asprintf(&items[j], "%s=%s", rep->element[2 * j]->str,
						     rep->element[2 * j + 1]->str) < 0)
						abort();
				} else {
					items[j] = strdup(rep->element[j]->str);
				}
			}
			if (strcmp(type->str, "zset") != 0 && m > 1)
				qsort(items, m, sizeof(*items), str_cmp);
			for (size_t j = 0; j < m; j++) {
				if (items[j][0] != '\0')
					sb_printf(&out, " %s", items[j]);
				free(items[j]);
			}
			free(items);
		} else if (rep != NULL && rep->type == REDIS_REPLY_STRING) {
			/* HyperLogLogs are binary strings: print their bytes in hex. */
			for (size_t j = 0; j < rep->len; j++)
				sb_printf(&out, "%02x", (unsigned char)rep->str[j]);
		}
		sb_printf(&out, "\n");
		if (rep != NULL)
			freeReplyObject(rep);
		freeReplyObject(type);
	}
	free_keys(keys, n);
	return out.p;
}

static char *
snapshot(redisContext *c)
{
	return snapshot_of(c, NULL);
}

/* Print where two snapshots start to differ. */
static void
snapshot_diff(const char *what, const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] != '\0' && a[i] == b[i])
		i++;
	mismatch("%s: snapshots differ at byte %zu: \"%.100s\" vs \"%.100s\"", what, i, a + i,
		 b + i);
}

/* The hour and day sums in the database equal the model's. */
static void
check_sums(redisContext *c, const struct model *m, const char *what)
{
	char *want = model_text(m), *got = snapshot_of(c, is_sum_key);

	if (strcmp(want, got) != 0)
		snapshot_diff(what, want, got);
	free(want);
	free(got);
}

/* --- options ----------------------------------------------------------------------------- */

/* retention 0 turns every expiry off; otherwise hours and days keep theirs. */
static struct ds_redis_opts
redis_opts(const char *prefix, uint32_t retention)
{
	struct ds_redis_opts o = {
		.unix_socket = sock_path,
		.key_prefix = prefix,
		.retention_s = retention,
		.hour_retention_s = retention ? HOUR_RETENTION : 0,
		.day_retention_s = retention ? DAY_RETENTION : 0,
		.hll_values = HLL_VALUES,
		.connect_timeout_ms = 1000,
		.command_timeout_ms = 5000,
	};

	return o;
}

static struct ds_redis_writer_opts
writer_opts(enum ds_redis_queue_policy policy, uint32_t queue_len)
{
	struct ds_redis_writer_opts o = {
		.redis = redis_opts(PREFIX, RETENTION),
		.queue_len = queue_len,
		.policy = policy,
		.retry_min_ms = 20,
		.retry_max_ms = 200,
	};

	return o;
}

/* Write one rollup directly; reports and counts a failure. */
static int
direct_write(const struct ds_redis_opts *o, const struct ds_rollup *ru)
{
	struct ds_redis *r = ds_redis_create(o);
	int rc;

	if (r == NULL) {
		mismatch("ds_redis_create: %s", strerror(errno));
		return -1;
	}
	rc = ds_redis_write(r, ru);
	CHECK(rc == 0, "ds_redis_write: %d (%s)", rc, ds_redis_errstr(r));
	ds_redis_free(r);
	return rc;
}

/*
 * The HyperLogLog at @p key holds exactly the registers of PFADD of the
 * sources base .. base + n - 1 (as decimal strings, as the sink adds them)
 * into an empty one: compared byte for byte, after PFCOUNT has cached the
 * count in both headers. The sink merges big sets with PFMERGE instead.
 */
static void
check_hll_exact(redisContext *c, const char *key, uint32_t base, uint32_t n)
{
	redisReply *a, *b;

	freeReplyObject(q(c, "DEL test:hll:ref"));
	for (uint32_t i = 0; i < n; i += 1000) {
		const char *argv[1002] = { "PFADD", "test:hll:ref" };
		char num[1000][12];
		int argc = 2;

		for (uint32_t k = i; k < n && k < i + 1000; k++) {
			snprintf(num[k - i], sizeof(num[0]), "%" PRIu32, base + k);
			argv[argc++] = num[k - i];
		}
		freeReplyObject(redisCommandArgv(c, argc, argv, NULL));
	}
	CHECK(q_int(c, "PFCOUNT %s", key) == q_int(c, "PFCOUNT test:hll:ref"),
	      "%s: not the count of its sources", key);
	a = q(c, "GET %s", key);
	b = q(c, "GET test:hll:ref");
	CHECK(a != NULL && b != NULL && a->type == REDIS_REPLY_STRING &&
	      b->type == REDIS_REPLY_STRING && a->len == b->len &&
	      memcmp(a->str, b->str, a->len) == 0, "%s: not the registers of its sources", key);
	freeReplyObject(a);
	freeReplyObject(b);
	freeReplyObject(q(c, "DEL test:hll:ref"));
}

/*
 * How long the server spent in the last script (EVALSHA or EVAL), in
 * microseconds, from the slow log (the case sets its threshold to 0 and
 * its length to hold a whole transaction); -1 when not found.
 */
static long long
script_usec(redisContext *c)
{
	redisReply *rep = q(c, "SLOWLOG GET -1");
	long long us = -1;

	for (size_t i = 0; rep != NULL && rep->type == REDIS_REPLY_ARRAY && i < rep->elements;
	     i++) {
		const redisReply *e = rep->element[i];

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 4 ||
		    e->element[3]->type != REDIS_REPLY_ARRAY || e->element[3]->elements == 0)
			continue;
		if (strcasecmp(e->element[3]->element[0]->str, "EVALSHA") == 0 ||
		    strcasecmp(e->element[3]->element[0]->str, "EVAL") == 0) {
			us = e->element[2]->integer;
			break;
		}
	}
	if (rep != NULL)
		freeReplyObject(rep);
	return us;
}

/* Log lines of the redis library go to this file while `log_file` is open. */
static FILE *log_file;
static char log_path[PATH_MAX + 16];

static void
log_capture_start(void)
{
	snprintf(log_path, sizeof(log_path), "%s/capture.log", tmp_dir);
	log_file = fopen(log_path, "w+");
	if (log_file == NULL)
		abort();
	rte_openlog_stream(log_file);
}

/* Stop capturing; returns what was logged (malloc'd). Logging goes back to stderr. */
static char *
log_capture_end(void)
{
	long n;
	char *text;

	rte_openlog_stream(NULL);
	fflush(log_file);
	n = ftell(log_file);
	text = calloc(1, (size_t)n + 1);
	if (text == NULL)
		abort();
	rewind(log_file);
	if (fread(text, 1, (size_t)n, log_file) != (size_t)n)
		abort();
	fclose(log_file);
	log_file = NULL;
	/* Echo it, so the run shows what an operator would see. */
	fputs(text, stderr);
	return text;
}

static size_t
count_substr(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* --- cases ------------------------------------------------------------------------------- */

static int
case_bad_args(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_redis_writer_opts wo = writer_opts(DS_REDIS_QUEUE_WAIT, 4);
	const char *tz = getenv("TZ");
	char *saved_tz = tz != NULL ? strdup(tz) : NULL;
	struct ds_redis *r;

	errno = 0;
	CHECK(ds_redis_create(NULL) == NULL && errno == EINVAL, "create(NULL)");
	o.key_prefix = NULL;
	errno = 0;
	CHECK(ds_redis_create(&o) == NULL && errno == EINVAL, "no prefix accepted");
	o.key_prefix = "";
	errno = 0;
	CHECK(ds_redis_create(&o) == NULL && errno == EINVAL, "empty prefix accepted");
	o = redis_opts(PREFIX, RETENTION);
	o.unix_socket = NULL;
	errno = 0;
	CHECK(ds_redis_create(&o) == NULL && errno == EINVAL, "no host nor socket accepted");
	o.host = "127.0.0.1";
	o.port = 0;
	errno = 0;
	CHECK(ds_redis_create(&o) == NULL && errno == EINVAL, "port 0 accepted");
	/* A zone that is not the process' TZ would give wrong days: refused. */
	o = redis_opts(PREFIX, RETENTION);
	o.rollup_timezone = "Asia/Tokyo";
	setenv("TZ", "Europe/Berlin", 1);
	errno = 0;
	CHECK(ds_redis_create(&o) == NULL && errno == EINVAL, "zone other than TZ accepted");
	unsetenv("TZ");
	errno = 0;
	CHECK(ds_redis_create(&o) == NULL && errno == EINVAL, "zone without TZ accepted");
	setenv("TZ", ":Asia/Tokyo", 1);
	r = ds_redis_create(&o);
	CHECK(r != NULL, "zone equal to TZ refused");
	ds_redis_free(r);
	o.rollup_timezone = "UTC";
	r = ds_redis_create(&o);
	CHECK(r != NULL, "UTC refused while TZ is another zone");
	ds_redis_free(r);
	if (saved_tz != NULL)
		setenv("TZ", saved_tz, 1);
	else
		unsetenv("TZ");
	free(saved_tz);
	tzset();

	r = ds_redis_create(&wo.redis);
	CHECK(r != NULL, "valid opts rejected");
	CHECK(ds_redis_write(r, NULL) == -EINVAL, "write(NULL rollup)");
	CHECK(ds_redis_write(NULL, NULL) == -EINVAL, "write(NULL)");
	CHECK(strcmp(ds_redis_errstr(NULL), "") == 0, "errstr(NULL)");
	CHECK(ds_redis_rollup_skipped(NULL) == 0, "rollup_skipped(NULL)");
	CHECK(ds_redis_rollup_skipped(r) == 0, "rollup_skipped of a new sink");
	ds_redis_free(r);
	ds_redis_free(NULL);

	errno = 0;
	CHECK(ds_redis_writer_create(NULL) == NULL && errno == EINVAL, "writer_create(NULL)");
	wo.queue_len = 0;
	errno = 0;
	CHECK(ds_redis_writer_create(&wo) == NULL && errno == EINVAL, "queue_len 0 accepted");
	wo = writer_opts(DS_REDIS_QUEUE_WAIT, 4);
	wo.retry_min_ms = 0;
	errno = 0;
	CHECK(ds_redis_writer_create(&wo) == NULL && errno == EINVAL, "retry_min_ms 0 accepted");
	wo = writer_opts(DS_REDIS_QUEUE_WAIT, 4);
	wo.retry_max_ms = wo.retry_min_ms - 1;
	errno = 0;
	CHECK(ds_redis_writer_create(&wo) == NULL && errno == EINVAL, "retry_max < min accepted");
	wo = writer_opts((enum ds_redis_queue_policy)7, 4);
	errno = 0;
	CHECK(ds_redis_writer_create(&wo) == NULL && errno == EINVAL, "bad policy accepted");
	wo = writer_opts(DS_REDIS_QUEUE_WAIT, 4);
	wo.redis.key_prefix = NULL;
	errno = 0;
	CHECK(ds_redis_writer_create(&wo) == NULL && errno == EINVAL, "writer without prefix");
	CHECK(ds_redis_writer_submit(NULL, NULL) == -EINVAL, "submit(NULL)");
	CHECK(ds_redis_writer_drain(NULL, 0) == -EINVAL, "drain(NULL)");
	ds_redis_writer_free(NULL);
	return 0;
}

/* Cannot connect: the errno tells why. */
static int
case_connect_errors(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = make_rollup(MINUTE0, 0);
	char missing[PATH_MAX + 32];
	struct ds_redis *r;
	int rc;

	snprintf(missing, sizeof(missing), "%s/absent.sock", tmp_dir);
	o.unix_socket = missing;
	r = ds_redis_create(&o);
	rc = ds_redis_write(r, ru);
	CHECK(rc == -ENOENT, "missing socket: %d, expected -ENOENT", rc);
	CHECK(strstr(ds_redis_errstr(r), "absent.sock") != NULL, "errstr \"%s\" lacks the path",
	      ds_redis_errstr(r));
	ds_redis_free(r);

	o.unix_socket = NULL;
	o.host = "127.0.0.1";
	o.port = 1; /* nothing listens on tcpmux */
	r = ds_redis_create(&o);
	rc = ds_redis_write(r, ru);
	CHECK(rc == -ECONNREFUSED, "closed TCP port: %d, expected -ECONNREFUSED", rc);
	ds_redis_free(r);
	ds_rollup_free(ru);
	return 0;
}

static int
case_roundtrip(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = make_rollup(MINUTE0, 0);
	struct keyset ks = { 0 };
	redisContext *c;
	redisReply *rep;

	if (flushall() < 0 || direct_write(&o, ru) < 0 || (c = client()) == NULL) {
		ds_rollup_free(ru);
		return 1;
	}
	check_minute(c, PREFIX, ru, RETENTION);
	/* Nothing else was written: no stray key, none missing, exact set contents. */
	ks_minute(&ks, PREFIX, ru, HLL_VALUES, false);
	check_keyset(c, &ks);
	check_ttls(c, RETENTION);
	CHECK(q_int(c, "SCARD " PREFIX ":sensors") == 1, "P:sensors has extra members");
	CHECK(q_int(c, "SCARD " PREFIX ":" SENSOR ":feeds") == 2, "P:S:feeds has extra members");
	/* The schema's example key, spelled out by hand: 60 + 25372573 % 13 packets. */
	rep = q(c, "ZSCORE ds:tokyo-1:darknet:201803292013:tcp_dst_port 23");
	CHECK(rep != NULL && rep->type == REDIS_REPLY_STRING && strcmp(rep->str, "65") == 0,
	      "ds:tokyo-1:darknet:201803292013:tcp_dst_port 23 is not 65");
	freeReplyObject(rep);
	CHECK(q_int(c, "ZCARD ds:tokyo-1:quiet:minutes") == 1, "quiet feed not indexed");
	CHECK(q_int(c, "EXISTS ds:tokyo-1:quiet:201803292013:proto") == 0,
	      "quiet feed has a proto key");
	/* What a report needs to read the days: the zone and how many values have HLLs. */
	check_str(c, "UTC", "HGET ds:tokyo-1:meta rollup_timezone");
	check_str(c, "2", "HGET ds:tokyo-1:meta hll_values");
	check_str(c, NULL, "HGET ds:tokyo-1:meta signatures_version");
	CHECK(q_int(c, "HLEN ds:tokyo-1:meta") == 2, "meta has extra fields");
	ks_free(&ks);
	redisFree(c);
	ds_rollup_free(ru);
	return 0;
}

/*
 * A first write adds exactly the minute to its hour and its day: every
 * dimension, proto:bytes, counters (without running totals), minutes 1,
 * partial 1; the HyperLogLogs count exactly the sets (small sets), only the
 * two busiest ports have one (hll_values 2), and each period lists them.
 */
static int
case_first_write(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = make_rollup(MINUTE0, 0);
	struct model m = { 0 };
	redisContext *c;
	redisReply *rep;

	if (flushall() < 0 || direct_write(&o, ru) < 0 || (c = client()) == NULL) {
		ds_rollup_free(ru);
		return 1;
	}
	model_minute(&m, PREFIX, ru, 0);
	check_sums(c, &m, "one minute");
	/* Spelled out by hand, in case model and sink share a mistake. */
	check_str(c, "65", "ZSCORE ds:tokyo-1:darknet:h:2018032920:tcp_dst_port 23");
	check_str(c, "65", "ZSCORE ds:tokyo-1:darknet:d:20180329:tcp_dst_port 23");
	check_str(c, "1", "HGET ds:tokyo-1:darknet:h:2018032920 minutes");
	check_str(c, "1", "HGET ds:tokyo-1:darknet:d:20180329 partial");
	check_str(c, "128", "HGET ds:tokyo-1:darknet:d:20180329 packets");
	check_str(c, "0", "HGET ds:tokyo-1:quiet:d:20180329 packets");
	check_str(c, "205", "HGET ds:tokyo-1:h:2018032920:counters rx_packets");
	check_str(c, "1", "HGET ds:tokyo-1:d:20180329:counters minutes");
	check_str(c, NULL, "HGET ds:tokyo-1:d:20180329:counters redis.dropped_total");
	check_str(c, "1522353600", "ZSCORE ds:tokyo-1:darknet:hours 2018032920");
	check_str(c, "1522281600", "ZSCORE ds:tokyo-1:quiet:days 20180329");
	for (int per = 0; per < 2; per++) {
		const char *pk = per == 0 ? "h:2018032920" : "d:20180329";

		const uint32_t feed_base = SRC_FEED(MINUTE0), nf = N_FEED, n23 = N_23;
		const uint32_t b445 = SRC_445, n445 = N_445;
		char key[128];

		snprintf(key, sizeof(key), "ds:tokyo-1:darknet:%s:hll", pk);
		check_hll(c, key, &feed_base, &nf, 1);
		snprintf(key, sizeof(key), "ds:tokyo-1:darknet:%s:hll:tcp_dst_port:23", pk);
		check_hll(c, key, &feed_base, &n23, 1);
		snprintf(key, sizeof(key), "ds:tokyo-1:darknet:%s:hll:tcp_dst_port:445", pk);
		check_hll(c, key, &b445, &n445, 1);
		CHECK(q_int(c, "EXISTS ds:tokyo-1:darknet:%s:hll:tcp_dst_port:22", pk) == 0,
		      "%s: port 22 (third) has a HLL with hll_values 2", pk);
		rep = q(c, "SORT ds:tokyo-1:darknet:%s:hll:tcp_dst_port ALPHA", pk);
		CHECK(rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		      strcmp(rep->element[0]->str, "23") == 0 &&
		      strcmp(rep->element[1]->str, "445") == 0, "%s: HLL labels are not 23, 445",
		      pk);
		freeReplyObject(rep);
		CHECK(q_int(c, "EXISTS ds:tokyo-1:quiet:%s:hll", pk) == 0,
		      "%s: the quiet feed (no sources) has a HLL", pk);
	}
	CHECK(q_int(c, "SCARD ds:tokyo-1:darknet:d:20180329:applied") == 1, "applied set");
	check_ttls(c, RETENTION);
	model_free(&m);
	redisFree(c);
	ds_rollup_free(ru);
	return 0;
}

static int
case_idempotent(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = make_rollup(MINUTE0 + 1, 0);
	struct ds_redis *r = ds_redis_create(&o);
	char *before, *after;
	redisContext *c;
	int rc;

	if (flushall() < 0 || (c = client()) == NULL) {
		ds_redis_free(r);
		ds_rollup_free(ru);
		return 1;
	}
	rc = ds_redis_write(r, ru);
	CHECK(rc == 0, "first write: %d (%s)", rc, ds_redis_errstr(r));
	/* The whole database: minute, hour and day sums, HyperLogLogs byte for byte. */
	before = snapshot(c);
	rc = ds_redis_write(r, ru);
	CHECK(rc == 0, "second write: %d (%s)", rc, ds_redis_errstr(r));
	/* And once more on a new connection, as a second replay would. */
	CHECK(direct_write(&o, ru) == 0, "third write");
	after = snapshot(c);
	if (strcmp(before, after) != 0)
		snapshot_diff("write twice", before, after);
	check_minute(c, PREFIX, ru, RETENTION);
	CHECK(ds_redis_rollup_skipped(r) == 0, "a rewrite was counted as skipped");
	free(before);
	free(after);
	redisFree(c);
	ds_redis_free(r);
	ds_rollup_free(ru);
	return 0;
}

static int
case_rewrite_fewer(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *full = make_rollup(MINUTE0 + 2, 0);
	struct ds_rollup *fewer = make_rollup(MINUTE0 + 2, 1);
	struct keyset ks = { 0 };
	struct model m = { 0 };
	redisContext *c;

	if (flushall() < 0 || direct_write(&o, full) < 0 || direct_write(&o, fewer) < 0 ||
	    (c = client()) == NULL) {
		ds_rollup_free(full);
		ds_rollup_free(fewer);
		return 1;
	}
	check_minute(c, PREFIX, fewer, RETENTION);
	/* The sums forget what vanished; the HyperLogLogs cannot. */
	ks_minute(&ks, PREFIX, fewer, HLL_VALUES, false);
	ks_minute(&ks, PREFIX, full, HLL_VALUES, true);
	check_keyset(c, &ks);
	model_minute(&m, PREFIX, fewer, 0);
	check_sums(c, &m, "after the rewrite with fewer values");
	CHECK(q_int(c, "ZCARD ds:tokyo-1:darknet:201803292015:tcp_dst_port") == 2,
	      "vanished ports still present");
	CHECK(q_int(c, "EXISTS ds:tokyo-1:darknet:201803292015:udp_dst_port "
		    "ds:tokyo-1:darknet:201803292015:udp_dst_port:sources "
		    "ds:tokyo-1:darknet:201803292015:icmp") == 0, "emptied dimensions kept keys");
	CHECK(q_int(c, "EXISTS ds:tokyo-1:darknet:h:2018032920:udp_dst_port "
		    "ds:tokyo-1:darknet:d:20180329:icmp") == 0, "emptied sums kept keys");
	ks_free(&ks);
	model_free(&m);
	redisFree(c);
	ds_rollup_free(full);
	ds_rollup_free(fewer);
	return 0;
}

/*
 * What a failed earlier attempt at a minute could leave under the write's
 * working names (a transaction that reached EXEC but whose script stopped
 * half way): a staged zset of a dimension the minute has, one of a
 * dimension it lacks, and an `old` and a `delta` zset. None may leak into
 * the minute or its sums. The minute is first written without UDP ports, so
 * the rewrite has no old UDP zset and would take a stale one for it.
 */
static int
case_stale_work_keys(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *fewer = make_rollup(MINUTE0 + 3, 1);
	struct ds_rollup *full = make_rollup(MINUTE0 + 3, 0);
	struct model m = { 0 };
	redisContext *c;
	char mb[64], mkey[32];

	ds_minute_key(MINUTE0 + 3, mkey, sizeof(mkey));
	snprintf(mb, sizeof(mb), "ds:tokyo-1:darknet:%s", mkey);
	if (flushall() < 0 || direct_write(&o, fewer) < 0 || (c = client()) == NULL) {
		ds_rollup_free(fewer);
		ds_rollup_free(full);
		return 1;
	}
	freeReplyObject(q(c, "ZADD %s:staged:icmp 5 9/9", mb));
	freeReplyObject(q(c, "ZADD %s:staged:icmp6 5 128/0", mb));
	freeReplyObject(q(c, "ZADD %s:old:udp_dst_port 1000 53 1000 123", mb));
	freeReplyObject(q(c, "ZADD %s:delta:tcp_dst_port 7 4444", mb));
	CHECK(direct_write(&o, full) == 0, "rewrite over stale working keys");
	check_minute(c, PREFIX, full, RETENTION);
	model_minute(&m, PREFIX, full, 0);
	check_sums(c, &m, "after a rewrite over stale working keys");
	model_free(&m);
	redisFree(c);
	ds_rollup_free(fewer);
	ds_rollup_free(full);
	return 0;
}

/* A rollup without feeds (the API allows it) still writes its counters. */
static int
case_no_feeds(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = ds_rollup_create("tokyo-1", MINUTE0, 0, NULL);
	redisContext *c;
	char mkey[32];

	if (ru == NULL || ds_rollup_counter_add(ru, "outside", 7) < 0 || flushall() < 0 ||
	    (c = client()) == NULL) {
		ds_rollup_free(ru);
		return 1;
	}
	CHECK(direct_write(&o, ru) == 0, "write of a minute without feeds");
	ds_minute_key(MINUTE0, mkey, sizeof(mkey));
	check_str(c, "7", "HGET ds:tokyo-1:%s:counters outside", mkey);
	redisFree(c);
	ds_rollup_free(ru);
	return 0;
}

/* A small deterministic generator, so a failing order can be replayed. */
static uint32_t
rng_next(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

/* make_rollup(), or for variant 3 that of variant 0 with its ICMP values only. */
static struct ds_rollup *
step_rollup(int64_t minute, int variant)
{
	struct ds_rollup *r = make_rollup(minute, variant == 3 ? 0 : variant);

	for (int d = 0; variant == 3 && d < DS_DIM_MAX; d++)
		if (d != DS_DIM_ICMP)
			r->feeds[0].dims[d].n = 0;
	return r;
}

static void join_into(struct ds_rollup *r, const struct ds_rollup *part);

/*
 * Periods sent whole (ds_redis.c): a connection sends the hour's and the
 * day's zsets whole only while they hold what it last wrote there. Another
 * writer, a restart, a rewrite, a join: the script refuses them and sums by
 * ZUNIONSTORE; the connection reads a period's sums back before its next
 * minute of it (at most PERIOD_READS_MAX times a period), as it does for
 * its first period. A backfill of an older hour is summed. The sums stay
 * exact throughout.
 */
static int
case_periods_whole(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	/* Minutes 20:13 to 20:17, 21:13 and 21:14 (the next hour), then 19:59. */
	static const struct {
		int64_t minute;
		int variant;
		char writer;            /* 'a', 'b' another connection, 'r' a restart of a,
					   'o' the same after an older writer (no rev),
					   'f' the same whose first attempt finds no server,
					   'p' a, stopping inside the minute (partial),
					   'j' a restart inside it: a join,
					   'A' a, then reading back ahead */
		uint64_t whole;         /* periods taken whole by that connection so far */
		uint64_t read;          /* periods it read back so far */
	} steps[] = {
		{ MINUTE0, 0, 'a', 4, 4 },          /* its first hour and day: read (none) */
		{ MINUTE0 + 1, 1, 'a', 8, 4 },      /* both whole again */
		{ MINUTE0 + 2, 2, 'b', 4, 4 },      /* another writer reads both */
		{ MINUTE0 + 3, 1, 'a', 8, 4 },      /* b changed both: a's sums are stale */
		{ MINUTE0 + 4, 0, 'a', 12, 8 },      /* so a reads them back */
		{ MINUTE0 + 1, 2, 'a', 12, 8 },      /* a rewrite: refused */
		{ MINUTE0 + 60, 0, 'a', 16, 10 },     /* a new hour, new; the day read back */
		{ MINUTE0 + 61, 2, 'a', 20, 10 },
		{ MINUTE0 - 14, 1, 'a', 22, 10 },    /* an older hour: summed; the day whole */
		{ MINUTE0 + 62, 1, 'a', 26, 10 },    /* the current hour still whole */
		{ MINUTE0 + 63, 0, 'r', 4, 4 },     /* a restart: both read back */
		{ MINUTE0 + 180, 1, 'a', 8, 4 },    /* 23:13, a new hour: whole */
		/*
		 * Its hash as a writer without rev leaves it: no rev to check,
		 * so not read; its next minute reads the rev this one left.
		 */
		{ MINUTE0 + 181, 3, 'o', 3, 3 },
		{ MINUTE0 + 182, 0, 'a', 7, 4 },
		/*
		 * 01:13 the next day, a new hour and day: the failed attempt
		 * reads nothing and drops the sums it had added the minute to;
		 * the retry reads them (none). Counted once.
		 */
		{ MINUTE0 + 300, 2, 'f', 4, 4 },
		{ MINUTE0 + 301, 0, 'a', 8, 4 },
		/*
		 * A stop inside 01:15 ('p', partial) and a restart in it: the
		 * join is not sent whole (the carry is not in the sums) nor read
		 * for; the next minute reads.
		 */
		{ MINUTE0 + 302, 1, 'p', 12, 4 },
		{ MINUTE0 + 302, 2, 'j', 0, 0 },
		{ MINUTE0 + 303, 0, 'a', 4, 4 },
		/*
		 * Two writers taking turns in one hour: each reads the periods
		 * back after the other's minute, three times; then they are
		 * summed until the next period.
		 */
		{ MINUTE0 + 304, 0, 'b', 4, 4 },
		{ MINUTE0 + 305, 1, 'a', 4, 4 },
		{ MINUTE0 + 306, 2, 'b', 8, 8 },
		{ MINUTE0 + 307, 0, 'a', 8, 8 },
		{ MINUTE0 + 308, 1, 'b', 8, 8 },
		{ MINUTE0 + 309, 2, 'a', 8, 8 },
		{ MINUTE0 + 310, 0, 'b', 12, 12 },
		{ MINUTE0 + 311, 1, 'a', 12, 12 },
		{ MINUTE0 + 312, 2, 'b', 12, 12 },
		{ MINUTE0 + 313, 0, 'a', 12, 12 },
		{ MINUTE0 + 314, 1, 'b', 16, 16 },
		{ MINUTE0 + 315, 2, 'a', 12, 12 },
		{ MINUTE0 + 316, 0, 'b', 16, 16 },
		{ MINUTE0 + 317, 1, 'a', 12, 12 },
		/*
		 * 02:13, b first in the hour; a, refused, reads the hours back
		 * ahead of its next minute, as an idle writer does ('A'); the
		 * days were read back three times already.
		 */
		{ MINUTE0 + 360, 2, 'b', 18, 16 },
		{ MINUTE0 + 361, 0, 'A', 12, 14 },
		{ MINUTE0 + 362, 1, 'a', 14, 14 },
	};
	enum { N = sizeof(steps) / sizeof(steps[0]) };
	struct ds_redis *a = NULL, *b = NULL;
	int last[N], part[N];
	bool partial[N];
	int64_t mins[N];
	int n_min = 0;
	redisContext *c = client();

	if (c == NULL || flushall() < 0) {
		if (c != NULL)
			redisFree(c);
		return 1;
	}
	a = ds_redis_create(&o);
	b = ds_redis_create(&o);
	for (int i = 0; i < N && a != NULL && b != NULL; i++) {
		struct ds_rollup *ru = step_rollup(steps[i].minute, steps[i].variant);
		struct ds_redis *w = steps[i].writer == 'b' ? b : a;
		struct model m = { 0 };
		char what[64];
		int k;
		int rc;

		if (steps[i].writer == 'o')
			freeReplyObject(q(c, "HDEL ds:tokyo-1:darknet:h:2018032923 rev"));
		if (strchr("rofj", steps[i].writer) != NULL) {
			ds_redis_free(a);
			a = w = ds_redis_create(&o);
		}
		ru->partial = steps[i].writer == 'p' || steps[i].writer == 'j';
		if (steps[i].writer == 'j') {
			ru->join = true;
			ru->writer = 0x10;
		}
		if (steps[i].writer == 'f') {
			char away[sizeof(sock_path) + 8];

			snprintf(away, sizeof(away), "%s.away", sock_path);
			CHECK(rename(sock_path, away) == 0, "step %d: rename: %s", i,
			      strerror(errno));
			rc = ds_redis_write(w, ru);
			CHECK(rc == -ENOENT, "step %d: no server: %d (%s)", i, rc,
			      ds_redis_errstr(w));
			CHECK(rename(away, sock_path) == 0, "step %d: rename back: %s", i,
			      strerror(errno));
		}
		rc = ds_redis_write(w, ru);
		CHECK(rc == 0, "step %d: write: %d (%s)", i, rc, ds_redis_errstr(w));
		if (steps[i].writer == 'A') {
			CHECK(ds_redis_reads_pending(w), "step %d: no reads pending", i);
			rc = ds_redis_read_ahead(w);
			CHECK(rc == 0, "step %d: read ahead: %d (%s)", i, rc, ds_redis_errstr(w));
			CHECK(!ds_redis_reads_pending(w), "step %d: reads still pending", i);
		}
		CHECK(ds_redis_periods_whole(w) == steps[i].whole,
		      "step %d: %" PRIu64 " periods taken whole, expected %" PRIu64, i,
		      ds_redis_periods_whole(w), steps[i].whole);
		CHECK(ds_redis_periods_read(w) == steps[i].read,
		      "step %d: %" PRIu64 " periods read back, expected %" PRIu64, i,
		      ds_redis_periods_read(w), steps[i].read);
		ds_rollup_free(ru);
		/* The last version of every minute written so far, summed by the model. */
		for (k = 0; k < n_min && mins[k] != steps[i].minute; k++)
			;
		if (k == n_min)
			mins[n_min++] = steps[i].minute;
		/* A join adds to the partial minute it finds; any other write replaces it. */
		part[k] = steps[i].writer == 'j' && partial[k] ? last[k] : -1;
		partial[k] = steps[i].writer == 'p' || steps[i].writer == 'j';
		last[k] = steps[i].variant;
		for (int j = 0; j < n_min; j++) {
			struct ds_rollup *mr = step_rollup(mins[j], last[j]);

			mr->partial = partial[j];
			if (part[j] >= 0) {
				struct ds_rollup *pr = step_rollup(mins[j], part[j]);

				join_into(mr, pr);
				ds_rollup_free(pr);
			}
			model_minute(&m, PREFIX, mr, 0);
			ds_rollup_free(mr);
		}
		snprintf(what, sizeof(what), "step %d", i);
		check_sums(c, &m, what);
		model_free(&m);
	}
	printf("  periods taken whole: %" PRIu64 ", read back: %" PRIu64 " by the last connection\n",
	       a != NULL ? ds_redis_periods_whole(a) : 0, a != NULL ? ds_redis_periods_read(a) : 0);
	ds_redis_free(a);
	ds_redis_free(b);
	redisFree(c);
	return 0;
}

/* The entry of value v in e[0..n), or NULL. */
static struct val *
val_find(struct val *e, uint32_t n, uint32_t v)
{
	for (uint32_t i = 0; i < n; i++)
		if (e[i].value == v)
			return &e[i];
	return NULL;
}

/*
 * What a join adds (ds_minute.lua): part summed into r value by value, the
 * feed totals and the counters too (running totals *_total stay r's), the
 * larger sampling. Both must come from make_rollup(), whose labels they
 * share; r's source sets stay as they are.
 */
static void
join_into(struct ds_rollup *r, const struct ds_rollup *part)
{
	if (part->sources_sampling > r->sources_sampling)
		r->sources_sampling = part->sources_sampling;
	for (uint32_t i = 0; i < r->n_feeds; i++) {
		struct ds_rollup_feed *f = &r->feeds[i];
		const struct ds_rollup_feed *fa = &part->feeds[i];

		f->packets += fa->packets;
		f->bytes += fa->bytes;
		f->sources += fa->sources;
		for (int d = 0; d < DS_DIM_MAX; d++) {
			struct ds_rollup_dim *dim = &f->dims[d];
			const struct ds_rollup_dim *da = &fa->dims[d];
			struct val *v = calloc(dim->n + da->n + 1, sizeof(*v));
			uint32_t n = 0;

			if (v == NULL)
				abort();
			for (uint32_t j = 0; j < dim->n; j++, n++) {
				const struct ds_rollup_entry *e = &dim->entries[j];

				v[n] = (struct val){ e->value, e->packets, e->bytes, e->sources };
			}
			for (uint32_t j = 0; j < da->n; j++) {
				const struct ds_rollup_entry *e = &da->entries[j];
				struct val *x = val_find(v, n, e->value);

				if (x == NULL) {
					x = &v[n++];
					x->value = e->value;
				}
				x->packets += e->packets;
				x->bytes += e->bytes;
				x->sources += e->sources;
			}
			set_dim(dim, v, n);
			free(v);
		}
	}
	for (uint32_t i = 0; i < part->n_counters; i++) {
		const char *n = part->counters[i].name;
		size_t len = strlen(n);
		uint32_t k;

		if (len >= 6 && strcmp(n + len - 6, "_total") == 0)
			continue;
		for (k = 0; k < r->n_counters && strcmp(r->counters[k].name, n) != 0; k++)
			;
		if (k < r->n_counters)
			r->counters[k].value += part->counters[i].value;
		else if (ds_rollup_counter_add(r, n, part->counters[i].value) < 0)
			abort();
	}
}

/* Keys a join left (P:S:M:joined, the carries) in the database. */
static size_t
join_keys(redisContext *c)
{
	size_t n, found = 0;
	char **keys = all_keys(c, &n);

	for (size_t i = 0; i < n; i++)
		found += strstr(keys[i], ":carry") != NULL || strstr(keys[i], ":joined") != NULL;
	free_keys(keys, n);
	return found;
}

/*
 * A restart inside a minute (docs/SCHEMA.md): the first minute of a live
 * start is a join, added to what an earlier process left of that minute,
 * partial; a retry of the same join changes nothing; another process' join
 * adds to both; any other write replaces the minute and drops the carries; a
 * join replaces a complete minute, and onto nothing is a first write. After
 * every step the minute must be its parts summed by join_into() and the hours
 * and days the sum of the minutes as they are.
 */
static int
case_restart_join(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	enum { M = MINUTE0 + 500 };
	/*
	 * Per step: the minute, the variant written, the writer's id (0: not a
	 * join), whether it writes on a new connection (a new writer always
	 * does), and what the minute then holds: the variants summed, latest
	 * first (-1: none).
	 */
	static const struct {
		int64_t minute;
		int variant;
		uint64_t join;
		bool reconnect;
		int holds[3];
		const char *what;
	} steps[] = {
		{ M, 0, 0, false, { 0, -1, -1 }, "process a stops in the minute" },
		{ M, 2, 0xb, false, { 2, 0, -1 }, "process b starts in it: joined" },
		{ M, 2, 0xb, false, { 2, 0, -1 }, "b again (a retry): unchanged" },
		{ M, 1, 0xc, false, { 1, 2, 0 }, "process c starts in it too" },
		{ M, 1, 0xc, true, { 1, 2, 0 }, "c again, on a new connection" },
		{ M, 1, 0, false, { 1, -1, -1 }, "a replay's write: replaced" },
		{ M, 0, 0xd, false, { 0, -1, -1 }, "a join onto a complete minute replaces it" },
		{ M, 0, 0xd, false, { 0, -1, -1 }, "d again" },
		{ M + 1, 2, 0xd, false, { 2, -1, -1 }, "a join onto nothing" },
		{ M + 1, 2, 0xd, false, { 2, -1, -1 }, "d again" },
	};
	enum { N = sizeof(steps) / sizeof(steps[0]) };
	int holds[2][3] = { { -1, -1, -1 }, { -1, -1, -1 } };
	bool joined[2] = { false, false };
	redisContext *c = client();
	struct ds_redis *w = NULL;
	size_t carries = 0;

	if (c == NULL || flushall() < 0) {
		if (c != NULL)
			redisFree(c);
		return 1;
	}
	for (int i = 0; i < N; i++) {
		struct ds_rollup *ru = make_rollup(steps[i].minute, steps[i].variant);
		struct model m = { 0 };
		char *before = NULL, *after;
		char what[128];
		int k = (int)(steps[i].minute - M);
		int rc;

		/* A new connection for each writer, as each is a process. */
		if (i == 0 || steps[i].join != steps[i - 1].join || steps[i].reconnect) {
			ds_redis_free(w);
			w = ds_redis_create(&o);
			CHECK(w != NULL, "ds_redis_create");
		}
		if (steps[i].join != 0) {
			ru->partial = true;
			ru->join = true;
			ru->writer = steps[i].join;
		}
		if (i > 0 && memcmp(steps[i].holds, steps[i - 1].holds, sizeof(holds[0])) == 0 &&
		    steps[i].minute == steps[i - 1].minute)
			before = snapshot(c);
		rc = ds_redis_write(w, ru);
		CHECK(rc == 0, "step %d: write: %d (%s)", i, rc, ds_redis_errstr(w));
		ds_rollup_free(ru);
		memcpy(holds[k], steps[i].holds, sizeof(holds[k]));
		snprintf(what, sizeof(what), "step %d (%s)", i, steps[i].what);
		if (before != NULL) {
			after = snapshot(c);
			if (strcmp(before, after) != 0)
				snapshot_diff(what, before, after);
			free(after);
			free(before);
		}
		/* The minutes as they should be, checked, and summed by the model. */
		joined[k] = steps[i].join != 0;
		for (int j = 0; j < 2; j++) {
			struct ds_rollup *want;

			if (holds[j][0] < 0)
				continue;
			want = make_rollup(M + j, holds[j][0]);
			want->partial = want->partial || joined[j];
			for (int x = 1; x < 3 && holds[j][x] >= 0; x++) {
				struct ds_rollup *part = make_rollup(M + j, holds[j][x]);

				join_into(want, part);
				ds_rollup_free(part);
			}
			check_minute(c, PREFIX, want, RETENTION);
			model_minute(&m, PREFIX, want, 0);
			ds_rollup_free(want);
		}
		check_sums(c, &m, what);
		model_free(&m);
		carries = join_keys(c);
		CHECK(steps[i].join != 0 || carries == 0, "%s: %zu keys of a join left", what,
		      carries);
	}
	printf("  a join's keys after the last step: %zu\n", carries);
	ds_redis_free(w);
	redisFree(c);
	return 0;
}

/*
 * Minutes on both sides of an hour and of a UTC midnight, each written in
 * several versions (partial, then complete; a port removed, a port added),
 * all in shuffled orders: the hours and days must hold exactly the sum of
 * the minutes' last versions, whatever the order. Each order starts from an
 * empty database.
 */
static int
case_sums_shuffled(void)
{
	/* 2018-03-29T23:58, 23:59, 03-30T00:00, 00:01, 01:08 */
	static const int64_t minutes[] = { MINUTE0 + 225, MINUTE0 + 226, MINUTE0 + 227,
					   MINUTE0 + 228, MINUTE0 + 295 };
	enum { N_MIN = 5, N_VAR = 3, N_ORDERS = 4, RET = 7200 };
	struct ds_redis_opts o = redis_opts(PREFIX, RET);
	struct { int minute, variant; } writes[N_MIN * N_VAR + 4];
	uint64_t seed = 20240520;
	redisContext *c = client();

	if (c == NULL)
		return 1;
	for (int order = 0; order < N_ORDERS; order++) {
		struct ds_redis *r = ds_redis_create(&o);
		int last[N_MIN], n = 0;
		struct model m = { 0 };
		char what[64];

		if (flushall() < 0 || r == NULL) {
			ds_redis_free(r);
			redisFree(c);
			return 1;
		}
		/* Every version of every minute once, some twice, then shuffled. */
		for (int i = 0; i < N_MIN; i++)
			for (int v = 0; v < N_VAR; v++)
				writes[n].minute = i, writes[n++].variant = v;
		for (int i = 0; i < 4; i++) {
			writes[n].minute = (int)(rng_next(&seed) % N_MIN);
			writes[n++].variant = (int)(rng_next(&seed) % N_VAR);
		}
		for (int i = n - 1; i > 0; i--) {
			int j = (int)(rng_next(&seed) % (uint32_t)(i + 1));
			int tm = writes[i].minute, tv = writes[i].variant;

			writes[i] = writes[j];
			writes[j].minute = tm;
			writes[j].variant = tv;
		}
		for (int i = 0; i < n; i++) {
			struct ds_rollup *ru = make_rollup(minutes[writes[i].minute],
							   writes[i].variant);
			int rc = ds_redis_write(r, ru);

			CHECK(rc == 0, "write: %d (%s)", rc, ds_redis_errstr(r));
			last[writes[i].minute] = writes[i].variant;
			ds_rollup_free(ru);
		}
		for (int i = 0; i < N_MIN; i++) {
			struct ds_rollup *ru = make_rollup(minutes[i], last[i]);

			model_minute(&m, PREFIX, ru, 0);
			/* 2 hours of retention keep 23:58, 70 minutes before the newest. */
			check_minute(c, PREFIX, ru, RET);
			ds_rollup_free(ru);
		}
		snprintf(what, sizeof(what), "order %d", order);
		check_sums(c, &m, what);
		/* The last versions, spelled out: minute 00:00 in the day of the 30th. */
		CHECK(q_int(c, "ZCARD ds:tokyo-1:darknet:hours") == 3 &&
		      q_int(c, "ZCARD ds:tokyo-1:darknet:days") == 2, "%s: indexes", what);
		check_str(c, "3", "HGET ds:tokyo-1:darknet:d:20180330 minutes");
		check_str(c, "2", "HGET ds:tokyo-1:darknet:d:20180329 minutes");
		CHECK(ds_redis_rollup_skipped(r) == 0, "%s: a minute was skipped", what);
		printf("  %s: %d writes, last versions %d %d %d %d %d\n", what, n, last[0], last[1],
		       last[2], last[3], last[4]);
		model_free(&m);
		ds_redis_free(r);
	}
	redisFree(c);
	return 0;
}

/*
 * A minute rewritten after its keys expired: its old values are unknown,
 * so its hour and day are left alone and the write is counted. Played with
 * DEL: first every key of the minute (as expiry does), then only one feed's
 * summary (that feed is skipped; the counters, still known, are applied).
 */
static int
case_expired_guard(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *v0 = make_rollup(MINUTE0, 0), *v2 = make_rollup(MINUTE0, 2);
	struct ds_redis_writer_opts wo = writer_opts(DS_REDIS_QUEUE_WAIT, 4);
	struct ds_redis_writer_stats st;
	struct ds_redis_writer *w;
	struct ds_redis *r = ds_redis_create(&o);
	char *before, *after, *logged;
	struct model m = { 0 };
	redisContext *c;
	size_t n;
	char **keys;
	int rc;

	if (flushall() < 0 || r == NULL || (c = client()) == NULL) {
		ds_redis_free(r);
		ds_rollup_free(v0);
		ds_rollup_free(v2);
		return 1;
	}
	rc = ds_redis_write(r, v0);
	CHECK(rc == 0, "write: %d (%s)", rc, ds_redis_errstr(r));
	before = snapshot_of(c, is_sum_key);
	/* Expire the whole minute: everything named after it. */
	keys = all_keys(c, &n);
	for (size_t i = 0; i < n; i++)
		if (strstr(keys[i], ":201803292013") != NULL)
			freeReplyObject(q(c, "DEL %s", keys[i]));
	free_keys(keys, n);
	rc = ds_redis_write(r, v2);
	CHECK(rc == 0, "rewrite: %d (%s)", rc, ds_redis_errstr(r));
	after = snapshot_of(c, is_sum_key);
	if (strcmp(before, after) != 0)
		snapshot_diff("expired minute rewritten", before, after);
	check_minute(c, PREFIX, v2, RETENTION);
	CHECK(ds_redis_rollup_skipped(r) == 1, "skipped %" PRIu64 ", expected 1",
	      ds_redis_rollup_skipped(r));
	free(after);

	free(before);

	/* Only the darknet summary gone: darknet is skipped, the counters are not. */
	CHECK(flushall() == 0, "FLUSHALL");
	rc = ds_redis_write(r, v0);
	CHECK(rc == 0, "write: %d (%s)", rc, ds_redis_errstr(r));
	freeReplyObject(q(c, "DEL ds:tokyo-1:darknet:201803292013"));
	rc = ds_redis_write(r, v2);
	CHECK(rc == 0 && ds_redis_rollup_skipped(r) == 2, "rewrite: %d, skipped %" PRIu64, rc,
	      ds_redis_rollup_skipped(r));
	model_minute(&m, PREFIX, v0, 0);
	for (size_t i = 0; i < m.n; i++) {
		/*
		 * quiet (no values) took v2's partial flag, 0; the counters all
		 * of v2's values: replace v0's in the model.
		 */
		if (strstr(m.v[i].key, ":quiet:") != NULL && strcmp(m.v[i].member, "partial") == 0)
			m.v[i].v = 0;
		if (strstr(m.v[i].key, ":counters") == NULL)
			continue;
		for (uint32_t k = 0; k < v2->n_counters; k++)
			if (strcmp(m.v[i].member, v2->counters[k].name) == 0)
				m.v[i].v = (double)v2->counters[k].value;
		if (strcmp(m.v[i].member, "partial") == 0)
			m.v[i].v = 0;
	}
	check_sums(c, &m, "one feed's summary gone");
	model_free(&m);

	/* Through the writer: the count reaches the stats, the log says it once. */
	CHECK(flushall() == 0, "FLUSHALL");
	log_capture_start();
	w = ds_redis_writer_create(&wo);
	if (w != NULL) {
		CHECK(ds_redis_writer_submit(w, make_rollup(MINUTE0, 0)) == 0, "submit");
		CHECK(ds_redis_writer_drain(w, 5000) == 0, "drain");
		freeReplyObject(q(c, "DEL ds:tokyo-1:darknet:201803292013 "
				  "ds:tokyo-1:quiet:201803292013 "
				  "ds:tokyo-1:201803292013:counters"));
		for (int i = 0; i < 2; i++) {
			CHECK(ds_redis_writer_submit(w, make_rollup(MINUTE0, 2)) == 0, "submit");
			CHECK(ds_redis_writer_drain(w, 5000) == 0, "drain");
			freeReplyObject(q(c, "DEL ds:tokyo-1:darknet:201803292013"));
		}
		ds_redis_writer_stats(w, &st);
		CHECK(st.rollup_skipped == 2 && st.written == 3, "writer: skipped %" PRIu64
		      " written %" PRIu64 ", expected 2 and 3", st.rollup_skipped, st.written);
		ds_redis_writer_free(w);
	}
	logged = log_capture_end();
	CHECK(count_substr(logged, "rewritten after its keys expired") == 1,
	      "the skip was not logged exactly once");
	free(logged);
	redisFree(c);
	ds_redis_free(r);
	ds_rollup_free(v0);
	ds_rollup_free(v2);
	return 0;
}


/* Switch the process' TZ (as darkscope does at start), or back to none with NULL. */
static void
set_tz(const char *zone)
{
	if (zone != NULL)
		setenv("TZ", zone, 1);
	else
		unsetenv("TZ");
	tzset();
}

/*
 * Days in redis.rollup_timezone: in Asia/Tokyo 2018-03-29T23:30Z is 08:30 on
 * the 30th, 14:59Z the last minute of the 29th, 15:00Z the first of the
 * 30th; in UTC all three are on the 29th. Hours stay UTC. In Europe/Berlin,
 * whose clocks went forward on 2018-03-25, the day of the 26th begins at
 * 22:00Z and the 25th at 23:00Z the day before.
 */
static int
case_timezone(void)
{
	static const int64_t minutes[] = { MINUTE0 - 314, MINUTE0 - 313, MINUTE0 + 197 };
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	redisContext *c = client();
	struct model m = { 0 };

	if (c == NULL)
		return 1;
	for (int utc = 0; utc < 2; utc++) {
		struct ds_redis *r;

		set_tz(utc ? NULL : "Asia/Tokyo");
		o.rollup_timezone = utc ? NULL : "Asia/Tokyo";
		r = ds_redis_create(&o);
		if (flushall() < 0 || r == NULL) {
			ds_redis_free(r);
			redisFree(c);
			set_tz(NULL);
			return 1;
		}
		for (int i = 0; i < 3; i++) {
			struct ds_rollup *ru = make_rollup(minutes[i], 2);
			int rc = ds_redis_write(r, ru);

			CHECK(rc == 0, "write: %d (%s)", rc, ds_redis_errstr(r));
			model_minute(&m, PREFIX, ru, utc ? 0 : JST);
			ds_rollup_free(ru);
		}
		check_sums(c, &m, utc ? "UTC days" : "Asia/Tokyo days");
		model_free(&m);
		if (utc) {
			check_str(c, "1522281600", "ZSCORE ds:tokyo-1:darknet:days 20180329");
			CHECK(q_int(c, "ZCARD ds:tokyo-1:darknet:days") == 1, "UTC: not one day");
			check_str(c, "3", "HGET ds:tokyo-1:d:20180329:counters minutes");
			check_str(c, "UTC", "HGET ds:tokyo-1:meta rollup_timezone");
		} else {
			check_str(c, "1522249200", "ZSCORE ds:tokyo-1:darknet:days 20180329");
			check_str(c, "1522335600", "ZSCORE ds:tokyo-1:quiet:days 20180330");
			check_str(c, "1", "HGET ds:tokyo-1:darknet:d:20180329 minutes");
			check_str(c, "2", "HGET ds:tokyo-1:d:20180330:counters minutes");
			CHECK(q_int(c, "SISMEMBER ds:tokyo-1:darknet:d:20180330:applied "
				    "201803292330") == 1, "23:30Z not applied to the JST 30th");
			check_str(c, "Asia/Tokyo", "HGET ds:tokyo-1:meta rollup_timezone");
		}
		check_str(c, "1522364400", "ZSCORE ds:tokyo-1:darknet:hours 2018032923");
		check_str(c, "1", "HGET ds:tokyo-1:darknet:h:2018032914 minutes");
		ds_redis_free(r);
	}
	{
		/* 2018-03-25T21:59Z and 22:30Z, around the first midnight in summer time. */
		struct ds_rollup *a = make_rollup(25366919, 1), *b = make_rollup(25366950, 1);
		struct ds_redis *r;

		set_tz("Europe/Berlin");
		o.rollup_timezone = "Europe/Berlin";
		r = ds_redis_create(&o);
		CHECK(r != NULL && flushall() == 0 && ds_redis_write(r, a) == 0 &&
		      ds_redis_write(r, b) == 0, "Europe/Berlin writes");
		check_str(c, "1521932400", "ZSCORE ds:tokyo-1:darknet:days 20180325");
		check_str(c, "1522015200", "ZSCORE ds:tokyo-1:darknet:days 20180326");
		check_str(c, "1", "HGET ds:tokyo-1:darknet:d:20180326 minutes");
		ds_redis_free(r);
		ds_rollup_free(a);
		ds_rollup_free(b);
	}
	set_tz(NULL);
	redisFree(c);
	return 0;
}

static bool
is_hll_key(const char *key)
{
	return strstr(key, ":hll") != NULL;
}

/*
 * Distinct sources over several minutes: the hour's and day's HyperLogLogs
 * count the union of the minutes' sets (exactly, for sets this small);
 * writing the minutes again changes no byte of them; hll_values 0 keeps
 * only the feed's.
 */
static int
case_hll(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	uint32_t feed_base[3], feed_n[3] = { N_FEED, N_FEED, N_FEED };
	uint32_t p23_n[3] = { N_23, N_23, N_23 };
	struct ds_redis *r = ds_redis_create(&o);
	redisContext *c;
	char *before, *after;
	long long want_feed, want_23;

	if (flushall() < 0 || r == NULL || (c = client()) == NULL) {
		ds_redis_free(r);
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		struct ds_rollup *ru = make_rollup(MINUTE0 + i, 0);

		CHECK(ds_redis_write(r, ru) == 0, "write: %s", ds_redis_errstr(r));
		feed_base[i] = SRC_FEED(MINUTE0 + i);
		ds_rollup_free(ru);
	}
	want_feed = union_size(feed_base, feed_n, 3);
	want_23 = union_size(feed_base, p23_n, 3);
	for (int per = 0; per < 2; per++) {
		const char *pk = per == 0 ? "h:2018032920" : "d:20180329";
		const uint32_t b445 = SRC_445, n445 = N_445;
		char key[128];

		snprintf(key, sizeof(key), "ds:tokyo-1:darknet:%s:hll", pk);
		check_hll(c, key, feed_base, feed_n, 3);
		snprintf(key, sizeof(key), "ds:tokyo-1:darknet:%s:hll:tcp_dst_port:23", pk);
		check_hll(c, key, feed_base, p23_n, 3);
		snprintf(key, sizeof(key), "ds:tokyo-1:darknet:%s:hll:tcp_dst_port:445", pk);
		check_hll(c, key, &b445, &n445, 1);
	}
	printf("  3 minutes: feed %lld distinct sources, port 23 %lld, port 445 %d\n", want_feed,
	       want_23, N_445);
	/* Several periods are one PFCOUNT over their keys. */
	CHECK(q_int(c, "PFCOUNT ds:tokyo-1:darknet:h:2018032920:hll "
		    "ds:tokyo-1:darknet:d:20180329:hll") ==
	      q_int(c, "PFCOUNT ds:tokyo-1:darknet:d:20180329:hll"), "PFCOUNT of two keys");
	before = snapshot_of(c, is_hll_key);
	for (int i = 2; i >= 0; i--) {
		struct ds_rollup *ru = make_rollup(MINUTE0 + i, 0);

		CHECK(ds_redis_write(r, ru) == 0, "rewrite: %s", ds_redis_errstr(r));
		ds_rollup_free(ru);
	}
	after = snapshot_of(c, is_hll_key);
	if (strcmp(before, after) != 0)
		snapshot_diff("HyperLogLogs after rewriting", before, after);
	free(before);
	free(after);
	ds_redis_free(r);

	/* hll_values 0: the feed's HyperLogLog only. */
	o.hll_values = 0;
	if (flushall() == 0) {
		struct ds_rollup *ru = make_rollup(MINUTE0, 0);
		struct keyset ks = { 0 };

		direct_write(&o, ru);
		ks_minute(&ks, PREFIX, ru, 0, false);
		check_keyset(c, &ks);
		const uint32_t feed_base0 = SRC_FEED(MINUTE0), nf = N_FEED;

		check_hll(c, "ds:tokyo-1:darknet:d:20180329:hll", &feed_base0, &nf, 1);
		check_str(c, "0", "HGET ds:tokyo-1:meta hll_values");
		ks_free(&ks);
		ds_rollup_free(ru);
	}
	redisFree(c);
	return 0;
}

/* The same minute through SELECT 2 ends up in database 2 only. */
static int
case_select_db(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = make_rollup(MINUTE0, 0);
	struct keyset ks = { 0 };
	redisContext *c;
	redisReply *rep;

	o.db = 2;
	if (flushall() < 0 || direct_write(&o, ru) < 0 || (c = client()) == NULL) {
		ds_rollup_free(ru);
		return 1;
	}
	CHECK(q_int(c, "DBSIZE") == 0, "database 0 was written");
	rep = q(c, "SELECT 2");
	freeReplyObject(rep);
	check_minute(c, PREFIX, ru, RETENTION);
	ks_minute(&ks, PREFIX, ru, HLL_VALUES, false);
	check_keyset(c, &ks);
	ks_free(&ks);
	redisFree(c);
	ds_rollup_free(ru);
	return 0;
}

/* ZRANGE of an index must be exactly these members, in order. */
static void
check_index(redisContext *c, const char *key, const char *const *want, size_t n)
{
	redisReply *rep = q(c, "ZRANGE %s 0 -1", key);
	bool ok = rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == n;

	for (size_t i = 0; ok && i < n; i++)
		ok = strcmp(rep->element[i]->str, want[i]) == 0;
	CHECK(ok, "%s: %zu members, expected %zu from %s", key,
	      rep != NULL && rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0, n, want[0]);
	if (rep != NULL)
		freeReplyObject(rep);
}

static int
case_retention(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, 0);
	struct ds_rollup *ru = make_rollup(MINUTE0, 0);
	struct ds_redis *r;
	redisContext *c;
	char *snap;

	if (flushall() < 0 || direct_write(&o, ru) < 0 || (c = client()) == NULL) {
		ds_rollup_free(ru);
		return 1;
	}
	/* retention 0 (hours and days too): TTL -1 everywhere, and no key may expire. */
	check_minute(c, PREFIX, ru, 0);
	check_ttls(c, 0);
	snap = snapshot(c);
	CHECK(strstr(snap, " expires:") == NULL, "a key expires with retention 0");
	free(snap);
	ds_rollup_free(ru);

	/*
	 * retention 120 s: after minutes M..M+3 the index keeps M+1..M+3 (M+1 is
	 * exactly 120 s before the newest and stays). A backfilled older minute is
	 * written but trimmed from the index at once.
	 */
	CHECK(flushall() == 0, "FLUSHALL");
	o = redis_opts(PREFIX, 120);
	r = ds_redis_create(&o);
	for (int i = 0; i < 4; i++) {
		ru = make_rollup(MINUTE0 + i, 0);
		CHECK(ds_redis_write(r, ru) == 0, "write minute %d: %s", i, ds_redis_errstr(r));
		check_minute(c, PREFIX, ru, 120);
		ds_rollup_free(ru);
	}
	ru = make_rollup(MINUTE0 - 10, 0);
	CHECK(ds_redis_write(r, ru) == 0, "backfill: %s", ds_redis_errstr(r));
	ds_rollup_free(ru);
	{
		static const char *const want[] = { "201803292014", "201803292015",
						    "201803292016" };

		check_index(c, "ds:tokyo-1:darknet:minutes", want, 3);
	}
	CHECK(q_int(c, "EXISTS ds:tokyo-1:darknet:201803292003") == 1, "backfilled minute missing");
	CHECK(q_int(c, "ZCARD ds:tokyo-1:quiet:minutes") == 3, "quiet index not trimmed");
	check_ttls(c, 120);
	ds_redis_free(r);

	/*
	 * Hours and days stay in their index while their last minute would stay
	 * in a minutes index of the same retention: with an hour (a day) and the
	 * newest minute at 2018-03-29T22:30, hour 20 (last minute 20:59, before
	 * 21:30) goes and hour 21 stays; with 2018-03-31T00:10, the 29th goes and
	 * the 30th (last minute 23:59, after 03-30T00:10) stays.
	 */
	CHECK(flushall() == 0, "FLUSHALL");
	o.hour_retention_s = 3600;
	o.day_retention_s = 86400;
	r = ds_redis_create(&o);
	{
		static const int64_t mins[] = { MINUTE0, MINUTE0 + 52, MINUTE0 + 137 };
		static const char *const hours[] = { "2018032921", "2018032922" };
		static const char *const days[] = { "20180330", "20180331" };

		for (int i = 0; i < 3; i++) {
			ru = make_rollup(mins[i], 1);
			CHECK(ds_redis_write(r, ru) == 0, "write: %s", ds_redis_errstr(r));
			ds_rollup_free(ru);
		}
		check_index(c, "ds:tokyo-1:darknet:hours", hours, 2);
		check_ttl(c, "ds:tokyo-1:darknet:hours", 3600);
		ru = make_rollup(MINUTE0 + 232, 1);     /* 2018-03-30T00:05 */
		CHECK(ds_redis_write(r, ru) == 0, "write: %s", ds_redis_errstr(r));
		ds_rollup_free(ru);
		ru = make_rollup(MINUTE0 + 1677, 1);    /* 2018-03-31T00:10 */
		CHECK(ds_redis_write(r, ru) == 0, "write: %s", ds_redis_errstr(r));
		ds_rollup_free(ru);
		check_index(c, "ds:tokyo-1:quiet:days", days, 2);
		check_ttl(c, "ds:tokyo-1:quiet:days", 86400);
		check_ttl(c, "ds:tokyo-1:darknet:d:20180331", 86400);
		check_ttl(c, "ds:tokyo-1:darknet:h:2018033100", 3600);
		/* The sets and meta outlive the longest retention (the day's). */
		check_ttl(c, "ds:tokyo-1:meta", 86400);
		CHECK(q_int(c, "TTL ds:sensors") > 3600, "P:sensors expires with the hours");
	}
	ds_redis_free(r);
	redisFree(c);
	return 0;
}

/*
 * The heaviest minute: every TCP and UDP port, 100000 distinct sources,
 * 50 port HyperLogLogs. Timed (write, and the script alone from the slow
 * log) for a first write, the same minute again, and a second such minute
 * of the same hour whose every value differs; then a small minute of the
 * same hour. The script adds a minute to an existing period in one of two
 * ways, by how many of the period's members it holds (ZUNIONSTORE for the
 * second big minute, ZMSCORE and ZADD for the small one); the hour must
 * then hold the sum of the three for every one of the 131072 ports and
 * "other", whichever way each was added.
 */
static int
case_big_minute(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *a = make_big_rollup(MINUTE0, 0, true);
	struct ds_rollup *b = make_big_rollup(MINUTE0 + 1, 7, true);
	struct ds_rollup *small = make_rollup(MINUTE0 + 2, 2);
	const char *what[] = { "first write", "same minute again", "second minute",
			       "a small minute" };
	struct ds_rollup *seq[] = { a, a, b, small };
	struct ds_redis *r;
	redisContext *c;
	redisReply *rep;
	long long got;

	o.hll_values = 50;
	r = ds_redis_create(&o);
	if (flushall() < 0 || r == NULL || (c = client()) == NULL) {
		ds_redis_free(r);
		ds_rollup_free(a);
		ds_rollup_free(b);
		ds_rollup_free(small);
		return 1;
	}
	freeReplyObject(q(c, "CONFIG SET slowlog-log-slower-than 0"));
	freeReplyObject(q(c, "CONFIG SET slowlog-max-len 100000"));
	for (int i = 0; i < 4; i++) {
		double t0 = now_s(), t;
		int rc;

		freeReplyObject(q(c, "SLOWLOG RESET"));
		rc = ds_redis_write(r, seq[i]);
		t = now_s() - t0;
		CHECK(rc == 0, "%s: %d (%s)", what[i], rc, ds_redis_errstr(r));
		printf("  %s: %.3f s, of which the script %.3f s\n", what[i], t,
		       (double)script_usec(c) / 1e6);
		CHECK(t < 5, "%s took %.1f s", what[i], t);
		if (i == 0) {
			check_minute(c, PREFIX, a, RETENTION);
			/* Its 100000 feed sources went through PFMERGE. */
			check_hll_exact(c, "ds:tokyo-1:darknet:h:2018032920:hll", 0x01000000u,
					100000);
			check_hll_exact(c, "ds:tokyo-1:darknet:d:20180329:hll", 0x01000000u,
					100000);
		}
		/* Before the small minute adds its own ports' HyperLogLogs. */
		if (i == 2)
			CHECK(q_int(c, "SCARD ds:tokyo-1:darknet:h:2018032920:hll:tcp_dst_port") ==
			      50, "not 50 port HyperLogLogs");
	}
	freeReplyObject(q(c, "CONFIG SET slowlog-log-slower-than 10000"));
	freeReplyObject(q(c, "CONFIG SET slowlog-max-len 128"));
	check_minute(c, PREFIX, b, RETENTION);
	check_minute(c, PREFIX, small, RETENTION);
	for (int d = DS_DIM_TCP_DST_PORT; d <= DS_DIM_UDP_DST_PORT; d++) {
		const struct ds_rollup *parts[] = { a, b, small };
		/* Ports 0-65535, and "other" at 65536. */
		uint64_t *sum = calloc(65537, sizeof(*sum));
		size_t bad = 0, want_n = 0;

		for (int k = 0; k < 3; k++) {
			const struct ds_rollup_dim *dd = &parts[k]->feeds[0].dims[d];

			for (uint32_t i = 0; i < dd->n; i++) {
				uint32_t v = dd->entries[i].value;

				sum[v == DS_ROLLUP_OTHER ? 65536 : v] += dd->entries[i].packets;
			}
		}
		for (uint32_t v = 0; v <= 65536; v++)
			want_n += sum[v] != 0;
		rep = q(c, "ZRANGE ds:tokyo-1:darknet:h:2018032920:%s 0 -1 WITHSCORES",
			ds_dim_name((enum ds_dim)d));
		CHECK(rep->elements == 2 * want_n, "%s: %zu hour members, expected %zu",
		      ds_dim_name((enum ds_dim)d), rep->elements / 2, want_n);
		for (size_t i = 0; i + 1 < rep->elements; i += 2) {
			const char *label = rep->element[i]->str;
			uint32_t v = strcmp(label, "other") == 0 ? 65536 : strtoul(label, NULL, 10);

			bad += strtoull(rep->element[i + 1]->str, NULL, 10) != sum[v];
		}
		CHECK(bad == 0, "%s: %zu hour sums wrong", ds_dim_name((enum ds_dim)d), bad);
		freeReplyObject(rep);
		free(sum);
	}
	check_str(c, "3", "HGET ds:tokyo-1:darknet:d:20180329 minutes");
	/* 100000 sources: HyperLogLog's 0.81 % standard error; five of them is 4 %. */
	got = q_int(c, "PFCOUNT ds:tokyo-1:darknet:d:20180329:hll");
	CHECK(got > 96000 && got < 104000, "feed HLL counts %lld of 100000", got);
	printf("  feed HyperLogLog: %lld for 100000 sources\n", got);
	redisFree(c);
	ds_redis_free(r);
	ds_rollup_free(a);
	ds_rollup_free(b);
	ds_rollup_free(small);
	return 0;
}

/* Write variant 0 of a minute with this sink. */
static int
write_minute(struct ds_redis *r, int64_t minute)
{
	struct ds_rollup *ru = make_rollup(minute, 0);
	int rc = ds_redis_write(r, ru);

	ds_rollup_free(ru);
	return rc;
}

/*
 * The server forgets the script (SCRIPT FLUSH): the next write gets
 * NOSCRIPT, sends the script with EVAL and succeeds; the one after is an
 * EVALSHA again. After a restart, the sink reconnects and loads it anew.
 */
static int
case_noscript(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_redis *r = ds_redis_create(&o);
	redisContext *c;
	char *logged;
	int rc;

	if (flushall() < 0 || r == NULL || (c = client()) == NULL) {
		ds_redis_free(r);
		return 1;
	}
	CHECK(write_minute(r, MINUTE0) == 0, "write: %s", ds_redis_errstr(r));
	freeReplyObject(q(c, "SCRIPT FLUSH"));
	freeReplyObject(q(c, "CONFIG RESETSTAT"));
	log_capture_start();
	for (int i = 1; i <= 2; i++) {
		rc = write_minute(r, MINUTE0 + i);
		CHECK(rc == 0, "write after SCRIPT FLUSH: %d (%s)", rc, ds_redis_errstr(r));
	}
	logged = log_capture_end();
	CHECK(count_substr(logged, "lost the script (NOSCRIPT)") == 1,
	      "NOSCRIPT not met exactly once");
	free(logged);
	{
		redisReply *rep = q(c, "INFO commandstats");

		CHECK(rep != NULL && rep->type == REDIS_REPLY_STRING &&
		      strstr(rep->str, "cmdstat_eval:calls=1,") != NULL &&
		      strstr(rep->str, "cmdstat_evalsha:calls=2,") != NULL,
		      "not EVALSHA, EVAL, EVALSHA");
		freeReplyObject(rep);
	}
	for (int i = 0; i <= 2; i++) {
		struct ds_rollup *ru = make_rollup(MINUTE0 + i, 0);

		check_minute(c, PREFIX, ru, RETENTION);
		ds_rollup_free(ru);
	}
	redisFree(c);

	/* A restart: the old connection is dead (one failed write at most), then a fresh one. */
	server_stop();
	if (server_start(NULL, NULL) < 0) {
		ds_redis_free(r);
		return 1;
	}
	rc = write_minute(r, MINUTE0 + 3);
	if (rc != 0)
		rc = write_minute(r, MINUTE0 + 3);
	CHECK(rc == 0, "write after a restart: %d (%s)", rc, ds_redis_errstr(r));
	if ((c = client()) != NULL) {
		struct ds_rollup *ru = make_rollup(MINUTE0 + 3, 0);

		check_minute(c, PREFIX, ru, RETENTION);
		check_str(c, "1", "HGET ds:tokyo-1:darknet:h:2018032920 minutes");
		ds_rollup_free(ru);
		redisFree(c);
	}
	ds_redis_free(r);
	return 0;
}

#define PASSWORD "s3cret-Pw-8841"
#define WRONG_PASSWORD "wr0ng-Pw-5523"
#define USER_PASSWORD "us3r-Pw-1907"
/* The commands a writer needs, the script's included (docs/CONFIG.md, redis). */
#define ACL_WRITER "+auth +select +script|load +evalsha +eval +multi +exec +unlink " \
	"+restore +set +sadd +pfadd +pfmerge +expire +copy +exists +hdel +hget +hgetall " \
	"+hincrby +hset +persist +rename +sismember +zadd +zcard +zmscore +zrange +zrem " \
	"+zremrangebyscore +zunionstore"

static int
case_auth(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = make_rollup(MINUTE0, 0);
	struct ds_redis_writer_opts wo = writer_opts(DS_REDIS_QUEUE_WAIT, 4);
	struct ds_redis_writer *w;
	struct ds_redis_writer_stats st;
	struct ds_redis *r;
	redisContext *c;
	redisReply *rep;
	char *logged;
	int rc;

	server_stop();
	if (server_start("--requirepass", PASSWORD) < 0) {
		ds_rollup_free(ru);
		return 1;
	}
	client_password = PASSWORD;

	o.password = PASSWORD;
	CHECK(direct_write(&o, ru) == 0, "right password refused");

	o.password = WRONG_PASSWORD;
	r = ds_redis_create(&o);
	rc = ds_redis_write(r, ru);
	CHECK(rc == -EPERM, "wrong password: %d, expected -EPERM", rc);
	CHECK(ds_redis_errstr(r)[0] != '\0', "no errstr after AUTH failure");
	CHECK(strstr(ds_redis_errstr(r), WRONG_PASSWORD) == NULL, "errstr shows the password");
	printf("  wrong password: %s\n", ds_redis_errstr(r));
	ds_redis_free(r);

	o.password = NULL;
	r = ds_redis_create(&o);
	rc = ds_redis_write(r, ru);
	CHECK(rc == -EPERM, "no password: %d, expected -EPERM", rc);
	printf("  no password: %s\n", ds_redis_errstr(r));
	ds_redis_free(r);

	/* An ACL user: AUTH username password. */
	c = client();
	if (c == NULL) {
		ds_rollup_free(ru);
		return 1;
	}
	rep = q(c, "ACL SETUSER darkscope on >%s ~* &* +@all", USER_PASSWORD);
	CHECK(rep != NULL && rep->type == REDIS_REPLY_STATUS, "ACL SETUSER failed");
	freeReplyObject(rep);
	CHECK(flushall() == 0, "FLUSHALL");
	o.username = "darkscope";
	o.password = USER_PASSWORD;
	CHECK(direct_write(&o, ru) == 0, "ACL user refused");
	check_minute(c, PREFIX, ru, RETENTION);
	o.password = PASSWORD; /* the default user's password is not this user's */
	r = ds_redis_create(&o);
	rc = ds_redis_write(r, ru);
	CHECK(rc == -EPERM, "ACL user, wrong password: %d, expected -EPERM", rc);
	CHECK(strstr(ds_redis_errstr(r), PASSWORD) == NULL, "errstr shows the password");
	ds_redis_free(r);

	/*
	 * Least privilege, as docs/CONFIG.md lists it: the keys under the
	 * prefix and these commands. Every kind of write: a busy minute (staged
	 * RESTOREs, a HyperLogLog by SET and PFMERGE, new periods by COPY), the
	 * same minute again (old and delta zsets), a second one (ZUNIONSTORE),
	 * a small one (ZMSCORE, PFADD). Without RESTORE the minute is refused.
	 */
	rep = q(c, "ACL SETUSER writer on >%s resetkeys ~ds:* -@all " ACL_WRITER, USER_PASSWORD);
	CHECK(rep != NULL && rep->type == REDIS_REPLY_STATUS, "ACL SETUSER writer: %s",
	      rep != NULL && rep->str != NULL ? rep->str : "no reply");
	freeReplyObject(rep);
	CHECK(flushall() == 0, "FLUSHALL");
	o.username = "writer";
	o.password = USER_PASSWORD;
	{
		struct ds_rollup *seq[] = { make_big_rollup(MINUTE0, 0, true), NULL,
					    make_big_rollup(MINUTE0 + 1, 7, true),
					    make_rollup(MINUTE0 + 2, 2) };

		seq[1] = seq[0];
		r = ds_redis_create(&o);
		for (int i = 0; i < 4 && r != NULL; i++) {
			rc = ds_redis_write(r, seq[i]);
			CHECK(rc == 0, "least-privilege user, write %d: %d (%s)", i, rc,
			      ds_redis_errstr(r));
		}
		check_minute(c, PREFIX, seq[3], RETENTION);
		ds_redis_free(r);
		freeReplyObject(q(c, "ACL SETUSER writer -restore"));
		r = ds_redis_create(&o);
		rc = ds_redis_write(r, seq[2]);
		CHECK(rc == -EPERM && strstr(ds_redis_errstr(r), "'restore'") != NULL,
		      "without RESTORE: %d (%s), expected -EPERM naming it", rc,
		      ds_redis_errstr(r));
		printf("  least-privilege user without RESTORE: %s\n", ds_redis_errstr(r));
		ds_redis_free(r);
		ds_rollup_free(seq[0]);
		ds_rollup_free(seq[2]);
		ds_rollup_free(seq[3]);
	}
	redisFree(c);

	/* A writer with a wrong password logs the outage once, never the password. */
	wo.redis.password = WRONG_PASSWORD;
	log_capture_start();
	w = ds_redis_writer_create(&wo);
	CHECK(w != NULL, "writer_create: %s", strerror(errno));
	if (w != NULL) {
		CHECK(ds_redis_writer_submit(w, make_rollup(MINUTE0, 0)) == 0, "submit");
		sleep_ms(300);
		ds_redis_writer_stats(w, &st);
		CHECK(st.failures >= 2 && st.written == 0 && !st.connected && st.queued == 1,
		      "stats failures %" PRIu64 " written %" PRIu64 " queued %u", st.failures,
		      st.written, st.queued);
		ds_redis_writer_free(w);
	}
	logged = log_capture_end();
	CHECK(count_substr(logged, "AUTH refused") == 1, "outage not logged exactly once");
	CHECK(strstr(logged, "1 minutes discarded") != NULL, "discarded minute not logged");
	CHECK(strstr(logged, WRONG_PASSWORD) == NULL && strstr(logged, PASSWORD) == NULL,
	      "the log shows a password");
	free(logged);

	client_password = NULL;
	server_stop();
	ds_rollup_free(ru);
	return server_start(NULL, NULL) < 0;
}

/*
 * Redis dies under a connected writer (SIGKILL: the next write hits a dead
 * socket, then connects get ECONNREFUSED). Minutes queue up in WAIT mode and
 * all reach Redis when it is back, identical to direct writes.
 */
static int
case_writer_outage(void)
{
	enum { N = 5 };
	struct ds_redis_writer_opts wo = writer_opts(DS_REDIS_QUEUE_WAIT, 8);
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_redis_writer_stats st;
	struct ds_redis_writer *w;
	char *via_writer, *direct;
	redisContext *c;
	int rc;

	if (flushall() < 0)
		return 1;
	w = ds_redis_writer_create(&wo);
	if (w == NULL)
		return 1;
	/* Connected first, so that the outage breaks a live connection. */
	CHECK(ds_redis_writer_submit(w, make_rollup(MINUTE0 - 1, 0)) == 0, "submit");
	CHECK(ds_redis_writer_drain(w, 5000) == 0, "first minute not written");
	server_kill();
	for (int i = 0; i < N; i++)
		CHECK(ds_redis_writer_submit(w, make_rollup(MINUTE0 + i, 0)) == 0, "submit %d", i);
	sleep_ms(1000);
	ds_redis_writer_stats(w, &st);
	CHECK(st.failures > 0 && st.written == 1 && st.queued == N && !st.connected,
	      "during outage: failures %" PRIu64 " written %" PRIu64 " queued %u connected %d",
	      st.failures, st.written, st.queued, st.connected);
	CHECK(ds_redis_writer_drain(w, 100) == -ETIMEDOUT, "drain succeeded without Redis");
	{
		/* Meanwhile a direct write sees the stale socket file. */
		struct ds_rollup *ru = make_rollup(MINUTE0, 0);
		struct ds_redis *r = ds_redis_create(&o);

		rc = ds_redis_write(r, ru);
		CHECK(rc == -ECONNREFUSED, "dead server: %d, expected -ECONNREFUSED", rc);
		ds_redis_free(r);
		ds_rollup_free(ru);
	}
	if (server_start(NULL, NULL) < 0) {
		ds_redis_writer_free(w);
		return 1;
	}
	rc = ds_redis_writer_drain(w, 10000);
	CHECK(rc == 0, "drain: %d", rc);
	ds_redis_writer_stats(w, &st);
	CHECK(st.written == N + 1 && st.failures > 0 && st.dropped == 0 && st.queued == 0 &&
	      st.connected, "after outage: written %" PRIu64 " failures %" PRIu64
	      " dropped %" PRIu64, st.written, st.failures, st.dropped);
	printf("  %" PRIu64 " failed attempts during the outage\n", st.failures);
	ds_redis_writer_free(w);

	c = client();
	if (c == NULL)
		return 1;
	for (int i = 0; i < N; i++) {
		struct ds_rollup *ru = make_rollup(MINUTE0 + i, 0);

		check_minute(c, PREFIX, ru, RETENTION);
		ds_rollup_free(ru);
	}
	/* The server restarted empty: the database is exactly the N queued minutes. */
	via_writer = snapshot(c);
	CHECK(flushall() == 0, "FLUSHALL");
	for (int i = 0; i < N; i++) {
		struct ds_rollup *ru = make_rollup(MINUTE0 + i, 0);

		direct_write(&o, ru);
		ds_rollup_free(ru);
	}
	direct = snapshot(c);
	if (strcmp(via_writer, direct) != 0)
		snapshot_diff("writer vs direct", via_writer, direct);
	free(via_writer);
	free(direct);
	redisFree(c);
	return 0;
}

/* DROP_OLDEST with room for 3: of minutes 0..9 submitted during an outage, 7..9 survive. */
static int
case_writer_overflow(void)
{
	struct ds_redis_writer_opts wo = writer_opts(DS_REDIS_QUEUE_DROP_OLDEST, 3);
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_redis_writer_stats st;
	struct ds_redis_writer *w;
	struct keyset ks = { 0 };
	redisContext *c;
	redisReply *rep;
	char *logged;
	int rc;

	server_shutdown();
	{
		struct ds_rollup *ru = make_rollup(MINUTE0, 0);
		struct ds_redis *r = ds_redis_create(&o);

		rc = ds_redis_write(r, ru);
		CHECK(rc == -ENOENT, "shut down server: %d, expected -ENOENT", rc);
		ds_redis_free(r);
		ds_rollup_free(ru);
	}
	log_capture_start();
	w = ds_redis_writer_create(&wo);
	if (w == NULL) {
		free(log_capture_end());
		return 1;
	}
	for (int i = 0; i < 10; i++) {
		CHECK(ds_redis_writer_submit(w, make_rollup(MINUTE0 + i, 0)) == 0, "submit %d", i);
		sleep_ms(5);
	}
	ds_redis_writer_stats(w, &st);
	CHECK(st.dropped == 7 && st.queued == 3 && st.written == 0,
	      "full queue: dropped %" PRIu64 " queued %u", st.dropped, st.queued);
	sleep_ms(300);
	if (server_start(NULL, NULL) < 0) {
		ds_redis_writer_free(w);
		free(log_capture_end());
		return 1;
	}
	rc = ds_redis_writer_drain(w, 10000);
	CHECK(rc == 0, "drain: %d", rc);
	ds_redis_writer_stats(w, &st);
	CHECK(st.dropped == 7 && st.written == 3 && st.queued == 0,
	      "after outage: dropped %" PRIu64 " written %" PRIu64, st.dropped, st.written);
	ds_redis_writer_free(w);
	logged = log_capture_end();
	CHECK(count_substr(logged, "dropped minute") == 7, "%zu drop lines, expected 7",
	      count_substr(logged, "dropped minute"));
	CHECK(strstr(logged, "dropped minute 2018-03-29T20:13:00Z (1 dropped so far)") != NULL &&
	      strstr(logged, "dropped minute 2018-03-29T20:19:00Z (7 dropped so far)") != NULL,
	      "drop lines do not name the minutes");
	CHECK(count_substr(logged, "Redis unavailable") == 1, "outage not logged exactly once");
	CHECK(strstr(logged, "Redis back after ") != NULL &&
	      strstr(logged, "3 minutes queued") != NULL, "recovery not logged");
	free(logged);

	c = client();
	if (c == NULL)
		return 1;
	rep = q(c, "ZRANGE ds:tokyo-1:darknet:minutes 0 -1");
	CHECK(rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
	      strcmp(rep->element[0]->str, "201803292020") == 0 &&
	      strcmp(rep->element[2]->str, "201803292022") == 0,
	      "index is not minutes 7..9");
	freeReplyObject(rep);
	for (int i = 0; i < 10; i++) {
		struct ds_rollup *ru = make_rollup(MINUTE0 + i, 0);

		char mkey[32];

		ds_minute_key(ru->minute, mkey, sizeof(mkey));
		if (i >= 7)
			check_minute(c, PREFIX, ru, RETENTION);
		else
			CHECK(q_int(c, "EXISTS ds:tokyo-1:darknet:%s ds:tokyo-1:%s:counters", mkey,
				    mkey) == 0, "dropped minute %d was written", i);
		if (i >= 7)
			ks_minute(&ks, PREFIX, ru, HLL_VALUES, false);
		ds_rollup_free(ru);
	}
	/* Exactly minutes 7..9 and their hour and day: nothing of the dropped ones. */
	check_keyset(c, &ks);
	ks_free(&ks);
	redisFree(c);
	return 0;
}

struct blocked_submit {
	struct ds_redis_writer *w;
	atomic_bool returned;
	double at;
	int rc;
};

static void *
blocked_submit_main(void *arg)
{
	struct blocked_submit *b = arg;

	b->rc = ds_redis_writer_submit(b->w, make_rollup(MINUTE0 + 2, 0));
	b->at = now_s();
	atomic_store(&b->returned, true);
	return NULL;
}

/* WAIT: a submit into a full queue blocks until Redis is back and a slot frees up. */
static int
case_writer_wait_blocks(void)
{
	struct ds_redis_writer_opts wo = writer_opts(DS_REDIS_QUEUE_WAIT, 2);
	struct blocked_submit b = { 0 };
	struct ds_redis_writer_stats st;
	pthread_t th;
	redisContext *c;
	double restart;
	int rc;

	server_shutdown();
	b.w = ds_redis_writer_create(&wo);
	if (b.w == NULL)
		return 1;
	CHECK(ds_redis_writer_submit(b.w, make_rollup(MINUTE0, 0)) == 0, "submit 0");
	CHECK(ds_redis_writer_submit(b.w, make_rollup(MINUTE0 + 1, 0)) == 0, "submit 1");
	atomic_init(&b.returned, false);
	if (pthread_create(&th, NULL, blocked_submit_main, &b) != 0) {
		ds_redis_writer_free(b.w);
		return 1;
	}
	sleep_ms(500);
	CHECK(!atomic_load(&b.returned), "submit into a full queue did not block");
	restart = now_s();
	rc = server_start(NULL, NULL);
	pthread_join(th, NULL);
	CHECK(b.rc == 0, "blocked submit returned %d", b.rc);
	CHECK(b.at >= restart, "submit returned %.3f s before Redis came back", restart - b.at);
	if (rc == 0) {
		CHECK(ds_redis_writer_drain(b.w, 10000) == 0, "drain");
		ds_redis_writer_stats(b.w, &st);
		CHECK(st.written == 3 && st.dropped == 0, "written %" PRIu64, st.written);
	}
	ds_redis_writer_free(b.w);
	if (rc < 0 || (c = client()) == NULL)
		return 1;
	for (int i = 0; i < 3; i++) {
		struct ds_rollup *ru = make_rollup(MINUTE0 + i, 0);

		check_minute(c, PREFIX, ru, RETENTION);
		ds_rollup_free(ru);
	}
	redisFree(c);
	return 0;
}

/* A server that accepts but never answers (SIGSTOP): the write gives up after the timeout. */
static int
case_command_timeout(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = make_rollup(MINUTE0, 0);
	struct ds_redis *r;
	double t0;
	int rc;

	o.command_timeout_ms = 300;
	r = ds_redis_create(&o);
	kill(server_pid, SIGSTOP);
	t0 = now_s();
	rc = ds_redis_write(r, ru);
	t0 = now_s() - t0;
	kill(server_pid, SIGCONT);
	CHECK(rc == -ETIMEDOUT, "frozen server: %d (%s), expected -ETIMEDOUT", rc,
	      ds_redis_errstr(r));
	CHECK(t0 >= 0.25 && t0 < 3, "gave up after %.2f s, expected about 0.3 s", t0);
	/* The next call reconnects and works. */
	rc = ds_redis_write(r, ru);
	CHECK(rc == 0, "after SIGCONT: %d (%s)", rc, ds_redis_errstr(r));
	ds_redis_free(r);
	ds_rollup_free(ru);
	return 0;
}

/* free() wakes a submitter blocked in WAIT: it gets -ESHUTDOWN and its rollup is freed. */
static int
case_writer_free_wakes(void)
{
	struct ds_redis_writer_opts wo = writer_opts(DS_REDIS_QUEUE_WAIT, 1);
	struct blocked_submit b = { 0 };
	pthread_t th;

	server_shutdown();
	b.w = ds_redis_writer_create(&wo);
	if (b.w == NULL)
		return 1;
	CHECK(ds_redis_writer_submit(b.w, make_rollup(MINUTE0, 0)) == 0, "submit 0");
	atomic_init(&b.returned, false);
	if (pthread_create(&th, NULL, blocked_submit_main, &b) != 0) {
		ds_redis_writer_free(b.w);
		return 1;
	}
	sleep_ms(200);
	CHECK(!atomic_load(&b.returned), "submit into a full queue did not block");
	ds_redis_writer_free(b.w);
	pthread_join(th, NULL);
	CHECK(b.rc == -ESHUTDOWN, "blocked submit returned %d, expected -ESHUTDOWN", b.rc);
	return server_start(NULL, NULL) < 0;
}

/*
 * DROP_OLDEST with room for one while the writer is stuck writing that one
 * (server frozen): the submit drops the minute in flight, the writer frees it
 * when its write times out, and the new minute is written once Redis thaws.
 */
static int
case_writer_drop_in_flight(void)
{
	struct ds_redis_writer_opts wo = writer_opts(DS_REDIS_QUEUE_DROP_OLDEST, 1);
	struct ds_redis_writer_stats st;
	struct ds_redis_writer *w;
	struct ds_rollup *ru;
	redisContext *c;

	if (flushall() < 0)
		return 1;
	wo.redis.command_timeout_ms = 400;
	w = ds_redis_writer_create(&wo);
	if (w == NULL)
		return 1;
	kill(server_pid, SIGSTOP);
	CHECK(ds_redis_writer_submit(w, make_rollup(MINUTE0, 0)) == 0, "submit 0");
	sleep_ms(150);
	CHECK(ds_redis_writer_submit(w, make_rollup(MINUTE0 + 1, 0)) == 0, "submit 1");
	ds_redis_writer_stats(w, &st);
	CHECK(st.dropped == 1 && st.queued == 1, "dropped %" PRIu64 " queued %u", st.dropped,
	      st.queued);
	sleep_ms(500);
	kill(server_pid, SIGCONT);
	CHECK(ds_redis_writer_drain(w, 10000) == 0, "drain");
	ds_redis_writer_stats(w, &st);
	CHECK(st.dropped == 1 && st.written >= 1 && st.failures >= 1 && st.queued == 0,
	      "dropped %" PRIu64 " written %" PRIu64 " failures %" PRIu64, st.dropped,
	      st.written, st.failures);
	ds_redis_writer_free(w);
	c = client();
	if (c == NULL)
		return 1;
	ru = make_rollup(MINUTE0 + 1, 0);
	check_minute(c, PREFIX, ru, RETENTION);
	ds_rollup_free(ru);
	redisFree(c);
	return 0;
}

/* --- Redis' formats built by the client (ds_dump.c) ------------------------------------- */

static uint64_t
dump_rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* RDB's length at *p (the three forms ds_dump.c writes), or UINT32_MAX. */
static uint32_t
dump_len(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *s = *p;
	uint32_t v;

	if (s >= end)
		return UINT32_MAX;
	if (*s >> 6 == 0) {
		*p = s + 1;
		return *s;
	}
	if (*s >> 6 == 1 && end - s >= 2) {
		*p = s + 2;
		return (uint32_t)(s[0] & 63) << 8 | s[1];
	}
	if (*s == 0x80 && end - s >= 5) {
		v = (uint32_t)s[1] << 24 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 8 | s[4];
		*p = s + 5;
		return v;
	}
	return UINT32_MAX;
}

/*
 * Read a zset payload back independently of ds_dump.c: its members must be
 * strictly descending in Redis' order (score, then memcmp and length), its
 * version 9 and its CRC right. Returns the member count, or -1.
 */
static long
dump_check(const uint8_t *pl, size_t size)
{
	const uint8_t *p = pl + 1, *end = pl + size - 10, *prev = NULL;
	uint32_t n, prev_len = 0;
	double prev_score = 0;
	uint64_t crc = 0;

	if (size < 11 || pl[0] != 5 || (n = dump_len(&p, end)) == UINT32_MAX)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t len = dump_len(&p, end);
		double score;
		int c;

		if (len == UINT32_MAX || (size_t)(end - p) < (size_t)len + 8)
			return -1;
		memcpy(&score, p + len, 8);
		if (prev != NULL) {
			c = memcmp(p, prev, len < prev_len ? len : prev_len);
			if (c == 0)
				c = len < prev_len ? -1 : len > prev_len;
			if (!(score < prev_score || (score == prev_score && c < 0)))
				return -1;
		}
		prev = p;
		prev_len = len;
		prev_score = score;
		p += len + 8;
	}
	for (int i = 7; i >= 0; i--)
		crc = crc << 8 | end[2 + i];
	if (p != end || end[0] != 9 || end[1] != 0 || crc != ds_crc64(0, pl, size - 8))
		return -1;
	return (long)n;
}

/*
 * A random label: short digits, long names that share their first 8 to 20
 * bytes, bytes above 0x7f and NUL bytes (which tie the 8-byte prefixes that
 * ds_dump.c sorts by first), and now and then one already used.
 */
static size_t
dump_label(uint64_t *rng, char *out, char (*used)[40], const size_t *used_len, uint32_t n_used)
{
	uint64_t x = dump_rng(rng);
	size_t len;

	if (n_used > 0 && x % 16 == 0) {
		uint32_t k = (uint32_t)(x >> 8) % n_used;

		memcpy(out, used[k], used_len[k]);
		return used_len[k];
	}
	switch ((x >> 4) % 4) {
	case 0:
		return (size_t)sprintf(out, "%u", (unsigned int)(x >> 16) % 70000);
	case 1:
		len = 8 + (x >> 16) % 12;
		memcpy(out, "MSS,SACK,TS,NOP,WS", len > 18 ? 18 : len);
		out[len - 1] = (char)('a' + (x >> 24) % 26);
		return len;
	case 2:
		len = 1 + (x >> 16) % 12;
		for (size_t i = 0; i < len; i++)
			out[i] = (char)(0x7e + (dump_rng(rng) % 4));
		return len;
	default:
		len = 1 + (x >> 16) % 10;
		for (size_t i = 0; i < len; i++)
			out[i] = (dump_rng(rng) % 3 == 0) ? '\0' : 'x';
		return len;
	}
}

/*
 * Make the payload of labels [off[k], off[k + 1]) with their scores, check it
 * with dump_check(), RESTORE it and compare the result with ZINCRBY of the
 * same members: their count, order and encoding. @p enc receives the
 * encoding. Returns the payload's size, or 0 when it could not be made.
 */
static size_t
restore_matches_zincrby(redisContext *c, struct ds_dump_zset *z, const char *labels,
			const size_t *off, uint32_t n, const uint64_t *scores, const char *what,
			char *enc, size_t enc_len)
{
	redisReply *a, *b;
	size_t size;
	uint8_t *pl;
	long members;

	CHECK(ds_dump_zset_labels(z, labels, off, n) == 0, "%s: labels of %u", what, n);
	size = ds_dump_zset_order(z, scores, sizeof(scores[0]));
	pl = malloc(size);
	if (pl == NULL)
		return 0;
	ds_dump_zset_write(z, pl);
	members = dump_check(pl, size);
	CHECK(members > 0 && (uint32_t)members == z->n_members,
	      "%s: payload out of order or malformed (%ld members, %u expected)", what, members,
	      z->n_members);
	freeReplyObject(q(c, "DEL test:restore test:zadd"));
	a = q(c, "RESTORE test:restore 0 %b", pl, size);
	CHECK(a != NULL && a->type == REDIS_REPLY_STATUS, "%s: RESTORE refused: %s", what,
	      a != NULL && a->str != NULL ? a->str : "no reply");
	freeReplyObject(a);
	free(pl);
	for (uint32_t k = 0; k < n; k++)
		freeReplyObject(q(c, "ZINCRBY test:zadd %" PRIu64 " %b", scores[k], labels + off[k],
				  off[k + 1] - off[k]));
	CHECK(q_int(c, "ZCARD test:restore") == (long long)z->n_members &&
	      q_int(c, "ZCARD test:zadd") == (long long)z->n_members,
	      "%s: %lld and %lld members, %u distinct labels", what,
	      q_int(c, "ZCARD test:restore"), q_int(c, "ZCARD test:zadd"), z->n_members);
	a = q(c, "ZRANGE test:restore 0 -1 WITHSCORES");
	b = q(c, "ZRANGE test:zadd 0 -1 WITHSCORES");
	CHECK(a != NULL && b != NULL && a->type == REDIS_REPLY_ARRAY &&
	      b->type == REDIS_REPLY_ARRAY && a->elements == b->elements,
	      "%s: ZRANGE differs in length", what);
	for (size_t i = 0; a != NULL && b != NULL && i < a->elements && i < b->elements; i++) {
		if (a->element[i]->len != b->element[i]->len ||
		    memcmp(a->element[i]->str, b->element[i]->str, a->element[i]->len)) {
			mismatch("%s: element %zu differs", what, i);
			break;
		}
	}
	freeReplyObject(a);
	freeReplyObject(b);
	a = q(c, "OBJECT ENCODING test:restore");
	b = q(c, "OBJECT ENCODING test:zadd");
	CHECK(a != NULL && b != NULL && a->str != NULL && b->str != NULL &&
	      strcmp(a->str, b->str) == 0, "%s: encodings differ", what);
	snprintf(enc, enc_len, "%s", a != NULL && a->str != NULL ? a->str : "?");
	freeReplyObject(a);
	freeReplyObject(b);
	return size;
}

/*
 * Labels at the edges of RDB's length encoding (one byte below 64, two below
 * 16384, five above) and of Redis' listpack value limit (64 bytes): a TCP
 * option layout of 40 kinds makes a fingerprint label of about 190 bytes,
 * and a watch rule or feed name has no limit but the configuration's. Some
 * share all but their last byte, so that ordering them goes past the 8-byte
 * prefixes. Each length alone (a listpack when it is short enough), then all
 * of them in one zset.
 */
static int
dump_long_labels(redisContext *c, struct ds_dump_zset *z, uint64_t *rng)
{
	static const uint32_t lens[] = { 62, 63, 64, 65, 190, 255, 256, 16383, 16384, 70000 };
	enum { N_LENS = sizeof(lens) / sizeof(lens[0]), PER_LEN = 3 };
	size_t off[N_LENS * PER_LEN + 1], total = 0, size = 0;
	uint64_t scores[N_LENS * PER_LEN];
	uint32_t n = 0;
	char enc[32], what[64];
	char *labels;

	for (uint32_t l = 0; l < N_LENS; l++)
		total += PER_LEN * lens[l];
	labels = malloc(total);
	if (labels == NULL)
		return 1;
	off[0] = 0;
	for (uint32_t l = 0; l < N_LENS; l++) {
		uint32_t first = n;
		char *s = labels + off[n];

		/* Three labels of this length, random, that differ only in their last byte. */
		for (uint32_t i = 0; i < lens[l]; i++)
			s[i] = (char)dump_rng(rng);
		memcpy(s + lens[l], s, lens[l]);
		s[2 * lens[l] - 1] ^= 0x5a;
		memcpy(s + 2 * lens[l], s, lens[l]);
		s[3 * lens[l] - 1] = (char)(s[lens[l] - 1] ^ 0xa5);
		for (uint32_t k = 0; k < PER_LEN; k++) {
			off[n + 1] = off[n] + lens[l];
			scores[n] = dump_rng(rng) % 3;
			n++;
		}
		snprintf(what, sizeof(what), "labels of %u bytes", lens[l]);
		if (restore_matches_zincrby(c, z, labels, off + first, PER_LEN,
					    scores + first, what, enc, sizeof(enc)) == 0) {
			free(labels);
			return 1;
		}
		if (lens[l] == 64 || lens[l] == 65)
			printf("  3 labels of %u bytes restored as ZINCRBY makes them, %s\n",
			       lens[l], enc);
	}
	size = restore_matches_zincrby(c, z, labels, off, n, scores, "long labels together", enc,
				       sizeof(enc));
	printf("  %u labels of 62-70000 bytes (a payload of %zu bytes) restored as ZINCRBY "
	       "makes them, %s\n", n, size, enc);
	free(labels);
	return size == 0;
}

/*
 * The sorted sets RESTORE makes from ds_dump.c's payloads hold what ZADD of
 * the same members makes (a label given twice: one member, its scores
 * summed), for sizes around Redis' listpack limit (128) and well past it,
 * and for labels of every length encoding (dump_long_labels()); and a
 * HyperLogLog built by ds_hll_add() is the one PFADD builds.
 */
static int
case_dump_formats(void)
{
	static const uint32_t sizes[] = { 1, 2, 127, 128, 129, 3000, 20000 };
	static char labels[20000 * 40];
	static char used[20000][40];
	static size_t off[20001], used_len[20000];
	static uint64_t scores[20000];
	struct ds_dump_zset z = { 0 };
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	uint8_t hll[DS_HLL_DENSE_SIZE];
	redisContext *c;
	redisReply *a, *b;

	if (flushall() < 0 || (c = client()) == NULL)
		return 1;
	CHECK(ds_crc64(0, "123456789", 9) == 0xe9c6d914c4b8d9caULL, "CRC-64 check value");
	for (size_t t = 0; t < sizeof(sizes) / sizeof(sizes[0]); t++) {
		uint32_t n = sizes[t];
		char enc[32], what[32];
		size_t size;

		off[0] = 0;
		for (uint32_t k = 0; k < n; k++) {
			used_len[k] = dump_label(&rng, used[k], used, used_len, k);
			memcpy(labels + off[k], used[k], used_len[k]);
			off[k + 1] = off[k] + used_len[k];
			/* Many ties: scores from a few small values, and a few large ones. */
			scores[k] = dump_rng(&rng) % 8 == 0 ? dump_rng(&rng) % (1ULL << 40) :
				    dump_rng(&rng) % 6;
		}
		snprintf(what, sizeof(what), "%u labels", n);
		size = restore_matches_zincrby(c, &z, labels, off, n, scores, what, enc,
					       sizeof(enc));
		if (size == 0)
			break;
		if (t + 1 == sizeof(sizes) / sizeof(sizes[0]))
			printf("  %u labels (%u distinct, a payload of %zu bytes) "
			       "restored as ZINCRBY makes them, %s\n", n, z.n_members, size, enc);
	}
	CHECK(dump_long_labels(c, &z, &rng) == 0, "long labels: no payload made");
	ds_dump_zset_free(&z);

	/* HyperLogLog: 30000 sources as decimal digits, as the sink adds them. */
	ds_hll_init(hll);
	freeReplyObject(q(c, "DEL test:hll:pfadd test:hll:set"));
	for (uint32_t k = 0; k < 30000; k++) {
		char num[16];
		int len = snprintf(num, sizeof(num), "%u", (uint32_t)dump_rng(&rng));

		ds_hll_add(hll, num, (size_t)len);
		freeReplyObject(q(c, "PFADD test:hll:pfadd %b", num, (size_t)len));
	}
	freeReplyObject(q(c, "SET test:hll:set %b", hll, sizeof(hll)));
	CHECK(q_int(c, "PFCOUNT test:hll:set") == q_int(c, "PFCOUNT test:hll:pfadd"),
	      "HyperLogLog: PFCOUNT %lld, PFADD's %lld", q_int(c, "PFCOUNT test:hll:set"),
	      q_int(c, "PFCOUNT test:hll:pfadd"));
	a = q(c, "GET test:hll:set");
	b = q(c, "GET test:hll:pfadd");
	/* Registers after the 16-byte header (whose cached counts now agree too). */
	CHECK(a != NULL && b != NULL && a->type == REDIS_REPLY_STRING &&
	      b->type == REDIS_REPLY_STRING && a->len == DS_HLL_DENSE_SIZE &&
	      b->len == DS_HLL_DENSE_SIZE && memcmp(a->str, b->str, DS_HLL_DENSE_SIZE) == 0,
	      "HyperLogLog: other bytes than PFADD's");
	printf("  30000 sources: PFCOUNT %lld both ways\n", q_int(c, "PFCOUNT test:hll:set"));
	freeReplyObject(a);
	freeReplyObject(b);
	redisFree(c);
	return 0;
}

/* Longest run of used slots in a struct ds_dump_sums' index, wrapping round. */
static uint32_t
sums_longest_run(const struct ds_dump_sums *s)
{
	uint32_t best = 0, run = 0;

	for (uint32_t i = 0; i < 2 * s->n_slots && best < s->n_slots; i++) {
		run = s->slot[i % s->n_slots] != 0 ? run + 1 : 0;
		best = run > best ? run : best;
	}
	return best;
}

/*
 * The labels the sums index are values a sender chose. 2048 labels aimed at
 * the first 256 of the index's 4096 slots by the unkeyed hash form one run
 * there; keyed with a random seed (ds_dump_sums_set_seed()) the same labels
 * must spread, and every sum must still be right.
 */
static int
case_sums_keyed(void)
{
	static char labels[2048][16];
	uint32_t n = 0, runs[4];
	uint64_t seed = (uint64_t)now_s() * 0x9e3779b97f4a7c15ULL;

	for (uint32_t v = 0; n < 2048; v++) {
		int len = snprintf(labels[n], sizeof(labels[n]), "w%u", v);

		if ((ds_murmur64a(labels[n], (size_t)len, 0) & 4095) < 256)
			n++;
	}
	for (int r = 0; r < 4; r++) {
		struct ds_dump_sums s = {0};
		bool sums_ok = true;

		ds_dump_sums_set_seed(r == 0 ? 0 : seed + (uint64_t)r);
		for (int pass = 0; pass < 2; pass++)
			for (uint32_t i = 0; i < n; i++)
				CHECK(ds_dump_sums_add(&s, labels[i], strlen(labels[i]), i) == 0,
				      "sums: add %s", labels[i]);
		for (uint32_t i = 0; i < s.n; i++)
			sums_ok &= s.sum[i] == 2 * (uint64_t)i;
		runs[r] = sums_longest_run(&s);
		CHECK(s.n == n && s.n_slots == 4096 && sums_ok,
		      "sums: %u labels in %u slots, every sum twice its value: %d", s.n, s.n_slots,
		      sums_ok);
		ds_dump_sums_free(&s);
	}
	ds_dump_sums_set_seed(0);
	printf("  sums index: longest run %u unkeyed, %u %u %u keyed\n", runs[0], runs[1],
	       runs[2], runs[3]);
	CHECK(runs[0] >= 2048, "sums: unkeyed, the aimed labels form one run (%u)", runs[0]);
	CHECK(runs[1] <= 128 && runs[2] <= 128 && runs[3] <= 128,
	      "sums: keyed, the longest runs are short (%u, %u, %u)", runs[1], runs[2], runs[3]);
	return 0;
}

/*
 * An operator may set sanitize-dump-payload yes, which makes RESTORE check a
 * payload deeply (Redis 7 then validates every listpack it loads): the
 * payloads and a whole minute through the sink, again on such a server.
 * main() starts the default server again after this case.
 */
static int
case_sanitized_payloads(void)
{
	redisContext *c;
	redisReply *rep;
	int fail;

	server_stop();
	if (server_start("--sanitize-dump-payload", "yes") < 0 || (c = client()) == NULL)
		return 1;
	rep = q(c, "CONFIG GET sanitize-dump-payload");
	CHECK(rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	      strcmp(rep->element[1]->str, "yes") == 0, "sanitize-dump-payload is not yes");
	freeReplyObject(rep);
	redisFree(c);
	fail = case_dump_formats() | case_big_minute() | case_periods_whole();
	server_stop();
	return fail;
}

static const struct {
	const char *name;
	int (*run)(void);
} cases[] = {
	{ "bad arguments rejected", case_bad_args },
	{ "connect errors: -ENOENT, -ECONNREFUSED", case_connect_errors },
	{ "write and read back every key", case_roundtrip },
	{ "a first write adds exactly the minute to its hour and day", case_first_write },
	{ "writing a minute again changes nothing", case_idempotent },
	{ "rewrite with fewer values deletes the rest", case_rewrite_fewer },
	{ "stale working keys of a failed write are ignored", case_stale_work_keys },
	{ "a minute without feeds writes its counters", case_no_feeds },
	{ "hours and days are the sums of the minutes, in any write order", case_sums_shuffled },
	{ "periods sent whole only while they are the connection's", case_periods_whole },
	{ "a restart inside a minute adds to what the earlier process left", case_restart_join },
	{ "a minute rewritten after it expired is not added twice", case_expired_guard },
	{ "days in rollup_timezone: Asia/Tokyo, UTC, Europe/Berlin", case_timezone },
	{ "HyperLogLogs: unions, rewrites, hll_values", case_hll },
	{ "SELECT db", case_select_db },
	{ "retention 0 and index trimming", case_retention },
	{ "65536 TCP and UDP ports in one minute", case_big_minute },
	{ "zset payloads and HyperLogLogs built as Redis builds them", case_dump_formats },
	{ "sums by label: a keyed index spreads aimed labels", case_sums_keyed },
	{ "the same payloads with sanitize-dump-payload yes", case_sanitized_payloads },
	{ "NOSCRIPT: SCRIPT FLUSH and a restart", case_noscript },
	{ "command timeout is -ETIMEDOUT", case_command_timeout },
	{ "AUTH: password, ACL user, refusals", case_auth },
	{ "writer: outage with WAIT loses nothing", case_writer_outage },
	{ "writer: overflow with DROP_OLDEST keeps the newest", case_writer_overflow },
	{ "writer: WAIT blocks submit while full", case_writer_wait_blocks },
	{ "writer: dropping the minute being written", case_writer_drop_in_flight },
	{ "writer: free() releases a blocked submit", case_writer_free_wakes },
};

int
main(void)
{
	int failed = 0;
	double t0 = now_s();

	setvbuf(stdout, NULL, _IOLBF, 0);
	server_path = find_redis_server();
	if (server_path == NULL) {
		printf("redis-server not found: skipped\n");
		return 77;
	}
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/ds-test-redis-XXXXXX",
		 getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmp_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s/redis.sock", tmp_dir);
	atexit(cleanup);
	if (server_start(NULL, NULL) < 0)
		return 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int before = mismatches;
		int fail;

		case_mismatches = mismatches;
		fail = cases[i].run() || mismatches != before;

		printf("%s: %s\n", fail ? "FAIL" : "ok", cases[i].name);
		failed += fail;
		if (server_pid <= 0 && server_start(NULL, NULL) < 0)
			break;
	}
	printf("%d of %zu cases failed in %.1f s\n", failed, sizeof(cases) / sizeof(cases[0]),
	       now_s() - t0);
	return failed ? 1 : 0;
}
