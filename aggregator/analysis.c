/*
 * analysis.c: runs the rules of findings.c on every stored snapshot, keeps
 * the findings' life cycle in the store, and ticks once a minute for what
 * no snapshot announces: hosts that went silent, and housekeeping.
 *
 * Forecasts fit each limit's history (up to forecast_window of samples read
 * back from the store).  That is by far the costliest rule, and a few
 * minutes of new samples hardly move a fit over days (forecast_window is at
 * least ten minutes, a week by default), so the fits are kept per host
 * (fit_cache) and redone at most every FIT_EVERY seconds; in between, each
 * snapshot evaluates the kept fits at its own time against its own limits.
 * (A week of per-minute samples of five limits is 50,000 samples a host:
 * refitting 10,000 hosts every minute would read and fit half a billion a
 * minute.)
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "aggregator.h"
#include "findings.h"
#include "log.h"
#include "util.h"

#define SERIES_MAX      20000 /* samples fitted per limit */
#define HOUSEKEEP_BATCH 5000
#define STALE_INTERVALS 3
#define FIT_EVERY       300  /* seconds between two fits of one host's histories */
#define FIT_BUCKETS     4096 /* hash chains of the fit cache */
#define FIT_IDLE        3600 /* a host's fits unused this long are dropped */
#define LOG_CHANGES_MAX 20   /* finding changes of one analysis logged one by one */

/* The forecast fits of one host, as of its snapshot received at fitted. */
struct fit_entry {
	struct fit_entry *next;
	char host[MODEL_NAME_MAX];
	int64_t fitted; /* INT64_MIN: never */
	size_t n;
	struct {
		const char *limit; /* model_usage's static name */
		struct forecast_model m;
	} v[USAGE_MAX];
};

static struct fit_entry *fit_cache[FIT_BUCKETS];

static size_t
fit_hash(const char *s)
{
	return fnv1a_str(s) % FIT_BUCKETS;
}

/* The host's entry, created (never fitted) when missing; NULL when out of memory. */
static struct fit_entry *
fit_lookup(const char *host)
{
	size_t h = fit_hash(host);
	struct fit_entry *e;

	for (e = fit_cache[h]; e != NULL; e = e->next)
		if (strcmp(e->host, host) == 0)
			return e;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	ifl_strlcpy(e->host, host, sizeof(e->host));
	e->fitted = INT64_MIN;
	e->next = fit_cache[h];
	fit_cache[h] = e;
	return e;
}

/* Drops the fits not used since before; all of them with INT64_MAX. */
static void
fit_expire(int64_t before)
{
	size_t i;

	for (i = 0; i < FIT_BUCKETS; i++) {
		struct fit_entry **pp = &fit_cache[i], *e;

		while ((e = *pp) != NULL) {
			if (e->fitted < before) {
				*pp = e->next;
				free(e);
			} else
				pp = &e->next;
		}
	}
}

/* 1 when the entry's fits cover exactly the countable limits of u. */
static int
fit_matches(const struct fit_entry *e, const struct usage *u)
{
	size_t i, k = 0;

	for (i = 0; i < u->n; i++) {
		if (!u->v[i].has_limit)
			continue;
		if (k == e->n || strcmp(e->v[k].limit, u->v[i].name) != 0)
			return 0;
		k++;
	}
	return k == e->n;
}

/* Fits every countable limit's history of host from the store into e. */
static void
fit_host(struct agg *a, const char *host, const struct usage *u, int64_t received,
         struct fit_entry *e)
{
	size_t i, n;
	char err[512];

	e->n = 0;
	e->fitted = received;
	for (i = 0; i < u->n; i++) {
		if (!u->v[i].has_limit)
			continue;
		n = 0;
		if (a->series_buf != NULL &&
		    store_series(a->store, host, u->v[i].name,
		                 received - (int64_t)a->cfg.forecast_window, a->series_buf,
		                 SERIES_MAX, &n, err, sizeof(err)) == -1) {
			log_warnx("host %s: reading %s history failed: %s", host, u->v[i].name,
			          err);
			n = 0;
		}
		e->v[e->n].limit = u->v[i].name;
		forecast_model_fit(a->series_buf, n, &e->v[e->n].m);
		e->n++;
	}
}

/*
 * 1 when cur is exactly the open set prev (the same identities, severities
 * and messages): storing it would change nothing, so it is not stored.
 * O(n): each identity is computed once and looked up in a hash.
 */
static int
findings_unchanged(const struct finding *prev, size_t nprev, const struct finding *cur, size_t n)
{
	struct finding_index ix;
	char key[FINDING_KEY_MAX];
	size_t i, j;
	int same = 1;

	if (n != nprev)
		return 0;
	if (finding_index_build(&ix, prev, nprev) == -1)
		return 0; /* out of memory: let the store decide */
	for (i = 0; i < n && same; i++) {
		finding_identity(&cur[i], key, sizeof(key));
		j = finding_index_take(&ix, key);
		if (j == SIZE_MAX || prev[j].severity != cur[i].severity ||
		    strcmp(prev[j].message, cur[i].message) != 0)
			same = 0;
	}
	finding_index_free(&ix);
	return same;
}

struct levels_arg {
	const struct agg_config *cfg;
	const char *host;
};

void
agg_host_levels(const struct agg_config *c, const char *host, const char *limit, double *warn,
                double *crit)
{
	size_t i;

	agg_thresholds(c, limit, warn, crit);
	for (i = 0; i < c->nhost_overrides; i++) {
		const struct host_override *h = &c->host_overrides[i];

		if (fnmatch(h->glob, host, 0) != 0)
			continue;
		if (h->o.limit[0] != '\0' && strcmp(h->o.limit, limit) != 0)
			continue;
		if (h->o.warn != 0)
			*warn = (double)h->o.warn;
		if (h->o.crit != 0)
			*crit = (double)h->o.crit;
	}
}

/* Thresholds for one limit of one host: global, per limit, then per host glob. */
static void
host_levels(void *arg, const char *limit, double *warn, double *crit)
{
	const struct levels_arg *la = arg;

	agg_host_levels(la->cfg, la->host, limit, warn, crit);
}

static const char *
change_name(enum change_what w)
{
	switch (w) {
	case FC_OPENED:
		return "opened";
	case FC_CHANGED:
		return "changed";
	case FC_CLOSED:
		return "closed";
	}
	return "?";
}

/*
 * Stores the host's new set of findings and reports the changes: each in
 * the log (the first LOG_CHANGES_MAX of one analysis, then one line that
 * counts the rest: a host that changes 1,000 findings a snapshot must not
 * write 1,000 lines a snapshot), and all of them in one notification.
 */
static void
sync_and_notify(struct agg *a, const char *host, const struct finding *v, size_t n, int64_t now)
{
	struct finding_change *ch = NULL;
	size_t nch = 0, i, count[3] = {0};
	char err[512];

	if (store_sync_findings(a->store, host, v, n, now, &ch, &nch, err, sizeof(err)) == -1) {
		log_warnx("host %s: storing findings failed: %s", host, err);
		return;
	}
	for (i = 0; i < nch; i++) {
		const struct finding *f = &ch[i].f;

		if ((unsigned)ch[i].what <= FC_CLOSED)
			count[ch[i].what]++;
		if (i >= LOG_CHANGES_MAX)
			continue;
		log_info("host %s: finding %s: %s %s%s%s: %s", host, change_name(ch[i].what),
		         severity_name(f->severity), finding_kind_name(f->kind),
		         f->limit[0] ? " " : "", f->limit, f->message);
	}
	if (nch > LOG_CHANGES_MAX)
		log_info("host %s: %zu more finding changes not logged one by one (in all %zu "
		         "opened, %zu changed, %zu closed)",
		         host, nch - LOG_CHANGES_MAX, count[FC_OPENED], count[FC_CHANGED],
		         count[FC_CLOSED]);
	notify_changes(a, host, ch, nch);
	free(ch);
}

/*
 * Records what the leak and queue_fill rules follow of s (counts_of()) and
 * reads the host's runs back, into *runs (NULL when none or on failure:
 * those rules then say nothing this time).  The runs kept reach back twice
 * what a leak's window can need.
 */
static void
counts_update(struct agg *a, const struct host_info *hi, const struct snapshot *s,
              struct count_run **runs, size_t *nruns)
{
	uint64_t interval = hi->interval ? hi->interval : a->cfg.default_interval;
	uint64_t span = a->cfg.leak_window, by_count;
	struct count_run *cur = NULL;
	size_t ncur = 0;
	char err[512];

	*runs = NULL;
	*nruns = 0;
	if (s->taken <= 0)
		return;
	by_count = interval > UINT64_MAX / (a->cfg.leak_min_snapshots + 1)
	               ? UINT64_MAX
	               : interval * (a->cfg.leak_min_snapshots + 1);
	if (by_count > span)
		span = by_count;
	if (span > 86400 * 400)
		span = 86400 * 400; /* a year of history is more than any window asks */
	if (counts_of(s, &cur, &ncur) == -1) {
		log_warnx("host %s: counting objects: out of memory", hi->name);
		return;
	}
	if (store_counts(a->store, hi->name, s->taken, cur, ncur, s->taken - 2 * (int64_t)span,
	                 runs, nruns, err, sizeof(err)) == -1) {
		log_warnx("host %s: storing counts failed: %s", hi->name, err);
		*runs = NULL;
		*nruns = 0;
	}
	free(cur);
}

void
analysis_snapshot(struct agg *a, const struct host_info *hi, const struct snapshot *s,
                  int64_t received, int64_t hello_skew)
{
	struct levels_arg la = {.cfg = &a->cfg, .host = hi->name};
	struct eval_input in;
	struct finding_list out = {0};
	struct finding *prev = NULL;
	struct series series[USAGE_MAX];
	struct fit_entry local, *e;
	struct count_run *runs = NULL;
	struct usage u;
	size_t nprev = 0, i, ns = 0, nruns = 0;
	char err[512];

	if (store_open_findings(a->store, hi->name, &prev, &nprev, err, sizeof(err)) == -1) {
		log_warnx("host %s: reading findings failed: %s", hi->name, err);
		return;
	}
	counts_update(a, hi, s, &runs, &nruns);
	/* the forecasts' fits of the host's pool: kept, or redone every FIT_EVERY s */
	model_usage(s, -1, &u);
	if ((e = fit_lookup(hi->name)) == NULL) {
		e = &local; /* out of memory: fit this once */
		e->fitted = INT64_MIN;
	}
	if (e->fitted == INT64_MIN || received - e->fitted >= FIT_EVERY || received < e->fitted ||
	    !fit_matches(e, &u))
		fit_host(a, hi->name, &u, received, e);
	for (i = 0; i < e->n; i++) {
		memset(&series[ns], 0, sizeof(series[ns]));
		series[ns].limit = e->v[i].limit;
		series[ns].model = &e->v[i].m;
		ns++;
	}

	memset(&in, 0, sizeof(in));
	in.host = hi->name;
	in.s = s;
	in.prev = prev;
	in.nprev = nprev;
	in.now = received;
	in.levels = host_levels;
	in.levels_arg = &la;
	in.hysteresis = (double)a->cfg.hysteresis;
	in.series = series;
	in.nseries = ns;
	in.horizon = (int64_t)a->cfg.forecast_horizon;
	in.has_skew = hello_skew != INT64_MIN;
	in.skew = hello_skew;
	in.max_skew = (int64_t)a->cfg.max_clock_skew;
	in.vanished_keep = (int64_t)a->cfg.vanished_keep;
	in.runs = runs;
	in.nruns = nruns;
	in.leak_window = (int64_t)a->cfg.leak_window;
	in.leak_min_snapshots = a->cfg.leak_min_snapshots;
	in.orphan_keep = (int64_t)a->cfg.orphan_keep;
	if (findings_eval(&in, &out) == -1)
		log_warnx("host %s: evaluating findings: out of memory", hi->name);
	else if (!findings_unchanged(prev, nprev, out.v, out.n))
		sync_and_notify(a, hi->name, out.v, out.n, received);
	finding_list_free(&out);
	free(prev);
	free(runs);
}

/* Tick (every check_interval): a host silent for three of its intervals gets a stale finding. */
struct stale_ctx {
	struct agg *a;
	int64_t now;
	int64_t seeing_from; /* health_tick(): silence before it does not count */
	/* collected first: the store cannot write while it lists hosts */
	size_t n, cap, scap;
	char (*names)[MODEL_NAME_MAX];
	int64_t *silent;
};

/* Collects the host if it is silent; has_snapshot: it ever sent one. */
static int
stale_collect_one(struct stale_ctx *sc, const struct host_info *hi, int has_snapshot,
                  int64_t last_received)
{
	uint64_t interval = hi->interval ? hi->interval : sc->a->cfg.default_interval;
	int64_t silent = sc->now - last_received;
	/*
	 * Silence counts only from when the aggregator could see (health.c):
	 * its own stop, or a storage outage, is not every host's.
	 */
	int64_t from = last_received > sc->seeing_from ? last_received : sc->seeing_from;

	if (!has_snapshot || sc->seeing_from == INT64_MAX ||
	    sc->now - from <= (int64_t)(STALE_INTERVALS * interval))
		return 0;
	/* the two arrays grow in step; at most one entry per stored host */
	if (grow_array(&sc->names, &sc->cap, sc->n + 1, 16, SIZE_MAX / sizeof(*sc->names),
	               sizeof(*sc->names)) == -1 ||
	    grow_array(&sc->silent, &sc->scap, sc->n + 1, 16, SIZE_MAX / sizeof(*sc->silent),
	               sizeof(*sc->silent)) == -1)
		return 1;
	ifl_strlcpy(sc->names[sc->n], hi->name, MODEL_NAME_MAX);
	sc->silent[sc->n] = silent;
	sc->n++;
	return 0;
}

static int
stale_collect(void *arg, const struct stored_host *h)
{
	return stale_collect_one(arg, &h->info, h->raw != NULL, h->last_received);
}

/* The same from the summaries: no snapshot read (megabytes, for a large fleet). */
static int
stale_collect_summary(void *arg, const struct host_summary *h)
{
	return stale_collect_one(arg, &h->info, h->has_snapshot, h->last_received);
}

static void
stale_mark(struct agg *a, const char *host, int64_t silent, int64_t now)
{
	struct finding *prev = NULL, *v;
	size_t nprev = 0, i;
	char err[512], when[32];

	if (store_open_findings(a->store, host, &prev, &nprev, err, sizeof(err)) == -1) {
		log_warnx("host %s: reading findings failed: %s", host, err);
		return;
	}
	for (i = 0; i < nprev; i++) {
		if (prev[i].kind == FK_STALE) {
			free(prev);
			return; /* already known */
		}
	}
	if ((v = reallocarray(prev, nprev + 1, sizeof(*v))) == NULL) {
		free(prev);
		return;
	}
	memset(&v[nprev], 0, sizeof(v[nprev]));
	v[nprev].kind = FK_STALE;
	v[nprev].severity = SEV_WARN;
	snprintf(v[nprev].message, sizeof(v[nprev].message),
	         "no snapshot for %" PRId64 " s (since %s): check that ipcfleet-agent runs "
	         "and can reach the aggregator",
	         silent, fmt_rfc3339(now - silent, when, sizeof(when)));
	sync_and_notify(a, host, v, nprev + 1, now);
	free(v);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agg *a = arg;
	struct stale_ctx sc = {.a = a, .now = now_unix()};
	size_t i, deleted = 0;
	char err[512];

	(void)fd;
	(void)what;
	sc.seeing_from = health_tick(a, sc.now);
	if ((a->store->ops->each_host_summary != NULL
	         ? a->store->ops->each_host_summary(a->store, NULL, 0, stale_collect_summary, &sc,
	                                            err, sizeof(err))
	         : store_each_host(a->store, stale_collect, &sc, err, sizeof(err))) == -1)
		log_warnx("stale check: %s", err);
	for (i = 0; i < sc.n; i++)
		stale_mark(a, sc.names[i], sc.silent[i], sc.now);
	free(sc.names);
	free(sc.silent);
	fit_expire(sc.now - FIT_IDLE);
	/* housekeeping in small batches: ingest never waits long for the lock */
	if (store_housekeep(a->store, sc.now - (int64_t)a->cfg.retention,
	                    sc.now - (int64_t)a->cfg.rollup_retention, HOUSEKEEP_BATCH, &deleted,
	                    err, sizeof(err)) == -1)
		log_warnx("housekeeping: %s", err);
	else if (deleted > 0)
		log_debug("housekeeping: %zu old rows deleted", deleted);
}

int
analysis_start(struct agg *a)
{
	struct timeval tv = {.tv_sec = (time_t)a->cfg.check_interval, .tv_usec = 0};

	/* one buffer for the history being fitted, reused by every fit */
	a->series_buf = reallocarray(NULL, SERIES_MAX, sizeof(struct sample));
	if (a->series_buf == NULL)
		return -1;
	a->tick = event_new(a->base, -1, EV_PERSIST, tick_cb, a);
	if (a->tick == NULL || event_add(a->tick, &tv) == -1)
		return -1;
	return 0;
}

void
analysis_stop(struct agg *a)
{
	if (a->tick != NULL) {
		event_free(a->tick);
		a->tick = NULL;
	}
	free(a->series_buf);
	a->series_buf = NULL;
	fit_expire(INT64_MAX);
}
