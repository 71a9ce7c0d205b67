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

/* "auto", "linux", "linux-root:DIR", "freebsd", "freebsd-capture:DIR". */
int source_parse(const char *spec, struct source *src, char *err, size_t errlen);

/*
 * Fills s (initialised by snapshot_init) from src.  Returns 0; -1 with err
 * when the source cannot be read at all.  seq and taken are left to the
 * caller; page_size, os and os_release are set.
 */
int collect(const struct source *src, struct snapshot *s, struct collect_warnings *w, char *err,
	    size_t errlen);

/* collect_linux.c: root is "" for the live system, else a directory. */
int collect_linux(const char *root, struct snapshot *s, struct collect_warnings *w, char *err,
		  size_t errlen);
/* The parsers behind it, exposed for unit tests and fuzzing: text is one
 * whole /proc/sysvipc file, NUL-terminated. */
int procfs_parse_shm(const char *text, struct snapshot *s, uint32_t scope,
		     struct collect_warnings *w);
int procfs_parse_sem(const char *text, struct snapshot *s, uint32_t scope,
		     struct collect_warnings *w);
int procfs_parse_msg(const char *text, struct snapshot *s, uint32_t scope,
		     struct collect_warnings *w);
/* Reads root/proc/sys/kernel/{shmmax,shmall,shmmni,sem,msgmax,msgmnb,msgmni,...}. */
int procfs_read_limits(const char *root, struct ipc_limits *l, struct collect_warnings *w,
		       char *err, size_t errlen);

#endif
