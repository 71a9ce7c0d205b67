/*
 * test_freebsd.c: the FreeBSD collector on capture directories (a real
 * jailhost, a hand-written one with two jails, hostile ones written here)
 * and its parsers one by one.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "collect.h"
#include "collect_freebsd.h"
#include "model.h"
#include "util.h"

#define SORTHAT FIXTURES "/freebsd-11-sorthat"
#define JAILS   FIXTURES "/freebsd-jails"

/* 2025-11-26T14:00:00Z, the jails fixture's date.txt ("+0100": 15:00 local) */
#define CAPTURE  1764165600LL
#define MIDNIGHT 1764115200LL /* 2025-11-26T00:00:00Z */

/* ---- helpers ---- */

static void
limit_eq(const struct ipc_limits *l, const char *name, uint64_t want)
{
	uint64_t v = 0;

	if (limits_get(l, name, &v) != 0)
		fail_msg("limit %s absent", name);
	if (v != want)
		fail_msg("limit %s = %ju, want %ju", name, (uintmax_t)v, (uintmax_t)want);
}

static const struct usage_item *
usage_of(const struct usage *u, const char *name)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0)
			return &u->v[i];
	fail_msg("usage %s absent", name);
	return NULL;
}

static void
used_eq(const struct snapshot *s, int scope, const char *name, uint64_t used)
{
	struct usage u;
	const struct usage_item *it;

	model_usage(s, scope, &u);
	it = usage_of(&u, name);
	if (it->used != used)
		fail_msg("scope %d %s used %ju, want %ju", scope, name, (uintmax_t)it->used,
		         (uintmax_t)used);
}

/* name's used figure in scope is unknown, and why says so (why: a substring). */
static void
unknown_used(const struct snapshot *s, int scope, const char *name, const char *why)
{
	struct usage u;
	const struct usage_item *it;

	model_usage(s, scope, &u);
	it = usage_of(&u, name);
	if (!it->unknown_used)
		fail_msg("scope %d %s: used %ju, want unknown", scope, name, (uintmax_t)it->used);
	if (strstr(it->why, why) == NULL)
		fail_msg("scope %d %s: why \"%s\" lacks \"%s\"", scope, name, it->why, why);
}

static const struct ipc_object *
find_obj_or_null(const struct snapshot *s, enum ipc_type t, int64_t id)
{
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		if (s->objects[i].type == t && s->objects[i].id == id)
			return &s->objects[i];
	return NULL;
}

static const struct ipc_object *
find_obj(const struct snapshot *s, enum ipc_type t, int64_t id)
{
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		if (s->objects[i].type == t && s->objects[i].id == id)
			return &s->objects[i];
	fail_msg("%s id %" PRId64 " not found", ipc_type_name(t), id);
	return NULL;
}

static const char *
scope_name(const struct snapshot *s, const struct ipc_object *o)
{
	assert_true(o->scope < s->nscopes);
	return s->scopes[o->scope].id;
}

/* Some warning contains every one of the NULL-terminated strings. */
static void
warned(const struct collect_warnings *w, ...)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		va_list ap;
		const char *p;
		int all = 1;

		va_start(ap, w);
		while ((p = va_arg(ap, const char *)) != NULL)
			if (strstr(w->v[i], p) == NULL)
				all = 0;
		va_end(ap);
		if (all)
			return;
	}
	for (i = 0; i < w->n; i++)
		print_message("warning: %s\n", w->v[i]);
	fail_msg("no such warning");
}

static void
print_warnings(const struct collect_warnings *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		print_message("warning: %s\n", w->v[i]);
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *dir, const char *rel, const void *p, size_t n)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static void
write_str(const char *dir, const char *rel, const char *s)
{
	write_file(dir, rel, s, strlen(s));
}

static void
copy_file(const char *from, const char *dir, const char *rel)
{
	char *buf;
	size_t len;

	assert_int_equal(read_file_bounded(from, 1 << 20, &buf, &len), 0);
	write_file(dir, rel, buf, len);
	free(buf);
}

static char *
tmpdir(void)
{
	char *d = strdup("/tmp/test_freebsd.XXXXXX");

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	return d;
}

/* A minimal valid capture: limits and page size, no objects yet. */
static char *
capture_base(void)
{
	char *d = tmpdir();

	/* whole (maxsockbuf): a kernel with semaphores only */
	write_str(d, "sysctl-kern.ipc.txt",
	          "kern.ipc.maxsockbuf: 2097152\nkern.ipc.semmns: 340\nkern.ipc.semmni: 50\n");
	write_str(d, "pagesize.txt", "4096\n");
	write_str(d, "date.txt", "1764165600 +0100\n");
	return d;
}

static int
run_capture_pt(const char *dir, struct snapshot *s, struct proc_table *pt,
               struct collect_warnings *w, char *err, size_t errlen)
{
	struct source src;

	memset(&src, 0, sizeof(src));
	src.kind = SRC_FREEBSD_CAPTURE;
	ifl_strlcpy(src.dir, dir, sizeof(src.dir));
	memset(w, 0, sizeof(*w));
	assert_int_equal(snapshot_init(s), 0);
	err[0] = '\0';
	return collect_freebsd(&src, s, pt, w, err, errlen);
}

static int
run_capture(const char *dir, struct snapshot *s, struct collect_warnings *w, char *err,
            size_t errlen)
{
	return run_capture_pt(dir, s, NULL, w, err, errlen);
}

/* pt holds (pid, uid, scope) exactly once. */
static void
has_proc(const struct proc_table *pt, int64_t pid, uint32_t uid, uint32_t scope)
{
	size_t i, n = 0;

	for (i = 0; i < pt->n; i++)
		if (pt->v[i].pid == pid && pt->v[i].uid == uid && pt->v[i].scope == scope)
			n++;
	if (n != 1)
		fail_msg("process %" PRId64 " uid %u scope %u listed %zu times", pid, (unsigned)uid,
		         (unsigned)scope, n);
}

#define SHM_HDR                                                                                    \
	"Shared Memory:\n"                                                                         \
	"T           ID          KEY MODE        OWNER    GROUP    CREATOR  CGROUP         "       \
	"NATTCH "                                                                                  \
	"       SEGSZ         CPID         LPID ATIME    DTIME    CTIME   \n"
#define SHM_ROW(id, size)                                                                          \
	"m " id "            0 --rw------- 122      122      122      122               144 " size \
	"        22110        22110  8:15:28 14:07:34  8:15:28\n"
#define SEM_HDR                                                                                    \
	"Semaphores:\n"                                                                            \
	"T           ID          KEY MODE        OWNER    GROUP    CREATOR  CGROUP          "      \
	"NSEMS "                                                                                   \
	"OTIME    CTIME   \n"
#define SEM_ROW(id, nsems)                                                                         \
	"s " id "            0 --rw------- 770      770      770      770        " nsems           \
	" 17:26:50  8:14:33\n"

/* ---- the real jailhost ---- */

/* The 13 segment sizes of ipcs-ma.txt, copied from the file by hand. */
static const uint64_t sorthat_sizes[13] = {
    48,        16777216, 8388608, 16777216, 456340276, 80530636, 36252,
    536870912, 16777216, 4194304, 57042535, 10066329,  24408,
};

static void
test_sorthat(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[256];
	uint64_t bytes = 0, pages = 0, sems770 = 0, sems122 = 0;
	size_t i, nshm = 0, nsem = 0, sets770 = 0, sets122 = 0, shm770 = 0, shm122 = 0;
	const struct ipc_object *o;

	(void)state;
	if (run_capture(SORTHAT, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	print_warnings(&w);
	/*
	 * Its sysctl file holds only the shm and sem lines, and it has no ipcs -q
	 * output: the message queues are unknown, not absent (nor 0).
	 */
	assert_int_equal(w.total, 2);
	warned(&w, "sysctl-kern.ipc.txt: no kern.ipc.msg* line in a partial listing", NULL);
	warned(&w, "the ipcs files: no \"Message Queues:\" section: its counts are unknown", NULL);
	assert_string_equal(s.os, "FreeBSD");
	assert_string_equal(s.os_release, ""); /* no uname.txt */
	assert_int_equal(s.page_size, 4096);
	assert_int_equal(s.nscopes, 1);
	limit_eq(&s.limits, "semmns", 340);
	limit_eq(&s.limits, "semmni", 50);
	limit_eq(&s.limits, "shmall", 4097152);
	limit_eq(&s.limits, "shmmax", 536870912);
	limit_eq(&s.limits, "semusz", 632);
	assert_int_equal(s.limits.n, 14);

	for (i = 0; i < s.nobjects; i++) {
		o = &s.objects[i];
		assert_int_equal(o->scope, 0);
		assert_int_equal(o->key, 0);
		assert_int_equal(o->mode, 0600);
		if (o->type == IPC_SHM) {
			nshm++;
			bytes += o->size;
			if (o->uid == 770)
				shm770++;
			else if (o->uid == 122)
				shm122++;
		} else if (o->type == IPC_SEM) {
			nsem++;
			if (o->uid == 770) {
				sets770++;
				sems770 += o->nsems;
			} else if (o->uid == 122) {
				sets122++;
				sems122 += o->nsems;
			}
		}
	}
	assert_int_equal(nshm, 13);
	assert_int_equal(bytes, 1203825956);
	assert_int_equal(nsem, 16);
	assert_int_equal(sets770, 14);
	assert_int_equal(sems770, 238);
	assert_int_equal(sets122, 2);
	assert_int_equal(sems122, 28);
	assert_int_equal(shm770, 1);
	assert_int_equal(shm122, 12);
	assert_int_equal(s.nobjects, 29);

	/* shmall: per-segment page rounding, computed here from the sizes */
	for (i = 0; i < NELEM(sorthat_sizes); i++)
		pages += sorthat_sizes[i] / 4096 + (sorthat_sizes[i] % 4096 != 0);
	assert_int_equal(pages, 293906); /* summed by hand */
	used_eq(&s, -1, "shmall", pages);
	used_eq(&s, -1, "shmmni", 13);
	used_eq(&s, -1, "semmns", 266);
	used_eq(&s, -1, "semmni", 16);
	unknown_used(&s, -1, "msgmni", "no \"Message Queues:\" section in the ipcs files");
	assert_non_null(snapshot_unknown_why(&s, UNK_LIMIT, "msgmni"));
	assert_string_equal(snapshot_unknown_why(&s, UNK_LIMIT, "msgmni"),
	                    "no kern.ipc.msg* line in sysctl-kern.ipc.txt (a partial listing)");

	o = find_obj(&s, IPC_SHM, 458756);
	assert_int_equal(o->size, 456340276);
	assert_int_equal(o->nattch, 144);
	assert_int_equal(o->cpid, 22110);
	assert_int_equal(o->lpid, 22110);
	assert_int_equal(o->uid, 122);
	assert_int_equal(o->cgid, 122);
	o = find_obj(&s, IPC_SHM, 524296);
	assert_int_equal(o->dtime, 0); /* no-entry */
	assert_true(o->atime > 0);
	o = find_obj(&s, IPC_SEM, 589838);
	assert_int_equal(o->nsems, 14);
	snapshot_free(&s);
}

/* Without date.txt, times resolve against the ipcs files' mtime, in UTC. */
static void
test_sorthat_mtime(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	struct timeval tv[2];
	char err[256], path[512], *d = tmpdir();
	const char *files[] = {"sysctl-kern.ipc.txt", "pagesize.txt", "ipcs-ma.txt", "ipcs-as.txt"};
	const int64_t mt = MIDNIGHT + 14 * 3600 + 10 * 60; /* 14:10:00Z */
	const struct ipc_object *o;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", SORTHAT, files[i]);
		copy_file(path, d, files[i]);
	}
	tv[0].tv_sec = tv[1].tv_sec = (time_t)mt;
	tv[0].tv_usec = tv[1].tv_usec = 0;
	snprintf(path, sizeof(path), "%s/ipcs-ma.txt", d);
	assert_int_equal(utimes(path, tv), 0);
	tv[0].tv_sec = tv[1].tv_sec = (time_t)(mt - 60); /* the newest one counts */
	snprintf(path, sizeof(path), "%s/ipcs-as.txt", d);
	assert_int_equal(utimes(path, tv), 0);

	if (run_capture(d, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	assert_int_equal(w.total, 2); /* the message queues: see test_sorthat */
	o = find_obj(&s, IPC_SHM, 458752);
	assert_int_equal(o->atime, MIDNIGHT + 8 * 3600 + 14 * 60 + 33);
	assert_int_equal(o->dtime, MIDNIGHT + 14 * 3600 + 7 * 60 + 38);
	assert_int_equal(o->ctime, MIDNIGHT + 8 * 3600 + 14 * 60 + 33);
	/* 17:26:50 is after 14:10: the day before */
	o = find_obj(&s, IPC_SEM, 458752);
	assert_int_equal(o->otime, MIDNIGHT - 86400 + 17 * 3600 + 26 * 60 + 50);
	assert_int_equal(o->ctime, MIDNIGHT + 8 * 3600 + 14 * 60 + 33);
	snapshot_free(&s);
	rm_rf(d);
	free(d);
}

/* ---- two jails ---- */

static void
check_jails(const struct snapshot *s, int live)
{
	const struct ipc_scope *pg, *zbx;
	const struct ipc_object *o;
	int ipg, izbx;

	assert_string_equal(s->os, "FreeBSD");
	assert_string_equal(s->os_release, "11.1-RELEASE-p4");
	assert_int_equal(s->page_size, 4096);
	limit_eq(&s->limits, "msgtql", 40);
	limit_eq(&s->limits, "shm_use_phys", 0);
	assert_int_equal(s->limits.n, 22); /* 6 socket tunables ignored */

	assert_int_equal(s->nscopes, 3);
	ipg = snapshot_find_scope(s, "jail:pg");
	izbx = snapshot_find_scope(s, "jail:zbx");
	assert_int_equal(ipg, 1);
	assert_int_equal(izbx, 2);
	pg = &s->scopes[ipg];
	zbx = &s->scopes[izbx];
	assert_string_equal(pg->name, "pg");
	assert_int_equal(pg->kind, SCOPE_JAIL);
	assert_int_equal(pg->own_limits, 0);
	assert_int_equal(pg->iso[IPC_SHM], ISO_NEW);
	assert_int_equal(pg->iso[IPC_SEM], ISO_NEW);
	assert_int_equal(pg->iso[IPC_MSG], ISO_DISABLE);
	assert_string_equal(zbx->name, "zbx");
	assert_int_equal(zbx->own_limits, 0);
	assert_int_equal(zbx->iso[IPC_SHM], ISO_INHERIT);
	assert_int_equal(zbx->iso[IPC_SEM], ISO_INHERIT);
	assert_int_equal(zbx->iso[IPC_MSG], ISO_INHERIT);

	assert_int_equal(s->nobjects, 13);
	/* pg: by its own view, with the real keys */
	o = find_obj(s, IPC_SHM, 65536);
	assert_string_equal(scope_name(s, o), "jail:pg");
	assert_int_equal(o->key, 5432001);
	assert_int_equal(o->uid, 770);
	assert_int_equal(o->gid, 770);
	assert_int_equal(o->cuid, 770);
	assert_int_equal(o->cgid, 770);
	assert_int_equal(o->size, 48);
	assert_int_equal(o->nattch, 6);
	assert_int_equal(o->cpid, 2100);
	assert_int_equal(o->lpid, 2101);
	assert_string_equal(o->owner, "postgres"); /* the jail's name for 770 */
	o = find_obj(s, IPC_SEM, 65536);
	assert_string_equal(scope_name(s, o), "jail:pg");
	assert_int_equal(o->key, 5432001);
	assert_int_equal(o->nsems, 17);
	assert_string_equal(o->owner, "postgres");
	o = find_obj(s, IPC_SEM, 65537);
	assert_string_equal(scope_name(s, o), "jail:pg");
	assert_int_equal(o->key, 5432002);
	/* zbx: creator pids (key stays 0) and its own keys */
	o = find_obj(s, IPC_SHM, 65537);
	assert_string_equal(scope_name(s, o), "jail:zbx");
	assert_int_equal(o->key, 0);
	assert_string_equal(o->owner, "zabbix"); /* zbx's view lists it, with key 0 */
	o = find_obj(s, IPC_SHM, 65539);
	assert_string_equal(scope_name(s, o), "jail:zbx");
	assert_int_equal(o->mode, 0640);
	assert_int_equal(o->size, 8388609);
	o = find_obj(s, IPC_SHM, 131075);
	assert_string_equal(scope_name(s, o), "jail:zbx");
	assert_int_equal(o->key, 1001);
	assert_int_equal(o->cpid, 4001); /* dead: the view decided */
	o = find_obj(s, IPC_SEM, 65538);
	assert_string_equal(scope_name(s, o), "jail:zbx");
	assert_int_equal(o->key, -1593835520);
	assert_int_equal(o->mode, 0700);
	/* host */
	o = find_obj(s, IPC_SHM, 65538);
	assert_string_equal(scope_name(s, o), "host"); /* creator 4000 gone */
	assert_string_equal(o->owner, "");             /* the host printed 122 */
	o = find_obj(s, IPC_SHM, 65540);
	assert_string_equal(scope_name(s, o), "host");
	assert_int_equal(o->key, 42);
	assert_int_equal(o->uid, 0); /* "root" */
	assert_string_equal(o->owner, "root");
	assert_int_equal(o->gid, 5000);
	assert_int_equal(o->mode, 0644);
	o = find_obj(s, IPC_SHM, 65541);
	assert_string_equal(scope_name(s, o), "host"); /* key 77: made by the host */
	assert_int_equal(o->cpid, 2100);
	o = find_obj(s, IPC_SEM, 65539);
	assert_string_equal(scope_name(s, o), "host"); /* no key, no creator pid */
	assert_int_equal(o->uid, 122);
	o = find_obj(s, IPC_SEM, 65540);
	assert_string_equal(scope_name(s, o), "host");
	assert_int_equal(o->mode, 0666); /* --ra-ra-ra- */
	assert_int_equal(o->otime, 0);
	o = find_obj(s, IPC_MSG, 65536);
	assert_string_equal(scope_name(s, o), "host");
	assert_int_equal(o->key, 1234);
	assert_int_equal(o->mode, 0660);
	assert_int_equal(o->uid, 0);
	assert_int_equal(o->cuid, 0);
	assert_int_equal(o->gid, 5000);
	assert_int_equal(o->cbytes, 120);
	assert_int_equal(o->qnum, 3);
	assert_int_equal(o->qbytes, 16384);
	assert_int_equal(o->lspid, 900);
	assert_int_equal(o->lrpid, 0);
	assert_int_equal(o->rtime, 0);

	/* the one pool, and each scope's share of it */
	used_eq(s, -1, "semmns", 63);
	used_eq(s, -1, "semmni", 5);
	used_eq(s, -1, "shmall", 1 + 4096 + 1024 + 2049 + 1 + 1 + 1);
	used_eq(s, -1, "shmmni", 7);
	used_eq(s, -1, "msgmni", 1);
	used_eq(s, -1, "msgtql", 3);
	used_eq(s, ipg, "semmns", 34);
	used_eq(s, ipg, "semmni", 2);
	used_eq(s, ipg, "shmall", 1);
	used_eq(s, ipg, "shmmni", 1);
	used_eq(s, izbx, "semmns", 14);
	used_eq(s, izbx, "shmall", 4096 + 2049 + 1);
	used_eq(s, izbx, "shmmni", 3);
	used_eq(s, 0, "semmns", 15);
	used_eq(s, 0, "shmall", 1026);
	used_eq(s, 0, "msgmni", 1);

	if (live)
		return;
	/* times against date.txt: 15:00:00 local, +0100 */
	o = find_obj(s, IPC_MSG, 65536);
	assert_int_equal(o->stime, CAPTURE - 1);                   /* 14:59:59 local */
	assert_int_equal(o->ctime, MIDNIGHT + 8 * 3600 + 30 * 60); /* 9:30 local */
	o = find_obj(s, IPC_SHM, 65536);
	assert_int_equal(o->atime, 1764165480); /* 14:58:00 local, 13:58:00Z */
	assert_int_equal(o->dtime, 1764165510);
	assert_int_equal(o->ctime, 1764140400);
	o = find_obj(s, IPC_SHM, 65540);
	assert_int_equal(o->atime, CAPTURE);         /* 15:00:00: the capture itself */
	assert_int_equal(o->ctime, MIDNIGHT - 3600); /* local midnight */
	o = find_obj(s, IPC_SEM, 65539);
	assert_int_equal(o->otime, CAPTURE - 86400 + 1); /* 15:00:01: yesterday */
}

static void
test_jails(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[256];

	struct proc_table pt;

	(void)state;
	memset(&pt, 0, sizeof(pt));
	if (run_capture_pt(JAILS, &s, &pt, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	print_warnings(&w);
	assert_int_equal(w.total, 0);
	check_jails(&s, 0);
	/* a capture is a snapshot of its own time (date.txt: 1764165600 +0100),
	 * which its objects' ages and its ps.txt are of */
	assert_int_equal(s.taken, 1764165600);
	/* ps.txt: 3 host processes, 2 in pg and 3 in zbx, those also on the host */
	assert_int_equal(pt.valid, 1);
	assert_int_equal(pt.n, 3 + 2 * 2 + 3 * 2);
	has_proc(&pt, 1, 0, 0);
	has_proc(&pt, 900, 0, 0);
	has_proc(&pt, 2100, 770, 1);
	has_proc(&pt, 2100, 770, 0);
	has_proc(&pt, 3004, 122, 2);
	has_proc(&pt, 3004, 122, 0);
	snapshot_free(&s);

	/* without ps.txt the processes are not known: pt stays invalid */
	{
		char path[512], *d = tmpdir();
		const char *files[] = {"sysctl-kern.ipc.txt", "pagesize.txt", "ipcs-a.txt",
		                       "jls.txt", "date.txt"};
		size_t i;

		for (i = 0; i < NELEM(files); i++) {
			snprintf(path, sizeof(path), "%s/%s", JAILS, files[i]);
			copy_file(path, d, files[i]);
		}
		if (run_capture_pt(d, &s, &pt, &w, err, sizeof(err)) != 0)
			fail_msg("collect: %s", err);
		assert_int_equal(pt.valid, 0);
		assert_int_equal(pt.n, 0);
		/* no views, no pids: everything stays on the host */
		assert_int_equal(s.nscopes, 3);
		for (i = 0; i < s.nobjects; i++)
			assert_int_equal(s.objects[i].scope, 0);
		snapshot_free(&s);

		/* a bad ps line: pt lists the rest but is not valid */
		write_str(d, "ps.txt",
		          "  PID JID UID COMMAND\n  10 0 0 a\n  x 0 0 b\n  12 1 7 c\n");
		if (run_capture_pt(d, &s, &pt, &w, err, sizeof(err)) != 0)
			fail_msg("collect: %s", err);
		assert_int_equal(pt.valid, 0);
		assert_int_equal(pt.n, 3);
		has_proc(&pt, 12, 7, 1);
		has_proc(&pt, 12, 7, 0);
		snapshot_free(&s);
		write_str(d, "ps.txt", "  PID JID UID COMMAND\n  10 0 0 a\n  12 9 7 c\n");
		if (run_capture_pt(d, &s, &pt, &w, err, sizeof(err)) != 0)
			fail_msg("collect: %s", err);
		assert_int_equal(pt.valid, 1);
		has_proc(&pt, 12, 7, PROC_SCOPE_NONE); /* jail 9 is not listed */
		has_proc(&pt, 12, 7, 0);
		snapshot_free(&s);
		rm_rf(d);
		free(d);
	}
	proc_table_free(&pt);
}

/* The same capture without the jails' passwd files: names are not found,
 * but the host's numbers still give the owners. */
static void
test_jails_no_passwd(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[256], path[512], *d = tmpdir();
	const char *files[] = {"sysctl-kern.ipc.txt",
	                       "pagesize.txt",
	                       "ipcs-a.txt",
	                       "jls.txt",
	                       "ps.txt",
	                       "date.txt",
	                       "uname.txt",
	                       "passwd",
	                       "group",
	                       "jail-pg/ipcs-a.txt",
	                       "jail-zbx/ipcs-a.txt"};
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/jail-pg", d);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/jail-zbx", d);
	assert_int_equal(mkdir(path, 0700), 0);
	for (i = 0; i < NELEM(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", JAILS, files[i]);
		copy_file(path, d, files[i]);
	}
	if (run_capture(d, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	check_jails(&s, 0);
	/* 3 postgres rows x 4 names, 8 zabbix rows x 4 names */
	assert_int_equal(w.total, 12 + 4 * 8);
	warned(&w, "jail-pg/ipcs-a.txt line 6:", "OWNER \"postgres\"", "passwd", "4294967295",
	       NULL);
	warned(&w, "jail-pg/ipcs-a.txt line 6:", "GROUP \"postgres\"", "group", NULL);
	snapshot_free(&s);
	rm_rf(d);
	free(d);
}

/* ---- parsers one by one ---- */

static void
test_resolve_time(void **state)
{
	int64_t t;
	int32_t off;
	char err[128];

	(void)state;
	assert_int_equal(fbsd_resolve_time("14:59:59", CAPTURE, 3600, &t), 0);
	assert_int_equal(t, CAPTURE - 1);
	assert_int_equal(fbsd_resolve_time("14:59:59", CAPTURE, 0, &t), 0);
	assert_int_equal(t, CAPTURE + 3599 - 86400);
	assert_int_equal(fbsd_resolve_time("15:00:00", CAPTURE, 3600, &t), 0);
	assert_int_equal(t, CAPTURE);
	assert_int_equal(fbsd_resolve_time("15:00:01", CAPTURE, 3600, &t), 0);
	assert_int_equal(t, CAPTURE + 1 - 86400);
	assert_int_equal(fbsd_resolve_time("0:00:00", CAPTURE, 3600, &t), 0);
	assert_int_equal(t, MIDNIGHT - 3600);
	assert_int_equal(fbsd_resolve_time("23:59:59", CAPTURE, 0, &t), 0);
	assert_int_equal(t, MIDNIGHT - 1);
	assert_int_equal(fbsd_resolve_time("8:14:33", CAPTURE, 0, &t), 0);
	assert_int_equal(t, MIDNIGHT + 29673);
	/* west of UTC: 14:00Z is 09:00 at -0500; 10:00 local is yesterday 15:00Z */
	assert_int_equal(fbsd_resolve_time("10:00:00", CAPTURE, -5 * 3600, &t), 0);
	assert_int_equal(t, MIDNIGHT - 86400 + 15 * 3600);
	assert_int_equal(fbsd_resolve_time("23:00:00", MIDNIGHT + 3600, 5 * 3600 + 1800, &t), 0);
	assert_int_equal(t, MIDNIGHT - 86400 + 23 * 3600 - 5 * 3600 - 1800);
	assert_int_equal(fbsd_resolve_time("12:00:60", CAPTURE, 0, &t), 0); /* leap second */

	assert_int_equal(fbsd_resolve_time("24:00:00", CAPTURE, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("12:60:00", CAPTURE, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("12:00:61", CAPTURE, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("123:00:00", CAPTURE, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("1:2:03", CAPTURE, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("12:00", CAPTURE, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("12:00:00x", CAPTURE, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("-1:00:00", CAPTURE, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("", CAPTURE, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("12:00:00", -1, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("12:00:00", INT64_MAX, 0, &t), -1);
	assert_int_equal(fbsd_resolve_time("12:00:00", 100, 0, &t), -1); /* before 1970 */

	assert_int_equal(fbsd_parse_date("1764165600 +0100\n", 17, &t, &off, err, sizeof(err)), 0);
	assert_int_equal(t, CAPTURE);
	assert_int_equal(off, 3600);
	assert_int_equal(fbsd_parse_date("1764165600 -0930", 16, &t, &off, err, sizeof(err)), 0);
	assert_int_equal(off, -(9 * 3600 + 30 * 60));
	assert_int_equal(fbsd_parse_date("1764165600\n", 11, &t, &off, err, sizeof(err)), 0);
	assert_int_equal(off, 0);
	assert_int_equal(fbsd_parse_date("1764165600 +01", 14, &t, &off, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "+HHMM"));
	assert_int_equal(fbsd_parse_date("1764165600 +2500", 16, &t, &off, err, sizeof(err)), -1);
	assert_int_equal(fbsd_parse_date("yesterday", 9, &t, &off, err, sizeof(err)), -1);
	assert_int_equal(fbsd_parse_date("1 2 3", 5, &t, &off, err, sizeof(err)), -1);
	assert_int_equal(fbsd_parse_date("", 0, &t, &off, err, sizeof(err)), -1);
	assert_int_equal(fbsd_parse_date("17641\0"
	                                 "65600",
	                                 11, &t, &off, err, sizeof(err)),
	                 -1);
	assert_int_equal(fbsd_parse_date("99999999999999", 14, &t, &off, err, sizeof(err)), -1);
}

static void
test_mode(void **state)
{
	uint32_t m;

	(void)state;
	assert_int_equal(fbsd_parse_mode("--rw-------", &m), 0);
	assert_int_equal(m, 0600);
	assert_int_equal(fbsd_parse_mode("--rwarwarwa", &m), 0);
	assert_int_equal(m, 0777);
	assert_int_equal(fbsd_parse_mode("--r--r--r--", &m), 0);
	assert_int_equal(m, 0444);
	assert_int_equal(fbsd_parse_mode("--ra-------", &m), 0); /* alter in the write place */
	assert_int_equal(m, 0600);
	assert_int_equal(fbsd_parse_mode("--rwx------", &m), 0);
	assert_int_equal(m, 0700);
	assert_int_equal(fbsd_parse_mode("-----------", &m), 0);
	assert_int_equal(m, 0);
	assert_int_equal(fbsd_parse_mode("--rw------", &m), -1);
	assert_int_equal(fbsd_parse_mode("--rw--------", &m), -1);
	assert_int_equal(fbsd_parse_mode("D-rw-------", &m), -1);
	assert_int_equal(fbsd_parse_mode("--wr-------", &m), -1);
	assert_int_equal(fbsd_parse_mode("--rr-------", &m), -1);
	assert_int_equal(fbsd_parse_mode("0600", &m), -1);
}

static void
test_sysctl(void **state)
{
	struct ipc_limits l;
	struct collect_warnings w;
	const char *t = "kern.ipc.semmns: 340\n"
	                "kern.ipc.maxsockbuf: 2097152\n"
	                "kern.ipc.semmni: fifty\n"
	                "kern.ipc.shmall 131072\n"
	                "net.inet.tcp.mssdflt: 536\n"
	                "\n"
	                "kern.ipc.shmmax: -1\n"
	                "kern.ipc.shmmax: 18446744073709551615\n"
	                "kern.ipc.msgmax:16384\r\n"
	                "kern.ipc.semMNS: 1\n"
	                "kern.ipc.shmseg: 128 \n"
	                "kern.ipc.somaxconn: not a number, ignored\n"
	                "kern.ipc.semopm: 18446744073709551616\n";
	const char *u = "kern.ipc.somaxconnx: 1\nkern.ipc.semmni: 5\n";
	static const char *const marks[] = {"maxsockbuf", "soacceptqueue", "somaxconn"};
	size_t i;
	int whole = -1;

	(void)state;
	memset(&l, 0, sizeof(l));
	memset(&w, 0, sizeof(w));
	assert_int_equal(fbsd_parse_sysctl(t, strlen(t), "S", &l, &whole, &w), 4);
	assert_int_equal(whole, -1); /* kern.ipc.maxsockbuf, but lines skipped: damaged */
	limit_eq(&l, "semmns", 340);
	limit_eq(&l, "shmmax", UINT64_MAX);
	limit_eq(&l, "msgmax", 16384);
	limit_eq(&l, "shmseg", 128);
	assert_int_equal(l.n, 4);
	assert_int_equal(w.total, 6);
	warned(&w, "S line 10:", "bad limit name \"semMNS\"", NULL);
	warned(&w, "S line 3:", "semmni", "fifty", NULL);
	warned(&w, "S line 4:", "not \"kern.ipc.NAME: VALUE\"", NULL);
	warned(&w, "S line 5:", NULL);
	warned(&w, "S line 7:", "shmmax", NULL);
	warned(&w, "S line 13:", "semopm", NULL);
	assert_int_equal(fbsd_parse_sysctl("", 0, "S", &l, &whole, &w), 0);
	assert_int_equal(whole, 0);
	assert_int_equal(fbsd_parse_sysctl(u, strlen(u), "S", &l, &whole, &w), 1);
	assert_int_equal(whole, 0); /* only the exact names count */
	/* whole: a socket-layer line (any of three), every line read, the last one ended */
	for (i = 0; i < NELEM(marks); i++) {
		char text[256];

		snprintf(text, sizeof(text), "kern.ipc.%s: 128\nkern.ipc.semmni: 5\n", marks[i]);
		memset(&w, 0, sizeof(w));
		assert_int_equal(fbsd_parse_sysctl(text, strlen(text), "S", &l, &whole, &w), 1);
		assert_int_equal(whole, 1);
		assert_int_equal(w.total, 0);
		/* the same cut in its last line: damaged, though nothing was skipped */
		assert_int_equal(fbsd_parse_sysctl(text, strlen(text) - 1, "S", &l, &whole, &w), 1);
		assert_int_equal(whole, -1);
		assert_int_equal(w.total, 0);
	}
}

static void
test_pagesize(void **state)
{
	uint32_t ps;
	char err[128];

	(void)state;
	assert_int_equal(fbsd_parse_pagesize("4096\n", 5, &ps, err, sizeof(err)), 0);
	assert_int_equal(ps, 4096);
	assert_int_equal(fbsd_parse_pagesize("16384", 5, &ps, err, sizeof(err)), 0);
	assert_int_equal(ps, 16384);
	assert_int_equal(fbsd_parse_pagesize("512", 3, &ps, err, sizeof(err)), 0);
	assert_int_equal(fbsd_parse_pagesize("1048576", 7, &ps, err, sizeof(err)), 0);
	assert_int_equal(fbsd_parse_pagesize("3000\n", 5, &ps, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\"3000\" is not a power of two"));
	assert_int_equal(fbsd_parse_pagesize("256", 3, &ps, err, sizeof(err)), -1);
	assert_int_equal(fbsd_parse_pagesize("2097152", 7, &ps, err, sizeof(err)), -1);
	assert_int_equal(fbsd_parse_pagesize("0", 1, &ps, err, sizeof(err)), -1);
	assert_int_equal(fbsd_parse_pagesize("", 0, &ps, err, sizeof(err)), -1);
	assert_int_equal(fbsd_parse_pagesize("4096\n4096\n", 10, &ps, err, sizeof(err)), -1);
	assert_int_equal(fbsd_parse_pagesize("40\0"
	                                     "96",
	                                     5, &ps, err, sizeof(err)),
	                 -1);
	assert_int_equal(fbsd_parse_pagesize("0x1000", 6, &ps, err, sizeof(err)), -1);
}

static void
test_idfile(void **state)
{
	struct fbsd_idmap m;
	struct collect_warnings w;
	uint32_t id;
	const char *t = "# comment\n"
	                "root:*:0:0:Charlie &:/root:/bin/csh\n"
	                "toor:*:0:0::/root:\n"
	                "+:::::::\n"
	                "-baduser\n"
	                "www:*:80:80:World Wide Web Owner:/nonexistent:/usr/sbin/nologin\n"
	                "www:*:81:80:a second www: the first one wins\n"
	                "short:x\n"
	                "neg:*:-1:0::/:\n"
	                "big:*:4294967295:0::/:\n"
	                ":*:5:5::/:\n"
	                "grp:*:1000:\n";

	(void)state;
	fbsd_idmap_init(&m, 0, 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(fbsd_parse_idfile(t, strlen(t), "P", &m, &w), 0);
	assert_int_equal(m.n, 5);
	assert_int_equal(fbsd_idmap_lookup(&m, "root", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(fbsd_idmap_lookup(&m, "www", &id), 0);
	assert_int_equal(id, 80);
	assert_int_equal(fbsd_idmap_lookup(&m, "grp", &id), 0);
	assert_int_equal(id, 1000);
	assert_int_equal(fbsd_idmap_lookup(&m, "nobody", &id), -1);
	assert_int_equal(fbsd_idmap_lookup(&m, "ww", &id), -1);
	assert_int_equal(w.total, 4);
	warned(&w, "P line 8:", NULL);
	warned(&w, "P line 9:", "\"-1\"", NULL);
	warned(&w, "P line 10:", "4294967295", NULL);
	warned(&w, "P line 11:", "bad name", NULL);
	fbsd_idmap_free(&m);
}

static void
test_jls(void **state)
{
	struct snapshot s;
	struct fbsd_jails j = {0, NULL};
	struct collect_warnings w;
	const char *t =
	    "jid=1 name=a path=\"/jails/with space\" sysvshm=new sysvsem=inherit sysvmsg=disable\n"
	    "jid=2 name=b path='/jails/\"q\"' allow.sysvipc\n"
	    "jid=3 name=c path=\"/j/\\\"x\\\\\" allow.nosysvipc sysvsem=new\n"
	    "jid=4 name=d allow.sysvipc=0\n"
	    "jid=5 name=e\n"
	    "jid=6 name=f sysvshm=shared\n"
	    "name=g path=/x\n"
	    "jid=zz name=h\n"
	    "jid=9 name=a\n"
	    "jid=1 name=i\n"
	    "jid=10 name=k path=\"/unterminated\n"
	    "jid=11 name=l path=\"/x\"y\n"
	    "jid=12 name=0123456789012345678901234567890123456789012345678901234567890123\n"
	    "\n"
	    "jid=13 name=m host.hostname=x\tosrelease=\"1 2\"\n";

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	memset(&w, 0, sizeof(w));
	assert_int_equal(fbsd_parse_jls(t, strlen(t), "J", &s, &j, &w), 7);
	assert_int_equal(j.n, 7);
	assert_int_equal(s.nscopes, 8);

	assert_string_equal(j.v[0].name, "a");
	assert_int_equal(j.v[0].jid, 1);
	assert_string_equal(j.v[0].path, "/jails/with space");
	assert_int_equal(j.v[0].scope, 1);
	assert_string_equal(s.scopes[1].id, "jail:a");
	assert_string_equal(s.scopes[1].name, "a");
	assert_int_equal(s.scopes[1].kind, SCOPE_JAIL);
	assert_int_equal(s.scopes[1].iso[IPC_SHM], ISO_NEW);
	assert_int_equal(s.scopes[1].iso[IPC_SEM], ISO_INHERIT);
	assert_int_equal(s.scopes[1].iso[IPC_MSG], ISO_DISABLE);

	assert_string_equal(j.v[1].path, "/jails/\"q\"");
	assert_int_equal(s.scopes[2].iso[IPC_SHM], ISO_INHERIT);
	assert_int_equal(s.scopes[2].iso[IPC_SEM], ISO_INHERIT);
	assert_int_equal(s.scopes[2].iso[IPC_MSG], ISO_INHERIT);

	assert_string_equal(j.v[2].path, "/j/\"x\\");
	assert_int_equal(s.scopes[3].iso[IPC_SHM], ISO_DISABLE);
	assert_int_equal(s.scopes[3].iso[IPC_SEM], ISO_NEW); /* explicit wins */
	assert_int_equal(s.scopes[3].iso[IPC_MSG], ISO_DISABLE);

	assert_int_equal(s.scopes[4].iso[IPC_SHM], ISO_DISABLE); /* allow.sysvipc=0 */
	assert_int_equal(s.scopes[5].iso[IPC_SHM], ISO_UNKNOWN); /* nothing said */
	assert_int_equal(s.scopes[5].iso[IPC_MSG], ISO_UNKNOWN);
	assert_string_equal(j.v[4].path, "");
	assert_string_equal(s.scopes[6].id, "jail:f");
	assert_int_equal(s.scopes[6].iso[IPC_SHM], ISO_UNKNOWN);
	assert_string_equal(s.scopes[7].id, "jail:m");
	assert_int_equal(j.v[6].jid, 13);

	assert_int_equal(w.total, 8);
	warned(&w, "J line 6:", "sysvshm=\"shared\"", NULL);
	warned(&w, "J line 7:", "no jid= or name=", NULL);
	warned(&w, "J line 8:", "jid \"zz\"", NULL);
	warned(&w, "J line 9:", "listed twice", NULL);
	warned(&w, "J line 10:", "listed twice", NULL);
	warned(&w, "J line 11:", "quote", NULL);
	warned(&w, "J line 12:", "quote", NULL);
	warned(&w, "J line 13:", "jail name longer than 58 bytes", NULL);
	fbsd_jails_free(&j);
	snapshot_free(&s);
}

static void
test_ps(void **state)
{
	struct fbsd_procs p = {0, NULL};
	struct collect_warnings w;
	int32_t jid;
	const char *t = "  PID JID  UID COMMAND\n"
	                "  900   0    0 ipcd\n"
	                " 3001   2  122 zabbix server with blanks\n"
	                "    5   7    0\n"
	                "  abc   1    1 x\n"
	                "   10  -1    1 x\n"
	                "   11\n"
	                "   12   1 4294967296 x\n";

	(void)state;
	memset(&w, 0, sizeof(w));
	assert_int_equal(fbsd_parse_ps(t, strlen(t), "P", &p, &w), 3);
	assert_int_equal(fbsd_procs_jid(&p, 3001, &jid), 0);
	assert_int_equal(jid, 2);
	assert_int_equal(fbsd_procs_jid(&p, 5, &jid), 0);
	assert_int_equal(jid, 7);
	assert_int_equal(fbsd_procs_jid(&p, 900, &jid), 0);
	assert_int_equal(jid, 0);
	assert_int_equal(fbsd_procs_jid(&p, 10, &jid), -1);
	assert_int_equal(fbsd_procs_jid(&p, 4000, &jid), -1);
	assert_int_equal(w.total, 4);
	warned(&w, "P line 5:", "PID \"abc\"", NULL);
	warned(&w, "P line 6:", "JID \"-1\"", NULL);
	warned(&w, "P line 7:", "1 fields", NULL);
	warned(&w, "P line 8:", "UID", NULL);
	fbsd_procs_free(&p);

	memset(&w, 0, sizeof(w));
	{
		const char *bad = "PID TT STAT TIME COMMAND\n1 - Ss 0:01 init\n";

		assert_int_equal(fbsd_parse_ps(bad, strlen(bad), "P", &p, &w), 0);
	}
	assert_int_equal(p.n, 0);
	warned(&w, "P line 1:", "not the header", NULL);
	fbsd_procs_free(&p);
}

static int
parse_text(const char *t, struct snapshot *s, struct collect_warnings *w)
{
	struct fbsd_ipcs_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.capture_time = CAPTURE;
	memset(w, 0, sizeof(*w));
	assert_int_equal(snapshot_init(s), 0);
	return fbsd_parse_ipcs(t, strlen(t), "I", &ctx, s, 0, w, NULL);
}

/* Rows that do not fit their header are skipped with the reason and line. */
static void
test_ipcs_bad_rows(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	const char *t = SHM_HDR SHM_ROW("     1", "     100")                      /* 3 ok */
	    "m        2            0 --rw------- 122      122      122      122\n" /* 4 short */
	    SHM_ROW("     5", "     100 extra")                                    /* 5 */
	    SHM_ROW("     6", "    12x4")                                          /* 6 */
	    SHM_ROW("    -7", "     100")                                          /* 7 */
	    "s        8            0 --rw------- 122      122      122      122      144 "
	    "100 22110 22110  8:15:28 14:07:34  8:15:28\n" /* 8 T */
	    "m        9   2147483648 --rw------- 122      122      122      122      144 "
	    "100 22110 22110  8:15:28 14:07:34  8:15:28\n" /* 9 key */
	    "m       10  -2147483648 --rw------- 122      122      122      122      144 "
	    "100 22110 22110  8:15:28 14:07:34  8:15:28\n" /* 10 ok */
	    "m       11            0 --rw-----x- 122      122      122      122      144 "
	    "100 22110 22110  8:15:28 14:07:34  8:15:28\n" /* 11 mode */
	    "m       12            0 --rw------- nobody   122      122      122      144 "
	    "100 22110 22110  8:15:28 14:07:34  8:15:28\n" /* 12 name */
	    "m       13            0 --rw------- -5       122      122      122      144 "
	    "100 22110 22110  8:15:28 14:07:34  8:15:28\n" /* 13 -5 */
	    "m       14            0 --rw------- 122      122      122      122      144 "
	    "100 22110 22110 25:15:28 14:07:34  8:15:28\n" /* 14 time */
	    "m       15            0 --rw------- 122      122      122 4294967296    144 "
	    "100 22110 22110  8:15:28 14:07:34  8:15:28\n" /* 15 gid */
	    "m       16            0 --rw------- 122      122      122      122      144 "
	    "18446744073709551615 22110 22110 no-entry no-entry no-entry\n" /* 16 ok */
	    "\n"                                                            /* 17 */
	    SHM_ROW("    19", "     100")                                   /* 18 out */
	    SEM_HDR                                                         /* 19, 20 */
	        SEM_ROW("    21", "   17")                                  /* 21 */
	    SEM_ROW("    22", "65536")                                      /* 22 ok */
	    SEM_ROW("    23", "  1.5")                                      /* 23 */
	    ;

	(void)state;
	assert_int_equal(parse_text(t, &s, &w), 2);
	/* rows with a bad value only in a column no count needs are kept */
	assert_int_equal(s.nobjects, 9);
	assert_int_equal(find_obj(&s, IPC_SHM, 1)->size, 100);
	assert_int_equal(find_obj(&s, IPC_SHM, 1)->unknown, 0);
	assert_int_equal(find_obj(&s, IPC_SHM, 6)->unknown, OF_SIZE);
	assert_int_equal(find_obj(&s, IPC_SHM, 10)->key, INT32_MIN);
	assert_int_equal(find_obj(&s, IPC_SHM, 12)->uid, FBSD_ID_UNKNOWN); /* kept */
	assert_int_equal(find_obj(&s, IPC_SHM, 14)->unknown, OF_ATIME);
	assert_int_equal(find_obj(&s, IPC_SHM, 16)->size, UINT64_MAX);
	assert_int_equal(find_obj(&s, IPC_SHM, 16)->atime, 0);
	assert_int_equal(find_obj(&s, IPC_SEM, 21)->nsems, 17);
	assert_int_equal(find_obj(&s, IPC_SEM, 22)->nsems, 65536);
	assert_int_equal(find_obj(&s, IPC_SEM, 23)->unknown, OF_NSEMS);
	/* unknown, and no number: not the row before's 65536 (read uninitialised) */
	assert_int_equal(find_obj(&s, IPC_SEM, 23)->nsems, 0);
	assert_int_equal(w.total, 13);
	warned(&w, "I line 4:", "8 fields where the header has 15", "row skipped", NULL);
	warned(&w, "I line 5:", "16 fields", NULL);
	warned(&w, "I line 6:", "SEGSZ \"12x4\"", "unknown", NULL);
	warned(&w, "I line 7:", "ID \"-7\"", "row skipped", NULL);
	warned(&w, "I line 8:", "T \"s\" does not match", NULL);
	warned(&w, "I line 9:", "KEY \"2147483648\"", NULL);
	warned(&w, "I line 11:", "MODE", NULL);
	warned(&w, "I line 12:", "OWNER \"nobody\"", "4294967295", NULL);
	warned(&w, "I line 13:", "OWNER \"-5\"", NULL);
	warned(&w, "I line 14:", "ATIME \"25:15:28\"", "unknown", NULL);
	warned(&w, "I line 15:", "CGROUP \"4294967296\"", NULL);
	warned(&w, "I line 18:", "outside any section", NULL);
	warned(&w, "I line 23:", "NSEMS \"1.5\"", "unknown", NULL);
	/* unknown is never zero: skipped rows leave their type's counts unknown */
	unknown_used(&s, -1, "shmmni", "I line 4: a row could not be read");
	unknown_used(&s, -1, "shmall", "I line 4: a row could not be read");
	/* a kept set without its size: semmni is known, semmns is not */
	used_eq(&s, -1, "semmni", 3);
	unknown_used(&s, -1, "semmns", "1 semaphore sets without nsems");
	snapshot_free(&s);
}

/* Headers decide: bad ones lose their section, not the whole file. */
static void
test_ipcs_headers(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	const char *t = "Shared Memory:\n"                        /* 1 */
	                "T ID KEY MODE OWNER GROUP NATTCH CPID\n" /* 2 no SEGSZ */
	                "m 1 0 --rw------- 0 0 1 5\n"             /* 3 skipped */
	                "\n"                                      /* 4 */
	                "Semaphores:\n"                           /* 5 */
	                "s 1 0 --rw------- 0 0 17\n"              /* 6 not a header */
	                "\n"                                      /* 7 */
	                "Message Queues:\n"                       /* 8 */
	                "T ID KEY MODE OWNER GROUP QNUM FOO\n"    /* 9 FOO ignored */
	                "q 3 5 --rw------- 0 0 7 whatever\n"      /* 10 ok */
	                "\n"
	                "Semaphores:\n"                           /* 12 */
	                "T ID KEY MODE OWNER GROUP NSEMS NSEMS\n" /* 13 twice */
	                "\n"
	                "Semaphores:\n"                     /* 15 */
	                "T ID KEY MODE OWNER GROUP NSEMS\n" /* 16 ok */
	                "s 4 0 --rw-r--r-- 0 0 2\n"         /* 17 ok */
	                "Shared Memory:\n"                  /* 18 no header */
	                "Shared Memory:\n"                  /* 19 */
	                "T ID KEY MODE OWNER GROUP SEGSZ\n" /* 20 */
	                "m 9 0 --rw------- 0 0 4096";       /* 21 no \n */

	(void)state;
	assert_int_equal(parse_text(t, &s, &w), 4);
	assert_int_equal(s.nobjects, 3);
	/* a listing without SEGSZ still counts its segment; its size is unknown */
	assert_int_equal(find_obj(&s, IPC_SHM, 1)->unknown & OF_SIZE, OF_SIZE);
	assert_int_equal(find_obj(&s, IPC_MSG, 3)->qnum, 7);
	assert_int_equal(find_obj(&s, IPC_MSG, 3)->cuid, FBSD_ID_UNKNOWN); /* no CREATOR */
	assert_int_equal(find_obj(&s, IPC_SEM, 4)->mode, 0644);
	/* the last row has no newline: the output was cut, so it is not counted */
	assert_null(find_obj_or_null(&s, IPC_SHM, 9));
	assert_int_equal(w.total, 6);
	warned(&w, "I line 3:", "no SEGSZ column", "shmall unknown", NULL);
	warned(&w, "I line 6:", "expected the column header", NULL);
	warned(&w, "I line 9:", "unknown column \"FOO\"", NULL);
	warned(&w, "I line 13:", "NSEMS appears twice", NULL);
	warned(&w, "I line 18:", "has no column header", NULL);
	warned(&w, "I line 21:", "cut short", NULL);
	/* the row cut short was a segment: neither count is known */
	unknown_used(&s, -1, "shmmni", "I line 21: cut short (truncated output)");
	unknown_used(&s, -1, "shmall", "I has no SEGSZ column (ipcs without -a)");
	/* a section whose header cannot be read may have held anything */
	unknown_used(&s, -1, "semmni", "I line 6: the column header could not be read");
	snapshot_free(&s);

	/* nothing that looks like ipcs output: no section at all */
	assert_int_equal(parse_text("m 1 0 --rw------- 0 0 1\nhello\n", &s, &w), 0);
	assert_int_equal(s.nobjects, 0);
	assert_int_equal(w.total, 2);
	snapshot_free(&s);
	assert_int_equal(parse_text("", &s, &w), 0);
	assert_int_equal(w.total, 0);
	snapshot_free(&s);
}

/* A 10 MB line, NUL bytes and binary junk: warned, skipped, the rest parsed. */
static void
test_ipcs_long_and_binary(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	struct fbsd_ipcs_ctx ctx;
	static const char head[] = SHM_HDR SHM_ROW("     1", "     100");
	/* the newline ending the long line, row 2, a row with a NUL, row 4 */
	static const char tail[] =
	    "\n" SHM_ROW("     2", "     200") "m 3 \0 junk\n" SHM_ROW("     4", "     400");
	size_t hl = sizeof(head) - 1, big = 10 * 1024 * 1024, tl = sizeof(tail) - 1;
	char *t;

	(void)state;
	t = malloc(hl + big + tl);
	assert_non_null(t);
	memcpy(t, head, hl);
	memset(t + hl, 'A', big);
	memcpy(t + hl + big, tail, tl);
	memset(&ctx, 0, sizeof(ctx));
	ctx.capture_time = CAPTURE;
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(fbsd_parse_ipcs(t, hl + big + tl, "I", &ctx, &s, 0, &w, NULL), 1);
	assert_int_equal(s.nobjects, 3);
	assert_int_equal(find_obj(&s, IPC_SHM, 2)->size, 200);
	assert_int_equal(find_obj(&s, IPC_SHM, 4)->size, 400);
	assert_int_equal(w.total, 2);
	warned(&w, "I line 4:", "longer than 4096 bytes", NULL);
	warned(&w, "I line 6:", "control character 0x00 at byte 5", NULL);
	snapshot_free(&s);
	free(t);
}

/* Random bytes into every parser: no crash, no sanitizer report. */
static void
test_random_garbage(void **state)
{
	unsigned char buf[4096];
	uint32_t x = 12345;
	int round;

	(void)state;
	for (round = 0; round < 300; round++) {
		struct snapshot s;
		struct collect_warnings w;
		struct fbsd_ipcs_ctx ctx;
		struct fbsd_jails j = {0, NULL};
		struct fbsd_procs p = {0, NULL};
		struct fbsd_idmap m;
		struct ipc_limits l;
		size_t i, n = (size_t)(round * 13) % sizeof(buf);
		uint32_t ps;
		int64_t t;
		int32_t off;
		char err[128];

		for (i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			/* mostly text-like bytes, so that parsers get past the first checks */
			if ((x >> 16) % 7 == 0)
				buf[i] = (unsigned char)((x >> 8) & 0xff);
			else
				buf[i] = (unsigned char)" \n-:=\"mT0123s"[(x >> 20) % 13];
		}
		memset(&w, 0, sizeof(w));
		memset(&l, 0, sizeof(l));
		memset(&ctx, 0, sizeof(ctx));
		ctx.capture_time = CAPTURE;
		fbsd_idmap_init(&m, 0, 0);
		ctx.users = &m;
		assert_int_equal(snapshot_init(&s), 0);
		assert_true(fbsd_parse_ipcs((char *)buf, n, "R", &ctx, &s, 0, &w, NULL) >= 0);
		assert_true(fbsd_parse_jls((char *)buf, n, "R", &s, &j, &w) >= 0);
		assert_true(fbsd_parse_ps((char *)buf, n, "R", &p, &w) >= 0);
		assert_true(fbsd_parse_sysctl((char *)buf, n, "R", &l, NULL, &w) >= 0);
		assert_int_equal(fbsd_parse_idfile((char *)buf, n, "R", &m, &w), 0);
		(void)fbsd_parse_pagesize((char *)buf, n, &ps, err, sizeof(err));
		(void)fbsd_parse_date((char *)buf, n, &t, &off, err, sizeof(err));
		fbsd_idmap_free(&m);
		fbsd_jails_free(&j);
		fbsd_procs_free(&p);
		snapshot_free(&s);
	}
}

/* More rows than MODEL_MAX_OBJECTS: the rest is ignored with one warning. */
static void
test_snapshot_full(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	struct fbsd_ipcs_ctx ctx;
	struct buf b;
	char want[128];
	size_t i;

	(void)state;
	buf_init(&b, 64u * 1024 * 1024);
	buf_puts(&b, "Semaphores:\nT ID KEY MODE OWNER GROUP NSEMS\n");
	for (i = 0; i < MODEL_MAX_OBJECTS + 10; i++)
		buf_printf(&b, "s %zu 0 --rw------- 0 0 1\n", i);
	assert_false(buf_failed(&b));
	memset(&ctx, 0, sizeof(ctx));
	ctx.capture_time = CAPTURE;
	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(fbsd_parse_ipcs(b.data, b.len, "I", &ctx, &s, 0, &w, NULL), 1);
	assert_int_equal(s.nobjects, MODEL_MAX_OBJECTS);
	assert_int_equal(w.total, 1);
	snprintf(want, sizeof(want), "I line %d: more than %d objects", MODEL_MAX_OBJECTS + 3,
	         MODEL_MAX_OBJECTS);
	warned(&w, want, NULL);
	/* the sets beyond the bound were not counted: the totals are unknown */
	snprintf(want, sizeof(want), "I line %d: more objects than the agent keeps",
	         MODEL_MAX_OBJECTS + 3);
	unknown_used(&s, -1, "semmns", want);
	unknown_used(&s, -1, "semmni", want);
	assert_int_equal(fbsd_dedupe(&s, &w), 0);
	snapshot_free(&s);
	buf_free(&b);
}

/* Attribution edge cases, driven directly. */
static void
test_attribution(void **state)
{
	struct snapshot s, v1, v2;
	struct collect_warnings w;
	struct fbsd_index ix;
	struct fbsd_jails j;
	struct fbsd_procs p;
	struct fbsd_jail jv[2];
	struct fbsd_proc pv[2] = {{100, 1, 0}, {200, 9, 0}};
	const char *host = SHM_HDR SHM_ROW("     1", "     100") SHM_ROW("     2", "     100")
	    SHM_ROW("     3", "     100") SHM_ROW("     1", "     999");
	const char *view1 =
	    SHM_HDR "m 1 11 --rw------- 0 0 5000 5000 1 100 1 1 no-entry no-entry no-entry\n"
	            "m 2 12 --rw------- 0 0 0 0 1 100 1 1 no-entry no-entry no-entry\n"
	            "m 7 17 --rw------- 0 0 0 0 1 100 1 1 no-entry no-entry no-entry\n";
	const char *view2 =
	    SHM_HDR "m 1 21 --rw------- 0 0 0 0 1 100 1 1 no-entry no-entry no-entry\n"
	            "m 3 0 --rw------- 0 0 0 0 1 100 1 1 no-entry no-entry no-entry\n";

	(void)state;
	memset(jv, 0, sizeof(jv));
	assert_int_equal(parse_text(host, &s, &w), 1);
	assert_int_equal(s.nobjects, 4);
	assert_int_equal(fbsd_dedupe(&s, &w), 1);
	assert_int_equal(s.nobjects, 3);
	assert_int_equal(find_obj(&s, IPC_SHM, 1)->size, 100); /* the first entry kept */
	warned(&w, "shm id 1 is listed more than once", NULL);
	s.objects[1].key = 55; /* shm 2: as if the host had made it */
	s.objects[0].uid = FBSD_ID_UNKNOWN;
	assert_non_null(snapshot_add_scope(&s, "jail:a", "a", SCOPE_JAIL));
	assert_non_null(snapshot_add_scope(&s, "jail:b", "b", SCOPE_JAIL));
	assert_int_equal(fbsd_index_build(&s, &ix), 0);

	assert_int_equal(parse_text(view1, &v1, &w), 1);
	assert_int_equal(parse_text(view2, &v2, &w), 1);
	memset(&w, 0, sizeof(w));
	assert_int_equal(fbsd_attribute_view(&s, &ix, &v1, 1, "a", &w), 1);
	assert_int_equal(fbsd_attribute_view(&s, &ix, &v2, 2, "b", &w), 0);
	assert_int_equal(find_obj(&s, IPC_SHM, 1)->scope, 1);
	assert_int_equal(find_obj(&s, IPC_SHM, 1)->key, 11);
	assert_int_equal(find_obj(&s, IPC_SHM, 1)->uid, 0);    /* filled from the view */
	assert_int_equal(find_obj(&s, IPC_SHM, 1)->cuid, 122); /* the host's kept */
	assert_int_equal(find_obj(&s, IPC_SHM, 2)->scope, 0);
	assert_int_equal(w.total, 3);
	warned(&w, "jail a: shm id 2 has key 55 on the host and 12 in the jail", NULL);
	warned(&w, "jail a: shm id 7 is not in the host's view", NULL);
	warned(&w, "jail b: shm id 1 is also claimed by jail a", NULL);

	/* creator pids: 22110 for all three; map it to jail b, then to nothing */
	jv[0].jid = 1;
	jv[0].scope = 1;
	jv[1].jid = 2;
	jv[1].scope = 2;
	j.n = 2;
	j.v = jv;
	pv[0].pid = 22110;
	pv[0].jid = 2;
	p.n = 1;
	p.v = pv;
	assert_int_equal(fbsd_attribute_cpid(&s, &j, &p), 1); /* shm 3 only: 2 has a key */
	assert_int_equal(find_obj(&s, IPC_SHM, 3)->scope, 2);
	assert_int_equal(find_obj(&s, IPC_SHM, 2)->scope, 0);
	pv[0].jid = 5; /* a jail jls did not list */
	s.objects[2].scope = 0;
	assert_int_equal(fbsd_attribute_cpid(&s, &j, &p), 0);
	p.n = 0;
	assert_int_equal(fbsd_attribute_cpid(&s, &j, &p), 0);

	fbsd_index_free(&ix);
	snapshot_free(&v1);
	snapshot_free(&v2);
	snapshot_free(&s);
}

/* ---- hostile and broken capture directories ---- */

static void
expect_error(const char *dir, const char *what)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[512];

	if (run_capture(dir, &s, &w, err, sizeof(err)) != -1)
		fail_msg("collect succeeded, want an error with \"%s\"", what);
	if (strstr(err, what) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, what);
	assert_int_equal(s.nobjects, 0);
	assert_int_equal(s.nscopes, 1);
	snapshot_free(&s);
}

static void
test_capture_errors(void **state)
{
	char path[512], *d = tmpdir(), *b;

	(void)state;
	expect_error(d,
	             "pagesize.txt: missing, and no sysctl-kern.ipc.txt: not a FreeBSD capture?");
	expect_error("/nonexistent/ipcfleet", "No such file");
	snprintf(path, sizeof(path), "%s/file", d);
	write_str(d, "file", "x");
	expect_error(path, "not a directory");
	rm_rf(d);
	free(d);

	b = capture_base();
	expect_error(b, "none of ipcs-a.txt");
	write_str(b, "pagesize.txt", "3000\n");
	write_str(b, "ipcs-a.txt", SEM_HDR SEM_ROW("1", "17"));
	expect_error(b, "pagesize.txt: \"3000\" is not a power of two");
	snprintf(path, sizeof(path), "%s/pagesize.txt", b);
	assert_int_equal(unlink(path), 0);
	expect_error(b, "pagesize.txt: missing");
	write_str(b, "pagesize.txt", "4096\n");
	write_str(b, "date.txt", "tomorrow\n");
	expect_error(b, "date.txt: time \"tomorrow\" not a number");
	write_str(b, "date.txt", "\n");
	expect_error(b, "date.txt: not \"EPOCH [+HHMM]\"");
	write_str(b, "date.txt", "1764165600 +0100\n");
	/* a header-less ipcs file */
	write_str(b, "ipcs-a.txt", "s 1 0 --rw------- 0 0 0 0 17 no-entry no-entry\n");
	expect_error(b, "ipcs-a.txt: no \"Shared Memory:\"");
	/* binary garbage as ipcs output */
	write_file(b, "ipcs-a.txt",
	           "\x7f"
	           "ELF\x02\x01\x01\0\0\0\xff\xfe\n\n\x01",
	           15);
	expect_error(b, "not ipcs -a output");
	/* a FIFO must not hang the collector */
	snprintf(path, sizeof(path), "%s/ipcs-a.txt", b);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_error(b, "ipcs-a.txt: not a regular file");
	assert_int_equal(unlink(path), 0);
	/* larger than COLLECT_FILE_MAX (sparse: nothing is read) */
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, (off_t)COLLECT_FILE_MAX + 1), 0);
		close(fd);
	}
	expect_error(b, "ipcs-a.txt: larger than 67108864 bytes");
	assert_int_equal(unlink(path), 0);
	rm_rf(b);
	free(b);
}

/* Broken optional inputs: warnings, and the snapshot still stands. */
static void
test_capture_warnings(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[256], path[512], *b = capture_base();

	(void)state;
	write_str(b, "ipcs-ma.txt", SHM_HDR SHM_ROW("     1", "    4097"));
	write_str(b, "ipcs-as.txt", "garbage\n");
	write_str(b, "uname.txt", "13.2-RELEASE\nsecond line\n");
	write_file(b, "sysctl-kern.ipc.txt", "kern.ipc.semmns: 340\n\x01\x02\n", 24);
	write_str(b, "jls.txt",
	          "jid=1 name=j1 sysvsem=new\njid=2 name=j/2 sysvsem=new\n"
	          "jid=3 name=off sysvshm=disable sysvsem=disable sysvmsg=disable\n");
	write_str(b, "ps.txt", "  PID JID UID COMMAND\n   22110   1   0 x\n");
	snprintf(path, sizeof(path), "%s/passwd", b);
	assert_int_equal(mkdir(path, 0700), 0); /* a directory where a file belongs */
	snprintf(path, sizeof(path), "%s/jail-j1", b);
	assert_int_equal(mkdir(path, 0700), 0);
	write_str(b, "jail-j1/ipcs-a.txt", "no sections here\n");

	if (run_capture(b, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	assert_string_equal(s.os_release, "");
	assert_int_equal(s.nobjects, 1);
	assert_int_equal(s.nscopes, 4);
	/* not in j1's view (it is not ipcs output), but its creator runs in jid 1 */
	assert_string_equal(s.scopes[s.objects[0].scope].id, "jail:j1");
	used_eq(&s, -1, "shmall", 2);
	limit_eq(&s.limits, "semmns", 340);
	warned(&w, "sysctl-kern.ipc.txt line 2:", "control character 0x01", NULL);
	warned(&w, "uname.txt: not one line", NULL);
	warned(&w, "/passwd: not a regular file", NULL);
	warned(&w, "ipcs-as.txt line 1:", "outside any section", NULL);
	warned(&w, "ipcs-as.txt: no ipcs section", NULL);
	warned(&w, "jail j1: jail-j1/ipcs-a.txt is not ipcs -a output", NULL);
	warned(&w, "jail-j1/ipcs-a.txt line 1:", "outside any section", NULL);
	warned(&w, "holds a \"/\"", NULL);
	/* kern.ipc has semaphore limits, so the kernel has semaphores: uncounted */
	warned(&w, "the ipcs files: no \"Semaphores:\" section", NULL);
	unknown_used(&s, -1, "semmns", "no \"Semaphores:\" section in the ipcs files");
	/*
	 * No msg limits and no msg section, but the listing is damaged (a line
	 * skipped): unknown, not a kernel without message queues; and semmni,
	 * beside the semmns that was read, unknown too.
	 */
	warned(&w, "no kern.ipc.shm* line in a damaged listing", NULL);
	warned(&w, "no kern.ipc.msg* line in a damaged listing", NULL);
	warned(&w, "no kern.ipc.semmni line in a damaged listing", "semmni is unknown", NULL);
	assert_string_equal(snapshot_unknown_why(&s, UNK_LIMIT, "semmni"),
	                    "no kern.ipc.semmni line in sysctl-kern.ipc.txt (a damaged listing)");
	assert_null(snapshot_unknown_why(&s, UNK_LIMIT, "semmns"));
	warned(&w, "the ipcs files: no \"Message Queues:\" section", NULL);
	unknown_used(&s, -1, "msgmni", "no \"Message Queues:\" section in the ipcs files");
	/* 13 above; the all-disabled jail is not looked at */
	assert_int_equal(w.total, 13);
	snapshot_free(&s);
	rm_rf(b);
	free(b);
}

/* ipcs-a.txt wins over the split files when both are there. */
static void
test_capture_prefers_full(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[256], *b = capture_base();

	(void)state;
	write_str(b, "ipcs-a.txt", SEM_HDR SEM_ROW("     1", "   17") "\n");
	write_str(b, "ipcs-as.txt", SEM_HDR SEM_ROW("     2", "   17") SEM_ROW("     3", "   1"));
	write_str(b, "ipcs-aq.txt", "Message Queues:\nT ID KEY MODE OWNER GROUP\n");
	if (run_capture(b, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	assert_int_equal(w.total, 0);
	assert_int_equal(s.nobjects, 1);
	assert_int_equal(s.objects[0].id, 1);
	assert_int_equal(s.objects[0].otime, MIDNIGHT - 86400 + 16 * 3600 + 26 * 60 + 50);
	snapshot_free(&s);
	rm_rf(b);
	free(b);
}

/*
 * The whole kern.ipc listing without msg limits, and no msg section: a
 * kernel without message queues (sysvmsg not loaded).  Nothing is unknown;
 * the same listing filtered to the SysV lines would leave them unknown.
 */
static void
test_capture_absent_facility(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	struct usage u;
	const struct usage_item *it;
	char err[256], *b = capture_base();

	(void)state;
	write_str(b, "ipcs-as.txt", SEM_HDR SEM_ROW("     2", "   17"));
	if (run_capture(b, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	print_warnings(&w);
	assert_int_equal(w.total, 0);
	used_eq(&s, -1, "semmns", 17);
	model_usage(&s, -1, &u);
	it = usage_of(&u, "msgmni");
	assert_int_equal(it->used, 0);
	assert_false(it->unknown_used);
	assert_false(it->has_limit);
	assert_string_equal(it->why, "");
	assert_null(snapshot_unknown_why(&s, UNK_LIMIT, "msgmni"));
	snapshot_free(&s);

	/* the same, filtered: the shm and msg figures become unknown */
	write_str(b, "sysctl-kern.ipc.txt", "kern.ipc.semmns: 340\nkern.ipc.semmni: 50\n");
	if (run_capture(b, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	assert_int_equal(w.total, 4);
	unknown_used(&s, -1, "msgmni", "no \"Message Queues:\" section");
	unknown_used(&s, -1, "shmmni", "no \"Shared Memory:\" section");
	assert_string_equal(snapshot_unknown_why(&s, UNK_LIMIT, "shmall"),
	                    "no kern.ipc.shm* line in sysctl-kern.ipc.txt (a partial listing)");
	used_eq(&s, -1, "semmns", 17);
	snapshot_free(&s);
	rm_rf(b);
	free(b);
}

/*
 * A listing cut short keeps its first line, kern.ipc.maxsockbuf, and loses
 * what came after: the semaphore limits after the cut are unknown, never
 * "no limit"; and a whole listing without semaphore limits beside an ipcs
 * section of semaphores proves no absence either.
 */
static void
test_capture_cut_listing(void **state)
{
	static const char cut[] = "kern.ipc.maxsockbuf: 2097152\n"
	                          "kern.ipc.sockbuf_waste_factor: 8\n"
	                          "kern.ipc.shmall: 131072\n"
	                          "kern.ipc.shmmni: 192\n"
	                          "kern.ipc.sem";
	struct snapshot s;
	struct collect_warnings w;
	struct usage u;
	const struct usage_item *it;
	char err[256], *b = capture_base();

	(void)state;
	write_str(b, "ipcs-a.txt", SEM_HDR SEM_ROW("     2", "   17"));
	write_str(b, "sysctl-kern.ipc.txt", cut);
	if (run_capture(b, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	warned(&w, "sysctl-kern.ipc.txt line 5:", NULL);
	warned(&w, "no kern.ipc.sem* line in a damaged listing", NULL);
	assert_string_equal(snapshot_unknown_why(&s, UNK_LIMIT, "semmns"),
	                    "no kern.ipc.sem* line in sysctl-kern.ipc.txt (a damaged listing)");
	model_usage(&s, -1, &u);
	it = usage_of(&u, "semmns");
	assert_int_equal(it->used, 17);
	assert_false(it->has_limit);
	assert_string_equal(it->why,
	                    "no kern.ipc.sem* line in sysctl-kern.ipc.txt (a damaged listing)");
	/* nor is there a kernel without message queues: unknown, not 0 */
	it = usage_of(&u, "msgmni");
	assert_true(it->unknown_used);
	assert_null(snapshot_unknown_why(&s, UNK_LIMIT, "shmall"));
	snapshot_free(&s);

	/* the same lines, ended: whole, yet ipcs shows semaphores */
	write_file(b, "sysctl-kern.ipc.txt", cut, sizeof(cut) - 1 - strlen("kern.ipc.sem"));
	if (run_capture(b, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	warned(&w, "sysctl-kern.ipc.txt: no kern.ipc.sem* line, yet ipcs shows the facility", NULL);
	assert_string_equal(snapshot_unknown_why(&s, UNK_LIMIT, "semmni"),
	                    "no kern.ipc.sem* line in sysctl-kern.ipc.txt, yet ipcs shows the "
	                    "facility");
	/* a whole listing without msg lines and no msg section: no message queues, 0 */
	model_usage(&s, -1, &u);
	it = usage_of(&u, "msgmni");
	assert_false(it->unknown_used);
	assert_int_equal(it->used, 0);
	snapshot_free(&s);
	rm_rf(b);
	free(b);
}

static void
test_not_freebsd_source(void **state)
{
	struct source src;
	struct snapshot s;
	struct collect_warnings w;
	char err[128];

	(void)state;
	memset(&src, 0, sizeof(src));
	memset(&w, 0, sizeof(w));
	src.kind = SRC_LINUX;
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(collect_freebsd(&src, &s, NULL, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a FreeBSD source"));
	snapshot_free(&s);
}

/*
 * A line of rctl output that is not a rule, or not resource=amount, is
 * quoted alone in its warning: not with the lines that follow it.
 */
static void
test_rctl_bad_line_quoted_alone(void **state)
{
	static const char usage[] = "bogus  \nshmsize=10\n";
	static const char rules[] = "jail:j1\njail:j1:shmsize:deny=10\n";
	struct fbsd_jails j = {0, NULL};
	struct collect_warnings w;
	struct scope_rctl r;
	struct snapshot s;

	(void)state;
	memset(&w, 0, sizeof(w));
	memset(&r, 0, sizeof(r));
	assert_int_equal(fbsd_parse_rctl_usage(usage, strlen(usage), "rctl-u.txt", &r, &w), 1);
	assert_int_equal(w.n, 1);
	assert_string_equal(w.v[0], "rctl-u.txt line 1: \"bogus\" is not resource=amount");
	assert_true((r.has_used & (1u << RCTL_SHMSIZE)) != 0);
	assert_int_equal(r.used[RCTL_SHMSIZE], 10);

	memset(&w, 0, sizeof(w));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(fbsd_parse_rctl_rules(rules, strlen(rules), "rctl.txt", &s, &j, &w), 0);
	assert_int_equal(w.n, 1);
	assert_string_equal(
	    w.v[0],
	    "rctl.txt line 1: \"jail:j1\" is not a rule (subject:id:resource:action=amount)");
	snapshot_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sorthat),
	    cmocka_unit_test(test_sorthat_mtime),
	    cmocka_unit_test(test_jails),
	    cmocka_unit_test(test_jails_no_passwd),
	    cmocka_unit_test(test_resolve_time),
	    cmocka_unit_test(test_mode),
	    cmocka_unit_test(test_sysctl),
	    cmocka_unit_test(test_pagesize),
	    cmocka_unit_test(test_idfile),
	    cmocka_unit_test(test_jls),
	    cmocka_unit_test(test_ps),
	    cmocka_unit_test(test_ipcs_bad_rows),
	    cmocka_unit_test(test_ipcs_headers),
	    cmocka_unit_test(test_ipcs_long_and_binary),
	    cmocka_unit_test(test_random_garbage),
	    cmocka_unit_test(test_snapshot_full),
	    cmocka_unit_test(test_attribution),
	    cmocka_unit_test(test_capture_errors),
	    cmocka_unit_test(test_capture_warnings),
	    cmocka_unit_test(test_capture_prefers_full),
	    cmocka_unit_test(test_capture_absent_facility),
	    cmocka_unit_test(test_capture_cut_listing),
	    cmocka_unit_test(test_not_freebsd_source),
	    cmocka_unit_test(test_rctl_bad_line_quoted_alone),
	};

	/* times in the tests are UTC-explicit; the collector never reads TZ for captures */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
