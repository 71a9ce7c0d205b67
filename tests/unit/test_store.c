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

#include "model.h"
#include "store.h"
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
}

/*
 * A snapshot with semaphore sets of nsems[0..nsets) and one shm segment of
 * shm_size bytes; limits semmns and shmall only, so exactly two samples.
 */
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

/* put_snapshot with a simple snapshot: semmns used = used, limit 340. */
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

struct seen {
	size_t n, stop_after;
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

static void
assert_raw(const struct stored_host *h, const char *want)
{
	assert_non_null(h->raw);
	assert_int_equal(h->rawlen, strlen(want));
	assert_memory_equal(h->raw, want, strlen(want));
}

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
	assert_string_equal(ver, "1");
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
	put_ok(st, "h1", 1, 100, 5, "x", 101, 0);
	store_close(st);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0640);
}

static void
test_two_hosts_sorted(void **state)
{
	char path[512], err[512] = "";
	struct seen sn = {0};
	struct store *st;

	(void)state;
	db_path(path, sizeof(path), "two.db");
	st = open_ok(path);
	put_ok(st, "zeta", 3, 1000, 10, "ZZZ", 1002, 0);
	{
		struct host_info hi;
		struct snapshot s;
		uint64_t used = 1;
		int dup = -1;

		make_info(&hi, "alpha", "Linux");
		hi.page_size = 65536;
		hi.boot_time = -5;
		make_snap(&s, 42, 2000, &used, 1, 1, 250, LINUX_SHMALL);
		assert_int_equal(store_put_snapshot(st, &hi, &s, (const uint8_t *)"A\0AA", 4, 2001,
		                                    &dup, err, sizeof(err)),
		                 0);
		assert_int_equal(dup, 0);
		snapshot_free(&s);
	}

	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), 0);
	assert_int_equal(sn.n, 2);

	assert_string_equal(sn.h[0].info.name, "alpha");
	assert_string_equal(sn.h[0].info.os, "Linux");
	assert_string_equal(sn.h[0].info.os_release, "6.1.0-18-amd64");
	assert_string_equal(sn.h[0].info.agent, "ipcfleet-agent 0.1.0");
	assert_int_equal(sn.h[0].info.page_size, 65536);
	assert_int_equal(sn.h[0].info.boot_time, -5);
	assert_int_equal(sn.h[0].last_seq, 42);
	assert_int_equal(sn.h[0].last_taken, 2000);
	assert_int_equal(sn.h[0].last_received, 2001);
	assert_int_equal(sn.h[0].rawlen, 4);
	assert_memory_equal(sn.h[0].raw, "A\0AA", 4);

	assert_string_equal(sn.h[1].info.name, "zeta");
	assert_string_equal(sn.h[1].info.os, "FreeBSD");
	assert_string_equal(sn.h[1].info.os_release, "14.1-RELEASE");
	assert_int_equal(sn.h[1].info.page_size, 4096);
	assert_int_equal(sn.h[1].info.boot_time, 1764100000);
	assert_int_equal(sn.h[1].last_seq, 3);
	assert_int_equal(sn.h[1].last_taken, 1000);
	assert_int_equal(sn.h[1].last_received, 1002);
	assert_raw(&sn.h[1], "ZZZ");
	seen_free(&sn);

	/* fn's non-zero return stops the walk and is returned */
	memset(&sn, 0, sizeof(sn));
	sn.stop_after = 1;
	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), 7);
	assert_int_equal(sn.n, 1);
	assert_string_equal(sn.h[0].info.name, "alpha");
	seen_free(&sn);

	/* and the walk can run again afterwards */
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), 0);
	assert_int_equal(sn.n, 2);
	seen_free(&sn);
	store_close(st);
}

static void
test_duplicate(void **state)
{
	char path[512], err[512] = "";
	struct stored_host h;
	struct sample sm[4];
	struct store *st;
	size_t n = 99;

	(void)state;
	db_path(path, sizeof(path), "dup.db");
	st = open_ok(path);
	put_ok(st, "web1", 5, 500, 20, "first", 501, 0);
	/* same host, same seq, different content: acknowledged, nothing stored */
	put_ok(st, "web1", 5, 600, 99, "second", 601, 1);

	assert_int_equal(store_get_host(st, "web1", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 5);
	assert_int_equal(h.last_taken, 500);
	assert_int_equal(h.last_received, 501);
	assert_raw(&h, "first");
	stored_host_free(&h);
	assert_null(h.raw);
	assert_int_equal(h.rawlen, 0);

	assert_int_equal(store_series(st, "web1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].t, 500);
	assert_int_equal(sm[0].used, 20);
	assert_int_equal(sm[0].limit, 340);

	/* the same seq from another host is not a duplicate */
	put_ok(st, "web2", 5, 700, 30, "other", 701, 0);
	assert_int_equal(store_get_host(st, "web2", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 5);
	assert_raw(&h, "other");
	stored_host_free(&h);
	/* and web1 is untouched by it */
	assert_int_equal(store_get_host(st, "web1", &h, err, sizeof(err)), 0);
	assert_raw(&h, "first");
	stored_host_free(&h);
	store_close(st);
}

static void
test_older_seq_keeps_newest(void **state)
{
	char path[512], err[512] = "";
	struct stored_host h;
	struct sample sm[8];
	struct store *st;
	size_t n = 0;

	(void)state;
	db_path(path, sizeof(path), "older.db");
	st = open_ok(path);
	put_ok(st, "db1", 10, 1000, 10, "seq10", 1001, 0);
	put_ok(st, "db1", 9, 900, 9, "seq9", 1500, 0); /* late, from a spooled backlog */

	assert_int_equal(store_get_host(st, "db1", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 10);
	assert_int_equal(h.last_taken, 1000);
	assert_int_equal(h.last_received, 1001);
	assert_raw(&h, "seq10");
	stored_host_free(&h);

	assert_int_equal(store_series(st, "db1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 2);
	assert_int_equal(sm[0].t, 900);
	assert_int_equal(sm[0].used, 9);
	assert_int_equal(sm[1].t, 1000);
	assert_int_equal(sm[1].used, 10);

	/* a newer one moves the state forward again */
	put_ok(st, "db1", 11, 1100, 11, "seq11", 1101, 0);
	assert_int_equal(store_get_host(st, "db1", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 11);
	assert_raw(&h, "seq11");
	stored_host_free(&h);

	/* sequence numbers compare as uint64: 2^63 + 1 is newer than 11 ... */
	put_ok(st, "db1", (UINT64_C(1) << 63) + 1, 1200, 12, "big", 1201, 0);
	assert_int_equal(store_get_host(st, "db1", &h, err, sizeof(err)), 0);
	assert_true(h.last_seq == (UINT64_C(1) << 63) + 1);
	assert_raw(&h, "big");
	stored_host_free(&h);
	/* ... and 12 is older than it, though its int64 pattern is larger */
	put_ok(st, "db1", 12, 1300, 13, "twelve", 1301, 0);
	put_ok(st, "db1", (UINT64_C(1) << 63) + 1, 1400, 14, "again", 1401, 1);
	assert_int_equal(store_get_host(st, "db1", &h, err, sizeof(err)), 0);
	assert_true(h.last_seq == (UINT64_C(1) << 63) + 1);
	assert_int_equal(h.last_taken, 1200);
	assert_raw(&h, "big");
	stored_host_free(&h);
	assert_int_equal(store_series(st, "db1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 5);
	assert_int_equal(sm[4].t, 1300);
	assert_int_equal(sm[4].used, 13);
	store_close(st);
}

static void
test_series_values(void **state)
{
	static const uint64_t sets[][3] = {{17, 25, 100}, {17, 25, 200}, {1, 1, 1}};
	static const int64_t times[] = {100, 200, 300};
	const uint64_t near_max = UINT64_MAX - 5;
	char path[512], err[512] = "";
	struct host_info hi;
	struct snapshot s;
	struct sample sm[8];
	struct store *st;
	size_t i, n = 0;
	int dup;

	(void)state;
	db_path(path, sizeof(path), "series.db");
	st = open_ok(path);
	make_info(&hi, "pg1", "Linux");
	for (i = 0; i < NELEM(times); i++) {
		/* 10000 bytes in 4096-byte pages: 3 pages */
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
	assert_int_equal(sm[0].t, 100);
	assert_int_equal(sm[0].used, 142);
	assert_true(sm[0].limit == near_max);
	assert_int_equal(sm[1].t, 200);
	assert_int_equal(sm[1].used, 242);
	assert_true(sm[1].limit == near_max);
	assert_int_equal(sm[2].t, 300);
	assert_int_equal(sm[2].used, 3);
	assert_true(sm[2].limit == near_max);

	/* since t0, oldest first */
	assert_int_equal(
	    store_series(st, "pg1", "semmns", 150, sm, NELEM(sm), &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(sm[0].t, 200);
	assert_int_equal(sm[1].t, 300);
	assert_int_equal(store_series(st, "pg1", "semmns", 200, sm, 1, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].t, 200);
	assert_int_equal(sm[0].used, 242);
	assert_int_equal(store_series(st, "pg1", "semmns", 301, sm, 8, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 0);

	/* shmall: Linux's default limit round-trips exactly */
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
	store_close(st);
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
	put_ok(st, "mx1", 77, 7700, 33, "persisted", 7701, 0);
	store_close(st);

	st = open_ok(path);
	assert_int_equal(store_get_host(st, "mx1", &h, err, sizeof(err)), 0);
	assert_string_equal(h.info.name, "mx1");
	assert_string_equal(h.info.os, "FreeBSD");
	assert_int_equal(h.last_seq, 77);
	assert_int_equal(h.last_taken, 7700);
	assert_int_equal(h.last_received, 7701);
	assert_raw(&h, "persisted");
	stored_host_free(&h);
	assert_int_equal(store_series(st, "mx1", "semmns", 0, sm, NELEM(sm), &n, err, sizeof(err)),
	                 0);
	assert_int_equal(n, 1);
	assert_int_equal(sm[0].used, 33);
	assert_int_equal(sm[0].limit, 340);
	/* the dedupe table survived too */
	put_ok(st, "mx1", 77, 7800, 34, "again", 7801, 1);
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
	put_ok(st, "real", 1, 10, 1, "r", 11, 0);
	assert_int_equal(store_get_host(st, "ghost", &h, err, sizeof(err)), 1);
	assert_int_equal(store_get_host(st, "rea", &h, err, sizeof(err)), 1);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(store_get_host(st, longname, &h, err, sizeof(err)), 1);
	store_close(st);
}

/* A host row without a snapshot yet is listed, with raw NULL. */
static void
test_host_without_snapshot(void **state)
{
	char path[512], err[512] = "";
	struct seen sn = {0};
	struct stored_host h;
	struct store *st;

	(void)state;
	db_path(path, sizeof(path), "bare.db");
	st = open_ok(path);
	put_ok(st, "b-full", 4, 40, 1, "full", 41, 0);
	sql_exec(path, "INSERT INTO hosts (name, os, os_release, agent, page_size, boot_time)"
	               " VALUES ('a-bare', 'Linux', '6.1', 'ipcfleet-agent 0.1.0', 4096, 9)");
	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), 0);
	assert_int_equal(sn.n, 2);
	assert_string_equal(sn.h[0].info.name, "a-bare");
	assert_null(sn.h[0].raw);
	assert_int_equal(sn.h[0].rawlen, 0);
	assert_int_equal(sn.h[0].last_seq, 0);
	assert_int_equal(sn.h[0].info.boot_time, 9);
	assert_string_equal(sn.h[1].info.name, "b-full");
	assert_raw(&sn.h[1], "full");
	seen_free(&sn);
	assert_int_equal(store_get_host(st, "a-bare", &h, err, sizeof(err)), 0);
	assert_null(h.raw);
	stored_host_free(&h);

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
test_schema_newer_refused(void **state)
{
	char path[512], err[512] = "", want[700], ver[32];
	struct store *st;

	(void)state;
	db_path(path, sizeof(path), "newer.db");
	st = open_ok(path);
	store_close(st);
	sql_exec(path, "UPDATE meta SET value = '2' WHERE key = 'schema_version'");
	assert_null(store_open_sqlite(path, err, sizeof(err)));
	snprintf(want, sizeof(want),
	         "%s: database schema version 2 is newer than this aggregator (1)", path);
	assert_string_equal(err, want);
	/* left as it was */
	sql_text(path, "SELECT value FROM meta WHERE key = 'schema_version'", ver, sizeof(ver));
	assert_string_equal(ver, "2");

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
 * A write failing half-way (here a trigger; a full disk takes the same path)
 * returns -1 with sqlite's message and rolls everything back: the retry is
 * not taken for a duplicate.
 */
static void
test_write_failure_rolls_back(void **state)
{
	char path[512], err[512] = "";
	struct stored_host h;
	struct sample sm[4];
	struct store *st;
	size_t n = 0;
	int dup = -1;

	(void)state;
	db_path(path, sizeof(path), "fail.db");
	st = open_ok(path);
	put_ok(st, "h", 1, 100, 1, "one", 101, 0);
	sql_exec(path, "CREATE TRIGGER boom BEFORE INSERT ON samples"
	               " BEGIN SELECT RAISE(ABORT, 'simulated disk full'); END");
	assert_int_equal(put(st, "h", 2, 200, 2, "two", 201, &dup, err, sizeof(err)), -1);
	assert_int_equal(dup, 0);
	assert_non_null(strstr(err, "storing samples: simulated disk full"));
	assert_non_null(strstr(err, path));
	assert_null(strchr(err, '\n'));

	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 1);
	assert_raw(&h, "one");
	stored_host_free(&h);

	sql_exec(path, "DROP TRIGGER boom");
	put_ok(st, "h", 2, 200, 2, "two", 201, 0);
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.last_seq, 2);
	assert_raw(&h, "two");
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
	char path[512], err[512] = "", want[700];
	struct seen sn = {0};
	struct stored_host h;
	struct store *st;

	(void)state;
	db_path(path, sizeof(path), "bounds.db");
	st = open_ok(path);
	put_ok(st, "h", 1, 100, 1, "one", 101, 0);

	/* 64 characters do not fit char[64] with its NUL */
	sql_exec(path, "UPDATE hosts SET os = replace(hex(zeroblob(32)), '0', 'x')");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_null(h.raw);
	snprintf(want, sizeof(want), "%s: hosts: bad or too long os, os_release or agent of h",
	         path);
	assert_string_equal(err, want);
	assert_int_equal(store_each_host(st, collect, &sn, err, sizeof(err)), -1);
	assert_int_equal(sn.n, 0);
	assert_string_equal(err, want);
	/* 63 do */
	sql_exec(path, "UPDATE hosts SET os = substr(replace(hex(zeroblob(32)), '0', 'x'), 2)");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(strlen(h.info.os), 63);
	stored_host_free(&h);

	sql_exec(path, "UPDATE hosts SET page_size = 4294967296");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "bad page_size"));
	sql_exec(path, "UPDATE hosts SET page_size = 'big'");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	sql_exec(path, "UPDATE hosts SET page_size = 4096");

	sql_exec(path, "UPDATE hosts SET snapshot = zeroblob(16 * 1024 * 1024 + 1)");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_null(h.raw);
	snprintf(want, sizeof(want), "%s: hosts: snapshot of h is larger than 16777216 bytes",
	         path);
	assert_string_equal(err, want);
	sql_exec(path, "UPDATE hosts SET snapshot = 'text'");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a blob"));
	sql_exec(path, "UPDATE hosts SET snapshot = zeroblob(16 * 1024 * 1024)");
	assert_int_equal(store_get_host(st, "h", &h, err, sizeof(err)), 0);
	assert_int_equal(h.rawlen, 16 * 1024 * 1024);
	stored_host_free(&h);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_creates_0600_wal),
	    cmocka_unit_test(test_open_existing_keeps_mode),
	    cmocka_unit_test(test_two_hosts_sorted),
	    cmocka_unit_test(test_duplicate),
	    cmocka_unit_test(test_older_seq_keeps_newest),
	    cmocka_unit_test(test_series_values),
	    cmocka_unit_test(test_reopen_durable),
	    cmocka_unit_test(test_get_unknown),
	    cmocka_unit_test(test_host_without_snapshot),
	    cmocka_unit_test(test_schema_newer_refused),
	    cmocka_unit_test(test_missing_directory),
	    cmocka_unit_test(test_path_is_directory),
	    cmocka_unit_test(test_write_failure_rolls_back),
	    cmocka_unit_test(test_read_back_bounded),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
