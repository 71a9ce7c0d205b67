/*
 * server_local.h: what the server's files share (server.c: connections and
 * their state machine; server_cn.c: what a certificate may hold across its
 * connections; server_batch.c: the group commit of snapshots; server_life.c:
 * listening, accepting, draining and rechecking after a reload;
 * server_decode.c: the thread that decodes snapshots).  Private to
 * aggregator/server*.c: the rest of the aggregator sees aggregator.h.
 */
#ifndef IPCFLEET_SERVER_LOCAL_H
#define IPCFLEET_SERVER_LOCAL_H

#include <netinet/in.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "aggregator.h"
#include "log.h"

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
	unsigned decoding;   /* its snapshots with the decoder (server_decode.c) */
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

/* accept() ran out of descriptors: the listener is retried after EMFILE_RETRY s */
#define EMFILE_RETRY 1

/* A snapshot received, waiting for the batch's commit. */
struct pending {
	struct conn *c;      /* NULL once the connection is gone: stored, not acknowledged */
	struct host_info hi; /* copies: the connection may go before the flush */
	int64_t skew;
	struct snapshot *s; /* malloc'ed (15 KB: the batch holds pointers) */
	uint8_t *raw;       /* a copy of the payload (the input buffer moves on) */
	size_t rawlen;
	uint64_t done_us; /* when the frame was complete, for the latency histogram */
};

/* server.c */
extern struct conn *conns; /* all open connections, for shutdown */
extern unsigned hello_total, admins_open;
extern struct conn *admins;
extern int admin_turn_used;
extern struct event *admin_turn_ev;
extern uint64_t frame_done_us;
/* server_cn.c */
extern struct conn *cn_hash[CN_BUCKETS];
extern struct cn_rec *cn_recs[CN_BUCKETS];
/* server_batch.c */
extern struct pending *batch;
extern struct store_put *batch_puts;
extern size_t nbatch, batch_cap, puts_cap, batch_bytes;
extern struct event *flush_ev;
/* server_life.c */
extern int draining; /* SIGTERM: no new connections; the open ones finish */
extern struct event *drain_timer, *emfile_timer;
extern struct log_limit ll_refused;

/* server.c: connections */
const char *conn_who(const struct conn *c);
void conn_set_state(struct conn *c, enum conn_state s);
size_t admin_out_total(void);
void deadline_arm(struct conn *c, uint64_t seconds);
void deadline_cb(evutil_socket_t fd, short what, void *arg);
void conn_free(struct conn *c);
void closing_write_cb(struct bufferevent *bev, void *arg);
void closing_event_cb(struct bufferevent *bev, short what, void *arg);
void conn_close(struct conn *c, uint32_t code, const char *reason);
void conn_send(struct conn *c, const struct buf *out);
int is_admin(const struct agg *a, const char *cn);
void conn_frame(struct conn *c, const uint8_t *p, size_t n);
void conn_read_cb(struct bufferevent *bev, void *arg);
void resume_cb(evutil_socket_t fd, short what, void *arg);
void conn_write_cb(struct bufferevent *bev, void *arg);
void conn_event_cb(struct bufferevent *bev, short what, void *arg);
/* server_cn.c: certificates' records */
struct cn_rec *cn_rec_get(const char *cn);
size_t cn_bucket(const char *cn);
void cn_hash_remove(struct conn *c);
void cn_rec_refill(struct cn_rec *r, uint64_t now);
void cn_rec_free_all(void);
/* server_batch.c: group commit */
void batch_flush(struct agg *a);
void flush_cb(evutil_socket_t fd, short what, void *arg);
int batch_full(size_t rawlen);
void handle_snapshot(struct conn *c, const uint8_t *raw, size_t rawlen);
void snapshot_accept(struct conn *c, struct snapshot *s, uint8_t *raw, size_t rawlen,
                     uint64_t done_us);
void snapshot_drop(struct snapshot *s);
/*
 * server_decode.c: snapshots decoded on a worker thread.  decoder_submit:
 * 0 queued (a copy of raw), or decoded and judged at once (draining, or no
 * thread), -1 out of memory.  decoder_forget: c is being freed.  decoder_jobs: frames
 * queued or decoded but not yet in the batch, and their bytes.
 * decoder_finish: waits for every queued frame and puts it in the batch.
 */
int decoder_submit(struct conn *c, const uint8_t *raw, size_t rawlen);
/*
 * server.c: refuses a well-formed frame from agent c that is not a
 * snapshot (t: the message it says it is).
 */
void conn_refuse_agent_frame(struct conn *c, enum msg_type t);
void decoder_forget(struct conn *c);
size_t decoder_jobs(size_t *bytes);
void decoder_finish(struct agg *a);
void decoder_stop(void);

#endif
