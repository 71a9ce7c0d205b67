/*
 * store_sqlite_read.c: the SQLite backend's readers (store_sqlite_local.h):
 * hosts (whole, or the summary the hosts query shows), a limit's series of
 * samples, hourly rollups and peaks.  Rollups and peaks of the hours not
 * rolled up yet (each host's latest) are computed from their sample blocks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "model.h"
#include "store.h"
#include "store_blocks.h"
#include "store_core.h"
#include "store_sqlite_local.h"
#include "util.h"

/* Decodes one row of SQ_HOST_COLUMNS into h: store_host_read(). */
static int
sq_row_host(struct sq_store *q, sqlite3_stmt *st, struct stored_host *h, char *err, size_t errlen)
{
	struct store_row r = sq_row(st);

	return store_host_read(&r, q->path, h, err, errlen);
}

void
stored_host_free(struct stored_host *h)
{
	if (h == NULL)
		return;
	free(h->raw);
	h->raw = NULL;
	h->rawlen = 0;
}

/* The host's unrolled blocks, newest first, into a malloc'd array.  0 or -1. */
int
sq_unrolled(struct sq_store *q, int64_t host_id, struct sq_unrolled **out, size_t *n)
{
	sqlite3_stmt *x = q->stmt[SQ_BLOCKS_UNROLLED];
	struct sq_unrolled *v = NULL;
	size_t cnt = 0, cap = 0, i;
	int rc;

	*out = NULL;
	*n = 0;
	if (sq_bind_i64(x, 1, host_id) == -1)
		return -1;
	while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		const uint8_t *p;
		size_t len;

		/* normally one (the host's latest hour); bounded by its hours anyway */
		if (grow_array(&v, &cap, cnt + 1, 4, SIZE_MAX / sizeof(*v), sizeof(*v)) == -1)
			goto fail;
		if (sq_col_i64(x, 0, &v[cnt].hour) == -1 || sq_col_blob(x, 1, &p, &len) == -1 ||
		    len > SB_MAX_BYTES || (v[cnt].data = malloc(len > 0 ? len : 1)) == NULL)
			goto fail;
		if (len > 0)
			memcpy(v[cnt].data, p, len);
		v[cnt].len = len;
		cnt++;
	}
	sq_done(x);
	if (rc != SQLITE_DONE)
		goto failed;
	*out = v;
	*n = cnt;
	return 0;
fail:
	sq_done(x);
failed:
	for (i = 0; i < cnt; i++)
		free(v[i].data);
	free(v);
	return -1;
}

void
sq_unrolled_free(struct sq_unrolled *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].data);
	free(v);
}

/* The id of host, 1 when unknown, -1 on error. */
int
sq_host_id(struct sq_store *q, const char *host, int64_t *id)
{
	sqlite3_stmt *x = q->stmt[SQ_HOST_ID];
	int rc;

	if (strnlen(host, MODEL_NAME_MAX) >= MODEL_NAME_MAX)
		return 1;
	if (sq_bind_text(x, 1, host, MODEL_NAME_MAX) == -1)
		return -1;
	rc = sqlite3_step(x);
	if (rc == SQLITE_ROW && sq_col_i64(x, 0, id) == 0)
		rc = 0;
	else
		rc = rc == SQLITE_DONE ? 1 : -1;
	sq_done(x);
	return rc;
}

/*
 * Calls fn for each host, sorted by name.  Each stored_host handed to fn
 * carries its own malloc'd copy of the snapshot, freed by this function when
 * fn returns: fn must copy what it keeps.  fn may call get_host() and
 * series() but not each_host() again.  Returns 0 after the last host, fn's
 * own non-zero value when fn stops the walk, or -1 with err on a storage
 * error.
 */
/*
 * Binds a listing's page: ?1 the name after which it starts, ?2 the most
 * rows.  Names are never empty, so "" is before them all; LIMIT -1 is none.
 * 0, or -1 with err (the statement reset).
 */
static int
sq_bind_page(struct sq_store *q, sqlite3_stmt *x, const char *after, uint32_t limit, char *err,
             size_t errlen)
{
	if (sqlite3_bind_text(x, 1, after != NULL ? after : "", -1, SQLITE_TRANSIENT) ==
	        SQLITE_OK &&
	    sqlite3_bind_int64(x, 2, limit > 0 ? (sqlite3_int64)limit : -1) == SQLITE_OK)
		return 0;
	sq_fail(q, "listing hosts", err, errlen);
	sq_done(x);
	return -1;
}

int
sq_each_host(struct store *st, const char *after, uint32_t limit,
             int (*fn)(void *arg, const struct stored_host *h), void *arg, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_EACH_HOST];
	struct stored_host h;
	int rc, ret = 0;

	if (sq_shm_frozen(q, err, errlen) == -1)
		return -1;
	if (q->in_each) {
		snprintf(err, errlen, "%s: listing hosts: already in progress", q->path);
		return -1;
	}
	if (sq_bind_page(q, x, after, limit, err, errlen) == -1)
		return -1;
	q->in_each = 1;
	while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		if (sq_row_host(q, x, &h, err, errlen) == -1) {
			ret = -1;
			break;
		}
		ret = fn(arg, &h);
		stored_host_free(&h);
		if (ret != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sq_fail(q, "listing hosts", err, errlen);
	sq_done(x);
	q->in_each = 0;
	return ret;
}

int
sq_get_host(struct store *st, const char *name, struct stored_host *out, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_GET_HOST];
	int rc, ret;

	memset(out, 0, sizeof(*out));
	if (sq_shm_frozen(q, err, errlen) == -1)
		return -1;
	/* A name that does not fit could never have been stored. */
	if (strnlen(name, MODEL_NAME_MAX) >= MODEL_NAME_MAX)
		return 1;
	if (sq_bind_text(x, 1, name, MODEL_NAME_MAX) == -1) {
		ret = sq_fail(q, "reading host", err, errlen);
		goto out;
	}
	rc = sqlite3_step(x);
	if (rc == SQLITE_DONE)
		ret = 1;
	else if (rc == SQLITE_ROW)
		ret = sq_row_host(q, x, out, err, errlen);
	else
		ret = sq_fail(q, "reading host", err, errlen);
out:
	sq_done(x);
	return ret;
}

int
sq_series(struct store *st, const char *host, const char *limit, int64_t t0, struct sample *out,
          size_t max, size_t *n, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_SERIES];
	int64_t host_id;
	int rc = SQLITE_DONE, ret = 0;

	*n = 0;
	if (sq_shm_frozen(q, err, errlen) == -1)
		return -1;
	if (store_read_none(host, limit, max))
		return 0;
	if ((rc = sq_host_id(q, host, &host_id)) != 0)
		return rc == 1 ? 0 : sq_fail(q, "reading samples", err, errlen);
	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_i64(x, 2, sb_hour_of(t0)) == -1) {
		ret = sq_fail(q, "reading samples", err, errlen);
		goto out;
	}
	/* blocks in time order, each expanded from t0 on until out is full */
	while (*n < max && (rc = sqlite3_step(x)) == SQLITE_ROW) {
		const struct sb_series *l;
		const uint8_t *p;
		size_t len;
		int64_t hour;

		if (sq_col_i64(x, 0, &hour) == -1 || sq_col_blob(x, 1, &p, &len) == -1 ||
		    sb_decode(&q->blk, hour, p, len) == -1) {
			snprintf(err, errlen, "%s: samples: bad block for %s", q->path, host);
			ret = -1;
			goto out;
		}
		if ((l = sb_find(&q->blk, limit)) != NULL)
			sb_samples(&q->blk, l, t0, out, max, n);
	}
	if (*n < max && rc != SQLITE_DONE)
		ret = sq_fail(q, "reading samples", err, errlen);
out:
	if (ret == -1)
		*n = 0;
	sq_done(x);
	return ret;
}

/*
 * Adds the rollups of limit computed from host's unrolled blocks with hours
 * from t0 on to out[0..*n) (sorted by hour, at most max: the oldest kept),
 * merged with a row of the same hour.  0 or -1.
 */
static int
sq_rollups_unrolled(struct sq_store *q, const char *host, const char *limit, int64_t t0,
                    struct rollup *out, size_t max, size_t *n)
{
	struct sq_unrolled *ur = NULL;
	size_t nur = 0, i, k;
	int64_t host_id;
	int rc;

	if ((rc = sq_host_id(q, host, &host_id)) != 0)
		return rc == 1 ? 0 : -1;
	if (sq_unrolled(q, host_id, &ur, &nur) == -1)
		return -1;
	for (i = 0; i < nur; i++) {
		const struct sb_series *l;
		uint64_t mn = 0, mx = 0, cnt, lim = 0;
		long double sum;
		struct rollup r;

		if (ur[i].hour < t0)
			continue;
		if (sb_decode(&q->blk, ur[i].hour, ur[i].data, ur[i].len) == -1) {
			sq_unrolled_free(ur, nur);
			return -1;
		}
		if ((l = sb_find(&q->blk, limit)) == NULL ||
		    sb_rollup(l, &mn, &mx, &sum, &cnt, &lim) != 0)
			continue;
		memset(&r, 0, sizeof(r));
		r.hour = ur[i].hour;
		r.min = mn;
		r.max = mx;
		r.count = cnt;
		r.limit = lim;
		r.mean = (double)(sum / (long double)cnt);
		for (k = 0; k < *n && out[k].hour < r.hour; k++)
			;
		if (k < *n && out[k].hour == r.hour) {
			/* a row of the same hour (samples that came late): merged */
			struct rollup *o = &out[k];
			long double tot = (long double)o->mean * (long double)o->count + sum;

			o->min = o->min < r.min ? o->min : r.min;
			o->max = o->max > r.max ? o->max : r.max;
			o->count += r.count;
			o->mean = (double)(tot / (long double)o->count);
			o->limit = r.limit;
			continue;
		}
		if (k == max)
			continue; /* beyond the max oldest */
		if (*n == max)
			(*n)--; /* the newest gives way */
		memmove(&out[k + 1], &out[k], (*n - k) * sizeof(*out));
		out[k] = r;
		(*n)++;
	}
	sq_unrolled_free(ur, nur);
	return 0;
}

int
sq_rollups(struct store *st, const char *host, const char *limit, int64_t t0, struct rollup *out,
           size_t max, size_t *n, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_ROLLUPS];
	int rc = SQLITE_DONE, ret = 0;

	*n = 0;
	if (sq_shm_frozen(q, err, errlen) == -1)
		return -1;
	if (store_read_none(host, limit, max))
		return 0;
	if (sq_bind_text(x, 1, host, MODEL_NAME_MAX) == -1 ||
	    sq_bind_text(x, 2, limit, MODEL_NAME_MAX) == -1 || sq_bind_i64(x, 3, t0) == -1 ||
	    sq_bind_i64(x, 4, max > INT64_MAX ? INT64_MAX : (int64_t)max) == -1) {
		ret = sq_fail(q, "reading rollups", err, errlen);
		goto out;
	}
	while (*n < max && (rc = sqlite3_step(x)) == SQLITE_ROW) {
		struct store_row row = sq_row(x);

		if (store_rollup_read(&row, &out[*n]) == -1) {
			snprintf(err, errlen, "%s: rollups: bad value for %s %s", q->path, host,
			         limit);
			ret = -1;
			goto out;
		}
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE)
		ret = sq_fail(q, "reading rollups", err, errlen);
	sq_done(x);
	/* the hours not rolled up yet (each host's latest), computed from their blocks */
	if (ret == 0 && sq_rollups_unrolled(q, host, limit, t0, out, max, n) == -1) {
		snprintf(err, errlen, "%s: rollups: cannot read the latest blocks of %s", q->path,
		         host);
		ret = -1;
	}
out:
	if (ret == -1)
		*n = 0;
	sq_done(x);
	return ret;
}

/*
 * Calls fn for each host, sorted by name, with what the hosts query shows:
 * no snapshot is read.  The same rules as each_host() for fn.
 */
int
sq_each_host_summary(struct store *st, const char *after, uint32_t limit,
                     int (*fn)(void *arg, const struct host_summary *h), void *arg, char *err,
                     size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_EACH_SUMMARY];
	struct host_summary h;
	int rc, ret = 0;

	if (sq_shm_frozen(q, err, errlen) == -1)
		return -1;
	if (sq_bind_page(q, x, after, limit, err, errlen) == -1)
		return -1;
	while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		int64_t page_size, iv, has;
		const uint8_t *p;
		size_t len;

		memset(&h, 0, sizeof(h));
		if (sq_col_text(x, 0, h.info.name, sizeof(h.info.name)) == -1 ||
		    sq_col_text(x, 1, h.info.os, sizeof(h.info.os)) == -1 ||
		    sq_col_text(x, 2, h.info.os_release, sizeof(h.info.os_release)) == -1 ||
		    sq_col_text(x, 3, h.info.agent, sizeof(h.info.agent)) == -1 ||
		    sq_col_i64(x, 4, &page_size) == -1 || page_size < 0 || page_size > UINT32_MAX ||
		    sq_col_i64(x, 5, &h.info.boot_time) == -1 || sq_col_i64(x, 6, &iv) == -1 ||
		    iv < 0 || iv > UINT32_MAX || sq_col_i64(x, 8, &has) == -1) {
			snprintf(err, errlen, "%s: hosts: bad row%s%s", q->path,
			         h.info.name[0] ? " of " : "", h.info.name);
			ret = -1;
			break;
		}
		h.info.page_size = (uint32_t)page_size;
		h.info.interval = (uint32_t)iv;
		h.has_snapshot = has != 0;
		if (h.has_snapshot && sq_col_i64(x, 7, &h.last_received) == -1) {
			snprintf(err, errlen, "%s: hosts: bad last_received of %s", q->path,
			         h.info.name);
			ret = -1;
			break;
		}
		/* both are optional: NULL (or unreadable) leaves the caller to derive them */
		h.has_status = sqlite3_column_type(x, 9) != SQLITE_NULL &&
		               sq_col_text(x, 9, h.status, sizeof(h.status)) == 0;
		h.has_usage = h.has_snapshot && sq_col_blob(x, 10, &p, &len) == 0 &&
		              sb_usage_decode(p, len, &h.usage, h.names) == 0;
		if ((ret = fn(arg, &h)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sq_fail(q, "listing hosts", err, errlen);
	sq_done(x);
	return ret;
}

/* The largest used of each limit since t0: hourly rollups, then the unrolled blocks. */
int
sq_peaks(struct store *st, const char *host, int64_t t0, const char *const *names, size_t n,
         uint64_t *out, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x;
	struct sq_unrolled *ur = NULL;
	size_t nur = 0, i, k;
	int64_t host_id, day;
	uint64_t mx;
	int rc;

	for (i = 0; i < n; i++)
		out[i] = 0;
	if (sq_shm_frozen(q, err, errlen) == -1)
		return -1;
	if ((rc = sq_host_id(q, host, &host_id)) != 0)
		return rc == 1 ? 0 : sq_fail(q, "reading host", err, errlen);
	/*
	 * The whole days from t0 on from peaks; the hours of t0's own day from
	 * the rollups (24 rows at most); each max(...) pair is the uint64_t
	 * maximum of a column of bit patterns (see SQ_PEAK).
	 */
	day = sb_day_of(t0) == t0 ? t0 : sb_day_of(t0) + 86400;
	for (i = 0; i < n; i++) {
		int pass;

		for (pass = 0; pass < 2; pass++) {
			x = q->stmt[pass == 0 ? SQ_PEAK_DAYS : SQ_PEAK];
			if (sq_bind_i64(x, 1, host_id) == -1 ||
			    sq_bind_text(x, 2, names[i], MODEL_NAME_MAX) == -1 ||
			    sq_bind_i64(x, 3, pass == 0 ? day : t0) == -1 ||
			    (pass == 1 && sq_bind_i64(x, 4, day) == -1) ||
			    sqlite3_step(x) != SQLITE_ROW) {
				sq_fail(q, "reading peaks", err, errlen);
				sq_done(x);
				return -1;
			}
			if (sqlite3_column_type(x, 1) == SQLITE_INTEGER)
				mx = (uint64_t)sqlite3_column_int64(x, 1);
			else if (sqlite3_column_type(x, 0) == SQLITE_INTEGER)
				mx = (uint64_t)sqlite3_column_int64(x, 0);
			else
				mx = 0;
			if (mx > out[i])
				out[i] = mx;
			sq_done(x);
		}
	}
	if (sq_unrolled(q, host_id, &ur, &nur) == -1)
		return sq_fail(q, "reading samples", err, errlen);
	for (k = 0; k < nur; k++) {
		if (ur[k].hour < t0 || sb_decode(&q->blk, ur[k].hour, ur[k].data, ur[k].len) == -1)
			continue;
		for (i = 0; i < n; i++) {
			const struct sb_series *l = sb_find(&q->blk, names[i]);
			uint64_t mn, bmx, cnt, lim;
			long double sum;

			if (l != NULL && sb_rollup(l, &mn, &bmx, &sum, &cnt, &lim) == 0 &&
			    bmx > out[i])
				out[i] = bmx;
		}
	}
	sq_unrolled_free(ur, nur);
	return 0;
}

/* Each day's peak from the peaks table, then the hours not rolled up yet. */
int
sq_daily_peaks(struct store *st, const char *host, const char *limit, int64_t t0, uint64_t *out,
               int *have, size_t ndays, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_PEAK_LIST];
	struct sq_unrolled *ur = NULL;
	size_t nur = 0, k;
	int64_t host_id, day, end = t0 + (int64_t)ndays * 86400;
	uint64_t mx, mn, cnt, lim;
	long double sum;
	int rc;

	memset(have, 0, ndays * sizeof(*have));
	if (sq_shm_frozen(q, err, errlen) == -1)
		return -1;
	if ((rc = sq_host_id(q, host, &host_id)) != 0)
		return rc == 1 ? 0 : sq_fail(q, "reading host", err, errlen);
	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_text(x, 2, limit, MODEL_NAME_MAX) == -1 ||
	    sq_bind_i64(x, 3, t0) == -1 || sq_bind_i64(x, 4, end) == -1) {
		sq_done(x);
		return sq_fail(q, "reading peaks", err, errlen);
	}
	while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		if (sq_col_i64(x, 0, &day) == -1 || sq_col_u64(x, 1, &mx) == -1 || day < t0)
			continue;
		k = (size_t)((day - t0) / 86400);
		out[k] = have[k] && out[k] > mx ? out[k] : mx;
		have[k] = 1;
	}
	sq_done(x);
	if (rc != SQLITE_DONE)
		return sq_fail(q, "reading peaks", err, errlen);
	if (sq_unrolled(q, host_id, &ur, &nur) == -1)
		return sq_fail(q, "reading samples", err, errlen);
	for (k = 0; k < nur; k++) {
		const struct sb_series *l;

		if (ur[k].hour < t0 || ur[k].hour >= end ||
		    sb_decode(&q->blk, ur[k].hour, ur[k].data, ur[k].len) == -1 ||
		    (l = sb_find(&q->blk, limit)) == NULL ||
		    sb_rollup(l, &mn, &mx, &sum, &cnt, &lim) != 0 || cnt == 0)
			continue;
		day = (ur[k].hour - t0) / 86400;
		out[day] = have[day] && out[day] > mx ? out[day] : mx;
		have[day] = 1;
	}
	sq_unrolled_free(ur, nur);
	return 0;
}
