/*
 * collect_ns.c: Linux IPC namespaces and processes (linux.h).
 *
 * Every IPC namespace has its own objects and its own limits.  /proc is
 * scanned once (at most PROC_MAX processes): each process's IPC namespace is
 * the inode of /proc/PID/ns/ipc, its owner the real uid of /proc/PID/status.
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
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "collect.h"
#include "linux.h"
#include "util.h"

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
	uint32_t uid;
	uint32_t ns; /* index into the namespace table, or NS_NONE */
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

/* ---- cgroup labels ---- */

/* Copies n bytes to out with control characters as '?', cut to fit. */
static void
ns_clean(char *out, size_t outlen, const char *in, size_t n)
{
	size_t i;

	if (outlen == 0)
		return;
	for (i = 0; i < n && i + 1 < outlen; i++)
		out[i] = ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) ? '?' : in[i];
	out[i] = '\0';
}

static int
ns_starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(s, prefix, k) == 0;
}

static int
ns_ends(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

/* n characters of lowercase hex, at least NS_ID12 of them. */
static int
ns_hexid(const char *s, size_t n)
{
	size_t i;

	if (n < NS_ID12)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* "PREFIX" + the first 12 characters of id into out. */
static void
ns_label12(char *out, size_t outlen, const char *prefix, const char *id, size_t n)
{
	char buf[NS_LABEL_MAX];
	size_t k = strlen(prefix), i;

	if (n > NS_ID12)
		n = NS_ID12;
	memcpy(buf, prefix, k);
	for (i = 0; i < n; i++) /* systemd writes pod uids with '_' for '-' */
		buf[k + i] = id[i] == '_' ? '-' : id[i];
	ns_clean(out, outlen, buf, k + n);
}

/*
 * The kubepods part of a path (components c[0..n)): the pod uid (hostIPC is
 * a pod's setting), else the container id of the last component.  Returns 1
 * with out set, or 0: not a container (a conmon process runs outside the
 * pod's namespaces).
 */
static int
ns_k8s(char *const *c, const size_t *len, size_t n, char *out, size_t outlen)
{
	const char *id = c[n - 1], *p;
	size_t il = len[n - 1], i;

	if (memmem(id, il, "conmon", 6) != NULL)
		return 0;
	for (i = 0; i < n; i++) {
		const char *x = c[i], *uid;
		size_t l = len[i], ul;

		/* "pod<uid>" (cgroupfs), "kubepods[-<qos>]-pod<uid>.slice" (systemd) */
		if (ns_starts(x, l, "pod")) {
			uid = x + 3;
			ul = l - 3;
		} else if (ns_starts(x, l, "kubepods-") && ns_ends(x, l, ".slice") &&
		           (p = memmem(x, l - 6, "-pod", 4)) != NULL) {
			uid = p + 4;
			ul = (size_t)(x + l - 6 - uid);
		} else {
			continue;
		}
		if (ul >= NS_ID12) {
			ns_label12(out, outlen, "k8s:", uid, ul);
			return 1;
		}
	}
	/* "cri-containerd-<id>.scope", "crio-<id>.scope", "docker-<id>.scope", "<id>" */
	if (ns_ends(id, il, ".scope"))
		il -= 6;
	if ((p = memrchr(id, '-', il)) != NULL) {
		il -= (size_t)(p + 1 - id);
		id = p + 1;
	}
	if (!ns_hexid(id, il))
		return 0;
	ns_label12(out, outlen, "k8s:", id, il);
	return 1;
}

/*
 * One cgroup path: 1 with a container label, 2 with a service label (the
 * last "*.service" component), 0 for neither.
 */
static int
ns_cgroup_path(char *path, char *out, size_t outlen)
{
	char *c[64];
	size_t len[64], n = 0, i;
	char *p = path;
	int service = 0;

	while (*p != '\0' && n < NELEM(c)) {
		while (*p == '/')
			p++;
		if (*p == '\0')
			break;
		c[n] = p;
		while (*p != '\0' && *p != '/')
			p++;
		len[n] = (size_t)(p - c[n]);
		n++;
	}
	for (i = 0; i < n; i++) {
		const char *x = c[i];
		size_t l = len[i];

		if (ns_starts(x, l, "kubepods"))
			return ns_k8s(c + i, len + i, n - i, out, outlen);
		if (ns_starts(x, l, "docker-") && ns_ends(x, l, ".scope") &&
		    ns_hexid(x + 7, l - 13)) {
			ns_label12(out, outlen, "docker:", x + 7, l - 13);
			return 1;
		}
		if (i + 1 < n && l == 6 && memcmp(x, "docker", 6) == 0 &&
		    ns_hexid(c[i + 1], len[i + 1])) {
			ns_label12(out, outlen, "docker:", c[i + 1], len[i + 1]);
			return 1;
		}
		/* containerd without kubernetes (nerdctl, ctr): its own scope */
		if (ns_starts(x, l, "cri-containerd-") && ns_ends(x, l, ".scope") &&
		    ns_hexid(x + 15, l - 21)) {
			ns_label12(out, outlen, "containerd:", x + 15, l - 21);
			return 1;
		}
		if (ns_starts(x, l, "libpod-") && !ns_starts(x, l, "libpod-conmon-") &&
		    ns_ends(x, l, ".scope") && ns_hexid(x + 7, l - 13)) {
			ns_label12(out, outlen, "podman:", x + 7, l - 13);
			return 1;
		}
		if ((i + 1 < n && l == 3 && memcmp(x, "lxc", 3) == 0) ||
		    (ns_starts(x, l, "lxc.payload.") && l > 12)) {
			char buf[NS_LABEL_MAX];
			const char *name = l == 3 ? c[i + 1] : x + 12;
			size_t nl = l == 3 ? len[i + 1] : l - 12;

			if (nl > sizeof(buf) - 5)
				nl = sizeof(buf) - 5;
			memcpy(buf, "lxc:", 4);
			memcpy(buf + 4, name, nl);
			ns_clean(out, outlen, buf, 4 + nl);
			return 1;
		}
		if (ns_ends(x, l, ".service") && l > 8) {
			ns_clean(out, outlen, x, l);
			service = 1;
		}
	}
	return service ? 2 : 0;
}

int
ns_cgroup_label(const char *cgroup, char *out, size_t outlen)
{
	char path[NS_CGPATH_MAX + 1], service[NS_LABEL_MAX] = "", label[NS_LABEL_MAX];
	const char *p = cgroup;

	if (outlen > 0)
		out[0] = '\0';
	/* "ID:CONTROLLERS:PATH" per line; a container on any line wins */
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *c1 = memchr(p, ':', len), *c2;
		int rc;

		if (c1 != NULL && (c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p))) != NULL &&
		    (size_t)(p + len - (c2 + 1)) <= NS_CGPATH_MAX) {
			memcpy(path, c2 + 1, (size_t)(p + len - (c2 + 1)));
			path[p + len - (c2 + 1)] = '\0';
			label[0] = '\0';
			rc = ns_cgroup_path(path, label, sizeof(label));
			if (rc == 1) {
				ns_clean(out, outlen, label, strlen(label));
				return 1;
			}
			if (rc == 2 && service[0] == '\0')
				memcpy(service, label, sizeof(service));
		}
		p = nl != NULL ? nl + 1 : p + len;
	}
	if (service[0] != '\0') {
		ns_clean(out, outlen, service, strlen(service));
		return 2;
	}
	return 0;
}

/* ---- the scan ---- */

/* Reads /proc/PID/NAME (bounded); -1 with errno. */
static int
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
 * The real uid of pid through a pidfd (Linux 6.13+: PIDFD_GET_INFO), which
 * costs the kernel far less than formatting all of /proc/PID/status for its
 * Uid line.  The value is the same: the task's real uid as seen from our
 * user namespace (status uses the opener's, which is ours).  Declared here
 * because older kernel headers lack it; the kernel accepts this first,
 * 64-byte version of the structure.
 */
struct ns_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	uint32_t spare0;
};
#define NS_PIDFD_GET_INFO   _IOWR(0xFF, 11, struct ns_pidfd_info)
#define NS_PIDFD_INFO_CREDS (1ull << 1)
#define NS_PIDFD_INFO_PID   (1ull << 0)

/* 1 once the kernel has said it has no pidfd_open or no PIDFD_GET_INFO. */
static int ns_pidfd_missing;

/*
 * The pidfds of the last walk, kept open for the next one, in the order the
 * walk met them (ascending pids).  A pidfd names one process, not a number:
 * once that process is gone PIDFD_GET_INFO fails with ESRCH, even when its
 * pid has been reused, so a kept pidfd that answers is the very process
 * /proc lists under that pid (pids of live processes are unique).  Opening
 * and closing a pidfd costs twice the query itself.  At most NS_PIDFD_KEEP
 * are kept, and never more than a quarter of the fd limit; they are
 * close-on-exec, as every pidfd.  The two sets (last walk's, this walk's)
 * are static: memory held between snapshots is not left in the heap, where
 * it would keep the snapshot's freed pages from being returned.
 */
#define NS_PIDFD_KEEP 4096

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
	unsigned char cg; /* NS_CG_* */
};

static struct ns_pidfd ns_pidfd_sets[2][NS_PIDFD_KEEP];
static size_t ns_pidfd_nkept; /* in ns_pidfd_sets[ns_pidfd_cur] */
static int ns_pidfd_cur;

struct ns_pidfds {
	const struct ns_pidfd *v; /* kept from the last walk */
	size_t n, next;           /* next: the first one this walk has not reached */
	struct ns_pidfd *nv;      /* kept by this walk */
	size_t nn, max;
};

/* Starts a walk: takes over the kept pidfds and sizes the new set. */
static void
ns_pidfds_begin(struct ns_pidfds *pf)
{
	struct rlimit rl;

	memset(pf, 0, sizeof(*pf));
	pf->v = ns_pidfd_sets[ns_pidfd_cur];
	pf->n = ns_pidfd_nkept;
	pf->nv = ns_pidfd_sets[!ns_pidfd_cur];
	pf->max = NS_PIDFD_KEEP;
	/* rlim_t is unsigned on Linux, signed elsewhere: compare as uint64_t */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    (uint64_t)rl.rlim_cur / 4 < pf->max)
		pf->max = (size_t)((uint64_t)rl.rlim_cur / 4);
	ns_pidfd_nkept = 0;
}

/*
 * The kept pidfd of pid (-1: none) and what it remembers (*memo, zeroed
 * when none); those of pids the walk skipped are closed.
 */
static int
ns_pidfds_take(struct ns_pidfds *pf, int64_t pid, struct ns_pidfd *memo)
{
	memset(memo, 0, sizeof(*memo));
	memo->fd = -1;
	while (pf->next < pf->n && pf->v[pf->next].pid < pid)
		close(pf->v[pf->next++].fd); /* not in /proc any more: gone */
	if (pf->next < pf->n && pf->v[pf->next].pid == pid) {
		*memo = pf->v[pf->next++];
		return memo->fd;
	}
	return -1;
}

/* Keeps fd for the next walk with what it remembers, or closes it when the set is full. */
static void
ns_pidfds_keep(struct ns_pidfds *pf, int64_t pid, int fd)
{
	if (pf->nn < pf->max) {
		memset(&pf->nv[pf->nn], 0, sizeof(pf->nv[pf->nn]));
		pf->nv[pf->nn].pid = pid;
		pf->nv[pf->nn].fd = fd;
		pf->nn++;
	} else {
		close(fd);
	}
}

/* What the walk learnt of the process it kept last (pid): for the next walk. */
static void
ns_pidfds_note(struct ns_pidfds *pf, int64_t pid, uint64_t ino, unsigned char cg)
{
	if (pf->nn > 0 && pf->nv[pf->nn - 1].pid == pid) {
		pf->nv[pf->nn - 1].ino = ino;
		pf->nv[pf->nn - 1].cg = cg;
	}
}

/* Ends a walk: closes what it did not reach, keeps what it kept. */
static void
ns_pidfds_end(struct ns_pidfds *pf)
{
	while (pf->next < pf->n)
		close(pf->v[pf->next++].fd);
	ns_pidfd_cur = !ns_pidfd_cur;
	ns_pidfd_nkept = pf->nn;
	memset(pf, 0, sizeof(*pf));
}

/* PIDFD_GET_INFO on fd: 0 with *uid when fd is pid's; -1 with errno. */
static int
ns_pidfd_query(int fd, int64_t pid, uint32_t *uid)
{
	struct ns_pidfd_info info;

	memset(&info, 0, sizeof(info));
	info.mask = NS_PIDFD_INFO_CREDS;
	if (ioctl(fd, NS_PIDFD_GET_INFO, &info) == -1) {
		/* ENOTTY: a kernel before 6.13; EINVAL: one that refuses this size */
		if (errno == ENOTTY || errno == EINVAL)
			ns_pidfd_missing = 1;
		return -1;
	}
	/* a pidfd that answers is a live process: the one with this pid */
	if ((info.mask & NS_PIDFD_INFO_CREDS) == 0 || (info.mask & NS_PIDFD_INFO_PID) == 0 ||
	    (int64_t)info.pid != pid) {
		errno = EINVAL;
		return -1;
	}
	*uid = info.ruid;
	return 0;
}

/*
 * The real uid of pid: through its kept pidfd, else a new one (kept for the
 * next walk).  0 with *uid; -1 with errno when the kernel cannot tell (no
 * pidfds, the process is gone): the caller then reads /proc/PID/status.
 * *memo receives what the kept pidfd remembered (zero for a new one).
 */
static int
ns_pidfd_uid(struct ns_pidfds *pf, int64_t pid, uint32_t *uid, struct ns_pidfd *memo)
{
#ifdef SYS_pidfd_open
	int fd = ns_pidfds_take(pf, pid, memo);

	if (fd != -1) {
		if (ns_pidfd_query(fd, pid, uid) == 0) {
			ns_pidfds_keep(pf, pid, fd);
			return 0;
		}
		close(fd); /* its process is gone: pid is another one's now */
		memset(memo, 0, sizeof(*memo));
	}
	if (ns_pidfd_missing) {
		errno = ENOSYS;
		return -1;
	}
	if ((fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) == -1) {
		if (errno == ENOSYS)
			ns_pidfd_missing = 1;
		return -1;
	}
	if (ns_pidfd_query(fd, pid, uid) == -1) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	ns_pidfds_keep(pf, pid, fd);
	return 0;
#else
	(void)pf;
	(void)pid;
	(void)uid;
	memset(memo, 0, sizeof(*memo));
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * Whether pids listed in /proc are pids of our own pid namespace, so that
 * pidfd_open() (which takes ours) opens the process /proc names: /proc/self
 * is then our own pid.  When not, uids come from /proc/PID/status.
 */
static int
ns_proc_is_ours(int procfd)
{
	char buf[32];
	const char *errstr;
	int64_t self;
	ssize_t n;

	if ((n = readlinkat(procfd, "self", buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	return parse_i64(buf, 1, INT32_MAX, &self, &errstr) == 0 && self == (int64_t)getpid();
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

/* The inode of /proc/PID/ns/NAME; -1 with errno. */
static int
ns_inode(int64_t pid, const char *name, uint64_t *ino)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%lld/ns/%s", (long long)pid, name);
	if (stat(path, &st) == -1)
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
ns_add_proc(struct ns_scan *sc, int64_t pid, uint32_t uid, uint32_t ns)
{
	if (grow_array(&sc->procs, &sc->cap_procs, sc->nprocs + 1, 1024, PROC_MAX,
	               sizeof(*sc->procs)) == -1)
		return -1;
	sc->procs[sc->nprocs].pid = pid;
	sc->procs[sc->nprocs].uid = uid;
	sc->procs[sc->nprocs].ns = ns;
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
		int seen = 1; /* 0: its namespace could not be read */

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
		 * kept pidfd that answers also remembers the process's namespace.
		 */
		memset(&memo, 0, sizeof(memo));
		if (pidfds && ns_pidfd_uid(&pf, pid, &uid, &memo) == 0) {
			/* the real uid, as the status file's Uid line would say */
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
		if (ns_add_proc(sc, pid, uid, ns) == -1) {
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

/* ---- the reader thread ---- */

/* The pidfd the last walk kept for pid, or -1 (the set is in ascending pid order). */
static int
ns_kept_pidfd(int64_t pid)
{
	const struct ns_pidfd *v = ns_pidfd_sets[ns_pidfd_cur];
	size_t lo = 0, hi = ns_pidfd_nkept;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].pid == pid)
			return v[mid].fd;
		if (v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

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

/*
 * The cgroup path a process runs in, for the scope's "cgroup": the unified
 * hierarchy's ("0::PATH"), else the first line's.  "" when there is none.
 */
static void
ns_cgroup_of(const char *text, char *out, size_t outlen)
{
	const char *p = text, *first = NULL;
	size_t firstlen = 0;

	out[0] = '\0';
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *c1 = memchr(p, ':', len), *c2;

		if (c1 != NULL && (c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p))) != NULL) {
			size_t pl = (size_t)(p + len - (c2 + 1));

			if (c1 == p + 1 && p[0] == '0' && c2 == c1 + 1) {
				ns_clean(out, outlen, c2 + 1, pl);
				return;
			}
			if (first == NULL) {
				first = c2 + 1;
				firstlen = pl;
			}
		}
		p = nl != NULL ? nl + 1 : p + len;
	}
	if (first != NULL)
		ns_clean(out, outlen, first, firstlen);
}

/* The start time of pid (clock ticks after boot, /proc/PID/stat field 22), or -1. */
static int64_t
ns_start_time(int64_t pid)
{
	char *text, *p;
	unsigned long long st;
	int field;

	if (ns_read_pid_file(pid, "stat", &text) == -1)
		return -1;
	/* "pid (comm) state ...": comm may hold blanks and parentheses */
	p = strrchr(text, ')');
	for (field = 2; p != NULL && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &st) != 1 || st > INT64_MAX) {
		free(text);
		return -1;
	}
	free(text);
	return (int64_t)st;
}

/*
 * "pid 26750 python3": the oldest process of namespace i (earliest start;
 * the lowest pid when that cannot be read), for a namespace that nothing
 * else names.
 */
static void
ns_oldest(const struct ns_scan *sc, uint32_t i, char *out, size_t outlen)
{
	int64_t best = -1, best_t = -1, t;
	char *comm, buf[NS_LABEL_MAX];
	size_t k, n;

	for (k = 0; k < sc->nprocs; k++) {
		if (sc->procs[k].ns != i)
			continue;
		t = ns_start_time(sc->procs[k].pid);
		if (best == -1 || (t >= 0 && (best_t < 0 || t < best_t)) ||
		    (t < 0 && best_t < 0 && sc->procs[k].pid < best)) {
			best = sc->procs[k].pid;
			best_t = t;
		}
	}
	if (best == -1)
		return;
	if (ns_read_pid_file(best, "comm", &comm) == 0) {
		n = strcspn(comm, "\n");
		comm[n] = '\0';
		snprintf(buf, sizeof(buf), "pid %lld %s", (long long)best, comm);
		free(comm);
	} else {
		snprintf(buf, sizeof(buf), "pid %lld", (long long)best);
	}
	ns_clean(out, outlen, buf, strlen(buf));
}

/*
 * A name for namespace i from member pid: the container or unit of its
 * cgroup, else the host name of its UTS namespace when not ours, else its
 * oldest process ("pid 26750 python3").  cg receives the member's cgroup.
 */
static void
ns_label(struct ns_scan *sc, uint32_t i, int64_t pid, char *out, size_t outlen, char *cg,
         size_t cglen)
{
	struct utsname un;
	char *text, path[64];
	uint64_t uts;
	int fd;

	out[0] = '\0';
	cg[0] = '\0';
	if (ns_read_pid_file(pid, "cgroup", &text) == 0) {
		ns_cgroup_label(text, out, outlen);
		ns_cgroup_of(text, cg, cglen);
		free(text);
		if (out[0] != '\0')
			return;
	}
	/* the host name only means something when it is not our own */
	if (sc->own_uts != 0 && ns_inode(pid, "uts", &uts) == 0 && uts != sc->own_uts) {
		snprintf(path, sizeof(path), "/proc/%lld/ns/uts", (long long)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
			/* this thread only: it exits when the namespaces are read */
			if (setns(fd, CLONE_NEWUTS) == 0 && uname(&un) == 0 &&
			    un.nodename[0] != '\0' && strcmp(un.nodename, "(none)") != 0)
				ns_clean(out, outlen, un.nodename,
				         strnlen(un.nodename, sizeof(un.nodename)));
			close(fd);
		}
		if (out[0] != '\0')
			return;
	}
	ns_oldest(sc, i, out, outlen);
}

/*
 * Names of namespaces already seen, kept between snapshots: a namespace's
 * name comes from its lowest member's cgroup, host name or process list,
 * which cost a dozen reads (its oldest process: one stat file per member);
 * while the namespace (its inode) and the member it was named after (its
 * lowest pid) are the same, the name stays.  A namespace lives as long as
 * a member does, and pids are not reused among the living.  Touched by the
 * reader thread only, one snapshot at a time.  NS_NAMES_KEEP entries, the
 * least recently used one replaced.
 */
#define NS_NAMES_KEEP 512

struct ns_name {
	uint64_t ino;
	int64_t pid; /* the member the name was made from */
	uint64_t used;
	char label[NS_LABEL_MAX];
	char cgroup[MODEL_CGROUP_MAX];
};
static struct ns_name ns_names[NS_NAMES_KEEP];
static uint64_t ns_names_clock;

/* The kept name of namespace ino made from member pid: 1 with out and cg, else 0. */
static int
ns_name_get(uint64_t ino, int64_t pid, char *out, size_t outlen, char *cg, size_t cglen)
{
	size_t i;

	for (i = 0; i < NS_NAMES_KEEP; i++) {
		struct ns_name *n = &ns_names[i];

		if (n->ino != ino || n->pid != pid)
			continue;
		n->used = ++ns_names_clock;
		ifl_strlcpy(out, n->label, outlen);
		ifl_strlcpy(cg, n->cgroup, cglen);
		return 1;
	}
	return 0;
}

static void
ns_name_put(uint64_t ino, int64_t pid, const char *label, const char *cg)
{
	struct ns_name *slot = &ns_names[0];
	size_t i;

	for (i = 0; i < NS_NAMES_KEEP; i++) {
		if (ns_names[i].ino == ino) {
			slot = &ns_names[i];
			break;
		}
		if (ns_names[i].used < slot->used)
			slot = &ns_names[i];
	}
	slot->ino = ino;
	slot->pid = pid;
	slot->used = ++ns_names_clock;
	ifl_strlcpy(slot->label, label, sizeof(slot->label));
	ifl_strlcpy(slot->cgroup, cg, sizeof(slot->cgroup));
}

/* Warnings of one namespace, prefixed with its id. */
static void
ns_forward_warnings(struct collect_warnings *w, const struct collect_warnings *nw, const char *id)
{
	size_t k;

	for (k = 0; k < nw->n; k++)
		collect_warn(w, "%s: %s", id, nw->v[k]);
	if (w != NULL && nw->total > nw->n)
		w->total += nw->total - nw->n;
}

/* Reads namespace i into the snapshot; problems are warnings. */
static void
ns_read_one(struct ns_scan *sc, uint32_t i)
{
	struct ns_entry *e = &sc->ns[i];
	struct collect_warnings nw;
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
			collect_warn(sc->w, "%s: cannot enter it (setns: %s%s); skipped", id,
			             strerror(errno),
			             errno == EPERM ? ", needs CAP_SYS_ADMIN" : "");
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
	if (procfs_read_limits("", &live, &scope->limits, NULL, &nw, err, sizeof(err)) == -1 ||
	    procfs_read_objects("", &live, s, idx, &nw, err, sizeof(err)) == -1) {
		ns_forward_warnings(sc->w, &nw, id);
		collect_warn(sc->w, "%s: %s; skipped", id, err);
		/* undo: the scope was the last one added, its objects the last ones */
		s->nobjects = nobjects;
		s->nscopes--;
		return;
	}
	ns_forward_warnings(sc->w, &nw, id);
	e->scope = idx;
	e->first = nobjects;
	e->end = s->nobjects;
	e->read = 1;
}

static void *
ns_thread(void *arg)
{
	struct ns_scan *sc = arg;
	uint32_t i;

	for (i = 1; i < sc->nns; i++)
		ns_read_one(sc, i);
	return NULL;
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
				if (proc_table_add(pt, sc.procs[k].pid, sc.procs[k].uid,
				                   known ? sc.ns[ns].scope : PROC_SCOPE_NONE) == -1)
					goto oom;
			}
		}
		pt->valid = complete;
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
