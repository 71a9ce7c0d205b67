/*
 * main.c: ipcfleet-aggregator start-up, configuration and signals.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "aggregator.h"
#include "log.h"
#include "tls.h"
#include "util.h"

#ifndef IPCFLEET_SYSCONFDIR
#define IPCFLEET_SYSCONFDIR "/usr/local/etc"
#endif
#define DEFAULT_CONFIG IPCFLEET_SYSCONFDIR "/ipcfleet/aggregator.conf"

static int
threshold_key(void *user, const char *key, const char *value, char *err, size_t errlen)
{
	struct agg_config *c = user;
	const char *dot = strrchr(key, '.'), *why;
	char limit[MODEL_NAME_MAX];
	struct threshold_override *o = NULL;
	uint64_t v;
	size_t i, n;

	if (dot == NULL || (n = (size_t)(dot - key)) == 0 || n >= sizeof(limit)) {
		snprintf(err, errlen, "expected LIMIT.warn or LIMIT.crit");
		return -1;
	}
	memcpy(limit, key, n);
	limit[n] = '\0';
	if (!limit_name_valid(limit)) {
		snprintf(err, errlen, "'%s' is not a limit name", limit);
		return -1;
	}
	if (parse_u64(value, 1, 100, &v, &why) == -1) {
		snprintf(err, errlen, "%s (a percentage from 1 to 100)", why);
		return -1;
	}
	for (i = 0; i < c->noverrides; i++)
		if (strcmp(c->overrides[i].limit, limit) == 0)
			o = &c->overrides[i];
	if (o == NULL) {
		if (c->noverrides >= AGG_MAX_OVERRIDES) {
			snprintf(err, errlen, "too many per-limit thresholds (at most %d)",
			         AGG_MAX_OVERRIDES);
			return -1;
		}
		o = &c->overrides[c->noverrides++];
		memset(o, 0, sizeof(*o));
		ifl_strlcpy(o->limit, limit, sizeof(o->limit));
	}
	if (strcmp(dot + 1, "warn") == 0)
		o->warn = v;
	else
		o->crit = v;
	return 0;
}

/* [host_thresholds]  GLOB = semmns.warn=70 semmns.crit=85 warn=60 ... */
static int
host_threshold_key(void *user, const char *key, const char *value, char *err, size_t errlen)
{
	struct agg_config *c = user;
	char copy[CFG_STR_MAX], *tok, *save = NULL;

	if (strlen(key) >= MODEL_NAME_MAX) {
		snprintf(err, errlen, "host pattern too long");
		return -1;
	}
	if (ifl_strlcpy(copy, value, sizeof(copy)) >= sizeof(copy)) {
		snprintf(err, errlen, "too long");
		return -1;
	}
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		struct host_override *h;
		char *eq = strchr(tok, '='), *dot;
		const char *why;
		uint64_t v;

		if (eq == NULL) {
			snprintf(err, errlen,
			         "'%s': expected LIMIT.warn=PCT, LIMIT.crit=PCT, warn=PCT "
			         "or crit=PCT",
			         tok);
			return -1;
		}
		*eq = '\0';
		if (parse_u64(eq + 1, 1, 100, &v, &why) == -1) {
			snprintf(err, errlen, "'%s': %s (a percentage from 1 to 100)", tok, why);
			return -1;
		}
		if (c->nhost_overrides >= AGG_MAX_OVERRIDES) {
			snprintf(err, errlen, "too many host thresholds (at most %d)",
			         AGG_MAX_OVERRIDES);
			return -1;
		}
		h = &c->host_overrides[c->nhost_overrides];
		memset(h, 0, sizeof(*h));
		ifl_strlcpy(h->glob, key, sizeof(h->glob));
		dot = strrchr(tok, '.');
		if (dot != NULL) {
			*dot = '\0';
			if (!limit_name_valid(tok) || strlen(tok) >= sizeof(h->o.limit)) {
				snprintf(err, errlen, "'%s' is not a limit name", tok);
				return -1;
			}
			ifl_strlcpy(h->o.limit, tok, sizeof(h->o.limit));
			tok = dot + 1;
		}
		if (strcmp(tok, "warn") == 0)
			h->o.warn = v;
		else if (strcmp(tok, "crit") == 0)
			h->o.crit = v;
		else {
			snprintf(err, errlen, "'%s': expected warn or crit", tok);
			return -1;
		}
		c->nhost_overrides++;
	}
	return 0;
}

#define OFF(f) offsetof(struct agg_config, f)
static const struct cfg_key agg_schema[] = {
    {"server", "listen", CFG_STRING, OFF(listen), 0, 0, NULL, "address:port to accept TLS on"},
    {"server", "cert", CFG_PATH, OFF(cert), 0, 0, NULL, "server certificate (PEM)"},
    {"server", "key", CFG_PATH, OFF(key), 0, 0, NULL, "server private key (PEM, mode 0600)"},
    {"server", "ca", CFG_PATH, OFF(ca), 0, 0, NULL, "CA that signs agent and admin certs"},
    {"server", "crl", CFG_PATH, OFF(crl), 0, 0, NULL, "certificate revocation list (PEM)"},
    {"server", "admins", CFG_LIST, OFF(admins), 0, 0, NULL, "CNs allowed to query"},
    {"server", "max_connections", CFG_U64, OFF(max_connections), 1, 1000000, NULL,
     "connections served at once"},
    {"server", "handshake_timeout", CFG_DURATION, OFF(handshake_timeout), 1, 3600, NULL,
     "TLS handshake plus hello"},
    {"server", "idle_timeout", CFG_DURATION, OFF(idle_timeout), 1, 86400 * 7, NULL,
     "close connections silent this long"},
    {"server", "frame_timeout", CFG_DURATION, OFF(frame_timeout), 1, 3600, NULL,
     "window over which a partial frame must arrive at min_frame_rate"},
    {"server", "min_frame_rate", CFG_SIZE, OFF(min_frame_rate), 1, 1024 * 1024 * 1024, NULL,
     "bytes per second a frame must keep arriving at"},
    {"server", "tls12", CFG_U64, OFF(tls12), 0, 1, NULL, "1: also accept TLS 1.2"},
    {"server", "user", CFG_STRING, OFF(user), 0, 0, NULL,
     "started as root: run as this user once listening (docs/SECURITY.md)"},
    {"storage", "backend", CFG_STRING, OFF(backend), 0, 0, NULL, "sqlite or postgresql"},
    {"storage", "path", CFG_PATH, OFF(db_path), 0, 0, NULL, "SQLite database file"},
    {"storage", "url", CFG_STRING, OFF(url), 0, 0, NULL,
     "postgresql://USER@HOST/DB (backend = postgresql)"},
    {"http", "listen", CFG_STRING, OFF(http_listen), 0, 0, NULL,
     "plain HTTP: GET /metrics (Prometheus), /healthz"},
    {"thresholds", "warn", CFG_U64, OFF(warn), 1, 100, NULL, "percent of a limit"},
    {"thresholds", "crit", CFG_U64, OFF(crit), 1, 100, NULL, "percent of a limit"},
    {"thresholds", "*.warn", CFG_CUSTOM, 0, 0, 0, threshold_key, "per-limit warn"},
    {"thresholds", "*.crit", CFG_CUSTOM, 0, 0, 0, threshold_key, "per-limit crit"},
    {"thresholds", "hysteresis", CFG_U64, OFF(hysteresis), 0, 50, NULL,
     "points below a level before a finding clears"},
    {"host_thresholds", "*", CFG_CUSTOM, 0, 0, 0, host_threshold_key,
     "GLOB = LIMIT.warn=PCT ... per host"},
    {"analysis", "forecast_window", CFG_DURATION, OFF(forecast_window), 600, 86400 * 400, NULL,
     "history fitted for forecasts"},
    {"analysis", "forecast_horizon", CFG_DURATION, OFF(forecast_horizon), 3600, 86400 * 400, NULL,
     "warn when exhaustion is nearer"},
    {"analysis", "max_clock_skew", CFG_DURATION, OFF(max_clock_skew), 1, 86400, NULL,
     "agent clock disagreement tolerated"},
    {"analysis", "vanished_keep", CFG_DURATION, OFF(vanished_keep), 1, 86400 * 30, NULL,
     "a vanished object's finding stays open so long"},
    {"analysis", "leak_window", CFG_DURATION, OFF(leak_window), 1, 86400 * 30, NULL,
     "a leak's growth spans at least this"},
    {"analysis", "leak_min_snapshots", CFG_U64, OFF(leak_min_snapshots), 3, 10000, NULL,
     "and at least this many snapshots"},
    {"analysis", "orphan_keep", CFG_DURATION, OFF(orphan_keep), 0, 86400 * 30, NULL,
     "a removed orphan's record stays so long (0: not kept)"},
    {"analysis", "retention", CFG_DURATION, OFF(retention), 3600, 86400 * 400, NULL,
     "per-snapshot samples kept"},
    {"analysis", "rollup_retention", CFG_DURATION, OFF(rollup_retention), 86400, 86400 * 3650, NULL,
     "hourly rollups and closed findings kept"},
    {"analysis", "default_interval", CFG_DURATION, OFF(default_interval), 1, 86400, NULL,
     "for agents that do not say theirs"},
    {"analysis", "check_interval", CFG_DURATION, OFF(check_interval), 1, 3600, NULL,
     "stale checks and housekeeping"},
    {"analysis", "stale_grace", CFG_DURATION, OFF(stale_grace), 0, 86400, NULL,
     "after the aggregator could not see (stopped, storage failing), extra wait before stale"},
    {"analysis", "notify_command", CFG_STRING, OFF(notify_command), 0, 0, NULL,
     "run by /bin/sh -c on every finding change"},
    {"analysis", "notify_timeout", CFG_DURATION, OFF(notify_timeout), 1, 3600, NULL,
     "notify_command is killed after this"},
    {NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

void
agg_config_defaults(struct agg_config *c)
{
	memset(c, 0, sizeof(*c));
	ifl_strlcpy(c->listen, "0.0.0.0:7701", sizeof(c->listen));
	ifl_strlcpy(c->backend, "sqlite", sizeof(c->backend));
	ifl_strlcpy(c->db_path, "/var/db/ipcfleet/ipcfleet.db", sizeof(c->db_path));
	c->max_connections = 10000;
	c->handshake_timeout = 10;
	c->idle_timeout = 600;
	c->frame_timeout = 30;
	c->min_frame_rate = 16 * 1024;
	c->warn = 80;
	c->crit = 90;
	c->hysteresis = 5;
	c->forecast_window = 7 * 86400;
	c->forecast_horizon = 14 * 86400;
	c->max_clock_skew = 300;
	c->vanished_keep = 3600;
	c->leak_window = 6 * 3600;
	c->leak_min_snapshots = 6;
	c->orphan_keep = 86400;
	c->retention = 14 * 86400;
	c->rollup_retention = 400 * 86400;
	c->default_interval = 60;
	c->check_interval = 30;
	c->stale_grace = 60;
	c->notify_timeout = 30;
}

int
agg_config_load(const char *path, struct agg_config *c, char *err, size_t errlen)
{
	static const char *const required[] = {"server.cert", "server.key", "server.ca", NULL};
	size_t i;

	agg_config_defaults(c);
	if (config_load(path, agg_schema, c, err, errlen) == -1)
		return -1;
	if (config_require(path, agg_schema, c, required, err, errlen) == -1)
		return -1;
	if (strcmp(c->backend, "sqlite") != 0 && strcmp(c->backend, "postgresql") != 0) {
		snprintf(err, errlen,
		         "%s: [storage] backend '%s' is not supported (use sqlite or postgresql)",
		         path, c->backend);
		return -1;
	}
	if (strcmp(c->backend, "postgresql") == 0 && c->url[0] == '\0') {
		snprintf(err, errlen,
		         "%s: [storage] backend = postgresql needs url = postgresql://USER@HOST/DB",
		         path);
		return -1;
	}
	if (c->warn >= c->crit) {
		snprintf(err, errlen, "%s: [thresholds] warn (%llu) must be below crit (%llu)",
		         path, (unsigned long long)c->warn, (unsigned long long)c->crit);
		return -1;
	}
	for (i = 0; i < c->noverrides; i++) {
		double w, cr;

		agg_thresholds(c, c->overrides[i].limit, &w, &cr);
		if (w >= cr) {
			snprintf(err, errlen,
			         "%s: [thresholds] %s: warn (%.0f) must be below crit (%.0f)", path,
			         c->overrides[i].limit, w, cr);
			return -1;
		}
	}
	/* trends beyond the samples come from the rollups, which a replaced sample also changes */
	if (c->rollup_retention < c->retention) {
		snprintf(
		    err, errlen,
		    "%s: [analysis] rollup_retention (%llus) is shorter than retention (%llus):"
		    " the hourly rollups must outlive the samples they summarise",
		    path, (unsigned long long)c->rollup_retention,
		    (unsigned long long)c->retention);
		return -1;
	}
	if (c->admins.n == 0) {
		snprintf(err, errlen,
		         "%s: [server] admins is empty: nobody could query; list the CNs of admin "
		         "certificates",
		         path);
		return -1;
	}
	if (c->user[0] != '\0' && getpwnam(c->user) == NULL) {
		snprintf(err, errlen, "%s: [server] user '%s': no such user", path, c->user);
		return -1;
	}
	return 0;
}

/*
 * Gives the SQLite database and its -wal and -shm files to uid:gid, so that
 * the aggregator can still write them once it has dropped root.  Files that
 * do not exist are skipped; symbolic links are not followed.  (SQLite itself,
 * when run by root, gives the -wal and -shm files it creates later the owner
 * of the database file.)
 */
static int
priv_chown_db(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char p[CFG_PATH_MAX + 8];
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		if (fchownat(AT_FDCWD, p, uid, gid, AT_SYMLINK_NOFOLLOW) == -1 && errno != ENOENT) {
			snprintf(err, errlen, "%.900s: cannot give it to the [server] user: %s", p,
			         strerror(errno));
			return -1;
		}
	}
	return 0;
}

/*
 * [server] user: once the listeners are bound and the database is open, a
 * process started as root becomes that user for good: supplementary groups,
 * then the real, effective and saved group and user ids.  It then checks
 * that root cannot be regained.  Not started as root: nothing to drop.
 * Returns 0, or -1 with err (the caller must not serve then).
 */
static int
priv_drop(const struct agg_config *c, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (c->user[0] == '\0')
		return 0;
	if ((pw = getpwnam(c->user)) == NULL) {
		snprintf(err, errlen, "[server] user '%s': no such user", c->user);
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (geteuid() != uid)
			log_warnx("[server] user = %s: not started as root, so staying uid %u",
			          c->user, (unsigned)geteuid());
		return 0;
	}
	if (uid == 0) {
		snprintf(err, errlen, "[server] user '%s' is root: nothing would be dropped",
		         c->user);
		return -1;
	}
	if (strcmp(c->backend, "sqlite") == 0 &&
	    priv_chown_db(c->db_path, uid, gid, err, errlen) == -1)
		return -1;
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "cannot become user %s (uid %u, gid %u): %s", c->user,
		         (unsigned)uid, (unsigned)gid, strerror(errno));
		return -1;
	}
	/* paranoia: every id changed, and none of them leads back to root */
	if (setuid(0) != -1 || seteuid(0) != -1 || getuid() != uid || geteuid() != uid ||
	    getgid() != gid || getegid() != gid) {
		snprintf(err, errlen, "dropping root to user %s did not stick", c->user);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)", c->user, (unsigned)uid, (unsigned)gid);
	return 0;
}

static SSL_CTX *
make_ctx(const struct agg_config *c, char *err, size_t errlen)
{
	struct tls_paths tp = {.cert = c->cert,
	                       .key = c->key,
	                       .ca = c->ca,
	                       .crl = c->crl,
	                       .allow_tls12 = (int)c->tls12};

	return tls_server_ctx(&tp, err, errlen);
}

static struct agg agg;

#define DRAIN_SECONDS 5 /* SIGTERM: longest wait for open connections to finish */

/*
 * The last resort of store_sqlite_stmt.c's check for files made immutable: a
 * write through SQLite's shared mapping of the -shm that the kernel refuses
 * (chattr +i between the check and the write, a truncated file, a failing
 * file system) raises SIGBUS.  Say why before going; only
 * async-signal-safe calls here.
 */
static void
sig_bus(int sig)
{
	static const char msg[] =
	    "ipcfleet-aggregator: fatal: SIGBUS: a write to the database's memory-mapped -shm "
	    "file failed (file made immutable with chattr +i, truncated, or its file system "
	    "failed); stopping\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing else can be done */
	}
	_exit(1);
}

static void
sig_term(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	(void)arg;
	log_info("signal %d: shutting down", (int)sig);
	/* no new connections; what was received is stored and acknowledged */
	server_drain(&agg, DRAIN_SECONDS);
}

/* SIGHUP: re-read the configuration; certificates, CRL, admins and thresholds
 * take effect for new connections.  listen and storage need a restart. */
static void
sig_hup(evutil_socket_t sig, short what, void *arg)
{
	struct agg_config nc;
	SSL_CTX *ctx;
	char err[512];

	(void)sig;
	(void)what;
	(void)arg;
	if (agg_config_load(agg.config_path, &nc, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return;
	}
	if ((ctx = make_ctx(&nc, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return;
	}
	if (strcmp(nc.listen, agg.cfg.listen) != 0 || strcmp(nc.db_path, agg.cfg.db_path) != 0 ||
	    strcmp(nc.backend, agg.cfg.backend) != 0 || strcmp(nc.url, agg.cfg.url) != 0 ||
	    strcmp(nc.http_listen, agg.cfg.http_listen) != 0 || strcmp(nc.user, agg.cfg.user) != 0)
		log_warnx("reload: listen, storage and user changes take effect after a restart");
	ifl_strlcpy(nc.user, agg.cfg.user, sizeof(nc.user));
	ifl_strlcpy(nc.listen, agg.cfg.listen, sizeof(nc.listen));
	ifl_strlcpy(nc.http_listen, agg.cfg.http_listen, sizeof(nc.http_listen));
	ifl_strlcpy(nc.db_path, agg.cfg.db_path, sizeof(nc.db_path));
	ifl_strlcpy(nc.backend, agg.cfg.backend, sizeof(nc.backend));
	ifl_strlcpy(nc.url, agg.cfg.url, sizeof(nc.url));
	SSL_CTX_free(agg.ssl_ctx); /* established connections hold their own reference */
	agg.ssl_ctx = ctx;
	agg.cfg = nc;
	log_info("reload: configuration and certificates reloaded");
	/* a certificate revoked since: its connections end now, not at its next reconnect */
	server_recheck(&agg);
}

/*
 * Every connection is a descriptor: raises the soft RLIMIT_NOFILE (1024 on
 * many systems) towards max_connections plus room for the database, the
 * listeners and notify_command's pipes, as far as the hard limit allows.
 */
#define NOFILE_SPARE 256
static void
raise_nofile(uint64_t max_connections)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)max_connections + NOFILE_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		want = rl.rlim_max;
	if (want > rl.rlim_cur) {
		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit RLIMIT_NOFILE");
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)max_connections + NOFILE_SPARE)
		log_warnx("open files limited to %llu: fewer than max_connections (%llu) can be "
		          "served; raise the hard limit (ulimit -Hn, LimitNOFILE=)",
		          (unsigned long long)rl.rlim_cur, (unsigned long long)max_connections);
}

/*
 * libevent's own warnings (an accept() that fails, a broken socket) into
 * our log, through a limiter: left to itself libevent writes them to
 * stderr, as often as they happen.
 */
static void
agg_event_log(int severity, const char *msg)
{
	static struct log_limit ll = LOG_LIMIT("libevent warnings");

	if (severity >= EVENT_LOG_WARN)
		log_limited(&ll, "libevent: %s", msg);
}

/* How many lines the limiters kept out of the log (log_limited), now and then. */
#define LOG_REPORT_SECONDS 10
static void
log_report_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	log_limit_report();
}

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "usage: ipcfleet-aggregator [-t] [-v] [-c FILE] [--port-file FILE]\n"
	    "                           [--http-port-file FILE]\n"
	    "\n"
	    "Receives IPC snapshots from ipcfleet-agent over mutual TLS, stores them\n"
	    "(SQLite, or PostgreSQL shared by several aggregators) and answers queries\n"
	    "from the ipcfleet CLI.\n"
	    "\n"
	    "  -c, --config FILE    configuration (default " DEFAULT_CONFIG ")\n"
	    "  -t, --test           check the configuration and certificates, then exit 0 or 1\n"
	    "  -v, --verbose        log every connection, snapshot and query\n"
	    "      --port-file FILE write the port actually bound (useful with listen = ...:0)\n"
	    "      --http-port-file FILE  the same for [http] listen\n"
	    "  -h, --help           this help\n"
	    "      --version        print the version\n"
	    "\n"
	    "Signals: SIGTERM/SIGINT stop accepting, store and acknowledge what was received,\n"
	    "then exit (at most 5 s; a second signal exits at once); SIGHUP reloads the\n"
	    "configuration and certificates.\n"
	    "See ipcfleet-aggregator(8) and docs/protocol.md.\n");
}

/*
 * glibc serves blocks of 128 KiB and more with mmap, and gives the top of
 * the heap back once 128 KiB of it are free: a snapshot of thousands of
 * objects (its 900 KB object array, its 300 KB frame) then costs fresh,
 * zeroed pages every time, a fifth of the aggregator's CPU at 4,000
 * objects (docs/BENCHMARKS.md, "How cost grows").  Fixed thresholds keep
 * such blocks in the heap and reuse them; the memory stays with the
 * process, bounded by what one batch of frames holds at once.
 */
static void
mem_init(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 8 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
#endif
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {CONFIG_LONGOPTS,
	                                         {"port-file", required_argument, NULL, 'P'},
	                                         {"http-port-file", required_argument, NULL, 'H'},
	                                         {NULL, 0, NULL, 0}};
	struct config_opts opts = {
	    .prog = "ipcfleet-aggregator", .usage = usage, .config = DEFAULT_CONFIG};
	const char *config, *http_port_file = NULL;
	struct event *ev_term, *ev_int, *ev_hup, *ev_logs;
	struct timeval log_every = {.tv_sec = LOG_REPORT_SECONDS, .tv_usec = 0};
	char err[1024];
	int ch, test, verbose, rc = 0;

	mem_init();
	while ((ch = config_getopt(&opts, argc, argv, longopts)) >= 0) {
		switch (ch) {
		case 'P':
			agg.port_file = optarg;
			break;
		case 'H':
			http_port_file = optarg;
			break;
		}
	}
	if (ch == CONFIG_OPT_EXIT)
		return opts.exit;
	config = opts.config;
	test = opts.test;
	verbose = opts.verbose;
	log_init("ipcfleet-aggregator", 0, verbose);
	event_set_log_callback(agg_event_log);
	agg.config_path = config;
	if (agg_config_load(config, &agg.cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	if ((agg.ssl_ctx = make_ctx(&agg.cfg, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return 1;
	}
	if (test) {
		printf("%s: configuration OK\n", config);
		SSL_CTX_free(agg.ssl_ctx);
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGBUS, sig_bus);
	raise_nofile(agg.cfg.max_connections);
	if ((agg.store = store_open(agg.cfg.backend, agg.cfg.db_path, agg.cfg.url, err,
	                            sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return 1;
	}
	health_init(&agg, now_unix());
	if ((agg.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (server_start(&agg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		store_close(agg.store);
		return 1;
	}
	if (agg.cfg.http_listen[0] != '\0' &&
	    http_start(&agg, http_port_file, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		server_stop(&agg);
		store_close(agg.store);
		return 1;
	}
	if ((agg.notifier = notify_new(&agg)) == NULL || analysis_start(&agg) == -1)
		fatalx("cannot start the analysis timers");
	ev_term = evsignal_new(agg.base, SIGTERM, sig_term, NULL);
	ev_int = evsignal_new(agg.base, SIGINT, sig_term, NULL);
	ev_hup = evsignal_new(agg.base, SIGHUP, sig_hup, NULL);
	ev_logs = event_new(agg.base, -1, EV_PERSIST, log_report_cb, NULL);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL || ev_logs == NULL)
		fatalx("evsignal_new failed");
	evsignal_add(ev_term, NULL);
	evsignal_add(ev_int, NULL);
	evsignal_add(ev_hup, NULL);
	event_add(ev_logs, &log_every);

	/* bound, database open: root is no longer needed, before any peer is read */
	if (priv_drop(&agg.cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		rc = 1;
	} else
		event_base_dispatch(agg.base);

	http_stop(&agg);
	server_stop(&agg);
	analysis_stop(&agg);
	notify_free(agg.notifier);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	event_free(ev_logs);
	log_limit_report();
	store_close(agg.store);
	SSL_CTX_free(agg.ssl_ctx);
	event_base_free(agg.base);
	log_info("stopped: %llu snapshots stored, %llu duplicates, %llu frames rejected",
	         (unsigned long long)agg.stats.snapshots_stored,
	         (unsigned long long)agg.stats.snapshots_duplicate,
	         (unsigned long long)agg.stats.frames_rejected);
	return rc;
}
