/*
 * collect_ns_pidfd.c: the pidfds the /proc walk keeps from one snapshot to
 * the next (collect_ns.c).  Through a pidfd the kernel gives a process's
 * real uid for less than its status file costs, and a kept pidfd remembers
 * what its process's namespace and cgroup were; the reader thread enters a
 * namespace through one (collect_ns_read.c).
 *
 * Whether the kept pidfds' processes still live is asked of all of them at
 * once, with poll() (a pidfd becomes readable when its process exits): one
 * call instead of one query each.  Their uids are then read only when the
 * orphan and vanished rules ask for them (proc_table_has_owner), never kept.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "collect_ns_local.h"
#include "util.h"

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

static struct ns_pidfd ns_pidfd_sets[2][NS_PIDFD_KEEP];
static size_t ns_pidfd_nkept; /* in ns_pidfd_sets[ns_pidfd_cur] */
static int ns_pidfd_cur;

/*
 * Marks the kept pidfds whose process has exited (or that poll() finds
 * unusable), NS_PIDFD_POLL at a time from the stack; -1 when poll() fails
 * (each one is then queried as before).
 */
#define NS_PIDFD_POLL 128

static int
ns_pidfds_poll(struct ns_pidfd *v, size_t n)
{
	struct pollfd p[NS_PIDFD_POLL];
	size_t i, j, k;

	for (i = 0; i < n; i += k) {
		k = n - i < NS_PIDFD_POLL ? n - i : NS_PIDFD_POLL;
		for (j = 0; j < k; j++) {
			p[j].fd = v[i + j].fd;
			p[j].events = POLLIN;
			p[j].revents = 0;
		}
		if (poll(p, (nfds_t)k, 0) == -1)
			return -1;
		/* POLLIN: exited; POLLHUP: reaped too; POLLNVAL, POLLERR: not usable */
		for (j = 0; j < k; j++)
			v[i + j].exited = p[j].revents != 0;
	}
	return 0;
}

/* Starts a walk: takes over the kept pidfds and sizes the new set. */
void
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
	pf->polled = ns_pidfds_poll(ns_pidfd_sets[ns_pidfd_cur], ns_pidfd_nkept) == 0;
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
void
ns_pidfds_note(struct ns_pidfds *pf, int64_t pid, uint64_t ino, unsigned char cg)
{
	if (pf->nn > 0 && pf->nv[pf->nn - 1].pid == pid) {
		pf->nv[pf->nn - 1].ino = ino;
		pf->nv[pf->nn - 1].cg = cg;
	}
}

/* Ends a walk: closes what it did not reach, keeps what it kept. */
void
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
 *
 * A kept pidfd whose process poll() found alive is kept again without a
 * query: 0 with *pending = 1, and the uid is read only when asked for
 * (ns_pidfd_kept_uid).  A live pidfd names the very process /proc lists
 * under its pid, so what it remembers still holds.
 */
int
ns_pidfd_uid(struct ns_pidfds *pf, int64_t pid, uint32_t *uid, struct ns_pidfd *memo, int *pending)
{
#ifdef SYS_pidfd_open
	int fd = ns_pidfds_take(pf, pid, memo);

	*pending = 0;
	if (fd != -1) {
		if (pf->polled && !memo->exited && pf->nn < pf->max) {
			ns_pidfds_keep(pf, pid, fd);
			*pending = 1;
			return 0;
		}
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
	*pending = 0;
	errno = ENOSYS;
	return -1;
#endif
}

int
ns_pidfd_kept_uid(int64_t pid, uint32_t *uid)
{
	int fd = ns_kept_pidfd(pid);

	if (fd == -1) {
		errno = ENOENT;
		return -1;
	}
	return ns_pidfd_query(fd, pid, uid);
}

/*
 * Whether pids listed in /proc are pids of our own pid namespace, so that
 * pidfd_open() (which takes ours) opens the process /proc names: /proc/self
 * is then our own pid.  When not, uids come from /proc/PID/status.
 */
int
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

/* The pidfd the last walk kept for pid, or -1 (the set is in ascending pid order). */
int
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
