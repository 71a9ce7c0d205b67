/*
 * bench_agent.c: what the agent costs its host, beside the tools an admin
 * would otherwise run.
 *
 * In a private IPC namespace (unshare(CLONE_NEWIPC): root only) a child
 * creates 1,000 objects (400 semaphore sets, 350 shared memory segments,
 * 250 message queues), then runs, on those same objects:
 *   - ipcs -a and lsipc, R times each: CPU time per run from the children's
 *     rusage (a whole run: exec, loading, reading, printing to /dev/null);
 *   - the real ipcfleet-agent with a 1 s interval, delivering to a real
 *     aggregator, twice: until 1 snapshot is delivered, and until 1 + K are.
 *     The difference of the two runs' CPU times over K is the cost of one
 *     snapshot in the running daemon (collect, encode, spool with fsync,
 *     send over TLS, read the ack) without start-up; its peak RSS is the
 *     longer run's VmHWM (not ru_maxrss: that counts the forked parent's
 *     pages from before the exec), and RssAnon: its own memory, without the
 *     pages of the shared libraries it maps (libcrypto's, mostly).
 * The child writes "name value" lines to a pipe; the parent prints them as
 * figures.  The namespace and its objects vanish with the child.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define N_SEM 400
#define N_SHM 350
#define N_MSG 250

static double
tv_s(const struct timeval *tv)
{
	return (double)tv->tv_sec + (double)tv->tv_usec / 1e6;
}

/* Creates the objects in the current IPC namespace; the number created. */
static int
make_objects(void)
{
	int i, n = 0;

	for (i = 0; i < N_SEM; i++)
		if (semget(IPC_PRIVATE, 8, IPC_CREAT | 0600) != -1)
			n++;
	for (i = 0; i < N_SHM; i++)
		if (shmget(IPC_PRIVATE, 64 * 1024, IPC_CREAT | 0600) != -1)
			n++;
	for (i = 0; i < N_MSG; i++)
		if (msgget(IPC_PRIVATE, IPC_CREAT | 0600) != -1)
			n++;
	return n;
}

/* CPU seconds per run of a tool (PATH lookup), or -1 when it is missing. */
static double
tool_cost(const char *tool, const char *arg, int runs)
{
	struct rusage r0, r1;
	int i, st;

	getrusage(RUSAGE_CHILDREN, &r0);
	for (i = 0; i < runs; i++) {
		pid_t pid = fork();

		if (pid == -1)
			return -1;
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 1);
			dup2(fd, 2);
			execlp(tool, tool, arg, (char *)NULL);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return -1;
	}
	getrusage(RUSAGE_CHILDREN, &r1);
	return (tv_s(&r1.ru_utime) + tv_s(&r1.ru_stime) - tv_s(&r0.ru_utime) - tv_s(&r0.ru_stime)) /
	       runs;
}

/* Spooled snapshots not yet acknowledged. */
static int
spool_pending(const char *dir, int *pending)
{
	struct dirent *de;
	DIR *d;

	*pending = 0;
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);

		if (n > 5 && strcmp(de->d_name + n - 5, ".snap") == 0)
			(*pending)++;
	}
	closedir(d);
	return 0;
}

/* Snapshots the aggregator has stored so far (its /metrics); -1 when it cannot say. */
static double
agg_stored(const struct agg_proc *agg)
{
	double v;

	return bench_metric(agg, "ipcfleet_snapshots_total{result=\"stored\"}", &v) == 0 ? v : -1;
}

/*
 * Runs the agent until want snapshots are delivered (stored by the
 * aggregator, and none left in the spool), then SIGTERM: its CPU seconds
 * and peak RSS (kB).  -1 on failure or timeout.
 */
static int
agent_run(struct bench *b, const struct agg_proc *agg, const char *tag, unsigned long want,
          double *cpu, long *maxrss, long *anon, long *pss)
{
	char conf[PATH_MAX + 32], spool[PATH_MAX + 32], log[PATH_MAX + 32], exe[PATH_MAX + 32];
	struct rusage ru;
	double deadline = bench_now() + (double)want + 30, base = agg_stored(agg);
	int st, pending, done = 0;
	pid_t pid;
	FILE *fp;

	snprintf(conf, sizeof(conf), "%s/agent-%s.conf", b->work, tag);
	snprintf(spool, sizeof(spool), "%s/spool-%s", b->work, tag);
	snprintf(log, sizeof(log), "%s/agent-%s.log", b->work, tag);
	snprintf(exe, sizeof(exe), "%s/ipcfleet-agent", b->bindir);
	if (base < 0 || (fp = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(fp,
	        "[agent]\nserver = localhost:%d\ncert = %s/bench-agent.crt\n"
	        "key = %s/bench-agent.key\nca = %s/ca.crt\ninterval = 1s\nspool = %s\n",
	        agg->port, b->pki, b->pki, b->pki, spool);
	if (fclose(fp) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(exe, exe, "-c", conf, (char *)NULL);
		_exit(127);
	}
	while (bench_now() < deadline) {
		usleep(20000);
		if (agg_stored(agg) >= base + (double)want && spool_pending(spool, &pending) == 0 &&
		    pending == 0) {
			done = 1;
			break;
		}
		if (waitpid(pid, &st, WNOHANG) == pid) {
			pid = -1;
			break;
		}
	}
	if (pid == -1)
		return -1;
	*maxrss = bench_proc_hwm_kb(pid);
	*anon = bench_proc_anon_kb(pid);
	*pss = bench_proc_pss_kb(pid);
	kill(pid, SIGTERM);
	if (wait4(pid, &st, 0, &ru) == -1)
		return -1;
	*cpu = tv_s(&ru.ru_utime) + tv_s(&ru.ru_stime);
	return done ? 0 : -1;
}

/* The child in its own IPC namespace: measures, writes "name value" lines to fd. */
static void
agent_child(struct bench *b, const struct agg_proc *agg, int fd)
{
	FILE *out = fdopen(fd, "w");
	int runs = b->quick ? 5 : 20, k = b->quick ? 4 : 20, n;
	double c1, c2, ipcs, lsipc;
	long r1, r2, a1, a2, p1, p2;

	if (out == NULL)
		_exit(1);
	if (unshare(CLONE_NEWIPC) == -1) {
		fprintf(out, "skip unshare(CLONE_NEWIPC): %s\n", strerror(errno));
		fclose(out);
		_exit(0);
	}
	n = make_objects();
	fprintf(out, "agent_objects %d\n", n);
	ipcs = tool_cost("ipcs", "-a", runs);
	lsipc = tool_cost("lsipc", NULL, runs);
	if (ipcs >= 0)
		fprintf(out, "ipcs_cpu_us_per_run %.0f\n", ipcs * 1e6);
	if (lsipc >= 0)
		fprintf(out, "lsipc_cpu_us_per_run %.0f\n", lsipc * 1e6);
	if (agent_run(b, agg, "one", 1, &c1, &r1, &a1, &p1) == 0 &&
	    agent_run(b, agg, "many", 1 + (unsigned long)k, &c2, &r2, &a2, &p2) == 0) {
		fprintf(out, "agent_cpu_us_per_snapshot %.0f\n", (c2 - c1) * 1e6 / k);
		/* the agent's CPU per snapshot over lsipc's per run, on the same objects */
		if (lsipc > 0)
			fprintf(out, "agent_vs_lsipc %.3f\n", (c2 - c1) / k / lsipc);
		fprintf(out, "agent_startup_cpu_us %.0f\n", c1 * 1e6);
		fprintf(out, "agent_rss_kb %ld\n", r2);
		/* its own memory, without the shared libraries' pages (libcrypto's mostly) */
		fprintf(out, "agent_anon_kb %ld\n", a2);
		/* shared pages divided among their users: what it costs the host */
		if (p2 >= 0)
			fprintf(out, "agent_pss_kb %ld\n", p2);
	} else
		fprintf(out, "fail the agent did not deliver its snapshots (see %s)\n", b->work);
	fclose(out);
	_exit(0);
}

/*
 * Runs child (which writes "name value" lines) against an aggregator of
 * its own and prints them as figures.  tag names the section.
 */
static int
agent_measure(struct bench *b, const char *tag,
              void (*child)(struct bench *, const struct agg_proc *, int))
{
	char db[PATH_MAX + 16], line[512];
	struct agg_proc agg;
	int fds[2], st, rc = 0;
	pid_t pid;
	FILE *in;

	if (geteuid() != 0) {
		bench_note("%s: skipped: creating objects in private IPC namespaces needs root",
		           tag);
		return 0;
	}
	snprintf(db, sizeof(db), "%s/%s.db", b->work, tag);
	if (bench_agg_start(b, &agg, tag, db, 100, NULL) == -1) {
		bench_fail(b, "%s: the aggregator did not start", tag);
		return -1;
	}
	if (pipe(fds) == -1) {
		bench_agg_stop(&agg);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		bench_agg_stop(&agg);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child(b, &agg, fds[1]);
	}
	close(fds[1]);
	if ((in = fdopen(fds[0], "r")) == NULL) {
		bench_agg_stop(&agg);
		return -1;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		char name[64];
		double v;

		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "skip ", 5) == 0) {
			bench_note("%s: skipped: %s", tag, line + 5);
			continue;
		}
		if (strncmp(line, "fail ", 5) == 0) {
			bench_fail(b, "%s: %s", tag, line + 5);
			rc = -1;
			continue;
		}
		if (sscanf(line, "%63s %lf", name, &v) != 2)
			continue;
		bench_fig(name, v,
		          strstr(name, "_us") != NULL    ? "us"
		          : strstr(name, "_kb") != NULL  ? "kB"
		          : strstr(name, "_vs_") != NULL ? "ratio"
		                                         : "count");
	}
	fclose(in);
	waitpid(pid, &st, 0);
	bench_agg_stop(&agg);
	return rc;
}

int
bench_agent(struct bench *b)
{
	return agent_measure(b, "agent", agent_child);
}

/*
 * A busy host (issue 17): BUSY_NS IPC namespaces, each a process holding
 * BUSY_OBJ objects (half sets, half segments) with more processes in it
 * (BUSY_PROCS in all, or --busy-procs: spread evenly over the namespaces),
 * all in one process group that is killed at the end.  Then the running
 * agent's CPU per snapshot over all of them.
 */
#define BUSY_NS    200
#define BUSY_PROCS 2000
#define BUSY_OBJ   10

/* One namespace's processes: its holder and nprocs - 1 more. */
static void
busy_namespace(size_t nprocs)
{
	size_t i;

	if (unshare(CLONE_NEWIPC) == -1)
		_exit(1);
	for (i = 0; i < BUSY_OBJ; i++)
		if ((i % 2 ? shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600)
		           : semget(IPC_PRIVATE, 1, IPC_CREAT | 0600)) == -1)
			_exit(1);
	for (i = 1; i < nprocs; i++) {
		pid_t p = fork();

		if (p == 0)
			for (;;)
				pause();
	}
	for (;;)
		pause();
}

/* Processes of process group pg, from /proc/PID/stat (its fifth field). */
static size_t
busy_count(pid_t pg)
{
	char path[300], line[512];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	if ((d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		const char *p;
		FILE *fp;
		long grp;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		/* after the command's closing parenthesis: state, ppid, pgrp */
		if (fgets(line, sizeof(line), fp) != NULL && (p = strrchr(line, ')')) != NULL &&
		    sscanf(p + 1, " %*c %*d %ld", &grp) == 1 && grp == (long)pg)
			n++;
		fclose(fp);
	}
	closedir(d);
	return n;
}

static void
busy_child(struct bench *b, const struct agg_proc *agg, int fd)
{
	FILE *out = fdopen(fd, "w");
	size_t i, nprocs = b->busy_procs ? b->busy_procs : BUSY_PROCS;
	int k = b->quick ? 4 : 10;
	char t1[48], tk[48];
	double c1, c2;
	long r1, r2, a1, a2, p1, p2;
	pid_t group;

	if (out == NULL)
		_exit(1);
	/* the namespaces' processes: one group, so that one kill ends them all */
	if ((group = fork()) == 0) {
		setpgid(0, 0);
		for (i = 0; i < BUSY_NS; i++)
			if (fork() == 0)
				busy_namespace(nprocs / BUSY_NS + (i < nprocs % BUSY_NS));
		for (;;)
			pause();
	}
	setpgid(group, group);
	/* every process made (the group's leader and nprocs), then 2 s to settle */
	for (i = 0; i < 120 && busy_count(group) < nprocs + 1; i++)
		sleep(1);
	sleep(2);
	fprintf(out, "busy_namespaces %d\nbusy_processes %zu\nbusy_objects %d\n", BUSY_NS, nprocs,
	        BUSY_NS * BUSY_OBJ);
	/* spools of their own per size: a spool that has delivered would end the run at once */
	snprintf(t1, sizeof(t1), "busy1-%zu", nprocs);
	snprintf(tk, sizeof(tk), "busyk-%zu", nprocs);
	if (agent_run(b, agg, t1, 1, &c1, &r1, &a1, &p1) == 0 &&
	    agent_run(b, agg, tk, 1 + (unsigned long)k, &c2, &r2, &a2, &p2) == 0) {
		fprintf(out, "agent_busy_cpu_us_per_snapshot %.0f\n", (c2 - c1) * 1e6 / k);
		fprintf(out, "agent_busy_startup_cpu_us %.0f\n", c1 * 1e6);
		fprintf(out, "agent_busy_rss_kb %ld\n", r2);
	} else
		fprintf(out, "fail the agent did not deliver its snapshots (see %s)\n", b->work);
	kill(-group, SIGKILL);
	waitpid(group, NULL, 0);
	fclose(out);
	_exit(0);
}

int
bench_agent_busy(struct bench *b)
{
	char tag[48];

	/* a database of its own per size: the same host's earlier sequences would be duplicates */
	if (b->busy_procs == 0)
		return agent_measure(b, "busy", busy_child);
	snprintf(tag, sizeof(tag), "busy-%zu", b->busy_procs);
	return agent_measure(b, tag, busy_child);
}
