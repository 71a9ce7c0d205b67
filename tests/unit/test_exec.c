/*
 * test_exec.c: exec_capture's bounds (time, output, errors, reaping) and the
 * live FreeBSD collector run against fake sysctl/ipcs/jls/jexec/ps/pagesize/
 * uname scripts (tests/fixtures/fakebin) that print capture fixtures.
 */
#include <dirent.h>
#include <signal.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "collect.h"
#include "collect_freebsd.h"
#include "exec.h"
#include "model.h"
#include "util.h"

#define FAKEBIN FIXTURES "/fakebin"
#define SORTHAT FIXTURES "/freebsd-11-sorthat"
#define JAILS   FIXTURES "/freebsd-jails"
#define RCTL    FIXTURES "/freebsd-rctl"

/* ---- helpers ---- */

/* No child of ours is left, not even a zombie. */
static void
no_children(void)
{
	int st;
	pid_t r = waitpid(-1, &st, WNOHANG);

	if (r > 0)
		fail_msg("an unreaped child %d was left", (int)r);
	assert_true(r == 0 || (r == -1 && errno == ECHILD));
	if (r == 0)
		fail_msg("a child is still running");
}

static int
setup_path(void **state)
{
	static char path[4096];
	const char *old = getenv("PATH");

	(void)state;
	snprintf(path, sizeof(path), "%s:%s", FAKEBIN, old ? old : "/usr/bin:/bin");
	assert_int_equal(setenv("PATH", path, 1), 0);
	return 0;
}

static void
warned(const struct collect_warnings *w, const char *a, const char *b)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (strstr(w->v[i], a) != NULL && (b == NULL || strstr(w->v[i], b) != NULL))
			return;
	for (i = 0; i < w->n; i++)
		print_message("warning: %s\n", w->v[i]);
	fail_msg("no warning with \"%s\"", a);
}

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Copies the regular files of dir `from` into a new temporary directory. */
static char *
copy_dir(const char *from)
{
	char *d = strdup("/tmp/test_exec.XXXXXX"), src[1024], dst[1024];
	struct dirent *de;
	DIR *dp;

	assert_non_null(d);
	assert_non_null(mkdtemp(d));
	assert_non_null(dp = opendir(from));
	while ((de = readdir(dp)) != NULL) {
		struct stat st;
		char *buf;
		size_t len;
		FILE *fp;

		snprintf(src, sizeof(src), "%s/%s", from, de->d_name);
		if (stat(src, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		assert_int_equal(read_file_bounded(src, 1 << 20, &buf, &len), 0);
		snprintf(dst, sizeof(dst), "%s/%s", d, de->d_name);
		assert_non_null(fp = fopen(dst, "w"));
		assert_int_equal(fwrite(buf, 1, len, fp), len);
		assert_int_equal(fclose(fp), 0);
		free(buf);
	}
	closedir(dp);
	return d;
}

static int
run_live_pt(const char *fakedir, struct snapshot *s, struct proc_table *pt,
            struct collect_warnings *w, char *err, size_t errlen)
{
	struct source src;
	int r;

	memset(&src, 0, sizeof(src));
	src.kind = SRC_FREEBSD;
	memset(w, 0, sizeof(*w));
	assert_int_equal(setenv("IPCFLEET_FAKE_DIR", fakedir, 1), 0);
	assert_int_equal(snapshot_init(s), 0);
	err[0] = '\0';
	r = collect_freebsd(&src, s, pt, w, err, errlen);
	no_children();
	return r;
}

static int
run_live(const char *fakedir, struct snapshot *s, struct collect_warnings *w, char *err,
         size_t errlen)
{
	return run_live_pt(fakedir, s, NULL, w, err, errlen);
}

static void
used_eq(const struct snapshot *s, int scope, const char *name, uint64_t used)
{
	struct usage u;
	size_t i;

	model_usage(s, scope, &u);
	for (i = 0; i < u.n; i++) {
		if (strcmp(u.v[i].name, name) == 0) {
			if (u.v[i].used != used)
				fail_msg("scope %d %s used %ju, want %ju", scope, name,
				         (uintmax_t)u.v[i].used, (uintmax_t)used);
			return;
		}
	}
	fail_msg("usage %s absent", name);
}

static const struct ipc_object *
find_obj(const struct snapshot *s, enum ipc_type t, int64_t id)
{
	size_t i;

	for (i = 0; i < s->nobjects; i++)
		if (s->objects[i].type == t && s->objects[i].id == id)
			return &s->objects[i];
	fail_msg("%s id %lld not found", ipc_type_name(t), (long long)id);
	return NULL;
}

/* ---- exec_capture ---- */

static void
test_capture_output(void **state)
{
	char *argv[] = {"sh", "-c", "printf 'a\\000b\\n'; echo noise >&2", NULL};
	char *out, err[256];
	size_t len;

	(void)state;
	assert_int_equal(exec_capture(argv, 5000, 1024, &out, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "a\0b\n", 4);
	assert_int_equal(out[4], '\0');
	free(out);
	no_children();

	/* no output at all: an empty, NUL-terminated buffer */
	{
		char *av[] = {"true", NULL};

		assert_int_equal(exec_capture(av, 5000, 1024, &out, &len, err, sizeof(err)), 0);
		assert_int_equal(len, 0);
		assert_string_equal(out, "");
		free(out);
	}
	/* exactly the cap is allowed */
	{
		char *av[] = {"printf", "12345678", NULL};

		assert_int_equal(exec_capture(av, 5000, 8, &out, &len, err, sizeof(err)), 0);
		assert_int_equal(len, 8);
		assert_string_equal(out, "12345678");
		free(out);
		assert_int_equal(exec_capture(av, 5000, 7, &out, &len, err, sizeof(err)), -1);
		assert_null(out);
		assert_string_equal(err, "printf 12345678: output larger than 7 bytes");
	}
	/* stdin is /dev/null: cat ends at once */
	{
		char *av[] = {"cat", NULL};

		assert_int_equal(exec_capture(av, 5000, 8, &out, &len, err, sizeof(err)), 0);
		assert_int_equal(len, 0);
		free(out);
	}
	no_children();
}

/* Whether a process of group pgid other than a zombie is left. */
static int
group_alive(pid_t pgid)
{
	DIR *dp;
	struct dirent *de;
	int alive = 0;

	if (kill(-pgid, 0) == -1)
		return errno != ESRCH; /* ESRCH: none at all */
	if ((dp = opendir("/proc")) == NULL)
		return 1; /* no /proc to tell a zombie from a process: alive */
	while ((de = readdir(dp)) != NULL && !alive) {
		char p[300], *rp, state_c, *sbuf;
		size_t sl;
		long ppid, pgrp;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/stat", de->d_name);
		if (read_file_bounded(p, 512, &sbuf, &sl) != 0)
			continue;
		/* "pid (comm) S ppid pgrp ...": comm may hold blanks */
		rp = strrchr(sbuf, ')');
		if (rp != NULL && sscanf(rp + 1, " %c %ld %ld", &state_c, &ppid, &pgrp) == 3 &&
		    pgrp == (long)pgid && state_c != 'Z')
			alive = 1;
		free(sbuf);
	}
	closedir(dp);
	return alive;
}

static void
test_timeout(void **state)
{
	char *argv[] = {"hang", NULL}, *out = (char *)"x", err[256],
	     pidfile[] = "/tmp/test_exec.pid.XXXXXX";
	size_t len = 7;
	uint64_t t0, dt;
	char *buf;
	size_t blen;
	long pgid;
	int fd, i, alive = 1;

	(void)state;
	assert_true((fd = mkstemp(pidfile)) >= 0);
	close(fd);
	assert_int_equal(setenv("IPCFLEET_HANG_PIDFILE", pidfile, 1), 0);
	t0 = now_mono_ms();
	assert_int_equal(exec_capture(argv, 300, 1024, &out, &len, err, sizeof(err)), -1);
	dt = now_mono_ms() - t0;
	unsetenv("IPCFLEET_HANG_PIDFILE");
	assert_null(out);
	assert_int_equal(len, 0);
	assert_string_equal(err, "hang timed out after 300 ms");
	assert_true(dt >= 290);
	if (dt > 300 + 2000)
		fail_msg("took %ju ms for a 300 ms timeout", (uintmax_t)dt);
	no_children();

	/* the whole process group died, the sleep grandchild too */
	assert_int_equal(read_file_bounded(pidfile, 64, &buf, &blen), 0);
	pgid = strtol(buf, NULL, 10);
	free(buf);
	unlink(pidfile);
	assert_true(pgid > 1);
	/*
	 * kill(-pgid, 0) asks the kernel whether any process of the group is
	 * left, on every system.  A zombie counts there until its new parent
	 * reaps it; where /proc can tell, zombies (which hold nothing) are let
	 * be, as some containers' init never reaps.
	 */
	for (i = 0; i < 200 && alive; i++) {
		alive = group_alive((pid_t)pgid);
		if (alive)
			(void)poll(NULL, 0, 10);
	}
	if (alive)
		fail_msg("a process of group %ld survived the timeout", pgid);
}

static void
test_flood(void **state)
{
	char *argv[] = {"flood", NULL}, *out, err[256];
	size_t len;
	uint64_t t0 = now_mono_ms();

	(void)state;
	assert_int_equal(exec_capture(argv, 10000, 1024 * 1024, &out, &len, err, sizeof(err)), -1);
	assert_null(out);
	assert_string_equal(err, "flood: output larger than 1048576 bytes");
	assert_true(now_mono_ms() - t0 < 5000);
	no_children();
}

static void
test_errors(void **state)
{
	char *out, err[256];
	size_t len;

	(void)state;
	{
		char *av[] = {"no-such-program-ipcfleet", "-a", NULL};

		assert_int_equal(exec_capture(av, 5000, 1024, &out, &len, err, sizeof(err)), -1);
		assert_string_equal(err, "cannot run no-such-program-ipcfleet: not found in PATH");
		assert_null(out);
	}
	{
		char *av[] = {"/nonexistent/ipcs", NULL};

		assert_int_equal(exec_capture(av, 5000, 1024, &out, &len, err, sizeof(err)), -1);
		assert_string_equal(err, "cannot run /nonexistent/ipcs: No such file or directory");
	}
	{
		char *av[] = {FIXTURES "/freebsd-jails/jls.txt", NULL}; /* not executable */

		assert_int_equal(exec_capture(av, 5000, 1024, &out, &len, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "Permission denied"));
	}
	{
		char *av[] = {"fail", "x", NULL};

		assert_int_equal(exec_capture(av, 5000, 1024, &out, &len, err, sizeof(err)), -1);
		assert_string_equal(err, "fail x exited with status 3: fail: something went wrong");
	}
	{
		/* megabytes on stderr: drained, the first line kept */
		char *av[] = {"errflood", NULL};

		assert_int_equal(exec_capture(av, 10000, 1024, &out, &len, err, sizeof(err)), -1);
		assert_string_equal(err, "errflood exited with status 5: errflood: first");
	}
	{
		char *av[] = {"sh", "-c", "kill -9 $$", NULL};

		assert_int_equal(exec_capture(av, 5000, 1024, &out, &len, err, sizeof(err)), -1);
		assert_string_equal(err, "sh -c kill -9 $$ killed by signal 9");
	}
	{
		char *av[] = {"sh", "-c", "printf 'bad\\033[2J\\r\\nmore' >&2; exit 1", NULL};

		assert_int_equal(exec_capture(av, 5000, 1024, &out, &len, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "exited with status 1: bad?[2J"));
	}
	{
		char *av[] = {NULL};
		char *ok[] = {"true", NULL};

		assert_int_equal(exec_capture(av, 5000, 1024, &out, &len, err, sizeof(err)), -1);
		assert_int_equal(exec_capture(ok, 0, 1024, &out, &len, err, sizeof(err)), -1);
		assert_int_equal(exec_capture(ok, 5000, 0, &out, &len, err, sizeof(err)), -1);
	}
	no_children();
}

/* ---- the live collector through the fake tools ---- */

static void
test_live_sorthat(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[512];
	uint64_t bytes = 0, sems770 = 0;
	size_t i, nshm = 0, nsem = 0, sets770 = 0;
	uint64_t v;

	(void)state;
	if (run_live(SORTHAT, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	/* the fixture has no uname.txt: the fake uname fails, and that is all */
	assert_int_equal(w.total, 1);
	warned(&w, "uname -r exited with status 1: uname: no uname.txt", NULL);
	assert_string_equal(s.os, "FreeBSD");
	assert_string_equal(s.os_release, "");
	assert_int_equal(s.page_size, 4096);
	assert_int_equal(s.nscopes, 1);
	assert_int_equal(limits_get(&s.limits, "semmns", &v), 0);
	assert_int_equal(v, 340);
	assert_int_equal(limits_get(&s.limits, "semmni", &v), 0);
	assert_int_equal(v, 50);
	for (i = 0; i < s.nobjects; i++) {
		const struct ipc_object *o = &s.objects[i];

		if (o->type == IPC_SHM) {
			nshm++;
			bytes += o->size;
		} else if (o->type == IPC_SEM) {
			nsem++;
			if (o->uid == 770) {
				sets770++;
				sems770 += o->nsems;
			}
		}
	}
	assert_int_equal(nshm, 13);
	assert_int_equal(bytes, 1203825956);
	assert_int_equal(nsem, 16);
	assert_int_equal(sets770, 14);
	assert_int_equal(sems770, 238);
	used_eq(&s, -1, "shmall", 293906);
	used_eq(&s, -1, "semmns", 266);
	used_eq(&s, -1, "semmni", 16);
	snapshot_free(&s);
}

static void
test_live_jails(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[512];
	const struct ipc_object *o;
	int ipg, izbx;
	size_t i;

	struct proc_table pt;

	(void)state;
	memset(&pt, 0, sizeof(pt));
	if (run_live_pt(JAILS, &s, &pt, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	assert_int_equal(pt.valid, 1);
	assert_int_equal(pt.n, 13);
	proc_table_free(&pt);
	for (i = 0; i < w.n; i++)
		print_message("warning: %s\n", w.v[i]);
	assert_int_equal(w.total, 0);
	assert_string_equal(s.os_release, "11.1-RELEASE-p4");
	assert_int_equal(s.nscopes, 3);
	ipg = snapshot_find_scope(&s, "jail:pg");
	izbx = snapshot_find_scope(&s, "jail:zbx");
	assert_int_equal(ipg, 1);
	assert_int_equal(izbx, 2);
	assert_int_equal(s.scopes[ipg].iso[IPC_SEM], ISO_NEW);
	assert_int_equal(s.scopes[ipg].iso[IPC_MSG], ISO_DISABLE);
	assert_int_equal(s.scopes[izbx].iso[IPC_SHM], ISO_INHERIT);
	assert_int_equal(s.nobjects, 13);

	o = find_obj(&s, IPC_SHM, 65536);
	assert_int_equal(o->scope, ipg);
	assert_int_equal(o->key, 5432001);
	assert_string_equal(o->owner, "postgres");
	assert_string_equal(find_obj(&s, IPC_SHM, 65537)->owner, "zabbix");
	assert_int_equal(find_obj(&s, IPC_SEM, 65537)->scope, ipg);
	assert_int_equal(find_obj(&s, IPC_SEM, 65537)->key, 5432002);
	assert_int_equal(find_obj(&s, IPC_SHM, 65537)->scope, izbx);
	assert_int_equal(find_obj(&s, IPC_SHM, 65539)->scope, izbx);
	assert_int_equal(find_obj(&s, IPC_SHM, 131075)->key, 1001);
	assert_int_equal(find_obj(&s, IPC_SEM, 65538)->key, -1593835520);
	assert_int_equal(find_obj(&s, IPC_SHM, 65538)->scope, 0);
	assert_int_equal(find_obj(&s, IPC_SHM, 65541)->scope, 0);
	assert_int_equal(find_obj(&s, IPC_SEM, 65539)->scope, 0);
	o = find_obj(&s, IPC_SHM, 65540);
	assert_int_equal(o->scope, 0);
	assert_int_equal(o->uid, 0); /* "root", through getpwnam */
	assert_int_equal(o->gid, 5000);
	o = find_obj(&s, IPC_MSG, 65536);
	assert_int_equal(o->scope, 0);
	assert_true(o->stime > 0); /* against the clock: exact values in test_freebsd */

	used_eq(&s, ipg, "semmns", 34);
	used_eq(&s, izbx, "semmns", 14);
	used_eq(&s, izbx, "shmall", 4096 + 2049 + 1);
	used_eq(&s, 0, "shmall", 1026);
	used_eq(&s, -1, "semmns", 63);
	snapshot_free(&s);
}

/* ipcs -a fails (no msg module): the collector asks for -m, -s, -q one by one. */
static void
test_live_ipcs_fallback(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[512], path[1024], *d = copy_dir(SORTHAT);
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/ipcs-a.fail", d);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	if (run_live(d, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	assert_int_equal(w.total, 3);
	warned(&w, "ipcs -a exited with status 1", "trying ipcs -m, -s, -q one by one");
	warned(&w, "ipcs -q -a exited with status 1", NULL);
	warned(&w, "uname -r", NULL);
	assert_int_equal(s.nobjects, 29);
	used_eq(&s, -1, "semmns", 266);
	used_eq(&s, -1, "shmall", 293906);
	snapshot_free(&s);

	/* and when no ipcs works at all, the snapshot fails */
	snprintf(path, sizeof(path), "%s/ipcs-ma.txt", d);
	unlink(path);
	snprintf(path, sizeof(path), "%s/ipcs-as.txt", d);
	unlink(path);
	assert_int_equal(run_live(d, &s, &w, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ipcs failed: ipcs -s -a exited with status 1"));
	assert_int_equal(s.nobjects, 0);
	snapshot_free(&s);
	nftw(d, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(d);
}

static void
test_live_broken(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[512], path[1024], *d = copy_dir(SORTHAT);
	FILE *fp;

	(void)state;
	/* no sysctl output: the objects are counted, the limits are unknown */
	snprintf(path, sizeof(path), "%s/sysctl-kern.ipc.txt", d);
	unlink(path);
	if (run_live(d, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	used_eq(&s, -1, "semmns", 266);
	{
		struct usage u;
		size_t i;

		model_usage(&s, -1, &u);
		for (i = 0; i < u.n; i++) {
			if (strcmp(u.v[i].name, "semmns") != 0)
				continue;
			assert_int_equal(u.v[i].has_limit, 0);
			assert_non_null(strstr(u.v[i].why, "sysctl kern.ipc exited with status 1"));
		}
	}
	snapshot_free(&s);

	/* pagesize prints junk: an error, not a guess */
	assert_non_null(fp = fopen(path, "w"));
	fputs("kern.ipc.semmns: 340\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/pagesize.txt", d);
	assert_non_null(fp = fopen(path, "w"));
	fputs("4097\n", fp);
	fclose(fp);
	assert_int_equal(run_live(d, &s, &w, err, sizeof(err)), -1);
	assert_string_equal(err, "pagesize: \"4097\" is not a power of two from 512 to 1048576");
	snapshot_free(&s);

	/* pagesize fails: the running system's page size instead, with a warning */
	unlink(path);
	assert_int_equal(run_live(d, &s, &w, err, sizeof(err)), 0);
	assert_int_equal(s.page_size, (uint32_t)sysconf(_SC_PAGESIZE));
	warned(&w, "pagesize exited with status 1", "from sysconf");
	snapshot_free(&s);
	nftw(d, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(d);
}

static void
copy_file(const char *from, const char *to)
{
	char *buf;
	size_t len;
	FILE *fp;

	assert_int_equal(read_file_bounded(from, 1 << 20, &buf, &len), 0);
	assert_non_null(fp = fopen(to, "w"));
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	free(buf);
}

/*
 * A jail's root user can plant symbolic links in its /etc: the live
 * collector does not follow them (they would resolve on the host).
 */
static void
test_live_jail_symlinks(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	char err[512], p[1024], q[1024], *d = copy_dir(JAILS);
	const char *mk[] = {"jail-pg",       "jail-zbx",          "root",          "root/jails",
	                    "root/jails/pg", "root/jails/pg/etc", "root/jails/zbx"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(mk) / sizeof(mk[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", d, mk[i]);
		assert_int_equal(mkdir(p, 0700), 0);
	}
	for (i = 0; i < 2; i++) {
		const char *j = i ? "zbx" : "pg";

		snprintf(p, sizeof(p), "%s/jail-%s/ipcs-a.txt", JAILS, j);
		snprintf(q, sizeof(q), "%s/jail-%s/ipcs-a.txt", d, j);
		copy_file(p, q);
	}
	snprintf(p, sizeof(p), "%s/root/jails/pg/etc/group", JAILS);
	snprintf(q, sizeof(q), "%s/root/jails/pg/etc/group", d);
	copy_file(p, q);
	snprintf(q, sizeof(q), "%s/root/jails/pg/etc/passwd", d);
	assert_int_equal(symlink("/etc/passwd", q), 0);
	snprintf(p, sizeof(p), "%s/root/jails/zbx/etc", JAILS);
	snprintf(q, sizeof(q), "%s/root/jails/zbx/etc", d);
	assert_int_equal(symlink(p, q), 0);

	if (run_live(d, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	warned(&w, "jail pg: ", "/root/jails/pg/etc/passwd: Too many levels of symbolic links");
	warned(&w, "jail zbx: ",
	       "/root/jails/zbx/etc: Not a directory (symbolic links are not followed)");
	/* names that then stay unknown: pg's OWNER/CREATOR "postgres" (3 rows; its
	 * group file was read), zbx's 32 names; the host's numbers still hold */
	assert_int_equal(w.total, 3 + 6 + 32);
	assert_int_equal(find_obj(&s, IPC_SHM, 65536)->key, 5432001);
	assert_int_equal(find_obj(&s, IPC_SHM, 65536)->uid, 770);
	assert_int_equal(find_obj(&s, IPC_SEM, 65538)->key, -1593835520);
	assert_int_equal(find_obj(&s, IPC_SEM, 65538)->uid, 122);
	snapshot_free(&s);
	nftw(d, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(d);
}

/* Copies the regular files of from into dir d. */
static void
copy_into(const char *d, const char *from)
{
	char *tmp = copy_dir(from), cmd[2048];

	snprintf(cmd, sizeof(cmd), "cp %s/* %s/ && rm -r %s", tmp, d, tmp);
	assert_int_equal(system(cmd), 0);
	free(tmp);
}

static size_t
racct_off_findings(const struct snapshot *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nfindings; i++) {
		if (s->findings[i].kind != FK_ISOLATION || s->findings[i].scope[0] != '\0')
			continue;
		assert_int_equal(s->findings[i].severity, SEV_INFO);
		assert_string_equal(
		    s->findings[i].message,
		    "jails draw on the host's SysV IPC pools with no limits of their "
		    "own: per-jail limits (rctl) need kern.racct.enable=1 in "
		    "/boot/loader.conf and a reboot");
		n++;
	}
	return n;
}

/* The rules and usage of tests/fixtures/freebsd-rctl, in the jails' scopes. */
static void
rctl_check(const struct snapshot *s)
{
	const struct scope_rctl *pg, *zbx;
	int ipg = snapshot_find_scope(s, "jail:pg"), izbx = snapshot_find_scope(s, "jail:zbx");

	assert_true(ipg > 0 && izbx > 0);
	pg = &s->scopes[ipg].rctl;
	zbx = &s->scopes[izbx].rctl;
	/* deny rules per jail only: the smaller of two nsem rules; log and maxproc left */
	assert_int_equal(pg->has_limit, 1u << RCTL_NSEM | 1u << RCTL_NSHM);
	assert_int_equal(pg->limit[RCTL_NSEM], 40);
	assert_int_equal(pg->limit[RCTL_NSHM], 10);
	assert_int_equal(pg->has_used, (1u << RCTL_COUNT) - 1);
	assert_int_equal(pg->used[RCTL_NSEM], 34);
	assert_int_equal(pg->used[RCTL_NSHM], 1);
	assert_int_equal(pg->used[RCTL_SHMSIZE], 48);
	/* nmsgq per process is no per-jail limit; "1K" (rctl -h) is skipped */
	assert_int_equal(zbx->has_limit, 1u << RCTL_SHMSIZE);
	assert_int_equal(zbx->limit[RCTL_SHMSIZE], 1073741824);
	assert_int_equal(zbx->used[RCTL_NSEM], 14);
	assert_int_equal(zbx->used[RCTL_SHMSIZE], 25166825);
	assert_int_equal(s->scopes[0].rctl.has_limit | s->scopes[0].rctl.has_used, 0);
}

/*
 * FreeBSD racct through rctl(8) (fake tools on PATH, and the same output
 * captured): with kern.racct.enable=1 each jail's deny rules and usage;
 * without it one info finding that says how to get per-jail limits.
 */
static void
test_rctl(void **state)
{
	struct snapshot s;
	struct collect_warnings w;
	struct source src;
	struct proc_table pt = {0};
	char err[512], path[1024], spec[1100], *d = copy_dir(JAILS);
	FILE *fp;

	(void)state;
	copy_into(d, RCTL);
	if (run_live(d, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	rctl_check(&s);
	warned(&w, "rctl line 10: amount \"1K\"", "(rctl -h output?), skipped");
	assert_int_equal(racct_off_findings(&s), 0);
	snapshot_free(&s);

	/* the same, captured */
	snprintf(spec, sizeof(spec), "freebsd-capture:%s", d);
	assert_int_equal(source_parse(spec, &src, err, sizeof(err)), 0);
	assert_int_equal(snapshot_init(&s), 0);
	memset(&w, 0, sizeof(w));
	if (collect(&src, &s, &pt, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	rctl_check(&s);
	warned(&w, "rctl.txt line 10: amount \"1K\"", NULL);
	assert_int_equal(racct_off_findings(&s), 0);
	snapshot_free(&s);
	proc_table_free(&pt);

	/* a jail whose usage cannot be read: its usage unknown, its rules kept */
	snprintf(path, sizeof(path), "%s/rctl-u-zbx.txt", d);
	assert_int_equal(unlink(path), 0);
	if (run_live(d, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	warned(&w, "jail zbx: rctl -u jail:zbx exited with status 1", "its rctl usage is unknown");
	assert_int_equal(s.scopes[snapshot_find_scope(&s, "jail:zbx")].rctl.has_used, 0);
	assert_int_equal(s.scopes[snapshot_find_scope(&s, "jail:zbx")].rctl.has_limit,
	                 1u << RCTL_SHMSIZE);
	snapshot_free(&s);

	/* racct off: no rule is read, the finding is made once */
	snprintf(path, sizeof(path), "%s/racct-enable.txt", d);
	assert_non_null(fp = fopen(path, "w"));
	fputs("0\n", fp);
	fclose(fp);
	if (run_live(d, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	assert_int_equal(racct_off_findings(&s), 1);
	assert_int_equal(s.scopes[1].rctl.has_limit | s.scopes[2].rctl.has_limit, 0);
	snapshot_free(&s);
	/* a kernel without RACCT (no such sysctl): the same */
	assert_int_equal(unlink(path), 0);
	if (run_live(d, &s, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	assert_int_equal(racct_off_findings(&s), 1);
	snapshot_free(&s);
	/* a capture without rctl.txt says nothing about racct */
	snprintf(path, sizeof(path), "%s/rctl.txt", d);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(snapshot_init(&s), 0);
	if (collect(&src, &s, NULL, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	assert_int_equal(racct_off_findings(&s), 0);
	assert_int_equal(s.scopes[1].rctl.has_limit | s.scopes[1].rctl.has_used, 0);
	snapshot_free(&s);
	nftw(d, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_capture_output),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_flood),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_live_sorthat),
	    cmocka_unit_test(test_live_jails),
	    cmocka_unit_test(test_live_ipcs_fallback),
	    cmocka_unit_test(test_live_broken),
	    cmocka_unit_test(test_live_jail_symlinks),
	    cmocka_unit_test(test_rctl),
	};

	return cmocka_run_group_tests(tests, setup_path, NULL);
}
