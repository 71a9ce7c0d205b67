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
/* NUL-terminates without counting the NUL in len. Returns data or NULL. */
const char *buf_cstr(struct buf *b);

#endif
