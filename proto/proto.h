/*
 * proto.h: ipcfleet wire protocol v1 (docs/protocol.md).
 *
 * A frame is a 4-byte big-endian payload length and one msgpack map.  This
 * library is pure: no I/O, no globals.  Every received payload goes through
 * frame_validate() before msgpack-c sees it, and is then unpacked whole into
 * a zone whose size is bounded by the payload size.
 */
#ifndef IPCFLEET_PROTO_H
#define IPCFLEET_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "buf.h"
#include "model.h"
#include "mpread.h"

#define PROTO_MAJOR        1
#define PROTO_MINOR        2 /* 1: "unknown" figures; 2: hello carries "spool" */
#define PROTO_HDR_LEN      4
#define PROTO_MAX_FRAME    (16u * 1024 * 1024) /* payload bytes */
#define PROTO_MAX_DEPTH    8
#define PROTO_MAX_ELEMENTS (1u << 22)   /* objects in one frame, all levels */
#define PROTO_MAX_STR      (64u * 1024) /* any single string in a frame */
#define PROTO_SPOOL_ID_HEX 32           /* hello "spool": lowercase hex digits */

enum msg_type {
	MSG_UNKNOWN = 0,
	MSG_HELLO,
	MSG_SNAPSHOT,
	MSG_ACK,
	MSG_QUERY,
	MSG_REPLY,
	MSG_ERROR,
};

/* Error codes carried in "error" frames. */
enum proto_err {
	PERR_BAD_FRAME = 1,   /* framing, msgpack or schema violation */
	PERR_VERSION = 2,     /* unsupported protocol major version */
	PERR_FORBIDDEN = 3,   /* the certificate may not do this */
	PERR_BAD_REQUEST = 4, /* a query with unknown command or bad arguments */
	PERR_NOT_FOUND = 5,   /* unknown host */
	PERR_INTERNAL = 6,    /* storage failed; retry later */
	PERR_BUSY = 7,        /* too many connections; retry later */
	PERR_STATE = 8,       /* message not allowed in this phase */
};
const char *proto_err_name(uint32_t code); /* "bad_frame", ... */

enum peer_role { ROLE_AGENT = 0, ROLE_ADMIN = 1 };

struct msg_hello {
	uint32_t major, minor;
	enum peer_role role;
	char agent[MODEL_NAME_MAX]; /* "ipcfleet-agent 0.1.0" or "ipcfleet 0.1.0" */
	char host[MODEL_NAME_MAX];  /* name the peer believes it has; may be "" */
	/* agents only (required when role == ROLE_AGENT) */
	char os[MODEL_NAME_MAX];
	char os_release[MODEL_NAME_MAX];
	uint32_t page_size;
	int64_t boot_time;
	uint32_t interval; /* seconds between snapshots; 0 = not said */
	int64_t time;      /* the peer's clock when it sent hello; 0 = not said */
	/*
	 * The identity of the agent's spool (1.2): its sequence numbers count
	 * within it.  "" = not said (an agent before 1.2, or a spool made by
	 * one): the legacy identity.
	 */
	char spool[PROTO_SPOOL_ID_HEX + 1];
};

#define QUERY_MAX_ARGS 8
struct msg_query {
	uint64_t id;
	char cmd[MODEL_NAME_MAX];
	size_t nargs;
	struct {
		char name[MODEL_NAME_MAX];
		char value[MODEL_TEXT_MAX];
	} args[QUERY_MAX_ARGS];
};

struct msg_error {
	uint32_t code;
	uint64_t id; /* query id it answers, 0 otherwise */
	char text[MODEL_TEXT_MAX];
};

/* ---- frames (frame.c) ---- */

/*
 * Reads the 4-byte header; the length must be in [1, max] (max <=
 * PROTO_MAX_FRAME).  Returns 0, or -1 with a static reason in *why.
 */
int frame_header(const uint8_t hdr[PROTO_HDR_LEN], uint32_t max, uint32_t *len, const char **why);

/*
 * Walks a payload without allocating: exactly one msgpack object, a map,
 * filling all n bytes; nesting no deeper than PROTO_MAX_DEPTH; every
 * str/bin/ext length and array/map count no larger than the bytes left;
 * no more than PROTO_MAX_ELEMENTS objects; no string longer than
 * PROTO_MAX_STR.  Returns 0, or -1 with a static reason in *why.
 */
int frame_validate(const uint8_t *p, size_t n, const char **why);

/* A cursor (mpread.h) over a payload with this protocol's limits: what frame_validate walks with.
 */
void proto_cursor_init(struct mpr_cur *c, const uint8_t *p, size_t n);
/* The message type a "type" string names; MSG_UNKNOWN for any other value. */
enum msg_type proto_type_of(const struct mpr_val *v);
/*
 * The type of a payload whose first key is "type", without walking the rest
 * (nothing is validated beyond that key); MSG_UNKNOWN otherwise.
 */
enum msg_type proto_frame_type(const uint8_t *p, size_t n);
/*
 * The payload's "type", wherever it is, checked as proto_doc_unpack checks
 * it: 0 with *t when the map has exactly one "type" key and it holds a
 * string; -1 with *why ("missing", "duplicate key", "expected string")
 * otherwise.  A walk of the whole payload, for the decoding thread.
 */
int proto_frame_type_of(const uint8_t *p, size_t n, enum msg_type *t, const char **why);

/* A decoded payload: the zone owns everything root points into. */
struct proto_doc {
	msgpack_zone zone;
	msgpack_object root;
	const uint8_t *raw; /* the payload, in the zone: what root points into */
	size_t rawlen;
	enum msg_type type;
	int live;
};

/*
 * Validates and unpacks one payload (no header).  Returns 0, or -1 with a
 * reason in err.  On success the caller must proto_doc_free().
 */
int proto_doc_unpack(const uint8_t *p, size_t n, struct proto_doc *doc, char *err, size_t errlen);
void proto_doc_free(struct proto_doc *doc);

/* ---- decoding messages (decode.c); all return 0, or -1 with err ---- */
int proto_decode_hello(const struct proto_doc *d, struct msg_hello *h, char *err, size_t errlen);
/* Fills an initialised snapshot (snapshot_init); the caller frees it. */
int proto_decode_snapshot(const struct proto_doc *d, struct snapshot *s, char *err, size_t errlen);
/*
 * The same straight from a payload (no header), validating it in the same
 * pass: no document is built.  0; -1 when the message breaks the schema;
 * -2 when the payload is not a valid frame (err: "bad frame: ...", the
 * reason proto_doc_unpack gives).
 */
int proto_decode_snapshot_frame(const uint8_t *p, size_t n, struct snapshot *s, char *err,
                                size_t errlen);
int proto_decode_ack(const struct proto_doc *d, uint64_t *seq, char *err, size_t errlen);
int proto_decode_query(const struct proto_doc *d, struct msg_query *q, char *err, size_t errlen);
/* *body points into d's zone. */
int proto_decode_reply(const struct proto_doc *d, uint64_t *id, const msgpack_object **body,
                       char *err, size_t errlen);
int proto_decode_error(const struct proto_doc *d, struct msg_error *e, char *err, size_t errlen);

/* ---- encoding (encode.c): each appends one whole frame to out ---- */
int proto_encode_hello(struct buf *out, const struct msg_hello *h);
int proto_encode_snapshot(struct buf *out, const struct snapshot *s);
int proto_encode_ack(struct buf *out, uint64_t seq);
int proto_encode_query(struct buf *out, const struct msg_query *q);
int proto_encode_error(struct buf *out, const struct msg_error *e);

/*
 * Replies carry an arbitrary body.  proto_reply_begin() appends the frame
 * header and {"type":"reply","id":ID,"body": and returns a packer that writes
 * into out; pack exactly one object, then call proto_reply_end().
 */
int proto_reply_begin(struct buf *out, uint64_t id, msgpack_packer *pk, size_t *frame_start);
int proto_reply_end(struct buf *out, size_t frame_start);

/* Lower-level: start a frame (4 placeholder bytes) and finish it (length). */
size_t proto_frame_begin(struct buf *out);
int proto_frame_end(struct buf *out, size_t start);
/* A msgpack_packer that appends to a struct buf. */
void proto_packer_init(msgpack_packer *pk, struct buf *out);
void mp_pack_str(msgpack_packer *pk, const char *s);
void mp_pack_kv_str(msgpack_packer *pk, const char *k, const char *v);
void mp_pack_kv_u64(msgpack_packer *pk, const char *k, uint64_t v);
void mp_pack_kv_i64(msgpack_packer *pk, const char *k, int64_t v);

#endif
