/*
 * collect_linux.c: the Linux collector (collect.h).
 *
 * Objects come from ROOT/proc/sysvipc/{shm,sem,msg}, limits from
 * ROOT/proc/sys/kernel.  The sysvipc files are parsed by their header line:
 * the header names the columns, so kernels with and without the rss/swap
 * columns (before about 4.5) both work, and unknown columns are skipped.
 *
 * Nothing read is trusted: every file is read with a size cap, every line is
 * bounded in length and field count before it is split, and every number goes
 * through the strict parsers of util.h with the range of its kernel type.  A
 * bad data line is reported (line number and column) and skipped; a bad
 * header makes the whole file unusable, because columns cannot be guessed.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect.h"
#include "util.h"

#define PROCFS_LINE_MAX   4096 /* bytes in one line, without the newline */
#define PROCFS_FIELDS_MAX 32   /* columns in a header (and fields stored per line) */
#define PROCFS_SMALL_MAX  4096 /* cap for one-value files: limits, osrelease */
#define PROCFS_QUOTE_MAX  24   /* bytes of a bad value quoted in a warning */

/* How a column's text becomes a field of struct ipc_object. */
enum procfs_kind {
	PK_I64,  /* int64_t in [imin, imax] */
	PK_U64,  /* uint64_t in [0, umax] */
	PK_U32,  /* uint32_t in [0, umax] */
	PK_MODE, /* uint32_t, octal, in [0, umax] */
};

struct procfs_col {
	const char *name; /* as in the kernel's header line */
	enum procfs_kind kind;
	size_t off; /* offset of the field in struct ipc_object */
	int64_t imin, imax;
	uint64_t umax;
	int required;
};

#define OBJ_OFF(f) offsetof(struct ipc_object, f)
/* key: a key_t printed with %d; accept any int64 as the brief allows */
#define COL_KEY                                                                                    \
	{                                                                                          \
		"key", PK_I64, OBJ_OFF(key), INT64_MIN, INT64_MAX, 0, 1                            \
	}
/* ids are non-negative ints */
#define COL_ID(n)                                                                                  \
	{                                                                                          \
		n, PK_I64, OBJ_OFF(id), 0, INT32_MAX, 0, 1                                         \
	}
/* umode_t: 16 bits, including SHM_DEST and SHM_LOCKED */
#define COL_MODE                                                                                   \
	{                                                                                          \
		"perms", PK_MODE, OBJ_OFF(mode), 0, 0, 0177777, 1                                  \
	}
#define COL_U32(n, f, req)                                                                         \
	{                                                                                          \
		n, PK_U32, OBJ_OFF(f), 0, 0, UINT32_MAX, req                                       \
	}
#define COL_U64(n, f, req)                                                                         \
	{                                                                                          \
		n, PK_U64, OBJ_OFF(f), 0, 0, UINT64_MAX, req                                       \
	}
/* pids (0 when not visible in the reader's pid namespace) and epoch times */
#define COL_NONNEG(n, f, req)                                                                      \
	{                                                                                          \
		n, PK_I64, OBJ_OFF(f), 0, INT64_MAX, 0, req                                        \
	}

static const struct procfs_col procfs_shm_cols[] = {
    COL_KEY,
    COL_ID("shmid"),
    COL_MODE,
    COL_U64("size", size, 1),
    COL_NONNEG("cpid", cpid, 1),
    COL_NONNEG("lpid", lpid, 1),
    COL_U64("nattch", nattch, 1),
    COL_U32("uid", uid, 1),
    COL_U32("gid", gid, 1),
    COL_U32("cuid", cuid, 1),
    COL_U32("cgid", cgid, 1),
    COL_NONNEG("atime", atime, 0),
    COL_NONNEG("dtime", dtime, 0),
    COL_NONNEG("ctime", ctime, 0),
    COL_U64("rss", rss, 0),
    COL_U64("swap", swap, 0),
};

static const struct procfs_col procfs_sem_cols[] = {
    COL_KEY,
    COL_ID("semid"),
    COL_MODE,
    /* sem_nsems is an int printed with %10u */
    {"nsems", PK_U64, OBJ_OFF(nsems), 0, 0, UINT32_MAX, 1},
    COL_U32("uid", uid, 1),
    COL_U32("gid", gid, 1),
    COL_U32("cuid", cuid, 1),
    COL_U32("cgid", cgid, 1),
    COL_NONNEG("otime", otime, 0),
    COL_NONNEG("ctime", ctime, 0),
};

static const struct procfs_col procfs_msg_cols[] = {
    COL_KEY,
    COL_ID("msqid"),
    COL_MODE,
    COL_U64("cbytes", cbytes, 1),
    COL_U64("qnum", qnum, 1),
    COL_NONNEG("lspid", lspid, 0),
    COL_NONNEG("lrpid", lrpid, 0),
    COL_U32("uid", uid, 1),
    COL_U32("gid", gid, 1),
    COL_U32("cuid", cuid, 1),
    COL_U32("cgid", cgid, 1),
    COL_NONNEG("stime", stime, 0),
    COL_NONNEG("rtime", rtime, 0),
    COL_NONNEG("ctime", ctime, 0),
};

struct procfs_file {
	const char *name; /* "shm": the file name and the prefix of warnings */
	const char *what; /* for the "missing" warning */
	enum ipc_type type;
	const struct procfs_col *cols;
	size_t ncols;
};

static const struct procfs_file procfs_files[] = {
    {"shm", "shared memory", IPC_SHM, procfs_shm_cols, NELEM(procfs_shm_cols)},
    {"sem", "semaphores", IPC_SEM, procfs_sem_cols, NELEM(procfs_sem_cols)},
    {"msg", "message queues", IPC_MSG, procfs_msg_cols, NELEM(procfs_msg_cols)},
};

/* A short printable copy of untrusted text for a warning. */
static void
procfs_quote(const char *in, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; in[i] != '\0' && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (i == PROCFS_QUOTE_MAX) {
			if (n + 4 >= outlen)
				break;
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		out[n++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
	}
	out[n] = '\0';
}

/* Parses one column value into o.  Returns 0, or -1 with *errstr set. */
static int
procfs_parse_value(const struct procfs_col *c, const char *v, struct ipc_object *o,
                   const char **errstr)
{
	char *dst = (char *)o + c->off;
	int64_t i64;
	uint64_t u64;
	uint32_t u32;

	switch (c->kind) {
	case PK_I64:
		if (parse_i64(v, c->imin, c->imax, &i64, errstr) == -1)
			return -1;
		memcpy(dst, &i64, sizeof(i64));
		return 0;
	case PK_U64:
		if (parse_u64(v, 0, c->umax, &u64, errstr) == -1)
			return -1;
		memcpy(dst, &u64, sizeof(u64));
		return 0;
	case PK_U32:
		if (parse_u64(v, 0, c->umax, &u64, errstr) == -1)
			return -1;
		u32 = (uint32_t)u64;
		memcpy(dst, &u32, sizeof(u32));
		return 0;
	case PK_MODE:
		if (parse_octal(v, &u32, errstr) == -1)
			return -1;
		if (u32 > c->umax) {
			*errstr = "too large";
			return -1;
		}
		memcpy(dst, &u32, sizeof(u32));
		return 0;
	}
	*errstr = "internal: unknown column kind";
	return -1;
}

/*
 * Maps the header's columns to the known ones: colmap[i] is the index in
 * f->cols of header column i, or -1 for a column we do not know.
 */
static int
procfs_header(const struct procfs_file *f, char **hdr, size_t n, int *colmap, char *err,
              size_t errlen)
{
	size_t i, j;
	int seen[PROCFS_FIELDS_MAX] = {0};

	if (n > PROCFS_FIELDS_MAX) {
		snprintf(err, errlen, "%s header: %zu columns, at most %d expected", f->name, n,
		         PROCFS_FIELDS_MAX);
		return -1;
	}
	for (i = 0; i < n; i++) {
		colmap[i] = -1;
		for (j = 0; j < f->ncols; j++) {
			if (strcmp(hdr[i], f->cols[j].name) != 0)
				continue;
			if (seen[j]) {
				snprintf(err, errlen, "%s header: column \"%s\" appears twice",
				         f->name, f->cols[j].name);
				return -1;
			}
			seen[j] = 1;
			colmap[i] = (int)j;
			break;
		}
	}
	for (j = 0; j < f->ncols; j++) {
		if (f->cols[j].required && !seen[j]) {
			snprintf(err, errlen, "%s header: no column \"%s\"", f->name,
			         f->cols[j].name);
			return -1;
		}
	}
	return 0;
}

/*
 * Parses one whole /proc/sysvipc file (text, NUL-terminated).  Returns 0, or
 * -1 with err when the file cannot be used at all (bad header, snapshot full).
 */
static int
procfs_parse_file(const struct procfs_file *f, const char *text, struct snapshot *s, uint32_t scope,
                  struct collect_warnings *w, char *err, size_t errlen)
{
	char line[PROCFS_LINE_MAX + 1];
	char *fld[PROCFS_FIELDS_MAX];
	int colmap[PROCFS_FIELDS_MAX];
	size_t ncols = 0, lineno = 0, n, i;
	int have_header = 0;
	const char *p = text;

	while (*p != '\0') {
		const char *start = p, *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		struct ipc_object obj, *o;
		const char *errstr = NULL;
		int bad = 0;

		lineno++;
		p = nl != NULL ? nl + 1 : p + len;
		if (len > PROCFS_LINE_MAX) {
			if (!have_header) {
				snprintf(err, errlen, "%s line %zu (header): longer than %d bytes",
				         f->name, lineno, PROCFS_LINE_MAX);
				return -1;
			}
			collect_warn(w, "%s line %zu: longer than %d bytes, skipped", f->name,
			             lineno, PROCFS_LINE_MAX);
			continue;
		}
		memcpy(line, start, len);
		line[len] = '\0';
		n = split_fields(line, fld, PROCFS_FIELDS_MAX);
		if (n == 0)
			continue; /* a blank line carries nothing */

		if (!have_header) {
			if (procfs_header(f, fld, n, colmap, err, errlen) == -1)
				return -1;
			ncols = n;
			have_header = 1;
			continue;
		}
		if (n != ncols) {
			collect_warn(w, "%s line %zu: expected %zu fields, got %zu", f->name,
			             lineno, ncols, n);
			continue;
		}

		memset(&obj, 0, sizeof(obj));
		obj.type = f->type;
		obj.scope = scope;
		for (i = 0; i < n; i++) {
			const struct procfs_col *c;
			char q[PROCFS_QUOTE_MAX + 8];

			if (colmap[i] < 0)
				continue;
			c = &f->cols[colmap[i]];
			if (procfs_parse_value(c, fld[i], &obj, &errstr) == -1) {
				procfs_quote(fld[i], q, sizeof(q));
				collect_warn(w, "%s line %zu: column %s: %s (\"%s\"), skipped",
				             f->name, lineno, c->name, errstr, q);
				bad = 1;
				break;
			}
		}
		if (bad)
			continue;
		if ((o = snapshot_add_object(s)) == NULL) {
			if (s->nobjects >= MODEL_MAX_OBJECTS)
				snprintf(err, errlen, "%s line %zu: more than %d IPC objects",
				         f->name, lineno, MODEL_MAX_OBJECTS);
			else
				snprintf(err, errlen, "%s line %zu: out of memory", f->name,
				         lineno);
			return -1;
		}
		*o = obj;
	}
	return 0;
}

/*
 * The public parsers have no error buffer: an error that makes the file
 * unusable is also reported as a warning, and -1 is returned.
 */
static int
procfs_parse_public(const struct procfs_file *f, const char *text, struct snapshot *s,
                    uint32_t scope, struct collect_warnings *w)
{
	char err[MODEL_TEXT_MAX];

	if (procfs_parse_file(f, text, s, scope, w, err, sizeof(err)) == -1) {
		collect_warn(w, "%s", err);
		return -1;
	}
	return 0;
}

int
procfs_parse_shm(const char *text, struct snapshot *s, uint32_t scope, struct collect_warnings *w)
{
	return procfs_parse_public(&procfs_files[0], text, s, scope, w);
}

int
procfs_parse_sem(const char *text, struct snapshot *s, uint32_t scope, struct collect_warnings *w)
{
	return procfs_parse_public(&procfs_files[1], text, s, scope, w);
}

int
procfs_parse_msg(const char *text, struct snapshot *s, uint32_t scope, struct collect_warnings *w)
{
	return procfs_parse_public(&procfs_files[2], text, s, scope, w);
}

/* root + rel into path; -1 with err when it does not fit. */
static int
linux_path(char *path, size_t len, const char *root, const char *rel, char *err, size_t errlen)
{
	if ((size_t)snprintf(path, len, "%s%s", root, rel) >= len) {
		snprintf(err, errlen, "%.64s...%s: path too long", root, rel);
		return -1;
	}
	return 0;
}

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
 * snapshot at a time, so these are touched by one thread at a time.
 */
#define LINUX_SYSCTL_SETS 8

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
static uint64_t
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

/* The set of the calling thread's namespace (made when new), or NULL. */
static struct linux_sysctl_set *
linux_sysctl_set(void)
{
	struct linux_sysctl_set *set = NULL;
	uint64_t ns = linux_thread_ipc_ns();
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
linux_sysctl_read(struct linux_sysctl_set *set, const char *name, char **bufp, size_t *lenp)
{
	char path[64];
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
	if (lseek(set->fd[k], 0, SEEK_SET) == -1 ||
	    read_fd_bounded(set->fd[k], LINUX_READ_FIRST, PROCFS_SMALL_MAX, bufp, lenp) == -1) {
		close(set->fd[k]); /* its namespace is gone, say: open it again next time */
		set->fd[k] = -1;
		return -1;
	}
	return 0;
}

/*
 * Reads a small text file (a limit, osrelease; NAME in /proc/sys/kernel) and
 * trims white space at both ends; through set when not NULL (the live
 * system).  Returns 0 with *bufp (malloc'd, caller frees); -1 with errno
 * (ENOENT, EFBIG, ...), or EINVAL when the file holds a NUL byte.
 */
static int
linux_read_small(struct linux_sysctl_set *set, const char *name, const char *path, char **bufp)
{
	char *buf, *b, *e;
	size_t len;

	*bufp = NULL;
	if (linux_sysctl_read(set, name, &buf, &len) == -1 &&
	    read_file_bounded(path, PROCFS_SMALL_MAX, &buf, &len) == -1)
		return -1;
	if (strlen(buf) != len) {
		free(buf);
		errno = EINVAL;
		return -1;
	}
	for (b = buf; *b == ' ' || *b == '\t' || *b == '\n' || *b == '\r'; b++)
		;
	e = b + strlen(b);
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	*e = '\0';
	memmove(buf, b, (size_t)(e - b) + 1);
	*bufp = buf;
	return 0;
}

static const char *const procfs_sem_names[4] = {"semmsl", "semmns", "semopm", "semmni"};

/* ROOT/proc/sys/kernel/sem: "SEMMSL SEMMNS SEMOPM SEMMNI", all or nothing. */
static int
linux_limits_sem(const char *path, char *text, struct ipc_limits *l, struct collect_warnings *w,
                 char *err, size_t errlen)
{
	char *fld[5];
	uint64_t v[4];
	const char *errstr;
	size_t n, i;

	if (strlen(text) > PROCFS_LINE_MAX || (n = split_fields(text, fld, 5)) != 4) {
		collect_warn(w,
		             "%s: expected four numbers (SEMMSL SEMMNS SEMOPM SEMMNI); "
		             "semaphore limits not reported",
		             path);
		return 0;
	}
	for (i = 0; i < 4; i++) {
		if (parse_u64(fld[i], 0, UINT64_MAX, &v[i], &errstr) == -1) {
			collect_warn(w, "%s: %s: %s; semaphore limits not reported", path,
			             procfs_sem_names[i], errstr);
			return 0;
		}
	}
	for (i = 0; i < 4; i++) {
		if (limits_set(l, procfs_sem_names[i], v[i]) == -1) {
			snprintf(err, errlen, "%s: too many limits", path);
			return -1;
		}
	}
	return 0;
}

int
procfs_read_limits(const char *root, struct ipc_limits *l, struct collect_warnings *w, char *err,
                   size_t errlen)
{
	static const char *const names[] = {
	    "shmmax", "shmall", "shmmni", "sem", "msgmax", "msgmnb", "msgmni", "shm_rmid_forced",
	};
	char path[COLLECT_PATH_MAX + 64], rel[64];
	struct linux_sysctl_set *set = root[0] == '\0' ? linux_sysctl_set() : NULL;
	size_t i;

	for (i = 0; i < NELEM(names); i++) {
		char *text, q[PROCFS_QUOTE_MAX + 8];
		const char *errstr;
		uint64_t v;
		int rc = 0;

		snprintf(rel, sizeof(rel), "/proc/sys/kernel/%s", names[i]);
		if (linux_path(path, sizeof(path), root, rel, err, errlen) == -1)
			return -1;
		if (linux_read_small(set, names[i], path, &text) == -1) {
			if (errno == ENOENT)
				collect_warn(w, "%s: missing; limit %s not reported", path,
				             names[i]);
			else if (errno == EFBIG || errno == EINVAL)
				collect_warn(w, "%s: not a limit value; limit %s not reported",
				             path, names[i]);
			else
				collect_warn(w, "%s: %s; limit %s not reported", path,
				             strerror(errno), names[i]);
			continue;
		}
		if (strcmp(names[i], "sem") == 0) {
			rc = linux_limits_sem(path, text, l, w, err, errlen);
		} else if (parse_u64(text, 0, UINT64_MAX, &v, &errstr) == -1) {
			procfs_quote(text, q, sizeof(q));
			collect_warn(w, "%s: %s (\"%s\"); limit %s not reported", path, errstr, q,
			             names[i]);
		} else if (limits_set(l, names[i], v) == -1) {
			snprintf(err, errlen, "%s: too many limits", path);
			rc = -1;
		}
		free(text);
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* os_release from ROOT/proc/sys/kernel/osrelease; a problem is a warning. */
static void
linux_read_release(const char *root, struct snapshot *s, struct collect_warnings *w)
{
	char path[COLLECT_PATH_MAX + 64], err[MODEL_TEXT_MAX];
	char *text;
	size_t i, n;

	s->os_release[0] = '\0';
	if (linux_path(path, sizeof(path), root, "/proc/sys/kernel/osrelease", err, sizeof(err)) ==
	    -1) {
		collect_warn(w, "%s", err);
		return;
	}
	if (linux_read_small(root[0] == '\0' ? linux_sysctl_set() : NULL, "osrelease", path,
	                     &text) == -1) {
		collect_warn(w, "%s: %s; os_release not reported", path,
		             errno == EINVAL || errno == EFBIG ? "not a release string"
		                                               : strerror(errno));
		return;
	}
	n = strlen(text);
	for (i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x21 || (unsigned char)text[i] > 0x7e)
			break;
	if (n == 0 || i < n || n >= sizeof(s->os_release))
		collect_warn(w, "%s: not a release string; os_release not reported", path);
	else
		memcpy(s->os_release, text, n + 1);
	free(text);
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
 *     its opener's (the same thread); msg's qbytes, which the file lacks,
 *     stays 0;
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
 * linux_stat_objects() return 0 and the caller reads the file as always.
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
/* glibc leaves union semun to the caller */
union linux_semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *info;
};

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

static int
linux_stat_sem(struct snapshot *s, uint32_t scope)
{
#ifdef SEM_STAT_ANY
	union linux_semun arg;
	struct seminfo si;
	int maxidx;

	memset(&si, 0, sizeof(si));
	arg.info = &si;
	if ((maxidx = semctl(0, 0, SEM_INFO, arg)) == -1)
		return 0;
	return linux_stat_each(s, scope, maxidx, si.semusz, linux_sem_one);
#else
	(void)s;
	(void)scope;
	return 0;
#endif
}

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
	/* qbytes stays 0: the file has no such column */
	return id;
}
#endif

static int
linux_stat_msg(struct snapshot *s, uint32_t scope)
{
#ifdef MSG_STAT_ANY
	struct msginfo mi;
	int maxidx;

	memset(&mi, 0, sizeof(mi));
	if ((maxidx = msgctl(0, MSG_INFO, (struct msqid_ds *)(void *)&mi)) == -1)
		return 0;
	return linux_stat_each(s, scope, maxidx, mi.msgpool, linux_msg_one);
#else
	(void)s;
	(void)scope;
	return 0;
#endif
}

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
	/* rss and swap are 0: SHM_INFO's totals said so (linux_stat_shm) */
	return id;
}
#endif

static int
linux_stat_shm(struct snapshot *s, uint32_t scope)
{
#ifdef SHM_STAT_ANY
	struct shm_info si;
	int maxidx;

	memset(&si, 0, sizeof(si));
	if ((maxidx = shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&si)) == -1 ||
	    si.shm_rss != 0 || si.shm_swp != 0)
		return 0; /* resident or swapped pages: only the file has them per segment */
	return linux_stat_each(s, scope, maxidx, si.used_ids, linux_shm_one);
#else
	(void)s;
	(void)scope;
	return 0;
#endif
}

/*
 * The objects of type f->type on the live system without the /proc text:
 * 1 when s has them all, 0 (s as it was) when the file must be read.
 */
static int
linux_stat_objects(const struct procfs_file *f, struct snapshot *s, uint32_t scope)
{
	size_t before = s->nobjects;
	int ok = 0;

	switch (f->type) {
	case IPC_SHM:
		ok = linux_stat_shm(s, scope);
		break;
	case IPC_SEM:
		ok = linux_stat_sem(s, scope);
		break;
	case IPC_MSG:
		ok = linux_stat_msg(s, scope);
		break;
	}
	if (!ok)
		s->nobjects = before; /* what was added is forgotten; the file decides */
	return ok;
}

/* One /proc/sysvipc file into s, in scope.  A missing file is a warning. */
static int
linux_read_objects(const char *root, const struct procfs_file *f, struct snapshot *s,
                   uint32_t scope, struct collect_warnings *w, char *err, size_t errlen)
{
	char path[COLLECT_PATH_MAX + 64], rel[32], perr[MODEL_TEXT_MAX];
	char *text;
	size_t len;

	/* the live system: the same objects, cheaper, when that can be exact */
	if (root[0] == '\0' && linux_stat_objects(f, s, scope))
		return 0;
	snprintf(rel, sizeof(rel), "/proc/sysvipc/%s", f->name);
	if (linux_path(path, sizeof(path), root, rel, err, errlen) == -1)
		return -1;
	if (read_file_bounded(path, COLLECT_FILE_MAX, &text, &len) == -1) {
		if (errno == ENOENT) {
			collect_warn(w, "%s: missing: the kernel has no SysV %s", path, f->what);
			return 0;
		}
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %u bytes", path, COLLECT_FILE_MAX);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* the parser sees text up to the first NUL; say so when that is not all */
	if (strlen(text) != len)
		collect_warn(w, "%s: NUL byte at offset %zu, the rest is ignored", path,
		             strlen(text));
	if (procfs_parse_file(f, text, s, scope, w, perr, sizeof(perr)) == -1) {
		snprintf(err, errlen, "%s: %s", path, perr);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

int
procfs_read_objects(const char *root, struct snapshot *s, uint32_t scope,
                    struct collect_warnings *w, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < NELEM(procfs_files); i++)
		if (linux_read_objects(root, &procfs_files[i], s, scope, w, err, errlen) == -1)
			return -1;
	return 0;
}

/* An owner name: 1 to MODEL_OWNER_MAX - 1 bytes, no control characters. */
static int
linux_owner_ok(const char *name, size_t n)
{
	size_t i;

	if (n == 0 || n >= MODEL_OWNER_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

int
linux_passwd_name(const char *text, uint32_t uid, char *out, size_t outlen)
{
	const char *p = text;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *c1 = memchr(p, ':', len), *c2, *c3;
		char num[16];
		uint64_t v;
		const char *errstr;

		/* name:password:uid:...; NIS "+"/"-" entries are not names */
		if (c1 != NULL && c1 > p && *p != '+' && *p != '-' &&
		    (c2 = memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - p))) != NULL &&
		    (c3 = memchr(c2 + 1, ':', len - (size_t)(c2 + 1 - p))) != NULL &&
		    (size_t)(c3 - c2 - 1) < sizeof(num)) {
			memcpy(num, c2 + 1, (size_t)(c3 - c2 - 1));
			num[c3 - c2 - 1] = '\0';
			if (parse_u64(num, 0, UINT32_MAX, &v, &errstr) == 0 && v == uid) {
				size_t n = (size_t)(c1 - p);

				if (!linux_owner_ok(p, n) || n >= outlen)
					return -1;
				memcpy(out, p, n);
				out[n] = '\0';
				return 0;
			}
		}
		p = nl != NULL ? nl + 1 : p + len;
	}
	return -1;
}

#define LINUX_PASSWD_MAX  (4u * 1024 * 1024)
#define LINUX_OWNER_CACHE 64

/*
 * Reads a passwd file that must be a regular file: a container chooses what
 * its /etc/passwd is, and a FIFO or device must not block or feed the agent.
 * Returns the NUL-terminated text (caller frees) or NULL.
 */
static char *
linux_read_passwd(const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > LINUX_PASSWD_MAX ||
	    (buf = malloc((cap = (size_t)st.st_size) + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	/* a file that grows while we read is cut at the size fstat saw */
	while (len < cap) {
		r = read(fd, buf + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* The name of uid from the system's user database, or -1. */
static int
linux_nss_name(uint32_t uid, char *out, size_t outlen)
{
	struct passwd pw, *res = NULL;
	char buf[16384];

	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) != 0 || res == NULL ||
	    res->pw_name == NULL || !linux_owner_ok(res->pw_name, strlen(res->pw_name)) ||
	    strlen(res->pw_name) >= outlen)
		return -1;
	memcpy(out, res->pw_name, strlen(res->pw_name) + 1);
	return 0;
}

void
linux_set_owners(struct snapshot *s, uint32_t scope, const char *passwd_path)
{
	struct {
		uint32_t uid;
		char name[MODEL_OWNER_MAX]; /* "" when the uid has no usable name */
	} cache[LINUX_OWNER_CACHE];
	size_t ncache = 0, i, k;
	char *text = NULL;

	/* a scope without objects has no owners to name: its passwd is not read */
	for (i = 0; i < s->nobjects && s->objects[i].scope != scope; i++)
		;
	if (i == s->nobjects)
		return;
	if (passwd_path != NULL && (text = linux_read_passwd(passwd_path)) == NULL)
		return;
	for (i = 0; i < s->nobjects; i++) {
		struct ipc_object *o = &s->objects[i];
		char name[MODEL_OWNER_MAX] = "";

		if (o->scope != scope)
			continue;
		for (k = 0; k < ncache; k++)
			if (cache[k].uid == o->uid)
				break;
		if (k < ncache) {
			memcpy(o->owner, cache[k].name, sizeof(o->owner));
			continue;
		}
		if ((text != NULL ? linux_passwd_name(text, o->uid, name, sizeof(name))
		                  : linux_nss_name(o->uid, name, sizeof(name))) == -1)
			name[0] = '\0';
		memcpy(o->owner, name, sizeof(o->owner));
		if (ncache < LINUX_OWNER_CACHE) {
			cache[ncache].uid = o->uid;
			memcpy(cache[ncache].name, name, sizeof(name));
			ncache++;
		}
	}
	free(text);
}

/*
 * On error, s may hold part of what was read; the caller frees it with
 * snapshot_free as usual.
 */
int
collect_linux(const char *root, struct snapshot *s, struct proc_table *pt,
              struct collect_warnings *w, char *err, size_t errlen)
{
	char path[COLLECT_PATH_MAX + 64];
	struct stat st;
	long pg;

	if (pt != NULL) {
		pt->n = 0;
		pt->valid = 0; /* only the live system's processes are known */
	}
	/* no ROOT/proc at all is a wrong directory, not a kernel without IPC */
	if (linux_path(path, sizeof(path), root, "/proc", err, errlen) == -1)
		return -1;
	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	ifl_strlcpy(s->os, "Linux", sizeof(s->os));
	pg = sysconf(_SC_PAGESIZE);
	if (pg <= 0 || (unsigned long)pg > UINT32_MAX) {
		snprintf(err, errlen, "cannot determine the page size");
		return -1;
	}
	s->page_size = (uint32_t)pg;
	linux_read_release(root, s, w);
	if (procfs_read_limits(root, &s->limits, w, err, errlen) == -1)
		return -1;
	/* the agent's own IPC namespace is scope 0, the host */
	if (procfs_read_objects(root, s, 0, w, err, errlen) == -1)
		return -1;
	if (root[0] != '\0') {
		if (linux_path(path, sizeof(path), root, "/etc/passwd", err, errlen) == -1)
			return -1;
		linux_set_owners(s, 0, path);
		return 0;
	}
	linux_set_owners(s, 0, NULL);
	/* the other IPC namespaces, and the processes for orphan detection */
	return collect_ns(s, pt, w, err, errlen);
}
