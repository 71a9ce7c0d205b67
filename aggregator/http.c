/*
 * http.c: the aggregator's plain-HTTP monitoring endpoint ([http] listen).
 *
 *   GET /metrics   the Prometheus text exposition format, version 0.0.4
 *   GET /healthz   200 "ok" while the store answers, else 503
 *   other paths    404; other methods on these paths 405
 *
 * No TLS and no authentication: bind it to a trusted address (loopback, a
 * management network).  It runs on the TLS server's event_base, so a scrape
 * is served between two frames and never concurrently with a store write.
 * Requests are bounded: headers at most HTTP_MAX_HEADERS bytes, no body at
 * all, HTTP_TIMEOUT seconds per read or write; a response at most
 * METRICS_MAX bytes.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "aggregator.h"
#include "log.h"
#include "util.h"

#define HTTP_MAX_HEADERS 8192 /* bytes of request line plus headers */
#define HTTP_TIMEOUT     10   /* seconds */
#define METRICS_MAX      (64u * 1024 * 1024)
#define PROM_CTYPE       "text/plain; version=0.0.4; charset=utf-8"

static struct evhttp *http; /* NULL while not serving */

/* Per scrape: one buffer per per-host metric family, since the format wants
 * each family's samples together under its HELP and TYPE lines. */
enum host_family { HF_INFO, HF_SEEN, HF_VALUE, HF_USED, HF_RATIO, HF_UNKNOWN, HF_COUNT };

static const struct {
	const char *name, *type, *help;
} host_families[HF_COUNT] = {
    [HF_INFO] = {"ipcfleet_host_info", "gauge",
                 "Constant 1 per known host; labels carry its OS, release and agent version."},
    [HF_SEEN] = {"ipcfleet_host_last_seen_seconds", "gauge",
                 "Unix time at which the host's latest snapshot arrived."},
    [HF_VALUE] = {"ipcfleet_limit_value", "gauge",
                  "Value of each IPC limit the host reported (kernel units)."},
    [HF_USED] = {"ipcfleet_limit_used", "gauge",
                 "Amount of a countable IPC limit in use in the host's pool (kernel units)."},
    [HF_RATIO] = {"ipcfleet_limit_ratio", "gauge",
                  "Used divided by the limit, 0 to 1 (absent when the limit is 0 or unknown)."},
    [HF_UNKNOWN] = {"ipcfleet_limit_unknown", "gauge",
                    "1 for each countable limit whose use or value the agent could not read "
                    "(its used and ratio series are then absent, never 0)."},
};

struct scrape {
	struct agg *a;
	struct buf fam[HF_COUNT];
	uint64_t hosts, unreadable;
	uint64_t findings[FK_COUNT][SEV_CRIT + 1];
};

/* Appends s as a label value: backslash, double quote and newline escaped. */
static void
http_label(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '"')
			buf_puts(b, "\\\"");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else
			buf_append(b, s, 1);
	}
}

/* Starts a sample: NAME{host="H" -- the caller adds more labels, "} " and the value. */
static struct buf *
http_sample(struct scrape *sc, enum host_family f, const char *host)
{
	struct buf *b = &sc->fam[f];

	buf_puts(b, host_families[f].name);
	buf_puts(b, "{host=\"");
	http_label(b, host);
	buf_puts(b, "\"");
	return b;
}

/* The latest stored snapshot of h; page size and OS come from the host row. */
static int
http_load_snapshot(const struct stored_host *h, struct snapshot *s, char *err, size_t errlen)
{
	struct proto_doc d;
	int rc = 0;

	if (snapshot_init(s) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (h->raw != NULL) { /* NULL: said hello, never stored a snapshot */
		if (proto_doc_unpack(h->raw, h->rawlen, &d, err, errlen) == -1)
			rc = -1;
		else {
			rc = proto_decode_snapshot(&d, s, err, errlen);
			proto_doc_free(&d);
		}
	}
	if (rc == -1) {
		snapshot_free(s);
		return -1;
	}
	s->page_size = h->info.page_size;
	ifl_strlcpy(s->os, h->info.os, sizeof(s->os));
	ifl_strlcpy(s->os_release, h->info.os_release, sizeof(s->os_release));
	return 0;
}

static int
http_host(void *arg, const struct stored_host *h)
{
	struct scrape *sc = arg;
	const char *host = h->info.name;
	struct snapshot s;
	struct usage u;
	struct buf *b;
	char err[MODEL_TEXT_MAX];
	size_t i;

	sc->hosts++;
	b = http_sample(sc, HF_INFO, host);
	buf_puts(b, ",os=\"");
	http_label(b, h->info.os);
	buf_puts(b, "\",os_release=\"");
	http_label(b, h->info.os_release);
	buf_puts(b, "\",agent=\"");
	http_label(b, h->info.agent);
	buf_puts(b, "\"} 1\n");
	if (h->last_received > 0) {
		b = http_sample(sc, HF_SEEN, host);
		buf_printf(b, "} %lld\n", (long long)h->last_received);
	}
	if (http_load_snapshot(h, &s, err, sizeof(err)) == -1) {
		/* one damaged row must not hide the rest of the fleet */
		log_warnx("metrics: host %s: stored snapshot unreadable: %s", host, err);
		sc->unreadable++;
		return 0;
	}
	for (i = 0; i < s.limits.n; i++) {
		b = http_sample(sc, HF_VALUE, host);
		buf_puts(b, ",limit=\"");
		http_label(b, s.limits.v[i].name);
		buf_printf(b, "\"} %llu\n", (unsigned long long)s.limits.v[i].value);
	}
	model_usage(&s, -1, &u);
	for (i = 0; i < u.n; i++) {
		/* unknown is never zero: no series at all, and a flag that says so */
		if (u.v[i].why[0] != '\0') {
			b = http_sample(sc, HF_UNKNOWN, host);
			buf_puts(b, ",limit=\"");
			http_label(b, u.v[i].name);
			buf_puts(b, "\"} 1\n");
		}
		if (u.v[i].unknown_used)
			continue;
		b = http_sample(sc, HF_USED, host);
		buf_puts(b, ",limit=\"");
		http_label(b, u.v[i].name);
		buf_printf(b, "\"} %llu\n", (unsigned long long)u.v[i].used);
		if (!u.v[i].has_limit || u.v[i].limit == 0)
			continue;
		b = http_sample(sc, HF_RATIO, host);
		buf_puts(b, ",limit=\"");
		http_label(b, u.v[i].name);
		buf_printf(b, "\"} %.15g\n", (double)u.v[i].used / (double)u.v[i].limit);
	}
	for (i = 0; i < s.nfindings; i++) {
		const struct finding *f = &s.findings[i];

		/* decoded values are range-checked; stay in bounds regardless */
		if ((unsigned)f->kind < FK_COUNT && (unsigned)f->severity <= SEV_CRIT)
			sc->findings[f->kind][f->severity]++;
	}
	snapshot_free(&s);
	return 0;
}

static void
http_head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
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

/*
 * Builds the whole /metrics document into out.  Returns 0, or -1 when it
 * would exceed METRICS_MAX or memory ran out.  A storage error is not a
 * failure: the per-host families are left out and ipcfleet_store_up is 0.
 */
static int
http_metrics(struct agg *a, struct buf *out)
{
	const struct agg_stats *st = &a->stats;
	struct scrape *sc;
	char err[MODEL_TEXT_MAX];
	int store_ok, k, v, rc = -1;
	size_t f;

	/* the findings table makes this too large for the stack of a callback */
	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return -1;
	sc->a = a;
	for (f = 0; f < HF_COUNT; f++)
		buf_init(&sc->fam[f], METRICS_MAX);
	store_ok = store_each_host(a->store, http_host, sc, err, sizeof(err)) == 0;
	if (!store_ok)
		log_warnx("metrics: %s", err);

	http_head(out, "ipcfleet_build_info", "gauge", "Constant 1; the version label says which.");
	buf_printf(out, "ipcfleet_build_info{version=\"%s\"} 1\n", IPCFLEET_VERSION);
	http_head(out, "ipcfleet_store_up", "gauge",
	          "1 when the store answered this scrape, else 0 (per-host metrics missing).");
	buf_printf(out, "ipcfleet_store_up %d\n", store_ok);
	if (store_ok) {
		http_head(out, "ipcfleet_hosts", "gauge", "Hosts known to the aggregator.");
		buf_printf(out, "ipcfleet_hosts %llu\n", (unsigned long long)sc->hosts);
		http_head(out, "ipcfleet_hosts_unreadable", "gauge",
		          "Hosts whose stored snapshot could not be decoded (see the log).");
		buf_printf(out, "ipcfleet_hosts_unreadable %llu\n",
		           (unsigned long long)sc->unreadable);
		for (f = 0; f < HF_COUNT; f++) {
			http_head(out, host_families[f].name, host_families[f].type,
			          host_families[f].help);
			if (buf_failed(&sc->fam[f])) {
				buf_free(&sc->fam[f]);
				goto done;
			}
			buf_append(out, sc->fam[f].data, sc->fam[f].len);
			buf_free(&sc->fam[f]);
		}
		http_head(out, "ipcfleet_findings", "gauge",
		          "Open findings in the hosts' latest snapshots, by kind and severity.");
		for (k = 0; k < FK_COUNT; k++)
			for (v = 0; v <= SEV_CRIT; v++)
				buf_printf(out,
				           "ipcfleet_findings{kind=\"%s\",severity=\"%s\"} %llu\n",
				           finding_kind_name((enum finding_kind)k),
				           severity_name((enum severity)v),
				           (unsigned long long)sc->findings[k][v]);
	}
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
	http_head(out, "ipcfleet_queries_total", "counter", "Queries answered for admins.");
	buf_printf(out, "ipcfleet_queries_total %llu\n", (unsigned long long)st->queries);
	http_latency(out, st);
	rc = buf_failed(out) ? -1 : 0;
done:
	for (f = 0; f < HF_COUNT; f++)
		buf_free(&sc->fam[f]);
	free(sc);
	return rc;
}

/* Sends a short plain-text response. */
static void
http_reply_text(struct evhttp_request *req, int code, const char *reason, const char *text)
{
	struct evbuffer *body = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; charset=utf-8");
	if (body == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add(body, text, strlen(text));
	evhttp_send_reply(req, code, reason, body);
	evbuffer_free(body);
}

static void
http_serve_metrics(struct agg *a, struct evhttp_request *req)
{
	struct evbuffer *body;
	struct buf out;

	buf_init(&out, METRICS_MAX);
	if (http_metrics(a, &out) == -1 || (body = evbuffer_new()) == NULL) {
		buf_free(&out);
		log_warnx("metrics: the document exceeds %u bytes or memory ran out", METRICS_MAX);
		http_reply_text(req, HTTP_INTERNAL, "Internal Server Error",
		                "metrics unavailable; see the aggregator's log\n");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", PROM_CTYPE);
	evbuffer_add(body, out.data, out.len);
	buf_free(&out);
	evhttp_send_reply(req, HTTP_OK, "OK", body);
	evbuffer_free(body);
}

static void
http_serve_healthz(struct agg *a, struct evhttp_request *req)
{
	struct stored_host h;
	char err[MODEL_TEXT_MAX];

	/* a lookup of a name no host has: one indexed read of the database */
	if (store_get_host(a->store, "", &h, err, sizeof(err)) == -1) {
		log_warnx("healthz: %s", err);
		http_reply_text(req, 503, "Service Unavailable", "storage unavailable\n");
		return;
	}
	stored_host_free(&h);
	http_reply_text(req, HTTP_OK, "OK", "ok\n");
}

static void
http_request(struct evhttp_request *req, void *arg)
{
	struct agg *a = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	struct evhttp_connection *ec = evhttp_request_get_connection(req);
	char *peer = NULL; /* owned by the connection */
	ev_uint16_t pport = 0;
	int metrics, healthz;

	if (path == NULL)
		path = "";
	metrics = strcmp(path, "/metrics") == 0;
	healthz = strcmp(path, "/healthz") == 0;
	if (ec != NULL)
		evhttp_connection_get_peer(ec, &peer, &pport);
	/* the path is the peer's text: only the two known ones are logged */
	log_debug("http: %s:%u: %s", peer != NULL ? peer : "?", (unsigned)pport,
	          metrics   ? "/metrics"
	          : healthz ? "/healthz"
	                    : "unknown path");
	if (!metrics && !healthz) {
		http_reply_text(req, HTTP_NOTFOUND, "Not Found",
		                "not found; try /metrics or /healthz\n");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET");
		http_reply_text(req, HTTP_BADMETHOD, "Method Not Allowed", "only GET is allowed\n");
		return;
	}
	if (metrics)
		http_serve_metrics(a, req);
	else
		http_serve_healthz(a, req);
}

int
http_start(struct agg *a, const char *port_file, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct evconnlistener *l;
	char host[256], port[8];
	const char *why;
	int rc;

	if (http != NULL || a->cfg.http_listen[0] == '\0')
		return 0;
	if (parse_hostport(a->cfg.http_listen, host, sizeof(host), port, sizeof(port), &why) ==
	    -1) {
		snprintf(err, errlen, "[http] listen %s: %s", a->cfg.http_listen, why);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "[http] listen %s: %s", a->cfg.http_listen, gai_strerror(rc));
		return -1;
	}
	/* no callback yet: evhttp_bind_listener installs its own */
	l = evconnlistener_new_bind(
	    a->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    64, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l == NULL) {
		snprintf(err, errlen, "[http] listen %s: %s", a->cfg.http_listen,
		         strerror(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	if ((http = evhttp_new(a->base)) == NULL) {
		evconnlistener_free(l);
		snprintf(err, errlen, "[http] out of memory");
		return -1;
	}
	evhttp_set_max_headers_size(http, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_timeout(http, HTTP_TIMEOUT);
	/* let every method through to http_request, which answers 405 itself */
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                     EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                     EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(http, http_request, a);
	if (evhttp_bind_listener(http, l) == NULL) { /* on success http owns l */
		evconnlistener_free(l);
		http_stop(a);
		snprintf(err, errlen, "[http] listen %s: cannot attach the listener",
		         a->cfg.http_listen);
		return -1;
	}
	if (port_file != NULL &&
	    write_port_file(port_file, evconnlistener_get_fd(l), err, errlen) == -1) {
		http_stop(a);
		return -1;
	}
	log_info("serving /metrics and /healthz on http://%s", a->cfg.http_listen);
	return 0;
}

void
http_stop(struct agg *a)
{
	(void)a;
	if (http != NULL) {
		evhttp_free(http); /* closes the listener and open HTTP connections */
		http = NULL;
	}
}
