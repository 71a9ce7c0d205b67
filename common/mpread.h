/*
 * mpread.h: reading documents (decoded msgpack objects) defensively.
 *
 * Every getter accepts NULL and objects of the wrong type and answers as if
 * the value were absent, so a renderer can walk a document from a remote
 * peer without checking each step.  Shared by the text views (common) and
 * the CLI's renderers.
 */
#ifndef IPCFLEET_MPREAD_H
#define IPCFLEET_MPREAD_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

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

#endif
