/*
 * fbsd_local.h: what the FreeBSD collector's files share among themselves
 * (collect_freebsd.h is what they offer the rest of the agent).
 *
 *   fbsd_text.c     lines and fields of tools' output; user and group names
 *   fbsd_sysctl.c   sysctl kern.ipc, pagesize, date
 *   fbsd_ipcs.c     ipcs -a (and its parts), its times and modes
 *   fbsd_jls.c      jls -n, ps -axo pid,jid,uid,comm
 *   fbsd_attrib.c   the host's inventory indexed; objects moved to jails
 *   fbsd_rctl.c     rctl and rctl -u: per-jail limits and usage (racct)
 *   fbsd_input.c    every input, from the running system or a capture
 *   collect_freebsd.c  the collection that drives them (collect_freebsd())
 *
 * All of it is portable: it parses what FreeBSD's tools print, so it is
 * built and tested on Linux too (docs/FREEBSD.md).
 */
#ifndef IPCFLEET_FBSD_LOCAL_H
#define IPCFLEET_FBSD_LOCAL_H

#include <stddef.h>
#include <stdint.h>

#include "collect.h"
#include "collect_freebsd.h"
#include "model.h"

#define FBSD_QUOTE_MAX 24             /* bytes of a bad value quoted in a warning */
#define FBSD_SMALL_MAX 256            /* one-value inputs: pagesize, date, uname */
#define FBSD_TIME_MAX  253402300799LL /* 9999-12-31T23:59:59Z */
#define FBSD_DAY       86400
/* messages naming up to two paths, before they are cut to the caller's size */
#define FBSD_ERR_MAX (2 * COLLECT_PATH_MAX + 512)

/* fbsd_text.c */
struct fbsd_lines {
	const char *p, *end;
	size_t no; /* 1-based number of the line last returned */
};
void fbsd_lines_init(struct fbsd_lines *it, const char *text, size_t len);
/* The next line (without its newline) of any length.  0 at the end. */
int fbsd_lines_next(struct fbsd_lines *it, const char **line, size_t *n);
/* Position of the first control character (other than tab) in p[0..n), or n. */
size_t fbsd_ctrl_at(const char *p, size_t n);
/* A short printable copy of untrusted text for a warning. */
void fbsd_quote(const char *in, char *out, size_t outlen);
/*
 * Copies one line into buf (bufsize bytes) without trailing white space
 * (CR included).  A line that does not fit or holds a control character
 * other than tab (binary data) is reported and -1 returned.
 */
int fbsd_line_take(const char *line, size_t n, char *buf, size_t bufsize, const char *name,
                   size_t no, struct collect_warnings *w);
/*
 * The next line fbsd_line_take() accepts that is not empty, in buf (NUL-
 * terminated: what a warning quotes).  Lines refused are reported and
 * passed over.  0 at the end.
 */
int fbsd_lines_take(struct fbsd_lines *it, char *buf, size_t bufsize, const char *name,
                    struct collect_warnings *w);
/* 1 when s is one or more ASCII digits. */
int fbsd_all_digits(const char *s);
/* A one-line input (pagesize, date, uname) into out: 0, or -1 when it is not one line. */
int fbsd_small(const char *text, size_t len, char *out, size_t outlen);

/* fbsd_jls.c */
/* fbsd_parse_ps, telling also whether every line became a process. */
int fbsd_parse_ps_all(const char *text, size_t len, const char *name, struct fbsd_procs *p,
                      int *complete, struct collect_warnings *w);

/* A type's bit in the sets of types the ipcs outputs had a section of. */
#define TB(t)  (1u << (t))
#define TB_ALL (TB(IPC_SHM) | TB(IPC_SEM) | TB(IPC_MSG))

/* fbsd_sysctl.c: l holds a limit of type t (a name starting "shm", ...). */
int fbsd_has_limits(const struct ipc_limits *l, enum ipc_type t);

/* fbsd_ipcs.c */
/* macOS's ipcs output (refused in one line, into err): 1; else 0. */
int fbsd_ipcs_foreign(const char *text, size_t len, const char *name, char *err, size_t errlen);
/*
 * The types without a section in any ipcs output read (types: bits
 * 1 << enum ipc_type that had one) are unknown, unless the whole kern.ipc
 * listing was read (sysctl_whole, collect_freebsd.h) and has no limit of
 * that type: the kernel lacks it.
 */
void fbsd_ipcs_absent(struct snapshot *s, unsigned types, int sysctl_whole, const char *what,
                      struct collect_warnings *w);

/* fbsd_attrib.c */
/*
 * The work of fbsd_attribute_view.  pidscope (NULL: not known) gives, per
 * object of s, the jail scope its creator pid runs in (0: none); such an
 * object takes its owner name from that jail's view even where the view
 * shows key 0, and named[] (NULL with pidscope) records whose names came
 * from a jail's view.
 */
int fbsd_attribute_view_ex(struct snapshot *s, const struct fbsd_index *ix,
                           const struct snapshot *view, uint32_t scope, const char *jailname,
                           const uint32_t *pidscope, unsigned char *named,
                           struct collect_warnings *w);
/*
 * Per object of s (calloc'd, s->nobjects entries, the caller frees): the
 * scope of the listed jail its creator pid runs in, else 0.  NULL when out
 * of memory.
 */
uint32_t *fbsd_cpid_scopes(const struct snapshot *s, const struct fbsd_jails *j,
                           const struct fbsd_procs *p);
/* Moves what fbsd_cpid_scopes found, where no view has claimed it meanwhile. */
int fbsd_apply_cpid(struct snapshot *s, const uint32_t *pidscope, const unsigned char *named);
/*
 * ps into pt: each process on its scope, and a jailed one a second time on
 * the host's, where the objects that could not be attributed stay.
 */
int fbsd_fill_procs(struct proc_table *pt, const struct fbsd_procs *p, int complete,
                    const struct fbsd_jails *j, struct collect_warnings *w);

/* fbsd_input.c: every input, live or captured */
/* The inputs of a collection (the table in collect_freebsd.c). */
enum fbsd_item {
	FI_SYSCTL,
	FI_PAGESIZE,
	FI_UNAME,
	FI_PASSWD,
	FI_GROUP,
	FI_IPCS,
	FI_IPCS_SHM,
	FI_IPCS_SEM,
	FI_IPCS_MSG,
	FI_DATE,
	FI_JLS,
	FI_PS,
	FI_JAIL_IPCS,
	FI_JAIL_PASSWD,
	FI_JAIL_GROUP,
	FI_RACCT,      /* kern.racct.enable (live only: a capture has rctl.txt or not) */
	FI_RCTL,       /* every rctl rule */
	FI_RCTL_USAGE, /* a jail's rctl -u (capture: rctl-u-NAME.txt) */
};

/* Where inputs come from: the running system, or a capture directory. */
struct fbsd_fetch {
	int live;
	const char *dir;    /* capture */
	int64_t ipcs_mtime; /* newest mtime of the ipcs files read (capture) */
};
/*
 * Gets one input.  Returns 1 with *buf (malloc'd, NUL-terminated; the caller
 * frees it) and *len; 0 when the input is absent (a capture without that
 * file; the live host's passwd, read through getpwnam instead); -1 with err.
 * what receives the name used in warnings (a file or a command line).  j is
 * the jail of the FI_JAIL_* items, else NULL.
 */
int fbsd_fetch(struct fbsd_fetch *f, enum fbsd_item it, const struct fbsd_jail *j, char **buf,
               size_t *len, char *what, size_t whatlen, char *err, size_t errlen);

#endif
