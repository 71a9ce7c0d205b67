/*
 * model.c: snapshot lifecycle and the kernel's accounting rules (model.h).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "text.h"
#include "util.h"

int
snapshot_init(struct snapshot *s)
{
	memset(s, 0, sizeof(*s));
	if (snapshot_add_scope(s, "host", "host", SCOPE_HOST) == NULL)
		return -1;
	return 0;
}

void
snapshot_free(struct snapshot *s)
{
	free(s->scopes);
	free(s->objects);
	free(s->findings);
	memset(s, 0, sizeof(*s));
}

int
snapshot_reserve(struct snapshot *s, size_t scopes, size_t objects)
{
	/* the counts never exceed their bounds, so these cannot wrap */
	size_t ns = scopes > MODEL_MAX_SCOPES - s->nscopes ? MODEL_MAX_SCOPES : s->nscopes + scopes;
	size_t no =
	    objects > MODEL_MAX_OBJECTS - s->nobjects ? MODEL_MAX_OBJECTS : s->nobjects + objects;

	/* one growth step (at most twice the room wanted: pages never touched cost nothing) */
	if (grow_array(&s->scopes, &s->cap_scopes, ns, ns, MODEL_MAX_SCOPES, sizeof(*s->scopes)) ==
	        -1 ||
	    grow_array(&s->objects, &s->cap_objects, no, no, MODEL_MAX_OBJECTS,
	               sizeof(*s->objects)) == -1)
		return -1;
	return 0;
}

struct ipc_object *
snapshot_add_object(struct snapshot *s)
{
	struct ipc_object *o;

	if (grow_array(&s->objects, &s->cap_objects, s->nobjects + 1, 64, MODEL_MAX_OBJECTS,
	               sizeof(*o)) == -1)
		return NULL;
	o = &s->objects[s->nobjects++];
	memset(o, 0, sizeof(*o));
	return o;
}

struct finding *
snapshot_add_finding(struct snapshot *s)
{
	struct finding *f;

	if (grow_array(&s->findings, &s->cap_findings, s->nfindings + 1, 8, MODEL_MAX_FINDINGS,
	               sizeof(*f)) == -1)
		return NULL;
	f = &s->findings[s->nfindings++];
	memset(f, 0, sizeof(*f));
	return f;
}

struct ipc_scope *
snapshot_add_scope(struct snapshot *s, const char *id, const char *name, enum scope_kind kind)
{
	struct ipc_scope *sc;

	if (strlen(id) >= MODEL_NAME_MAX || grow_array(&s->scopes, &s->cap_scopes, s->nscopes + 1,
	                                               4, MODEL_MAX_SCOPES, sizeof(*sc)) == -1)
		return NULL;
	sc = &s->scopes[s->nscopes++];
	memset(sc, 0, offsetof(struct ipc_scope, limits.v)); /* all but the unused limits */
	/* names come from tools and peers: one text rule, cut at a character */
	text_clean(sc->id, sizeof(sc->id), id, strlen(id));
	text_clean(sc->name, sizeof(sc->name), name, strlen(name));
	sc->kind = kind;
	return sc;
}

int
snapshot_find_scope(const struct snapshot *s, const char *id)
{
	size_t i;

	for (i = 0; i < s->nscopes; i++)
		if (strcmp(s->scopes[i].id, id) == 0)
			return (int)i;
	return -1;
}

int
limit_name_valid(const char *name)
{
	size_t n = 0;

	for (; name[n] != '\0'; n++) {
		char c = name[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
			return 0;
	}
	return n > 0 && n < MODEL_NAME_MAX;
}

int
limits_set(struct ipc_limits *l, const char *name, uint64_t value)
{
	size_t i;

	if (!limit_name_valid(name))
		return -1;
	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, name) == 0) {
			l->v[i].value = value;
			return 0;
		}
	}
	if (l->n >= MODEL_MAX_LIMITS)
		return -1;
	ifl_strlcpy(l->v[l->n].name, name, sizeof(l->v[l->n].name));
	l->v[l->n].value = value;
	l->n++;
	return 0;
}

int
limits_get(const struct ipc_limits *l, const char *name, uint64_t *value)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, name) == 0) {
			*value = l->v[i].value;
			return 0;
		}
	}
	return -1;
}

uint64_t
shm_pages(uint64_t size, uint32_t page_size)
{
	if (page_size == 0)
		return 0;
	/* ceil without the overflow of (size + page - 1) near 2^64 */
	return size / page_size + (size % page_size != 0);
}

double
usage_pct(uint64_t used, uint64_t limit)
{
#ifdef __SIZEOF_INT128__
	unsigned __int128 q;

	if (limit == 0)
		return 100.0; /* nothing more can be made: exhausted, not empty */
	/* per mille, rounded half up, exact: floor((2000 used + limit) / (2 limit)) */
	q = ((unsigned __int128)used * 2000 + limit) / ((unsigned __int128)limit * 2);
	return (double)((long double)q / 10.0L);
#else
	long double r;

	if (limit == 0)
		return 100.0;
	r = (long double)used * 1000.0L / (long double)limit;
	return (double)(roundl(r) / 10.0L);
#endif
}

/* The countable limits, in display order. */
enum { U_SEMMNS, U_SEMMNI, U_SHMALL, U_SHMMNI, U_MSGMNI, U_MSGTQL, U_COUNT };
static const char *const usage_names[U_COUNT] = {
    "semmns", "semmni", "shmall", "shmmni", "msgmni", "msgtql",
};
/* The type whose objects each usage counts, and the object field it sums (0: a count). */
static const struct {
	enum ipc_type type;
	uint32_t field;
	const char *what; /* for "N <what> without <field>" */
} usage_src[U_COUNT] = {
    {IPC_SEM, OF_NSEMS, "semaphore sets"},
    {IPC_SEM, 0, "semaphore sets"},
    {IPC_SHM, OF_SIZE, "shared memory segments"},
    {IPC_SHM, 0, "shared memory segments"},
    {IPC_MSG, 0, "message queues"},
    {IPC_MSG, OF_QNUM, "message queues"},
};

/* An object belongs to the pool measured: see model.h. */
static int
in_pool(const struct snapshot *s, const struct ipc_object *o, int scope)
{
	if (scope >= 0)
		return o->scope == (uint32_t)scope;
	if (o->scope >= s->nscopes)
		return 1; /* cannot happen for decoded snapshots; count it, do not lose it */
	return !s->scopes[o->scope].own_limits;
}

/* Why item i of the pool is unknown, into it->why; sets unknown_used. */
static void
usage_unknown(const struct snapshot *s, int scope, size_t i, uint64_t lacking,
              struct usage_item *it)
{
	const struct ipc_scope *sc =
	    scope >= 0 && (size_t)scope < s->nscopes ? &s->scopes[scope] : NULL;
	const char *why = NULL;

	/* an IPC namespace has its own pool: the host's gaps are not its gaps */
	if (sc == NULL || !sc->own_limits)
		why = snapshot_unknown_why(s, UNK_USED, usage_names[i]);
	if (why == NULL && sc != NULL && sc->unknown[0] != '\0')
		why = sc->unknown;
	if (why != NULL) {
		ifl_strlcpy(it->why, why, sizeof(it->why));
	} else if (lacking > 0) {
		const char *f = obj_field_name(usage_src[i].field);

		snprintf(it->why, sizeof(it->why), "%llu %s without %s",
		         (unsigned long long)lacking, usage_src[i].what, f != NULL ? f : "?");
	} else {
		return;
	}
	it->unknown_used = 1;
	it->used = 0;
}

void
model_usage(const struct snapshot *s, int scope, struct usage *u)
{
	const struct ipc_limits *lim = &s->limits;
	uint64_t used[U_COUNT] = {0}, lacking[U_COUNT] = {0};
	int own = 0;
	size_t i;

	if (scope >= 0 && (size_t)scope < s->nscopes && s->scopes[scope].own_limits) {
		lim = &s->scopes[scope].limits;
		own = 1;
	}

	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];

		if (!in_pool(s, o, scope))
			continue;
		switch (o->type) {
		case IPC_SEM:
			used[U_SEMMNS] = u64_add_sat(used[U_SEMMNS], o->nsems);
			used[U_SEMMNI]++;
			lacking[U_SEMMNS] += (o->unknown & OF_NSEMS) != 0;
			break;
		case IPC_SHM:
			used[U_SHMALL] =
			    u64_add_sat(used[U_SHMALL], shm_pages(o->size, s->page_size));
			used[U_SHMMNI]++;
			lacking[U_SHMALL] += (o->unknown & OF_SIZE) != 0;
			break;
		case IPC_MSG:
			used[U_MSGMNI]++;
			used[U_MSGTQL] = u64_add_sat(used[U_MSGTQL], o->qnum);
			lacking[U_MSGTQL] += (o->unknown & OF_QNUM) != 0;
			break;
		}
	}

	memset(u, 0, sizeof(*u));
	for (i = 0; i < U_COUNT; i++) {
		struct usage_item *it;
		const char *why;
		uint64_t v = 0;
		int has = limits_get(lim, usage_names[i], &v) == 0;

		/* msgtql exists on FreeBSD only: show it only where the host has it
		 * (or where its value could not be read) */
		if (i == U_MSGTQL && !has &&
		    (own || snapshot_unknown_why(s, UNK_LIMIT, usage_names[i]) == NULL))
			continue;
		it = &u->v[u->n++];
		it->name = usage_names[i];
		it->used = used[i];
		it->limit = v;
		it->has_limit = has;
		usage_unknown(s, scope, i, lacking[i], it);
		if (!has && it->why[0] == '\0' &&
		    (why = snapshot_pool_limit_why(s, own ? scope : -1, usage_names[i])) != NULL)
			ifl_strlcpy(it->why, why, sizeof(it->why));
	}
}

/* ---- unknown figures ---- */

static int unknowns_vadd(struct unknowns *u, enum unknown_figure fig, const char *name,
                         const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

static int
unknowns_vadd(struct unknowns *u, enum unknown_figure fig, const char *name, const char *fmt,
              va_list ap)
{
	struct unknown *k;

	if (unknowns_why(u, fig, name) != NULL)
		return 0; /* the first reason stays */
	if (u->n >= MODEL_MAX_UNKNOWN || !limit_name_valid(name))
		return -1;
	k = &u->v[u->n++];
	memset(k, 0, sizeof(*k));
	k->figure = fig;
	ifl_strlcpy(k->name, name, sizeof(k->name));
	vsnprintf(k->why, sizeof(k->why), fmt, ap);
	return 0;
}

int
unknowns_add(struct unknowns *u, enum unknown_figure fig, const char *name, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = unknowns_vadd(u, fig, name, fmt, ap);
	va_end(ap);
	return rc;
}

const char *
unknowns_why(const struct unknowns *u, enum unknown_figure fig, const char *name)
{
	size_t i;

	for (i = 0; i < u->n && i < MODEL_MAX_UNKNOWN; i++)
		if (u->v[i].figure == fig && strcmp(u->v[i].name, name) == 0)
			return u->v[i].why;
	return NULL;
}

int
snapshot_unknown(struct snapshot *s, enum unknown_figure fig, const char *name, const char *fmt,
                 ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = unknowns_vadd(&s->unknown, fig, name, fmt, ap);
	va_end(ap);
	return rc;
}

void
snapshot_unknown_type(struct snapshot *s, uint32_t scope, enum ipc_type t, const char *fmt, ...)
{
	char why[MODEL_TEXT_MAX];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (scope != 0) {
		if (scope < s->nscopes && s->scopes[scope].unknown[0] == '\0')
			ifl_strlcpy(s->scopes[scope].unknown, why,
			            sizeof(s->scopes[scope].unknown));
		return;
	}
	for (i = 0; i < U_COUNT; i++) {
		uint64_t v;

		if (usage_src[i].type != t)
			continue;
		/* msgtql is a limit of FreeBSD's only: unknown where the host has it */
		if (i == U_MSGTQL && limits_get(&s->limits, usage_names[i], &v) == -1 &&
		    snapshot_unknown_why(s, UNK_LIMIT, usage_names[i]) == NULL)
			continue;
		snapshot_unknown(s, UNK_USED, usage_names[i], "%s", why);
	}
}

void
snapshot_unknown_limits(struct snapshot *s, enum ipc_type t, const char *fmt, ...)
{
	char why[MODEL_TEXT_MAX];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	for (i = 0; i < U_COUNT; i++)
		if (usage_src[i].type == t)
			snapshot_unknown(s, UNK_LIMIT, usage_names[i], "%s", why);
}

const char *
snapshot_scope_limits_why(const struct snapshot *s, int scope)
{
	const struct ipc_scope *sc;

	if (scope < 0 || (size_t)scope >= s->nscopes)
		return NULL;
	sc = &s->scopes[scope];
	return sc->own_limits && sc->limits_unknown[0] != '\0' ? sc->limits_unknown : NULL;
}

const char *
snapshot_pool_limit_why(const struct snapshot *s, int own, const char *name)
{
	return own < 0 ? snapshot_unknown_why(s, UNK_LIMIT, name)
	               : snapshot_scope_limits_why(s, own);
}

size_t
usage_limits_of(enum ipc_type t, const char **names, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < U_COUNT; i++)
		if (usage_src[i].type == t && n < max)
			names[n++] = usage_names[i];
	return n;
}

const char *
snapshot_unknown_why(const struct snapshot *s, enum unknown_figure fig, const char *name)
{
	return unknowns_why(&s->unknown, fig, name);
}

/* Appends to out[cap] when it fits whole; returns the new length. */
static size_t
incomplete_add(char *out, size_t len, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out + len, cap - len, "%s%s", a, b);

	if (n < 0 || (size_t)n >= cap - len) {
		out[len] = '\0'; /* what does not fit whole is left out */
		return len;
	}
	return len + (size_t)n;
}

/* Appends "names figure unknown: why" for every entry of u with that reason. */
static size_t
incomplete_group(char *msg, size_t len, size_t cap, const struct unknowns *u, size_t i)
{
	const struct unknown *first = &u->v[i];
	size_t k;
	int n = 0;

	for (k = i; k < u->n && k < MODEL_MAX_UNKNOWN; k++) {
		const struct unknown *v = &u->v[k];

		if (v->figure != first->figure || strcmp(v->why, first->why) != 0)
			continue;
		len =
		    incomplete_add(msg, len, cap, n++ == 0 ? (len > 0 ? "; " : "") : ", ", v->name);
	}
	return incomplete_add(
	    msg, len, cap,
	    first->figure == UNK_LIMIT ? " limit unknown: " : " unknown: ", first->why);
}

int
incomplete_finding(const struct snapshot *s, struct finding *f)
{
	struct unknowns all = s->unknown;
	struct usage u;
	char msg[MODEL_TEXT_MAX] = "";
	const char *scope_why = NULL, *lim_why = NULL;
	size_t i, k, len = 0, nscopes = 0, nlim = 0;

	/* what only the objects tell: "3 semaphore sets without nsems" */
	model_usage(s, -1, &u);
	for (i = 0; i < u.n; i++)
		if (u.v[i].unknown_used && unknowns_why(&all, UNK_USED, u.v[i].name) == NULL)
			unknowns_add(&all, UNK_USED, u.v[i].name, "%s", u.v[i].why);
	/* "semmns, shmall unknown: WHY; msgmni limit unknown: WHY2", grouped by reason */
	for (i = 0; i < all.n && i < MODEL_MAX_UNKNOWN; i++) {
		for (k = 0; k < i; k++)
			if (all.v[k].figure == all.v[i].figure &&
			    strcmp(all.v[k].why, all.v[i].why) == 0)
				break;
		if (k == i) /* the first of its reason: says them all */
			len = incomplete_group(msg, len, sizeof(msg), &all, i);
	}
	for (i = 0; i < s->nscopes; i++) {
		const char *lw = snapshot_scope_limits_why(s, (int)i);

		if (lw != NULL && nlim++ == 0)
			lim_why = lw;
		if (s->scopes[i].unknown[0] == '\0')
			continue;
		if (nscopes++ == 0)
			scope_why = s->scopes[i].unknown;
	}
	if (all.n == 0 && nscopes == 0 && nlim == 0)
		return 0;
	if (nlim > 0) {
		char tail[2 * MODEL_TEXT_MAX]; /* cut to the message by incomplete_add */

		snprintf(tail, sizeof(tail), "limits of %zu scope(s) unknown: %s", nlim, lim_why);
		len = incomplete_add(msg, len, sizeof(msg), len > 0 ? "; " : "", tail);
	}
	if (nscopes > 0) {
		char tail[2 * MODEL_TEXT_MAX]; /* cut to the message by incomplete_add */

		snprintf(tail, sizeof(tail), "the usage of %zu scope(s) unknown: %s", nscopes,
		         scope_why);
		len = incomplete_add(msg, len, sizeof(msg), len > 0 ? "; " : "", tail);
	}
	memset(f, 0, sizeof(*f));
	f->kind = FK_INCOMPLETE;
	f->severity = SEV_WARN;
	ifl_strlcpy(f->message, msg, sizeof(f->message));
	return 1;
}

int
snapshot_incomplete_finding(struct snapshot *s)
{
	struct finding f, *n;

	if (!incomplete_finding(s, &f))
		return 0;
	if ((n = snapshot_add_finding(s)) == NULL)
		return -1;
	*n = f;
	return 0;
}

static const char *const obj_field_names[OF_COUNT] = {
    "size",  "nattch", "cpid", "lpid",   "atime", "dtime", "rss",   "swap",  "nsems",
    "otime", "cbytes", "qnum", "qbytes", "lspid", "lrpid", "stime", "rtime", "ctime",
};

const char *
obj_field_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < OF_COUNT; i++)
		if (bit == 1u << i)
			return obj_field_names[i];
	return NULL;
}

uint32_t
obj_field_parse(const char *name)
{
	size_t i;

	for (i = 0; i < OF_COUNT; i++)
		if (strcmp(name, obj_field_names[i]) == 0)
			return 1u << i;
	return 0;
}

const char *
ipc_type_name(enum ipc_type t)
{
	switch (t) {
	case IPC_SHM:
		return "shm";
	case IPC_SEM:
		return "sem";
	case IPC_MSG:
		return "msg";
	}
	return "?";
}

int
ipc_type_parse(const char *s, enum ipc_type *t)
{
	if (strcmp(s, "shm") == 0)
		*t = IPC_SHM;
	else if (strcmp(s, "sem") == 0)
		*t = IPC_SEM;
	else if (strcmp(s, "msg") == 0)
		*t = IPC_MSG;
	else
		return -1;
	return 0;
}

const char *
scope_kind_name(enum scope_kind k)
{
	switch (k) {
	case SCOPE_HOST:
		return "host";
	case SCOPE_JAIL:
		return "jail";
	case SCOPE_IPCNS:
		return "ipcns";
	}
	return "?";
}

int
scope_kind_parse(const char *s, enum scope_kind *k)
{
	if (strcmp(s, "host") == 0)
		*k = SCOPE_HOST;
	else if (strcmp(s, "jail") == 0)
		*k = SCOPE_JAIL;
	else if (strcmp(s, "ipcns") == 0)
		*k = SCOPE_IPCNS;
	else
		return -1;
	return 0;
}

const char *
isolation_name(enum isolation i)
{
	switch (i) {
	case ISO_NEW:
		return "new";
	case ISO_INHERIT:
		return "inherit";
	case ISO_DISABLE:
		return "disable";
	case ISO_UNKNOWN:
		break;
	}
	return "unknown";
}

int
isolation_parse(const char *s, enum isolation *i)
{
	if (strcmp(s, "new") == 0)
		*i = ISO_NEW;
	else if (strcmp(s, "inherit") == 0)
		*i = ISO_INHERIT;
	else if (strcmp(s, "disable") == 0)
		*i = ISO_DISABLE;
	else if (strcmp(s, "unknown") == 0)
		*i = ISO_UNKNOWN;
	else
		return -1;
	return 0;
}

static const char *const rctl_names[RCTL_COUNT] = {
    "nsem", "nsemop", "nshm", "shmsize", "nmsgq", "msgqqueued", "msgqsize",
};

const char *
rctl_res_name(enum rctl_res r)
{
	return (unsigned)r < RCTL_COUNT ? rctl_names[r] : "?";
}

int
rctl_res_parse(const char *s, enum rctl_res *r)
{
	int i;

	for (i = 0; i < RCTL_COUNT; i++) {
		if (strcmp(s, rctl_names[i]) == 0) {
			*r = (enum rctl_res)i;
			return 0;
		}
	}
	return -1;
}

/* Appends s to buf (NUL-terminated at len - 1 at most); *at moves on. */
static void
identity_put(char *buf, size_t len, size_t *at, const char *s)
{
	size_t n = strlen(s);

	if (*at + 1 >= len)
		return;
	if (n > len - 1 - *at)
		n = len - 1 - *at;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = '\0';
}

/*
 * "KIND|LIMIT|SCOPE|OBJECT", built with copies and one small snprintf for
 * the object: the aggregator computes it once per finding per snapshot, so
 * it is on the path of every agent's findings (issue 18).
 */
void
finding_identity(const struct finding *f, char *buf, size_t len)
{
	char obj[48] = "";
	size_t at = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (f->has_object)
		snprintf(obj, sizeof(obj), "%s:%lld", ipc_type_name(f->otype), (long long)f->oid);
	else if (finding_about_owner(f))
		snprintf(obj, sizeof(obj), "uid:%u", f->uid);
	identity_put(buf, len, &at, finding_kind_name(f->kind));
	identity_put(buf, len, &at, "|");
	identity_put(buf, len, &at, f->limit);
	identity_put(buf, len, &at, "|");
	identity_put(buf, len, &at, f->scope);
	identity_put(buf, len, &at, "|");
	identity_put(buf, len, &at, obj);
}

static const char *const finding_kinds[FK_COUNT] = {
    "threshold",  "forecast",    "restart_headroom",  "orphan",         "isolation", "stale",
    "clock",      "incomplete",  "limits_below_host", "removeipc_risk", "vanished",  "leak",
    "queue_fill", "permissions",
};

int
finding_about_owner(const struct finding *f)
{
	return f->has_headroom || f->kind == FK_REMOVEIPC_RISK || f->kind == FK_LEAK;
}

int
finding_kind_from_agent(enum finding_kind k)
{
	return k == FK_ORPHAN || k == FK_ISOLATION || k == FK_INCOMPLETE ||
	       k == FK_REMOVEIPC_RISK || k == FK_VANISHED || k == FK_PERMISSIONS;
}

const char *
finding_kind_name(enum finding_kind k)
{
	return (unsigned)k < FK_COUNT ? finding_kinds[k] : "?";
}

int
finding_kind_parse(const char *s, enum finding_kind *k)
{
	int i;

	for (i = 0; i < FK_COUNT; i++) {
		if (strcmp(s, finding_kinds[i]) == 0) {
			*k = (enum finding_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *
severity_name(enum severity v)
{
	switch (v) {
	case SEV_INFO:
		return "info";
	case SEV_WARN:
		return "warn";
	case SEV_CRIT:
		return "crit";
	}
	return "?";
}

int
severity_parse(const char *s, enum severity *v)
{
	if (strcmp(s, "info") == 0)
		*v = SEV_INFO;
	else if (strcmp(s, "warn") == 0)
		*v = SEV_WARN;
	else if (strcmp(s, "crit") == 0)
		*v = SEV_CRIT;
	else
		return -1;
	return 0;
}
