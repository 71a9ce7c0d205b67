/*
 * render_html.c: the capacity report as one self-contained HTML file
 * (cli.h): inline CSS, inline SVG bar charts, no script, and no reference
 * to anything outside the document (a Content-Security-Policy forbids loads
 * as well).  Readable offline in any browser, printable, mailable.
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

#include "cli.h"
#include "util.h"

#define H_TEXT_MAX   400 /* bytes of one free-text field */
#define H_MAX_GROUPS 16

/* The chart: label column, bar area, value text; pixels. */
#define H_LABEL_W 110
#define H_BAR_W   360
#define H_ROW_H   24
#define H_CHART_W 820

static void
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
static void
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
	buf_puts(out, num ? "<td class=\"n\">" : "<td>");
	h_text(out, o, H_TEXT_MAX, "-");
	buf_puts(out, "</td>");
}

static void
h_cell_pct(struct buf *out, const msgpack_object *o)
{
	double v;

	if (mpr_num(o, &v) == 0)
		buf_printf(out, "<td class=\"n\">%.1f%%</td>", v);
	else
		buf_puts(out, "<td class=\"n\">-</td>");
}

static void
h_cell_change(struct buf *out, const msgpack_object *rec)
{
	if (rec == NULL)
		buf_puts(out, "<td>-</td>");
	else if (!mpr_true(mpr_get(rec, "needs_change")))
		buf_puts(out, "<td>no</td>");
	else if (mpr_true(mpr_get(rec, "reboot")))
		buf_puts(out, "<td class=\"chg\">yes, reboot</td>");
	else
		buf_puts(out, "<td class=\"chg\">yes</td>");
}

/* The usage chart of one host: one bar per counted limit, marks at warn/crit. */
static void
h_chart(struct buf *out, const msgpack_object *h, size_t hi)
{
	const msgpack_object *usage = mpr_get(h, "usage");
	size_t i, rows = 0;
	double used, limit, pct, warn, crit, w, y;

	for (i = 0; i < mpr_mapsize(usage); i++) {
		const msgpack_object *it = &usage->via.map.ptr[i].val;

		if (mpr_num(mpr_get(it, "used"), &used) == 0 &&
		    mpr_num(mpr_get(it, "limit"), &limit) == 0 && limit > 0)
			rows++;
	}
	if (rows == 0)
		return;
	buf_printf(out,
	           "<svg class=\"chart\" width=\"%d\" height=\"%zu\" viewBox=\"0 0 %d %zu\" "
	           "role=\"img\" aria-labelledby=\"chart-%zu\"><title id=\"chart-%zu\">",
	           H_CHART_W, rows * H_ROW_H + 8, H_CHART_W, rows * H_ROW_H + 8, hi, hi);
	h_text(out, mpr_get(h, "host"), 128, "-");
	buf_puts(out, ": usage of each limit</title>\n");
	rows = 0;
	for (i = 0; i < mpr_mapsize(usage); i++) {
		const msgpack_object_kv *kv = &usage->via.map.ptr[i];
		const char *cls;

		if (mpr_num(mpr_get(&kv->val, "used"), &used) == -1 ||
		    mpr_num(mpr_get(&kv->val, "limit"), &limit) == -1 || !(limit > 0))
			continue;
		rt_thresholds(&kv->val, &warn, &crit);
		pct = used / limit * 100.0;
		if (mpr_num(mpr_get(&kv->val, "pct"), &w) == 0)
			pct = w; /* the document's own rounding */
		cls = pct >= crit ? "crit" : pct >= warn ? "warn" : "ok";
		w = used <= 0 ? 0 : used >= limit ? H_BAR_W : used / limit * H_BAR_W;
		y = 4.0 + (double)rows * H_ROW_H;
		buf_printf(out, "<text x=\"0\" y=\"%.0f\">", y + 15);
		h_text(out, &kv->key, 64, "-");
		buf_printf(out,
		           "</text><rect class=\"bg\" x=\"%d\" y=\"%.0f\" width=\"%d\" "
		           "height=\"16\"/>",
		           H_LABEL_W, y + 3, H_BAR_W);
		buf_printf(out,
		           "<rect class=\"%s\" x=\"%d\" y=\"%.0f\" width=\"%.1f\" height=\"16\"/>",
		           cls, H_LABEL_W, y + 3, w);
		buf_printf(out,
		           "<line class=\"wm\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>"
		           "<line class=\"cm\" x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\"/>",
		           H_LABEL_W + H_BAR_W * warn / 100.0, y,
		           H_LABEL_W + H_BAR_W * warn / 100.0, y + 22,
		           H_LABEL_W + H_BAR_W * crit / 100.0, y,
		           H_LABEL_W + H_BAR_W * crit / 100.0, y + 22);
		buf_printf(out, "<text x=\"%d\" y=\"%.0f\">", H_LABEL_W + H_BAR_W + 10, y + 15);
		h_text(out, mpr_get(&kv->val, "used"), 32, "-");
		buf_puts(out, " of ");
		h_text(out, mpr_get(&kv->val, "limit"), 32, "-");
		buf_printf(out, " (%.1f%%)</text>\n", pct);
		rows++;
	}
	buf_puts(out, "</svg>\n");
}

static void
h_usage_table(struct buf *out, const msgpack_object *h)
{
	const msgpack_object *usage = mpr_get(h, "usage"), *recs = mpr_get(h, "recommendations");
	const msgpack_object *rec;
	size_t i;

	if (mpr_mapsize(usage) == 0 && mpr_arrsize(recs) == 0)
		return;
	buf_puts(out, "<table class=\"usage\"><tr><th>Limit</th><th class=\"n\">Used</th>"
	              "<th class=\"n\">Current</th><th class=\"n\">Use%</th>"
	              "<th class=\"n\">Peak</th><th class=\"n\">Recommended</th>"
	              "<th>Change</th></tr>\n");
	for (i = 0; i < mpr_mapsize(usage); i++) {
		const msgpack_object_kv *kv = &usage->via.map.ptr[i];

		rec = rt_rec_for(recs, &kv->key);
		buf_puts(out, "<tr>");
		h_cell(out, &kv->key, 0);
		if (table_usage_unknown(&kv->val)) {
			/* unknown is never 0: "?", and why on hover and in print */
			buf_puts(out, "<td class=\"n unk\" title=\"");
			h_text(out, mpr_get(&kv->val, "unknown"), H_TEXT_MAX, "-");
			buf_puts(out, "\">?</td>");
			h_cell(out, mpr_get(&kv->val, "limit"), 1);
			buf_puts(out, "<td class=\"n\">?</td>");
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
		buf_puts(out, "<td class=\"n\">-</td>");
		h_cell(out, mpr_get(rec, "current"), 1);
		buf_puts(out, "<td class=\"n\">-</td>");
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
	buf_puts(out, "<table class=\"findings\"><tr><th>Severity</th><th>Kind</th>"
	              "<th>Limit</th><th>Scope</th><th>Message</th></tr>\n");
	buf_init(&cmd, 1024);
	for (i = 0; i < mpr_arrsize(findings); i++) {
		const msgpack_object *f = &findings->via.array.ptr[i];
		static const char *const sev[] = {"crit", "warn", "info", "other"};
		int r = table_severity_rank(mpr_get(f, "severity"));

		buf_printf(out, "<tr class=\"f-%s\"><td>%s</td>", sev[r], r < 3 ? sev[r] : "-");
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
		buf_puts(out, "</td></tr>\n");
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

/* Paste-ready lines of the changes, grouped by file and reboot. */
static void
h_recs(struct buf *out, const msgpack_object *recs)
{
	const msgpack_object *gfile[H_MAX_GROUPS];
	int greboot[H_MAX_GROUPS];
	size_t ng = 0, g, i, n = mpr_arrsize(recs), changes = 0;

	if (recs == NULL)
		return;
	if (n > RT_MAX_RECS)
		n = RT_MAX_RECS;
	buf_puts(out, "<h3>Recommended changes</h3>\n");
	for (i = 0; i < n; i++) {
		const msgpack_object *r = &recs->via.array.ptr[i], *f = mpr_get(r, "file");
		int rb = mpr_true(mpr_get(r, "reboot"));

		if (!mpr_true(mpr_get(r, "needs_change")) || !mpr_is_str(mpr_get(r, "line")))
			continue;
		changes++;
		if (!mpr_is_str(f))
			f = NULL;
		for (g = 0; g < ng; g++)
			if (greboot[g] == rb && (mpr_streq2(gfile[g], f) || (gfile[g] == f)))
				break;
		if (g == ng && ng < H_MAX_GROUPS) {
			gfile[ng] = f;
			greboot[ng++] = rb;
		}
	}
	if (changes == 0) {
		buf_puts(out, "<p>No changes recommended.</p>\n");
		return;
	}
	for (g = 0; g < ng; g++) {
		int reboot = greboot[g] || mpr_streq(gfile[g], "/boot/loader.conf");

		buf_puts(out, "<h4><code>");
		h_text(out, gfile[g], 200, "(no file given)");
		buf_printf(out, "</code> <span class=\"%s\">%s</span></h4>\n<pre>",
		           reboot ? "rb" : "live",
		           reboot ? "takes effect after a reboot" : "no reboot needed");
		for (i = 0; i < n; i++) {
			const msgpack_object *r = &recs->via.array.ptr[i], *f = mpr_get(r, "file");
			const msgpack_object *line = mpr_get(r, "line");

			if (!mpr_is_str(f))
				f = NULL;
			if (!mpr_true(mpr_get(r, "needs_change")) || !mpr_is_str(line) ||
			    mpr_true(mpr_get(r, "reboot")) != greboot[g] ||
			    !(mpr_streq2(gfile[g], f) || gfile[g] == f))
				continue;
			h_text(out, line, 200, "");
			buf_puts(out, "\n");
		}
		buf_puts(out, "</pre>\n");
	}
}

static const char h_head[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
    "style-src 'unsafe-inline'\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>ipcfleet capacity report</title>\n"
    "<style>\n"
    "body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Helvetica,Arial,sans-serif;"
    "margin:24px auto;max-width:1000px;padding:0 16px;color:#1d2330;background:#fff}\n"
    "h1{font-size:22px;margin:0 0 4px}\n"
    "h2{font-size:18px;margin:32px 0 6px;padding-bottom:4px;border-bottom:1px solid #d7dbe3}\n"
    "h3{font-size:15px;margin:16px 0 4px}\nh4{font-size:14px;margin:10px 0 2px}\n"
    ".meta{color:#5b6372;margin:2px 0}\n"
    ".badge{display:inline-block;padding:1px 9px;border-radius:9px;font-size:12px;"
    "font-weight:600;color:#fff;vertical-align:middle;text-transform:uppercase}\n"
    ".b-ok{background:#2e7d32}.b-warn{background:#b26a00}.b-crit{background:#c62828}"
    ".b-stale,.b-unknown{background:#6b7280}\n"
    "table{border-collapse:collapse;margin:6px 0}\n"
    "th,td{padding:3px 10px;text-align:left;border-bottom:1px solid #eceef2;"
    "vertical-align:top}\n"
    "th{font-weight:600;color:#5b6372}\n"
    ".n{text-align:right;font-variant-numeric:tabular-nums}\n"
    ".chg{font-weight:600}\n"
    "tr.f-crit td:first-child{color:#c62828;font-weight:700}\n"
    "tr.f-warn td:first-child{color:#b26a00;font-weight:700}\n"
    "code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px}\n"
    "pre{background:#f5f6f8;padding:8px 10px;border-radius:4px;overflow-x:auto;"
    "margin:4px 0 8px}\n"
    ".rb{color:#c62828;font-weight:400}.live{color:#2e7d32;font-weight:400}\n"
    "svg.chart{display:block;margin:8px 0;max-width:100%;height:auto}\n"
    "svg text{font-size:12px;fill:#1d2330}\n"
    "svg .bg{fill:#eceef2}svg .ok{fill:#43a047}svg .warn{fill:#f0a000}"
    "svg .crit{fill:#d32f2f}\n"
    "svg .wm{stroke:#b26a00;stroke-width:2;stroke-dasharray:3 2}"
    "svg .cm{stroke:#c62828;stroke-width:2}\n"
    "nav{margin:10px 0}nav a{margin-right:14px;color:#1d4ed8}\n"
    ".legend{color:#5b6372;font-size:12px}\n"
    "</style>\n</head>\n<body>\n";

int
render_report_html(const msgpack_object *body, struct buf *out)
{
	const msgpack_object *hosts = mpr_get(body, "hosts");
	size_t *idx, n, i, cnt[5] = {0, 0, 0, 0, 0};
	static const char *const names[] = {"crit", "warn", "stale", "ok", "other"};
	int r, first = 1;

	if (body == NULL || body->type != MSGPACK_OBJECT_MAP || hosts == NULL ||
	    hosts->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	if ((idx = rt_hosts_worst_first(hosts, &n)) == NULL)
		return -1;
	buf_puts(out, h_head);
	buf_puts(out, "<h1>ipcfleet capacity report</h1>\n<p class=\"meta\">");
	if (mpr_get(body, "generated") != NULL) {
		buf_puts(out, "Generated ");
		h_text(out, mpr_get(body, "generated"), 40, "-");
		buf_puts(out, ". ");
	}
	for (i = 0; i < n; i++)
		cnt[table_status_rank(mpr_get(&hosts->via.array.ptr[i], "status"))]++;
	buf_printf(out, "%zu host%s", n, n == 1 ? "" : "s");
	for (r = 0; r < 5; r++) {
		if (cnt[r] == 0)
			continue;
		buf_printf(out, "%s %zu %s", first ? ":" : ",", cnt[r], names[r]);
		first = 0;
	}
	buf_puts(out, ", worst first.</p>\n");
	buf_printf(out,
	           "<p class=\"legend\">Bars show each limit's use; the dashed mark is "
	           "the warning level, the solid mark the critical level (%.0f%% and %.0f%% "
	           "unless configured otherwise).</p>\n",
	           RENDER_WARN_PCT, RENDER_CRIT_PCT);
	if (n > 1) {
		buf_puts(out, "<nav>");
		for (i = 0; i < n; i++) {
			buf_printf(out, "<a href=\"#host-%zu\">", i);
			h_text(out, mpr_get(&hosts->via.array.ptr[idx[i]], "host"), 128, "-");
			buf_puts(out, "</a>");
		}
		buf_puts(out, "</nav>\n");
	}
	for (i = 0; i < n; i++) {
		const msgpack_object *h = &hosts->via.array.ptr[idx[i]], *o;
		const char *cls = h_status_class(mpr_get(h, "status"));

		buf_printf(out, "<section id=\"host-%zu\">\n<h2>", i);
		h_text(out, mpr_get(h, "host"), 128, "-");
		buf_printf(out, " <span class=\"badge b-%s\">%s</span></h2>\n<p class=\"meta\">",
		           cls, cls);
		h_text(out, mpr_get(h, "os"), 64, "unknown OS");
		if ((o = mpr_get(h, "last_seen")) != NULL) {
			buf_puts(out, ", last seen ");
			h_text(out, o, 40, "never");
		}
		buf_puts(out, "</p>\n");
		h_chart(out, h, i);
		h_usage_table(out, h);
		h_findings(out, h);
		h_recs(out, mpr_get(h, "recommendations"));
		buf_puts(out, "</section>\n");
	}
	if (n == 0)
		buf_puts(out, "<p>No hosts have reported yet.</p>\n");
	buf_puts(out, "<p class=\"legend\">ipcfleet " IPCFLEET_VERSION "</p>\n</body>\n</html>\n");
	free(idx);
	return buf_failed(out) ? -1 : 0;
}
