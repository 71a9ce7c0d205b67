/*
 * test_orphan.c: orphaned objects and shared namespaces (agent/orphan.c), on
 * snapshots and process tables built by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collect.h"
#include "model.h"
#include "orphan.h"
#include "proto.h"
#include "util.h"

#define NOW  1795701600 /* 2026-11-26T14:00:00Z */
#define HOUR 3600

/* Scopes: 0 host, 1 ipcns:4026532200 "docker:0123456789ab", 2 jail:www. */
static void
build(struct snapshot *s)
{
	struct ipc_scope *sc;

	assert_int_equal(snapshot_init(s), 0);
	assert_non_null(
	    sc = snapshot_add_scope(s, "ipcns:4026532200", "docker:0123456789ab", SCOPE_IPCNS));
	sc->own_limits = 1;
	assert_non_null(sc = snapshot_add_scope(s, "jail:www", "www", SCOPE_JAIL));
}

static struct ipc_object *
add_obj(struct snapshot *s, enum ipc_type t, int64_t id, uint32_t uid, uint32_t scope)
{
	struct ipc_object *o = snapshot_add_object(s);

	assert_non_null(o);
	o->type = t;
	o->id = id;
	o->uid = o->cuid = uid;
	o->scope = scope;
	o->mode = 0600;
	o->ctime = NOW - 3 * HOUR;
	return o;
}

static void
add_proc(struct proc_table *pt, int64_t pid, uint32_t uid, uint32_t scope)
{
	assert_int_equal(proc_table_add(pt, pid, uid, scope), 0);
}

/* The finding about object (t, id), or NULL. */
static const struct finding *
find(const struct snapshot *s, enum ipc_type t, int64_t id)
{
	size_t i;

	for (i = 0; i < s->nfindings; i++)
		if (s->findings[i].has_object && s->findings[i].otype == t &&
		    s->findings[i].oid == id)
			return &s->findings[i];
	return NULL;
}

/* A segment: nobody attached, creator and last user gone (the rule's four cases). */
static void
test_shm_rule(void **state)
{
	struct snapshot s;
	struct proc_table pt;
	struct ipc_object *o;
	const struct finding *f;

	(void)state;
	build(&s);
	memset(&pt, 0, sizeof(pt));
	pt.valid = 1;
	add_proc(&pt, 100, 0, 0);
	add_proc(&pt, 200, 1001, 0);

	o = add_obj(&s, IPC_SHM, 10, 1001, 0); /* creator and last user gone */
	o->size = 4096;
	o->cpid = 300;
	o->lpid = 301;
	o->dtime = NOW - 2 * HOUR;
	strcpy(o->owner, "alice");
	o = add_obj(&s, IPC_SHM, 11, 1001, 0); /* creator alive */
	o->cpid = 200;
	o->lpid = 301;
	o = add_obj(&s, IPC_SHM, 12, 1001, 0); /* last user alive */
	o->cpid = 300;
	o->lpid = 100;
	o = add_obj(&s, IPC_SHM, 13, 1001, 0); /* attached */
	o->cpid = 300;
	o->lpid = 301;
	o->nattch = 1;
	o = add_obj(&s, IPC_SHM, 14, 0, 0); /* never attached, creator gone */
	o->size = 1048577;
	o->cpid = 300;
	o = add_obj(&s, IPC_SHM, 15, 0, 0); /* marked for removal */
	o->cpid = 300;
	o->mode = 01600;
	o = add_obj(&s, IPC_SHM, 16, 0, 0); /* creator not visible: cannot tell */
	o->cpid = 0;

	assert_int_equal(orphan_scan(&s, &pt, HOUR, NOW), 0);
	assert_int_equal(s.nfindings, 2);
	assert_non_null(f = find(&s, IPC_SHM, 10));
	assert_int_equal(f->kind, FK_ORPHAN);
	assert_int_equal(f->severity, SEV_INFO);
	assert_string_equal(f->scope, "host");
	assert_string_equal(f->limit, "");
	assert_true(f->age == 2 * HOUR);
	assert_int_equal(f->uid, 1001);
	assert_string_equal(
	    f->message, "shared memory segment 10 (4096 bytes, uid 1001 alice) looks abandoned: "
	                "nattch 0, creator pid 300 and last user pid 301 gone, uid 1001 still "
	                "runs in host; last used 2h ago, made 3h ago");
	assert_string_equal(f->command, "ipcrm -m 10");
	assert_non_null(f = find(&s, IPC_SHM, 14));
	assert_true(f->age == 3 * HOUR);
	assert_string_equal(f->message,
	                    "shared memory segment 14 (1048577 bytes, uid 0) looks abandoned: "
	                    "nattch 0, never attached, creator pid 300 gone, uid 0 still runs in "
	                    "host; last used 3h ago, made 3h ago");
	assert_string_equal(f->command, "ipcrm -m 14");
	proc_table_free(&pt);
	snapshot_free(&s);
}

/* Sets and queues: the owner's processes in the object's own scope only. */
static void
test_owner_rule(void **state)
{
	struct snapshot s;
	struct proc_table pt;
	struct ipc_object *o;
	const struct finding *f;

	(void)state;
	build(&s);
	memset(&pt, 0, sizeof(pt));
	pt.valid = 1;
	add_proc(&pt, 500, 70, 1); /* the namespace's member, first in the table */
	add_proc(&pt, 100, 0, 0);
	add_proc(&pt, 200, 1001, 0);
	add_proc(&pt, 300, 1002, PROC_SCOPE_NONE); /* a namespace that was not read */
	add_proc(&pt, 400, 1003, 7);               /* no such scope: owns nothing */

	o = add_obj(&s, IPC_SEM, 65536, 1001, 0); /* owner has a process here */
	o->nsems = 17;
	o = add_obj(&s, IPC_SEM, 65537, 70, 0); /* owner's process is in scope 1 */
	o->nsems = 17;
	o->otime = NOW - 2 * 86400;
	o->ctime = NOW - 3 * 86400;
	strcpy(o->owner, "postgres");
	o = add_obj(&s, IPC_SEM, 5, 1001, 1); /* owner's process is on the host */
	o->nsems = 3;
	o = add_obj(&s, IPC_SEM, 6, 70, 1); /* alive in its namespace */
	o->nsems = 3;
	o = add_obj(&s, IPC_MSG, 7, 1002, 0);
	o->qnum = 2;
	o->cbytes = 120;
	o->stime = NOW - 150;
	o->rtime = NOW - 7000; /* stime is the latest */
	o->ctime = NOW - 8000;
	o = add_obj(&s, IPC_MSG, 8, 1003, 0);
	o = add_obj(&s, IPC_MSG, 9, 0, 0); /* root has a process */
	/* an owner that could not be read ((uid_t)-1, no process has it): no evidence */
	o = add_obj(&s, IPC_SEM, 10, UINT32_MAX, 0);
	o->nsems = 17;
	o = add_obj(&s, IPC_MSG, 11, UINT32_MAX, 0);

	assert_int_equal(orphan_scan(&s, &pt, 60, NOW), 0);
	assert_int_equal(s.nfindings, 4);
	assert_null(find(&s, IPC_SEM, 65536));
	assert_null(find(&s, IPC_SEM, 6));
	assert_null(find(&s, IPC_MSG, 9));
	assert_null(find(&s, IPC_SEM, 10));
	assert_null(find(&s, IPC_MSG, 11));

	assert_non_null(f = find(&s, IPC_SEM, 65537));
	assert_int_equal(f->severity, SEV_WARN);
	assert_true(f->age == 2 * 86400);
	assert_string_equal(f->message,
	                    "semaphore set 65537 (17 semaphores, uid 70 postgres) looks abandoned: "
	                    "no process of uid 70 is left in host; last used 2d ago, made 3d ago");
	assert_string_equal(f->command, "ipcrm -s 65537");

	assert_non_null(f = find(&s, IPC_SEM, 5));
	assert_string_equal(f->scope, "ipcns:4026532200");
	assert_string_equal(
	    f->message, "semaphore set 5 (3 semaphores, uid 1001) looks abandoned: no process "
	                "of uid 1001 is left in IPC namespace docker:0123456789ab; last used 3h "
	                "ago, made 3h ago");
	assert_string_equal(f->command, "nsenter -t 500 -i ipcrm -s 5");

	assert_non_null(f = find(&s, IPC_MSG, 7));
	assert_int_equal(f->severity, SEV_INFO);
	assert_true(f->age == 150);
	assert_string_equal(f->message,
	                    "message queue 7 (2 messages, 120 bytes, uid 1002) looks abandoned: no "
	                    "process of uid 1002 is left in host; last used 2m ago, made 2h ago");
	assert_string_equal(f->command, "ipcrm -q 7");
	assert_non_null(f = find(&s, IPC_MSG, 8));
	proc_table_free(&pt);
	snapshot_free(&s);
}

/*
 * A namespace nobody runs in any more, or a jail whose name a shell would
 * interpret: no command is given for their orphans, and the message says
 * why (never a guess that would remove another namespace's object).
 */
static void
test_no_command(void **state)
{
	struct snapshot s;
	struct proc_table pt;
	const struct finding *f;

	(void)state;
	build(&s);
	assert_non_null(snapshot_add_scope(&s, "jail:a;b", "a;b", SCOPE_JAIL));
	memset(&pt, 0, sizeof(pt));
	pt.valid = 1;
	add_proc(&pt, 100, 0, 0);
	add_obj(&s, IPC_SEM, 5, 1001, 1)->nsems = 3; /* scope 1 has no process at all */
	add_obj(&s, IPC_SEM, 6, 1001, 3)->nsems = 1;
	assert_int_equal(orphan_scan(&s, &pt, 60, NOW), 0);
	assert_non_null(f = find(&s, IPC_SEM, 5));
	assert_string_equal(f->command, "");
	assert_string_equal(f->message,
	                    "semaphore set 5 (3 semaphores, uid 1001) looks abandoned: no process "
	                    "of uid 1001 is left in IPC namespace docker:0123456789ab; last used "
	                    "3h ago, made 3h ago; no command: no process is known to enter IPC "
	                    "namespace docker:0123456789ab");
	assert_non_null(f = find(&s, IPC_SEM, 6));
	assert_string_equal(f->command, "");
	assert_non_null(strstr(f->message, "; no command: jail a;b's name is not safe to paste"));
	proc_table_free(&pt);
	snapshot_free(&s);
}

/* Younger than min_age: not yet an orphan; the boundary counts. */
static void
test_min_age(void **state)
{
	struct snapshot s;
	struct proc_table pt;
	struct ipc_object *o;
	const struct finding *f;

	(void)state;
	build(&s);
	memset(&pt, 0, sizeof(pt));
	pt.valid = 1;
	add_proc(&pt, 1, 0, 0);
	o = add_obj(&s, IPC_SEM, 1, 42, 0);
	o->otime = NOW - HOUR; /* exactly min_age */
	o = add_obj(&s, IPC_SEM, 2, 42, 0);
	o->otime = NOW - HOUR + 1; /* one second short */
	o = add_obj(&s, IPC_SHM, 3, 42, 0);
	o->cpid = 99;
	o->atime = NOW - 10; /* attached ten seconds ago */
	o = add_obj(&s, IPC_SEM, 4, 42, 0);
	o->ctime = 0; /* no time at all: age unknown */
	o = add_obj(&s, IPC_MSG, 5, 42, 0);
	o->ctime = NOW + 100; /* the kernel's clock ahead of ours */

	assert_int_equal(orphan_scan(&s, &pt, HOUR, NOW), 0);
	assert_int_equal(s.nfindings, 1);
	assert_non_null(f = find(&s, IPC_SEM, 1));
	assert_true(f->age == HOUR);
	assert_string_equal(f->message, "semaphore set 1 (0 semaphores, uid 42) looks abandoned: "
	                                "no process of uid 42 is left in host; last used 60m ago, "
	                                "made 3h ago");

	/* min_age 0: everything, the unknown age as 0 */
	s.nfindings = 0;
	assert_int_equal(orphan_scan(&s, &pt, 0, NOW), 0);
	assert_int_equal(s.nfindings, 5);
	assert_non_null(f = find(&s, IPC_SEM, 4));
	assert_true(f->age == 0);
	assert_string_equal(f->message, "semaphore set 4 (0 semaphores, uid 42) looks abandoned: "
	                                "no process of uid 42 is left in host; last use unknown");
	assert_non_null(f = find(&s, IPC_MSG, 5));
	assert_true(f->age == 0);
	assert_non_null(strstr(f->message, "; last used 0s ago"));
	assert_non_null(f = find(&s, IPC_SHM, 3));
	assert_true(f->age == 10);
	proc_table_free(&pt);
	snapshot_free(&s);
}

/* No valid process table: nothing is an orphan. */
static void
test_invalid_table(void **state)
{
	struct snapshot s;
	struct proc_table pt;
	struct ipc_object *o;

	(void)state;
	build(&s);
	memset(&pt, 0, sizeof(pt));
	o = add_obj(&s, IPC_SEM, 1, 42, 0);
	o = add_obj(&s, IPC_SHM, 2, 42, 0);
	o->cpid = 99;
	assert_int_equal(orphan_scan(&s, &pt, 0, NOW), 0); /* valid = 0, empty */
	assert_int_equal(s.nfindings, 0);
	add_proc(&pt, 1, 0, 0);
	assert_int_equal(orphan_scan(&s, &pt, 0, NOW), 0); /* valid = 0, not empty */
	assert_int_equal(s.nfindings, 0);
	assert_int_equal(orphan_scan(&s, NULL, 0, NOW), 0);
	assert_int_equal(s.nfindings, 0);
	/* valid but empty: nobody lives, so both are orphans */
	proc_table_free(&pt);
	pt.valid = 1;
	assert_int_equal(orphan_scan(&s, &pt, 0, NOW), 0);
	assert_int_equal(s.nfindings, 2);
	proc_table_free(&pt);
	snapshot_free(&s);
}

/*
 * Pending uids (proc_table_has_owner): the fake reader below answers from a
 * table by pid and logs each read, so the tests can say which uids were
 * read, and that none was read twice.
 */
static struct {
	int64_t pid;
	int rc; /* 0: uid; 1: gone; -1: cannot be told */
	uint32_t uid;
} fake_procs[] = {
    {20, 0, 7},  {21, 0, 7}, {22, 1, 0},  {23, 0, 9},  {24, 0, 11},
    {30, -1, 0}, {31, 0, 5}, {40, 0, 99}, {50, 0, 42}, {51, 0, 43},
};
static int64_t fake_log[64];
static size_t fake_nlog;

static int
fake_uid_of(int64_t pid, uint32_t *uid)
{
	size_t i;

	assert_true(fake_nlog < NELEM(fake_log));
	fake_log[fake_nlog++] = pid;
	for (i = 0; i < NELEM(fake_procs); i++)
		if (fake_procs[i].pid == pid) {
			*uid = fake_procs[i].uid;
			return fake_procs[i].rc;
		}
	return 1;
}

static void
add_pending(struct proc_table *pt, int64_t pid, uint32_t scope)
{
	assert_int_equal(proc_table_add_pending(pt, pid, scope), 0);
}

/* Reads only as many uids as the question needs, each at most once. */
static void
test_owner_lazy(void **state)
{
	struct proc_table pt;
	size_t i, k;

	(void)state;
	memset(&pt, 0, sizeof(pt));
	fake_nlog = 0;
	pt.valid = 1;
	pt.uid_of = fake_uid_of;
	add_proc(&pt, 10, 0, 0);
	add_pending(&pt, 20, 1);
	add_pending(&pt, 21, 1);
	add_pending(&pt, 40, PROC_SCOPE_NONE);
	add_pending(&pt, 22, 1);
	add_pending(&pt, 30, 2);
	add_pending(&pt, 23, 1);
	add_pending(&pt, 31, 2);
	add_pending(&pt, 24, 1);
	add_proc(&pt, 11, 8, 1);

	/* known uids answer without a read */
	assert_int_equal(proc_table_has_owner(&pt, 0, 0), 1);
	assert_int_equal(proc_table_has_owner(&pt, 1, 8), 1);
	assert_int_equal(proc_table_has_owner(&pt, 0, 7), 0); /* scope 0 has nothing pending */
	assert_int_equal(fake_nlog, 0);
	/* the first of scope 1 in table order answers */
	assert_int_equal(proc_table_has_owner(&pt, 1, 7), 1);
	assert_int_equal(fake_nlog, 1);
	assert_int_equal(fake_log[0], 20);
	assert_int_equal(proc_table_has_owner(&pt, 1, 7), 1);
	assert_int_equal(fake_nlog, 1);
	/* 21 (7 again), 22 (gone: owns nothing), then 23 */
	assert_int_equal(proc_table_has_owner(&pt, 1, 9), 1);
	assert_int_equal(fake_nlog, 4);
	assert_int_equal(fake_log[3], 23);
	/* absent: the rest of the scope is read, once */
	assert_int_equal(proc_table_has_owner(&pt, 1, 42), 0);
	assert_int_equal(fake_nlog, 5);
	assert_int_equal(proc_table_has_owner(&pt, 1, 11), 1);
	assert_int_equal(proc_table_has_owner(&pt, 1, 42), 0);
	assert_int_equal(fake_nlog, 5);
	/* a uid that could not be read: an absent one cannot be told */
	assert_int_equal(proc_table_has_owner(&pt, 2, 5), 1);
	assert_int_equal(proc_table_has_owner(&pt, 2, 6), -1);
	assert_int_equal(fake_nlog, 7);
	/* no process there, or outside every listed scope */
	assert_int_equal(proc_table_has_owner(&pt, 3, 0), 0);
	assert_int_equal(proc_table_has_owner(&pt, PROC_SCOPE_NONE, 99), 0);
	assert_int_equal(fake_nlog, 7);
	for (i = 0; i < fake_nlog; i++) {
		assert_int_not_equal(fake_log[i], 40);
		for (k = 0; k < i; k++)
			assert_int_not_equal(fake_log[i], fake_log[k]);
	}
	/* a process added later: what was read stays read */
	add_proc(&pt, 12, 42, 1);
	assert_int_equal(proc_table_has_owner(&pt, 1, 42), 1);
	assert_int_equal(proc_table_has_owner(&pt, 1, 9), 1);
	assert_int_equal(fake_nlog, 7);
	/* without a reader, a pending uid cannot be told */
	pt.uid_of = NULL;
	add_pending(&pt, 50, 4);
	assert_int_equal(proc_table_has_owner(&pt, 4, 42), -1);
	proc_table_free(&pt);
	assert_null(pt.own);
}

/*
 * The orphan rule on pending uids: a set whose owner runs is not reported,
 * one whose owner does not is, one whose owner cannot be told is not; only
 * the uids of scopes that hold such objects are read.
 */
static void
test_owner_pending_scan(void **state)
{
	struct snapshot s;
	struct proc_table pt;
	const struct finding *f;

	(void)state;
	build(&s);
	memset(&pt, 0, sizeof(pt));
	fake_nlog = 0;
	pt.valid = 1;
	pt.uid_of = fake_uid_of;
	add_pending(&pt, 50, 0);
	add_pending(&pt, 51, 0);
	add_pending(&pt, 20, 1); /* scope 1: no object, never read */
	add_pending(&pt, 30, 2);
	add_obj(&s, IPC_SEM, 1, 43, 0);   /* owner 51 runs */
	add_obj(&s, IPC_MSG, 2, 4242, 0); /* no process of 4242 */
	add_obj(&s, IPC_SEM, 3, 4242, 2); /* scope 2: its one uid cannot be read */
	assert_int_equal(orphan_scan(&s, &pt, 0, NOW), 0);
	assert_int_equal(s.nfindings, 1);
	assert_non_null(f = find(&s, IPC_MSG, 2));
	assert_string_equal(f->message,
	                    "message queue 2 (0 messages, 0 bytes, uid 4242) looks abandoned: no "
	                    "process of uid 4242 is left in host; last used 3h ago, made 3h ago");
	assert_int_equal(fake_nlog, 3);
	assert_int_equal(fake_log[0], 50);
	assert_int_equal(fake_log[1], 51);
	assert_int_equal(fake_log[2], 30);
	proc_table_free(&pt);
	snapshot_free(&s);
}

/*
 * proc_table_alive: every pid of the table whatever its order, none other;
 * a process added after a question is seen by the next one.
 */
static void
test_proc_alive(void **state)
{
	static const int64_t pids[] = {907, 3, 4194304, 12, 1, 500, 499, 2};
	struct proc_table pt;
	size_t i;

	(void)state;
	memset(&pt, 0, sizeof(pt));
	/* empty: nothing lives */
	assert_int_equal(proc_table_alive(&pt, 1), 0);
	proc_table_free(&pt);
	for (i = 0; i < sizeof(pids) / sizeof(pids[0]); i++)
		assert_int_equal(proc_table_add(&pt, pids[i], 0, 0), 0);
	for (i = 0; i < sizeof(pids) / sizeof(pids[0]); i++)
		assert_int_equal(proc_table_alive(&pt, pids[i]), 1);
	assert_int_equal(proc_table_alive(&pt, 0), 0);
	assert_int_equal(proc_table_alive(&pt, 4), 0);
	assert_int_equal(proc_table_alive(&pt, 498), 0);
	assert_int_equal(proc_table_alive(&pt, 501), 0);
	assert_int_equal(proc_table_alive(&pt, 4194305), 0);
	assert_int_equal(proc_table_alive(&pt, -1), 0);
	/* the sorted copy is of the table as it was: an addition is seen */
	assert_int_equal(proc_table_add_pending(&pt, 4, 0), 0);
	assert_int_equal(proc_table_alive(&pt, 4), 1);
	assert_int_equal(proc_table_alive(&pt, 907), 1);
	proc_table_free(&pt);
	assert_null(pt.pids);
}

/* The command for each kind of scope. */
static void
test_commands(void **state)
{
	struct snapshot s;
	struct proc_table pt;
	struct ipc_scope *sc;
	char cmd[MODEL_TEXT_MAX], tiny[8];

	(void)state;
	build(&s);
	assert_non_null(sc = snapshot_add_scope(&s, "jail:bad;rm", "bad;rm", SCOPE_JAIL));
	assert_non_null(sc = snapshot_add_scope(&s, "ipcns:4026532299", "empty", SCOPE_IPCNS));
	memset(&pt, 0, sizeof(pt));
	pt.valid = 1;
	add_proc(&pt, 1, 0, 0);
	add_proc(&pt, 812, 999, 1); /* the first of scope 1 */
	add_proc(&pt, 77, 0, 1);

	assert_int_equal(orphan_command(&s, &pt, 0, IPC_SEM, 65538, cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "ipcrm -s 65538");
	assert_int_equal(orphan_command(&s, &pt, 0, IPC_SHM, 0, cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "ipcrm -m 0");
	assert_int_equal(orphan_command(&s, &pt, 1, IPC_MSG, 32769, cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "nsenter -t 812 -i ipcrm -q 32769");
	assert_int_equal(orphan_command(&s, &pt, 2, IPC_SHM, 65536, cmd, sizeof(cmd)), 0);
	assert_string_equal(cmd, "jexec www ipcrm -m 65536");
	/* what cannot be built safely is not built */
	assert_int_equal(orphan_command(&s, &pt, 3, IPC_SEM, 1, cmd, sizeof(cmd)), -1);
	assert_string_equal(cmd, "");
	assert_int_equal(orphan_command(&s, &pt, 4, IPC_SEM, 1, cmd, sizeof(cmd)), -1);
	assert_string_equal(cmd, "");
	assert_int_equal(orphan_command(&s, NULL, 1, IPC_SEM, 1, cmd, sizeof(cmd)), -1);
	assert_int_equal(orphan_command(&s, &pt, 5, IPC_SEM, 1, cmd, sizeof(cmd)), -1);
	assert_int_equal(orphan_command(&s, &pt, 0, IPC_SEM, 65538, tiny, sizeof(tiny)), -1);
	assert_string_equal(tiny, "");

	/* and in findings: a jail orphan, and one in an unsafe jail (no command) */
	add_obj(&s, IPC_SEM, 3, 4242, 2);
	add_obj(&s, IPC_SEM, 4, 4242, 3);
	assert_int_equal(orphan_scan(&s, &pt, 0, NOW), 0);
	assert_int_equal(s.nfindings, 2);
	assert_string_equal(find(&s, IPC_SEM, 3)->command, "jexec www ipcrm -s 3");
	assert_string_equal(find(&s, IPC_SEM, 3)->scope, "jail:www");
	assert_non_null(strstr(find(&s, IPC_SEM, 3)->message, " is left in jail www;"));
	assert_string_equal(find(&s, IPC_SEM, 4)->command, "");
	proc_table_free(&pt);
	snapshot_free(&s);
}

static void
test_isolation(void **state)
{
	struct snapshot s;
	struct ipc_scope *sc;
	struct proc_table pt;

	(void)state;
	build(&s);
	s.scopes[1].iso[IPC_SEM] = ISO_INHERIT; /* an ipcns scope: not a jail */
	s.scopes[2].iso[IPC_SHM] = ISO_NEW;
	s.scopes[2].iso[IPC_SEM] = ISO_INHERIT;
	s.scopes[2].iso[IPC_MSG] = ISO_DISABLE;
	assert_non_null(sc = snapshot_add_scope(&s, "jail:db", "db", SCOPE_JAIL));
	sc->iso[IPC_SHM] = sc->iso[IPC_SEM] = sc->iso[IPC_MSG] = ISO_INHERIT;
	assert_non_null(sc = snapshot_add_scope(&s, "jail:safe", "safe", SCOPE_JAIL));
	sc->iso[IPC_SHM] = sc->iso[IPC_SEM] = sc->iso[IPC_MSG] = ISO_NEW;

	orphan_isolation(&s);
	assert_int_equal(s.nfindings, 2);
	assert_int_equal(s.findings[0].kind, FK_ISOLATION);
	assert_int_equal(s.findings[0].severity, SEV_WARN);
	assert_int_equal(s.findings[0].has_object, 0);
	assert_string_equal(s.findings[0].scope, "jail:www");
	assert_string_equal(s.findings[0].message,
	                    "jail www shares the host's SysV sem namespace (inherit): root in it "
	                    "can read and remove other jails' objects");
	assert_string_equal(s.findings[1].scope, "jail:db");
	assert_string_equal(
	    s.findings[1].message,
	    "jail db shares the host's SysV shm/sem/msg namespace (inherit): root in "
	    "it can read and remove other jails' objects");
	/* once per jail, also when a collector reported it first */
	orphan_isolation(&s);
	assert_int_equal(s.nfindings, 2);

	/* orphan_findings: both passes, findings that the wire takes */
	memset(&pt, 0, sizeof(pt));
	pt.valid = 1;
	add_obj(&s, IPC_SEM, 9, 4242, 1);
	s.nfindings = 0;
	assert_int_equal(orphan_findings(&s, &pt, 0, NOW), 0);
	assert_int_equal(s.nfindings, 3);
	assert_int_equal(s.findings[2].kind, FK_ORPHAN);
	assert_string_equal(s.findings[2].command, ""); /* an ipcns with no process known */
	{
		struct buf b;

		s.seq = 1;
		buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
		assert_int_equal(proto_encode_snapshot(&b, &s), 0);
		buf_free(&b);
	}
	snapshot_free(&s);
}

/* Names with control characters do not make a finding the wire refuses. */
static void
test_clean_messages(void **state)
{
	struct snapshot s;
	struct proc_table pt;
	struct ipc_scope *sc;
	struct ipc_object *o;
	struct buf b;

	(void)state;
	build(&s);
	assert_non_null(sc = snapshot_add_scope(&s, "jail:x", "x\x1b[2J", SCOPE_JAIL));
	sc->iso[IPC_MSG] = ISO_INHERIT;
	memset(&pt, 0, sizeof(pt));
	pt.valid = 1;
	o = add_obj(&s, IPC_SEM, 1, 5, 0);
	strcpy(o->owner, "ev\til");
	assert_int_equal(orphan_findings(&s, &pt, 0, NOW), 0);
	assert_int_equal(s.nfindings, 2);
	assert_string_equal(s.findings[0].message,
	                    "jail x?[2J shares the host's SysV msg namespace (inherit): root in it "
	                    "can read and remove other jails' objects");
	assert_non_null(strstr(s.findings[1].message, "(0 semaphores, uid 5 ev?il)"));
	/* the owner itself goes out cleaned (test_proto.c: test_encode_cleans_text) */
	s.seq = 1;
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	assert_non_null(memmem(b.data, b.len, "ev?il", 5));
	buf_free(&b);
	snapshot_free(&s);
}

/* MODEL_MAX_FINDINGS bounds the orphans too. */
static void
test_many(void **state)
{
	struct snapshot s;
	struct proc_table pt;
	int i;

	(void)state;
	build(&s);
	memset(&pt, 0, sizeof(pt));
	pt.valid = 1;
	for (i = 0; i < MODEL_MAX_FINDINGS + 50; i++)
		add_obj(&s, IPC_SEM, i, 7, 0);
	assert_int_equal(orphan_scan(&s, &pt, 0, NOW), 0);
	assert_int_equal(s.nfindings, MODEL_MAX_FINDINGS);
	assert_true(s.findings[MODEL_MAX_FINDINGS - 1].oid == MODEL_MAX_FINDINGS - 1);
	snapshot_free(&s);
}

static void
test_age_str(void **state)
{
	static const struct {
		int64_t age;
		const char *s;
	} cases[] = {
	    {-5, "0s"},   {0, "0s"},       {119, "119s"},  {120, "2m"},           {7199, "119m"},
	    {7200, "2h"}, {172799, "47h"}, {172800, "2d"}, {86400 * 400, "400d"},
	};
	char out[24];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		orphan_age_str(cases[i].age, out, sizeof(out));
		assert_string_equal(out, cases[i].s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shm_rule),      cmocka_unit_test(test_owner_rule),
	    cmocka_unit_test(test_no_command),    cmocka_unit_test(test_min_age),
	    cmocka_unit_test(test_invalid_table), cmocka_unit_test(test_commands),
	    cmocka_unit_test(test_isolation),     cmocka_unit_test(test_clean_messages),
	    cmocka_unit_test(test_many),          cmocka_unit_test(test_age_str),
	    cmocka_unit_test(test_owner_lazy),    cmocka_unit_test(test_owner_pending_scan),
	    cmocka_unit_test(test_proc_alive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
