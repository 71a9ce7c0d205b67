/*
 * tls.h: OpenSSL contexts for mutual TLS, shared by all three programs.
 *
 * Every side presents a certificate signed by the fleet's CA and verifies the
 * peer's.  TLS 1.3 only unless allow_tls12 is set; no compression, no
 * renegotiation.
 */
#ifndef IPCFLEET_TLS_H
#define IPCFLEET_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

struct tls_paths {
	const char *cert; /* PEM certificate (chain) */
	const char *key;  /* PEM private key */
	const char *ca;   /* PEM CA bundle peers must chain to */
	const char *crl;  /* optional PEM CRL, NULL or "" for none */
	int allow_tls12;
};

/*
 * Server context: requires and verifies a client certificate.  Returns NULL
 * with a one-line reason in err (file, and OpenSSL's reason).
 */
SSL_CTX *tls_server_ctx(const struct tls_paths *p, char *err, size_t errlen);
/* Client context: verifies the server against ca; the caller sets the name. */
SSL_CTX *tls_client_ctx(const struct tls_paths *p, char *err, size_t errlen);
/* Sets SNI and the host name that the server certificate must match. */
int tls_client_set_host(SSL *ssl, const char *host);
/*
 * CN of the verified peer certificate into out: exactly one CN of 1 to 63
 * characters of A-Z a-z 0-9 . _ -, not starting with '-' and not "." or
 * ".." (the rule ipcfleet-pki applies to the names it issues: a host name
 * is also a file name, a command argument and a label).  -1 otherwise.
 */
int tls_peer_cn(SSL *ssl, char *out, size_t outlen);
/*
 * 1 when cert may authenticate a client: its extendedKeyUsage names
 * clientAuth.  OpenSSL's purpose check alone also takes a certificate with
 * no extendedKeyUsage at all; the server context refuses those.
 */
int tls_cert_client_ok(X509 *cert);
/* Refuses private keys readable by group or others. 0 or -1 with err. */
int tls_check_key_mode(const char *path, char *err, size_t errlen);
/* Drains OpenSSL's error queue into buf as "reason; reason". */
void tls_errors(char *buf, size_t len);

#endif
