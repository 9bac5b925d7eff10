/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * One Redis connection that writes one sealed minute per call.
 *
 * The key schema is the contract in docs/SCHEMA.md (P prefix, S sensor,
 * F feed, M minute as YYYYMMDDHHMM):
 *
 *   P:sensors                 set    sensors that have written
 *   P:S:feeds                 set    feeds of S
 *   P:S:F:minutes             zset   M -> Unix time of the minute
 *   P:S:F:M                   hash   packets bytes sources partial sources_sampling
 *   P:S:F:M:DIM               zset   label -> packets     (only when DIM has values)
 *   P:S:F:M:DIM:sources       zset   label -> sources
 *   P:S:F:M:proto:bytes       zset   protocol -> bytes
 *   P:S:M:counters            hash   counter -> value, and partial
 *
 * A write is a single pipelined transaction, sent in one go and then read
 * back reply by reply:
 *
 *   MULTI
 *   UNLINK  every key the minute could have, for every feed   } idempotent: a retry or a
 *   HSET / ZADD ... absolute values, ZADDs in 1000-member chunks } second replay rewrites,
 *   EXPIRE  each written key (retention > 0)                   } never adds up
 *   SADD P:sensors, SADD P:S:feeds, ZADD P:S:F:minutes
 *   ZREMRANGEBYSCORE P:S:F:minutes below (newest minute - retention), EXPIRE of index and sets
 *   EXEC
 *
 * Deleting first is what makes writes idempotent: a value that vanished
 * between two writes of the same minute (a capture replayed with a different
 * configuration) does not survive, and a dimension that became empty has no
 * key, as the schema promises. Inside MULTI/EXEC a reader never sees the
 * minute half deleted or half written.
 *
 * Every command goes through redisAppendCommandArgv with explicit lengths:
 * names and labels are never pasted into a format string. Scores are
 * integers printed with PRIu64; Redis stores them as doubles, exact up to
 * 2^53 (9e15 packets or bytes per minute, far beyond any link).
 *
 * On any failure (connect, AUTH, a reply that is not +OK/+QUEUED, an EXEC
 * entry that is an error, a broken socket) the context is freed and the next
 * call reconnects from scratch: there is no half-known protocol state to
 * recover. The password is kept only to send AUTH; it never appears in
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

#include "ds_redis.h"

/* Shared with ds_redis_writer.c, which does the outage and drop logging. */
extern int ds_redis_logtype;
RTE_LOG_REGISTER(ds_redis_logtype, darkscope.redis, INFO);

/* Members per ZADD (and fields per HSET): keeps each command a few tens of KB. */
#define ZADD_CHUNK 1000
/* Used when the caller leaves a timeout at 0: never block forever on a dead peer. */
#define DEFAULT_CONNECT_TIMEOUT_MS 2000
#define DEFAULT_COMMAND_TIMEOUT_MS 5000

/*
 * The command being built: arguments are appended to one arena and only
 * turned into pointers when the command is sent, because the arena may move
 * while it grows. Kept from write to write: after the first busy minute the
 * buffers are big enough and are only reused.
 */
struct cmd_buf {
	char *arena;
	size_t used;
	size_t cap;
	size_t *off;
	size_t *len;
	const char **argv;
	uint32_t argc;
	uint32_t cap_args;
	bool oom;                   /* latched by any failed allocation until cmd_begin() */
};

struct ds_redis {
	char *host;
	uint16_t port;
	char *unix_socket;          /* NULL: TCP */
	uint32_t db;
	char *username;             /* NULL: AUTH with the password only */
	char *password;             /* NULL: no AUTH; wiped on free */
	char *prefix;
	uint32_t retention_s;
	uint32_t connect_timeout_ms;
	uint32_t command_timeout_ms;
	char endpoint[160];         /* "unix:/run/redis.sock" or "host:port", for messages */

	redisContext *ctx;          /* NULL while disconnected */
	bool have_newest;
	int64_t newest;             /* newest minute written, the index trimming reference */

	struct cmd_buf cmd;
	const char **pending;       /* name of every command in the pipeline, for messages */
	uint32_t n_pending;
	uint32_t cap_pending;
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

/* --- building commands ------------------------------------------------------------------- */

/*
 * Room for one more argument of `bytes` bytes (terminator included). The
 * three per-argument arrays are replaced one at a time, so a failure half
 * way leaves every pointer valid (some arrays merely larger than cap_args).
 */
static bool
cmd_reserve(struct cmd_buf *b, size_t bytes)
{
	if (b->oom)
		return false;
	if (b->argc == b->cap_args) {
		uint32_t cap = b->cap_args ? b->cap_args * 2 : 2 * ZADD_CHUNK + 8;
		size_t *off, *len;
		const char **argv;

		off = realloc(b->off, cap * sizeof(*off));
		if (off == NULL)
			goto oom;
		b->off = off;
		len = realloc(b->len, cap * sizeof(*len));
		if (len == NULL)
			goto oom;
		b->len = len;
		argv = realloc(b->argv, cap * sizeof(*argv));
		if (argv == NULL)
			goto oom;
		b->argv = argv;
		b->cap_args = cap;
	}
	if (b->used + bytes > b->cap) {
		size_t cap = b->cap ? b->cap : 64 * 1024;
		char *arena;

		while (cap < b->used + bytes)
			cap *= 2;
		arena = realloc(b->arena, cap);
		if (arena == NULL)
			goto oom;
		b->arena = arena;
		b->cap = cap;
	}
	return true;
oom:
	b->oom = true;
	return false;
}

static void
cmd_arg(struct cmd_buf *b, const char *s, size_t n)
{
	if (!cmd_reserve(b, n + 1))
		return;
	memcpy(b->arena + b->used, s, n);
	b->arena[b->used + n] = '\0';
	b->off[b->argc] = b->used;
	b->len[b->argc] = n;
	b->argc++;
	b->used += n + 1;
}

static void
cmd_vargf(struct cmd_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || !cmd_reserve(b, (size_t)n + 1)) {
		b->oom = true;
		return;
	}
	vsnprintf(b->arena + b->used, (size_t)n + 1, fmt, ap);
	b->off[b->argc] = b->used;
	b->len[b->argc] = (size_t)n;
	b->argc++;
	b->used += (size_t)n + 1;
}

static void
cmd_argf(struct cmd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
cmd_argf(struct cmd_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cmd_vargf(b, fmt, ap);
	va_end(ap);
}

static void
cmd_u64(struct cmd_buf *b, uint64_t v)
{
	cmd_argf(b, "%" PRIu64, v);
}

/* A value's label ("23", "8/0", "MSS,NOP,WS", "other"), measured first so it is never cut. */
static void
cmd_label(struct cmd_buf *b, const struct ds_rollup *ru, enum ds_dim d, uint32_t value)
{
	int n = ds_rollup_label(ru, d, value, NULL, 0);

	if (n < 0 || !cmd_reserve(b, (size_t)n + 1)) {
		b->oom = true;
		return;
	}
	ds_rollup_label(ru, d, value, b->arena + b->used, (size_t)n + 1);
	b->off[b->argc] = b->used;
	b->len[b->argc] = (size_t)n;
	b->argc++;
	b->used += (size_t)n + 1;
}

static void
cmd_begin(struct ds_redis *r, const char *name)
{
	r->cmd.argc = 0;
	r->cmd.used = 0;
	r->cmd.oom = false;
	cmd_arg(&r->cmd, name, strlen(name));
}

/*
 * Append the command to hiredis' output buffer. Nothing is sent yet: the
 * whole pipeline goes out with the first redisGetReply().
 */
static int
cmd_send(struct ds_redis *r, const char *name)
{
	struct cmd_buf *b = &r->cmd;

	if (!b->oom && r->n_pending == r->cap_pending) {
		uint32_t cap = r->cap_pending ? r->cap_pending * 2 : 256;
		const char **p = realloc(r->pending, cap * sizeof(*p));

		if (p == NULL)
			b->oom = true;
		else {
			r->pending = p;
			r->cap_pending = cap;
		}
	}
	if (b->oom) {
		set_err(r, "%s: out of memory building %s", r->endpoint, name);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < b->argc; i++)
		b->argv[i] = b->arena + b->off[i];
	if (redisAppendCommandArgv(r->ctx, (int)b->argc, b->argv, b->len) != REDIS_OK) {
		set_err(r, "%s: out of memory queueing %s", r->endpoint, name);
		return -ENOMEM;
	}
	r->pending[r->n_pending++] = name;
	return 0;
}

/* EXPIRE key retention, when there is a retention. The key is a format. */
static int
cmd_expire(struct ds_redis *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
cmd_expire(struct ds_redis *r, const char *fmt, ...)
{
	va_list ap;

	if (r->retention_s == 0)
		return 0;
	cmd_begin(r, "EXPIRE");
	va_start(ap, fmt);
	cmd_vargf(&r->cmd, fmt, ap);
	va_end(ap);
	cmd_argf(&r->cmd, "%" PRIu32, r->retention_s);
	return cmd_send(r, "EXPIRE");
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
	int rc = -EIO;

	if (c->err == REDIS_ERR_IO &&
	    (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK || saved_errno == ETIMEDOUT)) {
		set_err(r, "%s: %s: no reply within %" PRIu32 " ms", r->endpoint, what,
			r->command_timeout_ms);
		return -ETIMEDOUT;
	}
	set_err(r, "%s: %s: %s", r->endpoint, what,
		c->errstr[0] != '\0' ? c->errstr : "connection error");
	return rc;
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

static bool
is_status(const redisReply *rep, const char *text)
{
	return rep->type == REDIS_REPLY_STATUS && rep->str != NULL && strcmp(rep->str, text) == 0;
}

/*
 * Check the EXEC reply: an array with one entry per queued command and no
 * error among them (a command can fail at run time, e.g. WRONGTYPE, even
 * though it was queued).
 */
static int
check_exec(struct ds_redis *r, const redisReply *rep, uint32_t queued)
{
	if (rep->type == REDIS_REPLY_ERROR)
		return reply_error(r, "EXEC", rep);
	if (rep->type != REDIS_REPLY_ARRAY) {
		set_err(r, "%s: EXEC: unexpected reply type %d (transaction aborted?)",
			r->endpoint, rep->type);
		return -EIO;
	}
	if (rep->elements != queued) {
		set_err(r, "%s: EXEC: %zu results for %" PRIu32 " commands", r->endpoint,
			rep->elements, queued);
		return -EIO;
	}
	for (size_t i = 0; i < rep->elements; i++) {
		if (rep->element[i]->type == REDIS_REPLY_ERROR)
			return reply_error(r, r->pending[i + 1], rep->element[i]);
	}
	return 0;
}

/*
 * Read one reply per pipelined command. In a transaction the first is
 * MULTI's +OK, the middle ones +QUEUED and the last EXEC's array; outside
 * (AUTH, SELECT) each must be +OK. Stops at the first failure: the caller
 * drops the connection, so unread replies do not matter.
 */
static int
read_replies(struct ds_redis *r, bool transaction)
{
	uint32_t n = r->n_pending;
	int rc = 0;

	for (uint32_t i = 0; i < n && rc == 0; i++) {
		const char *name = r->pending[i];
		redisReply *rep = NULL;
		int saved;

		errno = 0;
		if (redisGetReply(r->ctx, (void **)&rep) != REDIS_OK || rep == NULL) {
			saved = errno;
			return io_error(r, name, saved);
		}
		if (transaction && i == n - 1) {
			rc = check_exec(r, rep, n - 2);
		} else if (rep->type == REDIS_REPLY_ERROR) {
			rc = reply_error(r, name, rep);
		} else if (!is_status(rep, transaction && i > 0 ? "QUEUED" : "OK")) {
			set_err(r, "%s: %s: unexpected reply", r->endpoint, name);
			rc = -EIO;
		}
		freeReplyObject(rep);
	}
	r->n_pending = 0;
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

/* Synchronous one-off command (AUTH, SELECT): expects +OK. */
static int
simple_command(struct ds_redis *r, const char *name)
{
	int rc = cmd_send(r, name);

	if (rc < 0)
		return rc;
	return read_replies(r, false);
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
	r->n_pending = 0;
	/* AUTH user pass (ACL, Redis 6+) only when a user is configured, else AUTH pass. */
	if (r->password != NULL) {
		cmd_begin(r, "AUTH");
		if (r->username != NULL)
			cmd_arg(&r->cmd, r->username, strlen(r->username));
		cmd_arg(&r->cmd, r->password, strlen(r->password));
		rc = simple_command(r, "AUTH");
		/* The arena held the password: do not leave it lying in memory. */
		if (r->cmd.arena != NULL)
			explicit_bzero(r->cmd.arena, r->cmd.used);
		if (rc < 0)
			return rc;
	}
	if (r->db != 0) {
		cmd_begin(r, "SELECT");
		cmd_argf(&r->cmd, "%" PRIu32, r->db);
		rc = simple_command(r, "SELECT");
		if (rc < 0)
			return rc;
	}
	rte_log(RTE_LOG_DEBUG, ds_redis_logtype, "darkscope.redis: connected to %s\n",
		r->endpoint);
	return 0;
}

/* --- the minute -------------------------------------------------------------------------- */

/*
 * ZADD key score label ... for one dimension, in chunks, then EXPIRE. `what`
 * picks the score: packets, sources or bytes.
 */
enum score_of { SCORE_PACKETS, SCORE_SOURCES, SCORE_BYTES };

static int
queue_zset(struct ds_redis *r, const struct ds_rollup *ru, enum ds_dim d,
	   const struct ds_rollup_dim *dim, const char *key, enum score_of what)
{
	int rc;

	for (uint32_t i = 0; i < dim->n;) {
		cmd_begin(r, "ZADD");
		cmd_arg(&r->cmd, key, strlen(key));
		for (uint32_t j = 0; j < ZADD_CHUNK && i < dim->n; j++, i++) {
			const struct ds_rollup_entry *e = &dim->entries[i];

			cmd_u64(&r->cmd, what == SCORE_PACKETS ? e->packets :
					 what == SCORE_SOURCES ? e->sources : e->bytes);
			cmd_label(&r->cmd, ru, d, e->value);
		}
		rc = cmd_send(r, "ZADD");
		if (rc < 0)
			return rc;
	}
	return cmd_expire(r, "%s", key);
}

static int
queue_feed(struct ds_redis *r, const struct ds_rollup *ru, const struct ds_rollup_feed *f,
	   const char *mkey)
{
	char *base = NULL, *key = NULL;
	int rc = -ENOMEM;

	if (asprintf(&base, "%s:%s:%s:%s", r->prefix, ru->sensor, f->name, mkey) < 0) {
		base = NULL;
		goto nomem;
	}

	/* Every key this feed-minute could have, whether or not it has it now. */
	cmd_begin(r, "UNLINK");
	cmd_arg(&r->cmd, base, strlen(base));
	for (int d = 0; d < DS_DIM_MAX; d++) {
		cmd_argf(&r->cmd, "%s:%s", base, ds_dim_name((enum ds_dim)d));
		cmd_argf(&r->cmd, "%s:%s:sources", base, ds_dim_name((enum ds_dim)d));
	}
	cmd_argf(&r->cmd, "%s:proto:bytes", base);
	rc = cmd_send(r, "UNLINK");
	if (rc < 0)
		goto out;

	cmd_begin(r, "HSET");
	cmd_arg(&r->cmd, base, strlen(base));
	cmd_arg(&r->cmd, "packets", 7);
	cmd_u64(&r->cmd, f->packets);
	cmd_arg(&r->cmd, "bytes", 5);
	cmd_u64(&r->cmd, f->bytes);
	cmd_arg(&r->cmd, "sources", 7);
	cmd_u64(&r->cmd, f->sources);
	cmd_arg(&r->cmd, "partial", 7);
	cmd_arg(&r->cmd, ru->partial ? "1" : "0", 1);
	cmd_arg(&r->cmd, "sources_sampling", 16);
	cmd_u64(&r->cmd, ru->sources_sampling);
	if (ru->signatures_version != NULL) {
		cmd_arg(&r->cmd, "signatures_version", 18);
		cmd_arg(&r->cmd, ru->signatures_version, strlen(ru->signatures_version));
	}
	rc = cmd_send(r, "HSET");
	if (rc == 0)
		rc = cmd_expire(r, "%s", base);
	if (rc < 0)
		goto out;

	/* A dimension without values gets no key at all (it was deleted above). */
	for (int d = 0; d < DS_DIM_MAX; d++) {
		const struct ds_rollup_dim *dim = &f->dims[d];
		const char *name = ds_dim_name((enum ds_dim)d);

		if (dim->n == 0)
			continue;
		free(key);
		if (asprintf(&key, "%s:%s", base, name) < 0) {
			key = NULL;
			goto nomem;
		}
		rc = queue_zset(r, ru, (enum ds_dim)d, dim, key, SCORE_PACKETS);
		if (rc < 0)
			goto out;
		free(key);
		if (asprintf(&key, "%s:%s:sources", base, name) < 0) {
			key = NULL;
			goto nomem;
		}
		rc = queue_zset(r, ru, (enum ds_dim)d, dim, key, SCORE_SOURCES);
		if (rc < 0)
			goto out;
		if (d != DS_DIM_PROTO)
			continue;
		free(key);
		if (asprintf(&key, "%s:proto:bytes", base) < 0) {
			key = NULL;
			goto nomem;
		}
		rc = queue_zset(r, ru, (enum ds_dim)d, dim, key, SCORE_BYTES);
		if (rc < 0)
			goto out;
	}
	rc = 0;
	goto out;
nomem:
	set_err(r, "%s: out of memory", r->endpoint);
	rc = -ENOMEM;
out:
	free(key);
	free(base);
	return rc;
}

/* The sensor-wide counters hash: `partial` first, then the counters in the rollup's order. */
static int
queue_counters(struct ds_redis *r, const struct ds_rollup *ru, const char *mkey)
{
	uint32_t i = 0;
	int rc;

	do {
		cmd_begin(r, "HSET");
		cmd_argf(&r->cmd, "%s:%s:%s:counters", r->prefix, ru->sensor, mkey);
		if (i == 0) {
			cmd_arg(&r->cmd, "partial", 7);
			cmd_arg(&r->cmd, ru->partial ? "1" : "0", 1);
		}
		for (uint32_t j = 0; j < ZADD_CHUNK && i < ru->n_counters; j++, i++) {
			const struct ds_rollup_counter *c = &ru->counters[i];

			cmd_arg(&r->cmd, c->name, strnlen(c->name, sizeof(c->name)));
			cmd_u64(&r->cmd, c->value);
		}
		rc = cmd_send(r, "HSET");
		if (rc < 0)
			return rc;
	} while (i < ru->n_counters);
	return cmd_expire(r, "%s:%s:%s:counters", r->prefix, ru->sensor, mkey);
}

/*
 * The indexes: sets of sensors and feeds, and per feed the zset of minutes.
 * The zset is trimmed below the newest minute this connection has written
 * minus the retention, so a backfill of old captures keeps its index as long
 * as its keys live, and the sets and index expire once the sensor stops.
 */
static int
queue_index(struct ds_redis *r, const struct ds_rollup *ru, const char *mkey, int64_t newest)
{
	int64_t cutoff = newest * 60 - (int64_t)r->retention_s;
	int rc;

	cmd_begin(r, "SADD");
	cmd_argf(&r->cmd, "%s:sensors", r->prefix);
	cmd_arg(&r->cmd, ru->sensor, strlen(ru->sensor));
	rc = cmd_send(r, "SADD");
	if (rc == 0)
		rc = cmd_expire(r, "%s:sensors", r->prefix);
	if (rc < 0 || ru->n_feeds == 0)
		return rc;

	cmd_begin(r, "SADD");
	cmd_argf(&r->cmd, "%s:%s:feeds", r->prefix, ru->sensor);
	for (uint32_t i = 0; i < ru->n_feeds; i++)
		cmd_arg(&r->cmd, ru->feeds[i].name, strlen(ru->feeds[i].name));
	rc = cmd_send(r, "SADD");
	if (rc == 0)
		rc = cmd_expire(r, "%s:%s:feeds", r->prefix, ru->sensor);
	if (rc < 0)
		return rc;

	for (uint32_t i = 0; i < ru->n_feeds; i++) {
		const char *feed = ru->feeds[i].name;

		cmd_begin(r, "ZADD");
		cmd_argf(&r->cmd, "%s:%s:%s:minutes", r->prefix, ru->sensor, feed);
		cmd_argf(&r->cmd, "%" PRId64, ru->minute * 60);
		cmd_arg(&r->cmd, mkey, strlen(mkey));
		rc = cmd_send(r, "ZADD");
		if (rc < 0)
			return rc;
		if (r->retention_s == 0)
			continue;
		/* "(" makes the bound exclusive: the minute exactly retention old stays. */
		cmd_begin(r, "ZREMRANGEBYSCORE");
		cmd_argf(&r->cmd, "%s:%s:%s:minutes", r->prefix, ru->sensor, feed);
		cmd_arg(&r->cmd, "-inf", 4);
		cmd_argf(&r->cmd, "(%" PRId64, cutoff);
		rc = cmd_send(r, "ZREMRANGEBYSCORE");
		if (rc == 0)
			rc = cmd_expire(r, "%s:%s:%s:minutes", r->prefix, ru->sensor, feed);
		if (rc < 0)
			return rc;
	}
	return rc;
}

/*
 * Distinct sources over hours and days: each source set of the minute is
 * added to a HyperLogLog of its hour and of its (UTC) day, and its label to
 * the set listing the labels of that hour or day. PFADD and SADD add the
 * same elements again when a minute is rewritten, so these stay idempotent
 * like the rest; they cannot forget sources a rewrite no longer has.
 */
static int
queue_srcsets(struct ds_redis *r, const struct ds_rollup *ru)
{
	char hour[16], day[16], mkey[32], label[512];
	int rc = 0;

	ds_minute_key(ru->minute, mkey, sizeof(mkey));
	snprintf(hour, sizeof(hour), "%.10s", mkey);
	snprintf(day, sizeof(day), "%.8s", mkey);
	for (uint32_t i = 0; i < ru->n_srcsets && rc == 0; i++) {
		const struct ds_rollup_srcset *set = &ru->srcsets[i];
		const char *feed = ru->feeds[set->feed].name;
		const char *dim = ds_dim_name((enum ds_dim)set->dim);
		const char *per[2][2] = {{"h", hour}, {"d", day}};

		ds_rollup_label(ru, (enum ds_dim)set->dim, set->value, label, sizeof(label));
		for (int p = 0; p < 2 && rc == 0; p++) {
			for (uint32_t k = 0; k < set->n && rc == 0;) {
				cmd_begin(r, "PFADD");
				cmd_argf(&r->cmd, "%s:%s:%s:%s:%s:%s:%s", r->prefix, ru->sensor, feed,
					 per[p][0], per[p][1], dim, label);
				for (uint32_t j = 0; j < ZADD_CHUNK && k < set->n; j++, k++)
					cmd_u64(&r->cmd, set->src[k]);
				rc = cmd_send(r, "PFADD");
			}
			if (rc == 0)
				rc = cmd_expire(r, "%s:%s:%s:%s:%s:%s:%s", r->prefix, ru->sensor, feed,
						per[p][0], per[p][1], dim, label);
			if (rc != 0)
				break;
			cmd_begin(r, "SADD");
			cmd_argf(&r->cmd, "%s:%s:%s:%s:%s:%s", r->prefix, ru->sensor, feed,
				 per[p][0], per[p][1], dim);
			cmd_arg(&r->cmd, label, strlen(label));
			rc = cmd_send(r, "SADD");
			if (rc == 0)
				rc = cmd_expire(r, "%s:%s:%s:%s:%s:%s", r->prefix, ru->sensor, feed,
						per[p][0], per[p][1], dim);
		}
	}
	return rc;
}

static int
queue_minute(struct ds_redis *r, const struct ds_rollup *ru, int64_t newest)
{
	char mkey[32];
	int rc;

	ds_minute_key(ru->minute, mkey, sizeof(mkey));
	r->n_pending = 0;
	cmd_begin(r, "MULTI");
	rc = cmd_send(r, "MULTI");
	if (rc < 0)
		return rc;

	/* UNLINK rather than DEL: a 65536-member zset is freed off Redis' main thread. */
	cmd_begin(r, "UNLINK");
	cmd_argf(&r->cmd, "%s:%s:%s:counters", r->prefix, ru->sensor, mkey);
	rc = cmd_send(r, "UNLINK");
	for (uint32_t i = 0; rc == 0 && i < ru->n_feeds; i++)
		rc = queue_feed(r, ru, &ru->feeds[i], mkey);
	if (rc == 0)
		rc = queue_counters(r, ru, mkey);
	if (rc == 0)
		rc = queue_srcsets(r, ru);
	if (rc == 0)
		rc = queue_index(r, ru, mkey, newest);
	if (rc < 0)
		return rc;
	cmd_begin(r, "EXEC");
	return cmd_send(r, "EXEC");
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

int
ds_redis_write(struct ds_redis *r, const struct ds_rollup *ru)
{
	struct sigpipe_guard guard;
	int64_t newest;
	int rc;

	if (r == NULL || ru == NULL || ru->sensor == NULL)
		return -EINVAL;
	sigpipe_block(&guard);
	r->errstr[0] = '\0';
	if (r->ctx == NULL) {
		rc = redis_connect(r);
		if (rc < 0)
			goto out;
	}
	/*
	 * Trim against the newest minute ever written, not this one: a backfill
	 * of an older minute must not drop newer entries from the index.
	 */
	newest = r->have_newest && r->newest > ru->minute ? r->newest : ru->minute;
	rc = queue_minute(r, ru, newest);
	if (rc == 0)
		rc = read_replies(r, true);
	/* Only a committed transaction moves the trimming reference. */
	if (rc == 0) {
		r->have_newest = true;
		r->newest = newest;
	}
out:
	/* Whatever failed, start over with a fresh connection next time. */
	if (rc < 0 && r->ctx != NULL) {
		redisFree(r->ctx);
		r->ctx = NULL;
	}
	sigpipe_restore(&guard);
	return rc;
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

struct ds_redis *
ds_redis_create(const struct ds_redis_opts *opts)
{
	struct ds_redis *r;
	bool unix_sock;

	if (opts == NULL || opts->key_prefix == NULL || opts->key_prefix[0] == '\0') {
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
	if (r->ctx != NULL)
		redisFree(r->ctx);
	if (r->password != NULL) {
		/* explicit_bzero, unlike memset before free, is not optimised away. */
		explicit_bzero(r->password, strlen(r->password));
		free(r->password);
	}
	free(r->username);
	free(r->prefix);
	free(r->host);
	free(r->unix_socket);
	free(r->cmd.arena);
	free(r->cmd.off);
	free(r->cmd.len);
	free(r->cmd.argv);
	free(r->pending);
	free(r);
}
