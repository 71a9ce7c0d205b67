/*
 * linux.h: the agent's Linux-only parts (built on Linux only, see
 * agent/CMakeLists.txt): the running system's collector and its IPC
 * namespaces.  Everything portable about Linux (the /proc text) is in
 * procfs.c and collect.h.
 */
#ifndef IPCFLEET_LINUX_H
#define IPCFLEET_LINUX_H

#include <stddef.h>

#include "collect.h"
#include "model.h"

/* collect_linux.c */
/* The inode of the calling thread's IPC namespace, or 0. */
uint64_t linux_thread_ipc_ns(void);
/* The procfs hooks of the running system for the calling thread's IPC namespace. */
void linux_live(struct procfs_live *live);
/* Maps the whole pages of [p, p + len) now, writable (a hint: may do nothing). */
void linux_prefault(void *p, size_t len);
/* The same when the caller knows the inode of the thread's IPC namespace (0: unknown). */
void linux_live_in(struct procfs_live *live, uint64_t ns);
/*
 * --source linux (and auto on Linux): the host scope through procfs.c with
 * the live hooks, owners from the user database, then every other IPC
 * namespace and the processes (collect_ns).
 */
int collect_linux_live(struct snapshot *s, struct proc_table *pt, struct collect_warnings *w,
                       char *err, size_t errlen);

/* collect_ns.c */
/*
 * Every IPC namespace other than the agent's own becomes an "ipcns:INODE"
 * scope with its own limits and objects, read by a thread that setns()es
 * into it; pt gets every process with its scope; containers sharing the
 * host's IPC namespace become isolation findings.  Returns 0 (problems are
 * warnings); -1 with err only when out of memory.
 */
int collect_ns(struct snapshot *s, struct proc_table *pt, struct collect_warnings *w, char *err,
               size_t errlen);

/* collect_ns_label.c */
/*
 * What a process's /proc/PID/cgroup text says it runs in: "docker:ID12",
 * "podman:ID12", "lxc:NAME", "k8s:ID12" (containers: returns 1) or
 * "NAME.service" (returns 2); 0 with out = "" for neither.  out is cleaned
 * (no control characters) and bounded by outlen.
 */
int ns_cgroup_label(const char *cgroup, char *out, size_t outlen);

#endif
