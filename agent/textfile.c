/*
 * textfile.c: DIR/ipcfleet.prom for node_exporter's textfile collector
 * (textfile.h).
 *
 * The families and labels are the aggregator's /metrics ones
 * (aggregator/http.c), written by the same code (common/prom.c), so that
 * dashboards and the rules of deploy/prometheus work on either:
 *
 *   ipcfleet_build_info{version}
 *   ipcfleet_host_info{host,os,os_release,agent}
 *   ipcfleet_host_last_seen_seconds{host}        here: when it was taken
 *   ipcfleet_limit_{value,used,ratio,unknown}{host,limit}   the host's pool
 *
 * and what only a snapshot has, which the aggregator does not export:
 *
 *   ipcfleet_scope_info{host,scope,kind,name}
 *   ipcfleet_scope_limit_{value,used,ratio,unknown}{host,scope,limit}
 *   ipcfleet_objects{host,type}                  every scope's objects
 *   ipcfleet_findings{host,kind,severity}        the agent's own findings
 *
 * Unknown is never zero: a figure the agent could not read has no used or
 * ratio sample, and limit_unknown 1 instead; an object count of a type
 * some scope could not list is absent; a finding kind the agent did not
 * look for has no sample.
 *
 * The directory is trusted like the spool (safedir.h): the agent runs as
 * root, so a directory that is a link, or that another user could write,
 * is refused, and everything goes through the directory's descriptor.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "prom.h"
#include "safedir.h"
#include "textfile.h"
#include "util.h"

#define TEXTFILE_TMP     ".ipcfleet.prom.tmp" /* not *.prom: node_exporter skips it */
#define TEXTFILE_LOCK_MS 2000                 /* waiting for another agent's write */

/* The families, in the order they are written. */
enum tf_family {
	TF_BUILD,
	TF_HOST_INFO,
	TF_HOST_SEEN,
	TF_LIMIT, /* the host's pool: PROM_LIMIT_COUNT families */
	TF_SCOPE_INFO = TF_LIMIT + PROM_LIMIT_COUNT,
	TF_SCOPE_LIMIT, /* each scope: PROM_LIMIT_COUNT families */
	TF_OBJECTS = TF_SCOPE_LIMIT + PROM_LIMIT_COUNT,
	TF_FINDINGS,
	TF_COUNT
};

static const char *const tf_scope_help[PROM_LIMIT_COUNT] = {
    [PROM_LIMIT_VALUE] = "Value of each countable IPC limit a scope is measured against: its own "
                         "(an IPC namespace) or the host's (a jail, the host itself).",
    [PROM_LIMIT_USED] = "Amount of a countable IPC limit the objects of one scope hold (kernel "
                        "units).",
    [PROM_LIMIT_RATIO] = "A scope's use divided by its limit, 0 to 1 (1 when the limit is 0: "
                         "nothing more fits; absent when unknown).",
    [PROM_LIMIT_UNKNOWN] = "1 for each countable limit of a scope whose use or value the agent "
                           "could not read (its used and ratio series are then absent, never 0).",
};

struct tf_doc {
	struct buf fam[TF_COUNT];
	const char *host;
	uint64_t objects[3]; /* by enum ipc_type, over every scope */
	int objects_unknown[3];
};

/* The counts of one scope's objects into the per-type totals, or unknown. */
static void
tf_count_objects(struct tf_doc *d, const struct usage *u)
{
	static const char *const count_limit[3] = {"shmmni", "semmni", "msgmni"};
	size_t i;
	int t;

	for (t = 0; t < 3; t++)
		for (i = 0; i < u->n; i++) {
			if (strcmp(u->v[i].name, count_limit[t]) != 0)
				continue;
			if (u->v[i].unknown_used)
				d->objects_unknown[t] = 1;
			else
				d->objects[t] = u64_add_sat(d->objects[t], u->v[i].used);
		}
}

/* One scope: its info, its usage (of its objects only), and its counts. */
static void
tf_scope(struct tf_doc *d, const struct snapshot *s, size_t i, const struct snapshot *view)
{
	const struct ipc_scope *sc = &s->scopes[i];
	const char *info[] = {"host", d->host,  "scope", sc->id, "kind", scope_kind_name(sc->kind),
	                      "name", sc->name, NULL};
	const char *labels[] = {"host", d->host, "scope", sc->id, NULL};
	struct usage u;

	prom_sample_u64(&d->fam[TF_SCOPE_INFO], "ipcfleet_scope_info", info, 1);
	model_usage(view, (int)i, &u);
	prom_usage(&d->fam[TF_SCOPE_LIMIT], "ipcfleet_scope_", labels, &u);
	tf_count_objects(d, &u);
}

/*
 * Every scope.  model_usage() of one scope walks every object: with many
 * scopes the objects are first grouped by scope (a counting sort into a
 * copy), and each scope measured on its own group, so the whole costs one
 * pass over the objects, not one per scope.
 */
static int
tf_scopes(struct tf_doc *d, const struct snapshot *s)
{
	struct ipc_object *grouped = NULL;
	size_t *start = NULL, *fill = NULL, i;
	struct snapshot view;
	int rc = -1;

	if (s->nscopes <= 1 || s->nobjects == 0) {
		for (i = 0; i < s->nscopes; i++)
			tf_scope(d, s, i, s);
		return 0;
	}
	if ((start = calloc(s->nscopes + 1, sizeof(*start))) == NULL ||
	    (fill = calloc(s->nscopes, sizeof(*fill))) == NULL ||
	    (grouped = calloc(s->nobjects, sizeof(*grouped))) == NULL)
		goto out;
	for (i = 0; i < s->nobjects; i++)
		if (s->objects[i].scope < s->nscopes)
			start[s->objects[i].scope + 1]++;
	for (i = 0; i < s->nscopes; i++)
		start[i + 1] += start[i];
	for (i = 0; i < s->nobjects; i++) {
		uint32_t k = s->objects[i].scope;

		if (k < s->nscopes)
			grouped[start[k] + fill[k]++] = s->objects[i];
	}
	for (i = 0; i < s->nscopes; i++) {
		view = *s;
		view.objects = grouped + start[i];
		view.nobjects = start[i + 1] - start[i];
		tf_scope(d, s, i, &view);
	}
	rc = 0;
out:
	free(grouped);
	free(fill);
	free(start);
	return rc;
}

/* Findings by kind and severity: every severity of the kinds looked for. */
static void
tf_findings(struct tf_doc *d, const struct snapshot *s, uint32_t kinds)
{
	uint64_t n[FK_COUNT][SEV_CRIT + 1];
	const char *l[] = {"host", d->host, "kind", NULL, "severity", NULL, NULL};
	size_t i;
	int k, v;

	memset(n, 0, sizeof(n));
	for (i = 0; i < s->nfindings; i++)
		if ((unsigned)s->findings[i].kind < FK_COUNT &&
		    (unsigned)s->findings[i].severity <= SEV_CRIT)
			n[s->findings[i].kind][s->findings[i].severity]++;
	for (k = 0; k < FK_COUNT; k++)
		for (v = 0; v <= SEV_CRIT; v++) {
			if (n[k][v] == 0 && (kinds & TEXTFILE_KIND(k)) == 0)
				continue;
			l[3] = finding_kind_name((enum finding_kind)k);
			l[5] = severity_name((enum severity)v);
			prom_sample_u64(&d->fam[TF_FINDINGS], "ipcfleet_findings", l, n[k][v]);
		}
}

int
textfile_render(struct buf *out, const char *host, const struct snapshot *s, uint32_t kinds)
{
	static const struct {
		const char *name, *type, *help;
	} heads[TF_COUNT] = {
	    [TF_BUILD] = {"ipcfleet_build_info", "gauge",
	                  "Constant 1; the version label says which."},
	    [TF_HOST_INFO] = {"ipcfleet_host_info", "gauge",
	                      "Constant 1 per known host; labels carry its OS, release and agent "
	                      "version."},
	    [TF_HOST_SEEN] =
	        {"ipcfleet_host_last_seen_seconds", "gauge",
	         "Unix time at which the host's latest snapshot was taken (the agent's "
	         "clock)."},
	    [TF_SCOPE_INFO] = {"ipcfleet_scope_info", "gauge",
	                       "Constant 1 per scope (the host, a jail, an IPC namespace); labels "
	                       "carry its kind and name."},
	    [TF_OBJECTS] = {"ipcfleet_objects", "gauge",
	                    "System V IPC objects of each type in every scope of the host (absent "
	                    "when some scope's could not be listed)."},
	    [TF_FINDINGS] = {"ipcfleet_findings", "gauge",
	                     "The agent's findings in its latest snapshot, by kind and severity "
	                     "(kinds it did not look for are absent)."},
	};
	const char *hl[] = {"host", host, NULL};
	char agent[64], name[96];
	struct tf_doc d;
	struct usage u;
	int f, rc = -1;

	memset(&d, 0, sizeof(d));
	d.host = host;
	for (f = 0; f < TF_COUNT; f++)
		buf_init(&d.fam[f], TEXTFILE_MAX);
	{
		const char *bl[] = {"version", IPCFLEET_VERSION, NULL};
		const char *il[] = {"host",        host,    "os",  s->os, "os_release",
		                    s->os_release, "agent", agent, NULL};

		snprintf(agent, sizeof(agent), "ipcfleet-agent %s", IPCFLEET_VERSION);
		prom_sample_u64(&d.fam[TF_BUILD], "ipcfleet_build_info", bl, 1);
		prom_sample_u64(&d.fam[TF_HOST_INFO], "ipcfleet_host_info", il, 1);
	}
	if (s->taken > 0)
		prom_sample_u64(&d.fam[TF_HOST_SEEN], "ipcfleet_host_last_seen_seconds", hl,
		                (uint64_t)s->taken);
	model_usage(s, -1, &u);
	prom_usage(&d.fam[TF_LIMIT], "ipcfleet_", hl, &u);
	if (tf_scopes(&d, s) == -1)
		goto out;
	for (f = 0; f < 3; f++) {
		const char *tl[] = {"host", host, "type", ipc_type_name((enum ipc_type)f), NULL};

		if (!d.objects_unknown[f])
			prom_sample_u64(&d.fam[TF_OBJECTS], "ipcfleet_objects", tl, d.objects[f]);
	}
	tf_findings(&d, s, kinds);

	for (f = 0; f < TF_COUNT; f++) {
		if (f >= TF_LIMIT && f < TF_LIMIT + PROM_LIMIT_COUNT) {
			snprintf(name, sizeof(name), "ipcfleet_%s", prom_usage_name(f - TF_LIMIT));
			prom_head(out, name, "gauge", prom_usage_help(f - TF_LIMIT));
		} else if (f >= TF_SCOPE_LIMIT && f < TF_SCOPE_LIMIT + PROM_LIMIT_COUNT) {
			snprintf(name, sizeof(name), "ipcfleet_scope_%s",
			         prom_usage_name(f - TF_SCOPE_LIMIT));
			prom_head(out, name, "gauge", tf_scope_help[f - TF_SCOPE_LIMIT]);
		} else {
			prom_head(out, heads[f].name, heads[f].type, heads[f].help);
		}
		if (buf_failed(&d.fam[f]))
			goto out;
		buf_append(out, d.fam[f].data, d.fam[f].len);
	}
	rc = buf_failed(out) ? -1 : 0;
out:
	for (f = 0; f < TF_COUNT; f++)
		buf_free(&d.fam[f]);
	return rc;
}

/*
 * Opens dir as textfile_check() describes: links above it are followed
 * (they are the administrator's), the last component never.  The
 * directory's descriptor, or -1 with err.
 */
static int
tf_open_dir(const char *dir, char *err, size_t errlen)
{
	char parent[4096], base[1024];
	struct stat st;
	int pfd, fd, saved;

	if (safedir_split(dir, parent, sizeof(parent), base, sizeof(base)) == -1) {
		snprintf(err, errlen, "textfile directory %s: not a directory name", dir);
		return -1;
	}
	if ((pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "textfile directory %s: %s: %s", dir, parent,
		         strerror(errno));
		return -1;
	}
	fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	saved = errno;
	if (fd == -1) {
		if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
			snprintf(err, errlen,
			         "textfile directory %s is a symbolic link: refused (name the "
			         "directory itself)",
			         dir);
		else
			snprintf(err, errlen, "textfile directory %s: %s", dir, strerror(saved));
		close(pfd);
		return -1;
	}
	close(pfd);
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "textfile directory %s: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	/*
	 * Another user who could write here could replace what the agent
	 * writes; and the agent keeps no CAP_DAC_OVERRIDE once it runs, so a
	 * directory of another user's it could not write anyway.
	 */
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen,
		         "textfile directory %s belongs to uid %lu, not to this agent (uid %lu): "
		         "refused; chown %lu %s (node_exporter only needs to read it)",
		         dir, (unsigned long)st.st_uid, (unsigned long)geteuid(),
		         (unsigned long)geteuid(), dir);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 022) != 0) {
		snprintf(err, errlen,
		         "textfile directory %s is writable by group or others (mode %04o): "
		         "refused, they could replace what the agent writes; chmod go-w %s",
		         dir, (unsigned)(st.st_mode & 07777), dir);
		close(fd);
		return -1;
	}
	return fd;
}

int
textfile_check(const char *dir, char *err, size_t errlen)
{
	int fd = tf_open_dir(dir, err, errlen);

	if (fd == -1)
		return -1;
	close(fd);
	return 0;
}

/* The directory's lock, waiting up to TEXTFILE_LOCK_MS for another writer. */
static int
tf_lock(int dirfd)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = 50 * 1000000L};
	uint64_t until = now_mono_ms() + TEXTFILE_LOCK_MS;

	while (flock(dirfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (now_mono_ms() >= until)
			return -1;
		nanosleep(&ts, NULL);
	}
	return 0;
}

int
textfile_write(const char *dir, const struct buf *text, char *err, size_t errlen)
{
	int dirfd, fd = -1, made = 0, saved;
	const char *what;

	if ((dirfd = tf_open_dir(dir, err, errlen)) == -1)
		return -1;
	/* the lock: only one writer's temporary at a time, so a leftover is stale */
	what = "lock (another agent is writing there)";
	if (tf_lock(dirfd) == -1)
		goto fail;
	what = "create " TEXTFILE_TMP;
	if ((fd = safedir_open_temporary(dirfd, TEXTFILE_TMP, 0644)) == -1)
		goto fail;
	made = 1;
	/* node_exporter reads it as its own user: readable whatever the umask */
	what = "write " TEXTFILE_TMP;
	if (fchmod(fd, 0644) == -1 || safedir_write_all(fd, text->data, text->len) == -1 ||
	    fsync(fd) == -1)
		goto fail;
	saved = close(fd);
	fd = -1;
	if (saved == -1)
		goto fail;
	what = "rename " TEXTFILE_TMP " to " TEXTFILE_NAME;
	if (renameat(dirfd, TEXTFILE_TMP, dirfd, TEXTFILE_NAME) == -1)
		goto fail;
	/* the rename survives a crash; a failure here leaves the file written */
	(void)fsync(dirfd);
	close(dirfd); /* releases the lock */
	return 0;
fail:
	saved = errno;
	snprintf(err, errlen, "textfile %s/%s: %s: %s", dir, TEXTFILE_NAME, what, strerror(saved));
	if (fd != -1)
		close(fd);
	if (made)
		unlinkat(dirfd, TEXTFILE_TMP, 0);
	close(dirfd);
	return -1;
}

void
textfile_host(SSL_CTX *ctx, char *host, size_t len)
{
	X509 *cert = ctx != NULL ? SSL_CTX_get0_certificate(ctx) : NULL;

	if (len == 0)
		return;
	if (cert != NULL && X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
	                                              host, (int)(len > 1024 ? 1024 : len)) > 0)
		return;
	if (gethostname(host, len) == -1)
		ifl_strlcpy(host, "localhost", len);
	host[len - 1] = '\0';
}
