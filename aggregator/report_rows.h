/*
 * report_rows.h: what a report row adds to a hosts row (issue 15): the
 * limit nearest exhaustion ("nearest") and 30 days of daily peaks of the
 * limits the report draws ("history"), from the store's hourly rollups.
 * docs/protocol.md, "report", describes both.
 */
#ifndef IPCFLEET_REPORT_ROWS_H
#define IPCFLEET_REPORT_ROWS_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"
#include "view.h"

#define REPORT_DAYS        30 /* days of history in a report row */
#define REPORT_HIST_LIMITS 4  /* limits with a history in one row */
/*
 * Bytes of history in one report reply: past it, further rows carry
 * "history": nil (about 150 bytes a host: 20,000 hosts fit; the rest of
 * the reply stays under the 16 MiB frame as before).
 */
#define REPORT_HIST_BUDGET (3u * 1024 * 1024)

/* One host's report row extras; fill in, then pass report_row_pack as view_extra.more. */
struct report_row {
	struct store *st;
	const char *host;
	const struct snapshot *s;
	const struct finding *findings; /* the host's open findings */
	size_t nfindings;
	view_levels_fn levels; /* warn and crit of a limit (may be NULL: 80 and 90) */
	void *levels_arg;
	int64_t now;
	size_t *budget; /* bytes of history left in the reply; decremented */
};

/* The number of pairs report_row_pack() packs. */
#define REPORT_ROW_PAIRS 2

/* Packs "nearest" and "history" (view_extra.more). */
void report_row_pack(msgpack_packer *pk, void *arg);

/*
 * The index into u of the limit nearest exhaustion, -1 when no figure is
 * known: the earliest of a forecast's exhaustion date (an open forecast or
 * leak finding on that limit) and "now" for a limit at or past its crit
 * level; among limits with neither, the highest use%.  *at: the date, 0
 * when none.
 */
int report_nearest(const struct usage *u, const struct finding *f, size_t nf, view_levels_fn levels,
                   void *levels_arg, int64_t now, int64_t *at);

#endif
