/*
 * procfs.c: Linux's /proc/sysvipc and /proc/sys/kernel, as text (collect.h).
 *
 * Portable: it reads a copied tree (--source linux-root:DIR) on any system,
 * and the running Linux system through the hooks of agent/linux/ (struct
 * procfs_live), which only make the same reads cheaper.
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
#include "text.h"
#include "util.h"

#define PROCFS_LINE_MAX   4096 /* bytes in one line, without the newline */
#define PROCFS_FIELDS_MAX 32   /* columns in a header (and fields stored per line) */
#define PROCFS_QUOTE_MAX  24   /* bytes of a bad value quoted in a warning */

/* How a column's text becomes a field of struct ipc_object. */
enum procfs_kind {
	PK_I64,  /* int64_t in [imin, imax] */
	PK_U64,  /* uint64_t in [0, umax] */
	PK_U32,  /* uint32_t in [0, umax] */
	PK_MODE, /* uint32_t, octal, in [0, umax] */
};

/*
 * A column of a /proc/sysvipc file.  Columns with a field bit (of) are not
 * needed to count an object: a bad value there leaves that field unknown
 * and keeps the line (linprocfs prints -1 for rss and swap).  A bad value in
 * the others (of 0: key, id, perms, owners) skips the line, and then the
 * counts of its type are unknown.
 */
struct procfs_col {
	const char *name; /* as in the kernel's header line */
	enum procfs_kind kind;
	size_t off; /* offset of the field in struct ipc_object */
	int64_t imin, imax;
	uint64_t umax;
	int required;
	uint32_t of; /* enum obj_field bit, 0 for the columns a line needs */
};

#define OBJ_OFF(f) offsetof(struct ipc_object, f)
/* key: a key_t printed with %d; accept any int64 as the brief allows */
#define COL_KEY                                                                                    \
	{                                                                                          \
		"key", PK_I64, OBJ_OFF(key), INT64_MIN, INT64_MAX, 0, 1, 0                         \
	}
/* ids are non-negative ints */
#define COL_ID(n)                                                                                  \
	{                                                                                          \
		n, PK_I64, OBJ_OFF(id), 0, INT32_MAX, 0, 1, 0                                      \
	}
/* umode_t: 16 bits, including SHM_DEST and SHM_LOCKED */
#define COL_MODE                                                                                   \
	{                                                                                          \
		"perms", PK_MODE, OBJ_OFF(mode), 0, 0, 0177777, 1, 0                               \
	}
#define COL_U32(n, f, req)                                                                         \
	{                                                                                          \
		n, PK_U32, OBJ_OFF(f), 0, 0, UINT32_MAX, req, 0                                    \
	}
#define COL_U64(n, f, req, bit)                                                                    \
	{                                                                                          \
		n, PK_U64, OBJ_OFF(f), 0, 0, UINT64_MAX, req, bit                                  \
	}
/* the columns every file starts with: key, the id (its name per file), perms */
#define COL_HEAD(id) COL_KEY, COL_ID(id), COL_MODE
/* the owner and creator, in every file */
#define COL_OWNERS                                                                                 \
	COL_U32("uid", uid, 1), COL_U32("gid", gid, 1), COL_U32("cuid", cuid, 1),                  \
	    COL_U32("cgid", cgid, 1)
/* pids (0 when not visible in the reader's pid namespace) and epoch times */
#define COL_NONNEG(n, f, req, bit)                                                                 \
	{                                                                                          \
		n, PK_I64, OBJ_OFF(f), 0, INT64_MAX, 0, req, bit                                   \
	}

static const struct procfs_col procfs_shm_cols[] = {
    COL_HEAD("shmid"),
    COL_U64("size", size, 1, OF_SIZE),
    COL_NONNEG("cpid", cpid, 1, OF_CPID),
    COL_NONNEG("lpid", lpid, 1, OF_LPID),
    COL_U64("nattch", nattch, 1, OF_NATTCH),
    COL_OWNERS,
    COL_NONNEG("atime", atime, 0, OF_ATIME),
    COL_NONNEG("dtime", dtime, 0, OF_DTIME),
    COL_NONNEG("ctime", ctime, 0, OF_CTIME),
    COL_U64("rss", rss, 0, OF_RSS),
    COL_U64("swap", swap, 0, OF_SWAP),
};

static const struct procfs_col procfs_sem_cols[] = {
    COL_HEAD("semid"),
    /* sem_nsems is an int printed with %10u */
    {"nsems", PK_U64, OBJ_OFF(nsems), 0, 0, UINT32_MAX, 1, OF_NSEMS},
    COL_OWNERS,
    COL_NONNEG("otime", otime, 0, OF_OTIME),
    COL_NONNEG("ctime", ctime, 0, OF_CTIME),
};

static const struct procfs_col procfs_msg_cols[] = {
    COL_HEAD("msqid"),
    COL_U64("cbytes", cbytes, 1, OF_CBYTES),
    COL_U64("qnum", qnum, 1, OF_QNUM),
    COL_NONNEG("lspid", lspid, 0, OF_LSPID),
    COL_NONNEG("lrpid", lrpid, 0, OF_LRPID),
    COL_OWNERS,
    COL_NONNEG("stime", stime, 0, OF_STIME),
    COL_NONNEG("rtime", rtime, 0, OF_RTIME),
    COL_NONNEG("ctime", ctime, 0, OF_CTIME),
};

struct procfs_file {
	const char *name; /* "shm": the file name and the prefix of warnings */
	const char *what; /* for the "missing" warning */
	enum ipc_type type;
	const struct procfs_col *cols;
	size_t ncols;
	uint32_t fields; /* the type's fields (enum obj_field); a header without
	                  * a column for one leaves it unknown: msg's qbytes,
	                  * and rss and swap before Linux 4.5 */
};

static const struct procfs_file procfs_files[] = {
    {"shm", "shared memory", IPC_SHM, procfs_shm_cols, NELEM(procfs_shm_cols),
     OF_SIZE | OF_NATTCH | OF_CPID | OF_LPID | OF_ATIME | OF_DTIME | OF_RSS | OF_SWAP | OF_CTIME},
    {"sem", "semaphores", IPC_SEM, procfs_sem_cols, NELEM(procfs_sem_cols),
     OF_NSEMS | OF_OTIME | OF_CTIME},
    {"msg", "message queues", IPC_MSG, procfs_msg_cols, NELEM(procfs_msg_cols),
     OF_CBYTES | OF_QNUM | OF_QBYTES | OF_LSPID | OF_LRPID | OF_STIME | OF_RTIME | OF_CTIME},
};

/* A short printable copy of untrusted text for a warning (text_quote()). */
static void
procfs_quote(const char *in, char *out, size_t outlen)
{
	text_quote(in, out, outlen, PROCFS_QUOTE_MAX);
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

/* A line that could not be counted: the counts of its type are unknown. */
static void
procfs_lost(const struct procfs_file *f, struct snapshot *s, uint32_t scope, size_t lineno,
            const char *what)
{
	snapshot_unknown_type(s, scope, f->type, "sysvipc/%s line %zu: %s", f->name, lineno, what);
}

/*
 * Parses one whole /proc/sysvipc file (text, NUL-terminated).  Returns 0, or
 * -1 with err when the file cannot be used at all (bad header, snapshot full).
 * A file without even its header makes that type's counts unknown.
 */
static int
procfs_parse_file(const struct procfs_file *f, const char *text, struct snapshot *s, uint32_t scope,
                  struct collect_warnings *w, char *err, size_t errlen)
{
	char line[PROCFS_LINE_MAX + 1];
	char *fld[PROCFS_FIELDS_MAX];
	int colmap[PROCFS_FIELDS_MAX];
	size_t ncols = 0, lineno = 0, n, i;
	uint32_t missing = 0;
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
			procfs_lost(f, s, scope, lineno, "longer than the agent reads");
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
			missing = f->fields;
			for (i = 0; i < n; i++)
				if (colmap[i] >= 0)
					missing &= ~f->cols[colmap[i]].of;
			continue;
		}
		if (n != ncols) {
			collect_warn(w, "%s line %zu: expected %zu fields, got %zu", f->name,
			             lineno, ncols, n);
			procfs_lost(f, s, scope, lineno, "wrong number of fields");
			continue;
		}

		memset(&obj, 0, sizeof(obj));
		obj.type = f->type;
		obj.scope = scope;
		obj.unknown = missing;
		for (i = 0; i < n && !bad; i++) {
			const struct procfs_col *c;
			char q[PROCFS_QUOTE_MAX + 8];

			if (colmap[i] < 0)
				continue;
			c = &f->cols[colmap[i]];
			if (procfs_parse_value(c, fld[i], &obj, &errstr) == 0)
				continue;
			procfs_quote(fld[i], q, sizeof(q));
			collect_warn(w, "%s line %zu: column %s: %s (\"%s\"), %s", f->name, lineno,
			             c->name, errstr, q, c->of != 0 ? "unknown" : "skipped");
			/* a field no count needs is only unknown; the object stays */
			if (c->of != 0)
				obj.unknown |= c->of;
			else
				bad = 1;
		}
		if (bad) {
			procfs_lost(f, s, scope, lineno, "a value could not be read");
			continue;
		}
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
	if (!have_header) {
		/* the kernel always writes the header: a copy made with tar (which
		 * stores /proc files, all of size 0, empty), not "no objects" */
		collect_warn(w, "sysvipc/%s: empty, not even its header line: %s unknown", f->name,
		             f->what);
		snapshot_unknown_type(s, scope, f->type,
		                      "sysvipc/%s: empty, not even its header line", f->name);
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
 * Reads a small text file (a limit, osrelease; NAME in /proc/sys/kernel) and
 * trims white space at both ends; through set when not NULL (the live
 * system).  Returns 0 with *bufp (malloc'd, caller frees); -1 with errno
 * (ENOENT, EFBIG, ...), or EINVAL when the file holds a NUL byte.
 */
static int
linux_read_small(const struct procfs_live *live, const char *name, const char *path, char **bufp)
{
	char *buf, *b;
	size_t len;

	*bufp = NULL;
	if ((live == NULL || live->sysctl_read(live->sysctl, name, &buf, &len) == -1) &&
	    read_regular_bounded(path, PROCFS_SMALL_MAX, &buf, &len) == -1)
		return -1;
	if (strlen(buf) != len) {
		free(buf);
		errno = EINVAL;
		return -1;
	}
	b = trim_space(buf);
	memmove(buf, b, strlen(b) + 1);
	*bufp = buf;
	return 0;
}

static const char *const procfs_sem_names[4] = {"semmsl", "semmns", "semopm", "semmni"};

/* A limit that could not be read: unknown (unk NULL: only the warning). */
static void
linux_limit_unknown(struct unknowns *unk, const char *name, const char *path, const char *why)
{
	if (unk != NULL)
		unknowns_add(unk, UNK_LIMIT, name, "%s: %s", path, why);
}

/* ROOT/proc/sys/kernel/sem: "SEMMSL SEMMNS SEMOPM SEMMNI", all or nothing. */
static int
linux_limits_sem(const char *path, char *text, struct ipc_limits *l, struct unknowns *unk,
                 struct collect_warnings *w, char *err, size_t errlen)
{
	char *fld[5];
	uint64_t v[4];
	const char *errstr = NULL;
	size_t n, i;

	if (strlen(text) > PROCFS_LINE_MAX || (n = split_fields(text, fld, 5)) != 4) {
		collect_warn(w,
		             "%s: expected four numbers (SEMMSL SEMMNS SEMOPM SEMMNI); "
		             "semaphore limits not reported",
		             path);
		errstr = "not four numbers";
	}
	for (i = 0; i < 4 && errstr == NULL; i++) {
		if (parse_u64(fld[i], 0, UINT64_MAX, &v[i], &errstr) == -1)
			collect_warn(w, "%s: %s: %s; semaphore limits not reported", path,
			             procfs_sem_names[i], errstr);
	}
	if (errstr != NULL) {
		for (i = 0; i < 4; i++)
			linux_limit_unknown(unk, procfs_sem_names[i], path, errstr);
		return 0;
	}
	for (i = 0; i < 4; i++) {
		if (limits_set(l, procfs_sem_names[i], v[i]) == -1) {
			snprintf(err, errlen, "%s: too many limits", path);
			return -1;
		}
	}
	return 0;
}

const char *const procfs_limit_names[10] = {
    "shmmax", "shmall", "shmmni", "semmsl", "semmns",
    "semopm", "semmni", "msgmax", "msgmnb", "msgmni",
};

int
procfs_read_limits(const char *root, const struct procfs_live *live, struct ipc_limits *l,
                   struct unknowns *unk, struct collect_warnings *w, char *err, size_t errlen)
{
	static const char *const names[] = {
	    "shmmax", "shmall", "shmmni", "sem", "msgmax", "msgmnb", "msgmni", "shm_rmid_forced",
	};
	char path[COLLECT_PATH_MAX + 64], rel[64];
	uint64_t info[10];
	size_t i = 0, k;

	/* the running system: the same values without opening seven files */
	if (live != NULL && live->ipc_info != NULL && live->ipc_info(info) == 0) {
		for (k = 0; k < NELEM(info); k++) {
			if (limits_set(l, procfs_limit_names[k], info[k]) == -1) {
				snprintf(err, errlen, "too many limits");
				return -1;
			}
		}
		i = NELEM(names) - 1; /* only shm_rmid_forced is left to read */
	}
	for (; i < NELEM(names); i++) {
		char *text, q[PROCFS_QUOTE_MAX + 8];
		const char *errstr;
		uint64_t v;
		int rc = 0;

		snprintf(rel, sizeof(rel), "/proc/sys/kernel/%s", names[i]);
		if (linux_path(path, sizeof(path), root, rel, err, errlen) == -1)
			return -1;
		if (linux_read_small(live, names[i], path, &text) == -1) {
			const char *why = errno == ENOENT                     ? "missing"
			                  : errno == EFBIG || errno == EINVAL ? "not a limit value"
			                                                      : strerror(errno);

			collect_warn(w, "%s: %s; limit %s not reported", path, why, names[i]);
			if (strcmp(names[i], "sem") == 0) {
				for (k = 0; k < 4; k++)
					linux_limit_unknown(unk, procfs_sem_names[k], path, why);
			} else {
				linux_limit_unknown(unk, names[i], path, why);
			}
			continue;
		}
		if (strcmp(names[i], "sem") == 0) {
			rc = linux_limits_sem(path, text, l, unk, w, err, errlen);
		} else if (parse_u64(text, 0, UINT64_MAX, &v, &errstr) == -1) {
			procfs_quote(text, q, sizeof(q));
			collect_warn(w, "%s: %s (\"%s\"); limit %s not reported", path, errstr, q,
			             names[i]);
			linux_limit_unknown(unk, names[i], path, errstr);
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
linux_read_release(const char *root, const struct procfs_live *live, struct snapshot *s,
                   struct collect_warnings *w)
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
	if (linux_read_small(live, "osrelease", path, &text) == -1) {
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

/* One /proc/sysvipc file into s, in scope.  A missing file is a warning. */
static int
linux_read_objects(const char *root, const struct procfs_live *live, const struct procfs_file *f,
                   struct snapshot *s, uint32_t scope, struct collect_warnings *w, char *err,
                   size_t errlen)
{
	char path[COLLECT_PATH_MAX + 64], rel[32], perr[MODEL_TEXT_MAX];
	char *text;
	size_t len;

	/* the live system: the same objects, cheaper, when that can be exact */
	if (live != NULL) {
		size_t before = s->nobjects;

		if (live->stat_objects(f->type, s, scope))
			return 0;
		s->nobjects = before; /* what was added is forgotten; the file decides */
	}
	snprintf(rel, sizeof(rel), "/proc/sysvipc/%s", f->name);
	if (linux_path(path, sizeof(path), root, rel, err, errlen) == -1)
		return -1;
	if (read_regular_bounded(path, COLLECT_FILE_MAX, &text, &len) == -1) {
		if (errno == ENOENT) {
			/* a copy left incomplete, or a kernel without it: cannot tell */
			collect_warn(w, "%s: missing: %s unknown", path, f->what);
			snapshot_unknown_type(s, scope, f->type, "%s: missing", path);
			return 0;
		}
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %u bytes", path, COLLECT_FILE_MAX);
		else if (errno == EINVAL)
			snprintf(err, errlen, "%s: not a regular file", path);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* the parser sees text up to the first NUL; say so when that is not all */
	if (strlen(text) != len) {
		collect_warn(w, "%s: NUL byte at offset %zu, the rest is ignored", path,
		             strlen(text));
		snapshot_unknown_type(s, scope, f->type, "%s: NUL byte at offset %zu", path,
		                      strlen(text));
	}
	if (procfs_parse_file(f, text, s, scope, w, perr, sizeof(perr)) == -1) {
		snprintf(err, errlen, "%s: %s", path, perr);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

int
procfs_read_objects(const char *root, const struct procfs_live *live, struct snapshot *s,
                    uint32_t scope, struct collect_warnings *w, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < NELEM(procfs_files); i++)
		if (linux_read_objects(root, live, &procfs_files[i], s, scope, w, err, errlen) ==
		    -1)
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
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > LINUX_PASSWD_MAX ||
	    (buf = malloc((cap = (size_t)st.st_size) + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	/* a file that grows while we read is cut at the size fstat saw; an
	 * error ends it as the end of the file would */
	(void)read_fd_full(fd, buf, cap, &len);
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

/*
 * The last passwd file read, kept with what identifies its content: on a
 * busy host hundreds of namespaces share one root, so one file (issue 17:
 * its open, read and close for each namespace were a twentieth of the
 * agent's CPU).  A file whose inode, size, modification and change times
 * are all the same is taken to hold the same text: any write changes the
 * change time, though only by the kernel's clock tick, so a file changed
 * in the last LINUX_PASSWD_SETTLE seconds before it was read is not
 * trusted (a second write in the same tick would look the same).  One
 * snapshot at a time uses it (the collector's thread).
 */
#define LINUX_PASSWD_SETTLE 2
static struct {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	int trusted;
	char *text;
} linux_passwd_kept;

static int
linux_ts_eq(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* The text of the passwd file at path, kept or read (and kept); NULL when it cannot be read. */
static const char *
linux_passwd_text(const char *path)
{
	struct stat st;
	char *text;

	if (stat(path, &st) == -1)
		return NULL;
	if (linux_passwd_kept.trusted && linux_passwd_kept.dev == st.st_dev &&
	    linux_passwd_kept.ino == st.st_ino && linux_passwd_kept.size == st.st_size &&
	    linux_ts_eq(&linux_passwd_kept.mtim, &st.st_mtim) &&
	    linux_ts_eq(&linux_passwd_kept.ctim, &st.st_ctim))
		return linux_passwd_kept.text;
	if ((text = linux_read_passwd(path)) == NULL)
		return NULL;
	free(linux_passwd_kept.text);
	/* kept under what stat said: a file changed meanwhile is read again next time */
	linux_passwd_kept.dev = st.st_dev;
	linux_passwd_kept.ino = st.st_ino;
	linux_passwd_kept.size = st.st_size;
	linux_passwd_kept.mtim = st.st_mtim;
	linux_passwd_kept.ctim = st.st_ctim;
	linux_passwd_kept.trusted = now_unix() - (int64_t)st.st_ctim.tv_sec >= LINUX_PASSWD_SETTLE;
	linux_passwd_kept.text = text;
	return text;
}

void
linux_set_owners(struct snapshot *s, uint32_t scope, const char *passwd_path)
{
	linux_set_owners_range(s, scope, passwd_path, 0, s->nobjects);
}

void
linux_set_owners_range(struct snapshot *s, uint32_t scope, const char *passwd_path, size_t first,
                       size_t end)
{
	struct {
		uint32_t uid;
		char name[MODEL_OWNER_MAX]; /* "" when the uid has no usable name */
	} cache[LINUX_OWNER_CACHE];
	size_t ncache = 0, i, k;
	const char *text = NULL;

	if (end > s->nobjects)
		end = s->nobjects;
	/* a scope without objects has no owners to name: its passwd is not read */
	for (i = first; i < end && s->objects[i].scope != scope; i++)
		;
	if (i >= end)
		return;
	first = i;
	if (passwd_path != NULL && (text = linux_passwd_text(passwd_path)) == NULL)
		return;
	for (i = first; i < end; i++) {
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
}

/*
 * A copied tree's page size: ROOT/pagesize, one number as `getconf
 * PAGESIZE` prints it on the system the tree was copied from.  shmall and
 * its usage count pages, and nothing under /proc says how large a page was
 * (4 KiB on x86_64, 16 or 64 KiB on some arm64 and ppc64le kernels).
 * Without the file *pg keeps this machine's page size; a file that is there
 * but unreadable or not a power of two from 512 to 1 MiB is an error
 * rather than a guess.
 */
static int
linux_root_page_size(const char *root, uint32_t *pg, char *err, size_t errlen)
{
	char path[COLLECT_PATH_MAX + 64];
	char *text;

	if (linux_path(path, sizeof(path), root, "/pagesize", err, errlen) == -1)
		return -1;
	if (linux_read_small(NULL, "pagesize", path, &text) == -1) {
		if (errno == ENOENT)
			return 0;
		if (errno != EINVAL && errno != EFBIG) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		text = NULL; /* a NUL byte, or too large: not a page size */
	}
	if (text == NULL || collect_parse_page_size(text, pg) == -1) {
		snprintf(err, errlen,
		         "%s: not a page size (" COLLECT_PAGE_SIZES
		         ", as `getconf PAGESIZE` prints it)",
		         path);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

/*
 * The host's scope from ROOT: OS, page size, release, limits and objects.
 * On error, s may hold part of what was read; the caller frees it with
 * snapshot_free as usual.
 */
int
procfs_collect(const char *root, const struct procfs_live *live, struct snapshot *s,
               struct collect_warnings *w, char *err, size_t errlen)
{
	char path[COLLECT_PATH_MAX + 64];
	struct stat st;
	long pg;

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
	if (live == NULL && linux_root_page_size(root, &s->page_size, err, errlen) == -1)
		return -1;
	linux_read_release(root, live, s, w);
	if (procfs_read_limits(root, live, &s->limits, &s->unknown, w, err, errlen) == -1)
		return -1;
	/* the agent's own IPC namespace (or the tree's) is scope 0, the host */
	return procfs_read_objects(root, live, s, 0, w, err, errlen);
}

int
collect_linux_root(const char *root, struct snapshot *s, struct proc_table *pt,
                   struct collect_warnings *w, char *err, size_t errlen)
{
	char path[COLLECT_PATH_MAX + 64];

	if (pt != NULL) {
		pt->n = 0;
		pt->valid = 0; /* only the live system's processes are known */
	}
	if (root[0] == '\0') {
		snprintf(err, errlen, "linux-root: DIR is empty");
		return -1;
	}
	if (procfs_collect(root, NULL, s, w, err, errlen) == -1)
		return -1;
	if (linux_path(path, sizeof(path), root, "/etc/passwd", err, errlen) == -1)
		return -1;
	linux_set_owners(s, 0, path);
	if (removeipc_findings(root, s) == -1) {
		snprintf(err, errlen, "RemoveIPC: out of memory");
		return -1;
	}
	return 0;
}
