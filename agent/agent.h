/*
 * agent.h: ipcfleet-agent's internal interfaces.
 *
 * main.c   options, configuration, the run loop
 * spool.c  the on-disk spool: every snapshot is written here before it is
 *          sent, and removed only when the aggregator acknowledges it
 * send.c   delivery over TLS: hello, spooled frames in order, acks
 * collect* collectors (collect.h)
 */
#ifndef IPCFLEET_AGENT_H
#define IPCFLEET_AGENT_H

#include <signal.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "client.h"
#include "config.h"
#include "model.h"
#include "proto.h"

struct agent_config {
	struct cfg_list server;
	char cert[CFG_PATH_MAX];
	char key[CFG_PATH_MAX];
	char ca[CFG_PATH_MAX];
	uint64_t interval; /* seconds */
	char spool[CFG_PATH_MAX];
	uint64_t spool_max;      /* bytes */
	uint64_t orphan_min_age; /* seconds */
	char source[CFG_STR_MAX];
	uint64_t timeout; /* seconds, each network operation */
	uint64_t tls12;
};

/* spool.c */
#define SPOOL_MAX_ENTRIES 100000

struct spool {
	char dir[CFG_PATH_MAX];
	uint64_t max_bytes;
	int dirfd;
	int dir_unsynced; /* a rename in dir (seq) still waits for the directory's fsync */
	/* the frame last spooled, while it waits to be sent (spool_keep) */
	struct buf kept;
	uint64_t kept_seq; /* 0: none */
};

struct spool_entry {
	uint64_t seq;
	uint64_t size;
};

int spool_open(struct spool *sp, const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void spool_close(struct spool *sp);
/*
 * Allocates the next sequence number, durably (survives restarts) by the
 * time anything carrying it can be sent: the seq file is written and
 * fsync'd, and its rename is made durable by the fsync of the directory
 * that spool_put() does for the entry (one directory fsync, not two).
 */
int spool_next_seq(struct spool *sp, uint64_t *seq, char *err, size_t errlen);
/* Snapshots dropped so far because the spool was full. */
uint64_t spool_dropped(struct spool *sp);
/*
 * Stores one frame for seq durably.  When the spool would exceed max_bytes,
 * the oldest entries are dropped first and counted (spool_dropped).
 */
int spool_put(struct spool *sp, uint64_t seq, const struct buf *frame, char *err, size_t errlen);
/*
 * After a successful spool_put(), keeps that frame in memory (taking the
 * buffer: *frame is left empty) so that spool_get() of the same seq hands it
 * over without reading the file back and validating it again: these are the
 * bytes just written, validated by the encoder.  One frame at most; it is
 * released by spool_get, spool_remove, spool_forget or the next spool_keep.
 */
void spool_keep(struct spool *sp, uint64_t seq, struct buf *frame);
/* Releases the kept frame, if any. */
void spool_forget(struct spool *sp);
/* Lists entries oldest first into a malloc'd array (caller frees). */
int spool_list(struct spool *sp, struct spool_entry **out, size_t *n, char *err, size_t errlen);
/*
 * Reads one entry's frame: 0; -2 when the entry was corrupt and has been set
 * aside (renamed *.bad, logged); -1 with err when it could not be read (it
 * stays spooled).
 */
int spool_get(struct spool *sp, uint64_t seq, struct buf *frame, char *err, size_t errlen);
int spool_remove(struct spool *sp, uint64_t seq);

/* send.c */
/*
 * Delivery is windowed and paced (docs/DELIVERY.md): one call of
 * sender_step() pipelines at most SEND_WINDOW spooled frames (and at most
 * SEND_WINDOW_BYTES of them, but always at least one) and waits for their
 * acks; a remaining backlog goes out one window per SEND_PACE_MS, i.e. at
 * most SEND_WINDOW * 1000 / SEND_PACE_MS frames per second per agent.
 * Failed attempts are retried after a random delay in [0, backoff], the
 * backoff doubling from SEND_BACKOFF_MIN_MS to SEND_BACKOFF_MAX_MS.
 */
#define SEND_WINDOW         8
#define SEND_WINDOW_BYTES   (4u * 1024 * 1024)
#define SEND_PACE_MS        400
#define SEND_BACKOFF_MIN_MS 1000
#define SEND_BACKOFF_MAX_MS (300u * 1000)
#define SEND_NEVER          UINT64_MAX

struct sender {
	const struct agent_config *cfg;
	SSL_CTX *ctx;
	struct client cl;
	int connected;
	size_t server_idx;                 /* which entry of cfg->server we use */
	struct msg_hello hello;            /* sent on every connect, with the clock then */
	const volatile sig_atomic_t *stop; /* when set, return between frames */
	unsigned failures;                 /* consecutive failed attempts */
	uint64_t backoff_ms;               /* the current backoff cap, 0 when not failing */
};

int sender_init(struct sender *sd, const struct agent_config *cfg, SSL_CTX *ctx,
                const struct msg_hello *hello, const volatile sig_atomic_t *stop);
void sender_free(struct sender *sd);
/*
 * Sends one window of the oldest spooled snapshots, in order, removing each
 * one when its ack arrives.  Returns 0 when the spool is empty, 1 when a
 * backlog remains, -1 with err when the attempt failed (what was not
 * acknowledged stays spooled; the connection is dropped).  A connection
 * attempt ends by `until` (monotonic ms, SEND_NEVER: no limit) or after
 * 2 s, whichever is later, so that the next snapshot is taken on time.
 */
int sender_step(struct sender *sd, struct spool *sp, uint64_t until, char *err, size_t errlen);
/*
 * Records the outcome rc of a sender_step() that started at start_ms and
 * returns the monotonic time (ms) of the next step: SEND_NEVER when the
 * spool is empty, start_ms + SEND_PACE_MS for a backlog, and after a
 * failure now_ms plus a random delay in [0, backoff] (full jitter).
 */
uint64_t sender_schedule(struct sender *sd, int rc, uint64_t start_ms, uint64_t now_ms);
/* 1 while the last attempt failed: new snapshots wait for the retry. */
int sender_failing(const struct sender *sd);

#endif
