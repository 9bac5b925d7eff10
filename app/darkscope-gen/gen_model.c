/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope-gen: the traffic model.
 *
 * A darknet receives a handful of recognisable kinds of traffic, each from its
 * own population of senders. The model is the table ds_gen_kinds[] at the end
 * of this file, one row per kind:
 *
 *   kind         share  sources                     what it sends
 *   scan         56 %   packets/20, >= 50           TCP SYN, port by popularity, OS fingerprint
 *   mirai        15 %   packets/50, >= 30           TCP SYN, seq == dst, port 23/2323, no options
 *   zmap          1.5%  2                           SYN sweep, IP ID 54321, port 443
 *   masscan       1.5%  1                           SYN sweep, IP ID = dst^dport^seq
 *   nmap          1 %   1                           SYN sweep, window 1024, MSS only
 *   udp           8 %   packets/100, >= 20          UDP probes with protocol payloads
 *   icmp          5 %   packets/100, >= 20          ICMP echo requests
 *   backscatter  10 %   6 victims                   SYN-ACK, RST, RST-ACK, ICMP unreachable
 *   ipv6          2 %   packets/200, >= 10          TCP SYN 22/23/80, ICMPv6 echo request
 *
 * A row names the pool size, an initialiser that gives each source its fixed
 * traits (address, TTL after its hop count, window, option layout, source
 * port, ...) and a builder that writes one datagram from one source. The
 * packet loop in gen.c picks the kind, the source and whether the packet goes
 * outside the darknet; everything else about the packet is the builder's.
 *
 * Sources are drawn once, before the first packet, from their own random
 * stream; every address is public (none of the special-purpose ranges of
 * RFC 6890, nor any darknet prefix) and unique across all kinds. Within a pool
 * a packet picks source floor(n * u^2) for a uniform u, so low-numbered
 * sources send more, as on a real telescope where a few hosts dominate.
 *
 * Sweepers walk a fixed pseudo-random permutation of the darknet's addresses
 * (a bijection on k-bit integers, values beyond the address space skipped),
 * so each of them hits a new address with every packet until the space runs
 * out, the way ZMap and masscan do.
 *
 * --ports replaces the scan kind's named ports by the given ones (the
 * uniform "any port" tail keeps its share), and --countries draws the IPv4
 * sources of every kind from the given countries' ranges: each such pool is
 * cut into one sub-pool per country, sized by the country's largest share
 * over the phases, and the packet loop picks a country by the weights of
 * the packet's phase before it picks a source (gen.c). Both can change at
 * --switch-at: the scan kind has one port table per phase.
 *
 * Two models sit outside the table, at the end of the file. The spray
 * (--spray) writes SYNs with random option layouts, windows and TTLs from
 * random public sources: the hostile input of the sensor's memory bound.
 * Campaigns (--campaign) are botnets known by their TCP window: per UTC day
 * and country a fixed number of sources, drawn from a country's ranges in an
 * ip-location-db file, each sending a fixed number of SYNs. A campaign's
 * window is its mark, so every other source avoids it (free_window()).
 */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include "gen.h"

/* Scanner port table value meaning "any port, uniformly". */
#define PORT_ANY 0

#define MAX_OPTS 40

/*
 * IPv4 ranges that are not public unicast (RFC 6890 and friends). Sources and
 * outside destinations are drawn uniformly and rejected when they fall in
 * one of these or in a darknet prefix.
 */
static const struct ds_gen_prefix4 not_public4[] = {
	{ 0x00000000, 8 },      /* 0.0.0.0/8 "this network" */
	{ 0x0a000000, 8 },      /* 10/8 private */
	{ 0x64400000, 10 },     /* 100.64/10 shared CGN space */
	{ 0x7f000000, 8 },      /* 127/8 loopback */
	{ 0xa9fe0000, 16 },     /* 169.254/16 link-local */
	{ 0xac100000, 12 },     /* 172.16/12 private */
	{ 0xc0000000, 24 },     /* 192.0.0/24 IETF protocol assignments */
	{ 0xc0000200, 24 },     /* 192.0.2/24 TEST-NET-1 */
	{ 0xc0586300, 24 },     /* 192.88.99/24 6to4 relay anycast */
	{ 0xc0a80000, 16 },     /* 192.168/16 private */
	{ 0xc6120000, 15 },     /* 198.18/15 benchmarking */
	{ 0xc6336400, 24 },     /* 198.51.100/24 TEST-NET-2 */
	{ 0xcb007100, 24 },     /* 203.0.113/24 TEST-NET-3 */
	{ 0xe0000000, 4 },      /* 224/4 multicast */
	{ 0xf0000000, 4 },      /* 240/4 reserved, broadcast */
};

static inline uint32_t
mask4(uint8_t len)
{
	return len ? ~UINT32_C(0) << (32 - len) : 0;
}

static bool
in_prefix4(uint32_t a, uint32_t net, uint8_t len)
{
	return (a & mask4(len)) == net;
}

bool
ds_gen_in_prefixes4(const struct ds_gen *g, uint32_t a)
{
	unsigned int i;

	for (i = 0; i < g->opt.n_prefix; i++)
		if (in_prefix4(a, g->opt.prefix[i].addr, g->opt.prefix[i].len))
			return true;
	return false;
}

bool
ds_gen_in_prefix6(const struct ds_gen_prefix6 *p, const uint8_t a[16])
{
	unsigned int full = p->len / 8, rest = p->len % 8;

	if (memcmp(a, p->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ p->addr[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static bool
is_public4(const struct ds_gen *g, uint32_t a)
{
	size_t i;

	for (i = 0; i < sizeof(not_public4) / sizeof(not_public4[0]); i++)
		if (in_prefix4(a, not_public4[i].addr, not_public4[i].len))
			return false;
	return !ds_gen_in_prefixes4(g, a);
}

static uint32_t
public4(struct ds_gen *g, struct ds_gen_rng *r)
{
	uint32_t a;

	/* Public space is about 85 % of all addresses: a few draws at most. */
	do
		a = ds_gen_rng_u32(r);
	while (!is_public4(g, a));
	return a;
}

/* Address number i (0 <= i < space4) of the darknet, prefixes in command-line order. */
static uint32_t
darknet_addr4(const struct ds_gen *g, uint64_t i)
{
	unsigned int p = 0;

	while (i >= g->prefix_end[p])
		p++;
	return g->opt.prefix[p].addr + (uint32_t)(i - (p ? g->prefix_end[p - 1] : 0));
}

uint32_t
ds_gen_dst4(struct ds_gen *g, bool outside)
{
	if (outside)
		return public4(g, &g->rng);
	return darknet_addr4(g, ds_gen_rng_below64(&g->rng, g->space4));
}

/* Prefix bits from net, the remaining bits from rnd. */
static void
fill6(uint8_t out[16], const uint8_t net[16], unsigned int len, const uint8_t rnd[16])
{
	unsigned int i;

	for (i = 0; i < 16; i++) {
		unsigned int bits = len > i * 8 ? len - i * 8 : 0;
		uint8_t m = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		out[i] = (uint8_t)((net[i] & m) | (rnd[i] & ~m));
	}
}

static void
random16(struct ds_gen_rng *r, uint8_t out[16])
{
	uint64_t a = ds_gen_rng_next(r), b = ds_gen_rng_next(r);

	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 8);
}

/* IPv6 ranges inside 2000::/3 that are not public unicast (RFC 6890). */
static const struct ds_gen_prefix6 not_public6[] = {
	{ { 0x20, 0x01 }, 23 },                 /* 2001::/23 IETF protocol assignments */
	{ { 0x20, 0x01, 0x0d, 0xb8 }, 32 },     /* 2001:db8::/32 documentation */
	{ { 0x20, 0x02 }, 16 },                 /* 2002::/16 6to4 */
};

static bool
is_public6(const struct ds_gen *g, const uint8_t a[16])
{
	size_t i;

	for (i = 0; i < sizeof(not_public6) / sizeof(not_public6[0]); i++)
		if (ds_gen_in_prefix6(&not_public6[i], a))
			return false;
	return !ds_gen_in_prefix6(&g->opt.prefix6, a);
}

/* Global unicast 2000::/3 minus the ranges above and the darknet. */
static void
public6(struct ds_gen *g, struct ds_gen_rng *r, uint8_t out[16])
{
	static const uint8_t global[16] = { 0x20 };
	uint8_t rnd[16];

	do {
		random16(r, rnd);
		fill6(out, global, 3, rnd);
	} while (!is_public6(g, out));
}

void
ds_gen_dst6(struct ds_gen *g, bool outside, uint8_t dst[16])
{
	uint8_t rnd[16];

	if (outside) {
		public6(g, &g->rng, dst);
		return;
	}
	random16(&g->rng, rnd);
	fill6(dst, g->opt.prefix6.addr, g->opt.prefix6.len, rnd);
}

/*
 * A campaign's window marks its packets, so no other packet may carry it.
 * Sources take their window from a short list (an OS profile's, Mirai's, a
 * sweeper's one); when a campaign owns the entry drawn, the next free entry
 * of the list serves, and when it owns them all, the drawn value less as
 * little as needed. No extra draw is made, so without campaigns, or with
 * campaign windows nobody uses, the pools are exactly what they were.
 */
static bool
window_taken(const struct ds_gen *g, uint16_t w)
{
	unsigned int c;

	for (c = 0; c < g->opt.n_campaign; c++)
		if (g->opt.campaign[c].window == w)
			return true;
	return false;
}

static uint16_t
free_window(const struct ds_gen *g, const uint16_t *list, unsigned int n, unsigned int i)
{
	unsigned int j;
	uint16_t w;

	for (j = 0; j < n; j++) {
		w = list[(i + j) % n];
		if (!window_taken(g, w))
			return w;
	}
	/* Campaign windows are 1..65535 and at most 8: this stops above 0. */
	w = list[i];
	while (window_taken(g, w))
		w--;
	return w;
}

/*
 * OS profiles of SYN senders. The option layout is what p0f and the sensor's
 * tcp_syn_options dimension key on; TTL and window come with it.
 */
enum os_id {
	OS_LINUX,               /* MSS,SACK,TS,NOP,WS */
	OS_WINDOWS,             /* MSS,NOP,WS,NOP,NOP,SACK */
	OS_MSS_ONLY,            /* MSS: raw-socket scanners */
	OS_BARE,                /* no options at all */
};

struct os_profile {
	uint8_t ttl;            /* initial TTL */
	bool df;
	uint16_t sport_lo, sport_hi;    /* ephemeral port range */
	uint16_t window[4];
};

static const struct os_profile os_profiles[] = {
	[OS_LINUX] = { 64, true, 32768, 60999, { 29200, 64240, 5840, 14600 } },
	[OS_WINDOWS] = { 128, true, 49152, 65535, { 64240, 8192, 65535, 64240 } },
	[OS_MSS_ONLY] = { 255, false, 1024, 65535, { 1024, 65535, 14600, 29200 } },
	[OS_BARE] = { 64, false, 1024, 65535, { 65535, 5840, 14600, 1024 } },
};

static const struct ds_gen_weight os_weights[] = {
	{ OS_LINUX, 40 },
	{ OS_WINDOWS, 20 },
	{ OS_MSS_ONLY, 20 },
	{ OS_BARE, 20 },
};

/*
 * Destination ports of the "scan" kind, in tenths of a per cent of its
 * packets (the sum need not be 1000). Telnet leads by far, then MikroTik's
 * API, Redis, HTTP and SSH, as darknet reports of the 2020s show; PORT_ANY
 * spreads about a tenth of the scans uniformly over all ports. Mirai adds to
 * 23 and 2323, the sweepers to their own ports; the shares here keep those
 * five leaders apart by a clear margin in the whole capture.
 */
static const struct ds_gen_weight scan_port_weights[] = {
	{ 23, 200 }, { 8728, 110 }, { 6379, 88 }, { 80, 65 }, { 22, 50 },
	{ 443, 20 }, { 8080, 18 }, { 2323, 16 }, { 5555, 15 }, { 3389, 15 },
	{ 445, 14 }, { 1433, 12 }, { 3306, 11 }, { 81, 10 }, { 8081, 10 },
	{ 37215, 9 }, { 52869, 9 }, { 7547, 8 }, { 9200, 8 }, { 60001, 7 },
	{ 5900, 7 }, { 25, 6 }, { 21, 6 }, { 8443, 6 }, { 2222, 6 },
	{ 8000, 5 }, { 8888, 5 }, { 5060, 4 }, { 110, 4 }, { 9000, 4 },
	{ 1723, 4 }, { 8291, 4 }, { 2375, 4 }, { 5432, 4 }, { 111, 4 },
	{ 135, 4 }, { 139, 4 }, { 143, 3 }, { 993, 3 }, { 995, 3 },
	{ 1080, 3 }, { 3128, 3 }, { 5000, 3 }, { 5001, 3 }, { 6001, 3 },
	{ 7001, 3 }, { 8088, 3 }, { 9090, 3 }, { 10000, 3 }, { 11211, 3 },
	{ 27017, 3 }, { 49152, 3 }, { 50000, 3 }, { 53, 3 }, { 88, 3 },
	{ 631, 3 }, { 1521, 3 }, { 4567, 3 }, { 5431, 3 }, { 9527, 3 },
	{ PORT_ANY, 100 },
};

/* Source TTL as received: the initial TTL less 5 to 25 router hops. */
static uint8_t
hops_ttl(struct ds_gen_rng *r, uint8_t initial)
{
	return (uint8_t)(initial - ds_gen_rng_range(r, 5, 25));
}

/*
 * SYN options in the source's OS layout. The TCP timestamp advances at 1 kHz
 * from a per-source origin, like Linux's.
 */
static uint8_t
syn_options(const struct ds_gen_source *s, uint64_t ts_ns, uint8_t *o)
{
	/* MSS, SACK permitted, timestamps (echo 0), NOP, window scale. */
	static const uint8_t linux_tpl[20] = { 2, 4, 0, 0, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0,
					       1, 3, 3, 0 };
	/* MSS, NOP, window scale, NOP, NOP, SACK permitted. */
	static const uint8_t windows_tpl[12] = { 2, 4, 0, 0, 1, 3, 3, 0, 1, 1, 4, 2 };

	switch (s->os) {
	case OS_LINUX:
		memcpy(o, linux_tpl, sizeof(linux_tpl));
		ds_gen_put16(o + 2, s->mss);
		ds_gen_put32(o + 8, s->ts_base + (uint32_t)(ts_ns / 1000000));
		o[19] = s->wscale;
		return sizeof(linux_tpl);
	case OS_WINDOWS:
		memcpy(o, windows_tpl, sizeof(windows_tpl));
		ds_gen_put16(o + 2, s->mss);
		o[7] = s->wscale;
		return sizeof(windows_tpl);
	case OS_MSS_ONLY:
		o[0] = 2;
		o[1] = 4;
		ds_gen_put16(o + 2, s->mss);
		return 4;
	default:
		return 0;
	}
}

/* Shared tail of every IPv4 TCP builder: header, options, seal. */
static size_t
tcp4(const struct ds_gen_pkt *p, const struct ds_gen_ip4 *h, const struct ds_gen_tcp *t)
{
	return ds_gen_ip4_seal(p->l3, h, ds_gen_tcp_write(p->l3 + 20, t));
}

/* The fixed traits of a host with an ordinary TCP/IP stack. */
static void
init_stack(struct ds_gen *g, struct ds_gen_source *s, uint8_t os)
{
	static const uint16_t mss[] = { 1460, 1460, 1440, 1400, 1360 };
	static const uint8_t wscale[] = { 7, 8, 2, 6 };
	struct ds_gen_rng *r = &g->pool_rng;

	s->os = os;
	s->ttl = hops_ttl(r, os_profiles[os].ttl);
	s->window = free_window(g, os_profiles[os].window, 4, ds_gen_rng_below(r, 4));
	s->mss = mss[ds_gen_rng_below(r, sizeof(mss) / sizeof(mss[0]))];
	s->wscale = wscale[ds_gen_rng_below(r, sizeof(wscale))];
	s->ts_base = ds_gen_rng_u32(r);
}

/* ---- scan: SYN scanners with popular ports ---------------------------- */

static void
init_scan(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s)
{
	(void)k;
	init_stack(g, s, (uint8_t)ds_gen_table_pick(&g->os_table, &g->pool_rng));
}

static size_t
build_scan(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s,
	   const struct ds_gen_pkt *p)
{
	struct ds_gen_rng *r = &g->rng;
	const struct os_profile *os = &os_profiles[s->os];
	uint8_t opts[MAX_OPTS];
	struct ds_gen_ip4 h = { .src = s->addr4, .ttl = s->ttl, .proto = DS_GEN_IPPROTO_TCP,
				.df = os->df };
	struct ds_gen_tcp t = { .flags = DS_GEN_TCP_SYN, .window = s->window, .opts = opts };

	(void)k;
	t.dport = (uint16_t)ds_gen_table_pick(g->phase ? &g->scan_ports_after : &g->scan_ports,
					      r);
	if (t.dport == PORT_ANY)
		t.dport = (uint16_t)ds_gen_rng_range(r, 1, 65535);
	h.dst = ds_gen_dst4(g, p->outside);
	h.id = (uint16_t)ds_gen_rng_u32(r);
	t.sport = (uint16_t)ds_gen_rng_range(r, os->sport_lo, os->sport_hi);
	t.seq = ds_gen_rng_u32(r);
	t.opts_len = syn_options(s, p->ts_ns, opts);
	return tcp4(p, &h, &t);
}

/* ---- mirai: seq == destination address, 23/2323, no options ----------- */

static void
init_mirai(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s)
{
	static const uint16_t windows[] = { 5840, 14600, 29200, 65535 };

	(void)k;
	/* Mirai bots are Linux/BusyBox devices: TTL 64 less the hops. */
	s->os = OS_BARE;
	s->ttl = hops_ttl(&g->pool_rng, 64);
	s->window = free_window(g, windows, 4, ds_gen_rng_below(&g->pool_rng, 4));
}

static size_t
build_mirai(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s,
	    const struct ds_gen_pkt *p)
{
	struct ds_gen_rng *r = &g->rng;
	struct ds_gen_ip4 h = { .src = s->addr4, .ttl = s->ttl, .proto = DS_GEN_IPPROTO_TCP };
	struct ds_gen_tcp t = { .flags = DS_GEN_TCP_SYN, .window = s->window };

	(void)k;
	h.dst = ds_gen_dst4(g, p->outside);
	h.id = (uint16_t)ds_gen_rng_u32(r);
	t.sport = (uint16_t)ds_gen_rng_range(r, 1024, 65535);
	/* Mirai's scanner sends 23 nine times in ten, else 2323. */
	t.dport = ds_gen_rng_below(r, 10) ? 23 : 2323;
	t.seq = h.dst;
	return tcp4(p, &h, &t);
}

/* ---- sweepers: ZMap, masscan, Nmap ------------------------------------ */

enum sweep_id {
	SWEEP_ID_RANDOM,
	SWEEP_ID_ZMAP,          /* constant 54321 */
	SWEEP_ID_MASSCAN,       /* (dst ^ dport ^ seq) & 0xffff */
};

struct sweep_style {
	enum sweep_id id;
	uint16_t window;
	uint8_t ttl;            /* initial TTL; 0: Nmap's random 37..59 per packet */
	bool fixed_sport;
	uint8_t n_ports;
	uint16_t ports[20];
};

static const struct sweep_style sweep_zmap = {
	SWEEP_ID_ZMAP, 65535, 255, false, 1, { 443 },
};

static const struct sweep_style sweep_masscan = {
	SWEEP_ID_MASSCAN, 1024, 255, true, 6, { 3389, 5900, 8080, 9200, 2375, 8088 },
};

static const struct sweep_style sweep_nmap = {
	SWEEP_ID_RANDOM, 1024, 0, true, 20,
	{ 21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1723, 3306,
	  3389, 5900, 8080 },
};

static void
init_sweep(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s)
{
	const struct sweep_style *st = k->arg;
	struct ds_gen_rng *r = &g->pool_rng;

	s->os = OS_MSS_ONLY;
	s->mss = 1460;
	s->window = free_window(g, &st->window, 1, 0);
	/* Nmap draws a TTL per packet; keep only the hop count for it. */
	s->ttl = st->ttl ? hops_ttl(r, st->ttl) : (uint8_t)ds_gen_rng_range(r, 5, 25);
	s->sport = (uint16_t)ds_gen_rng_range(r, 32768, 61000);
	s->sweep_pos = ds_gen_rng_next(r);
}

/*
 * A bijection on k-bit integers (xorshift, odd multiply, xorshift), so that
 * counting x = 0, 1, 2, ... visits every k-bit value once in scrambled order.
 */
static uint64_t
sweep_permute(const struct ds_gen *g, uint64_t x)
{
	x &= g->sweep_mask;
	x ^= x >> g->sweep_shift;
	x = (x * UINT64_C(0x9e3779b97f4a7c15)) & g->sweep_mask;
	x ^= x >> g->sweep_shift;
	return x;
}

/* Next darknet address of a sweeper: skip permuted values beyond the space. */
static uint32_t
sweep_next(const struct ds_gen *g, struct ds_gen_source *s)
{
	uint64_t i;

	do
		i = sweep_permute(g, s->sweep_pos++);
	while (i >= g->space4);
	return darknet_addr4(g, i);
}

static size_t
build_sweep(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s,
	    const struct ds_gen_pkt *p)
{
	const struct sweep_style *st = k->arg;
	struct ds_gen_rng *r = &g->rng;
	uint8_t opts[MAX_OPTS];
	struct ds_gen_ip4 h = { .src = s->addr4, .ttl = s->ttl, .proto = DS_GEN_IPPROTO_TCP };
	struct ds_gen_tcp t = { .sport = s->sport, .flags = DS_GEN_TCP_SYN, .window = s->window,
				.opts = opts };

	h.dst = p->outside ? ds_gen_dst4(g, true) : sweep_next(g, s);
	h.id = (uint16_t)ds_gen_rng_u32(r);
	if (!st->ttl)
		h.ttl = (uint8_t)(ds_gen_rng_range(r, 37, 59) - s->ttl);
	if (!st->fixed_sport)
		t.sport = (uint16_t)ds_gen_rng_range(r, 32768, 61000);
	t.dport = st->ports[ds_gen_rng_below(r, st->n_ports)];
	t.seq = ds_gen_rng_u32(r);
	t.opts_len = syn_options(s, p->ts_ns, opts);
	if (st->id == SWEEP_ID_ZMAP)
		h.id = 54321;
	else if (st->id == SWEEP_ID_MASSCAN)
		h.id = (uint16_t)((h.dst ^ t.dport ^ t.seq) & 0xffff);
	return tcp4(p, &h, &t);
}

/* ---- udp: service probes with small, well-formed payloads ------------- */

struct udp_probe {
	uint16_t port;
	uint16_t weight;
	uint8_t id_off, id_len;         /* bytes of the payload to randomise (query ids) */
	uint16_t len;
	const char *payload;
};

/* A payload and its length; sizeof counts embedded NULs, which strlen would not. */
#define PAYLOAD(s) sizeof(s) - 1, s

/*
 * Each payload is a valid message of the port's protocol, so that tshark's
 * dissectors find nothing malformed: a DNS version.bind TXT/CH query, an NTP
 * v4 client request, an SNMPv2c get of sysDescr.0 with community "public",
 * an SSDP M-SEARCH, a SIP OPTIONS, memcached "stats" with its UDP frame
 * header, a minimal WS-Discovery probe, a NetBIOS node status query, a CLDAP
 * rootDSE search and a one-byte chargen request.
 */
static const struct udp_probe udp_probes[] = {
	{ 53, 22, 0, 2, PAYLOAD(
	  "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	  "\x07version\x04" "bind\x00\x00\x10\x00\x03") },
	{ 123, 14, 0, 0, PAYLOAD(
	  "\xe3\x00\x06\xec\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	  "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	  "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00") },
	{ 161, 10, 17, 4, PAYLOAD(
	  "\x30\x29\x02\x01\x01\x04\x06public\xa0\x1c\x02\x04\x12\x34\x56\x78"
	  "\x02\x01\x00\x02\x01\x00\x30\x0e\x30\x0c\x06\x08\x2b\x06\x01\x02"
	  "\x01\x01\x01\x00\x05\x00") },
	{ 1900, 12, 0, 0, PAYLOAD(
	  "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
	  "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n") },
	{ 5060, 10, 0, 0, PAYLOAD(
	  "OPTIONS sip:100@invalid SIP/2.0\r\n"
	  "Via: SIP/2.0/UDP invalid:5060;branch=z9hG4bK-1\r\n"
	  "From: <sip:100@invalid>;tag=1\r\nTo: <sip:100@invalid>\r\n"
	  "Call-ID: 1@invalid\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
	  "Content-Length: 0\r\n\r\n") },
	{ 11211, 6, 1, 1, PAYLOAD("\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n") },
	{ 3702, 6, 0, 0, PAYLOAD("<:/>") },
	{ 137, 10, 0, 2, PAYLOAD(
	  "\x80\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
	  "\x20" "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "\x00\x00\x21\x00\x01") },
	{ 389, 6, 0, 0, PAYLOAD(
	  "\x30\x25\x02\x01\x01\x63\x20\x04\x00\x0a\x01\x00\x0a\x01\x00\x02"
	  "\x01\x00\x02\x01\x00\x01\x01\x00\x87\x0b" "objectclass" "\x30\x00") },
	{ 19, 4, 0, 0, PAYLOAD("\x01") },
};

#define N_UDP_PROBES (sizeof(udp_probes) / sizeof(udp_probes[0]))

/*
 * UDP probes come from high ports (masscan's habit), above every probe port
 * and above the ports decoders register: a decoder that tries the lower port
 * of the pair first then always picks the service by its destination port,
 * and 3702 (which tshark has no dissector for) stays plain data.
 */
#define UDP_SPORT_LO 61000

static void
init_udp(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s)
{
	struct ds_gen_rng *r = &g->pool_rng;

	(void)k;
	s->ttl = hops_ttl(r, ds_gen_rng_below(r, 2) ? 64 : 128);
	/* Half the UDP scanners keep one source port (flavour 1), half vary it. */
	s->flavour = (uint8_t)ds_gen_rng_below(r, 2);
	s->sport = (uint16_t)ds_gen_rng_range(r, UDP_SPORT_LO, 65535);
}

static size_t
build_udp(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s,
	  const struct ds_gen_pkt *p)
{
	struct ds_gen_rng *r = &g->rng;
	const struct udp_probe *u = &udp_probes[ds_gen_table_pick(&g->udp_table, r)];
	uint8_t *l4 = p->l3 + 20;
	struct ds_gen_ip4 h = { .src = s->addr4, .ttl = s->ttl, .proto = DS_GEN_IPPROTO_UDP };
	uint16_t sport = s->sport;
	size_t l4_len;
	unsigned int i;

	(void)k;
	h.dst = ds_gen_dst4(g, p->outside);
	h.id = (uint16_t)ds_gen_rng_u32(r);
	if (!s->flavour)
		sport = (uint16_t)ds_gen_rng_range(r, UDP_SPORT_LO, 65535);
	l4_len = ds_gen_udp_write(l4, sport, u->port, (const uint8_t *)u->payload, u->len);
	for (i = 0; i < u->id_len; i++)
		l4[8 + u->id_off + i] = (uint8_t)ds_gen_rng_u32(r);
	return ds_gen_ip4_seal(p->l3, &h, l4_len);
}

/* ---- icmp: echo requests ---------------------------------------------- */

enum icmp_flavour {
	ICMP_WINDOWS,           /* 32 bytes "abcdefghijklmnopqrstuvwabcdefghi" */
	ICMP_LINUX,             /* 56 bytes: a timeval, then 0x10, 0x11, ... */
};

static size_t
echo_payload(uint8_t flavour, uint64_t ts_ns, uint8_t *o)
{
	static const char win[] = "abcdefghijklmnopqrstuvwabcdefghi";
	uint64_t sec = ts_ns / 1000000000, usec = ts_ns % 1000000000 / 1000;
	unsigned int i;

	if (flavour == ICMP_WINDOWS) {
		memcpy(o, win, 32);
		return 32;
	}
	/* iputils ping: struct timeval in the sender's (little-endian) order. */
	for (i = 0; i < 8; i++) {
		o[i] = (uint8_t)(sec >> (8 * i));
		o[8 + i] = (uint8_t)(usec >> (8 * i));
	}
	for (i = 16; i < 56; i++)
		o[i] = (uint8_t)i;
	return 56;
}

static void
init_icmp(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s)
{
	struct ds_gen_rng *r = &g->pool_rng;

	(void)k;
	s->flavour = (uint8_t)ds_gen_rng_below(r, 2);
	s->ttl = hops_ttl(r, s->flavour == ICMP_WINDOWS ? 128 : 64);
	s->icmp_id = (uint16_t)ds_gen_rng_u32(r);
	s->icmp_seq = (uint16_t)ds_gen_rng_below(r, 100);
}

static size_t
build_icmp(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s,
	   const struct ds_gen_pkt *p)
{
	uint8_t *l4 = p->l3 + 20;
	struct ds_gen_ip4 h = { .src = s->addr4, .ttl = s->ttl, .proto = DS_GEN_IPPROTO_ICMP };

	(void)k;
	h.dst = ds_gen_dst4(g, p->outside);
	h.id = (uint16_t)ds_gen_rng_u32(&g->rng);
	l4[0] = 8;              /* echo request */
	l4[1] = 0;
	ds_gen_put16(l4 + 4, s->icmp_id);
	ds_gen_put16(l4 + 6, s->icmp_seq++);
	return ds_gen_ip4_seal(p->l3, &h, 8 + echo_payload(s->flavour, p->ts_ns, l4 + 8));
}

/* ---- backscatter: victims of spoofed floods answering the darknet ----- */

static void
init_victim(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s)
{
	static const uint16_t services[] = { 80, 443, 22 };
	struct ds_gen_rng *r = &g->pool_rng;

	(void)k;
	init_stack(g, s, ds_gen_rng_below(r, 2) ? OS_LINUX : OS_WINDOWS);
	s->sport = services[ds_gen_rng_below(r, 3)];
}

/*
 * An ICMP destination unreachable from the victim's network, quoting the
 * spoofed packet that provoked it: that packet's source was the darknet
 * address, so the quote names it as the source. Code 3 (port unreachable)
 * quotes a UDP flood packet to the victim, code 1 (host unreachable) a SYN
 * flood packet to a vanished host next to it.
 */
static size_t
icmp_unreachable(struct ds_gen *g, struct ds_gen_source *s, const struct ds_gen_pkt *p,
		 struct ds_gen_ip4 *h)
{
	struct ds_gen_rng *r = &g->rng;
	uint8_t *l4 = p->l3 + 20, *q = l4 + 8;
	bool port_unreach = ds_gen_rng_below(r, 2);
	struct ds_gen_ip4 in = { .src = h->dst, .dst = s->addr4 };

	in.proto = port_unreach ? DS_GEN_IPPROTO_UDP : DS_GEN_IPPROTO_TCP;
	if (!port_unreach)
		in.dst = (s->addr4 & ~UINT32_C(0xff)) | ds_gen_rng_range(r, 1, 254);
	in.id = (uint16_t)ds_gen_rng_u32(r);
	in.ttl = (uint8_t)ds_gen_rng_range(r, 30, 240);

	h->proto = DS_GEN_IPPROTO_ICMP;
	h->df = false;
	l4[0] = 3;
	l4[1] = port_unreach ? 3 : 1;
	ds_gen_put32(l4 + 4, 0);        /* unused */
	if (port_unreach) {
		/* At least 8 payload bytes: the quote then always stops short of the
		 * end of the UDP datagram, so no decoder tries to verify its checksum. */
		uint16_t payload = (uint16_t)ds_gen_rng_range(r, 8, 512);

		ds_gen_ip4_header(q, &in, (uint16_t)(28 + payload));
		ds_gen_put16(q + 20, (uint16_t)ds_gen_rng_range(r, 1024, 65535));
		ds_gen_put16(q + 22, (uint16_t)ds_gen_rng_range(r, 1, 65535));
		ds_gen_put16(q + 24, (uint16_t)(8 + payload));
		ds_gen_put16(q + 26, (uint16_t)ds_gen_rng_u32(r));
	} else {
		ds_gen_ip4_header(q, &in, 40);
		ds_gen_put16(q + 20, (uint16_t)ds_gen_rng_range(r, 1024, 65535));
		ds_gen_put16(q + 22, s->sport);
		ds_gen_put32(q + 24, ds_gen_rng_u32(r));
	}
	return ds_gen_ip4_seal(p->l3, h, 8 + 28);
}

static size_t
build_backscatter(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s,
		  const struct ds_gen_pkt *p)
{
	static const uint8_t synack_opts[4] = { 2, 4, 0x05, 0xb4 };   /* MSS 1460 */
	struct ds_gen_rng *r = &g->rng;
	uint32_t what = ds_gen_rng_below(r, 100);
	struct ds_gen_ip4 h = { .src = s->addr4, .ttl = s->ttl, .proto = DS_GEN_IPPROTO_TCP,
				.df = true };
	struct ds_gen_tcp t = { .sport = s->sport, .window = s->window };

	(void)k;
	h.dst = ds_gen_dst4(g, p->outside);
	h.id = (uint16_t)ds_gen_rng_u32(r);
	if (what >= 82)
		return icmp_unreachable(g, s, p, &h);
	/* The answer goes to the port the spoofed packet came from: anything. */
	t.dport = (uint16_t)ds_gen_rng_range(r, 1024, 65535);
	t.seq = ds_gen_rng_u32(r);
	t.ack = ds_gen_rng_u32(r);
	if (what < 55) {                /* SYN-ACK */
		t.flags = DS_GEN_TCP_SYN | DS_GEN_TCP_ACK;
		t.opts = synack_opts;
		t.opts_len = sizeof(synack_opts);
	} else if (what < 70) {         /* RST-ACK: a closed port refusing the SYN */
		t.flags = DS_GEN_TCP_RST | DS_GEN_TCP_ACK;
		t.seq = 0;
		t.window = 0;
	} else {                        /* bare RST: an answer to a stray ACK */
		t.flags = DS_GEN_TCP_RST;
		t.ack = 0;
		t.window = 0;
	}
	return tcp4(p, &h, &t);
}

/* ---- ipv6: SYNs to 22/23/80 and ICMPv6 echo requests ------------------ */

static const struct ds_gen_weight ipv6_port_weights[] = {
	{ 22, 40 }, { 23, 30 }, { 80, 30 },
};

static void
init_ipv6(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s)
{
	(void)k;
	init_stack(g, s, ds_gen_rng_below(&g->pool_rng, 3) ? OS_LINUX : OS_WINDOWS);
	/* IPv6 headers are 20 bytes longer than IPv4's. */
	s->mss = (uint16_t)(s->mss - 20);
	s->icmp_id = (uint16_t)ds_gen_rng_u32(&g->pool_rng);
}

static size_t
build_ipv6(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s,
	   const struct ds_gen_pkt *p)
{
	struct ds_gen_rng *r = &g->rng;
	uint8_t *l4 = p->l3 + 40;
	uint8_t dst[16], opts[MAX_OPTS];
	const struct os_profile *os = &os_profiles[s->os];
	struct ds_gen_tcp t = { .flags = DS_GEN_TCP_SYN, .window = s->window, .opts = opts };

	(void)k;
	ds_gen_dst6(g, p->outside, dst);
	/* Three SYNs in four, the rest pings. */
	if (ds_gen_rng_below(r, 4) == 0) {
		l4[0] = 128;    /* echo request */
		l4[1] = 0;
		ds_gen_put16(l4 + 4, s->icmp_id);
		ds_gen_put16(l4 + 6, s->icmp_seq++);
		return ds_gen_ip6_seal(p->l3, s->addr6, dst, DS_GEN_IPPROTO_ICMPV6, s->ttl,
				       8 + echo_payload(ICMP_LINUX, p->ts_ns, l4 + 8));
	}
	t.sport = (uint16_t)ds_gen_rng_range(r, os->sport_lo, os->sport_hi);
	t.dport = (uint16_t)ds_gen_table_pick(&g->ipv6_ports, r);
	t.seq = ds_gen_rng_u32(r);
	t.opts_len = syn_options(s, p->ts_ns, opts);
	return ds_gen_ip6_seal(p->l3, s->addr6, dst, DS_GEN_IPPROTO_TCP, s->ttl,
			       ds_gen_tcp_write(l4, &t));
}

/* ---- the table -------------------------------------------------------- */

const struct ds_gen_kind ds_gen_kinds[] = {
	{
		.name = "scan", .share = 0.56,
		.pool_min = 50, .pool_div = 20, .pool_max = 1u << 22,
		.init = init_scan, .build = build_scan,
	},
	{
		.name = "mirai", .share = 0.15,
		.pool_min = 30, .pool_div = 50, .pool_max = 1u << 21,
		.init = init_mirai, .build = build_mirai,
	},
	{
		.name = "zmap", .share = 0.015,
		.pool_min = 2, .pool_max = 2,
		.init = init_sweep, .build = build_sweep, .arg = &sweep_zmap,
	},
	{
		.name = "masscan", .share = 0.015,
		.pool_min = 1, .pool_max = 1,
		.init = init_sweep, .build = build_sweep, .arg = &sweep_masscan,
	},
	{
		.name = "nmap", .share = 0.01,
		.pool_min = 1, .pool_max = 1,
		.init = init_sweep, .build = build_sweep, .arg = &sweep_nmap,
	},
	{
		.name = "udp", .share = 0.08,
		.pool_min = 20, .pool_div = 100, .pool_max = 1u << 20,
		.init = init_udp, .build = build_udp,
	},
	{
		.name = "icmp", .share = 0.05,
		.pool_min = 20, .pool_div = 100, .pool_max = 1u << 20,
		.init = init_icmp, .build = build_icmp,
	},
	{
		.name = "backscatter", .share = 0.10,
		.pool_min = 6, .pool_max = 6,
		.init = init_victim, .build = build_backscatter,
	},
	{
		.name = "ipv6", .share = 0.02, .ipv6 = true,
		.pool_min = 10, .pool_div = 200, .pool_max = 1u << 20,
		.init = init_ipv6, .build = build_ipv6,
	},
};

const unsigned int ds_gen_n_kinds = sizeof(ds_gen_kinds) / sizeof(ds_gen_kinds[0]);

/* Per-kind arrays in struct ds_gen and the truth counters are this big. */
_Static_assert(sizeof(ds_gen_kinds) / sizeof(ds_gen_kinds[0]) <= DS_GEN_MAX_KINDS,
	       "raise DS_GEN_MAX_KINDS");

/* ---- pools ------------------------------------------------------------ */

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/*
 * Remember a source key; false when it was already taken. IPv4 keys are the
 * address (never 0: 0/8 is not public), IPv6 keys a hash with the top bit
 * set, so the two never meet; a hash collision only costs a redraw.
 */
static bool
seen_insert(struct ds_gen *g, uint64_t key)
{
	uint64_t i = mix64(key) & g->seen_mask;

	while (g->seen[i]) {
		if (g->seen[i] == key)
			return false;
		i = (i + 1) & g->seen_mask;
	}
	g->seen[i] = key;
	return true;
}

static uint32_t
pool_size(const struct ds_gen *g, const struct ds_gen_kind *k)
{
	uint64_t n = k->pool_div ? g->opt.packets / k->pool_div : 0;

	if (n < k->pool_min)
		n = k->pool_min;
	if (n > k->pool_max)
		n = k->pool_max;
	return (uint32_t)n;
}

static uint32_t country_pick(const struct ds_gen_country *c, struct ds_gen_rng *r);

/* A fresh source address: of country c (an index into g->country[]), or public (-1). */
static void
source_address(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s, int c)
{
	uint64_t key;

	do {
		if (c >= 0) {
			s->addr4 = country_pick(&g->country[c], &g->pool_rng);
			key = s->addr4;
		} else if (k->ipv6) {
			uint64_t hi, lo;

			public6(g, &g->pool_rng, s->addr6);
			memcpy(&hi, s->addr6, 8);
			memcpy(&lo, s->addr6 + 8, 8);
			key = mix64(hi ^ mix64(lo)) | UINT64_C(1) << 63;
		} else {
			s->addr4 = public4(g, &g->pool_rng);
			key = s->addr4;
		}
	} while (!seen_insert(g, key));
}

static void campaign_free(struct ds_gen *g);

/*
 * The scan ports of one phase. Without --ports, the model's table. With it,
 * the given ports take the share the model's named ports have (845 of 945),
 * in proportion to their weights, and "any port" keeps its share (100 of
 * 945): weights w * 845 against 100 * (sum of w).
 */
static int
scan_table(struct ds_gen_table *t, const struct ds_gen_phase_spec *ph)
{
	size_t n_static = sizeof(scan_port_weights) / sizeof(scan_port_weights[0]), i;
	struct ds_gen_weight w[DS_GEN_MAX_SPEC_PORTS + 1];
	uint32_t named = 0, any = 0, sum = 0;

	if (ph->n_ports == 0)
		return ds_gen_table_init(t, scan_port_weights, n_static);
	for (i = 0; i < n_static; i++) {
		if (scan_port_weights[i].value == PORT_ANY)
			any += scan_port_weights[i].weight;
		else
			named += scan_port_weights[i].weight;
	}
	for (i = 0; i < ph->n_ports; i++) {
		/* At most 63 weights of 10000 times 945: far below 2^32. */
		w[i] = (struct ds_gen_weight){ ph->ports[i].value, ph->ports[i].weight * named };
		sum += ph->ports[i].weight;
	}
	w[i] = (struct ds_gen_weight){ PORT_ANY, any * sum };
	return ds_gen_table_init(t, w, ph->n_ports + 1);
}

/* The index among the source countries of country[] entry c, or -1. */
static int
src_country_of(const struct ds_gen *g, unsigned int c)
{
	unsigned int u;

	for (u = 0; u < g->n_src_cc; u++)
		if (g->src_cc[u] == c)
			return (int)u;
	return -1;
}

/* Share of source country u in phase p, as w / sum: the weight and the sum. */
static void
country_share(const struct ds_gen *g, unsigned int p, unsigned int u, uint64_t *w,
	      uint64_t *sum)
{
	const struct ds_gen_phase_spec *ph = &g->opt.phase[p];
	unsigned int i;

	*w = 0;
	*sum = 0;
	for (i = 0; i < ph->n_cc; i++) {
		*sum += ph->cc_weight[i];
		if (strcmp(ph->cc[i], g->country[g->src_cc[u]].cc) == 0)
			*w = ph->cc_weight[i];
	}
}

/*
 * Sources of a kind's pool of n in country u: n times the country's largest
 * share over the two phases, rounded, at least one. The sum over countries
 * may exceed n a little (two phases, rounding, the minimum of one): a fixed
 * pool such as ZMap's two sources gets one per country.
 */
static uint32_t
country_pool_size(const struct ds_gen *g, unsigned int u, uint32_t n)
{
	uint64_t best = 1, w, sum, v;
	unsigned int p;

	for (p = 0; p < 2; p++) {
		country_share(g, p, u, &w, &sum);
		v = sum ? ((uint64_t)n * w + sum / 2) / sum : 0;
		if (v > best)
			best = v;
	}
	return (uint32_t)best;
}

/*
 * The weighted tables that draw a source country per packet, one per phase,
 * and a check that every source country holds enough usable addresses for
 * its sub-pools of all IPv4 kinds (addresses are unique across kinds).
 */
static int
source_countries_init(struct ds_gen *g)
{
	unsigned int p, u, i;
	int ret;

	for (p = 0; p < 2; p++) {
		const struct ds_gen_phase_spec *ph = &g->opt.phase[p];
		struct ds_gen_weight w[DS_GEN_MAX_SPEC_CC];

		for (i = 0; i < ph->n_cc; i++) {
			unsigned int c;

			for (c = 0; c < g->n_country; c++)
				if (strcmp(g->country[c].cc, ph->cc[i]) == 0)
					break;
			w[i] = (struct ds_gen_weight){ (uint32_t)src_country_of(g, c),
						       ph->cc_weight[i] };
		}
		ret = ds_gen_table_init(&g->cc_table[p], w, ph->n_cc);
		if (ret)
			return ret;
	}
	for (u = 0; u < g->n_src_cc; u++) {
		const struct ds_gen_country *c = &g->country[g->src_cc[u]];
		uint64_t need = 0, size = c->n ? c->end[c->n - 1] : 0;
		const struct ds_gen_phase_spec *ph = &g->opt.phase[0];
		uint64_t w, sum;

		for (i = 0; i < ds_gen_n_kinds; i++)
			if (!ds_gen_kinds[i].ipv6)
				need += country_pool_size(g, u, pool_size(g, &ds_gen_kinds[i]));
		if (size >= need)
			continue;
		/* Name the option that brought the country in. */
		country_share(g, 0, u, &w, &sum);
		if (w == 0)
			ph = &g->opt.phase[1];
		fprintf(stderr, DS_GEN_PROG ": %s '%s': expected at least %" PRIu64 " usable "
			"addresses of %s in %s for the sources of the kinds, found %" PRIu64 "\n",
			ph == &g->opt.phase[0] ? "--countries" : "--countries-after",
			ph->countries_arg, need, c->cc, g->opt.ranges_path, size);
		return -EINVAL;
	}
	return 0;
}

int
ds_gen_model_init(struct ds_gen *g)
{
	uint64_t total = 0, cap = 16;
	unsigned int i, u;
	int ret;

	ret = scan_table(&g->scan_ports, &g->opt.phase[0]);
	if (ret == 0)
		ret = scan_table(&g->scan_ports_after, &g->opt.phase[1]);
	if (ret == 0 && g->n_src_cc)
		ret = source_countries_init(g);
	if (ret == 0)
		ret = ds_gen_table_init(&g->os_table, os_weights,
					sizeof(os_weights) / sizeof(os_weights[0]));
	if (ret == 0)
		ret = ds_gen_table_init(&g->ipv6_ports, ipv6_port_weights,
					sizeof(ipv6_port_weights) / sizeof(ipv6_port_weights[0]));
	if (ret == 0) {
		struct ds_gen_weight w[N_UDP_PROBES];

		for (i = 0; i < N_UDP_PROBES; i++)
			w[i] = (struct ds_gen_weight){ i, udp_probes[i].weight };
		ret = ds_gen_table_init(&g->udp_table, w, N_UDP_PROBES);
	}
	if (ret)
		goto fail;

	/* The smallest k with 2^k >= space4, and a shift of about k/2. */
	g->sweep_mask = 0;
	while (g->sweep_mask < g->space4 - 1)
		g->sweep_mask = g->sweep_mask << 1 | 1;
	g->sweep_shift = 1;
	while ((g->sweep_mask >> (2 * g->sweep_shift)) != 0)
		g->sweep_shift++;

	/* The spray replaces the kinds: their pools stay empty. */
	for (i = 0; i < ds_gen_n_kinds && !g->opt.spray; i++) {
		uint32_t n = pool_size(g, &ds_gen_kinds[i]);

		if (g->n_src_cc && !ds_gen_kinds[i].ipv6)
			for (u = 0; u < g->n_src_cc; u++)
				total += country_pool_size(g, u, n);
		else
			total += n;
	}
	/* Load factor at most one half keeps the linear probes short. */
	while (cap < 2 * total)
		cap *= 2;
	g->seen = calloc(cap, sizeof(*g->seen));
	if (!g->seen) {
		ret = -ENOMEM;
		goto fail;
	}
	g->seen_mask = cap - 1;

	for (i = 0; i < ds_gen_n_kinds && !g->opt.spray; i++) {
		const struct ds_gen_kind *k = &ds_gen_kinds[i];
		struct ds_gen_pool *pool = &g->pool[i];
		uint32_t j;

		pool->n = pool_size(g, k);
		/* Countries: one sub-pool each, in the order they were named. */
		if (g->n_src_cc && !k->ipv6) {
			uint32_t n = pool->n;

			pool->sub_first = calloc(g->n_src_cc + 1, sizeof(*pool->sub_first));
			if (!pool->sub_first) {
				ret = -ENOMEM;
				goto fail;
			}
			for (u = 0; u < g->n_src_cc; u++)
				pool->sub_first[u + 1] = pool->sub_first[u] +
							 country_pool_size(g, u, n);
			pool->n = pool->sub_first[g->n_src_cc];
		}
		pool->src = calloc(pool->n, sizeof(*pool->src));
		pool->used = calloc((pool->n + 63) / 64, sizeof(*pool->used));
		if (!pool->src || !pool->used) {
			ret = -ENOMEM;
			goto fail;
		}
		for (u = 0, j = 0; j < pool->n; j++) {
			int c = -1;

			if (pool->sub_first) {
				while (j >= pool->sub_first[u + 1])
					u++;
				c = (int)g->src_cc[u];
			}
			source_address(g, k, &pool->src[j], c);
			k->init(g, k, &pool->src[j]);
		}
	}
	return 0;

fail:
	ds_gen_model_free(g);
	return ret;
}

void
ds_gen_model_free(struct ds_gen *g)
{
	unsigned int i;

	for (i = 0; i < DS_GEN_MAX_KINDS; i++) {
		free(g->pool[i].src);
		free(g->pool[i].used);
		free(g->pool[i].sub_first);
		g->pool[i].src = NULL;
		g->pool[i].used = NULL;
		g->pool[i].sub_first = NULL;
	}
	free(g->seen);
	g->seen = NULL;
	campaign_free(g);
}

/* ---- spray: SYNs with random option layouts, windows and TTLs --------- */

enum spray_opt {
	SPRAY_EOL,
	SPRAY_NOP,
	SPRAY_MSS,
	SPRAY_WS,
	SPRAY_SACK_PERM,
	SPRAY_TS,
	SPRAY_UNKNOWN,
	SPRAY_N_OPTS,
};

#define SPRAY_MAX_OPTS 10
#define TCP_OPT_SPACE 40

/*
 * Lengths of the option kinds 9-254 that the spray may send: a kind an RFC
 * or a decoder gives a length gets that length (step: AccECN's 2, 5, 8, 11),
 * any other kind 2 to 40 bytes. They were measured against tshark 4.0: every
 * kind at every length with random contents, keeping what it decodes without
 * a complaint. Three kinds stay out because random contents break their
 * dissectors: 21 (SCPS SNACK), 30 (MPTCP) and 76 (Riverbed probe).
 */
static bool
spray_kind_len(uint8_t kind, unsigned int *min, unsigned int *max, unsigned int *step)
{
	*step = 1;
	*min = 2;
	*max = TCP_OPT_SPACE;
	switch (kind) {
	case 21: case 30: case 76:
		return false;
	case 9: case 22: case 23: case 34:
		*max = 2;
		break;
	case 10: case 14: case 18:
		*min = *max = 3;
		break;
	case 20: case 28:
		*min = *max = 4;
		break;
	case 11: case 12: case 13:
		*min = *max = 6;
		break;
	case 27:
		*min = *max = 8;
		break;
	case 78:
		*min = *max = 16;
		break;
	case 19:
		*min = *max = 18;
		break;
	case 29: case 253: case 254:
		*min = 4;
		break;
	case 172: case 174:
		*max = 11;
		*step = 3;
		break;
	default:
		break;
	}
	return true;
}

static void
random_bytes(struct ds_gen_rng *r, uint8_t *p, size_t n)
{
	while (n > 0) {
		uint64_t v = ds_gen_rng_next(r);
		size_t k = n < 8 ? n : 8;

		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

/*
 * A random option layout of 0 to 10 options, each kind drawn with equal
 * chance among EOL, NOP, MSS, WS, SACK permitted, TS and "unknown" (a kind
 * 9-254 with a valid length), values random. The walk stops at the first
 * option that would not fit in the 40 bytes. EOL ends the list; NOPs pad the
 * area to a multiple of 4 and go before the EOL, so the EOL is always the
 * last byte: decoders that stop at EOL and those that read on (tshark shows
 * every zero byte after it as one more EOL) then see the same layout.
 */
static uint8_t
spray_options(struct ds_gen_rng *r, uint8_t *o)
{
	unsigned int n = ds_gen_rng_below(r, SPRAY_MAX_OPTS + 1), used = 0, i, pad;
	bool eol = false;

	for (i = 0; i < n && !eol; i++) {
		unsigned int room = TCP_OPT_SPACE - used, len, min, max, step;
		uint8_t kind;

		switch (ds_gen_rng_below(r, SPRAY_N_OPTS)) {
		case SPRAY_EOL:
			if (room < 1)
				break;
			eol = true;
			continue;
		case SPRAY_NOP:
			if (room < 1)
				break;
			o[used++] = 1;
			continue;
		case SPRAY_MSS:
			if (room < 4)
				break;
			o[used] = 2;
			o[used + 1] = 4;
			random_bytes(r, o + used + 2, 2);
			used += 4;
			continue;
		case SPRAY_WS:
			if (room < 3)
				break;
			o[used] = 3;
			o[used + 1] = 3;
			/* Shifts above 14 are invalid (RFC 7323 2.3). */
			o[used + 2] = (uint8_t)ds_gen_rng_below(r, 15);
			used += 3;
			continue;
		case SPRAY_SACK_PERM:
			if (room < 2)
				break;
			o[used] = 4;
			o[used + 1] = 2;
			used += 2;
			continue;
		case SPRAY_TS:
			if (room < 10)
				break;
			o[used] = 8;
			o[used + 1] = 10;
			random_bytes(r, o + used + 2, 8);
			used += 10;
			continue;
		default:
			do
				kind = (uint8_t)ds_gen_rng_range(r, 9, 254);
			while (!spray_kind_len(kind, &min, &max, &step));
			if (max > room)
				max = room;
			if (min > max)
				break;
			len = min + step * ds_gen_rng_below(r, (max - min) / step + 1);
			o[used] = kind;
			o[used + 1] = (uint8_t)len;
			random_bytes(r, o + used + 2, len - 2);
			used += len;
			continue;
		}
		/* The option drawn does not fit: the layout ends here. */
		break;
	}
	pad = (4 - (used + eol) % 4) % 4;
	memset(o + used, 1, pad);
	used += pad;
	if (eol)
		o[used++] = 0;
	return (uint8_t)used;
}

/* Uniform over the windows, less those campaigns own. */
static uint16_t
spray_window(const struct ds_gen *g, struct ds_gen_rng *r)
{
	uint16_t w;

	do
		w = (uint16_t)ds_gen_rng_u32(r);
	while (window_taken(g, w));
	return w;
}

size_t
ds_gen_spray_build(struct ds_gen *g, const struct ds_gen_pkt *p)
{
	struct ds_gen_rng *r = &g->rng;
	uint8_t opts[TCP_OPT_SPACE];
	struct ds_gen_ip4 h = { .proto = DS_GEN_IPPROTO_TCP };
	struct ds_gen_tcp t = { .flags = DS_GEN_TCP_SYN, .opts = opts };
	uint32_t v;

	h.src = public4(g, r);
	h.dst = darknet_addr4(g, ds_gen_rng_below64(r, g->space4));
	v = ds_gen_rng_u32(r);
	h.id = (uint16_t)v;
	h.ttl = (uint8_t)ds_gen_rng_range(r, 1, 255);
	h.df = v >> 31;
	t.sport = (uint16_t)ds_gen_rng_range(r, 1, 65535);
	t.dport = (uint16_t)ds_gen_rng_range(r, 1, 65535);
	t.seq = ds_gen_rng_u32(r);
	t.window = spray_window(g, r);
	t.opts_len = spray_options(r, opts);
	return tcp4(p, &h, &t);
}

/* ---- campaigns: country ranges, sources per day, packets -------------- */

/*
 * A campaign needs addresses of given countries, and so do the kinds'
 * sources under --countries. The --country-ranges file
 * (ip-location-db asn-country: "start,end,cc" per line, dotted or numeric,
 * inclusive, ascending, no overlap) is read once; the rows of the countries
 * some campaign names are kept, less the special-purpose ranges above and
 * the darknet prefixes, so a uniform draw over what is left is a uniform
 * draw over the country's usable addresses.
 *
 * Each UTC day the span touches, every campaign draws its sources afresh
 * from a stream of its own for that day (so days are independent, and a
 * source may recur on another day by chance), then the instants of each
 * source's packets uniformly within that day's part of the span. The day's
 * packets of all campaigns are sorted and handed to the packet loop, which
 * merges them with the kinds' packets.
 */

/* An IPv4 range, inclusive; 64-bit so that "one past 255.255.255.255" exists. */
struct range4 {
	uint64_t lo, hi;
};

static int
range4_cmp(const void *a, const void *b)
{
	const struct range4 *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Special-purpose ranges and darknet prefixes, sorted and merged. */
static unsigned int
excluded_ranges(const struct ds_gen *g, struct range4 *x)
{
	size_t n_np = sizeof(not_public4) / sizeof(not_public4[0]), i;
	unsigned int n = 0, m = 0;

	for (i = 0; i < n_np + g->opt.n_prefix; i++) {
		const struct ds_gen_prefix4 *p = i < n_np ? &not_public4[i] :
						 &g->opt.prefix[i - n_np];

		x[n].lo = p->addr;
		x[n++].hi = p->addr + (UINT64_C(1) << (32 - p->len)) - 1;
	}
	qsort(x, n, sizeof(*x), range4_cmp);
	for (i = 0; i < n; i++) {
		if (m > 0 && x[i].lo <= x[m - 1].hi + 1) {
			if (x[i].hi > x[m - 1].hi)
				x[m - 1].hi = x[i].hi;
		} else {
			x[m++] = x[i];
		}
	}
	return m;
}

static int
country_add(struct ds_gen_country *c, uint64_t lo, uint64_t hi)
{
	if (c->n == c->cap) {
		uint32_t cap = c->cap ? 2 * c->cap : 64;
		uint32_t *first = realloc(c->first, cap * sizeof(*first));
		uint64_t *end;

		if (!first)
			return -ENOMEM;
		c->first = first;
		end = realloc(c->end, cap * sizeof(*end));
		if (!end)
			return -ENOMEM;
		c->end = end;
		c->cap = cap;
	}
	c->first[c->n] = (uint32_t)lo;
	c->end[c->n] = (c->n ? c->end[c->n - 1] : 0) + (hi - lo + 1);
	c->n++;
	return 0;
}

/* The row's range less the excluded ones, added to the country. */
static int
country_add_row(struct ds_gen_country *c, const struct range4 *x, unsigned int n_x,
		uint64_t lo, uint64_t hi)
{
	uint64_t pos = lo;
	unsigned int k;
	int ret;

	for (k = 0; k < n_x && pos <= hi; k++) {
		if (x[k].hi < pos)
			continue;
		if (x[k].lo > hi)
			break;
		if (x[k].lo > pos) {
			ret = country_add(c, pos, x[k].lo - 1);
			if (ret)
				return ret;
		}
		pos = x[k].hi + 1;
	}
	return pos <= hi ? country_add(c, pos, hi) : 0;
}

static uint32_t
country_pick(const struct ds_gen_country *c, struct ds_gen_rng *r)
{
	uint64_t u = ds_gen_rng_below64(r, c->end[c->n - 1]);
	uint32_t lo = 0, hi = c->n - 1;

	/* The first range whose cumulative end exceeds u. */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (c->end[mid] > u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return c->first[lo] + (uint32_t)(u - (lo ? c->end[lo - 1] : 0));
}

/* "1.2.3.4" or "16909060" into a host-order address. */
static bool
parse_addr(const char *f, uint32_t *out)
{
	struct in_addr a;
	uint64_t v;

	if (strchr(f, '.')) {
		if (inet_pton(AF_INET, f, &a) != 1)
			return false;
		*out = ntohl(a.s_addr);
		return true;
	}
	if (ds_gen_parse_u64(f, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int
letter_index(char c)
{
	c = (char)(c & ~0x20);
	return c >= 'A' && c <= 'Z' ? c - 'A' : -1;
}

/*
 * Read the ranges file into the countries of want[] (26 * 26 entries, the
 * index into g->country[] of a code, -1 for codes no campaign names). Every
 * line is checked, wanted or not: a user mistake gets one line naming the
 * file, line and column and what was expected, and -EINVAL.
 */
static int
ranges_read(struct ds_gen *g, const int *want)
{
	const char *path = g->opt.ranges_path;
	struct range4 x[sizeof(not_public4) / sizeof(not_public4[0]) + DS_GEN_MAX_PREFIXES];
	unsigned int n_x = excluded_ranges(g, x);
	char *line = NULL, *field[4];
	const char *expected = NULL;
	size_t size = 0, col = 0;
	uint64_t prev_hi = 0;
	bool any = false;
	unsigned long lineno = 0;
	ssize_t len;
	FILE *f;
	int ret = 0;

	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, DS_GEN_PROG ": --country-ranges '%s': cannot read: %s\n", path,
			strerror(errno));
		return -EINVAL;
	}
	while ((len = getline(&line, &size, f)) >= 0) {
		uint32_t lo, hi;
		unsigned int n = 0;
		char *p = line;
		int a, b;

		lineno++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		/* Three comma-separated fields. */
		for (;;) {
			char *comma = strchr(p, ',');

			if (n < 4)
				field[n] = p;
			n++;
			if (!comma)
				break;
			*comma = '\0';
			p = comma + 1;
		}
		col = 1;
		if (n != 3) {
			expected = "three fields start,end,cc";
			goto bad;
		}
		/* IPv6 rows may share the file: they are skipped. */
		if (strchr(field[0], ':') || strchr(field[1], ':'))
			continue;
		if (!parse_addr(field[0], &lo)) {
			expected = "a start address, dotted (1.0.0.0) or a number (16777216)";
			goto bad;
		}
		col = (size_t)(field[1] - line) + 1;
		if (!parse_addr(field[1], &hi) || hi < lo) {
			expected = "an end address, dotted or a number, not below the start";
			goto bad;
		}
		col = 1;
		if (any && lo <= prev_hi) {
			expected = "ranges in ascending order, each after the end of the previous";
			goto bad;
		}
		col = (size_t)(field[2] - line) + 1;
		a = letter_index(field[2][0]);
		b = a < 0 ? -1 : letter_index(field[2][1]);
		if (b < 0 || field[2][2] != '\0') {
			expected = "a two-letter country code";
			goto bad;
		}
		any = true;
		prev_hi = hi;
		if (want[a * 26 + b] >= 0) {
			ret = country_add_row(&g->country[want[a * 26 + b]], x, n_x, lo, hi);
			if (ret)
				goto out;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, DS_GEN_PROG ": --country-ranges '%s': cannot read: %s\n", path,
			strerror(errno));
		ret = -EINVAL;
	}
	goto out;
bad:
	fprintf(stderr, DS_GEN_PROG ": %s:%lu:%zu: expected %s\n", path, lineno, col, expected);
	ret = -EINVAL;
out:
	free(line);
	fclose(f);
	return ret;
}

/* Every country a campaign names must hold enough usable addresses. */
static int
check_countries(const struct ds_gen *g)
{
	unsigned int c, i;

	for (c = 0; c < g->opt.n_campaign; c++) {
		const struct ds_gen_campaign_spec *sp = &g->opt.campaign[c];

		for (i = 0; i < sp->n_cc; i++) {
			const struct ds_gen_country *k = &g->country[g->camp[c].country[i]];
			uint64_t size = k->n ? k->end[k->n - 1] : 0;

			if (size < sp->sources[i]) {
				fprintf(stderr, DS_GEN_PROG ": --campaign '%s': expected at "
					"least %" PRIu32 " usable addresses of %s in %s, found %"
					PRIu64 "\n", sp->spec, sp->sources[i], sp->cc[i],
					g->opt.ranges_path, size);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int
ds_gen_campaign_init(struct ds_gen *g)
{
	const struct ds_gen_opts *o = &g->opt;
	uint64_t day_packets = 0;
	int want[26 * 26];
	unsigned int c, i, p;
	int ret;

	if (!o->ranges_path)
		return 0;
	for (i = 0; i < 26 * 26; i++)
		want[i] = -1;
	/* One table per country code, shared by the campaigns that name it. */
	for (c = 0; c < o->n_campaign; c++) {
		const struct ds_gen_campaign_spec *sp = &o->campaign[c];
		struct ds_gen_campaign *camp = &g->camp[c];

		camp->spec = sp;
		for (i = 0; i < sp->n_cc; i++) {
			int *w = &want[letter_index(sp->cc[i][0]) * 26 +
				       letter_index(sp->cc[i][1])];

			if (*w < 0) {
				*w = (int)g->n_country;
				memcpy(g->country[g->n_country++].cc, sp->cc[i], 3);
			}
			camp->country[i] = (unsigned int)*w;
			camp->cc_first[i + 1] = camp->cc_first[i] + sp->sources[i];
		}
		camp->day_sources = camp->cc_first[sp->n_cc];
		day_packets += (uint64_t)camp->day_sources * sp->packets;
	}
	/* Source countries of both phases, each once, in the order first named. */
	for (p = 0; p < 2; p++) {
		const struct ds_gen_phase_spec *ph = &o->phase[p];

		for (i = 0; i < ph->n_cc; i++) {
			int *w = &want[letter_index(ph->cc[i][0]) * 26 +
				       letter_index(ph->cc[i][1])];

			if (*w < 0) {
				*w = (int)g->n_country;
				memcpy(g->country[g->n_country++].cc, ph->cc[i], 3);
			}
			if (src_country_of(g, (unsigned int)*w) < 0)
				g->src_cc[g->n_src_cc++] = (unsigned int)*w;
		}
	}
	ret = ranges_read(g, want);
	if (ret == 0)
		ret = check_countries(g);
	if (ret || o->n_campaign == 0)
		return ret;

	/* parse_args() capped the days' sources and packets: these sizes are bounded. */
	g->first_day = o->start_s / 86400;
	g->n_days = (o->start_s + o->duration_s - 1) / 86400 - g->first_day + 1;
	g->events = malloc(day_packets * sizeof(*g->events));
	if (!g->events)
		return -ENOMEM;
	for (c = 0; c < o->n_campaign; c++) {
		struct ds_gen_campaign *camp = &g->camp[c];
		uint32_t cap = 2;

		/* Load factor at most one half, as for the pools' set. */
		while (cap < 2 * camp->day_sources)
			cap *= 2;
		camp->addr = calloc(g->n_days * camp->day_sources, sizeof(*camp->addr));
		camp->ttl = malloc(camp->day_sources);
		camp->taken = malloc(cap * sizeof(*camp->taken));
		if (!camp->addr || !camp->ttl || !camp->taken)
			return -ENOMEM;
		camp->taken_mask = cap - 1;
	}
	ds_gen_rng_seed(&g->camp_rng, o->seed, DS_GEN_STREAM_CAMPAIGN_PACKETS);
	return 0;
}

/* Add a to the day's set; false when the campaign already has it today. */
static bool
taken_insert(struct ds_gen_campaign *c, uint32_t a)
{
	uint32_t i = (uint32_t)mix64(a) & c->taken_mask;

	/* 0 marks a free slot: 0.0.0.0 is special-purpose, never drawn. */
	while (c->taken[i]) {
		if (c->taken[i] == a)
			return false;
		i = (i + 1) & c->taken_mask;
	}
	c->taken[i] = a;
	return true;
}

/* Time order; equal instants by campaign and source, which makes the order total. */
static int
event_cmp(const void *a, const void *b)
{
	const struct ds_gen_event *x = a, *y = b;

	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	if (x->campaign != y->campaign)
		return x->campaign < y->campaign ? -1 : 1;
	return x->src < y->src ? -1 : x->src > y->src;
}

size_t
ds_gen_campaign_day(struct ds_gen *g, uint64_t day)
{
	const struct ds_gen_opts *o = &g->opt;
	uint64_t day_s = (g->first_day + day) * 86400;
	uint64_t lo = o->start_s > day_s ? o->start_s : day_s;
	uint64_t hi = o->start_s + o->duration_s < day_s + 86400 ? o->start_s + o->duration_s :
		      day_s + 86400;
	uint64_t span_ns = (hi - lo) * 1000000000;
	unsigned int c, i;
	size_t n = 0;

	for (c = 0; c < o->n_campaign; c++) {
		struct ds_gen_campaign *camp = &g->camp[c];
		const struct ds_gen_campaign_spec *sp = camp->spec;
		uint32_t *today = camp->addr + day * camp->day_sources;
		struct ds_gen_rng r;

		ds_gen_rng_seed(&r, o->seed, DS_GEN_STREAM_CAMPAIGN_DAYS +
				day * DS_GEN_MAX_CAMPAIGNS + c);
		camp->today = today;
		memset(camp->taken, 0, ((size_t)camp->taken_mask + 1) * sizeof(*camp->taken));
		for (i = 0; i < sp->n_cc; i++) {
			const struct ds_gen_country *k = &g->country[camp->country[i]];
			uint32_t j;

			/*
			 * Distinct within the day: check_countries() made sure the
			 * country has at least as many usable addresses as asked.
			 */
			for (j = camp->cc_first[i]; j < camp->cc_first[i + 1]; j++) {
				do
					today[j] = country_pick(k, &r);
				while (!taken_insert(camp, today[j]));
				/* Home routers: Linux, TTL 64 less the hops. */
				camp->ttl[j] = hops_ttl(&r, 64);
			}
		}
		for (i = 0; i < sp->n_cc; i++) {
			uint32_t j, p;

			for (j = camp->cc_first[i]; j < camp->cc_first[i + 1]; j++)
				for (p = 0; p < sp->packets; p++)
					g->events[n++] = (struct ds_gen_event){
						.ts_ns = lo * 1000000000 +
							 ds_gen_rng_below64(&r, span_ns),
						.src = j,
						.campaign = (uint16_t)c,
						.cc = (uint16_t)i,
					};
		}
	}
	qsort(g->events, n, sizeof(*g->events), event_cmp);
	return n;
}

size_t
ds_gen_campaign_build(struct ds_gen *g, const struct ds_gen_event *e, const struct ds_gen_pkt *p)
{
	/* MSS 1460 and nothing else: the stack of a small embedded device. */
	static const uint8_t mss_only[4] = { 2, 4, 0x05, 0xb4 };
	const struct ds_gen_campaign *camp = &g->camp[e->campaign];
	const struct ds_gen_campaign_spec *sp = camp->spec;
	struct ds_gen_rng *r = &g->camp_rng;
	struct ds_gen_ip4 h = { .src = camp->today[e->src], .ttl = camp->ttl[e->src],
				.proto = DS_GEN_IPPROTO_TCP, .df = true };
	struct ds_gen_tcp t = { .flags = DS_GEN_TCP_SYN, .window = sp->window, .opts = mss_only,
				.opts_len = sizeof(mss_only) };

	h.dst = darknet_addr4(g, ds_gen_rng_below64(r, g->space4));
	h.id = (uint16_t)ds_gen_rng_u32(r);
	t.sport = (uint16_t)ds_gen_rng_range(r, 1024, 65535);
	t.dport = sp->dports[ds_gen_rng_below(r, sp->n_dports)];
	t.seq = ds_gen_rng_u32(r);
	return tcp4(p, &h, &t);
}

static void
campaign_free(struct ds_gen *g)
{
	unsigned int i;

	for (i = 0; i < DS_GEN_MAX_CAMPAIGNS; i++) {
		free(g->camp[i].addr);
		free(g->camp[i].ttl);
		free(g->camp[i].taken);
		g->camp[i].addr = NULL;
		g->camp[i].ttl = NULL;
		g->camp[i].taken = NULL;
	}
	for (i = 0; i < g->n_country; i++) {
		free(g->country[i].first);
		free(g->country[i].end);
		g->country[i].first = NULL;
		g->country[i].end = NULL;
	}
	free(g->events);
	g->events = NULL;
}
