/*
 * json.h: a streaming JSON writer over struct buf.
 *
 * Commas and nesting are tracked for the caller; strings are escaped (control
 * characters as \u00XX, invalid UTF-8 bytes replaced by U+FFFD), so untrusted
 * text can be written safely.
 */
#ifndef IPCFLEET_JSON_H
#define IPCFLEET_JSON_H

#include <stddef.h>
#include <stdint.h>
#include "buf.h"

#define JSON_MAX_DEPTH 32

struct json {
	struct buf *out;
	int depth;
	int pretty;
	unsigned char first[JSON_MAX_DEPTH]; /* 1 while no element written at depth */
	unsigned char inkey;                 /* 1 right after json_key */
};

void json_init(struct json *j, struct buf *out, int pretty);
void json_obj_begin(struct json *j);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j);
void json_arr_end(struct json *j);
void json_key(struct json *j, const char *k);
/* A key of n bytes that may contain any bytes (escaped like a string). */
void json_keyn(struct json *j, const char *k, size_t n);
void json_str(struct json *j, const char *s);
void json_strn(struct json *j, const char *s, size_t n);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
/* Shortest representation that reads back the same; NaN/inf as null. */
void json_double(struct json *j, double v);
/* The same for a float32: the shortest form that reads back as that float. */
void json_float(struct json *j, float v);
/* Fixed decimals, e.g. pct with 1. */
void json_fixed(struct json *j, double v, int decimals);
void json_bool(struct json *j, int v);
void json_null(struct json *j);
/* RFC 3339 string, or null when t == 0. */
void json_time(struct json *j, int64_t t);

#endif
