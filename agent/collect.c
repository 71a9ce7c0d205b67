/*
 * collect.c: source selection and dispatch to the collectors (collect.h).
 *
 * Each collector lives in its own file (procfs.c, collect_freebsd.c, and the
 * running system's behind platform.h); this file only parses --source SPEC
 * and calls the right one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "collect_freebsd.h"
#include "platform.h"
#include "util.h"

void
collect_warn(struct collect_warnings *w, const char *fmt, ...)
{
	va_list ap;

	if (w == NULL)
		return;
	/* every warning is counted; only the first COLLECT_MAX_WARN are kept */
	if (w->total < SIZE_MAX)
		w->total++;
	if (w->n >= COLLECT_MAX_WARN)
		return;
	va_start(ap, fmt);
	vsnprintf(w->v[w->n], sizeof(w->v[w->n]), fmt, ap);
	va_end(ap);
	w->n++;
}

int
proc_table_add(struct proc_table *t, int64_t pid, uint32_t uid, uint32_t scope)
{
	if (grow_array(&t->v, &t->cap, t->n + 1, 256, PROC_MAX, sizeof(*t->v)) == -1)
		return -1;
	t->v[t->n].pid = pid;
	t->v[t->n].uid = uid;
	t->v[t->n].scope = scope;
	t->n++;
	return 0;
}

void
proc_table_free(struct proc_table *t)
{
	free(t->v);
	memset(t, 0, sizeof(*t));
}

#define SOURCE_FORMS "auto, linux, linux-root:DIR, freebsd or freebsd-capture:DIR"

/* A "PREFIX:DIR" spec: copies DIR into src->dir after checking it. */
static int
source_parse_dir(const char *spec, const char *prefix, struct source *src, char *err, size_t errlen)
{
	const char *dir = spec + strlen(prefix);
	size_t n = strlen(dir);

	if (n == 0) {
		snprintf(err, errlen, "source \"%s\": DIR is empty (use %sDIR)", spec, prefix);
		return -1;
	}
	if (n >= sizeof(src->dir)) {
		/* name the form, not the whole spec, so the reason is not cut off */
		snprintf(err, errlen, "source %sDIR: DIR is longer than %zu bytes", prefix,
		         sizeof(src->dir) - 1);
		return -1;
	}
	memcpy(src->dir, dir, n + 1);
	return 0;
}

int
source_parse(const char *spec, struct source *src, char *err, size_t errlen)
{
	memset(src, 0, sizeof(*src));
	if (strcmp(spec, "auto") == 0) {
		src->kind = SRC_AUTO;
	} else if (strcmp(spec, "linux") == 0) {
		src->kind = SRC_LINUX;
	} else if (strcmp(spec, "freebsd") == 0) {
		src->kind = SRC_FREEBSD;
	} else if (strncmp(spec, "linux-root:", 11) == 0) {
		src->kind = SRC_LINUX_ROOT;
		return source_parse_dir(spec, "linux-root:", src, err, errlen);
	} else if (strncmp(spec, "freebsd-capture:", 16) == 0) {
		src->kind = SRC_FREEBSD_CAPTURE;
		return source_parse_dir(spec, "freebsd-capture:", src, err, errlen);
	} else if (strcmp(spec, "linux-root") == 0 || strcmp(spec, "freebsd-capture") == 0) {
		snprintf(err, errlen, "source \"%s\" needs a directory: %s:DIR", spec, spec);
		return -1;
	} else {
		snprintf(err, errlen, "unknown source \"%.64s\": use " SOURCE_FORMS, spec);
		return -1;
	}
	return 0;
}

int
collect(const struct source *src, struct snapshot *s, struct proc_table *pt,
        struct collect_warnings *w, char *err, size_t errlen)
{
	/* a table left from an earlier snapshot is emptied, its memory kept */
	if (pt != NULL) {
		pt->n = 0;
		pt->valid = 0;
	}

	switch (src->kind) {
	case SRC_AUTO:
	case SRC_LINUX:
		/* the running kernel: only the system the agent was built for */
		return platform_collect(src->kind, s, pt, w, err, errlen);
	case SRC_LINUX_ROOT:
		return collect_linux_root(src->dir, s, pt, w, err, errlen);
	case SRC_FREEBSD:
	case SRC_FREEBSD_CAPTURE:
		/* portable: the output of FreeBSD's tools, run or captured */
		return collect_freebsd(src, s, pt, w, err, errlen);
	}
	snprintf(err, errlen, "unknown source kind %d", (int)src->kind);
	return -1;
}
