/*
 * send.c: delivery of spooled snapshots to the aggregator (agent.h).
 *
 * The connection is kept open between intervals.  Spooled frames go out in
 * sequence order, pipelined in windows of at most SEND_WINDOW frames: the
 * frames of a window are written back to back, then their acks are read in
 * the same order (the aggregator answers the frames of one connection in
 * order, so ack i must name frame i).  A frame is removed from the spool only
 * when its own ack has arrived; an error frame, a wrong ack or a broken
 * connection leaves it, and everything after it, spooled for the next try.
 * A frame the aggregator stored but whose ack was lost is sent again and
 * recognised there as a duplicate (same host and sequence).
 *
 * Servers in the `server` list are tried in order, starting with the last
 * one that worked; a server that accepts the connection but then fails the
 * delivery (an error frame, a timeout) is tried last next time.  When none
 * answers, the error names each one and its reason.
 *
 * A frame refused for itself (error "bad_frame" or "state", or an ack naming
 * another frame) cannot be told from its neighbours in a window: the
 * aggregator may have refused a later frame of the same read.  So after a
 * refusal the entries of that window go one per window; one refused alone
 * SEND_REFUSALS_MAX times in a row is set aside, and the rest go on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define REPLY_MAX      (64u * 1024) /* acks and errors are small */
#define CONNECT_MIN_MS 2000

int
sender_init(struct sender *sd, const struct agent_config *cfg, SSL_CTX *ctx,
            const struct msg_hello *hello, const volatile sig_atomic_t *stop)
{
	memset(sd, 0, sizeof(*sd));
	sd->cfg = cfg;
	sd->ctx = ctx;
	sd->cl.fd = -1;
	sd->stop = stop;
	sd->hello = *hello;
	return 0;
}

void
sender_free(struct sender *sd)
{
	if (sd->connected)
		client_close(&sd->cl);
	sd->connected = 0;
}

static void
sender_drop(struct sender *sd)
{
	if (sd->connected)
		client_close(&sd->cl);
	sd->connected = 0;
}

static int
sender_stopping(const struct sender *sd)
{
	return sd->stop != NULL && *sd->stop;
}

/* Sends hello with the clock as it is now: the aggregator checks it. */
static int
sender_hello(struct sender *sd, char *err, size_t errlen)
{
	struct buf out;
	int rc;

	sd->hello.time = now_unix();
	buf_init(&out, 4096);
	if (proto_encode_hello(&out, &sd->hello) == -1) {
		buf_free(&out);
		snprintf(err, errlen, "cannot encode hello");
		return -1;
	}
	rc = client_write(&sd->cl, out.data, out.len, err, errlen);
	buf_free(&out);
	return rc;
}

/*
 * Connects to the first server that answers, starting with the last good one.
 * Each attempt may take `timeout`, but no longer than until `until` (a
 * monotonic time in ms: the next snapshot is due then), and at least
 * CONNECT_MIN_MS: a silent network must not make the agent miss snapshots.
 * Once connected, each read and write has `timeout` again.
 */
static int
sender_connect(struct sender *sd, uint64_t until, char *err, size_t errlen)
{
	const struct cfg_list *srv = &sd->cfg->server;
	char why[512];
	size_t i;

	if (sd->connected)
		return 0;
	err[0] = '\0';
	for (i = 0; i < srv->n; i++) {
		size_t k = (sd->server_idx + i) % srv->n;

		if (sender_stopping(sd)) {
			snprintf(err, errlen, "stopping");
			return -1;
		}
		uint64_t tmo = sd->cfg->timeout * 1000, now = now_mono_ms();

		if (until != SEND_NEVER && until < now + tmo)
			tmo = until > now + CONNECT_MIN_MS ? until - now : CONNECT_MIN_MS;
		if (client_connect(&sd->cl, sd->ctx, srv->v[k], (int)tmo, why, sizeof(why)) == 0) {
			if (sender_hello(sd, why, sizeof(why)) == 0) {
				/*
				 * Connecting was cut short; what follows on this
				 * connection (frames, acks) has `timeout` each, as
				 * documented: an aggregator slow to acknowledge (many
				 * agents back after an outage) is not a failure.
				 */
				sd->cl.timeout_ms = (int)(sd->cfg->timeout * 1000);
				if (k != sd->server_idx)
					log_info("failed over to %s", srv->v[k]);
				sd->server_idx = k;
				sd->connected = 1;
				sd->connects++;
				return 0;
			}
			client_close(&sd->cl);
		}
		log_debug("%s", why);
		/* every server and its reason, in the order tried */
		if (srv->n > 1 && err[0] == '\0')
			snprintf(err, errlen, "no server took the connection: ");
		else if (srv->n > 1)
			ifl_strlcat(err, "; ", errlen);
		ifl_strlcat(err, why, errlen);
	}
	return -1;
}

/*
 * Reads the aggregator's answer to snapshot seq: 0 on the matching ack; -2
 * when the answer refuses a frame (error "bad_frame" or "state", an ack for
 * another one); -1 for anything else (the connection, the aggregator's own
 * trouble).
 */
static int
sender_await_ack(struct sender *sd, uint64_t seq, char *err, size_t errlen)
{
	struct proto_doc d;
	struct buf in;
	char why[512];
	int rc = -1;

	buf_init(&in, REPLY_MAX);
	if (client_read_frame(&sd->cl, REPLY_MAX, &in, err, errlen) == -1)
		goto out;
	if (proto_doc_unpack((const uint8_t *)in.data, in.len, &d, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: bad answer: %s", sd->cl.server, why);
		goto out;
	}
	if (d.type == MSG_ACK) {
		uint64_t acked;

		if (proto_decode_ack(&d, &acked, why, sizeof(why)) == -1)
			snprintf(err, errlen, "%s: bad ack: %s", sd->cl.server, why);
		else if (acked != seq) {
			snprintf(err, errlen, "%s: ack for %llu while waiting for %llu",
			         sd->cl.server, (unsigned long long)acked, (unsigned long long)seq);
			rc = -2;
		} else
			rc = 0;
	} else if (d.type == MSG_ERROR) {
		struct msg_error e;

		if (proto_decode_error(&d, &e, why, sizeof(why)) == -1)
			snprintf(err, errlen, "%s: bad error frame: %s", sd->cl.server, why);
		else {
			snprintf(err, errlen, "%s refused snapshot %llu: %s: %s", sd->cl.server,
			         (unsigned long long)seq, proto_err_name(e.code), e.text);
			/* the frame itself: malformed, or not a snapshot (after hello) */
			if (e.code == PERR_BAD_FRAME || e.code == PERR_STATE)
				rc = -2;
		}
	} else
		snprintf(err, errlen, "%s: unexpected message instead of an ack", sd->cl.server);
	proto_doc_free(&d);
out:
	buf_free(&in);
	return rc;
}

/*
 * A refusal of the window inflight[0..k): the entries up to its last go one
 * per window from now on; an entry refused alone is counted, and set aside
 * after SEND_REFUSALS_MAX refusals in a row.
 */
static void
sender_refused(struct sender *sd, struct spool *sp, const uint64_t *inflight, size_t k,
               const char *why)
{
	uint64_t seq = inflight[0];

	if (k > 1) {
		sd->solo_upto = inflight[k - 1];
		return;
	}
	if (sd->refused_seq != seq) {
		sd->refused_seq = seq;
		sd->refused = 0;
	}
	if (++sd->refused < SEND_REFUSALS_MAX)
		return;
	log_warnx("snapshot %llu was refused %u times in a row (%s)", (unsigned long long)seq,
	          sd->refused, why);
	spool_set_aside(sp, seq, "refused by the aggregator");
	sd->refused_seq = 0;
	sd->refused = 0;
}

/*
 * One window on the current connection (connecting first when needed).
 * *acked counts the frames acknowledged; *reached is 1 once a server took
 * the connection and the hello.  Returns 0 (spool empty), 1
 * (backlog left) or -1 with err; on -1 the connection has been dropped.
 */
static int
sender_window(struct sender *sd, struct spool *sp, uint64_t until, size_t *acked, int *reached,
              char *err, size_t errlen)
{
	struct spool_entry *v;
	uint64_t inflight[SEND_WINDOW];
	struct buf frame;
	size_t n, i, k = 0, j, bytes = 0;
	char werr[512];
	int rc = 0, wfail = 0, rfail = 0, r;

	*acked = 0;
	*reached = 0;
	if (spool_list(sp, &v, &n, err, errlen) == -1)
		return -1;
	if (n == 0) {
		free(v);
		return 0;
	}
	if (sender_connect(sd, until, err, errlen) == -1) {
		free(v);
		return -1;
	}
	*reached = 1;
	buf_init(&frame, PROTO_HDR_LEN + PROTO_MAX_FRAME);
	for (i = 0; i < n && k < SEND_WINDOW && !sender_stopping(sd); i++) {
		/* a frame larger than the byte window still goes, alone */
		if (k > 0 && bytes + v[i].size > SEND_WINDOW_BYTES)
			break;
		/* after a refusal, one at a time until past the refused window */
		if (k > 0 && v[i].seq <= sd->solo_upto)
			break;
		if ((r = spool_get(sp, v[i].seq, &frame, err, errlen)) == -2) {
			/* set aside (spool_set_aside logged it) or gone: the rest still goes */
			log_debug("%s", err);
			continue;
		}
		if (r == -1) {
			/* unreadable for now: stop here, so the order is kept */
			ifl_strlcpy(werr, err, sizeof(werr));
			rfail = 1;
			break;
		}
		if (client_write(&sd->cl, frame.data, frame.len, werr, sizeof(werr)) == -1) {
			wfail = 1;
			break;
		}
		inflight[k++] = v[i].seq;
		bytes += frame.len;
	}
	buf_free(&frame);
	/* a kept frame this window did not reach is read from the spool later */
	spool_forget(sp);
	/*
	 * Collect the acks of what was written, even after a failed write: the
	 * aggregator may have stored (and acknowledged, or explained in an error
	 * frame) the frames before the one that failed.
	 */
	for (j = 0; j < k; j++) {
		if ((r = sender_await_ack(sd, inflight[j], err, errlen)) != 0) {
			if (r == -2)
				sender_refused(sd, sp, inflight + j, k - j, err);
			rc = -1;
			break;
		}
		if (inflight[j] == sd->refused_seq)
			sd->refused_seq = 0;
		if (spool_remove(sp, inflight[j]) == -1)
			log_warn("spool: cannot remove acknowledged snapshot %llu; it will not be "
			         "sent again (removal retried)",
			         (unsigned long long)inflight[j]);
		log_debug("snapshot %llu acknowledged", (unsigned long long)inflight[j]);
		(*acked)++;
	}
	if ((wfail || rfail) && rc == 0) {
		ifl_strlcpy(err, werr, errlen);
		rc = -1;
	}
	if (rfail)
		*reached = 0; /* our spool failed, not the server: no failover */
	if (rc == 0)
		rc = (i < n || n == SPOOL_MAX_ENTRIES) ? 1 : 0;
	else
		sender_drop(sd);
	free(v);
	return rc;
}

int
sender_step(struct sender *sd, struct spool *sp, uint64_t until, char *err, size_t errlen)
{
	int reused = sd->connected, reached, rc;
	size_t acked;

	rc = sender_window(sd, sp, until, &acked, &reached, err, errlen);
	if (rc == -1 && reused && acked == 0 && !sender_stopping(sd)) {
		/*
		 * The kept-open connection may have been closed by the aggregator
		 * meanwhile (its idle_timeout, a restart): that is no reason to back
		 * off.  Try once more on a fresh connection.
		 */
		log_debug("kept-open connection failed (%s); reconnecting", err);
		rc = sender_window(sd, sp, until, &acked, &reached, err, errlen);
	}
	if (rc == -1 && reached && sd->cfg->server.n > 1) {
		/* the server took the connection but failed the delivery: try the next one first */
		sd->server_idx = (sd->server_idx + 1) % sd->cfg->server.n;
	}
	return rc;
}

uint64_t
sender_schedule(struct sender *sd, int rc, uint64_t start_ms, uint64_t now_ms)
{
	uint64_t delay;

	if (rc != -1) {
		if (sd->failures > 0)
			log_info("delivering again after %u failed attempt(s)", sd->failures);
		sd->failures = 0;
		sd->backoff_ms = 0;
		return rc == 0 ? SEND_NEVER : start_ms + SEND_PACE_MS;
	}
	sd->failures++;
	if (sd->backoff_ms == 0)
		sd->backoff_ms = SEND_BACKOFF_MIN_MS;
	else if (sd->backoff_ms < SEND_BACKOFF_MAX_MS / 2)
		sd->backoff_ms *= 2;
	else
		sd->backoff_ms = SEND_BACKOFF_MAX_MS;
	/* full jitter: agents that failed together do not come back together */
	delay = arc4random_uniform((uint32_t)sd->backoff_ms + 1);
	return now_ms + delay;
}

int
sender_failing(const struct sender *sd)
{
	return sd->failures > 0;
}

void
sender_set_spool(struct sender *sd, const char *id)
{
	ifl_strlcpy(sd->hello.spool, id, sizeof(sd->hello.spool));
	/* refusals were of the old spool's numbers */
	sd->solo_upto = 0;
	sd->refused_seq = 0;
	sd->refused = 0;
	sender_drop(sd);
}
