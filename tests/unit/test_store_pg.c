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

#include "model.h"
#include "proto.h"
#include "store.h"
#include "util.h"

/* Linux's default shmall: does not fit an int64_t. */
#define LINUX_SHMALL 18446744073692774399ULL
/* The housekeeping lock of store_pg.c. */
#define HOUSEKEEP_LOCK "7596270883479289858"

static const char *url;
static PGconn *db; /* the test's own connection */

/* ---- the second connection ---- */

static void
sql_exec(const char *sql)
{
	PGresult *r = PQexec(db, sql);
	ExecStatusType s = PQresultStatus(r);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

/* First column of the first row as text, into out. */
static void
sql_text(const char *sql, char *out, size_t len)
{
	PGresult *r = PQexec(db, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	ifl_strlcpy(out, PQgetvalue(r, 0, 0), len);
	PQclear(r);
}

static long long
sql_int(const char *sql)
{
	char buf[64];

	sql_text(sql, buf, sizeof(buf));
	return strtoll(buf, NULL, 10);
}

static void
wipe(void)
{
	sql_exec("DROP TABLE IF EXISTS counts, findings, rollups, samples, received, hosts, meta "
	         "CASCADE");
	sql_exec("DROP FUNCTION IF EXISTS boom() CASCADE");
}

static int
setup(void **state)
{
	(void)state;
	wipe();
	return 0;
}

/* ---- building input ---- */

static void
make_info(struct host_info *hi, const char *name, const char *os)
{
	memset(hi, 0, sizeof(*hi));
	ifl_strlcpy(hi->name, name, sizeof(hi->name));
	ifl_strlcpy(hi->os, os, sizeof(hi->os));
	ifl_strlcpy(hi->os_release, strcmp(os, "Linux") == 0 ? "6.1.0-18-amd64" : "14.1-RELEASE",
	            sizeof(hi->os_release));
	ifl_strlcpy(hi->agent, "ipcfleet-agent 0.1.0", sizeof(hi->agent));
	hi->page_size = 4096;
	hi->boot_time = 1764100000;
	hi->interval = 60;
}

/* Semaphore sets of nsems[0..nsets) and one shm segment; limits semmns and shmall. */
static void
make_snap(struct snapshot *s, uint64_t seq, int64_t taken, const uint64_t *nsems, size_t nsets,
          uint64_t shm_size, uint64_t semmns, uint64_t shmall)
{
	struct ipc_object *o;
	size_t i;

	assert_int_equal(snapshot_init(s), 0);
	s->seq = seq;
	s->taken = taken;
	s->page_size = 4096;
	for (i = 0; i < nsets; i++) {
		o = snapshot_add_object(s);
		assert_non_null(o);
		o->type = IPC_SEM;
		o->id = (int64_t)i;
		o->nsems = nsems[i];
	}
	o = snapshot_add_object(s);
	assert_non_null(o);
	o->type = IPC_SHM;
	o->id = 100;
	o->size = shm_size;
	assert_int_equal(limits_set(&s->limits, "semmns", semmns), 0);
	assert_int_equal(limits_set(&s->limits, "shmall", shmall), 0);
}

static int
put(struct store *st, const char *host, uint64_t seq, int64_t taken, uint64_t used, const char *raw,
    int64_t received, int *dup, char *err, size_t errlen)
{
	struct host_info hi;
	struct snapshot s;
	int rc;

	make_info(&hi, host, "FreeBSD");
	make_snap(&s, seq, taken, &used, 1, 4096, 340, 1000);
	rc = store_put_snapshot(st, &hi, &s, (const uint8_t *)raw, strlen(raw), received, dup, err,
	                        errlen);
	snapshot_free(&s);
	return rc;
}

static void
put_ok(struct store *st, const char *host, uint64_t seq, int64_t taken, uint64_t used,
       const char *raw, int64_t received, int want_dup)
{
	char err[512] = "";
	int dup = -1;

	if (put(st, host, seq, taken, used, raw, received, &dup, err, sizeof(err)) != 0)
		fail_msg("put_snapshot: %s", err);
	assert_int_equal(dup, want_dup);
}

static struct store *
open_ok(void)
{
	char err[512] = "";
	struct store *st = store_open("postgresql", "", url, err, sizeof(err));

	if (st == NULL)
		fail_msg("store_open_pg: %s", err);
	return st;
}

static void
assert_raw(const struct stored_host *h, const char *want)
{
	assert_non_null(h->raw);
	assert_int_equal(h->rawlen, strlen(want));
	assert_memory_equal(h->raw, want, strlen(want));
}

/* ---- collecting each_host ---- */

struct seen {
	size_t n, stop_after;
	struct store *st; /* when set, fn reads each host again with get_host() */
	struct stored_host h[8];
};

static int
collect(void *arg, const struct stored_host *h)
{
	struct seen *sn = arg;
	struct stored_host *c;

	assert_true(sn->n < NELEM(sn->h));
	c = &sn->h[sn->n++];
	*c = *h;
	c->raw = NULL;
	if (h->raw != NULL) {
		c->raw = malloc(h->rawlen + 1);
		assert_non_null(c->raw);
		memcpy(c->raw, h->raw, h->rawlen);
	}
	if (sn->st != NULL) {
		struct stored_host again;
		char err[512] = "";

		assert_int_equal(store_get_host(sn->st, h->info.name, &again, err, sizeof(err)), 0);
		assert_string_equal(again.info.name, h->info.name);
		assert_int_equal(again.rawlen, h->rawlen);
		stored_host_free(&again);
	}
	if (sn->stop_after != 0 && sn->n == sn->stop_after)
		return 7;
	return 0;
}

static void
seen_free(struct seen *sn)
{
	size_t i;

	for (i = 0; i < sn->n; i++)
		stored_host_free(&sn->h[i]);
}

/* ---- tests ---- */

static void
test_open_migrates(void **state)
{
	char ver[32];
	struct store *st, *st2;

	(void)state;
	st = open_ok();
	assert_string_equal(st->ops->name, "postgresql");
	sql_text("SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof(ver));
	assert_string_equal(ver, "4");
	assert_int_equal(
	    sql_int("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
	            " AND tablename IN ('meta', 'hosts', 'received', 'samples',"
	            " 'rollups', 'findings', 'counts')"),
	    7);
	/* a second aggregator on the same database: nothing to do, version kept */
	st2 = open_ok();
	sql_text("SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof(ver));
	assert_string_equal(ver, "4");
	assert_int_equal(sql_int("SELECT count(*) FROM meta"), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM pg_stat_activity"
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
	st = open_ok();
	store_close(st);
	sql_exec("UPDATE meta SET value = '5' WHERE key = 'schema_version'");
	assert_null(store_open_pg(url, err, sizeof(err)));
	assert_non_null(
	    strstr(err, ": database schema version 5 is newer than this aggregator (4)"));
	assert_true(strncmp(err, "postgresql://", 13) == 0);
	sql_text("SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof(ver));
	assert_string_equal(ver, "5");

	sql_exec("UPDATE meta SET value = 'two' WHERE key = 'schema_version'");
	assert_null(store_open_pg(url, err, sizeof(err)));
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

static void
test_two_hosts_sorted(void **state)
{
	char err[512] = "";
	struct seen sn = {0};
	struct store *st;

	(void)state;
	st = open_ok();
	put_ok(st, "zeta", 3, 1000, 10, "ZZZ", 1002, 0);
	{
		struct host_info hi;
		struct snapshot s;
		uint64_t used = 1;
		int dup = -1;

		make_info(&hi, "alpha", "Linux");
		hi.page_size = 65536;
		hi.boot_time = -5;
		hi.interval = 0;
		make_snap(&s, 42, 2000, &used, 1, 1, 250, LINUX_SHMALL);
		assert_int_equal(store_put_snapshot(st, &hi, &s, (const uint8_t *)"A\0AA", 4, 2001,
		                                    &dup, err, sizeof(err)),
		                 0);
		assert_int_equal(dup, 0);
		snapshot_free(&s);
	}

	sn.st = st; /* fn queries the store in the middle of the walk */
	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), 0);
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
	assert_raw(&sn.h[1], "ZZZ");
	seen_free(&sn);

	memset(&sn, 0, sizeof(sn));
	sn.stop_after = 1;
	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), 7);
	assert_int_equal(sn.n, 1);
	assert_string_equal(sn.h[0].info.name, "alpha");
	seen_free(&sn);

	/* the walk can run again, and the connection is out of its transaction */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), 0);
	assert_int_equal(sn.n, 2);
	seen_free(&sn);
	put_ok(st, "zeta", 4, 1100, 11, "Z4", 1102, 0);
	store_close(st);
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
	st = open_ok();
	for (i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "h%02zu", (i * 7) % 40);
		put_ok(st, name, 1, 100, 1, "x", 101, 0);
	}
	assert_int_equal(store_each_host(st, walk_host, &w, err, sizeof(err)), 0);
	assert_int_equal(w.n, 40);
	assert_true(w.sorted);
	assert_string_equal(w.last, "h39");
	store_close(st);
}

static void
test_duplicate_across_aggregators(void **state)
{
	char err[512] = "";
	struct stored_host h;
	struct sample sm[4];
	struct store *a, *b;
	size_t n = 99;

	(void)state;
	a = open_ok();
	b = open_ok();
	put_ok(a, "web1", 5, 500, 20, "first", 501, 0);
	/* the same (host, seq) at the other aggregator: acknowledged, nothing stored */
	put_ok(b, "web1", 5, 600, 99, "second", 601, 1);
	put_ok(a, "web1", 5, 700, 98, "third", 701, 1);

	assert_int_equal(store_get_host(b, "web1", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 5);
	assert_int_equal(h.last_taken, 500);
	assert_int_equal(h.last_received, 501);
	assert_raw(&h, "first");
	stored_host_free(&h);
	assert_int_equal(store_series(b, "web1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].t, 500);
	assert_int_equal(sm[0].used, 20);
	assert_int_equal(sm[0].limit, 340);
	assert_int_equal(sql_int("SELECT count(*) FROM received"), 1);
	assert_int_equal(sql_int("SELECT count(*) FROM hosts"), 1);

	/* the same seq from another host is not a duplicate */
	put_ok(b, "web2", 5, 700, 30, "other", 701, 0);
	assert_int_equal(store_get_host(a, "web2", &h, err, sizeof(err)), 0);
	assert_raw(&h, "other");
	stored_host_free(&h);
	store_close(a);
	store_close(b);
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
	put_ok(a, "db1", 10, 1000, 10, "seq10", 1001, 0);
	put_ok(b, "db1", 9, 900, 9, "seq9", 1500, 0); /* late, through the other aggregator */

	assert_int_equal(store_get_host(a, "db1", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 10);
	assert_int_equal(h.last_taken, 1000);
	assert_int_equal(h.last_received, 1001);
	assert_raw(&h, "seq10");
	stored_host_free(&h);
	assert_int_equal(store_series(a, "db1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 2);
	assert_int_equal(sm[0].t, 900);
	assert_int_equal(sm[0].used, 9);
	assert_int_equal(sm[1].t, 1000);

	put_ok(b, "db1", 11, 1100, 11, "seq11", 1101, 0);
	/* sequence numbers compare as uint64: 2^63 + 1 is newer than 11 ... */
	put_ok(a, "db1", (UINT64_C(1) << 63) + 1, 1200, 12, "big", 1201, 0);
	assert_int_equal(store_get_host(b, "db1", &h, err, sizeof(err)), 0);
	assert_true(h.last_seq == (UINT64_C(1) << 63) + 1);
	assert_raw(&h, "big");
	stored_host_free(&h);
	/* ... and 12 is older than it, though its int64 pattern is larger */
	put_ok(b, "db1", 12, 1300, 13, "twelve", 1301, 0);
	put_ok(b, "db1", (UINT64_C(1) << 63) + 1, 1400, 14, "again", 1401, 1);
	/* UINT64_MAX (-1 as a bit pattern) is the newest of all */
	put_ok(a, "db1", UINT64_MAX, 1500, 15, "max", 1501, 0);
	put_ok(b, "db1", (UINT64_C(1) << 63) + 2, 1600, 16, "below-max", 1601, 0);
	assert_int_equal(store_get_host(a, "db1", &h, err, sizeof(err)), 0);
	assert_true(h.last_seq == UINT64_MAX);
	assert_int_equal(h.last_taken, 1500);
	assert_raw(&h, "max");
	stored_host_free(&h);
	assert_int_equal(store_series(a, "db1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 7);
	assert_int_equal(sm[4].t, 1300);
	assert_int_equal(sm[4].used, 13);
	store_close(a);
	store_close(b);
}

static void
test_series_and_rollups(void **state)
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
	make_info(&hi, "pg1", "Linux");
	for (i = 0; i < NELEM(times); i++) {
		make_snap(&s, i + 1, times[i], sets[i], 3, 10000, near_max, LINUX_SHMALL);
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
	assert_int_equal(store_series(st, "pg1", "semmns", 7201, sm, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].t, 7260);
	assert_int_equal(store_series(st, "pg1", "shmall", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 3);
	for (i = 0; i < n; i++) {
		assert_int_equal(sm[i].used, 3);
		assert_true(sm[i].limit == LINUX_SHMALL);
	}
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

		make_snap(&s, 10, 20000, &big, 1, 1, 340, 1000);
		assert_int_equal(store_put_snapshot(st, &hi, &s, (const uint8_t *)"p", 1, 20001,
		                                    &dup, err, sizeof(err)),
		                 0);
		snapshot_free(&s);
		make_snap(&s, 11, 20100, &five, 1, 1, 340, 1000);
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

/* A host row without a snapshot yet is listed, with raw NULL. */
static void
test_host_without_snapshot(void **state)
{
	char err[512] = "";
	struct seen sn = {0};
	struct stored_host h;
	struct store *st;

	(void)state;
	st = open_ok();
	put_ok(st, "b-full", 4, 40, 1, "full", 41, 0);
	sql_exec("INSERT INTO hosts (name, os, os_release, agent, page_size, boot_time)"
	         " VALUES ('a-bare', 'Linux', '6.1', 'ipcfleet-agent 0.1.0', 4096, 9)");
	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), 0);
	assert_int_equal(sn.n, 2);
	assert_string_equal(sn.h[0].info.name, "a-bare");
	assert_null(sn.h[0].raw);
	assert_int_equal(sn.h[0].last_seq, 0);
	assert_int_equal(sn.h[0].info.boot_time, 9);
	assert_raw(&sn.h[1], "full");
	seen_free(&sn);
	assert_int_equal(store_get_host(st, "ghost", &h, err, sizeof(err)), 1);
	assert_null(h.raw);

	/* its first snapshot, seq 0 included, becomes its state */
	put_ok(st, "a-bare", 0, 50, 2, "zero", 51, 0);
	assert_int_equal(store_get_host(st, "a-bare", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 0);
	assert_int_equal(h.last_taken, 50);
	assert_raw(&h, "zero");
	stored_host_free(&h);
	store_close(st);
}

static void
make_finding(struct finding *f, enum finding_kind kind, enum severity sev, const char *limit,
             const char *scope, const char *message)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->severity = sev;
	ifl_strlcpy(f->limit, limit, sizeof(f->limit));
	ifl_strlcpy(f->scope, scope, sizeof(f->scope));
	ifl_strlcpy(f->message, message, sizeof(f->message));
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
	put_ok(a, "h1", 1, 100, 1, "x", 101, 0);
	put_ok(a, "h2", 1, 100, 1, "x", 101, 0);

	make_finding(&cur[0], FK_THRESHOLD, SEV_WARN, "semmns", "", "semmns at 85%");
	/* text that is not UTF-8 is stored with '?' for each bad sequence */
	make_finding(&cur[1], FK_ORPHAN, SEV_INFO, "", "jail:caf\xe9", "orphan in caf\xe9");
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
	assert_string_equal(ch[1].f.scope, "jail:caf?");
	free(ch);

	/* the other aggregator sees them, and the same input changes nothing */
	assert_int_equal(store_open_findings(b, "h1", &open, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(open[0].kind, FK_THRESHOLD);
	assert_int_equal(open[0].severity, SEV_WARN);
	assert_string_equal(open[0].message, "semmns at 85%");
	assert_int_equal(open[0].opened, 1000);
	assert_int_equal(open[1].kind, FK_ORPHAN);
	assert_string_equal(open[1].scope, "jail:caf?");
	assert_string_equal(open[1].message, "orphan in caf?");
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
	make_finding(&cur[0], FK_THRESHOLD, SEV_CRIT, "semmns", "", "semmns at 95%");
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
	assert_int_equal(sql_int("SELECT count(*) FROM findings WHERE closed = 1200"), 1);

	make_finding(&cur[2], FK_STALE, SEV_WARN, "", "", "no snapshot");
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
	st = open_ok();
	put_ok(st, "h1", 1, 100, 1, "x", 101, 0);
	/* "another aggregator" in the middle of a sync of h1: it holds the row */
	other = PQconnectdb(url);
	assert_int_equal(PQstatus(other), CONNECTION_OK);
	PQclear(PQexec(other, "BEGIN"));
	{
		PGresult *r = PQexec(other, "SELECT id FROM hosts WHERE name = 'h1' FOR UPDATE");

		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		assert_int_equal(PQntuples(r), 1);
		PQclear(r);
	}
	assert_int_equal(pthread_create(&th, NULL, commit_later, other), 0);
	make_finding(&f, FK_THRESHOLD, SEV_WARN, "semmns", "", "semmns at 85%");
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
	put_ok(st, "h1", 2, 200, 2, "y", 201, 0);
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
	a = open_ok();
	b = open_ok();
	for (i = 1; i <= 5; i++)
		put_ok(a, "h", (uint64_t)i, 1000 * i, (uint64_t)i, "x", 1000 * i + 1, 0);
	make_finding(&f, FK_STALE, SEV_WARN, "", "", "gone");
	assert_int_equal(store_sync_findings(a, "h", &f, 1, 1500, &ch, &nch, err, sizeof(err)), 0);
	free(ch);
	assert_int_equal(store_sync_findings(a, "h", NULL, 0, 1600, &ch, &nch, err, sizeof(err)),
	                 0);
	free(ch);
	assert_int_equal(sql_int("SELECT count(*) FROM samples"), 10); /* semmns, shmall */

	/* another aggregator is housekeeping: this one skips its turn */
	other = PQconnectdb(url);
	assert_int_equal(PQstatus(other), CONNECTION_OK);
	r = PQexec(other, "SELECT pg_advisory_lock(" HOUSEKEEP_LOCK ")");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	PQclear(r);
	assert_int_equal(store_housekeep(b, 3500, 2500, 100, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(sql_int("SELECT count(*) FROM samples"), 10);
	PQclear(PQexec(other, "SELECT pg_advisory_unlock(" HOUSEKEEP_LOCK ")"));
	PQfinish(other);

	/*
	 * At most 4 rows per table: samples before 3500 (t 1000..3000, two
	 * limits: 6 rows) lose 4; rollups of hour 0 (before 2500: 2 rows), the
	 * finding closed at 1600 and the sequences received at 1001, 2001 and
	 * 3001 (kept like samples: before 3500) all go.
	 */
	assert_int_equal(store_housekeep(b, 3500, 2500, 4, &deleted, err, sizeof(err)), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM samples"), 6);
	assert_int_equal(sql_int("SELECT count(*) FROM findings"), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM received"), 2);
	assert_int_equal(sql_int("SELECT count(*) FROM rollups"), 2);
	assert_int_equal(deleted, 4 + 2 + 1 + 3);
	assert_int_equal(store_housekeep(a, 3500, 2500, 4, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(sql_int("SELECT count(*) FROM samples"), 4);
	assert_int_equal(store_housekeep(a, 3500, 2500, 4, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 0);
	/* the connection is out of its transaction: the lock is free */
	assert_int_equal(sql_int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0);
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
	st = open_ok();
	put_ok(st, "hf", 1, now - 7200, 5, "x", now - 7199, 0);
	put_ok(st, "hf", 2, ahead, 4, "x", now, 0);
	/* rolled up as it is stored: its hour's rollups are a year ahead too */
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM rollups WHERE hour > %lld",
	         (long long)now);
	assert_int_equal(sql_int(sql), 2);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM samples WHERE t > %lld", (long long)now);
	assert_int_equal(sql_int(sql), 2); /* semmns, shmall */
	/* nothing is old enough for retention: only the future goes */
	assert_int_equal(store_housekeep(st, 0, 0, 100, &deleted, err, sizeof(err)), 0);
	assert_int_equal(deleted, 4);
	assert_int_equal(sql_int(sql), 0);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM rollups WHERE hour > %lld",
	         (long long)now);
	assert_int_equal(sql_int(sql), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM samples"), 2);
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
	st = open_ok();
	put_ok(st, "h", 1, 100, 1, "one", 101, 0);
	killed = sql_int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
	                 " WHERE application_name = 'ipcfleet-aggregator'");
	assert_true(killed >= 1); /* more when an earlier test failed before closing */
	usleep(100 * 1000);
	put_ok(st, "h", 2, 200, 2, "two", 201, 0);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 2);
	assert_raw(&h, "two");
	stored_host_free(&h);

	/* a read first, after another termination */
	killed = sql_int("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
	                 " WHERE application_name = 'ipcfleet-aggregator'");
	assert_true(killed >= 1); /* more when an earlier test failed before closing */
	usleep(100 * 1000);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_raw(&h, "two");
	stored_host_free(&h);
	put_ok(st, "h", 2, 300, 3, "again", 301, 1);
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
	st = open_ok();
	put_ok(st, "h", 1, 100, 1, "one", 101, 0);
	/* a database's own sessions cannot close it: ask from the postgres database */
	sql_text("SELECT current_database()", dbname, sizeof(dbname));
	{
		const char *keys[] = {"dbname", "dbname", NULL};
		const char *vals[] = {url, "postgres", NULL};

		admin = PQconnectdbParams(keys, vals, 1);
		assert_int_equal(PQstatus(admin), CONNECTION_OK);
	}
	snprintf(sql, sizeof(sql), "ALTER DATABASE \"%s\" WITH ALLOW_CONNECTIONS false", dbname);
	PQclear(PQexec(admin, sql));
	sql_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
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
	put_ok(st, "h", 2, 200, 2, "two", 201, 0);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_raw(&h, "two");
	stored_host_free(&h);
	store_close(st);
}

/* ---- the hosts listing's summaries ---- */

struct summaries {
	size_t n;
	struct {
		char name[MODEL_NAME_MAX];
		char status[8];
		int has_snapshot, has_usage, has_status;
		uint64_t semmns_used, semmns_limit, shmall_used;
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

	make_info(&hi, host, "FreeBSD");
	make_snap(&s, seq, 1000, nsems, 2, 8192, 340, 1000);
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
	put_ok(st, "s4", 1, 1000, 5, "not msgpack", 1001, 0);
	/* as a row stored before schema version 2 has it: no usage */
	sql_exec("UPDATE hosts SET usage = NULL WHERE name = 's4'");
	make_finding(&f[0], FK_THRESHOLD, SEV_WARN, "semmns", "", "semmns at 85%");
	assert_int_equal(store_sync_findings(st, "s1", f, 1, 1002, &ch, &nch, err, sizeof(err)), 0);
	free(ch);
	make_finding(&f[0], FK_THRESHOLD, SEV_CRIT, "semmns", "", "semmns at 95%");
	make_finding(&f[1], FK_STALE, SEV_WARN, "", "", "no snapshot for 3 intervals");
	assert_int_equal(store_sync_findings(st, "s2", f, 2, 1002, &ch, &nch, err, sizeof(err)), 0);
	free(ch);
	/* a closed finding does not count */
	make_finding(&f[0], FK_THRESHOLD, SEV_CRIT, "semmns", "", "semmns at 95%");
	assert_int_equal(store_sync_findings(st, "s3", f, 1, 1002, &ch, &nch, err, sizeof(err)), 0);
	free(ch);
	assert_int_equal(store_sync_findings(st, "s3", NULL, 0, 1003, &ch, &nch, err, sizeof(err)),
	                 0);
	free(ch);

	memset(&sm, 0, sizeof(sm));
	if (st->ops->each_host_summary(st, collect_summary, &sm, err, sizeof(err)) != 0)
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
	struct store *st;
	uint64_t one = 1;
	size_t i;

	(void)state;
	st = open_ok();
	make_info(&ha, "bb", "Linux"); /* sorted after "ba": stored second */
	make_info(&hb, "ba", "FreeBSD");
	make_snap(&s[0], 1, 100, &one, 1, 4096, 340, 1000);
	make_snap(&s[1], 1, 160, &one, 1, 4096, 340, 1000); /* the same seq again */
	make_snap(&s[2], 1, 100, &one, 1, 4096, 340, 1000);
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
	assert_int_equal(sql_int("SELECT count(*) FROM received"), 2);
	assert_int_equal(store_get_host(st, "bb", &h, err, sizeof(err)), 0);
	assert_raw(&h, "first"); /* the duplicate replaced nothing */
	stored_host_free(&h);

	/* a failure anywhere in the batch stores none of it */
	sql_exec("CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS"
	         " $$BEGIN IF NEW.seq = 3 THEN RAISE EXCEPTION 'simulated disk full';"
	         " END IF; RETURN NEW; END$$");
	sql_exec(
	    "CREATE TRIGGER boom BEFORE INSERT ON received FOR EACH ROW EXECUTE FUNCTION boom()");
	s[0].seq = 2;
	s[1].seq = 3;
	s[2].seq = 2;
	assert_int_equal(store_put_snapshots(st, v, 3, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "simulated disk full"));
	for (i = 0; i < 3; i++)
		assert_int_equal(v[i].duplicate, 0);
	assert_int_equal(sql_int("SELECT count(*) FROM received"), 2);
	assert_int_equal(sql_int("SELECT count(*) FROM samples WHERE t > 100"), 0);
	sql_exec("DROP TRIGGER boom ON received");
	assert_int_equal(store_put_snapshots(st, v, 3, err, sizeof(err)), 0);
	assert_int_equal(sql_int("SELECT count(*) FROM received"), 5);
	for (i = 0; i < 3; i++)
		snapshot_free(&s[i]);
	store_close(st);
}

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
	struct store *st = store_open("postgresql", "", url, br->err, sizeof(br->err));
	uint64_t one = 1;
	size_t i, r;

	if (st == NULL) {
		br->failed = 1;
		return NULL;
	}
	for (i = 0; i < BATCH_HOSTS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "dl%zu", i);
		make_info(&hi[i], name, "Linux");
	}
	for (r = 1; r <= BATCH_ROUNDS && !br->failed; r++) {
		for (i = 0; i < BATCH_HOSTS; i++) {
			size_t k = br->reverse ? BATCH_HOSTS - 1 - i : i;

			/* each aggregator its own sequence numbers: all are stored */
			make_snap(&s[i], r * 2 + (uint64_t)br->reverse, (int64_t)(1000 + r), &one,
			          1, 4096, 340, 1000);
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
	st = open_ok(); /* the schema, before both start */
	assert_int_equal(pthread_create(&ta, NULL, batch_runner, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, batch_runner, &b), 0);
	assert_int_equal(pthread_join(ta, NULL), 0);
	assert_int_equal(pthread_join(tb, NULL), 0);
	if (a.failed || b.failed)
		fail_msg("a batch failed: %s%s", a.err, b.err);
	assert_int_equal(sql_int("SELECT count(*) FROM received"), 2 * BATCH_HOSTS * BATCH_ROUNDS);
	store_close(st);
}

static void
test_write_failure_rolls_back(void **state)
{
	char err[512] = "";
	struct stored_host h;
	struct store *st;
	int dup = -1;

	(void)state;
	st = open_ok();
	put_ok(st, "h", 1, 100, 1, "one", 101, 0);
	sql_exec("CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS"
	         " $$BEGIN RAISE EXCEPTION 'simulated disk full'; END$$");
	sql_exec(
	    "CREATE TRIGGER boom BEFORE INSERT ON samples FOR EACH ROW EXECUTE FUNCTION boom()");
	assert_int_equal(put(st, "h", 2, 200, 2, "two", 201, &dup, err, sizeof(err)), -1);
	assert_int_equal(dup, 0);
	assert_non_null(strstr(err, "storing samples: simulated disk full"));
	assert_true(strncmp(err, "postgresql://", 13) == 0);
	assert_null(strchr(err, '\n'));
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 1);
	assert_raw(&h, "one");
	stored_host_free(&h);
	assert_int_equal(sql_int("SELECT count(*) FROM received"), 1);

	sql_exec("DROP TRIGGER boom ON samples");
	put_ok(st, "h", 2, 200, 2, "two", 201, 0); /* the retry is no duplicate */
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 2);
	assert_raw(&h, "two");
	stored_host_free(&h);

	/* a payload over the frame limit is refused before any SQL */
	{
		struct host_info hi;
		struct snapshot s;
		uint64_t one = 1;
		static const uint8_t b[1];

		make_info(&hi, "h", "FreeBSD");
		make_snap(&s, 3, 300, &one, 1, 1, 10, 10);
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
	char err[512] = "";
	struct seen sn = {0};
	struct stored_host h;
	struct store *st;

	(void)state;
	st = open_ok();
	put_ok(st, "h", 1, 100, 1, "one", 101, 0);

	sql_exec("UPDATE hosts SET os = repeat('x', 64)");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_null(h.raw);
	assert_non_null(strstr(err, ": hosts: bad or too long os, os_release or agent of h"));
	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), -1);
	assert_int_equal(sn.n, 0);
	sql_exec("UPDATE hosts SET os = repeat('x', 63)");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(strlen(h.info.os), 63);
	stored_host_free(&h);

	sql_exec("UPDATE hosts SET page_size = 4294967296");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad page_size"));
	sql_exec("UPDATE hosts SET page_size = 4096");

	sql_exec("UPDATE hosts SET snapshot = decode(repeat('00', 16 * 1024 * 1024 + 1), 'hex')");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_null(h.raw);
	assert_non_null(strstr(err, ": hosts: snapshot of h is larger than 16777216 bytes"));
	sql_exec("UPDATE hosts SET snapshot = decode(repeat('00', 16 * 1024 * 1024), 'hex')");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.rawlen, 16 * 1024 * 1024);
	stored_host_free(&h);

	sql_exec("UPDATE findings SET kind = 'x'"); /* no rows: harmless */
	sql_exec("INSERT INTO findings (host_id, fkey, kind, severity, limit_name, scope, message,"
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

/* store_put_snapshots of one snapshot of host from spool (semmns used = seq). */
static void
put_spool(struct store *st, const char *host, const char *spool, uint64_t seq, int64_t taken,
          const char *raw, int want_dup, int want_conflict)
{
	struct host_info hi;
	struct snapshot s;
	struct store_put v;
	char err[512] = "";

	make_info(&hi, host, "Linux");
	ifl_strlcpy(hi.spool, spool, sizeof(hi.spool));
	make_snap(&s, seq, taken, &seq, 1, 4096, 340, 1000);
	v = (struct store_put){.hi = &hi,
	                       .s = &s,
	                       .raw = (const uint8_t *)raw,
	                       .rawlen = strlen(raw),
	                       .received = taken + 1,
	                       .duplicate = -1,
	                       .conflict = -1};
	if (store_put_snapshots(st, &v, 1, err, sizeof(err)) != 0)
		fail_msg("put_snapshots: %s", err);
	snapshot_free(&s);
	assert_int_equal(v.duplicate, want_dup);
	assert_int_equal(v.conflict, want_conflict);
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
	put_spool(st, "h", a, 1, 1000, "a1", 0, 0);
	put_spool(st, "h", a, 2, 1060, "a2", 0, 0);
	put_spool(st, "h", a, 3, 1120, "a3", 0, 0);
	put_spool(st2, "h", a, 2, 1060, "a2", 1, 0);
	put_spool(st2, "h", b, 1, 1180, "b1", 0, 0);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 1);
	assert_int_equal(h.last_taken, 1180);
	assert_raw(&h, "b1");
	stored_host_free(&h);
	put_spool(st, "h", b, 2, 1240, "b2", 0, 0);
	put_spool(st2, "h", a, 4, 1150, "a4", 0, 0);
	assert_int_equal(store_get_host(st2, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 2);
	assert_raw(&h, "b2");
	stored_host_free(&h);
	/* a duplicate of another spool than the latest's, taken later: not the latest */
	put_spool(st, "h", a, 5, 1500, "a5", 0, 0);
	put_spool(st, "h", b, 3, 1400, "b3", 0, 0);
	put_spool(st, "h", a, 5, 1500, "a5", 1, 0);
	assert_int_equal(store_get_host(st2, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 5);
	assert_raw(&h, "a5");
	stored_host_free(&h);
	put_spool(st2, "h", "", 1, 1600, "l1", 0, 0);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_raw(&h, "l1");
	stored_host_free(&h);
	put_spool(st, "h", b, 2, 1240, "b2-other", 1, 1);
	put_spool(st2, "h", "", 1, 1600, "l1-other", 1, 1);
	assert_int_equal(sql_int("SELECT count(*) FROM received"), 9);
	assert_int_equal(sql_int("SELECT count(DISTINCT spool) FROM received"), 3);
	assert_int_equal(sql_int("SELECT count(*) FROM received WHERE length(digest) = 32"), 9);
	assert_int_equal(store_series(st, "h", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 9);
	/*
	 * The agent's clock went back within spool d: d2 (taken 3000) is the
	 * latest.  A resend of e1, stored before and taken later (4000), must
	 * not become the latest: duplicates never move it.
	 */
	put_spool(st, "k", "dddddddddddddddddddddddddddddddd", 1, 5000, "d1", 0, 0);
	put_spool(st, "k", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 1, 4000, "e1", 0, 0);
	put_spool(st, "k", "dddddddddddddddddddddddddddddddd", 2, 3000, "d2", 0, 0);
	put_spool(st, "k", "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", 1, 4000, "e1", 1, 0);
	assert_int_equal(store_get_host(st, "k", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 2);
	assert_raw(&h, "d2");
	stored_host_free(&h);
	store_close(st2);
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
	st = open_ok();
	put_ok(st, "old", 7, 700, 5, "seven", 701, 0);
	store_close(st);
	sql_exec("ALTER TABLE received DROP CONSTRAINT received_pkey");
	sql_exec("ALTER TABLE received DROP COLUMN spool, DROP COLUMN digest");
	sql_exec("ALTER TABLE received ADD PRIMARY KEY (host_id, seq)");
	sql_exec("ALTER TABLE hosts DROP COLUMN last_spool");
	sql_exec("DROP TABLE counts");
	sql_exec("INSERT INTO received (host_id, seq, taken, received) SELECT id, 6, 640, 641"
	         " FROM hosts");
	sql_exec("UPDATE meta SET value = '2' WHERE key = 'schema_version'");

	st = open_ok();
	assert_int_equal(sql_int("SELECT value::int FROM meta WHERE key = 'schema_version'"), 4);
	assert_int_equal(
	    sql_int("SELECT count(*) FROM received WHERE spool = '' AND digest IS NULL"), 2);
	assert_int_equal(sql_int("SELECT count(*) FROM hosts WHERE last_spool = ''"), 1);
	put_spool(st, "old", "", 6, 640, "six-again", 1, 0);
	put_spool(st, "old", "", 8, 760, "eight", 0, 0);
	put_spool(st, "old", "cccccccccccccccccccccccccccccccc", 1, 820, "new-1", 0, 0);
	assert_int_equal(store_get_host(st, "old", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 1);
	assert_raw(&h, "new-1");
	stored_host_free(&h);
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
	struct store *st;

	(void)state;
	st = open_ok();
	put_ok(st, "h1", 1, 900, 5, "x", 901, 0);
	counts_check(st, "h1");
	assert_int_equal(sql_int("SELECT count(*) FROM counts"), 1);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_open_migrates, setup),
	    cmocka_unit_test_setup(test_schema_newer_refused, setup),
	    cmocka_unit_test_setup(test_connect_failure, setup),
	    cmocka_unit_test_setup(test_two_hosts_sorted, setup),
	    cmocka_unit_test_setup(test_many_hosts, setup),
	    cmocka_unit_test_setup(test_duplicate_across_aggregators, setup),
	    cmocka_unit_test_setup(test_older_seq_keeps_newest, setup),
	    cmocka_unit_test_setup(test_series_and_rollups, setup),
	    cmocka_unit_test_setup(test_host_without_snapshot, setup),
	    cmocka_unit_test_setup(test_findings_life_cycle, setup),
	    cmocka_unit_test_setup(test_sync_serialized, setup),
	    cmocka_unit_test_setup(test_housekeep, setup),
	    cmocka_unit_test_setup(test_housekeep_future, setup),
	    cmocka_unit_test_setup(test_reconnect, setup),
	    cmocka_unit_test_setup(test_reconnect_refused, setup),
	    cmocka_unit_test_setup(test_write_failure_rolls_back, setup),
	    cmocka_unit_test_setup(test_put_batch, setup),
	    cmocka_unit_test_setup(test_host_summary, setup),
	    cmocka_unit_test_setup(test_put_batch_no_deadlock, setup),
	    cmocka_unit_test_setup(test_read_back_bounded, setup),
	    cmocka_unit_test_setup(test_spool_identity, setup),
	    cmocka_unit_test_setup(test_migrate_v2, setup),
	    cmocka_unit_test_setup(test_counts, setup),
	};
	int rc;

	url = getenv("IPCFLEET_PG_URL");
	if (url == NULL || url[0] == '\0') {
		printf(
		    "SKIP: IPCFLEET_PG_URL is not set (tests/integration/t_postgres.sh sets it)\n");
		return 77;
	}
	db = PQconnectdb(url);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "test_store_pg: %s", PQerrorMessage(db));
		PQfinish(db);
		return 1;
	}
	PQclear(PQexec(db, "SET client_min_messages = warning"));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	wipe();
	PQfinish(db);
	return rc;
}
