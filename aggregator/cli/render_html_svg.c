/*
 * render_html_svg.c: the HTML report's drawings, inline SVG written as
 * text (no script, no external reference): the glance table's sparkline of
 * a limit's daily peaks and a host's 30-day chart of one limit (daily
 * min-max band, the limit, warn and crit marks).  Coordinates are whole
 * pixels where that is exact enough: 2,000 sparklines are a large part of
 * the file.
 */
#include <math.h>
#include <string.h>

#include "render_html.h"

#define SP_W     90 /* sparkline: 3 px a day */
#define SP_H     20
#define CH_W     640 /* chart */
#define CH_H     160
#define CH_L     70 /* plot area */
#define CH_R     600
#define CH_T     12
#define CH_B     130
#define DAYS_MAX 62

const msgpack_object *
h_history(const msgpack_object *host, const msgpack_object *limit)
{
	const msgpack_object *lims = mpr_get(mpr_get(host, "history"), "limits");

	if (lims == NULL || !mpr_is_str(limit))
		return NULL;
	return mpr_getn(lims, limit->via.str.ptr, limit->via.str.size);
}

/* Up to DAYS_MAX numbers of an array into v, have[i] 0 for nil; the count. */
static size_t
svg_days(const msgpack_object *arr, double *v, int *have)
{
	size_t i, n = mpr_arrsize(arr);

	if (n > DAYS_MAX)
		n = DAYS_MAX;
	for (i = 0; i < n; i++)
		have[i] = mpr_num(&arr->via.array.ptr[i], &v[i]) == 0 && v[i] >= 0;
	return n;
}

void
h_sparkline(struct buf *out, const msgpack_object *hist)
{
	double v[DAYS_MAX], top = 0, peak = 0;
	int have[DAYS_MAX], pen = 0;
	size_t i, n = svg_days(mpr_get(hist, "max"), v, have), k = 0;

	for (i = 0; i < n; i++)
		if (have[i] && v[i] > top)
			top = v[i];
	for (i = 0; i < n; i++)
		k += have[i] != 0;
	if (k == 0) {
		buf_puts(out, "-");
		return;
	}
	peak = top;
	if (top <= 0)
		top = 1;
	/* 0 at the bottom: a flat line near the top is a host at its own peak */
	buf_printf(out, "<svg class=sp width=%d height=%d><title>peak %.0f</title><path d=\"", SP_W,
	           SP_H, peak);
	for (i = 0; i < n; i++) {
		if (!have[i]) {
			pen = 0; /* a day without figures is a gap, not a zero */
			continue;
		}
		/* "M x y L x y x y ...": pairs after an L repeat it, a byte each saved */
		buf_printf(out, "%s%zu %ld",
		           pen == 0   ? "M"
		           : pen == 1 ? "L"
		                      : " ",
		           i * SP_W / (n > 1 ? n - 1 : 1),
		           lround(SP_H - 2 - v[i] / top * (SP_H - 4)));
		if (pen == 0 && (i + 1 >= n || !have[i + 1]))
			buf_puts(out, "h2"); /* a lone day: a dash */
		pen = pen == 0 ? 1 : 2;
	}
	buf_puts(out, "\"/></svg>");
}

static double
ch_x(size_t d, size_t n)
{
	return CH_L + (double)d * (CH_R - CH_L) / (double)(n > 1 ? n - 1 : 1);
}

static double
ch_y(double v, double top)
{
	return CH_B - v / top * (CH_B - CH_T);
}

/* A horizontal mark at value v with a label on the right. */
static void
ch_mark(struct buf *out, const char *cls, double v, double top, const char *label, double pct)
{
	double y = ch_y(v, top);

	buf_printf(out, "<line class=%s x1=%d y1=%.1f x2=%d y2=%.1f/>", cls, CH_L, y, CH_R, y);
	buf_printf(out, "<text x=%d y=%.1f>%s", CH_R + 4, y + 4, label);
	if (pct > 0)
		buf_printf(out, " %.0f%%", pct);
	buf_puts(out, "</text>");
}

void
h_band_chart(struct buf *out, const msgpack_object *host, const msgpack_object *limit,
             const msgpack_object *hist, const msgpack_object *usage, size_t id)
{
	double mx[DAYS_MAX], mn[DAYS_MAX], lim = 0, top = 0, warn, crit;
	int hmx[DAYS_MAX], hmn[DAYS_MAX];
	size_t n = svg_days(mpr_get(hist, "max"), mx, hmx), i, j, s;
	const msgpack_object *from = mpr_get(mpr_get(host, "history"), "from");

	if (svg_days(mpr_get(hist, "min"), mn, hmn) != n)
		for (i = 0; i < n; i++)
			hmn[i] = 0;
	for (i = 0; i < n; i++) {
		if (!hmn[i]) /* no minimum: the band is the peak alone */
			mn[i] = mx[i];
		if (hmx[i] && mx[i] > top)
			top = mx[i];
	}
	if (mpr_num(mpr_get(usage, "limit"), &lim) == 0 && lim > top)
		top = lim;
	if (n == 0 || top <= 0)
		return;
	top *= 1.08;
	rt_thresholds(usage, &warn, &crit);
	buf_printf(out,
	           "<svg class=ch width=%d height=%d viewBox=\"0 0 %d %d\" role=img "
	           "aria-labelledby=c%zu><title id=c%zu>",
	           CH_W, CH_H, CH_W, CH_H, id, id);
	h_text(out, mpr_get(host, "host"), 128, "-");
	buf_puts(out, ": ");
	h_text(out, limit, 64, "-");
	buf_puts(out, ", daily lowest and highest use over 30 days</title>\n");
	buf_printf(out, "<rect class=pa x=%d y=%d width=%d height=%d/>", CH_L, CH_T, CH_R - CH_L,
	           CH_B - CH_T);
	/* each run of days with figures is one band: a gap stays a gap */
	for (s = 0; s < n; s = j) {
		if (!hmx[s]) {
			j = s + 1;
			continue;
		}
		for (j = s; j < n && hmx[j]; j++)
			;
		buf_puts(out, "<polygon class=band points=\"");
		for (i = s; i < j; i++)
			buf_printf(out, "%.0f,%.0f ", ch_x(i, n) - (j - s == 1 ? 2 : 0),
			           ch_y(mx[i], top));
		if (j - s == 1)
			buf_printf(out, "%.0f,%.0f ", ch_x(s, n) + 2, ch_y(mx[s], top));
		for (i = j; i-- > s;)
			buf_printf(out, "%.0f,%.0f ", ch_x(i, n) + (j - s == 1 && i == s ? 2 : 0),
			           ch_y(mn[i], top) + 1);
		if (j - s == 1)
			buf_printf(out, "%.0f,%.0f", ch_x(s, n) - 2, ch_y(mn[s], top) + 1);
		buf_puts(out, "\"/><polyline class=pk points=\"");
		for (i = s; i < j; i++)
			buf_printf(out, "%.0f,%.0f ", ch_x(i, n), ch_y(mx[i], top));
		buf_puts(out, "\"/>");
	}
	if (lim > 0) {
		ch_mark(out, "wm", lim * warn / 100, top, "warn", warn);
		ch_mark(out, "cm", lim * crit / 100, top, "crit", crit);
		buf_printf(out, "<line class=lm x1=%d y1=%.1f x2=%d y2=%.1f/>", CH_L,
		           ch_y(lim, top), CH_R, ch_y(lim, top));
		buf_printf(out, "<text x=%d y=%.1f text-anchor=end>limit ", CH_L - 4,
		           ch_y(lim, top) + 4);
		h_text(out, mpr_get(usage, "limit"), 32, "-");
		buf_puts(out, "</text>");
	}
	buf_printf(out, "<text x=%d y=%d text-anchor=end>0</text>", CH_L - 4, CH_B + 4);
	buf_printf(out, "<text x=%d y=%d>", CH_L, CH_B + 18);
	/* the first day's date: the document's "from", cut to its date */
	if (mpr_is_str(from) && from->via.str.size >= 10) {
		struct buf t;

		buf_init(&t, 64);
		rt_clean(&t, from->via.str.ptr, 10, 10);
		if (!buf_failed(&t) && t.len > 0)
			h_esc(out, t.data, t.len);
		buf_free(&t);
	}
	buf_printf(out, "</text><text x=%d y=%d text-anchor=end>today</text></svg>\n", CH_R,
	           CH_B + 18);
}
