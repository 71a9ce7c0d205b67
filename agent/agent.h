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
	char textfile[CFG_PATH_MAX]; /* node_exporter textfile directory, "" for none */
};

/* spool.c */
#define SPOOL_MAX_ENTRIES 100000
#define SPOOL_MAX_SKIP    100000 /* entries remembered as not to be sent again */
#define SPOOL_ID_LEN      16     /* random bytes of a spool's identity */
#define SPOOL_ID_HEX      (2 * SPOOL_ID_LEN)
#define SPOOL_DIGEST_LEN  32 /* SHA-256 */

/* An entry still on disk that must not be sent (again). */
struct spool_skip {
	uint64_t seq;
	int bad;  /* 1: set aside, the rename to *.bad failed; 0: acknowledged, not removed */
	int seen; /* spool_list: its file is still there */
};

struct spool {
	char dir[CFG_PATH_MAX];
	uint64_t max_bytes;
	int dirfd;
	int dir_unsynced; /* a rename in dir (seq) still waits for the directory's fsync */
	/* identity (spool.c, "Identity"): "" is the legacy id of a spool without one */
	char id[SPOOL_ID_HEX + 1];
	uint8_t idraw[SPOOL_ID_LEN];
	int id_unsaved;         /* the id file could not be written yet */
	uint64_t dropped;       /* snapshots dropped so far, in memory */
	uint64_t dropped_saved; /* what the dropped file says */
	struct spool_skip *skip;
	size_t nskip, skipcap;
	uint64_t skip_retry_at; /* monotonic ms: the skipped entries' removal is retried then */
	uint64_t unread_seq;    /* the entry that failed to read, and how often in a row */
	unsigned unread_tries;
	/* the frame last spooled, while it waits to be sent (spool_keep) */
	struct buf kept;
	uint64_t kept_seq;  /* 0: none */
	uint64_t seq_last;  /* the last sequence number handed out, 0: none yet */
	uint64_t seq_floor; /* numbers go on above it (spool_recheck: a copy put back) */
	size_t orphaned;    /* spool_recheck: what the directory that went held */
	/* the whole spool at the last spool_list, beyond what it listed (kept
	 * counting as entries come and go); and the entries set aside (*.bad),
	 * which count towards spool_max too */
	size_t listed_count, listed_bad;
	uint64_t listed_bytes, listed_newest, listed_bad_bytes;
};

struct spool_entry {
	uint64_t seq;
	uint64_t size;
};

/*
 * Opens (creating when missing) the spool directory: refused when dir is a
 * symbolic link, belongs to another user, is writable by group or others,
 * or its parent could be written by another user (docs/SECURITY.md).  Finds
 * or makes the spool's identity.
 */
int spool_open(struct spool *sp, const char *dir, uint64_t max_bytes, char *err, size_t errlen);
void spool_close(struct spool *sp);
/*
 * Whether the spool directory is still the one opened: 0 when it is.  When
 * it was removed, renamed away or replaced, the path is opened again with
 * the same checks: 1, a new spool (a new identity); 2, a spool with the
 * same identity (a copy of this one put back: its numbers go on from the
 * last handed out).  What the old directory held that was not delivered is
 * counted as dropped (as last listed, when it was removed); the drops
 * counted so far go on.  -1 with err when it cannot be opened: nothing is
 * spooled until it can, the snapshots are dropped and counted.
 */
int spool_recheck(struct spool *sp, char *err, size_t errlen);
/*
 * A spool of the legacy identity (made by an earlier version) that is empty
 * now takes a new identity: 1 when it did (the next hello must carry it).
 */
int spool_adopt_id(struct spool *sp);
/*
 * Allocates the next sequence number, durably (survives restarts) by the
 * time anything carrying it can be sent: the seq file is written and
 * fsync'd, and its rename is made durable by the fsync of the directory
 * that spool_put() does for the entry (one directory fsync, not two).
 */
int spool_next_seq(struct spool *sp, uint64_t *seq, char *err, size_t errlen);
/*
 * Snapshots dropped so far: to make room, set aside, or never spooled.
 * Counted in memory and written to the spool when it can be (a full or
 * read-only filesystem still counts them).
 */
uint64_t spool_dropped(struct spool *sp);
void spool_count_drop(struct spool *sp, uint64_t n);
/*
 * Stores one frame for seq durably.  When the spool would exceed max_bytes,
 * the oldest entries are dropped first and counted (spool_dropped).  On -1
 * this snapshot was not spooled: the caller counts it (spool_count_drop).
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
/*
 * Lists entries oldest first into a malloc'd array (caller frees): the
 * SPOOL_MAX_ENTRIES oldest when there are more.  Every entry is counted
 * all the same: sp->listed_count, listed_bytes and listed_newest are the
 * whole spool's.
 */
int spool_list(struct spool *sp, struct spool_entry **out, size_t *n, char *err, size_t errlen);
/*
 * Reads one entry's frame: 0; -2 when there is nothing to send (the entry
 * was corrupt and has been set aside, or is gone); -1 with err when it could
 * not be read (it stays spooled; after a few failures in a row it is set
 * aside).
 */
int spool_get(struct spool *sp, uint64_t seq, struct buf *frame, char *err, size_t errlen);
/*
 * Removes an acknowledged entry.  -1 when the file could not be removed: it
 * is remembered and never listed again (its removal is retried).
 */
int spool_remove(struct spool *sp, uint64_t seq);
/* Sets entry seq aside as *.bad (logged with why) and counts it as dropped. */
void spool_set_aside(struct spool *sp, uint64_t seq, const char *why);
/*
 * A state file of the agent's own in the spool (NAME: not an entry's name),
 * written whole through a temporary; its directory entry is not fsync'd
 * (the state is advisory).  0, or -1 with errno.
 */
int spool_state_put(struct spool *sp, const char *name, const struct buf *b);
/* Reads it (a regular file of at most max bytes) NUL-terminated into *text (caller frees). */
int spool_state_get(struct spool *sp, const char *name, size_t max, char **text);

/* send.c */
/*
 * Delivery is windowed and paced (docs/DELIVERY.md): one call of
 * sender_step() pipelines at most SEND_WINDOW spooled frames (and at most
 * SEND_WINDOW_BYTES of them, but always at least one) and waits for their
 * acks; a remaining backlog goes out one window per SEND_PACE_MS, i.e. at
 * most SEND_WINDOW * 1000 / SEND_PACE_MS frames per second per agent.
 * Failed attempts are retried after a random delay in [0, backoff], the
 * backoff doubling from SEND_BACKOFF_MIN_MS to SEND_BACKOFF_MAX_MS: an
 * aggregator that comes back is seen by every agent within the cap.
 * A frame the aggregator refuses (error "bad_frame" or "state" for the frame
 * itself, or an ack naming another one) is sent alone; refused SEND_REFUSALS_MAX times in
 * a row that way, it is set aside (spool_set_aside) so that one entry never
 * holds up the spool.
 */
#define SEND_WINDOW         8
#define SEND_WINDOW_BYTES   (4u * 1024 * 1024)
#define SEND_PACE_MS        400
#define SEND_BACKOFF_MIN_MS 1000
#define SEND_BACKOFF_MAX_MS (30u * 1000)
#define SEND_REFUSALS_MAX   3
#define SEND_NEVER          UINT64_MAX

struct sender {
	const struct agent_config *cfg;
	SSL_CTX *ctx;
	struct client cl;
	int connected;
	unsigned connects;                 /* connections made, each with its handshake */
	size_t server_idx;                 /* which entry of cfg->server we use */
	struct msg_hello hello;            /* sent on every connect, with the clock then */
	const volatile sig_atomic_t *stop; /* when set, return between frames */
	unsigned failures;                 /* consecutive failed attempts */
	uint64_t backoff_ms;               /* the current backoff cap, 0 when not failing */
	uint64_t solo_upto;                /* entries up to this one go one per window */
	uint64_t refused_seq;              /* the entry refused when sent alone ... */
	unsigned refused;                  /* ... so many times in a row */
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
/* A new spool identity for the hello: the connection is dropped, the next one says it. */
void sender_set_spool(struct sender *sd, const char *id);

#endif
