/*
 * findings.h: the analysis rules, as pure functions over a snapshot, its
 * history and the findings already open.  No I/O: analysis.c feeds them and
 * stores what they return, and the unit tests call them directly.
 */
#ifndef IPCFLEET_FINDINGS_H
#define IPCFLEET_FINDINGS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

/*
 * What one snapshot may ask of the analysis (issue 18; docs/ANALYSIS.md,
 * "Bounds"), far below what the decoder accepts (10,000 findings, 4,096
 * scopes, 100,000 objects): the aggregator is one thread, and a snapshot's
 * analysis runs on it.  What goes beyond a bound is counted, and one
 * finding per bound says how much was left out and where to see it.
 */
#define FINDINGS_AGENT_MAX    1000 /* agent-reported findings kept per snapshot, worst first */
#define FINDINGS_SCOPES_MAX   256  /* scopes with limits of their own analysed, fullest first */
#define FINDINGS_HEADROOM_MAX 16   /* restart_headroom findings per pool, largest share first */
#define FINDINGS_QUEUES_MAX   256  /* queue_fill findings per snapshot, the fullest first */
#define FINDINGS_PERMS_MAX    256  /* permissions findings per snapshot, warn first */
#define FINDINGS_RCTL_MAX     256  /* thresholds on jails' rctl rules per snapshot, crit first */
#define FINDINGS_REMOVED_MAX  256  /* removed orphans' records kept open per host, newest */
/* What the leak and queue_fill rules follow per snapshot (store_counts()). */
#define COUNTS_OWNERS_MAX 64 /* owners' object counts, the largest */
#define COUNTS_QUEUES_MAX 64 /* queues' messages, the fullest queues */
/* A queue whose last receive is this much older than its last send has no reader. */
#define QUEUE_NO_READER 3600

struct finding_list {
	size_t n, cap;
	struct finding *v;
};
/* Appends a zeroed finding; NULL when MODEL_MAX_FINDINGS is reached. */
struct finding *finding_list_add(struct finding_list *l);
void finding_list_free(struct finding_list *l);

/*
 * A least-squares fit of used over time, kept apart from the history it came
 * from so that a forecast can be evaluated again at a later time and against
 * a new limit (analysis.c fits each host at most once a minute).
 */
struct forecast_model {
	int ok; /* 0: too few points (fewer than 4, or spanning under a minute) */
	long double t0, tm, um, b;
};
void forecast_model_fit(const struct sample *v, size_t n, struct forecast_model *m);
/* forecast_fit()'s verdict from a model: 1 and the time of exhaustion, or 0. */
int forecast_model_eval(const struct forecast_model *m, uint64_t limit, int64_t now,
                        int64_t *exhaust_at, double *per_day);

/* One limit's history, oldest first (the host's pool). */
struct series {
	const char *limit;
	const struct sample *v;
	size_t n;
	const struct forecast_model *model; /* when set, used instead of v and n */
};

struct eval_input {
	const char *host;
	const struct snapshot *s;
	const struct finding *prev; /* findings open before this snapshot */
	size_t nprev;
	int64_t now;
	/* threshold: warn/crit percent for a limit (overrides applied) */
	void (*levels)(void *arg, const char *limit, double *warn, double *crit);
	void *levels_arg;
	double hysteresis; /* points below a level before it clears */
	/* forecast */
	const struct series *series;
	size_t nseries;
	int64_t horizon; /* seconds */
	/* clock */
	int has_skew;
	int64_t skew; /* agent clock minus aggregator clock, seconds */
	int64_t max_skew;
	/* vanished: how long a reported event stays open, seconds */
	int64_t vanished_keep;
	/* leak and queue_fill: the host's count runs (store_counts()), by key then time */
	const struct count_run *runs;
	size_t nruns;
	int64_t leak_window;         /* seconds the growth must span */
	uint64_t leak_min_snapshots; /* snapshots it must span */
	/* orphan: a removed orphan's record stays open so long, seconds (0: not kept) */
	int64_t orphan_keep;
};

/*
 * Every finding the snapshot supports: threshold (with hysteresis against
 * prev), forecast, restart_headroom, the agent's orphan and isolation
 * findings, and clock, within the bounds above.  Returns 0, or -1 when out
 * of memory.
 */
int findings_eval(const struct eval_input *in, struct finding_list *out);
/*
 * findings_ns.c: limits_below_host for scope i of s when it is an IPC
 * namespace whose own limit is below the host's and used at its warn level
 * or more.  findings_eval() calls it for the namespaces it analyses, with s
 * a view of the namespace's objects (scope_groups_view()), so that its cost
 * is that of those objects.  0, or -1 (ENOMEM).
 */
int eval_limits_below_host(const struct eval_input *in, const struct snapshot *s, size_t i,
                           struct finding_list *out);

/*
 * Least-squares fit of used over time.  Returns 1 and the estimated time of
 * exhaustion when usage grows and is still below limit, else 0 (flat or
 * falling, too few points: fewer than 4, or spanning under a minute).
 */
int forecast_fit(const struct sample *v, size_t n, uint64_t limit, int64_t now, int64_t *exhaust_at,
                 double *per_day);

/* Holdings of one consumer (an owner in a scope) in one pool. */
struct consumer {
	uint32_t scope;
	uint32_t uid;
	char owner[MODEL_OWNER_MAX];
	uint64_t semmns, semmni, shmall, shmmni, msgmni;
};
/*
 * The consumers of the pool that model_usage(s, pool) measures, into a
 * malloc'd array, in the order of their first object.  O(objects).
 * Returns 0 or -1 (out of memory).
 */
int consumers_of(const struct snapshot *s, int pool, struct consumer **out, size_t *n);
/* What consumer c holds of the countable limit named limit. */
uint64_t consumer_holds(const struct consumer *c, const char *limit);

#define RECOMMEND_MAX USAGE_MAX

/*
 * Recommendations for the host pool: recommended = max(2 x peak, peak +
 * largest consumer), rounded up to two significant digits, where peak is the
 * larger of peaks[i] (the history's, parallel to model_usage's items; may be
 * NULL) and current use.  Lines follow the host's OS (s->os).
 */
size_t recommend_host(const struct snapshot *s, const uint64_t *peaks, struct recommendation *out,
                      size_t max);
/* Rounds up to two significant digits: 532 -> 540, 28 -> 28, 1234 -> 1300. */
uint64_t round_up_nice(uint64_t v);

/* A host's status from its open findings: "stale", else the worst: "crit" "warn" "ok". */
const char *findings_status(const struct finding *v, size_t n);

#define FINDING_KEY_MAX (2 * MODEL_TEXT_MAX) /* finding_identity() */

/*
 * Findings keyed by identity, each identity computed once: matching a
 * snapshot's findings against the open ones costs O(n), where comparing
 * every pair (rebuilding both identities each time) held the event loop for
 * half a minute with 10,000 findings (issue 18).
 */
struct finding_index {
	size_t n;
	char *keys;      /* n NUL-terminated identities, back to back */
	uint32_t *koff;  /* where each one starts in keys */
	uint32_t *next;  /* the next entry with the same identity, + 1; 0: none */
	uint32_t *slot;  /* hash table: the first entry of an identity, + 1; 0: empty */
	uint32_t *avail; /* per slot: its first entry not taken yet, + 1; 0: none */
	size_t mask;     /* slots - 1 */
};
/* Indexes v[0..n).  0, or -1 when out of memory. */
int finding_index_build(struct finding_index *ix, const struct finding *v, size_t n);
void finding_index_free(struct finding_index *ix);
/* The identity of entry i. */
const char *finding_index_key(const struct finding_index *ix, size_t i);
/* The first entry whose identity is key, taken or not; SIZE_MAX when none. */
size_t finding_index_first(const struct finding_index *ix, const char *key);
/* The first entry with identity key not taken yet, now taken; SIZE_MAX when none. */
size_t finding_index_take(struct finding_index *ix, const char *key);

/*
 * The objects of a snapshot's scopes with limits of their own, grouped by
 * scope, so that each such scope is analysed in the time of its own objects
 * instead of all of them (4,096 scopes x 100,000 objects otherwise).
 */
struct scope_groups {
	struct ipc_object *objects; /* grouped by scope */
	size_t *start;              /* nscopes + 1 offsets: scope i is [start[i], start[i+1]) */
	size_t nscopes;
};
/* 0, or -1 when out of memory. */
int scope_groups_make(const struct snapshot *s, struct scope_groups *g);
void scope_groups_free(struct scope_groups *g);
/*
 * view: s with only the objects of scope i (one with limits of its own),
 * for model_usage(view, i) and consumers_of(view, i).  It shares s's
 * arrays: never snapshot_free() it.
 */
void scope_groups_view(const struct snapshot *s, const struct scope_groups *g, size_t i,
                       struct snapshot *view);

/* What the rules share while they evaluate one snapshot (findings.c). */
struct eval_ctx {
	const struct eval_input *in;
	struct finding_index prev; /* in->prev by identity */
};
/* The previous open finding with the identity of f, or NULL. */
const struct finding *eval_prev(const struct eval_ctx *cx, const struct finding *f);
/*
 * threshold (with hysteresis against the open ones) for each known item of
 * u, the usage of a pool in scope ("" for the host's); rctl: the items are
 * a jail's rctl rules.  0, or -1 when out of memory.
 */
int eval_thresholds_usage(const struct eval_ctx *cx, const struct usage *u, const char *scope,
                          int rctl, struct finding_list *out);
/* "uid 770 (pgsql)" or "uid 770". */
void finding_owner_label(uint32_t uid, const char *owner, char *buf, size_t len);

/*
 * findings_capacity.c (issue 14).  counts_of: what store_counts() is to
 * record for s: the COUNTS_OWNERS_MAX largest owners' object counts per
 * type and scope, and the messages of the COUNTS_QUEUES_MAX fullest queues.
 * malloc'd (NULL when none); 0 or -1.
 */
int counts_of(const struct snapshot *s, struct count_run **out, size_t *n);
/* leak, queue_fill, permissions and the rctl rules' thresholds.  0 or -1. */
int eval_capacity(const struct eval_ctx *cx, struct finding_list *out);
/*
 * An orphan that the agent stops reporting because its object is gone
 * stays open for orphan_keep as a record of what was removed (info, no
 * command).  Call after every other rule.  0 or -1.
 */
int eval_orphans_removed(const struct eval_input *in, struct finding_list *out);
/* The prefix of a removed orphan's message. */
#define ORPHAN_REMOVED "removed by "

/*
 * One step of store_sync_findings(), the same for every backend: store
 * c.f under key as a new open finding (FC_OPENED), update the open one
 * (FC_CHANGED: its severity or message moved), or close it (FC_CLOSED).
 * report: the change goes to logs and notify_command (every opening and
 * closing; an update only when the severity moved: a forecast's message
 * moving alone is not news).
 */
struct finding_step {
	struct finding_change c; /* f as it is to be stored: opened and updated set */
	int report;
	size_t open_at; /* FC_CHANGED, FC_CLOSED: its index in open[]; else SIZE_MAX */
	char key[FINDING_KEY_MAX];
};

/*
 * What turns the stored open findings open[0..nopen) into cur[0..n) at
 * now: findings matched by identity keep their opening time; unchanged ones
 * need no step.  Steps in cur's order, then the closings.  O(n + nopen).
 * Returns 0 with *steps malloc'd (NULL when none), -1 when out of memory.
 */
int findings_plan(const struct finding *cur, size_t n, const struct finding *open, size_t nopen,
                  int64_t now, struct finding_step **steps, size_t *nsteps);
/* The reported changes of steps[0..n), in order, malloc'd (NULL when none).  0 or -1. */
int findings_plan_changes(const struct finding_step *steps, size_t n,
                          struct finding_change **changes, size_t *nchanges);

#endif
