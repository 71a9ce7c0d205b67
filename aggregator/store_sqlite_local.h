/*
 * store_sqlite_local.h: what the SQLite backend's files share
 * (store_sqlite.c: opening, the schema and its migrations, the statements'
 * SQL and the table of operations; store_sqlite_stmt.c: binding and
 * checked reading of values, and write transactions with the checks
 * before each; store_sqlite_put.c: the write path and housekeeping;
 * store_sqlite_read.c: the readers; store_sqlite_findings.c: findings and
 * count runs).  Private to aggregator/store_sqlite*.c: the rest of the
 * aggregator sees store.h.
 */
#ifndef IPCFLEET_STORE_SQLITE_LOCAL_H
#define IPCFLEET_STORE_SQLITE_LOCAL_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "buf.h"
#include "model.h"
#include "store.h"
#include "store_blocks.h"
#include "store_core.h"

/* after a full disk, until restarted: a WAL of 1 MiB (slower, but fits) */
#define SQ_TIGHT_PAGES 256
#define SQ_TIGHT_LIMIT "1048576"

/* The prepared statements, in the order of sq_sql[] (store_sqlite.c). */
enum {
	SQ_BEGIN,
	SQ_COMMIT,
	SQ_ROLLBACK,
	SQ_UPSERT_HOST,
	SQ_HOST_STATE,
	SQ_INSERT_RECEIVED,
	SQ_RECEIVED_DIGEST,
	SQ_UPDATE_LATEST,
	SQ_BLOCK_GET,
	SQ_BLOCK_PUT,
	SQ_BLOCKS_UNROLLED,
	SQ_BLOCK_ROLLED,
	SQ_EACH_HOST,
	SQ_GET_HOST,
	SQ_SERIES,
	SQ_ROLLUP_GET,
	SQ_ROLLUP_PUT,
	SQ_ROLLUPS,
	SQ_FINDINGS_OPEN,
	SQ_FINDING_INSERT,
	SQ_FINDING_UPDATE,
	SQ_FINDING_CLOSE,
	SQ_FINDINGS_ALL_OPEN,
	SQ_HOST_ID,
	SQ_SET_STATUS,
	SQ_EACH_SUMMARY,
	SQ_PEAK,
	SQ_PEAK_DAYS,
	SQ_PEAK_LIST,
	SQ_PEAK_GET,
	SQ_PEAK_PUT,
	SQ_COUNTS_GET,
	SQ_COUNTS_PUT,
	SQ_SAVEPOINT,
	SQ_RELEASE,
	SQ_ROLLBACK_TO,
	SQ_NSTMT
};

struct sq_store {
	struct store pub; /* first: store_open_sqlite() returns &pub */
	sqlite3 *db;
	char *path; /* for messages */
	sqlite3_stmt *stmt[SQ_NSTMT];
	int in_each;         /* each_host() is running: its statement is in use */
	struct sb_block blk; /* the sample block being read or written */
	struct buf enc;      /* its encoding */
	/*
	 * A write failed with SQLITE_FULL: checkpoint(TRUNCATE) before each
	 * write until one works.  Otherwise the WAL, grown up to the full
	 * disk, keeps its size, takes back whatever space is freed, and
	 * delivery stops again within seconds (issue 19).
	 */
	int wal_full;
	int wal_tight; /* since a SQLITE_FULL: SQ_TIGHT_PAGES between checkpoints */
	/* the -wal this connection writes, to notice it removed under us */
	int wal_known;
	dev_t wal_dev;
	ino_t wal_ino;
	/*
	 * A group is open (store_ops.group_begin): its transaction is, and
	 * sq_begin, sq_commit and sq_rollback make, release and undo savepoints
	 * in it.  The checks of sq_begin ran once, when the group began.
	 */
	int group;
};

/* A host's unrolled block, copied out of its statement. */
struct sq_unrolled {
	int64_t hour;
	uint8_t *data;
	size_t len;
};

/* store_sqlite.c */
int sq_connect(struct sq_store *q, int first, char *err, size_t errlen);

/* store_sqlite_stmt.c: statements, values and transactions */
int sq_fail(struct sq_store *q, const char *what, char *err, size_t errlen);
int sq_group_begin(struct store *st, char *err, size_t errlen);
int sq_group_end(struct store *st, char *err, size_t errlen);
void sq_done(sqlite3_stmt *st);
int sq_exec_stmt(sqlite3_stmt *st);
void sq_rollback(struct sq_store *q);
int sq_bind_text(sqlite3_stmt *st, int i, const char *s, size_t max);
int sq_bind_i64(sqlite3_stmt *st, int i, int64_t v);
int sq_bind_u64(sqlite3_stmt *st, int i, uint64_t v);
int sq_col_i64(sqlite3_stmt *st, int i, int64_t *v);
int sq_col_u64(sqlite3_stmt *st, int i, uint64_t *v);
int sq_col_text(sqlite3_stmt *st, int i, char *out, size_t outlen);
int sq_col_blob(sqlite3_stmt *x, int i, const uint8_t **p, size_t *n);
struct store_row sq_row(sqlite3_stmt *x);
int sq_commit(struct sq_store *q, char *err, size_t errlen);
void sq_wal_truncate(struct sq_store *q);
void sq_note_full(struct sq_store *q);
int sq_begin(struct sq_store *q, char *err, size_t errlen);
/* -1 with err when a file of the database is immutable or append-only:
 * any of them (before a write), the -shm (before a read). */
int sq_files_frozen(struct sq_store *q, char *err, size_t errlen);
int sq_shm_frozen(struct sq_store *q, char *err, size_t errlen);

/* store_sqlite_put.c: the write path and housekeeping (store_ops) */
store_put_snapshot_fn sq_put_snapshot;
store_put_snapshots_fn sq_put_snapshots;
store_put_history_fn sq_put_history;
store_housekeep_fn sq_housekeep;

/* store_sqlite_read.c: the readers (store_ops) and what the writers share of them */
int sq_host_id(struct sq_store *q, const char *host, int64_t *id);
int sq_unrolled(struct sq_store *q, int64_t host_id, struct sq_unrolled **out, size_t *n);
void sq_unrolled_free(struct sq_unrolled *v, size_t n);
store_each_host_fn sq_each_host;
store_get_host_fn sq_get_host;
store_series_fn sq_series;
store_rollups_fn sq_rollups;
store_each_host_summary_fn sq_each_host_summary;
store_peaks_fn sq_peaks;
store_daily_peaks_fn sq_daily_peaks;

/* store_sqlite_findings.c: findings and count runs (store_ops, store_core.h) */
store_open_findings_fn sq_open_findings;
store_each_open_finding_fn sq_each_open_finding;
extern const struct store_tx sq_tx_ops;

#endif
