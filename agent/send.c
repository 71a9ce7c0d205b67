/*
 * send.c: delivery of spooled snapshots to the aggregator (agent.h).
 *
 * The connection is kept open between intervals.  Each spooled frame is sent
 * in sequence order and removed from the spool only when its ack arrives;
 * an error frame or a broken connection leaves it spooled for the next try.
 * Servers in the `server` list are tried in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "log.h"
#include "proto.h"
#include "util.h"

#define REPLY_MAX (64u * 1024) /* acks and errors are small */

int
sender_init(struct sender *sd, const struct agent_config *cfg, SSL_CTX *ctx,
	    const struct buf *hello)
{
	memset(sd, 0, sizeof(*sd));
	sd->cfg = cfg;
	sd->ctx = ctx;
	sd->cl.fd = -1;
	buf_init(&sd->hello, hello->len);
	return buf_append(&sd->hello, hello->data, hello->len);
}

void
sender_free(struct sender *sd)
{
	if (sd->connected)
		client_close(&sd->cl);
	sd->connected = 0;
	buf_free(&sd->hello);
}

static void
sender_drop(struct sender *sd)
{
	if (sd->connected)
		client_close(&sd->cl);
	sd->connected = 0;
}

/* Connects to the first server that answers, starting with the last good one. */
static int
sender_connect(struct sender *sd, char *err, size_t errlen)
{
	const struct cfg_list *srv = &sd->cfg->server;
	char why[512];
	size_t i;

	if (sd->connected)
		return 0;
	err[0] = '\0';
	for (i = 0; i < srv->n; i++) {
		size_t k = (sd->server_idx + i) % srv->n;

		if (client_connect(&sd->cl, sd->ctx, srv->v[k], (int)sd->cfg->timeout * 1000, why,
				   sizeof(why)) == -1) {
			log_debug("%s", why);
			if (err[0] == '\0' || i == 0)
				ifl_strlcpy(err, why, errlen);
			continue;
		}
		if (client_write(&sd->cl, sd->hello.data, sd->hello.len, why, sizeof(why)) == -1) {
			client_close(&sd->cl);
			ifl_strlcpy(err, why, errlen);
			continue;
		}
		if (k != sd->server_idx)
			log_info("failed over to %s", srv->v[k]);
		sd->server_idx = k;
		sd->connected = 1;
		return 0;
	}
	return -1;
}

/* Reads the aggregator's answer to snapshot seq: 0 on the matching ack. */
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
		else if (acked != seq)
			snprintf(err, errlen, "%s: ack for %llu while waiting for %llu",
				 sd->cl.server, (unsigned long long)acked, (unsigned long long)seq);
		else
			rc = 0;
	} else if (d.type == MSG_ERROR) {
		struct msg_error e;

		if (proto_decode_error(&d, &e, why, sizeof(why)) == -1)
			snprintf(err, errlen, "%s: bad error frame: %s", sd->cl.server, why);
		else
			snprintf(err, errlen, "%s refused snapshot %llu: %s: %s", sd->cl.server,
				 (unsigned long long)seq, proto_err_name(e.code), e.text);
	} else
		snprintf(err, errlen, "%s: unexpected message instead of an ack", sd->cl.server);
	proto_doc_free(&d);
out:
	buf_free(&in);
	return rc;
}

int
sender_flush(struct sender *sd, struct spool *sp, char *err, size_t errlen)
{
	struct spool_entry *v;
	struct buf frame;
	size_t n, i;
	int rc = 0;

	if (spool_list(sp, &v, &n, err, errlen) == -1)
		return -1;
	if (n == 0) {
		free(v);
		return 0;
	}
	if (sender_connect(sd, err, errlen) == -1) {
		free(v);
		return -1;
	}
	buf_init(&frame, PROTO_HDR_LEN + PROTO_MAX_FRAME);
	for (i = 0; i < n; i++) {
		if (spool_get(sp, v[i].seq, &frame, err, errlen) == -1) {
			log_warnx("%s", err); /* set aside; the rest still goes */
			continue;
		}
		if (client_write(&sd->cl, frame.data, frame.len, err, errlen) == -1 ||
		    sender_await_ack(sd, v[i].seq, err, errlen) == -1) {
			sender_drop(sd);
			rc = -1;
			break;
		}
		if (spool_remove(sp, v[i].seq) == -1)
			log_warn("spool: cannot remove acknowledged snapshot %llu",
				 (unsigned long long)v[i].seq);
		log_debug("snapshot %llu acknowledged", (unsigned long long)v[i].seq);
	}
	buf_free(&frame);
	free(v);
	return rc;
}
