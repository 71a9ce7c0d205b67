/*
 * test_store.c: the SQLite store (aggregator/store_sqlite.c).
 *
 * Every test works on its own database file inside one mkdtemp directory,
 * removed at the end.  Payloads are arbitrary bytes: the store keeps them as
 * an opaque blob.  Some tests change the database behind the store's back
 * with a second sqlite3 connection.
 */
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "fixture.h"
#include "model.h"
#include "store.h"
#include "store_blocks.h"
#include "util.h"

/* Linux's default shmall: does not fit an int64_t. */
#define LINUX_SHMALL 18446744073692774399ULL

static char tmpdir[256];

static void
db_path(char *out, size_t len, const char *name)
{
	int n = snprintf(out, len, "%s/%s", tmpdir, name);

	assert_true(n > 0 && (size_t)n < len);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
group_setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_store.XXXXXX",
	         getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- building input ---- */

static struct store *
open_ok(const char *path)
{
	char err[512] = "";
	struct store *st;

	st = store_open_sqlite(path, err, sizeof(err));
	if (st == NULL)
		fail_msg("store_open_sqlite: %s", err);
	return st;
}

/* ---- a second connection ---- */

static void
sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

/* First column of the first row as text, into out. */
static void
sql_text(const char *path, const char *sql, char *out, size_t len)
{
	sqlite3 *db;
	sqlite3_stmt *x;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &x, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(x), SQLITE_ROW);
	assert_non_null(sqlite3_column_text(x, 0));
	ifl_strlcpy(out, (const char *)sqlite3_column_text(x, 0), len);
	sqlite3_finalize(x);
	sqlite3_close(db);
}

/* ---- collecting each_host ---- */

/* ---- tests ---- */

static void
test_open_creates_0600_wal(void **state)
{
	char path[512], mode[32], ver[32];
	struct stat sb;
	struct store *st;

	(void)state;
	db_path(path, sizeof(path), "create.db");
	st = open_ok(path);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	sql_text(path, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	sql_text(path, "SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof(ver));
	assert_string_equal(ver, "5");
	assert_string_equal(st->ops->name, "sqlite");
	store_close(st);
}

/* An existing file keeps its mode: tightening it is not the store's call. */
static void
test_open_existing_keeps_mode(void **state)
{
	char path[512];
	struct stat sb;
	struct store *st;
	FILE *fp;

	(void)state;
	db_path(path, sizeof(path), "existing.db");
	fp = fopen(path, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(chmod(path, 0640), 0);
	st = open_ok(path);
	fixture_put_ok(st, "h1", 1, 100, 5, "x", 101, 0);
	store_close(st);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
}

static void
test_reopen_durable(void **state)
{
	char path[512], err[512] = "";
	struct stored_host h;
	struct sample sm[4];
	struct store *st;
	size_t n = 0;

	(void)state;
	db_path(path, sizeof(path), "reopen.db");
	st = open_ok(path);
	fixture_put_ok(st, "mx1", 77, 7700, 33, "persisted", 7701, 0);
	store_close(st);

	st = open_ok(path);
	assert_int_equal(store_get_host(st, "mx1", &h, err, sizeof(err)), 0);
	assert_string_equal(h.info.name, "mx1");
	assert_string_equal(h.info.os, "FreeBSD");
	assert_int_equal(h.last_seq, 77);
	assert_int_equal(h.last_taken, 7700);
	assert_int_equal(h.last_received, 7701);
	fixture_assert_raw(&h, "persisted");
	stored_host_free(&h);
	assert_int_equal(store_series(st, "mx1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].used, 33);
	assert_int_equal(sm[0].limit, 340);
	/* the dedupe table survived too */
	fixture_put_ok(st, "mx1", 77, 7800, 34, "again", 7801, 1);
	store_close(st);
}

static void
test_get_unknown(void **state)
{
	char path[512], err[512] = "", longname[100];
	struct stored_host h;
	struct store *st;

	(void)state;
	db_path(path, sizeof(path), "unknown.db");
	st = open_ok(path);
	assert_int_equal(store_get_host(st, "ghost", &h, err, sizeof(err)), 1);
	assert_null(h.raw);
	fixture_put_ok(st, "real", 1, 10, 1, "r", 11, 0);
	assert_int_equal(store_get_host(st, "ghost", &h, err, sizeof(err)), 1);
	assert_int_equal(store_get_host(st, "rea", &h, err, sizeof(err)), 1);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(store_get_host(st, longname, &h, err, sizeof(err)), 1);
	store_close(st);
}

static void
test_schema_newer_refused(void **state)
{
	char path[512], err[512] = "", want[700], ver[32];
	struct store *st;

	(void)state;
	db_path(path, sizeof(path), "newer.db");
	st = open_ok(path);
	store_close(st);
	sql_exec(path, "UPDATE meta SET value = '6' WHERE key = 'schema_version'");
	assert_null(store_open_sqlite(path, err, sizeof(err)));
	snprintf(want, sizeof(want),
	         "%s: database schema version 6 is newer than this aggregator (5)", path);
	assert_string_equal(err, want);
	/* left as it was */
	sql_text(path, "SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof(ver));
	assert_string_equal(ver, "6");

	sql_exec(path, "UPDATE meta SET value = 'two' WHERE key = 'schema_version'");
	assert_null(store_open_sqlite(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: unreadable database schema version", path);
	assert_string_equal(err, want);
}

static void
test_missing_directory(void **state)
{
	char path[512], err[512] = "", want[1200];

	(void)state;
	db_path(path, sizeof(path), "nope/ipcfleet.db");
	assert_null(store_open_sqlite(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: directory %s/nope does not exist", path, tmpdir);
	assert_string_equal(err, want);
}

/* Root ignores file modes, so an unusable database is a directory. */
static void
test_path_is_directory(void **state)
{
	char path[512], err[512] = "", want[700];

	(void)state;
	db_path(path, sizeof(path), "dir.db");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_null(store_open_sqlite(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: not a regular file", path);
	assert_string_equal(err, want);
	assert_null(store_open_sqlite("", err, sizeof(err)));
	assert_string_equal(err, "sqlite: empty database path");
}

/*
 * SQLite keeps any type in any column: a value of the wrong type read back
 * is an error, not a number or a snapshot (test_store_contract.c checks the
 * bounds both backends share).
 */
static void
test_read_back_types(void **state)
{
	char path[512], err[512] = "";
	struct stored_host h;
	struct store *st;

	(void)state;
	db_path(path, sizeof(path), "types.db");
	st = open_ok(path);
	fixture_put_ok(st, "h", 1, 100, 1, "one", 101, 0);
	sql_exec(path, "UPDATE hosts SET page_size = 'big'");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad page_size"));
	sql_exec(path, "UPDATE hosts SET page_size = 4096");
	sql_exec(path, "UPDATE hosts SET snapshot = 'text'");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_null(h.raw);
	assert_non_null(strstr(err, "is not a blob"));
	sql_exec(path, "UPDATE hosts SET snapshot = x'00'");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.rawlen, 1);
	stored_host_free(&h);
	store_close(st);
}

/* ---- samples as hourly blocks of runs (schema version 2) ---- */

/*
 * The blocks behind the samples (test_store_contract.c checks the values
 * both backends give back): the next hour rolls the previous block up, a
 * late sample joins a rolled hour's rollup row, peaks come from the rollups
 * and the open block, and a damaged block is an error until the next
 * sample starts it again.
 */
static void
test_series_blocks(void **state)
{
	static const char *const names[] = {"semmns", "shmall", "msgmni"};
	char path[512], err[512] = "";
	struct sample sm[128];
	struct rollup r[8];
	struct store *st;
	uint64_t peaks[3];
	size_t n, k;

	(void)state;
	db_path(path, sizeof(path), "blocks.db");
	st = open_ok(path);
	for (k = 0; k < 60; k++)
		fixture_put_used(st, "r1", k + 1, 7200 + (int64_t)k * 60, k < 30 ? 10 : 20);
	fixture_put_used(st, "r1", 200, 10800 + 5, 7);
	sql_text(path, "SELECT group_concat(hour || ':' || rolled) FROM samples", err, sizeof(err));
	assert_string_equal(err, "7200:1,10800:0");
	fixture_put_used(st, "r1", 201, 7200 + 3599, 500);
	n = fixture_rollups(st, "r1", "semmns", r, NELEM(r));
	assert_int_equal(n, 2);
	assert_int_equal(r[0].count, 61);
	assert_int_equal(r[0].max, 500);

	/* peaks: rollups and the open block; a limit never reported has 0 */
	assert_non_null(st->ops->peaks);
	assert_int_equal(st->ops->peaks(st, "r1", 0, names, 3, peaks, err, sizeof(err)), 0);
	assert_int_equal(peaks[0], 500);
	assert_int_equal(peaks[1], 1);
	assert_int_equal(peaks[2], 0);
	assert_int_equal(st->ops->peaks(st, "r1", 10800, names, 3, peaks, err, sizeof(err)), 0);
	assert_int_equal(peaks[0], 7);

	/* a damaged block: reading it is an error; the next sample starts it again */
	sql_exec(path, "UPDATE samples SET data = x'0102' WHERE hour = 10800");
	assert_int_equal(store_series(st, "r1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 -1);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err, "bad block"));
	fixture_put_used(st, "r1", 203, 10800 + 60, 8);
	n = fixture_series(st, "r1", "semmns", 10800, sm, NELEM(sm));
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].used, 8);
	store_close(st);
}

/* A flat day takes a few hundred bytes, not a row per value. */
static void
test_series_compact(void **state)
{
	char path[512], err[512] = "";
	struct sample sm[4];
	struct store *st;
	size_t k;

	(void)state;
	db_path(path, sizeof(path), "compact.db");
	st = open_ok(path);
	for (k = 0; k < 1440; k++)
		fixture_put_used(st, "flat", k + 1, 86400 + (int64_t)k * 60, 17);
	sql_text(path, "SELECT count(*) FROM samples", err, sizeof(err));
	assert_string_equal(err, "24");
	sql_text(path, "SELECT max(length(data)) < 64 FROM samples", err, sizeof(err));
	assert_string_equal(err, "1");
	assert_int_equal(fixture_series(st, "flat", "semmns", 86400 + 1439 * 60, sm, NELEM(sm)), 1);
	assert_int_equal(sm[0].used, 17);
	store_close(st);
}

struct sums {
	size_t n;
	char name[4][MODEL_NAME_MAX], status[4][8];
	int has_usage[4], has_status[4], has_snapshot[4];
	uint64_t semmns_used[4], semmns_limit[4];
	int64_t last_received[4];
};

static int
collect_summary(void *arg, const struct host_summary *h)
{
	struct sums *sm = arg;
	size_t i;

	assert_true(sm->n < 4);
	ifl_strlcpy(sm->name[sm->n], h->info.name, MODEL_NAME_MAX);
	ifl_strlcpy(sm->status[sm->n], h->has_status ? h->status : "", 8);
	sm->has_usage[sm->n] = h->has_usage;
	sm->has_status[sm->n] = h->has_status;
	sm->has_snapshot[sm->n] = h->has_snapshot;
	sm->last_received[sm->n] = h->last_received;
	for (i = 0; i < h->usage.n; i++)
		if (strcmp(h->usage.v[i].name, "semmns") == 0) {
			sm->semmns_used[sm->n] = h->usage.v[i].used;
			sm->semmns_limit[sm->n] = h->usage.v[i].limit;
		}
	sm->n++;
	return 0;
}

/* The usage kept beside a snapshot keeps what is unknown, and why (version 2). */
static void
test_usage_summary_unknown(void **state)
{
	char names[USAGE_MAX][MODEL_NAME_MAX];
	struct usage u, v;
	struct buf b;

	(void)state;
	memset(&u, 0, sizeof(u));
	u.n = 2;
	u.v[0].name = "semmns";
	u.v[0].limit = 340;
	u.v[0].has_limit = 1;
	u.v[0].unknown_used = 1;
	ifl_strlcpy(u.v[0].why, "ipcs has no NSEMS column", sizeof(u.v[0].why));
	u.v[1].name = "semmni";
	u.v[1].used = 17;
	u.v[1].limit = 50;
	u.v[1].has_limit = 1;
	buf_init(&b, 4096);
	assert_int_equal(sb_usage_encode(&u, &b), 0);
	assert_int_equal(sb_usage_decode((const uint8_t *)b.data, b.len, &v, names), 0);
	assert_int_equal(v.n, 2);
	assert_string_equal(v.v[0].name, "semmns");
	assert_int_equal(v.v[0].unknown_used, 1);
	assert_int_equal(v.v[0].has_limit, 1);
	assert_int_equal(v.v[0].limit, 340);
	assert_string_equal(v.v[0].why, "ipcs has no NSEMS column");
	assert_int_equal(v.v[1].unknown_used, 0);
	assert_int_equal(v.v[1].used, 17);
	assert_string_equal(v.v[1].why, "");
	/* cut anywhere: refused, never half a summary */
	for (; b.len > 0; b.len--)
		assert_int_equal(sb_usage_decode((const uint8_t *)b.data, b.len - 1, &v, names),
		                 -1);
	buf_free(&b);
}

/* Housekeeping rolls a silent host's last hour up before deleting its block. */
static void
test_housekeep_blocks(void **state)
{
	char path[512], err[512] = "";
	struct sample sm[4];
	struct rollup r[4];
	struct store *st;
	size_t deleted = 0;

	(void)state;
	db_path(path, sizeof(path), "hk.db");
	st = open_ok(path);
	fixture_put_used(st, "hk", 1, 7200, 4);
	fixture_put_used(st, "hk", 2, 7260, 6);
	/* the hour is not over before keep: kept (the sequences received at 7201 and 7261 go) */
	assert_int_equal(store_housekeep(st, 7200 + 3599, 0, 100, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(fixture_series(st, "hk", "semmns", 0, sm, NELEM(sm)), 2);
	assert_int_equal(store_housekeep(st, 7200 + 3600, 0, 100, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 1);
	assert_int_equal(fixture_series(st, "hk", "semmns", 0, sm, NELEM(sm)), 0);
	assert_int_equal(fixture_rollups(st, "hk", "semmns", r, NELEM(r)), 1);
	assert_int_equal(r[0].hour, 7200);
	assert_int_equal(r[0].min, 4);
	assert_int_equal(r[0].max, 6);
	assert_int_equal(r[0].count, 2);
	assert_true(fixture_dabs(r[0].mean - 5.0) < 1e-9);
	store_close(st);
}

/*
 * Housekeeping runs every check_interval on tables of millions of rows: each
 * of its statements must find its rows through an index, never read a
 * whole table (EXPLAIN QUERY PLAN says SCAN for that).
 */
static void
test_housekeep_plans(void **state)
{
	char path[512];
	struct store *st;
	sqlite3 *db;
	const char *sql;
	size_t i;

	(void)state;
	db_path(path, sizeof(path), "plans.db");
	st = open_ok(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (i = 0; (sql = store_sqlite_housekeep_sql(i)) != NULL; i++) {
		char explain[1024];
		sqlite3_stmt *x;

		snprintf(explain, sizeof(explain), "EXPLAIN QUERY PLAN %s", sql);
		assert_int_equal(sqlite3_prepare_v2(db, explain, -1, &x, NULL), SQLITE_OK);
		while (sqlite3_step(x) == SQLITE_ROW) {
			const char *detail = (const char *)sqlite3_column_text(x, 3);

			assert_non_null(detail);
			if (strncmp(detail, "SCAN ", 5) == 0)
				fail_msg("housekeeping statement %zu reads a whole table (%s): %s",
				         i, detail, sql);
		}
		sqlite3_finalize(x);
	}
	assert_true(i >= 6);
	sqlite3_close(db);
	store_close(st);
}

/*
 * Rows dated a year ahead (stored before the server filed such snapshots
 * at their arrival) would never reach retention: housekeeping removes
 * them, and only them.
 */
static void
test_housekeep_future(void **state)
{
	char path[512], err[512] = "", cnt[32], sql[256];
	int64_t now = now_unix(), ahead = now + 366 * 86400;
	struct sample sm[4];
	struct store *st;
	size_t deleted = 0;

	(void)state;
	db_path(path, sizeof(path), "hkfuture.db");
	st = open_ok(path);
	fixture_put_used(st, "hf", 1, now - 7200, 5);
	fixture_put_used(st, "hf", 2, ahead, 4);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO rollups VALUES ((SELECT id FROM hosts WHERE name = 'hf'), 'semmns', "
	         "%lld, 4, 4, 4.0, 1, 32000)",
	         (long long)(ahead - ahead % 3600));
	sql_exec(path, sql);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO peaks VALUES ((SELECT id FROM hosts WHERE name = 'hf'), 'semmns', "
	         "%lld, 4)",
	         (long long)(ahead - ahead % 86400));
	sql_exec(path, sql);
	assert_int_equal(fixture_series(st, "hf", "semmns", 0, sm, NELEM(sm)), 2);
	assert_int_equal(sm[1].t, ahead);
	/* nothing is old enough for retention: only the future goes */
	assert_int_equal(store_housekeep(st, 0, 0, 100, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 3);
	assert_int_equal(fixture_series(st, "hf", "semmns", 0, sm, NELEM(sm)), 1);
	assert_int_equal(sm[0].t, now - 7200);
	snprintf(sql, sizeof(sql),
	         "SELECT (SELECT count(*) FROM rollups WHERE hour > %lld) +"
	         " (SELECT count(*) FROM peaks WHERE day > %lld)",
	         (long long)now, (long long)now);
	sql_text(path, sql, cnt, sizeof(cnt));
	assert_string_equal(cnt, "0");
	store_close(st);
}

/*
 * A symbolic link planted at the database path, or at its -wal or -shm
 * file, is refused, not followed: the file it points to stays untouched.
 */
static void
test_open_symlink(void **state)
{
	static const char *const at[] = {"", "-wal", "-shm"};
	char path[512], victim[512], link[600], err[1024], want[1200];
	struct stat sb;
	size_t i;
	FILE *fp;

	(void)state;
	db_path(victim, sizeof(victim), "victim");
	assert_non_null(fp = fopen(victim, "w"));
	fputs("precious\n", fp);
	fclose(fp);
	for (i = 0; i < NELEM(at); i++) {
		snprintf(path, sizeof(path), "%s/link%zu.db", tmpdir, i);
		if (i > 0) /* the database itself exists, a companion is the link */
			store_close(open_ok(path));
		snprintf(link, sizeof(link), "%s%s", path, at[i]);
		(void)unlink(link);
		assert_int_equal(symlink(victim, link), 0);
		err[0] = '\0';
		assert_null(store_open_sqlite(path, err, sizeof(err)));
		snprintf(want, sizeof(want), "%s: is a symbolic link; refusing to follow it", link);
		assert_string_equal(err, want);
		assert_int_equal(stat(victim, &sb), 0);
		assert_int_equal(sb.st_size, 9);
	}
}

/* Received sequences are kept as long as samples (retention), not rollup_retention. */
static void
test_housekeep_received(void **state)
{
	char path[512], err[512] = "", cnt[32];
	struct store *st;
	size_t deleted = 0;

	(void)state;
	db_path(path, sizeof(path), "hkrecv.db");
	st = open_ok(path);
	fixture_put_used(st, "hr", 1, 7200, 4);
	fixture_put_used(st, "hr", 2, 7260, 6);
	/* samples kept from 7230 on: the sequence received at 7201 goes, 7261 stays */
	assert_int_equal(store_housekeep(st, 7230, 0, 100, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 1);
	sql_text(path, "SELECT group_concat(seq) FROM received", cnt, sizeof(cnt));
	assert_string_equal(cnt, "2");
	store_close(st);
}

/* A version 1 database: its samples become blocks, its rollups and findings stay. */
static void
test_migrate_v1(void **state)
{
	static const char *const v1[] = {
	    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
	    "INSERT INTO meta VALUES ('schema_version', '1')",
	    "CREATE TABLE hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	    " os TEXT NOT NULL, os_release TEXT NOT NULL, agent TEXT NOT NULL,"
	    " page_size INTEGER NOT NULL, boot_time INTEGER NOT NULL,"
	    " interval INTEGER NOT NULL DEFAULT 0, last_seq INTEGER, last_taken INTEGER,"
	    " last_received INTEGER, snapshot BLOB)",
	    "CREATE TABLE received (host_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
	    " taken INTEGER NOT NULL, received INTEGER NOT NULL,"
	    " PRIMARY KEY (host_id, seq)) WITHOUT ROWID",
	    "CREATE TABLE samples (host_id INTEGER NOT NULL, limit_name TEXT NOT NULL,"
	    " t INTEGER NOT NULL, used INTEGER NOT NULL, lim INTEGER NOT NULL,"
	    " PRIMARY KEY (host_id, limit_name, t)) WITHOUT ROWID",
	    "CREATE TABLE rollups (host_id INTEGER NOT NULL, limit_name TEXT NOT NULL,"
	    " hour INTEGER NOT NULL, mn INTEGER NOT NULL, mx INTEGER NOT NULL, mean REAL NOT NULL,"
	    " cnt INTEGER NOT NULL, lim INTEGER NOT NULL,"
	    " PRIMARY KEY (host_id, limit_name, hour)) WITHOUT ROWID",
	    "CREATE TABLE findings (id INTEGER PRIMARY KEY, host_id INTEGER NOT NULL,"
	    " fkey TEXT NOT NULL, kind TEXT NOT NULL, severity INTEGER NOT NULL,"
	    " limit_name TEXT NOT NULL, scope TEXT NOT NULL, message TEXT NOT NULL,"
	    " has_object INTEGER NOT NULL, otype INTEGER NOT NULL, oid INTEGER NOT NULL,"
	    " age INTEGER NOT NULL, uid INTEGER NOT NULL, owner TEXT NOT NULL,"
	    " command TEXT NOT NULL, has_headroom INTEGER NOT NULL, held INTEGER NOT NULL,"
	    " free INTEGER NOT NULL, safe_limit INTEGER NOT NULL, exhaust_at INTEGER NOT NULL,"
	    " opened INTEGER NOT NULL, updated INTEGER NOT NULL, closed INTEGER)",
	    "CREATE INDEX findings_open ON findings (host_id, closed)",
	    "CREATE INDEX findings_closed ON findings (closed)",
	    "INSERT INTO hosts VALUES (1, 'old', 'Linux', '6.1', 'a', 4096, 9, 60, 3, 7320, 7321,"
	    " x'00')",
	    "INSERT INTO received VALUES (1, 1, 7200, 7201), (1, 2, 7260, 7261), (1, 3, 7320, "
	    "7321)",
	    /* shmall's limit is Linux's default: above INT64_MAX, stored as its bit pattern */
	    "INSERT INTO samples VALUES (1, 'semmns', 7200, 5, 340), (1, 'semmns', 7260, 5, 340),"
	    " (1, 'semmns', 7320, 8, 340), (1, 'shmall', 7200, 2, -16777217),"
	    " (1, 'shmall', 7260, 2, -16777217), (1, 'shmall', 7320, 2, -16777217)",
	    "INSERT INTO rollups VALUES (1, 'semmns', 7200, 5, 8, 6.0, 3, 340),"
	    " (1, 'semmns', 3600, 1, 1, 1.0, 1, 340)",
	    "INSERT INTO findings VALUES (1, 1, 'threshold semmns ', 'threshold', 1, 'semmns', '',"
	    " 'semmns at 85%', 0, 1, 0, 0, 0, '', '', 0, 0, 0, 0, 0, 7200, 7200, NULL)",
	};
	char path[512], err[512] = "", txt[64];
	const char *semmns = "semmns";
	uint64_t peak = 99;
	struct sample sm[8];
	struct rollup r[8];
	struct sums sums;
	struct store *st;
	sqlite3 *db;
	size_t i;

	(void)state;
	db_path(path, sizeof(path), "v1.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (i = 0; i < NELEM(v1); i++)
		if (sqlite3_exec(db, v1[i], NULL, NULL, NULL) != SQLITE_OK)
			fail_msg("%s: %s", v1[i], sqlite3_errmsg(db));
	sqlite3_close(db);

	st = open_ok(path);
	sql_text(path, "SELECT value FROM meta WHERE key = 'schema_version'", txt, sizeof(txt));
	assert_string_equal(txt, "5");
	/* version 4: the received rows belong to the legacy spool id, without digest */
	sql_text(
	    path,
	    "SELECT group_concat(seq || ':' || spool || ':' || (digest IS NULL)) FROM received",
	    txt, sizeof(txt));
	assert_string_equal(txt, "1::1,2::1,3::1");
	sql_text(path, "SELECT last_spool || '|' || last_seq || '|' || hex(snapshot) FROM hosts",
	         txt, sizeof(txt));
	assert_string_equal(txt, "|3|00");
	sql_text(path, "SELECT count(*) FROM sqlite_master WHERE name = 'samples_v1'", txt,
	         sizeof(txt));
	assert_string_equal(txt, "0");
	assert_int_equal(fixture_series(st, "old", "semmns", 0, sm, NELEM(sm)), 3);
	assert_int_equal(sm[0].t, 7200);
	assert_int_equal(sm[0].used, 5);
	assert_int_equal(sm[2].t, 7320);
	assert_int_equal(sm[2].used, 8);
	assert_int_equal(sm[2].limit, 340);
	assert_int_equal(fixture_series(st, "old", "shmall", 0, sm, NELEM(sm)), 3);
	assert_true(sm[1].limit == LINUX_SHMALL);
	/* the rollups are as they were: the converted block is marked rolled */
	assert_int_equal(fixture_rollups(st, "old", "semmns", r, NELEM(r)), 2);
	assert_int_equal(r[1].hour, 7200);
	assert_int_equal(r[1].count, 3);
	/* the status comes from the open finding; the usage is not known yet */
	memset(&sums, 0, sizeof(sums));
	assert_int_equal(
	    st->ops->each_host_summary(st, NULL, 0, collect_summary, &sums, err, sizeof(err)), 0);
	assert_int_equal(sums.n, 1);
	assert_string_equal(sums.status[0], "warn");
	assert_int_equal(sums.has_usage[0], 0);
	/* the daily peaks come from the rollups */
	assert_int_equal(st->ops->peaks(st, "old", 0, &semmns, 1, &peak, err, sizeof(err)), 0);
	assert_int_equal(peak, 8);
	/* a new sample in the converted hour joins its rollup, and its day's peak */
	fixture_put_used(st, "old", 4, 7380, 11);
	assert_int_equal(fixture_rollups(st, "old", "semmns", r, NELEM(r)), 2);
	assert_int_equal(r[1].count, 4);
	assert_int_equal(r[1].max, 11);
	assert_int_equal(st->ops->peaks(st, "old", 0, &semmns, 1, &peak, err, sizeof(err)), 0);
	assert_int_equal(peak, 11);
	/* from 7300 on: only hour 7200's rollup is before; the block of 7200 is rolled */
	assert_int_equal(st->ops->peaks(st, "old", 7300, &semmns, 1, &peak, err, sizeof(err)), 0);
	assert_int_equal(peak, 0);
	assert_int_equal(fixture_series(st, "old", "semmns", 0, sm, NELEM(sm)), 4);
	/* and the dedupe table came through: a legacy agent's resend is a duplicate */
	fixture_put_ok(st, "old", 2, 7260, 5, "again", 9000, 1);
	store_close(st);
}

/* ---- count runs (leak and queue_fill history) ---- */

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_creates_0600_wal),
	    cmocka_unit_test(test_open_existing_keeps_mode),
	    cmocka_unit_test(test_reopen_durable),
	    cmocka_unit_test(test_get_unknown),
	    cmocka_unit_test(test_schema_newer_refused),
	    cmocka_unit_test(test_missing_directory),
	    cmocka_unit_test(test_path_is_directory),
	    cmocka_unit_test(test_read_back_types),
	    cmocka_unit_test(test_series_blocks),
	    cmocka_unit_test(test_series_compact),
	    cmocka_unit_test(test_usage_summary_unknown),
	    cmocka_unit_test(test_housekeep_blocks),
	    cmocka_unit_test(test_housekeep_plans),
	    cmocka_unit_test(test_housekeep_received),
	    cmocka_unit_test(test_housekeep_future),
	    cmocka_unit_test(test_open_symlink),
	    cmocka_unit_test(test_migrate_v1),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
