/*
 * client.c: blocking TLS client with deadlines (client.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>

#include "client.h"
#include "tls.h"
#include "util.h"

/* Waits until fd is readable or writable; 0, or -1 on timeout/error. */
static int
client_wait(int fd, short events, uint64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		uint64_t now = now_mono_ms();
		int r;

		if (now >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (errno != EINTR)
			return -1;
	}
}

static int
connect_one(const struct addrinfo *ai, uint64_t deadline)
{
	int fd, soerr = 0;
	socklen_t sl = sizeof(soerr);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS)
		goto fail;
	if (client_wait(fd, POLLOUT, deadline) == -1)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		goto fail;
	if (soerr != 0) {
		errno = soerr;
		goto fail;
	}
	return fd;
fail:
	soerr = errno;
	close(fd);
	errno = soerr;
	return -1;
}

/* Drives one SSL call to completion within the deadline. */
static int
ssl_io(struct client *c, int (*op)(SSL *, void *, int), void *p, int n, uint64_t deadline,
       int *sslerr)
{
	for (;;) {
		int r, e;

		ERR_clear_error();
		r = op(c->ssl, p, n);
		if (r > 0)
			return r;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ) {
			if (client_wait(c->fd, POLLIN, deadline) == -1)
				break;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			if (client_wait(c->fd, POLLOUT, deadline) == -1)
				break;
		} else {
			*sslerr = e;
			return -1;
		}
	}
	*sslerr = -1; /* timeout */
	return -1;
}

static int
op_connect(SSL *ssl, void *p, int n)
{
	(void)p;
	(void)n;
	return SSL_connect(ssl);
}

static int
op_write(SSL *ssl, void *p, int n)
{
	return SSL_write(ssl, p, n);
}

static int
op_read(SSL *ssl, void *p, int n)
{
	return SSL_read(ssl, p, n);
}

/*
 * The hint for a certificate refused for its dates: most often it is the
 * clock (a host a day behind a freshly made PKI), so say what ours says.
 */
static void
clock_hint(char *err, size_t errlen, const char *whose)
{
	char now[32];
	size_t len = strlen(err);

	if (len < errlen)
		snprintf(err + len, errlen - len,
		         " (by %s clock, now %s: check this host's clock and the certificate's "
		         "dates)",
		         whose, fmt_rfc3339(now_unix(), now, sizeof(now)));
}

/* Formats the reason an SSL call failed. */
static void
ssl_reason(struct client *c, int sslerr, const char *what, char *err, size_t errlen)
{
	char tls[512];

	tls_errors(tls, sizeof(tls));
	if (sslerr == -1)
		snprintf(err, errlen, "%s: %s timed out after %d ms", c->server, what,
		         c->timeout_ms);
	else if (sslerr == SSL_ERROR_ZERO_RETURN ||
	         (sslerr == SSL_ERROR_SYSCALL &&
	          (errno == 0 || errno == ECONNRESET || errno == EPIPE)) ||
	         (sslerr == SSL_ERROR_SSL && strstr(tls, "unexpected eof") != NULL))
		/* with TLS 1.3 a refused client certificate shows up only here */
		snprintf(err, errlen,
		         "%s: connection closed by the aggregator during %s (was this "
		         "certificate refused? see the aggregator's log)",
		         c->server, what);
	else if (tls[0] != '\0') {
		snprintf(err, errlen, "%s: %s failed: %s", c->server, what, tls);
		/* the aggregator's alert: it found our certificate expired (or not yet valid) */
		if (strstr(tls, "certificate expired") != NULL)
			clock_hint(err, errlen, "the aggregator's or this host's");
	} else
		snprintf(err, errlen, "%s: %s failed: %s", c->server, what,
		         errno ? strerror(errno) : "connection closed");
}

int
client_connect(struct client *c, SSL_CTX *ctx, const char *hostport, int timeout_ms, char *err,
               size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[8];
	const char *why;
	uint64_t deadline = now_mono_ms() + (uint64_t)timeout_ms;
	int rc, sslerr, saved = 0;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = timeout_ms;
	ifl_strlcpy(c->server, hostport, sizeof(c->server));
	if (parse_hostport(hostport, host, sizeof(host), port, sizeof(port), &why) == -1) {
		snprintf(err, errlen, "server '%s': %s", hostport, why);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: cannot resolve: %s", hostport, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && c->fd == -1; ai = ai->ai_next) {
		c->fd = connect_one(ai, deadline);
		if (c->fd == -1)
			saved = errno;
	}
	freeaddrinfo(res);
	if (c->fd == -1) {
		snprintf(err, errlen, "%s: cannot connect: %s", hostport, strerror(saved));
		return -1;
	}
	if ((c->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    tls_client_set_host(c->ssl, host) == -1) {
		snprintf(err, errlen, "%s: TLS setup failed", hostport);
		client_close(c);
		return -1;
	}
	if (ssl_io(c, op_connect, NULL, 0, deadline, &sslerr) == -1) {
		long vr = SSL_get_verify_result(c->ssl);

		if (vr != X509_V_OK) {
			snprintf(err, errlen, "%s: server certificate refused: %s", hostport,
			         X509_verify_cert_error_string(vr));
			if (vr == X509_V_ERR_CERT_NOT_YET_VALID ||
			    vr == X509_V_ERR_CERT_HAS_EXPIRED)
				clock_hint(err, errlen, "this host's");
		} else
			ssl_reason(c, sslerr, "TLS handshake", err, errlen);
		client_close(c);
		return -1;
	}
	return 0;
}

int
client_write(struct client *c, const void *p, size_t n, char *err, size_t errlen)
{
	uint64_t deadline = now_mono_ms() + (uint64_t)c->timeout_ms;
	const char *q = p;
	int sslerr;

	while (n > 0) {
		int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
		int r = ssl_io(c, op_write, (void *)(uintptr_t)q, chunk, deadline, &sslerr);

		if (r == -1) {
			ssl_reason(c, sslerr, "write", err, errlen);
			return -1;
		}
		q += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
read_exact(struct client *c, void *p, size_t n, uint64_t deadline, char *err, size_t errlen)
{
	char *q = p;
	int sslerr;

	while (n > 0) {
		int chunk = n > (1u << 30) ? (1 << 30) : (int)n;
		int r = ssl_io(c, op_read, q, chunk, deadline, &sslerr);

		if (r == -1) {
			ssl_reason(c, sslerr, "read", err, errlen);
			return -1;
		}
		q += r;
		n -= (size_t)r;
	}
	return 0;
}

int
client_read_frame(struct client *c, uint32_t max, struct buf *out, char *err, size_t errlen)
{
	uint64_t deadline = now_mono_ms() + (uint64_t)c->timeout_ms;
	unsigned char hdr[4];
	uint32_t len;

	buf_reset(out);
	if (read_exact(c, hdr, sizeof(hdr), deadline, err, errlen) == -1)
		return -1;
	len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	if (len == 0 || len > max) {
		snprintf(err, errlen, "%s: bad frame length %u from the aggregator (limit %u)",
		         c->server, len, max);
		return -1;
	}
	/* grow the buffer to len, bounded by max above and by out->max */
	if (buf_append(out, NULL, 0) == -1 || out->max < len) {
		snprintf(err, errlen, "%s: frame of %u bytes too large", c->server, len);
		return -1;
	}
	{
		size_t need = len;
		char tmp[16384];

		while (need > 0) {
			size_t k = need < sizeof(tmp) ? need : sizeof(tmp);

			if (read_exact(c, tmp, k, deadline, err, errlen) == -1)
				return -1;
			if (buf_append(out, tmp, k) == -1) {
				snprintf(err, errlen, "%s: out of memory", c->server);
				return -1;
			}
			need -= k;
		}
	}
	return 0;
}

void
client_close(struct client *c)
{
	if (c->ssl != NULL) {
		/* best effort close_notify; never wait for the peer's */
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
}
