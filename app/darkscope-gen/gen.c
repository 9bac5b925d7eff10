/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * darkscope-gen: writes a classic libpcap file of synthetic darknet traffic.
 *
 * This file is the program around the traffic model (gen_model.c): the
 * command line, the packet loop, the pcap stream and the clock. It is the
 * input of the demo, of most system tests and of the benchmarks, so it must
 * be reproducible (same arguments, same bytes) and fast (millions of packets
 * a second), which shapes the loop:
 *
 *   for each packet:
 *     kind       <- weighted by share          (ds_gen_kinds[])
 *     source     <- from the kind's pool
 *     timestamp  <- the next of N sorted uniform instants in [start, end)
 *     outside?   <- --outside-share
 *     tags       <- none, 802.1Q or QinQ
 *     kind.build() writes the IP datagram in place in the output buffer,
 *     Ethernet header in front, zero padding to 60 bytes, record header,
 *     truth counts from the bytes just written.
 *
 * Nothing is allocated per packet: frames are built directly in a 4 MiB
 * output buffer that is written out with write(2) when it fills.
 *
 * Two options bend that loop. --spray replaces the kind's packet by a SYN
 * with a random option layout and window (gen_model.c). --campaign adds a
 * second stream: each campaign's packets of one UTC day, drawn and sorted
 * when the loop reaches that day, are merged with the clock's instants by
 * time, so the file stays in time order and the --packets count is
 * unchanged. Campaign packets use streams of their own, so the other packets
 * of a run are the same with or without a campaign (unless the campaign
 * takes over a window a source would have had, see gen_model.c).
 *
 * --ports and --countries reweight the kinds' packets, and --switch-at
 * changes the weights half-way: the loop tells the model the phase of each
 * packet from its timestamp. With countries, a packet of an IPv4 kind draws
 * its source country before its source; that one extra draw is made only
 * with --countries, so without these options every file is what it was.
 *
 * Timestamps are the order statistics of N uniform draws, produced in order
 * without storing or sorting them: given the previous instant t (as a
 * fraction of the span) and m instants still to come, the next one is the
 * minimum of m uniforms on [t, 1), that is t + (1 - t) * (1 - V^(1/m)) for a
 * uniform V. They are non-decreasing, inside the span, and spread like a
 * Poisson process conditioned on its count.
 *
 * The pcap format is written by hand, little-endian whatever the host:
 * a 24-byte file header (magic 0xa1b2c3d4 for microseconds, 0xa1b23c4d for
 * nanoseconds, version 2.4, snaplen 65535, link type 1 = Ethernet), then per
 * packet a 16-byte record header (seconds, fraction, captured length, length)
 * and the frame. Captured length always equals length.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "ds_civil.h"
#include "gen.h"

#define PROG DS_GEN_PROG

#define EXIT_USAGE 2

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_SNAPLEN 65535
#define PCAP_LINKTYPE_ETHERNET 1
#define PCAP_FILE_HDR 24
#define PCAP_REC_HDR 16

#define OUT_BUF_SIZE (4u << 20)
/* Room one packet can take in the buffer: record header, L2, L3. */
#define REC_MAX (PCAP_REC_HDR + DS_GEN_L2_MAX + DS_GEN_L3_MAX)

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define VLAN_INNER_VID 100
#define VLAN_OUTER_VID 200

/* Tagged frame shares: one in twenty single-tagged, one in a hundred QinQ. */
#define VLAN_SHARE 0.05
#define QINQ_SHARE 0.01

/* The capture must end before pcap's 32-bit seconds run out (2106-02-07). */
#define PCAP_MAX_SECONDS UINT64_C(0xffffffff)

/* Locally administered MACs: the telescope's port and the router in front of it. */
static const uint8_t mac_sensor[6] = { 0x02, 0x00, 0x00, 0xd5, 0x00, 0x01 };
static const uint8_t mac_router[6] = { 0x02, 0x00, 0x00, 0xd5, 0x00, 0xfe };

/* ---- random numbers and weighted tables (declared in gen.h) ----------- */

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

void
ds_gen_rng_seed(struct ds_gen_rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed;
	int i;

	/* Decorrelate the streams of one seed by running splitmix once per stream. */
	x ^= splitmix64(&(uint64_t){ stream + 1 });
	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

uint32_t
ds_gen_p32(double p)
{
	if (p <= 0)
		return 0;
	if (p >= 1)
		return UINT32_MAX;
	return (uint32_t)(p * 4294967296.0);
}

int
ds_gen_table_init(struct ds_gen_table *t, const struct ds_gen_weight *w, size_t n)
{
	uint64_t total = 0;
	size_t i;

	if (n == 0 || n > DS_GEN_TABLE_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		total += w[i].weight;
		t->cum[i] = (uint32_t)total;
		t->val[i] = w[i].value;
	}
	if (total == 0 || total > UINT32_MAX)
		return -EINVAL;
	t->n = (uint32_t)n;
	t->total = (uint32_t)total;
	return 0;
}

/* ---- command line ----------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " --out FILE [options]\n"
		"Write a classic libpcap file (Ethernet) of synthetic darknet traffic.\n"
		"\n"
		"  --out FILE           pcap to write, - for stdout (required)\n"
		"  --prefix CIDR        darknet IPv4 prefix, repeatable\n"
		"                       (default 198.18.0.0/16 and 198.19.0.0/16)\n"
		"  --prefix6 CIDR6      darknet IPv6 prefix (default 2001:db8:d5::/48)\n"
		"  --start TIME         UTC start, 2024-05-20T00:00:00Z or 2024-05-20\n"
		"                       (default 2024-05-20T00:00:00Z)\n"
		"  --duration DUR       span: 90s, 10m, 2h, 3d (default 10m)\n"
		"  --packets N          packets to write (default 100000)\n"
		"  --seed N             random seed (default 1); same arguments, same bytes\n"
		"  --nanosecond         nanosecond timestamps (magic 0xa1b23c4d)\n"
		"  --outside-share F    fraction of packets to addresses outside every prefix\n"
		"                       (default 0.01)\n"
		"  --truth FILE         also write a JSON summary of what was generated\n"
		"  --campaign SPEC      add a botnet campaign, repeatable:\n"
		"                       name=NAME,window=W,sources=CC:N[:CC:N...],packets=P\n"
		"                       [,dports=P1:P2...]: every UTC day, N sources per\n"
		"                       country send P SYNs each with window W (dports 23)\n"
		"  --country-ranges FILE  ip-location-db asn-country CSV (start,end,cc):\n"
		"                       where campaign sources come from\n"
		"  --spray              every packet a SYN with random options and window\n"
		"  --ports SPEC         weights of the scan kind's destination ports,\n"
		"                       PORT:W[,PORT:W...] such as 23:30,445:25,80:20\n"
		"  --countries SPEC     source countries of the IPv4 packets with their\n"
		"                       weights, CC:W[,CC:W...] such as US:40,CN:30,JP:10\n"
		"                       (needs --country-ranges)\n"
		"  --switch-at TIME     from TIME on, use the weights of --ports-after\n"
		"                       and/or --countries-after\n"
		"  --ports-after SPEC   scan ports from --switch-at on\n"
		"  --countries-after SPEC  source countries from --switch-at on\n"
		"  --help               print this text\n"
		"\n"
		"See docs/GENERATOR.md for the traffic model and the truth file.\n");
}

/* One line naming the option, the value and what was expected. */
static int
bad(const char *opt, const char *val, const char *expected)
{
	fprintf(stderr, PROG ": %s '%s': expected %s\n", opt, val, expected);
	return -EINVAL;
}

/* Decimal digits only: no sign, no space, no base prefix, no overflow. */
int
ds_gen_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[Z]" or "YYYY-MM-DD", UTC, from 1970, into Unix seconds. */
static int
parse_time(const char *val, uint64_t *out)
{
	const char *p = val;
	unsigned int y, mo, d, h = 0, mi = 0, s = 0;

	if (ds_civil_parse_date(&p, &y, &mo, &d))
		goto fail;
	if (*p == 'T') {
		p++;
		if (ds_civil_digits(&p, 2, &h) || *p++ != ':' || ds_civil_digits(&p, 2, &mi) ||
		    *p++ != ':' || ds_civil_digits(&p, 2, &s))
			goto fail;
		if (*p == 'Z')
			p++;
	}
	if (*p != '\0' || y < 1970 || h > 23 || mi > 59 || s > 59)
		goto fail;
	*out = (uint64_t)ds_civil_to_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
fail:
	return -EINVAL;
}

static int
opt_start(struct ds_gen_opts *o, const char *opt, const char *val)
{
	if (parse_time(val, &o->start_s))
		return bad(opt, val, "a UTC time YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD, from 1970");
	return 0;
}

/* Whether it lies inside the capture is checked once --start and --duration are known. */
static int
opt_switch_at(struct ds_gen_opts *o, const char *opt, const char *val)
{
	if (parse_time(val, &o->switch_s))
		return bad(opt, val, "a UTC time YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD, from 1970");
	o->switch_arg = val;
	o->phased = true;
	return 0;
}

static int
opt_duration(struct ds_gen_opts *o, const char *opt, const char *val)
{
	static const char units[] = "smhd";
	static const uint64_t scale[] = { 1, 60, 3600, 86400 };
	char num[32];
	size_t len = strlen(val);
	const char *u;
	uint64_t v, mult = 1;

	/* A bare number is seconds. */
	if (len > 0 && len < sizeof(num) && (u = strchr(units, val[len - 1])) != NULL &&
	    *u != '\0') {
		mult = scale[u - units];
		len--;
	}
	if (len == 0 || len >= sizeof(num))
		goto fail;
	memcpy(num, val, len);
	num[len] = '\0';
	if (ds_gen_parse_u64(num, &v) || v == 0 || v > PCAP_MAX_SECONDS / mult)
		goto fail;
	o->duration_s = v * mult;
	return 0;
fail:
	return bad(opt, val, "a positive duration such as 90s, 10m, 2h or 3d");
}

static int
opt_packets(struct ds_gen_opts *o, const char *opt, const char *val)
{
	if (ds_gen_parse_u64(val, &o->packets) || o->packets == 0 ||
	    o->packets > DS_GEN_MAX_PACKETS)
		return bad(opt, val, "a whole number of packets from 1 to 1099511627776");
	return 0;
}

static int
opt_seed(struct ds_gen_opts *o, const char *opt, const char *val)
{
	if (ds_gen_parse_u64(val, &o->seed))
		return bad(opt, val, "a whole number from 0 to 18446744073709551615");
	return 0;
}

static int
opt_outside(struct ds_gen_opts *o, const char *opt, const char *val)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(val, &end);
	/* Written so that NaN fails the range test too. */
	if (errno || end == val || *end != '\0' || !(v >= 0.0 && v <= 1.0))
		return bad(opt, val, "a fraction from 0 to 1");
	o->outside_share = v;
	return 0;
}

/*
 * "addr/len" into addr (NUL-terminated copy) and len; false on bad syntax.
 * The length must be plain digits: "/+8", "/ 8" and "/08x" are mistakes.
 */
static bool
split_cidr(const char *val, char *addr, size_t size, unsigned int *len)
{
	const char *slash = strchr(val, '/');
	uint64_t l;

	if (!slash || (size_t)(slash - val) >= size || ds_gen_parse_u64(slash + 1, &l) ||
	    l > 128 || slash[1] == '\0' || strlen(slash + 1) > 3)
		return false;
	memcpy(addr, val, (size_t)(slash - val));
	addr[slash - val] = '\0';
	*len = (unsigned int)l;
	return true;
}

static uint32_t
prefix_mask(uint8_t len)
{
	return len ? ~UINT32_C(0) << (32 - len) : 0;
}

static int
opt_prefix(struct ds_gen_opts *o, const char *opt, const char *val)
{
	char addr[INET_ADDRSTRLEN];
	struct ds_gen_prefix4 p;
	unsigned int len, i;
	uint32_t a;

	if (!split_cidr(val, addr, sizeof(addr), &len) || inet_pton(AF_INET, addr, &a) != 1 ||
	    len < 8 || len > 32)
		return bad(opt, val, "an IPv4 prefix a.b.c.d/len with len from 8 to 32");
	p.addr = ntohl(a);
	p.len = (uint8_t)len;
	if (p.addr & ~prefix_mask(p.len))
		return bad(opt, val, "a prefix with its host bits zero");
	/* The first --prefix replaces the defaults. */
	if (!o->prefix_given) {
		o->prefix_given = true;
		o->n_prefix = 0;
	}
	if (o->n_prefix == DS_GEN_MAX_PREFIXES)
		return bad(opt, val, "at most 64 prefixes");
	for (i = 0; i < o->n_prefix; i++) {
		uint8_t l = p.len < o->prefix[i].len ? p.len : o->prefix[i].len;
		uint32_t m = prefix_mask(l);

		if ((p.addr & m) == (o->prefix[i].addr & m))
			return bad(opt, val, "prefixes that do not overlap each other");
	}
	o->prefix[o->n_prefix++] = p;
	return 0;
}

static int
opt_prefix6(struct ds_gen_opts *o, const char *opt, const char *val)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned int len, i;
	uint8_t a[16];

	if (!split_cidr(val, addr, sizeof(addr), &len) || inet_pton(AF_INET6, addr, a) != 1 ||
	    len < 16 || len > 128)
		return bad(opt, val, "an IPv6 prefix addr/len with len from 16 to 128");
	for (i = len; i < 128; i++)
		if (a[i / 8] & (0x80 >> (i % 8)))
			return bad(opt, val, "a prefix with its host bits zero");
	memcpy(o->prefix6.addr, a, 16);
	o->prefix6.len = (uint8_t)len;
	return 0;
}

static int
opt_out(struct ds_gen_opts *o, const char *opt, const char *val)
{
	if (*val == '\0')
		return bad(opt, val, "a file name, or - for stdout");
	o->out_path = val;
	return 0;
}

static int
opt_truth(struct ds_gen_opts *o, const char *opt, const char *val)
{
	if (*val == '\0')
		return bad(opt, val, "a file name, or - for stdout");
	o->truth_path = val;
	return 0;
}

static int
opt_nanosecond(struct ds_gen_opts *o, const char *opt, const char *val)
{
	(void)opt;
	(void)val;
	o->nanosecond = true;
	return 0;
}

static int
opt_spray(struct ds_gen_opts *o, const char *opt, const char *val)
{
	(void)opt;
	(void)val;
	o->spray = true;
	return 0;
}

static int
opt_ranges(struct ds_gen_opts *o, const char *opt, const char *val)
{
	if (*val == '\0')
		return bad(opt, val, "the name of an ip-location-db asn-country CSV file");
	o->ranges_path = val;
	return 0;
}

/*
 * --campaign name=NAME,window=W,sources=CC:N[:CC:N...],packets=P[,dports=P1:P2...]
 *
 * The value is split in place in a copy: items at the commas, lists at the
 * colons. Every mistake is reported against the whole argument with the item
 * at fault named in the expectation, so the one line says what to change.
 */
enum campaign_key {
	CKEY_NAME,
	CKEY_WINDOW,
	CKEY_SOURCES,
	CKEY_PACKETS,
	CKEY_DPORTS,
	CKEY_N,
};

static const char *const campaign_keys[CKEY_N] = { "name", "window", "sources", "packets",
						  "dports" };

/* Decimal in [lo, hi]. */
static bool
parse_in(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	return ds_gen_parse_u64(s, out) == 0 && *out >= lo && *out <= hi;
}

/* Split s at every sep (in place); returns the number of parts, at most max + 1. */
static unsigned int
split(char *s, char sep, char **part, unsigned int max)
{
	unsigned int n = 0;

	for (;;) {
		char *next = strchr(s, sep);

		if (n <= max)
			part[n] = s;
		n++;
		if (!next || n > max)
			return n;
		*next = '\0';
		s = next + 1;
	}
}

static int
campaign_name(const struct ds_gen_opts *o, struct ds_gen_campaign_spec *c, const char *opt,
	      const char *val, const char *v)
{
	size_t len = strlen(v), i;
	unsigned int j;

	if (len == 0 || len > DS_GEN_CAMPAIGN_NAME_MAX || strspn(v,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != len)
		return bad(opt, val, "name= of 1 to 32 letters, digits, '_', '.' or '-'");
	for (j = 0; j < o->n_campaign; j++)
		if (strcmp(o->campaign[j].name, v) == 0)
			return bad(opt, val, "a name= that no other --campaign has");
	for (i = 0; i <= len; i++)
		c->name[i] = v[i];
	return 0;
}

static int
campaign_window(const struct ds_gen_opts *o, struct ds_gen_campaign_spec *c, const char *opt,
		const char *val, const char *v)
{
	uint64_t w;
	unsigned int j;

	/* 0 is the window of the backscatter's RSTs, so it cannot mark a campaign. */
	if (!parse_in(v, 1, 65535, &w))
		return bad(opt, val, "window= from 1 to 65535");
	for (j = 0; j < o->n_campaign; j++)
		if (o->campaign[j].window == w)
			return bad(opt, val, "a window= that no other --campaign has");
	c->window = (uint16_t)w;
	return 0;
}

static int
campaign_sources(struct ds_gen_campaign_spec *c, const char *opt, const char *val, char *v)
{
	char *part[2 * DS_GEN_CAMPAIGN_MAX_CC + 1], msg[128];
	unsigned int n = split(v, ':', part, 2 * DS_GEN_CAMPAIGN_MAX_CC), i, j;

	if (n % 2 || n > 2 * DS_GEN_CAMPAIGN_MAX_CC)
		return bad(opt, val, "sources=CC:N[:CC:N...] with 1 to 32 countries");
	for (i = 0; i < n / 2; i++) {
		const char *cc = part[2 * i];
		uint64_t num;

		if (strlen(cc) != 2 || !((cc[0] | 0x20) >= 'a' && (cc[0] | 0x20) <= 'z') ||
		    !((cc[1] | 0x20) >= 'a' && (cc[1] | 0x20) <= 'z')) {
			snprintf(msg, sizeof(msg), "sources= country codes of two letters such "
				 "as JP, not '%.8s'", cc);
			return bad(opt, val, msg);
		}
		c->cc[i][0] = (char)(cc[0] & ~0x20);
		c->cc[i][1] = (char)(cc[1] & ~0x20);
		c->cc[i][2] = '\0';
		for (j = 0; j < i; j++)
			if (strcmp(c->cc[i], c->cc[j]) == 0) {
				snprintf(msg, sizeof(msg), "sources= naming each country once, "
					 "not %s twice", c->cc[i]);
				return bad(opt, val, msg);
			}
		if (!parse_in(part[2 * i + 1], 1, DS_GEN_CAMPAIGN_MAX_N, &num)) {
			snprintf(msg, sizeof(msg), "sources= counts from 1 to %" PRIu32
				 " per country, not %s:'%.12s'", DS_GEN_CAMPAIGN_MAX_N, c->cc[i],
				 part[2 * i + 1]);
			return bad(opt, val, msg);
		}
		c->sources[i] = (uint32_t)num;
	}
	c->n_cc = n / 2;
	return 0;
}

static int
campaign_dports(struct ds_gen_campaign_spec *c, const char *opt, const char *val, char *v)
{
	char *part[DS_GEN_CAMPAIGN_MAX_DPORTS + 1];
	unsigned int n = split(v, ':', part, DS_GEN_CAMPAIGN_MAX_DPORTS), i;

	if (n > DS_GEN_CAMPAIGN_MAX_DPORTS)
		return bad(opt, val, "dports= of at most 16 ports");
	for (i = 0; i < n; i++) {
		uint64_t port;

		if (!parse_in(part[i], 1, 65535, &port))
			return bad(opt, val, "dports=P1[:P2...] with ports from 1 to 65535");
		c->dports[i] = (uint16_t)port;
	}
	c->n_dports = n;
	return 0;
}

static int
opt_campaign(struct ds_gen_opts *o, const char *opt, const char *val)
{
	struct ds_gen_campaign_spec *c = &o->campaign[o->n_campaign];
	char buf[1024], *item[CKEY_N + 1], msg[160];
	bool have[CKEY_N] = { false };
	unsigned int n, i, k;
	uint64_t v = 0;
	int ret;

	if (o->n_campaign == DS_GEN_MAX_CAMPAIGNS)
		return bad(opt, val, "at most 8 campaigns");
	if (strlen(val) >= sizeof(buf))
		return bad(opt, val, "a campaign of at most 1023 characters");
	memset(c, 0, sizeof(*c));
	c->spec = val;
	strcpy(buf, val);
	n = split(buf, ',', item, CKEY_N);
	if (n > CKEY_N)
		return bad(opt, val, "each of name=, window=, sources=, packets=, dports= once");
	for (i = 0; i < n; i++) {
		char *eq = strchr(item[i], '=');

		for (k = 0; eq && k < CKEY_N; k++)
			if ((size_t)(eq - item[i]) == strlen(campaign_keys[k]) &&
			    strncmp(item[i], campaign_keys[k], (size_t)(eq - item[i])) == 0)
				break;
		if (!eq || k == CKEY_N) {
			snprintf(msg, sizeof(msg), "key=value items with the keys name, window, "
				 "sources, packets, dports, not '%.24s'", item[i]);
			return bad(opt, val, msg);
		}
		if (have[k]) {
			snprintf(msg, sizeof(msg), "%s= once", campaign_keys[k]);
			return bad(opt, val, msg);
		}
		have[k] = true;
		switch (k) {
		case CKEY_NAME:
			ret = campaign_name(o, c, opt, val, eq + 1);
			break;
		case CKEY_WINDOW:
			ret = campaign_window(o, c, opt, val, eq + 1);
			break;
		case CKEY_SOURCES:
			ret = campaign_sources(c, opt, val, eq + 1);
			break;
		case CKEY_PACKETS:
			ret = parse_in(eq + 1, 1, DS_GEN_CAMPAIGN_MAX_P, &v) ? 0 :
			      bad(opt, val, "packets= (per source and day) from 1 to 65536");
			c->packets = (uint32_t)v;
			break;
		default:
			ret = campaign_dports(c, opt, val, eq + 1);
			break;
		}
		if (ret)
			return ret;
	}
	for (k = 0; k < CKEY_DPORTS; k++)
		if (!have[k]) {
			snprintf(msg, sizeof(msg), "name=, window=, sources= and packets= "
				 "(%s= is missing)", campaign_keys[k]);
			return bad(opt, val, msg);
		}
	/* Telnet, the port home-router botnets scan for first. */
	if (!have[CKEY_DPORTS]) {
		c->n_dports = 1;
		c->dports[0] = 23;
	}
	o->n_campaign++;
	return 0;
}

/*
 * --ports PORT:W[,PORT:W...] and --countries CC:W[,CC:W...] (and their
 * -after forms): a list of keys with relative weights. Like --campaign, a
 * mistake is reported against the whole argument, with the entry at fault
 * quoted in the expectation.
 */
static int
weights_split(const char *opt, const char *val, char *buf, size_t size, char **item,
	      unsigned int max, unsigned int *n_out, const char *what)
{
	char msg[160];
	unsigned int n;

	if (strlen(val) >= size)
		return bad(opt, val, "a list of at most 1023 characters");
	strcpy(buf, val);
	n = split(buf, ',', item, max);
	if (n > max) {
		snprintf(msg, sizeof(msg), "at most %u %s", max, what);
		return bad(opt, val, msg);
	}
	*n_out = n;
	return 0;
}

/*
 * "KEY:W" into a copy of the key (the item stays whole for messages) and a
 * weight 1..DS_GEN_SPEC_WEIGHT_MAX; false on a bad item.
 */
static bool
weight_item(const char *item, char *key, size_t size, uint64_t *w)
{
	const char *colon = strchr(item, ':');

	if (!colon || (size_t)(colon - item) >= size)
		return false;
	memcpy(key, item, (size_t)(colon - item));
	key[colon - item] = '\0';
	return parse_in(colon + 1, 1, DS_GEN_SPEC_WEIGHT_MAX, w);
}

static int
ports_spec(struct ds_gen_phase_spec *ph, const char *opt, const char *val)
{
	char buf[1024], *item[DS_GEN_MAX_SPEC_PORTS + 1], key[8], msg[160];
	unsigned int n, i, j;
	uint64_t port, w;
	int ret;

	if (ph->ports_arg)
		return bad(opt, val, "the option once");
	ret = weights_split(opt, val, buf, sizeof(buf), item, DS_GEN_MAX_SPEC_PORTS, &n, "ports");
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (!weight_item(item[i], key, sizeof(key), &w) ||
		    !parse_in(key, 1, 65535, &port)) {
			snprintf(msg, sizeof(msg), "PORT:WEIGHT items such as 23:30, ports 1 to "
				 "65535 and weights 1 to %u, not '%.24s'", DS_GEN_SPEC_WEIGHT_MAX,
				 item[i]);
			return bad(opt, val, msg);
		}
		for (j = 0; j < i; j++)
			if (ph->ports[j].value == port) {
				snprintf(msg, sizeof(msg), "each port once, not %" PRIu64 " twice",
					 port);
				return bad(opt, val, msg);
			}
		ph->ports[i] = (struct ds_gen_weight){ (uint32_t)port, (uint32_t)w };
	}
	ph->n_ports = n;
	ph->ports_arg = val;
	return 0;
}

static int
countries_spec(struct ds_gen_phase_spec *ph, const char *opt, const char *val)
{
	char buf[1024], *item[DS_GEN_MAX_SPEC_CC + 1], key[4], msg[160];
	unsigned int n, i, j;
	uint64_t w;
	int ret;

	if (ph->countries_arg)
		return bad(opt, val, "the option once");
	ret = weights_split(opt, val, buf, sizeof(buf), item, DS_GEN_MAX_SPEC_CC, &n,
			    "countries");
	if (ret)
		return ret;
	for (i = 0; i < n; i++) {
		if (!weight_item(item[i], key, sizeof(key), &w) || strlen(key) != 2 ||
		    !((key[0] | 0x20) >= 'a' && (key[0] | 0x20) <= 'z') ||
		    !((key[1] | 0x20) >= 'a' && (key[1] | 0x20) <= 'z')) {
			snprintf(msg, sizeof(msg), "CC:WEIGHT items such as JP:10, two-letter "
				 "country codes and weights 1 to %u, not '%.24s'",
				 DS_GEN_SPEC_WEIGHT_MAX, item[i]);
			return bad(opt, val, msg);
		}
		ph->cc[i][0] = (char)(key[0] & ~0x20);
		ph->cc[i][1] = (char)(key[1] & ~0x20);
		ph->cc[i][2] = '\0';
		for (j = 0; j < i; j++)
			if (strcmp(ph->cc[i], ph->cc[j]) == 0) {
				snprintf(msg, sizeof(msg), "each country once, not %s twice",
					 ph->cc[i]);
				return bad(opt, val, msg);
			}
		ph->cc_weight[i] = (uint32_t)w;
	}
	ph->n_cc = n;
	ph->countries_arg = val;
	return 0;
}

static int
opt_ports(struct ds_gen_opts *o, const char *opt, const char *val)
{
	o->phased = true;
	return ports_spec(&o->phase[0], opt, val);
}

static int
opt_ports_after(struct ds_gen_opts *o, const char *opt, const char *val)
{
	o->phased = true;
	return ports_spec(&o->phase[1], opt, val);
}

static int
opt_countries(struct ds_gen_opts *o, const char *opt, const char *val)
{
	o->phased = true;
	return countries_spec(&o->phase[0], opt, val);
}

static int
opt_countries_after(struct ds_gen_opts *o, const char *opt, const char *val)
{
	o->phased = true;
	return countries_spec(&o->phase[1], opt, val);
}

/*
 * The options as a table, parsed by hand rather than by getopt_long(): getopt
 * prints messages of its own and accepts abbreviations, while a user mistake
 * here must give exactly one line that names the option, the value and what
 * was expected, and exit 2.
 */
struct option_def {
	const char *name;
	bool has_value;
	int (*set)(struct ds_gen_opts *o, const char *opt, const char *val);
};

static const struct option_def option_defs[] = {
	{ "--out", true, opt_out },
	{ "--prefix", true, opt_prefix },
	{ "--prefix6", true, opt_prefix6 },
	{ "--start", true, opt_start },
	{ "--duration", true, opt_duration },
	{ "--packets", true, opt_packets },
	{ "--seed", true, opt_seed },
	{ "--nanosecond", false, opt_nanosecond },
	{ "--outside-share", true, opt_outside },
	{ "--truth", true, opt_truth },
	{ "--campaign", true, opt_campaign },
	{ "--country-ranges", true, opt_ranges },
	{ "--spray", false, opt_spray },
	{ "--ports", true, opt_ports },
	{ "--countries", true, opt_countries },
	{ "--switch-at", true, opt_switch_at },
	{ "--ports-after", true, opt_ports_after },
	{ "--countries-after", true, opt_countries_after },
};

static void
default_opts(struct ds_gen_opts *o)
{
	static const uint8_t d5[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0xd5 };

	memset(o, 0, sizeof(*o));
	o->prefix[0] = (struct ds_gen_prefix4){ 0xc6120000, 16 };      /* 198.18.0.0/16 */
	o->prefix[1] = (struct ds_gen_prefix4){ 0xc6130000, 16 };      /* 198.19.0.0/16 */
	o->n_prefix = 2;
	memcpy(o->prefix6.addr, d5, 16);
	o->prefix6.len = 48;
	o->start_s = (uint64_t)ds_civil_to_days(2024, 5, 20) * 86400;
	o->duration_s = 600;
	o->packets = 100000;
	o->seed = 1;
	o->outside_share = 0.01;
}

/* What the campaigns need of the rest of the command line, and their size. */
static int
check_campaigns(const struct ds_gen_opts *o)
{
	uint64_t days, day_packets = 0, sources = 0;
	unsigned int c, i;

	if (o->n_campaign == 0)
		return 0;
	if (!o->ranges_path) {
		fprintf(stderr, PROG ": --campaign: expected --country-ranges FILE as well "
			"(the countries' addresses come from it)\n");
		return -EINVAL;
	}
	days = (o->start_s + o->duration_s - 1) / 86400 - o->start_s / 86400 + 1;
	for (c = 0; c < o->n_campaign; c++) {
		uint64_t n = 0;

		for (i = 0; i < o->campaign[c].n_cc; i++)
			n += o->campaign[c].sources[i];
		day_packets += n * o->campaign[c].packets;
		sources += n * days;
	}
	if (day_packets > DS_GEN_CAMPAIGN_MAX_DAY_PACKETS ||
	    sources > DS_GEN_CAMPAIGN_MAX_SOURCES) {
		fprintf(stderr, PROG ": --campaign: expected at most %" PRIu64 " campaign "
			"packets a day and %" PRIu64 " campaign sources over the %" PRIu64
			" UTC days of the capture, not %" PRIu64 " and %" PRIu64 "\n",
			DS_GEN_CAMPAIGN_MAX_DAY_PACKETS, DS_GEN_CAMPAIGN_MAX_SOURCES, days,
			day_packets, sources);
		return -EINVAL;
	}
	return 0;
}

/*
 * What the weight options need of each other and of the rest of the command
 * line. A phase-1 weight that is not given is phase 0's, so that the
 * model sees two complete phases whenever there is a switch.
 */
static int
check_phases(struct ds_gen_opts *o)
{
	struct ds_gen_phase_spec *before = &o->phase[0], *after = &o->phase[1];
	const char *after_opt = after->ports_arg ? "--ports-after" : "--countries-after";

	if (!o->phased)
		return 0;
	if (o->spray) {
		fprintf(stderr, PROG ": --spray: expected no --ports, --countries or --switch-at "
			"(the spray draws its sources and ports uniformly)\n");
		return -EINVAL;
	}
	if ((after->ports_arg || after->countries_arg) && !o->switch_arg) {
		fprintf(stderr, PROG ": %s: expected --switch-at TIME as well (when the weights "
			"change)\n", after_opt);
		return -EINVAL;
	}
	if (o->switch_arg && !after->ports_arg && !after->countries_arg) {
		fprintf(stderr, PROG ": --switch-at: expected --ports-after or --countries-after "
			"as well (the weights from then on)\n");
		return -EINVAL;
	}
	if (after->countries_arg && !before->countries_arg) {
		fprintf(stderr, PROG ": --countries-after: expected --countries as well (the "
			"source countries before the switch)\n");
		return -EINVAL;
	}
	if (before->countries_arg && !o->ranges_path) {
		fprintf(stderr, PROG ": --countries: expected --country-ranges FILE as well (the "
			"countries' addresses come from it)\n");
		return -EINVAL;
	}
	if (o->switch_arg && (o->switch_s <= o->start_s ||
			      o->switch_s >= o->start_s + o->duration_s))
		return bad("--switch-at", o->switch_arg, "a time after --start and before the end "
			   "of the capture (--start plus --duration)");
	if (!after->ports_arg) {
		after->n_ports = before->n_ports;
		memcpy(after->ports, before->ports, sizeof(after->ports));
	}
	if (!after->countries_arg) {
		after->n_cc = before->n_cc;
		memcpy(after->cc, before->cc, sizeof(after->cc));
		memcpy(after->cc_weight, before->cc_weight, sizeof(after->cc_weight));
	}
	return 0;
}

/* 0 to run, 1 for --help, -EINVAL after printing the reason. */
static int
parse_args(struct ds_gen_opts *o, int argc, char **argv)
{
	int i, ret_phases;

	default_opts(o);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *val = NULL;
		const struct option_def *d = NULL;
		size_t n, j;
		int ret;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
			return 1;
		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr, PROG ": unexpected argument '%s' (try --help)\n", arg);
			return -EINVAL;
		}
		/* "--name=value" or "--name value". */
		eq = strchr(arg, '=');
		n = eq ? (size_t)(eq - arg) : strlen(arg);
		for (j = 0; j < sizeof(option_defs) / sizeof(option_defs[0]); j++)
			if (strlen(option_defs[j].name) == n &&
			    strncmp(option_defs[j].name, arg, n) == 0)
				d = &option_defs[j];
		if (!d) {
			fprintf(stderr, PROG ": unknown option '%.*s': expected one of",
				(int)n, arg);
			for (j = 0; j < sizeof(option_defs) / sizeof(option_defs[0]); j++)
				fprintf(stderr, " %s", option_defs[j].name);
			fprintf(stderr, " --help\n");
			return -EINVAL;
		}
		if (d->has_value) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			if (!val) {
				fprintf(stderr, PROG ": %s: expected a value\n", d->name);
				return -EINVAL;
			}
		} else if (eq) {
			fprintf(stderr, PROG ": %s: takes no value\n", d->name);
			return -EINVAL;
		}
		ret = d->set(o, d->name, val);
		if (ret)
			return ret;
	}
	if (!o->out_path) {
		fprintf(stderr, PROG ": --out: required (a file name, or - for stdout)\n");
		return -EINVAL;
	}
	if (o->truth_path && strcmp(o->truth_path, "-") == 0 && strcmp(o->out_path, "-") == 0) {
		fprintf(stderr,
			PROG ": --truth '-': expected a file name, stdout carries the pcap\n");
		return -EINVAL;
	}
	if (o->start_s + o->duration_s > PCAP_MAX_SECONDS) {
		fprintf(stderr, PROG ": --duration: expected the capture to end before "
			"2106-02-07T06:28:16Z (32-bit pcap seconds)\n");
		return -EINVAL;
	}
	ret_phases = check_phases(o);
	if (ret_phases)
		return ret_phases;
	return check_campaigns(o);
}

/* ---- output ----------------------------------------------------------- */

struct out {
	int fd;
	uint8_t *buf;
	size_t len;
};

/* write(2) may take less than asked (pipes, signals): loop until all is out. */
static int
out_flush(struct out *o)
{
	size_t done = 0;

	while (done < o->len) {
		ssize_t n = write(o->fd, o->buf + done, o->len - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	o->len = 0;
	return 0;
}

static void
le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
le32(uint8_t *p, uint32_t v)
{
	le16(p, (uint16_t)v);
	le16(p + 2, (uint16_t)(v >> 16));
}

static void
pcap_file_header(struct out *o, bool ns)
{
	uint8_t *h = o->buf + o->len;

	le32(h, ns ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
	le16(h + 4, 2);                 /* version 2.4 */
	le16(h + 6, 4);
	le32(h + 8, 0);                 /* thiszone: UTC */
	le32(h + 12, 0);                /* sigfigs */
	le32(h + 16, PCAP_SNAPLEN);     /* above any frame we write: caplen == len */
	le32(h + 20, PCAP_LINKTYPE_ETHERNET);
	o->len += PCAP_FILE_HDR;
}

/* Ethernet header and tags; the ethertype follows from the IP version. */
static void
put_l2(uint8_t *f, enum ds_gen_tags tags, uint8_t ip_version)
{
	uint16_t type = ip_version == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4;

	memcpy(f, mac_sensor, 6);
	memcpy(f + 6, mac_router, 6);
	switch (tags) {
	case DS_GEN_QINQ:
		ds_gen_put16(f + 12, ETHERTYPE_QINQ);
		ds_gen_put16(f + 14, VLAN_OUTER_VID);
		ds_gen_put16(f + 16, ETHERTYPE_VLAN);
		ds_gen_put16(f + 18, VLAN_INNER_VID);
		ds_gen_put16(f + 20, type);
		break;
	case DS_GEN_VLAN:
		ds_gen_put16(f + 12, ETHERTYPE_VLAN);
		ds_gen_put16(f + 14, VLAN_INNER_VID);
		ds_gen_put16(f + 16, type);
		break;
	default:
		ds_gen_put16(f + 12, type);
		break;
	}
}

/* ---- the clock -------------------------------------------------------- */

struct clock {
	struct ds_gen_rng rng;
	double t;                       /* last instant, as a fraction of the span */
	uint64_t left;                  /* instants still to draw */
	uint64_t start_ns;
	uint64_t span_ns;
};

static uint64_t
clock_next(struct clock *c)
{
	double v = ds_gen_rng_open01(&c->rng);
	uint64_t off;

	/* 1 - V^(1/m) computed as -expm1(log(V)/m), exact for large m. */
	c->t += (1.0 - c->t) * -expm1(log(v) / (double)c->left);
	c->left--;
	off = (uint64_t)(c->t * (double)c->span_ns);
	if (off >= c->span_ns)
		off = c->span_ns - 1;
	return c->start_ns + off;
}

/* ---- the run ---------------------------------------------------------- */

/*
 * Source first + floor(n * u^2) of the n from first: low indexes are picked
 * more often (heavy hitters). The whole pool, or one country's sub-pool.
 */
static uint32_t
pick_source(struct ds_gen_pool *p, uint32_t first, uint32_t n, struct ds_gen_rng *r)
{
	uint64_t u = ds_gen_rng_u32(r);
	uint32_t i = first + (uint32_t)(((uint64_t)n * ((u * u) >> 32)) >> 32);

	p->used[i / 64] |= UINT64_C(1) << (i % 64);
	return i;
}

/* The kinds' mix: the kind table and the thresholds of the per-packet chances. */
struct mix {
	struct ds_gen_table kinds;
	uint32_t outside_p;
	uint32_t qinq_p;
	uint32_t tagged_p;
};

/*
 * The kind's packet: kind, source country (only with --countries, IPv4
 * kinds), source, outside and tags are drawn in this order from the packet
 * stream. The order of the draws is part of the output: changing it changes
 * every file a given seed produces.
 */
static size_t
build_kind(struct ds_gen *g, const struct mix *m, struct ds_gen_pkt *p, uint8_t *frame,
	   unsigned int *kind_out, enum ds_gen_tags *tags_out)
{
	const struct ds_gen_kind *kind;
	struct ds_gen_source *src;
	struct ds_gen_pool *pool;
	enum ds_gen_tags tags;
	unsigned int k;
	size_t l2_len;
	uint32_t r;

	k = ds_gen_table_pick(&m->kinds, &g->rng);
	kind = &ds_gen_kinds[k];
	pool = &g->pool[k];
	/* The builder reads the phase (scan ports): the packet's time decides it. */
	g->phase = p->ts_ns >= g->switch_ns;
	if (pool->sub_first) {
		uint32_t u = ds_gen_table_pick(&g->cc_table[g->phase], &g->rng);

		src = &pool->src[pick_source(pool, pool->sub_first[u],
					     pool->sub_first[u + 1] - pool->sub_first[u],
					     &g->rng)];
		g->pkt_cc = (int)g->src_cc[u];
	} else {
		src = &pool->src[pick_source(pool, 0, pool->n, &g->rng)];
		g->pkt_cc = -1;
	}
	p->outside = ds_gen_rng_chance(&g->rng, m->outside_p);
	r = ds_gen_rng_u32(&g->rng);
	tags = r < m->qinq_p ? DS_GEN_QINQ : r < m->tagged_p ? DS_GEN_VLAN : DS_GEN_UNTAGGED;
	l2_len = 14 + 4 * (size_t)tags;
	p->l3 = frame + l2_len;
	*kind_out = k;
	*tags_out = tags;
	return l2_len + kind->build(g, kind, src, p);
}

/*
 * The loop merges two time-ordered streams: the --packets instants of the
 * clock (each one a kind's packet, or a spray packet) and the campaign
 * packets, drawn one UTC day at a time and sorted. The clock's next instant
 * is drawn ahead, from its own stream, so looking at it changes nothing.
 * A campaign packet goes first when it is not later than that instant, so
 * the timestamps never decrease.
 */
static int
run(struct ds_gen *g, struct ds_gen_truth *truth, struct out *o)
{
	const struct ds_gen_opts *opt = &g->opt;
	struct ds_gen_weight w[DS_GEN_MAX_KINDS];
	struct mix m = {
		.outside_p = ds_gen_p32(opt->outside_share),
		.qinq_p = ds_gen_p32(QINQ_SHARE),
		.tagged_p = ds_gen_p32(QINQ_SHARE + VLAN_SHARE),
	};
	struct clock clk = {
		.left = opt->packets,
		.start_ns = opt->start_s * 1000000000,
		.span_ns = opt->duration_s * 1000000000,
	};
	uint64_t i = 0, next_ns, day = 0;
	size_t ev_i = 0, ev_n = 0;
	unsigned int k;
	int ret;

	ds_gen_rng_seed(&clk.rng, opt->seed, DS_GEN_STREAM_CLOCK);
	/* Shares to integer weights in millionths: the table picks with one draw. */
	for (k = 0; k < ds_gen_n_kinds; k++)
		w[k] = (struct ds_gen_weight){ k, (uint32_t)lround(ds_gen_kinds[k].share * 1e6) };
	ret = ds_gen_table_init(&m.kinds, w, ds_gen_n_kinds);
	if (ret)
		return ret;

	pcap_file_header(o, opt->nanosecond);
	next_ns = clock_next(&clk);
	for (;;) {
		const struct ds_gen_event *e = NULL;
		uint8_t *rec, *frame;
		struct ds_gen_pkt p;
		enum ds_gen_tags tags = DS_GEN_UNTAGGED;
		uint32_t sec, frac;
		uint64_t written_ns;
		size_t len;

		/* The next day's campaign packets once the last day's are out. */
		while (ev_i == ev_n && day < g->n_days) {
			ev_n = ds_gen_campaign_day(g, day++);
			ev_i = 0;
		}
		if (i == opt->packets && ev_i == ev_n)
			break;

		/* The frame is built in place, so first make room for the largest. */
		if (OUT_BUF_SIZE - o->len < REC_MAX) {
			ret = out_flush(o);
			if (ret)
				return ret;
		}
		rec = o->buf + o->len;
		frame = rec + PCAP_REC_HDR;

		if (ev_i < ev_n && (i == opt->packets || g->events[ev_i].ts_ns <= next_ns)) {
			/* Campaign packets are untagged and always reach the darknet. */
			e = &g->events[ev_i++];
			p.ts_ns = e->ts_ns;
			p.outside = false;
			p.l3 = frame + 14;
			k = DS_GEN_KIND_CAMPAIGN;
			g->pkt_cc = (int)g->camp[e->campaign].country[e->cc];
			len = 14 + ds_gen_campaign_build(g, e, &p);
		} else {
			p.ts_ns = next_ns;
			if (opt->spray) {
				p.outside = false;
				p.l3 = frame + 14;
				k = DS_GEN_KIND_SPRAY;
				g->pkt_cc = -1;
				len = 14 + ds_gen_spray_build(g, &p);
			} else {
				len = build_kind(g, &m, &p, frame, &k, &tags);
			}
			if (++i < opt->packets)
				next_ns = clock_next(&clk);
		}
		put_l2(frame, tags, p.l3[0] >> 4);
		/* A NIC pads short frames with zeros; the FCS is not captured. */
		if (len < DS_GEN_FRAME_MIN) {
			memset(frame + len, 0, DS_GEN_FRAME_MIN - len);
			len = DS_GEN_FRAME_MIN;
		}

		/* Truncate to the file's resolution; the truth gets the value as written. */
		sec = (uint32_t)(p.ts_ns / 1000000000);
		frac = (uint32_t)(p.ts_ns % 1000000000);
		if (!opt->nanosecond)
			frac /= 1000;
		le32(rec, sec);
		le32(rec + 4, frac);
		le32(rec + 8, (uint32_t)len);
		le32(rec + 12, (uint32_t)len);
		o->len += PCAP_REC_HDR + len;

		written_ns = (uint64_t)sec * 1000000000 + (opt->nanosecond ? frac : frac * 1000ull);
		ds_gen_truth_count(truth, g, k, tags, p.l3, len, written_ns);
		if (e)
			ds_gen_truth_campaign(truth, g, e, written_ns);
	}
	return out_flush(o);
}

/* Exit 0 on success and for --help, 2 for a bad command line, 1 for any other failure. */
int
main(int argc, char **argv)
{
	struct ds_gen *g = calloc(1, sizeof(*g));
	struct ds_gen_truth *truth = calloc(1, sizeof(*truth));
	struct out o = { .fd = -1, .buf = malloc(OUT_BUF_SIZE) };
	const char *what = "out of memory";
	unsigned int i;
	int ret = -ENOMEM, status = EXIT_FAILURE;

	if (!g || !truth || !o.buf)
		goto fail;
	ret = parse_args(&g->opt, argc, argv);
	if (ret) {
		if (ret > 0)
			usage(stdout);
		status = ret > 0 ? EXIT_SUCCESS : EXIT_USAGE;
		goto out;
	}

	/* Destinations number the prefixes' addresses 0 .. space4-1 in order. */
	for (i = 0; i < g->opt.n_prefix; i++) {
		g->space4 += UINT64_C(1) << (32 - g->opt.prefix[i].len);
		g->prefix_end[i] = g->space4;
	}
	ds_gen_rng_seed(&g->pool_rng, g->opt.seed, DS_GEN_STREAM_POOLS);
	ds_gen_rng_seed(&g->rng, g->opt.seed, DS_GEN_STREAM_PACKETS);
	g->switch_ns = g->opt.switch_arg ? g->opt.switch_s * 1000000000 : UINT64_MAX;
	g->pkt_cc = -1;
	/*
	 * The ranges file belongs to the command line: its mistakes (already
	 * reported in one line) exit 2 like any other, before anything is
	 * written; so does a --countries country with too few addresses for its
	 * sources. The file is read first because the pools draw from it; the
	 * two use separate random streams, so the order changes no byte.
	 */
	what = "campaigns";
	ret = ds_gen_campaign_init(g);
	if (ret == -EINVAL) {
		status = EXIT_USAGE;
		goto out;
	}
	if (ret)
		goto fail;
	what = "source pools";
	ret = ds_gen_model_init(g);
	if (ret == -EINVAL) {
		status = EXIT_USAGE;
		goto out;
	}
	if (ret)
		goto fail;
	what = "truth counters";
	ret = ds_gen_truth_init(truth, g);
	if (ret)
		goto fail;

	what = g->opt.out_path;
	if (strcmp(g->opt.out_path, "-") == 0)
		o.fd = STDOUT_FILENO;
	else
		o.fd = open(g->opt.out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o.fd < 0) {
		ret = -errno;
		goto fail;
	}
	/* The truth file is written only once the whole pcap is out. */
	ret = run(g, truth, &o);
	if (ret)
		goto fail;
	if (o.fd != STDOUT_FILENO && close(o.fd) != 0) {
		o.fd = -1;
		ret = -errno;
		goto fail;
	}
	o.fd = -1;

	if (g->opt.truth_path) {
		what = g->opt.truth_path;
		ret = ds_gen_truth_write(truth, g, g->opt.truth_path);
		if (ret)
			goto fail;
	}
	status = EXIT_SUCCESS;
	goto out;

fail:
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(-ret));
out:
	if (o.fd >= 0 && o.fd != STDOUT_FILENO)
		close(o.fd);
	if (g)
		ds_gen_model_free(g);
	free(o.buf);
	if (truth)
		ds_gen_truth_free(truth);
	free(truth);
	free(g);
	return status;
}
