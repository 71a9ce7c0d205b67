/*
 * fuzz_json.c: msgpack to JSON (mp_to_json, common/view.h) on whatever
 * msgpack-c makes of the input, which, as in the real code, first passes
 * frame_validate() (the input is one payload, without a frame header).
 *
 * The JSON written, compact and pretty, is then read back by a strict
 * checker that walks it beside the msgpack object: the syntax must be
 * RFC 8259's, raw bytes valid UTF-8, containers of the same sizes, integers
 * equal, floats read back to the same value (or null when not finite), and
 * any string that was valid UTF-8 must come back byte for byte.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "buf.h"
#include "fuzz.h"
#include "proto.h"
#include "view.h"

/* Deeper than anything frame_validate() lets through. */
#define FJ_MAX_DEPTH 64

struct fj {
	const char *p; /* the JSON text, n bytes */
	size_t n, pos;
	char *scratch; /* n bytes: a decoded string is never longer than its JSON */
};

/*
 * Length of the well-formed UTF-8 sequence at p (n bytes left), or 0.
 * Written here independently of json.c, which it checks.
 */
static size_t
fj_utf8(const unsigned char *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (n == 0)
		return 0;
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int
fj_utf8_valid(const char *s, size_t n)
{
	size_t i = 0, l;

	while (i < n) {
		if ((l = fj_utf8((const unsigned char *)s + i, n - i)) == 0)
			return 0;
		i += l;
	}
	return 1;
}

static void
fj_ws(struct fj *j)
{
	while (j->pos < j->n && (j->p[j->pos] == ' ' || j->p[j->pos] == '\t' ||
	                         j->p[j->pos] == '\n' || j->p[j->pos] == '\r'))
		j->pos++;
}

static void
fj_expect(struct fj *j, char c)
{
	fj_ws(j);
	if (j->pos >= j->n || j->p[j->pos] != c)
		FUZZ_FAIL("JSON: expected '%c' at offset %zu", c, j->pos);
	j->pos++;
}

static void
fj_word(struct fj *j, const char *w)
{
	size_t n = strlen(w);

	fj_ws(j);
	if (j->n - j->pos < n || memcmp(j->p + j->pos, w, n) != 0)
		FUZZ_FAIL("JSON: expected %s at offset %zu", w, j->pos);
	j->pos += n;
}

static int
fj_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits after "\u". */
static uint32_t
fj_u4(struct fj *j)
{
	uint32_t v = 0;
	int i, h;

	if (j->n - j->pos < 4)
		FUZZ_FAIL("JSON: truncated \\u escape at offset %zu", j->pos);
	for (i = 0; i < 4; i++) {
		if ((h = fj_hex(j->p[j->pos + (size_t)i])) < 0)
			FUZZ_FAIL("JSON: bad \\u escape at offset %zu", j->pos);
		v = v << 4 | (uint32_t)h;
	}
	j->pos += 4;
	return v;
}

/* Appends code point cp as UTF-8. */
static size_t
fj_put(char *out, size_t o, uint32_t cp)
{
	if (cp < 0x80) {
		out[o++] = (char)cp;
	} else if (cp < 0x800) {
		out[o++] = (char)(0xc0 | cp >> 6);
		out[o++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[o++] = (char)(0xe0 | cp >> 12);
		out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[o++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[o++] = (char)(0xf0 | cp >> 18);
		out[o++] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[o++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[o++] = (char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/*
 * A JSON string, decoded into j->scratch.  Returns its length.  Escapes
 * always take at least as many bytes as what they decode to, so the
 * decoded string fits in the n bytes of scratch.
 */
static size_t
fj_string(struct fj *j)
{
	size_t o = 0, l;

	fj_expect(j, '"');
	for (;;) {
		unsigned char c;

		if (j->pos >= j->n)
			FUZZ_FAIL("JSON: unterminated string");
		c = (unsigned char)j->p[j->pos];
		if (c == '"') {
			j->pos++;
			return o;
		}
		if (c < 0x20)
			FUZZ_FAIL("JSON: raw control byte 0x%02x at offset %zu", c, j->pos);
		if (c >= 0x80) {
			l = fj_utf8((const unsigned char *)j->p + j->pos, j->n - j->pos);
			if (l == 0)
				FUZZ_FAIL("JSON: invalid UTF-8 at offset %zu", j->pos);
			memcpy(j->scratch + o, j->p + j->pos, l);
			o += l;
			j->pos += l;
			continue;
		}
		j->pos++;
		if (c != '\\') {
			j->scratch[o++] = (char)c;
			continue;
		}
		if (j->pos >= j->n)
			FUZZ_FAIL("JSON: truncated escape");
		c = (unsigned char)j->p[j->pos++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			j->scratch[o++] = (char)c;
			break;
		case 'b':
			j->scratch[o++] = '\b';
			break;
		case 'f':
			j->scratch[o++] = '\f';
			break;
		case 'n':
			j->scratch[o++] = '\n';
			break;
		case 'r':
			j->scratch[o++] = '\r';
			break;
		case 't':
			j->scratch[o++] = '\t';
			break;
		case 'u': {
			uint32_t cp = fj_u4(j), lo;

			if (cp >= 0xdc00 && cp <= 0xdfff)
				FUZZ_FAIL("JSON: lone low surrogate at offset %zu", j->pos);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->n - j->pos < 2 || j->p[j->pos] != '\\' ||
				    j->p[j->pos + 1] != 'u')
					FUZZ_FAIL("JSON: lone high surrogate at offset %zu",
					          j->pos);
				j->pos += 2;
				lo = fj_u4(j);
				if (lo < 0xdc00 || lo > 0xdfff)
					FUZZ_FAIL("JSON: bad surrogate pair at offset %zu", j->pos);
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			o = fj_put(j->scratch, o, cp);
			break;
		}
		default:
			FUZZ_FAIL("JSON: bad escape \\%c at offset %zu", c, j->pos);
		}
	}
}

/* A msgpack str o, written as a JSON string: same bytes when valid UTF-8. */
static void
fj_str(struct fj *j, const char *s, size_t n)
{
	size_t got = fj_string(j);

	if (fj_utf8_valid(s, n) && (got != n || (n > 0 && memcmp(j->scratch, s, n) != 0)))
		FUZZ_FAIL("JSON: a valid UTF-8 string of %zu bytes came back as %zu other bytes", n,
		          got);
}

/* A JSON number token (RFC 8259 grammar) into tok (NUL-terminated). */
static void
fj_number(struct fj *j, char *tok, size_t toklen)
{
	size_t start, i = 0;

	fj_ws(j);
	start = j->pos;
#define FJ_AT(c) (j->pos < j->n && j->p[j->pos] == (c))
#define FJ_DIGIT (j->pos < j->n && j->p[j->pos] >= '0' && j->p[j->pos] <= '9')
	if (FJ_AT('-'))
		j->pos++;
	if (FJ_AT('0')) {
		j->pos++;
	} else if (FJ_DIGIT) {
		while (FJ_DIGIT)
			j->pos++;
	} else {
		FUZZ_FAIL("JSON: expected a number at offset %zu", start);
	}
	if (FJ_AT('.')) {
		j->pos++;
		if (!FJ_DIGIT)
			FUZZ_FAIL("JSON: no digit after '.' at offset %zu", j->pos);
		while (FJ_DIGIT)
			j->pos++;
	}
	if (FJ_AT('e') || FJ_AT('E')) {
		j->pos++;
		if (FJ_AT('+') || FJ_AT('-'))
			j->pos++;
		if (!FJ_DIGIT)
			FUZZ_FAIL("JSON: no digit in exponent at offset %zu", j->pos);
		while (FJ_DIGIT)
			j->pos++;
	}
#undef FJ_AT
#undef FJ_DIGIT
	if (j->pos - start >= toklen)
		FUZZ_FAIL("JSON: number of %zu characters", j->pos - start);
	for (i = 0; start + i < j->pos; i++)
		tok[i] = j->p[start + i];
	tok[i] = '\0';
}

/*
 * The JSON text of o.  A non-string key and a bin's base64 are checked for
 * syntax only.
 */
static void
fj_value(struct fj *j, const msgpack_object *o, int depth)
{
	char tok[400];
	uint32_t i;

	if (depth > FJ_MAX_DEPTH)
		FUZZ_FAIL("JSON: nested deeper than %d", FJ_MAX_DEPTH);
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		fj_word(j, "null");
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		fj_word(j, o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		fj_number(j, tok, sizeof(tok));
		if (strchr(tok, '.') != NULL || strpbrk(tok, "eE-") != NULL ||
		    strtoull(tok, NULL, 10) != o->via.u64)
			FUZZ_FAIL("JSON: %s is not %ju", tok, (uintmax_t)o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		fj_number(j, tok, sizeof(tok));
		if (strpbrk(tok, ".eE") != NULL || strtoll(tok, NULL, 10) != o->via.i64)
			FUZZ_FAIL("JSON: %s is not %jd", tok, (intmax_t)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
		if (!isfinite(o->via.f64)) {
			fj_word(j, "null");
			break;
		}
		fj_number(j, tok, sizeof(tok));
		if (strtof(tok, NULL) != (float)o->via.f64)
			FUZZ_FAIL("JSON: %s does not read back as float %.9g", tok, o->via.f64);
		break;
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(o->via.f64)) {
			fj_word(j, "null");
			break;
		}
		fj_number(j, tok, sizeof(tok));
		if (strtod(tok, NULL) != o->via.f64)
			FUZZ_FAIL("JSON: %s does not read back as double %.17g", tok, o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		fj_str(j, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		fj_string(j);
		break;
	case MSGPACK_OBJECT_ARRAY:
		fj_expect(j, '[');
		for (i = 0; i < o->via.array.size; i++) {
			if (i > 0)
				fj_expect(j, ',');
			fj_value(j, &o->via.array.ptr[i], depth + 1);
		}
		fj_expect(j, ']');
		break;
	case MSGPACK_OBJECT_MAP:
		fj_expect(j, '{');
		for (i = 0; i < o->via.map.size; i++) {
			const msgpack_object *k = &o->via.map.ptr[i].key;

			if (i > 0)
				fj_expect(j, ',');
			if (k->type == MSGPACK_OBJECT_STR)
				fj_str(j, k->via.str.ptr, k->via.str.size);
			else
				fj_string(j);
			fj_expect(j, ':');
			fj_value(j, &o->via.map.ptr[i].val, depth + 1);
		}
		fj_expect(j, '}');
		break;
	default:
		/* ext: frame_validate() refuses it, so it cannot get here */
		FUZZ_FAIL("msgpack object of type %d after frame_validate", (int)o->type);
	}
}

static void
fj_check(const msgpack_object *o, int pretty)
{
	struct buf out;
	struct fj j;

	buf_init(&out, 64u * 1024 * 1024);
	if (mp_to_json(o, &out, pretty) == -1)
		FUZZ_FAIL("mp_to_json failed on a validated payload (pretty %d)", pretty);
	memset(&j, 0, sizeof(j));
	j.p = out.data;
	j.n = out.len;
	if ((j.scratch = malloc(j.n > 0 ? j.n : 1)) == NULL)
		FUZZ_FAIL("out of memory");
	fj_value(&j, o, 0);
	fj_ws(&j);
	if (j.pos != j.n)
		FUZZ_FAIL("JSON: %zu trailing bytes", j.n - j.pos);
	free(j.scratch);
	buf_free(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	msgpack_zone zone;
	msgpack_object root;
	const char *why;
	size_t off = 0;

	if (frame_validate(data, size, &why) == -1)
		return 0;
	if (!msgpack_zone_init(&zone, MSGPACK_ZONE_CHUNK_SIZE))
		FUZZ_FAIL("out of memory");
	if (msgpack_unpack((const char *)data, size, &off, &zone, &root) != MSGPACK_UNPACK_SUCCESS)
		FUZZ_FAIL("msgpack-c refused a payload frame_validate accepted");
	FUZZ_CHECK(off == size);
	fj_check(&root, 0);
	fj_check(&root, 1);
	msgpack_zone_destroy(&zone);
	return 0;
}
