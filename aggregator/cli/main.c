/*
 * main.c: ipcfleet, the query CLI.  One table entry per command, with its
 * options: the parser, the usage text and `COMMAND --help` all come from
 * the table.
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "util.h"
#include "view.h"

#ifndef IPCFLEET_SYSCONFDIR
#define IPCFLEET_SYSCONFDIR "/usr/local/etc"
#endif
#define SYSTEM_CONFIG IPCFLEET_SYSCONFDIR "/ipcfleet/cli.conf"

/* hosts and host: body as the foundation's text views (common/view_text.c), or JSON. */
static int
view_render(const struct cli_run *r, const msgpack_object *body,
            int (*text)(const msgpack_object *, FILE *))
{
	struct buf out;
	int rc;

	if (!r->json) {
		rc = text(body, stdout) == -1
		         ? cli_fail(CLI_FAIL, "the aggregator's reply has an unexpected shape")
		     : fflush(stdout) == 0 ? CLI_OK
		                           : cli_fail(CLI_FAIL, "cannot write to standard output");
	} else {
		buf_init(&out, RENDER_MAX_OUT);
		rc = cli_json_body(body, &out) == -1
		         ? cli_fail(CLI_FAIL, "cannot render the reply as JSON")
		         : cli_output(&out, NULL);
		buf_free(&out);
	}
	return rc;
}

static int
cmd_view(const struct cli_run *r, const char *cmd, const char *name,
         int (*text)(const msgpack_object *, FILE *))
{
	struct proto_doc doc;
	const msgpack_object *body;
	const char *kv[2] = {"name", name};
	char err[1024];
	int rc;

	if ((rc = cli_fetch(r, cmd, kv, name != NULL, &doc, &body, err, sizeof(err))) != CLI_OK)
		return cli_fail(rc, "%s", err);
	rc = view_render(r, body, text);
	proto_doc_free(&doc);
	return rc;
}

static const struct cli_opt hosts_opts[] = {
    {"page", 0, "N",
     "hosts asked for in one request (default 5000, at most 10000; 0: all at once)"},
};

static int
cmd_hosts(const struct cli_run *r, const struct cli_args *a)
{
	const char *page = cli_opt_val(a, "page"), *why;
	struct cli_pages pages;
	const msgpack_object *rows;
	uint64_t n = CLI_HOSTS_PAGE;
	char err[1024];
	int rc;

	if (page != NULL && parse_u64(page, 0, CLI_HOSTS_PAGE_MAX, &n, &why) == -1)
		return cli_fail(CLI_USAGE, "hosts: --page: %s (0 to %u hosts a request)", why,
		                CLI_HOSTS_PAGE_MAX);
	if (n == 0)
		return cmd_view(r, "hosts", NULL, view_text_hosts);
	if ((rc = cli_fetch_pages(r, "hosts", (uint32_t)n, &pages, &rows, err, sizeof(err))) !=
	    CLI_OK)
		return cli_fail(rc, "%s", err);
	rc = view_render(r, rows, view_text_hosts);
	cli_pages_free(&pages);
	return rc;
}

static int
cmd_host(const struct cli_run *r, const struct cli_args *a)
{
	return cmd_view(r, "host", a->pos[0], view_text_host);
}

static const struct cli_opt trend_opts[] = {
    {"since", 0, "DURATION", "how far back: 12h, 7d (default), up to 400d"},
    {"csv", 0, NULL, "CSV instead: t,used,limit[,min,max,mean]"},
    {"scale", 0, "auto|limit|max", "bars against the limit or the largest value"},
};

static const struct cli_opt top_opts[] = {
    {"by", 0, "LIMITS", "limits to rank by (default semmns,shmall)"},
    {"count", 0, "N", "rows to show, 1 to 1000 (default 20)"},
};

static const struct cli_opt report_opts[] = {
    {"format", 0, "text|json|csv|html", "text (default); html is one self-contained file"},
    {"output", 'o', "FILE", "write to FILE (atomically), not standard output"},
    {"page", 0, "N", "hosts asked for in one request (default 500, at most 2000; 0: all at once)"},
};

static const struct cli_opt plan_opts[] = {
    {"pg-version", 0, "V", "version: 9.6, 12, 17.4 (9.4 and later)"},
    {"max-connections", 0, "N", "max_connections (required)"},
    {"autovacuum-max-workers", 0, "N", "autovacuum_max_workers (default 3)"},
    {"max-worker-processes", 0, "N", "max_worker_processes (default 8)"},
    {"max-wal-senders", 0, "N", "max_wal_senders (default 10; counted from 12)"},
    {"num-os-semaphores", 0, "N", "18+: what postgres -C num_os_semaphores says"},
    {"host", 0, "NAME", "also say whether it fits on NAME now"},
};

static const struct cli_cmd cli_cmds[] = {
    {"hosts", "", 0, 0, hosts_opts, NELEM(hosts_opts),
     "one row per host: status, use% of each limit, last seen", 0, cmd_hosts},
    {"host", "NAME", 1, 1, NULL, 0, "limits, usage, objects, findings, advice for one host", 0,
     cmd_host},
    {"alerts", "", 0, 0, NULL, 0, "every open finding in the fleet, worst first", 0, cmd_alerts},
    {"trend", "NAME LIMIT", 2, 2, trend_opts, NELEM(trend_opts),
     "one limit's usage on one host over time, as a sparkline", 0, cmd_trend},
    {"top", "", 0, 0, top_opts, NELEM(top_opts),
     "the largest consumers across the fleet (host, scope, owner)", 0, cmd_top},
    {"orphans", "", 0, 0, NULL, 0, "objects that look abandoned, and how to remove each", 0,
     cmd_orphans},
    {"report", "", 0, 0, report_opts, NELEM(report_opts),
     "the fleet capacity report: usage, findings, settings", 0, cmd_report},
    {"plan", "postgres", 1, 1, plan_opts, NELEM(plan_opts),
     "SysV semaphores PostgreSQL needs; with --host, does it fit", 0, cmd_plan},
    {"check", "NAME", 1, 1, NULL, 0, "Nagios/Icinga plugin: status line, perfdata, exit 0-3", 1,
     cmd_check},
};

/* "  --since DURATION" */
static void
opt_synopsis(const struct cli_opt *o, char *buf, size_t len)
{
	if (o->shortopt != 0)
		snprintf(buf, len, "-%c, --%s%s%s", o->shortopt, o->name, o->arg ? " " : "",
		         o->arg ? o->arg : "");
	else
		snprintf(buf, len, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

static void
cmd_synopsis(const struct cli_cmd *cmd, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", cmd->name, cmd->synopsis[0] ? " " : "", cmd->synopsis);
}

static void
usage(FILE *fp)
{
	char syn[128];
	size_t i, k;

	fprintf(fp,
	        "usage: ipcfleet [--config FILE] [--server HOST:PORT] [--cert F --key F --ca F]\n"
	        "                [--json] COMMAND [ARGS] [OPTIONS]\n\n"
	        "Queries an ipcfleet aggregator about the SysV IPC limits of a fleet.\n\n"
	        "Commands:\n");
	for (i = 0; i < NELEM(cli_cmds); i++) {
		const struct cli_cmd *cmd = &cli_cmds[i];

		cmd_synopsis(cmd, syn, sizeof(syn));
		fprintf(fp, "  %-18s %s\n", syn, cmd->help);
		for (k = 0; k < cmd->nopts; k++) {
			opt_synopsis(&cmd->opts[k], syn, sizeof(syn));
			if (strlen(syn) > 26)
				fprintf(fp, "      %s\n%33s%s\n", syn, "", cmd->opts[k].help);
			else
				fprintf(fp, "      %-26s %s\n", syn, cmd->opts[k].help);
		}
	}
	fprintf(fp, "\nOptions (before or after the command):\n"
	            "  --config FILE       configuration; else $IPCFLEET_CONFIG, else\n"
	            "                      ~/.config/ipcfleet/cli.conf, else\n"
	            "                      " SYSTEM_CONFIG "\n"
	            "  --server HOST:PORT  aggregator to ask (overrides [cli] server)\n"
	            "  --cert/--key/--ca F admin certificate, its key, and the fleet CA\n"
	            "  --json              machine-readable output (shapes in CONTRACT.md)\n"
	            "  --timeout SECONDS   per network operation (default 10)\n"
	            "  -h, --help          this help (COMMAND --help: that command's);\n"
	            "  --version           the version\n"
	            "\nExamples:\n"
	            "  ipcfleet alerts                what needs attention, worst first\n"
	            "  ipcfleet host db7              what is wrong on db7, and what holds it\n"
	            "  ipcfleet trend db7 semmns --since 14d\n"
	            "  ipcfleet report --format html -o fleet.html\n"
	            "  ipcfleet plan postgres --pg-version 9.6 --max-connections 200 --host db7\n"
	            "  ipcfleet --json hosts | jq '.[] | select(.status != \"ok\")'\n"
	            "\nExit status: 0 success, 1 runtime failure (cannot connect, refused,\n"
	            "unknown host), 2 usage error.  Exception: check is a monitoring plugin and\n"
	            "uses the plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, and 3 UNKNOWN for\n"
	            "an unknown or stale host and for its own failures (cannot connect, bad\n"
	            "arguments), so that a broken check never pages as WARNING or CRITICAL.\n");
}

static void
cmd_usage(FILE *fp, const struct cli_cmd *cmd)
{
	char syn[128];
	size_t k;

	cmd_synopsis(cmd, syn, sizeof(syn));
	fprintf(fp, "usage: ipcfleet [GLOBAL OPTIONS] %s%s%s\n\n%s.\n", syn,
	        cmd->nopts > 0 ? " [OPTIONS]" : "", strcmp(cmd->name, "check") ? " [--json]" : "",
	        cmd->help);
	if (cmd->nopts > 0)
		fputs("\nOptions:\n", fp);
	for (k = 0; k < cmd->nopts; k++) {
		opt_synopsis(&cmd->opts[k], syn, sizeof(syn));
		fprintf(fp, "  %-28s %s\n", syn, cmd->opts[k].help);
	}
	if (cmd->plugin)
		fputs(
		    "\nPrints \"IPCFLEET OK|WARNING|CRITICAL|UNKNOWN - NAME: TEXT | PERFDATA\".\n"
		    "Exit 0 no open finding (or only info), 1 worst open finding is warn, 2 crit,\n"
		    "3 unknown or stale host, cannot connect, or bad arguments.  Perfdata per\n"
		    "counted limit: limit=used;warn;crit;0;max (warn/crit at 80%/90% of max).\n",
		    fp);
	fputs("\nSee ipcfleet --help for the global options.\n", fp);
}

/* A usage error: one line; a plugin reports it as UNKNOWN on stdout. */
static int
usage_error(const struct cli_cmd *cmd, const char *what, const char *arg)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s%.64s; see ipcfleet %s --help", what, arg != NULL ? arg : "",
	         cmd != NULL ? cmd->name : "");
	if (cmd != NULL && cmd->plugin) {
		struct buf out;
		int code;

		buf_init(&out, 4096);
		code = render_check_unknown(NULL, msg, &out);
		if (!buf_failed(&out))
			fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
		return code;
	}
	return cli_fail(CLI_USAGE, "%s", msg);
}

/* Index of the option named by s ("--name", "--name=v", "-o"), or -1. */
static int
find_opt(const struct cli_cmd *cmd, const char *s, const char **inl)
{
	size_t k, n;

	*inl = NULL;
	if (s[1] != '-') {
		for (k = 0; k < cmd->nopts; k++)
			if (cmd->opts[k].shortopt != 0 && s[1] == cmd->opts[k].shortopt &&
			    s[2] == '\0')
				return (int)k;
		return -1;
	}
	s += 2;
	n = strcspn(s, "=");
	for (k = 0; k < cmd->nopts; k++)
		if (strlen(cmd->opts[k].name) == n && strncmp(cmd->opts[k].name, s, n) == 0) {
			if (s[n] == '=')
				*inl = s + n + 1;
			return (int)k;
		}
	return -1;
}

/*
 * Parses what follows the command name.  Returns -1 to go on, else the exit
 * code (help printed, or a usage error).
 */
/* The global options that take a value, also accepted after the command. */
static const char **
global_opt(struct cli_run *r, const char *s, size_t n)
{
	static const char *const names[] = {"config", "server", "cert", "key", "ca", "timeout"};
	const char **slot[] = {&r->fconfig, &r->fserver, &r->fcert,
	                       &r->fkey,    &r->fca,     &r->ftimeout};
	size_t i;

	for (i = 0; i < NELEM(names); i++)
		if (strlen(names[i]) == n && strncmp(s, names[i], n) == 0)
			return slot[i];
	return NULL;
}

static int
parse_args(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *a, struct cli_run *r)
{
	int k, idx, dashdash = 0;
	const char *inl, **g;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	for (k = 0; k < argc; k++) {
		const char *s = argv[k];

		if (dashdash || s[0] != '-' || s[1] == '\0') {
			if (a->npos >= cmd->maxpos || a->npos >= CLI_MAX_POS)
				return usage_error(cmd, "unexpected argument: ", s);
			a->pos[a->npos++] = s;
			continue;
		}
		if (strcmp(s, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (strcmp(s, "--json") == 0) {
			r->json = 1;
			continue;
		}
		if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
			cmd_usage(stdout, cmd);
			return 0;
		}
		if ((idx = find_opt(cmd, s, &inl)) == -1) {
			if (s[1] != '-' || (g = global_opt(r, s + 2, strcspn(s + 2, "="))) == NULL)
				return usage_error(cmd, "unknown option: ", s);
			if (strchr(s, '=') != NULL)
				*g = strchr(s, '=') + 1;
			else if (k + 1 < argc)
				*g = argv[++k];
			else
				return usage_error(cmd, "this option needs a value: ", s);
			continue;
		}
		if (cmd->opts[idx].arg == NULL) {
			if (inl != NULL)
				return usage_error(cmd, "this option takes no value: ", s);
			a->val[idx] = "";
		} else if (inl != NULL) {
			a->val[idx] = inl;
		} else {
			if (k + 1 >= argc)
				return usage_error(cmd, "this option needs a value: ", s);
			a->val[idx] = argv[++k];
		}
	}
	if (a->npos < cmd->minpos)
		return usage_error(cmd, "missing argument: ", cmd->synopsis);
	return -1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'C'},  {"server", required_argument, NULL, 's'},
	    {"cert", required_argument, NULL, 'c'},    {"key", required_argument, NULL, 'k'},
	    {"ca", required_argument, NULL, 'a'},      {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0}};
	const struct cli_cmd *cmd = NULL;
	struct cli_run r;
	struct cli_args a;
	size_t i;
	int ch, rc;

	memset(&r, 0, sizeof(r));
	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			r.fconfig = optarg;
			break;
		case 's':
			r.fserver = optarg;
			break;
		case 'c':
			r.fcert = optarg;
			break;
		case 'k':
			r.fkey = optarg;
			break;
		case 'a':
			r.fca = optarg;
			break;
		case 'j':
			r.json = 1;
			break;
		case 't':
			r.ftimeout = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("ipcfleet %s\n", IPCFLEET_VERSION);
			return CLI_OK;
		default:
			fprintf(stderr, "ipcfleet: see --help for usage\n");
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "ipcfleet: no command given; see --help\n");
		return CLI_USAGE;
	}
	for (i = 0; i < NELEM(cli_cmds); i++)
		if (strcmp(cli_cmds[i].name, argv[optind]) == 0)
			cmd = &cli_cmds[i];
	if (cmd == NULL) {
		fprintf(stderr, "ipcfleet: unknown command '%s'; see --help\n", argv[optind]);
		return CLI_USAGE;
	}
	if ((rc = parse_args(cmd, argc - optind - 1, argv + optind + 1, &a, &r)) != -1)
		return rc;
	r.plugin = cmd->plugin;
	log_init("ipcfleet", 0, 0);
	return cmd->fn(&r, &a);
}
