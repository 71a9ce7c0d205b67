/*
 * query_local.h: what the query handlers share (query.c: the dispatcher,
 * the per-host queries and the helpers; query_fleet.c: the fleet-wide
 * lists of findings, top and report).  Internal to the aggregator.
 */
#ifndef IPCFLEET_QUERY_LOCAL_H
#define IPCFLEET_QUERY_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "aggregator.h"
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

/* The warn and crit levels of one host, for view_levels_fn (query_levels). */
struct query_levels {
	const struct agg_config *cfg;
	const char *host;
};

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

struct share; /* query_fleet.c */

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

/* query.c, each described where it is defined */
void query_levels(void *arg, const char *limit, double *warn, double *crit);
const char *query_arg(const struct msg_query *q, const char *name);
int query_error(struct buf *out, uint64_t id, uint32_t code, const char *text);
int load_snapshot(const struct stored_host *h, struct snapshot *s, char *err, size_t errlen);
int host_view_load(struct agg *a, const struct stored_host *h, int with_recs, struct host_view *hv,
                   char *err, size_t errlen);
int num_arg(const struct msg_query *q, const char *name, uint64_t min, uint64_t max, uint64_t *v);
int page_wanted(const struct msg_query *q);
const char *page_args(const struct msg_query *q, uint32_t max, struct page *p, char *msg,
                      size_t len);
int page_full(struct page *p);
int page_finish(struct page *p, uint64_t id, int rc, const char *err);
int rows_begin(struct rows *r, struct agg *a, struct buf *out, uint64_t id, const char *what);
int rows_storage(struct rows *r, const char *err);
int rows_nomem(struct rows *r);
void rows_array(struct rows *r);
int rows_finish(struct rows *r, uint64_t id, int rc, const char *err);
int rows_pack(struct rows *r, struct host_view *hv);

/* query_fleet.c */
int q_alerts(struct agg *a, const struct msg_query *q, struct buf *out);
int q_orphans(struct agg *a, const struct msg_query *q, struct buf *out);
int q_top(struct agg *a, const struct msg_query *q, struct buf *out);
int q_report(struct agg *a, const struct msg_query *q, struct buf *out);

#endif
