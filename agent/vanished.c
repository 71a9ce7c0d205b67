/*
 * vanished.c: objects that disappeared while their creator still runs
 * (vanished.h).
 *
 * Why on the agent: whether a creator still runs is known only where its
 * processes are (the aggregator sees pids as numbers, not as processes),
 * and the agent keeps what its previous snapshot held in its spool, which
 * outlives --once runs and restarts.  So each snapshot is compared with the
 * previous one: an object present then and gone now (same type and id, and
 * the same creation: key and ctime) whose creator still runs -- a segment's
 * creator pid, or for a set or a queue, which record no creator pid, a
 * process of its owner in the same scope -- is the mark of systemd's
 * RemoveIPC at a logout or of a stray ipcrm, and becomes a `vanished`
 * finding.  The aggregator keeps it open for [analysis] vanished_keep
 * (docs/ANALYSIS.md); an object removed because its program ended is not
 * reported (its creator is gone).
 *
 * The state is text, bounded: "taken TIME", then one object per line,
 * "TYPE ID KEY CTIME UID CPID SCOPE" (SCOPE a scope id, no blanks).  A line
 * that does not parse is ignored: the worst a damaged state can do is miss
 * one snapshot's events.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vanished.h"

#define VAN_FIELDS 7

/* Writes v in decimal, then sep, at p: the end. */
static char *
van_put_i64(char *p, int64_t v, char sep)
{
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	char digits[20];
	size_t n = 0;

	do {
		digits[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*p++ = '-';
	while (n > 0)
		*p++ = digits[--n];
	*p++ = sep;
	return p;
}

/*
 * The lines are made by hand: the state is made every snapshot, one line
 * per object, and printf's parsing of the format was a twentieth of a
 * 1,000-object snapshot's cost (issue 17).
 */
int
vanished_state(const struct snapshot *s, struct buf *out)
{
	/* a type, five numbers of at most 20 characters each, a scope id, blanks */
	char line[8 + 5 * 21 + MODEL_NAME_MAX + 2];
	size_t i;

	buf_reset(out);
	buf_printf(out, "taken %" PRId64 "\n", s->taken);
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];
		const char *type = ipc_type_name(o->type), *scope;
		char *p = line;
		size_t n;

		if (o->scope >= s->nscopes)
			continue;
		scope = s->scopes[o->scope].id;
		n = strlen(type);
		memcpy(p, type, n < 7 ? n : 7);
		p += n < 7 ? n : 7;
		*p++ = ' ';
		p = van_put_i64(p, o->id, ' ');
		p = van_put_i64(p, o->key, ' ');
		p = van_put_i64(p, (o->unknown & OF_CTIME) ? -1 : o->ctime, ' ');
		p = van_put_i64(p, o->uid, ' ');
		p = van_put_i64(p, (o->unknown & OF_CPID) ? -1 : o->cpid, ' ');
		n = strnlen(scope, MODEL_NAME_MAX - 1);
		memcpy(p, scope, n);
		p += n;
		*p++ = '\n';
		buf_append(out, line, (size_t)(p - line));
	}
	return buf_failed(out) ? -1 : 0;
}

/* One state line into its parts; -1 when it does not parse. */
static int
van_line(char *line, struct vanished_prev *p)
{
	char *f[VAN_FIELDS + 1];
	const char *why;
	uint64_t uid;

	if (split_fields(line, f, NELEM(f)) != VAN_FIELDS || ipc_type_parse(f[0], &p->type) == -1 ||
	    parse_i64(f[1], 0, INT32_MAX, &p->id, &why) == -1 ||
	    parse_i64(f[2], INT64_MIN, INT64_MAX, &p->key, &why) == -1 ||
	    parse_i64(f[3], -1, INT64_MAX, &p->ctime, &why) == -1 ||
	    parse_u64(f[4], 0, UINT32_MAX, &uid, &why) == -1 ||
	    parse_i64(f[5], -1, INT64_MAX, &p->cpid, &why) == -1 ||
	    strlen(f[6]) >= sizeof(p->scope))
		return -1;
	p->uid = (uint32_t)uid;
	memcpy(p->scope, f[6], strlen(f[6]) + 1);
	return 0;
}

/*
 * The current snapshot and processes, sorted once, so that each line of the
 * state is answered in log n: 100,000 objects and a million processes are
 * bounds, not worst cases to walk once per object.
 */
struct van_index {
	struct van_obj {
		uint32_t scope; /* ids are per IPC namespace: the scope is part of the key */
		uint32_t type;
		int64_t id;
		size_t idx; /* into s->objects */
	} * obj;
	struct van_scope {
		const char *id;
		uint32_t idx;
	} * scope; /* sorted by id */
	size_t nscope;
	struct proc_table *pt; /* pids alive, and owners: uids read as asked */
	size_t nobj;
};

static int
van_obj_cmp(const void *a, const void *b)
{
	const struct van_obj *x = a, *y = b;

	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int
van_scope_cmp(const void *a, const void *b)
{
	return strcmp(((const struct van_scope *)a)->id, ((const struct van_scope *)b)->id);
}

/* The index in s of the scope named id, or -1. */
static int
van_scope(const struct van_index *ix, const char *id)
{
	struct van_scope key = {id, 0};
	const struct van_scope *hit =
	    bsearch(&key, ix->scope, ix->nscope, sizeof(key), van_scope_cmp);

	return hit != NULL ? (int)hit->idx : -1;
}

static void
van_index_free(struct van_index *ix)
{
	free(ix->scope);
	free(ix->obj);
}

static int
van_index_build(struct van_index *ix, const struct snapshot *s, struct proc_table *pt)
{
	size_t i;

	memset(ix, 0, sizeof(*ix));
	ix->nobj = s->nobjects;
	ix->nscope = s->nscopes;
	if ((ix->scope = calloc(ix->nscope ? ix->nscope : 1, sizeof(*ix->scope))) == NULL ||
	    (ix->obj = calloc(ix->nobj ? ix->nobj : 1, sizeof(*ix->obj))) == NULL) {
		van_index_free(ix);
		return -1;
	}
	for (i = 0; i < ix->nobj; i++) {
		ix->obj[i].scope = s->objects[i].scope;
		ix->obj[i].type = (uint32_t)s->objects[i].type;
		ix->obj[i].id = s->objects[i].id;
		ix->obj[i].idx = i;
	}
	ix->pt = pt;
	for (i = 0; i < ix->nscope; i++) {
		ix->scope[i].id = s->scopes[i].id;
		ix->scope[i].idx = (uint32_t)i;
	}
	qsort(ix->scope, ix->nscope, sizeof(*ix->scope), van_scope_cmp);
	qsort(ix->obj, ix->nobj, sizeof(*ix->obj), van_obj_cmp);
	return 0;
}

/*
 * Whether creation times a (now) and b (before) are the same.  From times
 * of day (FreeBSD) they are put on the day they were read, so a day later
 * the same time is a day later, and across a change of daylight saving
 * time an hour (or, in a few zones, half an hour) off: a difference of
 * whole days, give or take that, is the same time.  (FreeBSD gives a
 * reused slot a new id, 32,768 reuses apart: the id and key decide.)
 */
static int
van_same_ctime(const struct snapshot *s, int64_t a, int64_t b)
{
	uint64_t d, r;

	if (a == b)
		return 1;
	if (!s->times_of_day)
		return 0;
	d = a > b ? (uint64_t)a - (uint64_t)b : (uint64_t)b - (uint64_t)a;
	r = d % 86400;
	return r % 1800 == 0 && (r <= 3600 || r >= 86400 - 3600);
}

/* Whether scope of s still holds p: the same object, not an id reused since. */
static int
van_present(const struct snapshot *s, const struct van_index *ix, const struct vanished_prev *p,
            uint32_t scope)
{
	struct van_obj key = {scope, (uint32_t)p->type, p->id, 0};
	const struct van_obj *hit = bsearch(&key, ix->obj, ix->nobj, sizeof(key), van_obj_cmp);
	const struct ipc_object *o;

	if (hit == NULL)
		return 0;
	o = &s->objects[hit->idx];
	return o->key == p->key &&
	       (p->ctime < 0 || (o->unknown & OF_CTIME) || van_same_ctime(s, o->ctime, p->ctime));
}

/* Whether the creator of p still runs (see the top of this file). */
static int
van_creator_runs(const struct van_index *ix, const struct vanished_prev *p, uint32_t scope)
{
	/* one that cannot be told is no evidence that the creator runs */
	if (p->type == IPC_SHM)
		return p->cpid > 0 && proc_table_alive(ix->pt, p->cpid) == 1;
	return proc_table_has_owner(ix->pt, scope, p->uid) == 1;
}

static const char *const van_what[3] = {"shared memory segment", "semaphore set", "message queue"};

/* The finding of p, which vanished from scope (an index of s). */
static int
van_finding(struct snapshot *s, const struct vanished_prev *p, uint32_t scope, int64_t prev_taken)
{
	char when[40], who[MODEL_NAME_MAX + 48];
	struct finding *f;

	if ((f = snapshot_add_finding(s)) == NULL)
		return -1;
	f->kind = FK_VANISHED;
	f->severity = SEV_WARN;
	f->has_object = 1;
	f->otype = p->type;
	f->oid = p->id;
	f->uid = p->uid;
	ifl_strlcpy(f->scope, s->scopes[scope].id, sizeof(f->scope));
	if (p->type == IPC_SHM && p->cpid > 0)
		snprintf(who, sizeof(who), "its creator, pid %" PRId64 ", still runs", p->cpid);
	else
		snprintf(who, sizeof(who), "uid %" PRIu32 " still runs in %s", p->uid,
		         s->scopes[scope].name);
	snprintf(f->message, sizeof(f->message),
	         "%s %" PRId64 " (key %" PRId64 ", uid %" PRIu32 ") vanished since %s while %s: "
	         "RemoveIPC at a logout, or an ipcrm (journalctl -u systemd-logind)",
	         van_what[p->type], p->id, p->key, p->uid,
	         prev_taken > 0 ? fmt_rfc3339(prev_taken, when, sizeof(when)) : "the last snapshot",
	         who);
	return 0;
}

int
vanished_same_objects(const char *a, size_t alen, const char *b, size_t blen)
{
	const char *ea = memchr(a, '\n', alen), *eb = memchr(b, '\n', blen);

	/* the first line is "taken TIME"; the objects follow */
	if (ea == NULL || eb == NULL)
		return 0;
	alen -= (size_t)(ea - a);
	blen -= (size_t)(eb - b);
	return alen == blen && memcmp(ea, eb, alen) == 0;
}

int
vanished_findings(struct snapshot *s, struct proc_table *pt, char *prev, int64_t seen)
{
	struct van_index ix;
	char *line, *nl;
	int64_t prev_taken = 0;
	int n = 0;

	/* without every process, "its creator still runs" cannot be told */
	if (prev == NULL || *prev == '\0' || pt == NULL || !pt->valid)
		return 0;
	if (van_index_build(&ix, s, pt) == -1)
		return -1;
	for (line = prev; line != NULL && *line != '\0'; line = nl != NULL ? nl + 1 : NULL) {
		struct vanished_prev p;
		int scope;

		if ((nl = strchr(line, '\n')) != NULL)
			*nl = '\0';
		if (line == prev && sscanf(line, "taken %" SCNd64, &prev_taken) == 1) {
			if (seen > prev_taken)
				prev_taken = seen;
			continue;
		}
		/* a scope that went away took its objects with it: nothing to say */
		if (van_line(line, &p) == -1 || (scope = van_scope(&ix, p.scope)) < 0 ||
		    van_present(s, &ix, &p, (uint32_t)scope) ||
		    !van_creator_runs(&ix, &p, (uint32_t)scope))
			continue;
		if (van_finding(s, &p, (uint32_t)scope, prev_taken) == -1) {
			n = -1;
			break;
		}
		n++;
	}
	van_index_free(&ix);
	return n;
}
