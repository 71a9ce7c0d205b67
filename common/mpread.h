/*
 * mpread.h: the one msgpack reader layer, used by every decoder and renderer.
 *
 * Two ways in, one set of values:
 * - the cursor (mpr_cur) reads a payload in place, object by object, and
 *   checks each as it goes (lengths against the bytes left, nesting, object
 *   and string caps, string map keys): the wire decoders validate and decode
 *   in the same pass, without building a tree;
 * - the getters read documents (trees msgpack-c unpacked).  The defensive
 *   ones (mpr_get, mpr_u64, ...) accept NULL and objects of the wrong type and
 *   answer as if the value were absent, so a renderer can walk a document
 *   from a remote peer without checking each step; the strict ones
 *   (mpr_get_unique, mpr_get_*) tell absent from duplicated for decoders.
 * Both give a value as a struct mpr_val (mpr_val_of for a tree's object), so
 * a decoder's checks of a value are written once.
 */
#ifndef IPCFLEET_MPREAD_H
#define IPCFLEET_MPREAD_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

/* ---- values ---- */

enum mpr_kind {
	MPR_NIL,
	MPR_BOOL,  /* u: 0 or 1 */
	MPR_UINT,  /* u: any non-negative integer, whatever its encoding (as msgpack-c) */
	MPR_INT,   /* i: a negative integer */
	MPR_FLOAT, /* f */
	MPR_STR,   /* str, len: not NUL-terminated */
	MPR_BIN,   /* str, len */
	MPR_ARRAY, /* u: elements */
	MPR_MAP,   /* u: key/value pairs */
};

struct mpr_val {
	enum mpr_kind kind;
	uint32_t len;
	union {
		uint64_t u;
		int64_t i;
		double f;
	} n;
	const char *str;
	/* cursor only: offset of the object's first byte in the payload */
	size_t off;
};

/* The value of a tree's object (MPR_NIL for NULL). */
void mpr_val_of(const msgpack_object *o, struct mpr_val *v);

/* ---- the cursor ---- */

#define MPR_DEPTH_MAX 16

struct mpr_cur {
	const uint8_t *p;
	size_t n, pos;
	uint64_t nobj;
	/* limits: set by mpr_cur_init's caller */
	uint64_t max_objects;
	uint64_t max_str;
	size_t max_depth; /* at most MPR_DEPTH_MAX */
	int root_map;     /* the first object must be a map */
	/* open containers: how many objects each still holds (a map: 2 x pairs) */
	size_t depth;
	struct {
		uint64_t left;
		int is_map;
	} st[MPR_DEPTH_MAX];
	const char *why; /* why the last call refused; static */
};

/*
 * A cursor over p[0..n) with the widest limits (MPR_DEPTH_MAX, no object or
 * string cap below the bytes); the caller may tighten them before reading.
 */
void mpr_cur_init(struct mpr_cur *c, const uint8_t *p, size_t n);
/*
 * Reads the next object's header into v; a container's children are the
 * next objects read.  0, or -1 with c->why: truncated, a length or count
 * larger than the bytes left, nesting, object or string caps exceeded, a
 * map key that is not a string, ext types or the reserved byte.
 */
int mpr_next(struct mpr_cur *c, struct mpr_val *v);
/* Reads (and so checks) the children of v, just read; nothing for a scalar. */
int mpr_skip(struct mpr_cur *c, const struct mpr_val *v);
/* 0 when the first object has been read whole and filled all n bytes. */
int mpr_end(struct mpr_cur *c);
/* v is a string equal to the NUL-terminated s. */
int mpr_val_streq(const struct mpr_val *v, const char *s);

/* ---- getters over trees ---- */

/* Map lookup by string key; NULL when m is not a map or lacks the key. */
const msgpack_object *mpr_getn(const msgpack_object *m, const char *k, size_t klen);
const msgpack_object *mpr_get(const msgpack_object *m, const char *k);
/* Elements of an array / entries of a map; 0 for anything else. */
size_t mpr_arrsize(const msgpack_object *o);
size_t mpr_mapsize(const msgpack_object *o);
int mpr_is_str(const msgpack_object *o);
/* o is a string equal to s. */
int mpr_streq(const msgpack_object *o, const char *s);
/* Two strings with the same bytes (msgpack gives NULL for an empty one). */
int mpr_streq2(const msgpack_object *a, const msgpack_object *b);
/* Non-negative integer; -1 when absent or another type. */
int mpr_u64(const msgpack_object *o, uint64_t *v);
/* Any finite number as a double; -1 when absent or not a number. */
int mpr_num(const msgpack_object *o, double *v);
/* 1 when o is the boolean true. */
int mpr_true(const msgpack_object *o);

/*
 * Strict about duplicates: 0 with *v set when key k occurs exactly once in
 * map m, 1 when absent (or m is not a map), -1 when k occurs more than once.
 */
int mpr_get_unique(const msgpack_object *m, const char *k, const msgpack_object **v);
/* Type-checked lookups: 0 when present with the right type and in range,
 * -1 when mistyped, out of range or duplicated, 1 when absent. */
int mpr_get_u64(const msgpack_object *m, const char *k, uint64_t *v);
int mpr_get_i64(const msgpack_object *m, const char *k, int64_t *v);
/* Copies a string value; -1 when mistyped, too long for len, or contains NUL. */
int mpr_get_str(const msgpack_object *m, const char *k, char *out, size_t len);
/* Copies a str object into out (NUL-terminated); -1 when not a str, too long or with a NUL. */
int mpr_str_copy(const msgpack_object *o, char *out, size_t len);

#endif
