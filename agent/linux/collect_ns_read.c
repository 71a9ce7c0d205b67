/*
 * collect_ns_read.c: the reader thread of collect_ns() (collect_ns.c).  It
 * setns()es into each IPC namespace the walk found, through a kept pidfd
 * or /proc/PID/ns/ipc, and reads that namespace's limits and objects into
 * a scope of its own with procfs.c's parsers: setns affects only the
 * calling thread, and the files it opens show its namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect_ns_local.h"
#include "linux.h"
#include "util.h"

/*
 * Enters namespace i through the kept pidfd of its member pid (Linux 5.8
 * takes a pidfd in setns): no /proc path to open.  0 when the calling
 * thread is now in that namespace; -1 (the caller opens /proc/PID/ns/ipc).
 */
static int
ns_enter_pidfd(const struct ns_scan *sc, uint32_t i)
{
	int fd = ns_kept_pidfd(sc->ns[i].pid);

	if (fd == -1 || setns(fd, CLONE_NEWIPC) == -1)
		return -1;
	return linux_thread_ipc_ns() == sc->ns[i].ino ? 0 : -1;
}

/*
 * Opens /proc/PID/ns/ipc of a member of namespace i whose inode is still
 * the namespace's (pids are reused): the recorded member first, then any
 * other.  Returns the fd, or -1; *pidp is the member used.
 */
static int
ns_open_member(const struct ns_scan *sc, uint32_t i, int64_t *pidp)
{
	char path[64];
	struct stat st;
	size_t k;
	int64_t pid = sc->ns[i].pid;
	int fd;

	for (k = 0;; k++) {
		snprintf(path, sizeof(path), "/proc/%lld/ns/ipc", (long long)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			if (fstat(fd, &st) == 0 && (uint64_t)st.st_ino == sc->ns[i].ino) {
				*pidp = pid;
				return fd;
			}
			close(fd);
		}
		/* the next member of namespace i in the process list */
		for (; k < sc->nprocs; k++)
			if (sc->procs[k].ns == i && sc->procs[k].pid != sc->ns[i].pid)
				break;
		if (k >= sc->nprocs)
			return -1;
		pid = sc->procs[k].pid;
	}
}

static void
ns_forward_warnings(struct collect_warnings *w, const struct collect_warnings *nw, const char *id)
{
	size_t k;

	for (k = 0; k < nw->n; k++)
		collect_warn(w, "%s: %s", id, nw->v[k]);
	if (w != NULL && nw->total > nw->n)
		w->total += nw->total - nw->n;
}

/*
 * A namespace that could not be entered or read stays in the snapshot, its
 * usage and its limits unknown with why, rather than a host that looks
 * whole (the host's incomplete finding counts it).
 */
static void
ns_unknown(struct ipc_scope *scope, const char *why)
{
	scope->own_limits = 1;
	ifl_strlcpy(scope->unknown, why, sizeof(scope->unknown));
	ifl_strlcpy(scope->limits_unknown, why, sizeof(scope->limits_unknown));
}

/* Reads namespace i into the snapshot; problems are warnings. */
static void
ns_read_one(struct ns_scan *sc, uint32_t i)
{
	struct ns_entry *e = &sc->ns[i];
	struct collect_warnings nw;
	struct unknowns lu; /* its limits that could not be read */
	struct procfs_live live;
	struct snapshot *s = sc->s;
	struct ipc_scope *scope;
	char id[MODEL_NAME_MAX], label[NS_LABEL_MAX], err[MODEL_TEXT_MAX], cg[MODEL_CGROUP_MAX];
	size_t nobjects = s->nobjects;
	uint32_t idx;
	int64_t pid;
	int fd, t;

	snprintf(id, sizeof(id), "ipcns:%llu", (unsigned long long)e->ino);
	pid = e->pid;
	if (ns_enter_pidfd(sc, i) == -1) {
		if ((fd = ns_open_member(sc, i, &pid)) == -1) {
			collect_warn(sc->w, "%s: its processes are gone; skipped", id);
			return;
		}
		if (setns(fd, CLONE_NEWIPC) == -1) {
			snprintf(err, sizeof(err), "cannot enter it (setns: %s%s)", strerror(errno),
			         errno == EPERM ? ", needs CAP_SYS_ADMIN" : "");
			collect_warn(sc->w, "%s: %s: its figures are unknown", id, err);
			/* no room for the scope: the warning is all there is */
			if ((scope = snapshot_add_scope(s, id, id, SCOPE_IPCNS)) != NULL)
				ns_unknown(scope, err);
			close(fd);
			return;
		}
		close(fd);
	}
	e->pid = pid;
	if (!ns_name_get(e->ino, pid, label, sizeof(label), cg, sizeof(cg))) {
		ns_label(sc, i, pid, label, sizeof(label), cg, sizeof(cg));
		ns_name_put(e->ino, pid, label, cg);
	}
	if ((scope = snapshot_add_scope(s, id, label[0] != '\0' ? label : id, SCOPE_IPCNS)) ==
	    NULL) {
		collect_warn(sc->w, "%s: no room for another scope; skipped", id);
		return;
	}
	idx = (uint32_t)(s->nscopes - 1);
	scope->own_limits = 1;
	ifl_strlcpy(scope->cgroup, cg, sizeof(scope->cgroup));
	scope->processes = e->nprocs;
	for (t = IPC_SHM; t <= IPC_MSG; t++)
		scope->iso[t] = ISO_NEW;

	memset(&nw, 0, sizeof(nw));
	/*
	 * This thread is in the namespace now (ns_enter_pidfd or
	 * ns_open_member checked its inode): its kept files, without asking
	 * the kernel for the inode again.
	 */
	linux_live_in(&live, e->ino);
	memset(&lu, 0, sizeof(lu));
	if (procfs_read_limits("", &live, &scope->limits, &lu, &nw, err, sizeof(err)) == -1 ||
	    procfs_read_objects("", &live, s, idx, &nw, err, sizeof(err)) == -1) {
		ns_forward_warnings(sc->w, &nw, id);
		collect_warn(sc->w, "%s: %s: its figures are unknown", id, err);
		/* its objects (the last ones added) go; it stays, unknown, with why */
		s->nobjects = nobjects;
		ns_unknown(scope, err);
		return;
	}
	ns_forward_warnings(sc->w, &nw, id);
	/* limits it could not read: unknown with the first reason, not "no limit" */
	if (lu.n > 0)
		ifl_strlcpy(scope->limits_unknown, lu.v[0].why, sizeof(scope->limits_unknown));
	e->scope = idx;
	e->first = nobjects;
	e->end = s->nobjects;
	e->read = 1;
}

void *
ns_thread(void *arg)
{
	struct ns_scan *sc = arg;
	uint32_t i;

	for (i = 1; i < sc->nns; i++)
		ns_read_one(sc, i);
	return NULL;
}
