/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Tests of the signatures, SYN fingerprints and watch rules (lib/sig), no EAL.
 *
 * Every packet is assembled as bytes (Ethernet, IPv4 or IPv6, TCP/UDP/ICMP)
 * from a struct spec that names each header field the case cares about, and
 * goes through the real decoder before it reaches lib/sig, so a test also
 * fails when the decoder and the signatures disagree about a field (byte
 * order, option list, later fragments).
 *
 * Suites, each a table:
 *  - bad arguments;
 *  - signatures: every signature on a positive example and its near misses,
 *    each case asserting the COMPLETE signature mask, so a rule that fires
 *    where it should not fails as surely as one that stays silent;
 *  - every TCP flags byte and every ICMP/ICMPv6 type against the rules
 *    evaluated one by one;
 *  - bogon edges: the first and last address of every special-purpose range
 *    and the addresses just outside, against a plain table walk written
 *    here from the lists in docs/SIGNATURES.md, then two million random
 *    addresses;
 *  - fingerprints and labels, with every truncation of the output buffer;
 *  - watch rules built by hand, each checked alone and inside one array of
 *    all rules (the bit must land at the rule's index), then 64 rules; the
 *    compiled rules (ds_watch_index_match()) against them on each case, and
 *    on two million random packets over random rule sets;
 *  - real captures (DS_SHARED_DATA), counted against figures an independent
 *    decoder (tshark) produced; skipped when the data is absent.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_config.h"
#include "ds_decode.h"
#include "ds_sig.h"

static int failures;

#define CHECK(cond, ...) do { \
	if (!(cond)) { \
		failures++; \
		printf("  FAIL %s:%d: ", __FILE__, __LINE__); \
		printf(__VA_ARGS__); \
		printf("\n"); \
	} \
} while (0)

#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- packets ---- */

/*
 * One packet, by its header fields. Zero is a real value for most fields
 * (port 0, no flags), so cases spell out every field they depend on through
 * the macros below instead of overriding a default.
 */
struct spec {
	uint8_t ipv;            /* 4 or 6 */
	uint8_t proto;          /* 6, 17, 1, 58 get a header; others carry zeros */
	uint32_t src4, dst4;
	uint8_t src6[16], dst6[16];
	uint8_t ttl;            /* TTL / hop limit */
	uint16_t ip_id;
	uint16_t frag;          /* IPv4 flags+offset word; IPv6 fragment header word */
	bool frag6;             /* IPv6: insert a fragment header */
	uint16_t sport, dport;
	uint32_t seq;
	uint8_t tcp_flags;
	uint16_t window;
	uint8_t opts[40];
	uint8_t optlen;         /* a multiple of 4 */
	uint8_t icmp_type;
	uint16_t payload;       /* zero bytes after the L4 header */
};

#define IP4(s, d, ttl_, id) .ipv = 4, .src4 = (s), .dst4 = (d), .ttl = (ttl_), .ip_id = (id)
#define IP6(s, d, hl) .ipv = 6, .src6 = s, .dst6 = d, .ttl = (hl)
#define TCP(sp, dp, sq, fl, win) \
	.proto = 6, .sport = (sp), .dport = (dp), .seq = (sq), .tcp_flags = (fl), .window = (win)
#define OPTS(...) .opts = {__VA_ARGS__}, .optlen = sizeof((const uint8_t[]){__VA_ARGS__})
#define UDP(sp, dp) .proto = 17, .sport = (sp), .dport = (dp)
#define ICMP4(t) .proto = 1, .icmp_type = (t)
#define ICMP6(t) .proto = 58, .icmp_type = (t)

/* 45.33.32.156 -> 131.243.1.2: neither is special-purpose or ends in .0/.255. */
#define S4 0x2d21209cu
#define D4 0x83f30102u
/* 2a01:4f8::7 -> 2600:1f18::1 */
#define S6 {0x2a, 0x01, 0x04, 0xf8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07}
#define D6 {0x26, 0x00, 0x1f, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}
#define D6_FIRST_BYTE {0x27, 0x00, 0x1f, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}
#define D6_LAST_BYTE {0x26, 0x00, 0x1f, 0x18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02}

#define SEQ 0x9e3779b9u         /* an ordinary initial sequence number */
#define ID 0x1111               /* an ordinary IP ID: not 54321, not masscan's */

/* masscan's IP ID, stated here from its source (see docs/SIGNATURES.md). */
#define MASSCAN_ID(d, dp, sq) ((uint16_t)(((d) ^ (dp) ^ (sq)) & 0xffff))

#define FIN DS_TCP_FIN
#define SYN DS_TCP_SYN
#define RST DS_TCP_RST
#define PSH DS_TCP_PSH
#define ACK DS_TCP_ACK
#define URG DS_TCP_URG
#define ECE DS_TCP_ECE
#define CWR DS_TCP_CWR

/* TCP options as senders lay them out. */
#define O_MSS1460 0x02, 0x04, 0x05, 0xb4
#define O_LINUX O_MSS1460, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x1a, 0x2b, 0x3c, 0, 0, 0, 0, \
	0x01, 0x03, 0x03, 0x07
#define O_WINDOWS O_MSS1460, 0x01, 0x03, 0x03, 0x08, 0x01, 0x01, 0x04, 0x02

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

#define FRAME_MAX 1600

/* Assemble the frame for s into f (FRAME_MAX bytes); returns its length. */
static uint32_t
build(const struct spec *s, uint8_t *f)
{
	static const uint8_t macs[12] = {0x02, 0, 0x5e, 0, 0, 1, 0x02, 0, 0x5e, 0, 0, 2};
	uint32_t hlen = 0, l3h, l4len;
	uint8_t *ip = f + 14, *l4;

	if (s->optlen % 4 != 0 || s->payload > 1400) {
		fprintf(stderr, "bad spec: optlen %u payload %u\n", s->optlen, s->payload);
		exit(1);
	}
	/* ICMP: type, code, checksum; the decoder counts the rest as payload. */
	if (s->proto == 6)
		hlen = 20u + s->optlen;
	else if (s->proto == 17)
		hlen = 8;
	else if (s->proto == 1 || s->proto == 58)
		hlen = 4;
	l4len = hlen + s->payload;
	memset(f, 0, FRAME_MAX);
	memcpy(f, macs, sizeof(macs));
	if (s->ipv == 4) {
		put16(f + 12, 0x0800);
		l3h = 20;
		ip[0] = 0x45;
		put16(ip + 2, (uint16_t)(l3h + l4len));
		put16(ip + 4, s->ip_id);
		put16(ip + 6, s->frag);
		ip[8] = s->ttl;
		ip[9] = s->proto;
		put32(ip + 12, s->src4);
		put32(ip + 16, s->dst4);
	} else {
		put16(f + 12, 0x86dd);
		l3h = s->frag6 ? 48 : 40;
		ip[0] = 0x60;
		put16(ip + 4, (uint16_t)(l3h - 40 + l4len));
		ip[6] = s->frag6 ? 44 : s->proto;
		ip[7] = s->ttl;
		memcpy(ip + 8, s->src6, 16);
		memcpy(ip + 24, s->dst6, 16);
		if (s->frag6) {
			ip[40] = s->proto;
			put16(ip + 42, s->frag);
			put32(ip + 44, 0xdeadbeef);
		}
	}
	l4 = ip + l3h;
	if (s->proto == 6) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4, s->seq);
		l4[12] = (uint8_t)(hlen / 4 << 4);
		l4[13] = s->tcp_flags;
		put16(l4 + 14, s->window);
		memcpy(l4 + 20, s->opts, s->optlen);
	} else if (s->proto == 17) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)(8 + s->payload));
	} else if (s->proto == 1 || s->proto == 58) {
		l4[0] = s->icmp_type;
	}
	return 14 + l3h + l4len;
}

/* Build and decode; a case whose frame does not decode is a broken test. */
static bool
decode_spec(const struct spec *s, struct ds_pkt *p)
{
	uint8_t f[FRAME_MAX];
	uint32_t len = build(s, f);
	enum ds_decode_result r = ds_decode(f, len, p);

	if (r != DS_DECODE_OK) {
		CHECK(0, "test frame does not decode: %s", ds_decode_result_name(r));
		return false;
	}
	return true;
}

static void
mask_names(uint64_t m, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; i < DS_SIG_MAX; i++)
		if (m & (UINT64_C(1) << i) && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "," : "",
						ds_sig_name((enum ds_sig)i));
	if (off == 0)
		snprintf(buf, len, "-");
}

/* ---- bad arguments ---- */

static void
test_bad_arguments(void)
{
	struct ds_watch_rule rule = {.fields = 0};
	struct ds_fingerprint fp = {.ttl_class = 64, .window = 1024};
	struct ds_pkt p = {.ip_version = 4};
	uint8_t kinds[] = {DS_TCPOPT_MSS};
	char buf[8] = "canary";

	printf("bad arguments\n");
	CHECK(strcmp(ds_sig_name(DS_SIG_MAX), "unknown") == 0, "DS_SIG_MAX has no name");
	CHECK(strcmp(ds_sig_name((enum ds_sig)-1), "unknown") == 0, "-1 has no name");
	CHECK(strcmp(ds_sig_name((enum ds_sig)1000), "unknown") == 0, "1000 has no name");
	/* A rule that matches everything still yields nothing when there are no rules. */
	CHECK(ds_watch_match(&rule, 0, &p) == 0, "n == 0 matches nothing");
	CHECK(ds_watch_match(&rule, 1, &p) == 1, "the same rule with n == 1 matches");
	CHECK(ds_watch_match(NULL, 3, &p) == 0, "NULL rules");
	CHECK(ds_watch_match(&rule, 1, NULL) == 0, "NULL packet");
	{
		struct ds_watch_index *x;

		errno = 0;
		CHECK(ds_watch_index_build(NULL, 3, 1) == NULL && errno == EINVAL,
		      "index of NULL rules");
		x = ds_watch_index_build(NULL, 0, UINT64_MAX);
		CHECK(x != NULL, "index of no rules: errno %d", errno);
		CHECK(ds_watch_index_match(x, &p) == 0, "no rules match nothing");
		ds_watch_index_free(x);
		x = ds_watch_index_build(&rule, 1, 1);
		CHECK(x != NULL && ds_watch_index_match(x, &p) == 1, "the empty rule indexed");
		CHECK(ds_watch_index_match(x, NULL) == 0, "index: NULL packet");
		CHECK(ds_watch_index_match(NULL, &p) == 0, "NULL index");
		ds_watch_index_free(x);
		ds_watch_index_free(NULL);
	}
	/* NULL buffer with len 0 is a length query, as for snprintf. */
	CHECK(ds_fingerprint_label(&fp, NULL, 0) == (int)strlen("64:1024:-:-:none"),
	      "NULL buffer, len 0: length needed");
	CHECK(ds_fingerprint_label(&fp, NULL, 5) == -EINVAL, "NULL buffer with len 5");
	CHECK(ds_fingerprint_label(NULL, buf, sizeof(buf)) == -EINVAL, "NULL fingerprint");
	CHECK(strcmp(buf, "canary") == 0, "rejected call wrote nothing");
	CHECK(ds_layout_label_kinds(kinds, 1, NULL, 0) == 3, "layout length query");
	CHECK(ds_layout_label_kinds(NULL, 1, buf, sizeof(buf)) == -EINVAL, "NULL kinds, n 1");
	CHECK(ds_layout_label_kinds(NULL, 0, buf, sizeof(buf)) == 4 && strcmp(buf, "none") == 0,
	      "NULL kinds, n 0 is \"none\"");
	CHECK(ds_layout_label_kinds(kinds, 1, NULL, 4) == -EINVAL, "NULL buffer with len 4");
}

static void
test_names(void)
{
	/* Spelled out independently of ds_sig.c: these are the stored, documented names. */
	static const char *const want[] = {
		"mirai", "zmap", "masscan", "nmap_syn", "backscatter", "backscatter_synack",
		"backscatter_rst", "backscatter_icmp", "backscatter_dns", "spoof_src_eq_dst",
		"spoof_high_ttl", "spoof_src_octet", "spoof_port0", "spoof_flags", "spoof_bogon",
	};

	printf("signature names\n");
	CHECK(N_ELEM(want) == DS_SIG_MAX, "%zu names for %d signatures", N_ELEM(want),
	      DS_SIG_MAX);
	for (int i = 0; i < DS_SIG_MAX && i < (int)N_ELEM(want); i++) {
		CHECK(strcmp(ds_sig_name((enum ds_sig)i), want[i]) == 0, "name %d: %s", i,
		      ds_sig_name((enum ds_sig)i));
		CHECK(ds_sig_names[i] == ds_sig_name((enum ds_sig)i), "names[%d]", i);
	}
	CHECK(strcmp(DS_SIGNATURES_VERSION, "1") == 0, "version %s", DS_SIGNATURES_VERSION);
}

/* ---- signatures ---- */

#define B(x) (UINT64_C(1) << DS_SIG_##x)
#define BS(x) (B(BACKSCATTER) | B(BACKSCATTER_##x))

struct sig_case {
	const char *name;
	struct spec s;
	uint64_t want;
};

static void
run_sig_cases(const char *suite, const struct sig_case *c, size_t n)
{
	printf("%s\n", suite);
	for (size_t i = 0; i < n; i++) {
		struct ds_pkt p;
		uint64_t got;
		char g[256], w[256];

		if (!decode_spec(&c[i].s, &p)) {
			printf("  FAIL %s\n", c[i].name);
			continue;
		}
		got = ds_sig_match(&p);
		mask_names(got, g, sizeof(g));
		mask_names(c[i].want, w, sizeof(w));
		CHECK(got == c[i].want, "%s: got %s, want %s", c[i].name, g, w);
		printf("  %s %s: %s\n", got == c[i].want ? "ok  " : "FAIL", c[i].name, g);
	}
}

static void
test_scanners(void)
{
	const struct sig_case cases[] = {
		/* Mirai: seq == destination. */
		{"mirai: seq == dst", {IP4(S4, D4, 64, ID), TCP(40000, 23, D4, SYN, 29200)},
		 B(MIRAI)},
		{"mirai: seq == dst - 1", {IP4(S4, D4, 64, ID), TCP(40000, 23, D4 - 1, SYN, 29200)},
		 0},
		{"mirai: seq == dst + 1", {IP4(S4, D4, 64, ID), TCP(40000, 23, D4 + 1, SYN, 29200)},
		 0},
		{"mirai: SYN+ACK", {IP4(S4, D4, 64, ID), TCP(40000, 23, D4, SYN | ACK, 29200)},
		 BS(SYNACK)},
		{"mirai: ACK only", {IP4(S4, D4, 64, ID), TCP(40000, 23, D4, ACK, 29200)}, 0},
		{"mirai: SYN with ECE+CWR (other bits free)",
		 {IP4(S4, D4, 64, ID), TCP(40000, 23, D4, SYN | ECE | CWR, 29200)}, B(MIRAI)},
		{"mirai: IPv6 SYN, seq 0 (dst4 is 0 in IPv6)",
		 {IP6(S6, D6, 64), TCP(40000, 23, 0, SYN, 29200)}, 0},
		/* ZMap: IP ID 54321. */
		{"zmap: id 54321", {IP4(S4, D4, 64, 54321), TCP(40000, 80, SEQ, SYN, 65535)},
		 B(ZMAP)},
		{"zmap: id 54320", {IP4(S4, D4, 64, 54320), TCP(40000, 80, SEQ, SYN, 65535)}, 0},
		{"zmap: id 54322", {IP4(S4, D4, 64, 54322), TCP(40000, 80, SEQ, SYN, 65535)}, 0},
		{"zmap: SYN+ACK", {IP4(S4, D4, 64, 54321), TCP(40000, 80, SEQ, SYN | ACK, 65535)},
		 BS(SYNACK)},
		{"zmap: its default TTL 255 also reads as high TTL",
		 {IP4(S4, D4, 255, 54321), TCP(40000, 80, SEQ, SYN, 65535)},
		 B(ZMAP) | B(SPOOF_HIGH_TTL)},
		{"zmap: UDP with id 54321", {IP4(S4, D4, 64, 54321), UDP(40000, 161)}, 0},
		/* masscan: id == (dst ^ dport ^ seq) & 0xffff. */
		{"masscan: id formula",
		 {IP4(S4, D4, 64, MASSCAN_ID(D4, 443, SEQ)), TCP(61000, 443, SEQ, SYN, 1024)},
		 B(MASSCAN)},
		{"masscan: id formula + 1",
		 {IP4(S4, D4, 64, MASSCAN_ID(D4, 443, SEQ) + 1), TCP(61000, 443, SEQ, SYN, 1024)},
		 0},
		{"masscan: id formula - 1",
		 {IP4(S4, D4, 64, MASSCAN_ID(D4, 443, SEQ) - 1), TCP(61000, 443, SEQ, SYN, 1024)},
		 0},
		{"masscan: formula with dport + 1",
		 {IP4(S4, D4, 64, MASSCAN_ID(D4, 443, SEQ)), TCP(61000, 444, SEQ, SYN, 1024)}, 0},
		{"masscan: SYN+ACK",
		 {IP4(S4, D4, 64, MASSCAN_ID(D4, 443, SEQ)), TCP(61000, 443, SEQ, SYN | ACK, 1024)},
		 BS(SYNACK)},
		{"masscan: IPv6, ip_id 0 == (0 ^ 23 ^ 23)",
		 {IP6(S6, D6, 64), TCP(61000, 23, 23, SYN, 1024)}, 0},
		/* TTL 200 is spoof_high_ttl unless the packet is masscan's (TTL 255). */
		{"ttl 199, not masscan", {IP4(S4, D4, 199, ID), TCP(40000, 23, SEQ, SYN, 29200)},
		 0},
		{"ttl 200, not masscan", {IP4(S4, D4, 200, ID), TCP(40000, 23, SEQ, SYN, 29200)},
		 B(SPOOF_HIGH_TTL)},
		{"ttl 255, not masscan", {IP4(S4, D4, 255, ID), TCP(40000, 23, SEQ, SYN, 29200)},
		 B(SPOOF_HIGH_TTL)},
		{"ttl 199, masscan",
		 {IP4(S4, D4, 199, MASSCAN_ID(D4, 443, SEQ)), TCP(61000, 443, SEQ, SYN, 1024)},
		 B(MASSCAN)},
		{"ttl 200, masscan",
		 {IP4(S4, D4, 200, MASSCAN_ID(D4, 443, SEQ)), TCP(61000, 443, SEQ, SYN, 1024)},
		 B(MASSCAN)},
		{"ttl 255, masscan",
		 {IP4(S4, D4, 255, MASSCAN_ID(D4, 443, SEQ)), TCP(61000, 443, SEQ, SYN, 1024)},
		 B(MASSCAN)},
		{"ttl 255, masscan formula off by one",
		 {IP4(S4, D4, 255, MASSCAN_ID(D4, 443, SEQ) ^ 1), TCP(61000, 443, SEQ, SYN, 1024)},
		 B(SPOOF_HIGH_TTL)},
		{"ttl 255, masscan formula on a SYN+ACK",
		 {IP4(S4, D4, 255, MASSCAN_ID(D4, 443, SEQ)), TCP(443, 443, SEQ, SYN | ACK, 1024)},
		 B(SPOOF_HIGH_TTL) | BS(SYNACK)},
		{"hop limit 200 (IPv6)", {IP6(S6, D6, 200), TCP(40000, 23, SEQ, SYN, 29200)},
		 B(SPOOF_HIGH_TTL)},
		{"hop limit 199 (IPv6)", {IP6(S6, D6, 199), TCP(40000, 23, SEQ, SYN, 29200)}, 0},
		{"ttl 200 on UDP", {IP4(S4, D4, 200, ID), UDP(40000, 161)}, B(SPOOF_HIGH_TTL)},
		/* Nmap: window 1024 and a lone MSS option. */
		{"nmap: win 1024, MSS",
		 {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1024), OPTS(O_MSS1460)},
		 B(NMAP_SYN)},
		{"nmap: win 1025, MSS",
		 {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1025), OPTS(O_MSS1460)}, 0},
		{"nmap: win 1023, MSS",
		 {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1023), OPTS(O_MSS1460)}, 0},
		{"nmap: win 1024, MSS,NOP,NOP,NOP,NOP",
		 {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1024), OPTS(O_MSS1460, 1, 1, 1, 1)},
		 0},
		{"nmap: win 1024, MSS,EOL",
		 {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1024), OPTS(O_MSS1460, 0, 0, 0, 0)},
		 0},
		{"nmap: win 1024, NOP,NOP,NOP,NOP,MSS",
		 {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1024), OPTS(1, 1, 1, 1, O_MSS1460)},
		 0},
		{"nmap: win 1024, one option, kind 30",
		 {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1024), OPTS(0x1e, 0x04, 0, 0)}, 0},
		{"nmap: win 1024, no options",
		 {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1024)}, 0},
		{"nmap: win 1024, NOP,WS",
		 {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1024), OPTS(1, 3, 3, 7)}, 0},
		{"nmap: SYN+ACK win 1024, MSS",
		 {IP4(S4, D4, 45, ID), TCP(22, 52000, SEQ, SYN | ACK, 1024), OPTS(O_MSS1460)},
		 BS(SYNACK)},
		{"nmap: IPv6 win 1024, MSS",
		 {IP6(S6, D6, 45), TCP(52000, 22, SEQ, SYN, 1024), OPTS(O_MSS1460)}, B(NMAP_SYN)},
		{"nmap and masscan overlap (masscan >= 1.3 sends MSS)",
		 {IP4(S4, D4, 64, MASSCAN_ID(D4, 1433, SEQ)), TCP(61000, 1433, SEQ, SYN, 1024),
		  OPTS(O_MSS1460)},
		 B(MASSCAN) | B(NMAP_SYN)},
		/* Several marks on one SYN. */
		{"mirai + zmap",
		 {IP4(S4, D4, 64, 54321), TCP(40000, 23, D4, SYN, 29200)}, B(MIRAI) | B(ZMAP)},
	};

	run_sig_cases("scanner signatures", cases, N_ELEM(cases));
}

static void
test_backscatter(void)
{
	const struct sig_case cases[] = {
		{"SYN+ACK", {IP4(S4, D4, 52, ID), TCP(80, 40000, SEQ, SYN | ACK, 28960)},
		 BS(SYNACK)},
		{"SYN+ACK+ECE", {IP4(S4, D4, 52, ID), TCP(80, 40000, SEQ, SYN | ACK | ECE, 28960)},
		 BS(SYNACK)},
		{"SYN alone", {IP4(S4, D4, 52, ID), TCP(80, 40000, SEQ, SYN, 28960)}, 0},
		{"ACK alone", {IP4(S4, D4, 52, ID), TCP(80, 40000, SEQ, ACK, 28960)}, 0},
		{"RST", {IP4(S4, D4, 52, ID), TCP(80, 40000, SEQ, RST, 0)}, BS(RST)},
		{"RST+ACK", {IP4(S4, D4, 52, ID), TCP(80, 40000, SEQ, RST | ACK, 0)}, BS(RST)},
		{"IPv6 SYN+ACK", {IP6(S6, D6, 52), TCP(443, 40000, SEQ, SYN | ACK, 28800)},
		 BS(SYNACK)},
		{"IPv6 RST", {IP6(S6, D6, 52), TCP(443, 40000, SEQ, RST, 0)}, BS(RST)},
		/* ICMPv4: the replies and errors, not the requests. */
		{"icmp 0 echo reply", {IP4(S4, D4, 52, ID), ICMP4(0)}, BS(ICMP)},
		{"icmp 3 unreachable", {IP4(S4, D4, 52, ID), ICMP4(3)}, BS(ICMP)},
		{"icmp 4 source quench", {IP4(S4, D4, 52, ID), ICMP4(4)}, BS(ICMP)},
		{"icmp 5 redirect", {IP4(S4, D4, 52, ID), ICMP4(5)}, BS(ICMP)},
		{"icmp 11 time exceeded", {IP4(S4, D4, 52, ID), ICMP4(11)}, BS(ICMP)},
		{"icmp 12 parameter problem", {IP4(S4, D4, 52, ID), ICMP4(12)}, BS(ICMP)},
		{"icmp 14 timestamp reply", {IP4(S4, D4, 52, ID), ICMP4(14)}, BS(ICMP)},
		{"icmp 16 information reply", {IP4(S4, D4, 52, ID), ICMP4(16)}, BS(ICMP)},
		{"icmp 18 address mask reply", {IP4(S4, D4, 52, ID), ICMP4(18)}, BS(ICMP)},
		{"icmp 8 echo request", {IP4(S4, D4, 52, ID), ICMP4(8)}, 0},
		{"icmp 13 timestamp request", {IP4(S4, D4, 52, ID), ICMP4(13)}, 0},
		{"icmp 17 address mask request", {IP4(S4, D4, 52, ID), ICMP4(17)}, 0},
		{"icmp 1 (unassigned)", {IP4(S4, D4, 52, ID), ICMP4(1)}, 0},
		/* 32 + 3 and 32 + 0 would alias onto types 3 and 0 in a 32-bit mask. */
		{"icmp 35", {IP4(S4, D4, 52, ID), ICMP4(35)}, 0},
		{"icmp 32", {IP4(S4, D4, 52, ID), ICMP4(32)}, 0},
		{"icmp 255", {IP4(S4, D4, 52, ID), ICMP4(255)}, 0},
		/* ICMPv6: the four error types and echo reply. */
		{"icmpv6 1 unreachable", {IP6(S6, D6, 52), ICMP6(1)}, BS(ICMP)},
		{"icmpv6 2 packet too big", {IP6(S6, D6, 52), ICMP6(2)}, BS(ICMP)},
		{"icmpv6 3 time exceeded", {IP6(S6, D6, 52), ICMP6(3)}, BS(ICMP)},
		{"icmpv6 4 parameter problem", {IP6(S6, D6, 52), ICMP6(4)}, BS(ICMP)},
		{"icmpv6 129 echo reply", {IP6(S6, D6, 52), ICMP6(129)}, BS(ICMP)},
		{"icmpv6 0", {IP6(S6, D6, 52), ICMP6(0)}, 0},
		{"icmpv6 5", {IP6(S6, D6, 52), ICMP6(5)}, 0},
		{"icmpv6 128 echo request", {IP6(S6, D6, 52), ICMP6(128)}, 0},
		{"icmpv6 130", {IP6(S6, D6, 52), ICMP6(130)}, 0},
		{"icmpv6 135 neighbour solicitation", {IP6(S6, D6, 255), ICMP6(135)},
		 B(SPOOF_HIGH_TTL)},
		/* DNS answers, not queries. */
		{"udp sport 53", {IP4(S4, D4, 52, ID), UDP(53, 40000), .payload = 60}, BS(DNS)},
		{"udp dport 53", {IP4(S4, D4, 52, ID), UDP(40000, 53), .payload = 30}, 0},
		{"udp sport 5353", {IP4(S4, D4, 52, ID), UDP(5353, 40000)}, 0},
		{"udp sport 52", {IP4(S4, D4, 52, ID), UDP(52, 40000)}, 0},
		{"IPv6 udp sport 53", {IP6(S6, D6, 52), UDP(53, 40000)}, BS(DNS)},
		{"tcp sport 53 SYN+ACK", {IP4(S4, D4, 52, ID), TCP(53, 40000, SEQ, SYN | ACK, 0)},
		 BS(SYNACK)},
	};

	run_sig_cases("backscatter", cases, N_ELEM(cases));
}

/* Addresses for the source tests: the same /24 as S4 with other last octets. */
#define S4_0 0x2d212000u
#define S4_1 0x2d212001u
#define S4_254 0x2d2120feu
#define S4_255 0x2d2120ffu
#define S6_ZERO_END {0x2a, 0x01, 0x04, 0xf8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
#define S6_FF_END {0x2a, 0x01, 0x04, 0xf8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff}
#define BOGON6 {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}

static void
test_spoofing(void)
{
	const struct sig_case cases[] = {
		{"src == dst", {IP4(D4, D4, 64, ID), TCP(40000, 23, SEQ, SYN, 29200)},
		 B(SPOOF_SRC_EQ_DST)},
		{"src == dst + 1", {IP4(D4 + 1, D4, 64, ID), TCP(40000, 23, SEQ, SYN, 29200)}, 0},
		{"src == dst, UDP", {IP4(D4, D4, 64, ID), UDP(40000, 23)}, B(SPOOF_SRC_EQ_DST)},
		{"IPv6 src == dst", {IP6(D6, D6, 64), TCP(40000, 23, SEQ, SYN, 29200)},
		 B(SPOOF_SRC_EQ_DST)},
		{"IPv6 src differs in the first byte",
		 {IP6(D6_FIRST_BYTE, D6, 64), TCP(40000, 23, SEQ, SYN, 29200)}, 0},
		{"IPv6 src differs in the last byte",
		 {IP6(D6_LAST_BYTE, D6, 64), TCP(40000, 23, SEQ, SYN, 29200)}, 0},
		/* Source octet. */
		{"src .0", {IP4(S4_0, D4, 64, ID), TCP(40000, 23, SEQ, SYN, 29200)},
		 B(SPOOF_SRC_OCTET)},
		{"src .255", {IP4(S4_255, D4, 64, ID), TCP(40000, 23, SEQ, SYN, 29200)},
		 B(SPOOF_SRC_OCTET)},
		{"src .1", {IP4(S4_1, D4, 64, ID), TCP(40000, 23, SEQ, SYN, 29200)}, 0},
		{"src .254", {IP4(S4_254, D4, 64, ID), TCP(40000, 23, SEQ, SYN, 29200)}, 0},
		{"IPv6 src ending in 00", {IP6(S6_ZERO_END, D6, 64), UDP(40000, 23)}, 0},
		{"IPv6 src ending in ff", {IP6(S6_FF_END, D6, 64), UDP(40000, 23)}, 0},
		/* Port 0. */
		{"tcp sport 0", {IP4(S4, D4, 64, ID), TCP(0, 23, SEQ, SYN, 29200)}, B(SPOOF_PORT0)},
		{"tcp dport 0", {IP4(S4, D4, 64, ID), TCP(40000, 0, SEQ, SYN, 29200)},
		 B(SPOOF_PORT0)},
		{"tcp sport 1", {IP4(S4, D4, 64, ID), TCP(1, 23, SEQ, SYN, 29200)}, 0},
		{"tcp dport 1", {IP4(S4, D4, 64, ID), TCP(40000, 1, SEQ, SYN, 29200)}, 0},
		{"udp sport 0", {IP4(S4, D4, 64, ID), UDP(0, 123)}, B(SPOOF_PORT0)},
		{"udp dport 0", {IP4(S4, D4, 64, ID), UDP(123, 0)}, B(SPOOF_PORT0)},
		{"udp sport 1", {IP4(S4, D4, 64, ID), UDP(1, 123)}, 0},
		{"udp dport 1", {IP4(S4, D4, 64, ID), UDP(123, 1)}, 0},
		{"IPv6 udp dport 0", {IP6(S6, D6, 64), UDP(123, 0)}, B(SPOOF_PORT0)},
		{"icmp (no ports)", {IP4(S4, D4, 64, ID), ICMP4(8)}, 0},
		{"GRE (no L4 header decoded)", {IP4(S4, D4, 64, ID), .proto = 47, .payload = 8}, 0},
		/* Impossible TCP flags and their neighbours. */
		{"flags SYN+FIN", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, SYN | FIN, 1024)},
		 B(SPOOF_FLAGS)},
		{"flags SYN+RST", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, SYN | RST, 1024)},
		 B(SPOOF_FLAGS) | BS(RST)},
		{"flags FIN+RST", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, FIN | RST, 1024)},
		 B(SPOOF_FLAGS) | BS(RST)},
		{"flags none", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, 0, 1024)}, B(SPOOF_FLAGS)},
		{"flags FIN+PSH+URG (Xmas)",
		 {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, FIN | PSH | URG, 1024)}, B(SPOOF_FLAGS)},
		{"flags Xmas with ECE+CWR",
		 {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, FIN | PSH | URG | ECE | CWR, 1024)},
		 B(SPOOF_FLAGS)},
		{"flags SYN+FIN+ACK",
		 {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, SYN | FIN | ACK, 1024)},
		 B(SPOOF_FLAGS) | BS(SYNACK)},
		{"flags all eight", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, 0xff, 1024)},
		 B(SPOOF_FLAGS) | BS(SYNACK) | BS(RST)},
		{"flags SYN", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, SYN, 1024)}, 0},
		{"flags FIN", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, FIN, 1024)}, 0},
		{"flags RST", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, RST, 1024)}, BS(RST)},
		{"flags ACK", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, ACK, 1024)}, 0},
		{"flags FIN+ACK", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, FIN | ACK, 1024)}, 0},
		{"flags FIN+PSH", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, FIN | PSH, 1024)}, 0},
		{"flags FIN+URG", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, FIN | URG, 1024)}, 0},
		{"flags PSH+URG", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, PSH | URG, 1024)}, 0},
		{"flags FIN+PSH+URG+ACK",
		 {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, FIN | PSH | URG | ACK, 1024)}, 0},
		{"flags ECE only", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, ECE, 1024)}, 0},
		{"flags CWR only", {IP4(S4, D4, 64, ID), TCP(40000, 80, SEQ, CWR, 1024)}, 0},
		{"IPv6 flags none", {IP6(S6, D6, 64), TCP(40000, 80, SEQ, 0, 1024)},
		 B(SPOOF_FLAGS)},
		/* Bogons in context (the edges have their own suite). */
		{"src 10.1.2.3", {IP4(0x0a010203u, D4, 64, ID), UDP(40000, 53)}, B(SPOOF_BOGON)},
		{"IPv6 src fe80::1", {IP6(BOGON6, D6, 255), ICMP6(135)},
		 B(SPOOF_BOGON) | B(SPOOF_HIGH_TTL)},
		/* Everything at once. */
		{"10.0.0.0 -> itself, ttl 250, port 0, no flags",
		 {IP4(0x0a000000u, 0x0a000000u, 250, ID), TCP(0, 0, 0, 0, 0)},
		 B(SPOOF_SRC_EQ_DST) | B(SPOOF_HIGH_TTL) | B(SPOOF_SRC_OCTET) | B(SPOOF_PORT0) |
		 B(SPOOF_FLAGS) | B(SPOOF_BOGON)},
	};

	run_sig_cases("spoofing heuristics", cases, N_ELEM(cases));
}

static void
test_fragments(void)
{
	/*
	 * A later fragment carries no transport header: the bytes after the IP
	 * header below look like a Mirai SYN from port 0 with impossible flags,
	 * and none of that may show. IP-level marks still apply.
	 */
	const struct sig_case cases[] = {
		{"later fragment: no TCP marks",
		 {IP4(S4, D4, 64, 54321), TCP(0, 0, D4, 0, 1024), .frag = 185}, 0},
		{"later fragment: UDP from port 53",
		 {IP4(S4, D4, 64, ID), UDP(53, 0), .frag = 0x2000 | 3}, 0},
		{"later fragment: ICMP echo reply",
		 {IP4(S4, D4, 64, ID), ICMP4(0), .frag = 64}, 0},
		{"later fragment: IP marks stay",
		 {IP4(0x0a0102ffu, 0x0a0102ffu, 255, ID), TCP(0, 0, 0, 0, 1024), .frag = 185},
		 B(SPOOF_SRC_EQ_DST) | B(SPOOF_HIGH_TTL) | B(SPOOF_SRC_OCTET) | B(SPOOF_BOGON)},
		{"first fragment (MF, offset 0): L4 marks apply",
		 {IP4(S4, D4, 64, ID), TCP(40000, 23, D4, SYN, 29200), .frag = 0x2000},
		 B(MIRAI)},
		{"IPv6 later fragment",
		 {IP6(D6, D6, 64), TCP(0, 0, 0, SYN | RST, 1024), .frag6 = true, .frag = 185 << 3},
		 B(SPOOF_SRC_EQ_DST)},
		{"IPv6 first fragment", {IP6(S6, D6, 64), TCP(0, 23, 0, SYN, 1024), .frag6 = true,
					 .frag = 1, OPTS(O_MSS1460)},
		 B(SPOOF_PORT0) | B(NMAP_SYN)},
	};

	run_sig_cases("fragments", cases, N_ELEM(cases));
}

/*
 * All 256 flag bytes on a TCP packet and all 256 types of ICMP and ICMPv6,
 * against the rules as the brief words them, evaluated here one by one.
 */
static void
test_exhaustive_bytes(void)
{
	static const uint8_t icmp4_answers[] = {0, 3, 4, 5, 11, 12, 14, 16, 18};
	const uint64_t flag_bits = B(BACKSCATTER) | B(BACKSCATTER_SYNACK) | B(BACKSCATTER_RST) |
				   B(SPOOF_FLAGS) | B(MIRAI);
	unsigned int bad = 0, n_spoof = 0, n_icmp = 0;

	printf("every flags byte, every ICMP type\n");
	for (unsigned int f = 0; f < 256; f++) {
		/* seq == dst: the Mirai bit doubles as the "SYN without ACK" check. */
		struct spec s = {IP4(S4, D4, 64, ID), TCP(40000, 23, D4, (uint8_t)f, 512)};
		bool syn = f & SYN, ack = f & ACK, fin = f & FIN, rst = f & RST;
		bool xmas = (f & (FIN | PSH | URG)) == (FIN | PSH | URG) && !ack;
		bool spoof = (syn && fin) || (syn && rst) || (fin && rst) || f == 0 || xmas;
		uint64_t want = 0, got;
		struct ds_pkt p;

		if (syn && ack)
			want |= BS(SYNACK);
		if (rst)
			want |= BS(RST);
		if (spoof)
			want |= B(SPOOF_FLAGS);
		if (syn && !ack)
			want |= B(MIRAI);
		if (!decode_spec(&s, &p))
			continue;
		got = ds_sig_match(&p) & flag_bits;
		if (got != want) {
			bad++;
			CHECK(0, "flags 0x%02x: %" PRIx64 ", want %" PRIx64, f, got, want);
		}
		n_spoof += spoof;
	}
	for (unsigned int t = 0; t < 256; t++) {
		struct spec s4 = {IP4(S4, D4, 64, ID), ICMP4((uint8_t)t)};
		struct spec s6 = {IP6(S6, D6, 64), ICMP6((uint8_t)t)};
		bool want4 = memchr(icmp4_answers, (int)t, sizeof(icmp4_answers)) != NULL;
		bool want6 = (t >= 1 && t <= 4) || t == 129;
		struct ds_pkt p4, p6;

		if (!decode_spec(&s4, &p4) || !decode_spec(&s6, &p6))
			continue;
		if (ds_sig_match(&p4) != (want4 ? BS(ICMP) : 0) ||
		    ds_sig_match(&p6) != (want6 ? BS(ICMP) : 0)) {
			bad++;
			CHECK(0, "icmp type %u", t);
		}
		n_icmp += want4 + want6;
	}
	CHECK(n_spoof == 133 && n_icmp == 14, "%u spoofed flag bytes, %u ICMP answers", n_spoof,
	      n_icmp);
	printf("  %s 256 flag bytes (%u impossible), 512 ICMP types (%u answers)\n",
	       bad ? "FAIL" : "ok  ", n_spoof, n_icmp);
}

/* ---- bogon edges ---- */

struct pfx4 {
	uint32_t first;
	uint8_t len;
};

/* The IPv4 list of the brief and lib/geo/ds_geo_common.c, walked one by one. */
static const struct pfx4 bogons4[] = {
	{0x00000000u, 8}, {0x0a000000u, 8}, {0x64400000u, 10}, {0x7f000000u, 8},
	{0xa9fe0000u, 16}, {0xac100000u, 12}, {0xc0000000u, 24}, {0xc0000200u, 24},
	{0xc0586300u, 24}, {0xc0a80000u, 16}, {0xc6120000u, 15}, {0xc6336400u, 24},
	{0xcb007100u, 24}, {0xe0000000u, 4}, {0xf0000000u, 4},
};

static uint32_t
last4(const struct pfx4 *r)
{
	return r->first | (0xffffffffu >> r->len);
}

static bool
ref_bogon4(uint32_t a)
{
	for (size_t i = 0; i < N_ELEM(bogons4); i++)
		if (a >= bogons4[i].first && a <= last4(&bogons4[i]))
			return true;
	return false;
}

struct pfx6 {
	uint8_t a[16];
	uint8_t len;
};

static const struct pfx6 bogons6[] = {
	{{0}, 127},
	{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96},
	{{0, 0x64, 0xff, 0x9b, 0, 1}, 48},
	{{0x01, 0x00}, 64},
	{{0x20, 0x01}, 23},
	{{0x20, 0x01, 0x0d, 0xb8}, 32},
	{{0x3f, 0xff}, 20},
	{{0x5f, 0x00}, 16},
	{{0xfc}, 7},
	{{0xfe, 0x80}, 10},
	{{0xff}, 8},
};

/* Bit i of a 16-byte address, counted from the most significant. */
static bool
bit6(const uint8_t *a, unsigned int i)
{
	return (a[i / 8] >> (7 - i % 8)) & 1;
}

static bool
ref_bogon6(const uint8_t *a)
{
	for (size_t i = 0; i < N_ELEM(bogons6); i++) {
		unsigned int b = 0;

		while (b < bogons6[i].len && bit6(a, b) == bit6(bogons6[i].a, b))
			b++;
		if (b == bogons6[i].len)
			return true;
	}
	return false;
}

/* Last address of a prefix: the host bits set. */
static void
last6(const struct pfx6 *r, uint8_t *out)
{
	memcpy(out, r->a, 16);
	for (unsigned int i = r->len; i < 128; i++)
		out[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

/* a + delta (+1 or -1) over 128 bits; false when it wraps. */
static bool
step6(uint8_t *a, int delta)
{
	for (int i = 15; i >= 0; i--) {
		uint8_t old = a[i];

		a[i] = (uint8_t)(a[i] + delta);
		if ((delta > 0 && old != 0xff) || (delta < 0 && old != 0x00))
			return true;
	}
	return false;
}

static bool
sig_bogon4_packet(uint32_t src)
{
	struct spec s = {IP4(src, D4, 64, ID), TCP(40000, 23, SEQ, SYN, 29200)};
	struct ds_pkt p;

	return decode_spec(&s, &p) && (ds_sig_match(&p) & B(SPOOF_BOGON));
}

static bool
sig_bogon6_packet(const uint8_t *src)
{
	struct spec s = {IP6(S6, D6, 64), TCP(40000, 23, SEQ, SYN, 29200)};
	struct ds_pkt p;

	memcpy(s.src6, src, 16);
	return decode_spec(&s, &p) && (ds_sig_match(&p) & B(SPOOF_BOGON));
}

static uint64_t
xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_bogon_edges(void)
{
	uint64_t rng = 0x9e3779b97f4a7c15u;
	unsigned int n_in = 0, n_out = 0, n_adjacent = 0, mism = 0;

	printf("bogon edges\n");
	for (size_t i = 0; i < N_ELEM(bogons4); i++) {
		uint32_t first = bogons4[i].first, last = last4(&bogons4[i]);

		CHECK(sig_bogon4_packet(first), "first of range %zu %08x", i, first);
		CHECK(sig_bogon4_packet(last), "last of range %zu %08x", i, last);
		n_in += 2;
		/* Just outside: a bogon only where another range is adjacent (224/4, 240/4). */
		if (first != 0) {
			CHECK(sig_bogon4_packet(first - 1) == ref_bogon4(first - 1),
			      "below range %zu %08x", i, first - 1);
			n_out++;
			n_adjacent += ref_bogon4(first - 1);
		}
		if (last != 0xffffffffu) {
			CHECK(sig_bogon4_packet(last + 1) == ref_bogon4(last + 1),
			      "above range %zu %08x", i, last + 1);
			n_out++;
			n_adjacent += ref_bogon4(last + 1);
		}
	}
	printf("  ok   IPv4: %u first/last addresses, %u just outside (%u adjacent to another "
	       "range)\n", n_in, n_out, n_adjacent);
	CHECK(n_adjacent == 2, "only 239.255.255.255 and 240.0.0.0 are adjacent bogons");
	CHECK(!ref_bogon4(0xc00001ffu) && !ref_bogon4(0xc0000100u), "192.0.1/24 is not a bogon");

	n_in = n_out = n_adjacent = 0;
	for (size_t i = 0; i < N_ELEM(bogons6); i++) {
		uint8_t a[16], b[16];

		memcpy(a, bogons6[i].a, 16);
		last6(&bogons6[i], b);
		CHECK(sig_bogon6_packet(a), "first of IPv6 range %zu", i);
		CHECK(sig_bogon6_packet(b), "last of IPv6 range %zu", i);
		n_in += 2;
		if (step6(a, -1)) {
			CHECK(sig_bogon6_packet(a) == ref_bogon6(a), "below IPv6 range %zu", i);
			n_out++;
			n_adjacent += ref_bogon6(a);
		}
		if (step6(b, +1)) {
			CHECK(sig_bogon6_packet(b) == ref_bogon6(b), "above IPv6 range %zu", i);
			n_out++;
			n_adjacent += ref_bogon6(b);
		}
	}
	printf("  ok   IPv6: %u first/last addresses, %u just outside (%u adjacent)\n", n_in,
	       n_out, n_adjacent);
	/* ::1 is followed by ::2, fec0:: follows fe80::/10: no two IPv6 ranges touch. */
	CHECK(n_adjacent == 0, "no two IPv6 ranges touch");

	/*
	 * A million random IPv4 sources, and IPv6 sources drawn near each range
	 * (a random address inside, with one random bit of the prefix flipped
	 * half of the time), straight into struct ds_pkt.
	 */
	for (int i = 0; i < 1000000; i++) {
		struct ds_pkt p = {.ip_version = 4, .src4 = (uint32_t)xorshift64(&rng)};

		mism += ((ds_sig_match(&p) & B(SPOOF_BOGON)) != 0) != ref_bogon4(p.src4);
	}
	for (int i = 0; i < 1000000; i++) {
		struct ds_pkt p = {.ip_version = 6};
		const struct pfx6 *r = &bogons6[xorshift64(&rng) % N_ELEM(bogons6)];
		uint64_t x = xorshift64(&rng), y = xorshift64(&rng);

		memcpy(p.src6, &x, 8);
		memcpy(p.src6 + 8, &y, 8);
		for (unsigned int b = 0; b < r->len; b++) {
			p.src6[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
			p.src6[b / 8] |= (uint8_t)(bit6(r->a, b) << (7 - b % 8));
		}
		if (xorshift64(&rng) & 1) {
			unsigned int b = (unsigned int)(xorshift64(&rng) % r->len);

			p.src6[b / 8] ^= (uint8_t)(0x80 >> (b % 8));
		}
		mism += ((ds_sig_match(&p) & B(SPOOF_BOGON)) != 0) != ref_bogon6(p.src6);
	}
	CHECK(mism == 0, "%u random addresses disagree with the table walk", mism);
	printf("  %s 2,000,000 random addresses against the table walk\n", mism ? "FAIL" : "ok  ");
}

/* ---- fingerprints and labels ---- */

static void
test_fingerprints(void)
{
	const struct {
		const char *name;
		struct spec s;
		const char *label;
	} cases[] = {
		{"Linux SYN",
		 {IP4(S4, D4, 64, ID), TCP(41394, 443, SEQ, SYN, 29200), OPTS(O_LINUX)},
		 "64:29200:1460:7:MSS,SACK,TS,NOP,WS"},
		{"Windows SYN",
		 {IP4(S4, D4, 128, ID), TCP(49153, 445, SEQ, SYN, 8192), OPTS(O_WINDOWS)},
		 "128:8192:1460:8:MSS,NOP,WS,NOP,NOP,SACK"},
		{"Linux SYN, ttl 65",
		 {IP4(S4, D4, 65, ID), TCP(41394, 443, SEQ, SYN, 29200), OPTS(O_LINUX)},
		 "128:29200:1460:7:MSS,SACK,TS,NOP,WS"},
		{"Windows SYN, ttl 129",
		 {IP4(S4, D4, 129, ID), TCP(49153, 445, SEQ, SYN, 8192), OPTS(O_WINDOWS)},
		 "255:8192:1460:8:MSS,NOP,WS,NOP,NOP,SACK"},
		{"ttl 255, no options", {IP4(S4, D4, 255, ID), TCP(40000, 23, SEQ, SYN, 14600)},
		 "255:14600:-:-:none"},
		{"ttl 1, no options", {IP4(S4, D4, 1, ID), TCP(40000, 23, SEQ, SYN, 5840)},
		 "64:5840:-:-:none"},
		{"nmap", {IP4(S4, D4, 45, ID), TCP(52000, 22, SEQ, SYN, 1024), OPTS(O_MSS1460)},
		 "64:1024:1460:-:MSS"},
		{"WS 14 without MSS",
		 {IP4(S4, D4, 64, ID), TCP(52000, 22, SEQ, SYN, 65535), OPTS(1, 3, 3, 14)},
		 "64:65535:-:14:NOP,WS"},
		{"MSS with a wrong length: a kind, no value",
		 {IP4(S4, D4, 64, ID), TCP(52000, 22, SEQ, SYN, 1024),
		  OPTS(0x02, 0x06, 0x05, 0xb4, 0, 0, 1, 1)},
		 "64:1024:-:-:MSS,NOP,NOP"},
		{"unknown kinds, SACK blocks, EOL",
		 {IP4(S4, D4, 64, ID), TCP(52000, 22, SEQ, SYN, 1024),
		  OPTS(0x1e, 0x06, 0, 0, 0x12, 0x34, 0x22, 0x02, 0x05, 0x02, 0x00, 0x00)},
		 "64:1024:-:-:30,34,SACKB,EOL"},
		{"MSS 0", {IP4(S4, D4, 64, ID), TCP(52000, 22, SEQ, SYN, 0), OPTS(2, 4, 0, 0)},
		 "64:0:0:-:MSS"},
		{"IPv6 Linux SYN, hop limit 57",
		 {IP6(S6, D6, 57), TCP(41394, 443, SEQ, SYN, 28800), OPTS(O_LINUX)},
		 "64:28800:1460:7:MSS,SACK,TS,NOP,WS"},
	};

	printf("fingerprints\n");
	for (size_t i = 0; i < N_ELEM(cases); i++) {
		struct ds_fingerprint fp, fp2;
		struct ds_pkt p;
		char buf[256];
		int n;

		if (!decode_spec(&cases[i].s, &p))
			continue;
		/* Garbage first: the fingerprint must define every byte itself. */
		memset(&fp, 0xa5, sizeof(fp));
		memset(&fp2, 0x5a, sizeof(fp2));
		ds_fingerprint_of(&p, &fp);
		ds_fingerprint_of(&p, &fp2);
		n = ds_fingerprint_label(&fp, buf, sizeof(buf));
		CHECK(strcmp(buf, cases[i].label) == 0, "%s: %s, want %s", cases[i].name, buf,
		      cases[i].label);
		CHECK(n == (int)strlen(cases[i].label), "%s: returned %d", cases[i].name, n);
		CHECK(memcmp(&fp, &fp2, sizeof(fp)) == 0, "%s: key depends on old contents",
		      cases[i].name);
		for (size_t k = fp.n; k < DS_TCP_MAX_OPTS; k++)
			CHECK(fp.kinds[k] == 0, "%s: kinds[%zu] not zeroed", cases[i].name, k);
		printf("  %s %s: %s\n", strcmp(buf, cases[i].label) == 0 ? "ok  " : "FAIL",
		       cases[i].name, buf);
	}
}

static void
test_fingerprint_key(void)
{
	/* What does not describe the sender's stack must not split the key. */
	struct spec a = {IP4(S4, D4, 64, ID), TCP(41394, 443, SEQ, SYN, 29200), OPTS(O_LINUX)};
	struct spec b = {IP4(S4 + 7, D4 + 9, 60, 4242), TCP(50000, 22, 12345, SYN | ECE | CWR,
							   29200),
			 OPTS(O_MSS1460, 0x04, 0x02, 0x08, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8, 0x01,
			      0x03, 0x03, 0x07)};
	struct spec c = {IP4(S4, D4, 64, ID), TCP(41394, 443, SEQ, SYN, 29200),
			 OPTS(O_MSS1460, 0x04, 0x02, 0x08, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
			      0x03, 0x03, 0x06)};
	struct ds_fingerprint fa, fb, fc;
	struct ds_pkt p;

	printf("fingerprint key\n");
	if (!decode_spec(&a, &p))
		return;
	ds_fingerprint_of(&p, &fa);
	if (!decode_spec(&b, &p))
		return;
	ds_fingerprint_of(&p, &fb);
	if (!decode_spec(&c, &p))
		return;
	ds_fingerprint_of(&p, &fc);
	CHECK(memcmp(&fa, &fb, sizeof(fa)) == 0, "ports, addresses, TS values, TTL 60 vs 64");
	CHECK(memcmp(&fa, &fc, sizeof(fa)) != 0, "wscale 6 vs 7 must differ");
	CHECK(fa.ttl_class == 64 && fa.window == 29200 && fa.mss == 1460 && fa.wscale == 7 &&
	      fa.flags == (DS_FP_MSS | DS_FP_WS) && fa.n == 5, "fields of the Linux SYN");
	printf("  %s\n", memcmp(&fa, &fb, sizeof(fa)) == 0 ? "ok   equal keys" : "FAIL");
}

static void
test_ttl_classes(void)
{
	const struct {
		uint8_t ttl, cls;
	} cases[] = {
		{0, 64}, {1, 64}, {64, 64}, {65, 128}, {128, 128}, {129, 255}, {200, 255},
		{255, 255},
	};

	printf("ttl classes\n");
	for (size_t i = 0; i < N_ELEM(cases); i++) {
		struct spec s = {IP4(S4, D4, cases[i].ttl, ID), TCP(1, 2, 3, SYN, 4)};
		struct ds_fingerprint fp;
		struct ds_pkt p;

		if (!decode_spec(&s, &p))
			continue;
		ds_fingerprint_of(&p, &fp);
		CHECK(fp.ttl_class == cases[i].cls, "ttl %u: class %u, want %u", cases[i].ttl,
		      fp.ttl_class, cases[i].cls);
	}
	printf("  ok   %zu TTLs\n", N_ELEM(cases));
}

static void
test_layout_labels(void)
{
	const struct {
		uint8_t kinds[12];
		uint8_t n;
		const char *label;
	} cases[] = {
		{{0}, 0, "none"},
		{{2, 1, 3, 1, 1, 4}, 6, "MSS,NOP,WS,NOP,NOP,SACK"},
		{{2, 4, 8, 1, 3}, 5, "MSS,SACK,TS,NOP,WS"},
		{{5, 30, 34, 0}, 4, "SACKB,30,34,EOL"},
		{{6, 7, 9, 255, 100}, 5, "6,7,9,255,100"},
		{{0}, 1, "EOL"},
	};
	char all[DS_TCP_MAX_OPTS * 4 + 1] = "";
	uint8_t nops[DS_TCP_MAX_OPTS];

	printf("layout labels\n");
	for (size_t i = 0; i < N_ELEM(cases); i++) {
		char buf[64];
		int n = ds_layout_label_kinds(cases[i].kinds, cases[i].n, buf, sizeof(buf));

		CHECK(strcmp(buf, cases[i].label) == 0 && n == (int)strlen(cases[i].label),
		      "%s != %s (%d)", buf, cases[i].label, n);
	}
	/* The longest layout the decoder can produce: 40 NOPs. */
	memset(nops, DS_TCPOPT_NOP, sizeof(nops));
	for (int i = 0; i < DS_TCP_MAX_OPTS; i++)
		strcat(all, i ? ",NOP" : "NOP");
	{
		char buf[256];
		int n = ds_layout_label_kinds(nops, DS_TCP_MAX_OPTS, buf, sizeof(buf));

		CHECK(n == 159 && strcmp(buf, all) == 0, "40 NOPs: %d", n);
	}
	printf("  ok   %zu layouts and 40 NOPs\n", N_ELEM(cases));
}

/* Every buffer size from 0 to one past the label: snprintf's truncation, nothing beyond. */
static void
test_label_truncation(void)
{
	const char *full = "64:29200:1460:7:MSS,SACK,TS,NOP,WS";
	const size_t flen = strlen(full);
	const uint8_t kinds[] = {2, 4, 8, 1, 3};
	struct ds_fingerprint fp = {.window = 29200, .mss = 1460, .wscale = 7, .ttl_class = 64,
				    .flags = DS_FP_MSS | DS_FP_WS, .n = 5};

	printf("label truncation\n");
	memcpy(fp.kinds, kinds, sizeof(kinds));
	for (size_t len = 0; len <= flen + 1; len++) {
		char buf[64];
		int n;

		memset(buf, '#', sizeof(buf));
		n = ds_fingerprint_label(&fp, len ? buf : NULL, len);
		CHECK(n == (int)flen, "len %zu: returned %d", len, n);
		if (len == 0)
			continue;
		CHECK(strlen(buf) == (len - 1 < flen ? len - 1 : flen) &&
		      strncmp(buf, full, strlen(buf)) == 0, "len %zu: \"%s\"", len, buf);
		CHECK(buf[len] == '#', "len %zu: wrote past the buffer", len);
	}
	for (size_t len = 0; len <= 24; len++) {
		char buf[64];
		int n;

		memset(buf, '#', sizeof(buf));
		n = ds_layout_label_kinds(kinds, 5, buf, len);
		CHECK(n == 18, "layout len %zu: returned %d", len, n);
		CHECK(len == 0 ? buf[0] == '#' : buf[len] == '#', "layout len %zu: overrun", len);
		if (len > 0)
			CHECK(strncmp(buf, "MSS,SACK,TS,NOP,WS", len - 1) == 0 &&
			      strlen(buf) == (len - 1 < 18 ? len - 1 : 18), "layout len %zu", len);
	}
	printf("  ok   sizes 0..%zu\n", flen + 1);
}

/* ---- watch rules ---- */

#define PROTO_BIT(p) [(p) / 8] = (uint8_t)(1u << ((p) % 8))

static const struct ds_watch_rule r_any = {.name = "any", .fields = 0};
static const struct ds_watch_rule r_proto = {
	.name = "tcp_udp", .fields = DS_WATCH_PROTO,
	.proto = {[0] = 1u << 6, [2] = 1u << 1},                /* 6 and 17 */
};
static const struct ds_watch_rule r_proto_edges = {
	.name = "proto_0_255", .fields = DS_WATCH_PROTO,
	.proto = {PROTO_BIT(0), PROTO_BIT(255)},
};
static const struct ds_watch_rule r_dport = {
	.name = "telnet_http_alt", .fields = DS_WATCH_DST_PORT,
	.dst_port = {{22, 22}, {23, 23}, {2323, 2323}, {8000, 8099}}, .n_dst_port = 4,
};
static const struct ds_watch_rule r_sport = {
	.name = "from_53", .fields = DS_WATCH_SRC_PORT,
	.src_port = {{53, 53}}, .n_src_port = 1,
};
static const struct ds_watch_rule r_flags_syn = {
	.name = "syn", .fields = DS_WATCH_TCP_FLAGS,
	.tcp_flags = {{SYN, SYN | ACK}}, .n_tcp_flags = 1,
};
static const struct ds_watch_rule r_flags_exact = {
	.name = "exactly_S_or_RA", .fields = DS_WATCH_TCP_FLAGS,
	.tcp_flags = {{SYN, 0xff}, {RST | ACK, 0xff}}, .n_tcp_flags = 2,
};
static const struct ds_watch_rule r_window = {
	.name = "window_edges", .fields = DS_WATCH_WINDOW,
	.window = {{0, 0}, {1024, 1025}, {65535, 65535}}, .n_window = 3,
};
/* The home-router campaign: SYNs with window 5656. */
static const struct ds_watch_rule r_5656 = {
	.name = "win5656", .fields = DS_WATCH_PROTO | DS_WATCH_TCP_FLAGS | DS_WATCH_WINDOW,
	.proto = {PROTO_BIT(6)},
	.tcp_flags = {{SYN, SYN | ACK}}, .n_tcp_flags = 1,
	.window = {{5656, 5656}}, .n_window = 1,
};
static const struct ds_watch_rule r_ttl = {
	.name = "ttl", .fields = DS_WATCH_TTL,
	.ttl = {{64, 64}, {200, 255}}, .n_ttl = 2,
};
static const struct ds_watch_rule r_options = {
	.name = "nmap_or_windows", .fields = DS_WATCH_OPTIONS,
	.options = {{1, {2}}, {6, {2, 1, 3, 1, 1, 4}}}, .n_options = 2,
};
static const struct ds_watch_rule r_options_none = {
	.name = "no_options", .fields = DS_WATCH_OPTIONS,
	.options = {{0, {0}}}, .n_options = 1,
};
static const struct ds_watch_rule r_mss = {
	.name = "mss", .fields = DS_WATCH_MSS,
	.mss = {{1460, 1460}, {536, 1200}}, .n_mss = 2,
};
static const struct ds_watch_rule r_mss0 = {
	.name = "mss0", .fields = DS_WATCH_MSS,
	.mss = {{0, 0}}, .n_mss = 1,
};
static const struct ds_watch_rule r_wscale = {
	.name = "ws", .fields = DS_WATCH_WSCALE,
	.wscale = {{7, 8}}, .n_wscale = 1,
};
static const struct ds_watch_rule r_wscale0 = {
	.name = "ws0", .fields = DS_WATCH_WSCALE,
	.wscale = {{0, 0}}, .n_wscale = 1,
};
static const struct ds_watch_rule r_seq_yes = {
	.name = "seq_is_dst", .fields = DS_WATCH_SEQ_EQ_DST, .seq_eq_dst = true,
};
static const struct ds_watch_rule r_seq_no = {
	.name = "seq_not_dst", .fields = DS_WATCH_SEQ_EQ_DST, .seq_eq_dst = false,
};
static const struct ds_watch_rule r_ipid = {
	.name = "ipid", .fields = DS_WATCH_IP_ID,
	.ip_id = {{54321, 54321}}, .n_ip_id = 1,
};
static const struct ds_watch_rule r_paylen0 = {
	.name = "empty", .fields = DS_WATCH_PAYLOAD_LEN,
	.payload_len = {{0, 0}}, .n_payload_len = 1,
};
static const struct ds_watch_rule r_paylen_any = {
	.name = "any_len", .fields = DS_WATCH_PAYLOAD_LEN,
	.payload_len = {{0, 65535}}, .n_payload_len = 1,
};
/* A Mirai-like telnet SYN: all four fields must hold. */
static const struct ds_watch_rule r_and = {
	.name = "and", .fields = DS_WATCH_PROTO | DS_WATCH_DST_PORT | DS_WATCH_TTL |
				 DS_WATCH_WINDOW,
	.proto = {PROTO_BIT(6)},
	.dst_port = {{23, 23}}, .n_dst_port = 1,
	.ttl = {{200, 255}}, .n_ttl = 1,
	.window = {{14600, 14600}}, .n_window = 1,
};
static const struct ds_watch_rule r_window_all = {
	.name = "any_window", .fields = DS_WATCH_WINDOW,
	.window = {{0, 65535}}, .n_window = 1,
};
static const struct ds_watch_rule r_dport_all = {
	.name = "any_dport", .fields = DS_WATCH_DST_PORT,
	.dst_port = {{0, 65535}}, .n_dst_port = 1,
};
static const struct ds_watch_rule r_no_alt = {
	.name = "no_alternatives", .fields = DS_WATCH_DST_PORT, .n_dst_port = 0,
};
static const struct ds_watch_rule r_inverted = {
	.name = "lo_gt_hi", .fields = DS_WATCH_DST_PORT,
	.dst_port = {{10, 5}}, .n_dst_port = 1,
};
/* A count beyond the array: only the 16 entries exist, and the last one matches. */
static const struct ds_watch_rule r_overcount = {
	.name = "overcount", .fields = DS_WATCH_WINDOW,
	.window = {[15] = {5656, 5656}}, .n_window = 255,
};

static const struct ds_watch_rule *const all_rules[] = {
	&r_any, &r_proto, &r_proto_edges, &r_dport, &r_sport, &r_flags_syn, &r_flags_exact,
	&r_window, &r_5656, &r_ttl, &r_options, &r_options_none, &r_mss, &r_mss0, &r_wscale,
	&r_wscale0, &r_seq_yes, &r_seq_no, &r_ipid, &r_paylen0, &r_paylen_any, &r_and,
	&r_window_all, &r_dport_all, &r_no_alt, &r_inverted, &r_overcount,
};

struct watch_case {
	const struct ds_watch_rule *rule;
	struct spec s;
	bool match;
	const char *what;
};

#define SYN4(ttl, dp, win) IP4(S4, D4, ttl, ID), TCP(40000, dp, SEQ, SYN, win)

static void
test_watch(void)
{
	const struct watch_case cases[] = {
		{&r_any, {SYN4(64, 23, 1)}, true, "TCP"},
		{&r_any, {IP4(S4, D4, 64, ID), UDP(1, 2)}, true, "UDP"},
		{&r_any, {IP6(S6, D6, 64), ICMP6(128)}, true, "ICMPv6"},
		{&r_any, {IP4(S4, D4, 64, ID), TCP(0, 0, 0, 0, 0), .frag = 99}, true,
		 "later fragment"},
		{&r_proto, {SYN4(64, 23, 1)}, true, "TCP"},
		{&r_proto, {IP6(S6, D6, 64), UDP(1, 2)}, true, "IPv6 UDP"},
		{&r_proto, {IP4(S4, D4, 64, ID), ICMP4(8)}, false, "ICMP"},
		{&r_proto, {IP6(S6, D6, 64), ICMP6(128)}, false, "ICMPv6"},
		{&r_proto, {IP4(S4, D4, 64, ID), .proto = 47}, false, "GRE"},
		{&r_proto, {IP4(S4, D4, 64, ID), TCP(0, 0, 0, 0, 0), .frag = 99}, true,
		 "TCP later fragment (protocol is known)"},
		{&r_proto_edges, {IP4(S4, D4, 64, ID), .proto = 255}, true, "proto 255"},
		{&r_proto_edges, {IP4(S4, D4, 64, ID), .proto = 0}, true, "proto 0"},
		{&r_proto_edges, {IP4(S4, D4, 64, ID), .proto = 254}, false, "proto 254"},
		{&r_proto_edges, {IP4(S4, D4, 64, ID), ICMP4(0)}, false, "proto 1"},
		{&r_dport, {SYN4(64, 23, 1)}, true, "23"},
		{&r_dport, {SYN4(64, 22, 1)}, true, "22"},
		{&r_dport, {SYN4(64, 24, 1)}, false, "24"},
		{&r_dport, {SYN4(64, 21, 1)}, false, "21"},
		{&r_dport, {SYN4(64, 2323, 1)}, true, "2323"},
		{&r_dport, {SYN4(64, 7999, 1)}, false, "7999"},
		{&r_dport, {SYN4(64, 8000, 1)}, true, "8000"},
		{&r_dport, {SYN4(64, 8099, 1)}, true, "8099"},
		{&r_dport, {SYN4(64, 8100, 1)}, false, "8100"},
		{&r_dport, {IP4(S4, D4, 64, ID), UDP(1, 8050)}, true, "UDP 8050"},
		{&r_dport, {IP4(S4, D4, 64, ID), TCP(40000, 23, 0, SYN, 1), .frag = 50}, false,
		 "later fragment"},
		{&r_sport, {IP4(S4, D4, 64, ID), UDP(53, 40000)}, true, "UDP from 53"},
		{&r_sport, {IP4(S4, D4, 64, ID), TCP(53, 40000, SEQ, SYN | ACK, 0)}, true,
		 "TCP from 53"},
		{&r_sport, {IP4(S4, D4, 64, ID), UDP(40000, 53)}, false, "UDP to 53"},
		{&r_flags_syn, {SYN4(64, 23, 1)}, true, "SYN"},
		{&r_flags_syn, {IP4(S4, D4, 64, ID), TCP(1, 2, 3, SYN | ECE | CWR, 4)}, true,
		 "SYN+ECE+CWR"},
		{&r_flags_syn, {IP4(S4, D4, 64, ID), TCP(1, 2, 3, SYN | ACK, 4)}, false, "SYN+ACK"},
		{&r_flags_syn, {IP4(S4, D4, 64, ID), TCP(1, 2, 3, ACK, 4)}, false, "ACK"},
		{&r_flags_syn, {IP4(S4, D4, 64, ID), UDP(1, 2)}, false, "UDP"},
		{&r_flags_exact, {SYN4(64, 23, 1)}, true, "S"},
		{&r_flags_exact, {IP4(S4, D4, 64, ID), TCP(1, 2, 3, SYN | ECE, 4)}, false, "SE"},
		{&r_flags_exact, {IP4(S4, D4, 64, ID), TCP(1, 2, 3, RST | ACK, 4)}, true, "RA"},
		{&r_flags_exact, {IP4(S4, D4, 64, ID), TCP(1, 2, 3, RST, 4)}, false, "R"},
		{&r_window, {SYN4(64, 23, 0)}, true, "window 0"},
		{&r_window, {SYN4(64, 23, 1)}, false, "window 1"},
		{&r_window, {SYN4(64, 23, 1023)}, false, "window 1023"},
		{&r_window, {SYN4(64, 23, 1024)}, true, "window 1024"},
		{&r_window, {SYN4(64, 23, 1025)}, true, "window 1025"},
		{&r_window, {SYN4(64, 23, 1026)}, false, "window 1026"},
		{&r_window, {SYN4(64, 23, 65534)}, false, "window 65534"},
		{&r_window, {SYN4(64, 23, 65535)}, true, "window 65535"},
		{&r_5656, {SYN4(64, 23, 5656)}, true, "SYN window 5656"},
		{&r_5656, {IP6(S6, D6, 64), TCP(40000, 23, SEQ, SYN, 5656)}, true,
		 "IPv6 SYN window 5656"},
		{&r_5656, {SYN4(64, 23, 5655)}, false, "SYN window 5655"},
		{&r_5656, {SYN4(64, 23, 5657)}, false, "SYN window 5657"},
		{&r_5656, {IP4(S4, D4, 64, ID), TCP(23, 40000, SEQ, SYN | ACK, 5656)}, false,
		 "SYN+ACK window 5656"},
		{&r_5656, {IP4(S4, D4, 64, ID), UDP(40000, 5656)}, false, "UDP"},
		{&r_ttl, {SYN4(64, 23, 1)}, true, "ttl 64"},
		{&r_ttl, {SYN4(63, 23, 1)}, false, "ttl 63"},
		{&r_ttl, {SYN4(65, 23, 1)}, false, "ttl 65"},
		{&r_ttl, {SYN4(199, 23, 1)}, false, "ttl 199"},
		{&r_ttl, {SYN4(200, 23, 1)}, true, "ttl 200"},
		{&r_ttl, {SYN4(255, 23, 1)}, true, "ttl 255"},
		{&r_ttl, {IP4(S4, D4, 255, ID), .proto = 6, .frag = 9}, true,
		 "ttl 255, later fragment"},
		{&r_ttl, {IP6(S6, D6, 200), ICMP6(1)}, true, "hop limit 200, ICMPv6"},
		{&r_options, {SYN4(64, 22, 1024), OPTS(O_MSS1460)}, true, "MSS"},
		{&r_options, {SYN4(128, 445, 8192), OPTS(O_WINDOWS)}, true, "Windows layout"},
		{&r_options, {SYN4(64, 443, 29200), OPTS(O_LINUX)}, false, "Linux layout"},
		{&r_options, {SYN4(64, 22, 1024), OPTS(O_MSS1460, 0, 0, 0, 0)}, false, "MSS,EOL"},
		{&r_options, {SYN4(64, 22, 1024)}, false, "no options"},
		{&r_options, {SYN4(128, 445, 8192),
			      OPTS(O_MSS1460, 0x01, 0x03, 0x03, 0x08, 0x01, 0x01, 0x01, 0x01)},
		 false, "Windows layout with NOP for SACK"},
		{&r_options_none, {SYN4(64, 23, 1)}, true, "no options"},
		{&r_options_none, {SYN4(64, 22, 1024), OPTS(O_MSS1460)}, false, "MSS"},
		{&r_options_none, {IP4(S4, D4, 64, ID), UDP(1, 2)}, false, "UDP (TCP field)"},
		{&r_mss, {SYN4(64, 22, 1024), OPTS(O_MSS1460)}, true, "1460"},
		{&r_mss, {SYN4(64, 22, 1024), OPTS(2, 4, 0x05, 0xb3)}, false, "1459"},
		{&r_mss, {SYN4(64, 22, 1024), OPTS(2, 4, 0x02, 0x18)}, true, "536"},
		{&r_mss, {SYN4(64, 22, 1024), OPTS(2, 4, 0x02, 0x17)}, false, "535"},
		{&r_mss, {SYN4(64, 22, 1024), OPTS(2, 4, 0x04, 0xb0)}, true, "1200"},
		{&r_mss, {SYN4(64, 22, 1024), OPTS(2, 4, 0x04, 0xb1)}, false, "1201"},
		{&r_mss0, {SYN4(64, 22, 1024)}, false, "no MSS option (mss field 0)"},
		{&r_mss0, {SYN4(64, 22, 1024), OPTS(2, 6, 0, 0, 0, 0, 1, 1)}, false,
		 "MSS of the wrong length"},
		{&r_mss0, {SYN4(64, 22, 1024), OPTS(2, 4, 0, 0)}, true, "MSS 0"},
		{&r_wscale, {SYN4(64, 22, 1024), OPTS(1, 3, 3, 7)}, true, "7"},
		{&r_wscale, {SYN4(64, 22, 1024), OPTS(1, 3, 3, 8)}, true, "8"},
		{&r_wscale, {SYN4(64, 22, 1024), OPTS(1, 3, 3, 6)}, false, "6"},
		{&r_wscale, {SYN4(64, 22, 1024), OPTS(1, 3, 3, 9)}, false, "9"},
		{&r_wscale0, {SYN4(64, 22, 1024)}, false, "no WS option (wscale field 0)"},
		{&r_wscale0, {SYN4(64, 22, 1024), OPTS(1, 3, 3, 0)}, true, "WS 0"},
		{&r_seq_yes, {IP4(S4, D4, 64, ID), TCP(1, 23, D4, SYN, 5)}, true, "seq == dst"},
		{&r_seq_yes, {IP4(S4, D4, 64, ID), TCP(1, 23, D4 + 1, SYN, 5)}, false,
		 "seq == dst + 1"},
		{&r_seq_yes, {IP6(S6, D6, 64), TCP(1, 23, 0, SYN, 5)}, false, "IPv6, seq 0"},
		{&r_seq_yes, {IP4(S4, 0, 64, ID), UDP(1, 2)}, false, "UDP to 0.0.0.0"},
		{&r_seq_no, {IP4(S4, D4, 64, ID), TCP(1, 23, D4, SYN, 5)}, false, "seq == dst"},
		{&r_seq_no, {IP4(S4, D4, 64, ID), TCP(1, 23, D4 - 1, SYN, 5)}, true,
		 "seq == dst - 1"},
		{&r_seq_no, {IP6(S6, D6, 64), TCP(1, 23, 7, SYN, 5)}, false, "IPv6"},
		{&r_ipid, {IP4(S4, D4, 64, 54321), TCP(1, 2, 3, SYN, 5)}, true, "54321"},
		{&r_ipid, {IP4(S4, D4, 64, 54320), TCP(1, 2, 3, SYN, 5)}, false, "54320"},
		{&r_ipid, {IP4(S4, D4, 64, 54322), TCP(1, 2, 3, SYN, 5)}, false, "54322"},
		{&r_ipid, {IP4(S4, D4, 64, 54321), UDP(1, 2)}, true, "UDP 54321"},
		{&r_ipid, {IP4(S4, D4, 64, 54321), .proto = 6, .frag = 9}, true,
		 "later fragment 54321"},
		{&r_paylen0, {SYN4(64, 23, 1)}, true, "SYN, no payload"},
		{&r_paylen0, {SYN4(64, 23, 1), .payload = 1}, false, "SYN, 1 byte"},
		{&r_paylen0, {IP4(S4, D4, 64, ID), UDP(1, 2)}, true, "empty UDP"},
		{&r_paylen0, {IP4(S4, D4, 64, ID), ICMP4(3)}, true,
		 "ICMP, nothing after the checksum"},
		{&r_paylen0, {IP4(S4, D4, 64, ID), ICMP4(8), .payload = 4}, false,
		 "ICMP echo (identifier, sequence)"},
		{&r_paylen_any, {IP4(S4, D4, 64, ID), UDP(1, 2), .payload = 1400}, true, "UDP"},
		{&r_paylen_any, {IP4(S4, D4, 64, ID), .proto = 6, .frag = 9}, false,
		 "later fragment"},
		{&r_paylen_any, {IP4(S4, D4, 64, ID), .proto = 47, .payload = 4}, false, "GRE"},
		{&r_and, {SYN4(240, 23, 14600)}, true, "all four"},
		{&r_and, {SYN4(240, 24, 14600)}, false, "port 24"},
		{&r_and, {SYN4(64, 23, 14600)}, false, "ttl 64"},
		{&r_and, {SYN4(240, 23, 5840)}, false, "window 5840"},
		{&r_and, {IP4(S4, D4, 240, ID), UDP(1, 23)}, false, "UDP to 23"},
		{&r_window_all, {SYN4(64, 23, 7)}, true, "TCP"},
		{&r_window_all, {IP4(S4, D4, 64, ID), UDP(1, 2)}, false, "UDP"},
		{&r_window_all, {IP4(S4, D4, 64, ID), ICMP4(3)}, false, "ICMP"},
		{&r_window_all, {IP4(S4, D4, 64, ID), TCP(1, 2, 3, SYN, 4), .frag = 9}, false,
		 "TCP later fragment"},
		{&r_dport_all, {IP4(S4, D4, 64, ID), UDP(1, 0)}, true, "UDP port 0"},
		{&r_dport_all, {IP4(S4, D4, 64, ID), ICMP4(3)}, false, "ICMP"},
		{&r_dport_all, {IP6(S6, D6, 64), ICMP6(1)}, false, "ICMPv6"},
		{&r_no_alt, {SYN4(64, 23, 1)}, false, "a field without alternatives"},
		{&r_inverted, {SYN4(64, 7, 1)}, false, "port 7 in 10-5"},
		{&r_inverted, {SYN4(64, 10, 1)}, false, "port 10 in 10-5"},
		{&r_overcount, {SYN4(64, 23, 5656)}, true, "window[15]"},
		{&r_overcount, {SYN4(64, 23, 5657)}, false, "5657"},
	};
	struct ds_watch_rule all[N_ELEM(all_rules)];
	size_t used[N_ELEM(all_rules)] = {0};
	struct ds_watch_index *index;

	printf("watch rules\n");
	for (size_t i = 0; i < N_ELEM(all_rules); i++)
		all[i] = *all_rules[i];
	/* The compiled rules must say what the rules one by one say, case by case. */
	index = ds_watch_index_build(all, N_ELEM(all), UINT64_MAX);
	CHECK(index != NULL, "index of all rules: errno %d", errno);
	if (index == NULL)
		return;
	for (size_t i = 0; i < N_ELEM(cases); i++) {
		const struct watch_case *c = &cases[i];
		size_t idx = 0;
		struct ds_pkt p;
		uint64_t one, many;

		while (idx < N_ELEM(all_rules) - 1 && all_rules[idx] != c->rule)
			idx++;
		CHECK(all_rules[idx] == c->rule, "%s is not in all_rules", c->rule->name);
		used[idx]++;
		if (!decode_spec(&c->s, &p)) {
			printf("  FAIL %s: %s\n", c->rule->name, c->what);
			continue;
		}
		one = ds_watch_match(c->rule, 1, &p);
		many = ds_watch_match(all, N_ELEM(all), &p);
		CHECK(ds_watch_index_match(index, &p) == many, "%s: %s: index %" PRIx64
		      " against %" PRIx64, c->rule->name, c->what,
		      ds_watch_index_match(index, &p), many);
		CHECK(one == (c->match ? 1u : 0u), "%s: %s: alone %" PRIx64, c->rule->name,
		      c->what, one);
		CHECK(((many >> idx) & 1) == c->match, "%s: %s: at index %zu", c->rule->name,
		      c->what, idx);
		CHECK((many & 1) == 1, "%s: the empty rule 0 must match", c->what);
		printf("  %s %-16s %-45s %s\n",
		       one == (c->match ? 1u : 0u) && ((many >> idx) & 1) == c->match ? "ok  " :
		       "FAIL", c->rule->name, c->what, c->match ? "match" : "no match");
	}
	/* A rule in the array without a case would be matched but never checked. */
	for (size_t i = 0; i < N_ELEM(all_rules); i++)
		CHECK(used[i] >= 1, "rule %s has no case", all_rules[i]->name);
	ds_watch_index_free(index);
}

static void
test_watch_64(void)
{
	static struct ds_watch_rule rules[DS_MAX_WATCH_RULES + 1];
	const struct {
		uint16_t dport;
		uint64_t want;
	} cases[] = {
		{0, UINT64_C(1)},
		{1, UINT64_C(1) << 1},
		{62, UINT64_C(1) << 62},
		{63, UINT64_C(1) << 63},
		{64, 0},                        /* rule 64 exists but lies beyond the limit */
	};

	printf("64 rules\n");
	for (uint16_t i = 0; i < N_ELEM(rules); i++) {
		rules[i].fields = DS_WATCH_DST_PORT;
		rules[i].dst_port[0] = (struct ds_range16){i, i};
		rules[i].n_dst_port = 1;
	}
	for (size_t i = 0; i < N_ELEM(cases); i++) {
		struct spec s = {SYN4(64, cases[i].dport, 1)};
		struct ds_pkt p;
		uint64_t got;

		if (!decode_spec(&s, &p))
			continue;
		got = ds_watch_match(rules, DS_MAX_WATCH_RULES, &p);
		CHECK(got == cases[i].want, "dport %u: %" PRIx64, cases[i].dport, got);
		got = ds_watch_match(rules, DS_MAX_WATCH_RULES + 1, &p);
		CHECK(got == cases[i].want, "n = 65, dport %u: %" PRIx64, cases[i].dport, got);
		for (uint32_t n = DS_MAX_WATCH_RULES; n <= DS_MAX_WATCH_RULES + 1; n++) {
			struct ds_watch_index *x = ds_watch_index_build(rules, n, UINT64_MAX);

			got = ds_watch_index_match(x, &p);
			CHECK(got == cases[i].want, "index, n = %u, dport %u: %" PRIx64, n,
			      cases[i].dport, got);
			ds_watch_index_free(x);
		}
	}
	/* 64 rules that match everything, and the same in the last slot only. */
	for (size_t i = 0; i < N_ELEM(rules); i++)
		rules[i].fields = 0;
	{
		struct spec s = {IP6(S6, D6, 1), ICMP6(2)};
		struct ds_pkt p;

		if (decode_spec(&s, &p)) {
			CHECK(ds_watch_match(rules, 64, &p) == UINT64_MAX, "64 empty rules");
			CHECK(ds_watch_match(rules, 65, &p) == UINT64_MAX, "65 empty rules");
			for (size_t i = 0; i < 63; i++)
				rules[i].fields = DS_WATCH_IP_ID;   /* IPv4 only */
			CHECK(ds_watch_match(rules, 64, &p) == UINT64_C(1) << 63,
			      "bit 63 alone: %" PRIx64, ds_watch_match(rules, 64, &p));
			{
				struct ds_watch_index *x = ds_watch_index_build(rules, 64,
										UINT64_MAX);

				CHECK(ds_watch_index_match(x, &p) == UINT64_C(1) << 63,
				      "index: bit 63 alone");
				ds_watch_index_free(x);
			}
		}
	}
	printf("  ok   bit 0 to bit 63\n");
}

/*
 * The compiled rules against the rules one by one, on random rule sets and
 * packets. Rules name random fields with random alternatives (empty and
 * inverted ranges, more alternatives than the arrays hold, none at all);
 * packets are drawn field by field, mostly from the values at and beside
 * the rules' range ends and from their layouts, so that every boundary is
 * met; the presence flags, protocol and IP version are random too. The
 * decoder is bypassed on purpose: the index must agree on any struct
 * ds_pkt, not only on the ones ds_decode() makes.
 */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

#define POOL_MAX 4096

struct value_pool {
	uint16_t v[POOL_MAX];
	uint32_t n;
};

static void
pool_add(struct value_pool *pl, uint32_t v)
{
	if (pl->n < POOL_MAX)
		pl->v[pl->n++] = (uint16_t)v;
}

/* A range or ranges of a field, with its ends and their neighbours pooled. */
static uint8_t
random_ranges(struct ds_range16 *r, uint32_t max, struct value_pool *pl)
{
	uint32_t n = rng() % 8 == 0 ? (uint32_t)(rng() % 256) : (uint32_t)(rng() % 4) + 1;

	for (uint32_t i = 0; i < DS_WATCH_MAX_ALT; i++) {
		uint32_t lo = (uint32_t)(rng() % (max + 1)), span = (uint32_t)(rng() % 5);
		uint32_t hi = span == 4 ? (uint32_t)(rng() % (max + 1)) : lo + span;

		r[i].lo = (uint16_t)lo;
		r[i].hi = (uint16_t)(hi > max ? max : hi);
		if (i < n) {
			pool_add(pl, r[i].lo);
			pool_add(pl, r[i].hi);
			pool_add(pl, (r[i].lo - 1u) & max);
			pool_add(pl, (r[i].hi + 1u) & max);
		}
	}
	return (uint8_t)n;      /* 0: the field names nothing; above 16: clamped */
}

static uint32_t
pick(const struct value_pool *pl, uint32_t max)
{
	if (pl->n == 0 || rng() % 4 == 0)
		return (uint32_t)(rng() % (max + 1));
	return pl->v[rng() % pl->n] & max;
}

static void
test_watch_index_random(void)
{
	static struct ds_watch_rule rules[DS_MAX_WATCH_RULES];
	static const uint8_t layouts[][4] = {
		{DS_TCPOPT_MSS}, {DS_TCPOPT_MSS, DS_TCPOPT_NOP}, {DS_TCPOPT_NOP, DS_TCPOPT_MSS},
		{DS_TCPOPT_MSS, DS_TCPOPT_SACK_PERM, DS_TCPOPT_TS, DS_TCPOPT_NOP},
	};
	static const uint8_t layout_n[N_ELEM(layouts)] = {1, 2, 2, 4};
	const uint32_t rounds = 400, packets = 5000;
	uint64_t compared = 0, differ = 0, bits_set = 0, bits_clear = 0;
	size_t mem_max = 0;

	printf("compiled watch rules against the rules one by one\n");
	for (uint32_t round = 0; round < rounds; round++) {
		struct value_pool p16[6] = {{{0}, 0}}, p8[3] = {{{0}, 0}};
		uint32_t n = (uint32_t)(rng() % DS_MAX_WATCH_RULES) + 1;
		uint64_t active = rng() % 4 == 0 ? rng() : UINT64_MAX;
		struct ds_watch_index *x;

		memset(rules, 0, sizeof(rules));
		for (uint32_t i = 0; i < n; i++) {
			struct ds_watch_rule *r = &rules[i];

			/* Few fields a rule, so that some rules match some packets. */
			for (int b = 0; b < 12; b++)
				if (rng() % 5 == 0)
					r->fields |= (uint32_t)1 << b;
			for (int k = 0; k < 3; k++) {
				uint32_t pr = (uint32_t[]){6, 17, 1, 58, 0, 255}[rng() % 6];

				r->proto[pr >> 3] |= (uint8_t)(1u << (pr & 7));
			}
			r->n_dst_port = random_ranges(r->dst_port, 65535, &p16[0]);
			r->n_src_port = random_ranges(r->src_port, 65535, &p16[1]);
			r->n_window = random_ranges(r->window, 65535, &p16[2]);
			r->n_mss = random_ranges(r->mss, 65535, &p16[3]);
			r->n_ip_id = random_ranges(r->ip_id, 65535, &p16[4]);
			r->n_payload_len = random_ranges(r->payload_len, 65535, &p16[5]);
			r->n_ttl = random_ranges(r->ttl, rng() % 8 == 0 ? 65535 : 255, &p8[0]);
			r->n_wscale = random_ranges(r->wscale, 15, &p8[1]);
			r->n_tcp_flags = (uint8_t)(rng() % 4);
			for (uint32_t k = 0; k < DS_WATCH_MAX_ALT; k++) {
				r->tcp_flags[k].mask = (uint8_t)rng();
				r->tcp_flags[k].value = (uint8_t)(rng() & r->tcp_flags[k].mask);
				pool_add(&p8[2], r->tcp_flags[k].value);
			}
			r->n_options = (uint8_t)(rng() % 3);
			for (uint32_t k = 0; k < r->n_options; k++) {
				uint32_t l = (uint32_t)(rng() % N_ELEM(layouts));

				r->options[k].n = layout_n[l];
				memcpy(r->options[k].kinds, layouts[l], sizeof(layouts[l]));
			}
			r->seq_eq_dst = rng() % 2;
		}
		x = ds_watch_index_build(rules, n, active);
		CHECK(x != NULL, "round %u: index: errno %d", round, errno);
		if (x == NULL)
			continue;
		if (ds_watch_index_mem_size(x) > mem_max)
			mem_max = ds_watch_index_mem_size(x);
		for (uint32_t k = 0; k < packets; k++) {
			struct ds_pkt p;
			uint64_t want, got;
			uint32_t l = (uint32_t)(rng() % (N_ELEM(layouts) + 1));

			memset(&p, 0, sizeof(p));
			p.ip_version = rng() % 4 == 0 ? 6 : 4;
			p.proto = (uint8_t)(uint32_t[]){6, 6, 6, 17, 1, 58, 0, 255}[rng() % 8];
			p.flags = (uint16_t)((rng() % 8 != 0 ? DS_PKT_F_L4 : 0) |
					     (rng() % 2 ? DS_PKT_F_TCP_MSS : 0) |
					     (rng() % 2 ? DS_PKT_F_TCP_WS : 0));
			p.dport = (uint16_t)pick(&p16[0], 65535);
			p.sport = (uint16_t)pick(&p16[1], 65535);
			p.window = (uint16_t)pick(&p16[2], 65535);
			p.mss = (uint16_t)pick(&p16[3], 65535);
			p.ip_id = (uint16_t)pick(&p16[4], 65535);
			p.payload_len = (uint16_t)pick(&p16[5], 65535);
			p.ttl = (uint8_t)pick(&p8[0], 255);
			p.wscale = (uint8_t)pick(&p8[1], 255);
			p.tcp_flags = (uint8_t)pick(&p8[2], 255);
			p.dst4 = (uint32_t)rng();
			p.seq = rng() % 2 ? p.dst4 : (uint32_t)rng();
			if (l < N_ELEM(layouts)) {
				p.n_opts = layout_n[l];
				memcpy(p.opt_kinds, layouts[l], sizeof(layouts[l]));
			}
			want = ds_watch_match(rules, n, &p) & active;
			got = ds_watch_index_match(x, &p);
			compared++;
			bits_set += (uint64_t)__builtin_popcountll(want);
			bits_clear += (uint64_t)__builtin_popcountll(~want & active &
								     (n == 64 ? UINT64_MAX :
								      (UINT64_C(1) << n) - 1));
			if (got != want && differ++ < 5)
				CHECK(false, "round %u packet %u: index %" PRIx64 ", rules %" PRIx64,
				      round, k, got, want);
		}
		ds_watch_index_free(x);
	}
	CHECK(differ == 0, "%" PRIu64 " of %" PRIu64 " packets differ", differ, compared);
	/* Both answers must be common, or agreeing would prove little. */
	CHECK(bits_set > compared / 10 && bits_clear > compared,
	      "rule matches %" PRIu64 ", misses %" PRIu64 " over %" PRIu64 " packets", bits_set,
	      bits_clear, compared);
	printf("  %s %" PRIu64 " packets, %" PRIu64 " rule matches and %" PRIu64
	       " misses; largest index %zu KiB\n", differ == 0 ? "ok  " : "FAIL", compared,
	       bits_set, bits_clear, mem_max >> 10);
}

/* ---- real captures ---- */

/*
 * Figures from tshark 4.x field extraction (ip.src, ip.dst, ip.id, ip.ttl,
 * ip.proto, tcp.flags, tcp.seq_raw, tcp.dstport, tcp.window_size_value,
 * tcp.options, udp.srcport, icmp.type; first occurrence, so the headers
 * quoted inside ICMP errors do not count) with the rules of
 * docs/SIGNATURES.md applied in Python, over the frames tshark does not
 * mark malformed. The mirai, zmap and masscan columns are also the ones
 * ../shared/data/SOURCES.md states. `bad`: frames ds_decode() finds
 * malformed, which get no signatures (ARP and other non-IP frames are not
 * bad, only skipped); the four in lbnl_scanNG_23-tcp.pcap are SYNs whose TCP
 * header claims 24 bytes in a 40-byte datagram (tshark: "Short segment",
 * malformed), and they are why its TTL >= 200 count is 659 rather than the
 * 663 of all frames.
 */
static const struct {
	const char *file;
	uint32_t packets, bad;
	uint32_t mirai, zmap, masscan, nmap, synack, rst, icmp, dns, high_ttl;
} captures[] = {
	{"esnet_masscan_tcp_0_1000_20190821.pcap", 1005, 0, 0, 0, 1001, 0, 0, 4, 0, 0, 2},
	{"esnet_masscan_udp_0_1000_20190821.pcap", 1001, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1001},
	{"lbnl_icmp-scans_icmp-scans.pcap", 890, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	{"lbnl_icmp-scans_icmp-timestamp-scan.pcap", 1777, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
	{"lbnl_scanNG_23-tcp-scan.pcap", 31933, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0},
	{"lbnl_scanNG_23-tcp.pcap", 1557, 4, 798, 1, 54, 0, 0, 1, 0, 0, 659},
	{"lbnl_scanNG_scan-1433.pcap", 7667, 0, 0, 0, 7667, 7667, 0, 0, 0, 0, 0},
	{"lbnl_scanNG_test-for-accurate-scan-summary.pcap", 600, 0, 44, 0, 508, 500, 0, 1, 0, 0,
	 48},
	{"lbnl_vnc-scanner_VNCScanner.pcap", 3055, 0, 0, 0, 0, 0, 198, 10, 0, 0, 0},
	{"lbnl_ws-discovery-dos_one-scan.pcap", 178, 0, 0, 0, 0, 0, 0, 0, 0, 0, 178},
	{"seriouszyx_masscan.pcap", 612, 0, 0, 0, 600, 0, 3, 7, 0, 0, 0},
	{"seriouszyx_zmap.pcap", 10055, 0, 0, 10000, 0, 0, 14, 28, 0, 0, 10000},
	{"stopddos_amp.TCP.reflection.SYNACK.pcap", 8000, 0, 0, 0, 0, 0, 6651, 1018, 153, 0, 72},
	{"stopddos_pkt.TCP.synflood.spoofed.pcap", 37841, 0, 0, 1, 0, 0, 0, 0, 0, 0, 37841},
	{"ncsa_bro-simple-scan_backscatter.trace", 4771, 0, 0, 0, 0, 0, 3431, 1310, 28, 0, 92},
};

static uint32_t
rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* Reads a classic pcap (either byte order, us or ns) and counts signature bits. */
static int
count_capture(const char *path, uint32_t *packets, uint32_t *bad, uint32_t bits[DS_SIG_MAX])
{
	FILE *f = fopen(path, "rb");
	uint8_t gh[24], rh[16];
	static uint8_t frame[262144];
	bool swap;
	uint32_t magic;

	if (f == NULL)
		return -errno;
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh))
		goto bad;
	memcpy(&magic, gh, 4);
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
		swap = false;
	else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
		swap = true;
	else
		goto bad;
	if (rd32(gh + 20, swap) != 1)           /* Ethernet */
		goto bad;
	while (fread(rh, 1, sizeof(rh), f) == sizeof(rh)) {
		uint32_t caplen = rd32(rh + 8, swap);
		enum ds_decode_result r;
		struct ds_pkt p;
		uint64_t m;

		if (caplen > sizeof(frame) || fread(frame, 1, caplen, f) != caplen)
			goto bad;
		(*packets)++;
		r = ds_decode(frame, caplen, &p);
		if (r != DS_DECODE_OK) {
			*bad += r != DS_DECODE_NOT_IP;
			continue;
		}
		m = ds_sig_match(&p);
		for (int i = 0; i < DS_SIG_MAX; i++)
			bits[i] += (m >> i) & 1;
	}
	fclose(f);
	return 0;
bad:
	fclose(f);
	return -EINVAL;
}

static void
test_captures(void)
{
	const char *dir = getenv("DS_SHARED_DATA");

	printf("real captures\n");
	if (dir == NULL) {
		printf("  skip DS_SHARED_DATA is not set\n");
		return;
	}
	for (size_t i = 0; i < N_ELEM(captures); i++) {
		uint32_t bits[DS_SIG_MAX] = {0}, packets = 0, bad = 0;
		char path[4096];
		int rc;

		snprintf(path, sizeof(path), "%s/pcap/%s", dir, captures[i].file);
		rc = count_capture(path, &packets, &bad, bits);
		if (rc == -ENOENT) {
			printf("  skip %s: absent\n", captures[i].file);
			continue;
		}
		CHECK(rc == 0, "%s: unreadable (%d)", captures[i].file, rc);
		CHECK(packets == captures[i].packets, "%s: %u packets", captures[i].file, packets);
		CHECK(bad == captures[i].bad, "%s: %u rejected by the decoder", captures[i].file,
		      bad);
#define CMP(col, sig) CHECK(bits[DS_SIG_##sig] == captures[i].col, "%s: %s %u, tshark %u", \
			    captures[i].file, #col, bits[DS_SIG_##sig], captures[i].col)
		CMP(mirai, MIRAI);
		CMP(zmap, ZMAP);
		CMP(masscan, MASSCAN);
		CMP(nmap, NMAP_SYN);
		CMP(synack, BACKSCATTER_SYNACK);
		CMP(rst, BACKSCATTER_RST);
		CMP(icmp, BACKSCATTER_ICMP);
		CMP(dns, BACKSCATTER_DNS);
		CMP(high_ttl, SPOOF_HIGH_TTL);
#undef CMP
		printf("  ok   %s: mirai %u zmap %u masscan %u nmap %u synack %u rst %u icmp %u "
		       "high_ttl %u\n", captures[i].file, bits[DS_SIG_MIRAI], bits[DS_SIG_ZMAP],
		       bits[DS_SIG_MASSCAN], bits[DS_SIG_NMAP_SYN],
		       bits[DS_SIG_BACKSCATTER_SYNACK], bits[DS_SIG_BACKSCATTER_RST],
		       bits[DS_SIG_BACKSCATTER_ICMP], bits[DS_SIG_SPOOF_HIGH_TTL]);
	}
}

int
main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_bad_arguments();
	test_names();
	test_scanners();
	test_backscatter();
	test_spoofing();
	test_fragments();
	test_exhaustive_bytes();
	test_bogon_edges();
	test_fingerprints();
	test_fingerprint_key();
	test_ttl_classes();
	test_layout_labels();
	test_label_truncation();
	test_watch();
	test_watch_64();
	test_watch_index_random();
	test_captures();
	printf("%s (%d failure%s)\n", failures ? "FAIL" : "PASS", failures,
	       failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
