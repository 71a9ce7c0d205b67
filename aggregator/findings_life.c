/*
 * findings_life.c: a finding's life across snapshots (findings.h): the
 * list the rules fill, the index by key that pairs a new evaluation with
 * the findings still open, and the plan of what to open, update and close.
 * The rules themselves are in findings.c, findings_ns.c and
 * findings_capacity.c; the stores carry out the plan.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"
#include "util.h"

struct finding *
finding_list_add(struct finding_list *l)
{
	struct finding *f;

	if (grow_array(&l->v, &l->cap, l->n + 1, 16, MODEL_MAX_FINDINGS, sizeof(*f)) == -1)
		return NULL;
	f = &l->v[l->n++];
	memset(f, 0, sizeof(*f));
	return f;
}

void
finding_list_free(struct finding_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void
finding_index_free(struct finding_index *ix)
{
	free(ix->keys);
	free(ix->koff);
	free(ix->next);
	free(ix->slot);
	free(ix->avail);
	memset(ix, 0, sizeof(*ix));
}

const char *
finding_index_key(const struct finding_index *ix, size_t i)
{
	return ix->keys + ix->koff[i];
}

/* The slot of key: where its first entry is, or the empty one it would take. */
static size_t
index_slot(const struct finding_index *ix, const char *key)
{
	size_t h = (size_t)fnv1a64_str(key) & ix->mask;

	while (ix->slot[h] != 0 && strcmp(finding_index_key(ix, ix->slot[h] - 1), key) != 0)
		h = (h + 1) & ix->mask;
	return h;
}

int
finding_index_build(struct finding_index *ix, const struct finding *v, size_t n)
{
	char key[FINDING_KEY_MAX];
	size_t i, len = 0, cap = 0, slots = 16;
	uint32_t *last = NULL;

	memset(ix, 0, sizeof(*ix));
	if (n == 0)
		return 0;
	if (n > UINT32_MAX / 4)
		return -1;
	while (slots < 2 * n)
		slots *= 2;
	ix->n = n;
	ix->mask = slots - 1;
	if ((ix->koff = calloc(n, sizeof(*ix->koff))) == NULL ||
	    (ix->next = calloc(n, sizeof(*ix->next))) == NULL ||
	    (ix->slot = calloc(slots, sizeof(*ix->slot))) == NULL ||
	    (ix->avail = calloc(slots, sizeof(*ix->avail))) == NULL ||
	    (last = calloc(slots, sizeof(*last))) == NULL)
		goto oom;
	for (i = 0; i < n; i++) {
		size_t k, h;

		finding_identity(&v[i], key, sizeof(key));
		k = strlen(key) + 1;
		if (len + k > UINT32_MAX ||
		    grow_array(&ix->keys, &cap, len + k, 4096, UINT32_MAX, 1) == -1)
			goto oom;
		memcpy(ix->keys + len, key, k);
		ix->koff[i] = (uint32_t)len;
		len += k;
		h = index_slot(ix, key);
		if (ix->slot[h] == 0) {
			ix->slot[h] = ix->avail[h] = (uint32_t)i + 1;
		} else
			ix->next[last[h] - 1] = (uint32_t)i + 1; /* entries of a key in order */
		last[h] = (uint32_t)i + 1;
	}
	free(last);
	return 0;
oom:
	free(last);
	finding_index_free(ix);
	return -1;
}

size_t
finding_index_first(const struct finding_index *ix, const char *key)
{
	size_t h;

	if (ix->n == 0)
		return SIZE_MAX;
	h = index_slot(ix, key);
	return ix->slot[h] != 0 ? ix->slot[h] - 1 : SIZE_MAX;
}

size_t
finding_index_take(struct finding_index *ix, const char *key)
{
	size_t h, i;

	if (ix->n == 0)
		return SIZE_MAX;
	h = index_slot(ix, key);
	if (ix->avail[h] == 0)
		return SIZE_MAX;
	i = ix->avail[h] - 1;
	ix->avail[h] = ix->next[i];
	return i;
}

int
findings_plan(const struct finding *cur, size_t n, const struct finding *open, size_t nopen,
              int64_t now, struct finding_step **steps, size_t *nsteps)
{
	struct finding_step *v = NULL;
	struct finding_index oi;
	unsigned char *seen = NULL;
	size_t i, j, k = 0;

	*steps = NULL;
	*nsteps = 0;
	if (n + nopen == 0)
		return 0;
	if ((v = calloc(n + nopen, sizeof(*v))) == NULL ||
	    (nopen > 0 && (seen = calloc(nopen, 1)) == NULL) ||
	    finding_index_build(&oi, open, nopen) == -1) {
		free(v);
		free(seen);
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct finding f = cur[i];

		/* the step's key is the identity, computed once */
		finding_identity(&f, v[k].key, sizeof(v[k].key));
		j = finding_index_take(&oi, v[k].key);
		v[k].open_at = j;
		if (j != SIZE_MAX) {
			seen[j] = 1;
			if (f.severity == open[j].severity &&
			    strcmp(f.message, open[j].message) == 0)
				continue;
			f.opened = open[j].opened;
			f.updated = now;
			v[k].c.what = FC_CHANGED;
			v[k].c.previous = open[j].severity;
			v[k].report = f.severity != open[j].severity;
		} else {
			f.opened = f.updated = now;
			v[k].c.what = FC_OPENED;
			v[k].c.previous = f.severity;
			v[k].report = 1;
		}
		v[k].c.f = f;
		k++;
	}
	for (j = 0; j < nopen; j++) {
		if (seen[j])
			continue;
		v[k].c.what = FC_CLOSED;
		v[k].c.previous = open[j].severity;
		v[k].c.f = open[j];
		v[k].c.f.updated = now;
		v[k].report = 1;
		v[k].open_at = j;
		ifl_strlcpy(v[k].key, finding_index_key(&oi, j), sizeof(v[k].key));
		k++;
	}
	finding_index_free(&oi);
	free(seen);
	if (k == 0) {
		free(v);
		v = NULL;
	}
	*steps = v;
	*nsteps = k;
	return 0;
}

int
findings_plan_changes(const struct finding_step *steps, size_t n, struct finding_change **changes,
                      size_t *nchanges)
{
	struct finding_change *v = NULL;
	size_t i, k = 0;

	*changes = NULL;
	*nchanges = 0;
	for (i = 0; i < n; i++)
		k += steps[i].report != 0;
	if (k == 0)
		return 0;
	if ((v = calloc(k, sizeof(*v))) == NULL)
		return -1;
	for (i = 0, k = 0; i < n; i++)
		if (steps[i].report)
			v[k++] = steps[i].c;
	*changes = v;
	*nchanges = k;
	return 0;
}
