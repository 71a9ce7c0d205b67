/*
 * store_sqlite_findings.c: the SQLite backend's findings and count runs
 * (store_sqlite_local.h): a finding's row read and bound through the store
 * core's column codec, the open findings of a host or of all hosts, and the
 * primitives of one host's transaction that the store core's findings sync
 * and count runs use (store_core.h: struct store_tx).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <sqlite3.h>

#include "findings.h"
#include "model.h"
#include "store.h"
#include "store_core.h"
#include "store_sqlite_local.h"
#include "util.h"

static int
sq_param_text(struct store_params *p, int i, const char *s, size_t max)
{
	return sq_bind_text(p->stmt, i, s, max);
}

static int
sq_param_i64(struct store_params *p, int i, int64_t v)
{
	return sq_bind_i64(p->stmt, i, v);
}

/* Decodes SQ_FINDING_COLUMNS (starting at column 0) into f. */
static int
sq_row_finding(sqlite3_stmt *x, struct finding *f)
{
	struct store_row r = sq_row(x);

	return store_finding_read(&r, f);
}

/* Binds ?1..?20 of SQ_FINDING_INSERT / SQ_FINDING_UPDATE. */
static int
sq_bind_finding(sqlite3_stmt *x, int64_t host_id, const char *fkey, const struct finding *f,
                int64_t now)
{
	struct store_params p = {sq_param_text, sq_param_i64, x};

	return store_finding_params(&p, 1, host_id, fkey, f, now, 0) == -1 ? -1 : 0;
}

/*
 * Reads the open findings of host_id into a malloc'd array (bounded), and
 * when ids is not NULL their row ids into another.
 */
static int
sq_load_open(struct sq_store *q, int64_t host_id, struct finding **out, int64_t **ids, size_t *n,
             char *err, size_t errlen)
{
	sqlite3_stmt *x = q->stmt[SQ_FINDINGS_OPEN];
	struct finding *v = NULL;
	int64_t *iv = NULL;
	size_t cnt = 0, cap = 0, icap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (ids != NULL)
		*ids = NULL;
	if (sq_bind_i64(x, 1, host_id) == -1)
		return sq_fail(q, "reading findings", err, errlen);
	while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		if (cnt == MODEL_MAX_FINDINGS)
			break;
		if (grow_array(&v, &cap, cnt + 1, 16, MODEL_MAX_FINDINGS, sizeof(*v)) == -1) {
			free(v);
			sq_done(x);
			snprintf(err, errlen, "%s: findings: out of memory", q->path);
			return -1;
		}
		if (ids != NULL &&
		    grow_array(&iv, &icap, cnt + 1, 16, MODEL_MAX_FINDINGS, sizeof(*iv)) == -1) {
			free(v);
			sq_done(x);
			snprintf(err, errlen, "%s: findings: out of memory", q->path);
			return -1;
		}
		if (sq_row_finding(x, &v[cnt]) == -1 ||
		    (ids != NULL && sq_col_i64(x, 19, &iv[cnt]) == -1)) {
			free(v);
			free(iv);
			sq_done(x);
			snprintf(err, errlen, "%s: findings: bad row", q->path);
			return -1;
		}
		cnt++;
	}
	sq_done(x);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		free(v);
		free(iv);
		return sq_fail(q, "reading findings", err, errlen);
	}
	*out = v;
	if (ids != NULL)
		*ids = iv;
	*n = cnt;
	return 0;
}

int
sq_open_findings(struct store *st, const char *host, struct finding **out, size_t *n, char *err,
                 size_t errlen)
{
	struct sq_store *q = st->impl;
	int64_t id;
	int rc;

	*out = NULL;
	*n = 0;
	/* in a group, its transaction's begin checked all three files */
	if (!q->group && sq_shm_frozen(q, err, errlen) == -1)
		return -1;
	if ((rc = sq_host_id(q, host, &id)) == -1)
		return sq_fail(q, "reading host", err, errlen);
	if (rc == 1)
		return 0;
	return sq_load_open(q, id, out, NULL, n, err, errlen);
}

/* ---- one host's transactions, as the store core runs them (store_core.h) ---- */

static int
sq_tx_begin(struct store *st, const char *host, int64_t *id, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	int rc;

	/*
	 * The host is looked up inside the transaction: sq_begin's check of the
	 * files covers the read, and the read takes no locks of its own (an
	 * autocommit read outside would: about ten system calls a snapshot).
	 */
	if (sq_begin(q, err, errlen) == -1)
		return -1;
	if ((rc = sq_host_id(q, host, id)) != 0)
		return rc == 1 ? 1 : sq_fail(q, "reading host", err, errlen);
	return 0;
}

static int
sq_tx_commit(struct store *st, char *err, size_t errlen)
{
	return sq_commit(st->impl, err, errlen);
}

static void
sq_tx_rollback(struct store *st)
{
	struct sq_store *q = st->impl;

	sq_done(q->stmt[SQ_FINDING_INSERT]);
	sq_done(q->stmt[SQ_FINDING_UPDATE]);
	sq_done(q->stmt[SQ_FINDING_CLOSE]);
	sq_done(q->stmt[SQ_SET_STATUS]);
	sq_done(q->stmt[SQ_COUNTS_GET]);
	sq_done(q->stmt[SQ_COUNTS_PUT]);
	sq_rollback(q);
}

static int
sq_tx_load_open(struct store *st, int64_t id, struct finding **open, int64_t **rowid, size_t *n,
                char *err, size_t errlen)
{
	return sq_load_open(st->impl, id, open, rowid, n, err, errlen);
}

static int
sq_tx_apply(struct store *st, int64_t id, const struct finding_step *sp, int64_t rowid, int64_t now,
            char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	const char *what;
	sqlite3_stmt *x;

	if (sp->c.what == FC_CLOSED) {
		what = "closing a finding";
		x = q->stmt[SQ_FINDING_CLOSE];
		if (sq_bind_i64(x, 1, id) == -1 ||
		    sq_bind_text(x, 2, sp->key, sizeof(sp->key)) == -1 ||
		    sq_bind_i64(x, 3, now) == -1 || sq_bind_i64(x, 4, rowid) == -1)
			return sq_fail(q, what, err, errlen);
	} else {
		what = sp->c.what == FC_OPENED ? "opening a finding" : "updating a finding";
		x = q->stmt[sp->c.what == FC_OPENED ? SQ_FINDING_INSERT : SQ_FINDING_UPDATE];
		if (sq_bind_finding(x, id, sp->key, &sp->c.f, now) == -1 ||
		    (sp->c.what == FC_CHANGED && sq_bind_i64(x, 21, rowid) == -1))
			return sq_fail(q, what, err, errlen);
	}
	if (sq_exec_stmt(x) != SQLITE_DONE)
		return sq_fail(q, what, err, errlen);
	sq_done(x);
	return 0;
}

static int
sq_tx_set_status(struct store *st, int64_t id, const char *status, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_SET_STATUS];

	if (sq_bind_i64(x, 1, id) == -1 ||
	    sqlite3_bind_text(x, 2, status, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sq_exec_stmt(x) != SQLITE_DONE)
		return sq_fail(q, "storing the host's status", err, errlen);
	sq_done(x);
	return 0;
}

static int
sq_tx_counts_get(struct store *st, int64_t id, struct buf *blob, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_COUNTS_GET];
	const uint8_t *p;
	size_t len;
	int rc, ret = 1;

	if (sq_bind_i64(x, 1, id) == -1)
		return sq_fail(q, "reading counts", err, errlen);
	rc = sqlite3_step(x);
	if (rc == SQLITE_ROW) {
		/* not a blob, or larger than any runs encode to: none (the core starts again) */
		if (sq_col_blob(x, 0, &p, &len) == 0 && len <= blob->max) {
			ret = 0;
			if (buf_append(blob, p, len) == -1) {
				snprintf(err, errlen, "%s: counts: out of memory", q->path);
				ret = -1;
			}
		}
	} else if (rc != SQLITE_DONE)
		ret = sq_fail(q, "reading counts", err, errlen);
	sq_done(x);
	return ret;
}

static int
sq_tx_counts_put(struct store *st, int64_t id, const struct buf *blob, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_COUNTS_PUT];

	if (sq_bind_i64(x, 1, id) == -1 ||
	    sqlite3_bind_blob64(x, 2, blob->data, blob->len, SQLITE_STATIC) != SQLITE_OK ||
	    sq_exec_stmt(x) != SQLITE_DONE)
		return sq_fail(q, "storing counts", err, errlen);
	sq_done(x);
	return 0;
}

static const char *
sq_tx_label(const struct store *st)
{
	const struct sq_store *q = st->impl;

	return q->path;
}

const struct store_tx sq_tx_ops = {
    .label = sq_tx_label,
    .begin = sq_tx_begin,
    .commit = sq_tx_commit,
    .rollback = sq_tx_rollback,
    .load_open = sq_tx_load_open,
    .apply = sq_tx_apply,
    .set_status = sq_tx_set_status,
    .counts_get = sq_tx_counts_get,
    .counts_put = sq_tx_counts_put,
};

int
sq_each_open_finding(struct store *st,
                     int (*fn)(void *arg, const char *host, const struct finding *f), void *arg,
                     char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_FINDINGS_ALL_OPEN];
	struct finding f;
	char host[MODEL_NAME_MAX];
	int rc, ret = 0;

	if (sq_shm_frozen(q, err, errlen) == -1)
		return -1;
	while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
		if (sq_row_finding(x, &f) == -1 || sq_col_text(x, 19, host, sizeof(host)) == -1) {
			snprintf(err, errlen, "%s: findings: bad row", q->path);
			ret = -1;
			break;
		}
		if ((ret = fn(arg, host, &f)) != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sq_fail(q, "listing findings", err, errlen);
	sq_done(x);
	return ret;
}
