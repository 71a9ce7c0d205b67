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
 * Group commit: the snapshots complete in one turn of the event loop wait,
 * decoded, in one batch; flush_cb, made active by the first of them and so
 * run after every connection ready in that turn, stores the whole batch in
 * ONE transaction (store_put_snapshots: one fsync for all), then queues the
 * acks in order, then runs the analysis of each new snapshot.  A failed
 * commit acknowledges nothing of the batch: each connection in it gets the
 * error and is closed, and its agent sends again.
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
#include "log.h"
#include "tls.h"
#include "util.h"

#define SMALL_FRAME (64u * 1024) /* cap for queries */
/*
 * Cap for hello: its fields are at most 63 bytes each (under 1 KiB in all),
 * with room for keys of later minor versions.  Until hello nobody is known
 * to be an agent or an admin: this is all a certificate can make us hold
 * per connection then (besides TLS's own state).
 */
#define HELLO_MAX (4u * 1024)
/*
 * Connections past the TLS handshake that have not said hello yet, per
 * certificate and in all: an agent says hello at once and has one
 * connection, so a certificate holding more is hoarding connections (each
 * pins its buffers for handshake_timeout).  An admin certificate may run
 * many CLIs at once (a monitoring system's checks), whose hellos wait
 * while the loop builds a large reply: it may have as many as admin
 * connections.  Beyond: error 7 (busy).
 */
#define HELLO_PER_CN 8
#define HELLO_TOTAL  512
/*
 * Admin connections at once (beyond: error 7, busy), and the reply bytes
 * queued for all of them: a query waits while more than ADMIN_OUT_TOTAL are
 * queued, and each admin connection has at most one reply queued (its next
 * query waits until the peer has read the last reply).  So admins pin at
 * most ADMIN_OUT_TOTAL plus one reply (PROTO_MAX_FRAME).
 */
#define ADMIN_MAX       64
#define ADMIN_OUT_TOTAL (64u * 1024 * 1024)
#define ADMIN_WAIT_MS   50 /* a query waiting for room is retried this often */
/*
 * Agents are owed only acks (about 40 bytes each on the wire; an agent has
 * at most SEND_WINDOW = 8 unacknowledged): one that lets this much pile up is
 * not reading, and is not read from until it does.  Its acks then stop
 * moving and the write timeout (frame_timeout for agents) closes it.
 */
#define AGENT_OUT_HIGH (8u * 1024)
/*
 * The kernel's send buffer of an agent connection, for the same reason:
 * left to autotuning it grows to megabytes, which a peer that never reads
 * fills with tens of thousands of acks before AGENT_OUT_HIGH can act.
 */
#define AGENT_SNDBUF (8 * 1024)
/*
 * Snapshots a certificate's agent connections may have processed per
 * second, with bursts of AGENT_BURST: twice what an agent sends when
 * draining a backlog (8 every 400 ms, agent.h), so it never waits; a peer
 * that floods is read no faster, and costs the store at most this much.
 * The bucket belongs to the certificate (struct cn_rec), not to the
 * connection: reconnecting does not refill it.
 */
#define AGENT_RATE  40
#define AGENT_BURST 16
/* Frames one connection may have processed before the others get a turn. */
#define FRAMES_PER_TURN 8
/*
 * A batch is flushed at the end of the loop's turn; a connection whose frame
 * would make it larger than this waits for the next turn (as for
 * FRAMES_PER_TURN), so memory stays bounded and acks keep flowing.
 */
#define BATCH_MAX_ITEMS 2048
#define BATCH_MAX_BYTES (64u * 1024 * 1024)
/* Pending connections the kernel queues for accept(): agents return together. */
#define LISTEN_BACKLOG 1024
#define CLOSE_GRACE    5 /* seconds to flush a final error frame */
/*
 * A deadline that passes while the peer's bytes wait for us (input unread,
 * our last frame not yet written) was missed by our busy loop, not by the
 * peer: it is extended by DEADLINE_EXTRA seconds, at most DEADLINE_EXTENSIONS
 * times (so a peer gains nothing by timing its bytes).
 */
#define DEADLINE_EXTRA      1
#define DEADLINE_EXTENSIONS 5

enum conn_state { CS_HANDSHAKE, CS_HELLO, CS_AGENT, CS_ADMIN, CS_CLOSING };

struct conn {
	struct agg *agg;
	struct bufferevent *bev;
	struct event *deadline; /* handshake+hello, then per partial frame */
	struct event *resume;   /* continues conn_read_cb after a fair share or a rate pause */
	int rate_paused;        /* reading stopped until resume: over AGENT_RATE, or no room */
	int frame_window;       /* deadline is a frame-progress window (conn_window_start) */
	int extensions;         /* times the phase's deadline was extended (DEADLINE_EXTRA) */
	uint64_t rx_drained;    /* bytes of complete frames taken from the input so far */
	uint64_t win_rx;        /* conn_rx() when the current window started */
	enum conn_state state;
	struct cn_rec *rec; /* its certificate's record, from the handshake on */
	char peer[INET6_ADDRSTRLEN + 8];
	char cn[MODEL_NAME_MAX];
	struct host_info hi; /* agents: from hello */
	int64_t skew;        /* agent clock minus ours at hello; INT64_MIN unknown */
	unsigned batched;    /* its snapshots waiting in the batch */
	struct conn *next, *prev;
	struct conn *cn_next; /* agents: in cn_hash[], by certificate CN */
	int in_cn_hash;
	struct conn *admin_next, *admin_prev; /* admins: in the admins list */
};

/*
 * What the aggregator remembers of a certificate across its connections:
 * the agents' snapshot bucket (AGENT_RATE) and its connections waiting for
 * hello (HELLO_PER_CN).  One per CN seen; a record with no connection left
 * is dropped once its bucket is full again (cn_rec_sweep), so the table
 * holds at most the certificates the CA issued.
 */
struct cn_rec {
	char cn[MODEL_NAME_MAX];
	double tokens;      /* snapshots it may send now (AGENT_RATE, AGENT_BURST) */
	uint64_t tokens_ms; /* when tokens was last refilled */
	unsigned nconns;    /* its connections past the handshake */
	unsigned hello;     /* ... of which in state hello */
	struct cn_rec *next;
};

/*
 * Agent connections by CN, for conn_replace_older(): a fleet reconnecting
 * at once says hello 10,000 times, and walking every connection for each
 * would be quadratic.
 */
#define CN_BUCKETS 16384
static struct conn *cn_hash[CN_BUCKETS];
static struct cn_rec *cn_recs[CN_BUCKETS];
static unsigned hello_total; /* connections in state hello */
static unsigned admins_open; /* connections in state admin */
static struct conn *admins;  /* ... listed, for admin_out_total() */

static size_t
cn_bucket(const char *cn)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *cn != '\0'; cn++)
		h = (h ^ (unsigned char)*cn) * 16777619u;
	return h % CN_BUCKETS;
}

static void
cn_hash_remove(struct conn *c)
{
	struct conn **pp;

	if (!c->in_cn_hash)
		return;
	for (pp = &cn_hash[cn_bucket(c->cn)]; *pp != NULL; pp = &(*pp)->cn_next)
		if (*pp == c) {
			*pp = c->cn_next;
			break;
		}
	c->in_cn_hash = 0;
}

/* Refills a certificate's snapshot bucket up to now. */
static void
cn_rec_refill(struct cn_rec *r, uint64_t now)
{
	r->tokens += (double)(now - r->tokens_ms) * AGENT_RATE / 1000;
	r->tokens_ms = now;
	if (r->tokens > AGENT_BURST)
		r->tokens = AGENT_BURST;
}

/*
 * Drops the records of bucket b that no connection uses and whose bucket
 * is full again: forgetting them then changes nothing.
 */
static void
cn_rec_sweep(size_t b, uint64_t now)
{
	struct cn_rec **pp = &cn_recs[b], *r;

	while ((r = *pp) != NULL) {
		cn_rec_refill(r, now);
		if (r->nconns == 0 && r->tokens >= AGENT_BURST) {
			*pp = r->next;
			free(r);
		} else
			pp = &r->next;
	}
}

/* The record of certificate cn, created when new; NULL when out of memory. */
static struct cn_rec *
cn_rec_get(const char *cn)
{
	size_t b = cn_bucket(cn);
	uint64_t now = now_mono_ms();
	struct cn_rec *r;

	cn_rec_sweep(b, now);
	for (r = cn_recs[b]; r != NULL; r = r->next)
		if (strcmp(r->cn, cn) == 0)
			return r;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	ifl_strlcpy(r->cn, cn, sizeof(r->cn));
	r->tokens = AGENT_BURST;
	r->tokens_ms = now;
	r->next = cn_recs[b];
	cn_recs[b] = r;
	return r;
}

static void
cn_rec_free_all(void)
{
	size_t b;

	for (b = 0; b < CN_BUCKETS; b++)
		while (cn_recs[b] != NULL) {
			struct cn_rec *r = cn_recs[b];

			cn_recs[b] = r->next;
			free(r);
		}
}

/*
 * Every change of a connection's state goes through here, which keeps the
 * counts the caps are checked against: connections in hello (per
 * certificate and in all) and admin connections (and their list).
 */
static void
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
static size_t
admin_out_total(void)
{
	const struct conn *c;
	size_t n = 0;

	for (c = admins; c != NULL; c = c->admin_next)
		n += evbuffer_get_length(bufferevent_get_output(c->bev));
	return n;
}

/* A snapshot received, waiting for the batch's commit. */
struct pending {
	struct conn *c;      /* NULL once the connection is gone: stored, not acknowledged */
	struct host_info hi; /* copies: the connection may go before the flush */
	int64_t skew;
	struct snapshot s;
	uint8_t *raw; /* a copy of the payload (the input buffer moves on) */
	size_t rawlen;
	uint64_t done_us; /* when the frame was complete, for the latency histogram */
};

/*
 * Admin queries may be costly (a host document of megabytes): at most one
 * is run per turn of the event loop, so that between two of them the loop
 * polls again: other peers' handshakes and frames, and admins that gave up
 * (whose queries are then never built).  admin_turn_ev clears the flag on
 * the next turn.
 */
static int admin_turn_used;
static struct event *admin_turn_ev;

static struct pending *batch;
static struct store_put *batch_puts;
static size_t nbatch, batch_cap, puts_cap, batch_bytes;
static struct event *flush_ev;

static struct conn *conns; /* all open connections, for shutdown */
/* SIGTERM: no new connections; the open ones finish what they received */
static int draining;
static struct event *drain_timer;
/* accept() ran out of descriptors: the listener is retried after EMFILE_RETRY s */
static struct event *emfile_timer;
#define EMFILE_RETRY 1
static uint64_t frame_done_us; /* when the frame being handled was complete (agg_mono_us) */

static void conn_free(struct conn *c);

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

static const char *
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
static void
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

static void
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

static void
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

static void
closing_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_free(c);
}

/* An error or EOF while a final frame flushes: nothing more can be sent. */
static void
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
static void
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
static void
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

static int
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
		c->skew = h.time != 0 ? h.time - now_unix() : INT64_MIN;
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

/* Stores the batch in one transaction, then acks, then analysis. */
static void
batch_flush(struct agg *a)
{
	struct buf out;
	size_t i, n = nbatch;
	int64_t now = now_unix();
	char err[512];

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		struct pending *p = &batch[i];

		batch_puts[i] = (struct store_put){
		    .hi = &p->hi, .s = &p->s, .raw = p->raw, .rawlen = p->rawlen, .received = now};
	}
	if (store_put_snapshots(a->store, batch_puts, n, err, sizeof(err)) == -1) {
		static struct log_limit ll = LOG_LIMIT("storage failures");

		log_limited(&ll, "storing %zu snapshot(s) failed: %s", n, err);
		/* conn_close() with an error code never frees: batch[] stays as it is */
		for (i = 0; i < n; i++)
			if (batch[i].c != NULL)
				conn_close(batch[i].c, PERR_INTERNAL,
				           "storage failed; snapshot not acknowledged");
		goto out;
	}
	buf_init(&out, 64u * 1024);
	for (i = 0; i < n; i++) {
		struct pending *p = &batch[i];
		int dup = batch_puts[i].duplicate;

		if (dup)
			a->stats.snapshots_duplicate++;
		else
			a->stats.snapshots_stored++;
		if (batch_puts[i].conflict) {
			/* acknowledged (the agent must move on) but it is not the same snapshot */
			a->stats.snapshots_conflict++;
			log_warnx(
			    "%s: snapshot %llu of spool '%s' differs from the one stored under "
			    "that number: not stored (a cloned or restored spool?)",
			    p->hi.name, (unsigned long long)p->s.seq, p->hi.spool);
		}
		log_debug("%s: snapshot %llu %s (%zu objects)", p->hi.name,
		          (unsigned long long)p->s.seq, dup ? "was a duplicate" : "stored",
		          p->s.nobjects);
		/* a connection closed since (a bad frame after this one): stored, no ack */
		if (p->c == NULL || p->c->state != CS_AGENT)
			continue;
		if (proto_encode_ack(&out, p->s.seq) == 0)
			agg_lat_observe(&a->stats, agg_mono_us() - p->done_us);
		/*
		 * A connection's frames of one turn are next to each other in the
		 * batch: their acks leave together, one TLS record, one send().
		 */
		if (i + 1 == n || batch[i + 1].c != p->c || buf_failed(&out)) {
			if (!buf_failed(&out))
				conn_send(p->c, &out); /* may free p->c: conn_free() clears it */
			buf_reset(&out);
		}
	}
	buf_free(&out);
	/* after the acks are queued: findings never hold a snapshot's acknowledgement */
	for (i = 0; i < n; i++)
		if (!batch_puts[i].duplicate)
			analysis_snapshot(a, &batch[i].hi, &batch[i].s, now, batch[i].skew);
out:
	for (i = 0; i < n; i++) {
		if (batch[i].c != NULL)
			batch[i].c->batched = 0;
		snapshot_free(&batch[i].s);
		free(batch[i].raw);
	}
	nbatch = 0;
	batch_bytes = 0;
}

static void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	batch_flush(arg);
}

/* 1 when the batch takes no more this turn (see BATCH_MAX_ITEMS). */
static int
batch_full(size_t rawlen)
{
	return nbatch > 0 && (nbatch >= BATCH_MAX_ITEMS || batch_bytes + rawlen > BATCH_MAX_BYTES);
}

/* Queues a decoded snapshot (taking s) for the batch's commit.  0 or -1 (memory). */
static int
batch_add(struct conn *c, struct snapshot *s, const uint8_t *raw, size_t rawlen)
{
	struct pending *p;

	/* the two arrays grow in step; a turn's batch is bounded (batch_full) */
	if (grow_array(&batch, &batch_cap, nbatch + 1, 64, BATCH_MAX_ITEMS, sizeof(*batch)) == -1 ||
	    grow_array(&batch_puts, &puts_cap, nbatch + 1, 64, BATCH_MAX_ITEMS,
	               sizeof(*batch_puts)) == -1)
		return -1;
	p = &batch[nbatch];
	/* malloc(0) may return NULL: an empty payload cannot be a snapshot anyway */
	if ((p->raw = malloc(rawlen > 0 ? rawlen : 1)) == NULL)
		return -1;
	memcpy(p->raw, raw, rawlen);
	p->rawlen = rawlen;
	p->c = c;
	p->hi = c->hi;
	p->skew = c->skew;
	p->s = *s; /* the objects and scopes now belong to the batch */
	p->done_us = frame_done_us;
	c->batched++;
	batch_bytes += rawlen;
	if (nbatch++ == 0)
		event_active(flush_ev, EV_TIMEOUT, 1);
	return 0;
}

/*
 * A snapshot straight from its payload: validated and decoded in one pass.
 * count: the frame is not counted yet (it was not unpacked first).
 */
static void
handle_snapshot(struct conn *c, const uint8_t *raw, size_t rawlen, int count)
{
	struct agg *a = c->agg;
	struct snapshot s;
	char err[512];
	int rc;

	if (snapshot_init(&s) == -1) {
		conn_close(c, PERR_INTERNAL, "out of memory");
		return;
	}
	rc = proto_decode_snapshot_frame(raw, rawlen, &s, err, sizeof(err));
	if (count && rc != -2) /* -2: not a valid frame, as proto_doc_unpack refuses */
		a->stats.frames_accepted++;
	if (rc != 0) {
		snapshot_free(&s);
		a->stats.frames_rejected++;
		conn_close(c, PERR_BAD_FRAME, err);
		return;
	}
	/*
	 * A snapshot dated beyond max_clock_skew ahead of our clock would sit
	 * in the future of every series and outlive retention: its samples are
	 * filed at the time it arrived instead (the payload keeps what the agent
	 * said; the clock finding reports the agent's clock).
	 */
	{
		int64_t now = now_unix();

		if (s.taken > now && (uint64_t)(s.taken - now) > a->cfg.max_clock_skew) {
			static struct log_limit ll = LOG_LIMIT("future snapshots");

			log_limited(
			    &ll,
			    "%s: snapshot %llu is dated %llds ahead of our clock (more than "
			    "max_clock_skew); its samples are filed at its arrival",
			    conn_who(c), (unsigned long long)s.seq, (long long)(s.taken - now));
			s.taken = now;
		}
	}
	s.page_size = c->hi.page_size;
	ifl_strlcpy(s.os, c->hi.os, sizeof(s.os));
	ifl_strlcpy(s.os_release, c->hi.os_release, sizeof(s.os_release));
	if (batch_add(c, &s, raw, rawlen) == -1) {
		snapshot_free(&s);
		conn_close(c, PERR_INTERNAL, "out of memory");
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
static void
conn_frame(struct conn *c, const uint8_t *p, size_t n)
{
	struct agg *a = c->agg;
	struct proto_doc d;
	char err[MODEL_TEXT_MAX], why[MODEL_TEXT_MAX];

	/* the frame that comes by the thousand is not unpacked into a document */
	if (c->state == CS_AGENT && proto_frame_type(p, n) == MSG_SNAPSHOT) {
		handle_snapshot(c, p, n, 1);
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
	case CS_AGENT:
		if (d.type == MSG_SNAPSHOT) /* "type" not first: unusual, but valid */
			handle_snapshot(c, p, n, 0);
		else {
			snprintf(why, sizeof(why), "agent certificate '%s' may only send snapshots",
			         c->cn);
			conn_refuse(c, d.type == MSG_QUERY ? PERR_FORBIDDEN : PERR_STATE, why);
		}
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

static void
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
			/* the batch is full: this frame goes into the next one */
			static const struct timeval now = {0, 0};

			evtimer_add(c->resume, &now);
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

static void
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

static void
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

static void
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

static struct log_limit ll_refused = LOG_LIMIT("refused connections");

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

int
server_start(struct agg *a, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	char host[256], port[8];
	const char *why;
	int rc;

	if (parse_hostport(a->cfg.listen, host, sizeof(host), port, sizeof(port), &why) == -1) {
		snprintf(err, errlen, "listen %s: %s", a->cfg.listen, why);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "listen %s: %s", a->cfg.listen, gai_strerror(rc));
		return -1;
	}
	a->listener = evconnlistener_new_bind(a->base, accept_cb, a,
	                                      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                          LEV_OPT_CLOSE_ON_EXEC,
	                                      LISTEN_BACKLOG, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (a->listener == NULL) {
		snprintf(err, errlen, "listen %s: %s", a->cfg.listen,
		         strerror(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	evconnlistener_set_error_cb(a->listener, accept_error_cb);
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
	cn_rec_free_all();
	/* not acknowledged: the agents send them again to the next aggregator */
	for (i = 0; i < nbatch; i++) {
		snapshot_free(&batch[i].s);
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
	/* what this turn received so far; conn_send may free those connections */
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
