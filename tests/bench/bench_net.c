/*
 * bench_net.c: the figures that need many agents on the network, simulated
 * in this process by the load generator's engine (tests/loadgen/lgcore.c)
 * against the real aggregator:
 *
 *   ingest  persistent agents sending faster than the aggregator takes:
 *           snapshots acknowledged per second once every agent is connected,
 *           and the aggregator's CPU time per snapshot in the same window
 *           (pg: the same with the store on PostgreSQL, and the server's
 *           CPU time, summed over every process named "postgres")
 *   conns   idle agents (hello, then nothing): the aggregator's resident
 *           memory per connection; then every agent drops its connection
 *           and all reconnect at once: the aggregator's CPU time until all
 *           are back (full ECDSA P-256 mutual TLS handshakes plus hello)
 *
 * The aggregator's CPU time and memory come from /proc/PID; when a run is
 * complete comes from its /metrics.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "lgcore.h"

/* ---- ingest ---- */

struct ingest_ctx {
	const struct agg_proc *agg;
	int pg;                /* also the PostgreSQL server's CPU time */
	double cpu0, cpu1;     /* the aggregator's */
	double pgcpu0, pgcpu1; /* every "postgres" process's */
	int steady, ended;
};

static void
ingest_event(struct lg *lg, enum lg_event ev, void *arg)
{
	struct ingest_ctx *ic = arg;

	if (ev == LG_EV_STEADY && !ic->steady) {
		ic->steady = 1;
		ic->cpu0 = bench_proc_cpu(ic->agg->pid);
		if (ic->pg)
			ic->pgcpu0 = bench_comm_cpu("postgres");
	} else if (ev == LG_EV_RUN_END && !ic->ended) {
		ic->ended = 1;
		ic->cpu1 = bench_proc_cpu(ic->agg->pid);
		if (ic->pg)
			ic->pgcpu1 = bench_comm_cpu("postgres");
		/* what is still queued is over capacity: not waited for */
		lg_stop(lg);
	}
}

/*
 * The ingest figures with the store at db (a SQLite path or a postgresql://
 * URL), named with the prefix pfx.
 */
static int
ingest_run(struct bench *b, const char *tag, const char *db, const char *pfx)
{
	struct ingest_ctx ic;
	struct agg_proc agg;
	struct lg_opts o;
	struct lg *lg;
	char server[64], cacert[PATH_MAX + 16], cakey[PATH_MAX + 16];
	double secs, rate;
	uint64_t acked;

	memset(&ic, 0, sizeof(ic));
	ic.pg = strncmp(db, "postgresql://", 13) == 0;
	if (bench_agg_start(b, &agg, tag, db, 20000, NULL) == -1) {
		bench_fail(b, "%s: the aggregator did not start", tag);
		return -1;
	}
	snprintf(server, sizeof(server), "localhost:%d", agg.port);
	snprintf(cacert, sizeof(cacert), "%s/ca.crt", b->pki);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", b->pki);
	ic.agg = &agg;
	lg_opts_defaults(&o);
	o.nagents = b->ingest_agents ? b->ingest_agents : b->quick ? 200 : 1000;
	/*
	 * 40 snapshots a second per agent: the aggregator's per-connection
	 * rate limit (server.c AGENT_RATE), so the offered load (40,000/s for
	 * 1,000 agents) is above what two cores can take and the figure is
	 * the aggregator's capacity, not the offer.
	 */
	o.interval_ms = 25;
	o.duration_ms = b->ingest_seconds ? b->ingest_seconds * 1000ull : b->quick ? 8000 : 45000;
	o.steady_after_ms = b->quick ? 3000 : 8000;
	if (o.steady_after_ms * 2 > o.duration_ms)
		o.steady_after_ms = o.duration_ms / 2;
	o.connect_rate = 500;
	o.drain_ms = 0;
	o.nobjects = b->ingest_objects; /* 0: the realistic 40 */
	o.prefix = "ingest";
	o.ca_cert_path = cacert;
	o.ca_key_path = cakey;
	o.server = server;
	o.on_event = ingest_event;
	o.arg = &ic;
	bench_note("%s: %zu agents, %zu objects each, %.0f snapshots/s offered, %.0f s", tag,
	           o.nagents, o.nobjects ? o.nobjects : 40,
	           (double)o.nagents * 1000 / (double)o.interval_ms, (double)o.duration_ms / 1000);
	lg = lg_new(&o);
	lg_run(lg);
	acked = lg_acked_steady(lg);
	secs = lg_steady_seconds(lg);
	rate = secs > 0 ? (double)acked / secs : 0;
	bench_figp(pfx, "ingest_agents", (double)o.nagents, "count");
	bench_figp(pfx, "ingest_objects", (double)(o.nobjects ? o.nobjects : 40), "count");
	bench_figp(pfx, "ingest_snapshots_per_s", rate, "1/s");
	if (acked > 0 && ic.cpu0 >= 0 && ic.cpu1 >= ic.cpu0)
		bench_figp(pfx, "ingest_cpu_us_per_snapshot",
		           (ic.cpu1 - ic.cpu0) * 1e6 / (double)acked, "us");
	if (secs > 0 && ic.cpu0 >= 0 && ic.cpu1 >= ic.cpu0)
		bench_figp(pfx, "ingest_aggregator_cpu_share", (ic.cpu1 - ic.cpu0) / secs, "cores");
	if (ic.pg && acked > 0 && ic.pgcpu0 >= 0 && ic.pgcpu1 >= ic.pgcpu0)
		bench_figp(pfx, "ingest_server_cpu_us_per_snapshot",
		           (ic.pgcpu1 - ic.pgcpu0) * 1e6 / (double)acked, "us");
	/* no acknowledgement in the steady part: its latency is unknown, not 0 */
	if (lg_steady_latency_ms(lg, 0.50) >= 0) {
		bench_figp(pfx, "ingest_ack_p50_ms", lg_steady_latency_ms(lg, 0.50), "ms");
		bench_figp(pfx, "ingest_ack_p99_ms", lg_steady_latency_ms(lg, 0.99), "ms");
	} else {
		char why[128];

		/* an aggregator far behind (a loaded machine): acks of older ones only */
		snprintf(why, sizeof(why),
		         "no snapshot sent after the first %.0f s was acknowledged within the run",
		         (double)o.steady_after_ms / 1000);
		bench_figp_unknown(pfx, "ingest_ack_p50_ms", why);
		bench_figp_unknown(pfx, "ingest_ack_p99_ms", why);
	}
	bench_figp(pfx, "ingest_errors", (double)lg_errors(lg), "count");
	if (lg_errors(lg) > 0)
		bench_note("%s: %llu errors (see above and %s)", tag,
		           (unsigned long long)lg_errors(lg), agg.log);
	lg_free(lg);
	bench_agg_stop(&agg);
	return 0;
}

int
bench_ingest(struct bench *b)
{
	char db[PATH_MAX + 16];

	/* a database of its own per size: the same hosts' earlier sequences would be duplicates */
	if (b->ingest_objects == 0)
		snprintf(db, sizeof(db), "%s/ingest.db", b->work);
	else
		snprintf(db, sizeof(db), "%s/ingest-%zuobj.db", b->work, b->ingest_objects);
	return ingest_run(b, "ingest", db, "");
}

/* The same load with the store on PostgreSQL: the aggregator's and the server's CPU. */
int
bench_pg_ingest(struct bench *b)
{
	return ingest_run(b, "pg-ingest", b->pg_url, "pg_");
}

/* ---- two aggregators on one PostgreSQL database ---- */

struct pair_side {
	struct bench *b;
	struct agg_proc agg;
	struct ingest_ctx ic;
	struct lg *lg;
	char server[64], cacert[PATH_MAX + 16], cakey[PATH_MAX + 16];
	const char *prefix;
	size_t nagents;
};

static void *
pair_run(void *arg)
{
	struct pair_side *ps = arg;

	lg_run(ps->lg);
	return NULL;
}

/*
 * The scale-out case: two aggregators on the same database, each with half
 * of the ingest section's agents (their own hosts), both loads at once in
 * two threads.  Figures: snapshots per second acknowledged by both, and the
 * CPU per snapshot of the aggregators and of the server.
 */
int
bench_pg_ingest2(struct bench *b)
{
	struct pair_side side[2];
	size_t total = b->ingest_agents ? b->ingest_agents : b->quick ? 200 : 1000, i;
	double rate = 0, aggcpu = 0, pg0 = -1, pg1 = -1, secs = 0;
	uint64_t acked = 0, errors = 0;
	pthread_t th[2];
	int rc = 0, started = 0;

	memset(side, 0, sizeof(side));
	for (i = 0; i < 2; i++) {
		struct pair_side *ps = &side[i];
		struct lg_opts o;

		ps->b = b;
		ps->prefix = i == 0 ? "pairA" : "pairB";
		ps->nagents = total / 2 + (i == 0 ? total % 2 : 0);
		if (bench_agg_start(b, &ps->agg, i == 0 ? "pg-pair-a" : "pg-pair-b", b->pg_url,
		                    20000, NULL) == -1) {
			bench_fail(b, "pg-pair: an aggregator did not start");
			rc = -1;
			goto out;
		}
		snprintf(ps->server, sizeof(ps->server), "localhost:%d", ps->agg.port);
		snprintf(ps->cacert, sizeof(ps->cacert), "%s/ca.crt", b->pki);
		snprintf(ps->cakey, sizeof(ps->cakey), "%s/ca.key", b->pki);
		ps->ic.agg = &ps->agg;
		ps->ic.pg = i == 0; /* the server's CPU over the first side's window */
		lg_opts_defaults(&o);
		o.nagents = ps->nagents;
		o.interval_ms = 25;
		o.duration_ms = b->ingest_seconds ? b->ingest_seconds * 1000ull
		                : b->quick        ? 8000
		                                  : 45000;
		o.steady_after_ms = b->quick ? 3000 : 8000;
		if (o.steady_after_ms * 2 > o.duration_ms)
			o.steady_after_ms = o.duration_ms / 2;
		o.connect_rate = 250;
		o.drain_ms = 0;
		o.prefix = ps->prefix;
		o.ca_cert_path = ps->cacert;
		o.ca_key_path = ps->cakey;
		o.server = ps->server;
		o.on_event = ingest_event;
		o.arg = &ps->ic;
		ps->lg = lg_new(&o);
	}
	bench_note("pg-pair: two aggregators on one database, %zu agents each", side[0].nagents);
	for (i = 0; i < 2; i++)
		if (pthread_create(&th[i], NULL, pair_run, &side[i]) == 0)
			started |= 1 << i;
	for (i = 0; i < 2; i++)
		if (started & (1 << i))
			pthread_join(th[i], NULL);
	if (started != 3) {
		bench_fail(b, "pg-pair: cannot start a thread");
		rc = -1;
		goto out;
	}
	for (i = 0; i < 2; i++) {
		struct pair_side *ps = &side[i];
		uint64_t a = lg_acked_steady(ps->lg);
		double s = lg_steady_seconds(ps->lg);

		acked += a;
		errors += lg_errors(ps->lg);
		rate += s > 0 ? (double)a / s : 0;
		if (ps->ic.cpu0 >= 0 && ps->ic.cpu1 >= ps->ic.cpu0)
			aggcpu += ps->ic.cpu1 - ps->ic.cpu0;
		if (i == 0) {
			pg0 = ps->ic.pgcpu0;
			pg1 = ps->ic.pgcpu1;
			secs = s;
		}
	}
	bench_fig("pg_pair_agents", (double)total, "count");
	bench_fig("pg_pair_snapshots_per_s", rate, "1/s");
	if (acked > 0) {
		bench_fig("pg_pair_cpu_us_per_snapshot", aggcpu * 1e6 / (double)acked, "us");
		if (pg0 >= 0 && pg1 >= pg0 && secs > 0)
			bench_fig("pg_pair_server_cpu_us_per_snapshot",
			          (pg1 - pg0) * 1e6 / (rate * secs), "us");
	}
	bench_fig("pg_pair_errors", (double)errors, "count");
out:
	for (i = 0; i < 2; i++) {
		if (side[i].lg != NULL)
			lg_free(side[i].lg);
		bench_agg_stop(&side[i].agg);
	}
	return rc;
}

/* ---- idle connections and the reconnect storm ---- */

enum conns_phase { CP_CONNECT, CP_SETTLE, CP_CLOSING, CP_STORM, CP_DONE };

struct conns_ctx {
	struct bench *b;
	const struct agg_proc *agg;
	size_t n;
	enum conns_phase phase;
	double deadline, settle_until;
	long rss0, rss1;
	double cpu0, cpu1, t0, t1;
	int ok_rss, ok_storm;
};

static int
metric_is(const struct agg_proc *a, const char *name, double want)
{
	double v;

	return bench_metric(a, name, &v) == 0 && v == want;
}

static void
conns_tick(struct lg *lg, void *arg)
{
	struct conns_ctx *cc = arg;
	double now = bench_now();

	switch (cc->phase) {
	case CP_CONNECT:
		if (lg_ready(lg) == cc->n &&
		    metric_is(cc->agg, "ipcfleet_connected_agents", (double)cc->n)) {
			/* let the last handshakes' transient buffers go */
			cc->phase = CP_SETTLE;
			cc->settle_until = now + 2;
		} else if (now > cc->deadline) {
			bench_note("conns: only %zu of %zu agents connected in time", lg_ready(lg),
			           cc->n);
			cc->phase = CP_DONE;
			lg_stop(lg);
		}
		break;
	case CP_SETTLE:
		if (now < cc->settle_until)
			break;
		cc->rss1 = bench_proc_rss_kb(cc->agg->pid);
		cc->ok_rss = cc->rss1 > 0;
		lg_close_all(lg);
		cc->phase = CP_CLOSING;
		cc->deadline = now + 60;
		break;
	case CP_CLOSING:
		if (metric_is(cc->agg, "ipcfleet_connections_open", 0)) {
			/* every connection is gone: now all of them come back at once */
			cc->cpu0 = bench_proc_cpu(cc->agg->pid);
			cc->t0 = bench_now();
			lg_connect_all(lg);
			cc->phase = CP_STORM;
			cc->deadline = now + 300;
		} else if (now > cc->deadline) {
			bench_note("conns: connections still open 60 s after closing them");
			cc->phase = CP_DONE;
			lg_stop(lg);
		}
		break;
	case CP_STORM:
		if (metric_is(cc->agg, "ipcfleet_connected_agents", (double)cc->n)) {
			cc->cpu1 = bench_proc_cpu(cc->agg->pid);
			cc->t1 = bench_now();
			cc->ok_storm = cc->cpu0 >= 0 && cc->cpu1 >= cc->cpu0;
			cc->phase = CP_DONE;
			lg_stop(lg);
		} else if (now > cc->deadline) {
			bench_note("conns: the storm did not complete in 300 s");
			cc->phase = CP_DONE;
			lg_stop(lg);
		}
		break;
	case CP_DONE:
		break;
	}
}

int
bench_conns(struct bench *b)
{
	struct conns_ctx cc;
	struct agg_proc agg;
	struct lg_opts o;
	struct lg *lg;
	char db[PATH_MAX + 16], server[64], cacert[PATH_MAX + 16], cakey[PATH_MAX + 16];
	int rc = 0;

	memset(&cc, 0, sizeof(cc));
	cc.b = b;
	cc.n = b->conns ? b->conns : b->quick ? 1000 : 10000;
	snprintf(db, sizeof(db), "%s/conns.db", b->work);
	/* idle agents must stay: the idle timeout is above the whole run */
	if (bench_agg_start(b, &agg, "conns", db, (unsigned)cc.n + 100,
	                    "[server]\nidle_timeout = 1h\nhandshake_timeout = 60s\n") == -1) {
		bench_fail(b, "conns: the aggregator did not start");
		return -1;
	}
	cc.agg = &agg;
	usleep(300000);
	cc.rss0 = bench_proc_rss_kb(agg.pid);
	snprintf(server, sizeof(server), "localhost:%d", agg.port);
	snprintf(cacert, sizeof(cacert), "%s/ca.crt", b->pki);
	snprintf(cakey, sizeof(cakey), "%s/ca.key", b->pki);
	lg_opts_defaults(&o);
	o.nagents = cc.n;
	o.idle = 1;
	o.connect_rate = 2000;
	o.duration_ms = 3600 * 1000; /* the hook ends the run */
	o.drain_ms = 0;
	o.prefix = "idle";
	o.ca_cert_path = cacert;
	o.ca_key_path = cakey;
	o.server = server;
	o.on_tick = conns_tick;
	o.tick_ms = 100;
	o.arg = &cc;
	bench_note("conns: %zu idle agents, then all of them reconnecting at once", cc.n);
	lg = lg_new(&o);
	cc.phase = CP_CONNECT;
	cc.deadline = bench_now() + 300;
	lg_run(lg);
	bench_fig("conn_agents", (double)cc.n, "count");
	if (cc.ok_rss && cc.rss0 > 0)
		bench_fig("conn_rss_kb_per_conn", (double)(cc.rss1 - cc.rss0) / (double)cc.n, "kB");
	else
		rc = -1;
	if (cc.ok_storm) {
		bench_fig("handshake_storm_s", cc.cpu1 - cc.cpu0, "s");
		bench_fig("handshake_storm_wall_s", cc.t1 - cc.t0, "s");
		bench_fig("handshake_storm_cpu_us_per_conn",
		          (cc.cpu1 - cc.cpu0) * 1e6 / (double)cc.n, "us");
	} else
		rc = -1;
	bench_fig("conn_connect_failures", (double)lg_connect_failures(lg), "count");
	if (rc == -1)
		bench_fail(b, "conns: incomplete (see %s)", agg.log);
	lg_free(lg);
	bench_agg_stop(&agg);
	return rc;
}
