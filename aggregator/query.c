/*
 * query.c: the query dispatcher.  One table entry per command; each handler
 * packs the reply body with exactly the shape of the CLI's --json output
 * (docs/protocol.md, "Queries and their reply bodies").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "findings.h"
#include "log.h"
#include "report_rows.h"
#include "util.h"
#include "view.h"

/*
 * What an admin is told when the store fails a query: the reason (a file
 * path, a database error) goes to the aggregator's log only, and the reply
 * says where to look.
 */
#define Q_STORAGE_FAILED "storage failed (the aggregator's log says why)"
#define Q_TOO_LARGE      "reply too large: over the 16 MiB one reply may carry"
#define Q_NO_MEMORY      "out of memory on the aggregator (its log says where)"
/* Q_TOO_LARGE names the frame's limit: the two must not drift apart. */
_Static_assert(PROTO_MAX_FRAME == 16u * 1024 * 1024, "Q_TOO_LARGE says 16 MiB");

#define TREND_MAX 200000 /* points in one trend reply */
#define TOP_MAX   1000
/* hosts rows in one page: about 400 bytes each, so a page stays far below the frame */
#define HOSTS_PAGE_MAX 10000
/* report rows in one page: about 1.4 kB each (docs/protocol.md, "Pages") */
#define REPORT_PAGE_MAX 2000
#define PEAK_WINDOW     (30 * 86400) /* history behind a recommendation */
#define PEAK_BUCKETS    (31 * 24)
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

typedef int (*query_fn)(struct agg *a, const struct msg_query *q, struct buf *out);

static const char *
query_arg(const struct msg_query *q, const char *name)
{
	size_t i;

	for (i = 0; i < q->nargs; i++)
		if (strcmp(q->args[i].name, name) == 0)
			return q->args[i].value;
	return NULL;
}

static int
query_error(struct buf *out, uint64_t id, uint32_t code, const char *text)
{
	struct msg_error e = {.code = code, .id = id};

	ifl_strlcpy(e.text, text, sizeof(e.text));
	return proto_encode_error(out, &e);
}

/* Decodes a stored snapshot payload; page size and OS come from the host row. */
static int
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
struct query_levels {
	const struct agg_config *cfg;
	const char *host;
};

static void
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

/* Everything the aggregator shows about one host, loaded together. */
struct host_view {
	struct snapshot s;
	struct query_levels ql;
	struct finding *findings;
	size_t nfindings;
	struct recommendation recs[RECOMMEND_MAX];
	size_t nrecs;
	struct view_extra x;
	/* the stored snapshot could not be decoded: why (empty: it could) */
	char unreadable[MODEL_TEXT_MAX];
};

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

static int
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

/*
 * Packs array elements straight into the reply being written, under an
 * array32 header whose count is filled in at the end: a fleet's rows (4 MB
 * for 10,000 hosts) are written once, not gathered and copied.
 */
struct rows {
	struct agg *a;
	struct buf *b; /* the reply */
	msgpack_packer pk;
	size_t start;    /* of the reply's frame */
	size_t count_at; /* of the array's header */
	uint32_t n;
	int failed;
	int storage;         /* failed on a store read (logged): not the reply's size */
	int nomem;           /* failed to allocate (logged): not the reply's size */
	const char *what;    /* the query's name, for the log */
	const char *filter;  /* each_open_finding: a kind, or NULL */
	struct share *share; /* fleet-wide findings: each host's share */
	size_t hist_budget;  /* report: bytes of history left (report_rows.h) */
	int64_t now;         /* report: its "generated", the "now" of every row */
};

/* Starts the reply frame; the caller packs the body's start, then rows_array(). */
static int
rows_begin(struct rows *r, struct agg *a, struct buf *out, uint64_t id, const char *what)
{
	memset(r, 0, sizeof(*r));
	r->a = a;
	r->b = out;
	r->what = what;
	return proto_reply_begin(out, id, &r->pk, &r->start);
}

/* A store read failed inside a row: logged with its reason; stops the walk. */
static int
rows_storage(struct rows *r, const char *err)
{
	log_warnx("%s query: %s", r->what, err);
	r->storage = 1;
	return r->failed = 1;
}

/* An allocation failed inside a row: logged; stops the walk. */
static int
rows_nomem(struct rows *r)
{
	log_warnx("%s query: out of memory after %" PRIu32 " rows", r->what, r->n);
	r->nomem = 1;
	return r->failed = 1;
}

static void
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
static int
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
static int
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
static int
num_arg(const struct msg_query *q, const char *name, uint64_t min, uint64_t max, uint64_t *v)
{
	const char *s = query_arg(q, name), *why;

	if (s == NULL)
		return 1;
	return parse_u64(s, min, max, v, &why);
}

/*
 * A page of a listing by host (hosts, report): its rows, and where the next
 * one starts.  The store is asked for one row more than the page: that row,
 * seen, says there is a next page, and ends the walk (PAGE_STOP).
 */
struct page {
	struct rows r;             /* first: the row functions take it as their own */
	uint32_t limit;            /* rows in the page */
	int more;                  /* a row beyond the page was seen */
	const char *after;         /* the page starts past this host (NULL: the first) */
	char last[MODEL_NAME_MAX]; /* the page's last host */
};

#define PAGE_STOP 2 /* ends the walk; not an error */

/* 1 when q asks for a page: 'limit' or 'after' (page_args checks them). */
static int
page_wanted(const struct msg_query *q)
{
	return query_arg(q, "limit") != NULL || query_arg(q, "after") != NULL;
}

/* Reads 'limit' (1 to max) and 'after' into p: NULL, or what is wrong with them (in msg). */
static const char *
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
static int
page_full(struct page *p)
{
	if (p->r.n < p->limit)
		return 0;
	p->more = 1;
	return 1;
}

/* After its rows (the walk's rc): the page's "next", and the reply ended. */
static int
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

static int
q_alerts(struct agg *a, const struct msg_query *q, struct buf *out)
{
	return findings_reply(a, q, out, NULL);
}

static int
q_orphans(struct agg *a, const struct msg_query *q, struct buf *out)
{
	return findings_reply(a, q, out, "orphan");
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

static int
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
static int
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
