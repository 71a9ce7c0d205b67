/*
 * query_fleet.c: the fleet-wide queries (query_local.h): alerts and
 * orphans (every host's open findings, each host its share), top (the
 * largest consumers) and report (one row per host, in pages).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "findings.h"
#include "log.h"
#include "query_local.h"
#include "report_rows.h"
#include "util.h"
#include "view.h"

#define TOP_MAX 1000
/* report rows in one page: about 1.4 kB each (docs/protocol.md, "Pages") */
#define REPORT_PAGE_MAX 2000
/*
 * Fleet-wide lists of findings (alerts, orphans, report) give each host a
 * share (issue 18): at most SHARE_MAX of its worst findings, fewer when
 * more than SHARE_ROWS / SHARE_MAX hosts have findings, so that the list
 * holds at most SHARE_ROWS in all (about 15 MB at the longest findings,
 * under the 16 MiB frame), each host at least its worst one.  What a host's
 * share leaves out is counted: "more" on its last listed finding,
 * "more_findings" on its report row.
 */
#define SHARE_MAX     100
#define SHARE_ROWS    16000
#define SHARE_BUCKETS 4096

/* One host's findings in a fleet-wide list. */
struct share_host {
	struct share_host *next;
	uint64_t total;  /* open findings (of the kind listed) */
	uint64_t listed; /* listed so far */
	char name[MODEL_NAME_MAX];
};

struct share {
	struct share_host *bucket[SHARE_BUCKETS];
	size_t nhosts;
	uint64_t per_host;  /* the share: see SHARE_MAX */
	const char *filter; /* a kind, or NULL */
	int failed;
};

/* The entry of host, created when create is set; NULL when absent or out of memory. */
static struct share_host *
share_host(struct share *sh, const char *host, int create)
{
	uint32_t h = fnv1a_str(host);
	struct share_host *e;

	for (e = sh->bucket[h % SHARE_BUCKETS]; e != NULL; e = e->next)
		if (strcmp(e->name, host) == 0)
			return e;
	if (!create || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	ifl_strlcpy(e->name, host, sizeof(e->name));
	e->next = sh->bucket[h % SHARE_BUCKETS];
	sh->bucket[h % SHARE_BUCKETS] = e;
	sh->nhosts++;
	return e;
}

static void
share_free(struct share *sh)
{
	size_t i;

	for (i = 0; i < SHARE_BUCKETS; i++) {
		while (sh->bucket[i] != NULL) {
			struct share_host *e = sh->bucket[i];

			sh->bucket[i] = e->next;
			free(e);
		}
	}
}

static int
share_count_one(void *arg, const char *host, const struct finding *f)
{
	struct share *sh = arg;
	struct share_host *e;

	if (sh->filter != NULL && strcmp(finding_kind_name(f->kind), sh->filter) != 0)
		return 0;
	if ((e = share_host(sh, host, 1)) == NULL)
		return sh->failed = 1;
	e->total++;
	return 0;
}

/*
 * The first pass of a fleet-wide list: each host's open findings counted,
 * and the share.  0, or -1 (logged as the query what) when the store or
 * memory failed.
 */
static int
share_count(struct agg *a, struct share *sh, const char *filter, const char *what)
{
	char err[MODEL_TEXT_MAX];
	size_t per;

	memset(sh, 0, sizeof(*sh));
	sh->filter = filter;
	if (store_each_open_finding(a->store, share_count_one, sh, err, sizeof(err)) == -1 ||
	    sh->failed) {
		log_warnx("%s query: %s", what, sh->failed ? "out of memory" : err);
		share_free(sh);
		return -1;
	}
	per = sh->nhosts > 0 ? SHARE_ROWS / sh->nhosts : SHARE_MAX;
	sh->per_host = per < 1 ? 1 : per > SHARE_MAX ? SHARE_MAX : per;
	return 0;
}

/* A finding of a fleet-wide list, within its host's share. */
static int
finding_row(void *arg, const char *host, const struct finding *f)
{
	struct rows *r = arg;
	struct share_host *e;
	uint64_t more = 0;

	if (r->filter != NULL && strcmp(finding_kind_name(f->kind), r->filter) != 0)
		return 0;
	/* a host new since the count (another aggregator on the same database) */
	if ((e = share_host(r->share, host, 1)) == NULL)
		return rows_nomem(r);
	if (e->listed >= r->share->per_host)
		return 0;
	e->listed++;
	if (e->listed == r->share->per_host && e->total > e->listed)
		more = e->total - e->listed;
	view_pack_finding_more(&r->pk, host, f, more);
	if (buf_failed(r->b))
		return r->failed = 1;
	r->n++;
	return 0;
}

/* alerts and orphans: two passes, to know each host's count before listing it. */
static int
findings_reply(struct agg *a, const struct msg_query *q, struct buf *out, const char *kind)
{
	struct share sh;
	struct rows r;
	char err[MODEL_TEXT_MAX];
	int rc;

	if (share_count(a, &sh, kind, q->cmd) == -1)
		return query_error(out, q->id, PERR_INTERNAL, Q_STORAGE_FAILED);
	if (rows_begin(&r, a, out, q->id, q->cmd) == -1) {
		share_free(&sh);
		return -1;
	}
	r.filter = kind;
	r.share = &sh;
	rows_array(&r);
	rc = store_each_open_finding(a->store, finding_row, &r, err, sizeof(err));
	rc = rows_finish(&r, q->id, rc, err);
	share_free(&sh);
	return rc;
}

int
q_alerts(struct agg *a, const struct msg_query *q, struct buf *out)
{
	return findings_reply(a, q, out, NULL);
}

int
q_orphans(struct agg *a, const struct msg_query *q, struct buf *out)
{
	return findings_reply(a, q, out, "orphan");
}

/*
 * top: the largest consumers of the fleet, by share of the limit: owners
 * in a scope, and whole scopes (a jail's share of the host's pool, an IPC
 * namespace's use of its own), ranked together.
 */
struct top_row {
	char host[MODEL_NAME_MAX];
	char scope[MODEL_NAME_MAX];
	char owner[MODEL_OWNER_MAX];
	char limit[MODEL_NAME_MAX];
	uint32_t uid;
	int by_scope; /* a whole scope: no uid, no owner */
	uint64_t held, limit_value;
	double pct;
};

struct top_ctx {
	struct agg *a;
	char by[USAGE_MAX][MODEL_NAME_MAX];
	size_t nby;
	struct top_row *rows;
	size_t n, max;
	int failed;
};

/* Keeps the max largest rows, largest first (insertion into a short array). */
static void
top_offer(struct top_ctx *tc, const struct top_row *r)
{
	size_t i;

	if (tc->n == tc->max && r->pct <= tc->rows[tc->n - 1].pct)
		return;
	i = tc->n < tc->max ? tc->n++ : tc->n - 1;
	while (i > 0 && tc->rows[i - 1].pct < r->pct) {
		tc->rows[i] = tc->rows[i - 1];
		i--;
	}
	tc->rows[i] = *r;
}

/* Offers what c holds of each limit asked for (by_scope: c is a whole scope). */
static void
top_offer_holding(struct top_ctx *tc, const char *host, const struct snapshot *s,
                  const struct usage *u, const struct consumer *c, int by_scope)
{
	size_t k, b;

	for (b = 0; b < tc->nby; b++) {
		for (k = 0; k < u->n; k++) {
			struct top_row r;

			if (strcmp(u->v[k].name, tc->by[b]) != 0 || !USAGE_KNOWN(&u->v[k]))
				continue;
			memset(&r, 0, sizeof(r));
			r.held = consumer_holds(c, u->v[k].name);
			if (r.held == 0)
				continue;
			ifl_strlcpy(r.host, host, sizeof(r.host));
			ifl_strlcpy(r.scope, s->scopes[c->scope].id, sizeof(r.scope));
			if (!by_scope) {
				ifl_strlcpy(r.owner, c->owner, sizeof(r.owner));
				r.uid = c->uid;
			}
			r.by_scope = by_scope;
			ifl_strlcpy(r.limit, u->v[k].name, sizeof(r.limit));
			r.limit_value = u->v[k].limit;
			r.pct = usage_pct(r.held, r.limit_value);
			top_offer(tc, &r);
		}
	}
}

static void
top_pool(struct top_ctx *tc, const char *host, const struct snapshot *s, int pool)
{
	struct consumer *cv, *sc;
	struct usage u;
	size_t nc, i;

	if (consumers_of(s, pool, &cv, &nc) == -1) {
		tc->failed = 1;
		return;
	}
	/* each scope's whole holding: the sum of its owners' (one pass, no rescan) */
	if ((sc = calloc(s->nscopes, sizeof(*sc))) == NULL) {
		free(cv);
		tc->failed = 1;
		return;
	}
	model_usage(s, pool, &u);
	for (i = 0; i < nc; i++) {
		struct consumer *t = &sc[cv[i].scope];

		top_offer_holding(tc, host, s, &u, &cv[i], 0);
		t->scope = cv[i].scope;
		t->semmns = u64_add_sat(t->semmns, cv[i].semmns);
		t->semmni = u64_add_sat(t->semmni, cv[i].semmni);
		t->shmall = u64_add_sat(t->shmall, cv[i].shmall);
		t->shmmni = u64_add_sat(t->shmmni, cv[i].shmmni);
		t->msgmni = u64_add_sat(t->msgmni, cv[i].msgmni);
	}
	/* the host itself is the pool, not a share of it */
	for (i = 0; i < s->nscopes; i++)
		if (s->scopes[i].kind != SCOPE_HOST)
			top_offer_holding(tc, host, s, &u, &sc[i], 1);
	free(sc);
	free(cv);
}

static int
top_host(void *arg, const struct stored_host *h)
{
	struct top_ctx *tc = arg;
	struct snapshot s;
	char err[MODEL_TEXT_MAX];
	size_t i;

	struct scope_groups g;
	struct snapshot view;

	if (h->raw == NULL || load_snapshot(h, &s, err, sizeof(err)) == -1)
		return 0;
	top_pool(tc, h->info.name, &s, -1);
	/* each pool of its own on its own objects: 4,096 scopes x 100,000 objects otherwise */
	if (scope_groups_make(&s, &g) == -1) {
		snapshot_free(&s);
		return tc->failed = 1;
	}
	for (i = 0; i < s.nscopes; i++) {
		if (!s.scopes[i].own_limits)
			continue;
		scope_groups_view(&s, &g, i, &view);
		top_pool(tc, h->info.name, &view, (int)i);
	}
	scope_groups_free(&g);
	snapshot_free(&s);
	return tc->failed;
}

int
q_top(struct agg *a, const struct msg_query *q, struct buf *out)
{
	const char *by = query_arg(q, "by");
	struct top_ctx tc = {.a = a};
	uint64_t count = 20;
	msgpack_packer pk;
	size_t start, i;
	char list[MODEL_TEXT_MAX], *tok, *save = NULL, err[MODEL_TEXT_MAX];

	if (num_arg(q, "count", 1, TOP_MAX, &count) == -1)
		return query_error(out, q->id, PERR_BAD_REQUEST, "top: 'count' must be 1 to 1000");
	ifl_strlcpy(list, by != NULL ? by : "semmns,shmall", sizeof(list));
	for (tok = strtok_r(list, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (!limit_name_valid(tok) || tc.nby == USAGE_MAX)
			return query_error(out, q->id, PERR_BAD_REQUEST,
			                   "top: 'by' is a comma separated list of limits");
		ifl_strlcpy(tc.by[tc.nby++], tok, MODEL_NAME_MAX);
	}
	tc.max = (size_t)count;
	if ((tc.rows = calloc(tc.max, sizeof(*tc.rows))) == NULL)
		return -1;
	if (store_each_host(a->store, top_host, &tc, err, sizeof(err)) == -1 || tc.failed) {
		/* tc.failed: out of memory (a snapshot that cannot be read is skipped) */
		log_warnx("top query: %s", tc.failed ? "out of memory" : err);
		free(tc.rows);
		return query_error(out, q->id, PERR_INTERNAL, Q_STORAGE_FAILED);
	}
	if (proto_reply_begin(out, q->id, &pk, &start) == -1) {
		free(tc.rows);
		return -1;
	}
	msgpack_pack_array(&pk, (uint32_t)tc.n);
	for (i = 0; i < tc.n; i++) {
		const struct top_row *r = &tc.rows[i];

		msgpack_pack_map(&pk, 9);
		mp_pack_kv_str(&pk, "host", r->host);
		mp_pack_kv_str(&pk, "scope", r->scope);
		/* a whole scope has no owner: uid and owner nil */
		mp_pack_kv_str(&pk, "by", r->by_scope ? "scope" : "owner");
		mp_pack_str(&pk, "uid");
		if (r->by_scope)
			msgpack_pack_nil(&pk);
		else
			msgpack_pack_uint64(&pk, r->uid);
		mp_pack_str(&pk, "owner");
		if (r->by_scope)
			msgpack_pack_nil(&pk);
		else
			mp_pack_str(&pk, r->owner);
		mp_pack_kv_str(&pk, "limit", r->limit);
		mp_pack_kv_u64(&pk, "held", r->held);
		mp_pack_kv_u64(&pk, "limit_value", r->limit_value);
		mp_pack_str(&pk, "pct");
		msgpack_pack_double(&pk, r->pct);
	}
	free(tc.rows);
	return proto_reply_end(out, start);
}

/*
 * Keeps the per_host worst of v[0..*n), in the store's order among equals,
 * and says how many it left out (0 when out of memory: all kept).
 */
static uint64_t
share_keep(struct finding *v, size_t *n, uint64_t per_host)
{
	struct finding *keep;
	size_t i, k = 0, left;
	int sev;

	if (*n <= per_host || (keep = calloc((size_t)per_host, sizeof(*keep))) == NULL)
		return 0;
	for (sev = SEV_CRIT; sev >= SEV_INFO; sev--)
		for (i = 0; i < *n && k < per_host; i++)
			if ((int)v[i].severity == sev)
				keep[k++] = v[i];
	memcpy(v, keep, k * sizeof(*v));
	free(keep);
	left = *n - k;
	*n = k;
	return left;
}

static int
report_host(void *arg, const struct stored_host *h)
{
	struct rows *r = arg;
	struct host_view hv;
	struct report_row rr;
	char err[MODEL_TEXT_MAX];

	if (host_view_load(r->a, h, 1, &hv, err, sizeof(err)) == -1)
		return rows_storage(r, err);
	/* a host row plus its findings (its share of them) and recommendations */
	hv.x.row_details = 1;
	hv.x.more_findings = share_keep(hv.findings, &hv.x.nfindings, r->share->per_host);
	/* and what the report draws: the limit nearest exhaustion, 30 days of peaks */
	memset(&rr, 0, sizeof(rr));
	rr.st = r->a->store;
	rr.host = h->info.name;
	rr.s = &hv.s;
	rr.findings = hv.findings;
	rr.nfindings = hv.x.nfindings;
	rr.levels = query_levels;
	rr.levels_arg = &hv.ql;
	rr.now = r->now;
	rr.budget = &r->hist_budget;
	hv.x.nmore = REPORT_ROW_PAIRS;
	hv.x.more = report_row_pack;
	hv.x.more_arg = &rr;
	return rows_pack(r, &hv);
}

static int
report_page_host(void *arg, const struct stored_host *h)
{
	struct page *p = arg;
	int rc;

	if (page_full(p))
		return PAGE_STOP;
	if ((rc = report_host(&p->r, h)) == 0)
		ifl_strlcpy(p->last, h->info.name, sizeof(p->last));
	return rc;
}

/*
 * The report: every host's row at once, or with 'limit' (and 'after') a
 * page of them and its "next", as hosts.  Each page counts the fleet's
 * findings for the shares, so a host's share is the same in any page.
 */
int
q_report(struct agg *a, const struct msg_query *q, struct buf *out)
{
	int paged = page_wanted(q);
	struct share sh;
	struct page p;
	char err[MODEL_TEXT_MAX], t[32];
	const char *why;
	int rc;

	memset(&p, 0, sizeof(p));
	if (paged && (why = page_args(q, REPORT_PAGE_MAX, &p, err, sizeof(err))) != NULL)
		return query_error(out, q->id, PERR_BAD_REQUEST, why);
	if (share_count(a, &sh, NULL, q->cmd) == -1)
		return query_error(out, q->id, PERR_INTERNAL, Q_STORAGE_FAILED);
	if (rows_begin(&p.r, a, out, q->id, q->cmd) == -1) {
		share_free(&sh);
		return -1;
	}
	p.r.share = &sh;
	p.r.hist_budget = REPORT_HIST_BUDGET;
	p.r.now = now_unix();
	msgpack_pack_map(&p.r.pk, paged ? 3 : 2);
	mp_pack_kv_str(&p.r.pk, "generated", fmt_rfc3339(p.r.now, t, sizeof(t)));
	mp_pack_str(&p.r.pk, "hosts");
	rows_array(&p.r);
	if (paged) {
		rc = store_each_host_page(a->store, p.after, p.limit + 1, report_page_host, &p, err,
		                          sizeof(err));
		rc = page_finish(&p, q->id, rc, err);
	} else {
		rc = store_each_host(a->store, report_host, &p.r, err, sizeof(err));
		rc = rows_finish(&p.r, q->id, rc, err);
	}
	share_free(&sh);
	return rc;
}
