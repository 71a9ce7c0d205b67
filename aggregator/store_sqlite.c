/*
 * store_sqlite.c: the SQLite backend of the aggregator's store (store.h),
 * and its opening: the database file's creation and checks, the pragmas,
 * the integrity check at start, the schema and its migrations, the
 * prepared statements, and the table of operations.
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
 *
 * The backend's other rooms share store_sqlite_local.h:
 * store_sqlite_stmt.c (binding and checked reading of values, and the
 * write transactions with the checks before each), store_sqlite_put.c
 * (the write path: snapshots, sample blocks, rollups, history, and
 * housekeeping), store_sqlite_read.c (the readers: hosts, series, rollups,
 * peaks) and store_sqlite_findings.c (findings and count runs: the store
 * core's per-host transactions).
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

#include "model.h"
#include "store.h"
#include "store_blocks.h"
#include "store_core.h"
#include "store_sqlite_local.h"
#include "util.h"

#define SQ_BUSY_TIMEOUT     "5000"  /* ms */
#define SQ_CACHE_KIB        "65536" /* the page cache: 64 MiB */
#define SQ_CHECKPOINT_PAGES "8192"  /* WAL pages (32 MiB) between checkpoints */
/* a WAL grown past this by a large batch is cut back to it when it restarts */
#define SQ_WAL_LIMIT "33554432" /* bytes: SQ_CHECKPOINT_PAGES of 4 KiB */

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

/* The columns SQ_EACH_HOST and SQ_GET_HOST return, decoded by sq_row_host(). */
#define SQ_HOST_COLUMNS STORE_HOST_COLUMNS

/* The columns of a finding, decoded by sq_row_finding(). */
#define SQ_FINDING_COLUMNS STORE_FINDING_COLUMNS("")

static const char *const sq_sql[SQ_NSTMT] = {
    [SQ_BEGIN] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
    /* inside a group (sq_group_begin): one host's transaction */
    [SQ_SAVEPOINT] = "SAVEPOINT host_tx",
    [SQ_RELEASE] = "RELEASE host_tx",
    [SQ_ROLLBACK_TO] = "ROLLBACK TO host_tx",
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
    [SQ_EACH_HOST] = "SELECT " SQ_HOST_COLUMNS " FROM hosts WHERE name > ?1 ORDER BY name"
                     " LIMIT ?2",
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
                        " WHERE name > ?1 ORDER BY name LIMIT ?2",
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
    .group_begin = sq_group_begin,
    .group_end = sq_group_end,
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
int
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
