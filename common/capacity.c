/*
 * capacity.c: how many more fit, and which limit binds first (capacity.h).
 */
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "util.h"

static const char *const cap_names[CAP_COUNT] = {
    "semmni", "semmns", "semmsl", "shmmni", "shmall",  "shmmax",
    "shmseg", "msgmni", "nsem",   "nshm",   "shmsize", "nmsgq",
};

const char *
capacity_limit_name(int l)
{
	return l >= 0 && l < CAP_COUNT ? cap_names[l] : "?";
}

void
capacity_min(const struct capacity_term *t, size_t n, struct capacity_fit *out)
{
	uint64_t best = UINT64_MAX;
	int bind = -1, unknown = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t u;

		if (t[i].unknown) {
			if (unknown < 0)
				unknown = t[i].limit;
			continue;
		}
		if (t[i].need == 0)
			u = t[i].free != 0 ? UINT64_MAX : 0; /* a check: it fits or it cannot */
		else
			u = t[i].free / t[i].need;
		if (bind < 0 || u < best) {
			best = u;
			bind = t[i].limit;
		}
	}
	out->known = 1;
	out->units = best;
	out->binding = bind;
	/* a check that passes binds nothing: only a limit that counts does */
	if (bind >= 0 && best == UINT64_MAX)
		out->binding = -1;
	/* a known 0 is exact whatever the others say; else unknown is never a number */
	if (unknown >= 0 && !(bind >= 0 && best == 0)) {
		out->known = 0;
		out->units = 0;
		out->binding = unknown;
	}
}

/* The usage item named name in u, or NULL. */
static const struct usage_item *
cap_item(const struct usage *u, const char *name)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0)
			return &u->v[i];
	return NULL;
}

void
capacity_pool_init(struct capacity_pool *p, const struct snapshot *s, const struct usage *u,
                   const struct ipc_limits *lim, int own)
{
	static const int counted[] = {CAP_SEMMNI, CAP_SEMMNS, CAP_SHMMNI, CAP_SHMALL, CAP_MSGMNI};
	static const int per_object[] = {CAP_SEMMSL, CAP_SHMMAX, CAP_SHMSEG};
	size_t i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < NELEM(counted); i++) {
		const struct usage_item *it = cap_item(u, cap_names[counted[i]]);
		int l = counted[i];

		if (it == NULL)
			continue;
		if (USAGE_KNOWN(it)) {
			p->state[l] = CAP_KNOWN;
			p->free[l] = it->limit > it->used ? it->limit - it->used : 0;
		} else if (it->unknown_used || it->why[0] != '\0') {
			p->state[l] = CAP_UNKNOWN;
			p->why[l] = it->why[0] != '\0' ? it->why : NULL;
		}
		p->used_unknown[l] = it->unknown_used != 0;
	}
	for (i = 0; i < NELEM(per_object); i++) {
		int l = per_object[i];
		const char *why;

		if (limits_get(lim, cap_names[l], &p->free[l]) == 0)
			p->state[l] = CAP_KNOWN;
		else if ((why = snapshot_pool_limit_why(s, own, cap_names[l])) != NULL) {
			p->state[l] = CAP_UNKNOWN;
			p->why[l] = why;
		}
	}
}

void
capacity_pool_rctl(struct capacity_pool *p, const struct ipc_scope *sc)
{
	static const struct {
		int cap;
		enum rctl_res r;
	} map[] = {
	    {CAP_NSEM, RCTL_NSEM},
	    {CAP_NSHM, RCTL_NSHM},
	    {CAP_SHMSIZE, RCTL_SHMSIZE},
	    {CAP_NMSGQ, RCTL_NMSGQ},
	};
	const struct scope_rctl *r = &sc->rctl;
	size_t i;

	for (i = 0; i < NELEM(map); i++) {
		uint32_t bit = 1u << map[i].r;

		if (!(r->has_limit & bit))
			continue;
		if (r->has_used & bit) {
			p->state[map[i].cap] = CAP_KNOWN;
			p->free[map[i].cap] = r->limit[map[i].r] > r->used[map[i].r]
			                          ? r->limit[map[i].r] - r->used[map[i].r]
			                          : 0;
		} else {
			p->state[map[i].cap] = CAP_UNKNOWN;
			p->why[map[i].cap] = "rctl -u gave no usage for the jail";
		}
	}
}

void
capacity_need_add(struct capacity_need *n, const struct ipc_object *o, uint32_t page_size)
{
	uint64_t pages;

	switch (o->type) {
	case IPC_SEM:
		n->sets++;
		if (o->unknown & OF_NSEMS) {
			n->sems_unknown = 1;
			break;
		}
		n->sems = u64_add_sat(n->sems, o->nsems);
		if (o->nsems > n->max_nsems)
			n->max_nsems = o->nsems;
		break;
	case IPC_SHM:
		n->segs++;
		if (o->unknown & OF_SIZE) {
			n->size_unknown = 1;
			break;
		}
		pages = shm_pages(o->size, page_size);
		n->pages = u64_add_sat(n->pages, pages);
		/* racct's shmsize counts whole pages (the kernel rounds a segment up) */
		n->bytes =
		    u64_add_sat(n->bytes, page_size == 0                   ? o->size
		                          : pages > UINT64_MAX / page_size ? UINT64_MAX
		                                                           : pages * page_size);
		if (o->size > n->max_size)
			n->max_size = o->size;
		break;
	case IPC_MSG:
		n->queues++;
		break;
	}
}

/*
 * Appends the term of limit l when the pool has it; unknown_need: what it
 * counts is unknown.  A counted limit (CAP_COUNTED) must have need free; a
 * per-object limit (CAP_PER_OBJECT) only asks whether the largest object of
 * the need, need, is within it (free is then 1 or 0, need 0).
 */
enum cap_kind { CAP_COUNTED, CAP_PER_OBJECT };

static void
cap_term(const struct capacity_pool *p, int l, enum cap_kind kind, uint64_t need, int unknown_need,
         struct capacity_term *t, size_t *n)
{
	int unknown = p->state[l] == CAP_UNKNOWN || unknown_need;

	if (p->state[l] == CAP_ABSENT)
		return;
	/* a need of 0 for a counted limit (segments of 0 bytes) fits without bound */
	if (kind == CAP_COUNTED && need == 0 && !unknown)
		return;
	t[*n].limit = l;
	t[*n].unknown = unknown;
	t[*n].free = kind == CAP_PER_OBJECT ? need <= p->free[l] : p->free[l];
	t[*n].need = kind == CAP_PER_OBJECT ? 0 : need;
	(*n)++;
}

void
capacity_fit(const struct capacity_pool *p, const struct capacity_need *n, struct capacity_fit *out)
{
	struct capacity_term t[CAP_COUNT];
	size_t k = 0;

	if (n->sets > 0) {
		cap_term(p, CAP_SEMMNI, CAP_COUNTED, n->sets, 0, t, &k);
		cap_term(p, CAP_SEMMNS, CAP_COUNTED, n->sems, n->sems_unknown, t, &k);
		cap_term(p, CAP_SEMMSL, CAP_PER_OBJECT, n->max_nsems, n->sems_unknown, t, &k);
	}
	if (n->segs > 0) {
		cap_term(p, CAP_SHMMNI, CAP_COUNTED, n->segs, 0, t, &k);
		cap_term(p, CAP_SHMALL, CAP_COUNTED, n->pages, n->size_unknown, t, &k);
		cap_term(p, CAP_SHMMAX, CAP_PER_OBJECT, n->max_size, n->size_unknown, t, &k);
		if (n->one_proc_segs > 0 && p->state[CAP_SHMSEG] != CAP_ABSENT) {
			/* the one process attaches one_proc_segs already */
			struct capacity_pool q = *p;

			q.free[CAP_SHMSEG] = p->free[CAP_SHMSEG] > n->one_proc_segs
			                         ? p->free[CAP_SHMSEG] - n->one_proc_segs
			                         : 0;
			cap_term(&q, CAP_SHMSEG, CAP_COUNTED, n->segs, 0, t, &k);
		}
	}
	if (n->queues > 0)
		cap_term(p, CAP_MSGMNI, CAP_COUNTED, n->queues, 0, t, &k);
	/* a jail's own rules, where racct gives them */
	if (n->sets > 0)
		cap_term(p, CAP_NSEM, CAP_COUNTED, n->sems, n->sems_unknown, t, &k);
	if (n->segs > 0) {
		cap_term(p, CAP_NSHM, CAP_COUNTED, n->segs, 0, t, &k);
		cap_term(p, CAP_SHMSIZE, CAP_COUNTED, n->bytes, n->size_unknown, t, &k);
	}
	if (n->queues > 0)
		cap_term(p, CAP_NMSGQ, CAP_COUNTED, n->queues, 0, t, &k);
	capacity_min(t, k, out);
}

/* ---- headroom by shape ---- */

/* One object, sorted by consumer and shape. */
struct hr_key {
	uint32_t scope, uid;
	uint32_t type;  /* enum ipc_type */
	uint32_t known; /* 1: the shape is known */
	uint64_t shape; /* nsems or size; 0 for queues */
	int64_t cpid;   /* shm: creator, for shmseg */
	uint32_t index; /* into s->objects */
};

static int
hr_key_cmp(const void *a, const void *b)
{
	const struct hr_key *x = a, *y = b;

	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->known != y->known)
		return x->known > y->known ? -1 : 1;
	if (x->shape != y->shape)
		return x->shape < y->shape ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Sort order of a fit: fewer first; an unknown one after every known one. */
static uint64_t
hr_rank(const struct capacity_fit *f)
{
	if (!f->known)
		return UINT64_MAX;
	return f->units == UINT64_MAX ? UINT64_MAX - 1 : f->units;
}

static int
hr_row_cmp(const void *a, const void *b)
{
	const struct headroom *x = a, *y = b;
	uint64_t p = hr_rank(&x->more_instances), q = hr_rank(&y->more_instances);

	if (p != q)
		return p < q ? -1 : 1;
	p = hr_rank(&x->more_objects);
	q = hr_rank(&y->more_objects);
	if (p != q)
		return p < q ? -1 : 1;
	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return x->shape < y->shape ? -1 : x->shape > y->shape;
}

/* The pool of scope sc: its own objects keys[a, b) when it has limits of its own. */
static int
hr_pool(const struct snapshot *s, uint32_t sc, const struct capacity_pool *host,
        const struct hr_key *keys, size_t a, size_t b, struct ipc_object **tmp, size_t *tmpcap,
        struct capacity_pool *p)
{
	const struct ipc_scope *scope = &s->scopes[sc];
	struct snapshot view;
	struct usage u;
	size_t i;

	if (!scope->own_limits) {
		*p = *host;
		if (scope->kind == SCOPE_JAIL)
			capacity_pool_rctl(p, scope);
		return 0;
	}
	/* model_usage() on this scope's objects alone: linear in all, not per scope */
	if (grow_array(tmp, tmpcap, b - a, 64, MODEL_MAX_OBJECTS, sizeof(**tmp)) == -1)
		return -1;
	for (i = a; i < b; i++)
		(*tmp)[i - a] = s->objects[keys[i].index];
	view = *s;
	view.objects = *tmp;
	view.nobjects = b - a;
	view.cap_objects = b - a;
	model_usage(&view, (int)sc, &u);
	capacity_pool_init(p, s, &u, &scope->limits, (int)sc);
	memset(p->why, 0, sizeof(p->why)); /* they point into u, which ends here */
	return 0;
}

/* Appends row r to v (bounded by MODEL_MAX_OBJECTS rows). */
static int
hr_push(struct headroom **v, size_t *n, size_t *cap, const struct headroom *r)
{
	if (grow_array(v, cap, *n + 1, 16, MODEL_MAX_OBJECTS, sizeof(**v)) == -1)
		return -1;
	(*v)[(*n)++] = *r;
	return 0;
}

/* The rows of consumer keys[c, d) in pool p. */
static int
hr_consumer(const struct snapshot *s, const struct capacity_pool *p, const struct hr_key *keys,
            size_t c, size_t d, struct headroom **v, size_t *n, size_t *cap)
{
	struct capacity_need whole;
	struct capacity_fit inst;
	size_t i, g, k;

	memset(&whole, 0, sizeof(whole));
	for (i = c; i < d; i++)
		capacity_need_add(&whole, &s->objects[keys[i].index], s->page_size);
	capacity_fit(p, &whole, &inst);
	/*
	 * Where the pool's objects of a type are not all listed, the consumer
	 * may hold some unseen: a copy of its holding is not known to fit
	 * (a known 0 stays: what is unseen only takes more).
	 */
	if (!(inst.known && inst.units == 0)) {
		static const int types[][2] = {
		    {CAP_SEMMNI, CAP_SEMMNS}, {CAP_SHMMNI, CAP_SHMALL}, {CAP_MSGMNI, CAP_MSGMNI}};

		for (k = 0; k < NELEM(types); k++) {
			if (p->used_unknown[types[k][0]] || p->used_unknown[types[k][1]]) {
				inst.known = 0;
				inst.units = 0;
				inst.binding =
				    p->used_unknown[types[k][0]] ? types[k][0] : types[k][1];
				break;
			}
		}
	}
	for (g = c; g < d; g = i) {
		const struct ipc_object *o = &s->objects[keys[g].index];
		struct capacity_need one;
		struct headroom r;
		int one_creator = o->type == IPC_SHM && !(o->unknown & OF_CPID) && o->cpid > 0;

		for (i = g; i < d && keys[i].type == keys[g].type &&
		            keys[i].known == keys[g].known && keys[i].shape == keys[g].shape;
		     i++)
			one_creator = one_creator && keys[i].cpid == keys[g].cpid;
		if (!keys[g].known || (o->type != IPC_SEM && o->type != IPC_SHM))
			continue; /* counted in the holding only */
		memset(&one, 0, sizeof(one));
		capacity_need_add(&one, o, s->page_size);
		/* segments one process made and attaches: shmseg caps what it adds */
		if (one_creator && i - g >= 2)
			one.one_proc_segs = i - g;
		memset(&r, 0, sizeof(r));
		r.scope = keys[g].scope;
		r.uid = keys[g].uid;
		r.type = o->type;
		r.objects = i - g;
		r.shape = keys[g].shape;
		for (k = g; k < i && r.owner[0] == '\0'; k++)
			ifl_strlcpy(r.owner, s->objects[keys[k].index].owner, sizeof(r.owner));
		capacity_fit(p, &one, &r.more_objects);
		r.more_instances = inst;
		if (r.more_objects.binding < 0)
			continue; /* no limit applies: nothing to say */
		if (hr_push(v, n, cap, &r) == -1)
			return -1;
	}
	return 0;
}

int
headroom_compute(const struct snapshot *s, size_t max, struct headroom **out, size_t *nout,
                 size_t *total)
{
	struct hr_key *keys = NULL;
	struct headroom *v = NULL;
	struct ipc_object *tmp = NULL;
	struct capacity_pool host, p;
	struct usage u;
	size_t nk = 0, n = 0, cap = 0, tmpcap = 0, a, b, c, d, i;

	*out = NULL;
	*nout = 0;
	*total = 0;
	if (s->nobjects == 0)
		return 0;
	if ((keys = calloc(s->nobjects, sizeof(*keys))) == NULL)
		return -1;
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];
		struct hr_key *k = &keys[nk];

		if (o->scope >= s->nscopes)
			continue;
		k->scope = o->scope;
		k->uid = o->uid;
		k->type = (uint32_t)o->type;
		k->index = (uint32_t)i;
		k->cpid = (o->unknown & OF_CPID) ? -1 : o->cpid;
		if (o->type == IPC_SEM) {
			k->known = !(o->unknown & OF_NSEMS);
			k->shape = k->known ? o->nsems : 0;
		} else if (o->type == IPC_SHM) {
			k->known = !(o->unknown & OF_SIZE);
			k->shape = k->known ? o->size : 0;
		}
		nk++;
	}
	if (nk > 0) /* qsort(NULL, 0) is undefined */
		qsort(keys, nk, sizeof(*keys), hr_key_cmp);
	model_usage(s, -1, &u);
	capacity_pool_init(&host, s, &u, &s->limits, -1);
	for (a = 0; a < nk; a = b) {
		for (b = a; b < nk && keys[b].scope == keys[a].scope; b++)
			;
		if (hr_pool(s, keys[a].scope, &host, keys, a, b, &tmp, &tmpcap, &p) == -1)
			goto oom;
		for (c = a; c < b; c = d) {
			for (d = c; d < b && keys[d].uid == keys[c].uid; d++)
				;
			if (hr_consumer(s, &p, keys, c, d, &v, &n, &cap) == -1)
				goto oom;
		}
	}
	free(keys);
	free(tmp);
	if (n > 0)
		qsort(v, n, sizeof(*v), hr_row_cmp);
	*total = n;
	if (n > max)
		n = max;
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*out = v;
	*nout = n;
	return 0;
oom:
	free(keys);
	free(tmp);
	free(v);
	return -1;
}
