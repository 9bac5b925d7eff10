/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope-gen: the truth file, a JSON summary of what was generated.
 *
 * Tests compare the sensor's counts, and tshark's, with these figures, so
 * they must describe the bytes in the pcap and not the model's intentions.
 * The packet loop therefore hands every finished datagram to
 * ds_gen_truth_count(), which reads the headers back as a receiver would:
 * a SYN counted here is a TCP header with SYN set and ACK clear, whichever
 * kind wrote it, and "outside" is a destination address found in no prefix.
 * Only the per-kind packet and source counts come from the loop's choices,
 * and, for campaigns, which campaign and country a packet belongs to (its
 * UTC day is read from the timestamp as written).
 *
 * The spray's option layouts are read back the same way, walking the option
 * bytes as a decoder does, and kept in a set of exact keys, so the number of
 * distinct layouts is exact (up to DS_GEN_LAYOUTS_MAX of them).
 *
 * With --ports, --countries or --switch-at the truth also says what the
 * phases were and counts per UTC day the darknet's TCP packets per
 * destination port and its packets per source country, the figures a daily
 * or weekly report ranks. The country of a packet is the one the generator
 * drew its source from (a kind's country sub-pool, or a campaign's country);
 * everything else is read back from the bytes.
 *
 * The layout of the file is documented in docs/GENERATOR.md.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "ds_civil.h"
#include "gen.h"

#define LAYOUTS_FIRST_SLOTS (UINT64_C(1) << 16)
#define DAYS_FIRST_SLOTS (UINT64_C(1) << 12)

/* Classes of the per-day map's keys: (day + 1) << 20 | class << 16 | value. */
enum day_class {
	DAY_PORT,                       /* value: TCP destination port */
	DAY_COUNTRY,                    /* value: index into ds_gen.country[] */
};

static int
days_init(struct ds_gen_truth *t, const struct ds_gen *g)
{
	const struct ds_gen_opts *o = &g->opt;
	struct ds_gen_days *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	t->days = d;
	d->first_day = o->start_s / 86400;
	d->n_days = (o->start_s + o->duration_s - 1) / 86400 - d->first_day + 1;
	d->packets = calloc(d->n_days, sizeof(*d->packets));
	d->outside = calloc(d->n_days, sizeof(*d->outside));
	d->slot = calloc(DAYS_FIRST_SLOTS, sizeof(*d->slot));
	if (!d->packets || !d->outside || !d->slot)
		return -ENOMEM;
	d->mask = DAYS_FIRST_SLOTS - 1;
	return 0;
}

int
ds_gen_truth_init(struct ds_gen_truth *t, const struct ds_gen *g)
{
	const struct ds_gen_opts *o = &g->opt;
	unsigned int c;

	for (c = 0; c < o->n_campaign; c++) {
		t->campaign_packets[c] = calloc(g->n_days * o->campaign[c].n_cc,
						sizeof(*t->campaign_packets[c]));
		if (!t->campaign_packets[c])
			return -ENOMEM;
	}
	if (o->phased) {
		int ret = days_init(t, g);

		if (ret)
			return ret;
	}
	if (o->spray) {
		t->layouts.slot = calloc(LAYOUTS_FIRST_SLOTS, sizeof(*t->layouts.slot));
		if (!t->layouts.slot)
			return -ENOMEM;
		t->layouts.mask = LAYOUTS_FIRST_SLOTS - 1;
		t->layouts.exact = true;
	}
	return 0;
}

void
ds_gen_truth_free(struct ds_gen_truth *t)
{
	unsigned int c;

	for (c = 0; c < DS_GEN_MAX_CAMPAIGNS; c++) {
		free(t->campaign_packets[c]);
		t->campaign_packets[c] = NULL;
	}
	free(t->layouts.slot);
	t->layouts.slot = NULL;
	if (t->days) {
		free(t->days->packets);
		free(t->days->outside);
		free(t->days->slot);
		free(t->days);
		t->days = NULL;
	}
}

void
ds_gen_truth_campaign(struct ds_gen_truth *t, const struct ds_gen *g,
		      const struct ds_gen_event *e, uint64_t ts_ns)
{
	uint64_t day = ts_ns / 1000000000 / 86400 - g->first_day;

	t->campaign_packets[e->campaign][day * g->opt.campaign[e->campaign].n_cc + e->cc]++;
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* The slot of key k: where it is, or the free slot where it belongs. */
static uint64_t
layout_slot(const struct ds_gen_layouts *s, const uint64_t k[2])
{
	uint64_t i = mix64(k[0] ^ mix64(k[1])) & s->mask;

	while (s->slot[i][0] && (s->slot[i][0] != k[0] || s->slot[i][1] != k[1]))
		i = (i + 1) & s->mask;
	return i;
}

/* Double the table; false when that is not allowed or not possible. */
static bool
layouts_grow(struct ds_gen_layouts *s)
{
	struct ds_gen_layouts big = { .mask = 2 * s->mask + 1 };
	uint64_t i;

	if (big.mask + 1 > 2 * DS_GEN_LAYOUTS_MAX)
		return false;
	big.slot = calloc(big.mask + 1, sizeof(*big.slot));
	if (!big.slot)
		return false;
	for (i = 0; i <= s->mask; i++)
		if (s->slot[i][0])
			memcpy(big.slot[layout_slot(&big, s->slot[i])], s->slot[i],
			       sizeof(s->slot[i]));
	free(s->slot);
	s->slot = big.slot;
	s->mask = big.mask;
	return true;
}

static void
layouts_add(struct ds_gen_layouts *s, const uint64_t k[2])
{
	uint64_t i = layout_slot(s, k);

	if (s->slot[i][0])
		return;
	/* Load factor at most one half; a full table stops counting, and says so. */
	if (2 * (s->n + 1) > s->mask + 1) {
		if (!layouts_grow(s)) {
			s->exact = false;
			return;
		}
		i = layout_slot(s, k);
	}
	s->slot[i][0] = k[0];
	s->slot[i][1] = k[1];
	s->n++;
}

/* The slot of key k in the per-day map: where it is, or the free slot where it belongs. */
static uint64_t
day_slot(const struct ds_gen_days *d, uint64_t k)
{
	uint64_t i = mix64(k) & d->mask;

	while (d->slot[i][0] && d->slot[i][0] != k)
		i = (i + 1) & d->mask;
	return i;
}

/*
 * Count one packet under key k. The map doubles at half load; if memory
 * runs out it stops counting and the truth file is not written (an exact
 * count or none, since tests compare these figures for equality).
 */
static void
day_count(struct ds_gen_days *d, uint64_t day, enum day_class cls, uint32_t value)
{
	uint64_t k = (day + 1) << 20 | (uint64_t)cls << 16 | value, i;

	if (d->failed)
		return;
	i = day_slot(d, k);
	if (!d->slot[i][0]) {
		if (2 * (d->n + 1) > d->mask + 1) {
			struct ds_gen_days big = { .mask = 2 * d->mask + 1 };
			uint64_t j;

			big.slot = calloc(big.mask + 1, sizeof(*big.slot));
			if (!big.slot) {
				d->failed = true;
				return;
			}
			for (j = 0; j <= d->mask; j++)
				if (d->slot[j][0])
					memcpy(big.slot[day_slot(&big, d->slot[j][0])], d->slot[j],
					       sizeof(d->slot[j]));
			free(d->slot);
			d->slot = big.slot;
			d->mask = big.mask;
			i = day_slot(d, k);
		}
		d->slot[i][0] = k;
		d->n++;
	}
	d->slot[i][1]++;
}

/*
 * The option kinds of a TCP header in order, as a decoder walks them: NOP
 * and EOL take one byte, every other kind its length byte's worth, and the
 * walk ends after EOL, at the end of the option area or at a length that
 * does not fit. The spray writes at most 10 options and 3 NOPs of padding;
 * the key has room for 15 kinds.
 */
static void
count_layout(struct ds_gen_truth *t, const uint8_t *l4)
{
	const uint8_t *opt = l4 + 20;
	size_t len = (size_t)(l4[12] >> 4) * 4 - 20, i = 0;
	uint8_t key[16] = { 0 };
	unsigned int n = 0;
	uint64_t k[2];

	while (i < len && n < 15) {
		uint8_t kind = opt[i];

		key[1 + n++] = kind;
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (len - i < 2 || opt[i + 1] < 2)
			break;
		i += opt[i + 1];
	}
	key[0] = (uint8_t)(n + 1);
	memcpy(k, key, sizeof(k));
	layouts_add(&t->layouts, k);
}

void
ds_gen_truth_count(struct ds_gen_truth *t, const struct ds_gen *g, unsigned int kind,
		   enum ds_gen_tags tags, const uint8_t *l3, size_t frame_len, uint64_t ts_ns)
{
	const uint8_t *l4;
	uint8_t proto;
	uint32_t dst4 = 0;
	bool v4 = (l3[0] >> 4) == 4, outside;

	if (t->packets == 0)
		t->first_ns = ts_ns;
	t->last_ns = ts_ns;
	t->packets++;
	t->bytes += frame_len;
	t->kind_packets[kind]++;
	t->tags[tags]++;

	/* Builders write no IPv4 options and no IPv6 extension headers. */
	if (v4) {
		t->ipv4++;
		proto = l3[9];
		dst4 = ds_gen_get32(l3 + 16);
		l4 = l3 + (l3[0] & 0x0f) * 4;
		outside = !ds_gen_in_prefixes4(g, dst4);
	} else {
		t->ipv6++;
		proto = l3[6];
		l4 = l3 + 40;
		outside = !ds_gen_in_prefix6(&g->opt.prefix6, l3 + 24);
	}
	t->outside += outside;

	/* Per UTC day: what a sensor whose feed is the darknet counts. */
	if (t->days) {
		struct ds_gen_days *d = t->days;
		uint64_t day = ts_ns / 1000000000 / 86400 - d->first_day;

		d->packets[day]++;
		if (outside) {
			d->outside[day]++;
		} else {
			if (proto == DS_GEN_IPPROTO_TCP)
				day_count(d, day, DAY_PORT, ds_gen_get16(l4 + 2));
			if (g->pkt_cc >= 0)
				day_count(d, day, DAY_COUNTRY, (uint32_t)g->pkt_cc);
		}
	}

	/* Same classes as the sensor's histograms and the tests' tshark filters. */
	switch (proto) {
	case DS_GEN_IPPROTO_TCP: {
		uint8_t flags = l4[13];
		uint16_t dport = ds_gen_get16(l4 + 2);
		uint32_t seq = ds_gen_get32(l4 + 4);

		t->tcp++;
		if ((flags & (DS_GEN_TCP_SYN | DS_GEN_TCP_ACK)) == DS_GEN_TCP_SYN) {
			uint16_t id = ds_gen_get16(l3 + 4);

			t->syn++;
			t->syn_port[dport]++;
			if (kind == DS_GEN_KIND_SPRAY) {
				uint16_t w = ds_gen_get16(l4 + 14);

				t->spray_windows[w / 64] |= UINT64_C(1) << (w % 64);
				count_layout(t, l4);
			}
			/* The fingerprints of the SOURCES.md statistics, IPv4 only. */
			if (v4) {
				t->mirai_syn += seq == dst4;
				t->zmap_id_syn += id == 54321;
				t->masscan_id_syn += id == ((dst4 ^ dport ^ seq) & 0xffff);
			}
		} else if (flags & DS_GEN_TCP_SYN) {
			t->synack++;
		}
		if (flags & DS_GEN_TCP_RST) {
			if (flags & DS_GEN_TCP_ACK)
				t->rstack++;
			else
				t->rst++;
		}
		break;
	}
	case DS_GEN_IPPROTO_UDP:
		t->udp++;
		t->udp_port[ds_gen_get16(l4 + 2)]++;
		break;
	case DS_GEN_IPPROTO_ICMP:
		t->icmp++;
		t->icmp_type_code[ds_gen_get16(l4)]++;
		break;
	case DS_GEN_IPPROTO_ICMPV6:
		t->icmp6++;
		t->icmp6_type_code[ds_gen_get16(l4)]++;
		break;
	}
}

/* "2024-05-20T00:00:00.123456Z": 6 or 9 fraction digits as in the file; none for 0. */
static void
iso_time(char *buf, size_t size, uint64_t ns, int frac_digits)
{
	uint64_t s = ns / 1000000000;
	int64_t y;
	unsigned int mo, d;
	int n;

	ds_civil_from_days((int64_t)(s / 86400), &y, &mo, &d);
	n = snprintf(buf, size, "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u", y, mo, d,
		     (unsigned int)(s % 86400 / 3600), (unsigned int)(s % 3600 / 60),
		     (unsigned int)(s % 60));
	if (frac_digits == 9)
		n += snprintf(buf + n, size - (size_t)n, ".%09" PRIu64, ns % 1000000000);
	else if (frac_digits == 6)
		n += snprintf(buf + n, size - (size_t)n, ".%06" PRIu64, ns % 1000000000 / 1000);
	snprintf(buf + n, size - (size_t)n, "Z");
}

/* One non-zero entry of a per-port or per-type/code array, for sorting. */
struct port_count {
	uint32_t key;
	uint64_t count;
};

/* Most packets first, then by key, so the leaders read at the top of the file. */
static int
port_count_cmp(const void *a, const void *b)
{
	const struct port_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* A JSON object of the non-zero entries of a 65536-entry array. */
static int
write_counts(FILE *f, const char *name, const uint64_t *counts, bool type_code, bool last)
{
	struct port_count *v = malloc(65536 * sizeof(*v));
	size_t n = 0, i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < 65536; i++)
		if (counts[i])
			v[n++] = (struct port_count){ (uint32_t)i, counts[i] };
	qsort(v, n, sizeof(*v), port_count_cmp);
	fprintf(f, "  \"%s\": {", name);
	for (i = 0; i < n; i++) {
		fprintf(f, "%s\n    ", i ? "," : "");
		if (type_code)
			fprintf(f, "\"%u/%u\": %" PRIu64, v[i].key >> 8, v[i].key & 0xff,
				v[i].count);
		else
			fprintf(f, "\"%u\": %" PRIu64, v[i].key, v[i].count);
	}
	fprintf(f, "%s}%s\n", n ? "\n  " : "", last ? "" : ",");
	free(v);
	return 0;
}

static uint64_t
pool_sources(const struct ds_gen_pool *p)
{
	uint64_t n = 0;
	uint32_t i;

	for (i = 0; i < (p->n + 63) / 64; i++)
		n += (uint64_t)__builtin_popcountll(p->used[i]);
	return n;
}

static int
addr_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Distinct values of v[0, n), sorted in place. */
static uint64_t
distinct_sorted(uint32_t *v, size_t n)
{
	uint64_t d = 0;
	size_t i;

	qsort(v, n, sizeof(*v), addr_cmp);
	for (i = 0; i < n; i++)
		d += i == 0 || v[i] != v[i - 1];
	return d;
}

/*
 * "campaigns": per campaign its parameters and totals, then per UTC day and
 * country the packets, the distinct sources and their addresses (sorted),
 * so that a test can split the sources by any home country.
 */
static int
write_campaigns(FILE *f, const struct ds_gen_truth *t, const struct ds_gen *g, bool last)
{
	const struct ds_gen_opts *o = &g->opt;
	char addr[INET_ADDRSTRLEN], date[64];
	unsigned int c, i;
	uint64_t d;

	fprintf(f, "  \"campaigns\": {");
	for (c = 0; c < o->n_campaign; c++) {
		const struct ds_gen_campaign_spec *sp = &o->campaign[c];
		const struct ds_gen_campaign *camp = &g->camp[c];
		size_t all = (size_t)(g->n_days * camp->day_sources);
		uint32_t *v = malloc((all ? all : 1) * sizeof(*v));
		uint64_t packets = 0;

		if (!v)
			return -ENOMEM;
		for (d = 0; d < g->n_days * sp->n_cc; d++)
			packets += t->campaign_packets[c][d];
		memcpy(v, camp->addr, all * sizeof(*v));
		fprintf(f, "%s\n    \"%s\": {\"window\": %u, \"packets_per_source\": %" PRIu32
			", \"dports\": [", c ? "," : "", sp->name, sp->window, sp->packets);
		for (i = 0; i < sp->n_dports; i++)
			fprintf(f, "%s%u", i ? ", " : "", sp->dports[i]);
		fprintf(f, "], \"sources_per_day\": {");
		for (i = 0; i < sp->n_cc; i++)
			fprintf(f, "%s\"%s\": %" PRIu32, i ? ", " : "", sp->cc[i], sp->sources[i]);
		fprintf(f, "},\n      \"packets\": %" PRIu64 ", \"sources\": %" PRIu64
			", \"days\": {", packets, distinct_sorted(v, all));
		for (d = 0; d < g->n_days; d++) {
			const uint64_t *cp = t->campaign_packets[c] + d * sp->n_cc;
			uint64_t day_packets = 0;

			for (i = 0; i < sp->n_cc; i++)
				day_packets += cp[i];
			iso_time(date, sizeof(date), (g->first_day + d) * 86400 * 1000000000, 0);
			date[10] = '\0';
			fprintf(f, "%s\n        \"%s\": {\"packets\": %" PRIu64 ", \"sources\": %"
				PRIu32 ", \"countries\": {", d ? "," : "", date, day_packets,
				camp->day_sources);
			for (i = 0; i < sp->n_cc; i++) {
				uint32_t n = camp->cc_first[i + 1] - camp->cc_first[i], j;
				uint32_t *a = v;

				/* v is free again: sort a copy of the country's day. */
				memcpy(a, camp->addr + d * camp->day_sources + camp->cc_first[i],
				       n * sizeof(*a));
				qsort(a, n, sizeof(*a), addr_cmp);
				fprintf(f, "%s\n          \"%s\": {\"packets\": %" PRIu64
					", \"sources\": %" PRIu32 ", \"addresses\": [",
					i ? "," : "", sp->cc[i], cp[i], n);
				for (j = 0; j < n; j++) {
					uint32_t be = htonl(a[j]);

					inet_ntop(AF_INET, &be, addr, sizeof(addr));
					fprintf(f, "%s\"%s\"", j ? ", " : "", addr);
				}
				fprintf(f, "]}");
			}
			fprintf(f, "\n        }}");
		}
		fprintf(f, "\n      }}");
		free(v);
	}
	fprintf(f, "\n  }%s\n", last ? "" : ",");
	return 0;
}

/*
 * "phases": the weights in force and when, one object per phase. A phase
 * without --ports uses the model's scan ports, one without --countries
 * public sources: null.
 */
static void
write_phases(FILE *f, const struct ds_gen *g)
{
	const struct ds_gen_opts *o = &g->opt;
	uint64_t bound[3] = { o->start_s, o->switch_s, o->start_s + o->duration_s };
	unsigned int n = o->switch_arg ? 2 : 1, p, i;
	char from[64], to[64];

	if (n == 1)
		bound[1] = bound[2];
	fprintf(f, "  \"phases\": [");
	for (p = 0; p < n; p++) {
		const struct ds_gen_phase_spec *ph = &o->phase[p];

		iso_time(from, sizeof(from), bound[p] * 1000000000, 0);
		iso_time(to, sizeof(to), bound[p + 1] * 1000000000, 0);
		fprintf(f, "%s\n    {\"from\": \"%s\", \"to\": \"%s\", \"scan_ports\": ",
			p ? "," : "", from, to);
		if (ph->n_ports == 0)
			fprintf(f, "null");
		for (i = 0; i < ph->n_ports; i++)
			fprintf(f, "%s\"%" PRIu32 "\": %" PRIu32, i ? ", " : "{",
				ph->ports[i].value, ph->ports[i].weight);
		fprintf(f, "%s, \"countries\": ", ph->n_ports ? "}" : "");
		if (ph->n_cc == 0)
			fprintf(f, "null");
		for (i = 0; i < ph->n_cc; i++)
			fprintf(f, "%s\"%s\": %" PRIu32, i ? ", " : "{", ph->cc[i],
				ph->cc_weight[i]);
		fprintf(f, "%s}", ph->n_cc ? "}" : "");
	}
	fprintf(f, "\n  ],\n");
}

/* Day, then class, then most packets first, then value: the order of the file. */
static int
day_entry_cmp(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	if (x[0] >> 16 != y[0] >> 16)
		return x[0] >> 16 < y[0] >> 16 ? -1 : 1;
	if (x[1] != y[1])
		return x[1] < y[1] ? 1 : -1;
	return (x[0] & 0xffff) < (y[0] & 0xffff) ? -1 : (x[0] & 0xffff) > (y[0] & 0xffff);
}

/*
 * "days": per UTC day the span touches, all packets, those outside the
 * darknet, and of the others the TCP packets per destination port and the
 * packets per source country (countries the generator drew sources from).
 */
static int
write_days(FILE *f, const struct ds_gen_days *d, const struct ds_gen *g, bool last)
{
	uint64_t (*e)[2] = malloc((d->n ? d->n : 1) * sizeof(*e)), n = 0, i, day;
	char date[64];

	if (!e)
		return -ENOMEM;
	for (i = 0; i <= d->mask; i++)
		if (d->slot[i][0]) {
			e[n][0] = d->slot[i][0];
			e[n++][1] = d->slot[i][1];
		}
	qsort(e, n, sizeof(*e), day_entry_cmp);
	fprintf(f, "  \"days\": {");
	for (i = 0, day = 0; day < d->n_days; day++) {
		unsigned int cls;

		iso_time(date, sizeof(date), (d->first_day + day) * 86400 * 1000000000, 0);
		date[10] = '\0';
		fprintf(f, "%s\n    \"%s\": {\"packets\": %" PRIu64 ", \"outside\": %" PRIu64,
			day ? "," : "", date, d->packets[day], d->outside[day]);
		for (cls = DAY_PORT; cls <= DAY_COUNTRY; cls++) {
			uint64_t want = (day + 1) << 4 | cls;
			bool first = true;

			fprintf(f, ",\n      \"%s\": {", cls == DAY_PORT ? "tcp_dst_ports" :
				"src_countries");
			for (; i < n && e[i][0] >> 16 == want; i++, first = false) {
				uint32_t v = (uint32_t)(e[i][0] & 0xffff);

				if (cls == DAY_PORT)
					fprintf(f, "%s\"%" PRIu32 "\": %" PRIu64,
						first ? "" : ", ", v, e[i][1]);
				else
					fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ",
						g->country[v].cc, e[i][1]);
			}
			fprintf(f, "}");
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n  }%s\n", last ? "" : ",");
	free(e);
	return 0;
}

static uint64_t
popcount_all(const uint64_t *v, size_t n)
{
	uint64_t c = 0;
	size_t i;

	for (i = 0; i < n; i++)
		c += (uint64_t)__builtin_popcountll(v[i]);
	return c;
}

/* "spray": packets, distinct option layouts and windows; always the last key. */
static void
write_spray(FILE *f, const struct ds_gen_truth *t)
{
	fprintf(f, "  \"spray\": {\"packets\": %" PRIu64 ", \"layouts\": %" PRIu64
		", \"layouts_exact\": %s, \"windows\": %" PRIu64 "}\n",
		t->kind_packets[DS_GEN_KIND_SPRAY], t->layouts.n,
		t->layouts.exact ? "true" : "false",
		popcount_all(t->spray_windows, sizeof(t->spray_windows) / sizeof(uint64_t)));
}

int
ds_gen_truth_write(const struct ds_gen_truth *t, const struct ds_gen *g, const char *path)
{
	const struct ds_gen_opts *o = &g->opt;
	int digits = o->nanosecond ? 9 : 6;
	char ts[64], addr[INET6_ADDRSTRLEN];
	uint64_t all_sources = 0;
	bool has_campaigns = o->n_campaign != 0;
	unsigned int i;
	FILE *f;
	int ret;

	/* A per-day count that could not be kept is not written as if it were exact. */
	if (t->days && t->days->failed)
		return -ENOMEM;
	f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	if (!f)
		return -errno;

	/*
	 * Written by hand with fixed keys in a fixed order, so that the file is as
	 * reproducible as the pcap. "format" changes when a key changes meaning;
	 * new keys may appear without it.
	 */
	fprintf(f, "{\n  \"generator\": \"darkscope-gen\",\n  \"format\": 1,\n");
	fprintf(f, "  \"seed\": %" PRIu64 ",\n", o->seed);
	iso_time(ts, sizeof(ts), o->start_s * 1000000000, 0);
	fprintf(f, "  \"start\": \"%s\",\n  \"duration_s\": %" PRIu64 ",\n", ts, o->duration_s);
	fprintf(f, "  \"nanosecond\": %s,\n", o->nanosecond ? "true" : "false");
	fprintf(f, "  \"outside_share\": %.6g,\n  \"prefixes\": [", o->outside_share);
	for (i = 0; i < o->n_prefix; i++) {
		uint32_t a = htonl(o->prefix[i].addr);

		inet_ntop(AF_INET, &a, addr, sizeof(addr));
		fprintf(f, "%s\"%s/%u\"", i ? ", " : "", addr, o->prefix[i].len);
	}
	inet_ntop(AF_INET6, o->prefix6.addr, addr, sizeof(addr));
	fprintf(f, "],\n  \"prefix6\": \"%s/%u\",\n", addr, o->prefix6.len);

	fprintf(f, "  \"packets\": %" PRIu64 ",\n  \"bytes\": %" PRIu64 ",\n", t->packets,
		t->bytes);
	iso_time(ts, sizeof(ts), t->first_ns, digits);
	fprintf(f, "  \"first_ts\": \"%s\",\n  \"first_ts_ns\": %" PRIu64 ",\n", ts, t->first_ns);
	iso_time(ts, sizeof(ts), t->last_ns, digits);
	fprintf(f, "  \"last_ts\": \"%s\",\n  \"last_ts_ns\": %" PRIu64 ",\n", ts, t->last_ns);

	/* Per kind: sources that sent at least once, out of the pool drawn. */
	fprintf(f, "  \"kinds\": {");
	for (i = 0; i < ds_gen_n_kinds; i++) {
		uint64_t n = pool_sources(&g->pool[i]);

		all_sources += n;
		fprintf(f, "%s\n    \"%s\": {\"share\": %.6g, \"packets\": %" PRIu64
			", \"sources\": %" PRIu64 ", \"pool\": %" PRIu32 "}", i ? "," : "",
			ds_gen_kinds[i].name, ds_gen_kinds[i].share, t->kind_packets[i], n,
			g->pool[i].n);
	}
	fprintf(f, "\n  },\n  \"sources\": %" PRIu64 ",\n", all_sources);
	fprintf(f, "  \"frames\": {\"untagged\": %" PRIu64 ", \"vlan\": %" PRIu64
		", \"qinq\": %" PRIu64 "},\n", t->tags[DS_GEN_UNTAGGED], t->tags[DS_GEN_VLAN],
		t->tags[DS_GEN_QINQ]);
	fprintf(f, "  \"ip\": {\"ipv4\": %" PRIu64 ", \"ipv6\": %" PRIu64 "},\n", t->ipv4, t->ipv6);
	fprintf(f, "  \"proto\": {\"tcp\": %" PRIu64 ", \"udp\": %" PRIu64 ", \"icmp\": %" PRIu64
		", \"icmpv6\": %" PRIu64 "},\n", t->tcp, t->udp, t->icmp, t->icmp6);
	fprintf(f, "  \"tcp\": {\"syn\": %" PRIu64 ", \"synack\": %" PRIu64 ", \"rst\": %" PRIu64
		", \"rstack\": %" PRIu64 "},\n", t->syn, t->synack, t->rst, t->rstack);
	fprintf(f, "  \"outside\": %" PRIu64 ",\n", t->outside);
	fprintf(f, "  \"fingerprints\": {\"mirai_syn\": %" PRIu64 ", \"zmap_id_syn\": %" PRIu64
		", \"masscan_id_syn\": %" PRIu64 "},\n", t->mirai_syn, t->zmap_id_syn,
		t->masscan_id_syn);
	ret = write_counts(f, "tcp_syn_dst_ports", t->syn_port, false, false);
	if (ret == 0)
		ret = write_counts(f, "udp_dst_ports", t->udp_port, false, false);
	if (ret == 0)
		ret = write_counts(f, "icmp", t->icmp_type_code, true, false);
	if (ret == 0)
		ret = write_counts(f, "icmp6", t->icmp6_type_code, true,
				   !has_campaigns && !o->spray && !t->days);
	if (ret == 0 && t->days) {
		write_phases(f, g);
		ret = write_days(f, t->days, g, !has_campaigns && !o->spray);
	}
	if (ret == 0 && o->n_campaign)
		ret = write_campaigns(f, t, g, !o->spray);
	if (ret == 0 && o->spray)
		write_spray(f, t);
	if (ret == 0)
		fprintf(f, "}\n");

	/* A full disk shows only here, at the flush. */
	if (fflush(f) != 0 || ferror(f))
		ret = ret ? ret : -EIO;
	if (f != stdout && fclose(f) != 0)
		ret = ret ? ret : -errno;
	return ret;
}
