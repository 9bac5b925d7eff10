/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * Unit test of the JSON-lines sink. Rollups are built by hand and the bytes
 * written are compared with expected lines typed out from docs/SCHEMA.md, so
 * any change of key order, separator, escaping or number format fails here.
 * A stream on /dev/full checks that write errors come back as -errno.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_jsonl.h"
#include "ds_rollup.h"

/* 2018-03-29T20:13:00Z, the minute of the examples in SCHEMA.md. */
#define MINUTE 25372573

struct val {
	uint32_t value;
	uint64_t packets;
	uint64_t bytes;
	uint64_t sources;
};

static int
set_dim(struct ds_rollup_dim *d, const struct val *v, uint32_t n)
{
	if (ds_rollup_dim_resize(d, n) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		d->entries[i].value = v[i].value;
		d->entries[i].packets = v[i].packets;
		d->entries[i].bytes = v[i].bytes;
		d->entries[i].sources = v[i].sources;
	}
	ds_rollup_dim_sort(d);
	return 0;
}

/*
 * A busy feed and a silent one: protocols with bytes, ports with an `other`
 * bucket, an ICMP type/code, SYN layouts (a label, "none" and `other`), an
 * empty UDP dimension, counters in insertion order.
 */
static struct ds_rollup *
build_full(void)
{
	static const char *const feeds[] = { "darknet", "quiet" };
	struct ds_rollup *r = ds_rollup_create("tokyo-1", MINUTE, 2, feeds);
	struct ds_rollup_feed *f;
	int mss, none;

	if (r == NULL)
		return NULL;
	mss = ds_rollup_layout_add(r, "MSS,NOP,WS,NOP,NOP,SACK");
	none = ds_rollup_layout_add(r, "none");
	if (mss < 0 || none < 0)
		goto fail;
	f = &r->feeds[0];
	f->packets = 15;
	f->bytes = 1020;
	f->sources = 6;
	{
		const struct val proto[] = { { 17, 3, 300, 2 }, { 6, 11, 660, 4 },
					     { 1, 1, 60, 1 } };
		const struct val tcp[] = { { 23, 6, 0, 3 }, { DS_ROLLUP_OTHER, 2, 0, 1 },
					   { 445, 3, 0, 2 } };
		const struct val icmp[] = { { 8 << 8 | 0, 1, 0, 1 } };
		const struct val win[] = { { 5840, 4, 0, 2 }, { 65535, 1, 0, 1 } };
		const struct val opt[] = { { (uint32_t)none, 3, 0, 2 }, { (uint32_t)mss, 1, 0, 1 },
					   { DS_ROLLUP_OTHER, 1, 0, 1 } };
		const struct val cc[] = { { (uint32_t)ds_cc_index("JP"), 9, 0, 4 },
					  { DS_CC_BOGON, 4, 0, 1 }, { DS_CC_UNROUTED, 2, 0, 1 } };
		const struct val as[] = { { 4713, 9, 0, 4 }, { DS_ASN_BOGON, 4, 0, 1 },
					  { DS_ROLLUP_OTHER, 1, 0, 1 }, { DS_ASN_UNROUTED, 1, 0, 1 } };
		const struct val home[] = { { DS_HOME_DOMESTIC, 9, 0, 4 },
					    { DS_HOME_UNKNOWN, 6, 0, 2 } };
		const struct val sig[] = { { 0, 5, 0, 2 } };
		const struct val sig_cc[] = { { 0 << 10 | (uint32_t)ds_cc_index("JP"), 5, 0, 2 } };
		const struct val sig_home[] = { { 0 << 2 | DS_HOME_DOMESTIC, 5, 0, 2 } };
		const struct val watch[] = { { 0, 3, 0, 1 } };
		const struct val watch_home[] = { { 0 << 2 | DS_HOME_OVERSEAS, 3, 0, 1 } };

		if (set_dim(&f->dims[DS_DIM_PROTO], proto, 3) < 0 ||
		    set_dim(&f->dims[DS_DIM_TCP_DST_PORT], tcp, 3) < 0 ||
		    set_dim(&f->dims[DS_DIM_ICMP], icmp, 1) < 0 ||
		    set_dim(&f->dims[DS_DIM_TCP_SYN_WINDOW], win, 2) < 0 ||
		    set_dim(&f->dims[DS_DIM_TCP_SYN_OPTIONS], opt, 3) < 0 ||
		    set_dim(&f->dims[DS_DIM_SRC_COUNTRY], cc, 3) < 0 ||
		    set_dim(&f->dims[DS_DIM_SRC_ASN], as, 4) < 0 ||
		    set_dim(&f->dims[DS_DIM_SRC_HOME], home, 2) < 0 ||
		    set_dim(&f->dims[DS_DIM_SIGNATURE], sig, 1) < 0 ||
		    set_dim(&f->dims[DS_DIM_SIGNATURE_COUNTRY], sig_cc, 1) < 0 ||
		    set_dim(&f->dims[DS_DIM_SIGNATURE_HOME], sig_home, 1) < 0 ||
		    set_dim(&f->dims[DS_DIM_WATCH], watch, 1) < 0 ||
		    set_dim(&f->dims[DS_DIM_WATCH_HOME], watch_home, 1) < 0 ||
		    ds_rollup_name_add(r, DS_DIM_SIGNATURE, "mirai") < 0 ||
		    ds_rollup_name_add(r, DS_DIM_WATCH, "window-5656") < 0)
			goto fail;
	}
	if (ds_rollup_counter_add(r, "rx_packets", 20) < 0 ||
	    ds_rollup_counter_add(r, "outside", 5) < 0 ||
	    ds_rollup_counter_add(r, "malformed.tcp_doff", 0) < 0 ||
	    ds_rollup_counter_add(r, "worker.3.cycles", 18446744073709551615ULL) < 0)
		goto fail;
	return r;
fail:
	ds_rollup_free(r);
	return NULL;
}

static const char expected_full[] =
	"{\"sensor\": \"tokyo-1\", \"feed\": \"darknet\", \"minute\": \"2018-03-29T20:13:00Z\", "
	"\"partial\": false, \"sources_sampling\": 0, \"packets\": 15, \"bytes\": 1020, "
	"\"sources\": 6, \"dims\": {"
	"\"proto\": {\"6\": {\"packets\": 11, \"bytes\": 660, \"sources\": 4}, "
	"\"17\": {\"packets\": 3, \"bytes\": 300, \"sources\": 2}, "
	"\"1\": {\"packets\": 1, \"bytes\": 60, \"sources\": 1}}, "
	"\"tcp_dst_port\": {\"23\": {\"packets\": 6, \"sources\": 3}, "
	"\"445\": {\"packets\": 3, \"sources\": 2}, "
	"\"other\": {\"packets\": 2, \"sources\": 1}}, "
	"\"udp_dst_port\": {}, "
	"\"icmp\": {\"8/0\": {\"packets\": 1, \"sources\": 1}}, "
	"\"icmp6\": {}, "
	"\"tcp_syn_window\": {\"5840\": {\"packets\": 4, \"sources\": 2}, "
	"\"65535\": {\"packets\": 1, \"sources\": 1}}, "
	"\"tcp_syn_options\": {\"none\": {\"packets\": 3, \"sources\": 2}, "
	"\"MSS,NOP,WS,NOP,NOP,SACK\": {\"packets\": 1, \"sources\": 1}, "
	"\"other\": {\"packets\": 1, \"sources\": 1}}, "
	"\"src_country\": {\"JP\": {\"packets\": 9, \"sources\": 4}, "
	"\"bogon\": {\"packets\": 4, \"sources\": 1}, "
	"\"unrouted\": {\"packets\": 2, \"sources\": 1}}, "
	"\"src_asn\": {\"4713\": {\"packets\": 9, \"sources\": 4}, "
	"\"bogon\": {\"packets\": 4, \"sources\": 1}, "
	"\"unrouted\": {\"packets\": 1, \"sources\": 1}, "
	"\"other\": {\"packets\": 1, \"sources\": 1}}, "
	"\"src_home\": {\"domestic\": {\"packets\": 9, \"sources\": 4}, "
	"\"unknown\": {\"packets\": 6, \"sources\": 2}}, "
	"\"tcp_fingerprint\": {}, "
	"\"signature\": {\"mirai\": {\"packets\": 5, \"sources\": 2}}, "
	"\"signature_country\": {\"mirai/JP\": {\"packets\": 5, \"sources\": 2}}, "
	"\"signature_home\": {\"mirai/domestic\": {\"packets\": 5, \"sources\": 2}}, "
	"\"watch\": {\"window-5656\": {\"packets\": 3, \"sources\": 1}}, "
	"\"watch_country\": {}, "
	"\"watch_home\": {\"window-5656/overseas\": {\"packets\": 3, \"sources\": 1}}}, "
	"\"counters\": {\"rx_packets\": 20, \"outside\": 5, \"malformed.tcp_doff\": 0, "
	"\"worker.3.cycles\": 18446744073709551615}}\n"
	"{\"sensor\": \"tokyo-1\", \"feed\": \"quiet\", \"minute\": \"2018-03-29T20:13:00Z\", "
	"\"partial\": false, \"sources_sampling\": 0, \"packets\": 0, \"bytes\": 0, "
	"\"sources\": 0, \"dims\": {\"proto\": {}, \"tcp_dst_port\": {}, \"udp_dst_port\": {}, "
	"\"icmp\": {}, \"icmp6\": {}, \"tcp_syn_window\": {}, \"tcp_syn_options\": {}, "
	"\"src_country\": {}, \"src_asn\": {}, \"src_home\": {}, \"tcp_fingerprint\": {}, \"signature\": {}, \"signature_country\": {}, \"signature_home\": {}, \"watch\": {}, \"watch_country\": {}, \"watch_home\": {}}, "
	"\"counters\": {\"rx_packets\": 20, \"outside\": 5, \"malformed.tcp_doff\": 0, "
	"\"worker.3.cycles\": 18446744073709551615}}\n";

/* Names needing escapes, a partial sampled minute, no counters, ICMPv6 and UDP values. */
static struct ds_rollup *
build_escaped(void)
{
	static const char *const feeds[] = { "f\"1\\\t\x01\x1f/\xc3\xa9" };
	struct ds_rollup *r = ds_rollup_create("s\n", 0, 1, feeds);
	const struct val udp[] = { { 53, 2, 0, 2 } };
	const struct val icmp6[] = { { 128 << 8 | 0, 7, 0, 5 }, { 135 << 8 | 0, 7, 0, 1 } };

	if (r == NULL)
		return NULL;
	r->partial = true;
	r->sources_sampling = 3;
	r->feeds[0].packets = 9;
	r->feeds[0].bytes = 900;
	r->feeds[0].sources = 48;
	if (set_dim(&r->feeds[0].dims[DS_DIM_UDP_DST_PORT], udp, 1) < 0 ||
	    set_dim(&r->feeds[0].dims[DS_DIM_ICMP6], icmp6, 2) < 0) {
		ds_rollup_free(r);
		return NULL;
	}
	return r;
}

static const char expected_escaped[] =
	"{\"sensor\": \"s\\u000a\", \"feed\": \"f\\\"1\\\\\\u0009\\u0001\\u001f/\xc3\xa9\", "
	"\"minute\": \"1970-01-01T00:00:00Z\", \"partial\": true, \"sources_sampling\": 3, "
	"\"packets\": 9, \"bytes\": 900, \"sources\": 48, \"dims\": {\"proto\": {}, "
	"\"tcp_dst_port\": {}, \"udp_dst_port\": {\"53\": {\"packets\": 2, \"sources\": 2}}, "
	"\"icmp\": {}, \"icmp6\": {\"128/0\": {\"packets\": 7, \"sources\": 5}, "
	"\"135/0\": {\"packets\": 7, \"sources\": 1}}, \"tcp_syn_window\": {}, "
	"\"tcp_syn_options\": {}, \"src_country\": {}, \"src_asn\": {}, \"src_home\": {}"
	", \"tcp_fingerprint\": {}, \"signature\": {}, \"signature_country\": {}, \"signature_home\": {}, \"watch\": {}, \"watch_country\": {}, \"watch_home\": {}}, \"counters\": {}}\n";

static struct ds_rollup *
build_no_feeds(void)
{
	return ds_rollup_create("tokyo-1", MINUTE, 0, NULL);
}

/* Write r to a memory stream and compare byte for byte. */
static int
expect_output(struct ds_rollup *r, const char *expected)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int rc, fail = 0;

	if (r == NULL) {
		printf("  cannot build the rollup\n");
		return 1;
	}
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		ds_rollup_free(r);
		return 1;
	}
	rc = ds_jsonl_write(f, r);
	if (rc != 0) {
		printf("  ds_jsonl_write returned %d\n", rc);
		fail = 1;
	}
	fclose(f);
	if (!fail && (len != strlen(expected) || memcmp(buf, expected, len) != 0)) {
		printf("  output differs\n  got:      %.*s\n  expected: %s\n", (int)len, buf,
		       expected);
		fail = 1;
	}
	free(buf);
	ds_rollup_free(r);
	return fail;
}

static int
case_bad_args(void)
{
	struct ds_rollup *r = build_no_feeds();
	int fail = 0;

	if (r == NULL)
		return 1;
	if (ds_jsonl_write(NULL, r) != -EINVAL)
		fail = 1;
	if (ds_jsonl_write(stdout, NULL) != -EINVAL)
		fail = 1;
	ds_rollup_free(r);
	return fail;
}

static int
case_full(void)
{
	return expect_output(build_full(), expected_full);
}

static int
case_escaped(void)
{
	return expect_output(build_escaped(), expected_escaped);
}

static int
case_no_feeds(void)
{
	return expect_output(build_no_feeds(), "");
}

/* Two minutes in a row on one stream: lines append, nothing is rewritten. */
static int
case_two_minutes(void)
{
	char *buf = NULL;
	size_t len = 0;
	struct ds_rollup *a = build_escaped(), *b = build_escaped();
	FILE *f = open_memstream(&buf, &len);
	int fail = 0;

	if (a == NULL || b == NULL || f == NULL)
		fail = 1;
	if (!fail) {
		b->minute = 1;
		b->partial = false;
		if (ds_jsonl_write(f, a) != 0 || ds_jsonl_write(f, b) != 0)
			fail = 1;
	}
	if (f != NULL)
		fclose(f);
	if (!fail) {
		const char *second = buf + strlen(expected_escaped);

		if (len <= strlen(expected_escaped) ||
		    memcmp(buf, expected_escaped, strlen(expected_escaped)) != 0 ||
		    strstr(second, "\"minute\": \"1970-01-01T00:01:00Z\", "
				   "\"partial\": false") == NULL ||
		    strchr(second, '\n') != buf + len - 1)
			fail = 1;
	}
	free(buf);
	ds_rollup_free(a);
	ds_rollup_free(b);
	return fail;
}

/* /dev/full accepts open and buffered writes but fails the flush with ENOSPC. */
static int
case_dev_full(void)
{
	struct ds_rollup *r = build_full();
	FILE *f = fopen("/dev/full", "w");
	int rc, fail = 0;

	if (f == NULL) {
		printf("  /dev/full not available\n");
		ds_rollup_free(r);
		return 1;
	}
	rc = r != NULL ? ds_jsonl_write(f, r) : 0;
	if (rc != -ENOSPC) {
		printf("  expected %d, got %d\n", -ENOSPC, rc);
		fail = 1;
	}
	fclose(f);
	ds_rollup_free(r);
	return fail;
}

static const struct {
	const char *name;
	int (*run)(void);
} cases[] = {
	{ "bad arguments rejected", case_bad_args },
	{ "two feeds, every dimension kind, counters", case_full },
	{ "escaping, partial, sampled, no counters", case_escaped },
	{ "no feeds writes nothing", case_no_feeds },
	{ "two minutes append two lines", case_two_minutes },
	{ "write error on /dev/full is -ENOSPC", case_dev_full },
};

int
main(void)
{
	int failed = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fail = cases[i].run();

		printf("%s: %s\n", fail ? "FAIL" : "ok", cases[i].name);
		failed += fail;
	}
	return failed ? 1 : 0;
}
