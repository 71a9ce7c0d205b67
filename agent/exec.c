/*
 * exec.c: run a program with bounded output and time (exec.h).
 *
 * The parent polls three close-on-exec pipes: the child's stdout (kept up to
 * max_out bytes), its stderr (the first EXEC_STDERR_KEEP bytes kept, the rest
 * drained), and a status pipe on which the child reports the errno of a
 * failed execvp (a successful exec closes it).  The child runs in its own
 * process group so that a timeout or an oversized output kills everything
 * it started (a shell script's children too), not only the direct child.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "exec.h"
#include "util.h"

#define EXEC_CHUNK   65536 /* bytes read per read(2) */
#define EXEC_CMD_MAX 128   /* bytes of the command line quoted in messages */

/* The command line for messages: argv joined by spaces, cut to fit. */
static void
exec_cmdline(char *const argv[], char *buf, size_t len)
{
	size_t i;

	buf[0] = '\0';
	for (i = 0; argv[i] != NULL; i++) {
		if (i > 0)
			ifl_strlcat(buf, " ", len);
		if (ifl_strlcat(buf, argv[i], len) >= len)
			break;
	}
	/* the command line is ours, but its bytes are printed: keep them plain */
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] == 0x7f)
			buf[i] = '?';
}

/* The first line of the kept stderr, with control characters replaced. */
static void
exec_errline(const char *e, size_t n, char *out, size_t outlen)
{
	size_t i, k = 0;

	for (i = 0; i < n && e[i] != '\n' && e[i] != '\r' && k + 1 < outlen; i++) {
		unsigned char c = (unsigned char)e[i];

		out[k++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	while (k > 0 && out[k - 1] == ' ')
		k--;
	out[k] = '\0';
}

/* Moves fd to a number >= 3 (close-on-exec), so dup2 onto 0-2 cannot clobber it. */
static int
exec_high_fd(int fd)
{
	return fd >= 3 ? fd : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/*
 * The child after fork: only async-signal-safe calls.  Never returns: it
 * either becomes argv[0] or reports errno on xfd and exits 127.
 */
static void __attribute__((noreturn)) exec_child(char *const argv[], int outfd, int errfd, int xfd)
{
	struct sigaction sa;
	sigset_t none;
	int nullfd, e;

	(void)setpgid(0, 0);
	if ((xfd = exec_high_fd(xfd)) == -1)
		_exit(127);
	if ((outfd = exec_high_fd(outfd)) == -1 || (errfd = exec_high_fd(errfd)) == -1)
		goto fail;
	/* signal state is inherited across exec: give the program a clean one */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);

	if ((nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	if (dup2(nullfd, 0) == -1 || dup2(outfd, 1) == -1 || dup2(errfd, 2) == -1)
		goto fail;
	execvp(argv[0], argv);
fail:
	e = errno;
	(void)!write(xfd, &e, sizeof(e));
	_exit(127);
}

/* Kills the child's process group (and the child, should it have left it). */
static void
exec_kill(pid_t pid)
{
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
}

/* Blocking reap; returns the wait status, or -1 when the child was not ours to reap. */
static int
exec_reap(pid_t pid)
{
	int status;

	for (;;) {
		if (waitpid(pid, &status, 0) == pid)
			return status;
		if (errno != EINTR)
			return -1;
	}
}

static void
exec_close(int *fd)
{
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * One run of a program: its process, the three pipes the parent reads
 * (stdout, stderr, and the status pipe on which a failed exec reports its
 * errno), and what was read from them.  exec_capture() is its life in
 * order: exec_start, exec_read until the pipes close, exec_wait, exec_verdict.
 */
enum { EXEC_OUT, EXEC_ERR, EXEC_STATUS, EXEC_NFD };

struct exec_run {
	char cmd[EXEC_CMD_MAX];
	pid_t pid;
	int fd[EXEC_NFD];  /* the parent's ends; -1 once closed */
	uint64_t deadline; /* now_mono_ms() */
	size_t max_out;
	struct buf out; /* stdout, capped at max_out */
	char ebuf[EXEC_STDERR_KEEP];
	size_t elen;    /* stderr kept; the rest is read and dropped */
	int exec_errno; /* from the status pipe, once xlen is whole */
	size_t xlen;
	char *chunk; /* one read(2) */
};

/* Why exec_read stopped early. */
enum exec_stop { EXEC_DONE, EXEC_TIMEOUT, EXEC_TOO_BIG, EXEC_FAILED };

static void
exec_run_close(struct exec_run *r)
{
	int i;

	for (i = 0; i < EXEC_NFD; i++)
		exec_close(&r->fd[i]);
}

/* Forks the child with its pipes.  0, or -1 with err (nothing left running). */
static int
exec_start(struct exec_run *r, char *const argv[], char *err, size_t errlen)
{
	int p[EXEC_NFD][2], i;

	for (i = 0; i < EXEC_NFD; i++)
		p[i][0] = p[i][1] = -1;
	for (i = 0; i < EXEC_NFD; i++) {
		if (pipe2(p[i], O_CLOEXEC) == -1) {
			snprintf(err, errlen, "%s: pipe: %s", r->cmd, strerror(errno));
			goto fail;
		}
	}
	if ((r->pid = fork()) == -1) {
		snprintf(err, errlen, "%s: fork: %s", r->cmd, strerror(errno));
		goto fail;
	}
	if (r->pid == 0)
		exec_child(argv, p[EXEC_OUT][1], p[EXEC_ERR][1], p[EXEC_STATUS][1]);
	/* both sides set the group, so it exists whichever runs first */
	(void)setpgid(r->pid, r->pid);
	for (i = 0; i < EXEC_NFD; i++) {
		exec_close(&p[i][1]);
		r->fd[i] = p[i][0];
	}
	return 0;
fail:
	for (i = 0; i < EXEC_NFD; i++) {
		exec_close(&p[i][0]);
		exec_close(&p[i][1]);
	}
	return -1;
}

/* What one read from pipe k brought. */
static enum exec_stop
exec_take(struct exec_run *r, int k, size_t n)
{
	size_t keep;

	switch (k) {
	case EXEC_OUT:
		if (n > r->max_out - r->out.len)
			return EXEC_TOO_BIG;
		return buf_append(&r->out, r->chunk, n) == 0 ? EXEC_DONE : EXEC_FAILED;
	case EXEC_ERR:
		keep = sizeof(r->ebuf) - r->elen;
		if (keep > n)
			keep = n;
		memcpy(r->ebuf + r->elen, r->chunk, keep);
		r->elen += keep;
		return EXEC_DONE;
	default:
		/* the status pipe: an int errno, written once */
		keep = sizeof(r->exec_errno) - r->xlen;
		if (keep > n)
			keep = n;
		memcpy((char *)&r->exec_errno + r->xlen, r->chunk, keep);
		r->xlen += keep;
		return EXEC_DONE;
	}
}

/* Reads the pipes until all three close, the deadline passes or stdout overflows. */
static enum exec_stop
exec_read(struct exec_run *r)
{
	for (;;) {
		struct pollfd pfd[EXEC_NFD];
		int idx[EXEC_NFD], nfd = 0, i, k;
		uint64_t now = now_mono_ms();

		for (k = 0; k < EXEC_NFD; k++) {
			if (r->fd[k] == -1)
				continue;
			pfd[nfd].fd = r->fd[k];
			pfd[nfd].events = POLLIN;
			pfd[nfd].revents = 0;
			idx[nfd++] = k;
		}
		if (nfd == 0)
			return EXEC_DONE;
		if (now >= r->deadline)
			return EXEC_TIMEOUT;
		if (poll(pfd, (nfds_t)nfd, (int)(r->deadline - now)) == -1) {
			if (errno == EINTR)
				continue;
			return EXEC_FAILED;
		}
		for (i = 0; i < nfd; i++) {
			enum exec_stop st;
			ssize_t n;

			if (pfd[i].revents == 0)
				continue;
			k = idx[i];
			n = read(r->fd[k], r->chunk, EXEC_CHUNK);
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				exec_close(&r->fd[k]);
				continue;
			}
			if ((st = exec_take(r, k, (size_t)n)) != EXEC_DONE)
				return st;
		}
	}
}

/*
 * All pipes closed: the child has exited or is about to.  Waits for it
 * until the deadline (it may have closed stdout and gone on running).
 * 0 with *status; -1 with err (and the child killed and reaped).
 */
static int
exec_wait(struct exec_run *r, int *status, char *err, size_t errlen)
{
	int sleep_ms = 1;

	for (;;) {
		pid_t w = waitpid(r->pid, status, WNOHANG);

		if (w == r->pid)
			return 0;
		if (w == -1 && errno != EINTR) {
			/* not ours to reap (SIGCHLD ignored): the status is lost */
			snprintf(err, errlen, "%s: waitpid: %s", r->cmd, strerror(errno));
			return -1;
		}
		if (now_mono_ms() >= r->deadline) {
			exec_kill(r->pid);
			(void)exec_reap(r->pid);
			return 1; /* a timeout, said by the caller */
		}
		(void)poll(NULL, 0, sleep_ms);
		if (sleep_ms < 50)
			sleep_ms *= 2;
	}
}

/* How the program ended: 0 when it ran and exited 0, else -1 with the reason. */
static int
exec_verdict(const struct exec_run *r, const char *prog, int status, char *err, size_t errlen)
{
	char eline[EXEC_STDERR_KEEP + 1];

	if (r->xlen == sizeof(r->exec_errno)) {
		if (r->exec_errno == ENOENT && strchr(prog, '/') == NULL)
			snprintf(err, errlen, "cannot run %s: not found in PATH", prog);
		else
			snprintf(err, errlen, "cannot run %s: %s", prog, strerror(r->exec_errno));
		return -1;
	}
	exec_errline(r->ebuf, r->elen, eline, sizeof(eline));
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "%s killed by signal %d%s%s", r->cmd, WTERMSIG(status),
		         eline[0] ? ": " : "", eline);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "%s exited with status %d%s%s", r->cmd,
		         WIFEXITED(status) ? WEXITSTATUS(status) : -1, eline[0] ? ": " : "", eline);
		return -1;
	}
	return 0;
}

int
exec_capture(char *const argv[], int timeout_ms, size_t max_out, char **out, size_t *outlen,
             char *err, size_t errlen)
{
	struct exec_run r;
	enum exec_stop st;
	int status = -1, rc = -1, w;

	*out = NULL;
	*outlen = 0;
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
		snprintf(err, errlen, "exec: no program given");
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.fd[EXEC_OUT] = r.fd[EXEC_ERR] = r.fd[EXEC_STATUS] = -1;
	exec_cmdline(argv, r.cmd, sizeof(r.cmd));
	if (timeout_ms <= 0 || max_out == 0 || max_out > SIZE_MAX / 2) {
		snprintf(err, errlen, "%s: bad limits (timeout %d ms, output %zu bytes)", r.cmd,
		         timeout_ms, max_out);
		return -1;
	}
	r.max_out = max_out;
	buf_init(&r.out, max_out);
	if ((r.chunk = malloc(EXEC_CHUNK)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", r.cmd);
		return -1;
	}
	r.deadline = now_mono_ms() + (uint64_t)timeout_ms;
	if (exec_start(&r, argv, err, errlen) == -1)
		goto out;
	if ((st = exec_read(&r)) != EXEC_DONE) {
		exec_kill(r.pid);
		(void)exec_reap(r.pid);
		if (st == EXEC_TIMEOUT)
			snprintf(err, errlen, "%s timed out after %d ms", r.cmd, timeout_ms);
		else if (st == EXEC_TOO_BIG)
			snprintf(err, errlen, "%s: output larger than %zu bytes", r.cmd, max_out);
		else
			snprintf(err, errlen, "%s: %s", r.cmd,
			         buf_failed(&r.out) ? "out of memory" : strerror(errno));
		goto out;
	}
	if ((w = exec_wait(&r, &status, err, errlen)) != 0) {
		if (w == 1)
			snprintf(err, errlen, "%s timed out after %d ms", r.cmd, timeout_ms);
		goto out;
	}
	if (exec_verdict(&r, argv[0], status, err, errlen) == -1)
		goto out;
	if (buf_cstr(&r.out) == NULL) {
		snprintf(err, errlen, "%s: out of memory", r.cmd);
		goto out;
	}
	/* the output's buffer is handed over: NUL-terminated, its length without the NUL */
	*out = r.out.data;
	*outlen = r.out.len;
	r.out.data = NULL;
	rc = 0;
out:
	exec_run_close(&r);
	buf_free(&r.out);
	free(r.chunk);
	return rc;
}
