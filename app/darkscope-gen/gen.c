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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "gen.h"

#define PROG "darkscope-gen"

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

/* Random streams: one per purpose, see gen.h. */
enum rng_stream {
	STREAM_CLOCK,
	STREAM_POOLS,
	STREAM_PACKETS,
};

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
static int
parse_u64(const char *s, uint64_t *out)
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

/* Exactly n digits at *p. */
static int
digits(const char **p, int n, unsigned int *out)
{
	unsigned int v = 0;

	for (; n > 0; n--, (*p)++) {
		if (**p < '0' || **p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(**p - '0');
	}
	*out = v;
	return 0;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t
days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
opt_start(struct ds_gen_opts *o, const char *opt, const char *val)
{
	static const unsigned int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	const char *p = val;
	unsigned int y, mo, d, h = 0, mi = 0, s = 0;
	bool leap;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		goto fail;
	if (*p == 'T') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
		    digits(&p, 2, &s))
			goto fail;
		if (*p == 'Z')
			p++;
	}
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || s > 59)
		goto fail;
	o->start_s = (uint64_t)days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
	return 0;
fail:
	return bad(opt, val, "a UTC time YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD, from 1970");
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
	if (parse_u64(num, &v) || v == 0 || v > PCAP_MAX_SECONDS / mult)
		goto fail;
	o->duration_s = v * mult;
	return 0;
fail:
	return bad(opt, val, "a positive duration such as 90s, 10m, 2h or 3d");
}

static int
opt_packets(struct ds_gen_opts *o, const char *opt, const char *val)
{
	if (parse_u64(val, &o->packets) || o->packets == 0 || o->packets > DS_GEN_MAX_PACKETS)
		return bad(opt, val, "a whole number of packets from 1 to 1099511627776");
	return 0;
}

static int
opt_seed(struct ds_gen_opts *o, const char *opt, const char *val)
{
	if (parse_u64(val, &o->seed))
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

	if (!slash || (size_t)(slash - val) >= size || parse_u64(slash + 1, &l) || l > 128 ||
	    slash[1] == '\0' || strlen(slash + 1) > 3)
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
	o->start_s = (uint64_t)days_from_civil(2024, 5, 20) * 86400;
	o->duration_s = 600;
	o->packets = 100000;
	o->seed = 1;
	o->outside_share = 0.01;
}

/* 0 to run, 1 for --help, -EINVAL after printing the reason. */
static int
parse_args(struct ds_gen_opts *o, int argc, char **argv)
{
	int i;

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
	return 0;
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

/* Source floor(n * u^2): low indexes are picked more often (heavy hitters). */
static uint32_t
pick_source(struct ds_gen_pool *p, struct ds_gen_rng *r)
{
	uint64_t u = ds_gen_rng_u32(r);
	uint32_t i = (uint32_t)(((uint64_t)p->n * ((u * u) >> 32)) >> 32);

	p->used[i / 64] |= UINT64_C(1) << (i % 64);
	return i;
}

static int
run(struct ds_gen *g, struct ds_gen_truth *truth, struct out *o)
{
	const struct ds_gen_opts *opt = &g->opt;
	struct ds_gen_weight w[DS_GEN_MAX_KINDS];
	struct ds_gen_table kinds;
	struct clock clk = {
		.left = opt->packets,
		.start_ns = opt->start_s * 1000000000,
		.span_ns = opt->duration_s * 1000000000,
	};
	uint32_t outside_p = ds_gen_p32(opt->outside_share);
	uint32_t qinq_p = ds_gen_p32(QINQ_SHARE);
	uint32_t tagged_p = ds_gen_p32(QINQ_SHARE + VLAN_SHARE);
	unsigned int k;
	uint64_t i;
	int ret;

	ds_gen_rng_seed(&clk.rng, opt->seed, STREAM_CLOCK);
	/* Shares to integer weights in millionths: the table picks with one draw. */
	for (k = 0; k < ds_gen_n_kinds; k++)
		w[k] = (struct ds_gen_weight){ k, (uint32_t)lround(ds_gen_kinds[k].share * 1e6) };
	ret = ds_gen_table_init(&kinds, w, ds_gen_n_kinds);
	if (ret)
		return ret;

	pcap_file_header(o, opt->nanosecond);
	for (i = 0; i < opt->packets; i++) {
		uint8_t *rec, *frame;
		struct ds_gen_pkt p;
		const struct ds_gen_kind *kind;
		struct ds_gen_source *src;
		enum ds_gen_tags tags;
		uint32_t r, sec, frac;
		uint64_t written_ns;
		size_t l2_len, len;

		/* The frame is built in place, so first make room for the largest. */
		if (OUT_BUF_SIZE - o->len < REC_MAX) {
			ret = out_flush(o);
			if (ret)
				return ret;
		}
		rec = o->buf + o->len;
		frame = rec + PCAP_REC_HDR;

		/*
		 * The order of the draws is part of the output: changing it
		 * changes every file a given seed produces.
		 */
		k = ds_gen_table_pick(&kinds, &g->rng);
		kind = &ds_gen_kinds[k];
		src = &g->pool[k].src[pick_source(&g->pool[k], &g->rng)];
		p.ts_ns = clock_next(&clk);
		p.outside = ds_gen_rng_chance(&g->rng, outside_p);
		r = ds_gen_rng_u32(&g->rng);
		tags = r < qinq_p ? DS_GEN_QINQ : r < tagged_p ? DS_GEN_VLAN : DS_GEN_UNTAGGED;
		l2_len = 14 + 4 * (size_t)tags;
		p.l3 = frame + l2_len;

		len = l2_len + kind->build(g, kind, src, &p);
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
	ds_gen_rng_seed(&g->pool_rng, g->opt.seed, STREAM_POOLS);
	ds_gen_rng_seed(&g->rng, g->opt.seed, STREAM_PACKETS);
	what = "source pools";
	ret = ds_gen_model_init(g);
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
	free(truth);
	free(g);
	return status;
}
