/*
 * text.c: the one rule for text from peers (text.h), and the cleaners every
 * renderer and the log use, so that what one shows as '?' no other passes.
 */
#include <string.h>

#include "buf.h"
#include "text.h"

size_t
text_utf8_len(const unsigned char *p, size_t n, size_t *bad)
{
	unsigned char c, lo = 0x80, hi = 0xbf;
	size_t need, i;

	*bad = 0;
	if (n == 0)
		return 0;
	*bad = 1;
	c = p[0];
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0; /* overlong below U+0800 */
		else if (c == 0xed)
			hi = 0x9f; /* UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90; /* overlong below U+10000 */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0; /* continuation byte, 0xc0/0xc1 overlongs, 0xf5.. */
	}
	/* Only the second byte has a narrowed range; the rest are 80..bf. */
	for (i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi) {
			*bad = i; /* the maximal invalid prefix: one U+FFFD for it */
			return 0;
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
}

/* Code point of the well-formed sequence p[0..len). */
uint32_t
text_code_point(const unsigned char *p, size_t len)
{
	switch (len) {
	case 1:
		return p[0];
	case 2:
		return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	case 3:
		return (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	default:
		return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
		       (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
	}
}

/* The invisible formatting characters of text_char_len(). */
static int
text_format_char(uint32_t cp)
{
	return cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
}

size_t
text_char_len(const unsigned char *p, size_t n, size_t *bad)
{
	size_t len = text_utf8_len(p, n, bad);
	uint32_t cp;

	if (len == 0) {
		if (*bad == 0) /* n == 0: nothing to skip, but never loop forever */
			*bad = 1;
		return 0;
	}
	cp = text_code_point(p, len);
	if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || text_format_char(cp)) {
		*bad = len;
		return 0;
	}
	return len;
}

const char *
text_refusal(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, len, bad;

	while (i < n) {
		if ((len = text_char_len(p + i, n - i, &bad)) == 0) {
			if (text_utf8_len(p + i, n - i, &bad) == 0)
				return "is not valid UTF-8";
			if (p[i] < 0x20 || p[i] == 0x7f || p[i] == 0xc2)
				return "contains control characters"; /* C0, DEL, C1
				                                         (U+0080..U+009F) */
			return "contains invisible formatting characters (bidi, zero-width, "
			       "separators)";
		}
		i += len;
	}
	return NULL;
}

int
text_valid(const char *s, size_t n)
{
	return text_refusal(s, n) == NULL;
}

/*
 * The cleaning loop: s[0..n) cleaned into out, at most room bytes, cut at
 * a character boundary (no NUL).  Returns the bytes written; *used is how
 * much of s they stand for.
 */
static size_t
text_copy(char *out, size_t room, const char *s, size_t n, size_t *used)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k = 0, len, bad;

	while (i < n) {
		if ((len = text_char_len(p + i, n - i, &bad)) == 0) {
			if (k + 1 > room)
				break;
			out[k++] = '?';
			i += bad;
			continue;
		}
		if (k + len > room)
			break;
		memcpy(out + k, p + i, len);
		k += len;
		i += len;
	}
	*used = i;
	return k;
}

size_t
text_clean(char *out, size_t outlen, const char *s, size_t n)
{
	size_t k, used;

	if (outlen == 0)
		return 0;
	k = text_copy(out, outlen - 1, s, n, &used);
	out[k] = '\0';
	return k;
}

int
text_clean_cell(char *out, size_t outlen, const char *s, size_t n)
{
	size_t k, used;

	if (outlen < 4) {
		if (outlen > 0)
			out[0] = '\0';
		return n > 0;
	}
	k = text_copy(out, outlen - 4, s, n, &used);
	if (used < n) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	return used < n;
}

int
text_clean_buf(struct buf *out, const char *s, size_t n, size_t max)
{
	char chunk[256];
	size_t i = 0, k = 0, w, used;

	while (i < n && k < max) {
		w = text_copy(chunk, max - k < sizeof(chunk) ? max - k : sizeof(chunk), s + i,
		              n - i, &used);
		if (used == 0)
			break; /* the next character does not fit */
		buf_append(out, chunk, w);
		k += w;
		i += used;
	}
	if (i < n) {
		buf_append(out, "...", 3);
		return 1;
	}
	return 0;
}

void
text_quote(const char *in, char *out, size_t outlen, size_t max)
{
	size_t i, n = 0;

	if (outlen == 0)
		return;
	for (i = 0; in[i] != '\0' && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (i == max) {
			if (n + 4 >= outlen)
				break;
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		out[n++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
	}
	out[n] = '\0';
}
