/*
 * test_report_html.c: the redesigned HTML report (issue 15) on a small
 * fleet, byte for byte where it matters: worst first (status, then the
 * sooner exhaustion, then the higher use%), the sparkline of the nearest
 * limit's daily peaks (not another limit's), charts only for hosts with
 * findings, the others folded, recommendations grouped by file and line
 * across hosts, hostile names cleaned and escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"
#include "fixture_doc.h"
#include "util.h"

/* Days of a series: -1 is a day without figures (nil). */
static void
days(msgpack_packer *pk, const char *k, const int *v, size_t n)
{
	size_t i;

	s(pk, k);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		if (v[i] < 0)
			msgpack_pack_nil(pk);
		else
			msgpack_pack_uint64(pk, (uint64_t)v[i]);
}

/* One host row as the aggregator's report sends it. */
struct host {
	const char *name, *status;
	const char *nearest;  /* limit, NULL: nearest nil */
	double pct;           /* of nearest */
	const char *exhaust;  /* NULL: nil */
	const char *finding;  /* a finding's limit, NULL: no findings */
	const char *rec_file; /* NULL: no recommendation */
	const char *rec_line;
};

static const int peaks_semmns[4] = {10, 20, -1, 40};
static const int lows_semmns[4] = {5, 15, -1, 30};
static const int peaks_semmni[4] = {7, 7, 7, 7};

static void
host_row(msgpack_packer *pk, const struct host *h)
{
	msgpack_pack_map(pk, 9);
	ks(pk, "host", h->name);
	ks(pk, "os", "Linux");
	ks(pk, "status", h->status);
	ks(pk, "last_seen", "2026-11-26T14:00:00Z");
	s(pk, "usage");
	msgpack_pack_map(pk, 2);
	s(pk, "semmns");
	msgpack_pack_map(pk, 5);
	ku(pk, "used", 38);
	ku(pk, "limit", 40);
	kf(pk, "pct", 95.0);
	kf(pk, "warn", 80.0);
	kf(pk, "crit", 90.0);
	s(pk, "semmni");
	msgpack_pack_map(pk, 3);
	ku(pk, "used", 7);
	ku(pk, "limit", 10);
	kf(pk, "pct", 70.0);
	s(pk, "findings");
	if (h->finding != NULL) {
		msgpack_pack_array(pk, 1);
		msgpack_pack_map(pk, 4);
		ks(pk, "kind", "threshold");
		ks(pk, "severity", h->status);
		ks(pk, "limit", h->finding);
		ks(pk, "message", "near its limit");
	} else {
		msgpack_pack_array(pk, 0);
	}
	s(pk, "recommendations");
	if (h->rec_file != NULL) {
		/* Linux: semmns and semmni are both set by one kernel.sem line */
		size_t k, nrec = strcmp(h->rec_line, "kernel.sem = 250 64000 32 256") == 0 ? 2 : 1;

		msgpack_pack_array(pk, nrec);
		for (k = 0; k < nrec; k++) {
			msgpack_pack_map(pk, 5);
			ks(pk, "limit", k == 0 ? "semmns" : "semmni");
			s(pk, "needs_change");
			msgpack_pack_true(pk);
			s(pk, "reboot");
			msgpack_pack_false(pk);
			ks(pk, "file", h->rec_file);
			ks(pk, "line", h->rec_line);
		}
	} else {
		msgpack_pack_array(pk, 0);
	}
	s(pk, "nearest");
	if (h->nearest == NULL) {
		msgpack_pack_nil(pk);
	} else {
		msgpack_pack_map(pk, 4);
		ks(pk, "limit", h->nearest);
		kf(pk, "pct", h->pct);
		ku(pk, "free", 2);
		s(pk, "exhaust_at");
		if (h->exhaust != NULL)
			s(pk, h->exhaust);
		else
			msgpack_pack_nil(pk);
	}
	s(pk, "history");
	msgpack_pack_map(pk, 3);
	ks(pk, "from", "2026-11-23T00:00:00Z");
	ku(pk, "days", 4);
	s(pk, "limits");
	msgpack_pack_map(pk, 2);
	s(pk, "semmns");
	msgpack_pack_map(pk, 2);
	days(pk, "max", peaks_semmns, 4);
	days(pk, "min", lows_semmns, 4);
	s(pk, "semmni");
	msgpack_pack_map(pk, 1);
	days(pk, "max", peaks_semmni, 4);
}

#define EVIL "\x1b[31mevil<script>\xe2\x80\xae"

static const struct host fleet[] = {
    /* in the reply's order, not the report's */
    {"ok-a", "ok", "semmni", 70.0, NULL, NULL, NULL, NULL},
    {"warn-d", "warn", "semmni", 85.0, NULL, "semmni", NULL, NULL},
    {"warn-c", "warn", "semmni", 70.0, "2026-12-24T03:00:00Z", "semmni", "/etc/sysctl.conf",
     "kernel.sem = 250 64000 32 256"},
    {EVIL, "ok", "semmni", 70.0, NULL, NULL, "/boot/loader.conf", "kern.ipc.semmni=64"},
    {"crit-b", "crit", "semmns", 95.0, "2026-11-26T14:05:00Z", "semmns", "/etc/sysctl.conf",
     "kernel.sem = 250 64000 32 256"},
};

static void
render_fleet(struct doc *d, struct buf *out)
{
	msgpack_packer *pk = doc_begin(d);
	size_t i;

	msgpack_pack_map(pk, 2);
	ks(pk, "generated", "2026-11-26T14:05:00Z");
	s(pk, "hosts");
	msgpack_pack_array(pk, NELEM(fleet));
	for (i = 0; i < NELEM(fleet); i++)
		host_row(pk, &fleet[i]);
	buf_init(out, 1 << 20);
	assert_int_equal(render_report_html(doc_end(d), out), 0);
	assert_non_null(buf_cstr(out));
	if (getenv("DUMP_HTML") != NULL)
		fputs(out->data, stderr);
}

static const char *
must(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (p == NULL)
		fail_msg("not in the report: %s", needle);
	return p;
}

static void
test_glance_order(void **state)
{
	struct doc d;
	struct buf out;
	const char *a, *b, *c, *dd, *e;

	(void)state;
	render_fleet(&d, &out);
	/* crit first; among warn the forecast date before the higher use%; ok last, as received */
	a = must(out.data, "<tr><td><a href=#h0>crit-b</a><td><b class=s-crit>crit</b><td>semmns"
	                   "<td class=n>95.0%<td>now<td class=n>2<td>");
	b = must(out.data, "<tr><td><a href=#h1>warn-c</a><td><b class=s-warn>warn</b><td>semmni"
	                   "<td class=n>70.0%<td>2026-12-24<td class=n>2<td>");
	c = must(out.data, "<tr><td><a href=#h2>warn-d</a><td><b class=s-warn>warn</b><td>semmni"
	                   "<td class=n>85.0%<td>-<td class=n>2<td>");
	dd = must(out.data, "<a href=#h3>ok-a</a>");
	e = must(out.data, "<a href=#h4>?[31mevil&lt;script&gt;?</a>");
	assert_true(a < b && b < c && c < dd && dd < e);
	doc_free(&d);
	buf_free(&out);
}

static void
test_sparkline_of_nearest(void **state)
{
	struct doc d;
	struct buf out;
	const char *row, *next;

	(void)state;
	render_fleet(&d, &out);
	/* crit-b's nearest is semmns: its peaks 10 20 - 40, the gap a gap, the lone day a dash */
	row = must(out.data, ">crit-b</a>");
	next = must(row, "</tr>");
	assert_true(
	    must(row, "<svg class=sp width=90 height=20><title>peak 40</title><path d=\"M0 14L30 "
	              "10M90 2h2\"/></svg></tr>") < next + 1);
	/* warn-c's is semmni: flat at 7, its own peak */
	row = must(out.data, ">warn-c</a>");
	assert_true(must(row, "<title>peak 7</title><path d=\"M0 2L30 2 60 2 90 2\"/>") <
	            must(row, "</tr>"));
	doc_free(&d);
	buf_free(&out);
}

static void
test_sections(void **state)
{
	struct doc d;
	struct buf out;
	const char *sec, *fold;

	(void)state;
	render_fleet(&d, &out);
	must(out.data, "<h2 id=findings>Hosts with findings (3)</h2>");
	/* a host with findings: a section with the chart of the limit its finding is about */
	sec = must(out.data, "<section id=h0><h3>crit-b <b class=s-crit>crit</b></h3>");
	must(sec, "<svg class=ch width=640 height=160 viewBox=\"0 0 640 160\" role=img "
	          "aria-labelledby=c1><title id=c1>crit-b: semmns, daily lowest and highest use "
	          "over 30 days</title>");
	must(sec, "<polygon class=band points=");
	must(sec, "<line class=wm ");
	must(sec, "<line class=cm ");
	must(sec, ">limit 40</text>");
	/* the others folded, one row each, not in a section of their own */
	fold = must(out.data, "<details><summary>2 hosts: use% of each limit</summary>");
	assert_true(must(out.data, "<tr id=h3><td>ok-a<td>ok<td class=\"n q4\">95.0%"
	                           "<td class=\"n q2\">70.0%") > fold);
	assert_null(strstr(out.data, "<section id=h3>"));
	/* the heat map: a cell per host and limit, worst first, coloured by its levels */
	must(out.data, "<div class=hm><i class=q4 title=\"crit-b 95%\"></i><i class=q4 "
	               "title=\"warn-c 95%\"></i>");
	doc_free(&d);
	buf_free(&out);
}

static void
test_recs_grouped(void **state)
{
	struct doc d;
	struct buf out;

	(void)state;
	render_fleet(&d, &out);
	/* one line, the hosts that need it (once each), by file; loader.conf says reboot */
	must(out.data, "<h3><code>&#47;boot&#47;loader.conf</code> <span class=rb>takes effect "
	               "after a reboot</span></h3>");
	must(out.data, "<tr><td><code>kern.ipc.semmni&#61;64</code><td class=n>1<td><a href=#h4>"
	               "?[31mevil&lt;script&gt;?</a></tr>");
	must(out.data, "<h3><code>&#47;etc&#47;sysctl.conf</code> <span class=live>no reboot "
	               "needed</span></h3>");
	must(out.data, "<tr><td><code>kernel.sem &#61; 250 64000 32 256</code><td class=n>2<td>"
	               "<a href=#h0>crit-b</a>, <a href=#h1>warn-c</a></tr>");
	doc_free(&d);
	buf_free(&out);
}

static void
test_hostile_cleaned(void **state)
{
	struct doc d;
	struct buf out;

	(void)state;
	render_fleet(&d, &out);
	/* no escape, no bidi override, no tag from a host name anywhere */
	assert_null(strchr(out.data, '\x1b'));
	assert_null(strstr(out.data, "\xe2\x80\xae"));
	assert_null(strstr(out.data, "<script"));
	must(out.data, "title=\"?[31mevil&lt;script&gt;? 95%\"");
	doc_free(&d);
	buf_free(&out);
}

/* The text report keeps its shape and gains the nearest limit's line. */
static void
test_text_nearest(void **state)
{
	struct doc d;
	struct buf out;
	msgpack_packer *pk = doc_begin(&d);

	(void)state;
	msgpack_pack_map(pk, 2);
	ks(pk, "generated", "2026-11-26T14:05:00Z");
	s(pk, "hosts");
	msgpack_pack_array(pk, 2);
	host_row(pk, &fleet[2]);
	host_row(pk, &fleet[3]);
	buf_init(&out, 1 << 20);
	assert_int_equal(render_report_text(doc_end(&d), &out), 0);
	assert_non_null(buf_cstr(&out));
	must(out.data, "warn-c (Linux): WARN, last seen 2026-11-26T14:00:00Z\n"
	               "  Nearest exhaustion: semmni at 70.0%, 2 free, runs out "
	               "2026-12-24T03:00:00Z\n  LIMIT ");
	must(out.data, "?[31mevil<script>? (Linux): OK, last seen 2026-11-26T14:00:00Z\n"
	               "  Nearest exhaustion: semmni at 70.0%, 2 free, no exhaustion forecast\n");
	doc_free(&d);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_glance_order),    cmocka_unit_test(test_sparkline_of_nearest),
	    cmocka_unit_test(test_sections),        cmocka_unit_test(test_recs_grouped),
	    cmocka_unit_test(test_hostile_cleaned), cmocka_unit_test(test_text_nearest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
