/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * JSON-lines sink: one JSON object per feed-minute, one line each, written
 * from the same struct ds_rollup that goes to Redis. The format is
 * documented in docs/SCHEMA.md; the tests parse it.
 */

#ifndef DS_JSONL_H
#define DS_JSONL_H

#include <stdio.h>

#include "ds_rollup.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Write one line per feed of @p r to @p out and flush it.
 * @return 0, or -errno of the failed write (-EIO when errno is not set).
 */
int ds_jsonl_write(FILE *out, const struct ds_rollup *r);

#ifdef __cplusplus
}
#endif

#endif /* DS_JSONL_H */
