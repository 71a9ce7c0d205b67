/*
 * findings.c: the analysis rules (findings.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "findings.h"
#include "util.h"

int
scope_groups_make(const struct snapshot *s, struct scope_groups *g)
{
	size_t i, *at = NULL;

	memset(g, 0, sizeof(*g));
	g->nscopes = s->nscopes;
	if ((g->start = calloc(s->nscopes + 1, sizeof(*g->start))) == NULL)
		return -1;
	/* a counting sort by scope of the objects of scopes with limits of their own */
	for (i = 0; i < s->nobjects; i++) {
		uint32_t sc = s->objects[i].scope;

		if (sc < s->nscopes && s->scopes[sc].own_limits)
			g->start[sc + 1]++;
	}
	for (i = 0; i < s->nscopes; i++)
		g->start[i + 1] += g->start[i];
	if (g->start[s->nscopes] > 0 &&
	    ((g->objects = calloc(g->start[s->nscopes], sizeof(*g->objects))) == NULL ||
	     (at = calloc(s->nscopes, sizeof(*at))) == NULL)) {
		scope_groups_free(g);
		return -1;
	}
	for (i = 0; i < s->nobjects; i++) {
		uint32_t sc = s->objects[i].scope;

		if (sc < s->nscopes && s->scopes[sc].own_limits)
			g->objects[g->start[sc] + at[sc]++] = s->objects[i];
	}
	free(at);
	return 0;
}

void
scope_groups_free(struct scope_groups *g)
{
	free(g->objects);
	free(g->start);
	memset(g, 0, sizeof(*g));
}

void
scope_groups_view(const struct snapshot *s, const struct scope_groups *g, size_t i,
                  struct snapshot *view)
{
	*view = *s;
	view->objects = g->objects != NULL ? g->objects + g->start[i] : NULL;
	view->nobjects = g->start[i + 1] - g->start[i];
	view->cap_objects = view->nobjects;
}

const struct finding *
eval_prev(const struct eval_ctx *cx, const struct finding *f)
{
	char key[FINDING_KEY_MAX];
	size_t i;

	finding_identity(f, key, sizeof(key));
	i = finding_index_first(&cx->prev, key);
	return i == SIZE_MAX ? NULL : &cx->in->prev[i];
}

void
finding_owner_label(uint32_t uid, const char *owner, char *buf, size_t len)
{
	if (owner != NULL && owner[0] != '\0')
		snprintf(buf, len, "uid %u (%s)", uid, owner);
	else
		snprintf(buf, len, "uid %u", uid);
}

/*
 * Threshold with hysteresis: a level is entered at its percentage and left
 * only when use falls hysteresis points below it, so a host hovering at the
 * line opens one finding, not one per snapshot.
 */
int
eval_thresholds_usage(const struct eval_ctx *cx, const struct usage *u, const char *scope, int rctl,
                      struct finding_list *out)
{
	const struct eval_input *in = cx->in;
	size_t i;

	for (i = 0; i < u->n; i++) {
		const struct usage_item *it = &u->v[i];
		struct finding probe, *f;
		const struct finding *prev;
		double warn, crit, pct;
		int level = -1;

		/* an unknown figure has its own finding (incomplete), never a level;
		 * a limit of 0 is a pool where nothing can be made: 100 % */
		if (!USAGE_KNOWN(it))
			continue;
		in->levels(in->levels_arg, it->name, &warn, &crit);
		pct = usage_pct(it->used, it->limit);
		memset(&probe, 0, sizeof(probe));
		probe.kind = FK_THRESHOLD;
		ifl_strlcpy(probe.limit, it->name, sizeof(probe.limit));
		ifl_strlcpy(probe.scope, scope, sizeof(probe.scope));
		prev = eval_prev(cx, &probe);
		if (pct >= crit ||
		    (prev != NULL && prev->severity == SEV_CRIT && pct >= crit - in->hysteresis))
			level = SEV_CRIT;
		else if (pct >= warn || (prev != NULL && pct >= warn - in->hysteresis))
			level = SEV_WARN;
		if (level < 0)
			continue;
		if ((f = finding_list_add(out)) == NULL)
			return -1;
		*f = probe;
		f->severity = (enum severity)level;
		if (rctl) /* a jail's own rule: say which, so that it can be found and raised */
			snprintf(f->message, sizeof(f->message),
			         "%s at %.1f%% in %s: %" PRIu64 " of %" PRIu64 " used, %" PRIu64
			         " free (rctl rule %s:%s:deny=%" PRIu64 "; %s at %.0f%%)",
			         it->name, pct, scope, it->used, it->limit,
			         it->limit > it->used ? it->limit - it->used : 0, scope, it->name,
			         it->limit, level == SEV_CRIT ? "crit" : "warn",
			         level == SEV_CRIT ? crit : warn);
		else
			snprintf(f->message, sizeof(f->message),
			         "%s at %.1f%%%s%s: %" PRIu64 " of %" PRIu64 " used, %" PRIu64
			         " free (%s at %.0f%%)",
			         it->name, pct, scope[0] ? " in " : "", scope, it->used, it->limit,
			         it->limit > it->used ? it->limit - it->used : 0,
			         level == SEV_CRIT ? "crit" : "warn",
			         level == SEV_CRIT ? crit : warn);
	}
	return 0;
}

static int
eval_thresholds(const struct eval_ctx *cx, const struct snapshot *s, int pool,
                struct finding_list *out)
{
	struct usage u;

	model_usage(s, pool, &u);
	return eval_thresholds_usage(cx, &u, pool < 0 ? "" : s->scopes[pool].id, 0, out);
}

void
forecast_model_fit(const struct sample *v, size_t n, struct forecast_model *m)
{
	long double tm = 0, um = 0, sxy = 0, sxx = 0, t0;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (n < 4 || v[n - 1].t - v[0].t < 60)
		return;
	t0 = (long double)v[0].t;
	for (i = 0; i < n; i++) {
		tm += (long double)v[i].t - t0;
		um += (long double)v[i].used;
	}
	tm /= (long double)n;
	um /= (long double)n;
	for (i = 0; i < n; i++) {
		long double dx = (long double)v[i].t - t0 - tm;

		sxy += dx * ((long double)v[i].used - um);
		sxx += dx * dx;
	}
	if (sxx <= 0)
		return;
	m->ok = 1;
	m->t0 = t0;
	m->tm = tm;
	m->um = um;
	m->b = sxy / sxx; /* per second */
}

int
forecast_model_eval(const struct forecast_model *m, uint64_t limit, int64_t now,
                    int64_t *exhaust_at, double *per_day)
{
	long double fitted;

	if (!m->ok || !(m->b > 0))
		return 0;
	fitted = m->um + m->b * ((long double)now - m->t0 - m->tm);
	if (fitted >= (long double)limit)
		return 0; /* already there: that is the threshold finding's job */
	*exhaust_at = time_plus(now, ((long double)limit - fitted) / m->b);
	*per_day = (double)(m->b * 86400);
	return 1;
}

int
forecast_fit(const struct sample *v, size_t n, uint64_t limit, int64_t now, int64_t *exhaust_at,
             double *per_day)
{
	struct forecast_model m;

	forecast_model_fit(v, n, &m);
	return forecast_model_eval(&m, limit, now, exhaust_at, per_day);
}

const char *
findings_status(const struct finding *v, size_t n)
{
	enum severity worst = SEV_INFO;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].kind == FK_STALE)
			return "stale";
		if (v[i].severity > worst)
			worst = v[i].severity;
	}
	return worst == SEV_CRIT ? "crit" : worst == SEV_WARN ? "warn" : "ok";
}

/* A limit whose fit reaches it: when, and at what rate. */
struct forecast_cand {
	const char *limit;
	int64_t at;
	double per_day;
};

/*
 * The candidate that runs out first, through the capacity computation
 * (capacity.h): each limit's room now against its growth, in thousandths
 * per hour, so that the same rule names the binding limit as for headroom.
 */
static int
forecast_binding(const struct forecast_cand *c, size_t n, int64_t now)
{
	struct capacity_term t[USAGE_MAX];
	struct capacity_fit fit;
	size_t i;

	for (i = 0; i < n && i < USAGE_MAX; i++) {
		long double room =
		    (long double)c[i].per_day * (long double)(c[i].at - now) / 86400.0L;
		long double need = ceill((long double)c[i].per_day / 24.0L * 1000.0L);

		room *= 1000.0L;
		t[i].limit = (int)i;
		t[i].unknown = 0;
		t[i].free = room >= 18446744073709551615.0L ? UINT64_MAX
		            : room > 0                      ? (uint64_t)room
		                                            : 0;
		t[i].need = need >= 1.0L ? (uint64_t)need : 1;
	}
	capacity_min(t, i, &fit);
	return fit.binding;
}

static int
eval_forecasts(const struct eval_input *in, struct finding_list *out)
{
	struct forecast_cand c[USAGE_MAX];
	struct usage u;
	size_t i, k, nc = 0;
	int bind;

	model_usage(in->s, -1, &u);
	for (i = 0; i < in->nseries && nc < USAGE_MAX; i++) {
		const struct series *sr = &in->series[i];
		uint64_t limit = 0;
		int64_t at;
		double per_day;

		for (k = 0; k < u.n; k++)
			if (strcmp(u.v[k].name, sr->limit) == 0 && USAGE_KNOWN(&u.v[k]))
				limit = u.v[k].limit;
		if (limit == 0)
			continue;
		if (sr->model != NULL
		        ? !forecast_model_eval(sr->model, limit, in->now, &at, &per_day)
		        : !forecast_fit(sr->v, sr->n, limit, in->now, &at, &per_day))
			continue;
		c[nc].limit = sr->limit;
		c[nc].at = at;
		c[nc].per_day = per_day;
		nc++;
	}
	/* every growing limit counts for which binds first, within the horizon or not */
	bind = nc > 0 ? forecast_binding(c, nc, in->now) : -1;
	for (i = 0; i < nc; i++) {
		struct finding *f;
		double days;
		char when[32], first[96] = "";

		if (c[i].at - in->now > in->horizon)
			continue;
		if ((f = finding_list_add(out)) == NULL)
			return -1;
		f->kind = FK_FORECAST;
		days = (double)(c[i].at - in->now) / 86400.0;
		f->severity = days <= 1.0 ? SEV_CRIT : SEV_WARN;
		ifl_strlcpy(f->limit, c[i].limit, sizeof(f->limit));
		f->exhaust_at = c[i].at;
		if (bind >= 0 && (size_t)bind != i)
			snprintf(first, sizeof(first), "; %s binds first (around %s)",
			         c[bind].limit, fmt_rfc3339(c[bind].at, when, sizeof(when)));
		else
			snprintf(first, sizeof(first), "; it binds first");
		snprintf(f->message, sizeof(f->message),
		         "%s will run out around %s (in %.1f days) at the current trend of %+.1f a "
		         "day%s; raise it or find what grows",
		         c[i].limit, fmt_rfc3339(c[i].at, when, sizeof(when)), days, c[i].per_day,
		         first);
	}
	return 0;
}

static void
consumer_add(struct consumer *c, const struct snapshot *s, const struct ipc_object *o)
{
	switch (o->type) {
	case IPC_SEM:
		c->semmns = u64_add_sat(c->semmns, o->nsems);
		c->semmni++;
		break;
	case IPC_SHM:
		c->shmall = u64_add_sat(c->shmall, shm_pages(o->size, s->page_size));
		c->shmmni++;
		break;
	case IPC_MSG:
		c->msgmni++;
		break;
	}
	if (c->owner[0] == '\0' && o->owner[0] != '\0')
		ifl_strlcpy(c->owner, o->owner, sizeof(c->owner));
}

/* A hash of (scope, uid) for consumers_of(). */
static size_t
consumer_hash(uint32_t scope, uint32_t uid)
{
	uint64_t h = ((uint64_t)scope << 32 | uid) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32);
}

int
consumers_of(const struct snapshot *s, int pool, struct consumer **out, size_t *n)
{
	struct consumer *v = NULL;
	uint32_t *slot = NULL; /* index + 1 into v; 0: empty */
	size_t cnt = 0, cap = 0, slots = 0, i, h;

	*out = NULL;
	*n = 0;
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];

		if (o->scope >= s->nscopes)
			continue;
		if (pool < 0 ? s->scopes[o->scope].own_limits : o->scope != (uint32_t)pool)
			continue;
		/* a hash of the consumers seen: one object per uid would be quadratic otherwise */
		if (2 * (cnt + 1) > slots) {
			size_t nslots = slots ? slots * 2 : 64, k;
			uint32_t *ns = calloc(nslots, sizeof(*ns));

			if (ns == NULL)
				goto oom;
			for (k = 0; k < cnt; k++) {
				h = consumer_hash(v[k].scope, v[k].uid) & (nslots - 1);
				while (ns[h] != 0)
					h = (h + 1) & (nslots - 1);
				ns[h] = (uint32_t)k + 1;
			}
			free(slot);
			slot = ns;
			slots = nslots;
		}
		h = consumer_hash(o->scope, o->uid) & (slots - 1);
		while (slot[h] != 0 &&
		       (v[slot[h] - 1].scope != o->scope || v[slot[h] - 1].uid != o->uid))
			h = (h + 1) & (slots - 1);
		if (slot[h] == 0) {
			if (grow_array(&v, &cap, cnt + 1, 16, MODEL_MAX_OBJECTS, sizeof(*v)) == -1)
				goto oom;
			memset(&v[cnt], 0, sizeof(v[cnt]));
			v[cnt].scope = o->scope;
			v[cnt].uid = o->uid;
			slot[h] = (uint32_t)++cnt;
		}
		consumer_add(&v[slot[h] - 1], s, o);
	}
	free(slot);
	*out = v;
	*n = cnt;
	return 0;
oom:
	free(slot);
	free(v);
	return -1;
}

uint64_t
consumer_holds(const struct consumer *c, const char *limit)
{
	if (strcmp(limit, "semmns") == 0)
		return c->semmns;
	if (strcmp(limit, "semmni") == 0)
		return c->semmni;
	if (strcmp(limit, "shmall") == 0)
		return c->shmall;
	if (strcmp(limit, "shmmni") == 0)
		return c->shmmni;
	if (strcmp(limit, "msgmni") == 0)
		return c->msgmni;
	return 0;
}

/* A restart_headroom candidate: consumer c holds more of usage item k than is free. */
struct headroom_pick {
	size_t c, k;
	double share; /* held / limit */
};

/* 1 when a comes before b in the pool's order (consumer, then limit). */
static int
pick_before(const struct headroom_pick *a, const struct headroom_pick *b)
{
	return a->c < b->c || (a->c == b->c && a->k < b->k);
}

/*
 * Restart headroom: a consumer that holds more of a limit than is free could
 * not start again if it crashed and its old objects lingered (the seed's
 * incident: PostgreSQL's semaphore sets outliving the postmaster).  When a
 * limit is exhausted every consumer qualifies: the FINDINGS_HEADROOM_MAX
 * with the largest share of their limit are kept (in the pool's order), and
 * one more finding counts the others.
 */
static int
eval_headroom(const struct snapshot *s, int pool, struct finding_list *out)
{
	struct headroom_pick top[FINDINGS_HEADROOM_MAX], p;
	struct consumer *cv;
	struct usage u;
	size_t nc, i, k, ntop = 0, total = 0;

	model_usage(s, pool, &u);
	if (consumers_of(s, pool, &cv, &nc) == -1)
		return -1;
	for (i = 0; i < nc; i++) {
		for (k = 0; k < u.n; k++) {
			const struct usage_item *it = &u.v[k];
			uint64_t held = consumer_holds(&cv[i], it->name);
			uint64_t free_ = it->limit > it->used ? it->limit - it->used : 0;
			struct capacity_term t = {.limit = (int)k, .free = free_, .need = held};
			struct capacity_fit fit;
			size_t at;

			if (!USAGE_KNOWN(it) || held == 0)
				continue;
			/* a restart with the old objects lingering is one more copy of them */
			capacity_min(&t, 1, &fit);
			if (fit.units > 0)
				continue;
			total++;
			p.c = i;
			p.k = k;
			p.share = it->limit > 0 ? (double)held / (double)it->limit : 1e300;
			/* the largest shares, earlier ones first among equals */
			if (ntop == FINDINGS_HEADROOM_MAX && !(p.share > top[ntop - 1].share))
				continue;
			at = ntop < FINDINGS_HEADROOM_MAX ? ntop++ : ntop - 1;
			while (at > 0 && top[at - 1].share < p.share) {
				top[at] = top[at - 1];
				at--;
			}
			top[at] = p;
		}
	}
	/* back into the pool's order */
	for (i = 1; i < ntop; i++) {
		p = top[i];
		for (k = i; k > 0 && pick_before(&p, &top[k - 1]); k--)
			top[k] = top[k - 1];
		top[k] = p;
	}
	for (i = 0; i < ntop; i++) {
		const struct ipc_scope *sc = &s->scopes[cv[top[i].c].scope];
		const struct consumer *c = &cv[top[i].c];
		const struct usage_item *it = &u.v[top[i].k];
		uint64_t held = consumer_holds(c, it->name);
		uint64_t free_ = it->limit > it->used ? it->limit - it->used : 0;
		struct finding *f;
		char who[96], msg[512];

		if ((f = finding_list_add(out)) == NULL)
			goto oom;
		f->kind = FK_RESTART_HEADROOM;
		f->severity = SEV_WARN;
		ifl_strlcpy(f->limit, it->name, sizeof(f->limit));
		ifl_strlcpy(f->scope, sc->id, sizeof(f->scope));
		f->has_headroom = 1;
		f->uid = c->uid;
		ifl_strlcpy(f->owner, c->owner, sizeof(f->owner));
		f->held = held;
		f->free = free_;
		f->safe_limit = u64_add_sat(it->used, held);
		finding_owner_label(c->uid, c->owner, who, sizeof(who));
		snprintf(msg, sizeof(msg),
		         "%s in %s holds %" PRIu64 " of %s, only %" PRIu64
		         " free: a crash-restart with its old objects lingering would "
		         "fail; safe at %s >= %" PRIu64,
		         who, sc->name, held, it->name, free_, it->name, f->safe_limit);
		ifl_strlcpy(f->message, msg, sizeof(f->message));
	}
	if (total > ntop) {
		struct finding *f;

		if ((f = finding_list_add(out)) == NULL)
			goto oom;
		f->kind = FK_RESTART_HEADROOM;
		f->severity = SEV_WARN;
		if (pool >= 0)
			ifl_strlcpy(f->scope, s->scopes[pool].id, sizeof(f->scope));
		snprintf(f->message, sizeof(f->message),
		         "%zu more holdings in %s exceed what is free (the %d largest shares of a "
		         "limit are listed): their owners could not restart after a crash either",
		         total - ntop, pool >= 0 ? s->scopes[pool].name : "the host's pool",
		         FINDINGS_HEADROOM_MAX);
	}
	free(cv);
	return 0;
oom:
	free(cv);
	return -1;
}

static void
fmt_span(int64_t secs, char *buf, size_t len)
{
	uint64_t a = (uint64_t)(secs < 0 ? -secs : secs);

	if (a >= 86400)
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", a / 86400, a % 86400 / 3600);
	else if (a >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", a / 3600, a % 3600 / 60);
	else
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", a / 60, a % 60);
}

/* Skips a run of [A-Za-z0-9._-] (names) or digits; returns the end. */
static const char *
skip_word(const char *p, int digits_only)
{
	while (*p != '\0' &&
	       ((*p >= '0' && *p <= '9') ||
	        (!digits_only && ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	                          *p == '.' || *p == '_' || *p == '-'))))
		p++;
	return p;
}

/*
 * An orphan's removal command comes from the agent's host, which may be
 * compromised: an operator will paste it.  Accept only the forms the agent
 * writes, for this very object: [jexec NAME |nsenter -t PID -i ]ipcrm -X ID.
 * Anything else is replaced by the plain command, and the message says so.
 */
static void
orphan_command_check(const struct snapshot *s, struct finding *f)
{
	static const char flag[] = {'m', 's', 'q'};
	const char *p = f->command, *e;
	char want[64];

	if (!f->has_object || (unsigned)f->otype > IPC_MSG)
		goto replace;
	if (strncmp(p, "jexec ", 6) == 0) {
		e = skip_word(p + 6, 0);
		if (e == p + 6 || *e != ' ')
			goto replace;
		p = e + 1;
	} else if (strncmp(p, "nsenter -t ", 11) == 0) {
		e = skip_word(p + 11, 1);
		if (e == p + 11 || strncmp(e, " -i ", 4) != 0)
			goto replace;
		p = e + 4;
	}
	snprintf(want, sizeof(want), "ipcrm -%c %lld", flag[f->otype], (long long)f->oid);
	if (strcmp(p, want) == 0)
		return;
replace:
	(void)s;
	if (f->has_object && (unsigned)f->otype <= IPC_MSG)
		snprintf(f->command, sizeof(f->command), "ipcrm -%c %lld", flag[f->otype],
		         (long long)f->oid);
	else
		f->command[0] = '\0';
	ifl_strlcat(f->message, " (the agent's removal command was not in the expected form)",
	            sizeof(f->message));
}

/* A scope with limits of its own, ranked for analysis. */
struct scope_rank {
	size_t i;
	size_t nobjects;
	double pct;        /* its fullest limit's use */
	const char *limit; /* that limit */
};

static int
rank_fullest(const void *a, const void *b)
{
	const struct scope_rank *x = a, *y = b;

	if (x->pct != y->pct)
		return x->pct > y->pct ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

static int
rank_order(const void *a, const void *b)
{
	const struct scope_rank *x = a, *y = b;

	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * The scopes with limits of their own (Linux IPC namespaces): thresholds,
 * restart headroom and limits_below_host of each pool, each on its own
 * objects only.  At most
 * FINDINGS_SCOPES_MAX are analysed, the fullest; one more finding says how
 * many that hold objects were left out, and the fullest of them.
 */
static int
eval_scopes(const struct eval_ctx *cx, struct finding_list *out)
{
	const struct snapshot *s = cx->in->s;
	struct scope_groups g;
	struct scope_rank *r = NULL;
	struct snapshot view;
	struct usage u;
	size_t nown = 0, nr = 0, n, left = 0, i, k;
	int rc = -1;

	for (i = 0; i < s->nscopes; i++)
		nown += s->scopes[i].own_limits != 0;
	if (nown == 0)
		return 0;
	if (scope_groups_make(s, &g) == -1)
		return -1;
	if ((r = calloc(nown, sizeof(*r))) == NULL)
		goto out;
	for (i = 0; i < s->nscopes; i++) {
		if (!s->scopes[i].own_limits)
			continue;
		scope_groups_view(s, &g, i, &view);
		model_usage(&view, (int)i, &u);
		r[nr].i = i;
		r[nr].nobjects = view.nobjects;
		r[nr].limit = "";
		for (k = 0; k < u.n; k++) {
			double pct;

			if (!USAGE_KNOWN(&u.v[k]))
				continue;
			pct = usage_pct(u.v[k].used, u.v[k].limit);
			if (r[nr].limit[0] == '\0' || pct > r[nr].pct) {
				r[nr].pct = pct;
				r[nr].limit = u.v[k].name;
			}
		}
		nr++;
	}
	n = nr;
	if (nr > FINDINGS_SCOPES_MAX) {
		qsort(r, nr, sizeof(*r), rank_fullest);
		n = FINDINGS_SCOPES_MAX;
		for (i = n; i < nr; i++)
			left += r[i].nobjects > 0;
		/* r[n..] are left out, fullest first; the analysed ones go back in snapshot order
		 */
		qsort(r, n, sizeof(*r), rank_order);
	}
	for (i = 0; i < n; i++) {
		scope_groups_view(s, &g, r[i].i, &view);
		if (eval_thresholds(cx, &view, (int)r[i].i, out) == -1 ||
		    eval_headroom(&view, (int)r[i].i, out) == -1 ||
		    eval_limits_below_host(cx->in, &view, r[i].i, out) == -1)
			goto out;
	}
	if (left > 0) {
		const struct scope_rank *x = &r[n];
		struct finding *f;
		double warn = 0, crit = 0;

		/* the fullest left out that has objects (ranked fullest first) */
		while (x->nobjects == 0)
			x++;
		if ((f = finding_list_add(out)) == NULL)
			goto out;
		f->kind = FK_THRESHOLD;
		f->severity = SEV_INFO;
		if (x->limit[0] != '\0') {
			cx->in->levels(cx->in->levels_arg, x->limit, &warn, &crit);
			if (x->pct >= crit)
				f->severity = SEV_CRIT;
			else if (x->pct >= warn)
				f->severity = SEV_WARN;
		}
		snprintf(
		    f->message, sizeof(f->message),
		    "%zu more IPC namespaces with limits of their own and objects were not "
		    "analysed (the %d fullest are); the fullest of them, %.64s, has %s at %.1f%%",
		    left, FINDINGS_SCOPES_MAX, s->scopes[x->i].id,
		    x->limit[0] != '\0' ? x->limit : "no limit", x->pct);
	}
	rc = 0;
out:
	free(r);
	scope_groups_free(&g);
	return rc;
}

/*
 * A kind the agent reports and the aggregator keeps: incomplete and
 * permissions it derives itself from the snapshot (findings_capacity.c).
 */
static int
agent_kept_kind(enum finding_kind k)
{
	return (unsigned)k < FK_COUNT && finding_kind_from_agent(k) && k != FK_INCOMPLETE &&
	       k != FK_PERMISSIONS;
}

/*
 * What only the host could see: its orphan, isolation, removeipc_risk,
 * vanished and permissions findings.  At most FINDINGS_AGENT_MAX are kept,
 * the worst first (and in the agent's order among equals), so that crit
 * and warn ones are never crowded out by info; the rest are counted in one
 * finding per kind.
 */
static int
eval_agent(const struct snapshot *s, struct finding_list *out)
{
	size_t count[SEV_CRIT + 1] = {0}, quota[SEV_CRIT + 1], more[FK_COUNT] = {0}, left, i;
	enum severity worst[FK_COUNT] = {SEV_INFO};
	int v;

	for (i = 0; i < s->nfindings; i++) {
		const struct finding *a = &s->findings[i];

		if (agent_kept_kind(a->kind))
			count[(unsigned)a->severity <= SEV_CRIT ? a->severity : SEV_INFO]++;
	}
	left = FINDINGS_AGENT_MAX;
	for (v = SEV_CRIT; v >= SEV_INFO; v--) {
		quota[v] = count[v] < left ? count[v] : left;
		left -= quota[v];
	}
	for (i = 0; i < s->nfindings; i++) {
		const struct finding *a = &s->findings[i];
		enum severity sev = (unsigned)a->severity <= SEV_CRIT ? a->severity : SEV_INFO;
		struct finding *f;

		if (!agent_kept_kind(a->kind))
			continue;
		if (quota[sev] == 0) {
			more[a->kind]++;
			if (sev > worst[a->kind] || more[a->kind] == 1)
				worst[a->kind] = sev;
			continue;
		}
		quota[sev]--;
		if ((f = finding_list_add(out)) == NULL)
			return -1;
		*f = *a;
		f->opened = f->updated = 0;
		if (f->kind == FK_ORPHAN)
			orphan_command_check(s, f);
	}
	for (i = 0; i < FK_COUNT; i++) {
		struct finding *f;

		if (more[i] == 0)
			continue;
		if ((f = finding_list_add(out)) == NULL)
			return -1;
		f->kind = (enum finding_kind)i;
		f->severity = worst[i];
		snprintf(f->message, sizeof(f->message),
		         "%zu more %s findings were not kept: the aggregator keeps %d of what a "
		         "host reports in one snapshot, the worst first; ipcfleet-agent --print "
		         "on the host lists them all",
		         more[i], finding_kind_name((enum finding_kind)i), FINDINGS_AGENT_MAX);
	}
	return 0;
}

/*
 * A vanished object is an event, reported by the agent in the one snapshot
 * that saw it go: the finding stays open for vanished_keep after it opened
 * (docs/ANALYSIS.md), whatever the snapshots after it say.
 */
static int
eval_vanished_kept(const struct eval_input *in, struct finding_list *out)
{
	struct finding_index cur;
	char key[FINDING_KEY_MAX];
	size_t i;
	int rc = 0;

	for (i = 0; i < in->nprev && in->prev[i].kind != FK_VANISHED; i++)
		;
	if (i == in->nprev)
		return 0;
	if (finding_index_build(&cur, out->v, out->n) == -1)
		return -1;
	for (; i < in->nprev && rc == 0; i++) {
		const struct finding *p = &in->prev[i];
		struct finding *f;

		if (p->kind != FK_VANISHED || in->now - p->opened >= in->vanished_keep)
			continue;
		finding_identity(p, key, sizeof(key));
		if (finding_index_first(&cur, key) != SIZE_MAX)
			continue; /* reported again */
		if ((f = finding_list_add(out)) == NULL) {
			rc = -1;
			break;
		}
		*f = *p;
	}
	finding_index_free(&cur);
	return rc;
}

int
findings_eval(const struct eval_input *in, struct finding_list *out)
{
	struct eval_ctx cx = {.in = in};
	int rc = -1;

	if (finding_index_build(&cx.prev, in->prev, in->nprev) == -1)
		return -1;
	if (eval_thresholds(&cx, in->s, -1, out) == -1 || eval_headroom(in->s, -1, out) == -1 ||
	    eval_scopes(&cx, out) == -1 || eval_forecasts(in, out) == -1)
		goto out;
	/* what could not be read: derived here, as usage is, not taken on trust */
	{
		struct finding inc, *f;

		if (incomplete_finding(in->s, &inc)) {
			if ((f = finding_list_add(out)) == NULL)
				goto out;
			*f = inc;
		}
	}
	if (eval_agent(in->s, out) == -1 || eval_vanished_kept(in, out) == -1 ||
	    eval_capacity(&cx, out) == -1)
		goto out;
	if (in->has_skew && (in->skew > in->max_skew || in->skew < -in->max_skew)) {
		struct finding *f;
		char span[32];

		if ((f = finding_list_add(out)) == NULL)
			goto out;
		f->kind = FK_CLOCK;
		f->severity = SEV_WARN;
		fmt_span(in->skew, span, sizeof(span));
		snprintf(f->message, sizeof(f->message),
		         "the agent's clock is %s %s the aggregator's; trends use the agent's "
		         "time: fix NTP on this host",
		         span, in->skew > 0 ? "ahead of" : "behind");
	}
	/* last: it keeps what no other rule made again */
	if (eval_orphans_removed(in, out) == -1)
		goto out;
	rc = 0;
out:
	finding_index_free(&cx.prev);
	return rc;
}

uint64_t
round_up_nice(uint64_t v)
{
	uint64_t step = 1;

	if (v < 100)
		return v;
	while (v / step >= 100)
		step *= 10;
	if (v % step == 0)
		return v;
	return v / step * step + step < v ? UINT64_MAX : v / step * step + step;
}

/* FreeBSD limits that only loader.conf can set (ipc-facts.md). */
static int
freebsd_boot_only(const char *limit)
{
	static const char *const boot[] = {"semmni", "semmns", "semmnu", "semopm",
	                                   "semume", "shmmni", "shmseg", "msgmni",
	                                   "msgmnb", "msgtql", "msgssz", "msgseg"};
	size_t i;

	for (i = 0; i < NELEM(boot); i++)
		if (strcmp(limit, boot[i]) == 0)
			return 1;
	return 0;
}

static void
recommend_line(const struct snapshot *s, struct recommendation *r, const struct recommendation *all,
               size_t nall)
{
	if (strcmp(s->os, "FreeBSD") == 0) {
		r->reboot = freebsd_boot_only(r->limit);
		ifl_strlcpy(r->file, r->reboot ? "/boot/loader.conf" : "/etc/sysctl.conf",
		            sizeof(r->file));
		snprintf(r->line, sizeof(r->line), "kern.ipc.%s=%" PRIu64, r->limit,
		         r->recommended);
		return;
	}
	ifl_strlcpy(r->file, "/etc/sysctl.d/90-ipcfleet.conf", sizeof(r->file));
	if (strcmp(r->limit, "semmns") == 0 || strcmp(r->limit, "semmni") == 0) {
		/* kernel.sem carries four fields, in this order */
		uint64_t msl = 0, opm = 0, mns = 0, mni = 0;
		size_t i;

		limits_get(&s->limits, "semmsl", &msl);
		limits_get(&s->limits, "semopm", &opm);
		limits_get(&s->limits, "semmns", &mns);
		limits_get(&s->limits, "semmni", &mni);
		for (i = 0; i < nall; i++) {
			if (strcmp(all[i].limit, "semmns") == 0 && all[i].needs_change)
				mns = all[i].recommended;
			if (strcmp(all[i].limit, "semmni") == 0 && all[i].needs_change)
				mni = all[i].recommended;
		}
		snprintf(r->line, sizeof(r->line),
		         "kernel.sem = %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, msl, mns, opm,
		         mni);
		return;
	}
	snprintf(r->line, sizeof(r->line), "kernel.%s = %" PRIu64, r->limit, r->recommended);
}

size_t
recommend_host(const struct snapshot *s, const uint64_t *peaks, struct recommendation *out,
               size_t max)
{
	struct consumer *cv = NULL;
	struct usage u;
	size_t nc = 0, i, k, n = 0;

	model_usage(s, -1, &u);
	if (consumers_of(s, -1, &cv, &nc) == -1)
		nc = 0;
	for (i = 0; i < u.n && n < max; i++) {
		struct recommendation *r = &out[n];
		uint64_t peak = u.v[i].used, largest = 0, a, b;

		/* no advice from a figure that could not be read */
		if (!USAGE_KNOWN(&u.v[i]))
			continue;
		if (peaks != NULL && peaks[i] > peak)
			peak = peaks[i];
		for (k = 0; k < nc; k++) {
			uint64_t h = consumer_holds(&cv[k], u.v[i].name);

			if (h > largest)
				largest = h;
		}
		memset(r, 0, sizeof(*r));
		ifl_strlcpy(r->limit, u.v[i].name, sizeof(r->limit));
		r->current = u.v[i].limit;
		r->peak = peak;
		r->largest = largest;
		a = peak > UINT64_MAX / 2 ? UINT64_MAX : 2 * peak;
		b = u64_add_sat(peak, largest);
		r->recommended = round_up_nice(a > b ? a : b);
		r->needs_change = r->recommended > r->current;
		n++;
	}
	for (i = 0; i < n; i++)
		recommend_line(s, &out[i], out, n);
	free(cv);
	return n;
}
