/*
 * daytimes.h: dates carried across snapshots for times read as times of
 * day (FreeBSD's ipcs prints H:MM:SS and no date).
 *
 * The collector puts each time of day on the snapshot's day, or the day
 * before when that would be later than the snapshot: an object made three
 * days ago is read as made within the last 24 hours, and each day the same
 * unchanged time lands on a new date.  A running agent knows better: an
 * object it saw before (same scope, type, id and key) whose time of day has
 * not changed keeps the date it was first read with.  The dates so become
 * right from the agent's first sight of an object on, and stay put (the
 * vanished check compares creation times; orphan ages grow past a day).
 *
 * "Not changed" is exact: the same local time of day as read last time,
 * whole days later (local: the UTC time read plus the zone's offset then;
 * ipcs prints a time in the offset of its own moment, the collector dates
 * it with the current one, so a change of daylight saving time moves every
 * UTC time read by the offset's change, not what was printed), and where
 * ipcs prints the pid of the event (shm lpid, msg lspid and lrpid), the
 * same pid.  A time that moved otherwise is a new time (a new semop,
 * attach, send) and is taken as read.
 *
 * Kept in memory only: after a start, times are again put within the last
 * day.  Bounded by the objects of one snapshot.  One case it cannot mend:
 * a time from the hour before daylight saving time ends, first read in the
 * hour that repeats, is put on the day before (the collector cannot tell
 * which of the two hours it was), and keeps that date while the agent runs.
 */
#ifndef IPCFLEET_DAYTIMES_H
#define IPCFLEET_DAYTIMES_H

#include <stddef.h>

#include "model.h"

struct daytimes_rec;

struct daytimes {
	struct daytimes_rec *v; /* sorted by (scope, type, id, key) */
	size_t n;
};

/*
 * For a snapshot whose times are times of day (s->times_of_day, read in
 * the zone offset s->utc_offset): gives each known time of an object seen
 * before the date it had then, when it is the same time of day; then
 * remembers s's times for the next call.  Any other snapshot only makes
 * the memory forget.  Out of memory: s is left as read and the memory
 * forgotten.
 */
void daytimes_carry(struct daytimes *m, struct snapshot *s);
void daytimes_free(struct daytimes *m);

#endif
