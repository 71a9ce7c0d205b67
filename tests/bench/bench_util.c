/*
 * bench_util.c: what every section of the harness needs: printing figures,
 * child processes, starting the aggregator, and reading a process's CPU
 * time and memory from /proc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bench.h"

#define METRICS_MAX (4u * 1024 * 1024) /* /metrics lists every host: bounded read */

/* bench_fig_names(): what every figure's name is wrapped in */
static char fig_pfx[32], fig_sfx[32];

void
bench_fig_names(const char *pfx, const char *sfx)
{
	snprintf(fig_pfx, sizeof(fig_pfx), "%s", pfx);
	snprintf(fig_sfx, sizeof(fig_sfx), "%s", sfx);
}

void
bench_fig(const char *name, double value, const char *unit)
{
	/* whole numbers without decimals, the rest with three significant ones at least */
	if (fabs(value) >= 100 || value == floor(value))
		printf("%s%s%s=%.0f %s\n", fig_pfx, name, fig_sfx, value, unit);
	else if (fabs(value) >= 1)
		printf("%s%s%s=%.2f %s\n", fig_pfx, name, fig_sfx, value, unit);
	else
		printf("%s%s%s=%.4f %s\n", fig_pfx, name, fig_sfx, value, unit);
	fflush(stdout);
}

void
bench_figp(const char *pfx, const char *name, double value, const char *unit)
{
	char full[128];

	snprintf(full, sizeof(full), "%s%s", pfx, name);
	bench_fig(full, value, unit);
}

void
bench_figp_unknown(const char *pfx, const char *name, const char *why)
{
	printf("%s%s%s%s=unknown %s\n", fig_pfx, pfx, name, fig_sfx, why);
	fflush(stdout);
}

void
bench_note(const char *fmt, ...)
{
	va_list ap;

	fputs("ipcfleet-bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
bench_fail(struct bench *b, const char *fmt, ...)
{
	va_list ap;

	b->failed = 1;
	fputs("ipcfleet-bench: FAILED: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
bench_run(char *const argv[], const char *out)
{
	pid_t pid;
	int st, fd;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		fd = open(out != NULL ? out : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
bench_pki_agent(struct bench *b, const char *name)
{
	char pki[PATH_MAX + 32];
	char *argv[] = {pki, "agent", b->pki, (char *)name, NULL};

	snprintf(pki, sizeof(pki), "%s/deploy/pki/ipcfleet-pki", b->srcdir);
	return bench_run(argv, NULL) == 0 ? 0 : -1;
}

/* Reads a small file whole (a port file); 0 or -1. */
static int
read_int_file(const char *path, int *v)
{
	char buf[32];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	*v = atoi(buf);
	return *v > 0 ? 0 : -1;
}

int
bench_agg_start(struct bench *b, struct agg_proc *a, const char *tag, const char *db,
                unsigned max_conns, const char *extra)
{
	char port[PATH_MAX + 16], hport[PATH_MAX + 16], exe[PATH_MAX + 32];
	FILE *fp;
	int i;

	memset(a, 0, sizeof(*a));
	snprintf(a->conf, sizeof(a->conf), "%s/%s.conf", b->work, tag);
	snprintf(a->log, sizeof(a->log), "%s/%s.log", b->work, tag);
	snprintf(port, sizeof(port), "%s/%s.port", b->work, tag);
	snprintf(hport, sizeof(hport), "%s/%s.hport", b->work, tag);
	snprintf(exe, sizeof(exe), "%s/ipcfleet-aggregator", b->bindir);
	unlink(port);
	unlink(hport);
	if ((fp = fopen(a->conf, "w")) == NULL)
		return -1;
	fprintf(fp,
	        "[server]\nlisten = 127.0.0.1:0\ncert = %s/localhost.crt\nkey = %s/localhost.key\n"
	        "ca = %s/ca.crt\nadmins = admin\nmax_connections = %u\n"
	        "[storage]\n%s%s\n[http]\nlisten = 127.0.0.1:0\n%s\n",
	        b->pki, b->pki, b->pki, max_conns,
	        strncmp(db, "postgresql://", 13) == 0 ? "backend = postgresql\nurl = "
	                                              : "backend = sqlite\npath = ",
	        db, extra != NULL ? extra : "");
	if (fclose(fp) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	if ((a->pid = fork()) == -1)
		return -1;
	if (a->pid == 0) {
		char *argv[] = {exe,   "-c", a->conf, "--port-file", port, "--http-port-file",
		                hport, NULL};
		int fd = open(a->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(exe, argv);
		_exit(127);
	}
	/* a big database opens slowly: its schema may be migrated */
	for (i = 0; i < 6000; i++) {
		int st;

		if (read_int_file(port, &a->port) == 0 && read_int_file(hport, &a->http_port) == 0)
			return 0;
		if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
			bench_note("the aggregator exited at start-up: see %s", a->log);
			a->pid = 0;
			return -1;
		}
		usleep(20000);
	}
	bench_note("the aggregator did not start within 120 s: see %s", a->log);
	bench_agg_stop(a);
	return -1;
}

void
bench_agg_stop(struct agg_proc *a)
{
	int st, i;

	if (a->pid <= 0)
		return;
	kill(a->pid, SIGTERM);
	for (i = 0; i < 1000; i++) {
		if (waitpid(a->pid, &st, WNOHANG) == a->pid) {
			a->pid = 0;
			return;
		}
		usleep(10000);
	}
	kill(a->pid, SIGKILL);
	waitpid(a->pid, &st, 0);
	a->pid = 0;
}

double
bench_proc_cpu(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long long ut, stime;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* the command name may hold spaces: fields count from its closing ')' */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stime) !=
	        2)
		return -1;
	return (double)(ut + stime) / (double)sysconf(_SC_CLK_TCK);
}

double
bench_comm_cpu(const char *comm)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	double sum = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char path[300], name[64];
		FILE *fp;
		double c;
		int ok;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		ok = fgets(name, sizeof(name), fp) != NULL;
		fclose(fp);
		if (!ok)
			continue;
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, comm) == 0 && (c = bench_proc_cpu((pid_t)atoi(de->d_name))) > 0)
			sum += c;
	}
	closedir(d);
	return sum;
}

/* "KEY: N kB" of /proc/PID/FILE, or -1. */
static long
proc_file_kb(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			v = atol(line + klen + 1);
			break;
		}
	fclose(fp);
	return v;
}

static long
proc_status_kb(pid_t pid, const char *key)
{
	return proc_file_kb(pid, "status", key);
}

long
bench_proc_pss_kb(pid_t pid)
{
	/* shared pages divided among the processes that map them */
	return proc_file_kb(pid, "smaps_rollup", "Pss");
}

long
bench_proc_rss_kb(pid_t pid)
{
	return proc_status_kb(pid, "VmRSS");
}

long
bench_proc_hwm_kb(pid_t pid)
{
	return proc_status_kb(pid, "VmHWM");
}

long
bench_proc_anon_kb(pid_t pid)
{
	return proc_status_kb(pid, "RssAnon");
}

/* Reads until EOF or max bytes, within 10 s; the byte count or -1. */
static ssize_t
read_all(int fd, char *buf, size_t max)
{
	size_t have = 0;

	while (have < max) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, 10000) != 1)
			return -1;
		if ((n = read(fd, buf + have, max - have)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0)
			break;
		have += (size_t)n;
	}
	return (ssize_t)have;
}

int
bench_metric(const struct agg_proc *a, const char *name, double *v)
{
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct sockaddr_in sin;
	size_t nlen = strlen(name);
	char *buf, *p;
	ssize_t n;
	int fd, rc = -1;

	if ((buf = malloc(METRICS_MAX + 1)) == NULL)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)a->http_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		free(buf);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1 ||
	    (n = read_all(fd, buf, METRICS_MAX)) <= 0)
		goto out;
	buf[n] = '\0';
	for (p = buf; (p = strstr(p, name)) != NULL; p += nlen) {
		if ((p == buf || p[-1] == '\n') && p[nlen] == ' ') {
			*v = strtod(p + nlen + 1, NULL);
			rc = 0;
			break;
		}
	}
out:
	close(fd);
	free(buf);
	return rc;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
bench_pct(double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	/* nearest rank */
	i = (size_t)ceil(p / 100 * (double)n);
	if (i == 0)
		i = 1;
	return v[i > n ? n - 1 : i - 1];
}

void
bench_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
bench_list_valid(const char *list, const char *const *names, size_t n, const char **bad,
                 size_t *badlen)
{
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ","), i;

		for (i = 0; i < n; i++)
			if (strlen(names[i]) == len && strncmp(names[i], p, len) == 0)
				break;
		if (i == n) {
			*bad = p;
			*badlen = len;
			return -1;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}
