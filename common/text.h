/*
 * text.h: the one rule for text a peer sends and a person reads (host,
 * scope and owner names, messages, OS strings), applied where it arrives
 * (the decoder refuses) and where it leaves (every renderer and the log
 * clean).  docs/SECURITY.md, "Strings", says why.
 *
 * A character is refused when it is not well-formed UTF-8 (overlong,
 * surrogate, above U+10FFFF, truncated), a C0 control or DEL, a C1 control
 * (U+0080..U+009F), or an invisible formatting character that can make
 * text look other than it is: U+061C, U+200B..U+200F, U+2028..U+202E,
 * U+2060..U+206F (bidi marks, embeddings, overrides and isolates, line and
 * paragraph separators, zero-width characters), U+FEFF, U+FFF9..U+FFFB.
 */
#ifndef IPCFLEET_TEXT_H
#define IPCFLEET_TEXT_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/*
 * Length (1 to 4) of the well-formed UTF-8 sequence at p (n bytes
 * available), or 0 when it is not one (overlong, surrogate, above U+10FFFF,
 * truncated); *bad is then the number of bytes that stand for one U+FFFD.
 */
size_t text_utf8_len(const unsigned char *p, size_t n, size_t *bad);
/* The code point of the well-formed sequence p[0..len) (text_utf8_len()). */
uint32_t text_code_point(const unsigned char *p, size_t len);
/*
 * Length (1 to 4) of the accepted character at p (n bytes available), or 0
 * when refused, with *bad the bytes to skip (at least 1).
 */
size_t text_char_len(const unsigned char *p, size_t n, size_t *bad);
/* 1 when every character of s[0..n) is accepted. */
int text_valid(const char *s, size_t n);
/*
 * NULL when every character of s[0..n) is accepted, else why the first
 * refused one is: "is not valid UTF-8", "contains control characters" or
 * "contains invisible formatting characters (bidi, zero-width, separators)".
 */
const char *text_refusal(const char *s, size_t n);
/*
 * Copies s[0..n) into out[outlen] with each refused sequence replaced by
 * '?', cut at a character boundary to fit, NUL-terminated: never longer
 * than the input.  Returns the length written.
 */
size_t text_clean(char *out, size_t outlen, const char *s, size_t n);
/*
 * The same into a cell of outlen bytes: when s does not fit in outlen - 4,
 * it is cut at a character boundary and "..." follows.  1 when cut.
 */
int text_clean_cell(char *out, size_t outlen, const char *s, size_t n);
/*
 * Appends s[0..n) to out the same way, at most max bytes of it; when s does
 * not fit, it is cut at a character boundary and "..." follows.  Returns 1
 * when cut, else 0.
 */
int text_clean_buf(struct buf *out, const char *s, size_t n, size_t max);

/*
 * A short printable copy of untrusted text for a warning: printable ASCII
 * only ('"' and everything else become '?'), at most max characters, then
 * "..." when there was more; NUL-terminated in out[outlen].
 */
void text_quote(const char *in, char *out, size_t outlen, size_t max);

#endif
