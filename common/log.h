/*
 * log.h: logging for the daemons and tools.
 *
 * log_warn() appends strerror(errno); log_warnx() does not.  fatal()/fatalx()
 * log and exit(1): only for broken invariants or start-up failures, never for
 * bad input from a peer.  Messages go to stderr (foreground) or syslog.
 */
#ifndef IPCFLEET_LOG_H
#define IPCFLEET_LOG_H

#include <stdarg.h>

void log_init(const char *progname, int to_syslog, int verbose);
void log_setverbose(int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and drains OpenSSL's error queue, prefixed by the message. */
void log_ssl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
