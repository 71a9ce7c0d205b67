/*
 * frame.c: frame headers, the allocation-free payload validator (the
 * cursor of mpread.h with the protocol's limits), and unpacking a validated
 * payload into a zone (proto.h, docs/protocol.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proto.h"

const char *
proto_err_name(uint32_t code)
{
	switch (code) {
	case PERR_BAD_FRAME:
		return "bad_frame";
	case PERR_VERSION:
		return "version";
	case PERR_FORBIDDEN:
		return "forbidden";
	case PERR_BAD_REQUEST:
		return "bad_request";
	case PERR_NOT_FOUND:
		return "not_found";
	case PERR_INTERNAL:
		return "internal";
	case PERR_BUSY:
		return "busy";
	case PERR_STATE:
		return "state";
	}
	return "unknown";
}

/*
 * *len is set to the declared length even when it is refused, so that the
 * caller can log it.
 */
int
frame_header(const uint8_t hdr[PROTO_HDR_LEN], uint32_t max, uint32_t *len, const char **why)
{
	uint32_t n;

	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 |
	    (uint32_t)hdr[3];
	*len = n;
	if (max > PROTO_MAX_FRAME) {
		*why = "frame size cap above the protocol maximum";
		return -1;
	}
	if (n == 0) {
		*why = "empty frame";
		return -1;
	}
	if (n > max) {
		*why = "frame too large";
		return -1;
	}
	return 0;
}

void
proto_cursor_init(struct mpr_cur *c, const uint8_t *p, size_t n)
{
	mpr_cur_init(c, p, n);
	c->max_objects = PROTO_MAX_ELEMENTS;
	c->max_str = PROTO_MAX_STR;
	c->max_depth = PROTO_MAX_DEPTH;
	c->root_map = 1;
}

/* The payload walked whole by the cursor, which checks every object it reads. */
int
frame_validate(const uint8_t *p, size_t n, const char **why)
{
	struct mpr_cur c;
	struct mpr_val root;

	if (n == 0) {
		*why = "empty payload";
		return -1;
	}
	if (n > PROTO_MAX_FRAME) {
		*why = "payload too large";
		return -1;
	}
	proto_cursor_init(&c, p, n);
	if (mpr_next(&c, &root) == -1 || mpr_skip(&c, &root) == -1 || mpr_end(&c) == -1) {
		*why = c.why;
		return -1;
	}
	return 0;
}

static void frame_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
frame_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct {
	const char *name;
	enum msg_type type;
} frame_types[] = {
    {"hello", MSG_HELLO}, {"snapshot", MSG_SNAPSHOT}, {"ack", MSG_ACK},
    {"query", MSG_QUERY}, {"reply", MSG_REPLY},       {"error", MSG_ERROR},
};

enum msg_type
proto_type_of(const struct mpr_val *v)
{
	size_t i;

	for (i = 0; i < sizeof(frame_types) / sizeof(frame_types[0]); i++)
		if (mpr_val_streq(v, frame_types[i].name))
			return frame_types[i].type;
	return MSG_UNKNOWN;
}

/*
 * Only the first key is looked at: every encoder writes "type" first, and a
 * peek must not walk the frame (which would be a pass of its own).
 */
enum msg_type
proto_frame_type(const uint8_t *p, size_t n)
{
	struct mpr_cur c;
	struct mpr_val m, k, v;

	proto_cursor_init(&c, p, n);
	if (mpr_next(&c, &m) == -1 || m.kind != MPR_MAP || m.n.u == 0 || mpr_next(&c, &k) == -1 ||
	    !mpr_val_streq(&k, "type") || mpr_next(&c, &v) == -1)
		return MSG_UNKNOWN;
	return proto_type_of(&v);
}

int
proto_frame_type_of(const uint8_t *p, size_t n, enum msg_type *t, const char **why)
{
	struct mpr_cur c;
	struct mpr_val m, k, v;
	uint64_t i;
	int seen = 0, str = 0;

	*t = MSG_UNKNOWN;
	*why = "msgpack error";
	proto_cursor_init(&c, p, n);
	if (mpr_next(&c, &m) == -1 || m.kind != MPR_MAP)
		return -1;
	for (i = 0; i < m.n.u; i++) {
		if (mpr_next(&c, &k) == -1 || mpr_next(&c, &v) == -1)
			return -1;
		if (mpr_val_streq(&k, "type")) {
			seen++;
			str = v.kind == MPR_STR;
			if (str && seen == 1)
				*t = proto_type_of(&v);
		}
		if (mpr_skip(&c, &v) == -1)
			return -1;
	}
	/* as proto_doc_unpack's mpr_get_unique and its string check say */
	*why = seen == 0 ? "missing" : seen > 1 ? "duplicate key" : !str ? "expected string" : NULL;
	return *why == NULL ? 0 : -1;
}

/*
 * The payload is copied into the zone before unpacking: msgpack_unpack()
 * leaves str/bin objects pointing into its input, and the caller's buffer
 * (an evbuffer) may go away before the document does.  The zone then holds
 * n bytes plus at most PROTO_MAX_ELEMENTS msgpack_objects.
 */
int
proto_doc_unpack(const uint8_t *p, size_t n, struct proto_doc *doc, char *err, size_t errlen)
{
	const msgpack_object *t;
	msgpack_unpack_return r;
	struct mpr_val tv;
	const char *why;
	char *copy;
	size_t off = 0;
	int rc;

	memset(doc, 0, sizeof(*doc));
	if (frame_validate(p, n, &why) == -1) {
		frame_seterr(err, errlen, "bad frame: %s", why);
		return -1;
	}
	if (!msgpack_zone_init(&doc->zone, MSGPACK_ZONE_CHUNK_SIZE)) {
		frame_seterr(err, errlen, "out of memory");
		return -1;
	}
	if ((copy = msgpack_zone_malloc_no_align(&doc->zone, n)) == NULL) {
		msgpack_zone_destroy(&doc->zone);
		memset(doc, 0, sizeof(*doc));
		frame_seterr(err, errlen, "out of memory");
		return -1;
	}
	memcpy(copy, p, n);
	r = msgpack_unpack(copy, n, &off, &doc->zone, &doc->root);
	if (r != MSGPACK_UNPACK_SUCCESS || off != n || doc->root.type != MSGPACK_OBJECT_MAP) {
		msgpack_zone_destroy(&doc->zone);
		memset(doc, 0, sizeof(*doc));
		frame_seterr(err, errlen, "bad frame: %s",
		             r == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory" : "msgpack error");
		return -1;
	}
	doc->live = 1;
	doc->raw = (const uint8_t *)copy;
	doc->rawlen = n;

	rc = mpr_get_unique(&doc->root, "type", &t);
	if (rc != 0 || t->type != MSGPACK_OBJECT_STR) {
		frame_seterr(err, errlen, "bad frame: type: %s",
		             rc == 1    ? "missing"
		             : rc == -1 ? "duplicate key"
		                        : "expected string");
		proto_doc_free(doc);
		return -1;
	}
	mpr_val_of(t, &tv);
	doc->type = proto_type_of(&tv);
	return 0;
}

/* Safe on a zeroed or already freed document. */
void
proto_doc_free(struct proto_doc *doc)
{
	if (doc->live)
		msgpack_zone_destroy(&doc->zone);
	memset(doc, 0, sizeof(*doc));
}
