/*
 * bench.h: the benchmark harness ipcfleet-bench (docs/BENCHMARKS.md).
 *
 * bench.c        options, the work directory, the order of the sections
 * bench_util.c   figures, child processes, the aggregator, /proc, /metrics
 * bench_store.c  storage and query figures (a synthetic fleet in the store)
 * bench_net.c    ingest, idle connections and the handshake storm (lgcore)
 * bench_agent.c  the agent on 1,000 objects beside ipcs and lsipc
 * bench_analysis.c  one agent's 10,000 findings against the aggregator's thread
 * bench_growth.c the growth section: how the figures grow with the sizes
 *
 * The pg section runs the query and ingest figures again with the store on
 * PostgreSQL (--pg-url; tests/bench/pg.sh makes a throwaway cluster).
 */
#ifndef IPCFLEET_BENCH_H
#define IPCFLEET_BENCH_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct bench {
	int quick;
	int keep;              /* keep the work directory */
	const char *only;      /* comma separated sections, NULL: all */
	const char *pg_url;    /* --pg-url: an empty PostgreSQL database for the pg section */
	char bindir[PATH_MAX]; /* where ipcfleet-aggregator and ipcfleet-agent are */
	char srcdir[PATH_MAX]; /* the source tree: deploy/pki/ipcfleet-pki */
	char work[1024];       /* private temporary directory */
	char pki[1100];        /* work/pki: CA, server "localhost", admin "admin" */
	int failed;            /* a section could not run */
	/* sizes given on the command line (0: the mode's default) */
	size_t query_hosts, ingest_agents, conns;
	unsigned ingest_seconds;
	size_t ingest_objects;    /* objects per ingested snapshot (0: 40) */
	size_t busy_procs;        /* processes of the busy section (0: 2,000) */
	const char *growth_parts; /* --growth-parts: the growth section's parts, NULL: all */
	const char *report_out;   /* --report-out: where the report section keeps its HTML */
};

/* A running ipcfleet-aggregator. */
struct agg_proc {
	pid_t pid;
	int port, http_port;
	char conf[PATH_MAX];
	char log[PATH_MAX];
};

/* bench_util.c */
/*
 * 0 when every name of the comma separated list is one of names[0..n);
 * else -1, and *bad, *badlen the first that is not.
 */
int bench_list_valid(const char *list, const char *const *names, size_t n, const char **bad,
                     size_t *badlen);
/* Prints one figure: "name=value unit" on stdout. */
void bench_fig(const char *name, double value, const char *unit);
/* The same, the name prefixed with pfx ("" or "pg_"). */
void bench_figp(const char *pfx, const char *name, double value, const char *unit);
/*
 * A figure that could not be measured, never printed as a number:
 * "name=unknown why" on stdout (the name prefixed with pfx).
 */
void bench_figp_unknown(const char *pfx, const char *name, const char *why);
/*
 * From now on, every figure's name is pfx + name + sfx (the growth section
 * runs other sections' code at its sizes: "growth_" and "_400obj"); ("", "")
 * restores the plain names.
 */
void bench_fig_names(const char *pfx, const char *sfx);
/* A line on stderr, prefixed "ipcfleet-bench: ". */
void bench_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Marks the run failed, says why. */
void bench_fail(struct bench *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Monotonic clock. */
double bench_now(void);
/* Runs argv (argv[0] a path) with stdout and stderr to /dev/null or a file; exit status. */
int bench_run(char *const argv[], const char *out);
/* Makes an agent certificate NAME in the work PKI. */
int bench_pki_agent(struct bench *b, const char *name);
/*
 * Starts the aggregator on db (a SQLite path, or a postgresql:// URL) with
 * [server] max_connections and extra
 * configuration lines (may be NULL); waits for its ports.  0 or -1.
 */
int bench_agg_start(struct bench *b, struct agg_proc *a, const char *tag, const char *db,
                    unsigned max_conns, const char *extra);
/* SIGTERM, then waits (SIGKILL after 10 s). */
void bench_agg_stop(struct agg_proc *a);
/* CPU seconds (user + system) of a process, -1 when unknown. */
double bench_proc_cpu(pid_t pid);
/* CPU seconds of every process whose command name is comm (e.g. "postgres"). */
double bench_comm_cpu(const char *comm);
/* VmRSS / VmHWM in kB, -1 when unknown. */
long bench_proc_rss_kb(pid_t pid);
long bench_proc_hwm_kb(pid_t pid);
/* RssAnon in kB: resident memory that is the process's own (no shared library pages). */
long bench_proc_anon_kb(pid_t pid);
/* Proportional set size (/proc/PID/smaps_rollup Pss), kB; -1 when unknown. */
long bench_proc_pss_kb(pid_t pid);
/* Reads one metric's value from the aggregator's /metrics; 0 or -1. */
int bench_metric(const struct agg_proc *a, const char *name, double *v);
/* Percentile p (0..100) of v[0..n), sorting v. */
double bench_pct(double *v, size_t n, double p);
/* Raises RLIMIT_NOFILE to its hard limit. */
void bench_raise_nofile(void);

/* The sections; each prints its figures, and returns -1 when it could not run. */
int bench_storage(struct bench *b);
int bench_query(struct bench *b);
int bench_ingest(struct bench *b);
int bench_conns(struct bench *b);
int bench_agent(struct bench *b);
int bench_agent_busy(struct bench *b);
int bench_analysis(struct bench *b);
int bench_report(struct bench *b);
int bench_growth(struct bench *b);
/* 0 when every name in the comma separated list is a part of the growth section. */
int bench_growth_parts_valid(const char *list);
/* The growth section's parts (bench_store.c): hosts and host, then the report, per size. */
int bench_query_growth(struct bench *b, const size_t *sizes, size_t nsizes);
int bench_report_growth(struct bench *b, const size_t *sizes, size_t nsizes);
/* The pg section's parts (bench_store.c, bench_net.c). */
int bench_pg_query(struct bench *b);
int bench_pg_ingest(struct bench *b);
int bench_pg_ingest2(struct bench *b);

#endif
