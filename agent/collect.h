/*
 * collect.h: collectors fill a snapshot from one source of truth.
 *
 * A source is chosen with --source SPEC (CONTRACT.md).  Each collector reads
 * limits and objects, assigns every object to a scope, and never trusts what
 * it reads: files are read with a size cap, numbers through strict parsers,
 * and a malformed line is reported with its line number and skipped.
 */
#ifndef IPCFLEET_COLLECT_H
#define IPCFLEET_COLLECT_H

#include <stddef.h>

#include "model.h"

#define COLLECT_PATH_MAX 1024
/* Cap on any one file read by a collector (a /proc/sysvipc file with the
 * largest possible object count fits well within it). */
#define COLLECT_FILE_MAX (64u * 1024 * 1024)
/* Parse warnings kept per snapshot; more are counted, not stored. */
#define COLLECT_MAX_WARN 16

enum source_kind {
	SRC_AUTO = 0,        /* the running system: linux on Linux, freebsd on FreeBSD */
	SRC_LINUX,           /* /proc */
	SRC_LINUX_ROOT,      /* DIR/proc */
	SRC_FREEBSD,         /* sysctl/ipcs/jls on the running system (collectors issue) */
	SRC_FREEBSD_CAPTURE, /* a capture directory (collectors issue) */
};

struct source {
	enum source_kind kind;
	char dir[COLLECT_PATH_MAX]; /* for *_ROOT and *_CAPTURE */
};

/* What went wrong but did not stop the snapshot (a malformed line). */
struct collect_warnings {
	size_t n, total;
	char v[COLLECT_MAX_WARN][MODEL_TEXT_MAX];
};
void collect_warn(struct collect_warnings *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The processes a collector saw, for orphan detection: which pids live,
 * and which uids have a process in which scope.  Not sent on the wire.
 *
 * A collector may leave a process's uid to be read when it is asked for
 * (pending): on a busy host most processes' uids decide nothing, and
 * reading each one is the largest cost of a snapshot.  A uid is not kept
 * from one snapshot to the next (a daemon may drop from root to its user
 * after it was first seen), so only the question decides how many are read:
 * proc_table_has_owner() reads a scope's pending uids until it meets the one
 * asked for, and each uid at most once.
 */
struct proc_entry {
	int64_t pid;
	uint32_t uid;   /* when !pending */
	uint32_t scope; /* index into snapshot.scopes, or PROC_SCOPE_NONE */
	int pending;    /* 1: uid not read yet (the table's uid_of reads it) */
};
#define PROC_MAX 1000000
/* A process in a namespace that is not in the snapshot (it could not be read):
 * it still counts as alive, but owns nothing in any listed scope. */
#define PROC_SCOPE_NONE UINT32_MAX
/*
 * Reads a pending entry's uid: 0 with *uid; 1 when the process is gone (it
 * owns nothing); -1 when it cannot be told.
 */
typedef int (*proc_uid_fn)(int64_t pid, uint32_t *uid);
struct proc_owners; /* collect.c: what proc_table_has_owner has learnt */
struct proc_table {
	int valid; /* 0: the collector could not list processes; decide no orphans */
	size_t n, cap;
	struct proc_entry *v;
	proc_uid_fn uid_of; /* for pending entries; NULL when there are none */
	struct proc_owners *own;
	int64_t *pids; /* proc_table_alive's sorted pids, built when first asked */
};
/* Appends one process; -1 when PROC_MAX entries are reached or out of memory. */
int proc_table_add(struct proc_table *t, int64_t pid, uint32_t uid, uint32_t scope);
/* Appends one process whose uid t->uid_of reads when asked; -1 as proc_table_add. */
int proc_table_add_pending(struct proc_table *t, int64_t pid, uint32_t scope);
/*
 * Whether a process of uid runs in scope: 1 when one does, 0 when none does,
 * -1 when that cannot be told (a uid of the scope could not be read, out of
 * memory): the caller then decides nothing either way.
 */
int proc_table_has_owner(struct proc_table *t, uint32_t scope, uint32_t uid);
/*
 * Whether pid is in the table: 1 or 0; -1 when that cannot be told (out of
 * memory).  The table is sorted once, when first asked.
 */
int proc_table_alive(struct proc_table *t, int64_t pid);
/* Frees the entries and zeroes the table (valid = 0). */
void proc_table_free(struct proc_table *t);

/*
 * A page size as a copy or a capture records it (`getconf PAGESIZE`,
 * `pagesize`): text holding one number, a power of two from 512 to 1 MiB.
 * 0 with *pg, or -1 (COLLECT_PAGE_SIZES says what is accepted).
 */
#define COLLECT_PAGE_SIZES "a power of two from 512 to 1048576"
int collect_parse_page_size(const char *text, uint32_t *pg);

/* "auto", "linux", "linux-root:DIR", "freebsd", "freebsd-capture:DIR". */
int source_parse(const char *spec, struct source *src, char *err, size_t errlen);
/*
 * The name --print shows for the host src describes: this machine's for a
 * running system; for a copy, the name it holds (linux-root:
 * DIR/proc/sys/kernel/hostname; freebsd-capture: DIR/hostname.txt), else
 * the directory's own name, so a copy is never shown under the name of the
 * machine that reads it.
 */
void source_host_label(const struct source *src, char *out, size_t len);

/*
 * Fills s (initialised by snapshot_init) from src.  Returns 0; -1 with err
 * when the source cannot be read at all.  seq is left to the caller, and
 * taken (0) too, except for a FreeBSD capture, which says when it was
 * taken (date.txt, else ipcs's file time); page_size, os and os_release
 * are set.  pt (NULL: not wanted;
 * else zeroed or emptied by proc_table_free) receives the processes the
 * collector saw, with valid = 1 only when it saw them all; a collector may
 * also add findings only it can make (Linux: containers that share the
 * host's IPC namespace).
 */
int collect(const struct source *src, struct snapshot *s, struct proc_table *pt,
            struct collect_warnings *w, char *err, size_t errlen);

/*
 * procfs.c (portable): Linux's /proc text.  A copied tree (linux-root:DIR)
 * is read with live = NULL on any system; the running Linux system passes
 * the hooks of agent/linux/ (linux_live), which make the same reads cheaper
 * and may always decline: the files are read then, with the same results.
 */
#define PROCFS_SMALL_MAX 4096 /* cap for one-value files: limits, osrelease */
struct procfs_live {
	void *sysctl; /* the calling thread's kept /proc/sys/kernel files */
	/* NAME in /proc/sys/kernel: 0 with the text (malloc'd), -1 to read the file */
	int (*sysctl_read)(void *sysctl, const char *name, char **bufp, size_t *lenp);
	/* every object of type t into scope: 1, or 0 to read /proc/sysvipc instead */
	int (*stat_objects)(enum ipc_type t, struct snapshot *s, uint32_t scope);
	/* the ten limits of procfs_limit_names (IPC_INFO, the same kernel values
	 * the files print): 0 with v[], or -1 to read the files instead */
	int (*ipc_info)(uint64_t v[10]);
};
/* The limits ipc_info gives, in the order of the files' own reading. */
extern const char *const procfs_limit_names[10];
/*
 * The host scope from ROOT ("" with live: the running system): OS, page
 * size, release, limits and objects; owners are left to the caller.
 */
int procfs_collect(const char *root, const struct procfs_live *live, struct snapshot *s,
                   struct collect_warnings *w, char *err, size_t errlen);
/* --source linux-root:DIR: procfs_collect, owners from DIR/etc/passwd; pt stays invalid. */
int collect_linux_root(const char *root, struct snapshot *s, struct proc_table *pt,
                       struct collect_warnings *w, char *err, size_t errlen);
/* Reads ROOT/proc/sysvipc/{shm,sem,msg} into scope; -1 with err when unusable. */
int procfs_read_objects(const char *root, const struct procfs_live *live, struct snapshot *s,
                        uint32_t scope, struct collect_warnings *w, char *err, size_t errlen);
/*
 * The user name of uid in passwd text ("name:x:uid:..." lines): 0 with name
 * copied to out, -1 when absent or not usable as an owner (longer than
 * MODEL_OWNER_MAX - 1 bytes, control characters).
 */
int linux_passwd_name(const char *text, uint32_t uid, char *out, size_t outlen);
/*
 * Sets the owner of every object in scope: from the passwd file at
 * passwd_path (read only when it is a regular file of at most 4 MiB), or
 * from the system's user database (getpwuid_r) when passwd_path is NULL.
 * Unknown uids keep owner "".
 */
void linux_set_owners(struct snapshot *s, uint32_t scope, const char *passwd_path);
/*
 * The same for the objects s->objects[first..end) (where the scope's are,
 * when the caller knows: a busy host has hundreds of scopes, and looking
 * through every object for each one's was a tenth of the agent's CPU).
 */
void linux_set_owners_range(struct snapshot *s, uint32_t scope, const char *passwd_path,
                            size_t first, size_t end);

/*
 * removeipc.c (portable; Linux hosts): one removeipc_risk finding per owner
 * above SYS_UID_MAX of the host scope's objects, when systemd runs under
 * ROOT ("" for the running system) and RemoveIPC is in effect (logind.conf
 * and its drop-ins; systemd's default is yes).  0, or -1 when out of
 * memory.  The parsers, for tests: removeipc_parse_logind sets *removeipc
 * from [Login] RemoveIPC= and returns 1 when the text sets it;
 * removeipc_parse_login_defs likewise for SYS_UID_MAX.  Both edit text.
 */
int removeipc_findings(const char *root, struct snapshot *s);
int removeipc_parse_logind(char *text, int *removeipc);
int removeipc_parse_login_defs(char *text, uint32_t *sys_uid_max);

/* The parsers behind it, exposed for unit tests and fuzzing: text is one
 * whole /proc/sysvipc file, NUL-terminated. */
int procfs_parse_shm(const char *text, struct snapshot *s, uint32_t scope,
                     struct collect_warnings *w);
int procfs_parse_sem(const char *text, struct snapshot *s, uint32_t scope,
                     struct collect_warnings *w);
int procfs_parse_msg(const char *text, struct snapshot *s, uint32_t scope,
                     struct collect_warnings *w);
/*
 * Reads root/proc/sys/kernel/{shmmax,shmall,shmmni,sem,msgmax,msgmnb,msgmni,...}
 * into l; a limit that cannot be read is a warning, and is recorded in unk
 * (when not NULL) as unknown.
 */
int procfs_read_limits(const char *root, const struct procfs_live *live, struct ipc_limits *l,
                       struct unknowns *unk, struct collect_warnings *w, char *err, size_t errlen);

#endif
