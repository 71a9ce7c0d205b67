/*
 * client.h: a blocking TLS client with deadlines, shared by the agent and
 * the CLI.  One connection at a time, so blocking I/O keeps these programs
 * small; every operation is bounded by a timeout (poll on a non-blocking
 * socket), so a dead or silent aggregator never hangs them.
 */
#ifndef IPCFLEET_CLIENT_H
#define IPCFLEET_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "buf.h"

struct client {
	int fd;
	SSL *ssl;
	int timeout_ms;
	char server[300]; /* "host:port", for messages */
};

/*
 * Connects to "host:port" (each address getaddrinfo gives, in order), runs
 * the TLS handshake verifying the server certificate against host.  Returns
 * 0, or -1 with a one-line reason in err.
 */
int client_connect(struct client *c, SSL_CTX *ctx, const char *hostport, int timeout_ms, char *err,
                   size_t errlen);
/* Writes all of p.  0 or -1 with err. */
int client_write(struct client *c, const void *p, size_t n, char *err, size_t errlen);
/*
 * Reads one frame's payload (header checked against max) into out (reset
 * first).  0, or -1 with err ("connection closed by the aggregator", a
 * timeout, a bad header).
 */
int client_read_frame(struct client *c, uint32_t max, struct buf *out, char *err, size_t errlen);
void client_close(struct client *c);

#endif
