/*
 * server_batch.c: group commit (server_local.h).  The snapshots complete in
 * one turn of the event loop wait, decoded, in one batch; flush_cb, made
 * active by the first of them and so run after every connection ready in
 * that turn, stores the whole batch in ONE transaction
 * (store_put_snapshots: one fsync for all), then queues the acks in order,
 * then runs the analysis of each new snapshot.  A failed commit
 * acknowledges nothing of the batch: each connection in it gets the error
 * and is closed, and its agent sends again.
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

struct pending *batch;
struct store_put *batch_puts;
size_t nbatch, batch_cap, puts_cap, batch_bytes;
struct event *flush_ev;

/* Stores the batch in one transaction, then acks, then analysis. */
void
batch_flush(struct agg *a)
{
	struct buf out;
	size_t i, k, n = nbatch;
	int64_t now = now_unix();
	char err[512];
	int grouped;

	if (n == 0)
		return;
	for (i = 0; i < n; i++) {
		struct pending *p = &batch[i];

		batch_puts[i] = (struct store_put){
		    .hi = &p->hi, .s = p->s, .raw = p->raw, .rawlen = p->rawlen, .received = now};
	}
	if (store_put_snapshots(a->store, batch_puts, n, err, sizeof(err)) == -1) {
		static struct log_limit ll = LOG_LIMIT("storage failures");

		log_limited(&ll, "storing %zu snapshot(s) failed: %s", n, err);
		health_commit(a, 0, err, now);
		/* conn_close() with an error code never frees: batch[] stays as it is */
		for (i = 0; i < n; i++)
			if (batch[i].c != NULL)
				conn_close(batch[i].c, PERR_INTERNAL,
				           "storage failed; snapshot not acknowledged");
		goto out;
	}
	health_commit(a, 1, NULL, now);
	buf_init(&out, 64u * 1024);
	for (i = 0; i < n; i++) {
		struct pending *p = &batch[i];
		int dup = batch_puts[i].duplicate;

		if (batch_puts[i].busy) {
			/* its host's row held elsewhere: not stored; the agent sends it again */
			static struct log_limit llb = LOG_LIMIT("busy hosts");

			if (p->c != NULL && p->c->state == CS_AGENT) {
				log_limited(&llb, "%s: host row held by another aggregator",
				            p->hi.name);
				conn_close(p->c, PERR_INTERNAL,
				           "storage busy; snapshot not acknowledged");
			}
			continue;
		}
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
			    p->hi.name, (unsigned long long)p->s->seq, p->hi.spool);
		}
		log_debug("%s: snapshot %llu %s (%zu objects)", p->hi.name,
		          (unsigned long long)p->s->seq, dup ? "was a duplicate" : "stored",
		          p->s->nobjects);
		/* a connection closed since (a bad frame after this one): stored, no ack */
		if (p->c == NULL || p->c->state != CS_AGENT)
			continue;
		if (proto_encode_ack(&out, p->s->seq) == 0)
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
	/*
	 * After the acks are queued: findings never hold a snapshot's
	 * acknowledgement.  The analysis's writes of the whole batch go in one
	 * group (store_group_begin): one transaction's locks and checks, not
	 * one per snapshot.  Alone, or failing to begin, each goes on its own.
	 */
	for (i = 0, k = 0; i < n; i++) /* the snapshots analysed below */
		k += !batch_puts[i].duplicate && !batch_puts[i].busy;
	grouped = k > 1 && store_group_begin(a->store, err, sizeof(err)) == 0;
	for (i = 0; i < n; i++)
		if (!batch_puts[i].duplicate && !batch_puts[i].busy)
			analysis_snapshot(a, &batch[i].hi, batch[i].s, now, batch[i].skew);
	if (grouped && store_group_end(a->store, err, sizeof(err)) == -1) {
		static struct log_limit llg = LOG_LIMIT("analysis failures");

		/* the snapshots are stored; each host's next one is analysed again */
		log_limited(&llg,
		            "storing the analysis of %zu snapshot(s) failed: %s; their hosts' next "
		            "snapshots are analysed again",
		            k, err);
	}
out:
	for (i = 0; i < n; i++) {
		if (batch[i].c != NULL)
			batch[i].c->batched = 0;
		snapshot_drop(batch[i].s);
		free(batch[i].raw);
	}
	nbatch = 0;
	batch_bytes = 0;
}

void
flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	batch_flush(arg);
}

/*
 * 1 when the batch takes no more this turn (see BATCH_MAX_ITEMS).  The
 * frames still being decoded count: they join the batch when decoded.
 */
int
batch_full(size_t rawlen)
{
	size_t jb, nj = decoder_jobs(&jb);

	return nbatch + nj > 0 &&
	       (nbatch + nj >= BATCH_MAX_ITEMS || batch_bytes + jb + rawlen > BATCH_MAX_BYTES);
}

/*
 * Queues a decoded snapshot for the batch's commit, taking s (of the heap)
 * and raw (the payload's malloc'ed copy).  0 or -1 (memory; the caller
 * still owns both).
 */
static int
batch_add(struct conn *c, struct snapshot *s, uint8_t *raw, size_t rawlen, uint64_t done_us)
{
	struct pending *p;

	/* the two arrays grow in step; a turn's batch is bounded (batch_full) */
	if (grow_array(&batch, &batch_cap, nbatch + 1, 64, BATCH_MAX_ITEMS, sizeof(*batch)) == -1 ||
	    grow_array(&batch_puts, &puts_cap, nbatch + 1, 64, BATCH_MAX_ITEMS,
	               sizeof(*batch_puts)) == -1)
		return -1;
	p = &batch[nbatch];
	p->raw = raw;
	p->rawlen = rawlen;
	p->c = c;
	p->hi = c->hi;
	p->skew = c->skew;
	p->s = s;
	p->done_us = done_us;
	c->batched++;
	batch_bytes += rawlen;
	if (nbatch++ == 0)
		event_active(flush_ev, EV_TIMEOUT, 1);
	return 0;
}

/*
 * A decoded snapshot of agent connection c into the batch: taking s (of the
 * heap) and raw (the payload's malloc'ed copy) whatever happens.
 */
void
snapshot_accept(struct conn *c, struct snapshot *s, uint8_t *raw, size_t rawlen, uint64_t done_us)
{
	struct agg *a = c->agg;
	int64_t now = now_unix();

	/*
	 * A snapshot dated beyond max_clock_skew ahead of our clock would sit
	 * in the future of every series and outlive retention: its samples are
	 * filed at the time it arrived instead (the payload keeps what the agent
	 * said; the clock finding reports the agent's clock).
	 */
	if (s->taken > now && (uint64_t)(s->taken - now) > a->cfg.max_clock_skew) {
		static struct log_limit ll = LOG_LIMIT("future snapshots");

		log_limited(&ll,
		            "%s: snapshot %llu is dated %llds ahead of our clock (more than "
		            "max_clock_skew); its samples are filed at its arrival",
		            conn_who(c), (unsigned long long)s->seq, (long long)(s->taken - now));
		s->taken = now;
	} else if (s->taken < 0) {
		static struct log_limit ll = LOG_LIMIT("snapshots dated before 1970");

		/* no host's clock says that; the series and the hour's arithmetic need a time */
		log_limited(&ll,
		            "%s: snapshot %llu is dated before 1970 (%lld); its samples are filed "
		            "at its arrival",
		            conn_who(c), (unsigned long long)s->seq, (long long)s->taken);
		s->taken = now;
	}
	s->page_size = c->hi.page_size;
	ifl_strlcpy(s->os, c->hi.os, sizeof(s->os));
	ifl_strlcpy(s->os_release, c->hi.os_release, sizeof(s->os_release));
	if (batch_add(c, s, raw, rawlen, done_us) == -1) {
		snapshot_drop(s);
		free(raw);
		conn_close(c, PERR_INTERNAL, "out of memory");
	}
}

/* Frees a snapshot of the heap (NULL: nothing). */
void
snapshot_drop(struct snapshot *s)
{
	if (s != NULL) {
		snapshot_free(s);
		free(s);
	}
}

/*
 * A snapshot straight from its payload: validated and decoded in one pass,
 * by the decoder's thread (server_decode.c) or, while draining or without
 * that thread, by decoder_submit on this one.  The frame is counted there.
 */
void
handle_snapshot(struct conn *c, const uint8_t *raw, size_t rawlen)
{
	if (decoder_submit(c, raw, rawlen) == -1)
		conn_close(c, PERR_INTERNAL, "out of memory");
}
