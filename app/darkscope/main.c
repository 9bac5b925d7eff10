/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope: a network telescope sensor on DPDK.
 *
 * main() does what DPDK's l2fwd does, in the same order: configuration,
 * EAL, ports, per-lcore state, launch, wait, teardown. The operator never
 * types EAL arguments: they are built from the YAML file (eal_args()).
 *
 *   darkscope --config FILE [--replay CAPTURE...] [--jsonl PATH|-]
 *             [--redis URL] [--no-redis] [--no-progress]
 *   darkscope --check-config FILE
 *
 * Exit status: 0 success; 1 run-time failure (EAL, ports, memory); 2 a
 * configuration or usage error; 3 sealed minutes could not be delivered to
 * Redis before exit.
 */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "ds_app.h"
#include "ds_dump.h"
#include "ds_jsonl.h"

RTE_LOG_REGISTER(ds_logtype, darkscope, INFO);

#define EXIT_CONFIG 2
#define EXIT_UNDELIVERED 3
#define MAX_EAL_ARGS 256

extern volatile sig_atomic_t ds_signalled;
extern volatile sig_atomic_t ds_reload_requested;

static struct ds_app app;

struct cli {
	const char *config;
	const char *check_config;
	const char *jsonl;
	const char *redis_url;
	bool no_redis;
	bool no_progress;
	bool replay;
	char **captures;
	int n_captures;
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: darkscope --config FILE [--replay CAPTURE...] [--jsonl PATH|-]\n"
		"                 [--redis URL] [--no-redis] [--no-progress]\n"
		"       darkscope --check-config FILE\n"
		"\n"
		"  --config FILE        run the sensor as FILE (YAML) describes\n"
		"  --check-config FILE  validate FILE and exit (0 valid, 2 invalid)\n"
		"  --replay CAPTURE...  read pcap files (through net_pcap) instead of the\n"
		"                       configured ports, minutes from packet timestamps;\n"
		"                       exit when they are read\n"
		"  --jsonl PATH         also write one JSON line per feed-minute (- = stdout)\n"
		"  --redis URL          Redis to write to: unix:/path/redis.sock[?db=N],\n"
		"                       redis://host:port[/db] or host:port\n"
		"  --no-redis           do not write to Redis\n"
		"  --no-progress        no replay progress line on the terminal\n"
		"\n"
		"Exit status: 0 success, 1 run-time failure, 2 configuration or usage error,\n"
		"3 minutes could not be delivered to Redis.\n");
}

static int
parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", required_argument, NULL, 'C'},
		{"replay", no_argument, NULL, 'r'},
		{"jsonl", required_argument, NULL, 'j'},
		{"redis", required_argument, NULL, 'R'},
		{"no-redis", no_argument, NULL, 'N'},
		{"no-progress", no_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int o;

	memset(cli, 0, sizeof(*cli));
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cli->config = optarg; break;
		case 'C': cli->check_config = optarg; break;
		case 'r': cli->replay = true; break;
		case 'j': cli->jsonl = optarg; break;
		case 'R': cli->redis_url = optarg; break;
		case 'N': cli->no_redis = true; break;
		case 'P': cli->no_progress = true; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("darkscope %s\n", DS_VERSION); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	cli->captures = argv + optind;
	cli->n_captures = argc - optind;
	if (cli->check_config != NULL)
		return 0;
	if (cli->config == NULL) {
		fprintf(stderr, "darkscope: --config FILE is required\n");
		return -EINVAL;
	}
	if (cli->n_captures > 0 && !cli->replay) {
		fprintf(stderr, "darkscope: unexpected argument \"%s\" (captures follow --replay)\n",
			cli->captures[0]);
		return -EINVAL;
	}
	if (cli->replay && cli->n_captures == 0) {
		fprintf(stderr, "darkscope: --replay needs at least one capture file\n");
		return -EINVAL;
	}
	if (cli->n_captures > DS_MAX_PORTS) {
		fprintf(stderr, "darkscope: at most %d captures per --replay\n", DS_MAX_PORTS);
		return -EINVAL;
	}
	return 0;
}

/* EAL arguments, from the configuration alone. */
struct eal_args {
	int argc;
	char *argv[MAX_EAL_ARGS];
	char *owned[MAX_EAL_ARGS];      /* rte_eal_init() reorders argv; free these */
};

static int
eal_add(struct eal_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
eal_add(struct eal_args *a, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (a->argc >= MAX_EAL_ARGS - 1)
		return -E2BIG;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		return -ENOMEM;
	a->owned[a->argc] = s;
	a->argv[a->argc++] = s;
	return 0;
}

/* The strings eal_add() made: on every way out of main() after eal_args(). */
static void
eal_args_free(struct eal_args *a)
{
	for (int i = 0; i < a->argc; i++)
		free(a->owned[i]);
	a->argc = 0;
}

/* An option and its value, as two arguments. */
static int
eal_add2(struct eal_args *a, const char *opt, const char *value)
{
	int rc = eal_add(a, "%s", opt);

	return rc < 0 ? rc : eal_add(a, "%s", value);
}

/*
 * lcores "auto": the CPUs this process may run on; the first is the main
 * lcore, the others run workers. With a single CPU, two lcores share it
 * (the control thread sleeps most of the time).
 */
static int
auto_lcores(struct eal_args *a)
{
	cpu_set_t set;
	char list[512];
	size_t off = 0;
	int first = -1, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -errno;
	for (int cpu = 0; cpu < CPU_SETSIZE && n < RTE_MAX_LCORE; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		if (first < 0)
			first = cpu;
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", n ? "," : "", cpu);
		n++;
		if (off >= sizeof(list) - 8)
			break;
	}
	if (n >= 2)
		return eal_add2(a, "-l", list);
	return eal_add(a, "--lcores=0@%d,1@%d", first, first);
}

static bool
is_pci(const char *dev)
{
	return strncmp(dev, "net_", 4) != 0;
}

static int
eal_args(const struct ds_config *cfg, const struct cli *cli, struct eal_args *a)
{
	const struct ds_config_eal *e = &cfg->eal;
	bool pci = false;
	int rc;

	rc = eal_add(a, "darkscope");
	if (rc == 0 && strcmp(e->lcores, "auto") == 0)
		rc = auto_lcores(a);
	else if (rc == 0 && e->lcores_map)
		rc = eal_add(a, "--lcores=%s", e->lcores);
	else if (rc == 0)
		rc = eal_add2(a, "-l", e->lcores);
	if (rc == 0 && e->main_lcore >= 0)
		rc = eal_add(a, "--main-lcore=%d", e->main_lcore);
	if (rc == 0 && (e->memory_mb > 0 || !e->huge_pages))
		rc = eal_add(a, "-m%u", e->memory_mb ? e->memory_mb : 512);
	if (rc == 0 && !e->huge_pages)
		rc = eal_add(a, "--no-huge");
	if (cli->replay) {
		for (int i = 0; rc == 0 && i < cli->n_captures; i++)
			rc = eal_add(a, "--vdev=net_pcap_replay%d,rx_pcap=%s", i, cli->captures[i]);
	} else {
		for (uint32_t p = 0; rc == 0 && p < cfg->n_ports; p++) {
			if (is_pci(cfg->ports[p].device)) {
				pci = true;
				rc = eal_add2(a, "-a", cfg->ports[p].device);
			} else {
				rc = eal_add(a, "--vdev=%s", cfg->ports[p].device);
			}
		}
	}
	if (rc == 0 && !pci)
		rc = eal_add(a, "--no-pci");
	if (rc == 0)
		rc = eal_add(a, "--file-prefix=%s", e->file_prefix);
	for (uint32_t i = 0; rc == 0 && i < e->n_extra_args; i++)
		rc = eal_add(a, "%s", e->extra_args[i]);
	a->argv[a->argc] = NULL;
	return rc;
}

/* Captures must exist and be readable; net_pcap's argument syntax forbids ','. */
static int
check_captures(const struct cli *cli)
{
	for (int i = 0; i < cli->n_captures; i++) {
		const char *f = cli->captures[i];
		FILE *fp;

		if (strchr(f, ',') != NULL) {
			fprintf(stderr, "darkscope: --replay %s: a file name with ',' cannot be "
				"passed to net_pcap; rename or link it\n", f);
			return -EINVAL;
		}
		fp = fopen(f, "rb");
		if (fp == NULL) {
			fprintf(stderr, "darkscope: --replay %s: %s\n", f, strerror(errno));
			return -errno;
		}
		fclose(fp);
	}
	return 0;
}

static int
find_port(const char *device, uint16_t *id)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	size_t n = strcspn(device, ",");

	if (n >= sizeof(name))
		return -ENAMETOOLONG;
	memcpy(name, device, n);
	name[n] = '\0';
	if (rte_eth_dev_get_port_by_name(name, id) == 0)
		return 0;
	/* PCI devices are named with their domain: "3b:00.0" is "0000:3b:00.0". */
	if (is_pci(device) && strlen(name) < sizeof(name) - 5) {
		char full[RTE_ETH_NAME_MAX_LEN];

		snprintf(full, sizeof(full), "0000:%s", name);
		if (rte_eth_dev_get_port_by_name(full, id) == 0)
			return 0;
	}
	return -ENODEV;
}

static int
setup_ports(const struct cli *cli)
{
	const struct ds_config *cfg = app.cfg;

	if (cli->replay) {
		for (int i = 0; i < cli->n_captures; i++) {
			struct ds_port *p = &app.ports[app.n_ports++];
			char vdev[64];
			struct stat st;

			snprintf(vdev, sizeof(vdev), "net_pcap_replay%d", i);
			if (find_port(vdev, &p->port_id) != 0) {
				DS_LOG(ERR, "no port for capture %s\n", cli->captures[i]);
				return -ENODEV;
			}
			snprintf(p->name, sizeof(p->name), "replay%d", i);
			snprintf(p->path, sizeof(p->path), "%s", cli->captures[i]);
			p->rx_queues = 1;
			if (stat(p->path, &st) == 0)
				p->file_size = (uint64_t)st.st_size;
		}
	} else {
		for (uint32_t i = 0; i < cfg->n_ports; i++) {
			struct ds_port *p = &app.ports[app.n_ports++];

			if (find_port(cfg->ports[i].device, &p->port_id) != 0) {
				DS_LOG(ERR, "port %s: no DPDK port for device \"%s\" (is it bound "
				       "to a DPDK driver, or is the vdev name right?)\n",
				       cfg->ports[i].name, cfg->ports[i].device);
				return -ENODEV;
			}
			snprintf(p->name, sizeof(p->name), "%s", cfg->ports[i].name);
			p->rx_queues = cfg->ports[i].rx_queues;
		}
	}
	for (uint32_t i = 0; i < app.n_ports; i++)
		app.port_names[i] = app.ports[i].name;
	return ds_ports_setup(&app);
}

static struct ds_worker *
worker_create(unsigned int lcore, const struct ds_hist_limits *lim)
{
	struct ds_worker *w = rte_zmalloc_socket("ds_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
						 (int)rte_lcore_to_socket_id(lcore));

	if (w == NULL)
		return NULL;
	w->lcore = lcore;
	w->idx = app.n_workers;
	w->app = &app;
	atomic_init(&w->minute, DS_MINUTE_NONE);
	for (int b = 0; b < DS_WORKER_NBUF; b++) {
		w->buf[b] = ds_minbuf_create(lim);
		if (w->buf[b] == NULL)
			return NULL;
	}
	app.workers[app.n_workers++] = w;
	return w;
}

/*
 * Which worker polls which (port, queue). Replay: captures are spread over
 * the workers and each worker reads its captures one after another. Live,
 * automatic: all queues spread round-robin over the worker lcores. Live,
 * explicit: as the configuration says.
 */
static int
setup_workers(void)
{
	const struct ds_config *cfg = app.cfg;
	/*
	 * srcset_values: the sources of each dimension's busiest values, for
	 * Redis' HyperLogLogs. The merge picks them (main()); the workers get
	 * the same figure, though --no-redis is not known here.
	 */
	struct ds_hist_limits lim = {
		.n_feeds = cfg->n_feeds,
		.source_pairs = cfg->limits.source_pairs,
		.syn_option_layouts = cfg->limits.syn_option_layouts,
		.src_asns = cfg->limits.src_asns,
		.tcp_fingerprints = cfg->limits.tcp_fingerprints,
		.srcset_values = cfg->redis.enabled ? cfg->redis.hll_values : 0,
	};
	unsigned int lcores[RTE_MAX_LCORE], n_lcores = 0, lc;
	uint32_t k = 0;

	RTE_LCORE_FOREACH_WORKER(lc)
		lcores[n_lcores++] = lc;
	if (n_lcores == 0) {
		DS_LOG(ERR, "no worker lcore: eal.lcores needs at least two lcores\n");
		return -EINVAL;
	}
	if (!app.replay && !cfg->workers_auto) {
		for (uint32_t i = 0; i < cfg->n_workers; i++) {
			const struct ds_config_worker *cw = &cfg->workers[i];
			struct ds_worker *w;

			if (!rte_lcore_is_enabled(cw->lcore) ||
			    cw->lcore == rte_get_main_lcore()) {
				fprintf(stderr, "%s: workers[%u].lcore: lcore %u is not a worker "
					"lcore of eal.lcores\n", cfg->path, i, cw->lcore);
				exit(EXIT_CONFIG);
			}
			w = worker_create(cw->lcore, &lim);
			if (w == NULL)
				return -ENOMEM;
			for (uint32_t q = 0; q < cw->n_rxq; q++) {
				w->rxq[w->n_rxq].port_idx = cw->rxq[q].port;
				w->rxq[w->n_rxq].port_id = app.ports[cw->rxq[q].port].port_id;
				w->rxq[w->n_rxq++].queue = cw->rxq[q].queue;
			}
		}
		return 0;
	}
	/* Round-robin every (port, queue) over the worker lcores. */
	for (uint32_t p = 0; p < app.n_ports; p++) {
		for (uint16_t q = 0; q < app.ports[p].rx_queues; q++, k++) {
			struct ds_worker *w;

			if (k < n_lcores) {
				w = worker_create(lcores[k], &lim);
				if (w == NULL)
					return -ENOMEM;
				w->sequential = app.replay;
			}
			w = app.workers[k % n_lcores];
			w->rxq[w->n_rxq].port_idx = (uint16_t)p;
			w->rxq[w->n_rxq].port_id = app.ports[p].port_id;
			w->rxq[w->n_rxq++].queue = q;
		}
	}
	return 0;
}

/* The Redis sink's options from the configuration; @p password stays the caller's. */
static struct ds_redis_opts
redis_opts(const struct ds_config_redis *r, const char *password)
{
	return (struct ds_redis_opts){
		.host = r->host,
		.port = r->port,
		.unix_socket = r->unix_socket,
		.db = r->db,
		.username = r->username,
		.password = password,
		.key_prefix = r->key_prefix,
		.retention_s = r->retention_s,
		.hour_retention_s = r->hour_retention_s,
		.day_retention_s = r->day_retention_s,
		.rollup_timezone = r->rollup_timezone,
		.hll_values = r->hll_values,
		.connect_timeout_ms = r->connect_timeout_ms,
		.command_timeout_ms = r->command_timeout_ms,
	};
}

/*
 * Before anything else is set up: make redis.rollup_timezone the process'
 * zone (the Redis sink computes day keys with localtime_r(), and the writer
 * thread must find it set), then ask Redis once, on a connection of its own.
 * A server that refuses the configuration (wrong password, an ACL user
 * without the rights) is a configuration error the operator must see now,
 * not a minute later in the writer's log while the queue fills. A server
 * that does not answer is only a warning: the writer keeps retrying, and
 * minutes wait in the queue (and the spool) meanwhile.
 * @return 0, or EXIT_CONFIG.
 */
static int
check_redis(const struct cli *cli)
{
	const struct ds_config_redis *r = &app.cfg->redis;
	struct ds_config_error err;
	struct ds_redis_opts o;
	struct ds_redis *probe;
	char password[512];
	int rc;

	if (!r->enabled || cli->no_redis)
		return 0;
	if (strcmp(r->rollup_timezone, "UTC") != 0) {
		if (setenv("TZ", r->rollup_timezone, 1) != 0) {
			fprintf(stderr, "darkscope: cannot set TZ=%s: %s\n", r->rollup_timezone,
				strerror(errno));
			return EXIT_CONFIG;
		}
		tzset();
	}
	if (ds_config_redis_password(r, password, sizeof(password), &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_CONFIG;
	}
	o = redis_opts(r, password);
	probe = ds_redis_create(&o);
	memset(password, 0, sizeof(password));
	if (probe == NULL) {
		fprintf(stderr, "darkscope: cannot create the Redis sink: %s\n", strerror(errno));
		return EXIT_CONFIG;
	}
	rc = ds_redis_connect(probe);
	if (rc == -EPERM)
		fprintf(stderr, "darkscope: redis: %s; check redis.username and "
			"redis.password_env / password_file\n", ds_redis_errstr(probe));
	else if (rc < 0)
		DS_LOG(WARNING, "Redis does not answer at start (%s): minutes wait in the queue "
		       "(redis.queue_minutes %u%s) until it does\n", ds_redis_errstr(probe),
		       r->queue_minutes, r->spool_dir[0] != '\0' ? ", then the spool" : "");
	ds_redis_free(probe);
	return rc == -EPERM ? EXIT_CONFIG : 0;
}

static int
setup_sinks(const struct cli *cli)
{
	const struct ds_config *cfg = app.cfg;
	const char *path = cli->jsonl != NULL ? cli->jsonl : cfg->jsonl_path;

	if (path[0] != '\0') {
		app.jsonl_is_stdout = strcmp(path, "-") == 0;
		app.jsonl = app.jsonl_is_stdout ? stdout : fopen(path, "a");
		if (app.jsonl == NULL) {
			fprintf(stderr, "darkscope: --jsonl %s: %s\n", path, strerror(errno));
			return -errno;
		}
	}
	if (cfg->redis.enabled && !cli->no_redis) {
		const struct ds_config_redis *r = &cfg->redis;
		struct ds_config_error err;
		char password[512];
		struct ds_redis_writer_opts o = {
			.queue_len = r->queue_minutes,
			/*
			 * The writer itself always drops the oldest minute when
			 * full; "wait" is the control thread waiting for room
			 * (control.c), which a stop request can cut short.
			 */
			.policy = DS_REDIS_QUEUE_DROP_OLDEST,
			.retry_min_ms = 100,
			.retry_max_ms = r->retry_max_ms,
			.spool_dir = r->spool_dir,
			.spool_max_bytes = (uint64_t)r->spool_max_mb << 20,
			.sensor = cfg->sensor_id,
		};

		if (ds_config_redis_password(r, password, sizeof(password), &err) < 0) {
			fprintf(stderr, "%s\n", err.msg);
			exit(EXIT_CONFIG);
		}
		o.redis = redis_opts(r, password);
		app.redis_wait = r->queue_full == DS_QUEUE_FULL_WAIT ||
				 (r->queue_full == DS_QUEUE_FULL_AUTO && app.replay);
		app.redis = ds_redis_writer_create(&o);
		memset(password, 0, sizeof(password));
		if (app.redis == NULL && r->spool_dir[0] != '\0') {
			/* Most likely the spool: name the key, as for a configuration error. */
			DS_LOG(ERR, "cannot start the Redis writer: %s (redis.spool_dir %s)\n",
			       strerror(errno), r->spool_dir);
			return -errno;
		}
		if (app.redis == NULL) {
			DS_LOG(ERR, "cannot start the Redis writer: %s\n", strerror(errno));
			return -errno;
		}
		if (r->unix_socket[0] != '\0')
			DS_LOG(INFO, "writing to Redis at unix:%s db %u, prefix \"%s\"\n",
			       r->unix_socket, r->db, r->key_prefix);
		else
			DS_LOG(INFO, "writing to Redis at %s:%u db %u, prefix \"%s\"\n", r->host,
			       r->port, r->db, r->key_prefix);
	}
	return 0;
}

/* A line of /proc/self/status in KiB ("VmHWM", "VmRSS"), -1 when unknown. */
static long
status_kib(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	size_t n = strlen(field);
	long kib = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			kib = strtol(line + n + 1, NULL, 10);
			break;
		}
	if (f != NULL)
		fclose(f);
	return kib;
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		ds_reload_requested = 1;
	else
		ds_signalled = 1;
}

static void
mbufs_in_use(struct rte_mempool *mp, void *arg)
{
	unsigned int n, *total = arg;

	/*
	 * Packet pools only (rte_pktmbuf_pool_create() gives them this private
	 * area): the geo tables' rte_rib node pools are in use until freed.
	 */
	if (mp->private_data_size < sizeof(struct rte_pktmbuf_pool_private) ||
	    mp->elt_size < sizeof(struct rte_mbuf))
		return;
	n = rte_mempool_in_use_count(mp);
	*total += n;
	if (n != 0)
		DS_LOG(ERR, "mempool %s: %u mbufs in use at exit (0 expected)\n", mp->name, n);
}

/*
 * Every mbuf back in its pool once the workers have stopped: one that is not
 * was lost on the packet path (a burst not freed, a drop that forgot
 * rte_pktmbuf_free()) and, packet after packet, would starve the ports. The
 * ports are stopped and closed first, because a PMD legitimately holds mbufs
 * until then (rx rings; net_pcap's infinite_rx copy of its capture). After
 * this, ds_ports_close() only frees the pool. Returns the mbufs missing.
 */
static unsigned int
check_mbufs(void)
{
	unsigned int total = 0;

	ds_ports_stop(&app);
	rte_mempool_walk(mbufs_in_use, &total);
	if (total == 0)
		DS_LOG(INFO, "  mbufs all returned\n");
	return total;
}

/*
 * Key the hashes of the tables a sender fills (ds_hist.h, "Keyed hashes";
 * the Redis writer's sums by label). A replay keeps the unkeyed sample of
 * sources, so that replaying a capture gives the same minutes every time.
 * Also draws the process' writer id (ds_rollup.h, join).
 */
static int
seed_hashes(void)
{
	uint64_t s[4];

	if (getrandom(s, sizeof(s), 0) != (ssize_t)sizeof(s)) {
		fprintf(stderr, "darkscope: cannot read random bytes for the hash keys: %s\n",
			strerror(errno));
		return -1;
	}
	ds_hist_set_seeds(s[0], app.replay ? 0 : s[1]);
	ds_dump_sums_set_seed(s[2]);
	app.writer = s[3];
	return 0;
}

static int
load_config(const char *path, struct ds_config **cfg)
{
	struct ds_config_error err;

	*cfg = ds_config_load(path, &err);
	if (*cfg == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct ds_config_error err;
	struct eal_args ea = {0};
	struct cli cli;
	int rc, status = 0;

	if (parse_cli(argc, argv, &cli) < 0)
		return EXIT_CONFIG;
	if (cli.check_config != NULL) {
		if (load_config(cli.check_config, &app.cfg) < 0)
			return EXIT_CONFIG;
		printf("%s: OK\n", cli.check_config);
		ds_config_free(app.cfg);
		return 0;
	}
	if (load_config(cli.config, &app.cfg) < 0)
		return EXIT_CONFIG;
	if (cli.redis_url != NULL && ds_config_set_redis_url(app.cfg, cli.redis_url, &err) < 0) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_CONFIG;
	}
	app.replay = cli.replay;
	if (app.replay && check_captures(&cli) < 0)
		return EXIT_CONFIG;
	if (!app.replay && app.cfg->n_ports == 0) {
		fprintf(stderr, "%s: ports: no port configured (use --replay to read captures)\n",
			app.cfg->path);
		return EXIT_CONFIG;
	}
	app.packet_time = app.cfg->capture.time_source == DS_TIME_PACKET ||
			  (app.cfg->capture.time_source == DS_TIME_AUTO && app.replay);
	app.burst = app.cfg->capture.burst;
	app.progress = app.replay && !cli.no_progress && isatty(STDERR_FILENO);
	for (uint32_t f = 0; f < app.cfg->n_feeds; f++)
		app.feed_names[f] = app.cfg->feeds[f].name;
	if (seed_hashes() < 0)
		return EXIT_FAILURE;

	/* Before the EAL: a refusal then costs no cleanup and no wait for the geo tables. */
	rc = check_redis(&cli);
	if (rc != 0)
		return rc;

	if (eal_args(app.cfg, &cli, &ea) < 0) {
		fprintf(stderr, "darkscope: too many EAL arguments\n");
		eal_args_free(&ea);
		return EXIT_CONFIG;
	}
	rc = rte_eal_init(ea.argc, ea.argv);
	if (rc < 0)
		rte_exit(EXIT_FAILURE, "EAL initialisation failed: %s\n", rte_strerror(rte_errno));
	{
		struct ds_geo_table *geo;
		char err[DS_GEO_ERR_MAX + 64];

		/* A geo file that does not load is a configuration error. */
		if (ds_geo_build(&app.cfg->geo, 0, &geo, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			rte_eal_cleanup();
			eal_args_free(&ea);
			return EXIT_CONFIG;
		}
		atomic_store(&app.geo, geo);
	}
	{
		struct ds_watch_set *ws;
		char err[512];

		if (ds_watch_build(&app, app.cfg, &ws, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			rte_eal_cleanup();
			eal_args_free(&ea);
			return EXIT_CONFIG;
		}
		atomic_store(&app.watch, ws);
		if (app.cfg->n_watch > 0)
			DS_LOG(INFO, "watch: %u rule(s), compiled into %.1f KiB\n",
			       app.cfg->n_watch, ds_watch_index_mem_size(ws->index) / 1024.0);
	}

	if (setup_ports(&cli) < 0)
		rte_exit(EXIT_FAILURE, "port set-up failed\n");
	app.feeds = ds_feed_table_create(app.cfg, app.replay, "ds_feeds", (int)rte_socket_id());
	if (app.feeds == NULL)
		rte_exit(EXIT_FAILURE, "feed tables: %s\n", rte_strerror(rte_errno));
	if (setup_workers() < 0)
		rte_exit(EXIT_FAILURE, "cannot allocate worker state\n");
	if (ds_geo_rcu_init(&app) < 0)
		rte_exit(EXIT_FAILURE, "cannot allocate the RCU state\n");
	app.merge = ds_merge_create(&(struct ds_hist_limits){
		.n_feeds = app.cfg->n_feeds,
		.source_pairs = app.cfg->limits.source_pairs,
		.syn_option_layouts = app.cfg->limits.syn_option_layouts,
		.src_asns = app.cfg->limits.src_asns,
		.tcp_fingerprints = app.cfg->limits.tcp_fingerprints,
		/* Source sets only feed Redis' HyperLogLogs: none without Redis. */
		.srcset_values = app.cfg->redis.enabled && !cli.no_redis ?
				 app.cfg->redis.hll_values : 0,
	});
	if (app.merge == NULL)
		rte_exit(EXIT_FAILURE, "cannot allocate the merger\n");
	if (setup_sinks(&cli) < 0)
		rte_exit(EXIT_CONFIG, "cannot open the outputs\n");
	ds_telemetry_register(&app);

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	atomic_store(&app.clock_minute, (int64_t)time(NULL) / 60);
	app.start_minute = atomic_load(&app.clock_minute);
	DS_LOG(INFO, "sensor %s: %u feed(s), %u port(s), %u worker(s), minutes from %s\n",
	       app.cfg->sensor_id, app.cfg->n_feeds, app.n_ports, app.n_workers,
	       app.packet_time ? "packet timestamps" : "the clock");
	DS_LOG(INFO, "memory: %u worker(s) x %d minute buffers of %.1f MiB (limits; %.1f MiB "
	       "mapped), resident now %.1f MiB\n", app.n_workers, DS_WORKER_NBUF,
	       (double)app.workers[0]->buf[0]->used_size / (1 << 20),
	       (double)app.workers[0]->buf[0]->mem_size / (1 << 20),
	       (double)status_kib("VmRSS") / 1024);

	for (uint32_t i = 0; i < app.n_workers; i++)
		rte_eal_remote_launch(ds_worker_main, app.workers[i], app.workers[i]->lcore);
	rc = ds_control_run(&app);
	atomic_store(&app.stop, true);
	rte_eal_mp_wait_lcore();
	if (rc < 0)
		status = EXIT_FAILURE;

	if (app.redis != NULL) {
		struct ds_redis_writer_stats st;

		rc = ds_redis_writer_drain(app.redis, app.cfg->redis.drain_timeout_ms);
		ds_redis_writer_stats(app.redis, &st);
		/* With a spool, what Redis did not take waits there for the next start. */
		if (rc < 0 && st.spool) {
			uint32_t lost = ds_redis_writer_stop(app.redis);

			ds_redis_writer_stats(app.redis, &st);
			DS_LOG(WARNING, "Redis did not take every minute within "
			       "redis.drain_timeout: %u minute(s) stay in the spool %s for the "
			       "next start, %u lost\n",
			       st.spool_files, app.cfg->redis.spool_dir, lost);
			if (lost > 0)
				status = EXIT_UNDELIVERED;
		} else if (rc < 0) {
			DS_LOG(ERR, "%u sealed minute(s) could not be written to Redis within "
			       "redis.drain_timeout; they are lost\n", st.queued);
			status = EXIT_UNDELIVERED;
		}
	}
	ds_control_log_stats(&app, "exit");
	check_mbufs();
	DS_LOG(INFO, "memory: peak resident %.1f MiB\n", (double)status_kib("VmHWM") / 1024);
	ds_redis_writer_free(app.redis);
	if (app.jsonl != NULL && !app.jsonl_is_stdout)
		fclose(app.jsonl);
	if (app.jsonl_errors != 0 && status == 0)
		status = EXIT_FAILURE;

	for (uint32_t i = 0; i < app.n_workers; i++) {
		for (int b = 0; b < DS_WORKER_NBUF; b++)
			ds_minbuf_free(app.workers[i]->buf[b]);
		rte_free(app.workers[i]);
	}
	ds_merge_free(app.merge);
	ds_tables_reclaim(&app, true);
	ds_geo_table_free(atomic_load(&app.geo));
	ds_watch_free(atomic_load(&app.watch));
	for (uint32_t i = 0; i < app.n_watch_names; i++)
		free(app.watch_names[i]);
	rte_free(app.qsbr);
	ds_feed_table_free(app.feeds);
	ds_ports_close(&app);
	rte_eal_cleanup();
	eal_args_free(&ea);
	ds_config_free(app.cfg);
	return status;
}
