/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope-gen: shared declarations of the synthetic darknet traffic generator.
 *
 * The generator is four files around this header:
 *
 *   gen.c        command line, the packet loop, the clock and the pcap stream
 *   gen_model.c  the traffic model: a table of kinds ("actors"), their source
 *                pools and one builder per kind that writes an IP datagram
 *   gen_wire.c   header writers and Internet checksums, shared by all builders
 *   gen_truth.c  counts of what was written, and the --truth JSON file
 *
 * The packet loop is deliberately dumb. For every packet it draws a kind
 * (weighted by the kind's share), a source from that kind's pool, a
 * timestamp and whether the destination lies outside the darknet; the kind's
 * builder writes the datagram straight into the output buffer; the loop puts
 * the Ethernet header (with or without VLAN tags) in front, pads to 60 bytes
 * and then reads its own packet back to count it for the truth file. Counting
 * what was written, rather than what a builder meant to write, keeps the
 * truth file right however the model changes.
 *
 * To add a traffic kind: write a builder and a source initialiser in
 * gen_model.c and add a row to ds_gen_kinds[]; nothing else changes.
 *
 * Two things sit beside the kinds. A campaign (--campaign) is a fixed number
 * of sources per UTC day and country, each sending a fixed number of SYNs
 * with one TCP window; its packets are drawn day by day, sorted, and merged
 * into the loop's time order. The spray (--spray) replaces the kinds: every
 * packet is a SYN with a random option layout and window, the hostile input
 * of the sensor's memory-bound test.
 *
 * Two options reweight the kinds' mix, in up to two phases split at
 * --switch-at: --ports gives the weights of the scan kind's destination
 * ports, --countries the source countries of every IPv4 packet of the kinds.
 * With countries, each IPv4 kind's pool is cut into one sub-pool per country
 * (addresses drawn from that country's ranges), and a packet first draws its
 * country with the weights of its phase, then a source of that sub-pool, so
 * a country keeps its hosts across the switch and only their share changes.
 *
 * Everything random comes from xoshiro256** streams seeded by splitmix64
 * from --seed, one stream per purpose (timestamps, source pools, packets,
 * campaign packets, and one per campaign and day), so that the same
 * arguments always produce the same bytes and a change to one purpose does
 * not shift the others.
 */

#ifndef DS_GEN_H
#define DS_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DS_GEN_PROG "darkscope-gen"

/* Limits of the command line. */
#define DS_GEN_MAX_PREFIXES 64
#define DS_GEN_MAX_KINDS 16
#define DS_GEN_MAX_PACKETS (UINT64_C(1) << 40)

/*
 * Limits of --campaign. The per-day and whole-run caps bound the memory of
 * one day's sorted packets (16 bytes each) and of the source lists kept for
 * the truth file (4 bytes each) to 256 MiB and 64 MiB.
 */
#define DS_GEN_MAX_CAMPAIGNS 8
#define DS_GEN_CAMPAIGN_NAME_MAX 32
#define DS_GEN_CAMPAIGN_MAX_CC 32
#define DS_GEN_CAMPAIGN_MAX_DPORTS 16
#define DS_GEN_CAMPAIGN_MAX_N (UINT32_C(1) << 20)      /* sources per country and day */
#define DS_GEN_CAMPAIGN_MAX_P UINT32_C(65536)           /* packets per source and day */
#define DS_GEN_CAMPAIGN_MAX_DAY_PACKETS (UINT64_C(1) << 24)
#define DS_GEN_CAMPAIGN_MAX_SOURCES (UINT64_C(1) << 24)

/*
 * Limits of --ports and --countries (and their -after forms). A phase's
 * ports share one weighted table with the "any port" tail, and a table holds
 * DS_GEN_TABLE_MAX values; weights are small so that the scaled sums of
 * ds_gen_model_init() stay far below 2^32.
 */
#define DS_GEN_MAX_SPEC_PORTS 63
#define DS_GEN_MAX_SPEC_CC 64
#define DS_GEN_SPEC_WEIGHT_MAX 10000

/* Country tables: every campaign's countries and both phases' --countries. */
#define DS_GEN_MAX_COUNTRIES (DS_GEN_MAX_CAMPAIGNS * DS_GEN_CAMPAIGN_MAX_CC + \
			      2 * DS_GEN_MAX_SPEC_CC)

/*
 * Random streams, one per purpose (see the top of this file). Campaign c
 * draws day d's sources and instants from stream
 * DS_GEN_STREAM_CAMPAIGN_DAYS + d * DS_GEN_MAX_CAMPAIGNS + c.
 */
enum ds_gen_stream {
	DS_GEN_STREAM_CLOCK,
	DS_GEN_STREAM_POOLS,
	DS_GEN_STREAM_PACKETS,
	DS_GEN_STREAM_CAMPAIGN_PACKETS,
	DS_GEN_STREAM_CAMPAIGN_DAYS = 16,
};

/* Largest IP datagram a builder may write; the output buffer reserves it. */
#define DS_GEN_L3_MAX 1400
/* Ethernet header plus two VLAN tags. */
#define DS_GEN_L2_MAX 22
/* A NIC pads shorter frames to this before the FCS (which is not captured). */
#define DS_GEN_FRAME_MIN 60

#define DS_GEN_IPPROTO_ICMP 1
#define DS_GEN_IPPROTO_TCP 6
#define DS_GEN_IPPROTO_UDP 17
#define DS_GEN_IPPROTO_ICMPV6 58

#define DS_GEN_TCP_FIN 0x01
#define DS_GEN_TCP_SYN 0x02
#define DS_GEN_TCP_RST 0x04
#define DS_GEN_TCP_ACK 0x10

/*
 * Random numbers: xoshiro256** (Blackman and Vigna), seeded through
 * splitmix64 so that any 64-bit seed, 0 included, gives a good state.
 */
struct ds_gen_rng {
	uint64_t s[4];
};

void ds_gen_rng_seed(struct ds_gen_rng *r, uint64_t seed, uint64_t stream);

static inline uint64_t
ds_gen_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t
ds_gen_rng_next(struct ds_gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = ds_gen_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = ds_gen_rotl(s[3], 45);
	return out;
}

static inline uint32_t
ds_gen_rng_u32(struct ds_gen_rng *r)
{
	return (uint32_t)(ds_gen_rng_next(r) >> 32);
}

/* Uniform in [0, n) by Lemire's multiply-shift; the bias is below 2^-32 * n. */
static inline uint32_t
ds_gen_rng_below(struct ds_gen_rng *r, uint32_t n)
{
	return (uint32_t)(((uint64_t)ds_gen_rng_u32(r) * n) >> 32);
}

/* Uniform in [0, n) for 64-bit ranges (address spaces of many prefixes). */
static inline uint64_t
ds_gen_rng_below64(struct ds_gen_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)ds_gen_rng_next(r) * n) >> 64);
}

/* Uniform in [lo, hi]. */
static inline uint32_t
ds_gen_rng_range(struct ds_gen_rng *r, uint32_t lo, uint32_t hi)
{
	return lo + ds_gen_rng_below(r, hi - lo + 1);
}

/* True with probability p32 / 2^32 (see ds_gen_p32()). */
static inline bool
ds_gen_rng_chance(struct ds_gen_rng *r, uint32_t p32)
{
	return ds_gen_rng_u32(r) < p32;
}

/* Uniform in (0, 1]: never 0, so that log() of it is finite. */
static inline double
ds_gen_rng_open01(struct ds_gen_rng *r)
{
	return (double)((ds_gen_rng_next(r) >> 11) + 1) * 0x1.0p-53;
}

/* A probability in [0, 1] as a threshold for ds_gen_rng_chance(). */
uint32_t ds_gen_p32(double p);

/*
 * A weighted choice among up to DS_GEN_TABLE_MAX values (ports, option
 * layouts, ...): weights are small integers written next to the values in
 * static tables, compiled once into cumulative sums for a binary search.
 */
#define DS_GEN_TABLE_MAX 64

struct ds_gen_weight {
	uint32_t value;
	uint32_t weight;
};

struct ds_gen_table {
	uint32_t n;
	uint32_t total;
	uint32_t cum[DS_GEN_TABLE_MAX];
	uint32_t val[DS_GEN_TABLE_MAX];
};

int ds_gen_table_init(struct ds_gen_table *t, const struct ds_gen_weight *w, size_t n);

static inline uint32_t
ds_gen_table_pick(const struct ds_gen_table *t, struct ds_gen_rng *r)
{
	uint32_t x = ds_gen_rng_below(r, t->total);
	uint32_t lo = 0, hi = t->n - 1;

	/* First entry whose cumulative weight exceeds x. */
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (t->cum[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return t->val[lo];
}

/* Big-endian stores: every header field goes through these. */
static inline void
ds_gen_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
ds_gen_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint16_t
ds_gen_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
ds_gen_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An IPv4 darknet prefix; host order, host bits zero. */
struct ds_gen_prefix4 {
	uint32_t addr;
	uint8_t len;
};

struct ds_gen_prefix6 {
	uint8_t addr[16];
	uint8_t len;
};

/*
 * One --campaign, as parsed: per UTC day and listed country, sources[i]
 * distinct addresses of country cc[i] each send `packets` SYNs with window
 * `window` to ports drawn from dports[].
 */
struct ds_gen_campaign_spec {
	const char *spec;               /* the argument as given, for messages */
	char name[DS_GEN_CAMPAIGN_NAME_MAX + 1];
	uint16_t window;
	uint32_t packets;
	unsigned int n_cc;
	char cc[DS_GEN_CAMPAIGN_MAX_CC][3];
	uint32_t sources[DS_GEN_CAMPAIGN_MAX_CC];
	unsigned int n_dports;
	uint16_t dports[DS_GEN_CAMPAIGN_MAX_DPORTS];
};

/*
 * The weights of one phase of the mix: before --switch-at (phase 0) and from
 * it on (phase 1). No ports: the model's own scan ports; no countries:
 * sources uniform over public space.
 */
struct ds_gen_phase_spec {
	const char *ports_arg;          /* the argument as given; NULL: none */
	unsigned int n_ports;
	struct ds_gen_weight ports[DS_GEN_MAX_SPEC_PORTS];
	const char *countries_arg;
	unsigned int n_cc;
	char cc[DS_GEN_MAX_SPEC_CC][3];
	uint32_t cc_weight[DS_GEN_MAX_SPEC_CC];
};

/* The command line, validated. */
struct ds_gen_opts {
	const char *out_path;           /* "-" for stdout */
	const char *truth_path;         /* NULL: no truth file */
	struct ds_gen_prefix4 prefix[DS_GEN_MAX_PREFIXES];
	unsigned int n_prefix;
	bool prefix_given;              /* the first --prefix replaces the defaults */
	struct ds_gen_prefix6 prefix6;
	uint64_t start_s;               /* Unix seconds, UTC */
	uint64_t duration_s;
	uint64_t packets;
	uint64_t seed;
	bool nanosecond;
	double outside_share;
	struct ds_gen_campaign_spec campaign[DS_GEN_MAX_CAMPAIGNS];
	unsigned int n_campaign;
	const char *ranges_path;        /* --country-ranges; NULL: none */
	bool spray;
	struct ds_gen_phase_spec phase[2];
	const char *switch_arg;         /* --switch-at as given; NULL: one phase */
	uint64_t switch_s;              /* Unix seconds, UTC */
	bool phased;                    /* --ports, --countries or --switch-at: truth per day */
};

/*
 * One sender. A single struct serves every kind; each kind's initialiser
 * fills the fields it uses, and the fields stay fixed for the whole run, so
 * that a source keeps its fingerprint (TTL, window, option layout) the way a
 * real host does.
 */
struct ds_gen_source {
	uint32_t addr4;                 /* IPv4 sources */
	uint8_t addr6[16];              /* IPv6 sources */
	uint8_t os;                     /* index into the OS profile table */
	uint8_t ttl;                    /* as received: initial TTL minus hops */
	uint8_t wscale;
	uint8_t flavour;                /* kind-specific variant (payload, reply mix) */
	uint16_t window;
	uint16_t mss;
	uint16_t sport;                 /* fixed source port, when the kind has one */
	uint16_t icmp_id;
	uint16_t icmp_seq;              /* advances with every echo request */
	uint32_t ts_base;               /* TCP timestamp clock at the start of the run */
	uint64_t sweep_pos;             /* sweepers: position in their address permutation */
};

struct ds_gen;

/* What the packet loop decided before calling the kind's builder. */
struct ds_gen_pkt {
	uint64_t ts_ns;                 /* packet time, ns since the Unix epoch */
	bool outside;                   /* destination must lie outside every prefix */
	uint8_t *l3;                    /* the builder writes the IP datagram here */
};

/*
 * A traffic kind. The pool has max(pool_min, packets / pool_div) sources
 * (pool_div 0: exactly pool_min), at most pool_max.
 */
struct ds_gen_kind {
	const char *name;               /* key in the truth file */
	double share;                   /* fraction of all packets */
	bool ipv6;                      /* sources are IPv6 */
	uint32_t pool_min;
	uint32_t pool_div;
	uint32_t pool_max;
	void (*init)(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s);
	/* Writes one datagram at p->l3 and returns its length (<= DS_GEN_L3_MAX). */
	size_t (*build)(struct ds_gen *g, const struct ds_gen_kind *k, struct ds_gen_source *s,
			const struct ds_gen_pkt *p);
	const void *arg;                /* kind-specific constants */
};

extern const struct ds_gen_kind ds_gen_kinds[];
extern const unsigned int ds_gen_n_kinds;

/*
 * A kind's sources and which of them have sent (for the distinct count).
 * With --countries an IPv4 kind's pool is cut into sub-pools, one per source
 * country u, at src[sub_first[u] .. sub_first[u + 1]); NULL otherwise.
 */
struct ds_gen_pool {
	struct ds_gen_source *src;
	uint32_t n;
	uint64_t *used;                 /* bitmap, one bit per source */
	uint32_t *sub_first;
};

/*
 * The addresses a campaign may draw in one country: the country's ranges in
 * the --country-ranges file less special-purpose space and the darknet, as
 * disjoint ranges in ascending order. A uniform draw below end[n - 1] picks
 * the range by binary search over the cumulative sizes.
 */
struct ds_gen_country {
	char cc[3];
	uint32_t n;                     /* ranges */
	uint32_t cap;
	uint32_t *first;                /* first address of range i */
	uint64_t *end;                  /* addresses in ranges 0..i together */
};

/*
 * A campaign at run time. The sources of day d are
 * addr[d * day_sources .. (d + 1) * day_sources), country by country in the
 * order of the spec: country i owns [cc_first[i], cc_first[i + 1]).
 */
struct ds_gen_campaign {
	const struct ds_gen_campaign_spec *spec;
	unsigned int country[DS_GEN_CAMPAIGN_MAX_CC];   /* index into ds_gen.country[] */
	uint32_t cc_first[DS_GEN_CAMPAIGN_MAX_CC + 1];
	uint32_t day_sources;
	uint32_t *addr;                 /* n_days * day_sources addresses, kept for the truth */
	const uint32_t *today;          /* the current day's part of addr */
	uint8_t *ttl;                   /* day_sources TTLs of the current day */
	uint32_t *taken;                /* open-addressing set: the current day's addresses */
	uint32_t taken_mask;
};

/* One campaign packet still to write; a day's are sorted by time. */
struct ds_gen_event {
	uint64_t ts_ns;
	uint32_t src;                   /* index among the campaign's sources of the day */
	uint16_t campaign;
	uint16_t cc;                    /* index of the source's country in the spec */
};

/* The whole run. */
struct ds_gen {
	struct ds_gen_opts opt;
	struct ds_gen_rng rng;          /* per-packet draws */
	struct ds_gen_rng pool_rng;     /* source pools, drawn before the first packet */
	uint64_t space4;                /* addresses in all IPv4 prefixes together */
	uint64_t prefix_end[DS_GEN_MAX_PREFIXES]; /* cumulative sizes, for ds_gen_dst4() */
	struct ds_gen_pool pool[DS_GEN_MAX_KINDS];
	struct ds_gen_table scan_ports; /* scanner destination ports, built by the model */
	struct ds_gen_table scan_ports_after;  /* the same from --switch-at on */
	struct ds_gen_table os_table;
	struct ds_gen_table udp_table;
	struct ds_gen_table ipv6_ports;
	uint64_t sweep_mask;            /* sweepers permute k-bit numbers: 2^k >= space4 */
	unsigned int sweep_shift;
	/* Every source address handed out so far: sources are unique across kinds. */
	uint64_t *seen;
	uint64_t seen_mask;
	/* Countries of all campaigns and of --countries, read from the ranges file. */
	struct ds_gen_country country[DS_GEN_MAX_COUNTRIES];
	unsigned int n_country;
	/*
	 * Source countries (--countries of both phases): n_src_cc of them,
	 * src_cc[u] the index into country[] of source country u; cc_table[p]
	 * draws u with the weights of phase p.
	 */
	unsigned int n_src_cc;
	unsigned int src_cc[2 * DS_GEN_MAX_SPEC_CC];
	struct ds_gen_table cc_table[2];
	/* The phase of the packet being built, and where phase 1 starts. */
	unsigned int phase;
	uint64_t switch_ns;             /* UINT64_MAX: never */
	int pkt_cc;                     /* country[] index of its source; -1: none */
	/* Campaigns: UTC days the span touches. */
	struct ds_gen_campaign camp[DS_GEN_MAX_CAMPAIGNS];
	uint64_t first_day;             /* days since the epoch */
	uint64_t n_days;                /* 0 without campaigns */
	struct ds_gen_rng camp_rng;     /* per-packet draws of campaign packets */
	struct ds_gen_event *events;    /* one day's campaign packets */
};

/*
 * What was written, counted by reading every packet back (gen_truth.c).
 * Port and ICMP type/code arrays are indexed by the 16-bit value.
 */
enum ds_gen_tags {
	DS_GEN_UNTAGGED,
	DS_GEN_VLAN,                    /* one 802.1Q tag, VID 100 */
	DS_GEN_QINQ,                    /* 802.1ad VID 200 outside 802.1Q VID 100 */
	DS_GEN_N_TAGS,
};

/* Truth rows of what is not a kind: campaign and spray packets. */
#define DS_GEN_KIND_CAMPAIGN DS_GEN_MAX_KINDS
#define DS_GEN_KIND_SPRAY (DS_GEN_MAX_KINDS + 1)

/*
 * Distinct option layouts of the spray: an open-addressing set of 16-byte
 * keys (the kinds in order, byte 0 is their count plus one so that no key is
 * zero). It doubles as it fills, up to DS_GEN_LAYOUTS_MAX keys; past that,
 * or if memory runs out, new layouts are no longer counted and `exact` says so.
 */
#define DS_GEN_LAYOUTS_MAX (UINT64_C(1) << 24)

struct ds_gen_layouts {
	uint64_t (*slot)[2];
	uint64_t mask;
	uint64_t n;
	bool exact;
};

/*
 * Per-UTC-day counts of the phased truth: packets and outside packets per
 * day in arrays, darknet TCP packets per destination port and darknet
 * packets per source country in one open-addressing map of (day, class,
 * value) keys, so memory follows the pairs that occur, not days x 65536.
 */
struct ds_gen_days {
	uint64_t first_day;             /* days since the epoch */
	uint64_t n_days;
	uint64_t *packets;
	uint64_t *outside;
	uint64_t (*slot)[2];            /* key (0: free), count */
	uint64_t mask;
	uint64_t n;
	bool failed;                    /* out of memory: the truth cannot be written */
};

struct ds_gen_truth {
	uint64_t packets;
	uint64_t bytes;                 /* frame bytes as captured */
	uint64_t kind_packets[DS_GEN_MAX_KINDS + 2];
	uint64_t tags[DS_GEN_N_TAGS];
	uint64_t ipv4, ipv6;
	uint64_t tcp, udp, icmp, icmp6;
	uint64_t syn, synack, rst, rstack;
	uint64_t outside;
	uint64_t mirai_syn, zmap_id_syn, masscan_id_syn;
	uint64_t first_ns, last_ns;     /* as written: microseconds files lose the ns */
	uint64_t syn_port[65536];
	uint64_t udp_port[65536];
	uint64_t icmp_type_code[65536];
	uint64_t icmp6_type_code[65536];
	/* Campaign c: packets of day d from its country i at [d * n_cc + i]. */
	uint64_t *campaign_packets[DS_GEN_MAX_CAMPAIGNS];
	/* Spray: windows seen (a bitmap) and option layouts. */
	uint64_t spray_windows[65536 / 64];
	struct ds_gen_layouts layouts;
	/* With --ports, --countries or --switch-at: per UTC day (see ds_gen_days). */
	struct ds_gen_days *days;
};

int ds_gen_truth_init(struct ds_gen_truth *t, const struct ds_gen *g);
void ds_gen_truth_free(struct ds_gen_truth *t);
void ds_gen_truth_count(struct ds_gen_truth *t, const struct ds_gen *g, unsigned int kind,
			enum ds_gen_tags tags, const uint8_t *l3, size_t frame_len, uint64_t ts_ns);
void ds_gen_truth_campaign(struct ds_gen_truth *t, const struct ds_gen *g,
			   const struct ds_gen_event *e, uint64_t ts_ns);
int ds_gen_truth_write(const struct ds_gen_truth *t, const struct ds_gen *g, const char *path);

/* gen.c */
int ds_gen_parse_u64(const char *s, uint64_t *out);

/* gen_model.c */
int ds_gen_model_init(struct ds_gen *g);
void ds_gen_model_free(struct ds_gen *g);
int ds_gen_campaign_init(struct ds_gen *g);
size_t ds_gen_campaign_day(struct ds_gen *g, uint64_t day);
size_t ds_gen_campaign_build(struct ds_gen *g, const struct ds_gen_event *e,
			     const struct ds_gen_pkt *p);
size_t ds_gen_spray_build(struct ds_gen *g, const struct ds_gen_pkt *p);
uint32_t ds_gen_dst4(struct ds_gen *g, bool outside);
void ds_gen_dst6(struct ds_gen *g, bool outside, uint8_t dst[16]);
bool ds_gen_in_prefixes4(const struct ds_gen *g, uint32_t a);
bool ds_gen_in_prefix6(const struct ds_gen_prefix6 *p, const uint8_t a[16]);

/* gen_wire.c */
struct ds_gen_ip4 {
	uint32_t src;
	uint32_t dst;
	uint16_t id;
	uint8_t ttl;
	uint8_t proto;
	bool df;
};

struct ds_gen_tcp {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t flags;
	uint16_t window;
	const uint8_t *opts;            /* option bytes, a multiple of 4 */
	uint8_t opts_len;
};

uint32_t ds_gen_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t ds_gen_csum_fold(uint32_t sum);
size_t ds_gen_tcp_write(uint8_t *l4, const struct ds_gen_tcp *t);
size_t ds_gen_udp_write(uint8_t *l4, uint16_t sport, uint16_t dport, const uint8_t *payload,
			size_t len);
size_t ds_gen_ip4_seal(uint8_t *l3, const struct ds_gen_ip4 *h, size_t l4_len);
void ds_gen_ip4_header(uint8_t *ip, const struct ds_gen_ip4 *h, uint16_t total_len);
size_t ds_gen_ip6_seal(uint8_t *l3, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
		       uint8_t hlim, size_t l4_len);

#endif /* DS_GEN_H */
