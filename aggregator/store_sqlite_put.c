/*
 * store_sqlite_put.c: the SQLite backend's write path
 * (store_sqlite_local.h): snapshots stored in one transaction per batch
 * (group commit), each into its host row, the received sequences, and the
 * host's sample block of that hour; blocks rolled up into hourly rollups
 * and daily peaks; the bulk history path; and housekeeping, which rolls up
 * what is left unrolled and deletes old rows in small batches.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "model.h"
#include "store.h"
#include "store_blocks.h"
#include "store_core.h"
#include "store_sqlite_local.h"
#include "util.h"

/* Writes the peak of limit on day as mx. */
static int
sq_peak_put(struct sq_store *q, int64_t host_id, const char *limit, int64_t day, uint64_t mx)
{
	sqlite3_stmt *x = q->stmt[SQ_PEAK_PUT];
	int rc;

	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_text(x, 2, limit, MODEL_NAME_MAX) == -1 ||
	    sq_bind_i64(x, 3, day) == -1 || sq_bind_u64(x, 4, mx) == -1)
		return -1;
	rc = sq_exec_stmt(x);
	sq_done(x);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Raises the day's peak of limit to mx when it is larger (compared as uint64_t). */
static int
sq_peak_raise(struct sq_store *q, int64_t host_id, const char *limit, int64_t hour, uint64_t mx)
{
	sqlite3_stmt *x = q->stmt[SQ_PEAK_GET];
	int64_t day = sb_day_of(hour);
	uint64_t old;
	int rc;

	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_text(x, 2, limit, MODEL_NAME_MAX) == -1 ||
	    sq_bind_i64(x, 3, day) == -1)
		return -1;
	rc = sqlite3_step(x);
	if (rc == SQLITE_ROW && sq_col_u64(x, 0, &old) == 0 && old >= mx) {
		sq_done(x);
		return 0;
	}
	sq_done(x);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return sq_peak_put(q, host_id, limit, day, mx);
}

/*
 * The rollup row of (host, limit, hour): 0 with its values, 1 when there is
 * none, -1 on an error or a bad row.  min, max and count hold uint64_t bit
 * patterns.
 */
static int
sq_rollup_get(struct sq_store *q, int64_t host_id, const char *limit, int64_t hour, uint64_t *mn,
              uint64_t *mx, double *mean, uint64_t *cnt)
{
	sqlite3_stmt *x = q->stmt[SQ_ROLLUP_GET];
	int rc;

	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_text(x, 2, limit, MODEL_NAME_MAX) == -1 ||
	    sq_bind_i64(x, 3, hour) == -1)
		return -1;
	rc = sqlite3_step(x);
	if (rc == SQLITE_ROW) {
		if (sq_col_u64(x, 0, mn) == -1 || sq_col_u64(x, 1, mx) == -1 ||
		    sqlite3_column_type(x, 2) != SQLITE_FLOAT || sq_col_u64(x, 3, cnt) == -1)
			rc = -1;
		else
			*mean = sqlite3_column_double(x, 2);
	}
	sq_done(x);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/* Writes the rollup row of (host, limit, hour) and raises the day's peak. */
static int
sq_rollup_put(struct sq_store *q, int64_t host_id, const char *limit, int64_t hour, uint64_t mn,
              uint64_t mx, double mean, uint64_t cnt, uint64_t lim)
{
	sqlite3_stmt *x = q->stmt[SQ_ROLLUP_PUT];
	int rc;

	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_text(x, 2, limit, MODEL_NAME_MAX) == -1 ||
	    sq_bind_i64(x, 3, hour) == -1 || sq_bind_u64(x, 4, mn) == -1 ||
	    sq_bind_u64(x, 5, mx) == -1 || sqlite3_bind_double(x, 6, mean) != SQLITE_OK ||
	    sq_bind_u64(x, 7, cnt) == -1 || sq_bind_u64(x, 8, lim) == -1)
		return -1;
	rc = sq_exec_stmt(x);
	sq_done(x);
	if (rc != SQLITE_DONE)
		return -1;
	return sq_peak_raise(q, host_id, limit, hour, mx);
}

/*
 * Sets the day's peak of limit (the day holding hour) to the largest
 * maximum of that day's rollups (compared as uint64_t: SQ_PEAK), for when a
 * replaced value has lowered an hour's maximum: sq_peak_raise only raises.
 */
static int
sq_peak_again(struct sq_store *q, int64_t host_id, const char *limit, int64_t hour)
{
	sqlite3_stmt *x = q->stmt[SQ_PEAK];
	int64_t day = sb_day_of(hour);
	uint64_t mx = 0;
	int have;

	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_text(x, 2, limit, MODEL_NAME_MAX) == -1 ||
	    sq_bind_i64(x, 3, day) == -1 ||
	    sq_bind_i64(x, 4, day > INT64_MAX - 86400 ? INT64_MAX : day + 86400) == -1)
		return -1;
	if (sqlite3_step(x) != SQLITE_ROW) {
		sq_done(x);
		return -1;
	}
	have = 1;
	if (sqlite3_column_type(x, 1) == SQLITE_INTEGER)
		mx = (uint64_t)sqlite3_column_int64(x, 1);
	else if (sqlite3_column_type(x, 0) == SQLITE_INTEGER)
		mx = (uint64_t)sqlite3_column_int64(x, 0);
	else
		have = 0; /* no rollup that day (cannot be: the caller has just written one) */
	sq_done(x);
	return have ? sq_peak_put(q, host_id, limit, day, mx) : 0;
}

/* What a block holds of one limit: sb_rollup's figures, count 0 for none. */
struct sq_stats {
	uint64_t mn, mx, cnt, lim;
	long double sum;
};

static void
sq_stats_of(const struct sb_block *b, const char *name, struct sq_stats *st)
{
	const struct sb_series *l = sb_find(b, name);

	memset(st, 0, sizeof(*st));
	if (l == NULL || sb_rollup(l, &st->mn, &st->mx, &st->sum, &st->cnt, &st->lim) != 0)
		st->cnt = 0;
}

/*
 * Brings the hourly rollup of a rolled block up to date after v was set at
 * t in it (b0: what the block held of that limit before).  When the rollup
 * row holds exactly the block's samples (its count is the block's before
 * the change: the usual case) it becomes the block's rollup again, so a
 * value replaced at a time already stored (a newer sequence number taken in
 * the same second) leaves min, max, mean and count (and the day's peak) as
 * if it had never been there, as for a block rolled up later.  Otherwise
 * the row also holds samples of a block housekeeping deleted (a backlog
 * older than retention): the change is applied to it, a new time adding
 * one to the count and a replaced value moving the mean; min and max can
 * only widen then.  The row's limit becomes the arriving snapshot's, as every
 * sample's does on PostgreSQL.  min and max are compared in C (the columns
 * hold uint64_t bit patterns).
 */
static int
sq_rollup_change(struct sq_store *q, int64_t host_id, const struct sb_block *b,
                 const struct sb_value *v, const struct sq_stats *b0)
{
	struct sq_stats b1;
	uint64_t mn, mx, cnt;
	double mean;
	long double sum;
	int rc;

	sq_stats_of(b, v->name, &b1);
	if (b1.cnt == 0)
		return -1; /* sb_set has just stored a value */
	rc = sq_rollup_get(q, host_id, v->name, b->hour, &mn, &mx, &mean, &cnt);
	if (rc == -1)
		return -1;
	if (rc == 1 || cnt == b0->cnt) {
		if (sq_rollup_put(q, host_id, v->name, b->hour, b1.mn, b1.mx,
		                  (double)(b1.sum / (long double)b1.cnt), b1.cnt, v->limit) == -1)
			return -1;
		/* a replaced maximum: the day's peak may be lower now */
		return rc == 0 && b1.mx < mx ? sq_peak_again(q, host_id, v->name, b->hour) : 0;
	}
	sum = (long double)mean * (long double)cnt + (b1.sum - b0->sum);
	cnt += b1.cnt - b0->cnt;
	mn = mn < v->used ? mn : v->used;
	mx = mx > v->used ? mx : v->used;
	return sq_rollup_put(q, host_id, v->name, b->hour, mn, mx, (double)(sum / (long double)cnt),
	                     cnt, v->limit);
}

/*
 * Merges an hour's rollup (from a block) into its row: count-weighted mean,
 * min and max compared as uint64_t.
 */
static int
sq_rollup_merge(struct sq_store *q, int64_t host_id, const char *limit, int64_t hour, uint64_t mn,
                uint64_t mx, long double sum, uint64_t cnt, uint64_t lim)
{
	uint64_t omn, omx, ocnt;
	double omean;
	int rc = sq_rollup_get(q, host_id, limit, hour, &omn, &omx, &omean, &ocnt);

	if (rc == -1)
		return -1;
	if (rc == 0) {
		sum += (long double)omean * (long double)ocnt;
		mn = omn < mn ? omn : mn;
		mx = omx > mx ? omx : mx;
		cnt += ocnt;
	}
	return sq_rollup_put(q, host_id, limit, hour, mn, mx, (double)(sum / (long double)cnt), cnt,
	                     lim);
}

/* Every limit of block b into the rollups. */
static int
sq_block_rollup(struct sq_store *q, int64_t host_id, const struct sb_block *b)
{
	size_t i;

	for (i = 0; i < b->nl; i++) {
		uint64_t mn = 0, mx = 0, cnt, lim = 0;
		long double sum;

		if (sb_rollup(&b->l[i], &mn, &mx, &sum, &cnt, &lim) != 0)
			continue;
		if (sq_rollup_merge(q, host_id, b->l[i].name, b->hour, mn, mx, sum, cnt, lim) == -1)
			return -1;
	}
	return 0;
}

/* Writes q->blk as the block of (host_id, its hour). */
static int
sq_block_write(struct sq_store *q, int64_t host_id, int rolled)
{
	sqlite3_stmt *x = q->stmt[SQ_BLOCK_PUT];
	int rc;

	buf_reset(&q->enc);
	if (sb_encode(&q->blk, &q->enc) == -1)
		return -1;
	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_i64(x, 2, q->blk.hour) == -1 ||
	    sq_bind_i64(x, 3, rolled) == -1 ||
	    sqlite3_bind_blob64(x, 4, q->enc.data, q->enc.len, SQLITE_STATIC) != SQLITE_OK)
		return -1;
	rc = sq_exec_stmt(x);
	sq_done(x);
	return rc == SQLITE_DONE ? 0 : -1;
}

/*
 * Rolls up the unrolled blocks v[0..n) of host_id (a corrupt one is only
 * marked rolled: its hour cannot be computed).  Uses q->blk.
 */
static int
sq_roll_blocks(struct sq_store *q, int64_t host_id, const struct sq_unrolled *v, size_t n)
{
	sqlite3_stmt *x = q->stmt[SQ_BLOCK_ROLLED];
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (sb_decode(&q->blk, v[i].hour, v[i].data, v[i].len) == 0 &&
		    sq_block_rollup(q, host_id, &q->blk) == -1)
			return -1;
		if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_i64(x, 2, v[i].hour) == -1)
			return -1;
		rc = sq_exec_stmt(x);
		sq_done(x);
		if (rc != SQLITE_DONE)
			return -1;
	}
	return 0;
}

/*
 * The samples of one snapshot (usage u at time t) into the host's block of
 * that hour.  The common case: the block exists and t is its newest time,
 * one row rewritten.  A host's first block of a later hour rolls up the
 * blocks before it.  A time older than the host's unrolled blocks (a late
 * backlog) goes into a block marked rolled, and into the rollups at once.
 */
static int
sq_samples_put(struct sq_store *q, int64_t host_id, int64_t t, const struct usage *u,
               const char **what)
{
	sqlite3_stmt *x = q->stmt[SQ_BLOCK_GET];
	struct sb_value v[USAGE_MAX];
	struct sq_stats before[USAGE_MAX];
	struct sq_unrolled *ur = NULL;
	size_t nv = 0, nur = 0, i;
	int64_t hour = sb_hour_of(t), rolled = 0;
	int rc, late = 0;

	/* a figure the agent could not read is no sample (unknown is never 0):
	 * the series has a gap there, and rollups and forecasts skip it */
	for (i = 0; i < u->n && i < USAGE_MAX; i++)
		if (USAGE_KNOWN(&u->v[i]))
			v[nv++] = (struct sb_value){u->v[i].name, u->v[i].used, u->v[i].limit};
	if (nv == 0)
		return 0;
	*what = "storing samples";
	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_i64(x, 2, hour) == -1)
		return -1;
	rc = sqlite3_step(x);
	if (rc == SQLITE_ROW) {
		const uint8_t *p;
		size_t len;

		if (sq_col_i64(x, 0, &rolled) == -1)
			rolled = 1;
		/*
		 * A damaged block is started again rather than refused: refusing
		 * would fail every batch holding this host, and with it the
		 * snapshots of every other agent in the batch.
		 */
		if (sq_col_blob(x, 1, &p, &len) == -1 || sb_decode(&q->blk, hour, p, len) == -1)
			sb_reset(&q->blk, hour);
		sq_done(x);
	} else {
		sq_done(x);
		if (rc != SQLITE_DONE)
			return -1;
		if (sq_unrolled(q, host_id, &ur, &nur) == -1)
			return -1;
		late = nur > 0 && ur[0].hour > hour;
		*what = "storing rollups";
		if (!late && sq_roll_blocks(q, host_id, ur, nur) == -1) {
			sq_unrolled_free(ur, nur);
			return -1;
		}
		sq_unrolled_free(ur, nur);
		sb_reset(&q->blk, hour);
		rolled = late;
	}
	/* its hour is in the rollups already: they follow the block's change */
	if (rolled)
		for (i = 0; i < nv; i++)
			sq_stats_of(&q->blk, v[i].name, &before[i]);
	*what = "storing samples";
	if (sb_set(&q->blk, t, v, nv) == -1 || sq_block_write(q, host_id, rolled != 0) == -1)
		return -1;
	if (rolled) {
		*what = "storing rollups";
		for (i = 0; i < nv; i++)
			if (sq_rollup_change(q, host_id, &q->blk, &v[i], &before[i]) == -1)
				return -1;
	}
	return 0;
}

/* Resets the statements sq_put_in_tx() may have left bound or stepping. */
static void
sq_put_reset(struct sq_store *q)
{
	size_t i;

	/* Only these statements: each_host() may be walking its own. */
	for (i = SQ_BEGIN; i <= SQ_BLOCK_ROLLED; i++)
		sq_done(q->stmt[i]);
	sq_done(q->stmt[SQ_ROLLUP_GET]);
	sq_done(q->stmt[SQ_ROLLUP_PUT]);
	sq_done(q->stmt[SQ_PEAK_GET]);
	sq_done(q->stmt[SQ_PEAK_PUT]);
	sq_done(q->stmt[SQ_PEAK]);
}

/*
 * A duplicate: is the stored payload's digest (NULL for rows from before
 * schema 4) another than this one's?  0 and *conflict, or -1.
 */
static int
sq_check_duplicate(struct sq_store *q, int64_t host_id, const struct host_info *hi, uint64_t seq,
                   const uint8_t digest[STORE_DIGEST_LEN], int *conflict)
{
	sqlite3_stmt *x = q->stmt[SQ_RECEIVED_DIGEST];
	int rc;

	*conflict = 0;
	if (sq_bind_i64(x, 1, host_id) == -1 ||
	    sq_bind_text(x, 2, hi->spool, sizeof(hi->spool)) == -1 || sq_bind_u64(x, 3, seq) == -1)
		return -1;
	rc = sqlite3_step(x);
	if (rc != SQLITE_ROW)
		return -1;
	if (sqlite3_column_type(x, 0) == SQLITE_BLOB)
		*conflict = sqlite3_column_bytes(x, 0) != STORE_DIGEST_LEN ||
		            memcmp(sqlite3_column_blob(x, 0), digest, STORE_DIGEST_LEN) != 0;
	sq_done(x);
	return 0;
}

/*
 * Writes one snapshot inside the open transaction.  0, or -1 with err (the
 * caller rolls back); *duplicate says whether (host, spool, seq) was there
 * before, *conflict whether that one's content differs.
 */
static int
sq_put_in_tx(struct sq_store *q, const struct host_info *hi, const struct snapshot *s,
             const uint8_t *raw, size_t rawlen, int64_t received, int *duplicate, int *conflict,
             char *err, size_t errlen)
{
	sqlite3_stmt *x;
	struct usage u;
	const char *what;
	char last_spool[STORE_SPOOL_MAX];
	uint8_t digest[STORE_DIGEST_LEN];
	int64_t host_id, last_taken = 0;
	uint64_t last_seq = 0;
	int has_last, newer;

	*duplicate = 0;
	*conflict = 0;
	/* fixed fields NUL-terminated: binding them below then cannot fail on length */
	if (store_put_check(q->path, hi, raw, rawlen, digest, err, errlen) == -1)
		return -1;
	model_usage(s, -1, &u);

	/* The host row: info fields refreshed every time. */
	what = "storing host";
	x = q->stmt[SQ_UPSERT_HOST];
	if (sq_bind_text(x, 1, hi->name, sizeof(hi->name)) == -1 ||
	    sq_bind_text(x, 2, hi->os, sizeof(hi->os)) == -1 ||
	    sq_bind_text(x, 3, hi->os_release, sizeof(hi->os_release)) == -1 ||
	    sq_bind_text(x, 4, hi->agent, sizeof(hi->agent)) == -1 ||
	    sq_bind_i64(x, 5, hi->page_size) == -1 || sq_bind_i64(x, 6, hi->boot_time) == -1 ||
	    sq_bind_i64(x, 7, hi->interval) == -1)
		goto fail;
	if (sq_exec_stmt(x) != SQLITE_DONE)
		goto fail;
	sq_done(x);

	what = "reading host";
	x = q->stmt[SQ_HOST_STATE];
	if (sq_bind_text(x, 1, hi->name, sizeof(hi->name)) == -1)
		goto fail;
	if (sqlite3_step(x) != SQLITE_ROW)
		goto fail;
	has_last = sqlite3_column_type(x, 1) != SQLITE_NULL;
	if (sq_col_i64(x, 0, &host_id) == -1 ||
	    (has_last && (sq_col_u64(x, 1, &last_seq) == -1 ||
	                  sq_col_text(x, 2, last_spool, sizeof(last_spool)) == -1 ||
	                  sq_col_i64(x, 3, &last_taken) == -1))) {
		sq_done(x);
		snprintf(err, errlen, "%s: hosts: bad id, last_seq, last_spool or last_taken of %s",
		         q->path, hi->name);
		return -1;
	}
	sq_done(x);

	/* (host, spool, seq) seen before: acknowledge, store nothing more. */
	what = "recording sequence";
	x = q->stmt[SQ_INSERT_RECEIVED];
	if (sq_bind_i64(x, 1, host_id) == -1 ||
	    sq_bind_text(x, 2, hi->spool, sizeof(hi->spool)) == -1 ||
	    sq_bind_u64(x, 3, s->seq) == -1 || sq_bind_i64(x, 4, s->taken) == -1 ||
	    sq_bind_i64(x, 5, received) == -1 ||
	    sqlite3_bind_blob(x, 6, digest, sizeof(digest), SQLITE_STATIC) != SQLITE_OK)
		goto fail;
	if (sq_exec_stmt(x) != SQLITE_DONE)
		goto fail;
	sq_done(x);
	if (sqlite3_changes(q->db) == 0) {
		what = "reading a duplicate's digest";
		if (sq_check_duplicate(q, host_id, hi, s->seq, digest, conflict) == -1)
			goto fail;
		*duplicate = 1;
		return 0;
	}

	/*
	 * Latest state only moves forward: an older sequence arriving late (a
	 * spooled backlog after a failover) adds its samples below but does not
	 * replace the newest snapshot.  Compared as uint64_t, not in SQL.
	 * Sequences of another spool (the agent lost its spool, or was
	 * upgraded) cannot be compared: the later taken wins.
	 */
	if (!has_last)
		newer = 1;
	else if (strcmp(last_spool, hi->spool) == 0)
		newer = s->seq > last_seq;
	else
		newer = s->taken >= last_taken;
	if (newer) {
		what = "storing snapshot";
		x = q->stmt[SQ_UPDATE_LATEST];
		buf_reset(&q->enc);
		if (sb_usage_encode(&u, &q->enc) == -1)
			goto fail;
		if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_u64(x, 2, s->seq) == -1 ||
		    sq_bind_i64(x, 3, s->taken) == -1 || sq_bind_i64(x, 4, received) == -1 ||
		    sqlite3_bind_blob64(x, 5, raw, rawlen, SQLITE_STATIC) != SQLITE_OK ||
		    sqlite3_bind_blob64(x, 6, q->enc.data, q->enc.len, SQLITE_TRANSIENT) !=
		        SQLITE_OK ||
		    sq_bind_text(x, 7, hi->spool, sizeof(hi->spool)) == -1)
			goto fail;
		if (sq_exec_stmt(x) != SQLITE_DONE)
			goto fail;
		sq_done(x);
	}

	what = "storing samples";
	if (sq_samples_put(q, host_id, s->taken, &u, &what) == -1)
		goto fail;
	return 0;

fail:
	sq_fail(q, what, err, errlen);
	*duplicate = 0;
	*conflict = 0;
	return -1;
}

int
sq_put_snapshot(struct store *st, const struct host_info *hi, const struct snapshot *s,
                const uint8_t *raw, size_t rawlen, int64_t received, int *duplicate, char *err,
                size_t errlen)
{
	struct store_put p = {.hi = hi, .s = s, .raw = raw, .rawlen = rawlen, .received = received};
	int rc;

	rc = st->ops->put_snapshots(st, &p, 1, err, errlen);
	*duplicate = rc == 0 ? p.duplicate : 0;
	return rc;
}

/*
 * Group commit: the whole batch in one BEGIN IMMEDIATE ... COMMIT, so one
 * fsync makes all of it durable.  Any failure rolls everything back: the
 * caller acknowledges none of the batch.
 */
int
sq_put_snapshots(struct store *st, struct store_put *v, size_t n, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	size_t i;

	for (i = 0; i < n; i++)
		v[i].duplicate = v[i].conflict = v[i].busy = 0;
	if (n == 0)
		return 0;
	if (sq_begin(q, err, errlen) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (sq_put_in_tx(q, v[i].hi, v[i].s, v[i].raw, v[i].rawlen, v[i].received,
		                 &v[i].duplicate, &v[i].conflict, err, errlen) == -1)
			goto fail;
	}
	if (sq_commit(q, err, errlen) == -1)
		goto fail;
	return 0;
fail:
	sq_note_full(q);
	sq_put_reset(q);
	sq_rollback(q);
	sq_wal_truncate(q);
	for (i = 0; i < n; i++)
		v[i].duplicate = v[i].conflict = v[i].busy = 0;
	return -1;
}

/*
 * The bulk path (store.h put_history): one block per hour, written rolled,
 * and the rollups computed from it; blocks before samples_from are not kept.
 */
int
sq_put_history(struct store *st, const char *host, const int64_t *t, size_t n,
               const struct store_history *h, size_t nh, int64_t samples_from, char *err,
               size_t errlen)
{
	struct sq_store *q = st->impl;
	struct sb_value v[SB_MAX_LIMITS];
	int64_t host_id;
	size_t i, j;
	int rc;

	if (nh > SB_MAX_LIMITS) {
		snprintf(err, errlen, "%s: history: more than %d limits", q->path, SB_MAX_LIMITS);
		return -1;
	}
	for (i = 1; i < n; i++)
		if (t[i] <= t[i - 1]) {
			snprintf(err, errlen, "%s: history: times not ascending", q->path);
			return -1;
		}
	for (j = 0; j < nh; j++)
		if (!limit_name_valid(h[j].limit)) {
			snprintf(err, errlen, "%s: history: bad limit name", q->path);
			return -1;
		}
	if ((rc = sq_host_id(q, host, &host_id)) != 0) {
		if (rc == 1)
			snprintf(err, errlen, "%s: history for unknown host %s", q->path, host);
		else
			sq_fail(q, "reading host", err, errlen);
		return -1;
	}
	if (sq_begin(q, err, errlen) == -1)
		return -1;
	for (i = 0; i < n;) {
		int64_t hour = sb_hour_of(t[i]);

		sb_reset(&q->blk, hour);
		for (; i < n && sb_hour_of(t[i]) == hour; i++) {
			for (j = 0; j < nh; j++)
				v[j] = (struct sb_value){h[j].limit, h[j].used[i],
				                         h[j].limit_value[i]};
			if (sb_set(&q->blk, t[i], v, nh) == -1) {
				snprintf(err, errlen, "%s: history: out of memory", q->path);
				goto failed;
			}
		}
		if (sq_block_rollup(q, host_id, &q->blk) == -1)
			goto fail;
		if (hour + SB_HOUR > samples_from && sq_block_write(q, host_id, 1) == -1)
			goto fail;
	}
	if (sq_commit(q, err, errlen) == -1)
		goto failed;
	return 0;
fail:
	sq_fail(q, "storing history", err, errlen);
failed:
	sq_put_reset(q);
	sq_rollback(q);
	return -1;
}

/*
 * Housekeeping's statements: ?1 the time before which rows go, ?2 the batch.
 * Each finds its rows through an index (test_store.c checks the plans):
 * they run every check_interval on tables of many millions of rows.
 */
enum {
	HK_UNROLLED,
	HK_SAMPLES,
	HK_ROLLUPS,
	HK_PEAKS,
	HK_FINDINGS,
	HK_RECEIVED,
	HK_FUTURE_SAMPLES, /* ?1: now + STORE_FUTURE_MAX */
	HK_FUTURE_ROLLUPS,
	HK_FUTURE_PEAKS,
	HK_COUNT
};
static const char *const sq_housekeep_sql[HK_COUNT] = {
    [HK_UNROLLED] = "SELECT host_id, hour, data FROM samples WHERE rolled = 0 AND hour <= ?1"
                    " LIMIT ?2",
    [HK_SAMPLES] = "DELETE FROM samples WHERE (host_id, hour) IN (SELECT host_id, hour"
                   " FROM samples WHERE hour <= ?1 LIMIT ?2)",
    [HK_ROLLUPS] = "DELETE FROM rollups WHERE (host_id, limit_name, hour) IN (SELECT host_id,"
                   " limit_name, hour FROM rollups WHERE hour < ?1 LIMIT ?2)",
    [HK_PEAKS] = "DELETE FROM peaks WHERE (host_id, limit_name, day) IN (SELECT host_id,"
                 " limit_name, day FROM peaks WHERE day < ?1 - 86400 LIMIT ?2)",
    [HK_FINDINGS] = "DELETE FROM findings WHERE id IN (SELECT id FROM findings"
                    " WHERE closed < ?1 LIMIT ?2)",
    [HK_RECEIVED] = "DELETE FROM received WHERE (host_id, spool, seq) IN (SELECT host_id,"
                    " spool, seq FROM received WHERE received < ?1 LIMIT ?2)",
    [HK_FUTURE_SAMPLES] = "DELETE FROM samples WHERE (host_id, hour) IN (SELECT host_id, hour"
                          " FROM samples WHERE hour > ?1 LIMIT ?2)",
    [HK_FUTURE_ROLLUPS] = "DELETE FROM rollups WHERE (host_id, limit_name, hour) IN (SELECT"
                          " host_id, limit_name, hour FROM rollups WHERE hour > ?1 LIMIT ?2)",
    [HK_FUTURE_PEAKS] = "DELETE FROM peaks WHERE (host_id, limit_name, day) IN (SELECT host_id,"
                        " limit_name, day FROM peaks WHERE day > ?1 LIMIT ?2)",
};

const char *
store_sqlite_housekeep_sql(size_t i)
{
	return i < HK_COUNT ? sq_housekeep_sql[i] : NULL;
}

/*
 * Deletes old rows in small batches so that housekeeping never holds the
 * write lock long enough to stall ingest; called again until it deletes
 * nothing.
 */
/*
 * Deletes at most batch sample blocks whose whole hour is before keep (so a
 * sample may outlive keep_samples by up to an hour), rolling up first those
 * not rolled up yet (the last hour of a host gone silent), in one
 * transaction.
 */
static int
sq_housekeep_samples(struct sq_store *q, int64_t keep, size_t batch, size_t *deleted, char *err,
                     size_t errlen)
{
	sqlite3_stmt *x = NULL;
	struct sq_unrolled *v = NULL;
	int64_t *hosts = NULL, last = keep - SB_HOUR;
	size_t n = 0, vcap = 0, hcap = 0, i;
	int rc;

	if (sq_begin(q, err, errlen) == -1)
		return -1;
	if (sqlite3_prepare_v2(q->db, sq_housekeep_sql[HK_UNROLLED], -1, &x, NULL) != SQLITE_OK ||
	    sq_bind_i64(x, 1, last) == -1 || sq_bind_i64(x, 2, (int64_t)batch) == -1)
		goto fail;
	while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		const uint8_t *p;
		size_t len;

		/* at most batch rows (the query's LIMIT); the arrays grow in step */
		if (grow_array(&v, &vcap, n + 1, 64, SIZE_MAX / sizeof(*v), sizeof(*v)) == -1 ||
		    grow_array(&hosts, &hcap, n + 1, 64, SIZE_MAX / sizeof(*hosts),
		               sizeof(*hosts)) == -1)
			goto oom;
		v[n].data = NULL;
		if (sq_col_i64(x, 0, &hosts[n]) == -1 || sq_col_i64(x, 1, &v[n].hour) == -1 ||
		    sq_col_blob(x, 2, &p, &len) == -1 || len > SB_MAX_BYTES ||
		    (v[n].data = malloc(len > 0 ? len : 1)) == NULL)
			goto oom;
		if (len > 0)
			memcpy(v[n].data, p, len);
		v[n].len = len;
		n++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(x);
	x = NULL;
	for (i = 0; i < n; i++)
		if (sq_roll_blocks(q, hosts[i], &v[i], 1) == -1)
			goto fail;
	if (sqlite3_prepare_v2(q->db, sq_housekeep_sql[HK_SAMPLES], -1, &x, NULL) != SQLITE_OK ||
	    sq_bind_i64(x, 1, last) == -1 || sq_bind_i64(x, 2, (int64_t)batch) == -1 ||
	    sq_exec_stmt(x) != SQLITE_DONE)
		goto fail;
	*deleted += (size_t)sqlite3_changes(q->db);
	sqlite3_finalize(x);
	x = NULL;
	if (sq_commit(q, err, errlen) == -1)
		goto failed;
	sq_unrolled_free(v, n);
	free(hosts);
	return 0;
oom:
	snprintf(err, errlen, "%s: housekeeping: out of memory or a bad row", q->path);
	goto failed;
fail:
	sq_fail(q, "housekeeping", err, errlen);
failed:
	sqlite3_finalize(x);
	sq_put_reset(q);
	sq_rollback(q);
	sq_unrolled_free(v, n); /* entries [0, n) are complete; a failed one holds nothing */
	free(hosts);
	return -1;
}

int
sq_housekeep(struct store *st, int64_t keep_samples, int64_t keep_rollups, size_t batch,
             size_t *deleted, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	size_t i;

	*deleted = 0;
	if (sq_files_frozen(q, err, errlen) == -1)
		return -1;
	if (sq_housekeep_samples(q, keep_samples, batch, deleted, err, errlen) == -1)
		return -1;
	for (i = HK_ROLLUPS; i < HK_COUNT; i++) {
		sqlite3_stmt *x;
		/*
		 * The record of received sequences only needs to outlive resends.
		 * Rollups go by whole days (one may outlive keep_rollups by up to
		 * a day): a day's peak is taken again from its rollups when a
		 * replaced sample lowers an hour's maximum (sq_peak_again), so a
		 * day has all of them or none.
		 */
		int64_t before = i == HK_RECEIVED  ? keep_samples
		                 : i == HK_ROLLUPS ? sb_day_of(keep_rollups)
		                                   : keep_rollups;

		if (i >= HK_FUTURE_SAMPLES) /* "before" is "after" for these */
			before = now_unix() + STORE_FUTURE_MAX;

		if (sqlite3_prepare_v2(q->db, sq_housekeep_sql[i], -1, &x, NULL) != SQLITE_OK)
			return sq_fail(q, "housekeeping", err, errlen);
		if (sq_bind_i64(x, 1, before) == -1 || sq_bind_i64(x, 2, (int64_t)batch) == -1 ||
		    sq_exec_stmt(x) != SQLITE_DONE) {
			sq_fail(q, "housekeeping", err, errlen);
			sqlite3_finalize(x);
			return -1;
		}
		sqlite3_finalize(x);
		*deleted += (size_t)sqlite3_changes(q->db);
	}
	return 0;
}
