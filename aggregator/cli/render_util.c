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
#include "text.h"
#include "util.h"

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
rt_clean_mp(struct buf *out, const msgpack_object *o, size_t max, const char *dflt)
{
	table_put_mp(out, o, max, dflt);
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
		table_put_number(out, o); /* numbers; nothing for other types */
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
		rk[i].rank = table_status_rank(mpr_get(&hosts->via.array.ptr[i], "status"));
	}
	qsort(rk, cnt, sizeof(*rk), rt_rank_cmp);
	for (i = 0; i < cnt; i++)
		idx[i] = rk[i].i;
	free(rk);
	*n = cnt;
	return idx;
}

void
rt_host_counts(struct buf *out, const msgpack_object *hosts)
{
	static const char *const names[] = {"crit", "warn", "stale", "ok", "other"};
	size_t n = mpr_arrsize(hosts), cnt[5] = {0, 0, 0, 0, 0}, i;
	int r, first = 1;

	for (i = 0; i < n; i++)
		cnt[table_status_rank(mpr_get(&hosts->via.array.ptr[i], "status"))]++;
	buf_printf(out, "%zu host%s", n, n == 1 ? "" : "s");
	for (r = 0; r < 5; r++) {
		if (cnt[r] == 0)
			continue;
		buf_printf(out, "%s %zu %s", first ? ":" : ",", cnt[r], names[r]);
		first = 0;
	}
}

const char *
rt_change_word(const msgpack_object *rec)
{
	if (rec == NULL)
		return "-";
	if (!mpr_true(mpr_get(rec, "needs_change")))
		return "no";
	return mpr_true(mpr_get(rec, "reboot")) ? "yes, reboot" : "yes";
}
