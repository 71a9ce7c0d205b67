/*
 * render_util.c: helpers shared by the CLI's renderers (cli.h): msgpack
 * getters that never trust a type, text cleaning for terminals, aligned
 * tables, CSV fields.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "text.h"
#include "util.h"

#define RT_CELL_MAX 400    /* bytes of one table cell; longer text is cut */
#define RT_MAXROWS  200000 /* rows of one table */

const msgpack_object *
rt_rec_for(const msgpack_object *recs, const msgpack_object *key)
{
	size_t i;

	for (i = 0; i < mpr_arrsize(recs) && i < RT_MAX_RECS; i++)
		if (mpr_streq2(mpr_get(&recs->via.array.ptr[i], "limit"), key))
			return &recs->via.array.ptr[i];
	return NULL;
}

int
rt_in_usage(const msgpack_object *usage, const msgpack_object *key)
{
	size_t i;

	for (i = 0; i < mpr_mapsize(usage); i++)
		if (mpr_streq2(&usage->via.map.ptr[i].key, key))
			return 1;
	return 0;
}

int
rt_sev_rank(const msgpack_object *sev)
{
	if (mpr_streq(sev, "crit"))
		return 3;
	if (mpr_streq(sev, "warn"))
		return 2;
	if (mpr_streq(sev, "info"))
		return 1;
	return 0;
}

int
rt_status_rank(const msgpack_object *status)
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

void
rt_thresholds(const msgpack_object *item, double *warn, double *crit)
{
	double w, c;

	*warn = RENDER_WARN_PCT;
	*crit = RENDER_CRIT_PCT;
	/* both or neither, each in (0, 100], warn not above crit */
	if (mpr_num(mpr_get(item, "warn"), &w) == 0 && mpr_num(mpr_get(item, "crit"), &c) == 0 &&
	    w > 0 && w <= 100 && c > 0 && c <= 100 && w <= c) {
		*warn = w;
		*crit = c;
	}
}

/* Text from the store, by text.h's rule: what one renderer shows as '?' all do. */
void
rt_clean(struct buf *out, const char *s, size_t n, size_t max)
{
	text_clean_buf(out, s, n, max);
}

void
rt_number(struct buf *out, const msgpack_object *o)
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
rt_clean_mp(struct buf *out, const msgpack_object *o, size_t max, const char *dflt)
{
	if (o == NULL) {
		buf_puts(out, dflt);
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		rt_clean(out, o->via.str.ptr, o->via.str.size, max);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		rt_number(out, o);
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

void
rt_age(struct buf *out, uint64_t s)
{
	if (s >= 86400)
		buf_printf(out, "%" PRIu64 "d%" PRIu64 "h", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		buf_printf(out, "%" PRIu64 "h%" PRIu64 "m", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		buf_printf(out, "%" PRIu64 "m", s / 60);
	else
		buf_printf(out, "%" PRIu64 "s", s);
}

/* Characters a pasted command may contain: no quoting, no expansion. */
static int
rt_cmd_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr(" _.,:/=+-", c) != NULL;
}

int
rt_command(struct buf *out, const msgpack_object *f)
{
	const msgpack_object *cmd = mpr_get(f, "command"), *type = mpr_get(f, "type");
	const msgpack_object *id = mpr_get(f, "id");
	const char *flag = NULL;
	size_t i;

	if (mpr_is_str(cmd) && cmd->via.str.size > 0 && cmd->via.str.size <= 200 &&
	    cmd->via.str.ptr[0] != '-' && cmd->via.str.ptr[0] != ' ') {
		for (i = 0; i < cmd->via.str.size; i++)
			if (!rt_cmd_char((unsigned char)cmd->via.str.ptr[i]))
				break;
		if (i == cmd->via.str.size) {
			buf_append(out, cmd->via.str.ptr, cmd->via.str.size);
			return 0;
		}
	}
	if (mpr_streq(type, "shm"))
		flag = "-m";
	else if (mpr_streq(type, "sem"))
		flag = "-s";
	else if (mpr_streq(type, "msg"))
		flag = "-q";
	if (flag == NULL || id == NULL)
		return -1;
	if (id->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		buf_printf(out, "ipcrm %s %" PRIu64, flag, id->via.u64);
	else
		return -1;
	return 0;
}

size_t
rt_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* ---- tables ---- */

void
rt_init(struct rt_table *t, const char *const *hdr, size_t ncols)
{
	size_t c;

	memset(t, 0, sizeof(*t));
	buf_init(&t->text, RENDER_MAX_OUT);
	for (c = 0; c < ncols && c < RT_MAXCOLS; c++) {
		t->right[c] = hdr[c][0] == '>';
		t->hdr[c] = hdr[c] + t->right[c];
	}
	t->ncols = c;
}

void
rt_free(struct rt_table *t)
{
	buf_free(&t->text);
	free(t->off);
	t->off = NULL;
}

/* Offset slot k (0..ncols) of the current row. */
static size_t *
rt_slot(struct rt_table *t, size_t k)
{
	return &t->off[(t->nrows - 1) * (t->ncols + 1) + k];
}

void
rt_row(struct rt_table *t)
{
	size_t k, ncap;
	size_t *p;

	if (t->failed)
		return;
	/* finish the previous row: cells not given are "-" */
	while (t->nrows > 0 && t->col < t->ncols)
		rt_cell(t, "-");
	if (t->nrows >= RT_MAXROWS) {
		t->failed = 1;
		return;
	}
	if (t->nrows == t->caprows) {
		ncap = t->caprows ? t->caprows * 2 : 16;
		if (ncap > RT_MAXROWS)
			ncap = RT_MAXROWS;
		if ((p = reallocarray(t->off, ncap, (t->ncols + 1) * sizeof(*p))) == NULL) {
			t->failed = 1;
			return;
		}
		t->off = p;
		t->caprows = ncap;
	}
	t->nrows++;
	t->col = 0;
	for (k = 0; k <= t->ncols; k++)
		*rt_slot(t, k) = SIZE_MAX;
}

/* Starts the next cell: records its offset; 0 when there is no room. */
static int
rt_begin(struct rt_table *t)
{
	if (t->failed || t->nrows == 0 || t->col >= t->ncols)
		return 0;
	*rt_slot(t, t->col++) = t->text.len;
	return 1;
}

static void
rt_end(struct rt_table *t)
{
	buf_append(&t->text, "", 1);
	if (buf_failed(&t->text))
		t->failed = 1;
}

void
rt_cell(struct rt_table *t, const char *s)
{
	if (!rt_begin(t))
		return;
	buf_puts(&t->text, s);
	rt_end(t);
}

void
rt_cellf(struct rt_table *t, const char *fmt, ...)
{
	char tmp[RT_CELL_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(tmp, sizeof(tmp), fmt, ap) < 0)
		tmp[0] = '\0';
	va_end(ap);
	rt_cell(t, tmp);
}

void
rt_cell_mp(struct rt_table *t, const msgpack_object *o)
{
	if (!rt_begin(t))
		return;
	rt_clean_mp(&t->text, o, RT_CELL_MAX, "-");
	rt_end(t);
}

void
rt_cell_pct(struct rt_table *t, const msgpack_object *o)
{
	double v;

	if (mpr_num(o, &v) == 0)
		rt_cellf(t, "%.1f%%", v);
	else
		rt_cell(t, "-");
}

void
rt_cell_usage(struct rt_table *t, const msgpack_object *it, const char *k)
{
	const msgpack_object *o = mpr_get(it, k);

	if ((o == NULL || o->type == MSGPACK_OBJECT_NIL) && rt_usage_unknown(it))
		rt_cell(t, "?");
	else if (strcmp(k, "pct") == 0)
		rt_cell_pct(t, o);
	else
		rt_cell_mp(t, o);
}

int
rt_usage_unknown(const msgpack_object *it)
{
	return mpr_is_str(mpr_get(it, "unknown"));
}

void
rt_under(struct rt_table *t, const char *s, size_t n)
{
	if (t->failed || t->nrows == 0)
		return;
	*rt_slot(t, t->ncols) = t->text.len;
	buf_append(&t->text, s, n);
	rt_end(t);
}

static void
rt_pad(struct buf *out, size_t n)
{
	static const char sp[] = "                                ";

	while (n > 0) {
		size_t k = n < sizeof(sp) - 1 ? n : sizeof(sp) - 1;

		buf_append(out, sp, k);
		n -= k;
	}
}

static void
rt_line(const struct rt_table *t, struct buf *out, size_t indent, const char *const *cells,
        const size_t *width)
{
	size_t c, w, pad;

	rt_pad(out, indent);
	for (c = 0; c < t->ncols; c++) {
		w = rt_width(cells[c]);
		pad = width[c] > w ? width[c] - w : 0;
		if (c > 0)
			buf_append(out, "  ", 2);
		if (t->right[c]) {
			rt_pad(out, pad);
			buf_puts(out, cells[c]);
		} else {
			buf_puts(out, cells[c]);
			if (c + 1 < t->ncols)
				rt_pad(out, pad); /* no trailing blanks */
		}
	}
	buf_append(out, "\n", 1);
}

int
rt_print(struct rt_table *t, struct buf *out, size_t indent)
{
	size_t width[RT_MAXCOLS];
	const char *cells[RT_MAXCOLS];
	size_t r, c, o, w;

	if (t->nrows > 0)
		while (t->col < t->ncols && !t->failed)
			rt_cell(t, "-");
	if (t->failed)
		return -1;
	for (c = 0; c < t->ncols; c++)
		width[c] = rt_width(t->hdr[c]);
	for (r = 0; r < t->nrows; r++)
		for (c = 0; c < t->ncols; c++) {
			w = rt_width(t->text.data + t->off[r * (t->ncols + 1) + c]);
			if (w > width[c])
				width[c] = w;
		}
	rt_line(t, out, indent, t->hdr, width);
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < t->ncols; c++)
			cells[c] = t->text.data + t->off[r * (t->ncols + 1) + c];
		rt_line(t, out, indent, cells, width);
		if ((o = t->off[r * (t->ncols + 1) + t->ncols]) != SIZE_MAX) {
			rt_pad(out, indent + 4);
			buf_puts(out, t->text.data + o);
			buf_append(out, "\n", 1);
		}
	}
	return buf_failed(out) ? -1 : 0;
}

/* ---- CSV ---- */

/*
 * Whether position i of t starts a piece a spreadsheet may take for a
 * formula: the start of the field, or just after a separator some locales
 * import with (';' where ',' is the decimal mark, ',' elsewhere), spaces
 * skipped; and the piece starts with = + - or @.
 */
static int
rt_csv_formula_at(const char *t, size_t n, size_t i)
{
	if (i > 0 && t[i - 1] != ';' && t[i - 1] != ',' && t[i - 1] != ' ')
		return 0;
	if (i > 0) { /* after spaces, only if they follow a separator */
		size_t j = i;

		while (j > 0 && t[j - 1] == ' ')
			j--;
		if (j > 0 && t[j - 1] != ';' && t[j - 1] != ',')
			return 0;
	}
	return i < n && strchr("=+-@", t[i]) != NULL && t[i] != '\0';
}

void
rt_csv_text(struct buf *out, const char *s, size_t n)
{
	struct buf tmp;
	size_t i;
	int quote = 0;

	/* cleaned first: no control characters reach a spreadsheet either */
	buf_init(&tmp, 64 * 1024);
	rt_clean(&tmp, s, n, 60 * 1024);
	for (i = 0; i < tmp.len; i++)
		if (tmp.data[i] == ',' || tmp.data[i] == '"' || tmp.data[i] == ';' ||
		    rt_csv_formula_at(tmp.data, tmp.len, i))
			quote = 1;
	if (quote)
		buf_append(out, "\"", 1);
	for (i = 0; i < tmp.len; i++) {
		/*
		 * Formula injection: each piece a spreadsheet would evaluate
		 * (the field, or a part of it after ';' or ',') gets a quote
		 * that makes it text.
		 */
		if (rt_csv_formula_at(tmp.data, tmp.len, i))
			buf_append(out, "'", 1);
		if (tmp.data[i] == '"')
			buf_append(out, "\"", 1);
		buf_append(out, &tmp.data[i], 1);
	}
	if (quote)
		buf_append(out, "\"", 1);
	buf_free(&tmp);
}

void
rt_csv_mp(struct buf *out, const msgpack_object *o)
{
	if (o == NULL)
		return;
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		rt_csv_text(out, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		buf_puts(out, o->via.boolean ? "true" : "false");
		break;
	default:
		rt_number(out, o); /* numbers; nothing for other types */
		break;
	}
}

/* ---- ordering ---- */

struct rt_rank {
	size_t i;
	int rank;
};

static int
rt_rank_cmp(const void *a, const void *b)
{
	const struct rt_rank *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i; /* stable: keep the order received */
}

size_t *
rt_hosts_worst_first(const msgpack_object *hosts, size_t *n)
{
	struct rt_rank *rk;
	size_t *idx, i, cnt = mpr_arrsize(hosts);

	*n = 0;
	if ((idx = calloc(cnt ? cnt : 1, sizeof(*idx))) == NULL)
		return NULL;
	if ((rk = calloc(cnt ? cnt : 1, sizeof(*rk))) == NULL) {
		free(idx);
		return NULL;
	}
	for (i = 0; i < cnt; i++) {
		rk[i].i = i;
		rk[i].rank = rt_status_rank(mpr_get(&hosts->via.array.ptr[i], "status"));
	}
	qsort(rk, cnt, sizeof(*rk), rt_rank_cmp);
	for (i = 0; i < cnt; i++)
		idx[i] = rk[i].i;
	free(rk);
	*n = cnt;
	return idx;
}
