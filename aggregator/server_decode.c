/*
 * server_decode.c: snapshots decoded beside the event loop (server_local.h).
 *
 * Decoding a snapshot frame (validating every field of every object) was a
 * fifth of the loop thread's time under load.  It depends on nothing but
 * the frame's bytes, so one worker thread (common/workq.c) does it while the
 * loop goes on reading, storing and acknowledging.  Everything else stays on
 * the loop thread: connections, the store, the analysis, the statistics and
 * the log.
 *
 * The worker decodes the frames in the order they were read, and the loop
 * takes them back in that order (decoder_cb), so a connection's snapshots
 * reach the batch, and their acks leave, in the order its agent sent them.
 * A job's connection (c) is the loop's alone: the worker never sees it, and
 * conn_free() clears it (decoder_forget); the job is then dropped, neither
 * stored nor acknowledged, and its agent sends the snapshot again.
 *
 * The jobs count towards the batch's bounds (batch_full), so the frames read
 * but not yet stored stay within BATCH_MAX_ITEMS and BATCH_MAX_BYTES as
 * before.  While draining (SIGTERM), and when the thread cannot start,
 * decoder_submit runs the same two steps (decode_job, job_finish) itself,
 * on the loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "server_local.h"
#include "workq.h"

struct djob {
	struct workq_item it; /* first: a job is its item */
	struct conn *c;       /* the loop's; NULL once the connection is gone */
	uint8_t *raw;         /* the payload's copy; the batch takes it over */
	size_t rawlen;
	uint64_t done_us; /* when the frame was complete */
	/* the worker's result */
	int rc;
	enum msg_type type; /* the message the frame says it is (rc -1) */
	int nomem;          /* no memory for the snapshot itself */
	struct snapshot *s; /* the batch takes it over */
	char err[512];
};

/*
 * The worker is woken after the turn's reads (kick_ev, made active by the
 * turn's first job) or every KICK_JOBS jobs: one wakeup a job cost the
 * loop a futex call a snapshot.
 */
#define KICK_JOBS 32

static struct workq *wq;
static int failed; /* the worker could not start: decode on the loop thread */
static struct event *done_ev, *kick_ev;
static unsigned unkicked;        /* jobs queued since the worker was last woken */
static size_t njobs, jobs_bytes; /* for batch_full() */

/* On the worker: the one pass that validates and decodes (proto.h). */
static void
decode_job(struct workq_item *it)
{
	struct djob *j = (struct djob *)it;

	if ((j->s = malloc(sizeof(*j->s))) == NULL || snapshot_init(j->s) == -1) {
		free(j->s);
		j->s = NULL;
		j->rc = -1;
		j->nomem = 1;
		return;
	}
	j->rc = proto_decode_snapshot_frame(j->raw, j->rawlen, j->s, j->err, sizeof(j->err));
	j->type = MSG_SNAPSHOT;
	if (j->rc == -1) {
		const char *why;

		/*
		 * Well-formed, but the decoder may have stopped before "type": a
		 * type missing, twice or not a string is a bad frame, another
		 * message is refused as such (job_finish), as when agents' frames
		 * were unpacked on the loop first.
		 */
		if (proto_frame_type_of(j->raw, j->rawlen, &j->type, &why) == -1) {
			snprintf(j->err, sizeof(j->err), "bad frame: type: %s", why);
			j->rc = -2;
		}
	}
}

static void
job_free(struct djob *j)
{
	snapshot_drop(j->s);
	free(j->raw);
	free(j);
}

/* A decoded job, back on the loop thread: into the batch, or its error. */
static void
job_finish(struct agg *a, struct djob *j)
{
	struct conn *c = j->c;

	njobs--;
	jobs_bytes -= j->rawlen;
	if (c != NULL)
		c->decoding--;
	/*
	 * Gone, or closed by an earlier bad frame: not judged, not counted, not
	 * stored, not acknowledged (as if never read).
	 */
	if (c == NULL || c->state != CS_AGENT) {
		job_free(j);
		return;
	}
	if (j->nomem) {
		conn_close(c, PERR_INTERNAL, "out of memory");
		job_free(j);
		return;
	}
	if (j->rc != -2) /* -2: not a valid frame, as proto_doc_unpack refuses */
		a->stats.frames_accepted++;
	if (j->rc == -1 && j->type != MSG_SNAPSHOT) {
		conn_refuse_agent_frame(c, j->type); /* a query, a second hello, ... */
		job_free(j);
		return;
	}
	if (j->rc != 0) {
		a->stats.frames_rejected++;
		conn_close(c, PERR_BAD_FRAME, j->err);
		job_free(j);
		return;
	}
	/* the batch takes the snapshot and the frame's copy */
	snapshot_accept(c, j->s, j->raw, j->rawlen, j->done_us);
	free(j);
}

/* The decoded jobs at the head of the queue, in order, into the batch. */
static void
decoder_collect(struct agg *a)
{
	struct workq_item *it, *next;

	for (it = workq_take_done(wq); it != NULL; it = next) {
		next = it->next;
		job_finish(a, (struct djob *)it);
	}
}

static void
decoder_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	decoder_collect(arg);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	unkicked = 0;
	workq_kick(wq);
}

/*
 * Starts the worker with the first snapshot: after the privileges are
 * dropped.  0, or -1 when the frames must be decoded on the loop thread.
 */
static int
decoder_start(struct agg *a)
{
	char err[256];

	if (wq != NULL)
		return 0;
	if (failed)
		return -1;
	if ((wq = workq_new(decode_job, err, sizeof(err))) == NULL) {
		log_warnx("decoder: %s; snapshots are decoded on the main thread", err);
		failed = 1;
		return -1;
	}
	if ((done_ev = event_new(a->base, workq_fd(wq), EV_READ | EV_PERSIST, decoder_cb, a)) ==
	        NULL ||
	    event_add(done_ev, NULL) == -1 ||
	    (kick_ev = event_new(a->base, -1, 0, kick_cb, NULL)) == NULL) {
		log_warnx("decoder: out of memory; snapshots are decoded on the main thread");
		decoder_stop();
		failed = 1;
		return -1;
	}
	return 0;
}

int
decoder_submit(struct conn *c, const uint8_t *raw, size_t rawlen)
{
	struct djob *j;
	int inline_ = draining || decoder_start(c->agg) == -1;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	/* malloc(0) may return NULL: an empty payload cannot be a snapshot anyway */
	if ((j->raw = malloc(rawlen > 0 ? rawlen : 1)) == NULL) {
		free(j);
		return -1;
	}
	memcpy(j->raw, raw, rawlen);
	j->rawlen = rawlen;
	j->c = c;
	j->done_us = frame_done_us;
	c->decoding++;
	njobs++;
	jobs_bytes += rawlen;
	if (inline_) {
		/* the same two steps as the worker's and decoder_collect's */
		decode_job(&j->it);
		job_finish(c->agg, j);
		return 0;
	}
	workq_push(wq, &j->it);
	if (unkicked++ == 0)
		event_active(kick_ev, EV_TIMEOUT, 1);
	else if (unkicked >= KICK_JOBS) {
		unkicked = 0;
		workq_kick(wq);
	}
	return 0;
}

void
decoder_forget(struct conn *c)
{
	struct workq_item *it;

	for (it = wq != NULL ? workq_first(wq) : NULL; it != NULL && c->decoding > 0;
	     it = it->next) {
		struct djob *j = (struct djob *)it;

		if (j->c == c) {
			j->c = NULL;
			c->decoding--;
		}
	}
}

size_t
decoder_jobs(size_t *bytes)
{
	*bytes = jobs_bytes;
	return njobs;
}

void
decoder_finish(struct agg *a)
{
	if (wq == NULL)
		return;
	unkicked = 0;
	workq_wait(wq);
	decoder_collect(a);
}

void
decoder_stop(void)
{
	struct workq_item *it, *next;

	/* not acknowledged: the agents send them again to the next aggregator */
	for (it = workq_free(wq); it != NULL; it = next) {
		struct djob *j = (struct djob *)it;

		next = it->next;
		if (j->c != NULL)
			j->c->decoding--;
		job_free(j);
	}
	wq = NULL;
	njobs = jobs_bytes = 0;
	unkicked = 0;
	failed = 0;
	if (done_ev != NULL)
		event_free(done_ev);
	if (kick_ev != NULL)
		event_free(kick_ev);
	done_ev = kick_ev = NULL;
}
