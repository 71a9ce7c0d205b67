/*
 * store_pg_read.c: the PostgreSQL backend's readers (store_pg_local.h): one
 * host, a limit's samples and rollups, a host's open findings, and the
 * listings (hosts, host summaries, open findings), which walk a cursor a few
 * rows at a time inside one read-only transaction, so that memory does not
 * grow with the fleet and a listing sees one consistent state.  A reader
 * called from a listing's callback runs inside that transaction.
 */
#ifdef IPCFLEET_HAVE_LIBPQ

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "model.h"
#include "store.h"
#include "store_blocks.h" /* sb_usage_decode() */
#include "store_core.h"
#include "store_pg_local.h"
#include "util.h"

#define PG_FETCH_ROWS "16" /* rows per FETCH: snapshots may be large */

/* The listings' cursors. */
static const char pg_each_host_sql[] =
    "DECLARE ipcfleet_hosts NO SCROLL CURSOR FOR SELECT " PG_HOST_COLUMNS
    " FROM hosts WHERE name > $1 ORDER BY name LIMIT $2";
/*
 * The hosts listing of the `hosts` query and the stale check: each host's
 * row without its snapshot (PG_HOST_COLUMNS' places, the snapshot NULL),
 * its usage, and whether its open findings include a stale one and their
 * worst severity, in one statement (findings_status() from these two, no
 * query per host).
 */
static const char pg_each_summary_sql[] =
    "DECLARE ipcfleet_hosts NO SCROLL CURSOR FOR SELECT name, os, os_release, agent,"
    " page_size, boot_time, last_seq, last_taken, last_received, NULL::bytea, interval,"
    " usage, s.stale, s.worst FROM hosts LEFT JOIN LATERAL (SELECT bool_or(f.kind = 'stale')"
    " AS stale, max(f.severity) AS worst FROM findings AS f WHERE f.host_id = hosts.id"
    " AND f.closed IS NULL) AS s ON true WHERE name > $1 ORDER BY name LIMIT $2";
static const char pg_each_finding_sql[] =
    "DECLARE ipcfleet_findings NO SCROLL CURSOR FOR SELECT " PG_FINDING_COLUMNS
    ", h.name FROM findings AS f JOIN hosts AS h ON h.id = f.host_id"
    " WHERE f.closed IS NULL ORDER BY f.severity DESC, f.opened, f.id";

/* ---- listings: a cursor inside a read-only transaction ---- */

/*
 * Opens a read-only transaction for a listing unless one is open already
 * (a listing's fn calling another listing): *own says whether this call
 * must end it.
 */
static int
pg_read_begin(struct pg_store *q, int *own, char *err, size_t errlen)
{
	*own = 0;
	if (PQstatus(q->conn) == CONNECTION_OK && PQtransactionStatus(q->conn) == PQTRANS_INTRANS)
		return 0;
	if (pg_begin(q, "BEGIN READ ONLY", err, errlen) == -1)
		return -1;
	*own = 1;
	return 0;
}

static int
pg_read_end(struct pg_store *q, int own, int ret, char *err, size_t errlen)
{
	if (!own)
		return ret;
	if (ret == -1) {
		pg_rollback(q);
		return -1;
	}
	if (pg_commit(q, err, errlen) == -1) {
		pg_rollback(q);
		return -1;
	}
	return ret;
}

/*
 * A listing: a cursor declared by declare, read with fetch (a few rows at a
 * time: snapshots may be large) inside one read-only transaction (one
 * consistent view), each row handed to row().  bit in in_each: a listing
 * does not nest in another of its kind (fn may call get_host() and the
 * like, whose statements then run inside the same transaction).
 */
struct pg_listing {
	int bit;
	const char *what, *declare, *fetch, *close;
};

static const struct pg_listing pg_hosts_listing = {1, "listing hosts", pg_each_host_sql,
                                                   "FETCH " PG_FETCH_ROWS " FROM ipcfleet_hosts",
                                                   "CLOSE ipcfleet_hosts"};
static const struct pg_listing pg_summaries_listing = {
    1, "listing hosts", pg_each_summary_sql, "FETCH " PG_FETCH_ROWS " FROM ipcfleet_hosts",
    "CLOSE ipcfleet_hosts"};
static const struct pg_listing pg_findings_listing = {2, "listing findings", pg_each_finding_sql,
                                                      "FETCH 256 FROM ipcfleet_findings",
                                                      "CLOSE ipcfleet_findings"};

/*
 * A listing's page as the cursor's parameters: $1 the name after which it
 * starts, $2 the most rows.  Names are never empty, so "" is before them
 * all; no limit is the most rows there can be.  0, or -1 with err.
 */
static int
pg_page_params(struct pg_store *q, struct pg_params *p, const char *after, uint32_t limit,
               char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	pg_p_text(p, after != NULL ? after : "", MODEL_NAME_MAX);
	pg_p_i64(p, limit > 0 ? (int64_t)limit : INT64_MAX);
	if (p->bad) {
		snprintf(err, errlen, "%s: listing hosts: not a host name to list after", q->label);
		return -1;
	}
	return 0;
}

/* row() returns what fn returned, or -1 with err.  p: the declare's parameters, or NULL. */
static int
pg_each_row(struct pg_store *q, const struct pg_listing *l, const struct pg_params *p,
            int (*row)(struct pg_store *q, const PGresult *r, int i, void *ctx, char *err,
                       size_t errlen),
            void *ctx, char *err, size_t errlen)
{
	PGresult *r;
	int own, ret = 0, i, rows;

	if (q->in_each & l->bit) {
		snprintf(err, errlen, "%s: %s: already in progress", q->label, l->what);
		return -1;
	}
	if (pg_read_begin(q, &own, err, errlen) == -1)
		return -1;
	q->in_each |= l->bit;
	if (pg_cmd(q, 0, l->declare, p, 0, l->what, err, errlen) == -1) {
		ret = -1;
		goto out;
	}
	do {
		r = pg_exec(q, 0, l->fetch, NULL, PGRES_TUPLES_OK, 0, l->what, err, errlen);
		if (r == NULL) {
			ret = -1;
			break;
		}
		rows = PQntuples(r);
		for (i = 0; i < rows && ret == 0; i++)
			ret = row(q, r, i, ctx, err, errlen);
		PQclear(r);
	} while (ret == 0 && rows > 0);
	if (ret != -1 && pg_cmd(q, 0, l->close, NULL, 0, l->what, err, errlen) == -1)
		ret = -1;
out:
	q->in_each &= ~l->bit;
	return pg_read_end(q, own, ret, err, errlen);
}

struct pg_each_host_ctx {
	int (*fn)(void *arg, const struct stored_host *h);
	void *arg;
};

/* Decodes one row of PG_HOST_COLUMNS into h: store_host_read(). */
static int
pg_row_host(struct pg_store *q, const PGresult *r, int row, struct stored_host *h, char *err,
            size_t errlen)
{
	struct store_row sr = pg_row(r, row);

	return store_host_read(&sr, q->label, h, err, errlen);
}

static int
pg_each_host_row(struct pg_store *q, const PGresult *r, int i, void *ctx, char *err, size_t errlen)
{
	struct pg_each_host_ctx *c = ctx;
	struct stored_host h;
	int ret;

	if (pg_row_host(q, r, i, &h, err, errlen) == -1)
		return -1;
	ret = c->fn(c->arg, &h);
	stored_host_free(&h);
	return ret;
}

/*
 * Calls fn for each host, sorted by name, like sq_each_host(): each
 * stored_host carries its own malloc'd snapshot, freed when fn returns.  fn
 * may call get_host() and series() but not each_host() again.
 */
int
pg_each_host(struct store *st, const char *after, uint32_t limit,
             int (*fn)(void *arg, const struct stored_host *h), void *arg, char *err, size_t errlen)
{
	struct pg_each_host_ctx c = {.fn = fn, .arg = arg};
	struct pg_params p;

	if (pg_page_params(st->impl, &p, after, limit, err, errlen) == -1)
		return -1;
	return pg_each_row(st->impl, &pg_hosts_listing, &p, pg_each_host_row, &c, err, errlen);
}

/*
 * One row of pg_each_summary_sql as a host_summary: the usage kept with the
 * latest snapshot, the status from the findings columns.  No usage (a row
 * from before schema version 2) leaves has_usage 0: the caller derives it.
 */
static int
pg_row_summary(struct pg_store *q, const PGresult *r, int row, struct host_summary *hs, char *err,
               size_t errlen)
{
	struct stored_host h;
	int64_t worst = SEV_INFO;
	int stale = 0;

	memset(hs, 0, sizeof(*hs));
	if (pg_row_host(q, r, row, &h, err, errlen) == -1)
		return -1;
	hs->info = h.info;
	hs->has_snapshot = !PQgetisnull(r, row, 6); /* last_seq: set by the first snapshot */
	hs->last_received = h.last_received;
	if ((!PQgetisnull(r, row, 12) && pg_col_bool(r, row, 12, &stale) == -1) ||
	    (!PQgetisnull(r, row, 13) && pg_col_i64(r, row, 13, &worst) == -1)) {
		stored_host_free(&h);
		snprintf(err, errlen, "%s: hosts: bad findings of %s", q->label, h.info.name);
		return -1;
	}
	ifl_strlcpy(hs->status,
	            stale               ? "stale"
	            : worst == SEV_CRIT ? "crit"
	            : worst == SEV_WARN ? "warn"
	                                : "ok",
	            sizeof(hs->status));
	hs->has_status = 1;
	/* NULL (stored before schema version 2) or unreadable: the caller derives it */
	hs->has_usage =
	    hs->has_snapshot && !PQgetisnull(r, row, 11) && pg_col_ok(r, row, 11, PG_BYTEAOID) &&
	    sb_usage_decode((const uint8_t *)PQgetvalue(r, row, 11),
	                    (size_t)PQgetlength(r, row, 11), &hs->usage, hs->names) == 0;
	stored_host_free(&h);
	return 0;
}

struct pg_each_summary_ctx {
	int (*fn)(void *arg, const struct host_summary *h);
	void *arg;
};

static int
pg_each_summary_row(struct pg_store *q, const PGresult *r, int i, void *ctx, char *err,
                    size_t errlen)
{
	struct pg_each_summary_ctx *c = ctx;
	struct host_summary hs;

	if (pg_row_summary(q, r, i, &hs, err, errlen) == -1)
		return -1;
	return c->fn(c->arg, &hs);
}

int
pg_each_host_summary(struct store *st, const char *after, uint32_t limit,
                     int (*fn)(void *arg, const struct host_summary *h), void *arg, char *err,
                     size_t errlen)
{
	struct pg_each_summary_ctx c = {.fn = fn, .arg = arg};
	struct pg_params p;

	if (pg_page_params(st->impl, &p, after, limit, err, errlen) == -1)
		return -1;
	return pg_each_row(st->impl, &pg_summaries_listing, &p, pg_each_summary_row, &c, err,
	                   errlen);
}

int
pg_get_host(struct store *st, const char *name, struct stored_host *out, char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;
	PGresult *r;
	int ret;

	memset(out, 0, sizeof(*out));
	/* A name that does not fit could never have been stored. */
	if (strnlen(name, MODEL_NAME_MAX) >= MODEL_NAME_MAX)
		return 1;
	memset(&p, 0, sizeof(p));
	pg_p_text(&p, name, MODEL_NAME_MAX);
	r = pg_exec(q, PG_GET_HOST, NULL, &p, PGRES_TUPLES_OK, !q->in_each, "reading host", err,
	            errlen);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0)
		ret = 1;
	else
		ret = pg_row_host(q, r, 0, out, err, errlen);
	PQclear(r);
	return ret;
}

/* One of a limit's readers: its statement and how one of its rows decodes. */
struct pg_limit_read {
	int stmt;
	const char *what, *op; /* for messages */
	int ncols;
	size_t size; /* of an element of out */
	int (*decode)(const struct store_row *r, void *out);
};

static int
pg_sample_decode(const struct store_row *r, void *out)
{
	return store_sample_read(r, out);
}

static int
pg_rollup_decode(const struct store_row *r, void *out)
{
	return store_rollup_read(r, out);
}

static const struct pg_limit_read pg_series_read = {
    PG_SERIES, "samples", "reading samples", 3, sizeof(struct sample), pg_sample_decode};
static const struct pg_limit_read pg_rollups_read = {
    PG_ROLLUPS, "rollups", "reading rollups", 6, sizeof(struct rollup), pg_rollup_decode};

/* The rows of limit of host since t0, oldest first, at most max, into out[0..*n). */
static int
pg_read_limit(struct pg_store *q, const struct pg_limit_read *lr, const char *host,
              const char *limit, int64_t t0, void *out, size_t max, size_t *n, char *err,
              size_t errlen)
{
	struct pg_params p;
	PGresult *r;
	int rows, i;

	*n = 0;
	if (store_read_none(host, limit, max))
		return 0;
	memset(&p, 0, sizeof(p));
	pg_p_text(&p, host, MODEL_NAME_MAX);
	pg_p_text(&p, limit, MODEL_NAME_MAX);
	pg_p_i64(&p, t0);
	pg_p_i64(&p, max > INT64_MAX ? INT64_MAX : (int64_t)max);
	r = pg_exec(q, lr->stmt, NULL, &p, PGRES_TUPLES_OK, !q->in_each, lr->op, err, errlen);
	if (r == NULL)
		return -1;
	/* LIMIT bounds the rows; max is checked again before each write. */
	rows = PQntuples(r);
	for (i = 0; i < rows && *n < max; i++) {
		struct store_row sr = pg_row(r, i);

		if (PQnfields(r) != lr->ncols ||
		    lr->decode(&sr, (char *)out + *n * lr->size) == -1) {
			snprintf(err, errlen, "%s: %s: bad value for %s %s", q->label, lr->what,
			         host, limit);
			PQclear(r);
			*n = 0;
			return -1;
		}
		(*n)++;
	}
	PQclear(r);
	return 0;
}

int
pg_series(struct store *st, const char *host, const char *limit, int64_t t0, struct sample *out,
          size_t max, size_t *n, char *err, size_t errlen)
{
	return pg_read_limit(st->impl, &pg_series_read, host, limit, t0, out, max, n, err, errlen);
}

int
pg_rollups(struct store *st, const char *host, const char *limit, int64_t t0, struct rollup *out,
           size_t max, size_t *n, char *err, size_t errlen)
{
	return pg_read_limit(st->impl, &pg_rollups_read, host, limit, t0, out, max, n, err, errlen);
}

/*
 * Copies the rows of a findings result (PG_FINDING_COLUMNS) into a malloc'd
 * array; with ids, also their row ids (column 19) into another.
 */
static int
pg_load_findings(struct pg_store *q, PGresult *r, struct finding **out, int64_t **ids, size_t *n,
                 char *err, size_t errlen)
{
	struct finding *v = NULL;
	int64_t *iv = NULL;
	int rows = PQntuples(r), i;

	*out = NULL;
	*n = 0;
	if (ids != NULL)
		*ids = NULL;
	if (rows > MODEL_MAX_FINDINGS) /* the LIMIT says otherwise: a bug */
		rows = MODEL_MAX_FINDINGS;
	if (rows == 0)
		return 0;
	if ((v = calloc((size_t)rows, sizeof(*v))) == NULL ||
	    (ids != NULL && (iv = calloc((size_t)rows, sizeof(*iv))) == NULL)) {
		free(v);
		snprintf(err, errlen, "%s: findings: out of memory", q->label);
		return -1;
	}
	for (i = 0; i < rows; i++) {
		if (pg_row_finding(r, i, &v[i]) == -1 ||
		    (ids != NULL && pg_col_i64(r, i, 19, &iv[i]) == -1)) {
			free(v);
			free(iv);
			snprintf(err, errlen, "%s: findings: bad row", q->label);
			return -1;
		}
	}
	*out = v;
	if (ids != NULL)
		*ids = iv;
	*n = (size_t)rows;
	return 0;
}

/*
 * Runs stmt (p, first as for pg_exec()), whose rows are findings
 * (PG_FINDING_COLUMNS), into *out[0..*n); with ids, their row ids too.
 */
int
pg_read_findings(struct pg_store *q, int stmt, const struct pg_params *p, int first,
                 struct finding **out, int64_t **ids, size_t *n, char *err, size_t errlen)
{
	PGresult *r;
	int ret;

	if ((r = pg_exec(q, stmt, NULL, p, PGRES_TUPLES_OK, first, "reading findings", err,
	                 errlen)) == NULL)
		return -1;
	ret = pg_load_findings(q, r, out, ids, n, err, errlen);
	PQclear(r);
	return ret;
}

int
pg_open_findings(struct store *st, const char *host, struct finding **out, size_t *n, char *err,
                 size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;

	*out = NULL;
	*n = 0;
	if (strnlen(host, MODEL_NAME_MAX) >= MODEL_NAME_MAX)
		return 0;
	memset(&p, 0, sizeof(p));
	pg_p_text(&p, host, MODEL_NAME_MAX);
	pg_p_i64(&p, MODEL_MAX_FINDINGS);
	return pg_read_findings(q, PG_HOST_FINDINGS_OPEN, &p, !q->in_each, out, NULL, n, err,
	                        errlen);
}

/* ---- the open findings of every host ---- */

struct pg_each_finding_ctx {
	int (*fn)(void *arg, const char *host, const struct finding *f);
	void *arg;
};

static int
pg_each_finding_row(struct pg_store *q, const PGresult *r, int i, void *ctx, char *err,
                    size_t errlen)
{
	struct pg_each_finding_ctx *c = ctx;
	struct finding f;
	char host[MODEL_NAME_MAX];

	if (pg_row_finding(r, i, &f) == -1 || pg_col_text(r, i, 19, host, sizeof(host)) == -1) {
		snprintf(err, errlen, "%s: findings: bad row", q->label);
		return -1;
	}
	return c->fn(c->arg, host, &f);
}

int
pg_each_open_finding(struct store *st,
                     int (*fn)(void *arg, const char *host, const struct finding *f), void *arg,
                     char *err, size_t errlen)
{
	struct pg_each_finding_ctx c = {.fn = fn, .arg = arg};

	return pg_each_row(st->impl, &pg_findings_listing, NULL, pg_each_finding_row, &c, err,
	                   errlen);
}

#endif /* IPCFLEET_HAVE_LIBPQ */
