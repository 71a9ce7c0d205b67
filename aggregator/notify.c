/*
 * notify.c: runs `notify_command` for the changes of findings, one
 * notification per host per snapshot.
 *
 * The command runs through /bin/sh -c with the host's changes in IPCFLEET_*
 * environment variables: the most severe change in the variables of one
 * finding, every change counted, the first ones listed.  It never blocks
 * ingest: children are started with posix_spawn, at most NOTIFY_RUNNING at
 * once, reaped on SIGCHLD, and killed (their whole process group) after
 * notify_timeout.
 *
 * Fairness (issue 18): each host has at most one notification waiting.
 * Changes of a host whose notification has not started yet are merged into
 * it (coalesced, and counted), so a host that changes a thousand findings a
 * snapshot costs one run per snapshot, not a thousand, and never more than
 * one place in the queue.  Waiting notifications start in the order their
 * hosts queued (round robin): a crit of another host waits behind at most
 * one notification per host, never behind one host's backlog.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "aggregator.h"
#include "log.h"
#include "util.h"

#define NOTIFY_RUNNING  4
#define NOTIFY_HOSTS    100000 /* hosts with a notification waiting, at most */
#define NOTIFY_BUCKETS  4096   /* hash chains of the waiting hosts */
#define NOTIFY_ENV      24
#define NOTIFY_LINES    10  /* changes listed in IPCFLEET_SUMMARY */
#define NOTIFY_LINE_MAX 400 /* bytes of one of those lines */

extern char **environ;

/* One host's waiting notification: every change since its last one started. */
struct pending {
	struct pending *next;  /* the queue, in the order hosts came */
	struct pending *hnext; /* hash chain */
	char host[MODEL_NAME_MAX];
	struct finding_change head; /* the most severe change: the IPCFLEET_* of one finding */
	uint64_t count[3];          /* changes by enum change_what */
	uint64_t snapshots;         /* analyses merged into it: more than 1 when coalesced */
	uint64_t unlisted;          /* changes beyond the NOTIFY_LINES listed */
	unsigned lines;
	char summary[NOTIFY_LINES * NOTIFY_LINE_MAX];
	size_t summary_len;
};

struct child {
	pid_t pid;
	uint64_t started_ms;
};

struct notifier {
	struct pending *head, *tail;
	struct pending *bucket[NOTIFY_BUCKETS];
	size_t waiting;
	struct child running[NOTIFY_RUNNING];
	size_t nrunning;
	uint64_t dropped, killed, coalesced;
	struct event *sigchld, *timer;
	struct agg *agg;
};

static const char *const what_name[] = {"opened", "changed", "closed"};

static size_t
host_bucket(const char *host)
{
	return fnv1a_str(host) % NOTIFY_BUCKETS;
}

/* Takes p out of the hash (it has just left the queue). */
static void
pending_unhash(struct notifier *n, struct pending *p)
{
	struct pending **pp = &n->bucket[host_bucket(p->host)];

	while (*pp != NULL && *pp != p)
		pp = &(*pp)->hnext;
	if (*pp == p)
		*pp = p->hnext;
}

static void
reap(struct notifier *n)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		size_t i;

		if (pid <= 0)
			break;
		for (i = 0; i < n->nrunning; i++) {
			if (n->running[i].pid != pid)
				continue;
			if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
				log_warnx("notify_command exited with status %d",
				          WEXITSTATUS(status));
			else if (WIFSIGNALED(status))
				log_warnx("notify_command killed by signal %d", WTERMSIG(status));
			n->running[i] = n->running[--n->nrunning];
			break;
		}
	}
}

/* Adds NAME=value to env; 0 or -1. */
static int
env_add(char **env, size_t *k, const char *name, const char *value)
{
	if (*k >= NOTIFY_ENV || asprintf(&env[*k], "%s=%s", name, value) == -1) {
		if (*k < NOTIFY_ENV)
			env[*k] = NULL;
		return -1;
	}
	(*k)++;
	return 0;
}

static void
env_free(char **env)
{
	size_t i;

	for (i = 0; i < NOTIFY_ENV && env[i] != NULL; i++)
		free(env[i]);
}

/* Ends p's summary with the count of changes it does not list. */
static void
pending_summary_end(const struct pending *p, char *buf, size_t len)
{
	if (p->unlisted == 0)
		snprintf(buf, len, "%s", p->summary);
	else
		snprintf(buf, len, "%s\nand %" PRIu64 " more", p->summary, p->unlisted);
}

/* The environment of p's notification into env (NULL-terminated).  0 or -1. */
static int
pending_env(const struct pending *p, char **env)
{
	const struct finding_change *c = &p->head;
	const struct finding *f = &c->f;
	const char *path = getenv("PATH");
	char num[32], when[32], held[32], free_[32], safe[32], total[32], cnt[3][32], snaps[32];
	char summary[sizeof(p->summary) + 32];
	size_t k = 0;
	int rc = 0;

	memset(env, 0, (NOTIFY_ENV + 1) * sizeof(*env));
	snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)f->uid);
	snprintf(held, sizeof(held), "%" PRIu64, f->held);
	snprintf(free_, sizeof(free_), "%" PRIu64, f->free);
	snprintf(safe, sizeof(safe), "%" PRIu64, f->safe_limit);
	snprintf(total, sizeof(total), "%" PRIu64, p->count[0] + p->count[1] + p->count[2]);
	snprintf(cnt[FC_OPENED], sizeof(cnt[0]), "%" PRIu64, p->count[FC_OPENED]);
	snprintf(cnt[FC_CHANGED], sizeof(cnt[0]), "%" PRIu64, p->count[FC_CHANGED]);
	snprintf(cnt[FC_CLOSED], sizeof(cnt[0]), "%" PRIu64, p->count[FC_CLOSED]);
	snprintf(snaps, sizeof(snaps), "%" PRIu64, p->snapshots);
	rc |= env_add(env, &k, "PATH", path != NULL ? path : "/usr/bin:/bin");
	rc |= env_add(env, &k, "IPCFLEET_EVENT", what_name[c->what]);
	rc |= env_add(env, &k, "IPCFLEET_HOST", p->host);
	rc |= env_add(env, &k, "IPCFLEET_KIND", finding_kind_name(f->kind));
	rc |= env_add(env, &k, "IPCFLEET_SEVERITY", severity_name(f->severity));
	rc |= env_add(env, &k, "IPCFLEET_PREVIOUS_SEVERITY",
	              c->what == FC_OPENED ? "" : severity_name(c->previous));
	rc |= env_add(env, &k, "IPCFLEET_LIMIT", f->limit);
	rc |= env_add(env, &k, "IPCFLEET_SCOPE", f->scope);
	rc |= env_add(env, &k, "IPCFLEET_MESSAGE", f->message);
	rc |= env_add(env, &k, "IPCFLEET_OPENED", fmt_rfc3339(f->opened, when, sizeof(when)));
	rc |= env_add(env, &k, "IPCFLEET_COMMAND", f->command);
	rc |= env_add(env, &k, "IPCFLEET_CHANGES", total);
	rc |= env_add(env, &k, "IPCFLEET_CHANGES_OPENED", cnt[FC_OPENED]);
	rc |= env_add(env, &k, "IPCFLEET_CHANGES_CHANGED", cnt[FC_CHANGED]);
	rc |= env_add(env, &k, "IPCFLEET_CHANGES_CLOSED", cnt[FC_CLOSED]);
	rc |= env_add(env, &k, "IPCFLEET_SNAPSHOTS", snaps);
	pending_summary_end(p, summary, sizeof(summary));
	rc |= env_add(env, &k, "IPCFLEET_SUMMARY", summary);
	if (f->has_headroom) {
		rc |= env_add(env, &k, "IPCFLEET_UID", num);
		rc |= env_add(env, &k, "IPCFLEET_HELD", held);
		rc |= env_add(env, &k, "IPCFLEET_FREE", free_);
		rc |= env_add(env, &k, "IPCFLEET_SAFE_LIMIT", safe);
	}
	if (rc != 0) {
		env_free(env);
		return -1;
	}
	return 0;
}

static void
start_jobs(struct notifier *n)
{
	const struct agg_config *c = &n->agg->cfg;

	while (n->nrunning < NOTIFY_RUNNING && n->head != NULL) {
		struct pending *p = n->head;
		char *argv[] = {"sh", "-c", (char *)c->notify_command, NULL};
		char *env[NOTIFY_ENV + 1];
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t attr;
		pid_t pid;
		int rc;

		n->head = p->next;
		if (n->head == NULL)
			n->tail = NULL;
		n->waiting--;
		pending_unhash(n, p);
		rc = pending_env(p, env);
		free(p);
		if (rc != 0) {
			log_warnx("notify_command: out of memory: a notification is lost");
			continue;
		}
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawnattr_init(&attr);
		/* its own process group, so a timeout kills what it started too */
		posix_spawnattr_setpgroup(&attr, 0);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
		rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, env);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
		env_free(env);
		if (rc != 0) {
			log_warnx("notify_command: cannot start /bin/sh: %s", strerror(rc));
			continue;
		}
		n->running[n->nrunning].pid = pid;
		n->running[n->nrunning].started_ms = now_mono_ms();
		n->nrunning++;
	}
}

static void
sigchld_cb(evutil_socket_t sig, short what, void *arg)
{
	struct notifier *n = arg;

	(void)sig;
	(void)what;
	reap(n);
	start_jobs(n);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct notifier *n = arg;
	uint64_t now = now_mono_ms(), limit = n->agg->cfg.notify_timeout * 1000;
	size_t i;

	(void)fd;
	(void)what;
	reap(n);
	for (i = 0; i < n->nrunning; i++) {
		if (now - n->running[i].started_ms < limit)
			continue;
		log_warnx("notify_command (pid %d) still running after %" PRIu64 " s: killed",
		          (int)n->running[i].pid, n->agg->cfg.notify_timeout);
		kill(-n->running[i].pid, SIGKILL);
		kill(n->running[i].pid, SIGKILL);
		n->running[i].started_ms = now; /* reaped on its SIGCHLD */
		n->killed++;
	}
	start_jobs(n);
}

struct notifier *
notify_new(struct agg *a)
{
	struct notifier *n = calloc(1, sizeof(*n));
	struct timeval tv = {.tv_sec = 1, .tv_usec = 0};

	if (n == NULL)
		return NULL;
	n->agg = a;
	n->sigchld = evsignal_new(a->base, SIGCHLD, sigchld_cb, n);
	n->timer = event_new(a->base, -1, EV_PERSIST, timer_cb, n);
	if (n->sigchld == NULL || n->timer == NULL || evsignal_add(n->sigchld, NULL) == -1 ||
	    event_add(n->timer, &tv) == -1) {
		notify_free(n);
		return NULL;
	}
	return n;
}

void
notify_free(struct notifier *n)
{
	struct pending *p;
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nrunning; i++)
		kill(-n->running[i].pid, SIGKILL);
	for (i = 0; i < n->nrunning; i++)
		waitpid(n->running[i].pid, NULL, 0);
	while ((p = n->head) != NULL) {
		n->head = p->next;
		free(p);
	}
	if (n->sigchld != NULL)
		event_free(n->sigchld);
	if (n->timer != NULL)
		event_free(n->timer);
	free(n);
}

/* 1 when change a is more news than b: more severe; an opening or a closing before an update. */
static int
change_before(const struct finding_change *a, const struct finding_change *b)
{
	int sa = a->f.severity > a->previous ? (int)a->f.severity : (int)a->previous;
	int sb = b->f.severity > b->previous ? (int)b->f.severity : (int)b->previous;

	if (sa != sb)
		return sa > sb;
	return (a->what != FC_CHANGED) > (b->what != FC_CHANGED);
}

/* Lists change c in p's summary: "opened warn threshold semmns in SCOPE: MESSAGE". */
static void
pending_line(struct pending *p, const struct finding_change *c)
{
	const struct finding *f = &c->f;
	char line[NOTIFY_LINE_MAX];
	int len;

	if (p->lines == NOTIFY_LINES) {
		p->unlisted++;
		return;
	}
	len = snprintf(line, sizeof(line), "%s%s %s %s%s%s%s%s: %s", p->lines > 0 ? "\n" : "",
	               what_name[c->what], severity_name(f->severity), finding_kind_name(f->kind),
	               f->limit[0] ? " " : "", f->limit, f->scope[0] ? " in " : "", f->scope,
	               f->message);
	if (len < 0)
		return;
	if ((size_t)len >= sizeof(line))
		len = (int)sizeof(line) - 1;
	memcpy(p->summary + p->summary_len, line, (size_t)len);
	p->summary_len += (size_t)len;
	p->summary[p->summary_len] = '\0';
	p->lines++;
}

void
notify_changes(struct agg *a, const char *host, const struct finding_change *c, size_t nc)
{
	struct notifier *n = a->notifier;
	struct pending *p;
	const struct finding_change *best = NULL;
	size_t h, i;

	if (n == NULL || a->cfg.notify_command[0] == '\0' || nc == 0)
		return;
	h = host_bucket(host);
	for (p = n->bucket[h]; p != NULL; p = p->hnext)
		if (strcmp(p->host, host) == 0)
			break;
	if (p != NULL) {
		/* still waiting: this host's notification takes these changes too */
		n->coalesced++;
	} else {
		if (n->waiting >= NOTIFY_HOSTS) {
			if (n->dropped++ % 100 == 0)
				log_warnx(
				    "notify_command cannot keep up with %zu hosts waiting: %" PRIu64
				    " notifications dropped",
				    n->waiting, n->dropped);
			return;
		}
		if ((p = calloc(1, sizeof(*p))) == NULL) {
			log_warnx("notify_command: out of memory: a notification of %s is lost",
			          host);
			return;
		}
		ifl_strlcpy(p->host, host, sizeof(p->host));
		p->hnext = n->bucket[h];
		n->bucket[h] = p;
		if (n->tail != NULL)
			n->tail->next = p;
		else
			n->head = p;
		n->tail = p;
		n->waiting++;
	}
	p->snapshots++;
	for (i = 0; i < nc; i++) {
		if ((unsigned)c[i].what > FC_CLOSED)
			continue;
		p->count[c[i].what]++;
		pending_line(p, &c[i]);
		if (best == NULL || change_before(&c[i], best))
			best = &c[i];
	}
	/* the most severe change leads; among equals the newer analysis */
	if (best != NULL && (p->snapshots == 1 || !change_before(&p->head, best)))
		p->head = *best;
	start_jobs(n);
}

uint64_t
notify_coalesced(const struct agg *a)
{
	return a->notifier != NULL ? a->notifier->coalesced : 0;
}
