/*
 * mpread.c: defensive getters over decoded msgpack documents (mpread.h).
 */
#include <math.h>
#include <string.h>

#include "mpread.h"

const msgpack_object *
mpr_getn(const msgpack_object *m, const char *k, size_t klen)
{
	uint32_t i;

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == klen &&
		    (klen == 0 || memcmp(key->via.str.ptr, k, klen) == 0))
			return &m->via.map.ptr[i].val;
	}
	return NULL;
}

const msgpack_object *
mpr_get(const msgpack_object *m, const char *k)
{
	return mpr_getn(m, k, strlen(k));
}

size_t
mpr_arrsize(const msgpack_object *o)
{
	return o != NULL && o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 0;
}

size_t
mpr_mapsize(const msgpack_object *o)
{
	return o != NULL && o->type == MSGPACK_OBJECT_MAP ? o->via.map.size : 0;
}

int
mpr_is_str(const msgpack_object *o)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR;
}

int
mpr_streq(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return mpr_is_str(o) && o->via.str.size == n &&
	       (n == 0 || memcmp(o->via.str.ptr, s, n) == 0);
}

int
mpr_streq2(const msgpack_object *a, const msgpack_object *b)
{
	return mpr_is_str(a) && mpr_is_str(b) && a->via.str.size == b->via.str.size &&
	       (a->via.str.size == 0 ||
	        memcmp(a->via.str.ptr, b->via.str.ptr, a->via.str.size) == 0);
}

int
mpr_u64(const msgpack_object *o, uint64_t *v)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}

int
mpr_num(const msgpack_object *o, double *v)
{
	if (o == NULL)
		return -1;
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*v = (double)o->via.u64;
		return 0;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*v = (double)o->via.i64;
		return 0;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(o->via.f64))
			return -1;
		*v = o->via.f64;
		return 0;
	default:
		return -1;
	}
}

int
mpr_true(const msgpack_object *o)
{
	return o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}
