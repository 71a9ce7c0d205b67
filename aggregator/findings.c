/*
 * findings.c: the analysis rules (findings.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "util.h"

struct finding *
finding_list_add(struct finding_list *l)
{
	struct finding *f;

	if (l->n >= MODEL_MAX_FINDINGS)
		return NULL;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 16;

		if ((f = reallocarray(l->v, ncap, sizeof(*f))) == NULL)
			return NULL;
		l->v = f;
		l->cap = ncap;
	}
	f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	return f;
}

void
finding_list_free(struct finding_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* The previous open finding with the identity of f, or NULL. */
static const struct finding *
prev_of(const struct eval_input *in, const struct finding *f)
{
	char a[2 * MODEL_TEXT_MAX], b[2 * MODEL_TEXT_MAX];
	size_t i;

	finding_identity(f, a, sizeof(a));
	for (i = 0; i < in->nprev; i++) {
		finding_identity(&in->prev[i], b, sizeof(b));
		if (strcmp(a, b) == 0)
			return &in->prev[i];
	}
	return NULL;
}

/* "uid 770 (pgsql)" or "uid 770". */
static void
owner_label(uint32_t uid, const char *owner, char *buf, size_t len)
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
static int
eval_thresholds(const struct eval_input *in, int pool, struct finding_list *out)
{
	const struct snapshot *s = in->s;
	const char *scope = pool < 0 ? "" : s->scopes[pool].id;
	struct usage u;
	size_t i;

	model_usage(s, pool, &u);
	for (i = 0; i < u.n; i++) {
		const struct usage_item *it = &u.v[i];
		struct finding probe, *f;
		const struct finding *prev;
		double warn, crit, pct;
		int level = -1;

		/* an unknown figure has its own finding (incomplete), never a level */
		if (!USAGE_KNOWN(it) || it->limit == 0)
			continue;
		in->levels(in->levels_arg, it->name, &warn, &crit);
		pct = usage_pct(it->used, it->limit);
		memset(&probe, 0, sizeof(probe));
		probe.kind = FK_THRESHOLD;
		ifl_strlcpy(probe.limit, it->name, sizeof(probe.limit));
		ifl_strlcpy(probe.scope, scope, sizeof(probe.scope));
		prev = prev_of(in, &probe);
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
		snprintf(f->message, sizeof(f->message),
		         "%s at %.1f%%%s%s: %" PRIu64 " of %" PRIu64 " used, %" PRIu64
		         " free (%s at %.0f%%)",
		         it->name, pct, scope[0] ? " in " : "", scope, it->used, it->limit,
		         it->limit > it->used ? it->limit - it->used : 0,
		         level == SEV_CRIT ? "crit" : "warn", level == SEV_CRIT ? crit : warn);
	}
	return 0;
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
	*exhaust_at = now + (int64_t)(((long double)limit - fitted) / m->b);
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

static int
eval_forecasts(const struct eval_input *in, struct finding_list *out)
{
	struct usage u;
	size_t i, k;

	model_usage(in->s, -1, &u);
	for (i = 0; i < in->nseries; i++) {
		const struct series *sr = &in->series[i];
		struct finding *f;
		uint64_t limit = 0;
		int64_t at;
		double per_day, days;
		char when[32];

		for (k = 0; k < u.n; k++)
			if (strcmp(u.v[k].name, sr->limit) == 0 && USAGE_KNOWN(&u.v[k]))
				limit = u.v[k].limit;
		if (limit == 0)
			continue;
		if (sr->model != NULL
		        ? !forecast_model_eval(sr->model, limit, in->now, &at, &per_day)
		        : !forecast_fit(sr->v, sr->n, limit, in->now, &at, &per_day))
			continue;
		if (at - in->now > in->horizon)
			continue;
		if ((f = finding_list_add(out)) == NULL)
			return -1;
		f->kind = FK_FORECAST;
		days = (double)(at - in->now) / 86400.0;
		f->severity = days <= 1.0 ? SEV_CRIT : SEV_WARN;
		ifl_strlcpy(f->limit, sr->limit, sizeof(f->limit));
		f->exhaust_at = at;
		snprintf(f->message, sizeof(f->message),
		         "%s will run out around %s (in %.1f days) at the current trend of %+.1f a "
		         "day; raise it or find what grows",
		         sr->limit, fmt_rfc3339(at, when, sizeof(when)), days, per_day);
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

int
consumers_of(const struct snapshot *s, int pool, struct consumer **out, size_t *n)
{
	struct consumer *v = NULL;
	size_t cnt = 0, cap = 0, i, j;

	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];

		if (o->scope >= s->nscopes)
			continue;
		if (pool < 0 ? s->scopes[o->scope].own_limits : o->scope != (uint32_t)pool)
			continue;
		for (j = 0; j < cnt; j++)
			if (v[j].scope == o->scope && v[j].uid == o->uid)
				break;
		if (j == cnt) {
			if (cnt == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				struct consumer *nv = reallocarray(v, ncap, sizeof(*nv));

				if (nv == NULL) {
					free(v);
					return -1;
				}
				v = nv;
				cap = ncap;
			}
			memset(&v[cnt], 0, sizeof(v[cnt]));
			v[cnt].scope = o->scope;
			v[cnt].uid = o->uid;
			cnt++;
		}
		consumer_add(&v[j], s, o);
	}
	*out = v;
	*n = cnt;
	return 0;
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

/*
 * Restart headroom: a consumer that holds more of a limit than is free could
 * not start again if it crashed and its old objects lingered (the seed's
 * incident: PostgreSQL's semaphore sets outliving the postmaster).
 */
static int
eval_headroom(const struct eval_input *in, int pool, struct finding_list *out)
{
	const struct snapshot *s = in->s;
	struct consumer *cv;
	struct usage u;
	size_t nc, i, k;

	model_usage(s, pool, &u);
	if (consumers_of(s, pool, &cv, &nc) == -1)
		return -1;
	for (i = 0; i < nc; i++) {
		const struct ipc_scope *sc = &s->scopes[cv[i].scope];

		for (k = 0; k < u.n; k++) {
			const struct usage_item *it = &u.v[k];
			uint64_t held = consumer_holds(&cv[i], it->name), free_;
			struct finding *f;
			char who[96], msg[512];

			if (!USAGE_KNOWN(it) || held == 0)
				continue;
			free_ = it->limit > it->used ? it->limit - it->used : 0;
			if (held <= free_)
				continue;
			if ((f = finding_list_add(out)) == NULL) {
				free(cv);
				return -1;
			}
			f->kind = FK_RESTART_HEADROOM;
			f->severity = SEV_WARN;
			ifl_strlcpy(f->limit, it->name, sizeof(f->limit));
			ifl_strlcpy(f->scope, sc->id, sizeof(f->scope));
			f->has_headroom = 1;
			f->uid = cv[i].uid;
			ifl_strlcpy(f->owner, cv[i].owner, sizeof(f->owner));
			f->held = held;
			f->free = free_;
			f->safe_limit = u64_add_sat(it->used, held);
			owner_label(cv[i].uid, cv[i].owner, who, sizeof(who));
			snprintf(msg, sizeof(msg),
			         "%s in %s holds %" PRIu64 " of %s, only %" PRIu64
			         " free: a crash-restart with its old objects lingering would "
			         "fail; safe at %s >= %" PRIu64,
			         who, sc->name, held, it->name, free_, it->name, f->safe_limit);
			ifl_strlcpy(f->message, msg, sizeof(f->message));
		}
	}
	free(cv);
	return 0;
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

int
findings_eval(const struct eval_input *in, struct finding_list *out)
{
	const struct snapshot *s = in->s;
	size_t i;

	if (eval_thresholds(in, -1, out) == -1 || eval_headroom(in, -1, out) == -1)
		return -1;
	for (i = 0; i < s->nscopes; i++) {
		if (!s->scopes[i].own_limits)
			continue;
		if (eval_thresholds(in, (int)i, out) == -1 || eval_headroom(in, (int)i, out) == -1)
			return -1;
	}
	if (eval_forecasts(in, out) == -1 || eval_limits_below_host(in, out) == -1)
		return -1;
	/* what could not be read: derived here, as usage is, not taken on trust */
	{
		struct finding inc, *f;

		if (incomplete_finding(s, &inc)) {
			if ((f = finding_list_add(out)) == NULL)
				return -1;
			*f = inc;
		}
	}
	/* what only the host could see */
	for (i = 0; i < s->nfindings; i++) {
		struct finding *f;

		/* incomplete is derived above, not taken on trust */
		if (!finding_kind_from_agent(s->findings[i].kind) ||
		    s->findings[i].kind == FK_INCOMPLETE)
			continue;
		if ((f = finding_list_add(out)) == NULL)
			return -1;
		*f = s->findings[i];
		f->opened = f->updated = 0;
		if (f->kind == FK_ORPHAN)
			orphan_command_check(s, f);
	}
	if (in->has_skew && (in->skew > in->max_skew || in->skew < -in->max_skew)) {
		struct finding *f;
		char span[32];

		if ((f = finding_list_add(out)) == NULL)
			return -1;
		f->kind = FK_CLOCK;
		f->severity = SEV_WARN;
		fmt_span(in->skew, span, sizeof(span));
		snprintf(f->message, sizeof(f->message),
		         "the agent's clock is %s %s the aggregator's; trends use the agent's "
		         "time: fix NTP on this host",
		         span, in->skew > 0 ? "ahead of" : "behind");
	}
	return 0;
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

int
findings_plan(const struct finding *cur, size_t n, const struct finding *open, size_t nopen,
              int64_t now, struct finding_step **steps, size_t *nsteps)
{
	struct finding_step *v = NULL;
	unsigned char *seen = NULL;
	char key[FINDING_KEY_MAX], okey[FINDING_KEY_MAX];
	size_t i, j, k = 0;

	*steps = NULL;
	*nsteps = 0;
	if (n + nopen == 0)
		return 0;
	if ((v = calloc(n + nopen, sizeof(*v))) == NULL ||
	    (nopen > 0 && (seen = calloc(nopen, 1)) == NULL)) {
		free(v);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct finding f = cur[i];

		finding_identity(&f, key, sizeof(key));
		for (j = 0; j < nopen; j++) {
			if (seen[j])
				continue;
			finding_identity(&open[j], okey, sizeof(okey));
			if (strcmp(key, okey) == 0)
				break;
		}
		if (j < nopen) {
			seen[j] = 1;
			if (f.severity == open[j].severity &&
			    strcmp(f.message, open[j].message) == 0)
				continue;
			f.opened = open[j].opened;
			f.updated = now;
			v[k].c.what = FC_CHANGED;
			v[k].c.previous = open[j].severity;
			v[k].report = f.severity != open[j].severity;
		} else {
			f.opened = f.updated = now;
			v[k].c.what = FC_OPENED;
			v[k].c.previous = f.severity;
			v[k].report = 1;
		}
		v[k].c.f = f;
		ifl_strlcpy(v[k].key, key, sizeof(v[k].key));
		k++;
	}
	for (j = 0; j < nopen; j++) {
		if (seen[j])
			continue;
		v[k].c.what = FC_CLOSED;
		v[k].c.previous = open[j].severity;
		v[k].c.f = open[j];
		v[k].c.f.updated = now;
		v[k].report = 1;
		finding_identity(&open[j], v[k].key, sizeof(v[k].key));
		k++;
	}
	free(seen);
	if (k == 0) {
		free(v);
		v = NULL;
	}
	*steps = v;
	*nsteps = k;
	return 0;
}

int
findings_plan_changes(const struct finding_step *steps, size_t n, struct finding_change **changes,
                      size_t *nchanges)
{
	struct finding_change *v = NULL;
	size_t i, k = 0;

	*changes = NULL;
	*nchanges = 0;
	for (i = 0; i < n; i++)
		k += steps[i].report != 0;
	if (k == 0)
		return 0;
	if ((v = calloc(k, sizeof(*v))) == NULL)
		return -1;
	for (i = 0, k = 0; i < n; i++)
		if (steps[i].report)
			v[k++] = steps[i].c;
	*changes = v;
	*nchanges = k;
	return 0;
}
