/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit tests of the configuration loader (lib/config).
 *
 * Every case writes a YAML snippet to a temporary file (mkstemp in $TMPDIR or
 * /tmp), loads it and compares the outcome with the table: all fields for the
 * valid files, the complete error line ("FILE:LINE:COL: KEY: message") for the
 * broken ones, so a wrong line, column, key path or wording fails the case.
 * The expected messages are written by hand from the rules in docs/CONFIG.md;
 * none were pasted from the loader's output. The geo section names data files
 * that must exist: its cases run in a temporary directory holding empty files
 * of those names (existence is what the loader checks), with the
 * configuration written next to them so that relative paths resolve there.
 * The reference configuration (argv[1]/config/darkscope.yaml) is loaded and
 * checked against the values it documents, and its commented-out geo.sources
 * example is loaded too, made live. Then the Redis URL override, the password
 * lookup (environment variable and file) and the prefix parser/formatter.
 *
 * Prints one line per case; exits 0 when all pass, 1 otherwise.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ds_config.h"

static int failures;

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */
/* ------------------------------------------------------------------------------------------ */

/* One case: prints its mismatches as they are found, then one verdict line. */
struct tcase {
	const char *suite;
	const char *name;
	bool ok;
};

static void tc_start(struct tcase *t, const char *suite, const char *name)
{
	t->suite = suite;
	t->name = name;
	t->ok = true;
}

__attribute__((format(printf, 2, 3)))
static void tc_fail(struct tcase *t, const char *fmt, ...)
{
	va_list ap;

	printf("    %s: %s: ", t->suite, t->name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	t->ok = false;
}

static void tc_end(struct tcase *t)
{
	printf("%s %s: %s\n", t->ok ? "ok  " : "FAIL", t->suite, t->name);
	if (!t->ok)
		failures++;
}

static void expect_int(struct tcase *t, const char *what, long long got, long long want)
{
	if (got != want)
		tc_fail(t, "%s = %lld, want %lld", what, got, want);
}

static void expect_str(struct tcase *t, const char *what, const char *got, const char *want)
{
	if (got == NULL || strcmp(got, want) != 0)
		tc_fail(t, "%s = \"%s\", want \"%s\"", what, got ? got : "(null)", want);
}

#define EXPECT_INT(t, expr, want) expect_int(t, #expr, (long long)(expr), (long long)(want))
#define EXPECT_STR(t, expr, want) expect_str(t, #expr, (expr), (want))
#define EXPECT_PREFIX(t, p, want) expect_prefix(t, #p, &(p), want)

static void expect_prefix(struct tcase *t, const char *what, const struct ds_prefix *p,
			  const char *want)
{
	char buf[64];

	ds_prefix_format(p, buf, sizeof(buf));
	expect_str(t, what, buf, want);
}

/* Writes len bytes to a new temporary file; path receives its name. */
static int write_temp(const char *text, size_t len, char *path)
{
	const char *dir = getenv("TMPDIR");
	size_t off = 0;
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	snprintf(path, PATH_MAX, "%s/ds_test_config_XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return -1;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n <= 0) {
			perror("write");
			close(fd);
			unlink(path);
			return -1;
		}
		off += (size_t)n;
	}
	close(fd);
	return 0;
}

/* Loads text from a temporary file; *path keeps its name for messages. */
static struct ds_config *load_text(const char *text, char *path, struct ds_config_error *err,
				   int *err_no)
{
	struct ds_config *cfg;

	if (write_temp(text, strlen(text), path) != 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot write a temporary file");
		*err_no = EIO;
		return NULL;
	}
	errno = 0;
	cfg = ds_config_load(path, err);
	*err_no = errno;
	unlink(path);
	return cfg;
}

/* The smallest valid file ends most snippets: one feed, one prefix. */
#define F "feeds:\n  - name: a\n    prefixes: [198.18.0.0/16]\n"

/* eal + one port with 2 queues, then "workers:" on line 7 (see the workers cases). */
#define P2 "eal:\n  lcores: 0-3\nports:\n  - name: p\n    device: \"0000:3b:00.0\"\n" \
	   "    rx_queues: 2\n"

/* ------------------------------------------------------------------------------------------ */
/* Bad arguments                                                                              */
/* ------------------------------------------------------------------------------------------ */

static void test_bad_args(void)
{
	struct ds_config_redis r;
	struct ds_config_error err;
	struct ds_config cfg;
	struct ds_prefix p;
	char buf[16];
	struct tcase t;

	tc_start(&t, "bad_args", "NULL arguments are rejected");
	errno = 0;
	if (ds_config_load(NULL, &err) != NULL || errno != EINVAL)
		tc_fail(&t, "ds_config_load(NULL) did not fail with EINVAL");
	memset(&cfg, 0, sizeof(cfg));
	EXPECT_INT(&t, ds_config_set_redis_url(NULL, "h:1", &err), -EINVAL);
	EXPECT_INT(&t, ds_config_set_redis_url(&cfg, NULL, &err), -EINVAL);
	memset(&r, 0, sizeof(r));
	EXPECT_INT(&t, ds_config_redis_password(NULL, buf, sizeof(buf), &err), -EINVAL);
	EXPECT_INT(&t, ds_config_redis_password(&r, NULL, sizeof(buf), &err), -EINVAL);
	EXPECT_INT(&t, ds_config_redis_password(&r, buf, 0, &err), -EINVAL);
	EXPECT_INT(&t, ds_prefix_parse(NULL, &p), -EINVAL);
	EXPECT_INT(&t, ds_prefix_parse("198.18.0.0/15", NULL), -EINVAL);
	ds_prefix_format(NULL, buf, sizeof(buf));
	EXPECT_STR(&t, buf, "?");
	memset(&p, 0, sizeof(p));
	p.family = 5;
	ds_prefix_format(&p, buf, sizeof(buf));
	EXPECT_STR(&t, buf, "?");
	ds_prefix_format(&p, NULL, 0);          /* must not crash */
	ds_config_free(NULL);
	tc_end(&t);
}

/* ------------------------------------------------------------------------------------------ */
/* Defaults                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/* The documented default sensor id: the host name up to the first dot. */
static void expected_sensor_id(char *out)
{
	char host[256] = "";
	size_t i;

	gethostname(host, sizeof(host) - 1);
	for (i = 0; host[i] != '\0' && host[i] != '.' && i < DS_NAME_MAX - 1; i++)
		out[i] = host[i];
	out[i] = '\0';
	if (i == 0)
		strcpy(out, "darkscope");
}

static void check_redis_defaults(struct tcase *t, const struct ds_config_redis *r)
{
	EXPECT_INT(t, r->enabled, true);
	EXPECT_STR(t, r->host, "127.0.0.1");
	EXPECT_INT(t, r->port, 6379);
	EXPECT_STR(t, r->unix_socket, "");
	EXPECT_INT(t, r->db, 0);
	EXPECT_STR(t, r->username, "");
	EXPECT_STR(t, r->password_env, "");
	EXPECT_STR(t, r->password_file, "");
	EXPECT_STR(t, r->key_prefix, "ds");
	EXPECT_INT(t, r->retention_s, 30 * 86400);
	EXPECT_INT(t, r->hour_retention_s, 35 * 86400);
	EXPECT_INT(t, r->day_retention_s, 800 * 86400);
	EXPECT_STR(t, r->rollup_timezone, "UTC");
	EXPECT_INT(t, r->hll_values, 50);
	EXPECT_INT(t, r->queue_minutes, 120);
	EXPECT_INT(t, r->queue_full, DS_QUEUE_FULL_AUTO);
	EXPECT_INT(t, r->connect_timeout_ms, 2000);
	EXPECT_INT(t, r->command_timeout_ms, 5000);
	EXPECT_INT(t, r->retry_max_ms, 10000);
	EXPECT_INT(t, r->drain_timeout_ms, 30000);
	EXPECT_INT(t, r->spool_max_mb, 1024);
}

/* No geo section, or one without sources: geo off, AS countries, no home country. */
static void check_geo_defaults(struct tcase *t, const struct ds_config_geo *g)
{
	EXPECT_INT(t, g->enabled, false);
	EXPECT_INT(t, g->n_sources, 0);
	EXPECT_INT(t, g->country_source, DS_GEO_COUNTRY_BY_ASN);
	EXPECT_STR(t, g->home_country, "");
	EXPECT_INT(t, g->derive_asn_country, true);
}

static void test_defaults(void)
{
	struct ds_config_error err;
	struct ds_config *cfg;
	char path[PATH_MAX], id[DS_NAME_MAX];
	struct tcase t;
	int e;

	tc_start(&t, "defaults", "minimal file: every default");
	cfg = load_text(F, path, &err, &e);
	if (cfg == NULL) {
		tc_fail(&t, "load failed: %s", err.msg);
		tc_end(&t);
		return;
	}
	EXPECT_STR(&t, cfg->path, path);
	expected_sensor_id(id);
	EXPECT_STR(&t, cfg->sensor_id, id);
	EXPECT_STR(&t, cfg->eal.lcores, "auto");
	EXPECT_INT(&t, cfg->eal.main_lcore, -1);
	EXPECT_INT(&t, cfg->eal.memory_mb, 0);
	EXPECT_INT(&t, cfg->eal.huge_pages, true);
	EXPECT_STR(&t, cfg->eal.file_prefix, "darkscope");
	EXPECT_INT(&t, cfg->eal.n_extra_args, 0);
	EXPECT_INT(&t, cfg->eal.extra_args == NULL, true);
	EXPECT_INT(&t, cfg->capture.burst, 32);
	EXPECT_INT(&t, cfg->capture.mbufs, 0);
	EXPECT_INT(&t, cfg->capture.time_source, DS_TIME_AUTO);
	EXPECT_INT(&t, cfg->capture.stats_interval_s, 60);
	EXPECT_INT(&t, cfg->n_ports, 0);
	EXPECT_INT(&t, cfg->n_feeds, 1);
	EXPECT_STR(&t, cfg->feeds[0].name, "a");
	EXPECT_INT(&t, cfg->feeds[0].n_prefixes, 1);
	if (cfg->feeds[0].n_prefixes == 1) {
		const struct ds_prefix *p = &cfg->feeds[0].prefixes[0];

		EXPECT_INT(&t, p->family, 4);
		EXPECT_INT(&t, p->len, 16);
		EXPECT_INT(&t, p->addr[0], 198);
		EXPECT_INT(&t, p->addr[1], 18);
		EXPECT_INT(&t, p->addr[2] | p->addr[3], 0);
	}
	/* No ports (a --replay configuration): the feed applies to every input. */
	EXPECT_INT(&t, cfg->feeds[0].port_mask == ~0ull, true);
	EXPECT_INT(&t, cfg->feeds[0].line, 2);
	EXPECT_INT(&t, cfg->workers_auto, true);
	EXPECT_INT(&t, cfg->n_workers, 0);
	check_redis_defaults(&t, &cfg->redis);
	EXPECT_STR(&t, cfg->redis.spool_dir, "");
	EXPECT_STR(&t, cfg->jsonl_path, "");
	EXPECT_INT(&t, cfg->limits.source_pairs, 1048576);
	EXPECT_INT(&t, cfg->limits.syn_option_layouts, 1024);
	EXPECT_INT(&t, cfg->limits.src_asns, 16384);
	EXPECT_INT(&t, cfg->limits.tcp_fingerprints, 4096);
	check_geo_defaults(&t, &cfg->geo);
	EXPECT_INT(&t, cfg->n_watch, 0);
	ds_config_free(cfg);
	tc_end(&t);

	tc_start(&t, "defaults", "port defaults, rss follows rx_queues, feed port masks");
	cfg = load_text("ports:\n"
			"  - name: p\n"
			"    device: \"0000:3b:00.0\"\n"
			"  - name: q\n"
			"    device: 3b:00.1\n"
			"    rx_queues: 4\n"
			"  - name: r\n"
			"    device: \"0000:3b:00.2\"\n"
			"    rx_queues: 4\n"
			"    rss: false\n"
			"  - name: v\n"
			"    device: net_af_packet0,iface=eth1\n"
			"feeds:\n"
			"  - name: all\n"
			"    prefixes: [198.18.0.0/16]\n"
			"  - name: some\n"
			"    prefixes: [198.19.0.0/16]\n"
			"    ports: [v, q]\n", path, &err, &e);
	if (cfg == NULL) {
		tc_fail(&t, "load failed: %s", err.msg);
		tc_end(&t);
		return;
	}
	EXPECT_INT(&t, cfg->n_ports, 4);
	EXPECT_STR(&t, cfg->ports[0].name, "p");
	EXPECT_STR(&t, cfg->ports[0].device, "0000:3b:00.0");
	EXPECT_INT(&t, cfg->ports[0].is_vdev, false);
	EXPECT_INT(&t, cfg->ports[0].rx_queues, 1);
	EXPECT_INT(&t, cfg->ports[0].rss, false);
	EXPECT_INT(&t, cfg->ports[0].rx_descriptors, 1024);
	EXPECT_INT(&t, cfg->ports[0].promiscuous, true);
	EXPECT_INT(&t, cfg->ports[0].line, 2);
	EXPECT_STR(&t, cfg->ports[1].device, "3b:00.1");
	EXPECT_INT(&t, cfg->ports[1].is_vdev, false);
	EXPECT_INT(&t, cfg->ports[1].rx_queues, 4);
	EXPECT_INT(&t, cfg->ports[1].rss, true);
	EXPECT_INT(&t, cfg->ports[2].rss, false);
	EXPECT_STR(&t, cfg->ports[3].device, "net_af_packet0,iface=eth1");
	EXPECT_INT(&t, cfg->ports[3].is_vdev, true);
	EXPECT_INT(&t, cfg->ports[3].line, 11);
	EXPECT_INT(&t, cfg->feeds[0].port_mask, 0xf);
	EXPECT_INT(&t, cfg->feeds[1].port_mask, 0xa);
	EXPECT_INT(&t, cfg->feeds[1].line, 16);
	ds_config_free(cfg);
	tc_end(&t);
}

/* ------------------------------------------------------------------------------------------ */
/* Every key set                                                                              */
/* ------------------------------------------------------------------------------------------ */

static const char full_yaml[] =
	"sensor:\n"
	"  id: osaka-2\n"
	"eal:\n"
	"  lcores: \"0-3,6\"\n"
	"  main_lcore: 6\n"
	"  memory_mb: 2048\n"
	"  huge_pages: false\n"
	"  file_prefix: ds.test_1\n"
	"  extra_args: [\"--log-level\", \"lib.eal:debug\"]\n"
	"capture:\n"
	"  burst: 64\n"
	"  mbufs: 65536\n"
	"  time_source: packet\n"
	"  stats_interval: 5m\n"
	"ports:\n"
	"  - name: dn0\n"                               /* line 16 */
	"    device: \"0000:3b:00.0\"\n"
	"    rx_queues: 2\n"
	"    rss: false\n"
	"    rx_descriptors: 4096\n"
	"    promiscuous: false\n"
	"  - name: dn1\n"                               /* line 22 */
	"    device: \"net_af_packet0,iface=eth1\"\n"
	"    rx_queues: 1\n"
	"    rss: true\n"
	"    rx_descriptors: 512\n"
	"    promiscuous: true\n"
	"feeds:\n"
	"  - name: f1\n"                                /* line 29 */
	"    prefixes: [198.18.0.0/15, \"2001:db8::/32\"]\n"
	"    ports: [dn1]\n"
	"  - name: f2\n"                                /* line 32 */
	"    prefixes:\n"
	"      - 203.0.113.0/24\n"
	"      - 10.0.0.0/8\n"
	"    ports: [dn0, dn1]\n"
	"workers:\n"
	"  - lcore: 1\n"
	"    rx:\n"
	"      - {port: dn0, queue: 1}\n"
	"      - {port: dn1, queue: 0}\n"
	"  - lcore: 3\n"
	"    rx:\n"
	"      - port: dn0\n"
	"        queue: 0\n"
	"redis:\n"
	"  enabled: false\n"
	"  host: redis.example\n"
	"  port: 6380\n"
	"  unix_socket: /run/redis/redis.sock\n"
	"  db: 7\n"
	"  username: darkscope\n"
	"  password_env: DS_REDIS_PW\n"
	"  password_file: \"\"\n"
	"  key_prefix: tele.v2\n"
	"  retention: 7d\n"
	"  hour_retention: 48h\n"
	"  day_retention: 400d\n"
	"  rollup_timezone: Asia/Tokyo\n"
	"  hll_values: 7\n"
	"  queue_minutes: 1440\n"
	"  queue_full: wait\n"
	"  connect_timeout: 250ms\n"
	"  command_timeout: 1m\n"
	"  retry_max: 1h\n"
	"  drain_timeout: 0\n"
	"jsonl:\n"
	"  path: /var/log/darkscope/minutes.jsonl\n"
	"limits:\n"
	"  source_pairs: 4096\n"
	"  syn_option_layouts: 77\n"
	"  src_asns: 100\n"
	"  tcp_fingerprints: 9\n";

static void test_full(void)
{
	struct ds_config_error err;
	struct ds_config *cfg;
	char path[PATH_MAX];
	struct tcase t;
	int e;

	tc_start(&t, "full", "every key set to a non-default value");
	cfg = load_text(full_yaml, path, &err, &e);
	if (cfg == NULL) {
		tc_fail(&t, "load failed: %s", err.msg);
		tc_end(&t);
		return;
	}
	EXPECT_STR(&t, cfg->sensor_id, "osaka-2");
	EXPECT_STR(&t, cfg->eal.lcores, "0-3,6");
	EXPECT_INT(&t, cfg->eal.main_lcore, 6);
	EXPECT_INT(&t, cfg->eal.memory_mb, 2048);
	EXPECT_INT(&t, cfg->eal.huge_pages, false);
	EXPECT_STR(&t, cfg->eal.file_prefix, "ds.test_1");
	EXPECT_INT(&t, cfg->eal.n_extra_args, 2);
	if (cfg->eal.n_extra_args == 2) {
		EXPECT_STR(&t, cfg->eal.extra_args[0], "--log-level");
		EXPECT_STR(&t, cfg->eal.extra_args[1], "lib.eal:debug");
	}
	EXPECT_INT(&t, cfg->capture.burst, 64);
	EXPECT_INT(&t, cfg->capture.mbufs, 65536);
	EXPECT_INT(&t, cfg->capture.time_source, DS_TIME_PACKET);
	EXPECT_INT(&t, cfg->capture.stats_interval_s, 300);

	EXPECT_INT(&t, cfg->n_ports, 2);
	EXPECT_STR(&t, cfg->ports[0].name, "dn0");
	EXPECT_STR(&t, cfg->ports[0].device, "0000:3b:00.0");
	EXPECT_INT(&t, cfg->ports[0].is_vdev, false);
	EXPECT_INT(&t, cfg->ports[0].rx_queues, 2);
	EXPECT_INT(&t, cfg->ports[0].rss, false);
	EXPECT_INT(&t, cfg->ports[0].rx_descriptors, 4096);
	EXPECT_INT(&t, cfg->ports[0].promiscuous, false);
	EXPECT_INT(&t, cfg->ports[0].line, 16);
	EXPECT_STR(&t, cfg->ports[1].name, "dn1");
	EXPECT_STR(&t, cfg->ports[1].device, "net_af_packet0,iface=eth1");
	EXPECT_INT(&t, cfg->ports[1].is_vdev, true);
	EXPECT_INT(&t, cfg->ports[1].rx_queues, 1);
	EXPECT_INT(&t, cfg->ports[1].rss, true);
	EXPECT_INT(&t, cfg->ports[1].rx_descriptors, 512);
	EXPECT_INT(&t, cfg->ports[1].promiscuous, true);
	EXPECT_INT(&t, cfg->ports[1].line, 22);

	EXPECT_INT(&t, cfg->n_feeds, 2);
	EXPECT_STR(&t, cfg->feeds[0].name, "f1");
	EXPECT_INT(&t, cfg->feeds[0].n_prefixes, 2);
	EXPECT_INT(&t, cfg->feeds[0].port_mask, 0x2);
	EXPECT_INT(&t, cfg->feeds[0].line, 29);
	EXPECT_STR(&t, cfg->feeds[1].name, "f2");
	EXPECT_INT(&t, cfg->feeds[1].n_prefixes, 2);
	EXPECT_INT(&t, cfg->feeds[1].port_mask, 0x3);
	EXPECT_INT(&t, cfg->feeds[1].line, 32);
	if (cfg->feeds[0].n_prefixes == 2 && cfg->feeds[1].n_prefixes == 2) {
		EXPECT_PREFIX(&t, cfg->feeds[0].prefixes[0], "198.18.0.0/15");
		EXPECT_INT(&t, cfg->feeds[0].prefixes[1].family, 6);
		EXPECT_PREFIX(&t, cfg->feeds[0].prefixes[1], "2001:db8::/32");
		EXPECT_PREFIX(&t, cfg->feeds[1].prefixes[0], "203.0.113.0/24");
		EXPECT_PREFIX(&t, cfg->feeds[1].prefixes[1], "10.0.0.0/8");
	}

	EXPECT_INT(&t, cfg->workers_auto, false);
	EXPECT_INT(&t, cfg->n_workers, 2);
	EXPECT_INT(&t, cfg->workers[0].lcore, 1);
	EXPECT_INT(&t, cfg->workers[0].n_rxq, 2);
	EXPECT_INT(&t, cfg->workers[0].rxq[0].port, 0);
	EXPECT_INT(&t, cfg->workers[0].rxq[0].queue, 1);
	EXPECT_INT(&t, cfg->workers[0].rxq[1].port, 1);
	EXPECT_INT(&t, cfg->workers[0].rxq[1].queue, 0);
	EXPECT_INT(&t, cfg->workers[1].lcore, 3);
	EXPECT_INT(&t, cfg->workers[1].n_rxq, 1);
	EXPECT_INT(&t, cfg->workers[1].rxq[0].port, 0);
	EXPECT_INT(&t, cfg->workers[1].rxq[0].queue, 0);

	EXPECT_INT(&t, cfg->redis.enabled, false);
	EXPECT_STR(&t, cfg->redis.host, "redis.example");
	EXPECT_INT(&t, cfg->redis.port, 6380);
	EXPECT_STR(&t, cfg->redis.unix_socket, "/run/redis/redis.sock");
	EXPECT_INT(&t, cfg->redis.db, 7);
	EXPECT_STR(&t, cfg->redis.username, "darkscope");
	EXPECT_STR(&t, cfg->redis.password_env, "DS_REDIS_PW");
	EXPECT_STR(&t, cfg->redis.password_file, "");
	EXPECT_STR(&t, cfg->redis.key_prefix, "tele.v2");
	EXPECT_INT(&t, cfg->redis.retention_s, 7 * 86400);
	EXPECT_INT(&t, cfg->redis.hour_retention_s, 48 * 3600);
	EXPECT_INT(&t, cfg->redis.day_retention_s, 400 * 86400);
	/* Needs /usr/share/zoneinfo/Asia/Tokyo (Debian's tzdata). */
	EXPECT_STR(&t, cfg->redis.rollup_timezone, "Asia/Tokyo");
	EXPECT_INT(&t, cfg->redis.hll_values, 7);
	EXPECT_INT(&t, cfg->redis.queue_minutes, 1440);
	EXPECT_INT(&t, cfg->redis.queue_full, DS_QUEUE_FULL_WAIT);
	EXPECT_INT(&t, cfg->redis.connect_timeout_ms, 250);
	EXPECT_INT(&t, cfg->redis.command_timeout_ms, 60000);
	EXPECT_INT(&t, cfg->redis.retry_max_ms, 3600000);
	EXPECT_INT(&t, cfg->redis.drain_timeout_ms, 0);
	EXPECT_STR(&t, cfg->jsonl_path, "/var/log/darkscope/minutes.jsonl");
	EXPECT_INT(&t, cfg->limits.source_pairs, 4096);
	EXPECT_INT(&t, cfg->limits.syn_option_layouts, 77);
	EXPECT_INT(&t, cfg->limits.src_asns, 100);
	EXPECT_INT(&t, cfg->limits.tcp_fingerprints, 9);
	ds_config_free(cfg);
	tc_end(&t);
}

/* ------------------------------------------------------------------------------------------ */
/* Valid variants of the syntax                                                               */
/* ------------------------------------------------------------------------------------------ */

static void chk_bools(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->eal.huge_pages, false);
	EXPECT_INT(t, c->ports[0].rss, true);
	EXPECT_INT(t, c->ports[0].promiscuous, false);
	EXPECT_INT(t, c->redis.enabled, true);
	EXPECT_STR(t, c->ports[0].device, "3b:00.0");
}

static void chk_int_lcores(struct tcase *t, const struct ds_config *c)
{
	EXPECT_STR(t, c->eal.lcores, "3");
	EXPECT_INT(t, c->eal.main_lcore, 3);
}

static void chk_lcore_map(struct tcase *t, const struct ds_config *c)
{
	EXPECT_STR(t, c->eal.lcores, "0@0,1@1,2@1");
	EXPECT_INT(t, c->eal.lcores_map, true);
	EXPECT_INT(t, c->eal.main_lcore, 0);
}

static void chk_quoted_int(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->redis.port, 6390);
}

static void chk_empty_sections(struct tcase *t, const struct ds_config *c)
{
	EXPECT_STR(t, c->eal.lcores, "auto");
	EXPECT_INT(t, c->capture.burst, 32);
	EXPECT_INT(t, c->n_ports, 0);
	EXPECT_INT(t, c->eal.n_extra_args, 0);
	EXPECT_STR(t, c->jsonl_path, "");
	check_redis_defaults(t, &c->redis);
	EXPECT_STR(t, c->redis.spool_dir, "");
	EXPECT_INT(t, c->limits.source_pairs, 1048576);
	EXPECT_INT(t, c->limits.src_asns, 16384);
	EXPECT_INT(t, c->limits.tcp_fingerprints, 4096);
	check_geo_defaults(t, &c->geo);
	EXPECT_INT(t, c->n_watch, 0);
}

static void chk_durations(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->redis.connect_timeout_ms, 1500);
	EXPECT_INT(t, c->redis.command_timeout_ms, 600000);
	EXPECT_INT(t, c->redis.retry_max_ms, 1);
	EXPECT_INT(t, c->redis.drain_timeout_ms, 86400000);
	EXPECT_INT(t, c->redis.retention_s, 0);
	EXPECT_INT(t, c->redis.hour_retention_s, 0);
	EXPECT_INT(t, c->redis.day_retention_s, 0);
	EXPECT_INT(t, c->capture.stats_interval_s, 0);
}

static void chk_long_durations(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->redis.retention_s, 3650u * 86400u);
	EXPECT_INT(t, c->redis.hour_retention_s, 3650u * 86400u);
	EXPECT_INT(t, c->redis.day_retention_s, 3650u * 86400u);
	EXPECT_INT(t, c->redis.hll_values, 65535);
	EXPECT_INT(t, c->capture.stats_interval_s, 86400);
	EXPECT_INT(t, c->redis.retry_max_ms, 3600000);
	EXPECT_INT(t, c->redis.connect_timeout_ms, 60000);
}

static void chk_empty_workers(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->workers_auto, false);
	EXPECT_INT(t, c->n_workers, 0);
}

static void chk_flow_v6(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->feeds[0].n_prefixes, 4);
	if (c->feeds[0].n_prefixes == 4) {
		EXPECT_PREFIX(t, c->feeds[0].prefixes[0], "2001:db8::/32");
		EXPECT_PREFIX(t, c->feeds[0].prefixes[1], "198.18.0.0/16");
		EXPECT_PREFIX(t, c->feeds[0].prefixes[2], "0.0.0.0/0");
		EXPECT_PREFIX(t, c->feeds[0].prefixes[3], "::/0");
	}
}

static void chk_password_file(struct tcase *t, const struct ds_config *c)
{
	EXPECT_STR(t, c->redis.password_file, "/etc/darkscope/redis.pw");
	EXPECT_STR(t, c->redis.password_env, "");
}

static void chk_unix_only(struct tcase *t, const struct ds_config *c)
{
	EXPECT_STR(t, c->redis.host, "");
	EXPECT_STR(t, c->redis.unix_socket, "/run/redis.sock");
}

static void chk_null_strings(struct tcase *t, const struct ds_config *c)
{
	EXPECT_STR(t, c->redis.username, "");
	EXPECT_STR(t, c->redis.unix_socket, "");
	EXPECT_STR(t, c->jsonl_path, "");
}

static void chk_limits_bounds(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->limits.source_pairs, 268435456);
	EXPECT_INT(t, c->limits.syn_option_layouts, 65535);
	EXPECT_INT(t, c->limits.src_asns, 1048576);
	EXPECT_INT(t, c->limits.tcp_fingerprints, 65535);
}

static void chk_explicit_auto(struct tcase *t, const struct ds_config *c)
{
	EXPECT_STR(t, c->eal.lcores, "auto");
	EXPECT_INT(t, c->eal.main_lcore, -1);
	EXPECT_INT(t, c->capture.mbufs, 0);
	EXPECT_INT(t, c->workers_auto, true);
	EXPECT_INT(t, c->capture.time_source, DS_TIME_CLOCK);
	EXPECT_INT(t, c->redis.queue_full, DS_QUEUE_FULL_DROP_OLDEST);
}

static void chk_main_explicit(struct tcase *t, const struct ds_config *c)
{
	/* main_lcore is explicit: lcore 1, the lowest of 1-3, may run a worker. */
	EXPECT_INT(t, c->eal.main_lcore, 3);
	EXPECT_INT(t, c->workers[0].lcore, 1);
}

static const struct {
	const char *name;
	const char *yaml;
	void (*check)(struct tcase *t, const struct ds_config *c);
} valid_cases[] = {
	{ "booleans in any case, yes/no/on/off, short PCI address",
	  "eal:\n  huge_pages: NO\nredis:\n  enabled: On\n"
	  "ports:\n  - {name: p, device: \"3b:00.0\", rss: Yes, promiscuous: off}\n" F,
	  chk_bools },
	{ "lcores as an integer", "eal:\n  lcores: 3\n  main_lcore: 3\n" F, chk_int_lcores },
	{ "lcores as an lcore map", "eal:\n  lcores: \"0@0,1@1,2@1\"\n  main_lcore: 0\n" F,
	  chk_lcore_map },
	{ "quoted integer", "redis:\n  port: \"6390\"\n" F, chk_quoted_int },
	{ "empty sections keep defaults",
	  "sensor:\neal:\n  extra_args:\ncapture:\nports:\nredis:\njsonl:\nlimits:\ngeo:\nwatch:\n"
	  F,
	  chk_empty_sections },
	{ "durations: ms, bare seconds, d, zero",
	  "redis:\n  connect_timeout: 1500ms\n  command_timeout: 600\n  retry_max: 1ms\n"
	  "  drain_timeout: 1d\n  retention: 0\n  hour_retention: 0\n  day_retention: 0s\n"
	  "capture:\n  stats_interval: 0s\n" F,
	  chk_durations },
	{ "durations at their maximum",
	  "redis:\n  retention: 3650d\n  retry_max: 60m\n  connect_timeout: 60000ms\n"
	  "  hour_retention: 87600h\n  day_retention: 3650d\n  hll_values: 65535\n"
	  "capture:\n  stats_interval: 24h\n" F, chk_long_durations },
	{ "workers: empty list without ports", "workers: []\n" F, chk_empty_workers },
	{ "flow style, unquoted IPv6, /0 prefixes",
	  "feeds: [{name: a, prefixes: [2001:db8::/32, 198.18.0.0/16, 0.0.0.0/0, \"::/0\"]}]\n",
	  chk_flow_v6 },
	{ "password_file alone", "redis:\n  password_file: /etc/darkscope/redis.pw\n" F,
	  chk_password_file },
	{ "unix_socket without host", "redis:\n  host: \"\"\n  unix_socket: /run/redis.sock\n" F,
	  chk_unix_only },
	{ "null strings are empty",
	  "redis:\n  username:\n  unix_socket: ~\njsonl:\n  path: null\n" F, chk_null_strings },
	{ "limits at their maximum",
	  "limits:\n  source_pairs: 268435456\n  syn_option_layouts: 65535\n  src_asns: 1048576\n"
	  "  tcp_fingerprints: 65535\n" F,
	  chk_limits_bounds },
	{ "explicit auto everywhere, other enums",
	  "eal:\n  lcores: auto\n  main_lcore: auto\ncapture:\n  mbufs: auto\n"
	  "  time_source: clock\nworkers: auto\nredis:\n  queue_full: drop_oldest\n" F,
	  chk_explicit_auto },
	{ "explicit main_lcore frees the lowest lcore for a worker",
	  "eal:\n  lcores: 1-3\n  main_lcore: 3\nports:\n  - {name: p, device: \"0000:3b:00.0\"}\n"
	  "workers:\n  - {lcore: 1, rx: [{port: p, queue: 0}]}\n" F, chk_main_explicit },
};

static void test_valid(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		struct ds_config_error err;
		struct ds_config *cfg;
		char path[PATH_MAX];
		struct tcase t;
		int e;

		tc_start(&t, "valid", valid_cases[i].name);
		cfg = load_text(valid_cases[i].yaml, path, &err, &e);
		if (cfg == NULL)
			tc_fail(&t, "load failed: %s", err.msg);
		else
			valid_cases[i].check(&t, cfg);
		ds_config_free(cfg);
		tc_end(&t);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Errors: the complete message                                                               */
/* ------------------------------------------------------------------------------------------ */

static char gen_buf[1 << 16];

/* n port entries with distinct devices, each on two lines from line 2. */
static const char *gen_ports(unsigned int n)
{
	size_t o = (size_t)snprintf(gen_buf, sizeof(gen_buf), "ports:\n");
	unsigned int i;

	for (i = 0; i < n; i++)
		o += (size_t)snprintf(gen_buf + o, sizeof(gen_buf) - o,
				      "  - name: p%u\n    device: \"0000:00:%02x.%u\"\n", i, i / 8,
				      i % 8);
	snprintf(gen_buf + o, sizeof(gen_buf) - o, F);
	return gen_buf;
}

static const char *gen_33_ports(void)
{
	return gen_ports(33);
}

static const char *gen_65_feeds(void)
{
	size_t o = (size_t)snprintf(gen_buf, sizeof(gen_buf), "feeds:\n");
	unsigned int i;

	for (i = 0; i < 65; i++)
		o += (size_t)snprintf(gen_buf + o, sizeof(gen_buf) - o,
				      "  - {name: f%u, prefixes: [10.%u.0.0/16]}\n", i, i);
	return gen_buf;
}

static const char *gen_65_workers(void)
{
	size_t o = (size_t)snprintf(gen_buf, sizeof(gen_buf), "workers:\n");
	unsigned int i;

	for (i = 0; i < 65; i++)
		o += (size_t)snprintf(gen_buf + o, sizeof(gen_buf) - o, "  - {}\n");
	snprintf(gen_buf + o, sizeof(gen_buf) - o, F);
	return gen_buf;
}

static const char *gen_33_rx(void)
{
	size_t o = (size_t)snprintf(gen_buf, sizeof(gen_buf), "workers:\n  - lcore: 1\n    rx:\n");
	unsigned int i;

	for (i = 0; i < 33; i++)
		o += (size_t)snprintf(gen_buf + o, sizeof(gen_buf) - o,
				      "      - {port: p, queue: 0}\n");
	snprintf(gen_buf + o, sizeof(gen_buf) - o, F);
	return gen_buf;
}

static const char *gen_65_args(void)
{
	size_t o = (size_t)snprintf(gen_buf, sizeof(gen_buf), "eal:\n  extra_args:\n");
	unsigned int i;

	for (i = 0; i < 65; i++)
		o += (size_t)snprintf(gen_buf + o, sizeof(gen_buf) - o, "    - --a%u\n", i);
	snprintf(gen_buf + o, sizeof(gen_buf) - o, F);
	return gen_buf;
}

static const char *gen_deep(void)
{
	size_t o = (size_t)snprintf(gen_buf, sizeof(gen_buf), "x: ");
	unsigned int i;

	for (i = 0; i < 40; i++)
		gen_buf[o++] = '[';
	for (i = 0; i < 40; i++)
		gen_buf[o++] = ']';
	snprintf(gen_buf + o, sizeof(gen_buf) - o, "\n");
	return gen_buf;
}

static const char *gen_long_socket(void)
{
	char s[109];

	memset(s, 'a', 108);
	s[108] = '\0';
	snprintf(gen_buf, sizeof(gen_buf), "redis:\n  unix_socket: /%s\n" F, s + 1);
	return gen_buf;
}

static const char *gen_long_name(void)
{
	char s[65];

	memset(s, 'n', 64);
	s[64] = '\0';
	snprintf(gen_buf, sizeof(gen_buf), "sensor:\n  id: %s\n" F, s);
	return gen_buf;
}

/* n watch rules r0..r(n-1), one line each from line 2, rule i matching dst_port i. */
static const char *gen_rules(unsigned int n)
{
	size_t o = (size_t)snprintf(gen_buf, sizeof(gen_buf), "watch:\n");
	unsigned int i;

	for (i = 0; i < n; i++)
		o += (size_t)snprintf(gen_buf + o, sizeof(gen_buf) - o,
				      "  - {name: r%u, match: {dst_port: %u}}\n", i, i);
	snprintf(gen_buf + o, sizeof(gen_buf) - o, F);
	return gen_buf;
}

static const char *gen_64_rules(void)
{
	return gen_rules(64);
}

static const char *gen_65_rules(void)
{
	return gen_rules(65);
}

/* One rule whose options layout is n NOPs: "watch:" on line 1, the layout on line 4. */
static const char *gen_nops(unsigned int n)
{
	size_t o = (size_t)snprintf(gen_buf, sizeof(gen_buf),
				    "watch:\n  - name: r\n    match:\n      options: \"");
	unsigned int i;

	for (i = 0; i < n; i++)
		o += (size_t)snprintf(gen_buf + o, sizeof(gen_buf) - o, "%sNOP", i ? "," : "");
	snprintf(gen_buf + o, sizeof(gen_buf) - o, "\"\n" F);
	return gen_buf;
}

static const char *gen_40_nops(void)
{
	return gen_nops(40);
}

static const char *gen_41_nops(void)
{
	return gen_nops(41);
}

#define ROOT_KEYS "sensor, eal, capture, ports, feeds, workers, redis, jsonl, limits, geo, " \
		  "watch"
#define PORT_KEYS "name, device, rx_queues, rss, rx_descriptors, promiscuous"
#define INT_PORT "redis.port: expected an integer 1-65535, got "
#define DUR_CONNECT "redis.connect_timeout: expected a duration 1ms-60s such as \"2s\" or " \
		    "\"500ms\", got "
#define EXPECT_PFX "expected an IPv4 or IPv6 prefix such as \"198.18.0.0/15\" or " \
		   "\"2001:db8::/32\", got "
#define LCORES_SYNTAX "eal.lcores: expected \"auto\", a core list of lcores 0-127 such as " \
		      "\"0-3\" or \"0,2,4\", or an lcore map such as \"0@0,1@1,2@1\", got "
#define NAME_SYNTAX "expected a name of 1-63 characters A-Z a-z 0-9 _ . -, got "
/* watch: a rule "r" whose match fields start on line 4, at column 7 */
#define WR "watch:\n  - name: r\n    match:\n"
#define MATCH_KEYS "proto, dst_port, src_port, tcp_flags, window, ttl, options, mss, wscale, " \
		   "seq_eq_dst, ip_id, payload_len"
#define RANGE_16 "expected an integer 0-65535 or a range \"lo-hi\", got "
#define RANGE_8 "expected an integer 0-255 or a range \"lo-hi\", got "
#define PROTO_SYNTAX "expected tcp, udp, icmp, icmp6 or an integer 0-255, got "
#define FLAGS_SYNTAX "expected TCP flags such as \"S\" (exactly SYN) or \"S/SA\" (SYN set, " \
		     "ACK clear): letters F S R P A U E C, \"-\" for none, got "
#define LAYOUT_SYNTAX "expected option kinds separated by commas such as " \
		      "\"MSS,NOP,WS,NOP,NOP,SACK\", or \"none\", got "
#define KINDS "(expected EOL, NOP, MSS, WS, SACK, SACKB, TS or a kind number 0-255)"
#define NOP16 "NOP,NOP,NOP,NOP,NOP,NOP,NOP,NOP,NOP,NOP,NOP,NOP,NOP,NOP,NOP,NOP,"

/* want is the message after "PATH:"; gen, when set, builds the YAML instead of yaml. */
static const struct {
	const char *name;
	const char *yaml;
	const char *(*gen)(void);
	const char *want;
} error_cases[] = {
	/* unknown keys, at every level */
	{ "unknown top-level key", "sensr:\n  id: x\n" F, NULL,
	  "1:1: sensr: unknown key (expected one of: " ROOT_KEYS ")" },
	{ "unknown key in a port", "ports:\n  - name: p\n    rxqueues: 2\n"
	  "    device: \"0000:3b:00.0\"\n" F, NULL,
	  "3:5: ports[0].rxqueues: unknown key (expected one of: " PORT_KEYS ")" },
	{ "unknown key in a feed", "feeds:\n  - name: a\n    prefix: [198.18.0.0/16]\n", NULL,
	  "3:5: feeds[0].prefix: unknown key (expected one of: name, prefixes, ports)" },
	{ "unknown key in an rx entry", P2 "workers:\n  - lcore: 1\n"
	  "    rx: [{port: p, q: 0}]\n" F, NULL,
	  "9:20: workers[0].rx[0].q: unknown key (expected one of: port, queue)" },
	{ "unknown key in redis", "redis:\n  hostname: x\n" F, NULL,
	  "2:3: redis.hostname: unknown key (expected one of: enabled, host, port, unix_socket, "
	  "db, username, password_env, password_file, key_prefix, retention, hour_retention, "
	  "day_retention, rollup_timezone, hll_values, queue_minutes, queue_full, "
	  "connect_timeout, command_timeout, retry_max, drain_timeout, spool_dir, spool_max_mb)" },
	{ "key names are case-sensitive", "Redis:\n  port: 1\n" F, NULL,
	  "1:1: Redis: unknown key (expected one of: " ROOT_KEYS ")" },
	{ "a key that is not a scalar", "? [a]\n: b\n" F, NULL,
	  "1:3: document: expected a key name, got a list" },

	/* duplicate keys */
	{ "duplicate key", "redis:\n  port: 1\n  port: 2\n" F, NULL,
	  "3:3: redis.port: duplicate key (first at line 2)" },
	{ "duplicate section", "sensor: {id: x}\n" F "sensor: {id: y}\n", NULL,
	  "5:1: sensor: duplicate key (first at line 1)" },

	/* node types */
	{ "mapping expected, got a scalar", "redis: 5\n" F, NULL,
	  "1:8: redis: expected a mapping, got \"5\"" },
	{ "mapping expected, got a list", "eal: [1]\n" F, NULL,
	  "1:6: eal: expected a mapping, got a list" },
	{ "geo is a list", "geo: [caida-pfx2as]\n" F, NULL,
	  "1:6: geo: expected a mapping, got a list" },
	{ "list expected, got a mapping", "feeds: {name: a}\n", NULL,
	  "1:8: feeds: expected a list of 1-64 feeds, got a mapping" },
	{ "scalar expected, got a list", "redis:\n  port: [1]\n" F, NULL,
	  "2:9: " INT_PORT "a list" },
	{ "port entry is a scalar", "ports: [p]\n" F, NULL,
	  "1:9: ports[0]: expected a mapping, got \"p\"" },
	{ "document is a list", "- a\n", NULL, "1:1: document: expected a mapping, got a list" },
	{ "document is a scalar", "hello\n", NULL,
	  "1:1: document: expected a mapping, got \"hello\"" },

	/* integers */
	{ "integer: a word", "redis:\n  port: http\n" F, NULL, "2:9: " INT_PORT "\"http\"" },
	{ "integer: above range", "redis:\n  port: 70000\n" F, NULL, "2:9: " INT_PORT "\"70000\"" },
	{ "integer: below range", "redis:\n  port: 0\n" F, NULL, "2:9: " INT_PORT "\"0\"" },
	{ "integer: negative", "redis:\n  port: -1\n" F, NULL, "2:9: " INT_PORT "\"-1\"" },
	{ "integer: plus sign", "redis:\n  port: +1\n" F, NULL, "2:9: " INT_PORT "\"+1\"" },
	{ "integer: hex", "redis:\n  port: 0x10\n" F, NULL, "2:9: " INT_PORT "\"0x10\"" },
	{ "integer: leading zero", "redis:\n  port: 010\n" F, NULL, "2:9: " INT_PORT "\"010\"" },
	{ "integer: underscore", "redis:\n  port: 1_000\n" F, NULL, "2:9: " INT_PORT "\"1_000\"" },
	{ "integer: trailing junk", "redis:\n  port: 12abc\n" F, NULL,
	  "2:9: " INT_PORT "\"12abc\"" },
	{ "integer: fraction", "redis:\n  port: 80.5\n" F, NULL, "2:9: " INT_PORT "\"80.5\"" },
	{ "integer: overflows 64 bits", "redis:\n  port: 99999999999999999999999\n" F, NULL,
	  "2:9: " INT_PORT "\"99999999999999999999999\"" },
	{ "integer: nothing", "redis:\n  port:\n" F, NULL, "2:8: " INT_PORT "nothing" },
	{ "integer: overflows the field", "eal:\n  memory_mb: 4294967296\n" F, NULL,
	  "2:14: eal.memory_mb: expected an integer 0-4294967295, got \"4294967296\"" },
	{ "burst 0", "capture:\n  burst: 0\n" F, NULL,
	  "2:10: capture.burst: expected an integer 1-512, got \"0\"" },
	{ "burst 513", "capture:\n  burst: 513\n" F, NULL,
	  "2:10: capture.burst: expected an integer 1-512, got \"513\"" },
	{ "mbufs below range", "capture:\n  mbufs: 1000\n" F, NULL,
	  "2:10: capture.mbufs: expected \"auto\" or an integer 1024-16777216, got \"1000\"" },
	{ "rx_queues 65", "ports:\n  - name: p\n    device: \"0000:3b:00.0\"\n"
	  "    rx_queues: 65\n" F, NULL,
	  "4:16: ports[0].rx_queues: expected an integer 1-64, got \"65\"" },
	{ "rx_descriptors 32", "ports:\n  - name: p\n    device: \"0000:3b:00.0\"\n"
	  "    rx_descriptors: 32\n" F, NULL,
	  "4:21: ports[0].rx_descriptors: expected an integer 64-16384, got \"32\"" },
	{ "db 65536", "redis:\n  db: 65536\n" F, NULL,
	  "2:7: redis.db: expected an integer 0-65535, got \"65536\"" },
	{ "queue_minutes 0", "redis:\n  queue_minutes: 0\n" F, NULL,
	  "2:18: redis.queue_minutes: expected an integer 1-100000, got \"0\"" },
	{ "spool_max_mb 0", "redis:\n  spool_max_mb: 0\n" F, NULL,
	  "2:17: redis.spool_max_mb: expected an integer 1-1048576, got \"0\"" },
	{ "spool_dir a file", "redis:\n  spool_dir: /dev/null\n" F, NULL,
	  "2:14: redis.spool_dir: \"/dev/null\" exists and is not a directory" },
	{ "source_pairs not a power of two", "limits:\n  source_pairs: 1000000\n" F, NULL,
	  "2:17: limits.source_pairs: expected a power of two 1024-268435456, got \"1000000\"" },
	{ "source_pairs too large", "limits:\n  source_pairs: 536870912\n" F, NULL,
	  "2:17: limits.source_pairs: expected a power of two 1024-268435456, got \"536870912\"" },
	{ "syn_option_layouts 0", "limits:\n  syn_option_layouts: 0\n" F, NULL,
	  "2:23: limits.syn_option_layouts: expected an integer 1-65535, got \"0\"" },
	{ "src_asns 0", "limits:\n  src_asns: 0\n" F, NULL,
	  "2:13: limits.src_asns: expected an integer 1-1048576, got \"0\"" },
	{ "src_asns too big", "limits:\n  src_asns: 1048577\n" F, NULL,
	  "2:13: limits.src_asns: expected an integer 1-1048576, got \"1048577\"" },
	{ "unknown key in limits", "limits:\n  asns: 10\n" F, NULL,
	  "2:3: limits.asns: unknown key (expected one of: source_pairs, syn_option_layouts, "
	  "src_asns, tcp_fingerprints)" },
	{ "tcp_fingerprints 0", "limits:\n  tcp_fingerprints: 0\n" F, NULL,
	  "2:21: limits.tcp_fingerprints: expected an integer 1-65535, got \"0\"" },
	{ "tcp_fingerprints too big", "limits:\n  tcp_fingerprints: 65536\n" F, NULL,
	  "2:21: limits.tcp_fingerprints: expected an integer 1-65535, got \"65536\"" },

	/* booleans and enums */
	{ "bool: maybe", "eal:\n  huge_pages: maybe\n" F, NULL,
	  "2:15: eal.huge_pages: expected true or false, got \"maybe\"" },
	{ "bool: 1", "ports:\n  - {name: p, device: \"0000:3b:00.0\", rss: 1}\n" F, NULL,
	  "2:44: ports[0].rss: expected true or false, got \"1\"" },
	{ "enum: time_source", "capture:\n  time_source: gps\n" F, NULL,
	  "2:16: capture.time_source: expected auto, packet or clock, got \"gps\"" },
	{ "enum: case-sensitive", "capture:\n  time_source: Packet\n" F, NULL,
	  "2:16: capture.time_source: expected auto, packet or clock, got \"Packet\"" },
	{ "enum: queue_full", "redis:\n  queue_full: block\n" F, NULL,
	  "2:15: redis.queue_full: expected auto, drop_oldest or wait, got \"block\"" },

	/* durations */
	{ "duration: bad suffix", "redis:\n  connect_timeout: 2x\n" F, NULL,
	  "2:20: " DUR_CONNECT "\"2x\"" },
	{ "duration: upper-case suffix", "redis:\n  connect_timeout: 2S\n" F, NULL,
	  "2:20: " DUR_CONNECT "\"2S\"" },
	{ "duration: fraction", "redis:\n  connect_timeout: 1.5s\n" F, NULL,
	  "2:20: " DUR_CONNECT "\"1.5s\"" },
	{ "duration: negative", "redis:\n  connect_timeout: -1s\n" F, NULL,
	  "2:20: " DUR_CONNECT "\"-1s\"" },
	{ "duration: blank before unit", "redis:\n  connect_timeout: 2 s\n" F, NULL,
	  "2:20: " DUR_CONNECT "\"2 s\"" },
	{ "duration: unit alone", "redis:\n  connect_timeout: s\n" F, NULL,
	  "2:20: " DUR_CONNECT "\"s\"" },
	{ "duration: zero below minimum", "redis:\n  connect_timeout: 0\n" F, NULL,
	  "2:20: " DUR_CONNECT "\"0\"" },
	{ "duration: above maximum", "redis:\n  connect_timeout: 61s\n" F, NULL,
	  "2:20: " DUR_CONNECT "\"61s\"" },
	{ "duration: overflows 64 bits", "redis:\n  connect_timeout: 99999999999999999d\n" F,
	  NULL, "2:20: " DUR_CONNECT "\"99999999999999999d\"" },
	{ "duration: command_timeout range", "redis:\n  command_timeout: 11m\n" F, NULL,
	  "2:20: redis.command_timeout: expected a duration 1ms-600s such as \"2s\" or "
	  "\"500ms\", got \"11m\"" },
	{ "duration: retry_max range", "redis:\n  retry_max: 2h\n" F, NULL,
	  "2:14: redis.retry_max: expected a duration 1ms-3600s such as \"2s\" or \"500ms\", "
	  "got \"2h\"" },
	{ "duration: drain_timeout range", "redis:\n  drain_timeout: 86401s\n" F, NULL,
	  "2:18: redis.drain_timeout: expected a duration 0-1d such as \"2s\" or \"500ms\", "
	  "got \"86401s\"" },
	{ "duration: whole seconds only", "capture:\n  stats_interval: 500ms\n" F, NULL,
	  "2:19: capture.stats_interval: expected a duration 0-1d in whole seconds such as "
	  "\"60s\" or \"5m\", got \"500ms\"" },
	{ "duration: retention range", "redis:\n  retention: 3651d\n" F, NULL,
	  "2:14: redis.retention: expected a duration 0-3650d in whole seconds such as \"60s\" "
	  "or \"5m\", got \"3651d\"" },
	{ "duration: hour_retention range", "redis:\n  hour_retention: 3651d\n" F, NULL,
	  "2:19: redis.hour_retention: expected a duration 0-3650d in whole seconds such as "
	  "\"60s\" or \"5m\", got \"3651d\"" },
	{ "duration: day_retention in whole seconds", "redis:\n  day_retention: 1500ms\n" F, NULL,
	  "2:18: redis.day_retention: expected a duration 0-3650d in whole seconds such as "
	  "\"60s\" or \"5m\", got \"1500ms\"" },

	/* redis.hll_values and redis.rollup_timezone */
	{ "hll_values 65536", "redis:\n  hll_values: 65536\n" F, NULL,
	  "2:15: redis.hll_values: expected an integer 0-65535, got \"65536\"" },
	{ "rollup_timezone misspelt", "redis:\n  rollup_timezone: Asia/Tokio\n" F, NULL,
	  "2:20: redis.rollup_timezone: unknown time zone \"Asia/Tokio\" (cannot read "
	  "/usr/share/zoneinfo/Asia/Tokio: No such file or directory)" },
	{ "rollup_timezone a directory", "redis:\n  rollup_timezone: Asia\n" F, NULL,
	  "2:20: redis.rollup_timezone: unknown time zone \"Asia\" (cannot read "
	  "/usr/share/zoneinfo/Asia: Is a directory)" },
	{ "rollup_timezone climbing out", "redis:\n  rollup_timezone: ../../etc/passwd\n" F,
	  NULL, "2:20: redis.rollup_timezone: expected an IANA time zone name such as \"UTC\" or "
	  "\"Asia/Tokyo\", got \"../../etc/passwd\"" },
	{ "rollup_timezone absolute", "redis:\n  rollup_timezone: /etc/localtime\n" F, NULL,
	  "2:20: redis.rollup_timezone: expected an IANA time zone name such as \"UTC\" or "
	  "\"Asia/Tokyo\", got \"/etc/localtime\"" },
	{ "rollup_timezone empty", "redis:\n  rollup_timezone: \"\"\n" F, NULL,
	  "2:20: redis.rollup_timezone: expected an IANA time zone name such as \"UTC\" or "
	  "\"Asia/Tokyo\", got \"\"" },

	/* names and strings */
	{ "name with a blank", "sensor:\n  id: a b\n" F, NULL,
	  "2:7: sensor.id: " NAME_SYNTAX "\"a b\"" },
	{ "name of 64 characters", NULL, gen_long_name,
	  "2:7: sensor.id: " NAME_SYNTAX
	  "\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"" },
	{ "empty name", "sensor:\n  id: \"\"\n" F, NULL, "2:7: sensor.id: " NAME_SYNTAX "\"\"" },
	{ "file_prefix with a slash", "eal:\n  file_prefix: a/b\n" F, NULL,
	  "2:16: eal.file_prefix: " NAME_SYNTAX "\"a/b\"" },
	{ "key_prefix with a colon", "redis:\n  key_prefix: \"ds:x\"\n" F, NULL,
	  "2:15: redis.key_prefix: " NAME_SYNTAX "\"ds:x\"" },
	{ "feed name empty", "feeds:\n  - name:\n    prefixes: [198.18.0.0/16]\n", NULL,
	  "2:10: feeds[0].name: " NAME_SYNTAX "nothing" },
	{ "control character in a string", "redis:\n  host: \"a\\nb\"\n" F, NULL,
	  "2:9: redis.host: expected a string of at most 255 bytes without control characters, "
	  "got \"a\\x0ab\"" },
	{ "unix_socket too long", NULL, gen_long_socket,
	  "2:16: redis.unix_socket: expected a string of at most 107 bytes without control "
	  "characters, got "
	  "\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
	{ "host empty without unix_socket", "redis:\n  host: \"\"\n" F, NULL,
	  "2:9: redis.host: expected a host name or address (or set redis.unix_socket), got "
	  "nothing" },
	{ "password_env not a variable name", "redis:\n  password_env: MY-PW\n" F, NULL,
	  "2:17: redis.password_env: expected the name of an environment variable "
	  "([A-Za-z_][A-Za-z0-9_]*), got \"MY-PW\"" },
	{ "password_env and password_file", "redis:\n  password_env: PW\n"
	  "  password_file: /etc/pw\n" F, NULL,
	  "3:18: redis.password_file: password_env and password_file are mutually exclusive" },
	{ "password_file then password_env", "redis:\n  password_file: /etc/pw\n"
	  "  password_env: PW\n" F, NULL,
	  "3:17: redis.password_env: password_env and password_file are mutually exclusive" },
	{ "extra_args not a list", "eal:\n  extra_args: --foo\n" F, NULL,
	  "2:15: eal.extra_args: expected a list of at most 64 arguments, got \"--foo\"" },
	{ "extra_args empty word", "eal:\n  extra_args: [\"\"]\n" F, NULL,
	  "2:16: eal.extra_args[0]: expected a non-empty string, got \"\"" },
	{ "long value is cut in the message", "sensor:\n  id: "
	  "\"0123456789012345678901234567890123456789012345678901234567890123456789\"\n" F, NULL,
	  "2:7: sensor.id: " NAME_SYNTAX
	  "\"0123456789012345678901234567890123456789012345678901234567890123...\"" },

	/* missing keys */
	{ "missing feeds", "redis:\n  port: 1\n", NULL, "1:1: document: missing key 'feeds'" },
	{ "missing prefixes", "feeds:\n  - name: a\n    prefixes: [198.18.0.0/16]\n"
	  "  - name: b\n", NULL, "4:5: feeds[1]: missing key 'prefixes'" },
	{ "missing feed name", "feeds:\n  - prefixes: [198.18.0.0/16]\n", NULL,
	  "2:5: feeds[0]: missing key 'name'" },
	{ "missing device", "ports:\n  - name: p\n" F, NULL,
	  "2:5: ports[0]: missing key 'device'" },
	{ "empty port entry", "ports:\n  -\n" F, NULL, "2:4: ports[0]: missing key 'name'" },
	{ "missing worker rx", P2 "workers:\n  - lcore: 1\n" F, NULL,
	  "8:5: workers[0]: missing key 'rx'" },
	{ "missing worker lcore", P2 "workers:\n  - rx: [{port: p, queue: 0}]\n" F, NULL,
	  "8:5: workers[0]: missing key 'lcore'" },
	{ "missing rx queue", P2 "workers:\n  - lcore: 1\n    rx: [{port: p}]\n" F, NULL,
	  "9:10: workers[0].rx[0]: missing key 'queue'" },

	/* counts */
	{ "feeds empty", "feeds: []\n", NULL,
	  "1:8: feeds: expected a list of 1-64 feeds, got an empty list" },
	{ "feeds null", "feeds:\n", NULL,
	  "1:7: feeds: expected a list of 1-64 feeds, got nothing" },
	{ "33 ports", NULL, gen_33_ports,
	  "66:5: ports: expected a list of at most 32 ports, got 33 entries" },
	{ "65 feeds", NULL, gen_65_feeds,
	  "66:5: feeds: expected a list of 1-64 feeds, got 65 entries" },
	{ "65 workers", NULL, gen_65_workers,
	  "66:5: workers: expected a list of at most 64 workers, got 65 entries" },
	{ "33 rx queues in a worker", NULL, gen_33_rx,
	  "36:9: workers[0].rx: expected a list of 1-32 rx queues, got 33 entries" },
	{ "65 extra_args", NULL, gen_65_args,
	  "67:7: eal.extra_args: expected a list of at most 64 arguments, got 65 entries" },
	{ "no prefixes", "feeds:\n  - name: a\n    prefixes: []\n", NULL,
	  "3:15: feeds[0].prefixes: expected a list of 1-65536 prefixes, got an empty list" },
	{ "worker without rx queues", P2 "workers:\n  - lcore: 1\n    rx: []\n" F, NULL,
	  "9:9: workers[0].rx: expected a list of 1-32 rx queues, got an empty list" },

	/* ports */
	{ "duplicate port name", "ports:\n  - name: p\n    device: \"0000:3b:00.0\"\n"
	  "  - name: p\n    device: \"0000:3b:00.1\"\n" F, NULL,
	  "4:11: ports[1].name: duplicate port name \"p\" (first at ports[0], line 2)" },
	{ "device used twice (short and upper-case form)", "ports:\n  - name: p\n"
	  "    device: 3b:00.0\n  - name: q\n    device: \"0000:3B:00.0\"\n" F, NULL,
	  "5:13: ports[1].device: device \"0000:3B:00.0\" is already used by ports[0] (\"p\")" },
	{ "vdev used twice", "ports:\n  - {name: p, device: \"net_af_packet0,iface=eth1\"}\n"
	  "  - {name: q, device: \"net_af_packet0,iface=eth2\"}\n" F, NULL,
	  "3:23: ports[1].device: device \"net_af_packet0,iface=eth2\" is already used by "
	  "ports[0] (\"p\")" },
	{ "device is an interface name", "ports:\n  - {name: p, device: eth0}\n" F, NULL,
	  "2:23: ports[0].device: expected a PCI address such as \"0000:3b:00.0\" or a vdev "
	  "such as \"net_af_packet0,iface=eth1\", got \"eth0\"" },
	{ "PCI function 8", "ports:\n  - {name: p, device: \"0000:3b:00.8\"}\n" F, NULL,
	  "2:23: ports[0].device: expected a PCI address such as \"0000:3b:00.0\" or a vdev "
	  "such as \"net_af_packet0,iface=eth1\", got \"0000:3b:00.8\"" },
	{ "vdev without a name", "ports:\n  - {name: p, device: \"net_,iface=x\"}\n" F, NULL,
	  "2:23: ports[0].device: expected a PCI address such as \"0000:3b:00.0\" or a vdev "
	  "such as \"net_af_packet0,iface=eth1\", got \"net_,iface=x\"" },

	/* feeds and prefixes */
	{ "duplicate feed name", "feeds:\n  - name: a\n    prefixes: [198.18.0.0/16]\n"
	  "  - name: a\n    prefixes: [198.19.0.0/16]\n", NULL,
	  "4:11: feeds[1].name: duplicate feed name \"a\" (first at feeds[0], line 2)" },
	{ "same prefix twice in a feed",
	  "feeds:\n  - name: a\n    prefixes: [198.18.0.0/16, 198.18.0.0/16]\n", NULL,
	  "3:31: feeds[0].prefixes[1]: 198.18.0.0/16 is listed twice (also "
	  "feeds[0].prefixes[0] in feed \"a\", line 3)" },
	{ "same IPv6 prefix in two feeds, spelt differently",
	  "feeds:\n  - name: a\n    prefixes: [\"2001:db8::/32\"]\n  - name: b\n"
	  "    prefixes:\n      - 10.0.0.0/8\n      - 2001:0db8:0::/32\n", NULL,
	  "7:9: feeds[1].prefixes[1]: 2001:db8::/32 is listed twice (also "
	  "feeds[0].prefixes[0] in feed \"a\", line 3)" },
	{ "the first repetition in the file is reported",
	  "feeds:\n  - name: a\n    prefixes: [10.0.0.0/8, 192.0.2.0/24]\n  - name: b\n"
	  "    prefixes: [192.0.2.0/24, 10.0.0.0/8]\n", NULL,
	  "5:16: feeds[1].prefixes[0]: 192.0.2.0/24 is listed twice (also "
	  "feeds[0].prefixes[1] in feed \"a\", line 3)" },
	{ "host bits set", "feeds:\n  - name: a\n    prefixes: [198.18.1.0/16]\n", NULL,
	  "3:16: feeds[0].prefixes[0]: 198.18.1.0/16: host bits set "
	  "(did you mean 198.18.0.0/16?)" },
	{ "IPv6 host bits set", "feeds:\n  - name: a\n    prefixes:\n      - 2001:db8::1/64\n",
	  NULL, "4:9: feeds[0].prefixes[0]: 2001:db8::1/64: host bits set "
	  "(did you mean 2001:db8::/64?)" },
	{ "prefix without length", "feeds:\n  - name: a\n    prefixes: [198.18.0.0]\n", NULL,
	  "3:16: feeds[0].prefixes[0]: " EXPECT_PFX "\"198.18.0.0\"" },
	{ "prefix length 33", "feeds:\n  - name: a\n    prefixes: [198.18.0.0/33]\n", NULL,
	  "3:16: feeds[0].prefixes[0]: " EXPECT_PFX "\"198.18.0.0/33\"" },
	{ "prefix is a list", "feeds:\n  - name: a\n    prefixes: [[198.18.0.0/16]]\n", NULL,
	  "3:16: feeds[0].prefixes[0]: " EXPECT_PFX "a list" },
	{ "feed names an unknown port", "ports:\n  - name: p\n    device: \"0000:3b:00.0\"\n"
	  "feeds:\n  - name: a\n    prefixes: [198.18.0.0/16]\n    ports: [p, q]\n", NULL,
	  "7:16: feeds[0].ports[1]: unknown port \"q\" (not in ports[].name)" },
	{ "feed names a port when there are none",
	  "feeds:\n  - name: a\n    prefixes: [198.18.0.0/16]\n    ports: [p]\n", NULL,
	  "4:13: feeds[0].ports[0]: unknown port \"p\" (no ports are defined)" },
	{ "feed lists a port twice", "ports:\n  - name: p\n    device: \"0000:3b:00.0\"\n"
	  "feeds:\n  - name: a\n    prefixes: [198.18.0.0/16]\n    ports: [p, p]\n", NULL,
	  "7:16: feeds[0].ports[1]: port \"p\" is listed twice" },
	{ "feed with an empty port list", "ports:\n  - name: p\n    device: \"0000:3b:00.0\"\n"
	  "feeds:\n  - name: a\n    prefixes: [198.18.0.0/16]\n    ports: []\n", NULL,
	  "7:12: feeds[0].ports: expected a list of 1-32 port names, got an empty list" },

	/* eal */
	{ "lcores: open range", "eal:\n  lcores: 0-\n" F, NULL, "2:11: " LCORES_SYNTAX "\"0-\"" },
	{ "lcores: reversed range", "eal:\n  lcores: 3-1\n" F, NULL,
	  "2:11: " LCORES_SYNTAX "\"3-1\"" },
	{ "lcores: above 127", "eal:\n  lcores: 0,128\n" F, NULL,
	  "2:11: " LCORES_SYNTAX "\"0,128\"" },
	{ "lcores: empty item", "eal:\n  lcores: \"0,,1\"\n" F, NULL,
	  "2:11: " LCORES_SYNTAX "\"0,,1\"" },
	{ "lcores: trailing comma", "eal:\n  lcores: \"1,\"\n" F, NULL,
	  "2:11: " LCORES_SYNTAX "\"1,\"" },
	{ "lcores: DPDK --lcores groups are not a core list", "eal:\n  lcores: \"(0,1)@0\"\n" F,
	  NULL, "2:11: " LCORES_SYNTAX "\"(0,1)@0\"" },
	{ "lcores: a range in an lcore map", "eal:\n  lcores: \"0-1@0\"\n" F, NULL,
	  "2:11: " LCORES_SYNTAX "\"0-1@0\"" },
	{ "lcores: an lcore twice in a map", "eal:\n  lcores: \"0@0,1@1,1@0\"\n" F, NULL,
	  "2:11: eal.lcores: lcore 1 is listed twice in \"0@0,1@1,1@0\"" },
	{ "lcores: a map item without a CPU", "eal:\n  lcores: \"0@0,1@\"\n" F, NULL,
	  "2:11: " LCORES_SYNTAX "\"0@0,1@\"" },
	{ "lcores: an lcore twice", "eal:\n  lcores: 0-3,2\n" F, NULL,
	  "2:11: eal.lcores: lcore 2 is listed twice in \"0-3,2\"" },
	{ "main_lcore not a number", "eal:\n  main_lcore: first\n" F, NULL,
	  "2:15: eal.main_lcore: expected \"auto\" or an integer 0-127, got \"first\"" },
	{ "main_lcore not in lcores", "eal:\n  lcores: 0-3\n  main_lcore: 4\n" F, NULL,
	  "3:15: eal.main_lcore: lcore 4 is not in eal.lcores \"0-3\"" },

	/* workers */
	{ "workers: neither auto nor a list", "workers: some\n" F, NULL,
	  "1:10: workers: expected \"auto\" or a list of workers, got \"some\"" },
	{ "workers: lcore twice", P2 "workers:\n  - lcore: 1\n    rx: [{port: p, queue: 0}]\n"
	  "  - lcore: 1\n    rx: [{port: p, queue: 1}]\n" F, NULL,
	  "10:12: workers[1].lcore: lcore 1 is already used by workers[0]" },
	{ "workers: the lowest lcore is the main lcore",
	  P2 "workers:\n  - lcore: 0\n    rx: [{port: p, queue: 0}, {port: p, queue: 1}]\n" F,
	  NULL, "8:12: workers[0].lcore: lcore 0 is the main lcore (the lowest of eal.lcores), "
	  "which runs no worker" },
	{ "workers: lcore equal to main_lcore",
	  "eal:\n  main_lcore: 2\nports:\n  - {name: p, device: \"0000:3b:00.0\"}\n"
	  "workers:\n  - {lcore: 2, rx: [{port: p, queue: 0}]}\n" F, NULL,
	  "6:13: workers[0].lcore: lcore 2 is the main lcore (eal.main_lcore), which runs no "
	  "worker" },
	{ "workers: lcore not in eal.lcores",
	  P2 "workers:\n  - lcore: 5\n    rx: [{port: p, queue: 0}, {port: p, queue: 1}]\n" F,
	  NULL, "8:12: workers[0].lcore: lcore 5 is not in eal.lcores \"0-3\"" },
	{ "workers: lcore above 127", "workers:\n  - {lcore: 128, rx: []}\n" F, NULL,
	  "2:13: workers[0].lcore: expected an integer 0-127, got \"128\"" },
	{ "workers: unknown port", P2 "workers:\n  - lcore: 1\n    rx: [{port: q, queue: 0}]\n" F,
	  NULL, "9:17: workers[0].rx[0].port: unknown port \"q\" (not in ports[].name)" },
	{ "workers: queue beyond rx_queues",
	  P2 "workers:\n  - lcore: 1\n    rx: [{port: p, queue: 2}]\n" F, NULL,
	  "9:27: workers[0].rx[0].queue: port \"p\" has rx_queues 2: expected a queue 0-1, "
	  "got \"2\"" },
	{ "workers: queue not a number",
	  P2 "workers:\n  - lcore: 1\n    rx: [{port: p, queue: x}]\n" F, NULL,
	  "9:27: workers[0].rx[0].queue: expected an integer 0-63, got \"x\"" },
	{ "workers: a queue read twice", P2 "workers:\n  - lcore: 1\n"
	  "    rx: [{port: p, queue: 0}]\n  - lcore: 2\n    rx: [{port: p, queue: 0}]\n" F, NULL,
	  "11:10: workers[1].rx[0]: port \"p\" queue 0 is already read by workers[0] (lcore 1)" },
	{ "workers: a queue read by nobody", P2 "workers:\n  - lcore: 1\n"
	  "    rx: [{port: p, queue: 0}]\n" F, NULL,
	  "8:3: workers: port \"p\" queue 1 is not read by any worker" },

	/* watch: the rule list, each rule, each field's syntax, what can never match */
	{ "watch: not a list", "watch: {name: r}\n" F, NULL,
	  "1:8: watch: expected a list of at most 64 rules, got a mapping" },
	{ "watch: a rule that is a scalar", "watch: [r]\n" F, NULL,
	  "1:9: watch[0]: expected a mapping, got \"r\"" },
	{ "watch: 65 rules", NULL, gen_65_rules,
	  "66:5: watch: expected a list of at most 64 rules, got 65 entries" },
	{ "watch: missing name", "watch:\n  - match: {ttl: 1}\n" F, NULL,
	  "2:5: watch[0]: missing key 'name'" },
	{ "watch: missing match", "watch:\n  - name: r\n" F, NULL,
	  "2:5: watch[0]: missing key 'match'" },
	{ "watch: bad rule name", "watch:\n  - name: a/b\n    match: {ttl: 1}\n" F, NULL,
	  "2:11: watch[0].name: " NAME_SYNTAX "\"a/b\"" },
	{ "watch: duplicate rule name",
	  "watch:\n  - name: r\n    match: {ttl: 1}\n  - name: r\n    match: {ttl: 2}\n" F, NULL,
	  "4:11: watch[1].name: duplicate rule name \"r\" (first at watch[0], line 2)" },
	{ "watch: unknown key in a rule", "watch:\n  - name: r\n    when: {ttl: 1}\n" F, NULL,
	  "3:5: watch[0].when: unknown key (expected one of: name, match)" },
	{ "watch: unknown field in match", WR "      flags: S\n" F, NULL,
	  "4:7: watch[0].match.flags: unknown key (expected one of: " MATCH_KEYS ")" },
	{ "watch: field given twice", WR "      ttl: 1\n      ttl: 2\n" F, NULL,
	  "5:7: watch[0].match.ttl: duplicate key (first at line 4)" },
	{ "watch: empty match mapping", "watch:\n  - name: r\n    match: {}\n" F, NULL,
	  "3:12: watch[0].match: expected at least one of: " MATCH_KEYS ", got an empty mapping" },
	{ "watch: match with nothing", "watch:\n  - name: r\n    match:\n" F, NULL,
	  "3:11: watch[0].match: expected at least one of: " MATCH_KEYS ", got nothing" },
	{ "watch: match is a scalar", "watch:\n  - name: r\n    match: tcp\n" F, NULL,
	  "3:12: watch[0].match: expected a mapping, got \"tcp\"" },
	{ "watch: error in the second rule",
	  "watch:\n  - name: a\n    match: {ttl: 1}\n  - name: b\n    match: {ttl: x}\n" F, NULL,
	  "5:18: watch[1].match.ttl: " RANGE_8 "\"x\"" },

	/* alternatives */
	{ "watch: empty list", WR "      dst_port: []\n" F, NULL,
	  "4:17: watch[0].match.dst_port: expected a list of 1-16 alternatives, got an empty "
	  "list" },
	{ "watch: 17 alternatives",
	  WR "      dst_port: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]\n" F,
	  NULL,
	  "4:73: watch[0].match.dst_port: expected a list of 1-16 alternatives, got 17 entries" },
	{ "watch: 9 layouts",
	  WR "      options: [none, none, none, none, none, none, none, none, none]\n" F, NULL,
	  "4:65: watch[0].match.options: expected a list of 1-8 layouts, got 9 entries" },
	{ "watch: a list in a list", WR "      ip_id: [[1]]\n" F, NULL,
	  "4:15: watch[0].match.ip_id[0]: " RANGE_16 "a list" },

	/* numbers and ranges */
	{ "watch: window above 65535", WR "      window: 70000\n" F, NULL,
	  "4:15: watch[0].match.window: " RANGE_16 "\"70000\"" },
	{ "watch: ttl above 255", WR "      ttl: 256\n" F, NULL,
	  "4:12: watch[0].match.ttl: " RANGE_8 "\"256\"" },
	{ "watch: range end above 255", WR "      wscale: \"0-256\"\n" F, NULL,
	  "4:15: watch[0].match.wscale: " RANGE_8 "\"0-256\"" },
	{ "watch: reversed range", WR "      dst_port: [23, \"2048-1024\"]\n" F, NULL,
	  "4:22: watch[0].match.dst_port[1]: range \"2048-1024\" is reversed (did you mean "
	  "\"1024-2048\"?)" },
	{ "watch: open range", WR "      mss: 1460-\n" F, NULL,
	  "4:12: watch[0].match.mss: " RANGE_16 "\"1460-\"" },
	{ "watch: negative number", WR "      src_port: -1\n" F, NULL,
	  "4:17: watch[0].match.src_port: " RANGE_16 "\"-1\"" },
	{ "watch: blanks in a range", WR "      payload_len: 1 - 20\n" F, NULL,
	  "4:20: watch[0].match.payload_len: " RANGE_16 "\"1 - 20\"" },
	{ "watch: leading zero", WR "      ip_id: \"054321\"\n" F, NULL,
	  "4:14: watch[0].match.ip_id: " RANGE_16 "\"054321\"" },
	{ "watch: a port name", WR "      dst_port: telnet\n" F, NULL,
	  "4:17: watch[0].match.dst_port: " RANGE_16 "\"telnet\"" },
	{ "watch: nothing", WR "      window:\n" F, NULL,
	  "4:14: watch[0].match.window: " RANGE_16 "nothing" },

	/* proto */
	{ "watch: unknown protocol name", WR "      proto: sctp\n" F, NULL,
	  "4:14: watch[0].match.proto: " PROTO_SYNTAX "\"sctp\"" },
	{ "watch: protocol names are lower case", WR "      proto: [tcp, TCP]\n" F, NULL,
	  "4:20: watch[0].match.proto[1]: " PROTO_SYNTAX "\"TCP\"" },
	{ "watch: protocol 256", WR "      proto: 256\n" F, NULL,
	  "4:14: watch[0].match.proto: " PROTO_SYNTAX "\"256\"" },
	{ "watch: protocol range", WR "      proto: 6-17\n" F, NULL,
	  "4:14: watch[0].match.proto: " PROTO_SYNTAX "\"6-17\"" },

	/* tcp_flags */
	{ "watch: unknown flag letter", WR "      tcp_flags: Sx\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: unknown flag \"x\" in \"Sx\" (expected F S R P A U E C, "
	  "or \"-\" for none)" },
	{ "watch: flag letters are upper case", WR "      tcp_flags: \"s/sa\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: unknown flag \"s\" in \"s/sa\" (expected F S R P A U E "
	  "C, or \"-\" for none)" },
	{ "watch: unknown letter in the mask", WR "      tcp_flags: \"S/SX\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: unknown flag \"X\" in \"S/SX\" (expected F S R P A U E "
	  "C, or \"-\" for none)" },
	{ "watch: FLAGS not within MASK", WR "      tcp_flags: \"SA/S\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: \"SA/S\": flags outside the mask (every flag of FLAGS "
	  "must also be in MASK)" },
	{ "watch: a flag twice", WR "      tcp_flags: [S, SS]\n" F, NULL,
	  "4:22: watch[0].match.tcp_flags[1]: flag S is given twice in \"SS\"" },
	{ "watch: empty flags", WR "      tcp_flags: \"\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: " FLAGS_SYNTAX "\"\"" },
	{ "watch: empty mask", WR "      tcp_flags: \"S/\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: " FLAGS_SYNTAX "\"S/\"" },
	{ "watch: two masks", WR "      tcp_flags: \"S/SA/F\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: " FLAGS_SYNTAX "\"S/SA/F\"" },
	{ "watch: \"-\" as a mask", WR "      tcp_flags: \"S/-\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: " FLAGS_SYNTAX "\"S/-\"" },
	{ "watch: \"-\" among letters", WR "      tcp_flags: \"-S\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: " FLAGS_SYNTAX "\"-S\"" },
	{ "watch: flags as a number", WR "      tcp_flags: 2\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: unknown flag \"2\" in \"2\" (expected F S R P A U E "
	  "C, or \"-\" for none)" },
	{ "watch: a control character in the flags", WR "      tcp_flags: \"S\\tA\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: " FLAGS_SYNTAX "\"S\\x09A\"" },
	{ "watch: a non-ASCII letter in the flags", WR "      tcp_flags: S\xc3\xa9\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: " FLAGS_SYNTAX "\"S\xc3\xa9\"" },
	{ "watch: a NUL in the flags", WR "      tcp_flags: \"S\\0\"\n" F, NULL,
	  "4:18: watch[0].match.tcp_flags: " FLAGS_SYNTAX "\"S\\x00\"" },
	{ "watch: a NUL in a layout", WR "      options: \"MSS\\0\"\n" F, NULL,
	  "4:16: watch[0].match.options: " LAYOUT_SYNTAX "\"MSS\\x00\"" },
	{ "watch: a NUL in a number", WR "      ttl: \"64\\0\"\n" F, NULL,
	  "4:12: watch[0].match.ttl: " RANGE_8 "\"64\\x00\"" },

	/* options */
	{ "watch: unknown option kind", WR "      options: \"MSS,NOP,WSCALE\"\n" F, NULL,
	  "4:16: watch[0].match.options: unknown option kind \"WSCALE\" in \"MSS,NOP,WSCALE\" "
	  KINDS },
	{ "watch: option names are upper case", WR "      options: [\"MSS,NOP\", mss]\n" F, NULL,
	  "4:28: watch[0].match.options[1]: unknown option kind \"mss\" in \"mss\" " KINDS },
	{ "watch: option kind 256", WR "      options: \"MSS,256\"\n" F, NULL,
	  "4:16: watch[0].match.options: unknown option kind \"256\" in \"MSS,256\" " KINDS },
	{ "watch: blank after a comma", WR "      options: \"MSS, NOP\"\n" F, NULL,
	  "4:16: watch[0].match.options: unknown option kind \" NOP\" in \"MSS, NOP\" " KINDS },
	{ "watch: layout of 41 kinds", NULL, gen_41_nops,
	  "4:16: watch[0].match.options: \"" NOP16 "...\" has 41 option kinds (at most 40: a TCP "
	  "header holds 40 bytes of options)" },
	{ "watch: none with other kinds", WR "      options: \"none,MSS\"\n" F, NULL,
	  "4:16: watch[0].match.options: \"none\" cannot be combined with other kinds in "
	  "\"none,MSS\"" },
	{ "watch: other kinds with none", WR "      options: \"MSS,none\"\n" F, NULL,
	  "4:16: watch[0].match.options: \"none\" cannot be combined with other kinds in "
	  "\"MSS,none\"" },
	{ "watch: empty option kind", WR "      options: \"MSS,,NOP\"\n" F, NULL,
	  "4:16: watch[0].match.options: " LAYOUT_SYNTAX "\"MSS,,NOP\"" },
	{ "watch: trailing comma", WR "      options: \"MSS,\"\n" F, NULL,
	  "4:16: watch[0].match.options: " LAYOUT_SYNTAX "\"MSS,\"" },
	{ "watch: empty layout", WR "      options: \"\"\n" F, NULL,
	  "4:16: watch[0].match.options: " LAYOUT_SYNTAX "\"\"" },

	/* seq_eq_dst */
	{ "watch: seq_eq_dst not a bool", WR "      seq_eq_dst: 1\n" F, NULL,
	  "4:19: watch[0].match.seq_eq_dst: expected true or false, got \"1\"" },
	{ "watch: seq_eq_dst is a list", WR "      seq_eq_dst: [true]\n" F, NULL,
	  "4:19: watch[0].match.seq_eq_dst: expected true or false, got a list" },

	/* fields that proto rules out */
	{ "watch: a TCP field with proto udp", WR "      proto: udp\n      window: 5656\n" F, NULL,
	  "5:15: watch[0].match.window: matches TCP packets only, and match.proto does not "
	  "include tcp (6)" },
	{ "watch: seq_eq_dst with proto icmp", WR "      proto: icmp\n      seq_eq_dst: true\n" F,
	  NULL, "5:19: watch[0].match.seq_eq_dst: matches TCP packets only, and match.proto "
	  "does not include tcp (6)" },
	{ "watch: ports with ICMP only",
	  WR "      proto: [icmp, icmp6]\n      dst_port: 23\n" F, NULL,
	  "5:17: watch[0].match.dst_port: matches TCP and UDP packets only, and match.proto "
	  "includes neither tcp (6) nor udp (17)" },

	/* the document itself */
	{ "empty file", "", NULL, "1:1: document: empty document (at least 'feeds' is required)" },
	{ "comments only", "# nothing\n\n", NULL,
	  "1:1: document: empty document (at least 'feeds' is required)" },
	{ "a lone document marker", "---\n", NULL,
	  "1:1: document: empty document (at least 'feeds' is required)" },
	{ "two documents", F "---\n" F, NULL,
	  "4:1: document: only one YAML document is supported" },
	{ "anchor", "eal: &e\n  huge_pages: true\n" F, NULL,
	  "1:6: eal: anchors and aliases are not supported" },
	{ "alias", "redis:\n  host: *h\n" F, NULL,
	  "2:9: redis.host: anchors and aliases are not supported" },
	{ "merge key", "redis:\n  <<: *base\n" F, NULL,
	  "2:7: redis.<<: anchors and aliases are not supported" },
	{ "nested too deep", NULL, gen_deep,
	  "1:36: x[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
	  "[0][0][0][0][0][0][0]: nested deeper than 32 levels" },

	/* YAML syntax: libyaml's problem, its position, and where the construct began */
	{ "syntax: bad indentation", "redis:\n  port: 1\n bad: 2\n" F, NULL,
	  "3:2: yaml: did not find expected key (while parsing a block mapping started at line "
	  "1, column 1)" },
	{ "syntax: unterminated quote", "sensor:\n  id: \"abc\n", NULL,
	  "3:1: yaml: found unexpected end of stream (while scanning a quoted scalar started at "
	  "line 2, column 7)" },
	{ "syntax: tab indentation", "sensor:\n\tid: x\n", NULL,
	  "2:1: yaml: found character that cannot start any token (while scanning for the next "
	  "token started at line 2, column 1)" },
	{ "syntax: unclosed flow list", "feeds: [\n", NULL,
	  "2:1: yaml: did not find expected node content (while parsing a flow node started at "
	  "line 2, column 1)" },
	{ "syntax: invalid UTF-8", "sensor:\n  id: \xff\n", NULL,
	  "2:7: yaml: invalid leading UTF-8 octet (byte 0xff)" },
};

static void test_errors(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		char path[PATH_MAX], want[DS_CONFIG_ERR_MAX + PATH_MAX];
		struct ds_config_error err;
		struct ds_config *cfg;
		const char *yaml;
		struct tcase t;
		int e;

		tc_start(&t, "errors", error_cases[i].name);
		yaml = error_cases[i].gen != NULL ? error_cases[i].gen() : error_cases[i].yaml;
		cfg = load_text(yaml, path, &err, &e);
		if (cfg != NULL) {
			tc_fail(&t, "loaded, expected an error");
			ds_config_free(cfg);
		} else {
			snprintf(want, sizeof(want), "%s:%s", path, error_cases[i].want);
			EXPECT_STR(&t, err.msg, want);
			EXPECT_INT(&t, e, EINVAL);
		}
		tc_end(&t);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* watch: valid rules, every member of struct ds_watch_rule                                   */
/* ------------------------------------------------------------------------------------------ */

/* Rule 0 sets every field, several alternatives each; rule 1 two fields in flow style. */
static const char watch_full_yaml[] =
	F
	"watch:\n"
	"  - name: full.rule_1\n"                       /* line 5 */
	"    match:\n"
	"      proto: [tcp, udp, icmp, icmp6, 0, 255, \"132\"]\n"
	"      dst_port: [23, 2323, \"8000-8099\", 0-0, 65535]\n"
	"      src_port: 53\n"
	"      tcp_flags: [\"S/SA\", S, \"-\", \"-/RF\", FSRPAUEC, \"C/CE\"]\n"
	"      window: [5656, \"1024-2048\"]\n"
	"      ttl: \"200-255\"\n"
	"      options:\n"
	"        - MSS,NOP,WS,NOP,NOP,SACK\n"
	"        - none\n"
	"        - \"MSS,SACK,TS,NOP,WS\"\n"
	"        - EOL,SACKB,254,0\n"
	"      mss: [1460, \"536-1400\"]\n"
	"      wscale: 0-14\n"
	"      seq_eq_dst: true\n"
	"      ip_id: 54321\n"
	"      payload_len: [0, \"1-20\"]\n"
	"  - name: second\n"                            /* line 23 */
	"    match: {ttl: 64, seq_eq_dst: no}\n";

static void expect_ranges(struct tcase *t, const char *what, const struct ds_range16 *got,
			  unsigned int n_got, const unsigned int *want, unsigned int n_want)
{
	char name[64];
	unsigned int i;

	snprintf(name, sizeof(name), "n_%s", what);
	expect_int(t, name, n_got, n_want);
	for (i = 0; i < n_got && i < n_want; i++) {
		snprintf(name, sizeof(name), "%s[%u].lo", what, i);
		expect_int(t, name, got[i].lo, want[2 * i]);
		snprintf(name, sizeof(name), "%s[%u].hi", what, i);
		expect_int(t, name, got[i].hi, want[2 * i + 1]);
	}
}

#define EXPECT_RANGES(t, r, field, ...) do { \
	static const unsigned int want_[] = { __VA_ARGS__ }; \
	expect_ranges(t, #field, (r)->field, (r)->n_##field, want_, \
		      sizeof(want_) / sizeof(want_[0]) / 2); \
} while (0)

static void expect_layout(struct tcase *t, const struct ds_watch_layout *l, unsigned int i,
			  const uint8_t *want, unsigned int n)
{
	char name[64];
	unsigned int k;

	snprintf(name, sizeof(name), "options[%u].n", i);
	expect_int(t, name, l->n, n);
	for (k = 0; k < n && k < l->n; k++) {
		snprintf(name, sizeof(name), "options[%u].kinds[%u]", i, k);
		expect_int(t, name, l->kinds[k], want[k]);
	}
}

static void test_watch_full(void)
{
	static const uint8_t lay0[] = { 2, 1, 3, 1, 1, 4 }, lay2[] = { 2, 4, 8, 1, 3 },
			     lay3[] = { 0, 5, 254, 0 };
	/* proto bitmap: 0, 1, 6 in byte 0; 17 in byte 2; 58 in byte 7; 132 in 16; 255 in 31 */
	uint8_t proto[32] = { [0] = 0x43, [2] = 0x02, [7] = 0x04, [16] = 0x10, [31] = 0x80 };
	const struct ds_watch_rule *r;
	struct ds_config_error err;
	struct ds_config *cfg;
	char path[PATH_MAX], name[32];
	struct tcase t;
	unsigned int i;
	int e;

	tc_start(&t, "watch", "a rule with every field, and a second rule");
	cfg = load_text(watch_full_yaml, path, &err, &e);
	if (cfg == NULL) {
		tc_fail(&t, "load failed: %s", err.msg);
		tc_end(&t);
		return;
	}
	EXPECT_INT(&t, cfg->n_watch, 2);
	r = &cfg->watch[0];
	EXPECT_STR(&t, r->name, "full.rule_1");
	EXPECT_INT(&t, r->line, 5);
	EXPECT_INT(&t, r->fields, 0xfff);
	EXPECT_INT(&t, r->fields, DS_WATCH_PROTO | DS_WATCH_DST_PORT | DS_WATCH_SRC_PORT |
		   DS_WATCH_TCP_FLAGS | DS_WATCH_WINDOW | DS_WATCH_TTL | DS_WATCH_OPTIONS |
		   DS_WATCH_MSS | DS_WATCH_WSCALE | DS_WATCH_SEQ_EQ_DST | DS_WATCH_IP_ID |
		   DS_WATCH_PAYLOAD_LEN);
	for (i = 0; i < 32; i++) {
		snprintf(name, sizeof(name), "proto[%u]", i);
		expect_int(&t, name, r->proto[i], proto[i]);
	}
	EXPECT_RANGES(&t, r, dst_port, 23, 23, 2323, 2323, 8000, 8099, 0, 0, 65535, 65535);
	EXPECT_RANGES(&t, r, src_port, 53, 53);
	EXPECT_INT(&t, r->n_tcp_flags, 6);
	if (r->n_tcp_flags == 6) {
		EXPECT_INT(&t, r->tcp_flags[0].value, 0x02);    /* S/SA */
		EXPECT_INT(&t, r->tcp_flags[0].mask, 0x12);
		EXPECT_INT(&t, r->tcp_flags[1].value, 0x02);    /* S: exactly SYN */
		EXPECT_INT(&t, r->tcp_flags[1].mask, 0xff);
		EXPECT_INT(&t, r->tcp_flags[2].value, 0x00);    /* -: no flag at all */
		EXPECT_INT(&t, r->tcp_flags[2].mask, 0xff);
		EXPECT_INT(&t, r->tcp_flags[3].value, 0x00);    /* -/RF: neither RST nor FIN */
		EXPECT_INT(&t, r->tcp_flags[3].mask, 0x05);
		EXPECT_INT(&t, r->tcp_flags[4].value, 0xff);    /* every flag */
		EXPECT_INT(&t, r->tcp_flags[4].mask, 0xff);
		EXPECT_INT(&t, r->tcp_flags[5].value, 0x80);    /* C/CE: CWR without ECE */
		EXPECT_INT(&t, r->tcp_flags[5].mask, 0xc0);
	}
	EXPECT_RANGES(&t, r, window, 5656, 5656, 1024, 2048);
	EXPECT_RANGES(&t, r, ttl, 200, 255);
	EXPECT_INT(&t, r->n_options, 4);
	if (r->n_options == 4) {
		expect_layout(&t, &r->options[0], 0, lay0, sizeof(lay0));
		expect_layout(&t, &r->options[1], 1, NULL, 0);
		expect_layout(&t, &r->options[2], 2, lay2, sizeof(lay2));
		expect_layout(&t, &r->options[3], 3, lay3, sizeof(lay3));
	}
	EXPECT_RANGES(&t, r, mss, 1460, 1460, 536, 1400);
	EXPECT_RANGES(&t, r, wscale, 0, 14);
	EXPECT_INT(&t, r->seq_eq_dst, true);
	EXPECT_RANGES(&t, r, ip_id, 54321, 54321);
	EXPECT_RANGES(&t, r, payload_len, 0, 0, 1, 20);

	/* The second rule: what is not given stays empty, for the matcher to skip. */
	r = &cfg->watch[1];
	EXPECT_STR(&t, r->name, "second");
	EXPECT_INT(&t, r->line, 23);
	EXPECT_INT(&t, r->fields, DS_WATCH_TTL | DS_WATCH_SEQ_EQ_DST);
	EXPECT_RANGES(&t, r, ttl, 64, 64);
	EXPECT_INT(&t, r->seq_eq_dst, false);
	for (i = 0; i < 32; i++)
		if (r->proto[i] != 0)
			tc_fail(&t, "watch[1].proto[%u] = %u, want 0", i, r->proto[i]);
	EXPECT_INT(&t, r->n_dst_port + r->n_src_port + r->n_tcp_flags + r->n_window +
		   r->n_options + r->n_mss + r->n_wscale + r->n_ip_id + r->n_payload_len, 0);
	ds_config_free(cfg);
	tc_end(&t);
}

static void chk_watch_64(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->n_watch, 64);
	if (c->n_watch != 64)
		return;
	EXPECT_STR(t, c->watch[0].name, "r0");
	EXPECT_INT(t, c->watch[0].line, 2);
	EXPECT_STR(t, c->watch[63].name, "r63");
	EXPECT_INT(t, c->watch[63].line, 65);
	EXPECT_INT(t, c->watch[63].fields, DS_WATCH_DST_PORT);
	EXPECT_INT(t, c->watch[63].n_dst_port, 1);
	EXPECT_INT(t, c->watch[63].dst_port[0].lo, 63);
	EXPECT_INT(t, c->watch[63].dst_port[0].hi, 63);
}

static void chk_watch_40_nops(struct tcase *t, const struct ds_config *c)
{
	unsigned int k;

	EXPECT_INT(t, c->n_watch, 1);
	EXPECT_INT(t, c->watch[0].n_options, 1);
	EXPECT_INT(t, c->watch[0].options[0].n, 40);
	for (k = 0; k < 40; k++)
		if (c->watch[0].options[0].kinds[k] != 1)
			tc_fail(t, "kinds[%u] = %u, want 1 (NOP)", k,
				c->watch[0].options[0].kinds[k]);
}

static void chk_watch_limits(struct tcase *t, const struct ds_config *c)
{
	const struct ds_watch_rule *r = &c->watch[0];
	unsigned int i;

	EXPECT_INT(t, r->n_dst_port, 16);
	for (i = 0; i < 16 && i < r->n_dst_port; i++)
		if (r->dst_port[i].lo != i + 1 || r->dst_port[i].hi != i + 1)
			tc_fail(t, "dst_port[%u] = %u-%u, want %u", i, r->dst_port[i].lo,
				r->dst_port[i].hi, i + 1);
	EXPECT_INT(t, r->n_options, 8);
	EXPECT_INT(t, r->options[7].n, 1);
	EXPECT_INT(t, r->options[7].kinds[0], 8);
	/* Bounds: the largest value of each width. */
	EXPECT_INT(t, r->window[0].lo, 65535);
	EXPECT_INT(t, r->ttl[0].lo, 0);
	EXPECT_INT(t, r->ttl[0].hi, 255);
	EXPECT_INT(t, r->wscale[0].hi, 255);
}

static void chk_watch_empty(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->n_watch, 0);
}

/* proto leaves the ports possible (udp, or icmp with udp): not "can never match". */
static void chk_watch_udp_ports(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->n_watch, 2);
	EXPECT_INT(t, c->watch[0].fields,
		   DS_WATCH_PROTO | DS_WATCH_SRC_PORT | DS_WATCH_PAYLOAD_LEN);
	EXPECT_INT(t, c->watch[0].proto[2], 0x02);
	EXPECT_INT(t, c->watch[0].src_port[0].lo, 53);
	EXPECT_INT(t, c->watch[1].proto[0], 0x02);
	EXPECT_INT(t, c->watch[1].proto[2], 0x02);
	EXPECT_INT(t, c->watch[1].n_dst_port, 1);
}

/* Quoted and unquoted numbers mean the same; yes is true. */
static void chk_watch_quoted(struct tcase *t, const struct ds_config *c)
{
	const struct ds_watch_rule *r = &c->watch[0];

	EXPECT_INT(t, r->n_window, 2);
	EXPECT_INT(t, r->window[0].lo, 5656);
	EXPECT_INT(t, r->window[1].lo, 5656);
	EXPECT_INT(t, r->seq_eq_dst, true);
	EXPECT_INT(t, r->proto[0], 0x40);
	EXPECT_INT(t, r->fields, DS_WATCH_PROTO | DS_WATCH_WINDOW | DS_WATCH_SEQ_EQ_DST);
}

static const struct {
	const char *name;
	const char *yaml;
	const char *(*gen)(void);
	void (*check)(struct tcase *t, const struct ds_config *c);
} watch_cases[] = {
	{ "64 rules", NULL, gen_64_rules, chk_watch_64 },
	{ "a layout of 40 kinds", NULL, gen_40_nops, chk_watch_40_nops },
	{ "16 alternatives, 8 layouts, values at their bounds",
	  "watch:\n  - name: r\n    match:\n"
	  "      dst_port: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n"
	  "      options: [none, none, none, none, none, none, none, TS]\n"
	  "      window: 65535\n      ttl: 0-255\n      wscale: \"255\"\n" F, NULL,
	  chk_watch_limits },
	{ "watch: []", "watch: []\n" F, NULL, chk_watch_empty },
	{ "watch with nothing", "watch:\n" F, NULL, chk_watch_empty },
	{ "ports with proto udp, or icmp and udp",
	  "watch:\n  - {name: dns, match: {proto: udp, src_port: 53, payload_len: 0-511}}\n"
	  "  - {name: mix, match: {proto: [icmp, udp], dst_port: 161}}\n" F, NULL,
	  chk_watch_udp_ports },
	{ "quoted numbers, yes as a bool",
	  "watch:\n  - name: r\n    match:\n      proto: \"6\"\n      window: [5656, \"5656\"]\n"
	  "      seq_eq_dst: yes\n" F, NULL, chk_watch_quoted },
};

static void test_watch(void)
{
	unsigned int i;

	test_watch_full();
	for (i = 0; i < sizeof(watch_cases) / sizeof(watch_cases[0]); i++) {
		struct ds_config_error err;
		struct ds_config *cfg;
		char path[PATH_MAX];
		struct tcase t;
		int e;

		tc_start(&t, "watch", watch_cases[i].name);
		cfg = load_text(watch_cases[i].gen != NULL ? watch_cases[i].gen() :
				watch_cases[i].yaml, path, &err, &e);
		if (cfg == NULL)
			tc_fail(&t, "load failed: %s", err.msg);
		else
			watch_cases[i].check(&t, cfg);
		ds_config_free(cfg);
		tc_end(&t);
	}
}

/* Errors about the file itself: the path as given, 1:1, and errno from the system. */
static void test_file_errors(void)
{
	struct ds_config_error err;
	char path[PATH_MAX], want[DS_CONFIG_ERR_MAX + PATH_MAX];
	const char *dir = getenv("TMPDIR");
	struct tcase t;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";

	tc_start(&t, "file", "missing file");
	snprintf(path, sizeof(path), "%s/ds_test_config_no_such_file.yaml", dir);
	errno = 0;
	if (ds_config_load(path, &err) != NULL)
		tc_fail(&t, "loaded a missing file");
	EXPECT_INT(&t, errno, ENOENT);
	snprintf(want, sizeof(want), "%s:1:1: file: cannot open: No such file or directory", path);
	EXPECT_STR(&t, err.msg, want);
	tc_end(&t);

	tc_start(&t, "file", "a directory");
	errno = 0;
	if (ds_config_load(dir, &err) != NULL)
		tc_fail(&t, "loaded a directory");
	EXPECT_INT(&t, errno, EISDIR);
	snprintf(want, sizeof(want), "%s:1:1: file: cannot read: Is a directory", dir);
	EXPECT_STR(&t, err.msg, want);
	tc_end(&t);

	tc_start(&t, "file", "relative path kept as given");
	errno = 0;
	if (ds_config_load("./ds_test_config_no_such_file.yaml", &err) != NULL)
		tc_fail(&t, "loaded a missing file");
	EXPECT_STR(&t, err.msg, "./ds_test_config_no_such_file.yaml:1:1: file: cannot open: No "
		   "such file or directory");
	tc_end(&t);
}

/* ------------------------------------------------------------------------------------------ */
/* geo: the sources are files, so these cases run in a directory that holds them             */
/* ------------------------------------------------------------------------------------------ */

static char geo_dir[PATH_MAX];

/*
 * The files the geo cases name (the real data sets' names), each holding one
 * line: the loader only checks that they can be opened. n00.csv-n16.csv feed
 * the 16- and 17-source cases; latest.pfx2as.gz is a symlink to the RouteViews
 * file, data/ a directory.
 */
static const char *const geo_files[] = {
	"routeviews-pfx2as.gz", "asn-ipv4-num.csv", "asn-country-ipv4-num.csv",
	"nro-delegated-stats", "GeoLite2-ASN-Blocks-IPv4.csv", "GeoLite2-Country-Blocks-IPv4.csv",
	"GeoLite2-Country-Locations-en.csv", "data/asn-ipv4-num.csv",
};
#define GEO_N_NUMBERED 17

static int write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok;

	if (fd < 0) {
		perror(path);
		return -1;
	}
	ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

/* dir/name into out (PATH_MAX bytes); "" if it does not fit, which no case expects. */
static void geo_file_path(char *out, const char *dir, const char *name)
{
	if (snprintf(out, PATH_MAX, "%s/%s", dir, name) >= PATH_MAX)
		out[0] = '\0';
}

static int geo_setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[PATH_MAX], name[16];
	size_t len;
	unsigned int i;

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	/* "/tmp/" would give "/tmp//x", which the loader writes "/tmp/x": compare like to like. */
	len = strlen(tmp);
	while (len > 1 && tmp[len - 1] == '/')
		len--;
	snprintf(geo_dir, sizeof(geo_dir), "%.*s/ds_test_config_geo_XXXXXX", (int)len, tmp);
	if (mkdtemp(geo_dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	geo_file_path(path, geo_dir, "data");
	if (mkdir(path, 0755) != 0)
		return -1;
	for (i = 0; i < sizeof(geo_files) / sizeof(geo_files[0]); i++) {
		geo_file_path(path, geo_dir, geo_files[i]);
		if (write_file(path, "x\n", 2) != 0)
			return -1;
	}
	for (i = 0; i < GEO_N_NUMBERED; i++) {
		snprintf(name, sizeof(name), "n%02u.csv", i);
		geo_file_path(path, geo_dir, name);
		if (write_file(path, "x\n", 2) != 0)
			return -1;
	}
	geo_file_path(path, geo_dir, "latest.pfx2as.gz");
	return symlink("routeviews-pfx2as.gz", path);
}

static void geo_teardown(void)
{
	char path[PATH_MAX], name[16];
	unsigned int i;

	for (i = 0; i < sizeof(geo_files) / sizeof(geo_files[0]); i++) {
		geo_file_path(path, geo_dir, geo_files[i]);
		unlink(path);
	}
	for (i = 0; i < GEO_N_NUMBERED; i++) {
		snprintf(name, sizeof(name), "n%02u.csv", i);
		geo_file_path(path, geo_dir, name);
		unlink(path);
	}
	geo_file_path(path, geo_dir, "latest.pfx2as.gz");
	unlink(path);
	geo_file_path(path, geo_dir, "data");
	rmdir(path);
	rmdir(geo_dir);
}

/* tmpl with every "$D" replaced by the geo directory. */
static void geo_subst(const char *tmpl, char *out, size_t size)
{
	size_t o = 0, dlen = strlen(geo_dir);

	while (*tmpl != '\0' && o + dlen + 1 < size) {
		if (tmpl[0] == '$' && tmpl[1] == 'D') {
			memcpy(out + o, geo_dir, dlen);
			o += dlen;
			tmpl += 2;
		} else {
			out[o++] = *tmpl++;
		}
	}
	out[o] = '\0';
}

static char geo_yaml[1 << 16];

/* Loads tmpl ("$D" substituted) from $D/c.yaml: relative paths resolve in $D. */
static struct ds_config *load_geo(const char *tmpl, struct ds_config_error *err, int *err_no)
{
	struct ds_config *cfg;
	char path[PATH_MAX];

	geo_subst(tmpl, geo_yaml, sizeof(geo_yaml));
	geo_file_path(path, geo_dir, "c.yaml");
	if (write_file(path, geo_yaml, strlen(geo_yaml)) != 0) {
		snprintf(err->msg, sizeof(err->msg), "cannot write %.300s", path);
		*err_no = EIO;
		return NULL;
	}
	errno = 0;
	cfg = ds_config_load(path, err);
	*err_no = errno;
	unlink(path);
	return cfg;
}

/* got is the geo directory followed by "/" and name. */
static void expect_geo_path(struct tcase *t, const char *what, const char *got, const char *name)
{
	char want[PATH_MAX];

	geo_file_path(want, geo_dir, name);
	expect_str(t, what, got, want);
}

#define EXPECT_GEO_PATH(t, expr, name) expect_geo_path(t, #expr, (expr), (name))

/* The feeds every geo snippet starts with, then "geo:" on line 4. */
#define G F "geo:\n"

static const char geo_full_yaml[] =
	G
	"  country_source: prefix\n"
	"  home_country: JP\n"
	"  derive_asn_country: false\n"
	"  sources:\n"
	"    - format: caida-pfx2as\n"                 /* line 9: absolute path */
	"      path: $D/routeviews-pfx2as.gz\n"
	"    - format: ip-location-db-asn\n"           /* line 11: relative */
	"      path: asn-ipv4-num.csv\n"
	"      provides: [prefix_asn]\n"
	"    - format: ip-location-db-country\n"       /* line 14 */
	"      path: ./asn-country-ipv4-num.csv\n"
	"    - format: rir-delegated\n"                /* line 16 */
	"      path: nro-delegated-stats\n"
	"      provides: [asn_country]\n"
	"    - format: maxmind-asn\n"                  /* line 19 */
	"      path: GeoLite2-ASN-Blocks-IPv4.csv\n"
	"    - {format: maxmind-country, path: GeoLite2-Country-Blocks-IPv4.csv,\n" /* line 21 */
	"       locations: GeoLite2-Country-Locations-en.csv, provides: [prefix_country]}\n"
	"limits:\n"
	"  src_asns: 1048576\n";

static void chk_geo_full(struct tcase *t, const struct ds_config *c)
{
	const struct ds_config_geo *g = &c->geo;
	static const struct {
		enum ds_geo_format format;
		const char *file;
		uint32_t provides;
		uint32_t line;
	} want[] = {
		{ DS_GEO_CAIDA_PFX2AS, "routeviews-pfx2as.gz", DS_GEO_PREFIX_ASN, 9 },
		{ DS_GEO_IPLOC_ASN, "asn-ipv4-num.csv", DS_GEO_PREFIX_ASN, 11 },
		{ DS_GEO_IPLOC_COUNTRY, "asn-country-ipv4-num.csv", DS_GEO_PREFIX_COUNTRY, 14 },
		{ DS_GEO_RIR_DELEGATED, "nro-delegated-stats", DS_GEO_ASN_COUNTRY, 16 },
		{ DS_GEO_MAXMIND_ASN, "GeoLite2-ASN-Blocks-IPv4.csv", DS_GEO_PREFIX_ASN, 19 },
		{ DS_GEO_MAXMIND_COUNTRY, "GeoLite2-Country-Blocks-IPv4.csv",
		  DS_GEO_PREFIX_COUNTRY, 21 },
	};
	unsigned int i;

	EXPECT_INT(t, g->enabled, true);
	EXPECT_INT(t, g->country_source, DS_GEO_COUNTRY_BY_PREFIX);
	EXPECT_STR(t, g->home_country, "JP");
	EXPECT_INT(t, g->derive_asn_country, false);
	EXPECT_INT(t, c->limits.src_asns, 1048576);
	EXPECT_INT(t, g->n_sources, 6);
	for (i = 0; i < 6 && i < g->n_sources; i++) {
		EXPECT_INT(t, g->sources[i].format, want[i].format);
		EXPECT_GEO_PATH(t, g->sources[i].path, want[i].file);
		EXPECT_INT(t, g->sources[i].provides, want[i].provides);
		EXPECT_INT(t, g->sources[i].line, want[i].line);
		if (i < 5)
			EXPECT_STR(t, g->sources[i].locations, "");
	}
	if (g->n_sources == 6)
		EXPECT_GEO_PATH(t, g->sources[5].locations, "GeoLite2-Country-Locations-en.csv");
}

static void chk_geo_relative(struct tcase *t, const struct ds_config *c)
{
	const struct ds_config_geo *g = &c->geo;

	EXPECT_INT(t, g->n_sources, 3);
	if (g->n_sources != 3)
		return;
	EXPECT_GEO_PATH(t, g->sources[0].path, "data/asn-ipv4-num.csv");
	/* ".." is left to the kernel: through a symlinked data/ it means something else. */
	EXPECT_GEO_PATH(t, g->sources[1].path, "data/../asn-ipv4-num.csv");
	/* A symlink is kept as written, not replaced by its target. */
	EXPECT_GEO_PATH(t, g->sources[2].path, "latest.pfx2as.gz");
	/* The defaults: all the format gives. */
	EXPECT_INT(t, g->sources[0].provides, DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY);
	EXPECT_INT(t, g->sources[1].provides, DS_GEO_PREFIX_ASN);
	EXPECT_INT(t, g->sources[2].provides, DS_GEO_PREFIX_ASN);
	EXPECT_INT(t, g->country_source, DS_GEO_COUNTRY_BY_ASN);
	EXPECT_INT(t, g->derive_asn_country, true);
}

static void chk_geo_off(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->geo.enabled, false);
	EXPECT_INT(t, c->geo.n_sources, 0);
	EXPECT_INT(t, c->geo.derive_asn_country, false);
}

static void chk_geo_countries_only(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->geo.enabled, true);
	EXPECT_INT(t, c->geo.n_sources, 1);
	EXPECT_INT(t, c->geo.country_source, DS_GEO_COUNTRY_BY_PREFIX);
	EXPECT_STR(t, c->geo.home_country, "DE");
	EXPECT_INT(t, c->geo.sources[0].provides, DS_GEO_PREFIX_COUNTRY);
}

static void chk_geo_asn_country_only(struct tcase *t, const struct ds_config *c)
{
	EXPECT_STR(t, c->geo.home_country, "NO");
	EXPECT_INT(t, c->geo.n_sources, 2);
	EXPECT_INT(t, c->geo.sources[1].provides, DS_GEO_ASN_COUNTRY);
}

static void chk_geo_two_formats(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->geo.n_sources, 2);
	EXPECT_INT(t, c->geo.sources[0].format, DS_GEO_IPLOC_ASN);
	EXPECT_INT(t, c->geo.sources[1].format, DS_GEO_CAIDA_PFX2AS);
	EXPECT_GEO_PATH(t, c->geo.sources[1].path, "asn-ipv4-num.csv");
}

static void chk_geo_16(struct tcase *t, const struct ds_config *c)
{
	EXPECT_INT(t, c->geo.n_sources, 16);
	if (c->geo.n_sources == 16) {
		EXPECT_GEO_PATH(t, c->geo.sources[15].path, "n15.csv");
		EXPECT_INT(t, c->geo.sources[15].line, 21);
	}
}

/* n sources, one a line from line 6, each with its own file (n <= GEO_N_NUMBERED). */
static const char *gen_geo_sources(unsigned int n)
{
	size_t o = (size_t)snprintf(gen_buf, sizeof(gen_buf), G "  sources:\n");
	unsigned int i;

	for (i = 0; i < n; i++)
		o += (size_t)snprintf(gen_buf + o, sizeof(gen_buf) - o,
				      "    - {format: ip-location-db-asn, path: n%02u.csv}\n", i);
	return gen_buf;
}

static const char *gen_16_geo_sources(void)
{
	return gen_geo_sources(16);
}

static const char *gen_17_geo_sources(void)
{
	return gen_geo_sources(17);
}

static const struct {
	const char *name;
	const char *yaml;
	const char *(*gen)(void);
	void (*check)(struct tcase *t, const struct ds_config *c);
} geo_valid_cases[] = {
	{ "every key, every format, absolute and relative paths", geo_full_yaml, NULL,
	  chk_geo_full },
	{ "relative paths: a subdirectory, . and //, .., a symlink",
	  G "  sources:\n    - {format: rir-delegated, path: data//./asn-ipv4-num.csv}\n"
	  "    - {format: ip-location-db-asn, path: data/../asn-ipv4-num.csv}\n"
	  "    - {format: caida-pfx2as, path: latest.pfx2as.gz}\n", NULL, chk_geo_relative },
	{ "no sources: geo off, other keys still read",
	  G "  derive_asn_country: no\n  sources: []\n", NULL, chk_geo_off },
	{ "countries only: no source provides prefix_asn",
	  G "  country_source: prefix\n  home_country: DE\n  sources:\n"
	  "    - {format: ip-location-db-country, path: asn-country-ipv4-num.csv}\n", NULL,
	  chk_geo_countries_only },
	{ "home_country with only asn_country data; NO is text, not false",
	  G "  home_country: NO\n  sources:\n"
	  "    - {format: caida-pfx2as, path: routeviews-pfx2as.gz}\n"
	  "    - {format: rir-delegated, path: nro-delegated-stats, provides: [asn_country]}\n",
	  NULL, chk_geo_asn_country_only },
	{ "one file in two formats is not a duplicate",
	  G "  sources:\n    - {format: ip-location-db-asn, path: asn-ipv4-num.csv}\n"
	  "    - {format: caida-pfx2as, path: asn-ipv4-num.csv}\n", NULL, chk_geo_two_formats },
	{ "16 sources", NULL, gen_16_geo_sources, chk_geo_16 },
};

#define GEO_KEYS "country_source, home_country, derive_asn_country, sources"
#define GEO_FORMATS "caida-pfx2as, ip-location-db-asn, ip-location-db-country, rir-delegated, " \
		    "maxmind-asn or maxmind-country"
#define CC_SYNTAX "expected a country code of two upper-case letters A-Z such as \"JP\", got "
/* Line 5: "    - format: caida-pfx2as", line 6 its path: the RouteViews file. */
#define CAIDA "  sources:\n    - format: caida-pfx2as\n      path: routeviews-pfx2as.gz\n"
#define RIR "  sources:\n    - format: rir-delegated\n      path: nro-delegated-stats\n"

/* want is the message after "$D/c.yaml:"; "$D" stands for the geo directory in both. */
static const struct {
	const char *name;
	const char *yaml;
	const char *(*gen)(void);
	const char *want;
} geo_error_cases[] = {
	/* keys */
	{ "unknown key in geo", G "  country: JP\n", NULL,
	  "5:3: geo.country: unknown key (expected one of: " GEO_KEYS ")" },
	{ "unknown key in a source", G "  sources:\n    - format: caida-pfx2as\n      file: x\n",
	  NULL, "7:7: geo.sources[0].file: unknown key (expected one of: format, path, "
	  "locations, provides)" },
	{ "sources is not a list", G "  sources: caida-pfx2as\n", NULL,
	  "5:12: geo.sources: expected a list of at most 16 sources, got \"caida-pfx2as\"" },
	{ "17 sources", NULL, gen_17_geo_sources,
	  "22:7: geo.sources: expected a list of at most 16 sources, got 17 entries" },

	/* format */
	{ "bad format name", G "  sources:\n    - format: pfx2as\n      path: x\n", NULL,
	  "6:15: geo.sources[0].format: expected " GEO_FORMATS ", got \"pfx2as\"" },
	{ "format names are case-sensitive", G "  sources:\n    - {format: MaxMind-ASN, path: x}\n",
	  NULL, "6:16: geo.sources[0].format: expected " GEO_FORMATS ", got \"MaxMind-ASN\"" },
	{ "missing format", G "  sources:\n    - path: asn-ipv4-num.csv\n", NULL,
	  "6:7: geo.sources[0]: missing key 'format'" },

	/* path */
	{ "missing path", G "  sources:\n    - format: caida-pfx2as\n", NULL,
	  "6:7: geo.sources[0]: missing key 'path'" },
	{ "path: no such file (absolute)", G CAIDA "    - format: ip-location-db-asn\n"
	  "      path: /nonexistent/asn-ipv4-num.csv\n", NULL,
	  "9:13: geo.sources[1].path: cannot read \"/nonexistent/asn-ipv4-num.csv\": No such "
	  "file or directory" },
	{ "path: no such file (relative, named resolved)",
	  G "  sources:\n    - format: caida-pfx2as\n      path: geo/rv2.pfx2as.gz\n", NULL,
	  "7:13: geo.sources[0].path: cannot read \"$D/geo/rv2.pfx2as.gz\": No such file or "
	  "directory" },
	{ "path: a directory", G "  sources:\n    - format: caida-pfx2as\n      path: data/\n",
	  NULL, "7:13: geo.sources[0].path: cannot read \"$D/data\": Is a directory" },
	{ "path: empty", G "  sources:\n    - format: caida-pfx2as\n      path: \"\"\n", NULL,
	  "7:13: geo.sources[0].path: expected the path of a data file, got \"\"" },
	{ "path: nothing", G "  sources:\n    - format: caida-pfx2as\n      path:\n", NULL,
	  "7:12: geo.sources[0].path: expected the path of a data file, got nothing" },
	{ "path: a list", G "  sources:\n    - format: caida-pfx2as\n      path: [a, b]\n", NULL,
	  "7:13: geo.sources[0].path: expected a string of at most 4095 bytes without control "
	  "characters, got a list" },
	{ "duplicate source, same spelling", G CAIDA "    - format: caida-pfx2as\n"
	  "      path: routeviews-pfx2as.gz\n", NULL,
	  "9:13: geo.sources[1].path: duplicate source: caida-pfx2as "
	  "\"routeviews-pfx2as.gz\" (first at geo.sources[0], line 6)" },
	{ "duplicate source, absolute path and a symlink",
	  G "  sources:\n    - {format: caida-pfx2as, path: $D/routeviews-pfx2as.gz}\n"
	  "    - {format: ip-location-db-asn, path: asn-ipv4-num.csv}\n"
	  "    - {format: caida-pfx2as, path: ./latest.pfx2as.gz}\n", NULL,
	  "8:36: geo.sources[2].path: duplicate source: caida-pfx2as \"./latest.pfx2as.gz\" "
	  "(first at geo.sources[0], line 6)" },

	/* locations */
	{ "locations on a non-maxmind format", G "  sources:\n    - format: maxmind-asn\n"
	  "      path: GeoLite2-ASN-Blocks-IPv4.csv\n"
	  "      locations: GeoLite2-Country-Locations-en.csv\n", NULL,
	  "8:18: geo.sources[0].locations: only maxmind-country takes a locations file (this "
	  "source is maxmind-asn)" },
	{ "maxmind-country without locations", G "  sources:\n    - format: maxmind-country\n"
	  "      path: GeoLite2-Country-Blocks-IPv4.csv\n", NULL,
	  "6:7: geo.sources[0]: missing key 'locations' (maxmind-country needs its "
	  "Country-Locations CSV)" },
	{ "maxmind-country: locations missing", G "  sources:\n    - format: maxmind-country\n"
	  "      path: GeoLite2-Country-Blocks-IPv4.csv\n"
	  "      locations: GeoLite2-Country-Locations-ja.csv\n", NULL,
	  "8:18: geo.sources[0].locations: cannot read \"$D/GeoLite2-Country-Locations-ja.csv\": "
	  "No such file or directory" },
	{ "maxmind-country: locations empty", G "  sources:\n    - format: maxmind-country\n"
	  "      path: GeoLite2-Country-Blocks-IPv4.csv\n      locations:\n", NULL,
	  "8:17: geo.sources[0].locations: expected the path of a data file, got nothing" },

	/* provides */
	{ "provides what the format cannot give", G CAIDA
	  "      provides: [prefix_asn, prefix_country]\n", NULL,
	  "8:30: geo.sources[0].provides[1]: expected prefix_asn (what caida-pfx2as provides), "
	  "got \"prefix_country\"" },
	{ "rir-delegated does not provide prefix_asn", G RIR "      provides: [prefix_asn]\n",
	  NULL, "8:18: geo.sources[0].provides[0]: expected prefix_country or asn_country (what "
	  "rir-delegated provides), got \"prefix_asn\"" },
	{ "provides: unknown kind", G RIR "      provides: [asn]\n", NULL,
	  "8:18: geo.sources[0].provides[0]: expected prefix_asn, prefix_country or asn_country, "
	  "got \"asn\"" },
	{ "provides: listed twice", G RIR "      provides: [asn_country, asn_country]\n", NULL,
	  "8:31: geo.sources[0].provides[1]: asn_country is listed twice" },
	{ "provides: empty list", G RIR "      provides: []\n", NULL,
	  "8:17: geo.sources[0].provides: expected a list of 1-3 kinds of data, got an empty "
	  "list" },
	{ "provides: a word, not a list", G RIR "      provides: asn_country\n", NULL,
	  "8:17: geo.sources[0].provides: expected a list of 1-3 kinds of data, got "
	  "\"asn_country\"" },

	/* country_source, home_country, derive_asn_country */
	{ "country_source: unknown", G "  country_source: registry\n", NULL,
	  "5:19: geo.country_source: expected asn or prefix, got \"registry\"" },
	{ "country_source prefix without prefix_country data", G "  country_source: prefix\n"
	  "  sources:\n    - {format: caida-pfx2as, path: routeviews-pfx2as.gz}\n"
	  "    - {format: rir-delegated, path: nro-delegated-stats, provides: [asn_country]}\n",
	  NULL, "5:19: geo.country_source: prefix needs a source that provides prefix_country "
	  "(none of geo.sources does)" },
	{ "country_source prefix without sources", G "  country_source: prefix\n", NULL,
	  "5:19: geo.country_source: prefix needs a source that provides prefix_country "
	  "(none of geo.sources does)" },
	{ "home_country lower-case", G "  home_country: jp\n", NULL,
	  "5:17: geo.home_country: " CC_SYNTAX "\"jp\"" },
	{ "home_country with a lower-case second letter", G "  home_country: Jp\n", NULL,
	  "5:17: geo.home_country: " CC_SYNTAX "\"Jp\"" },
	{ "home_country of three letters", G "  home_country: JPN\n", NULL,
	  "5:17: geo.home_country: " CC_SYNTAX "\"JPN\"" },
	{ "home_country a number", G "  home_country: 81\n", NULL,
	  "5:17: geo.home_country: " CC_SYNTAX "\"81\"" },
	{ "home_country without country data", G "  home_country: JP\n" CAIDA, NULL,
	  "5:17: geo.home_country: \"JP\" needs a source that provides prefix_country or "
	  "asn_country (none of geo.sources does)" },
	{ "derive_asn_country: not a bool", G "  derive_asn_country: maybe\n", NULL,
	  "5:23: geo.derive_asn_country: expected true or false, got \"maybe\"" },
};

static void test_geo(void)
{
	static const char rel_yaml[] =
		G "  sources:\n    - {format: ip-location-db-asn, path: data/asn-ipv4-num.csv}\n";
	char want[DS_CONFIG_ERR_MAX + PATH_MAX], tmpl[DS_CONFIG_ERR_MAX + 64];
	char cwd[PATH_MAX], here[PATH_MAX], path[PATH_MAX];
	struct ds_config_error err;
	struct ds_config *cfg;
	unsigned int i;
	struct tcase t;
	int e;

	tc_start(&t, "geo", "set up the data directory");
	if (geo_setup() != 0) {
		tc_fail(&t, "cannot create %s and its files", geo_dir);
		tc_end(&t);
		geo_teardown();
		return;
	}
	tc_end(&t);

	for (i = 0; i < sizeof(geo_valid_cases) / sizeof(geo_valid_cases[0]); i++) {
		tc_start(&t, "geo", geo_valid_cases[i].name);
		cfg = load_geo(geo_valid_cases[i].gen != NULL ? geo_valid_cases[i].gen() :
			       geo_valid_cases[i].yaml, &err, &e);
		if (cfg == NULL)
			tc_fail(&t, "load failed: %s", err.msg);
		else
			geo_valid_cases[i].check(&t, cfg);
		ds_config_free(cfg);
		tc_end(&t);
	}

	for (i = 0; i < sizeof(geo_error_cases) / sizeof(geo_error_cases[0]); i++) {
		tc_start(&t, "geo_errors", geo_error_cases[i].name);
		cfg = load_geo(geo_error_cases[i].gen != NULL ? geo_error_cases[i].gen() :
			       geo_error_cases[i].yaml, &err, &e);
		if (cfg != NULL) {
			tc_fail(&t, "loaded, expected an error");
			ds_config_free(cfg);
		} else {
			snprintf(tmpl, sizeof(tmpl), "$D/c.yaml:%s", geo_error_cases[i].want);
			geo_subst(tmpl, want, sizeof(want));
			EXPECT_STR(&t, err.msg, want);
			EXPECT_INT(&t, e, EINVAL);
		}
		tc_end(&t);
	}

	/*
	 * A configuration named by a relative path: its directory is taken from
	 * the current one, and the stored path is absolute all the same.
	 */
	tc_start(&t, "geo", "configuration given by a relative path");
	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(geo_dir) != 0 ||
	    getcwd(here, sizeof(here)) == NULL) {
		tc_fail(&t, "cannot change to %s", geo_dir);
	} else {
		geo_file_path(path, geo_dir, "c.yaml");
		if (write_file(path, rel_yaml, strlen(rel_yaml)) != 0)
			tc_fail(&t, "cannot write %s", path);
		cfg = ds_config_load("./c.yaml", &err);
		if (cfg == NULL) {
			tc_fail(&t, "load failed: %s", err.msg);
		} else {
			geo_file_path(want, here, "data/asn-ipv4-num.csv");
			EXPECT_STR(&t, cfg->geo.sources[0].path, want);
			EXPECT_STR(&t, cfg->path, "./c.yaml");
		}
		ds_config_free(cfg);
		unlink(path);
		if (chdir(cwd) != 0)
			tc_fail(&t, "cannot change back to %s", cwd);
	}
	tc_end(&t);

	/* root opens any file: there the case cannot fail, so it is not run. */
	if (geteuid() == 0) {
		printf("skip geo: path: unreadable (running as root)\n");
	} else {
		tc_start(&t, "geo", "path: unreadable");
		geo_file_path(path, geo_dir, "n00.csv");
		if (chmod(path, 0) != 0)
			tc_fail(&t, "cannot chmod %s", path);
		cfg = load_geo(G "  sources:\n    - {format: caida-pfx2as, path: n00.csv}\n", &err,
			       &e);
		if (cfg != NULL) {
			tc_fail(&t, "loaded, expected an error");
			ds_config_free(cfg);
		} else {
			geo_subst("$D/c.yaml:6:36: geo.sources[0].path: cannot read "
				  "\"$D/n00.csv\": Permission denied", want, sizeof(want));
			EXPECT_STR(&t, err.msg, want);
		}
		tc_end(&t);
	}
	geo_teardown();
}

/*
 * The commented-out geo.sources example of the reference file, made live as
 * an operator would: the block from "  # sources:" loses its "# " (with
 * maxmind, the nested "# - ..." entries lose theirs too), and
 * /var/lib/darkscope/geo/ becomes the geo test directory, where every file
 * the example names is created.
 */
static struct ds_config *load_reference_example(const char *source_root, bool maxmind,
						struct ds_config_error *err, char (*made)[64],
						unsigned int *n_made)
{
	static const char var_dir[] = "/var/lib/darkscope/geo/";
	static char yaml[1 << 14];
	char path[PATH_MAX], line[512];
	size_t o = (size_t)snprintf(yaml, sizeof(yaml), G);
	bool in = false;
	FILE *f;
	int e;

	snprintf(path, sizeof(path), "%s/config/darkscope.yaml", source_root);
	f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err->msg, sizeof(err->msg), "cannot open %.300s", path);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL && o + sizeof(line) < sizeof(yaml)) {
		const char *var;
		char text[sizeof(line)], *nl;

		/* "  # x" -> "  x"; with maxmind, "  #   # - x" -> "    - x". */
		if (!in) {
			in = strcmp(line, "  # sources:\n") == 0;
			snprintf(text, sizeof(text), "  %s", line + 4);
		} else if (strncmp(line, "  #   ", 6) != 0) {
			break;
		} else if (maxmind && (strncmp(line, "  #   # - ", 10) == 0 ||
				       strncmp(line, "  #   #   ", 10) == 0)) {
			snprintf(text, sizeof(text), "    %s", line + 8);
		} else {
			snprintf(text, sizeof(text), "  %s", line + 4);
		}
		if (!in)
			continue;
		var = strstr(text, var_dir);
		if (var == NULL) {
			o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "%s", text);
			continue;
		}
		/* "path: /var/lib/darkscope/geo/x" -> "path: $D/x", and $D/x is created. */
		o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "%.*s$D/%s", (int)(var - text),
				      text, var + strlen(var_dir));
		nl = strchr(text, '\n');
		if (nl != NULL)
			*nl = '\0';
		var += strlen(var_dir);
		if (*n_made < 16) {
			snprintf(made[*n_made], sizeof(made[0]), "%s", var);
			geo_file_path(path, geo_dir, made[(*n_made)++]);
			write_file(path, "x\n", 2);
		}
	}
	fclose(f);
	return load_geo(yaml, err, &e);
}

static void test_reference_geo_example(const char *source_root)
{
	char made[16][64], path[PATH_MAX];
	struct ds_config_error err;
	struct ds_config *cfg;
	unsigned int i, n_made = 0;
	struct tcase t;

	tc_start(&t, "reference", "the geo.sources example loads once uncommented");
	if (geo_setup() != 0)
		tc_fail(&t, "cannot create %s and its files", geo_dir);
	cfg = load_reference_example(source_root, false, &err, made, &n_made);
	if (cfg == NULL) {
		tc_fail(&t, "load failed: %s", err.msg);
	} else {
		const struct ds_config_geo *g = &cfg->geo;

		EXPECT_INT(&t, g->enabled, true);
		EXPECT_INT(&t, g->n_sources, 4);
		if (g->n_sources == 4) {
			EXPECT_INT(&t, g->sources[0].format, DS_GEO_CAIDA_PFX2AS);
			EXPECT_GEO_PATH(&t, g->sources[0].path, "routeviews-pfx2as.gz");
			EXPECT_INT(&t, g->sources[1].format, DS_GEO_IPLOC_ASN);
			EXPECT_GEO_PATH(&t, g->sources[1].path, "asn-ipv4-num.csv");
			EXPECT_INT(&t, g->sources[2].format, DS_GEO_RIR_DELEGATED);
			EXPECT_INT(&t, g->sources[2].provides,
				   DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY);
			EXPECT_INT(&t, g->sources[3].format, DS_GEO_IPLOC_COUNTRY);
			EXPECT_GEO_PATH(&t, g->sources[3].path, "asn-country-ipv4-num.csv");
		}
	}
	ds_config_free(cfg);
	tc_end(&t);

	tc_start(&t, "reference", "the geo.sources example with its MaxMind entries");
	cfg = load_reference_example(source_root, true, &err, made, &n_made);
	if (cfg == NULL) {
		tc_fail(&t, "load failed: %s", err.msg);
	} else {
		const struct ds_config_geo *g = &cfg->geo;

		EXPECT_INT(&t, g->n_sources, 6);
		if (g->n_sources == 6) {
			EXPECT_INT(&t, g->sources[4].format, DS_GEO_MAXMIND_ASN);
			EXPECT_INT(&t, g->sources[5].format, DS_GEO_MAXMIND_COUNTRY);
			EXPECT_GEO_PATH(&t, g->sources[5].locations,
					"GeoLite2-Country-Locations-en.csv");
		}
	}
	ds_config_free(cfg);
	tc_end(&t);

	for (i = 0; i < n_made; i++) {
		geo_file_path(path, geo_dir, made[i]);
		unlink(path);
	}
	geo_teardown();
}

/* ------------------------------------------------------------------------------------------ */
/* The reference configuration                                                                */
/* ------------------------------------------------------------------------------------------ */

static void test_reference(const char *source_root)
{
	struct ds_config_error err;
	struct ds_config *cfg;
	char path[PATH_MAX];
	struct tcase t;

	tc_start(&t, "reference", "config/darkscope.yaml loads with its documented values");
	snprintf(path, sizeof(path), "%s/config/darkscope.yaml", source_root);
	cfg = ds_config_load(path, &err);
	if (cfg == NULL) {
		tc_fail(&t, "load failed: %s", err.msg);
		tc_end(&t);
		return;
	}
	EXPECT_STR(&t, cfg->sensor_id, "tokyo-1");
	EXPECT_STR(&t, cfg->eal.lcores, "auto");
	EXPECT_INT(&t, cfg->eal.main_lcore, -1);
	EXPECT_INT(&t, cfg->eal.memory_mb, 0);
	EXPECT_INT(&t, cfg->eal.huge_pages, true);
	EXPECT_STR(&t, cfg->eal.file_prefix, "darkscope");
	EXPECT_INT(&t, cfg->eal.n_extra_args, 0);
	EXPECT_INT(&t, cfg->capture.burst, 32);
	EXPECT_INT(&t, cfg->capture.mbufs, 0);
	EXPECT_INT(&t, cfg->capture.time_source, DS_TIME_AUTO);
	EXPECT_INT(&t, cfg->capture.stats_interval_s, 60);
	EXPECT_INT(&t, cfg->n_ports, 1);
	EXPECT_STR(&t, cfg->ports[0].name, "darknet0");
	EXPECT_STR(&t, cfg->ports[0].device, "0000:3b:00.0");
	EXPECT_INT(&t, cfg->ports[0].is_vdev, false);
	EXPECT_INT(&t, cfg->ports[0].rx_queues, 2);
	EXPECT_INT(&t, cfg->ports[0].rss, true);
	EXPECT_INT(&t, cfg->ports[0].rx_descriptors, 1024);
	EXPECT_INT(&t, cfg->ports[0].promiscuous, true);
	EXPECT_INT(&t, cfg->n_feeds, 2);
	EXPECT_STR(&t, cfg->feeds[0].name, "tsubame");
	EXPECT_INT(&t, cfg->feeds[0].port_mask, 0x1);
	EXPECT_INT(&t, cfg->feeds[0].n_prefixes, 3);
	if (cfg->feeds[0].n_prefixes == 3) {
		EXPECT_PREFIX(&t, cfg->feeds[0].prefixes[0], "131.243.0.0/16");
		EXPECT_PREFIX(&t, cfg->feeds[0].prefixes[1], "128.3.0.0/16");
		EXPECT_PREFIX(&t, cfg->feeds[0].prefixes[2], "2001:db8::/32");
	}
	EXPECT_STR(&t, cfg->feeds[1].name, "hibari");
	EXPECT_INT(&t, cfg->feeds[1].port_mask, 0x1);
	EXPECT_INT(&t, cfg->feeds[1].n_prefixes, 4);
	if (cfg->feeds[1].n_prefixes == 4) {
		EXPECT_PREFIX(&t, cfg->feeds[1].prefixes[0], "159.167.0.0/16");
		EXPECT_PREFIX(&t, cfg->feeds[1].prefixes[1], "198.18.0.0/16");
		EXPECT_PREFIX(&t, cfg->feeds[1].prefixes[2], "198.19.0.0/16");
		EXPECT_PREFIX(&t, cfg->feeds[1].prefixes[3], "192.150.186.0/23");
	}
	EXPECT_INT(&t, cfg->workers_auto, true);
	EXPECT_INT(&t, cfg->n_workers, 0);
	check_redis_defaults(&t, &cfg->redis);
	EXPECT_STR(&t, cfg->redis.spool_dir, "/var/lib/darkscope/spool");
	EXPECT_STR(&t, cfg->jsonl_path, "");
	EXPECT_INT(&t, cfg->limits.source_pairs, 1048576);
	EXPECT_INT(&t, cfg->limits.syn_option_layouts, 1024);
	EXPECT_INT(&t, cfg->limits.src_asns, 16384);
	EXPECT_INT(&t, cfg->limits.tcp_fingerprints, 4096);
	/* sources: [] is active (the example files do not exist here): geo off. */
	check_geo_defaults(&t, &cfg->geo);
	/* The two example rules: SYN without ACK (S/SA) is value 0x02 under mask 0x12. */
	EXPECT_INT(&t, cfg->n_watch, 2);
	if (cfg->n_watch == 2) {
		const struct ds_watch_rule *w = cfg->watch;

		EXPECT_STR(&t, w[0].name, "window-5656");
		EXPECT_INT(&t, w[0].fields, DS_WATCH_PROTO | DS_WATCH_TCP_FLAGS | DS_WATCH_WINDOW);
		EXPECT_INT(&t, w[0].proto[0], 0x40);
		EXPECT_INT(&t, w[0].n_tcp_flags, 1);
		EXPECT_INT(&t, w[0].tcp_flags[0].value, 0x02);
		EXPECT_INT(&t, w[0].tcp_flags[0].mask, 0x12);
		EXPECT_RANGES(&t, &w[0], window, 5656, 5656);
		EXPECT_STR(&t, w[1].name, "telnet-high-ttl");
		EXPECT_INT(&t, w[1].fields, DS_WATCH_PROTO | DS_WATCH_DST_PORT |
			   DS_WATCH_TCP_FLAGS | DS_WATCH_TTL);
		EXPECT_INT(&t, w[1].proto[0], 0x40);
		EXPECT_RANGES(&t, &w[1], dst_port, 23, 23, 2323, 2323);
		EXPECT_INT(&t, w[1].tcp_flags[0].value, 0x02);
		EXPECT_INT(&t, w[1].tcp_flags[0].mask, 0x12);
		EXPECT_RANGES(&t, &w[1], ttl, 200, 255);
		EXPECT_INT(&t, w[1].line > w[0].line, true);
	}
	ds_config_free(cfg);
	tc_end(&t);

	test_reference_geo_example(source_root);
}

/* ------------------------------------------------------------------------------------------ */
/* Redis URL override                                                                         */
/* ------------------------------------------------------------------------------------------ */

/* "/" and 106 "a": the longest path a sockaddr_un holds with its NUL. */
#define SOCK107 "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct {
	const char *url;
	int rc;
	const char *host;       /* expected afterwards; on error the unchanged base values */
	int port;
	const char *unix_socket;
	int db;
} url_cases[] = {
	{ "unix:/run/redis.sock", 0, "base.example", 1111, "/run/redis.sock", 0 },
	{ "unix:/run/redis.sock?db=2", 0, "base.example", 1111, "/run/redis.sock", 2 },
	{ "unix:" SOCK107, 0, "base.example", 1111, SOCK107, 0 },
	{ "redis://10.0.0.5:6380", 0, "10.0.0.5", 6380, "", 0 },
	{ "redis://10.0.0.5:6380/3", 0, "10.0.0.5", 6380, "", 3 },
	{ "redis://cache.example", 0, "cache.example", 6379, "", 0 },
	{ "redis://cache.example/4", 0, "cache.example", 6379, "", 4 },
	{ "redis://[::1]:6390/1", 0, "::1", 6390, "", 1 },
	{ "db.example:7000", 0, "db.example", 7000, "", 0 },
	{ "[2001:db8::1]:7000", 0, "2001:db8::1", 7000, "", 0 },
	{ "", -EINVAL, "base.example", 1111, "", 5 },
	{ "unix:", -EINVAL, "base.example", 1111, "", 5 },
	{ "unix:?db=1", -EINVAL, "base.example", 1111, "", 5 },
	{ "unix:/x?db=", -EINVAL, "base.example", 1111, "", 5 },
	{ "unix:/x?db=65536", -EINVAL, "base.example", 1111, "", 5 },
	{ "unix:/x?foo=1", -EINVAL, "base.example", 1111, "", 5 },
	{ "unix:" SOCK107 "a", -EINVAL, "base.example", 1111, "", 5 },
	{ "redis://", -EINVAL, "base.example", 1111, "", 5 },
	{ "redis://h:0", -EINVAL, "base.example", 1111, "", 5 },
	{ "redis://h:65536", -EINVAL, "base.example", 1111, "", 5 },
	{ "redis://h:1/x", -EINVAL, "base.example", 1111, "", 5 },
	{ "redis://h:1/", -EINVAL, "base.example", 1111, "", 5 },
	{ "redis://u:pw@h:1", -EINVAL, "base.example", 1111, "", 5 },
	{ "redis://[::1", -EINVAL, "base.example", 1111, "", 5 },
	{ "redis://[]:1", -EINVAL, "base.example", 1111, "", 5 },
	{ "redis://[::1]x", -EINVAL, "base.example", 1111, "", 5 },
	{ "h", -EINVAL, "base.example", 1111, "", 5 },
	{ "h:", -EINVAL, "base.example", 1111, "", 5 },
	{ ":6379", -EINVAL, "base.example", 1111, "", 5 },
	{ "::1:6379", -EINVAL, "base.example", 1111, "", 5 },
	{ "h:1/2", -EINVAL, "base.example", 1111, "", 5 },
	{ "h:1x", -EINVAL, "base.example", 1111, "", 5 },
	{ "http://h:1", -EINVAL, "base.example", 1111, "", 5 },
};

static void test_redis_url(void)
{
	struct ds_config *cfg = calloc(1, sizeof(*cfg));
	struct ds_config_error err;
	unsigned int i;
	struct tcase t;

	if (cfg == NULL) {
		printf("FAIL redis_url: out of memory\n");
		failures++;
		return;
	}
	for (i = 0; i < sizeof(url_cases) / sizeof(url_cases[0]); i++) {
		strcpy(cfg->redis.host, "base.example");
		cfg->redis.port = 1111;
		cfg->redis.unix_socket[0] = '\0';
		cfg->redis.db = 5;
		cfg->redis.enabled = false;
		tc_start(&t, "redis_url", url_cases[i].url[0] ? url_cases[i].url : "(empty)");
		EXPECT_INT(&t, ds_config_set_redis_url(cfg, url_cases[i].url, &err),
			   url_cases[i].rc);
		EXPECT_STR(&t, cfg->redis.host, url_cases[i].host);
		EXPECT_INT(&t, cfg->redis.port, url_cases[i].port);
		EXPECT_STR(&t, cfg->redis.unix_socket, url_cases[i].unix_socket);
		EXPECT_INT(&t, cfg->redis.db, url_cases[i].db);
		/* A URL on the command line turns Redis on; a bad one changes nothing. */
		EXPECT_INT(&t, cfg->redis.enabled, url_cases[i].rc == 0);
		tc_end(&t);
	}

	tc_start(&t, "redis_url", "the message names the URL and the forms");
	ds_config_set_redis_url(cfg, "h", &err);
	EXPECT_STR(&t, err.msg, "redis URL \"h\": expected unix:/path[?db=N], "
		   "redis://host[:port][/db] or host:port");
	tc_end(&t);
	free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Redis password                                                                             */
/* ------------------------------------------------------------------------------------------ */

#define PW_ENV "DS_TEST_CONFIG_PW"
#define PW_FILE "\x01"          /* marker: password_file = a temp file with .content */
#define PW_DIR "\x02"           /* marker: password_file = the temp directory */

static const struct {
	const char *name;
	const char *env;        /* password_env */
	const char *env_value;  /* NULL: unset */
	const char *file;       /* password_file, or PW_FILE / PW_DIR */
	const char *content;
	size_t content_len;
	unsigned int len;
	int rc;
	const char *want;       /* password, or the message on error ("%s": file path) */
} pw_cases[] = {
	{ "none configured", "", NULL, "", NULL, 0, 64, 0, "" },
	{ "env", PW_ENV, "s3cret", "", NULL, 0, 64, 0, "s3cret" },
	{ "env: trailing CRLF dropped", PW_ENV, "s3cret\r\n", "", NULL, 0, 64, 0, "s3cret" },
	{ "env: exactly len - 1 bytes", PW_ENV, "s3cret", "", NULL, 0, 7, 0, "s3cret" },
	{ "env: unset", PW_ENV, NULL, "", NULL, 0, 64, -ENOENT,
	  "redis.password_env: environment variable " PW_ENV " is not set" },
	{ "env: too long", PW_ENV, "s3cret", "", NULL, 0, 6, -ENAMETOOLONG,
	  "redis.password_env: the value of " PW_ENV " is longer than 5 bytes" },
	{ "file: LF", "", NULL, PW_FILE, "pw-from-file\n", 13, 64, 0, "pw-from-file" },
	{ "file: CRLF", "", NULL, PW_FILE, "pw\r\n", 4, 64, 0, "pw" },
	{ "file: no newline", "", NULL, PW_FILE, "pw", 2, 64, 0, "pw" },
	{ "file: first line only", "", NULL, PW_FILE, "pw\nsecond\n", 10, 64, 0, "pw" },
	{ "file: one newline dropped", "", NULL, PW_FILE, "pw\n\n", 4, 64, 0, "pw" },
	{ "file: empty", "", NULL, PW_FILE, "", 0, 64, 0, "" },
	{ "file: exactly len - 1 bytes and CRLF", "", NULL, PW_FILE, "abc\r\n", 5, 4, 0, "abc" },
	{ "file: exactly len - 1 bytes", "", NULL, PW_FILE, "abc", 3, 4, 0, "abc" },
	{ "file: one byte too long", "", NULL, PW_FILE, "abcd", 4, 4, -ENAMETOOLONG,
	  "redis.password_file: the password in \"%s\" is longer than 3 bytes" },
	{ "file: too long with newline", "", NULL, PW_FILE, "hello\n", 6, 4, -ENAMETOOLONG,
	  "redis.password_file: the password in \"%s\" is longer than 3 bytes" },
	{ "file: NUL byte", "", NULL, PW_FILE, "a\0b\n", 4, 64, -EINVAL,
	  "redis.password_file: \"%s\" holds a NUL byte" },
	{ "file: missing", "", NULL, "/nonexistent/ds-redis.pw", NULL, 0, 64, -ENOENT,
	  "redis.password_file: cannot read \"%s\": No such file or directory" },
	{ "file: a directory", "", NULL, PW_DIR, NULL, 0, 64, -EISDIR,
	  "redis.password_file: cannot read \"%s\": Is a directory" },
};

static void test_redis_password(void)
{
	const char *dir = getenv("TMPDIR");
	unsigned int i;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	for (i = 0; i < sizeof(pw_cases) / sizeof(pw_cases[0]); i++) {
		char buf[128], path[PATH_MAX] = "", want[DS_CONFIG_ERR_MAX + PATH_MAX];
		struct ds_config_redis r;
		struct ds_config_error err;
		struct tcase t;
		int rc;

		tc_start(&t, "redis_password", pw_cases[i].name);
		memset(&r, 0, sizeof(r));
		strcpy(r.password_env, pw_cases[i].env);
		if (pw_cases[i].env_value != NULL)
			setenv(PW_ENV, pw_cases[i].env_value, 1);
		else
			unsetenv(PW_ENV);
		if (strcmp(pw_cases[i].file, PW_FILE) == 0) {
			if (write_temp(pw_cases[i].content, pw_cases[i].content_len, path) != 0)
				tc_fail(&t, "cannot write the password file");
			strcpy(r.password_file, path);
		} else if (strcmp(pw_cases[i].file, PW_DIR) == 0) {
			strcpy(r.password_file, dir);
		} else {
			strcpy(r.password_file, pw_cases[i].file);
		}
		memset(buf, 'x', sizeof(buf));
		err.msg[0] = '\0';
		rc = ds_config_redis_password(&r, buf, pw_cases[i].len, &err);
		EXPECT_INT(&t, rc, pw_cases[i].rc);
		if (pw_cases[i].rc == 0) {
			EXPECT_STR(&t, buf, pw_cases[i].want);
		} else {
			snprintf(want, sizeof(want), pw_cases[i].want, r.password_file);
			EXPECT_STR(&t, err.msg, want);
			EXPECT_STR(&t, buf, "");
			/* The secret never reaches a message that may be logged. */
			if (pw_cases[i].env_value != NULL && strstr(err.msg, "s3cret") != NULL)
				tc_fail(&t, "the message shows the password");
			if (strstr(err.msg, "hello") != NULL || strstr(err.msg, "abcd") != NULL)
				tc_fail(&t, "the message shows the password");
		}
		if (path[0] != '\0')
			unlink(path);
		tc_end(&t);
	}
	unsetenv(PW_ENV);

	{
		char buf[64], path[PATH_MAX];
		struct ds_config_redis r;
		struct ds_config_error err;
		struct tcase t;

		/* root reads any file: there the case cannot fail, so it is not run. */
		if (geteuid() == 0) {
			printf("skip redis_password: file: unreadable (running as root)\n");
			return;
		}
		tc_start(&t, "redis_password", "file: unreadable");
		memset(&r, 0, sizeof(r));
		if (write_temp("pw\n", 3, path) != 0 || chmod(path, 0) != 0)
			tc_fail(&t, "cannot prepare the file");
		strcpy(r.password_file, path);
		EXPECT_INT(&t, ds_config_redis_password(&r, buf, sizeof(buf), &err), -EACCES);
		unlink(path);
		tc_end(&t);
	}
}

/* ------------------------------------------------------------------------------------------ */
/* Prefixes                                                                                   */
/* ------------------------------------------------------------------------------------------ */

static const struct {
	const char *text;
	int rc;
	int family;
	int len;
	const char *formatted;  /* on -ERANGE: the prefix with host bits cleared */
} prefix_cases[] = {
	{ "198.18.0.0/15", 0, 4, 15, "198.18.0.0/15" },
	{ "0.0.0.0/0", 0, 4, 0, "0.0.0.0/0" },
	{ "10.1.2.3/32", 0, 4, 32, "10.1.2.3/32" },
	{ "2001:db8::/32", 0, 6, 32, "2001:db8::/32" },
	{ "2001:0DB8:0000::/32", 0, 6, 32, "2001:db8::/32" },
	{ "::/0", 0, 6, 0, "::/0" },
	{ "2001:db8::1/128", 0, 6, 128, "2001:db8::1/128" },
	{ "2001:db8:8000::/33", 0, 6, 33, "2001:db8:8000::/33" },
	{ "198.18.1.0/16", -ERANGE, 4, 16, "198.18.0.0/16" },
	{ "198.19.255.255/15", -ERANGE, 4, 15, "198.18.0.0/15" },
	{ "10.0.0.1/31", -ERANGE, 4, 31, "10.0.0.0/31" },
	{ "128.0.0.0/0", -ERANGE, 4, 0, "0.0.0.0/0" },
	{ "2001:db8::1/64", -ERANGE, 6, 64, "2001:db8::/64" },
	{ "2001:db8:4000::/33", -ERANGE, 6, 33, "2001:db8::/33" },
	{ "198.18.0.0", -EINVAL, 0, 0, NULL },
	{ "/16", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0/", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0/33", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0/016", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0/-1", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0/+8", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0/8x", -EINVAL, 0, 0, NULL },
	{ "198.18.0.0//8", -EINVAL, 0, 0, NULL },
	{ "::/129", -EINVAL, 0, 0, NULL },
	{ "1.2.3/8", -EINVAL, 0, 0, NULL },
	{ "256.0.0.0/8", -EINVAL, 0, 0, NULL },
	{ "01.2.3.0/24", -EINVAL, 0, 0, NULL },
	{ " 1.2.3.0/24", -EINVAL, 0, 0, NULL },
	{ "1.2.3.0/24 ", -EINVAL, 0, 0, NULL },
	{ "fe80::1%eth0/64", -EINVAL, 0, 0, NULL },
	{ "", -EINVAL, 0, 0, NULL },
};

static void test_prefix(void)
{
	struct ds_prefix p;
	unsigned int i;
	struct tcase t;
	char buf[64];

	for (i = 0; i < sizeof(prefix_cases) / sizeof(prefix_cases[0]); i++) {
		tc_start(&t, "prefix", prefix_cases[i].text[0] ? prefix_cases[i].text : "(empty)");
		memset(&p, 0xee, sizeof(p));
		EXPECT_INT(&t, ds_prefix_parse(prefix_cases[i].text, &p), prefix_cases[i].rc);
		if (prefix_cases[i].formatted != NULL) {
			EXPECT_INT(&t, p.family, prefix_cases[i].family);
			EXPECT_INT(&t, p.len, prefix_cases[i].len);
			EXPECT_PREFIX(&t, p, prefix_cases[i].formatted);
			/* IPv4 leaves addr[4..15] zero: callers hash and compare all 16 bytes. */
			if (p.family == 4)
				for (unsigned int b = 4; b < 16; b++)
					EXPECT_INT(&t, p.addr[b], 0);
		}
		tc_end(&t);
	}

	tc_start(&t, "prefix", "bytes in network order");
	ds_prefix_parse("198.51.100.0/24", &p);
	EXPECT_INT(&t, p.addr[0], 198);
	EXPECT_INT(&t, p.addr[1], 51);
	EXPECT_INT(&t, p.addr[2], 100);
	EXPECT_INT(&t, p.addr[3], 0);
	ds_prefix_parse("2001:db8:ff00::/40", &p);
	EXPECT_INT(&t, p.addr[0], 0x20);
	EXPECT_INT(&t, p.addr[1], 0x01);
	EXPECT_INT(&t, p.addr[2], 0x0d);
	EXPECT_INT(&t, p.addr[3], 0xb8);
	EXPECT_INT(&t, p.addr[4], 0xff);
	EXPECT_INT(&t, p.addr[5], 0);
	tc_end(&t);

	tc_start(&t, "prefix", "format truncates to the buffer");
	ds_prefix_parse("198.18.0.0/15", &p);
	ds_prefix_format(&p, buf, 8);
	EXPECT_STR(&t, buf, "198.18.");
	tc_end(&t);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s SOURCE_ROOT\n", argv[0]);
		return 1;
	}
	test_bad_args();
	test_defaults();
	test_full();
	test_valid();
	test_errors();
	test_watch();
	test_file_errors();
	test_geo();
	test_reference(argv[1]);
	test_redis_url();
	test_redis_password();
	test_prefix();
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
