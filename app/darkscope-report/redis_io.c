/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Redis for darkscope-report: the connection and pipelined batches.
 *
 * The URL forms are the sensor's (docs/CONFIG.md, `--redis`): the report
 * reads what a sensor wrote, so the same string must reach the same server.
 *
 * A batch is the unit of pipelining. hiredis formats every appended command
 * into its output buffer; the first redisGetReply() writes the whole buffer
 * and then the replies are read one by one. Redis answers commands in
 * order and keeps replies it cannot send yet in memory, so sending
 * thousands of commands before reading is safe. To keep that buffer and the
 * reply memory bounded, ds_report_batch_end() flushes and collects the
 * replies every BATCH_CHUNK commands on its own; callers only ever see
 * "append, append, ..., run, read replies by index".
 */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "redis_io.h"

#define CONNECT_TIMEOUT_S 5
/* A ZUNION of a quarter of hour keys can take a while on a busy server. */
#define COMMAND_TIMEOUT_S 120
#define BATCH_CHUNK 2048

static bool
parse_uint(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 6)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Parses like the sensor's ds_config_set_redis_url(). */
static int
parse_url(const char *url, char *sock, size_t socklen, char *host, size_t hostlen,
	  unsigned long *port, unsigned long *db)
{
	const char *s, *end, *colon;
	size_t i;

	*port = 6379;
	*db = 0;
	sock[0] = host[0] = '\0';
	if (strncmp(url, "unix:", 5) == 0) {
		const char *qm = strchr(url + 5, '?');
		size_t plen = qm != NULL ? (size_t)(qm - url - 5) : strlen(url + 5);

		if (plen == 0 || plen >= socklen)
			return -EINVAL;
		if (qm != NULL && (strncmp(qm, "?db=", 4) != 0 ||
				   !parse_uint(qm + 4, strlen(qm + 4), 65535, db)))
			return -EINVAL;
		memcpy(sock, url + 5, plen);
		sock[plen] = '\0';
		return 0;
	}
	bool is_url = strncmp(url, "redis://", 8) == 0;

	s = is_url ? url + 8 : url;
	end = s + strcspn(s, "/");
	if (*end == '/' && (!is_url || !parse_uint(end + 1, strlen(end + 1), 65535, db)))
		return -EINVAL;
	if (*s == '[') {
		const char *rb = memchr(s, ']', (size_t)(end - s));

		if (rb == NULL || rb == s + 1 || (size_t)(rb - s - 1) >= hostlen)
			return -EINVAL;
		colon = rb + 1 < end ? rb + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return -EINVAL;
		memcpy(host, s + 1, (size_t)(rb - s - 1));
		host[rb - s - 1] = '\0';
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		/* An IPv6 address needs brackets. */
		if (colon == s || (colon != NULL && memchr(colon + 1, ':',
							   (size_t)(end - colon - 1))))
			return -EINVAL;
		i = colon != NULL ? (size_t)(colon - s) : (size_t)(end - s);
		if (i == 0 || i >= hostlen)
			return -EINVAL;
		memcpy(host, s, i);
		host[i] = '\0';
	}
	/* The bare form needs its port: "localhost" alone is more likely a typo. */
	if (colon == NULL && !is_url)
		return -EINVAL;
	if (colon != NULL && (!parse_uint(colon + 1, (size_t)(end - colon - 1), 65535, port) ||
			      *port == 0))
		return -EINVAL;
	/* Credentials in a URL would show in ps(1): refuse them. */
	for (i = 0; host[i] != '\0'; i++)
		if ((unsigned char)host[i] <= 0x20 || host[i] == '@' || host[i] == 0x7f)
			return -EINVAL;
	return 0;
}

redisContext *
ds_report_redis_connect(const char *url, const char *username, const char *password,
			char *err, size_t errlen)
{
	struct timeval ct = { CONNECT_TIMEOUT_S, 0 }, rt = { COMMAND_TIMEOUT_S, 0 };
	char sock[256], host[256], endpoint[300];
	unsigned long port, db;
	redisContext *c;
	redisReply *rep;

	if (parse_url(url, sock, sizeof(sock), host, sizeof(host), &port, &db) != 0) {
		snprintf(err, errlen, "--redis '%s': expected unix:/path[?db=N], "
			 "redis://host[:port][/db] or host:port", url);
		errno = EINVAL;
		return NULL;
	}
	if (sock[0] != '\0') {
		snprintf(endpoint, sizeof(endpoint), "unix:%s", sock);
		c = redisConnectUnixWithTimeout(sock, ct);
	} else {
		snprintf(endpoint, sizeof(endpoint), "%s:%lu", host, port);
		c = redisConnectWithTimeout(host, (int)port, ct);
	}
	if (c == NULL) {
		snprintf(err, errlen, "Redis at %s: out of memory", endpoint);
		errno = ENOMEM;
		return NULL;
	}
	if (c->err) {
		snprintf(err, errlen, "cannot connect to Redis at %s: %s", endpoint, c->errstr);
		redisFree(c);
		errno = ECONNREFUSED;
		return NULL;
	}
	/* Without a reply timeout a stalled server would hang the report forever. */
	if (redisSetTimeout(c, rt) != REDIS_OK)
		goto fail;
	if (password != NULL) {
		rep = username != NULL ? redisCommand(c, "AUTH %s %s", username, password) :
					 redisCommand(c, "AUTH %s", password);
		if (rep == NULL)
			goto fail;
		/* The server's own words ("WRONGPASS ...") never echo the password. */
		if (rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "Redis at %s: AUTH: %s", endpoint, rep->str);
			freeReplyObject(rep);
			redisFree(c);
			errno = EACCES;
			return NULL;
		}
		freeReplyObject(rep);
	}
	/* PING first: a server that wants AUTH says so here, in one clear line. */
	rep = db != 0 ? redisCommand(c, "SELECT %lu", db) : redisCommand(c, "PING");
	if (rep == NULL)
		goto fail;
	if (rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "Redis at %s: %s", endpoint, rep->str);
		freeReplyObject(rep);
		redisFree(c);
		errno = EIO;
		return NULL;
	}
	freeReplyObject(rep);
	return c;
fail:
	snprintf(err, errlen, "Redis at %s: %s", endpoint, c->err ? c->errstr : "no reply");
	redisFree(c);
	errno = EIO;
	return NULL;
}

void
ds_report_batch_init(struct ds_report_batch *b, redisContext *c)
{
	memset(b, 0, sizeof(*b));
	b->c = c;
}

/* Remember the first failure; the caller learns of it at run time. */
static void
batch_fail(struct ds_report_batch *b, int err, const char *what)
{
	if (b->err == 0) {
		b->err = err;
		snprintf(b->errstr, sizeof(b->errstr), "%s", what);
	}
}

static void
free_args(struct ds_report_batch *b)
{
	size_t i;

	for (i = 0; i < b->argc; i++)
		free(b->argv[i]);
	b->argc = 0;
}

void
ds_report_batch_begin(struct ds_report_batch *b)
{
	free_args(b);
}

static void
push_arg(struct ds_report_batch *b, char *s, size_t len)
{
	if (s == NULL) {
		batch_fail(b, -ENOMEM, "out of memory");
		return;
	}
	if (b->argc == b->argcap) {
		size_t cap = b->argcap ? b->argcap * 2 : 64;
		char **av = realloc(b->argv, cap * sizeof(*av));
		size_t *al;

		if (av == NULL) {
			free(s);
			batch_fail(b, -ENOMEM, "out of memory");
			return;
		}
		b->argv = av;
		al = realloc(b->argvlen, cap * sizeof(*al));
		if (al == NULL) {
			free(s);
			batch_fail(b, -ENOMEM, "out of memory");
			return;
		}
		b->argvlen = al;
		b->argcap = cap;
	}
	b->argv[b->argc] = s;
	b->argvlen[b->argc] = len;
	b->argc++;
}

/* Arguments are copied: hiredis formats them only at ds_report_batch_end(). */
void
ds_report_batch_arg(struct ds_report_batch *b, const char *s)
{
	push_arg(b, strdup(s), strlen(s));
}

void
ds_report_batch_argf(struct ds_report_batch *b, const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		batch_fail(b, -ENOMEM, "out of memory");
		return;
	}
	push_arg(b, s, (size_t)n);
}

/* Read the replies of every command sent and not yet read. */
static int
collect(struct ds_report_batch *b, size_t upto)
{
	size_t i;

	for (i = 0; i < upto; i++) {
		void *rep = NULL;

		if (b->replies[i] != NULL)
			continue;
		if (redisGetReply(b->c, &rep) != REDIS_OK || rep == NULL) {
			batch_fail(b, -EIO, b->c->err ? b->c->errstr : "connection lost");
			return b->err;
		}
		b->replies[i] = rep;
	}
	return 0;
}

long
ds_report_batch_end(struct ds_report_batch *b)
{
	long idx;

	if (b->err)
		goto out;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		redisReply **r = realloc(b->replies, cap * sizeof(*r));
		char (*w)[64];

		if (r == NULL) {
			batch_fail(b, -ENOMEM, "out of memory");
			goto out;
		}
		memset(r + b->cap, 0, (cap - b->cap) * sizeof(*r));
		b->replies = r;
		w = realloc(b->what, cap * sizeof(*w));
		if (w == NULL) {
			batch_fail(b, -ENOMEM, "out of memory");
			goto out;
		}
		b->what = w;
		b->cap = cap;
	}
	if (b->argc == 0) {
		batch_fail(b, -EINVAL, "empty command");
		goto out;
	}
	/* Kept to name the command if Redis refuses it. */
	snprintf(b->what[b->n], sizeof(b->what[b->n]), "%s %s", b->argv[0],
		 b->argc > 1 ? b->argv[1] : "");
	if (redisAppendCommandArgv(b->c, (int)b->argc, (const char **)b->argv,
				   b->argvlen) != REDIS_OK) {
		batch_fail(b, -ENOMEM, "cannot format a command");
		goto out;
	}
	idx = (long)b->n++;
	free_args(b);
	/* Bounded pipelines: read what was sent every BATCH_CHUNK commands. */
	if (b->n % BATCH_CHUNK == 0 && collect(b, b->n) != 0)
		return -1;
	return idx;
out:
	free_args(b);
	return -1;
}

int
ds_report_batch_run(struct ds_report_batch *b)
{
	size_t i;

	if (b->err)
		return b->err;
	if (collect(b, b->n) != 0)
		return b->err;
	/*
	 * Every reply is read before any is judged, so the connection stays in
	 * step; an error reply (WRONGTYPE, an unknown command) fails the batch.
	 */
	for (i = 0; i < b->n; i++) {
		if (b->replies[i]->type == REDIS_REPLY_ERROR) {
			char msg[256];

			snprintf(msg, sizeof(msg), "Redis refused %.60s: %.150s", b->what[i],
				 b->replies[i]->str);
			batch_fail(b, -EPROTO, msg);
			return b->err;
		}
	}
	return 0;
}

const redisReply *
ds_report_batch_reply(const struct ds_report_batch *b, long i)
{
	if (i < 0 || (size_t)i >= b->n)
		return NULL;
	return b->replies[i];
}

void
ds_report_batch_reset(struct ds_report_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->replies[i] != NULL)
			freeReplyObject(b->replies[i]);
		b->replies[i] = NULL;
	}
	b->n = 0;
	free_args(b);
}

void
ds_report_batch_free(struct ds_report_batch *b)
{
	ds_report_batch_reset(b);
	free(b->replies);
	free(b->what);
	free(b->argv);
	free(b->argvlen);
	b->replies = NULL;
	b->what = NULL;
	b->argv = NULL;
	b->argvlen = NULL;
	b->cap = b->argcap = 0;
}
