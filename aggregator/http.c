/*
 * http.c: the aggregator's plain-HTTP monitoring endpoint ([http] listen).
 *
 *   GET /metrics   the Prometheus text exposition format, version 0.0.4
 *   GET /healthz   200 "ok" while the store answers, else 503
 *   other paths    404; other methods on these paths 405
 *
 * No TLS and no authentication: anyone who reaches the address may connect,
 * so this is a small HTTP/1.x server of its own that bounds everything a
 * client can make it hold (docs/SECURITY.md, "The HTTP endpoint"):
 *
 * - at most http_max connections at once (HTTP_MAX_CONNS, and never more
 *   than an eighth of the descriptors), and none when fewer than a quarter
 *   of the descriptors are left: the TLS listener keeps those for agents;
 * - the request line and headers within HTTP_REQUEST_TIMEOUT of the
 *   connection, whatever the pace (a header byte every few seconds does not
 *   extend it), at most HTTP_MAX_HEADERS bytes, no body; the response
 *   written within HTTP_WRITE_TIMEOUT; then the connection is closed;
 * - accept() failing for want of descriptors pauses the listener for
 *   HTTP_PAUSE_MS instead of spinning on it;
 * - /metrics is built from what the store keeps beside each host (its
 *   usage summary, no snapshot decoded) and the open findings, at most once
 *   per METRICS_CACHE_MS: a scrape flood costs one build per period, and
 *   every response in the period shares the same bytes.
 *
 * It runs on the TLS server's event_base: a request is served between two
 * frames and never concurrently with a store write.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "aggregator.h"
#include "log.h"
#include "prom.h"
#include "util.h"

#define HTTP_MAX_HEADERS     8192 /* bytes of request line plus headers */
#define HTTP_MAX_CONNS       64   /* scrapers are few: this is plenty */
#define HTTP_REQUEST_TIMEOUT 10   /* seconds from accept to the end of the headers */
#define HTTP_WRITE_TIMEOUT   30   /* seconds to write the response */
#define HTTP_PAUSE_MS        1000 /* listener paused this long when out of descriptors */
#define HTTP_BACKLOG         64
#define METRICS_MAX          (64u * 1024 * 1024)
#define METRICS_CACHE_MS     2000
#define PROM_CTYPE           "text/plain; version=0.0.4; charset=utf-8"

struct http_conn {
	struct bufferevent *bev;
	struct event *timer; /* the request's, then the response's deadline */
	int replied;         /* response queued: close once it is written */
	size_t scanned;      /* input bytes searched for the end of the head so far */
	char peer[NI_MAXHOST + NI_MAXSERV + 2];
	struct http_conn *next, *prev;
};

/* The part of /metrics read from the store, shared by the responses of a period. */
struct metrics_doc {
	unsigned refs; /* the cache's, plus one per response still holding it */
	int store_ok;
	uint64_t built_ms;
	struct buf body;
};

static struct {
	struct agg *a;
	struct evconnlistener *listener; /* NULL while not serving */
	struct event *pause;             /* re-enables the listener */
	struct http_conn *conns;
	unsigned open, max;      /* connections open, and allowed */
	rlim_t nofile;           /* the descriptor limit */
	struct metrics_doc *doc; /* the cached store part, or NULL */
} http;

static struct log_limit ll_http = LOG_LIMIT("HTTP");

/* ---- the /metrics document ---- */

/* Per scrape: one buffer per per-host metric family, since the format wants
 * each family's samples together under its HELP and TYPE lines. */
enum host_family { HF_INFO, HF_SEEN, HF_VALUE, HF_USED, HF_RATIO, HF_UNKNOWN, HF_COUNT };
/* prom_usage() writes HF_VALUE to HF_UNKNOWN, in its own order */
_Static_assert(HF_USED - HF_VALUE == PROM_LIMIT_USED && HF_RATIO - HF_VALUE == PROM_LIMIT_RATIO &&
                   HF_UNKNOWN - HF_VALUE == PROM_LIMIT_UNKNOWN,
               "the limit families follow prom.h's order");

/* HELP of the limit families: prom_usage_help(), as the agent's textfile has it */
static const struct {
	const char *name, *type, *help;
} host_families[HF_COUNT] = {
    [HF_INFO] = {"ipcfleet_host_info", "gauge",
                 "Constant 1 per known host; labels carry its OS, release and agent version."},
    [HF_SEEN] = {"ipcfleet_host_last_seen_seconds", "gauge",
                 "Unix time at which the host's latest snapshot arrived."},
    [HF_VALUE] = {"ipcfleet_limit_value", "gauge", NULL},
    [HF_USED] = {"ipcfleet_limit_used", "gauge", NULL},
    [HF_RATIO] = {"ipcfleet_limit_ratio", "gauge", NULL},
    [HF_UNKNOWN] = {"ipcfleet_limit_unknown", "gauge", NULL},
};

struct scrape {
	struct agg *a;
	struct buf fam[HF_COUNT];
	uint64_t hosts, unreadable;
	uint64_t findings[FK_COUNT][SEV_CRIT + 1];
};

/* Starts a sample: NAME{host="H" -- the caller adds more labels, "} " and the value. */
static struct buf *
http_sample(struct scrape *sc, enum host_family f, const char *host)
{
	struct buf *b = &sc->fam[f];

	buf_puts(b, host_families[f].name);
	buf_puts(b, "{host=\"");
	prom_label(b, host);
	buf_puts(b, "\"");
	return b;
}

/*
 * One host's samples: its info and last arrival, and per countable limit
 * its value, use and ratio (u NULL: none known, no snapshot yet or an
 * unreadable one).
 */
static void
http_host_samples(struct scrape *sc, const struct host_info *hi, int64_t last_received,
                  const struct usage *u)
{
	const char *host = hi->name;
	const char *hl[] = {"host", host, NULL};
	struct buf *b;

	sc->hosts++;
	b = http_sample(sc, HF_INFO, host);
	buf_puts(b, ",os=\"");
	prom_label(b, hi->os);
	buf_puts(b, "\",os_release=\"");
	prom_label(b, hi->os_release);
	buf_puts(b, "\",agent=\"");
	prom_label(b, hi->agent);
	buf_puts(b, "\"} 1\n");
	if (last_received > 0) {
		b = http_sample(sc, HF_SEEN, host);
		buf_printf(b, "} %lld\n", (long long)last_received);
	}
	/* value, used, ratio, and the unknown flag instead of a used of 0 */
	if (u != NULL)
		prom_usage(&sc->fam[HF_VALUE], "ipcfleet_", hl, u);
}

/*
 * The usage of a stored host's latest snapshot, decoded: only for a host
 * whose row has no usage summary (stored by an aggregator from before the
 * summaries).  0, or -1 with err.
 */
static int
http_decode_usage(const struct stored_host *h, struct usage *u, char *err, size_t errlen)
{
	struct proto_doc d;
	struct snapshot s;
	int rc;

	if (snapshot_init(&s) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((rc = proto_doc_unpack(h->raw, h->rawlen, &d, err, errlen)) == 0) {
		rc = proto_decode_snapshot(&d, &s, err, errlen);
		proto_doc_free(&d);
	}
	if (rc == 0) {
		s.page_size = h->info.page_size;
		model_usage(&s, -1, u);
	}
	snapshot_free(&s);
	return rc;
}

/* A stored host (each_host, or a row without a summary): decoded. */
static int
http_stored_host(void *arg, const struct stored_host *h)
{
	struct scrape *sc = arg;
	char err[MODEL_TEXT_MAX];
	struct usage u;

	if (h->raw == NULL) { /* said hello, never stored a snapshot */
		http_host_samples(sc, &h->info, h->last_received, NULL);
		return 0;
	}
	if (http_decode_usage(h, &u, err, sizeof(err)) == -1) {
		/* one damaged row must not hide the rest of the fleet */
		log_limited(&ll_http, "metrics: host %s: stored snapshot unreadable: %s",
		            h->info.name, err);
		sc->unreadable++;
		http_host_samples(sc, &h->info, h->last_received, NULL);
		return 0;
	}
	http_host_samples(sc, &h->info, h->last_received, &u);
	return 0;
}

/* A host from the store's summaries: nothing decoded unless it has none. */
static int
http_summary_host(void *arg, const struct host_summary *h)
{
	struct scrape *sc = arg;
	struct stored_host sh;
	char err[MODEL_TEXT_MAX];
	int rc;

	if (h->has_usage || !h->has_snapshot) {
		http_host_samples(sc, &h->info, h->last_received, h->has_usage ? &h->usage : NULL);
		return 0;
	}
	if ((rc = store_get_host(sc->a->store, h->info.name, &sh, err, sizeof(err))) == 1)
		return 0; /* gone meanwhile */
	if (rc == -1) {
		log_limited(&ll_http, "metrics: host %s: %s", h->info.name, err);
		sc->unreadable++;
		http_host_samples(sc, &h->info, h->last_received, NULL);
		return 0;
	}
	rc = http_stored_host(sc, &sh);
	stored_host_free(&sh);
	return rc;
}

static int
http_count_finding(void *arg, const char *host, const struct finding *f)
{
	struct scrape *sc = arg;

	(void)host;
	/* stored values are range-checked; stay in bounds regardless */
	if ((unsigned)f->kind < FK_COUNT && (unsigned)f->severity <= SEV_CRIT)
		sc->findings[f->kind][f->severity]++;
	return 0;
}

static void
http_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * The part of /metrics that comes from the store: hosts, per-host families
 * and open findings.  Returns 0 (doc->store_ok says whether the store
 * answered; when not, the part is empty), or -1 when it would exceed
 * METRICS_MAX or memory ran out.
 */
static int
http_store_part(struct agg *a, struct metrics_doc *doc)
{
	struct buf *out = &doc->body;
	struct scrape *sc;
	char err[MODEL_TEXT_MAX];
	int k, v, rc = -1;
	size_t f;

	/* the findings table makes this too large for the stack of a callback */
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return -1;
	sc->a = a;
	for (f = 0; f < HF_COUNT; f++)
		buf_init(&sc->fam[f], METRICS_MAX);
	if (a->store->ops->each_host_summary != NULL)
		doc->store_ok =
		    a->store->ops->each_host_summary(a->store, NULL, 0, http_summary_host, sc, err,
		                                     sizeof(err)) == 0;
	else
		doc->store_ok =
		    store_each_host(a->store, http_stored_host, sc, err, sizeof(err)) == 0;
	if (doc->store_ok &&
	    store_each_open_finding(a->store, http_count_finding, sc, err, sizeof(err)) == -1)
		doc->store_ok = 0;
	if (!doc->store_ok) {
		log_limited(&ll_http, "metrics: %s", err);
		rc = 0;
		goto done;
	}
	http_head(out, "ipcfleet_hosts", "gauge", "Hosts known to the aggregator.");
	buf_printf(out, "ipcfleet_hosts %llu\n", (unsigned long long)sc->hosts);
	http_head(out, "ipcfleet_hosts_unreadable", "gauge",
	          "Hosts whose stored snapshot could not be read (see the log).");
	buf_printf(out, "ipcfleet_hosts_unreadable %llu\n", (unsigned long long)sc->unreadable);
	for (f = 0; f < HF_COUNT; f++) {
		http_head(out, host_families[f].name, host_families[f].type,
		          host_families[f].help != NULL
		              ? host_families[f].help
		              : prom_usage_help((enum prom_usage_family)(f - HF_VALUE)));
		if (buf_failed(&sc->fam[f]))
			goto done;
		buf_append(out, sc->fam[f].data, sc->fam[f].len);
	}
	http_head(out, "ipcfleet_findings", "gauge", "Open findings, by kind and severity.");
	for (k = 0; k < FK_COUNT; k++)
		for (v = 0; v <= SEV_CRIT; v++)
			buf_printf(out, "ipcfleet_findings{kind=\"%s\",severity=\"%s\"} %llu\n",
			           finding_kind_name((enum finding_kind)k),
			           severity_name((enum severity)v),
			           (unsigned long long)sc->findings[k][v]);
	rc = buf_failed(out) ? -1 : 0;
done:
	for (f = 0; f < HF_COUNT; f++)
		buf_free(&sc->fam[f]);
	free(sc);
	return rc;
}

static void
http_doc_release(struct metrics_doc *doc)
{
	if (doc != NULL && --doc->refs == 0) {
		buf_free(&doc->body);
		free(doc);
	}
}

/* evbuffer_add_reference's cleanup: a response is done with the document. */
static void
http_doc_unref(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	http_doc_release(arg);
}

/* The cached store part, rebuilt when older than METRICS_CACHE_MS; NULL on failure. */
static struct metrics_doc *
http_doc_get(struct agg *a)
{
	uint64_t now = now_mono_ms();
	struct metrics_doc *doc;

	if (http.doc != NULL && now - http.doc->built_ms < METRICS_CACHE_MS)
		return http.doc;
	if ((doc = calloc(1, sizeof(*doc))) == NULL)
		return NULL;
	doc->refs = 1;
	doc->built_ms = now;
	buf_init(&doc->body, METRICS_MAX);
	if (http_store_part(a, doc) == -1) {
		log_limited(&ll_http, "metrics: the document exceeds %u bytes or memory ran out",
		            METRICS_MAX);
		http_doc_release(doc);
		return NULL;
	}
	http_doc_release(http.doc); /* responses still sending it keep their reference */
	http.doc = doc;
	return doc;
}

static void
http_counter2(struct buf *b, const char *name, const char *help, const char *label, const char *v1,
              uint64_t n1, const char *v2, uint64_t n2)
{
	http_head(b, name, "counter", help);
	buf_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, v1, (unsigned long long)n1);
	buf_printf(b, "%s{%s=\"%s\"} %llu\n", name, label, v2, (unsigned long long)n2);
}

/* Appends the ingest latency histogram: cumulative buckets, sum, count. */
static void
http_latency(struct buf *b, const struct agg_stats *st)
{
	const char *name = "ipcfleet_ingest_latency_seconds";
	uint64_t cum = 0;
	size_t i;

	http_head(b, name, "histogram",
	          "Time from a snapshot frame being complete to its ack being queued "
	          "(decode, store, commit).");
	for (i = 0; i < AGG_LAT_NBUCKETS; i++) {
		cum += st->lat_bucket[i];
		buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
		           (double)agg_lat_bound_us(i) / 1e6, (unsigned long long)cum);
	}
	cum += st->lat_bucket[AGG_LAT_NBUCKETS];
	buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	buf_printf(b, "%s_sum %.6f\n", name, (double)st->lat_sum_us / 1e6);
	buf_printf(b, "%s_count %llu\n", name, (unsigned long long)st->lat_count);
}

/* The counters of this process: always current, never cached. */
static void
http_counters(struct agg *a, struct buf *out)
{
	const struct agg_stats *st = &a->stats;

	http_head(out, "ipcfleet_connected_agents", "gauge",
	          "Agent connections open (past hello).");
	buf_printf(out, "ipcfleet_connected_agents %llu\n", (unsigned long long)st->agents_open);
	http_head(out, "ipcfleet_connections_open", "gauge",
	          "TLS connections open: agents, admins and handshakes in progress.");
	buf_printf(out, "ipcfleet_connections_open %llu\n", (unsigned long long)st->conns_open);
	http_counter2(out, "ipcfleet_connections_total", "TLS connections accepted or refused.",
	              "result", "accepted", st->conns_accepted, "refused", st->conns_refused);
	http_counter2(out, "ipcfleet_frames_total",
	              "Frames received: accepted (well-formed) or rejected.", "result", "accepted",
	              st->frames_accepted, "rejected", st->frames_rejected);
	http_counter2(out, "ipcfleet_snapshots_total",
	              "Snapshots acknowledged: stored, or duplicates of stored ones.", "result",
	              "stored", st->snapshots_stored, "duplicate", st->snapshots_duplicate);
	http_head(
	    out, "ipcfleet_snapshot_conflicts_total", "counter",
	    "Duplicates (same host, spool and sequence) whose content differs from the stored "
	    "snapshot.");
	buf_printf(out, "ipcfleet_snapshot_conflicts_total %llu\n",
	           (unsigned long long)st->snapshots_conflict);
	http_head(out, "ipcfleet_store_commits_failed_total", "counter",
	          "Batches of snapshots the store could not commit (refused, not acknowledged).");
	buf_printf(out, "ipcfleet_store_commits_failed_total %llu\n",
	           (unsigned long long)st->commits_failed);
	http_head(out, "ipcfleet_queries_total", "counter", "Queries answered for admins.");
	buf_printf(out, "ipcfleet_queries_total %llu\n", (unsigned long long)st->queries);
	http_latency(out, st);
}

/* ---- connections ---- */

static void http_conn_free(struct http_conn *hc);

/* Queues a whole response; the connection closes once it is written. */
static void
http_respond(struct http_conn *hc, int code, const char *reason, const char *ctype,
             const char *extra, const char *body, size_t bodylen, struct metrics_doc *doc,
             const char *tail, size_t taillen)
{
	struct evbuffer *out = bufferevent_get_output(hc->bev);
	struct timeval tv = {.tv_sec = HTTP_WRITE_TIMEOUT, .tv_usec = 0};
	size_t total = bodylen + (doc != NULL ? doc->body.len : 0) + taillen;

	evbuffer_add_printf(out,
	                    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
	                    "%sConnection: close\r\nCache-Control: no-store\r\n\r\n",
	                    code, reason, ctype, total, extra != NULL ? extra : "");
	evbuffer_add(out, body, bodylen);
	if (doc != NULL && doc->body.len > 0) {
		/* shared, not copied: the response holds a reference until it is sent */
		doc->refs++;
		if (evbuffer_add_reference(out, doc->body.data, doc->body.len, http_doc_unref,
		                           doc) == -1)
			doc->refs--;
	}
	evbuffer_add(out, tail, taillen);
	hc->replied = 1;
	bufferevent_disable(hc->bev, EV_READ);
	evtimer_add(hc->timer, &tv);
}

static void
http_text(struct http_conn *hc, int code, const char *reason, const char *extra, const char *text)
{
	http_respond(hc, code, reason, "text/plain; charset=utf-8", extra, text, strlen(text), NULL,
	             NULL, 0);
}

static void
http_serve_metrics(struct http_conn *hc)
{
	struct agg *a = http.a;
	struct metrics_doc *doc = http_doc_get(a);
	struct buf head, tail;

	if (doc == NULL) {
		http_text(hc, 500, "Internal Server Error", NULL,
		          "metrics unavailable; see the aggregator's log\n");
		return;
	}
	buf_init(&head, 4096);
	buf_init(&tail, 64 * 1024);
	http_head(&head, "ipcfleet_build_info", "gauge",
	          "Constant 1; the version label says which.");
	buf_printf(&head, "ipcfleet_build_info{version=\"%s\"} 1\n", IPCFLEET_VERSION);
	http_head(&head, "ipcfleet_store_up", "gauge",
	          "1 when the store answered this scrape, else 0 (per-host metrics missing).");
	buf_printf(&head, "ipcfleet_store_up %d\n", doc->store_ok);
	http_counters(a, &tail);
	if (buf_failed(&head) || buf_failed(&tail))
		http_text(hc, 500, "Internal Server Error", NULL, "out of memory\n");
	else
		http_respond(hc, 200, "OK", PROM_CTYPE, NULL, head.data, head.len, doc, tail.data,
		             tail.len);
	buf_free(&head);
	buf_free(&tail);
}

static void
http_serve_healthz(struct http_conn *hc)
{
	struct stored_host h;
	char err[MODEL_TEXT_MAX], body[MODEL_TEXT_MAX + 64];

	/* the last commit's result: reads may work while every write fails */
	if (!health_storage_ok(http.a, err, sizeof(err))) {
		snprintf(body, sizeof(body), "%s\n", err);
		http_text(hc, 503, "Service Unavailable", NULL, body);
		return;
	}
	/* a lookup of a name no host has: one indexed read of the database */
	if (store_get_host(http.a->store, "", &h, err, sizeof(err)) == -1) {
		log_limited(&ll_http, "healthz: %s", err);
		http_text(hc, 503, "Service Unavailable", NULL, "storage unavailable\n");
		return;
	}
	stored_host_free(&h);
	http_text(hc, 200, "OK", NULL, "ok\n");
}

/* Case-insensitive: line starts with header name followed by ':'. */
static const char *
http_header_value(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	while (*line == ' ' || *line == '\t')
		line++;
	return line;
}

/*
 * A complete request head (NUL-terminated, CR LF or LF line ends): the
 * request line "METHOD TARGET HTTP/1.x", then headers.  Answers it.
 */
static void
http_request(struct http_conn *hc, char *head)
{
	char *line, *save = NULL, *method, *target, *version, *q;
	const char *v, *path;
	int metrics, healthz;

	if ((line = strtok_r(head, "\r\n", &save)) == NULL ||
	    (method = strtok_r(line, " ", &q)) == NULL ||
	    (target = strtok_r(NULL, " ", &q)) == NULL ||
	    (version = strtok_r(NULL, " ", &q)) == NULL || strtok_r(NULL, " ", &q) != NULL ||
	    (strcmp(version, "HTTP/1.0") != 0 && strcmp(version, "HTTP/1.1") != 0) ||
	    target[0] != '/') {
		http_text(hc, 400, "Bad Request", NULL, "bad request line\n");
		return;
	}
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
		/* no body is ever read: a request announcing one is refused */
		if (((v = http_header_value(line, "Content-Length")) != NULL &&
		     strcmp(v, "0") != 0) ||
		    http_header_value(line, "Transfer-Encoding") != NULL) {
			http_text(hc, 413, "Payload Too Large", NULL,
			          "requests may not have a body\n");
			return;
		}
	}
	if ((q = strchr(target, '?')) != NULL)
		*q = '\0';
	path = target;
	metrics = strcmp(path, "/metrics") == 0;
	healthz = strcmp(path, "/healthz") == 0;
	/* the path is the peer's text: only the two known ones are logged */
	log_debug("http: %s: %s", hc->peer,
	          metrics   ? "/metrics"
	          : healthz ? "/healthz"
	                    : "unknown path");
	if (!metrics && !healthz)
		http_text(hc, 404, "Not Found", NULL, "not found; try /metrics or /healthz\n");
	else if (strcmp(method, "GET") != 0)
		http_text(hc, 405, "Method Not Allowed", "Allow: GET\r\n", "only GET is allowed\n");
	else if (metrics)
		http_serve_metrics(hc);
	else
		http_serve_healthz(hc);
}

static void
http_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *hc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr from, end;
	size_t n = evbuffer_get_length(in), k;
	char head[HTTP_MAX_HEADERS + 1];

	if (hc->replied)
		return;
	/* from where the last search stopped (a head may trickle in byte by byte) */
	if (evbuffer_ptr_set(in, &from, hc->scanned > 3 ? hc->scanned - 3 : 0, EVBUFFER_PTR_SET) ==
	    -1)
		return;
	end = evbuffer_search(in, "\r\n\r\n", 4, &from);
	if (end.pos == -1)
		end = evbuffer_search(in, "\n\n", 2, &from);
	hc->scanned = n;
	if (end.pos == -1 || (size_t)end.pos > HTTP_MAX_HEADERS) {
		if (n > HTTP_MAX_HEADERS || end.pos != -1)
			http_text(hc, 400, "Bad Request", NULL, "request headers too large\n");
		return; /* wait for the rest, within HTTP_REQUEST_TIMEOUT */
	}
	k = (size_t)end.pos;
	evbuffer_copyout(in, head, k);
	head[k] = '\0';
	if (memchr(head, '\0', k) != NULL) {
		http_text(hc, 400, "Bad Request", NULL, "NUL byte in the request\n");
		return;
	}
	http_request(hc, head);
}

static void
http_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn *hc = arg;

	if (hc->replied && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		http_conn_free(hc);
}

static void
http_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		http_conn_free(arg);
}

/* The deadline: the request did not arrive, or the response did not leave, in time. */
static void
http_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *hc = arg;

	(void)fd;
	(void)what;
	log_limited(&ll_http, "http: %s: %s; closed", hc->peer,
	            hc->replied ? "the response was not read in time"
	                        : "the request did not arrive in time");
	http_conn_free(hc);
}

static void
http_conn_free(struct http_conn *hc)
{
	if (hc->prev != NULL)
		hc->prev->next = hc->next;
	else
		http.conns = hc->next;
	if (hc->next != NULL)
		hc->next->prev = hc->prev;
	if (hc->timer != NULL)
		event_free(hc->timer);
	if (hc->bev != NULL)
		bufferevent_free(hc->bev); /* releases a document reference it held */
	free(hc);
	http.open--;
	if (http.listener != NULL && http.open < http.max && !evtimer_pending(http.pause, NULL))
		evconnlistener_enable(http.listener);
}

/* Stops accepting for HTTP_PAUSE_MS (out of descriptors, or they are kept for agents). */
static void
http_pause(void)
{
	struct timeval tv = {.tv_sec = HTTP_PAUSE_MS / 1000,
	                     .tv_usec = (HTTP_PAUSE_MS % 1000) * 1000};

	evconnlistener_disable(http.listener);
	evtimer_add(http.pause, &tv);
}

static void
http_pause_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	if (http.listener != NULL && http.open < http.max)
		evconnlistener_enable(http.listener);
}

static void
http_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
               void *arg)
{
	struct timeval tv = {.tv_sec = HTTP_REQUEST_TIMEOUT, .tv_usec = 0};
	char host[NI_MAXHOST], port[NI_MAXSERV];
	struct http_conn *hc;

	(void)l;
	(void)arg;
	if (getnameinfo(sa, (socklen_t)salen, host, sizeof(host), port, sizeof(port),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		ifl_strlcpy(host, "?", sizeof(host)), ifl_strlcpy(port, "?", sizeof(port));
	/*
	 * Descriptors are handed out lowest first: this one being among the
	 * last quarter means fewer than that are free.  They are kept for the
	 * TLS listener (agents), and HTTP waits.
	 */
	if ((rlim_t)fd >= http.nofile - http.nofile / 4) {
		log_limited(&ll_http,
		            "http: %s:%s: refused: descriptors are running out (%d of %llu used); "
		            "kept for agents",
		            host, port, (int)fd, (unsigned long long)http.nofile);
		evutil_closesocket(fd);
		http_pause();
		return;
	}
	if ((hc = calloc(1, sizeof(*hc))) == NULL ||
	    (hc->bev = bufferevent_socket_new(http.a->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL ||
	    (hc->timer = evtimer_new(http.a->base, http_timeout_cb, hc)) == NULL) {
		log_limited(&ll_http, "http: %s:%s: refused: out of memory", host, port);
		if (hc == NULL || hc->bev == NULL)
			evutil_closesocket(fd);
		else
			bufferevent_free(hc->bev);
		free(hc);
		return;
	}
	snprintf(hc->peer, sizeof(hc->peer), "%s:%s", host, port);
	hc->next = http.conns;
	if (http.conns != NULL)
		http.conns->prev = hc;
	http.conns = hc;
	http.open++;
	bufferevent_setcb(hc->bev, http_read_cb, http_write_cb, http_event_cb, hc);
	/* the head and one byte more, to tell "too large" from "not yet complete" */
	bufferevent_setwatermark(hc->bev, EV_READ, 0, HTTP_MAX_HEADERS + 1);
	bufferevent_enable(hc->bev, EV_READ | EV_WRITE);
	evtimer_add(hc->timer, &tv); /* the whole request, however it trickles */
	if (http.open >= http.max)
		evconnlistener_disable(http.listener);
}

static void
http_accept_error_cb(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	(void)l;
	(void)arg;
	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		/* without this the listener stays readable and accept() fails in a loop */
		log_limited(&ll_http, "http: accept: %s; pausing the HTTP listener for %d ms",
		            strerror(e), HTTP_PAUSE_MS);
		http_pause();
		return;
	}
	log_limited(&ll_http, "http: accept: %s", strerror(e));
}

int
http_start(struct agg *a, const char *port_file, char *err, size_t errlen)
{
	struct rlimit rl;

	if (http.listener != NULL || a->cfg.http_listen[0] == '\0')
		return 0;
	http.a = a;
	/* the descriptors HTTP may use: an eighth at most, never the last quarter */
	http.nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
	                  ? rl.rlim_cur
	                  : 1024 * 1024;
	http.max = http.nofile / 8 < HTTP_MAX_CONNS ? (unsigned)(http.nofile / 8) : HTTP_MAX_CONNS;
	if (http.max == 0)
		http.max = 1;
	if ((http.pause = evtimer_new(a->base, http_pause_cb, NULL)) == NULL) {
		snprintf(err, errlen, "[http] out of memory");
		return -1;
	}
	if ((http.listener = agg_listen(a, "[http] ", a->cfg.http_listen, HTTP_BACKLOG,
	                                http_accept_cb, http_accept_error_cb, NULL, err, errlen)) ==
	    NULL) {
		http_stop(a);
		return -1;
	}
	if (port_file != NULL &&
	    write_port_file(port_file, evconnlistener_get_fd(http.listener), err, errlen) == -1) {
		http_stop(a);
		return -1;
	}
	log_info("serving /metrics and /healthz on http://%s (at most %u connections)",
	         a->cfg.http_listen, http.max);
	return 0;
}

void
http_stop(struct agg *a)
{
	(void)a;
	while (http.conns != NULL)
		http_conn_free(http.conns);
	if (http.listener != NULL) {
		evconnlistener_free(http.listener);
		http.listener = NULL;
	}
	if (http.pause != NULL) {
		event_free(http.pause);
		http.pause = NULL;
	}
	http_doc_release(http.doc);
	http.doc = NULL;
	http.open = 0;
}
