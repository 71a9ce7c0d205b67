/*
 * util.h: small helpers with strict input rules.
 */
#ifndef IPCFLEET_UTIL_H
#define IPCFLEET_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Strict number parsing: the whole string must be a number in [min, max]; no
 * sign on unsigned, no leading/trailing junk, no empty string.  Return 0, or
 * -1 with *errstr set to a static description ("not a number", "too large").
 */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out, const char **errstr);
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out, const char **errstr);
/* Unsigned number in octal ("0600" or "600"). */
int parse_octal(const char *s, uint32_t *out, const char **errstr);
/* "90", "90s", "15m", "1h", "14d" -> seconds.  0 is allowed. */
int parse_duration(const char *s, uint64_t *seconds, const char **errstr);
/* "4096", "64K", "64M", "1G" -> bytes (powers of 1024). */
int parse_size(const char *s, uint64_t *bytes, const char **errstr);
/* "host:port", "[v6]:port"; host may be a name.  Buffers are NUL-terminated. */
int parse_hostport(const char *s, char *host, size_t hostlen, char *port, size_t portlen,
                   const char **errstr);

/*
 * Reads at most max bytes of a file into a NUL-terminated malloc'd buffer.
 * Returns 0; -1 with errno set (EFBIG when the file is larger than max).
 */
int read_file_bounded(const char *path, size_t max, char **buf, size_t *len);
/*
 * The same for an open descriptor, from where it stands to its end, asking
 * for first bytes at the start and twice as many each time after (small
 * for kernel files, which zero a buffer of the size asked for each read).
 */
int read_fd_bounded(int fd, size_t first, size_t max, char **buf, size_t *len);

/*
 * Makes room for want elements of size bytes in the array *arrayp (a
 * pointer to the array pointer; *cap its capacity): the capacity starts at
 * first and doubles, and never passes max.  0, or -1 (array and capacity
 * as they were) when want > max or memory runs out.
 */
int grow_array(void *arrayp, size_t *cap, size_t want, size_t first, size_t max, size_t size);

/* "2026-11-26T14:00:00Z" into buf (at least 21 bytes).  Returns buf. */
char *fmt_rfc3339(int64_t t, char *buf, size_t len);
/* Parses the format above (UTC, "Z" only).  Returns 0 or -1. */
int parse_rfc3339(const char *s, int64_t *t);

/*
 * Splits line in place on spaces and tabs.  Stores at most max field
 * pointers but returns the number of fields found, which may be larger.
 */
size_t split_fields(char *line, char **fields, size_t max);

/* strlcpy/strlcat semantics; return strlen(src) (truncated when >= size). */
size_t ifl_strlcpy(char *dst, const char *src, size_t size);
size_t ifl_strlcat(char *dst, const char *src, size_t size);

/*
 * Text a peer sends and a person reads (host, scope and owner names,
 * messages, OS strings): one rule everywhere (docs/SECURITY.md, "Strings").
 * A character is refused when it is not well-formed UTF-8 (overlong,
 * surrogate, above U+10FFFF, truncated), a C0 control or DEL, a C1 control
 * (U+0080..U+009F), or an invisible formatting character that can make
 * text look other than it is: U+061C, U+200B..U+200F, U+2028..U+202E,
 * U+2060..U+206F (bidi marks, embeddings, overrides and isolates, line and
 * paragraph separators, zero-width characters), U+FEFF, U+FFF9..U+FFFB.
 *
 * text_char_len: length (1 to 4) of the accepted character at p (n bytes
 * available), or 0 when refused, with *bad the bytes to skip (at least 1).
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

/* Saturating arithmetic on uint64_t. */
static inline uint64_t
u64_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Wall clock, Unix seconds; and a monotonic clock in milliseconds. */
int64_t now_unix(void);
uint64_t now_mono_ms(void);

/* Expands a leading "~/" with $HOME into out.  Returns 0 or -1 (too long). */
int expand_tilde(const char *in, char *out, size_t outlen);

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
