/*
 * decode.c: checking unpacked messages against docs/protocol.md and copying
 * them into C structs (proto.h).
 *
 * Errors name the field: "snapshot: objects[3].nsems: expected unsigned
 * integer".  Rules beyond the field tables (the spec is silent on them):
 * a key present twice in one map is an error; strings copied into fixed-size
 * fields must fit (never truncated) and must be well-formed UTF-8 without
 * control characters (C0, DEL, C1) or invisible formatting characters (bidi
 * controls, zero-width characters, U+2028/U+2029: text_char_len() in
 * util.h), so that nothing a peer says can disguise itself in a log, a
 * terminal, a notify_command's environment or JSON; limits maps may not
 * repeat a name.  A finding
 * from an agent may only be of the kinds an agent reports (orphan,
 * isolation), must name a listed scope when it names one, and gives its
 * object's type and id together.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "text.h"
#include "util.h"

/* Longest "snapshot: objects[199999]." style prefix, with room to spare. */
#define DEC_WHERE_MAX 96

static int dec_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Always returns -1. */
static int
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
	return dec_found(mp_get_unique(m, k, o), where, k, required, err, errlen);
}

/*
 * A map read field by field through an index of its keys (mp_index) when it
 * has few enough of them, else by mp_get_unique: the same answers, but
 * dec_object reads some twenty fields of each of thousands of objects.
 */
struct dec_map {
	const msgpack_object *m;
	int indexed;
	struct mp_index ix;
};

static void
dec_map_init(struct dec_map *dm, const msgpack_object *m)
{
	dm->m = m;
	dm->indexed = mp_index_build(&dm->ix, m) == 0;
}

static int
dec_map_lookup(struct dec_map *dm, const char *where, const char *k, int required,
               const msgpack_object **o, char *err, size_t errlen)
{
	int rc = dm->indexed ? mp_index_get(&dm->ix, k, o) : mp_get_unique(dm->m, k, o);

	return dec_found(rc, where, k, required, err, errlen);
}

/* Unsigned integer in [0, max]: the value's checks. */
static int
dec_uint_val(const msgpack_object *o, const char *where, const char *k, uint64_t max, uint64_t *v,
             char *err, size_t errlen)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return dec_err(err, errlen, "%s%s: expected unsigned integer", where, k);
	if (o->via.u64 > max)
		return dec_err(err, errlen, "%s%s: out of range", where, k);
	*v = o->via.u64;
	return 0;
}

/* Unsigned integer in [0, max]. */
static int
dec_uint(const msgpack_object *m, const char *where, const char *k, int required, uint64_t max,
         uint64_t *v, char *err, size_t errlen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = dec_lookup(m, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_uint_val(o, where, k, max, v, err, errlen);
}

static int
dec_u32(const msgpack_object *m, const char *where, const char *k, int required, uint32_t *v,
        char *err, size_t errlen)
{
	uint64_t u = 0;
	int rc;

	if ((rc = dec_uint(m, where, k, required, UINT32_MAX, &u, err, errlen)) == 0)
		*v = (uint32_t)u;
	return rc;
}

static int
dec_u64(const msgpack_object *m, const char *where, const char *k, int required, uint64_t *v,
        char *err, size_t errlen)
{
	return dec_uint(m, where, k, required, UINT64_MAX, v, err, errlen);
}

/* Signed integer that fits int64_t: the value's checks. */
static int
dec_i64_val(const msgpack_object *o, const char *where, const char *k, int64_t *v, char *err,
            size_t errlen)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return dec_err(err, errlen, "%s%s: expected integer", where, k);
	if (o->via.u64 > INT64_MAX)
		return dec_err(err, errlen, "%s%s: out of range", where, k);
	*v = (int64_t)o->via.u64;
	return 0;
}

/* Signed integer that fits int64_t. */
static int
dec_i64(const msgpack_object *m, const char *where, const char *k, int required, int64_t *v,
        char *err, size_t errlen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = dec_lookup(m, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_i64_val(o, where, k, v, err, errlen);
}

/* The same through a dec_map. */
static int
dec_m_u64(struct dec_map *dm, const char *where, const char *k, int required, uint64_t *v,
          char *err, size_t errlen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = dec_map_lookup(dm, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_uint_val(o, where, k, UINT64_MAX, v, err, errlen);
}

static int
dec_m_u32(struct dec_map *dm, const char *where, const char *k, int required, uint32_t *v,
          char *err, size_t errlen)
{
	const msgpack_object *o;
	uint64_t u = 0;
	int rc;

	if ((rc = dec_map_lookup(dm, where, k, required, &o, err, errlen)) != 0)
		return rc;
	if ((rc = dec_uint_val(o, where, k, UINT32_MAX, &u, err, errlen)) == 0)
		*v = (uint32_t)u;
	return rc;
}

static int
dec_m_i64(struct dec_map *dm, const char *where, const char *k, int required, int64_t *v, char *err,
          size_t errlen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = dec_map_lookup(dm, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_i64_val(o, where, k, v, err, errlen);
}

/* Copies str o into out[len]; names the field as where+k on error. */
static int
dec_strobj(const msgpack_object *o, const char *where, const char *k, char *out, size_t len,
           char *err, size_t errlen)
{
	const char *why;

	if (o->type != MSGPACK_OBJECT_STR)
		return dec_err(err, errlen, "%s%s: expected string", where, k);
	if (o->via.str.size >= len)
		return dec_err(err, errlen, "%s%s: too long (at most %zu bytes)", where, k,
		               len - 1);
	/* one rule for every string of every message (text_char_len(), util.h) */
	if ((why = text_refusal(o->via.str.ptr, o->via.str.size)) != NULL)
		return dec_err(err, errlen, "%s%s: %s", where, k, why);
	if (mp_str_copy(o, out, len) == -1) /* cannot happen after the checks above */
		return dec_err(err, errlen, "%s%s: bad string", where, k);
	return 0;
}

static int
dec_str(const msgpack_object *m, const char *where, const char *k, int required, char *out,
        size_t len, char *err, size_t errlen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = dec_lookup(m, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_strobj(o, where, k, out, len, err, errlen);
}

static int
dec_m_str(struct dec_map *dm, const char *where, const char *k, int required, char *out, size_t len,
          char *err, size_t errlen)
{
	const msgpack_object *o;
	int rc;

	if ((rc = dec_map_lookup(dm, where, k, required, &o, err, errlen)) != 0)
		return rc;
	return dec_strobj(o, where, k, out, len, err, errlen);
}

/* The message's own type; what names the message in errors. */
static int
dec_check_type(const struct proto_doc *d, enum msg_type t, const char *what, char *err,
               size_t errlen)
{
	if (!d->live || d->root.type != MSGPACK_OBJECT_MAP)
		return dec_err(err, errlen, "%s: no document", what);
	if (d->type != t)
		return dec_err(err, errlen, "%s: type: expected \"%s\"", what, what);
	return 0;
}

/*
 * A limits map: at most MODEL_MAX_LIMITS names passing limit_name_valid(),
 * each once, with unsigned values.  where names the map ("snapshot: limits").
 */
static int
dec_limits(const msgpack_object *o, const char *where, struct ipc_limits *l, char *err,
           size_t errlen)
{
	char name[MODEL_NAME_MAX];
	uint64_t old;
	uint32_t i;

	if (o->type != MSGPACK_OBJECT_MAP)
		return dec_err(err, errlen, "%s: expected map", where);
	if (o->via.map.size > MODEL_MAX_LIMITS)
		return dec_err(err, errlen, "%s: too many entries (at most %d)", where,
		               MODEL_MAX_LIMITS);
	memset(l, 0, sizeof(*l));
	for (i = 0; i < o->via.map.size; i++) {
		const msgpack_object *k = &o->via.map.ptr[i].key;
		const msgpack_object *v = &o->via.map.ptr[i].val;

		/* the name is echoed in messages only once it is known to be harmless */
		if (mp_str_copy(k, name, sizeof(name)) == -1 || !limit_name_valid(name))
			return dec_err(err, errlen,
			               "%s: entry %u: bad limit name (1 to %d of [a-z0-9_.])",
			               where, i, MODEL_NAME_MAX - 1);
		if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
			return dec_err(err, errlen, "%s.%s: expected unsigned integer", where,
			               name);
		if (limits_get(l, name, &old) == 0)
			return dec_err(err, errlen, "%s.%s: duplicate limit", where, name);
		if (limits_set(l, name, v->via.u64) == -1)
			return dec_err(err, errlen, "%s.%s: cannot store", where, name);
	}
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

/* Scope ids sorted for duplicate checks and lookups by objects. */
struct dec_scope_ref {
	const char *id;
	uint32_t idx;
};

static int
dec_scope_cmp(const void *a, const void *b)
{
	const struct dec_scope_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The index of scope id in the sorted refs, or -1. */
static int64_t
dec_scope_find(const struct dec_scope_ref *refs, size_t n, const char *id)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(id, refs[mid].id);

		if (c == 0)
			return refs[mid].idx;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/*
 * A jail's "rctl": {"nsem": {"used": N, "limit": N}, ...}, each entry with
 * a used, a limit or both.  Resources this version does not know are
 * ignored, as unknown keys are.
 */
static int
dec_rctl(const msgpack_object *m, const char *w, struct scope_rctl *r, char *err, size_t errlen)
{
	char where[DEC_WHERE_MAX + 32], name[16];
	enum rctl_res res;
	uint32_t i;
	int a, b;

	if (m->type != MSGPACK_OBJECT_MAP)
		return dec_err(err, errlen, "%srctl: expected map", w);
	for (i = 0; i < m->via.map.size; i++) {
		const msgpack_object_kv *kv = &m->via.map.ptr[i];

		if (kv->key.type != MSGPACK_OBJECT_STR)
			return dec_err(err, errlen, "%srctl: expected string keys", w);
		if (kv->key.via.str.size >= sizeof(name))
			continue;
		memcpy(name, kv->key.via.str.ptr, kv->key.via.str.size);
		name[kv->key.via.str.size] = '\0';
		if (rctl_res_parse(name, &res) == -1)
			continue;
		if (((r->has_used | r->has_limit) >> res) & 1)
			return dec_err(err, errlen, "%srctl.%s: duplicate key", w, name);
		snprintf(where, sizeof(where), "%srctl.%s.", w, name);
		if (kv->val.type != MSGPACK_OBJECT_MAP)
			return dec_err(err, errlen, "%srctl.%s: expected map", w, name);
		if ((a = dec_u64(&kv->val, where, "used", 0, &r->used[res], err, errlen)) == -1 ||
		    (b = dec_u64(&kv->val, where, "limit", 0, &r->limit[res], err, errlen)) == -1)
			return -1;
		if (a == 1 && b == 1)
			return dec_err(err, errlen, "%srctl.%s: needs used or limit", w, name);
		if (a == 0)
			r->has_used |= 1u << res;
		if (b == 0)
			r->has_limit |= 1u << res;
	}
	return 0;
}

/*
 * Scope i of the array: scopes[0] must be the host (already created by
 * snapshot_init: filled in place), others are appended.
 */
static int
dec_scope(const msgpack_object *o, uint32_t i, struct snapshot *s, char *err, size_t errlen)
{
	static const char *const types[3] = {"shm", "sem", "msg"};
	char w[DEC_WHERE_MAX], id[MODEL_NAME_MAX], kindstr[16], name[MODEL_NAME_MAX];
	char val[16];
	const msgpack_object *iso, *lim, *v;
	struct ipc_scope *sc;
	enum scope_kind kind;
	size_t plen;
	int t, rc;

	snprintf(w, sizeof(w), "snapshot: scopes[%u].", i);
	if (o->type != MSGPACK_OBJECT_MAP)
		return dec_err(err, errlen, "snapshot: scopes[%u]: expected map", i);
	if (dec_str(o, w, "id", 1, id, sizeof(id), err, errlen) != 0 ||
	    dec_str(o, w, "kind", 1, kindstr, sizeof(kindstr), err, errlen) != 0 ||
	    dec_str(o, w, "name", 1, name, sizeof(name), err, errlen) != 0)
		return -1;
	if (scope_kind_parse(kindstr, &kind) == -1)
		return dec_err(err, errlen, "%skind: expected \"host\", \"jail\" or \"ipcns\"", w);
	if (i == 0) {
		if (kind != SCOPE_HOST || strcmp(id, "host") != 0)
			return dec_err(err, errlen,
			               "%sid: the first scope must be the host (id and kind "
			               "\"host\")",
			               w);
		sc = &s->scopes[0];
		memcpy(sc->name, name, sizeof(sc->name));
	} else {
		/* exactly one host scope; ids are "jail:NAME" and "ipcns:INODE" */
		if (kind == SCOPE_HOST)
			return dec_err(err, errlen, "%skind: only the first scope may be the host",
			               w);
		plen = kind == SCOPE_JAIL ? 5 : 6;
		if (strncmp(id, kind == SCOPE_JAIL ? "jail:" : "ipcns:", plen) != 0 ||
		    id[plen] == '\0')
			return dec_err(err, errlen, "%sid: expected \"%s:NAME\" for kind %s", w,
			               kindstr, kindstr);
		if ((sc = snapshot_add_scope(s, id, name, kind)) == NULL)
			return dec_err(err, errlen, "%sid: out of memory", w);
	}

	if ((rc = dec_lookup(o, w, "isolation", 0, &iso, err, errlen)) == -1)
		return -1;
	if (rc == 0) {
		if (iso->type != MSGPACK_OBJECT_MAP)
			return dec_err(err, errlen, "%sisolation: expected map", w);
		for (t = 0; t < 3; t++) {
			if ((rc = mp_get_unique(iso, types[t], &v)) == 1)
				continue;
			if (rc == -1)
				return dec_err(err, errlen, "%sisolation.%s: duplicate key", w,
				               types[t]);
			if (mp_str_copy(v, val, sizeof(val)) == -1 ||
			    isolation_parse(val, &sc->iso[t]) == -1)
				return dec_err(err, errlen,
				               "%sisolation.%s: expected \"new\", \"inherit\", "
				               "\"disable\" or \"unknown\"",
				               w, types[t]);
		}
	}

	if ((rc = dec_lookup(o, w, "limits", 0, &lim, err, errlen)) == -1)
		return -1;
	if (rc == 0) {
		/* own limits mean an own pool: only IPC namespaces have one */
		if (kind != SCOPE_IPCNS)
			return dec_err(err, errlen,
			               "%slimits: only an ipcns scope has limits of its own", w);
		snprintf(w, sizeof(w), "snapshot: scopes[%u].limits", i);
		if (dec_limits(lim, w, &sc->limits, err, errlen) == -1)
			return -1;
		sc->own_limits = 1;
	}
	snprintf(w, sizeof(w), "snapshot: scopes[%u].", i);
	if ((rc = dec_lookup(o, w, "rctl", 0, &v, err, errlen)) == -1)
		return -1;
	if (rc == 0) {
		/* racct accounts jails: the host and namespaces have no rctl of their own here */
		if (kind != SCOPE_JAIL)
			return dec_err(err, errlen, "%srctl: only a jail scope has rctl", w);
		if (dec_rctl(v, w, &sc->rctl, err, errlen) == -1)
			return -1;
	}
	if (dec_str(o, w, "unknown", 0, sc->unknown, sizeof(sc->unknown), err, errlen) == -1 ||
	    dec_str(o, w, "cgroup", 0, sc->cgroup, sizeof(sc->cgroup), err, errlen) == -1 ||
	    dec_u32(o, w, "processes", 0, &sc->processes, err, errlen) == -1)
		return -1;
	return 0;
}

/*
 * w = "PREFIX[i]." as snprintf would make it, but cheaply: it is built for
 * every object of every snapshot and only read in error messages.
 */
static void
dec_where_index(char *w, size_t len, const char *prefix, uint32_t i)
{
	char digits[10];
	size_t n = strlen(prefix), k = 0;

	do
		digits[k++] = (char)('0' + i % 10);
	while ((i /= 10) != 0);
	if (n + k + 3 >= len) { /* cannot happen with DEC_WHERE_MAX: keep it NUL-terminated */
		w[0] = '\0';
		return;
	}
	memcpy(w, prefix, n);
	w[n++] = '[';
	while (k > 0)
		w[n++] = digits[--k];
	w[n++] = ']';
	w[n++] = '.';
	w[n] = '\0';
}

/* An object's optional "unknown": the names of the fields the agent could not read. */
static int
dec_object_unknown(struct dec_map *dm, const char *w, struct ipc_object *o, char *err,
                   size_t errlen)
{
	const msgpack_object *a;
	char name[16];
	uint32_t i, bit;
	int rc;

	if ((rc = dec_map_lookup(dm, w, "unknown", 0, &a, err, errlen)) != 0)
		return rc == 1 ? 0 : -1;
	if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size > OF_COUNT)
		return dec_err(err, errlen,
		               "%sunknown: expected an array of at most %d field names", w,
		               OF_COUNT);
	for (i = 0; i < a->via.array.size; i++) {
		if (dec_strobj(&a->via.array.ptr[i], w, "unknown", name, sizeof(name), err,
		               errlen) == -1)
			return -1;
		if ((bit = obj_field_parse(name)) == 0)
			return dec_err(err, errlen, "%sunknown: \"%s\" is not an object field", w,
			               name);
		o->unknown |= bit;
	}
	return 0;
}

/* Object i, in the scopes listed by refs. */
static int
dec_object(const msgpack_object *m, uint32_t i, struct ipc_object *o,
           const struct dec_scope_ref *refs, size_t nrefs, char *err, size_t errlen)
{
	char w[DEC_WHERE_MAX], type[8], scope[MODEL_NAME_MAX];
	struct dec_map dm;
	int64_t idx;

	dec_where_index(w, sizeof(w), "snapshot: objects", i);
	if (m->type != MSGPACK_OBJECT_MAP)
		return dec_err(err, errlen, "snapshot: objects[%u]: expected map", i);
	dec_map_init(&dm, m);
	if (dec_m_str(&dm, w, "type", 1, type, sizeof(type), err, errlen) != 0)
		return -1;
	if (ipc_type_parse(type, &o->type) == -1)
		return dec_err(err, errlen, "%stype: expected \"shm\", \"sem\" or \"msg\"", w);
	if (dec_m_i64(&dm, w, "id", 1, &o->id, err, errlen) != 0 ||
	    dec_m_i64(&dm, w, "key", 1, &o->key, err, errlen) != 0 ||
	    dec_m_u32(&dm, w, "mode", 1, &o->mode, err, errlen) != 0 ||
	    dec_m_u32(&dm, w, "uid", 1, &o->uid, err, errlen) != 0 ||
	    dec_m_u32(&dm, w, "gid", 1, &o->gid, err, errlen) != 0 ||
	    dec_m_u32(&dm, w, "cuid", 1, &o->cuid, err, errlen) != 0 ||
	    dec_m_u32(&dm, w, "cgid", 1, &o->cgid, err, errlen) != 0 ||
	    dec_m_str(&dm, w, "scope", 1, scope, sizeof(scope), err, errlen) != 0)
		return -1;
	if ((idx = dec_scope_find(refs, nrefs, scope)) < 0)
		return dec_err(err, errlen, "%sscope: no such scope in scopes", w);
	o->scope = (uint32_t)idx;

	/* fields of the other types are ignored, as unknown keys are */
	switch (o->type) {
	case IPC_SHM:
		if (dec_m_u64(&dm, w, "size", 1, &o->size, err, errlen) != 0 ||
		    dec_m_u64(&dm, w, "nattch", 1, &o->nattch, err, errlen) != 0 ||
		    dec_m_i64(&dm, w, "cpid", 1, &o->cpid, err, errlen) != 0 ||
		    dec_m_i64(&dm, w, "lpid", 1, &o->lpid, err, errlen) != 0 ||
		    dec_m_i64(&dm, w, "atime", 0, &o->atime, err, errlen) == -1 ||
		    dec_m_i64(&dm, w, "dtime", 0, &o->dtime, err, errlen) == -1 ||
		    dec_m_u64(&dm, w, "rss", 0, &o->rss, err, errlen) == -1 ||
		    dec_m_u64(&dm, w, "swap", 0, &o->swap, err, errlen) == -1)
			return -1;
		break;
	case IPC_SEM:
		if (dec_m_u64(&dm, w, "nsems", 1, &o->nsems, err, errlen) != 0 ||
		    dec_m_i64(&dm, w, "otime", 0, &o->otime, err, errlen) == -1)
			return -1;
		break;
	case IPC_MSG:
		if (dec_m_u64(&dm, w, "cbytes", 1, &o->cbytes, err, errlen) != 0 ||
		    dec_m_u64(&dm, w, "qnum", 1, &o->qnum, err, errlen) != 0 ||
		    dec_m_u64(&dm, w, "qbytes", 0, &o->qbytes, err, errlen) == -1 ||
		    dec_m_i64(&dm, w, "lspid", 0, &o->lspid, err, errlen) == -1 ||
		    dec_m_i64(&dm, w, "lrpid", 0, &o->lrpid, err, errlen) == -1 ||
		    dec_m_i64(&dm, w, "stime", 0, &o->stime, err, errlen) == -1 ||
		    dec_m_i64(&dm, w, "rtime", 0, &o->rtime, err, errlen) == -1)
			return -1;
		break;
	}
	if (dec_m_i64(&dm, w, "ctime", 0, &o->ctime, err, errlen) == -1 ||
	    dec_m_str(&dm, w, "owner", 0, o->owner, sizeof(o->owner), err, errlen) == -1)
		return -1;
	return dec_object_unknown(&dm, w, o, err, errlen);
}

/*
 * Finding i (agent side): kind "orphan" or "isolation", a severity, a
 * message; optionally a scope that is listed in scopes, a valid limit name,
 * the object (type and id together), its age (not negative), its uid and
 * the command that removes it.
 */
static int
dec_finding(const msgpack_object *m, uint32_t i, struct finding *f,
            const struct dec_scope_ref *refs, size_t nrefs, char *err, size_t errlen)
{
	char w[DEC_WHERE_MAX], kind[24], sev[8], type[8];
	int has_type, has_id, has_scope;

	snprintf(w, sizeof(w), "snapshot: findings[%u].", i);
	if (m->type != MSGPACK_OBJECT_MAP)
		return dec_err(err, errlen, "snapshot: findings[%u]: expected map", i);
	if (dec_str(m, w, "kind", 1, kind, sizeof(kind), err, errlen) != 0)
		return -1;
	if (finding_kind_parse(kind, &f->kind) == -1 || !finding_kind_from_agent(f->kind))
		return dec_err(err, errlen,
		               "%skind: expected one an agent reports (orphan, isolation, "
		               "incomplete, removeipc_risk, vanished, permissions)",
		               w);
	if (dec_str(m, w, "severity", 1, sev, sizeof(sev), err, errlen) != 0)
		return -1;
	if (severity_parse(sev, &f->severity) == -1)
		return dec_err(err, errlen, "%sseverity: expected \"info\", \"warn\" or \"crit\"",
		               w);
	if (dec_str(m, w, "message", 1, f->message, sizeof(f->message), err, errlen) != 0 ||
	    (has_scope = dec_str(m, w, "scope", 0, f->scope, sizeof(f->scope), err, errlen)) ==
	        -1 ||
	    dec_str(m, w, "limit", 0, f->limit, sizeof(f->limit), err, errlen) == -1 ||
	    dec_str(m, w, "command", 0, f->command, sizeof(f->command), err, errlen) == -1)
		return -1;
	/* an absent scope stays "": the whole host; a present one must be listed */
	if (has_scope == 0 && dec_scope_find(refs, nrefs, f->scope) < 0)
		return dec_err(err, errlen, "%sscope: no such scope in scopes", w);
	if (f->limit[0] != '\0' && !limit_name_valid(f->limit))
		return dec_err(err, errlen, "%slimit: bad limit name (1 to %d of [a-z0-9_.])", w,
		               MODEL_NAME_MAX - 1);
	if ((has_type = dec_str(m, w, "type", 0, type, sizeof(type), err, errlen)) == -1 ||
	    (has_id = dec_i64(m, w, "id", 0, &f->oid, err, errlen)) == -1)
		return -1;
	if (has_type != has_id)
		return dec_err(err, errlen, "%s%s: missing (type and id go together)", w,
		               has_type == 0 ? "id" : "type");
	if (has_type == 0) {
		if (ipc_type_parse(type, &f->otype) == -1)
			return dec_err(err, errlen, "%stype: expected \"shm\", \"sem\" or \"msg\"",
			               w);
		f->has_object = 1;
	}
	if (dec_i64(m, w, "age", 0, &f->age, err, errlen) == -1 ||
	    dec_u32(m, w, "uid", 0, &f->uid, err, errlen) == -1 ||
	    dec_str(m, w, "owner", 0, f->owner, sizeof(f->owner), err, errlen) == -1)
		return -1;
	if (f->age < 0)
		return dec_err(err, errlen, "%sage: must not be negative", w);
	return 0;
}

/*
 * The snapshot's optional "unknown": [{"figure": "used"|"limit", "name",
 * "why"}], at most MODEL_MAX_UNKNOWN, each figure once.
 */
static int
dec_unknowns(const msgpack_object *m, struct snapshot *s, char *err, size_t errlen)
{
	const msgpack_object *a;
	char w[DEC_WHERE_MAX], fig[8];
	uint32_t i;
	int rc;

	if ((rc = dec_lookup(m, "snapshot: ", "unknown", 0, &a, err, errlen)) != 0)
		return rc == 1 ? 0 : -1;
	if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size > MODEL_MAX_UNKNOWN)
		return dec_err(err, errlen, "snapshot: unknown: expected an array of at most %d",
		               MODEL_MAX_UNKNOWN);
	for (i = 0; i < a->via.array.size; i++) {
		const msgpack_object *e = &a->via.array.ptr[i];
		struct unknown *k = &s->unknown.v[s->unknown.n];

		dec_where_index(w, sizeof(w), "snapshot: unknown", i);
		if (e->type != MSGPACK_OBJECT_MAP)
			return dec_err(err, errlen, "snapshot: unknown[%u]: expected map", i);
		memset(k, 0, sizeof(*k));
		if (dec_str(e, w, "figure", 1, fig, sizeof(fig), err, errlen) != 0 ||
		    dec_str(e, w, "name", 1, k->name, sizeof(k->name), err, errlen) != 0 ||
		    dec_str(e, w, "why", 1, k->why, sizeof(k->why), err, errlen) != 0)
			return -1;
		if (strcmp(fig, "used") == 0)
			k->figure = UNK_USED;
		else if (strcmp(fig, "limit") == 0)
			k->figure = UNK_LIMIT;
		else
			return dec_err(err, errlen, "%sfigure: expected \"used\" or \"limit\"", w);
		if (!limit_name_valid(k->name))
			return dec_err(err, errlen, "%sname: bad name (1 to %d of [a-z0-9_.])", w,
			               MODEL_NAME_MAX - 1);
		if (snapshot_unknown_why(s, k->figure, k->name) != NULL)
			return dec_err(err, errlen, "%sname: \"%s\" is listed twice", w, k->name);
		s->unknown.n++;
	}
	return 0;
}

/*
 * s must come fresh from snapshot_init().  On error s may be partly filled;
 * the caller frees it either way.  os, os_release and page_size are not in
 * this message (they come from hello) and are left alone.
 */
int
proto_decode_snapshot(const struct proto_doc *d, struct snapshot *s, char *err, size_t errlen)
{
	const msgpack_object *m = &d->root, *lim, *sca, *oba, *fia;
	const char *w = "snapshot: ";
	struct dec_scope_ref *refs = NULL;
	uint32_t i;
	int rc = -1;

	if (dec_check_type(d, MSG_SNAPSHOT, "snapshot", err, errlen) == -1)
		return -1;
	if (s->nscopes != 1 || s->scopes == NULL || s->nobjects != 0 || s->nfindings != 0)
		return dec_err(err, errlen, "snapshot: not decoding into a fresh snapshot");
	if (dec_u64(m, w, "seq", 1, &s->seq, err, errlen) != 0 ||
	    dec_i64(m, w, "time", 1, &s->taken, err, errlen) != 0 ||
	    dec_u64(m, w, "dropped", 0, &s->dropped, err, errlen) == -1)
		return -1;
	if (s->seq < 1)
		return dec_err(err, errlen, "snapshot: seq: must be at least 1");
	if (dec_unknowns(m, s, err, errlen) == -1)
		return -1;

	if (dec_lookup(m, w, "limits", 1, &lim, err, errlen) != 0 ||
	    dec_limits(lim, "snapshot: limits", &s->limits, err, errlen) == -1)
		return -1;

	if (dec_lookup(m, w, "scopes", 1, &sca, err, errlen) != 0)
		return -1;
	if (sca->type != MSGPACK_OBJECT_ARRAY)
		return dec_err(err, errlen, "snapshot: scopes: expected array");
	if (sca->via.array.size < 1 || sca->via.array.size > MODEL_MAX_SCOPES)
		return dec_err(err, errlen, "snapshot: scopes: expected 1 to %d scopes",
		               MODEL_MAX_SCOPES);
	for (i = 0; i < sca->via.array.size; i++)
		if (dec_scope(&sca->via.array.ptr[i], i, s, err, errlen) == -1)
			return -1;

	/* ids sorted once: duplicates end up adjacent, objects find theirs in log n */
	if ((refs = calloc(s->nscopes, sizeof(*refs))) == NULL)
		return dec_err(err, errlen, "snapshot: out of memory");
	for (i = 0; i < s->nscopes; i++) {
		refs[i].id = s->scopes[i].id;
		refs[i].idx = i;
	}
	qsort(refs, s->nscopes, sizeof(*refs), dec_scope_cmp);
	for (i = 1; i < s->nscopes; i++) {
		if (strcmp(refs[i - 1].id, refs[i].id) == 0) {
			dec_err(err, errlen, "snapshot: scopes[%u].id: duplicate scope id",
			        refs[i].idx);
			goto out;
		}
	}

	if (dec_lookup(m, w, "objects", 1, &oba, err, errlen) != 0)
		goto out;
	if (oba->type != MSGPACK_OBJECT_ARRAY) {
		dec_err(err, errlen, "snapshot: objects: expected array");
		goto out;
	}
	if (oba->via.array.size > MODEL_MAX_OBJECTS) {
		dec_err(err, errlen, "snapshot: objects: too many (at most %d)", MODEL_MAX_OBJECTS);
		goto out;
	}
	for (i = 0; i < oba->via.array.size; i++) {
		struct ipc_object *o = snapshot_add_object(s);

		if (o == NULL) {
			dec_err(err, errlen, "snapshot: objects: out of memory");
			goto out;
		}
		if (dec_object(&oba->via.array.ptr[i], i, o, refs, s->nscopes, err, errlen) == -1)
			goto out;
	}

	/* findings are optional; the count is checked before anything is stored */
	if ((rc = dec_lookup(m, w, "findings", 0, &fia, err, errlen)) != 0) {
		rc = rc == 1 ? 0 : -1;
		goto out;
	}
	rc = -1;
	if (fia->type != MSGPACK_OBJECT_ARRAY) {
		dec_err(err, errlen, "snapshot: findings: expected array");
		goto out;
	}
	if (fia->via.array.size > MODEL_MAX_FINDINGS) {
		dec_err(err, errlen, "snapshot: findings: too many (at most %d)",
		        MODEL_MAX_FINDINGS);
		goto out;
	}
	for (i = 0; i < fia->via.array.size; i++) {
		struct finding *f = snapshot_add_finding(s);

		if (f == NULL) {
			dec_err(err, errlen, "snapshot: findings: out of memory");
			goto out;
		}
		if (dec_finding(&fia->via.array.ptr[i], i, f, refs, s->nscopes, err, errlen) == -1)
			goto out;
	}
	rc = 0;
out:
	free(refs);
	return rc;
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
		const msgpack_object *k = &args->via.map.ptr[i].key;
		char name[MODEL_NAME_MAX];

		if (dec_strobj(k, "query: args: ", "key", name, sizeof(name), err, errlen) == -1)
			return -1;
		for (j = 0; j < q->nargs; j++)
			if (strcmp(q->args[j].name, name) == 0)
				return dec_err(err, errlen, "query: args.%s: duplicate key", name);
		if (dec_strobj(&args->via.map.ptr[i].val, "query: args.", name,
		               q->args[q->nargs].value, sizeof(q->args[q->nargs].value), err,
		               errlen) == -1)
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
