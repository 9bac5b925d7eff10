/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Feed lookup: destination address -> the feed whose darknet prefixes hold it.
 *
 * A telescope usually routes several /16s (and an IPv6 block) to one sensor
 * and reports them as one or more named feeds. The lookup is a longest
 * prefix match in DPDK's rte_lpm (IPv4, looked up a burst at a time) and
 * rte_lpm6, whose next hop is the feed's index: a packet belongs to at most
 * one feed, the one with the most specific prefix. A feed may be restricted
 * to some ports (config `feeds[].ports`); a packet whose feed is not carried
 * by the port it arrived on is "outside", like a packet that matches no
 * prefix.
 *
 * rte_lpm and rte_lpm6 take prefix lengths from 1, so a /0 is installed as
 * its two /1 halves.
 */

#ifndef DS_FEED_H
#define DS_FEED_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_lpm.h>
#include <rte_lpm6.h>

#include "ds_config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** No feed: the packet is outside. */
#define DS_FEED_NONE UINT32_MAX

struct ds_feed_table {
	struct rte_lpm *lpm4;           /**< NULL when no feed has an IPv4 prefix */
	struct rte_lpm6 *lpm6;          /**< NULL when no feed has an IPv6 prefix */
	uint32_t n_feeds;
	uint64_t port_mask[DS_MAX_FEEDS]; /**< bit p: port index p carries the feed */
};

/**
 * Build the lookup tables of cfg->feeds on NUMA socket @p socket_id.
 * @param any_port  ignore the feeds' `ports` (replay: every feed applies)
 * @param name      unique name for the DPDK tables
 * @return the table, or NULL with rte_errno set: EINVAL (no feeds), ENOMEM,
 *         EEXIST (name in use), or the error of rte_lpm_add()/rte_lpm6_add().
 */
struct ds_feed_table *ds_feed_table_create(const struct ds_config *cfg, bool any_port,
					   const char *name, int socket_id);

/** Free a table; NULL is a no-op. */
void ds_feed_table_free(struct ds_feed_table *t);

/**
 * Feeds of @p n IPv4 destinations (host byte order) arriving on port index
 * @p port; DS_FEED_NONE for outside.
 */
static inline void
ds_feed_lookup4_bulk(const struct ds_feed_table *t, const uint32_t *dst, uint32_t *feed,
		     unsigned int n, uint32_t port)
{
	if (t->lpm4 == NULL) {
		for (unsigned int i = 0; i < n; i++)
			feed[i] = DS_FEED_NONE;
		return;
	}
	rte_lpm_lookup_bulk(t->lpm4, dst, feed, n);
	for (unsigned int i = 0; i < n; i++) {
		uint32_t f = feed[i] & 0x00ffffff;

		feed[i] = (feed[i] & RTE_LPM_LOOKUP_SUCCESS) && (t->port_mask[f] >> port & 1) ?
			  f : DS_FEED_NONE;
	}
}

/** Feed of one IPv6 destination (network byte order) on port index @p port. */
static inline uint32_t
ds_feed_lookup6(const struct ds_feed_table *t, const uint8_t dst[16], uint32_t port)
{
	uint32_t f;

	if (t->lpm6 == NULL || rte_lpm6_lookup(t->lpm6, dst, &f) != 0)
		return DS_FEED_NONE;
	return t->port_mask[f] >> port & 1 ? f : DS_FEED_NONE;
}

#ifdef __cplusplus
}
#endif

#endif /* DS_FEED_H */
