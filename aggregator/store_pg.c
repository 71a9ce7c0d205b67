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
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h" /* findings_plan() */
#include "model.h"
#include "proto.h"
#include "store.h"
#include "store_blocks.h" /* sb_usage_encode() */
#include "store_core.h"
#include "util.h"

#ifdef IPCFLEET_HAVE_LIBPQ

#include <libpq-fe.h>

#include "json.h"
#include "text.h"

#define PG_SCHEMA_VERSION 4
/* pg_advisory_xact_lock keys: "ipcf" then a number. */
#define PG_MIGRATE_LOCK   "7596270883479289857" /* 0x6970636600000001 */
#define PG_HOUSEKEEP_LOCK "7596270883479289858" /* 0x6970636600000002 */
#define PG_FETCH_ROWS     "16"                  /* rows per FETCH: snapshots may be large */

/* Type OIDs (PostgreSQL's catalog/pg_type.h, stable since forever). */
#define PG_BOOLOID   16
#define PG_BYTEAOID  17
#define PG_INT8OID   20
#define PG_TEXTOID   25
#define PG_FLOAT8OID 701

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
     * unsigned, the mean kept incrementally with the same arithmetic as
     * SQLite's C code (mean += (used - mean) / (count + 1), in double
     * precision).  $1 is the host's name (the statements of a batch are
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
        " u AS (SELECT r.host_id, x.name, x.used, x.lim, x.dused FROM r,"
        " unnest($6::text[], $7::bigint[], $8::bigint[], $9::float8[])"
        " AS x(name, used, lim, dused)),"
        " s AS (INSERT INTO samples (host_id, limit_name, t, used, lim)"
        " SELECT host_id, name, $3, used, lim FROM u"
        " ON CONFLICT (host_id, limit_name, t)"
        " DO UPDATE SET used = excluded.used, lim = excluded.lim),"
        " ro AS (INSERT INTO rollups AS r (host_id, limit_name, hour, mn, mx,"
        " mean, cnt, lim) SELECT host_id, name, $5, used, used, dused, 1, lim"
        " FROM u"
        " ON CONFLICT (host_id, limit_name, hour) DO UPDATE SET"
        " mn = CASE WHEN (excluded.mn # " PG_MIN ") < (r.mn # " PG_MIN ")"
        " THEN excluded.mn ELSE r.mn END,"
        " mx = CASE WHEN (excluded.mx # " PG_MIN ") > (r.mx # " PG_MIN ")"
        " THEN excluded.mx ELSE r.mx END,"
        " mean = r.mean + (excluded.mean - r.mean) / (r.cnt + 1)::double precision,"
        " cnt = r.cnt + 1, lim = excluded.lim)"
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

/* The listings' cursors. */
static const char pg_each_host_sql[] =
    "DECLARE ipcfleet_hosts NO SCROLL CURSOR FOR SELECT " PG_HOST_COLUMNS
    " FROM hosts ORDER BY name";
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
    " AND f.closed IS NULL) AS s ON true ORDER BY name";
static const char pg_each_finding_sql[] =
    "DECLARE ipcfleet_findings NO SCROLL CURSOR FOR SELECT " PG_FINDING_COLUMNS
    ", h.name FROM findings AS f JOIN hosts AS h ON h.id = f.host_id"
    " WHERE f.closed IS NULL ORDER BY f.severity DESC, f.opened, f.id";

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
};
#define PG_RETRY_MAX_MS 5000
/* the batch's wait for a host row another session holds, and its tries */
#define PG_PUT_LOCK_WAIT "1s"
#define PG_PUT_ROUNDS    4

static const struct store_ops pg_ops;

/* ---- parameters ---- */

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

static char *
pg_param_slot(struct pg_params *p)
{
	if (p->n >= PG_NPARAMS) {
		p->bad = 1;
		return NULL;
	}
	return p->buf[p->n];
}

static void
pg_p_i64(struct pg_params *p, int64_t v)
{
	char *b = pg_param_slot(p);

	if (b == NULL)
		return;
	snprintf(b, PG_TEXT_MAX, "%" PRId64, v);
	p->v[p->n] = b;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

/* uint64_t as its int64_t bit pattern: see the schema comment. */
static void
pg_p_u64(struct pg_params *p, uint64_t v)
{
	pg_p_i64(p, (int64_t)v);
}

/*
 * The limits of u that have one, as four array parameters (text[],
 * bigint[], bigint[], float8[] literals): names, used, limit, and used as a
 * double.  The names are model_usage()'s own identifiers, never quoted.
 */
static void
pg_p_usage(struct pg_params *p, const struct usage *u)
{
	char *b[4];
	size_t off[4] = {0, 0, 0, 0}, i, k;
	int n;

	for (k = 0; k < 4; k++) {
		if ((b[k] = pg_param_slot(p)) == NULL)
			return;
		b[k][0] = '{';
		off[k] = 1;
		p->v[p->n] = b[k];
		p->len[p->n] = 0;
		p->fmt[p->n] = 0;
		p->n++;
	}
	for (i = 0; i < u->n; i++) {
		const char *sep = off[0] > 1 ? "," : "";

		/* unknown figures are no samples: a gap in the series */
		if (!USAGE_KNOWN(&u->v[i]))
			continue;
		for (k = 0; k < 4; k++) {
			size_t room = PG_TEXT_MAX - off[k];

			switch (k) {
			case 0:
				n = snprintf(b[k] + off[k], room, "%s%s", sep, u->v[i].name);
				break;
			case 1:
				n = snprintf(b[k] + off[k], room, "%s%" PRId64, sep,
				             (int64_t)u->v[i].used);
				break;
			case 2:
				n = snprintf(b[k] + off[k], room, "%s%" PRId64, sep,
				             (int64_t)u->v[i].limit);
				break;
			default:
				n = snprintf(b[k] + off[k], room, "%s%.17g", sep,
				             (double)u->v[i].used);
				break;
			}
			if (n < 0 || (size_t)n + 2 > room) {
				p->bad = 1;
				return;
			}
			off[k] += (size_t)n;
		}
	}
	for (k = 0; k < 4; k++) {
		b[k][off[k]] = '}';
		b[k][off[k] + 1] = '\0';
	}
}

/*
 * Copies s (at most max bytes with its NUL) into out as valid UTF-8: each
 * byte sequence that is not UTF-8 becomes '?', so the output is never longer
 * than the input.  Names and messages come from agents and need not be
 * UTF-8, which PostgreSQL's text refuses; the mapping is deterministic and
 * leaves valid text alone, so a host's name (or a finding's identity) maps
 * to the same stored text every time.  -1 when s is not NUL-terminated
 * within max or does not fit outlen.
 */
static int
pg_clean(const char *s, size_t max, char *out, size_t outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max), i = 0, o = 0, len, bad;

	if (n >= max || n >= outlen)
		return -1;
	while (i < n) {
		if (u[i] < 0x80) {
			out[o++] = s[i++];
			continue;
		}
		len = text_utf8_len(u + i, n - i, &bad);
		if (len == 0) {
			out[o++] = '?';
			i += bad > 0 ? bad : 1;
			continue;
		}
		memcpy(out + o, s + i, len);
		o += len;
		i += len;
	}
	out[o] = '\0';
	return 0;
}

/* Text that must be NUL-terminated within max bytes (its field's size). */
static void
pg_p_text(struct pg_params *p, const char *s, size_t max)
{
	char *b = pg_param_slot(p);

	if (b == NULL)
		return;
	if (pg_clean(s, max, b, PG_TEXT_MAX) == -1) {
		p->bad = 1;
		return;
	}
	p->v[p->n] = b;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

static void
pg_p_bytea(struct pg_params *p, const uint8_t *b, size_t n)
{
	if (pg_param_slot(p) == NULL)
		return;
	if (n > INT_MAX) {
		p->bad = 1;
		return;
	}
	/* libpq wants a non-NULL pointer even for zero bytes */
	p->v[p->n] = n > 0 ? (const char *)b : "";
	p->len[p->n] = (int)n;
	p->fmt[p->n] = 1;
	p->n++;
}

/* A small bytea copied into the parameter's own buffer (a digest). */
static void
pg_p_bytea_copy(struct pg_params *p, const uint8_t *b, size_t n)
{
	char *slot = pg_param_slot(p);

	if (slot == NULL)
		return;
	if (n == 0 || n > PG_TEXT_MAX) {
		p->bad = 1;
		return;
	}
	memcpy(slot, b, n);
	pg_p_bytea(p, (const uint8_t *)slot, n);
}

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
static int
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
static int
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
static PGresult *
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
		if (sql != NULL)
			r = PQexecParams(q->conn, sql, 0, NULL, NULL, NULL, NULL, 1);
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
static int
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

/* Rolls back whatever transaction is open; keeps err as it is. */
static void
pg_rollback(struct pg_store *q)
{
	PGresult *r;

	if (PQstatus(q->conn) != CONNECTION_OK || PQtransactionStatus(q->conn) == PQTRANS_IDLE)
		return;
	r = PQexec(q->conn, "ROLLBACK");
	PQclear(r);
}

static int
pg_begin(struct pg_store *q, const char *sql, char *err, size_t errlen)
{
	pg_rollback(q); /* never nest: an operation starts outside any transaction */
	return pg_cmd(q, 0, sql, NULL, 1, "begin", err, errlen);
}

static int
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

/* Rows a command affected (PQcmdTuples), -1 when unreadable. */
static int64_t
pg_affected(const PGresult *r)
{
	const char *errstr;
	int64_t n;

	if (parse_i64(PQcmdTuples((PGresult *)r), 0, INT64_MAX, &n, &errstr) == -1)
		return -1;
	return n;
}

/* ---- reading columns back (binary format): every value is checked ---- */

static int
pg_col_ok(const PGresult *r, int row, int col, Oid type)
{
	return col < PQnfields(r) && PQftype(r, col) == type && PQfformat(r, col) == 1 &&
	       !PQgetisnull(r, row, col);
}

/* An 8-byte column of type, in network order (int8 and float8 alike). */
static int
pg_col_be64(const PGresult *r, int row, int col, Oid type, uint64_t *x)
{
	const unsigned char *p;
	int i;

	if (!pg_col_ok(r, row, col, type) || PQgetlength(r, row, col) != 8)
		return -1;
	p = (const unsigned char *)PQgetvalue(r, row, col);
	*x = 0;
	for (i = 0; i < 8; i++)
		*x = *x << 8 | p[i];
	return 0;
}

static int
pg_col_i64(const PGresult *r, int row, int col, int64_t *v)
{
	uint64_t x;

	if (pg_col_be64(r, row, col, PG_INT8OID, &x) == -1)
		return -1;
	*v = (int64_t)x;
	return 0;
}

static int
pg_col_f64(const PGresult *r, int row, int col, double *v)
{
	uint64_t x;

	if (pg_col_be64(r, row, col, PG_FLOAT8OID, &x) == -1)
		return -1;
	memcpy(v, &x, sizeof(*v));
	return 0;
}

static int
pg_col_bool(const PGresult *r, int row, int col, int *v)
{
	if (!pg_col_ok(r, row, col, PG_BOOLOID) || PQgetlength(r, row, col) != 1)
		return -1;
	*v = PQgetvalue(r, row, col)[0] != 0;
	return 0;
}

/* Copies a text column into out; too long or an embedded NUL is an error. */
static int
pg_col_text(const PGresult *r, int row, int col, char *out, size_t outlen)
{
	const char *s;
	int n;

	if (!pg_col_ok(r, row, col, PG_TEXTOID))
		return -1;
	s = PQgetvalue(r, row, col);
	n = PQgetlength(r, row, col);
	if (s == NULL || n < 0 || (size_t)n >= outlen || memchr(s, '\0', (size_t)n) != NULL)
		return -1;
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
	return 0;
}

/* ---- the store core's view of a result and of parameters (store_core.h) ---- */

static int
pg_row_text(const struct store_row *r, int col, char *out, size_t outlen)
{
	return pg_col_text(r->res, r->row, col, out, outlen);
}

static int
pg_row_i64(const struct store_row *r, int col, int64_t *v)
{
	return pg_col_i64(r->res, r->row, col, v);
}

static int
pg_row_f64(const struct store_row *r, int col, double *v)
{
	return pg_col_f64(r->res, r->row, col, v);
}

static int
pg_row_null(const struct store_row *r, int col)
{
	return PQgetisnull(r->res, r->row, col);
}

static int
pg_row_blob(const struct store_row *r, int col, const void **p, size_t *n)
{
	int len;

	if (!pg_col_ok(r->res, r->row, col, PG_BYTEAOID))
		return -1;
	len = PQgetlength(r->res, r->row, col);
	if (len < 0)
		return -1;
	*p = PQgetvalue(r->res, r->row, col);
	*n = (size_t)len;
	return 0;
}

/* Row row of r. */
static struct store_row
pg_row(const PGresult *r, int row)
{
	struct store_row sr = {pg_row_text, pg_row_i64, pg_row_f64, pg_row_null,
	                       pg_row_blob, (void *)r,  row};

	return sr;
}

/* pg_params go in order: i is their count plus one. */
static int
pg_param_text(struct store_params *sp, int i, const char *s, size_t max)
{
	struct pg_params *p = sp->stmt;

	(void)i;
	pg_p_text(p, s, max);
	return p->bad ? -1 : 0;
}

static int
pg_param_i64(struct store_params *sp, int i, int64_t v)
{
	struct pg_params *p = sp->stmt;

	(void)i;
	pg_p_i64(p, v);
	return p->bad ? -1 : 0;
}

/* Decodes one row of PG_HOST_COLUMNS into h: store_host_read(). */
static int
pg_row_host(struct pg_store *q, const PGresult *r, int row, struct stored_host *h, char *err,
            size_t errlen)
{
	struct store_row sr = pg_row(r, row);

	return store_host_read(&sr, q->label, h, err, errlen);
}

/* Decodes PG_FINDING_COLUMNS (starting at column 0) of row into f. */
static int
pg_row_finding(const PGresult *r, int row, struct finding *f)
{
	struct store_row sr = pg_row(r, row);

	return store_finding_read(&sr, f);
}

/* ---- operations ---- */

/*
 * The parameters of a snapshot's two statements (PG_UPSERT_HOST into up,
 * PG_PUT_SAMPLES into wr).  -1 with err for a snapshot that cannot be stored.
 */
static int
pg_put_params(struct pg_store *q, const struct store_put *e, struct pg_params *up,
              struct pg_params *wr, struct buf *usage, char *err, size_t errlen)
{
	const struct host_info *hi = e->hi;
	const struct snapshot *s = e->s;
	uint8_t digest[STORE_DIGEST_LEN];
	struct usage u;

	if (store_put_check(q->label, hi, e->raw, e->rawlen, digest, err, errlen) == -1)
		return -1;
	model_usage(s, -1, &u);
	memset(up, 0, sizeof(*up));
	pg_p_text(up, hi->name, sizeof(hi->name));
	pg_p_text(up, hi->os, sizeof(hi->os));
	pg_p_text(up, hi->os_release, sizeof(hi->os_release));
	pg_p_text(up, hi->agent, sizeof(hi->agent));
	pg_p_i64(up, hi->page_size);
	pg_p_i64(up, hi->boot_time);
	pg_p_i64(up, hi->interval);
	pg_p_u64(up, s->seq);
	pg_p_i64(up, s->taken);
	pg_p_i64(up, e->received);
	pg_p_bytea(up, e->raw, e->rawlen);
	buf_reset(usage);
	if (sb_usage_encode(&u, usage) == -1) {
		snprintf(err, errlen, "%s: snapshot of %s: cannot encode its usage", q->label,
		         hi->name);
		return -1;
	}
	pg_p_bytea(up, (const uint8_t *)usage->data, usage->len);
	pg_p_text(up, hi->spool, sizeof(hi->spool));
	memset(wr, 0, sizeof(*wr));
	pg_p_text(wr, hi->name, sizeof(hi->name));
	pg_p_u64(wr, s->seq);
	pg_p_i64(wr, s->taken);
	pg_p_i64(wr, e->received);
	pg_p_i64(wr, s->taken - (s->taken % 3600 + 3600) % 3600);
	pg_p_usage(wr, &u);
	pg_p_text(wr, hi->spool, sizeof(hi->spool));
	pg_p_bytea_copy(wr, digest, sizeof(digest));
	if (up->bad || wr->bad) {
		snprintf(err, errlen, "%s: snapshot of %s: a value is too long or not text",
		         q->label, hi->name);
		return -1;
	}
	return 0;
}

/* Snapshots per round trip of a batch: bounds what either side has queued. */
#define PG_PIPE_CHUNK 64

/* How reading a pipelined statement's result went. */
enum pg_pipe { PIPE_OK, PIPE_FAILED, PIPE_LOST };

/*
 * Reads one pipelined statement's result: one row whose first column goes
 * to *v (the upsert's id, the write's count) and, when v2 is not NULL, its
 * second to *v2, then the NULL that ends it.
 * A statement skipped after an earlier failure (aborted) fails without
 * touching err, which keeps the first error.  PIPE_LOST when the
 * connection broke or the results are out of step with what was sent.
 */
static enum pg_pipe
pg_pipe_result(struct pg_store *q, const char *what, int64_t *v, int64_t *v2, int *locked,
               char *err, size_t errlen)
{
	PGresult *r = PQgetResult(q->conn), *end;
	enum pg_pipe rc = PIPE_OK;
	const char *state;

	if (r == NULL) {
		pg_fail(q, what, NULL, err, errlen);
		return PIPE_LOST;
	}
	if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED)
		rc = PIPE_FAILED;
	else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_fail(q, what, r, err, errlen);
		/* 55P03 lock_not_available: lock_timeout, another session holds the row */
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "55P03") == 0)
			*locked = 1;
		rc = PIPE_FAILED;
	} else if (PQntuples(r) != 1 || pg_col_i64(r, 0, 0, v) == -1 ||
	           (v2 != NULL && pg_col_i64(r, 0, 1, v2) == -1)) {
		snprintf(err, errlen, "%s: %s: unexpected result", q->label, what);
		rc = PIPE_FAILED;
	}
	PQclear(r);
	if ((end = PQgetResult(q->conn)) != NULL) {
		PQclear(end);
		snprintf(err, errlen, "%s: %s: more results than statements", q->label, what);
		return PIPE_LOST;
	}
	return rc;
}

/*
 * Sends the statements of v[0..n) in libpq's pipeline mode (inside the
 * open transaction), PG_PIPE_CHUNK snapshots per round trip, and reads their
 * results in order; sets each duplicate.  -1 with err (the first error): the
 * caller rolls back.  A connection left out of step is reset.
 */
static int
pg_put_pipelined(struct pg_store *q, struct store_put **v, size_t n, size_t *locked, char *err,
                 size_t errlen)
{
	struct pg_params up, wr;
	struct buf usage; /* the one being sent: libpq copies it as it is sent */
	char up_name[32], wr_name[32];
	size_t i, k, m, sent;
	int failed = 0;
	enum pg_pipe st = PIPE_OK;

	snprintf(up_name, sizeof(up_name), "ipcfleet_%d", PG_UPSERT_HOST);
	snprintf(wr_name, sizeof(wr_name), "ipcfleet_%d", PG_PUT_SAMPLES);
	if (PQenterPipelineMode(q->conn) != 1)
		return pg_fail(q, "storing snapshots (pipeline mode)", NULL, err, errlen);
	buf_init(&usage, 4096);
	for (i = 0; i < n && !failed && st != PIPE_LOST; i += m) {
		PGresult *r;

		m = n - i < PG_PIPE_CHUNK ? n - i : PG_PIPE_CHUNK;
		for (sent = 0; sent < m; sent++) {
			if (pg_put_params(q, v[i + sent], &up, &wr, &usage, err, errlen) == -1) {
				failed = 1; /* nothing of it sent: the ones before are read below */
				break;
			}
			if (PQsendQueryPrepared(q->conn, up_name, up.n, up.v, up.len, up.fmt, 1) !=
			        1 ||
			    PQsendQueryPrepared(q->conn, wr_name, wr.n, wr.v, wr.len, wr.fmt, 1) !=
			        1) {
				pg_fail(q, "storing snapshots", NULL, err, errlen);
				st = PIPE_LOST;
				break;
			}
		}
		if (st == PIPE_LOST || PQpipelineSync(q->conn) != 1) {
			if (st != PIPE_LOST)
				pg_fail(q, "storing snapshots", NULL, err, errlen);
			st = PIPE_LOST;
			break;
		}
		/* every statement sent has a result, aborted ones included */
		for (k = 0; k < sent && st != PIPE_LOST; k++) {
			int64_t id, stored = -1, differs = -1;
			int lk = 0;
			enum pg_pipe a = pg_pipe_result(q, "storing host", &id, NULL, &lk, err,
			                                errlen),
			             b;

			if (a == PIPE_LOST) {
				st = PIPE_LOST;
				break;
			}
			b = pg_pipe_result(q, "storing samples", &stored, &differs, &lk, err,
			                   errlen);
			if (lk && *locked == SIZE_MAX)
				*locked = i + k;
			if (b == PIPE_LOST)
				st = PIPE_LOST;
			else if (a != PIPE_OK || b != PIPE_OK || stored < 0 || stored > 1 ||
			         differs < 0 || differs > 1)
				failed = 1;
			else {
				v[i + k]->duplicate = stored == 0;
				v[i + k]->conflict = stored == 0 && differs == 1;
			}
		}
		if (st == PIPE_LOST)
			break;
		if ((r = PQgetResult(q->conn)) == NULL ||
		    PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
			pg_fail(q, "storing snapshots", r, err, errlen);
			PQclear(r);
			st = PIPE_LOST;
			break;
		}
		PQclear(r);
	}
	buf_free(&usage);
	if (st != PIPE_LOST && PQexitPipelineMode(q->conn) != 1) {
		pg_fail(q, "storing snapshots (leaving pipeline mode)", NULL, err, errlen);
		st = PIPE_LOST;
	}
	if (st == PIPE_LOST) {
		/*
		 * Out of step with the server, or cut off: drop the session; the
		 * next operation reconnects (pg_exec) with a fresh one.
		 */
		char scratch[256];

		(void)pg_reconnect(q, scratch, sizeof(scratch));
		return -1;
	}
	return failed ? -1 : 0;
}

/* Orders a batch's entries by host name; ties (one host) as they were received. */
static int
pg_put_cmp(const void *a, const void *b)
{
	const struct store_put *x = *(const struct store_put *const *)a;
	const struct store_put *y = *(const struct store_put *const *)b;
	int c = strcmp(x->hi->name, y->hi->name);

	return c != 0 ? c : (x > y) - (x < y);
}

/*
 * Group commit: the whole batch in one transaction, one WAL flush.  The host
 * rows are locked in name order, so two aggregators committing batches that
 * share hosts (an agent failing over in the middle of a stream) wait for
 * each other instead of deadlocking; a host's snapshots keep their order.
 */
static int
pg_put_snapshots(struct store *st, struct store_put *v, size_t n, char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct store_put **order;
	size_t i, j, m, locked, round;

	for (i = 0; i < n; i++)
		v[i].duplicate = v[i].conflict = v[i].busy = 0;
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*order) || (order = malloc(n * sizeof(*order))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", q->label);
		return -1;
	}
	for (i = 0; i < n; i++)
		order[i] = &v[i];
	qsort(order, n, sizeof(*order), pg_put_cmp);
	/*
	 * A host row another aggregator holds (it is stopped in the middle of
	 * its batch, or slow) fails its host only: the lock wait is short, the
	 * batch is tried again without that host's snapshots (busy: not
	 * stored, not acknowledged), at most PG_PUT_ROUNDS times.
	 */
	for (m = n, round = 0;; round++) {
		locked = SIZE_MAX;
		if (m == 0)
			break;
		if (pg_begin(q, "BEGIN", err, errlen) == -1 ||
		    pg_cmd(q, 0, "SET LOCAL lock_timeout = '" PG_PUT_LOCK_WAIT "'", NULL, 0,
		           "lock_timeout", err, errlen) == -1)
			goto failed;
		if (pg_put_pipelined(q, order, m, &locked, err, errlen) == 0 &&
		    pg_commit(q, err, errlen) == 0)
			break;
		pg_rollback(q);
		for (i = 0; i < m; i++)
			order[i]->duplicate = order[i]->conflict = 0;
		if (locked == SIZE_MAX || round + 1 == PG_PUT_ROUNDS)
			goto failed;
		/* set that host's snapshots aside: they are next to each other */
		for (i = locked;
		     i > 0 && strcmp(order[i - 1]->hi->name, order[locked]->hi->name) == 0; i--)
			;
		for (j = i; j < m && strcmp(order[j]->hi->name, order[locked]->hi->name) == 0; j++)
			order[j]->busy = 1;
		memmove(&order[i], &order[j], (m - j) * sizeof(*order));
		m -= j - i;
	}
	free(order);
	return 0;
failed:
	pg_rollback(q);
	for (i = 0; i < n; i++)
		v[i].duplicate = v[i].conflict = v[i].busy = 0;
	free(order);
	return -1;
}

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

/* row() returns what fn returned, or -1 with err. */
static int
pg_each_row(struct pg_store *q, const struct pg_listing *l,
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
	if (pg_cmd(q, 0, l->declare, NULL, 0, l->what, err, errlen) == -1) {
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
static int
pg_each_host(struct store *st, int (*fn)(void *arg, const struct stored_host *h), void *arg,
             char *err, size_t errlen)
{
	struct pg_each_host_ctx c = {.fn = fn, .arg = arg};

	return pg_each_row(st->impl, &pg_hosts_listing, pg_each_host_row, &c, err, errlen);
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
	if (!PQgetisnull(r, row, 12) && pg_col_bool(r, row, 12, &stale) == -1) {
		stored_host_free(&h);
		snprintf(err, errlen, "%s: hosts: bad findings of %s", q->label, h.info.name);
		return -1;
	}
	if (!PQgetisnull(r, row, 13) && pg_col_i64(r, row, 13, &worst) == -1) {
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

static int
pg_each_host_summary(struct store *st, int (*fn)(void *arg, const struct host_summary *h),
                     void *arg, char *err, size_t errlen)
{
	struct pg_each_summary_ctx c = {.fn = fn, .arg = arg};

	return pg_each_row(st->impl, &pg_summaries_listing, pg_each_summary_row, &c, err, errlen);
}

static int
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

static int
pg_series(struct store *st, const char *host, const char *limit, int64_t t0, struct sample *out,
          size_t max, size_t *n, char *err, size_t errlen)
{
	return pg_read_limit(st->impl, &pg_series_read, host, limit, t0, out, max, n, err, errlen);
}

static int
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

static int
pg_open_findings(struct store *st, const char *host, struct finding **out, size_t *n, char *err,
                 size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;
	PGresult *r;
	int ret;

	*out = NULL;
	*n = 0;
	if (strnlen(host, MODEL_NAME_MAX) >= MODEL_NAME_MAX)
		return 0;
	memset(&p, 0, sizeof(p));
	pg_p_text(&p, host, MODEL_NAME_MAX);
	pg_p_i64(&p, MODEL_MAX_FINDINGS);
	r = pg_exec(q, PG_HOST_FINDINGS_OPEN, NULL, &p, PGRES_TUPLES_OK, !q->in_each,
	            "reading findings", err, errlen);
	if (r == NULL)
		return -1;
	ret = pg_load_findings(q, r, out, NULL, n, err, errlen);
	PQclear(r);
	return ret;
}

/* Parameters $1..$20 of PG_FINDING_INSERT. */
static void
pg_p_finding(struct pg_params *p, int64_t host_id, const char *fkey, const struct finding *f,
             int64_t now)
{
	struct store_params sp = {pg_param_text, pg_param_i64, p};

	memset(p, 0, sizeof(*p));
	store_finding_params(&sp, 1, host_id, fkey, f, now, 0); /* a failure sets p->bad */
}

/*
 * Parameters $1..$13 of PG_FINDING_UPDATE: what may change in an open
 * finding, and the row's id.
 */
static void
pg_p_finding_update(struct pg_params *p, int64_t host_id, const char *fkey, const struct finding *f,
                    int64_t now, int64_t row)
{
	struct store_params sp = {pg_param_text, pg_param_i64, p};

	memset(p, 0, sizeof(*p));
	if (store_finding_params(&sp, 1, host_id, fkey, f, now, 1) != -1) /* else p->bad */
		pg_p_i64(p, row);
}

/*
 * The text of a finding as it will be stored (see pg_clean()), so that
 * identities and messages compare equal with what is read back.  -1 when a
 * field is not NUL-terminated.
 */
static int
pg_finding_clean(struct finding *f)
{
	char tmp[PG_TEXT_MAX];

	if (pg_clean(f->limit, sizeof(f->limit), tmp, sizeof(f->limit)) == -1)
		return -1;
	memcpy(f->limit, tmp, sizeof(f->limit));
	if (pg_clean(f->scope, sizeof(f->scope), tmp, sizeof(f->scope)) == -1)
		return -1;
	memcpy(f->scope, tmp, sizeof(f->scope));
	if (pg_clean(f->message, sizeof(f->message), tmp, sizeof(f->message)) == -1)
		return -1;
	memcpy(f->message, tmp, sizeof(f->message));
	if (pg_clean(f->owner, sizeof(f->owner), tmp, sizeof(f->owner)) == -1)
		return -1;
	memcpy(f->owner, tmp, sizeof(f->owner));
	if (pg_clean(f->command, sizeof(f->command), tmp, sizeof(f->command)) == -1)
		return -1;
	memcpy(f->command, tmp, sizeof(f->command));
	return 0;
}

/* ---- one host's transactions, as the store core runs them (store_core.h) ---- */

/*
 * The host row is locked first (SELECT ... FOR UPDATE): a second aggregator
 * syncing or counting the same host waits for this commit, then sees its
 * result.
 */
static int
pg_tx_begin(struct store *st, const char *host, int64_t *id, char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;
	PGresult *r;
	int ret = 0;

	if (pg_begin(q, "BEGIN", err, errlen) == -1)
		return -1;
	memset(&p, 0, sizeof(p));
	pg_p_text(&p, host, MODEL_NAME_MAX);
	if ((r = pg_exec(q, PG_HOST_LOCK, NULL, &p, PGRES_TUPLES_OK, 0, "reading host", err,
	                 errlen)) == NULL)
		return -1;
	if (PQntuples(r) == 0)
		ret = 1;
	else if (PQntuples(r) != 1 || pg_col_i64(r, 0, 0, id) == -1) {
		snprintf(err, errlen, "%s: hosts: bad id of %s", q->label, host);
		ret = -1;
	}
	PQclear(r);
	return ret;
}

static int
pg_tx_commit(struct store *st, char *err, size_t errlen)
{
	return pg_commit(st->impl, err, errlen);
}

static void
pg_tx_rollback(struct store *st)
{
	pg_rollback(st->impl);
}

static int
pg_tx_load_open(struct store *st, int64_t id, struct finding **open, int64_t **rowid, size_t *n,
                char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;
	PGresult *r;
	int ret;

	memset(&p, 0, sizeof(p));
	pg_p_i64(&p, id);
	pg_p_i64(&p, MODEL_MAX_FINDINGS);
	if ((r = pg_exec(q, PG_FINDINGS_OPEN, NULL, &p, PGRES_TUPLES_OK, 0, "reading findings", err,
	                 errlen)) == NULL)
		return -1;
	ret = pg_load_findings(q, r, open, rowid, n, err, errlen);
	PQclear(r);
	return ret;
}

static int
pg_tx_apply(struct store *st, int64_t id, const struct finding_step *sp, int64_t rowid, int64_t now,
            char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;
	const char *what;
	int stmt;

	switch (sp->c.what) {
	case FC_OPENED:
		pg_p_finding(&p, id, sp->key, &sp->c.f, now);
		stmt = PG_FINDING_INSERT;
		what = "opening a finding";
		break;
	case FC_CHANGED:
		pg_p_finding_update(&p, id, sp->key, &sp->c.f, now, rowid);
		stmt = PG_FINDING_UPDATE;
		what = "updating a finding";
		break;
	default:
		memset(&p, 0, sizeof(p));
		pg_p_i64(&p, id);
		pg_p_text(&p, sp->key, sizeof(sp->key));
		pg_p_i64(&p, now);
		pg_p_i64(&p, rowid);
		stmt = PG_FINDING_CLOSE;
		what = "closing a finding";
		break;
	}
	return pg_cmd(q, stmt, NULL, &p, 0, what, err, errlen);
}

static int
pg_tx_counts_get(struct store *st, int64_t id, struct buf *blob, char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;
	PGresult *r;
	int ret = 1;

	memset(&p, 0, sizeof(p));
	pg_p_i64(&p, id);
	if ((r = pg_exec(q, PG_COUNTS_GET, NULL, &p, PGRES_TUPLES_OK, 0, "reading counts", err,
	                 errlen)) == NULL)
		return -1;
	/* not a bytea, or larger than any runs encode to: none (the core starts again) */
	if (PQntuples(r) == 1 && pg_col_ok(r, 0, 0, PG_BYTEAOID) &&
	    (size_t)PQgetlength(r, 0, 0) <= blob->max) {
		ret = 0;
		if (buf_append(blob, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0)) == -1) {
			snprintf(err, errlen, "%s: counts: out of memory", q->label);
			ret = -1;
		}
	}
	PQclear(r);
	return ret;
}

static int
pg_tx_counts_put(struct store *st, int64_t id, const struct buf *blob, char *err, size_t errlen)
{
	struct pg_params p;

	memset(&p, 0, sizeof(p));
	pg_p_i64(&p, id);
	pg_p_bytea(&p, (const uint8_t *)blob->data, blob->len);
	return pg_cmd(st->impl, PG_COUNTS_PUT, NULL, &p, 0, "storing counts", err, errlen);
}

static const char *
pg_tx_label(const struct store *st)
{
	const struct pg_store *q = st->impl;

	return q->label;
}

static const struct store_tx pg_tx_ops = {
    .label = pg_tx_label,
    .begin = pg_tx_begin,
    .commit = pg_tx_commit,
    .rollback = pg_tx_rollback,
    .clean = pg_finding_clean,
    .load_open = pg_tx_load_open,
    .apply = pg_tx_apply,
    .counts_get = pg_tx_counts_get,
    .counts_put = pg_tx_counts_put,
};

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

static int
pg_each_open_finding(struct store *st,
                     int (*fn)(void *arg, const char *host, const struct finding *f), void *arg,
                     char *err, size_t errlen)
{
	struct pg_each_finding_ctx c = {.fn = fn, .arg = arg};

	return pg_each_row(st->impl, &pg_findings_listing, pg_each_finding_row, &c, err, errlen);
}

/*
 * Deletes old rows in batches, like sq_housekeep(), in one short
 * transaction, and only in the aggregator that holds the transaction-level
 * advisory lock: the others skip (0, nothing deleted) and try again at
 * their next tick.
 */
static int
pg_housekeep(struct store *st, int64_t keep_samples, int64_t keep_rollups, size_t batch,
             size_t *deleted, char *err, size_t errlen)
{
	static const int del[] = {PG_DELETE_SAMPLES,        PG_DELETE_ROLLUPS,
	                          PG_DELETE_FINDINGS,       PG_DELETE_RECEIVED,
	                          PG_DELETE_FUTURE_SAMPLES, PG_DELETE_FUTURE_ROLLUPS};
	struct pg_store *q = st->impl;
	struct pg_params p;
	PGresult *r;
	size_t i, total = 0;
	int got;

	*deleted = 0;
	if (pg_begin(q, "BEGIN", err, errlen) == -1)
		return -1;
	if ((r = pg_exec(q, PG_HOUSEKEEP_TRY, NULL, NULL, PGRES_TUPLES_OK, 0, "housekeeping", err,
	                 errlen)) == NULL)
		goto failed;
	if (PQntuples(r) != 1 || pg_col_bool(r, 0, 0, &got) == -1) {
		PQclear(r);
		snprintf(err, errlen, "%s: housekeeping: bad answer to the lock", q->label);
		goto failed;
	}
	PQclear(r);
	if (got) {
		for (i = 0; i < NELEM(del); i++) {
			int64_t n;

			memset(&p, 0, sizeof(p));
			/* received sequences only need to outlive resends: kept like samples */
			pg_p_i64(&p, del[i] == PG_DELETE_FUTURE_SAMPLES ||
			                     del[i] == PG_DELETE_FUTURE_ROLLUPS
			                 ? now_unix() + STORE_FUTURE_MAX
			             : del[i] == PG_DELETE_SAMPLES || del[i] == PG_DELETE_RECEIVED
			                 ? keep_samples
			                 : keep_rollups);
			pg_p_i64(&p, batch > INT64_MAX ? INT64_MAX : (int64_t)batch);
			if ((r = pg_exec(q, del[i], NULL, &p, PGRES_COMMAND_OK, 0, "housekeeping",
			                 err, errlen)) == NULL)
				goto failed;
			n = pg_affected(r);
			PQclear(r);
			if (n > 0)
				total += (size_t)n;
		}
	}
	if (pg_commit(q, err, errlen) == -1)
		goto failed;
	*deleted = total;
	return 0;
failed:
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

/* One snapshot: a batch of one. */
static int
pg_put_snapshot(struct store *st, const struct host_info *hi, const struct snapshot *s,
                const uint8_t *raw, size_t rawlen, int64_t received, int *duplicate, char *err,
                size_t errlen)
{
	struct store_put e = {.hi = hi, .s = s, .raw = raw, .rawlen = rawlen, .received = received};
	int rc = pg_put_snapshots(st, &e, 1, err, errlen);

	*duplicate = rc == 0 && e.duplicate;
	return rc;
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
	r = pg_exec(q, 0, "SELECT to_regclass('meta') IS NULL", NULL, PGRES_TUPLES_OK, 0,
	            "reading schema version", err, errlen);
	if (r == NULL)
		goto failed;
	{
		int missing;

		if (PQntuples(r) != 1 || pg_col_bool(r, 0, 0, &missing) == -1) {
			PQclear(r);
			snprintf(err, errlen, "%s: reading schema version: bad answer", q->label);
			goto failed;
		}
		PQclear(r);
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
	if (pg_commit(q, err, errlen) == -1)
		goto failed;
	return 0;
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
