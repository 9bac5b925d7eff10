/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The worker loop: rx burst -> decode -> feed lookup -> count.
 *
 * One worker runs on each worker lcore and is the only writer of its minute
 * buffers. The loop takes whole bursts: it decodes every packet of the burst
 * first, looks all IPv4 destinations up in one rte_lpm_lookup_bulk() call,
 * then counts packet by packet and frees the burst in bulk. Nothing on this
 * path locks, allocates, logs or makes a system call; statistics are
 * published with relaxed atomic stores once per burst.
 *
 * Minutes: with live ports the worker follows the minute the control thread
 * publishes; when replaying it follows the packets' timestamps, which costs
 * two comparisons per packet and a division only when the minute changes.
 * The hand-off protocol is described in ds_app.h.
 */

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "ds_app.h"
#include "ds_decode.h"
#include "ds_sig.h"

#define US_PER_MINUTE 60000000ULL
#define COUNT_PREFETCH 4        /* packets between a prefetch and its count */

/* The worker's view of its open minute; lives on its stack. */
struct wstate {
	struct ds_worker *w;
	struct ds_app *app;
	struct ds_minbuf *cur;  /* open buffer, NULL before the first minute */
	uint64_t seq;           /* sequence number of the next buffer to close */
	int64_t minute;
	uint64_t start_us;      /* [start_us, end_us): the open minute */
	uint64_t end_us;
};

static inline void
stat_add(_Atomic uint64_t *s, uint64_t n)
{
	/* Single writer: a load and a store, not a read-modify-write. */
	atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* May the worker open buffer number seq? */
static bool
buffer_free(const struct ds_worker *w, uint64_t seq)
{
	return seq < atomic_load_explicit(&w->released, memory_order_acquire) + DS_WORKER_NBUF;
}

/*
 * Close the open minute and open minute m. ws->seq is the number of the open
 * buffer (or of the next one to open). When replaying, wait for the control
 * thread to hand a buffer back; with live ports never wait: return false and
 * keep counting into the open minute (the control thread is then a whole
 * minute behind, and buffer_waits shows it).
 */
static bool
change_minute(struct wstate *ws, int64_t m)
{
	struct ds_worker *w = ws->w;
	uint64_t next = ws->cur != NULL ? ws->seq + 1 : ws->seq;
	uint64_t t0 = rte_rdtsc(), dt;

	if (!ws->app->packet_time && !buffer_free(w, next)) {
		stat_add(&w->buffer_waits, 1);
		return false;
	}
	if (ws->cur != NULL) {
		ds_minbuf_flush(ws->cur);
		ws->seq = next;
		atomic_store_explicit(&w->closed, ws->seq, memory_order_release);
		ws->cur = NULL;
	}
	/* Publish the new minute before waiting: it lets the old one be sealed. */
	atomic_store_explicit(&w->minute, m, memory_order_release);
	if (!buffer_free(w, ws->seq)) {
		stat_add(&w->buffer_waits, 1);
		while (!buffer_free(w, ws->seq))
			rte_pause();
	}
	ws->cur = w->buf[ws->seq % DS_WORKER_NBUF];
	ws->cur->minute = m;
	ws->minute = m;
	ws->start_us = (uint64_t)m * US_PER_MINUTE;
	ws->end_us = ws->start_us + US_PER_MINUTE;
	/* What the swap cost this worker: the stall the benchmark reports. */
	dt = rte_rdtsc() - t0;
	stat_add(&w->swaps, 1);
	if (dt > atomic_load_explicit(&w->swap_max_cycles, memory_order_relaxed))
		atomic_store_explicit(&w->swap_max_cycles, dt, memory_order_relaxed);
	return true;
}

/* Put the packet's minute in place (packet time); true when it is late. */
static inline bool
packet_minute(struct wstate *ws, const struct rte_mbuf *m)
{
	const struct ds_app *app = ws->app;
	uint64_t us;

	if (unlikely(app->ts_offset < 0 || !(m->ol_flags & app->ts_flag))) {
		if (ws->cur == NULL)
			change_minute(ws, atomic_load_explicit(&ws->app->clock_minute,
							       memory_order_relaxed));
		ws->cur->ctr.no_timestamp++;
		return false;
	}
	us = *RTE_MBUF_DYNFIELD(m, app->ts_offset, rte_mbuf_timestamp_t *);
	if (likely(us >= ws->start_us && us < ws->end_us))
		return false;
	if (ws->cur != NULL && us < ws->start_us)
		return true;
	change_minute(ws, (int64_t)(us / US_PER_MINUTE));
	return false;
}

/*
 * AS and country of the sources of the packets that belong to a feed: one
 * bulk LPM lookup for the IPv4 ones.
 */
static void
lookup_sources(const struct ds_geo_table *geo, const struct ds_pkt *pk, const uint8_t *res,
	       const uint32_t *feed, uint16_t n, struct ds_src_geo *sg)
{
	uint32_t src4[DS_MAX_BURST];
	uint64_t hops[DS_MAX_BURST];
	struct ds_src_geo sg4[DS_MAX_BURST];
	uint16_t idx4[DS_MAX_BURST];
	uint16_t n4 = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (res[i] != DS_DECODE_OK || feed[i] == DS_FEED_NONE)
			continue;
		if (pk[i].ip_version == 4) {
			src4[n4] = pk[i].src4;
			idx4[n4++] = i;
		} else {
			ds_geo_lookup6(geo, pk[i].src6, &sg[i]);
		}
	}
	if (n4 == 0)
		return;
	ds_geo_lookup4_bulk(geo, src4, hops, sg4, n4);
	for (uint16_t k = 0; k < n4; k++)
		sg[idx4[k]] = sg4[k];
}

/*
 * A few packets before one is counted: its SYN key (hashed here, so that
 * counting finds it ready) and a prefetch of what counting it will touch.
 */
static inline const struct ds_syn_key *
prepare_count(const struct ds_minbuf *b, const struct ds_pkt *pk, uint8_t res, uint32_t feed,
	      const struct ds_src_geo *sg, struct ds_syn_key *sk)
{
	const struct ds_syn_key *key = NULL;

	if (res != DS_DECODE_OK || feed == DS_FEED_NONE)
		return NULL;
	if (ds_pkt_is_syn(pk)) {
		ds_syn_key_of(pk, sk);
		key = sk;
	}
	if (b != NULL)
		ds_minbuf_prefetch(b, feed, pk, sg, key);
	return key;
}

/* Decode, classify and count one burst that arrived at TSC @p t0. */
static void
handle_burst(struct wstate *ws, const struct ds_rxq *q, struct rte_mbuf **mb, uint16_t n,
	     struct ds_pkt *pk, const struct ds_geo_table *geo, const struct ds_watch_set *wset,
	     uint64_t t0)
{
	const struct ds_app *app = ws->app;
	uint8_t res[DS_MAX_BURST];
	uint32_t dst4[DS_MAX_BURST], feed4[DS_MAX_BURST];
	uint16_t idx4[DS_MAX_BURST];
	uint32_t feed[DS_MAX_BURST];
	struct ds_src_geo sg[DS_MAX_BURST];
	struct ds_syn_key sk[DS_MAX_BURST];
	const struct ds_syn_key *key[DS_MAX_BURST];
	uint64_t bytes = 0, t1, t2, t3;
	uint16_t n4 = 0;

	/* Decode the whole burst, prefetching a few packets ahead. */
	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(mb[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(mb[i + 4], void *));
		res[i] = (uint8_t)ds_decode(rte_pktmbuf_mtod(mb[i], const uint8_t *),
					    rte_pktmbuf_data_len(mb[i]), &pk[i]);
		feed[i] = DS_FEED_NONE;
		if (res[i] != DS_DECODE_OK)
			continue;
		if (pk[i].ip_version == 4) {
			dst4[n4] = pk[i].dst4;
			idx4[n4++] = i;
		} else {
			feed[i] = ds_feed_lookup6(app->feeds, pk[i].dst6, q->port_idx);
		}
	}

	t1 = rte_rdtsc();
	/* One LPM call for all IPv4 destinations of the burst. */
	if (n4 > 0) {
		ds_feed_lookup4_bulk(app->feeds, dst4, feed4, n4, q->port_idx);
		for (uint16_t k = 0; k < n4; k++)
			feed[idx4[k]] = feed4[k];
	}
	if (geo != NULL)
		lookup_sources(geo, pk, res, feed, n, sg);
	t2 = rte_rdtsc();

	for (uint16_t i = 0; i < n && i < COUNT_PREFETCH; i++)
		key[i] = prepare_count(ws->cur, &pk[i], res[i], feed[i], geo != NULL ? &sg[i] : NULL,
				       &sk[i]);
	for (uint16_t i = 0; i < n; i++) {
		uint32_t len = rte_pktmbuf_pkt_len(mb[i]);
		struct ds_minbuf *b;
		bool late = false;
		uint16_t ahead = i + COUNT_PREFETCH;

		if (ahead < n)
			key[ahead] = prepare_count(ws->cur, &pk[ahead], res[ahead], feed[ahead],
						   geo != NULL ? &sg[ahead] : NULL, &sk[ahead]);

		if (app->packet_time)
			late = packet_minute(ws, mb[i]);
		b = ws->cur;
		b->ctr.rx_packets++;
		b->ctr.rx_bytes += len;
		b->ctr.port_rx[q->port_idx]++;
		b->ctr.late += late;
		bytes += len;
		if (unlikely(res[i] != DS_DECODE_OK)) {
			if (res[i] == DS_DECODE_NOT_IP)
				b->ctr.non_ip++;
			else
				b->ctr.malformed[res[i]]++;
			continue;
		}
		if (feed[i] == DS_FEED_NONE) {
			b->ctr.outside[q->port_idx]++;
			continue;
		}
		b->ctr.fragments += (pk[i].flags & DS_PKT_F_FRAG_LATER) != 0;
		ds_minbuf_count_key(b, feed[i], &pk[i], len, geo != NULL ? &sg[i] : NULL,
				    ds_sig_match(&pk[i]),
				    wset->active != 0 ? ds_watch_index_match(wset->index, &pk[i]) : 0,
				    key[i]);
	}

	/* The burst's (value, source) pairs, their slots prefetched ahead. */
	if (ws->cur != NULL)
		ds_minbuf_flush(ws->cur);
	rte_pktmbuf_free_bulk(mb, n);
	t3 = rte_rdtsc();
	stat_add(&ws->w->packets, n);
	stat_add(&ws->w->bytes, bytes);
	stat_add(&ws->w->decode_cycles, t1 - t0);
	stat_add(&ws->w->lookup_cycles, t2 - t1);
	stat_add(&ws->w->count_cycles, t3 - t2);
	stat_add(&ws->w->busy_cycles, t3 - t0);
	if (t3 - t0 > atomic_load_explicit(&ws->w->burst_max_cycles, memory_order_relaxed))
		atomic_store_explicit(&ws->w->burst_max_cycles, t3 - t0, memory_order_relaxed);
}

/* Close whatever is open and tell the control thread this worker is done. */
static void
finish(struct wstate *ws)
{
	struct ds_worker *w = ws->w;

	if (ws->cur != NULL) {
		ds_minbuf_flush(ws->cur);
		ws->seq++;
		atomic_store_explicit(&w->closed, ws->seq, memory_order_release);
		ws->cur = NULL;
	}
	atomic_store_explicit(&w->minute, DS_MINUTE_DONE, memory_order_release);
	atomic_store_explicit(&w->end_tsc, rte_rdtsc(), memory_order_relaxed);
}

int
ds_worker_main(void *arg)
{
	struct ds_worker *w = arg;
	struct wstate ws = {.w = w, .app = w->app, .minute = DS_MINUTE_NONE};
	struct rte_mbuf *mb[DS_MAX_BURST];
	struct ds_pkt *pk = w->pkts;
	uint32_t q = 0, empty_polls = 0;

	DS_LOG(INFO, "worker %u on lcore %u polls %u queue(s)%s\n", w->idx, w->lcore, w->n_rxq,
	       w->sequential ? " one after another" : "");
	/* The geo table a burst uses stays valid until this worker is quiescent. */
	rte_rcu_qsbr_thread_register(ws.app->qsbr, w->idx);
	rte_rcu_qsbr_thread_online(ws.app->qsbr, w->idx);
	atomic_store_explicit(&w->start_tsc, rte_rdtsc(), memory_order_relaxed);

	while (!atomic_load_explicit(&ws.app->stop, memory_order_relaxed)) {
		const struct ds_rxq *rxq = &w->rxq[q];
		const struct ds_geo_table *geo;
		const struct ds_watch_set *wset;
		uint16_t n;

		rte_rcu_qsbr_quiescent(ws.app->qsbr, w->idx);

		if (!ws.app->packet_time) {
			int64_t m = atomic_load_explicit(&ws.app->clock_minute,
							 memory_order_relaxed);

			if (m != ws.minute)
				change_minute(&ws, m);
		}

		n = rte_eth_rx_burst(rxq->port_id, rxq->queue, mb, ws.app->burst);
		if (n == 0) {
			if (!w->sequential) {
				q = q + 1 == w->n_rxq ? 0 : q + 1;
				continue;
			}
			/* A capture read to the end returns nothing, for good. */
			if (++empty_polls < DS_REPLAY_EOF_POLLS)
				continue;
			empty_polls = 0;
			atomic_store_explicit(&w->rxq_done, q + 1, memory_order_relaxed);
			if (++q == w->n_rxq)
				break;
			continue;
		}
		empty_polls = 0;
		/* Tables the burst uses stay valid until this worker is quiescent. */
		geo = atomic_load_explicit(&ws.app->geo, memory_order_acquire);
		wset = atomic_load_explicit(&ws.app->watch, memory_order_acquire);
		handle_burst(&ws, rxq, mb, n, pk, geo, wset, rte_rdtsc());
		if (!w->sequential)
			q = q + 1 == w->n_rxq ? 0 : q + 1;
	}
	finish(&ws);
	rte_rcu_qsbr_thread_offline(ws.app->qsbr, w->idx);
	rte_rcu_qsbr_thread_unregister(ws.app->qsbr, w->idx);
	return 0;
}
