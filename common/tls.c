/*
 * tls.c: OpenSSL 3 contexts for mutual TLS (tls.h).
 */
#include <sys/types.h>
#include <sys/socket.h> /* AF_INET6: FreeBSD's arpa/inet.h does not define it */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h> /* AF_INET: <arpa/inet.h> does not give it on FreeBSD */
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"
#include "util.h"

#define TLS_VERIFY_DEPTH 4
#define TLS_CRL_MAX      256 /* CRLs read from one file */
#define TLS_CN_MAX       63  /* characters of a peer's CN */
#define TLS_SID_CTX      "ipcfleet"
/* TLS 1.2 only, when allowed: forward secrecy and AEAD ciphers. */
#define TLS_CIPHERS12 "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL"

void
tls_errors(char *buf, size_t len)
{
	unsigned long e;
	char prev[256] = "";

	if (len > 0)
		buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		const char *r;
		char tmp[256];

		if (!ERR_SYSTEM_ERROR(e) && ERR_GET_REASON(e) == ERR_R_SYS_LIB && len > 0 &&
		    buf[0] != '\0')
			continue; /* "system lib" after the system error itself */
		if (ERR_SYSTEM_ERROR(e))
			r = strerror(ERR_GET_REASON(e)); /* an errno value */
		else if ((r = ERR_reason_error_string(e)) == NULL) {
			ERR_error_string_n(e, tmp, sizeof(tmp));
			r = tmp;
		}
		/* wrappers repeat the same reason at each level: say it once */
		if (strcmp(r, prev) == 0 || len == 0)
			continue;
		ifl_strlcpy(prev, r, sizeof(prev));
		if (buf[0] != '\0')
			ifl_strlcat(buf, "; ", len);
		ifl_strlcat(buf, r, len);
	}
}

/* "what path: OpenSSL's reasons", one line. */
static void
tls_fail(char *err, size_t errlen, const char *what, const char *path)
{
	char reason[512];

	tls_errors(reason, sizeof(reason));
	snprintf(err, errlen, "%s %s: %s", what, path,
	         reason[0] != '\0' ? reason : "unknown OpenSSL error");
}

int
tls_check_key_mode(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "key %s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "key %s is not a regular file", path);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		         "key %s is readable by group or others (mode %04o); chmod 600 %s", path,
		         (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* Adds every PEM CRL in path to the context's store and turns CRL checks on. */
static int
tls_load_crl(SSL_CTX *ctx, const char *path, char *err, size_t errlen)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_CRL *crl;
	BIO *bio;
	int n = 0;

	ERR_clear_error();
	if ((bio = BIO_new_file(path, "r")) == NULL) {
		tls_fail(err, errlen, "crl", path);
		return -1;
	}
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
		if (n >= TLS_CRL_MAX) {
			X509_CRL_free(crl);
			BIO_free(bio);
			snprintf(err, errlen, "crl %s: more than %d CRLs", path, TLS_CRL_MAX);
			return -1;
		}
		if (X509_STORE_add_crl(store, crl) != 1) {
			X509_CRL_free(crl);
			BIO_free(bio);
			tls_fail(err, errlen, "crl", path);
			return -1;
		}
		X509_CRL_free(crl); /* the store holds its own reference */
		n++;
	}
	BIO_free(bio);
	/* The loop ends on "no start line" at the end of the file: fine after a CRL. */
	if (n == 0) {
		tls_fail(err, errlen, "crl", path);
		return -1;
	}
	ERR_clear_error();
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	return 0;
}

/* What both sides share: protocol, options, own certificate, the CA, CRLs. */
static SSL_CTX *
tls_ctx_common(const SSL_METHOD *method, const struct tls_paths *p, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if (p->cert == NULL || *p->cert == '\0' || p->key == NULL || *p->key == '\0' ||
	    p->ca == NULL || *p->ca == '\0') {
		snprintf(err, errlen, "%s is not configured",
		         p->cert == NULL || *p->cert == '\0' ? "cert"
		         : p->key == NULL || *p->key == '\0' ? "key"
		                                             : "ca");
		return NULL;
	}
	if ((ctx = SSL_CTX_new(method)) == NULL) {
		tls_fail(err, errlen, "TLS", "context");
		return NULL;
	}
	if (SSL_CTX_set_min_proto_version(ctx, p->allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION) !=
	        1 ||
	    (p->allow_tls12 && SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS12) != 1)) {
		tls_fail(err, errlen, "TLS", "settings");
		goto fail;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (tls_check_key_mode(p->key, err, errlen) == -1)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, p->cert) != 1) {
		tls_fail(err, errlen, "cert", p->cert);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, p->key, SSL_FILETYPE_PEM) != 1) {
		tls_fail(err, errlen, "key", p->key);
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		char reason[512];

		tls_errors(reason, sizeof(reason));
		snprintf(err, errlen, "key %s does not match cert %s: %s", p->key, p->cert,
		         reason[0] != '\0' ? reason : "unknown OpenSSL error");
		goto fail;
	}
	if (SSL_CTX_load_verify_locations(ctx, p->ca, NULL) != 1) {
		tls_fail(err, errlen, "ca", p->ca);
		goto fail;
	}
	SSL_CTX_set_verify_depth(ctx, TLS_VERIFY_DEPTH);
	if (p->crl != NULL && *p->crl != '\0' && tls_load_crl(ctx, p->crl, err, errlen) == -1)
		goto fail;
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_cert_client_ok(X509 *cert)
{
	/* X509_get_extended_key_usage() says "everything" when the extension is absent */
	return (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) != 0 &&
	       (X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT) != 0;
}

/*
 * The client's own certificate (depth 0), once OpenSSL accepted the chain:
 * it must say clientAuth (tls_cert_client_ok); refused as "unsuitable
 * certificate purpose", as a server certificate is.
 */
static int
tls_verify_client(int ok, X509_STORE_CTX *x)
{
	X509 *cert;

	if (ok != 1 || X509_STORE_CTX_get_error_depth(x) != 0)
		return ok;
	if ((cert = X509_STORE_CTX_get_current_cert(x)) == NULL || !tls_cert_client_ok(cert)) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_INVALID_PURPOSE);
		return 0;
	}
	return 1;
}

SSL_CTX *
tls_server_ctx(const struct tls_paths *p, char *err, size_t errlen)
{
	STACK_OF(X509_NAME) * names;
	SSL_CTX *ctx;

	if ((ctx = tls_ctx_common(TLS_server_method(), p, err, errlen)) == NULL)
		return NULL;
	SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* the CA names sent in the certificate request */
	if ((names = SSL_load_client_CA_file(p->ca)) == NULL) {
		tls_fail(err, errlen, "ca", p->ca);
		goto fail;
	}
	SSL_CTX_set_client_CA_list(ctx, names); /* ctx owns names now */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	                   tls_verify_client);
	/* resumed sessions of verified clients need an id context, else they fail */
	if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SID_CTX,
	                                   sizeof(TLS_SID_CTX) - 1) != 1) {
		tls_fail(err, errlen, "TLS", "session id context");
		goto fail;
	}
	/*
	 * No client resumes a session (docs/SECURITY.md), so none is issued or
	 * kept: TLS 1.3 would send two tickets per handshake (CPU, when a fleet
	 * reconnects at once) and the cache would hold a session and a peer
	 * certificate for every connection made (memory).  Every connection
	 * is verified in full.
	 */
	if (SSL_CTX_set_num_tickets(ctx, 0) != 1) {
		tls_fail(err, errlen, "TLS", "session tickets");
		goto fail;
	}
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_client_ctx(const struct tls_paths *p, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	if ((ctx = tls_ctx_common(TLS_client_method(), p, err, errlen)) == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	ERR_clear_error();
	return ctx;
}

static int
tls_is_ip(const char *host)
{
	unsigned char a[16];

	return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

int
tls_client_set_host(SSL *ssl, const char *host)
{
	if (host == NULL || *host == '\0')
		return -1;
	if (tls_is_ip(host)) {
		/* no SNI for addresses (RFC 6066); the cert must name the IP */
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1)
			return -1;
		return 0;
	}
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set1_host(ssl, host) != 1)
		return -1;
	return 0;
}

int
tls_peer_cn(SSL *ssl, char *out, size_t outlen)
{
	X509 *cert;
	X509_NAME *name;
	const ASN1_STRING *s;
	const unsigned char *d;
	int idx, len, i, rc = -1;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return -1;
	/* X509_V_OK is also the result when the peer sent no certificate */
	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL)
		return -1;
	if ((name = X509_get_subject_name(cert)) == NULL)
		goto out;
	/* exactly one CN: which of several would be the identity? */
	if ((idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0 ||
	    X509_NAME_get_index_by_NID(name, NID_commonName, idx) >= 0)
		goto out;
	s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
	if (s == NULL)
		goto out;
	d = ASN1_STRING_get0_data(s);
	len = ASN1_STRING_length(s);
	if (d == NULL || len < 1 || len > TLS_CN_MAX || (size_t)len >= outlen)
		goto out;
	/* also refuses NUL bytes and multi-byte encodings (BMPString) */
	for (i = 0; i < len; i++)
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') ||
		      (d[i] >= '0' && d[i] <= '9') || d[i] == '.' || d[i] == '_' || d[i] == '-'))
			goto out;
	/* an option to whatever gets the name as an argument, or a path component */
	if (d[0] == '-' || (len == 1 && d[0] == '.') || (len == 2 && d[0] == '.' && d[1] == '.'))
		goto out;
	memcpy(out, d, (size_t)len);
	out[len] = '\0';
	rc = 0;
out:
	X509_free(cert);
	return rc;
}
