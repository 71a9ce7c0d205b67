/*
 * cli.h: the ipcfleet query CLI.
 *
 * main.c         global options, the command table, usage, dispatch
 * client.c       one TLS connection to the aggregator: hello, queries, replies
 * cmd_common.c   configuration lookup, running a query, writing output
 * cmd_fleet.c    alerts, trend, top, orphans, report
 * cmd_check.c    check (a Nagios/Icinga plugin) and plan postgres
 * render_util.c  cleaning untrusted text, aligned tables, msgpack getters
 * render_text.c  the text renderings (tables, sparkline, report)
 * render_csv.c   CSV (trend, report)
 * render_html.c  the self-contained HTML report (render_html.h)
 * render_html_svg.c  its inline SVG: sparklines and 30-day charts
 * render_check.c the plugin's status line and exit code
 * pgplan.c       PostgreSQL semaphore arithmetic (pgplan.h)
 *
 * Renderers read reply bodies defensively (a missing or mistyped field shows
 * as "-" or is left out, never crashes) and write into a struct buf, so that
 * tests can compare their output byte for byte and -o can write it whole.
 */
#ifndef IPCFLEET_CLI_H
#define IPCFLEET_CLI_H

#include <stdio.h>

#include "buf.h"
#include "client.h"
#include "config.h"
#include "mpread.h"
#include "proto.h"
#include "table.h"

struct cli_config {
	char server[CFG_STR_MAX];
	char cert[CFG_PATH_MAX];
	char key[CFG_PATH_MAX];
	char ca[CFG_PATH_MAX];
	uint64_t timeout; /* seconds */
	int json;
};

/* client.c: one admin connection to the aggregator, for one or more queries. */
struct cli_conn {
	SSL_CTX *ctx; /* NULL: not open */
	struct client cl;
	char server[CFG_STR_MAX]; /* for messages */
};
/* Connects, verifies, says hello as an admin.  0, or -1 with a reason in err. */
int cli_open(const struct cli_config *c, struct cli_conn *cc, char *err, size_t errlen);
/*
 * Sends q and reads its reply.  On success the reply body is in doc (caller
 * frees with proto_doc_free) and *body points into it.  On failure returns
 * -1 with a one-line reason in err; the connection is then of no more use.
 */
int cli_ask(struct cli_conn *cc, const struct msg_query *q, struct proto_doc *doc,
            const msgpack_object **body, char *err, size_t errlen);
void cli_close(struct cli_conn *cc);
/* cli_open, cli_ask, cli_close. */
int cli_query(const struct cli_config *c, const struct msg_query *q, struct proto_doc *doc,
              const msgpack_object **body, char *err, size_t errlen);

/* ---- commands (main.c parses, cmd_*.c run) ---- */

#define CLI_MAX_OPTS 12
#define CLI_MAX_POS  4

/* One option of a command: "--name ARG", or "-s ARG" when shortopt is set. */
struct cli_opt {
	const char *name; /* without the leading "--" */
	char shortopt;    /* 0: none */
	const char *arg;  /* metavariable; NULL for a flag */
	const char *help;
};

struct cli_run;
struct cli_args;

struct cli_cmd {
	const char *name;
	const char *synopsis; /* positional arguments, "NAME LIMIT" */
	size_t minpos, maxpos;
	const struct cli_opt *opts; /* at most CLI_MAX_OPTS */
	size_t nopts;
	const char *help;
	int plugin; /* a monitoring plugin: its own failures exit 3, not 1 or 2 */
	int (*fn)(const struct cli_run *r, const struct cli_args *a);
};

/* What the command line said; pointers into argv. */
struct cli_args {
	const struct cli_cmd *cmd;
	size_t npos;
	const char *pos[CLI_MAX_POS];
	const char *val[CLI_MAX_OPTS]; /* by index into cmd->opts; "" for a set flag */
};

/* The global options; the configuration is read only by commands that query. */
struct cli_run {
	const char *fconfig, *fserver, *fcert, *fkey, *fca, *ftimeout;
	int json;
	int plugin; /* copied from the command */
};

/* Exit codes (CONTRACT.md); plugins use Nagios' 0..3. */
#define CLI_OK      0
#define CLI_FAIL    1
#define CLI_USAGE   2
#define CLI_UNKNOWN 3

/* The value of option name, "" for a flag that was given, NULL when absent. */
const char *cli_opt_val(const struct cli_args *a, const char *name);
/*
 * 1 when name can be a host as the aggregator knows it (a certificate CN):
 * 1 to MODEL_NAME_MAX - 1 bytes that pass the text rule (text.h).
 */
int cli_host_ok(const char *name);

/* cmd_common.c */
/*
 * Reads the configuration and applies the global flags.  Returns CLI_OK, or
 * CLI_FAIL / CLI_USAGE with a one-line reason in err.
 */
int cli_setup(const struct cli_run *r, struct cli_config *c, char *err, size_t errlen);
/*
 * Sends one query with nargs (name, value) pairs in kv.  Returns CLI_OK with
 * *body pointing into doc (caller frees doc), or CLI_FAIL / CLI_USAGE with a
 * reason in err.
 */
int cli_fetch(const struct cli_run *r, const char *cmd, const char *const *kv, size_t nargs,
              struct proto_doc *doc, const msgpack_object **body, char *err, size_t errlen);
/*
 * A listing by host (hosts, report) in pages of page hosts (the
 * aggregator's `limit` and `after`), joined as if it were one reply: *body
 * is the array of every page's rows (hosts), or, when the pages carry
 * "generated" (report), {"generated": the first page's, "hosts": that
 * array}.  It points into p (caller frees it with cli_pages_free).  An
 * aggregator from before pages answers with everything at once, taken as
 * the only page.  CLI_OK, or CLI_FAIL / CLI_USAGE with a reason in err.
 */
#define CLI_HOSTS_PAGE      5000
#define CLI_HOSTS_PAGE_MAX  10000 /* the aggregator's most */
#define CLI_REPORT_PAGE     500
#define CLI_REPORT_PAGE_MAX 2000
#define CLI_HOSTS_MAX       1000000u /* hosts in all: a listing that never ends stops here */
struct cli_pages {
	struct proto_doc *docs;
	size_t ndocs, cap;
	msgpack_object all;      /* the array of every page's rows */
	msgpack_object_kv kv[2]; /* report: generated, hosts */
	msgpack_object map;      /* report: the body */
};
int cli_fetch_pages(const struct cli_run *r, const char *cmd, uint32_t page, struct cli_pages *p,
                    const msgpack_object **body, char *err, size_t errlen);
void cli_pages_free(struct cli_pages *p);
/* Prints "ipcfleet: msg" on stderr and returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Writes out to path atomically (a temporary file in the same directory,
 * fsync, rename), or to stdout when path is NULL or "-".  Returns CLI_OK or
 * CLI_FAIL (with a message on stderr).
 */
int cli_output(const struct buf *out, const char *path);
/* The body as pretty JSON (mp_to_json) into out; 0 or -1. */
int cli_json_body(const msgpack_object *body, struct buf *out);

/* cmd_fleet.c, cmd_check.c */
int cmd_alerts(const struct cli_run *r, const struct cli_args *a);
int cmd_trend(const struct cli_run *r, const struct cli_args *a);
int cmd_top(const struct cli_run *r, const struct cli_args *a);
int cmd_orphans(const struct cli_run *r, const struct cli_args *a);
int cmd_report(const struct cli_run *r, const struct cli_args *a);
int cmd_plan(const struct cli_run *r, const struct cli_args *a);
int cmd_check(const struct cli_run *r, const struct cli_args *a);

/* ---- renderers: each returns 0, or -1 when the body is misshapen or out failed ---- */

#define RENDER_MAX_OUT (256u * 1024 * 1024) /* cap for any rendering */

/* Default thresholds (percent of a limit) when a document gives none. */
#define RENDER_WARN_PCT 80.0
#define RENDER_CRIT_PCT 90.0

/* Sparkline width: at most this many bars, so that a line fits 80 columns. */
#define RENDER_SPARK_MAX 72

enum render_scale { SCALE_AUTO = 0, SCALE_LIMIT, SCALE_MAX };

int render_alerts(const msgpack_object *body, struct buf *out);
int render_top(const msgpack_object *body, struct buf *out);
int render_orphans(const msgpack_object *body, struct buf *out);
int render_trend_text(const msgpack_object *body, enum render_scale scale, struct buf *out);
int render_trend_csv(const msgpack_object *body, struct buf *out);
int render_report_text(const msgpack_object *body, struct buf *out);
int render_report_csv(const msgpack_object *body, struct buf *out);
int render_report_html(const msgpack_object *body, struct buf *out);

/*
 * Bars of a series: n values (NaN for a missing sample) squeezed into at most
 * width bars, each the largest value of its slice, scaled so that top is a
 * full block.  Writes the bars (UTF-8) only, no newline.
 */
void render_sparkline(const double *v, size_t n, double top, size_t width, struct buf *out);

/*
 * The plugin's status line for a host document (the `host` reply) asked for
 * as name: "IPCFLEET OK - name: ... | perfdata\n".  Returns the exit code:
 * 0 no open finding or only info, 1 worst is warn, 2 crit, 3 stale host or a
 * document without usage.
 */
int render_check(const msgpack_object *doc, const char *name, struct buf *out);
/* "IPCFLEET UNKNOWN - name: why\n"; name may be NULL.  Returns 3. */
int render_check_unknown(const char *name, const char *why, struct buf *out);

/* ---- render_util.c: helpers shared by the renderers (and mpread.h) ---- */

/* Recommendations of one host that are looked at (the rest are ignored). */
#define RT_MAX_RECS 256
/* The recommendation (array recs) for the limit named by the string key. */
const msgpack_object *rt_rec_for(const msgpack_object *recs, const msgpack_object *key);
/* 1 when the usage map has an entry named by the string key. */
int rt_in_usage(const msgpack_object *usage, const msgpack_object *key);
/*
 * Warn and crit levels (percent) of one usage entry: its "warn" and "crit"
 * numbers when it has both (0 < warn <= crit <= 100), else 80 and 90.
 */
void rt_thresholds(const msgpack_object *item, double *warn, double *crit);

/*
 * Appends untrusted text, cleaned for a terminal: control characters, C1
 * controls, bidirectional overrides and invalid UTF-8 become '?'.  At most
 * max bytes are copied; longer text is cut and ends in "...".
 */
void rt_clean(struct buf *out, const char *s, size_t n, size_t max);
/* The same for a msgpack value: strings cleaned, numbers printed, else dflt (table_put_mp). */
void rt_clean_mp(struct buf *out, const msgpack_object *o, size_t max, const char *dflt);
/* What a recommendation asks: "-" (none), "no", "yes" or "yes, reboot". */
const char *rt_change_word(const msgpack_object *rec);
/* Seconds as "3d4h", "5h12m", "45m", "30s". */
void rt_age(struct buf *out, uint64_t secs);
/*
 * A command from a finding, safe to paste: only [A-Za-z0-9 _.,:/=+-]
 * (no shell metacharacters); otherwise rebuilt from the finding's type and
 * id as "ipcrm -m|-s|-q ID".  Appends nothing and returns -1 when neither
 * works.
 */
int rt_command(struct buf *out, const msgpack_object *finding);
/* CSV field: quoted when needed; text starting with = + - @ gets a leading '. */
void rt_csv_text(struct buf *out, const char *s, size_t n);
void rt_csv_mp(struct buf *out, const msgpack_object *o);

/* Host rows of a report, worst status first (stable); caller frees. */
size_t *rt_hosts_worst_first(const msgpack_object *hosts, size_t *n);
/* "3 hosts: 1 crit, 2 ok" (no line end): the report's hosts counted by status, worst first. */
void rt_host_counts(struct buf *out, const msgpack_object *hosts);

#endif
