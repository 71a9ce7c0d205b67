/*
 * daytimes.c: dates carried across snapshots for times read as times of
 * day (daytimes.h).
 */
#include <stddef.h>
#include <stdlib.h>

#include "daytimes.h"
#include "util.h"

#define DT_DAY 86400

#define DT_NO_PID ((size_t)-1)

/*
 * The times an object may have and the flag that says one is unknown; and
 * the pid ipcs prints beside it, the process of that last event (DT_NO_PID:
 * none).  A time of day read again with another pid is a new event, on the
 * same second of a later day (a daily job): not carried.  A semop has no
 * pid in ipcs -a, and a set's otime is carried on its time of day alone.
 */
static const struct {
	size_t off;
	uint32_t of;
	size_t pid_off;
	uint32_t pid_of;
} dt_fields[] = {
    {offsetof(struct ipc_object, atime), OF_ATIME, offsetof(struct ipc_object, lpid), OF_LPID},
    {offsetof(struct ipc_object, dtime), OF_DTIME, offsetof(struct ipc_object, lpid), OF_LPID},
    {offsetof(struct ipc_object, otime), OF_OTIME, DT_NO_PID, 0},
    {offsetof(struct ipc_object, stime), OF_STIME, offsetof(struct ipc_object, lspid), OF_LSPID},
    {offsetof(struct ipc_object, rtime), OF_RTIME, offsetof(struct ipc_object, lrpid), OF_LRPID},
    {offsetof(struct ipc_object, ctime), OF_CTIME, DT_NO_PID, 0},
};
#define DT_N (sizeof(dt_fields) / sizeof(dt_fields[0]))

struct daytimes_rec {
	uint64_t scope; /* a hash of the scope's id: ids are per scope */
	int64_t id, key;
	uint32_t type;
	int64_t t[DT_N];     /* the time given (carried or as read); -1: unknown */
	int64_t local[DT_N]; /* as read, in local time: what ipcs printed, dated */
	int64_t pid[DT_N];   /* the pid beside it; -1: none, or unknown */
};

static int
dt_cmp(const void *a, const void *b)
{
	const struct daytimes_rec *x = a, *y = b;

	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

static int64_t *
dt_time(struct ipc_object *o, size_t f)
{
	return (int64_t *)(void *)((char *)o + dt_fields[f].off);
}

/* The pid beside time f of o; -1 when it has none or it is unknown. */
static int64_t
dt_pid(const struct ipc_object *o, size_t f)
{
	if (dt_fields[f].pid_off == DT_NO_PID || (o->unknown & dt_fields[f].pid_of))
		return -1;
	return *(const int64_t *)(const void *)((const char *)o + dt_fields[f].pid_off);
}

/*
 * Whether a time read now (in local time) is the one read before: the same
 * time of day, on the same day or a later one.  Times of day are bounded
 * (the collector's FBSD_TIME_MAX) and offsets within a day: nothing wraps.
 */
static int
dt_same(int64_t local_now, int64_t local_then)
{
	int64_t d = local_now - local_then;

	return d >= 0 && d % DT_DAY == 0;
}

void
daytimes_carry(struct daytimes *m, struct snapshot *s)
{
	struct daytimes_rec *nv;
	size_t i, f;

	if (!s->times_of_day || s->nobjects == 0 ||
	    (nv = calloc(s->nobjects, sizeof(*nv))) == NULL) {
		daytimes_free(m);
		return;
	}
	for (i = 0; i < s->nobjects; i++) {
		struct ipc_object *o = &s->objects[i];
		struct daytimes_rec *r = &nv[i];
		const struct daytimes_rec *p = NULL;

		r->scope = o->scope < s->nscopes ? fnv1a64_str(s->scopes[o->scope].id) : 0;
		r->type = (uint32_t)o->type;
		r->id = o->id;
		r->key = o->key;
		if (m->n > 0)
			p = bsearch(r, m->v, m->n, sizeof(*r), dt_cmp);
		for (f = 0; f < DT_N; f++) {
			int64_t *t = dt_time(o, f);

			/* 0: never (no-entry), which has no date to keep */
			if ((o->unknown & dt_fields[f].of) || *t <= 0) {
				r->t[f] = -1;
				continue;
			}
			r->local[f] = *t + s->utc_offset;
			r->pid[f] = dt_pid(o, f);
			if (p != NULL && p->t[f] > 0 && dt_same(r->local[f], p->local[f]) &&
			    (dt_fields[f].pid_off == DT_NO_PID ||
			     (r->pid[f] >= 0 && r->pid[f] == p->pid[f])))
				*t = p->t[f];
			r->t[f] = *t;
		}
	}
	qsort(nv, s->nobjects, sizeof(*nv), dt_cmp);
	free(m->v);
	m->v = nv;
	m->n = s->nobjects;
}

void
daytimes_free(struct daytimes *m)
{
	free(m->v);
	m->v = NULL;
	m->n = 0;
}
