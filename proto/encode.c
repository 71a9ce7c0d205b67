/*
 * encode.c: building frames (proto.h, docs/protocol.md).
 *
 * Every encoder appends one whole frame to a struct buf.  Packing errors are
 * not checked one by one: the buf marks itself failed and proto_frame_end()
 * notices.  On any failure the partial frame is cut off again, so out holds
 * only whole frames (a failed buf stays failed).
 */
#include <string.h>

#include "proto.h"
#include "text.h"
#include "util.h"

/* msgpack_packer_write: append to the struct buf in data. */
static int
encode_write(void *data, const char *p, size_t len)
{
	return buf_append_small(data, p, len);
}

void
proto_packer_init(msgpack_packer *pk, struct buf *out)
{
	msgpack_packer_init(pk, out, encode_write);
}

void
mp_pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

void
mp_pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
	mp_pack_str(pk, k);
	mp_pack_str(pk, v);
}

/*
 * A text field a person will read, cleaned by the rule the decoder applies
 * to every string (text_char_len(), util.h): whatever a collector picked up
 * (a jail or user name in another encoding, an escape sequence in a
 * release string) goes out with '?' in place of each refused character,
 * instead of making the aggregator refuse the whole message.  The cleaned
 * text is never longer than the original, so it still fits its field (at
 * most MODEL_TEXT_MAX, MODEL_CGROUP_MAX bytes).
 */
static void
encode_kv_text(msgpack_packer *pk, const char *k, const char *v)
{
	char clean[MODEL_TEXT_MAX > MODEL_CGROUP_MAX ? MODEL_TEXT_MAX : MODEL_CGROUP_MAX];

	text_clean(clean, sizeof(clean), v, strlen(v));
	mp_pack_kv_str(pk, k, clean);
}

void
mp_pack_kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
	mp_pack_str(pk, k);
	msgpack_pack_uint64(pk, v);
}

void
mp_pack_kv_i64(msgpack_packer *pk, const char *k, int64_t v)
{
	mp_pack_str(pk, k);
	msgpack_pack_int64(pk, v);
}

/* Returns the offset of the frame, for proto_frame_end(). */
size_t
proto_frame_begin(struct buf *out)
{
	static const uint8_t zero[PROTO_HDR_LEN];
	size_t start = out->len;

	buf_append(out, zero, sizeof(zero));
	return start;
}

/* Fills in the length of the frame at start; -1 when it cannot be sent. */
int
proto_frame_end(struct buf *out, size_t start)
{
	size_t n;
	uint8_t *h;

	if (buf_failed(out) || start > out->len || out->len - start < PROTO_HDR_LEN)
		return -1;
	n = out->len - start - PROTO_HDR_LEN;
	if (n == 0 || n > PROTO_MAX_FRAME)
		return -1;
	h = (uint8_t *)out->data + start;
	h[0] = (uint8_t)(n >> 24);
	h[1] = (uint8_t)(n >> 16);
	h[2] = (uint8_t)(n >> 8);
	h[3] = (uint8_t)n;
	return 0;
}

/*
 * Finishes a frame, or cuts it off again.  The payload goes through the same
 * validator as received frames, so that a peer never sends (or an agent
 * spools) a frame the other side must refuse: too many objects, a string over PROTO_MAX_STR, or a
 * body nested too deep.
 */
static int
encode_finish(struct buf *out, size_t start)
{
	const char *why;

	if (proto_frame_end(out, start) == 0 &&
	    frame_validate((const uint8_t *)out->data + start + PROTO_HDR_LEN,
	                   out->len - start - PROTO_HDR_LEN, &why) == 0)
		return 0;
	if (start <= out->len)
		out->len = start;
	return -1;
}

int
proto_encode_hello(struct buf *out, const struct msg_hello *h)
{
	msgpack_packer pk;
	size_t start, n;
	int agent = h->role == ROLE_AGENT;

	if (h->role != ROLE_AGENT && h->role != ROLE_ADMIN)
		return -1;
	start = proto_frame_begin(out);
	proto_packer_init(&pk, out);
	n = 5 + (h->host[0] != '\0') +
	    (agent ? 4 + (h->interval != 0) + (h->time != 0) + (h->spool[0] != '\0') : 0);
	msgpack_pack_map(&pk, n);
	mp_pack_kv_str(&pk, "type", "hello");
	mp_pack_kv_u64(&pk, "major", h->major);
	mp_pack_kv_u64(&pk, "minor", h->minor);
	mp_pack_kv_str(&pk, "role", agent ? "agent" : "admin");
	encode_kv_text(&pk, "agent", h->agent);
	if (h->host[0] != '\0') /* "" means: not set */
		encode_kv_text(&pk, "host", h->host);
	if (agent) {
		encode_kv_text(&pk, "os", h->os);
		encode_kv_text(&pk, "os_release", h->os_release);
		mp_pack_kv_u64(&pk, "page_size", h->page_size);
		mp_pack_kv_i64(&pk, "boot_time", h->boot_time);
		if (h->interval != 0) /* 0 means: not said */
			mp_pack_kv_u64(&pk, "interval", h->interval);
		if (h->time != 0)
			mp_pack_kv_i64(&pk, "time", h->time);
		if (h->spool[0] != '\0') /* "" means: the legacy identity */
			mp_pack_kv_str(&pk, "spool", h->spool);
	}
	return encode_finish(out, start);
}

static void
encode_limits(msgpack_packer *pk, const struct ipc_limits *l)
{
	size_t i;

	msgpack_pack_map(pk, l->n);
	for (i = 0; i < l->n; i++)
		mp_pack_kv_u64(pk, l->v[i].name, l->v[i].value);
}

/* A jail's rctl: each resource with what is known of it (used, limit). */
static void
encode_rctl(msgpack_packer *pk, const struct scope_rctl *r)
{
	uint32_t any = (r->has_used | r->has_limit) & ((1u << RCTL_COUNT) - 1);
	size_t n = 0;
	int i;

	for (i = 0; i < RCTL_COUNT; i++)
		n += (any >> i) & 1;
	mp_pack_str(pk, "rctl");
	msgpack_pack_map(pk, n);
	for (i = 0; i < RCTL_COUNT; i++) {
		uint32_t bit = 1u << i;

		if (!(any & bit))
			continue;
		mp_pack_str(pk, rctl_res_name((enum rctl_res)i));
		msgpack_pack_map(pk, ((r->has_used & bit) != 0) + ((r->has_limit & bit) != 0));
		if (r->has_used & bit)
			mp_pack_kv_u64(pk, "used", r->used[i]);
		if (r->has_limit & bit)
			mp_pack_kv_u64(pk, "limit", r->limit[i]);
	}
}

static void
encode_scope(msgpack_packer *pk, const struct ipc_scope *sc)
{
	static const char *const types[3] = {"shm", "sem", "msg"};
	size_t i, niso = 0;
	/* rctl is a jail's (racct): the decoder refuses it elsewhere */
	int rctl = sc->kind == SCOPE_JAIL &&
	           ((sc->rctl.has_used | sc->rctl.has_limit) & ((1u << RCTL_COUNT) - 1)) != 0;

	for (i = 0; i < 3; i++)
		if (sc->iso[i] != ISO_UNKNOWN)
			niso++;
	int limwhy = sc->own_limits && sc->limits_unknown[0] != '\0';

	msgpack_pack_map(pk, 3 + (niso > 0) + (sc->own_limits != 0) + limwhy +
	                         (sc->unknown[0] != '\0') + (sc->cgroup[0] != '\0') +
	                         (sc->processes != 0) + rctl);
	encode_kv_text(pk, "id", sc->id);
	mp_pack_kv_str(pk, "kind", scope_kind_name(sc->kind));
	encode_kv_text(pk, "name", sc->name);
	if (niso > 0) {
		/* only the types whose isolation is known */
		mp_pack_str(pk, "isolation");
		msgpack_pack_map(pk, niso);
		for (i = 0; i < 3; i++)
			if (sc->iso[i] != ISO_UNKNOWN)
				mp_pack_kv_str(pk, types[i], isolation_name(sc->iso[i]));
	}
	if (sc->own_limits) {
		mp_pack_str(pk, "limits");
		encode_limits(pk, &sc->limits);
	}
	if (limwhy)
		encode_kv_text(pk, "limits_unknown", sc->limits_unknown);
	if (sc->unknown[0] != '\0')
		encode_kv_text(pk, "unknown", sc->unknown);
	if (sc->cgroup[0] != '\0')
		encode_kv_text(pk, "cgroup", sc->cgroup);
	if (sc->processes != 0)
		mp_pack_kv_u64(pk, "processes", sc->processes);
	if (rctl)
		encode_rctl(pk, &sc->rctl);
}

/* The names of an object's unknown fields, when it has any. */
static void
encode_object_unknown(msgpack_packer *pk, uint32_t unknown)
{
	uint32_t bit;
	size_t n = 0;

	for (bit = 1; bit != 0 && bit < (1u << OF_COUNT); bit <<= 1)
		n += (unknown & bit) != 0;
	mp_pack_str(pk, "unknown");
	msgpack_pack_array(pk, n);
	for (bit = 1; bit != 0 && bit < (1u << OF_COUNT); bit <<= 1)
		if (unknown & bit)
			mp_pack_str(pk, obj_field_name(bit));
}

/*
 * Optional fields are written only when set (non-zero).  Fields the agent
 * could not read are listed in "unknown" (their value, 0, means nothing;
 * required ones are still written for aggregators older than protocol 1.1).
 */
static void
encode_object(msgpack_packer *pk, const struct ipc_object *o, const char *scope)
{
	uint32_t unk = o->unknown & ((1u << OF_COUNT) - 1);
	size_t n = 9 + (o->ctime != 0) + (o->owner[0] != '\0') + (unk != 0);

	switch (o->type) {
	case IPC_SHM:
		n += 4 + (o->atime != 0) + (o->dtime != 0) + (o->rss != 0) + (o->swap != 0);
		break;
	case IPC_SEM:
		n += 1 + (o->otime != 0);
		break;
	case IPC_MSG:
		n += 2 + (o->qbytes != 0) + (o->lspid != 0) + (o->lrpid != 0) + (o->stime != 0) +
		     (o->rtime != 0);
		break;
	}
	msgpack_pack_map(pk, n);
	mp_pack_kv_str(pk, "type", ipc_type_name(o->type));
	mp_pack_kv_i64(pk, "id", o->id);
	mp_pack_kv_i64(pk, "key", o->key);
	mp_pack_kv_u64(pk, "mode", o->mode);
	mp_pack_kv_u64(pk, "uid", o->uid);
	mp_pack_kv_u64(pk, "gid", o->gid);
	mp_pack_kv_u64(pk, "cuid", o->cuid);
	mp_pack_kv_u64(pk, "cgid", o->cgid);
	encode_kv_text(pk, "scope", scope); /* cleaned as the scope's own id is */
	switch (o->type) {
	case IPC_SHM:
		mp_pack_kv_u64(pk, "size", o->size);
		mp_pack_kv_u64(pk, "nattch", o->nattch);
		mp_pack_kv_i64(pk, "cpid", o->cpid);
		mp_pack_kv_i64(pk, "lpid", o->lpid);
		if (o->atime != 0)
			mp_pack_kv_i64(pk, "atime", o->atime);
		if (o->dtime != 0)
			mp_pack_kv_i64(pk, "dtime", o->dtime);
		if (o->rss != 0)
			mp_pack_kv_u64(pk, "rss", o->rss);
		if (o->swap != 0)
			mp_pack_kv_u64(pk, "swap", o->swap);
		break;
	case IPC_SEM:
		mp_pack_kv_u64(pk, "nsems", o->nsems);
		if (o->otime != 0)
			mp_pack_kv_i64(pk, "otime", o->otime);
		break;
	case IPC_MSG:
		mp_pack_kv_u64(pk, "cbytes", o->cbytes);
		mp_pack_kv_u64(pk, "qnum", o->qnum);
		if (o->qbytes != 0)
			mp_pack_kv_u64(pk, "qbytes", o->qbytes);
		if (o->lspid != 0)
			mp_pack_kv_i64(pk, "lspid", o->lspid);
		if (o->lrpid != 0)
			mp_pack_kv_i64(pk, "lrpid", o->lrpid);
		if (o->stime != 0)
			mp_pack_kv_i64(pk, "stime", o->stime);
		if (o->rtime != 0)
			mp_pack_kv_i64(pk, "rtime", o->rtime);
		break;
	}
	if (o->ctime != 0)
		mp_pack_kv_i64(pk, "ctime", o->ctime);
	if (o->owner[0] != '\0')
		encode_kv_text(pk, "owner", o->owner);
	if (unk != 0)
		encode_object_unknown(pk, unk);
}

/*
 * Whether the decoder would take this finding: a kind an agent may send, a
 * known severity, a scope that exists ("" = the whole host, not sent), a
 * valid limit name, and an object type when there is an object.
 */
static int
encode_finding_ok(const struct snapshot *s, const struct finding *f)
{
	/* the strings are bounded by their arrays; a missing NUL is refused */
	if (memchr(f->message, '\0', sizeof(f->message)) == NULL ||
	    memchr(f->command, '\0', sizeof(f->command)) == NULL ||
	    memchr(f->scope, '\0', sizeof(f->scope)) == NULL ||
	    memchr(f->limit, '\0', sizeof(f->limit)) == NULL ||
	    memchr(f->owner, '\0', sizeof(f->owner)) == NULL)
		return 0;
	if (!finding_kind_from_agent(f->kind) ||
	    (f->severity != SEV_INFO && f->severity != SEV_WARN && f->severity != SEV_CRIT))
		return 0;
	if (f->scope[0] != '\0' && snapshot_find_scope(s, f->scope) < 0)
		return 0;
	if (f->limit[0] != '\0' && !limit_name_valid(f->limit))
		return 0;
	if (f->has_object &&
	    ((f->otype != IPC_SHM && f->otype != IPC_SEM && f->otype != IPC_MSG) || f->age < 0))
		return 0;
	return 1;
}

/* Optional fields only when set: scope, limit, command non-empty; the object's when has_object. */
static void
encode_finding(msgpack_packer *pk, const struct finding *f)
{
	size_t n = 3 + (f->scope[0] != '\0') + (f->limit[0] != '\0') + (f->command[0] != '\0') +
	           (f->has_object ? 4 : finding_about_owner(f)) + (f->owner[0] != '\0');

	msgpack_pack_map(pk, n);
	mp_pack_kv_str(pk, "kind", finding_kind_name(f->kind));
	mp_pack_kv_str(pk, "severity", severity_name(f->severity));
	encode_kv_text(pk, "message", f->message);
	if (f->scope[0] != '\0')
		encode_kv_text(pk, "scope", f->scope);
	if (f->limit[0] != '\0')
		mp_pack_kv_str(pk, "limit", f->limit);
	if (f->has_object) {
		mp_pack_kv_str(pk, "type", ipc_type_name(f->otype));
		mp_pack_kv_i64(pk, "id", f->oid);
		mp_pack_kv_i64(pk, "age", f->age);
		mp_pack_kv_u64(pk, "uid", f->uid);
	} else if (finding_about_owner(f)) {
		mp_pack_kv_u64(pk, "uid", f->uid); /* removeipc_risk: the owner is the subject */
	}
	if (f->owner[0] != '\0')
		encode_kv_text(pk, "owner", f->owner);
	if (f->command[0] != '\0')
		encode_kv_text(pk, "command", f->command);
}

/*
 * os, os_release and page_size travel in hello, not here.  Fails (writing
 * nothing) when the snapshot has no host scope, an object names a scope or
 * type that does not exist, or a finding is one the decoder would refuse
 * (encode_finding_ok).  Findings are sent only when there are any.
 */
int
proto_encode_snapshot(struct buf *out, const struct snapshot *s)
{
	msgpack_packer pk;
	size_t start, i;

	if (s->nscopes == 0 || s->scopes == NULL)
		return -1;
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];

		if (o->scope >= s->nscopes ||
		    (o->type != IPC_SHM && o->type != IPC_SEM && o->type != IPC_MSG))
			return -1;
		if (memchr(o->owner, '\0', sizeof(o->owner)) == NULL)
			return -1;
	}
	if (s->nfindings > MODEL_MAX_FINDINGS || (s->nfindings > 0 && s->findings == NULL))
		return -1;
	if (s->unknown.n > MODEL_MAX_UNKNOWN)
		return -1;
	for (i = 0; i < s->unknown.n; i++)
		if (!limit_name_valid(s->unknown.v[i].name) ||
		    memchr(s->unknown.v[i].why, '\0', sizeof(s->unknown.v[i].why)) == NULL)
			return -1;
	for (i = 0; i < s->nscopes; i++)
		if (memchr(s->scopes[i].unknown, '\0', sizeof(s->scopes[i].unknown)) == NULL ||
		    memchr(s->scopes[i].cgroup, '\0', sizeof(s->scopes[i].cgroup)) == NULL)
			return -1;
	for (i = 0; i < s->nfindings; i++)
		if (!encode_finding_ok(s, &s->findings[i]))
			return -1;
	start = proto_frame_begin(out);
	proto_packer_init(&pk, out);
	msgpack_pack_map(&pk, 6 + (s->dropped != 0) + (s->nfindings > 0) + (s->unknown.n > 0));
	mp_pack_kv_str(&pk, "type", "snapshot");
	mp_pack_kv_u64(&pk, "seq", s->seq);
	mp_pack_kv_i64(&pk, "time", s->taken);
	mp_pack_str(&pk, "limits");
	encode_limits(&pk, &s->limits);
	mp_pack_str(&pk, "scopes");
	msgpack_pack_array(&pk, s->nscopes);
	for (i = 0; i < s->nscopes; i++)
		encode_scope(&pk, &s->scopes[i]);
	mp_pack_str(&pk, "objects");
	msgpack_pack_array(&pk, s->nobjects);
	for (i = 0; i < s->nobjects && !buf_failed(out); i++)
		encode_object(&pk, &s->objects[i], s->scopes[s->objects[i].scope].id);
	if (s->dropped != 0)
		mp_pack_kv_u64(&pk, "dropped", s->dropped);
	if (s->unknown.n > 0) {
		mp_pack_str(&pk, "unknown");
		msgpack_pack_array(&pk, s->unknown.n);
		for (i = 0; i < s->unknown.n; i++) {
			msgpack_pack_map(&pk, 3);
			mp_pack_kv_str(&pk, "figure",
			               s->unknown.v[i].figure == UNK_LIMIT ? "limit" : "used");
			mp_pack_kv_str(&pk, "name", s->unknown.v[i].name);
			encode_kv_text(&pk, "why", s->unknown.v[i].why);
		}
	}
	if (s->nfindings > 0) {
		mp_pack_str(&pk, "findings");
		msgpack_pack_array(&pk, s->nfindings);
		for (i = 0; i < s->nfindings && !buf_failed(out); i++)
			encode_finding(&pk, &s->findings[i]);
	}
	return encode_finish(out, start);
}

int
proto_encode_ack(struct buf *out, uint64_t seq)
{
	msgpack_packer pk;
	size_t start;

	start = proto_frame_begin(out);
	proto_packer_init(&pk, out);
	msgpack_pack_map(&pk, 2);
	mp_pack_kv_str(&pk, "type", "ack");
	mp_pack_kv_u64(&pk, "seq", seq);
	return encode_finish(out, start);
}

int
proto_encode_query(struct buf *out, const struct msg_query *q)
{
	msgpack_packer pk;
	size_t start, i;

	if (q->nargs > QUERY_MAX_ARGS)
		return -1;
	start = proto_frame_begin(out);
	proto_packer_init(&pk, out);
	msgpack_pack_map(&pk, 3 + (q->nargs > 0));
	mp_pack_kv_str(&pk, "type", "query");
	mp_pack_kv_u64(&pk, "id", q->id);
	mp_pack_kv_str(&pk, "cmd", q->cmd);
	if (q->nargs > 0) {
		mp_pack_str(&pk, "args");
		msgpack_pack_map(&pk, q->nargs);
		for (i = 0; i < q->nargs; i++)
			mp_pack_kv_str(&pk, q->args[i].name, q->args[i].value);
	}
	return encode_finish(out, start);
}

/* id is written only when the error answers a query (id != 0). */
int
proto_encode_error(struct buf *out, const struct msg_error *e)
{
	msgpack_packer pk;
	size_t start;

	start = proto_frame_begin(out);
	proto_packer_init(&pk, out);
	msgpack_pack_map(&pk, 3 + (e->id != 0));
	mp_pack_kv_str(&pk, "type", "error");
	mp_pack_kv_u64(&pk, "code", e->code);
	encode_kv_text(&pk, "text",
	               e->text); /* a cut in a UTF-8 character must not make it unreadable */
	if (e->id != 0)
		mp_pack_kv_u64(&pk, "id", e->id);
	return encode_finish(out, start);
}

/*
 * Leaves the frame open after the "body" key: the caller packs exactly one
 * object with pk and then calls proto_reply_end(out, *frame_start).
 */
int
proto_reply_begin(struct buf *out, uint64_t id, msgpack_packer *pk, size_t *frame_start)
{
	size_t start;

	start = proto_frame_begin(out);
	proto_packer_init(pk, out);
	msgpack_pack_map(pk, 3);
	mp_pack_kv_str(pk, "type", "reply");
	mp_pack_kv_u64(pk, "id", id);
	mp_pack_str(pk, "body");
	*frame_start = start;
	if (buf_failed(out)) {
		if (start <= out->len)
			out->len = start;
		return -1;
	}
	return 0;
}

int
proto_reply_end(struct buf *out, size_t frame_start)
{
	return encode_finish(out, frame_start);
}
