/*
 * view.c: the host and hosts documents (CONTRACT.md, section JSON), packed
 * as msgpack from a snapshot (view.h).  Map sizes are counted before each
 * map is started, so every optional field is decided in one place.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
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
	view_pack_usage_levels(pk, u, NULL, NULL);
}

void
view_pack_usage_levels(msgpack_packer *pk, const struct usage *u, view_levels_fn levels, void *arg)
{
	size_t i, n = u->n < USAGE_MAX ? u->n : USAGE_MAX;

	msgpack_pack_map(pk, n);
	for (i = 0; i < n; i++) {
		const struct usage_item *it = &u->v[i];
		double warn, crit;

		view_str(pk, it->name);
		msgpack_pack_map(pk, 3 + (levels != NULL ? 2 : 0) + (it->why[0] != '\0'));
		/* unknown is never zero: a figure that could not be read is nil */
		view_str(pk, "used");
		if (it->unknown_used)
			msgpack_pack_nil(pk);
		else
			msgpack_pack_uint64(pk, it->used);
		view_str(pk, "limit");
		if (it->has_limit)
			msgpack_pack_uint64(pk, it->limit);
		else
			msgpack_pack_nil(pk);
		view_str(pk, "pct");
		if (USAGE_KNOWN(it))
			msgpack_pack_double(pk, usage_pct(it->used, it->limit));
		else
			msgpack_pack_nil(pk);
		if (it->why[0] != '\0') {
			view_str(pk, "unknown");
			view_str(pk, it->why);
		}
		if (levels != NULL) {
			/* the levels the aggregator applies: check and reports draw with them */
			levels(arg, it->name, &warn, &crit);
			view_str(pk, "warn");
			msgpack_pack_double(pk, warn);
			view_str(pk, "crit");
			msgpack_pack_double(pk, crit);
		}
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

/*
 * A jail's rctl (FreeBSD racct): {"nsem": {"used": 12, "limit": 300, "pct":
 * 4.0}, ...} for each resource with a usage or a deny rule; what is not
 * known is nil.
 */
static void
view_pack_rctl(msgpack_packer *pk, const struct scope_rctl *r)
{
	uint32_t any = (r->has_used | r->has_limit) & ((1u << RCTL_COUNT) - 1);
	int i, n = 0;

	for (i = 0; i < RCTL_COUNT; i++)
		n += (any >> i) & 1;
	msgpack_pack_map(pk, (size_t)n);
	for (i = 0; i < RCTL_COUNT; i++) {
		uint32_t bit = 1u << i;

		if (!(any & bit))
			continue;
		view_str(pk, rctl_res_name((enum rctl_res)i));
		msgpack_pack_map(pk, 3);
		view_str(pk, "used");
		if (r->has_used & bit)
			msgpack_pack_uint64(pk, r->used[i]);
		else
			msgpack_pack_nil(pk);
		view_str(pk, "limit");
		if (r->has_limit & bit)
			msgpack_pack_uint64(pk, r->limit[i]);
		else
			msgpack_pack_nil(pk);
		view_str(pk, "pct");
		if ((r->has_used & bit) && (r->has_limit & bit) && r->limit[i] > 0)
			msgpack_pack_double(pk, usage_pct(r->used[i], r->limit[i]));
		else
			msgpack_pack_nil(pk);
	}
}

static void
view_pack_scope(msgpack_packer *pk, const struct snapshot *s, size_t i, size_t nobj)
{
	const struct ipc_scope *sc = &s->scopes[i];
	int has_rctl = (sc->rctl.has_used | sc->rctl.has_limit) != 0;
	struct usage u;
	int t;

	/* cgroup and processes: where the agent knows them (Linux namespaces) */
	msgpack_pack_map(pk, (sc->own_limits ? 8 : 7) + (sc->cgroup[0] != '\0') +
	                         (sc->processes != 0) + has_rctl);
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
	if (sc->cgroup[0] != '\0') {
		view_str(pk, "cgroup");
		view_str(pk, sc->cgroup);
	}
	if (sc->processes != 0)
		view_kv_u64(pk, "processes", sc->processes);
	if (has_rctl) {
		view_str(pk, "rctl");
		view_pack_rctl(pk, &sc->rctl);
	}
}

/*
 * The fields of an object's own type, in the order shown, so that counting
 * them for the map and packing them walk one list.
 */
enum view_fkind { VF_U64, VF_I64, VF_TIME };
struct view_field {
	uint32_t bit; /* enum obj_field: the name, and whether it is unknown */
	enum view_fkind kind;
	int sparse; /* 1: shown only when set or unknown (rss and swap, Linux only) */
	size_t off; /* of its uint64_t or int64_t in struct ipc_object */
};
/* offset of a 64-bit field of struct ipc_object; another width does not compile */
#define VF_OFF(f)                                                                                  \
	(offsetof(struct ipc_object, f) +                                                          \
	 0 * sizeof(char[sizeof(((struct ipc_object *)0)->f) == 8 ? 1 : -1]))
static const struct view_field view_shm[] = {
    {OF_SIZE, VF_U64, 0, VF_OFF(size)},    {OF_NATTCH, VF_U64, 0, VF_OFF(nattch)},
    {OF_CPID, VF_I64, 0, VF_OFF(cpid)},    {OF_LPID, VF_I64, 0, VF_OFF(lpid)},
    {OF_ATIME, VF_TIME, 0, VF_OFF(atime)}, {OF_DTIME, VF_TIME, 0, VF_OFF(dtime)},
    {OF_RSS, VF_U64, 1, VF_OFF(rss)},      {OF_SWAP, VF_U64, 1, VF_OFF(swap)},
};
static const struct view_field view_sem[] = {
    {OF_NSEMS, VF_U64, 0, VF_OFF(nsems)},
    {OF_OTIME, VF_TIME, 0, VF_OFF(otime)},
};
static const struct view_field view_msg[] = {
    {OF_CBYTES, VF_U64, 0, VF_OFF(cbytes)}, {OF_QNUM, VF_U64, 0, VF_OFF(qnum)},
    {OF_QBYTES, VF_U64, 0, VF_OFF(qbytes)}, {OF_LSPID, VF_I64, 0, VF_OFF(lspid)},
    {OF_LRPID, VF_I64, 0, VF_OFF(lrpid)},   {OF_STIME, VF_TIME, 0, VF_OFF(stime)},
    {OF_RTIME, VF_TIME, 0, VF_OFF(rtime)},
};
static const struct view_field view_ctime = {OF_CTIME, VF_TIME, 0, VF_OFF(ctime)};

/* The fields of type t (none for a type the model does not know). */
static const struct view_field *
view_fields(enum ipc_type t, size_t *n)
{
	switch (t) {
	case IPC_SHM:
		*n = NELEM(view_shm);
		return view_shm;
	case IPC_SEM:
		*n = NELEM(view_sem);
		return view_sem;
	case IPC_MSG:
		*n = NELEM(view_msg);
		return view_msg;
	}
	*n = 0;
	return NULL;
}

/* The field's 64 bits: a uint64_t or an int64_t, as f->kind says. */
static uint64_t
view_field_bits(const struct ipc_object *o, const struct view_field *f)
{
	uint64_t v;

	memcpy(&v, (const char *)o + f->off, sizeof(v));
	return v;
}

static int
view_field_shown(const struct ipc_object *o, const struct view_field *f)
{
	return !f->sparse || view_field_bits(o, f) != 0 || (o->unknown & f->bit) != 0;
}

/*
 * One field: its value, or nil when the collector could not read it; a
 * time in RFC 3339, nil for "never" and for unknown.
 */
static void
view_field_pack(msgpack_packer *pk, const struct ipc_object *o, const struct view_field *f)
{
	uint64_t u = view_field_bits(o, f);
	int64_t i;

	memcpy(&i, &u, sizeof(i));
	view_str(pk, obj_field_name(f->bit));
	if (f->kind == VF_TIME)
		view_time(pk, (o->unknown & f->bit) ? 0 : i);
	else if (o->unknown & f->bit)
		msgpack_pack_nil(pk);
	else if (f->kind == VF_U64)
		msgpack_pack_uint64(pk, u);
	else
		msgpack_pack_int64(pk, i);
}

static void
view_pack_object(msgpack_packer *pk, const struct snapshot *s, const struct ipc_object *o)
{
	size_t nf, i;
	const struct view_field *fv = view_fields(o->type, &nf);
	char mode[16];
	/* type id key mode uid gid cuid cgid scope ctime, owner when known */
	size_t n = 10 + (o->owner[0] != '\0');

	for (i = 0; i < nf; i++)
		n += view_field_shown(o, &fv[i]);
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
	for (i = 0; i < nf; i++)
		if (view_field_shown(o, &fv[i]))
			view_field_pack(pk, o, &fv[i]);
	view_field_pack(pk, o, &view_ctime);
	if (o->owner[0] != '\0') {
		view_str(pk, "owner");
		view_str(pk, o->owner);
	}
}

/*
 * {"host"?, "kind", "severity", "limit"?, "scope"?, "message", "opened"?,
 * "updated"?, "type"?, "id"?, "age"?, "uid"?, "owner"?, "command"?, "held"?,
 * "free"?, "safe_limit"?, "exhaust_at"?} (docs/protocol.md): ? where it
 * applies.  Strings and times are written only when set (non-empty,
 * non-zero), the object's fields with has_object, the headroom's with
 * has_headroom; the agent's own findings have no opened/updated.
 */
void
view_pack_finding(msgpack_packer *pk, const char *host, const struct finding *f)
{
	view_pack_finding_more(pk, host, f, 0);
}

void
view_pack_finding_more(msgpack_packer *pk, const char *host, const struct finding *f, uint64_t more)
{
	size_t n = 3 + (host != NULL) + (f->limit[0] != '\0') + (f->scope[0] != '\0') +
	           (f->opened != 0) + (f->updated != 0) + (f->has_object ? 3 : 0) +
	           (f->has_object || finding_about_owner(f)) + (f->owner[0] != '\0') +
	           (f->command[0] != '\0') + (f->has_headroom ? 3 : 0) + (f->exhaust_at != 0) +
	           (more != 0);

	msgpack_pack_map(pk, n);
	if (host != NULL) {
		view_str(pk, "host");
		view_str(pk, host);
	}
	view_str(pk, "kind");
	view_str(pk, finding_kind_name(f->kind));
	view_str(pk, "severity");
	view_str(pk, severity_name(f->severity));
	if (f->limit[0] != '\0') {
		view_str(pk, "limit");
		view_str(pk, f->limit);
	}
	if (f->scope[0] != '\0') {
		view_str(pk, "scope");
		view_str(pk, f->scope);
	}
	view_str(pk, "message");
	view_str(pk, f->message);
	if (f->opened != 0)
		view_kv_time(pk, "opened", f->opened);
	if (f->updated != 0)
		view_kv_time(pk, "updated", f->updated);
	if (f->has_object) {
		view_str(pk, "type");
		view_str(pk, ipc_type_name(f->otype));
		view_kv_i64(pk, "id", f->oid);
		view_kv_i64(pk, "age", f->age);
	}
	if (f->has_object || finding_about_owner(f))
		view_kv_u64(pk, "uid", f->uid);
	if (f->owner[0] != '\0') {
		view_str(pk, "owner");
		view_str(pk, f->owner);
	}
	if (f->command[0] != '\0') {
		view_str(pk, "command");
		view_str(pk, f->command);
	}
	if (f->has_headroom) {
		view_kv_u64(pk, "held", f->held);
		view_kv_u64(pk, "free", f->free);
		view_kv_u64(pk, "safe_limit", f->safe_limit);
	}
	if (f->exhaust_at != 0)
		view_kv_time(pk, "exhaust_at", f->exhaust_at);
	if (more != 0)
		view_kv_u64(pk, "more", more);
}

static void
view_bool(msgpack_packer *pk, const char *k, int v)
{
	view_str(pk, k);
	if (v)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

void
view_pack_recommendation(msgpack_packer *pk, const struct recommendation *r)
{
	msgpack_pack_map(pk, 9);
	view_str(pk, "limit");
	view_str(pk, r->limit);
	view_kv_u64(pk, "current", r->current);
	view_kv_u64(pk, "peak", r->peak);
	view_kv_u64(pk, "largest_consumer", r->largest);
	view_kv_u64(pk, "recommended", r->recommended);
	view_bool(pk, "needs_change", r->needs_change);
	view_bool(pk, "reboot", r->reboot);
	view_str(pk, "file");
	view_str(pk, r->file);
	view_str(pk, "line");
	view_str(pk, r->line);
}

/* "findings": the aggregator's when it gives them (x->findings), else the snapshot's. */
static void
view_pack_findings(msgpack_packer *pk, const struct snapshot *s, const struct view_extra *x)
{
	const struct finding *f = x->findings != NULL ? x->findings : s->findings;
	size_t i, n = x->findings != NULL ? x->nfindings : s->nfindings;

	view_str(pk, "findings");
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		view_pack_finding(pk, x->host, &f[i]);
}

/* A count of more objects or instances: nil when unknown or when no limit bounds it. */
static void
view_fit_units(msgpack_packer *pk, const char *k, const struct capacity_fit *f)
{
	view_str(pk, k);
	if (f->known && f->binding >= 0)
		msgpack_pack_uint64(pk, f->units);
	else
		msgpack_pack_nil(pk);
}

static void
view_fit_binding(msgpack_packer *pk, const char *k, const struct capacity_fit *f)
{
	view_str(pk, k);
	if (f->known && f->binding >= 0)
		view_str(pk, capacity_limit_name(f->binding));
	else
		msgpack_pack_nil(pk);
}

/* "semmns unknown: WHY" for a fit that is not known; 0 when it is.  hostp: the host's pool. */
static int
view_fit_unknown(const struct snapshot *s, const struct capacity_pool *hostp,
                 const struct headroom *r, char *out, size_t len)
{
	const struct capacity_fit *f =
	    !r->more_objects.known ? &r->more_objects : &r->more_instances;
	const char *name, *why = NULL;

	if (f->known)
		return 0;
	name = capacity_limit_name(f->binding);
	/* the reason, where the snapshot gives one (the host's pool) */
	if (r->scope < s->nscopes && !s->scopes[r->scope].own_limits && f->binding >= 0 &&
	    f->binding < CAP_COUNT)
		why = hostp->why[f->binding];
	if (why != NULL)
		snprintf(out, len, "%s unknown: %s", name, why);
	else
		snprintf(out, len, "%s unknown", name);
	return 1;
}

/*
 * "headroom": per consumer and shape, how many more fit (capacity.h):
 * {"scope", "owner", "uid", "type", "objects", "nsems" or "size",
 * "more_objects", "more_instances", "binding", "instances_binding",
 * "unknown"?}, the tightest first, at most HEADROOM_MAX.
 */
static void
view_pack_headroom(msgpack_packer *pk, const struct snapshot *s)
{
	struct headroom *v = NULL;
	struct capacity_pool hostp;
	struct usage u;
	size_t n = 0, total, i;

	view_str(pk, "headroom");
	if (headroom_compute(s, HEADROOM_MAX, &v, &n, &total) == -1)
		n = 0; /* out of memory: an empty list rather than no document */
	model_usage(s, -1, &u);
	capacity_pool_init(&hostp, s, &u, &s->limits, -1);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++) {
		const struct headroom *r = &v[i];
		char why[MODEL_TEXT_MAX];
		int unk = view_fit_unknown(s, &hostp, r, why, sizeof(why));

		msgpack_pack_map(pk, 10 + (size_t)unk);
		view_str(pk, "scope");
		view_str(pk, r->scope < s->nscopes ? s->scopes[r->scope].id : "");
		view_str(pk, "owner");
		view_str(pk, r->owner);
		view_kv_u64(pk, "uid", r->uid);
		view_str(pk, "type");
		view_str(pk, ipc_type_name(r->type));
		view_kv_u64(pk, "objects", r->objects);
		view_kv_u64(pk, r->type == IPC_SEM ? "nsems" : "size", r->shape);
		view_fit_units(pk, "more_objects", &r->more_objects);
		view_fit_units(pk, "more_instances", &r->more_instances);
		view_fit_binding(pk, "binding", &r->more_objects);
		view_fit_binding(pk, "instances_binding", &r->more_instances);
		if (unk) {
			view_str(pk, "unknown");
			view_str(pk, why);
		}
	}
	free(v);
}

static void
view_pack_recs(msgpack_packer *pk, const struct view_extra *x)
{
	size_t i;

	view_str(pk, "recommendations");
	msgpack_pack_array(pk, x->nrecs);
	for (i = 0; i < x->nrecs; i++)
		view_pack_recommendation(pk, &x->recs[i]);
}

void
view_pack_host(msgpack_packer *pk, const struct snapshot *s, const struct view_extra *x)
{
	static const struct view_extra none;
	struct usage u;
	size_t n, i, *count;

	if (x == NULL)
		x = &none;
	/* os os_release page_size usage limits scopes objects headroom findings; recommendations */
	n = 9 + (x->host != NULL) + (x->status != NULL) + (x->last_seen != 0) + (s->taken != 0) +
	    (s->dropped != 0) + (x->recs != NULL);
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
	if (s->dropped != 0) /* snapshots the agent dropped, spool full; absent: none */
		view_kv_u64(pk, "dropped", s->dropped);

	view_str(pk, "usage");
	model_usage(s, -1, &u);
	view_pack_usage_levels(pk, &u, x->levels, x->levels_arg);

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

	view_pack_headroom(pk, s);
	view_pack_findings(pk, s, x);
	if (x->recs != NULL)
		view_pack_recs(pk, x);
}

/* A hosts row's map header and its first entries, up to "usage". */
static void
view_row_head(msgpack_packer *pk, const char *os, const struct usage *u, const struct view_extra *x,
              int details)
{
	msgpack_pack_map(pk, 4 + (x->host != NULL) +
	                         (details ? 2 + (x->more_findings != 0) + x->nmore : 0));
	if (x->host != NULL) {
		view_str(pk, "host");
		view_str(pk, x->host);
	}
	view_str(pk, "os");
	view_str(pk, os);
	view_str(pk, "status");
	if (x->status != NULL)
		view_str(pk, x->status);
	else
		msgpack_pack_nil(pk);
	view_kv_time(pk, "last_seen", x->last_seen);
	view_str(pk, "usage");
	view_pack_usage_levels(pk, u, x->levels, x->levels_arg);
}

void
view_pack_host_row(msgpack_packer *pk, const struct snapshot *s, const struct view_extra *x)
{
	static const struct view_extra none;
	struct usage u;

	if (x == NULL)
		x = &none;
	model_usage(s, -1, &u);
	view_row_head(pk, s->os, &u, x, x->row_details);
	if (x->row_details) {
		view_pack_findings(pk, s, x);
		view_pack_recs(pk, x); /* an empty array when there are none */
		if (x->more_findings != 0)
			view_kv_u64(pk, "more_findings", x->more_findings);
		if (x->nmore != 0)
			x->more(pk, x->more_arg);
	}
}

void
view_pack_host_row_usage(msgpack_packer *pk, const char *os, const struct usage *u,
                         const struct view_extra *x)
{
	static const struct view_extra none;

	view_row_head(pk, os, u, x != NULL ? x : &none, 0);
}

const char *
view_status(const struct usage *u, double warn, double crit)
{
	size_t i, n = u->n < USAGE_MAX ? u->n : USAGE_MAX;
	int worst = 0;

	for (i = 0; i < n; i++) {
		double pct;

		if (!USAGE_KNOWN(&u->v[i]))
			continue; /* an unknown figure has its own finding: incomplete */
		pct = usage_pct(u->v[i].used, u->v[i].limit);
		if (pct >= crit)
			worst = 2;
		else if (pct >= warn && worst < 1)
			worst = 1;
	}
	return worst == 2 ? "crit" : worst == 1 ? "warn" : "ok";
}
