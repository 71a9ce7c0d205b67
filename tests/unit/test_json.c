/*
 * test_json.c: the JSON writer (json.c) and msgpack -> JSON (mp2json.c).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "buf.h"
#include "json.h"
#include "text.h"
#include "view.h"

#define MAX_OUT (1024 * 1024)

/* One string written alone, as JSON text. */
static void
check_strn(const char *in, size_t n, const char *want)
{
	struct buf b;
	struct json j;

	buf_init(&b, MAX_OUT);
	json_init(&j, &b, 0);
	json_strn(&j, in, n);
	assert_false(buf_failed(&b));
	assert_string_equal(buf_cstr(&b), want);
	buf_free(&b);
}

static void
check_str(const char *in, const char *want)
{
	check_strn(in, strlen(in), want);
}

static void
test_escape_ascii(void **state)
{
	(void)state;
	check_str("plain", "\"plain\"");
	check_str("", "\"\"");
	check_str("a\"b\\c", "\"a\\\"b\\\\c\"");
	check_str("\x01", "\"\\u0001\"");
	check_str("\x1f\x1b", "\"\\u001f\\u001b\"");
	check_str("\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\"");
	/* JSON allows DEL raw, but the one rule (text.h) escapes it like every control */
	check_str("del\x7f", "\"del\\u007f\"");
	check_str("/", "\"/\"");
	check_strn("a\0b", 3, "\"a\\u0000b\"");
	check_strn(NULL, 0, "\"\"");
}

static void
test_escape_utf8(void **state)
{
	(void)state;
	/* valid 2, 3 and 4 byte sequences pass through */
	check_str("\xc3\xa9", "\"\xc3\xa9\"");
	check_str("\xe2\x82\xac", "\"\xe2\x82\xac\"");
	check_str("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
	check_str("\xef\xbf\xbf", "\"\xef\xbf\xbf\"");         /* U+FFFF */
	check_str("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
	check_str("\xed\x9f\xbf", "\"\xed\x9f\xbf\"");         /* U+D7FF */
	check_str("\xc2\xa0", "\"\xc2\xa0\"");                 /* U+00A0 */
	/* bidi, zero-width and separator characters are escaped: a terminal
	 * showing the JSON must not be made to show other text (text.h) */
	check_str("a\xe2\x80\xae"
	          "b",
	          "\"a\\u202eb\"");
	check_str("\xef\xbb\xbfx\xe2\x80\x8by", "\"\\ufeffx\\u200by\"");
	check_str("\xe2\x80\xa8\xe2\x81\xa6\xd8\x9c", "\"\\u2028\\u2066\\u061c\"");
	check_str("\xef\xbf\xb9", "\"\\ufff9\"");
	/* C1 controls are escaped: a terminal may act on U+009B (CSI) */
	check_str("\xc2\x80"
	          "a\xc2\x9b",
	          "\"\\u0080a\\u009b\"");

	/* lone bytes */
	check_str("a\xff"
	          "b",
	          "\"a\\ufffdb\"");
	check_str("\x80", "\"\\ufffd\"");
	check_str("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* overlongs: C0/C1 leads, E0 below A0, F0 below 90 */
	check_str("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	check_str("\xc1\xbf", "\"\\ufffd\\ufffd\"");
	check_str("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\"");
	check_str("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* surrogates U+D800, U+DFFF */
	check_str("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	check_str("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\"");
	/* above U+10FFFF */
	check_str("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* truncated: the valid prefix becomes one U+FFFD */
	check_str("\xe2\x82", "\"\\ufffd\"");
	check_str("\xe2\x82"
	          "A",
	          "\"\\ufffdA\"");
	check_str("\xf0\x9f\x98", "\"\\ufffd\"");
	check_str("\xf0\x9f\x98"
	          "\xc3\xa9",
	          "\"\\ufffd\xc3\xa9\"");
	check_str("\xc3", "\"\\ufffd\"");
}

static void
test_utf8_len(void **state)
{
	size_t bad;

	(void)state;
	assert_int_equal(text_utf8_len((const unsigned char *)"a", 1, &bad), 1);
	assert_int_equal(text_utf8_len((const unsigned char *)"\xc3\xa9", 2, &bad), 2);
	assert_int_equal(text_utf8_len((const unsigned char *)"\xe2\x82\xac", 3, &bad), 3);
	assert_int_equal(text_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80", 4, &bad), 4);
	/* the length limit is respected even when more bytes follow in memory */
	assert_int_equal(text_utf8_len((const unsigned char *)"\xe2\x82\xac", 2, &bad), 0);
	assert_int_equal(bad, 2);
	assert_int_equal(text_utf8_len((const unsigned char *)"\xc0\xaf", 2, &bad), 0);
	assert_int_equal(bad, 1);
	assert_int_equal(text_utf8_len((const unsigned char *)"", 0, &bad), 0);
	assert_int_equal(bad, 0);
}

static void
check_double(double v, const char *want)
{
	struct buf b;
	struct json j;

	buf_init(&b, MAX_OUT);
	json_init(&j, &b, 0);
	json_double(&j, v);
	assert_string_equal(buf_cstr(&b), want);
	buf_free(&b);
}

static void
test_doubles(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	check_double(78.2, "78.2");
	check_double(0.1, "0.1");
	check_double(1e300, "1e+300");
	check_double(25.0, "25.0"); /* integral doubles keep ".0": still a float */
	check_double(0.0, "0.0");
	check_double(10.0, "10.0"); /* not "1e+01" */
	check_double(100.0, "100.0");
	check_double(-2000.0, "-2000.0");
	check_double(1e16, "10000000000000000.0");
	check_double(1e17, "1e+17");
	check_double(18446744073709551616.0, "1.8446744073709552e+19");
	check_double(0.0001, "0.0001");
	check_double(0.00001, "1e-05");
	check_double(-0.5, "-0.5");
	check_double(1.0 / 3.0, "0.3333333333333333");
	check_double(5e-324, "5e-324");
	check_double(123456789012345678.0, "1.2345678901234568e+17");
	check_double(NAN, "null");
	check_double(INFINITY, "null");
	check_double(-INFINITY, "null");

	buf_init(&b, MAX_OUT);
	json_init(&j, &b, 0);
	json_arr_begin(&j);
	json_float(&j, 0.1f);
	json_float(&j, 16777216.0f);
	json_float(&j, 1e8f);
	json_float(&j, NAN);
	json_fixed(&j, 78.24, 1);
	json_fixed(&j, 25.0, 1);
	json_fixed(&j, 2.5, 0);
	json_fixed(&j, NAN, 1);
	json_fixed(&j, 1.0, 99); /* clamped to 17 decimals */
	json_arr_end(&j);
	assert_string_equal(
	    buf_cstr(&b), "[0.1,16777216.0,100000000.0,null,78.2,25.0,2,null,1.00000000000000000]");
	buf_free(&b);
}

static void
test_integers_bools_time(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	buf_init(&b, MAX_OUT);
	json_init(&j, &b, 0);
	json_arr_begin(&j);
	json_u64(&j, UINT64_MAX);
	json_u64(&j, 0);
	json_i64(&j, INT64_MIN);
	json_i64(&j, -1);
	json_bool(&j, 1);
	json_bool(&j, 0);
	json_null(&j);
	json_time(&j, 0);
	json_time(&j, 1795701600);
	json_arr_end(&j);
	assert_false(buf_failed(&b));
	assert_string_equal(buf_cstr(&b), "[18446744073709551615,0,-9223372036854775808,-1,"
	                                  "true,false,null,null,\"2026-11-26T14:00:00Z\"]");
	buf_free(&b);
}

/* {"a":1,"b":[true,null,"x"],"c":{},"d":[],"e":{"f":{"g":-2}}} */
static void
write_nested(struct json *j)
{
	json_obj_begin(j);
	json_key(j, "a");
	json_u64(j, 1);
	json_key(j, "b");
	json_arr_begin(j);
	json_bool(j, 1);
	json_null(j);
	json_str(j, "x");
	json_arr_end(j);
	json_key(j, "c");
	json_obj_begin(j);
	json_obj_end(j);
	json_key(j, "d");
	json_arr_begin(j);
	json_arr_end(j);
	json_key(j, "e");
	json_obj_begin(j);
	json_key(j, "f");
	json_obj_begin(j);
	json_key(j, "g");
	json_i64(j, -2);
	json_obj_end(j);
	json_obj_end(j);
	json_obj_end(j);
}

static void
test_nested(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	buf_init(&b, MAX_OUT);
	json_init(&j, &b, 0);
	write_nested(&j);
	assert_false(buf_failed(&b));
	assert_int_equal(j.depth, 0);
	assert_string_equal(buf_cstr(&b), "{\"a\":1,\"b\":[true,null,\"x\"],\"c\":{},\"d\":[],"
	                                  "\"e\":{\"f\":{\"g\":-2}}}");

	buf_reset(&b);
	json_init(&j, &b, 1);
	write_nested(&j);
	assert_false(buf_failed(&b));
	assert_string_equal(buf_cstr(&b), "{\n"
	                                  "  \"a\": 1,\n"
	                                  "  \"b\": [\n"
	                                  "    true,\n"
	                                  "    null,\n"
	                                  "    \"x\"\n"
	                                  "  ],\n"
	                                  "  \"c\": {},\n"
	                                  "  \"d\": [],\n"
	                                  "  \"e\": {\n"
	                                  "    \"f\": {\n"
	                                  "      \"g\": -2\n"
	                                  "    }\n"
	                                  "  }\n"
	                                  "}");
	buf_free(&b);
}

static void
test_keys_escaped(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	buf_init(&b, MAX_OUT);
	json_init(&j, &b, 0);
	json_obj_begin(&j);
	json_keyn(&j, "k\"\x01\xff", 4);
	json_str(&j, "v");
	json_obj_end(&j);
	assert_string_equal(buf_cstr(&b), "{\"k\\\"\\u0001\\ufffd\":\"v\"}");
	buf_free(&b);
}

static void
test_depth(void **state)
{
	struct buf b;
	struct json j;
	char want[2 * JSON_MAX_DEPTH + 1];
	int i;

	(void)state;
	/* exactly JSON_MAX_DEPTH levels is fine */
	buf_init(&b, MAX_OUT);
	json_init(&j, &b, 0);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_begin(&j);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr_end(&j);
	assert_false(buf_failed(&b));
	memset(want, '[', JSON_MAX_DEPTH);
	memset(want + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
	want[2 * JSON_MAX_DEPTH] = '\0';
	assert_string_equal(buf_cstr(&b), want);

	/* one more fails cleanly, and so do values and ends past it */
	buf_reset(&b);
	json_init(&j, &b, 1);
	for (i = 0; i < JSON_MAX_DEPTH + 10; i++)
		json_obj_begin(&j);
	assert_true(buf_failed(&b));
	json_key(&j, "k");
	json_u64(&j, 1);
	for (i = 0; i < JSON_MAX_DEPTH + 10; i++)
		json_obj_end(&j);
	assert_int_equal(j.depth, 0);
	assert_true(buf_failed(&b));
	assert_null(buf_cstr(&b));

	/* an end without a begin */
	buf_reset(&b);
	json_init(&j, &b, 0);
	json_arr_end(&j);
	assert_true(buf_failed(&b));
	buf_free(&b);
}

static void
test_buf_cap(void **state)
{
	struct buf b;
	struct json j;

	(void)state;
	buf_init(&b, 8);
	json_init(&j, &b, 0);
	json_str(&j, "0123456789");
	assert_true(buf_failed(&b));
	buf_free(&b);
}

/* Packs with fn, unpacks, converts; returns the JSON in a static buffer. */
static char jsonout[65536];

static int
roundtrip(void (*fn)(msgpack_packer *), int pretty)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_zone zone;
	msgpack_object obj;
	struct buf b;
	int rc;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	fn(&pk);
	msgpack_zone_init(&zone, 4096);
	assert_int_equal(msgpack_unpack(sb.data, sb.size, NULL, &zone, &obj),
	                 MSGPACK_UNPACK_SUCCESS);
	buf_init(&b, MAX_OUT);
	rc = mp_to_json(&obj, &b, pretty);
	jsonout[0] = '\0';
	if (rc == 0)
		snprintf(jsonout, sizeof(jsonout), "%s", buf_cstr(&b));
	buf_free(&b);
	msgpack_zone_destroy(&zone);
	msgpack_sbuffer_destroy(&sb);
	return rc;
}

static void
pack_cstr(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void
pack_mixed(msgpack_packer *pk)
{
	static const char bin[] = {0x00, 0x01, 0x02, (char)0xff, (char)0xfe};

	msgpack_pack_map(pk, 9);
	pack_cstr(pk, "u");
	msgpack_pack_uint64(pk, UINT64_MAX);
	pack_cstr(pk, "i");
	msgpack_pack_int64(pk, -42);
	pack_cstr(pk, "f64");
	msgpack_pack_double(pk, 78.2);
	pack_cstr(pk, "f32");
	msgpack_pack_float(pk, 0.1f);
	pack_cstr(pk, "s");
	msgpack_pack_str(pk, 4);
	msgpack_pack_str_body(pk, "a\0\x1b\xff", 4);
	pack_cstr(pk, "bin");
	msgpack_pack_bin(pk, sizeof(bin));
	msgpack_pack_bin_body(pk, bin, sizeof(bin));
	msgpack_pack_int(pk, 7); /* a non-string key */
	msgpack_pack_array(pk, 3);
	msgpack_pack_nil(pk);
	msgpack_pack_true(pk);
	msgpack_pack_false(pk);
	pack_cstr(pk, "");
	msgpack_pack_str(pk, 0);
	msgpack_pack_nil(pk); /* a nil key */
	msgpack_pack_bin(pk, 2);
	msgpack_pack_bin_body(pk, "ab", 2);
}

static void
test_mp_to_json(void **state)
{
	(void)state;
	assert_int_equal(roundtrip(pack_mixed, 0), 0);
	assert_string_equal(jsonout, "{\"u\":18446744073709551615,\"i\":-42,\"f64\":78.2,"
	                             "\"f32\":0.1,\"s\":\"a\\u0000\\u001b\\ufffd\","
	                             "\"bin\":\"AAEC//4=\",\"7\":[null,true,false],\"\":\"\","
	                             "\"null\":\"YWI=\"}");
	assert_int_equal(roundtrip(pack_mixed, 1), 0);
	assert_string_equal(jsonout, "{\n"
	                             "  \"u\": 18446744073709551615,\n"
	                             "  \"i\": -42,\n"
	                             "  \"f64\": 78.2,\n"
	                             "  \"f32\": 0.1,\n"
	                             "  \"s\": \"a\\u0000\\u001b\\ufffd\",\n"
	                             "  \"bin\": \"AAEC//4=\",\n"
	                             "  \"7\": [\n"
	                             "    null,\n"
	                             "    true,\n"
	                             "    false\n"
	                             "  ],\n"
	                             "  \"\": \"\",\n"
	                             "  \"null\": \"YWI=\"\n"
	                             "}");
}

static void
pack_map_key(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 1);
	msgpack_pack_array(pk, 2);
	msgpack_pack_int(pk, 1);
	pack_cstr(pk, "x\"");
	msgpack_pack_uint8(pk, 3);
}

static void
pack_ext(msgpack_packer *pk)
{
	msgpack_pack_array(pk, 2);
	msgpack_pack_ext(pk, 3, 5);
	msgpack_pack_ext_body(pk, "abc", 3);
	msgpack_pack_float(pk, 16777216.0f);
}

static void
test_mp_ext(void **state)
{
	(void)state;
	assert_int_equal(roundtrip(pack_ext, 0), 0);
	assert_string_equal(jsonout, "[{\"ext\":5,\"data\":\"YWJj\"},16777216.0]");
}

static void
test_mp_container_key(void **state)
{
	(void)state;
	assert_int_equal(roundtrip(pack_map_key, 0), 0);
	assert_string_equal(jsonout, "{\"[1,\\\"x\\\\\\\"\\\"]\":3}");
}

/* Builds a chain of n nested one-element arrays by hand (msgpack_unpack has
 * its own nesting limit, so a hostile tree is made directly). */
static int
nested_arrays(int n, char *out, size_t outlen)
{
	msgpack_object *v;
	struct buf b;
	int i, rc;

	v = calloc((size_t)n + 1, sizeof(*v));
	assert_non_null(v);
	v[n].type = MSGPACK_OBJECT_POSITIVE_INTEGER;
	v[n].via.u64 = 5;
	for (i = n - 1; i >= 0; i--) {
		v[i].type = MSGPACK_OBJECT_ARRAY;
		v[i].via.array.size = 1;
		v[i].via.array.ptr = &v[i + 1];
	}
	buf_init(&b, MAX_OUT);
	rc = mp_to_json(&v[0], &b, 0);
	if (rc == 0)
		snprintf(out, outlen, "%s", buf_cstr(&b));
	buf_free(&b);
	free(v);
	return rc;
}

static void
test_mp_depth(void **state)
{
	char out[256], want[256];
	int i;

	(void)state;
	assert_int_equal(nested_arrays(JSON_MAX_DEPTH, out, sizeof(out)), 0);
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		want[i] = '[';
	want[i] = '5';
	for (i = 0; i < JSON_MAX_DEPTH; i++)
		want[JSON_MAX_DEPTH + 1 + i] = ']';
	want[2 * JSON_MAX_DEPTH + 1] = '\0';
	assert_string_equal(out, want);
	assert_int_equal(nested_arrays(JSON_MAX_DEPTH + 1, out, sizeof(out)), -1);
	assert_int_equal(nested_arrays(100000, out, sizeof(out)), -1);
}

static void
test_mp_buf_cap(void **state)
{
	msgpack_object o;
	struct buf b;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.type = MSGPACK_OBJECT_STR;
	o.via.str.ptr = "0123456789";
	o.via.str.size = 10;
	buf_init(&b, 8);
	assert_int_equal(mp_to_json(&o, &b, 0), -1);
	buf_free(&b);
	o.type = MSGPACK_OBJECT_BIN;
	o.via.bin.ptr = "0123456789";
	o.via.bin.size = 10;
	buf_init(&b, 8);
	assert_int_equal(mp_to_json(&o, &b, 0), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape_ascii),
	    cmocka_unit_test(test_escape_utf8),
	    cmocka_unit_test(test_utf8_len),
	    cmocka_unit_test(test_doubles),
	    cmocka_unit_test(test_integers_bools_time),
	    cmocka_unit_test(test_nested),
	    cmocka_unit_test(test_keys_escaped),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_buf_cap),
	    cmocka_unit_test(test_mp_to_json),
	    cmocka_unit_test(test_mp_container_key),
	    cmocka_unit_test(test_mp_ext),
	    cmocka_unit_test(test_mp_depth),
	    cmocka_unit_test(test_mp_buf_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
