/*
 * test_store_contract.c: the store's contract (store.h), one suite run
 * against both backends.  Compiled twice (tests/CMakeLists.txt): as
 * test_store_contract against SQLite, in a private directory, and with
 * CONTRACT_PG as test_store_contract_pg against the PostgreSQL database
 * that IPCFLEET_PG_URL names (tests/unit/with-pg.sh makes a throwaway
 * cluster for it; without one it exits 77).  Each test opens two stores on
 * one database, as two aggregators or an aggregator restarted, and
 * checks what either backend must answer alike; what only one backend does
 * (migrations, files and modes, reconnects, locks, housekeeping plans) is
 * tested in test_store.c and test_store_pg.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "model.h"
#include "proto.h"
#include "store.h"
#include "util.h"

/* Linux's default shmall: does not fit an int64_t. */
#define LINUX_SHMALL 18446744073692774399ULL

/* ---- the backend factory: open a store, reach its database directly ---- */

#ifdef CONTRACT_PG
#include "fixture_pg.h"

/* The database and a store on it: fixture_pg.c, shared with test_store_pg.c. */
#define db_exec fixture_pg_exec
#define db_int  fixture_pg_int
#define open_ok fixture_pg_open
#define setup   fixture_pg_setup

/* Makes the inserts into table where cond holds fail, as a full disk would (NULL: stop). */
static void
db_fail(const char *table, const char *cond)
{
	char sql[512];

	if (cond == NULL)
		snprintf(sql, sizeof(sql), "DROP TRIGGER boom ON %s", table);
	else {
		snprintf(sql, sizeof(sql),
		         "CREATE OR REPLACE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS"
		         " $$BEGIN IF %s THEN RAISE EXCEPTION 'simulated disk full';"
		         " END IF; RETURN NEW; END$$",
		         cond);
		db_exec(sql);
		snprintf(
		    sql, sizeof(sql),
		    "CREATE TRIGGER boom BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION boom()",
		    table);
	}
	db_exec(sql);
}

/* How the store's messages start. */
static const char *
backend_label(void)
{
	return "postgresql://";
}

/* A blob literal of hex digits. */
#define BLOB(hex) "'\\x" hex "'::bytea"
/* A blob of n zero bytes. */
#define ZEROBLOB(n) "decode(repeat('00', " n "), 'hex')"
/* Text that is not UTF-8 is stored with '?' for each bad sequence (PostgreSQL's text is UTF-8). */
#define STORED_CAFE "caf?"

static int
backend_start(void)
{
	return fixture_pg_start("test_store_contract_pg");
}

static void
backend_stop(void)
{
	fixture_pg_stop();
}

#else /* SQLite */
#include <sqlite3.h>

static char dir[256], path[300];

static sqlite3 *
db_open(void)
{
	sqlite3 *d = NULL;

	if (sqlite3_open_v2(path, &d, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		fail_msg("%s: %s", path, d != NULL ? sqlite3_errmsg(d) : "cannot open");
	sqlite3_busy_timeout(d, 5000);
	return d;
}

static void
db_exec(const char *sql)
{
	sqlite3 *d = db_open();
	char *msg = NULL;

	if (sqlite3_exec(d, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg != NULL ? msg : "?");
	sqlite3_close(d);
}

static long long
db_int(const char *sql)
{
	sqlite3 *d = db_open();
	sqlite3_stmt *x = NULL;
	long long v;

	if (sqlite3_prepare_v2(d, sql, -1, &x, NULL) != SQLITE_OK ||
	    sqlite3_step(x) != SQLITE_ROW || sqlite3_column_type(x, 0) != SQLITE_INTEGER)
		fail_msg("%s: %s", sql, sqlite3_errmsg(d));
	v = sqlite3_column_int64(x, 0);
	sqlite3_finalize(x);
	sqlite3_close(d);
	return v;
}

static struct store *
open_ok(void)
{
	char err[512] = "";
	struct store *st = store_open("sqlite", path, "", err, sizeof(err));

	if (st == NULL)
		fail_msg("store_open_sqlite: %s", err);
	return st;
}

static void
db_fail(const char *table, const char *cond)
{
	char sql[512];

	if (cond == NULL)
		snprintf(sql, sizeof(sql), "DROP TRIGGER boom");
	else
		snprintf(sql, sizeof(sql),
		         "CREATE TRIGGER boom BEFORE INSERT ON %s WHEN %s"
		         " BEGIN SELECT RAISE(ABORT, 'simulated disk full'); END",
		         table, cond);
	db_exec(sql);
}

static const char *
backend_label(void)
{
	return path;
}

#define BLOB(hex)   "x'" hex "'"
#define ZEROBLOB(n) "zeroblob(" n ")"
#define STORED_CAFE "caf\xe9" /* SQLite keeps the bytes */

/* Each test starts from no database at all. */
static int
setup(void **state)
{
	static const char *const ext[] = {"", "-wal", "-shm"};
	char f[320];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(ext); i++) {
		snprintf(f, sizeof(f), "%s%s", path, ext[i]);
		if (unlink(f) == -1 && errno != ENOENT)
			fail_msg("%s: %s", f, strerror(errno));
	}
	return 0;
}

static int
backend_start(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/ipcfleet-contract.XXXXXX", tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "test_store_contract: mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/contract.db", dir);
	return 0;
}

static void
backend_stop(void)
{
	setup(NULL);
	rmdir(dir);
}
#endif

/* ---- building input ---- */

/* ---- collecting each_host ---- */

/* ---- tests ---- */

static void
test_two_hosts_sorted(void **state)
{
	char err[512] = "";
	struct fixture_seen sn = {0};
	struct store *st;

	(void)state;
	st = open_ok();
	fixture_put_ok(st, "zeta", 3, 1000, 10, "ZZZ", 1002, 0);
	{
		struct host_info hi;
		struct snapshot s;
		uint64_t used = 1;
		int dup = -1;

		fixture_info(&hi, "alpha", "Linux");
		hi.page_size = 65536;
		hi.boot_time = -5;
		hi.interval = 0;
		fixture_snap(&s, 42, 2000, &used, 1, 1, 250, LINUX_SHMALL);
		assert_int_equal(store_put_snapshot(st, &hi, &s, (const uint8_t *)"A\0AA", 4, 2001,
		                                    &dup, err, sizeof(err)),
		                 0);
		assert_int_equal(dup, 0);
		snapshot_free(&s);
	}

	sn.st = st; /* fn queries the store in the middle of the walk */
	assert_int_equal(store_each_host(st, fixture_collect, &sn, err, sizeof(err)), 0);
	assert_int_equal(sn.n, 2);
	assert_string_equal(sn.h[0].info.name, "alpha");
	assert_string_equal(sn.h[0].info.os, "Linux");
	assert_string_equal(sn.h[0].info.os_release, "6.1.0-18-amd64");
	assert_string_equal(sn.h[0].info.agent, "ipcfleet-agent 0.1.0");
	assert_int_equal(sn.h[0].info.page_size, 65536);
	assert_int_equal(sn.h[0].info.boot_time, -5);
	assert_int_equal(sn.h[0].info.interval, 0);
	assert_int_equal(sn.h[0].last_seq, 42);
	assert_int_equal(sn.h[0].last_taken, 2000);
	assert_int_equal(sn.h[0].last_received, 2001);
	assert_int_equal(sn.h[0].rawlen, 4);
	assert_memory_equal(sn.h[0].raw, "A\0AA", 4);
	assert_string_equal(sn.h[1].info.name, "zeta");
	assert_string_equal(sn.h[1].info.os, "FreeBSD");
	assert_int_equal(sn.h[1].info.interval, 60);
	assert_int_equal(sn.h[1].last_seq, 3);
	fixture_assert_raw(&sn.h[1], "ZZZ");
	fixture_seen_free(&sn);

	memset(&sn, 0, sizeof(sn));
	sn.stop_after = 1;
	assert_int_equal(store_each_host(st, fixture_collect, &sn, err, sizeof(err)), 7);
	assert_int_equal(sn.n, 1);
	assert_string_equal(sn.h[0].info.name, "alpha");
	fixture_seen_free(&sn);

	/* the walk can run again, and the connection is out of its transaction */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_each_host(st, fixture_collect, &sn, err, sizeof(err)), 0);
	assert_int_equal(sn.n, 2);
	fixture_seen_free(&sn);
	fixture_put_ok(st, "zeta", 4, 1100, 11, "Z4", 1102, 0);
	store_close(st);
}

static void
test_older_seq_keeps_newest(void **state)
{
	char err[512] = "";
	struct stored_host h;
	struct sample sm[8];
	struct store *a, *b;
	size_t n = 0;

	(void)state;
	a = open_ok();
	b = open_ok();
	fixture_put_ok(a, "db1", 10, 1000, 10, "seq10", 1001, 0);
	fixture_put_ok(b, "db1", 9, 900, 9, "seq9", 1500,
	               0); /* late, through the other aggregator */

	assert_int_equal(store_get_host(a, "db1", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 10);
	assert_int_equal(h.last_taken, 1000);
	assert_int_equal(h.last_received, 1001);
	fixture_assert_raw(&h, "seq10");
	stored_host_free(&h);
	assert_int_equal(store_series(a, "db1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 2);
	assert_int_equal(sm[0].t, 900);
	assert_int_equal(sm[0].used, 9);
	assert_int_equal(sm[1].t, 1000);

	fixture_put_ok(b, "db1", 11, 1100, 11, "seq11", 1101, 0);
	/* sequence numbers compare as uint64: 2^63 + 1 is newer than 11 ... */
	fixture_put_ok(a, "db1", (UINT64_C(1) << 63) + 1, 1200, 12, "big", 1201, 0);
	assert_int_equal(store_get_host(b, "db1", &h, err, sizeof(err)), 0);
	assert_true(h.last_seq == (UINT64_C(1) << 63) + 1);
	fixture_assert_raw(&h, "big");
	stored_host_free(&h);
	/* ... and 12 is older than it, though its int64 pattern is larger */
	fixture_put_ok(b, "db1", 12, 1300, 13, "twelve", 1301, 0);
	fixture_put_ok(b, "db1", (UINT64_C(1) << 63) + 1, 1400, 14, "again", 1401, 1);
	/* UINT64_MAX (-1 as a bit pattern) is the newest of all */
	fixture_put_ok(a, "db1", UINT64_MAX, 1500, 15, "max", 1501, 0);
	fixture_put_ok(b, "db1", (UINT64_C(1) << 63) + 2, 1600, 16, "below-max", 1601, 0);
	assert_int_equal(store_get_host(a, "db1", &h, err, sizeof(err)), 0);
	assert_true(h.last_seq == UINT64_MAX);
	assert_int_equal(h.last_taken, 1500);
	fixture_assert_raw(&h, "max");
	stored_host_free(&h);
	assert_int_equal(store_series(a, "db1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 7);
	assert_int_equal(sm[4].t, 1300);
	assert_int_equal(sm[4].used, 13);
	store_close(a);
	store_close(b);
}

/*
 * A time at the far end of int64 (the aggregator files such a snapshot at
 * its arrival; the store must not wrap either): its hour is the first
 * representable one, and the batch commits.  On PostgreSQL the hour was
 * computed with a signed overflow and the batch refused.
 */
static void
test_time_at_int64_min(void **state)
{
	char err[512] = "";
	struct stored_host h;
	struct store *a;

	(void)state;
	a = open_ok();
	fixture_put_ok(a, "db1", 1, INT64_MIN, 5, "ancient", 1001, 0);
	fixture_put_ok(a, "db1", 2, INT64_MIN + 1799, 6, "ancient2", 1002, 0);
	fixture_put_ok(a, "db1", 3, 1000, 7, "now", 1003, 0);
	assert_int_equal(store_get_host(a, "db1", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 3);
	fixture_assert_raw(&h, "now");
	stored_host_free(&h);
	store_close(a);
}

/* A (host, spool, seq) stored before, through either store: acknowledged, nothing stored. */
static void
test_duplicate(void **state)
{
	char err[512] = "";
	struct stored_host h;
	struct sample sm[4];
	struct store *a, *b;
	size_t n = 99;

	(void)state;
	a = open_ok();
	b = open_ok();
	fixture_put_ok(a, "web1", 5, 500, 20, "first", 501, 0);
	/* the same (host, seq) at the other aggregator: acknowledged, nothing stored */
	fixture_put_ok(b, "web1", 5, 600, 99, "second", 601, 1);
	fixture_put_ok(a, "web1", 5, 700, 98, "third", 701, 1);

	assert_int_equal(store_get_host(b, "web1", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 5);
	assert_int_equal(h.last_taken, 500);
	assert_int_equal(h.last_received, 501);
	fixture_assert_raw(&h, "first");
	stored_host_free(&h);
	assert_int_equal(store_series(b, "web1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].t, 500);
	assert_int_equal(sm[0].used, 20);
	assert_int_equal(sm[0].limit, 340);
	assert_int_equal(db_int("SELECT count(*) FROM received"), 1);
	assert_int_equal(db_int("SELECT count(*) FROM hosts"), 1);

	/* the same seq from another host is not a duplicate */
	fixture_put_ok(b, "web2", 5, 700, 30, "other", 701, 0);
	assert_int_equal(store_get_host(a, "web2", &h, err, sizeof(err)), 0);
	fixture_assert_raw(&h, "other");
	stored_host_free(&h);
	/* and web1 is untouched by it */
	assert_int_equal(store_get_host(b, "web1", &h, err, sizeof(err)), 0);
	fixture_assert_raw(&h, "first");
	stored_host_free(&h);
	assert_null(h.raw);
	assert_int_equal(h.rawlen, 0);
	store_close(a);
	store_close(b);
}

/*
 * Values as they were sent, near UINT64_MAX and Linux's shmall included;
 * rollups by hour, min and max compared as unsigned.
 */
static void
test_series_values(void **state)
{
	static const uint64_t sets[][3] = {{17, 25, 100}, {17, 25, 200}, {1, 1, 1}};
	static const int64_t times[] = {7200, 7260, 10800};
	const uint64_t near_max = UINT64_MAX - 5;
	char err[512] = "";
	struct host_info hi;
	struct snapshot s;
	struct sample sm[8];
	struct rollup ru[4];
	struct store *st;
	size_t i, n = 0;
	double mean;
	int dup;

	(void)state;
	st = open_ok();
	fixture_info(&hi, "pg1", "Linux");
	for (i = 0; i < NELEM(times); i++) {
		fixture_snap(&s, i + 1, times[i], sets[i], 3, 10000, near_max, LINUX_SHMALL);
		assert_int_equal(store_put_snapshot(st, &hi, &s, (const uint8_t *)"p", 1,
		                                    times[i] + 1, &dup, err, sizeof(err)),
		                 0);
		assert_int_equal(dup, 0);
		snapshot_free(&s);
	}
	assert_int_equal(store_series(st, "pg1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 3);
	assert_int_equal(sm[0].t, 7200);
	assert_int_equal(sm[0].used, 142);
	assert_true(sm[0].limit == near_max);
	assert_int_equal(sm[1].used, 242);
	assert_int_equal(sm[2].used, 3);
	/* since t0, oldest first, at most max */
	assert_int_equal(
	    store_series(st, "pg1", "semmns", 7201, sm, NELEM(sm), &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sm[0].t, 7260);
	assert_int_equal(sm[1].t, 10800);
	assert_int_equal(store_series(st, "pg1", "semmns", 7201, sm, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].t, 7260);
	assert_int_equal(sm[0].used, 242);
	assert_int_equal(store_series(st, "pg1", "semmns", 10801, sm, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_series(st, "pg1", "shmall", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_int_equal(sm[i].used, 3);
		assert_true(sm[i].limit == LINUX_SHMALL);
	}
	/* a limit the host did not report has no samples; nor has an unknown host */
	assert_int_equal(store_series(st, "pg1", "semmni", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    store_series(st, "nohost", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);

	/* hour 7200 has 142 and 242, hour 10800 has 3 */
	assert_int_equal(store_rollups(st, "pg1", "semmns", 0, ru, NELEM(ru), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 2);
	assert_int_equal(ru[0].hour, 7200);
	assert_int_equal(ru[0].min, 142);
	assert_int_equal(ru[0].max, 242);
	assert_int_equal(ru[0].count, 2);
	assert_true(ru[0].limit == near_max);
	mean = 142.0;
	mean += (242.0 - mean) / 2.0;
	assert_true(ru[0].mean == mean);
	assert_int_equal(ru[1].hour, 10800);
	assert_int_equal(ru[1].min, 3);
	assert_int_equal(ru[1].max, 3);
	assert_int_equal(ru[1].count, 1);
	assert_int_equal(
	    store_rollups(st, "pg1", "semmns", 7201, ru, NELEM(ru), &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ru[0].hour, 10800);

	/* min and max compare as unsigned: 2^63 is larger than 5 */
	{
		uint64_t big = UINT64_C(1) << 63, five = 5;

		fixture_snap(&s, 10, 20000, &big, 1, 1, 340, 1000);
		assert_int_equal(store_put_snapshot(st, &hi, &s, (const uint8_t *)"p", 1, 20001,
		                                    &dup, err, sizeof(err)),
		                 0);
		snapshot_free(&s);
		fixture_snap(&s, 11, 20100, &five, 1, 1, 340, 1000);
		assert_int_equal(store_put_snapshot(st, &hi, &s, (const uint8_t *)"p", 1, 20101,
		                                    &dup, err, sizeof(err)),
		                 0);
		snapshot_free(&s);
		assert_int_equal(
		    store_rollups(st, "pg1", "semmns", 18000, ru, NELEM(ru), &n, err, sizeof(err)),
		    0);
		assert_int_equal(n, 1);
		assert_int_equal(ru[0].hour, 18000);
		assert_int_equal(ru[0].min, 5);
		assert_true(ru[0].max == big);
		assert_int_equal(ru[0].count, 2);
		mean = (double)big;
		mean += (5.0 - mean) / 2.0;
		assert_true(ru[0].mean == mean);
	}
	store_close(st);
}

/*
 * A write failing half-way (here a trigger; a full disk takes the same
 * path) returns -1 with the database's message on one line, and rolls
 * everything back: the retry is not taken for a duplicate.
 */
static void
test_write_failure_rolls_back(void **state)
{
	char err[512] = "";
	struct stored_host h;
	struct sample sm[4];
	struct store *st;
	size_t n = 0;
	int dup = -1;

	(void)state;
	st = open_ok();
	fixture_put_ok(st, "h", 1, 100, 1, "one", 101, 0);
	db_fail("samples", "1 = 1");
	assert_int_equal(fixture_put(st, "h", 2, 200, 2, "two", 201, &dup, err, sizeof(err)), -1);
	assert_int_equal(dup, 0);
	assert_non_null(strstr(err, "storing samples: simulated disk full"));
	assert_true(strncmp(err, backend_label(), strlen(backend_label())) == 0);
	assert_null(strchr(err, '\n'));
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 1);
	fixture_assert_raw(&h, "one");
	stored_host_free(&h);
	assert_int_equal(db_int("SELECT count(*) FROM received"), 1);

	db_fail("samples", NULL);
	fixture_put_ok(st, "h", 2, 200, 2, "two", 201, 0); /* the retry is no duplicate */
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 2);
	fixture_assert_raw(&h, "two");
	stored_host_free(&h);
	assert_int_equal(store_series(st, "h", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 2);

	/* a payload over the frame limit is refused before any SQL */
	{
		struct host_info hi;
		struct snapshot s;
		uint64_t one = 1;
		static const uint8_t b[1];

		fixture_info(&hi, "h", "FreeBSD");
		fixture_snap(&s, 3, 300, &one, 1, 1, 10, 10);
		assert_int_equal(store_put_snapshot(st, &hi, &s, b, 16u * 1024 * 1024 + 1, 301,
		                                    &dup, err, sizeof(err)),
		                 -1);
		assert_non_null(strstr(err, "larger than 16777216 bytes"));
		snapshot_free(&s);
	}
	store_close(st);
}

/* Values read back are bounded: too long is an error, not a truncation. */
static void
test_read_back_bounded(void **state)
{
	static const char x64[] =
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
	static const char too_long[] = ": hosts: bad or too long os, os_release or agent of h";
	char err[512] = "", sql[256];
	struct fixture_seen sn = {0};
	struct stored_host h;
	struct store *st;

	(void)state;
	st = open_ok();
	fixture_put_ok(st, "h", 1, 100, 1, "one", 101, 0);

	/* 64 characters do not fit char[64] with its NUL */
	snprintf(sql, sizeof(sql), "UPDATE hosts SET os = '%.64s'", x64);
	db_exec(sql);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_null(h.raw);
	assert_non_null(strstr(err, too_long));
	assert_true(strncmp(err, backend_label(), strlen(backend_label())) == 0);
	assert_int_equal(store_each_host(st, fixture_collect, &sn, err, sizeof(err)), -1);
	assert_int_equal(sn.n, 0);
	assert_non_null(strstr(err, too_long));
	/* 63 do */
	snprintf(sql, sizeof(sql), "UPDATE hosts SET os = '%.63s'", x64);
	db_exec(sql);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(strlen(h.info.os), 63);
	stored_host_free(&h);

	db_exec("UPDATE hosts SET page_size = 4294967296");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad page_size"));
	db_exec("UPDATE hosts SET page_size = 4096");

	db_exec("UPDATE hosts SET snapshot = " ZEROBLOB("16 * 1024 * 1024 + 1"));
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_null(h.raw);
	assert_non_null(strstr(err, ": hosts: snapshot of h is larger than 16777216 bytes"));
	db_exec("UPDATE hosts SET snapshot = " ZEROBLOB("16 * 1024 * 1024"));
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.rawlen, 16 * 1024 * 1024);
	stored_host_free(&h);

	/* a finding whose severity is out of range */
	db_exec("INSERT INTO findings (host_id, fkey, kind, severity, limit_name, scope, message,"
	        " has_object, otype, oid, age, uid, owner, command, has_headroom, held, free,"
	        " safe_limit, exhaust_at, opened, updated) SELECT id, 'k', 'threshold', 7, '', '',"
	        " 'm', 0, 0, 0, 0, 0, '', '', 0, 0, 0, 0, 0, 1, 1 FROM hosts");
	{
		struct finding *v = NULL;
		size_t n = 9;

		assert_int_equal(store_open_findings(st, "h", &v, &n, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "findings: bad row"));
		assert_null(v);
		assert_int_equal(n, 0);
	}
	store_close(st);
}

/* A host row without a snapshot yet is listed, with raw NULL. */
static void
test_host_without_snapshot(void **state)
{
	char err[512] = "";
	struct fixture_seen sn = {0};
	struct stored_host h;
	struct store *st;

	(void)state;
	st = open_ok();
	fixture_put_ok(st, "b-full", 4, 40, 1, "full", 41, 0);
	db_exec("INSERT INTO hosts (name, os, os_release, agent, page_size, boot_time)"
	        " VALUES ('a-bare', 'Linux', '6.1', 'ipcfleet-agent 0.1.0', 4096, 9)");
	assert_int_equal(store_each_host(st, fixture_collect, &sn, err, sizeof(err)), 0);
	assert_int_equal(sn.n, 2);
	assert_string_equal(sn.h[0].info.name, "a-bare");
	assert_null(sn.h[0].raw);
	assert_int_equal(sn.h[0].last_seq, 0);
	assert_int_equal(sn.h[0].info.boot_time, 9);
	fixture_assert_raw(&sn.h[1], "full");
	fixture_seen_free(&sn);
	assert_int_equal(store_get_host(st, "ghost", &h, err, sizeof(err)), 1);
	assert_null(h.raw);

	/* its first snapshot, seq 0 included, becomes its state */
	fixture_put_ok(st, "a-bare", 0, 50, 2, "zero", 51, 0);
	assert_int_equal(store_get_host(st, "a-bare", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 0);
	assert_int_equal(h.last_taken, 50);
	fixture_assert_raw(&h, "zero");
	stored_host_free(&h);
	store_close(st);
}

struct fleet_findings {
	size_t n;
	char host[8][MODEL_NAME_MAX];
	struct finding f[8];
};

static int
collect_finding(void *arg, const char *host, const struct finding *f)
{
	struct fleet_findings *ff = arg;

	assert_true(ff->n < NELEM(ff->f));
	ifl_strlcpy(ff->host[ff->n], host, MODEL_NAME_MAX);
	ff->f[ff->n++] = *f;
	return 0;
}

static void
test_findings_life_cycle(void **state)
{
	char err[512] = "";
	struct finding cur[3], *open = NULL;
	struct finding_change *ch = NULL;
	struct fleet_findings ff = {0};
	struct store *a, *b;
	size_t n = 0, nch = 0;

	(void)state;
	a = open_ok();
	b = open_ok();
	fixture_put_ok(a, "h1", 1, 100, 1, "x", 101, 0);
	fixture_put_ok(a, "h2", 1, 100, 1, "x", 101, 0);

	fixture_finding(&cur[0], FK_THRESHOLD, SEV_WARN, "semmns", "", "semmns at 85%");
	/* text that is not UTF-8: stored as the backend can (STORED_CAFE), and read back alike */
	fixture_finding(&cur[1], FK_ORPHAN, SEV_INFO, "", "jail:caf\xe9", "orphan in caf\xe9");
	cur[1].has_object = 1;
	cur[1].otype = IPC_SHM;
	cur[1].oid = 65538;
	cur[1].uid = 770;
	ifl_strlcpy(cur[1].owner, "pgsql", sizeof(cur[1].owner));
	ifl_strlcpy(cur[1].command, "ipcrm -m 65538", sizeof(cur[1].command));
	assert_int_equal(store_sync_findings(a, "h1", cur, 2, 1000, &ch, &nch, err, sizeof(err)),
	                 0);
	assert_int_equal(nch, 2);
	assert_int_equal(ch[0].what, FC_OPENED);
	assert_int_equal(ch[1].what, FC_OPENED);
	assert_string_equal(ch[1].f.scope, "jail:" STORED_CAFE);
	free(ch);

	/* the other aggregator sees them, and the same input changes nothing */
	assert_int_equal(store_open_findings(b, "h1", &open, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(open[0].kind, FK_THRESHOLD);
	assert_int_equal(open[0].severity, SEV_WARN);
	assert_string_equal(open[0].message, "semmns at 85%");
	assert_int_equal(open[0].opened, 1000);
	assert_int_equal(open[1].kind, FK_ORPHAN);
	assert_string_equal(open[1].scope, "jail:" STORED_CAFE);
	assert_string_equal(open[1].message, "orphan in " STORED_CAFE);
	assert_int_equal(open[1].has_object, 1);
	assert_int_equal(open[1].otype, IPC_SHM);
	assert_int_equal(open[1].oid, 65538);
	assert_int_equal(open[1].uid, 770);
	assert_string_equal(open[1].owner, "pgsql");
	assert_string_equal(open[1].command, "ipcrm -m 65538");
	free(open);
	assert_int_equal(store_sync_findings(b, "h1", cur, 2, 1100, &ch, &nch, err, sizeof(err)),
	                 0);
	assert_int_equal(nch, 0);
	free(ch);

	/* worse: changed; the orphan gone: closed */
	fixture_finding(&cur[0], FK_THRESHOLD, SEV_CRIT, "semmns", "", "semmns at 95%");
	cur[0].held = UINT64_MAX; /* stored as its bit pattern */
	assert_int_equal(store_sync_findings(b, "h1", cur, 1, 1200, &ch, &nch, err, sizeof(err)),
	                 0);
	assert_int_equal(nch, 2);
	assert_int_equal(ch[0].what, FC_CHANGED);
	assert_int_equal(ch[0].previous, SEV_WARN);
	assert_int_equal(ch[0].f.severity, SEV_CRIT);
	assert_int_equal(ch[0].f.opened, 1000);
	assert_int_equal(ch[1].what, FC_CLOSED);
	assert_int_equal(ch[1].f.kind, FK_ORPHAN);
	assert_int_equal(ch[1].f.updated, 1200);
	free(ch);
	assert_int_equal(db_int("SELECT count(*) FROM findings WHERE closed = 1200"), 1);

	fixture_finding(&cur[2], FK_STALE, SEV_WARN, "", "", "no snapshot");
	assert_int_equal(store_sync_findings(a, "h2", &cur[2], 1, 900, &ch, &nch, err, sizeof(err)),
	                 0);
	free(ch);
	/* the fleet: worst first, then oldest */
	assert_int_equal(store_each_open_finding(a, collect_finding, &ff, err, sizeof(err)), 0);
	assert_int_equal(ff.n, 2);
	assert_string_equal(ff.host[0], "h1");
	assert_int_equal(ff.f[0].severity, SEV_CRIT);
	assert_string_equal(ff.f[0].message, "semmns at 95%");
	assert_true(ff.f[0].held == UINT64_MAX);
	assert_int_equal(ff.f[0].updated, 1200);
	assert_string_equal(ff.host[1], "h2");
	assert_int_equal(ff.f[1].kind, FK_STALE);

	/* findings of a host never seen: refused */
	assert_int_equal(
	    store_sync_findings(a, "nobody", cur, 1, 1300, &ch, &nch, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "findings for unknown host nobody"));
	assert_null(ch);
	assert_int_equal(nch, 0);
	store_close(a);
	store_close(b);
}

struct summaries {
	size_t n;
	struct {
		char name[MODEL_NAME_MAX];
		char status[8];
		int has_snapshot, has_usage, has_status;
		uint64_t semmns_used, semmns_limit, shmall_used;
		int64_t last_received;
	} h[8];
};

static int
collect_summary(void *arg, const struct host_summary *hs)
{
	struct summaries *sm = arg;
	size_t i;

	if (sm->n == NELEM(sm->h))
		return -1;
	ifl_strlcpy(sm->h[sm->n].name, hs->info.name, sizeof(sm->h[0].name));
	ifl_strlcpy(sm->h[sm->n].status, hs->status, sizeof(sm->h[0].status));
	sm->h[sm->n].has_snapshot = hs->has_snapshot;
	sm->h[sm->n].has_usage = hs->has_usage;
	sm->h[sm->n].has_status = hs->has_status;
	sm->h[sm->n].last_received = hs->last_received;
	for (i = 0; hs->has_usage && i < hs->usage.n; i++) {
		if (strcmp(hs->usage.v[i].name, "semmns") == 0) {
			sm->h[sm->n].semmns_used = hs->usage.v[i].used;
			sm->h[sm->n].semmns_limit = hs->usage.v[i].limit;
		} else if (strcmp(hs->usage.v[i].name, "shmall") == 0)
			sm->h[sm->n].shmall_used = hs->usage.v[i].used;
	}
	sm->n++;
	return 0;
}

/* Stores a real (encoded) snapshot of host: 2 x 17 semaphores, an 8 KiB segment. */
static void
put_encoded(struct store *st, const char *host, uint64_t seq)
{
	static const uint64_t nsems[2] = {17, 17};
	char err[512] = "";
	struct host_info hi;
	struct snapshot s;
	struct buf b;
	int dup = -1;

	fixture_info(&hi, host, "FreeBSD");
	fixture_snap(&s, seq, 1000, nsems, 2, 8192, 340, 1000);
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	if (store_put_snapshot(st, &hi, &s, (const uint8_t *)b.data + PROTO_HDR_LEN,
	                       b.len - PROTO_HDR_LEN, 1001, &dup, err, sizeof(err)) != 0)
		fail_msg("put_snapshot: %s", err);
	buf_free(&b);
	snapshot_free(&s);
}

/*
 * Each host's usage from its snapshot and its status from its open findings,
 * in one listing: what the hosts query shows without reading each host.
 */
static void
test_host_summary(void **state)
{
	char err[512] = "";
	struct summaries sm;
	struct finding f[2];
	struct finding_change *ch = NULL;
	struct store *st;
	size_t nch = 0;

	(void)state;
	st = open_ok();
	assert_non_null(st->ops->each_host_summary);
	put_encoded(st, "s1", 1);
	put_encoded(st, "s2", 1);
	put_encoded(st, "s3", 1);
	fixture_put_ok(st, "s4", 1, 1000, 5, "not msgpack", 1001, 0);
	/* as a row stored before schema version 2 has it: no usage */
	db_exec("UPDATE hosts SET usage = NULL WHERE name = 's4'");
	fixture_finding(&f[0], FK_THRESHOLD, SEV_WARN, "semmns", "", "semmns at 85%");
	assert_int_equal(store_sync_findings(st, "s1", f, 1, 1002, &ch, &nch, err, sizeof(err)), 0);
	free(ch);
	fixture_finding(&f[0], FK_THRESHOLD, SEV_CRIT, "semmns", "", "semmns at 95%");
	fixture_finding(&f[1], FK_STALE, SEV_WARN, "", "", "no snapshot for 3 intervals");
	assert_int_equal(store_sync_findings(st, "s2", f, 2, 1002, &ch, &nch, err, sizeof(err)), 0);
	free(ch);
	/* a closed finding does not count */
	fixture_finding(&f[0], FK_THRESHOLD, SEV_CRIT, "semmns", "", "semmns at 95%");
	assert_int_equal(store_sync_findings(st, "s3", f, 1, 1002, &ch, &nch, err, sizeof(err)), 0);
	free(ch);
	assert_int_equal(store_sync_findings(st, "s3", NULL, 0, 1003, &ch, &nch, err, sizeof(err)),
	                 0);
	free(ch);

	memset(&sm, 0, sizeof(sm));
	if (st->ops->each_host_summary(st, NULL, 0, collect_summary, &sm, err, sizeof(err)) != 0)
		fail_msg("each_host_summary: %s", err);
	assert_int_equal(sm.n, 4);
	assert_string_equal(sm.h[0].name, "s1");
	assert_string_equal(sm.h[0].status, "warn");
	assert_string_equal(sm.h[1].status, "stale");
	assert_string_equal(sm.h[2].status, "ok");
	assert_string_equal(sm.h[3].status, "ok");
	for (size_t i = 0; i < 3; i++) {
		assert_true(sm.h[i].has_snapshot && sm.h[i].has_status && sm.h[i].has_usage);
		assert_int_equal(sm.h[i].semmns_used, 34);
		assert_int_equal(sm.h[i].semmns_limit, 340);
		assert_int_equal(sm.h[i].shmall_used, 2); /* 8192 bytes in 4096-byte pages */
	}
	/* no usage kept: the query takes the long way */
	assert_string_equal(sm.h[3].name, "s4");
	assert_true(sm.h[3].has_snapshot);
	assert_false(sm.h[3].has_usage);

	/* pages: after a name (one that is stored, or not), at most limit */
	memset(&sm, 0, sizeof(sm));
	assert_int_equal(
	    st->ops->each_host_summary(st, "s1", 2, collect_summary, &sm, err, sizeof(err)), 0);
	assert_int_equal(sm.n, 2);
	assert_string_equal(sm.h[0].name, "s2");
	assert_string_equal(sm.h[1].name, "s3");
	assert_string_equal(sm.h[0].status, "stale");
	memset(&sm, 0, sizeof(sm));
	assert_int_equal(
	    st->ops->each_host_summary(st, "s3", 2, collect_summary, &sm, err, sizeof(err)), 0);
	assert_int_equal(sm.n, 1);
	assert_string_equal(sm.h[0].name, "s4");
	memset(&sm, 0, sizeof(sm));
	assert_int_equal(
	    st->ops->each_host_summary(st, "s4", 2, collect_summary, &sm, err, sizeof(err)), 0);
	assert_int_equal(sm.n, 0);
	memset(&sm, 0, sizeof(sm));
	assert_int_equal(
	    st->ops->each_host_summary(st, "s0", 0, collect_summary, &sm, err, sizeof(err)), 0);
	assert_int_equal(sm.n, 4);
	memset(&sm, 0, sizeof(sm));
	assert_int_equal(
	    st->ops->each_host_summary(st, "", 1, collect_summary, &sm, err, sizeof(err)), 0);
	assert_int_equal(sm.n, 1);
	assert_string_equal(sm.h[0].name, "s1");
	store_close(st);
}

/* Group commit: one transaction, a (host, seq) twice in the batch stored once, all or nothing. */
static void
test_put_batch(void **state)
{
	char err[512] = "";
	struct host_info ha, hb;
	struct snapshot s[3];
	struct store_put v[3];
	struct stored_host h;
	struct sample sm[4];
	struct store *st;
	uint64_t one = 1;
	size_t i, n = 0;

	(void)state;
	st = open_ok();
	fixture_info(&ha, "bb", "Linux"); /* sorted after "ba": stored second */
	fixture_info(&hb, "ba", "FreeBSD");
	fixture_snap(&s[0], 1, 100, &one, 1, 4096, 340, 1000);
	fixture_snap(&s[1], 1, 160, &one, 1, 4096, 340, 1000); /* the same seq again */
	fixture_snap(&s[2], 1, 100, &one, 1, 4096, 340, 1000);
	for (i = 0; i < 3; i++)
		v[i] = (struct store_put){.hi = i == 2 ? &hb : &ha,
		                          .s = &s[i],
		                          .raw = (const uint8_t *)(i == 0 ? "first" : "other"),
		                          .rawlen = 5,
		                          .received = 7};
	assert_int_equal(store_put_snapshots(st, v, 3, err, sizeof(err)), 0);
	assert_int_equal(v[0].duplicate, 0);
	assert_int_equal(v[1].duplicate, 1);
	assert_int_equal(v[2].duplicate, 0);
	assert_int_equal(db_int("SELECT count(*) FROM received"), 2);
	assert_int_equal(store_get_host(st, "bb", &h, err, sizeof(err)), 0);
	fixture_assert_raw(&h, "first"); /* the duplicate replaced nothing */
	stored_host_free(&h);

	/* a failure anywhere in the batch stores none of it */
	db_fail("received", "NEW.seq = 3");
	s[0].seq = 2;
	s[1].seq = 3;
	s[2].seq = 2;
	assert_int_equal(store_put_snapshots(st, v, 3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "simulated disk full"));
	for (i = 0; i < 3; i++)
		assert_int_equal(v[i].duplicate, 0);
	assert_int_equal(db_int("SELECT count(*) FROM received"), 2);
	assert_int_equal(store_series(st, "bb", "semmns", 101, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 0);
	db_fail("received", NULL);
	assert_int_equal(store_put_snapshots(st, v, 3, err, sizeof(err)), 0);
	assert_int_equal(db_int("SELECT count(*) FROM received"), 5);
	for (i = 0; i < 3; i++)
		snapshot_free(&s[i]);
	store_close(st);
}

/*
 * Issue 19.1, as test_store.c checks it for SQLite: a lost spool's new
 * numbers are new snapshots (another spool id), the latest follows them, a
 * resend is a duplicate and one with other content a conflict; through two
 * aggregators.
 */
static void
test_spool_identity(void **state)
{
	static const char a[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	                  b[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	char err[512] = "";
	struct stored_host h;
	struct sample sm[16];
	struct store *st, *st2;
	size_t n = 0;

	(void)state;
	st = open_ok();
	st2 = open_ok();
	fixture_put_spool(st, "h", a, 1, 1000, "a1", 0, 0);
	fixture_put_spool(st, "h", a, 2, 1060, "a2", 0, 0);
	fixture_put_spool(st, "h", a, 3, 1120, "a3", 0, 0);
	fixture_put_spool(st2, "h", a, 2, 1060, "a2", 1, 0);
	fixture_put_spool(st2, "h", b, 1, 1180, "b1", 0, 0);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 1);
	assert_int_equal(h.last_taken, 1180);
	fixture_assert_raw(&h, "b1");
	stored_host_free(&h);
	fixture_put_spool(st, "h", b, 2, 1240, "b2", 0, 0);
	fixture_put_spool(st2, "h", a, 4, 1150, "a4", 0, 0);
	assert_int_equal(store_get_host(st2, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 2);
	fixture_assert_raw(&h, "b2");
	stored_host_free(&h);
	/* a duplicate of another spool than the latest's, taken later: not the latest */
	fixture_put_spool(st, "h", a, 5, 1500, "a5", 0, 0);
	fixture_put_spool(st, "h", b, 3, 1400, "b3", 0, 0);
	fixture_put_spool(st, "h", a, 5, 1500, "a5", 1, 0);
	assert_int_equal(store_get_host(st2, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 5);
	fixture_assert_raw(&h, "a5");
	stored_host_free(&h);
	fixture_put_spool(st2, "h", "", 1, 1600, "l1", 0, 0);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	fixture_assert_raw(&h, "l1");
	stored_host_free(&h);
	fixture_put_spool(st, "h", b, 2, 1240, "b2-other", 1, 1);
	fixture_put_spool(st2, "h", "", 1, 1600, "l1-other", 1, 1);
	assert_int_equal(db_int("SELECT count(*) FROM received"), 9);
	assert_int_equal(db_int("SELECT count(DISTINCT spool) FROM received"), 3);
	assert_int_equal(db_int("SELECT count(*) FROM received WHERE length(digest) = 32"), 9);
	assert_int_equal(store_series(st, "h", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 9);
	/*
	 * The agent's clock went back within spool d: d2 (taken 3000) is the
	 * latest.  A resend of e1, stored before and taken later (4000), must
	 * not become the latest: duplicates never move it.
	 */
	fixture_put_spool(st, "k", "dddddddddddddddddddddddddddddddd", 1, 5000, "d1", 0, 0);
	fixture_put_spool(st, "k", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 1, 4000, "e1", 0, 0);
	fixture_put_spool(st, "k", "dddddddddddddddddddddddddddddddd", 2, 3000, "d2", 0, 0);
	fixture_put_spool(st, "k", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 1, 4000, "e1", 1, 0);
	assert_int_equal(store_get_host(st, "k", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 2);
	fixture_assert_raw(&h, "d2");
	stored_host_free(&h);
	store_close(st2);
	store_close(st);
}

/* The semmns rollup of host's hour: exactly these figures (the mean within 1e-9). */
static void
rollup_is(struct store *st, const char *host, int64_t hour, uint64_t mn, uint64_t mx,
          uint64_t count, double mean)
{
	struct rollup r[8];
	size_t n, i;

	n = fixture_rollups(st, host, "semmns", r, NELEM(r));
	for (i = 0; i < n && r[i].hour != hour; i++)
		;
	if (i == n)
		fail_msg("%s: no rollup of hour %" PRId64, host, hour);
	if (r[i].min != mn || r[i].max != mx || r[i].count != count ||
	    fixture_dabs(r[i].mean - mean) > 1e-9)
		fail_msg("%s hour %" PRId64 ": min %" PRIu64 " max %" PRIu64 " count %" PRIu64
		         " mean %.9f, want %" PRIu64 " %" PRIu64 " %" PRIu64 " %.9f",
		         host, hour, r[i].min, r[i].max, r[i].count, r[i].mean, mn, mx, count,
		         mean);
}

/*
 * Flat runs, a change, a time in between two others, the next hour, a late
 * sample into an earlier hour and one into an hour with nothing yet:
 * series() gives back every sample exactly, rollups() agree with them,
 * whichever store reads.  A time stored twice: the newer sequence number's
 * sample replaces the other in series() (the rollups differ there: see
 * the end).
 */
static void
test_series_and_rollups(void **state)
{
	struct sample sm[128];
	struct rollup r[8];
	struct store *st, *st2;
	size_t n, k;

	(void)state;
	st = open_ok();
	st2 = open_ok();
	/* hour 7200: a snapshot a minute, 10 then 20 from minute 30 */
	for (k = 0; k < 60; k++)
		fixture_put_used(k % 2 ? st : st2, "r1", k + 1, 7200 + (int64_t)k * 60,
		                 k < 30 ? 10 : 20);
	/* between minutes 0 and 1 */
	fixture_put_used(st, "r1", 100, 7230, 99);
	n = fixture_series(st2, "r1", "semmns", 0, sm, NELEM(sm));
	assert_int_equal(n, 61);
	assert_int_equal(sm[0].t, 7200);
	assert_int_equal(sm[0].used, 10);
	assert_int_equal(sm[0].limit, 340);
	assert_int_equal(sm[1].t, 7230);
	assert_int_equal(sm[1].used, 99);
	assert_int_equal(sm[2].t, 7260);
	assert_int_equal(sm[2].used, 10);
	assert_int_equal(sm[3].t, 7320);
	assert_int_equal(sm[3].used, 10);
	assert_int_equal(sm[31].t, 7200 + 30 * 60);
	assert_int_equal(sm[31].used, 20);
	assert_int_equal(sm[60].t, 7200 + 59 * 60);
	assert_int_equal(sm[60].used, 20);
	for (k = 1; k < n; k++)
		assert_true(sm[k].t > sm[k - 1].t);
	/* the other limit: every time */
	n = fixture_series(st, "r1", "shmall", 0, sm, NELEM(sm));
	assert_int_equal(n, 61);
	assert_int_equal(sm[60].used, 1);
	assert_int_equal(sm[60].limit, 1000);
	/* since t0, at most max; nothing for an unknown host or limit, or max 0 */
	n = fixture_series(st, "r1", "semmns", 7200 + 30 * 60, sm, NELEM(sm));
	assert_int_equal(n, 30);
	assert_int_equal(sm[0].used, 20);
	n = fixture_series(st, "r1", "semmns", 7200, sm, 3);
	assert_int_equal(n, 3);
	assert_int_equal(sm[2].t, 7260);
	assert_int_equal(fixture_series(st, "r1", "msgmni", 0, sm, NELEM(sm)), 0);
	assert_int_equal(fixture_series(st, "nobody", "semmns", 0, sm, NELEM(sm)), 0);
	assert_int_equal(fixture_series(st, "r1", "semmns", 0, sm, 0), 0);

	/* the hour's rollup */
	n = fixture_rollups(st, "r1", "semmns", r, NELEM(r));
	assert_int_equal(n, 1);
	assert_int_equal(r[0].hour, 7200);
	assert_int_equal(r[0].min, 10);
	assert_int_equal(r[0].max, 99);
	assert_int_equal(r[0].count, 61);
	/* 30 x 10 + 99 + 30 x 20 = 999 */
	assert_true(fixture_dabs(r[0].mean - 999.0 / 61) < 1e-9);
	assert_int_equal(r[0].limit, 340);

	/* the next hour: the same figures for the first */
	fixture_put_used(st2, "r1", 200, 10800 + 5, 7);
	n = fixture_rollups(st, "r1", "semmns", r, NELEM(r));
	assert_int_equal(n, 2);
	assert_int_equal(r[0].hour, 7200);
	assert_int_equal(r[0].count, 61);
	assert_int_equal(r[0].max, 99);
	assert_true(fixture_dabs(r[0].mean - 999.0 / 61) < 1e-9);
	assert_int_equal(r[1].hour, 10800);
	assert_int_equal(r[1].min, 7);
	assert_int_equal(r[1].count, 1);

	/* late into the earlier hour: stored, and counted in its rollup at once */
	fixture_put_used(st, "r1", 201, 7200 + 3599, 500);
	n = fixture_rollups(st2, "r1", "semmns", r, NELEM(r));
	assert_int_equal(n, 2);
	assert_int_equal(r[0].count, 62);
	assert_int_equal(r[0].max, 500);
	n = fixture_series(st2, "r1", "semmns", 0, sm, NELEM(sm));
	assert_int_equal(n, 63);
	assert_int_equal(sm[61].t, 7200 + 3599);
	assert_int_equal(sm[62].t, 10805);
	/* late into an hour with nothing yet */
	fixture_put_used(st, "r1", 202, 3600 + 10, 3);
	n = fixture_rollups(st, "r1", "semmns", r, NELEM(r));
	assert_int_equal(n, 3);
	assert_int_equal(r[0].hour, 3600);
	assert_int_equal(r[0].max, 3);
	assert_int_equal(r[0].count, 1);
	n = fixture_series(st, "r1", "semmns", 0, sm, NELEM(sm));
	assert_int_equal(n, 64);
	assert_int_equal(sm[0].t, 3610);

	/*
	 * A time stored twice (a newer sequence number): its sample is the newer
	 * one's, and the hour's rollup summarises the series as it stands, the
	 * replaced value gone from min, max, mean and count, whether the
	 * replacement came before the hour was rolled up or after.
	 */
	fixture_put_used(st, "r2", 1, 7320, 10);
	fixture_put_used(st2, "r2", 2, 7320, 55);
	n = fixture_series(st, "r2", "semmns", 0, sm, NELEM(sm));
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].t, 7320);
	assert_int_equal(sm[0].used, 55);
	fixture_put_used(st, "r2", 3, 10800, 1); /* the next hour: 7200 is rolled up */
	rollup_is(st2, "r2", 7200, 55, 55, 1, 55.0);
	/* replaced after the roll-up, as the minimum */
	fixture_put_used(st2, "r2", 4, 7320, 30);
	rollup_is(st, "r2", 7200, 30, 30, 1, 30.0);
	/* late into the rolled hour, then replaced as the maximum and as the minimum */
	fixture_put_used(st, "r2", 5, 7380, 20);
	rollup_is(st2, "r2", 7200, 20, 30, 2, 25.0);
	fixture_put_used(st2, "r2", 6, 7320, 12);
	rollup_is(st, "r2", 7200, 12, 20, 2, 16.0);
	fixture_put_used(st, "r2", 7, 7380, 40);
	rollup_is(st2, "r2", 7200, 12, 40, 2, 26.0);
	/* the minimum replaced by a larger value: the other sample is the minimum now */
	fixture_put_used(st2, "r2", 8, 7320, 45);
	rollup_is(st, "r2", 7200, 40, 45, 2, 42.5);
	n = fixture_series(st, "r2", "semmns", 0, sm, NELEM(sm));
	assert_int_equal(n, 3);
	assert_int_equal(sm[0].used, 45);
	assert_int_equal(sm[1].used, 40);
	assert_int_equal(sm[2].used, 1);
	/* the day's peak follows: 55 and 30 were replaced, 45 is the largest left */
	{
		static const char *const names[] = {"semmns"};
		char err[256];
		uint64_t peak = 0;

		uint64_t day_max[1] = {0};
		int have[1] = {0};

		/* PostgreSQL keeps no peaks: the callers fold the rollups checked above */
		if (st2->ops->peaks != NULL) {
			assert_int_equal(
			    st2->ops->peaks(st2, "r2", 0, names, 1, &peak, err, sizeof(err)), 0);
			assert_int_equal(peak, 45);
		}
		if (st2->ops->daily_peaks != NULL) {
			assert_int_equal(st2->ops->daily_peaks(st2, "r2", "semmns", 0, day_max,
			                                       have, 1, err, sizeof(err)),
			                 0);
			assert_int_equal(have[0], 1);
			assert_int_equal(day_max[0], 45);
		}
	}

	/*
	 * The hour's samples deleted by housekeeping, its rollup kept: a late
	 * sample is one more, and one that replaces it moves the mean by the
	 * difference (min and max cannot be taken back).
	 */
	fixture_put_used(st, "r3", 1, 7260, 50);
	fixture_put_used(st, "r3", 2, 7320, 10);
	fixture_put_used(st, "r3", 3, 10800, 1);
	rollup_is(st2, "r3", 7200, 10, 50, 2, 30.0);
	{
		char err[256];
		size_t deleted = 0;

		assert_int_equal(store_housekeep(st2, 10800, 0, 1000, &deleted, err, sizeof(err)),
		                 0);
		assert_true(deleted > 0);
	}
	assert_int_equal(fixture_series(st, "r3", "semmns", 0, sm, NELEM(sm)), 1);
	fixture_put_used(st, "r3", 4, 7320, 20);
	rollup_is(st2, "r3", 7200, 10, 50, 3, 80.0 / 3);
	fixture_put_used(st2, "r3", 5, 7320, 26);
	rollup_is(st, "r3", 7200, 10, 50, 3, 86.0 / 3);

	/*
	 * Housekeeping deletes samples by whole hours on both backends: with
	 * keep inside an hour, that hour keeps all of its samples, and a
	 * replacement there is exact.
	 */
	fixture_put_used(st, "r4", 1, 14460, 50);
	fixture_put_used(st, "r4", 2, 14520, 10);
	fixture_put_used(st, "r4", 3, 18000, 1);
	{
		char err[256];
		size_t deleted = 0;

		assert_int_equal(store_housekeep(st2, 14500, 0, 1000, &deleted, err, sizeof(err)),
		                 0);
	}
	assert_int_equal(fixture_series(st, "r4", "semmns", 0, sm, NELEM(sm)), 3);
	fixture_put_used(st2, "r4", 4, 14520, 20);
	rollup_is(st, "r4", 14400, 20, 50, 2, 35.0);

	/*
	 * Rollups go by whole days: with keep_rollups at 02:00 of day 1, day 0's
	 * go and the 01:00 hour of day 1 stays, though it is before keep.
	 */
	fixture_put_used(st, "r5", 1, 7200, 5);
	fixture_put_used(st, "r5", 2, 86400 + 3600, 6);
	fixture_put_used(st, "r5", 3, 86400 + 7200, 7);
	{
		char err[256];
		size_t deleted = 0;

		assert_int_equal(
		    store_housekeep(st2, 0, 86400 + 7200, 1000, &deleted, err, sizeof(err)), 0);
	}
	n = fixture_rollups(st, "r5", "semmns", r, NELEM(r));
	assert_int_equal(n, 2);
	assert_int_equal(r[0].hour, 86400 + 3600);
	assert_int_equal(r[1].hour, 86400 + 7200);
	store_close(st2);
	store_close(st);
}

/*
 * The summary follows the latest snapshot (not an older one stored after
 * it) and the open findings; a host without a snapshot has neither; a
 * damaged usage summary is not trusted (the caller derives it).
 */
static void
test_host_summary_follows(void **state)
{
	char err[512] = "";
	struct finding f;
	struct finding_change *ch = NULL;
	struct summaries sm;
	struct store *st;
	size_t nch = 0;

	(void)state;
	st = open_ok();
	fixture_put_used(st, "s2", 5, 500, 30);
	fixture_put_used(st, "s2", 4, 400, 99); /* older: the summary stays with seq 5 */
	fixture_put_used(st, "s1", 1, 100, 12);
	db_exec("INSERT INTO hosts (name, os, os_release, agent, page_size, boot_time)"
	        " VALUES ('s0', 'Linux', '6.1', 'a', 4096, 9)");
	fixture_finding(&f, FK_THRESHOLD, SEV_CRIT, "semmns", "", "semmns at 95%");
	assert_int_equal(store_sync_findings(st, "s2", &f, 1, 600, &ch, &nch, err, sizeof(err)), 0);
	free(ch);
	assert_int_equal(store_sync_findings(st, "s1", NULL, 0, 600, &ch, &nch, err, sizeof(err)),
	                 0);
	free(ch);

	memset(&sm, 0, sizeof(sm));
	assert_int_equal(
	    st->ops->each_host_summary(st, NULL, 0, collect_summary, &sm, err, sizeof(err)), 0);
	assert_int_equal(sm.n, 3);
	assert_string_equal(sm.h[0].name, "s0");
	assert_int_equal(sm.h[0].has_snapshot, 0);
	assert_int_equal(sm.h[0].has_usage, 0);
	assert_string_equal(sm.h[1].name, "s1");
	assert_int_equal(sm.h[1].has_usage, 1);
	assert_int_equal(sm.h[1].semmns_used, 12);
	assert_int_equal(sm.h[1].semmns_limit, 340);
	assert_string_equal(sm.h[1].status, "ok");
	assert_int_equal(sm.h[1].last_received, 101);
	assert_string_equal(sm.h[2].name, "s2");
	assert_int_equal(sm.h[2].semmns_used, 30);
	assert_string_equal(sm.h[2].status, "crit");

	/* the finding closes: the status follows */
	assert_int_equal(store_sync_findings(st, "s2", NULL, 0, 700, &ch, &nch, err, sizeof(err)),
	                 0);
	free(ch);
	memset(&sm, 0, sizeof(sm));
	assert_int_equal(
	    st->ops->each_host_summary(st, NULL, 0, collect_summary, &sm, err, sizeof(err)), 0);
	assert_string_equal(sm.h[2].status, "ok");
	db_exec("UPDATE hosts SET usage = " BLOB("07") " WHERE name = 's2'");
	memset(&sm, 0, sizeof(sm));
	assert_int_equal(
	    st->ops->each_host_summary(st, NULL, 0, collect_summary, &sm, err, sizeof(err)), 0);
	assert_int_equal(sm.h[2].has_snapshot, 1);
	assert_int_equal(sm.h[2].has_usage, 0);
	store_close(st);
}

/* ---- count runs (leak and queue_fill history) ---- */

static void
count_key(struct count_run *c, const char *scope, int32_t what, int64_t id, uint64_t value)
{
	memset(c, 0, sizeof(*c));
	ifl_strlcpy(c->scope, scope, sizeof(c->scope));
	c->what = what;
	c->id = id;
	c->value = value;
}

static void
counts_ok(struct store *st, const char *host, int64_t t, const struct count_run *cur, size_t n,
          int64_t keep, struct count_run **runs, size_t *nruns)
{
	char err[512] = "";

	free(*runs);
	*runs = NULL;
	if (store_counts(st, host, t, cur, n, keep, runs, nruns, err, sizeof(err)) != 0)
		fail_msg("store_counts: %s", err);
}

static void
run_eq(const struct count_run *r, int32_t what, int64_t id, int64_t first, int64_t last,
       uint64_t value, uint64_t snapshots, int cont)
{
	assert_int_equal(r->what, what);
	assert_int_equal(r->id, id);
	assert_int_equal(r->first, first);
	assert_int_equal(r->last, last);
	assert_int_equal(r->value, value);
	assert_int_equal(r->snapshots, snapshots);
	assert_int_equal(r->cont, cont);
}

/*
 * Runs: the same value in consecutive snapshots grows one run; a new value
 * starts one that continues the key; a key missing from a snapshot starts
 * again without cont; a time not after the last changes nothing; keep
 * drops what ended before it; the runs are bounded.
 */
static void
counts_check(struct store *st, const char *host)
{
	struct count_run cur[2], *runs = NULL, *big;
	char err[512] = "";
	size_t n = 0, i;

	count_key(&cur[0], "host", CW_SEM, 33, 1);
	count_key(&cur[1], "host", CW_QNUM, 7, 10);
	counts_ok(st, host, 1000, cur, 2, 0, &runs, &n);
	assert_int_equal(n, 2);
	run_eq(&runs[0], CW_SEM, 33, 1000, 1000, 1, 1, 0);
	run_eq(&runs[1], CW_QNUM, 7, 1000, 1000, 10, 1, 0);
	counts_ok(st, host, 1060, cur, 2, 0, &runs, &n);
	assert_int_equal(n, 2);
	run_eq(&runs[0], CW_SEM, 33, 1000, 1060, 1, 2, 0);
	/* the set count grows; the queue is not counted */
	cur[0].value = 2;
	counts_ok(st, host, 1120, cur, 1, 0, &runs, &n);
	assert_int_equal(n, 3);
	run_eq(&runs[0], CW_SEM, 33, 1000, 1060, 1, 2, 0);
	run_eq(&runs[1], CW_SEM, 33, 1120, 1120, 2, 1, 1);
	run_eq(&runs[2], CW_QNUM, 7, 1000, 1060, 10, 2, 0);
	/* the queue again, same value, after a gap: a new run, not continued */
	counts_ok(st, host, 1180, cur, 2, 0, &runs, &n);
	assert_int_equal(n, 4);
	run_eq(&runs[1], CW_SEM, 33, 1120, 1180, 2, 2, 1);
	run_eq(&runs[3], CW_QNUM, 7, 1180, 1180, 10, 1, 0);
	/* a time not after the last: nothing changes */
	cur[0].value = 9;
	counts_ok(st, host, 1180, cur, 2, 0, &runs, &n);
	assert_int_equal(n, 4);
	run_eq(&runs[1], CW_SEM, 33, 1120, 1180, 2, 2, 1);
	/* keep: the runs that ended before 1130 go */
	cur[0].value = 2;
	counts_ok(st, host, 1240, cur, 2, 1130, &runs, &n);
	assert_int_equal(n, 2);
	run_eq(&runs[0], CW_SEM, 33, 1120, 1240, 2, 3, 1);
	run_eq(&runs[1], CW_QNUM, 7, 1180, 1240, 10, 2, 0);
	/* an unknown host is an error */
	free(runs);
	runs = NULL;
	assert_int_equal(
	    store_counts(st, "nobody-here", 2000, cur, 1, 0, &runs, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown host"));
	/* bounded: 5000 keys a snapshot keep COUNT_RUNS_MAX runs, the newest */
	assert_non_null(big = calloc(5000, sizeof(*big)));
	for (i = 0; i < 5000; i++)
		count_key(&big[i], "host", CW_SHM, (int64_t)i, 1);
	counts_ok(st, host, 1300, big, 5000, 0, &runs, &n);
	assert_int_equal(n, COUNT_RUNS_MAX);
	for (i = 0; i < n; i++)
		assert_int_equal(runs[i].last, 1300);
	free(big);
	free(runs);
}

static void
test_counts(void **state)
{
	struct count_run cur, *runs = NULL;
	size_t n = 0;
	struct store *st;

	(void)state;
	st = open_ok();
	fixture_put_ok(st, "h1", 1, 900, 5, "x", 901, 0);
	counts_check(st, "h1");
	assert_int_equal(db_int("SELECT count(*) FROM counts"), 1);
	store_close(st);
	/* a blob that does not decode: the history starts again, nothing fails */
	db_exec("UPDATE counts SET data = " BLOB("01ff"));
	st = open_ok();
	count_key(&cur, "host", CW_SEM, 33, 4);
	counts_ok(st, "h1", 5000, &cur, 1, 0, &runs, &n);
	assert_int_equal(n, 1);
	run_eq(&runs[0], CW_SEM, 33, 5000, 5000, 4, 1, 0);
	free(runs);
	store_close(st);
}

/*
 * The analysis's group (store_group_begin, issue 17): the counts and
 * findings of several hosts in one, the reads in it seeing its writes; a
 * host whose findings fail half-way loses them alone (its earlier counts
 * and the other hosts' writes are kept); the group's end keeps the rest.
 * A backend without groups runs each transaction alone, with the same
 * results.
 */
static void
test_analysis_group(void **state)
{
	char err[512] = "";
	struct finding cur[2], *open = NULL;
	struct finding_change *ch = NULL;
	struct count_run c, *runs = NULL;
	struct store *st;
	size_t n = 0, nch = 0;
	const char *hosts[] = {"h1", "h2", "h3"};
	size_t i;

	(void)state;
	st = open_ok();
	for (i = 0; i < NELEM(hosts); i++)
		fixture_put_ok(st, hosts[i], 1, 100, 1, "x", 101, 0);
	fixture_finding(&cur[0], FK_THRESHOLD, SEV_WARN, "semmns", "", "semmns at 85%");
	fixture_finding(&cur[1], FK_THRESHOLD, SEV_WARN, "semmni", "", "boom");
	db_fail("findings", "NEW.message = 'boom'");

	assert_int_equal(store_group_begin(st, err, sizeof(err)), 0);
	for (i = 0; i < NELEM(hosts); i++) {
		int boom = i == 1;

		count_key(&c, "host", CW_SEM, 33, 4);
		counts_ok(st, hosts[i], 1000, &c, 1, 0, &runs, &n);
		assert_int_equal(n, 1);
		free(runs);
		runs = NULL;
		/* h2's second finding fails after its first was written */
		assert_int_equal(store_sync_findings(st, hosts[i], cur, boom ? 2 : 1, 1000, &ch,
		                                     &nch, err, sizeof(err)),
		                 boom ? -1 : 0);
		if (boom)
			assert_non_null(strstr(err, "simulated disk full"));
		free(ch);
		ch = NULL;
		/* the group's reads see its writes */
		assert_int_equal(store_open_findings(st, hosts[i], &open, &n, err, sizeof(err)), 0);
		assert_int_equal(n, boom ? 0 : 1);
		free(open);
		open = NULL;
	}
	assert_int_equal(store_group_end(st, err, sizeof(err)), 0);
	db_fail("findings", NULL);

	assert_int_equal(db_int("SELECT count(*) FROM counts"), 3);
	assert_int_equal(db_int("SELECT count(*) FROM findings WHERE closed IS NULL"), 2);
	assert_int_equal(db_int("SELECT count(*) FROM findings WHERE message = 'boom'"), 0);
	for (i = 0; i < NELEM(hosts); i++) {
		assert_int_equal(store_open_findings(st, hosts[i], &open, &n, err, sizeof(err)), 0);
		assert_int_equal(n, i == 1 ? 0 : 1);
		if (n == 1)
			assert_string_equal(open[0].message, "semmns at 85%");
		free(open);
		open = NULL;
	}
	/* after the group, each goes alone again, and h2's findings now go in */
	assert_int_equal(store_sync_findings(st, "h2", cur, 2, 1100, &ch, &nch, err, sizeof(err)),
	                 0);
	assert_int_equal(nch, 2);
	free(ch);
	/* an empty group, and an end without a beginning, change nothing */
	assert_int_equal(store_group_begin(st, err, sizeof(err)), 0);
	assert_int_equal(store_group_end(st, err, sizeof(err)), 0);
	assert_int_equal(store_group_end(st, err, sizeof(err)), 0);
	assert_int_equal(db_int("SELECT count(*) FROM findings WHERE closed IS NULL"), 4);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_two_hosts_sorted, setup),
	    cmocka_unit_test_setup(test_older_seq_keeps_newest, setup),
	    cmocka_unit_test_setup(test_time_at_int64_min, setup),
	    cmocka_unit_test_setup(test_duplicate, setup),
	    cmocka_unit_test_setup(test_write_failure_rolls_back, setup),
	    cmocka_unit_test_setup(test_read_back_bounded, setup),
	    cmocka_unit_test_setup(test_series_values, setup),
	    cmocka_unit_test_setup(test_host_without_snapshot, setup),
	    cmocka_unit_test_setup(test_findings_life_cycle, setup),
	    cmocka_unit_test_setup(test_host_summary, setup),
	    cmocka_unit_test_setup(test_host_summary_follows, setup),
	    cmocka_unit_test_setup(test_series_and_rollups, setup),
	    cmocka_unit_test_setup(test_put_batch, setup),
	    cmocka_unit_test_setup(test_spool_identity, setup),
	    cmocka_unit_test_setup(test_counts, setup),
	    cmocka_unit_test_setup(test_analysis_group, setup),
	};
	int rc;

	if ((rc = backend_start()) != 0)
		return rc;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	backend_stop();
	return rc;
}
