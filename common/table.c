/*
 * table.c: the one aligned text table (table.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mpread.h"
#include "table.h"
#include "text.h"
#include "util.h"

void
table_init(struct table *t, const char *const *hdr, size_t ncols, size_t maxbytes)
{
	size_t c;

	memset(t, 0, sizeof(*t));
	buf_init(&t->text, maxbytes);
	for (c = 0; c < ncols && c < TABLE_MAXCOLS; c++) {
		t->right[c] = hdr[c][0] == '>';
		snprintf(t->hdr[c], sizeof(t->hdr[c]), "%s", hdr[c] + t->right[c]);
	}
	t->ncols = c;
}

void
table_set_header(struct table *t, size_t c, const char *s, size_t n, int right, int upper)
{
	char *p;

	if (c >= TABLE_MAXCOLS)
		return;
	text_clean(t->hdr[c], sizeof(t->hdr[c]), s, n);
	if (upper)
		for (p = t->hdr[c]; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
	t->right[c] = right;
	if (c >= t->ncols)
		t->ncols = c + 1;
}

void
table_free(struct table *t)
{
	buf_free(&t->text);
	free(t->off);
	t->off = NULL;
}

/* Offset slot k (0..ncols) of the current row. */
static size_t *
table_slot(struct table *t, size_t k)
{
	return &t->off[(t->nrows - 1) * (t->ncols + 1) + k];
}

void
table_row(struct table *t)
{
	size_t k;

	if (t->failed)
		return;
	/* finish the previous row: cells not given are "-" */
	while (t->nrows > 0 && t->col < t->ncols)
		table_cell(t, "-");
	if (t->nrows >= TABLE_MAXROWS) {
		t->failed = 1;
		return;
	}
	if (grow_array(&t->off, &t->caprows, t->nrows + 1, 16, TABLE_MAXROWS,
	               (t->ncols + 1) * sizeof(*t->off)) == -1) {
		t->failed = 1;
		return;
	}
	t->nrows++;
	t->col = 0;
	for (k = 0; k <= t->ncols; k++)
		*table_slot(t, k) = SIZE_MAX;
}

/* Starts the next cell: records its offset; 0 when there is no room. */
static int
table_begin(struct table *t)
{
	if (t->failed || t->nrows == 0 || t->col >= t->ncols)
		return 0;
	*table_slot(t, t->col++) = t->text.len;
	return 1;
}

static void
table_end(struct table *t)
{
	buf_append(&t->text, "", 1);
	if (buf_failed(&t->text))
		t->failed = 1;
}

void
table_cell(struct table *t, const char *s)
{
	if (!table_begin(t))
		return;
	buf_puts(&t->text, s);
	table_end(t);
}

void
table_cellf(struct table *t, const char *fmt, ...)
{
	char tmp[TABLE_CELL];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(tmp, sizeof(tmp), fmt, ap) < 0)
		tmp[0] = '\0';
	va_end(ap);
	table_cell(t, tmp);
}

void
table_cell_text(struct table *t, const char *s, size_t n)
{
	if (!table_begin(t))
		return;
	text_clean_buf(&t->text, s, n, TABLE_CELL);
	table_end(t);
}

void
table_cell_mp(struct table *t, const msgpack_object *o)
{
	if (!table_begin(t))
		return;
	table_put_mp(&t->text, o, TABLE_CELL, "-");
	table_end(t);
}

void
table_cell_num(struct table *t, const msgpack_object *o)
{
	if (o != NULL && o->type == MSGPACK_OBJECT_NIL)
		table_cell(t, "?");
	else
		table_cell_mp(t, o);
}

void
table_cell_str(struct table *t, const msgpack_object *o)
{
	if (mpr_is_str(o))
		table_cell_text(t, o->via.str.ptr, o->via.str.size);
	else
		table_cell(t, "-");
}

void
table_cell_pct(struct table *t, const msgpack_object *o)
{
	if (!table_begin(t))
		return;
	table_put_pct(&t->text, o); /* at most 313 bytes: within TABLE_CELL */
	table_end(t);
}

void
table_cell_usage(struct table *t, const msgpack_object *it, const char *k)
{
	const msgpack_object *o = mpr_get(it, k);

	if ((o == NULL || o->type == MSGPACK_OBJECT_NIL) && table_usage_unknown(it))
		table_cell(t, "?");
	else if (strcmp(k, "pct") == 0)
		table_cell_pct(t, o);
	else
		table_cell_mp(t, o);
}

int
table_usage_unknown(const msgpack_object *it)
{
	return mpr_is_str(mpr_get(it, "unknown"));
}

void
table_under(struct table *t, const char *s, size_t n)
{
	if (t->failed || t->nrows == 0)
		return;
	*table_slot(t, t->ncols) = t->text.len;
	buf_append(&t->text, s, n);
	table_end(t);
}

static void
table_pad(struct buf *out, size_t n)
{
	static const char sp[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;

		buf_append(out, sp, k);
		n -= k;
	}
}

static void
table_line(const struct table *t, struct buf *out, size_t indent, const char *const *cells,
           const size_t *width)
{
	size_t c, w, pad;

	table_pad(out, indent);
	for (c = 0; c < t->ncols; c++) {
		w = table_width(cells[c]);
		pad = width[c] > w ? width[c] - w : 0;
		if (c > 0)
			buf_append(out, "  ", 2);
		if (t->right[c]) {
			table_pad(out, pad);
			buf_puts(out, cells[c]);
		} else {
			buf_puts(out, cells[c]);
			if (c + 1 < t->ncols)
				table_pad(out, pad); /* no trailing blanks */
		}
	}
	buf_append(out, "\n", 1);
}

int
table_print(struct table *t, struct buf *out, size_t indent)
{
	size_t width[TABLE_MAXCOLS];
	const char *cells[TABLE_MAXCOLS];
	size_t r, c, o, w;

	if (t->nrows > 0)
		while (t->col < t->ncols && !t->failed)
			table_cell(t, "-");
	if (t->failed)
		return -1;
	for (c = 0; c < t->ncols; c++) {
		width[c] = t->bare ? 0 : table_width(t->hdr[c]);
		cells[c] = t->hdr[c];
	}
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			w = table_width(t->text.data + t->off[r * (t->ncols + 1) + c]);
			if (w > width[c])
				width[c] = w;
		}
	if (!t->bare)
		table_line(t, out, indent, cells, width);
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++)
			cells[c] = t->text.data + t->off[r * (t->ncols + 1) + c];
		table_line(t, out, indent, cells, width);
		if ((o = t->off[r * (t->ncols + 1) + t->ncols]) != SIZE_MAX) {
			table_pad(out, indent + 4);
			buf_puts(out, t->text.data + o);
			buf_append(out, "\n", 1);
		}
	}
	return buf_failed(out) ? -1 : 0;
}

size_t
table_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void
table_put_number(struct buf *out, const msgpack_object *o)
{
	struct json j;

	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		buf_printf(out, "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		buf_printf(out, "%" PRId64, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64)) {
			/* a writer at depth 0 writes the bare number */
			json_init(&j, out, 0);
			json_double(&j, o->via.f64);
		}
		break;
	default:
		break;
	}
}

void
table_put_pct(struct buf *out, const msgpack_object *o)
{
	double v;

	if (mpr_num(o, &v) == 0)
		buf_printf(out, "%.1f%%", v);
	else
		buf_puts(out, "-");
}

void
table_put_mp(struct buf *out, const msgpack_object *o, size_t max, const char *dflt)
{
	if (o == NULL) {
		buf_puts(out, dflt);
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		text_clean_buf(out, o->via.str.ptr, o->via.str.size, max);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		table_put_number(out, o);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isfinite(o->via.f64))
			buf_printf(out, "%.1f", o->via.f64);
		else
			buf_puts(out, dflt);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		buf_puts(out, o->via.boolean ? "yes" : "no");
		break;
	default:
		buf_puts(out, dflt);
		break;
	}
}

int
table_severity_rank(const msgpack_object *sev)
{
	if (mpr_streq(sev, "crit"))
		return 0;
	if (mpr_streq(sev, "warn"))
		return 1;
	if (mpr_streq(sev, "info"))
		return 2;
	return 3;
}

int
table_status_rank(const msgpack_object *status)
{
	if (mpr_streq(status, "crit"))
		return 0;
	if (mpr_streq(status, "warn"))
		return 1;
	if (mpr_streq(status, "stale"))
		return 2;
	if (mpr_streq(status, "ok"))
		return 3;
	return 4;
}
