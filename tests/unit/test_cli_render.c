/*
 * test_cli_render.c: the CLI's renderings of reply bodies (aggregator/cli/
 * render_*.c), from canned bodies packed here with msgpack_packer and
 * unpacked as the CLI would receive them.  Outputs are compared byte for
 * byte.
 */
#include <ctype.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "buf.h"
#include "cli.h"
#include "fixture_doc.h"
#include "text.h"

/* ---- building bodies ---- */

/* A finding of CONTRACT.md; command may be NULL. */
static void
finding(msgpack_packer *pk, const char *host, const char *kind, const char *sev, const char *limit,
        const char *scope, const char *msg, const char *command)
{
	msgpack_pack_map(pk, 5 + (limit != NULL) + (scope != NULL) + (command != NULL) + 2);
	ks(pk, "host", host);
	ks(pk, "kind", kind);
	ks(pk, "severity", sev);
	if (limit != NULL)
		ks(pk, "limit", limit);
	if (scope != NULL)
		ks(pk, "scope", scope);
	ks(pk, "message", msg);
	ks(pk, "opened", "2026-11-26T13:00:00Z");
	ks(pk, "updated", "2026-11-26T14:00:00Z");
	if (command != NULL)
		ks(pk, "command", command);
	/* a key no renderer knows: ignored */
	s(pk, "extra");
	msgpack_pack_nil(pk);
}

/* {"semmns": {"used": u, "limit": l, "pct": pct}} entry */
static void
usage_item(msgpack_packer *pk, const char *name, uint64_t used, uint64_t limit, double pct)
{
	s(pk, name);
	msgpack_pack_map(pk, 3);
	ku(pk, "used", used);
	ku(pk, "limit", limit);
	kf(pk, "pct", pct);
}

/* sorthat's usage: semmns 78.2%, semmni 32.0% */
static void
sorthat_usage(msgpack_packer *pk)
{
	s(pk, "usage");
	msgpack_pack_map(pk, 2);
	usage_item(pk, "semmns", 266, 340, 78.2);
	usage_item(pk, "semmni", 16, 50, 32.0);
}

static void
assert_out(struct buf *out, const char *want)
{
	assert_non_null(buf_cstr(out));
	assert_string_equal(out->data, want);
}

/* ---- sparkline and trend ---- */

static void
test_sparkline(void **state)
{
	double v[144];
	struct buf out;
	size_t i;

	(void)state;
	buf_init(&out, 1 << 20);
	for (i = 0; i <= 8; i++)
		v[i] = (double)i;
	/* 0 and top/8 both get the lowest block; top gets the full one */
	render_sparkline(v, 9, 8, 72, &out);
	assert_out(&out, "▁▁▂▃▄▅▆▇█");

	/* above top is still a full block; a missing sample is a blank */
	buf_reset(&out);
	v[0] = 3;
	v[1] = NAN;
	v[2] = 100;
	render_sparkline(v, 3, 8, 72, &out);
	assert_out(&out, "▃ █");

	/* 144 values in 72 bars: each bar the larger of its two values */
	buf_reset(&out);
	for (i = 0; i < 144; i++)
		v[i] = i % 2 == 0 ? 0 : (double)(i / 18 + 1); /* 1..8 */
	render_sparkline(v, 144, 8, 72, &out);
	assert_non_null(buf_cstr(&out));
	assert_int_equal(out.len, 72 * 3); /* 72 blocks of 3 bytes */
	assert_int_equal(memcmp(out.data, "▁▁▁▁▁▁▁▁▁▂▂▂▂▂▂▂▂▂▃", 19 * 3), 0);
	assert_int_equal(memcmp(out.data + 63 * 3, "█████████", 9 * 3), 0);

	/* 5 values, fewer bars than width: one bar each; nothing for no values */
	buf_reset(&out);
	render_sparkline(v, 0, 8, 72, &out);
	assert_int_equal(out.len, 0);
	buf_free(&out);
}

static void
trend_body(struct doc *d, int rollup)
{
	static const uint64_t used[] = {200, 230, 266, 280, 266};
	msgpack_packer *pk = doc_begin(d);
	char t[32];
	int i;

	msgpack_pack_map(pk, 3);
	ks(pk, "host", "sorthat");
	ks(pk, "limit", "semmns");
	s(pk, "points");
	msgpack_pack_array(pk, 5);
	for (i = 0; i < 5; i++) {
		snprintf(t, sizeof(t), "2026-11-26T1%d:00:00Z", i);
		msgpack_pack_map(pk, rollup ? 6 : 3);
		ks(pk, "t", t);
		ku(pk, "used", used[i]);
		ku(pk, "limit", i < 4 ? 340 : 400);
		if (rollup) {
			ku(pk, "min", used[i] - 50);
			ku(pk, "max", used[i]);
			kf(pk, "mean", (double)used[i] - 20.5);
		}
	}
	doc_end(d);
}

static void
test_trend_text(void **state)
{
	struct doc d;
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	trend_body(&d, 0);
	assert_int_equal(render_trend_text(&d.obj, SCALE_AUTO, &out), 0);
	/* scaled to the last limit, 400: 200 -> 4, 230 -> 5, 266 -> 6, 280 -> 6 */
	assert_out(&out, "sorthat semmns: 5 points from 2026-11-26T10:00:00Z to "
	                 "2026-11-26T14:00:00Z\n"
	                 "  ▄▅▆▆▆\n"
	                 "  min 200  max 280  last 266  limit 400 (varied from 340 to 400)  "
	                 "(last is 66.5% of the limit)\n"
	                 "  bars: 0 to the limit\n");

	/* scaled to the largest value, 280: 200 -> 6, 230 -> 7, 266, 280 -> 8 */
	buf_reset(&out);
	assert_int_equal(render_trend_text(&d.obj, SCALE_MAX, &out), 0);
	assert_non_null(strstr(buf_cstr(&out), "\n  ▆▇███\n"));
	assert_non_null(strstr(out.data, "\n  bars: 0 to 280 (the largest value)\n"));
	doc_free(&d);

	/* rollups: bars from max, min from min */
	buf_reset(&out);
	trend_body(&d, 1);
	assert_int_equal(render_trend_text(&d.obj, SCALE_LIMIT, &out), 0);
	assert_out(&out, "sorthat semmns: 5 points from 2026-11-26T10:00:00Z to "
	                 "2026-11-26T14:00:00Z (hourly peaks)\n"
	                 "  ▄▅▆▆▆\n"
	                 "  min 150  max 280  last 266  limit 400 (varied from 340 to 400)  "
	                 "(last is 66.5% of the limit)\n"
	                 "  bars: 0 to the limit\n");
	doc_free(&d);
	buf_free(&out);
}

/* Many points: squeezed to 72 bars, and the text says so. */
static void
test_trend_long(void **state)
{
	struct doc d;
	struct buf out;
	msgpack_packer *pk = doc_begin(&d);
	const char *nl;
	int i;

	(void)state;
	msgpack_pack_map(pk, 3);
	ks(pk, "host", "db7");
	ks(pk, "limit", "shmall");
	s(pk, "points");
	msgpack_pack_array(pk, 1000);
	for (i = 0; i < 1000; i++) {
		msgpack_pack_map(pk, 3);
		ks(pk, "t", "2026-11-26T14:00:00Z");
		ku(pk, "used", (uint64_t)i);
		ku(pk, "limit", 4000);
	}
	doc_end(&d);
	buf_init(&out, 1 << 20);
	assert_int_equal(render_trend_text(&d.obj, SCALE_AUTO, &out), 0);
	assert_non_null(buf_cstr(&out));
	/* 999 < 4000 / 4: scaled to the largest value */
	assert_non_null(strstr(out.data,
	                       "  bars: 0 to 999 (the largest value); each bar is the peak of up "
	                       "to 14 points\n"));
	/* the bar line: two blanks and 72 blocks, 74 columns */
	nl = strchr(out.data, '\n');
	assert_int_equal(memcmp(nl + 1, "  ", 2), 0);
	assert_int_equal(strchr(nl + 1, '\n') - (nl + 3), 72 * 3);
	doc_free(&d);
	buf_free(&out);
}

static void
test_trend_csv(void **state)
{
	struct doc d;
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	trend_body(&d, 0);
	assert_int_equal(render_trend_csv(&d.obj, &out), 0);
	assert_out(&out, "t,used,limit\n"
	                 "2026-11-26T10:00:00Z,200,340\n"
	                 "2026-11-26T11:00:00Z,230,340\n"
	                 "2026-11-26T12:00:00Z,266,340\n"
	                 "2026-11-26T13:00:00Z,280,340\n"
	                 "2026-11-26T14:00:00Z,266,400\n");
	doc_free(&d);
	buf_reset(&out);
	trend_body(&d, 1);
	assert_int_equal(render_trend_csv(&d.obj, &out), 0);
	assert_out(&out, "t,used,limit,min,max,mean\n"
	                 "2026-11-26T10:00:00Z,200,340,150,200,179.5\n"
	                 "2026-11-26T11:00:00Z,230,340,180,230,209.5\n"
	                 "2026-11-26T12:00:00Z,266,340,216,266,245.5\n"
	                 "2026-11-26T13:00:00Z,280,340,230,280,259.5\n"
	                 "2026-11-26T14:00:00Z,266,400,216,266,245.5\n");
	doc_free(&d);
	buf_free(&out);
}

static void
test_trend_empty_and_bad(void **state)
{
	struct doc d;
	struct buf out;
	msgpack_packer *pk = doc_begin(&d);

	(void)state;
	msgpack_pack_map(pk, 3);
	ks(pk, "host", "db7");
	ks(pk, "limit", "semmns");
	s(pk, "points");
	msgpack_pack_array(pk, 0);
	doc_end(&d);
	buf_init(&out, 1 << 20);
	assert_int_equal(render_trend_text(&d.obj, SCALE_AUTO, &out), 0);
	assert_out(&out, "db7 semmns: no samples in this range\n");
	buf_reset(&out);
	assert_int_equal(render_trend_csv(&d.obj, &out), 0);
	assert_out(&out, "t,used,limit\n");
	doc_free(&d);

	/* one sample, far below its limit: scaled to itself */
	pk = doc_begin(&d);
	msgpack_pack_map(pk, 3);
	ks(pk, "host", "db7");
	ks(pk, "limit", "semmns");
	s(pk, "points");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 3);
	ks(pk, "t", "2026-11-26T14:00:00Z");
	ku(pk, "used", 268);
	ku(pk, "limit", 1024000000);
	doc_end(&d);
	buf_reset(&out);
	assert_int_equal(render_trend_text(&d.obj, SCALE_AUTO, &out), 0);
	assert_out(&out, "db7 semmns: 1 point at 2026-11-26T14:00:00Z\n"
	                 "  \xe2\x96\x88\n"
	                 "  min 268  max 268  last 268  limit 1024000000  (last is 0.0% of the "
	                 "limit)\n"
	                 "  bars: 0 to 268 (the largest value)\n");
	doc_free(&d);

	/* not a trend body at all */
	pk = doc_begin(&d);
	msgpack_pack_array(pk, 0);
	doc_end(&d);
	assert_int_equal(render_trend_text(&d.obj, SCALE_AUTO, &out), -1);
	assert_int_equal(render_trend_csv(&d.obj, &out), -1);
	doc_free(&d);
	buf_free(&out);
}

/* ---- alerts, top, orphans ---- */

static void
test_alerts(void **state)
{
	struct doc d;
	struct buf out;
	msgpack_packer *pk = doc_begin(&d);

	(void)state;
	/* deliberately not worst first: the CLI keeps the order it received */
	msgpack_pack_array(pk, 3);
	finding(pk, "sorthat", "restart_headroom", "warn", "semmns", "jail:pg96",
	        "uid 770 (postgres) holds 238 semaphores but only 74 are free", NULL);
	finding(pk, "db7", "threshold", "crit", "semmni", NULL, "semmni at 96.0%: 48 of 50 sets",
	        NULL);
	finding(pk, "sorthat", "orphan", "info", NULL, "host",
	        "semaphore set 65538 looks abandoned", "ipcrm -s 65538");
	doc_end(&d);
	buf_init(&out, 1 << 20);
	assert_int_equal(render_alerts(&d.obj, &out), 0);
	assert_out(&out,
	           "3 open findings: 1 crit, 1 warn, 1 info\n"
	           "SEVERITY  HOST     KIND              LIMIT   SCOPE      MESSAGE\n"
	           "WARN      sorthat  restart_headroom  semmns  jail:pg96  uid 770 (postgres) "
	           "holds 238 semaphores but only 74 are free\n"
	           "CRIT      db7      threshold         semmni  -          semmni at 96.0%: 48 of "
	           "50 sets\n"
	           "INFO      sorthat  orphan            -       host       semaphore set 65538 "
	           "looks abandoned\n"
	           "    ipcrm -s 65538\n"
	           "Details and recommendations: ipcfleet host NAME\n");
	doc_free(&d);

	buf_reset(&out);
	pk = doc_begin(&d);
	msgpack_pack_array(pk, 0);
	doc_end(&d);
	assert_int_equal(render_alerts(&d.obj, &out), 0);
	assert_out(&out, "no open findings\n");
	doc_free(&d);

	pk = doc_begin(&d);
	msgpack_pack_map(pk, 0);
	doc_end(&d);
	assert_int_equal(render_alerts(&d.obj, &out), -1);
	doc_free(&d);
	buf_free(&out);
}

/* Terminal escapes and bidi overrides from a host never reach the screen. */
static void
test_alerts_hostile(void **state)
{
	struct doc d;
	struct buf out;
	msgpack_packer *pk = doc_begin(&d);

	(void)state;
	msgpack_pack_array(pk, 1);
	finding(pk,
	        "evil\x1b"
	        "[2J",
	        "orphan", "warn", NULL, NULL,
	        "rm\xe2\x80\xae"
	        "evil\x07",
	        "ipcrm -s 1; rm -rf /");
	doc_end(&d);
	buf_init(&out, 1 << 20);
	assert_int_equal(render_alerts(&d.obj, &out), 0);
	assert_non_null(buf_cstr(&out));
	assert_null(strchr(out.data, '\x1b'));
	assert_null(strchr(out.data, '\x07'));
	assert_null(strstr(out.data, "\xe2\x80\xae"));
	assert_non_null(strstr(out.data, "evil?[2J"));
	/* the unsafe command is not shown, and without type and id none is built */
	assert_null(strstr(out.data, "rm -rf"));
	doc_free(&d);
	buf_free(&out);
}

static void
test_top(void **state)
{
	struct doc d;
	struct buf out;
	msgpack_packer *pk = doc_begin(&d);

	(void)state;
	msgpack_pack_array(pk, 3);
	/* a whole jail's share, ranked with the owners */
	msgpack_pack_map(pk, 9);
	ks(pk, "host", "sorthat");
	ks(pk, "scope", "jail:pg96");
	ks(pk, "by", "scope");
	msgpack_pack_str(pk, 3);
	msgpack_pack_str_body(pk, "uid", 3);
	msgpack_pack_nil(pk);
	msgpack_pack_str(pk, 5);
	msgpack_pack_str_body(pk, "owner", 5);
	msgpack_pack_nil(pk);
	ks(pk, "limit", "semmns");
	ku(pk, "held", 255);
	ku(pk, "limit_value", 340);
	kf(pk, "pct", 75.0);
	msgpack_pack_map(pk, 8);
	ks(pk, "host", "sorthat");
	ks(pk, "scope", "jail:pg96");
	ku(pk, "uid", 770);
	ks(pk, "owner", "postgres");
	ks(pk, "limit", "semmns");
	ku(pk, "held", 238);
	ku(pk, "limit_value", 340);
	kf(pk, "pct", 70.0);
	msgpack_pack_map(pk, 7);
	ks(pk, "host", "db7");
	ks(pk, "scope", "host");
	ku(pk, "uid", 1001);
	ks(pk, "limit", "shmall");
	ku(pk, "held", 1048576);
	ku(pk, "limit_value", 4194304);
	kf(pk, "pct", 25.0);
	doc_end(&d);
	buf_init(&out, 1 << 20);
	assert_int_equal(render_top(&d.obj, &out), 0);
	assert_out(&out, "HOST     SCOPE      OWNER          LIMIT      HELD  OF LIMIT    PCT\n"
	                 "sorthat  jail:pg96  (whole scope)  semmns      255       340  75.0%\n"
	                 "sorthat  jail:pg96  770 postgres   semmns      238       340  70.0%\n"
	                 "db7      host       1001           shmall  1048576   4194304  25.0%\n");
	doc_free(&d);
	buf_reset(&out);
	pk = doc_begin(&d);
	msgpack_pack_array(pk, 0);
	doc_end(&d);
	assert_int_equal(render_top(&d.obj, &out), 0);
	assert_out(&out, "no consumers found\n");
	doc_free(&d);
	buf_free(&out);
}

static void
orphan(msgpack_packer *pk, const char *host, const char *type, uint64_t id, uint64_t age,
       const char *command)
{
	msgpack_pack_map(pk, 9 + (command != NULL));
	ks(pk, "host", host);
	ks(pk, "kind", "orphan");
	ks(pk, "severity", "info");
	ks(pk, "scope", "jail:old");
	ks(pk, "message", "looks abandoned");
	ks(pk, "type", type);
	ku(pk, "id", id);
	ku(pk, "age", age);
	ku(pk, "uid", 770);
	if (command != NULL)
		ks(pk, "command", command);
}

static void
test_orphans(void **state)
{
	struct doc d;
	struct buf out;
	msgpack_packer *pk = doc_begin(&d);

	(void)state;
	msgpack_pack_array(pk, 3);
	orphan(pk, "sorthat", "sem", 65538, 3 * 86400 + 4 * 3600 + 59, "ipcrm -s 65538");
	/* shell metacharacters: rebuilt from type and id */
	orphan(pk, "sorthat", "shm", 131072, 5 * 3600 + 12 * 60, "ipcrm -m 131072; reboot");
	/* no command at all: nothing under the row */
	orphan(pk, "db7", "msg", 7, 45, NULL);
	doc_end(&d);
	buf_init(&out, 1 << 20);
	assert_int_equal(render_orphans(&d.obj, &out), 0);
	assert_out(&out, "3 orphaned objects; why, and the command to run on its host, under "
	                 "each:\n"
	                 "HOST     SCOPE     TYPE      ID  OWNER    AGE\n"
	                 "sorthat  jail:old  sem    65538  770     3d4h\n"
	                 "    looks abandoned\n"
	                 "    ipcrm -s 65538\n"
	                 "sorthat  jail:old  shm   131072  770    5h12m\n"
	                 "    looks abandoned\n"
	                 "    ipcrm -m 131072\n"
	                 "db7      jail:old  msg        7  770      45s\n"
	                 "    looks abandoned\n");
	doc_free(&d);
	buf_reset(&out);
	/* the aggregator's record of a removed one: what it was, no command */
	pk = doc_begin(&d);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 8);
	ks(pk, "host", "db7");
	ks(pk, "kind", "orphan");
	ks(pk, "severity", "info");
	ks(pk, "scope", "host");
	ks(pk, "message", "removed by 2026-11-26T14:00:00Z: semaphore set 9 looked abandoned");
	ks(pk, "type", "sem");
	ku(pk, "id", 9);
	ku(pk, "uid", 33);
	doc_end(&d);
	assert_int_equal(render_orphans(&d.obj, &out), 0);
	assert_out(&out, "1 orphaned object (1 removed since, kept for the record); why, and the "
	                 "command to run on its host, under each:\n"
	                 "HOST  SCOPE  TYPE  ID  OWNER  AGE\n"
	                 "db7   host   sem    9  33       -\n"
	                 "    removed by 2026-11-26T14:00:00Z: semaphore set 9 looked abandoned\n");
	doc_free(&d);
	buf_reset(&out);
	pk = doc_begin(&d);
	msgpack_pack_array(pk, 0);
	doc_end(&d);
	assert_int_equal(render_orphans(&d.obj, &out), 0);
	assert_out(&out, "no orphans\n");
	doc_free(&d);
	buf_free(&out);
}

/* ---- report ---- */

static void
rec(msgpack_packer *pk, const char *limit, uint64_t current, uint64_t peak, uint64_t recommended,
    int change, int reboot, const char *file, const char *line)
{
	msgpack_pack_map(pk, 9);
	ks(pk, "limit", limit);
	ku(pk, "current", current);
	ku(pk, "peak", peak);
	ku(pk, "largest_consumer", 238);
	ku(pk, "recommended", recommended);
	kb(pk, "needs_change", change);
	kb(pk, "reboot", reboot);
	ks(pk, "file", file);
	ks(pk, "line", line);
}

/* Two hosts, the ok one first, so that worst first is visible. */
static void
report_body(struct doc *d, const char *host2)
{
	msgpack_packer *pk = doc_begin(d);

	msgpack_pack_map(pk, 2);
	ks(pk, "generated", "2026-11-26T14:05:00Z");
	s(pk, "hosts");
	msgpack_pack_array(pk, 2);

	msgpack_pack_map(pk, 7);
	ks(pk, "host", "db7");
	ks(pk, "os", "Linux");
	ks(pk, "status", "ok");
	ks(pk, "last_seen", "2026-11-26T14:00:00Z");
	s(pk, "usage");
	msgpack_pack_map(pk, 1);
	usage_item(pk, "semmni", 10, 32000, 0.0);
	s(pk, "findings");
	msgpack_pack_array(pk, 0);
	s(pk, "recommendations");
	msgpack_pack_array(pk, 1);
	rec(pk, "semmni", 32000, 12, 32000, 0, 0, "/etc/sysctl.d/90-ipcfleet.conf",
	    "kernel.sem = 32000 1024000000 500 32000");

	msgpack_pack_map(pk, 8);
	ks(pk, "host", host2);
	ks(pk, "os", "FreeBSD");
	ks(pk, "status", "warn");
	ks(pk, "last_seen", "2026-11-26T14:00:00Z");
	s(pk, "nearest");
	msgpack_pack_map(pk, 6);
	ks(pk, "limit", "semmns");
	s(pk, "used");
	msgpack_pack_uint64(pk, 266);
	s(pk, "limit_value");
	msgpack_pack_uint64(pk, 340);
	s(pk, "pct");
	msgpack_pack_double(pk, 78.2);
	s(pk, "free");
	msgpack_pack_uint64(pk, 74);
	ks(pk, "exhaust_at", "2026-12-20T00:00:00Z");
	sorthat_usage(pk);
	s(pk, "findings");
	msgpack_pack_array(pk, 1);
	finding(pk, host2, "restart_headroom", "warn", "semmns", "jail:pg96",
	        "uid 770 holds 238 semaphores, 74 are free: raise semmns to 578", NULL);
	s(pk, "recommendations");
	msgpack_pack_array(pk, 3);
	rec(pk, "semmns", 340, 280, 578, 1, 1, "/boot/loader.conf", "kern.ipc.semmns=578");
	rec(pk, "semmni", 50, 16, 50, 0, 1, "/boot/loader.conf", "kern.ipc.semmni=50");
	rec(pk, "shmall", 131072, 300000, 655360, 1, 0, "/etc/sysctl.conf",
	    "kern.ipc.shmall=655360");
	doc_end(d);
}

static void
test_report_text(void **state)
{
	struct doc d;
	struct buf out;

	(void)state;
	report_body(&d, "sorthat");
	buf_init(&out, 1 << 20);
	assert_int_equal(render_report_text(&d.obj, &out), 0);
	assert_out(
	    &out,
	    "ipcfleet capacity report, generated 2026-11-26T14:05:00Z\n"
	    "2 hosts: 1 warn, 1 ok\n"
	    "\n"
	    "sorthat (FreeBSD): WARN, last seen 2026-11-26T14:00:00Z\n"
	    "  Nearest exhaustion: semmns at 78.2%, 74 free, runs out 2026-12-20T00:00:00Z\n"
	    "  LIMIT   USED  CURRENT   USE%    PEAK  RECOMMENDED  CHANGE\n"
	    "  semmns   266      340  78.2%     280          578  yes, reboot\n"
	    "  semmni    16       50  32.0%      16           50  no\n"
	    "  shmall     -   131072      -  300000       655360  yes\n"
	    "  Findings:\n"
	    "    SEVERITY  KIND              LIMIT   SCOPE      MESSAGE\n"
	    "    WARN      restart_headroom  semmns  jail:pg96  uid 770 holds 238 semaphores, "
	    "74 are free: raise semmns to 578\n"
	    "  Recommended changes:\n"
	    "    /boot/loader.conf (takes effect after a reboot):\n"
	    "      kern.ipc.semmns=578\n"
	    "    /etc/sysctl.conf (no reboot: apply now with sysctl -f /etc/sysctl.conf):\n"
	    "      kern.ipc.shmall=655360\n"
	    "\n"
	    "db7 (Linux): OK, last seen 2026-11-26T14:00:00Z\n"
	    "  LIMIT   USED  CURRENT  USE%  PEAK  RECOMMENDED  CHANGE\n"
	    "  semmni    10    32000  0.0%    12        32000  no\n"
	    "  No open findings.\n"
	    "  No changes recommended.\n");
	doc_free(&d);
	buf_free(&out);
}

static void
test_report_csv(void **state)
{
	struct doc d;
	struct buf out;

	(void)state;
	report_body(&d, "=HYPERLINK(\"x\",\"y\")");
	buf_init(&out, 1 << 20);
	assert_int_equal(render_report_csv(&d.obj, &out), 0);
	/* as received; a formula-looking name is quoted and defused */
	assert_out(
	    &out,
	    "host,os,status,limit,used,limit_value,pct,recommended,needs_change,reboot,unknown,"
	    "nearest,exhaust_at\n"
	    "db7,Linux,ok,semmni,10,32000,0.0,32000,false,false,,false,\n"
	    "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\",FreeBSD,warn,semmns,266,340,78.2,578,true,"
	    "true,,true,2026-12-20T00:00:00Z\n"
	    "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\",FreeBSD,warn,semmni,16,50,32.0,50,false,true,,"
	    "false,\n"
	    "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\",FreeBSD,warn,shmall,,131072,,655360,true,"
	    "false,,false,\n");
	doc_free(&d);
	buf_free(&out);
}

/*
 * Formula injection: not only the first character, every piece a
 * spreadsheet may split off (after ';' or ',', spaces skipped) that starts
 * with = + - or @ becomes text; text without them is left as it is.
 */
static void
test_csv_formula_pieces(void **state)
{
	static const struct {
		const char *in, *want;
	} t[] = {
	    {"=1+2", "\"'=1+2\""},
	    {"L;=HYPERLINK(\"http://x\";\"y\")", "\"L;'=HYPERLINK(\"\"http://x\"\";\"\"y\"\")\""},
	    {"a, -1", "\"a, '-1\""},
	    {"a;  @SUM(A1)", "\"a;  '@SUM(A1)\""},
	    {"x;+cmd|' /C calc'!A0", "\"x;'+cmd|' /C calc'!A0\""},
	    {"6.1.0-18-amd64", "6.1.0-18-amd64"},
	    {"a - b", "a - b"},
	    {"a;b", "\"a;b\""},
	    {"", ""},
	};
	struct buf out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_init(&out, 4096);
		rt_csv_text(&out, t[i].in, strlen(t[i].in));
		assert_non_null(buf_cstr(&out));
		if (strcmp(out.data, t[i].want) != 0)
			fail_msg("%s: got %s, want %s", t[i].in, out.data, t[i].want);
		buf_free(&out);
	}
}

/* Case-insensitive search. */
static const char *
find_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle), i;

	for (; *hay != '\0'; hay++) {
		for (i = 0; i < n; i++)
			if (tolower((unsigned char)hay[i]) != tolower((unsigned char)needle[i]))
				break;
		if (i == n)
			return hay;
	}
	return NULL;
}

static void
test_report_html(void **state)
{
	static const char *const forbidden[] = {
	    "http:",   "https:", "//",   "src=",    "@import",    "url(",
	    "<script", "<link",  "<img", "<iframe", "javascript:"};
	struct doc d;
	struct buf out;
	msgpack_packer *pk;
	size_t i;

	(void)state;
	report_body(&d, "<script>alert(1)</script>");
	buf_init(&out, 1 << 20);
	assert_int_equal(render_report_html(&d.obj, &out), 0);
	assert_non_null(buf_cstr(&out));
	/* DUMP_HTML=1 shows the file, to look at it in a browser */
	if (getenv("DUMP_HTML") != NULL)
		fputs(out.data, stderr);
	assert_int_equal(strncmp(out.data, "<!DOCTYPE html>\n", 16), 0);
	assert_non_null(strstr(out.data, "</html>\n"));
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (find_ci(out.data, forbidden[i]) != NULL)
			fail_msg("the HTML contains '%s'", forbidden[i]);
	/* the host name is escaped text: in its section, the glance table, the changes */
	assert_non_null(strstr(out.data, "<section id=h0><h3>&lt;script&gt;alert&#40;1&#41;&lt;"
	                                 "&#47;script&gt; <b class=s-warn>warn</b></h3>"));
	/* worst first: the warn host before the ok one */
	assert_non_null(strstr(out.data, "<b class=s-ok>"));
	assert_true(strstr(out.data, "<b class=s-warn>") < strstr(out.data, "<b class=s-ok>"));
	/* a reply without "nearest" (an older aggregator): dashes, not zeros */
	assert_non_null(strstr(out.data, "</a><td><b class=s-ok>ok</b><td>-<td class=n>-<td>-"
	                                 "<td class=n>-<td>-</tr>"));
	/* the host with findings has its usage table; the other is folded */
	assert_non_null(
	    strstr(out.data, "<tr><td>semmns<td class=n>266<td class=n>340<td class=n>78.2%"));
	assert_non_null(strstr(out.data, "<details><summary>1 host: use% of each limit</summary>"));
	/* the paste-ready lines, grouped by file, with the hosts that need them */
	assert_non_null(strstr(out.data, "<tr><td><code>kern.ipc.semmns&#61;578</code><td class=n>1"
	                                 "<td><a href=#h0>&lt;script&gt;"));
	doc_free(&d);

	/* text that would be a reference if it were not escaped */
	pk = doc_begin(&d);
	msgpack_pack_map(pk, 2);
	ks(pk, "generated", "https://example.org/x");
	s(pk, "hosts");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 5);
	ks(pk, "host", "a\" onload=\"x");
	ks(pk, "os", "<img src=//evil/x.png>");
	ks(pk, "status", "bogus\" class=\"x");
	sorthat_usage(pk);
	s(pk, "findings");
	msgpack_pack_array(pk, 1);
	finding(pk, "a", "orphan", "crit", NULL, NULL,
	        "see http://evil/ and url(javascript:alert(1)) @import 'x'",
	        "ipcrm -s 1 // https://x");
	doc_end(&d);
	buf_reset(&out);
	assert_int_equal(render_report_html(&d.obj, &out), 0);
	assert_non_null(buf_cstr(&out));
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (find_ci(out.data, forbidden[i]) != NULL)
			fail_msg("the HTML contains '%s'", forbidden[i]);
	assert_null(strstr(out.data, "\" onload"));
	assert_non_null(strstr(out.data, "s-unknown"));
	doc_free(&d);
	buf_free(&out);
}

static void
test_report_bad(void **state)
{
	struct doc d;
	struct buf out;
	msgpack_packer *pk = doc_begin(&d);

	(void)state;
	msgpack_pack_map(pk, 1);
	ks(pk, "hosts", "not an array");
	doc_end(&d);
	buf_init(&out, 1 << 20);
	assert_int_equal(render_report_text(&d.obj, &out), -1);
	assert_int_equal(render_report_csv(&d.obj, &out), -1);
	assert_int_equal(render_report_html(&d.obj, &out), -1);
	doc_free(&d);
	buf_free(&out);
}

/* ---- check ---- */

/* A host document: status, sorthat's usage, and findings of the severities. */
static void
check_doc(struct doc *d, const char *status, const char *const *sev, size_t nsev)
{
	msgpack_packer *pk = doc_begin(d);
	size_t i;

	msgpack_pack_map(pk, 5);
	ks(pk, "host", "sorthat");
	ks(pk, "status", status);
	ks(pk, "last_seen", "2026-11-26T14:00:00Z");
	sorthat_usage(pk);
	s(pk, "findings");
	msgpack_pack_array(pk, nsev);
	for (i = 0; i < nsev; i++)
		finding(pk, "sorthat", i == 0 ? "restart_headroom" : "threshold", sev[i], "semmns",
		        NULL,
		        i == 0 ? "uid 770 holds 238 semaphores, 74 free | raise semmns to 578"
		               : "semmns at 91.0%",
		        NULL);
	doc_end(d);
}

/*
 * One rule (common/text.h) in every renderer: a host name carrying terminal
 * escapes, C1 controls, bidi overrides, zero-width or separator characters,
 * or bytes that are not UTF-8 leaves no such character in the text, CSV,
 * HTML, alerts or check output: each becomes '?'.
 */
static void
out_obeys_rule(const struct buf *out, const char *what, const char *name)
{
	const unsigned char *p = (const unsigned char *)out->data;
	size_t i = 0, len, bad;

	while (i < out->len) {
		if (p[i] == '\n' || p[i] == '\t') {
			i++;
			continue;
		}
		if ((len = text_char_len(p + i, out->len - i, &bad)) == 0)
			fail_msg("%s for a host named %zu bytes long: refused character at %zu",
			         what, strlen(name), i);
		i += len;
	}
}

static void
test_one_rule_everywhere(void **state)
{
	static const char *const names[] = {
	    "evil\x1b[2J\x1b]0;pwned\x07", /* C0: CSI, OSC title */
	    "evil\xc2\x9b"
	    "31m", /* C1 CSI */
	    "abc\xe2\x80\xae"
	    "gpj.exe", /* U+202E right-to-left override */
	    "db\xe2\x80\x8b"
	    "7", /* U+200B zero width space */
	    "\xef\xbb\xbf"
	    "db7", /* U+FEFF, which report once passed */
	    "db\xe2\x80\xa8"
	    "7", /* U+2028 line separator */
	    "db\xe2\x81\xa6"
	    "7", /* U+2066 left-to-right isolate */
	    "db\xff\xfe"
	    "7", /* not UTF-8 */
	};
	struct doc d;
	struct buf out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		report_body(&d, names[i]);
		buf_init(&out, 1 << 20);
		assert_int_equal(render_report_text(&d.obj, &out), 0);
		out_obeys_rule(&out, "report text", names[i]);
		buf_reset(&out);
		assert_int_equal(render_report_csv(&d.obj, &out), 0);
		out_obeys_rule(&out, "report csv", names[i]);
		buf_reset(&out);
		assert_int_equal(render_report_html(&d.obj, &out), 0);
		out_obeys_rule(&out, "report html", names[i]);
		doc_free(&d);

		doc_begin(&d);
		msgpack_pack_array(&d.pk, 1);
		finding(&d.pk, names[i], "threshold", "warn", "semmns", names[i], names[i], NULL);
		doc_end(&d);
		buf_reset(&out);
		assert_int_equal(render_alerts(&d.obj, &out), 0);
		out_obeys_rule(&out, "alerts", names[i]);
		doc_free(&d);

		check_doc(&d, "warn", (const char *const[]){"warn"}, 1);
		buf_reset(&out);
		assert_int_equal(render_check(&d.obj, names[i], &out), 1);
		out_obeys_rule(&out, "check", names[i]);
		doc_free(&d);
		buf_free(&out);
	}
}

static void
test_check(void **state)
{
	static const char *const info[] = {"info"};
	static const char *const warn[] = {"info", "warn"};
	static const char *const crit[] = {"warn", "crit", "warn"};
	struct doc d;
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);

	check_doc(&d, "ok", NULL, 0);
	assert_int_equal(render_check(&d.obj, "sorthat", &out), 0);
	assert_out(&out, "IPCFLEET OK - sorthat: semmns 78.2%, semmni 32.0% | "
	                 "semmns=266;272;306;0;340 semmni=16;40;45;0;50\n");
	doc_free(&d);

	buf_reset(&out);
	check_doc(&d, "ok", info, 1);
	assert_int_equal(render_check(&d.obj, "sorthat", &out), 0);
	assert_out(&out, "IPCFLEET OK - sorthat: semmns 78.2%, semmni 32.0% | "
	                 "semmns=266;272;306;0;340 semmni=16;40;45;0;50\n");
	doc_free(&d);

	/* the worst finding's message; '|' must not start perfdata early */
	buf_reset(&out);
	check_doc(&d, "warn", warn, 2);
	assert_int_equal(render_check(&d.obj, "sorthat", &out), 1);
	assert_out(&out, "IPCFLEET WARNING - sorthat: semmns at 91.0% | "
	                 "semmns=266;272;306;0;340 semmni=16;40;45;0;50\n");
	doc_free(&d);

	buf_reset(&out);
	check_doc(&d, "crit", crit, 3);
	assert_int_equal(render_check(&d.obj, "sorthat", &out), 2);
	assert_out(&out, "IPCFLEET CRITICAL - sorthat: semmns at 91.0% (+2 more) | "
	                 "semmns=266;272;306;0;340 semmni=16;40;45;0;50\n");
	doc_free(&d);

	buf_reset(&out);
	check_doc(&d, "warn", crit, 1);
	assert_int_equal(render_check(&d.obj, "sorthat", &out), 1);
	assert_out(&out, "IPCFLEET WARNING - sorthat: uid 770 holds 238 semaphores, 74 free / "
	                 "raise semmns to 578 | semmns=266;272;306;0;340 semmni=16;40;45;0;50\n");
	doc_free(&d);

	/* stale: UNKNOWN whatever the findings say */
	buf_reset(&out);
	check_doc(&d, "stale", crit, 2);
	assert_int_equal(render_check(&d.obj, "sorthat", &out), 3);
	assert_out(&out, "IPCFLEET UNKNOWN - sorthat: stale: no report since "
	                 "2026-11-26T14:00:00Z\n");
	doc_free(&d);

	/* unknown host, cannot connect: the reason on the line */
	buf_reset(&out);
	assert_int_equal(render_check_unknown("nohost", "unknown host nohost", &out), 3);
	assert_out(&out, "IPCFLEET UNKNOWN - nohost: unknown host nohost\n");

	/* a document without usage */
	buf_reset(&out);
	check_doc(&d, "ok", NULL, 0);
	assert_int_equal(render_check(&d.obj.via.map.ptr[0].val, "sorthat", &out), 3);
	assert_out(&out,
	           "IPCFLEET UNKNOWN - sorthat: the aggregator sent no usage for this host\n");
	doc_free(&d);
	buf_free(&out);
}

/* Per-limit levels from the document; closed findings do not count. */
static void
test_check_levels(void **state)
{
	struct doc d;
	struct buf out;
	msgpack_packer *pk = doc_begin(&d);

	(void)state;
	msgpack_pack_map(pk, 3);
	ks(pk, "status", "ok");
	s(pk, "usage");
	msgpack_pack_map(pk, 3);
	s(pk, "semmns");
	msgpack_pack_map(pk, 5);
	ku(pk, "used", 266);
	ku(pk, "limit", 341);
	kf(pk, "pct", 78.0);
	ku(pk, "warn", 70);
	kf(pk, "crit", 95.5);
	s(pk, "shmall");
	msgpack_pack_map(pk, 3);
	ku(pk, "used", 1);
	ku(pk, "limit", UINT64_MAX);
	kf(pk, "pct", 0.0);
	s(pk, "Bad Name");
	msgpack_pack_map(pk, 3);
	ku(pk, "used", 1);
	ku(pk, "limit", 2);
	kf(pk, "pct", 50.0);
	s(pk, "findings");
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 4);
	ks(pk, "kind", "threshold");
	ks(pk, "severity", "crit");
	ks(pk, "message", "was critical");
	ks(pk, "closed", "2026-11-26T13:00:00Z");
	doc_end(&d);
	buf_init(&out, 1 << 20);
	assert_int_equal(render_check(&d.obj, "db|7", &out), 0);
	/* 341 x 70% = 238.7 -> 238; 341 x 95.5% = 325.655 -> 325; no overflow near 2^64 */
	assert_out(&out, "IPCFLEET OK - db/7: semmns 78.0%, shmall 0.0%, Bad Name 50.0% | "
	                 "semmns=266;238;325;0;341 "
	                 "shmall=1;14757395258967641292;16602069666338596453;0;"
	                 "18446744073709551615\n");
	doc_free(&d);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sparkline),
	    cmocka_unit_test(test_trend_text),
	    cmocka_unit_test(test_trend_long),
	    cmocka_unit_test(test_trend_csv),
	    cmocka_unit_test(test_trend_empty_and_bad),
	    cmocka_unit_test(test_alerts),
	    cmocka_unit_test(test_alerts_hostile),
	    cmocka_unit_test(test_top),
	    cmocka_unit_test(test_orphans),
	    cmocka_unit_test(test_report_text),
	    cmocka_unit_test(test_report_csv),
	    cmocka_unit_test(test_csv_formula_pieces),
	    cmocka_unit_test(test_report_html),
	    cmocka_unit_test(test_report_bad),
	    cmocka_unit_test(test_check),
	    cmocka_unit_test(test_one_rule_everywhere),
	    cmocka_unit_test(test_check_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
