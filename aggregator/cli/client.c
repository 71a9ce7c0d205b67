/*
 * client.c: queries over one TLS connection (cli.h): hello once, then any
 * number of queries, each answered by one reply.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tls.h"
#include "util.h"

#define CLI_REPLY_MAX PROTO_MAX_FRAME

int
cli_open(const struct cli_config *c, struct cli_conn *cc, char *err, size_t errlen)
{
	struct tls_paths tp = {.cert = c->cert, .key = c->key, .ca = c->ca};
	struct msg_hello h;
	struct buf out;
	int rc;

	memset(cc, 0, sizeof(*cc));
	cc->cl.fd = -1;
	ifl_strlcpy(cc->server, c->server, sizeof(cc->server));
	if ((cc->ctx = tls_client_ctx(&tp, err, errlen)) == NULL)
		return -1;
	if (client_connect(&cc->cl, cc->ctx, c->server, (int)c->timeout * 1000, err, errlen) ==
	    -1) {
		SSL_CTX_free(cc->ctx);
		cc->ctx = NULL;
		return -1;
	}
	memset(&h, 0, sizeof(h));
	h.major = PROTO_MAJOR;
	h.minor = PROTO_MINOR;
	h.role = ROLE_ADMIN;
	snprintf(h.agent, sizeof(h.agent), "ipcfleet %s", IPCFLEET_VERSION);
	buf_init(&out, 4096);
	/* no answer to a good hello: a refusal comes back as the first query's reply */
	if (proto_encode_hello(&out, &h) == -1) {
		snprintf(err, errlen, "cannot encode the hello");
		rc = -1;
	} else
		rc = client_write(&cc->cl, out.data, out.len, err, errlen);
	buf_free(&out);
	if (rc == -1)
		cli_close(cc);
	return rc;
}

int
cli_ask(struct cli_conn *cc, const struct msg_query *q, struct proto_doc *doc,
        const msgpack_object **body, char *err, size_t errlen)
{
	struct buf out, in;
	uint64_t id;
	char why[512];
	int rc = -1;

	memset(doc, 0, sizeof(*doc));
	buf_init(&out, 64u * 1024);
	buf_init(&in, CLI_REPLY_MAX);
	if (proto_encode_query(&out, q) == -1) {
		snprintf(err, errlen, "cannot encode the query");
		goto done;
	}
	if (client_write(&cc->cl, out.data, out.len, err, errlen) == -1)
		goto done;
	if (client_read_frame(&cc->cl, CLI_REPLY_MAX, &in, err, errlen) == -1)
		goto done;
	if (proto_doc_unpack((const uint8_t *)in.data, in.len, doc, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: bad reply: %s", cc->server, why);
		goto done;
	}
	if (doc->type == MSG_ERROR) {
		struct msg_error e;

		if (proto_decode_error(doc, &e, why, sizeof(why)) == -1)
			snprintf(err, errlen, "%s: bad error reply: %s", cc->server, why);
		else if (e.code == PERR_NOT_FOUND || e.code == PERR_BAD_REQUEST)
			snprintf(err, errlen, "%s", e.text);
		else
			snprintf(err, errlen, "%s refused: %s: %s", cc->server,
			         proto_err_name(e.code), e.text);
		proto_doc_free(doc);
		goto done;
	}
	if (doc->type != MSG_REPLY || proto_decode_reply(doc, &id, body, why, sizeof(why)) == -1 ||
	    id != q->id) {
		snprintf(err, errlen, "%s: unexpected answer to the query", cc->server);
		proto_doc_free(doc);
		goto done;
	}
	rc = 0;
done:
	buf_free(&out);
	buf_free(&in);
	return rc;
}

void
cli_close(struct cli_conn *cc)
{
	if (cc->ctx != NULL) {
		client_close(&cc->cl);
		SSL_CTX_free(cc->ctx);
	}
	memset(cc, 0, sizeof(*cc));
	cc->cl.fd = -1;
}

int
cli_query(const struct cli_config *c, const struct msg_query *q, struct proto_doc *doc,
          const msgpack_object **body, char *err, size_t errlen)
{
	struct cli_conn cc;
	int rc;

	memset(doc, 0, sizeof(*doc));
	if (cli_open(c, &cc, err, errlen) == -1)
		return -1;
	rc = cli_ask(&cc, q, doc, body, err, errlen);
	cli_close(&cc);
	return rc;
}
