/*
 * model.h: the snapshot model shared by the agent, the aggregator and the CLI.
 *
 * A snapshot is what one agent saw at one moment: the kernel's IPC limits,
 * every IPC object, and the scopes (the host itself, jails, IPC namespaces)
 * the objects belong to.  Usage (how much of each limit is taken) is never
 * sent on the wire: it is derived from the objects by model_usage(), the one
 * place where kernel accounting rules live.
 */
#ifndef IPCFLEET_MODEL_H
#define IPCFLEET_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* Hard bounds: every count from a file or the wire is checked against these. */
#define MODEL_MAX_LIMITS   64
#define MODEL_MAX_SCOPES   4096
#define MODEL_MAX_OBJECTS  100000 /* Linux: at most 3 x 32768 ids */
#define MODEL_NAME_MAX     64     /* limit names, scope ids and names, incl. NUL */
#define MODEL_TEXT_MAX     256
#define MODEL_OWNER_MAX    33 /* user names, incl. NUL */
#define MODEL_MAX_FINDINGS 10000
#define MODEL_MAX_UNKNOWN  32  /* figures a snapshot may call unknown */
#define MODEL_CGROUP_MAX   256 /* a scope's cgroup path, incl. NUL */

enum ipc_type { IPC_SHM = 0, IPC_SEM = 1, IPC_MSG = 2 };

enum scope_kind { SCOPE_HOST = 0, SCOPE_JAIL = 1, SCOPE_IPCNS = 2 };

/* Per-scope isolation of one IPC type, as FreeBSD's sysvshm/sysvsem/sysvmsg. */
enum isolation { ISO_UNKNOWN = 0, ISO_NEW, ISO_INHERIT, ISO_DISABLE };

/*
 * FreeBSD RCTL (kern.racct.enable=1): the SysV IPC resources a jail is
 * accounted for, by rctl(8)'s names.  A jail's deny rules on them are
 * per-jail limits inside the host's pools.
 */
enum rctl_res {
	RCTL_NSEM = 0,   /* semaphores */
	RCTL_NSEMOP,     /* semaphores one semop(2) may touch (a per-call cap, no usage) */
	RCTL_NSHM,       /* shared memory segments */
	RCTL_SHMSIZE,    /* bytes of shared memory */
	RCTL_NMSGQ,      /* message queues */
	RCTL_MSGQQUEUED, /* queued messages */
	RCTL_MSGQSIZE,   /* bytes in message queues */
	RCTL_COUNT
};
struct scope_rctl {
	uint32_t has_used;          /* bits 1 << enum rctl_res: used[] read (rctl -u jail:NAME) */
	uint32_t has_limit;         /* bits: a deny rule jail:NAME:RES:deny=N is in limit[] */
	uint64_t used[RCTL_COUNT];  /* the kernel's accounting of the jail */
	uint64_t limit[RCTL_COUNT]; /* the smallest such rule's amount */
};

struct ipc_limit {
	char name[MODEL_NAME_MAX]; /* lowercase kernel name: "semmns" */
	uint64_t value;
};

struct ipc_limits {
	size_t n;
	struct ipc_limit v[MODEL_MAX_LIMITS];
};

struct ipc_scope {
	char id[MODEL_NAME_MAX];   /* "host", "jail:NAME", "ipcns:INODE" */
	char name[MODEL_NAME_MAX]; /* what a person calls it */
	enum scope_kind kind;
	enum isolation iso[3]; /* indexed by enum ipc_type */
	int own_limits;        /* 1: limits below are this scope's own pool */
	/* why this scope's objects could not all be read ("" when they were):
	 * every usage figure of the scope is then unknown */
	char unknown[MODEL_TEXT_MAX];
	/* with own_limits: why some of them could not be read ("" when all
	 * were); a limit missing from limits below is then unknown, not none */
	char limits_unknown[MODEL_TEXT_MAX];
	/* Linux IPC namespaces: the cgroup path of the process the scope is
	 * named after ("" when not known), and how many processes it has
	 * (0: not counted) */
	char cgroup[MODEL_CGROUP_MAX];
	uint32_t processes;
	/* FreeBSD jails with racct: their accounting and deny rules (all 0 else) */
	struct scope_rctl rctl;
	/* Last, and only its first limits.n entries are set: snapshot_add_scope
	 * zeroes the rest of the scope but not the 4.5 KB of unused entries,
	 * which a host of 200 namespaces would write every snapshot. */
	struct ipc_limits limits;
};

/*
 * Fields of an object that the collector could not read (ipc_object.unknown).
 * Their value in the object is 0 and means nothing: views show null, and
 * whatever needs them (accounting, orphans) treats them as unknown.  The
 * names are the object's JSON keys.
 */
enum obj_field {
	OF_SIZE = 1u << 0,
	OF_NATTCH = 1u << 1,
	OF_CPID = 1u << 2,
	OF_LPID = 1u << 3,
	OF_ATIME = 1u << 4,
	OF_DTIME = 1u << 5,
	OF_RSS = 1u << 6,
	OF_SWAP = 1u << 7,
	OF_NSEMS = 1u << 8,
	OF_OTIME = 1u << 9,
	OF_CBYTES = 1u << 10,
	OF_QNUM = 1u << 11,
	OF_QBYTES = 1u << 12,
	OF_LSPID = 1u << 13,
	OF_LRPID = 1u << 14,
	OF_STIME = 1u << 15,
	OF_RTIME = 1u << 16,
	OF_CTIME = 1u << 17,
};
#define OF_COUNT 18

/*
 * One IPC object.  Times are Unix seconds, 0 meaning "never".  Fields that do
 * not apply to the object's type are 0.
 */
struct ipc_object {
	enum ipc_type type;
	int64_t id;
	int64_t key;
	uint32_t mode; /* permission bits, plus SHM_DEST/SHM_LOCKED style flags */
	uint32_t uid, gid, cuid, cgid;
	uint32_t scope; /* index into snapshot.scopes */
	/* shm */
	uint64_t size, nattch;
	int64_t cpid, lpid;
	int64_t atime, dtime;
	uint64_t rss, swap; /* Linux only, 0 when the kernel does not say */
	/* sem */
	uint64_t nsems;
	int64_t otime;
	/* msg */
	uint64_t cbytes, qnum, qbytes;
	int64_t lspid, lrpid;
	int64_t stime, rtime;
	/* all */
	int64_t ctime;
	char owner[MODEL_OWNER_MAX]; /* uid's name where the collector knows it, else "" */
	uint32_t unknown;            /* enum obj_field bits: fields not read */
};

/*
 * A figure of the host that the agent could not read (unknown is never
 * zero): the used figure of a usage entry ("semmns": the sum of nsems), or
 * a limit's value, and why.
 */
enum unknown_figure { UNK_USED = 0, UNK_LIMIT = 1 };
struct unknown {
	enum unknown_figure figure;
	char name[MODEL_NAME_MAX]; /* a usage name (UNK_USED) or a limit name */
	char why[MODEL_TEXT_MAX];  /* one phrase a person can act on */
};
struct unknowns {
	size_t n;
	struct unknown v[MODEL_MAX_UNKNOWN];
};

/* Finding kinds and severities: the names are fixed by CONTRACT.md. */
enum finding_kind {
	FK_THRESHOLD = 0,
	FK_FORECAST,
	FK_RESTART_HEADROOM,
	FK_ORPHAN,
	FK_ISOLATION,
	FK_STALE,
	FK_CLOCK,             /* agent clock disagrees with the aggregator's */
	FK_INCOMPLETE,        /* part of the host could not be read: figures are unknown */
	FK_LIMITS_BELOW_HOST, /* a namespace's limit below the host's, and near it */
	FK_REMOVEIPC_RISK,    /* systemd RemoveIPC and a non-system user's objects */
	FK_VANISHED,          /* an object went while its creator runs */
	FK_LEAK,              /* an owner's object count keeps growing */
	FK_QUEUE_FILL,        /* a message queue's bytes against its qbytes */
	FK_PERMISSIONS,       /* an object others may read or write */
	FK_COUNT
};

enum severity { SEV_INFO = 0, SEV_WARN = 1, SEV_CRIT = 2 };

/*
 * A finding: something a person should act on.  The agent reports the ones
 * only the host can see (orphan, isolation); the aggregator adds the rest.
 */
struct finding {
	enum finding_kind kind;
	enum severity severity;
	char limit[MODEL_NAME_MAX]; /* "" when no limit applies */
	char scope[MODEL_NAME_MAX]; /* scope id, "" for the whole host */
	char message[MODEL_TEXT_MAX];
	/* orphan: the object, its age and the command that removes it */
	int has_object;
	enum ipc_type otype;
	int64_t oid;
	int64_t age; /* seconds */
	uint32_t uid;
	char command[MODEL_TEXT_MAX];
	/* aggregator side: restart headroom, forecast, life cycle */
	char owner[MODEL_OWNER_MAX];
	int has_headroom;
	uint64_t held, free, safe_limit; /* restart_headroom */
	int64_t exhaust_at;              /* forecast: estimated time of exhaustion */
	int64_t opened, updated;         /* when the aggregator opened / last changed it */
};

struct snapshot {
	uint64_t seq;       /* agent sequence number, 0 when not yet assigned */
	int64_t taken;      /* agent clock, Unix seconds */
	uint32_t page_size; /* bytes; needed for shmall accounting */
	char os[MODEL_NAME_MAX];
	char os_release[MODEL_NAME_MAX];
	struct ipc_limits limits; /* the host's own pool */
	size_t nscopes, cap_scopes;
	struct ipc_scope *scopes; /* scopes[0] is always the host */
	size_t nobjects, cap_objects;
	struct ipc_object *objects;
	uint64_t dropped;        /* snapshots the agent had to drop (spool full) */
	struct unknowns unknown; /* the host's figures that could not be read */
	size_t nfindings, cap_findings;
	struct finding *findings; /* agent-side findings: orphan, isolation */
	/*
	 * The agent's only (not sent): the objects' times came as times of day
	 * (FreeBSD's ipcs prints no date), put on the day of taken or the one
	 * before; the same time read on another day lands on another date.
	 * utc_offset: the zone's offset they were read in (seconds east of UTC).
	 */
	int times_of_day;
	int32_t utc_offset;
};

/* A ready-to-paste recommendation for one limit of one host. */
struct recommendation {
	char limit[MODEL_NAME_MAX];
	uint64_t current, peak, largest, recommended;
	int needs_change; /* recommended > current */
	int reboot;       /* the limit can only be set at boot (FreeBSD loader.conf) */
	char file[64];
	char line[MODEL_TEXT_MAX];
};
/* Usage of one countable limit. */
struct usage_item {
	const char *name; /* static string: "semmns" */
	uint64_t used;
	uint64_t limit;
	int has_limit;            /* 0 when the host did not report this limit */
	int unknown_used;         /* 1: used could not be counted (used is 0 and means nothing) */
	char why[MODEL_TEXT_MAX]; /* why used or the limit is unknown; "" when both are known */
};
/* Whether used and limit are both known: pct, thresholds and series need both. */
#define USAGE_KNOWN(it) (!(it)->unknown_used && (it)->has_limit)

#define USAGE_MAX 8
struct usage {
	size_t n;
	struct usage_item v[USAGE_MAX];
};

/* Lifecycle.  snapshot_init leaves one scope, "host". Returns 0 or -1 (ENOMEM). */
int snapshot_init(struct snapshot *s);
void snapshot_free(struct snapshot *s);
/*
 * Makes room at once for scopes and objects more than s holds (each bounded
 * by its MODEL_MAX_*), so that a collector that knows how many come appends
 * them without the arrays growing (copied, in fresh pages) step by step.
 * Only room: the counts are unchanged.  0, or -1 when out of memory (s is
 * still whole, and appending works as far as memory allows).
 */
int snapshot_reserve(struct snapshot *s, size_t scopes, size_t objects);
/* Appends a zeroed object (bounded by MODEL_MAX_OBJECTS); NULL when full. */
struct ipc_object *snapshot_add_object(struct snapshot *s);
/* Appends a scope; NULL when MODEL_MAX_SCOPES is reached or id is too long. */
struct ipc_scope *snapshot_add_scope(struct snapshot *s, const char *id, const char *name,
                                     enum scope_kind kind);
/* Appends a zeroed finding (bounded by MODEL_MAX_FINDINGS); NULL when full. */
struct finding *snapshot_add_finding(struct snapshot *s);
/* Index of scope id, or -1. */
int snapshot_find_scope(const struct snapshot *s, const char *id);
/*
 * unknowns_add: records that a figure could not be read, and why (printf
 * style); the first reason given for a figure is kept.  0, or -1 when
 * MODEL_MAX_UNKNOWN figures are already listed or name is not a valid limit
 * name.  unknowns_why: the reason for fig of name, or NULL when it is known.
 */
int unknowns_add(struct unknowns *u, enum unknown_figure fig, const char *name, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));
const char *unknowns_why(const struct unknowns *u, enum unknown_figure fig, const char *name);
/*
 * Records that a figure of the host could not be read, and why (printf
 * style).  The first reason given for a figure is kept.  Returns 0, or -1
 * when MODEL_MAX_UNKNOWN figures are already unknown or name is not a valid
 * limit name.
 */
int snapshot_unknown(struct snapshot *s, enum unknown_figure fig, const char *name, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
/*
 * The same for what objects of type t make countable: shm -> shmall and
 * shmmni, sem -> semmns and semmni, msg -> msgmni and msgtql.  In scope 0 (the
 * host) it goes to s->unknown; in another scope to that scope's reason.
 */
void snapshot_unknown_type(struct snapshot *s, uint32_t scope, enum ipc_type t, const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));
/* The same as limits: what objects of type t count against is unknown. */
void snapshot_unknown_limits(struct snapshot *s, enum ipc_type t, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Why a limit missing from scope's own limits is unknown (its limits_unknown),
 * or NULL: the scope has no own limits, or all were read (missing: none).
 */
const char *snapshot_scope_limits_why(const struct snapshot *s, int scope);
/*
 * Why limit name, absent from a pool's limits, is unknown, or NULL (there is
 * none): own -1 for the host's pool (s->unknown), else the scope whose own
 * limits they are (its limits_unknown).
 */
const char *snapshot_pool_limit_why(const struct snapshot *s, int own, const char *name);
/*
 * The limits that the usage of type t counts against, in display order (sem:
 * semmns, semmni): up to max names into names; returns how many.
 */
size_t usage_limits_of(enum ipc_type t, const char **names, size_t max);
/* Why fig of name is unknown, or NULL when it is known. */
const char *snapshot_unknown_why(const struct snapshot *s, enum unknown_figure fig,
                                 const char *name);
/*
 * The `incomplete` finding (warn) of s: every unknown figure of the host
 * with its reason, grouped by reason, and the scopes whose usage is
 * unknown.  1 with *f filled, 0 when everything was read.  The agent adds
 * it to what it shows; the aggregator derives its own from the snapshot.
 */
int incomplete_finding(const struct snapshot *s, struct finding *f);
/* incomplete_finding() appended to s->findings.  0, or -1 when they are full. */
int snapshot_incomplete_finding(struct snapshot *s);
/* "size", "nsems", ...: the JSON key of one enum obj_field bit; NULL for others. */
const char *obj_field_name(uint32_t bit);
/* The bit of a field name; 0 when it is not one. */
uint32_t obj_field_parse(const char *name);

/* Limits: set (replace or append) and get.  Return 0/-1; get returns 0 when found. */
int limits_set(struct ipc_limits *l, const char *name, uint64_t value);
int limits_get(const struct ipc_limits *l, const char *name, uint64_t *value);

/*
 * Usage of the countable limits: semmns (sum of nsems), semmni (sets), shmall
 * (sum over segments of ceil(size / page_size) pages), shmmni (segments),
 * msgmni (queues), msgtql (messages, where the host has that limit).
 *
 * scope < 0: the host's pool, i.e. every object whose scope has no limits of
 * its own (the host itself and jails, which on FreeBSD share the host's pool),
 * measured against s->limits.
 * scope >= 0: the objects of that scope only, measured against the scope's own
 * limits when it has them (an IPC namespace), else against the host's (a
 * jail's share of the global pool).
 * Saturates instead of overflowing.
 *
 * A figure is unknown (unknown_used, why) when the snapshot says it could not
 * be read (s->unknown for the host's pool and the scopes drawing on it, the
 * scope's reason for the scope), or when an object it counts lacks the field
 * counted (a set without nsems: semmns).  A missing limit takes its reason
 * from s->unknown (UNK_LIMIT) when there is one.
 */
void model_usage(const struct snapshot *s, int scope, struct usage *u);
/* used / limit x 100 rounded to one decimal; 100 when limit is 0 (nothing more fits). */
double usage_pct(uint64_t used, uint64_t limit);
/* Pages a segment of size bytes is charged: ceil(size / page). */
uint64_t shm_pages(uint64_t size, uint32_t page_size);

const char *ipc_type_name(enum ipc_type t); /* "shm" "sem" "msg" */
int ipc_type_parse(const char *s, enum ipc_type *t);
const char *scope_kind_name(enum scope_kind k); /* "host" "jail" "ipcns" */
int scope_kind_parse(const char *s, enum scope_kind *k);
const char *isolation_name(enum isolation i); /* "unknown" "new" "inherit" "disable" */
int isolation_parse(const char *s, enum isolation *i);
const char *rctl_res_name(enum rctl_res r); /* "nsem" "nsemop" "nshm" ... */
int rctl_res_parse(const char *s, enum rctl_res *r);

/*
 * The identity of a finding: the same problem seen in two snapshots has the
 * same identity (kind, limit, scope, object or owner), whatever its message.
 */
void finding_identity(const struct finding *f, char *buf, size_t len);
const char *finding_kind_name(enum finding_kind k); /* "threshold" ... */
/*
 * The kinds an agent may report, because only the host can see them
 * (processes, jails, systemd's configuration): orphan, isolation,
 * removeipc_risk, vanished, permissions.  The aggregator computes the
 * others from the snapshot, incomplete included (an agent's is ignored).
 */
int finding_kind_from_agent(enum finding_kind k);
/* A finding about one owner (uid): restart_headroom, removeipc_risk, leak. */
int finding_about_owner(const struct finding *f);
int finding_kind_parse(const char *s, enum finding_kind *k);
const char *severity_name(enum severity v); /* "info" "warn" "crit" */
int severity_parse(const char *s, enum severity *v);

/* A limit name is 1..63 chars of [a-z0-9_.]. */
int limit_name_valid(const char *name);

#endif
