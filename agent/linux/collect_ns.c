/*
 * collect_ns.c: Linux IPC namespaces and processes (linux.h).
 *
 * Every IPC namespace has its own objects and its own limits.  /proc is
 * scanned once (at most PROC_MAX processes): each process's IPC namespace is
 * the inode of /proc/PID/ns/ipc, its owner the real uid of /proc/PID/status
 * (or of its pidfd).  A process the last walk saw, whose kept pidfd says it
 * still lives, keeps its namespace, and its uid is read only when the
 * orphan and vanished rules ask for it (proc_table_has_owner, ns_proc_uid).
 * The agent's own namespace is the host scope; each other one becomes a
 * scope "ipcns:INODE" read by one dedicated thread that setns()es into it:
 * setns affects only the calling thread, and the files under /proc/sysvipc
 * and /proc/sys/kernel opened by that thread show its namespace, so the
 * procfs parsers of procfs.c are reused unchanged.  The thread is
 * joined before anything else touches the snapshot.
 *
 * A scope is named after what runs in it: the container or unit of a
 * member process (its /proc/PID/cgroup), else the host name of its UTS
 * namespace when that differs from ours, else its id.  Processes that run
 * in a container but share our namespace become isolation findings.
 *
 * Failures are warnings: a namespace whose processes vanished or that
 * cannot be entered (no CAP_SYS_ADMIN) is skipped, naming its inode.
 *
 * This file walks /proc and drives the rest: collect_ns_pidfd.c keeps
 * pidfds between walks, collect_ns_label.c names namespaces,
 * collect_ns_read.c is the reader thread (collect_ns_local.h).
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect.h"
#include "collect_ns_local.h"
#include "linux.h"
#include "util.h"

/* ---- the scan ---- */

/* Reads /proc/PID/NAME (bounded); -1 with errno. */
int
ns_read_pid_file(int64_t pid, const char *name, char **text)
{
	char path[64];
	size_t len;

	snprintf(path, sizeof(path), "/proc/%lld/%s", (long long)pid, name);
	return read_file_bounded(path, NS_FILE_MAX, text, &len);
}

/* The real uid from the "Uid:" line of a status file; -1 when there is none. */
static int
ns_status_uid(const char *text, uint32_t *uid)
{
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, "Uid:", 4) == 0) {
			char num[16];
			const char *b = p + 4, *errstr;
			size_t n = 0;
			uint64_t v;

			while (*b == ' ' || *b == '\t')
				b++;
			while (b[n] >= '0' && b[n] <= '9' && n < sizeof(num) - 1)
				n++;
			if (b[n] != '\t' && b[n] != ' ' && b[n] != '\n' && b[n] != '\0')
				return -1;
			memcpy(num, b, n);
			num[n] = '\0';
			if (parse_u64(num, 0, UINT32_MAX, &v, &errstr) == -1)
				return -1;
			*uid = (uint32_t)v;
			return 0;
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return -1;
}

/*
 * A pending process's real uid (proc_uid_fn): through the pidfd the walk
 * kept, else from its status file, as the walk would have read it.
 */
static int
ns_proc_uid(int64_t pid, uint32_t *uid)
{
	char *text = NULL;
	int rc;

	if (ns_pidfd_kept_uid(pid, uid) == 0)
		return 0;
	if (errno == ESRCH)
		return 1; /* exited since the walk */
	if (ns_read_pid_file(pid, "status", &text) == -1)
		return errno == ENOENT || errno == ESRCH ? 1 : -1;
	rc = ns_status_uid(text, uid);
	free(text);
	return rc;
}

/*
 * The inode of PID/ns/ipc below procfd (a /proc directory fd): the number in
 * the link's text "ipc:[INODE]", which is the namespace's inode.  readlink
 * does not make the kernel build a dentry for the namespace as stat() does
 * (about half the cost), and fails the same ways (ENOENT: gone or a zombie,
 * EACCES: not ours to see).  Text not of that form falls back to stat().
 * -1 with errno.
 */
static int
ns_ipc_inode_at(int procfd, int64_t pid, uint64_t *ino)
{
	char path[64], link[64];
	const char *errstr;
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "%lld/ns/ipc", (long long)pid);
	if ((n = readlinkat(procfd, path, link, sizeof(link) - 1)) == -1)
		return -1;
	link[n] = '\0';
	if (n > 6 && memcmp(link, "ipc:[", 5) == 0 && link[n - 1] == ']') {
		link[n - 1] = '\0';
		if (parse_u64(link + 5, 1, UINT64_MAX, ino, &errstr) == 0)
			return 0;
	}
	if (fstatat(procfd, path, &st, 0) == -1)
		return -1;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

/* The first slot for ino in a table of 2^bits slots (Fibonacci hashing). */
static size_t
ns_hash(uint64_t ino, unsigned bits)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> (64 - bits));
}

/* Makes room for one more namespace: -1 when out of memory. */
static int
ns_grow(struct ns_scan *sc)
{
	uint64_t *nkey;
	uint32_t *nval;
	size_t ncap, i, h;

	/*
	 * The tables start small and double: most hosts have a handful of
	 * namespaces, and tables sized for MODEL_MAX_SCOPES (224 KiB, zeroed)
	 * cost every snapshot time and resident memory for nothing.
	 */
	if (grow_array(&sc->ns, &sc->cap_ns, sc->nns + 1, NS_TABLE_MIN, MODEL_MAX_SCOPES,
	               sizeof(*sc->ns)) == -1)
		return -1;
	if ((sc->nns + 1) * 2 <= sc->hcap)
		return 0;
	ncap = sc->hcap ? sc->hcap * 2 : NS_HASH_MIN;
	if (ncap > NS_HASH_CAP)
		return 0; /* NS_HASH_CAP > 2 x MODEL_MAX_SCOPES: never reached */
	if ((nkey = calloc(ncap, sizeof(*nkey))) == NULL)
		return -1;
	if ((nval = calloc(ncap, sizeof(*nval))) == NULL) {
		free(nkey);
		return -1;
	}
	sc->hbits = sc->hbits ? sc->hbits + 1 : 6; /* 2^6 == NS_HASH_MIN */
	for (i = 0; i < sc->hcap; i++) {
		if (sc->hkey[i] == 0)
			continue;
		for (h = ns_hash(sc->hkey[i], sc->hbits); nkey[h] != 0; h = (h + 1) & (ncap - 1))
			;
		nkey[h] = sc->hkey[i];
		nval[h] = sc->hval[i];
	}
	free(sc->hkey);
	free(sc->hval);
	sc->hkey = nkey;
	sc->hval = nval;
	sc->hcap = ncap;
	return 0;
}

/*
 * Index of namespace ino, added when new; NS_NONE when the table is full
 * (*full set) or out of memory (sc->oom set).
 */
static uint32_t
ns_lookup(struct ns_scan *sc, uint64_t ino, int64_t pid, int *full)
{
	struct ns_entry *e;
	size_t h;

	for (h = ns_hash(ino, sc->hbits); sc->hkey[h] != 0; h = (h + 1) & (sc->hcap - 1)) {
		if (sc->hkey[h] == ino) {
			e = &sc->ns[sc->hval[h]];
			if (pid < e->pid)
				e->pid = pid;
			return sc->hval[h];
		}
	}
	/* the host scope is one of MODEL_MAX_SCOPES */
	if (sc->nns >= MODEL_MAX_SCOPES) {
		*full = 1;
		return NS_NONE;
	}
	if (ns_grow(sc) == -1) {
		sc->oom = 1;
		return NS_NONE;
	}
	/* the free slot, again: growing may have rehashed the table */
	for (h = ns_hash(ino, sc->hbits); sc->hkey[h] != 0; h = (h + 1) & (sc->hcap - 1))
		;
	e = &sc->ns[sc->nns];
	memset(e, 0, sizeof(*e));
	e->ino = ino;
	e->pid = pid;
	sc->hkey[h] = ino;
	sc->hval[h] = (uint32_t)sc->nns;
	return (uint32_t)sc->nns++;
}

static int
ns_add_proc(struct ns_scan *sc, int64_t pid, uint32_t uid, uint32_t ns, int pending)
{
	if (grow_array(&sc->procs, &sc->cap_procs, sc->nprocs + 1, 1024, PROC_MAX,
	               sizeof(*sc->procs)) == -1)
		return -1;
	sc->procs[sc->nprocs].pid = pid;
	sc->procs[sc->nprocs].uid = uid;
	sc->procs[sc->nprocs].ns = ns;
	sc->procs[sc->nprocs].pending = pending;
	sc->nprocs++;
	if (ns != NS_NONE)
		sc->ns[ns].nprocs++;
	return 0;
}

/* Containers seen in our namespace, each reported once. */
struct ns_shared {
	size_t n, cap;
	char (*label)[NS_LABEL_MAX];
};

/* "docker:0123456789ab shares the host's IPC namespace (--ipc=host), ..." */
static int
ns_isolation(struct snapshot *s, struct ns_shared *sh, const char *label)
{
	struct finding *f;
	const char *how;
	size_t i;

	for (i = 0; i < sh->n; i++)
		if (strcmp(sh->label[i], label) == 0)
			return 0;
	if (sh->n >= MODEL_MAX_FINDINGS || (f = snapshot_add_finding(s)) == NULL)
		return 0; /* full: the first ones are reported */
	if (grow_array(&sh->label, &sh->cap, sh->n + 1, 64, MODEL_MAX_FINDINGS,
	               sizeof(*sh->label)) == -1) {
		s->nfindings--;
		return -1;
	}
	memcpy(sh->label[sh->n++], label, NS_LABEL_MAX);
	if (strncmp(label, "k8s:", 4) == 0)
		how = "hostIPC: true";
	else if (strncmp(label, "lxc:", 4) == 0)
		how = "no IPC namespace of its own";
	else
		how = "--ipc=host";
	f->kind = FK_ISOLATION;
	f->severity = SEV_WARN;
	ifl_strlcpy(f->scope, "host", sizeof(f->scope));
	snprintf(f->message, sizeof(f->message),
	         "container %s shares the host's IPC namespace (%s), so it can read and remove "
	         "the host's objects",
	         label, how);
	return 0;
}

/* Numeric /proc entries: pids 1 .. 2^31-1. */
static int
ns_pid_name(const char *name, int64_t *pid)
{
	const char *errstr;

	if (name[0] < '1' || name[0] > '9')
		return -1;
	return parse_i64(name, 1, INT32_MAX, pid, &errstr);
}

/*
 * Walks /proc.  Returns 0, or -1 when out of memory.  *complete is 0 when
 * some process could not be placed (the table is then no basis for orphans).
 */
static int
ns_walk(struct ns_scan *sc, struct snapshot *s, struct ns_shared *sh, struct collect_warnings *w,
        int *complete)
{
	int root = geteuid() == 0, warned_perm = 0, full = 0, warned_uid = 0, others = 0;
	int procfd, pidfds;
	struct ns_pidfds pf;
	struct dirent *de;
	DIR *d;

	*complete = 1;
	if ((d = opendir("/proc")) == NULL) {
		collect_warn(w, "/proc: %s; processes not listed, no orphans reported",
		             strerror(errno));
		*complete = 0;
		return 0;
	}
	/* per-process files are opened relative to the listing: one lookup less */
	procfd = dirfd(d);
	pidfds = ns_proc_is_ours(procfd);
	ns_pidfds_begin(&pf);
	while ((de = readdir(d)) != NULL) {
		char *text = NULL, label[NS_LABEL_MAX];
		struct ns_pidfd memo;
		uint64_t ino;
		uint32_t uid, ns;
		int64_t pid;
		unsigned char cg;
		int seen = 1;    /* 0: its namespace could not be read */
		int pending = 0; /* 1: its uid is read when asked (ns_proc_uid) */

		if (ns_pid_name(de->d_name, &pid) == -1)
			continue;
		if (sc->nprocs >= PROC_MAX) {
			collect_warn(w, "/proc: more than %d processes; no orphans reported",
			             PROC_MAX);
			*complete = 0;
			break;
		}
		/*
		 * The real uid through a pidfd when the kernel can; whenever that
		 * fails (even ESRCH, which can also mean a kernel thread's
		 * missing parent) the status file decides, as it always did.  A
		 * kept pidfd that answers also remembers the process's namespace;
		 * one that still lives leaves the uid until it is asked for.
		 */
		memset(&memo, 0, sizeof(memo));
		uid = 0;
		if (pidfds && ns_pidfd_uid(&pf, pid, &uid, &memo, &pending) == 0) {
			/* the real uid, as the status file's Uid line would say, or pending */
		} else if (ns_read_pid_file(pid, "status", &text) == -1) {
			if (errno == ENOENT || errno == ESRCH)
				continue;
			if (!warned_uid)
				collect_warn(w, "/proc/%lld/status: %s; no orphans reported",
				             (long long)pid, strerror(errno));
			warned_uid = 1;
			*complete = 0;
			continue;
		} else {
			if (ns_status_uid(text, &uid) == -1) {
				if (!warned_uid)
					collect_warn(w,
					             "/proc/%lld/status: no Uid line; no orphans "
					             "reported",
					             (long long)pid);
				warned_uid = 1;
				*complete = 0;
				free(text);
				continue;
			}
			free(text);
			text = NULL;
		}
		if (memo.ino != 0) {
			ino = memo.ino;
		} else if (ns_ipc_inode_at(procfd, pid, &ino) == -1) {
			if (errno == ENOENT || errno == ESRCH)
				continue; /* gone, or a zombie: it holds nothing */
			if (!warned_perm && (errno == EACCES || errno == EPERM)) {
				collect_warn(
				    w,
				    "/proc/%lld/ns/ipc: %s%s: processes whose IPC namespace "
				    "cannot be seen count as this namespace's",
				    (long long)pid, strerror(errno), root ? "" : " (not root)");
				warned_perm = 1;
			}
			ino = sc->ns[0].ino;
			seen = 0;
		}

		/* without root no namespace can be entered: all count as ours */
		if (ino != sc->ns[0].ino && !root)
			others = 1;
		ns = (ino == sc->ns[0].ino || !root) ? 0 : ns_lookup(sc, ino, pid, &full);
		/* a container in our namespace (only when that is known for sure);
		 * a process known not to be in one is not read again */
		cg = memo.cg;
		if (ns == 0 && seen && root && cg != NS_CG_NONE &&
		    ns_read_pid_file(pid, "cgroup", &text) == 0) {
			int c = ns_cgroup_label(text, label, sizeof(label));

			free(text);
			cg = c == 1 ? NS_CG_CONTAINER : NS_CG_NONE;
			if (c == 1 && ns_isolation(s, sh, label) == -1) {
				ns_pidfds_end(&pf);
				closedir(d);
				return -1;
			}
		}
		if (seen)
			ns_pidfds_note(&pf, pid, ino, cg);
		if (ns_add_proc(sc, pid, uid, ns, pending) == -1) {
			ns_pidfds_end(&pf);
			closedir(d);
			return -1;
		}
	}
	ns_pidfds_end(&pf);
	closedir(d);
	if (full)
		collect_warn(w, "more than %d IPC namespaces: the others are not reported",
		             MODEL_MAX_SCOPES - 1);
	if (others && !warned_perm)
		collect_warn(w, "not root: other IPC namespaces are not read; their processes "
		                "count as this one's");
	return 0;
}

/* ---- collect_ns ---- */

static void
ns_scan_free(struct ns_scan *sc)
{
	free(sc->ns);
	free(sc->procs);
	free(sc->hkey);
	free(sc->hval);
}

int
collect_ns(struct snapshot *s, struct proc_table *pt, struct collect_warnings *w, char *err,
           size_t errlen)
{
	struct ns_scan sc;
	struct ns_shared sh = {0, 0, NULL};
	struct stat st;
	pthread_t th;
	char path[64];
	size_t k;
	int complete = 0, rc = -1, e, pass;

	memset(&sc, 0, sizeof(sc));
	if (stat("/proc/self/ns/ipc", &st) == -1) {
		collect_warn(w, "/proc/self/ns/ipc: %s; IPC namespaces and processes not read",
		             strerror(errno));
		return 0;
	}
	if (ns_grow(&sc) == -1)
		goto oom;
	memset(&sc.ns[0], 0, sizeof(sc.ns[0])); /* scope 0 */
	sc.ns[0].ino = (uint64_t)st.st_ino;
	sc.ns[0].pid = getpid();
	sc.ns[0].read = 1; /* scope 0, already read by collect_linux */
	sc.nns = 1;
	if (stat("/proc/self/ns/uts", &st) == 0)
		sc.own_uts = (uint64_t)st.st_ino;
	sc.s = s;
	sc.w = w;

	if (ns_walk(&sc, s, &sh, w, &complete) == -1 || sc.oom)
		goto oom;

	if (sc.nns > 1) {
		/* a scope each, in one step (a scope is 5 KB: growing by doubling
		 * copied them all again and again); failing, they grow as they come */
		if (snapshot_reserve(s, sc.nns - 1, 0) == 0)
			linux_prefault(s->scopes + s->nscopes, (sc.nns - 1) * sizeof(*s->scopes));
		/* the thread is the only one touching s and w until it is joined */
		if ((e = pthread_create(&th, NULL, ns_thread, &sc)) != 0) {
			collect_warn(w,
			             "cannot start the namespace reader: %s; only this IPC "
			             "namespace is reported",
			             strerror(e));
		} else {
			pthread_join(th, NULL);
		}
	}

	s->scopes[0].processes = sc.ns[0].nprocs;
	/* owner names: each namespace's own /etc/passwd, through a member's root */
	for (k = 1; k < sc.nns; k++) {
		if (!sc.ns[k].read)
			continue;
		snprintf(path, sizeof(path), "/proc/%lld/root/etc/passwd", (long long)sc.ns[k].pid);
		linux_set_owners_range(s, sc.ns[k].scope, path, sc.ns[k].first, sc.ns[k].end);
	}

	/*
	 * The process table: first the member each namespace was entered
	 * through (orphan.c builds its nsenter command from the first process
	 * of a scope), then all the others.
	 */
	if (pt != NULL) {
		pt->n = 0;
		for (pass = 0; pass < 2; pass++) {
			for (k = 0; k < sc.nprocs; k++) {
				uint32_t ns = sc.procs[k].ns;
				int known = ns != NS_NONE && sc.ns[ns].read;
				int member = known && ns != 0 && sc.procs[k].pid == sc.ns[ns].pid;

				if (member != (pass == 0))
					continue;
				uint32_t scope = known ? sc.ns[ns].scope : PROC_SCOPE_NONE;

				if ((sc.procs[k].pending
				         ? proc_table_add_pending(pt, sc.procs[k].pid, scope)
				         : proc_table_add(pt, sc.procs[k].pid, sc.procs[k].uid,
				                          scope)) == -1)
					goto oom;
			}
		}
		pt->valid = complete;
		pt->uid_of = ns_proc_uid;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "IPC namespaces: out of memory");
	if (pt != NULL)
		pt->valid = 0;
out:
	free(sh.label);
	ns_scan_free(&sc);
	return rc;
}
