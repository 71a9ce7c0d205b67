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

int
exec_capture(char *const argv[], int timeout_ms, size_t max_out, char **out, size_t *outlen,
             char *err, size_t errlen)
{
	char cmd[EXEC_CMD_MAX], ebuf[EXEC_STDERR_KEEP], eline[EXEC_STDERR_KEEP + 1];
	char *chunk = NULL, *buf = NULL;
	size_t len = 0, cap = 0, elen = 0;
	int op[2] = {-1, -1}, ep[2] = {-1, -1}, xp[2] = {-1, -1};
	int exec_errno = 0, xlen = 0, status = -1, timed_out = 0, too_big = 0, sleep_ms = 1;
	uint64_t deadline;
	pid_t pid;

	*out = NULL;
	*outlen = 0;
	if (argv == NULL || argv[0] == NULL || argv[0][0] == '\0') {
		snprintf(err, errlen, "exec: no program given");
		return -1;
	}
	exec_cmdline(argv, cmd, sizeof(cmd));
	if (timeout_ms <= 0 || max_out == 0 || max_out > SIZE_MAX / 2) {
		snprintf(err, errlen, "%s: bad limits (timeout %d ms, output %zu bytes)", cmd,
		         timeout_ms, max_out);
		return -1;
	}
	if ((chunk = malloc(EXEC_CHUNK)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", cmd);
		return -1;
	}
	if (pipe2(op, O_CLOEXEC) == -1 || pipe2(ep, O_CLOEXEC) == -1 ||
	    pipe2(xp, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "%s: pipe: %s", cmd, strerror(errno));
		goto fail_fds;
	}
	deadline = now_mono_ms() + (uint64_t)timeout_ms;
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "%s: fork: %s", cmd, strerror(errno));
		goto fail_fds;
	}
	if (pid == 0)
		exec_child(argv, op[1], ep[1], xp[1]);
	/* both sides set the group, so it exists whichever runs first */
	(void)setpgid(pid, pid);
	exec_close(&op[1]);
	exec_close(&ep[1]);
	exec_close(&xp[1]);

	while (op[0] != -1 || ep[0] != -1 || xp[0] != -1) {
		struct pollfd pfd[3];
		int *fds[3], nfd = 0, i, r;
		uint64_t now = now_mono_ms();

		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		if (op[0] != -1)
			fds[nfd++] = &op[0];
		if (ep[0] != -1)
			fds[nfd++] = &ep[0];
		if (xp[0] != -1)
			fds[nfd++] = &xp[0];
		for (i = 0; i < nfd; i++) {
			pfd[i].fd = *fds[i];
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		r = poll(pfd, (nfds_t)nfd, (int)(deadline - now));
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: poll: %s", cmd, strerror(errno));
			exec_kill(pid);
			(void)exec_reap(pid);
			goto fail_fds;
		}
		for (i = 0; i < nfd; i++) {
			ssize_t n;

			if (pfd[i].revents == 0)
				continue;
			n = read(*fds[i], chunk, EXEC_CHUNK);
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				exec_close(fds[i]);
				continue;
			}
			if (fds[i] == &op[0]) {
				if ((size_t)n > max_out - len) {
					too_big = 1;
					break;
				}
				if (len + (size_t)n + 1 > cap) {
					/* grow by doubling, never past max_out + 1 */
					size_t ncap = cap ? cap : 16384;
					char *nb;

					while (ncap < len + (size_t)n + 1)
						ncap *= 2;
					if (ncap > max_out + 1)
						ncap = max_out + 1;
					if ((nb = realloc(buf, ncap)) == NULL) {
						snprintf(err, errlen, "%s: out of memory", cmd);
						exec_kill(pid);
						(void)exec_reap(pid);
						goto fail_fds;
					}
					buf = nb;
					cap = ncap;
				}
				memcpy(buf + len, chunk, (size_t)n);
				len += (size_t)n;
			} else if (fds[i] == &ep[0]) {
				size_t keep = sizeof(ebuf) - elen;

				if (keep > (size_t)n)
					keep = (size_t)n;
				memcpy(ebuf + elen, chunk, keep);
				elen += keep;
			} else {
				/* the status pipe: an int errno, written once */
				size_t take = sizeof(exec_errno) - (size_t)xlen;

				if (take > (size_t)n)
					take = (size_t)n;
				memcpy((char *)&exec_errno + xlen, chunk, take);
				xlen += (int)take;
			}
		}
		if (too_big)
			break;
	}

	if (timed_out || too_big) {
		exec_kill(pid);
		(void)exec_reap(pid);
		if (timed_out)
			snprintf(err, errlen, "%s timed out after %d ms", cmd, timeout_ms);
		else
			snprintf(err, errlen, "%s: output larger than %zu bytes", cmd, max_out);
		goto fail_fds;
	}

	/* All pipes closed: the child has exited or is about to.  Wait for it
	 * until the deadline (it may have closed stdout and gone on running). */
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r == -1 && errno != EINTR) {
			/* not ours to reap (SIGCHLD ignored): the status is lost */
			snprintf(err, errlen, "%s: waitpid: %s", cmd, strerror(errno));
			goto fail_fds;
		}
		if (now_mono_ms() >= deadline) {
			exec_kill(pid);
			(void)exec_reap(pid);
			snprintf(err, errlen, "%s timed out after %d ms", cmd, timeout_ms);
			goto fail_fds;
		}
		(void)poll(NULL, 0, sleep_ms);
		if (sleep_ms < 50)
			sleep_ms *= 2;
	}

	if (xlen == (int)sizeof(exec_errno)) {
		if (exec_errno == ENOENT && strchr(argv[0], '/') == NULL)
			snprintf(err, errlen, "cannot run %s: not found in PATH", argv[0]);
		else
			snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(exec_errno));
		goto fail_fds;
	}
	exec_errline(ebuf, elen, eline, sizeof(eline));
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "%s killed by signal %d%s%s", cmd, WTERMSIG(status),
		         eline[0] ? ": " : "", eline);
		goto fail_fds;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "%s exited with status %d%s%s", cmd,
		         WIFEXITED(status) ? WEXITSTATUS(status) : -1, eline[0] ? ": " : "", eline);
		goto fail_fds;
	}

	if (buf == NULL && (buf = malloc(1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", cmd);
		goto fail_fds;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	free(chunk);
	return 0;

fail_fds:
	exec_close(&op[0]);
	exec_close(&op[1]);
	exec_close(&ep[0]);
	exec_close(&ep[1]);
	exec_close(&xp[0]);
	exec_close(&xp[1]);
	free(buf);
	free(chunk);
	return -1;
}
