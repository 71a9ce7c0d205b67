/*
 * main.c: ipcfleet-agent.  Takes snapshots of this host's SysV IPC state,
 * spools them and delivers them to the aggregator; or prints them.
 */
#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "collect.h"
#include "daytimes.h"
#include "log.h"
#include "orphan.h"
#include "platform.h"
#include "textfile.h"
#include "vanished.h"
#include "proto.h"
#include "tls.h"
#include "util.h"
#include "view.h"

#ifndef IPCFLEET_SYSCONFDIR
#define IPCFLEET_SYSCONFDIR "/usr/local/etc"
#endif
#define DEFAULT_CONFIG IPCFLEET_SYSCONFDIR "/ipcfleet/agent.conf"

#define OFF(f) offsetof(struct agent_config, f)
static const struct cfg_key agent_schema[] = {
    {"agent", "server", CFG_HOSTPORT_LIST, OFF(server), 0, 0, NULL, "aggregators, in order"},
    {"agent", "cert", CFG_PATH, OFF(cert), 0, 0, NULL, "this host's certificate; CN = name"},
    {"agent", "key", CFG_PATH, OFF(key), 0, 0, NULL, "its private key (mode 0600)"},
    {"agent", "ca", CFG_PATH, OFF(ca), 0, 0, NULL, "CA of the aggregator's certificate"},
    {"agent", "interval", CFG_DURATION, OFF(interval), 1, 86400, NULL, "between snapshots"},
    {"agent", "spool", CFG_PATH, OFF(spool), 0, 0, NULL, "undelivered snapshots wait here"},
    {"agent", "spool_max", CFG_SIZE, OFF(spool_max), 64 * 1024, UINT64_MAX, NULL,
     "spool size; the oldest are dropped beyond it"},
    {"agent", "orphan_min_age", CFG_DURATION, OFF(orphan_min_age), 0, 86400 * 365, NULL,
     "younger objects are never orphans"},
    {"agent", "source", CFG_STRING, OFF(source), 0, 0, NULL, "what to read (see --source)"},
    {"agent", "timeout", CFG_DURATION, OFF(timeout), 1, 600, NULL, "per network operation"},
    {"agent", "tls12", CFG_U64, OFF(tls12), 0, 1, NULL, "1: also allow TLS 1.2"},
    {"agent", "textfile", CFG_PATH, OFF(textfile), 0, 0, NULL,
     "node_exporter textfile directory: DIR/" TEXTFILE_NAME " after each snapshot"},
    {NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

static void
config_defaults(struct agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->interval = 60;
	/* not below the aggregator's data directory: its user must not control the spool */
	ifl_strlcpy(c->spool, "/var/db/ipcfleet-agent/spool", sizeof(c->spool));
	c->spool_max = 64ull * 1024 * 1024;
	c->orphan_min_age = 3600;
	ifl_strlcpy(c->source, "auto", sizeof(c->source));
	c->timeout = 10;
}

static volatile sig_atomic_t got_term, got_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

static void
usage(FILE *fp)
{
	fprintf(
	    fp,
	    "usage: ipcfleet-agent [-c FILE] [--source SPEC] [--textfile DIR] [--once] [-v]\n"
	    "       ipcfleet-agent [-c FILE] [--source SPEC] --print [--json]\n"
	    "\n"
	    "Snapshots this host's System V IPC limits and objects and delivers them to\n"
	    "ipcfleet-aggregator over mutual TLS.\n"
	    "\n"
	    "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
	    "      --once          take one snapshot, deliver it and whatever is spooled;\n"
	    "                      exit 0 once acknowledged, else keep it spooled, exit 1\n"
	    "      --print         print this host's limits, usage and objects, then exit\n"
	    "                      (no configuration or network needed)\n"
	    "      --json          with --print: JSON, as `ipcfleet host NAME --json`\n"
	    "      --textfile DIR  after each snapshot, write DIR/" TEXTFILE_NAME " for\n"
	    "                      node_exporter's textfile collector; without a\n"
	    "                      configuration (no -c, no " DEFAULT_CONFIG "),\n"
	    "                      that is all it does: no server, no spool\n"
	    "      --source SPEC   what to read:\n"
	    "                        auto                  the running system (default)\n"
	    "                        linux                 /proc\n"
	    "                        linux-root:DIR        DIR/proc/sysvipc, DIR/proc/sys/kernel\n"
	    "                        freebsd               sysctl, ipcs, jls (FreeBSD)\n"
	    "                        freebsd-capture:DIR   a capture from ipcfleet-capture\n"
	    "  -t, --test          check the configuration and certificates, then exit\n"
	    "  -v, --verbose       log every delivery\n"
	    "  -h, --help          this help\n"
	    "      --version       print the version\n"
	    "\n"
	    "Examples:\n"
	    "  ipcfleet-agent --print                  what is this host using right now?\n"
	    "  ipcfleet-agent -c agent.conf --once     push one snapshot (cron, tests)\n"
	    "  ipcfleet-agent -c agent.conf            run: one snapshot per interval\n"
	    "  ipcfleet-agent --textfile /var/lib/prometheus/node-exporter --once\n"
	    "                                          node_exporter's file, once (cron)\n"
	    "Signals: SIGTERM stops after the current write; SIGHUP reloads configuration.\n");
}

/*
 * A running agent meets the same problem every interval (an unreadable
 * /proc/1/ns/ipc, a jail without ipcs): a warning is logged when it first
 * appears, and again only after a snapshot without it.  What a snapshot
 * warned of is remembered by a hash of its text; the rest go to -v.
 */
#define WARN_SEEN_MAX COLLECT_MAX_WARN
static uint64_t warn_seen[WARN_SEEN_MAX];
static size_t warn_nseen;

static void
log_collect_warnings(const struct collect_warnings *w)
{
	uint64_t now[WARN_SEEN_MAX];
	size_t i, k, n = 0;
	int fresh = 0;

	for (i = 0; i < w->n && i < WARN_SEEN_MAX; i++) {
		uint64_t h = fnv1a64_str(w->v[i]);

		for (k = 0; k < warn_nseen && warn_seen[k] != h; k++)
			;
		if (k < warn_nseen) {
			log_debug("%s (as before)", w->v[i]);
		} else {
			log_warnx("%s", w->v[i]);
			fresh = 1;
		}
		now[n++] = h;
	}
	if (w->total > w->n) {
		if (fresh)
			log_warnx("... and %zu more warnings", w->total - w->n);
		else
			log_debug("... and %zu more warnings", w->total - w->n);
	}
	memcpy(warn_seen, now, n * sizeof(now[0]));
	warn_nseen = n;
}

/*
 * Objects that vanished since the previous snapshot (vanished.c): its state
 * is read from the spool, then this snapshot's written in its place, unless
 * it holds the same objects: a host whose objects do not change costs no
 * file write (a create, an fsync, a rename) each snapshot.  The file then
 * keeps an older "taken"; van_kept remembers the last snapshot that held
 * its objects, as long as the file is the one this process wrote or
 * compared (same length and hash).  Any failure only costs this
 * snapshot's vanished findings, said once.
 */
#define VANISHED_FILE "objects"

static struct {
	int valid;
	size_t len;
	uint32_t hash;
	int64_t taken; /* the last snapshot that held the file's objects */
} van_kept;

static int
vanished_step(struct spool *sp, struct snapshot *s, struct proc_table *pt)
{
	struct buf state;
	char *prev = NULL;
	size_t plen = 0;
	uint32_t phash = 0;
	int64_t seen = 0;
	int looked = 0, same = 0;

	if (spool_state_get(sp, VANISHED_FILE, VANISHED_STATE_MAX, &prev) == -1 && errno != ENOENT)
		log_debug("spool/%s: %s; vanished objects not looked for", VANISHED_FILE,
		          strerror(errno));
	if (prev != NULL) {
		plen = strlen(prev);
		phash = fnv1a(prev, plen);
		if (van_kept.valid && van_kept.len == plen && van_kept.hash == phash)
			seen = van_kept.taken;
	}
	buf_init(&state, VANISHED_STATE_MAX);
	if (vanished_state(s, &state) == -1) {
		log_debug("spool/%s: cannot keep this snapshot's objects", VANISHED_FILE);
		buf_reset(&state);
	} else if (prev != NULL)
		same = vanished_same_objects(prev, plen, state.data, state.len);
	/* (vanished_findings edits prev: compared and hashed before) */
	if (prev != NULL && vanished_findings(s, pt, prev, seen) == -1)
		log_warnx("vanished objects: out of memory");
	else /* vanished_findings() decides nothing without every process */
		looked = prev != NULL && pt->valid;
	free(prev);
	van_kept.valid = 0;
	if (same) {
		van_kept.len = plen;
		van_kept.hash = phash;
		van_kept.valid = 1;
	} else if (state.len > 0 && spool_state_put(sp, VANISHED_FILE, &state) == 0) {
		van_kept.len = state.len;
		van_kept.hash = fnv1a(state.data, state.len);
		van_kept.valid = 1;
	} else if (state.len > 0)
		log_debug("spool/%s: cannot keep this snapshot's objects", VANISHED_FILE);
	van_kept.taken = s->taken;
	buf_free(&state);
	return looked;
}

/* The dates of times read as times of day, from one snapshot to the next. */
static struct daytimes day_memo;

/*
 * Takes one snapshot from src, with the agent's own findings (orphans older
 * than min_age seconds, shared namespaces).  *kinds (when not NULL): the
 * finding kinds it looked for (TEXTFILE_KIND bits), whose absence means
 * none.  Warnings are logged; -1 only when nothing could be read.
 */
static int
take_snapshot(const struct source *src, uint64_t min_age, struct spool *sp, struct snapshot *s,
              uint32_t *kinds, char *err, size_t errlen)
{
	struct collect_warnings w;
	struct proc_table pt;
	uint32_t looked = 0;

	memset(&w, 0, sizeof(w));
	memset(&pt, 0, sizeof(pt));
	if (snapshot_init(s) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (collect(src, s, &pt, &w, err, errlen) == -1) {
		proc_table_free(&pt);
		snapshot_free(s);
		return -1;
	}
	log_collect_warnings(&w);
	if (s->taken <= 0) /* a capture says when it was taken (collect.h) */
		s->taken = now_unix();
	/* FreeBSD's times of day keep the dates they had (before ages are told) */
	daytimes_carry(&day_memo, s);
	if (orphan_findings(s, &pt, min_age, s->taken) == -1)
		log_warnx("orphan detection: out of memory; no orphans reported");
	else /* orphans need every process; removeipc_risk is not counted as looked for */
		looked |= TEXTFILE_KIND(FK_ISOLATION) | (pt.valid ? TEXTFILE_KIND(FK_ORPHAN) : 0);
	if (sp != NULL && vanished_step(sp, s, &pt))
		looked |= TEXTFILE_KIND(FK_VANISHED);
	/* what could not be read is said, never shown as 0 (docs/FREEBSD.md) */
	if (snapshot_incomplete_finding(s) == -1)
		log_warnx("no room for the incomplete finding");
	else
		looked |= TEXTFILE_KIND(FK_INCOMPLETE);
	proc_table_free(&pt);
	if (kinds != NULL)
		*kinds = looked;
	return 0;
}

/*
 * --textfile: the host label (the certificate's CN, else the host name),
 * and the last failure, said once until it changes or the file is written.
 */
static char textfile_host_name[256];
static char textfile_failed[1024];

/* DIR/ipcfleet.prom from snapshot s: a failure costs only the file. */
static int
textfile_update(const char *dir, const struct snapshot *s, uint32_t kinds)
{
	struct buf text;
	char err[1024];
	int rc = -1;

	buf_init(&text, TEXTFILE_MAX);
	if (textfile_render(&text, textfile_host_name, s, kinds) == -1)
		snprintf(err, sizeof(err), "textfile %s/%s: out of memory, or larger than %u bytes",
		         dir, TEXTFILE_NAME, TEXTFILE_MAX);
	else
		rc = textfile_write(dir, &text, err, sizeof(err));
	buf_free(&text);
	if (rc == 0) {
		if (textfile_failed[0] != '\0')
			log_info("textfile %s/%s written again", dir, TEXTFILE_NAME);
		textfile_failed[0] = '\0';
		return 0;
	}
	if (strcmp(err, textfile_failed) != 0)
		log_warnx("%s", err);
	else
		log_debug("%s", err);
	ifl_strlcpy(textfile_failed, err, sizeof(textfile_failed));
	return -1;
}

static int
do_print(const struct source *src, uint64_t min_age, int json)
{
	struct snapshot s;
	struct view_extra x;
	struct buf doc, out;
	msgpack_packer pk;
	msgpack_zone zone;
	msgpack_object root;
	size_t off = 0;
	char host[256], err[512];
	int rc = 1;

	if (take_snapshot(src, min_age, NULL, &s, NULL, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	source_host_label(src, host, sizeof(host));
	memset(&x, 0, sizeof(x));
	x.host = host;
	buf_init(&doc, 256u * 1024 * 1024);
	buf_init(&out, 1024u * 1024 * 1024);
	proto_packer_init(&pk, &doc);
	view_pack_host(&pk, &s, &x);
	msgpack_zone_init(&zone, 8192);
	if (buf_failed(&doc) ||
	    msgpack_unpack(doc.data, doc.len, &off, &zone, &root) != MSGPACK_UNPACK_SUCCESS) {
		log_warnx("cannot build the host document");
		goto done;
	}
	if (json) {
		if (mp_to_json(&root, &out, 1) == -1 || buf_puts(&out, "\n") == -1) {
			log_warnx("cannot render JSON");
			goto done;
		}
		fwrite(out.data, 1, out.len, stdout);
	} else if (view_text_host(&root, stdout) == -1) {
		log_warnx("cannot render the host document");
		goto done;
	}
	rc = fflush(stdout) == 0 ? 0 : 1;
done:
	msgpack_zone_destroy(&zone);
	buf_free(&doc);
	buf_free(&out);
	snapshot_free(&s);
	return rc;
}

/* --textfile DIR: wins over [agent] textfile, on every load */
static const char *textfile_flag;

static int
load_config(const char *path, struct agent_config *c, char *err, size_t errlen)
{
	static const char *const required[] = {"agent.cert", "agent.key", "agent.ca", NULL};

	config_defaults(c);
	if (config_load(path, agent_schema, c, err, errlen) == -1)
		return -1;
	if (textfile_flag != NULL)
		ifl_strlcpy(c->textfile, textfile_flag, sizeof(c->textfile));
	if (config_require(path, agent_schema, c, required, err, errlen) == -1)
		return -1;
	if (c->server.n == 0) {
		snprintf(err, errlen, "%s: [agent] server is required (HOST:PORT, ...)", path);
		return -1;
	}
	return 0;
}

static SSL_CTX *
make_ctx(const struct agent_config *c, char *err, size_t errlen)
{
	struct tls_paths tp = {
	    .cert = c->cert, .key = c->key, .ca = c->ca, .crl = NULL, .allow_tls12 = (int)c->tls12};

	return tls_client_ctx(&tp, err, errlen);
}

/* The hello sent on every connect; its clock is set when it is sent. */
static void
make_hello(const struct snapshot *s, uint64_t interval, struct msg_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->major = PROTO_MAJOR;
	h->minor = PROTO_MINOR;
	h->role = ROLE_AGENT;
	snprintf(h->agent, sizeof(h->agent), "ipcfleet-agent %s", IPCFLEET_VERSION);
	ifl_strlcpy(h->os, s->os, sizeof(h->os));
	ifl_strlcpy(h->os_release, s->os_release, sizeof(h->os_release));
	h->page_size = s->page_size;
	h->boot_time = platform_boot_time();
	h->interval = interval > UINT32_MAX ? UINT32_MAX : (uint32_t)interval;
}

/*
 * Snapshot, number, encode, spool.  On success *seq is the new entry.  keep:
 * it is about to be sent, so the frame stays in memory for the sender
 * (spool_keep) instead of being read back from the spool.  A snapshot that
 * was taken but cannot be spooled (a full or read-only filesystem, larger
 * than spool_max) is counted as dropped: the count goes out with the next
 * snapshot that is spooled.
 */
static int
spool_snapshot(const struct source *src, const struct agent_config *cfg, struct spool *sp,
               struct msg_hello *hello, int keep, uint64_t *seq, char *err, size_t errlen)
{
	struct snapshot s;
	struct buf frame;
	uint32_t kinds;
	size_t len;
	int rc = -1;

	if (take_snapshot(src, cfg->orphan_min_age, sp, &s, &kinds, err, errlen) == -1)
		return -1;
	if (cfg->textfile[0] != '\0')
		textfile_update(cfg->textfile, &s, kinds);
	buf_init(&frame, PROTO_HDR_LEN + PROTO_MAX_FRAME);
	if (hello != NULL) {
		make_hello(&s, cfg->interval, hello);
		ifl_strlcpy(hello->spool, sp->id, sizeof(hello->spool));
	}
	if (spool_next_seq(sp, &s.seq, err, errlen) == -1)
		goto drop;
	s.dropped = spool_dropped(sp);
	if (proto_encode_snapshot(&frame, &s) == -1) {
		snprintf(err, errlen, "snapshot too large to send (%zu objects)", s.nobjects);
		goto drop;
	}
	if (spool_put(sp, s.seq, &frame, err, errlen) == -1)
		goto drop;
	if (keep)
		spool_keep(sp, s.seq, &frame);
	*seq = s.seq;
	rc = 0;
	goto out;
drop:
	spool_count_drop(sp, 1);
	len = strlen(err);
	if (len < errlen)
		snprintf(err + len, errlen - len, "; snapshot dropped (%llu dropped so far)",
		         (unsigned long long)spool_dropped(sp));
out:
	buf_free(&frame);
	snapshot_free(&s);
	return rc;
}

/*
 * Memory that counts (issue 17): between snapshots the daemon holds little,
 * as each snapshot's arrays are freed once it is spooled, but glibc keeps
 * freed pages in its heaps and gives the namespace reader thread a heap
 * (arena) of its own.  One arena, and a trim once a snapshot is spooled,
 * leave the idle daemon resident with what it holds.  (FreeBSD's jemalloc
 * returns unused pages by itself.)
 */
static void
mem_init(void)
{
#ifdef __GLIBC__
	mallopt(M_ARENA_MAX, 1);
#endif
}

static void
mem_settle(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

/*
 * Sleeps until the monotonic time `until` (ms) or a signal.  The flags are
 * tested with the signals blocked and ppoll() unblocks them atomically, so a
 * signal that arrives just before the sleep still cuts it short.
 */
static void
sleep_until(uint64_t until)
{
	sigset_t block, old;
	struct timespec ts;
	uint64_t now = now_mono_ms(), ms;

	if (until <= now)
		return;
	ms = until - now;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!got_term && !got_hup)
		ppoll(NULL, 0, &ts, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* SIGHUP: new configuration and certificates; the spool directory stays. */
static void
reload(const char *config, struct agent_config *cfg, SSL_CTX **ctx, struct sender *sd,
       struct spool *sp, const struct msg_hello *hello)
{
	struct agent_config nc;
	SSL_CTX *nctx;
	char err[1024];

	if (load_config(config, &nc, err, sizeof(err)) == -1 ||
	    (nctx = make_ctx(&nc, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return;
	}
	if (strcmp(nc.spool, cfg->spool) != 0) {
		log_warnx("reload: a new spool directory takes effect after a restart");
		ifl_strlcpy(nc.spool, cfg->spool, sizeof(nc.spool));
	}
	sender_free(sd);
	SSL_CTX_free(*ctx);
	*ctx = nctx;
	*cfg = nc;
	textfile_host(*ctx, textfile_host_name, sizeof(textfile_host_name));
	sp->max_bytes = cfg->spool_max;
	if (sender_init(sd, cfg, *ctx, hello, &got_term) == -1)
		log_warnx("reload: out of memory for the hello frame");
	sender_set_spool(sd, sp->id); /* it may have taken an identity since the start */
	log_info("reload: configuration and certificates reloaded");
}

/*
 * --once: delivers everything spooled, one paced window after another.
 * 0 when the spool is empty, else 1 (what is left stays spooled).
 */
static int
run_once(struct sender *sd, struct spool *sp, uint64_t seq)
{
	char err[1024];
	int r;

	do {
		uint64_t start = now_mono_ms();

		r = sender_step(sd, sp, SEND_NEVER, err, sizeof(err));
		if (r == 1)
			sleep_until(start + SEND_PACE_MS);
	} while (r == 1 && !got_term);
	if (r == 0) {
		if (seq > 0)
			log_debug("snapshot %llu acknowledged", (unsigned long long)seq);
		else
			log_debug("everything spooled was acknowledged");
		return 0;
	}
	if (r == 1 && seq > 0)
		log_warnx("stopped by a signal; snapshot %llu and others stay spooled",
		          (unsigned long long)seq);
	else if (r == 1)
		log_warnx("stopped by a signal; the snapshots spooled stay there");
	else if (seq > 0)
		log_warnx("snapshot %llu kept in the spool: %s", (unsigned long long)seq, err);
	else
		log_warnx("the snapshots spooled stay there: %s", err);
	return 1;
}

/*
 * A spool removed while the agent runs (rm -rf, a filesystem unmounted
 * under it) would drop every snapshot from then on: it is made again, as
 * at a start, and the sender says hello with its new identity.  What it
 * held went with it.  Said once per change.
 */
static void
spool_still_there(struct spool *sp, struct sender *sd)
{
	static int failing;
	char err[1024];
	int r;

	switch (r = spool_recheck(sp, err, sizeof(err))) {
	case 1:
	case 2:
		log_warnx("spool %s was %s while running: opened again, %s", sp->dir,
		          r == 1 ? "removed or replaced" : "replaced by a copy of itself",
		          r == 1 ? "with a new identity"
		                 : "numbers going on from the last handed out");
		sender_set_spool(sd, sp->id);
		failing = 0;
		break;
	case -1:
		if (!failing)
			log_warnx("spool %s is gone and cannot be made again: %s; snapshots are "
			          "dropped (and counted) until it can",
			          sp->dir, err);
		failing = 1;
		break;
	default:
		failing = 0;
		break;
	}
}

/*
 * The daemon loop.  Two deadlines share it: the next snapshot (every
 * interval, whatever happens to delivery) and the next delivery step (now
 * after a new snapshot, a paced window later while a backlog drains, or the
 * backoff's random delay after a failure).  It sleeps until the earlier one.
 */
static void
run_loop(const char *config, const struct source *src, struct agent_config *cfg, SSL_CTX **ctx,
         struct sender *sd, struct spool *sp, const struct msg_hello *hello)
{
	uint64_t next_snap, next_send, seq, now;
	char err[1024];
	unsigned released_at = 0; /* sd->connects when the code was last let go */

	log_info("started: one snapshot every %llus to %s", (unsigned long long)cfg->interval,
	         cfg->server.v[0]);
	next_snap = now_mono_ms() + cfg->interval * 1000;
	next_send = now_mono_ms();
	while (!got_term) {
		now = now_mono_ms();
		if (got_hup) {
			got_hup = 0;
			reload(config, cfg, ctx, sd, sp, hello);
			next_send = now; /* the new settings may be what was missing */
			continue;
		}
		if (now >= next_snap) {
			spool_still_there(sp, sd);
			/* while delivery fails, the frame would wait in memory: not kept */
			if (spool_snapshot(src, cfg, sp, NULL, !sender_failing(sd), &seq, err,
			                   sizeof(err)) == -1)
				log_warnx("snapshot failed: %s", err);
			else if (next_send == SEND_NEVER && !sender_failing(sd))
				next_send = now;
			mem_settle();
			next_snap += cfg->interval * 1000;
			if (next_snap <= now_mono_ms()) /* far behind (suspend): do not burst */
				next_snap = now_mono_ms() + cfg->interval * 1000;
			continue;
		}
		if (now >= next_send && sp->dirfd == -1) {
			/* no spool to send from (spool_still_there said why): not a failure */
			next_send = next_snap;
			continue;
		}
		if (now >= next_send) {
			int r = sender_step(sd, sp, next_snap, err, sizeof(err));
			uint64_t done;

			if (r == -1 && got_term)
				break;
			/* a spool made by an earlier version takes an identity once empty */
			if (r == 0 && spool_adopt_id(sp))
				sender_set_spool(sd, sp->id);
			/*
			 * The code of the start, or of a reconnection's handshake, has
			 * run and will not run again soon: its pages are let go after
			 * the first delivery on each new connection.
			 */
			if (r == 0 && sd->connects != released_at) {
				platform_release_code();
				released_at = sd->connects;
			}
			done = now_mono_ms();
			next_send = sender_schedule(sd, r, now, done);
			if (r == -1) /* after a failure, next_send >= done */
				log_warnx(
				    "delivery failed (attempt %u), next try in %.1fs; snapshots "
				    "stay spooled: %s",
				    sd->failures, (double)(next_send - done) / 1000, err);
			continue;
		}
		sleep_until(next_snap < next_send ? next_snap : next_send);
	}
}

static int
run(const char *config, const struct source *src, int once)
{
	struct agent_config cfg;
	struct sender sd;
	struct spool sp;
	struct msg_hello hello;
	struct spool_entry *left;
	SSL_CTX *ctx;
	char err[1024];
	uint64_t seq;
	size_t nleft;
	int rc = 1;

	mem_init();
	if (load_config(config, &cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	if ((ctx = make_ctx(&cfg, err, sizeof(err))) == NULL ||
	    (cfg.textfile[0] != '\0' && textfile_check(cfg.textfile, err, sizeof(err)) == -1)) {
		log_warnx("%s", err);
		SSL_CTX_free(ctx);
		return 1;
	}
	textfile_host(ctx, textfile_host_name, sizeof(textfile_host_name));
	if (spool_open(&sp, cfg.spool, cfg.spool_max, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		SSL_CTX_free(ctx);
		return 1;
	}
	platform_drop_privileges(); /* configuration, keys and spool are open */
	memset(&hello, 0, sizeof(hello));
	if (spool_snapshot(src, &cfg, &sp, &hello, 1, &seq, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		/*
		 * The hello needs the snapshot's facts: a source that cannot be
		 * read at all is a configuration error (exit).  A snapshot that
		 * was taken but not spooled (larger than spool_max, a full disk)
		 * is counted as dropped; what is spooled is still delivered (it
		 * may be what frees the disk), by --once too, which then exits 1,
		 * and the daemon's next interval tries again.
		 */
		if (hello.os[0] == '\0')
			goto out;
		seq = 0;
	}
	mem_settle();
	if (sender_init(&sd, &cfg, ctx, &hello, &got_term) == -1) {
		log_warnx("out of memory");
		sender_free(&sd);
		goto out;
	}
	if (once) {
		rc = run_once(&sd, &sp, seq);
		if (seq == 0)
			rc = 1; /* its own snapshot was dropped (said above) */
		sender_free(&sd);
		goto out;
	}
	run_loop(config, src, &cfg, &ctx, &sd, &sp, &hello);
	sender_free(&sd);
	if (spool_list(&sp, &left, &nleft, err, sizeof(err)) == 0) {
		if (nleft > 0)
			log_info("stopping; %zu snapshot(s) stay spooled, sequences %llu to %llu",
			         sp.listed_count, (unsigned long long)left[0].seq,
			         (unsigned long long)sp.listed_newest);
		else
			log_info("stopping; every snapshot was delivered");
		free(left);
	} else
		log_info("stopping");
	rc = 0;
out:
	spool_close(&sp);
	SSL_CTX_free(ctx);
	return rc;
}

/*
 * --textfile DIR without a configuration: snapshots for node_exporter only,
 * one per interval until SIGTERM, or one with --once (exit 0 once the file
 * is written, else 1).  No server, no spool (so no vanished findings).
 */
static int
run_textfile(const struct source *src, const struct agent_config *cfg, int once)
{
	uint64_t next = now_mono_ms();
	struct snapshot s;
	uint32_t kinds;
	char err[1024];
	int rc = 1;

	if (textfile_check(cfg->textfile, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return 1;
	}
	textfile_host(NULL, textfile_host_name, sizeof(textfile_host_name));
	platform_drop_privileges();
	if (!once)
		log_info("started: one snapshot every %llus to %s/%s",
		         (unsigned long long)cfg->interval, cfg->textfile, TEXTFILE_NAME);
	while (!got_term) {
		if (take_snapshot(src, cfg->orphan_min_age, NULL, &s, &kinds, err, sizeof(err)) ==
		    -1) {
			log_warnx("snapshot failed: %s", err);
			rc = 1;
		} else {
			rc = textfile_update(cfg->textfile, &s, kinds) == 0 ? 0 : 1;
			snapshot_free(&s);
		}
		if (once)
			return rc;
		next += cfg->interval * 1000;
		if (next <= now_mono_ms()) /* far behind (suspend): do not burst */
			next = now_mono_ms() + cfg->interval * 1000;
		while (!got_term && now_mono_ms() < next) {
			got_hup = 0; /* nothing to reload: sleep on */
			sleep_until(next);
		}
	}
	log_info("stopping");
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {CONFIG_LONGOPTS,
	                                         {"once", no_argument, NULL, 'o'},
	                                         {"print", no_argument, NULL, 'p'},
	                                         {"json", no_argument, NULL, 'j'},
	                                         {"source", required_argument, NULL, 's'},
	                                         {"textfile", required_argument, NULL, 'T'},
	                                         {NULL, 0, NULL, 0}};
	struct config_opts opts = {.prog = "ipcfleet-agent", .usage = usage};
	const char *config, *source = NULL;
	struct agent_config cfg;
	struct source src;
	struct sigaction sa;
	char err[1024];
	int ch, once = 0, print = 0, json = 0, test, verbose, tf_only = 0;

	while ((ch = config_getopt(&opts, argc, argv, longopts)) >= 0) {
		switch (ch) {
		case 'o':
			once = 1;
			break;
		case 'p':
			print = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 's':
			source = optarg;
			break;
		case 'T':
			textfile_flag = optarg;
			break;
		}
	}
	if (ch == CONFIG_OPT_EXIT)
		return opts.exit;
	config = opts.config; /* NULL: none given, which --print and --textfile tell apart */
	test = opts.test;
	verbose = opts.verbose;
	if (once + print + test > 1) {
		fprintf(stderr, "ipcfleet-agent: --once, --print and -t exclude each other\n");
		return 2;
	}
	if (json && !print) {
		fprintf(stderr, "ipcfleet-agent: --json goes with --print\n");
		return 2;
	}
	if (textfile_flag != NULL && (print || textfile_flag[0] == '\0')) {
		fprintf(stderr, "ipcfleet-agent: %s\n",
		        print ? "--textfile goes without --print" : "--textfile needs a directory");
		return 2;
	}
	log_init("ipcfleet-agent", 0, verbose);

	config_defaults(&cfg);
	/* --textfile with no configuration at all: the file is all it does */
	if (textfile_flag != NULL && config == NULL && !test &&
	    access(DEFAULT_CONFIG, F_OK) == -1) {
		ifl_strlcpy(cfg.textfile, textfile_flag, sizeof(cfg.textfile));
		tf_only = 1;
	}
	if (!tf_only && (config != NULL || !print)) {
		if (config == NULL)
			config = DEFAULT_CONFIG;
		if (print ? config_load(config, agent_schema, &cfg, err, sizeof(err))
		          : load_config(config, &cfg, err, sizeof(err))) {
			log_warnx("%s", err);
			return 1;
		}
	}
	if (source_parse(source != NULL ? source : cfg.source, &src, err, sizeof(err)) == -1) {
		fprintf(stderr, "ipcfleet-agent: %s\n", err);
		return source != NULL ? 2 : 1;
	}
	if (print)
		return do_print(&src, cfg.orphan_min_age, json);
	if (test) {
		SSL_CTX *ctx = make_ctx(&cfg, err, sizeof(err));

		if (ctx == NULL || (cfg.textfile[0] != '\0' &&
		                    textfile_check(cfg.textfile, err, sizeof(err)) == -1)) {
			log_warnx("%s", err);
			SSL_CTX_free(ctx);
			return 1;
		}
		SSL_CTX_free(ctx);
		printf("%s: configuration OK\n", config);
		return 0;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (tf_only)
		return run_textfile(&src, &cfg, once);
	return run(config, &src, once);
}
