/*
 * render_html.c: the capacity report as one self-contained HTML file
 * (cli.h): inline CSS, inline SVG (render_html_svg.c), no script, and no
 * reference to anything outside the document (a Content-Security-Policy
 * forbids loads as well).  Readable offline in any browser, printable,
 * mailable.  docs/REPORT.md describes it: the fleet at a glance (one row a
 * host, worst first), a heat map of hosts by limits, sections only for
 * hosts with findings, the others folded, the recommended lines by file.
 * At 2,000 hosts every byte of a row counts 2,000 times: attributes are
 * unquoted where HTML allows it and optional end tags are left out.
 *
 * Every piece of text from the report is cleaned (rt_clean) and then
 * escaped; besides & < > " (as entities) the escaper also writes ' / : = (
 * ) @ ` as numeric references, so that no text from a host can ever form "http:",
 * "//", "src=", "url(" or "@import" in the file, even as harmless text.
 * Class names and numbers are our own.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "render_html.h"
#include "util.h"

#define H_TEXT_MAX  400   /* bytes of one free-text field */
#define H_HEAT_MAX  8     /* limits in the heat map */
#define H_NAME_MAX  128   /* bytes of a host name */
#define H_RECS_ROWS 20000 /* recommended lines gathered across the fleet */

void
h_esc(struct buf *out, const char *s, size_t n)
{
	size_t i, start = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || strchr("&<>\"'/:=()@`", c) == NULL)
			continue;
		buf_append(out, s + start, i - start);
		if (c == '&')
			buf_puts(out, "&amp;");
		else if (c == '<')
			buf_puts(out, "&lt;");
		else if (c == '>')
			buf_puts(out, "&gt;");
		else if (c == '"')
			buf_puts(out, "&quot;");
		else
			buf_printf(out, "&#%u;", c);
		start = i + 1;
	}
	buf_append(out, s + start, n - start);
}

/* Untrusted text: cleaned, cut at max bytes, escaped. */
void
h_text(struct buf *out, const msgpack_object *o, size_t max, const char *dflt)
{
	struct buf tmp;

	buf_init(&tmp, max + 16);
	rt_clean_mp(&tmp, o, max, dflt);
	if (!buf_failed(&tmp))
		h_esc(out, tmp.data != NULL ? tmp.data : "", tmp.len);
	else
		out->failed = 1;
	buf_free(&tmp);
}

/* A CSS class for a status: one of ours, never the document's text. */
static const char *
h_status_class(const msgpack_object *status)
{
	static const char *const cls[] = {"crit", "warn", "stale", "ok", "unknown"};

	return cls[table_status_rank(status)];
}

static void
h_cell(struct buf *out, const msgpack_object *o, int num)
{
	buf_puts(out, num ? "<td class=n>" : "<td>");
	h_text(out, o, H_TEXT_MAX, "-"); /* </td> is optional: 2,000 hosts' worth of it */
}

static void
h_cell_pct(struct buf *out, const msgpack_object *o)
{
	buf_puts(out, "<td class=n>");
	table_put_pct(out, o);
}

static void
h_cell_change(struct buf *out, const msgpack_object *rec)
{
	const char *w = rt_change_word(rec);

	buf_printf(out, "<td%s>%s", w[0] == 'y' ? " class=chg" : "", w);
}

static void
h_usage_table(struct buf *out, const msgpack_object *h)
{
	const msgpack_object *usage = mpr_get(h, "usage"), *recs = mpr_get(h, "recommendations");
	const msgpack_object *rec;
	size_t i;

	if (mpr_mapsize(usage) == 0 && mpr_arrsize(recs) == 0)
		return;
	buf_puts(out, "<table class=usage><tr><th>Limit<th class=n>Used"
	              "<th class=n>Current<th class=n>Use%"
	              "<th class=n>Peak<th class=n>Recommended"
	              "<th>Change</tr>\n");
	for (i = 0; i < mpr_mapsize(usage); i++) {
		const msgpack_object_kv *kv = &usage->via.map.ptr[i];

		rec = rt_rec_for(recs, &kv->key);
		buf_puts(out, "<tr>");
		h_cell(out, &kv->key, 0);
		if (table_usage_unknown(&kv->val)) {
			/* unknown is never 0: "?", and why on hover and in print */
			buf_puts(out, "<td class=\"n unk\" title=\"");
			h_text(out, mpr_get(&kv->val, "unknown"), H_TEXT_MAX, "-");
			buf_puts(out, "\">?");
			h_cell(out, mpr_get(&kv->val, "limit"), 1);
			buf_puts(out, "<td class=n>?");
		} else {
			h_cell(out, mpr_get(&kv->val, "used"), 1);
			h_cell(out, mpr_get(&kv->val, "limit"), 1);
			h_cell_pct(out, mpr_get(&kv->val, "pct"));
		}
		h_cell(out, mpr_get(rec, "peak"), 1);
		h_cell(out, mpr_get(rec, "recommended"), 1);
		h_cell_change(out, rec);
		buf_puts(out, "</tr>\n");
	}
	for (i = 0; i < mpr_arrsize(recs) && i < RT_MAX_RECS; i++) {
		rec = &recs->via.array.ptr[i];
		if (rt_in_usage(usage, mpr_get(rec, "limit")))
			continue;
		buf_puts(out, "<tr>");
		h_cell(out, mpr_get(rec, "limit"), 0);
		buf_puts(out, "<td class=n>-");
		h_cell(out, mpr_get(rec, "current"), 1);
		buf_puts(out, "<td class=n>-");
		h_cell(out, mpr_get(rec, "peak"), 1);
		h_cell(out, mpr_get(rec, "recommended"), 1);
		h_cell_change(out, rec);
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "</table>\n");
}

static void
h_findings(struct buf *out, const msgpack_object *h)
{
	const msgpack_object *findings = mpr_get(h, "findings");
	struct buf cmd;
	uint64_t more;
	size_t i;

	if (findings == NULL)
		return;
	buf_puts(out, "<h3>Findings</h3>\n");
	if (mpr_arrsize(findings) == 0) {
		buf_puts(out, "<p>No open findings.</p>\n");
		return;
	}
	buf_puts(out, "<table class=findings><tr><th>Severity<th>Kind"
	              "<th>Limit<th>Scope<th>Message</tr>\n");
	buf_init(&cmd, 1024);
	for (i = 0; i < mpr_arrsize(findings); i++) {
		const msgpack_object *f = &findings->via.array.ptr[i];
		static const char *const sev[] = {"crit", "warn", "info", "other"};
		int r = table_severity_rank(mpr_get(f, "severity"));

		buf_printf(out, "<tr class=f-%s><td>%s", sev[r], r < 3 ? sev[r] : "-");
		h_cell(out, mpr_get(f, "kind"), 0);
		h_cell(out, mpr_get(f, "limit"), 0);
		h_cell(out, mpr_get(f, "scope"), 0);
		buf_puts(out, "<td>");
		h_text(out, mpr_get(f, "message"), H_TEXT_MAX, "-");
		buf_reset(&cmd);
		if (mpr_get(f, "command") != NULL && rt_command(&cmd, f) == 0) {
			buf_puts(out, "<br><code>");
			h_esc(out, cmd.data, cmd.len);
			buf_puts(out, "</code>");
		}
		buf_puts(out, "</tr>\n");
	}
	buf_free(&cmd);
	buf_puts(out, "</table>\n");
	/* the report lists each host's share of its findings: say what it left out */
	if (mpr_u64(mpr_get(h, "more_findings"), &more) == 0 && more > 0) {
		buf_printf(out, "<p>And %" PRIu64 " more, not listed: <code>ipcfleet host ", more);
		h_text(out, mpr_get(h, "host"), 128, "-");
		buf_puts(out, "</code> lists them all.</p>\n");
	}
}

/* ---- the fleet, worst first ---- */

/* One host row and what orders it. */
struct h_host {
	const msgpack_object *row;
	size_t i;     /* in the reply */
	int rank;     /* table_status_rank */
	int findings; /* it has open findings: a section of its own */
	const msgpack_object *nearest, *exhaust;
	double pct; /* nearest's use%, -1 when unknown */
};

static int
h_date_cmp(const msgpack_object *a, const msgpack_object *b)
{
	size_t n;
	int c;

	if (!mpr_is_str(a) || !mpr_is_str(b))
		return mpr_is_str(a) ? -1 : mpr_is_str(b) ? 1 : 0; /* a date before none */
	n = a->via.str.size < b->via.str.size ? a->via.str.size : b->via.str.size;
	/* RFC 3339 in UTC, one format: the text orders as the time does */
	if ((c = memcmp(a->via.str.ptr, b->via.str.ptr, n)) != 0)
		return c;
	return a->via.str.size < b->via.str.size ? -1 : a->via.str.size > b->via.str.size;
}

/* Status, then the sooner exhaustion, then the higher use%; stable. */
static int
h_host_cmp(const void *pa, const void *pb)
{
	const struct h_host *a = pa, *b = pb;
	int c;

	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if ((c = h_date_cmp(a->exhaust, b->exhaust)) != 0)
		return c;
	if (a->pct != b->pct)
		return a->pct > b->pct ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

static struct h_host *
h_hosts_sorted(const msgpack_object *hosts, size_t *n)
{
	struct h_host *v;
	size_t i;

	*n = mpr_arrsize(hosts);
	if ((v = calloc(*n ? *n : 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < *n; i++) {
		const msgpack_object *h = &hosts->via.array.ptr[i];

		v[i].row = h;
		v[i].i = i;
		v[i].rank = table_status_rank(mpr_get(h, "status"));
		v[i].findings = mpr_arrsize(mpr_get(h, "findings")) > 0;
		v[i].nearest = mpr_get(h, "nearest");
		if (v[i].nearest != NULL && v[i].nearest->type != MSGPACK_OBJECT_MAP)
			v[i].nearest = NULL;
		v[i].exhaust = mpr_get(v[i].nearest, "exhaust_at");
		if (mpr_num(mpr_get(v[i].nearest, "pct"), &v[i].pct) == -1)
			v[i].pct = -1;
	}
	qsort(v, *n, sizeof(*v), h_host_cmp);
	return v;
}

/* The anchor of host k (in the sorted order): its section or its folded row. */
static void
h_anchor(struct buf *out, size_t k)
{
	buf_printf(out, "h%zu", k);
}

/* ---- fleet at a glance ---- */

/* "2026-12-24", or "now" when the date is not after the report's. */
static void
h_when(struct buf *out, const msgpack_object *at, const msgpack_object *generated)
{
	struct buf t;

	if (!mpr_is_str(at)) {
		buf_puts(out, "-");
		return;
	}
	if (mpr_is_str(generated) && h_date_cmp(at, generated) <= 0) {
		buf_puts(out, "now");
		return;
	}
	buf_init(&t, 64);
	rt_clean(&t, at->via.str.ptr, at->via.str.size < 10 ? at->via.str.size : 10, 10);
	if (!buf_failed(&t) && t.len > 0)
		h_esc(out, t.data, t.len);
	buf_free(&t);
}

static void
h_glance(struct buf *out, const struct h_host *v, size_t n, const msgpack_object *generated)
{
	size_t k;

	buf_puts(out, "<h2 id=glance>Fleet at a glance</h2>\n<p class=legend>One row per host, "
	              "worst first: the limit nearest exhaustion (a forecast's date, or now for "
	              "a limit past its crit level; else the highest use%), its use, when it "
	              "runs out, what is free of it, and its daily peaks over 30 days.</p>\n"
	              "<table class=gl><tr><th>Host<th>Status<th>Nearest limit<th class=n>Use%"
	              "<th>Runs out<th class=n>Free<th>30 days</tr>\n");
	for (k = 0; k < n; k++) {
		const msgpack_object *h = v[k].row, *lim = mpr_get(v[k].nearest, "limit");
		const char *cls = h_status_class(mpr_get(h, "status"));

		buf_puts(out, "<tr><td><a href=#");
		h_anchor(out, k);
		buf_puts(out, ">");
		h_text(out, mpr_get(h, "host"), H_NAME_MAX, "-");
		buf_printf(out, "</a><td><b class=s-%s>%s</b><td>", cls, cls);
		if (v[k].nearest == NULL) {
			buf_puts(out, "-<td class=n>-<td>-<td class=n>-<td>-</tr>\n");
			continue;
		}
		h_text(out, lim, 64, "-");
		if (v[k].pct >= 0)
			buf_printf(out, "<td class=n>%.1f%%<td>", v[k].pct);
		else
			buf_puts(out, "<td class=n>-<td>");
		h_when(out, v[k].exhaust, generated);
		buf_puts(out, "<td class=n>");
		h_text(out, mpr_get(v[k].nearest, "free"), 32, "-");
		buf_puts(out, "<td>");
		h_sparkline(out, h_history(h, lim));
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "</table>\n");
}

/* ---- the heat map ---- */

/* The limits of the fleet's usage maps, in the order first seen; at most H_HEAT_MAX. */
static size_t
h_heat_limits(const struct h_host *v, size_t n, const msgpack_object **lims)
{
	size_t k, i, j, nl = 0;

	for (k = 0; k < n; k++) {
		const msgpack_object *u = mpr_get(v[k].row, "usage");

		for (i = 0; i < mpr_mapsize(u); i++) {
			const msgpack_object *key = &u->via.map.ptr[i].key;

			if (!mpr_is_str(key))
				continue;
			for (j = 0; j < nl && !mpr_streq2(lims[j], key); j++)
				;
			if (j == nl && nl < H_HEAT_MAX)
				lims[nl++] = key;
		}
	}
	return nl;
}

/* The colour class of a usage entry: by use% against its own levels. */
static const char *
h_heat_class(const msgpack_object *it, double *pct)
{
	double warn, crit;

	*pct = -1;
	if (it == NULL)
		return "qn";
	if (table_usage_unknown(it) || mpr_num(mpr_get(it, "pct"), pct) == -1)
		return "qu";
	rt_thresholds(it, &warn, &crit);
	return *pct >= crit   ? "q4"
	       : *pct >= warn ? "q3"
	       : *pct >= 50   ? "q2"
	       : *pct >= 25   ? "q1"
	                      : "q0";
}

static void
h_heat(struct buf *out, const struct h_host *v, size_t n)
{
	const msgpack_object *lims[H_HEAT_MAX];
	size_t nl = h_heat_limits(v, n, lims), l, k;
	double pct;

	if (nl == 0)
		return;
	buf_puts(out,
	         "<h2 id=heat>Use of each limit</h2>\n<p class=legend>One cell per host, in "
	         "the order above (worst first, left to right, top to bottom); hover for the "
	         "host. <i class=q0></i> under 25% <i class=q1></i> under 50% <i class=q2></i> "
	         "under warn <i class=q3></i> warn <i class=q4></i> crit <i class=qu></i> "
	         "unknown <i class=qn></i> not counted</p>\n");
	for (l = 0; l < nl; l++) {
		buf_puts(out, "<div class=hr><span class=hl>");
		h_text(out, lims[l], 64, "-");
		buf_puts(out, "</span><div class=hm>");
		for (k = 0; k < n; k++) {
			const msgpack_object *u = mpr_get(v[k].row, "usage");
			const char *cls = h_heat_class(
			    mpr_getn(u, lims[l]->via.str.ptr, lims[l]->via.str.size), &pct);

			/* no link: the cells are in the glance table's order, whose rows link */
			buf_printf(out, "<i class=%s title=\"", cls);
			h_text(out, mpr_get(v[k].row, "host"), H_NAME_MAX, "-");
			if (pct >= 0)
				buf_printf(out, " %.0f%%", pct);
			buf_puts(out, "\"></i>");
		}
		buf_puts(out, "</div></div>\n");
	}
}

/* ---- hosts with findings, the others folded ---- */

/* 1 when a host's chart for limit lim was drawn already. */
static int
h_drawn(const msgpack_object **drawn, size_t nd, const msgpack_object *lim)
{
	size_t i;

	for (i = 0; i < nd; i++)
		if (mpr_streq2(drawn[i], lim))
			return 1;
	return 0;
}

/* The charts of the limits a host's findings are about (its nearest when none is). */
static void
h_host_charts(struct buf *out, const msgpack_object *h, const msgpack_object *nearest, size_t k)
{
	const msgpack_object *findings = mpr_get(h, "findings"), *drawn[8], *lim;
	const msgpack_object *usage = mpr_get(h, "usage");
	size_t i, nd = 0;

	for (i = 0; i <= mpr_arrsize(findings) && nd < NELEM(drawn); i++) {
		lim = i < mpr_arrsize(findings) ? mpr_get(&findings->via.array.ptr[i], "limit")
		                                : (nd == 0 ? mpr_get(nearest, "limit") : NULL);
		if (!mpr_is_str(lim) || h_drawn(drawn, nd, lim) || h_history(h, lim) == NULL)
			continue;
		drawn[nd++] = lim;
		h_band_chart(out, h, lim, h_history(h, lim),
		             mpr_getn(usage, lim->via.str.ptr, lim->via.str.size), k * 8 + nd);
	}
}

static void
h_finding_hosts(struct buf *out, const struct h_host *v, size_t n)
{
	size_t k, nf = 0;

	for (k = 0; k < n; k++)
		nf += v[k].findings != 0;
	buf_printf(out, "<h2 id=findings>Hosts with findings (%zu)</h2>\n", nf);
	if (nf == 0) {
		buf_puts(out, "<p>No host has an open finding.</p>\n");
		return;
	}
	buf_puts(out, "<p class=legend>Charts: each day's lowest to highest use (band), its "
	              "peaks (line), the limit (solid), the warn (dashed) and crit marks.</p>\n");
	for (k = 0; k < n; k++) {
		const msgpack_object *h = v[k].row, *o;
		const char *cls = h_status_class(mpr_get(h, "status"));

		if (!v[k].findings)
			continue;
		buf_puts(out, "<section id=");
		h_anchor(out, k);
		buf_puts(out, "><h3>");
		h_text(out, mpr_get(h, "host"), H_NAME_MAX, "-");
		buf_printf(out, " <b class=s-%s>%s</b></h3>\n<p class=meta>", cls, cls);
		h_text(out, mpr_get(h, "os"), 64, "unknown OS");
		if ((o = mpr_get(h, "last_seen")) != NULL) {
			buf_puts(out, ", last seen ");
			h_text(out, o, 40, "never");
		}
		buf_puts(out, "</p>\n");
		h_host_charts(out, h, v[k].nearest, k);
		h_findings(out, h);
		h_usage_table(out, h);
		buf_puts(out, "</section>\n");
	}
}

/* The hosts without findings: one row each, folded. */
static void
h_folded(struct buf *out, const struct h_host *v, size_t n)
{
	const msgpack_object *lims[H_HEAT_MAX];
	size_t nl = h_heat_limits(v, n, lims), k, l, nq = 0;
	double pct;

	for (k = 0; k < n; k++)
		nq += !v[k].findings;
	if (nq == 0)
		return;
	buf_printf(out,
	           "<h2 id=others>Hosts without findings</h2>\n<details><summary>%zu host%s: "
	           "use%% of each limit</summary>\n<table class=fo><tr><th>Host<th>Status",
	           nq, nq == 1 ? "" : "s");
	for (l = 0; l < nl; l++) {
		buf_puts(out, "<th class=n>");
		h_text(out, lims[l], 64, "-");
	}
	buf_puts(out, "<th>Last seen</tr>\n");
	for (k = 0; k < n; k++) {
		const msgpack_object *h = v[k].row, *u = mpr_get(h, "usage");

		if (v[k].findings)
			continue;
		buf_puts(out, "<tr id=");
		h_anchor(out, k);
		buf_puts(out, "><td>");
		h_text(out, mpr_get(h, "host"), H_NAME_MAX, "-");
		buf_printf(out, "<td>%s", h_status_class(mpr_get(h, "status")));
		for (l = 0; l < nl; l++) {
			const char *cls = h_heat_class(
			    mpr_getn(u, lims[l]->via.str.ptr, lims[l]->via.str.size), &pct);

			if (pct >= 0)
				buf_printf(out, "<td class=\"n %s\">%.1f%%", cls, pct);
			else
				buf_printf(out, "<td class=n>%s",
				           strcmp(cls, "qu") == 0 ? "?" : "-");
		}
		buf_puts(out, "<td>");
		h_text(out, mpr_get(h, "last_seen"), 40, "never");
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "</table>\n</details>\n");
}

/* ---- recommended changes, by file across hosts ---- */

struct h_rec {
	const msgpack_object *file, *line; /* strings; file NULL when none given */
	int reboot;
	size_t host; /* sorted index */
};

static int
h_str_cmp(const msgpack_object *a, const msgpack_object *b)
{
	size_t n;
	int c;

	if (a == NULL || b == NULL)
		return a == NULL ? (b == NULL ? 0 : 1) : -1;
	n = a->via.str.size < b->via.str.size ? a->via.str.size : b->via.str.size;
	if ((c = memcmp(a->via.str.ptr, b->via.str.ptr, n)) != 0)
		return c;
	return a->via.str.size < b->via.str.size ? -1 : a->via.str.size > b->via.str.size;
}

/* By file, reboot, line, then the hosts' order (worst first). */
static int
h_rec_cmp(const void *pa, const void *pb)
{
	const struct h_rec *a = pa, *b = pb;
	int c;

	if ((c = h_str_cmp(a->file, b->file)) != 0)
		return c;
	if (a->reboot != b->reboot)
		return a->reboot - b->reboot;
	if ((c = h_str_cmp(a->line, b->line)) != 0)
		return c;
	return a->host < b->host ? -1 : a->host > b->host;
}

static size_t
h_recs_gather(const struct h_host *v, size_t n, struct h_rec *r, size_t max, size_t *left)
{
	size_t k, i, nr = 0;

	*left = 0;
	for (k = 0; k < n; k++) {
		const msgpack_object *recs = mpr_get(v[k].row, "recommendations");

		for (i = 0; i < mpr_arrsize(recs) && i < RT_MAX_RECS; i++) {
			const msgpack_object *x = &recs->via.array.ptr[i], *f = mpr_get(x, "file");

			if (!mpr_true(mpr_get(x, "needs_change")) ||
			    !mpr_is_str(mpr_get(x, "line")))
				continue;
			if (nr == max) {
				(*left)++;
				continue;
			}
			r[nr].file = mpr_is_str(f) ? f : NULL;
			r[nr].line = mpr_get(x, "line");
			r[nr].reboot =
			    mpr_true(mpr_get(x, "reboot")) || mpr_streq(f, "/boot/loader.conf");
			r[nr].host = k;
			nr++;
		}
	}
	qsort(r, nr, sizeof(*r), h_rec_cmp);
	return nr;
}

static void
h_recs(struct buf *out, const struct h_host *v, size_t n)
{
	struct h_rec *r;
	size_t nr, i, j, k, left;

	buf_puts(out, "<h2 id=changes>Recommended changes</h2>\n");
	if ((r = calloc(H_RECS_ROWS, sizeof(*r))) == NULL) {
		out->failed = 1;
		return;
	}
	nr = h_recs_gather(v, n, r, H_RECS_ROWS, &left);
	if (nr == 0)
		buf_puts(out, "<p>No changes recommended.</p>\n");
	for (i = 0; i < nr; i = j) {
		size_t hosts = 0;
		int newfile = i == 0 || h_str_cmp(r[i - 1].file, r[i].file) != 0 ||
		              r[i - 1].reboot != r[i].reboot;

		for (j = i; j < nr && h_str_cmp(r[j].file, r[i].file) == 0 &&
		            r[j].reboot == r[i].reboot && h_str_cmp(r[j].line, r[i].line) == 0;
		     j++)
			hosts += j == i || r[j].host != r[j - 1].host; /* one line for two limits */
		if (newfile) {
			if (i > 0)
				buf_puts(out, "</table>\n");
			buf_puts(out, "<h3><code>");
			h_text(out, r[i].file, 200, "(no file given)");
			buf_printf(out,
			           "</code> <span class=%s>%s</span></h3>\n<table class=rc>"
			           "<tr><th>Line<th class=n>Hosts<th>Which</tr>\n",
			           r[i].reboot ? "rb" : "live",
			           r[i].reboot ? "takes effect after a reboot"
			                       : "no reboot needed");
		}
		buf_puts(out, "<tr><td><code>");
		h_text(out, r[i].line, 200, "");
		buf_printf(out, "</code><td class=n>%zu<td>", hosts);
		for (k = i; k < j; k++) {
			if (k > i && r[k].host == r[k - 1].host)
				continue;
			buf_puts(out, k > i ? ", <a href=#" : "<a href=#");
			h_anchor(out, r[k].host);
			buf_puts(out, ">");
			h_text(out, mpr_get(v[r[k].host].row, "host"), H_NAME_MAX, "-");
			buf_puts(out, "</a>");
		}
		buf_puts(out, "</tr>\n");
	}
	if (nr > 0)
		buf_puts(out, "</table>\n");
	if (left > 0)
		buf_printf(out,
		           "<p>And %zu more recommended lines, not listed: <code>ipcfleet report "
		           "--format csv</code> lists every host's.</p>\n",
		           left);
	free(r);
}

static const char h_head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>ipcfleet capacity report</title>\n"
    "<style>\n"
    "body{font:14px/1.4 system-ui,-apple-system,\"Segoe UI\",Helvetica,Arial,sans-serif;"
    "margin:20px auto;max-width:1100px;padding:0 16px;color:#1d2330;background:#fff}\n"
    "h1{font-size:22px;margin:0 0 4px}\n"
    "h2{font-size:18px;margin:28px 0 6px;padding-bottom:4px;border-bottom:1px solid #d7dbe3}\n"
    "h3{font-size:15px;margin:16px 0 4px}\nh4{font-size:14px;margin:10px 0 2px}\n"
    ".meta{color:#5b6372;margin:2px 0}.legend{color:#5b6372;font-size:12px}\n"
    "b[class^=s-]{display:inline-block;padding:0 7px;border-radius:8px;font-size:11px;"
    "color:#fff;text-transform:uppercase}\n"
    ".s-ok{background:#2e7d32}.s-warn{background:#b26a00}.s-crit{background:#c62828}"
    ".s-stale,.s-unknown{background:#6b7280}\n"
    "table{border-collapse:collapse;margin:6px 0}\n"
    "th,td{padding:2px 8px;text-align:left;border-bottom:1px solid #eceef2;vertical-align:middle}\n"
    "th{font-weight:600;color:#5b6372}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".chg{font-weight:600}a{color:#1d4ed8}\n"
    "tr.f-crit td:first-child{color:#c62828;font-weight:700}\n"
    "tr.f-warn td:first-child{color:#b26a00;font-weight:700}\n"
    "code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}\n"
    ".rb{color:#c62828;font-weight:400}.live{color:#2e7d32;font-weight:400}\n"
    "svg text{font-size:11px;fill:#1d2330}\n"
    "svg.sp{display:block}svg.sp path{fill:none;stroke:#1d4ed8;stroke-width:1.5}\n"
    "svg.ch{display:block;margin:6px 0;max-width:100%;height:auto}\n"
    "svg .pa{fill:#f7f8fa}svg .band{fill:#93c5fd}svg .pk{fill:none;stroke:#1d4ed8;"
    "stroke-width:1.5}svg .lm{stroke:#1d2330;stroke-width:2}\n"
    "svg .wm{stroke:#b26a00;stroke-width:1.5;stroke-dasharray:4 3}"
    "svg .cm{stroke:#c62828;stroke-width:1.5;stroke-dasharray:8 3}\n"
    ".hr{display:flex;align-items:flex-start;margin:4px 0}"
    ".hl{width:70px;flex:none;font-size:12px;font-family:ui-monospace,Menlo,monospace}\n"
    ".hm{display:flex;flex-wrap:wrap;gap:1px;max-width:1010px}"
    ".hm i,.legend i{display:inline-block;width:9px;height:9px}\n"
    ".q0{background:#d9ead3}.q1{background:#93c47d}.q2{background:#ffd966}"
    ".q3{background:#f6a04d}.q4{background:#cc0000}.qu{background:#999}"
    ".qn{background:#eee}\n"
    "td.q3{background:#fde7cf}td.q4{background:#f8d0d0}td.q0,td.q1,td.q2{background:none}\n"
    "summary{cursor:pointer;font-weight:600;margin:6px 0}\n"
    "nav a{margin-right:14px}\n"
    "@media print{details{display:block}.hm i{print-color-adjust:exact}}\n"
    "</style>\n</head>\n<body>\n";

int
render_report_html(const msgpack_object *body, struct buf *out)
{
	const msgpack_object *hosts = mpr_get(body, "hosts"), *gen;
	size_t n, i, nohist = 0;
	struct h_host *v;

	if (body == NULL || body->type != MSGPACK_OBJECT_MAP || hosts == NULL ||
	    hosts->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	if ((v = h_hosts_sorted(hosts, &n)) == NULL)
		return -1;
	gen = mpr_get(body, "generated");
	buf_puts(out, h_head);
	buf_puts(out, "<h1>ipcfleet capacity report</h1>\n<p class=meta>");
	if (gen != NULL) {
		buf_puts(out, "Generated ");
		h_text(out, gen, 40, "-");
		buf_puts(out, ". ");
	}
	for (i = 0; i < n; i++)
		nohist += mpr_get(v[i].row, "history") != NULL &&
		          mpr_get(v[i].row, "history")->type == MSGPACK_OBJECT_NIL;
	rt_host_counts(out, hosts);
	buf_puts(out, ".</p>\n");
	if (nohist > 0)
		buf_printf(out,
		           "<p class=meta>%zu host%s without a history: none stored yet, or past "
		           "what one report reply carries.</p>\n",
		           nohist, nohist == 1 ? "" : "s");
	if (n == 0) {
		buf_puts(out, "<p>No hosts have reported yet.</p>\n");
	} else {
		buf_puts(out,
		         "<nav><a href=#glance>At a glance</a><a href=#heat>Use of each limit</a>"
		         "<a href=#findings>Hosts with findings</a><a href=#others>Other hosts</a>"
		         "<a href=#changes>Recommended changes</a></nav>\n");
		h_glance(out, v, n, gen);
		h_heat(out, v, n);
		h_finding_hosts(out, v, n);
		h_folded(out, v, n);
		h_recs(out, v, n);
	}
	buf_puts(out, "<p class=legend>ipcfleet " IPCFLEET_VERSION "</p>\n</body>\n</html>\n");
	free(v);
	return buf_failed(out) ? -1 : 0;
}
