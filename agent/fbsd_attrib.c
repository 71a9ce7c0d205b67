/*
 * fbsd_attrib.c: which jail an object belongs to (collect_freebsd.h).
 *
 * The host's view is the inventory, indexed once by (type, id).  A jail's
 * own view lists the objects made in it with their real keys (the host sees
 * key 0); a shared memory segment's creator pid tells the jail while it
 * runs.  What neither places stays on the host.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbsd_local.h"
#include "util.h"

static int
ikey_cmp(const void *a, const void *b)
{
	const struct fbsd_ikey *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int
fbsd_index_build(const struct snapshot *s, struct fbsd_index *ix)
{
	size_t i;

	ix->n = 0;
	ix->v = NULL;
	if (s->nobjects == 0)
		return 0;
	if ((ix->v = calloc(s->nobjects, sizeof(*ix->v))) == NULL)
		return -1;
	for (i = 0; i < s->nobjects; i++) {
		ix->v[i].type = (uint32_t)s->objects[i].type;
		ix->v[i].id = s->objects[i].id;
		ix->v[i].idx = i;
	}
	ix->n = s->nobjects;
	qsort(ix->v, ix->n, sizeof(*ix->v), ikey_cmp);
	return 0;
}

void
fbsd_index_free(struct fbsd_index *ix)
{
	free(ix->v);
	ix->v = NULL;
	ix->n = 0;
}

/* The first entry for (type, id), or NULL. */
static const struct fbsd_ikey *
index_find(const struct fbsd_index *ix, enum ipc_type type, int64_t id)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct fbsd_ikey *k = &ix->v[mid];

		if (k->type < (uint32_t)type || (k->type == (uint32_t)type && k->id < id))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ix->n && ix->v[lo].type == (uint32_t)type && ix->v[lo].id == id)
		return &ix->v[lo];
	return NULL;
}

int
fbsd_dedupe(struct snapshot *s, struct collect_warnings *w)
{
	struct fbsd_index ix;
	unsigned char *drop;
	size_t i, k, ndrop = 0;

	if (fbsd_index_build(s, &ix) == -1)
		return -1;
	if (ix.n < 2) {
		fbsd_index_free(&ix);
		return 0;
	}
	if ((drop = calloc(ix.n, 1)) == NULL) {
		fbsd_index_free(&ix);
		return -1;
	}
	for (i = 1; i < ix.n; i++) {
		if (ix.v[i].type == ix.v[i - 1].type && ix.v[i].id == ix.v[i - 1].id) {
			/* sorted by index within equal keys: the later entry goes */
			drop[ix.v[i].idx] = 1;
			ndrop++;
			collect_warn(w,
			             "%s id %" PRId64 " is listed more than once: the later "
			             "entry is ignored",
			             ipc_type_name((enum ipc_type)ix.v[i].type), ix.v[i].id);
		}
	}
	for (i = k = 0; i < s->nobjects; i++)
		if (!drop[i])
			s->objects[k++] = s->objects[i];
	s->nobjects = k;
	free(drop);
	fbsd_index_free(&ix);
	return (int)ndrop;
}

/*
 * The work of fbsd_attribute_view.  pidscope (NULL: not known) gives, per
 * object of s, the jail scope its creator pid runs in (0: none); such an
 * object takes its owner name from that jail's view even where the view
 * shows key 0, and named[] (NULL with pidscope) records whose names came
 * from a jail's view.
 */
int
fbsd_attribute_view_ex(struct snapshot *s, const struct fbsd_index *ix, const struct snapshot *view,
                       uint32_t scope, const char *jailname, const uint32_t *pidscope,
                       unsigned char *named, struct collect_warnings *w)
{
	size_t i;
	int moved = 0;

	for (i = 0; i < view->nobjects; i++) {
		const struct ipc_object *vo = &view->objects[i];
		const struct fbsd_ikey *k = index_find(ix, vo->type, vo->id);
		struct ipc_object *o;

		/* a jail sees the real key only of what was created in it */
		if (vo->key == 0) {
			if (k != NULL && pidscope != NULL && pidscope[k->idx] == scope &&
			    s->objects[k->idx].scope == 0) {
				memcpy(s->objects[k->idx].owner, vo->owner, sizeof(vo->owner));
				named[k->idx] = 1;
			}
			continue;
		}
		if (k == NULL) {
			collect_warn(w,
			             "jail %s: %s id %" PRId64 " is not in the host's view "
			             "(created after it was read?): ignored",
			             jailname, ipc_type_name(vo->type), vo->id);
			continue;
		}
		o = &s->objects[k->idx];
		if (o->scope == scope) {
			/* as for the host's view: the first entry wins, once */
			collect_warn(w,
			             "jail %s: %s id %" PRId64 " is listed twice: the later entry "
			             "is ignored",
			             jailname, ipc_type_name(vo->type), vo->id);
			continue;
		}
		if (o->scope != 0 && o->scope != scope) {
			collect_warn(w,
			             "jail %s: %s id %" PRId64 " is also claimed by jail %s: "
			             "left there",
			             jailname, ipc_type_name(vo->type), vo->id,
			             o->scope < s->nscopes ? s->scopes[o->scope].name : "?");
			continue;
		}
		if (o->scope == 0 && o->key != 0) {
			/* the host sees a real key only for what the host created */
			collect_warn(w,
			             "jail %s: %s id %" PRId64 " has key %" PRId64
			             " on the host and %" PRId64 " in the jail: left to the host",
			             jailname, ipc_type_name(vo->type), vo->id, o->key, vo->key);
			continue;
		}
		o->scope = scope;
		o->key = vo->key;
		/* the host's reading wins; the jail's fills what it could not resolve */
		if (o->uid == FBSD_ID_UNKNOWN)
			o->uid = vo->uid;
		if (o->gid == FBSD_ID_UNKNOWN)
			o->gid = vo->gid;
		if (o->cuid == FBSD_ID_UNKNOWN)
			o->cuid = vo->cuid;
		if (o->cgid == FBSD_ID_UNKNOWN)
			o->cgid = vo->cgid;
		/* but names are the jail's: the host's passwd does not name its users */
		memcpy(o->owner, vo->owner, sizeof(o->owner));
		if (named != NULL)
			named[k->idx] = 1;
		moved++;
	}
	return moved;
}

int
fbsd_attribute_view(struct snapshot *s, const struct fbsd_index *ix, const struct snapshot *view,
                    uint32_t scope, const char *jailname, struct collect_warnings *w)
{
	return fbsd_attribute_view_ex(s, ix, view, scope, jailname, NULL, NULL, w);
}

struct fbsd_jidscope {
	int32_t jid;
	uint32_t scope;
};

static int
jidscope_cmp(const void *a, const void *b)
{
	const struct fbsd_jidscope *x = a, *y = b;

	return x->jid < y->jid ? -1 : x->jid > y->jid;
}

/* The listed jails sorted by jid, for jail_scope().  NULL when out of memory. */
static struct fbsd_jidscope *
jidscopes(const struct fbsd_jails *j)
{
	struct fbsd_jidscope *js;
	size_t i;

	if ((js = calloc(j->n ? j->n : 1, sizeof(*js))) == NULL)
		return NULL;
	for (i = 0; i < j->n; i++) {
		js[i].jid = j->v[i].jid;
		js[i].scope = j->v[i].scope;
	}
	if (j->n > 1)
		qsort(js, j->n, sizeof(*js), jidscope_cmp);
	return js;
}

/* The scope of jail jid, or 0 when it is not listed. */
static uint32_t
jail_scope(const struct fbsd_jidscope *js, size_t n, int32_t jid)
{
	struct fbsd_jidscope key, *hit;

	key.jid = jid;
	key.scope = 0;
	if (n == 0 || (hit = bsearch(&key, js, n, sizeof(*js), jidscope_cmp)) == NULL)
		return 0;
	return hit->scope;
}

/*
 * Per object of s (calloc'd, s->nobjects entries, the caller frees): the
 * scope of the listed jail its creator pid runs in, else 0.  Only shared
 * memory still on the host with key 0 there (the host did not create it)
 * whose creator still runs: a dead creator's pid may have been reused.
 * NULL when out of memory.
 */
uint32_t *
fbsd_cpid_scopes(const struct snapshot *s, const struct fbsd_jails *j, const struct fbsd_procs *p)
{
	struct fbsd_jidscope *js;
	uint32_t *out;
	size_t i;

	if ((out = calloc(s->nobjects ? s->nobjects : 1, sizeof(*out))) == NULL)
		return NULL;
	if (j->n == 0 || p->n == 0)
		return out;
	if ((js = jidscopes(j)) == NULL) {
		free(out);
		return NULL;
	}
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];
		int32_t jid;

		if (o->type != IPC_SHM || o->scope != 0 || o->key != 0 || o->cpid <= 0)
			continue;
		if (fbsd_procs_jid(p, o->cpid, &jid) == -1 || jid == 0)
			continue;
		out[i] = jail_scope(js, j->n, jid);
	}
	free(js);
	return out;
}

/* Moves what cpid_scopes found, where no view has claimed it meanwhile. */
int
fbsd_apply_cpid(struct snapshot *s, const uint32_t *pidscope, const unsigned char *named)
{
	size_t i;
	int moved = 0;

	for (i = 0; i < s->nobjects; i++) {
		struct ipc_object *o = &s->objects[i];

		if (pidscope[i] == 0 || o->scope != 0)
			continue;
		o->scope = pidscope[i];
		/* a name the host printed is the host's, not the jail's */
		if (named == NULL || !named[i])
			o->owner[0] = '\0';
		moved++;
	}
	return moved;
}

int
fbsd_attribute_cpid(struct snapshot *s, const struct fbsd_jails *j, const struct fbsd_procs *p)
{
	uint32_t *pidscope;
	int moved;

	if ((pidscope = fbsd_cpid_scopes(s, j, p)) == NULL)
		return -1;
	moved = fbsd_apply_cpid(s, pidscope, NULL);
	free(pidscope);
	return moved;
}

/*
 * ps into pt: each process on its scope, and a jailed one a second time on
 * the host's, where the objects that could not be attributed stay.
 */
int
fbsd_fill_procs(struct proc_table *pt, const struct fbsd_procs *p, int complete,
                const struct fbsd_jails *j, struct collect_warnings *w)
{
	struct fbsd_jidscope *js;
	size_t i;

	if ((js = jidscopes(j)) == NULL)
		return -1;
	for (i = 0; i < p->n; i++) {
		const struct fbsd_proc *pr = &p->v[i];
		uint32_t scope = 0;

		if (pr->jid != 0 && (scope = jail_scope(js, j->n, pr->jid)) == 0)
			scope = PROC_SCOPE_NONE; /* a jail jls did not list (dying) */
		if (proc_table_add(pt, pr->pid, pr->uid, scope) == -1 ||
		    (scope != 0 && proc_table_add(pt, pr->pid, pr->uid, 0) == -1)) {
			collect_warn(w, "process table full (%d entries): no orphans are judged",
			             PROC_MAX);
			pt->valid = 0;
			free(js);
			return 0;
		}
	}
	pt->valid = complete;
	free(js);
	return 0;
}
