/*
 * decode.c: checking messages against docs/protocol.md and copying them
 * into C structs (proto.h): the checks of values every decoder makes, and
 * the small messages (hello, ack, query, reply, error), unpacked into a
 * document (proto_doc) and read by key.  The snapshot has a file of its own
 * (decode_snapshot.c).
 *
 * Errors name the field: "snapshot: objects[3].nsems: expected unsigned
 * integer".  Rules beyond the field tables (the spec is silent on them):
 * a key present twice in one map is an error; strings copied into fixed-size
 * fields must fit (never truncated) and must be well-formed UTF-8 without
 * control characters (C0, DEL, C1) or invisible formatting characters (bidi
 * controls, zero-width characters, U+2028/U+2029: text_char_len() in
 * text.h), so that nothing a peer says can disguise itself in a log, a
 * terminal, a notify_command's environment or JSON; limits maps may not
 * repeat a name.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "proto.h"
#include "text.h"
#include "util.h"

int
dec_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- values: the checks every decoder makes ---- */

/* Unsigned integer in [0, max]. */
int
dec_uint_v(const struct mpr_val *o, const char *where, const char *k, uint64_t max, uint64_t *v,
           char *err, size_t errlen)
{
	if (o->kind != MPR_UINT)
		return dec_err(err, errlen, "%s%s: expected unsigned integer", where, k);
	if (o->n.u > max)
		return dec_err(err, errlen, "%s%s: out of range", where, k);
	*v = o->n.u;
	return 0;
}

int
dec_u32_v(const struct mpr_val *o, const char *where, const char *k, uint32_t *v, char *err,
          size_t errlen)
{
	uint64_t u = 0;

	if (dec_uint_v(o, where, k, UINT32_MAX, &u, err, errlen) == -1)
		return -1;
	*v = (uint32_t)u;
	return 0;
}

/* Signed integer that fits int64_t. */
int
dec_i64_v(const struct mpr_val *o, const char *where, const char *k, int64_t *v, char *err,
          size_t errlen)
{
	if (o->kind == MPR_INT) {
		*v = o->n.i;
		return 0;
	}
	if (o->kind != MPR_UINT)
		return dec_err(err, errlen, "%s%s: expected integer", where, k);
	if (o->n.u > INT64_MAX)
		return dec_err(err, errlen, "%s%s: out of range", where, k);
	*v = (int64_t)o->n.u;
	return 0;
}

/* Copies string o into out[len]; names the field as where+k on error. */
int
dec_str_v(const struct mpr_val *o, const char *where, const char *k, char *out, size_t len,
          char *err, size_t errlen)
{
	const char *why;

	if (o->kind != MPR_STR)
		return dec_err(err, errlen, "%s%s: expected string", where, k);
	if (o->len >= len)
		return dec_err(err, errlen, "%s%s: too long (at most %zu bytes)", where, k,
		               len - 1);
	/* one rule for every string of every message (text_char_len(), text.h) */
	if ((why = text_refusal(o->str, o->len)) != NULL)
		return dec_err(err, errlen, "%s%s: %s", where, k, why);
	if (o->len > 0 && memchr(o->str, '\0', o->len) != NULL) /* refused above already */
		return dec_err(err, errlen, "%s%s: bad string", where, k);
	if (o->len > 0)
		memcpy(out, o->str, o->len);
	out[o->len] = '\0';
	return 0;
}

/* A short string (a name from a closed list) into out[len]; -1 when it is not one. */
int
dec_word_v(const struct mpr_val *o, char *out, size_t len)
{
	if (o->kind != MPR_STR || o->len >= len || (o->len > 0 && memchr(o->str, '\0', o->len)))
		return -1;
	if (o->len > 0)
		memcpy(out, o->str, o->len);
	out[o->len] = '\0';
	return 0;
}

/* ---- unpacked messages: fields looked up by key ---- */

/*
 * Looks up key k of map m.  where is the prefix of error messages, ending in
 * ": " or ".".  Returns 0 with *o set, 1 when absent and optional, -1 (err
 * set) when absent and required or duplicated.
 */
static int
dec_found(int rc, const char *where, const char *k, int required, char *err, size_t errlen)
{
	if (rc == -1)
		return dec_err(err, errlen, "%s%s: duplicate key", where, k);
	if (rc == 1 && required)
		return dec_err(err, errlen, "%s%s: missing", where, k);
	return rc;
}

static int
dec_lookup(const msgpack_object *m, const char *where, const char *k, int required,
           const msgpack_object **o, char *err, size_t errlen)
{
	return dec_found(mpr_get_unique(m, k, o), where, k, required, err, errlen);
}

/* Looks up k and takes its value: 0, 1 when absent and optional, -1. */
static int
dec_val(const msgpack_object *m, const char *where, const char *k, int required, struct mpr_val *v,
        char *err, size_t errlen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = dec_lookup(m, where, k, required, &o, err, errlen)) != 0)
		return rc;
	mpr_val_of(o, v);
	return 0;
}

static int
dec_u32(const msgpack_object *m, const char *where, const char *k, int required, uint32_t *v,
        char *err, size_t errlen)
{
	struct mpr_val o;
	int rc;

	if ((rc = dec_val(m, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_u32_v(&o, where, k, v, err, errlen);
}

static int
dec_u64(const msgpack_object *m, const char *where, const char *k, int required, uint64_t *v,
        char *err, size_t errlen)
{
	struct mpr_val o;
	int rc;

	if ((rc = dec_val(m, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_uint_v(&o, where, k, UINT64_MAX, v, err, errlen);
}

static int
dec_i64(const msgpack_object *m, const char *where, const char *k, int required, int64_t *v,
        char *err, size_t errlen)
{
	struct mpr_val o;
	int rc;

	if ((rc = dec_val(m, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_i64_v(&o, where, k, v, err, errlen);
}

static int
dec_str(const msgpack_object *m, const char *where, const char *k, int required, char *out,
        size_t len, char *err, size_t errlen)
{
	struct mpr_val o;
	int rc;

	if ((rc = dec_val(m, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_str_v(&o, where, k, out, len, err, errlen);
}

/* The message's own type; what names the message in errors. */
int
dec_check_type(const struct proto_doc *d, enum msg_type t, const char *what, char *err,
               size_t errlen)
{
	if (!d->live || d->root.type != MSGPACK_OBJECT_MAP)
		return dec_err(err, errlen, "%s: no document", what);
	if (d->type != t)
		return dec_err(err, errlen, "%s: type: expected \"%s\"", what, what);
	return 0;
}
int
proto_decode_hello(const struct proto_doc *d, struct msg_hello *h, char *err, size_t errlen)
{
	const msgpack_object *m = &d->root;
	const char *w = "hello: ";
	char role[16];
	uint32_t ps;

	memset(h, 0, sizeof(*h));
	if (dec_check_type(d, MSG_HELLO, "hello", err, errlen) == -1)
		return -1;
	/* the major version is not checked here: answering it is the server's job */
	if (dec_u32(m, w, "major", 1, &h->major, err, errlen) != 0 ||
	    dec_u32(m, w, "minor", 1, &h->minor, err, errlen) != 0 ||
	    dec_str(m, w, "role", 1, role, sizeof(role), err, errlen) != 0)
		return -1;
	if (strcmp(role, "agent") == 0)
		h->role = ROLE_AGENT;
	else if (strcmp(role, "admin") == 0)
		h->role = ROLE_ADMIN;
	else
		return dec_err(err, errlen, "hello: role: expected \"agent\" or \"admin\"");
	if (dec_str(m, w, "agent", 1, h->agent, sizeof(h->agent), err, errlen) != 0 ||
	    dec_str(m, w, "host", 0, h->host, sizeof(h->host), err, errlen) == -1)
		return -1;
	if (h->role == ROLE_ADMIN)
		return 0; /* the agent-only keys mean nothing from an admin: ignored */
	if (dec_str(m, w, "os", 1, h->os, sizeof(h->os), err, errlen) != 0 ||
	    dec_str(m, w, "os_release", 1, h->os_release, sizeof(h->os_release), err, errlen) !=
	        0 ||
	    dec_u32(m, w, "page_size", 1, &ps, err, errlen) != 0 ||
	    dec_i64(m, w, "boot_time", 1, &h->boot_time, err, errlen) != 0)
		return -1;
	if (ps < 512 || ps > 1048576 || (ps & (ps - 1)) != 0)
		return dec_err(err, errlen,
		               "hello: page_size: must be a power of two from 512 to 1048576");
	h->page_size = ps;
	/* optional; 0 (absent) means the agent did not say */
	if (dec_u32(m, w, "interval", 0, &h->interval, err, errlen) == -1 ||
	    dec_i64(m, w, "time", 0, &h->time, err, errlen) == -1 ||
	    dec_str(m, w, "spool", 0, h->spool, sizeof(h->spool), err, errlen) == -1)
		return -1;
	if (h->spool[0] != '\0' && (strlen(h->spool) != PROTO_SPOOL_ID_HEX ||
	                            strspn(h->spool, "0123456789abcdef") != PROTO_SPOOL_ID_HEX))
		return dec_err(err, errlen, "hello: spool: expected %d lowercase hex digits",
		               PROTO_SPOOL_ID_HEX);
	return 0;
}
int
proto_decode_ack(const struct proto_doc *d, uint64_t *seq, char *err, size_t errlen)
{
	*seq = 0;
	if (dec_check_type(d, MSG_ACK, "ack", err, errlen) == -1 ||
	    dec_u64(&d->root, "ack: ", "seq", 1, seq, err, errlen) != 0)
		return -1;
	if (*seq < 1)
		return dec_err(err, errlen, "ack: seq: must be at least 1");
	return 0;
}

int
proto_decode_query(const struct proto_doc *d, struct msg_query *q, char *err, size_t errlen)
{
	const msgpack_object *m = &d->root, *args;
	const char *w = "query: ";
	uint32_t i;
	size_t j;
	int rc;

	memset(q, 0, sizeof(*q));
	if (dec_check_type(d, MSG_QUERY, "query", err, errlen) == -1 ||
	    dec_u64(m, w, "id", 1, &q->id, err, errlen) != 0 ||
	    dec_str(m, w, "cmd", 1, q->cmd, sizeof(q->cmd), err, errlen) != 0)
		return -1;
	if ((rc = dec_lookup(m, w, "args", 0, &args, err, errlen)) != 0)
		return rc == 1 ? 0 : -1;
	if (args->type != MSGPACK_OBJECT_MAP)
		return dec_err(err, errlen, "query: args: expected map");
	if (args->via.map.size > QUERY_MAX_ARGS)
		return dec_err(err, errlen, "query: args: too many entries (at most %d)",
		               QUERY_MAX_ARGS);
	for (i = 0; i < args->via.map.size; i++) {
		char name[MODEL_NAME_MAX];
		struct mpr_val k, v;

		mpr_val_of(&args->via.map.ptr[i].key, &k);
		mpr_val_of(&args->via.map.ptr[i].val, &v);
		if (dec_str_v(&k, "query: args: ", "key", name, sizeof(name), err, errlen) == -1)
			return -1;
		for (j = 0; j < q->nargs; j++)
			if (strcmp(q->args[j].name, name) == 0)
				return dec_err(err, errlen, "query: args.%s: duplicate key", name);
		if (dec_str_v(&v, "query: args.", name, q->args[q->nargs].value,
		              sizeof(q->args[q->nargs].value), err, errlen) == -1)
			return -1;
		memcpy(q->args[q->nargs].name, name, sizeof(name));
		q->nargs++;
	}
	return 0;
}

int
proto_decode_reply(const struct proto_doc *d, uint64_t *id, const msgpack_object **body, char *err,
                   size_t errlen)
{
	*id = 0;
	*body = NULL;
	if (dec_check_type(d, MSG_REPLY, "reply", err, errlen) == -1 ||
	    dec_u64(&d->root, "reply: ", "id", 1, id, err, errlen) != 0 ||
	    dec_lookup(&d->root, "reply: ", "body", 1, body, err, errlen) != 0)
		return -1;
	return 0;
}

int
proto_decode_error(const struct proto_doc *d, struct msg_error *e, char *err, size_t errlen)
{
	const msgpack_object *m = &d->root;
	const char *w = "error: ";

	memset(e, 0, sizeof(*e));
	if (dec_check_type(d, MSG_ERROR, "error", err, errlen) == -1 ||
	    dec_u32(m, w, "code", 1, &e->code, err, errlen) != 0 ||
	    dec_str(m, w, "text", 1, e->text, sizeof(e->text), err, errlen) != 0 ||
	    dec_u64(m, w, "id", 0, &e->id, err, errlen) == -1)
		return -1;
	return 0;
}
