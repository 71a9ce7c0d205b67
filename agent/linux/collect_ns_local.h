/*
 * collect_ns_local.h: what the files of the IPC namespace collector share
 * (collect_ns.c: the /proc walk that places every process in its IPC
 * namespace, and collect_ns() that drives the rest; collect_ns_pidfd.c: the
 * pidfds kept from one walk to the next, which give a process's uid and
 * remember its namespace; collect_ns_label.c: what a namespace is called;
 * collect_ns_read.c: the thread that enters each namespace and reads its
 * limits and objects).  Private to agent/linux/collect_ns*.c: the rest of
 * the agent sees linux.h.
 */
#ifndef IPCFLEET_COLLECT_NS_LOCAL_H
#define IPCFLEET_COLLECT_NS_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "model.h"

#define NS_FILE_MAX   (64u * 1024) /* /proc/PID/status and /proc/PID/cgroup */
#define NS_CGPATH_MAX 4096         /* one cgroup path */
#define NS_NONE       UINT32_MAX   /* a process whose namespace is not tracked */
#define NS_HASH_CAP   8192         /* > 2 x MODEL_MAX_SCOPES: open addressing */
#define NS_HASH_MIN   64           /* the tables start small and grow (ns_grow) */
#define NS_TABLE_MIN  16
#define NS_LABEL_MAX  MODEL_NAME_MAX
#define NS_ID12       12 /* container ids are shown by their first 12 characters */

struct ns_proc {
	int64_t pid;
	uint32_t uid; /* unless pending */
	uint32_t ns;  /* index into the namespace table, or NS_NONE */
	int pending;  /* 1: uid read only when asked (ns_proc_uid, through its kept pidfd) */
};

struct ns_entry {
	uint64_t ino;
	int64_t pid;       /* one member: the lowest pid seen */
	uint32_t scope;    /* index in the snapshot, valid when read */
	uint32_t nprocs;   /* its processes */
	int read;          /* 1: its objects and limits are in the snapshot */
	size_t first, end; /* when read: its objects, s->objects[first..end) */
};

/* Everything the scan found; entry 0 is the agent's own namespace. */
struct ns_scan {
	struct ns_entry *ns;
	size_t nns, cap_ns;
	struct ns_proc *procs;
	size_t nprocs, cap_procs;
	uint64_t *hkey; /* inode -> index + 1, open addressing */
	uint32_t *hval;
	size_t hcap;    /* a power of two, at least twice nns */
	unsigned hbits; /* log2(hcap) */
	uint64_t own_uts;
	/* for the reader thread */
	struct snapshot *s;
	struct collect_warnings *w;
	int oom;
};

/*
 * A kept pidfd remembers what does not change while its process lives
 * (issue 17: the agent on a busy host): the inode of its IPC namespace,
 * and whether its cgroup names a container.  A process could setns() into
 * another IPC namespace or move between cgroups; both are rare after a
 * process has started, and the next snapshot of a new process sees them.
 */
enum { NS_CG_UNREAD = 0, NS_CG_NONE, NS_CG_CONTAINER };

struct ns_pidfd {
	int64_t pid;
	uint64_t ino; /* its IPC namespace, 0: not known */
	int fd;
	unsigned char cg;     /* NS_CG_* */
	unsigned char exited; /* poll() said so at the walk's start (or could not say) */
};

/* One walk's view of the kept pidfds (collect_ns_pidfd.c). */
struct ns_pidfds {
	const struct ns_pidfd *v; /* kept from the last walk */
	size_t n, next;           /* next: the first one this walk has not reached */
	struct ns_pidfd *nv;      /* kept by this walk */
	size_t nn, max;
	int polled; /* every kept pidfd's exited is poll()'s answer */
};

/* collect_ns.c */
/* Reads /proc/PID/NAME (bounded); -1 with errno. */
int ns_read_pid_file(int64_t pid, const char *name, char **text);

/* collect_ns_pidfd.c */
/* Whether pids listed in /proc (procfd) are those of our pid namespace. */
int ns_proc_is_ours(int procfd);
/* Starts a walk: takes over the kept pidfds and sizes the new set. */
void ns_pidfds_begin(struct ns_pidfds *pf);
/* What the walk learnt of the process it kept last (pid): for the next walk. */
void ns_pidfds_note(struct ns_pidfds *pf, int64_t pid, uint64_t ino, unsigned char cg);
/* Ends a walk: closes what it did not reach, keeps what it kept. */
void ns_pidfds_end(struct ns_pidfds *pf);
/*
 * The real uid of pid through a pidfd, with what its kept pidfd remembered
 * (*memo); *pending = 1 instead of a uid when a kept pidfd still lives (the
 * uid is read when asked: ns_pidfd_kept_uid).
 */
int ns_pidfd_uid(struct ns_pidfds *pf, int64_t pid, uint32_t *uid, struct ns_pidfd *memo,
                 int *pending);
/* The real uid of pid through the pidfd the last walk kept: 0; -1 with errno (ESRCH: gone). */
int ns_pidfd_kept_uid(int64_t pid, uint32_t *uid);
/* The pidfd the last walk kept for pid, or -1. */
int ns_kept_pidfd(int64_t pid);

/* collect_ns_label.c */
/* A name and the cgroup of namespace i from its member pid. */
void ns_label(struct ns_scan *sc, uint32_t i, int64_t pid, char *out, size_t outlen, char *cg,
              size_t cglen);
/* The kept name of namespace ino made from member pid: 1 with out and cg, else 0. */
int ns_name_get(uint64_t ino, int64_t pid, char *out, size_t outlen, char *cg, size_t cglen);
/* Keeps the name of namespace ino made from member pid for the next snapshots. */
void ns_name_put(uint64_t ino, int64_t pid, const char *label, const char *cg);

/* collect_ns_read.c */
/* The reader thread: enters and reads namespaces 1 .. nns-1 of a struct ns_scan. */
void *ns_thread(void *arg);

#endif
