/*
 * test_capacity.c: headroom by shape (common/capacity.c) with exact numbers:
 * the Oracle shape that binds on semmni while semmns reads 49%, the sorthat
 * capture (the seed's incident), a jail's rctl rules, unknown figures, and
 * the core's tie and check rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capacity.h"
#include "collect.h"
#include "util.h"

/* The row of uid and type, or a failure. */
static const struct headroom *
row_of(const struct headroom *v, size_t n, uint32_t uid, enum ipc_type t, uint64_t shape)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].uid == uid && v[i].type == t && v[i].shape == shape)
			return &v[i];
	fail_msg("no headroom row for uid %u %s of %llu", uid, ipc_type_name(t),
	         (unsigned long long)shape);
	return NULL;
}

static void
add_set(struct snapshot *s, uint32_t uid, uint64_t nsems, int64_t id)
{
	struct ipc_object *o = snapshot_add_object(s);

	assert_non_null(o);
	o->type = IPC_SEM;
	o->id = id;
	o->uid = o->cuid = uid;
	o->nsems = nsems;
	o->mode = 0600;
}

/*
 * Oracle takes sets of 156 semaphores.  With SEMMNI 128 and 100 such sets,
 * semmns (32000) has 16400 free, room for 105 more sets, but semmni has 28:
 * 28 more sets, and no second instance (100 sets) fits.
 */
static void
test_oracle_shape(void **state)
{
	struct snapshot s;
	struct headroom *v;
	const struct headroom *r;
	size_t n, total, i;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	ifl_strlcpy(s.os, "Linux", sizeof(s.os));
	s.page_size = 4096;
	limits_set(&s.limits, "semmsl", 250);
	limits_set(&s.limits, "semmns", 32000);
	limits_set(&s.limits, "semopm", 100);
	limits_set(&s.limits, "semmni", 128);
	for (i = 0; i < 100; i++)
		add_set(&s, 54321, 156, 32768 + (int64_t)i);
	assert_int_equal(headroom_compute(&s, HEADROOM_MAX, &v, &n, &total), 0);
	assert_int_equal(n, 1);
	assert_int_equal(total, 1);
	r = row_of(v, n, 54321, IPC_SEM, 156);
	assert_int_equal(r->objects, 100);
	assert_true(r->more_objects.known);
	assert_int_equal(r->more_objects.units, 28);
	assert_string_equal(capacity_limit_name(r->more_objects.binding), "semmni");
	assert_true(r->more_instances.known);
	assert_int_equal(r->more_instances.units, 0);
	assert_string_equal(capacity_limit_name(r->more_instances.binding), "semmni");
	free(v);

	/* sets larger than semmsl cannot be made at all: semmsl binds at 0 */
	limits_set(&s.limits, "semmsl", 100);
	assert_int_equal(headroom_compute(&s, HEADROOM_MAX, &v, &n, &total), 0);
	assert_int_equal(v[0].more_objects.units, 0);
	assert_string_equal(capacity_limit_name(v[0].more_objects.binding), "semmsl");
	free(v);
	snapshot_free(&s);
}

static void
load_capture(struct snapshot *s, const char *dir)
{
	struct source src;
	struct proc_table pt = {0};
	struct collect_warnings w;
	char spec[512], err[256];

	memset(&w, 0, sizeof(w));
	snprintf(spec, sizeof(spec), "freebsd-capture:%s", dir);
	assert_int_equal(source_parse(spec, &src, err, sizeof(err)), 0);
	assert_int_equal(snapshot_init(s), 0);
	if (collect(&src, s, &pt, &w, err, sizeof(err)) != 0)
		fail_msg("collect: %s", err);
	proc_table_free(&pt);
}

/*
 * The seed's incident: uid 770 holds 14 sets of 17 (238 semaphores) with 74
 * of 340 free and 34 of 50 sets: 4 more sets (74 / 17), semmns binds; no
 * copy of its 238 fits, so it could not restart with its sets lingering.
 * uid 122's 2 sets of 14 (28): 5 more sets; more copies unknown as the
 * capture is (its listing is filtered: message queues unseen), 2 (74 / 28,
 * semmns binding) with the whole listing of a kernel without them.
 */
static void
test_sorthat(void **state)
{
	struct snapshot s;
	struct headroom *v;
	const struct headroom *r;
	size_t n, total;
	char dir[] = "/tmp/test_capacity.XXXXXX", cmd[1024];

	(void)state;
	load_capture(&s, FIXTURES "/freebsd-11-sorthat");
	assert_int_equal(headroom_compute(&s, HEADROOM_MAX, &v, &n, &total), 0);
	r = row_of(v, n, 770, IPC_SEM, 17);
	assert_int_equal(r->objects, 14);
	assert_int_equal(r->more_objects.units, 4);
	assert_string_equal(capacity_limit_name(r->more_objects.binding), "semmns");
	assert_true(r->more_instances.known);
	assert_int_equal(r->more_instances.units, 0);
	assert_string_equal(capacity_limit_name(r->more_instances.binding), "semmns");
	r = row_of(v, n, 122, IPC_SEM, 14);
	assert_int_equal(r->objects, 2);
	assert_int_equal(r->more_objects.units, 5);
	/*
	 * The capture lists no message queues (test_freebsd's test_sorthat):
	 * uid 122 may hold some unseen, so a copy of it is not known to fit.
	 * uid 770's known 0 stays: what is unseen only takes more.
	 */
	assert_false(r->more_instances.known);
	assert_string_equal(capacity_limit_name(r->more_instances.binding), "msgmni");
	/* the tightest first: uid 770's rows (0 more instances) lead */
	assert_int_equal(v[0].uid, 770);
	assert_int_equal(v[0].more_instances.units, 0);
	free(v);
	snapshot_free(&s);

	/* the whole listing (the socket layer's line before sorthat's) */
	assert_non_null(mkdtemp(dir));
	snprintf(
	    cmd, sizeof(cmd),
	    "cp %s/* %s/ && { echo 'kern.ipc.maxsockbuf: 2097152'; cat %s/sysctl-kern.ipc.txt; "
	    "} >%s/sysctl-kern.ipc.txt",
	    FIXTURES "/freebsd-11-sorthat", dir, FIXTURES "/freebsd-11-sorthat", dir);
	assert_int_equal(system(cmd), 0);
	load_capture(&s, dir);
	assert_int_equal(headroom_compute(&s, HEADROOM_MAX, &v, &n, &total), 0);
	r = row_of(v, n, 122, IPC_SEM, 14);
	assert_true(r->more_instances.known);
	assert_int_equal(r->more_instances.units, 2);
	assert_string_equal(capacity_limit_name(r->more_instances.binding), "semmns");
	free(v);
	snapshot_free(&s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * A jail's rctl rule is a limit of its own inside the host's pool: with
 * jail:pg:nsem:deny=40 and 34 used, one more set of 17 does not fit there
 * (6 free) though the host has 306 semaphores free.
 */
static void
test_rctl_binds(void **state)
{
	struct snapshot s;
	struct headroom *v;
	const struct headroom *r;
	struct ipc_scope *jail;
	size_t n, total;
	int sc;

	(void)state;
	load_capture(&s, FIXTURES "/freebsd-jails");
	assert_true((sc = snapshot_find_scope(&s, "jail:pg")) > 0);
	jail = &s.scopes[sc];
	jail->rctl.has_limit = 1u << RCTL_NSEM;
	jail->rctl.has_used = 1u << RCTL_NSEM;
	jail->rctl.limit[RCTL_NSEM] = 40;
	jail->rctl.used[RCTL_NSEM] = 34;
	assert_int_equal(headroom_compute(&s, HEADROOM_MAX, &v, &n, &total), 0);
	r = row_of(v, n, 770, IPC_SEM, 17);
	assert_int_equal(r->scope, (uint32_t)sc);
	assert_int_equal(r->objects, 2);
	assert_int_equal(r->more_objects.units, 0);
	assert_string_equal(capacity_limit_name(r->more_objects.binding), "nsem");
	free(v);
	/* a rule whose usage racct did not give: unknown, never 0 */
	jail->rctl.has_used = 0;
	assert_int_equal(headroom_compute(&s, HEADROOM_MAX, &v, &n, &total), 0);
	r = row_of(v, n, 770, IPC_SEM, 17);
	assert_false(r->more_objects.known);
	assert_string_equal(capacity_limit_name(r->more_objects.binding), "nsem");
	free(v);
	/*
	 * shmsize counts whole pages (sysv_shm.c: round_page, then racct_add):
	 * a 48-byte segment takes 4096 of jail:pg:shmsize:deny=65536 with 4096
	 * used, so 15 more fit, not 1,280 (61,440 / 48), and shmsize binds
	 */
	jail->rctl.has_limit = 1u << RCTL_SHMSIZE;
	jail->rctl.has_used = 1u << RCTL_SHMSIZE;
	jail->rctl.limit[RCTL_SHMSIZE] = 65536;
	jail->rctl.used[RCTL_SHMSIZE] = 4096;
	assert_int_equal(headroom_compute(&s, HEADROOM_MAX, &v, &n, &total), 0);
	r = row_of(v, n, 770, IPC_SHM, 48);
	assert_int_equal(r->more_objects.units, 15);
	assert_string_equal(capacity_limit_name(r->more_objects.binding), "shmsize");
	free(v);
	snapshot_free(&s);
}

/* The core: the fewest units, the first among equals, checks, unknowns. */
static void
test_capacity_min(void **state)
{
	struct capacity_term t[3] = {
	    {.limit = CAP_SEMMNI, .free = 28, .need = 1},
	    {.limit = CAP_SEMMNS, .free = 16400, .need = 156},
	    {.limit = CAP_SEMMSL, .free = 1, .need = 0}, /* a check that passes */
	};
	struct capacity_fit f;

	(void)state;
	capacity_min(t, 3, &f);
	assert_true(f.known);
	assert_int_equal(f.units, 28);
	assert_int_equal(f.binding, CAP_SEMMNI);
	/* equal room: the first binds */
	t[1].free = 28 * 156;
	capacity_min(t, 3, &f);
	assert_int_equal(f.binding, CAP_SEMMNI);
	/* an unknown term: the answer is unknown, unless a known one says 0 */
	t[1].unknown = 1;
	capacity_min(t, 3, &f);
	assert_false(f.known);
	assert_int_equal(f.binding, CAP_SEMMNS);
	t[0].free = 0;
	capacity_min(t, 3, &f);
	assert_true(f.known);
	assert_int_equal(f.units, 0);
	assert_int_equal(f.binding, CAP_SEMMNI);
	/* only checks that pass: nothing binds */
	capacity_min(&t[2], 1, &f);
	assert_true(f.known);
	assert_int_equal(f.binding, -1);
	assert_int_equal(f.units, UINT64_MAX);
}

/* Many consumers: the rows are bounded, the tightest kept, the total counted. */
/*
 * An IPC namespace's own limits, some unreadable (limits_unknown): semmsl
 * missing there is unknown with the reason, not "no limit"; the host's pool
 * beside it is untouched.
 */
static void
test_own_limits_unknown(void **state)
{
	static const char why[] = "/proc/sys/kernel/sem: expected four numbers";
	struct snapshot s;
	struct ipc_scope *ns;
	struct capacity_pool p;
	struct usage u;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	limits_set(&s.limits, "semmsl", 250);
	assert_non_null(ns = snapshot_add_scope(&s, "ipcns:4026532300", "c1", SCOPE_IPCNS));
	ns->own_limits = 1;
	limits_set(&ns->limits, "shmmax", 4096);
	model_usage(&s, 1, &u);
	capacity_pool_init(&p, &s, &u, &ns->limits, 1);
	assert_int_equal(p.state[CAP_SEMMSL], CAP_ABSENT);
	strcpy(ns->limits_unknown, why);
	model_usage(&s, 1, &u);
	capacity_pool_init(&p, &s, &u, &ns->limits, 1);
	assert_int_equal(p.state[CAP_SEMMSL], CAP_UNKNOWN);
	assert_string_equal(p.why[CAP_SEMMSL], why);
	assert_int_equal(p.state[CAP_SHMMAX], CAP_KNOWN);
	model_usage(&s, -1, &u);
	capacity_pool_init(&p, &s, &u, &s.limits, -1);
	assert_int_equal(p.state[CAP_SEMMSL], CAP_KNOWN);
	snapshot_free(&s);
}

static void
test_bounded(void **state)
{
	struct snapshot s;
	struct headroom *v;
	size_t n, total, i;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	ifl_strlcpy(s.os, "Linux", sizeof(s.os));
	s.page_size = 4096;
	limits_set(&s.limits, "semmns", 1000000);
	limits_set(&s.limits, "semmni", 100000);
	for (i = 0; i < 5000; i++)
		add_set(&s, (uint32_t)(1000 + i), i == 4321 ? 60000 : 1 + i % 7, (int64_t)i);
	assert_int_equal(headroom_compute(&s, HEADROOM_MAX, &v, &n, &total), 0);
	assert_int_equal(total, 5000);
	assert_int_equal(n, HEADROOM_MAX);
	/* the largest holding has the least room: 79992 used, 920008 / 60000 = 15 copies */
	assert_int_equal(v[0].uid, 1000 + 4321);
	assert_int_equal(v[0].more_instances.units, 15);
	assert_string_equal(capacity_limit_name(v[0].more_instances.binding), "semmns");
	free(v);
	snapshot_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oracle_shape), cmocka_unit_test(test_sorthat),
	    cmocka_unit_test(test_rctl_binds),   cmocka_unit_test(test_capacity_min),
	    cmocka_unit_test(test_bounded),      cmocka_unit_test(test_own_limits_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
