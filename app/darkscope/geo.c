/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The sensor's reloadable tables: the geo tables (source -> AS, country)
 * and the watch rules. Both are built at start from the configuration, and
 * rebuilt on request (SIGHUP, or the /darkscope/reload telemetry command)
 * from the configuration file as it is then: all or nothing, so a reload
 * that fails in either part leaves both as they were and logs why.
 *
 * A reload never disturbs the workers. The new tables are built on the
 * control thread beside the old ones; then the pointers the workers read at
 * the start of each burst are swapped, and the old tables are freed only
 * once every worker has reported an RCU quiescent state (rte_rcu_qsbr) after
 * the swap, i.e. has finished any burst that could still use them. The
 * control thread polls for that instead of blocking, so it keeps sealing
 * minutes meanwhile (a worker may itself be waiting for the control thread
 * to hand back a buffer).
 *
 * Watch rules keep their index (their bit, and their value in the watch
 * dimensions) for the life of the process: a registry maps names to
 * indexes, so a rule that survives a reload keeps counting under the same
 * value, a new rule takes a free index, and the merge of a minute that
 * straddles a reload stays consistent.
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
		DS_LOG(INFO, "geo: %u ASes (%zu with a registry country, %zu derived), %u "
		       "prefixes (%s), %.1f MiB of FIB, built in %.0f ms\n", (*out)->n_asns - 1,
		       c.asn_cc_registry, c.asn_cc_derived, (*out)->asn_prefixes,
		       (*out)->packed ? "AS and country" : "AS",
		       (double)(*out)->fib_bytes / (1 << 20),
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
ds_tables_reclaim(struct ds_app *app, bool wait)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < app->n_retired; i++) {
		struct ds_retired *r = &app->retired[i];

		if (rte_rcu_qsbr_check(app->qsbr, r->token, wait) == 1)
			r->free_fn(r->ptr);
		else
			app->retired[kept++] = *r;
	}
	app->n_retired = kept;
}

static void
retire(struct ds_app *app, void *ptr, void (*free_fn)(void *), uint64_t token)
{
	struct ds_retired *r = &app->retired[app->n_retired++];

	r->ptr = ptr;
	r->free_fn = free_fn;
	r->token = token;
}

static void
geo_free(void *p)
{
	ds_geo_table_free(p);
}

/*
 * The watch rule set of a configuration, each rule at its registry index;
 * new names take free indexes. Fails when the registry would pass 64 names.
 */
int
ds_watch_build(struct ds_app *app, const struct ds_config *cfg, struct ds_watch_set **out,
	       char *err, size_t len)
{
	struct ds_watch_set *ws;
	char *names[DS_MAX_WATCH_RULES];
	uint32_t n_names = app->n_watch_names;
	int rc;

	*out = NULL;
	ws = rte_zmalloc("ds_watch", sizeof(*ws), RTE_CACHE_LINE_SIZE);
	if (ws == NULL) {
		snprintf(err, len, "watch: out of memory");
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cfg->n_watch; i++) {
		const struct ds_watch_rule *r = &cfg->watch[i];
		uint32_t id = 0;

		while (id < n_names &&
		       strcmp(id < app->n_watch_names ? app->watch_names[id] :
							names[id - app->n_watch_names], r->name) != 0)
			id++;
		if (id == n_names) {
			if (n_names == DS_MAX_WATCH_RULES) {
				snprintf(err, len, "%s: watch[%u] \"%s\": %d different rule names "
					 "since the sensor started is the most; restart darkscope to "
					 "use more", cfg->path, i, r->name, DS_MAX_WATCH_RULES);
				rc = -ENOSPC;
				goto fail;
			}
			names[n_names - app->n_watch_names] = strdup(r->name);
			if (names[n_names - app->n_watch_names] == NULL) {
				snprintf(err, len, "watch: out of memory");
				rc = -ENOMEM;
				goto fail;
			}
			n_names++;
		}
		ws->rules[id] = *r;
		ws->active |= 1ULL << id;
		if (id + 1 > ws->n)
			ws->n = id + 1;
	}
	ws->index = ds_watch_index_build(ws->rules, ws->n, ws->active);
	if (ws->index == NULL) {
		snprintf(err, len, "watch: compiling %u rule(s): %s", cfg->n_watch,
			 strerror(errno));
		rc = -ENOMEM;
		goto fail;
	}
	/* Commit the new names only now that the set is built. */
	for (uint32_t k = app->n_watch_names; k < n_names; k++)
		app->watch_names[k] = names[k - app->n_watch_names];
	app->n_watch_names = n_names;
	*out = ws;
	return 0;

fail:
	for (uint32_t k = app->n_watch_names; k < n_names; k++)
		free(names[k - app->n_watch_names]);
	rte_free(ws);
	return rc;
}

void
ds_watch_free(struct ds_watch_set *ws)
{
	if (ws == NULL)
		return;
	ds_watch_index_free(ws->index);
	rte_free(ws);
}

static void
watch_free(void *p)
{
	ds_watch_free(p);
}

void
ds_tables_reload(struct ds_app *app)
{
	struct ds_config_error cerr;
	struct ds_config *cfg;
	struct ds_geo_table *t, *old;
	struct ds_watch_set *ws, *old_ws;
	char err[DS_GEO_ERR_MAX + 256];
	uint64_t token;

	app->geo_reloads++;
	if (app->n_retired + 2 > DS_MAX_RETIRED) {
		DS_LOG(ERR, "geo: reload refused: %u older tables still wait for the workers\n",
		       app->n_retired);
		app->geo_reload_failures++;
		return;
	}
	cfg = ds_config_load(app->cfg->path, &cerr);
	if (cfg == NULL) {
		DS_LOG(ERR, "geo: reload failed, the current table stays: %s\n", cerr.msg);
		DS_LOG(ERR, "watch: reload failed, the current rules stay: %s\n", cerr.msg);
		app->geo_reload_failures++;
		return;
	}
	/* The generation counts tables built: a failed attempt does not use one up. */
	if (ds_geo_build(&cfg->geo, app->geo_generation + 1, &t, err, sizeof(err)) < 0) {
		DS_LOG(ERR, "geo: reload failed, the current table stays: %s\n", err);
		DS_LOG(ERR, "watch: reload failed, the current rules stay (the geo data failed)\n");
		app->geo_reload_failures++;
		ds_config_free(cfg);
		return;
	}
	if (ds_watch_build(app, cfg, &ws, err, sizeof(err)) < 0) {
		DS_LOG(ERR, "watch: reload failed, the current rules stay: %s\n", err);
		DS_LOG(ERR, "geo: reload failed, the current table stays (the watch rules failed)\n");
		app->geo_reload_failures++;
		ds_geo_table_free(t);
		ds_config_free(cfg);
		return;
	}
	app->geo_generation++;
	old = atomic_exchange_explicit(&app->geo, t, memory_order_acq_rel);
	old_ws = atomic_exchange_explicit(&app->watch, ws, memory_order_acq_rel);
	token = rte_rcu_qsbr_start(app->qsbr);
	if (old != NULL)
		retire(app, old, geo_free, token);
	if (old_ws != NULL)
		retire(app, old_ws, watch_free, token);
	DS_LOG(NOTICE, "geo: reloaded (generation %u)%s\n", app->geo_generation,
	       t == NULL ? ": geo is now off" : "");
	DS_LOG(NOTICE, "watch: %u rule(s) active, compiled into %.1f KiB\n", cfg->n_watch,
	       ds_watch_index_mem_size(ws->index) / 1024.0);
	ds_config_free(cfg);
}
