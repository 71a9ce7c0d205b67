/*
 * test_daytimes.c: dates carried across snapshots for FreeBSD's times of
 * day (agent/daytimes.c), with exact times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daytimes.h"

#define DAY 86400
#define T0  1764165600 /* 2025-11-26T14:00:00Z */

/* host + jail:pg; sem 1 of the host, shm 1 of the jail (the same id), msg 5 */
static void
snap(struct snapshot *s, int32_t off, int64_t shift)
{
	struct ipc_object *o;

	assert_int_equal(snapshot_init(s), 0);
	assert_non_null(snapshot_add_scope(s, "jail:pg", "pg", SCOPE_JAIL));
	s->times_of_day = 1;
	s->utc_offset = off;
	assert_non_null(o = snapshot_add_object(s));
	o->type = IPC_SEM;
	o->id = 1;
	o->ctime = T0 - 3 * 3600 + shift;
	o->otime = T0 - 3600 + shift;
	assert_non_null(o = snapshot_add_object(s));
	o->type = IPC_SHM;
	o->id = 1;
	o->scope = 1;
	o->key = 5432001;
	o->ctime = T0 - 5 * 3600 + shift;
	o->atime = T0 - 5 * 3600 + shift;
	o->dtime = 0; /* no-entry */
	assert_non_null(o = snapshot_add_object(s));
	o->type = IPC_MSG;
	o->id = 5;
	o->ctime = T0 - 7200 + shift;
	o->stime = T0 - 600 + shift;
	o->unknown = OF_RTIME;
}

static void
test_carry(void **state)
{
	struct daytimes m;
	struct snapshot s;

	(void)state;
	memset(&m, 0, sizeof(m));
	/* the first sight: as read */
	snap(&s, 3600, 0);
	daytimes_carry(&m, &s);
	assert_int_equal(s.objects[0].ctime, T0 - 3 * 3600);
	snapshot_free(&s);

	/* the next day: the same times of day keep their dates; a time that
	 * moved (a semop a minute later) is taken as read */
	snap(&s, 3600, DAY);
	s.objects[0].otime += 60;
	daytimes_carry(&m, &s);
	assert_int_equal(s.objects[0].ctime, T0 - 3 * 3600);
	assert_int_equal(s.objects[0].otime, T0 - 3600 + DAY + 60);
	assert_int_equal(s.objects[1].ctime, T0 - 5 * 3600);
	assert_int_equal(s.objects[1].atime, T0 - 5 * 3600);
	assert_int_equal(s.objects[1].dtime, 0); /* never: no date */
	assert_int_equal(s.objects[2].ctime, T0 - 7200);
	assert_int_equal(s.objects[2].stime, T0 - 600);
	snapshot_free(&s);

	/* the same second of another day, by another process (a daily job):
	 * a new attach, a new send; the creation time is still the same */
	{
		struct daytimes m2;

		memset(&m2, 0, sizeof(m2));
		snap(&s, 3600, 0);
		s.objects[1].lpid = 4000;
		s.objects[2].lspid = 5000;
		daytimes_carry(&m2, &s);
		snapshot_free(&s);
		snap(&s, 3600, DAY);
		s.objects[1].lpid = 4001;
		s.objects[2].lspid = 5001;
		daytimes_carry(&m2, &s);
		assert_int_equal(s.objects[1].atime, T0 - 5 * 3600 + DAY);
		assert_int_equal(s.objects[1].ctime, T0 - 5 * 3600);
		assert_int_equal(s.objects[2].stime, T0 - 600 + DAY);
		assert_int_equal(s.objects[2].ctime, T0 - 7200);
		snapshot_free(&s);
		daytimes_free(&m2);
	}

	/* daylight saving time begins (+1 h): every time read an hour earlier
	 * in UTC, a day later: still the same times */
	snap(&s, 7200, 2 * DAY - 3600);
	s.objects[0].otime += 60; /* the semop of the day before, read again */
	daytimes_carry(&m, &s);
	assert_int_equal(s.objects[0].ctime, T0 - 3 * 3600);
	assert_int_equal(s.objects[0].otime, T0 - 3600 + DAY + 60);
	assert_int_equal(s.objects[1].ctime, T0 - 5 * 3600);
	snapshot_free(&s);

	/* an hour off without a change of zone is another time; a time an
	 * object of another scope had is not this one's */
	snap(&s, 7200, 3 * DAY);
	s.objects[1].scope = 0; /* shm 1 of the host now: never seen there */
	daytimes_carry(&m, &s);
	assert_int_equal(s.objects[0].ctime, T0 - 3 * 3600 + 3 * DAY);
	assert_int_equal(s.objects[1].ctime, T0 - 5 * 3600 + 3 * DAY);
	/* an unknown time stays unknown and is not remembered */
	assert_int_equal(s.objects[2].unknown, OF_RTIME);
	snapshot_free(&s);

	/* exact times (Linux): nothing carried, and the memory forgets */
	snap(&s, 7200, 4 * DAY);
	s.times_of_day = 0;
	daytimes_carry(&m, &s);
	assert_int_equal(s.objects[0].ctime, T0 - 3 * 3600 + 4 * DAY);
	assert_int_equal(m.n, 0);
	snapshot_free(&s);
	daytimes_free(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_carry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
