/*
 * log.c: logging to stderr or syslog (log.h).
 *
 * Every message is one line: control characters in the formatted text (which
 * may quote a peer's or a file's bytes) are replaced by '?', so that nobody
 * can forge log lines or send escape sequences to a terminal.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"
#include "tls.h"
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
 * Replaces C0 controls, DEL, and C1 controls in their UTF-8 form (U+0080 to
 * U+009F, bytes C2 80..C2 9F) by '?'.  Other bytes pass unchanged.
 */
static void
log_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s, *o = p;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f) {
			*o++ = '?';
			p++;
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			*o++ = '?';
			p += 2;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
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
