/*
 * json.c: streaming JSON writer over struct buf (json.h).
 *
 * Strings: besides what RFC 8259 requires, the C1 controls are written as
 * \u0080..\u009f, so that JSON shown on a terminal cannot drive it.
 *
 * The writer never indexes first[] beyond JSON_MAX_DEPTH: nesting deeper
 * than that marks the buffer failed, and depth keeps counting only so that
 * the matching ends stay balanced.  Once the buffer has failed every append
 * is a no-op, so callers check buf_failed() once at the end.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "text.h"
#include "util.h"

void
json_init(struct json *j, struct buf *out, int pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty = pretty != 0;
}

static void
json_raw(struct json *j, const char *s, size_t n)
{
	buf_append(j->out, s, n);
}

static void
json_fail(struct json *j)
{
	j->out->failed = 1;
}

/* Newline and two spaces per level; depth is at most JSON_MAX_DEPTH here. */
static void
json_newline(struct json *j, int depth)
{
	int i;

	if (depth < 0 || depth > JSON_MAX_DEPTH) {
		json_fail(j);
		return;
	}
	json_raw(j, "\n", 1);
	for (i = 0; i < depth; i++)
		json_raw(j, "  ", 2);
}

/* Whatever goes before a value or a key: a comma, a newline and indent. */
static void
json_prefix(struct json *j)
{
	if (j->inkey) {
		j->inkey = 0; /* the key already wrote ':' */
		return;
	}
	if (j->depth == 0)
		return;
	if (j->depth > JSON_MAX_DEPTH) {
		json_fail(j);
		return;
	}
	if (!j->first[j->depth - 1])
		json_raw(j, ",", 1);
	j->first[j->depth - 1] = 0;
	if (j->pretty)
		json_newline(j, j->depth);
}

static void
json_open(struct json *j, char c)
{
	json_prefix(j);
	json_raw(j, &c, 1);
	if (j->depth >= JSON_MAX_DEPTH) {
		json_fail(j);
		if (j->depth < JSON_MAX_DEPTH * 2)
			j->depth++;
		return;
	}
	j->first[j->depth++] = 1;
}

static void
json_close(struct json *j, char c)
{
	int empty;

	if (j->depth <= 0 || j->inkey) {
		json_fail(j); /* an end without a begin, or a key without a value */
		j->inkey = 0;
		return;
	}
	if (j->depth > JSON_MAX_DEPTH) {
		j->depth--; /* already failed when it was opened */
		return;
	}
	empty = j->first[j->depth - 1];
	j->depth--;
	if (j->pretty && !empty)
		json_newline(j, j->depth);
	json_raw(j, &c, 1);
}

void
json_obj_begin(struct json *j)
{
	json_open(j, '{');
}

void
json_obj_end(struct json *j)
{
	json_close(j, '}');
}

void
json_arr_begin(struct json *j)
{
	json_open(j, '[');
}

void
json_arr_end(struct json *j)
{
	json_close(j, ']');
}

/* One BMP code point escaped; the usual short forms for the usual controls. */
static void
json_escape_bmp(struct json *j, uint32_t cp)
{
	char esc[8];

	switch (cp) {
	case '\n':
		json_raw(j, "\\n", 2);
		break;
	case '\t':
		json_raw(j, "\\t", 2);
		break;
	case '\r':
		json_raw(j, "\\r", 2);
		break;
	case '\b':
		json_raw(j, "\\b", 2);
		break;
	case '\f':
		json_raw(j, "\\f", 2);
		break;
	default:
		snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)(cp & 0xffff));
		json_raw(j, esc, 6);
		break;
	}
}

/*
 * A quoted string: runs of plain bytes are copied, the rest escaped.  Every
 * character text.h's rule refuses is escaped (\uXXXX, or \ufffd for bytes
 * that are not UTF-8), so JSON keeps the text exactly while a terminal that
 * shows it sees no control, bidi or zero-width character.
 */
static void
json_escaped(struct json *j, const char *s, size_t n)
{
	const unsigned char *p;
	size_t i = 0, start = 0, len, bad;

	if (n == 0)
		s = ""; /* msgpack gives NULL for an empty string */
	p = (const unsigned char *)s;
	json_raw(j, "\"", 1);
	while (i < n) {
		unsigned char c = p[i];

		if (c == '"' || c == '\\') {
			json_raw(j, s + start, i - start);
			json_raw(j, c == '"' ? "\\\"" : "\\\\", 2);
			start = ++i;
			continue;
		}
		if ((len = text_char_len(p + i, n - i, &bad)) > 0) {
			i += len;
			continue;
		}
		json_raw(j, s + start, i - start);
		if ((len = text_utf8_len(p + i, n - i, &bad)) == 0) {
			json_raw(j, "\\ufffd", 6);
			i += bad;
		} else {
			/* every refused character is in the BMP (text.h) */
			json_escape_bmp(j, text_code_point(p + i, len));
			i += len;
		}
		start = i;
	}
	json_raw(j, s + start, i - start);
	json_raw(j, "\"", 1);
}

void
json_keyn(struct json *j, const char *k, size_t n)
{
	if (j->inkey) {
		json_fail(j); /* two keys in a row */
		return;
	}
	json_prefix(j);
	json_escaped(j, k, n);
	if (j->pretty)
		json_raw(j, ": ", 2);
	else
		json_raw(j, ":", 1);
	j->inkey = 1;
}

void
json_key(struct json *j, const char *k)
{
	json_keyn(j, k, strlen(k));
}

void
json_strn(struct json *j, const char *s, size_t n)
{
	json_prefix(j);
	json_escaped(j, s, n);
}

void
json_str(struct json *j, const char *s)
{
	json_strn(j, s, strlen(s));
}

void
json_u64(struct json *j, uint64_t v)
{
	json_prefix(j);
	buf_printf(j->out, "%" PRIu64, v);
}

void
json_i64(struct json *j, int64_t v)
{
	json_prefix(j);
	buf_printf(j->out, "%" PRId64, v);
}

/* Some locales write a decimal comma; JSON wants a point. */
static void
json_number_text(struct json *j, char *t)
{
	char *c;

	if ((c = strchr(t, ',')) != NULL)
		*c = '.';
	json_raw(j, t, strlen(t));
}

/*
 * The shortest %g form (prec digits) that reads back as v, written without
 * an exponent when the integer part has fewer than 18 digits: 10 rather than
 * "1e+01".  More digits than the shortest still read back the same value.
 */
static void
json_shortest(struct json *j, char *t, size_t tlen, int prec, double v)
{
	const char *e;
	int x;

	if ((e = strchr(t, 'e')) != NULL) {
		x = atoi(e + 1);
		if (x >= 0 && x < 17 && x + 1 > prec)
			snprintf(t, tlen, "%.*g", x + 1, v);
	}
	/* a float stays recognisably a float: 25.0, not 25 (pct has one decimal) */
	if (strpbrk(t, ".e") == NULL)
		ifl_strlcat(t, ".0", tlen);
	json_number_text(j, t);
}

/*
 * The shortest text that reads back as v: a double needs at most 17
 * significant digits, a float (is_float) 9, read back at its own precision.
 */
static void
json_real(struct json *j, double v, int is_float)
{
	char t[48];
	int prec, max = is_float ? 9 : 17;

	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	json_prefix(j);
	for (prec = 1; prec <= max; prec++) {
		snprintf(t, sizeof(t), "%.*g", prec, v);
		if (is_float ? strtof(t, NULL) == (float)v : strtod(t, NULL) == v)
			break;
	}
	json_shortest(j, t, sizeof(t), prec, v);
}

void
json_double(struct json *j, double v)
{
	json_real(j, v, 0);
}

void
json_float(struct json *j, float v)
{
	json_real(j, (double)v, 1);
}

void
json_fixed(struct json *j, double v, int decimals)
{
	char *t;
	int n;

	if (!isfinite(v)) {
		json_null(j);
		return;
	}
	if (decimals < 0)
		decimals = 0;
	if (decimals > 17)
		decimals = 17;
	json_prefix(j);
	/* %f of a large double is long (up to ~330 digits): size it first. */
	if ((n = snprintf(NULL, 0, "%.*f", decimals, v)) < 0 ||
	    (t = malloc((size_t)n + 1)) == NULL) {
		json_fail(j);
		return;
	}
	snprintf(t, (size_t)n + 1, "%.*f", decimals, v);
	json_number_text(j, t);
	free(t);
}

void
json_bool(struct json *j, int v)
{
	json_prefix(j);
	if (v)
		json_raw(j, "true", 4);
	else
		json_raw(j, "false", 5);
}

void
json_null(struct json *j)
{
	json_prefix(j);
	json_raw(j, "null", 4);
}

void
json_time(struct json *j, int64_t t)
{
	char s[64];

	if (t == 0) {
		json_null(j);
		return;
	}
	json_str(j, fmt_rfc3339(t, s, sizeof(s)));
}
