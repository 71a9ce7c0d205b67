/*
 * notify.c: runs `notify_command` for every change of a finding.
 *
 * The command runs through /bin/sh -c with the finding in IPCFLEET_*
 * environment variables.  It never blocks ingest: children are started with
 * posix_spawn, at most NOTIFY_RUNNING at once, reaped on SIGCHLD, and killed
 * (their whole process group) after notify_timeout.  Changes that arrive
 * while NOTIFY_QUEUE are waiting are dropped, counted and logged.
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

#define NOTIFY_RUNNING 4
#define NOTIFY_QUEUE   1000
#define NOTIFY_ENV     16

extern char **environ;

struct job {
	char *env[NOTIFY_ENV + 1]; /* NULL-terminated, malloc'd strings */
	struct job *next;
};

struct child {
	pid_t pid;
	uint64_t started_ms;
};

struct notifier {
	struct job *head, *tail;
	size_t queued;
	struct child running[NOTIFY_RUNNING];
	size_t nrunning;
	uint64_t dropped, killed;
	struct event *sigchld, *timer;
	struct agg *agg;
};

static void
job_free(struct job *j)
{
	size_t i;

	for (i = 0; i < NOTIFY_ENV && j->env[i] != NULL; i++)
		free(j->env[i]);
	free(j);
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

static void
start_jobs(struct notifier *n)
{
	const struct agg_config *c = &n->agg->cfg;

	while (n->nrunning < NOTIFY_RUNNING && n->head != NULL) {
		struct job *j = n->head;
		char *argv[] = {"sh", "-c", (char *)c->notify_command, NULL};
		posix_spawn_file_actions_t fa;
		posix_spawnattr_t attr;
		pid_t pid;
		int rc;

		n->head = j->next;
		if (n->head == NULL)
			n->tail = NULL;
		n->queued--;
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		posix_spawnattr_init(&attr);
		/* its own process group, so a timeout kills what it started too */
		posix_spawnattr_setpgroup(&attr, 0);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
		rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, j->env);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
		job_free(j);
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
	struct job *j;
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nrunning; i++)
		kill(-n->running[i].pid, SIGKILL);
	for (i = 0; i < n->nrunning; i++)
		waitpid(n->running[i].pid, NULL, 0);
	while ((j = n->head) != NULL) {
		n->head = j->next;
		job_free(j);
	}
	if (n->sigchld != NULL)
		event_free(n->sigchld);
	if (n->timer != NULL)
		event_free(n->timer);
	free(n);
}

/* Adds NAME=value to the job's environment; 0 or -1. */
static int
job_env(struct job *j, size_t *k, const char *name, const char *value)
{
	if (*k >= NOTIFY_ENV || asprintf(&j->env[*k], "%s=%s", name, value) == -1) {
		if (*k < NOTIFY_ENV)
			j->env[*k] = NULL;
		return -1;
	}
	(*k)++;
	return 0;
}

void
notify_change(struct agg *a, const char *host, const struct finding_change *c)
{
	static const char *const what[] = {"opened", "changed", "closed"};
	struct notifier *n = a->notifier;
	const struct finding *f = &c->f;
	const char *path = getenv("PATH");
	char num[32], when[32], held[32], free_[32], safe[32];
	struct job *j;
	size_t k = 0;
	int rc = 0;

	if (n == NULL || a->cfg.notify_command[0] == '\0')
		return;
	if (n->queued >= NOTIFY_QUEUE) {
		if (n->dropped++ % 100 == 0)
			log_warnx("notify_command cannot keep up: %" PRIu64
			          " notifications dropped",
			          n->dropped);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return;
	snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)f->uid);
	snprintf(held, sizeof(held), "%" PRIu64, f->held);
	snprintf(free_, sizeof(free_), "%" PRIu64, f->free);
	snprintf(safe, sizeof(safe), "%" PRIu64, f->safe_limit);
	rc |= job_env(j, &k, "PATH", path != NULL ? path : "/usr/bin:/bin");
	rc |= job_env(j, &k, "IPCFLEET_EVENT", what[c->what]);
	rc |= job_env(j, &k, "IPCFLEET_HOST", host);
	rc |= job_env(j, &k, "IPCFLEET_KIND", finding_kind_name(f->kind));
	rc |= job_env(j, &k, "IPCFLEET_SEVERITY", severity_name(f->severity));
	rc |= job_env(j, &k, "IPCFLEET_PREVIOUS_SEVERITY",
	              c->what == FC_OPENED ? "" : severity_name(c->previous));
	rc |= job_env(j, &k, "IPCFLEET_LIMIT", f->limit);
	rc |= job_env(j, &k, "IPCFLEET_SCOPE", f->scope);
	rc |= job_env(j, &k, "IPCFLEET_MESSAGE", f->message);
	rc |= job_env(j, &k, "IPCFLEET_OPENED", fmt_rfc3339(f->opened, when, sizeof(when)));
	rc |= job_env(j, &k, "IPCFLEET_COMMAND", f->command);
	if (f->has_headroom) {
		rc |= job_env(j, &k, "IPCFLEET_UID", num);
		rc |= job_env(j, &k, "IPCFLEET_HELD", held);
		rc |= job_env(j, &k, "IPCFLEET_FREE", free_);
		rc |= job_env(j, &k, "IPCFLEET_SAFE_LIMIT", safe);
	}
	if (rc != 0) {
		job_free(j);
		return;
	}
	if (n->tail != NULL)
		n->tail->next = j;
	else
		n->head = j;
	n->tail = j;
	n->queued++;
	start_jobs(n);
}
