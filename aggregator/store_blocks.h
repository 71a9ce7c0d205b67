/*
 * store_blocks.h: the compact form of samples and usage summaries kept by
 * the SQLite store (store_sqlite.c).  Internal to aggstore.
 *
 * IPC usage is flat most of the time, so a host's samples are not kept one
 * row per value: one row per (host, hour) holds a block with every sample of
 * every limit of that host in that hour, as runs.  The times are runs of
 * equal steps (a snapshot a minute: one run for the hour), each limit's
 * values runs of unchanged (used, limit) pairs, stored as differences from
 * the run before.  A flat hour of five limits takes about 80 bytes.
 *
 * Encoding (every number an unsigned LEB128 varint, signed ones zigzagged):
 *   version (1), n (times, 1..SB_MAX_TIMES)
 *   ntr, then ntr x (step, count): the first run is (offset in the hour, 1),
 *     the others (seconds since the previous time, how many such times)
 *   nl (limits), then nl x:
 *     name length, name bytes, nruns, then nruns x:
 *       count << 1 | absent, and unless absent:
 *       zigzag(used - previous used), zigzag(limit - previous limit)
 *     (uint64_t differences, wrapping; "previous" starts at 0)
 * Every run's count is at least 1; the counts of the times and of each limit
 * add up to n; the times are strictly increasing within the hour.  Decoding
 * checks all of it: a block read back is treated as untrusted input.
 */
#ifndef IPCFLEET_STORE_BLOCKS_H
#define IPCFLEET_STORE_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "model.h"
#include "store.h"

#define SB_HOUR       3600
#define SB_MAX_TIMES  SB_HOUR /* distinct seconds in an hour */
#define SB_MAX_LIMITS 16
/* A block's largest possible encoding: every time a run in every limit, 21 bytes each. */
#define SB_MAX_BYTES                                                                               \
	(64u + SB_MAX_LIMITS * (MODEL_NAME_MAX + 16u + SB_MAX_TIMES * 21u) + SB_MAX_TIMES * 8u)

struct sb_trun {
	uint32_t step, count;
};

struct sb_vrun {
	uint64_t used, limit;
	uint32_t count;
	int absent; /* the limit was not in the snapshots of these times */
};

struct sb_series {
	char name[MODEL_NAME_MAX];
	size_t nruns, cap;
	struct sb_vrun *runs;
};

/* A decoded block.  Its arrays are kept across sb_reset() and sb_decode(). */
struct sb_block {
	int64_t hour; /* start of the hour, Unix seconds */
	uint32_t n;   /* times */
	int64_t last; /* the latest time */
	size_t ntr, trcap;
	struct sb_trun *tr;
	size_t nl;
	struct sb_series l[SB_MAX_LIMITS];
};

/* One limit's value at one time, for sb_set(). */
struct sb_value {
	const char *name;
	uint64_t used, limit;
};

/* Start of the hour holding t. */
int64_t sb_hour_of(int64_t t);
/* Start of the day (UTC) holding t; INT64_MIN for the first partial day of int64_t. */
int64_t sb_day_of(int64_t t);

void sb_init(struct sb_block *b);
void sb_free(struct sb_block *b);
/* Empties b for the given hour, keeping its memory. */
void sb_reset(struct sb_block *b, int64_t hour);
/* Decodes p[0..n) as the block of hour into b.  0, or -1 (malformed, or out of memory). */
int sb_decode(struct sb_block *b, int64_t hour, const uint8_t *p, size_t n);
/* Appends b's encoding to out.  0 or -1 (out of memory, or out's cap). */
int sb_encode(const struct sb_block *b, struct buf *out);
/*
 * The values at time t (in b's hour) of the limits v[0..nv): a new time, or
 * the values replaced at an existing one (limits not in v keep theirs).
 * 0, or -1 (t outside the hour, too many limits, a bad name, out of memory).
 */
int sb_set(struct sb_block *b, int64_t t, const struct sb_value *v, size_t nv);
/* The series of limit name in b, or NULL. */
const struct sb_series *sb_find(const struct sb_block *b, const char *name);
/* Appends limit's samples at times >= t0 to out[*n..max). */
void sb_samples(const struct sb_block *b, const struct sb_series *l, int64_t t0, struct sample *out,
                size_t max, size_t *n);
/*
 * The hour's rollup of one limit: min, max, sum and count of its values,
 * the latest limit.  0, or 1 when it has no value in b.
 */
int sb_rollup(const struct sb_series *l, uint64_t *mn, uint64_t *mx, long double *sum,
              uint64_t *count, uint64_t *limit);

/*
 * Usage summaries (hosts.usage): model_usage()'s items.  Encoding: version
 * (1), count, then count x (name length, name, has_limit, used, limit).
 */
int sb_usage_encode(const struct usage *u, struct buf *out);
/* Decodes into u; each u->v[i].name points into names[i].  0 or -1. */
int sb_usage_decode(const uint8_t *p, size_t n, struct usage *u,
                    char names[USAGE_MAX][MODEL_NAME_MAX]);

/*
 * Count runs (store.h, struct count_run): a host's runs as one blob, by
 * key then time.  Encoding: version (1), n (at most COUNT_RUNS_MAX), then
 * n x (scope length, scope bytes, what, zigzag(id), zigzag(first),
 * last - first, value, snapshots, cont).  Decoding checks every field: a
 * blob read back is untrusted.
 */
int sb_counts_encode(const struct count_run *v, size_t n, struct buf *out);
/* Decodes into a malloc'd *v (NULL when none).  0, or -1 (malformed, out of memory). */
int sb_counts_decode(const uint8_t *p, size_t len, struct count_run **v, size_t *n);
/*
 * store.h's counts() merge: v[0..*n) (malloc'd, may be reallocated) with
 * cur[0..ncur) seen at t, then the runs ended before keep dropped and the
 * rest bounded; sorted by key then time.  0, or -1 when out of memory.
 */
int sb_counts_merge(struct count_run **v, size_t *n, const struct count_run *cur, size_t ncur,
                    int64_t t, int64_t keep);

#endif
