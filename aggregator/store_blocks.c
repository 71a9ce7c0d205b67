/*
 * store_blocks.c: hourly sample blocks and usage summaries (store_blocks.h).
 *
 * Memory: a block's run arrays grow by doubling and are kept until sb_free(),
 * so the store decodes and re-encodes a block per snapshot without
 * allocating.  Every count is bounded: at most SB_MAX_TIMES times (distinct
 * seconds of one hour), so at most that many runs per series, and at most
 * SB_MAX_LIMITS series.
 */
#include <stdlib.h>
#include <string.h>

#include "store_blocks.h"
#include "util.h"

#define SB_VERSION 1
/* 1: name, has_limit, used, limit; 2: flags (has_limit, unknown_used) and why */
#define SB_USAGE_VERSION 2

int64_t
sb_hour_of(int64_t t)
{
	int64_t r = t % SB_HOUR;

	if (r < 0)
		r += SB_HOUR;
	/* the first partial hour of int64_t: its start is not representable */
	if ((uint64_t)t - (uint64_t)INT64_MIN < (uint64_t)r)
		return INT64_MIN;
	return t - r;
}

int64_t
sb_day_of(int64_t t)
{
	int64_t r = t % 86400;

	if (r < 0)
		r += 86400;
	return (uint64_t)t - (uint64_t)INT64_MIN < (uint64_t)r ? INT64_MIN : t - r;
}

/* 1 when t lies in the hour starting at hour (without overflowing). */
static int
sb_in_hour(int64_t hour, int64_t t)
{
	return t >= hour && (uint64_t)t - (uint64_t)hour < SB_HOUR;
}

void
sb_init(struct sb_block *b)
{
	memset(b, 0, sizeof(*b));
}

void
sb_free(struct sb_block *b)
{
	size_t i;

	free(b->tr);
	for (i = 0; i < SB_MAX_LIMITS; i++)
		free(b->l[i].runs);
	memset(b, 0, sizeof(*b));
}

void
sb_reset(struct sb_block *b, int64_t hour)
{
	size_t i;

	b->hour = hour;
	b->n = 0;
	b->last = hour;
	b->ntr = 0;
	for (i = 0; i < b->nl; i++) {
		b->l[i].nruns = 0;
		b->l[i].name[0] = '\0';
	}
	b->nl = 0;
}

/* ---- growing the arrays (never beyond SB_MAX_TIMES entries) ---- */

static int
sb_tr_reserve(struct sb_block *b, size_t want)
{
	return grow_array(&b->tr, &b->trcap, want, 4, SB_MAX_TIMES, sizeof(*b->tr));
}

static int
sb_runs_reserve(struct sb_series *l, size_t want)
{
	return grow_array(&l->runs, &l->cap, want, 4, SB_MAX_TIMES, sizeof(*l->runs));
}

/* ---- varints ---- */

struct sb_rd {
	const uint8_t *p, *end;
	int bad;
};

static uint64_t
sb_get(struct sb_rd *r)
{
	uint64_t v = 0;
	unsigned shift = 0;

	while (!r->bad) {
		uint8_t c;

		if (r->p == r->end || shift > 63) {
			r->bad = 1;
			break;
		}
		c = *r->p++;
		/* the tenth byte may only carry the top bit */
		if (shift == 63 && c > 1) {
			r->bad = 1;
			break;
		}
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
		shift += 7;
	}
	return 0;
}

/* A varint that must lie in [min, max]. */
static uint64_t
sb_get_in(struct sb_rd *r, uint64_t min, uint64_t max)
{
	uint64_t v = sb_get(r);

	if (v < min || v > max)
		r->bad = 1;
	return v;
}

/* uint64_t difference, zigzag-encoded as the int64_t it wraps to. */
static uint64_t
sb_unzig(uint64_t z)
{
	return (z >> 1) ^ (uint64_t) - (int64_t)(z & 1);
}

static uint64_t
sb_zig(uint64_t d)
{
	return (d << 1) ^ (uint64_t)((int64_t)d >> 63);
}

/* A small writer: bytes gather in a stack buffer, flushed to out when full. */
struct sb_wr {
	struct buf *out;
	uint8_t tmp[256];
	size_t n;
};

static void
sb_flush(struct sb_wr *w)
{
	if (w->n > 0)
		buf_append(w->out, w->tmp, w->n);
	w->n = 0;
}

static void
sb_put(struct sb_wr *w, uint64_t v)
{
	if (w->n + 10 > sizeof(w->tmp))
		sb_flush(w);
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		w->tmp[w->n++] = (uint8_t)(c | (v ? 0x80 : 0));
	} while (v);
}

static void
sb_put_bytes(struct sb_wr *w, const void *p, size_t n)
{
	sb_flush(w);
	buf_append(w->out, p, n);
}

/* ---- blocks ---- */

int
sb_decode(struct sb_block *b, int64_t hour, const uint8_t *p, size_t n)
{
	struct sb_rd r = {.p = p, .end = p + n};
	uint64_t total = 0, i, k, nl;
	int64_t t;

	sb_reset(b, hour);
	if (n > SB_MAX_BYTES || sb_get(&r) != SB_VERSION)
		return -1;
	b->n = (uint32_t)sb_get_in(&r, 1, SB_MAX_TIMES);
	b->ntr = (size_t)sb_get_in(&r, 1, b->n);
	if (r.bad || sb_tr_reserve(b, b->ntr) == -1)
		goto bad;
	t = hour;
	for (i = 0; i < b->ntr; i++) {
		struct sb_trun *tr = &b->tr[i];

		/* the first run places the first time; the others step forward */
		tr->step = (uint32_t)sb_get_in(&r, i == 0 ? 0 : 1, SB_HOUR - 1);
		tr->count = (uint32_t)sb_get_in(&r, 1, i == 0 ? 1 : b->n);
		if (r.bad)
			goto bad;
		total += tr->count;
		/* at most SB_HOUR * SB_HOUR seconds: no overflow in 64 bits */
		if (total > b->n ||
		    (uint64_t)(t - hour) + (uint64_t)tr->step * tr->count >= SB_HOUR)
			goto bad;
		t += (int64_t)tr->step * tr->count;
	}
	if (total != b->n)
		goto bad;
	b->last = t;
	nl = sb_get_in(&r, 0, SB_MAX_LIMITS);
	if (r.bad)
		goto bad;
	for (k = 0; k < nl; k++) {
		struct sb_series *l = &b->l[k];
		uint64_t len, used = 0, lim = 0, cnt = 0;
		size_t j;

		len = sb_get_in(&r, 1, MODEL_NAME_MAX - 1);
		if (r.bad || (size_t)(r.end - r.p) < len)
			goto bad;
		memcpy(l->name, r.p, len);
		l->name[len] = '\0';
		r.p += len;
		b->nl = k + 1; /* sb_reset() clears the names of the ones read */
		if (!limit_name_valid(l->name))
			goto bad;
		for (j = 0; j < k; j++)
			if (strcmp(b->l[j].name, l->name) == 0)
				goto bad;
		l->nruns = (size_t)sb_get_in(&r, 1, b->n);
		if (r.bad || sb_runs_reserve(l, l->nruns) == -1)
			goto bad;
		for (i = 0; i < l->nruns; i++) {
			struct sb_vrun *v = &l->runs[i];
			uint64_t h = sb_get_in(&r, 2, ((uint64_t)b->n << 1) | 1);

			v->count = (uint32_t)(h >> 1);
			v->absent = (int)(h & 1);
			if (!v->absent) {
				used += sb_unzig(sb_get(&r));
				lim += sb_unzig(sb_get(&r));
			}
			v->used = v->absent ? 0 : used;
			v->limit = v->absent ? 0 : lim;
			cnt += v->count;
			if (r.bad || cnt > b->n)
				goto bad;
		}
		if (cnt != b->n)
			goto bad;
	}
	if (r.p != r.end)
		goto bad;
	return 0;
bad:
	sb_reset(b, hour);
	return -1;
}

int
sb_encode(const struct sb_block *b, struct buf *out)
{
	struct sb_wr w = {.out = out};
	size_t i, k;

	sb_put(&w, SB_VERSION);
	sb_put(&w, b->n);
	sb_put(&w, b->ntr);
	for (i = 0; i < b->ntr; i++) {
		sb_put(&w, b->tr[i].step);
		sb_put(&w, b->tr[i].count);
	}
	sb_put(&w, b->nl);
	for (k = 0; k < b->nl; k++) {
		const struct sb_series *l = &b->l[k];
		uint64_t used = 0, lim = 0;
		size_t len = strlen(l->name);

		sb_put(&w, len);
		sb_put_bytes(&w, l->name, len);
		sb_put(&w, l->nruns);
		for (i = 0; i < l->nruns; i++) {
			const struct sb_vrun *v = &l->runs[i];

			sb_put(&w, ((uint64_t)v->count << 1) | (v->absent ? 1 : 0));
			if (v->absent)
				continue;
			sb_put(&w, sb_zig(v->used - used));
			sb_put(&w, sb_zig(v->limit - lim));
			used = v->used;
			lim = v->limit;
		}
	}
	sb_flush(&w);
	return buf_failed(out) ? -1 : 0;
}

const struct sb_series *
sb_find(const struct sb_block *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->nl; i++)
		if (strcmp(b->l[i].name, name) == 0)
			return &b->l[i];
	return NULL;
}

/* Appends count times one value (or absence) to l, extending its last run. */
static int
sb_push(struct sb_series *l, int absent, uint64_t used, uint64_t limit, uint32_t count)
{
	struct sb_vrun *v = l->nruns > 0 ? &l->runs[l->nruns - 1] : NULL;

	if (v != NULL && v->absent == absent &&
	    (absent || (v->used == used && v->limit == limit))) {
		v->count += count;
		return 0;
	}
	if (sb_runs_reserve(l, l->nruns + 1) == -1)
		return -1;
	v = &l->runs[l->nruns++];
	v->absent = absent;
	v->used = absent ? 0 : used;
	v->limit = absent ? 0 : limit;
	v->count = count;
	return 0;
}

/* The series named name, added (absent at the block's times so far) when missing. */
static struct sb_series *
sb_series_get(struct sb_block *b, const char *name)
{
	struct sb_series *l;
	size_t i;

	for (i = 0; i < b->nl; i++)
		if (strcmp(b->l[i].name, name) == 0)
			return &b->l[i];
	if (b->nl == SB_MAX_LIMITS || !limit_name_valid(name))
		return NULL;
	l = &b->l[b->nl];
	ifl_strlcpy(l->name, name, sizeof(l->name));
	l->nruns = 0;
	if (b->n > 0 && sb_push(l, 1, 0, 0, b->n) == -1)
		return NULL;
	b->nl++;
	return l;
}

/* The value v gives for limit name, or NULL. */
static const struct sb_value *
sb_value_of(const struct sb_value *v, size_t nv, const char *name)
{
	size_t i;

	for (i = 0; i < nv; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* A new latest time: every series grows by one. */
static int
sb_append(struct sb_block *b, int64_t t, const struct sb_value *v, size_t nv)
{
	size_t i;

	for (i = 0; i < nv; i++)
		if (sb_series_get(b, v[i].name) == NULL)
			return -1;
	if (b->n == 0) {
		if (sb_tr_reserve(b, 1) == -1)
			return -1;
		b->tr[0].step = (uint32_t)(t - b->hour);
		b->tr[0].count = 1;
		b->ntr = 1;
	} else {
		uint32_t step = (uint32_t)(t - b->last);

		if (b->ntr >= 2 && b->tr[b->ntr - 1].step == step) {
			b->tr[b->ntr - 1].count++;
		} else {
			if (sb_tr_reserve(b, b->ntr + 1) == -1)
				return -1;
			b->tr[b->ntr].step = step;
			b->tr[b->ntr].count = 1;
			b->ntr++;
		}
	}
	for (i = 0; i < b->nl; i++) {
		struct sb_series *l = &b->l[i];
		const struct sb_value *x = sb_value_of(v, nv, l->name);

		/* (a series added above already holds its absent run for the old times) */
		if (sb_push(l, x == NULL, x ? x->used : 0, x ? x->limit : 0, 1) == -1)
			return -1;
	}
	b->n++;
	b->last = t;
	return 0;
}

/* Values replaced at the latest time: only the last run of each series changes. */
static int
sb_set_last(struct sb_block *b, const struct sb_value *v, size_t nv)
{
	size_t i;

	for (i = 0; i < nv; i++) {
		struct sb_series *l = sb_series_get(b, v[i].name);
		struct sb_vrun *r;

		if (l == NULL)
			return -1;
		r = &l->runs[l->nruns - 1];
		if (!r->absent && r->used == v[i].used && r->limit == v[i].limit)
			continue;
		if (r->count > 1)
			r->count--;
		else
			l->nruns--; /* sb_push may then extend the run before */
		if (sb_push(l, 0, v[i].used, v[i].limit, 1) == -1)
			return -1;
	}
	return 0;
}

/*
 * Any other time (a late snapshot, one between two others): the block is
 * expanded to one entry per time, changed, and compressed again.
 */
static int
sb_set_expand(struct sb_block *b, int64_t t, const struct sb_value *v, size_t nv)
{
	struct cell {
		uint64_t used, limit;
		int present;
	};
	int64_t *times = NULL;
	struct cell *cells = NULL; /* [limit][time], (n + 1) times per limit */
	size_t n = b->n, w = n + 1, nl, i, k, pos;
	int insert, rc = -1;

	for (i = 0; i < nv; i++)
		if (sb_series_get(b, v[i].name) == NULL)
			return -1;
	nl = b->nl;
	if ((times = calloc(w, sizeof(*times))) == NULL ||
	    (nl > 0 && (cells = calloc(nl * w, sizeof(*cells))) == NULL))
		goto out;
	/* expand */
	{
		int64_t cur = b->hour;
		size_t j = 0;

		for (i = 0; i < b->ntr; i++)
			for (k = 0; k < b->tr[i].count; k++) {
				cur += b->tr[i].step;
				times[j++] = cur;
			}
	}
	for (k = 0; k < nl; k++) {
		size_t j = 0, r;

		for (r = 0; r < b->l[k].nruns; r++) {
			const struct sb_vrun *x = &b->l[k].runs[r];
			uint32_t c;

			for (c = 0; c < x->count && j < n; c++, j++) {
				cells[k * w + j].present = !x->absent;
				cells[k * w + j].used = x->used;
				cells[k * w + j].limit = x->limit;
			}
		}
	}
	/* place t */
	for (pos = 0; pos < n && times[pos] < t; pos++)
		;
	insert = pos == n || times[pos] != t;
	if (insert) {
		memmove(&times[pos + 1], &times[pos], (n - pos) * sizeof(*times));
		times[pos] = t;
		for (k = 0; k < nl; k++) {
			struct cell *c = &cells[k * w];

			memmove(&c[pos + 1], &c[pos], (n - pos) * sizeof(*c));
			memset(&c[pos], 0, sizeof(*c));
		}
		n++;
	}
	for (i = 0; i < nv; i++) {
		for (k = 0; k < nl && strcmp(b->l[k].name, v[i].name) != 0; k++)
			;
		cells[k * w + pos].present = 1;
		cells[k * w + pos].used = v[i].used;
		cells[k * w + pos].limit = v[i].limit;
	}
	/* compress */
	b->n = 0;
	b->ntr = 0;
	for (k = 0; k < nl; k++)
		b->l[k].nruns = 0;
	for (i = 0; i < n; i++) {
		if (i == 0) {
			if (sb_tr_reserve(b, 1) == -1)
				goto out;
			b->tr[0].step = (uint32_t)(times[0] - b->hour);
			b->tr[0].count = 1;
			b->ntr = 1;
		} else {
			uint32_t step = (uint32_t)(times[i] - times[i - 1]);

			if (b->ntr >= 2 && b->tr[b->ntr - 1].step == step)
				b->tr[b->ntr - 1].count++;
			else {
				if (sb_tr_reserve(b, b->ntr + 1) == -1)
					goto out;
				b->tr[b->ntr].step = step;
				b->tr[b->ntr].count = 1;
				b->ntr++;
			}
		}
		for (k = 0; k < nl; k++) {
			const struct cell *c = &cells[k * w + i];

			if (sb_push(&b->l[k], !c->present, c->used, c->limit, 1) == -1)
				goto out;
		}
	}
	b->n = (uint32_t)n;
	b->last = times[n - 1];
	rc = 0;
out:
	free(times);
	free(cells);
	return rc;
}

int
sb_set(struct sb_block *b, int64_t t, const struct sb_value *v, size_t nv)
{
	if (!sb_in_hour(b->hour, t))
		return -1;
	if (b->n == 0 || t > b->last)
		return sb_append(b, t, v, nv);
	if (t == b->last)
		return sb_set_last(b, v, nv);
	return sb_set_expand(b, t, v, nv);
}

void
sb_samples(const struct sb_block *b, const struct sb_series *l, int64_t t0, struct sample *out,
           size_t max, size_t *n)
{
	size_t ti = 0, r = 0;
	uint32_t tleft = 0, vleft = 0;
	int64_t t = b->hour, step = 0;
	const struct sb_vrun *v = NULL;
	uint32_t i;

	/* walk the times and the values together, one time at a time */
	for (i = 0; i < b->n && *n < max; i++) {
		if (tleft == 0) {
			step = b->tr[ti].step;
			tleft = b->tr[ti].count;
			ti++;
		}
		t += step;
		tleft--;
		if (vleft == 0) {
			v = &l->runs[r++];
			vleft = v->count;
		}
		vleft--;
		if (v->absent || t < t0)
			continue;
		out[*n].t = t;
		out[*n].used = v->used;
		out[*n].limit = v->limit;
		(*n)++;
	}
}

int
sb_rollup(const struct sb_series *l, uint64_t *mn, uint64_t *mx, long double *sum, uint64_t *count,
          uint64_t *limit)
{
	size_t i;

	*count = 0;
	*sum = 0;
	for (i = 0; i < l->nruns; i++) {
		const struct sb_vrun *v = &l->runs[i];

		if (v->absent)
			continue;
		if (*count == 0 || v->used < *mn)
			*mn = v->used;
		if (*count == 0 || v->used > *mx)
			*mx = v->used;
		*sum += (long double)v->used * v->count;
		*count += v->count;
		*limit = v->limit;
	}
	return *count > 0 ? 0 : 1;
}

/* ---- usage summaries ---- */

int
sb_usage_encode(const struct usage *u, struct buf *out)
{
	struct sb_wr w = {.out = out};
	size_t i;

	sb_put(&w, SB_USAGE_VERSION);
	sb_put(&w, u->n);
	for (i = 0; i < u->n && i < USAGE_MAX; i++) {
		size_t len = strlen(u->v[i].name), wlen = strnlen(u->v[i].why, MODEL_TEXT_MAX - 1);

		sb_put(&w, len);
		sb_put_bytes(&w, u->v[i].name, len);
		sb_put(&w, (u->v[i].has_limit ? 1u : 0u) | (u->v[i].unknown_used ? 2u : 0u));
		sb_put(&w, u->v[i].used);
		sb_put(&w, u->v[i].limit);
		sb_put(&w, wlen);
		sb_put_bytes(&w, u->v[i].why, wlen);
	}
	sb_flush(&w);
	return buf_failed(out) ? -1 : 0;
}

int
sb_usage_decode(const uint8_t *p, size_t n, struct usage *u, char names[USAGE_MAX][MODEL_NAME_MAX])
{
	struct sb_rd r = {.p = p, .end = p + n};
	uint64_t version, flags, wlen;
	size_t i;

	memset(u, 0, sizeof(*u));
	version = sb_get(&r);
	if (version != 1 && version != SB_USAGE_VERSION)
		return -1;
	u->n = (size_t)sb_get_in(&r, 0, USAGE_MAX);
	for (i = 0; i < u->n && !r.bad; i++) {
		uint64_t len = sb_get_in(&r, 1, MODEL_NAME_MAX - 1);

		if (r.bad || (size_t)(r.end - r.p) < len)
			return -1;
		memcpy(names[i], r.p, len);
		names[i][len] = '\0';
		r.p += len;
		if (!limit_name_valid(names[i]))
			return -1;
		u->v[i].name = names[i];
		flags = sb_get_in(&r, 0, version == 1 ? 1 : 3);
		u->v[i].has_limit = (flags & 1) != 0;
		u->v[i].unknown_used = (flags & 2) != 0;
		u->v[i].used = sb_get(&r);
		u->v[i].limit = sb_get(&r);
		if (version == 1)
			continue;
		wlen = sb_get_in(&r, 0, MODEL_TEXT_MAX - 1);
		if (r.bad || (size_t)(r.end - r.p) < wlen)
			return -1;
		memcpy(u->v[i].why, r.p, wlen);
		u->v[i].why[wlen] = '\0';
		r.p += wlen;
	}
	if (r.bad || r.p != r.end) {
		memset(u, 0, sizeof(*u));
		return -1;
	}
	return 0;
}

/* ---- count runs ---- */

#define SB_COUNTS_VERSION 1

int
sb_counts_encode(const struct count_run *v, size_t n, struct buf *out)
{
	struct sb_wr w = {.out = out};
	size_t i;

	sb_put(&w, SB_COUNTS_VERSION);
	sb_put(&w, n);
	for (i = 0; i < n; i++) {
		size_t len = strnlen(v[i].scope, MODEL_NAME_MAX - 1);

		sb_put(&w, len);
		sb_put_bytes(&w, v[i].scope, len);
		sb_put(&w, (uint64_t)v[i].what);
		sb_put(&w, sb_zig((uint64_t)v[i].id));
		sb_put(&w, sb_zig((uint64_t)v[i].first));
		sb_put(&w, (uint64_t)(v[i].last - v[i].first));
		sb_put(&w, v[i].value);
		sb_put(&w, v[i].snapshots);
		sb_put(&w, v[i].cont ? 1 : 0);
	}
	sb_flush(&w);
	return buf_failed(out) ? -1 : 0;
}

int
sb_counts_decode(const uint8_t *p, size_t len, struct count_run **out, size_t *nout)
{
	struct sb_rd r = {.p = p, .end = p + len};
	struct count_run *v = NULL;
	uint64_t n, i;

	*out = NULL;
	*nout = 0;
	if (sb_get(&r) != SB_COUNTS_VERSION)
		return -1;
	n = sb_get_in(&r, 0, COUNT_RUNS_MAX);
	/* each run takes at least 9 bytes: n is bounded by what is there */
	if (r.bad || n > (uint64_t)(r.end - r.p) / 9)
		return -1;
	if (n > 0 && (v = calloc((size_t)n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < n && !r.bad; i++) {
		struct count_run *c = &v[i];
		uint64_t slen = sb_get_in(&r, 1, MODEL_NAME_MAX - 1), span;

		if (r.bad || (size_t)(r.end - r.p) < slen)
			break;
		memcpy(c->scope, r.p, slen);
		c->scope[slen] = '\0';
		r.p += slen;
		if (memchr(c->scope, '\0', slen) != NULL) {
			r.bad = 1;
			break;
		}
		c->what = (int32_t)sb_get_in(&r, 0, CW_QNUM);
		c->id = (int64_t)sb_unzig(sb_get(&r));
		c->first = (int64_t)sb_unzig(sb_get(&r));
		span = sb_get_in(&r, 0, INT64_MAX);
		if (!r.bad && c->first > INT64_MAX - (int64_t)span)
			r.bad = 1;
		c->last = c->first + (int64_t)span;
		c->value = sb_get(&r);
		c->snapshots = sb_get_in(&r, 1, UINT64_MAX);
		c->cont = (int)sb_get_in(&r, 0, 1);
	}
	if (r.bad || r.p != r.end) {
		free(v);
		return -1;
	}
	*out = v;
	*nout = (size_t)n;
	return 0;
}

/* By key (scope, what, id), then time. */
static int
sb_run_cmp(const void *a, const void *b)
{
	const struct count_run *x = a, *y = b;
	int c = strcmp(x->scope, y->scope);

	if (c != 0)
		return c;
	if (x->what != y->what)
		return x->what < y->what ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->last < y->last ? -1 : x->last > y->last;
}

static int
sb_run_key_eq(const struct count_run *x, const struct count_run *y)
{
	return x->what == y->what && x->id == y->id && strcmp(x->scope, y->scope) == 0;
}

/* Newest first, by when the run ended. */
static int
sb_run_newer(const void *a, const void *b)
{
	const struct count_run *x = a, *y = b;

	if (x->last != y->last)
		return x->last > y->last ? -1 : 1;
	return sb_run_cmp(a, b);
}

int
sb_counts_merge(struct count_run **vp, size_t *np, const struct count_run *cur, size_t ncur,
                int64_t t, int64_t keep)
{
	struct count_run *v = *vp, *c = NULL;
	size_t n = *np, i, j, k, cap = n, nc = 0;
	int64_t prev = INT64_MIN;

	for (i = 0; i < n; i++)
		if (v[i].last > prev)
			prev = v[i].last;
	if (prev != INT64_MIN && t <= prev)
		goto keep_only; /* not after the last counted snapshot: changes nothing */
	if (n > 0)              /* qsort(NULL, 0) is undefined */
		qsort(v, n, sizeof(*v), sb_run_cmp);
	if (ncur > 0) {
		if ((c = calloc(ncur, sizeof(*c))) == NULL)
			return -1;
		memcpy(c, cur, ncur * sizeof(*c));
		qsort(c, ncur, sizeof(*c), sb_run_cmp);
	}
	/* each current key: its last run grows, or a run begins (appended, sorted below) */
	for (i = 0, j = 0; i < ncur; i++) {
		struct count_run *last = NULL;
		int cont;

		if (i > 0 && sb_run_key_eq(&c[i], &c[i - 1]))
			continue; /* a key given twice: the first counts */
		while (j < n && sb_run_cmp(&v[j], &c[i]) < 0 && !sb_run_key_eq(&v[j], &c[i]))
			j++;
		for (k = j; k < n && sb_run_key_eq(&v[k], &c[i]); k++)
			last = &v[k];
		if (last != NULL && last->last == prev && last->value == c[i].value) {
			last->last = t;
			last->snapshots++;
			continue;
		}
		cont = last != NULL && last->last == prev; /* before v moves */
		if (grow_array(&v, &cap, n + nc + 1, 16, COUNT_RUNS_MAX * 2 + ncur, sizeof(*v)) ==
		    -1) {
			free(c);
			*vp = v;
			return -1;
		}
		v[n + nc] = c[i];
		v[n + nc].first = v[n + nc].last = t;
		v[n + nc].snapshots = 1;
		v[n + nc].cont = cont;
		nc++;
	}
	free(c);
	n += nc;
keep_only:
	/* what ended before keep goes; then the newest COUNT_RUNS_MAX */
	for (i = 0, k = 0; i < n; i++)
		if (v[i].last >= keep)
			v[k++] = v[i];
	n = k;
	if (n > COUNT_RUNS_MAX) {
		qsort(v, n, sizeof(*v), sb_run_newer);
		n = COUNT_RUNS_MAX;
	}
	if (n > 0) /* qsort(NULL, 0) is undefined */
		qsort(v, n, sizeof(*v), sb_run_cmp);
	if (n == 0) {
		free(v);
		v = NULL;
	}
	*vp = v;
	*np = n;
	return 0;
}
