/*
 * mp2json.c: any msgpack object as JSON (view.h), written through json.c.
 *
 * Recursion is bounded by JSON_MAX_DEPTH nested containers, so a hostile
 * document cannot exhaust the stack; deeper input is an error.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "view.h"

static int mp2json_value(struct json *j, const msgpack_object *o, int depth);

static const char mp2json_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Binary data as a base64 (RFC 4648, padded) JSON string. */
static void
mp2json_base64(struct json *j, const unsigned char *p, size_t n)
{
	size_t outlen, i, k = 0;
	char *t;

	/* n is at most UINT32_MAX (msgpack), so this cannot overflow size_t. */
	outlen = (n + 2) / 3 * 4;
	if (outlen > j->out->max || (t = malloc(outlen + 1)) == NULL) {
		j->out->failed = 1;
		return;
	}
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		t[k++] = mp2json_b64[v >> 18 & 63];
		t[k++] = mp2json_b64[v >> 12 & 63];
		t[k++] = mp2json_b64[v >> 6 & 63];
		t[k++] = mp2json_b64[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		t[k++] = mp2json_b64[v >> 18 & 63];
		t[k++] = mp2json_b64[v >> 12 & 63];
		t[k++] = i + 1 < n ? mp2json_b64[v >> 6 & 63] : '=';
		t[k++] = '=';
	}
	json_strn(j, t, k);
	free(t);
}

/* A map key: strings as they are, anything else as its JSON text. */
static int
mp2json_key(struct json *j, const msgpack_object *k, int depth)
{
	struct json kj;
	struct buf kb;
	int rc = 0;

	if (k->type == MSGPACK_OBJECT_STR) {
		json_keyn(j, k->via.str.ptr, k->via.str.size);
		return 0;
	}
	buf_init(&kb, j->out->max);
	json_init(&kj, &kb, 0);
	if (mp2json_value(&kj, k, depth) == -1 || buf_failed(&kb)) {
		j->out->failed = 1;
		rc = -1;
	} else {
		json_keyn(j, kb.data, kb.len);
	}
	buf_free(&kb);
	return rc;
}

/* depth: containers around o. */
static int
mp2json_value(struct json *j, const msgpack_object *o, int depth)
{
	uint32_t i;

	if (buf_failed(j->out))
		return -1;
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		json_null(j);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		json_bool(j, o->via.boolean);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		json_u64(j, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		json_i64(j, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
		json_float(j, (float)o->via.f64);
		break;
	case MSGPACK_OBJECT_FLOAT64:
		json_double(j, o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		json_strn(j, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		mp2json_base64(j, (const unsigned char *)o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		/* not used by ipcfleet; kept visible rather than dropped */
		if (depth >= JSON_MAX_DEPTH)
			goto deep;
		json_obj_begin(j);
		json_key(j, "ext");
		json_i64(j, o->via.ext.type);
		json_key(j, "data");
		mp2json_base64(j, (const unsigned char *)o->via.ext.ptr, o->via.ext.size);
		json_obj_end(j);
		break;
	case MSGPACK_OBJECT_ARRAY:
		if (depth >= JSON_MAX_DEPTH)
			goto deep;
		json_arr_begin(j);
		for (i = 0; i < o->via.array.size; i++)
			if (mp2json_value(j, &o->via.array.ptr[i], depth + 1) == -1)
				return -1;
		json_arr_end(j);
		break;
	case MSGPACK_OBJECT_MAP:
		if (depth >= JSON_MAX_DEPTH)
			goto deep;
		json_obj_begin(j);
		for (i = 0; i < o->via.map.size; i++) {
			const msgpack_object_kv *kv = &o->via.map.ptr[i];

			if (mp2json_key(j, &kv->key, depth + 1) == -1 ||
			    mp2json_value(j, &kv->val, depth + 1) == -1)
				return -1;
		}
		json_obj_end(j);
		break;
	default:
		json_null(j);
		break;
	}
	return buf_failed(j->out) ? -1 : 0;
deep:
	j->out->failed = 1;
	return -1;
}

int
mp_to_json(const msgpack_object *o, struct buf *out, int pretty)
{
	struct json j;

	json_init(&j, out, pretty);
	if (mp2json_value(&j, o, 0) == -1 || buf_failed(out))
		return -1;
	return 0;
}
