/*
 * cmd_check.c: `check NAME`, the monitoring plugin, and `plan postgres`
 * (cli.h, pgplan.h).  Both read one host document (the `host` query).
 *
 * check follows the Nagios plugin rules rather than CONTRACT.md's general
 * exit codes: everything that keeps it from judging the host (cannot
 * connect, refused, unknown or stale host, a bad argument) is UNKNOWN, exit
 * 3, with the reason on the one status line on stdout.  Exit 1 or 2 would
 * page someone for WARNING or CRITICAL instead.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "model.h"
#include "pgplan.h"
#include "util.h"

/* Prints the plugin line and returns its code; a failed write is UNKNOWN. */
static int
check_emit(struct buf *out, int code)
{
	if (buf_failed(out) || cli_output(out, NULL) != CLI_OK)
		code = CLI_UNKNOWN;
	buf_free(out);
	return code;
}

int
cmd_check(const struct cli_run *r, const struct cli_args *a)
{
	const char *name = a->pos[0], *kv[2];
	const msgpack_object *body;
	struct proto_doc doc;
	struct buf out;
	char err[1024];
	int code;

	buf_init(&out, 64 * 1024);
	if (r->json)
		return check_emit(&out, render_check_unknown(NULL,
		                                             "check has no --json output: "
		                                             "it prints one plugin line",
		                                             &out));
	if (!cli_host_ok(name))
		return check_emit(&out, render_check_unknown(NULL, "not a host name", &out));
	kv[0] = "name";
	kv[1] = name;
	if (cli_fetch(r, "host", kv, 1, &doc, &body, err, sizeof(err)) != CLI_OK)
		return check_emit(&out, render_check_unknown(name, err, &out));
	code = render_check(body, name, &out);
	proto_doc_free(&doc);
	if (code < 0) {
		buf_reset(&out);
		code = render_check_unknown(name, "cannot render the status line", &out);
	}
	return check_emit(&out, code);
}

/* A numeric option in [min, max]; absent leaves *v as is.  0 or -1. */
static int
plan_num(const struct cli_args *a, const char *opt, uint64_t min, uint64_t max, uint64_t *v)
{
	const char *s = cli_opt_val(a, opt), *why;

	if (s == NULL)
		return 0;
	if (parse_u64(s, min, max, v, &why) == -1) {
		cli_fail(CLI_USAGE, "plan: --%s: %s (%llu to %llu)", opt, why,
		         (unsigned long long)min, (unsigned long long)max);
		return -1;
	}
	return 0;
}

int
cmd_plan(const struct cli_run *r, const struct cli_args *a)
{
	const char *ver = cli_opt_val(a, "pg-version"), *host = cli_opt_val(a, "host");
	const char *why, *kv[2];
	struct pgplan_in in;
	struct pgplan p;
	struct pgplan_fit fit;
	struct proto_doc doc;
	const msgpack_object *body;
	struct buf out;
	char err[1024];
	int rc;

	if (strcmp(a->pos[0], "postgres") != 0)
		return cli_fail(CLI_USAGE, "plan: only 'postgres' is known (plan postgres ...)");
	memset(&in, 0, sizeof(in));
	in.autovacuum_max_workers = 3;
	in.max_worker_processes = 8;
	in.max_wal_senders = 10;
	if (ver == NULL)
		return cli_fail(CLI_USAGE,
		                "plan postgres: --pg-version is required (9.6, 12, 17.4)");
	if (pgplan_parse_version(ver, &in.branch, &in.minor, &why) == -1)
		return cli_fail(CLI_USAGE, "plan postgres: --pg-version %.32s: %s", ver, why);
	if (plan_num(a, "max-connections", 1, PGPLAN_MAX_BACKENDS, &in.max_connections) == -1 ||
	    plan_num(a, "autovacuum-max-workers", 1, PGPLAN_MAX_BACKENDS,
	             &in.autovacuum_max_workers) == -1 ||
	    plan_num(a, "max-worker-processes", 0, PGPLAN_MAX_BACKENDS, &in.max_worker_processes) ==
	        -1 ||
	    plan_num(a, "max-wal-senders", 0, PGPLAN_MAX_BACKENDS, &in.max_wal_senders) == -1 ||
	    plan_num(a, "num-os-semaphores", 1, 2 * PGPLAN_MAX_BACKENDS, &in.num_os_semaphores) ==
	        -1)
		return CLI_USAGE;
	if (in.max_connections == 0 && in.num_os_semaphores == 0)
		return cli_fail(CLI_USAGE, "plan postgres: --max-connections is required");
	if (in.max_connections == 0)
		in.max_connections = 1; /* unused with --num-os-semaphores */
	if (pgplan_compute(&in, &p, &why) == -1)
		return cli_fail(CLI_USAGE, "plan postgres: %s", why);
	if (host != NULL && !cli_host_ok(host))
		return cli_fail(CLI_USAGE, "plan postgres: --host: not a host name");

	memset(&doc, 0, sizeof(doc));
	if (host != NULL) {
		kv[0] = "name";
		kv[1] = host;
		if ((rc = cli_fetch(r, "host", kv, 1, &doc, &body, err, sizeof(err))) != CLI_OK)
			return cli_fail(rc, "%s", err);
		rc = pgplan_fit(&p, body, &fit, err, sizeof(err));
		proto_doc_free(&doc);
		if (rc == -1)
			return cli_fail(CLI_FAIL, "%s: %s", host, err);
	}
	buf_init(&out, 64 * 1024);
	if (r->json)
		pgplan_json(&p, host, host != NULL ? &fit : NULL, &out);
	else
		pgplan_text(&p, host, host != NULL ? &fit : NULL, &out);
	rc = buf_failed(&out) ? cli_fail(CLI_FAIL, "cannot format the plan")
	                      : cli_output(&out, NULL);
	buf_free(&out);
	return rc;
}
