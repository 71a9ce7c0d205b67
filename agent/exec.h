/*
 * exec.h: run a program and capture its output, with hard bounds.
 *
 * Used by the FreeBSD collector to run sysctl, ipcs, jls, jexec, ps: no
 * shell, the program is found through PATH, stdin is /dev/null, and every
 * resource is bounded (output size, stderr kept, wall-clock time), so a
 * hostile or wedged program can neither hang nor flood the agent.
 */
#ifndef IPCFLEET_EXEC_H
#define IPCFLEET_EXEC_H

#include <stddef.h>

/* Bytes of the child's stderr kept for the error message; the rest is read
 * and discarded so the child never blocks on a full pipe. */
#define EXEC_STDERR_KEEP 512

/*
 * Runs argv[0] (looked up in PATH with execvp) with the arguments argv[1..],
 * in a process group of its own, with stdin from /dev/null.
 *
 * On success returns 0 and *out is a malloc'd buffer holding all of stdout,
 * NUL-terminated (the NUL is not counted in *outlen; the output itself may
 * contain NUL bytes).  The caller frees *out.
 *
 * Returns -1 with *out NULL and a one-line reason in err when the program
 * cannot be started ("cannot run ipcs: not found in PATH"), writes more than
 * max_out bytes ("... output larger than N bytes"), runs longer than
 * timeout_ms ("... timed out after N ms"), exits with a non-zero status
 * ("CMD exited with status N: first line of its stderr") or dies from a
 * signal.  On a timeout or an oversized output the whole process group is
 * killed with SIGKILL.  The child is always reaped before returning.
 */
int exec_capture(char *const argv[], int timeout_ms, size_t max_out, char **out, size_t *outlen,
                 char *err, size_t errlen);

#endif
