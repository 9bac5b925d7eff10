/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * libFuzzer target: the packet path of a worker, minus DPDK.
 *
 * The input is one Ethernet frame, exactly what a port would hand a worker.
 * It goes through everything a worker does with a frame's bytes:
 *
 *   ds_decode --> ds_sig_match, ds_watch_match --> ds_minbuf_count
 *            \-> ds_fingerprint_of --> ds_fingerprint_label, ds_layout_label_kinds
 *
 * so a read past the frame, an index past a dense array or a dictionary
 * that grows past its bound is caught by ASan/UBSan, not only a decoder bug.
 * The minute buffer is deliberately tiny (1024 pair slots, 4 layouts, 4
 * fingerprints, 4 ASes) so that sampling and the `other` ids are reached
 * within a few thousand inputs; every MERGE_EVERY inputs it is merged into a
 * rollup (the control thread's side) and reset, as at a minute boundary.
 *
 * The watch rules come from the real loader: a small configuration, written
 * here, with one rule per field kind, is loaded once at start-up. The
 * source's AS and country are derived from the address, so the geo
 * dimensions are counted too without loading geo data.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_config.h"
#include "ds_decode.h"
#include "ds_hist.h"
#include "ds_rollup.h"
#include "ds_sig.h"
#include "fuzz_file.h"

#define N_FEEDS 2
#define MERGE_EVERY 1024

/* One rule per field the matcher knows, alternatives and ranges included. */
static const char rules_yaml[] =
	"feeds:\n"
	"  - name: a\n"
	"    prefixes: [198.18.0.0/15]\n"
	"watch:\n"
	"  - name: win\n"
	"    match: {proto: tcp, tcp_flags: S/SA, window: [5656, 1024-2048]}\n"
	"  - name: telnet\n"
	"    match: {proto: [tcp, udp], dst_port: [23, 2323], ttl: 200-255}\n"
	"  - name: opts\n"
	"    match: {options: [\"MSS,NOP,WS,NOP,NOP,SACK\", \"MSS\", none], mss: 1200-1460}\n"
	"  - name: misc\n"
	"    match: {src_port: 53, wscale: 0-14, ip_id: 54321, payload_len: 0-3}\n"
	"  - name: mirai\n"
	"    match: {seq_eq_dst: true, tcp_flags: [S, SA/SAFR]}\n"
	"  - name: icmp\n"
	"    match: {proto: [icmp, icmp6, 47]}\n";

static struct ds_config *cfg;
static struct ds_minbuf *buf;
static struct ds_merge *merger;
static struct ds_merge_names names;
static const char *feed_names[N_FEEDS] = {"a", "b"};
static const char *watch_names[DS_MAX_WATCH_RULES];
static uint64_t execs;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ds_hist_limits lim = {
		.n_feeds = N_FEEDS,
		.source_pairs = 1024,
		.syn_option_layouts = 4,
		.src_asns = 4,
		.tcp_fingerprints = 4,
		.srcset_values = 2,
	};
	struct ds_config_error err;
	struct fuzz_file f;

	(void)argc;
	(void)argv;
	fuzz_file_open(&f, "fuzz_decode.yaml");
	fuzz_file_set(&f, rules_yaml, sizeof(rules_yaml) - 1);
	cfg = ds_config_load(f.path, &err);
	close(f.fd);
	buf = ds_minbuf_create(&lim);
	merger = ds_merge_create(&lim);
	if (cfg == NULL || buf == NULL || merger == NULL) {
		fprintf(stderr, "fuzz_decode: set-up failed: %s\n",
			cfg == NULL ? err.msg : "ENOMEM");
		abort();
	}
	for (uint32_t i = 0; i < cfg->n_watch; i++)
		watch_names[i] = cfg->watch[i].name;
	names = (struct ds_merge_names){
		.sensor = "fuzz",
		.feeds = feed_names,
		.watch = watch_names,
		.n_watch = cfg->n_watch,
	};
	return 0;
}

/* The minute boundary: merge what was counted, as the control thread would, and start over. */
static void minute_end(void)
{
	struct ds_minbuf *bufs[1] = {buf};
	struct ds_rollup *r;

	r = ds_merge_minute(merger, bufs, 1, &names, buf->minute);
	if (r == NULL)
		abort();
	ds_rollup_free(r);
	ds_minbuf_reset(buf, buf->minute + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ds_fingerprint fp;
	struct ds_src_geo g;
	struct ds_pkt p;
	enum ds_decode_result res;
	uint64_t sigs, rules;
	char label[512];
	uint32_t src;

	if (size > UINT32_MAX)
		return 0;
	res = ds_decode(data, (uint32_t)size, &p);
	if (ds_decode_result_name(res) == NULL)
		abort();
	if (res != DS_DECODE_OK) {
		/* What the worker does with it: a counter indexed by the result. */
		buf->ctr.malformed[res]++;
		return 0;
	}
	sigs = ds_sig_match(&p);
	rules = ds_watch_match(cfg->watch, cfg->n_watch, &p);
	if ((sigs >> DS_SIG_MAX) != 0 || (rules >> cfg->n_watch) != 0)
		abort();

	ds_fingerprint_of(&p, &fp);
	if (fp.n > DS_TCP_MAX_OPTS)
		abort();
	/* Labels must fit what the rollup names hold, and never overrun a short buffer. */
	if (ds_fingerprint_label(&fp, label, sizeof(label)) >= (int)sizeof(label) ||
	    ds_layout_label_kinds(fp.kinds, fp.n, label, sizeof(label)) >= (int)sizeof(label))
		abort();
	(void)ds_fingerprint_label(&fp, label, 7);
	(void)ds_layout_label_kinds(p.opt_kinds, p.n_opts, label, 5);

	/* A source "geo" from its address: every country index and home value reachable. */
	src = p.ip_version == 4 ? p.src4 : ds_hist_src6(p.src6);
	g.asn = src >> 24;
	g.cc = (uint16_t)(src % DS_CC_MAX);
	g.home = (uint8_t)(src % (DS_HOME_MAX + 1));
	ds_minbuf_count(buf, p.dst4 & 1, &p, (uint32_t)size, (src & 0x100) ? &g : NULL, sigs,
			rules);
	if (++execs % MERGE_EVERY == 0)
		minute_end();
	return 0;
}
