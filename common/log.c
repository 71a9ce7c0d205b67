/*
 * log.c: logging to stderr or syslog (log.h).
 *
 * Every message is one line: control characters, invalid UTF-8 and
 * invisible formatting characters in the formatted text (which may quote a
 * peer's or a file's bytes) are replaced by '?' (text_clean(), util.h), so
 * that nobody can forge log lines or send escape sequences to a terminal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "tls.h"
#include "text.h"
#include "util.h"

#define LOG_LINE_MAX 2048 /* longer messages are cut */

static char log_progname[64] = "ipcfleet";
static int log_to_syslog;
static int log_verbose;

void
log_init(const char *progname, int to_syslog, int verbose)
{
	const char *slash;

	if (progname != NULL && *progname != '\0') {
		if ((slash = strrchr(progname, '/')) != NULL && slash[1] != '\0')
			progname = slash + 1;
		ifl_strlcpy(log_progname, progname, sizeof(log_progname));
	}
	log_to_syslog = to_syslog;
	log_verbose = verbose;
	if (to_syslog)
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

/*
 * Replaces every character text_char_len() refuses (controls, C1 controls,
 * invalid UTF-8, bidi and zero-width characters) by '?', in place: the
 * result is never longer.
 */
static void
log_sanitize(char *s)
{
	char tmp[LOG_LINE_MAX];
	size_t n = text_clean(tmp, sizeof(tmp), s, strlen(s));

	memcpy(s, tmp, n + 1);
}

/* Appends ": reason; reason" from OpenSSL's queue, emptying it. */
static void
log_append_ssl(char *buf, size_t len)
{
	char reasons[1024];

	tls_errors(reasons, sizeof(reasons));
	if (reasons[0] != '\0') {
		ifl_strlcat(buf, ": ", len);
		ifl_strlcat(buf, reasons, len);
	}
}

/*
 * Formats one message; suffix: 0 none, 1 strerror(saved_errno), 2 OpenSSL's
 * errors.  Then writes it to syslog or stderr.
 */
static void __attribute__((format(printf, 4, 0)))
log_vlog(int pri, int suffix, int saved_errno, const char *fmt, va_list ap)
{
	char buf[LOG_LINE_MAX];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (suffix == 1) {
		ifl_strlcat(buf, ": ", sizeof(buf));
		ifl_strlcat(buf, strerror(saved_errno), sizeof(buf));
	} else if (suffix == 2) {
		log_append_ssl(buf, sizeof(buf));
	}
	log_sanitize(buf);
	if (log_to_syslog)
		syslog(pri, "%s", buf);
	else
		fprintf(stderr, "%s: %s\n", log_progname, buf);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, 1, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, 0, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, 0, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, 0, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_ssl(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, 2, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

static struct log_limit *log_limits; /* every limiter used so far */

void
log_limited(struct log_limit *l, const char *fmt, ...)
{
	int saved = errno;
	uint64_t now = now_mono_ms();
	va_list ap;

	if (!l->registered) {
		l->next = log_limits;
		log_limits = l;
		l->registered = 1;
		l->refilled_ms = now;
	}
	l->tokens += (double)(now - l->refilled_ms) * LOG_LIMIT_RATE / 1000;
	if (l->tokens > LOG_LIMIT_BURST)
		l->tokens = LOG_LIMIT_BURST;
	l->refilled_ms = now;
	if (l->tokens < 1) {
		if (l->suppressed++ == 0)
			l->first_ms = now;
		errno = saved;
		return;
	}
	l->tokens -= 1;
	va_start(ap, fmt);
	log_vlog(l->info ? LOG_INFO : LOG_WARNING, 0, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_limit_report(void)
{
	uint64_t now = now_mono_ms();
	struct log_limit *l;

	for (l = log_limits; l != NULL; l = l->next) {
		if (l->suppressed == 0)
			continue;
		log_warnx("%s: %llu more like this not logged in the last %llu s", l->name,
		          (unsigned long long)l->suppressed,
		          (unsigned long long)((now - l->first_ms) / 1000 + 1));
		l->suppressed = 0;
	}
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, 1, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, 0, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
