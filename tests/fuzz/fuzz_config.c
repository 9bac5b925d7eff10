/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * libFuzzer target: the YAML configuration loader on whole files.
 *
 * The input is the file, byte for byte, so every stage is reachable: the
 * read, libyaml's scanner (encodings, anchors, a second document), the node
 * tree, the schema walk of every section and the cross checks. A file that
 * loads must also be one the rest of the program can trust, so a loaded
 * configuration is checked against the bounds the header promises (counts
 * within their arrays, NUL-terminated names) and every feed prefix must
 * survive ds_prefix_format() -> ds_prefix_parse() unchanged. An error must
 * come with a message, and errno set. Both are aborts here: a finding.
 *
 * config.dict (-dict=) lists the keys and enumerated values, so the fuzzer
 * reaches the sections' own checks rather than only "unknown key".
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_config.h"
#include "fuzz_file.h"

static struct fuzz_file file;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_file_open(&file, "fuzz_config.yaml");
	return 0;
}

static void check_str(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

/* What callers of a loaded configuration rely on. */
static void check_config(const struct ds_config *c)
{
	char text[64];

	if (c->n_ports > DS_MAX_PORTS || c->n_feeds < 1 || c->n_feeds > DS_MAX_FEEDS ||
	    c->n_workers > DS_MAX_WORKERS || c->n_watch > DS_MAX_WATCH_RULES ||
	    c->geo.n_sources > DS_MAX_GEO_SOURCES)
		abort();
	check_str(c->sensor_id, sizeof(c->sensor_id));
	check_str(c->eal.lcores, sizeof(c->eal.lcores));
	check_str(c->redis.host, sizeof(c->redis.host));
	check_str(c->redis.key_prefix, sizeof(c->redis.key_prefix));
	for (uint32_t i = 0; i < c->eal.n_extra_args; i++)
		if (c->eal.extra_args[i] == NULL)
			abort();
	for (uint32_t i = 0; i < c->n_ports; i++)
		if (c->ports[i].rx_queues < 1 || c->ports[i].rx_queues > DS_MAX_RX_QUEUES)
			abort();
	for (uint32_t i = 0; i < c->n_workers; i++) {
		const struct ds_config_worker *w = &c->workers[i];

		if (w->n_rxq > sizeof(w->rxq) / sizeof(w->rxq[0]))
			abort();
		for (uint32_t q = 0; q < w->n_rxq; q++)
			if (w->rxq[q].port >= c->n_ports ||
			    w->rxq[q].queue >= c->ports[w->rxq[q].port].rx_queues)
				abort();
	}
	for (uint32_t i = 0; i < c->n_feeds; i++) {
		const struct ds_config_feed *f = &c->feeds[i];

		check_str(f->name, sizeof(f->name));
		for (uint32_t k = 0; k < f->n_prefixes; k++) {
			struct ds_prefix back;

			ds_prefix_format(&f->prefixes[k], text, sizeof(text));
			memset(&back, 0, sizeof(back));
			if (ds_prefix_parse(text, &back) != 0 ||
			    memcmp(&back, &f->prefixes[k], sizeof(back)) != 0)
				abort();
		}
	}
	for (uint32_t i = 0; i < c->n_watch; i++) {
		const struct ds_watch_rule *r = &c->watch[i];

		check_str(r->name, sizeof(r->name));
		if (r->fields == 0 || r->n_dst_port > DS_WATCH_MAX_ALT ||
		    r->n_src_port > DS_WATCH_MAX_ALT || r->n_tcp_flags > DS_WATCH_MAX_ALT ||
		    r->n_window > DS_WATCH_MAX_ALT || r->n_ttl > DS_WATCH_MAX_ALT ||
		    r->n_options > DS_WATCH_MAX_LAYOUTS || r->n_mss > DS_WATCH_MAX_ALT ||
		    r->n_wscale > DS_WATCH_MAX_ALT || r->n_ip_id > DS_WATCH_MAX_ALT ||
		    r->n_payload_len > DS_WATCH_MAX_ALT)
			abort();
		for (uint32_t k = 0; k < r->n_options; k++)
			if (r->options[k].n > sizeof(r->options[k].kinds))
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ds_config_error err;
	struct ds_config *c;

	fuzz_file_set(&file, data, size);
	errno = 0;
	c = ds_config_load(file.path, &err);
	if (c == NULL) {
		/* Every refusal names what is wrong: an empty message is a bug. */
		if (err.msg[0] == '\0' || errno == 0 ||
		    memchr(err.msg, '\0', sizeof(err.msg)) == NULL)
			abort();
		return 0;
	}
	check_config(c);
	ds_config_free(c);
	return 0;
}
