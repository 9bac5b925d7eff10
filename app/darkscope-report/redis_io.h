/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Redis for darkscope-report: the connection (the sensor's URL forms) and a
 * pipelined batch of commands. A batch collects any number of commands
 * (redisAppendCommandArgv), sends them in one go and reads the replies in
 * order, so a quarter of day keys costs a few round trips, not thousands.
 */

#ifndef DS_REPORT_REDIS_IO_H
#define DS_REPORT_REDIS_IO_H

#include <stddef.h>

#include <hiredis/hiredis.h>

struct ds_report_batch {
	redisContext *c;
	redisReply **replies;           /* one per command, after run */
	char (*what)[64];               /* per command: its name and first argument */
	size_t n, cap;                  /* commands appended */
	/* The command being built. */
	char **argv;
	size_t *argvlen;
	size_t argc, argcap;
	int err;                        /* first error while building: -errno */
	char errstr[256];
};

/**
 * Parse a URL (unix:/path[?db=N], redis://host[:port][/db], host:port) and
 * connect: 5 s to connect, 120 s per reply, then AUTH when @p password is
 * not NULL (as @p username when that is not NULL) and SELECT the database.
 * @return the context, or NULL with errno EINVAL (bad URL; @p err says why)
 *   or ECONNREFUSED/ENOMEM/EIO (@p err names the endpoint and the reason,
 *   never the password).
 */
redisContext *ds_report_redis_connect(const char *url, const char *username,
				      const char *password, char *err, size_t errlen);

void ds_report_batch_init(struct ds_report_batch *b, redisContext *c);
/** Start a command; then add its arguments; end it. */
void ds_report_batch_begin(struct ds_report_batch *b);
void ds_report_batch_arg(struct ds_report_batch *b, const char *s);
void ds_report_batch_argf(struct ds_report_batch *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** Send the command; @return its index in the batch, or -1 after an error. */
long ds_report_batch_end(struct ds_report_batch *b);
/**
 * Read every reply. An error reply of any command fails the batch.
 * @return 0, or -EIO (connection) / -EPROTO (error reply), errstr set.
 */
int ds_report_batch_run(struct ds_report_batch *b);
/** The reply of command @p i (valid until the next reset). */
const redisReply *ds_report_batch_reply(const struct ds_report_batch *b, long i);
/** Free the replies: the batch is empty again. */
void ds_report_batch_reset(struct ds_report_batch *b);
void ds_report_batch_free(struct ds_report_batch *b);

#endif /* DS_REPORT_REDIS_IO_H */
