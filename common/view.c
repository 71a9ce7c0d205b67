/*
 * view.c: the host and hosts documents (CONTRACT.md, section JSON), packed
 * as msgpack from a snapshot (view.h).  Map sizes are counted before each
 * map is started, so every optional field is decided in one place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "view.h"

static void
view_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	msgpack_pack_str_body(pk, s, n);
}

/* An RFC 3339 string, or nil when t is 0 ("never"). */
static void
view_time(msgpack_packer *pk, int64_t t)
{
	char s[64];

	if (t == 0) {
		msgpack_pack_nil(pk);
		return;
	}
	view_str(pk, fmt_rfc3339(t, s, sizeof(s)));
}

static void
view_kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
	view_str(pk, k);
	msgpack_pack_uint64(pk, v);
}

static void
view_kv_i64(msgpack_packer *pk, const char *k, int64_t v)
{
	view_str(pk, k);
	msgpack_pack_int64(pk, v);
}

static void
view_kv_time(msgpack_packer *pk, const char *k, int64_t t)
{
	view_str(pk, k);
	view_time(pk, t);
}

void
view_pack_usage(msgpack_packer *pk, const struct usage *u)
{
	size_t i, n = u->n < USAGE_MAX ? u->n : USAGE_MAX;

	msgpack_pack_map(pk, n);
	for (i = 0; i < n; i++) {
		const struct usage_item *it = &u->v[i];

		view_str(pk, it->name);
		msgpack_pack_map(pk, 3);
		view_kv_u64(pk, "used", it->used);
		view_str(pk, "limit");
		if (it->has_limit)
			msgpack_pack_uint64(pk, it->limit);
		else
			msgpack_pack_nil(pk);
		view_str(pk, "pct");
		if (it->has_limit)
			msgpack_pack_double(pk, usage_pct(it->used, it->limit));
		else
			msgpack_pack_nil(pk);
	}
}

static void
view_pack_limits(msgpack_packer *pk, const struct ipc_limits *l)
{
	size_t i, n = l->n < MODEL_MAX_LIMITS ? l->n : MODEL_MAX_LIMITS;

	msgpack_pack_map(pk, n);
	for (i = 0; i < n; i++)
		view_kv_u64(pk, l->v[i].name, l->v[i].value);
}

/* Objects per scope in one pass; NULL when out of memory (then 0 each). */
static size_t *
view_count_objects(const struct snapshot *s)
{
	size_t *count, i;

	if (s->nscopes == 0 || (count = calloc(s->nscopes, sizeof(*count))) == NULL)
		return NULL;
	for (i = 0; i < s->nobjects; i++)
		if (s->objects[i].scope < s->nscopes)
			count[s->objects[i].scope]++;
	return count;
}

static void
view_pack_scope(msgpack_packer *pk, const struct snapshot *s, size_t i, size_t nobj)
{
	const struct ipc_scope *sc = &s->scopes[i];
	struct usage u;
	int t;

	msgpack_pack_map(pk, sc->own_limits ? 8 : 7);
	view_str(pk, "id");
	view_str(pk, sc->id);
	view_str(pk, "kind");
	view_str(pk, scope_kind_name(sc->kind));
	view_str(pk, "name");
	view_str(pk, sc->name);
	view_str(pk, "isolation");
	if (sc->iso[IPC_SHM] == ISO_UNKNOWN && sc->iso[IPC_SEM] == ISO_UNKNOWN &&
	    sc->iso[IPC_MSG] == ISO_UNKNOWN) {
		msgpack_pack_nil(pk);
	} else {
		msgpack_pack_map(pk, 3);
		for (t = IPC_SHM; t <= IPC_MSG; t++) {
			view_str(pk, ipc_type_name((enum ipc_type)t));
			view_str(pk, isolation_name(sc->iso[t]));
		}
	}
	view_str(pk, "own_limits");
	if (sc->own_limits)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
	if (sc->own_limits) {
		view_str(pk, "limits");
		view_pack_limits(pk, &sc->limits);
	}
	view_str(pk, "usage");
	model_usage(s, (int)i, &u);
	view_pack_usage(pk, &u);
	view_kv_u64(pk, "objects", nobj);
}

static void
view_pack_object(msgpack_packer *pk, const struct snapshot *s, const struct ipc_object *o)
{
	char mode[16];
	size_t n = 10; /* type id key mode uid gid cuid cgid scope ctime */

	switch (o->type) {
	case IPC_SHM:
		n += 6 + (o->rss != 0) + (o->swap != 0);
		break;
	case IPC_SEM:
		n += 2;
		break;
	case IPC_MSG:
		n += 7;
		break;
	}
	msgpack_pack_map(pk, n);
	view_str(pk, "type");
	view_str(pk, ipc_type_name(o->type));
	view_kv_i64(pk, "id", o->id);
	view_kv_i64(pk, "key", o->key);
	snprintf(mode, sizeof(mode), "%04o", (unsigned)o->mode);
	view_str(pk, "mode");
	view_str(pk, mode);
	view_kv_u64(pk, "uid", o->uid);
	view_kv_u64(pk, "gid", o->gid);
	view_kv_u64(pk, "cuid", o->cuid);
	view_kv_u64(pk, "cgid", o->cgid);
	view_str(pk, "scope");
	if (o->scope < s->nscopes)
		view_str(pk, s->scopes[o->scope].id);
	else
		msgpack_pack_nil(pk);
	switch (o->type) {
	case IPC_SHM:
		view_kv_u64(pk, "size", o->size);
		view_kv_u64(pk, "nattch", o->nattch);
		view_kv_i64(pk, "cpid", o->cpid);
		view_kv_i64(pk, "lpid", o->lpid);
		view_kv_time(pk, "atime", o->atime);
		view_kv_time(pk, "dtime", o->dtime);
		if (o->rss != 0)
			view_kv_u64(pk, "rss", o->rss);
		if (o->swap != 0)
			view_kv_u64(pk, "swap", o->swap);
		break;
	case IPC_SEM:
		view_kv_u64(pk, "nsems", o->nsems);
		view_kv_time(pk, "otime", o->otime);
		break;
	case IPC_MSG:
		view_kv_u64(pk, "cbytes", o->cbytes);
		view_kv_u64(pk, "qnum", o->qnum);
		view_kv_u64(pk, "qbytes", o->qbytes);
		view_kv_i64(pk, "lspid", o->lspid);
		view_kv_i64(pk, "lrpid", o->lrpid);
		view_kv_time(pk, "stime", o->stime);
		view_kv_time(pk, "rtime", o->rtime);
		break;
	}
	view_kv_time(pk, "ctime", o->ctime);
}

void
view_pack_host(msgpack_packer *pk, const struct snapshot *s, const struct view_extra *x)
{
	static const struct view_extra none;
	struct usage u;
	size_t n, i, *count;

	if (x == NULL)
		x = &none;
	/* os os_release page_size usage limits scopes objects findings */
	n = 8 + (x->host != NULL) + (x->status != NULL) + (x->last_seen != 0) + (s->taken != 0);
	msgpack_pack_map(pk, n);
	if (x->host != NULL) {
		view_str(pk, "host");
		view_str(pk, x->host);
	}
	view_str(pk, "os");
	view_str(pk, s->os);
	view_str(pk, "os_release");
	view_str(pk, s->os_release);
	if (x->status != NULL) {
		view_str(pk, "status");
		view_str(pk, x->status);
	}
	if (x->last_seen != 0)
		view_kv_time(pk, "last_seen", x->last_seen);
	view_kv_u64(pk, "page_size", s->page_size);
	if (s->taken != 0)
		view_kv_time(pk, "taken", s->taken);

	view_str(pk, "usage");
	model_usage(s, -1, &u);
	view_pack_usage(pk, &u);

	view_str(pk, "limits");
	view_pack_limits(pk, &s->limits);

	/*
	 * model_usage() walks every object once per scope: fine for the tens of
	 * scopes and hundreds of objects a host has in practice.
	 */
	count = view_count_objects(s);
	view_str(pk, "scopes");
	msgpack_pack_array(pk, s->nscopes);
	for (i = 0; i < s->nscopes; i++)
		view_pack_scope(pk, s, i, count != NULL ? count[i] : 0);
	free(count);

	view_str(pk, "objects");
	msgpack_pack_array(pk, s->nobjects);
	for (i = 0; i < s->nobjects; i++)
		view_pack_object(pk, s, &s->objects[i]);

	view_str(pk, "findings");
	msgpack_pack_array(pk, 0);
}

void
view_pack_host_row(msgpack_packer *pk, const struct snapshot *s, const struct view_extra *x)
{
	static const struct view_extra none;
	struct usage u;

	if (x == NULL)
		x = &none;
	msgpack_pack_map(pk, 4 + (x->host != NULL));
	if (x->host != NULL) {
		view_str(pk, "host");
		view_str(pk, x->host);
	}
	view_str(pk, "os");
	view_str(pk, s->os);
	view_str(pk, "status");
	if (x->status != NULL)
		view_str(pk, x->status);
	else
		msgpack_pack_nil(pk);
	view_kv_time(pk, "last_seen", x->last_seen);
	view_str(pk, "usage");
	model_usage(s, -1, &u);
	view_pack_usage(pk, &u);
}

const char *
view_status(const struct usage *u, double warn, double crit)
{
	size_t i, n = u->n < USAGE_MAX ? u->n : USAGE_MAX;
	int worst = 0;

	for (i = 0; i < n; i++) {
		double pct;

		if (!u->v[i].has_limit)
			continue;
		pct = usage_pct(u->v[i].used, u->v[i].limit);
		if (pct >= crit)
			worst = 2;
		else if (pct >= warn && worst < 1)
			worst = 1;
	}
	return worst == 2 ? "crit" : worst == 1 ? "warn" : "ok";
}
