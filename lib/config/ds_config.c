/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * The darkscope configuration loader: one YAML file in, one struct ds_config
 * out, or one line that tells the operator exactly what is wrong and where.
 *
 *   file bytes --libyaml events--> small node tree --schema walk--> ds_config
 *   (read whole,     (anchors, aliases,     (key path, line, col     (cross checks:
 *    <= 16 MiB)       2nd document          kept for every            names, prefixes,
 *                     rejected here)        message)                  queues, lcores)
 *
 * Why a tree of our own rather than libyaml's document API: the document API
 * silently resolves aliases (we want to reject them, a config file should say
 * what it means in place), keeps no anchor information and cannot report
 * duplicate keys, which YAML allows and we refuse. Building the tree from the
 * event stream costs a hundred lines and lets the walk look ahead: feeds may
 * name ports defined further down the file, workers refer to both.
 *
 * Why the walk is per section with explicit key tables: every mapping lists
 * its keys once, so an unknown key can be reported with the keys that were
 * expected there, and a duplicate key with the line of the first one. Every
 * getter takes the node and the key name and formats its own message, so the
 * text "expected an integer 1-65535, got "http"" is written in one place.
 *
 * The loader never touches EAL or the network. Besides the configuration
 * file it only opens the geo data files the file names, to check that they
 * can be read (their contents are the geo loaders' business, lib/geo), and
 * ds_config_redis_password() reads the password file.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "ds_config.h"

#define CFG_FILE_MAX (16u << 20)        /* a config file is a few kB; refuse to slurp a disk */
#define CFG_DEPTH_MAX 32                /* the schema is 5 levels deep */
#define CFG_KEYS_MAX 32                 /* keys of the largest mapping (redis: 20) */
/*
 * Highest lcore id. The loader does not include DPDK headers, so this is
 * RTE_MAX_LCORE - 1 of Debian's DPDK 22.11 build (128); EAL would refuse
 * anything above it with a less helpful message.
 */
#define CFG_LCORE_MAX 127
#define CFG_EXTRA_ARGS_MAX 64
#define CFG_PREFIXES_MAX 65536          /* per feed */
#define CFG_QUOTE_MAX 64                /* bytes of a bad value echoed in a message */
#define QUOTE_BUF (CFG_QUOTE_MAX * 4 + 8)
#define CFG_PATH_QUOTE_MAX 256          /* bytes of a file path echoed: the end names the file */
#define PATH_QUOTE_BUF (CFG_PATH_QUOTE_MAX * 4 + 8)
#define CFG_RXQ_MAX (DS_MAX_PORTS * DS_MAX_RX_QUEUES / DS_MAX_WORKERS)

/* ------------------------------------------------------------------------------------------ */
/* The node tree                                                                              */
/* ------------------------------------------------------------------------------------------ */

enum node_type {
	NODE_SCALAR,
	NODE_SEQ,
	NODE_MAP,
};

struct node {
	enum node_type type;
	uint32_t line;          /* 1-based, as printed */
	uint32_t col;
	bool plain;             /* unquoted scalar: only those can be null */
	char *str;              /* scalar text, NUL-terminated (may hold NULs: see len) */
	size_t len;
	struct node **kids;     /* sequence items, or key, value, key, value, ... */
	uint32_t n_kids;
	uint32_t cap;
};

/* Everything a message needs: the file as named by the caller and the key path. */
struct cfg_ctx {
	const char *file;
	char *msg;                      /* err->msg, DS_CONFIG_ERR_MAX bytes */
	const char *text;               /* the file, for positions of encoding errors */
	size_t text_len;
	char key[256];                  /* "feeds[1].prefixes[2]" */
	size_t key_len;
	/* eal.lcores and main_lcore as parsed, for the workers checks */
	bool lcores_list;
	uint64_t lcore_set[(CFG_LCORE_MAX + 64) / 64];
	int main_lcore;                 /* effective main lcore, -1 when not known before EAL */
};

/*
 * Nodes are freed as a tree: the loader builds one per file, walks it once
 * and drops it, so there is no sharing and no reference counting. Marks are
 * converted to 1-based numbers here, once, because every message prints them
 * that way.
 */
static struct node *node_new(enum node_type type, const yaml_mark_t *mark)
{
	struct node *n = calloc(1, sizeof(*n));

	if (n == NULL)
		return NULL;
	n->type = type;
	n->line = (uint32_t)mark->line + 1;
	n->col = (uint32_t)mark->column + 1;
	return n;
}

static void node_free(struct node *n)
{
	uint32_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->n_kids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->str);
	free(n);
}

/* Doubling keeps a 65536-prefix list at 17 reallocations. */
static int node_add(struct node *parent, struct node *kid)
{
	if (parent->n_kids == parent->cap) {
		uint32_t cap = parent->cap ? parent->cap * 2 : 8;
		struct node **kids = realloc(parent->kids, cap * sizeof(*kids));

		if (kids == NULL)
			return -ENOMEM;
		parent->kids = kids;
		parent->cap = cap;
	}
	parent->kids[parent->n_kids++] = kid;
	return 0;
}

/* An unquoted empty, "~" or "null" scalar: YAML's null, "nothing given". */
static bool is_null(const struct node *n)
{
	if (n->type != NODE_SCALAR || !n->plain)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

/*
 * Exact comparison with the scalar's length: a double-quoted "auto\0x" holds
 * a NUL and must not compare equal to "auto".
 */
static bool scalar_is(const struct node *n, const char *s)
{
	return n->type == NODE_SCALAR && n->len == strlen(s) && memcmp(n->str, s, n->len) == 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Messages                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/*
 * The key path ("feeds[1].prefixes[2]") is one fixed buffer: each level
 * appends its part and remembers the old length, which pop restores. No
 * allocation, and the path is always ready when a message is written.
 */
static void key_append(struct cfg_ctx *c, const char *s)
{
	/* Key names come from the file: keep the message on one printable line. */
	while (*s != '\0' && c->key_len + 1 < sizeof(c->key)) {
		unsigned char ch = (unsigned char)*s++;

		c->key[c->key_len++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	c->key[c->key_len] = '\0';
}

static size_t key_push(struct cfg_ctx *c, const char *name)
{
	size_t saved = c->key_len;

	if (c->key_len > 0)
		key_append(c, ".");
	key_append(c, name);
	return saved;
}

static size_t key_push_index(struct cfg_ctx *c, uint32_t i)
{
	size_t saved = c->key_len;
	char buf[16];

	snprintf(buf, sizeof(buf), "[%u]", i);
	key_append(c, buf);
	return saved;
}

static void key_pop(struct cfg_ctx *c, size_t saved)
{
	c->key_len = saved;
	c->key[saved] = '\0';
}

/* Writes `"value"` into q (max * 4 + 8 bytes): escaped, cut after max bytes. */
static const char *quote_max(const char *s, size_t len, size_t max, char *q)
{
	size_t o = 0, i, lim = len;
	bool cut = false;

	if (lim > max) {
		lim = max;
		/* Do not cut a UTF-8 sequence in half. */
		while (lim > 0 && ((unsigned char)s[lim] & 0xc0) == 0x80)
			lim--;
		cut = true;
	}
	q[o++] = '"';
	for (i = 0; i < lim; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\') {
			q[o++] = '\\';
			q[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			snprintf(q + o, 5, "\\x%02x", ch);
			o += 4;
		} else {
			q[o++] = (char)ch;
		}
	}
	if (cut) {
		memcpy(q + o, "...", 3);
		o += 3;
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

/* A value from the file, in q (QUOTE_BUF bytes): long values are typos, their start is enough. */
static const char *quote(const char *s, size_t len, char *q)
{
	return quote_max(s, len, CFG_QUOTE_MAX, q);
}

/*
 * What the file gave: a quoted scalar, "nothing", "a list" or "a mapping".
 * "nothing" is the empty plain scalar of `port:`; quoting it as "" would
 * suggest the operator typed two quotes.
 */
static const char *describe(const struct node *n, char *q)
{
	if (n->type == NODE_MAP)
		return "a mapping";
	if (n->type == NODE_SEQ)
		return "a list";
	if (n->plain && n->len == 0)
		return "nothing";
	return quote(n->str, n->len, q);
}

static int vfail(struct cfg_ctx *c, uint32_t line, uint32_t col, const char *leaf,
		 const char *fmt, va_list ap)
{
	size_t saved = c->key_len;
	int n;

	if (leaf != NULL)
		key_push(c, leaf);
	/*
	 * The root has no key of its own: "document" says the message is about the
	 * whole file. A PATH_MAX file name or a long value truncates the line; its
	 * start is what matters.
	 */
	n = snprintf(c->msg, DS_CONFIG_ERR_MAX, "%s:%u:%u: %s: ", c->file, line, col,
		     c->key_len > 0 ? c->key : "document");
	if (n >= 0 && n < DS_CONFIG_ERR_MAX)
		vsnprintf(c->msg + n, DS_CONFIG_ERR_MAX - (size_t)n, fmt, ap);
	key_pop(c, saved);
	return -EINVAL;
}

/* At an explicit position, for places that are not a node (file, events, prefix refs). */
__attribute__((format(printf, 5, 6)))
static int fail_at(struct cfg_ctx *c, uint32_t line, uint32_t col, const char *leaf,
		   const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(c, line, col, leaf, fmt, ap);
	va_end(ap);
	return rc;
}

/* Fails at node n; leaf, when given, is appended to the key path for this message. */
__attribute__((format(printf, 4, 5)))
static int fail(struct cfg_ctx *c, const struct node *n, const char *leaf, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vfail(c, n->line, n->col, leaf, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Running out of memory says nothing about where in the file we were: it is
 * reported against the file as a whole, in the same shape as every message.
 */
static int fail_nomem(struct cfg_ctx *c)
{
	snprintf(c->msg, DS_CONFIG_ERR_MAX, "%s:1:1: file: out of memory", c->file);
	return -ENOMEM;
}

/* ------------------------------------------------------------------------------------------ */
/* YAML events -> tree                                                                        */
/* ------------------------------------------------------------------------------------------ */

static int yaml_problem(struct cfg_ctx *c, const yaml_parser_t *p)
{
	uint32_t line = 1, col = 1;
	size_t i;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail_nomem(c);
	case YAML_READER_ERROR:
		/*
		 * Encoding errors carry a byte offset, not a mark: count lines up to it
		 * ourselves (byte columns; the line is what the operator needs).
		 */
		for (i = 0; i < p->problem_offset && i < c->text_len; i++) {
			if (c->text[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		if (p->problem_value != -1)
			return fail_at(c, line, col, "yaml", "%s (byte 0x%02x)", p->problem,
				       (unsigned int)p->problem_value);
		return fail_at(c, line, col, "yaml", "%s", p->problem);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
		line = (uint32_t)p->problem_mark.line + 1;
		col = (uint32_t)p->problem_mark.column + 1;
		if (p->context != NULL)
			return fail_at(c, line, col, "yaml",
				       "%s (%s started at line %u, column %u)", p->problem,
				       p->context, (uint32_t)p->context_mark.line + 1,
				       (uint32_t)p->context_mark.column + 1);
		return fail_at(c, line, col, "yaml", "%s", p->problem);
	default:
		return fail_at(c, (uint32_t)p->mark.line + 1, (uint32_t)p->mark.column + 1, "yaml",
			       "%s", p->problem != NULL ? p->problem : "unknown libyaml error");
	}
}

/*
 * A syntax error is reported under the key "yaml" wherever it happens: the
 * key path being built may be wrong precisely because the syntax is.
 */
static int yaml_fail(struct cfg_ctx *c, const yaml_parser_t *p)
{
	size_t saved = c->key_len;
	char key[sizeof(c->key)];
	int rc;

	memcpy(key, c->key, sizeof(key));
	key_pop(c, 0);
	rc = yaml_problem(c, p);
	memcpy(c->key, key, sizeof(key));
	c->key_len = saved;
	return rc;
}

/* Every event comes through here, so every libyaml failure gets the same message. */
static int next_event(struct cfg_ctx *c, yaml_parser_t *p, yaml_event_t *ev)
{
	if (!yaml_parser_parse(p, ev))
		return yaml_fail(c, p);
	return 0;
}

/*
 * Builds the node that starts with event ev, consuming the events of its
 * children; ev is deleted here on every path. The key path is maintained as
 * in the schema walk, so an alias is reported under the key it stands for.
 */
static int build_node(struct cfg_ctx *c, yaml_parser_t *p, yaml_event_t *ev, unsigned int depth,
		      struct node **out)
{
	const yaml_mark_t *mark = &ev->start_mark;
	struct node *n = NULL, *kid = NULL;
	yaml_event_t next;
	yaml_char_t *anchor = NULL;
	size_t saved;
	int rc = 0;

	*out = NULL;
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		break;
	case YAML_ALIAS_EVENT:
		rc = fail_at(c, (uint32_t)mark->line + 1, (uint32_t)mark->column + 1, NULL,
			     "anchors and aliases are not supported");
		goto out;
	default:
		rc = fail_at(c, (uint32_t)mark->line + 1, (uint32_t)mark->column + 1, "yaml",
			     "unexpected YAML event %d", (int)ev->type);
		goto out;
	}
	if (anchor != NULL) {
		rc = fail_at(c, (uint32_t)mark->line + 1, (uint32_t)mark->column + 1, NULL,
			     "anchors and aliases are not supported");
		goto out;
	}
	if (depth > CFG_DEPTH_MAX) {
		rc = fail_at(c, (uint32_t)mark->line + 1, (uint32_t)mark->column + 1, NULL,
			     "nested deeper than %d levels", CFG_DEPTH_MAX);
		goto out;
	}

	/*
	 * Scalars keep their text and whether they were quoted: only a plain
	 * scalar can mean null, and "~" in quotes is just a tilde.
	 */
	if (ev->type == YAML_SCALAR_EVENT) {
		n = node_new(NODE_SCALAR, mark);
		if (n == NULL || (n->str = malloc(ev->data.scalar.length + 1)) == NULL) {
			rc = fail_nomem(c);
			goto out;
		}
		memcpy(n->str, ev->data.scalar.value, ev->data.scalar.length);
		n->str[ev->data.scalar.length] = '\0';
		n->len = ev->data.scalar.length;
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		goto out;
	}

	n = node_new(ev->type == YAML_SEQUENCE_START_EVENT ? NODE_SEQ : NODE_MAP, mark);
	if (n == NULL) {
		rc = fail_nomem(c);
		goto out;
	}
	for (;;) {
		rc = next_event(c, p, &next);
		if (rc != 0)
			goto out;
		if (next.type == YAML_SEQUENCE_END_EVENT || next.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&next);
			break;
		}
		if (n->type == NODE_SEQ) {
			saved = key_push_index(c, n->n_kids);
			rc = build_node(c, p, &next, depth + 1, &kid);
			key_pop(c, saved);
			if (rc == 0 && node_add(n, kid) != 0) {
				node_free(kid);
				rc = fail_nomem(c);
			}
			if (rc != 0)
				goto out;
			continue;
		}
		/* A mapping: the key, then its value under the key's name. */
		rc = build_node(c, p, &next, depth + 1, &kid);
		if (rc == 0 && node_add(n, kid) != 0) {
			node_free(kid);
			rc = fail_nomem(c);
		}
		if (rc != 0)
			goto out;
		rc = next_event(c, p, &next);
		if (rc != 0)
			goto out;
		saved = kid->type == NODE_SCALAR ? key_push(c, kid->str) : c->key_len;
		rc = build_node(c, p, &next, depth + 1, &kid);
		key_pop(c, saved);
		if (rc == 0 && node_add(n, kid) != 0) {
			node_free(kid);
			rc = fail_nomem(c);
		}
		if (rc != 0)
			goto out;
	}
out:
	yaml_event_delete(ev);
	if (rc != 0) {
		node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/*
 * One stream, one document; *root is NULL for an empty stream. The event
 * order is fixed by libyaml: STREAM-START, then either STREAM-END (nothing
 * but comments) or DOCUMENT-START, the root node, DOCUMENT-END, and then
 * STREAM-END or the next document, which we refuse: a second document would
 * silently be ignored by anything that reads only the first.
 */
static int build_tree(struct cfg_ctx *c, struct node **root)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	int rc;

	*root = NULL;
	if (!yaml_parser_initialize(&parser))
		return fail_nomem(c);
	yaml_parser_set_input_string(&parser, (const unsigned char *)c->text, c->text_len);

	rc = next_event(c, &parser, &ev);               /* STREAM-START */
	if (rc != 0)
		goto out;
	yaml_event_delete(&ev);
	rc = next_event(c, &parser, &ev);               /* DOCUMENT-START or STREAM-END */
	if (rc != 0 || ev.type == YAML_STREAM_END_EVENT)
		goto out_ev;
	yaml_event_delete(&ev);
	rc = next_event(c, &parser, &ev);               /* the root node */
	if (rc != 0)
		goto out;
	rc = build_node(c, &parser, &ev, 0, root);
	if (rc != 0)
		goto out;
	rc = next_event(c, &parser, &ev);               /* DOCUMENT-END */
	if (rc != 0)
		goto out;
	yaml_event_delete(&ev);
	rc = next_event(c, &parser, &ev);               /* STREAM-END, or a second document */
	if (rc != 0)
		goto out;
	if (ev.type == YAML_DOCUMENT_START_EVENT)
		rc = fail_at(c, (uint32_t)ev.start_mark.line + 1,
			     (uint32_t)ev.start_mark.column + 1, NULL,
			     "only one YAML document is supported");
out_ev:
	yaml_event_delete(&ev);
out:
	yaml_parser_delete(&parser);
	if (rc != 0) {
		node_free(*root);
		*root = NULL;
	}
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Value parsers: text -> number, no messages                                                 */
/* ------------------------------------------------------------------------------------------ */

/*
 * Plain decimal: no sign, no leading zero, no "_" or "0x", no trailing junk,
 * no overflow. YAML 1.1 reads 010 as octal 8 and 1_000 as 1000; other tools
 * reading the same file may disagree with us on those, so they are refused
 * rather than guessed. Nothing in the schema is negative.
 */
static bool parse_decimal(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || (len > 1 && s[0] == '0'))
		return false;
	for (i = 0; i < len; i++) {
		unsigned int d = (unsigned char)s[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/*
 * "90", "500ms", "2s", "5m", "7d" -> milliseconds. A bare number is seconds
 * (what an operator means by "timeout: 5"). Integers only: "1.5s" is refused
 * rather than rounded, "1500ms" says the same exactly. The unit is
 * lower-case and follows the digits directly, so "2 s" and "2S" are typos.
 */
static bool parse_duration_ms(const char *s, size_t len, uint64_t *ms)
{
	static const struct {
		const char *suffix;
		uint64_t ms;
	} units[] = {
		{ "", 1000 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 },
		{ "d", 86400000 },
	};
	size_t digits = 0;
	uint64_t v;
	unsigned int i;

	while (digits < len && s[digits] >= '0' && s[digits] <= '9')
		digits++;
	if (!parse_decimal(s, digits, &v))
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].suffix) != len - digits ||
		    memcmp(units[i].suffix, s + digits, len - digits) != 0)
			continue;
		if (v > UINT64_MAX / units[i].ms)
			return false;
		*ms = v * units[i].ms;
		return true;
	}
	return false;
}

/*
 * The text of a duration limit in a message: "1ms", "60s", "3600s", "1d".
 * Seconds up to a day read best next to the defaults ("2s", "30s"); whole
 * days beyond that ("3650d" rather than "315360000s").
 */
static void format_ms(uint64_t ms, char *buf, size_t size)
{
	if (ms == 0)
		snprintf(buf, size, "0");
	else if (ms % 1000 != 0)
		snprintf(buf, size, "%llums", (unsigned long long)ms);
	else if (ms % 86400000 == 0)
		snprintf(buf, size, "%llud", (unsigned long long)(ms / 86400000));
	else
		snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
}

/*
 * Names end up in Redis keys, JSON strings, EAL file names and log lines:
 * this alphabet needs no escaping in any of them, and no ':' so a name can
 * never be confused with the separators of a Redis key.
 */
static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

static bool name_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= DS_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

/* PCI addresses are hex in either case, as lspci and sysfs print them. */
static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool hex_field(const char *s, unsigned int digits, unsigned int *out)
{
	unsigned int i, v = 0;

	for (i = 0; i < digits; i++) {
		int h = hex_value(s[i]);

		if (h < 0)
			return false;
		v = v * 16 + (unsigned int)h;
	}
	*out = v;
	return true;
}

/*
 * DDDD:BB:DD.F or BB:DD.F; on success writes the canonical lower-case
 * "dddd:bb:dd.f" (13 bytes) used to spot two ports on one device.
 */
static bool pci_parse(const char *s, size_t len, char *canon)
{
	unsigned int domain = 0, bus, dev, fn;

	if (len == 12) {
		if (!hex_field(s, 4, &domain) || s[4] != ':')
			return false;
		s += 5;
	} else if (len != 7) {
		return false;
	}
	if (!hex_field(s, 2, &bus) || s[2] != ':' || !hex_field(s + 3, 2, &dev) || s[5] != '.' ||
	    s[6] < '0' || s[6] > '7' || dev > 0x1f)
		return false;
	fn = (unsigned int)(s[6] - '0');
	snprintf(canon, 13, "%04x:%02x:%02x.%u", domain, bus, dev, fn);
	return true;
}

/*
 * "net_<driver><n>[,key=value...]". canon receives the name before the comma:
 * EAL refuses two vdevs of one name whatever their arguments.
 */
static bool vdev_parse(const char *s, size_t len, char *canon, size_t canon_size)
{
	size_t i, name_len;

	if (len <= 4 || len >= sizeof(((struct ds_config_port *)0)->device) ||
	    strncmp(s, "net_", 4) != 0)
		return false;
	for (name_len = 4; name_len < len && s[name_len] != ','; name_len++) {
		char ch = s[name_len];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_'))
			return false;
	}
	if (name_len == 4)
		return false;
	/* Arguments: printable, no blanks (EAL splits nothing, but a blank is always a typo). */
	for (i = name_len; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	snprintf(canon, canon_size, "%.*s", (int)name_len, s);
	return true;
}

static bool lcore_isset(const uint64_t *set, unsigned int l)
{
	return (set[l / 64] >> (l % 64)) & 1;
}

/*
 * A DPDK core list: "3", "0-3", "0,2,4", "1-3,6"; or, when it contains '@',
 * an lcore-to-CPU map of single items "0@0,1@1,2@1" (EAL's --lcores, without
 * its parenthesised groups), which runs several lcores on one CPU (*map is
 * set then). Returns 0, -EINVAL for bad syntax or an lcore above
 * CFG_LCORE_MAX, -EEXIST with *dup for an lcore listed twice. The set of
 * lcores is kept so that main_lcore and the workers can be checked against it.
 */
static int parse_lcore_list(const char *s, size_t len, uint64_t *set, unsigned int *dup,
			    bool *map)
{
	size_t i = 0;

	*map = memchr(s, '@', len) != NULL;
	while (i <= len) {
		size_t start = i;
		uint64_t lo, hi, l, cpu;

		while (i < len && s[i] != ',' && s[i] != '-' && s[i] != '@')
			i++;
		if (!parse_decimal(s + start, i - start, &lo))
			return -EINVAL;
		hi = lo;
		/* "a-b" is inclusive, as in EAL, and must not run backwards. */
		if (!*map && i < len && s[i] == '-') {
			start = ++i;
			while (i < len && s[i] != ',')
				i++;
			if (!parse_decimal(s + start, i - start, &hi) || hi < lo)
				return -EINVAL;
		}
		/* "lcore@cpu": the CPU only has to be a number; EAL checks it exists. */
		if (*map && i < len && s[i] == '@') {
			start = ++i;
			while (i < len && s[i] != ',')
				i++;
			if (!parse_decimal(s + start, i - start, &cpu) || cpu > 4095)
				return -EINVAL;
		}
		if (hi > CFG_LCORE_MAX || (i < len && s[i] != ','))
			return -EINVAL;
		for (l = lo; l <= hi; l++) {
			if (lcore_isset(set, (unsigned int)l)) {
				*dup = (unsigned int)l;
				return -EEXIST;
			}
			set[l / 64] |= 1ull << (l % 64);
		}
		i++;            /* past the comma; past the end ends the loop */
	}
	return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Getters: node -> field, with the message when the node is wrong                            */
/* ------------------------------------------------------------------------------------------ */
/*
 * Each takes the key name (leaf) and the value node; a NULL node means the key
 * is absent and the default stays. Lists call them with leaf NULL after
 * pushing "[i]".
 */

/*
 * Checks that map is a mapping (or null: an empty section) whose keys are all
 * in names, once each; vals[k] receives the value of names[k] or NULL.
 */
static int map_collect(struct cfg_ctx *c, const struct node *map, const char *const *names,
		       unsigned int n_names, const struct node **vals)
{
	const struct node *keys[CFG_KEYS_MAX] = { NULL };
	char q[QUOTE_BUF];
	unsigned int k;
	uint32_t i;

	for (k = 0; k < n_names; k++)
		vals[k] = NULL;
	if (is_null(map))
		return 0;
	if (map->type != NODE_MAP)
		return fail(c, map, NULL, "expected a mapping, got %s", describe(map, q));
	for (i = 0; i + 1 < map->n_kids; i += 2) {
		const struct node *key = map->kids[i];

		if (key->type != NODE_SCALAR)
			return fail(c, key, NULL, "expected a key name, got %s", describe(key, q));
		for (k = 0; k < n_names; k++)
			if (scalar_is(key, names[k]))
				break;
		if (k == n_names) {
			char list[DS_CONFIG_ERR_MAX];
			size_t o = 0;

			list[0] = '\0';
			for (k = 0; k < n_names && o < sizeof(list); k++)
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
						      k ? ", " : "", names[k]);
			return fail(c, key, key->str, "unknown key (expected one of: %s)", list);
		}
		if (keys[k] != NULL)
			return fail(c, key, key->str, "duplicate key (first at line %u)",
				    keys[k]->line);
		keys[k] = key;
		vals[k] = map->kids[i + 1];
	}
	return 0;
}

static int require(struct cfg_ctx *c, const struct node *map, const struct node *val,
		   const char *name)
{
	if (val != NULL)
		return 0;
	return fail(c, map, NULL, "missing key '%s'", name);
}

/*
 * A list of min-max entries (null: empty), returned in items and count;
 * what names the entries in messages ("feeds").
 */
static int get_seq(struct cfg_ctx *c, const char *leaf, const struct node *n, uint32_t min,
		   uint32_t max, const char *what, struct node *const **items, uint32_t *count)
{
	char expect[96], q[QUOTE_BUF];

	*items = NULL;
	*count = 0;
	if (min > 0)
		snprintf(expect, sizeof(expect), "a list of %u-%u %s", min, max, what);
	else
		snprintf(expect, sizeof(expect), "a list of at most %u %s", max, what);
	if (!is_null(n)) {
		if (n->type != NODE_SEQ)
			return fail(c, n, leaf, "expected %s, got %s", expect, describe(n, q));
		*items = n->kids;
		*count = n->n_kids;
	}
	if (*count < min)
		return fail(c, n, leaf, "expected %s, got %s", expect,
			    n->type == NODE_SEQ ? "an empty list" : describe(n, q));
	if (*count > max)
		return fail(c, n->kids[max], leaf, "expected %s, got %u entries", expect, *count);
	return 0;
}

static int get_uint(struct cfg_ctx *c, const char *leaf, const struct node *n, uint64_t min,
		    uint64_t max, uint64_t *out)
{
	char q[QUOTE_BUF];
	uint64_t v;

	if (n->type != NODE_SCALAR || !parse_decimal(n->str, n->len, &v) || v < min || v > max)
		return fail(c, n, leaf, "expected an integer %llu-%llu, got %s",
			    (unsigned long long)min, (unsigned long long)max, describe(n, q));
	*out = v;
	return 0;
}

static int get_u16(struct cfg_ctx *c, const char *leaf, const struct node *n, uint16_t min,
		   uint16_t max, uint16_t *out)
{
	uint64_t v;
	int rc;

	if (n == NULL)
		return 0;
	/* The range given by the caller is within the field's type: the cast cannot wrap. */
	rc = get_uint(c, leaf, n, min, max, &v);
	if (rc == 0)
		*out = (uint16_t)v;
	return rc;
}

static int get_u32(struct cfg_ctx *c, const char *leaf, const struct node *n, uint32_t min,
		   uint32_t max, uint32_t *out)
{
	uint64_t v;
	int rc;

	if (n == NULL)
		return 0;
	rc = get_uint(c, leaf, n, min, max, &v);
	if (rc == 0)
		*out = (uint32_t)v;
	return rc;
}

/*
 * A duration between min_ms and max_ms, stored in units of unit_ms (1 or
 * 1000). A _s field refuses "1500ms" instead of truncating it to 1 s: the
 * operator asked for something the field cannot hold.
 */
static int get_duration(struct cfg_ctx *c, const char *leaf, const struct node *n,
			uint64_t min_ms, uint64_t max_ms, uint64_t unit_ms, uint32_t *out)
{
	char lo[32], hi[32], q[QUOTE_BUF];
	uint64_t ms;

	if (n == NULL)
		return 0;
	if (n->type == NODE_SCALAR && parse_duration_ms(n->str, n->len, &ms) && ms >= min_ms &&
	    ms <= max_ms && ms % unit_ms == 0) {
		*out = (uint32_t)(ms / unit_ms);
		return 0;
	}
	format_ms(min_ms, lo, sizeof(lo));
	format_ms(max_ms, hi, sizeof(hi));
	if (unit_ms == 1000)
		return fail(c, n, leaf, "expected a duration %s-%s in whole seconds such as "
			    "\"60s\" or \"5m\", got %s", lo, hi, describe(n, q));
	return fail(c, n, leaf, "expected a duration %s-%s such as \"2s\" or \"500ms\", got %s",
		    lo, hi, describe(n, q));
}

/*
 * YAML 1.1 booleans in any letter case, because operators write them all
 * ways; "1" and "0" are refused: in YAML they are integers, and a reader of
 * the file should not have to know which keys are booleans.
 */
static int get_bool(struct cfg_ctx *c, const char *leaf, const struct node *n, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	char q[QUOTE_BUF];
	unsigned int i;

	if (n == NULL)
		return 0;
	for (i = 0; n->type == NODE_SCALAR && i < 3; i++) {
		if (n->len == strlen(yes[i]) && strcasecmp(n->str, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (n->len == strlen(no[i]) && strcasecmp(n->str, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail(c, n, leaf, "expected true or false, got %s", describe(n, q));
}

/* One of names[] (case-sensitive, like the keys): *out is its index. */
static int get_enum(struct cfg_ctx *c, const char *leaf, const struct node *n,
		    const char *const *names, unsigned int n_names, int *out)
{
	char list[128], q[QUOTE_BUF];
	size_t o = 0;
	unsigned int i;

	if (n == NULL)
		return 0;
	for (i = 0; i < n_names; i++) {
		if (scalar_is(n, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	/* "auto, packet or clock" */
	for (i = 0; i < n_names; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
				      i == 0 ? "" : i + 1 == n_names ? " or " : ", ", names[i]);
	return fail(c, n, leaf, "expected %s, got %s", list, describe(n, q));
}

static int get_name(struct cfg_ctx *c, const char *leaf, const struct node *n, char *out)
{
	char q[QUOTE_BUF];

	if (n == NULL)
		return 0;
	if (n->type != NODE_SCALAR || !name_valid(n->str, n->len))
		return fail(c, n, leaf, "expected a name of 1-63 characters A-Z a-z 0-9 _ . -, "
			    "got %s", describe(n, q));
	memcpy(out, n->str, n->len + 1);
	return 0;
}

/*
 * A string shorter than size, without control characters; null gives "".
 * Control characters (a "\n" in a double-quoted host) are never meant and
 * would break the one-line log and error formats downstream.
 */
static int get_str(struct cfg_ctx *c, const char *leaf, const struct node *n, char *out,
		   size_t size)
{
	char q[QUOTE_BUF];
	size_t i;

	if (n == NULL)
		return 0;
	if (is_null(n)) {
		out[0] = '\0';
		return 0;
	}
	if (n->type == NODE_SCALAR && n->len < size) {
		for (i = 0; i < n->len; i++)
			if ((unsigned char)n->str[i] < 0x20 || n->str[i] == 0x7f)
				break;
		if (i == n->len) {
			memcpy(out, n->str, n->len + 1);
			return 0;
		}
	}
	return fail(c, n, leaf, "expected a string of at most %zu bytes without control "
		    "characters, got %s", size - 1, describe(n, q));
}

/* ------------------------------------------------------------------------------------------ */
/* Sections                                                                                   */
/* ------------------------------------------------------------------------------------------ */
/*
 * One function per top-level key, called with the key path set to the
 * section's name. Each lists its keys in an enum and a table built from it,
 * so a key added to one is a compile-time reminder to handle it; then reads
 * them into cfg in an order chosen so that a value can be checked against
 * the ones it depends on (rss after rx_queues, main_lcore after lcores).
 */

static int parse_sensor(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	static const char *const keys[] = { "id" };
	const struct node *v[1];
	int rc;

	rc = map_collect(c, n, keys, 1, v);
	if (rc == 0)
		rc = get_name(c, "id", v[0], cfg->sensor_id);
	return rc;
}

/*
 * eal: only what darkscope turns into EAL arguments (see docs/CONFIG.md);
 * anything else goes through extra_args, last, so it can override.
 */
enum { E_LCORES, E_MAIN_LCORE, E_MEMORY_MB, E_HUGE_PAGES, E_FILE_PREFIX, E_EXTRA_ARGS, E_N };
static const char *const eal_keys[E_N] = {
	[E_LCORES] = "lcores",
	[E_MAIN_LCORE] = "main_lcore",
	[E_MEMORY_MB] = "memory_mb",
	[E_HUGE_PAGES] = "huge_pages",
	[E_FILE_PREFIX] = "file_prefix",
	[E_EXTRA_ARGS] = "extra_args",
};

static int parse_eal(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	struct ds_config_eal *e = &cfg->eal;
	const struct node *v[E_N];
	struct node *const *args;
	char q[QUOTE_BUF];
	uint32_t i, n_args;
	int rc;

	rc = map_collect(c, n, eal_keys, E_N, v);
	if (rc != 0)
		return rc;

	if (v[E_LCORES] != NULL && !scalar_is(v[E_LCORES], "auto")) {
		const struct node *l = v[E_LCORES];
		unsigned int dup = 0;

		rc = l->type == NODE_SCALAR && l->len < sizeof(e->lcores) ?
		     parse_lcore_list(l->str, l->len, c->lcore_set, &dup, &e->lcores_map) :
		     -EINVAL;
		if (rc == -EEXIST)
			return fail(c, l, "lcores", "lcore %u is listed twice in %s", dup,
				    describe(l, q));
		if (rc != 0)
			return fail(c, l, "lcores", "expected \"auto\", a core list of lcores "
				    "0-%d such as \"0-3\" or \"0,2,4\", or an lcore map such as "
				    "\"0@0,1@1,2@1\", got %s", CFG_LCORE_MAX, describe(l, q));
		memcpy(e->lcores, l->str, l->len + 1);
		c->lcores_list = true;
	}

	if (v[E_MAIN_LCORE] != NULL && !scalar_is(v[E_MAIN_LCORE], "auto")) {
		const struct node *m = v[E_MAIN_LCORE];
		uint64_t id;

		if (m->type != NODE_SCALAR || !parse_decimal(m->str, m->len, &id) ||
		    id > CFG_LCORE_MAX)
			return fail(c, m, "main_lcore", "expected \"auto\" or an integer 0-%d, "
				    "got %s", CFG_LCORE_MAX, describe(m, q));
		if (c->lcores_list && !lcore_isset(c->lcore_set, (unsigned int)id))
			return fail(c, m, "main_lcore", "lcore %llu is not in eal.lcores \"%s\"",
				    (unsigned long long)id, e->lcores);
		e->main_lcore = (int)id;
	}
	/* What EAL will pick when main_lcore is auto: the lowest lcore of the list. */
	c->main_lcore = e->main_lcore;
	for (i = 0; c->main_lcore < 0 && c->lcores_list && i <= CFG_LCORE_MAX; i++)
		if (lcore_isset(c->lcore_set, i))
			c->main_lcore = (int)i;

	/* No upper bound of our own: EAL knows the machine, we do not. */
	rc = get_u32(c, "memory_mb", v[E_MEMORY_MB], 0, UINT32_MAX, &e->memory_mb);
	if (rc == 0)
		rc = get_bool(c, "huge_pages", v[E_HUGE_PAGES], &e->huge_pages);
	if (rc == 0)
		rc = get_name(c, "file_prefix", v[E_FILE_PREFIX], e->file_prefix);
	if (rc == 0 && v[E_EXTRA_ARGS] != NULL)
		rc = get_seq(c, "extra_args", v[E_EXTRA_ARGS], 0, CFG_EXTRA_ARGS_MAX, "arguments",
			     &args, &n_args);
	if (rc != 0 || v[E_EXTRA_ARGS] == NULL || n_args == 0)
		return rc;

	e->extra_args = calloc(n_args, sizeof(*e->extra_args));
	if (e->extra_args == NULL)
		return fail_nomem(c);
	e->n_extra_args = n_args;
	for (i = 0; i < n_args; i++) {
		const struct node *a = args[i];
		size_t saved = key_push(c, "extra_args");

		key_push_index(c, i);
		/* An empty argument is never meant and EAL would take it as a stray operand. */
		if (a->type != NODE_SCALAR || a->len == 0 || strlen(a->str) != a->len) {
			rc = fail(c, a, NULL, "expected a non-empty string, got %s",
				  describe(a, q));
			key_pop(c, saved);
			return rc;
		}
		key_pop(c, saved);
		e->extra_args[i] = strdup(a->str);
		if (e->extra_args[i] == NULL)
			return fail_nomem(c);
	}
	return 0;
}

/*
 * capture: burst tops out at 512, well past where larger bursts stop paying
 * off; mbufs at 16M, 32 GB of 2 kB buffers.
 */
enum { C_BURST, C_MBUFS, C_TIME_SOURCE, C_STATS_INTERVAL, C_N };
static const char *const capture_keys[C_N] = {
	[C_BURST] = "burst",
	[C_MBUFS] = "mbufs",
	[C_TIME_SOURCE] = "time_source",
	[C_STATS_INTERVAL] = "stats_interval",
};

static int parse_capture(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	static const char *const sources[] = { "auto", "packet", "clock" };
	struct ds_config_capture *cap = &cfg->capture;
	const struct node *v[C_N];
	int ts = (int)cap->time_source;
	char q[QUOTE_BUF];
	uint64_t mbufs;
	int rc;

	rc = map_collect(c, n, capture_keys, C_N, v);
	if (rc == 0)
		rc = get_u16(c, "burst", v[C_BURST], 1, 512, &cap->burst);
	if (rc == 0 && v[C_MBUFS] != NULL && !scalar_is(v[C_MBUFS], "auto")) {
		const struct node *m = v[C_MBUFS];

		if (m->type != NODE_SCALAR || !parse_decimal(m->str, m->len, &mbufs) ||
		    mbufs < 1024 || mbufs > 16777216)
			return fail(c, m, "mbufs", "expected \"auto\" or an integer 1024-16777216, "
				    "got %s", describe(m, q));
		cap->mbufs = (uint32_t)mbufs;
	}
	if (rc == 0)
		rc = get_enum(c, "time_source", v[C_TIME_SOURCE], sources, 3, &ts);
	cap->time_source = (enum ds_time_source)ts;
	if (rc == 0)
		rc = get_duration(c, "stats_interval", v[C_STATS_INTERVAL], 0, 86400000, 1000,
				  &cap->stats_interval_s);
	return rc;
}

/*
 * ports: rx_queues is capped by DS_MAX_RX_QUEUES (port_mask and the worker
 * tables are sized by it); rx_descriptors by what common PMDs accept.
 */
enum { P_NAME, P_DEVICE, P_RX_QUEUES, P_RSS, P_RX_DESCRIPTORS, P_PROMISCUOUS, P_N };
static const char *const port_keys[P_N] = {
	[P_NAME] = "name",
	[P_DEVICE] = "device",
	[P_RX_QUEUES] = "rx_queues",
	[P_RSS] = "rss",
	[P_RX_DESCRIPTORS] = "rx_descriptors",
	[P_PROMISCUOUS] = "promiscuous",
};

/*
 * One ports[] entry into cfg->ports[cfg->n_ports]. canon[] holds the
 * canonical device of every port so far: "3b:00.0" and "0000:3B:00.0" are
 * one NIC, and two vdevs of one name are one vdev to EAL, whatever their
 * arguments. Either would fail much later in rte_eal_init() or, worse,
 * count the same packets twice.
 */
static int parse_port(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg,
		      char (*canon)[sizeof(((struct ds_config_port *)0)->device)])
{
	struct ds_config_port *p = &cfg->ports[cfg->n_ports];
	const struct node *v[P_N], *d;
	char q[QUOTE_BUF];
	uint32_t i;
	int rc;

	rc = map_collect(c, n, port_keys, P_N, v);
	if (rc == 0)
		rc = require(c, n, v[P_NAME], "name");
	if (rc == 0)
		rc = require(c, n, v[P_DEVICE], "device");
	if (rc == 0)
		rc = get_name(c, "name", v[P_NAME], p->name);
	if (rc != 0)
		return rc;
	for (i = 0; i < cfg->n_ports; i++)
		if (strcmp(cfg->ports[i].name, p->name) == 0)
			return fail(c, v[P_NAME], "name", "duplicate port name \"%s\" (first at "
				    "ports[%u], line %u)", p->name, i, cfg->ports[i].line);

	d = v[P_DEVICE];
	if (d->type == NODE_SCALAR && pci_parse(d->str, d->len, canon[cfg->n_ports])) {
		p->is_vdev = false;
	} else if (d->type == NODE_SCALAR &&
		   vdev_parse(d->str, d->len, canon[cfg->n_ports], sizeof(canon[0]))) {
		p->is_vdev = true;
	} else {
		return fail(c, d, "device", "expected a PCI address such as \"0000:3b:00.0\" or a "
			    "vdev such as \"net_af_packet0,iface=eth1\", got %s", describe(d, q));
	}
	for (i = 0; i < cfg->n_ports; i++)
		if (strcmp(canon[i], canon[cfg->n_ports]) == 0)
			return fail(c, d, "device", "device %s is already used by ports[%u] "
				    "(\"%s\")", describe(d, q), i, cfg->ports[i].name);
	memcpy(p->device, d->str, d->len + 1);

	rc = get_u16(c, "rx_queues", v[P_RX_QUEUES], 1, DS_MAX_RX_QUEUES, &p->rx_queues);
	/* RSS is what spreads packets over several queues; one queue needs none. */
	p->rss = p->rx_queues > 1;
	if (rc == 0)
		rc = get_bool(c, "rss", v[P_RSS], &p->rss);
	if (rc == 0)
		rc = get_u16(c, "rx_descriptors", v[P_RX_DESCRIPTORS], 64, 16384,
			     &p->rx_descriptors);
	if (rc == 0)
		rc = get_bool(c, "promiscuous", v[P_PROMISCUOUS], &p->promiscuous);
	return rc;
}

/* ports: absent, null or [] all mean no ports (a --replay-only configuration). */
static int parse_ports(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	char canon[DS_MAX_PORTS][sizeof(cfg->ports[0].device)];
	struct node *const *items;
	uint32_t i, count;
	int rc;

	rc = get_seq(c, NULL, n, 0, DS_MAX_PORTS, "ports", &items, &count);
	for (i = 0; rc == 0 && i < count; i++) {
		size_t saved = key_push_index(c, i);
		struct ds_config_port *p = &cfg->ports[i];

		/* Defaults first: the entry is filled in place. */
		p->rx_queues = 1;
		p->rx_descriptors = 1024;
		p->promiscuous = true;
		p->line = items[i]->line;
		rc = parse_port(c, items[i], cfg, canon);
		key_pop(c, saved);
		if (rc == 0)
			cfg->n_ports++;
	}
	return rc;
}

/* Where each prefix was given, to name both places of a duplicate. */
struct prefix_ref {
	struct ds_prefix prefix;
	uint32_t feed;
	uint32_t index;
	uint32_t line;
	uint32_t col;
};

static int prefix_ref_cmp(const void *a, const void *b)
{
	const struct prefix_ref *x = a, *y = b;
	int d;

	if (x->prefix.family != y->prefix.family)
		return x->prefix.family < y->prefix.family ? -1 : 1;
	if (x->prefix.len != y->prefix.len)
		return x->prefix.len < y->prefix.len ? -1 : 1;
	d = memcmp(x->prefix.addr, y->prefix.addr, sizeof(x->prefix.addr));
	if (d != 0)
		return d;
	/* Equal prefixes in file order: the first of a run is the original. */
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/*
 * The same prefix twice, in one feed or two, is ambiguous (which feed counts
 * it?) or a copy-paste slip. parse_feeds() sorts every prefix with its place
 * in the file (n log n for long lists of /24s) and reports the repetition
 * that comes first in the file, naming the original.
 */
static bool prefix_equal(const struct ds_prefix *a, const struct ds_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

enum { F_NAME, F_PREFIXES, F_PORTS, F_N };
static const char *const feed_keys[F_N] = {
	[F_NAME] = "name",
	[F_PREFIXES] = "prefixes",
	[F_PORTS] = "ports",
};

/*
 * One feeds[] entry, already counted in cfg->n_feeds so ds_config_free()
 * releases its prefixes on any error. Each prefix is also recorded in refs
 * with its position, for the duplicate check that needs every feed.
 */
static int parse_feed(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg,
		      struct prefix_ref *refs, uint32_t *n_refs)
{
	struct ds_config_feed *f = &cfg->feeds[cfg->n_feeds - 1];
	const struct node *v[F_N];
	struct node *const *items;
	char q[QUOTE_BUF], text[64];
	uint32_t i, j, count;
	size_t saved;
	int rc;

	rc = map_collect(c, n, feed_keys, F_N, v);
	if (rc == 0)
		rc = require(c, n, v[F_NAME], "name");
	if (rc == 0)
		rc = require(c, n, v[F_PREFIXES], "prefixes");
	if (rc == 0)
		rc = get_name(c, "name", v[F_NAME], f->name);
	if (rc != 0)
		return rc;
	for (i = 0; i + 1 < cfg->n_feeds; i++)
		if (strcmp(cfg->feeds[i].name, f->name) == 0)
			return fail(c, v[F_NAME], "name", "duplicate feed name \"%s\" (first at "
				    "feeds[%u], line %u)", f->name, i, cfg->feeds[i].line);

	rc = get_seq(c, "prefixes", v[F_PREFIXES], 1, CFG_PREFIXES_MAX, "prefixes", &items,
		     &count);
	if (rc != 0)
		return rc;
	f->prefixes = calloc(count, sizeof(*f->prefixes));
	if (f->prefixes == NULL)
		return fail_nomem(c);
	f->n_prefixes = count;
	saved = key_push(c, "prefixes");
	for (i = 0; i < count; i++) {
		const struct node *p = items[i];
		size_t s2 = key_push_index(c, i);

		/* strlen: a quoted "198.18.0.0/16\0junk" must not parse as its first part. */
		rc = p->type == NODE_SCALAR && strlen(p->str) == p->len ?
		     ds_prefix_parse(p->str, &f->prefixes[i]) : -EINVAL;
		/* The prefix the operator almost certainly meant is in f->prefixes[i] now. */
		if (rc == -ERANGE) {
			ds_prefix_format(&f->prefixes[i], text, sizeof(text));
			rc = fail(c, p, NULL, "%s: host bits set (did you mean %s?)", p->str, text);
		} else if (rc != 0) {
			rc = fail(c, p, NULL, "expected an IPv4 or IPv6 prefix such as "
				  "\"198.18.0.0/15\" or \"2001:db8::/32\", got %s", describe(p, q));
		}
		key_pop(c, s2);
		if (rc != 0)
			break;
		refs[*n_refs].prefix = f->prefixes[i];
		refs[*n_refs].feed = cfg->n_feeds - 1;
		refs[*n_refs].index = i;
		refs[*n_refs].line = p->line;
		refs[*n_refs].col = p->col;
		(*n_refs)++;
	}
	key_pop(c, saved);
	if (rc != 0)
		return rc;

	/* Absent: every port carries the feed; with no ports at all (--replay), every input. */
	f->port_mask = cfg->n_ports > 0 ? (1ull << cfg->n_ports) - 1 : ~0ull;
	if (v[F_PORTS] == NULL)
		return 0;
	rc = get_seq(c, "ports", v[F_PORTS], 1, DS_MAX_PORTS, "port names", &items, &count);
	if (rc != 0)
		return rc;
	f->port_mask = 0;
	saved = key_push(c, "ports");
	for (i = 0; rc == 0 && i < count; i++) {
		const struct node *p = items[i];
		size_t s2 = key_push_index(c, i);

		for (j = 0; j < cfg->n_ports; j++)
			if (scalar_is(p, cfg->ports[j].name))
				break;
		if (j == cfg->n_ports)
			rc = fail(c, p, NULL, "unknown port %s (%s)", describe(p, q),
				  cfg->n_ports ? "not in ports[].name" : "no ports are defined");
		else if (f->port_mask & (1ull << j))
			rc = fail(c, p, NULL, "port \"%s\" is listed twice", cfg->ports[j].name);
		f->port_mask |= 1ull << j;
		key_pop(c, s2);
	}
	key_pop(c, saved);
	return rc;
}

/* feeds: required, after ports so that feeds[].ports can be resolved to a mask. */
static int parse_feeds(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	const struct prefix_ref *dup = NULL, *orig = NULL, *first = NULL;
	struct prefix_ref *refs = NULL;
	struct node *const *items;
	uint32_t i, count, n_refs = 0;
	size_t total = 0, saved;
	char text[64];
	int rc;

	rc = get_seq(c, NULL, n, 1, DS_MAX_FEEDS, "feeds", &items, &count);
	if (rc != 0)
		return rc;
	/* An upper bound of the prefix count (every list value of every feed): refs never grows. */
	for (i = 0; i < count; i++) {
		uint32_t k;

		for (k = 1; items[i]->type == NODE_MAP && k < items[i]->n_kids; k += 2)
			if (items[i]->kids[k]->type == NODE_SEQ)
				total += items[i]->kids[k]->n_kids;
	}
	refs = malloc((total + 1) * sizeof(*refs));
	if (refs == NULL)
		return fail_nomem(c);

	for (i = 0; i < count; i++) {
		struct ds_config_feed *f = &cfg->feeds[i];

		saved = key_push_index(c, i);
		f->line = items[i]->line;
		cfg->n_feeds++;
		rc = parse_feed(c, items[i], cfg, refs, &n_refs);
		key_pop(c, saved);
		if (rc != 0)
			goto out;
	}

	qsort(refs, n_refs, sizeof(*refs), prefix_ref_cmp);
	for (i = 0; i < n_refs; i++) {
		/* Sorted by prefix then position: the first of a run is the original. */
		if (first == NULL || !prefix_equal(&first->prefix, &refs[i].prefix)) {
			first = &refs[i];
			continue;
		}
		if (dup == NULL || refs[i].line < dup->line ||
		    (refs[i].line == dup->line && refs[i].col < dup->col)) {
			dup = &refs[i];
			orig = first;
		}
	}
	if (dup != NULL) {
		ds_prefix_format(&dup->prefix, text, sizeof(text));
		saved = key_push_index(c, dup->feed);
		key_push(c, "prefixes");
		key_push_index(c, dup->index);
		rc = fail_at(c, dup->line, dup->col, NULL, "%s is listed twice (also "
			     "feeds[%u].prefixes[%u] in feed \"%s\", line %u)", text, orig->feed,
			     orig->index, cfg->feeds[orig->feed].name, orig->line);
		key_pop(c, saved);
	}
out:
	free(refs);
	return rc;
}

enum { W_LCORE, W_RX, W_N };
static const char *const worker_keys[W_N] = { [W_LCORE] = "lcore", [W_RX] = "rx" };
enum { X_PORT, X_QUEUE, X_N };
static const char *const rx_keys[X_N] = { [X_PORT] = "port", [X_QUEUE] = "queue" };

/* Which worker reads each (port, queue), to catch a queue given twice or never. */
struct queue_owner {
	uint64_t assigned[DS_MAX_PORTS];        /* bit q: queue q has a worker */
	uint8_t worker[DS_MAX_PORTS][DS_MAX_RX_QUEUES];
};

/*
 * One workers[w].rx[] entry: the port by name, a queue the port has, and not
 * read by another worker (two workers polling one queue is undefined in DPDK).
 */
static int parse_rx(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg,
		    uint32_t w, struct queue_owner *own)
{
	struct ds_config_rxq *rxq = &cfg->workers[w].rxq[cfg->workers[w].n_rxq];
	const struct node *v[X_N];
	char q[QUOTE_BUF];
	uint64_t queue;
	uint32_t p;
	int rc;

	rc = map_collect(c, n, rx_keys, X_N, v);
	if (rc == 0)
		rc = require(c, n, v[X_PORT], "port");
	if (rc == 0)
		rc = require(c, n, v[X_QUEUE], "queue");
	if (rc != 0)
		return rc;
	for (p = 0; p < cfg->n_ports; p++)
		if (scalar_is(v[X_PORT], cfg->ports[p].name))
			break;
	if (p == cfg->n_ports)
		return fail(c, v[X_PORT], "port", "unknown port %s (%s)", describe(v[X_PORT], q),
			    cfg->n_ports ? "not in ports[].name" : "no ports are defined");
	rc = get_uint(c, "queue", v[X_QUEUE], 0, DS_MAX_RX_QUEUES - 1, &queue);
	if (rc != 0)
		return rc;
	if (queue >= cfg->ports[p].rx_queues)
		return fail(c, v[X_QUEUE], "queue", "port \"%s\" has rx_queues %u: expected a "
			    "queue 0-%u, got %s", cfg->ports[p].name, cfg->ports[p].rx_queues,
			    cfg->ports[p].rx_queues - 1u, describe(v[X_QUEUE], q));
	if (own->assigned[p] & (1ull << queue)) {
		uint8_t o = own->worker[p][queue];

		return fail(c, n, NULL, "port \"%s\" queue %llu is already read by workers[%u] "
			    "(lcore %u)", cfg->ports[p].name, (unsigned long long)queue, o,
			    cfg->workers[o].lcore);
	}
	own->assigned[p] |= 1ull << queue;
	own->worker[p][queue] = (uint8_t)w;
	rxq->port = (uint16_t)p;
	rxq->queue = (uint16_t)queue;
	cfg->workers[w].n_rxq++;
	return 0;
}

/*
 * One workers[] entry. The lcore checks are those that can be made before
 * EAL runs: with lcores "auto" the set is only known at start, and main.c
 * checks the rest there.
 */
static int parse_worker(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg,
			struct queue_owner *own)
{
	uint32_t w = cfg->n_workers, i, count;
	struct ds_config_worker *wk = &cfg->workers[w];
	const struct node *v[W_N];
	struct node *const *items;
	uint64_t lcore;
	size_t saved;
	int rc;

	rc = map_collect(c, n, worker_keys, W_N, v);
	if (rc == 0)
		rc = require(c, n, v[W_LCORE], "lcore");
	if (rc == 0)
		rc = require(c, n, v[W_RX], "rx");
	if (rc == 0)
		rc = get_uint(c, "lcore", v[W_LCORE], 0, CFG_LCORE_MAX, &lcore);
	if (rc != 0)
		return rc;
	for (i = 0; i < w; i++)
		if (cfg->workers[i].lcore == lcore)
			return fail(c, v[W_LCORE], "lcore", "lcore %llu is already used by "
				    "workers[%u]", (unsigned long long)lcore, i);
	if (c->lcores_list && !lcore_isset(c->lcore_set, (unsigned int)lcore))
		return fail(c, v[W_LCORE], "lcore", "lcore %llu is not in eal.lcores \"%s\"",
			    (unsigned long long)lcore, cfg->eal.lcores);
	/* The main lcore runs the minute hand-off and the sinks, never a worker loop. */
	if (c->main_lcore >= 0 && lcore == (uint64_t)c->main_lcore)
		return fail(c, v[W_LCORE], "lcore", "lcore %llu is the main lcore%s, which runs "
			    "no worker", (unsigned long long)lcore, cfg->eal.main_lcore >= 0 ?
			    " (eal.main_lcore)" : " (the lowest of eal.lcores)");
	wk->lcore = (unsigned int)lcore;

	rc = get_seq(c, "rx", v[W_RX], 1, CFG_RXQ_MAX, "rx queues", &items, &count);
	if (rc != 0)
		return rc;
	saved = key_push(c, "rx");
	for (i = 0; rc == 0 && i < count; i++) {
		size_t s2 = key_push_index(c, i);

		rc = parse_rx(c, items[i], cfg, w, own);
		key_pop(c, s2);
	}
	key_pop(c, saved);
	return rc;
}

/* workers: "auto" (the default, nothing to read) or the explicit list. */
static int parse_workers(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	struct queue_owner *own;
	struct node *const *items;
	char q[QUOTE_BUF];
	uint32_t i, count, p, queue;
	int rc;

	if (scalar_is(n, "auto"))
		return 0;
	if (n->type != NODE_SEQ)
		return fail(c, n, NULL, "expected \"auto\" or a list of workers, got %s",
			    describe(n, q));
	rc = get_seq(c, NULL, n, 0, DS_MAX_WORKERS, "workers", &items, &count);
	if (rc != 0)
		return rc;
	/* 2.3 kB: on the heap rather than the stack of a library function. */
	own = calloc(1, sizeof(*own));
	if (own == NULL)
		return fail_nomem(c);
	cfg->workers_auto = false;
	for (i = 0; rc == 0 && i < count; i++) {
		size_t saved = key_push_index(c, i);

		rc = parse_worker(c, items[i], cfg, own);
		key_pop(c, saved);
		if (rc == 0)
			cfg->n_workers++;
	}
	/* An unread queue fills up and drops silently: the one thing a telescope must not do. */
	for (p = 0; rc == 0 && p < cfg->n_ports; p++)
		for (queue = 0; rc == 0 && queue < cfg->ports[p].rx_queues; queue++)
			if (!(own->assigned[p] & (1ull << queue)))
				rc = fail(c, n, NULL, "port \"%s\" queue %u is not read by any "
					  "worker", cfg->ports[p].name, queue);
	free(own);
	return rc;
}

/*
 * redis: the endpoint, the credentials (by reference only: the password
 * itself never sits in a configuration file that is also shown in reviews),
 * and the writer's queue and timeouts.
 */
enum {
	R_ENABLED, R_HOST, R_PORT, R_UNIX_SOCKET, R_DB, R_USERNAME, R_PASSWORD_ENV,
	R_PASSWORD_FILE, R_KEY_PREFIX, R_RETENTION, R_HOUR_RETENTION, R_DAY_RETENTION,
	R_ROLLUP_TIMEZONE, R_HLL_VALUES, R_QUEUE_MINUTES, R_QUEUE_FULL, R_CONNECT_TIMEOUT,
	R_COMMAND_TIMEOUT, R_RETRY_MAX, R_DRAIN_TIMEOUT, R_SPOOL_DIR, R_SPOOL_MAX_MB, R_N
};
static const char *const redis_keys[R_N] = {
	[R_ENABLED] = "enabled",
	[R_HOST] = "host",
	[R_PORT] = "port",
	[R_UNIX_SOCKET] = "unix_socket",
	[R_DB] = "db",
	[R_USERNAME] = "username",
	[R_PASSWORD_ENV] = "password_env",
	[R_PASSWORD_FILE] = "password_file",
	[R_KEY_PREFIX] = "key_prefix",
	[R_RETENTION] = "retention",
	[R_HOUR_RETENTION] = "hour_retention",
	[R_DAY_RETENTION] = "day_retention",
	[R_ROLLUP_TIMEZONE] = "rollup_timezone",
	[R_HLL_VALUES] = "hll_values",
	[R_QUEUE_MINUTES] = "queue_minutes",
	[R_QUEUE_FULL] = "queue_full",
	[R_CONNECT_TIMEOUT] = "connect_timeout",
	[R_COMMAND_TIMEOUT] = "command_timeout",
	[R_RETRY_MAX] = "retry_max",
	[R_DRAIN_TIMEOUT] = "drain_timeout",
	[R_SPOOL_DIR] = "spool_dir",
	[R_SPOOL_MAX_MB] = "spool_max_mb",
};

/* POSIX shell variable names: what an operator can `export`. "" is valid (not set). */
static bool env_name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || s[i] == '_' ||
		      (i > 0 && s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static int file_check(const char *path, struct stat *st);

/* Where IANA zones live on Debian (package tzdata); a zone is valid when its file is readable. */
#define ZONEINFO_DIR "/usr/share/zoneinfo"

/*
 * An IANA zone name: "UTC", or components of A-Z a-z 0-9 _ + - separated by
 * single slashes ("America/Argentina/Buenos_Aires", "Etc/GMT+9"). No dots,
 * so that a name can never climb out of ZONEINFO_DIR.
 */
static bool zone_name_valid(const char *s)
{
	size_t i, comp = 0;

	for (i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if (ch == '/') {
			if (comp == 0)
				return false;
			comp = 0;
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			   (ch >= '0' && ch <= '9') || ch == '_' || ch == '+' || ch == '-') {
			comp++;
		} else {
			return false;
		}
	}
	return comp > 0;
}

/*
 * redis.rollup_timezone: the zone whose calendar days the day keys follow.
 * Checked here against the zone files rather than when the sensor computes
 * its first day: a misspelt zone would otherwise silently become UTC (what
 * the C library does with a TZ it cannot find).
 */
static int get_timezone(struct cfg_ctx *c, const struct node *n, char *out, size_t size)
{
	char path[sizeof(ZONEINFO_DIR) + 64], q[QUOTE_BUF];
	struct stat st;
	int rc;

	if (n == NULL)
		return 0;
	rc = get_str(c, "rollup_timezone", n, out, size);
	if (rc != 0)
		return rc;
	if (strcmp(out, "UTC") == 0)
		return 0;
	if (!zone_name_valid(out))
		return fail(c, n, "rollup_timezone", "expected an IANA time zone name such as "
			    "\"UTC\" or \"Asia/Tokyo\", got %s", describe(n, q));
	snprintf(path, sizeof(path), "%s/%s", ZONEINFO_DIR, out);
	rc = file_check(path, &st);
	if (rc != 0)
		return fail(c, n, "rollup_timezone", "unknown time zone %s (cannot read %s: %s)",
			    describe(n, q), path, strerror(-rc));
	return 0;
}

static int path_resolve(const char *base_file, const char *given, char *out, size_t size);

/*
 * redis.spool_dir: resolved like data files, and checked now rather than at
 * the first outage, when nobody is watching: an existing path must be a
 * writable directory; a missing one is created at start with its missing
 * parents, so its nearest existing ancestor must be a directory. Whether the
 * sensor's user may create it there is known only at start (the check may run
 * as another user), where a failure names this key too.
 */
static int get_spool_dir(struct cfg_ctx *c, const struct node *n, char *out)
{
	char given[PATH_MAX] = "", up[PATH_MAX], q[PATH_QUOTE_BUF];
	struct stat st;
	int rc;

	if (n == NULL)
		return 0;
	rc = get_str(c, "spool_dir", n, given, sizeof(given));
	if (rc != 0 || given[0] == '\0') {
		out[0] = '\0';
		return rc;
	}
	rc = path_resolve(c->file, given, out, PATH_MAX);
	if (rc != 0)
		return fail(c, n, "spool_dir", "cannot make %s absolute: %s", describe(n, q),
			    strerror(-rc));
	if (stat(out, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return fail(c, n, "spool_dir", "%s exists and is not a directory",
				    quote_max(out, strlen(out), CFG_PATH_QUOTE_MAX, q));
		if (access(out, W_OK | X_OK) != 0)
			return fail(c, n, "spool_dir", "directory %s is not writable: %s",
				    quote_max(out, strlen(out), CFG_PATH_QUOTE_MAX, q),
				    strerror(errno));
		return 0;
	}
	/* Up to the nearest ancestor that exists (the root always does). */
	strcpy(up, out);
	for (;;) {
		char *slash = strrchr(up, '/');

		if (slash == NULL || slash == up) {
			strcpy(up, "/");
			break;
		}
		*slash = '\0';
		if (stat(up, &st) == 0 || errno != ENOENT)
			break;
	}
	if (stat(up, &st) != 0 || !S_ISDIR(st.st_mode))
		return fail(c, n, "spool_dir", "cannot create %s: %s is not a directory",
			    quote_max(out, strlen(out), CFG_PATH_QUOTE_MAX, q), up);
	return 0;
}

static int parse_redis(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	static const char *const fulls[] = { "auto", "drop_oldest", "wait" };
	struct ds_config_redis *r = &cfg->redis;
	const struct node *v[R_N];
	int qf = (int)r->queue_full;
	char q[QUOTE_BUF];
	int rc;

	rc = map_collect(c, n, redis_keys, R_N, v);
	if (rc == 0)
		rc = get_bool(c, "enabled", v[R_ENABLED], &r->enabled);
	if (rc == 0)
		rc = get_str(c, "host", v[R_HOST], r->host, sizeof(r->host));
	if (rc == 0)
		rc = get_u16(c, "port", v[R_PORT], 1, 65535, &r->port);
	if (rc == 0)
		rc = get_str(c, "unix_socket", v[R_UNIX_SOCKET], r->unix_socket,
			     sizeof(r->unix_socket));
	/* host may be blanked only when the socket replaces it. */
	if (rc == 0 && r->host[0] == '\0' && r->unix_socket[0] == '\0')
		rc = fail(c, v[R_HOST], "host", "expected a host name or address (or set "
			  "redis.unix_socket), got nothing");
	if (rc == 0)
		rc = get_u32(c, "db", v[R_DB], 0, 65535, &r->db);
	if (rc == 0)
		rc = get_str(c, "username", v[R_USERNAME], r->username, sizeof(r->username));
	if (rc == 0)
		rc = get_str(c, "password_env", v[R_PASSWORD_ENV], r->password_env,
			     sizeof(r->password_env));
	if (rc == 0 && !env_name_valid(r->password_env))
		rc = fail(c, v[R_PASSWORD_ENV], "password_env", "expected the name of an "
			  "environment variable ([A-Za-z_][A-Za-z0-9_]*), got %s",
			  describe(v[R_PASSWORD_ENV], q));
	if (rc == 0)
		rc = get_str(c, "password_file", v[R_PASSWORD_FILE], r->password_file,
			     sizeof(r->password_file));
	/*
	 * Both set is ambiguous (which wins when they differ?) and usually a
	 * leftover of a migration from one to the other: refuse it.
	 */
	if (rc == 0 && r->password_env[0] != '\0' && r->password_file[0] != '\0') {
		/* Report at whichever of the two comes second in the file. */
		const struct node *e = v[R_PASSWORD_ENV], *f = v[R_PASSWORD_FILE];
		bool env_last = e->line > f->line || (e->line == f->line && e->col > f->col);

		rc = fail(c, env_last ? e : f, env_last ? "password_env" : "password_file",
			  "password_env and password_file are mutually exclusive");
	}
	if (rc == 0)
		rc = get_name(c, "key_prefix", v[R_KEY_PREFIX], r->key_prefix);
	/* Ten years is past any retention policy; larger values are typos for smaller units. */
	if (rc == 0)
		rc = get_duration(c, "retention", v[R_RETENTION], 0, 3650ull * 86400000, 1000,
				  &r->retention_s);
	if (rc == 0)
		rc = get_duration(c, "hour_retention", v[R_HOUR_RETENTION], 0, 3650ull * 86400000,
				  1000, &r->hour_retention_s);
	if (rc == 0)
		rc = get_duration(c, "day_retention", v[R_DAY_RETENTION], 0, 3650ull * 86400000,
				  1000, &r->day_retention_s);
	if (rc == 0)
		rc = get_timezone(c, v[R_ROLLUP_TIMEZONE], r->rollup_timezone,
				  sizeof(r->rollup_timezone));
	if (rc == 0)
		rc = get_u32(c, "hll_values", v[R_HLL_VALUES], 0, 65535, &r->hll_values);
	if (rc == 0)
		rc = get_u32(c, "queue_minutes", v[R_QUEUE_MINUTES], 1, 100000, &r->queue_minutes);
	if (rc == 0)
		rc = get_enum(c, "queue_full", v[R_QUEUE_FULL], fulls, 3, &qf);
	r->queue_full = (enum ds_queue_full)qf;
	/*
	 * A zero timeout means "block forever" to hiredis: never allowed. The
	 * ceilings keep a stuck Redis from holding the writer (and so the
	 * queue) for longer than an operator would wait.
	 */
	if (rc == 0)
		rc = get_duration(c, "connect_timeout", v[R_CONNECT_TIMEOUT], 1, 60000, 1,
				  &r->connect_timeout_ms);
	if (rc == 0)
		rc = get_duration(c, "command_timeout", v[R_COMMAND_TIMEOUT], 1, 600000, 1,
				  &r->command_timeout_ms);
	if (rc == 0)
		rc = get_duration(c, "retry_max", v[R_RETRY_MAX], 1, 3600000, 1, &r->retry_max_ms);
	if (rc == 0)
		rc = get_duration(c, "drain_timeout", v[R_DRAIN_TIMEOUT], 0, 86400000, 1,
				  &r->drain_timeout_ms);
	if (rc == 0)
		rc = get_spool_dir(c, v[R_SPOOL_DIR], r->spool_dir);
	/* A million MiB (a TiB) is past any sensor's disk; larger values are typos. */
	if (rc == 0)
		rc = get_u32(c, "spool_max_mb", v[R_SPOOL_MAX_MB], 1, 1048576, &r->spool_max_mb);
	return rc;
}

/* jsonl: a path only; whether it can be opened is the sink's business at start. */
static int parse_jsonl(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	static const char *const keys[] = { "path" };
	const struct node *v[1];
	int rc;

	rc = map_collect(c, n, keys, 1, v);
	if (rc == 0)
		rc = get_str(c, "path", v[0], cfg->jsonl_path, sizeof(cfg->jsonl_path));
	return rc;
}

/*
 * limits: per worker-minute table sizes, bounded so that a typo cannot ask
 * for an absurd allocation (2^28 pair slots is already far beyond any
 * telescope's distinct sources per minute) or a uselessly small table.
 * src_asns stops at 2^20: a full RouteViews table (April 2024) has 75,722
 * origin ASes, so a larger value could only be a typo. tcp_fingerprints
 * (distinct SYN fingerprints) shares syn_option_layouts' ceiling: a
 * fingerprint is a layout plus a few header fields.
 */
static int parse_limits(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	static const char *const keys[] = {
		"source_pairs", "syn_option_layouts", "src_asns", "tcp_fingerprints",
	};
	struct ds_config_limits *l = &cfg->limits;
	const struct node *v[4];
	char q[QUOTE_BUF];
	uint64_t pairs;
	int rc;

	rc = map_collect(c, n, keys, 4, v);
	if (rc == 0 && v[0] != NULL) {
		/* A power of two: the pair table masks its hash instead of dividing. */
		if (v[0]->type != NODE_SCALAR || !parse_decimal(v[0]->str, v[0]->len, &pairs) ||
		    pairs < 1024 || pairs > 268435456 || (pairs & (pairs - 1)) != 0)
			return fail(c, v[0], keys[0], "expected a power of two 1024-268435456, "
				    "got %s", describe(v[0], q));
		l->source_pairs = (uint32_t)pairs;
	}
	if (rc == 0)
		rc = get_u32(c, "syn_option_layouts", v[1], 1, 65535, &l->syn_option_layouts);
	if (rc == 0)
		rc = get_u32(c, "src_asns", v[2], 1, 1048576, &l->src_asns);
	if (rc == 0)
		rc = get_u32(c, "tcp_fingerprints", v[3], 1, 65535, &l->tcp_fingerprints);
	return rc;
}

/*
 * geo: the files that give source addresses their AS and country, in order
 * of precedence, and what the reports do with countries. The loader checks
 * what can be checked without reading the data, so that --check-config
 * catches it: each format is known, each file exists and can be opened,
 * each source is asked only for data its format holds, no file is listed
 * twice, and what country_source and home_country need is provided by some
 * source. The contents are the geo loaders' to check (lib/geo), when they
 * read the files.
 */
static const char *const geo_format_names[DS_GEO_FORMAT_MAX] = {
	[DS_GEO_CAIDA_PFX2AS] = "caida-pfx2as",
	[DS_GEO_IPLOC_ASN] = "ip-location-db-asn",
	[DS_GEO_IPLOC_COUNTRY] = "ip-location-db-country",
	[DS_GEO_RIR_DELEGATED] = "rir-delegated",
	[DS_GEO_MAXMIND_ASN] = "maxmind-asn",
	[DS_GEO_MAXMIND_COUNTRY] = "maxmind-country",
};

/* What each format holds: the default of provides, and what provides may name. */
static const uint32_t geo_format_gives[DS_GEO_FORMAT_MAX] = {
	[DS_GEO_CAIDA_PFX2AS] = DS_GEO_PREFIX_ASN,
	[DS_GEO_IPLOC_ASN] = DS_GEO_PREFIX_ASN,
	[DS_GEO_IPLOC_COUNTRY] = DS_GEO_PREFIX_COUNTRY,
	[DS_GEO_RIR_DELEGATED] = DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY,
	[DS_GEO_MAXMIND_ASN] = DS_GEO_PREFIX_ASN,
	[DS_GEO_MAXMIND_COUNTRY] = DS_GEO_PREFIX_COUNTRY,
};

/* Kinds of data in the order of their bits: the name at index i is bit 1 << i. */
#define GEO_N_KINDS 3
static const char *const geo_kind_names[GEO_N_KINDS] = {
	"prefix_asn", "prefix_country", "asn_country",
};
_Static_assert(DS_GEO_PREFIX_ASN == 1 << 0 && DS_GEO_PREFIX_COUNTRY == 1 << 1 &&
	       DS_GEO_ASN_COUNTRY == 1 << 2, "geo_kind_names[] follows the DS_GEO_* bits");

/* "prefix_country or asn_country": the kinds in bits, for messages. */
static const char *geo_kinds_text(uint32_t bits, char *buf, size_t size)
{
	unsigned int i, n = 0, left = 0;
	size_t o = 0;

	for (i = 0; i < GEO_N_KINDS; i++)
		left += (bits >> i) & 1;
	buf[0] = '\0';
	for (i = 0; i < GEO_N_KINDS && o < size; i++) {
		if (!(bits & (1u << i)))
			continue;
		n++;
		o += (size_t)snprintf(buf + o, size - o, "%s%s",
				      n == 1 ? "" : n == left ? " or " : ", ", geo_kind_names[i]);
	}
	return buf;
}

/*
 * Appends the components of s[0..len) to out, which holds *o bytes: empty
 * and "." components are dropped, ".." is kept (what it means depends on
 * symlinks, which only the kernel should resolve). False when out is full.
 */
static bool path_append(char *out, size_t size, size_t *o, const char *s, size_t len)
{
	size_t i = 0, start;

	while (i < len) {
		while (i < len && s[i] == '/')
			i++;
		start = i;
		while (i < len && s[i] != '/')
			i++;
		if (i == start || (i - start == 1 && s[start] == '.'))
			continue;
		if (*o + 1 + (i - start) >= size)
			return false;
		out[(*o)++] = '/';
		memcpy(out + *o, s + start, i - start);
		*o += i - start;
	}
	out[*o] = '\0';
	return true;
}

/*
 * A data file's path as the loaders will open it. Absolute paths are kept as
 * written. Relative ones are taken from the configuration file's directory,
 * not from wherever the sensor happens to be started (a service manager's
 * working directory is "/"), and made absolute now, so a later chdir cannot
 * change what they name.
 */
static int path_resolve(const char *cfg_file, const char *p, char *out, size_t size)
{
	char cwd[PATH_MAX];
	const char *slash;
	size_t o = 0;

	if (p[0] == '/') {
		if (strlen(p) >= size)
			return -ENAMETOOLONG;
		strcpy(out, p);
		return 0;
	}
	out[0] = '\0';
	if (cfg_file[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return -errno;
		if (!path_append(out, size, &o, cwd, strlen(cwd)))
			return -ENAMETOOLONG;
	}
	slash = strrchr(cfg_file, '/');
	if (slash != NULL && !path_append(out, size, &o, cfg_file, (size_t)(slash - cfg_file)))
		return -ENAMETOOLONG;
	if (!path_append(out, size, &o, p, strlen(p)))
		return -ENAMETOOLONG;
	if (o == 0)
		strcpy(out, "/");       /* "." next to a configuration in / */
	return 0;
}

/*
 * Can the loaders open it? Opened rather than access(2)ed: that answers for
 * the effective user, and a directory (which opens fine) is refused here.
 * O_NONBLOCK so that a FIFO does not hang the check; st identifies the file
 * for the duplicate check.
 */
static int file_check(const char *path, struct stat *st)
{
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) != 0)
		rc = -errno;
	else if (S_ISDIR(st->st_mode))
		rc = -EISDIR;
	close(fd);
	return rc;
}

/* A data file (geo.sources[].path, .locations): resolved into out (PATH_MAX), and readable. */
static int get_data_file(struct cfg_ctx *c, const char *leaf, const struct node *n, char *out,
			 struct stat *st)
{
	char given[PATH_MAX] = "", q[PATH_QUOTE_BUF];
	int rc;

	rc = get_str(c, leaf, n, given, sizeof(given));
	if (rc != 0)
		return rc;
	if (given[0] == '\0')
		return fail(c, n, leaf, "expected the path of a data file, got %s", describe(n, q));
	rc = path_resolve(c->file, given, out, PATH_MAX);
	if (rc == -ENAMETOOLONG)
		return fail(c, n, leaf, "%s taken from the directory of %s is longer than %d bytes",
			    describe(n, q), c->file, PATH_MAX - 1);
	if (rc != 0)
		return fail(c, n, leaf, "cannot make %s absolute: %s", describe(n, q),
			    strerror(-rc));
	rc = file_check(out, st);
	if (rc != 0)
		return fail(c, n, leaf, "cannot read %s: %s",
			    quote_max(out, strlen(out), CFG_PATH_QUOTE_MAX, q), strerror(-rc));
	return 0;
}

enum { GS_FORMAT, GS_PATH, GS_LOCATIONS, GS_PROVIDES, GS_N };
static const char *const geo_source_keys[GS_N] = {
	[GS_FORMAT] = "format",
	[GS_PATH] = "path",
	[GS_LOCATIONS] = "locations",
	[GS_PROVIDES] = "provides",
};

/* The file behind each source so far: one file under two names is still one file. */
struct geo_file_id {
	dev_t dev;
	ino_t ino;
};

/* One geo.sources[] entry into g->sources[g->n_sources]. */
static int parse_geo_source(struct cfg_ctx *c, const struct node *n, struct ds_config_geo *g,
			    struct geo_file_id *ids)
{
	struct ds_config_geo_source *s = &g->sources[g->n_sources];
	const struct node *v[GS_N];
	struct node *const *items;
	char q[QUOTE_BUF], pq[PATH_QUOTE_BUF], kinds[64];
	struct stat st;
	uint32_t i, count, gives;
	int fmt = 0, kind = 0, rc;
	size_t saved;

	rc = map_collect(c, n, geo_source_keys, GS_N, v);
	if (rc == 0)
		rc = require(c, n, v[GS_FORMAT], "format");
	if (rc == 0)
		rc = require(c, n, v[GS_PATH], "path");
	if (rc == 0)
		rc = get_enum(c, "format", v[GS_FORMAT], geo_format_names, DS_GEO_FORMAT_MAX, &fmt);
	if (rc != 0)
		return rc;
	s->format = (enum ds_geo_format)fmt;
	gives = geo_format_gives[fmt];
	s->provides = gives;

	rc = get_data_file(c, "path", v[GS_PATH], s->path, &st);
	if (rc != 0)
		return rc;
	/*
	 * The same file twice in one format is refused: it is almost always a
	 * copy-paste slip, and the file would be read twice. (Two entries with
	 * different provides could give one file two places in the order; that
	 * reads like the same slip, so it is not offered.) One file read as two
	 * formats is not refused: the loaders will say whether it parses as both.
	 */
	for (i = 0; i < g->n_sources; i++)
		if (g->sources[i].format == s->format && ids[i].dev == st.st_dev &&
		    ids[i].ino == st.st_ino)
			return fail(c, v[GS_PATH], "path", "duplicate source: %s %s (first at "
				    "geo.sources[%u], line %u)", geo_format_names[fmt],
				    quote_max(v[GS_PATH]->str, v[GS_PATH]->len,
					      CFG_PATH_QUOTE_MAX, pq), i, g->sources[i].line);
	ids[g->n_sources].dev = st.st_dev;
	ids[g->n_sources].ino = st.st_ino;

	/* MaxMind keeps country codes in a second file, keyed by geoname id. */
	if (s->format != DS_GEO_MAXMIND_COUNTRY && v[GS_LOCATIONS] != NULL)
		return fail(c, v[GS_LOCATIONS], "locations", "only maxmind-country takes a "
			    "locations file (this source is %s)", geo_format_names[fmt]);
	if (s->format == DS_GEO_MAXMIND_COUNTRY) {
		if (v[GS_LOCATIONS] == NULL)
			return fail(c, n, NULL, "missing key 'locations' (maxmind-country needs "
				    "its Country-Locations CSV)");
		rc = get_data_file(c, "locations", v[GS_LOCATIONS], s->locations, &st);
		if (rc != 0)
			return rc;
	}

	/* provides narrows what the format gives: never widens it, never to nothing. */
	if (v[GS_PROVIDES] == NULL)
		return 0;
	rc = get_seq(c, "provides", v[GS_PROVIDES], 1, GEO_N_KINDS, "kinds of data", &items,
		     &count);
	if (rc != 0)
		return rc;
	s->provides = 0;
	saved = key_push(c, "provides");
	for (i = 0; rc == 0 && i < count; i++) {
		size_t s2 = key_push_index(c, i);

		rc = get_enum(c, NULL, items[i], geo_kind_names, GEO_N_KINDS, &kind);
		if (rc == 0 && !(gives & (1u << kind)))
			rc = fail(c, items[i], NULL, "expected %s (what %s provides), got %s",
				  geo_kinds_text(gives, kinds, sizeof(kinds)),
				  geo_format_names[fmt], describe(items[i], q));
		else if (rc == 0 && (s->provides & (1u << kind)))
			rc = fail(c, items[i], NULL, "%s is listed twice", geo_kind_names[kind]);
		s->provides |= 1u << kind;
		key_pop(c, s2);
	}
	key_pop(c, saved);
	return rc;
}

enum { G_COUNTRY_SOURCE, G_HOME_COUNTRY, G_DERIVE_ASN_COUNTRY, G_SOURCES, G_N };
static const char *const geo_keys[G_N] = {
	[G_COUNTRY_SOURCE] = "country_source",
	[G_HOME_COUNTRY] = "home_country",
	[G_DERIVE_ASN_COUNTRY] = "derive_asn_country",
	[G_SOURCES] = "sources",
};

static int parse_geo(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	static const char *const by[] = { "asn", "prefix" };
	struct geo_file_id ids[DS_MAX_GEO_SOURCES];
	struct ds_config_geo *g = &cfg->geo;
	int cs = (int)g->country_source;
	const struct node *v[G_N], *h;
	struct node *const *items;
	uint32_t i, count = 0, provided = 0;
	char q[QUOTE_BUF];
	size_t saved;
	int rc;

	rc = map_collect(c, n, geo_keys, G_N, v);
	if (rc == 0)
		rc = get_enum(c, "country_source", v[G_COUNTRY_SOURCE], by, 2, &cs);
	g->country_source = (enum ds_geo_country_source)cs;
	if (rc != 0)
		return rc;

	/*
	 * Upper case only, as the data files and the reports write codes: a
	 * reader should not have to wonder whether "jp" matches "JP". The text
	 * is never interpreted as a YAML boolean, so Norway's NO stays "NO".
	 */
	h = v[G_HOME_COUNTRY];
	if (h != NULL && !is_null(h) && !(h->type == NODE_SCALAR && h->len == 0)) {
		if (h->type != NODE_SCALAR || h->len != 2 || h->str[0] < 'A' || h->str[0] > 'Z' ||
		    h->str[1] < 'A' || h->str[1] > 'Z')
			return fail(c, h, "home_country", "expected a country code of two "
				    "upper-case letters A-Z such as \"JP\", got %s",
				    describe(h, q));
		memcpy(g->home_country, h->str, 3);
	}
	rc = get_bool(c, "derive_asn_country", v[G_DERIVE_ASN_COUNTRY], &g->derive_asn_country);

	if (rc == 0 && v[G_SOURCES] != NULL)
		rc = get_seq(c, "sources", v[G_SOURCES], 0, DS_MAX_GEO_SOURCES, "sources", &items,
			     &count);
	if (rc != 0)
		return rc;
	saved = key_push(c, "sources");
	for (i = 0; v[G_SOURCES] != NULL && i < count; i++) {
		size_t s2 = key_push_index(c, i);

		g->sources[i].line = items[i]->line;
		rc = parse_geo_source(c, items[i], g, ids);
		key_pop(c, s2);
		if (rc != 0)
			break;
		provided |= g->sources[i].provides;
		g->n_sources++;
	}
	key_pop(c, saved);
	if (rc != 0)
		return rc;
	g->enabled = g->n_sources > 0;

	/*
	 * Asking for countries that no file can give is refused rather than
	 * reported as "unknown" for every source for months. Only keys that were
	 * written can fail here: the defaults (asn, no home country) need nothing.
	 */
	if (g->country_source == DS_GEO_COUNTRY_BY_PREFIX && !(provided & DS_GEO_PREFIX_COUNTRY))
		return fail(c, v[G_COUNTRY_SOURCE], "country_source", "prefix needs a source that "
			    "provides prefix_country (none of geo.sources does)");
	if (g->home_country[0] != '\0' &&
	    !(provided & (DS_GEO_PREFIX_COUNTRY | DS_GEO_ASN_COUNTRY)))
		return fail(c, h, "home_country", "%s needs a source that provides prefix_country "
			    "or asn_country (none of geo.sources does)", describe(h, q));
	return 0;
}

/*
 * watch: named rules that match decoded packets by a few header fields, so
 * an operator can follow a campaign (SYNs with window 5656 from compromised
 * home routers) by editing this file rather than the code. The loader only
 * turns the text into struct ds_watch_rule; lib/sig matches packets with it.
 *
 *   watch[i].match.FIELD: VALUE          one alternative
 *   watch[i].match.FIELD: [V1, V2, ...]  1-16 alternatives (options: 1-8), OR
 *   all FIELDs of a rule                 AND
 *
 * Values are written the way the reports print them (numbers in decimal,
 * option layouts as the tcp_syn_options labels), so a layout or a window
 * seen in the output can be pasted into a rule. Flags use tcpdump's letters.
 */
enum {
	M_PROTO, M_DST_PORT, M_SRC_PORT, M_TCP_FLAGS, M_WINDOW, M_TTL, M_OPTIONS, M_MSS,
	M_WSCALE, M_SEQ_EQ_DST, M_IP_ID, M_PAYLOAD_LEN, M_N
};
static const char *const match_keys[M_N] = {
	[M_PROTO] = "proto",
	[M_DST_PORT] = "dst_port",
	[M_SRC_PORT] = "src_port",
	[M_TCP_FLAGS] = "tcp_flags",
	[M_WINDOW] = "window",
	[M_TTL] = "ttl",
	[M_OPTIONS] = "options",
	[M_MSS] = "mss",
	[M_WSCALE] = "wscale",
	[M_SEQ_EQ_DST] = "seq_eq_dst",
	[M_IP_ID] = "ip_id",
	[M_PAYLOAD_LEN] = "payload_len",
};
/* The key at index k sets bit 1 << k of ds_watch_rule.fields. */
_Static_assert(DS_WATCH_PROTO == 1 << M_PROTO && DS_WATCH_DST_PORT == 1 << M_DST_PORT &&
	       DS_WATCH_SRC_PORT == 1 << M_SRC_PORT && DS_WATCH_TCP_FLAGS == 1 << M_TCP_FLAGS &&
	       DS_WATCH_WINDOW == 1 << M_WINDOW && DS_WATCH_TTL == 1 << M_TTL &&
	       DS_WATCH_OPTIONS == 1 << M_OPTIONS && DS_WATCH_MSS == 1 << M_MSS &&
	       DS_WATCH_WSCALE == 1 << M_WSCALE && DS_WATCH_SEQ_EQ_DST == 1 << M_SEQ_EQ_DST &&
	       DS_WATCH_IP_ID == 1 << M_IP_ID && DS_WATCH_PAYLOAD_LEN == 1 << M_PAYLOAD_LEN,
	       "match_keys[] follows the DS_WATCH_* bits");

/* Fields that only a TCP header carries, and those a TCP or UDP header carries. */
#define WATCH_TCP_ONLY (DS_WATCH_TCP_FLAGS | DS_WATCH_WINDOW | DS_WATCH_OPTIONS | DS_WATCH_MSS | \
			DS_WATCH_WSCALE | DS_WATCH_SEQ_EQ_DST)
#define WATCH_TCP_UDP (DS_WATCH_DST_PORT | DS_WATCH_SRC_PORT)

/* The fields held as ranges: where their alternatives go and the largest value. */
static const struct {
	unsigned int key;
	uint16_t max;
	size_t vals;            /* offset of the struct ds_range16 array in the rule */
	size_t count;           /* offset of its uint8_t count */
} watch_ranges[] = {
	{ M_DST_PORT, 65535, offsetof(struct ds_watch_rule, dst_port),
	  offsetof(struct ds_watch_rule, n_dst_port) },
	{ M_SRC_PORT, 65535, offsetof(struct ds_watch_rule, src_port),
	  offsetof(struct ds_watch_rule, n_src_port) },
	{ M_WINDOW, 65535, offsetof(struct ds_watch_rule, window),
	  offsetof(struct ds_watch_rule, n_window) },
	{ M_TTL, 255, offsetof(struct ds_watch_rule, ttl), offsetof(struct ds_watch_rule, n_ttl) },
	{ M_MSS, 65535, offsetof(struct ds_watch_rule, mss),
	  offsetof(struct ds_watch_rule, n_mss) },
	{ M_WSCALE, 255, offsetof(struct ds_watch_rule, wscale),
	  offsetof(struct ds_watch_rule, n_wscale) },
	{ M_IP_ID, 65535, offsetof(struct ds_watch_rule, ip_id),
	  offsetof(struct ds_watch_rule, n_ip_id) },
	{ M_PAYLOAD_LEN, 65535, offsetof(struct ds_watch_rule, payload_len),
	  offsetof(struct ds_watch_rule, n_payload_len) },
};

/* Protocol names: the four a telescope sees nearly all of; others by number. */
static const struct {
	const char *name;
	uint8_t number;
} watch_protos[] = {
	{ "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmp6", 58 },
};

/* TCP flag letters, in the order of their bits (FIN is 0x01, CWR 0x80), as tcpdump writes them. */
static const char tcp_flag_letters[] = "FSRPAUEC";

/* Option kind names as ds_layout_label_kinds() prints them. */
static const struct {
	const char *name;
	uint8_t kind;
} watch_kinds[] = {
	{ "EOL", 0 }, { "NOP", 1 }, { "MSS", 2 }, { "WS", 3 }, { "SACK", 4 }, { "SACKB", 5 },
	{ "TS", 8 },
};

/*
 * "N" or "LO-HI" (inclusive), each a plain decimal up to max. -ERANGE for a
 * range written backwards (lo and hi are set then, for "did you mean"),
 * -EINVAL for anything else that is not one of the two forms.
 */
static int parse_range(const char *s, size_t len, uint64_t max, uint64_t *lo, uint64_t *hi)
{
	const char *dash = memchr(s, '-', len);

	if (dash == NULL) {
		if (!parse_decimal(s, len, lo) || *lo > max)
			return -EINVAL;
		*hi = *lo;
		return 0;
	}
	if (!parse_decimal(s, (size_t)(dash - s), lo) || *lo > max ||
	    !parse_decimal(dash + 1, len - (size_t)(dash - s) - 1, hi) || *hi > max)
		return -EINVAL;
	return *lo > *hi ? -ERANGE : 0;
}

/*
 * One part of "FLAGS/MASK" into bits. "-" (no flag) is allowed only where
 * none is true, in FLAGS. Errors: -EINVAL for an empty part or a misplaced
 * "-", -ENOENT for an unknown letter and -EEXIST for a letter given twice
 * (*bad is that letter).
 */
static int parse_flag_letters(const char *s, size_t len, bool allow_none, uint8_t *bits,
			      char *bad)
{
	size_t i;

	*bits = 0;
	if (len == 1 && s[0] == '-' && allow_none)
		return 0;
	if (len == 0)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		const char *p = s[i] != '\0' ? strchr(tcp_flag_letters, s[i]) : NULL;
		uint8_t bit;

		*bad = s[i];
		if (s[i] == '-' || s[i] == '/')
			return -EINVAL;
		if (p == NULL)
			return -ENOENT;
		bit = (uint8_t)(1u << (p - tcp_flag_letters));
		if (*bits & bit)
			return -EEXIST;
		*bits |= bit;
	}
	return 0;
}

/*
 * "FLAGS" (exactly these flags: mask 0xff) or "FLAGS/MASK" ((flags & MASK)
 * == FLAGS). -ERANGE when FLAGS names a flag outside MASK: such a pattern
 * can never match, which is certainly not what was meant.
 */
static int parse_flags(const char *s, size_t len, struct ds_flag_match *m, char *bad)
{
	const char *slash = memchr(s, '/', len);
	size_t flen = slash != NULL ? (size_t)(slash - s) : len;
	int rc;

	rc = parse_flag_letters(s, flen, true, &m->value, bad);
	if (rc != 0)
		return rc;
	m->mask = 0xff;
	if (slash == NULL)
		return 0;
	rc = parse_flag_letters(slash + 1, len - flen - 1, false, &m->mask, bad);
	if (rc != 0)
		return rc;
	return (m->value & ~m->mask) != 0 ? -ERANGE : 0;
}

/*
 * "MSS,NOP,WS" or "none" into kinds. Kinds are names or numbers 0-255,
 * comma-separated without blanks: the exact text of a tcp_syn_options label.
 * Errors: -E2BIG more than 40 kinds (*n_kinds holds the count), -EEXIST
 * "none" among other kinds, -ENOENT an unknown kind name (*bad, *bad_len),
 * -EINVAL an empty text or an empty item.
 */
static int parse_layout(const char *s, size_t len, struct ds_watch_layout *l, uint32_t *n_kinds,
			const char **bad, size_t *bad_len)
{
	uint32_t count = 1;
	size_t i = 0, k;

	l->n = 0;
	if (len == 4 && memcmp(s, "none", 4) == 0)
		return 0;
	for (k = 0; k < len; k++)
		count += s[k] == ',';
	*n_kinds = count;
	if (count > sizeof(l->kinds))
		return -E2BIG;
	while (i <= len) {
		size_t start = i, tlen;
		uint64_t num;

		while (i < len && s[i] != ',')
			i++;
		tlen = i - start;
		*bad = s + start;
		*bad_len = tlen;
		if (tlen == 0)
			return -EINVAL;
		if (tlen == 4 && memcmp(s + start, "none", 4) == 0)
			return -EEXIST;
		if (parse_decimal(s + start, tlen, &num) && num <= 255) {
			l->kinds[l->n++] = (uint8_t)num;
		} else {
			for (k = 0; k < sizeof(watch_kinds) / sizeof(watch_kinds[0]); k++)
				if (strlen(watch_kinds[k].name) == tlen &&
				    memcmp(watch_kinds[k].name, s + start, tlen) == 0)
					break;
			if (k == sizeof(watch_kinds) / sizeof(watch_kinds[0]))
				return -ENOENT;
			l->kinds[l->n++] = watch_kinds[k].kind;
		}
		i++;            /* past the comma; past the end ends the loop */
	}
	return 0;
}

/*
 * One alternative of field k, appended to the rule; n is the alternative's
 * node and the key path already names it ("watch[0].match.dst_port[1]").
 * The counts cannot overflow: parse_alts() has checked the list's length.
 */
typedef int (*watch_alt_fn)(struct cfg_ctx *c, const struct node *n, struct ds_watch_rule *r,
			    unsigned int k);

static int watch_range(struct cfg_ctx *c, const struct node *n, struct ds_watch_rule *r,
		       unsigned int k)
{
	char q[QUOTE_BUF];
	uint64_t lo = 0, hi = 0;
	unsigned int f;
	uint8_t *count;
	struct ds_range16 *vals;
	int rc;

	for (f = 0; watch_ranges[f].key != k; f++)
		;
	vals = (struct ds_range16 *)((char *)r + watch_ranges[f].vals);
	count = (uint8_t *)r + watch_ranges[f].count;
	rc = n->type == NODE_SCALAR ? parse_range(n->str, n->len, watch_ranges[f].max, &lo, &hi) :
	     -EINVAL;
	if (rc == -ERANGE)
		return fail(c, n, NULL, "range %s is reversed (did you mean \"%llu-%llu\"?)",
			    describe(n, q), (unsigned long long)hi, (unsigned long long)lo);
	if (rc != 0)
		return fail(c, n, NULL, "expected an integer 0-%u or a range \"lo-hi\", got %s",
			    watch_ranges[f].max, describe(n, q));
	vals[*count].lo = (uint16_t)lo;
	vals[*count].hi = (uint16_t)hi;
	(*count)++;
	return 0;
}

static int watch_proto(struct cfg_ctx *c, const struct node *n, struct ds_watch_rule *r,
		       unsigned int k)
{
	char q[QUOTE_BUF];
	uint64_t num;
	unsigned int i;

	(void)k;
	for (i = 0; i < sizeof(watch_protos) / sizeof(watch_protos[0]); i++) {
		if (scalar_is(n, watch_protos[i].name)) {
			num = watch_protos[i].number;
			goto set;
		}
	}
	if (n->type != NODE_SCALAR || !parse_decimal(n->str, n->len, &num) || num > 255)
		return fail(c, n, NULL, "expected tcp, udp, icmp, icmp6 or an integer 0-255, "
			    "got %s", describe(n, q));
set:
	r->proto[num / 8] |= (uint8_t)(1u << (num % 8));
	return 0;
}

static int watch_flags(struct cfg_ctx *c, const struct node *n, struct ds_watch_rule *r,
		       unsigned int k)
{
	char q[QUOTE_BUF], b[QUOTE_BUF];
	char bad = '\0';
	int rc;

	(void)k;
	/* strlen: a NUL inside a quoted value is not a flag and must not end it early. */
	rc = n->type == NODE_SCALAR && strlen(n->str) == n->len ?
	     parse_flags(n->str, n->len, &r->tcp_flags[r->n_tcp_flags], &bad) : -EINVAL;
	/* A byte of a multi-byte character cannot be shown alone: the whole value is. */
	if ((rc == -ENOENT || rc == -EEXIST) && ((unsigned char)bad < 0x20 || bad == 0x7f ||
						  (unsigned char)bad >= 0x80))
		rc = -EINVAL;
	if (rc == -ENOENT)
		return fail(c, n, NULL, "unknown flag %s in %s (expected F S R P A U E C, or \"-\" "
			    "for none)", quote(&bad, 1, b), describe(n, q));
	if (rc == -EEXIST)
		return fail(c, n, NULL, "flag %c is given twice in %s", bad, describe(n, q));
	if (rc == -ERANGE)
		return fail(c, n, NULL, "%s: flags outside the mask (every flag of FLAGS must also "
			    "be in MASK)", describe(n, q));
	if (rc != 0)
		return fail(c, n, NULL, "expected TCP flags such as \"S\" (exactly SYN) or "
			    "\"S/SA\" (SYN set, ACK clear): letters F S R P A U E C, \"-\" for "
			    "none, got %s", describe(n, q));
	r->n_tcp_flags++;
	return 0;
}

static int watch_layout(struct cfg_ctx *c, const struct node *n, struct ds_watch_rule *r,
			unsigned int k)
{
	char q[QUOTE_BUF], b[QUOTE_BUF];
	const char *bad = NULL;
	size_t bad_len = 0;
	uint32_t n_kinds = 0;
	int rc;

	(void)k;
	rc = n->type == NODE_SCALAR && strlen(n->str) == n->len ?
	     parse_layout(n->str, n->len, &r->options[r->n_options], &n_kinds, &bad, &bad_len) :
	     -EINVAL;
	if (rc == -E2BIG)
		return fail(c, n, NULL, "%s has %u option kinds (at most %zu: a TCP header holds "
			    "40 bytes of options)", describe(n, q), n_kinds,
			    sizeof(r->options[0].kinds));
	if (rc == -EEXIST)
		return fail(c, n, NULL, "\"none\" cannot be combined with other kinds in %s",
			    describe(n, q));
	if (rc == -ENOENT)
		return fail(c, n, NULL, "unknown option kind %s in %s (expected EOL, NOP, MSS, WS, "
			    "SACK, SACKB, TS or a kind number 0-255)", quote(bad, bad_len, b),
			    describe(n, q));
	if (rc != 0)
		return fail(c, n, NULL, "expected option kinds separated by commas such as "
			    "\"MSS,NOP,WS,NOP,NOP,SACK\", or \"none\", got %s", describe(n, q));
	r->n_options++;
	return 0;
}

/*
 * A field's value: one alternative, or a list of 1-max of them (what names
 * them in the message). Each goes through fn under its own key path.
 */
static int parse_alts(struct cfg_ctx *c, const struct node *n, uint32_t max, const char *what,
		      watch_alt_fn fn, struct ds_watch_rule *r, unsigned int k)
{
	struct node *const *items;
	uint32_t i, count = 1;
	int rc = 0;

	if (n->type == NODE_SEQ)
		rc = get_seq(c, NULL, n, 1, max, what, &items, &count);
	for (i = 0; rc == 0 && i < count; i++) {
		size_t saved = n->type == NODE_SEQ ? key_push_index(c, i) : c->key_len;

		rc = fn(c, n->type == NODE_SEQ ? n->kids[i] : n, r, k);
		key_pop(c, saved);
	}
	return rc;
}

/* watch[i].match, with the key path at "match". */
static int parse_match(struct cfg_ctx *c, const struct node *n, struct ds_watch_rule *r)
{
	const struct node *v[M_N];
	char list[256];
	size_t o = 0, saved;
	unsigned int k, f;
	bool tcp, udp;
	int rc;

	rc = map_collect(c, n, match_keys, M_N, v);
	if (rc != 0)
		return rc;
	for (k = 0; k < M_N; k++)
		if (v[k] != NULL)
			r->fields |= 1u << k;
	/* A rule without a field would count every packet: that is the feed's total. */
	if (r->fields == 0) {
		for (k = 0; k < M_N; k++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", k ? ", " : "",
					      match_keys[k]);
		return fail(c, n, NULL, "expected at least one of: %s, got %s", list,
			    n->type == NODE_MAP ? "an empty mapping" : "nothing");
	}

	for (k = 0; rc == 0 && k < M_N; k++) {
		if (v[k] == NULL)
			continue;
		saved = key_push(c, match_keys[k]);
		if (k == M_SEQ_EQ_DST)
			rc = get_bool(c, NULL, v[k], &r->seq_eq_dst);
		else if (k == M_OPTIONS)
			rc = parse_alts(c, v[k], DS_WATCH_MAX_LAYOUTS, "layouts", watch_layout, r,
					k);
		else
			rc = parse_alts(c, v[k], DS_WATCH_MAX_ALT, "alternatives",
					k == M_PROTO ? watch_proto :
					k == M_TCP_FLAGS ? watch_flags : watch_range, r, k);
		key_pop(c, saved);
	}
	if (rc != 0 || !(r->fields & DS_WATCH_PROTO))
		return rc;

	/*
	 * A field whose header proto rules out can never match: the rule would
	 * count nothing, silently. Refused, at the field that cannot match.
	 */
	tcp = r->proto[6 / 8] & (1u << (6 % 8));
	udp = r->proto[17 / 8] & (1u << (17 % 8));
	for (f = 0; f < M_N; f++) {
		if (v[f] == NULL)
			continue;
		if (((1u << f) & WATCH_TCP_ONLY) && !tcp)
			return fail(c, v[f], match_keys[f], "matches TCP packets only, and "
				    "match.proto does not include tcp (6)");
		if (((1u << f) & WATCH_TCP_UDP) && !tcp && !udp)
			return fail(c, v[f], match_keys[f], "matches TCP and UDP packets only, and "
				    "match.proto includes neither tcp (6) nor udp (17)");
	}
	return 0;
}

enum { WR_NAME, WR_MATCH, WR_N };
static const char *const watch_rule_keys[WR_N] = { [WR_NAME] = "name", [WR_MATCH] = "match" };

/* One watch[] entry into cfg->watch[cfg->n_watch]; names are unique like ports' and feeds'. */
static int parse_watch_rule(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	struct ds_watch_rule *r = &cfg->watch[cfg->n_watch];
	const struct node *v[WR_N];
	size_t saved;
	uint32_t i;
	int rc;

	rc = map_collect(c, n, watch_rule_keys, WR_N, v);
	if (rc == 0)
		rc = require(c, n, v[WR_NAME], "name");
	if (rc == 0)
		rc = require(c, n, v[WR_MATCH], "match");
	if (rc == 0)
		rc = get_name(c, "name", v[WR_NAME], r->name);
	if (rc != 0)
		return rc;
	for (i = 0; i < cfg->n_watch; i++)
		if (strcmp(cfg->watch[i].name, r->name) == 0)
			return fail(c, v[WR_NAME], "name", "duplicate rule name \"%s\" (first at "
				    "watch[%u], line %u)", r->name, i, cfg->watch[i].line);
	saved = key_push(c, "match");
	rc = parse_match(c, v[WR_MATCH], r);
	key_pop(c, saved);
	return rc;
}

/* watch: absent, null or [] all mean no rules. */
static int parse_watch(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg)
{
	struct node *const *items;
	uint32_t i, count;
	int rc;

	rc = get_seq(c, NULL, n, 0, DS_MAX_WATCH_RULES, "rules", &items, &count);
	for (i = 0; rc == 0 && i < count; i++) {
		size_t saved = key_push_index(c, i);

		/* Filled in place, from zero: a rule's unused fields stay zero for the matcher. */
		memset(&cfg->watch[i], 0, sizeof(cfg->watch[i]));
		cfg->watch[i].line = items[i]->line;
		rc = parse_watch_rule(c, items[i], cfg);
		key_pop(c, saved);
		if (rc == 0)
			cfg->n_watch++;
	}
	return rc;
}

enum {
	K_SENSOR, K_EAL, K_CAPTURE, K_PORTS, K_FEEDS, K_WORKERS, K_REDIS, K_JSONL, K_LIMITS, K_GEO,
	K_WATCH, K_N
};
static const char *const root_keys[K_N] = {
	[K_SENSOR] = "sensor",
	[K_EAL] = "eal",
	[K_CAPTURE] = "capture",
	[K_PORTS] = "ports",
	[K_FEEDS] = "feeds",
	[K_WORKERS] = "workers",
	[K_REDIS] = "redis",
	[K_JSONL] = "jsonl",
	[K_LIMITS] = "limits",
	[K_GEO] = "geo",
	[K_WATCH] = "watch",
};

/* Sections in dependency order: feeds name ports, workers name ports and lcores. */
static const struct {
	unsigned int key;
	int (*fn)(struct cfg_ctx *c, const struct node *n, struct ds_config *cfg);
} sections[] = {
	{ K_SENSOR, parse_sensor },
	{ K_EAL, parse_eal },
	{ K_CAPTURE, parse_capture },
	{ K_PORTS, parse_ports },
	{ K_FEEDS, parse_feeds },
	{ K_WORKERS, parse_workers },
	{ K_REDIS, parse_redis },
	{ K_JSONL, parse_jsonl },
	{ K_LIMITS, parse_limits },
	{ K_GEO, parse_geo },
	{ K_WATCH, parse_watch },
};

/*
 * The document: a mapping of sections, feeds required. Unknown and duplicate
 * top-level keys are found before any section is read, so a misspelt
 * "feds:" is reported as such rather than as "missing key 'feeds'".
 */
static int parse_root(struct cfg_ctx *c, const struct node *root, struct ds_config *cfg)
{
	const struct node *v[K_N];
	unsigned int i;
	int rc;

	/* "", comments only, or a lone "---": point at the top of the file. */
	if (root == NULL || is_null(root))
		return fail_at(c, 1, 1, NULL, "empty document (at least 'feeds' is required)");
	rc = map_collect(c, root, root_keys, K_N, v);
	if (rc == 0)
		rc = require(c, root, v[K_FEEDS], "feeds");
	for (i = 0; rc == 0 && i < sizeof(sections) / sizeof(sections[0]); i++) {
		const struct node *n = v[sections[i].key];
		size_t saved;

		if (n == NULL)
			continue;
		saved = key_push(c, root_keys[sections[i].key]);
		rc = sections[i].fn(c, n, cfg);
		key_pop(c, saved);
	}
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Load and free                                                                              */
/* ------------------------------------------------------------------------------------------ */

/*
 * The defaults, in one place; config/darkscope.yaml and docs/CONFIG.md
 * document the same values and the unit tests check all three agree.
 */
static void set_defaults(struct ds_config *cfg)
{
	char host[256] = "";
	size_t i;

	/* The host name up to the first dot, made a valid name. */
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	for (i = 0; host[i] != '\0' && host[i] != '.' && i < DS_NAME_MAX - 1; i++)
		cfg->sensor_id[i] = name_char(host[i]) ? host[i] : '_';
	cfg->sensor_id[i] = '\0';
	if (i == 0)
		strcpy(cfg->sensor_id, "darkscope");

	strcpy(cfg->eal.lcores, "auto");
	cfg->eal.main_lcore = -1;
	cfg->eal.memory_mb = 0;
	cfg->eal.huge_pages = true;
	strcpy(cfg->eal.file_prefix, "darkscope");

	cfg->capture.burst = 32;
	cfg->capture.mbufs = 0;
	cfg->capture.time_source = DS_TIME_AUTO;
	cfg->capture.stats_interval_s = 60;

	cfg->workers_auto = true;

	cfg->redis.enabled = true;
	strcpy(cfg->redis.host, "127.0.0.1");
	cfg->redis.port = 6379;
	cfg->redis.db = 0;
	strcpy(cfg->redis.key_prefix, "ds");
	cfg->redis.retention_s = 30 * 86400;
	cfg->redis.hour_retention_s = 35 * 86400;
	cfg->redis.day_retention_s = 800 * 86400;
	strcpy(cfg->redis.rollup_timezone, "UTC");
	cfg->redis.hll_values = 50;
	cfg->redis.queue_minutes = 120;
	cfg->redis.queue_full = DS_QUEUE_FULL_AUTO;
	cfg->redis.connect_timeout_ms = 2000;
	cfg->redis.command_timeout_ms = 5000;
	cfg->redis.retry_max_ms = 10000;
	cfg->redis.drain_timeout_ms = 30000;
	cfg->redis.spool_max_mb = 1024;

	cfg->limits.source_pairs = 1u << 20;
	cfg->limits.syn_option_layouts = 1024;
	cfg->limits.src_asns = 16384;
	cfg->limits.tcp_fingerprints = 4096;

	/* No sources: geo off. */
	cfg->geo.country_source = DS_GEO_COUNTRY_BY_ASN;
	cfg->geo.derive_asn_country = true;
}

/*
 * The whole file into memory; its errors point at line 1, column 1: the file
 * itself. Reading it whole lets encoding errors (which libyaml reports as a
 * byte offset) be turned into a line and column, and bounds the work: a
 * configuration is a few kB, a 16 MiB one is a mistake (a capture passed as
 * the config, say).
 */
static int read_file(struct cfg_ctx *c, const char *path, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf, *nbuf;
	struct stat st;
	ssize_t got;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		fail_at(c, 1, 1, "file", "cannot open: %s", strerror(-rc));
		return rc;
	}
	buf = malloc(cap);
	if (buf == NULL) {
		rc = fail_nomem(c);
		goto out;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		fail_at(c, 1, 1, "file", "cannot read: %s", strerror(EISDIR));
		goto out;
	}
	for (;;) {
		/* Keep one byte for the terminating NUL. */
		if (cap - n < 2) {
			if (cap >= CFG_FILE_MAX) {
				rc = -EFBIG;
				fail_at(c, 1, 1, "file", "larger than %u MiB", CFG_FILE_MAX >> 20);
				goto out;
			}
			nbuf = realloc(buf, cap * 2);
			if (nbuf == NULL) {
				rc = fail_nomem(c);
				goto out;
			}
			buf = nbuf;
			cap *= 2;
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			fail_at(c, 1, 1, "file", "cannot read: %s", strerror(-rc));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
out:
	close(fd);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*text = buf;
	*len = n;
	return 0;
}

/*
 * read -> tree -> defaults -> walk. The configuration is allocated only once
 * the YAML is known to be well formed, and freed on any later error: the
 * caller gets a complete, valid configuration or none.
 */
struct ds_config *ds_config_load(const char *path, struct ds_config_error *err)
{
	struct ds_config_error scratch;
	struct cfg_ctx c;
	struct ds_config *cfg = NULL;
	struct node *root = NULL;
	char *text = NULL;
	int rc;

	if (err == NULL)
		err = &scratch;
	err->msg[0] = '\0';
	if (path == NULL) {
		snprintf(err->msg, sizeof(err->msg), "ds_config_load: no path given");
		errno = EINVAL;
		return NULL;
	}
	memset(&c, 0, sizeof(c));
	c.file = path;
	c.msg = err->msg;
	c.main_lcore = -1;

	rc = read_file(&c, path, &text, &c.text_len);
	if (rc != 0)
		goto out;
	c.text = text;
	rc = build_tree(&c, &root);
	if (rc != 0)
		goto out;
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		rc = fail_nomem(&c);
		goto out;
	}
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	set_defaults(cfg);
	rc = parse_root(&c, root, cfg);
out:
	node_free(root);
	free(text);
	if (rc != 0) {
		ds_config_free(cfg);
		errno = -rc;
		return NULL;
	}
	return cfg;
}

void ds_config_free(struct ds_config *cfg)
{
	uint32_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->eal.n_extra_args; i++)
		free(cfg->eal.extra_args[i]);
	free(cfg->eal.extra_args);
	for (i = 0; i < cfg->n_feeds; i++)
		free(cfg->feeds[i].prefixes);
	free(cfg);
}

/* ------------------------------------------------------------------------------------------ */
/* Redis endpoint and password                                                                */
/* ------------------------------------------------------------------------------------------ */

static bool parse_bounded(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out)
{
	return parse_decimal(s, len, out) && *out >= min && *out <= max;
}

/*
 * The URL is the whole endpoint: parts it does not give take their URL
 * defaults (db 0, port 6379 in the redis:// form), not the file's values, so
 * `--redis host:port` means the same whatever the file says. Everything is
 * validated before cfg changes.
 */
int ds_config_set_redis_url(struct ds_config *cfg, const char *url, struct ds_config_error *err)
{
	char host[sizeof(cfg->redis.host)] = "", sock[sizeof(cfg->redis.unix_socket)] = "";
	uint64_t port = 6379, db = 0;
	const char *s, *end, *colon;
	char q[QUOTE_BUF];
	size_t i;

	if (cfg == NULL || url == NULL) {
		if (err != NULL)
			snprintf(err->msg, sizeof(err->msg), "ds_config_set_redis_url: no %s given",
				 cfg == NULL ? "configuration" : "URL");
		return -EINVAL;
	}

	if (strncmp(url, "unix:", 5) == 0) {
		/* unix:/path[?db=N] */
		const char *qm = strchr(url + 5, '?');
		size_t plen = qm != NULL ? (size_t)(qm - url - 5) : strlen(url + 5);

		if (plen == 0 || plen >= sizeof(sock))
			goto bad;
		if (qm != NULL && (strncmp(qm, "?db=", 4) != 0 ||
				   !parse_bounded(qm + 4, strlen(qm + 4), 0, 65535, &db)))
			goto bad;
		memcpy(sock, url + 5, plen);
		sock[plen] = '\0';
	} else {
		/* redis://host[:port][/db] or host:port; an IPv6 host in brackets */
		bool is_url = strncmp(url, "redis://", 8) == 0;

		s = is_url ? url + 8 : url;
		end = s + strcspn(s, "/");
		if (*end == '/' && (!is_url || !parse_bounded(end + 1, strlen(end + 1), 0, 65535,
							      &db)))
			goto bad;
		if (*s == '[') {
			const char *rb = memchr(s, ']', (size_t)(end - s));

			if (rb == NULL || rb == s + 1)
				goto bad;
			colon = rb + 1 < end ? rb + 1 : NULL;
			if (colon != NULL && *colon != ':')
				goto bad;
			snprintf(host, sizeof(host), "%.*s", (int)(rb - s - 1), s + 1);
			if ((size_t)(rb - s - 1) >= sizeof(host))
				goto bad;
		} else {
			colon = memchr(s, ':', (size_t)(end - s));
			if (colon == s || (colon != NULL && memchr(colon + 1, ':',
								   (size_t)(end - colon - 1))))
				goto bad;   /* an IPv6 address needs brackets */
			i = colon != NULL ? (size_t)(colon - s) : (size_t)(end - s);
			if (i == 0 || i >= sizeof(host))
				goto bad;
			memcpy(host, s, i);
			host[i] = '\0';
		}
		/* The bare form needs its port: "localhost" alone is more likely a typo. */
		if (colon == NULL && !is_url)
			goto bad;
		if (colon != NULL && !parse_bounded(colon + 1, (size_t)(end - colon - 1), 1, 65535,
						    &port))
			goto bad;
		/* Credentials in a URL would show in ps(1): refuse them. */
		for (i = 0; host[i] != '\0'; i++)
			if ((unsigned char)host[i] <= 0x20 || host[i] == '@' || host[i] == 0x7f)
				goto bad;
	}

	/* Validated: now the configuration changes, all at once. */
	if (sock[0] != '\0') {
		strcpy(cfg->redis.unix_socket, sock);
	} else {
		cfg->redis.unix_socket[0] = '\0';
		strcpy(cfg->redis.host, host);
		cfg->redis.port = (uint16_t)port;
	}
	cfg->redis.db = (uint32_t)db;
	cfg->redis.enabled = true;
	return 0;
bad:
	if (err != NULL)
		snprintf(err->msg, sizeof(err->msg), "redis URL %s: expected unix:/path[?db=N], "
			 "redis://host[:port][/db] or host:port", quote(url, strlen(url), q));
	return -EINVAL;
}

/*
 * Drops one trailing "\n" or "\r\n": what `echo pw > file`, an editor, or
 * a file written on Windows add. Only one: anything else is the password.
 */
static size_t strip_newline(const char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	return len;
}

/*
 * Read at connect time, not at load: a rotated secret is picked up on the
 * next reconnect, and the password spends as little time in memory as
 * possible. Messages name the variable or file, never the value.
 */
int ds_config_redis_password(const struct ds_config_redis *r, char *buf, unsigned int len,
			     struct ds_config_error *err)
{
	struct ds_config_error scratch;
	char *tmp = NULL;
	size_t n = 0, want;
	ssize_t got;
	int fd = -1, rc = 0;

	if (err == NULL)
		err = &scratch;
	if (r == NULL || buf == NULL || len == 0) {
		snprintf(err->msg, sizeof(err->msg), "ds_config_redis_password: bad arguments");
		return -EINVAL;
	}
	buf[0] = '\0';

	if (r->password_env[0] != '\0') {
		const char *v = getenv(r->password_env);

		if (v == NULL) {
			snprintf(err->msg, sizeof(err->msg), "redis.password_env: environment "
				 "variable %s is not set", r->password_env);
			return -ENOENT;
		}
		n = strip_newline(v, strlen(v));
		if (n >= len) {
			snprintf(err->msg, sizeof(err->msg), "redis.password_env: the value of %s "
				 "is longer than %u bytes", r->password_env, len - 1);
			return -ENAMETOOLONG;
		}
		memcpy(buf, v, n);
		buf[n] = '\0';
		return 0;
	}
	if (r->password_file[0] == '\0')
		return 0;

	/*
	 * The first line, read whole or found too long: len + 1 bytes hold the
	 * longest password (len - 1) and its "\r\n".
	 */
	want = (size_t)len + 1;
	tmp = malloc(want);
	if (tmp == NULL) {
		snprintf(err->msg, sizeof(err->msg), "redis.password_file: out of memory");
		return -ENOMEM;
	}
	fd = open(r->password_file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		goto io_error;
	}
	while (n < want) {
		got = read(fd, tmp + n, want - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = -errno;
			goto io_error;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	{
		char *nl = memchr(tmp, '\n', n);
		size_t line = nl != NULL ? (size_t)(nl - tmp) + 1 : n;

		if (nl == NULL && n == want)
			line = want;    /* no end in sight: too long */
		line = strip_newline(tmp, line);
		if (line >= len) {
			snprintf(err->msg, sizeof(err->msg), "redis.password_file: the password "
				 "in \"%.300s\" is longer than %u bytes", r->password_file,
				 len - 1);
			rc = -ENAMETOOLONG;
			goto out;
		}
		if (memchr(tmp, '\0', line) != NULL) {
			snprintf(err->msg, sizeof(err->msg), "redis.password_file: \"%.300s\" "
				 "holds a NUL byte", r->password_file);
			rc = -EINVAL;
			goto out;
		}
		memcpy(buf, tmp, line);
		buf[line] = '\0';
	}
	goto out;
io_error:
	snprintf(err->msg, sizeof(err->msg), "redis.password_file: cannot read \"%.300s\": %s",
		 r->password_file, strerror(-rc));
out:
	if (fd >= 0)
		close(fd);
	/* The password must not linger on the heap. */
	explicit_bzero(tmp, want);
	free(tmp);
	return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Prefixes                                                                                   */
/* ------------------------------------------------------------------------------------------ */

/*
 * inet_pton does the address (glibc's refuses leading zeros in IPv4, which
 * other parsers read as octal); the length is a plain decimal. A ':' decides
 * the family, as no IPv4 text contains one.
 */
int ds_prefix_parse(const char *s, struct ds_prefix *p)
{
	char addr[INET6_ADDRSTRLEN];
	struct ds_prefix tmp;
	const char *slash;
	uint64_t len;
	unsigned int i, bytes;
	bool host_bits = false;

	if (s == NULL || p == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	if (slash == NULL || slash == s || (size_t)(slash - s) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';

	memset(&tmp, 0, sizeof(tmp));
	tmp.family = strchr(addr, ':') != NULL ? 6 : 4;
	bytes = tmp.family == 4 ? 4 : 16;
	if (inet_pton(tmp.family == 4 ? AF_INET : AF_INET6, addr, tmp.addr) != 1)
		return -EINVAL;
	if (!parse_decimal(slash + 1, strlen(slash + 1), &len) || len > bytes * 8)
		return -EINVAL;
	tmp.len = (uint8_t)len;

	/* Clear the host bits, noting whether there were any. */
	for (i = 0; i < bytes; i++) {
		unsigned int keep = len >= (i + 1) * 8 ? 8 :
				    len > i * 8 ? (unsigned int)len - i * 8 : 0;
		uint8_t mask = (uint8_t)(0xff00u >> keep);

		if (tmp.addr[i] & ~mask)
			host_bits = true;
		tmp.addr[i] &= mask;
	}
	/* On -ERANGE p still receives the prefix with host bits cleared: the "did you mean". */
	*p = tmp;
	return host_bits ? -ERANGE : 0;
}

/* inet_ntop's canonical text (RFC 5952 for IPv6): equal prefixes print equally. */
void ds_prefix_format(const struct ds_prefix *p, char *buf, unsigned int len)
{
	char addr[INET6_ADDRSTRLEN];

	if (buf == NULL || len == 0)
		return;
	if (p == NULL || (p->family != 4 && p->family != 6) ||
	    inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, addr, sizeof(addr)) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, "%s/%u", addr, p->len);
}
