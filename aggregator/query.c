/*
 * query.c: the query dispatcher.  One table entry per command; each handler
 * packs the reply body with exactly the shape of the CLI's --json output
 * (docs/protocol.md, "Queries and their reply bodies").  Here: the per-host
 * queries (hosts, host, trend) and the helpers every handler uses
 * (query_local.h); the fleet-wide ones are in query_fleet.c.
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

#define TREND_MAX 200000 /* points in one trend reply */
/* hosts rows in one page: about 400 bytes each, so a page stays far below the frame */
#define HOSTS_PAGE_MAX 10000
#define PEAK_WINDOW    (30 * 86400) /* history behind a recommendation */
#define PEAK_BUCKETS   (31 * 24)

typedef int (*query_fn)(struct agg *a, const struct msg_query *q, struct buf *out);

const char *
query_arg(const struct msg_query *q, const char *name)
{
	size_t i;

	for (i = 0; i < q->nargs; i++)
		if (strcmp(q->args[i].name, name) == 0)
			return q->args[i].value;
	return NULL;
}

int
query_error(struct buf *out, uint64_t id, uint32_t code, const char *text)
{
	struct msg_error e = {.code = code, .id = id};

	ifl_strlcpy(e.text, text, sizeof(e.text));
	return proto_encode_error(out, &e);
}

/* Decodes a stored snapshot payload; page size and OS come from the host row. */
int
load_snapshot(const struct stored_host *h, struct snapshot *s, char *err, size_t errlen)
{
	struct proto_doc d;
	int rc;

	if (snapshot_init(s) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (h->raw == NULL)
		goto info; /* a host that said hello but never stored a snapshot */
	if (proto_doc_unpack(h->raw, h->rawlen, &d, err, errlen) == -1) {
		snapshot_free(s);
		return -1;
	}
	rc = proto_decode_snapshot(&d, s, err, errlen);
	proto_doc_free(&d);
	if (rc == -1) {
		snapshot_free(s);
		return -1;
	}
info:
	s->page_size = h->info.page_size;
	ifl_strlcpy(s->os, h->info.os, sizeof(s->os));
	ifl_strlcpy(s->os_release, h->info.os_release, sizeof(s->os_release));
	return 0;
}

void
agg_thresholds(const struct agg_config *c, const char *limit, double *warn, double *crit)
{
	size_t i;

	*warn = (double)c->warn;
	*crit = (double)c->crit;
	for (i = 0; i < c->noverrides; i++) {
		if (strcmp(c->overrides[i].limit, limit) != 0)
			continue;
		if (c->overrides[i].warn != 0)
			*warn = (double)c->overrides[i].warn;
		if (c->overrides[i].crit != 0)
			*crit = (double)c->overrides[i].crit;
	}
}

/* The levels findings use for a host (analysis.c), shown beside its usage. */
void
query_levels(void *arg, const char *limit, double *warn, double *crit)
{
	const struct query_levels *ql = arg;

	agg_host_levels(ql->cfg, ql->host, limit, warn, crit);
}

/* A host's status: "stale" when silent, else its worst open finding. */
static const char *
status_of(const struct finding *v, size_t n)
{
	return findings_status(v, n);
}

static void
host_view_free(struct host_view *hv)
{
	snapshot_free(&hv->s);
	free(hv->findings);
	hv->findings = NULL;
}

/* Peak use of each counted limit over PEAK_WINDOW, from the hourly rollups. */
static void
load_peaks(struct agg *a, const struct stored_host *h, const struct snapshot *s, uint64_t *peaks)
{
	struct rollup *r;
	struct usage u;
	size_t i, k, n;
	char err[256];

	model_usage(s, -1, &u);
	if (a->store->ops->peaks != NULL) {
		const char *names[USAGE_MAX];

		for (i = 0; i < u.n; i++)
			names[i] = u.v[i].name;
		if (a->store->ops->peaks(a->store, h->info.name, now_unix() - PEAK_WINDOW, names,
		                         u.n, peaks, err, sizeof(err)) == -1) {
			log_warnx("host %s: reading peaks: %s", h->info.name, err);
			for (i = 0; i < u.n; i++)
				peaks[i] = 0;
		}
		return;
	}
	r = calloc(PEAK_BUCKETS, sizeof(*r));
	for (i = 0; i < u.n; i++) {
		peaks[i] = 0;
		if (r == NULL ||
		    store_rollups(a->store, h->info.name, u.v[i].name, now_unix() - PEAK_WINDOW, r,
		                  PEAK_BUCKETS, &n, err, sizeof(err)) == -1)
			continue;
		for (k = 0; k < n; k++)
			if (r[k].max > peaks[i])
				peaks[i] = r[k].max;
	}
	free(r);
}

int
host_view_load(struct agg *a, const struct stored_host *h, int with_recs, struct host_view *hv,
               char *err, size_t errlen)
{
	memset(hv, 0, sizeof(*hv));
	if (load_snapshot(h, &hv->s, err, errlen) == -1) {
		/* one damaged row must not hide the fleet: show the host, log why */
		log_warnx("host %s: stored snapshot unreadable: %s", h->info.name, err);
		ifl_strlcpy(hv->unreadable, err, sizeof(hv->unreadable));
		if (snapshot_init(&hv->s) == -1)
			return -1;
	}
	if (store_open_findings(a->store, h->info.name, &hv->findings, &hv->nfindings, err,
	                        errlen) == -1) {
		snapshot_free(&hv->s);
		return -1;
	}
	if (with_recs && h->raw != NULL) {
		uint64_t peaks[USAGE_MAX];

		load_peaks(a, h, &hv->s, peaks);
		hv->nrecs = recommend_host(&hv->s, peaks, hv->recs, RECOMMEND_MAX);
	}
	hv->ql.cfg = &a->cfg;
	hv->ql.host = h->info.name;
	hv->x.levels = query_levels;
	hv->x.levels_arg = &hv->ql;
	hv->x.host = h->info.name;
	hv->x.status = status_of(hv->findings, hv->nfindings);
	hv->x.last_seen = h->last_received;
	hv->x.findings = hv->findings;
	hv->x.nfindings = hv->nfindings;
	if (with_recs) {
		hv->x.recs = hv->recs;
		hv->x.nrecs = hv->nrecs;
	}
	return 0;
}

/* Starts the reply frame; the caller packs the body's start, then rows_array(). */
int
rows_begin(struct rows *r, struct agg *a, struct buf *out, uint64_t id, const char *what)
{
	memset(r, 0, sizeof(*r));
	r->a = a;
	r->b = out;
	r->what = what;
	return proto_reply_begin(out, id, &r->pk, &r->start);
}

/* A store read failed inside a row: logged with its reason; stops the walk. */
int
rows_storage(struct rows *r, const char *err)
{
	log_warnx("%s query: %s", r->what, err);
	r->storage = 1;
	return r->failed = 1;
}

/* An allocation failed inside a row: logged; stops the walk. */
int
rows_nomem(struct rows *r)
{
	log_warnx("%s query: out of memory after %" PRIu32 " rows", r->what, r->n);
	r->nomem = 1;
	return r->failed = 1;
}

void
rows_array(struct rows *r)
{
	static const uint8_t array32[5] = {0xdd, 0, 0, 0, 0};

	r->count_at = r->b->len;
	buf_append(r->b, array32, sizeof(array32));
}

/* Patches the array's count and ends the frame. */
static int
rows_end(struct rows *r)
{
	uint8_t *p;

	if (r->failed || buf_failed(r->b))
		return -1;
	p = (uint8_t *)r->b->data + r->count_at + 1;
	p[0] = (uint8_t)(r->n >> 24);
	p[1] = (uint8_t)(r->n >> 16);
	p[2] = (uint8_t)(r->n >> 8);
	p[3] = (uint8_t)r->n;
	return proto_reply_end(r->b, r->start);
}

/* Drops the reply begun and writes an error frame in its place. */
static int
rows_fail(struct rows *r, uint64_t id, const char *text)
{
	r->b->len = r->start;
	r->b->failed = 0;
	return query_error(r->b, id, PERR_INTERNAL, text);
}

/*
 * After the walk over the store (rc its result, err its reason): the reply
 * ended, or an error frame in its place that says which of the two failed,
 * the store, memory or the reply's size.
 */
int
rows_finish(struct rows *r, uint64_t id, int rc, const char *err)
{
	if (rc == -1)
		log_warnx("%s query: %s", r->what, err);
	if (rc == -1 || r->storage)
		return rows_fail(r, id, Q_STORAGE_FAILED);
	if (r->nomem)
		return rows_fail(r, id, Q_NO_MEMORY);
	if (r->failed || buf_failed(r->b)) {
		log_warnx("%s query: reply too large after %" PRIu32 " rows", r->what, r->n);
		return rows_fail(r, id, Q_TOO_LARGE);
	}
	return rows_end(r);
}

/* Packs a host's row into the reply and frees its view; 0, or 1 (failed). */
int
rows_pack(struct rows *r, struct host_view *hv)
{
	view_pack_host_row(&r->pk, &hv->s, &hv->x);
	host_view_free(hv);
	if (buf_failed(r->b))
		return r->failed = 1;
	r->n++;
	return 0;
}

static int
hosts_row(void *arg, const struct stored_host *h)
{
	struct rows *r = arg;
	struct host_view hv;
	char err[MODEL_TEXT_MAX];

	if (host_view_load(r->a, h, 0, &hv, err, sizeof(err)) == -1)
		return rows_storage(r, err);
	return rows_pack(r, &hv);
}

/*
 * A hosts row from the store's summary: usage and status kept with the
 * host, no snapshot decoded, no findings read.  A host the summary does not
 * cover (no snapshot yet, a database from before the summaries) takes the
 * long way, hosts_row().
 */
static int
hosts_summary_row(void *arg, const struct host_summary *h)
{
	struct rows *r = arg;
	struct query_levels ql = {.cfg = &r->a->cfg, .host = h->info.name};
	struct view_extra x;

	if (!h->has_usage || !h->has_status) {
		struct stored_host sh;
		char err[MODEL_TEXT_MAX];
		int rc;

		if ((rc = store_get_host(r->a->store, h->info.name, &sh, err, sizeof(err))) != 0)
			return rc == 1 ? 0 : rows_storage(r, err); /* 1: gone meanwhile */
		rc = hosts_row(r, &sh);
		stored_host_free(&sh);
		return rc;
	}
	memset(&x, 0, sizeof(x));
	x.host = h->info.name;
	x.status = h->status;
	x.last_seen = h->last_received;
	x.levels = query_levels;
	x.levels_arg = &ql;
	view_pack_host_row_usage(&r->pk, h->info.os, &h->usage, &x);
	if (buf_failed(r->b))
		return r->failed = 1;
	r->n++;
	return 0;
}

/* An optional numeric argument with bounds; 1 absent, 0 set, -1 bad. */
int
num_arg(const struct msg_query *q, const char *name, uint64_t min, uint64_t max, uint64_t *v)
{
	const char *s = query_arg(q, name), *why;

	if (s == NULL)
		return 1;
	return parse_u64(s, min, max, v, &why);
}

/* 1 when q asks for a page: 'limit' or 'after' (page_args checks them). */
int
page_wanted(const struct msg_query *q)
{
	return query_arg(q, "limit") != NULL || query_arg(q, "after") != NULL;
}

/* Reads 'limit' (1 to max) and 'after' into p: NULL, or what is wrong with them (in msg). */
const char *
page_args(const struct msg_query *q, uint32_t max, struct page *p, char *msg, size_t len)
{
	uint64_t limit;

	memset(p, 0, sizeof(*p));
	if (num_arg(q, "limit", 1, max, &limit) != 0) {
		snprintf(msg, len, "%s: 'limit' (hosts in a page) must be 1 to %u", q->cmd, max);
		return msg;
	}
	p->limit = (uint32_t)limit;
	p->after = query_arg(q, "after");
	if (p->after != NULL && (p->after[0] == '\0' || strlen(p->after) >= MODEL_NAME_MAX)) {
		snprintf(msg, len, "%s: 'after' must be a host name (the last page's 'next')",
		         q->cmd);
		return msg;
	}
	return NULL;
}

/* 1 when the page is full: the host offered is the next page's. */
int
page_full(struct page *p)
{
	if (p->r.n < p->limit)
		return 0;
	p->more = 1;
	return 1;
}

/* After its rows (the walk's rc): the page's "next", and the reply ended. */
int
page_finish(struct page *p, uint64_t id, int rc, const char *err)
{
	if (rc == PAGE_STOP)
		rc = 0;
	mp_pack_str(&p->r.pk, "next");
	if (p->more)
		mp_pack_str(&p->r.pk, p->last);
	else
		msgpack_pack_nil(&p->r.pk);
	return rows_finish(&p->r, id, rc, err);
}

static int
hosts_page_row(void *arg, const struct host_summary *h)
{
	struct page *p = arg;
	int rc;

	if (page_full(p))
		return PAGE_STOP;
	if ((rc = hosts_summary_row(&p->r, h)) == 0)
		ifl_strlcpy(p->last, h->info.name, sizeof(p->last));
	return rc;
}

/*
 * hosts with 'limit' (and 'after'): one page of the listing, a map of the
 * rows ("hosts") and the name to ask for the next page after ("next", nil
 * on the last).  A fleet larger than one reply can carry is listed in
 * pages, and no page holds the loop for long (docs/protocol.md).
 */
static int
q_hosts_page(struct agg *a, const struct msg_query *q, struct buf *out)
{
	struct page p;
	char err[MODEL_TEXT_MAX];
	const char *why;
	int rc;

	if ((why = page_args(q, HOSTS_PAGE_MAX, &p, err, sizeof(err))) != NULL)
		return query_error(out, q->id, PERR_BAD_REQUEST, why);
	if (a->store->ops->each_host_summary == NULL)
		return query_error(out, q->id, PERR_BAD_REQUEST,
		                   "hosts: this store cannot list in pages");
	if (rows_begin(&p.r, a, out, q->id, q->cmd) == -1)
		return -1;
	msgpack_pack_map(&p.r.pk, 2);
	mp_pack_str(&p.r.pk, "hosts");
	rows_array(&p.r);
	rc = a->store->ops->each_host_summary(a->store, p.after, p.limit + 1, hosts_page_row, &p,
	                                      err, sizeof(err));
	return page_finish(&p, q->id, rc, err);
}

static int
q_hosts(struct agg *a, const struct msg_query *q, struct buf *out)
{
	struct rows r;
	char err[MODEL_TEXT_MAX];
	int rc;

	if (page_wanted(q))
		return q_hosts_page(a, q, out);
	if (rows_begin(&r, a, out, q->id, q->cmd) == -1)
		return -1;
	rows_array(&r);
	if (a->store->ops->each_host_summary != NULL)
		rc = a->store->ops->each_host_summary(a->store, NULL, 0, hosts_summary_row, &r, err,
		                                      sizeof(err));
	else
		rc = store_each_host(a->store, hosts_row, &r, err, sizeof(err));
	return rows_finish(&r, q->id, rc, err);
}

static int
q_host(struct agg *a, const struct msg_query *q, struct buf *out)
{
	const char *name = query_arg(q, "name");
	struct stored_host h;
	struct host_view hv;
	msgpack_packer pk;
	size_t start;
	char err[MODEL_TEXT_MAX], msg[MODEL_TEXT_MAX];
	int rc;

	if (name == NULL || name[0] == '\0')
		return query_error(out, q->id, PERR_BAD_REQUEST, "host: argument 'name' missing");
	rc = store_get_host(a->store, name, &h, err, sizeof(err));
	if (rc == -1) {
		log_warnx("host query: %s", err);
		return query_error(out, q->id, PERR_INTERNAL, Q_STORAGE_FAILED);
	}
	if (rc == 1) {
		snprintf(msg, sizeof(msg), "unknown host '%.64s'", name);
		return query_error(out, q->id, PERR_NOT_FOUND, msg);
	}
	if (host_view_load(a, &h, 1, &hv, err, sizeof(err)) == -1) {
		log_warnx("host query: %s: %s", h.info.name, err);
		stored_host_free(&h);
		return query_error(out, q->id, PERR_INTERNAL, Q_STORAGE_FAILED);
	}
	if (hv.unreadable[0] != '\0') {
		/* an empty host would read as "ok": its state is not known */
		snprintf(msg, sizeof(msg),
		         "host %.64s: its stored snapshot cannot be read (%.80s); the database "
		         "may be damaged",
		         h.info.name, hv.unreadable);
		host_view_free(&hv);
		stored_host_free(&h);
		return query_error(out, q->id, PERR_INTERNAL, msg);
	}
	if (proto_reply_begin(out, q->id, &pk, &start) == 0) {
		view_pack_host(&pk, &hv.s, &hv.x);
		rc = proto_reply_end(out, start);
	} else
		rc = -1;
	host_view_free(&hv);
	stored_host_free(&h);
	return rc;
}

/* One trend point; an hour's rollup (r) also gives min, max and mean, used being its max. */
static void
q_trend_point(msgpack_packer *pk, int64_t t, uint64_t used, uint64_t limit, const struct rollup *r)
{
	char ts[32];

	msgpack_pack_map(pk, r != NULL ? 6 : 3);
	mp_pack_kv_str(pk, "t", fmt_rfc3339(t, ts, sizeof(ts)));
	mp_pack_kv_u64(pk, "used", used);
	mp_pack_kv_u64(pk, "limit", limit);
	if (r != NULL) {
		mp_pack_kv_u64(pk, "min", r->min);
		mp_pack_kv_u64(pk, "max", r->max);
		mp_pack_str(pk, "mean");
		msgpack_pack_double(pk, r->mean);
	}
}

static int
q_trend(struct agg *a, const struct msg_query *q, struct buf *out)
{
	const char *name = query_arg(q, "name"), *limit = query_arg(q, "limit");
	uint64_t since = 7 * 86400;
	struct stored_host h;
	struct rollup *r = NULL;
	struct sample *v = NULL;
	msgpack_packer pk;
	size_t start, n = 0, i;
	int64_t t0;
	char err[MODEL_TEXT_MAX], msg[MODEL_TEXT_MAX];
	int rc, rollup;

	if (name == NULL || limit == NULL || !limit_name_valid(limit))
		return query_error(out, q->id, PERR_BAD_REQUEST,
		                   "trend: arguments 'name' and 'limit' (a limit name) needed");
	if (num_arg(q, "since", 60, 3650u * 86400, &since) == -1)
		return query_error(out, q->id, PERR_BAD_REQUEST,
		                   "trend: 'since' must be seconds between 60 and 10 years");
	rc = store_get_host(a->store, name, &h, err, sizeof(err));
	if (rc != 0) {
		if (rc == -1) {
			log_warnx("trend query: %s", err);
			return query_error(out, q->id, PERR_INTERNAL, Q_STORAGE_FAILED);
		}
		snprintf(msg, sizeof(msg), "unknown host '%.64s'", name);
		return query_error(out, q->id, PERR_NOT_FOUND, msg);
	}
	stored_host_free(&h);
	t0 = now_unix() - (int64_t)since;
	/* beyond the raw retention, hourly rollups; within it, every sample */
	rollup = since > a->cfg.retention;
	if (proto_reply_begin(out, q->id, &pk, &start) == -1)
		return -1;
	msgpack_pack_map(&pk, 3);
	mp_pack_kv_str(&pk, "host", name);
	mp_pack_kv_str(&pk, "limit", limit);
	mp_pack_str(&pk, "points");
	if (rollup)
		rc = (r = calloc(TREND_MAX, sizeof(*r))) == NULL
		         ? -1
		         : store_rollups(a->store, name, limit, t0, r, TREND_MAX, &n, err,
		                         sizeof(err));
	else
		rc = (v = calloc(TREND_MAX, sizeof(*v))) == NULL
		         ? -1
		         : store_series(a->store, name, limit, t0, v, TREND_MAX, &n, err,
		                        sizeof(err));
	if (rc == -1) {
		/* not "reply too large" (query_run's answer to -1): say what failed */
		log_warnx("trend query: %s", r == NULL && v == NULL ? "out of memory" : err);
		free(r);
		free(v);
		out->len = start;
		out->failed = 0;
		return query_error(out, q->id, PERR_INTERNAL, Q_STORAGE_FAILED);
	}
	msgpack_pack_array(&pk, (uint32_t)n);
	for (i = 0; i < n; i++) {
		if (r != NULL)
			q_trend_point(&pk, r[i].hour, r[i].max, r[i].limit, &r[i]);
		else
			q_trend_point(&pk, v[i].t, v[i].used, v[i].limit, NULL);
	}
	free(r);
	free(v);
	return proto_reply_end(out, start);
}

static const struct query_cmd {
	const char *name;
	query_fn fn;
} query_cmds[] = {
    {"hosts", q_hosts}, {"host", q_host}, {"alerts", q_alerts}, {"orphans", q_orphans},
    {"trend", q_trend}, {"top", q_top},   {"report", q_report},
};

int
query_run(struct agg *a, const struct msg_query *q, struct buf *out)
{
	size_t i, mark = out->len;
	char msg[MODEL_TEXT_MAX];

	for (i = 0; i < NELEM(query_cmds); i++) {
		if (strcmp(query_cmds[i].name, q->cmd) != 0)
			continue;
		if (query_cmds[i].fn(a, q, out) == 0)
			return 0;
		/* the reply did not fit: replace it with an error the CLI can show */
		out->len = mark;
		out->failed = 0;
		log_warnx("%s query: reply too large", q->cmd);
		return query_error(out, q->id, PERR_INTERNAL, Q_TOO_LARGE);
	}
	snprintf(msg, sizeof(msg), "unknown command '%.64s'", q->cmd);
	return query_error(out, q->id, PERR_BAD_REQUEST, msg);
}
