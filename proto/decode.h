/*
 * decode.h: what decode.c and decode_snapshot.c share (private to proto/).
 */
#ifndef IPCFLEET_DECODE_H
#define IPCFLEET_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "mpread.h"
#include "proto.h"

/* Formats err (when not NULL); always returns -1. */
int dec_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The checks of one value; where + k names the field in errors
 * ("snapshot: objects[3]." "nsems").  0, or -1 with err.
 */
/* An unsigned integer in [0, max]. */
int dec_uint_v(const struct mpr_val *o, const char *where, const char *k, uint64_t max, uint64_t *v,
               char *err, size_t errlen);
int dec_u32_v(const struct mpr_val *o, const char *where, const char *k, uint32_t *v, char *err,
              size_t errlen);
/* A signed integer that fits int64_t. */
int dec_i64_v(const struct mpr_val *o, const char *where, const char *k, int64_t *v, char *err,
              size_t errlen);
/* A string passing text_refusal() (text.h) copied into out[len]: it must fit. */
int dec_str_v(const struct mpr_val *o, const char *where, const char *k, char *out, size_t len,
              char *err, size_t errlen);
/* A short string from a closed list (a name) into out[len]; -1 (no message) when it is not one. */
int dec_word_v(const struct mpr_val *o, char *out, size_t len);

/* d is a live document of message type t; what names the message in errors. */
int dec_check_type(const struct proto_doc *d, enum msg_type t, const char *what, char *err,
                   size_t errlen);

#endif
