/*
 * main.c: ipcfleet, the query CLI.  One table entry per command.
 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "util.h"
#include "view.h"

#ifndef IPCFLEET_SYSCONFDIR
#define IPCFLEET_SYSCONFDIR "/usr/local/etc"
#endif
#define SYSTEM_CONFIG IPCFLEET_SYSCONFDIR "/ipcfleet/cli.conf"

#define OFF(f) offsetof(struct cli_config, f)
static const struct cfg_key cli_schema[] = {
	{"cli", "server", CFG_STRING, OFF(server), 0, 0, NULL, "aggregator HOST:PORT"},
	{"cli", "cert", CFG_PATH, OFF(cert), 0, 0, NULL, "admin certificate"},
	{"cli", "key", CFG_PATH, OFF(key), 0, 0, NULL, "admin private key (mode 0600)"},
	{"cli", "ca", CFG_PATH, OFF(ca), 0, 0, NULL, "CA of the aggregator's certificate"},
	{"cli", "timeout", CFG_DURATION, OFF(timeout), 1, 600, NULL, "per network operation"},
	{NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

struct cli_cmd {
	const char *name;
	int minargs, maxargs;
	const char *usage;
	const char *help;
	int (*fn)(const struct cli_config *c, int argc, char **argv);
};

static void usage(FILE *fp);

static int
fail(const char *msg)
{
	fprintf(stderr, "ipcfleet: %s\n", msg);
	return 1;
}

/* Prints a reply body as JSON, or via the text renderer. */
static int
show(const struct cli_config *c, const msgpack_object *body,
     int (*text)(const msgpack_object *, FILE *))
{
	struct buf out;
	int rc = 0;

	if (!c->json) {
		if (text(body, stdout) == -1)
			return fail("the aggregator's reply has an unexpected shape");
		return fflush(stdout) == 0 ? 0 : 1;
	}
	buf_init(&out, 1024u * 1024 * 1024);
	if (mp_to_json(body, &out, 1) == -1 || buf_puts(&out, "\n") == -1)
		rc = fail("cannot render the reply as JSON");
	else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0)
		rc = fail("cannot write to standard output");
	buf_free(&out);
	return rc;
}

static int
run_query(const struct cli_config *c, const char *cmd, const char *argname, const char *argval,
	  int (*text)(const msgpack_object *, FILE *))
{
	struct msg_query q;
	struct proto_doc doc;
	const msgpack_object *body;
	char err[1024];
	int rc;

	memset(&q, 0, sizeof(q));
	q.id = 1;
	ifl_strlcpy(q.cmd, cmd, sizeof(q.cmd));
	if (argname != NULL) {
		if (strlen(argval) >= sizeof(q.args[0].value)) {
			fprintf(stderr, "ipcfleet: argument too long\n");
			return 2;
		}
		ifl_strlcpy(q.args[0].name, argname, sizeof(q.args[0].name));
		ifl_strlcpy(q.args[0].value, argval, sizeof(q.args[0].value));
		q.nargs = 1;
	}
	if (cli_query(c, &q, &doc, &body, err, sizeof(err)) == -1)
		return fail(err);
	rc = show(c, body, text);
	proto_doc_free(&doc);
	return rc;
}

static int
cmd_hosts(const struct cli_config *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return run_query(c, "hosts", NULL, NULL, view_text_hosts);
}

static int
cmd_host(const struct cli_config *c, int argc, char **argv)
{
	(void)argc;
	return run_query(c, "host", "name", argv[0], view_text_host);
}

static const struct cli_cmd cli_cmds[] = {
	{"hosts", 0, 0, "hosts", "one row per host: status, use% of each limit, last seen",
	 cmd_hosts},
	{"host", 1, 1, "host NAME",
	 "limits, usage, scopes, objects and findings of one host", cmd_host},
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: ipcfleet [--config FILE] [--server HOST:PORT] [--cert F --key F --ca F]\n"
		    "                [--json] COMMAND [ARGS]\n\n"
		    "Queries an ipcfleet aggregator about the SysV IPC limits of a fleet.\n\n"
		    "Commands:\n");
	for (i = 0; i < NELEM(cli_cmds); i++)
		fprintf(fp, "  %-14s %s\n", cli_cmds[i].usage, cli_cmds[i].help);
	fprintf(fp,
		"\nOptions:\n"
		"  --config FILE       configuration; else $IPCFLEET_CONFIG, else\n"
		"                      ~/.config/ipcfleet/cli.conf, else " SYSTEM_CONFIG "\n"
		"  --server HOST:PORT  aggregator to ask (overrides [cli] server)\n"
		"  --cert/--key/--ca F admin certificate, its key, and the fleet CA\n"
		"  --json              machine-readable output (shapes in CONTRACT.md)\n"
		"  --timeout SECONDS   per network operation (default 10)\n"
		"  -h, --help          this help;  --version  the version\n"
		"\nExamples:\n"
		"  ipcfleet hosts                 which hosts are near a limit?\n"
		"  ipcfleet host db7              what is wrong on db7, and what holds it\n"
		"  ipcfleet --json hosts | jq '.[] | select(.status != \"ok\")'\n"
		"\nExit status: 0 success, 1 runtime failure (cannot connect, refused,\n"
		"unknown host), 2 usage error.\n");
}

/* Finds the configuration file: returns the path, or NULL when none exists. */
static const char *
find_config(const char *flag, char *buf, size_t len, int *explicit)
{
	const char *env = getenv("IPCFLEET_CONFIG");
	struct stat st;

	*explicit = 1;
	if (flag != NULL)
		return flag;
	if (env != NULL && *env != '\0')
		return env;
	*explicit = 0;
	if (expand_tilde("~/.config/ipcfleet/cli.conf", buf, len) == 0 && stat(buf, &st) == 0)
		return buf;
	if (stat(SYSTEM_CONFIG, &st) == 0)
		return SYSTEM_CONFIG;
	return NULL;
}

static int
set_path(char *dst, size_t len, const char *src, const char *what)
{
	if (expand_tilde(src, dst, len) == -1) {
		fprintf(stderr, "ipcfleet: --%s: path too long\n", what);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'C'}, {"server", required_argument, NULL, 's'},
	    {"cert", required_argument, NULL, 'c'},   {"key", required_argument, NULL, 'k'},
	    {"ca", required_argument, NULL, 'a'},     {"json", no_argument, NULL, 'j'},
	    {"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},      {NULL, 0, NULL, 0}};
	const char *fconfig = NULL, *fserver = NULL, *fcert = NULL, *fkey = NULL, *fca = NULL;
	const char *ftimeout = NULL, *path, *why;
	struct cli_config c;
	char pathbuf[CFG_PATH_MAX], err[1024];
	int ch, json = 0, explicit;
	size_t i;

	while ((ch = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'C':
			fconfig = optarg;
			break;
		case 's':
			fserver = optarg;
			break;
		case 'c':
			fcert = optarg;
			break;
		case 'k':
			fkey = optarg;
			break;
		case 'a':
			fca = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 't':
			ftimeout = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ipcfleet %s\n", IPCFLEET_VERSION);
			return 0;
		default:
			fprintf(stderr, "ipcfleet: see --help for usage\n");
			return 2;
		}
	}
	/* options may also follow the command: `ipcfleet hosts --json` */
	if (optind < argc) {
		int cmdind = optind, k, n = 0;
		char **rest = argv + cmdind;
		int nrest = argc - cmdind;

		for (k = 1; k < nrest; k++) {
			if (strcmp(rest[k], "--json") == 0)
				json = 1;
			else if (rest[k][0] == '-' && rest[k][1] != '\0') {
				fprintf(stderr, "ipcfleet: unknown option '%s' after the command\n",
					rest[k]);
				return 2;
			} else
				rest[1 + n++] = rest[k];
		}
		argc = cmdind + 1 + n;
	}
	if (optind >= argc) {
		fprintf(stderr, "ipcfleet: no command given; see --help\n");
		return 2;
	}

	log_init("ipcfleet", 0, 0);
	memset(&c, 0, sizeof(c));
	c.timeout = 10;
	path = find_config(fconfig, pathbuf, sizeof(pathbuf), &explicit);
	if (path != NULL && config_load(path, cli_schema, &c, err, sizeof(err)) == -1)
		return fail(err);
	if (fserver != NULL && ifl_strlcpy(c.server, fserver, sizeof(c.server)) >= sizeof(c.server))
		return fail("--server: too long");
	if ((fcert != NULL && set_path(c.cert, sizeof(c.cert), fcert, "cert") == -1) ||
	    (fkey != NULL && set_path(c.key, sizeof(c.key), fkey, "key") == -1) ||
	    (fca != NULL && set_path(c.ca, sizeof(c.ca), fca, "ca") == -1))
		return 2;
	if (ftimeout != NULL && parse_duration(ftimeout, &c.timeout, &why) == -1) {
		fprintf(stderr, "ipcfleet: --timeout: %s\n", why);
		return 2;
	}
	if (c.timeout == 0 || c.timeout > 600) {
		fprintf(stderr, "ipcfleet: --timeout: between 1s and 600s\n");
		return 2;
	}
	c.json = json;

	for (i = 0; i < NELEM(cli_cmds); i++) {
		const struct cli_cmd *cmd = &cli_cmds[i];
		int nargs = argc - optind - 1;

		if (strcmp(cmd->name, argv[optind]) != 0)
			continue;
		if (nargs < cmd->minargs || nargs > cmd->maxargs) {
			fprintf(stderr, "ipcfleet: usage: ipcfleet %s\n", cmd->usage);
			return 2;
		}
		if (c.server[0] == '\0')
			return fail(path == NULL ? "no aggregator configured: give --server or "
						   "write ~/.config/ipcfleet/cli.conf"
						 : "no aggregator configured: [cli] server is empty");
		if (c.cert[0] == '\0' || c.key[0] == '\0' || c.ca[0] == '\0')
			return fail("an admin certificate is needed: set cert, key and ca in "
				    "[cli] or give --cert, --key and --ca");
		(void)explicit;
		return cmd->fn(&c, nargs, argv + optind + 1);
	}
	fprintf(stderr, "ipcfleet: unknown command '%s'; see --help\n", argv[optind]);
	return 2;
}
