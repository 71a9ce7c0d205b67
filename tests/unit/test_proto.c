/*
 * test_proto.c: the wire protocol (proto/, docs/protocol.md).
 *
 * Round trips of every message, the validator's bounds on hostile payloads,
 * schema errors naming their field, and a deterministic mutation loop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "proto.h"
#include "text.h"
#include "util.h"

#define BIG_LIMIT 18446744073692774399ULL

static char err[512];

/* ---- helpers ---- */

/* Checks the frame header in b and unpacks the payload that follows. */
static void
frame_unpack(const struct buf *b, struct proto_doc *d)
{
	uint32_t len = 0;
	const char *why = NULL;

	assert_true(b->len > PROTO_HDR_LEN);
	assert_int_equal(frame_header((const uint8_t *)b->data, PROTO_MAX_FRAME, &len, &why), 0);
	assert_int_equal(len, b->len - PROTO_HDR_LEN);
	err[0] = '\0';
	if (proto_doc_unpack((const uint8_t *)b->data + PROTO_HDR_LEN, len, d, err, sizeof(err)) !=
	    0)
		fail_msg("unpack: %s", err);
}

static void
limits_equal(const struct ipc_limits *a, const struct ipc_limits *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_string_equal(a->v[i].name, b->v[i].name);
		assert_true(a->v[i].value == b->v[i].value);
	}
}

static void
object_equal(const struct ipc_object *a, const struct ipc_object *b)
{
	assert_int_equal(a->type, b->type);
	assert_true(a->id == b->id);
	assert_true(a->key == b->key);
	assert_int_equal(a->mode, b->mode);
	assert_int_equal(a->uid, b->uid);
	assert_int_equal(a->gid, b->gid);
	assert_int_equal(a->cuid, b->cuid);
	assert_int_equal(a->cgid, b->cgid);
	assert_int_equal(a->scope, b->scope);
	assert_true(a->size == b->size);
	assert_true(a->nattch == b->nattch);
	assert_true(a->cpid == b->cpid);
	assert_true(a->lpid == b->lpid);
	assert_true(a->atime == b->atime);
	assert_true(a->dtime == b->dtime);
	assert_true(a->rss == b->rss);
	assert_true(a->swap == b->swap);
	assert_true(a->nsems == b->nsems);
	assert_true(a->otime == b->otime);
	assert_true(a->cbytes == b->cbytes);
	assert_true(a->qnum == b->qnum);
	assert_true(a->qbytes == b->qbytes);
	assert_true(a->lspid == b->lspid);
	assert_true(a->lrpid == b->lrpid);
	assert_true(a->stime == b->stime);
	assert_true(a->rtime == b->rtime);
	assert_true(a->ctime == b->ctime);
	assert_string_equal(a->owner, b->owner);
	assert_int_equal(a->unknown, b->unknown);
}

static void
finding_equal(const struct finding *a, const struct finding *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->severity, b->severity);
	assert_string_equal(a->limit, b->limit);
	assert_string_equal(a->scope, b->scope);
	assert_string_equal(a->message, b->message);
	assert_int_equal(a->has_object, b->has_object);
	assert_int_equal(a->otype, b->otype);
	assert_true(a->oid == b->oid);
	assert_true(a->age == b->age);
	assert_int_equal(a->uid, b->uid);
	assert_string_equal(a->command, b->command);
}

/* Everything a snapshot frame carries (os, os_release, page_size travel in hello). */
static void
snapshot_equal(const struct snapshot *a, const struct snapshot *b)
{
	size_t i;

	assert_true(a->seq == b->seq);
	assert_true(a->taken == b->taken);
	assert_true(a->dropped == b->dropped);
	limits_equal(&a->limits, &b->limits);
	assert_int_equal(a->nscopes, b->nscopes);
	for (i = 0; i < a->nscopes; i++) {
		const struct ipc_scope *x = &a->scopes[i], *y = &b->scopes[i];

		assert_string_equal(x->id, y->id);
		assert_string_equal(x->name, y->name);
		assert_int_equal(x->kind, y->kind);
		assert_int_equal(x->iso[0], y->iso[0]);
		assert_int_equal(x->iso[1], y->iso[1]);
		assert_int_equal(x->iso[2], y->iso[2]);
		assert_int_equal(x->own_limits, y->own_limits);
		limits_equal(&x->limits, &y->limits);
		assert_string_equal(x->unknown, y->unknown);
		assert_string_equal(x->limits_unknown, y->limits_unknown);
	}
	assert_int_equal(a->unknown.n, b->unknown.n);
	for (i = 0; i < a->unknown.n; i++) {
		assert_int_equal(a->unknown.v[i].figure, b->unknown.v[i].figure);
		assert_string_equal(a->unknown.v[i].name, b->unknown.v[i].name);
		assert_string_equal(a->unknown.v[i].why, b->unknown.v[i].why);
	}
	assert_int_equal(a->nobjects, b->nobjects);
	for (i = 0; i < a->nobjects; i++)
		object_equal(&a->objects[i], &b->objects[i]);
	assert_int_equal(a->nfindings, b->nfindings);
	for (i = 0; i < a->nfindings; i++)
		finding_equal(&a->findings[i], &b->findings[i]);
}

/*
 * The reference snapshot: host, a jail with isolation, an IPC namespace with
 * its own limits; objects of all three types with every field, and a sem
 * at the edges of the integer ranges with no optional fields; an orphan
 * finding with every field and an isolation finding with only the required
 * ones.
 */
static void
make_snapshot(struct snapshot *s)
{
	struct ipc_scope *sc;
	struct ipc_object *o;
	struct finding *f;

	assert_int_equal(snapshot_init(s), 0);
	s->seq = 41;
	s->taken = 1764165700;
	s->dropped = 7;
	strcpy(s->scopes[0].name, "sorthat");
	assert_int_equal(limits_set(&s->limits, "semmns", 340), 0);
	assert_int_equal(limits_set(&s->limits, "semmni", 50), 0);
	assert_int_equal(limits_set(&s->limits, "shmall", BIG_LIMIT), 0);
	assert_int_equal(limits_set(&s->limits, "shmmax", 536870912), 0);

	sc = snapshot_add_scope(s, "jail:web", "web", SCOPE_JAIL);
	assert_non_null(sc);
	sc->iso[IPC_SHM] = ISO_NEW;
	sc->iso[IPC_SEM] = ISO_INHERIT;
	sc->iso[IPC_MSG] = ISO_DISABLE;

	sc = snapshot_add_scope(s, "ipcns:4026532200", "container db", SCOPE_IPCNS);
	assert_non_null(sc);
	sc->iso[IPC_SHM] = ISO_NEW;
	sc->own_limits = 1;
	assert_int_equal(limits_set(&sc->limits, "semmns", 32000), 0);
	assert_int_equal(limits_set(&sc->limits, "shmall", BIG_LIMIT), 0);

	o = snapshot_add_object(s);
	assert_non_null(o);
	o->type = IPC_SHM;
	o->id = 65536;
	o->key = -559038737;
	o->mode = 01600;
	o->uid = 1001;
	o->gid = 1002;
	o->cuid = 1003;
	o->cgid = 1004;
	o->scope = 1;
	o->size = 1203825956;
	o->nattch = 3;
	o->cpid = 4242;
	o->lpid = 4343;
	o->atime = 1764165600;
	o->dtime = 1764165000;
	o->rss = 8192;
	o->swap = 4096;
	o->ctime = 1764160000;
	strcpy(o->owner, "alice");

	o = snapshot_add_object(s);
	assert_non_null(o);
	o->type = IPC_SEM;
	o->id = 2;
	o->key = 5432001;
	o->mode = 0600;
	o->uid = 70;
	o->gid = 71;
	o->cuid = 72;
	o->cgid = 73;
	o->scope = 0;
	o->nsems = 17;
	o->otime = 1764165601;
	o->ctime = 1764160001;

	o = snapshot_add_object(s);
	assert_non_null(o);
	o->type = IPC_MSG;
	o->id = 3;
	o->key = 0;
	o->mode = 0660;
	o->uid = UINT32_MAX;
	o->gid = 5;
	o->cuid = 6;
	o->cgid = 7;
	o->scope = 2;
	o->cbytes = 123;
	o->qnum = 4;
	o->qbytes = 16384;
	o->lspid = 10;
	o->lrpid = 11;
	o->stime = 1764165602;
	o->rtime = 1764165603;
	o->ctime = 1764160002;

	o = snapshot_add_object(s);
	assert_non_null(o);
	o->type = IPC_SEM;
	o->id = INT64_MAX;
	o->key = INT64_MIN;
	o->mode = 0;
	o->scope = 2;
	o->nsems = UINT64_MAX;

	f = snapshot_add_finding(s);
	assert_non_null(f);
	f->kind = FK_ORPHAN;
	f->severity = SEV_WARN;
	strcpy(f->scope, "ipcns:4026532200");
	strcpy(f->limit, "semmns");
	strcpy(f->message, "semaphore set 2 (17 semaphores, uid 70) looks abandoned");
	f->has_object = 1;
	f->otype = IPC_SEM;
	f->oid = 2;
	f->age = 10800;
	f->uid = 70;
	strcpy(f->command, "nsenter -t 4242 -i ipcrm -s 2");

	f = snapshot_add_finding(s);
	assert_non_null(f);
	f->kind = FK_ISOLATION;
	f->severity = SEV_INFO;
	strcpy(f->message, "jail web shares the host's SysV namespace");
}

/* The reference snapshot's payload (no header) in an exactly sized malloc'd buffer. */
static uint8_t *
snapshot_payload(size_t *n)
{
	struct snapshot s;
	struct buf b;
	uint8_t *p;

	make_snapshot(&s);
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	*n = b.len - PROTO_HDR_LEN;
	p = malloc(*n);
	assert_non_null(p);
	memcpy(p, b.data + PROTO_HDR_LEN, *n);
	buf_free(&b);
	snapshot_free(&s);
	return p;
}

/* Unpacks the reference snapshot into a document whose tree a test may edit. */
static void
snapshot_doc(struct proto_doc *d)
{
	size_t n;
	uint8_t *p = snapshot_payload(&n);

	assert_int_equal(proto_doc_unpack(p, n, d, err, sizeof(err)), 0);
	free(p); /* the document owns a copy */
}

/* Non-const lookup for editing a tree. */
static msgpack_object *
tree_get(msgpack_object *m, const char *k)
{
	uint32_t i;

	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	for (i = 0; i < m->via.map.size; i++)
		if (mpr_streq(&m->via.map.ptr[i].key, k))
			return &m->via.map.ptr[i].val;
	fail_msg("no key %s", k);
	return NULL;
}

static msgpack_object *
tree_idx(msgpack_object *a, uint32_t i)
{
	assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
	assert_true(i < a->via.array.size);
	return &a->via.array.ptr[i];
}

static void
tree_del(msgpack_object *m, const char *k)
{
	uint32_t i;

	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	for (i = 0; i < m->via.map.size; i++) {
		if (mpr_streq(&m->via.map.ptr[i].key, k)) {
			memmove(&m->via.map.ptr[i], &m->via.map.ptr[i + 1],
			        (m->via.map.size - i - 1) * sizeof(m->via.map.ptr[0]));
			m->via.map.size--;
			return;
		}
	}
	fail_msg("no key %s", k);
}

static msgpack_object
obj_str(const char *s)
{
	msgpack_object o;

	o.type = MSGPACK_OBJECT_STR;
	o.via.str.ptr = s;
	o.via.str.size = (uint32_t)strlen(s);
	return o;
}

static msgpack_object
obj_u64(uint64_t v)
{
	msgpack_object o;

	o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	o.via.u64 = v;
	return o;
}

static msgpack_object
obj_neg(int64_t v)
{
	msgpack_object o;

	o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
	o.via.i64 = v;
	return o;
}

/* Appends k: v to map m; the new pair array lives in d's zone. */
static void
tree_add(struct proto_doc *d, msgpack_object *m, const char *k, msgpack_object v)
{
	msgpack_object_kv *kv;
	uint32_t n = m->via.map.size;

	assert_int_equal(m->type, MSGPACK_OBJECT_MAP);
	kv = msgpack_zone_malloc(&d->zone, (n + 1) * sizeof(*kv));
	assert_non_null(kv);
	if (n > 0)
		memcpy(kv, m->via.map.ptr, n * sizeof(*kv));
	kv[n].key = obj_str(k);
	kv[n].val = v;
	m->via.map.ptr = kv;
	m->via.map.size = n + 1;
}

/*
 * Packs an edited tree again and runs it through unpack and the snapshot
 * decoder.  Returns the decoder's result; out (when not NULL) receives the
 * snapshot on success, to be freed by the caller.
 */
static int
redecode_snapshot(const msgpack_object *root, struct snapshot *out)
{
	struct proto_doc d;
	struct snapshot s;
	msgpack_packer pk;
	struct buf b;
	int rc;

	buf_init(&b, PROTO_MAX_FRAME);
	proto_packer_init(&pk, &b);
	assert_int_equal(msgpack_pack_object(&pk, *root), 0);
	assert_false(buf_failed(&b));
	err[0] = '\0';
	rc = proto_doc_unpack((const uint8_t *)b.data, b.len, &d, err, sizeof(err));
	buf_free(&b);
	if (rc == -1)
		return -1;
	assert_int_equal(snapshot_init(&s), 0);
	rc = proto_decode_snapshot(&d, &s, err, sizeof(err));
	proto_doc_free(&d);
	if (rc == 0 && out != NULL)
		*out = s;
	else
		snapshot_free(&s);
	return rc;
}

/* frame_validate on a string literal (without its NUL). */
#define VAL(lit) validate((lit), sizeof(lit) - 1, &why)

/* frame_validate on a byte string. */
static int
validate(const void *p, size_t n, const char **why)
{
	uint8_t *copy = malloc(n ? n : 1);
	int rc;

	/* an exactly sized copy, so that the sanitizer sees any overread */
	assert_non_null(copy);
	memcpy(copy, p, n);
	*why = NULL;
	rc = frame_validate(copy, n, why);
	free(copy);
	if (rc == -1)
		assert_non_null(*why);
	return rc;
}

/* ---- round trips ---- */

static void
test_hello_agent(void **state)
{
	struct msg_hello h, g;
	struct proto_doc d;
	struct buf b;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.major = PROTO_MAJOR;
	h.minor = PROTO_MINOR;
	h.role = ROLE_AGENT;
	strcpy(h.agent, "ipcfleet-agent 0.1.0");
	strcpy(h.host, "sorthat");
	strcpy(h.os, "FreeBSD");
	strcpy(h.os_release, "11.2-RELEASE-p4");
	h.page_size = 4096;
	h.boot_time = 1764000000;
	h.interval = 60;

	buf_init(&b, 4096);
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	frame_unpack(&b, &d);
	assert_int_equal(d.type, MSG_HELLO);
	assert_int_equal(d.root.via.map.size, 11);
	assert_true(mpr_get(&d.root, "interval")->via.u64 == 60);
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	assert_int_equal(g.major, 1);
	assert_int_equal(g.minor, PROTO_MINOR);
	assert_int_equal(g.role, ROLE_AGENT);
	assert_string_equal(g.agent, "ipcfleet-agent 0.1.0");
	assert_string_equal(g.host, "sorthat");
	assert_string_equal(g.os, "FreeBSD");
	assert_string_equal(g.os_release, "11.2-RELEASE-p4");
	assert_int_equal(g.page_size, 4096);
	assert_true(g.boot_time == 1764000000);
	assert_int_equal(g.interval, 60);
	proto_doc_free(&d);
	proto_doc_free(&d); /* freeing twice is harmless */
	buf_free(&b);
}

static void
test_hello_admin(void **state)
{
	struct msg_hello h, g;
	struct proto_doc d;
	struct buf b;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.major = 1;
	h.minor = 3;
	h.role = ROLE_ADMIN;
	strcpy(h.agent, "ipcfleet 0.1.0");
	strcpy(h.os, "Linux"); /* not sent by an admin */
	h.page_size = 4096;

	buf_init(&b, 4096);
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	frame_unpack(&b, &d);
	/* type major minor role agent; no host (empty), no agent-only keys */
	assert_int_equal(d.root.via.map.size, 5);
	assert_null(mpr_get(&d.root, "host"));
	assert_null(mpr_get(&d.root, "os"));
	assert_null(mpr_get(&d.root, "os_release"));
	assert_null(mpr_get(&d.root, "page_size"));
	assert_null(mpr_get(&d.root, "boot_time"));
	assert_null(mpr_get(&d.root, "interval"));
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	assert_int_equal(g.major, 1);
	assert_int_equal(g.minor, 3);
	assert_int_equal(g.role, ROLE_ADMIN);
	assert_string_equal(g.agent, "ipcfleet 0.1.0");
	assert_string_equal(g.host, "");
	assert_string_equal(g.os, "");
	assert_string_equal(g.os_release, "");
	assert_int_equal(g.page_size, 0);
	assert_true(g.boot_time == 0);
	assert_int_equal(g.interval, 0);
	proto_doc_free(&d);
	buf_free(&b);
}

static void
test_hello_major2(void **state)
{
	struct msg_hello h, g;
	struct proto_doc d;
	struct buf b;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.major = 2;
	h.minor = 0;
	h.role = ROLE_ADMIN;
	strcpy(h.agent, "ipcfleet 9.0.0");
	buf_init(&b, 4096);
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	frame_unpack(&b, &d);
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	assert_int_equal(g.major, 2);
	assert_int_equal(g.minor, 0);
	proto_doc_free(&d);
	buf_free(&b);
}

/* 1.2: the spool's identity, optional (absent: the legacy identity "") */
static void
test_hello_spool(void **state)
{
	static const char id[] = "0123456789abcdef0123456789abcdef";
	struct msg_hello h, g;
	struct proto_doc d;
	struct buf b;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.major = 1;
	h.minor = PROTO_MINOR;
	h.role = ROLE_AGENT;
	strcpy(h.agent, "a");
	strcpy(h.os, "Linux");
	strcpy(h.os_release, "6.1");
	h.page_size = 4096;
	buf_init(&b, 4096);
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	frame_unpack(&b, &d);
	assert_null(mpr_get(&d.root, "spool"));
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	assert_string_equal(g.spool, "");
	proto_doc_free(&d);

	buf_reset(&b);
	strcpy(h.spool, id);
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	frame_unpack(&b, &d);
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	assert_string_equal(g.spool, id);
	/* anything but 32 lowercase hex digits is refused */
	*tree_get(&d.root, "spool") = obj_str("0123456789ABCDEF0123456789abcdef");
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: spool: expected 32 lowercase hex digits");
	*tree_get(&d.root, "spool") = obj_str("0123456789abcdef");
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	*tree_get(&d.root, "spool") = obj_str("0123456789abcdef0123456789abcdef0");
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	proto_doc_free(&d);
	buf_free(&b);
}

/* hello field checks: page_size, role, missing agent keys */
static void
test_hello_bad(void **state)
{
	struct msg_hello h, g;
	struct proto_doc d;
	struct buf b;
	msgpack_object *ps;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.major = 1;
	h.role = ROLE_AGENT;
	strcpy(h.agent, "a");
	strcpy(h.os, "Linux");
	strcpy(h.os_release, "6.1.0-18-amd64");
	h.page_size = 4096;
	buf_init(&b, 4096);
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	frame_unpack(&b, &d);
	ps = tree_get(&d.root, "page_size");

	ps->via.u64 = 4095;
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: page_size: must be a power of two from 512 to 1048576");
	ps->via.u64 = 256;
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	ps->via.u64 = 2097152;
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	ps->via.u64 = 1048576;
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	assert_int_equal(g.page_size, 1048576);
	ps->via.u64 = 512;
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	ps->via.u64 = (uint64_t)1 << 32;
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: page_size: out of range");

	ps->via.u64 = 4096;
	*tree_get(&d.root, "role") = obj_str("root");
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: role: expected \"agent\" or \"admin\"");
	*tree_get(&d.root, "role") = obj_str("agent");
	tree_del(&d.root, "os_release");
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: os_release: missing");
	/* the same document is not any other message */
	assert_int_equal(proto_decode_ack(&d, &(uint64_t){0}, err, sizeof(err)), -1);
	assert_string_equal(err, "ack: type: expected \"ack\"");
	proto_doc_free(&d);
	buf_free(&b);
}

/*
 * Unknown figures travel (protocol 1.1): the snapshot's list, a scope's
 * reason, an object's unknown fields and the incomplete finding; and the
 * decoder refuses a misshapen list.
 */
static void
test_unknown_roundtrip(void **state)
{
	struct snapshot s, t;
	struct proto_doc d;
	msgpack_object *u0;
	struct buf b;

	(void)state;
	make_snapshot(&s);
	assert_int_equal(snapshot_unknown(&s, UNK_USED, "semmns", "ipcs has no NSEMS column"), 0);
	assert_int_equal(snapshot_unknown(&s, UNK_LIMIT, "shmall", "sysctl: missing"), 0);
	assert_int_equal(snapshot_unknown(&s, UNK_USED, "semmns", "a second reason"), 0);
	assert_int_equal(s.unknown.n, 2); /* the first reason stays */
	snprintf(s.scopes[1].unknown, sizeof(s.scopes[1].unknown), "jail web: view cut short");
	/* the namespace's own limits, some unreadable (semmni is not among them) */
	strcpy(s.scopes[2].limits_unknown, "/proc/sys/kernel/sem: expected four numbers");
	s.objects[0].unknown = OF_RSS | OF_SWAP;
	s.objects[3].unknown = OF_NSEMS;
	assert_int_equal(snapshot_incomplete_finding(&s), 0);
	assert_int_equal(s.findings[s.nfindings - 1].kind, FK_INCOMPLETE);
	assert_string_equal(
	    s.findings[s.nfindings - 1].message,
	    "semmns unknown: ipcs has no NSEMS column; shmall limit unknown: "
	    "sysctl: missing; limits of 1 scope(s) unknown: /proc/sys/kernel/sem: "
	    "expected four numbers; the usage of 1 scope(s) unknown: jail web: view "
	    "cut short");
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	frame_unpack(&b, &d);
	assert_int_equal(snapshot_init(&t), 0);
	if (proto_decode_snapshot(&d, &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	snapshot_equal(&s, &t);
	snapshot_free(&t);

	/* refusals: a figure that is neither, a bad name, a field that is not one */
	u0 = tree_idx(tree_get(&d.root, "unknown"), 0);
	*tree_get(u0, "figure") = obj_str("both");
	assert_int_equal(redecode_snapshot(&d.root, NULL), -1);
	assert_string_equal(err, "snapshot: unknown[0].figure: expected \"used\" or \"limit\"");
	*tree_get(u0, "figure") = obj_str("limit");
	*tree_get(u0, "name") = obj_str("shmall");
	assert_int_equal(redecode_snapshot(&d.root, NULL), -1);
	assert_string_equal(err, "snapshot: unknown[1].name: \"shmall\" is listed twice");
	*tree_get(u0, "name") = obj_str("SEMMNS");
	assert_int_equal(redecode_snapshot(&d.root, NULL), -1);
	assert_string_equal(err, "snapshot: unknown[0].name: bad name (1 to 63 of [a-z0-9_.])");
	*tree_get(u0, "name") = obj_str("semmns");
	*tree_get(u0, "figure") = obj_str("used");
	*tree_idx(tree_get(tree_idx(tree_get(&d.root, "objects"), 3), "unknown"), 0) =
	    obj_str("colour");
	assert_int_equal(redecode_snapshot(&d.root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[3].unknown: \"colour\" is not an object field");
	proto_doc_free(&d);
	buf_free(&b);
	snapshot_free(&s);
}

static void
test_snapshot_roundtrip(void **state)
{
	struct snapshot s, t;
	struct proto_doc d;
	const msgpack_object *objs, *scopes, *o;
	struct buf b;

	(void)state;
	make_snapshot(&s);
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	frame_unpack(&b, &d);
	assert_int_equal(d.type, MSG_SNAPSHOT);

	/* the wire form: exactly the documented keys */
	assert_int_equal(d.root.via.map.size, 8);
	scopes = mpr_get(&d.root, "scopes");
	assert_non_null(scopes);
	assert_int_equal(scopes->via.array.size, 3);
	o = &scopes->via.array.ptr[0];
	assert_int_equal(o->via.map.size, 3); /* id kind name */
	assert_null(mpr_get(o, "isolation"));
	assert_null(mpr_get(o, "limits"));
	o = &scopes->via.array.ptr[1];
	assert_int_equal(o->via.map.size, 4); /* + isolation */
	assert_int_equal(mpr_get(o, "isolation")->via.map.size, 3);
	assert_true(mpr_streq(mpr_get(mpr_get(o, "isolation"), "sem"), "inherit"));
	o = &scopes->via.array.ptr[2];
	assert_int_equal(o->via.map.size, 5); /* + isolation + limits */
	assert_int_equal(mpr_get(o, "isolation")->via.map.size, 1);
	objs = mpr_get(&d.root, "objects");
	assert_non_null(objs);
	assert_int_equal(objs->via.array.size, 4);
	assert_int_equal(objs->via.array.ptr[0].via.map.size, 19); /* + owner */
	assert_true(mpr_streq(mpr_get(&objs->via.array.ptr[0], "owner"), "alice"));
	assert_null(mpr_get(&objs->via.array.ptr[1], "owner")); /* "" is not sent */
	assert_int_equal(objs->via.array.ptr[1].via.map.size, 12);
	assert_int_equal(objs->via.array.ptr[2].via.map.size, 17);
	assert_int_equal(objs->via.array.ptr[3].via.map.size, 10);
	assert_null(mpr_get(&objs->via.array.ptr[1], "size"));
	assert_null(mpr_get(&objs->via.array.ptr[3], "otime"));
	assert_true(mpr_streq(mpr_get(&objs->via.array.ptr[0], "scope"), "jail:web"));

	assert_int_equal(snapshot_init(&t), 0);
	if (proto_decode_snapshot(&d, &t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	snapshot_equal(&s, &t);
	/* a few spelled out, so that a bug shared by both sides shows too */
	assert_true(t.limits.v[2].value == 18446744073692774399ULL);
	assert_true(t.scopes[2].limits.v[1].value == 18446744073692774399ULL);
	assert_string_equal(t.scopes[0].name, "sorthat");
	assert_string_equal(t.scopes[2].id, "ipcns:4026532200");
	assert_int_equal(t.scopes[1].iso[IPC_MSG], ISO_DISABLE);
	assert_int_equal(t.scopes[2].iso[IPC_SEM], ISO_UNKNOWN);
	assert_int_equal(t.scopes[2].own_limits, 1);
	assert_int_equal(t.scopes[1].own_limits, 0);
	assert_true(t.objects[0].key == -559038737);
	assert_true(t.objects[3].key == INT64_MIN);
	assert_true(t.objects[3].nsems == UINT64_MAX);
	assert_int_equal(t.objects[2].uid, 4294967295u);
	assert_string_equal(t.objects[0].owner, "alice");
	assert_string_equal(t.objects[1].owner, "");
	assert_int_equal(t.nfindings, 2);
	assert_int_equal(t.findings[0].kind, FK_ORPHAN);
	assert_int_equal(t.findings[0].otype, IPC_SEM);
	assert_true(t.findings[0].age == 10800);
	assert_string_equal(t.findings[0].command, "nsenter -t 4242 -i ipcrm -s 2");
	assert_string_equal(t.findings[1].scope, "");
	assert_int_equal(t.findings[1].has_object, 0);
	assert_string_equal(t.os, "");
	assert_int_equal(t.page_size, 0);

	snapshot_free(&t);
	snapshot_free(&s);
	proto_doc_free(&d);
	buf_free(&b);
}

static void
test_ack_roundtrip(void **state)
{
	struct proto_doc d;
	struct buf b;
	uint64_t seq;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(proto_encode_ack(&b, UINT64_MAX), 0);
	frame_unpack(&b, &d);
	assert_int_equal(d.type, MSG_ACK);
	assert_int_equal(d.root.via.map.size, 2);
	assert_int_equal(proto_decode_ack(&d, &seq, err, sizeof(err)), 0);
	assert_true(seq == UINT64_MAX);
	proto_doc_free(&d);

	buf_reset(&b);
	assert_int_equal(proto_encode_ack(&b, 0), 0);
	frame_unpack(&b, &d);
	assert_int_equal(proto_decode_ack(&d, &seq, err, sizeof(err)), -1);
	assert_string_equal(err, "ack: seq: must be at least 1");
	proto_doc_free(&d);
	buf_free(&b);
}

static void
test_query_roundtrip(void **state)
{
	struct msg_query q, r;
	struct proto_doc d;
	struct buf b;

	(void)state;
	memset(&q, 0, sizeof(q));
	q.id = 77;
	strcpy(q.cmd, "host");
	q.nargs = 2;
	strcpy(q.args[0].name, "name");
	strcpy(q.args[0].value, "db7");
	strcpy(q.args[1].name, "since");
	strcpy(q.args[1].value, "7d");
	buf_init(&b, 4096);
	assert_int_equal(proto_encode_query(&b, &q), 0);
	frame_unpack(&b, &d);
	assert_int_equal(d.type, MSG_QUERY);
	assert_int_equal(proto_decode_query(&d, &r, err, sizeof(err)), 0);
	assert_true(r.id == 77);
	assert_string_equal(r.cmd, "host");
	assert_int_equal(r.nargs, 2);
	assert_string_equal(r.args[0].name, "name");
	assert_string_equal(r.args[0].value, "db7");
	assert_string_equal(r.args[1].name, "since");
	assert_string_equal(r.args[1].value, "7d");
	proto_doc_free(&d);

	/* no args: the key is omitted */
	buf_reset(&b);
	q.nargs = 0;
	strcpy(q.cmd, "hosts");
	assert_int_equal(proto_encode_query(&b, &q), 0);
	frame_unpack(&b, &d);
	assert_null(mpr_get(&d.root, "args"));
	assert_int_equal(proto_decode_query(&d, &r, err, sizeof(err)), 0);
	assert_string_equal(r.cmd, "hosts");
	assert_int_equal(r.nargs, 0);

	/* args: str -> str only, at most 8, names once */
	tree_add(&d, &d.root, "args", obj_u64(1));
	assert_int_equal(proto_decode_query(&d, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "query: args: expected map");
	proto_doc_free(&d);

	buf_reset(&b);
	q.nargs = QUERY_MAX_ARGS;
	for (size_t i = 0; i < QUERY_MAX_ARGS; i++) {
		snprintf(q.args[i].name, sizeof(q.args[i].name), "a%zu", i);
		strcpy(q.args[i].value, "v");
	}
	assert_int_equal(proto_encode_query(&b, &q), 0);
	frame_unpack(&b, &d);
	assert_int_equal(proto_decode_query(&d, &r, err, sizeof(err)), 0);
	assert_int_equal(r.nargs, 8);
	assert_string_equal(r.args[7].name, "a7");
	tree_add(&d, tree_get(&d.root, "args"), "a8", obj_str("v"));
	assert_int_equal(proto_decode_query(&d, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "query: args: too many entries (at most 8)");
	proto_doc_free(&d);

	buf_reset(&b);
	q.nargs = 2;
	strcpy(q.args[1].name, "a0");
	assert_int_equal(proto_encode_query(&b, &q), 0);
	frame_unpack(&b, &d);
	assert_int_equal(proto_decode_query(&d, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "query: args.a0: duplicate key");
	proto_doc_free(&d);

	buf_reset(&b);
	q.nargs = 1;
	q.args[0].value[0] = '\0';
	assert_int_equal(proto_encode_query(&b, &q), 0);
	frame_unpack(&b, &d);
	*tree_get(tree_get(&d.root, "args"), "a0") = obj_u64(3);
	assert_int_equal(proto_decode_query(&d, &r, err, sizeof(err)), -1);
	assert_string_equal(err, "query: args.a0: expected string");
	proto_doc_free(&d);
	buf_free(&b);
}

static void
test_error_roundtrip(void **state)
{
	struct msg_error e, f;
	struct proto_doc d;
	struct buf b;

	(void)state;
	memset(&e, 0, sizeof(e));
	e.code = PERR_NOT_FOUND;
	e.id = 9;
	strcpy(e.text, "unknown host 'db8'");
	buf_init(&b, 4096);
	assert_int_equal(proto_encode_error(&b, &e), 0);
	frame_unpack(&b, &d);
	assert_int_equal(d.type, MSG_ERROR);
	assert_int_equal(d.root.via.map.size, 4);
	assert_int_equal(proto_decode_error(&d, &f, err, sizeof(err)), 0);
	assert_int_equal(f.code, 5);
	assert_true(f.id == 9);
	assert_string_equal(f.text, "unknown host 'db8'");
	assert_string_equal(proto_err_name(f.code), "not_found");
	proto_doc_free(&d);

	buf_reset(&b);
	e.code = PERR_VERSION;
	e.id = 0;
	strcpy(e.text, "unsupported protocol version 2.0; this aggregator speaks 1.x");
	assert_int_equal(proto_encode_error(&b, &e), 0);
	frame_unpack(&b, &d);
	assert_int_equal(d.root.via.map.size, 3);
	assert_null(mpr_get(&d.root, "id"));
	assert_int_equal(proto_decode_error(&d, &f, err, sizeof(err)), 0);
	assert_int_equal(f.code, 2);
	assert_true(f.id == 0);
	assert_string_equal(f.text, e.text);
	tree_del(&d.root, "text");
	assert_int_equal(proto_decode_error(&d, &f, err, sizeof(err)), -1);
	assert_string_equal(err, "error: text: missing");
	proto_doc_free(&d);
	buf_free(&b);

	assert_string_equal(proto_err_name(PERR_BAD_FRAME), "bad_frame");
	assert_string_equal(proto_err_name(PERR_STATE), "state");
	assert_string_equal(proto_err_name(99), "unknown");
}

static void
test_reply_roundtrip(void **state)
{
	const msgpack_object *body;
	struct proto_doc d;
	msgpack_packer pk;
	struct buf b;
	size_t start;
	uint64_t id;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(proto_reply_begin(&b, 12, &pk, &start), 0);
	assert_int_equal(start, 0);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_uint64(&pk, 266);
	mp_pack_str(&pk, "sorthat");
	msgpack_pack_map(&pk, 1);
	mp_pack_str(&pk, "pct");
	msgpack_pack_double(&pk, 78.2);
	assert_int_equal(proto_reply_end(&b, start), 0);
	frame_unpack(&b, &d);
	assert_int_equal(d.type, MSG_REPLY);
	assert_int_equal(proto_decode_reply(&d, &id, &body, err, sizeof(err)), 0);
	assert_true(id == 12);
	assert_int_equal(body->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(body->via.array.size, 3);
	assert_true(body->via.array.ptr[0].via.u64 == 266);
	assert_true(mpr_streq(&body->via.array.ptr[1], "sorthat"));
	assert_true(mpr_get(&body->via.array.ptr[2], "pct")->via.f64 == 78.2);
	tree_del(&d.root, "body");
	assert_int_equal(proto_decode_reply(&d, &id, &body, err, sizeof(err)), -1);
	assert_string_equal(err, "reply: body: missing");
	proto_doc_free(&d);
	buf_free(&b);
}

/* Frames that cannot be built: empty payload, buffer cap. */
static void
test_encode_limits(void **state)
{
	struct snapshot s;
	msgpack_packer pk;
	struct buf b;
	size_t start, n;
	int i;

	(void)state;
	buf_init(&b, 4096);
	start = proto_frame_begin(&b);
	assert_int_equal(proto_frame_end(&b, start), -1); /* empty payload */
	assert_int_equal(proto_frame_end(&b, 100), -1);   /* beyond the buffer */
	buf_free(&b);

	buf_init(&b, 10);
	assert_int_equal(proto_encode_ack(&b, 1), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);

	/* a reply body the peer would refuse (9 deep) is not sent either */
	buf_init(&b, 4096);
	assert_int_equal(proto_encode_ack(&b, 5), 0);
	n = b.len;
	assert_int_equal(proto_reply_begin(&b, 1, &pk, &start), 0);
	assert_int_equal(start, n);
	for (i = 0; i < 8; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	assert_int_equal(proto_reply_end(&b, start), -1);
	assert_int_equal(b.len, n); /* the ack before it is kept */
	assert_int_equal(proto_reply_begin(&b, 1, &pk, &start), 0);
	for (i = 0; i < 7; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	assert_int_equal(proto_reply_end(&b, start), 0);
	buf_free(&b);

	/* an object whose scope does not exist: nothing written */
	make_snapshot(&s);
	s.objects[1].scope = 3;
	buf_init(&b, PROTO_MAX_FRAME);
	assert_int_equal(proto_encode_snapshot(&b, &s), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	snapshot_free(&s);
}

/* ---- framing and the validator ---- */

static void
test_frame_header(void **state)
{
	uint8_t h[4];
	uint32_t len;
	const char *why;

	(void)state;
	memcpy(h, "\x00\x00\x00\x00", 4);
	assert_int_equal(frame_header(h, PROTO_MAX_FRAME, &len, &why), -1);
	assert_string_equal(why, "empty frame");
	memcpy(h, "\x00\x00\x00\x01", 4);
	assert_int_equal(frame_header(h, PROTO_MAX_FRAME, &len, &why), 0);
	assert_int_equal(len, 1);
	/* 16 MiB exactly, then one more */
	memcpy(h, "\x01\x00\x00\x00", 4);
	assert_int_equal(frame_header(h, PROTO_MAX_FRAME, &len, &why), 0);
	assert_int_equal(len, 16777216);
	memcpy(h, "\x01\x00\x00\x01", 4);
	assert_int_equal(frame_header(h, PROTO_MAX_FRAME, &len, &why), -1);
	assert_string_equal(why, "frame too large");
	memcpy(h, "\xff\xff\xff\xff", 4);
	assert_int_equal(frame_header(h, PROTO_MAX_FRAME, &len, &why), -1);
	assert_int_equal(len, UINT32_MAX);
	/* the smaller cap of hello and queries */
	memcpy(h, "\x00\x01\x00\x01", 4);
	assert_int_equal(frame_header(h, 65536, &len, &why), -1);
	assert_int_equal(len, 65537);
	memcpy(h, "\x00\x01\x00\x00", 4);
	assert_int_equal(frame_header(h, 65536, &len, &why), 0);
	/* a cap above the protocol's is a caller bug */
	memcpy(h, "\x00\x00\x00\x01", 4);
	assert_int_equal(frame_header(h, PROTO_MAX_FRAME + 1, &len, &why), -1);
}

/* {"type": "x", "a": <depth - 1 nested arrays>}: the root map is depth 1. */
static size_t
nested(uint8_t *p, int depth)
{
	size_t n = 0;
	int i;

	memcpy(p,
	       "\x82\xa4type\xa1x\xa1"
	       "a",
	       10);
	n = 10;
	for (i = 2; i < depth; i++)
		p[n++] = 0x91;
	p[n++] = 0x90;
	return n;
}

static void
test_depth(void **state)
{
	uint8_t p[32];
	struct proto_doc d;
	const char *why;
	size_t n;

	(void)state;
	n = nested(p, 8);
	assert_int_equal(n, 17);
	assert_int_equal(validate(p, n, &why), 0);
	assert_int_equal(proto_doc_unpack(p, n, &d, err, sizeof(err)), 0);
	assert_int_equal(d.type, MSG_UNKNOWN);
	proto_doc_free(&d);

	n = nested(p, 9);
	assert_int_equal(validate(p, n, &why), -1);
	assert_string_equal(why, "nesting too deep");
	assert_int_equal(proto_doc_unpack(p, n, &d, err, sizeof(err)), -1);
	assert_string_equal(err, "bad frame: nesting too deep");
	assert_int_equal(d.live, 0);
	proto_doc_free(&d);

	/* maps nest the same way: 8 maps deep, then 9 */
	memcpy(p, "\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x80", 22);
	assert_int_equal(validate(p, 22, &why), 0);
	memcpy(p, "\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x81\xa1k\x80",
	       25);
	assert_int_equal(validate(p, 25, &why), -1);
	assert_string_equal(why, "nesting too deep");
}

static void
test_counts(void **state)
{
	const char *why;

	(void)state;
	/* array16 of 5 with 4 bytes left; then 4 with 4 */
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xdc\x00\x05\x01\x01\x01\x01"),
	                 -1);
	assert_string_equal(why, "element count larger than the bytes left");
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xdc\x00\x04\x01\x01\x01\x01"),
	                 0);
	/* map of 2 pairs needs 4 bytes; 3 left */
	assert_int_equal(VAL("\x81\xa1"
	                     "a\x82\xa1"
	                     "b\x01"),
	                 -1);
	assert_string_equal(why, "element count larger than the bytes left");
	/* root map32 claiming 2^32-1 pairs */
	assert_int_equal(VAL("\xdf\xff\xff\xff\xff\xa1"
	                     "a\x01"),
	                 -1);
	/* array32 of 2^32-1 inside a map */
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xdd\xff\xff\xff\xff\x01"),
	                 -1);
	assert_string_equal(why, "element count larger than the bytes left");
	/* str8 of 10 with 2 bytes left */
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xd9\x0a"
	                     "bc"),
	                 -1);
	assert_string_equal(why, "length larger than the bytes left");
	/* str32 of 4 GiB */
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xdb\xff\xff\xff\xff"),
	                 -1);
	/* bin32 of 4 GiB */
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xc6\xff\xff\xff\xff"),
	                 -1);
	/* a uint64 cut short */
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xcf\x00\x00"),
	                 -1);
	assert_string_equal(why, "length larger than the bytes left");
	/* a str16 header cut short */
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xda\x00"),
	                 -1);
	assert_string_equal(why, "truncated payload");
}

static void
test_known_hazards(void **state)
{
	uint8_t p[45];
	struct proto_doc d;
	const char *why;

	(void)state;
	/* msgpack-c would try to allocate 4 billion elements */
	assert_int_equal(VAL("\xdd\xff\x00\x00\x00"), -1);
	assert_int_equal(
	    proto_doc_unpack((const uint8_t *)"\xdd\xff\x00\x00\x00", 5, &d, err, sizeof(err)), -1);
	memset(p, 0xdf, 43);
	p[43] = '\n';
	p[44] = '\n';
	assert_int_equal(validate(p, sizeof(p), &why), -1);
	assert_string_equal(why, "element count larger than the bytes left");
	assert_int_equal(proto_doc_unpack(p, sizeof(p), &d, err, sizeof(err)), -1);
}

static void
test_shape(void **state)
{
	struct proto_doc d;
	const char *why;

	(void)state;
	/* trailing bytes after the map */
	assert_int_equal(VAL("\x81\xa4type\xa3"
	                     "ack\x00"),
	                 -1);
	assert_string_equal(why, "trailing bytes after the map");
	assert_int_equal(VAL("\x81\xa4type\xa3"
	                     "ack"),
	                 0);
	assert_int_equal(VAL("\x80\x80"), -1);
	assert_string_equal(why, "trailing bytes after the map");
	assert_int_equal(VAL("\x80"), 0);
	/* roots that are not maps */
	assert_int_equal(VAL("\x91\x01"), -1);
	assert_string_equal(why, "payload is not a map");
	assert_int_equal(VAL("\x01"), -1);
	assert_int_equal(VAL("\xa1x"), -1);
	assert_int_equal(VAL("\xc0"), -1);
	assert_int_equal(VAL(""), -1);
	assert_string_equal(why, "empty payload");
	/* keys must be strings */
	assert_int_equal(VAL("\x81\x01\x02"), -1);
	assert_string_equal(why, "map key is not a string");
	assert_int_equal(VAL("\x81\xc4\x01x\x02"), -1);
	assert_string_equal(why, "map key is not a string");
	/* 0xc1, ext and fixext */
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xc1"),
	                 -1);
	assert_string_equal(why, "reserved msgpack byte 0xc1");
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xd4\x01\x02"),
	                 -1);
	assert_string_equal(why, "msgpack ext types are not used by this protocol");
	assert_int_equal(VAL("\x81\xa1"
	                     "a\xc7\x01\x05\x00"),
	                 -1);
	/* every scalar type the protocol allows */
	assert_int_equal(VAL("\x8c\xa1"
	                     "a\xc0\xa1"
	                     "b\xc2\xa1"
	                     "c\xc3\xa1"
	                     "d\xca\x00\x00\x00\x00\xa1"
	                     "e\xcb\x00\x00\x00\x00\x00\x00\x00\x00\xa1"
	                     "f\xcc\x01\xa1"
	                     "g\xd3\x00\x00\x00\x00\x00\x00\x00\x01\xa1"
	                     "h\xff\xa1"
	                     "i\xc4\x01z\xa1"
	                     "j\xd9\x01z\xa1"
	                     "k\xde\x00\x00\xa1"
	                     "l\xdc\x00\x00"),
	                 0);

	/* the type key: missing, mistyped, duplicated, unknown */
	assert_int_equal(proto_doc_unpack((const uint8_t *)"\x81\xa1"
	                                                   "a\x01",
	                                  4, &d, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "bad frame: type: missing");
	assert_int_equal(
	    proto_doc_unpack((const uint8_t *)"\x81\xa4type\x01", 7, &d, err, sizeof(err)), -1);
	assert_string_equal(err, "bad frame: type: expected string");
	assert_int_equal(proto_doc_unpack((const uint8_t *)"\x82\xa4type\xa3"
	                                                   "ack\xa4type\xa3"
	                                                   "ack",
	                                  19, &d, err, sizeof(err)),
	                 -1);
	assert_string_equal(err, "bad frame: type: duplicate key");
	assert_int_equal(
	    proto_doc_unpack((const uint8_t *)"\x81\xa4type\xa4ping", 11, &d, err, sizeof(err)), 0);
	assert_int_equal(d.type, MSG_UNKNOWN);
	assert_int_equal(d.live, 1);
	proto_doc_free(&d);
	assert_int_equal(d.live, 0);
}

static void
test_long_string(void **state)
{
	struct proto_doc d;
	msgpack_packer pk;
	struct buf b;
	const char *why;
	char *s;

	(void)state;
	s = malloc(PROTO_MAX_STR + 2);
	assert_non_null(s);
	memset(s, 'x', PROTO_MAX_STR + 1);
	s[PROTO_MAX_STR + 1] = '\0';

	buf_init(&b, PROTO_MAX_FRAME);
	proto_packer_init(&pk, &b);
	msgpack_pack_map(&pk, 2);
	mp_pack_kv_str(&pk, "type", "hello");
	mp_pack_kv_str(&pk, "x", s);
	assert_int_equal(validate(b.data, b.len, &why), -1);
	assert_string_equal(why, "string too long");
	assert_int_equal(proto_doc_unpack((const uint8_t *)b.data, b.len, &d, err, sizeof(err)),
	                 -1);

	/* exactly 64 KiB is fine */
	buf_reset(&b);
	s[PROTO_MAX_STR] = '\0';
	msgpack_pack_map(&pk, 2);
	mp_pack_kv_str(&pk, "type", "hello");
	mp_pack_kv_str(&pk, "x", s);
	assert_int_equal(validate(b.data, b.len, &why), 0);

	/* bin has the same bound */
	buf_reset(&b);
	msgpack_pack_map(&pk, 2);
	mp_pack_kv_str(&pk, "type", "hello");
	mp_pack_str(&pk, "x");
	msgpack_pack_bin(&pk, PROTO_MAX_STR + 1);
	msgpack_pack_bin_body(&pk, s, PROTO_MAX_STR + 1);
	assert_int_equal(validate(b.data, b.len, &why), -1);
	assert_string_equal(why, "string too long");

	buf_free(&b);
	free(s);
}

static void
test_element_cap(void **state)
{
	msgpack_packer pk;
	struct buf b;
	const char *why;
	uint32_t i;

	(void)state;
	/* {"a": [1 x (2^20 - 3)]} is 2^20 objects (root, key, array); one more is too many */
	buf_init(&b, PROTO_MAX_FRAME);
	proto_packer_init(&pk, &b);
	msgpack_pack_map(&pk, 1);
	mp_pack_str(&pk, "a");
	msgpack_pack_array(&pk, PROTO_MAX_ELEMENTS - 3);
	for (i = 0; i < PROTO_MAX_ELEMENTS - 3; i++)
		msgpack_pack_uint8(&pk, 1);
	assert_int_equal(validate(b.data, b.len, &why), 0);
	buf_reset(&b);
	msgpack_pack_map(&pk, 1);
	mp_pack_str(&pk, "a");
	msgpack_pack_array(&pk, PROTO_MAX_ELEMENTS - 2);
	for (i = 0; i < PROTO_MAX_ELEMENTS - 2; i++)
		msgpack_pack_uint8(&pk, 1);
	assert_int_equal(validate(b.data, b.len, &why), -1);
	assert_string_equal(why, "too many objects");
	buf_free(&b);
}

static void
test_prefixes(void **state)
{
	struct proto_doc d;
	const char *why;
	uint8_t *p, *q;
	size_t n, k;

	(void)state;
	p = snapshot_payload(&n);
	assert_true(n > 300);
	assert_int_equal(validate(p, n, &why), 0);
	for (k = 0; k < n; k++) {
		/* an exactly sized copy, so that any overread is caught */
		q = malloc(k ? k : 1);
		assert_non_null(q);
		memcpy(q, p, k);
		assert_int_equal(frame_validate(q, k, &why), -1);
		assert_int_equal(proto_doc_unpack(q, k, &d, err, sizeof(err)), -1);
		assert_int_equal(d.live, 0);
		free(q);
	}
	free(p);
}

/* ---- schema errors ---- */

static void
test_missing_and_mistyped(void **state)
{
	struct proto_doc d;
	msgpack_object *o3, *root;

	(void)state;
	snapshot_doc(&d);
	root = &d.root;
	o3 = tree_idx(tree_get(root, "objects"), 3);

	*tree_get(o3, "nsems") = obj_str("17");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[3].nsems: expected unsigned integer");

	tree_del(o3, "nsems");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[3].nsems: missing");
	tree_add(&d, o3, "nsems", obj_u64(17));
	assert_int_equal(redecode_snapshot(root, NULL), 0);

	tree_del(root, "objects");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects: missing");
	proto_doc_free(&d);

	snapshot_doc(&d);
	root = &d.root;
	tree_del(root, "seq");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: seq: missing");
	tree_add(&d, root, "seq", obj_u64(0));
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: seq: must be at least 1");
	*tree_get(root, "seq") = obj_neg(-1);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: seq: expected unsigned integer");
	*tree_get(root, "seq") = obj_u64(1);

	*tree_get(tree_idx(tree_get(root, "scopes"), 1), "name") = obj_u64(1);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[1].name: expected string");
	*tree_get(tree_idx(tree_get(root, "scopes"), 1), "name") = obj_str("web");

	*tree_get(tree_idx(tree_get(root, "objects"), 0), "atime") = obj_str("never");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].atime: expected integer");
	*tree_get(tree_idx(tree_get(root, "objects"), 0), "atime") = obj_neg(-5);
	assert_int_equal(redecode_snapshot(root, NULL), 0);

	*tree_get(tree_idx(tree_get(root, "objects"), 2), "type") = obj_str("sock");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[2].type: expected \"shm\", \"sem\" or \"msg\"");
	*tree_get(tree_idx(tree_get(root, "objects"), 2), "type") = obj_str("msg");

	*tree_get(root, "limits") = obj_u64(1);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: limits: expected map");
	proto_doc_free(&d);
}

static void
test_unknown_fields(void **state)
{
	struct snapshot s, t;
	struct proto_doc d;
	msgpack_object *root, *nested;

	(void)state;
	snapshot_doc(&d);
	root = &d.root;
	/* an unknown key holding a map, at every level */
	nested = msgpack_zone_malloc(&d.zone, sizeof(*nested));
	assert_non_null(nested);
	nested->type = MSGPACK_OBJECT_MAP;
	nested->via.map.size = 0;
	nested->via.map.ptr = NULL;
	tree_add(&d, nested, "deep", obj_u64(5));
	tree_add(&d, root, "future", *nested);
	tree_add(&d, tree_idx(tree_get(root, "scopes"), 1), "jid", obj_u64(4));
	tree_add(&d, tree_get(tree_idx(tree_get(root, "scopes"), 1), "isolation"), "posix",
	         obj_str("new"));
	tree_add(&d, tree_idx(tree_get(root, "objects"), 1), "label", obj_str("pg"));
	/* a field of another object type is ignored too */
	tree_add(&d, tree_idx(tree_get(root, "objects"), 1), "size", obj_u64(99));
	assert_int_equal(redecode_snapshot(root, &t), 0);
	make_snapshot(&s);
	snapshot_equal(&s, &t);
	assert_true(t.objects[1].size == 0);
	snapshot_free(&s);
	snapshot_free(&t);
	proto_doc_free(&d);
}

static void
test_ranges(void **state)
{
	struct proto_doc d;
	struct snapshot t;
	msgpack_object *root, *o0, *o2;

	(void)state;
	snapshot_doc(&d);
	root = &d.root;
	o0 = tree_idx(tree_get(root, "objects"), 0);
	o2 = tree_idx(tree_get(root, "objects"), 2);

	*tree_get(o0, "size") = obj_neg(-1);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].size: expected unsigned integer");
	*tree_get(o0, "size") = obj_u64(UINT64_MAX);
	assert_int_equal(redecode_snapshot(root, &t), 0);
	assert_true(t.objects[0].size == UINT64_MAX);
	snapshot_free(&t);

	*tree_get(o0, "uid") = obj_u64((uint64_t)1 << 32);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].uid: out of range");
	*tree_get(o0, "uid") = obj_u64(UINT32_MAX);
	assert_int_equal(redecode_snapshot(root, NULL), 0);
	*tree_get(o0, "uid") = obj_neg(-2);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].uid: expected unsigned integer");
	*tree_get(o0, "uid") = obj_u64(1001);

	*tree_get(o2, "mode") = obj_u64((uint64_t)1 << 32);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[2].mode: out of range");
	*tree_get(o2, "mode") = obj_u64(0660);

	/* int64 fields: a msgpack uint64 above INT64_MAX does not fit */
	*tree_get(o0, "id") = obj_u64((uint64_t)INT64_MAX + 1);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].id: out of range");
	*tree_get(o0, "id") = obj_u64(65536);
	*tree_get(o0, "cpid") = obj_u64(UINT64_MAX);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].cpid: out of range");
	*tree_get(o0, "cpid") = obj_u64(4242);
	*tree_get(root, "time") = obj_u64((uint64_t)INT64_MAX + 1);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: time: out of range");
	*tree_get(root, "time") = obj_u64(1764165700);

	/* limit values are unsigned; names are kernel names */
	*tree_get(tree_get(root, "limits"), "semmns") = obj_neg(-340);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: limits.semmns: expected unsigned integer");
	*tree_get(tree_get(root, "limits"), "semmns") = obj_u64(340);
	tree_add(&d, tree_get(root, "limits"), "SEMMNS", obj_u64(1));
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err,
	                    "snapshot: limits: entry 4: bad limit name (1 to 63 of [a-z0-9_.])");
	tree_del(tree_get(root, "limits"), "SEMMNS");
	tree_add(&d, tree_get(root, "limits"), "semmns", obj_u64(1));
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: limits.semmns: duplicate limit");
	proto_doc_free(&d);
}

static void
test_too_many_limits(void **state)
{
	struct snapshot s, t;
	struct proto_doc d;
	struct buf b;
	char name[16];
	int i;

	(void)state;
	make_snapshot(&s);
	for (i = (int)s.limits.n; i < MODEL_MAX_LIMITS; i++) {
		snprintf(name, sizeof(name), "lim%d", i);
		assert_int_equal(limits_set(&s.limits, name, (uint64_t)i), 0);
	}
	buf_init(&b, PROTO_MAX_FRAME);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	frame_unpack(&b, &d);
	assert_int_equal(redecode_snapshot(&d.root, &t), 0);
	assert_int_equal(t.limits.n, 64);
	snapshot_equal(&s, &t);
	snapshot_free(&t);
	tree_add(&d, tree_get(&d.root, "limits"), "one_more", obj_u64(1));
	assert_int_equal(redecode_snapshot(&d.root, NULL), -1);
	assert_string_equal(err, "snapshot: limits: too many entries (at most 64)");
	proto_doc_free(&d);
	buf_free(&b);
	snapshot_free(&s);
}

static void
test_scopes(void **state)
{
	struct proto_doc d;
	msgpack_object *root, *sc, *s1, *s2;

	(void)state;
	snapshot_doc(&d);
	root = &d.root;
	sc = tree_get(root, "scopes");
	s1 = tree_idx(sc, 1);
	s2 = tree_idx(sc, 2);

	/* an object in a scope that is not listed */
	*tree_get(tree_idx(tree_get(root, "objects"), 1), "scope") = obj_str("jail:nope");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[1].scope: no such scope in scopes");
	*tree_get(tree_idx(tree_get(root, "objects"), 1), "scope") = obj_str("host");

	/* the same id twice */
	*tree_get(s1, "kind") = obj_str("ipcns");
	*tree_get(s1, "id") = obj_str("ipcns:4026532200");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[2].id: duplicate scope id");
	*tree_get(s1, "kind") = obj_str("jail");
	*tree_get(s1, "id") = obj_str("jail:web");
	assert_int_equal(redecode_snapshot(root, NULL), 0);

	/* ids must match their kind */
	*tree_get(s1, "id") = obj_str("ipcns:1");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[1].id: expected \"jail:NAME\" for kind jail");
	*tree_get(s1, "id") = obj_str("jail:");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	*tree_get(s1, "id") = obj_str("jail:web");
	*tree_get(s2, "id") = obj_str("jail:4026532200");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[2].id: expected \"ipcns:NAME\" for kind ipcns");
	*tree_get(s2, "id") = obj_str("ipcns:4026532200");
	*tree_get(s1, "id") = obj_str("jail:web");

	/* a second host scope */
	*tree_get(s1, "kind") = obj_str("host");
	*tree_get(s1, "id") = obj_str("host");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[1].kind: only the first scope may be the host");
	*tree_get(s1, "kind") = obj_str("jail");
	*tree_get(s1, "id") = obj_str("jail:web");

	/* own limits belong to IPC namespaces */
	tree_add(&d, s1, "limits", *tree_get(root, "limits"));
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(
	    err, "snapshot: scopes[1].limits: only an ipcns scope has limits of its own");
	tree_del(s1, "limits");

	/* isolation values */
	*tree_get(tree_get(s1, "isolation"), "shm") = obj_str("shared");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[1].isolation.shm: expected \"new\", "
	                         "\"inherit\", \"disable\" or \"unknown\"");
	*tree_get(tree_get(s1, "isolation"), "shm") = obj_str("new");

	/* a name that does not fit is refused, not cut */
	*tree_get(s1, "name") =
	    obj_str("0123456789012345678901234567890123456789012345678901234567890123");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[1].name: too long (at most 63 bytes)");
	*tree_get(s1, "name") =
	    obj_str("012345678901234567890123456789012345678901234567890123456789012");
	assert_int_equal(redecode_snapshot(root, NULL), 0);
	*tree_get(s1, "name") = obj_str("we\033[2Jb");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[1].name: contains control characters");
	*tree_get(s1, "name") = obj_str("web");

	/* the first scope must be the host */
	*tree_get(tree_idx(sc, 0), "id") = obj_str("jail:x");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[0].id: the first scope must be the host (id "
	                         "and kind \"host\")");
	*tree_get(tree_idx(sc, 0), "id") = obj_str("host");

	/* no scopes at all */
	sc->via.array.size = 0;
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes: expected 1 to 4096 scopes");
	sc->via.array.size = 3;
	assert_int_equal(redecode_snapshot(root, NULL), 0);
	proto_doc_free(&d);
}

/*
 * A jail's rctl on the wire: what is known of each resource, back as it
 * was; only a jail has one; an entry says a used or a limit; resources this
 * version does not know are ignored.
 */
static void
test_rctl_wire(void **state)
{
	struct snapshot s, back;
	struct proto_doc d;
	struct buf b;
	msgpack_object *s1, *s2, *rctl, entry;

	(void)state;
	make_snapshot(&s);
	s.scopes[1].rctl.has_limit = 1u << RCTL_NSEM | 1u << RCTL_NSHM;
	s.scopes[1].rctl.has_used = 1u << RCTL_NSEM | 1u << RCTL_SHMSIZE;
	s.scopes[1].rctl.limit[RCTL_NSEM] = 40;
	s.scopes[1].rctl.limit[RCTL_NSHM] = 10;
	s.scopes[1].rctl.used[RCTL_NSEM] = 34;
	s.scopes[1].rctl.used[RCTL_SHMSIZE] = UINT64_MAX;
	/* not a jail: not sent (the decoder would refuse it) */
	s.scopes[2].rctl.has_used = 1u << RCTL_NSEM;
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	assert_int_equal(proto_doc_unpack((const uint8_t *)b.data + PROTO_HDR_LEN,
	                                  b.len - PROTO_HDR_LEN, &d, err, sizeof(err)),
	                 0);
	buf_free(&b);
	assert_int_equal(redecode_snapshot(&d.root, &back), 0);
	assert_memory_equal(&back.scopes[1].rctl, &s.scopes[1].rctl, sizeof(s.scopes[1].rctl));
	assert_int_equal(back.scopes[2].rctl.has_used, 0);
	snapshot_free(&back);
	snapshot_free(&s);

	s1 = tree_idx(tree_get(&d.root, "scopes"), 1);
	s2 = tree_idx(tree_get(&d.root, "scopes"), 2);
	rctl = tree_get(s1, "rctl");
	/* an IPC namespace has no rctl */
	tree_add(&d, s2, "rctl", *rctl);
	assert_int_equal(redecode_snapshot(&d.root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[2].rctl: only a jail scope has rctl");
	tree_del(s2, "rctl");
	/* a resource this version does not know: ignored */
	entry = *tree_get(rctl, "nsem");
	tree_add(&d, rctl, "cputime", entry);
	assert_int_equal(redecode_snapshot(&d.root, NULL), 0);
	/* an entry with neither used nor limit */
	tree_del(tree_get(rctl, "nshm"), "limit");
	assert_int_equal(redecode_snapshot(&d.root, NULL), -1);
	assert_string_equal(err, "snapshot: scopes[1].rctl.nshm: needs used or limit");
	proto_doc_free(&d);
}

/* The findings on the wire: only the keys that are set, in the documented names. */
static void
test_findings_wire(void **state)
{
	struct snapshot s;
	struct proto_doc d;
	const msgpack_object *fa, *f;
	struct buf b;

	(void)state;
	make_snapshot(&s);
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	frame_unpack(&b, &d);
	fa = mpr_get(&d.root, "findings");
	assert_non_null(fa);
	assert_int_equal(fa->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(fa->via.array.size, 2);
	f = &fa->via.array.ptr[0];
	assert_int_equal(f->via.map.size, 10);
	assert_true(mpr_streq(mpr_get(f, "kind"), "orphan"));
	assert_true(mpr_streq(mpr_get(f, "severity"), "warn"));
	assert_true(mpr_streq(mpr_get(f, "scope"), "ipcns:4026532200"));
	assert_true(mpr_streq(mpr_get(f, "limit"), "semmns"));
	assert_true(mpr_streq(mpr_get(f, "type"), "sem"));
	assert_true(mpr_get(f, "id")->via.u64 == 2);
	assert_true(mpr_get(f, "age")->via.u64 == 10800);
	assert_true(mpr_get(f, "uid")->via.u64 == 70);
	assert_true(mpr_streq(mpr_get(f, "command"), "nsenter -t 4242 -i ipcrm -s 2"));
	f = &fa->via.array.ptr[1];
	assert_int_equal(f->via.map.size, 3); /* kind severity message */
	assert_true(mpr_streq(mpr_get(f, "kind"), "isolation"));
	assert_true(mpr_streq(mpr_get(f, "severity"), "info"));
	assert_null(mpr_get(f, "scope"));
	assert_null(mpr_get(f, "type"));
	proto_doc_free(&d);

	/* no findings: no key */
	s.nfindings = 0;
	b.len = 0;
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	frame_unpack(&b, &d);
	assert_null(mpr_get(&d.root, "findings"));
	assert_int_equal(d.root.via.map.size, 7);
	proto_doc_free(&d);
	buf_free(&b);
	snapshot_free(&s);
}

/* What the encoder refuses to send, so that no spooled frame is refused later. */
static void
test_findings_encode_refused(void **state)
{
	struct snapshot s;
	struct finding *f;
	struct buf b;

	(void)state;
	make_snapshot(&s);
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	f = &s.findings[0];
	f->kind = FK_THRESHOLD; /* the aggregator's kind */
	assert_int_equal(proto_encode_snapshot(&b, &s), -1);
	assert_int_equal(b.len, 0);
	f->kind = FK_ORPHAN;
	strcpy(f->scope, "jail:nope");
	assert_int_equal(proto_encode_snapshot(&b, &s), -1);
	strcpy(f->scope, "jail:web");
	f->severity = (enum severity)7;
	assert_int_equal(proto_encode_snapshot(&b, &s), -1);
	f->severity = SEV_CRIT;
	f->age = -1;
	assert_int_equal(proto_encode_snapshot(&b, &s), -1);
	f->age = 0;
	strcpy(f->limit, "SEMMNS");
	assert_int_equal(proto_encode_snapshot(&b, &s), -1);
	f->limit[0] = '\0';
	/* text is cleaned, not refused: test_encode_cleans_text */
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	buf_free(&b);
	snapshot_free(&s);
}

/*
 * The one rule for every string field (text_char_len(), util.h): refused
 * sequences with the reason the decoder gives, and text it must keep.
 */
static const struct {
	const char *s, *why;
} bad_text[] = {
    {"6.1 \xff\xfe", "is not valid UTF-8"},     /* the os_release */
    {"a\x9b[2J", "is not valid UTF-8"},         /* a lone C1 CSI byte */
    {"\xc0\xaf", "is not valid UTF-8"},         /* overlong '/' */
    {"\xed\xa0\x80", "is not valid UTF-8"},     /* a UTF-16 surrogate */
    {"\xf4\x90\x80\x80", "is not valid UTF-8"}, /* above U+10FFFF */
    {"x\xe2\x82", "is not valid UTF-8"},        /* truncated */
    {"a\xc2\x9b"
     "2J",
     "contains control characters"},             /* C1 CSI as UTF-8 */
    {"a\x7f", "contains control characters"},    /* DEL */
    {"a\x1b[2J", "contains control characters"}, /* C0 ESC */
    {"exe.\xe2\x80\xaetxt", "contains invisible formatting characters (bidi, "
                            "zero-width, separators)"}, /* U+202E RLO */
    {"a\xe2\x80\xaa"
     "b",
     "contains invisible formatting characters (bidi, zero-width, "
     "separators)"}, /* U+202A LRE */
    {"a\xe2\x81\xa6"
     "b",
     "contains invisible formatting characters (bidi, zero-width, "
     "separators)"}, /* U+2066 LRI */
    {"a\xe2\x81\xa9"
     "b",
     "contains invisible formatting characters (bidi, zero-width, "
     "separators)"}, /* U+2069 PDI */
    {"a\xe2\x80\xa8"
     "b",
     "contains invisible formatting characters (bidi, zero-width, "
     "separators)"}, /* U+2028 line separator */
    {"a\xe2\x80\xa9"
     "b",
     "contains invisible formatting characters (bidi, zero-width, "
     "separators)"}, /* U+2029 paragraph separator */
    {"a\xe2\x80\x8b"
     "b",
     "contains invisible formatting characters (bidi, zero-width, "
     "separators)"}, /* U+200B zero width space */
    {"a\xe2\x80\x8f"
     "b",
     "contains invisible formatting characters (bidi, zero-width, "
     "separators)"}, /* U+200F RLM */
    {"\xef\xbb\xbf"
     "a",
     "contains invisible formatting characters (bidi, zero-width, "
     "separators)"}, /* U+FEFF */
    {"a\xd8\x9c"
     "b",
     "contains invisible formatting characters (bidi, zero-width, "
     "separators)"}, /* U+061C ALM */
};
static const char *const good_text[] = {
    "plain",
    "Gr\xc3\xbc\xc3\x9f"
    "e",
    "\xe2\x82\xac 5",
    "\xf0\x9f\x98\x80",
    "a\xc2\xa0"
    "b", /* U+00A0, just above the C1 range */
    "\xe6\x97\xa5\xe6\x9c\xac",
    "\xe2\x80\xa7", /* U+2027, just below U+2028 */
    "\xe2\x80\xaf", /* U+202F, just above U+202E */
};

/*
 * The string field at *o of a document decoded by dec: every bad text
 * refused, naming the field; every good one taken (for fields of free
 * text: ids must name a scope).  Leaves keep in the field.
 */
static void
check_text_field(struct proto_doc *d, msgpack_object *o, const char *field, const char *keep,
                 int (*dec)(struct proto_doc *), const char *prefix)
{
	int free_text = strstr(field, "id") == NULL && strstr(field, "scope") == NULL;

	char want[512];
	size_t i;

	for (i = 0; i < sizeof(bad_text) / sizeof(bad_text[0]); i++) {
		*o = obj_str(bad_text[i].s);
		err[0] = '\0';
		if (dec(d) != -1)
			fail_msg("%s: \"%s\" (%zu) accepted", field, bad_text[i].s, i);
		snprintf(want, sizeof(want), "%s%s: %s", prefix, field, bad_text[i].why);
		assert_string_equal(err, want);
	}
	for (i = 0; free_text && i < sizeof(good_text) / sizeof(good_text[0]); i++) {
		*o = obj_str(good_text[i]);
		if (dec(d) != 0)
			fail_msg("%s: \"%s\" refused: %s", field, good_text[i], err);
	}
	*o = obj_str(keep);
	assert_int_equal(dec(d), 0);
}

static int
dec_hello(struct proto_doc *d)
{
	struct msg_hello h;

	return proto_decode_hello(d, &h, err, sizeof(err));
}

static int
dec_query(struct proto_doc *d)
{
	struct msg_query q;

	return proto_decode_query(d, &q, err, sizeof(err));
}

static int
dec_error(struct proto_doc *d)
{
	struct msg_error e;

	return proto_decode_error(d, &e, err, sizeof(err));
}

static int
dec_snapshot(struct proto_doc *d)
{
	return redecode_snapshot(&d->root, NULL);
}

/* Every string of every message: hello, snapshot (scopes, objects, findings), query, error. */
static void
test_string_rule(void **state)
{
	struct msg_hello h;
	struct msg_query q;
	struct msg_error e;
	struct proto_doc d;
	struct buf b;
	msgpack_object *sc, *ob, *fi;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.major = 1;
	h.role = ROLE_AGENT;
	strcpy(h.agent, "ipcfleet-agent 0.1.0");
	strcpy(h.host, "sorthat");
	strcpy(h.os, "Linux");
	strcpy(h.os_release, "6.1.0");
	h.page_size = 4096;
	h.boot_time = 1;
	buf_init(&b, 4096);
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	frame_unpack(&b, &d);
	check_text_field(&d, tree_get(&d.root, "agent"), "agent", "a", dec_hello, "hello: ");
	check_text_field(&d, tree_get(&d.root, "host"), "host", "sorthat", dec_hello, "hello: ");
	check_text_field(&d, tree_get(&d.root, "os"), "os", "Linux", dec_hello, "hello: ");
	check_text_field(&d, tree_get(&d.root, "os_release"), "os_release", "6.1", dec_hello,
	                 "hello: ");

	proto_doc_free(&d);

	snapshot_doc(&d);
	sc = tree_get(&d.root, "scopes");
	ob = tree_get(&d.root, "objects");
	fi = tree_get(&d.root, "findings");
	check_text_field(&d, tree_get(tree_idx(sc, 1), "name"), "scopes[1].name", "web",
	                 dec_snapshot, "snapshot: ");
	check_text_field(&d, tree_get(tree_idx(sc, 1), "id"), "scopes[1].id", "jail:web",
	                 dec_snapshot, "snapshot: ");
	check_text_field(&d, tree_get(tree_idx(ob, 0), "owner"), "objects[0].owner", "alice",
	                 dec_snapshot, "snapshot: ");
	check_text_field(&d, tree_get(tree_idx(ob, 0), "scope"), "objects[0].scope", "jail:web",
	                 dec_snapshot, "snapshot: ");
	check_text_field(&d, tree_get(tree_idx(fi, 0), "message"), "findings[0].message", "m",
	                 dec_snapshot, "snapshot: ");
	check_text_field(&d, tree_get(tree_idx(fi, 0), "command"), "findings[0].command",
	                 "ipcrm -s 2", dec_snapshot, "snapshot: ");
	check_text_field(&d, tree_get(tree_idx(fi, 0), "scope"), "findings[0].scope",
	                 "ipcns:4026532200", dec_snapshot, "snapshot: ");
	proto_doc_free(&d);

	memset(&q, 0, sizeof(q));
	q.id = 1;
	strcpy(q.cmd, "host");
	q.nargs = 1;
	strcpy(q.args[0].name, "name");
	strcpy(q.args[0].value, "db7");
	buf_reset(&b);
	assert_int_equal(proto_encode_query(&b, &q), 0);
	frame_unpack(&b, &d);
	check_text_field(&d, tree_get(&d.root, "cmd"), "cmd", "host", dec_query, "query: ");
	check_text_field(&d, tree_get(tree_get(&d.root, "args"), "name"), "name", "db7", dec_query,
	                 "query: args.");
	proto_doc_free(&d);

	memset(&e, 0, sizeof(e));
	e.code = 1;
	strcpy(e.text, "bad");
	buf_reset(&b);
	assert_int_equal(proto_encode_error(&b, &e), 0);
	frame_unpack(&b, &d);
	check_text_field(&d, tree_get(&d.root, "text"), "text", "bad", dec_error, "error: ");
	proto_doc_free(&d);
	buf_free(&b);
}

/*
 * What a collector picked up goes out cleaned (one '?' per refused
 * sequence), never refused: a host with a jail or user name in another
 * encoding keeps delivering.  The decoder takes every cleaned frame.
 */
static void
test_encode_cleans_text(void **state)
{
	struct snapshot s, t;
	struct msg_hello h, g;
	struct msg_error e, f;
	struct proto_doc d;
	struct buf b;

	(void)state;
	make_snapshot(&s);
	strcpy(s.objects[0].owner, "al\x1b"
	                           "ce");
	strcpy(s.scopes[1].name, "w\xff"
	                         "b\xe2\x80\xae");
	strcpy(s.scopes[1].id, "jail:w\xc2\x9b");
	strcpy(s.findings[0].message, "m\xe2\x80\xa8n");
	strcpy(s.findings[0].command, "ipcrm\n-s 2");
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	frame_unpack(&b, &d);
	assert_int_equal(snapshot_init(&t), 0);
	if (proto_decode_snapshot(&d, &t, err, sizeof(err)) != 0)
		fail_msg("a cleaned snapshot is refused: %s", err);
	assert_string_equal(t.objects[0].owner, "al?ce");
	assert_string_equal(t.scopes[1].name, "w?b?");
	assert_string_equal(t.scopes[1].id, "jail:w?");
	assert_int_equal(t.objects[0].scope, 1); /* the object still finds its scope */
	assert_string_equal(t.findings[0].message, "m?n");
	assert_string_equal(t.findings[0].command, "ipcrm?-s 2");
	proto_doc_free(&d);
	snapshot_free(&t);
	snapshot_free(&s);

	memset(&h, 0, sizeof(h));
	h.major = 1;
	h.role = ROLE_AGENT;
	strcpy(h.agent, "a");
	strcpy(h.os, "Linux");
	strcpy(h.os_release, "6.1 \xff\xfe");
	h.page_size = 4096;
	buf_reset(&b);
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	frame_unpack(&b, &d);
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	assert_string_equal(g.os_release, "6.1 ??");
	proto_doc_free(&d);

	/* an error text cut inside a character (a quoted name) stays readable */
	memset(&e, 0, sizeof(e));
	e.code = 3;
	memset(e.text, 'x', sizeof(e.text) - 3);
	memcpy(e.text + sizeof(e.text) - 3, "\xc3", 2); /* the first byte of an e-acute */
	buf_reset(&b);
	assert_int_equal(proto_encode_error(&b, &e), 0);
	frame_unpack(&b, &d);
	assert_int_equal(proto_decode_error(&d, &f, err, sizeof(err)), 0);
	assert_int_equal(f.text[sizeof(f.text) - 3], '?');
	proto_doc_free(&d);
	buf_free(&b);
}

/* text_clean: '?' per refused sequence, cut at a character boundary, never longer. */
static void
test_text_clean(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(text_clean(out, sizeof(out), "ab", 2), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(text_clean(out, sizeof(out), "\xff\xfe\x01", 3), 3);
	assert_string_equal(out, "???");
	/* a maximal invalid prefix is one '?' (as U+FFFD would be) */
	assert_int_equal(text_clean(out, sizeof(out), "\xe2\x82x", 3), 2);
	assert_string_equal(out, "?x");
	assert_int_equal(text_clean(out, sizeof(out), "\xe2\x80\xae!", 4), 2);
	assert_string_equal(out, "?!");
	/* 7 bytes of room: the 3-byte euro sign does not fit after 5 */
	assert_int_equal(text_clean(out, sizeof(out), "12345\xe2\x82\xac", 8), 5);
	assert_string_equal(out, "12345");
	assert_int_equal(text_clean(out, 1, "abc", 3), 0);
	assert_string_equal(out, "");
	assert_true(text_valid("", 0));
	assert_false(text_valid("a\0b", 3));
	assert_null(text_refusal("\xc3\xa9", 2));
}

/* Each finding field is checked, and its error names it. */
static void
test_findings_bad(void **state)
{
	struct proto_doc d;
	struct snapshot t;
	msgpack_object *root, *fa, *f0, *f1;

	(void)state;
	snapshot_doc(&d);
	root = &d.root;
	fa = tree_get(root, "findings");
	f0 = tree_idx(fa, 0);
	f1 = tree_idx(fa, 1);

	*tree_get(f0, "kind") = obj_str("threshold"); /* known, but not an agent's */
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(
	    err, "snapshot: findings[0].kind: expected one an agent reports (orphan, isolation, "
	         "incomplete, removeipc_risk, vanished, permissions)");
	*tree_get(f0, "kind") = obj_str("nonsense");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(
	    err, "snapshot: findings[0].kind: expected one an agent reports (orphan, isolation, "
	         "incomplete, removeipc_risk, vanished, permissions)");
	*tree_get(f0, "kind") = obj_u64(3);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[0].kind: expected string");
	*tree_get(f0, "kind") = obj_str("orphan");

	*tree_get(f1, "severity") = obj_str("fatal");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(
	    err, "snapshot: findings[1].severity: expected \"info\", \"warn\" or \"crit\"");
	*tree_get(f1, "severity") = obj_str("crit");

	*tree_get(f0, "scope") = obj_str("ipcns:1");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[0].scope: no such scope in scopes");
	*tree_get(f0, "scope") = obj_str("");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[0].scope: no such scope in scopes");
	*tree_get(f0, "scope") = obj_str("jail:web");

	*tree_get(f0, "limit") = obj_str("Sem mns");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err,
	                    "snapshot: findings[0].limit: bad limit name (1 to 63 of [a-z0-9_.])");
	*tree_get(f0, "limit") = obj_str("semmni");

	*tree_get(f0, "type") = obj_str("pipe");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err,
	                    "snapshot: findings[0].type: expected \"shm\", \"sem\" or \"msg\"");
	*tree_get(f0, "type") = obj_str("msg");
	tree_del(f0, "id");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[0].id: missing (type and id go together)");
	tree_add(&d, f1, "id", obj_u64(5));
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[0].id: missing (type and id go together)");
	tree_add(&d, f0, "id", obj_neg(-1));
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[1].type: missing (type and id go together)");
	tree_del(f1, "id");

	*tree_get(f0, "age") = obj_neg(-5);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[0].age: must not be negative");
	*tree_get(f0, "age") = obj_u64(60);
	*tree_get(f0, "uid") = obj_u64((uint64_t)1 << 32);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[0].uid: out of range");
	*tree_get(f0, "uid") = obj_u64(0);

	*tree_get(f0, "command") = obj_str("ipcrm -q 1\r");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[0].command: contains control characters");
	*tree_get(f0, "command") = obj_str("ipcrm -q 1");
	tree_del(f1, "message");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[1].message: missing");
	tree_add(&d, f1, "message", obj_str("m"));
	tree_add(&d, f1, "severity", obj_str("info"));
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[1].severity: duplicate key");
	tree_del(f1, "severity");

	/* every edit above, decoded */
	assert_int_equal(redecode_snapshot(root, &t), 0);
	assert_int_equal(t.nfindings, 2);
	assert_string_equal(t.findings[0].scope, "jail:web");
	assert_string_equal(t.findings[0].limit, "semmni");
	assert_int_equal(t.findings[0].otype, IPC_MSG);
	assert_true(t.findings[0].oid == -1);
	assert_true(t.findings[0].age == 60);
	assert_int_equal(t.findings[0].uid, 0);
	assert_string_equal(t.findings[0].command, "ipcrm -q 1");
	assert_int_equal(t.findings[1].severity, SEV_INFO);
	assert_string_equal(t.findings[1].message, "m");
	snapshot_free(&t);

	/* not an array, not a map */
	*tree_idx(fa, 1) = obj_str("x");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings[1]: expected map");
	*fa = obj_u64(1);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: findings: expected array");
	proto_doc_free(&d);
}

/* At most MODEL_MAX_FINDINGS, on both sides. */
static void
test_too_many_findings(void **state)
{
	struct snapshot s, t;
	struct proto_doc d;
	struct buf b;
	msgpack_object *fa, *arr;
	uint32_t i;

	(void)state;
	make_snapshot(&s);
	while (s.nfindings < MODEL_MAX_FINDINGS) {
		struct finding *f = snapshot_add_finding(&s);

		assert_non_null(f);
		*f = s.findings[1];
	}
	assert_null(snapshot_add_finding(&s));
	buf_init(&b, PROTO_MAX_FRAME + PROTO_HDR_LEN);
	assert_int_equal(proto_encode_snapshot(&b, &s), 0);
	frame_unpack(&b, &d);
	assert_int_equal(redecode_snapshot(&d.root, &t), 0);
	assert_int_equal(t.nfindings, MODEL_MAX_FINDINGS);
	snapshot_equal(&s, &t);
	snapshot_free(&t);

	/* one more, edited into the tree */
	fa = tree_get(&d.root, "findings");
	arr = msgpack_zone_malloc(&d.zone, (MODEL_MAX_FINDINGS + 1) * sizeof(*arr));
	assert_non_null(arr);
	for (i = 0; i < MODEL_MAX_FINDINGS + 1; i++)
		arr[i] = fa->via.array.ptr[i == 0 ? 0 : 1];
	fa->via.array.ptr = arr;
	fa->via.array.size = MODEL_MAX_FINDINGS + 1;
	assert_int_equal(redecode_snapshot(&d.root, NULL), -1);
	assert_string_equal(err, "snapshot: findings: too many (at most 10000)");
	proto_doc_free(&d);

	/* the encoder will not build such a frame */
	s.nfindings = MODEL_MAX_FINDINGS + 1;
	b.len = 0;
	assert_int_equal(proto_encode_snapshot(&b, &s), -1);
	assert_int_equal(b.len, 0);
	s.nfindings = MODEL_MAX_FINDINGS;
	buf_free(&b);
	snapshot_free(&s);
}

/* owner: at most 32 bytes, no control characters; absent is "". */
static void
test_owner(void **state)
{
	struct proto_doc d;
	struct snapshot t;
	msgpack_object *root, *o;

	(void)state;
	snapshot_doc(&d);
	root = &d.root;
	o = tree_idx(tree_get(root, "objects"), 0);
	*tree_get(o, "owner") = obj_str("abcdefghijklmnopqrstuvwxyz012345"); /* 32 */
	assert_int_equal(redecode_snapshot(root, &t), 0);
	assert_string_equal(t.objects[0].owner, "abcdefghijklmnopqrstuvwxyz012345");
	snapshot_free(&t);
	*tree_get(o, "owner") = obj_str("abcdefghijklmnopqrstuvwxyz0123456"); /* 33 */
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].owner: too long (at most 32 bytes)");
	*tree_get(o, "owner") = obj_str("bob\t");
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].owner: contains control characters");
	*tree_get(o, "owner") = obj_u64(1001);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].owner: expected string");
	tree_del(o, "owner");
	assert_int_equal(redecode_snapshot(root, &t), 0);
	assert_string_equal(t.objects[0].owner, "");
	snapshot_free(&t);
	proto_doc_free(&d);
}

/* hello interval: optional, unsigned 32-bit. */
static void
test_hello_interval(void **state)
{
	struct msg_hello h, g;
	struct proto_doc d;
	struct buf b;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.major = 1;
	h.role = ROLE_AGENT;
	strcpy(h.agent, "a");
	strcpy(h.os, "Linux");
	strcpy(h.os_release, "6.1.0-18-amd64");
	h.page_size = 4096;
	buf_init(&b, 4096);
	assert_int_equal(proto_encode_hello(&b, &h), 0);
	frame_unpack(&b, &d);
	assert_null(mpr_get(&d.root, "interval")); /* 0: not sent */
	assert_int_equal(d.root.via.map.size, 9);
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	assert_int_equal(g.interval, 0);
	tree_add(&d, &d.root, "interval", obj_u64(UINT32_MAX));
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), 0);
	assert_int_equal(g.interval, UINT32_MAX);
	*tree_get(&d.root, "interval") = obj_u64((uint64_t)UINT32_MAX + 1);
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: interval: out of range");
	*tree_get(&d.root, "interval") = obj_neg(-60);
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: interval: expected unsigned integer");
	*tree_get(&d.root, "interval") = obj_str("60s");
	assert_int_equal(proto_decode_hello(&d, &g, err, sizeof(err)), -1);
	assert_string_equal(err, "hello: interval: expected unsigned integer");
	proto_doc_free(&d);
	buf_free(&b);
}

static void
test_duplicate_keys(void **state)
{
	struct proto_doc d;
	msgpack_object *root;

	(void)state;
	snapshot_doc(&d);
	root = &d.root;
	tree_add(&d, tree_idx(tree_get(root, "objects"), 0), "uid", obj_u64(1));
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects[0].uid: duplicate key");
	proto_doc_free(&d);
}

static void
test_mpget(void **state)
{
	struct proto_doc d;
	struct buf b;
	msgpack_packer pk;
	uint64_t u;
	int64_t i;
	char s[8];

	(void)state;
	buf_init(&b, 4096);
	proto_packer_init(&pk, &b);
	msgpack_pack_map(&pk, 9);
	mp_pack_kv_str(&pk, "type", "x");
	mp_pack_kv_u64(&pk, "u", UINT64_MAX);
	mp_pack_kv_i64(&pk, "n", -7);
	mp_pack_kv_str(&pk, "long", "12345678");
	mp_pack_kv_str(&pk, "ok", "1234567");
	mp_pack_str(&pk, "nul");
	msgpack_pack_str(&pk, 3);
	msgpack_pack_str_body(&pk, "a\0b", 3);
	mp_pack_kv_u64(&pk, "d", 1);
	mp_pack_kv_u64(&pk, "d", 2);
	mp_pack_str(&pk, "f");
	msgpack_pack_double(&pk, 1.0);
	assert_int_equal(proto_doc_unpack((const uint8_t *)b.data, b.len, &d, err, sizeof(err)), 0);
	assert_int_equal(mpr_get_u64(&d.root, "u", &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(mpr_get_i64(&d.root, "u", &i), -1);
	assert_int_equal(mpr_get_u64(&d.root, "n", &u), -1);
	assert_int_equal(mpr_get_i64(&d.root, "n", &i), 0);
	assert_true(i == -7);
	assert_int_equal(mpr_get_u64(&d.root, "absent", &u), 1);
	assert_int_equal(mpr_get_u64(&d.root, "f", &u), -1);
	assert_int_equal(mpr_get_i64(&d.root, "f", &i), -1);
	assert_int_equal(mpr_get_u64(&d.root, "d", &u), -1);
	assert_non_null(mpr_get(&d.root, "d"));
	assert_true(mpr_get(&d.root, "d")->via.u64 == 1);
	assert_int_equal(mpr_get_str(&d.root, "long", s, sizeof(s)), -1);
	assert_int_equal(mpr_get_str(&d.root, "ok", s, sizeof(s)), 0);
	assert_string_equal(s, "1234567");
	assert_int_equal(mpr_get_str(&d.root, "nul", s, sizeof(s)), -1);
	assert_int_equal(mpr_get_str(&d.root, "u", s, sizeof(s)), -1);
	assert_int_equal(mpr_get_str(&d.root, "absent", s, sizeof(s)), 1);
	assert_null(mpr_get(mpr_get(&d.root, "u"), "x"));
	assert_true(mpr_streq(mpr_get(&d.root, "type"), "x"));
	assert_false(mpr_streq(mpr_get(&d.root, "type"), "xy"));
	assert_false(mpr_streq(mpr_get(&d.root, "u"), "x"));
	proto_doc_free(&d);
	buf_free(&b);
}

/* ---- mutations ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: deterministic, so a failure reproduces. */
static uint32_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

/* Every decoder on one document: each either succeeds or fails cleanly. */
static int
decode_all(const struct proto_doc *d)
{
	struct snapshot s;
	struct msg_hello h;
	struct msg_query q;
	struct msg_error e;
	const msgpack_object *body;
	uint64_t u;
	size_t i;
	int ok = 0;

	assert_int_equal(snapshot_init(&s), 0);
	if (proto_decode_snapshot(d, &s, err, sizeof(err)) == 0) {
		ok = 1;
		assert_true(s.nscopes >= 1);
		assert_string_equal(s.scopes[0].id, "host");
		assert_true(s.seq >= 1);
		for (i = 0; i < s.nobjects; i++)
			assert_true(s.objects[i].scope < s.nscopes);
	} else {
		assert_true(strncmp(err, "snapshot: ", 10) == 0);
	}
	snapshot_free(&s);
	ok |= proto_decode_hello(d, &h, err, sizeof(err)) == 0;
	ok |= proto_decode_query(d, &q, err, sizeof(err)) == 0;
	ok |= proto_decode_error(d, &e, err, sizeof(err)) == 0;
	ok |= proto_decode_ack(d, &u, err, sizeof(err)) == 0;
	ok |= proto_decode_reply(d, &u, &body, err, sizeof(err)) == 0;
	return ok;
}

/* The one-pass decoder refuses exactly the payloads the validator refuses, for its reason. */
static void
frame_agrees(const uint8_t *x, size_t m)
{
	char want[600];
	struct snapshot s;
	const char *why;
	int rc;

	assert_int_equal(snapshot_init(&s), 0);
	rc = proto_decode_snapshot_frame(x, m, &s, err, sizeof(err));
	snapshot_free(&s);
	if (frame_validate(x, m, &why) == -1) {
		assert_int_equal(rc, -2);
		snprintf(want, sizeof(want), "bad frame: %s", why);
		assert_string_equal(err, want);
	} else
		assert_true(rc == 0 || (rc == -1 && strncmp(err, "snapshot: ", 10) == 0) ||
		            (rc == -2 && strncmp(err, "bad frame: type: ", 17) == 0));
}

static void
test_mutations(void **state)
{
	struct proto_doc d;
	uint8_t *p, *q;
	size_t n, m, k, pos;
	unsigned unpacked = 0, decoded = 0, rejected = 0;
	int iter, j, edits;

	(void)state;
	p = snapshot_payload(&n);
	q = malloc(n + 8);
	assert_non_null(q);
	for (iter = 0; iter < 20000; iter++) {
		uint8_t *x;

		memcpy(q, p, n);
		m = n;
		edits = 1 + (int)(rng() % 4);
		for (j = 0; j < edits; j++) {
			pos = m ? rng() % m : 0;
			switch (rng() % 6) {
			case 0: /* replace a byte */
			case 1:
				if (m)
					q[pos] = (uint8_t)rng();
				break;
			case 2: /* flip one bit */
				if (m)
					q[pos] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 3: /* truncate */
				m = m ? rng() % m : 0;
				break;
			case 4: /* insert a byte */
				if (m < n + 8) {
					memmove(q + pos + 1, q + pos, m - pos);
					q[pos] = (uint8_t)rng();
					m++;
				}
				break;
			case 5: /* delete a byte */
				if (m) {
					memmove(q + pos, q + pos + 1, m - pos - 1);
					m--;
				}
				break;
			}
		}
		/* an exactly sized copy, so that an overread is a sanitizer report */
		x = malloc(m ? m : 1);
		assert_non_null(x);
		memcpy(x, q, m);
		frame_agrees(x, m);
		if (proto_doc_unpack(x, m, &d, err, sizeof(err)) == 0) {
			unpacked++;
			for (k = 0; k < m; k++)
				x[k] = 0xc1; /* the document must not point into the input */
			if (decode_all(&d))
				decoded++;
			proto_doc_free(&d);
		} else {
			rejected++;
			assert_int_equal(d.live, 0);
			assert_true(strncmp(err, "bad frame: ", 11) == 0);
		}
		free(x);
	}
	assert_int_equal(unpacked + rejected, 20000);
	/* the loop must exercise both sides */
	assert_true(rejected > 1000);
	assert_true(unpacked > 100);
	assert_true(decoded > 10);
	free(q);
	free(p);
}

/* Reverses the order of a map's pairs in place. */
static void
tree_reverse(msgpack_object *m)
{
	uint32_t i, n = m->via.map.size;

	for (i = 0; i < n / 2; i++) {
		msgpack_object_kv t = m->via.map.ptr[i];

		m->via.map.ptr[i] = m->via.map.ptr[n - 1 - i];
		m->via.map.ptr[n - 1 - i] = t;
	}
}

/*
 * The one-pass decoder reads the big arrays as they come when the scopes
 * come first (the encoder's order) and reads them again when they do not:
 * every order of the keys decodes to the same snapshot.
 */
static void
test_snapshot_any_order(void **state)
{
	struct snapshot ref, got;
	struct proto_doc d;
	msgpack_object *root, *objs, *fins;
	uint32_t i;

	(void)state;
	make_snapshot(&ref);
	snapshot_doc(&d);
	root = &d.root;
	/* the encoder's order: scopes before objects and findings */
	assert_int_equal(redecode_snapshot(root, &got), 0);
	snapshot_equal(&ref, &got);
	snapshot_free(&got);
	/* objects, findings and unknown before scopes; every object's and finding's keys reversed
	 */
	tree_reverse(root);
	objs = tree_get(root, "objects");
	fins = tree_get(root, "findings");
	for (i = 0; i < objs->via.array.size; i++)
		tree_reverse(tree_idx(objs, i));
	for (i = 0; i < fins->via.array.size; i++)
		tree_reverse(tree_idx(fins, i));
	for (i = 0; i < tree_get(root, "scopes")->via.array.size; i++)
		tree_reverse(tree_idx(tree_get(root, "scopes"), i));
	assert_int_equal(redecode_snapshot(root, &got), 0);
	snapshot_equal(&ref, &got);
	snapshot_free(&got);
	/* a duplicated array is refused even when its first copy was read as it came */
	tree_reverse(root);
	tree_add(&d, root, "objects", *objs);
	assert_int_equal(redecode_snapshot(root, NULL), -1);
	assert_string_equal(err, "snapshot: objects: duplicate key");
	proto_doc_free(&d);
	snapshot_free(&ref);
}

/*
 * Straight from the payload: the reference decodes as through a document,
 * and a payload that is not a valid frame is refused as the validator
 * refuses it (-2, "bad frame: " and its reason), whatever the decoder met
 * first.
 */
static void
test_snapshot_frame(void **state)
{
	struct snapshot ref, got;
	const char *why;
	uint8_t *p;
	size_t n;

	(void)state;
	make_snapshot(&ref);
	p = snapshot_payload(&n);
	assert_int_equal(proto_frame_type(p, n), MSG_SNAPSHOT);
	assert_int_equal(snapshot_init(&got), 0);
	assert_int_equal(proto_decode_snapshot_frame(p, n, &got, err, sizeof(err)), 0);
	snapshot_equal(&ref, &got);
	snapshot_free(&got);
	/* cut short: the objects decoded so far are not enough */
	assert_int_equal(snapshot_init(&got), 0);
	assert_int_equal(proto_decode_snapshot_frame(p, n - 1, &got, err, sizeof(err)), -2);
	assert_string_equal(err, "bad frame: length larger than the bytes left");
	snapshot_free(&got);
	/* a schema error early and a framing error late: the frame is what is refused */
	assert_true(p[0] == 0x88 && p[1] == 0xa4); /* {"type": ...: 8 keys, "type" first */
	p[9] = 'X';                                /* "snapshot" -> "snXpshot" */
	assert_int_equal(frame_validate(p, n, &why), 0);
	assert_int_equal(snapshot_init(&got), 0);
	assert_int_equal(proto_decode_snapshot_frame(p, n, &got, err, sizeof(err)), -1);
	assert_string_equal(err, "snapshot: type: expected \"snapshot\"");
	snapshot_free(&got);
	/* the same with a byte after the map */
	p = realloc(p, n + 1);
	assert_non_null(p);
	p[n] = 0xc0;
	assert_int_equal(frame_validate(p, n + 1, &why), -1);
	assert_int_equal(snapshot_init(&got), 0);
	assert_int_equal(proto_decode_snapshot_frame(p, n + 1, &got, err, sizeof(err)), -2);
	assert_string_equal(err, "bad frame: trailing bytes after the map");
	snapshot_free(&got);
	assert_int_equal(proto_frame_type(p, 0), MSG_UNKNOWN);
	free(p);
	snapshot_free(&ref);
}

/* The type of a payload wherever it is, checked as proto_doc_unpack checks it. */
#define TC(lit) lit, sizeof(lit) - 1
static void
test_frame_type_of(void **state)
{
	static const struct {
		const char *p;
		size_t n;
		int rc;
		enum msg_type t;
		const char *why;
	} c[] = {
	    {TC("\x81\xa4type\xa8snapshot"), 0, MSG_SNAPSHOT, NULL},
	    {TC("\x82\xa6scopes\x91\x01\xa4type\xa5query"), 0, MSG_QUERY, NULL},
	    {TC("\x81\xa4type\xa5"
	        "bogus"),
	     0, MSG_UNKNOWN, NULL},
	    {TC("\x81\xa6scopes\x91\x01"), -1, MSG_UNKNOWN, "missing"},
	    {TC("\x82\xa6scopes\x91\x01\xa4type\x05"), -1, MSG_UNKNOWN, "expected string"},
	    {TC("\x82\xa4type\xa5query\xa4type\xa5query"), -1, MSG_QUERY, "duplicate key"},
	    {TC("\x91\x01"), -1, MSG_UNKNOWN, "msgpack error"},
	};
	enum msg_type t;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int rc = proto_frame_type_of((const uint8_t *)c[i].p, c[i].n, &t, &why);

		if (rc != c[i].rc || (rc == 0 && t != c[i].t) ||
		    (rc == -1 && strcmp(why, c[i].why) != 0))
			fail_msg("case %zu: rc %d type %d why %s", i, rc, (int)t,
			         rc == -1 ? why : "-");
	}
}

/*
 * A count claimed up front reserves room only for what the bytes after it
 * can hold: 100,000 objects of one byte each (nil) reserve a few thousand
 * slots, not 100,000 objects' worth, and are refused at the first.
 */
static void
test_snapshot_claimed_objects(void **state)
{
	struct snapshot s;
	msgpack_packer pk;
	struct buf b;
	uint32_t i;

	(void)state;
	buf_init(&b, PROTO_MAX_FRAME);
	proto_packer_init(&pk, &b);
	msgpack_pack_map(&pk, 6);
	mp_pack_kv_str(&pk, "type", "snapshot");
	mp_pack_kv_u64(&pk, "seq", 1);
	mp_pack_kv_u64(&pk, "time", 1);
	mp_pack_str(&pk, "limits");
	msgpack_pack_map(&pk, 0);
	mp_pack_str(&pk, "scopes");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	mp_pack_kv_str(&pk, "id", "host");
	mp_pack_kv_str(&pk, "kind", "host");
	mp_pack_kv_str(&pk, "name", "h");
	mp_pack_str(&pk, "objects");
	msgpack_pack_array(&pk, MODEL_MAX_OBJECTS);
	for (i = 0; i < MODEL_MAX_OBJECTS; i++)
		msgpack_pack_nil(&pk);
	assert_false(buf_failed(&b));
	assert_int_equal(snapshot_init(&s), 0);
	assert_int_equal(
	    proto_decode_snapshot_frame((const uint8_t *)b.data, b.len, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "snapshot: objects[0]: expected map");
	assert_true(s.cap_objects <= 4096); /* 100,000 bytes / 32, rounded up to a power of two */
	snapshot_free(&s);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_type_of),
	    cmocka_unit_test(test_hello_agent),
	    cmocka_unit_test(test_hello_admin),
	    cmocka_unit_test(test_hello_major2),
	    cmocka_unit_test(test_hello_bad),
	    cmocka_unit_test(test_hello_spool), /* protocol 1.2 */
	    cmocka_unit_test(test_snapshot_roundtrip),
	    cmocka_unit_test(test_unknown_roundtrip),
	    cmocka_unit_test(test_ack_roundtrip),
	    cmocka_unit_test(test_query_roundtrip),
	    cmocka_unit_test(test_error_roundtrip),
	    cmocka_unit_test(test_reply_roundtrip),
	    cmocka_unit_test(test_encode_limits),
	    cmocka_unit_test(test_frame_header),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_known_hazards),
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_long_string),
	    cmocka_unit_test(test_element_cap),
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_missing_and_mistyped),
	    cmocka_unit_test(test_unknown_fields),
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_too_many_limits),
	    cmocka_unit_test(test_scopes),
	    cmocka_unit_test(test_rctl_wire),
	    cmocka_unit_test(test_findings_wire),
	    cmocka_unit_test(test_findings_encode_refused),
	    cmocka_unit_test(test_findings_bad),
	    cmocka_unit_test(test_too_many_findings),
	    cmocka_unit_test(test_owner),
	    cmocka_unit_test(test_string_rule),
	    cmocka_unit_test(test_encode_cleans_text),
	    cmocka_unit_test(test_text_clean),
	    cmocka_unit_test(test_hello_interval),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_mpget),
	    cmocka_unit_test(test_mutations),
	    cmocka_unit_test(test_snapshot_any_order),
	    cmocka_unit_test(test_snapshot_frame),
	    cmocka_unit_test(test_snapshot_claimed_objects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
