/*
 * test_model.c: the snapshot model and its accounting rules (model.h)
 * against hand-built snapshots.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "model.h"
#include "util.h"

enum { U_SEMMNS, U_SEMMNI, U_SHMALL, U_SHMMNI, U_MSGMNI, U_MSGTQL };

static struct ipc_object *
add(struct snapshot *s, enum ipc_type t, uint32_t scope)
{
	struct ipc_object *o = snapshot_add_object(s);

	assert_non_null(o);
	o->type = t;
	o->scope = scope;
	return o;
}

static void
add_sems(struct snapshot *s, int n, uint64_t nsems, uint32_t scope)
{
	int i;

	for (i = 0; i < n; i++)
		add(s, IPC_SEM, scope)->nsems = nsems;
}

static void
item_eq(const struct usage *u, size_t i, const char *name, uint64_t used, uint64_t limit,
        int has_limit)
{
	assert_true(i < u->n);
	assert_string_equal(u->v[i].name, name);
	if (u->v[i].used != used)
		fail_msg("%s used %ju, want %ju", name, (uintmax_t)u->v[i].used, (uintmax_t)used);
	if (u->v[i].limit != limit)
		fail_msg("%s limit %ju, want %ju", name, (uintmax_t)u->v[i].limit,
		         (uintmax_t)limit);
	assert_int_equal(u->v[i].has_limit, has_limit);
}

static void
test_shm_pages(void **state)
{
	(void)state;
	assert_int_equal(shm_pages(0, 4096), 0);
	assert_int_equal(shm_pages(1, 4096), 1);
	assert_int_equal(shm_pages(4095, 4096), 1);
	assert_int_equal(shm_pages(4096, 4096), 1);
	assert_int_equal(shm_pages(4097, 4096), 2);
	assert_int_equal(shm_pages(8192, 4096), 2);
	assert_int_equal(shm_pages(1048576, 4096), 256);
	assert_int_equal(shm_pages(1048577, 4096), 257);
	assert_int_equal(shm_pages(48, 16384), 1);
	/* no overflow near 2^64: ceil((2^64 - 1) / 4096) = 2^52 */
	assert_true(shm_pages(UINT64_MAX, 4096) == UINT64_C(1) << 52);
	assert_true(shm_pages(UINT64_MAX - 4095, 4096) == (UINT64_C(1) << 52) - 1);
	assert_true(shm_pages(UINT64_MAX, 1) == UINT64_MAX);
	/* an unknown page size charges nothing rather than dividing by zero */
	assert_int_equal(shm_pages(4096, 0), 0);
	assert_int_equal(shm_pages(UINT64_MAX, 0), 0);
}

static void
test_usage_pct(void **state)
{
	(void)state;
	assert_true(usage_pct(266, 340) == 78.2);
	assert_true(usage_pct(85, 340) == 25.0);
	assert_true(usage_pct(340, 340) == 100.0);
	assert_true(usage_pct(680, 340) == 200.0);
	assert_true(usage_pct(1, 3) == 33.3);
	assert_true(usage_pct(2, 3) == 66.7);
	assert_true(usage_pct(5, 1000) == 0.5);
	assert_true(usage_pct(15, 10000) == 0.2); /* 0.15 rounds half away from zero */
	assert_true(usage_pct(14, 10000) == 0.1);
	assert_true(usage_pct(0, 340) == 0.0);
	/* limit 0: nothing more can be made, exhausted (not a division by zero) */
	assert_true(usage_pct(0, 0) == 100.0);
	assert_true(usage_pct(5, 0) == 100.0);
	/* extremes stay finite and exact where they can be */
	assert_true(usage_pct(UINT64_MAX, UINT64_MAX) == 100.0);
	assert_true(usage_pct(1, UINT64_MAX) == 0.0);
	assert_true(usage_pct(UINT64_C(4503599627366785), UINT64_C(18446744073692774399)) == 0.0);
	assert_true(isfinite(usage_pct(UINT64_MAX, 1)));
	assert_true(usage_pct(UINT64_MAX, 1) > 1.8e21);
	/* exactly half a per mille of a limit above 2^63 still rounds up */
	assert_true(usage_pct(UINT64_C(1) << 62, UINT64_C(1) << 63) == 50.0);
	assert_true(usage_pct((UINT64_C(1) << 63) / 1000, UINT64_C(1) << 63) == 0.1);
	/* the same figures as the long double formula on ordinary values */
	{
		uint64_t seed = 88172645463325252ULL;
		int i;

		for (i = 0; i < 100000; i++) {
			uint64_t used, limit;
			long double r;

			seed ^= seed << 13;
			seed ^= seed >> 7;
			seed ^= seed << 17;
			limit = 1 + seed % 2000000000;
			used = (seed >> 20) % (2 * limit);
			r = (long double)used * 1000.0L / (long double)limit;
			if (usage_pct(used, limit) != (double)(roundl(r) / 10.0L))
				fail_msg("usage_pct(%llu, %llu) = %.17g", (unsigned long long)used,
				         (unsigned long long)limit, usage_pct(used, limit));
		}
	}
}

/* usage_pct gives the same double as the one-decimal text a reader parses. */
static void
test_usage_pct_decimal(void **state)
{
	uint64_t used, limit;

	(void)state;
	for (limit = 1; limit <= 700; limit++) {
		for (used = 0; used <= limit + 10; used++) {
			char txt[64];
			double p = usage_pct(used, limit), q;

			snprintf(txt, sizeof(txt), "%.1f", p);
			assert_int_equal(sscanf(txt, "%lf", &q), 1);
			if (p != q)
				fail_msg("usage_pct(%ju, %ju) = %.17g, not %s", (uintmax_t)used,
				         (uintmax_t)limit, p, txt);
		}
	}
}

static void
test_semaphores(void **state)
{
	struct snapshot s;
	struct usage u;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	s.page_size = 4096;
	assert_int_equal(limits_set(&s.limits, "semmns", 340), 0);
	assert_int_equal(limits_set(&s.limits, "semmni", 50), 0);
	add_sems(&s, 5, 17, 0);
	model_usage(&s, -1, &u);
	/* no msgtql limit: five items, in display order */
	assert_int_equal(u.n, 5);
	item_eq(&u, U_SEMMNS, "semmns", 85, 340, 1);
	item_eq(&u, U_SEMMNI, "semmni", 5, 50, 1);
	item_eq(&u, U_SHMALL, "shmall", 0, 0, 0);
	item_eq(&u, U_SHMMNI, "shmmni", 0, 0, 0);
	item_eq(&u, U_MSGMNI, "msgmni", 0, 0, 0);
	assert_true(usage_pct(u.v[U_SEMMNS].used, u.v[U_SEMMNS].limit) == 25.0);

	/* the seed's host: 16 sets using 266 of 340 */
	snapshot_free(&s);
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(limits_set(&s.limits, "semmns", 340), 0);
	add_sems(&s, 14, 17, 0);
	add_sems(&s, 1, 7, 0);
	add_sems(&s, 1, 21, 0);
	model_usage(&s, -1, &u);
	item_eq(&u, U_SEMMNS, "semmns", 266, 340, 1);
	item_eq(&u, U_SEMMNI, "semmni", 16, 0, 0);
	assert_true(usage_pct(u.v[U_SEMMNS].used, u.v[U_SEMMNS].limit) == 78.2);
	snapshot_free(&s);
}

static void
test_shmall(void **state)
{
	struct snapshot s;
	struct usage u;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	s.page_size = 4096;
	assert_int_equal(limits_set(&s.limits, "shmall", 131072), 0);
	assert_int_equal(limits_set(&s.limits, "shmmni", 192), 0);
	add(&s, IPC_SHM, 0)->size = 1048577;
	model_usage(&s, -1, &u);
	item_eq(&u, U_SHMALL, "shmall", 257, 131072, 1);
	item_eq(&u, U_SHMMNI, "shmmni", 1, 192, 1);
	add(&s, IPC_SHM, 0)->size = 1048577;
	model_usage(&s, -1, &u);
	/* per segment, not bytes summed: 2 x 257, not ceil(2097154 / 4096) = 513 */
	item_eq(&u, U_SHMALL, "shmall", 514, 131072, 1);
	item_eq(&u, U_SHMMNI, "shmmni", 2, 192, 1);
	add(&s, IPC_SHM, 0)->size = 0;
	add(&s, IPC_SHM, 0)->size = 8192;
	model_usage(&s, -1, &u);
	item_eq(&u, U_SHMALL, "shmall", 516, 131072, 1);
	item_eq(&u, U_SHMMNI, "shmmni", 4, 192, 1);
	/* other types do not count towards shm */
	add(&s, IPC_SEM, 0)->size = 4096;
	model_usage(&s, -1, &u);
	item_eq(&u, U_SHMALL, "shmall", 516, 131072, 1);
	snapshot_free(&s);
}

static void
test_msgtql(void **state)
{
	struct snapshot s;
	struct usage u;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(limits_set(&s.limits, "msgmni", 40), 0);
	add(&s, IPC_MSG, 0)->qnum = 3;
	add(&s, IPC_MSG, 0)->qnum = 4;
	/* Linux: no msgtql limit, no msgtql item */
	model_usage(&s, -1, &u);
	assert_int_equal(u.n, 5);
	item_eq(&u, U_MSGMNI, "msgmni", 2, 40, 1);
	/* FreeBSD: msgtql counts messages */
	assert_int_equal(limits_set(&s.limits, "msgtql", 40), 0);
	model_usage(&s, -1, &u);
	assert_int_equal(u.n, 6);
	item_eq(&u, U_MSGTQL, "msgtql", 7, 40, 1);
	snapshot_free(&s);
}

static void
test_saturation(void **state)
{
	struct snapshot s;
	struct usage u;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(limits_set(&s.limits, "msgtql", UINT64_MAX), 0);
	/* page size 1: each segment is charged 2^64 - 1 pages */
	s.page_size = 1;
	add(&s, IPC_SHM, 0)->size = UINT64_MAX;
	add(&s, IPC_SHM, 0)->size = UINT64_MAX;
	add(&s, IPC_SHM, 0)->size = 5;
	add_sems(&s, 2, UINT64_MAX - 1, 0);
	add(&s, IPC_MSG, 0)->qnum = UINT64_MAX;
	add(&s, IPC_MSG, 0)->qnum = 2;
	model_usage(&s, -1, &u);
	item_eq(&u, U_SHMALL, "shmall", UINT64_MAX, 0, 0);
	item_eq(&u, U_SEMMNS, "semmns", UINT64_MAX, 0, 0);
	item_eq(&u, U_MSGTQL, "msgtql", UINT64_MAX, UINT64_MAX, 1);
	item_eq(&u, U_SHMMNI, "shmmni", 3, 0, 0);
	/* just below the edge it is exact */
	snapshot_free(&s);
	assert_int_equal(snapshot_init(&s), 0);
	s.page_size = 4096;
	add(&s, IPC_SHM, 0)->size = UINT64_MAX;
	add(&s, IPC_SHM, 0)->size = UINT64_MAX;
	model_usage(&s, -1, &u);
	item_eq(&u, U_SHMALL, "shmall", UINT64_C(1) << 53, 0, 0);
	snapshot_free(&s);
}

static void
test_scopes(void **state)
{
	struct snapshot s;
	struct ipc_scope *jail, *ns;
	struct usage u;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	s.page_size = 4096;
	assert_int_equal(limits_set(&s.limits, "semmns", 340), 0);
	assert_int_equal(limits_set(&s.limits, "semmni", 50), 0);
	jail = snapshot_add_scope(&s, "jail:db1", "db1", SCOPE_JAIL);
	assert_non_null(jail);
	ns = snapshot_add_scope(&s, "ipcns:4026532281", "web", SCOPE_IPCNS);
	assert_non_null(ns);
	ns->own_limits = 1;
	assert_int_equal(limits_set(&ns->limits, "semmns", 100), 0);
	assert_int_equal(limits_set(&ns->limits, "shmall", 1000), 0);
	assert_int_equal(s.nscopes, 3);

	add_sems(&s, 1, 17, 0); /* host */
	add_sems(&s, 2, 17, 1); /* jail: shares the host's pool */
	add_sems(&s, 3, 10, 2); /* namespace: its own pool */
	add(&s, IPC_SHM, 2)->size = 4097;
	add(&s, IPC_SHM, 1)->size = 4096;

	/* host pool: host and jail objects, against the host's limits */
	model_usage(&s, -1, &u);
	item_eq(&u, U_SEMMNS, "semmns", 51, 340, 1);
	item_eq(&u, U_SEMMNI, "semmni", 3, 50, 1);
	item_eq(&u, U_SHMALL, "shmall", 1, 0, 0);
	/* the host scope alone */
	model_usage(&s, 0, &u);
	item_eq(&u, U_SEMMNS, "semmns", 17, 340, 1);
	item_eq(&u, U_SEMMNI, "semmni", 1, 50, 1);
	/* a jail: its share, measured against the host's limits */
	model_usage(&s, 1, &u);
	item_eq(&u, U_SEMMNS, "semmns", 34, 340, 1);
	item_eq(&u, U_SEMMNI, "semmni", 2, 50, 1);
	item_eq(&u, U_SHMALL, "shmall", 1, 0, 0);
	/* the namespace: its objects against its own limits only */
	model_usage(&s, 2, &u);
	item_eq(&u, U_SEMMNS, "semmns", 30, 100, 1);
	item_eq(&u, U_SEMMNI, "semmni", 3, 0, 0);
	item_eq(&u, U_SHMALL, "shmall", 2, 1000, 1);
	item_eq(&u, U_SHMMNI, "shmmni", 1, 0, 0);
	assert_string_equal(u.v[U_SEMMNI].why, "");
	assert_null(snapshot_scope_limits_why(&s, 2));
	/* ... whose semmni could not be read: unknown, with the reason, not none */
	strcpy(ns->limits_unknown, "/proc/sys/kernel/sem: expected four numbers");
	model_usage(&s, 2, &u);
	item_eq(&u, U_SEMMNS, "semmns", 30, 100, 1);
	item_eq(&u, U_SEMMNI, "semmni", 3, 0, 0);
	assert_string_equal(u.v[U_SEMMNI].why, "/proc/sys/kernel/sem: expected four numbers");
	assert_false(u.v[U_SEMMNI].unknown_used);
	assert_string_equal(u.v[U_SEMMNS].why, "");
	/* the host's pool and the jail's are not the namespace's */
	assert_null(snapshot_scope_limits_why(&s, 1));
	model_usage(&s, 1, &u);
	assert_string_equal(u.v[U_SHMALL].why, "");
	/* and the host says so */
	{
		struct finding f;

		assert_int_equal(incomplete_finding(&s, &f), 1);
		assert_string_equal(f.message,
		                    "limits of 1 scope(s) unknown: /proc/sys/kernel/sem: "
		                    "expected four numbers");
	}
	/* a scope index that does not exist: nothing in it, host limits */
	model_usage(&s, 7, &u);
	item_eq(&u, U_SEMMNS, "semmns", 0, 340, 1);

	assert_int_equal(snapshot_find_scope(&s, "host"), 0);
	assert_int_equal(snapshot_find_scope(&s, "jail:db1"), 1);
	assert_int_equal(snapshot_find_scope(&s, "ipcns:4026532281"), 2);
	assert_int_equal(snapshot_find_scope(&s, "jail:db2"), -1);
	snapshot_free(&s);
}

static void
test_snapshot_lifecycle(void **state)
{
	struct snapshot s;
	char id[MODEL_NAME_MAX + 1];

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(s.nscopes, 1);
	assert_string_equal(s.scopes[0].id, "host");
	assert_string_equal(s.scopes[0].name, "host");
	assert_int_equal(s.scopes[0].kind, SCOPE_HOST);
	assert_int_equal(s.scopes[0].own_limits, 0);
	assert_int_equal(s.nobjects, 0);
	assert_int_equal(s.limits.n, 0);

	/* scope ids must fit MODEL_NAME_MAX with the NUL */
	memset(id, 'j', MODEL_NAME_MAX - 1);
	id[MODEL_NAME_MAX - 1] = '\0';
	assert_non_null(snapshot_add_scope(&s, id, "j", SCOPE_JAIL));
	id[MODEL_NAME_MAX - 1] = 'j';
	id[MODEL_NAME_MAX] = '\0';
	assert_null(snapshot_add_scope(&s, id, "j", SCOPE_JAIL));
	assert_int_equal(s.nscopes, 2);
	snapshot_free(&s);
	assert_null(s.scopes);
	assert_null(s.objects);
	assert_int_equal(s.nscopes, 0);
}

static void
test_add_object_bound(void **state)
{
	struct snapshot s;
	struct ipc_object *o;
	size_t i;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	o = snapshot_add_object(&s);
	assert_non_null(o);
	assert_int_equal(s.nobjects, 1);
	assert_int_equal(o->type, IPC_SHM);
	assert_int_equal(o->size, 0);
	o->size = 99;
	/* growing keeps earlier objects, and new ones are zeroed */
	for (i = 1; i < 1000; i++) {
		o = snapshot_add_object(&s);
		assert_non_null(o);
		assert_int_equal(o->size, 0);
		assert_int_equal(o->id, 0);
		o->id = (int64_t)i;
	}
	assert_int_equal(s.nobjects, 1000);
	assert_true(s.cap_objects >= 1000);
	assert_int_equal(s.objects[0].size, 99);
	assert_int_equal(s.objects[999].id, 999);

	/* the bound, without allocating 200000 objects: the count is checked first */
	s.nobjects = MODEL_MAX_OBJECTS;
	assert_null(snapshot_add_object(&s));
	assert_int_equal(s.nobjects, MODEL_MAX_OBJECTS);
	s.nobjects = 1000;
	snapshot_free(&s);
}

/* Room made at once: appending then moves nothing, counts stay, bounds hold. */
static void
test_reserve(void **state)
{
	struct snapshot s;
	struct ipc_scope *sc, *first;
	struct ipc_object *o;
	size_t i;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(snapshot_reserve(&s, 200, 2000), 0);
	assert_int_equal(s.nscopes, 1);
	assert_int_equal(s.nobjects, 0);
	assert_true(s.cap_scopes >= 201);
	assert_true(s.cap_objects >= 2000);
	first = s.scopes;
	o = s.objects;
	for (i = 0; i < 200; i++) {
		char id[32];

		snprintf(id, sizeof(id), "ipcns:%zu", i + 1);
		sc = snapshot_add_scope(&s, id, id, SCOPE_IPCNS);
		assert_non_null(sc);
		/* a scope is zeroed but for its unused limits */
		assert_int_equal(sc->limits.n, 0);
		assert_int_equal(sc->own_limits, 0);
		assert_int_equal(sc->processes, 0);
		assert_string_equal(sc->unknown, "");
		assert_string_equal(sc->cgroup, "");
		assert_int_equal(sc->rctl.has_used, 0);
		assert_int_equal(limits_set(&sc->limits, "semmni", i), 0);
	}
	for (i = 0; i < 2000; i++)
		assert_non_null(snapshot_add_object(&s));
	assert_ptr_equal(s.scopes, first);
	assert_ptr_equal(s.objects, o);
	assert_string_equal(s.scopes[0].id, "host");
	assert_string_equal(s.scopes[200].id, "ipcns:200");
	assert_true(s.scopes[200].limits.n == 1 && s.scopes[200].limits.v[0].value == 199);
	/* more than the bounds is capped at them, not refused */
	assert_int_equal(snapshot_reserve(&s, 0, 0), 0);
	assert_int_equal(snapshot_reserve(&s, SIZE_MAX, 0), 0);
	assert_int_equal(s.cap_scopes, MODEL_MAX_SCOPES);
	assert_int_equal(s.nscopes, 201);
	snapshot_free(&s);
}

/* The real bound: fill to MODEL_MAX_OBJECTS, the next add fails. */
static void
test_add_object_full(void **state)
{
	struct snapshot s;
	size_t i;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	for (i = 0; i < MODEL_MAX_OBJECTS; i++)
		if (snapshot_add_object(&s) == NULL)
			fail_msg("add %zu failed", i);
	assert_int_equal(s.nobjects, MODEL_MAX_OBJECTS);
	/* capacity is clamped to the bound, not doubled past it */
	assert_int_equal(s.cap_objects, MODEL_MAX_OBJECTS);
	assert_null(snapshot_add_object(&s));
	assert_null(snapshot_add_object(&s));
	assert_int_equal(s.nobjects, MODEL_MAX_OBJECTS);
	snapshot_free(&s);
}

/* A type's limits unknown: exactly the two it counts against, with why. */
static void
test_unknown_limits(void **state)
{
	struct snapshot s;

	(void)state;
	assert_int_equal(snapshot_init(&s), 0);
	snapshot_unknown_limits(&s, IPC_SEM, "no kern.ipc.%s* line", "sem");
	assert_int_equal(s.unknown.n, 2);
	assert_string_equal(snapshot_unknown_why(&s, UNK_LIMIT, "semmns"), "no kern.ipc.sem* line");
	assert_string_equal(snapshot_unknown_why(&s, UNK_LIMIT, "semmni"), "no kern.ipc.sem* line");
	assert_null(snapshot_unknown_why(&s, UNK_USED, "semmns"));
	assert_null(snapshot_unknown_why(&s, UNK_LIMIT, "shmall"));
	snapshot_unknown_limits(&s, IPC_MSG, "x");
	assert_non_null(snapshot_unknown_why(&s, UNK_LIMIT, "msgmni"));
	assert_non_null(snapshot_unknown_why(&s, UNK_LIMIT, "msgtql"));
	assert_int_equal(s.unknown.n, 4);
	snapshot_free(&s);
}

static void
test_limits(void **state)
{
	struct ipc_limits l;
	char name[MODEL_NAME_MAX + 1];
	uint64_t v = 7;
	size_t i;

	(void)state;
	memset(&l, 0, sizeof(l));
	assert_int_equal(limits_get(&l, "semmns", &v), -1);
	assert_int_equal(v, 7);
	assert_int_equal(limits_set(&l, "semmns", 340), 0);
	assert_int_equal(limits_get(&l, "semmns", &v), 0);
	assert_int_equal(v, 340);
	/* set replaces */
	assert_int_equal(limits_set(&l, "semmns", UINT64_MAX), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(limits_get(&l, "semmns", &v), 0);
	assert_true(v == UINT64_MAX);

	/* names */
	assert_true(limit_name_valid("semmns"));
	assert_true(limit_name_valid("shm_rmid_forced"));
	assert_true(limit_name_valid("kern.ipc.semmns"));
	assert_true(limit_name_valid("a"));
	assert_true(limit_name_valid("0"));
	assert_false(limit_name_valid(""));
	assert_false(limit_name_valid("SEMMNS"));
	assert_false(limit_name_valid("sem-mns"));
	assert_false(limit_name_valid("sem mns"));
	assert_false(limit_name_valid("sem\xc3\xa9"));
	memset(name, 'a', MODEL_NAME_MAX - 1);
	name[MODEL_NAME_MAX - 1] = '\0';
	assert_true(limit_name_valid(name)); /* 63 characters */
	assert_int_equal(limits_set(&l, name, 1), 0);
	assert_int_equal(limits_get(&l, name, &v), 0);
	name[MODEL_NAME_MAX - 1] = 'a';
	name[MODEL_NAME_MAX] = '\0';
	assert_false(limit_name_valid(name)); /* 64 */
	assert_int_equal(limits_set(&l, name, 1), -1);
	assert_int_equal(limits_set(&l, "Bad", 1), -1);
	assert_int_equal(l.n, 2);

	/* the table holds MODEL_MAX_LIMITS */
	for (i = l.n; i < MODEL_MAX_LIMITS; i++) {
		char n[16];

		snprintf(n, sizeof(n), "lim%zu", i);
		assert_int_equal(limits_set(&l, n, i), 0);
	}
	assert_int_equal(l.n, MODEL_MAX_LIMITS);
	assert_int_equal(limits_set(&l, "onemore", 1), -1);
	assert_int_equal(l.n, MODEL_MAX_LIMITS);
	/* replacing still works when full */
	assert_int_equal(limits_set(&l, "semmns", 5), 0);
	assert_int_equal(limits_get(&l, "semmns", &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(limits_get(&l, "lim63", &v), 0);
	assert_int_equal(v, 63);
}

static void
test_names(void **state)
{
	enum ipc_type t;
	enum scope_kind k;
	enum isolation iso;
	int i;

	(void)state;
	for (i = IPC_SHM; i <= IPC_MSG; i++) {
		assert_int_equal(ipc_type_parse(ipc_type_name((enum ipc_type)i), &t), 0);
		assert_int_equal(t, i);
	}
	assert_string_equal(ipc_type_name(IPC_SEM), "sem");
	assert_int_equal(ipc_type_parse("SHM", &t), -1);
	assert_int_equal(ipc_type_parse("", &t), -1);
	for (i = SCOPE_HOST; i <= SCOPE_IPCNS; i++) {
		assert_int_equal(scope_kind_parse(scope_kind_name((enum scope_kind)i), &k), 0);
		assert_int_equal(k, i);
	}
	assert_string_equal(scope_kind_name(SCOPE_IPCNS), "ipcns");
	assert_int_equal(scope_kind_parse("container", &k), -1);
	for (i = ISO_UNKNOWN; i <= ISO_DISABLE; i++) {
		assert_int_equal(isolation_parse(isolation_name((enum isolation)i), &iso), 0);
		assert_int_equal(iso, i);
	}
	assert_string_equal(isolation_name(ISO_INHERIT), "inherit");
	assert_int_equal(isolation_parse("shared", &iso), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shm_pages),
	    cmocka_unit_test(test_usage_pct),
	    cmocka_unit_test(test_usage_pct_decimal),
	    cmocka_unit_test(test_semaphores),
	    cmocka_unit_test(test_shmall),
	    cmocka_unit_test(test_msgtql),
	    cmocka_unit_test(test_saturation),
	    cmocka_unit_test(test_scopes),
	    cmocka_unit_test(test_snapshot_lifecycle),
	    cmocka_unit_test(test_add_object_bound),
	    cmocka_unit_test(test_add_object_full),
	    cmocka_unit_test(test_reserve),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_unknown_limits),
	    cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
