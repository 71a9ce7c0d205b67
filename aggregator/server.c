/*
 * server.c: the TLS listener and the per-connection state machine.
 *
 * A connection moves through these states:
 *
 *   HANDSHAKE --TLS done, CN read--> HELLO --hello ok--> AGENT or ADMIN
 *        any state --error / timeout / EOF--> closed (conn_close)
 *
 * Each state bounds what the peer may send: the frame size cap depends on
 * the state (HELLO_MAX, SMALL_FRAME, PROTO_MAX_FRAME), a deadline covers
 * the handshake plus hello, a partial frame must keep arriving at
 * min_frame_rate (judged every frame_timeout), and the bufferevent's read
 * timeout closes idle peers.  Input is never buffered beyond one frame plus
 * its header: the read high-watermark stops reading, and a peer that does
 * not read what we send (an agent's acks above AGENT_OUT_HIGH, an admin's
 * last reply) is not read from until it does.
 *
 * What a certificate may hold is bounded across its connections (struct
 * cn_rec): one agent connection, HELLO_PER_CN connections before hello,
 * AGENT_RATE snapshots per second however often it reconnects; admins
 * together at most ADMIN_MAX connections and ADMIN_OUT_TOTAL queued bytes.
 *
 * The server's other rooms (server_local.h): server_cn.c keeps what a
 * certificate holds across its connections, server_batch.c the group commit
 * of snapshots, server_life.c listening, accepting, draining and rechecking
 * certificates after a reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>

#include "aggregator.h"
#include "server_local.h"
#include "log.h"
#include "tls.h"
#include "util.h"

unsigned hello_total; /* connections in state hello */
unsigned admins_open; /* connections in state admin */
struct conn *admins;

/*
 * Every change of a connection's state goes through here, which keeps the
 * counts the caps are checked against: connections in hello (per
 * certificate and in all) and admin connections (and their list).
 */
void
conn_set_state(struct conn *c, enum conn_state s)
{
	if (c->state == CS_HELLO) {
		hello_total--;
		if (c->rec != NULL)
			c->rec->hello--;
	} else if (c->state == CS_ADMIN) {
		admins_open--;
		if (c->admin_prev != NULL)
			c->admin_prev->admin_next = c->admin_next;
		else
			admins = c->admin_next;
		if (c->admin_next != NULL)
			c->admin_next->admin_prev = c->admin_prev;
		c->admin_next = c->admin_prev = NULL;
	}
	c->state = s;
	if (s == CS_HELLO) {
		hello_total++;
		if (c->rec != NULL)
			c->rec->hello++;
	} else if (s == CS_ADMIN) {
		admins_open++;
		c->admin_next = admins;
		if (admins != NULL)
			admins->admin_prev = c;
		admins = c;
	}
}

/* Reply bytes queued for all admin connections (at most ADMIN_MAX of them). */
size_t
admin_out_total(void)
{
	const struct conn *c;
	size_t n = 0;

	for (c = admins; c != NULL; c = c->admin_next)
		n += evbuffer_get_length(bufferevent_get_output(c->bev));
	return n;
}

/*
 * Admin queries may be costly (a host document of megabytes): at most one
 * is run per turn of the event loop, so that between two of them the loop
 * polls again: other peers' handshakes and frames, and admins that gave up
 * (whose queries are then never built).  admin_turn_ev clears the flag on
 * the next turn.
 */
int admin_turn_used;
struct event *admin_turn_ev;

struct conn *conns;     /* all open connections, for shutdown */
uint64_t frame_done_us; /* when the frame being handled was complete (agg_mono_us) */

static const char *
state_name(enum conn_state s)
{
	switch (s) {
	case CS_HANDSHAKE:
		return "handshake";
	case CS_HELLO:
		return "hello";
	case CS_AGENT:
		return "agent";
	case CS_ADMIN:
		return "admin";
	case CS_CLOSING:
		return "closing";
	}
	abort();
}

const char *
conn_who(const struct conn *c)
{
	static char who[sizeof(c->peer) + MODEL_NAME_MAX + 8];

	if (c->cn[0] != '\0')
		snprintf(who, sizeof(who), "%s (%s)", c->cn, c->peer);
	else
		snprintf(who, sizeof(who), "%s", c->peer);
	return who;
}

/*
 * Frees a connection cut for not keeping up (a timeout): with a reset, not
 * an orderly close.  A peer that does not read has a full receive window,
 * so a FIN would wait behind our unsent bytes, leaving the socket and its
 * buffers in the kernel for minutes and the peer unaware it was cut.
 */
static void
conn_abort(struct conn *c)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	evutil_socket_t fd = c->bev != NULL ? bufferevent_getfd(c->bev) : -1;

	if (fd != -1)
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_free(c);
}

static struct log_limit ll_timeout = LOG_LIMIT("timeouts");

/* A deadline for the whole of a phase: the handshake and hello, a final flush. */
void
deadline_arm(struct conn *c, uint64_t seconds)
{
	struct timeval tv = {.tv_sec = (time_t)seconds, .tv_usec = 0};

	c->frame_window = 0;
	c->extensions = 0;
	evtimer_add(c->deadline, &tv);
}

/* Bytes received on c so far (past hello: frames taken plus the input buffer). */
static uint64_t
conn_rx(struct conn *c)
{
	return c->rx_drained + evbuffer_get_length(bufferevent_get_input(c->bev));
}

/* Bytes from the peer in the kernel or in TLS that we have not read yet. */
static uint64_t
conn_input_unread(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	int pending = 0;

	if (ioctl(bufferevent_getfd(c->bev), FIONREAD, &pending) == -1 || pending < 0)
		pending = 0;
	if (ssl != NULL && SSL_pending(ssl) > 0)
		pending += SSL_pending(ssl);
	return (uint64_t)pending;
}

/*
 * 1 when our output to c waits in our own buffer while the kernel holds
 * none of it unsent: the peer took all we wrote, and the rest waits for our
 * loop to write it.
 */
static int
conn_output_ours(struct conn *c)
{
	int unsent = -1;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		return 0;
#if defined(__linux__)
	(void)ioctl(bufferevent_getfd(c->bev), TIOCOUTQ, &unsent); /* SIOCOUTQ for TCP */
#elif defined(FIONWRITE)
	(void)ioctl(bufferevent_getfd(c->bev), FIONWRITE, &unsent);
#endif
	return unsent == 0;
}

/*
 * Starts a window of frame_timeout seconds over a partial frame, at whose
 * end conn_frame_progressing() judges what arrived in it.
 */
static void
conn_window_start(struct conn *c)
{
	struct timeval tv = {.tv_sec = (time_t)c->agg->cfg.frame_timeout, .tv_usec = 0};

	c->frame_window = 1;
	c->win_rx = conn_rx(c);
	evtimer_add(c->deadline, &tv);
}

/*
 * The end of a window over a partial frame: 1 when the frame kept arriving
 * fast enough to stay, 0 when the peer is too slow.  A frame must bring,
 * every frame_timeout seconds, min_frame_rate bytes per second of that
 * window, or its missing bytes if fewer (docs/protocol.md, "Timeouts").
 * Unlike a deadline for the whole frame this never cuts a large frame
 * arriving steadily on a busy host, and still cuts a slowloris within one
 * window.  Bytes the kernel or TLS hold that we have not read yet count as
 * arrived: when our loop was busy (decoding other frames) the wait was
 * ours, not the peer's.
 */
static int
conn_frame_progressing(struct conn *c, uint64_t *got, uint64_t *need)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	size_t have = evbuffer_get_length(in);
	uint8_t hdr[PROTO_HDR_LEN];
	uint64_t missing, want;

	*got = conn_rx(c) - c->win_rx;
	*need = 0;
	if (have == 0)
		return 1; /* no partial frame */
	if (have < PROTO_HDR_LEN)
		missing = PROTO_HDR_LEN - have;
	else {
		evbuffer_copyout(in, hdr, sizeof(hdr));
		missing =
		    (uint64_t)PROTO_HDR_LEN + ((uint64_t)hdr[0] << 24 | (uint64_t)hdr[1] << 16 |
		                               (uint64_t)hdr[2] << 8 | hdr[3]);
		missing = missing > have ? missing - have : 0;
	}
	if (missing == 0)
		return 1; /* complete: waiting for its turn here, not for the peer */
	want = c->agg->cfg.min_frame_rate * c->agg->cfg.frame_timeout;
	*need = missing < want ? missing : want;
	return *got >= *need || *got + conn_input_unread(c) >= *need;
}

void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	uint64_t got, need;

	(void)fd;
	(void)what;
	if (!c->frame_window && c->extensions < DEADLINE_EXTENSIONS &&
	    (c->state == CS_CLOSING ? conn_output_ours(c) : conn_input_unread(c) > 0)) {
		struct timeval tv = {.tv_sec = DEADLINE_EXTRA, .tv_usec = 0};

		/* our loop was busy (other frames): the peer is not late */
		c->extensions++;
		evtimer_add(c->deadline, &tv);
		return;
	}
	if (c->frame_window && (c->state == CS_AGENT || c->state == CS_ADMIN)) {
		if (conn_frame_progressing(c, &got, &need)) {
			conn_window_start(c); /* the next window */
			return;
		}
		log_limited(&ll_timeout,
		            "%s: timed out in state %s: %llu bytes of a frame in %llus, fewer than "
		            "the %llu that min_frame_rate asks",
		            conn_who(c), state_name(c->state), (unsigned long long)got,
		            (unsigned long long)c->agg->cfg.frame_timeout,
		            (unsigned long long)need);
	} else if (c->state != CS_CLOSING) /* else: the final frame did not flush in time */
		log_limited(&ll_timeout, "%s: timed out in state %s", conn_who(c),
		            state_name(c->state));
	conn_abort(c);
}

void
conn_free(struct conn *c)
{
	struct agg *a = c->agg;

	cn_hash_remove(c);
	conn_set_state(c, CS_CLOSING); /* out of the hello and admin counts */
	if (c->rec != NULL)
		c->rec->nconns--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (conns == c)
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->resume != NULL)
		event_free(c->resume);
	if (c->hi.name[0] != '\0') /* set only for agents past hello */
		a->stats.agents_open--;
	if (c->decoding > 0)
		decoder_forget(c); /* its frames still decoding are dropped, unacknowledged */
	if (c->batched > 0) {
		size_t i;

		/* its snapshots are still stored; without their acks the agent resends them */
		for (i = 0; i < nbatch; i++)
			if (batch[i].c == c)
				batch[i].c = NULL;
	}
	if (c->bev != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

		/* a quiet close: do not wait for the peer's close_notify */
		if (ssl != NULL)
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
		bufferevent_free(c->bev);
	}
	a->stats.conns_open--;
	free(c);
	/* a slot is free again: resume accepting if we had paused */
	if (a->listener != NULL)
		evconnlistener_enable(a->listener);
	if (draining && conns == NULL) {
		log_info("drained: every connection is closed");
		event_base_loopexit(a->base, NULL);
	}
}

void
closing_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

/* An error or EOF while a final frame flushes: nothing more can be sent. */
void
closing_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF))
		conn_free(arg);
}

/*
 * Ends a connection: queues an error frame when code != 0, lets it flush for
 * at most CLOSE_GRACE seconds, then frees everything.  The reason is logged.
 */
void
conn_close(struct conn *c, uint32_t code, const char *reason)
{
	struct buf out;

	if (c->state == CS_CLOSING)
		return;
	if (code != 0) {
		/* a peer may send bad frames as fast as it can connect */
		static struct log_limit ll = LOG_LIMIT("refused frames");

		log_limited(&ll, "%s: %s: %s", conn_who(c), proto_err_name(code), reason);
	} else
		log_debug("%s: closed: %s", conn_who(c), reason);
	if (code == 0 || c->state == CS_HANDSHAKE) {
		conn_free(c);
		return;
	}
	buf_init(&out, 4096);
	{
		struct msg_error e = {.code = code, .id = 0};

		ifl_strlcpy(e.text, reason, sizeof(e.text));
		if (proto_encode_error(&out, &e) == 0)
			bufferevent_write(c->bev, out.data, out.len);
	}
	buf_free(&out);
	conn_set_state(c, CS_CLOSING);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, NULL, closing_write_cb, closing_event_cb, c);
	evtimer_del(c->deadline);
	deadline_arm(c, CLOSE_GRACE);
}

/*
 * Output a connection may have queued before it is not read from: a few
 * acks for an agent; for an admin, nothing beyond the reply it is reading
 * (one reply at a time: see ADMIN_OUT_TOTAL).
 */
static size_t
conn_out_high(const struct conn *c)
{
	return c->state == CS_AGENT ? AGENT_OUT_HIGH : 0;
}

/*
 * Backpressure on a peer that does not read what we send: when our output to
 * it is above its bound, stop reading it, and (conn_read_cb) stop handling
 * the frames it already sent, which would only queue more replies.
 * conn_write_cb resumes both once the output drains below half the bound.
 * Returns 1 when the peer is held.
 */
static int
conn_hold_if_unread(struct conn *c)
{
	size_t high = conn_out_high(c);

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) <= high)
		return 0;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setwatermark(c->bev, EV_WRITE, high / 2, 0);
	return 1;
}

/* After queueing output: backpressure on a peer that does not read it. */
static void
conn_sent(struct conn *c)
{
	(void)conn_hold_if_unread(c);
}

/* Queues a whole frame (or frames) for the peer, applying backpressure. */
void
conn_send(struct conn *c, const struct buf *out)
{
	bufferevent_write(c->bev, out->data, out->len);
	conn_sent(c);
}

/* Frees a reply the output buffer took over (evbuffer_add_reference). */
static void
reply_free(const void *data, size_t len, void *arg)
{
	(void)len;
	(void)arg;
	free((void *)(uintptr_t)data);
}

int
is_admin(const struct agg *a, const char *cn)
{
	size_t i;

	for (i = 0; i < a->cfg.admins.n; i++)
		if (strcmp(a->cfg.admins.v[i], cn) == 0)
			return 1;
	return 0;
}

/*
 * Refuses the frame being handled: counted in stats.frames_rejected (the
 * /metrics counter ipcfleet_frames_total{result="rejected"}), then closed
 * with an error frame.  For refusals of well-formed frames (schema, role,
 * phase, identity); framing and msgpack errors are counted where found.
 */
static void
conn_refuse(struct conn *c, uint32_t code, const char *reason)
{
	c->agg->stats.frames_rejected++;
	conn_close(c, code, reason);
}

void
conn_refuse_agent_frame(struct conn *c, enum msg_type t)
{
	char why[MODEL_TEXT_MAX];

	snprintf(why, sizeof(why), "agent certificate '%s' may only send snapshots", c->cn);
	conn_refuse(c, t == MSG_QUERY ? PERR_FORBIDDEN : PERR_STATE, why);
}

/*
 * The agent's clock less ours, in seconds, held within +-2^40 (34,000
 * years): a hello may say any time, and the difference must not wrap.
 */
static int64_t
clock_skew(int64_t theirs, int64_t ours)
{
	const int64_t cap = (int64_t)1 << 40;

	if (theirs >= ours)
		return (uint64_t)theirs - (uint64_t)ours > (uint64_t)cap ? cap : theirs - ours;
	return (uint64_t)ours - (uint64_t)theirs > (uint64_t)cap ? -cap : theirs - ours;
}

/*
 * One agent connection per certificate: when a host says hello again, its
 * older agent connections (after a network failure one may linger until
 * idle_timeout) are closed.  So a compromised host holds at most one agent
 * connection, and one frame buffer of PROTO_MAX_FRAME, however many it opens.
 * Not while draining: server_drain() walks the list and it must not change.
 */
static void
conn_replace_older(struct conn *c)
{
	size_t b = cn_bucket(c->cn);
	struct conn *o;

	if (!draining) {
	again:
		for (o = cn_hash[b]; o != NULL; o = o->cn_next) {
			if (o != c && o->state == CS_AGENT && strcmp(o->cn, c->cn) == 0) {
				static struct log_limit ll = LOG_LIMIT("replaced connections");

				log_limited(&ll,
				            "%s: replaced by a newer connection with the same "
				            "certificate",
				            conn_who(o));
				conn_free(o); /* unlinks o from the chain: walk it again */
				goto again;
			}
		}
	}
	if (!c->in_cn_hash) {
		c->cn_next = cn_hash[b];
		cn_hash[b] = c;
		c->in_cn_hash = 1;
	}
}

static void
handle_hello(struct conn *c, const struct proto_doc *d)
{
	struct agg *a = c->agg;
	struct msg_hello h;
	char err[MODEL_TEXT_MAX], why[MODEL_TEXT_MAX];

	if (proto_decode_hello(d, &h, err, sizeof(err)) == -1) {
		conn_refuse(c, PERR_BAD_FRAME, err);
		return;
	}
	if (h.major != PROTO_MAJOR) {
		snprintf(why, sizeof(why),
		         "unsupported protocol version %u.%u; this aggregator speaks %u.x", h.major,
		         h.minor, PROTO_MAJOR);
		conn_refuse(c, PERR_VERSION, why);
		return;
	}
	/* the identity is the certificate's CN (tls_peer_cn), never a field */
	if (h.host[0] != '\0' && strcmp(h.host, c->cn) != 0) {
		snprintf(why, sizeof(why),
		         "hello names host '%.64s' but the certificate is for '%s'", h.host, c->cn);
		conn_refuse(c, PERR_FORBIDDEN, why);
		return;
	}
	if (h.role == ROLE_ADMIN) {
		if (!is_admin(a, c->cn)) {
			snprintf(why, sizeof(why), "certificate '%s' is not listed in admins",
			         c->cn);
			conn_refuse(c, PERR_FORBIDDEN, why);
			return;
		}
		if (admins_open >= ADMIN_MAX) {
			snprintf(why, sizeof(why),
			         "too many admin connections (at most %d); retry later", ADMIN_MAX);
			conn_close(c, PERR_BUSY, why);
			return;
		}
		conn_set_state(c, CS_ADMIN);
	} else {
		if (is_admin(a, c->cn)) {
			snprintf(
			    why, sizeof(why),
			    "certificate '%s' is an admin certificate and may not push snapshots",
			    c->cn);
			conn_refuse(c, PERR_FORBIDDEN, why);
			return;
		}
		memset(&c->hi, 0, sizeof(c->hi));
		ifl_strlcpy(c->hi.name, c->cn, sizeof(c->hi.name));
		ifl_strlcpy(c->hi.os, h.os, sizeof(c->hi.os));
		ifl_strlcpy(c->hi.os_release, h.os_release, sizeof(c->hi.os_release));
		ifl_strlcpy(c->hi.agent, h.agent, sizeof(c->hi.agent));
		c->hi.page_size = h.page_size;
		c->hi.boot_time = h.boot_time;
		c->hi.interval = h.interval;
		ifl_strlcpy(c->hi.spool, h.spool,
		            sizeof(c->hi.spool)); /* "" from agents before 1.2 */
		c->skew = h.time != 0 ? clock_skew(h.time, now_unix()) : INT64_MIN;
		conn_set_state(c, CS_AGENT);
		a->stats.agents_open++;
		conn_replace_older(c);
	}
	{
		/* a certificate can reconnect as fast as handshakes go */
		static struct log_limit ll = LOG_LIMIT_INFO("connected");

		log_limited(&ll, "%s: %s connected (%s)", conn_who(c),
		            h.role == ROLE_ADMIN ? "admin" : "agent", h.agent);
	}
}

static void
handle_query(struct conn *c, const struct proto_doc *d)
{
	struct agg *a = c->agg;
	struct msg_query q;
	struct buf out;
	char err[MODEL_TEXT_MAX];

	if (proto_decode_query(d, &q, err, sizeof(err)) == -1) {
		conn_refuse(c, PERR_BAD_FRAME, err);
		return;
	}
	a->stats.queries++;
	if (admin_turn_ev != NULL) {
		static const struct timeval now = {0, 0};

		admin_turn_used = 1;
		evtimer_add(admin_turn_ev, &now);
	}
	buf_init(&out, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	if (query_run(a, &q, &out) == -1) {
		buf_free(&out);
		conn_close(c, PERR_INTERNAL, "reply too large or out of memory");
		return;
	}
	log_debug("%s: query %s (%zu argument%s): %zu bytes answered", conn_who(c), q.cmd, q.nargs,
	          q.nargs == 1 ? "" : "s", out.len);
	/* a reply may be megabytes: the output buffer takes it over instead of a copy */
	if (out.len > 0 && evbuffer_add_reference(bufferevent_get_output(c->bev), out.data, out.len,
	                                          reply_free, NULL) == 0) {
		out.data = NULL;
		conn_sent(c);
	} else
		conn_send(c, &out);
	buf_free(&out);
}

/* One complete frame: dispatch on state and message type. */
void
conn_frame(struct conn *c, const uint8_t *p, size_t n)
{
	struct agg *a = c->agg;
	struct proto_doc d;
	char err[MODEL_TEXT_MAX];

	/*
	 * An agent's frames go to the decoding thread, which validates and
	 * decodes a snapshot in one pass, whatever its first key: unpacking one
	 * into a document here would hold the loop (a 4 MiB frame of small
	 * values takes msgpack-c a third of a second).  A well-formed frame of
	 * another message is refused when it comes back (server_decode.c).
	 */
	if (c->state == CS_AGENT) {
		handle_snapshot(c, p, n);
		return;
	}
	if (proto_doc_unpack(p, n, &d, err, sizeof(err)) == -1) {
		a->stats.frames_rejected++;
		conn_close(c, PERR_BAD_FRAME, err);
		return;
	}
	a->stats.frames_accepted++;
	switch (c->state) {
	case CS_HELLO:
		if (d.type != MSG_HELLO) {
			conn_refuse(c, PERR_STATE, "the first message must be hello");
			break;
		}
		handle_hello(c, &d);
		if (c->state == CS_AGENT || c->state == CS_ADMIN) {
			struct timeval idle = {.tv_sec = (time_t)a->cfg.idle_timeout};
			struct timeval wr = {.tv_sec = (time_t)a->cfg.frame_timeout};

			/* from now on: idle peers and peers that stop reading time out */
			evtimer_del(c->deadline);
			/*
			 * Our output not moving for frame_timeout is a stuck peer: an
			 * agent not reading its (small) acks, an admin not reading the
			 * reply it asked for, which holds memory (ADMIN_OUT_TOTAL).
			 */
			bufferevent_set_timeouts(c->bev, &idle, &wr);
			/* the frames its role may send, and not a byte more buffered */
			bufferevent_setwatermark(
			    c->bev, EV_READ, 0,
			    (c->state == CS_AGENT ? PROTO_MAX_FRAME : SMALL_FRAME) + PROTO_HDR_LEN);
			if (c->state == CS_AGENT) {
				int sz = AGENT_SNDBUF;

				if (setsockopt(bufferevent_getfd(c->bev), SOL_SOCKET, SO_SNDBUF,
				               &sz, sizeof(sz)) == -1)
					log_warn("%s: SO_SNDBUF", conn_who(c));
			}
		}
		break;
	case CS_AGENT: /* every frame went to the decoder, above */
		break;
	case CS_ADMIN:
		if (d.type == MSG_QUERY)
			handle_query(c, &d);
		else
			conn_refuse(c, d.type == MSG_SNAPSHOT ? PERR_FORBIDDEN : PERR_STATE,
			            "admin connections may only send queries");
		break;
	case CS_HANDSHAKE:
	case CS_CLOSING:
		break;
	}
	proto_doc_free(&d);
}

/*
 * Stops reading c for ms milliseconds (resume_cb then continues): its
 * waiting frames are complete, so no frame window runs meanwhile.
 */
static void
conn_pause(struct conn *c, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000),
	                     .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	c->rate_paused = 1;
	bufferevent_disable(c->bev, EV_READ);
	evtimer_del(c->deadline);
	evtimer_add(c->resume, &tv);
}

/*
 * Takes one frame's token from the bucket of an agent connection's
 * certificate.  0 when it may go on; otherwise reading stops until the next
 * token is due (conn_pause) and 1 is returned.  Tokens refill at AGENT_RATE
 * per second up to AGENT_BURST.
 */
static int
conn_rate_wait(struct conn *c)
{
	struct cn_rec *r = c->rec;

	cn_rec_refill(r, now_mono_ms());
	if (r->tokens >= 1) {
		r->tokens -= 1;
		return 0;
	}
	conn_pause(c, (uint64_t)((1 - r->tokens) * 1000 / AGENT_RATE) + 1);
	return 1;
}

void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct agg *a = c->agg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned done = 0;

	while (c->state != CS_CLOSING && c->state != CS_HANDSHAKE) {
		uint8_t hdr[PROTO_HDR_LEN];
		uint32_t len, cap = c->state == CS_AGENT   ? PROTO_MAX_FRAME
		                    : c->state == CS_HELLO ? HELLO_MAX
		                                           : SMALL_FRAME;
		const char *why;
		uint8_t *p;
		size_t have = evbuffer_get_length(in);

		if (have < PROTO_HDR_LEN)
			break;
		if ((c->state == CS_AGENT || c->state == CS_ADMIN) && conn_hold_if_unread(c)) {
			/*
			 * Its frames wait, complete or not, until it reads: the
			 * write timeout, not frame_timeout, decides its fate.
			 */
			evtimer_del(c->deadline);
			return;
		}
		if (done == FRAMES_PER_TURN && !draining) {
			/*
			 * Fairness: a peer with many frames buffered (a backlog, a
			 * flood) yields to the others; resume_cb continues after the
			 * loop has polled every connection once more.
			 */
			static const struct timeval now = {0, 0};

			evtimer_add(c->resume, &now);
			evtimer_del(c->deadline); /* resume_cb starts a window again */
			return;
		}
		evbuffer_copyout(in, hdr, sizeof(hdr));
		if (frame_header(hdr, cap, &len, &why) == -1) {
			char msg[MODEL_TEXT_MAX];

			a->stats.frames_rejected++;
			snprintf(msg, sizeof(msg), "%s (limit %u bytes in state %s)", why, cap,
			         state_name(c->state));
			conn_close(c, PERR_BAD_FRAME, msg);
			return;
		}
		if (have < PROTO_HDR_LEN + (size_t)len)
			break;
		if (c->state == CS_AGENT && !draining && batch_full(len)) {
			/*
			 * The batch is full: this frame goes into the next one, on the
			 * next turn, or when the decoder has given back its frames.
			 */
			static const struct timeval now = {0, 0}, soon = {0, 1000};
			size_t jb;

			evtimer_add(c->resume, decoder_jobs(&jb) > 0 ? &soon : &now);
			evtimer_del(c->deadline); /* resume_cb starts a window again */
			return;
		}
		if (c->state == CS_AGENT && !draining && conn_rate_wait(c) != 0)
			return; /* paused; resume_cb continues */
		if (c->state == CS_ADMIN && !draining && admin_turn_used) {
			static const struct timeval now = {0, 0};

			/* another admin's query ran this turn: this one runs on the next */
			evtimer_del(c->deadline);
			evtimer_add(c->resume, &now);
			return;
		}
		if (c->state == CS_ADMIN && !draining && admin_out_total() > ADMIN_OUT_TOTAL) {
			static const struct timeval wait = {.tv_sec = 0,
			                                    .tv_usec = ADMIN_WAIT_MS * 1000};

			/*
			 * Replies queued for admins hold too much memory: this query
			 * waits.  Reading goes on (up to the watermark), so that a
			 * peer that gives up is seen to close and its query is never
			 * built for nobody.
			 */
			evtimer_del(c->deadline);
			evtimer_add(c->resume, &wait);
			return;
		}
		p = evbuffer_pullup(in, PROTO_HDR_LEN + (ssize_t)len);
		if (p == NULL) {
			conn_close(c, PERR_INTERNAL, "out of memory");
			return;
		}
		frame_done_us = agg_mono_us();
		conn_frame(c, p + PROTO_HDR_LEN, len);
		if (c->state == CS_CLOSING)
			return;
		evbuffer_drain(in, PROTO_HDR_LEN + (size_t)len);
		c->rx_drained += PROTO_HDR_LEN + (uint64_t)len;
		done++;
	}
	if (c->state == CS_CLOSING || c->state == CS_HANDSHAKE)
		return;
	/*
	 * A partial frame must keep arriving at min_frame_rate: a window of
	 * frame_timeout starts with it (or with the next frame), and at its end
	 * conn_frame_progressing() judges; hello keeps its own deadline.
	 */
	if (c->state != CS_HELLO) {
		if (evbuffer_get_length(in) > 0) {
			if (done > 0 || !evtimer_pending(c->deadline, NULL))
				conn_window_start(c);
		} else
			evtimer_del(c->deadline);
	}
}

void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->rate_paused) {
		size_t high = conn_out_high(c);

		c->rate_paused = 0;
		/* read again, unless the peer is also not reading its acks */
		if ((c->state == CS_AGENT || c->state == CS_ADMIN) &&
		    evbuffer_get_length(bufferevent_get_output(c->bev)) <= high)
			bufferevent_enable(c->bev, EV_READ);
	}
	conn_read_cb(c->bev, c);
}

void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	/*
	 * Output drained below the low watermark: read the peer again, and
	 * handle the frames it sent meanwhile (on the next loop turn: they
	 * raise no read event of their own).
	 */
	if ((c->state == CS_AGENT || c->state == CS_ADMIN) && !c->rate_paused) {
		static const struct timeval now = {0, 0};

		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		bufferevent_enable(bev, EV_READ);
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
			evtimer_add(c->resume, &now);
	}
}

void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	char err[256];

	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);
		unsigned per_cn;

		/* from here on a frame can be sent: a refusal says why */
		conn_set_state(c, CS_HELLO);
		if (tls_peer_cn(ssl, c->cn, sizeof(c->cn)) == -1) {
			c->cn[0] = '\0';
			conn_close(c, PERR_FORBIDDEN, "peer certificate has no usable CN");
			return;
		}
		if ((c->rec = cn_rec_get(c->cn)) == NULL) {
			conn_close(c, PERR_INTERNAL, "out of memory");
			return;
		}
		c->rec->nconns++;
		c->rec->hello++; /* counted from now on, as conn_set_state would have */
		per_cn = is_admin(c->agg, c->cn) ? ADMIN_MAX : HELLO_PER_CN;
		if (c->rec->hello > per_cn || hello_total > HELLO_TOTAL) {
			snprintf(
			    err, sizeof(err),
			    "too many connections waiting to say hello (%u of this certificate, "
			    "at most %u; %u in all, at most %d); retry later",
			    c->rec->hello - 1, per_cn, hello_total - 1, HELLO_TOTAL);
			conn_close(c, PERR_BUSY, err);
			return;
		}
		log_debug("%s: TLS established (%s)", conn_who(c), SSL_get_version(ssl));
		/* frames may already be buffered behind the handshake */
		conn_read_cb(bev, c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		/*
		 * libevent reports a timeout that passed while our loop was busy
		 * even when the socket is ready meanwhile.  Bytes of the peer
		 * waiting unread mean it is not idle; our output waiting in our
		 * own buffer with the kernel's queue empty means it reads: not
		 * the peer's fault, and the operation goes on.
		 */
		if ((what & BEV_EVENT_WRITING) ? conn_output_ours(c) : conn_input_unread(c) > 0)
			return;
		if (what & BEV_EVENT_WRITING) {
			static struct log_limit ll = LOG_LIMIT("write timeouts");

			/* our output has not moved for the write timeout */
			log_limited(&ll, "%s: does not read what we send; closed (write timeout)",
			            conn_who(c));
			conn_abort(c);
		} else
			conn_close(c, 0, "idle timeout"); /* nothing pending: an orderly close */
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e;
		int se = EVUTIL_SOCKET_ERROR();

		err[0] = '\0';
		/*
		 * libevent queues SSL_get_error()'s code (a small number, no
		 * library) before OpenSSL's errors and hands them back last in,
		 * first out: keep the first OpenSSL error, the root cause.
		 */
		while ((e = bufferevent_get_openssl_error(bev)) != 0)
			if (ERR_GET_LIB(e) != 0)
				ERR_error_string_n(e, err, sizeof(err));
		if (c->state == CS_HANDSHAKE) {
			SSL *ssl = bufferevent_openssl_get_ssl(bev);
			long vr = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;

			static struct log_limit ll = LOG_LIMIT("failed TLS handshakes");

			c->agg->stats.conns_refused++;
			/* a refused client certificate: say why (expired, revoked, ...) */
			log_limited(&ll, "%s: TLS handshake failed: %s%s%s", conn_who(c),
			            err[0] ? err : (se ? strerror(se) : "connection closed"),
			            vr != X509_V_OK ? "; client certificate: " : "",
			            vr != X509_V_OK ? X509_verify_cert_error_string(vr) : "");
			conn_free(c);
			return;
		}
		conn_close(c, 0, err[0] ? err : "connection error");
		return;
	}
	if (what & BEV_EVENT_EOF)
		conn_close(c, 0, "peer closed the connection");
}
