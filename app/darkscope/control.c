/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The control thread: it owns time, sealing and the sinks, so that workers
 * own nothing but counting.
 *
 * Every millisecond or so it
 *  1. publishes the clock minute (live ports follow it);
 *  2. seals every minute that no worker can add to any more (ds_app.h
 *     explains the hand-off), merges the workers' buffers of that minute
 *     into a rollup, adds the port and worker statistics of the interval,
 *     writes the JSON line and submits the rollup to the Redis writer, then
 *     resets the buffers and hands them back;
 *  3. logs statistics at the configured interval and draws the replay
 *     progress line;
 * until every worker has finished (end of the captures, or a signal).
 *
 * A minute is emitted once, when complete. Minutes sealed after a stop
 * request are marked partial, as is the first minute of a live start, which
 * Redis adds to what a process stopped earlier in that minute wrote. When
 * replaying, the Redis queue being full makes this thread wait (the capture
 * waits with it, nothing is lost); on live ports the writer drops its oldest
 * minute instead, so capture never stalls. With a spool (redis.spool_dir)
 * neither happens while the spool takes minutes: the writer moves its oldest
 * minute to disk.
 */

#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_telemetry.h>

#include "ds_app.h"
#include "ds_jsonl.h"

/* Port and worker figures at the previous seal, to store per-minute changes. */
struct snapshot {
	struct rte_eth_stats port[DS_MAX_PORTS];
	uint64_t busy[RTE_MAX_LCORE];
	uint64_t tsc;
};

/*
 * Link state of a live port, looked at four times a second. A PMD on a
 * kernel interface (net_af_packet, net_af_xdp) need not follow what the
 * interface does, so for those the kernel's flags of the interface decide
 * (up and running: administratively up with a carrier); any other port asks
 * its PMD. Workers keep polling through a
 * link-down: a queue simply brings nothing until the link returns.
 */
struct link_watch {
	char ifname[IF_NAMESIZE];   /* kernel interface, "" to ask the PMD */
	int up;                     /* -1 not known yet, else 0 / 1 */
	uint64_t downs;             /* transitions to down since start */
	uint64_t downs_sealed;      /* ... at the previous seal */
};

struct control {
	struct ds_app *app;
	uint64_t consumed[RTE_MAX_LCORE];   /* buffers merged, per worker */
	struct snapshot last;
	struct link_watch link[DS_MAX_PORTS];
	uint64_t last_link_tsc;
	int64_t stop_minute;                /* minutes from here on are partial */
	bool stopping;
	uint64_t last_stats_tsc;
	uint64_t last_progress_tsc;
	uint64_t redis_waits;
};

volatile sig_atomic_t ds_signalled;
volatile sig_atomic_t ds_reload_requested;

static int64_t
clock_minute(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec / 60;
}

static uint64_t
load(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* Add the counter "kind.name.what". */
static void
counter(struct ds_rollup *r, const char *kind, const char *name, const char *what, uint64_t v)
{
	char full[DS_COUNTER_NAME_MAX];

	/* Names are at most 63 characters, so this always fits. */
	if (snprintf(full, sizeof(full), "%s.%s.%s", kind, name, what) < (int)sizeof(full))
		ds_rollup_counter_add(r, full, v);
}

/*
 * Counters that are not tallied per packet: the port's own statistics
 * (imissed, rx_nombuf, ierrors) as the change since the previous seal, and,
 * on live ports, per-queue receive counts and worker cycles of the interval.
 * When replaying, the interval is processing time, not capture time, so the
 * timing figures are left out and a replayed minute stays the same from run
 * to run. Packets per worker come from the worker's own buffer of the minute.
 */
static void
add_interval_counters(struct control *c, struct ds_rollup *r, struct ds_minbuf *const *bufs,
		      const uint32_t *from, uint32_t n)
{
	struct ds_app *app = c->app;
	uint64_t tsc = rte_rdtsc();

	for (uint32_t p = 0; p < app->n_ports; p++) {
		struct rte_eth_stats st, *old = &c->last.port[p];
		const char *name = app->ports[p].name;

		if (ds_port_stats(&app->ports[p], &st) != 0)
			continue;
		counter(r, "port", name, "imissed", st.imissed - old->imissed);
		counter(r, "port", name, "rx_nombuf", st.rx_nombuf - old->rx_nombuf);
		counter(r, "port", name, "ierrors", st.ierrors - old->ierrors);
		if (!app->replay) {
			struct link_watch *lw = &c->link[p];

			counter(r, "port", name, "link_down", lw->downs - lw->downs_sealed);
			lw->downs_sealed = lw->downs;
		}
		for (uint16_t q = 0; !app->packet_time && q < app->ports[p].rx_queues &&
				     q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++) {
			char qn[DS_NAME_MAX + 8];

			if (snprintf(qn, sizeof(qn), "%s.q%u", name, q) < (int)sizeof(qn))
				counter(r, "port", qn, "rx_packets",
					st.q_ipackets[q] - old->q_ipackets[q]);
		}
		*old = st;
	}
	for (uint32_t i = 0; i < app->n_workers; i++) {
		struct ds_worker *w = app->workers[i];
		uint64_t busy = load(&w->busy_cycles), pk = 0;
		char lc[16];

		snprintf(lc, sizeof(lc), "%u", w->lcore);
		for (uint32_t k = 0; k < n; k++)
			if (from[k] == i)
				pk = bufs[k]->ctr.rx_packets;
		counter(r, "worker", lc, "packets", pk);
		if (!app->packet_time) {
			counter(r, "worker", lc, "busy_cycles", busy - c->last.busy[i]);
			counter(r, "worker", lc, "cycles", tsc - c->last.tsc);
		}
		c->last.busy[i] = busy;
	}
	c->last.tsc = tsc;
	if (app->redis != NULL) {
		struct ds_redis_writer_stats ws;

		ds_redis_writer_stats(app->redis, &ws);
		ds_rollup_counter_add(r, "redis.dropped_total", ws.dropped);
		ds_rollup_counter_add(r, "redis.rollup_skipped_total", ws.rollup_skipped);
		/* Only with a spool: without one these would be noise in every minute. */
		if (ws.spool) {
			ds_rollup_counter_add(r, "redis.spooled_total", ws.spooled);
			ds_rollup_counter_add(r, "redis.spool_bad_total", ws.spool_bad);
		}
	}
}

static void
add_totals(struct ds_minbuf_counters *t, const struct ds_minbuf_counters *c)
{
	t->rx_packets += c->rx_packets;
	t->rx_bytes += c->rx_bytes;
	t->non_ip += c->non_ip;
	t->fragments += c->fragments;
	t->late += c->late;
	t->no_timestamp += c->no_timestamp;
	for (int k = 0; k < DS_DECODE_RESULT_MAX; k++)
		t->malformed[k] += c->malformed[k];
	for (int k = 0; k < DS_HIST_MAX_PORTS; k++)
		t->outside[k] += c->outside[k];
}

/*
 * Hand a rollup to Redis. When replaying, wait for room in the queue rather
 * than let the writer drop a minute; a stop request bounds that wait by
 * redis.drain_timeout.
 */
static void
submit_redis(struct control *c, struct ds_rollup *r)
{
	struct ds_app *app = c->app;
	uint64_t deadline = 0, hz = rte_get_tsc_hz();
	struct ds_redis_writer_stats st;
	bool logged = false;

	for (;;) {
		ds_redis_writer_stats(app->redis, &st);
		/* A spool that takes minutes is room enough. */
		if (!app->redis_wait || st.queued < app->cfg->redis.queue_minutes ||
		    (st.spool && !st.spool_refused))
			break;
		if (!logged) {
			DS_LOG(NOTICE, "Redis queue full (%u minutes): waiting for Redis\n",
			       st.queued);
			logged = true;
			c->redis_waits++;
		}
		if (ds_signalled && !c->stopping)
			break;  /* let the caller notice the stop */
		if (c->stopping) {
			if (deadline == 0)
				deadline = rte_rdtsc() +
					   hz * app->cfg->redis.drain_timeout_ms / 1000;
			else if (rte_rdtsc() > deadline)
				break;  /* the writer will drop its oldest minute */
		}
		usleep(5000);
	}
	if (ds_redis_writer_submit(app->redis, r) < 0)
		DS_LOG(ERR, "Redis writer refused a minute\n");
}

static void
emit(struct control *c, struct ds_rollup *r)
{
	struct ds_app *app = c->app;

	if (app->jsonl != NULL && ds_jsonl_write(app->jsonl, r) < 0) {
		if (app->jsonl_errors++ == 0)
			DS_LOG(ERR, "cannot write JSON lines: %s\n", strerror(errno));
	}
	if (app->redis != NULL)
		submit_redis(c, r);
	else
		ds_rollup_free(r);
}

/* Seal and emit every minute that no worker can add to any more. */
static int
seal_ready(struct control *c)
{
	struct ds_app *app = c->app;
	struct ds_merge_names names = {
		.sensor = app->cfg->sensor_id,
		.feeds = app->feed_names,
		.ports = app->port_names,
		.n_ports = app->n_ports,
		.watch = (const char *const *)app->watch_names,
		.n_watch = app->n_watch_names,
	};
	int sealed = 0;

	for (;;) {
		struct ds_minbuf *bufs[RTE_MAX_LCORE];
		uint32_t from[RTE_MAX_LCORE];
		int64_t safe = INT64_MAX, m = INT64_MAX;
		uint32_t n = 0;
		struct ds_rollup *r;
		uint64_t t0, us;

		/* Minutes first, then buffers: see ds_app.h for why this order. */
		for (uint32_t i = 0; i < app->n_workers; i++) {
			int64_t wm = atomic_load_explicit(&app->workers[i]->minute,
							  memory_order_acquire);
			if (wm < safe)
				safe = wm;
		}
		for (uint32_t i = 0; i < app->n_workers; i++) {
			struct ds_worker *w = app->workers[i];
			uint64_t closed = atomic_load_explicit(&w->closed, memory_order_acquire);

			if (c->consumed[i] < closed) {
				int64_t bm = w->buf[c->consumed[i] % DS_WORKER_NBUF]->minute;

				if (bm < m)
					m = bm;
			}
		}
		if (m == INT64_MAX || m >= safe)
			return sealed;

		for (uint32_t i = 0; i < app->n_workers; i++) {
			struct ds_worker *w = app->workers[i];
			uint64_t closed = atomic_load_explicit(&w->closed, memory_order_acquire);
			struct ds_minbuf *b;

			if (c->consumed[i] >= closed)
				continue;
			b = w->buf[c->consumed[i] % DS_WORKER_NBUF];
			if (b->minute == m) {
				from[n] = i;
				bufs[n++] = b;
			}
		}
		t0 = rte_rdtsc();
		r = ds_merge_minute(app->merge, bufs, n, &names, m);
		if (r == NULL) {
			DS_LOG(ERR, "out of memory merging minute %" PRId64 "\n", m);
			return -ENOMEM;
		}
		/*
		 * A live start's first minute is partial, and is added to what a
		 * process stopped in this minute left of it.
		 */
		r->join = !app->packet_time && m == app->start_minute;
		r->writer = app->writer;
		r->partial = r->join || (c->stopping && m >= c->stop_minute);
		add_interval_counters(c, r, bufs, from, n);
		for (uint32_t k = 0; k < n; k++) {
			struct ds_worker *w = app->workers[from[k]];

			add_totals(&app->totals, &bufs[k]->ctr);
			ds_minbuf_reset(bufs[k], 0);
			c->consumed[from[k]]++;
			atomic_store_explicit(&w->released, c->consumed[from[k]],
					      memory_order_release);
		}
		us = (rte_rdtsc() - t0) * 1000000 / rte_get_tsc_hz();
		if (us > atomic_load_explicit(&app->merge_max_us, memory_order_relaxed))
			atomic_store_explicit(&app->merge_max_us, us, memory_order_relaxed);
		if (rte_log_can_log(ds_logtype, RTE_LOG_DEBUG)) {
			char iso[32];

			ds_minute_iso(m, iso, sizeof(iso));
			DS_LOG(DEBUG, "minute %s merged in %.1f ms (%u buffer(s))\n", iso,
			       (double)us / 1000.0, n);
		}
		atomic_store_explicit(&app->minutes_sealed, app->minutes_sealed + 1,
				      memory_order_relaxed);
		sealed++;
		emit(c, r);
	}
}

/* The first minute that a stop can have cut short. */
static int64_t
open_minute(const struct ds_app *app)
{
	int64_t m = INT64_MAX;

	if (!app->packet_time)
		return atomic_load_explicit(&app->clock_minute, memory_order_relaxed);
	for (uint32_t i = 0; i < app->n_workers; i++) {
		int64_t wm = atomic_load_explicit(&app->workers[i]->minute,
						  memory_order_acquire);
		if (wm != DS_MINUTE_NONE && wm != DS_MINUTE_DONE && wm < m)
			m = wm;
	}
	return m;
}

static bool
all_done(const struct ds_app *app)
{
	for (uint32_t i = 0; i < app->n_workers; i++)
		if (atomic_load_explicit(&app->workers[i]->minute, memory_order_acquire) !=
		    DS_MINUTE_DONE)
			return false;
	return true;
}

static void
progress(struct control *c, bool last)
{
	struct ds_app *app = c->app;
	uint64_t done = 0, size = 0, pkts = 0, files = 0;
	char when[32] = "-";
	int64_t m = open_minute(app);

	for (uint32_t p = 0; p < app->n_ports; p++) {
		struct rte_eth_stats st;
		uint64_t d;

		if (ds_port_stats(&app->ports[p], &st) != 0)
			continue;
		/* pcap: a 24-byte file header, a 16-byte header per packet. */
		d = 24 + st.ibytes + 16 * st.ipackets;
		done += d < app->ports[p].file_size ? d : app->ports[p].file_size;
		size += app->ports[p].file_size;
		pkts += st.ipackets;
	}
	for (uint32_t i = 0; i < app->n_workers; i++)
		files += atomic_load_explicit(&app->workers[i]->rxq_done, memory_order_relaxed);
	if (m != INT64_MAX)
		ds_minute_iso(m, when, sizeof(when));
	fprintf(stderr, "\rreplay: %" PRIu64 "/%u files %5.1f%%  %" PRIu64 " packets  minute %s"
		"  %" PRIu64 " minutes sealed\033[K%s", files, app->n_ports,
		size ? 100.0 * (double)done / (double)size : 100.0, pkts, when,
		app->minutes_sealed, last ? "\n" : "");
}

/* The kernel interface behind an af_packet or af_xdp device string, "" if none. */
static void
link_ifname(const char *device, char *out, size_t len)
{
	const char *p;
	size_t n;

	out[0] = '\0';
	if (strncmp(device, "net_af_packet", 13) != 0 && strncmp(device, "net_af_xdp", 10) != 0)
		return;
	p = strstr(device, "iface=");
	if (p == NULL)
		return;
	p += 6;
	n = strcspn(p, ",");
	if (n == 0 || n >= len)
		return;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* 1 up, 0 down, -1 not known (the interface vanished, the PMD cannot tell). */
static int
link_is_up(const struct ds_app *app, uint32_t p, const struct link_watch *lw)
{
	struct rte_eth_link link;

	if (lw->ifname[0] != '\0') {
		struct ifreq ifr;
		int fd, rc;

		/*
		 * A socket only to ask SIOCGIFFLAGS, closed at once: it is never
		 * bound, so the sensor keeps no network socket of its own.
		 */
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -1;
		memset(&ifr, 0, sizeof(ifr));
		memcpy(ifr.ifr_name, lw->ifname, strlen(lw->ifname) + 1);
		rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
		close(fd);
		if (rc != 0)
			return -1;
		return (ifr.ifr_flags & (IFF_UP | IFF_RUNNING)) == (IFF_UP | IFF_RUNNING);
	}
	if (rte_eth_link_get_nowait(app->ports[p].port_id, &link) != 0)
		return -1;
	return link.link_status == RTE_ETH_LINK_UP;
}

/* Log every change of a live port's link and count the transitions to down. */
static void
link_check(struct control *c)
{
	struct ds_app *app = c->app;

	for (uint32_t p = 0; !app->replay && p < app->n_ports; p++) {
		struct link_watch *lw = &c->link[p];
		int up = link_is_up(app, p, lw);

		if (up < 0 || up == lw->up)
			continue;
		if (up)
			rte_log(lw->up < 0 ? RTE_LOG_INFO : RTE_LOG_NOTICE, ds_logtype,
				"darkscope: port %s: link up%s%s\n", app->ports[p].name,
				lw->ifname[0] ? " on " : "", lw->ifname);
		else
			DS_LOG(WARNING, "port %s: link down%s%s (polling goes on)\n",
			       app->ports[p].name, lw->ifname[0] ? " on " : "", lw->ifname);
		if (!up)
			lw->downs++;
		lw->up = up;
	}
}

int
ds_control_run(struct ds_app *app)
{
	static struct control c;
	uint64_t hz = rte_get_tsc_hz();
	int rc = 0;

	memset(&c, 0, sizeof(c));
	c.app = app;
	c.last.tsc = rte_rdtsc();
	c.last_stats_tsc = c.last.tsc;
	for (uint32_t p = 0; p < app->n_ports; p++) {
		ds_port_stats(&app->ports[p], &c.last.port[p]);
		c.link[p].up = -1;
		if (!app->replay)
			link_ifname(app->cfg->ports[p].device, c.link[p].ifname,
				    sizeof(c.link[p].ifname));
	}
	link_check(&c);
	c.last_link_tsc = c.last.tsc;

	for (;;) {
		int64_t m = clock_minute();
		uint64_t now = rte_rdtsc();
		bool done;

		if (m != atomic_load_explicit(&app->clock_minute, memory_order_relaxed))
			atomic_store_explicit(&app->clock_minute, m, memory_order_relaxed);
		if (ds_signalled && !c.stopping) {
			c.stopping = true;
			c.stop_minute = open_minute(app);
			atomic_store_explicit(&app->stop, true, memory_order_relaxed);
			if (app->progress)
				fputc('\n', stderr);
			DS_LOG(NOTICE, "stopping: the open minute is written as partial\n");
		}
		if (ds_reload_requested) {
			ds_reload_requested = 0;
			ds_tables_reload(app);
		}
		ds_tables_reclaim(app, false);
		if (now - c.last_link_tsc > hz / 4) {
			c.last_link_tsc = now;
			link_check(&c);
		}
		/* Read `done` before sealing so the last buffers are seen. */
		done = all_done(app);
		rc = seal_ready(&c);
		if (rc < 0)
			break;
		if (done)
			break;
		if (app->cfg->capture.stats_interval_s != 0 &&
		    now - c.last_stats_tsc > hz * app->cfg->capture.stats_interval_s) {
			c.last_stats_tsc = now;
			if (app->progress)
				fputc('\n', stderr);
			ds_control_log_stats(app, "stats");
		}
		if (app->progress && now - c.last_progress_tsc > hz / 4) {
			c.last_progress_tsc = now;
			progress(&c, false);
		}
		if (rc == 0)
			usleep(1000);
	}
	if (app->progress)
		progress(&c, true);
	return rc < 0 ? rc : 0;
}

static void
log_malformed(const struct ds_minbuf_counters *t)
{
	char buf[512];
	size_t off = 0;
	uint64_t all = 0;

	buf[0] = '\0';
	for (int k = DS_DECODE_ETH_TRUNC; k < DS_DECODE_RESULT_MAX; k++) {
		if (t->malformed[k] == 0)
			continue;
		all += t->malformed[k];
		if (off < sizeof(buf))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, " %s=%" PRIu64,
						ds_decode_result_name(k), t->malformed[k]);
	}
	DS_LOG(INFO, "  decode: non-IP %" PRIu64 ", malformed %" PRIu64 "%s%s, later fragments "
	       "%" PRIu64 ", late %" PRIu64 ", no timestamp %" PRIu64 "\n", t->non_ip, all,
	       all ? ":" : "", buf, t->fragments, t->late, t->no_timestamp);
}

static uint64_t
redis_write_max_us(struct ds_redis_writer *r)
{
	struct ds_redis_writer_stats ws;

	ds_redis_writer_stats(r, &ws);
	return ws.write_max_us;
}

/* Where a worker's cycles went, per packet: what bench/bench_pipeline.py reads. */
static void
log_stages(struct ds_worker *w, uint64_t hz)
{
	uint64_t pk = load(&w->packets), start = load(&w->start_tsc), end = load(&w->end_tsc);
	uint64_t run, staged;
	double per;

	if (pk == 0 || start == 0)
		return;
	run = (end > start ? end : rte_rdtsc()) - start;
	staged = load(&w->decode_cycles) + load(&w->lookup_cycles) + load(&w->count_cycles);
	per = 1.0 / (double)pk;
	DS_LOG(INFO, "  worker %u stages: decode %.1f, lookup %.1f, count %.1f, rx and other %.1f "
	       "cycles/packet; %" PRIu64 " minute swaps, longest %.1f us\n", w->idx,
	       (double)load(&w->decode_cycles) * per, (double)load(&w->lookup_cycles) * per,
	       (double)load(&w->count_cycles) * per,
	       run > staged ? (double)(run - staged) * per : 0.0, load(&w->swaps),
	       (double)load(&w->swap_max_cycles) * 1e6 / (double)hz);
	DS_LOG(INFO, "  worker %u ran %.3f s, %.3f Mpps\n", w->idx, (double)run / (double)hz,
	       (double)pk * (double)hz / (double)run / 1e6);
	DS_LOG(INFO, "  worker %u longest burst %.1f us (decode to free, receive excluded)\n",
	       w->idx, (double)load(&w->burst_max_cycles) * 1e6 / (double)hz);
}

void
ds_control_log_stats(struct ds_app *app, const char *when)
{
	uint64_t hz = rte_get_tsc_hz();

	DS_LOG(INFO, "%s: %" PRIu64 " minutes sealed\n", when, app->minutes_sealed);
	for (uint32_t p = 0; p < app->n_ports; p++) {
		struct rte_eth_stats st;
		uint64_t outside = app->totals.outside[p];

		if (ds_port_stats(&app->ports[p], &st) != 0)
			continue;
		DS_LOG(INFO, "  port %s: rx %" PRIu64 " packets %" PRIu64 " bytes, imissed %"
		       PRIu64 ", rx_nombuf %" PRIu64 ", ierrors %" PRIu64 ", outside %" PRIu64
		       "\n", app->ports[p].name, st.ipackets, st.ibytes, st.imissed,
		       st.rx_nombuf, st.ierrors, outside);
		for (uint16_t q = 0; app->ports[p].rx_queues > 1 && q < app->ports[p].rx_queues &&
				     q < RTE_ETHDEV_QUEUE_STAT_CNTRS; q++)
			DS_LOG(INFO, "    queue %u: rx %" PRIu64 "\n", q, st.q_ipackets[q]);
	}
	for (uint32_t i = 0; i < app->n_workers; i++) {
		struct ds_worker *w = app->workers[i];

		DS_LOG(INFO, "  worker %u (lcore %u): %" PRIu64 " packets, %.3f s busy, %"
		       PRIu64 " buffer waits\n", w->idx, w->lcore, load(&w->packets),
		       (double)load(&w->busy_cycles) / (double)hz, load(&w->buffer_waits));
		log_stages(w, hz);
	}
	DS_LOG(INFO, "  heaviest minute: merge %.3f ms, redis write %.3f ms\n",
	       (double)load(&app->merge_max_us) / 1000.0,
	       app->redis != NULL ? (double)redis_write_max_us(app->redis) / 1000.0 : 0.0);
	log_malformed(&app->totals);
	if (app->redis != NULL) {
		struct ds_redis_writer_stats ws;

		ds_redis_writer_stats(app->redis, &ws);
		DS_LOG(INFO, "  redis: %" PRIu64 " minutes written, %u queued, %" PRIu64
		       " dropped, %" PRIu64 " failed attempts, %" PRIu64 " rollups skipped%s\n",
		       ws.written, ws.queued, ws.dropped, ws.failures, ws.rollup_skipped,
		       ws.connected ? "" : " (not connected)");
		if (ws.spool)
			DS_LOG(INFO, "  redis spool %s: %u minutes (%" PRIu64 " bytes) now, %"
			       PRIu64 " spooled, %" PRIu64 " written from it, %" PRIu64 " bad "
			       "files set aside\n", app->cfg->redis.spool_dir, ws.spool_files,
			       ws.spool_bytes, ws.spooled, ws.spool_written, ws.spool_bad);
	}
}

/* Telemetry: /darkscope/stats, for dpdk-telemetry.py and dashboards. */
static struct ds_app *tel_app;

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ds_app *app = tel_app;
	uint64_t packets = 0;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (uint32_t i = 0; i < app->n_workers; i++)
		packets += load(&app->workers[i]->packets);
	rte_tel_data_add_dict_u64(d, "packets", packets);
	rte_tel_data_add_dict_u64(d, "minutes_sealed", app->minutes_sealed);
	rte_tel_data_add_dict_u64(d, "workers", app->n_workers);
	rte_tel_data_add_dict_u64(d, "geo_generation", app->geo_generation);
	rte_tel_data_add_dict_u64(d, "geo_reloads", app->geo_reloads);
	rte_tel_data_add_dict_u64(d, "geo_reload_failures", app->geo_reload_failures);
	if (app->redis != NULL) {
		struct ds_redis_writer_stats ws;

		ds_redis_writer_stats(app->redis, &ws);
		rte_tel_data_add_dict_u64(d, "redis_written", ws.written);
		rte_tel_data_add_dict_u64(d, "redis_dropped", ws.dropped);
		rte_tel_data_add_dict_u64(d, "redis_queued", ws.queued);
		rte_tel_data_add_dict_u64(d, "redis_connected", ws.connected);
		rte_tel_data_add_dict_u64(d, "redis_rollup_skipped", ws.rollup_skipped);
		if (ws.spool) {
			rte_tel_data_add_dict_u64(d, "redis_spool_files", ws.spool_files);
			rte_tel_data_add_dict_u64(d, "redis_spool_bytes", ws.spool_bytes);
			rte_tel_data_add_dict_u64(d, "redis_spooled", ws.spooled);
			rte_tel_data_add_dict_u64(d, "redis_spool_written", ws.spool_written);
			rte_tel_data_add_dict_u64(d, "redis_spool_bad", ws.spool_bad);
		}
	}
	return 0;
}

static int
tel_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct ds_app *app = tel_app;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (uint32_t i = 0; i < app->n_workers; i++) {
		char name[32];

		snprintf(name, sizeof(name), "lcore%u.packets", app->workers[i]->lcore);
		rte_tel_data_add_dict_u64(d, name, load(&app->workers[i]->packets));
		snprintf(name, sizeof(name), "lcore%u.busy_cycles", app->workers[i]->lcore);
		rte_tel_data_add_dict_u64(d, name, load(&app->workers[i]->busy_cycles));
	}
	return 0;
}

/* /darkscope/reload: the same as SIGHUP; the control thread does the work. */
static int
tel_reload(const char *cmd, const char *params, struct rte_tel_data *d)
{
	extern volatile sig_atomic_t ds_reload_requested;

	(void)cmd;
	(void)params;
	ds_reload_requested = 1;
	rte_tel_data_string(d, "reload requested");
	return 0;
}

void
ds_telemetry_register(struct ds_app *app)
{
	tel_app = app;
	rte_telemetry_register_cmd("/darkscope/stats", tel_stats,
				   "darkscope totals: packets, minutes sealed, Redis writer. No parameters");
	rte_telemetry_register_cmd("/darkscope/workers", tel_workers,
				   "Per-worker packets and busy cycles. No parameters");
	rte_telemetry_register_cmd("/darkscope/reload", tel_reload,
				   "Reload the geo data from the configuration file, like SIGHUP. "
				   "No parameters");
}
