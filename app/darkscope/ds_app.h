/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope's process-wide state, the worker and the minute hand-off.
 *
 * Threads:
 *  - one worker per worker lcore (worker.c): polls its (port, queue) list,
 *    decodes, looks up feeds, counts into its open minute buffer;
 *  - the control thread on the main lcore (control.c): publishes the clock
 *    minute, seals minutes, merges them, writes JSON lines, submits to Redis,
 *    logs statistics, draws the replay progress line;
 *  - the Redis writer thread (lib/redis), which alone ever waits for Redis.
 *
 * The minute hand-off between a worker and the control thread
 * ----------------------------------------------------------------------
 * Each worker has DS_WORKER_NBUF minute buffers used in turn; `seq` numbers
 * them (buffer seq % NBUF). Two monotonic counters carry the hand-off, each
 * with a single writer:
 *
 *      worker writes `closed`:   buffers [0, closed) are sealed and handed over
 *      control writes `released`: buffers [0, released) were merged and reset
 *
 * A worker may open buffer seq only when seq < released + NBUF. To change
 * minutes it stores closed = seq + 1 (release) and then its new `minute`
 * (release); the control thread loads `minute` (acquire) and then `closed`
 * (acquire), so whenever it sees a worker past minute m it also sees every
 * buffer of m. A minute m is sealed once every worker is past it (or
 * finished): then no packet can join it any more, except as a late packet,
 * which is counted into the worker's current minute.
 *
 *   worker w: | m-1 closed | m open ...          minute = m
 *   control:  seal m-1 when every worker's minute > m-1
 *
 * With live ports, minutes follow the clock the control thread publishes,
 * so every worker changes minute within one burst of the tick and a full
 * minute passes before a buffer comes round again: workers never wait. When
 * replaying, minutes follow packet timestamps, a worker can run ahead of the
 * others and waits for a free buffer, which loses nothing: a capture file
 * can wait.
 */

#ifndef DS_APP_H
#define DS_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_log.h>

#include "ds_config.h"
#include "ds_feed.h"
#include "ds_geo_table.h"
#include "ds_hist.h"
#include "ds_redis.h"

struct rte_rcu_qsbr;

extern int ds_logtype;
#define DS_LOG(level, ...) \
	rte_log(RTE_LOG_##level, ds_logtype, "darkscope: " __VA_ARGS__)

#define DS_WORKER_NBUF 2
#define DS_MINUTE_NONE INT64_MIN        /**< worker has not seen a packet yet */
#define DS_MINUTE_DONE INT64_MAX        /**< worker has finished */
#define DS_MAX_BURST 512
/* Empty polls after which a replayed capture counts as read to the end. */
#define DS_REPLAY_EOF_POLLS 1024

/** One (port, queue) a worker polls. */
struct ds_rxq {
	uint16_t port_id;       /**< DPDK port id */
	uint16_t queue;
	uint16_t port_idx;      /**< index into app->ports */
};

/** A port as the application sees it (config entry or replayed capture). */
struct ds_port {
	char name[DS_NAME_MAX];
	uint16_t port_id;
	uint16_t rx_queues;
	char path[PATH_MAX];    /**< replayed capture, "" for live ports */
	uint64_t file_size;     /**< bytes of the capture, for the progress line */
	/*
	 * net_af_packet: the PMD's packet sockets, whose ring drops DPDK 22.11
	 * does not count (ds_port_stats()), and the drops read from them so far.
	 */
	int ring_fd[DS_MAX_RX_QUEUES];
	uint32_t n_ring_fd;
	_Atomic uint64_t ring_drops;
};

/*
 * Per-worker state. Ownership: the worker writes everything below `hot`
 * except `released`, which only the control thread writes; the control
 * thread reads worker-written fields with atomic loads. The fields above are
 * set before launch and read-only afterwards.
 */
struct ds_worker {
	unsigned int lcore;
	unsigned int idx;
	struct ds_rxq rxq[DS_MAX_PORTS * DS_MAX_RX_QUEUES];
	uint32_t n_rxq;
	bool sequential;        /**< replay: read the queues one after another */
	struct ds_minbuf *buf[DS_WORKER_NBUF];
	struct ds_app *app;
	struct ds_pkt pkts[DS_MAX_BURST]; /**< decoded burst (worker only) */

	/* Hand-off, worker -> control. */
	_Atomic uint64_t closed __rte_cache_aligned;
	_Atomic int64_t minute;

	/* Hand-off, control -> worker (its own cache line). */
	_Atomic uint64_t released __rte_cache_aligned;

	/* Statistics: written by the worker with relaxed stores, read relaxed. */
	_Atomic uint64_t packets __rte_cache_aligned;
	_Atomic uint64_t bytes;
	_Atomic uint64_t busy_cycles;
	_Atomic uint64_t buffer_waits;  /**< times it waited for a free buffer */
	_Atomic uint32_t rxq_done;      /**< sequential: queues read to the end */
	/*
	 * Where the busy cycles go, per stage of handle_burst() (one TSC read
	 * per stage and burst): decode (and the packets' minutes), lookup
	 * (feed LPM and source FIB), count (signatures, rules, histograms, the
	 * bulk free). Busy minus their sum is the loop itself.
	 */
	_Atomic uint64_t decode_cycles;
	_Atomic uint64_t lookup_cycles;
	_Atomic uint64_t count_cycles;
	_Atomic uint64_t swaps;         /**< minute changes */
	_Atomic uint64_t swap_max_cycles; /**< the longest of them, waits included */
	/*
	 * The longest burst, receive excluded: a live port's ring must hold
	 * what arrives meanwhile (a pair table resampled in place makes one
	 * such burst). Replay includes its waits for a free buffer.
	 */
	_Atomic uint64_t burst_max_cycles;
	_Atomic uint64_t start_tsc;     /**< the loop's first and last TSC reading */
	_Atomic uint64_t end_tsc;
};

#define DS_MAX_RETIRED 8

/** A table swapped out, freed once every worker has passed `token`. */
struct ds_retired {
	void *ptr;
	void (*free_fn)(void *);
	uint64_t token;
};

/**
 * The watch rules in force: rules[i] at registry index i, active bit i, and
 * the same rules compiled for the workers (index points into rules).
 */
struct ds_watch_set {
	uint32_t n;                     /**< 1 + the highest index in use */
	uint64_t active;
	struct ds_watch_index *index;
	struct ds_watch_rule rules[DS_MAX_WATCH_RULES];
};

struct ds_app {
	struct ds_config *cfg;
	bool replay;
	bool packet_time;               /**< minutes from packet timestamps */
	uint16_t burst;

	struct ds_port ports[DS_MAX_PORTS];
	uint32_t n_ports;
	const char *port_names[DS_MAX_PORTS];
	const char *feed_names[DS_MAX_FEEDS];

	struct ds_worker *workers[RTE_MAX_LCORE];
	uint32_t n_workers;

	struct ds_feed_table *feeds;

	/* Geo: workers load the pointer once per burst (see geo.c). */
	struct ds_geo_table *_Atomic geo;
	struct rte_rcu_qsbr *qsbr;      /**< one thread id per worker (its idx) */
	struct ds_watch_set *_Atomic watch;
	char *watch_names[DS_MAX_WATCH_RULES]; /**< registry: index -> name, append-only */
	uint32_t n_watch_names;
	struct ds_retired retired[DS_MAX_RETIRED];
	uint32_t n_retired;
	uint32_t geo_generation;
	uint64_t geo_reloads;
	uint64_t geo_reload_failures;
	int ts_offset;                  /**< mbuf timestamp dynfield, -1 none */
	uint64_t ts_flag;

	/* Control -> workers. */
	_Atomic int64_t clock_minute;
	_Atomic bool stop;

	/* Control thread. */
	struct ds_merge *merge;
	struct ds_redis_writer *redis;
	bool redis_wait;                /**< queue full: wait for room (else drop oldest) */
	FILE *jsonl;
	bool jsonl_is_stdout;
	int64_t start_minute;           /**< clock minute at start (partial) */
	uint64_t writer;                /**< this process among the sensor's, random (ds_rollup) */
	_Atomic uint64_t minutes_sealed;
	_Atomic uint64_t merge_max_us;  /**< the longest merge + reset of a minute */
	struct ds_minbuf_counters totals; /**< since start (control thread only) */
	uint64_t jsonl_errors;
	bool progress;                  /**< draw the replay progress line */
};

/* worker.c */
int ds_worker_main(void *arg);

/* geo.c */
int ds_geo_build(const struct ds_config_geo *g, uint32_t generation, struct ds_geo_table **out,
		 char *err, size_t len);
int ds_geo_rcu_init(struct ds_app *app);
int ds_watch_build(struct ds_app *app, const struct ds_config *cfg, struct ds_watch_set **out,
		   char *err, size_t len);
/** Free a watch set and its index; NULL is a no-op. */
void ds_watch_free(struct ds_watch_set *ws);
void ds_tables_reload(struct ds_app *app);
void ds_tables_reclaim(struct ds_app *app, bool wait);

/* control.c */
int ds_control_run(struct ds_app *app);
void ds_control_log_stats(struct ds_app *app, const char *when);
void ds_telemetry_register(struct ds_app *app);

/* ports.c */
struct rte_eth_stats;
int ds_ports_setup(struct ds_app *app);
int ds_port_stats(struct ds_port *port, struct rte_eth_stats *st);
void ds_ports_stop(struct ds_app *app);
void ds_ports_close(struct ds_app *app);

#endif /* DS_APP_H */
