/*
 * test_vanished.c: objects that vanished while their creator still runs
 * (agent/vanished.c), on synthetic snapshots and process tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vanished.h"
#include "util.h"

static struct ipc_object *
obj(struct snapshot *s, enum ipc_type t, int64_t id, int64_t key, uint32_t uid, int64_t cpid,
    uint32_t scope)
{
	struct ipc_object *o = snapshot_add_object(s);

	assert_non_null(o);
	o->type = t;
	o->id = id;
	o->key = key;
	o->uid = uid;
	o->cpid = cpid;
	o->ctime = 1764165600 + id;
	o->scope = scope;
	return o;
}

/* host + jail:pg; a segment made by pid 100, sets of uid 770 in the jail and uid 80 */
static void
before(struct snapshot *s)
{
	assert_int_equal(snapshot_init(s), 0);
	assert_non_null(snapshot_add_scope(s, "jail:pg", "pg", SCOPE_JAIL));
	s->taken = 1764165600;
	obj(s, IPC_SHM, 1, 11, 1000, 100, 0);
	obj(s, IPC_SEM, 2, 0, 770, 0, 1);
	obj(s, IPC_SEM, 3, 0, 80, 0, 0);
	obj(s, IPC_MSG, 4, 44, 1000, 0, 0);
}

static size_t
kinds(const struct snapshot *s, char *out, size_t len)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < s->nfindings; i++) {
		char one[32];

		if (s->findings[i].kind != FK_VANISHED)
			continue;
		assert_int_equal(s->findings[i].severity, SEV_WARN);
		snprintf(one, sizeof(one), "%s%s:%lld", n ? " " : "",
		         ipc_type_name(s->findings[i].otype), (long long)s->findings[i].oid);
		ifl_strlcat(out, one, len);
		n++;
	}
	return n;
}

static void
test_vanished(void **state)
{
	struct snapshot a, b;
	struct proc_table pt;
	struct buf st;
	char got[256], *prev;

	(void)state;
	before(&a);
	buf_init(&st, VANISHED_STATE_MAX);
	assert_int_equal(vanished_state(&a, &st), 0);

	/* all four gone; processes: pid 100 (uid 1000) on the host, uid 770 in the jail */
	assert_int_equal(snapshot_init(&b), 0);
	assert_non_null(snapshot_add_scope(&b, "jail:pg", "pg", SCOPE_JAIL));
	memset(&pt, 0, sizeof(pt));
	assert_int_equal(proc_table_add(&pt, 100, 1000, 0), 0);
	assert_int_equal(proc_table_add(&pt, 200, 770, 1), 0);
	assert_int_equal(proc_table_add(&pt, 300, 80, 1), 0); /* uid 80, but in the jail */
	pt.valid = 1;
	assert_non_null(prev = strdup(buf_cstr(&st)));
	/* the segment (creator runs), the jail's set (owner runs there), the
	 * queue (uid 1000 runs on the host); not uid 80's set (none on the host) */
	assert_int_equal(vanished_findings(&b, &pt, prev, 0), 3);
	free(prev);
	assert_int_equal(kinds(&b, got, sizeof(got)), 3);
	assert_string_equal(got, "shm:1 sem:2 msg:4");
	assert_string_equal(b.findings[0].message,
	                    "shared memory segment 1 (key 11, uid 1000) vanished since "
	                    "2025-11-26T14:00:00Z while its creator, pid 100, still runs: "
	                    "RemoveIPC at a logout, or an ipcrm (journalctl -u systemd-logind)");
	assert_string_equal(b.findings[1].scope, "jail:pg");
	snapshot_free(&b);

	/* still there: nothing; an id reused for another object (new ctime): vanished */
	before(&b);
	b.objects[0].ctime += 60;
	assert_non_null(prev = strdup(buf_cstr(&st)));
	assert_int_equal(vanished_findings(&b, &pt, prev, 0), 1);
	free(prev);
	assert_int_equal(kinds(&b, got, sizeof(got)), 1);
	assert_string_equal(got, "shm:1");
	snapshot_free(&b);

	/*
	 * Times of day (FreeBSD's ipcs): the same object read the next day has
	 * its ctime a day later, across a change of daylight saving time a day
	 * and an hour, or 23 hours; still there.  Off by a minute it is another.
	 */
	{
		static const int64_t same[] = {86400, 2 * 86400, 86400 + 3600, 86400 - 3600,
		                               86400 + 1800};
		size_t k;

		for (k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
			before(&b);
			b.times_of_day = 1;
			b.objects[0].ctime += same[k];
			assert_non_null(prev = strdup(buf_cstr(&st)));
			assert_int_equal(vanished_findings(&b, &pt, prev, 0), 0);
			free(prev);
			snapshot_free(&b);
		}
		before(&b);
		b.times_of_day = 1;
		b.objects[0].ctime += 86400 + 60;
		assert_non_null(prev = strdup(buf_cstr(&st)));
		assert_int_equal(vanished_findings(&b, &pt, prev, 0), 1);
		free(prev);
		snapshot_free(&b);
		/* from exact times (Linux), a day later is another object */
		before(&b);
		b.objects[0].ctime += 86400;
		assert_non_null(prev = strdup(buf_cstr(&st)));
		assert_int_equal(vanished_findings(&b, &pt, prev, 0), 1);
		free(prev);
		snapshot_free(&b);
	}

	/* without every process, nothing can be said */
	assert_int_equal(snapshot_init(&b), 0);
	pt.valid = 0;
	assert_non_null(prev = strdup(buf_cstr(&st)));
	assert_int_equal(vanished_findings(&b, &pt, prev, 0), 0);
	free(prev);
	snapshot_free(&b);

	/* a damaged state: its bad lines are ignored, the good one still counts */
	assert_int_equal(snapshot_init(&b), 0);
	pt.valid = 1;
	assert_non_null(
	    prev =
	        strdup("taken x\nshm 1 11 1764165601 1000 100 host\ngarbage\nshm -1 0 0 0 0 host\n"
	               "sem 9 0 0 99999999999 0 host\nmsg 5 0 0 1 2 3 4 5\n"));
	assert_int_equal(vanished_findings(&b, &pt, prev, 0), 1);
	free(prev);
	snapshot_free(&b);

	/* ids are per namespace: the same (type, id) in two scopes are two objects */
	snapshot_free(&a);
	before(&a);
	assert_non_null(snapshot_add_scope(&a, "ipcns:4026532200", "pid 9 x", SCOPE_IPCNS));
	obj(&a, IPC_SEM, 3, 0, 80, 0, 2); /* sem 3 again, in the namespace */
	assert_int_equal(vanished_state(&a, &st), 0);
	assert_int_equal(proc_table_add(&pt, 400, 80, 0), 0); /* uid 80 runs everywhere now */
	assert_int_equal(proc_table_add(&pt, 401, 80, 2), 0);
	before(&b);
	assert_non_null(snapshot_add_scope(&b, "ipcns:4026532200", "pid 9 x", SCOPE_IPCNS));
	/* b lacks the namespace's sem 3; the host's sem 3 is still there */
	assert_non_null(prev = strdup(buf_cstr(&st)));
	assert_int_equal(vanished_findings(&b, &pt, prev, 0), 1);
	free(prev);
	assert_int_equal(kinds(&b, got, sizeof(got)), 1);
	assert_string_equal(got, "sem:3");
	assert_string_equal(b.findings[0].scope, "ipcns:4026532200");
	snapshot_free(&b);

	proc_table_free(&pt);
	buf_free(&st);
	snapshot_free(&a);
}

/* Pending uids (proc_table_has_owner): uid 770 in the jail, unless it cannot be read. */
static int van_unreadable;

static int
van_uid_of(int64_t pid, uint32_t *uid)
{
	if (pid != 200)
		return 1; /* gone */
	*uid = 770;
	return van_unreadable ? -1 : 0;
}

/* An owner read when asked runs; one that cannot be told is no evidence. */
static void
test_vanished_pending(void **state)
{
	struct snapshot a, b;
	struct proc_table pt;
	struct buf st;
	char got[256], *prev;
	int unreadable;

	(void)state;
	before(&a);
	buf_init(&st, VANISHED_STATE_MAX);
	assert_int_equal(vanished_state(&a, &st), 0);
	for (unreadable = 0; unreadable <= 1; unreadable++) {
		van_unreadable = unreadable;
		assert_int_equal(snapshot_init(&b), 0);
		assert_non_null(snapshot_add_scope(&b, "jail:pg", "pg", SCOPE_JAIL));
		memset(&pt, 0, sizeof(pt));
		pt.valid = 1;
		pt.uid_of = van_uid_of;
		assert_int_equal(proc_table_add(&pt, 100, 1000, 0), 0);
		assert_int_equal(proc_table_add_pending(&pt, 200, 1), 0);
		assert_int_equal(proc_table_add_pending(&pt, 300, 0), 0); /* gone by now */
		assert_non_null(prev = strdup(buf_cstr(&st)));
		assert_int_equal(vanished_findings(&b, &pt, prev, 0), unreadable ? 2 : 3);
		free(prev);
		kinds(&b, got, sizeof(got));
		assert_string_equal(got, unreadable ? "shm:1 msg:4" : "shm:1 sem:2 msg:4");
		proc_table_free(&pt);
		snapshot_free(&b);
	}
	buf_free(&st);
	snapshot_free(&a);
}

/* The state's exact text: numbers at their bounds, unknown figures as -1. */
static void
test_vanished_state_text(void **state)
{
	struct snapshot a;
	struct ipc_object *o;
	struct buf st;

	(void)state;
	assert_int_equal(snapshot_init(&a), 0);
	assert_non_null(snapshot_add_scope(&a, "ipcns:4026532200", "pid 9 x", SCOPE_IPCNS));
	a.taken = 1764165600;
	obj(&a, IPC_SHM, 0, 0, 0, 1, 0);
	o = obj(&a, IPC_SEM, INT32_MAX, INT64_MIN, UINT32_MAX, 0, 1);
	o->unknown |= OF_CTIME | OF_CPID;
	o = obj(&a, IPC_MSG, 7, -1, 1000, INT64_MAX, 0);
	o->ctime = INT64_MAX;
	obj(&a, IPC_MSG, 8, 1, 1, 1, 5); /* no such scope: left out */
	buf_init(&st, VANISHED_STATE_MAX);
	assert_int_equal(vanished_state(&a, &st), 0);
	assert_string_equal(
	    buf_cstr(&st), "taken 1764165600\n"
	                   "shm 0 0 1764165600 0 1 host\n"
	                   "sem 2147483647 -9223372036854775808 -1 4294967295 -1 ipcns:4026532200\n"
	                   "msg 7 -1 9223372036854775807 1000 9223372036854775807 host\n");
	buf_free(&st);
	snapshot_free(&a);
}

/*
 * A later snapshot with the same objects leaves the state file alone (the
 * agent compares them); "seen" then dates a vanished object by that later
 * snapshot, not by the file's older "taken".
 */
static void
test_vanished_same(void **state)
{
	struct snapshot a, b;
	struct proc_table pt;
	struct buf st, st2;
	char got[256], *prev;

	(void)state;
	before(&a);
	buf_init(&st, VANISHED_STATE_MAX);
	buf_init(&st2, VANISHED_STATE_MAX);
	assert_int_equal(vanished_state(&a, &st), 0);
	a.taken += 3600; /* an hour later, the same objects */
	assert_int_equal(vanished_state(&a, &st2), 0);
	assert_int_not_equal(st.len, 0);
	assert_true(st.len == st2.len && memcmp(st.data, st2.data, st.len) != 0);
	assert_int_equal(vanished_same_objects(st.data, st.len, st2.data, st2.len), 1);
	/* one object more, one field changed, an empty or headless text: not the same */
	a.objects[0].ctime += 1;
	assert_int_equal(vanished_state(&a, &st2), 0);
	assert_int_equal(vanished_same_objects(st.data, st.len, st2.data, st2.len), 0);
	a.objects[0].ctime -= 1;
	obj(&a, IPC_SEM, 9, 0, 80, 0, 0);
	assert_int_equal(vanished_state(&a, &st2), 0);
	assert_int_equal(vanished_same_objects(st.data, st.len, st2.data, st2.len), 0);
	assert_int_equal(vanished_same_objects(st.data, st.len, "", 0), 0);
	assert_int_equal(vanished_same_objects("taken 1", 7, "taken 2", 7), 0);
	assert_int_equal(vanished_same_objects("taken 1\n", 8, "taken 2\n", 8), 1);

	/* all gone; the file says 14:00, a snapshot at 15:00 still held them */
	assert_int_equal(snapshot_init(&b), 0);
	assert_non_null(snapshot_add_scope(&b, "jail:pg", "pg", SCOPE_JAIL));
	memset(&pt, 0, sizeof(pt));
	assert_int_equal(proc_table_add(&pt, 100, 1000, 0), 0);
	pt.valid = 1;
	assert_non_null(prev = strdup(buf_cstr(&st)));
	assert_int_equal(vanished_findings(&b, &pt, prev, a.taken), 2);
	free(prev);
	assert_int_equal(kinds(&b, got, sizeof(got)), 2);
	assert_string_equal(got, "shm:1 msg:4");
	assert_non_null(strstr(b.findings[0].message, "vanished since 2025-11-26T15:00:00Z while"));
	snapshot_free(&b);
	/* an older "seen" than the file's own time changes nothing */
	assert_int_equal(snapshot_init(&b), 0);
	assert_non_null(snapshot_add_scope(&b, "jail:pg", "pg", SCOPE_JAIL));
	assert_non_null(prev = strdup(buf_cstr(&st)));
	assert_int_equal(vanished_findings(&b, &pt, prev, 1), 2);
	free(prev);
	assert_non_null(strstr(b.findings[0].message, "vanished since 2025-11-26T14:00:00Z while"));
	snapshot_free(&b);

	proc_table_free(&pt);
	buf_free(&st);
	buf_free(&st2);
	snapshot_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vanished),
	    cmocka_unit_test(test_vanished_pending),
	    cmocka_unit_test(test_vanished_state_text),
	    cmocka_unit_test(test_vanished_same),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
