/*
 * buf.h: a growable byte buffer with a hard size cap.
 *
 * Every append checks the cap; once an append fails the buffer is marked
 * failed and further appends are no-ops, so a writer can build a whole
 * document and check buf_failed() once at the end.
 */
#ifndef IPCFLEET_BUF_H
#define IPCFLEET_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	size_t len, cap, max;
	int failed;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_failed(const struct buf *b);

/*
 * buf_append for the small pieces a msgpack packer writes (a type byte, a
 * number, a key): the same cap and failure rules, without a call when the
 * room is there already.  A fleet's hosts reply is a million of them.
 */
static inline int
buf_append_small(struct buf *b, const void *p, size_t n)
{
	if (n <= 16 && !b->failed && b->len + n < b->cap && b->len + n <= b->max) {
		const unsigned char *s = p;
		unsigned char *d = (unsigned char *)b->data + b->len;
		size_t i;

		for (i = 0; i < n; i++)
			d[i] = s[i];
		b->len += n;
		return 0;
	}
	return buf_append(b, p, n);
}
/* NUL-terminates without counting the NUL in len. Returns data or NULL. */
const char *buf_cstr(struct buf *b);

#endif
