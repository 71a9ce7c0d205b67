/*
 * fuzz_frame.c: the receive path of every frame, as the aggregator, the
 * agent and the CLI run it.
 *
 * The input is a stream of frames: a 4-byte header, then the payload.  When
 * the header is valid and that many bytes follow, exactly that payload is
 * taken and the next frame follows; otherwise the rest of the input is one
 * payload (so the fuzzer need not get lengths right to reach the decoders).
 *
 * Each payload goes through proto_doc_unpack() and then every decoder: the
 * one matching the document's type, and the others, which must refuse it.
 * Decoded messages are encoded again and the new frame must decode to the
 * same values (a round-trip property; a mismatch abort()s).  A decoded
 * snapshot is also taken through what a query does with it: usage, the
 * host view in a reply frame, and that reply shown as JSON and as text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "model.h"
#include "proto.h"
#include "view.h"

/* Room for any frame the encoders may build. */
#define FF_BUF_MAX (PROTO_HDR_LEN + PROTO_MAX_FRAME)

/* Where view_text_host() writes: nowhere, but through real stdio. */
static FILE *
ff_devnull(void)
{
	static FILE *fp;

	if (fp == NULL && (fp = fopen("/dev/null", "w")) == NULL)
		FUZZ_FAIL("cannot open /dev/null");
	return fp;
}

/* A decoder's result: 0 or -1, and -1 always comes with a message. */
static void
ff_check_rc(int rc, const char *err, const char *what)
{
	if (rc != 0 && rc != -1)
		FUZZ_FAIL("%s returned %d", what, rc);
	if (rc == -1 && err[0] == '\0')
		FUZZ_FAIL("%s failed without a message", what);
}

/*
 * The frame an encoder appended to b (which holds nothing else) must have a
 * valid header matching its size and unpack as type t.  Fills doc.
 */
static void
ff_reparse(const struct buf *b, enum msg_type t, struct proto_doc *doc, const char *what)
{
	char err[256] = "";
	const char *why = NULL;
	uint32_t len;

	if (buf_failed(b) || b->len < PROTO_HDR_LEN)
		FUZZ_FAIL("%s: encoder left no frame", what);
	if (frame_header((const uint8_t *)b->data, PROTO_MAX_FRAME, &len, &why) == -1)
		FUZZ_FAIL("%s: re-encoded header refused: %s", what, why);
	if (len != b->len - PROTO_HDR_LEN)
		FUZZ_FAIL("%s: header says %u bytes, frame has %zu", what, len,
		          b->len - PROTO_HDR_LEN);
	if (proto_doc_unpack((const uint8_t *)b->data + PROTO_HDR_LEN, len, doc, err,
	                     sizeof(err)) == -1)
		FUZZ_FAIL("%s: re-encoded frame refused: %s", what, err);
	if (doc->type != t)
		FUZZ_FAIL("%s: re-encoded frame has type %d, not %d", what, (int)doc->type, (int)t);
}

static void
ff_hello(const struct msg_hello *h)
{
	struct proto_doc doc;
	struct msg_hello h2;
	struct buf b;
	char err[256] = "";

	buf_init(&b, FF_BUF_MAX);
	if (proto_encode_hello(&b, h) == -1)
		FUZZ_FAIL("hello: a decoded hello cannot be encoded");
	ff_reparse(&b, MSG_HELLO, &doc, "hello");
	if (proto_decode_hello(&doc, &h2, err, sizeof(err)) == -1)
		FUZZ_FAIL("hello: re-encoded hello refused: %s", err);
	FUZZ_CHECK(h2.major == h->major && h2.minor == h->minor);
	FUZZ_CHECK(h2.role == h->role);
	FUZZ_CHECK(strcmp(h2.agent, h->agent) == 0);
	FUZZ_CHECK(strcmp(h2.host, h->host) == 0);
	FUZZ_CHECK(strcmp(h2.os, h->os) == 0);
	FUZZ_CHECK(strcmp(h2.os_release, h->os_release) == 0);
	FUZZ_CHECK(h2.page_size == h->page_size);
	FUZZ_CHECK(h2.boot_time == h->boot_time);
	FUZZ_CHECK(h2.interval == h->interval);
	proto_doc_free(&doc);
	buf_free(&b);
}

static void
ff_limits_eq(const struct ipc_limits *a, const struct ipc_limits *b)
{
	size_t i;

	FUZZ_CHECK(a->n == b->n);
	for (i = 0; i < a->n; i++) {
		FUZZ_CHECK(strcmp(a->v[i].name, b->v[i].name) == 0);
		FUZZ_CHECK(a->v[i].value == b->v[i].value);
	}
}

static void
ff_object_eq(const struct ipc_object *a, const struct ipc_object *b)
{
	FUZZ_CHECK(a->type == b->type && a->id == b->id && a->key == b->key);
	FUZZ_CHECK(a->mode == b->mode && a->uid == b->uid && a->gid == b->gid);
	FUZZ_CHECK(a->cuid == b->cuid && a->cgid == b->cgid && a->scope == b->scope);
	FUZZ_CHECK(a->size == b->size && a->nattch == b->nattch);
	FUZZ_CHECK(a->cpid == b->cpid && a->lpid == b->lpid);
	FUZZ_CHECK(a->atime == b->atime && a->dtime == b->dtime);
	FUZZ_CHECK(a->rss == b->rss && a->swap == b->swap);
	FUZZ_CHECK(a->nsems == b->nsems && a->otime == b->otime);
	FUZZ_CHECK(a->cbytes == b->cbytes && a->qnum == b->qnum && a->qbytes == b->qbytes);
	FUZZ_CHECK(a->lspid == b->lspid && a->lrpid == b->lrpid);
	FUZZ_CHECK(a->stime == b->stime && a->rtime == b->rtime && a->ctime == b->ctime);
	FUZZ_CHECK(strcmp(a->owner, b->owner) == 0);
}

static void
ff_finding_eq(const struct finding *a, const struct finding *b)
{
	FUZZ_CHECK(a->kind == b->kind && a->severity == b->severity);
	FUZZ_CHECK(strcmp(a->limit, b->limit) == 0 && strcmp(a->scope, b->scope) == 0);
	FUZZ_CHECK(strcmp(a->message, b->message) == 0);
	FUZZ_CHECK(a->has_object == b->has_object);
	if (a->has_object) {
		FUZZ_CHECK(a->otype == b->otype && a->oid == b->oid);
		FUZZ_CHECK(a->age == b->age && a->uid == b->uid);
		FUZZ_CHECK(strcmp(a->command, b->command) == 0);
	}
}

static void
ff_snapshot_roundtrip(const struct snapshot *s)
{
	struct proto_doc doc;
	struct snapshot s2;
	struct buf b;
	char err[256] = "";
	size_t i;

	buf_init(&b, FF_BUF_MAX);
	if (proto_encode_snapshot(&b, s) == -1)
		FUZZ_FAIL("snapshot: a decoded snapshot cannot be encoded");
	ff_reparse(&b, MSG_SNAPSHOT, &doc, "snapshot");
	if (snapshot_init(&s2) == -1)
		FUZZ_FAIL("out of memory");
	if (proto_decode_snapshot(&doc, &s2, err, sizeof(err)) == -1)
		FUZZ_FAIL("snapshot: re-encoded snapshot refused: %s", err);
	FUZZ_CHECK(s2.seq == s->seq && s2.taken == s->taken && s2.dropped == s->dropped);
	ff_limits_eq(&s2.limits, &s->limits);
	FUZZ_CHECK(s2.nscopes == s->nscopes);
	for (i = 0; i < s->nscopes; i++) {
		const struct ipc_scope *a = &s->scopes[i], *c = &s2.scopes[i];

		FUZZ_CHECK(strcmp(a->id, c->id) == 0 && strcmp(a->name, c->name) == 0);
		FUZZ_CHECK(a->kind == c->kind && a->own_limits == c->own_limits);
		FUZZ_CHECK(a->iso[0] == c->iso[0] && a->iso[1] == c->iso[1] &&
		           a->iso[2] == c->iso[2]);
		ff_limits_eq(&a->limits, &c->limits);
	}
	FUZZ_CHECK(s2.nobjects == s->nobjects);
	for (i = 0; i < s->nobjects; i++)
		ff_object_eq(&s->objects[i], &s2.objects[i]);
	FUZZ_CHECK(s2.nfindings == s->nfindings);
	for (i = 0; i < s->nfindings; i++)
		ff_finding_eq(&s->findings[i], &s2.findings[i]);
	snapshot_free(&s2);
	proto_doc_free(&doc);
	buf_free(&b);
}

/*
 * What `ipcfleet host NAME` does with a stored snapshot: the aggregator
 * packs the host view into a reply, the CLI decodes the reply and shows the
 * body as JSON and as text.  page_size comes from the agent's hello, which
 * only accepts powers of two from 512.
 */
static void
ff_snapshot_view(struct snapshot *s)
{
	static const struct view_extra x = {
	    .host = "fuzzhost", .status = "ok", .last_seen = 1764165600};
	const msgpack_object *body;
	struct proto_doc doc;
	msgpack_packer pk;
	struct usage u;
	struct buf b, j;
	char err[256] = "";
	uint64_t id;
	size_t start, i;

	s->page_size = 4096;
	model_usage(s, -1, &u);
	FUZZ_CHECK(u.n <= USAGE_MAX);
	for (i = 0; i < s->nscopes; i++) {
		model_usage(s, (int)i, &u);
		FUZZ_CHECK(u.n <= USAGE_MAX);
	}

	buf_init(&b, FF_BUF_MAX);
	if (proto_reply_begin(&b, 7, &pk, &start) == -1)
		FUZZ_FAIL("reply: cannot begin");
	view_pack_host(&pk, s, &x);
	if (proto_reply_end(&b, start) == -1) {
		/* a view too large for one frame is refused by the encoder: fine */
		buf_free(&b);
		return;
	}
	ff_reparse(&b, MSG_REPLY, &doc, "view reply");
	if (proto_decode_reply(&doc, &id, &body, err, sizeof(err)) == -1)
		FUZZ_FAIL("view reply refused: %s", err);
	FUZZ_CHECK(id == 7 && body != NULL);
	buf_init(&j, FF_BUF_MAX);
	if (mp_to_json(body, &j, 1) == -1)
		FUZZ_FAIL("the host view cannot be shown as JSON");
	buf_free(&j);
	if (view_text_host(body, ff_devnull()) == -1)
		FUZZ_FAIL("the host view cannot be shown as text");
	proto_doc_free(&doc);
	buf_free(&b);
}

static void
ff_query(const struct msg_query *q)
{
	struct proto_doc doc;
	struct msg_query q2;
	struct buf b;
	char err[256] = "";
	size_t i;

	buf_init(&b, FF_BUF_MAX);
	if (proto_encode_query(&b, q) == -1)
		FUZZ_FAIL("query: a decoded query cannot be encoded");
	ff_reparse(&b, MSG_QUERY, &doc, "query");
	if (proto_decode_query(&doc, &q2, err, sizeof(err)) == -1)
		FUZZ_FAIL("query: re-encoded query refused: %s", err);
	FUZZ_CHECK(q2.id == q->id && strcmp(q2.cmd, q->cmd) == 0);
	FUZZ_CHECK(q2.nargs == q->nargs);
	for (i = 0; i < q->nargs; i++) {
		FUZZ_CHECK(strcmp(q2.args[i].name, q->args[i].name) == 0);
		FUZZ_CHECK(strcmp(q2.args[i].value, q->args[i].value) == 0);
	}
	proto_doc_free(&doc);
	buf_free(&b);
}

static void
ff_error(const struct msg_error *e)
{
	struct proto_doc doc;
	struct msg_error e2;
	struct buf b;
	char err[256] = "";

	buf_init(&b, FF_BUF_MAX);
	if (proto_encode_error(&b, e) == -1)
		FUZZ_FAIL("error: a decoded error cannot be encoded");
	ff_reparse(&b, MSG_ERROR, &doc, "error");
	if (proto_decode_error(&doc, &e2, err, sizeof(err)) == -1)
		FUZZ_FAIL("error: re-encoded error refused: %s", err);
	FUZZ_CHECK(e2.code == e->code && e2.id == e->id && strcmp(e2.text, e->text) == 0);
	FUZZ_CHECK(proto_err_name(e->code) != NULL);
	proto_doc_free(&doc);
	buf_free(&b);
}

static void
ff_ack(uint64_t seq)
{
	struct proto_doc doc;
	struct buf b;
	char err[256] = "";
	uint64_t seq2;

	buf_init(&b, FF_BUF_MAX);
	if (proto_encode_ack(&b, seq) == -1)
		FUZZ_FAIL("ack: a decoded ack cannot be encoded");
	ff_reparse(&b, MSG_ACK, &doc, "ack");
	if (proto_decode_ack(&doc, &seq2, err, sizeof(err)) == -1)
		FUZZ_FAIL("ack: re-encoded ack refused: %s", err);
	FUZZ_CHECK(seq2 == seq);
	proto_doc_free(&doc);
	buf_free(&b);
}

/* Packs o into a fresh buffer: the canonical bytes of an object. */
static void
ff_pack(const msgpack_object *o, struct buf *b)
{
	msgpack_packer pk;

	buf_init(b, FF_BUF_MAX);
	proto_packer_init(&pk, b);
	msgpack_pack_object(&pk, *o);
	if (buf_failed(b))
		FUZZ_FAIL("cannot pack an object");
}

/* A reply's body, sent again, must arrive as the same object. */
static void
ff_reply(uint64_t id, const msgpack_object *body)
{
	const msgpack_object *body2;
	struct proto_doc doc;
	msgpack_packer pk;
	struct buf b, p1, p2;
	char err[256] = "";
	uint64_t id2;
	size_t start;

	buf_init(&b, FF_BUF_MAX);
	if (proto_reply_begin(&b, id, &pk, &start) == -1)
		FUZZ_FAIL("reply: cannot begin");
	msgpack_pack_object(&pk, *body);
	if (proto_reply_end(&b, start) == -1)
		FUZZ_FAIL("reply: a decoded reply cannot be encoded");
	ff_reparse(&b, MSG_REPLY, &doc, "reply");
	if (proto_decode_reply(&doc, &id2, &body2, err, sizeof(err)) == -1)
		FUZZ_FAIL("reply: re-encoded reply refused: %s", err);
	FUZZ_CHECK(id2 == id);
	/* compared as canonical bytes: NaN == NaN here, unlike msgpack_object_equal */
	ff_pack(body, &p1);
	ff_pack(body2, &p2);
	FUZZ_CHECK(p1.len == p2.len && memcmp(p1.data, p2.data, p1.len) == 0);
	buf_free(&p1);
	buf_free(&p2);
	proto_doc_free(&doc);
	buf_free(&b);
}

/* One payload through proto_doc_unpack() and all decoders. */
static void
ff_payload(const uint8_t *p, size_t n)
{
	struct proto_doc doc;
	struct msg_hello h;
	struct snapshot s;
	struct msg_query q;
	struct msg_error e;
	const msgpack_object *body;
	const char *why = NULL;
	char err[256] = "";
	uint64_t seq, id;
	int valid, rc;

	valid = frame_validate(p, n, &why) == 0;
	FUZZ_CHECK(valid || why != NULL);
	rc = proto_doc_unpack(p, n, &doc, err, sizeof(err));
	ff_check_rc(rc, err, "proto_doc_unpack");
	if (rc == -1)
		fuzz_note("proto_doc_unpack", err);
	if (rc == -1) {
		FUZZ_CHECK(!doc.live);
		return;
	}
	/* nothing the validator refuses may reach msgpack-c */
	FUZZ_CHECK(valid);
	FUZZ_CHECK(doc.live && doc.root.type == MSGPACK_OBJECT_MAP);

	err[0] = '\0';
	rc = proto_decode_hello(&doc, &h, err, sizeof(err));
	ff_check_rc(rc, err, "proto_decode_hello");
	if (rc == -1 && doc.type == MSG_HELLO)
		fuzz_note("proto_decode_hello", err);
	FUZZ_CHECK(rc == -1 || doc.type == MSG_HELLO);
	if (rc == 0)
		ff_hello(&h);

	if (snapshot_init(&s) == -1)
		FUZZ_FAIL("out of memory");
	err[0] = '\0';
	rc = proto_decode_snapshot(&doc, &s, err, sizeof(err));
	ff_check_rc(rc, err, "proto_decode_snapshot");
	if (rc == -1 && doc.type == MSG_SNAPSHOT)
		fuzz_note("proto_decode_snapshot", err);
	FUZZ_CHECK(rc == -1 || doc.type == MSG_SNAPSHOT);
	if (rc == 0) {
		FUZZ_CHECK(s.nscopes >= 1 && s.nscopes <= MODEL_MAX_SCOPES);
		FUZZ_CHECK(s.nobjects <= MODEL_MAX_OBJECTS);
		ff_snapshot_roundtrip(&s);
		ff_snapshot_view(&s);
	}
	snapshot_free(&s);

	err[0] = '\0';
	rc = proto_decode_ack(&doc, &seq, err, sizeof(err));
	ff_check_rc(rc, err, "proto_decode_ack");
	if (rc == -1 && doc.type == MSG_ACK)
		fuzz_note("proto_decode_ack", err);
	FUZZ_CHECK(rc == -1 || doc.type == MSG_ACK);
	if (rc == 0)
		ff_ack(seq);

	err[0] = '\0';
	rc = proto_decode_query(&doc, &q, err, sizeof(err));
	ff_check_rc(rc, err, "proto_decode_query");
	if (rc == -1 && doc.type == MSG_QUERY)
		fuzz_note("proto_decode_query", err);
	FUZZ_CHECK(rc == -1 || doc.type == MSG_QUERY);
	if (rc == 0) {
		FUZZ_CHECK(q.nargs <= QUERY_MAX_ARGS);
		ff_query(&q);
	}

	err[0] = '\0';
	rc = proto_decode_reply(&doc, &id, &body, err, sizeof(err));
	ff_check_rc(rc, err, "proto_decode_reply");
	if (rc == -1 && doc.type == MSG_REPLY)
		fuzz_note("proto_decode_reply", err);
	FUZZ_CHECK(rc == -1 || doc.type == MSG_REPLY);
	if (rc == 0) {
		FUZZ_CHECK(body != NULL);
		ff_reply(id, body);
	}

	err[0] = '\0';
	rc = proto_decode_error(&doc, &e, err, sizeof(err));
	ff_check_rc(rc, err, "proto_decode_error");
	if (rc == -1 && doc.type == MSG_ERROR)
		fuzz_note("proto_decode_error", err);
	FUZZ_CHECK(rc == -1 || doc.type == MSG_ERROR);
	if (rc == 0)
		ff_error(&e);

	proto_doc_free(&doc);
	FUZZ_CHECK(!doc.live);
	proto_doc_free(&doc); /* documented as safe on a freed document */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0;

	while (size - pos >= PROTO_HDR_LEN) {
		const uint8_t *h = data + pos;
		const char *why = NULL;
		uint32_t len = 0, want;
		size_t n;
		int rc;

		want = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
		rc = frame_header(h, PROTO_MAX_FRAME, &len, &why);
		FUZZ_CHECK(len == want);
		FUZZ_CHECK((rc == 0) == (want >= 1 && want <= PROTO_MAX_FRAME));
		FUZZ_CHECK(rc == 0 || why != NULL);
		/* a cap above the protocol's is itself refused */
		FUZZ_CHECK(frame_header(h, PROTO_MAX_FRAME + 1, &len, &why) == -1);
		pos += PROTO_HDR_LEN;
		n = rc == 0 && len <= size - pos ? len : size - pos;
		ff_payload(data + pos, n);
		pos += n;
	}
	return 0;
}
