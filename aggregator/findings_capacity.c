/*
 * findings_capacity.c: the capacity rules of issue 14 (findings.h):
 *
 *   leak          an owner's object count in a scope grows across
 *                 leak_min_snapshots snapshots spanning leak_window, never
 *                 falling; when it runs out comes from capacity.h
 *   queue_fill    a queue's bytes against its qbytes, at the thresholds'
 *                 levels with hysteresis; its messages' growth; no reader
 *   permissions   objects others may read or write
 *   threshold     on a jail's rctl rules (FreeBSD racct)
 *   orphan        a removed orphan's record, kept for orphan_keep
 *
 * Each is linear in the objects or n log n, and bounded (docs/ANALYSIS.md,
 * "Bounds"): the counts followed (COUNTS_*_MAX), and the findings of each
 * rule beyond which one finding counts the rest.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "findings.h"
#include "util.h"

/* ---- counts followed ---- */

/* One object's owner key, for counting. */
struct cap_okey {
	uint32_t scope, uid, type;
};

static int
cap_okey_cmp(const void *a, const void *b)
{
	const struct cap_okey *x = a, *y = b;

	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

/* Largest value first; then by key, for a stable choice. */
static int
cap_run_larger(const void *a, const void *b)
{
	const struct count_run *x = a, *y = b;
	int c;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	if ((c = strcmp(x->scope, y->scope)) != 0)
		return c;
	if (x->what != y->what)
		return x->what < y->what ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* A queue's fill for counts_of(): per mille of qbytes, -1 when not known. */
static int64_t
cap_fill(const struct ipc_object *o)
{
	if (o->type != IPC_MSG || (o->unknown & (OF_CBYTES | OF_QBYTES | OF_QNUM)) ||
	    o->qbytes == 0)
		return -1;
	/* a double: cbytes * 1000 could wrap (any value a peer sends is decoded) */
	return (int64_t)(o->cbytes >= o->qbytes ? 1000
	                                        : (double)o->cbytes * 1000.0 / (double)o->qbytes);
}

struct cap_qpick {
	int64_t fill;
	size_t i;
};

static int
cap_qpick_cmp(const void *a, const void *b)
{
	const struct cap_qpick *x = a, *y = b;

	if (x->fill != y->fill)
		return x->fill > y->fill ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

int
counts_of(const struct snapshot *s, struct count_run **out, size_t *nout)
{
	struct cap_okey *k = NULL;
	struct cap_qpick *q = NULL;
	struct count_run *v = NULL;
	size_t nk = 0, nq = 0, nv = 0, i, j;

	*out = NULL;
	*nout = 0;
	if (s->nobjects == 0)
		return 0;
	if ((k = calloc(s->nobjects, sizeof(*k))) == NULL ||
	    (q = calloc(s->nobjects, sizeof(*q))) == NULL)
		goto oom;
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];
		int64_t fill;

		if (o->scope >= s->nscopes)
			continue;
		k[nk].scope = o->scope;
		k[nk].uid = o->uid;
		k[nk].type = (uint32_t)o->type;
		nk++;
		if ((fill = cap_fill(o)) >= 0 && o->qnum > 0) {
			q[nq].fill = fill;
			q[nq].i = i;
			nq++;
		}
	}
	if (nk > 0) /* qsort(NULL, 0) is undefined */
		qsort(k, nk, sizeof(*k), cap_okey_cmp);
	/* one run per owner key (at most one per object), then the largest kept */
	if ((v = calloc(nk + (nq < COUNTS_QUEUES_MAX ? nq : COUNTS_QUEUES_MAX) + 1, sizeof(*v))) ==
	    NULL)
		goto oom;
	for (i = 0; i < nk; i = j) {
		for (j = i; j < nk && cap_okey_cmp(&k[j], &k[i]) == 0; j++)
			;
		ifl_strlcpy(v[nv].scope, s->scopes[k[i].scope].id, sizeof(v[nv].scope));
		v[nv].what = (int32_t)k[i].type;
		v[nv].id = k[i].uid;
		v[nv].value = j - i;
		nv++;
	}
	if (nv > COUNTS_OWNERS_MAX) {
		qsort(v, nv, sizeof(*v), cap_run_larger);
		nv = COUNTS_OWNERS_MAX;
	}
	if (nq > 0) /* qsort(NULL, 0) is undefined */
		qsort(q, nq, sizeof(*q), cap_qpick_cmp);
	for (i = 0; i < nq && i < COUNTS_QUEUES_MAX; i++) {
		const struct ipc_object *o = &s->objects[q[i].i];

		memset(&v[nv], 0, sizeof(v[nv]));
		ifl_strlcpy(v[nv].scope, s->scopes[o->scope].id, sizeof(v[nv].scope));
		v[nv].what = CW_QNUM;
		v[nv].id = o->id;
		v[nv].value = o->qnum;
		nv++;
	}
	free(k);
	free(q);
	if (nv == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*nout = nv;
	return 0;
oom:
	free(k);
	free(q);
	free(v);
	return -1;
}

/* ---- runs ---- */

/* The runs of one key in in->runs: [*a, *b), oldest first (binary search). */
static void
cap_runs_of(const struct eval_input *in, const char *scope, int32_t what, int64_t id, size_t *a,
            size_t *b)
{
	size_t lo = 0, hi = in->nruns;
	struct count_run key;

	memset(&key, 0, sizeof(key));
	ifl_strlcpy(key.scope, scope, sizeof(key.scope));
	key.what = what;
	key.id = id;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct count_run *r = &in->runs[mid];
		int c = strcmp(r->scope, key.scope);

		if (c == 0)
			c = r->what != what ? (r->what < what ? -1 : 1)
			    : r->id != id   ? (r->id < id ? -1 : 1)
			                    : 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*a = lo;
	while (lo < in->nruns && in->runs[lo].what == what && in->runs[lo].id == id &&
	       strcmp(in->runs[lo].scope, scope) == 0)
		lo++;
	*b = lo;
}

/*
 * The window of a key's runs r[0..n) (oldest first) that the leak rule
 * judges, ending now at the last run: the fewest latest snapshots that are
 * at least min_snapshots and span at least window.  *ws its start (the
 * later of the first run's start and now - window), *j0 its first run.
 * 0 when the history does not reach back that far, or has a gap.
 */
static int
cap_window(const struct count_run *r, size_t n, int64_t now, int64_t window, uint64_t min_snaps,
           size_t *j0, int64_t *ws)
{
	uint64_t snaps = 0;
	size_t j = n;

	if (n == 0 || r[n - 1].last != now)
		return 0; /* not counted in this snapshot */
	while (j > 0) {
		j--;
		snaps += r[j].snapshots;
		if (snaps >= min_snaps && now - r[j].first >= window) {
			int64_t start = now - window;

			/* inside this run when it began earlier: its value holds there */
			*ws = start > r[j].first ? (start < r[j].last ? start : r[j].last)
			                         : r[j].first;
			*j0 = j;
			return 1;
		}
		if (!r[j].cont)
			return 0; /* the key was not counted before this run */
	}
	return 0;
}

/* The value of the runs r[j0..n) at time t (the run that holds it). */
static uint64_t
cap_value_at(const struct count_run *r, size_t j0, size_t n, int64_t t)
{
	size_t j = j0;

	while (j + 1 < n && r[j + 1].first <= t)
		j++;
	return r[j].value;
}

/* "6h00m", "2d03h", "45s": a span for a message. */
static void
cap_span(int64_t secs, char *buf, size_t len)
{
	uint64_t a = (uint64_t)(secs < 0 ? 0 : secs);

	if (a >= 86400)
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", a / 86400, a % 86400 / 3600);
	else if (a >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", a / 3600, a % 3600 / 60);
	else if (a >= 60)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", a / 60, a % 60);
	else
		snprintf(buf, len, "%" PRIu64 "s", a);
}

/* ---- leak ---- */

static const char *
cap_what(int type)
{
	return type == IPC_SEM ? "semaphore sets" : type == IPC_SHM ? "segments" : "queues";
}

/* The counted limit a leak of objects of type t is named by (its identity). */
static const char *
cap_leak_limit(int type)
{
	return type == IPC_SEM ? "semmni" : type == IPC_SHM ? "shmmni" : "msgmni";
}

static int
cap_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * The owner's usual shape in scope sc (the most common nsems or size of its
 * objects of that type) into *one (capacity_need of one such object), and
 * whether one of its sets carries a devicemapper udev cookie's key
 * (0x0d4dXXXX).  0, or -1 when out of memory.
 */
static int
cap_leak_shape(const struct snapshot *s, uint32_t sc, uint32_t uid, int type,
               struct capacity_need *one, uint64_t *shape, int *udev)
{
	uint64_t *v;
	size_t n = 0, i, j, best = 0;

	memset(one, 0, sizeof(*one));
	*shape = 0;
	*udev = 0;
	if ((v = calloc(s->nobjects ? s->nobjects : 1, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];

		if (o->scope != sc || o->uid != uid || (int)o->type != type)
			continue;
		if (type == IPC_SEM && !(o->unknown & OF_NSEMS))
			v[n++] = o->nsems;
		else if (type == IPC_SHM && !(o->unknown & OF_SIZE))
			v[n++] = o->size;
		else if (type == IPC_MSG)
			v[n++] = 0;
		if (type == IPC_SEM && ((uint64_t)o->key & 0xffff0000u) == 0x0d4d0000u)
			*udev = 1;
	}
	if (n > 0) /* qsort(NULL, 0) is undefined */
		qsort(v, n, sizeof(*v), cap_u64_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && v[j] == v[i]; j++)
			;
		if (j - i > best) {
			best = j - i;
			*shape = v[i];
		}
	}
	free(v);
	if (best == 0)
		return 1; /* no known shape */
	switch (type) {
	case IPC_SEM:
		one->sets = 1;
		one->sems = one->max_nsems = *shape;
		break;
	case IPC_SHM:
		one->segs = 1;
		one->pages = shm_pages(*shape, s->page_size);
		one->bytes = one->max_size = *shape;
		break;
	default:
		one->queues = 1;
		break;
	}
	return 0;
}

/* What usually leaks with that shape, for the message. */
static const char *
cap_leak_hint(int type, uint64_t shape, int udev)
{
	if (type == IPC_SEM && udev)
		return "keys 0x0d4d....: devicemapper udev cookies (dmsetup udevcookies, then "
		       "dmsetup udevcomplete_all)";
	if (type == IPC_SEM && shape == 1)
		return "sets of 1 of a web server's user are usually mutexes left by killed "
		       "children (Apache AH00023)";
	if (type == IPC_SEM && shape == 17)
		return "sets of 17 are PostgreSQL's: a crashed postmaster's sets linger";
	return "";
}

/* The pool scope sc draws on (capacity.h), measured on this snapshot. */
static void
cap_pool_of(const struct snapshot *s, uint32_t sc, struct capacity_pool *p)
{
	struct usage u;

	if (s->scopes[sc].own_limits) {
		model_usage(s, (int)sc, &u);
		capacity_pool_init(p, s, &u, &s->scopes[sc].limits, (int)sc);
	} else {
		model_usage(s, -1, &u);
		capacity_pool_init(p, s, &u, &s->limits, -1);
		if (s->scopes[sc].kind == SCOPE_JAIL)
			capacity_pool_rctl(p, &s->scopes[sc]);
	}
	memset(p->why, 0, sizeof(p->why)); /* they point into u */
}

/* One owner key's leak finding, when its runs r[0..n) say it leaks. */
static int
cap_leak_one(const struct eval_ctx *cx, const struct count_run *r, size_t n,
             struct finding_list *out)
{
	const struct eval_input *in = cx->in;
	const struct snapshot *s = in->s;
	const struct count_run *last = &r[n - 1];
	struct capacity_need one;
	struct capacity_pool pool;
	struct capacity_fit fit;
	struct finding *f;
	uint64_t v0, shape;
	int64_t ws, span, last_rise = INT64_MIN;
	size_t j0, k, rises = 0;
	double per_day;
	char who[MODEL_OWNER_MAX + 32], spans[32], when[32], runs_out[160] = "",
	                                                     owner[MODEL_OWNER_MAX];
	int sc, udev, rc;

	if (!cap_window(r, n, s->taken, in->leak_window, in->leak_min_snapshots, &j0, &ws))
		return 0;
	for (k = j0 + 1; k < n; k++) {
		if (r[k].value < r[k - 1].value)
			return 0; /* it fell: freed, not leaked */
		if (r[k].value > r[k - 1].value) {
			rises++;
			last_rise = r[k].first;
		}
	}
	span = s->taken - ws;
	v0 = cap_value_at(r, j0, n, ws);
	/*
	 * It rose at least twice, the last time in the window's second half: a
	 * start-up burst (one rise, or all of them long ago) is no leak
	 */
	if (span <= 0 || rises < 2 || last->value <= v0 || last_rise < ws + span / 2)
		return 0;
	if ((sc = snapshot_find_scope(s, last->scope)) < 0)
		return 0;
	per_day = (double)(last->value - v0) * 86400.0 / (double)span;
	owner[0] = '\0';
	for (k = 0; k < s->nobjects && owner[0] == '\0'; k++)
		if (s->objects[k].scope == (uint32_t)sc && s->objects[k].uid == (uint32_t)last->id)
			ifl_strlcpy(owner, s->objects[k].owner, sizeof(owner));
	if ((f = finding_list_add(out)) == NULL)
		return -1;
	f->kind = FK_LEAK;
	f->severity = SEV_WARN;
	ifl_strlcpy(f->limit, cap_leak_limit(last->what), sizeof(f->limit));
	ifl_strlcpy(f->scope, last->scope, sizeof(f->scope));
	f->uid = (uint32_t)last->id;
	ifl_strlcpy(f->owner, owner, sizeof(f->owner));
	if ((rc = cap_leak_shape(s, (uint32_t)sc, (uint32_t)last->id, last->what, &one, &shape,
	                         &udev)) == -1)
		return -1;
	if (rc == 0) {
		cap_pool_of(s, (uint32_t)sc, &pool);
		capacity_fit(&pool, &one, &fit);
		if (fit.known && fit.binding >= 0) {
			double days = (double)fit.units / per_day;

			f->exhaust_at = time_plus(s->taken, roundl((long double)days * 86400.0L));
			if (f->exhaust_at - s->taken <= in->horizon)
				f->severity = SEV_CRIT;
			snprintf(runs_out, sizeof(runs_out),
			         "; %s runs out around %s (in %.1f days)",
			         capacity_limit_name(fit.binding),
			         fmt_rfc3339(f->exhaust_at, when, sizeof(when)), days);
		}
	}
	finding_owner_label(f->uid, owner, who, sizeof(who));
	cap_span(span, spans, sizeof(spans));
	{
		const char *hint = cap_leak_hint(last->what, shape, udev);
		char msg[4 * MODEL_TEXT_MAX];

		snprintf(msg, sizeof(msg),
		         "%s in %s leaks %s: %" PRIu64 " to %" PRIu64
		         " in %s, never falling, %.1f a "
		         "day%s%s%s",
		         who, last->scope, cap_what(last->what), v0, last->value, spans, per_day,
		         runs_out, hint[0] != '\0' ? "; " : "", hint);
		ifl_strlcpy(f->message, msg, sizeof(f->message));
	}
	return 0;
}

static int
cap_leaks(const struct eval_ctx *cx, struct finding_list *out)
{
	const struct eval_input *in = cx->in;
	size_t a, b;

	if (in->leak_window <= 0 || in->leak_min_snapshots == 0)
		return 0;
	for (a = 0; a < in->nruns; a = b) {
		const struct count_run *r = &in->runs[a];

		for (b = a; b < in->nruns && in->runs[b].what == r->what &&
		            in->runs[b].id == r->id && strcmp(in->runs[b].scope, r->scope) == 0;
		     b++)
			;
		if (r->what > CW_MSG)
			continue; /* a queue's messages: queue_fill's */
		if (cap_leak_one(cx, r, b - a, out) == -1)
			return -1;
	}
	return 0;
}

/* ---- a bounded rule's findings ---- */

/*
 * A candidate of a bounded rule, cheap to keep for every object: which one
 * (i, and r for a jail's resource), its severity and what ranks it among
 * equals.  The findings are built for the kept ones only: a host with
 * 100,000 objects others may write must cost a sort, not 100,000 findings
 * (more than finding_list_add() takes).
 */
struct cap_cand {
	size_t i;
	int r;
	int sev;
	double key; /* larger first among equals (a queue's fill), else 0 */
};

static int
cap_cand_order(const void *a, const void *b)
{
	const struct cap_cand *x = a, *y = b;

	if (x->i != y->i)
		return x->i < y->i ? -1 : 1;
	return x->r < y->r ? -1 : x->r > y->r;
}

/* Worst first, then the larger key; among equals, in cap_cand_order. */
static int
cap_cand_rank(const void *a, const void *b)
{
	const struct cap_cand *x = a, *y = b;

	if (x->sev != y->sev)
		return x->sev > y->sev ? -1 : 1;
	if (x->key != y->key)
		return x->key > y->key ? -1 : 1;
	return cap_cand_order(a, b);
}

/* Appends a candidate (bounded by the objects, or the jails' resources). */
static int
cap_cand_push(struct cap_cand **v, size_t *n, size_t *cap, size_t i, int r, int sev, double key)
{
	if (grow_array(v, cap, *n + 1, 64, (size_t)MODEL_MAX_OBJECTS * RCTL_COUNT, sizeof(**v)) ==
	    -1)
		return -1;
	(*v)[*n].i = i;
	(*v)[*n].r = r;
	(*v)[*n].sev = sev;
	(*v)[*n].key = key;
	(*n)++;
	return 0;
}

/*
 * Keeps the max worst of v[0..*n), in their first order again; returns how
 * many were left out and, in *worst, the worst severity among them.
 */
static size_t
cap_cand_keep(struct cap_cand *v, size_t *n, size_t max, int *worst)
{
	size_t i, left;

	*worst = SEV_INFO;
	if (*n <= max)
		return 0;
	qsort(v, *n, sizeof(*v), cap_cand_rank);
	for (i = max; i < *n; i++)
		if (v[i].sev > *worst)
			*worst = v[i].sev;
	left = *n - max;
	*n = max;
	if (max > 0)
		qsort(v, max, sizeof(*v), cap_cand_order);
	return left;
}

/* The finding of kind that counts what a bounded rule left out. */
static int
cap_more(struct finding_list *out, enum finding_kind kind, size_t left, int worst, const char *what,
         size_t max)
{
	struct finding *f;

	if (left == 0)
		return 0;
	if ((f = finding_list_add(out)) == NULL)
		return -1;
	f->kind = kind;
	f->severity = (enum severity)worst;
	snprintf(f->message, sizeof(f->message),
	         "%zu more %s were not listed (the %zu worst are): ipcfleet host shows every "
	         "object",
	         left, what, max);
	return 0;
}

/* ---- queue_fill ---- */

/* " (+40 messages in 2h00m)": the queue's messages' growth, from its runs. */
static void
cap_qnum_growth(const struct eval_input *in, const char *scope, int64_t id, char *out, size_t len)
{
	size_t a, b, j;
	char span[32];

	out[0] = '\0';
	cap_runs_of(in, scope, CW_QNUM, id, &a, &b);
	if (b == a || in->runs[b - 1].last != in->s->taken)
		return;
	/* back over the runs while the count never fell, within leak_window */
	for (j = b - 1; j > a; j--) {
		if (in->runs[j - 1].value > in->runs[j].value || !in->runs[j].cont ||
		    in->s->taken - in->runs[j - 1].first > in->leak_window)
			break;
	}
	if (in->runs[b - 1].value <= in->runs[j].value)
		return;
	cap_span(in->s->taken - in->runs[j].first, span, sizeof(span));
	snprintf(out, len, ", +%" PRIu64 " messages in %s",
	         in->runs[b - 1].value - in->runs[j].value, span);
}

/* The queue_fill probe of queue o: its identity (kind, limit, scope, object). */
static void
cap_queue_probe(const struct snapshot *s, const struct ipc_object *o, struct finding *probe)
{
	memset(probe, 0, sizeof(*probe));
	probe->kind = FK_QUEUE_FILL;
	ifl_strlcpy(probe->limit, "msgmnb", sizeof(probe->limit));
	ifl_strlcpy(probe->scope, s->scopes[o->scope].id, sizeof(probe->scope));
	probe->has_object = 1;
	probe->otype = IPC_MSG;
	probe->oid = o->id;
}

/* Queue o's level with hysteresis against its open finding: SEV_*, or -1. */
static int
cap_queue_level(const struct eval_ctx *cx, const struct ipc_object *o, double *pct)
{
	const struct eval_input *in = cx->in;
	struct finding probe;
	const struct finding *prev;
	double warn, crit;

	/* unknown is never zero: without both figures there is no fill */
	if (o->type != IPC_MSG || o->scope >= in->s->nscopes ||
	    (o->unknown & (OF_CBYTES | OF_QBYTES)) || o->qbytes == 0)
		return -1;
	in->levels(in->levels_arg, "msgmnb", &warn, &crit);
	*pct = usage_pct(o->cbytes, o->qbytes);
	if (*pct < warn - in->hysteresis)
		return -1; /* below any level it could hold: no lookup */
	cap_queue_probe(in->s, o, &probe);
	prev = eval_prev(cx, &probe);
	if (*pct >= crit ||
	    (prev != NULL && prev->severity == SEV_CRIT && *pct >= crit - in->hysteresis))
		return SEV_CRIT;
	if (*pct >= warn || (prev != NULL && *pct >= warn - in->hysteresis))
		return SEV_WARN;
	return -1;
}

static int
cap_queue_finding(const struct eval_ctx *cx, const struct ipc_object *o, int level, double pct,
                  struct finding_list *out)
{
	const struct eval_input *in = cx->in;
	struct finding *f;
	double warn, crit;
	char who[MODEL_OWNER_MAX + 32], grow[64], reader[96] = "", msg[4 * MODEL_TEXT_MAX];

	in->levels(in->levels_arg, "msgmnb", &warn, &crit);
	if ((f = finding_list_add(out)) == NULL)
		return -1;
	cap_queue_probe(in->s, o, f);
	f->severity = (enum severity)level;
	f->uid = o->uid;
	ifl_strlcpy(f->owner, o->owner, sizeof(f->owner));
	cap_qnum_growth(in, f->scope, o->id, grow, sizeof(grow));
	/* a sender, and no receive for QUEUE_NO_READER before the last send */
	if (!(o->unknown & (OF_STIME | OF_RTIME | OF_QNUM)) && o->qnum > 0 && o->stime > 0 &&
	    o->rtime >= 0 && (o->rtime == 0 || o->stime - o->rtime >= QUEUE_NO_READER)) {
		char ago[32];

		if (o->rtime == 0)
			snprintf(reader, sizeof(reader),
			         "; no reader: nothing was ever received from it");
		else {
			cap_span(o->stime - o->rtime, ago, sizeof(ago));
			snprintf(reader, sizeof(reader),
			         "; no reader: the last receive was %s before the last send", ago);
		}
	}
	finding_owner_label(o->uid, o->owner, who, sizeof(who));
	if (o->unknown & OF_QNUM)
		snprintf(msg, sizeof(msg),
		         "queue %" PRId64 " of %s in %s holds %" PRIu64 " of %" PRIu64
		         " bytes (%.1f%%, %s at %.0f%%)%s",
		         o->id, who, f->scope, o->cbytes, o->qbytes, pct,
		         level == SEV_CRIT ? "crit" : "warn", level == SEV_CRIT ? crit : warn,
		         reader);
	else
		snprintf(msg, sizeof(msg),
		         "queue %" PRId64 " of %s in %s holds %" PRIu64 " of %" PRIu64
		         " bytes (%.1f%%, %s at %.0f%%) in %" PRIu64 " messages%s%s",
		         o->id, who, f->scope, o->cbytes, o->qbytes, pct,
		         level == SEV_CRIT ? "crit" : "warn", level == SEV_CRIT ? crit : warn,
		         o->qnum, grow, reader);
	ifl_strlcpy(f->message, msg, sizeof(f->message));
	return 0;
}

static int
cap_queues(const struct eval_ctx *cx, struct finding_list *out)
{
	const struct snapshot *s = cx->in->s;
	struct cap_cand *v = NULL;
	size_t n = 0, cap = 0, i, left;
	int level, worst, rc = -1;
	double pct;

	for (i = 0; i < s->nobjects; i++)
		if ((level = cap_queue_level(cx, &s->objects[i], &pct)) >= 0 &&
		    cap_cand_push(&v, &n, &cap, i, 0, level, pct) == -1)
			goto out;
	left = cap_cand_keep(v, &n, FINDINGS_QUEUES_MAX, &worst);
	for (i = 0; i < n; i++) {
		const struct ipc_object *o = &s->objects[v[i].i];

		if (cap_queue_finding(cx, o, v[i].sev, v[i].key, out) == -1)
			goto out;
	}
	rc = cap_more(out, FK_QUEUE_FILL, left, worst, "queues at warn or crit",
	              FINDINGS_QUEUES_MAX);
out:
	free(v);
	return rc;
}

/* ---- permissions ---- */

/* Who shares the namespace of objects of type t in the host's namespace. */
/*
 * Who else reaches an object.  FreeBSD (sysv_shm.c, sysv_sem.c, sysv_msg.c:
 * *_prison_cansee): a jail whose sysvshm (sysvsem, sysvmsg) is "inherit"
 * takes the host's root prison, and sees by id every object made in it or
 * in any jail below it: the host's, and every jail's, "new" ones too (keys
 * are looked up per jail, ids are not).  A "new" jail sees only its own.
 */
struct cap_shared {
	size_t jails[3];         /* jails that inherit the host's namespace, per type */
	const char *first[3][2]; /* the first two of them */
	int containers;          /* Linux: a container shares the host's namespace */
};

static void
cap_shared_of(const struct snapshot *s, struct cap_shared *sh)
{
	size_t i;
	int t;

	memset(sh, 0, sizeof(*sh));
	for (i = 0; i < s->nscopes; i++) {
		if (s->scopes[i].kind != SCOPE_JAIL)
			continue;
		for (t = IPC_SHM; t <= IPC_MSG; t++) {
			if (s->scopes[i].iso[t] != ISO_INHERIT)
				continue;
			if (sh->jails[t] < 2)
				sh->first[t][sh->jails[t]] = s->scopes[i].name;
			sh->jails[t]++;
		}
	}
	/* the Linux agent's isolation finding: a container in the host's IPC namespace */
	for (i = 0; i < s->nfindings; i++)
		if (s->findings[i].kind == FK_ISOLATION &&
		    strcmp(s->findings[i].scope, "host") == 0)
			sh->containers = 1;
}

/*
 * Whether o is reached from jails other than its own (1: *other of them,
 * *name the first) or from containers (2); 0 when from neither.
 */
static int
cap_shared_for(const struct snapshot *s, const struct cap_shared *sh, const struct ipc_object *o,
               size_t *other, const char **name)
{
	const struct ipc_scope *sc = &s->scopes[o->scope];
	int t = o->type, self;

	/* every inherit jail reaches the host's objects and every jail's, but its own
	 * do not count: of those, only other inherit jails' roots can remove them */
	self = sc->kind == SCOPE_JAIL && sc->iso[t] == ISO_INHERIT;
	if ((sc->kind == SCOPE_HOST || sc->kind == SCOPE_JAIL) && sh->jails[t] > (size_t)self) {
		if (other != NULL)
			*other = sh->jails[t] - (size_t)self;
		if (name != NULL)
			*name =
			    self && sh->first[t][0] == sc->name ? sh->first[t][1] : sh->first[t][0];
		return 1;
	}
	if (sc->kind == SCOPE_HOST && sh->containers)
		return 2;
	return 0;
}

/* "read and write" (shm, msg) or "read and alter" (sem) of the bits of one class. */
static const char *
cap_access(enum ipc_type t, unsigned bits /* 0..7 of one class */)
{
	int r = (bits & 4) != 0, w = (bits & 2) != 0;

	if (r && w)
		return t == IPC_SEM ? "read and alter" : "read and write";
	if (r)
		return "read";
	if (w)
		return t == IPC_SEM ? "alter" : "write";
	return NULL;
}

static int
cap_permission_finding(const struct snapshot *s, const struct cap_shared *sh,
                       const struct ipc_object *o, struct finding_list *out)
{
	const struct ipc_scope *sc = &s->scopes[o->scope];
	struct finding *f;
	char who[MODEL_OWNER_MAX + 32], shared[256] = "", group[96], creator[64] = "";
	char msg[4 * MODEL_TEXT_MAX];
	const char *grw, *first = "";
	size_t other = 0;
	int how = cap_shared_for(s, sh, o, &other, &first);

	if (how == 1)
		snprintf(shared, sizeof(shared),
		         "; root in %zu other jail(s) that inherit the host's (%.64s first) can "
		         "remove it",
		         other, first);
	else if (how == 2)
		snprintf(
		    shared, sizeof(shared),
		    "; containers share the host's IPC namespace (--ipc=host): they can use it "
		    "too");
	if ((f = finding_list_add(out)) == NULL)
		return -1;
	f->kind = FK_PERMISSIONS;
	f->severity = how != 0 ? SEV_WARN : SEV_INFO;
	ifl_strlcpy(f->scope, sc->id, sizeof(f->scope));
	f->has_object = 1;
	f->otype = o->type;
	f->oid = o->id;
	f->uid = o->uid;
	ifl_strlcpy(f->owner, o->owner, sizeof(f->owner));
	if ((grw = cap_access(o->type, (o->mode >> 3) & 7)) != NULL)
		snprintf(group, sizeof(group), "members of group %" PRIu32 " may %s it", o->gid,
		         grw);
	else
		snprintf(group, sizeof(group), "its group has no access");
	if (o->type == IPC_SHM && !(o->unknown & OF_CPID) && o->cpid > 0)
		snprintf(creator, sizeof(creator), " (pid %" PRId64 ")", o->cpid);
	finding_owner_label(o->uid, o->owner, who, sizeof(who));
	snprintf(msg, sizeof(msg),
	         "%s %" PRId64 " of %s in %s is mode %04o: every user may %s it; %s; created "
	         "with that mode by uid %" PRIu32 "%s%s",
	         o->type == IPC_SEM   ? "semaphore set"
	         : o->type == IPC_SHM ? "segment"
	                              : "queue",
	         o->id, who, sc->id, (unsigned)(o->mode & 0777), cap_access(o->type, o->mode & 7),
	         group, o->cuid, creator, shared);
	ifl_strlcpy(f->message, msg, sizeof(f->message));
	return 0;
}

static int
cap_permissions(const struct eval_ctx *cx, struct finding_list *out)
{
	const struct snapshot *s = cx->in->s;
	struct cap_shared sh;
	struct cap_cand *v = NULL;
	size_t n = 0, cap = 0, i, left;
	int worst, rc = -1;

	cap_shared_of(s, &sh);
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];

		if (o->scope >= s->nscopes || (o->mode & 0006) == 0 || (unsigned)o->type > IPC_MSG)
			continue;
		if (cap_cand_push(&v, &n, &cap, i, 0,
		                  cap_shared_for(s, &sh, o, NULL, NULL) != 0 ? SEV_WARN : SEV_INFO,
		                  0) == -1)
			goto out;
	}
	left = cap_cand_keep(v, &n, FINDINGS_PERMS_MAX, &worst);
	for (i = 0; i < n; i++)
		if (cap_permission_finding(s, &sh, &s->objects[v[i].i], out) == -1)
			goto out;
	rc = cap_more(out, FK_PERMISSIONS, left, worst, "objects others may read or write",
	              FINDINGS_PERMS_MAX);
out:
	free(v);
	return rc;
}

/* ---- a jail's rctl rules ---- */

/* The usage of jail sc's rctl rule r, as one item (nsemop: no usage is held against it). */
static int
cap_rctl_item(const struct ipc_scope *sc, int r, struct usage *u)
{
	uint32_t bit = 1u << r;
	struct usage_item *it;

	memset(u, 0, sizeof(*u));
	if (r == RCTL_NSEMOP || !(sc->rctl.has_limit & bit))
		return 0;
	it = &u->v[u->n++];
	it->name = rctl_res_name((enum rctl_res)r);
	it->limit = sc->rctl.limit[r];
	it->has_limit = 1;
	it->used = sc->rctl.used[r];
	it->unknown_used = !(sc->rctl.has_used & bit);
	return 1;
}

static int
cap_rctl(const struct eval_ctx *cx, struct finding_list *out)
{
	const struct snapshot *s = cx->in->s;
	struct finding_list one = {0};
	struct cap_cand *v = NULL;
	struct usage u;
	size_t n = 0, cap = 0, i, left;
	int r, worst, rc = -1;

	/* each rule's level first (hysteresis included), the findings of the kept ones after */
	for (i = 0; i < s->nscopes; i++) {
		const struct ipc_scope *sc = &s->scopes[i];

		if (sc->kind != SCOPE_JAIL || sc->rctl.has_limit == 0)
			continue;
		for (r = 0; r < RCTL_COUNT; r++) {
			if (!cap_rctl_item(sc, r, &u))
				continue;
			one.n = 0;
			if (eval_thresholds_usage(cx, &u, sc->id, 1, &one) == -1)
				goto out;
			if (one.n > 0 && cap_cand_push(&v, &n, &cap, i, r, (int)one.v[0].severity,
			                               usage_pct(u.v[0].used, u.v[0].limit)) == -1)
				goto out;
		}
	}
	left = cap_cand_keep(v, &n, FINDINGS_RCTL_MAX, &worst);
	for (i = 0; i < n; i++) {
		cap_rctl_item(&s->scopes[v[i].i], v[i].r, &u);
		if (eval_thresholds_usage(cx, &u, s->scopes[v[i].i].id, 1, out) == -1)
			goto out;
	}
	rc = cap_more(out, FK_THRESHOLD, left, worst, "jails' rctl rules at warn or crit",
	              FINDINGS_RCTL_MAX);
out:
	finding_list_free(&one);
	free(v);
	return rc;
}

int
eval_capacity(const struct eval_ctx *cx, struct finding_list *out)
{
	if (cap_leaks(cx, out) == -1 || cap_queues(cx, out) == -1 ||
	    cap_permissions(cx, out) == -1 || cap_rctl(cx, out) == -1)
		return -1;
	return 0;
}

/* ---- removed orphans ---- */

/* A hash set of the snapshot's objects by (scope id, type, id). */
struct cap_objset {
	uint64_t *slot; /* hash + 1 of each object; 0 empty */
	size_t mask;
};

static uint64_t
cap_obj_hash(const char *scope, int type, int64_t id)
{
	uint64_t h = 14695981039346656037ull;
	const char *p;

	for (p = scope; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ (uint64_t)type) * 1099511628211ull;
	h = (h ^ (uint64_t)id) * 1099511628211ull;
	return h | 1; /* never 0: 0 marks an empty slot */
}

static int
cap_objset_make(const struct snapshot *s, struct cap_objset *set)
{
	size_t slots = 16, i;

	while (slots < 2 * s->nobjects)
		slots *= 2;
	if ((set->slot = calloc(slots, sizeof(*set->slot))) == NULL)
		return -1;
	set->mask = slots - 1;
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];
		uint64_t h;
		size_t k;

		if (o->scope >= s->nscopes)
			continue;
		h = cap_obj_hash(s->scopes[o->scope].id, (int)o->type, o->id);
		for (k = (size_t)h & set->mask; set->slot[k] != 0 && set->slot[k] != h;
		     k = (k + 1) & set->mask)
			;
		set->slot[k] = h;
	}
	return 0;
}

/* Whether an object with that hash is there (a hash collision says yes: it is kept open). */
static int
cap_objset_has(const struct cap_objset *set, uint64_t h)
{
	size_t k;

	for (k = (size_t)h & set->mask; set->slot[k] != 0; k = (k + 1) & set->mask)
		if (set->slot[k] == h)
			return 1;
	return 0;
}

int
eval_orphans_removed(const struct eval_input *in, struct finding_list *out)
{
	struct finding_index cur;
	struct cap_objset set = {0};
	char key[FINDING_KEY_MAX];
	size_t i, kept = 0;
	int rc = 0, have_set = 0;

	if (in->orphan_keep <= 0)
		return 0;
	for (i = 0; i < in->nprev && !(in->prev[i].kind == FK_ORPHAN && in->prev[i].has_object);
	     i++)
		;
	if (i == in->nprev)
		return 0;
	if (finding_index_build(&cur, out->v, out->n) == -1)
		return -1;
	/* newest first: the store lists them in the order they were opened */
	for (i = in->nprev; i-- > 0 && rc == 0;) {
		const struct finding *p = &in->prev[i];
		int removed = strncmp(p->message, ORPHAN_REMOVED, strlen(ORPHAN_REMOVED)) == 0;
		struct finding *f;

		if (p->kind != FK_ORPHAN || !p->has_object)
			continue;
		finding_identity(p, key, sizeof(key));
		if (finding_index_first(&cur, key) != SIZE_MAX)
			continue; /* reported again */
		if (removed) {
			/* its record: kept orphan_keep after it was made */
			if (in->now - p->updated >= in->orphan_keep || kept >= FINDINGS_REMOVED_MAX)
				continue;
		} else {
			if (!have_set) {
				if (cap_objset_make(in->s, &set) == -1) {
					rc = -1;
					break;
				}
				have_set = 1;
			}
			/* still there: no longer an orphan (used again), it closes */
			if (cap_objset_has(&set,
			                   cap_obj_hash(p->scope[0] != '\0' ? p->scope : "host",
			                                (int)p->otype, p->oid)) ||
			    kept >= FINDINGS_REMOVED_MAX)
				continue;
		}
		if ((f = finding_list_add(out)) == NULL) {
			rc = -1;
			break;
		}
		*f = *p;
		kept++;
		if (!removed) {
			char when[32], msg[2 * MODEL_TEXT_MAX + 64];

			/* the id may be taken by a new object: no command for it any more */
			f->severity = SEV_INFO;
			f->command[0] = '\0';
			snprintf(msg, sizeof(msg), ORPHAN_REMOVED "%s: %s",
			         fmt_rfc3339(in->now, when, sizeof(when)), p->message);
			ifl_strlcpy(f->message, msg, sizeof(f->message));
		}
	}
	free(set.slot);
	finding_index_free(&cur);
	return rc;
}
