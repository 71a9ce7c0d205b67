/*
 * capacity.h: how many more fit, and which limit binds first.
 *
 * One computation serves every question of the kind "how many more of
 * these can start": the host document's headroom by shape (`headroom`:
 * more objects of a consumer's shape, more copies of its whole holding),
 * restart_headroom (a restart while the old objects linger is one more
 * copy), the limit a forecast or a leak exhausts first, and `plan postgres
 * --host` (one more instance of PostgreSQL's sets).
 *
 * A pool says how much of each limit is free; a need says what one unit
 * takes of each; the answer is the minimum over the limits that apply of
 * free / need, and the limit that gives it.  Unknown is never zero: a
 * limit that applies but could not be read makes the answer unknown, unless
 * a known limit already allows none.
 */
#ifndef IPCFLEET_CAPACITY_H
#define IPCFLEET_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* The limits considered, in the order ties are broken (the first binds). */
enum capacity_limit {
	CAP_SEMMNI = 0, /* sets */
	CAP_SEMMNS,     /* semaphores */
	CAP_SEMMSL,     /* semaphores per set: a set larger cannot be made */
	CAP_SHMMNI,     /* segments */
	CAP_SHMALL,     /* pages */
	CAP_SHMMAX,     /* bytes per segment: a larger one cannot be made */
	CAP_SHMSEG,     /* segments one process attaches */
	CAP_MSGMNI,     /* queues */
	CAP_NSEM,       /* a jail's rctl deny rules (FreeBSD racct) */
	CAP_NSHM,
	CAP_SHMSIZE,
	CAP_NMSGQ,
	CAP_COUNT
};

enum capacity_state { CAP_ABSENT = 0, CAP_KNOWN, CAP_UNKNOWN };

/* What a pool has free. */
struct capacity_pool {
	unsigned char state[CAP_COUNT]; /* enum capacity_state */
	/* counted limits: limit - used (0 when over); semmsl, shmmax, shmseg: the limit */
	uint64_t free[CAP_COUNT];
	/* CAP_UNKNOWN: the reason, or NULL; it points into the usage and snapshot given */
	const char *why[CAP_COUNT];
	/* the objects counted are not all known (not only the limit): a
	 * consumer may hold more than the snapshot lists */
	unsigned char used_unknown[CAP_COUNT];
};

/* What one unit takes: one object of a shape, or a consumer's whole holding. */
struct capacity_need {
	uint64_t sets, sems, max_nsems; /* semaphore sets, their semaphores, the largest */
	/* segments, pages (shmall), bytes in whole pages (racct's shmsize), the largest */
	uint64_t segs, pages, bytes, max_size;
	/* segments the one process that makes them already attaches: shmseg applies
	 * (shmseg - this more); 0: shmseg does not apply */
	uint64_t one_proc_segs;
	uint64_t queues;
	int sems_unknown, size_unknown; /* an object without its nsems / size */
};

struct capacity_fit {
	int known;      /* 0: a limit that applies is unknown (binding names it) */
	uint64_t units; /* how many more fit (0 when not known); UINT64_MAX: no limit applies */
	int binding;    /* enum capacity_limit that gives units; -1 when none applies */
};

/* One limit's terms for capacity_min(). need 0: a check, free 0 (fails) or not. */
struct capacity_term {
	int limit; /* the caller's name for it (enum capacity_limit, or an index) */
	int unknown;
	uint64_t free, need;
};

/* "semmni" ... "shmseg", "msgmni", "nsem" ... "nmsgq"; "?" for others. */
const char *capacity_limit_name(int l);
/*
 * The minimum of floor(free / need) over t[0..n) and the term giving it
 * (the first among equals).  A known 0 is the answer whatever the unknown
 * terms; else an unknown term makes the answer unknown.
 */
void capacity_min(const struct capacity_term *t, size_t n, struct capacity_fit *out);
/*
 * The pool measured by u (model_usage() of s, for pool scope: -1 the host's,
 * else that scope's own), with lim its limits (semmsl, shmmax, shmseg).
 * own: the scope (of s) whose own limits lim are, or -1 for the host's
 * (the host's unknown limits are not a scope's own).
 */
void capacity_pool_init(struct capacity_pool *p, const struct snapshot *s, const struct usage *u,
                        const struct ipc_limits *lim, int own);
/* Adds a jail's rctl deny rules (nsem, nshm, shmsize, nmsgq) to p. */
void capacity_pool_rctl(struct capacity_pool *p, const struct ipc_scope *sc);
/* Adds what object o takes to n. */
void capacity_need_add(struct capacity_need *n, const struct ipc_object *o, uint32_t page_size);
/* How many units of n fit in p. */
void capacity_fit(const struct capacity_pool *p, const struct capacity_need *n,
                  struct capacity_fit *out);

/*
 * Headroom by shape (the host document's "headroom"): per consumer (an
 * owner in a scope) and shape (sets of n semaphores, segments of a size),
 * how many more such objects fit now and how many more copies of the
 * consumer's whole holding, in the pool the scope draws on (a jail: the
 * host's, with its rctl rules; an IPC namespace: its own).
 */
#define HEADROOM_MAX 100 /* rows kept per host, the tightest first */
struct headroom {
	uint32_t scope, uid;
	char owner[MODEL_OWNER_MAX];
	enum ipc_type type; /* IPC_SEM or IPC_SHM */
	uint64_t objects;   /* the consumer's objects of this shape */
	uint64_t shape;     /* nsems of each set, or bytes of each segment */
	struct capacity_fit more_objects, more_instances;
};
/*
 * Every row of s, the tightest first (fewest more instances, then fewest
 * more objects), at most max into a malloc'd *out (NULL when none);
 * *total says how many there were.  Objects whose shape is unknown count in
 * their consumer's holding only.  O(objects log objects).  0, or -1 when
 * out of memory.
 */
int headroom_compute(const struct snapshot *s, size_t max, struct headroom **out, size_t *n,
                     size_t *total);

#endif
