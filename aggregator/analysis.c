/*
 * analysis.c: runs the rules of findings.c on every stored snapshot, keeps
 * the findings' life cycle in the store, and ticks once a minute for what
 * no snapshot announces: hosts that went silent, and housekeeping.
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

#define SERIES_MAX        20000 /* samples fitted per limit */
#define HOUSEKEEP_BATCH   5000
#define STALE_INTERVALS   3

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

/* Stores the host's new set of findings and reports every change. */
static void
sync_and_notify(struct agg *a, const char *host, const struct finding *v, size_t n, int64_t now)
{
	struct finding_change *ch = NULL;
	size_t nch = 0, i;
	char err[512];

	if (store_sync_findings(a->store, host, v, n, now, &ch, &nch, err, sizeof(err)) == -1) {
		log_warnx("host %s: storing findings failed: %s", host, err);
		return;
	}
	for (i = 0; i < nch; i++) {
		const struct finding *f = &ch[i].f;

		log_info("host %s: finding %s: %s %s%s%s: %s", host, change_name(ch[i].what),
			 severity_name(f->severity), finding_kind_name(f->kind),
			 f->limit[0] ? " " : "", f->limit, f->message);
		notify_change(a, host, &ch[i]);
	}
	free(ch);
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
	struct usage u;
	size_t nprev = 0, i, ns = 0;
	char err[512];

	if (store_open_findings(a->store, hi->name, &prev, &nprev, err, sizeof(err)) == -1) {
		log_warnx("host %s: reading findings failed: %s", hi->name, err);
		return;
	}
	/* the history the forecast fits, from the host's pool */
	model_usage(s, -1, &u);
	for (i = 0; i < u.n; i++) {
		size_t n = 0;

		struct sample *buf = a->series_buf + ns * SERIES_MAX;

		if (!u.v[i].has_limit || a->series_buf == NULL)
			continue;
		if (store_series(a->store, hi->name, u.v[i].name,
				 received - (int64_t)a->cfg.forecast_window, buf, SERIES_MAX, &n, err,
				 sizeof(err)) == -1) {
			log_warnx("host %s: reading %s history failed: %s", hi->name, u.v[i].name,
				  err);
			n = 0;
		}
		series[ns].limit = u.v[i].name;
		series[ns].v = buf;
		series[ns].n = n;
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
	if (findings_eval(&in, &out) == -1)
		log_warnx("host %s: evaluating findings: out of memory", hi->name);
	else
		sync_and_notify(a, hi->name, out.v, out.n, received);
	finding_list_free(&out);
	free(prev);
}

/* Tick (every check_interval): a host silent for three of its intervals gets a stale finding. */
struct stale_ctx {
	struct agg *a;
	int64_t now;
	/* collected first: the store cannot write while it lists hosts */
	size_t n, cap;
	char (*names)[MODEL_NAME_MAX];
	int64_t *silent;
};

static int
stale_collect(void *arg, const struct stored_host *h)
{
	struct stale_ctx *sc = arg;
	uint64_t interval = h->info.interval ? h->info.interval : sc->a->cfg.default_interval;
	int64_t silent = sc->now - h->last_received;

	if (h->raw == NULL || silent <= (int64_t)(STALE_INTERVALS * interval))
		return 0;
	if (sc->n == sc->cap) {
		size_t ncap = sc->cap ? sc->cap * 2 : 16;
		void *nn = reallocarray(sc->names, ncap, sizeof(*sc->names));
		void *ns;

		if (nn == NULL)
			return 1;
		sc->names = nn;
		if ((ns = reallocarray(sc->silent, ncap, sizeof(*sc->silent))) == NULL)
			return 1;
		sc->silent = ns;
		sc->cap = ncap;
	}
	ifl_strlcpy(sc->names[sc->n], h->info.name, MODEL_NAME_MAX);
	sc->silent[sc->n] = silent;
	sc->n++;
	return 0;
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
	if (store_each_host(a->store, stale_collect, &sc, err, sizeof(err)) == -1)
		log_warnx("stale check: %s", err);
	for (i = 0; i < sc.n; i++)
		stale_mark(a, sc.names[i], sc.silent[i], sc.now);
	free(sc.names);
	free(sc.silent);
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

	/* one buffer for the histories fitted, reused by every snapshot */
	a->series_buf = reallocarray(NULL, (size_t)USAGE_MAX * SERIES_MAX, sizeof(struct sample));
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
}
