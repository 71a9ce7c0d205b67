/*
 * collect_freebsd.h: the FreeBSD collector and the parsers behind it.
 *
 * Two sources feed the same parsers: the running system (SRC_FREEBSD: the
 * output of sysctl, ipcs, jls, jexec, ps, pagesize, uname run through
 * exec_capture) and a capture directory (SRC_FREEBSD_CAPTURE: the same
 * outputs saved in files, see CONTRACT.md and deploy/freebsd/ipcfleet-capture).
 * Nothing here needs FreeBSD headers, so it builds and is tested on Linux.
 *
 * Conventions:
 * - An owner or group printed by ipcs as a name that cannot be resolved
 *   (through the passwd/group file given for that view) is recorded as
 *   FBSD_ID_UNKNOWN (4294967295, i.e. (uid_t)-1), with a warning.
 * - ipc_object.owner is the OWNER name as printed by the view the object
 *   was attributed through: the host's ipcs for host objects, the jail's
 *   own ipcs for a jail's (the host's passwd does not name a jail's users);
 *   "" when that view printed a number.
 * - ipcs prints times as "H:MM:SS" in the capture's local time with no date.
 *   They are resolved against the capture time: the same local day, or the
 *   day before when that would lie in the future.  The local zone is a fixed
 *   UTC offset: date.txt's "EPOCH +HHMM" (the live collector uses the
 *   system's current offset); without one, UTC is assumed.
 * - Every parser takes (text, len): the text may contain NUL bytes and need
 *   not be NUL-terminated.  A malformed line is reported as
 *   "NAME line N: reason" and skipped; nothing is guessed.
 */
#ifndef IPCFLEET_COLLECT_FREEBSD_H
#define IPCFLEET_COLLECT_FREEBSD_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "model.h"

#define FBSD_ID_UNKNOWN      UINT32_MAX
#define FBSD_LINE_MAX        4096       /* bytes in one line of ipcs, sysctl, ps, passwd output */
#define FBSD_JLS_LINE_MAX    (1u << 20) /* jls -n prints every parameter of a jail on one line */
#define FBSD_FIELDS_MAX      32         /* white-space separated fields kept per line */
#define FBSD_IDNAME_MAX      64         /* user and group names, incl. NUL */
#define FBSD_IDMAP_MAX       65536      /* entries of one passwd or group file */
#define FBSD_PROCS_MAX       (1u << 20) /* processes read from ps */
#define FBSD_EXEC_TIMEOUT_MS 10000      /* per command run by the live collector */
#define FBSD_EXEC_OUT_MAX    (16u * 1024 * 1024) /* bytes of output per command */
/* A jail's scope id is "jail:NAME" and must fit MODEL_NAME_MAX. */
#define FBSD_JAILNAME_MAX (MODEL_NAME_MAX - 5)

/* user or group names -> ids, from a passwd or group file (sorted by name) */
struct fbsd_ident {
	char name[FBSD_IDNAME_MAX];
	uint32_t id;
	uint32_t seq; /* line order: the first of duplicate names wins, as getpwnam */
};

struct fbsd_idmap {
	size_t n;
	struct fbsd_ident *v; /* malloc'd, owned */
	int use_system;       /* also ask getpwnam/getgrnam (the live host) */
	int is_group;
};

void fbsd_idmap_init(struct fbsd_idmap *m, int is_group, int use_system);
void fbsd_idmap_free(struct fbsd_idmap *m);
/*
 * Adds the entries of a passwd (name:pw:uid:...) or group (name:pw:gid:...)
 * file.  name is used in warnings.  Returns 0, or -1 when out of memory.
 */
int fbsd_parse_idfile(const char *text, size_t len, const char *name, struct fbsd_idmap *m,
                      struct collect_warnings *w);
/* 0 with *id set when name is known; -1 otherwise. */
int fbsd_idmap_lookup(const struct fbsd_idmap *m, const char *name, uint32_t *id);

/*
 * `sysctl kern.ipc`: lines "kern.ipc.NAME: VALUE".  Keeps NAMEs starting with
 * shm, sem or msg as limits (uint64); other kern.ipc names are ignored.
 * Returns the number of limits set.  *whole (NULL: not wanted) tells what
 * the text proves by what it lacks:
 *    1  the whole listing: it names a socket-layer tunable that every kernel
 *       lists (kern.ipc.maxsockbuf; kern.ipc.soacceptqueue since FreeBSD 10,
 *       kern.ipc.somaxconn before), and every line was read; a facility
 *       without limits in it is absent from the kernel, not filtered out;
 *    0  filtered (no such line: a capture made with grep, say);
 *   -1  damaged: a line was skipped (a warning says which) or the last one is
 *       cut (no newline at the end).
 * Only 1 proves anything by absence; with 0 or -1 a missing limit is unknown.
 */
int fbsd_parse_sysctl(const char *text, size_t len, const char *name, struct ipc_limits *l,
                      int *whole, struct collect_warnings *w);

/* How to read one ipcs view. */
struct fbsd_ipcs_ctx {
	int64_t capture_time; /* Unix seconds, when the view was taken (or just after) */
	int32_t utc_offset;   /* seconds east of UTC of the capture's local time */
	const struct fbsd_idmap *users, *groups; /* NULL: names cannot be resolved */
};

/*
 * `ipcs -a` (or the -ma/-as/-aq parts): appends one object per row, in scope,
 * to s.  name ("ipcs-a.txt", "jexec 3 ipcs -a") prefixes warnings.  Returns
 * the number of sections ("Shared Memory:" ...) with a valid header, 0 when
 * there is none (not ipcs output), or -1 when out of memory.  Stops with a
 * warning when s holds MODEL_MAX_OBJECTS objects.  types (may be NULL)
 * receives the types with a section, as bits 1 << enum ipc_type.
 *
 * Unknown is never zero: a row that cannot be counted (wrong field count, a
 * bad T, ID, KEY, MODE, OWNER or GROUP, a line cut short at the end of the
 * output) makes its type's counts unknown in scope (snapshot_unknown_type);
 * a bad value in any other column, or a column the listing lacks (ipcs
 * without -a: no NSEMS, SEGSZ, times, pids), leaves only that field of the
 * object unknown (ipc_object.unknown), and what a missing NSEMS, SEGSZ or
 * QNUM column makes uncountable (semmns, shmall, msgtql) is said once.
 */
int fbsd_parse_ipcs(const char *text, size_t len, const char *name, const struct fbsd_ipcs_ctx *ctx,
                    struct snapshot *s, uint32_t scope, struct collect_warnings *w,
                    unsigned *types);
/* "H:MM:SS" local time -> Unix seconds (see the conventions above).  0 or -1. */
int fbsd_resolve_time(const char *hms, int64_t capture_time, int32_t utc_offset, int64_t *out);
/* An ipcs MODE ("--rw-------", "--rwa------") -> permission bits.  0 or -1. */
int fbsd_parse_mode(const char *s, uint32_t *mode);

struct fbsd_jail {
	int32_t jid;
	uint32_t scope; /* index into snapshot.scopes */
	char name[FBSD_JAILNAME_MAX];
	char path[COLLECT_PATH_MAX]; /* jail root, "" when jls did not say */
};

struct fbsd_jails {
	size_t n;
	struct fbsd_jail *v; /* malloc'd, owned */
};

/*
 * `jls -n` (or `jls -n -q`): one line per jail of name=value pairs; values
 * may be quoted ("..." with \" and \\ escapes, or '...'); booleans are bare
 * words (allow.sysvipc, allow.nosysvipc).  Adds one SCOPE_JAIL scope
 * "jail:NAME" per jail to s, with iso[] from sysvshm/sysvsem/sysvmsg, else
 * from allow.sysvipc (inherit for all three) or allow.nosysvipc (disable).
 * Returns the number of jails added, or -1 when out of memory.
 */
int fbsd_parse_jls(const char *text, size_t len, const char *name, struct snapshot *s,
                   struct fbsd_jails *j, struct collect_warnings *w);
void fbsd_jails_free(struct fbsd_jails *j);

struct fbsd_proc {
	int32_t pid, jid;
	uint32_t uid;
};

struct fbsd_procs {
	size_t n;
	struct fbsd_proc *v; /* malloc'd, owned, sorted by pid */
};

/* `ps -axo pid,jid,uid,comm`.  Returns the number of processes, or -1 (ENOMEM). */
int fbsd_parse_ps(const char *text, size_t len, const char *name, struct fbsd_procs *p,
                  struct collect_warnings *w);
void fbsd_procs_free(struct fbsd_procs *p);
/* 0 with *jid set when pid is listed; -1 otherwise. */
int fbsd_procs_jid(const struct fbsd_procs *p, int64_t pid, int32_t *jid);

/*
 * fbsd_rctl.c: `rctl` (every rule): a listed jail's deny rules on SysV IPC
 * resources that count per jail become its scope's rctl limits (the
 * smallest of a resource); other subjects, actions and resources are
 * ignored.  Returns how many rules were kept.
 */
int fbsd_parse_rctl_rules(const char *text, size_t len, const char *name, struct snapshot *s,
                          const struct fbsd_jails *j, struct collect_warnings *w);
/* `rctl -u jail:NAME`: its SysV IPC accounting into r.  Returns the resources read. */
int fbsd_parse_rctl_usage(const char *text, size_t len, const char *name, struct scope_rctl *r,
                          struct collect_warnings *w);

/* `pagesize`: a power of two in [512, 1 MiB].  0, or -1 with err. */
int fbsd_parse_pagesize(const char *text, size_t len, uint32_t *page_size, char *err,
                        size_t errlen);
/* date.txt: "EPOCH" or "EPOCH +HHMM" (date +%s and date +%z).  0, or -1 with err. */
int fbsd_parse_date(const char *text, size_t len, int64_t *t, int32_t *utc_offset, char *err,
                    size_t errlen);

/*
 * Attribution, after the host's view is in s (scope 0) and deduplicated.
 * An index of s's objects by (type, id), built once: it stays valid while no
 * object is added to or removed from s.
 */
struct fbsd_ikey {
	uint32_t type;
	int64_t id;
	size_t idx; /* into s->objects */
};

struct fbsd_index {
	size_t n;
	struct fbsd_ikey *v; /* malloc'd, owned, sorted by (type, id, idx) */
};

int fbsd_index_build(const struct snapshot *s, struct fbsd_index *ix);
void fbsd_index_free(struct fbsd_index *ix);
/*
 * Objects that a jail's own view lists with a non-zero key (same type and id)
 * become the jail's (scope), with the real key; owner fields the host view
 * could not resolve are taken from the jail's view.  Returns the number of
 * objects moved.
 */
int fbsd_attribute_view(struct snapshot *s, const struct fbsd_index *ix,
                        const struct snapshot *view, uint32_t scope, const char *jailname,
                        struct collect_warnings *w);
/*
 * Shared memory still on the host, with key 0 there (not made by the host),
 * whose creator pid runs in a listed jail becomes that jail's (owner name
 * cleared).  Returns the number of objects moved, or -1 (ENOMEM).
 */
int fbsd_attribute_cpid(struct snapshot *s, const struct fbsd_jails *j, const struct fbsd_procs *p);
/* Drops repeated (type, id) entries of the host's view with a warning.
 * Returns the number dropped, or -1 (ENOMEM). */
int fbsd_dedupe(struct snapshot *s, struct collect_warnings *w);

/*
 * SRC_FREEBSD (the running system) or SRC_FREEBSD_CAPTURE (src->dir).
 * Fills s (initialised by snapshot_init) like collect(): 0, or -1 with err
 * when the source cannot be read at all.  pt (NULL: not wanted) receives
 * every process of ps with its scope (jid 0: the host; a listed jail: its
 * scope; else PROC_SCOPE_NONE); a jailed process is entered a second time
 * on the host's scope, because objects that could not be attributed stay
 * there while their owners may run in any jail.  pt->valid is 1 only when
 * ps was read whole.
 */
int collect_freebsd(const struct source *src, struct snapshot *s, struct proc_table *pt,
                    struct collect_warnings *w, char *err, size_t errlen);

#endif
