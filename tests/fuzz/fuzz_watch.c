/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * libFuzzer target: the watch-rule parser and the matcher it feeds.
 *
 * The rule parser is part of the config loader (parse_watch() in
 * lib/config/ds_config.c, static), so the input is placed where it would be
 * in a file: after a minimal valid configuration and a `watch:` key. A whole
 * -file target would spend most inputs on other sections; here every input
 * is a watch section, in block or flow style, and the seeds and dictionary
 * are rules.
 *
 *   feeds: [...]        fixed, valid
 *   watch:              fixed
 *   <input>             the rules: "- name: x\n  match: {...}" or " [...]"
 *
 * Rules that load are then matched against a few decoded packets (a SYN with
 * options, a UDP datagram, an ICMP echo, an IPv6 SYN, a later fragment), so
 * any parsed rule, however odd, is also exercised by ds_watch_match(). The
 * result must name only rules that exist, and the same rules compiled
 * (ds_watch_index_match()) must give the same result.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_config.h"
#include "ds_decode.h"
#include "ds_sig.h"
#include "fuzz_file.h"

#define WATCH_INPUT_MAX (64u * 1024u)

static const char head[] =
	"feeds:\n"
	"  - name: darknet\n"
	"    prefixes: [198.18.0.0/15, \"2001:db8::/32\"]\n"
	"watch:";

/* Ethernet frames the rules are matched against. */
static const uint8_t syn4[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x3c, 0xd4, 0x31, 0x00, 0x00, 0xf0, 0x06, 0x00, 0x00,
	203, 0, 113, 7, 198, 18, 0, 23,
	0xc3, 0x50, 0x00, 0x17, 198, 18, 0, 23, 0, 0, 0, 0,
	0xa0, 0x02, 0x16, 0x18, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x07, 0x04, 0x02,
	0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 0,
};
static const uint8_t udp4[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x1f, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
	192, 0, 2, 1, 198, 19, 1, 2,
	0x00, 0x35, 0x0e, 0x76, 0x00, 0x0b, 0x00, 0x00, 'a', 'b', 'c',
};
static const uint8_t icmp4[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x00, 0x80, 0x01, 0x00, 0x00,
	192, 0, 2, 9, 198, 18, 7, 7,
	0x08, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01,
};
static const uint8_t frag4[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00,
	0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x10, 0x40, 0x06, 0x00, 0x00,
	192, 0, 2, 9, 198, 18, 7, 7,
	0, 0, 0, 0, 0, 0, 0, 0,
};
static const uint8_t syn6[] = {
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x86, 0xdd,
	0x60, 0, 0, 0, 0x00, 0x18, 0x06, 0x40,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
	0x04, 0x00, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0,
	0x60, 0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x04, 0x05, 0xa0,
};

static const struct {
	const uint8_t *frame;
	uint32_t len;
} frames[] = {
	{ syn4, sizeof(syn4) },
	{ udp4, sizeof(udp4) },
	{ icmp4, sizeof(icmp4) },
	{ frag4, sizeof(frag4) },
	{ syn6, sizeof(syn6) },
};
#define N_FRAMES (sizeof(frames) / sizeof(frames[0]))

static struct ds_pkt pkts[N_FRAMES];
static struct fuzz_file file;
static char *text;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	for (size_t i = 0; i < N_FRAMES; i++)
		if (ds_decode(frames[i].frame, frames[i].len, &pkts[i]) != DS_DECODE_OK) {
			fprintf(stderr, "fuzz_watch: test frame %zu does not decode\n", i);
			abort();
		}
	text = malloc(sizeof(head) + WATCH_INPUT_MAX);
	if (text == NULL)
		abort();
	fuzz_file_open(&file, "fuzz_watch.yaml");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ds_config_error err;
	struct ds_watch_index *index;
	struct ds_config *c;

	if (size > WATCH_INPUT_MAX)
		return 0;
	memcpy(text, head, sizeof(head) - 1);
	memcpy(text + sizeof(head) - 1, data, size);
	fuzz_file_set(&file, text, sizeof(head) - 1 + size);
	errno = 0;
	c = ds_config_load(file.path, &err);
	if (c == NULL) {
		if (err.msg[0] == '\0' || errno == 0)
			abort();
		return 0;
	}
	if (c->n_watch > DS_MAX_WATCH_RULES)
		abort();
	index = ds_watch_index_build(c->watch, c->n_watch, UINT64_MAX);
	if (index == NULL)
		abort();
	for (size_t i = 0; i < N_FRAMES; i++) {
		uint64_t m = ds_watch_match(c->watch, c->n_watch, &pkts[i]);

		if (c->n_watch < 64 && (m >> c->n_watch) != 0)
			abort();
		if (ds_watch_index_match(index, &pkts[i]) != m)
			abort();
	}
	ds_watch_index_free(index);
	ds_config_free(c);
	return 0;
}
