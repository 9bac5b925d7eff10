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
 * DEL, a doubled value or a missing EXPIRE shows up as a mismatch. The
 * writer cases also compare the whole database after a writer run with the
 * database after direct writes of the same minutes.
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

static void
mismatch(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Count a failed check; print only the first few so a broken build does not flood the log. */
static void
mismatch(const char *fmt, ...)
{
	va_list ap;

	if (mismatches++ >= 10)
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

/*
 * A minute with two feeds: "darknet" busy (an `other` port, an ICMP type,
 * SYN layouts with a label, "none" and `other`), "quiet" with nothing.
 * Values vary with the minute so that minutes are told apart. Variant 1 is
 * the same minute with fewer values: ports gone, UDP and ICMP empty.
 */
static struct ds_rollup *
make_rollup(int64_t minute, int variant)
{
	static const char *const feeds[] = { "darknet", "quiet" };
	struct ds_rollup *r = ds_rollup_create(SENSOR, minute, 2, feeds);
	uint64_t k = (uint64_t)(minute % 13);
	struct ds_rollup_feed *f;
	uint32_t mss, none;

	if (r == NULL)
		abort();
	mss = (uint32_t)ds_rollup_layout_add(r, "MSS,NOP,WS,NOP,NOP,SACK");
	none = (uint32_t)ds_rollup_layout_add(r, "none");
	r->partial = variant == 0;
	r->sources_sampling = variant == 0 ? 1 : 0;
	f = &r->feeds[0];
	f->packets = 123 + k;
	f->bytes = 8180 + 60 * k;
	f->sources = 52;
	{
		const struct val proto[] = { { 6, 100 + k, 6000 + 60 * k, 40 },
					     { 17, 20, 2000, 10 }, { 1, 3, 180, 2 } };
		const struct val tcp[] = { { 23, 60 + k, 0, 30 }, { 445, 25, 0, 12 },
					   { 22, 10, 0, 5 }, { DS_ROLLUP_OTHER, 5, 0, 2 } };
		const struct val tcp1[] = { { 23, 60 + k, 0, 30 }, { DS_ROLLUP_OTHER, 5, 0, 2 } };
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
		} else {
			set_dim(&f->dims[DS_DIM_TCP_DST_PORT], tcp1, 2);
		}
		set_dim(&f->dims[DS_DIM_TCP_SYN_WINDOW], win, 2);
		set_dim(&f->dims[DS_DIM_TCP_SYN_OPTIONS], opt, 3);
	}
	if (ds_rollup_counter_add(r, "rx_packets", 200 + k) < 0 ||
	    ds_rollup_counter_add(r, "outside", 77) < 0 ||
	    ds_rollup_counter_add(r, "malformed.tcp_doff", variant) < 0 ||
	    ds_rollup_counter_add(r, "redis.dropped_total", 0) < 0)
		abort();
	return r;
}

/* Every TCP and every UDP port in one minute. */
static struct ds_rollup *
make_big_rollup(int64_t minute)
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
			dim->entries[i].packets = i % 1000 + 1 + (uint64_t)d;
			dim->entries[i].sources = i % 37 + 1;
			f->packets += dim->entries[i].packets;
		}
		ds_rollup_dim_sort(dim);
	}
	f->bytes = f->packets * 60;
	f->sources = 65536;
	return r;
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

/* How many keys a written minute owns, plus the three shared index keys per feed set. */
static long long
expected_keys(const struct ds_rollup *ru)
{
	long long n = 3; /* P:sensors, P:S:feeds, P:S:M:counters */

	for (uint32_t i = 0; i < ru->n_feeds; i++) {
		n += 2; /* summary hash, minutes index */
		for (int d = 0; d < DS_DIM_MAX; d++)
			if (ru->feeds[i].dims[d].n > 0)
				n += d == DS_DIM_PROTO ? 3 : 2;
	}
	return n;
}

/*
 * Compare everything Redis holds for one minute with the rollup: summary,
 * every dimension (present or absent), counters, index and sets, TTLs.
 */
static void
check_minute(redisContext *c, const char *prefix, const struct ds_rollup *ru, uint32_t retention)
{
	char mkey[32], key[512];

	ds_minute_key(ru->minute, mkey, sizeof(mkey));
	for (uint32_t i = 0; i < ru->n_feeds; i++) {
		const struct ds_rollup_feed *f = &ru->feeds[i];
		static const char *const fields[] = {
			"packets", "bytes", "sources", "partial", "sources_sampling",
		};
		const uint64_t values[] = {
			f->packets, f->bytes, f->sources, ru->partial, ru->sources_sampling,
		};
		redisReply *rep;

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
		snprintf(key, sizeof(key), "%s:%s:%s:minutes", prefix, ru->sensor, f->name);
		rep = q(c, "ZSCORE %s %s", key, mkey);
		CHECK(rep != NULL && rep->type == REDIS_REPLY_STRING &&
		      strtoll(rep->str, NULL, 10) == ru->minute * 60,
		      "%s: %s has score %s, expected %" PRId64, key, mkey,
		      rep != NULL && rep->str != NULL ? rep->str : "nil", ru->minute * 60);
		if (rep != NULL)
			freeReplyObject(rep);
		check_ttl(c, key, retention);
		snprintf(key, sizeof(key), "%s:%s:feeds", prefix, ru->sensor);
		CHECK(q_int(c, "SISMEMBER %s %s", key, f->name) == 1, "%s lacks %s", key, f->name);
	}
	snprintf(key, sizeof(key), "%s:%s:feeds", prefix, ru->sensor);
	check_ttl(c, key, retention);
	snprintf(key, sizeof(key), "%s:sensors", prefix);
	CHECK(q_int(c, "SISMEMBER %s %s", key, ru->sensor) == 1, "%s lacks %s", key, ru->sensor);
	check_ttl(c, key, retention);
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
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The whole database as text: every key (SCAN), its type, whether it
 * expires, and its content in a canonical order. Two snapshots are equal
 * exactly when the databases hold the same data.
 */
static char *
snapshot(redisContext *c)
{
	struct sb out = { 0 };
	char **keys = NULL;
	size_t n = 0, cap = 0;
	char cursor[32] = "0";

	do {
		redisReply *rep = q(c, "SCAN %s COUNT 1000", cursor);

		if (rep == NULL || rep->type != REDIS_REPLY_ARRAY || rep->elements != 2)
			abort();
		snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
		for (size_t i = 0; i < rep->element[1]->elements; i++) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				keys = realloc(keys, cap * sizeof(*keys));
				if (keys == NULL)
					abort();
			}
			keys[n++] = strdup(rep->element[1]->element[i]->str);
		}
		freeReplyObject(rep);
	} while (strcmp(cursor, "0") != 0);
	if (n > 1)
		qsort(keys, n, sizeof(*keys), str_cmp);
	sb_printf(&out, "%zu keys\n", n);
	for (size_t i = 0; i < n; i++) {
		redisReply *type = q(c, "TYPE %s", keys[i]);
		redisReply *rep = NULL;
		long long ttl = q_int(c, "TTL %s", keys[i]);

		if (type == NULL)
			abort();
		sb_printf(&out, "%s %s %s:", keys[i], type->str, ttl > 0 ? "expires" : "persists");
		if (strcmp(type->str, "hash") == 0)
			rep = q(c, "HGETALL %s", keys[i]);
		else if (strcmp(type->str, "zset") == 0)
			rep = q(c, "ZRANGE %s 0 -1 WITHSCORES", keys[i]);
		else if (strcmp(type->str, "set") == 0)
			rep = q(c, "SMEMBERS %s", keys[i]);
		else if (strcmp(type->str, "string") == 0)
			rep = q(c, "GET %s", keys[i]);
		if (rep != NULL && rep->type == REDIS_REPLY_ARRAY) {
			/* Hash fields and set members come in no particular order: sort them. */
			size_t step = strcmp(type->str, "hash") == 0 ? 2 : 1;
			size_t m = rep->elements / step;
			char **items = calloc(m ? m : 1, sizeof(*items));

			for (size_t j = 0; j < m; j++) {
				if (step == 2) {
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
				sb_printf(&out, " %s", items[j]);
				free(items[j]);
			}
			free(items);
		} else if (rep != NULL && rep->type == REDIS_REPLY_STRING) {
			sb_printf(&out, " %s", rep->str);
		}
		sb_printf(&out, "\n");
		if (rep != NULL)
			freeReplyObject(rep);
		freeReplyObject(type);
		free(keys[i]);
	}
	free(keys);
	return out.p;
}

/* Print where two snapshots start to differ. */
static void
snapshot_diff(const char *what, const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] != '\0' && a[i] == b[i])
		i++;
	mismatch("%s: snapshots differ at byte %zu: \"%.80s\" vs \"%.80s\"", what, i, a + i, b + i);
}

/* --- options ----------------------------------------------------------------------------- */

static struct ds_redis_opts
redis_opts(const char *prefix, uint32_t retention)
{
	struct ds_redis_opts o = {
		.unix_socket = sock_path,
		.key_prefix = prefix,
		.retention_s = retention,
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

	r = ds_redis_create(&wo.redis);
	CHECK(r != NULL, "valid opts rejected");
	CHECK(ds_redis_write(r, NULL) == -EINVAL, "write(NULL rollup)");
	CHECK(ds_redis_write(NULL, NULL) == -EINVAL, "write(NULL)");
	CHECK(strcmp(ds_redis_errstr(NULL), "") == 0, "errstr(NULL)");
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
	redisContext *c;
	redisReply *rep;

	if (flushall() < 0 || direct_write(&o, ru) < 0 || (c = client()) == NULL) {
		ds_rollup_free(ru);
		return 1;
	}
	check_minute(c, PREFIX, ru, RETENTION);
	/* Nothing else was written: no stray key, exact set contents. */
	CHECK(q_int(c, "DBSIZE") == expected_keys(ru), "DBSIZE %lld, expected %lld",
	      q_int(c, "DBSIZE"), expected_keys(ru));
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
	before = snapshot(c);
	rc = ds_redis_write(r, ru);
	CHECK(rc == 0, "second write: %d (%s)", rc, ds_redis_errstr(r));
	/* And once more on a new connection, as a second replay would. */
	CHECK(direct_write(&o, ru) == 0, "third write");
	after = snapshot(c);
	if (strcmp(before, after) != 0)
		snapshot_diff("write twice", before, after);
	check_minute(c, PREFIX, ru, RETENTION);
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
	redisContext *c;

	if (flushall() < 0 || direct_write(&o, full) < 0 || direct_write(&o, fewer) < 0 ||
	    (c = client()) == NULL) {
		ds_rollup_free(full);
		ds_rollup_free(fewer);
		return 1;
	}
	check_minute(c, PREFIX, fewer, RETENTION);
	CHECK(q_int(c, "DBSIZE") == expected_keys(fewer), "DBSIZE %lld, expected %lld",
	      q_int(c, "DBSIZE"), expected_keys(fewer));
	CHECK(q_int(c, "ZCARD ds:tokyo-1:darknet:201803292015:tcp_dst_port") == 2,
	      "vanished ports still present");
	CHECK(q_int(c, "EXISTS ds:tokyo-1:darknet:201803292015:udp_dst_port "
		    "ds:tokyo-1:darknet:201803292015:udp_dst_port:sources "
		    "ds:tokyo-1:darknet:201803292015:icmp") == 0, "emptied dimensions kept keys");
	redisFree(c);
	ds_rollup_free(full);
	ds_rollup_free(fewer);
	return 0;
}

/* The same minute through SELECT 2 ends up in database 2 only. */
static int
case_select_db(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = make_rollup(MINUTE0, 0);
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
	CHECK(q_int(c, "DBSIZE") == expected_keys(ru), "database 2: DBSIZE %lld, expected %lld",
	      q_int(c, "DBSIZE"), expected_keys(ru));
	redisFree(c);
	ds_rollup_free(ru);
	return 0;
}

static int
case_retention(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, 0);
	struct ds_rollup *ru = make_rollup(MINUTE0, 0);
	struct ds_redis *r;
	redisContext *c;
	redisReply *rep;
	char *snap;

	if (flushall() < 0 || direct_write(&o, ru) < 0 || (c = client()) == NULL) {
		ds_rollup_free(ru);
		return 1;
	}
	/* retention 0: check_minute wants TTL -1 everywhere, and no key may expire. */
	check_minute(c, PREFIX, ru, 0);
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
	rep = q(c, "ZRANGE ds:tokyo-1:darknet:minutes 0 -1");
	CHECK(rep != NULL && rep->type == REDIS_REPLY_ARRAY && rep->elements == 3 &&
	      strcmp(rep->element[0]->str, "201803292014") == 0 &&
	      strcmp(rep->element[1]->str, "201803292015") == 0 &&
	      strcmp(rep->element[2]->str, "201803292016") == 0,
	      "index after trimming is not 2014..2016 (%zu entries)",
	      rep != NULL ? rep->elements : 0);
	freeReplyObject(rep);
	CHECK(q_int(c, "EXISTS ds:tokyo-1:darknet:201803292003") == 1, "backfilled minute missing");
	CHECK(q_int(c, "ZCARD ds:tokyo-1:quiet:minutes") == 3, "quiet index not trimmed");
	redisFree(c);
	ds_redis_free(r);
	return 0;
}

static int
case_big_minute(void)
{
	struct ds_redis_opts o = redis_opts(PREFIX, RETENTION);
	struct ds_rollup *ru = make_big_rollup(MINUTE0);
	redisContext *c;
	double t0 = now_s(), t1;

	if (flushall() < 0 || direct_write(&o, ru) < 0 || (c = client()) == NULL) {
		ds_rollup_free(ru);
		return 1;
	}
	t1 = now_s();
	CHECK(q_int(c, "ZCARD ds:tokyo-1:darknet:201803292013:tcp_dst_port") == 65536,
	      "not every TCP port written");
	CHECK(q_int(c, "ZCARD ds:tokyo-1:darknet:201803292013:udp_dst_port:sources") == 65536,
	      "not every UDP port written");
	check_minute(c, PREFIX, ru, RETENTION);
	printf("  131072 values written in %.2f s\n", t1 - t0);
	redisFree(c);
	ds_rollup_free(ru);
	return 0;
}

#define PASSWORD "s3cret-Pw-8841"
#define WRONG_PASSWORD "wr0ng-Pw-5523"
#define USER_PASSWORD "us3r-Pw-1907"

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
		if (i == 9) {
			/* Shared: P:sensors, P:S:feeds, one index per feed; the rest per minute. */
			long long shared = 2 + ru->n_feeds;
			long long want = shared + 3 * (expected_keys(ru) - shared);

			CHECK(q_int(c, "DBSIZE") == want, "DBSIZE %lld, expected %lld",
			      q_int(c, "DBSIZE"), want);
		}
		ds_rollup_free(ru);
	}
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

static const struct {
	const char *name;
	int (*run)(void);
} cases[] = {
	{ "bad arguments rejected", case_bad_args },
	{ "connect errors: -ENOENT, -ECONNREFUSED", case_connect_errors },
	{ "write and read back every key", case_roundtrip },
	{ "writing a minute again changes nothing", case_idempotent },
	{ "rewrite with fewer values deletes the rest", case_rewrite_fewer },
	{ "SELECT db", case_select_db },
	{ "retention 0 and index trimming", case_retention },
	{ "65536 TCP and UDP ports in one minute", case_big_minute },
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
		int fail = cases[i].run() || mismatches != before;

		printf("%s: %s\n", fail ? "FAIL" : "ok", cases[i].name);
		failed += fail;
		if (server_pid <= 0 && server_start(NULL, NULL) < 0)
			break;
	}
	printf("%d of %zu cases failed in %.1f s\n", failed, sizeof(cases) / sizeof(cases[0]),
	       now_s() - t0);
	return failed ? 1 : 0;
}
