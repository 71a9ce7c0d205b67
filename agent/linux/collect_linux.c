/*
 * collect_linux.c: the running Linux system (Linux only; linux.h).
 *
 * The host's limits and objects are read by the portable /proc parsers of
 * procfs.c; this file only makes those reads cheaper where the result is
 * exactly the same (struct procfs_live: sysctl files kept open, objects
 * through *_STAT_ANY instead of their text), then adds the other IPC
 * namespaces and the processes (collect_ns.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "collect.h"
#include "linux.h"
#include "util.h"

/* glibc leaves union semun to the caller */
union linux_semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *info;
};

/*
 * ---- /proc/sys/kernel files kept open between snapshots ----
 *
 * Opening a sysctl file costs several times reading it (the lookup, the
 * permission checks, the file's setup), and the live system's limits are
 * read every snapshot, in every IPC namespace.  So on the live system the
 * files stay open, one set per IPC namespace (the reading thread's, named by
 * /proc/thread-self/ns/ipc), and each snapshot reads them again from offset
 * 0, which makes the kernel produce the current value, as a fresh open
 * would.  A file opened in a namespace shows that namespace's value (kernels
 * before 5.19: the reader's, which is the same namespace); once a namespace
 * is gone its files fail, and are then closed and opened again.  Whatever
 * fails takes the ordinary path (open, read, close), so errors and warnings
 * are exactly those of an uncached read.  At most LINUX_SYSCTL_SETS sets
 * are kept; the least recently used one makes room.  The collector runs one
 * snapshot at a time, so these are touched by one thread at a time.  Since
 * the limits come from IPC_INFO (linux_ipc_info), a namespace's set holds
 * one descriptor (shm_rmid_forced; the host's also osrelease), so a set
 * for each of a busy host's namespaces costs a few hundred descriptors.
 */
#define LINUX_SYSCTL_SETS 256

static const char *const linux_sysctl_names[] = {
    "shmmax", "shmall", "shmmni",          "sem",       "msgmax",
    "msgmnb", "msgmni", "shm_rmid_forced", "osrelease",
};
#define LINUX_SYSCTL_FILES NELEM(linux_sysctl_names)

struct linux_sysctl_set {
	uint64_t ns;                /* the IPC namespace's inode; 0: unused */
	uint64_t used;              /* when it was last used (a counter) */
	int fd[LINUX_SYSCTL_FILES]; /* -1: not open */
};

static struct linux_sysctl_set linux_sysctl_sets[LINUX_SYSCTL_SETS];
static uint64_t linux_sysctl_clock;

/* The inode of the calling thread's IPC namespace, or 0. */
uint64_t
linux_thread_ipc_ns(void)
{
	char link[64];
	const char *errstr;
	uint64_t ino;
	ssize_t n;

	if ((n = readlink("/proc/thread-self/ns/ipc", link, sizeof(link) - 1)) <= 6)
		return 0;
	link[n] = '\0';
	if (memcmp(link, "ipc:[", 5) != 0 || link[n - 1] != ']')
		return 0;
	link[n - 1] = '\0';
	return parse_u64(link + 5, 1, UINT64_MAX, &ino, &errstr) == 0 ? ino : 0;
}

/* The set of namespace ns, the calling thread's (made when new), or NULL (ns 0: unknown). */
static struct linux_sysctl_set *
linux_sysctl_set(uint64_t ns)
{
	struct linux_sysctl_set *set = NULL;
	size_t i, k;

	if (ns == 0)
		return NULL;
	for (i = 0; i < LINUX_SYSCTL_SETS; i++) {
		struct linux_sysctl_set *c = &linux_sysctl_sets[i];

		if (c->ns == ns) {
			set = c;
			break;
		}
		if (set == NULL || c->used < set->used)
			set = c; /* the least recently used so far */
	}
	if (set->ns != ns) {
		for (k = 0; k < LINUX_SYSCTL_FILES; k++)
			if (set->ns != 0 && set->fd[k] != -1)
				close(set->fd[k]);
		set->ns = ns;
		for (k = 0; k < LINUX_SYSCTL_FILES; k++)
			set->fd[k] = -1;
	}
	set->used = ++linux_sysctl_clock;
	return set;
}

/* The first read of a kept sysctl file: its values are short. */
#define LINUX_READ_FIRST 256

/* /proc/sys/kernel/NAME through set: 0 with the text; -1: read it the ordinary way. */
static int
linux_sysctl_read(void *arg, const char *name, char **bufp, size_t *lenp)
{
	struct linux_sysctl_set *set = arg;
	char path[64], *buf;
	ssize_t r;
	size_t k;

	for (k = 0; k < LINUX_SYSCTL_FILES; k++)
		if (strcmp(linux_sysctl_names[k], name) == 0)
			break;
	if (set == NULL || k == LINUX_SYSCTL_FILES)
		return -1;
	if (set->fd[k] == -1) {
		snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
		if ((set->fd[k] = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
			return -1;
	}
	/*
	 * A /proc/sys file hands its whole value to one read from offset 0 (the
	 * kernel formats it into the reader's buffer at once), so one pread
	 * replaces a seek, a read and the read that finds the end.  A buffer
	 * filled to the brim may have more behind it: then the whole file.
	 */
	if ((buf = malloc(LINUX_READ_FIRST + 1)) == NULL)
		return -1;
	if ((r = pread(set->fd[k], buf, LINUX_READ_FIRST, 0)) >= 0 && r < LINUX_READ_FIRST) {
		buf[r] = '\0';
		*bufp = buf;
		*lenp = (size_t)r;
		return 0;
	}
	free(buf);
	if (r == -1 || lseek(set->fd[k], 0, SEEK_SET) == -1 ||
	    read_fd_bounded(set->fd[k], LINUX_READ_FIRST, PROCFS_SMALL_MAX, bufp, lenp) == -1) {
		close(set->fd[k]); /* its namespace is gone, say: open it again next time */
		set->fd[k] = -1;
		return -1;
	}
	return 0;
}

/*
 * ---- the live system's objects without the text ----
 *
 * The kernel formats every object into /proc/sysvipc text that we then
 * parse back; on the live system the *_STAT_ANY commands (Linux 4.17+)
 * hand over the same values in binary, about three times cheaper.  They are
 * used only where the result is exactly what the file would have given:
 *
 *   - the same objects in the same order: the file lists the index table in
 *     ascending order, and so does the loop over indices 0..max (from
 *     *_INFO); the count found must equal the count *_INFO reports in use;
 *   - the same values: both come from the same kernel fields, pids and ids
 *     translated into the calling thread's namespaces as the file's are into
 *     its opener's (the same thread); and one more: msg's qbytes, which the
 *     file lacks (read from the file, it is unknown);
 *   - values the file parser would accept (otherwise it warns and skips
 *     the line): out of range, the file is read instead;
 *   - shm: the file also has rss and swap per segment, which SHM_STAT lacks;
 *     SHM_INFO sums the same per-segment counts, so when its totals are 0
 *     every segment's are 0 and the result is the same; otherwise the file
 *     is read.  (Like the file, which formats one segment after the other,
 *     this is not one instant: each value held while the objects were read.)
 *
 * Anything else (an old kernel, an error, a race with objects coming and
 * going, a sparse index table that would cost more calls than objects) makes
 * linux_stat_objects() return 0 and procfs.c reads the file as always.
 */
#define LINUX_STAT_SPARSE(n) (4 * (size_t)(n) + 64) /* most indices tried per object */

/* Values the /proc parser would refuse: the file decides then. */
static int
linux_stat_usable(const struct ipc_object *o)
{
	return o->mode <= 0177777 && o->nsems <= UINT32_MAX && o->cpid >= 0 && o->lpid >= 0 &&
	       o->lspid >= 0 && o->lrpid >= 0 && o->atime >= 0 && o->dtime >= 0 && o->otime >= 0 &&
	       o->stime >= 0 && o->rtime >= 0 && o->ctime >= 0;
}

/* Appends o when usable; -1 when the caller must fall back to the file. */
static int
linux_stat_add(struct snapshot *s, const struct ipc_object *o)
{
	struct ipc_object *n;

	if (!linux_stat_usable(o) || (n = snapshot_add_object(s)) == NULL)
		return -1;
	*n = *o;
	return 0;
}

/* The fields every type shares, from its struct ipc_perm. */
static void
linux_stat_perm(struct ipc_object *o, enum ipc_type t, uint32_t scope, int id,
                const struct ipc_perm *p)
{
	memset(o, 0, sizeof(*o));
	o->type = t;
	o->scope = scope;
	o->id = id;
	o->key = p->__key;
	o->mode = (uint32_t)p->mode;
	o->uid = p->uid;
	o->gid = p->gid;
	o->cuid = p->cuid;
	o->cgid = p->cgid;
}

/* Whether indices 0..maxidx are worth trying one by one for inuse objects. */
static int
linux_stat_dense(int maxidx, int inuse)
{
	return maxidx >= 0 && inuse >= 0 && (size_t)maxidx + 1 <= LINUX_STAT_SPARSE(inuse);
}

/*
 * Reads indices 0..maxidx with one(), which returns an object's id and fills
 * *o, or -1 with errno (EINVAL: an unused index).  1 when exactly inuse
 * objects were added to s; 0 when the file must be read instead.
 */
static int
linux_stat_each(struct snapshot *s, uint32_t scope, int maxidx, int inuse,
                int (*one)(int idx, uint32_t scope, struct ipc_object *o))
{
	struct ipc_object o;
	int idx, found = 0;

	if (!linux_stat_dense(maxidx, inuse))
		return 0;
	if (inuse == 0)
		return 1; /* none in use: the file would list none (no index to try) */
	/* the room for all of them at once; failing, they grow as they come */
	(void)snapshot_reserve(s, 0, (size_t)inuse);
	for (idx = 0; idx <= maxidx; idx++) {
		if (one(idx, scope, &o) == -1) {
			if (errno == EINVAL)
				continue; /* an unused index */
			return 0;
		}
		if (linux_stat_add(s, &o) == -1)
			return 0;
		found++;
	}
	return found == inuse;
}

#ifdef SEM_STAT_ANY

static int
linux_sem_one(int idx, uint32_t scope, struct ipc_object *o)
{
	union linux_semun arg;
	struct semid_ds ds;
	int id;

	arg.buf = &ds;
	if ((id = semctl(idx, 0, SEM_STAT_ANY, arg)) == -1)
		return -1;
	linux_stat_perm(o, IPC_SEM, scope, id, &ds.sem_perm);
	o->nsems = (uint64_t)ds.sem_nsems;
	o->otime = (int64_t)ds.sem_otime;
	o->ctime = (int64_t)ds.sem_ctime;
	return id;
}
#endif

#ifdef MSG_STAT_ANY
static int
linux_msg_one(int idx, uint32_t scope, struct ipc_object *o)
{
	struct msqid_ds ds;
	int id;

	if ((id = msgctl(idx, MSG_STAT_ANY, &ds)) == -1)
		return -1;
	linux_stat_perm(o, IPC_MSG, scope, id, &ds.msg_perm);
	o->cbytes = (uint64_t)ds.__msg_cbytes;
	o->qnum = (uint64_t)ds.msg_qnum;
	o->lspid = (int64_t)ds.msg_lspid;
	o->lrpid = (int64_t)ds.msg_lrpid;
	o->stime = (int64_t)ds.msg_stime;
	o->rtime = (int64_t)ds.msg_rtime;
	o->ctime = (int64_t)ds.msg_ctime;
	/* the file has no qbytes column (read from it, qbytes is unknown) */
	o->qbytes = (uint64_t)ds.msg_qbytes;
	return id;
}
#endif

#ifdef SHM_STAT_ANY
static int
linux_shm_one(int idx, uint32_t scope, struct ipc_object *o)
{
	struct shmid_ds ds;
	int id;

	if ((id = shmctl(idx, SHM_STAT_ANY, &ds)) == -1)
		return -1;
	linux_stat_perm(o, IPC_SHM, scope, id, &ds.shm_perm);
	o->size = (uint64_t)ds.shm_segsz;
	o->cpid = (int64_t)ds.shm_cpid;
	o->lpid = (int64_t)ds.shm_lpid;
	o->nattch = (uint64_t)ds.shm_nattch;
	o->atime = (int64_t)ds.shm_atime;
	o->dtime = (int64_t)ds.shm_dtime;
	o->ctime = (int64_t)ds.shm_ctime;
	/* rss and swap are 0: SHM_INFO's totals said so (linux_stat_objects) */
	return id;
}
#endif

/*
 * What SEM_INFO and MSG_INFO said when linux_ipc_info read the limits with
 * them (the same call gives the limits and the objects in use), for the
 * calling thread's next linux_stat_objects of that type: one call less per
 * type and namespace.  Taken once, then forgotten.
 */
struct linux_info_memo {
	int have[3]; /* indexed by enum ipc_type */
	int maxidx[3], inuse[3];
};
static __thread struct linux_info_memo linux_memo;

/* What linux_ipc_info kept of type t: 1 with *maxidx and *inuse, then forgotten. */
static int
linux_memo_take(enum ipc_type t, int *maxidx, int *inuse)
{
	if (!linux_memo.have[t])
		return 0;
	linux_memo.have[t] = 0;
	*maxidx = linux_memo.maxidx[t];
	*inuse = linux_memo.inuse[t];
	return 1;
}

/*
 * The objects of type t on the live system without the /proc text: 1 when s
 * has them all, 0 when the file must be read (procfs.c then forgets what
 * was added).  The type's *_INFO gives the highest index used and how many
 * objects are (or linux_ipc_info's call did); its *_STAT_ANY reads one
 * index (linux_*_one).
 */
static int
linux_stat_objects(enum ipc_type t, struct snapshot *s, uint32_t scope)
{
	int (*one)(int idx, uint32_t scope, struct ipc_object *o) = NULL;
	int maxidx = -1, inuse = 0;

	switch (t) {
	case IPC_SHM: {
#ifdef SHM_STAT_ANY
		struct shm_info si;

		memset(&si, 0, sizeof(si));
		maxidx = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&si);
		if (si.shm_rss != 0 || si.shm_swp != 0)
			maxidx =
			    -1; /* resident or swapped pages: only the file has them per segment */
		inuse = si.used_ids;
		one = linux_shm_one;
#endif
		break;
	}
	case IPC_SEM: {
#ifdef SEM_STAT_ANY
		union linux_semun arg;
		struct seminfo si;

		one = linux_sem_one;
		if (linux_memo_take(t, &maxidx, &inuse))
			break;
		memset(&si, 0, sizeof(si));
		arg.info = &si;
		maxidx = semctl(0, 0, SEM_INFO, arg);
		inuse = si.semusz;
#endif
		break;
	}
	case IPC_MSG: {
#ifdef MSG_STAT_ANY
		struct msginfo mi;

		one = linux_msg_one;
		if (linux_memo_take(t, &maxidx, &inuse))
			break;
		memset(&mi, 0, sizeof(mi));
		maxidx = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&mi);
		inuse = mi.msgpool;
#endif
		break;
	}
	}
	if (one == NULL || maxidx == -1)
		return 0;
	return linux_stat_each(s, scope, maxidx, inuse, one);
}

/*
 * The calling thread's namespace's limits by IPC_INFO: the values the
 * kernel keeps and prints in /proc/sys/kernel (shm_ctlmax, sc_semmns, ...),
 * in the order of procfs_limit_names.  0, or -1 (the files are read).
 * For semaphores and queues SEM_INFO and MSG_INFO fill in the same limits
 * (the kernel's semctl_info and msgctl_info differ only in the fields of
 * use), and what they say of the objects is kept for linux_stat_objects.
 */
static int
linux_ipc_info(uint64_t v[10])
{
#if defined(IPC_INFO)
	struct shminfo shm;
	struct seminfo sem;
	struct msginfo msg;
	union linux_semun arg;
	int semmax = -1, msgmax = -1;

	memset(&linux_memo, 0, sizeof(linux_memo));
	memset(&shm, 0, sizeof(shm));
	memset(&sem, 0, sizeof(sem));
	memset(&msg, 0, sizeof(msg));
	arg.info = &sem;
	if (shmctl(0, IPC_INFO, (struct shmid_ds *)(void *)&shm) == -1)
		return -1;
#if defined(SEM_INFO) && defined(MSG_INFO)
	if ((semmax = semctl(0, 0, SEM_INFO, arg)) == -1 ||
	    (msgmax = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&msg)) == -1)
		return -1;
#else
	if (semctl(0, 0, IPC_INFO, arg) == -1 ||
	    msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&msg) == -1)
		return -1;
#endif
	/* the sem and msg values are ints: negative ones are not limits the files would print */
	if (sem.semmsl < 0 || sem.semmns < 0 || sem.semopm < 0 || sem.semmni < 0 ||
	    msg.msgmax < 0 || msg.msgmnb < 0 || msg.msgmni < 0)
		return -1;
	v[0] = (uint64_t)shm.shmmax;
	v[1] = (uint64_t)shm.shmall;
	v[2] = (uint64_t)shm.shmmni;
	v[3] = (uint64_t)sem.semmsl;
	v[4] = (uint64_t)sem.semmns;
	v[5] = (uint64_t)sem.semopm;
	v[6] = (uint64_t)sem.semmni;
	v[7] = (uint64_t)msg.msgmax;
	v[8] = (uint64_t)msg.msgmnb;
	v[9] = (uint64_t)msg.msgmni;
	if (semmax != -1) {
		linux_memo.have[IPC_SEM] = linux_memo.have[IPC_MSG] = 1;
		linux_memo.maxidx[IPC_SEM] = semmax;
		linux_memo.inuse[IPC_SEM] = sem.semusz;
		linux_memo.maxidx[IPC_MSG] = msgmax;
		linux_memo.inuse[IPC_MSG] = msg.msgpool;
	}
	return 0;
#else
	(void)v;
	return -1;
#endif
}

void
linux_live(struct procfs_live *live)
{
	linux_live_in(live, linux_thread_ipc_ns());
}

void
linux_live_in(struct procfs_live *live, uint64_t ns)
{
	live->sysctl = linux_sysctl_set(ns);
	live->sysctl_read = linux_sysctl_read;
	live->stat_objects = linux_stat_objects;
	live->ipc_info = linux_ipc_info;
}

/*
 * Asks the kernel to map the whole pages of [p, p + len) at once
 * (MADV_POPULATE_WRITE, Linux 5.14+) rather than one fault each as they are
 * first written: a busy host's scopes are a megabyte of fresh pages every
 * snapshot, and a fault costs most in a virtual machine.  Only a hint:
 * whatever fails, the pages fault in as before.
 */
void
linux_prefault(void *p, size_t len)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p, b = a + len;

	if (page == 0 || (page & (page - 1)) != 0)
		return;
	a = (a + page - 1) & ~(page - 1);
	b &= ~(page - 1);
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)len;
#endif
}

/* Objects the last snapshot held: room for as many is made at once (and mapped) in the next. */
static size_t linux_last_objects;

int
collect_linux_live(struct snapshot *s, struct proc_table *pt, struct collect_warnings *w, char *err,
                   size_t errlen)
{
	struct procfs_live live;
	int rc;

	if (pt != NULL) {
		pt->n = 0;
		pt->valid = 0;
	}
	if (linux_last_objects > s->nobjects &&
	    snapshot_reserve(s, 0, linux_last_objects - s->nobjects) == 0)
		linux_prefault(s->objects + s->nobjects,
		               (linux_last_objects - s->nobjects) * sizeof(*s->objects));
	linux_live(&live);
	if (procfs_collect("", &live, s, w, err, errlen) == -1)
		return -1;
	linux_set_owners(s, 0, NULL);
	if (removeipc_findings("", s) == -1) {
		snprintf(err, errlen, "RemoveIPC: out of memory");
		return -1;
	}
	/* the other IPC namespaces, and the processes for orphan detection */
	rc = collect_ns(s, pt, w, err, errlen);
	linux_last_objects = s->nobjects;
	return rc;
}
