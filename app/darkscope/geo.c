/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Geo tables for the sensor: built at start from the configuration's geo
 * section, and rebuilt on request (SIGHUP, or the /darkscope/reload
 * telemetry command) from the configuration file as it is then.
 *
 * A reload never disturbs the workers. The new table is built on the
 * control thread beside the old one; then the pointer the workers read at
 * the start of each burst is swapped, and the old table is freed only once
 * every worker has reported an RCU quiescent state (rte_rcu_qsbr) after the
 * swap, i.e. has finished any burst that could still use it. The control
 * thread polls for that instead of blocking, so it keeps sealing minutes
 * meanwhile (a worker may itself be waiting for the control thread to hand
 * back a buffer). A file that fails to load leaves the old table in place
 * and logs why.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "ds_app.h"
#include "ds_geo.h"
#include "ds_geo_table.h"

int
ds_geo_build(const struct ds_config_geo *g, uint32_t generation, struct ds_geo_table **out,
	     char *err, size_t len)
{
	struct ds_geo_source src[DS_MAX_GEO_SOURCES];
	const struct ds_geo_source *srcs[DS_MAX_GEO_SOURCES] = {NULL};
	struct ds_geo_compiled c;
	struct ds_geo_error gerr;
	uint32_t n = 0;
	int rc = 0;

	*out = NULL;
	if (!g->enabled)
		return 0;
	memset(src, 0, sizeof(src));
	for (n = 0; n < g->n_sources && rc == 0; n++) {
		const struct ds_config_geo_source *s = &g->sources[n];

		rc = ds_geo_load(s->format, s->path, s->locations[0] ? s->locations : NULL,
				 s->provides, &src[n], &gerr);
		if (rc < 0) {
			snprintf(err, len, "%s", gerr.msg);
			break;
		}
		srcs[n] = &src[n];
		DS_LOG(INFO, "geo: %s %s: %zu address->AS, %zu address->country, %zu AS->country "
		       "entries (%zu lines, %zu skipped)\n", ds_geo_format_name(s->format), s->path,
		       src[n].n_asn, src[n].n_cc, src[n].n_asn_cc, src[n].lines, src[n].skipped);
	}
	if (rc == 0) {
		rc = ds_geo_compile(srcs, n, g->derive_asn_country ? DS_GEO_DERIVE_ASN_COUNTRY : 0,
				    &c);
		if (rc < 0)
			snprintf(err, len, "geo: compiling the tables: %s", strerror(-rc));
	}
	for (uint32_t i = 0; i < n; i++)
		ds_geo_source_free(&src[i]);
	if (rc < 0)
		return rc;

	*out = ds_geo_table_create(&c, g->country_source == DS_GEO_COUNTRY_BY_PREFIX,
				   g->home_country[0] ? ds_cc_index(g->home_country) : -1,
				   generation, (int)rte_socket_id());
	if (*out == NULL) {
		rc = -rte_errno;
		snprintf(err, len, "geo: building the lookup tables: %s (is eal.memory_mb large "
			 "enough?)", rte_strerror(rte_errno));
	} else {
		DS_LOG(INFO, "geo: %u ASes (%zu with a registry country, %zu derived), %u+%u "
		       "prefixes, %.1f MiB of FIB, built in %.0f ms\n", (*out)->n_asns - 1,
		       c.asn_cc_registry, c.asn_cc_derived, (*out)->asn_prefixes,
		       (*out)->cc_prefixes, (double)(*out)->fib_bytes / (1 << 20),
		       (double)(*out)->build_ns / 1e6);
	}
	ds_geo_compiled_free(&c);
	return rc;
}

int
ds_geo_rcu_init(struct ds_app *app)
{
	size_t size = rte_rcu_qsbr_get_memsize(app->n_workers);

	app->qsbr = rte_zmalloc("ds_qsbr", size, RTE_CACHE_LINE_SIZE);
	if (app->qsbr == NULL)
		return -ENOMEM;
	return rte_rcu_qsbr_init(app->qsbr, app->n_workers);
}

/* Free retired tables that no worker can be using any more. */
void
ds_geo_reclaim(struct ds_app *app, bool wait)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < app->n_retired; i++) {
		struct ds_retired *r = &app->retired[i];

		if (rte_rcu_qsbr_check(app->qsbr, r->token, wait) == 1) {
			ds_geo_table_free(r->table);
			DS_LOG(DEBUG, "geo: table generation %u freed\n", r->generation);
		} else {
			app->retired[kept++] = *r;
		}
	}
	app->n_retired = kept;
}

void
ds_geo_reload(struct ds_app *app)
{
	struct ds_config_error cerr;
	struct ds_config *cfg;
	struct ds_geo_table *t, *old;
	char err[DS_GEO_ERR_MAX + 64];

	app->geo_reloads++;
	if (app->n_retired == DS_MAX_RETIRED) {
		DS_LOG(ERR, "geo: reload refused: %u older tables still wait for the workers\n",
		       app->n_retired);
		app->geo_reload_failures++;
		return;
	}
	cfg = ds_config_load(app->cfg->path, &cerr);
	if (cfg == NULL) {
		DS_LOG(ERR, "geo: reload failed, the current table stays: %s\n", cerr.msg);
		app->geo_reload_failures++;
		return;
	}
	/* The generation counts tables built: a failed attempt does not use one up. */
	if (ds_geo_build(&cfg->geo, app->geo_generation + 1, &t, err, sizeof(err)) < 0) {
		DS_LOG(ERR, "geo: reload failed, the current table stays: %s\n", err);
		app->geo_reload_failures++;
		ds_config_free(cfg);
		return;
	}
	ds_config_free(cfg);
	app->geo_generation++;
	old = atomic_exchange_explicit(&app->geo, t, memory_order_acq_rel);
	if (old != NULL) {
		struct ds_retired *r = &app->retired[app->n_retired++];

		r->table = old;
		r->generation = old->generation;
		r->token = rte_rcu_qsbr_start(app->qsbr);
	}
	DS_LOG(NOTICE, "geo: reloaded (generation %u)%s\n", app->geo_generation,
	       t == NULL ? ": geo is now off" : "");
}
