/*
 * prom.h: the Prometheus text exposition format (version 0.0.4), as the
 * aggregator's GET /metrics and the agent's node_exporter textfile write it.
 *
 * A family's samples must be together under its HELP and TYPE lines, so a
 * writer that goes host by host (or scope by scope) collects each family in
 * a buffer of its own and appends them in the end (prom_head, then the
 * buffer).  Label values go through prom_label(), the one escaping rule.
 */
#ifndef IPCFLEET_PROM_H
#define IPCFLEET_PROM_H

#include <stdint.h>

#include "buf.h"
#include "model.h"

/*
 * Appends s as a label value: backslash and double quote escaped, and
 * whatever text_char_len() refuses (invalid UTF-8, for which Prometheus
 * refuses a whole page; controls, of which a newline would end the sample;
 * invisible formatting characters) as '?'.
 */
void prom_label(struct buf *b, const char *s);
/* "# HELP NAME HELP" and "# TYPE NAME TYPE" lines. */
void prom_head(struct buf *b, const char *name, const char *type, const char *help);
/*
 * One sample line, NAME{K1="V1",...} VALUE: labels are (key, value) pairs
 * ending with NULL (NULL alone: no labels); keys are written as they are,
 * values through prom_label().  Integers exactly, ratios as %.15g.
 */
void prom_sample_u64(struct buf *b, const char *name, const char *const *labels, uint64_t v);
void prom_sample_f64(struct buf *b, const char *name, const char *const *labels, double v);

/*
 * The usage of one pool (model_usage), as four families named PREFIX plus
 * "limit_value", "limit_used", "limit_ratio" and "limit_unknown"
 * ("ipcfleet_" for a host's pool, as /metrics has them): per countable
 * limit its value when the limit is known; its use, and use / limit when
 * the limit is known (1 for a limit of 0), when the use is known; and a flag 1 in
 * limit_unknown for a figure that could not be read, whose used and ratio
 * samples are then absent (unknown is never zero).  Each sample has labels
 * (pairs ending with NULL) and then limit="NAME".
 */
enum prom_usage_family {
	PROM_LIMIT_VALUE = 0,
	PROM_LIMIT_USED,
	PROM_LIMIT_RATIO,
	PROM_LIMIT_UNKNOWN,
	PROM_LIMIT_COUNT
};
/* A usage family's name after its prefix, and its HELP text. */
const char *prom_usage_name(enum prom_usage_family f);
const char *prom_usage_help(enum prom_usage_family f);
/* Appends the samples of u to fam[0..PROM_LIMIT_COUNT), names from prefix. */
void prom_usage(struct buf fam[PROM_LIMIT_COUNT], const char *prefix, const char *const *labels,
                const struct usage *u);

#endif
