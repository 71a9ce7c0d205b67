/*
 * store_pg_local.h: what the PostgreSQL backend's files share (store_pg.c:
 * the schema and its migrations, the prepared statements, the connection
 * and running statements, opening; store_pg_codec.c: parameters out and
 * checked result columns in, and the store core's view of both;
 * store_pg_put.c: the write path, the findings and counts primitives of
 * the store core, housekeeping; store_pg_read.c: the readers and
 * listings).  Private to aggregator/store_pg*.c, and only with libpq
 * (IPCFLEET_HAVE_LIBPQ): the rest of the aggregator sees store.h.
 */
#ifndef IPCFLEET_STORE_PG_LOCAL_H
#define IPCFLEET_STORE_PG_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "model.h"
#include "store.h"
#include "store_core.h"

/* Type OIDs (PostgreSQL's catalog/pg_type.h, stable since forever). */
#define PG_BOOLOID   16
#define PG_BYTEAOID  17
#define PG_INT8OID   20
#define PG_TEXTOID   25
#define PG_FLOAT8OID 701

/* The prepared statements. */
enum {
	PG_UPSERT_HOST,
	PG_PUT_SAMPLES,
	PG_GET_HOST,
	PG_SERIES,
	PG_ROLLUPS,
	PG_HOST_LOCK,
	PG_FINDINGS_OPEN,
	PG_HOST_FINDINGS_OPEN,
	PG_FINDING_INSERT,
	PG_FINDING_UPDATE,
	PG_FINDING_CLOSE,
	PG_HOUSEKEEP_TRY,
	PG_DELETE_SAMPLES,
	PG_DELETE_ROLLUPS,
	PG_DELETE_FINDINGS,
	PG_DELETE_RECEIVED,
	PG_DELETE_FUTURE_SAMPLES, /* $1: now + STORE_FUTURE_MAX */
	PG_DELETE_FUTURE_ROLLUPS,
	PG_COUNTS_GET,
	PG_COUNTS_PUT,
	PG_NSTMT
};

/* The columns of a host, decoded by pg_row_host(). */
#define PG_HOST_COLUMNS STORE_HOST_COLUMNS

/* The columns of a finding, decoded by pg_row_finding(). */
#define PG_FINDING_COLUMNS STORE_FINDING_COLUMNS("f.")

struct pg_store {
	struct store pub; /* first: store_open_pg() returns &pub */
	PGconn *conn;
	char label[256]; /* "postgresql://user@host:port/db" for messages: no password */
	int in_each;     /* a listing's cursor is open */
	int ready;       /* the session settings and statements are in place */
	/*
	 * After a failed reconnection the next attempt waits retry_at: each
	 * attempt may block the event loop up to connect_timeout, so they are
	 * spaced out (1 s doubling to PG_RETRY_MAX_MS) while the database is
	 * unreachable, and operations meanwhile fail at once.  The cap is
	 * short: once the database is back, acks resume within it (issue 19).
	 */
	uint64_t retry_at, backoff; /* ms, now_mono_ms() clock */
	uint64_t reaped_at;         /* ms: the last look for stuck peers (pg_reap_stuck) */
};
#define PG_RETRY_MAX_MS 5000

#define PG_NPARAMS  20
#define PG_TEXT_MAX (2 * MODEL_TEXT_MAX) /* the longest text bound: a finding key */

/*
 * Parameters of one statement, in $1, $2, ... order.  Numbers and text are
 * sent in text format from the buffers here; bytea in binary format from the
 * caller's memory, which must outlive the call.
 */
struct pg_params {
	int n;
	int bad; /* a value did not fit: the statement is not run */
	const char *v[PG_NPARAMS];
	int len[PG_NPARAMS];
	int fmt[PG_NPARAMS];
	char buf[PG_NPARAMS][PG_TEXT_MAX];
};

/* store_pg.c: running statements (see there) */
int pg_fail(struct pg_store *q, const char *what, const PGresult *r, char *err, size_t errlen);
int pg_reconnect(struct pg_store *q, char *err, size_t errlen);
PGresult *pg_exec(struct pg_store *q, int id, const char *sql, const struct pg_params *p,
                  ExecStatusType want, int first, const char *what, char *err, size_t errlen);
int pg_cmd(struct pg_store *q, int id, const char *sql, const struct pg_params *p, int first,
           const char *what, char *err, size_t errlen);
int pg_one_bool(struct pg_store *q, int id, const char *sql, const char *what, const char *bad,
                int *v, char *err, size_t errlen);
void pg_rollback(struct pg_store *q);
int pg_begin(struct pg_store *q, const char *sql, char *err, size_t errlen);
int pg_commit(struct pg_store *q, char *err, size_t errlen);
/* Commits, or rolls back when the commit fails: 0 once committed. */
int pg_commit_or_rollback(struct pg_store *q, char *err, size_t errlen);
/* store_pg_codec.c: parameters (a value that does not fit sets p->bad) */
void pg_p_i64(struct pg_params *p, int64_t v);
void pg_p_u64(struct pg_params *p, uint64_t v);
void pg_p_usage(struct pg_params *p, const struct usage *u);
void pg_p_text(struct pg_params *p, const char *s, size_t max);
void pg_p_bytea(struct pg_params *p, const uint8_t *b, size_t n);
void pg_p_bytea_copy(struct pg_params *p, const uint8_t *b, size_t n);
void pg_p_finding(struct pg_params *p, int64_t host_id, const char *fkey, const struct finding *f,
                  int64_t now);
void pg_p_finding_update(struct pg_params *p, int64_t host_id, const char *fkey,
                         const struct finding *f, int64_t now, int64_t row);
int pg_finding_clean(struct finding *f);
/* store_pg_codec.c: result columns, rows */
int pg_col_ok(const PGresult *r, int row, int col, Oid type);
int pg_col_i64(const PGresult *r, int row, int col, int64_t *v);
int pg_col_bool(const PGresult *r, int row, int col, int *v);
int pg_col_text(const PGresult *r, int row, int col, char *out, size_t outlen);
struct store_row pg_row(const PGresult *r, int row);
int pg_row_finding(const PGresult *r, int row, struct finding *f);
/* store_pg_put.c: the write path, the store core's primitives, housekeeping */
extern const struct store_tx pg_tx_ops;
store_put_snapshots_fn pg_put_snapshots;
store_put_snapshot_fn pg_put_snapshot;
store_housekeep_fn pg_housekeep;
/* store_pg_read.c: the readers */
store_each_host_summary_fn pg_each_host_summary;
store_each_host_fn pg_each_host;
store_get_host_fn pg_get_host;
store_series_fn pg_series;
store_rollups_fn pg_rollups;
store_open_findings_fn pg_open_findings;
store_each_open_finding_fn pg_each_open_finding;
int pg_read_findings(struct pg_store *q, int stmt, const struct pg_params *p, int first,
                     struct finding **out, int64_t **ids, size_t *n, char *err, size_t errlen);

#endif
