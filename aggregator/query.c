/*
 * query.c: the query dispatcher.  One table entry per command; each handler
 * packs the reply body with exactly the shape of the CLI's --json output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator.h"
#include "log.h"
#include "util.h"
#include "view.h"

#define HOSTS_BODY_MAX PROTO_MAX_FRAME

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

const char *
query_host_status(struct agg *a, const struct snapshot *s, int64_t last_received)
{
	struct usage u;
	const char *status = "ok";
	size_t i;

	(void)last_received; /* staleness arrives with the analysis work */
	model_usage(s, -1, &u);
	for (i = 0; i < u.n; i++) {
		double warn, crit, pct;

		if (!u.v[i].has_limit)
			continue;
		agg_thresholds(&a->cfg, u.v[i].name, &warn, &crit);
		pct = usage_pct(u.v[i].used, u.v[i].limit);
		if (pct >= crit)
			return "crit";
		if (pct >= warn)
			status = "warn";
	}
	return status;
}

struct hosts_ctx {
	struct agg *a;
	struct buf rows; /* packed rows, concatenated */
	uint32_t n;
	int failed;
};

static int
hosts_row(void *arg, const struct stored_host *h)
{
	struct hosts_ctx *hc = arg;
	struct snapshot s;
	struct view_extra x;
	msgpack_packer pk;
	char err[MODEL_TEXT_MAX];

	if (load_snapshot(h, &s, err, sizeof(err)) == -1) {
		/* one damaged row must not hide the fleet: show the host, log why */
		log_warnx("host %s: stored snapshot unreadable: %s", h->info.name, err);
		if (snapshot_init(&s) == -1)
			return hc->failed = 1;
	}
	memset(&x, 0, sizeof(x));
	x.host = h->info.name;
	x.status = query_host_status(hc->a, &s, h->last_received);
	x.last_seen = h->last_received;
	proto_packer_init(&pk, &hc->rows);
	view_pack_host_row(&pk, &s, &x);
	snapshot_free(&s);
	if (buf_failed(&hc->rows))
		return hc->failed = 1;
	hc->n++;
	return 0;
}

static int
q_hosts(struct agg *a, const struct msg_query *q, struct buf *out)
{
	struct hosts_ctx hc = {.a = a};
	msgpack_packer pk;
	size_t start;
	char err[MODEL_TEXT_MAX];
	int rc;

	buf_init(&hc.rows, HOSTS_BODY_MAX);
	if (store_each_host(a->store, hosts_row, &hc, err, sizeof(err)) == -1) {
		buf_free(&hc.rows);
		log_warnx("hosts query: %s", err);
		return query_error(out, q->id, PERR_INTERNAL, "storage failed");
	}
	if (hc.failed) {
		buf_free(&hc.rows);
		return query_error(out, q->id, PERR_INTERNAL, "reply too large");
	}
	if (proto_reply_begin(out, q->id, &pk, &start) == -1) {
		buf_free(&hc.rows);
		return -1;
	}
	msgpack_pack_array(&pk, hc.n);
	buf_append(out, hc.rows.data, hc.rows.len);
	buf_free(&hc.rows);
	rc = proto_reply_end(out, start);
	return rc;
}

static int
q_host(struct agg *a, const struct msg_query *q, struct buf *out)
{
	const char *name = query_arg(q, "name");
	struct stored_host h;
	struct snapshot s;
	struct view_extra x;
	msgpack_packer pk;
	size_t start;
	char err[MODEL_TEXT_MAX], msg[MODEL_TEXT_MAX];
	int rc;

	if (name == NULL || name[0] == '\0')
		return query_error(out, q->id, PERR_BAD_REQUEST, "host: argument 'name' missing");
	memset(&h, 0, sizeof(h));
	rc = store_get_host(a->store, name, &h, err, sizeof(err));
	if (rc == -1) {
		log_warnx("host query: %s", err);
		return query_error(out, q->id, PERR_INTERNAL, "storage failed");
	}
	if (rc == 1) {
		snprintf(msg, sizeof(msg), "unknown host '%.64s'", name);
		return query_error(out, q->id, PERR_NOT_FOUND, msg);
	}
	if (load_snapshot(&h, &s, err, sizeof(err)) == -1) {
		log_warnx("host %s: stored snapshot unreadable: %s", h.info.name, err);
		stored_host_free(&h);
		return query_error(out, q->id, PERR_INTERNAL, "stored snapshot unreadable");
	}
	memset(&x, 0, sizeof(x));
	x.host = h.info.name;
	x.status = query_host_status(a, &s, h.last_received);
	x.last_seen = h.last_received;
	if (proto_reply_begin(out, q->id, &pk, &start) == 0) {
		view_pack_host(&pk, &s, &x);
		rc = proto_reply_end(out, start);
	} else
		rc = -1;
	snapshot_free(&s);
	stored_host_free(&h);
	return rc;
}

static const struct query_cmd {
	const char *name;
	query_fn fn;
} query_cmds[] = {
	{"hosts", q_hosts},
	{"host", q_host},
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
		return query_error(out, q->id, PERR_INTERNAL, "reply too large");
	}
	snprintf(msg, sizeof(msg), "unknown command '%.64s'", q->cmd);
	return query_error(out, q->id, PERR_BAD_REQUEST, msg);
}
