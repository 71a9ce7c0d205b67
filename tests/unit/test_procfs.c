/*
 * test_procfs.c: the Linux collector against fixture trees written in the
 * kernel's own /proc/sysvipc format, plus the source parser and dispatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sys/utsname.h>

#include "collect.h"
#include "platform.h"
#include "model.h"
#include "util.h"

#define SHM_HDR                                                                                    \
	"       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  " \
	"cgid      atime      dtime      ctime                   rss                  swap\n"
#define SHM_LINE                                                                                   \
	"       100          1   600                  8192    10    11      1     0     0     0  " \
	"   0          1          2          3                  8192                     0\n"
#define SEM_HDR                                                                                    \
	"       key      semid perms      nsems   uid   gid  cuid  cgid      otime      ctime\n"
#define MSG_HDR                                                                                    \
	"       key      msqid perms      cbytes       qnum lspid lrpid   uid   gid  cuid  cgid  " \
	"    stime      rtime      ctime\n"

static void
limit_eq(const struct ipc_limits *l, const char *name, uint64_t want)
{
	uint64_t v = 0;

	if (limits_get(l, name, &v) != 0)
		fail_msg("limit %s absent", name);
	if (v != want)
		fail_msg("limit %s = %ju, want %ju", name, (uintmax_t)v, (uintmax_t)want);
}

static void
limit_absent(const struct ipc_limits *l, const char *name)
{
	uint64_t v;

	assert_int_equal(limits_get(l, name, &v), -1);
}

/* name's used figure (host pool) is unknown, and why contains want. */
static void
unknown_used(const struct snapshot *s, const char *name, const char *want)
{
	struct usage u;
	size_t i;

	model_usage(s, -1, &u);
	for (i = 0; i < u.n; i++) {
		if (strcmp(u.v[i].name, name) != 0)
			continue;
		if (!u.v[i].unknown_used || strstr(u.v[i].why, want) == NULL)
			fail_msg("%s: unknown_used %d why \"%s\", want \"%s\"", name,
			         u.v[i].unknown_used, u.v[i].why, want);
		return;
	}
	fail_msg("%s: not in the usage", name);
}

/* name's limit is unknown (absent, with a reason containing want). */
static void
unknown_limit(const struct snapshot *s, const char *name, const char *want)
{
	const char *why = snapshot_unknown_why(s, UNK_LIMIT, name);

	if (why == NULL || strstr(why, want) == NULL)
		fail_msg("limit %s: why \"%s\", want \"%s\"", name, why ? why : "(known)", want);
}

/* ---- collect_linux on the fixture trees ---- */

static void
test_modern(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	struct usage u;
	const struct ipc_object *o;
	char err[256] = "";
	size_t i;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(
	    collect_linux_root(FIXTURES "/linux-modern", &s, NULL, &w, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(w.total, 0);
	assert_int_equal(w.n, 0);
	assert_string_equal(s.os, "Linux");
	assert_string_equal(s.os_release, "6.1.0-28-amd64");
	assert_int_equal(s.page_size, (uint32_t)sysconf(_SC_PAGESIZE));
	assert_int_equal(s.nscopes, 1);

	/* limits: all eleven, exact, including values near 2^64 */
	assert_int_equal(s.limits.n, 11);
	limit_eq(&s.limits, "shmmax", UINT64_C(18446744073692774399));
	limit_eq(&s.limits, "shmall", UINT64_C(18446744073692774399));
	limit_eq(&s.limits, "shmmni", 4096);
	limit_eq(&s.limits, "semmsl", 32000);
	limit_eq(&s.limits, "semmns", 1024000000);
	limit_eq(&s.limits, "semopm", 500);
	limit_eq(&s.limits, "semmni", 32000);
	limit_eq(&s.limits, "msgmax", 8192);
	limit_eq(&s.limits, "msgmnb", 16384);
	limit_eq(&s.limits, "msgmni", 32000);
	limit_eq(&s.limits, "shm_rmid_forced", 0);

	/* 4 segments, 3 sets, 2 queues, in file order, all in the host scope */
	assert_int_equal(s.nobjects, 9);
	for (i = 0; i < s.nobjects; i++) {
		assert_int_equal(s.objects[i].scope, 0);
		assert_int_equal(s.objects[i].type, i < 4 ? IPC_SHM : i < 7 ? IPC_SEM : IPC_MSG);
	}

	/* a removed (SHM_DEST) segment of 1048577 bytes with a negative key */
	o = &s.objects[1];
	assert_int_equal(o->key, -1091568593);
	assert_int_equal(o->id, 32769);
	assert_int_equal(o->mode, 01600);
	assert_int_equal(o->size, 1048577);
	assert_int_equal(o->cpid, 2272);
	assert_int_equal(o->lpid, 3001);
	assert_int_equal(o->nattch, 1);
	assert_int_equal(o->uid, 70);
	assert_int_equal(o->gid, 70);
	assert_int_equal(o->cuid, 0);
	assert_int_equal(o->cgid, 0);
	assert_int_equal(o->atime, 1764165610);
	assert_int_equal(o->dtime, 1764165620);
	assert_int_equal(o->ctime, 1764165400);
	assert_int_equal(o->rss, 1052672);
	assert_int_equal(o->swap, 8192);
	assert_int_equal(o->nsems, 0);
	assert_int_equal(o->qnum, 0);
	assert_int_equal(o->otime, 0);

	/* world-writable, never attached: times 0 */
	o = &s.objects[2];
	assert_int_equal(o->key, 1364283);
	assert_int_equal(o->mode, 0666);
	assert_int_equal(o->size, 4096);
	assert_int_equal(o->lpid, 0);
	assert_int_equal(o->nattch, 0);
	assert_int_equal(o->atime, 0);
	assert_int_equal(o->dtime, 0);
	assert_int_equal(o->uid, 33);

	/* uint64 sizes and large uids parse exactly; SHM_LOCKED in the mode */
	o = &s.objects[3];
	assert_int_equal(o->key, 2147483647);
	assert_int_equal(o->id, 98307);
	assert_int_equal(o->mode, 02600);
	assert_true(o->size == UINT64_C(18446744073692770304));
	assert_int_equal(o->nattch, 3);
	assert_true(o->uid == UINT32_C(4294967294));
	assert_true(o->gid == UINT32_C(4294967294));
	assert_int_equal(o->rss, 0);

	/* a semaphore set with key INT32_MIN */
	o = &s.objects[4];
	assert_int_equal(o->key, INT32_MIN);
	assert_int_equal(o->id, 0);
	assert_int_equal(o->mode, 0600);
	assert_int_equal(o->nsems, 17);
	assert_int_equal(o->uid, 70);
	assert_int_equal(o->gid, 70);
	assert_int_equal(o->cuid, 70);
	assert_int_equal(o->cgid, 70);
	assert_int_equal(o->otime, 1764165601);
	assert_int_equal(o->ctime, 1764165001);
	assert_int_equal(o->size, 0);
	assert_int_equal(o->cpid, 0);

	o = &s.objects[6];
	assert_int_equal(o->key, 0);
	assert_int_equal(o->id, 2);
	assert_int_equal(o->nsems, 250);
	assert_int_equal(o->uid, 1000);
	assert_int_equal(o->gid, 100);

	/* a queue with messages */
	o = &s.objects[7];
	assert_int_equal(o->key, 305419896);
	assert_int_equal(o->id, 0);
	assert_int_equal(o->mode, 0644);
	assert_int_equal(o->cbytes, 1024);
	assert_int_equal(o->qnum, 3);
	assert_int_equal(o->lspid, 1500);
	assert_int_equal(o->lrpid, 1501);
	assert_int_equal(o->uid, 1000);
	assert_int_equal(o->gid, 1000);
	assert_int_equal(o->cuid, 1000);
	assert_int_equal(o->cgid, 1000);
	assert_int_equal(o->stime, 1764165700);
	assert_int_equal(o->rtime, 1764165701);
	assert_int_equal(o->ctime, 1764165600);
	assert_int_equal(o->qbytes, 0);

	o = &s.objects[8];
	assert_int_equal(o->key, -559038737);
	assert_int_equal(o->id, 1);

	/* usage with 4096-byte pages: 128 + 257 + 1 + 4503599627366399 */
	s.page_size = 4096;
	model_usage(&s, -1, &u);
	assert_int_equal(u.n, 5);
	assert_string_equal(u.v[0].name, "semmns");
	assert_int_equal(u.v[0].used, 268);
	assert_int_equal(u.v[0].limit, 1024000000);
	assert_string_equal(u.v[2].name, "shmall");
	assert_true(u.v[2].used == UINT64_C(4503599627366785));
	assert_int_equal(u.v[3].used, 4);
	assert_int_equal(u.v[4].used, 2);
	snapshot_free(&s);
}

static void
test_old(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	struct usage u;
	const struct ipc_object *o;
	char err[256] = "";
	size_t i;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_linux_root(FIXTURES "/linux-old", &s, NULL, &w, err, sizeof(err)),
	                 0);
	assert_string_equal(s.os_release, "3.10.0-1160.el7.x86_64");
	/* the only warning: no shm_rmid_forced on this kernel */
	assert_int_equal(w.total, 1);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.v[0],
	                    FIXTURES "/linux-old/proc/sys/kernel/shm_rmid_forced: missing; limit "
	                             "shm_rmid_forced not reported");
	assert_int_equal(s.limits.n, 10);
	limit_absent(&s.limits, "shm_rmid_forced");
	limit_eq(&s.limits, "shmmax", 33554432);
	limit_eq(&s.limits, "shmall", 2097152);
	limit_eq(&s.limits, "semmsl", 250);
	limit_eq(&s.limits, "semmns", 32000);
	limit_eq(&s.limits, "semopm", 32);
	limit_eq(&s.limits, "semmni", 128);
	limit_eq(&s.limits, "msgmni", 7945);

	/* 2 segments (no rss/swap columns), 5 sets, an empty msg file */
	assert_int_equal(s.nobjects, 7);
	o = &s.objects[0];
	assert_int_equal(o->type, IPC_SHM);
	assert_int_equal(o->key, 5432001);
	assert_int_equal(o->id, 0);
	assert_int_equal(o->mode, 0600);
	assert_int_equal(o->size, 56);
	assert_int_equal(o->cpid, 3100);
	assert_int_equal(o->lpid, 3120);
	assert_int_equal(o->nattch, 5);
	assert_int_equal(o->uid, 26);
	assert_int_equal(o->gid, 26);
	assert_int_equal(o->cuid, 26);
	assert_int_equal(o->cgid, 26);
	assert_int_equal(o->atime, 1500000100);
	assert_int_equal(o->dtime, 1500000050);
	assert_int_equal(o->ctime, 1500000000);
	assert_int_equal(o->rss, 0);
	assert_int_equal(o->swap, 0);
	o = &s.objects[1];
	assert_int_equal(o->mode, 01666);
	assert_int_equal(o->size, 1048576);
	for (i = 2; i < 7; i++) {
		assert_int_equal(s.objects[i].type, IPC_SEM);
		assert_int_equal(s.objects[i].nsems, 17);
		assert_int_equal(s.objects[i].id, (int64_t)(i - 2) * 32768);
		assert_int_equal(s.objects[i].key, 5432001 + (int64_t)(i - 2));
	}
	assert_int_equal(s.objects[6].otime, 1500000004);
	assert_int_equal(s.objects[6].ctime, 1499999004);

	model_usage(&s, -1, &u);
	assert_int_equal(u.v[0].used, 85); /* semmns: 5 x 17 */
	assert_int_equal(u.v[0].limit, 32000);
	assert_int_equal(u.v[1].used, 5); /* semmni */
	assert_int_equal(u.v[4].used, 0); /* msgmni */
	snapshot_free(&s);
}

static void
test_garbage(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	const struct ipc_object *o;
	char err[256] = "";
	const char *k = FIXTURES "/linux-garbage/proc/sys/kernel/";

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(
	    collect_linux_root(FIXTURES "/linux-garbage", &s, NULL, &w, err, sizeof(err)), 0);
	assert_string_equal(s.os_release, "5.15.0-generic");

	/* the good lines survive, and those whose only bad value is in a column
	 * no count needs: 3 segments and 2 queues */
	assert_int_equal(s.nobjects, 5);
	o = &s.objects[0];
	assert_int_equal(o->type, IPC_SHM);
	assert_int_equal(o->key, 100);
	assert_int_equal(o->size, 8192);
	assert_int_equal(o->rss, 8192);
	assert_int_equal(o->unknown, 0);
	o = &s.objects[1];
	assert_int_equal(o->type, IPC_SHM);
	assert_int_equal(o->unknown, OF_SIZE); /* "81x2" */
	o = &s.objects[2];
	assert_int_equal(o->type, IPC_SHM);
	assert_int_equal(o->key, 102); /* the last line has no newline */
	assert_int_equal(o->mode, 0640);
	assert_int_equal(o->size, 12288);
	assert_int_equal(o->uid, 5);
	assert_int_equal(o->ctime, 4);
	o = &s.objects[3];
	assert_int_equal(o->type, IPC_MSG);
	assert_int_equal(o->key, 7); /* the unknown "extra" column is ignored */
	assert_int_equal(o->cbytes, 10);
	assert_int_equal(o->lspid, 20);
	assert_int_equal(o->ctime, 7);
	assert_int_equal(o->unknown, OF_QBYTES); /* /proc/sysvipc/msg has no qbytes */
	o = &s.objects[4];
	assert_int_equal(o->key, 8);
	assert_int_equal(o->unknown, OF_LSPID | OF_QBYTES); /* lspid "-5" */

	/* unknown is never zero: what was skipped makes the counts unknown */
	unknown_used(&s, "shmmni", "sysvipc/shm line 3: wrong number of fields");
	unknown_used(&s, "shmall", "sysvipc/shm line 3: wrong number of fields");
	unknown_used(&s, "semmni", "proc/sysvipc/sem: missing");
	unknown_used(&s, "msgmni", "sysvipc/msg line 4: a value could not be read");
	unknown_limit(&s, "semmns", "kernel/sem: not four numbers");
	unknown_limit(&s, "shmall", "kernel/shmall: not a number");

	/* garbage limits are absent, the good ones present */
	assert_int_equal(s.limits.n, 2);
	limit_eq(&s.limits, "shmmni", 4096);
	limit_eq(&s.limits, "shm_rmid_forced", 1);
	limit_absent(&s.limits, "shmmax");
	limit_absent(&s.limits, "semmns");
	limit_absent(&s.limits, "msgmni");

	/* 6 limit files, 6 shm lines, the missing sem file, 3 msg lines */
	assert_int_equal(w.total, 16);
	assert_int_equal(w.n, 16);
	assert_non_null(strstr(w.v[0], "kernel/shmmax: not a number (\"banana\")"));
	assert_non_null(strstr(w.v[1], "kernel/shmall: not a number (\"-1\")"));
	assert_non_null(strstr(w.v[2], "kernel/sem: expected four numbers"));
	assert_non_null(strstr(w.v[3], "kernel/msgmax: not a number (\"8192 8192\")"));
	assert_non_null(strstr(w.v[4], "kernel/msgmnb: empty"));
	assert_non_null(strstr(w.v[5], "kernel/msgmni: too large"));
	assert_int_equal(strncmp(w.v[0], k, strlen(k)), 0);
	assert_string_equal(w.v[6], "shm line 3: expected 16 fields, got 6");
	assert_string_equal(w.v[7], "shm line 4: expected 16 fields, got 17");
	assert_string_equal(w.v[8], "shm line 5: column size: not a number (\"81x2\"), unknown");
	assert_string_equal(w.v[9], "shm line 6: longer than 4096 bytes, skipped");
	assert_string_equal(w.v[10], "shm line 8: column key: not a number (\"??\"), skipped");
	assert_string_equal(w.v[11],
	                    "shm line 9: column perms: not an octal number (\"680\"), skipped");
	assert_string_equal(w.v[12], FIXTURES
	                    "/linux-garbage/proc/sysvipc/sem: missing: semaphores unknown");
	assert_string_equal(w.v[13], "msg line 3: column lspid: too small (\"-5\"), unknown");
	assert_string_equal(w.v[14], "msg line 4: column uid: too large (\"4294967296\"), skipped");
	assert_string_equal(w.v[15], "msg line 5: expected 15 fields, got 40");
	snapshot_free(&s);
}

/* ---- the parsers on strings ---- */

struct parsed {
	struct snapshot s;
	struct collect_warnings w;
	int rc;
};

static void
parse(struct parsed *p, enum ipc_type t, const char *text)
{
	memset(&p->w, 0, sizeof(p->w));
	assert_int_equal(snapshot_init(&p->s), 0);
	switch (t) {
	case IPC_SHM:
		p->rc = procfs_parse_shm(text, &p->s, 0, &p->w);
		break;
	case IPC_SEM:
		p->rc = procfs_parse_sem(text, &p->s, 0, &p->w);
		break;
	case IPC_MSG:
		p->rc = procfs_parse_msg(text, &p->s, 0, &p->w);
		break;
	}
}

static void
test_empty_and_header_only(void **state)
{
	struct parsed p;

	(void)state;
	/* no header, not even blank lines: a copy made with tar, not "no segments" */
	parse(&p, IPC_SHM, "");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.s.nobjects, 0);
	assert_int_equal(p.w.total, 1);
	assert_non_null(strstr(p.w.v[0], "sysvipc/shm: empty, not even its header line"));
	assert_string_equal(snapshot_unknown_why(&p.s, UNK_USED, "shmall"),
	                    "sysvipc/shm: empty, not even its header line");
	assert_non_null(snapshot_unknown_why(&p.s, UNK_USED, "shmmni"));
	assert_null(snapshot_unknown_why(&p.s, UNK_USED, "semmns"));
	snapshot_free(&p.s);
	parse(&p, IPC_SEM, "\n\n");
	assert_int_equal(p.w.total, 1);
	assert_non_null(snapshot_unknown_why(&p.s, UNK_USED, "semmns"));
	snapshot_free(&p.s);

	parse(&p, IPC_SHM, SHM_HDR);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.s.nobjects, 0);
	assert_int_equal(p.w.total, 0);
	snapshot_free(&p.s);

	parse(&p, IPC_SEM, SEM_HDR);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.s.nobjects, 0);
	snapshot_free(&p.s);

	parse(&p, IPC_MSG, MSG_HDR);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.s.nobjects, 0);
	snapshot_free(&p.s);

	/* blank lines anywhere are ignored */
	parse(&p, IPC_MSG, "\n  \n" MSG_HDR "\n\t\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.s.nobjects, 0);
	assert_int_equal(p.w.total, 0);
	snapshot_free(&p.s);
}

static void
test_bad_headers(void **state)
{
	struct parsed p;
	char big[600];
	size_t i;

	(void)state;
	/* a required column missing */
	parse(&p, IPC_SHM,
	      "key shmid perms size cpid lpid uid gid cuid cgid\n1 2 600 3 4 5 6 7 8 9\n");
	assert_int_equal(p.rc, -1);
	assert_int_equal(p.s.nobjects, 0);
	assert_int_equal(p.w.n, 1);
	assert_string_equal(p.w.v[0], "shm header: no column \"nattch\"");
	snapshot_free(&p.s);

	parse(&p, IPC_SEM, "key semid perms uid gid cuid cgid otime ctime\n");
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.w.v[0], "sem header: no column \"nsems\"");
	snapshot_free(&p.s);

	parse(&p, IPC_MSG, "key msqid perms cbytes uid gid cuid cgid\n");
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.w.v[0], "msg header: no column \"qnum\"");
	snapshot_free(&p.s);

	/* a file without header: the first line is data */
	parse(&p, IPC_SHM, SHM_LINE);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.w.v[0], "shm header: no column \"key\"");
	snapshot_free(&p.s);

	/* a column twice is ambiguous */
	parse(&p, IPC_SEM, "key semid perms nsems uid gid cuid cgid uid\n");
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.w.v[0], "sem header: column \"uid\" appears twice");
	snapshot_free(&p.s);

	/* too many columns */
	strcpy(big, "key semid perms nsems uid gid cuid cgid");
	for (i = 0; i < 25; i++)
		strcat(big, " x");
	strcat(big, "\n");
	parse(&p, IPC_SEM, big);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.w.v[0], "sem header: 33 columns, at most 32 expected");
	snapshot_free(&p.s);
}

static void
test_header_driven(void **state)
{
	struct parsed p;

	(void)state;
	/* columns in another order, separated by tabs, extra columns ignored */
	parse(&p, IPC_SEM,
	      "semid\tnew\tkey\tnsems\tperms\tcgid\tcuid\tgid\tuid\n"
	      "7\tzz\t-3\t4\t1600\t1\t2\t3\t4\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.w.total, 0);
	assert_int_equal(p.s.nobjects, 1);
	assert_int_equal(p.s.objects[0].type, IPC_SEM);
	assert_int_equal(p.s.objects[0].id, 7);
	assert_int_equal(p.s.objects[0].key, -3);
	assert_int_equal(p.s.objects[0].nsems, 4);
	assert_int_equal(p.s.objects[0].mode, 01600);
	assert_int_equal(p.s.objects[0].cgid, 1);
	assert_int_equal(p.s.objects[0].cuid, 2);
	assert_int_equal(p.s.objects[0].gid, 3);
	assert_int_equal(p.s.objects[0].uid, 4);
	assert_int_equal(p.s.objects[0].otime, 0); /* optional columns absent: 0 */
	assert_int_equal(p.s.objects[0].ctime, 0);
	snapshot_free(&p.s);

	/* the scope argument is stored in every object */
	memset(&p.w, 0, sizeof(p.w));
	assert_int_equal(snapshot_init(&p.s), 0);
	assert_int_equal(procfs_parse_shm(SHM_HDR SHM_LINE SHM_LINE, &p.s, 3, &p.w), 0);
	assert_int_equal(p.s.nobjects, 2);
	assert_int_equal(p.s.objects[0].scope, 3);
	assert_int_equal(p.s.objects[1].scope, 3);
	snapshot_free(&p.s);
}

static void
test_field_ranges(void **state)
{
	static const struct {
		const char *line;
		int ok;
		const char *warn;
	} cases[] = {
	    {"-9223372036854775808 0 0 1 0 0 0 0", 1, NULL},
	    {"9223372036854775807 2147483647 177777 4294967295 4294967295 0 0 0", 1, NULL},
	    {"1 2147483648 600 1 0 0 0 0", 0,
	     "sem line 2: column semid: too large (\"2147483648\"), skipped"},
	    {"1 -1 600 1 0 0 0 0", 0, "sem line 2: column semid: too small (\"-1\"), skipped"},
	    {"1 1 200000 1 0 0 0 0", 0,
	     "sem line 2: column perms: too large (\"200000\"), skipped"},
	    /* nsems is not needed to count the set: it is kept, its size unknown */
	    {"1 1 600 4294967296 0 0 0 0", 2,
	     "sem line 2: column nsems: too large (\"4294967296\"), unknown"},
	    {"1 1 600 +1 0 0 0 0", 2, "sem line 2: column nsems: not a number (\"+1\"), unknown"},
	    {"1 1 600 1 0x10 0 0 0", 0, "sem line 2: column uid: not a number (\"0x10\"), skipped"},
	    {"9223372036854775808 1 600 1 0 0 0 0", 0,
	     "sem line 2: column key: too large (\"9223372036854775808\"), skipped"},
	    {"-0 1 600 1 0 0 0 0", 1, NULL},
	    {"1 1 600 1 0 0 0 1234567890123456789012345678901234567890", 0,
	     "sem line 2: column cgid: too large (\"123456789012345678901234...\"), skipped"},
	    {"1 1 600 1 0 0 0 0 0", 0, "sem line 2: expected 8 fields, got 9"},
	};
	char text[512];
	struct parsed p;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		snprintf(text, sizeof(text), "key semid perms nsems uid gid cuid cgid\n%s\n",
		         cases[i].line);
		parse(&p, IPC_SEM, text);
		assert_int_equal(p.rc, 0);
		if (cases[i].ok == 1) {
			assert_int_equal(p.s.nobjects, 1);
			assert_int_equal(p.w.total, 0);
		} else if (cases[i].ok == 2) {
			assert_int_equal(p.s.nobjects, 1);
			assert_int_equal(p.s.objects[0].unknown & OF_NSEMS, OF_NSEMS);
			assert_int_equal(p.w.total, 1);
			assert_string_equal(p.w.v[0], cases[i].warn);
		} else {
			assert_int_equal(p.s.nobjects, 0);
			assert_int_equal(p.w.total, 1);
			assert_string_equal(p.w.v[0], cases[i].warn);
		}
		if (i == 0)
			assert_true(p.s.objects[0].key == INT64_MIN);
		if (i == 1) {
			assert_true(p.s.objects[0].key == INT64_MAX);
			assert_int_equal(p.s.objects[0].id, INT32_MAX);
			assert_int_equal(p.s.objects[0].mode, 0177777);
			assert_true(p.s.objects[0].nsems == UINT32_MAX);
			assert_true(p.s.objects[0].uid == UINT32_MAX);
		}
		snapshot_free(&p.s);
	}
}

static void
test_line_bounds(void **state)
{
	char *text;
	size_t hl = strlen(SHM_HDR), ll = strlen(SHM_LINE);
	struct parsed p;

	(void)state;
	/* a data line of exactly 4096 bytes (padded with spaces) is read */
	text = calloc(1, hl + 2 * 4200);
	assert_non_null(text);
	memcpy(text, SHM_HDR, hl);
	memset(text + hl, ' ', 4096 - (ll - 1));
	memcpy(text + hl + 4096 - (ll - 1), SHM_LINE, ll);
	parse(&p, IPC_SHM, text);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.s.nobjects, 1);
	assert_int_equal(p.w.total, 0);
	snapshot_free(&p.s);

	/* one byte more is not */
	memset(text + hl, ' ', 4097 - (ll - 1));
	memcpy(text + hl + 4097 - (ll - 1), SHM_LINE, ll);
	parse(&p, IPC_SHM, text);
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.s.nobjects, 0);
	assert_int_equal(p.w.total, 1);
	assert_string_equal(p.w.v[0], "shm line 2: longer than 4096 bytes, skipped");
	snapshot_free(&p.s);

	/* an overlong header makes the file unusable */
	memset(text, 'k', 5000);
	text[5000] = '\0';
	parse(&p, IPC_SHM, text);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.w.v[0], "shm line 1 (header): longer than 4096 bytes");
	snapshot_free(&p.s);
	free(text);
}

static void
test_snapshot_full(void **state)
{
	struct parsed p;

	(void)state;
	memset(&p.w, 0, sizeof(p.w));
	assert_int_equal(snapshot_init(&p.s), 0);
	/* pretend the snapshot is full: snapshot_add_object checks the count first */
	p.s.nobjects = MODEL_MAX_OBJECTS;
	assert_int_equal(procfs_parse_shm(SHM_HDR SHM_LINE, &p.s, 0, &p.w), -1);
	assert_int_equal(p.s.nobjects, MODEL_MAX_OBJECTS);
	assert_string_equal(p.w.v[0], "shm line 2: more than 100000 IPC objects");
	p.s.nobjects = 0;
	snapshot_free(&p.s);
}

/* Random bytes behind a valid header: never a crash, never a bad object. */
static void
test_random_garbage(void **state)
{
	static const char *const hdrs[3] = {SHM_HDR, SEM_HDR, MSG_HDR};
	static const char alphabet[] = "0123456789 \t\n-+x\x01\xff";
	char text[1024];
	uint32_t seed = 12345;
	int iter, t;

	(void)state;
	for (iter = 0; iter < 3000; iter++) {
		struct parsed p;
		size_t hl, n, i;

		t = iter % 3;
		hl = strlen(hdrs[t]);
		memcpy(text, hdrs[t], hl);
		seed = seed * 1103515245 + 12345;
		n = (seed >> 16) % (sizeof(text) - hl - 1);
		for (i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			/* mostly digits and separators, so lines often parse */
			if ((seed >> 8) % 8 == 0)
				text[hl + i] = (char)((seed >> 16) % 255 + 1);
			else
				text[hl + i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
		}
		text[hl + n] = '\0';
		parse(&p, (enum ipc_type)t, text);
		assert_int_equal(p.rc, 0);
		assert_true(p.w.n <= COLLECT_MAX_WARN);
		for (i = 0; i < p.s.nobjects; i++) {
			assert_int_equal(p.s.objects[i].type, (enum ipc_type)t);
			assert_true(p.s.objects[i].id >= 0 && p.s.objects[i].id <= INT32_MAX);
			assert_true(p.s.objects[i].mode <= 0177777);
		}
		for (i = 0; i < p.w.n; i++)
			assert_true(strlen(p.w.v[i]) < MODEL_TEXT_MAX);
		snapshot_free(&p.s);
	}
}

/* ---- collect_linux on temporary trees ---- */

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_tree(const char *dir)
{
	assert_int_equal(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static void
put_file(const char *root, const char *rel, const void *data, size_t len)
{
	char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void
make_root(char *dir, size_t len)
{
	char p[1024];

	snprintf(dir, len, "/tmp/test_procfs.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/proc", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/proc/sysvipc", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/proc/sys", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/proc/sys/kernel", dir);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void
test_empty_proc(void **state)
{
	char dir[64], want[256];
	struct snapshot s;
	struct collect_warnings w;
	char err[256] = "";

	(void)state;
	make_root(dir, sizeof(dir));
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	/* nothing there: osrelease, 8 limit files and 3 sysvipc files missing */
	assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(s.nobjects, 0);
	assert_int_equal(s.limits.n, 0);
	assert_int_equal(w.total, 12);
	assert_int_equal(w.n, 12);
	assert_string_equal(s.os, "Linux");
	assert_string_equal(s.os_release, "");
	snprintf(want, sizeof(want), "%s/proc/sysvipc/msg: missing: message queues unknown", dir);
	assert_string_equal(w.v[11], want);
	/* a copied tree missing its files says nothing: every figure is unknown */
	unknown_used(&s, "msgmni", "/proc/sysvipc/msg: missing");
	unknown_used(&s, "semmns", "/proc/sysvipc/sem: missing");
	unknown_limit(&s, "shmmni", "/proc/sys/kernel/shmmni: missing");
	snapshot_free(&s);
	rm_tree(dir);
}

static void
test_nul_and_release(void **state)
{
	static const char shm[] = SHM_HDR SHM_LINE "\0" SHM_LINE;
	char dir[64];
	struct snapshot s;
	struct collect_warnings w;
	char err[256] = "";

	(void)state;
	make_root(dir, sizeof(dir));
	put_file(dir, "proc/sysvipc/shm", shm, sizeof(shm) - 1);
	put_file(dir, "proc/sysvipc/sem", "", 0);
	put_file(dir, "proc/sysvipc/msg", MSG_HDR, strlen(MSG_HDR));
	put_file(dir, "proc/sys/kernel/osrelease", "  6.9 bad\n", 10);
	put_file(dir, "proc/sys/kernel/sem", "1 2 3 4 5\n", 10);
	put_file(dir, "proc/sys/kernel/shmall", "4\0 5\n", 5);
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), 0);
	assert_string_equal(s.os_release, "");
	/* only the part before the NUL byte is read */
	assert_int_equal(s.nobjects, 1);
	assert_int_equal(w.total, 1 + 8 + 1 + 1);
	assert_non_null(strstr(w.v[0], "osrelease: not a release string"));
	assert_non_null(strstr(w.v[2], "kernel/shmall: not a limit value"));
	assert_non_null(strstr(w.v[4], "kernel/sem: expected four numbers"));
	assert_non_null(strstr(w.v[9], "proc/sysvipc/shm: NUL byte at offset"));
	/* an empty file is a broken copy, not a kernel without semaphore sets */
	assert_non_null(strstr(w.v[10], "sysvipc/sem: empty, not even its header line"));
	unknown_used(&s, "semmns", "sysvipc/sem: empty, not even its header line");
	snapshot_free(&s);
	rm_tree(dir);
}

static void
test_errors(void **state)
{
	char dir[64], path[128];
	struct snapshot s;
	struct collect_warnings w;
	char err[256] = "";
	int fd;

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	/* no DIR/proc at all: a wrong directory, not an empty host */
	assert_int_equal(
	    collect_linux_root("/nonexistent-ipcfleet", &s, NULL, &w, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent-ipcfleet/proc: No such file or directory");
	snapshot_free(&s);

	/* a bad header is an error naming the file */
	make_root(dir, sizeof(dir));
	put_file(dir, "proc/sysvipc/shm", "key shmid\n", 10);
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), -1);
	snprintf(path, sizeof(path), "%s/proc/sysvipc/shm: shm header: no column \"perms\"", dir);
	assert_string_equal(err, path);
	snapshot_free(&s);

	/* a file larger than COLLECT_FILE_MAX (sparse, reads as zeros) */
	snprintf(path, sizeof(path), "%s/proc/sysvipc/shm", dir);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)COLLECT_FILE_MAX + 1), 0);
	close(fd);
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), -1);
	snprintf(path, sizeof(path), "%s/proc/sysvipc/shm: larger than 67108864 bytes", dir);
	assert_string_equal(err, path);
	snapshot_free(&s);
	rm_tree(dir);
}

/* shm's pool use of the host (scope 0) in pages, as model_usage counts it. */
static uint64_t
shmall_used(const struct snapshot *s)
{
	struct usage u;
	size_t i;

	model_usage(s, -1, &u);
	for (i = 0; i < u.n; i++)
		if (strcmp(u.v[i].name, "shmall") == 0) {
			assert_false(u.v[i].unknown_used);
			return u.v[i].used;
		}
	fail_msg("shmall: not in the usage");
	return 0;
}

/*
 * A copied tree's page size: DIR/pagesize when the copy has it (shmall
 * counts the copied system's pages), this machine's without it; a file that
 * is there but wrong is an error, not a guess.
 */
static void
test_root_page_size(void **state)
{
	static const char shm[] =
	    SHM_HDR "       100          1   600                100000    10    11      1     0"
	            "     0     0     0          1          2          3                     0"
	            "                     0\n";
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {{"abc\n", 4},        {"3000\n", 5}, {"256\n", 4},   {"2097152\n", 8},
	           {"4096 4096\n", 10}, {"", 0},       {"4096\0\n", 6}};
	char dir[64], want[256];
	struct snapshot s;
	struct collect_warnings w;
	char err[256];
	uint64_t local = (uint64_t)sysconf(_SC_PAGESIZE);
	size_t i;

	(void)state;
	make_root(dir, sizeof(dir));
	put_file(dir, "proc/sysvipc/shm", shm, strlen(shm));
	put_file(dir, "proc/sys/kernel/shmall", "1000\n", 5);

	/* no pagesize file: this machine's */
	memset(&w, 0, sizeof(w));
	err[0] = '\0';
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(s.page_size, local);
	assert_int_equal(shmall_used(&s), (100000 + local - 1) / local);
	snapshot_free(&s);

	/* 64 KiB pages on the copied system: 100,000 bytes are 2 of them */
	put_file(dir, "pagesize", "65536\n", 6);
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(s.page_size, 65536);
	assert_int_equal(shmall_used(&s), 2);
	snapshot_free(&s);

	/* there but wrong: an error naming the file */
	for (i = 0; i < NELEM(bad); i++) {
		put_file(dir, "pagesize", bad[i].text, bad[i].len);
		memset(&w, 0, sizeof(w));
		assert_int_equal(snapshot_init(&s), 0);
		assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s/pagesize: not a page size", dir);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("\"%s\": err \"%s\"", bad[i].text, err);
		snapshot_free(&s);
	}
	rm_tree(dir);
}

/*
 * A FIFO where a copied tree should have a file is refused at once, never
 * waited on (nothing writes to it): the limit is unknown, an object file or
 * the page size is an error naming it.  The alarm turns a hang into a failure.
 */
static void
test_root_fifo(void **state)
{
	static const char *const fatal[][2] = {{"proc/sysvipc/sem", "not a regular file"},
	                                       {"pagesize", "not a page size"}};
	char dir[64], path[256], want[320];
	struct snapshot s;
	struct collect_warnings w;
	char err[256];
	size_t i;

	(void)state;
	make_root(dir, sizeof(dir));
	put_file(dir, "proc/sysvipc/shm", SHM_HDR, strlen(SHM_HDR));
	put_file(dir, "proc/sysvipc/sem", SEM_HDR, strlen(SEM_HDR));
	snprintf(path, sizeof(path), "%s/proc/sys/kernel/shmmax", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(20);
	memset(&w, 0, sizeof(w));
	err[0] = '\0';
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), 0);
	unknown_limit(&s, "shmmax", "kernel/shmmax: not a limit value");
	snapshot_free(&s);
	for (i = 0; i < NELEM(fatal); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, fatal[i][0]);
		assert_int_equal(unlink(path) == 0 || errno == ENOENT, 1);
		assert_int_equal(mkfifo(path, 0600), 0);
		memset(&w, 0, sizeof(w));
		assert_int_equal(snapshot_init(&s), 0);
		assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s: %s", path, fatal[i][1]);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: err \"%s\"", fatal[i][0], err);
		snapshot_free(&s);
		assert_int_equal(unlink(path), 0);
		if (i == 0)
			put_file(dir, fatal[i][0], SEM_HDR, strlen(SEM_HDR));
	}
	alarm(0);
	rm_tree(dir);
}

/* ---- source_parse, collect, collect_warn ---- */

static void
test_source_parse(void **state)
{
	struct source src;
	char err[256], spec[1100];

	(void)state;
	assert_int_equal(source_parse("auto", &src, err, sizeof(err)), 0);
	assert_int_equal(src.kind, SRC_AUTO);
	assert_int_equal(source_parse("linux", &src, err, sizeof(err)), 0);
	assert_int_equal(src.kind, SRC_LINUX);
	assert_string_equal(src.dir, "");
	assert_int_equal(source_parse("freebsd", &src, err, sizeof(err)), 0);
	assert_int_equal(src.kind, SRC_FREEBSD);
	assert_int_equal(source_parse("linux-root:/srv/c1", &src, err, sizeof(err)), 0);
	assert_int_equal(src.kind, SRC_LINUX_ROOT);
	assert_string_equal(src.dir, "/srv/c1");
	assert_int_equal(source_parse("freebsd-capture:cap:1", &src, err, sizeof(err)), 0);
	assert_int_equal(src.kind, SRC_FREEBSD_CAPTURE);
	assert_string_equal(src.dir, "cap:1");

	assert_int_equal(source_parse("linux-root:", &src, err, sizeof(err)), -1);
	assert_string_equal(err, "source \"linux-root:\": DIR is empty (use linux-root:DIR)");
	assert_int_equal(source_parse("freebsd-capture", &src, err, sizeof(err)), -1);
	assert_string_equal(err,
	                    "source \"freebsd-capture\" needs a directory: freebsd-capture:DIR");
	assert_int_equal(source_parse("Linux", &src, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown source \"Linux\": use auto, linux, linux-root:DIR, "
	                         "freebsd or freebsd-capture:DIR");
	assert_int_equal(source_parse("", &src, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown source \"\""));

	/* DIR must fit COLLECT_PATH_MAX with its NUL */
	strcpy(spec, "linux-root:");
	memset(spec + 11, 'd', COLLECT_PATH_MAX - 1);
	spec[11 + COLLECT_PATH_MAX - 1] = '\0';
	assert_int_equal(source_parse(spec, &src, err, sizeof(err)), 0);
	assert_int_equal(strlen(src.dir), COLLECT_PATH_MAX - 1);
	strcat(spec, "d");
	assert_int_equal(source_parse(spec, &src, err, sizeof(err)), -1);
	assert_string_equal(err, "source linux-root:DIR: DIR is longer than 1023 bytes");
}

/*
 * The name --print shows: a copy's own (its hostname file) or its
 * directory's, never the reading machine's.
 */
static void
test_source_host_label(void **state)
{
	struct source src;
	char dir[64], want[300], label[256], err[256], host[256], cwd[4096];

	(void)state;
	make_root(dir, sizeof(dir));
	snprintf(want, sizeof(want), "linux-root:%s", dir);
	assert_int_equal(source_parse(want, &src, err, sizeof(err)), 0);
	/* no hostname file: the directory's name */
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, strrchr(dir, '/') + 1);
	/* the copy's /proc/sys/kernel/hostname */
	put_file(dir, "proc/sys/kernel/hostname", "db7\n", 4);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, "db7");
	/* not a host name: the directory's again */
	put_file(dir, "proc/sys/kernel/hostname", "db 7\n", 5);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, strrchr(dir, '/') + 1);
	put_file(dir, "proc/sys/kernel/hostname", "db7\0x\n", 6);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, strrchr(dir, '/') + 1);
	/* a link would resolve on this machine, a FIFO would block: neither is read */
	snprintf(want, sizeof(want), "%s/proc/sys/kernel/hostname", dir);
	assert_int_equal(unlink(want), 0);
	snprintf(host, sizeof(host), "%s/hn", dir);
	put_file(dir, "hn", "elsewhere\n", 10);
	assert_int_equal(symlink(host, want), 0);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, strrchr(dir, '/') + 1);
	assert_int_equal(unlink(want), 0);
	assert_int_equal(mkfifo(want, 0600), 0);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, strrchr(dir, '/') + 1);

	/* a capture's hostname.txt; trailing slashes are not part of the name */
	snprintf(want, sizeof(want), "freebsd-capture:%s//", dir);
	assert_int_equal(source_parse(want, &src, err, sizeof(err)), 0);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, strrchr(dir, '/') + 1);
	put_file(dir, "hostname.txt", "  sorthat.example.org\n", 22);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, "sorthat.example.org");
	assert_int_equal(source_parse("freebsd-capture:/", &src, err, sizeof(err)), 0);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, "/");
	/* "." is the directory it names */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(source_parse("freebsd-capture:.", &src, err, sizeof(err)), 0);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, "sorthat.example.org");
	assert_int_equal(unlink("hostname.txt"), 0);
	source_host_label(&src, label, sizeof(label));
	assert_string_equal(label, strrchr(dir, '/') + 1);
	assert_int_equal(chdir(cwd), 0);

	/* the running system: this machine's name */
	assert_int_equal(source_parse("auto", &src, err, sizeof(err)), 0);
	source_host_label(&src, label, sizeof(label));
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	assert_string_equal(label, host);
	rm_tree(dir);
}

static void
test_collect_dispatch(void **state)
{
	struct source src;
	struct snapshot s;
	struct collect_warnings w;
	char err[256];

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	/* FreeBSD captures go to the FreeBSD collector (test_freebsd covers it) */
	assert_int_equal(source_parse("freebsd-capture:/nonexistent", &src, err, sizeof(err)), 0);
	assert_int_equal(collect(&src, &s, NULL, &w, err, sizeof(err)), -1);
	assert_string_equal(err, "freebsd-capture:/nonexistent: No such file or directory");

	assert_int_equal(source_parse("linux-root:" FIXTURES "/linux-old", &src, err, sizeof(err)),
	                 0);
	assert_int_equal(collect(&src, &s, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(s.nobjects, 7);
	assert_string_equal(s.os_release, "3.10.0-1160.el7.x86_64");
	snapshot_free(&s);

	/* the running system (these tests run on Linux) */
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(source_parse("auto", &src, err, sizeof(err)), 0);
	assert_int_equal(collect(&src, &s, NULL, &w, err, sizeof(err)), 0);
	assert_string_equal(s.os, "Linux");
	assert_true(s.page_size > 0);
	snapshot_free(&s);
}

static void
test_collect_warn(void **state)
{
	struct collect_warnings w;
	char big[600];
	int i;

	(void)state;
	memset(&w, 0, sizeof(w));
	for (i = 0; i < 20; i++)
		collect_warn(&w, "warning %d", i);
	assert_int_equal(w.n, COLLECT_MAX_WARN);
	assert_int_equal(w.total, 20);
	assert_string_equal(w.v[0], "warning 0");
	assert_string_equal(w.v[15], "warning 15");

	memset(&w, 0, sizeof(w));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	collect_warn(&w, "%s", big);
	assert_int_equal(strlen(w.v[0]), MODEL_TEXT_MAX - 1);
	collect_warn(NULL, "ignored");
}

/* ---- owners, cgroup labels, the process table ---- */

static void
test_passwd_name(void **state)
{
	static const char pw[] = "root:x:0:0:root:/root:/bin/bash\n"
	                         "+nis:x:5::::\n"
	                         "-other:x:6::::\n"
	                         "broken line without colons\n"
	                         "half:x\n"
	                         "big:x:4294967296:0::/:/bin/sh\n"
	                         "neg:x:-1:0::/:/bin/sh\n"
	                         ":x:7:7::/:/bin/sh\n"
	                         "alice:x:1001:1001:Alice:/home/alice:/bin/sh\n"
	                         "alice2:x:1001:1001:second entry:/:/bin/sh\n"
	                         "esc\x1b[2J:x:1002:1002::/:/bin/sh\n"
	                         "abcdefghijklmnopqrstuvwxyz0123456:x:1003:1::/:/bin/sh\n"
	                         "abcdefghijklmnopqrstuvwxyz012345:x:1004:1::/:/bin/sh\n"
	                         "last:x:4294967295:0::/:/bin/sh"; /* no newline at the end */
	char name[MODEL_OWNER_MAX];

	(void)state;
	assert_int_equal(linux_passwd_name(pw, 0, name, sizeof(name)), 0);
	assert_string_equal(name, "root");
	/* the first entry of a uid wins */
	assert_int_equal(linux_passwd_name(pw, 1001, name, sizeof(name)), 0);
	assert_string_equal(name, "alice");
	assert_int_equal(linux_passwd_name(pw, 4294967295u, name, sizeof(name)), 0);
	assert_string_equal(name, "last");
	assert_int_equal(linux_passwd_name(pw, 1004, name, sizeof(name)), 0);
	assert_string_equal(name, "abcdefghijklmnopqrstuvwxyz012345");
	/* NIS markers, no name, control characters, too long, absent */
	assert_int_equal(linux_passwd_name(pw, 5, name, sizeof(name)), -1);
	assert_int_equal(linux_passwd_name(pw, 6, name, sizeof(name)), -1);
	assert_int_equal(linux_passwd_name(pw, 7, name, sizeof(name)), -1);
	assert_int_equal(linux_passwd_name(pw, 1002, name, sizeof(name)), -1);
	assert_int_equal(linux_passwd_name(pw, 1003, name, sizeof(name)), -1);
	assert_int_equal(linux_passwd_name(pw, 4242, name, sizeof(name)), -1);
	assert_int_equal(linux_passwd_name("", 0, name, sizeof(name)), -1);
	/* a buffer too small is refused, not cut */
	assert_int_equal(linux_passwd_name(pw, 1001, name, 5), -1);
}

/* A snapshot of one scope with one object of uid 1001 (owner not yet set). */
static void
owners_snapshot(struct snapshot *s)
{
	struct ipc_object *o;

	assert_int_equal(snapshot_init(s), 0);
	assert_non_null(o = snapshot_add_object(s));
	o->type = IPC_SEM;
	o->uid = 1001;
	o->scope = 0;
}

/*
 * The passwd file is kept between lookups (hundreds of namespaces share
 * one; t_namespaces reads one kept for three), but a file rewritten in
 * place is read again: at the same size at once, or with its times set
 * back to the same modification time.
 */
static void
test_owners_kept(void **state)
{
	static const char pw1[] = "root:x:0:0::/:/bin/sh\nalice:x:1001:1001::/:/bin/sh\n";
	static const char pw2[] = "root:x:0:0::/:/bin/sh\nbobby:x:1001:1001::/:/bin/sh\n";
	struct timespec old[2];
	struct snapshot s;
	char dir[64], p[128];

	(void)state;
	make_root(dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/etc", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/etc/passwd", dir);
	put_file(dir, "etc/passwd", pw1, strlen(pw1));
	owners_snapshot(&s);
	linux_set_owners(&s, 0, p);
	assert_string_equal(s.objects[0].owner, "alice");
	snapshot_free(&s);
	/* rewritten at once, same size: the same modification and change times, maybe */
	put_file(dir, "etc/passwd", pw2, strlen(pw2));
	owners_snapshot(&s);
	linux_set_owners_range(&s, 0, p, 0, s.nobjects);
	assert_string_equal(s.objects[0].owner, "bobby");
	snapshot_free(&s);
	/* times set back (as a restore does) still change the change time: read again */
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 3600;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	owners_snapshot(&s);
	linux_set_owners(&s, 0, p);
	assert_string_equal(s.objects[0].owner, "bobby");
	snapshot_free(&s);
	put_file(dir, "etc/passwd", pw1, strlen(pw1));
	assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0); /* the same mtime again */
	owners_snapshot(&s);
	linux_set_owners(&s, 0, p);
	assert_string_equal(s.objects[0].owner, "alice");
	snapshot_free(&s);
	/* an empty range names nobody */
	owners_snapshot(&s);
	linux_set_owners_range(&s, 0, p, 1, 1);
	assert_string_equal(s.objects[0].owner, "");
	snapshot_free(&s);
}

/* Owner names from ROOT/etc/passwd; a FIFO there is not opened for reading. */
static void
test_owners_root(void **state)
{
	static const char sem[] =
	    SEM_HDR "       100          1   600         17  1001     0  1001     0          0  "
	            "        5\n"
	            "       101          2   600         17    42     0     0     0          0  "
	            "        5\n"
	            "       102          3   600         17  1001     0     0     0          0  "
	            "        5\n";
	static const char pw[] = "root:x:0:0::/:/bin/sh\nalice:x:1001:1001::/:/bin/sh\n";
	char dir[64], p[128];
	struct snapshot s;
	struct collect_warnings w;
	struct proc_table pt;
	char err[256] = "";

	(void)state;
	make_root(dir, sizeof(dir));
	snprintf(p, sizeof(p), "%s/etc", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	put_file(dir, "proc/sysvipc/sem", sem, strlen(sem));
	put_file(dir, "etc/passwd", pw, strlen(pw));
	memset(&w, 0, sizeof(w));
	memset(&pt, 0, sizeof(pt));
	pt.valid = 1; /* a directory has no processes: the collector says so */
	pt.n = 3;
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_linux_root(dir, &s, &pt, &w, err, sizeof(err)), 0);
	assert_int_equal(pt.valid, 0);
	assert_int_equal(pt.n, 0);
	assert_int_equal(s.nobjects, 3);
	assert_string_equal(s.objects[0].owner, "alice");
	assert_string_equal(s.objects[1].owner, ""); /* uid 42 has no entry */
	assert_string_equal(s.objects[2].owner, "alice");
	snapshot_free(&s);

	/* a FIFO must neither block nor be read */
	snprintf(p, sizeof(p), "%s/etc/passwd", dir);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_linux_root(dir, &s, NULL, &w, err, sizeof(err)), 0);
	assert_int_equal(s.nobjects, 3);
	assert_string_equal(s.objects[0].owner, "");
	/* and a scope's owners only: nothing else changes */
	s.objects[1].scope = 1;
	assert_non_null(snapshot_add_scope(&s, "ipcns:1", "x", SCOPE_IPCNS));
	assert_int_equal(unlink(p), 0);
	put_file(dir, "etc/passwd", "x42:x:42:0::/:/bin/sh\n", 22);
	linux_set_owners(&s, 1, p);
	assert_string_equal(s.objects[0].owner, "");
	assert_string_equal(s.objects[1].owner, "x42");
	linux_set_owners(&s, 0, "/nonexistent/passwd");
	assert_string_equal(s.objects[0].owner, "");
	snapshot_free(&s);
	rm_tree(dir);
}

/*
 * The portability seam (platform.h): the running system's name is the one
 * the agent was built for, and its boot time is in the past.
 */
static void
test_platform(void **state)
{
	struct utsname un;
	int64_t bt = platform_boot_time(), now = now_unix();

	(void)state;
	assert_int_equal(uname(&un), 0);
	assert_string_equal(platform_os, un.sysname);
	assert_true(bt > 0);
	assert_true(bt <= now);
	assert_true(now - bt < 100LL * 365 * 86400);
}

static void
test_proc_table(void **state)
{
	struct proc_table t;
	size_t i;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(proc_table_add(&t, 1, 0, 0), 0);
	assert_int_equal(proc_table_add(&t, 4242, 1001, PROC_SCOPE_NONE), 0);
	assert_int_equal(t.n, 2);
	assert_true(t.v[1].pid == 4242);
	assert_int_equal(t.v[1].uid, 1001);
	assert_int_equal(t.v[1].scope, PROC_SCOPE_NONE);
	/* bounded by PROC_MAX */
	for (i = t.n; i < PROC_MAX; i++)
		assert_int_equal(proc_table_add(&t, (int64_t)i + 10, 0, 0), 0);
	assert_int_equal(t.n, PROC_MAX);
	assert_int_equal(proc_table_add(&t, 5, 0, 0), -1);
	assert_int_equal(t.n, PROC_MAX);
	t.valid = 1;
	proc_table_free(&t);
	assert_int_equal(t.n, 0);
	assert_int_equal(t.valid, 0);
	assert_null(t.v);
	proc_table_free(&t); /* twice is harmless */
}

/* The running system: this process is in the table, in the host scope. */
static void
test_live_processes(void **state)
{
	struct source src;
	struct snapshot s;
	struct collect_warnings w;
	struct proc_table pt;
	char err[256] = "";
	size_t i, mine = 0;

	(void)state;
	memset(&w, 0, sizeof(w));
	memset(&pt, 0, sizeof(pt));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(source_parse("linux", &src, err, sizeof(err)), 0);
	assert_int_equal(collect(&src, &s, &pt, &w, err, sizeof(err)), 0);
	assert_true(pt.n > 0);
	for (i = 0; i < pt.n; i++) {
		assert_true(pt.v[i].pid > 0);
		assert_true(pt.v[i].scope < s.nscopes || pt.v[i].scope == PROC_SCOPE_NONE);
		if (pt.v[i].pid == (int64_t)getpid()) {
			mine++;
			assert_int_equal(pt.v[i].uid, (uint32_t)getuid());
			assert_int_equal(pt.v[i].scope, 0);
		}
	}
	assert_int_equal(mine, 1);
	/* every other namespace is an ipcns scope with limits of its own */
	assert_int_equal(s.scopes[0].kind, SCOPE_HOST);
	for (i = 1; i < s.nscopes; i++) {
		assert_int_equal(s.scopes[i].kind, SCOPE_IPCNS);
		assert_int_equal(s.scopes[i].own_limits, 1);
		assert_true(strncmp(s.scopes[i].id, "ipcns:", 6) == 0);
	}
	for (i = 0; i < s.nobjects; i++)
		assert_true(s.objects[i].scope < s.nscopes);
	/* a second snapshot into the same table starts it afresh */
	snapshot_free(&s);
	assert_int_equal(snapshot_init(&s), 0);
	i = pt.n;
	assert_int_equal(collect(&src, &s, &pt, &w, err, sizeof(err)), 0);
	assert_true(pt.n > 0 && pt.n < i + 1000);
	proc_table_free(&pt);
	snapshot_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_modern),
	    cmocka_unit_test(test_old),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_empty_and_header_only),
	    cmocka_unit_test(test_bad_headers),
	    cmocka_unit_test(test_header_driven),
	    cmocka_unit_test(test_field_ranges),
	    cmocka_unit_test(test_line_bounds),
	    cmocka_unit_test(test_snapshot_full),
	    cmocka_unit_test(test_random_garbage),
	    cmocka_unit_test(test_empty_proc),
	    cmocka_unit_test(test_nul_and_release),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_root_page_size),
	    cmocka_unit_test(test_root_fifo),
	    cmocka_unit_test(test_source_parse),
	    cmocka_unit_test(test_source_host_label),
	    cmocka_unit_test(test_collect_dispatch),
	    cmocka_unit_test(test_collect_warn),
	    cmocka_unit_test(test_passwd_name),
	    cmocka_unit_test(test_owners_root),
	    cmocka_unit_test(test_owners_kept),
	    cmocka_unit_test(test_proc_table),
	    cmocka_unit_test(test_platform),
	    cmocka_unit_test(test_live_processes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
