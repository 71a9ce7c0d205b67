/*
 * mpread.c: the msgpack reader layer (mpread.h): the in-place cursor and
 * the getters over unpacked documents.
 */
#include <math.h>
#include <string.h>

#include "mpread.h"

/* ---- values ---- */

void
mpr_val_of(const msgpack_object *o, struct mpr_val *v)
{
	memset(v, 0, sizeof(*v));
	if (o == NULL)
		return;
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		v->kind = MPR_BOOL;
		v->n.u = o->via.boolean != 0;
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		v->kind = MPR_UINT;
		v->n.u = o->via.u64;
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		v->kind = MPR_INT;
		v->n.i = o->via.i64;
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		v->kind = MPR_FLOAT;
		v->n.f = o->via.f64;
		break;
	case MSGPACK_OBJECT_STR:
		v->kind = MPR_STR;
		v->str = o->via.str.ptr;
		v->len = o->via.str.size;
		break;
	case MSGPACK_OBJECT_BIN:
		v->kind = MPR_BIN;
		v->str = o->via.bin.ptr;
		v->len = o->via.bin.size;
		break;
	case MSGPACK_OBJECT_ARRAY:
		v->kind = MPR_ARRAY;
		v->n.u = o->via.array.size;
		break;
	case MSGPACK_OBJECT_MAP:
		v->kind = MPR_MAP;
		v->n.u = o->via.map.size;
		break;
	default: /* ext: never produced by a validated payload */
		break;
	}
}

int
mpr_val_streq(const struct mpr_val *v, const char *s)
{
	size_t n = strlen(s);

	return v->kind == MPR_STR && v->len == n && (n == 0 || memcmp(v->str, s, n) == 0);
}

/* ---- the cursor ---- */

void
mpr_cur_init(struct mpr_cur *c, const uint8_t *p, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->n = n;
	c->max_objects = UINT64_MAX;
	c->max_str = UINT64_MAX;
	c->max_depth = MPR_DEPTH_MAX;
}

/* Big-endian reads; the caller has checked that the bytes are there. */
static uint64_t
mpr_be(const uint8_t *p, size_t w)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < w; i++)
		v = v << 8 | p[i];
	return v;
}

static int
mpr_refuse(struct mpr_cur *c, const char *why)
{
	c->why = why;
	return -1;
}

/*
 * Every object is decoded from its first byte into one of three shapes: a
 * scalar with `skip` payload bytes after its header, a str/bin of `skip`
 * bytes, or a container of `count` children.  All lengths are checked
 * against the bytes left before pos moves, so pos never passes n.  The
 * checks come in a fixed order, so that a payload is always refused for
 * the same reason.
 */
int
mpr_next(struct mpr_cur *c, struct mpr_val *v)
{
	const uint8_t *p = c->p;
	size_t n = c->n, pos = c->pos;
	size_t hdr = 1;     /* header bytes, including b */
	uint64_t skip = 0;  /* payload bytes after the header */
	uint64_t count = 0; /* children, for containers */
	int container = 0, is_map = 0, is_str = 0, is_key = 0;
	size_t left;
	uint8_t b;

	if (pos >= n)
		return mpr_refuse(c, "truncated payload");
	if (c->depth > 0) {
		/* in a map, an even number of objects left means a key comes next */
		is_key = c->st[c->depth - 1].is_map && c->st[c->depth - 1].left % 2 == 0;
		c->st[c->depth - 1].left--;
	}
	if (++c->nobj > c->max_objects)
		return mpr_refuse(c, "too many objects");
	v->off = pos;
	v->len = 0;
	v->str = NULL;
	v->n.u = 0;
	b = p[pos];
	if (b <= 0x7f) {
		v->kind = MPR_UINT;
		v->n.u = b;
	} else if (b >= 0xe0) {
		v->kind = MPR_INT;
		v->n.i = (int8_t)b;
	} else if (b <= 0x8f) {
		v->kind = MPR_MAP;
		container = is_map = 1;
		count = b & 0x0f;
	} else if (b <= 0x9f) {
		v->kind = MPR_ARRAY;
		container = 1;
		count = b & 0x0f;
	} else if (b <= 0xbf) {
		v->kind = MPR_STR;
		is_str = 1;
		skip = b & 0x1f;
	} else {
		switch (b) {
		case 0xc0:
			v->kind = MPR_NIL;
			break;
		case 0xc2: /* false */
		case 0xc3: /* true */
			v->kind = MPR_BOOL;
			v->n.u = b == 0xc3;
			break;
		case 0xc4: /* bin 8/16/32 */
		case 0xc5:
		case 0xc6:
			v->kind = MPR_BIN;
			is_str = 1;
			hdr = 1 + ((size_t)1 << (b - 0xc4));
			break;
		case 0xd9: /* str 8/16/32 */
		case 0xda:
		case 0xdb:
			v->kind = MPR_STR;
			is_str = 1;
			hdr = 1 + ((size_t)1 << (b - 0xd9));
			break;
		case 0xca: /* float 32/64 */
			v->kind = MPR_FLOAT;
			skip = 4;
			break;
		case 0xcb:
			v->kind = MPR_FLOAT;
			skip = 8;
			break;
		case 0xcc: /* uint 8..64 */
		case 0xcd:
		case 0xce:
		case 0xcf:
			v->kind = MPR_UINT;
			skip = (uint64_t)1 << (b - 0xcc);
			break;
		case 0xd0: /* int 8..64 */
		case 0xd1:
		case 0xd2:
		case 0xd3:
			v->kind = MPR_INT;
			skip = (uint64_t)1 << (b - 0xd0);
			break;
		case 0xdc: /* array 16/32 */
		case 0xdd:
			v->kind = MPR_ARRAY;
			container = 1;
			hdr = b == 0xdc ? 3 : 5;
			break;
		case 0xde: /* map 16/32 */
		case 0xdf:
			v->kind = MPR_MAP;
			container = is_map = 1;
			hdr = b == 0xde ? 3 : 5;
			break;
		case 0xc1:
			return mpr_refuse(c, "reserved msgpack byte 0xc1");
		default: /* 0xc7-0xc9 ext, 0xd4-0xd8 fixext */
			return mpr_refuse(c, "msgpack ext types are not used by this protocol");
		}
	}
	if (n - pos < hdr)
		return mpr_refuse(c, "truncated payload");
	if (hdr > 1) {
		/* the length or count that follows b */
		if (is_str)
			skip = mpr_be(p + pos + 1, hdr - 1);
		else
			count = mpr_be(p + pos + 1, hdr - 1);
	}
	pos += hdr;
	left = n - pos;
	if (c->root_map && c->nobj == 1 && !is_map)
		return mpr_refuse(c, "payload is not a map");
	if (is_key && (!is_str || v->kind == MPR_BIN))
		return mpr_refuse(c, "map key is not a string");
	if (is_str && skip > c->max_str)
		return mpr_refuse(c, "string too long");
	if (skip > left)
		return mpr_refuse(c, "length larger than the bytes left");
	if (is_str) {
		v->str = (const char *)p + pos;
		v->len = (uint32_t)skip;
	} else if (skip > 0) {
		uint64_t raw = mpr_be(p + pos, (size_t)skip);

		if (v->kind == MPR_FLOAT) {
			if (skip == 4) {
				uint32_t r32 = (uint32_t)raw;
				float f;

				memcpy(&f, &r32, sizeof(f));
				v->n.f = f;
			} else
				memcpy(&v->n.f, &raw, sizeof(v->n.f));
		} else if (v->kind == MPR_INT) {
			/* sign-extend; a non-negative value is MPR_UINT, as msgpack-c has it */
			int64_t i = skip == 1   ? (int8_t)raw
			            : skip == 2 ? (int16_t)raw
			            : skip == 4 ? (int32_t)raw
			                        : (int64_t)raw;

			if (i >= 0) {
				v->kind = MPR_UINT;
				v->n.u = (uint64_t)i;
			} else
				v->n.i = i;
		} else
			v->n.u = raw;
	}
	pos += (size_t)skip;
	c->pos = pos;
	if (container) {
		v->n.u = count;
		/* each child takes at least one byte, so a map pair two */
		if (is_map)
			count *= 2;
		if (count > left)
			return mpr_refuse(c, "element count larger than the bytes left");
		if (c->depth >= c->max_depth)
			return mpr_refuse(c, "nesting too deep");
		if (count > 0) {
			c->st[c->depth].left = count;
			c->st[c->depth].is_map = is_map;
			c->depth++;
			return 0; /* its children are next: nothing closes yet */
		}
	}
	/* close every container whose last child this was */
	while (c->depth > 0 && c->st[c->depth - 1].left == 0)
		c->depth--;
	return 0;
}

int
mpr_skip(struct mpr_cur *c, const struct mpr_val *v)
{
	struct mpr_val child;
	size_t level;

	if ((v->kind != MPR_ARRAY && v->kind != MPR_MAP) || v->n.u == 0)
		return 0;
	/* v's own level is the innermost open one: it has children left */
	level = c->depth - 1;
	while (c->depth > level)
		if (mpr_next(c, &child) == -1)
			return -1;
	return 0;
}

int
mpr_end(struct mpr_cur *c)
{
	if (c->nobj == 0 || c->depth > 0)
		return mpr_refuse(c, "truncated payload");
	if (c->pos != c->n)
		return mpr_refuse(c, "trailing bytes after the map");
	return 0;
}

/* ---- getters over trees ---- */

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

int
mpr_get_unique(const msgpack_object *m, const char *k, const msgpack_object **v)
{
	const msgpack_object *found = NULL;
	size_t n = strlen(k);
	uint32_t i;

	*v = NULL;
	if (m == NULL || m->type != MSGPACK_OBJECT_MAP)
		return 1;
	for (i = 0; i < m->via.map.size; i++) {
		const msgpack_object *key = &m->via.map.ptr[i].key;

		if (key->type != MSGPACK_OBJECT_STR || key->via.str.size != n ||
		    (n > 0 && memcmp(key->via.str.ptr, k, n) != 0))
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

int
mpr_get_u64(const msgpack_object *m, const char *k, uint64_t *v)
{
	const msgpack_object *o;
	int rc;

	if ((rc = mpr_get_unique(m, k, &o)) != 0)
		return rc;
	/* msgpack-c gives non-negative values the positive type, whatever the encoding */
	return mpr_u64(o, v);
}

int
mpr_get_i64(const msgpack_object *m, const char *k, int64_t *v)
{
	const msgpack_object *o;
	int rc;

	if ((rc = mpr_get_unique(m, k, &o)) != 0)
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

int
mpr_str_copy(const msgpack_object *o, char *out, size_t len)
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
mpr_get_str(const msgpack_object *m, const char *k, char *out, size_t len)
{
	const msgpack_object *o;
	int rc;

	if ((rc = mpr_get_unique(m, k, &o)) != 0)
		return rc;
	return mpr_str_copy(o, out, len);
}
