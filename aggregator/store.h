/*
 * store.h: the storage interface of the aggregator.
 *
 * Callers use the store_* functions; a backend (store_sqlite.c, the
 * embedded default, or store_pg.c for several aggregators sharing one
 * PostgreSQL database) fills a struct store_ops.  Every write is one
 * transaction, and store_put_snapshot() returns only after the commit, so the
 * caller may acknowledge the snapshot when it returns 0.
 */
#ifndef IPCFLEET_STORE_H
#define IPCFLEET_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "model.h"

#define STORE_SPOOL_MAX  33 /* a spool id: 32 hex digits (PROTO_SPOOL_ID_HEX) */
#define STORE_DIGEST_LEN 32 /* SHA-256 of a snapshot's payload */

/* What the aggregator knows of a host besides its latest snapshot. */
struct host_info {
	char name[MODEL_NAME_MAX]; /* certificate CN */
	char os[MODEL_NAME_MAX];
	char os_release[MODEL_NAME_MAX];
	char agent[MODEL_NAME_MAX];
	uint32_t page_size;
	int64_t boot_time;
	uint32_t interval; /* seconds between the agent's snapshots; 0 unknown */
	/*
	 * The agent's spool identity (hello "spool"); "" is the legacy one of
	 * agents that do not say.  Sequence numbers count within a spool: a
	 * snapshot is identified by (host, spool, seq).
	 */
	char spool[STORE_SPOOL_MAX];
};

/* A host as stored: info, times, and its latest snapshot's raw payload. */
struct stored_host {
	struct host_info info;
	uint64_t last_seq;
	int64_t last_taken;    /* agent clock of the latest snapshot */
	int64_t last_received; /* aggregator clock when it arrived */
	uint8_t *raw;          /* msgpack payload of the latest snapshot (malloc'd) */
	size_t rawlen;
};
void stored_host_free(struct stored_host *h);

/* One sample of one limit. */
struct sample {
	int64_t t;
	uint64_t used, limit;
};

/* One hourly rollup bucket of one limit. */
struct rollup {
	int64_t hour; /* start of the hour, Unix seconds */
	uint64_t min, max, limit;
	double mean;
	uint64_t count;
};

/*
 * What the leak and queue_fill rules follow from snapshot to snapshot
 * (docs/ANALYSIS.md, "Leaks"): an owner's objects of one type in a scope,
 * or a queue's messages.  Kept as runs: consecutive snapshots with the
 * same value are one run.
 */
enum count_what { CW_SHM = IPC_SHM, CW_SEM = IPC_SEM, CW_MSG = IPC_MSG, CW_QNUM = 3 };
struct count_run {
	char scope[MODEL_NAME_MAX]; /* scope id */
	int32_t what;               /* enum count_what */
	int64_t id;                 /* the owner's uid (CW_SHM..CW_MSG), the queue's id (CW_QNUM) */
	int64_t first, last;        /* agent times of the run's first and last snapshot */
	uint64_t value;             /* objects, or messages */
	uint64_t snapshots;         /* snapshots in the run */
	int cont; /* 1: the key was counted in the snapshot before the run's first */
};
#define COUNT_RUNS_MAX 4096 /* runs kept per host, the newest */

/* A change of a finding, for logs and notify_command. */
enum change_what { FC_OPENED, FC_CHANGED, FC_CLOSED };
struct finding_change {
	enum change_what what;
	enum severity previous; /* FC_CHANGED: the severity before */
	struct finding f;       /* as it is now (closed: as it was) */
};

/*
 * One snapshot of a batch (store_put_snapshots).  The pointers are the
 * caller's and need only live until the call returns.
 */
struct store_put {
	const struct host_info *hi;
	const struct snapshot *s;
	const uint8_t *raw;
	size_t rawlen;
	int64_t received;
	int duplicate; /* out: (host, spool, seq) stored before, in an earlier batch or this one */
	/*
	 * out: a duplicate whose payload differs from the one stored under that
	 * (host, spool, seq) (its SHA-256 is kept with the received record;
	 * rows from before schema 4 / PostgreSQL 3 have none and never conflict)
	 */
	int conflict;
	/*
	 * out: not stored, and not to be acknowledged, although the call
	 * returned 0: its host's row was held by another aggregator for longer
	 * than the batch waits (PostgreSQL; the others of the batch are stored)
	 */
	int busy;
};

/* The digest kept with each received record: 0, or -1 when OpenSSL fails. */
static inline int
store_digest(const uint8_t *raw, size_t rawlen, uint8_t out[STORE_DIGEST_LEN])
{
	unsigned int n = 0;

	return EVP_Digest(raw, rawlen, out, &n, EVP_sha256(), NULL) == 1 && n == STORE_DIGEST_LEN
	           ? 0
	           : -1;
}

/*
 * A host as the `hosts` query lists it, without decoding its snapshot: what
 * the store keeps beside the snapshot.  usage.v[i].name points into names[]:
 * the struct is valid only as it is handed to the callback, not as a copy.
 */
struct host_summary {
	struct host_info info;
	int64_t last_received;
	int has_snapshot;
	int has_status;     /* 0: not known (the caller derives it from the open findings) */
	char status[8];     /* "ok" "warn" "crit" "stale": findings_status() of the open ones */
	int has_usage;      /* 0: not known (the caller decodes the snapshot) */
	struct usage usage; /* model_usage(latest snapshot, -1) */
	char names[USAGE_MAX][MODEL_NAME_MAX];
};

/* Bulk history of one limit: used[i] and limit[i] at the times given beside. */
struct store_history {
	const char *limit;
	const uint64_t *used, *limit_value;
};

struct store;
struct store_tx;

/*
 * Housekeeping removes samples and rollups dated more than this ahead of
 * the clock: they would sit in the future of every series, never reach
 * retention, and block the host's newer hours.  The server files no
 * snapshot more than max_clock_skew (at most 1 day) ahead (server.c,
 * handle_snapshot), so such rows come from before it checked.
 */
#define STORE_FUTURE_MAX (2 * 86400)

/*
 * The signature of each operation, so that a backend declares its
 * functions as `store_series_fn sq_series;` and the compiler holds them to
 * the interface (their comments are at the fields of struct store_ops).
 */
typedef int store_put_snapshot_fn(struct store *st, const struct host_info *hi,
                                  const struct snapshot *s, const uint8_t *raw, size_t rawlen,
                                  int64_t received, int *duplicate, char *err, size_t errlen);
typedef int store_each_host_fn(struct store *st, const char *after, uint32_t limit,
                               int (*fn)(void *arg, const struct stored_host *h), void *arg,
                               char *err, size_t errlen);
typedef int store_get_host_fn(struct store *st, const char *name, struct stored_host *out,
                              char *err, size_t errlen);
typedef int store_series_fn(struct store *st, const char *host, const char *limit, int64_t t0,
                            struct sample *out, size_t max, size_t *n, char *err, size_t errlen);
typedef int store_rollups_fn(struct store *st, const char *host, const char *limit, int64_t t0,
                             struct rollup *out, size_t max, size_t *n, char *err, size_t errlen);
typedef int store_open_findings_fn(struct store *st, const char *host, struct finding **out,
                                   size_t *n, char *err, size_t errlen);
typedef int store_sync_findings_fn(struct store *st, const char *host, const struct finding *cur,
                                   size_t n, int64_t now, struct finding_change **changes,
                                   size_t *nchanges, char *err, size_t errlen);
typedef int store_each_open_finding_fn(struct store *st,
                                       int (*fn)(void *arg, const char *host,
                                                 const struct finding *f),
                                       void *arg, char *err, size_t errlen);
typedef int store_counts_fn(struct store *st, const char *host, int64_t t,
                            const struct count_run *cur, size_t n, int64_t keep,
                            struct count_run **runs, size_t *nruns, char *err, size_t errlen);
typedef int store_housekeep_fn(struct store *st, int64_t keep_samples, int64_t keep_rollups,
                               size_t batch, size_t *deleted, char *err, size_t errlen);
typedef int store_put_snapshots_fn(struct store *st, struct store_put *v, size_t n, char *err,
                                   size_t errlen);
typedef int store_each_host_summary_fn(struct store *st, const char *after, uint32_t limit,
                                       int (*fn)(void *arg, const struct host_summary *h),
                                       void *arg, char *err, size_t errlen);
typedef int store_put_history_fn(struct store *st, const char *host, const int64_t *t, size_t n,
                                 const struct store_history *h, size_t nh, int64_t samples_from,
                                 char *err, size_t errlen);
typedef int store_peaks_fn(struct store *st, const char *host, int64_t t0, const char *const *names,
                           size_t n, uint64_t *out, char *err, size_t errlen);
typedef int store_daily_peaks_fn(struct store *st, const char *host, const char *limit, int64_t t0,
                                 uint64_t *out, int *have, size_t ndays, char *err, size_t errlen);

struct store_ops {
	const char *name;
	store_put_snapshot_fn *put_snapshot;
	/*
	 * Calls fn once per host, sorted by name; fn returning non-zero stops.
	 * Only the hosts after `after` and at most limit of them, as
	 * each_host_summary (NULL, 0: every host).
	 */
	store_each_host_fn *each_host;
	/* 0 found, 1 unknown host, -1 error. */
	store_get_host_fn *get_host;
	/* Samples of one limit since t0, oldest first, at most max. */
	store_series_fn *series;
	/* Hourly rollups since t0, oldest first, at most max. */
	store_rollups_fn *rollups;
	/* Open findings of host into a malloc'd array (caller frees). */
	store_open_findings_fn *open_findings;
	/*
	 * Makes the open findings of host equal to cur[0..n): opens new ones,
	 * updates changed ones, closes those no longer present, in one
	 * transaction.  The changes come back in a malloc'd array.
	 */
	store_sync_findings_fn *sync_findings;
	/* Calls fn for every open finding of the fleet, worst first, then oldest. */
	store_each_open_finding_fn *each_open_finding;
	/*
	 * Adds the counts cur[0..n) seen at t (value each; the other fields but
	 * the key are ignored) to the host's runs, in one transaction: a key's
	 * run that ended at the host's previous counted snapshot and has the
	 * same value grows, anything else starts a run; runs that ended before
	 * keep go, and at most COUNT_RUNS_MAX stay (the oldest go).  A t not
	 * after the previous one changes nothing.  The host's runs come back
	 * by key then time, malloc'd (NULL when none).
	 */
	store_counts_fn *counts;
	/* Deletes at most batch samples older than keep_samples and rollups and
	 * closed findings older than keep_rollups, and samples and rollups
	 * dated more than STORE_FUTURE_MAX ahead of now; *deleted says how many. */
	store_housekeep_fn *housekeep;
	void (*close)(struct store *st);

	/*
	 * Optional operations: a backend may leave them NULL and the wrappers
	 * below (or the caller) fall back on the ones above.
	 */
	/*
	 * Group commit: stores v[0..n) in ONE transaction and returns 0 after
	 * its commit, each v[i].duplicate and conflict set; a (host, spool,
	 * seq) twice in the batch is stored once; v[i].busy: that one was set
	 * aside, not stored.  -1: nothing of the batch is stored.
	 */
	store_put_snapshots_fn *put_snapshots;
	/*
	 * Like each_host, with host_summary instead of the snapshot; only the
	 * hosts whose names sort after `after` (NULL or "": from the first),
	 * and at most limit of them (0: all).  Names sort as the backend's
	 * ORDER BY name does, and the same order decides "after": a page ends
	 * at a name, the next page starts past it.
	 */
	store_each_host_summary_fn *each_host_summary;
	/*
	 * Bulk load for tests and benchmarks (the store's ingest path would take
	 * hours for a fleet's month): the samples of nh limits of a known host
	 * at the n times t[0..n), ascending, and the hourly rollups they make,
	 * in one transaction; samples before samples_from only go into the
	 * rollups, as housekeeping would have left them.  The host must have
	 * no samples or rollups in those hours yet.
	 */
	store_put_history_fn *put_history;
	/*
	 * The largest used of each limit names[0..n) in the hourly rollups
	 * since t0 (0 when none), without reading every rollup back: what
	 * recommendations need for a whole fleet's report.
	 */
	store_peaks_fn *peaks;
	/*
	 * The largest used of limit on each of ndays days from t0 (a day's
	 * start, UTC): out[d], have[d] 0 for a day without figures; from the
	 * daily peaks, not every rollup (the report's sparklines, issue 15).
	 * NULL where a backend keeps none: the report folds the rollups.
	 */
	store_daily_peaks_fn *daily_peaks;
	/*
	 * A group of the analysis's writes (issue 17): between group_begin and
	 * group_end, the transactions of counts and sync_findings (and the
	 * reads between them) run inside one transaction of the backend, each
	 * as a savepoint, so that a batch of snapshots takes the database's
	 * locks and runs its checks once, not once per snapshot.  What a
	 * failed savepoint wrote is undone alone; group_end commits the rest
	 * (-1 with err: none of it is kept).  Only the event loop's one thread
	 * uses the store, so nothing else runs inside a group.  NULL where a
	 * backend commits each transaction as it comes.
	 */
	int (*group_begin)(struct store *st, char *err, size_t errlen);
	int (*group_end)(struct store *st, char *err, size_t errlen);

	/*
	 * The backend's primitives for the store core (store_core.h), whose
	 * store_core_sync_findings() and store_core_counts() the backend lists
	 * as its sync_findings and counts.
	 */
	const struct store_tx *tx;
};

struct store {
	const struct store_ops *ops;
	void *impl;
};

/*
 * Both backends bring the schema up to date when they open (a versioned
 * list of migrations, applied in one transaction; meta.schema_version
 * records the result) and refuse a database from a newer aggregator.
 */

/* Opens the SQLite backend at path (created 0600, WAL). NULL with err. */
struct store *store_open_sqlite(const char *path, char *err, size_t errlen);
/* For tests: the SQL of the SQLite store's i-th housekeeping statement, NULL past the last. */
const char *store_sqlite_housekeep_sql(size_t i);

/*
 * Opens the PostgreSQL backend: url is a libpq connection string or URI
 * ("postgresql://user@host/db").  NULL with err (never the password).
 */
struct store *store_open_pg(const char *url, char *err, size_t errlen);

/* Opens the backend named by [storage] backend: "sqlite" (path) or "postgresql" (url). */
static inline struct store *
store_open(const char *backend, const char *path, const char *url, char *err, size_t errlen)
{
	if (strcmp(backend, "sqlite") == 0)
		return store_open_sqlite(path, err, errlen);
	if (strcmp(backend, "postgresql") == 0)
		return store_open_pg(url, err, errlen);
	snprintf(err, errlen, "unknown storage backend '%s' (sqlite or postgresql)", backend);
	return NULL;
}

static inline int
store_put_snapshot(struct store *st, const struct host_info *hi, const struct snapshot *s,
                   const uint8_t *raw, size_t rawlen, int64_t received, int *duplicate, char *err,
                   size_t errlen)
{
	return st->ops->put_snapshot(st, hi, s, raw, rawlen, received, duplicate, err, errlen);
}

/*
 * A backend without put_snapshots stores them one transaction each: on a
 * failure some of the batch may be stored.  None is acknowledged then, and
 * what the agents send again is recognised as a duplicate.
 */
static inline int
store_put_snapshots(struct store *st, struct store_put *v, size_t n, char *err, size_t errlen)
{
	size_t i;

	if (st->ops->put_snapshots != NULL)
		return st->ops->put_snapshots(st, v, n, err, errlen);
	for (i = 0; i < n; i++) {
		v[i].conflict = v[i].busy = 0; /* not known without put_snapshots */
		if (st->ops->put_snapshot(st, v[i].hi, v[i].s, v[i].raw, v[i].rawlen, v[i].received,
		                          &v[i].duplicate, err, errlen) == -1)
			return -1;
	}
	return 0;
}

static inline int
store_put_history(struct store *st, const char *host, const int64_t *t, size_t n,
                  const struct store_history *h, size_t nh, int64_t samples_from, char *err,
                  size_t errlen)
{
	if (st->ops->put_history == NULL) {
		snprintf(err, errlen, "%s: no bulk history load", st->ops->name);
		return -1;
	}
	return st->ops->put_history(st, host, t, n, h, nh, samples_from, err, errlen);
}

static inline int
store_each_host(struct store *st, int (*fn)(void *arg, const struct stored_host *h), void *arg,
                char *err, size_t errlen)
{
	return st->ops->each_host(st, NULL, 0, fn, arg, err, errlen);
}

/* A page of each_host: the hosts after `after` (NULL: from the first), at most limit. */
static inline int
store_each_host_page(struct store *st, const char *after, uint32_t limit,
                     int (*fn)(void *arg, const struct stored_host *h), void *arg, char *err,
                     size_t errlen)
{
	return st->ops->each_host(st, after, limit, fn, arg, err, errlen);
}

static inline int
store_get_host(struct store *st, const char *name, struct stored_host *out, char *err,
               size_t errlen)
{
	return st->ops->get_host(st, name, out, err, errlen);
}

static inline int
store_series(struct store *st, const char *host, const char *limit, int64_t t0, struct sample *out,
             size_t max, size_t *n, char *err, size_t errlen)
{
	return st->ops->series(st, host, limit, t0, out, max, n, err, errlen);
}

static inline int
store_rollups(struct store *st, const char *host, const char *limit, int64_t t0, struct rollup *out,
              size_t max, size_t *n, char *err, size_t errlen)
{
	return st->ops->rollups(st, host, limit, t0, out, max, n, err, errlen);
}

static inline int
store_open_findings(struct store *st, const char *host, struct finding **out, size_t *n, char *err,
                    size_t errlen)
{
	return st->ops->open_findings(st, host, out, n, err, errlen);
}

static inline int
store_sync_findings(struct store *st, const char *host, const struct finding *cur, size_t n,
                    int64_t now, struct finding_change **changes, size_t *nchanges, char *err,
                    size_t errlen)
{
	return st->ops->sync_findings(st, host, cur, n, now, changes, nchanges, err, errlen);
}

static inline int
store_each_open_finding(struct store *st,
                        int (*fn)(void *arg, const char *host, const struct finding *f), void *arg,
                        char *err, size_t errlen)
{
	return st->ops->each_open_finding(st, fn, arg, err, errlen);
}

static inline int
store_counts(struct store *st, const char *host, int64_t t, const struct count_run *cur, size_t n,
             int64_t keep, struct count_run **runs, size_t *nruns, char *err, size_t errlen)
{
	return st->ops->counts(st, host, t, cur, n, keep, runs, nruns, err, errlen);
}

static inline int
store_housekeep(struct store *st, int64_t keep_samples, int64_t keep_rollups, size_t batch,
                size_t *deleted, char *err, size_t errlen)
{
	return st->ops->housekeep(st, keep_samples, keep_rollups, batch, deleted, err, errlen);
}

/* Starts a group of the analysis's writes (store_ops.group_begin); 0 where there are none. */
static inline int
store_group_begin(struct store *st, char *err, size_t errlen)
{
	return st->ops->group_begin != NULL ? st->ops->group_begin(st, err, errlen) : 0;
}

/* Commits the group (store_ops.group_end); 0 where there are none. */
static inline int
store_group_end(struct store *st, char *err, size_t errlen)
{
	return st->ops->group_end != NULL ? st->ops->group_end(st, err, errlen) : 0;
}

static inline void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

#endif
