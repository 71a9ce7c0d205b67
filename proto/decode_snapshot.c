/*
 * decode_snapshot.c: the snapshot (the message that comes by the thousand),
 * validated and decoded in one pass over its payload (proto.h).
 *
 * The cursor of mpread.h checks each msgpack object as it reads it (the
 * checks frame_validate makes), so no validation walk comes first and no
 * tree is built.  Each map is read into a table of the fields its decoder
 * knows (dec_smap: unknown keys skipped, duplicates marked), then checked in
 * a fixed order, so that a map breaking one rule is refused with the message
 * a lookup by key gave.  Scopes, objects and findings are decoded as they
 * come; a container read out of that order (or a small nested one) is read
 * again from its first byte.  Values are checked by decode.c's dec_*_v.
 *
 * Rules beyond the field tables: limits maps may not repeat a name; a
 * finding from an agent may only be of the kinds an agent reports, must
 * name a listed scope when it names one, and gives its object's type and id
 * together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "proto.h"
#include "util.h"

/* Longest "snapshot: objects[199999]." style prefix, with room to spare. */
#define DEC_WHERE_MAX 96

/* ---- payloads read in place: a map's known fields (the snapshot) ---- */

/* A field name with its length, compared with keys without strlen. */
struct dec_name {
	const char *s;
	uint8_t len;
};
#define DN(x)                                                                                      \
	{                                                                                          \
		x, sizeof(x) - 1                                                                   \
	}

#define DEC_FIELDS_MAX 32

/*
 * One map read through the cursor: the value of each field the decoder
 * knows (a container's header; its children are skipped or read as they
 * come), which were seen, and which came more than once (an error only when
 * the decoder asks for that field, as a lookup by key would be).
 */
struct dec_smap {
	const struct dec_name *names;
	uint32_t nnames;
	uint32_t hint; /* the field after the last one found: encoders write them in order */
	uint32_t seen, dup;
	struct mpr_val v[DEC_FIELDS_MAX];
};

/*
 * Consumes a container field's children as it comes (0), or leaves them to
 * be skipped (1); -1 on error.
 */
typedef int (*dec_inline_fn)(void *ctx, struct mpr_cur *c, uint32_t field, const struct mpr_val *v);

static void
dec_smap_init(struct dec_smap *sm, const struct dec_name *names, uint32_t nnames)
{
	sm->names = names;
	sm->nnames = nnames;
	sm->hint = 0;
	sm->seen = sm->dup = 0;
}

/* The field key k names, or -1. */
static int
dec_smap_field(struct dec_smap *sm, const struct mpr_val *k)
{
	uint32_t j, i;

	for (j = 0, i = sm->hint; j < sm->nnames; j++, i = i + 1 == sm->nnames ? 0 : i + 1) {
		const struct dec_name *nm = &sm->names[i];

		if (nm->len == k->len && (k->len == 0 || memcmp(nm->s, k->str, k->len) == 0)) {
			sm->hint = i + 1 == sm->nnames ? 0 : i + 1;
			return (int)i;
		}
	}
	return -1;
}

/*
 * Reads the pairs of map m (its header just read by mpr_next) into sm.
 * -1 when the cursor refuses (c->why) or fn fails (err).
 */
static int
dec_smap_read(struct mpr_cur *c, const struct mpr_val *m, struct dec_smap *sm, dec_inline_fn fn,
              void *ctx)
{
	struct mpr_val k, v;
	uint64_t i;
	int f, rc;

	for (i = 0; i < m->n.u; i++) {
		if (mpr_next(c, &k) == -1 || mpr_next(c, &v) == -1)
			return -1;
		if ((f = dec_smap_field(sm, &k)) < 0)
			rc = 1;
		else if ((sm->seen >> f) & 1) {
			sm->dup |= 1u << f;
			rc = 1;
		} else {
			sm->seen |= 1u << f;
			sm->v[f] = v;
			rc = fn != NULL && (v.kind == MPR_ARRAY || v.kind == MPR_MAP)
			         ? fn(ctx, c, (uint32_t)f, &v)
			         : 1;
		}
		if (rc == -1 || (rc == 1 && mpr_skip(c, &v) == -1))
			return -1;
	}
	return 0;
}

/* Field f: 0 with *v, 1 when absent and optional, -1 (err) when missing or duplicated. */
static int
dec_sget(const struct dec_smap *sm, uint32_t f, const char *where, int required,
         const struct mpr_val **v, char *err, size_t errlen)
{
	*v = NULL;
	if ((sm->dup >> f) & 1)
		return dec_err(err, errlen, "%s%s: duplicate key", where, sm->names[f].s);
	if (!((sm->seen >> f) & 1)) {
		if (required)
			return dec_err(err, errlen, "%s%s: missing", where, sm->names[f].s);
		return 1;
	}
	*v = &sm->v[f];
	return 0;
}

static int
dec_s_u64(const struct dec_smap *sm, uint32_t f, const char *where, int required, uint64_t *v,
          char *err, size_t errlen)
{
	const struct mpr_val *o;
	int rc;

	if ((rc = dec_sget(sm, f, where, required, &o, err, errlen)) != 0)
		return rc;
	return dec_uint_v(o, where, sm->names[f].s, UINT64_MAX, v, err, errlen);
}

static int
dec_s_u32(const struct dec_smap *sm, uint32_t f, const char *where, int required, uint32_t *v,
          char *err, size_t errlen)
{
	const struct mpr_val *o;
	int rc;

	if ((rc = dec_sget(sm, f, where, required, &o, err, errlen)) != 0)
		return rc;
	return dec_u32_v(o, where, sm->names[f].s, v, err, errlen);
}

static int
dec_s_i64(const struct dec_smap *sm, uint32_t f, const char *where, int required, int64_t *v,
          char *err, size_t errlen)
{
	const struct mpr_val *o;
	int rc;

	if ((rc = dec_sget(sm, f, where, required, &o, err, errlen)) != 0)
		return rc;
	return dec_i64_v(o, where, sm->names[f].s, v, err, errlen);
}

static int
dec_s_str(const struct dec_smap *sm, uint32_t f, const char *where, int required, char *out,
          size_t len, char *err, size_t errlen)
{
	const struct mpr_val *o;
	int rc;

	if ((rc = dec_sget(sm, f, where, required, &o, err, errlen)) != 0)
		return rc;
	return dec_str_v(o, where, sm->names[f].s, out, len, err, errlen);
}

/*
 * A container the cursor c has passed (so checked) read again from its
 * first byte: sub is a cursor there, *v its header again.
 */
static void
dec_reread(const struct mpr_cur *c, const struct mpr_val *at, struct mpr_cur *sub,
           struct mpr_val *v)
{
	mpr_cur_init(sub, c->p, c->n);
	sub->pos = at->off;
	/* cannot fail: the same bytes were read before */
	if (mpr_next(sub, v) == -1)
		v->kind = MPR_NIL;
}

/* ---- the snapshot, read in one pass ---- */

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

/* The decoding of one snapshot: what the inline readers need. */
struct dec_snap {
	struct snapshot *s;
	const struct mpr_cur *top;  /* the payload's cursor: containers are read again from it */
	struct dec_scope_ref *refs; /* sorted ids, once the scopes are in */
	int scopes_done, objects_done, findings_done;
	char *err;
	size_t errlen;
};

/*
 * A limits map (at c, its header m just read): at most MODEL_MAX_LIMITS
 * names passing limit_name_valid(), each once, with unsigned values.  where
 * names the map ("snapshot: limits").
 */
static int
dec_limits(struct mpr_cur *c, const struct mpr_val *m, const char *where, struct ipc_limits *l,
           char *err, size_t errlen)
{
	char name[MODEL_NAME_MAX];
	struct mpr_val k, v;
	uint64_t old;
	uint32_t i;

	if (m->kind != MPR_MAP)
		return dec_err(err, errlen, "%s: expected map", where);
	if (m->n.u > MODEL_MAX_LIMITS)
		return dec_err(err, errlen, "%s: too many entries (at most %d)", where,
		               MODEL_MAX_LIMITS);
	memset(l, 0, sizeof(*l));
	for (i = 0; i < m->n.u; i++) {
		if (mpr_next(c, &k) == -1 || mpr_next(c, &v) == -1)
			return dec_err(err, errlen, "%s: %s", where, c->why);
		/* the name is echoed in messages only once it is known to be harmless */
		if (dec_word_v(&k, name, sizeof(name)) == -1 || !limit_name_valid(name))
			return dec_err(err, errlen,
			               "%s: entry %u: bad limit name (1 to %d of [a-z0-9_.])",
			               where, i, MODEL_NAME_MAX - 1);
		if (v.kind != MPR_UINT)
			return dec_err(err, errlen, "%s.%s: expected unsigned integer", where,
			               name);
		if (limits_get(l, name, &old) == 0)
			return dec_err(err, errlen, "%s.%s: duplicate limit", where, name);
		if (limits_set(l, name, v.n.u) == -1)
			return dec_err(err, errlen, "%s.%s: cannot store", where, name);
	}
	return 0;
}

/* A limits map the cursor has passed, read again. */
static int
dec_limits_at(const struct mpr_cur *top, const struct mpr_val *at, const char *where,
              struct ipc_limits *l, char *err, size_t errlen)
{
	struct mpr_cur sub;
	struct mpr_val m;

	dec_reread(top, at, &sub, &m);
	return dec_limits(&sub, &m, where, l, err, errlen);
}

/*
 * A jail's "rctl": {"nsem": {"used": N, "limit": N}, ...}, each entry with
 * a used, a limit or both.  Resources this version does not know are
 * ignored, as unknown keys are.
 */
static int
dec_rctl(const struct mpr_cur *top, const struct mpr_val *at, const char *w, struct scope_rctl *r,
         char *err, size_t errlen)
{
	static const struct dec_name names[] = {DN("used"), DN("limit")};
	char where[DEC_WHERE_MAX + 32], name[16];
	struct mpr_val m, k, v;
	struct dec_smap sm;
	struct mpr_cur c;
	enum rctl_res res;
	uint64_t i;
	int a, b;

	if (at->kind != MPR_MAP)
		return dec_err(err, errlen, "%srctl: expected map", w);
	dec_reread(top, at, &c, &m);
	for (i = 0; i < m.n.u; i++) {
		if (mpr_next(&c, &k) == -1 || mpr_next(&c, &v) == -1)
			return dec_err(err, errlen, "%srctl: %s", w, c.why);
		if (dec_word_v(&k, name, sizeof(name)) == -1 || rctl_res_parse(name, &res) == -1) {
			if (mpr_skip(&c, &v) == -1)
				return dec_err(err, errlen, "%srctl: %s", w, c.why);
			continue;
		}
		if (((r->has_used | r->has_limit) >> res) & 1)
			return dec_err(err, errlen, "%srctl.%s: duplicate key", w, name);
		snprintf(where, sizeof(where), "%srctl.%s.", w, name);
		if (v.kind != MPR_MAP)
			return dec_err(err, errlen, "%srctl.%s: expected map", w, name);
		dec_smap_init(&sm, names, 2);
		if (dec_smap_read(&c, &v, &sm, NULL, NULL) == -1)
			return dec_err(err, errlen, "%srctl: %s", w, c.why);
		if ((a = dec_s_u64(&sm, 0, where, 0, &r->used[res], err, errlen)) == -1 ||
		    (b = dec_s_u64(&sm, 1, where, 0, &r->limit[res], err, errlen)) == -1)
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

/* A scope's "isolation": {"shm"|"sem"|"msg": "new"|"inherit"|"disable"|"unknown"}. */
static int
dec_isolation(const struct mpr_cur *top, const struct mpr_val *at, const char *w,
              struct ipc_scope *sc, char *err, size_t errlen)
{
	static const struct dec_name types[3] = {DN("shm"), DN("sem"), DN("msg")};
	char where[DEC_WHERE_MAX + 16], val[16];
	const struct mpr_val *v;
	struct dec_smap sm;
	struct mpr_cur c;
	struct mpr_val m;
	uint32_t t;
	int rc;

	if (at->kind != MPR_MAP)
		return dec_err(err, errlen, "%sisolation: expected map", w);
	dec_reread(top, at, &c, &m);
	dec_smap_init(&sm, types, 3);
	if (dec_smap_read(&c, &m, &sm, NULL, NULL) == -1)
		return dec_err(err, errlen, "%sisolation: %s", w, c.why);
	snprintf(where, sizeof(where), "%sisolation.", w);
	for (t = 0; t < 3; t++) {
		if ((rc = dec_sget(&sm, t, where, 0, &v, err, errlen)) == 1)
			continue;
		if (rc == -1)
			return -1;
		if (dec_word_v(v, val, sizeof(val)) == -1 ||
		    isolation_parse(val, &sc->iso[t]) == -1)
			return dec_err(err, errlen,
			               "%sisolation.%s: expected \"new\", \"inherit\", "
			               "\"disable\" or \"unknown\"",
			               w, types[t].s);
	}
	return 0;
}

enum {
	SC_ID,
	SC_KIND,
	SC_NAME,
	SC_ISOLATION,
	SC_LIMITS,
	SC_RCTL,
	SC_UNKNOWN,
	SC_CGROUP,
	SC_PROCESSES,
	SC_LIMITS_UNKNOWN,
	SC_N
};
static const struct dec_name dec_scope_names[SC_N] = {
    DN("id"),   DN("kind"),    DN("name"),   DN("isolation"), DN("limits"),
    DN("rctl"), DN("unknown"), DN("cgroup"), DN("processes"), DN("limits_unknown"),
};

/*
 * Scope i of the array (its header m just read at c): scopes[0] must be the
 * host (already created by snapshot_init: filled in place), others are
 * appended.
 */
static int
dec_scope(struct mpr_cur *c, const struct mpr_val *m, uint32_t i, struct snapshot *s, char *err,
          size_t errlen)
{
	char w[DEC_WHERE_MAX], lw[DEC_WHERE_MAX], id[MODEL_NAME_MAX], kindstr[16];
	char name[MODEL_NAME_MAX];
	const struct mpr_val *v;
	struct ipc_scope *sc;
	struct dec_smap sm;
	enum scope_kind kind;
	size_t plen;
	int rc;

	snprintf(w, sizeof(w), "snapshot: scopes[%u].", i);
	if (m->kind != MPR_MAP) {
		if (mpr_skip(c, m) == -1)
			return -1;
		return dec_err(err, errlen, "snapshot: scopes[%u]: expected map", i);
	}
	dec_smap_init(&sm, dec_scope_names, SC_N);
	if (dec_smap_read(c, m, &sm, NULL, NULL) == -1)
		return -1;
	if (dec_s_str(&sm, SC_ID, w, 1, id, sizeof(id), err, errlen) != 0 ||
	    dec_s_str(&sm, SC_KIND, w, 1, kindstr, sizeof(kindstr), err, errlen) != 0 ||
	    dec_s_str(&sm, SC_NAME, w, 1, name, sizeof(name), err, errlen) != 0)
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

	if ((rc = dec_sget(&sm, SC_ISOLATION, w, 0, &v, err, errlen)) == -1 ||
	    (rc == 0 && dec_isolation(c, v, w, sc, err, errlen) == -1))
		return -1;
	if ((rc = dec_sget(&sm, SC_LIMITS, w, 0, &v, err, errlen)) == -1)
		return -1;
	if (rc == 0) {
		/* own limits mean an own pool: only IPC namespaces have one */
		if (kind != SCOPE_IPCNS)
			return dec_err(err, errlen,
			               "%slimits: only an ipcns scope has limits of its own", w);
		snprintf(lw, sizeof(lw), "snapshot: scopes[%u].limits", i);
		if (v->kind != MPR_MAP)
			return dec_err(err, errlen, "%s: expected map", lw);
		if (dec_limits_at(c, v, lw, &sc->limits, err, errlen) == -1)
			return -1;
		sc->own_limits = 1;
	}
	if ((rc = dec_sget(&sm, SC_RCTL, w, 0, &v, err, errlen)) == -1)
		return -1;
	if (rc == 0) {
		/* racct accounts jails: the host and namespaces have no rctl of their own here */
		if (kind != SCOPE_JAIL)
			return dec_err(err, errlen, "%srctl: only a jail scope has rctl", w);
		if (dec_rctl(c, v, w, &sc->rctl, err, errlen) == -1)
			return -1;
	}
	if (dec_s_str(&sm, SC_UNKNOWN, w, 0, sc->unknown, sizeof(sc->unknown), err, errlen) == -1 ||
	    dec_s_str(&sm, SC_CGROUP, w, 0, sc->cgroup, sizeof(sc->cgroup), err, errlen) == -1 ||
	    dec_s_u32(&sm, SC_PROCESSES, w, 0, &sc->processes, err, errlen) == -1 ||
	    dec_s_str(&sm, SC_LIMITS_UNKNOWN, w, 0, sc->limits_unknown, sizeof(sc->limits_unknown),
	              err, errlen) == -1)
		return -1;
	/* a reason for limits the scope does not have means nothing */
	if (!sc->own_limits)
		sc->limits_unknown[0] = '\0';
	return 0;
}

/*
 * The scopes array (its header a just read at c), then their ids sorted
 * once: duplicates end up adjacent, objects find theirs in log n.
 */
static int
dec_scopes(struct dec_snap *ds, struct mpr_cur *c, const struct mpr_val *a)
{
	struct snapshot *s = ds->s;
	struct mpr_val e;
	uint32_t i;

	if (a->n.u < 1 || a->n.u > MODEL_MAX_SCOPES)
		return dec_err(ds->err, ds->errlen, "snapshot: scopes: expected 1 to %d scopes",
		               MODEL_MAX_SCOPES);
	for (i = 0; i < a->n.u; i++)
		if (mpr_next(c, &e) == -1 || dec_scope(c, &e, i, s, ds->err, ds->errlen) == -1)
			return -1;
	if ((ds->refs = calloc(s->nscopes, sizeof(*ds->refs))) == NULL)
		return dec_err(ds->err, ds->errlen, "snapshot: out of memory");
	for (i = 0; i < s->nscopes; i++) {
		ds->refs[i].id = s->scopes[i].id;
		ds->refs[i].idx = i;
	}
	qsort(ds->refs, s->nscopes, sizeof(*ds->refs), dec_scope_cmp);
	for (i = 1; i < s->nscopes; i++)
		if (strcmp(ds->refs[i - 1].id, ds->refs[i].id) == 0)
			return dec_err(ds->err, ds->errlen,
			               "snapshot: scopes[%u].id: duplicate scope id",
			               ds->refs[i].idx);
	ds->scopes_done = 1;
	return 0;
}

/* An object's optional "unknown": the names of the fields the agent could not read. */
static int
dec_object_unknown(const struct mpr_cur *top, const struct dec_smap *sm, uint32_t f, const char *w,
                   struct ipc_object *o, char *err, size_t errlen)
{
	const struct mpr_val *at;
	struct mpr_val a, e;
	struct mpr_cur c;
	char name[16];
	uint32_t i, bit;
	int rc;

	if ((rc = dec_sget(sm, f, w, 0, &at, err, errlen)) != 0)
		return rc == 1 ? 0 : -1;
	if (at->kind != MPR_ARRAY || at->n.u > OF_COUNT)
		return dec_err(err, errlen,
		               "%sunknown: expected an array of at most %d field names", w,
		               OF_COUNT);
	dec_reread(top, at, &c, &a);
	for (i = 0; i < a.n.u; i++) {
		if (mpr_next(&c, &e) == -1)
			return dec_err(err, errlen, "%sunknown: %s", w, c.why);
		if (dec_str_v(&e, w, "unknown", name, sizeof(name), err, errlen) == -1)
			return -1;
		if ((bit = obj_field_parse(name)) == 0)
			return dec_err(err, errlen, "%sunknown: \"%s\" is not an object field", w,
			               name);
		o->unknown |= bit;
	}
	return 0;
}

/* An object's fields, in the order the encoder writes them. */
enum {
	OB_TYPE,
	OB_ID,
	OB_KEY,
	OB_MODE,
	OB_UID,
	OB_GID,
	OB_CUID,
	OB_CGID,
	OB_SCOPE,
	OB_SIZE,
	OB_NATTCH,
	OB_CPID,
	OB_LPID,
	OB_ATIME,
	OB_DTIME,
	OB_RSS,
	OB_SWAP,
	OB_NSEMS,
	OB_OTIME,
	OB_CBYTES,
	OB_QNUM,
	OB_QBYTES,
	OB_LSPID,
	OB_LRPID,
	OB_STIME,
	OB_RTIME,
	OB_CTIME,
	OB_OWNER,
	OB_UNKNOWN,
	OB_N
};
static const struct dec_name dec_object_names[OB_N] = {
    DN("type"),  DN("id"),     DN("key"),   DN("mode"),   DN("uid"),     DN("gid"),
    DN("cuid"),  DN("cgid"),   DN("scope"), DN("size"),   DN("nattch"),  DN("cpid"),
    DN("lpid"),  DN("atime"),  DN("dtime"), DN("rss"),    DN("swap"),    DN("nsems"),
    DN("otime"), DN("cbytes"), DN("qnum"),  DN("qbytes"), DN("lspid"),   DN("lrpid"),
    DN("stime"), DN("rtime"),  DN("ctime"), DN("owner"),  DN("unknown"),
};

/* Object i (its header m just read at c), in the scopes listed by refs. */
static int
dec_object(struct dec_snap *ds, struct mpr_cur *c, const struct mpr_val *m, uint32_t i,
           struct ipc_object *o)
{
	char w[DEC_WHERE_MAX], type[8], scope[MODEL_NAME_MAX];
	char *err = ds->err;
	size_t errlen = ds->errlen;
	struct dec_smap sm;
	int64_t idx;

	if (m->kind != MPR_MAP) {
		if (mpr_skip(c, m) == -1)
			return -1;
		return dec_err(err, errlen, "snapshot: objects[%u]: expected map", i);
	}
	dec_smap_init(&sm, dec_object_names, OB_N);
	if (dec_smap_read(c, m, &sm, NULL, NULL) == -1)
		return -1;
	dec_where_index(w, sizeof(w), "snapshot: objects", i);
	if (dec_s_str(&sm, OB_TYPE, w, 1, type, sizeof(type), err, errlen) != 0)
		return -1;
	if (ipc_type_parse(type, &o->type) == -1)
		return dec_err(err, errlen, "%stype: expected \"shm\", \"sem\" or \"msg\"", w);
	if (dec_s_i64(&sm, OB_ID, w, 1, &o->id, err, errlen) != 0 ||
	    dec_s_i64(&sm, OB_KEY, w, 1, &o->key, err, errlen) != 0 ||
	    dec_s_u32(&sm, OB_MODE, w, 1, &o->mode, err, errlen) != 0 ||
	    dec_s_u32(&sm, OB_UID, w, 1, &o->uid, err, errlen) != 0 ||
	    dec_s_u32(&sm, OB_GID, w, 1, &o->gid, err, errlen) != 0 ||
	    dec_s_u32(&sm, OB_CUID, w, 1, &o->cuid, err, errlen) != 0 ||
	    dec_s_u32(&sm, OB_CGID, w, 1, &o->cgid, err, errlen) != 0 ||
	    dec_s_str(&sm, OB_SCOPE, w, 1, scope, sizeof(scope), err, errlen) != 0)
		return -1;
	if ((idx = dec_scope_find(ds->refs, ds->s->nscopes, scope)) < 0)
		return dec_err(err, errlen, "%sscope: no such scope in scopes", w);
	o->scope = (uint32_t)idx;

	/* fields of the other types are ignored, as unknown keys are */
	switch (o->type) {
	case IPC_SHM:
		if (dec_s_u64(&sm, OB_SIZE, w, 1, &o->size, err, errlen) != 0 ||
		    dec_s_u64(&sm, OB_NATTCH, w, 1, &o->nattch, err, errlen) != 0 ||
		    dec_s_i64(&sm, OB_CPID, w, 1, &o->cpid, err, errlen) != 0 ||
		    dec_s_i64(&sm, OB_LPID, w, 1, &o->lpid, err, errlen) != 0 ||
		    dec_s_i64(&sm, OB_ATIME, w, 0, &o->atime, err, errlen) == -1 ||
		    dec_s_i64(&sm, OB_DTIME, w, 0, &o->dtime, err, errlen) == -1 ||
		    dec_s_u64(&sm, OB_RSS, w, 0, &o->rss, err, errlen) == -1 ||
		    dec_s_u64(&sm, OB_SWAP, w, 0, &o->swap, err, errlen) == -1)
			return -1;
		break;
	case IPC_SEM:
		if (dec_s_u64(&sm, OB_NSEMS, w, 1, &o->nsems, err, errlen) != 0 ||
		    dec_s_i64(&sm, OB_OTIME, w, 0, &o->otime, err, errlen) == -1)
			return -1;
		break;
	case IPC_MSG:
		if (dec_s_u64(&sm, OB_CBYTES, w, 1, &o->cbytes, err, errlen) != 0 ||
		    dec_s_u64(&sm, OB_QNUM, w, 1, &o->qnum, err, errlen) != 0 ||
		    dec_s_u64(&sm, OB_QBYTES, w, 0, &o->qbytes, err, errlen) == -1 ||
		    dec_s_i64(&sm, OB_LSPID, w, 0, &o->lspid, err, errlen) == -1 ||
		    dec_s_i64(&sm, OB_LRPID, w, 0, &o->lrpid, err, errlen) == -1 ||
		    dec_s_i64(&sm, OB_STIME, w, 0, &o->stime, err, errlen) == -1 ||
		    dec_s_i64(&sm, OB_RTIME, w, 0, &o->rtime, err, errlen) == -1)
			return -1;
		break;
	}
	if (dec_s_i64(&sm, OB_CTIME, w, 0, &o->ctime, err, errlen) == -1 ||
	    dec_s_str(&sm, OB_OWNER, w, 0, o->owner, sizeof(o->owner), err, errlen) == -1)
		return -1;
	return dec_object_unknown(c, &sm, OB_UNKNOWN, w, o, err, errlen);
}

/*
 * The fewest bytes an object takes on the wire: its nine required keys
 * (type, id, key, mode, uid, gid, cuid, cgid, scope) and a map header; the
 * keys alone are 35 bytes with their headers.
 */
#define DEC_OBJECT_MIN 32

/* The objects array (its header a just read at c); the scopes are in. */
static int
dec_objects(struct dec_snap *ds, struct mpr_cur *c, const struct mpr_val *a)
{
	struct mpr_val e;
	size_t want;
	uint32_t i;

	if (a->n.u > MODEL_MAX_OBJECTS)
		return dec_err(ds->err, ds->errlen, "snapshot: objects: too many (at most %d)",
		               MODEL_MAX_OBJECTS);
	/*
	 * Room for them at once rather than by doubling (copies and page
	 * faults were a sixth of the decoding), but only for as many as the
	 * bytes left can hold: no object is written in fewer than
	 * DEC_OBJECT_MIN bytes, so a claimed count costs at most a few times
	 * the frame, as the zone of an unpacked frame did.
	 */
	want = a->n.u;
	if (want > (c->n - c->pos) / DEC_OBJECT_MIN)
		want = (c->n - c->pos) / DEC_OBJECT_MIN;
	if (want > ds->s->nobjects && grow_array(&ds->s->objects, &ds->s->cap_objects, want, 64,
	                                         MODEL_MAX_OBJECTS, sizeof(*ds->s->objects)) == -1)
		return dec_err(ds->err, ds->errlen, "snapshot: objects: out of memory");
	for (i = 0; i < a->n.u; i++) {
		struct ipc_object *o = snapshot_add_object(ds->s);

		if (o == NULL)
			return dec_err(ds->err, ds->errlen, "snapshot: objects: out of memory");
		if (mpr_next(c, &e) == -1 || dec_object(ds, c, &e, i, o) == -1)
			return -1;
	}
	ds->objects_done = 1;
	return 0;
}

enum {
	FI_KIND,
	FI_SEVERITY,
	FI_MESSAGE,
	FI_SCOPE,
	FI_LIMIT,
	FI_TYPE,
	FI_ID,
	FI_AGE,
	FI_UID,
	FI_OWNER,
	FI_COMMAND,
	FI_N
};
static const struct dec_name dec_finding_names[FI_N] = {
    DN("kind"), DN("severity"), DN("message"), DN("scope"), DN("limit"),   DN("type"),
    DN("id"),   DN("age"),      DN("uid"),     DN("owner"), DN("command"),
};

/*
 * Finding i (agent side): kind "orphan" or "isolation", a severity, a
 * message; optionally a scope that is listed in scopes, a valid limit name,
 * the object (type and id together), its age (not negative), its uid and
 * the command that removes it.
 */
static int
dec_finding(struct dec_snap *ds, struct mpr_cur *c, const struct mpr_val *m, uint32_t i,
            struct finding *f)
{
	char w[DEC_WHERE_MAX], kind[24], sev[8], type[8];
	char *err = ds->err;
	size_t errlen = ds->errlen;
	int has_type, has_id, has_scope;
	struct dec_smap sm;

	snprintf(w, sizeof(w), "snapshot: findings[%u].", i);
	if (m->kind != MPR_MAP) {
		if (mpr_skip(c, m) == -1)
			return -1;
		return dec_err(err, errlen, "snapshot: findings[%u]: expected map", i);
	}
	dec_smap_init(&sm, dec_finding_names, FI_N);
	if (dec_smap_read(c, m, &sm, NULL, NULL) == -1)
		return -1;
	if (dec_s_str(&sm, FI_KIND, w, 1, kind, sizeof(kind), err, errlen) != 0)
		return -1;
	if (finding_kind_parse(kind, &f->kind) == -1 || !finding_kind_from_agent(f->kind))
		return dec_err(err, errlen,
		               "%skind: expected one an agent reports (orphan, isolation, "
		               "incomplete, removeipc_risk, vanished, permissions)",
		               w);
	if (dec_s_str(&sm, FI_SEVERITY, w, 1, sev, sizeof(sev), err, errlen) != 0)
		return -1;
	if (severity_parse(sev, &f->severity) == -1)
		return dec_err(err, errlen, "%sseverity: expected \"info\", \"warn\" or \"crit\"",
		               w);
	if (dec_s_str(&sm, FI_MESSAGE, w, 1, f->message, sizeof(f->message), err, errlen) != 0 ||
	    (has_scope = dec_s_str(&sm, FI_SCOPE, w, 0, f->scope, sizeof(f->scope), err, errlen)) ==
	        -1 ||
	    dec_s_str(&sm, FI_LIMIT, w, 0, f->limit, sizeof(f->limit), err, errlen) == -1 ||
	    dec_s_str(&sm, FI_COMMAND, w, 0, f->command, sizeof(f->command), err, errlen) == -1)
		return -1;
	/* an absent scope stays "": the whole host; a present one must be listed */
	if (has_scope == 0 && dec_scope_find(ds->refs, ds->s->nscopes, f->scope) < 0)
		return dec_err(err, errlen, "%sscope: no such scope in scopes", w);
	if (f->limit[0] != '\0' && !limit_name_valid(f->limit))
		return dec_err(err, errlen, "%slimit: bad limit name (1 to %d of [a-z0-9_.])", w,
		               MODEL_NAME_MAX - 1);
	if ((has_type = dec_s_str(&sm, FI_TYPE, w, 0, type, sizeof(type), err, errlen)) == -1 ||
	    (has_id = dec_s_i64(&sm, FI_ID, w, 0, &f->oid, err, errlen)) == -1)
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
	if (dec_s_i64(&sm, FI_AGE, w, 0, &f->age, err, errlen) == -1 ||
	    dec_s_u32(&sm, FI_UID, w, 0, &f->uid, err, errlen) == -1 ||
	    dec_s_str(&sm, FI_OWNER, w, 0, f->owner, sizeof(f->owner), err, errlen) == -1)
		return -1;
	if (f->age < 0)
		return dec_err(err, errlen, "%sage: must not be negative", w);
	return 0;
}

/* The findings array (its header a just read at c); the scopes are in. */
static int
dec_findings(struct dec_snap *ds, struct mpr_cur *c, const struct mpr_val *a)
{
	struct mpr_val e;
	uint32_t i;

	/* the count is checked before anything is stored */
	if (a->n.u > MODEL_MAX_FINDINGS)
		return dec_err(ds->err, ds->errlen, "snapshot: findings: too many (at most %d)",
		               MODEL_MAX_FINDINGS);
	for (i = 0; i < a->n.u; i++) {
		struct finding *f = snapshot_add_finding(ds->s);

		if (f == NULL)
			return dec_err(ds->err, ds->errlen, "snapshot: findings: out of memory");
		if (mpr_next(c, &e) == -1 || dec_finding(ds, c, &e, i, f) == -1)
			return -1;
	}
	ds->findings_done = 1;
	return 0;
}

/*
 * The snapshot's optional "unknown": [{"figure": "used"|"limit", "name",
 * "why"}], at most MODEL_MAX_UNKNOWN, each figure once.
 */
static int
dec_unknowns(const struct mpr_cur *top, const struct mpr_val *at, struct snapshot *s, char *err,
             size_t errlen)
{
	static const struct dec_name names[] = {DN("figure"), DN("name"), DN("why")};
	char w[DEC_WHERE_MAX], fig[8];
	struct dec_smap sm;
	struct mpr_val a, e;
	struct mpr_cur c;
	uint32_t i;

	if (at->kind != MPR_ARRAY || at->n.u > MODEL_MAX_UNKNOWN)
		return dec_err(err, errlen, "snapshot: unknown: expected an array of at most %d",
		               MODEL_MAX_UNKNOWN);
	dec_reread(top, at, &c, &a);
	for (i = 0; i < a.n.u; i++) {
		struct unknown *k = &s->unknown.v[s->unknown.n];

		if (mpr_next(&c, &e) == -1)
			return dec_err(err, errlen, "snapshot: unknown: %s", c.why);
		dec_where_index(w, sizeof(w), "snapshot: unknown", i);
		if (e.kind != MPR_MAP)
			return dec_err(err, errlen, "snapshot: unknown[%u]: expected map", i);
		memset(k, 0, sizeof(*k));
		dec_smap_init(&sm, names, 3);
		if (dec_smap_read(&c, &e, &sm, NULL, NULL) == -1)
			return dec_err(err, errlen, "snapshot: unknown: %s", c.why);
		if (dec_s_str(&sm, 0, w, 1, fig, sizeof(fig), err, errlen) != 0 ||
		    dec_s_str(&sm, 1, w, 1, k->name, sizeof(k->name), err, errlen) != 0 ||
		    dec_s_str(&sm, 2, w, 1, k->why, sizeof(k->why), err, errlen) != 0)
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

enum {
	SN_TYPE,
	SN_SEQ,
	SN_TIME,
	SN_DROPPED,
	SN_LIMITS,
	SN_SCOPES,
	SN_OBJECTS,
	SN_UNKNOWN,
	SN_FINDINGS,
	SN_N
};
static const struct dec_name dec_snapshot_names[SN_N] = {
    DN("type"),   DN("seq"),     DN("time"),    DN("dropped"),  DN("limits"),
    DN("scopes"), DN("objects"), DN("unknown"), DN("findings"),
};

/*
 * The big arrays as they come: scopes first (the encoder writes them
 * first), then objects and findings, which need the scopes' ids.  Anything
 * else, or these out of that order, is skipped and read again afterwards.
 */
static int
dec_snapshot_inline(void *ctx, struct mpr_cur *c, uint32_t field, const struct mpr_val *v)
{
	struct dec_snap *ds = ctx;

	if (v->kind != MPR_ARRAY)
		return 1;
	switch (field) {
	case SN_SCOPES:
		return dec_scopes(ds, c, v);
	case SN_OBJECTS:
		return ds->scopes_done ? dec_objects(ds, c, v) : 1;
	case SN_FINDINGS:
		return ds->scopes_done ? dec_findings(ds, c, v) : 1;
	}
	return 1;
}

/* An array field (objects, findings) the inline reader left: read again now. */
static int
dec_snapshot_late(struct dec_snap *ds, const struct mpr_val *at,
                  int (*fn)(struct dec_snap *, struct mpr_cur *, const struct mpr_val *))
{
	struct mpr_cur c;
	struct mpr_val a;

	dec_reread(ds->top, at, &c, &a);
	return fn(ds, &c, &a);
}

/*
 * The checks after the whole map is read, in the order of the fields'
 * importance (what a lookup by key did); -2 for the frame-level "type"
 * errors proto_doc_unpack reports.
 */
static int
dec_snapshot_fields(struct dec_snap *ds, const struct dec_smap *sm)
{
	struct snapshot *s = ds->s;
	const char *w = "snapshot: ";
	const struct mpr_val *v;
	char *err = ds->err;
	size_t errlen = ds->errlen;
	int rc;

	if ((rc = dec_sget(sm, SN_TYPE, "", 0, &v, NULL, 0)) != 0 || v->kind != MPR_STR) {
		dec_err(err, errlen, "bad frame: type: %s",
		        rc == 1    ? "missing"
		        : rc == -1 ? "duplicate key"
		                   : "expected string");
		return -2;
	}
	if (proto_type_of(v) != MSG_SNAPSHOT)
		return dec_err(err, errlen, "snapshot: type: expected \"snapshot\"");
	if (dec_s_u64(sm, SN_SEQ, w, 1, &s->seq, err, errlen) != 0 ||
	    dec_s_i64(sm, SN_TIME, w, 1, &s->taken, err, errlen) != 0 ||
	    dec_s_u64(sm, SN_DROPPED, w, 0, &s->dropped, err, errlen) == -1)
		return -1;
	if (s->seq < 1)
		return dec_err(err, errlen, "snapshot: seq: must be at least 1");
	if ((rc = dec_sget(sm, SN_UNKNOWN, w, 0, &v, err, errlen)) == -1 ||
	    (rc == 0 && dec_unknowns(ds->top, v, s, err, errlen) == -1))
		return -1;
	if (dec_sget(sm, SN_LIMITS, w, 1, &v, err, errlen) != 0)
		return -1;
	if (v->kind != MPR_MAP)
		return dec_err(err, errlen, "snapshot: limits: expected map");
	if (dec_limits_at(ds->top, v, "snapshot: limits", &s->limits, err, errlen) == -1)
		return -1;

	if (dec_sget(sm, SN_SCOPES, w, 1, &v, err, errlen) != 0)
		return -1;
	if (!ds->scopes_done) /* an array is read as it comes: this is not one */
		return dec_err(err, errlen, "snapshot: scopes: expected array");

	if (dec_sget(sm, SN_OBJECTS, w, 1, &v, err, errlen) != 0)
		return -1;
	if (v->kind != MPR_ARRAY)
		return dec_err(err, errlen, "snapshot: objects: expected array");
	if (!ds->objects_done && dec_snapshot_late(ds, v, dec_objects) == -1)
		return -1;

	/* findings are optional */
	if ((rc = dec_sget(sm, SN_FINDINGS, w, 0, &v, err, errlen)) != 0)
		return rc == 1 ? 0 : -1;
	if (v->kind != MPR_ARRAY)
		return dec_err(err, errlen, "snapshot: findings: expected array");
	if (!ds->findings_done && dec_snapshot_late(ds, v, dec_findings) == -1)
		return -1;
	return 0;
}

int
proto_decode_snapshot_frame(const uint8_t *p, size_t n, struct snapshot *s, char *err,
                            size_t errlen)
{
	struct dec_snap ds;
	struct dec_smap sm;
	struct mpr_cur c;
	struct mpr_val root;
	const char *why;
	int rc = -1;

	if (s->nscopes != 1 || s->scopes == NULL || s->nobjects != 0 || s->nfindings != 0)
		return dec_err(err, errlen, "snapshot: not decoding into a fresh snapshot");
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&ds, 0, sizeof(ds));
	ds.s = s;
	ds.top = &c;
	ds.err = err;
	ds.errlen = errlen;
	dec_smap_init(&sm, dec_snapshot_names, SN_N);
	if (n > 0 && n <= PROTO_MAX_FRAME) {
		proto_cursor_init(&c, p, n);
		if (mpr_next(&c, &root) == 0 &&
		    dec_smap_read(&c, &root, &sm, dec_snapshot_inline, &ds) == 0 &&
		    mpr_end(&c) == 0)
			rc = dec_snapshot_fields(&ds, &sm);
	}
	/*
	 * A payload that is not a valid frame is refused as such, whatever the
	 * decoding met first: the reason the validator gives, as before the
	 * decoding and the validation were one pass.  (Only the error path
	 * walks the payload again.)
	 */
	if (rc == -1 && frame_validate(p, n, &why) == -1) {
		dec_err(err, errlen, "bad frame: %s", why);
		rc = -2;
	} else if (rc == -1 && (err == NULL || errlen == 0 || err[0] == '\0'))
		dec_err(err, errlen, "bad frame: %s", c.why != NULL ? c.why : "msgpack error");
	free(ds.refs);
	return rc;
}

/*
 * s must come fresh from snapshot_init().  On error s may be partly filled;
 * the caller frees it either way.  os, os_release and page_size are not in
 * this message (they come from hello) and are left alone.
 */
int
proto_decode_snapshot(const struct proto_doc *d, struct snapshot *s, char *err, size_t errlen)
{
	if (dec_check_type(d, MSG_SNAPSHOT, "snapshot", err, errlen) == -1)
		return -1;
	return proto_decode_snapshot_frame(d->raw, d->rawlen, s, err, errlen) == 0 ? 0 : -1;
}
