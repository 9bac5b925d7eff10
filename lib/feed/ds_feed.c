/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Building the feed tables. Runs once at start-up; the lookups are inline in
 * ds_feed.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "ds_feed.h"

/*
 * Read every page of a table's first level (2^24 four-byte entries, 64 MiB),
 * one lookup per 4 KiB. The few prefixes of the feeds write a handful of its
 * pages; the others would be faulted in by the worker, one per page, as
 * packets to scattered addresses arrive (about 16 000 faults a table for a
 * sweep of the address space, test_feed; at the start of traffic on
 * af_packet they were part of what overflowed the ring). Here they cost the
 * start, and the tables become resident whole, as they are with hugepages
 * anyway.
 */
#define TBL24_STEP (4096 / 4)   /* first-level entries in a 4 KiB page */
#define WARM_BATCH 64

/* Where warm4() puts its results, or the compiler drops the inline lookups. */
static volatile uint32_t warm_sink;

static void
warm4(const struct rte_lpm *lpm)
{
	for (uint32_t first = 0; first < (1u << 24); first += TBL24_STEP * WARM_BATCH) {
		uint32_t ip[WARM_BATCH], hop[WARM_BATCH];

		for (uint32_t i = 0; i < WARM_BATCH; i++)
			ip[i] = (first + i * TBL24_STEP) << 8;
		rte_lpm_lookup_bulk(lpm, ip, hop, WARM_BATCH);
		for (uint32_t i = 0; i < WARM_BATCH; i++)
			warm_sink += hop[i];
	}
}

static void
warm6(const struct rte_lpm6 *lpm)
{
	for (uint32_t first = 0; first < (1u << 24); first += TBL24_STEP * WARM_BATCH) {
		uint8_t ip[WARM_BATCH][16];
		int32_t hop[WARM_BATCH];

		memset(ip, 0, sizeof(ip));
		for (uint32_t i = 0; i < WARM_BATCH; i++) {
			uint32_t idx = first + i * TBL24_STEP;

			ip[i][0] = (uint8_t)(idx >> 16);
			ip[i][1] = (uint8_t)(idx >> 8);
			ip[i][2] = (uint8_t)idx;
		}
		rte_lpm6_lookup_bulk_func(lpm, ip, hop, WARM_BATCH);
	}
}

static int
add4(struct rte_lpm *lpm, const struct ds_prefix *p, uint32_t feed)
{
	uint32_t ip = (uint32_t)p->addr[0] << 24 | (uint32_t)p->addr[1] << 16 |
		      (uint32_t)p->addr[2] << 8 | p->addr[3];
	int rc;

	if (p->len > 0)
		return rte_lpm_add(lpm, ip, p->len, feed);
	rc = rte_lpm_add(lpm, 0, 1, feed);
	return rc < 0 ? rc : rte_lpm_add(lpm, 0x80000000u, 1, feed);
}

static int
add6(struct rte_lpm6 *lpm, const struct ds_prefix *p, uint32_t feed)
{
	uint8_t half[16] = {0x80};
	int rc;

	if (p->len > 0)
		return rte_lpm6_add(lpm, p->addr, p->len, feed);
	rc = rte_lpm6_add(lpm, p->addr, 1, feed);
	return rc < 0 ? rc : rte_lpm6_add(lpm, half, 1, feed);
}

struct ds_feed_table *
ds_feed_table_create(const struct ds_config *cfg, bool any_port, const char *name,
		     int socket_id)
{
	uint32_t n4 = 0, n6 = 0, long4 = 0;
	char lname[RTE_LPM_NAMESIZE];
	struct ds_feed_table *t;
	int rc = 0;

	if (cfg->n_feeds == 0 || cfg->n_feeds > DS_MAX_FEEDS) {
		rte_errno = EINVAL;
		return NULL;
	}
	t = rte_zmalloc_socket("ds_feed_table", sizeof(*t), 0, socket_id);
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	t->n_feeds = cfg->n_feeds;
	for (uint32_t f = 0; f < cfg->n_feeds; f++) {
		const struct ds_config_feed *fd = &cfg->feeds[f];

		t->port_mask[f] = any_port ? UINT64_MAX : fd->port_mask;
		for (uint32_t i = 0; i < fd->n_prefixes; i++) {
			if (fd->prefixes[i].family == 4) {
				n4 += 2;
				long4 += fd->prefixes[i].len > 24;
			} else {
				n6 += 2;
			}
		}
	}

	if (n4 > 0) {
		/* One tbl8 group per prefix longer than /24, and room to spare. */
		struct rte_lpm_config c = {
			.max_rules = n4,
			.number_tbl8s = long4 + 256,
		};

		snprintf(lname, sizeof(lname), "%s4", name);
		t->lpm4 = rte_lpm_create(lname, socket_id, &c);
		if (t->lpm4 == NULL)
			goto fail;
	}
	if (n6 > 0) {
		struct rte_lpm6_config c = {
			.max_rules = n6,
			.number_tbl8s = 16 * n6 + 256,
		};

		snprintf(lname, sizeof(lname), "%s6", name);
		t->lpm6 = rte_lpm6_create(lname, socket_id, &c);
		if (t->lpm6 == NULL)
			goto fail;
	}
	for (uint32_t f = 0; f < cfg->n_feeds && rc == 0; f++) {
		const struct ds_config_feed *fd = &cfg->feeds[f];

		for (uint32_t i = 0; i < fd->n_prefixes && rc == 0; i++)
			rc = fd->prefixes[i].family == 4 ? add4(t->lpm4, &fd->prefixes[i], f) :
							   add6(t->lpm6, &fd->prefixes[i], f);
	}
	if (rc < 0) {
		rte_errno = -rc;
		goto fail;
	}
	if (t->lpm4 != NULL)
		warm4(t->lpm4);
	if (t->lpm6 != NULL)
		warm6(t->lpm6);
	return t;
fail:
	rc = rte_errno;
	ds_feed_table_free(t);
	rte_errno = rc;
	return NULL;
}

void
ds_feed_table_free(struct ds_feed_table *t)
{
	if (t == NULL)
		return;
	rte_lpm_free(t->lpm4);
	rte_lpm6_free(t->lpm6);
	rte_free(t);
}
