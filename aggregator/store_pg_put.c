/*
 * store_pg_put.c: the PostgreSQL backend's write path (store_pg_local.h).
 * A batch of snapshots is one transaction whose statements are pipelined
 * (libpq's pipeline mode, PG_PIPE_CHUNK snapshots per round trip), its host
 * rows locked in name order; a host row another aggregator holds sets that
 * host aside (busy) instead of failing the batch.  Also the primitives the
 * store core runs one host's findings and count runs with (store_tx, under
 * the host row's lock), and housekeeping under an advisory lock.
 */
#ifdef IPCFLEET_HAVE_LIBPQ

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "buf.h"
#include "findings.h"
#include "log.h"
#include "model.h"
#include "store.h"
#include "store_blocks.h" /* sb_usage_encode(), sb_hour_of(), sb_day_of() */
#include "store_core.h"
#include "store_pg_local.h"
#include "util.h"

/* the batch's wait for a host row another session holds, and its tries */
#define PG_PUT_LOCK_WAIT "1s"
#define PG_PUT_ROUNDS    4

/* ---- a batch of snapshots ---- */

/*
 * The parameters of a snapshot's two statements (PG_UPSERT_HOST into up,
 * PG_PUT_SAMPLES into wr).  -1 with err for a snapshot that cannot be stored.
 */
static int
pg_put_params(struct pg_store *q, const struct store_put *e, struct pg_params *up,
              struct pg_params *wr, struct buf *usage, char *err, size_t errlen)
{
	const struct host_info *hi = e->hi;
	const struct snapshot *s = e->s;
	uint8_t digest[STORE_DIGEST_LEN];
	struct usage u;

	if (store_put_check(q->label, hi, e->raw, e->rawlen, digest, err, errlen) == -1)
		return -1;
	model_usage(s, -1, &u);
	memset(up, 0, sizeof(*up));
	pg_p_text(up, hi->name, sizeof(hi->name));
	pg_p_text(up, hi->os, sizeof(hi->os));
	pg_p_text(up, hi->os_release, sizeof(hi->os_release));
	pg_p_text(up, hi->agent, sizeof(hi->agent));
	pg_p_i64(up, hi->page_size);
	pg_p_i64(up, hi->boot_time);
	pg_p_i64(up, hi->interval);
	pg_p_u64(up, s->seq);
	pg_p_i64(up, s->taken);
	pg_p_i64(up, e->received);
	pg_p_bytea(up, e->raw, e->rawlen);
	buf_reset(usage);
	if (sb_usage_encode(&u, usage) == -1) {
		snprintf(err, errlen, "%s: snapshot of %s: cannot encode its usage", q->label,
		         hi->name);
		return -1;
	}
	pg_p_bytea(up, (const uint8_t *)usage->data, usage->len);
	pg_p_text(up, hi->spool, sizeof(hi->spool));
	memset(wr, 0, sizeof(*wr));
	pg_p_text(wr, hi->name, sizeof(hi->name));
	pg_p_u64(wr, s->seq);
	pg_p_i64(wr, s->taken);
	pg_p_i64(wr, e->received);
	pg_p_i64(wr, sb_hour_of(s->taken));
	pg_p_usage(wr, &u);
	pg_p_text(wr, hi->spool, sizeof(hi->spool));
	pg_p_bytea_copy(wr, digest, sizeof(digest));
	if (up->bad || wr->bad) {
		snprintf(err, errlen, "%s: snapshot of %s: a value is too long or not text",
		         q->label, hi->name);
		return -1;
	}
	return 0;
}

/* Snapshots per round trip of a batch: bounds what either side has queued. */
#define PG_PIPE_CHUNK 64

/* How reading a pipelined statement's result went. */
enum pg_pipe { PIPE_OK, PIPE_FAILED, PIPE_LOST };

/*
 * Reads one pipelined statement's result: one row whose first column goes
 * to *v (the upsert's id, the write's count) and, when v2 is not NULL, its
 * second to *v2, then the NULL that ends it.
 * A statement skipped after an earlier failure (aborted) fails without
 * touching err, which keeps the first error.  PIPE_LOST when the
 * connection broke or the results are out of step with what was sent.
 */
static enum pg_pipe
pg_pipe_result(struct pg_store *q, const char *what, int64_t *v, int64_t *v2, int *locked,
               char *err, size_t errlen)
{
	PGresult *r = PQgetResult(q->conn), *end;
	enum pg_pipe rc = PIPE_OK;
	const char *state;

	if (r == NULL) {
		pg_fail(q, what, NULL, err, errlen);
		return PIPE_LOST;
	}
	if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED)
		rc = PIPE_FAILED;
	else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pg_fail(q, what, r, err, errlen);
		/* 55P03 lock_not_available: lock_timeout, another session holds the row */
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (state != NULL && strcmp(state, "55P03") == 0)
			*locked = 1;
		rc = PIPE_FAILED;
	} else if (PQntuples(r) != 1 || pg_col_i64(r, 0, 0, v) == -1 ||
	           (v2 != NULL && pg_col_i64(r, 0, 1, v2) == -1)) {
		snprintf(err, errlen, "%s: %s: unexpected result", q->label, what);
		rc = PIPE_FAILED;
	}
	PQclear(r);
	if ((end = PQgetResult(q->conn)) != NULL) {
		PQclear(end);
		snprintf(err, errlen, "%s: %s: more results than statements", q->label, what);
		return PIPE_LOST;
	}
	return rc;
}

/*
 * Sends the statements of v[0..n) in libpq's pipeline mode (inside the
 * open transaction), PG_PIPE_CHUNK snapshots per round trip, and reads their
 * results in order; sets each duplicate.  -1 with err (the first error): the
 * caller rolls back.  A connection left out of step is reset.
 */
static int
pg_put_pipelined(struct pg_store *q, struct store_put **v, size_t n, size_t *locked, char *err,
                 size_t errlen)
{
	struct pg_params up, wr;
	struct buf usage; /* the one being sent: libpq copies it as it is sent */
	char up_name[32], wr_name[32];
	size_t i, k, m, sent;
	int failed = 0;
	enum pg_pipe st = PIPE_OK;

	snprintf(up_name, sizeof(up_name), "ipcfleet_%d", PG_UPSERT_HOST);
	snprintf(wr_name, sizeof(wr_name), "ipcfleet_%d", PG_PUT_SAMPLES);
	if (PQenterPipelineMode(q->conn) != 1)
		return pg_fail(q, "storing snapshots (pipeline mode)", NULL, err, errlen);
	buf_init(&usage, 4096);
	for (i = 0; i < n && !failed && st != PIPE_LOST; i += m) {
		PGresult *r;

		m = n - i < PG_PIPE_CHUNK ? n - i : PG_PIPE_CHUNK;
		for (sent = 0; sent < m; sent++) {
			if (pg_put_params(q, v[i + sent], &up, &wr, &usage, err, errlen) == -1) {
				failed = 1; /* nothing of it sent: the ones before are read below */
				break;
			}
			if (PQsendQueryPrepared(q->conn, up_name, up.n, up.v, up.len, up.fmt, 1) !=
			        1 ||
			    PQsendQueryPrepared(q->conn, wr_name, wr.n, wr.v, wr.len, wr.fmt, 1) !=
			        1) {
				pg_fail(q, "storing snapshots", NULL, err, errlen);
				st = PIPE_LOST;
				break;
			}
		}
		if (st == PIPE_LOST || PQpipelineSync(q->conn) != 1) {
			if (st != PIPE_LOST)
				pg_fail(q, "storing snapshots", NULL, err, errlen);
			st = PIPE_LOST;
			break;
		}
		/* every statement sent has a result, aborted ones included */
		for (k = 0; k < sent && st != PIPE_LOST; k++) {
			int64_t id, stored = -1, differs = -1;
			int lk = 0;
			enum pg_pipe a = pg_pipe_result(q, "storing host", &id, NULL, &lk, err,
			                                errlen),
			             b;

			if (a == PIPE_LOST) {
				st = PIPE_LOST;
				break;
			}
			b = pg_pipe_result(q, "storing samples", &stored, &differs, &lk, err,
			                   errlen);
			if (lk && *locked == SIZE_MAX)
				*locked = i + k;
			if (b == PIPE_LOST)
				st = PIPE_LOST;
			else if (a != PIPE_OK || b != PIPE_OK || stored < 0 || stored > 1 ||
			         differs < 0 || differs > 1)
				failed = 1;
			else {
				v[i + k]->duplicate = stored == 0;
				v[i + k]->conflict = stored == 0 && differs == 1;
			}
		}
		if (st == PIPE_LOST)
			break;
		if ((r = PQgetResult(q->conn)) == NULL ||
		    PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
			pg_fail(q, "storing snapshots", r, err, errlen);
			PQclear(r);
			st = PIPE_LOST;
			break;
		}
		PQclear(r);
	}
	buf_free(&usage);
	if (st != PIPE_LOST && PQexitPipelineMode(q->conn) != 1) {
		pg_fail(q, "storing snapshots (leaving pipeline mode)", NULL, err, errlen);
		st = PIPE_LOST;
	}
	if (st == PIPE_LOST) {
		/*
		 * Out of step with the server, or cut off: drop the session; the
		 * next operation reconnects (pg_exec) with a fresh one.
		 */
		char scratch[256];

		(void)pg_reconnect(q, scratch, sizeof(scratch));
		return -1;
	}
	return failed ? -1 : 0;
}

/* Orders a batch's entries by host name; ties (one host) as they were received. */
static int
pg_put_cmp(const void *a, const void *b)
{
	const struct store_put *x = *(const struct store_put *const *)a;
	const struct store_put *y = *(const struct store_put *const *)b;
	int c = strcmp(x->hi->name, y->hi->name);

	return c != 0 ? c : (x > y) - (x < y);
}

/*
 * A peer aggregator stopped in the middle of its batch holds host rows.
 * The server's idle_in_transaction_session_timeout (10 s, pg_session_sql)
 * ends such a session only when it stopped after a pipeline's Sync: one
 * stopped while its statements were still arriving (the server executed
 * half a pipeline and waits for the rest) shows as active, waiting on
 * ClientRead, and keeps its rows until it is continued.  So when a batch
 * finds rows held, this ends, at most every PG_REAP_EVERY_MS, the sessions
 * of other aggregators (by application_name) that have been inside a
 * transaction and waiting on their client for PG_STUCK: what the server's
 * timeout does, for both ways of waiting.  Our transactions never wait on
 * their client for long (a batch's pipeline is sent at once); a migration
 * or housekeeping works in the server, not waiting on the client.  A role
 * may end its own sessions; if it may not, the log says so.
 */
#define PG_STUCK         "10 s"
#define PG_REAP_EVERY_MS 2000

static void
pg_reap_stuck(struct pg_store *q)
{
	static const char sql[] =
	    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
	    " WHERE pid <> pg_backend_pid() AND datname = current_database()"
	    " AND application_name = 'ipcfleet-aggregator' AND xact_start IS NOT NULL"
	    " AND wait_event_type = 'Client' AND wait_event IN ('ClientRead', 'ClientWrite')"
	    " AND state_change < now() - interval '" PG_STUCK "'";
	char err[512];
	PGresult *r;
	int64_t n = 0;
	uint64_t now = now_mono_ms();

	if (q->reaped_at != 0 && now - q->reaped_at < PG_REAP_EVERY_MS)
		return;
	q->reaped_at = now;
	r = pg_exec(q, 0, sql, NULL, PGRES_TUPLES_OK, 0, "ending stuck sessions", err, sizeof(err));
	if (r == NULL) {
		log_warnx("%s", err);
		return;
	}
	if (PQntuples(r) == 1 && pg_col_i64(r, 0, 0, &n) == 0 && n > 0)
		log_warnx("%s: ended %lld session(s) of another aggregator, inside a transaction "
		          "and waiting on its client for " PG_STUCK
		          " (stopped?), holding host rows",
		          q->label, (long long)n);
	PQclear(r);
}

/*
 * Group commit: the whole batch in one transaction, one WAL flush.  The host
 * rows are locked in name order, so two aggregators committing batches that
 * share hosts (an agent failing over in the middle of a stream) wait for
 * each other instead of deadlocking; a host's snapshots keep their order.
 */
int
pg_put_snapshots(struct store *st, struct store_put *v, size_t n, char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct store_put **order;
	size_t i, j, m, locked, round;

	for (i = 0; i < n; i++)
		v[i].duplicate = v[i].conflict = v[i].busy = 0;
	if (n == 0)
		return 0;
	if (n > SIZE_MAX / sizeof(*order) || (order = malloc(n * sizeof(*order))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", q->label);
		return -1;
	}
	for (i = 0; i < n; i++)
		order[i] = &v[i];
	qsort(order, n, sizeof(*order), pg_put_cmp);
	/*
	 * A host row another aggregator holds (it is stopped in the middle of
	 * its batch, or slow) fails its host only: the lock wait is short, the
	 * batch is tried again without that host's snapshots (busy: not
	 * stored, not acknowledged), at most PG_PUT_ROUNDS times.
	 */
	for (m = n, round = 0;; round++) {
		locked = SIZE_MAX;
		if (m == 0)
			break;
		if (pg_begin(q, "BEGIN", err, errlen) == -1 ||
		    pg_cmd(q, 0, "SET LOCAL lock_timeout = '" PG_PUT_LOCK_WAIT "'", NULL, 0,
		           "lock_timeout", err, errlen) == -1)
			goto failed;
		if (pg_put_pipelined(q, order, m, &locked, err, errlen) == 0 &&
		    pg_commit(q, err, errlen) == 0)
			break;
		pg_rollback(q);
		for (i = 0; i < m; i++)
			order[i]->duplicate = order[i]->conflict = 0;
		if (locked == SIZE_MAX || round + 1 == PG_PUT_ROUNDS)
			goto failed;
		/* set that host's snapshots aside: they are next to each other */
		for (i = locked;
		     i > 0 && strcmp(order[i - 1]->hi->name, order[locked]->hi->name) == 0; i--)
			;
		for (j = i; j < m && strcmp(order[j]->hi->name, order[locked]->hi->name) == 0; j++)
			order[j]->busy = 1;
		memmove(&order[i], &order[j], (m - j) * sizeof(*order));
		m -= j - i;
	}
	free(order);
	if (m < n) /* some set aside: their rows are held elsewhere */
		pg_reap_stuck(q);
	return 0;
failed:
	pg_rollback(q);
	for (i = 0; i < n; i++)
		v[i].duplicate = v[i].conflict = v[i].busy = 0;
	free(order);
	return -1;
}

/* One snapshot: a batch of one. */
int
pg_put_snapshot(struct store *st, const struct host_info *hi, const struct snapshot *s,
                const uint8_t *raw, size_t rawlen, int64_t received, int *duplicate, char *err,
                size_t errlen)
{
	struct store_put e = {.hi = hi, .s = s, .raw = raw, .rawlen = rawlen, .received = received};
	int rc = pg_put_snapshots(st, &e, 1, err, errlen);

	*duplicate = rc == 0 && e.duplicate;
	return rc;
}

/* ---- one host's transactions, as the store core runs them (store_core.h) ---- */

/*
 * The host row is locked first (SELECT ... FOR UPDATE): a second aggregator
 * syncing or counting the same host waits for this commit, then sees its
 * result.
 */
static int
pg_tx_begin(struct store *st, const char *host, int64_t *id, char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;
	PGresult *r;
	int ret = 0;

	if (pg_begin(q, "BEGIN", err, errlen) == -1)
		return -1;
	memset(&p, 0, sizeof(p));
	pg_p_text(&p, host, MODEL_NAME_MAX);
	if ((r = pg_exec(q, PG_HOST_LOCK, NULL, &p, PGRES_TUPLES_OK, 0, "reading host", err,
	                 errlen)) == NULL)
		return -1;
	if (PQntuples(r) == 0)
		ret = 1;
	else if (PQntuples(r) != 1 || pg_col_i64(r, 0, 0, id) == -1) {
		snprintf(err, errlen, "%s: hosts: bad id of %s", q->label, host);
		ret = -1;
	}
	PQclear(r);
	return ret;
}

static int
pg_tx_commit(struct store *st, char *err, size_t errlen)
{
	return pg_commit(st->impl, err, errlen);
}

static void
pg_tx_rollback(struct store *st)
{
	pg_rollback(st->impl);
}

static int
pg_tx_load_open(struct store *st, int64_t id, struct finding **open, int64_t **rowid, size_t *n,
                char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;

	memset(&p, 0, sizeof(p));
	pg_p_i64(&p, id);
	pg_p_i64(&p, MODEL_MAX_FINDINGS);
	return pg_read_findings(q, PG_FINDINGS_OPEN, &p, 0, open, rowid, n, err, errlen);
}

static int
pg_tx_apply(struct store *st, int64_t id, const struct finding_step *sp, int64_t rowid, int64_t now,
            char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;
	const char *what;
	int stmt;

	switch (sp->c.what) {
	case FC_OPENED:
		pg_p_finding(&p, id, sp->key, &sp->c.f, now);
		stmt = PG_FINDING_INSERT;
		what = "opening a finding";
		break;
	case FC_CHANGED:
		pg_p_finding_update(&p, id, sp->key, &sp->c.f, now, rowid);
		stmt = PG_FINDING_UPDATE;
		what = "updating a finding";
		break;
	default:
		memset(&p, 0, sizeof(p));
		pg_p_i64(&p, id);
		pg_p_text(&p, sp->key, sizeof(sp->key));
		pg_p_i64(&p, now);
		pg_p_i64(&p, rowid);
		stmt = PG_FINDING_CLOSE;
		what = "closing a finding";
		break;
	}
	return pg_cmd(q, stmt, NULL, &p, 0, what, err, errlen);
}

static int
pg_tx_counts_get(struct store *st, int64_t id, struct buf *blob, char *err, size_t errlen)
{
	struct pg_store *q = st->impl;
	struct pg_params p;
	PGresult *r;
	int ret = 1;

	memset(&p, 0, sizeof(p));
	pg_p_i64(&p, id);
	if ((r = pg_exec(q, PG_COUNTS_GET, NULL, &p, PGRES_TUPLES_OK, 0, "reading counts", err,
	                 errlen)) == NULL)
		return -1;
	/* not a bytea, or larger than any runs encode to: none (the core starts again) */
	if (PQntuples(r) == 1 && pg_col_ok(r, 0, 0, PG_BYTEAOID) &&
	    (size_t)PQgetlength(r, 0, 0) <= blob->max) {
		ret = 0;
		if (buf_append(blob, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0)) == -1) {
			snprintf(err, errlen, "%s: counts: out of memory", q->label);
			ret = -1;
		}
	}
	PQclear(r);
	return ret;
}

static int
pg_tx_counts_put(struct store *st, int64_t id, const struct buf *blob, char *err, size_t errlen)
{
	struct pg_params p;

	memset(&p, 0, sizeof(p));
	pg_p_i64(&p, id);
	pg_p_bytea(&p, (const uint8_t *)blob->data, blob->len);
	return pg_cmd(st->impl, PG_COUNTS_PUT, NULL, &p, 0, "storing counts", err, errlen);
}

static const char *
pg_tx_label(const struct store *st)
{
	const struct pg_store *q = st->impl;

	return q->label;
}

const struct store_tx pg_tx_ops = {
    .label = pg_tx_label,
    .begin = pg_tx_begin,
    .commit = pg_tx_commit,
    .rollback = pg_tx_rollback,
    .clean = pg_finding_clean,
    .load_open = pg_tx_load_open,
    .apply = pg_tx_apply,
    .counts_get = pg_tx_counts_get,
    .counts_put = pg_tx_counts_put,
};

/* ---- housekeeping ---- */

/* Rows a command affected (PQcmdTuples), -1 when unreadable. */
static int64_t
pg_affected(const PGresult *r)
{
	const char *errstr;
	int64_t n;

	if (parse_i64(PQcmdTuples((PGresult *)r), 0, INT64_MAX, &n, &errstr) == -1)
		return -1;
	return n;
}

/*
 * Deletes old rows in batches, like sq_housekeep(), in one short
 * transaction, and only in the aggregator that holds the transaction-level
 * advisory lock: the others skip (0, nothing deleted) and try again at
 * their next tick.
 */
int
pg_housekeep(struct store *st, int64_t keep_samples, int64_t keep_rollups, size_t batch,
             size_t *deleted, char *err, size_t errlen)
{
	static const int del[] = {PG_DELETE_SAMPLES,        PG_DELETE_ROLLUPS,
	                          PG_DELETE_FINDINGS,       PG_DELETE_RECEIVED,
	                          PG_DELETE_FUTURE_SAMPLES, PG_DELETE_FUTURE_ROLLUPS};
	struct pg_store *q = st->impl;
	struct pg_params p;
	PGresult *r;
	size_t i, total = 0;
	int got;

	*deleted = 0;
	if (pg_begin(q, "BEGIN", err, errlen) == -1)
		return -1;
	if (pg_one_bool(q, PG_HOUSEKEEP_TRY, NULL, "housekeeping", "bad answer to the lock", &got,
	                err, errlen) == -1)
		goto failed;
	if (got) {
		for (i = 0; i < NELEM(del); i++) {
			int64_t n;

			memset(&p, 0, sizeof(p));
			/*
			 * Samples go by whole hours, as SQLite's blocks do (one may
			 * outlive keep_samples by up to an hour): an hour's rollup
			 * then counts all of its stored samples or none, which is
			 * what a replaced sample's rollup is computed from (the
			 * contract test); rollups by whole days, as SQLite's (a
			 * day's rollups all there or none).  Received sequences
			 * only need to outlive resends: kept like samples.
			 */
			pg_p_i64(&p, del[i] == PG_DELETE_FUTURE_SAMPLES ||
			                     del[i] == PG_DELETE_FUTURE_ROLLUPS
			                 ? now_unix() + STORE_FUTURE_MAX
			             : del[i] == PG_DELETE_SAMPLES  ? sb_hour_of(keep_samples)
			             : del[i] == PG_DELETE_ROLLUPS  ? sb_day_of(keep_rollups)
			             : del[i] == PG_DELETE_RECEIVED ? keep_samples
			                                            : keep_rollups);
			pg_p_i64(&p, batch > INT64_MAX ? INT64_MAX : (int64_t)batch);
			if ((r = pg_exec(q, del[i], NULL, &p, PGRES_COMMAND_OK, 0, "housekeeping",
			                 err, errlen)) == NULL)
				goto failed;
			n = pg_affected(r);
			PQclear(r);
			if (n > 0)
				total += (size_t)n;
		}
	}
	if (pg_commit_or_rollback(q, err, errlen) == -1)
		return -1;
	*deleted = total;
	return 0;
failed:
	pg_rollback(q);
	return -1;
}

#endif /* IPCFLEET_HAVE_LIBPQ */
