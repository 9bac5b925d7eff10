/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * What darkscope-report reads from Redis, and the rankings it makes of it.
 *
 * The keys are those of docs/SCHEMA.md, "Hours and days". The reading is
 * planned before anything is read: for each period (0 = the report's, 1 =
 * the one just before, of as many days), each day and each sensor, either
 * the sensor's day key covers exactly that day (the day's midnights in the
 * report zone are those of the sensor's rollup_timezone), or the day is
 * assembled from the UTC hour keys between its midnights, which needs both
 * midnights on whole hours. That gives the "slots" (a key stamp of one
 * sensor) and the "units" (a slot of one feed: one key prefix P:S:F:d:D or
 * P:S:F:h:H), ordered by day so that a day's units are contiguous.
 *
 * Then three pipelined round trips, whatever the length of the period:
 *
 *   0. P:sensors; per sensor P:S:feeds and P:S:meta rollup_timezone
 *   1. per unit    HMGET packets minutes partial      (completeness, totals)
 *      per slot    HGETALL P:S:d:D:counters            (current period)
 *      per period  ZUNION <all units' DIM zsets> WITHSCORES for the ranked
 *                  dimensions, summed by Redis: one reply per dimension
 *                  instead of every day's zset
 *   2. PFCOUNT over all units' HLLs for every distinct-source figure (a
 *      period's sources are one PFCOUNT over its keys, never a sum of
 *      daily counts); per unit ZMSCORE of the shown values (daily charts);
 *      per day and rule PFCOUNT of the home HLLs
 *
 * Rankings sort by packets, descending, then by label in natural order
 * (strverscmp: 445/tcp before 1433/tcp). With --per-sensor-average the
 * packets of a period are divided by the number of chosen sensors with data
 * in it, which leaves the order within a period as it is but makes periods
 * with different numbers of sensors comparable (movers).
 */

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "redis_io.h"
#include "report.h"

/* Labels that are not a place or a network; shown apart, never ranked. */
static const char *const not_ranked[] = { "bogon", "unrouted", "unknown", "other", NULL };

/* The ZUNIONs of phase 1, in this order. */
enum {
	U_TCP,
	U_UDP,
	U_COUNTRY,
	U_ASN,
	U_FP,
	U_WATCH,
	U_SIG,
	U_MAX,
};

static const char *const union_dims[U_MAX] = {
	[U_TCP] = "tcp_dst_port",
	[U_UDP] = "udp_dst_port",
	[U_COUNTRY] = "src_country",
	[U_ASN] = "src_asn",
	[U_FP] = "tcp_fingerprint",
	[U_WATCH] = "watch",
	[U_SIG] = "signature",
};

#define ALLOC(r, n, type) ((type *)ds_report_alloc(&(r)->arena, (size_t)(n) * sizeof(type)))

static int
nomem(struct ds_report *r)
{
	return ds_report_error(r, -ENOMEM, false, "out of memory");
}

static int
batch_error(struct ds_report *r, const struct ds_report_batch *b, int ret)
{
	return ds_report_error(r, ret, false, "%s", b->errstr);
}

/* A reply's string, or "" for nil and anything else. */
static const char *
rstr(const redisReply *rep)
{
	if (rep != NULL && (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS))
		return rep->str;
	return "";
}

static double
rnum(const redisReply *rep)
{
	if (rep == NULL)
		return 0;
	if (rep->type == REDIS_REPLY_INTEGER)
		return (double)rep->integer;
	if (rep->type == REDIS_REPLY_STRING)
		return strtod(rep->str, NULL);
	return 0;
}

static bool
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ------------------------------------------------------------------------------------------ */
/* Phase 0: sensors, feeds, zones                                                             */

static int
find_feed(struct ds_report *r, const char *name)
{
	unsigned int i;

	for (i = 0; i < r->n_feeds; i++)
		if (strcmp(r->feeds[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int
load_sensors(struct ds_report *r, struct ds_report_batch *b)
{
	const struct ds_report_opts *o = r->opts;
	const redisReply *rep;
	const char **ids, **names;
	unsigned int i, j, n_ids, n_names = 0;
	long idx;
	int ret;

	ds_report_batch_begin(b);
	ds_report_batch_arg(b, "SMEMBERS");
	ds_report_batch_argf(b, "%s:sensors", o->prefix);
	idx = ds_report_batch_end(b);
	ret = ds_report_batch_run(b);
	if (ret)
		return batch_error(r, b, ret);
	rep = ds_report_batch_reply(b, idx);
	n_ids = (unsigned int)rep->elements;
	/*
	 * An empty index is a runtime matter (wrong prefix, wrong database, or
	 * nothing written yet); a --sensor that is not in it is the user's.
	 */
	if (n_ids == 0 && o->n_sensors == 0) {
		ds_report_batch_reset(b);
		return ds_report_error(r, -ENOENT, false, "no sensor has written under prefix "
				       "'%s' (%s:sensors is empty or absent)", o->prefix, o->prefix);
	}
	ids = ALLOC(r, n_ids + 1, const char *);
	if (ids == NULL)
		return nomem(r);
	for (i = 0; i < n_ids; i++) {
		ids[i] = ds_report_strdup(&r->arena, rstr(rep->element[i]));
		if (ids[i] == NULL) {
			ds_report_batch_reset(b);
			return nomem(r);
		}
	}
	ds_report_batch_reset(b);
	/* Sorted: the report lists sensors, and sums them, in a stable order. */
	qsort(ids, n_ids, sizeof(*ids), cmp_str);

	/* The chosen sensors: --sensor (each must exist), else all, sorted. */
	r->sensors = ALLOC(r, n_ids + 1, struct ds_report_sensor);
	if (r->sensors == NULL)
		return nomem(r);
	if (o->n_sensors == 0) {
		for (i = 0; i < n_ids && i < DS_REPORT_MAX_SENSORS; i++)
			r->sensors[r->n_sensors++].id = ids[i];
		if (n_ids > DS_REPORT_MAX_SENSORS)
			ds_report_note(r, "%u sensors in %s:sensors: only the first %u (by name) "
				       "are in the report", n_ids, o->prefix, DS_REPORT_MAX_SENSORS);
	} else {
		for (i = 0; i < n_ids; i++)
			for (j = 0; j < o->n_sensors; j++)
				if (strcmp(ids[i], o->sensors[j]) == 0) {
					r->sensors[r->n_sensors++].id = ids[i];
					break;
				}
		for (j = 0; j < o->n_sensors; j++)
			if (bsearch(&o->sensors[j], ids, n_ids, sizeof(*ids), cmp_str) == NULL)
				return ds_report_error(r, -ENOENT, true, "--sensor '%s': no such "
						       "sensor in %s:sensors", o->sensors[j],
						       o->prefix);
	}

	/* Replies 2i and 2i + 1: sensor i's feeds and its rollup zone. */
	for (i = 0; i < r->n_sensors; i++) {
		ds_report_batch_begin(b);
		ds_report_batch_arg(b, "SMEMBERS");
		ds_report_batch_argf(b, "%s:%s:feeds", o->prefix, r->sensors[i].id);
		ds_report_batch_end(b);
		ds_report_batch_begin(b);
		ds_report_batch_arg(b, "HGET");
		ds_report_batch_argf(b, "%s:%s:meta", o->prefix, r->sensors[i].id);
		ds_report_batch_arg(b, "rollup_timezone");
		ds_report_batch_end(b);
	}
	ret = ds_report_batch_run(b);
	if (ret)
		return batch_error(r, b, ret);

	/* Every feed name of the chosen sensors, sorted. */
	for (i = 0; i < r->n_sensors; i++)
		n_names += (unsigned int)ds_report_batch_reply(b, 2 * i)->elements;
	names = ALLOC(r, n_names + 1, const char *);
	r->feeds = ALLOC(r, n_names + 1, struct ds_report_feed);
	if (names == NULL || r->feeds == NULL)
		return nomem(r);
	n_names = 0;
	for (i = 0; i < r->n_sensors; i++) {
		struct ds_report_sensor *s = &r->sensors[i];
		const char *zone;

		rep = ds_report_batch_reply(b, 2 * i);
		for (j = 0; j < rep->elements; j++)
			names[n_names++] = ds_report_strdup(&r->arena, rstr(rep->element[j]));
		/* SCHEMA.md: a sensor without the field rolls days up in UTC. */
		zone = rstr(ds_report_batch_reply(b, 2 * i + 1));
		s->zone_from_meta = zone[0] != '\0';
		s->zone = ds_report_strdup(&r->arena, s->zone_from_meta ? zone : "UTC");
		if (s->zone == NULL)
			return nomem(r);
		/* The sensor accepted it, so this system lacks it: say where it came from. */
		if (ds_report_zone_check(s->zone) != 0) {
			ds_report_batch_reset(b);
			return ds_report_error(r, -EINVAL, false, "%s:%s:meta rollup_timezone '%s' "
					       "is not a zone of this system's zone database",
					       o->prefix, s->id, s->zone);
		}
	}
	/* Feeds are reported by name: the same name on two sensors is one feed. */
	qsort(names, n_names, sizeof(*names), cmp_str);
	for (i = 0; i < n_names; i++) {
		if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
			continue;
		if (o->n_feeds > 0) {
			for (j = 0; j < o->n_feeds; j++)
				if (strcmp(o->feeds[j], names[i]) == 0)
					break;
			if (j == o->n_feeds)
				continue;
		}
		if (r->n_feeds < DS_REPORT_MAX_FEEDS)
			r->feeds[r->n_feeds++].name = names[i];
	}
	for (j = 0; j < o->n_feeds; j++)
		if (find_feed(r, o->feeds[j]) < 0) {
			ds_report_batch_reset(b);
			return ds_report_error(r, -ENOENT, true, "--feed '%s': no chosen sensor "
					       "has that feed (%s:S:feeds)", o->feeds[j], o->prefix);
		}

	/*
	 * Each sensor's chosen feeds, and one completeness record per pair. A
	 * sensor without any of the chosen feeds is left out altogether: its
	 * sensor-wide counters would describe traffic the report does not show.
	 */
	r->sfs = ALLOC(r, n_names + 1, struct ds_report_sf);
	if (r->sfs == NULL)
		return nomem(r);
	n_ids = 0;
	for (i = 0; i < r->n_sensors; i++) {
		struct ds_report_sensor *s = &r->sensors[n_ids];
		unsigned int first_sf = r->n_sfs;

		if (n_ids != i)
			*s = r->sensors[i];
		rep = ds_report_batch_reply(b, 2 * i);
		s->feeds = ALLOC(r, r->n_feeds + 1, unsigned int);
		if (s->feeds == NULL)
			return nomem(r);
		for (j = 0; j < r->n_feeds; j++) {
			size_t k;

			for (k = 0; k < rep->elements; k++)
				if (strcmp(rstr(rep->element[k]), r->feeds[j].name) == 0)
					break;
			if (k == rep->elements)
				continue;
			s->feeds[s->n_feeds++] = r->n_sfs;
			r->sfs[r->n_sfs].sensor = n_ids;
			r->sfs[r->n_sfs].feed = j;
			r->n_sfs++;
		}
		if (s->n_feeds == 0) {
			ds_report_note(r, "sensor %s has none of the chosen feeds: left out", s->id);
			r->n_sfs = first_sf;
			continue;
		}
		n_ids++;
	}
	r->n_sensors = n_ids;
	ds_report_batch_reset(b);
	return 0;
}

/*
 * The report zone: --tz, else the rollup zone of the chosen sensors when
 * they agree, else UTC (every sensor then reads hour keys as needed).
 */
static int
choose_zone(struct ds_report *r)
{
	const struct ds_report_opts *o = r->opts;
	unsigned int i;
	int ret;

	if (o->tz != NULL) {
		ret = ds_report_zone_check(o->tz);
		if (ret)
			return ds_report_error(r, ret, true, "--tz '%s': %s", o->tz, ret == -ENOENT ?
					       "no such zone in the system's zone database" :
					       "expected a zone name such as Asia/Tokyo or UTC");
		r->tz = o->tz;
		return 0;
	}
	r->tz_default = true;
	r->tz = r->n_sensors > 0 ? r->sensors[0].zone : "UTC";
	for (i = 1; i < r->n_sensors; i++) {
		if (strcmp(r->sensors[i].zone, r->tz) != 0) {
			ds_report_note(r, "the sensors roll days up in different zones (%s: %s, "
				       "%s: %s): the report uses UTC; choose with --tz",
				       r->sensors[0].id, r->sensors[0].zone, r->sensors[i].id,
				       r->sensors[i].zone);
			r->tz = "UTC";
			break;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Planning: slots and units of a period                                                      */

static int
plan_period(struct ds_report *r, unsigned int p)
{
	struct ds_report_period *per = &r->per[p];
	const char *prefix = r->opts->prefix;
	unsigned int d, i, j, n = per->ndays;
	int64_t **sb;
	size_t n_slots = 0, n_units = 0, s_i = 0, u_i = 0;
	int ret;

	per->bounds = ALLOC(r, n + 1, int64_t);
	sb = ALLOC(r, r->n_sensors + 1, int64_t *);
	per->day_units = ALLOC(r, n + 1, size_t);
	if (per->bounds == NULL || sb == NULL || per->day_units == NULL)
		return nomem(r);
	ret = ds_report_zone_midnights(r->tz, per->first, n, per->bounds);
	if (ret)
		return ds_report_error(r, ret, true, "--tz '%s': cannot place the days of the "
				       "period on the time line", r->tz);

	/*
	 * Count first, then fill arrays of the exact size: a day read from its
	 * day key is one slot, a day assembled from hours one slot per hour. The
	 * day key is usable exactly when the sensor's day has the same two
	 * midnights as the report's day: comparing instants rather than zone
	 * names also accepts aliases (Japan, Asia/Tokyo) and zones that agree
	 * on the days in question.
	 */
	for (i = 0; i < r->n_sensors; i++) {
		const struct ds_report_sensor *s = &r->sensors[i];

		sb[i] = ALLOC(r, n + 1, int64_t);
		if (sb[i] == NULL)
			return nomem(r);
		ret = ds_report_zone_midnights(s->zone, per->first, n, sb[i]);
		if (ret)
			return ds_report_error(r, ret, false, "sensor %s: cannot place the days "
					       "of its rollup zone %s", s->id, s->zone);
		for (d = 0; d < n; d++) {
			int64_t a = per->bounds[d], z = per->bounds[d + 1];
			size_t k;

			if (sb[i][d] == a && sb[i][d + 1] == z) {
				k = 1;
			} else if (a % 3600 != 0 || z % 3600 != 0) {
				char day[11];

				ds_report_date_iso(per->first + (int32_t)d, day);
				return ds_report_error(r, -EINVAL, true, "--tz %s: day %s starts or "
						       "ends off a whole UTC hour, so hour keys "
						       "cannot make it up (sensor %s rolls days up "
						       "in %s); use --tz %s", r->tz, day, s->id,
						       s->zone, s->zone);
			} else {
				k = (size_t)((z - a) / 3600);
			}
			n_slots += k;
			n_units += k * s->n_feeds;
		}
	}
	per->slots = ALLOC(r, n_slots + 1, struct ds_report_slot);
	per->units = ALLOC(r, n_units + 1, struct ds_report_unit);
	if (per->slots == NULL || per->units == NULL)
		return nomem(r);

	for (d = 0; d < n; d++) {
		int64_t a = per->bounds[d], z = per->bounds[d + 1];

		per->day_units[d] = u_i;
		for (i = 0; i < r->n_sensors; i++) {
			struct ds_report_sensor *s = &r->sensors[i];
			bool day_key = sb[i][d] == a && sb[i][d + 1] == z;
			int64_t t;

			/* One pass for a day key, one per UTC hour otherwise. */
			for (t = a; day_key ? t == a : t < z; t += 3600) {
				struct ds_report_slot *sl = &per->slots[s_i];

				sl->sensor = i;
				sl->day = d;
				sl->hour = !day_key;
				/* D is the date in the sensor's zone: here the report's date. */
				if (day_key) {
					ds_report_date_stamp(per->first + (int32_t)d, sl->stamp);
				} else {
					int32_t dn = (int32_t)(t / 86400);
					char ds[9];

					ds_report_date_stamp(dn, ds);
					snprintf(sl->stamp, sizeof(sl->stamp), "%s%02u", ds,
						 (unsigned int)(t % 86400 / 3600));
				}
				for (j = 0; j < s->n_feeds; j++) {
					struct ds_report_unit *u = &per->units[u_i++];
					struct ds_report_sf *sf = &r->sfs[s->feeds[j]];

					u->sf = s->feeds[j];
					u->slot = (unsigned int)s_i;
					u->base = ds_report_sprintf(&r->arena, "%s:%s:%s:%c:%s", prefix,
								    s->id, r->feeds[sf->feed].name,
								    day_key ? 'd' : 'h', sl->stamp);
					if (u->base == NULL)
						return nomem(r);
					sf->keys[p]++;
					sf->hour_keys[p] += !day_key;
				}
				s_i++;
			}
			if (!day_key)
				s->hour_days[p]++;
			/* The day's real length: 1380 or 1500 minutes when clocks change. */
			for (j = 0; j < s->n_feeds; j++)
				r->sfs[s->feeds[j]].expected[p] += (uint64_t)(z - a) / 60;
		}
	}
	per->day_units[n] = u_i;
	per->n_slots = s_i;
	per->n_units = u_i;
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Phase 1: hashes, counters, unions                                                          */

/* ZUNION of DIM over every unit of a period; -1 when there is no unit. */
static long
append_union(struct ds_report *r, struct ds_report_batch *b, unsigned int p, const char *dim)
{
	const struct ds_report_period *per = &r->per[p];
	size_t i;

	if (per->n_units == 0)
		return -1;
	ds_report_batch_begin(b);
	ds_report_batch_arg(b, "ZUNION");
	ds_report_batch_argf(b, "%zu", per->n_units);
	for (i = 0; i < per->n_units; i++)
		ds_report_batch_argf(b, "%s:%s", per->units[i].base, dim);
	ds_report_batch_arg(b, "WITHSCORES");
	return ds_report_batch_end(b);
}

/* Natural order: numbers inside labels compare by value. */
static int
cmp_label(const char *a, const char *b)
{
	return strverscmp(a, b);
}

static int
cmp_rank(const void *pa, const void *pb)
{
	const struct ds_report_item *a = pa, *b = pb;

	if (a->packets != b->packets)
		return a->packets > b->packets ? -1 : 1;
	return cmp_label(a->label, b->label);
}

static int
cmp_by_label(const void *pa, const void *pb)
{
	const struct ds_report_item *a = *(const struct ds_report_item *const *)pa;
	const struct ds_report_item *b = *(const struct ds_report_item *const *)pb;

	return strcmp(a->label, b->label);
}

/*
 * A ranking from one or two ZUNION replies (ports: TCP and UDP, labelled
 * "23/tcp"). Values without packets are dropped; labels in @p skip go to
 * the excluded list.
 */
static int
make_ranking(struct ds_report *r, struct ds_report_ranking *rk, const redisReply *const *reps,
	     const char *const *dims, const char *const *suffixes, unsigned int n_reps,
	     const char *const *skip, double divisor)
{
	size_t cap = 0, i, n = 0, n_ex = 0;
	struct ds_report_item *all;
	unsigned int k;

	/* WITHSCORES replies are flat: member, score, member, score, ... */
	for (k = 0; k < n_reps; k++)
		if (reps[k] != NULL)
			cap += reps[k]->elements / 2;
	all = ALLOC(r, cap + 1, struct ds_report_item);
	rk->ex = ALLOC(r, cap + 1, struct ds_report_item);
	if (all == NULL || rk->ex == NULL)
		return nomem(r);
	for (k = 0; k < n_reps; k++) {
		if (reps[k] == NULL)
			continue;
		for (i = 0; i + 1 < reps[k]->elements; i += 2) {
			const char *v = rstr(reps[k]->element[i]);
			double pk = rnum(reps[k]->element[i + 1]) / divisor;
			struct ds_report_item *it;
			bool excluded = skip != NULL && in_list(v, skip);

			/* A value summed to nothing (or a malformed score) has no rank. */
			if (!(pk > 0))
				continue;
			it = excluded ? &rk->ex[n_ex++] : &all[n++];
			it->value = ds_report_strdup(&r->arena, v);
			it->dim = dims[k];
			it->packets = pk;
			it->port = -1;
			/* Ports keep their number apart for JSON and getservbyport(). */
			if (suffixes != NULL) {
				char *end;
				unsigned long port = strtoul(v, &end, 10);

				it->label = ds_report_sprintf(&r->arena, "%s/%s", v, suffixes[k]);
				if (*v >= '0' && *v <= '9' && *end == '\0' && port <= 65535)
					it->port = (int)port;
			} else {
				it->label = it->value;
			}
			if (it->value == NULL || it->label == NULL)
				return nomem(r);
		}
	}
	qsort(all, n, sizeof(*all), cmp_rank);
	qsort(rk->ex, n_ex, sizeof(*rk->ex), cmp_rank);
	/* The previous rank of a value is a look-up by label in the other period. */
	rk->by_label = ALLOC(r, n + 1, struct ds_report_item *);
	if (rk->by_label == NULL)
		return nomem(r);
	for (i = 0; i < n; i++) {
		all[i].rank = (unsigned int)(i + 1);
		rk->by_label[i] = &all[i];
	}
	qsort(rk->by_label, n, sizeof(*rk->by_label), cmp_by_label);
	rk->v = all;
	rk->n = n;
	rk->n_ex = n_ex;
	return 0;
}

static struct ds_report_item *
lookup(const struct ds_report_ranking *rk, const char *label)
{
	struct ds_report_item key = { .label = label }, *kp = &key, **hit;

	if (rk->n == 0)
		return NULL;
	hit = bsearch(&kp, rk->by_label, rk->n, sizeof(*rk->by_label), cmp_by_label);
	return hit != NULL ? *hit : NULL;
}

/* Rules or signatures present in the period: the members of their union. */
static int
make_rules(struct ds_report *r, const redisReply *rep, struct ds_report_rule **out,
	   unsigned int *n_out)
{
	struct ds_report_ranking rk = { 0 };
	static const char *const dims[] = { "" };
	unsigned int ndays = r->per[0].ndays;
	size_t i;
	int ret;

	ret = make_ranking(r, &rk, &rep, dims, NULL, 1, NULL, 1.0);
	if (ret)
		return ret;
	*out = ALLOC(r, rk.n + 1, struct ds_report_rule);
	if (*out == NULL)
		return nomem(r);
	for (i = 0; i < rk.n; i++) {
		struct ds_report_rule *ru = &(*out)[i];

		ru->name = rk.v[i].label;
		ru->packets = rk.v[i].packets / r->per[0].divisor;
		ru->day_packets = ALLOC(r, ndays, double);
		ru->day_domestic = ALLOC(r, ndays, uint64_t);
		ru->day_overseas = ALLOC(r, ndays, uint64_t);
		ru->chart = -1;
		if (ru->day_packets == NULL || ru->day_domestic == NULL || ru->day_overseas == NULL)
			return nomem(r);
	}
	*n_out = (unsigned int)rk.n;
	return 0;
}

/*
 * The counters of one counters hash. Port statistics are per port name
 * (port.NAME.imissed): the report wants the sensor's total, whatever its
 * ports are called; per-queue fields (port.NAME.qN....) are not counted.
 */
static void
add_counters(struct ds_report_counters *c, const redisReply *rep)
{
	size_t i;

	for (i = 0; i + 1 < rep->elements; i += 2) {
		const char *f = rstr(rep->element[i]);
		size_t len = strlen(f);
		double v = rnum(rep->element[i + 1]);
		int k = -1;

		if (strcmp(f, "malformed") == 0)
			k = DS_REPORT_CTR_MALFORMED;
		else if (strcmp(f, "redis.dropped_total") == 0)
			k = DS_REPORT_CTR_DROPPED;
		else if (strcmp(f, "redis.rollup_skipped_total") == 0)
			k = DS_REPORT_CTR_SKIPPED;
		else if (strncmp(f, "port.", 5) == 0 && len > 13 &&
			 strcmp(f + len - 8, ".imissed") == 0)
			k = DS_REPORT_CTR_IMISSED;
		else if (strncmp(f, "port.", 5) == 0 && len > 15 &&
			 strcmp(f + len - 10, ".rx_nombuf") == 0)
			k = DS_REPORT_CTR_RX_NOMBUF;
		if (k < 0)
			continue;
		c->v[k] += v;
		c->present[k] = true;
	}
}

static int
phase1(struct ds_report *r, struct ds_report_batch *b)
{
	long h_idx[2], c_idx, u_idx[2][U_MAX];
	const redisReply *reps[2];
	unsigned int p, k;
	size_t i;
	int ret;

	/*
	 * Commands are appended in a known order and their replies found by
	 * index: the HMGETs of period p from h_idx[p], one per unit, then the
	 * counters from c_idx, one per slot, then the unions.
	 */
	for (p = 0; p < 2; p++) {
		const struct ds_report_period *per = &r->per[p];

		h_idx[p] = (long)b->n;
		for (i = 0; i < per->n_units; i++) {
			ds_report_batch_begin(b);
			ds_report_batch_arg(b, "HMGET");
			ds_report_batch_arg(b, per->units[i].base);
			ds_report_batch_arg(b, "packets");
			ds_report_batch_arg(b, "minutes");
			ds_report_batch_arg(b, "partial");
			ds_report_batch_end(b);
		}
	}
	c_idx = (long)b->n;
	for (i = 0; i < r->per[0].n_slots; i++) {
		const struct ds_report_slot *sl = &r->per[0].slots[i];

		ds_report_batch_begin(b);
		ds_report_batch_arg(b, "HGETALL");
		ds_report_batch_argf(b, "%s:%s:%c:%s:counters", r->opts->prefix,
				     r->sensors[sl->sensor].id, sl->hour ? 'h' : 'd', sl->stamp);
		ds_report_batch_end(b);
	}
	/* Rules and signatures are not ranked against the previous period. */
	for (p = 0; p < 2; p++)
		for (k = 0; k < U_MAX; k++)
			u_idx[p][k] = p == 1 && (k == U_WATCH || k == U_SIG) ? -1 :
				append_union(r, b, p, union_dims[k]);
	ret = ds_report_batch_run(b);
	if (ret) {
		if (ret == -EPROTO && strstr(b->errstr, "ZUNION") != NULL)
			return ds_report_error(r, ret, false, "%s (ZUNION needs Redis 6.2 or "
					       "later)", b->errstr);
		return batch_error(r, b, ret);
	}

	/* Totals and completeness. */
	for (p = 0; p < 2; p++) {
		struct ds_report_period *per = &r->per[p];

		for (i = 0; i < per->n_units; i++) {
			const redisReply *rep = ds_report_batch_reply(b, h_idx[p] + (long)i);
			struct ds_report_unit *u = &per->units[i];
			struct ds_report_sf *sf = &r->sfs[u->sf];
			double pk;

			/* HMGET of an absent hash: three nils. The key is missing. */
			if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3 ||
			    rep->element[0]->type == REDIS_REPLY_NIL) {
				sf->missing[p]++;
				continue;
			}
			u->present = true;
			pk = rnum(rep->element[0]);
			sf->packets[p] += pk;
			sf->minutes[p] += (uint64_t)rnum(rep->element[1]);
			sf->partial[p] += (uint64_t)rnum(rep->element[2]);
			r->feeds[sf->feed].packets[p] += pk;
			r->sensors[sf->sensor].has_data[p] = true;
			per->packets += pk;
		}
		/* --per-sensor-average divides by the sensors that had anything. */
		per->sensors_with_data = 0;
		for (k = 0; k < r->n_sensors; k++)
			per->sensors_with_data += r->sensors[k].has_data[p];
		per->divisor = r->opts->per_sensor_average && per->sensors_with_data > 0 ?
			(double)per->sensors_with_data : 1.0;
		per->packets /= per->divisor;
		for (k = 0; k < r->n_feeds; k++)
			r->feeds[k].packets[p] /= per->divisor;
	}
	for (i = 0; i < r->per[0].n_slots; i++)
		add_counters(&r->sensors[r->per[0].slots[i].sensor].ctr,
			     ds_report_batch_reply(b, c_idx + (long)i));

	/* Rankings of both periods. */
	for (p = 0; p < 2; p++) {
		static const char *const port_dims[] = { "tcp_dst_port", "udp_dst_port" };
		static const char *const port_sfx[] = { "tcp", "udp" };
		static const char *const country_dim[] = { "src_country" };
		static const char *const asn_dim[] = { "src_asn" };
		static const char *const fp_dim[] = { "tcp_fingerprint" };
		static const char *const fp_skip[] = { "other", NULL };
		double dv = r->per[p].divisor;

		reps[0] = ds_report_batch_reply(b, u_idx[p][U_TCP]);
		reps[1] = ds_report_batch_reply(b, u_idx[p][U_UDP]);
		ret = make_ranking(r, &r->rank[DS_REPORT_PORTS][p], reps, port_dims, port_sfx, 2,
				   NULL, dv);
		reps[0] = ds_report_batch_reply(b, u_idx[p][U_COUNTRY]);
		ret = ret ? ret : make_ranking(r, &r->rank[DS_REPORT_COUNTRIES][p], reps,
					       country_dim, NULL, 1, not_ranked, dv);
		reps[0] = ds_report_batch_reply(b, u_idx[p][U_ASN]);
		ret = ret ? ret : make_ranking(r, &r->rank[DS_REPORT_ASNS][p], reps, asn_dim,
					       NULL, 1, not_ranked, dv);
		reps[0] = ds_report_batch_reply(b, u_idx[p][U_FP]);
		ret = ret ? ret : make_ranking(r, &r->rank[DS_REPORT_FPS][p], reps, fp_dim,
					       NULL, 1, fp_skip, dv);
		if (ret)
			goto out;
	}
	ret = make_rules(r, ds_report_batch_reply(b, u_idx[0][U_WATCH]), &r->watch, &r->n_watch);
	if (ret == 0)
		ret = make_rules(r, ds_report_batch_reply(b, u_idx[0][U_SIG]), &r->sigs,
				 &r->n_sigs);
out:
	ds_report_batch_reset(b);
	return ret;
}

/* ------------------------------------------------------------------------------------------ */
/* Phase 2: distinct sources and daily series                                                 */

/*
 * PFCOUNT of the keys BASE:SUFFIX of a period's units [from, to), or only
 * those of one feed (feed >= 0). -1 when no key qualifies.
 */
static long
append_pfcount(struct ds_report_batch *b, const struct ds_report *r,
	       const struct ds_report_period *per, size_t from, size_t to, int feed,
	       const char *suffix)
{
	size_t i, n = 0;

	ds_report_batch_begin(b);
	ds_report_batch_arg(b, "PFCOUNT");
	for (i = from; i < to; i++) {
		if (feed >= 0 && r->sfs[per->units[i].sf].feed != (unsigned int)feed)
			continue;
		ds_report_batch_argf(b, "%s:%s", per->units[i].base, suffix);
		n++;
	}
	if (n == 0) {
		ds_report_batch_begin(b);
		return -1;
	}
	return ds_report_batch_end(b);
}

static uint64_t
count_of(const struct ds_report_batch *b, long idx)
{
	const redisReply *rep = ds_report_batch_reply(b, idx);

	return rep != NULL && rep->type == REDIS_REPLY_INTEGER && rep->integer > 0 ?
		(uint64_t)rep->integer : 0;
}

/* ZMSCORE of the shown values of one dimension in one unit. */
static long
append_zmscore(struct ds_report_batch *b, const char *base, const char *dim,
	       struct ds_report_item *items, unsigned int n_items, const char *want_dim)
{
	unsigned int i, n = 0;

	ds_report_batch_begin(b);
	ds_report_batch_arg(b, "ZMSCORE");
	ds_report_batch_argf(b, "%s:%s", base, dim);
	for (i = 0; i < n_items; i++)
		if (want_dim == NULL || strcmp(items[i].dim, want_dim) == 0) {
			ds_report_batch_arg(b, items[i].value);
			n++;
		}
	if (n == 0) {
		ds_report_batch_begin(b);
		return -1;
	}
	return ds_report_batch_end(b);
}

static void
add_scores(const redisReply *rep, struct ds_report_item *items, unsigned int n_items,
	   const char *want_dim, unsigned int day)
{
	unsigned int i, j = 0;

	if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
		return;
	for (i = 0; i < n_items; i++)
		if (want_dim == NULL || strcmp(items[i].dim, want_dim) == 0) {
			if (j < rep->elements)
				items[i].daily[day] += rnum(rep->element[j]);
			j++;
		}
}

/* The packet dimension of watch rules and signatures, then their home dimension. */
static const char *const rule_dims[2][2] = {
	{ "watch", "watch_home" },
	{ "signature", "signature_home" },
};

static int
phase2(struct ds_report *r, struct ds_report_batch *b)
{
	struct ds_report_period *cur = &r->per[0];
	unsigned int ndays = cur->ndays, k, i, d, set;
	long tot_idx[2], *feed_idx, *item_idx[DS_REPORT_RANK_MAX], *unit_idx;
	long *rule_idx[2];
	const char *suffix;
	int ret;

	/*
	 * Distinct sources: one PFCOUNT over the period's keys per figure. Redis
	 * merges the HyperLogLogs into a temporary one, so a source seen on
	 * many days, sensors or feeds counts once.
	 */
	for (k = 0; k < 2; k++)
		tot_idx[k] = append_pfcount(b, r, &r->per[k], 0, r->per[k].n_units, -1, "hll");
	feed_idx = ALLOC(r, r->n_feeds + 1, long);
	unit_idx = ALLOC(r, 5 * cur->n_units + 1, long);
	if (feed_idx == NULL || unit_idx == NULL)
		return nomem(r);
	for (k = 0; k < r->n_feeds; k++)
		feed_idx[k] = append_pfcount(b, r, cur, 0, cur->n_units, (int)k, "hll");
	/* Ports, countries, ASes: the shown values get previous ranks and sources. */
	for (k = 0; k < DS_REPORT_FPS; k++) {
		struct ds_report_ranking *rk = &r->rank[k][0];

		r->n_shown[k] = rk->n < r->opts->top ? (unsigned int)rk->n : r->opts->top;
		item_idx[k] = ALLOC(r, r->n_shown[k] + 1, long);
		if (item_idx[k] == NULL)
			return nomem(r);
		for (i = 0; i < r->n_shown[k]; i++) {
			struct ds_report_item *it = &rk->v[i];
			const struct ds_report_item *prev = lookup(&r->rank[k][1], it->label);

			it->prev_rank = prev != NULL ? prev->rank : 0;
			it->prev_packets = prev != NULL ? prev->packets : 0;
			it->daily = ALLOC(r, ndays, double);
			if (it->daily == NULL)
				return nomem(r);
			if (k == DS_REPORT_PORTS && it->port >= 0) {
				/* The IANA name from the services database (netbase). */
				const struct servent *se = getservbyport(htons((uint16_t)it->port),
					strcmp(it->dim, "udp_dst_port") == 0 ? "udp" : "tcp");

				it->service = ds_report_strdup(&r->arena, se != NULL ? se->s_name : "");
				if (it->service == NULL)
					return nomem(r);
			}
			suffix = ds_report_sprintf(&r->arena, "hll:%s:%s", it->dim, it->value);
			if (suffix == NULL)
				return nomem(r);
			item_idx[k][i] = append_pfcount(b, r, cur, 0, cur->n_units, -1, suffix);
		}
	}

	/*
	 * Daily packets of the shown ports, countries, rules and signatures:
	 * five ZMSCOREs per unit (unit_idx[5 * i + 0..4]); a unit's day is its
	 * slot's, and hour units add up into their day.
	 */
	for (i = 0; i < cur->n_units; i++) {
		const char *base = cur->units[i].base;
		struct ds_report_item *ports = r->rank[DS_REPORT_PORTS][0].v;
		struct ds_report_item *ccs = r->rank[DS_REPORT_COUNTRIES][0].v;
		unsigned int np = r->n_shown[DS_REPORT_PORTS];

		unit_idx[5 * i] = append_zmscore(b, base, "tcp_dst_port", ports, np,
						 "tcp_dst_port");
		unit_idx[5 * i + 1] = append_zmscore(b, base, "udp_dst_port", ports, np,
						     "udp_dst_port");
		unit_idx[5 * i + 2] = append_zmscore(b, base, "src_country", ccs,
						     r->n_shown[DS_REPORT_COUNTRIES], NULL);
		for (set = 0; set < 2; set++) {
			const struct ds_report_rule *rules = set ? r->sigs : r->watch;
			unsigned int n = set ? r->n_sigs : r->n_watch;

			unit_idx[5 * i + 3 + set] = -1;
			if (n == 0)
				continue;
			ds_report_batch_begin(b);
			ds_report_batch_arg(b, "ZMSCORE");
			ds_report_batch_argf(b, "%s:%s", base, rule_dims[set][0]);
			for (k = 0; k < n; k++)
				ds_report_batch_arg(b, rules[k].name);
			unit_idx[5 * i + 3 + set] = ds_report_batch_end(b);
		}
	}

	/*
	 * Per rule: sources over the period, at home and abroad over the
	 * period, and then at home and abroad per day.
	 */
	for (set = 0; set < 2; set++) {
		const struct ds_report_rule *rules = set ? r->sigs : r->watch;
		unsigned int n = set ? r->n_sigs : r->n_watch;
		long *ix = ALLOC(r, (size_t)n * (3 + 2 * ndays) + 1, long);

		if (ix == NULL)
			return nomem(r);
		rule_idx[set] = ix;
		for (k = 0; k < n; k++) {
			const char *nm = rules[k].name;
			const char *all = ds_report_sprintf(&r->arena, "hll:%s:%s",
							    rule_dims[set][0], nm);
			const char *dom = ds_report_sprintf(&r->arena, "hll:%s:%s/domestic",
							    rule_dims[set][1], nm);
			const char *ovs = ds_report_sprintf(&r->arena, "hll:%s:%s/overseas",
							    rule_dims[set][1], nm);

			if (all == NULL || dom == NULL || ovs == NULL)
				return nomem(r);
			*ix++ = append_pfcount(b, r, cur, 0, cur->n_units, -1, all);
			*ix++ = append_pfcount(b, r, cur, 0, cur->n_units, -1, dom);
			*ix++ = append_pfcount(b, r, cur, 0, cur->n_units, -1, ovs);
			for (d = 0; d < ndays; d++) {
				size_t a = cur->day_units[d], z = cur->day_units[d + 1];

				*ix++ = append_pfcount(b, r, cur, a, z, -1, dom);
				*ix++ = append_pfcount(b, r, cur, a, z, -1, ovs);
			}
		}
	}

	ret = ds_report_batch_run(b);
	if (ret)
		return batch_error(r, b, ret);

	for (k = 0; k < 2; k++)
		r->per[k].sources = count_of(b, tot_idx[k]);
	for (k = 0; k < r->n_feeds; k++)
		r->feeds[k].sources = count_of(b, feed_idx[k]);
	for (k = 0; k < DS_REPORT_FPS; k++)
		for (i = 0; i < r->n_shown[k]; i++)
			r->rank[k][0].v[i].sources = count_of(b, item_idx[k][i]);
	for (i = 0; i < cur->n_units; i++) {
		unsigned int day = cur->slots[cur->units[i].slot].day;
		struct ds_report_item *ports = r->rank[DS_REPORT_PORTS][0].v;
		unsigned int np = r->n_shown[DS_REPORT_PORTS];

		add_scores(ds_report_batch_reply(b, unit_idx[5 * i]), ports, np, "tcp_dst_port",
			   day);
		add_scores(ds_report_batch_reply(b, unit_idx[5 * i + 1]), ports, np,
			   "udp_dst_port", day);
		add_scores(ds_report_batch_reply(b, unit_idx[5 * i + 2]),
			   r->rank[DS_REPORT_COUNTRIES][0].v, r->n_shown[DS_REPORT_COUNTRIES],
			   NULL, day);
		for (set = 0; set < 2; set++) {
			const redisReply *rep = ds_report_batch_reply(b, unit_idx[5 * i + 3 + set]);
			struct ds_report_rule *rules = set ? r->sigs : r->watch;
			unsigned int n = set ? r->n_sigs : r->n_watch;

			if (rep == NULL || rep->type != REDIS_REPLY_ARRAY)
				continue;
			for (k = 0; k < n && k < rep->elements; k++)
				rules[k].day_packets[day] += rnum(rep->element[k]);
		}
	}
	/* Daily series follow the period's divisor like every packet figure. */
	for (k = 0; k < DS_REPORT_FPS; k++)
		for (i = 0; i < r->n_shown[k]; i++)
			for (d = 0; d < ndays; d++)
				r->rank[k][0].v[i].daily[d] /= cur->divisor;
	for (set = 0; set < 2; set++) {
		struct ds_report_rule *rules = set ? r->sigs : r->watch;
		unsigned int n = set ? r->n_sigs : r->n_watch;
		const long *ix = rule_idx[set];

		for (k = 0; k < n; k++) {
			struct ds_report_rule *ru = &rules[k];

			ru->sources = count_of(b, *ix++);
			ru->domestic = count_of(b, *ix++);
			ru->overseas = count_of(b, *ix++);
			for (d = 0; d < ndays; d++) {
				ru->day_domestic[d] = count_of(b, *ix++);
				ru->day_overseas[d] = count_of(b, *ix++);
				ru->day_packets[d] /= cur->divisor;
				if (ru->day_domestic[d] || ru->day_overseas[d])
					ru->has_home = true;
			}
		}
	}
	ds_report_batch_reset(b);
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Movers                                                                                     */

static int
cmp_mover(const void *pa, const void *pb)
{
	const struct ds_report_mover *a = pa, *b = pb;

	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	if (a->packets != b->packets)
		return a->packets > b->packets ? -1 : 1;
	return cmp_label(a->label, b->label);
}

/*
 * The movers of one ranking (see docs/REPORT.md, "Movers"): candidates are
 * the values within the first M of either period; for each,
 *   log2_ratio = log2((packets + 1) / (previous packets + 1))
 *   rank_term  = log2(previous rank' / rank'), rank' = min(rank, M + 1),
 *                M + 1 also when the value had no packets in that period
 *   score      = |log2_ratio| + |rank_term|
 * both in "doublings": twice the packets, or a rank halved, each count 1.
 */
static int
movers_of(struct ds_report *r, enum ds_report_rank_kind kind, struct ds_report_mover *out,
	  unsigned int *n_out)
{
	const struct ds_report_ranking *cur = &r->rank[kind][0], *prev = &r->rank[kind][1];
	unsigned int m = r->movers_depth, n = 0, i, j;
	struct ds_report_mover *cand;

	cand = ALLOC(r, 2 * (size_t)m + 1, struct ds_report_mover);
	if (cand == NULL)
		return nomem(r);
	for (j = 0; j < 2; j++) {
		const struct ds_report_ranking *rk = j ? prev : cur;

		/* The current top first, then what only the previous top had. */
		for (i = 0; i < rk->n && i < m; i++) {
			const struct ds_report_item *c, *p;
			struct ds_report_mover *mv;
			double rc, rp;

			/* A value in both tops is taken once, from the current period. */
			if (j == 1 && lookup(cur, rk->v[i].label) != NULL &&
			    lookup(cur, rk->v[i].label)->rank <= m)
				continue;
			c = j ? lookup(cur, rk->v[i].label) : &rk->v[i];
			p = j ? &rk->v[i] : lookup(prev, rk->v[i].label);
			mv = &cand[n++];
			mv->kind = kind;
			mv->label = rk->v[i].label;
			mv->packets = c != NULL ? c->packets : 0;
			mv->prev_packets = p != NULL ? p->packets : 0;
			mv->rank = c != NULL ? c->rank : 0;
			mv->prev_rank = p != NULL ? p->rank : 0;
			rc = mv->rank > 0 && mv->rank <= m ? mv->rank : m + 1;
			rp = mv->prev_rank > 0 && mv->prev_rank <= m ? mv->prev_rank : m + 1;
			mv->log2_ratio = log2((mv->packets + 1) / (mv->prev_packets + 1));
			mv->rank_term = log2(rp / rc);
			mv->score = fabs(mv->log2_ratio) + fabs(mv->rank_term);
			mv->is_new = mv->prev_packets <= 0;
			mv->gone = mv->packets <= 0;
		}
	}
	qsort(cand, n, sizeof(*cand), cmp_mover);
	/* A score of 0 means nothing changed: not a mover, however high it ranks. */
	for (i = 0, j = 0; i < n && j < r->opts->top; i++)
		if (cand[i].score > 0)
			out[j++] = cand[i];
	*n_out = j;
	return 0;
}

static int
make_movers(struct ds_report *r)
{
	static const enum ds_report_rank_kind kinds[] = {
		DS_REPORT_PORTS, DS_REPORT_COUNTRIES, DS_REPORT_FPS,
	};
	unsigned int k, n = 0;
	int ret;

	r->movers_depth = 4 * r->opts->top > 20 ? 4 * r->opts->top : 20;
	r->movers = ALLOC(r, 3 * (size_t)r->opts->top + 1, struct ds_report_mover);
	if (r->movers == NULL)
		return nomem(r);
	for (k = 0; k < 3; k++) {
		ret = movers_of(r, kinds[k], r->movers + r->n_movers, &n);
		if (ret)
			return ret;
		r->n_movers += n;
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */

/*
 * What a reader must know to trust the figures: hour keys that were needed
 * and gone (hour retention is short), days assembled from hours, an empty
 * previous period (every value then looks new).
 */
static void
completeness_notes(struct ds_report *r)
{
	unsigned int i, p;

	for (p = 0; p < 2; p++) {
		for (i = 0; i < r->n_sfs; i++) {
			const struct ds_report_sf *sf = &r->sfs[i];

			if (sf->hour_keys[p] == 0 || sf->missing[p] == 0)
				continue;
			ds_report_note(r, "%s period: sensor %s feed %s: %u of its %u keys missing "
				       "(%u of the %u are hour keys, kept redis.hour_retention: "
				       "35 days by default)", p ? "previous" : "report",
				       r->sensors[sf->sensor].id, r->feeds[sf->feed].name,
				       sf->missing[p], sf->keys[p], sf->hour_keys[p], sf->keys[p]);
		}
	}
	for (i = 0; i < r->n_sensors; i++)
		if (r->sensors[i].hour_days[0] > 0)
			ds_report_note(r, "sensor %s rolls days up in %s: %u day(s) of the report "
				       "read from UTC hour keys", r->sensors[i].id,
				       r->sensors[i].zone, r->sensors[i].hour_days[0]);
	if (r->per[1].n_units > 0 && r->per[1].packets <= 0)
		ds_report_note(r, "the previous period has no data: every previous rank is null "
			       "and every value a new entry");
}

int
ds_report_fetch(struct ds_report *r)
{
	const struct ds_report_opts *o = r->opts;
	struct ds_report_batch b;
	char err[512];
	redisContext *c;
	int ret;

	r->per[0].first = o->first_day;
	r->per[0].ndays = (unsigned int)(o->last_day - o->first_day + 1);
	r->per[1].ndays = r->per[0].ndays;
	r->per[1].first = o->first_day - (int32_t)r->per[0].ndays;

	/* A malformed URL is the user's mistake (exit 2); a dead server is not. */
	c = ds_report_redis_connect(o->redis_url, o->username, o->password, err, sizeof(err));
	if (c == NULL)
		return ds_report_error(r, -errno, errno == EINVAL, "%s", err);
	ds_report_batch_init(&b, c);
	ret = load_sensors(r, &b);
	if (ret == 0)
		ret = choose_zone(r);
	if (ret == 0)
		ret = plan_period(r, 0);
	if (ret == 0)
		ret = plan_period(r, 1);
	if (ret == 0)
		ret = phase1(r, &b);
	if (ret == 0)
		ret = phase2(r, &b);
	if (ret == 0)
		ret = make_movers(r);
	if (ret == 0)
		completeness_notes(r);
	ds_report_batch_free(&b);
	redisFree(c);
	return ret;
}
