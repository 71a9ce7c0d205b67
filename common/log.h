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
#include <stdint.h>

void log_init(const char *progname, int to_syslog, int verbose);
void log_setverbose(int verbose);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and drains OpenSSL's error queue, prefixed by the message. */
void log_ssl(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Lines a peer can make us write over and over (a refused handshake, a
 * timeout, a bad frame) go through a limiter, one per call site: the first
 * LOG_LIMIT_BURST are written, then one per second at most; the others are
 * counted, and log_limit_report() (every few seconds, and at exit) writes
 * "NAME: N more like this not logged in the last S s" for each limiter that
 * suppressed any.  Declare each limiter static at its call site:
 *
 *	static struct log_limit ll = LOG_LIMIT("TLS handshake failures");
 *	log_limited(&ll, "%s: TLS handshake failed: %s", who, why);
 */
#define LOG_LIMIT_BURST 50 /* lines written before the limit applies */
#define LOG_LIMIT_RATE  1  /* lines per second after that */
struct log_limit {
	const char *name;       /* what is limited, for the summary line */
	double tokens;          /* lines that may be written now */
	uint64_t refilled_ms;   /* monotonic time tokens was last refilled */
	uint64_t suppressed;    /* lines not written since the last summary */
	uint64_t first_ms;      /* when the first of them was suppressed */
	struct log_limit *next; /* in the list log_limit_report() walks */
	int registered;
	int info; /* written as log_info(), else as log_warnx() */
};
#define LOG_LIMIT(name)                                                                            \
	{                                                                                          \
		(name), LOG_LIMIT_BURST, 0, 0, 0, NULL, 0, 0                                       \
	}
#define LOG_LIMIT_INFO(name)                                                                       \
	{                                                                                          \
		(name), LOG_LIMIT_BURST, 0, 0, 0, NULL, 0, 1                                       \
	}
/* log_warnx() (log_info() for LOG_LIMIT_INFO) through limiter l. */
void log_limited(struct log_limit *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes the summary line of every limiter that suppressed lines since its last one. */
void log_limit_report(void);

void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
