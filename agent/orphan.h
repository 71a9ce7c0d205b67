/*
 * orphan.h: the findings only the agent can make, for every collector.
 *
 * After a collector has filled a snapshot and a process table (collect.h),
 * orphan_findings() looks for objects nobody seems to use any more, and for
 * jails that share the host's SysV IPC namespace.  The rules do not depend on
 * the operating system; the collectors only have to say which processes live
 * in which scope.
 */
#ifndef IPCFLEET_ORPHAN_H
#define IPCFLEET_ORPHAN_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "model.h"

/*
 * Adds an FK_ORPHAN finding (has_object, type, id, age, uid, scope id,
 * message, command) for every object that looks abandoned:
 *  - a shared memory segment nobody is attached to (nattch 0), not marked
 *    for removal, whose creator (cpid) and last user (lpid) are both gone
 *    (not in pt).  lpid 0 means nobody ever attached.  A cpid of 0 is a
 *    creator the collector could not see (another pid namespace): such a
 *    segment is never called an orphan;
 *  - a semaphore set or message queue whose owner (uid) has no process left
 *    in the object's scope; an owner that could not be read (uid
 *    4294967295) is never taken for one that left.
 * Only objects whose age (now minus the latest of their times: shm atime,
 * dtime, ctime; sem otime, ctime; msg stime, rtime, ctime) is at least
 * min_age count.  An object with no time at all has no known age: it counts
 * only when min_age is 0 (its age is then reported as 0).
 * Severity: warn for semaphore sets (the pool PostgreSQL and its kin run out
 * of), info for segments and queues.
 * pt == NULL or pt->valid == 0: no orphans (the processes are not known).
 * Returns 0, or -1 when out of memory (then no orphans were added).
 */
int orphan_scan(struct snapshot *s, struct proc_table *pt, uint64_t min_age, int64_t now);

/*
 * Adds an FK_ISOLATION finding (warn) for every jail scope that inherits
 * the host's namespace for any IPC type (ISO_INHERIT), unless one for that
 * scope is already there.
 */
void orphan_isolation(struct snapshot *s);

/* Both of the above: what the agent runs after collect(). */
int orphan_findings(struct snapshot *s, struct proc_table *pt, uint64_t min_age, int64_t now);

/*
 * The command that removes object (t, id) of scope into out:
 *   host   "ipcrm -s 65538"
 *   ipcns  "nsenter -t PID -i ipcrm -s 65538", PID being the first process
 *          of that scope in pt (collectors put the process they entered the
 *          namespace through first)
 *   jail   "jexec NAME ipcrm -s 65538", NAME from the scope id "jail:NAME"
 * Returns 0, or -1 with out = "" when no safe command can be built (an
 * ipcns scope with no known process, a jail name with characters a shell
 * would interpret, or out too small).
 */
int orphan_command(const struct snapshot *s, const struct proc_table *pt, uint32_t scope,
                   enum ipc_type t, int64_t id, char *out, size_t len);

/* "45s", "12m", "3h", "2d": the largest whole unit. */
void orphan_age_str(int64_t age, char *out, size_t len);

#endif
