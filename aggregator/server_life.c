/*
 * server_life.c: the server's life (server_local.h): listening (the port
 * file), accepting within max_connections and the descriptors left,
 * draining on SIGTERM, stopping, and rechecking every connection's
 * certificate after a reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "aggregator.h"
#include "log.h"
#include "server_local.h"
#include "tls.h"
#include "util.h"

int draining;
struct event *drain_timer, *emfile_timer;
struct log_limit ll_refused = LOG_LIMIT("refused connections");

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct agg *a = arg;
	struct conn *c;
	SSL *ssl;
	char host[INET6_ADDRSTRLEN], port[8];

	(void)l;
	/*
	 * Every write is a whole frame (or a turn's acks), never a piece to
	 * be coalesced: without this, the last segment of a large reply waits
	 * for the peer's delayed ACK (40 ms on Linux).
	 */
	{
		int one = 1;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (getnameinfo(sa, (socklen_t)salen, host, sizeof(host), port, sizeof(port),
	                NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		ifl_strlcpy(host, "?", sizeof(host)), ifl_strlcpy(port, "?", sizeof(port));
	if (a->stats.conns_open >= a->cfg.max_connections) {
		a->stats.conns_refused++;
		log_limited(&ll_refused, "%s:%s: refused: %llu connections open (max_connections)",
		            host, port, (unsigned long long)a->stats.conns_open);
		evutil_closesocket(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || (ssl = SSL_new(a->ssl_ctx)) == NULL) {
		free(c);
		log_limited(&ll_refused, "%s:%s: refused: out of memory", host, port);
		evutil_closesocket(fd);
		return;
	}
	c->agg = a;
	snprintf(c->peer, sizeof(c->peer), "%s:%s", host, port);
	c->bev = bufferevent_openssl_socket_new(a->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                        BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(a->base, deadline_cb, c);
	c->resume = evtimer_new(a->base, resume_cb, c);
	a->stats.conns_open++;
	a->stats.conns_accepted++;
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
	if (c->bev == NULL || c->deadline == NULL || c->resume == NULL) {
		if (c->bev == NULL) {
			SSL_free(ssl);
			evutil_closesocket(fd);
		}
		log_limited(&ll_refused, "%s: refused: out of memory", c->peer);
		conn_free(c);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	/* never buffer more than a hello and its header (then: conn_frame) */
	bufferevent_setwatermark(c->bev, EV_READ, 0, HELLO_MAX + PROTO_HDR_LEN);
	/*
	 * No bufferevent timeouts until hello (conn_frame sets them): the
	 * deadline covers the handshake and hello, and knows a busy loop.
	 */
	deadline_arm(c, a->cfg.handshake_timeout);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (a->stats.conns_open >= a->cfg.max_connections)
		evconnlistener_disable(a->listener);
}

static void
emfile_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agg *a = arg;

	(void)fd;
	(void)what;
	if (a->listener != NULL && a->stats.conns_open < a->cfg.max_connections)
		evconnlistener_enable(a->listener);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct agg *a = arg;
	int e = EVUTIL_SOCKET_ERROR();

	if (e == EMFILE || e == ENFILE) {
		static const struct timeval retry = {.tv_sec = EMFILE_RETRY, .tv_usec = 0};

		/*
		 * Out of descriptors: stop accepting until a connection closes,
		 * or EMFILE_RETRY seconds pass (the descriptors may be held by
		 * something else than connections).
		 */
		log_limited(&ll_refused,
		            "accept: %s; pausing the listener until a connection closes",
		            strerror(e));
		evconnlistener_disable(l);
		if (emfile_timer == NULL)
			emfile_timer = evtimer_new(a->base, emfile_retry_cb, a);
		if (emfile_timer != NULL)
			evtimer_add(emfile_timer, &retry);
		return;
	}
	log_limited(&ll_refused, "accept: %s", strerror(e));
}

/*
 * Writes the port that listening socket fd is bound to into path, safely
 * whatever the directory: a new file (O_EXCL: never a link or someone
 * else's file) of mode 0644 whatever the umask, renamed over path (a link
 * at path is replaced, not followed).
 */
int
write_port_file(const char *path, int fd, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char port[8], tmp[CFG_PATH_MAX + 16];
	int tfd, len;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, NULL, 0, port, sizeof(port), NI_NUMERICSERV) !=
	        0) {
		snprintf(err, errlen, "getsockname: %s", strerror(errno));
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	/* mkstemp: O_CREAT | O_EXCL, mode 0600, a name nobody could prepare */
	if ((tfd = mkstemp(tmp)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	len = (int)strlen(port);
	port[len++] = '\n';
	if (fchmod(tfd, 0644) == -1 || write(tfd, port, (size_t)len) != len) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		(void)close(tfd);
		(void)unlink(tmp);
		return -1;
	}
	if (close(tfd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

static void
admin_turn_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	admin_turn_used = 0;
}

struct evconnlistener *
agg_listen(struct agg *a, const char *label, const char *spec, int backlog, evconnlistener_cb cb,
           evconnlistener_errorcb errcb, void *arg, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	struct evconnlistener *l;
	char host[256], port[8];
	const char *why;
	int rc;

	if (parse_hostport(spec, host, sizeof(host), port, sizeof(port), &why) == -1) {
		snprintf(err, errlen, "%slisten %s: %s", label, spec, why);
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%slisten %s: %s", label, spec, gai_strerror(rc));
		return NULL;
	}
	l = evconnlistener_new_bind(
	    a->base, cb, arg, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    backlog, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (l == NULL) {
		snprintf(err, errlen, "%slisten %s: %s", label, spec,
		         strerror(EVUTIL_SOCKET_ERROR()));
		return NULL;
	}
	evconnlistener_set_error_cb(l, errcb);
	return l;
}

int
server_start(struct agg *a, char *err, size_t errlen)
{
	if ((a->listener = agg_listen(a, "", a->cfg.listen, LISTEN_BACKLOG, accept_cb,
	                              accept_error_cb, a, err, errlen)) == NULL)
		return -1;
	if ((admin_turn_ev == NULL &&
	     (admin_turn_ev = evtimer_new(a->base, admin_turn_cb, NULL)) == NULL) ||
	    (flush_ev == NULL && (flush_ev = event_new(a->base, -1, 0, flush_cb, a)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (a->port_file != NULL &&
	    write_port_file(a->port_file, evconnlistener_get_fd(a->listener), err, errlen) == -1)
		return -1;
	log_info("listening on %s", a->cfg.listen);
	return 0;
}

void
server_stop(struct agg *a)
{
	size_t i;

	draining = 0;
	if (drain_timer != NULL) {
		event_free(drain_timer);
		drain_timer = NULL;
	}
	if (emfile_timer != NULL) {
		event_free(emfile_timer);
		emfile_timer = NULL;
	}
	if (a->listener != NULL) {
		evconnlistener_free(a->listener);
		a->listener = NULL;
	}
	while (conns != NULL)
		conn_free(conns);
	decoder_stop();
	cn_rec_free_all();
	/* not acknowledged: the agents send them again to the next aggregator */
	for (i = 0; i < nbatch; i++) {
		snapshot_drop(batch[i].s);
		free(batch[i].raw);
	}
	nbatch = 0;
	batch_bytes = 0;
	free(batch);
	free(batch_puts);
	batch = NULL;
	batch_puts = NULL;
	batch_cap = 0;
	puts_cap = 0;
	if (flush_ev != NULL) {
		event_free(flush_ev);
		flush_ev = NULL;
	}
	if (admin_turn_ev != NULL) {
		event_free(admin_turn_ev);
		admin_turn_ev = NULL;
	}
	admin_turn_used = 0;
}

static void
drain_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agg *a = arg;

	(void)fd;
	(void)what;
	log_warnx("drain: %llu connection(s) still open after the grace period; closing them",
	          (unsigned long long)a->stats.conns_open);
	event_base_loopexit(a->base, NULL);
}

/*
 * Ends one connection for the drain.  Frames complete in its input buffer
 * are processed (stored, committed, acknowledged) as usual; a partial frame
 * and whatever the kernel still holds are not read: never acknowledged, the
 * agent sends them again.  The connection is then freed once its output (the
 * acks) is flushed, or by CLOSE_GRACE.
 */
static void
conn_drain(struct conn *c)
{
	if (c->state == CS_CLOSING)
		return; /* already flushing its last frame */
	if (c->state == CS_HANDSHAKE) {
		conn_free(c); /* nothing was promised to it */
		return;
	}
	bufferevent_disable(c->bev, EV_READ);
	/* the complete frames already received (conn_read_cb never frees c) */
	conn_read_cb(c->bev, c);
	/*
	 * ... stored and acknowledged now.  The batch holds only c's frames
	 * (server_drain flushed the others first), so the flush can free no
	 * other connection: the caller's next pointer stays valid.
	 */
	batch_flush(c->agg);
	if (c->state == CS_CLOSING)
		return;
	if (c->state == CS_HELLO) {
		conn_free(c); /* it never said hello: nothing to acknowledge */
		return;
	}
	log_debug("%s: closed: shutting down", conn_who(c));
	conn_set_state(c, CS_CLOSING);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, closing_write_cb, closing_event_cb, c);
	evtimer_del(c->deadline);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return;
	}
	deadline_arm(c, CLOSE_GRACE);
}

void
server_drain(struct agg *a, unsigned seconds)
{
	struct timeval tv = {.tv_sec = (time_t)seconds, .tv_usec = 0};
	struct conn *c, *next;

	if (draining) {
		log_info("second signal: stopping now");
		event_base_loopexit(a->base, NULL);
		return;
	}
	draining = 1;
	if (a->listener != NULL) {
		evconnlistener_free(a->listener);
		a->listener = NULL;
	}
	log_info("draining %llu connection(s), at most %us",
	         (unsigned long long)a->stats.conns_open, seconds);
	if (conns == NULL) {
		event_base_loopexit(a->base, NULL);
		return;
	}
	if ((drain_timer = evtimer_new(a->base, drain_timeout_cb, a)) == NULL ||
	    evtimer_add(drain_timer, &tv) == -1) {
		log_warnx("drain: cannot arm its timer; stopping now");
		event_base_loopexit(a->base, NULL);
		return;
	}
	/*
	 * What was received so far: the decoder's frames first, in order; from
	 * now on frames are decoded here.  conn_send may free those connections.
	 */
	decoder_finish(a);
	batch_flush(a);
	if (conns == NULL) {
		event_base_loopexit(a->base, NULL);
		return;
	}
	/* conn_drain() frees at most the connection it is given */
	for (c = conns; c != NULL; c = next) {
		next = c->next;
		conn_drain(c);
	}
}

/*
 * 0 when the peer certificate of c still verifies against the current
 * context (CA, CRL, purpose "ssl_client"), else -1 with OpenSSL's reason.
 */
static int
conn_cert_valid(const struct agg *a, const struct conn *c, const char **why)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509_STORE_CTX *x = NULL;
	X509 *cert = NULL;
	int rc = -1;

	*why = "no peer certificate";
	if (ssl == NULL || (cert = SSL_get1_peer_certificate(ssl)) == NULL)
		return -1;
	*why = "out of memory";
	if ((x = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(a->ssl_ctx), cert,
	                        SSL_get_peer_cert_chain(ssl)) != 1 ||
	    X509_STORE_CTX_set_default(x, "ssl_client") != 1 ||
	    X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(x), SSL_CTX_get0_param(a->ssl_ctx)) !=
	        1)
		goto out;
	if (X509_verify_cert(x) != 1)
		*why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(x));
	else if (!tls_cert_client_ok(cert)) /* as the handshake checks it */
		*why = X509_verify_cert_error_string(X509_V_ERR_INVALID_PURPOSE);
	else
		rc = 0;
out:
	X509_STORE_CTX_free(x);
	X509_free(cert);
	ERR_clear_error();
	return rc;
}

void
server_recheck(struct agg *a)
{
	struct conn *c;
	char why[MODEL_TEXT_MAX];
	const char *reason;

	if (draining)
		return;
	/* conn_close() with an error code never frees: the list stays as it is */
	for (c = conns; c != NULL; c = c->next) {
		if (c->state != CS_HELLO && c->state != CS_AGENT && c->state != CS_ADMIN)
			continue;
		if (conn_cert_valid(a, c, &reason) == -1) {
			snprintf(why, sizeof(why),
			         "certificate '%s' is no longer accepted after the reload: %s",
			         c->cn, reason);
			conn_close(c, PERR_FORBIDDEN, why);
		} else if (c->state == CS_ADMIN && !is_admin(a, c->cn)) {
			snprintf(why, sizeof(why),
			         "certificate '%s' is no longer listed in admins after the reload",
			         c->cn);
			conn_close(c, PERR_FORBIDDEN, why);
		}
	}
}
