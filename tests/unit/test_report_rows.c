/*
 * test_report_rows.c: what the aggregator adds to a report row (issue 15):
 * the limit nearest exhaustion, and 30 days of daily peaks (and lows, for a
 * host with findings) from a real SQLite store's rollups, within the
 * reply's budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mpread.h"
#include "proto.h"
#include "report_rows.h"
#include "store.h"
#include "util.h"

#define DAY 86400

static void
item(struct usage *u, const char *name, uint64_t used, uint64_t limit)
{
	struct usage_item *it = &u->v[u->n++];

	memset(it, 0, sizeof(*it));
	it->name = name;
	it->used = used;
	it->limit = limit;
	it->has_limit = 1;
}

static void
test_nearest(void **state)
{
	struct usage u = {0};
	struct finding f[1];
	int64_t now = 1764000000, at;

	(void)state;
	item(&u, "semmns", 50, 100);
	item(&u, "semmni", 60, 100);
	item(&u, "shmmni", 10, 100);
	u.v[3].name = "msgmni"; /* unknown: never the nearest, never 0 % */
	u.v[3].unknown_used = 1;
	u.v[3].has_limit = 1;
	u.v[3].limit = 10;
	u.n = 4;
	/* nothing forecast, nothing past crit: the highest use% */
	assert_int_equal(report_nearest(&u, NULL, 0, NULL, NULL, now, &at), 1);
	assert_int_equal(at, 0);
	/* a forecast on shmmni (10 %) comes before a higher use% that holds */
	memset(f, 0, sizeof(f));
	f[0].kind = FK_FORECAST;
	ifl_strlcpy(f[0].limit, "shmmni", sizeof(f[0].limit));
	f[0].exhaust_at = now + 5 * DAY;
	assert_int_equal(report_nearest(&u, f, 1, NULL, NULL, now, &at), 2);
	assert_int_equal(at, now + 5 * DAY);
	/* a limit past its crit level has run out now: before any forecast */
	u.v[1].used = 95;
	assert_int_equal(report_nearest(&u, f, 1, NULL, NULL, now, &at), 1);
	assert_int_equal(at, now);
	/* nothing known at all: none */
	u.n = 0;
	item(&u, "msgmni", 0, 10);
	u.v[0].unknown_used = 1;
	assert_int_equal(report_nearest(&u, f, 1, NULL, NULL, now, &at), -1);
}

/* Packs the row's extras for snapshot s and unpacks them. */
static void
pack_row(struct report_row *rr, msgpack_sbuffer *sb, msgpack_unpacked *up)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, REPORT_ROW_PAIRS);
	report_row_pack(&pk, rr);
	msgpack_unpacked_init(up);
	assert_int_equal(msgpack_unpack_next(up, sb->data, sb->size, NULL), MSGPACK_UNPACK_SUCCESS);
}

static uint64_t
day_u64(const msgpack_object *arr, size_t i)
{
	uint64_t v = 0;

	assert_true(i < mpr_arrsize(arr));
	assert_int_equal(mpr_u64(&arr->via.array.ptr[i], &v), 0);
	return v;
}

static int
day_nil(const msgpack_object *arr, size_t i)
{
	return i < mpr_arrsize(arr) && arr->via.array.ptr[i].type == MSGPACK_OBJECT_NIL;
}

static void
test_history(void **state)
{
	char dir[] = "/tmp/test_report_rows.XXXXXX", path[64], err[512] = "";
	int64_t now = now_unix(), today = now - now % DAY, t[48];
	uint64_t used[48], lim[48];
	struct store_history h = {.limit = "semmns", .used = used, .limit_value = lim};
	struct host_info hi;
	struct snapshot s;
	struct store_put v;
	struct store *st;
	struct finding f;
	struct report_row rr;
	msgpack_sbuffer sb;
	msgpack_unpacked up;
	const msgpack_object *row, *near, *sem;
	size_t i, budget = REPORT_HIST_BUDGET, before;
	struct ipc_object *o;
	uint64_t n;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/db", dir);
	st = store_open_sqlite(path, err, sizeof(err));
	assert_non_null(st);
	/* the host now: 3 sets of 10 semaphores of semmns 100 */
	memset(&hi, 0, sizeof(hi));
	ifl_strlcpy(hi.name, "h1", sizeof(hi.name));
	ifl_strlcpy(hi.os, "Linux", sizeof(hi.os));
	hi.page_size = 4096;
	assert_int_equal(snapshot_init(&s), 0);
	s.seq = 1;
	s.taken = now;
	s.page_size = 4096;
	for (i = 0; i < 3; i++) {
		assert_non_null(o = snapshot_add_object(&s));
		o->type = IPC_SEM;
		o->id = (int64_t)i;
		o->nsems = 10;
	}
	assert_int_equal(limits_set(&s.limits, "semmns", 100), 0);
	v = (struct store_put){.hi = &hi,
	                       .s = &s,
	                       .raw = (const uint8_t *)"x",
	                       .rawlen = 1,
	                       .received = now,
	                       .duplicate = -1,
	                       .conflict = -1};
	if (store_put_snapshots(st, &v, 1, err, sizeof(err)) != 0)
		fail_msg("put_snapshots: %s", err);
	/* three days ago hourly 20..24, the day before yesterday nothing, yesterday 50 */
	for (i = 0; i < 24; i++) {
		t[i] = today - 3 * DAY + (int64_t)i * 3600;
		used[i] = 20 + i % 5;
		t[24 + i] = today - DAY + (int64_t)i * 3600;
		used[24 + i] = 50;
		lim[i] = lim[24 + i] = 100;
	}
	if (store_put_history(st, "h1", t, 48, &h, 1, today, err, sizeof(err)) != 0)
		fail_msg("put_history: %s", err);

	/* a finding on semmns: the lows come too */
	memset(&f, 0, sizeof(f));
	f.kind = FK_THRESHOLD;
	f.severity = SEV_WARN;
	ifl_strlcpy(f.limit, "semmns", sizeof(f.limit));
	memset(&rr, 0, sizeof(rr));
	rr.st = st;
	rr.host = "h1";
	rr.s = &s;
	rr.findings = &f;
	rr.nfindings = 1;
	rr.now = now;
	rr.budget = &budget;
	pack_row(&rr, &sb, &up);
	row = &up.data;
	near = mpr_get(row, "nearest");
	assert_true(mpr_streq(mpr_get(near, "limit"), "semmns"));
	assert_int_equal(mpr_u64(mpr_get(near, "used"), &n), 0);
	assert_int_equal(n, 30);
	assert_int_equal(mpr_u64(mpr_get(near, "free"), &n), 0);
	assert_int_equal(n, 70);
	assert_int_equal(mpr_get(near, "exhaust_at")->type, MSGPACK_OBJECT_NIL);
	assert_int_equal(mpr_get(row, "history")->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(mpr_u64(mpr_get(mpr_get(row, "history"), "days"), &n), 0);
	assert_int_equal(n, 30);
	sem = mpr_get(mpr_get(mpr_get(row, "history"), "limits"), "semmns");
	assert_non_null(sem);
	assert_int_equal(mpr_arrsize(mpr_get(sem, "max")), 30);
	/* day 26 is three days ago, 29 today (the sample put_snapshots stored) */
	assert_int_equal(day_u64(mpr_get(sem, "max"), 26), 24);
	assert_int_equal(day_u64(mpr_get(sem, "min"), 26), 20);
	assert_true(day_nil(mpr_get(sem, "max"), 27)); /* no figures: nil, not 0 */
	assert_true(day_nil(mpr_get(sem, "min"), 27));
	assert_int_equal(day_u64(mpr_get(sem, "max"), 28), 50);
	assert_int_equal(day_u64(mpr_get(sem, "max"), 29), 30);
	assert_true(day_nil(mpr_get(sem, "max"), 0));
	assert_true(budget < REPORT_HIST_BUDGET);
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);

	/* without findings: the peaks only; with the budget spent: nil, budget kept */
	rr.nfindings = 0;
	pack_row(&rr, &sb, &up);
	sem = mpr_get(mpr_get(mpr_get(&up.data, "history"), "limits"), "semmns");
	assert_non_null(mpr_get(sem, "max"));
	assert_null(mpr_get(sem, "min"));
	/* the same days from the store's daily peaks as from the rollups */
	assert_int_equal(day_u64(mpr_get(sem, "max"), 26), 24);
	assert_true(day_nil(mpr_get(sem, "max"), 27));
	assert_int_equal(day_u64(mpr_get(sem, "max"), 28), 50);
	assert_int_equal(day_u64(mpr_get(sem, "max"), 29), 30);
	assert_true(day_nil(mpr_get(sem, "max"), 0));
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);
	budget = before = 50;
	pack_row(&rr, &sb, &up);
	assert_int_equal(mpr_get(&up.data, "history")->type, MSGPACK_OBJECT_NIL);
	assert_true(mpr_streq(mpr_get(mpr_get(&up.data, "nearest"), "limit"), "semmns"));
	assert_int_equal(budget, before);
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);

	snapshot_free(&s);
	store_close(st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/db-shm", dir);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nearest),
	    cmocka_unit_test(test_history),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
