/*
 * fixture_doc.c: msgpack reply bodies for the renderers' unit tests
 * (fixture_doc.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fixture_doc.h"

msgpack_packer *
doc_begin(struct doc *d)
{
	msgpack_sbuffer_init(&d->sb);
	msgpack_packer_init(&d->pk, &d->sb, msgpack_sbuffer_write);
	return &d->pk;
}

const msgpack_object *
doc_end(struct doc *d)
{
	msgpack_zone_init(&d->zone, 4096);
	assert_int_equal(msgpack_unpack(d->sb.data, d->sb.size, NULL, &d->zone, &d->obj),
	                 MSGPACK_UNPACK_SUCCESS);
	return &d->obj;
}

void
doc_free(struct doc *d)
{
	msgpack_zone_destroy(&d->zone);
	msgpack_sbuffer_destroy(&d->sb);
}

void
s(msgpack_packer *pk, const char *v)
{
	msgpack_pack_str(pk, strlen(v));
	msgpack_pack_str_body(pk, v, strlen(v));
}

void
ks(msgpack_packer *pk, const char *k, const char *v)
{
	s(pk, k);
	s(pk, v);
}

void
ku(msgpack_packer *pk, const char *k, uint64_t v)
{
	s(pk, k);
	msgpack_pack_uint64(pk, v);
}

void
kf(msgpack_packer *pk, const char *k, double v)
{
	s(pk, k);
	msgpack_pack_double(pk, v);
}

void
kb(msgpack_packer *pk, const char *k, int v)
{
	s(pk, k);
	if (v)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}
