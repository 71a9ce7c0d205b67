/*
 * bench_store.c: the figures that need a fleet's history in the store.
 *
 *   storage  realistic per-minute series of a few hosts written through the
 *            store's bulk path, then the database file's size per sample;
 *            and the same for snapshots written through the ingest path
 *            (put_snapshots), per snapshot
 *   query    a synthetic fleet (10,000 hosts, 30 days of per-minute history
 *            as housekeeping leaves it: samples for the retention, hourly
 *            rollups for the rest), then the real aggregator answers hosts,
 *            host, trend (30 days) and report over mutual TLS, timed from
 *            the query written to the reply read and unpacked
 *
 * "Realistic" series: IPC usage is flat most of the time.  Each host's
 * limits move in steps (a service restarting drops and retakes its
 * semaphores; a segment comes or goes) a few times a day, a nightly backup
 * doubles the shared memory for half an hour, and one host in twenty leaks
 * a semaphore set every two hours.  Snapshots are a minute apart, one in a
 * hundred a second late (the agent's clock ticking over).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "buf.h"
#include "client.h"
#include "model.h"
#include "mpread.h"
#include "proto.h"
#include "store.h"
#include "tls.h"
#include "util.h"

#define NLIM         5 /* the limits a Linux host counts */
#define DAY          86400
#define RETENTION    (14 * DAY) /* the aggregator's default [analysis] retention */
#define HIST_DAYS    30
#define BATCH        500
#define LINUX_SHMALL 18446744073692774399ULL

static const char *const lim_names[NLIM] = {"semmns", "semmni", "shmall", "shmmni", "msgmni"};

/* xorshift64*: reproducible series, host by host. */
static uint64_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

/* 1 with probability 1/n. */
static int
rng_one_in(uint64_t *s, uint64_t n)
{
	return rng_next(s) % n == 0;
}

/* ---- one host ---- */

struct hostgen {
	char name[MODEL_NAME_MAX];
	uint64_t rng;
	int leaks;
	/* the host's objects, from which usage follows */
	uint64_t semsets, semsper, segs, segpages, queues;
	/* semmns semmni shmall shmmni msgmni as the host sets them */
	uint64_t lim[NLIM];
};

static void
hostgen_init(struct hostgen *g, size_t i)
{
	memset(g, 0, sizeof(*g));
	snprintf(g->name, sizeof(g->name), "host-%05zu", i + 1);
	g->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)i * 0x100000001b3ULL + 1);
	rng_next(&g->rng);
	g->leaks = i % 20 == 7;
	g->semsets = 10 + rng_next(&g->rng) % 30;
	g->semsper = 17;
	g->segs = 4 + rng_next(&g->rng) % 12;
	g->segpages = 256 * (1 + rng_next(&g->rng) % 64);
	g->queues = rng_next(&g->rng) % 8;
	g->lim[0] = 1024000000;
	g->lim[1] = 32000;
	g->lim[2] = LINUX_SHMALL;
	g->lim[3] = 4096;
	g->lim[4] = 32000;
}

/* A use% for a tight host: most far from their limits, a few near or past warn. */
static uint64_t
hostgen_pct(struct hostgen *g)
{
	uint64_t r = rng_next(&g->rng) % 100, x = rng_next(&g->rng);

	return r < 60   ? 5 + x % 35
	       : r < 85 ? 40 + x % 30
	       : r < 93 ? 70 + x % 15
	       : r < 97 ? 85 + x % 7
	                : 92 + x % 7;
}

/*
 * The report's fleet (bench_report): the same hosts with limits set as
 * operators set them, so that use% spreads from 5 % to 98 % and the
 * leaking hosts run towards theirs (a leak adds 12 sets a day for days).
 */
static void
hostgen_tighten(struct hostgen *g, unsigned days)
{
	uint64_t sets = g->semsets, pct = hostgen_pct(g), peak;

	if (g->leaks) {
		sets += 12 * (uint64_t)days;
		pct = 60 + rng_next(&g->rng) % 30;
	}
	g->lim[1] = sets * 100 / pct + 1;
	g->lim[0] = g->lim[1] * g->semsper * 5 / 4;
	/* shared memory peaks at the nightly backup: twice the pages */
	peak = 2 * g->segs * g->segpages;
	g->lim[2] = peak * 100 / hostgen_pct(g) + 1;
	g->lim[3] = (g->segs + 1) * 100 / hostgen_pct(g) + 1;
	g->lim[4] = 64;
}

/*
 * Usage at minute k of the series (minute 0 is midnight UTC) into used[]:
 * advances g's state, so call it for k = 0, 1, 2, ... in order.
 */
static void
hostgen_step(struct hostgen *g, uint64_t k, uint64_t *used, uint64_t *lim)
{
	uint64_t minute_of_day = k % 1440, sets = g->semsets, segs = g->segs, pages;
	size_t j;

	/* a restart: the service's sets are gone for a minute or two */
	if (rng_one_in(&g->rng, 480))
		sets = sets > 5 ? sets - 5 : 0;
	/* objects come and go, rarely */
	if (rng_one_in(&g->rng, 2880))
		g->semsets += rng_next(&g->rng) % 2 ? 1 : (g->semsets > 1 ? (uint64_t)-1 : 0);
	if (rng_one_in(&g->rng, 4320))
		g->segs += rng_next(&g->rng) % 2 ? 1 : (g->segs > 1 ? (uint64_t)-1 : 0);
	if (g->leaks && k % 120 == 119)
		g->semsets++;
	/* a kernel refuses what passes its limits (tight fleets reach them) */
	if (g->semsets > g->lim[1])
		g->semsets = g->lim[1];
	if (g->segs >= g->lim[3])
		g->segs = g->lim[3] - 1;
	while (g->segs > 1 && g->segs * g->segpages > g->lim[2])
		g->segs--;
	if (sets > g->semsets)
		sets = g->semsets;
	if (segs > g->segs)
		segs = g->segs;
	pages = segs * g->segpages;
	/* the nightly backup, 02:00 to 02:30 */
	if (minute_of_day >= 120 && minute_of_day < 150)
		pages *= 2, segs += 1;
	used[0] = sets * g->semsper;
	used[1] = sets;
	used[2] = pages;
	used[3] = segs;
	used[4] = g->queues;
	memcpy(lim, g->lim, sizeof(g->lim));
	for (j = 0; j < NLIM; j++)
		if (used[j] > lim[j])
			used[j] = lim[j];
}

/* The host's latest snapshot: its objects as hostgen describes them now. */
static int
hostgen_snapshot(const struct hostgen *g, struct snapshot *s, uint64_t seq, int64_t taken)
{
	static const char *const owners[] = {"postgres", "www", "oracle", "app"};
	size_t i, n = 0;

	if (snapshot_init(s) == -1)
		return -1;
	ifl_strlcpy(s->os, "Linux", sizeof(s->os));
	ifl_strlcpy(s->os_release, "6.1.0-bench", sizeof(s->os_release));
	s->page_size = 4096;
	s->seq = seq;
	s->taken = taken;
	if (limits_set(&s->limits, "shmmax", 18446744073692774399ull) == -1 ||
	    limits_set(&s->limits, "shmall", g->lim[2]) == -1 ||
	    limits_set(&s->limits, "shmmni", g->lim[3]) == -1 ||
	    limits_set(&s->limits, "semmsl", 32000) == -1 ||
	    limits_set(&s->limits, "semmns", g->lim[0]) == -1 ||
	    limits_set(&s->limits, "semopm", 500) == -1 ||
	    limits_set(&s->limits, "semmni", g->lim[1]) == -1 ||
	    limits_set(&s->limits, "msgmax", 8192) == -1 ||
	    limits_set(&s->limits, "msgmnb", 16384) == -1 ||
	    limits_set(&s->limits, "msgmni", g->lim[4]) == -1)
		goto fail;
	for (i = 0; i < g->semsets + g->segs + g->queues; i++) {
		struct ipc_object *o = snapshot_add_object(s);

		if (o == NULL)
			goto fail;
		o->id = (int64_t)(n++ * 32768 + 7);
		o->key = (int64_t)(0x5432000 + i);
		o->mode = 0600;
		o->uid = o->cuid = 70 + (uint32_t)(i % 4);
		o->gid = o->cgid = 70;
		o->ctime = taken - 86400 - (int64_t)i * 60;
		ifl_strlcpy(o->owner, owners[i % 4], sizeof(o->owner));
		if (i < g->semsets) {
			o->type = IPC_SEM;
			o->nsems = g->semsper;
			o->otime = taken - (int64_t)i;
		} else if (i < g->semsets + g->segs) {
			o->type = IPC_SHM;
			o->size = g->segpages * 4096;
			o->nattch = 3 + i % 5;
			o->cpid = 1000 + (int64_t)i;
			o->lpid = 2000 + (int64_t)i;
			o->atime = taken - 5;
			o->rss = 4096u * 50;
		} else {
			o->type = IPC_MSG;
			o->cbytes = 120;
			o->qnum = 2;
			o->qbytes = 16384;
			o->lspid = 3000 + (int64_t)i;
			o->lrpid = 3100 + (int64_t)i;
			o->stime = taken - 2;
			o->rtime = taken - 3;
		}
	}
	return 0;
fail:
	snapshot_free(s);
	return -1;
}

static void
hostgen_info(const struct hostgen *g, struct host_info *hi)
{
	memset(hi, 0, sizeof(*hi));
	ifl_strlcpy(hi->name, g->name, sizeof(hi->name));
	ifl_strlcpy(hi->os, "Linux", sizeof(hi->os));
	ifl_strlcpy(hi->os_release, "6.1.0-bench", sizeof(hi->os_release));
	ifl_strlcpy(hi->agent, "ipcfleet-bench", sizeof(hi->agent));
	hi->page_size = 4096;
	hi->boot_time = 1700000000;
	/* an hour: the stale check leaves the synthetic fleet alone while it is measured */
	hi->interval = 3600;
}

/* The per-minute history of one host over days, ending before end. */
struct history {
	size_t n;
	int64_t *t;
	uint64_t *used[NLIM], *lim[NLIM];
	struct store_history h[NLIM];
};

static void
history_free(struct history *hs)
{
	size_t j;

	free(hs->t);
	for (j = 0; j < NLIM; j++) {
		free(hs->used[j]);
		free(hs->lim[j]);
	}
	memset(hs, 0, sizeof(*hs));
}

static int
history_make(struct hostgen *g, int64_t end, unsigned days, struct history *hs)
{
	int64_t start = end - (int64_t)days * DAY;
	uint64_t used[NLIM], lim[NLIM];
	size_t k, j;

	memset(hs, 0, sizeof(*hs));
	start -= start % DAY; /* minute 0 at midnight */
	hs->n = (size_t)days * 1440;
	if ((hs->t = calloc(hs->n, sizeof(*hs->t))) == NULL)
		return -1;
	for (j = 0; j < NLIM; j++) {
		hs->used[j] = calloc(hs->n, sizeof(uint64_t));
		hs->lim[j] = calloc(hs->n, sizeof(uint64_t));
		if (hs->used[j] == NULL || hs->lim[j] == NULL) {
			history_free(hs);
			return -1;
		}
		hs->h[j].limit = lim_names[j];
		hs->h[j].used = hs->used[j];
		hs->h[j].limit_value = hs->lim[j];
	}
	for (k = 0; k < hs->n; k++) {
		/* one snapshot in a hundred is taken a second late */
		hs->t[k] = start + (int64_t)k * 60 + (rng_one_in(&g->rng, 100) ? 1 : 0);
		hostgen_step(g, k, used, lim);
		for (j = 0; j < NLIM; j++) {
			hs->used[j][k] = used[j];
			hs->lim[j][k] = lim[j];
		}
	}
	return 0;
}

/* Stores the latest snapshots of g[0..n), BATCH per transaction. */
static int
put_latest_seq(struct store *st, struct hostgen *g, size_t n, int64_t now, uint64_t seq, char *err,
               size_t errlen)
{
	struct store_put *v = calloc(BATCH, sizeof(*v));
	struct host_info *hi = calloc(BATCH, sizeof(*hi));
	struct snapshot *s = calloc(BATCH, sizeof(*s));
	struct buf *raw = calloc(BATCH, sizeof(*raw));
	size_t i, k, m;
	int rc = 0;

	if (v == NULL || hi == NULL || s == NULL || raw == NULL) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
		goto out;
	}
	for (i = 0; i < n && rc == 0; i += m) {
		m = n - i < BATCH ? n - i : BATCH;
		for (k = 0; k < m; k++) {
			hostgen_info(&g[i + k], &hi[k]);
			buf_init(&raw[k], PROTO_MAX_FRAME + PROTO_HDR_LEN);
			if (hostgen_snapshot(&g[i + k], &s[k], seq, now - 30) == -1 ||
			    proto_encode_snapshot(&raw[k], &s[k]) == -1) {
				snprintf(err, errlen, "cannot build a snapshot");
				rc = -1;
				m = k;
				break;
			}
			v[k].hi = &hi[k];
			v[k].s = &s[k];
			v[k].raw = (const uint8_t *)raw[k].data + PROTO_HDR_LEN;
			v[k].rawlen = raw[k].len - PROTO_HDR_LEN;
			v[k].received = now;
		}
		if (rc == 0 && store_put_snapshots(st, v, m, err, errlen) == -1)
			rc = -1;
		for (k = 0; k < m; k++) {
			snapshot_free(&s[k]);
			buf_free(&raw[k]);
		}
	}
out:
	free(v);
	free(hi);
	free(s);
	free(raw);
	return rc;
}

static int
put_latest(struct store *st, struct hostgen *g, size_t n, int64_t now, char *err, size_t errlen)
{
	return put_latest_seq(st, g, n, now, 1000, err, errlen);
}

static long long
file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* ---- storage ---- */

int
bench_storage(struct bench *b)
{
	size_t nhosts = b->quick ? 3 : 20, i;
	unsigned days = b->quick ? 7 : 30;
	int64_t now = now_unix();
	struct hostgen *g = calloc(nhosts, sizeof(*g));
	char path[PATH_MAX + 32], err[1024];
	struct store *st = NULL;
	double samples = 0, t0 = bench_now();
	long long size;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/storage.db", b->work);
	if (g == NULL || (st = store_open_sqlite(path, err, sizeof(err))) == NULL) {
		bench_fail(b, "storage: %s", g == NULL ? "out of memory" : err);
		goto out;
	}
	for (i = 0; i < nhosts; i++)
		hostgen_init(&g[i], i);
	if (put_latest(st, g, nhosts, now, err, sizeof(err)) == -1) {
		bench_fail(b, "storage: %s", err);
		goto out;
	}
	for (i = 0; i < nhosts; i++) {
		struct history hs;

		if (history_make(&g[i], now, days, &hs) == -1) {
			bench_fail(b, "storage: out of memory");
			goto out;
		}
		if (store_put_history(st, g[i].name, hs.t, hs.n, hs.h, NLIM, INT64_MIN, err,
		                      sizeof(err)) == -1) {
			bench_fail(b, "storage: %s", err);
			history_free(&hs);
			goto out;
		}
		samples += (double)hs.n * NLIM;
		history_free(&hs);
	}
	store_close(st); /* the last connection checkpoints the WAL into the file */
	st = NULL;
	size = file_size(path);
	bench_fig("storage_hosts", (double)nhosts, "count");
	bench_fig("storage_days", days, "days");
	bench_fig("storage_samples", samples, "count");
	bench_fig("storage_db_bytes", (double)size, "B");
	bench_fig("storage_bytes_per_sample", (double)size / samples, "B");
	bench_note("storage: bulk history written in %.1f s", bench_now() - t0);

	/* the ingest path: every snapshot's own rows (received, latest, samples, rollups) */
	snprintf(path, sizeof(path), "%s/storage-ingest.db", b->work);
	if ((st = store_open_sqlite(path, err, sizeof(err))) == NULL) {
		bench_fail(b, "storage: %s", err);
		goto out;
	}
	{
		size_t nsnap = b->quick ? 720 : 2880, k, m;
		struct hostgen hg;
		struct host_info hi;
		struct store_put *v = calloc(BATCH, sizeof(*v));
		struct snapshot *sv = calloc(BATCH, sizeof(*sv));
		struct buf *rv = calloc(BATCH, sizeof(*rv));
		int64_t start = now - (int64_t)nsnap * 60;

		if (v == NULL || sv == NULL || rv == NULL) {
			free(v);
			free(sv);
			free(rv);
			bench_fail(b, "storage: out of memory");
			goto out;
		}
		hostgen_init(&hg, 0);
		hostgen_info(&hg, &hi);
		for (k = 0; k < nsnap && rc == -1; k += m) {
			size_t j;

			m = nsnap - k < BATCH ? nsnap - k : BATCH;
			for (j = 0; j < m; j++) {
				buf_init(&rv[j], PROTO_MAX_FRAME + PROTO_HDR_LEN);
				if (hostgen_snapshot(&hg, &sv[j], k + j + 1,
				                     start + (int64_t)(k + j) * 60) == -1 ||
				    proto_encode_snapshot(&rv[j], &sv[j]) == -1) {
					bench_fail(b, "storage: cannot build a snapshot");
					m = j;
					rc = -2;
					break;
				}
				v[j].hi = &hi;
				v[j].s = &sv[j];
				v[j].raw = (const uint8_t *)rv[j].data + PROTO_HDR_LEN;
				v[j].rawlen = rv[j].len - PROTO_HDR_LEN;
				v[j].received = start + (int64_t)(k + j) * 60 + 1;
			}
			if (rc == -1 && store_put_snapshots(st, v, m, err, sizeof(err)) == -1) {
				bench_fail(b, "storage: %s", err);
				rc = -2;
			}
			for (j = 0; j < m; j++) {
				snapshot_free(&sv[j]);
				buf_free(&rv[j]);
			}
		}
		free(v);
		free(sv);
		free(rv);
		if (rc == -2) {
			rc = -1;
			goto out;
		}
		store_close(st);
		st = NULL;
		size = file_size(path);
		bench_fig("storage_ingest_snapshots", (double)nsnap, "count");
		bench_fig("storage_ingest_bytes_per_snapshot", (double)size / (double)nsnap, "B");
		bench_fig("storage_ingest_bytes_per_sample", (double)size / (double)nsnap / NLIM,
		          "B");
	}
	rc = 0;
out:
	store_close(st);
	free(g);
	return rc;
}

/* ---- query ---- */

/* An admin connection to the aggregator. */
struct qclient {
	struct client cl;
	SSL_CTX *ctx;
	struct buf in, out;
	uint64_t id;
	int open;
};

static int
qc_open(struct bench *b, const struct agg_proc *a, struct qclient *qc, char *err, size_t errlen)
{
	char cert[PATH_MAX + 16], key[PATH_MAX + 16], ca[PATH_MAX + 16], server[64];
	struct tls_paths tp = {.cert = cert, .key = key, .ca = ca};
	struct msg_hello h;

	memset(qc, 0, sizeof(*qc));
	snprintf(cert, sizeof(cert), "%s/admin.crt", b->pki);
	snprintf(key, sizeof(key), "%s/admin.key", b->pki);
	snprintf(ca, sizeof(ca), "%s/ca.crt", b->pki);
	snprintf(server, sizeof(server), "localhost:%d", a->port);
	if ((qc->ctx = tls_client_ctx(&tp, err, errlen)) == NULL)
		return -1;
	if (client_connect(&qc->cl, qc->ctx, server, 600000, err, errlen) == -1) {
		SSL_CTX_free(qc->ctx);
		return -1;
	}
	qc->open = 1;
	buf_init(&qc->in, PROTO_MAX_FRAME);
	buf_init(&qc->out, 64u * 1024);
	memset(&h, 0, sizeof(h));
	h.major = PROTO_MAJOR;
	h.minor = PROTO_MINOR;
	h.role = ROLE_ADMIN;
	snprintf(h.agent, sizeof(h.agent), "ipcfleet-bench %s", IPCFLEET_VERSION);
	if (proto_encode_hello(&qc->out, &h) == -1 ||
	    client_write(&qc->cl, qc->out.data, qc->out.len, err, errlen) == -1)
		return -1;
	return 0;
}

static void
qc_close(struct qclient *qc)
{
	if (!qc->open)
		return;
	client_close(&qc->cl);
	SSL_CTX_free(qc->ctx);
	buf_free(&qc->in);
	buf_free(&qc->out);
	qc->open = 0;
}

/*
 * One query: seconds from writing it to its reply read and unpacked, or -1
 * with err.  args: NULL-terminated name, value pairs.  next (when not
 * NULL): a page's "next", "" when none.
 */
static double
qc_query_next(struct qclient *qc, const char *cmd, const char *const *args, size_t *bytes,
              char *next, size_t nextlen, char *err, size_t errlen)
{
	struct msg_query q;
	struct proto_doc d;
	const msgpack_object *body;
	uint64_t id;
	double t0;
	char why[512];

	memset(&q, 0, sizeof(q));
	q.id = ++qc->id;
	ifl_strlcpy(q.cmd, cmd, sizeof(q.cmd));
	for (; args != NULL && args[0] != NULL && q.nargs < QUERY_MAX_ARGS; args += 2) {
		ifl_strlcpy(q.args[q.nargs].name, args[0], sizeof(q.args[0].name));
		ifl_strlcpy(q.args[q.nargs].value, args[1], sizeof(q.args[0].value));
		q.nargs++;
	}
	buf_reset(&qc->out);
	if (proto_encode_query(&qc->out, &q) == -1) {
		snprintf(err, errlen, "cannot encode the query");
		return -1;
	}
	t0 = bench_now();
	if (client_write(&qc->cl, qc->out.data, qc->out.len, err, errlen) == -1 ||
	    client_read_frame(&qc->cl, PROTO_MAX_FRAME, &qc->in, err, errlen) == -1)
		return -1;
	if (proto_doc_unpack((const uint8_t *)qc->in.data, qc->in.len, &d, why, sizeof(why)) ==
	    -1) {
		snprintf(err, errlen, "bad reply: %s", why);
		return -1;
	}
	if (d.type != MSG_REPLY || proto_decode_reply(&d, &id, &body, why, sizeof(why)) == -1 ||
	    id != q.id) {
		struct msg_error e;

		if (d.type == MSG_ERROR && proto_decode_error(&d, &e, why, sizeof(why)) == 0)
			snprintf(err, errlen, "%s: error reply: %s", cmd, e.text);
		else
			snprintf(err, errlen, "%s: unexpected answer", cmd);
		proto_doc_free(&d);
		return -1;
	}
	if (next != NULL) {
		const msgpack_object *n = mpr_get(body, "next");

		next[0] = '\0';
		if (n != NULL && n->type == MSGPACK_OBJECT_STR && n->via.str.size < nextlen) {
			memcpy(next, n->via.str.ptr, n->via.str.size);
			next[n->via.str.size] = '\0';
		}
	}
	proto_doc_free(&d);
	if (bytes != NULL)
		*bytes = qc->in.len;
	return bench_now() - t0;
}

static double
qc_query(struct qclient *qc, const char *cmd, const char *const *args, size_t *bytes, char *err,
         size_t errlen)
{
	return qc_query_next(qc, cmd, args, bytes, NULL, 0, err, errlen);
}

/*
 * The whole listing of cmd (hosts, report) in pages of page hosts, nrep
 * times: the seconds of a whole listing (median) as NAME_s, and each
 * page's latency (every page of every listing) as NAME_page_p50_ms and
 * _p99_ms: how long one page holds the aggregator, at most.
 */
static int
query_pages(struct bench *b, struct qclient *qc, const char *name, const char *cmd, size_t page,
            size_t nhosts, size_t nrep)
{
	size_t npages = nhosts / page + 1, n = 0, i, total, pages;
	double *v = calloc(nrep * npages, sizeof(*v)), *all = calloc(nrep, sizeof(*all)), t;
	char after[MODEL_NAME_MAX], next[MODEL_NAME_MAX], err[1024], fig[96], limit[24];
	int rc = -1;

	if (v == NULL || all == NULL)
		goto out;
	snprintf(limit, sizeof(limit), "%zu", page);
	for (i = 0; i < nrep; i++) {
		const char *args[5] = {"limit", limit, NULL, NULL, NULL};

		after[0] = '\0';
		all[i] = 0;
		for (pages = 0, total = 0;; pages++) {
			size_t bytes = 0;

			if (after[0] != '\0') {
				args[2] = "after";
				args[3] = after;
			}
			if (pages == npages ||
			    (t = qc_query_next(qc, cmd, args, &bytes, next, sizeof(next), err,
			                       sizeof(err))) < 0) {
				bench_fail(b, "query %s in pages: %s", cmd,
				           pages == npages ? "more pages than hosts" : err);
				goto out;
			}
			v[n++] = t * 1000;
			all[i] += t;
			total += bytes;
			if (next[0] == '\0')
				break;
			memcpy(after, next, sizeof(after));
		}
	}
	snprintf(fig, sizeof(fig), "%s_s", name);
	bench_fig(fig, bench_pct(all, nrep, 50), "s");
	snprintf(fig, sizeof(fig), "%s_page_p50_ms", name);
	bench_fig(fig, bench_pct(v, n, 50), "ms");
	snprintf(fig, sizeof(fig), "%s_page_p99_ms", name);
	bench_fig(fig, bench_pct(v, n, 99), "ms");
	rc = 0;
out:
	free(v);
	free(all);
	return rc;
}

/* Thirty days of one host's history through the store's bulk path. */
static int
put_host_history(struct store *st, struct hostgen *g, int64_t now, char *err, size_t errlen)
{
	struct history hs;
	int rc;

	if (history_make(g, now - 60, HIST_DAYS, &hs) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = store_put_history(st, g->name, hs.t, hs.n, hs.h, NLIM, now - RETENTION, err, errlen);
	history_free(&hs);
	return rc;
}

/*
 * Writes the synthetic fleet into st: latest snapshots, some findings, and
 * with history, each host's thirty days (the store's bulk path).
 */
/*
 * The open findings of a tight host (bench_report) as the analysis would
 * have them: thresholds at 80 and 90 %, and a leaking host's forecast.
 */
static size_t
report_findings(const struct hostgen *g, int64_t now, struct finding *f, size_t max)
{
	uint64_t used[NLIM];
	size_t j, n = 0;
	char when[32];

	used[0] = g->semsets * g->semsper;
	used[1] = g->semsets;
	used[2] = g->segs * g->segpages;
	used[3] = g->segs;
	used[4] = g->queues;
	for (j = 0; j < NLIM && n < max; j++) {
		double pct = usage_pct(used[j], g->lim[j]);

		if (pct < 80)
			continue;
		memset(&f[n], 0, sizeof(f[n]));
		f[n].kind = FK_THRESHOLD;
		f[n].severity = pct >= 90 ? SEV_CRIT : SEV_WARN;
		ifl_strlcpy(f[n].limit, lim_names[j], sizeof(f[n].limit));
		snprintf(f[n].message, sizeof(f[n].message),
		         "%s at %.1f%%: %" PRIu64 " of %" PRIu64 " used, %" PRIu64
		         " free (%s at %d%%)",
		         lim_names[j], pct, used[j], g->lim[j], g->lim[j] - used[j],
		         pct >= 90 ? "crit" : "warn", pct >= 90 ? 90 : 80);
		n++;
	}
	if (g->leaks && n < max && used[1] < g->lim[1]) {
		memset(&f[n], 0, sizeof(f[n]));
		f[n].kind = FK_FORECAST;
		f[n].exhaust_at = now + (int64_t)((g->lim[1] - used[1]) * DAY / 12);
		f[n].severity = f[n].exhaust_at - now < 7 * DAY ? SEV_CRIT : SEV_WARN;
		ifl_strlcpy(f[n].limit, "semmni", sizeof(f[n].limit));
		snprintf(f[n].message, sizeof(f[n].message),
		         "semmni runs out around %s: 12 more sets a day, %" PRIu64 " of %" PRIu64
		         " used",
		         fmt_rfc3339(f[n].exhaust_at, when, sizeof(when)), used[1], g->lim[1]);
		n++;
	}
	return n;
}

/*
 * Writes hosts first..nhosts of the synthetic fleet into st (the growth
 * section adds hosts to a fleet step by step; every host is generated from
 * its number alone, so a fleet grown in steps is the fleet written at once),
 * then receives every host's latest snapshot again, now.
 */
static int
query_synth(struct bench *b, struct store *st, size_t first, size_t nhosts, int64_t now,
            int history, const char *pfx, int tight)
{
	struct hostgen *g = calloc(nhosts, sizeof(*g));
	char err[1024];
	double t0 = bench_now(), tl = t0;
	size_t i;
	int rc = -1;

	if (g == NULL) {
		bench_fail(b, "query: out of memory");
		goto out;
	}
	for (i = 0; i < nhosts; i++) {
		hostgen_init(&g[i], i);
		if (tight)
			hostgen_tighten(&g[i], HIST_DAYS);
	}
	/* the host rows first (a history needs its host), then their histories */
	if (put_latest(st, g + first, nhosts - first, now, err, sizeof(err)) == -1) {
		bench_fail(b, "query: %s", err);
		goto out;
	}
	for (i = first; i < nhosts; i++) {
		if (history && put_host_history(st, &g[i], now, err, sizeof(err)) == -1) {
			bench_fail(b, "query: %s", err);
			goto out;
		}
		if (tight) {
			struct finding f[NLIM + 1];
			struct finding_change *ch = NULL;
			size_t nf = report_findings(&g[i], now, f, NELEM(f)), nch = 0;

			if (store_sync_findings(st, g[i].name, f, nf, now, &ch, &nch, err,
			                        sizeof(err)) == -1) {
				bench_fail(b, "query: %s", err);
				goto out;
			}
			free(ch);
		} else if (i % 20 == 3) {
			/* one host in twenty has an open finding */
			struct finding f;
			struct finding_change *ch = NULL;
			size_t nch = 0;

			memset(&f, 0, sizeof(f));
			f.kind = FK_THRESHOLD;
			f.severity = SEV_WARN;
			ifl_strlcpy(f.limit, "semmni", sizeof(f.limit));
			snprintf(f.message, sizeof(f.message),
			         "semmni at 85.0%%: 27200 of 32000 used, 4800 free (warn at 80%%)");
			if (store_sync_findings(st, g[i].name, &f, 1, now, &ch, &nch, err,
			                        sizeof(err)) == -1) {
				bench_fail(b, "query: %s", err);
				goto out;
			}
			free(ch);
		}
		if (bench_now() - tl > 15) {
			tl = bench_now();
			bench_note("query: %zu of %zu hosts written", i + 1 - first,
			           nhosts - first);
		}
	}
	/*
	 * The latest snapshots again, received now: nobody is stale while we
	 * measure.  The same seq is a duplicate (only its arrival counts); a
	 * tight fleet's hosts moved during their history (leaks), so theirs
	 * is a new snapshot.
	 */
	if (put_latest_seq(st, g, nhosts, now_unix(), tight ? 1001 : 1000, err, sizeof(err)) ==
	    -1) {
		bench_fail(b, "query: %s", err);
		goto out;
	}
	bench_figp(pfx, "query_synth_s", bench_now() - t0, "s");
	rc = 0;
out:
	free(g);
	return rc;
}

/* Runs cmd n times; its p50 and p99 in ms as figures NAME_p50_ms, NAME_p99_ms. */
static int
query_series(struct bench *b, struct qclient *qc, const char *name, const char *cmd, size_t nhosts,
             size_t n, int with_host, const char *const *extra)
{
	double *v = calloc(n, sizeof(*v));
	const char *const *e;
	char fig[96], err[1024], host[MODEL_NAME_MAX];
	uint64_t rng = 42;
	size_t i, bytes = 0;

	if (v == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const char *args[8] = {NULL};
		size_t k = 0;

		if (with_host) {
			snprintf(host, sizeof(host), "host-%05zu",
			         (size_t)(rng_next(&rng) % nhosts) + 1);
			args[k++] = "name";
			args[k++] = host;
		}
		for (e = extra; e != NULL && e[0] != NULL && k + 2 < NELEM(args); e += 2) {
			args[k++] = e[0];
			args[k++] = e[1];
		}
		if ((v[i] = qc_query(qc, cmd, args, &bytes, err, sizeof(err))) < 0) {
			bench_fail(b, "query %s: %s", cmd, err);
			free(v);
			return -1;
		}
		v[i] *= 1000;
	}
	snprintf(fig, sizeof(fig), "%s_reply_kb", name);
	bench_fig(fig, (double)bytes / 1024, "kB");
	snprintf(fig, sizeof(fig), "%s_p50_ms", name);
	bench_fig(fig, bench_pct(v, n, 50), "ms");
	snprintf(fig, sizeof(fig), "%s_p99_ms", name);
	bench_fig(fig, bench_pct(v, n, 99), "ms");
	free(v);
	return 0;
}

/*
 * Times hosts, host, trend over 30 days (when trend) and the fleet report
 * through the aggregator agg, as figures PFX query_hosts_p99_ms and so on.
 */
static int
query_measure(struct bench *b, const struct agg_proc *agg, size_t nhosts, const char *pfx,
              int trend, int report)
{
	static const char *const trend_args[] = {"limit", "semmns", "since", "2592000", NULL};
	size_t nq = b->quick ? 20 : 100, nrep = b->quick ? 2 : 3, bytes = 0, i;
	char err[1024], name[64];
	struct qclient qc;
	double rep[5];
	int rc = -1;

	if (qc_open(b, agg, &qc, err, sizeof(err)) == -1) {
		bench_fail(b, "query: %s", err);
		goto out;
	}
	/* once each: the database's pages into the cache */
	if (qc_query(&qc, "hosts", NULL, NULL, err, sizeof(err)) < 0 ||
	    (report && qc_query(&qc, "report", NULL, NULL, err, sizeof(err)) < 0)) {
		bench_fail(b, "query: %s", err);
		goto out;
	}
	snprintf(name, sizeof(name), "%squery_hosts", pfx);
	if (query_series(b, &qc, name, "hosts", nhosts, nq, 0, NULL) == -1)
		goto out;
	snprintf(name, sizeof(name), "%squery_host", pfx);
	if (query_series(b, &qc, name, "host", nhosts, nq, 1, NULL) == -1)
		goto out;
	/* trend over 30 days: beyond the retention, so from the hourly rollups */
	snprintf(name, sizeof(name), "%squery_trend_30d", pfx);
	if (trend && query_series(b, &qc, name, "trend", nhosts, nq, 1, trend_args) == -1)
		goto out;
	if (!report) {
		rc = 0;
		goto out;
	}
	for (i = 0; i < nrep; i++) {
		if ((rep[i] = qc_query(&qc, "report", NULL, &bytes, err, sizeof(err))) < 0) {
			bench_fail(b, "query report: %s", err);
			goto out;
		}
	}
	bench_figp(pfx, "report_reply_kb", (double)bytes / 1024, "kB");
	bench_figp(pfx, "report_s", bench_pct(rep, nrep, 50), "s");
	rc = 0;
out:
	qc_close(&qc);
	return rc;
}

int
bench_query(struct bench *b)
{
	size_t nhosts = b->query_hosts ? b->query_hosts : b->quick ? 200 : 10000;
	char path[PATH_MAX + 32], err[1024];
	struct agg_proc agg;
	struct store *st;
	int rc;

	snprintf(path, sizeof(path), "%s/query.db", b->work);
	bench_note("query: synthesising %zu hosts with %d days of per-minute history", nhosts,
	           HIST_DAYS);
	if ((st = store_open_sqlite(path, err, sizeof(err))) == NULL) {
		bench_fail(b, "query: %s", err);
		return -1;
	}
	rc = query_synth(b, st, 0, nhosts, now_unix(), 1, "", 0);
	store_close(st);
	if (rc == -1)
		return -1;
	bench_fig("query_hosts", (double)nhosts, "count");
	bench_fig("query_db_mb", (double)file_size(path) / 1048576, "MB");
	if (bench_agg_start(b, &agg, "query", path, 1000, NULL) == -1) {
		bench_fail(b, "query: the aggregator did not start");
		return -1;
	}
	rc = query_measure(b, &agg, nhosts, "", 1, 1);
	bench_agg_stop(&agg);
	return rc;
}

/*
 * The queries with the store on PostgreSQL: a fleet of latest snapshots and
 * findings, without the thirty days of history (the PostgreSQL store has no
 * bulk loader: its ingest path would take hours), so no trend figure.
 */
int
bench_pg_query(struct bench *b)
{
	size_t nhosts = b->query_hosts ? b->query_hosts : b->quick ? 100 : 2000;
	char err[1024];
	struct agg_proc agg;
	struct store *st;
	int rc;

	bench_note("pg-query: %zu hosts, latest snapshots only", nhosts);
	if ((st = store_open("postgresql", NULL, b->pg_url, err, sizeof(err))) == NULL) {
		bench_fail(b, "pg-query: %s", err);
		return -1;
	}
	rc = query_synth(b, st, 0, nhosts, now_unix(), 0, "pg_", 0);
	store_close(st);
	if (rc == -1)
		return -1;
	bench_fig("pg_query_hosts", (double)nhosts, "count");
	if (bench_agg_start(b, &agg, "pg-query", b->pg_url, 1000, NULL) == -1) {
		bench_fail(b, "pg-query: the aggregator did not start");
		return -1;
	}
	rc = query_measure(b, &agg, nhosts, "pg_", 0, 1);
	bench_agg_stop(&agg);
	return rc;
}

/* The report as one reply, three times: its median seconds, or a note where it no longer fits. */
static void
growth_report_once(struct qclient *qc, size_t nhosts)
{
	double t[3];
	size_t i, bytes = 0;
	char err[1024];

	for (i = 0; i < NELEM(t); i++) {
		if ((t[i] = qc_query(qc, "report", NULL, &bytes, err, sizeof(err))) < 0) {
			bench_note("growth: %zu hosts: %s", nhosts, err);
			return;
		}
	}
	bench_fig("query_report_reply_kb", (double)bytes / 1024, "kB");
	bench_fig("query_report_s", bench_pct(t, NELEM(t), 50), "s");
}

/*
 * host, then hosts, then the report, on a fleet of nhosts (growth): host
 * first, so that it is measured even where the hosts reply no longer fits
 * in a frame; hosts and report also in the CLI's pages.
 */
static int
growth_queries(struct bench *b, const struct agg_proc *agg, size_t nhosts)
{
	size_t nq = b->quick ? 20 : 100;
	char err[1024];
	struct qclient qc;
	int rc, fits = 1;

	if (qc_open(b, agg, &qc, err, sizeof(err)) == -1) {
		bench_fail(b, "growth query: %s", err);
		return -1;
	}
	/* once: the database's pages into the cache (hosts reads every row) */
	if (qc_query(&qc, "hosts", NULL, NULL, err, sizeof(err)) < 0) {
		/* beyond about 41,000 hosts one reply cannot hold them: pages only */
		bench_note("growth: %zu hosts: %s", nhosts, err);
		fits = 0;
	}
	rc = query_series(b, &qc, "query_host", "host", nhosts, nq, 1, NULL);
	if (fits && query_series(b, &qc, "query_hosts", "hosts", nhosts, nq, 0, NULL) == -1)
		rc = -1;
	/* the CLI's way: pages of 5,000 */
	if (query_pages(b, &qc, "query_hosts_paged", "hosts", 5000, nhosts, b->quick ? 2 : 5) == -1)
		rc = -1;
	/*
	 * The report (rows without history here: this fleet has none), as one
	 * reply while it fits, and in the CLI's pages of 500.
	 */
	growth_report_once(&qc, nhosts);
	if (query_pages(b, &qc, "query_report_paged", "report", 500, nhosts, b->quick ? 1 : 2) ==
	    -1)
		rc = -1;
	qc_close(&qc);
	return rc;
}

/*
 * The growth section's queries: a fleet of latest snapshots and findings
 * without history (hosts and host read none; thirty days of 50,000 hosts
 * would take an hour to write), grown in one database to each size in
 * turn; at each, the real aggregator answers hosts and host (figures
 * query_hosts_p99_ms and so on, named by the caller's bench_fig_names).
 */
int
bench_query_growth(struct bench *b, const size_t *sizes, size_t nsizes)
{
	char path[PATH_MAX + 32], err[1024], sfx[32];
	struct agg_proc agg;
	struct store *st;
	size_t k, done = 0;
	int rc = 0, failed = 0;

	snprintf(path, sizeof(path), "%s/query-growth.db", b->work);
	for (k = 0; k < nsizes && rc == 0; k++) {
		snprintf(sfx, sizeof(sfx), "_%zuh", sizes[k]);
		bench_fig_names("growth_", sfx);
		bench_note("growth: %zu hosts, latest snapshots only", sizes[k]);
		if ((st = store_open_sqlite(path, err, sizeof(err))) == NULL) {
			bench_fail(b, "growth query: %s", err);
			rc = -1;
			break;
		}
		rc = query_synth(b, st, done, sizes[k], now_unix(), 0, "", 0);
		store_close(st);
		if (rc == -1)
			break;
		done = sizes[k];
		if (bench_agg_start(b, &agg, "query-growth", path, 1000, NULL) == -1) {
			bench_fail(b, "growth query: the aggregator did not start");
			rc = -1;
			break;
		}
		if (growth_queries(b, &agg, sizes[k]) == -1)
			failed = 1; /* the larger sizes still say how far it goes */
		bench_agg_stop(&agg);
	}
	bench_fig_names("", "");
	return rc == -1 || failed ? -1 : 0;
}

/*
 * Runs `ipcfleet report --format html -o out` three times against the real
 * aggregator on the database at path: figures report_html_mb and
 * report_html_s (the median wall time: query, reply, rendering, writing).
 */
static int
report_render(struct bench *b, const char *path, const char *out)
{
	char cli[PATH_MAX + 16], cert[PATH_MAX + 16], key[PATH_MAX + 16], ca[PATH_MAX + 16];
	char server[64], outp[PATH_MAX + 32];
	char *argv[] = {cli, "--server", server,     "--cert", cert, "--key", key, "--ca",
	                ca,  "report",   "--format", "html",   "-o", outp,    NULL};
	struct agg_proc agg;
	struct stat sb;
	double t[3];
	size_t i;
	int rc = 0;

	snprintf(outp, sizeof(outp), "%s", out);
	snprintf(cli, sizeof(cli), "%s/ipcfleet", b->bindir);
	snprintf(cert, sizeof(cert), "%s/admin.crt", b->pki);
	snprintf(key, sizeof(key), "%s/admin.key", b->pki);
	snprintf(ca, sizeof(ca), "%s/ca.crt", b->pki);
	if (bench_agg_start(b, &agg, "report", path, 1000, NULL) == -1) {
		bench_fail(b, "report: the aggregator did not start");
		return -1;
	}
	snprintf(server, sizeof(server), "localhost:%d", agg.port);
	for (i = 0; i < NELEM(t) && rc == 0; i++) {
		double t0 = bench_now();
		int st_cli = bench_run(argv, NULL);

		t[i] = bench_now() - t0;
		if (st_cli != 0) {
			bench_fail(b, "report: ipcfleet report --format html exited %d", st_cli);
			rc = -1;
		}
	}
	bench_agg_stop(&agg);
	if (rc == -1)
		return -1;
	if (stat(out, &sb) == -1) {
		bench_fail(b, "report: %s: %s", out, strerror(errno));
		return -1;
	}
	bench_fig("report_html_mb", (double)sb.st_size / 1048576, "MB");
	bench_fig("report_html_s", bench_pct(t, NELEM(t), 50), "s");
	return 0;
}

/*
 * The HTML report (issue 15): the fleet with limits set tight (use% from
 * 5 to 98 %, leaks running towards theirs, findings as the analysis would
 * open them) and thirty days of history, then the real CLI renders
 * `ipcfleet report --format html -o FILE` three times against the real
 * aggregator: the file's size and the median wall time (query, reply,
 * rendering, writing).  --report-out keeps the last file.
 */
int
bench_report(struct bench *b)
{
	size_t nhosts = b->query_hosts ? b->query_hosts : b->quick ? 200 : 2000;
	char path[PATH_MAX + 32], out[PATH_MAX + 32], err[1024];
	struct store *st;
	int rc;

	snprintf(path, sizeof(path), "%s/report.db", b->work);
	snprintf(out, sizeof(out), "%s/report.html", b->work);
	bench_note("report: synthesising %zu hosts with %d days of per-minute history", nhosts,
	           HIST_DAYS);
	if ((st = store_open_sqlite(path, err, sizeof(err))) == NULL) {
		bench_fail(b, "report: %s", err);
		return -1;
	}
	rc = query_synth(b, st, 0, nhosts, now_unix(), 1, "report_", 1);
	store_close(st);
	if (rc == -1)
		return -1;
	bench_fig("report_hosts", (double)nhosts, "count");
	if (report_render(b, path, out) == -1)
		return -1;
	if (b->report_out != NULL && rename(out, b->report_out) == -1) {
		bench_fail(b, "report: %s: %s", b->report_out, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The growth section's report: the report section's fleet (thirty days of
 * history) grown in one database to each size in turn, the report rendered
 * at each (figures report_html_mb and report_html_s, named by size).
 */
int
bench_report_growth(struct bench *b, const size_t *sizes, size_t nsizes)
{
	char path[PATH_MAX + 32], out[PATH_MAX + 32], err[1024], sfx[32];
	struct store *st;
	size_t k, done = 0;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/report-growth.db", b->work);
	snprintf(out, sizeof(out), "%s/report-growth.html", b->work);
	for (k = 0; k < nsizes && rc == 0; k++) {
		snprintf(sfx, sizeof(sfx), "_%zuh", sizes[k]);
		bench_fig_names("growth_", sfx);
		bench_note("growth: report of %zu hosts with %d days of per-minute history",
		           sizes[k], HIST_DAYS);
		if ((st = store_open_sqlite(path, err, sizeof(err))) == NULL) {
			bench_fail(b, "growth report: %s", err);
			rc = -1;
			break;
		}
		rc = query_synth(b, st, done, sizes[k], now_unix(), 1, "report_", 1);
		store_close(st);
		if (rc == -1)
			break;
		done = sizes[k];
		rc = report_render(b, path, out);
	}
	bench_fig_names("", "");
	return rc;
}
