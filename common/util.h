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
 * Cuts blanks (space, tab, CR, LF) from both ends of s in place: the
 * trimmed text starts at the pointer returned, within s.
 */
char *trim_space(char *s);
/*
 * Reads at most max bytes of a file into a NUL-terminated malloc'd buffer.
 * Returns 0; -1 with errno set (EFBIG when the file is larger than max).
 * A pipe is read to its end (a configuration given as -c <(...)).
 */
int read_file_bounded(const char *path, size_t max, char **buf, size_t *len);
/*
 * The same for a file that must be a regular one (a kernel file, or a copy
 * of one): anything else is refused with EINVAL, and neither its opening
 * nor its reading waits (a FIFO in a copied tree would block for ever).
 */
int read_regular_bounded(const char *path, size_t max, char **buf, size_t *len);
/*
 * t plus secs seconds, held within int64 (a forecast from any figures a
 * peer sends must not wrap); NaN gives the end of int64.
 */
int64_t time_plus(int64_t t, long double secs);
/*
 * The same for an open descriptor, from where it stands to its end, asking
 * for first bytes at the start and twice as many each time after (small
 * for kernel files, which zero a buffer of the size asked for each read).
 */
int read_fd_bounded(int fd, size_t first, size_t max, char **buf, size_t *len);
/*
 * Reads fd into buf until n bytes or the end of the file, again after a
 * signal: for a file whose size fstat said, so that one growing meanwhile
 * is cut there.  0; -1 with errno when a read fails.  *len has the bytes
 * read either way.
 */
int read_fd_full(int fd, char *buf, size_t n, size_t *len);

/*
 * Makes room for want elements of size bytes in the array *arrayp (a
 * pointer to the array pointer; *cap its capacity): the capacity starts at
 * first and doubles, and never passes max.  0, or -1 (array and capacity
 * as they were) when want > max or memory runs out.
 */
int grow_array(void *arrayp, size_t *cap, size_t want, size_t first, size_t max, size_t size);

/* FNV-1a of n bytes: hash buckets and change detection, never security. */
uint32_t fnv1a(const void *p, size_t n);
/* ... of a NUL-terminated string. */
uint32_t fnv1a_str(const char *s);
/* FNV-1a, 64 bits, of a string: where 32 bits would collide too often. */
uint64_t fnv1a64_str(const char *s);

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
