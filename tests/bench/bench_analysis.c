/*
 * bench_analysis.c: what one agent's findings cost the aggregator's one
 * thread (issue 18).
 *
 *   analysis  an agent's snapshot of 10,000 orphan findings arrives while
 *             the host has 10,000 others open (new object ids: each one
 *             opens, each old one closes).  Timed from writing the snapshot
 *             to the reply of a `hosts` query written right after its ack:
 *             the query is answered only once the aggregator's loop is free
 *             again, so the figure is how long one such snapshot holds it
 *             (decoding, storing, then the analysis: rules, matching against
 *             the open findings, the findings' rows, notifications).  Beside
 *             it the aggregator's CPU time over the same span.  Then the
 *             same in reversed order with 4,095 IPC namespaces that have
 *             limits of their own (the costliest shape the attack found).
 *
 * Figures: analysis_10k_findings_ms, analysis_10k_findings_cpu_ms,
 * analysis_10k_scopes_ms, analysis_10k_scopes_cpu_ms (the median of the
 * rounds).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "client.h"
#include "model.h"
#include "proto.h"
#include "tls.h"
#include "util.h"

#define AN_FINDINGS 10000
#define AN_SCOPES   (MODEL_MAX_SCOPES - 1)

struct an_conn {
	struct client cl;
	SSL_CTX *ctx;
	struct buf in, out;
	int open;
};

static void
an_close(struct an_conn *c)
{
	if (!c->open)
		return;
	client_close(&c->cl);
	SSL_CTX_free(c->ctx);
	buf_free(&c->in);
	buf_free(&c->out);
	c->open = 0;
}

/* Connects as certificate name of the work PKI and says hello in role. */
static int
an_open(struct bench *b, const struct agg_proc *a, const char *name, enum peer_role role,
        struct an_conn *c, char *err, size_t errlen)
{
	char cert[PATH_MAX + 64], key[PATH_MAX + 64], ca[PATH_MAX + 16], server[64];
	struct tls_paths tp = {.cert = cert, .key = key, .ca = ca};
	struct msg_hello h;

	memset(c, 0, sizeof(*c));
	snprintf(cert, sizeof(cert), "%s/%s.crt", b->pki, name);
	snprintf(key, sizeof(key), "%s/%s.key", b->pki, name);
	snprintf(ca, sizeof(ca), "%s/ca.crt", b->pki);
	snprintf(server, sizeof(server), "localhost:%d", a->port);
	if ((c->ctx = tls_client_ctx(&tp, err, errlen)) == NULL)
		return -1;
	if (client_connect(&c->cl, c->ctx, server, 600000, err, errlen) == -1) {
		SSL_CTX_free(c->ctx);
		return -1;
	}
	c->open = 1;
	buf_init(&c->in, PROTO_MAX_FRAME);
	buf_init(&c->out, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	memset(&h, 0, sizeof(h));
	h.major = PROTO_MAJOR;
	h.minor = PROTO_MINOR;
	h.role = role;
	snprintf(h.agent, sizeof(h.agent), "ipcfleet-bench %s", IPCFLEET_VERSION);
	if (role == ROLE_AGENT) {
		ifl_strlcpy(h.os, "Linux", sizeof(h.os));
		ifl_strlcpy(h.os_release, "6.1.0-bench", sizeof(h.os_release));
		h.page_size = 4096;
		h.boot_time = now_unix() - 3600;
		h.interval = 60;
	}
	if (proto_encode_hello(&c->out, &h) == -1 ||
	    client_write(&c->cl, c->out.data, c->out.len, err, errlen) == -1)
		return -1;
	return 0;
}

/* Reads one frame and checks that it is of type want (an ack, a reply). */
static int
an_read(struct an_conn *c, enum msg_type want, char *err, size_t errlen)
{
	struct proto_doc d;
	char why[512];
	int ok;

	if (client_read_frame(&c->cl, PROTO_MAX_FRAME, &c->in, err, errlen) == -1)
		return -1;
	if (proto_doc_unpack((const uint8_t *)c->in.data, c->in.len, &d, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "bad answer: %.400s", why);
		return -1;
	}
	ok = d.type == want;
	if (!ok) {
		struct msg_error e;

		if (d.type == MSG_ERROR && proto_decode_error(&d, &e, why, sizeof(why)) == 0)
			snprintf(err, errlen, "error: %s", e.text);
		else
			snprintf(err, errlen, "unexpected answer");
	}
	proto_doc_free(&d);
	return ok ? 0 : -1;
}

/*
 * The snapshot of round r: AN_FINDINGS orphans with ids of that round; with
 * scopes, in reversed order and with AN_SCOPES IPC namespaces with limits
 * of their own (empty, as in issue 18: no more findings, but each pool's
 * thresholds looked up among the open findings).
 */
static int
an_snapshot(struct snapshot *s, uint64_t seq, unsigned r, int scopes)
{
	size_t i;

	if (snapshot_init(s) == -1)
		return -1;
	s->seq = seq;
	s->taken = now_unix();
	limits_set(&s->limits, "semmns", 32000);
	limits_set(&s->limits, "semmni", 128);
	limits_set(&s->limits, "shmmni", 4096);
	for (i = 0; scopes && i < AN_SCOPES; i++) {
		struct ipc_scope *sc;
		char id[32];

		snprintf(id, sizeof(id), "ipcns:%zu", (size_t)4026532000u + i);
		if ((sc = snapshot_add_scope(s, id, id, SCOPE_IPCNS)) == NULL)
			return -1;
		sc->own_limits = 1;
		limits_set(&sc->limits, "semmns", 32000);
		limits_set(&sc->limits, "semmni", 32000);
		limits_set(&sc->limits, "shmmni", 4096);
	}
	for (i = 0; i < AN_FINDINGS; i++) {
		struct finding *f = snapshot_add_finding(s);
		int64_t id = (int64_t)r * 1000000 + (int64_t)(scopes ? AN_FINDINGS - i : i);

		if (f == NULL)
			return -1;
		f->kind = FK_ORPHAN;
		f->severity = SEV_INFO;
		f->has_object = 1;
		f->otype = IPC_SEM;
		f->oid = id;
		f->age = 86400;
		f->uid = 70;
		ifl_strlcpy(f->scope, "host", sizeof(f->scope));
		snprintf(f->message, sizeof(f->message),
		         "semaphore set %lld of uid 70 unused for 1d00h: its creator and last user "
		         "are gone and its owner runs nothing in host",
		         (long long)id);
		snprintf(f->command, sizeof(f->command), "ipcrm -s %lld", (long long)id);
	}
	return 0;
}

/*
 * One round: the snapshot written, its ack, a hosts query, its reply.  An
 * aggregator that holds its loop long enough closes the agent's connection
 * instead of acking (it did not read its acks in time): *lost says so, and
 * the query is sent all the same.
 */
static int
an_round(const struct agg_proc *a, struct an_conn *ag, struct an_conn *adm, uint64_t seq,
         unsigned r, int scopes, double *wall_ms, double *cpu_ms, int *lost, char *err,
         size_t errlen)
{
	char why[512];

	struct snapshot s;
	struct msg_query q;
	double t0, c0;
	int rc = -1;

	if (an_snapshot(&s, seq, r, scopes) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	buf_reset(&ag->out);
	if (proto_encode_snapshot(&ag->out, &s) == -1) {
		snprintf(err, errlen, "cannot encode the snapshot");
		goto out;
	}
	memset(&q, 0, sizeof(q));
	q.id = seq;
	ifl_strlcpy(q.cmd, "hosts", sizeof(q.cmd));
	buf_reset(&adm->out);
	if (proto_encode_query(&adm->out, &q) == -1) {
		snprintf(err, errlen, "cannot encode the query");
		goto out;
	}
	c0 = bench_proc_cpu(a->pid);
	t0 = bench_now();
	if (client_write(&ag->cl, ag->out.data, ag->out.len, err, errlen) == -1)
		goto out;
	*lost = an_read(ag, MSG_ACK, why, sizeof(why)) == -1;
	if (*lost)
		bench_note("analysis: round %u: no ack: %s", r, why);
	if (client_write(&adm->cl, adm->out.data, adm->out.len, err, errlen) == -1 ||
	    an_read(adm, MSG_REPLY, err, errlen) == -1)
		goto out;
	*wall_ms = (bench_now() - t0) * 1000;
	*cpu_ms = (bench_proc_cpu(a->pid) - c0) * 1000;
	rc = 0;
out:
	snapshot_free(&s);
	return rc;
}

/* The rounds of one shape; prints its two figures (medians). */
static int
an_shape(struct bench *b, const struct agg_proc *a, const char *agent, int scopes, const char *name,
         unsigned rounds)
{
	struct an_conn ag, adm;
	double wall[16], cpu[16];
	char err[512], fig[64];
	unsigned r, n = 0;
	uint64_t seq = (uint64_t)now_unix() * 1000;
	int rc = -1;

	if (an_open(b, a, agent, ROLE_AGENT, &ag, err, sizeof(err)) == -1) {
		bench_fail(b, "analysis: %s: %s", agent, err);
		an_close(&ag);
		return -1;
	}
	if (an_open(b, a, "admin", ROLE_ADMIN, &adm, err, sizeof(err)) == -1) {
		bench_fail(b, "analysis: admin: %s", err);
		goto out;
	}
	/* round 0 opens the first 10,000: the timed rounds replace them */
	for (r = 0; r <= rounds && r < 16; r++) {
		double w, c;
		int lost = 0;

		if (an_round(a, &ag, &adm, seq + r, r, scopes, &w, &c, &lost, err, sizeof(err)) ==
		    -1) {
			bench_fail(b, "analysis: %s round %u: %s", name, r, err);
			goto out;
		}
		/* the old code's stall cost the agent its connection: a new one */
		if (lost) {
			an_close(&ag);
			if (an_open(b, a, agent, ROLE_AGENT, &ag, err, sizeof(err)) == -1) {
				bench_fail(b, "analysis: %s: %s", agent, err);
				goto out;
			}
		}
		bench_note("analysis: %s round %u: %.0f ms, %.0f ms of CPU", name, r, w, c);
		if (r > 0) {
			wall[n] = w;
			cpu[n] = c;
			n++;
		}
	}
	snprintf(fig, sizeof(fig), "%s_ms", name);
	bench_fig(fig, bench_pct(wall, n, 50), "ms");
	snprintf(fig, sizeof(fig), "%s_cpu_ms", name);
	bench_fig(fig, bench_pct(cpu, n, 50), "ms");
	rc = 0;
out:
	an_close(&adm);
	an_close(&ag);
	return rc;
}

int
bench_analysis(struct bench *b)
{
	struct agg_proc a;
	char db[PATH_MAX];
	unsigned rounds = b->quick ? 1 : 5;
	int rc = 0;

	if (bench_pki_agent(b, "flood1") == -1 || bench_pki_agent(b, "flood2") == -1) {
		bench_fail(b, "analysis: cannot make the agents' certificates");
		return -1;
	}
	snprintf(db, sizeof(db), "%s/analysis.db", b->work);
	if (bench_agg_start(b, &a, "analysis", db, 64, NULL) == -1) {
		bench_fail(b, "analysis: the aggregator did not start");
		return -1;
	}
	if (an_shape(b, &a, "flood1", 0, "analysis_10k_findings", rounds) == -1 ||
	    an_shape(b, &a, "flood2", 1, "analysis_10k_scopes", rounds) == -1)
		rc = -1;
	bench_agg_stop(&a);
	return rc;
}
