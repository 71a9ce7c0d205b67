/*
 * fuzz_text.c: the one text rule and its cleaners (common/text.h) on any
 * bytes.  Checked with a decoder written here, independently of text.c:
 * every output is well-formed UTF-8 with no C0 or C1 control, DEL, bidi,
 * zero-width or separator character; text_clean's output is never longer
 * than the input and equals it when text_valid() says the input is valid;
 * the cell and buffer cleaners keep their bounds and add "..." exactly when
 * they cut.  The JSON writer, fed the same bytes, leaves none of those
 * characters raw either.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "json.h"
#include "text.h"

/* Length of the UTF-8 character at p with its code point, or 0 (invalid). */
static size_t
ft_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	size_t len, i;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, *cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, *cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, *cp = p[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && *cp < 0x800) || (len == 4 && (*cp < 0x10000 || *cp > 0x10ffff)) ||
	    (*cp >= 0xd800 && *cp <= 0xdfff))
		return 0;
	return len;
}

/* What a terminal or browser must never be handed. */
static int
ft_refused(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x61c ||
	       (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
}

/* Every character of out[0..n) is valid and shown; allow: extra bytes allowed raw. */
static void
ft_clean_out(const char *out, size_t n, const char *allow)
{
	const unsigned char *p = (const unsigned char *)out;
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		if (allow != NULL && p[i] != '\0' && strchr(allow, p[i]) != NULL) {
			i++;
			continue;
		}
		len = ft_decode(p + i, n - i, &cp);
		if (len == 0)
			FUZZ_FAIL("invalid UTF-8 at %zu of %zu", i, n);
		if (ft_refused(cp))
			FUZZ_FAIL("U+%04X left at %zu of %zu", (unsigned)cp, i, n);
		i += len;
	}
}

/* 1 when every character of in[0..n) is acceptable, by ft_decode(). */
static int
ft_valid(const unsigned char *in, size_t n)
{
	size_t i = 0, len;
	uint32_t cp;

	while (i < n) {
		if ((len = ft_decode(in + i, n - i, &cp)) == 0 || ft_refused(cp))
			return 0;
		i += len;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t outlen = size + 1, k, max;
	char *out = malloc(outlen), cell[24];
	struct buf b;
	struct json j;
	int cut;

	if (out == NULL)
		abort();
	FUZZ_CHECK(text_valid(s, size) == ft_valid(data, size));
	FUZZ_CHECK((text_refusal(s, size) == NULL) == ft_valid(data, size));

	k = text_clean(out, outlen, s, size);
	FUZZ_CHECK(k <= size && out[k] == '\0');
	ft_clean_out(out, k, NULL);
	if (ft_valid(data, size))
		FUZZ_CHECK(k == size && memcmp(out, s, size) == 0);

	cut = text_clean_cell(cell, sizeof(cell), s, size);
	k = strlen(cell);
	FUZZ_CHECK(k < sizeof(cell));
	FUZZ_CHECK(!cut || (k >= 3 && memcmp(cell + k - 3, "...", 3) == 0));
	ft_clean_out(cell, cut ? k - 3 : k, NULL);

	max = size > 0 ? data[0] % 64 : 0;
	buf_init(&b, 1 << 20);
	cut = text_clean_buf(&b, s, size, max);
	FUZZ_CHECK(!b.failed && b.len <= max + 3);
	FUZZ_CHECK(!cut || (b.len >= 3 && memcmp(b.data + b.len - 3, "...", 3) == 0));
	ft_clean_out(b.data, cut ? b.len - 3 : b.len, NULL);
	if (!cut)
		FUZZ_CHECK(b.len <= size);

	buf_reset(&b);
	json_init(&j, &b, 0);
	json_strn(&j, s, size);
	FUZZ_CHECK(!buf_failed(&b));
	ft_clean_out(b.data, b.len, NULL);
	buf_free(&b);
	free(out);
	return 0;
}
