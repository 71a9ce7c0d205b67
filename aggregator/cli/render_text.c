/*
 * render_text.c: what a person reads (cli.h): alerts, top, orphans, the
 * trend sparkline and the text capacity report.  Worst first where the CLI
 * decides the order (the aggregator already sends alerts worst first, and
 * they are shown as received); aligned columns; the command to type under
 * the row it fixes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define RT_TEXT_MAX   400 /* bytes of one free-text field */
#define RT_MAX_POINTS (1u << 20)
#define RT_MAX_GROUPS 16 /* files recommendations are grouped by */

/* "CRIT", "WARN", "INFO", or the cleaned text of an unknown severity. */
static void
rt_cell_sev(struct table *t, const msgpack_object *sev)
{
	static const char *const names[] = {"CRIT", "WARN", "INFO", NULL};
	int r = table_severity_rank(sev);

	if (r < 3)
		table_cell(t, names[r]);
	else
		table_cell_mp(t, sev);
}

/* The command of a finding under its row, when it has a usable one. */
static void
rt_under_command(struct table *t, const msgpack_object *f)
{
	struct buf cmd;

	if (mpr_get(f, "command") == NULL)
		return;
	buf_init(&cmd, 1024);
	if (rt_command(&cmd, f) == 0)
		table_under(t, cmd.data, cmd.len);
	buf_free(&cmd);
}

/* "3 open findings: 1 crit, 2 warn" */
static void
rt_finding_summary(const msgpack_object *arr, const char *what, struct buf *out)
{
	size_t i, n = mpr_arrsize(arr), cnt[4] = {0, 0, 0, 0};
	static const char *const names[] = {"crit", "warn", "info", "other"};
	int r, first = 1;

	for (i = 0; i < n; i++)
		cnt[table_severity_rank(mpr_get(&arr->via.array.ptr[i], "severity"))]++;
	buf_printf(out, "%zu %s%s:", n, what, n == 1 ? "" : "s");
	for (r = 0; r < 4; r++) {
		if (cnt[r] == 0)
			continue;
		buf_printf(out, "%s %zu %s", first ? "" : ",", cnt[r], names[r]);
		first = 0;
	}
	buf_puts(out, "\n");
}

/* SEVERITY KIND LIMIT SCOPE MESSAGE rows; with the host column when host. */
static void
rt_findings_rows(struct table *t, const msgpack_object *arr, int host)
{
	size_t i;

	for (i = 0; i < mpr_arrsize(arr); i++) {
		const msgpack_object *f = &arr->via.array.ptr[i];

		table_row(t);
		rt_cell_sev(t, mpr_get(f, "severity"));
		if (host)
			table_cell_mp(t, mpr_get(f, "host"));
		table_cell_mp(t, mpr_get(f, "kind"));
		table_cell_mp(t, mpr_get(f, "limit"));
		table_cell_mp(t, mpr_get(f, "scope"));
		table_cell_mp(t, mpr_get(f, "message"));
		rt_under_command(t, f);
	}
}

/*
 * The hosts whose share of a fleet-wide list left findings out (the last
 * listed finding of such a host says how many, in "more"), one line each:
 * "  evil1: 901 more open findings not listed; ipcfleet host evil1 lists
 * them all".  Returns how many in all.
 */
static uint64_t
rt_more_lines(const msgpack_object *arr, const char *what, struct buf *out)
{
	uint64_t more, total = 0;
	size_t i;

	for (i = 0; i < mpr_arrsize(arr); i++) {
		const msgpack_object *f = &arr->via.array.ptr[i];

		if (mpr_u64(mpr_get(f, "more"), &more) == -1 || more == 0)
			continue;
		if (total == 0)
			buf_printf(out, "Each host lists its worst %s here; more of them on:\n",
			           what);
		buf_puts(out, "  ");
		rt_clean_mp(out, mpr_get(f, "host"), 128, "-");
		buf_printf(out, ": %" PRIu64 " more not listed; ipcfleet host ", more);
		rt_clean_mp(out, mpr_get(f, "host"), 128, "-");
		buf_puts(out, " lists them all\n");
		total += more;
	}
	return total;
}

int
render_alerts(const msgpack_object *body, struct buf *out)
{
	static const char *const hdr[] = {"SEVERITY", "HOST", "KIND", "LIMIT", "SCOPE", "MESSAGE"};
	struct table t;
	int rc;

	if (body == NULL || body->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	if (body->via.array.size == 0) {
		buf_puts(out, "no open findings\n");
		return buf_failed(out) ? -1 : 0;
	}
	rt_finding_summary(body, "open finding", out);
	table_init(&t, hdr, NELEM(hdr), RENDER_MAX_OUT);
	rt_findings_rows(&t, body, 1);
	rc = table_print(&t, out, 0);
	table_free(&t);
	rt_more_lines(body, "open findings", out);
	buf_puts(out, "Details and recommendations: ipcfleet host NAME\n");
	return rc == -1 || buf_failed(out) ? -1 : 0;
}

/* "770 postgres", "770", "postgres" or "-". */
static void
rt_cell_owner(struct table *t, const msgpack_object *row)
{
	const msgpack_object *uid = mpr_get(row, "uid"), *owner = mpr_get(row, "owner");
	struct buf b;
	uint64_t u;
	int have = 0;

	buf_init(&b, 1024);
	if (mpr_u64(uid, &u) == 0) {
		buf_printf(&b, "%" PRIu64, u);
		have = 1;
	}
	if (mpr_is_str(owner) && owner->via.str.size > 0) {
		if (have)
			buf_puts(&b, " ");
		rt_clean(&b, owner->via.str.ptr, owner->via.str.size, 64);
		have = 1;
	}
	table_cell(t, have && buf_cstr(&b) != NULL ? b.data : "-");
	buf_free(&b);
}

int
render_top(const msgpack_object *body, struct buf *out)
{
	static const char *const hdr[] = {"HOST",  "SCOPE",     "OWNER", "LIMIT",
	                                  ">HELD", ">OF LIMIT", ">PCT"};
	struct table t;
	size_t i;
	int rc;

	if (body == NULL || body->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	if (body->via.array.size == 0) {
		buf_puts(out, "no consumers found\n");
		return buf_failed(out) ? -1 : 0;
	}
	table_init(&t, hdr, NELEM(hdr), RENDER_MAX_OUT);
	for (i = 0; i < body->via.array.size; i++) {
		const msgpack_object *row = &body->via.array.ptr[i];

		table_row(&t);
		table_cell_mp(&t, mpr_get(row, "host"));
		table_cell_mp(&t, mpr_get(row, "scope"));
		/* a whole scope's share, ranked with the owners */
		if (mpr_streq(mpr_get(row, "by"), "scope"))
			table_cell(&t, "(whole scope)");
		else
			rt_cell_owner(&t, row);
		table_cell_mp(&t, mpr_get(row, "limit"));
		table_cell_mp(&t, mpr_get(row, "held"));
		table_cell_mp(&t, mpr_get(row, "limit_value"));
		table_cell_pct(&t, mpr_get(row, "pct"));
	}
	rc = table_print(&t, out, 0);
	table_free(&t);
	return rc == -1 || buf_failed(out) ? -1 : 0;
}

/*
 * A finding of kind orphan (or without a kind: the body is orphans only)
 * naming its object; one without (the aggregator's count of orphans it did
 * not keep) is a note under the table.
 */
static int
rt_orphan_row(const msgpack_object *f)
{
	const msgpack_object *kind = mpr_get(f, "kind");

	return f->type == MSGPACK_OBJECT_MAP && (kind == NULL || mpr_streq(kind, "orphan")) &&
	       mpr_get(f, "id") != NULL;
}

static int
rt_orphan_note(const msgpack_object *f)
{
	const msgpack_object *kind = mpr_get(f, "kind");

	return f->type == MSGPACK_OBJECT_MAP && (kind == NULL || mpr_streq(kind, "orphan")) &&
	       mpr_get(f, "id") == NULL;
}

/* A removed orphan's record starts so (aggregator/findings.h, ORPHAN_REMOVED). */
#define RT_ORPHAN_REMOVED "removed by "

/* Under an orphan's row: why it looks abandoned, then its command when it has one. */
static void
rt_orphan_under(struct table *t, const msgpack_object *f)
{
	const msgpack_object *m = mpr_get(f, "message");
	struct buf b;

	buf_init(&b, 2048);
	if (mpr_is_str(m) && m->via.str.size > 0)
		rt_clean(&b, m->via.str.ptr, m->via.str.size, RT_TEXT_MAX);
	if (mpr_get(f, "command") != NULL) {
		size_t mark = b.len;

		buf_puts(&b, b.len > 0 ? "\n    " : "");
		if (rt_command(&b, f) == -1)
			b.len = mark;
	}
	if (b.len > 0 && !buf_failed(&b))
		table_under(t, b.data, b.len);
	buf_free(&b);
}

int
render_orphans(const msgpack_object *body, struct buf *out)
{
	static const char *const hdr[] = {"HOST", "SCOPE", "TYPE", ">ID", "OWNER", ">AGE"};
	struct table t;
	struct buf age;
	uint64_t secs;
	size_t i, n, removed;
	int rc;

	if (body == NULL || body->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	/* the aggregator sends orphans only; anything else is left out */
	for (i = n = 0; i < body->via.array.size; i++)
		n += rt_orphan_row(&body->via.array.ptr[i]) ||
		     rt_orphan_note(&body->via.array.ptr[i]);
	if (n == 0) {
		buf_puts(out, "no orphans\n");
		return buf_failed(out) ? -1 : 0;
	}
	for (i = n = removed = 0; i < body->via.array.size; i++) {
		const msgpack_object *f = &body->via.array.ptr[i], *m = mpr_get(f, "message");

		if (!rt_orphan_row(f))
			continue;
		n++;
		/* the aggregator's record of one removed since (docs/ANALYSIS.md) */
		removed +=
		    mpr_is_str(m) && m->via.str.size >= sizeof(RT_ORPHAN_REMOVED) - 1 &&
		    memcmp(m->via.str.ptr, RT_ORPHAN_REMOVED, sizeof(RT_ORPHAN_REMOVED) - 1) == 0;
	}
	if (removed > 0)
		buf_printf(out,
		           "%zu orphaned object%s (%zu removed since, kept for the record); why, "
		           "and the command to run on its host, under each:\n",
		           n, n == 1 ? "" : "s", removed);
	else
		buf_printf(out,
		           "%zu orphaned object%s; why, and the command to run on its host, under "
		           "each:\n",
		           n, n == 1 ? "" : "s");
	table_init(&t, hdr, NELEM(hdr), RENDER_MAX_OUT);
	buf_init(&age, 64);
	for (i = 0; i < body->via.array.size; i++) {
		const msgpack_object *f = &body->via.array.ptr[i];

		if (!rt_orphan_row(f))
			continue;
		table_row(&t);
		table_cell_mp(&t, mpr_get(f, "host"));
		table_cell_mp(&t, mpr_get(f, "scope"));
		table_cell_mp(&t, mpr_get(f, "type"));
		table_cell_mp(&t, mpr_get(f, "id"));
		rt_cell_owner(&t, f);
		buf_reset(&age);
		if (mpr_u64(mpr_get(f, "age"), &secs) == 0) {
			rt_age(&age, secs);
			table_cell(&t, buf_cstr(&age) != NULL ? age.data : "-");
		} else
			table_cell(&t, "-");
		rt_orphan_under(&t, f);
	}
	buf_free(&age);
	rc = n > 0 ? table_print(&t, out, 0) : 0;
	table_free(&t);
	for (i = 0; i < body->via.array.size; i++) {
		const msgpack_object *f = &body->via.array.ptr[i];

		if (!rt_orphan_note(f))
			continue;
		rt_clean_mp(out, mpr_get(f, "host"), 128, "-");
		buf_puts(out, ": ");
		rt_clean_mp(out, mpr_get(f, "message"), 512, "-");
		buf_puts(out, "\n");
	}
	rt_more_lines(body, "orphans", out);
	return rc == -1 || buf_failed(out) ? -1 : 0;
}

/* ---- trend ---- */

/* The eight block elements U+2581..U+2588, lowest first. */
static const char *const rt_blocks[8] = {
    "\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83", "\xe2\x96\x84",
    "\xe2\x96\x85", "\xe2\x96\x86", "\xe2\x96\x87", "\xe2\x96\x88",
};

void
render_sparkline(const double *v, size_t n, double top, size_t width, struct buf *out)
{
	size_t bars, b, i, lo, hi;
	double peak, lvl;
	int have, k;

	if (n == 0 || width == 0)
		return;
	bars = n < width ? n : width;
	for (b = 0; b < bars; b++) {
		/* slice b: points [b*n/bars, (b+1)*n/bars); never empty as bars <= n */
		lo = (size_t)((uint64_t)b * n / bars);
		hi = (size_t)((uint64_t)(b + 1) * n / bars);
		have = 0;
		peak = 0;
		for (i = lo; i < hi; i++) {
			if (isnan(v[i]))
				continue;
			if (!have || v[i] > peak)
				peak = v[i];
			have = 1;
		}
		if (!have) {
			buf_puts(out, " ");
			continue;
		}
		/* level 1..8: a bar is full at top, the lowest block at or below top/8 */
		if (!(top > 0) || peak <= 0)
			k = 1;
		else {
			lvl = ceil(peak / top * 8.0);
			k = lvl < 1 ? 1 : lvl > 8 ? 8 : (int)lvl;
		}
		buf_puts(out, rt_blocks[k - 1]);
	}
}

/* Appends a number or "-". */
static void
rt_num_or_dash(struct buf *out, const msgpack_object *o)
{
	size_t before = out->len;

	if (o != NULL)
		table_put_number(out, o);
	if (out->len == before)
		buf_puts(out, "-");
}

int
render_trend_text(const msgpack_object *body, enum render_scale scale, struct buf *out)
{
	const msgpack_object *points, *p, *first_t = NULL, *last_t = NULL;
	const msgpack_object *omin = NULL, *omax = NULL, *olast = NULL, *olimit = NULL;
	const msgpack_object *lmin = NULL, *lmax = NULL;
	double *v, x, vmin = 0, vmax = 0, lim = 0, l, top, lminv = 0, lmaxv = 0;
	size_t i, n, bars, per;
	int rollup = 0, use_limit;

	points = mpr_get(body, "points");
	if (body == NULL || body->type != MSGPACK_OBJECT_MAP || points == NULL ||
	    points->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	n = points->via.array.size;
	if (n > RT_MAX_POINTS)
		return -1;
	rt_clean_mp(out, mpr_get(body, "host"), 128, "-");
	buf_puts(out, " ");
	rt_clean_mp(out, mpr_get(body, "limit"), 64, "-");
	if (n == 0) {
		buf_puts(out, ": no samples in this range\n");
		return buf_failed(out) ? -1 : 0;
	}
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const msgpack_object *hi, *lo;

		p = &points->via.array.ptr[i];
		if (mpr_get(p, "min") != NULL || mpr_get(p, "max") != NULL ||
		    mpr_get(p, "mean") != NULL)
			rollup = 1;
		if (mpr_is_str(mpr_get(p, "t"))) {
			if (first_t == NULL)
				first_t = mpr_get(p, "t");
			last_t = mpr_get(p, "t");
		}
		/* a bar shows the peak: the max of a rollup bucket, else the sample */
		hi = mpr_get(p, "max");
		if (mpr_num(hi, &x) == -1)
			hi = mpr_get(p, "used");
		lo = mpr_get(p, "min");
		if (mpr_num(lo, &x) == -1)
			lo = mpr_get(p, "used");
		v[i] = NAN;
		if (mpr_num(hi, &x) == 0) {
			v[i] = x;
			if (omax == NULL || x > vmax) {
				vmax = x;
				omax = hi;
			}
		}
		if (mpr_num(lo, &x) == 0 && (omin == NULL || x < vmin)) {
			vmin = x;
			omin = lo;
		}
		if (mpr_num(mpr_get(p, "used"), &x) == 0)
			olast = mpr_get(p, "used");
		if (mpr_num(mpr_get(p, "limit"), &l) == 0) {
			olimit = mpr_get(p, "limit");
			lim = l;
			if (lmin == NULL || l < lminv) {
				lmin = olimit;
				lminv = l;
			}
			if (lmax == NULL || l > lmaxv) {
				lmax = olimit;
				lmaxv = l;
			}
		}
	}
	buf_printf(out, ": %zu %s", n, n == 1 ? "point" : "points");
	if (first_t != NULL && n == 1) {
		buf_puts(out, " at ");
		rt_clean_mp(out, first_t, 40, "-");
	} else if (first_t != NULL) {
		buf_puts(out, " from ");
		rt_clean_mp(out, first_t, 40, "-");
		buf_puts(out, " to ");
		rt_clean_mp(out, last_t, 40, "-");
	}
	if (rollup)
		buf_puts(out, " (hourly peaks)");
	buf_puts(out, "\n");

	/* scale: the limit, unless usage is so far below it that bars would be flat */
	use_limit = olimit != NULL && lim > 0 &&
	            (scale == SCALE_LIMIT || (scale == SCALE_AUTO && vmax >= lim / 4));
	top = use_limit ? lim : vmax;
	buf_puts(out, "  ");
	render_sparkline(v, n, top, RENDER_SPARK_MAX, out);
	buf_puts(out, "\n  min ");
	rt_num_or_dash(out, omin);
	buf_puts(out, "  max ");
	rt_num_or_dash(out, omax);
	buf_puts(out, "  last ");
	rt_num_or_dash(out, olast);
	buf_puts(out, "  limit ");
	rt_num_or_dash(out, olimit);
	if (lmin != NULL && lmax != NULL && lminv != lmaxv) {
		buf_puts(out, " (varied from ");
		table_put_number(out, lmin);
		buf_puts(out, " to ");
		table_put_number(out, lmax);
		buf_puts(out, ")");
	}
	if (olast != NULL && lim > 0 && mpr_num(olast, &x) == 0)
		buf_printf(out, "  (last is %.1f%% of the limit)", x / lim * 100.0);
	buf_puts(out, "\n  bars: 0 to ");
	if (use_limit)
		buf_puts(out, "the limit");
	else {
		rt_num_or_dash(out, omax);
		buf_puts(out, " (the largest value)");
	}
	bars = n < RENDER_SPARK_MAX ? n : RENDER_SPARK_MAX;
	per = (n + bars - 1) / bars;
	if (per > 1)
		buf_printf(out, "; each bar is the peak of up to %zu points", per);
	buf_puts(out, "\n");
	free(v);
	return buf_failed(out) ? -1 : 0;
}

/* ---- report ---- */

static int
rt_report_usage(const msgpack_object *h, struct buf *out)
{
	static const char *const hdr[] = {"LIMIT", ">USED",        ">CURRENT", ">USE%",
	                                  ">PEAK", ">RECOMMENDED", "CHANGE"};
	const msgpack_object *usage = mpr_get(h, "usage"), *recs = mpr_get(h, "recommendations");
	const msgpack_object *rec;
	struct table t;
	size_t i;
	int rc;

	table_init(&t, hdr, NELEM(hdr), RENDER_MAX_OUT);
	for (i = 0; i < mpr_mapsize(usage); i++) {
		const msgpack_object_kv *kv = &usage->via.map.ptr[i];

		rec = rt_rec_for(recs, &kv->key);
		table_row(&t);
		table_cell_mp(&t, &kv->key);
		table_cell_usage(&t, &kv->val, "used");
		table_cell_usage(&t, &kv->val, "limit");
		table_cell_usage(&t, &kv->val, "pct");
		table_cell_mp(&t, mpr_get(rec, "peak"));
		table_cell_mp(&t, mpr_get(rec, "recommended"));
		table_cell(&t, rt_change_word(rec));
	}
	/* limits recommended on but not counted (semmsl, shmmax, ...) */
	for (i = 0; i < mpr_arrsize(recs) && i < RT_MAX_RECS; i++) {
		rec = &recs->via.array.ptr[i];
		if (rt_in_usage(usage, mpr_get(rec, "limit")))
			continue;
		table_row(&t);
		table_cell_mp(&t, mpr_get(rec, "limit"));
		table_cell(&t, "-");
		table_cell_mp(&t, mpr_get(rec, "current"));
		table_cell(&t, "-");
		table_cell_mp(&t, mpr_get(rec, "peak"));
		table_cell_mp(&t, mpr_get(rec, "recommended"));
		table_cell(&t, rt_change_word(rec));
	}
	rc = t.nrows > 0 ? table_print(&t, out, 2) : 0;
	table_free(&t);
	return rc;
}

/* A file name safe to show inside an apply command. */
static int
rt_safe_path(const msgpack_object *f)
{
	size_t i;

	if (!mpr_is_str(f) || f->via.str.size == 0 || f->via.str.size > 200 ||
	    f->via.str.ptr[0] != '/')
		return 0;
	for (i = 0; i < f->via.str.size; i++) {
		char c = f->via.str.ptr[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '/' || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

/* How the lines of one file take effect: the words after the file name. */
static void
rt_apply_hint(const msgpack_object *file, int reboot, struct buf *out)
{
	if (reboot || mpr_streq(file, "/boot/loader.conf")) {
		buf_puts(out, " (takes effect after a reboot)");
		return;
	}
	if (mpr_streq(file, "/etc/sysctl.conf")) {
		buf_puts(out, " (no reboot: apply now with sysctl -f /etc/sysctl.conf)");
		return;
	}
	if (rt_safe_path(file) && file->via.str.size > 14 &&
	    memcmp(file->via.str.ptr, "/etc/sysctl.d/", 14) == 0) {
		buf_puts(out, " (no reboot: apply now with sysctl -p ");
		buf_append(out, file->via.str.ptr, file->via.str.size);
		buf_puts(out, ")");
		return;
	}
	buf_puts(out, " (no reboot)");
}

/*
 * The recommendations that need a change, as paste-ready lines grouped by
 * file (and, within a file, by whether they need a reboot).
 */
static void
rt_report_recs(const msgpack_object *recs, struct buf *out, size_t indent)
{
	const msgpack_object *gfile[RT_MAX_GROUPS];
	int greboot[RT_MAX_GROUPS];
	size_t ng = 0, g, i, n = mpr_arrsize(recs), changes = 0;
	const char *pad = indent >= 4 ? "    " : "  ";

	if (n > RT_MAX_RECS)
		n = RT_MAX_RECS;
	for (i = 0; i < n; i++) {
		const msgpack_object *r = &recs->via.array.ptr[i], *f = mpr_get(r, "file");
		int rb = mpr_true(mpr_get(r, "reboot"));

		if (!mpr_true(mpr_get(r, "needs_change")) || !mpr_is_str(mpr_get(r, "line")))
			continue;
		changes++;
		for (g = 0; g < ng; g++)
			if (greboot[g] == rb &&
			    (mpr_streq2(gfile[g], f) || (gfile[g] == NULL && f == NULL)))
				break;
		if (g == ng && ng < RT_MAX_GROUPS) {
			gfile[ng] = mpr_is_str(f) ? f : NULL;
			greboot[ng++] = rb;
		}
	}
	if (changes == 0) {
		buf_printf(out, "%sNo changes recommended.\n", pad);
		return;
	}
	buf_printf(out, "%sRecommended changes:\n", pad);
	for (g = 0; g < ng; g++) {
		buf_printf(out, "%s  ", pad);
		rt_clean_mp(out, gfile[g], 200, "(no file given)");
		rt_apply_hint(gfile[g], greboot[g], out);
		buf_puts(out, ":\n");
		for (i = 0; i < n; i++) {
			const msgpack_object *r = &recs->via.array.ptr[i], *f = mpr_get(r, "file");
			const msgpack_object *line = mpr_get(r, "line");

			if (!mpr_true(mpr_get(r, "needs_change")) || !mpr_is_str(line) ||
			    mpr_true(mpr_get(r, "reboot")) != greboot[g] ||
			    !(mpr_streq2(gfile[g], f) || (gfile[g] == NULL && !mpr_is_str(f))))
				continue;
			buf_printf(out, "%s    ", pad);
			rt_clean(out, line->via.str.ptr, line->via.str.size, 200);
			buf_puts(out, "\n");
		}
	}
}

/* The limit nearest exhaustion (report rows since issue 15), when the row has one. */
static void
rt_report_nearest(const msgpack_object *n, struct buf *out)
{
	const msgpack_object *at = mpr_get(n, "exhaust_at");
	double pct;

	if (n == NULL || n->type != MSGPACK_OBJECT_MAP)
		return;
	buf_puts(out, "  Nearest exhaustion: ");
	rt_clean_mp(out, mpr_get(n, "limit"), 64, "-");
	if (mpr_num(mpr_get(n, "pct"), &pct) == 0)
		buf_printf(out, " at %.1f%%", pct);
	buf_puts(out, ", ");
	rt_clean_mp(out, mpr_get(n, "free"), 32, "?");
	buf_puts(out, " free, ");
	if (mpr_is_str(at)) {
		buf_puts(out, "runs out ");
		rt_clean_mp(out, at, 40, "-");
	} else {
		buf_puts(out, "no exhaustion forecast");
	}
	buf_puts(out, "\n");
}

static int
rt_report_host(const msgpack_object *h, struct buf *out)
{
	static const char *const fhdr[] = {"SEVERITY", "KIND", "LIMIT", "SCOPE", "MESSAGE"};
	static const char *const upper[] = {"CRIT", "WARN", "STALE", "OK"};
	const msgpack_object *status = mpr_get(h, "status"), *findings = mpr_get(h, "findings");
	const msgpack_object *recs = mpr_get(h, "recommendations"), *o;
	struct table t;
	int rc = 0;

	rt_clean_mp(out, mpr_get(h, "host"), 128, "-");
	if (mpr_is_str(o = mpr_get(h, "os")) && o->via.str.size > 0) {
		buf_puts(out, " (");
		rt_clean_mp(out, o, 64, "-");
		buf_puts(out, ")");
	}
	buf_puts(out, ": ");
	if (table_status_rank(status) < 4)
		buf_puts(out, upper[table_status_rank(status)]);
	else
		rt_clean_mp(out, status, 32, "status unknown");
	if ((o = mpr_get(h, "last_seen")) != NULL) {
		buf_puts(out, ", last seen ");
		rt_clean_mp(out, o, 40, "never");
	}
	buf_puts(out, "\n");
	rt_report_nearest(mpr_get(h, "nearest"), out);
	if (rt_report_usage(h, out) == -1)
		return -1;
	if (mpr_arrsize(findings) > 0) {
		uint64_t more;

		buf_puts(out, "  Findings:\n");
		table_init(&t, fhdr, NELEM(fhdr), RENDER_MAX_OUT);
		rt_findings_rows(&t, findings, 0);
		rc = table_print(&t, out, 4);
		table_free(&t);
		if (mpr_u64(mpr_get(h, "more_findings"), &more) == 0 && more > 0) {
			buf_printf(out, "    and %" PRIu64 " more, not listed; ipcfleet host ",
			           more);
			rt_clean_mp(out, mpr_get(h, "host"), 128, "-");
			buf_puts(out, " lists them all\n");
		}
	} else if (findings != NULL)
		buf_puts(out, "  No open findings.\n");
	if (recs != NULL)
		rt_report_recs(recs, out, 2);
	return rc;
}

int
render_report_text(const msgpack_object *body, struct buf *out)
{
	const msgpack_object *hosts = mpr_get(body, "hosts");
	size_t *idx, n, i;
	int rc = 0;

	if (body == NULL || body->type != MSGPACK_OBJECT_MAP || hosts == NULL ||
	    hosts->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	buf_puts(out, "ipcfleet capacity report");
	if (mpr_get(body, "generated") != NULL) {
		buf_puts(out, ", generated ");
		rt_clean_mp(out, mpr_get(body, "generated"), 40, "-");
	}
	buf_puts(out, "\n");
	if ((idx = rt_hosts_worst_first(hosts, &n)) == NULL)
		return -1;
	rt_host_counts(out, hosts);
	buf_puts(out, "\n");
	for (i = 0; i < n && rc == 0; i++) {
		buf_puts(out, "\n");
		rc = rt_report_host(&hosts->via.array.ptr[idx[i]], out);
	}
	free(idx);
	return rc == -1 || buf_failed(out) ? -1 : 0;
}
