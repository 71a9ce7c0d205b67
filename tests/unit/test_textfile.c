/*
 * test_textfile.c: the node_exporter textfile (agent/textfile.c) and the
 * Prometheus text writer under it (common/prom.c): the exact text for a
 * snapshot built in C (a host, a jail on its pool, an IPC namespace with
 * its own limits, an unknown figure, findings, label values that must be
 * escaped), and the file's writing: atomic, mode 0644 whatever the umask,
 * refused in a directory that is a link, writable by others or someone
 * else's.
 */
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

#include "buf.h"
#include "model.h"
#include "prom.h"
#include "textfile.h"
#include "util.h"

#define T_TAKEN 1795701540 /* 2026-11-26T13:59:00Z */

static struct ipc_object *
add(struct snapshot *s, enum ipc_type t, uint32_t scope, uint64_t size_or_nsems)
{
	struct ipc_object *o = snapshot_add_object(s);

	assert_non_null(o);
	o->type = t;
	o->id = (int64_t)s->nobjects;
	o->scope = scope;
	o->mode = 0600;
	if (t == IPC_SEM)
		o->nsems = size_or_nsems;
	else if (t == IPC_SHM)
		o->size = size_or_nsems;
	return o;
}

static void
add_finding(struct snapshot *s, enum finding_kind k, enum severity v)
{
	struct finding *f = snapshot_add_finding(s);

	assert_non_null(f);
	f->kind = k;
	f->severity = v;
}

/*
 * db7: semmns 340, semmni 128, shmall 1000, shmmni 4096, msgmni 0 (a
 * limit of 0: no ratio), semopm 100 (not countable: not exported); its
 * message queues could not be listed (msgmni's use unknown).  A jail "web"
 * on the host's pool; an IPC namespace with limits of its own and a name
 * with a quote.  The release carries a quote, a backslash, a newline and a
 * byte that is not UTF-8.
 */
static void
build(struct snapshot *s)
{
	struct ipc_scope *sc;

	assert_int_equal(snapshot_init(s), 0);
	s->taken = T_TAKEN;
	s->page_size = 4096;
	ifl_strlcpy(s->os, "Linux", sizeof(s->os));
	ifl_strlcpy(s->os_release, "6.1.0-\"q\"\\b\n\xff", sizeof(s->os_release));
	assert_int_equal(limits_set(&s->limits, "semmns", 340), 0);
	assert_int_equal(limits_set(&s->limits, "semmni", 128), 0);
	assert_int_equal(limits_set(&s->limits, "semopm", 100), 0);
	assert_int_equal(limits_set(&s->limits, "shmall", 1000), 0);
	assert_int_equal(limits_set(&s->limits, "shmmni", 4096), 0);
	assert_int_equal(limits_set(&s->limits, "msgmni", 0), 0);
	assert_int_equal(snapshot_unknown(s, UNK_USED, "msgmni", "ipcs -q failed"), 0);
	assert_non_null(sc = snapshot_add_scope(s, "jail:web", "web", SCOPE_JAIL));
	assert_non_null(
	    sc = snapshot_add_scope(s, "ipcns:4026532300", "pid 42 post\"gres", SCOPE_IPCNS));
	sc->own_limits = 1;
	assert_int_equal(limits_set(&sc->limits, "semmns", 32000), 0);
	assert_int_equal(limits_set(&sc->limits, "semmni", 32000), 0);
	assert_int_equal(limits_set(&sc->limits, "shmall", 2097152), 0);
	assert_int_equal(limits_set(&sc->limits, "shmmni", 4096), 0);
	assert_int_equal(limits_set(&sc->limits, "msgmni", 32000), 0);
	/* in the order a collector may give them: scopes mixed */
	add(s, IPC_SEM, 2, 5);
	add(s, IPC_SEM, 0, 17);
	add(s, IPC_SHM, 0, 1048577); /* 257 pages */
	add(s, IPC_SHM, 2, 8192);    /* 2 pages */
	add(s, IPC_SEM, 1, 17);
	add(s, IPC_MSG, 2, 0);
	add_finding(s, FK_ORPHAN, SEV_WARN);
	add_finding(s, FK_ORPHAN, SEV_WARN);
	add_finding(s, FK_ORPHAN, SEV_INFO);
	add_finding(s, FK_ISOLATION, SEV_WARN);
	add_finding(s, FK_REMOVEIPC_RISK, SEV_WARN); /* found, though not "looked for" */
}

/* clang-format off */
static const char expected[] =
"# HELP ipcfleet_build_info Constant 1; the version label says which.\n"
"# TYPE ipcfleet_build_info gauge\n"
"ipcfleet_build_info{version=\"" IPCFLEET_VERSION "\"} 1\n"
"# HELP ipcfleet_host_info Constant 1 per known host; labels carry its OS, release and agent version.\n"
"# TYPE ipcfleet_host_info gauge\n"
"ipcfleet_host_info{host=\"db7\",os=\"Linux\",os_release=\"6.1.0-\\\"q\\\"\\\\b??\",agent=\"ipcfleet-agent " IPCFLEET_VERSION "\"} 1\n"
"# HELP ipcfleet_host_last_seen_seconds Unix time at which the host's latest snapshot was taken (the agent's clock).\n"
"# TYPE ipcfleet_host_last_seen_seconds gauge\n"
"ipcfleet_host_last_seen_seconds{host=\"db7\"} 1795701540\n"
"# HELP ipcfleet_limit_value Value of each countable IPC limit the host reported (kernel units).\n"
"# TYPE ipcfleet_limit_value gauge\n"
"ipcfleet_limit_value{host=\"db7\",limit=\"semmns\"} 340\n"
"ipcfleet_limit_value{host=\"db7\",limit=\"semmni\"} 128\n"
"ipcfleet_limit_value{host=\"db7\",limit=\"shmall\"} 1000\n"
"ipcfleet_limit_value{host=\"db7\",limit=\"shmmni\"} 4096\n"
"ipcfleet_limit_value{host=\"db7\",limit=\"msgmni\"} 0\n"
"# HELP ipcfleet_limit_used Amount of a countable IPC limit in use in the host's pool (kernel units).\n"
"# TYPE ipcfleet_limit_used gauge\n"
"ipcfleet_limit_used{host=\"db7\",limit=\"semmns\"} 34\n"
"ipcfleet_limit_used{host=\"db7\",limit=\"semmni\"} 2\n"
"ipcfleet_limit_used{host=\"db7\",limit=\"shmall\"} 257\n"
"ipcfleet_limit_used{host=\"db7\",limit=\"shmmni\"} 1\n"
"# HELP ipcfleet_limit_ratio Used divided by the limit, 0 to 1 (1 when the limit is 0: nothing more fits; absent when unknown).\n"
"# TYPE ipcfleet_limit_ratio gauge\n"
"ipcfleet_limit_ratio{host=\"db7\",limit=\"semmns\"} 0.1\n"
"ipcfleet_limit_ratio{host=\"db7\",limit=\"semmni\"} 0.015625\n"
"ipcfleet_limit_ratio{host=\"db7\",limit=\"shmall\"} 0.257\n"
"ipcfleet_limit_ratio{host=\"db7\",limit=\"shmmni\"} 0.000244140625\n"
"# HELP ipcfleet_limit_unknown 1 for each countable limit whose use or value the agent could not read (its used and ratio series are then absent, never 0).\n"
"# TYPE ipcfleet_limit_unknown gauge\n"
"ipcfleet_limit_unknown{host=\"db7\",limit=\"msgmni\"} 1\n"
"# HELP ipcfleet_scope_info Constant 1 per scope (the host, a jail, an IPC namespace); labels carry its kind and name.\n"
"# TYPE ipcfleet_scope_info gauge\n"
"ipcfleet_scope_info{host=\"db7\",scope=\"host\",kind=\"host\",name=\"host\"} 1\n"
"ipcfleet_scope_info{host=\"db7\",scope=\"jail:web\",kind=\"jail\",name=\"web\"} 1\n"
"ipcfleet_scope_info{host=\"db7\",scope=\"ipcns:4026532300\",kind=\"ipcns\",name=\"pid 42 post\\\"gres\"} 1\n"
"# HELP ipcfleet_scope_limit_value Value of each countable IPC limit a scope is measured against: its own (an IPC namespace) or the host's (a jail, the host itself).\n"
"# TYPE ipcfleet_scope_limit_value gauge\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"host\",limit=\"semmns\"} 340\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"host\",limit=\"semmni\"} 128\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"host\",limit=\"shmall\"} 1000\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"host\",limit=\"shmmni\"} 4096\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"host\",limit=\"msgmni\"} 0\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"jail:web\",limit=\"semmns\"} 340\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"jail:web\",limit=\"semmni\"} 128\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"jail:web\",limit=\"shmall\"} 1000\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"jail:web\",limit=\"shmmni\"} 4096\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"jail:web\",limit=\"msgmni\"} 0\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"semmns\"} 32000\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"semmni\"} 32000\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"shmall\"} 2097152\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"shmmni\"} 4096\n"
"ipcfleet_scope_limit_value{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"msgmni\"} 32000\n"
"# HELP ipcfleet_scope_limit_used Amount of a countable IPC limit the objects of one scope hold (kernel units).\n"
"# TYPE ipcfleet_scope_limit_used gauge\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"host\",limit=\"semmns\"} 17\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"host\",limit=\"semmni\"} 1\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"host\",limit=\"shmall\"} 257\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"host\",limit=\"shmmni\"} 1\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"jail:web\",limit=\"semmns\"} 17\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"jail:web\",limit=\"semmni\"} 1\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"jail:web\",limit=\"shmall\"} 0\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"jail:web\",limit=\"shmmni\"} 0\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"semmns\"} 5\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"semmni\"} 1\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"shmall\"} 2\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"shmmni\"} 1\n"
"ipcfleet_scope_limit_used{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"msgmni\"} 1\n"
"# HELP ipcfleet_scope_limit_ratio A scope's use divided by its limit, 0 to 1 (1 when the limit is 0: nothing more fits; absent when unknown).\n"
"# TYPE ipcfleet_scope_limit_ratio gauge\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"host\",limit=\"semmns\"} 0.05\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"host\",limit=\"semmni\"} 0.0078125\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"host\",limit=\"shmall\"} 0.257\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"host\",limit=\"shmmni\"} 0.000244140625\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"jail:web\",limit=\"semmns\"} 0.05\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"jail:web\",limit=\"semmni\"} 0.0078125\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"jail:web\",limit=\"shmall\"} 0\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"jail:web\",limit=\"shmmni\"} 0\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"semmns\"} 0.00015625\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"semmni\"} 3.125e-05\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"shmall\"} 9.5367431640625e-07\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"shmmni\"} 0.000244140625\n"
"ipcfleet_scope_limit_ratio{host=\"db7\",scope=\"ipcns:4026532300\",limit=\"msgmni\"} 3.125e-05\n"
"# HELP ipcfleet_scope_limit_unknown 1 for each countable limit of a scope whose use or value the agent could not read (its used and ratio series are then absent, never 0).\n"
"# TYPE ipcfleet_scope_limit_unknown gauge\n"
"ipcfleet_scope_limit_unknown{host=\"db7\",scope=\"host\",limit=\"msgmni\"} 1\n"
"ipcfleet_scope_limit_unknown{host=\"db7\",scope=\"jail:web\",limit=\"msgmni\"} 1\n"
"# HELP ipcfleet_objects System V IPC objects of each type in every scope of the host (absent when some scope's could not be listed).\n"
"# TYPE ipcfleet_objects gauge\n"
"ipcfleet_objects{host=\"db7\",type=\"shm\"} 2\n"
"ipcfleet_objects{host=\"db7\",type=\"sem\"} 3\n"
"# HELP ipcfleet_findings The agent's findings in its latest snapshot, by kind and severity (kinds it did not look for are absent).\n"
"# TYPE ipcfleet_findings gauge\n"
"ipcfleet_findings{host=\"db7\",kind=\"orphan\",severity=\"info\"} 1\n"
"ipcfleet_findings{host=\"db7\",kind=\"orphan\",severity=\"warn\"} 2\n"
"ipcfleet_findings{host=\"db7\",kind=\"orphan\",severity=\"crit\"} 0\n"
"ipcfleet_findings{host=\"db7\",kind=\"isolation\",severity=\"info\"} 0\n"
"ipcfleet_findings{host=\"db7\",kind=\"isolation\",severity=\"warn\"} 1\n"
"ipcfleet_findings{host=\"db7\",kind=\"isolation\",severity=\"crit\"} 0\n"
"ipcfleet_findings{host=\"db7\",kind=\"incomplete\",severity=\"info\"} 0\n"
"ipcfleet_findings{host=\"db7\",kind=\"incomplete\",severity=\"warn\"} 0\n"
"ipcfleet_findings{host=\"db7\",kind=\"incomplete\",severity=\"crit\"} 0\n"
"ipcfleet_findings{host=\"db7\",kind=\"removeipc_risk\",severity=\"warn\"} 1\n";
/* clang-format on */

#define KINDS                                                                                      \
	(TEXTFILE_KIND(FK_ORPHAN) | TEXTFILE_KIND(FK_ISOLATION) | TEXTFILE_KIND(FK_INCOMPLETE))

static void
test_render_exact(void **state)
{
	struct snapshot s;
	struct buf out;

	(void)state;
	build(&s);
	buf_init(&out, TEXTFILE_MAX);
	assert_int_equal(textfile_render(&out, "db7", &s, KINDS), 0);
	assert_non_null(buf_cstr(&out));
	assert_string_equal(out.data, expected);
	buf_free(&out);
	snapshot_free(&s);
}

/* One scope, no objects: the path that measures scopes without grouping. */
static void
test_render_one_scope(void **state)
{
	struct snapshot s;
	struct buf out;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	s.page_size = 4096;
	assert_int_equal(limits_set(&s.limits, "semmni", 10), 0);
	buf_init(&out, TEXTFILE_MAX);
	assert_int_equal(textfile_render(&out, "h", &s, 0), 0);
	assert_non_null(buf_cstr(&out));
	assert_non_null(strstr(out.data, "\nipcfleet_scope_limit_used{host=\"h\",scope=\"host\","
	                                 "limit=\"semmni\"} 0\n"));
	assert_non_null(strstr(out.data, "\nipcfleet_objects{host=\"h\",type=\"msg\"} 0\n"));
	/* not taken: no time; no kind looked for: no findings */
	assert_null(strstr(out.data, "\nipcfleet_host_last_seen_seconds{"));
	assert_null(strstr(out.data, "\nipcfleet_findings{"));
	buf_free(&out);
	snapshot_free(&s);
}

/* A text larger than the bound fails, never cut. */
static void
test_render_bounded(void **state)
{
	struct snapshot s;
	struct buf out;

	(void)state;
	build(&s);
	buf_init(&out, 1024);
	assert_int_equal(textfile_render(&out, "db7", &s, KINDS), -1);
	assert_true(buf_failed(&out));
	buf_free(&out);
	snapshot_free(&s);
}

static void
label_is(const char *in, const char *want)
{
	struct buf b;

	buf_init(&b, 1024);
	prom_label(&b, in);
	assert_non_null(buf_cstr(&b));
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void
test_prom_label(void **state)
{
	(void)state;
	label_is("plain", "plain");
	label_is("a\\b", "a\\\\b");
	label_is("say \"hi\"", "say \\\"hi\\\"");
	label_is("two\nlines", "two?lines");
	label_is("tab\there\r", "tab?here?");
	label_is("del\x7f", "del?");
	label_is("c1 \xc2\x9b csi", "c1 ? csi");                  /* U+009B, a C1 control */
	label_is("caf\xc3\xa9 \xc2\xa0", "caf\xc3\xa9 \xc2\xa0"); /* é and NBSP stay */
	label_is("bad \xff\xfe end", "bad ?? end");
	label_is("cut \xe2\x82", "cut ?");                       /* a truncated sequence */
	label_is("over \xc0\xaf", "over ??");                    /* overlong '/' */
	label_is("\xe2\x9c\x93 ok", "\xe2\x9c\x93 ok");          /* a check mark */
	label_is("rtl \xe2\x80\xae override", "rtl ? override"); /* U+202E: invisible */
	label_is("zw\xe2\x80\x8bsp", "zw?sp");                   /* U+200B */
}

static void
test_prom_sample(void **state)
{
	const char *l[] = {"a", "x\"y", "b", "2", NULL};
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	prom_sample_u64(&b, "m", NULL, 18446744073709551615ULL);
	prom_sample_u64(&b, "m", l, 7);
	prom_sample_f64(&b, "r", l, 1.0 / 3.0);
	assert_non_null(buf_cstr(&b));
	assert_string_equal(b.data, "m 18446744073709551615\n"
	                            "m{a=\"x\\\"y\",b=\"2\"} 7\n"
	                            "r{a=\"x\\\"y\",b=\"2\"} 0.333333333333333\n");
	buf_free(&b);
}

/* A limit of 0: nothing more fits, ratio 1 (usage_pct's 100 %), not absent. */
static void
test_prom_limit_zero(void **state)
{
	struct buf fam[PROM_LIMIT_COUNT];
	struct usage u;
	size_t i;

	(void)state;
	memset(&u, 0, sizeof(u));
	u.n = 1;
	u.v[0] = (struct usage_item){.name = "shmmni", .used = 5, .limit = 0, .has_limit = 1};
	for (i = 0; i < PROM_LIMIT_COUNT; i++)
		buf_init(&fam[i], 256);
	prom_usage(fam, "ipcfleet_", NULL, &u);
	assert_non_null(buf_cstr(&fam[PROM_LIMIT_RATIO]));
	assert_string_equal(fam[PROM_LIMIT_RATIO].data,
	                    "ipcfleet_limit_ratio{limit=\"shmmni\"} 1\n");
	for (i = 0; i < PROM_LIMIT_COUNT; i++)
		buf_free(&fam[i]);
}

/* ---- the file ---- */

static char tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	ifl_strlcpy(tmpdir, "/tmp/test_textfile.XXXXXX", sizeof(tmpdir));
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
text_of(struct buf *b, const char *s)
{
	buf_init(b, 1024);
	buf_puts(b, s);
}

static void
test_write(void **state)
{
	char path[128], *got = NULL, err[512];
	struct stat st;
	struct buf t;
	size_t len;
	mode_t old;

	(void)state;
	snprintf(path, sizeof(path), "%s/" TEXTFILE_NAME, tmpdir);
	/* the agent's unit runs with UMask=0077: node_exporter must still read it */
	old = umask(077);
	text_of(&t, "m 1\n");
	assert_int_equal(textfile_write(tmpdir, &t, err, sizeof(err)), 0);
	buf_free(&t);
	text_of(&t, "m 2\n");
	assert_int_equal(textfile_write(tmpdir, &t, err, sizeof(err)), 0);
	buf_free(&t);
	umask(old);
	assert_int_equal(read_file_bounded(path, 1024, &got, &len), 0);
	assert_string_equal(got, "m 2\n");
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	/* no temporary left */
	snprintf(path, sizeof(path), "%s/.ipcfleet.prom.tmp", tmpdir);
	assert_int_equal(access(path, F_OK), -1);
}

/* A temporary a crash left (or a link planted in its name) is replaced, never followed. */
static void
test_write_leftover(void **state)
{
	char tmp[128], victim[128], path[128], err[512], *got = NULL;
	struct buf t;
	size_t len;
	FILE *fp;

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", tmpdir);
	assert_non_null(fp = fopen(victim, "w"));
	fputs("keep\n", fp);
	fclose(fp);
	snprintf(tmp, sizeof(tmp), "%s/.ipcfleet.prom.tmp", tmpdir);
	assert_int_equal(symlink(victim, tmp), 0);
	text_of(&t, "m 3\n");
	assert_int_equal(textfile_write(tmpdir, &t, err, sizeof(err)), 0);
	buf_free(&t);
	assert_int_equal(read_file_bounded(victim, 1024, &got, &len), 0);
	assert_string_equal(got, "keep\n");
	free(got);
	snprintf(path, sizeof(path), "%s/" TEXTFILE_NAME, tmpdir);
	assert_int_equal(read_file_bounded(path, 1024, &got, &len), 0);
	assert_string_equal(got, "m 3\n");
	free(got);
}

static void
refused(const char *dir, const char *why)
{
	char err[512];
	struct buf t;

	text_of(&t, "m 1\n");
	assert_int_equal(textfile_write(dir, &t, err, sizeof(err)), -1);
	if (strstr(err, why) == NULL)
		fail_msg("'%s' does not say '%s'", err, why);
	assert_int_equal(textfile_check(dir, err, sizeof(err)), -1);
	buf_free(&t);
}

static void
test_refusals(void **state)
{
	char link[128], open_dir[128], missing[128], err[512], prom[160];

	(void)state;
	/* a symbolic link to a good directory */
	snprintf(link, sizeof(link), "%s/link", tmpdir);
	assert_int_equal(symlink(tmpdir, link), 0);
	refused(link, "is a symbolic link: refused");
	/* with a trailing slash too */
	ifl_strlcat(link, "/", sizeof(link));
	refused(link, "is a symbolic link: refused");
	/* writable by group, by others */
	snprintf(open_dir, sizeof(open_dir), "%s/open", tmpdir);
	assert_int_equal(mkdir(open_dir, 0700), 0);
	assert_int_equal(chmod(open_dir, 0770), 0);
	refused(open_dir, "writable by group or others (mode 0770)");
	assert_int_equal(chmod(open_dir, 01777), 0);
	refused(open_dir, "writable by group or others (mode 1777)");
	snprintf(prom, sizeof(prom), "%s/" TEXTFILE_NAME, open_dir);
	assert_int_equal(access(prom, F_OK), -1);
	/* someone else's (only root can make one) */
	assert_int_equal(chmod(open_dir, 0755), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(open_dir, 65534, 65534), 0);
		refused(open_dir, "belongs to uid 65534, not to this agent (uid 0)");
	}
	snprintf(missing, sizeof(missing), "%s/missing", tmpdir);
	refused(missing, "No such file or directory");
	refused("", "not a directory name");
	assert_int_equal(textfile_check(tmpdir, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render_exact),
	    cmocka_unit_test(test_render_one_scope),
	    cmocka_unit_test(test_render_bounded),
	    cmocka_unit_test(test_prom_label),
	    cmocka_unit_test(test_prom_sample),
	    cmocka_unit_test(test_prom_limit_zero),
	    cmocka_unit_test_setup_teardown(test_write, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_write_leftover, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_refusals, setup_dir, teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
