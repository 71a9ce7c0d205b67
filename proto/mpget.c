/*
 * mpget.c: reading values out of unpacked msgpack maps (proto.h).
 *
 * Nothing here allocates; returned pointers point into the object's zone.
 */
#include <stdint.h>
#include <string.h>

#include "proto.h"

int
mp_str_eq(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	if (o == NULL || o->type != MSGPACK_OBJECT_STR || o->via.str.size != n)
		return 0;
	return n == 0 || memcmp(o->via.str.ptr, s, n) == 0;
}

/* The first value whose key is the string k. */
const msgpack_object *
mp_get(const msgpack_object *m, const char *k)
{
	uint32_t i;

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return NULL;
	for (i = 0; i < m->via.map.size; i++)
		if (mp_str_eq(&m->via.map.ptr[i].key, k))
			return &m->via.map.ptr[i].val;
	return NULL;
}

int
mp_get_unique(const msgpack_object *m, const char *k, const msgpack_object **v)
{
	const msgpack_object *found = NULL;
	size_t n = strlen(k);
	uint32_t i;

	*v = NULL;
	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return 1;
	/*
	 * The decoders look up every field this way, so every key of a map is
	 * compared with every field name: length and first byte first, the
	 * rest only when they agree (mp_str_eq, inlined).
	 */
	for (i = 0; i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type != MSGPACK_OBJECT_STR || key->via.str.size != n ||
		    (n > 0 && (key->via.str.ptr[0] != k[0] || memcmp(key->via.str.ptr, k, n) != 0)))
			continue;
		if (found != NULL)
			return -1;
		found = &m->via.map.ptr[i].val;
	}
	if (found == NULL)
		return 1;
	*v = found;
	return 0;
}

/*
 * A key's hash: its length and first eight bytes in one multiply (field
 * names are short), the rest folded in byte by byte.
 */
static uint32_t
mp_hash(const char *p, size_t n)
{
	uint64_t v = n;
	size_t i;

	for (i = 0; i < n && i < 8; i++)
		v |= (uint64_t)(unsigned char)p[i] << (8 * i);
	v ^= (uint64_t)n << 59;
	for (; i < n; i++)
		v = (v ^ (unsigned char)p[i]) * 0x100000001b3ULL;
	v *= 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(v >> 32);
}

int
mp_index_build(struct mp_index *ix, const msgpack_object *m)
{
	uint32_t i;

	if (m == NULL || m->type != MSGPACK_OBJECT_MAP || m->via.map.size > MP_INDEX_KEYS)
		return -1;
	memset(ix->slot, 0, sizeof(ix->slot));
	memset(ix->dup, 0, sizeof(ix->dup));
	ix->map = m;
	ix->next = 0;
	for (i = 0; i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;
		uint32_t h, s;

		if (key->type != MSGPACK_OBJECT_STR)
			continue; /* never found by a string lookup */
		h = mp_hash(key->via.str.ptr, key->via.str.size);
		/* linear probing; at most half the slots are used, so this ends */
		for (s = h & (MP_INDEX_SLOTS - 1); ix->slot[s].used;
		     s = (s + 1) & (MP_INDEX_SLOTS - 1)) {
			const msgpack_object *o = &m->via.map.ptr[ix->slot[s].entry].key;

			if (ix->slot[s].hash == h && o->via.str.size == key->via.str.size &&
			    (key->via.str.size == 0 ||
			     memcmp(o->via.str.ptr, key->via.str.ptr, key->via.str.size) == 0)) {
				/* every occurrence is marked: a hint may land on any */
				ix->dup[ix->slot[s].entry] = 1;
				ix->dup[i] = 1;
				break;
			}
		}
		if (!ix->slot[s].used) {
			ix->slot[s].used = 1;
			ix->slot[s].hash = h;
			ix->slot[s].entry = (uint16_t)i;
		}
	}
	return 0;
}

int
mp_index_get(struct mp_index *ix, const char *k, const msgpack_object **v)
{
	size_t n = strlen(k);
	uint32_t h, s, e = ix->next;

	*v = NULL;
	/* the hint: the entry after the last one found */
	if (e < ix->map->via.map.size) {
		const msgpack_object *key = &ix->map->via.map.ptr[e].key;

		if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == n &&
		    (n == 0 || memcmp(key->via.str.ptr, k, n) == 0)) {
			if (ix->dup[e])
				return -1;
			ix->next = e + 1;
			*v = &ix->map->via.map.ptr[e].val;
			return 0;
		}
	}
	h = mp_hash(k, n);
	for (s = h & (MP_INDEX_SLOTS - 1); ix->slot[s].used; s = (s + 1) & (MP_INDEX_SLOTS - 1)) {
		const msgpack_object *key;

		e = ix->slot[s].entry;
		key = &ix->map->via.map.ptr[e].key;
		if (ix->slot[s].hash != h || key->via.str.size != n ||
		    (n > 0 && memcmp(key->via.str.ptr, k, n) != 0))
			continue;
		if (ix->dup[e])
			return -1;
		ix->next = e + 1;
		*v = &ix->map->via.map.ptr[e].val;
		return 0;
	}
	return 1;
}

int
mp_get_u64(const msgpack_object *m, const char *k, uint64_t *v)
{
	const msgpack_object *o;
	int rc;

	if ((rc = mp_get_unique(m, k, &o)) != 0)
		return rc;
	/* msgpack-c gives non-negative values the positive type, whatever the encoding */
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return -1;
	*v = o->via.u64;
	return 0;
}

int
mp_get_i64(const msgpack_object *m, const char *k, int64_t *v)
{
	const msgpack_object *o;
	int rc;

	if ((rc = mp_get_unique(m, k, &o)) != 0)
		return rc;
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		*v = o->via.i64;
		return 0;
	}
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > INT64_MAX)
		return -1;
	*v = (int64_t)o->via.u64;
	return 0;
}

/* Copies str o into out[len]: it must fit with its NUL and contain no NUL. */
int
mp_str_copy(const msgpack_object *o, char *out, size_t len)
{
	size_t n;

	if (o == NULL || o->type != MSGPACK_OBJECT_STR || len == 0)
		return -1;
	n = o->via.str.size;
	if (n >= len || (n > 0 && memchr(o->via.str.ptr, '\0', n) != NULL))
		return -1;
	if (n > 0)
		memcpy(out, o->via.str.ptr, n);
	out[n] = '\0';
	return 0;
}

int
mp_get_str(const msgpack_object *m, const char *k, char *out, size_t len)
{
	const msgpack_object *o;
	int rc;

	if ((rc = mp_get_unique(m, k, &o)) != 0)
		return rc;
	return mp_str_copy(o, out, len);
}
