/*
 * store_pg.c: the PostgreSQL backend of the aggregator's store (store.h),
 * for several aggregators sharing one database (docs/SCALE-OUT.md).
 *
 * Same semantics as store_sqlite.c, the reference backend:
 *
 * - Every write is one BEGIN ... COMMIT transaction and put_snapshot()
 *   returns 0 only after the COMMIT succeeded, so the caller acknowledges
 *   exactly what is in the database.
 * - put_snapshot() starts with INSERT ... ON CONFLICT (name) DO UPDATE on the
 *   host row: that both creates the row race-free and locks it until the
 *   commit, so everything written about one host (its sequence numbers,
 *   latest state, rollups, findings) is written by one aggregator at a time.
 *   A (host, sequence) pair seen before, by this aggregator or another, is
 *   recognised by INSERT ... ON CONFLICT DO NOTHING on received's primary key
 *   (host, spool id, sequence).
 * - sync_findings() locks the same host row (SELECT ... FOR UPDATE) before it
 *   reads the open findings, so two aggregators evaluating one host (an agent
 *   failing over in the middle of its stream) serialize.
 * - housekeep() runs only in the aggregator that gets the transaction-level
 *   advisory lock PG_HOUSEKEEP_LOCK; the others skip their turn.
 *
 * One connection per aggregator, used from its single event-loop thread.
 * Statements are prepared at connect time.  A connection found broken at the
 * start of an operation is reset once (PQreset, then the session settings and
 * statements again); if that fails, or the connection breaks in the middle
 * of an operation, the operation fails with the reason and nothing was
 * acknowledged: the agent sends the snapshot again.
 *
 * Everything read back is checked as if it came from the network: rows are
 * fetched in binary format and each column's type and length are checked
 * before it is decoded; text longer than the fixed field it is copied into
 * is an error, never a truncation; snapshots are bounded by PROTO_MAX_FRAME.
 * Listings (each_host, each_open_finding) walk a cursor a few rows at a
 * time, so memory does not grow with the fleet.
 *
 * The backend's rooms (store_pg_local.h): this file holds the schema and its
 * migrations, the prepared statements, the connection (session, reconnect,
 * running statements, transactions) and opening; store_pg_codec.c the values
 * going in and out; store_pg_put.c the write path; store_pg_read.c the
 * readers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"

#ifdef IPCFLEET_HAVE_LIBPQ

#include <libpq-fe.h>

#include "store_pg_local.h"

#define PG_SCHEMA_VERSION 4
/* pg_advisory_xact_lock keys: "ipcf" then a number. */
#define PG_MIGRATE_LOCK   "7596270883479289857" /* 0x6970636600000001 */
#define PG_HOUSEKEEP_LOCK "7596270883479289858" /* 0x6970636600000002 */

/*
 * The schema, as migrations.  Each entry brings the database from version
 * v - 1 to v; all pending ones run in one transaction at start, under an
 * advisory lock so that two aggregators starting together do not race, and
 * meta.schema_version records the result.  A database whose version is newer
 * than PG_SCHEMA_VERSION is refused untouched.  Never edit a released entry:
 * append a new one.
 *
 * As in store_sqlite.c, uint64_t values (sequence numbers, usage, limits,
 * counts) are stored as their int64_t bit pattern in BIGINT columns.  Where
 * SQL must compare them as unsigned, both sides are XORed with the sign bit
 * (x # MIN_BIGINT): that maps unsigned order onto signed order.
 */
static const char pg_schema_v1[] =
    "CREATE TABLE hosts ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " os TEXT NOT NULL,"
    " os_release TEXT NOT NULL,"
    " agent TEXT NOT NULL,"
    " page_size BIGINT NOT NULL,"
    " boot_time BIGINT NOT NULL,"
    " interval BIGINT NOT NULL DEFAULT 0,"
    " last_seq BIGINT,"
    " last_taken BIGINT,"
    " last_received BIGINT,"
    " snapshot BYTEA);"
    "CREATE TABLE received ("
    " host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " seq BIGINT NOT NULL,"
    " taken BIGINT NOT NULL,"
    " received BIGINT NOT NULL,"
    " PRIMARY KEY (host_id, seq));"
    "CREATE INDEX received_received ON received (received);"
    "CREATE TABLE samples ("
    " host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " limit_name TEXT NOT NULL,"
    " t BIGINT NOT NULL,"
    " used BIGINT NOT NULL,"
    " lim BIGINT NOT NULL,"
    " PRIMARY KEY (host_id, limit_name, t));"
    "CREATE INDEX samples_t ON samples (t);"
    "CREATE TABLE rollups ("
    " host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " limit_name TEXT NOT NULL,"
    " hour BIGINT NOT NULL,"
    " mn BIGINT NOT NULL,"
    " mx BIGINT NOT NULL,"
    " mean DOUBLE PRECISION NOT NULL,"
    " cnt BIGINT NOT NULL,"
    " lim BIGINT NOT NULL,"
    " PRIMARY KEY (host_id, limit_name, hour));"
    "CREATE INDEX rollups_hour ON rollups (hour);"
    "CREATE TABLE findings ("
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " host_id BIGINT NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,"
    " fkey TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " severity BIGINT NOT NULL,"
    " limit_name TEXT NOT NULL,"
    " scope TEXT NOT NULL,"
    " message TEXT NOT NULL,"
    " has_object BIGINT NOT NULL,"
    " otype BIGINT NOT NULL,"
    " oid BIGINT NOT NULL,"
    " age BIGINT NOT NULL,"
    " uid BIGINT NOT NULL,"
    " owner TEXT NOT NULL,"
    " command TEXT NOT NULL,"
    " has_headroom BIGINT NOT NULL,"
    " held BIGINT NOT NULL,"
    " free BIGINT NOT NULL,"
    " safe_limit BIGINT NOT NULL,"
    " exhaust_at BIGINT NOT NULL,"
    " opened BIGINT NOT NULL,"
    " updated BIGINT NOT NULL,"
    " closed BIGINT);"
    "CREATE INDEX findings_open ON findings (host_id) WHERE closed IS NULL;"
    "CREATE INDEX findings_closed ON findings (closed) WHERE closed IS NOT NULL;";

/*
 * Version 2: the usage of each host's latest snapshot (sb_usage_encode(), as
 * SQLite keeps it), moved forward with the snapshot, so that listing hosts
 * (the hosts query, and the stale check every tick) reads neither the
 * snapshots nor decodes them.  NULL until a host's next snapshot.
 */
static const char pg_schema_v2[] = "ALTER TABLE hosts ADD COLUMN usage BYTEA;";

/*
 * Version 3: sequence numbers count within one spool of an agent (a lost
 * spool starts again at 1), so received is keyed by (host, spool id, seq);
 * every existing row belongs to the legacy id "".  digest: the payload's
 * SHA-256, to notice a "duplicate" whose content differs (NULL before).
 * hosts.last_spool: the spool that last_seq counts in.
 */
static const char pg_schema_v3[] =
    "ALTER TABLE received ADD COLUMN spool TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE received ADD COLUMN digest BYTEA;"
    "ALTER TABLE received DROP CONSTRAINT received_pkey;"
    "ALTER TABLE received ADD PRIMARY KEY (host_id, spool, seq);"
    "ALTER TABLE hosts ADD COLUMN last_spool TEXT NOT NULL DEFAULT '';";

/*
 * Version 4: what the leak and queue_fill rules follow (issue 14): one row
 * per host, its count runs (store.h) as one blob (sb_counts_encode(), as
 * SQLite keeps them), rewritten by each analysis under the host row's lock.
 */
static const char pg_schema_v4[] =
    "CREATE TABLE counts ("
    " host_id BIGINT PRIMARY KEY REFERENCES hosts(id) ON DELETE CASCADE,"
    " data BYTEA NOT NULL);";

static const struct pg_migration {
	int version;
	const char *sql;
} pg_migrations[] = {
    {1, pg_schema_v1},
    {2, pg_schema_v2},
    {3, pg_schema_v3},
    {4, pg_schema_v4},
};

/* The sign bit, to compare uint64_t bit patterns as unsigned in SQL. */
#define PG_MIN "(-9223372036854775808)::bigint"
/* 2^64: added to a negative bigint holding a uint64_t bit pattern, as a double. */
#define PG_2_64 "18446744073709551616::double precision"

/*
 * In the host upsert: whether the snapshot is newer than the host's latest.
 * Within one spool its sequence is compared, as unsigned; across spools
 * (the agent lost its spool, or was upgraded) sequences mean nothing and the
 * later taken wins, unless the snapshot is a duplicate (it was stored
 * before: received is read before this statement's companion writes it).
 */
#define PG_LATEST_NEWER                                                                            \
	"(h.last_seq IS NULL OR (h.last_spool = excluded.last_spool AND (h.last_seq # " PG_MIN     \
	") < (excluded.last_seq # " PG_MIN ")) OR (h.last_spool <> excluded.last_spool AND"        \
	" excluded.last_taken >= h.last_taken AND NOT EXISTS (SELECT 1 FROM received AS r"         \
	" WHERE r.host_id = h.id AND r.spool = excluded.last_spool"                                \
	" AND r.seq = excluded.last_seq)))"

/* In the host upsert: column c takes the new value when the snapshot is newer. */
#define PG_LATEST_SET(c)                                                                           \
	" " c " = CASE WHEN " PG_LATEST_NEWER " THEN excluded." c " ELSE h." c " END"

/* PG_UPSERT_HOST (see there); the latest state's columns move forward together. */
#define PG_UPSERT_HOST_SQL                                                                                                                            \
	"INSERT INTO hosts AS h (name, os, os_release, agent, page_size, boot_time, interval,"                                                        \
	" last_seq, last_taken, last_received, snapshot, usage, last_spool)"                                                                          \
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"                                                                            \
	" ON CONFLICT (name) DO UPDATE SET os = excluded.os, os_release = excluded.os_release,"                                                       \
	" agent = excluded.agent, page_size = excluded.page_size,"                                                                                    \
	" boot_time = excluded.boot_time, interval = excluded.interval," PG_LATEST_SET("last_seq") "," PG_LATEST_SET("last_taken") "," PG_LATEST_SET( \
	    "last_received") "," PG_LATEST_SET("snapshot") "," PG_LATEST_SET("usage") "," PG_LATEST_SET("last_spool") " RETURNING id"

static const char *const pg_sql[PG_NSTMT] = {
    /*
     * A snapshot is two statements.  This one creates or refreshes the host
     * (locking its row until the commit) and moves its latest state forward:
     * the snapshot replaces the stored one only when its sequence is newer,
     * compared as unsigned.  A (host, seq) received before is never newer
     * than last_seq (the latest state only moves forward), so a duplicate
     * changes nothing here but the host's info.
     */
    [PG_UPSERT_HOST] = PG_UPSERT_HOST_SQL,
    /*
     * The other records the sequence in `received` and, only when that row
     * is new (not seen before, here or by another aggregator), the
     * snapshot's samples (replacing one at the same time, as SQLite's INSERT
     * OR REPLACE does) and their hourly rollups: min and max compared as
     * unsigned, the mean kept incrementally (mean += (used - mean) /
     * (count + 1), in double precision; SQLite computes it from each
     * block's sum and count, equal within rounding).  A sample that replaces one (u.oused: the
     * value stored at that time, read before this statement's writes) leaves the count as it is
     * (rr): when the rollup counts exactly the hour's stored samples, it is
     * computed again from them with the new value in place of the old, as
     * SQLite does from its block; otherwise (samples of the hour deleted
     * by housekeeping) the mean moves by the difference and min and max can
     * only widen.  $1 is the host's name (the statements of a batch are
     * pipelined: the upsert's id is not known when this one is sent), $5
     * the hour; $6..$9 the limits' names, used, limit and used as a
     * double, as arrays; $10 the spool id, $11 the payload's digest.  Its
     * one row: 1 when stored, 0 for a duplicate; then 1 when that duplicate's
     * stored digest differs (read before this statement's own insert).
     */
    [PG_PUT_SAMPLES] =
        "WITH r AS (INSERT INTO received (host_id, seq, taken, received, spool,"
        " digest) SELECT id, $2, $3, $4, $10, $11 FROM hosts WHERE name = $1"
        " ON CONFLICT DO NOTHING RETURNING host_id),"
        " u AS (SELECT r.host_id, x.name, x.used, x.lim, x.dused,"
        " (SELECT o.used FROM samples AS o WHERE o.host_id = r.host_id"
        " AND o.limit_name = x.name AND o.t = $3) AS oused FROM r,"
        " unnest($6::text[], $7::bigint[], $8::bigint[], $9::float8[])"
        " AS x(name, used, lim, dused)),"
        " s AS (INSERT INTO samples (host_id, limit_name, t, used, lim)"
        " SELECT host_id, name, $3, used, lim FROM u"
        " ON CONFLICT (host_id, limit_name, t)"
        " DO UPDATE SET used = excluded.used, lim = excluded.lim),"
        " ro AS (INSERT INTO rollups AS r (host_id, limit_name, hour, mn, mx,"
        " mean, cnt, lim) SELECT host_id, name, $5, used, used, dused, 1, lim"
        " FROM u WHERE u.oused IS NULL"
        " ON CONFLICT (host_id, limit_name, hour) DO UPDATE SET"
        " mn = CASE WHEN (excluded.mn # " PG_MIN ") < (r.mn # " PG_MIN ")"
        " THEN excluded.mn ELSE r.mn END,"
        " mx = CASE WHEN (excluded.mx # " PG_MIN ") > (r.mx # " PG_MIN ")"
        " THEN excluded.mx ELSE r.mx END,"
        " mean = r.mean + (excluded.mean - r.mean) / (r.cnt + 1)::double precision,"
        " cnt = r.cnt + 1, lim = excluded.lim),"
        " rr AS (UPDATE rollups AS q SET"
        " mn = CASE WHEN h.c + 1 = q.cnt THEN least(h.m0, u.used # " PG_MIN ") # " PG_MIN
        " WHEN (u.used # " PG_MIN ") < (q.mn # " PG_MIN ") THEN u.used ELSE q.mn END,"
        " mx = CASE WHEN h.c + 1 = q.cnt THEN greatest(h.m1, u.used # " PG_MIN ") # " PG_MIN
        " WHEN (u.used # " PG_MIN ") > (q.mx # " PG_MIN ") THEN u.used ELSE q.mx END,"
        " mean = CASE WHEN h.c + 1 = q.cnt THEN (coalesce(h.sm, 0) + u.dused) / (h.c + 1)"
        " ELSE q.mean + (u.dused - u.oused::double precision"
        " - CASE WHEN u.oused < 0 THEN " PG_2_64 " ELSE 0 END) / q.cnt END,"
        " lim = u.lim FROM u, LATERAL (SELECT count(*) AS c,"
        " min(x.used # " PG_MIN ") AS m0, max(x.used # " PG_MIN ") AS m1,"
        " sum(x.used::double precision + CASE WHEN x.used < 0 THEN " PG_2_64 " ELSE 0 END)"
        " AS sm FROM samples AS x WHERE x.host_id = u.host_id AND x.limit_name = u.name"
        " AND x.t >= $5 AND x.t < $5 + 3600 AND x.t <> $3) AS h"
        " WHERE u.oused IS NOT NULL AND q.host_id = u.host_id"
        " AND q.limit_name = u.name AND q.hour = $5)"
        " SELECT count(*), coalesce((SELECT CASE WHEN o.digest IS NOT NULL"
        " AND o.digest <> $11 THEN 1 ELSE 0 END::int8 FROM received AS o JOIN hosts AS h"
        " ON h.id = o.host_id WHERE h.name = $1 AND o.spool = $10"
        " AND o.seq = $2), 0) FROM r",
    [PG_GET_HOST] = "SELECT " PG_HOST_COLUMNS " FROM hosts WHERE name = $1",
    [PG_SERIES] = "SELECT s.t, s.used, s.lim FROM samples AS s JOIN hosts AS h"
                  " ON h.id = s.host_id WHERE h.name = $1 AND s.limit_name = $2 AND s.t >= $3"
                  " ORDER BY s.t LIMIT $4",
    [PG_ROLLUPS] = "SELECT r.hour, r.mn, r.mx, r.mean, r.cnt, r.lim FROM rollups AS r"
                   " JOIN hosts AS h ON h.id = r.host_id"
                   " WHERE h.name = $1 AND r.limit_name = $2 AND r.hour >= $3"
                   " ORDER BY r.hour LIMIT $4",
    [PG_HOST_LOCK] = "SELECT id FROM hosts WHERE name = $1 FOR UPDATE",
    [PG_FINDINGS_OPEN] = "SELECT " PG_FINDING_COLUMNS ", f.id FROM findings AS f"
                         " WHERE f.host_id = $1 AND f.closed IS NULL ORDER BY f.id LIMIT $2",
    [PG_HOST_FINDINGS_OPEN] = "SELECT " PG_FINDING_COLUMNS " FROM findings AS f"
                              " JOIN hosts AS h ON h.id = f.host_id"
                              " WHERE h.name = $1 AND f.closed IS NULL ORDER BY f.id LIMIT $2",
    [PG_FINDING_INSERT] = "INSERT INTO findings (host_id, fkey, kind, severity, limit_name, scope,"
                          " message, has_object, otype, oid, age, uid, owner, command,"
                          " has_headroom, held, free, safe_limit, exhaust_at, opened, updated)"
                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
                          " $15, $16, $17, $18, $19, $20, $20)",
    [PG_FINDING_UPDATE] = "UPDATE findings SET severity = $3, message = $4, age = $5,"
                          " owner = $6, command = $7, held = $8, free = $9,"
                          " safe_limit = $10, exhaust_at = $11, updated = $12"
                          " WHERE id = $13 AND host_id = $1 AND fkey = $2 AND closed IS NULL",
    /*
     * By the row's id (read with the open findings): by host and fkey, each
     * statement would read every open finding of the host (quadratic).
     */
    [PG_FINDING_CLOSE] = "UPDATE findings SET closed = $3, updated = $3"
                         " WHERE id = $4 AND host_id = $1 AND fkey = $2 AND closed IS NULL",
    [PG_HOUSEKEEP_TRY] = "SELECT pg_try_advisory_xact_lock(" PG_HOUSEKEEP_LOCK ")",
    [PG_DELETE_SAMPLES] = "DELETE FROM samples WHERE (host_id, limit_name, t) IN"
                          " (SELECT host_id, limit_name, t FROM samples WHERE t < $1 LIMIT $2)",
    [PG_DELETE_ROLLUPS] = "DELETE FROM rollups WHERE (host_id, limit_name, hour) IN"
                          " (SELECT host_id, limit_name, hour FROM rollups WHERE hour < $1"
                          " LIMIT $2)",
    [PG_DELETE_FINDINGS] = "DELETE FROM findings WHERE id IN"
                           " (SELECT id FROM findings WHERE closed < $1 LIMIT $2)",
    [PG_DELETE_RECEIVED] = "DELETE FROM received WHERE (host_id, spool, seq) IN"
                           " (SELECT host_id, spool, seq FROM received WHERE received < $1"
                           " LIMIT $2)",
    [PG_DELETE_FUTURE_SAMPLES] = "DELETE FROM samples WHERE (host_id, limit_name, t) IN"
                                 " (SELECT host_id, limit_name, t FROM samples WHERE t > $1"
                                 " LIMIT $2)",
    [PG_DELETE_FUTURE_ROLLUPS] = "DELETE FROM rollups WHERE (host_id, limit_name, hour) IN"
                                 " (SELECT host_id, limit_name, hour FROM rollups WHERE hour > $1"
                                 " LIMIT $2)",
    [PG_COUNTS_GET] = "SELECT data FROM counts WHERE host_id = $1",
    [PG_COUNTS_PUT] = "INSERT INTO counts (host_id, data) VALUES ($1, $2)"
                      " ON CONFLICT (host_id) DO UPDATE SET data = excluded.data",
};

/*
 * Session settings, after every (re)connection.  A stuck peer must not hold
 * host rows forever, nor a stuck database the event loop: statements,
 * lock waits and idle transactions are bounded.  Our transactions never
 * wait on anything but the database, so one idle for 10 s belongs to an
 * aggregator that is stopped (SIGSTOP, a paused VM, a partition): the
 * server ends its session, releasing its host rows for the others.  The
 * batch path waits PG_PUT_LOCK_WAIT at most (pg_put_snapshots).
 */
static const char pg_session_sql[] = "SET client_min_messages = warning;"
                                     "SET statement_timeout = '60s';"
                                     "SET lock_timeout = '20s';"
                                     "SET idle_in_transaction_session_timeout = '10s'";

/* ---- running statements ---- */

/* Copies msg into out on one line: newlines become "; ", the last is dropped. */
static void
pg_flatten(const char *msg, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (outlen == 0)
		return;
	for (i = 0; msg != NULL && msg[i] != '\0' && o + 3 < outlen; i++) {
		if (msg[i] == '\n' || msg[i] == '\r') {
			while (msg[i + 1] == '\n' || msg[i + 1] == '\r')
				i++;
			if (msg[i + 1] == '\0')
				break;
			out[o++] = ';';
			out[o++] = ' ';
			while (msg[i + 1] == ' ' || msg[i + 1] == '\t')
				i++; /* libpq indents its continuation lines */
			continue;
		}
		out[o++] = msg[i] == '\t' ? ' ' : msg[i];
	}
	out[o] = '\0';
}

/* "LABEL: what: the server's message".  r may be NULL.  Returns -1. */
int
pg_fail(struct pg_store *q, const char *what, const PGresult *r, char *err, size_t errlen)
{
	const char *msg = NULL;
	char flat[512];

	if (r != NULL) {
		msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
		if (msg == NULL || msg[0] == '\0')
			msg = PQresultErrorMessage(r);
	}
	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(q->conn);
	pg_flatten(msg, flat, sizeof(flat));
	if (flat[0] == '\0')
		ifl_strlcpy(flat, "unknown error", sizeof(flat));
	if (PQstatus(q->conn) == CONNECTION_BAD)
		snprintf(err, errlen, "%s: %s: connection to the database lost: %s", q->label, what,
		         flat);
	else
		snprintf(err, errlen, "%s: %s: %s", q->label, what, flat);
	return -1;
}

static void
pg_quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs ("already exists, skipping") are not news */
}

static void
pg_make_label(struct pg_store *q)
{
	const char *user = PQuser(q->conn), *host = PQhost(q->conn), *port = PQport(q->conn),
	           *db = PQdb(q->conn);

	snprintf(q->label, sizeof(q->label), "postgresql://%s@%s:%s/%s", user ? user : "",
	         host ? host : "", port ? port : "", db ? db : "");
}

/*
 * Session settings, and the prepared statements when prepare is set (not
 * before the migrations created the tables), after every (re)connection.
 * q->ready says whether everything is in place.
 */
static int
pg_session_setup(struct pg_store *q, int prepare, char *err, size_t errlen)
{
	PGresult *r;
	char name[32];
	int i;

	q->ready = 0;
	PQsetNoticeProcessor(q->conn, pg_quiet_notice, NULL);
	if (PQsetClientEncoding(q->conn, "UTF8") != 0)
		return pg_fail(q, "setting client_encoding", NULL, err, errlen);
	r = PQexec(q->conn, pg_session_sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(q, "session settings", r, err, errlen);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	for (i = 0; prepare && i < PG_NSTMT; i++) {
		snprintf(name, sizeof(name), "ipcfleet_%d", i);
		r = PQprepare(q->conn, name, pg_sql[i], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			pg_fail(q, "preparing statements", r, err, errlen);
			PQclear(r);
			return -1;
		}
		PQclear(r);
	}
	q->ready = prepare;
	return 0;
}

/* PQreset and the session again.  Called at most once per operation. */
int
pg_reconnect(struct pg_store *q, char *err, size_t errlen)
{
	uint64_t now = now_mono_ms();
	char flat[512];

	if (now < q->retry_at) {
		snprintf(
		    err, errlen,
		    "%s: connection to the database lost; next reconnection attempt in %llu ms",
		    q->label, (unsigned long long)(q->retry_at - now));
		return -1;
	}
	q->ready = 0;
	PQreset(q->conn);
	if (PQstatus(q->conn) != CONNECTION_OK) {
		q->backoff = q->backoff == 0 ? 1000 : q->backoff * 2;
		if (q->backoff > PG_RETRY_MAX_MS)
			q->backoff = PG_RETRY_MAX_MS;
		q->retry_at = now_mono_ms() + q->backoff;
		pg_flatten(PQerrorMessage(q->conn), flat, sizeof(flat));
		snprintf(err, errlen,
		         "%s: connection to the database lost, reconnecting failed: %s", q->label,
		         flat);
		return -1;
	}
	q->backoff = 0;
	q->retry_at = 0;
	return pg_session_setup(q, 1, err, errlen);
}

/*
 * Runs prepared statement id (sql NULL) or the text sql (no parameters),
 * results in binary format.  first: this statement opens the operation
 * (nothing was done yet and no transaction is open), so a broken connection
 * is reset once and the statement run again; later statements of an
 * operation just fail.  Returns the result when its status is want, else
 * NULL with err.
 */
PGresult *
pg_exec(struct pg_store *q, int id, const char *sql, const struct pg_params *p, ExecStatusType want,
        int first, const char *what, char *err, size_t errlen)
{
	PGresult *r;
	char name[32];
	int attempt;

	if (p != NULL && p->bad) {
		snprintf(err, errlen, "%s: %s: a value is too long or not text", q->label, what);
		return NULL;
	}
	for (attempt = 0;; attempt++) {
		if (PQstatus(q->conn) == CONNECTION_OK && !q->ready) {
			/* reconnected, but the session setup failed then: again */
			if (!first || attempt > 0) {
				snprintf(err, errlen, "%s: %s: the session is not set up", q->label,
				         what);
				return NULL;
			}
			if (pg_session_setup(q, 1, err, errlen) == -1)
				return NULL;
		}
		if (PQstatus(q->conn) != CONNECTION_OK) {
			if (!first || attempt > 0) {
				pg_fail(q, what, NULL, err, errlen);
				return NULL;
			}
			if (pg_reconnect(q, err, errlen) == -1)
				return NULL;
			attempt++; /* the one reset of this operation is spent */
		}
		if (sql != NULL) /* the parameters' types from the statement */
			r = PQexecParams(q->conn, sql, p != NULL ? p->n : 0, NULL,
			                 p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
			                 p != NULL ? p->fmt : NULL, 1);
		else {
			snprintf(name, sizeof(name), "ipcfleet_%d", id);
			r = PQexecPrepared(q->conn, name, p != NULL ? p->n : 0,
			                   p != NULL ? p->v : NULL, p != NULL ? p->len : NULL,
			                   p != NULL ? p->fmt : NULL, 1);
		}
		if (PQresultStatus(r) == want)
			return r;
		if (first && attempt == 0 && PQstatus(q->conn) == CONNECTION_BAD) {
			/* broken while idle (a server restart): found only now */
			PQclear(r);
			if (pg_reconnect(q, err, errlen) == -1)
				return NULL;
			continue;
		}
		pg_fail(q, what, r, err, errlen);
		PQclear(r);
		return NULL;
	}
}

/* A statement whose result is not needed.  0 or -1 with err. */
int
pg_cmd(struct pg_store *q, int id, const char *sql, const struct pg_params *p, int first,
       const char *what, char *err, size_t errlen)
{
	PGresult *r = pg_exec(q, id, sql, p, PGRES_COMMAND_OK, first, what, err, errlen);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

/* Runs several statements (a migration) in the simple protocol, inside the open transaction. */
static int
pg_script(struct pg_store *q, const char *sql, const char *what, char *err, size_t errlen)
{
	PGresult *r = PQexec(q->conn, sql);

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		pg_fail(q, what, r, err, errlen);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

/*
 * A statement (prepared id, or the text sql) whose answer is one boolean,
 * into *v.  -1 with err; "what: bad" when the answer is not one boolean.
 */
int
pg_one_bool(struct pg_store *q, int id, const char *sql, const char *what, const char *bad, int *v,
            char *err, size_t errlen)
{
	PGresult *r = pg_exec(q, id, sql, NULL, PGRES_TUPLES_OK, 0, what, err, errlen);

	if (r == NULL)
		return -1;
	if (PQntuples(r) != 1 || pg_col_bool(r, 0, 0, v) == -1) {
		PQclear(r);
		snprintf(err, errlen, "%s: %s: %s", q->label, what, bad);
		return -1;
	}
	PQclear(r);
	return 0;
}

/* Rolls back whatever transaction is open; keeps err as it is. */
void
pg_rollback(struct pg_store *q)
{
	PGresult *r;

	if (PQstatus(q->conn) != CONNECTION_OK || PQtransactionStatus(q->conn) == PQTRANS_IDLE)
		return;
	r = PQexec(q->conn, "ROLLBACK");
	PQclear(r);
}

int
pg_begin(struct pg_store *q, const char *sql, char *err, size_t errlen)
{
	pg_rollback(q); /* never nest: an operation starts outside any transaction */
	return pg_cmd(q, 0, sql, NULL, 1, "begin", err, errlen);
}

int
pg_commit(struct pg_store *q, char *err, size_t errlen)
{
	PGresult *r = pg_exec(q, 0, "COMMIT", NULL, PGRES_COMMAND_OK, 0, "commit", err, errlen);
	int ok;

	if (r == NULL)
		return -1;
	/* a COMMIT of a failed transaction answers ROLLBACK */
	ok = strcmp(PQcmdStatus(r), "COMMIT") == 0;
	PQclear(r);
	if (!ok) {
		snprintf(err, errlen, "%s: commit: the transaction was rolled back", q->label);
		return -1;
	}
	return 0;
}

/*
 * Ends a transaction whose statements all worked: 0 once committed; a
 * commit that fails is rolled back (a COMMIT that never reached the server
 * leaves the transaction open).
 */
int
pg_commit_or_rollback(struct pg_store *q, char *err, size_t errlen)
{
	if (pg_commit(q, err, errlen) == 0)
		return 0;
	pg_rollback(q);
	return -1;
}

static void
pg_free(struct pg_store *q)
{
	PQfinish(q->conn); /* NULL is a no-op */
	free(q);
}

static void
pg_close(struct store *st)
{
	pg_free(st->impl);
}

static const struct store_ops pg_ops = {
    .name = "postgresql",
    .put_snapshot = pg_put_snapshot,
    .put_snapshots = pg_put_snapshots,
    .each_host_summary = pg_each_host_summary,
    .each_host = pg_each_host,
    .get_host = pg_get_host,
    .series = pg_series,
    .rollups = pg_rollups,
    .open_findings = pg_open_findings,
    .sync_findings = store_core_sync_findings,
    .each_open_finding = pg_each_open_finding,
    .counts = store_core_counts,
    .tx = &pg_tx_ops,
    .housekeep = pg_housekeep,
    .close = pg_close,
};

/* ---- opening ---- */

/*
 * Brings the schema to PG_SCHEMA_VERSION in one transaction, under an
 * advisory lock (two aggregators starting at once: the second waits, then
 * finds the work done).  A database from a newer aggregator is refused
 * untouched.
 */
static int
pg_migrate(struct pg_store *q, char *err, size_t errlen)
{
	PGresult *r;
	char text[32];
	const char *errstr;
	int64_t version = 0;
	size_t i;

	if (pg_begin(q, "BEGIN", err, errlen) == -1)
		return -1;
	r = pg_exec(q, 0, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", NULL,
	            PGRES_TUPLES_OK, 0, "locking the schema", err, errlen);
	if (r == NULL)
		goto failed;
	PQclear(r);
	/* a role without CREATE on the schema can still open a current database */
	{
		int missing;

		if (pg_one_bool(q, 0, "SELECT to_regclass('meta') IS NULL",
		                "reading schema version", "bad answer", &missing, err,
		                errlen) == -1)
			goto failed;
		if (missing &&
		    pg_cmd(q, 0, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
		           NULL, 0, "creating meta", err, errlen) == -1)
			goto failed;
	}
	r = pg_exec(q, 0, "SELECT value FROM meta WHERE key = 'schema_version'", NULL,
	            PGRES_TUPLES_OK, 0, "reading schema version", err, errlen);
	if (r == NULL)
		goto failed;
	if (PQntuples(r) > 0) {
		if (pg_col_text(r, 0, 0, text, sizeof(text)) == -1 ||
		    parse_i64(text, 1, INT64_MAX, &version, &errstr) == -1) {
			PQclear(r);
			snprintf(err, errlen, "%s: unreadable database schema version", q->label);
			goto failed;
		}
	}
	PQclear(r);
	if (version > PG_SCHEMA_VERSION) {
		snprintf(err, errlen,
		         "%s: database schema version %" PRId64
		         " is newer than this aggregator (%d)",
		         q->label, version, PG_SCHEMA_VERSION);
		goto failed;
	}
	for (i = 0; i < NELEM(pg_migrations); i++) {
		char what[64];

		if (pg_migrations[i].version <= version)
			continue;
		snprintf(what, sizeof(what), "migrating the schema to version %d",
		         pg_migrations[i].version);
		if (pg_script(q, pg_migrations[i].sql, what, err, errlen) == -1)
			goto failed;
		version = pg_migrations[i].version;
	}
	{
		struct pg_params p;

		memset(&p, 0, sizeof(p));
		pg_p_i64(&p, version);
		r = PQexecParams(q->conn,
		                 "INSERT INTO meta (key, value) VALUES ('schema_version', $1)"
		                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		                 1, NULL, p.v, p.len, p.fmt, 1);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			pg_fail(q, "writing schema version", r, err, errlen);
			PQclear(r);
			goto failed;
		}
		PQclear(r);
	}
	return pg_commit_or_rollback(q, err, errlen);
failed:
	pg_rollback(q);
	return -1;
}

struct store *
store_open_pg(const char *url, char *err, size_t errlen)
{
	/*
	 * Defaults first, the url last: what the url says wins (libpq keeps
	 * the last value of a repeated keyword when expand_dbname is set).
	 */
	const char *const keys[] = {
	    "connect_timeout",     "application_name", "keepalives", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "dbname",     NULL};
	const char *vals[] = {"10", "ipcfleet-aggregator", "1", "30", "10", "3", url, NULL};
	struct pg_store *q;
	const char *enc;

	if (url == NULL || url[0] == '\0') {
		snprintf(err, errlen, "postgresql: empty url");
		return NULL;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "postgresql: %s", strerror(errno));
		return NULL;
	}
	q->pub.ops = &pg_ops;
	q->pub.impl = q;
	ifl_strlcpy(q->label, "postgresql", sizeof(q->label));
	q->conn = PQconnectdbParams(keys, vals, 1);
	if (q->conn == NULL) {
		snprintf(err, errlen, "postgresql: cannot connect: out of memory");
		goto fail;
	}
	if (PQstatus(q->conn) != CONNECTION_OK) {
		char flat[512];

		pg_flatten(PQerrorMessage(q->conn), flat, sizeof(flat));
		snprintf(err, errlen, "postgresql: cannot connect: %s", flat);
		goto fail;
	}
	pg_make_label(q);
	if (PQserverVersion(q->conn) < 100000) {
		snprintf(err, errlen, "%s: PostgreSQL %d is too old (10 or later needed)", q->label,
		         PQserverVersion(q->conn) / 10000);
		goto fail;
	}
	enc = PQparameterStatus(q->conn, "server_encoding");
	if (enc == NULL || (strcmp(enc, "UTF8") != 0 && strcmp(enc, "SQL_ASCII") != 0)) {
		snprintf(err, errlen,
		         "%s: database encoding %s: create the database with ENCODING 'UTF8'",
		         q->label, enc != NULL ? enc : "unknown");
		goto fail;
	}
	if (pg_session_setup(q, 0, err, errlen) == -1)
		goto fail;
	q->ready = 1; /* the migrations use no prepared statement */
	if (pg_migrate(q, err, errlen) == -1 || pg_session_setup(q, 1, err, errlen) == -1)
		goto fail;
	return &q->pub;
fail:
	pg_free(q);
	return NULL;
}

#else /* !IPCFLEET_HAVE_LIBPQ */

struct store *
store_open_pg(const char *url, char *err, size_t errlen)
{
	(void)url;
	snprintf(err, errlen,
	         "postgresql: this aggregator was built without PostgreSQL support "
	         "(libpq was not found at build time)");
	return NULL;
}

#endif
