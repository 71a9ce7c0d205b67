/*
 * aggregator.h: the aggregator daemon's internal interfaces.
 *
 * main.c    configuration, start-up, signals
 * server.c  TLS listener and the per-connection state machine
 * query.c   the query dispatcher: one entry per command, reply bodies
 * http.c    plain-HTTP /metrics (Prometheus) and /healthz
 * store*.c  storage (store.h)
 */
#ifndef IPCFLEET_AGGREGATOR_H
#define IPCFLEET_AGGREGATOR_H

#include <stdint.h>
#include <time.h>
#include <openssl/ssl.h>
#include <event2/listener.h>

#include "config.h"
#include "model.h"
#include "proto.h"
#include "store.h"

#define AGG_MAX_OVERRIDES 64
#define AGG_LAT_NBUCKETS  16 /* ingest latency histogram, see agg_lat_bound_us() */

struct threshold_override {
	char limit[MODEL_NAME_MAX];
	uint64_t warn, crit; /* percent; 0 = not overridden */
};

struct agg_config {
	/* [server] */
	char listen[CFG_STR_MAX];
	char cert[CFG_PATH_MAX];
	char key[CFG_PATH_MAX];
	char ca[CFG_PATH_MAX];
	char crl[CFG_PATH_MAX];
	struct cfg_list admins;
	uint64_t max_connections;
	uint64_t handshake_timeout; /* seconds: TLS handshake and hello */
	uint64_t idle_timeout;      /* seconds without a frame */
	uint64_t frame_timeout;     /* seconds: the window over which min_frame_rate is judged */
	uint64_t min_frame_rate;    /* bytes per second a partial frame must keep arriving at */
	uint64_t tls12;             /* 1: also accept TLS 1.2 */
	char user[CFG_STR_MAX];     /* started as root: run as this user once bound; "" stay */
	/* [storage] */
	char backend[CFG_STR_MAX];
	char db_path[CFG_PATH_MAX];
	char url[CFG_STR_MAX];
	/* [http] */
	char http_listen[CFG_STR_MAX];
	/* [thresholds] */
	uint64_t warn, crit;
	uint64_t hysteresis; /* percentage points below a level before it clears */
	size_t noverrides;
	struct threshold_override overrides[AGG_MAX_OVERRIDES];
	/* [host_thresholds]: GLOB = LIMIT.warn=N LIMIT.crit=N warn=N crit=N */
	size_t nhost_overrides;
	struct host_override {
		char glob[MODEL_NAME_MAX];
		struct threshold_override o; /* limit "" = every limit */
	} host_overrides[AGG_MAX_OVERRIDES];
	/* [analysis] */
	uint64_t forecast_window;    /* seconds of history fitted */
	uint64_t forecast_horizon;   /* raise when exhaustion is nearer than this */
	uint64_t max_clock_skew;     /* seconds */
	uint64_t vanished_keep;      /* a vanished finding stays open so long, seconds */
	uint64_t leak_window;        /* a leak's growth spans at least this, seconds */
	uint64_t leak_min_snapshots; /* ... and at least this many snapshots */
	uint64_t orphan_keep;        /* a removed orphan's record stays open so long, seconds */
	uint64_t retention;          /* per-snapshot samples, seconds */
	uint64_t rollup_retention;   /* hourly rollups and closed findings, seconds */
	uint64_t default_interval;   /* for agents that do not say theirs */
	uint64_t check_interval;     /* seconds between stale checks and housekeeping */
	uint64_t stale_grace;        /* after the aggregator could not see (health.c), seconds */
	char notify_command[CFG_PATH_MAX];
	uint64_t notify_timeout; /* seconds before a notify_command is killed */
};

struct agg_stats {
	uint64_t conns_accepted, conns_refused, conns_open;
	uint64_t frames_accepted, frames_rejected;
	uint64_t snapshots_stored, snapshots_duplicate;
	uint64_t snapshots_conflict; /* duplicates whose content differs (store_put.conflict) */
	uint64_t commits_failed;     /* batches the store could not commit (health.c) */
	uint64_t queries;
	/* agents past hello, connection not yet freed (server.c) */
	uint64_t agents_open;
	/*
	 * Ingest latency of snapshots: from the frame being complete in the
	 * input buffer to its ack being queued (decode, store, commit).
	 * lat_bucket[i] counts observations in (bound i-1, bound i] where the
	 * bounds are agg_lat_bound_us(); the last slot is everything above.
	 */
	uint64_t lat_bucket[AGG_LAT_NBUCKETS + 1];
	uint64_t lat_count, lat_sum_us;
};

/* Upper bound of latency bucket i (0 <= i < AGG_LAT_NBUCKETS), in microseconds. */
static inline uint64_t
agg_lat_bound_us(size_t i)
{
	static const uint64_t b[AGG_LAT_NBUCKETS] = {
	    100,   250,    500,    1000,   2500,    5000,    10000,   25000,
	    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000};

	return b[i];
}

/* A monotonic clock in microseconds (for latencies only). */
static inline uint64_t
agg_mono_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Counts one ingest latency of us microseconds. */
static inline void
agg_lat_observe(struct agg_stats *st, uint64_t us)
{
	size_t i;

	for (i = 0; i < AGG_LAT_NBUCKETS && us > agg_lat_bound_us(i); i++)
		;
	st->lat_bucket[i]++;
	st->lat_count++;
	st->lat_sum_us += us;
}

/* health.c: whether the aggregator can see its fleet (commits, its own loop). */
struct agg_health {
	int64_t seeing_since;    /* since then it has been receiving and committing */
	int64_t failing_since;   /* first failed commit of the current run of them; 0: ok */
	int64_t last_commit_ok;  /* 0: none yet */
	uint64_t failed_commits; /* in the current run */
	uint64_t last_tick_mono; /* agg_mono_us() of the previous stale check */
	char reason[256];        /* the last failure's message */
};

struct agg {
	struct agg_config cfg;
	struct agg_health health;
	const char *config_path;
	struct event_base *base;
	SSL_CTX *ssl_ctx;
	struct store *store;
	struct evconnlistener *listener;
	struct agg_stats stats;
	const char *port_file;
	struct notifier *notifier; /* notify.c */
	struct event *tick;        /* analysis.c: staleness and housekeeping */
	struct sample *series_buf; /* analysis.c: histories for forecasts */
};

/* health.c */
void health_init(struct agg *a, int64_t now);
/* The result of one commit of snapshots (ok, or err): logs a change, once. */
void health_commit(struct agg *a, int ok, const char *err, int64_t now);
/* 1 when the last commit worked (or none was tried), else 0 with why. */
int health_storage_ok(const struct agg *a, char *why, size_t whylen);
/*
 * Called by each stale check: notices that the loop did not run (a tick
 * far too late) and returns the time from which silence counts against a
 * host (INT64_MAX while the storage fails: nothing can be seen).
 */
int64_t health_tick(struct agg *a, int64_t now);

/* analysis.c */
/* Warn and crit for one limit of one host: global, per limit, per host glob. */
void agg_host_levels(const struct agg_config *c, const char *host, const char *limit, double *warn,
                     double *crit);
/*
 * Evaluates a host's findings after a snapshot has been committed, stores
 * them (opening, updating and closing) and notifies the changes.  Failures
 * are logged: the snapshot is already safe, so they never block the ack.
 */
void analysis_snapshot(struct agg *a, const struct host_info *hi, const struct snapshot *s,
                       int64_t received, int64_t hello_skew /* INT64_MIN: unknown */);
/* Starts the periodic tick: stale hosts, housekeeping. */
int analysis_start(struct agg *a);
void analysis_stop(struct agg *a);

/*
 * notify.c: runs notify_command, never blocking the caller: one
 * notification per host for the changes c[0..nc) of one analysis, merged
 * into the host's notification still waiting if there is one (fair among
 * hosts: see notify.c).
 */
struct notifier *notify_new(struct agg *a);
void notify_changes(struct agg *a, const char *host, const struct finding_change *c, size_t nc);
/* Analyses whose changes were merged into a notification already waiting. */
uint64_t notify_coalesced(const struct agg *a);
void notify_free(struct notifier *n);

/* main.c */
void agg_config_defaults(struct agg_config *c);
int agg_config_load(const char *path, struct agg_config *c, char *err, size_t errlen);
/* Warn and crit levels (percent) for one limit, overrides applied. */
void agg_thresholds(const struct agg_config *c, const char *limit, double *warn, double *crit);

/* server.c */
int server_start(struct agg *a, char *err, size_t errlen);
/* Writes the port that listening socket fd is bound to into path. */
/*
 * A listener on spec ("HOST:PORT") with its accept and error callbacks;
 * NULL with "LABELlisten SPEC: why" in err.
 */
struct evconnlistener *agg_listen(struct agg *a, const char *label, const char *spec, int backlog,
                                  evconnlistener_cb cb, evconnlistener_errorcb errcb, void *arg,
                                  char *err, size_t errlen);
int write_port_file(const char *path, int fd, char *err, size_t errlen);
void server_stop(struct agg *a);
/*
 * SIGTERM: stops accepting, lets every open connection finish the frames it
 * has completely received (stored, committed, acknowledged), closes them and
 * leaves the event loop once all are closed, or after seconds at most.  A
 * second call leaves the loop at once.
 */
void server_drain(struct agg *a, unsigned seconds);
/*
 * After a reload (a->ssl_ctx and a->cfg replaced): closes, with error code 3,
 * every established connection whose certificate no longer verifies against
 * the new CA and CRL, and admin connections whose CN left admins.
 */
void server_recheck(struct agg *a);

/*
 * query.c: runs one query from an admin connection and appends exactly one
 * reply or error frame to out.  Returns 0, or -1 when out could not be built
 * (the caller closes the connection).
 */
int query_run(struct agg *a, const struct msg_query *q, struct buf *out);

/*
 * http.c: the plain-HTTP monitoring endpoint on [http] listen (GET /metrics
 * in the Prometheus text format, GET /healthz), on a->base.  http_start
 * binds it (and writes the bound port to port_file when not NULL); returns
 * 0, or -1 with err.  http_stop frees it; both are safe when it is not bound.
 */
int http_start(struct agg *a, const char *port_file, char *err, size_t errlen);
void http_stop(struct agg *a);

#endif
