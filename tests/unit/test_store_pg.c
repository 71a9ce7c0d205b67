/*
 * test_store_pg.c: the PostgreSQL store (aggregator/store_pg.c) against a
 * real server.
 *
 * Runs only when IPCFLEET_PG_URL names a database this test may wipe
 * (tests/integration/t_postgres.sh starts a throwaway cluster and runs it);
 * without it, it exits 77 (skipped).  Every test starts from an empty
 * database: the store's tables are dropped through a second connection,
 * which also changes rows behind the store's back.  Two stores opened on the
 * same database stand for two aggregators.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "fixture.h"
#include "fixture_pg.h"
#include "model.h"
#include "proto.h"
#include "store.h"
#include "util.h"

/* Linux's default shmall: does not fit an int64_t. */
#define LINUX_SHMALL 18446744073692774399ULL
/* The housekeeping lock of store_pg.c. */
#define HOUSEKEEP_LOCK "7596270883479289858"

/* ---- tests ---- */

static void
test_open_migrates(void **state)
{
	char ver[32];
	struct store *st, *st2;

	(void)state;
	st = fixture_pg_open();
	assert_string_equal(st->ops->name, "postgresql");
	fixture_pg_text("SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof(ver));
	assert_string_equal(ver, "4");
	assert_int_equal(
	    fixture_pg_int("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
	                   " AND tablename IN ('meta', 'hosts', 'received', 'samples',"
	                   " 'rollups', 'findings', 'counts')"),
	    7);
	/* a second aggregator on the same database: nothing to do, version kept */
	st2 = fixture_pg_open();
	fixture_pg_text("SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof(ver));
	assert_string_equal(ver, "4");
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM meta"), 1);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM pg_stat_activity"
	                                " WHERE application_name = 'ipcfleet-aggregator'"),
	                 2);
	store_close(st2);
	store_close(st);
}

static void
test_schema_newer_refused(void **state)
{
	char err[512] = "", ver[32];
	struct store *st;

	(void)state;
	st = fixture_pg_open();
	store_close(st);
	fixture_pg_exec("UPDATE meta SET value = '5' WHERE key = 'schema_version'");
	assert_null(store_open_pg(fixture_pg_url, err, sizeof(err)));
	assert_non_null(
	    strstr(err, ": database schema version 5 is newer than this aggregator (4)"));
	assert_true(strncmp(err, "postgresql://", 13) == 0);
	fixture_pg_text("SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof(ver));
	assert_string_equal(ver, "5");

	fixture_pg_exec("UPDATE meta SET value = 'two' WHERE key = 'schema_version'");
	assert_null(store_open_pg(fixture_pg_url, err, sizeof(err)));
	assert_non_null(strstr(err, ": unreadable database schema version"));
}

static void
test_connect_failure(void **state)
{
	char err[512] = "";

	(void)state;
	assert_null(store_open_pg("postgresql://ipcfleet:s3cret@/nodb?host=/nonexistent&port=1",
	                          err, sizeof(err)));
	assert_true(strncmp(err, "postgresql: cannot connect: ", 28) == 0);
	assert_null(strstr(err, "s3cret"));
	assert_null(strchr(err, '\n'));
	assert_null(store_open_pg("", err, sizeof(err)));
	assert_string_equal(err, "postgresql: empty url");
	assert_null(store_open("mysql", "", "", err, sizeof(err)));
	assert_string_equal(err, "unknown storage backend 'mysql' (sqlite or postgresql)");
}

/* More hosts than one FETCH brings: the cursor walks them all, in order. */
struct walk {
	size_t n;
	int sorted;
	char last[MODEL_NAME_MAX];
};

static int
walk_host(void *arg, const struct stored_host *h)
{
	struct walk *w = arg;

	if (w->n > 0 && strcmp(w->last, h->info.name) >= 0)
		w->sorted = 0;
	ifl_strlcpy(w->last, h->info.name, sizeof(w->last));
	w->n++;
	return 0;
}

static void
test_many_hosts(void **state)
{
	char err[512] = "", name[16];
	struct walk w = {0, 1, ""};
	struct store *st;
	size_t i;

	(void)state;
	st = fixture_pg_open();
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "h%02zu", (i * 7) % 40);
		fixture_put_ok(st, name, 1, 100, 1, "x", 101, 0);
	}
	assert_int_equal(store_each_host(st, walk_host, &w, err, sizeof(err)), 0);
	assert_int_equal(w.n, 40);
	assert_true(w.sorted);
	assert_string_equal(w.last, "h39");
	store_close(st);
}

/* ---- two aggregators syncing one host: the second waits for the first ---- */

static void *
commit_later(void *arg)
{
	PGconn *c = arg;
	struct timespec ts = {0, 400 * 1000 * 1000};

	nanosleep(&ts, NULL);
	PQclear(PQexec(c, "COMMIT"));
	return NULL;
}

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_sync_serialized(void **state)
{
	char err[512] = "";
	struct finding f;
	struct finding_change *ch = NULL;
	struct store *st;
	PGconn *other;
	pthread_t th;
	size_t nch = 0;
	double t0, took;

	(void)state;
	st = fixture_pg_open();
	fixture_put_ok(st, "h1", 1, 100, 1, "x", 101, 0);
	/* "another aggregator" in the middle of a sync of h1: it holds the row */
	other = PQconnectdb(fixture_pg_url);
	assert_int_equal(PQstatus(other), CONNECTION_OK);
	PQclear(PQexec(other, "BEGIN"));
	{
		PGresult *r = PQexec(other, "SELECT id FROM hosts WHERE name = 'h1' FOR UPDATE");

		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		assert_int_equal(PQntuples(r), 1);
		PQclear(r);
	}
	assert_int_equal(pthread_create(&th, NULL, commit_later, other), 0);
	fixture_finding(&f, FK_THRESHOLD, SEV_WARN, "semmns", "", "semmns at 85%");
	t0 = mono();
	assert_int_equal(store_sync_findings(st, "h1", &f, 1, 1000, &ch, &nch, err, sizeof(err)),
	                 0);
	took = mono() - t0;
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(nch, 1);
	free(ch);
	assert_true(took >= 0.35);

	/* and a snapshot of h1 waits the same way (the upsert takes the row) */
	PQclear(PQexec(other, "BEGIN"));
	PQclear(PQexec(other, "SELECT id FROM hosts WHERE name = 'h1' FOR UPDATE"));
	assert_int_equal(pthread_create(&th, NULL, commit_later, other), 0);
	t0 = mono();
	fixture_put_ok(st, "h1", 2, 200, 2, "y", 201, 0);
	took = mono() - t0;
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(took >= 0.35);
	PQfinish(other);
	store_close(st);
}

static void
test_housekeep(void **state)
{
	char err[512] = "";
	struct finding f;
	struct finding_change *ch = NULL;
	struct store *a, *b;
	size_t deleted = 99, nch;
	PGconn *other;
	PGresult *r;
	int i;

	(void)state;
	a = fixture_pg_open();
	b = fixture_pg_open();
	for (i = 1; i <= 5; i++)
		fixture_put_ok(a, "h", (uint64_t)i, 1000 * i, (uint64_t)i, "x", 1000 * i + 1, 0);
	fixture_finding(&f, FK_STALE, SEV_WARN, "", "", "gone");
	assert_int_equal(store_sync_findings(a, "h", &f, 1, 1500, &ch, &nch, err, sizeof(err)), 0);
	free(ch);
	assert_int_equal(store_sync_findings(a, "h", NULL, 0, 1600, &ch, &nch, err, sizeof(err)),
	                 0);
	free(ch);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM samples"), 10); /* semmns, shmall */

	/* another aggregator is housekeeping: this one skips its turn */
	other = PQconnectdb(fixture_pg_url);
	assert_int_equal(PQstatus(other), CONNECTION_OK);
	r = PQexec(other, "SELECT pg_advisory_lock(" HOUSEKEEP_LOCK ")");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	assert_int_equal(store_housekeep(b, 3700, 2500, 100, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM samples"), 10);
	PQclear(PQexec(other, "SELECT pg_advisory_unlock(" HOUSEKEEP_LOCK ")"));
	PQfinish(other);

	/*
	 * At most 4 rows per table: samples of the whole hours before 3700
	 * (hour 0: t 1000..3000, two limits: 6 rows; 4000 is in the hour of
	 * 3700) lose 4; rollups go by whole days, so none before 2500 (day 0
	 * holds 2500); the finding closed at 1600 and the sequences received
	 * at 1001, 2001 and 3001 (kept like samples, to the second: before
	 * 3700) all go.
	 */
	assert_int_equal(store_housekeep(b, 3700, 2500, 4, &deleted, err, sizeof(err)), 0);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM samples"), 6);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM findings"), 0);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM received"), 2);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM rollups"), 4);
	assert_int_equal(deleted, 4 + 0 + 1 + 3);
	assert_int_equal(store_housekeep(a, 3700, 2500, 4, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM samples"), 4);
	assert_int_equal(store_housekeep(a, 3700, 2500, 4, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 0);
	/* keep_rollups in day 1: day 0's rollups (hours 0 and 3600, two limits) all go */
	assert_int_equal(store_housekeep(a, 3700, 86400 + 10, 4, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 4);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM rollups"), 0);
	/* the connection is out of its transaction: the lock is free */
	assert_int_equal(
	    fixture_pg_int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0);
	store_close(a);
	store_close(b);
}

/*
 * Rows dated a year ahead (stored before the server filed such snapshots
 * at their arrival) would never reach retention: housekeeping removes
 * them, and only them.
 */
static void
test_housekeep_future(void **state)
{
	char err[512] = "", sql[256];
	int64_t now = now_unix(), ahead = now + 366 * 86400;
	struct store *st;
	size_t deleted = 99;

	(void)state;
	st = fixture_pg_open();
	fixture_put_ok(st, "hf", 1, now - 7200, 5, "x", now - 7199, 0);
	fixture_put_ok(st, "hf", 2, ahead, 4, "x", now, 0);
	/* rolled up as it is stored: its hour's rollups are a year ahead too */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM rollups WHERE hour > %lld",
	         (long long)now);
	assert_int_equal(fixture_pg_int(sql), 2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM samples WHERE t > %lld", (long long)now);
	assert_int_equal(fixture_pg_int(sql), 2); /* semmns, shmall */
	/* nothing is old enough for retention: only the future goes */
	assert_int_equal(store_housekeep(st, 0, 0, 100, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 4);
	assert_int_equal(fixture_pg_int(sql), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM rollups WHERE hour > %lld",
	         (long long)now);
	assert_int_equal(fixture_pg_int(sql), 0);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM samples"), 2);
	store_close(st);
}

/* The server ends the store's connection: the next operation reconnects once. */
static void
test_reconnect(void **state)
{
	char err[512] = "";
	struct stored_host h;
	struct store *st;
	long long killed;

	(void)state;
	st = fixture_pg_open();
	fixture_put_ok(st, "h", 1, 100, 1, "one", 101, 0);
	killed = fixture_pg_int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
	                        " WHERE application_name = 'ipcfleet-aggregator'");
	assert_true(killed >= 1); /* more when an earlier test failed before closing */
	usleep(100 * 1000);
	fixture_put_ok(st, "h", 2, 200, 2, "two", 201, 0);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 2);
	fixture_assert_raw(&h, "two");
	stored_host_free(&h);

	/* a read first, after another termination */
	killed = fixture_pg_int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
	                        " WHERE application_name = 'ipcfleet-aggregator'");
	assert_true(killed >= 1); /* more when an earlier test failed before closing */
	usleep(100 * 1000);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	fixture_assert_raw(&h, "two");
	stored_host_free(&h);
	fixture_put_ok(st, "h", 2, 300, 3, "again", 301, 1);
	store_close(st);
}

/* Reconnecting fails: the operation fails with the reason; later attempts are spaced out. */
static void
test_reconnect_refused(void **state)
{
	char err[512] = "", dbname[128], sql[300];
	struct stored_host h;
	struct store *st;
	PGconn *admin;

	(void)state;
	st = fixture_pg_open();
	fixture_put_ok(st, "h", 1, 100, 1, "one", 101, 0);
	/* a database's own sessions cannot close it: ask from the postgres database */
	fixture_pg_text("SELECT current_database()", dbname, sizeof(dbname));
	{
		const char *keys[] = {"dbname", "dbname", NULL};
		const char *vals[] = {fixture_pg_url, "postgres", NULL};

		admin = PQconnectdbParams(keys, vals, 1);
		assert_int_equal(PQstatus(admin), CONNECTION_OK);
	}
	snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS false", dbname);
	PQclear(PQexec(admin, sql));
	fixture_pg_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	                " WHERE application_name = 'ipcfleet-aggregator'");
	usleep(100 * 1000);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ": connection to the database lost, reconnecting failed: "));
	assert_non_null(strstr(err, "is not currently accepting connections"));
	assert_null(strchr(err, '\n'));
	/* at once again: no new attempt before a second has passed */
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_non_null(
	    strstr(err, ": connection to the database lost; next reconnection attempt in "));
	snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS true", dbname);
	PQclear(PQexec(admin, sql));
	PQfinish(admin);
	usleep(1100 * 1000);
	fixture_put_ok(st, "h", 2, 200, 2, "two", 201, 0);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	fixture_assert_raw(&h, "two");
	stored_host_free(&h);
	store_close(st);
}

/* ---- the hosts listing's summaries ---- */

/*
 * Two aggregators committing batches that share hosts, listed in opposite
 * orders: the store takes the host rows in name order, so neither waits for
 * the other in a cycle (PostgreSQL would abort one with a deadlock).
 */
struct batch_run {
	int reverse;
	int failed;
	char err[512];
};

#define BATCH_HOSTS  6
#define BATCH_ROUNDS 40

static void *
batch_runner(void *arg)
{
	struct batch_run *br = arg;
	struct host_info hi[BATCH_HOSTS];
	struct snapshot s[BATCH_HOSTS];
	struct store_put v[BATCH_HOSTS];
	struct store *st = store_open("postgresql", "", fixture_pg_url, br->err, sizeof(br->err));
	uint64_t one = 1;
	size_t i, r;

	if (st == NULL) {
		br->failed = 1;
		return NULL;
	}
	for (i = 0; i < BATCH_HOSTS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "dl%zu", i);
		fixture_info(&hi[i], name, "Linux");
	}
	for (r = 1; r <= BATCH_ROUNDS && !br->failed; r++) {
		for (i = 0; i < BATCH_HOSTS; i++) {
			size_t k = br->reverse ? BATCH_HOSTS - 1 - i : i;

			/* each aggregator its own sequence numbers: all are stored */
			fixture_snap(&s[i], r * 2 + (uint64_t)br->reverse, (int64_t)(1000 + r),
			             &one, 1, 4096, 340, 1000);
			v[i] = (struct store_put){.hi = &hi[k],
			                          .s = &s[i],
			                          .raw = (const uint8_t *)"x",
			                          .rawlen = 1,
			                          .received = (int64_t)(1000 + r)};
		}
		if (store_put_snapshots(st, v, BATCH_HOSTS, br->err, sizeof(br->err)) == -1)
			br->failed = 1;
		for (i = 0; i < BATCH_HOSTS; i++)
			snapshot_free(&s[i]);
	}
	store_close(st);
	return NULL;
}

static void
test_put_batch_no_deadlock(void **state)
{
	struct batch_run a = {.reverse = 0}, b = {.reverse = 1};
	struct store *st;
	pthread_t ta, tb;

	(void)state;
	st = fixture_pg_open(); /* the schema, before both start */
	assert_int_equal(pthread_create(&ta, NULL, batch_runner, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, batch_runner, &b), 0);
	assert_int_equal(pthread_join(ta, NULL), 0);
	assert_int_equal(pthread_join(tb, NULL), 0);
	if (a.failed || b.failed)
		fail_msg("a batch failed: %s%s", a.err, b.err);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM received"),
	                 2 * BATCH_HOSTS * BATCH_ROUNDS);
	store_close(st);
}

/*
 * A version 2 database (made from this one by undoing version 3): its
 * received rows become the legacy spool's, without digest; an old agent's
 * resend is still a duplicate (not a conflict: nothing to compare), a new
 * agent's spool numbers anew.
 */
static void
test_migrate_v2(void **state)
{
	char err[512] = "";
	struct stored_host h;
	struct store *st;

	(void)state;
	st = fixture_pg_open();
	fixture_put_ok(st, "old", 7, 700, 5, "seven", 701, 0);
	store_close(st);
	fixture_pg_exec("ALTER TABLE received DROP CONSTRAINT received_pkey");
	fixture_pg_exec("ALTER TABLE received DROP COLUMN spool, DROP COLUMN digest");
	fixture_pg_exec("ALTER TABLE received ADD PRIMARY KEY (host_id, seq)");
	fixture_pg_exec("ALTER TABLE hosts DROP COLUMN last_spool");
	fixture_pg_exec("DROP TABLE counts");
	fixture_pg_exec(
	    "INSERT INTO received (host_id, seq, taken, received) SELECT id, 6, 640, 641"
	    " FROM hosts");
	fixture_pg_exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'");

	st = fixture_pg_open();
	assert_int_equal(fixture_pg_int("SELECT value::int FROM meta WHERE key = 'schema_version'"),
	                 4);
	assert_int_equal(
	    fixture_pg_int("SELECT count(*) FROM received WHERE spool = '' AND digest IS NULL"), 2);
	assert_int_equal(fixture_pg_int("SELECT count(*) FROM hosts WHERE last_spool = ''"), 1);
	fixture_put_spool(st, "old", "", 6, 640, "six-again", 1, 0);
	fixture_put_spool(st, "old", "", 8, 760, "eight", 0, 0);
	fixture_put_spool(st, "old", "cccccccccccccccccccccccccccccccc", 1, 820, "new-1", 0, 0);
	assert_int_equal(store_get_host(st, "old", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 1);
	fixture_assert_raw(&h, "new-1");
	stored_host_free(&h);
	store_close(st);
}

/* ---- count runs (leak and queue_fill history) ---- */

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_open_migrates, fixture_pg_setup),
	    cmocka_unit_test_setup(test_schema_newer_refused, fixture_pg_setup),
	    cmocka_unit_test_setup(test_connect_failure, fixture_pg_setup),
	    cmocka_unit_test_setup(test_many_hosts, fixture_pg_setup),
	    cmocka_unit_test_setup(test_sync_serialized, fixture_pg_setup),
	    cmocka_unit_test_setup(test_housekeep, fixture_pg_setup),
	    cmocka_unit_test_setup(test_housekeep_future, fixture_pg_setup),
	    cmocka_unit_test_setup(test_reconnect, fixture_pg_setup),
	    cmocka_unit_test_setup(test_reconnect_refused, fixture_pg_setup),
	    cmocka_unit_test_setup(test_put_batch_no_deadlock, fixture_pg_setup),
	    cmocka_unit_test_setup(test_migrate_v2, fixture_pg_setup),
	};
	int rc;

	if ((rc = fixture_pg_start("test_store_pg")) != 0)
		return rc;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	fixture_pg_stop();
	return rc;
}
