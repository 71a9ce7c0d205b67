/*
 * collect.c: source selection and dispatch to the collectors (collect.h).
 *
 * Each collector lives in its own file (procfs.c, collect_freebsd.c, and the
 * running system's behind platform.h); this file only parses --source SPEC
 * and calls the right one.
 */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

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

/*
 * What proc_table_has_owner has learnt: the (scope, uid) pairs known so far,
 * in a hash set (open addressing; a slot holds the pair + 1, 0 is free), and
 * the pending entries grouped by scope in table order, each group with how
 * far it has been read.
 */
struct proc_pend {
	uint32_t scope;
	uint32_t idx; /* into t->v (PROC_MAX fits) */
};
struct proc_group {
	uint32_t scope;
	size_t next, end; /* pend[next..end): this scope's entries not read yet */
	int unsure;       /* some uid of the scope could not be read */
};
struct proc_owners {
	uint64_t *slot;
	size_t cap; /* a power of two, more than twice the entries */
	struct proc_pend *pend;
	struct proc_group *group; /* sorted by scope */
	size_t ngroup;
};

static void
owners_free(struct proc_table *t)
{
	if (t->own == NULL)
		return;
	free(t->own->slot);
	free(t->own->pend);
	free(t->own->group);
	free(t->own);
	t->own = NULL;
}

static size_t
owners_hash(uint64_t key, size_t cap)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 32) & (cap - 1);
}

/* Adds (scope, uid); scope is never PROC_SCOPE_NONE, so the pair + 1 cannot wrap to 0. */
static void
owners_add(struct proc_owners *o, uint32_t scope, uint32_t uid)
{
	uint64_t key = ((uint64_t)scope << 32 | uid) + 1;
	size_t h;

	for (h = owners_hash(key, o->cap); o->slot[h] != 0; h = (h + 1) & (o->cap - 1))
		if (o->slot[h] == key)
			return;
	o->slot[h] = key;
}

static int
owners_has(const struct proc_owners *o, uint32_t scope, uint32_t uid)
{
	uint64_t key = ((uint64_t)scope << 32 | uid) + 1;
	size_t h;

	for (h = owners_hash(key, o->cap); o->slot[h] != 0; h = (h + 1) & (o->cap - 1))
		if (o->slot[h] == key)
			return 1;
	return 0;
}

static int
owners_pend_cmp(const void *a, const void *b)
{
	const struct proc_pend *x = a, *y = b;

	if (x->scope != y->scope)
		return x->scope < y->scope ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The set with every uid already known, and the pending entries grouped. */
static int
owners_build(struct proc_table *t)
{
	struct proc_owners *o;
	size_t i, npend = 0, ngroup, cap = 64;

	for (i = 0; i < t->n; i++)
		if (t->v[i].pending && t->v[i].scope != PROC_SCOPE_NONE)
			npend++;
	while (cap <= 2 * t->n) /* t->n <= PROC_MAX: at most 2^21 slots */
		cap *= 2;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return -1;
	t->own = o;
	o->cap = cap;
	if ((o->slot = calloc(cap, sizeof(*o->slot))) == NULL ||
	    (o->pend = calloc(npend ? npend : 1, sizeof(*o->pend))) == NULL) {
		owners_free(t);
		return -1;
	}
	npend = 0;
	for (i = 0; i < t->n; i++) {
		const struct proc_entry *e = &t->v[i];

		if (e->scope == PROC_SCOPE_NONE)
			continue; /* owns nothing in any listed scope */
		if (!e->pending) {
			owners_add(o, e->scope, e->uid);
			continue;
		}
		o->pend[npend].scope = e->scope;
		o->pend[npend].idx = (uint32_t)i;
		npend++;
	}
	/* by scope, then in the table's order (the collector's: lowest pids first) */
	qsort(o->pend, npend, sizeof(*o->pend), owners_pend_cmp);
	for (i = 0, ngroup = 0; i < npend; i++)
		ngroup += i == 0 || o->pend[i].scope != o->pend[i - 1].scope;
	if ((o->group = calloc(ngroup ? ngroup : 1, sizeof(*o->group))) == NULL) {
		owners_free(t);
		return -1;
	}
	for (i = 0; i < npend; i++) {
		if (o->ngroup == 0 || o->group[o->ngroup - 1].scope != o->pend[i].scope) {
			o->group[o->ngroup].scope = o->pend[i].scope;
			o->group[o->ngroup].next = i;
			o->ngroup++;
		}
		o->group[o->ngroup - 1].end = i + 1;
	}
	return 0;
}

static struct proc_group *
owners_group(struct proc_owners *o, uint32_t scope)
{
	size_t lo = 0, hi = o->ngroup;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (o->group[mid].scope == scope)
			return &o->group[mid];
		if (o->group[mid].scope < scope)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int
proc_table_has_owner(struct proc_table *t, uint32_t scope, uint32_t uid)
{
	struct proc_group *g;

	if (scope == PROC_SCOPE_NONE || t->n == 0)
		return 0;
	if (t->own == NULL && owners_build(t) == -1)
		return -1;
	if (owners_has(t->own, scope, uid))
		return 1;
	if ((g = owners_group(t->own, scope)) == NULL)
		return 0;
	/* read this scope's uids until the one asked for: each at most once */
	while (g->next < g->end) {
		struct proc_entry *e = &t->v[t->own->pend[g->next++].idx];
		uint32_t u;
		int r = t->uid_of != NULL ? t->uid_of(e->pid, &u) : -1;

		if (r == 1)
			continue; /* gone since the walk: it owns nothing */
		if (r != 0) {
			g->unsure = 1;
			continue;
		}
		e->uid = u;
		e->pending = 0;
		owners_add(t->own, scope, u);
		if (u == uid)
			return 1;
	}
	return g->unsure ? -1 : 0;
}

static int
pid_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

int
proc_table_alive(struct proc_table *t, int64_t pid)
{
	size_t i, lo = 0, hi = t->n;

	if (t->n == 0)
		return 0;
	if (t->pids == NULL) {
		if ((t->pids = malloc(t->n * sizeof(*t->pids))) == NULL)
			return -1;
		for (i = 0; i < t->n; i++)
			t->pids[i] = t->v[i].pid;
		qsort(t->pids, t->n, sizeof(*t->pids), pid_cmp);
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t->pids[mid] == pid)
			return 1;
		if (t->pids[mid] < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
proc_table_append(struct proc_table *t, int64_t pid, uint32_t uid, uint32_t scope, int pending)
{
	owners_free(t); /* what was learnt is of the table as it was */
	free(t->pids);
	t->pids = NULL;
	if (grow_array(&t->v, &t->cap, t->n + 1, 256, PROC_MAX, sizeof(*t->v)) == -1)
		return -1;
	t->v[t->n].pid = pid;
	t->v[t->n].uid = uid;
	t->v[t->n].scope = scope;
	t->v[t->n].pending = pending;
	t->n++;
	return 0;
}

int
proc_table_add(struct proc_table *t, int64_t pid, uint32_t uid, uint32_t scope)
{
	return proc_table_append(t, pid, uid, scope, 0);
}

int
proc_table_add_pending(struct proc_table *t, int64_t pid, uint32_t scope)
{
	return proc_table_append(t, pid, 0, scope, 1);
}

void
proc_table_free(struct proc_table *t)
{
	owners_free(t);
	free(t->pids);
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
collect_parse_page_size(const char *text, uint32_t *pg)
{
	const char *why;
	uint64_t v;

	if (parse_u64(text, 512, 1024 * 1024, &v, &why) == -1 || (v & (v - 1)) != 0)
		return -1;
	*pg = (uint32_t)v;
	return 0;
}

/* Whether text (trimmed) is a host name: 1 to 255 of [A-Za-z0-9._-]. */
static int
source_is_host_name(const char *text)
{
	size_t i, n = strlen(text);

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)text[i]) && text[i] != '.' && text[i] != '-' &&
		    text[i] != '_')
			return 0;
	return 1;
}

/*
 * The host name held in DIR/rel (a copy of hostname's output): 0, or -1.
 * Only a regular file, and not through a symbolic link: a link in a copy
 * resolves on the reading machine (to its own name), a FIFO would block.
 */
static int
source_name_file(const char *dir, const char *rel, char *out, size_t len)
{
	char path[COLLECT_PATH_MAX + 64], *text = NULL, *b;
	struct stat st;
	size_t n;
	int fd, rc = -1;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path) ||
	    (fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    read_fd_bounded(fd, 256, 1024, &text, &n) == -1 || strlen(text) != n /* a NUL */) {
		close(fd);
		free(text);
		return -1;
	}
	close(fd);
	b = trim_space(text);
	if (source_is_host_name(b) && strlen(b) < len) {
		memcpy(out, b, strlen(b) + 1);
		rc = 0;
	}
	free(text);
	return rc;
}

void
source_host_label(const struct source *src, char *out, size_t len)
{
	const char *rel = src->kind == SRC_LINUX_ROOT        ? "proc/sys/kernel/hostname"
	                  : src->kind == SRC_FREEBSD_CAPTURE ? "hostname.txt"
	                                                     : NULL;
	char real[PATH_MAX];
	const char *dir, *base;
	size_t n;

	if (len == 0)
		return;
	if (rel == NULL) {
		if (gethostname(out, len) == -1)
			ifl_strlcpy(out, "localhost", len);
		out[len - 1] = '\0';
		return;
	}
	if (source_name_file(src->dir, rel, out, len) == 0)
		return;
	/* the directory's own name ("." and ".." resolved), without trailing slashes */
	dir = realpath(src->dir, real) != NULL ? real : src->dir;
	n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	base = dir + n;
	while (base > dir && base[-1] != '/')
		base--;
	if (base == dir + n)
		base = dir; /* "/" */
	snprintf(out, len, "%.*s", (int)(dir + n - base), base);
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
