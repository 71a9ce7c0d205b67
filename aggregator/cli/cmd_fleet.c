/*
 * cmd_fleet.c: the fleet-wide commands (cli.h): alerts, trend, top,
 * orphans, report.  Each checks its arguments before any network traffic
 * (a bad one exits 2), sends one query, and renders the reply body: as it
 * is with --json, else for a person (or as CSV / HTML where asked).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "model.h"
#include "util.h"

#define FLEET_MAX_SINCE (400u * 86400) /* hourly rollups are kept 400 days */
#define FLEET_MAX_COUNT 1000
#define FLEET_MAX_BY    16 /* limits in --by */

typedef int (*fleet_render_fn)(const msgpack_object *body, struct buf *out);

/* How to show a body: render, or the trend text with a scale. */
struct fleet_view {
	fleet_render_fn render; /* NULL: JSON, unless trend is set */
	int trend;
	enum render_scale scale;
};

/* Renders the body of cmd's reply, writes it to path (stdout when NULL). */
static int
fleet_render(const char *cmd, const msgpack_object *body, const struct fleet_view *v,
             const char *path)
{
	struct buf out;
	int rc;

	buf_init(&out, RENDER_MAX_OUT);
	if (v->trend)
		rc = render_trend_text(body, v->scale, &out);
	else if (v->render == NULL)
		rc = cli_json_body(body, &out);
	else
		rc = v->render(body, &out);
	if (rc == -1 && buf_failed(&out))
		rc = cli_fail(CLI_FAIL, "the reply to %s is too large to show", cmd);
	else if (rc == -1)
		rc =
		    cli_fail(CLI_FAIL, "the aggregator's reply to %s has an unexpected shape", cmd);
	else
		rc = cli_output(&out, path);
	buf_free(&out);
	return rc;
}

/* Runs the query, renders the body, writes it to path (stdout when NULL). */
static int
fleet_view_show(const struct cli_run *r, const char *cmd, const char *const *kv, size_t nargs,
                const struct fleet_view *v, const char *path)
{
	struct proto_doc doc;
	const msgpack_object *body;
	char err[1024];
	int rc;

	if ((rc = cli_fetch(r, cmd, kv, nargs, &doc, &body, err, sizeof(err))) != CLI_OK)
		return cli_fail(rc, "%s", err);
	rc = fleet_render(cmd, body, v, path);
	proto_doc_free(&doc);
	return rc;
}

static int
fleet_show(const struct cli_run *r, const char *cmd, const char *const *kv, size_t nargs,
           fleet_render_fn render, const char *path)
{
	struct fleet_view v = {render, 0, SCALE_AUTO};

	return fleet_view_show(r, cmd, kv, nargs, &v, path);
}

int
cmd_alerts(const struct cli_run *r, const struct cli_args *a)
{
	(void)a;
	return fleet_show(r, "alerts", NULL, 0, r->json ? NULL : render_alerts, NULL);
}

int
cmd_orphans(const struct cli_run *r, const struct cli_args *a)
{
	(void)a;
	return fleet_show(r, "orphans", NULL, 0, r->json ? NULL : render_orphans, NULL);
}

int
cmd_trend(const struct cli_run *r, const struct cli_args *a)
{
	const char *since = cli_opt_val(a, "since"), *scale = cli_opt_val(a, "scale");
	const char *kv[6], *why;
	char secs[32];
	uint64_t s = 7 * 86400;
	int csv = cli_opt_val(a, "csv") != NULL;
	struct fleet_view v = {NULL, 0, SCALE_AUTO};

	if (!cli_host_ok(a->pos[0]))
		return cli_fail(CLI_USAGE, "trend: '%.64s' is not a host name", a->pos[0]);
	if (!limit_name_valid(a->pos[1]))
		return cli_fail(CLI_USAGE,
		                "trend: '%.64s' is not a limit name (semmns, shmall, ...)",
		                a->pos[1]);
	if (since != NULL &&
	    (parse_duration(since, &s, &why) == -1 || s == 0 || s > FLEET_MAX_SINCE))
		return cli_fail(CLI_USAGE, "trend: --since: a duration from 1s to 400d (7d, 12h)");
	if (csv && r->json)
		return cli_fail(CLI_USAGE, "trend: --csv and --json exclude each other");
	if (scale != NULL) {
		if (strcmp(scale, "limit") == 0)
			v.scale = SCALE_LIMIT;
		else if (strcmp(scale, "max") == 0)
			v.scale = SCALE_MAX;
		else if (strcmp(scale, "auto") != 0)
			return cli_fail(CLI_USAGE, "trend: --scale: auto, limit or max");
	}
	snprintf(secs, sizeof(secs), "%" PRIu64, s);
	kv[0] = "name";
	kv[1] = a->pos[0];
	kv[2] = "limit";
	kv[3] = a->pos[1];
	kv[4] = "since";
	kv[5] = secs;
	if (csv)
		v.render = render_trend_csv;
	else if (!r->json)
		v.trend = 1;
	return fleet_view_show(r, "trend", kv, 3, &v, NULL);
}

int
cmd_top(const struct cli_run *r, const struct cli_args *a)
{
	const char *by = cli_opt_val(a, "by"), *count = cli_opt_val(a, "count");
	const char *kv[4], *why, *p, *comma;
	char name[MODEL_NAME_MAX];
	uint64_t n;
	size_t nargs = 0, items = 0, len;

	if (by != NULL) {
		/* a comma-separated list of limit names, each valid, none empty */
		for (p = by;; p = comma + 1) {
			comma = strchr(p, ',');
			len = comma != NULL ? (size_t)(comma - p) : strlen(p);
			if (len == 0 || len >= sizeof(name) || ++items > FLEET_MAX_BY)
				return cli_fail(CLI_USAGE,
				                "top: --by: up to %d limit names separated by "
				                "commas (semmns,shmall)",
				                FLEET_MAX_BY);
			memcpy(name, p, len);
			name[len] = '\0';
			if (!limit_name_valid(name))
				return cli_fail(CLI_USAGE, "top: --by: '%s' is not a limit name",
				                name);
			if (comma == NULL)
				break;
		}
		kv[2 * nargs] = "by";
		kv[2 * nargs + 1] = by;
		nargs++;
	}
	if (count != NULL) {
		if (parse_u64(count, 1, FLEET_MAX_COUNT, &n, &why) == -1)
			return cli_fail(CLI_USAGE, "top: --count: %s (1 to %d)", why,
			                FLEET_MAX_COUNT);
		kv[2 * nargs] = "count";
		kv[2 * nargs + 1] = count;
		nargs++;
	}
	return fleet_show(r, "top", kv, nargs, r->json ? NULL : render_top, NULL);
}

int
cmd_report(const struct cli_run *r, const struct cli_args *a)
{
	const char *format = cli_opt_val(a, "format"), *path = cli_opt_val(a, "output");
	const char *page = cli_opt_val(a, "page"), *why;
	struct fleet_view v = {NULL, 0, SCALE_AUTO};
	const msgpack_object *body;
	struct cli_pages pages;
	uint64_t n = CLI_REPORT_PAGE;
	fleet_render_fn fn;
	char err[1024];
	int rc;

	if (format == NULL)
		format = r->json ? "json" : "text";
	else if (r->json && strcmp(format, "json") != 0)
		return cli_fail(CLI_USAGE, "report: --json and --format %.16s exclude each other",
		                format);
	if (strcmp(format, "text") == 0)
		fn = render_report_text;
	else if (strcmp(format, "json") == 0)
		fn = NULL;
	else if (strcmp(format, "csv") == 0)
		fn = render_report_csv;
	else if (strcmp(format, "html") == 0)
		fn = render_report_html;
	else
		return cli_fail(CLI_USAGE, "report: --format: text, json, csv or html");
	if (path != NULL && path[0] == '\0')
		return cli_fail(CLI_USAGE, "report: -o: an empty file name");
	if (page != NULL && parse_u64(page, 0, CLI_REPORT_PAGE_MAX, &n, &why) == -1)
		return cli_fail(CLI_USAGE, "report: --page: %s (0 to %u hosts a request)", why,
		                CLI_REPORT_PAGE_MAX);
	if (n == 0)
		return fleet_show(r, "report", NULL, 0, fn, path);
	if ((rc = cli_fetch_pages(r, "report", (uint32_t)n, &pages, &body, err, sizeof(err))) !=
	    CLI_OK)
		return cli_fail(rc, "%s", err);
	if (body->type != MSGPACK_OBJECT_MAP) {
		cli_pages_free(&pages);
		return cli_fail(CLI_FAIL,
		                "the aggregator's reply to report has an unexpected shape");
	}
	v.render = fn;
	rc = fleet_render("report", body, &v, path);
	cli_pages_free(&pages);
	return rc;
}
