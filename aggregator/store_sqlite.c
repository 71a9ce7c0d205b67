/*
 * store_sqlite.c: the SQLite backend of the aggregator's store (store.h).
 *
 * One connection, used from one thread (SQLITE_OPEN_NOMUTEX).  Every
 * statement is prepared once at open and reset after each use.  Every write
 * is one BEGIN IMMEDIATE ... COMMIT transaction: put_snapshot() returns 0
 * only after the commit, and -1 (after a rollback) on any failure, so the
 * caller acknowledges exactly what is on disk.
 *
 * Everything read back from the database is checked as if it came from the
 * network: column types, text lengths against the fixed fields they are
 * copied into (too long is an error, never a truncation), integer ranges,
 * and blob sizes against PROTO_MAX_FRAME.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "findings.h"
#include "model.h"
#include "proto.h"
#include "store.h"
#include "store_blocks.h"
#include "log.h"
#include "store_core.h"
#include "util.h"

#define SQ_BUSY_TIMEOUT     "5000"  /* ms */
#define SQ_CACHE_KIB        "65536" /* the page cache: 64 MiB */
#define SQ_CHECKPOINT_PAGES "8192"  /* WAL pages (32 MiB) between checkpoints */
/* a WAL grown past this by a large batch is cut back to it when it restarts */
#define SQ_WAL_LIMIT "33554432" /* bytes: SQ_CHECKPOINT_PAGES of 4 KiB */
/* after a full disk, until restarted: a WAL of 1 MiB (slower, but fits) */
#define SQ_TIGHT_PAGES 256
#define SQ_TIGHT_LIMIT "1048576"

/*
 * The schema.
 *
 * SQLite's INTEGER is a signed 64-bit value, but sequence numbers, usage and
 * limits are uint64_t: Linux reports shmall as 18446744073692774399 by
 * default.  Such values are stored as their int64_t bit pattern ((int64_t)v
 * on the way in, (uint64_t) on the way out), so they round-trip exactly.
 * The catch: SQL comparisons and ORDER BY on those columns (last_seq, seq,
 * used, lim) see the signed value, so they are compared in C, never in SQL.
 * Times (taken, received, t, boot_time) are genuinely signed.
 *
 * hosts:    one row per host; info fields are refreshed by every snapshot,
 *           last_* and snapshot describe the newest sequence stored (all
 *           NULL until the first snapshot).
 * received: every (host, spool, sequence) ever stored, to acknowledge a
 *           resent snapshot without storing it twice (version 4: the spool
 *           id, "" for the legacy id and every row from before, and the
 *           payload's SHA-256, NULL before, to notice a "duplicate" whose
 *           content differs).  hosts.last_spool: the spool of last_seq.
 * samples:  usage of each countable limit: since version 2 one row per
 *           (host, hour), a block of runs (store_blocks.h); rolled says
 *           whether its samples are in rollups yet.  A host's blocks are
 *           rolled up when its first block of a later hour is written, or
 *           before housekeeping deletes them; until then rollups() computes
 *           the hour from the block.  (Version 1: one row per (host, limit,
 *           time).)
 * rollups:  hourly min, max and mean of the same, kept far longer.
 * hosts.status, hosts.usage (version 2): the host's findings_status() and
 *           the usage of its latest snapshot (sb_usage_encode), so that the
 *           hosts query decodes no snapshot.
 * peaks:    (version 2) the largest mx of each day's rollups, kept with
 *           them: a month's peaks are 30 rows, not 720 (report's
 *           recommendations for a whole fleet).
 * findings: every finding with its opening and closing times; open ones have
 *           closed NULL.  fkey is finding_identity(): the same problem in two
 *           snapshots has the same key.
 * counts:   (version 5) what the leak and queue_fill rules follow, one row
 *           per host: its count runs (store.h) as one blob
 *           (sb_counts_encode), rewritten by each analysis.  At most
 *           COUNT_RUNS_MAX runs: a host's row stays small, so a silent host's
 *           row is simply left until the host is.
 */
static const char sq_schema_v1[] =
    "CREATE TABLE IF NOT EXISTS hosts ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " os TEXT NOT NULL,"
    " os_release TEXT NOT NULL,"
    " agent TEXT NOT NULL,"
    " page_size INTEGER NOT NULL,"
    " boot_time INTEGER NOT NULL,"
    " interval INTEGER NOT NULL DEFAULT 0,"
    " last_seq INTEGER,"
    " last_taken INTEGER,"
    " last_received INTEGER,"
    " snapshot BLOB);"
    "CREATE TABLE IF NOT EXISTS received ("
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " seq INTEGER NOT NULL,"
    " taken INTEGER NOT NULL,"
    " received INTEGER NOT NULL,"
    " PRIMARY KEY (host_id, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS samples ("
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " limit_name TEXT NOT NULL,"
    " t INTEGER NOT NULL,"
    " used INTEGER NOT NULL,"
    " lim INTEGER NOT NULL,"
    " PRIMARY KEY (host_id, limit_name, t)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS rollups ("
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " limit_name TEXT NOT NULL,"
    " hour INTEGER NOT NULL,"
    " mn INTEGER NOT NULL,"
    " mx INTEGER NOT NULL,"
    " mean REAL NOT NULL,"
    " cnt INTEGER NOT NULL,"
    " lim INTEGER NOT NULL,"
    " PRIMARY KEY (host_id, limit_name, hour)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS findings ("
    " id INTEGER PRIMARY KEY,"
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " fkey TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " severity INTEGER NOT NULL,"
    " limit_name TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " message TEXT NOT NULL,"
    " has_object INTEGER NOT NULL,"
    " otype INTEGER NOT NULL,"
    " oid INTEGER NOT NULL,"
    " age INTEGER NOT NULL,"
    " uid INTEGER NOT NULL,"
    " owner TEXT NOT NULL,"
    " command TEXT NOT NULL,"
    " has_headroom INTEGER NOT NULL,"
    " held INTEGER NOT NULL,"
    " free INTEGER NOT NULL,"
    " safe_limit INTEGER NOT NULL,"
    " exhaust_at INTEGER NOT NULL,"
    " opened INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " closed INTEGER);"
    "CREATE INDEX IF NOT EXISTS findings_open"
    " ON findings (host_id, closed);"
    "CREATE INDEX IF NOT EXISTS findings_closed ON findings (closed);";

/*
 * Migrations: entry v brings the database from version v - 1 to v.  All
 * pending ones run in one BEGIN IMMEDIATE transaction at open and
 * meta.schema_version records the result; a database whose version is newer
 * than SQ_SCHEMA_VERSION is refused untouched.  Version 1 uses IF NOT EXISTS
 * so that a database written before meta existed (version 0) is adopted.
 * Never edit a released entry: append one.
 */
static const char sq_schema_v2[] =
    "ALTER TABLE samples RENAME TO samples_v1;"
    "CREATE TABLE samples ("
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " hour INTEGER NOT NULL,"
    " rolled INTEGER NOT NULL,"
    " data BLOB NOT NULL,"
    " PRIMARY KEY (host_id, hour)) WITHOUT ROWID;"
    "CREATE INDEX samples_unrolled ON samples (host_id, hour) WHERE rolled = 0;"
    "CREATE INDEX samples_hour ON samples (hour);"
    "ALTER TABLE hosts ADD COLUMN status TEXT;"
    "ALTER TABLE hosts ADD COLUMN usage BLOB;"
    "CREATE TABLE peaks ("
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " limit_name TEXT NOT NULL,"
    " day INTEGER NOT NULL,"
    " mx INTEGER NOT NULL,"
    " PRIMARY KEY (host_id, limit_name, day)) WITHOUT ROWID;"
    /* mx holds uint64_t bit patterns: any value >= 2^63 (negative here) is the larger */
    "INSERT INTO peaks (host_id, limit_name, day, mx)"
    " SELECT host_id, limit_name, hour - (hour % 86400 + 86400) % 86400,"
    " coalesce(max(CASE WHEN mx < 0 THEN mx END), max(mx)) FROM rollups GROUP BY 1, 2, 3;"
    /* findings_status() of each host's open findings, as sync_findings keeps it */
    "UPDATE hosts SET status = CASE"
    " WHEN EXISTS (SELECT 1 FROM findings AS f WHERE f.host_id = hosts.id"
    "  AND f.closed IS NULL AND f.kind = 'stale') THEN 'stale'"
    " WHEN EXISTS (SELECT 1 FROM findings AS f WHERE f.host_id = hosts.id"
    "  AND f.closed IS NULL AND f.severity = 2) THEN 'crit'"
    " WHEN EXISTS (SELECT 1 FROM findings AS f WHERE f.host_id = hosts.id"
    "  AND f.closed IS NULL AND f.severity = 1) THEN 'warn'"
    " ELSE 'ok' END;";

/*
 * Version 3.  Housekeeping finds old rows through an index instead of
 * reading whole tables each tick: without these, a 10,000-host fleet's
 * month of rollups (36 million rows) was scanned every check_interval.
 * And the snapshot blob becomes the hosts row's last column: a row's
 * columns are stored in order, a snapshot is often larger than a page, and
 * the columns after it (status and usage, added by version 2) had to be
 * read through its overflow pages for every hosts listing.  ADD COLUMN
 * appends; DROP COLUMN (SQLite 3.35) rewrites the table.
 */
static const char sq_schema_v3[] = "CREATE INDEX rollups_hour ON rollups (hour);"
                                   "CREATE INDEX peaks_day ON peaks (day);"
                                   "CREATE INDEX received_received ON received (received);"
                                   "ALTER TABLE hosts ADD COLUMN snapshot_v3 BLOB;"
                                   "UPDATE hosts SET snapshot_v3 = snapshot;"
                                   "ALTER TABLE hosts DROP COLUMN snapshot;"
                                   "ALTER TABLE hosts RENAME COLUMN snapshot_v3 TO snapshot;";

/*
 * Version 4.  Sequence numbers count within one spool of an agent: a lost
 * spool starts again at 1, and its snapshots must not be taken for
 * duplicates of the old one's.  received is keyed by (host, spool, seq)
 * (rebuilt: a primary key cannot change in place; every existing row gets
 * the legacy id ""), keeps the payload's digest, and hosts.last_spool says
 * which spool last_seq counts in.  The snapshot blob is moved to the last
 * column again (see version 3).
 */
static const char sq_schema_v4[] =
    "CREATE TABLE received_v4 ("
    " host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " spool TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " taken INTEGER NOT NULL,"
    " received INTEGER NOT NULL,"
    " digest BLOB,"
    " PRIMARY KEY (host_id, spool, seq)) WITHOUT ROWID;"
    "INSERT INTO received_v4 (host_id, spool, seq, taken, received)"
    " SELECT host_id, '', seq, taken, received FROM received;"
    "DROP TABLE received;"
    "ALTER TABLE received_v4 RENAME TO received;"
    "CREATE INDEX received_received ON received (received);"
    "ALTER TABLE hosts ADD COLUMN last_spool TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE hosts ADD COLUMN snapshot_v4 BLOB;"
    "UPDATE hosts SET snapshot_v4 = snapshot;"
    "ALTER TABLE hosts DROP COLUMN snapshot;"
    "ALTER TABLE hosts RENAME COLUMN snapshot_v4 TO snapshot;";

/* Version 5: the leak rule's history (issue 14). */
static const char sq_schema_v5[] =
    "CREATE TABLE counts ("
    " host_id INTEGER PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
    " data BLOB NOT NULL);";

struct sq_store;
static int sq_migrate_samples_v2(struct sq_store *q, char *err, size_t errlen);

/* sql first, then fn when set (in the same transaction). */
static const struct sq_migration {
	int version;
	const char *sql;
	int (*fn)(struct sq_store *q, char *err, size_t errlen);
} sq_migrations[] = {
    {1, sq_schema_v1, NULL}, {2, sq_schema_v2, sq_migrate_samples_v2},
    {3, sq_schema_v3, NULL}, {4, sq_schema_v4, NULL},
    {5, sq_schema_v5, NULL},
};
#define SQ_SCHEMA_VERSION 5 /* the last entry of sq_migrations[] */

/* The prepared statements, in the order of sq_sql[]. */
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
	SQ_NSTMT
};

/* The columns SQ_EACH_HOST and SQ_GET_HOST return, decoded by sq_row_host(). */
#define SQ_HOST_COLUMNS STORE_HOST_COLUMNS

/* The columns of a finding, decoded by sq_row_finding(). */
#define SQ_FINDING_COLUMNS STORE_FINDING_COLUMNS("")

static const char *const sq_sql[SQ_NSTMT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    /* a new host has no findings: its status is "ok" until sync_findings says otherwise */
    [SQ_UPSERT_HOST] = "INSERT INTO hosts (name, os, os_release, agent, page_size, boot_time,"
                       " interval, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'ok')"
                       " ON CONFLICT (name) DO UPDATE SET os = excluded.os,"
                       " os_release = excluded.os_release, agent = excluded.agent,"
                       " page_size = excluded.page_size, boot_time = excluded.boot_time,"
                       " interval = excluded.interval",
    [SQ_HOST_STATE] = "SELECT id, last_seq, last_spool, last_taken FROM hosts WHERE name = ?1",
    [SQ_INSERT_RECEIVED] = "INSERT OR IGNORE INTO received (host_id, spool, seq, taken,"
                           " received, digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [SQ_RECEIVED_DIGEST] = "SELECT digest FROM received WHERE host_id = ?1 AND spool = ?2"
                           " AND seq = ?3",
    [SQ_UPDATE_LATEST] = "UPDATE hosts SET last_seq = ?2, last_taken = ?3, last_received = ?4,"
                         " snapshot = ?5, usage = ?6, last_spool = ?7 WHERE id = ?1",
    [SQ_BLOCK_GET] = "SELECT rolled, data FROM samples WHERE host_id = ?1 AND hour = ?2",
    [SQ_BLOCK_PUT] = "INSERT INTO samples (host_id, hour, rolled, data) VALUES (?1, ?2, ?3, ?4)"
                     " ON CONFLICT (host_id, hour) DO UPDATE SET rolled = excluded.rolled,"
                     " data = excluded.data",
    [SQ_BLOCKS_UNROLLED] = "SELECT hour, data FROM samples WHERE host_id = ?1 AND rolled = 0"
                           " ORDER BY hour DESC",
    [SQ_BLOCK_ROLLED] = "UPDATE samples SET rolled = 1 WHERE host_id = ?1 AND hour = ?2",
    [SQ_EACH_HOST] = "SELECT " SQ_HOST_COLUMNS " FROM hosts ORDER BY name",
    [SQ_GET_HOST] = "SELECT " SQ_HOST_COLUMNS " FROM hosts WHERE name = ?1",
    [SQ_SERIES] = "SELECT hour, data FROM samples WHERE host_id = ?1 AND hour >= ?2 ORDER BY hour",
    [SQ_ROLLUP_GET] = "SELECT mn, mx, mean, cnt FROM rollups"
                      " WHERE host_id = ?1 AND limit_name = ?2 AND hour = ?3",
    [SQ_ROLLUP_PUT] = "INSERT OR REPLACE INTO rollups (host_id, limit_name, hour, mn, mx, mean,"
                      " cnt, lim) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [SQ_ROLLUPS] = "SELECT r.hour, r.mn, r.mx, r.mean, r.cnt, r.lim FROM rollups AS r"
                   " JOIN hosts AS h ON h.id = r.host_id"
                   " WHERE h.name = ?1 AND r.limit_name = ?2 AND r.hour >= ?3"
                   " ORDER BY r.hour LIMIT ?4",
    [SQ_FINDINGS_OPEN] = "SELECT " SQ_FINDING_COLUMNS ", id FROM findings"
                         " WHERE host_id = ?1 AND closed IS NULL ORDER BY id",
    [SQ_FINDING_INSERT] = "INSERT INTO findings (host_id, fkey, kind, severity, limit_name, scope,"
                          " message, has_object, otype, oid, age, uid, owner, command,"
                          " has_headroom, held, free, safe_limit, exhaust_at, opened, updated)"
                          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14,"
                          " ?15, ?16, ?17, ?18, ?19, ?20, ?20)",
    [SQ_FINDING_UPDATE] = "UPDATE findings SET severity = ?4, message = ?7, age = ?11,"
                          " owner = ?13, command = ?14, held = ?16, free = ?17,"
                          " safe_limit = ?18, exhaust_at = ?19, updated = ?20"
                          " WHERE id = ?21 AND host_id = ?1 AND fkey = ?2 AND closed IS NULL",
    /*
     * By the row's id (read with the open findings): by host and fkey, each
     * statement would read every open finding of the host (quadratic).
     */
    [SQ_FINDING_CLOSE] = "UPDATE findings SET closed = ?3, updated = ?3"
                         " WHERE id = ?4 AND host_id = ?1 AND fkey = ?2 AND closed IS NULL",
    [SQ_FINDINGS_ALL_OPEN] = "SELECT " SQ_FINDING_COLUMNS ", h.name FROM findings"
                             " JOIN hosts AS h ON h.id = findings.host_id"
                             " WHERE closed IS NULL ORDER BY severity DESC, opened, findings.id",
    [SQ_HOST_ID] = "SELECT id FROM hosts WHERE name = ?1",
    [SQ_SET_STATUS] = "UPDATE hosts SET status = ?2 WHERE id = ?1",
    /* last_seq, not snapshot, says whether there is one (as sq_row_host): testing
     * the snapshot column would load its blob for every host */
    [SQ_EACH_SUMMARY] = "SELECT name, os, os_release, agent, page_size, boot_time, interval,"
                        " last_received, last_seq IS NOT NULL, status, usage FROM hosts"
                        " ORDER BY name",
    /* the uint64_t maximum of mx: any value >= 2^63 (stored negative) beats the others */
    [SQ_PEAK] = "SELECT max(CASE WHEN mx >= 0 THEN mx END), max(CASE WHEN mx < 0 THEN mx END)"
                " FROM rollups WHERE host_id = ?1 AND limit_name = ?2 AND hour >= ?3"
                " AND hour < ?4",
    [SQ_PEAK_DAYS] = "SELECT max(CASE WHEN mx >= 0 THEN mx END),"
                     " max(CASE WHEN mx < 0 THEN mx END) FROM peaks"
                     " WHERE host_id = ?1 AND limit_name = ?2 AND day >= ?3",
    [SQ_PEAK_LIST] = "SELECT day, mx FROM peaks WHERE host_id = ?1 AND limit_name = ?2"
                     " AND day >= ?3 AND day < ?4",
    [SQ_PEAK_GET] = "SELECT mx FROM peaks WHERE host_id = ?1 AND limit_name = ?2 AND day = ?3",
    [SQ_PEAK_PUT] = "INSERT OR REPLACE INTO peaks (host_id, limit_name, day, mx)"
                    " VALUES (?1, ?2, ?3, ?4)",
    [SQ_COUNTS_GET] = "SELECT data FROM counts WHERE host_id = ?1",
    [SQ_COUNTS_PUT] = "INSERT INTO counts (host_id, data) VALUES (?1, ?2)"
                      " ON CONFLICT (host_id) DO UPDATE SET data = excluded.data",
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
};

static const struct store_ops sq_ops;

/* "PATH: what: sqlite's message".  Call before anything resets the message. */
static int
sq_fail(struct sq_store *q, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", q->path, what, sqlite3_errmsg(q->db));
	return -1;
}

static void
sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows; resets it.  Returns the step code. */
static int
sq_exec_stmt(sqlite3_stmt *st)
{
	int rc;

	rc = sqlite3_step(st);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	return rc;
}

/* Rolls back whatever transaction is open; keeps err as it is. */
static void
sq_rollback(struct sq_store *q)
{
	/*
	 * Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) may already
	 * have rolled the transaction back; ROLLBACK then would fail.
	 */
	if (sqlite3_get_autocommit(q->db))
		return;
	sq_exec_stmt(q->stmt[SQ_ROLLBACK]);
	sqlite3_reset(q->stmt[SQ_ROLLBACK]);
}

/* ---- binding values ---- */

static int
sq_bind_text(sqlite3_stmt *st, int i, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n >= max) /* not NUL-terminated within its field */
		return -1;
	return sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

static int
sq_bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : -1;
}

/* uint64_t as its int64_t bit pattern: see the schema comment. */
static int
sq_bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	return sq_bind_i64(st, i, (int64_t)v);
}

/* ---- reading columns back: every value is checked ---- */

static int
sq_col_i64(sqlite3_stmt *st, int i, int64_t *v)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return -1;
	*v = sqlite3_column_int64(st, i);
	return 0;
}

static int
sq_col_u64(sqlite3_stmt *st, int i, uint64_t *v)
{
	int64_t x;

	if (sq_col_i64(st, i, &x) == -1)
		return -1;
	*v = (uint64_t)x;
	return 0;
}

/* Copies a TEXT column into out; too long or an embedded NUL is an error. */
static int
sq_col_text(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
	const unsigned char *s;
	int n;

	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return -1;
	s = sqlite3_column_text(st, i);
	n = sqlite3_column_bytes(st, i); /* after column_text: the UTF-8 length */
	if (s == NULL || n < 0 || (size_t)n >= outlen || strlen((const char *)s) != (size_t)n)
		return -1;
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
	return 0;
}

/* ---- the store core's view of a statement (store_core.h) ---- */

static int
sq_row_text(const struct store_row *r, int col, char *out, size_t outlen)
{
	return sq_col_text(r->res, col, out, outlen);
}

static int
sq_row_i64(const struct store_row *r, int col, int64_t *v)
{
	return sq_col_i64(r->res, col, v);
}

static int
sq_row_f64(const struct store_row *r, int col, double *v)
{
	if (sqlite3_column_type(r->res, col) != SQLITE_FLOAT)
		return -1;
	*v = sqlite3_column_double(r->res, col);
	return 0;
}

static int
sq_row_null(const struct store_row *r, int col)
{
	return sqlite3_column_type(r->res, col) == SQLITE_NULL;
}

static int
sq_row_blob(const struct store_row *r, int col, const void **p, size_t *n)
{
	int len;

	if (sqlite3_column_type(r->res, col) != SQLITE_BLOB)
		return -1;
	*p = sqlite3_column_blob(r->res, col);
	len = sqlite3_column_bytes(r->res, col);
	if (len < 0 || (len > 0 && *p == NULL))
		return -2;
	*n = (size_t)len;
	return 0;
}

/* The current row of x. */
static struct store_row
sq_row(sqlite3_stmt *x)
{
	struct store_row r = {sq_row_text, sq_row_i64, sq_row_f64, sq_row_null, sq_row_blob, x, 0};

	return r;
}

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

/* ---- operations ---- */

/* Start of the day holding t (UTC), without overflowing. */
static int64_t
sq_day_of(int64_t t)
{
	int64_t r = t % 86400;

	if (r < 0)
		r += 86400;
	return (uint64_t)t - (uint64_t)INT64_MIN < (uint64_t)r ? INT64_MIN : t - r;
}

/* Raises the day's peak of limit to mx when it is larger (compared as uint64_t). */
static int
sq_peak_raise(struct sq_store *q, int64_t host_id, const char *limit, int64_t hour, uint64_t mx)
{
	sqlite3_stmt *x = q->stmt[SQ_PEAK_GET];
	int64_t day = sq_day_of(hour);
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
	x = q->stmt[SQ_PEAK_PUT];
	if (sq_bind_i64(x, 1, host_id) == -1 || sq_bind_text(x, 2, limit, MODEL_NAME_MAX) == -1 ||
	    sq_bind_i64(x, 3, day) == -1 || sq_bind_u64(x, 4, mx) == -1)
		return -1;
	rc = sq_exec_stmt(x);
	sq_done(x);
	return rc == SQLITE_DONE ? 0 : -1;
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
 * Folds one sample into its hourly rollup.  min and max are compared in C
 * (the columns hold uint64_t bit patterns), the mean is kept incrementally.
 */
static int
sq_rollup_add(struct sq_store *q, int64_t host_id, const char *limit, int64_t t, uint64_t used,
              uint64_t lim)
{
	int64_t hour = sb_hour_of(t);
	uint64_t mn, mx, cnt;
	double mean;
	int rc = sq_rollup_get(q, host_id, limit, hour, &mn, &mx, &mean, &cnt);

	if (rc == -1)
		return -1;
	if (rc == 1)
		return sq_rollup_put(q, host_id, limit, hour, used, used, (double)used, 1, lim);
	mn = mn < used ? mn : used;
	mx = mx > used ? mx : used;
	mean += ((double)used - mean) / (double)(cnt + 1);
	return sq_rollup_put(q, host_id, limit, hour, mn, mx, mean, cnt + 1, lim);
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

/* A blob column as a pointer and length (NULL, 0 when empty); -1 when not a blob. */
static int
sq_col_blob(sqlite3_stmt *x, int i, const uint8_t **p, size_t *n)
{
	int len;

	if (sqlite3_column_type(x, i) != SQLITE_BLOB)
		return -1;
	*p = sqlite3_column_blob(x, i);
	len = sqlite3_column_bytes(x, i);
	if (len < 0 || (len > 0 && *p == NULL))
		return -1;
	*n = (size_t)len;
	return 0;
}

/* A host's unrolled block, copied out of its statement. */
struct sq_unrolled {
	int64_t hour;
	uint8_t *data;
	size_t len;
};

/* The host's unrolled blocks, newest first, into a malloc'd array.  0 or -1. */
static int
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

static void
sq_unrolled_free(struct sq_unrolled *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].data);
	free(v);
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
	*what = "storing samples";
	if (sb_set(&q->blk, t, v, nv) == -1 || sq_block_write(q, host_id, rolled != 0) == -1)
		return -1;
	if (rolled) {
		/* its hour is in the rollups already: this sample joins it there */
		*what = "storing rollups";
		for (i = 0; i < nv; i++)
			if (sq_rollup_add(q, host_id, v[i].name, t, v[i].used, v[i].limit) == -1)
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

static int
sq_commit(struct sq_store *q, char *err, size_t errlen)
{
	sqlite3_stmt *x = q->stmt[SQ_COMMIT];
	int rc = sq_exec_stmt(x);

	if (rc != SQLITE_DONE)
		return sq_fail(q, "commit", err, errlen);
	sqlite3_reset(x);
	return 0;
}

/*
 * -1 with err when a file of the database has been made immutable or
 * append-only (chattr +i, chflags schg) under the running aggregator.
 * SQLite writes the -shm through a shared mapping, and the kernel answers
 * such a write with SIGBUS, ending the process with nothing logged: checked
 * before each write transaction, it is a failed commit with its reason.
 */
static int
sq_files_frozen(struct sq_store *q, char *err, size_t errlen)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char p[PATH_MAX + 8];
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		int frozen = 0;

		snprintf(p, sizeof(p), "%s%s", q->path, suffix[i]);
#ifdef STATX_ATTR_IMMUTABLE
		/*
		 * statx, not open + ioctl(FS_IOC_GETFLAGS): closing any
		 * descriptor of the database would drop SQLite's POSIX locks
		 * on it, and another process's sqlite3 would then remove the
		 * -wal under us as the last one to close.
		 */
		{
			struct statx sx;

			if (statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, 0, &sx) == -1)
				continue; /* no -wal yet: SQLite reports what else is wrong */
			frozen = (sx.stx_attributes_mask & sx.stx_attributes &
			          (STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND)) != 0;
		}
#elif defined(SF_IMMUTABLE)
		{
			struct stat sb;

			if (stat(p, &sb) == -1)
				continue;
			frozen = (sb.st_flags &
			          (SF_IMMUTABLE | UF_IMMUTABLE | SF_APPEND | UF_APPEND)) != 0;
		}
#endif
		if (frozen) {
			snprintf(
			    err, errlen,
			    "%s: file is immutable or append-only (chattr +i / chflags schg?): "
			    "nothing can be written",
			    p);
			return -1;
		}
	}
	return 0;
}

/*
 * After SQLITE_FULL: copies the WAL into the database and truncates it to
 * zero bytes, freeing its space.  And from then on keeps the WAL small
 * (SQ_TIGHT_PAGES between checkpoints, cut back to that size): a WAL that
 * may grow to 32 MiB on a disk with less room than that fills it again,
 * and then no checkpoint can grow the database to empty it.
 */
static void
sq_wal_truncate(struct sq_store *q)
{
	if (!q->wal_full || !sqlite3_get_autocommit(q->db))
		return;
	if (!q->wal_tight) {
		q->wal_tight = 1;
		sqlite3_wal_autocheckpoint(q->db, SQ_TIGHT_PAGES);
		sqlite3_exec(q->db, "PRAGMA journal_size_limit = " SQ_TIGHT_LIMIT, NULL, NULL,
		             NULL);
	}
	if (sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
	    SQLITE_OK)
		q->wal_full = 0;
}

/* Notes a failure for full disk; call before anything resets the error code. */
static void
sq_note_full(struct sq_store *q)
{
	if ((sqlite3_extended_errcode(q->db) & 0xff) == SQLITE_FULL)
		q->wal_full = 1;
}

static int sq_connect(struct sq_store *q, int first, char *err, size_t errlen);

/*
 * The -wal removed (or replaced) under the running aggregator, by hand or
 * by another process's sqlite3 that took itself for the last user: this
 * connection would go on committing into a file no one else sees, lost at
 * the next restart.  Copies what it holds into the database, reopens (a new
 * -wal), and says so.  -1 with err when the copy fails: nothing is then
 * written (and acknowledged) into the lost file.
 */
static int
sq_wal_check(struct sq_store *q, char *err, size_t errlen)
{
	char p[PATH_MAX + 8];
	struct stat sb;
	int frames = 0, rc;
	size_t i;

	snprintf(p, sizeof(p), "%s-wal", q->path);
	rc = stat(p, &sb);
	if (!q->wal_known) {
		if (rc == 0) {
			q->wal_known = 1;
			q->wal_dev = sb.st_dev;
			q->wal_ino = sb.st_ino;
		}
		return 0;
	}
	if (rc == 0 && sb.st_dev == q->wal_dev && sb.st_ino == q->wal_ino)
		return 0;
	if (sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_FULL, &frames, NULL) !=
	    SQLITE_OK) {
		sq_fail(q, "the -wal was removed under us, and copying it into the database failed",
		        err, errlen);
		return -1;
	}
	for (i = 0; i < SQ_NSTMT; i++) {
		sqlite3_finalize(q->stmt[i]);
		q->stmt[i] = NULL;
	}
	sqlite3_close(q->db);
	q->db = NULL;
	if (sq_connect(q, 0, err, errlen) == -1)
		return -1;
	log_warnx("%s: removed under the running aggregator (by hand, or by another "
	          "process's sqlite3): its %d frames copied into the database, database reopened",
	          p, frames);
	return 0;
}

static int
sq_begin(struct sq_store *q, char *err, size_t errlen)
{
	sqlite3_stmt *x;

	if (sq_files_frozen(q, err, errlen) == -1 || sq_wal_check(q, err, errlen) == -1)
		return -1;
	sq_wal_truncate(q);
	x = q->stmt[SQ_BEGIN]; /* after sq_wal_check: it may have reopened */
	if (sq_exec_stmt(x) != SQLITE_DONE) {
		sq_fail(q, "begin", err, errlen);
		sqlite3_reset(x);
		return -1;
	}
	sqlite3_reset(x);
	return 0;
}

static int
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
static int
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

static int sq_host_id(struct sq_store *q, const char *host, int64_t *id);

/*
 * The bulk path (store.h put_history): one block per hour, written rolled,
 * and the rollups computed from it; blocks before samples_from are not kept.
 */
static int
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
 * Calls fn for each host, sorted by name.  Each stored_host handed to fn
 * carries its own malloc'd copy of the snapshot, freed by this function when
 * fn returns: fn must copy what it keeps.  fn may call get_host() and
 * series() but not each_host() again.  Returns 0 after the last host, fn's
 * own non-zero value when fn stops the walk, or -1 with err on a storage
 * error.
 */
static int
sq_each_host(struct store *st, int (*fn)(void *arg, const struct stored_host *h), void *arg,
             char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_EACH_HOST];
	struct stored_host h;
	int rc, ret = 0;

	if (q->in_each) {
		snprintf(err, errlen, "%s: listing hosts: already in progress", q->path);
		return -1;
	}
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

static int
sq_get_host(struct store *st, const char *name, struct stored_host *out, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_GET_HOST];
	int rc, ret;

	memset(out, 0, sizeof(*out));
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

static int
sq_series(struct store *st, const char *host, const char *limit, int64_t t0, struct sample *out,
          size_t max, size_t *n, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_SERIES];
	int64_t host_id;
	int rc = SQLITE_DONE, ret = 0;

	*n = 0;
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

static int
sq_rollups(struct store *st, const char *host, const char *limit, int64_t t0, struct rollup *out,
           size_t max, size_t *n, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_ROLLUPS];
	int rc = SQLITE_DONE, ret = 0;

	*n = 0;
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

/* The id of host, 1 when unknown, -1 on error. */
static int
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

static int
sq_open_findings(struct store *st, const char *host, struct finding **out, size_t *n, char *err,
                 size_t errlen)
{
	struct sq_store *q = st->impl;
	int64_t id;
	int rc;

	*out = NULL;
	*n = 0;
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

	if ((rc = sq_host_id(q, host, id)) != 0)
		return rc == 1 ? 1 : sq_fail(q, "reading host", err, errlen);
	return sq_begin(q, err, errlen);
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

static const struct store_tx sq_tx_ops = {
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

static int
sq_each_open_finding(struct store *st,
                     int (*fn)(void *arg, const char *host, const struct finding *f), void *arg,
                     char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_FINDINGS_ALL_OPEN];
	struct finding f;
	char host[MODEL_NAME_MAX];
	int rc, ret = 0;

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

static int
sq_housekeep(struct store *st, int64_t keep_samples, int64_t keep_rollups, size_t batch,
             size_t *deleted, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	size_t i;

	*deleted = 0;
	if (sq_housekeep_samples(q, keep_samples, batch, deleted, err, errlen) == -1)
		return -1;
	for (i = HK_ROLLUPS; i < HK_COUNT; i++) {
		sqlite3_stmt *x;
		/* the record of received sequences only needs to outlive resends */
		int64_t before = i == HK_RECEIVED ? keep_samples : keep_rollups;

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

/*
 * Calls fn for each host, sorted by name, with what the hosts query shows:
 * no snapshot is read.  The same rules as each_host() for fn.
 */
static int
sq_each_host_summary(struct store *st, int (*fn)(void *arg, const struct host_summary *h),
                     void *arg, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;
	sqlite3_stmt *x = q->stmt[SQ_EACH_SUMMARY];
	struct host_summary h;
	int rc, ret = 0;

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
static int
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
	if ((rc = sq_host_id(q, host, &host_id)) != 0)
		return rc == 1 ? 0 : sq_fail(q, "reading host", err, errlen);
	/*
	 * The whole days from t0 on from peaks; the hours of t0's own day from
	 * the rollups (24 rows at most); each max(...) pair is the uint64_t
	 * maximum of a column of bit patterns (see SQ_PEAK).
	 */
	day = sq_day_of(t0) == t0 ? t0 : sq_day_of(t0) + 86400;
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
static int
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

/*
 * Migration 2: the version 1 samples (one row per value, now samples_v1)
 * become hourly blocks, marked rolled (their rollups exist already).  Runs
 * inside the migration's transaction.
 */
static int
sq_migrate_samples_v2(struct sq_store *q, char *err, size_t errlen)
{
	sqlite3_stmt *x = NULL, *put = NULL;
	int64_t host = 0, hour = 0;
	int rc, have = 0;

	if (sqlite3_prepare_v2(q->db,
	                       "SELECT host_id, limit_name, t, used, lim FROM samples_v1"
	                       " ORDER BY host_id, t, limit_name",
	                       -1, &x, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	        q->db, "INSERT INTO samples (host_id, hour, rolled, data) VALUES (?1, ?2, 1, ?3)",
	        -1, &put, NULL) != SQLITE_OK)
		goto fail;
	for (;;) {
		char limit[MODEL_NAME_MAX];
		int64_t h = 0, t = 0;
		uint64_t used = 0, lim = 0;
		struct sb_value v;

		rc = sqlite3_step(x);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			goto fail;
		if (rc == SQLITE_ROW) {
			if (sq_col_i64(x, 0, &h) == -1 ||
			    sq_col_text(x, 1, limit, sizeof(limit)) == -1 ||
			    sq_col_i64(x, 2, &t) == -1 || sq_col_u64(x, 3, &used) == -1 ||
			    sq_col_u64(x, 4, &lim) == -1 || !limit_name_valid(limit))
				continue; /* a row version 1 would not have read either */
		}
		/* the block being built is complete: another host or hour, or the end */
		if (have && (rc == SQLITE_DONE || h != host || sb_hour_of(t) != hour)) {
			buf_reset(&q->enc);
			if (sb_encode(&q->blk, &q->enc) == -1 || sq_bind_i64(put, 1, host) == -1 ||
			    sq_bind_i64(put, 2, hour) == -1 ||
			    sqlite3_bind_blob64(put, 3, q->enc.data, q->enc.len, SQLITE_STATIC) !=
			        SQLITE_OK ||
			    sq_exec_stmt(put) != SQLITE_DONE)
				goto fail;
			sq_done(put);
			have = 0;
		}
		if (rc == SQLITE_DONE)
			break;
		if (!have) {
			host = h;
			hour = sb_hour_of(t);
			sb_reset(&q->blk, hour);
			have = 1;
		}
		v = (struct sb_value){limit, used, lim};
		if (sb_set(&q->blk, t, &v, 1) == -1) {
			snprintf(err, errlen, "%s: migrating samples: out of memory", q->path);
			goto failed;
		}
	}
	sqlite3_finalize(x);
	sqlite3_finalize(put);
	if (sqlite3_exec(q->db, "DROP TABLE samples_v1", NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(q, "migrating samples", err, errlen);
	return 0;
fail:
	sq_fail(q, "migrating samples", err, errlen);
failed:
	sqlite3_finalize(x);
	sqlite3_finalize(put);
	return -1;
}

static void
sq_free(struct sq_store *q)
{
	size_t i;

	for (i = 0; i < SQ_NSTMT; i++)
		sqlite3_finalize(q->stmt[i]); /* NULL is a no-op */
	sqlite3_close(q->db);                 /* NULL is a no-op */
	sb_free(&q->blk);
	buf_free(&q->enc);
	free(q->path);
	free(q);
}

static void
sq_close(struct store *st)
{
	sq_free(st->impl);
}

static const struct store_ops sq_ops = {
    .name = "sqlite",
    .put_snapshot = sq_put_snapshot,
    .put_snapshots = sq_put_snapshots,
    .put_history = sq_put_history,
    .each_host_summary = sq_each_host_summary,
    .peaks = sq_peaks,
    .daily_peaks = sq_daily_peaks,
    .each_host = sq_each_host,
    .get_host = sq_get_host,
    .series = sq_series,
    .rollups = sq_rollups,
    .open_findings = sq_open_findings,
    .sync_findings = store_core_sync_findings,
    .each_open_finding = sq_each_open_finding,
    .counts = store_core_counts,
    .tx = &sq_tx_ops,
    .housekeep = sq_housekeep,
    .close = sq_close,
};

/* ---- opening ---- */

/*
 * Creates path with mode 0600 when it does not exist, so that SQLite (which
 * gives its -wal and -shm files the database's mode) never creates a file
 * with a wider mode.  An existing file's mode is left as it is.
 */
static int
sq_create_file(const char *path, char *err, size_t errlen)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char p[PATH_MAX + 8];
	struct stat sb;
	const char *slash;
	size_t i;
	int fd, len;

	if (strlen(path) > PATH_MAX) {
		snprintf(err, errlen, "%.64s...: path too long", path);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd != -1)
		close(fd); /* created; a -wal or -shm left over is checked below */
	else if (errno == ENOENT || errno == ENOTDIR) {
		slash = strrchr(path, '/');
		if (slash == NULL) /* cannot happen: "." exists */
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else {
			len = slash == path ? 1 : (int)(slash - path);
			snprintf(err, errlen, "%s: directory %.*s does not exist", path, len, path);
		}
		return -1;
	} else if (errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/*
	 * An existing database, and its -wal and -shm files when there are
	 * any, must be regular files: a symbolic link planted there would make
	 * the aggregator (maybe root at this point) write wherever it points.
	 * sqlite3_open_v2(SQLITE_OPEN_NOFOLLOW) then refuses a link swapped in
	 * for the database meanwhile.
	 */
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		if (lstat(p, &sb) == -1) {
			if (i > 0 && errno == ENOENT)
				continue;
			snprintf(err, errlen, "%s: %s", p, strerror(errno));
			return -1;
		}
		if (S_ISLNK(sb.st_mode)) {
			snprintf(err, errlen, "%s: is a symbolic link; refusing to follow it", p);
			return -1;
		}
		if (!S_ISREG(sb.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", p);
			return -1;
		}
	}
	return 0;
}

static int
sq_exec(struct sq_store *q, const char *sql, const char *what, char *err, size_t errlen)
{
	if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(q, what, err, errlen);
	return 0;
}

static int
sq_pragmas(struct sq_store *q, char *err, size_t errlen)
{
	sqlite3_stmt *x;
	const unsigned char *mode;
	int wal;

	if (sqlite3_prepare_v2(q->db, "PRAGMA journal_mode = WAL", -1, &x, NULL) != SQLITE_OK)
		return sq_fail(q, "journal_mode", err, errlen);
	if (sqlite3_step(x) != SQLITE_ROW) {
		sq_fail(q, "journal_mode", err, errlen);
		sqlite3_finalize(x);
		return -1;
	}
	mode = sqlite3_column_text(x, 0);
	wal = mode != NULL && strcasecmp((const char *)mode, "wal") == 0;
	if (!wal)
		snprintf(err, errlen, "%s: cannot use WAL journal mode (got %.16s)", q->path,
		         mode != NULL ? (const char *)mode : "nothing");
	sqlite3_finalize(x);
	if (!wal)
		return -1;

	/*
	 * synchronous=FULL: an ack follows the commit, and the agent drops a
	 * snapshot from its spool once acknowledged, so a commit must survive a
	 * power loss.  Durability matters more than write speed here.
	 */
	if (sq_exec(q, "PRAGMA synchronous = FULL", "synchronous", err, errlen) == -1 ||
	    sq_exec(q, "PRAGMA foreign_keys = ON", "foreign_keys", err, errlen) == -1 ||
	    sq_exec(q, "PRAGMA busy_timeout = " SQ_BUSY_TIMEOUT, "busy_timeout", err, errlen) == -1)
		return -1;
	/*
	 * Speed only, durability untouched: every snapshot rewrites its host's
	 * row (its latest snapshot), so the working set is a page or so per
	 * host; a page cache of SQ_CACHE_KIB keeps a fleet's worth without
	 * re-reading them for each batch, and checkpointing every
	 * SQ_CHECKPOINT_PAGES rather than 1,000 copies each hot page back once
	 * for many of its rewrites.
	 */
	if (sq_exec(q, "PRAGMA cache_size = -" SQ_CACHE_KIB, "cache_size", err, errlen) == -1 ||
	    sq_exec(q, "PRAGMA wal_autocheckpoint = " SQ_CHECKPOINT_PAGES, "wal_autocheckpoint",
	            err, errlen) == -1 ||
	    sq_exec(q, "PRAGMA journal_size_limit = " SQ_WAL_LIMIT, "journal_size_limit", err,
	            errlen) == -1)
		return -1;
	return 0;
}

/*
 * PRAGMA quick_check at start: damaged pages found now refuse the start
 * with the first problems named, rather than turn up later as hosts whose
 * snapshot cannot be read, or as wrong answers.  It reads every page once
 * (docs/DELIVERY.md has its cost: 1.8 s per GB cached here) but checks
 * no index against its table, which integrity_check would.
 */
static int
sq_quick_check(struct sq_store *q, char *err, size_t errlen)
{
	sqlite3_stmt *x;
	const unsigned char *t;
	int rc, ok;

	if (sqlite3_prepare_v2(q->db, "PRAGMA quick_check(3)", -1, &x, NULL) != SQLITE_OK)
		return sq_fail(q, "integrity check", err, errlen);
	rc = sqlite3_step(x);
	if (rc != SQLITE_ROW) {
		sq_fail(q, "integrity check", err, errlen);
		sqlite3_finalize(x);
		return -1;
	}
	t = sqlite3_column_text(x, 0);
	ok = t != NULL && strcmp((const char *)t, "ok") == 0;
	if (!ok) {
		char first[201];

		/* copied: the next step frees t */
		ifl_strlcpy(first, t != NULL ? (const char *)t : "no answer", sizeof(first));
		snprintf(err, errlen,
		         "%s: the database is damaged (PRAGMA quick_check: %s%s); not starting: "
		         "restore a backup, or recover what is left with sqlite3's .recover "
		         "(docs/DELIVERY.md)",
		         q->path, first, sqlite3_step(x) == SQLITE_ROW ? "; and more" : "");
	}
	sqlite3_finalize(x);
	return ok ? 0 : -1;
}

/*
 * Reads meta.schema_version and applies the pending migrations, in one
 * transaction.  A database written by a newer aggregator is refused
 * untouched.
 */
static int
sq_schema_setup(struct sq_store *q, char *err, size_t errlen)
{
	sqlite3_stmt *x = NULL;
	const char *errstr;
	char text[32], what[64];
	int64_t version = 0;
	size_t i;
	int rc;

	if (sq_exec(q, "BEGIN IMMEDIATE", "begin", err, errlen) == -1)
		return -1;
	if (sq_exec(q,
	            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
	            "creating meta", err, errlen) == -1)
		goto fail;
	if (sqlite3_prepare_v2(q->db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &x,
	                       NULL) != SQLITE_OK) {
		sq_fail(q, "reading schema version", err, errlen);
		goto fail;
	}
	rc = sqlite3_step(x);
	if (rc == SQLITE_ROW) {
		if (sq_col_text(x, 0, text, sizeof(text)) == -1 ||
		    parse_i64(text, 1, INT64_MAX, &version, &errstr) == -1) {
			snprintf(err, errlen, "%s: unreadable database schema version", q->path);
			goto fail;
		}
	} else if (rc != SQLITE_DONE) {
		sq_fail(q, "reading schema version", err, errlen);
		goto fail;
	}
	sqlite3_finalize(x);
	x = NULL;
	if (version > SQ_SCHEMA_VERSION) {
		snprintf(err, errlen,
		         "%s: database schema version %" PRId64
		         " is newer than this aggregator (%d)",
		         q->path, version, SQ_SCHEMA_VERSION);
		goto fail;
	}
	if (version == SQ_SCHEMA_VERSION)
		goto commit; /* up to date: nothing written */
	for (i = 0; i < NELEM(sq_migrations); i++) {
		if (sq_migrations[i].version <= version)
			continue;
		snprintf(what, sizeof(what), "migrating the schema to version %d",
		         sq_migrations[i].version);
		if (sq_exec(q, sq_migrations[i].sql, what, err, errlen) == -1)
			goto fail;
		if (sq_migrations[i].fn != NULL && sq_migrations[i].fn(q, err, errlen) == -1)
			goto fail;
		version = sq_migrations[i].version;
	}
	if (sqlite3_prepare_v2(q->db,
	                       "INSERT OR REPLACE INTO meta (key, value)"
	                       " VALUES ('schema_version', ?1)",
	                       -1, &x, NULL) != SQLITE_OK) {
		sq_fail(q, "writing schema version", err, errlen);
		goto fail;
	}
	snprintf(text, sizeof(text), "%" PRId64, version);
	if (sqlite3_bind_text(x, 1, text, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
	    sqlite3_step(x) != SQLITE_DONE) {
		sq_fail(q, "writing schema version", err, errlen);
		goto fail;
	}
	sqlite3_finalize(x);
	x = NULL;
commit:
	if (sq_exec(q, "COMMIT", "commit", err, errlen) == -1)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(x);
	if (!sqlite3_get_autocommit(q->db))
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/*
 * Opens the connection and prepares the statements; at the first open
 * (first) also checks the database and brings its schema up to date.
 */
static int
sq_connect(struct sq_store *q, int first, char *err, size_t errlen)
{
	size_t i;

	/* On failure sqlite3_open_v2 may still allocate a handle: sq_free closes it. */
	if (sqlite3_open_v2(q->path, &q->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
	                        SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW,
	                    NULL) != SQLITE_OK) {
		if (q->db == NULL)
			snprintf(err, errlen, "%s: cannot open database: out of memory", q->path);
		else
			sq_fail(q, "cannot open database", err, errlen);
		return -1;
	}
	if (sq_pragmas(q, err, errlen) == -1)
		return -1;
	if (first &&
	    (sq_quick_check(q, err, errlen) == -1 || sq_schema_setup(q, err, errlen) == -1))
		return -1;
	for (i = 0; i < SQ_NSTMT; i++) {
		if (sqlite3_prepare_v3(q->db, sq_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &q->stmt[i],
		                       NULL) != SQLITE_OK) {
			sq_fail(q, "preparing statements", err, errlen);
			return -1;
		}
	}
	q->wal_known = 0;
	if (q->wal_tight) { /* reopened after a full disk: keep the WAL small */
		sqlite3_wal_autocheckpoint(q->db, SQ_TIGHT_PAGES);
		sqlite3_exec(q->db, "PRAGMA journal_size_limit = " SQ_TIGHT_LIMIT, NULL, NULL,
		             NULL);
	}
	return 0;
}

struct store *
store_open_sqlite(const char *path, char *err, size_t errlen)
{
	struct sq_store *q;

	if (path == NULL || path[0] == '\0') {
		snprintf(err, errlen, "sqlite: empty database path");
		return NULL;
	}
	if (sq_create_file(path, err, errlen) == -1)
		return NULL;
	if ((q = calloc(1, sizeof(*q))) == NULL || (q->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(q);
		return NULL;
	}
	q->pub.ops = &sq_ops;
	q->pub.impl = q;
	sb_init(&q->blk);
	buf_init(&q->enc, SB_MAX_BYTES);

	if (sq_connect(q, 1, err, errlen) == -1)
		goto fail;
	return &q->pub;
fail:
	sq_free(q);
	return NULL;
}
