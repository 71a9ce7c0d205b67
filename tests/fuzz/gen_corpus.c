/*
 * gen_corpus.c: writes the seed corpora of the fuzz targets.
 *
 *   fuzz_gen_corpus SRCDIR OUTDIR
 *
 * SRCDIR is the source tree (for tests/fixtures and deploy/etc); OUTDIR gets
 * one directory per target (fuzz_frame, fuzz_json, fuzz_procfs, fuzz_config,
 * fuzz_freebsd) of files named gen-*.  Frames are made by the real encoders,
 * so the seeds start where real traffic is; the known msgpack-c hazards are
 * written as regression inputs.  The output is deterministic and committed
 * as tests/fuzz/corpus; run `cmake --build BUILD --target fuzz-corpus` to
 * refresh it after a protocol change.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "collect.h"
#include "config.h"
#include "model.h"
#include "proto.h"
#include "util.h"
#include "view.h"

#define GEN_BUF_MAX (PROTO_HDR_LEN + PROTO_MAX_FRAME)

static const char *gen_out;

static void __attribute__((noreturn, format(printf, 1, 2))) gen_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_gen_corpus: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
gen_mkdir(const char *target)
{
	char path[4096];

	if (mkdir(gen_out, 0755) == -1 && errno != EEXIST)
		gen_die("%s: %s", gen_out, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s", gen_out, target);
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		gen_die("%s: %s", path, strerror(errno));
}

/* Writes OUTDIR/target/gen-name, optionally after a prefix of plen bytes. */
static void
gen_write2(const char *target, const char *name, const void *prefix, size_t plen, const void *p,
           size_t n)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s/gen-%s", gen_out, target, name);
	if ((fp = fopen(path, "wb")) == NULL)
		gen_die("%s: %s", path, strerror(errno));
	if ((plen > 0 && fwrite(prefix, 1, plen, fp) != plen) ||
	    (n > 0 && fwrite(p, 1, n, fp) != n) || fclose(fp) == EOF)
		gen_die("%s: write failed", path);
}

static void
gen_write(const char *target, const char *name, const void *p, size_t n)
{
	gen_write2(target, name, NULL, 0, p, n);
}

/*
 * A buffer holding whole frames: as a frame-target input (the frames with
 * their headers) and, for the first frame, as a json-target input (its
 * payload alone).
 */
static void
gen_frames(const char *name, struct buf *b, int encoded)
{
	if (!encoded || buf_failed(b) || b->len <= PROTO_HDR_LEN)
		gen_die("%s: the encoder failed", name);
	gen_write("fuzz_frame", name, b->data, b->len);
	gen_write("fuzz_json", name, b->data + PROTO_HDR_LEN,
	          ((size_t)(uint8_t)b->data[0] << 24 | (size_t)(uint8_t)b->data[1] << 16 |
	           (size_t)(uint8_t)b->data[2] << 8 | (size_t)(uint8_t)b->data[3]));
	buf_free(b);
}

static void
gen_hello(void)
{
	struct msg_hello h;
	struct buf b;

	memset(&h, 0, sizeof(h));
	h.major = PROTO_MAJOR;
	h.minor = PROTO_MINOR;
	h.role = ROLE_AGENT;
	ifl_strlcpy(h.agent, "ipcfleet-agent 0.1.0", sizeof(h.agent));
	ifl_strlcpy(h.host, "sorthat", sizeof(h.host));
	ifl_strlcpy(h.os, "FreeBSD", sizeof(h.os));
	ifl_strlcpy(h.os_release, "11.4-RELEASE-p13", sizeof(h.os_release));
	h.page_size = 4096;
	h.boot_time = 1764000000;
	h.interval = 60;
	buf_init(&b, GEN_BUF_MAX);
	gen_frames("hello-agent", &b, proto_encode_hello(&b, &h) == 0);

	memset(&h, 0, sizeof(h));
	h.major = PROTO_MAJOR;
	h.role = ROLE_ADMIN;
	ifl_strlcpy(h.agent, "ipcfleet 0.1.0", sizeof(h.agent));
	buf_init(&b, GEN_BUF_MAX);
	gen_frames("hello-admin", &b, proto_encode_hello(&b, &h) == 0);

	/* a future major version: decodes, the server answers "version" */
	memset(&h, 0, sizeof(h));
	h.major = 2;
	h.minor = 7;
	h.role = ROLE_AGENT;
	ifl_strlcpy(h.agent, "ipcfleet-agent 2.7.0", sizeof(h.agent));
	ifl_strlcpy(h.os, "Linux", sizeof(h.os));
	ifl_strlcpy(h.os_release, "6.1.0-18-amd64", sizeof(h.os_release));
	h.page_size = 65536;
	h.boot_time = -1;
	buf_init(&b, GEN_BUF_MAX);
	gen_frames("hello-major2", &b, proto_encode_hello(&b, &h) == 0);
}

static struct ipc_object *
gen_object(struct snapshot *s)
{
	struct ipc_object *o = snapshot_add_object(s);

	if (o == NULL)
		gen_die("out of memory");
	return o;
}

/* A snapshot with every kind of scope and object, and every optional field. */
static void
gen_snapshot_full(struct snapshot *s)
{
	struct ipc_scope *sc;
	struct ipc_object *o;
	struct finding *f;

	if (snapshot_init(s) == -1)
		gen_die("out of memory");
	s->seq = 42;
	s->taken = 1764165600;
	s->page_size = 4096;
	s->dropped = 3;
	limits_set(&s->limits, "semmni", 50);
	limits_set(&s->limits, "semmns", 340);
	limits_set(&s->limits, "shmall", 4097152);
	limits_set(&s->limits, "shmmni", 192);
	limits_set(&s->limits, "msgmni", 40);
	limits_set(&s->limits, "msgtql", 40);
	s->scopes[0].iso[IPC_SHM] = ISO_NEW;
	if ((sc = snapshot_add_scope(s, "jail:pg", "pg", SCOPE_JAIL)) == NULL)
		gen_die("scope");
	sc->iso[IPC_SHM] = ISO_INHERIT;
	sc->iso[IPC_SEM] = ISO_NEW;
	sc->iso[IPC_MSG] = ISO_DISABLE;
	if ((sc = snapshot_add_scope(s, "ipcns:4026532281", "ct1", SCOPE_IPCNS)) == NULL)
		gen_die("scope");
	sc->own_limits = 1;
	limits_set(&sc->limits, "shmmni", 4096);
	limits_set(&sc->limits, "semmns", 32000);

	o = gen_object(s);
	o->type = IPC_SHM;
	o->id = 65536;
	o->key = 5432001;
	o->mode = 01600;
	o->uid = o->cuid = 770;
	o->gid = o->cgid = 770;
	o->scope = 1;
	o->size = 48;
	o->nattch = 6;
	o->cpid = 1201;
	o->lpid = 1300;
	o->atime = 1764165600;
	o->dtime = 1764165601;
	o->rss = 4096;
	o->swap = 4096;
	o->ctime = 1764165500;
	o = gen_object(s);
	o->type = IPC_SEM;
	o->id = 3;
	o->key = -559038737;
	o->mode = 0600;
	o->uid = o->cuid = 122;
	o->scope = 0;
	o->nsems = 17;
	o->otime = 1764165602;
	o->ctime = 1764165001;
	o = gen_object(s);
	o->type = IPC_MSG;
	o->id = 0;
	o->key = 0;
	o->mode = 0644;
	o->scope = 2;
	o->cbytes = 1024;
	o->qnum = 3;
	o->qbytes = 16384;
	o->lspid = 1500;
	o->lrpid = 1501;
	o->stime = 1764165700;
	o->rtime = 1764165701;
	o->ctime = 1764165600;

	if ((f = snapshot_add_finding(s)) != NULL) {
		f->kind = FK_ORPHAN;
		f->severity = SEV_WARN;
		ifl_strlcpy(f->scope, "jail:pg", sizeof(f->scope));
		ifl_strlcpy(f->message, "semaphore set 3 has no process of uid 122",
		            sizeof(f->message));
		f->has_object = 1;
		f->otype = IPC_SEM;
		f->oid = 3;
		f->age = 86400;
		f->uid = 122;
		ifl_strlcpy(f->command, "ipcrm -s 3", sizeof(f->command));
	}
}

/* The snapshot of a Linux fixture tree, as collect_linux_root() reads it. */
static void
gen_snapshot_linux(const char *src, const char *fixture, struct snapshot *s)
{
	struct collect_warnings w;
	char root[4096], err[256];

	snprintf(root, sizeof(root), "%s/tests/fixtures/%s", src, fixture);
	memset(&w, 0, sizeof(w));
	if (snapshot_init(s) == -1)
		gen_die("out of memory");
	if (collect_linux_root(root, s, NULL, &w, err, sizeof(err)) == -1)
		gen_die("%s: %s", root, err);
	s->seq = 7;
	s->taken = 1764165600;
}

/* The host view of s, as the aggregator sends it in a reply. */
static void
gen_view(const char *name, const struct snapshot *s)
{
	static const struct view_extra x = {
	    .host = "sorthat", .status = "warn", .last_seen = 1764165600};
	msgpack_packer pk;
	struct buf b;
	size_t start;

	buf_init(&b, GEN_BUF_MAX);
	if (proto_reply_begin(&b, 9, &pk, &start) == -1)
		gen_die("%s: reply", name);
	view_pack_host(&pk, s, &x);
	gen_frames(name, &b, proto_reply_end(&b, start) == 0);
}

static void
gen_snapshots(const char *src)
{
	static const char *const fixtures[] = {"linux-modern", "linux-old", "linux-garbage"};
	struct snapshot s;
	struct buf b;
	char name[64];
	size_t i;

	gen_snapshot_full(&s);
	buf_init(&b, GEN_BUF_MAX);
	gen_frames("snapshot-full", &b, proto_encode_snapshot(&b, &s) == 0);
	gen_view("reply-view-full", &s);
	snapshot_free(&s);

	if (snapshot_init(&s) == -1)
		gen_die("out of memory");
	s.seq = 1;
	buf_init(&b, GEN_BUF_MAX);
	gen_frames("snapshot-empty", &b, proto_encode_snapshot(&b, &s) == 0);
	snapshot_free(&s);

	for (i = 0; i < NELEM(fixtures); i++) {
		gen_snapshot_linux(src, fixtures[i], &s);
		snprintf(name, sizeof(name), "snapshot-%s", fixtures[i]);
		buf_init(&b, GEN_BUF_MAX);
		gen_frames(name, &b, proto_encode_snapshot(&b, &s) == 0);
		snprintf(name, sizeof(name), "reply-view-%s", fixtures[i]);
		s.page_size = 4096;
		gen_view(name, &s);
		snapshot_free(&s);
	}
}

static void
gen_small(void)
{
	struct msg_query q;
	struct msg_error e;
	struct buf b;

	buf_init(&b, GEN_BUF_MAX);
	gen_frames("ack", &b, proto_encode_ack(&b, 42) == 0);

	memset(&q, 0, sizeof(q));
	q.id = 1;
	ifl_strlcpy(q.cmd, "hosts", sizeof(q.cmd));
	buf_init(&b, GEN_BUF_MAX);
	gen_frames("query-hosts", &b, proto_encode_query(&b, &q) == 0);

	q.id = 2;
	ifl_strlcpy(q.cmd, "host", sizeof(q.cmd));
	q.nargs = 2;
	ifl_strlcpy(q.args[0].name, "name", sizeof(q.args[0].name));
	ifl_strlcpy(q.args[0].value, "sorthat", sizeof(q.args[0].value));
	ifl_strlcpy(q.args[1].name, "since", sizeof(q.args[1].name));
	ifl_strlcpy(q.args[1].value, "2026-11-26T14:00:00Z", sizeof(q.args[1].value));
	buf_init(&b, GEN_BUF_MAX);
	gen_frames("query-host", &b, proto_encode_query(&b, &q) == 0);

	memset(&e, 0, sizeof(e));
	e.code = PERR_NOT_FOUND;
	e.id = 2;
	ifl_strlcpy(e.text, "no host \"sorthat\"", sizeof(e.text));
	buf_init(&b, GEN_BUF_MAX);
	gen_frames("error-query", &b, proto_encode_error(&b, &e) == 0);

	memset(&e, 0, sizeof(e));
	e.code = PERR_BAD_FRAME;
	ifl_strlcpy(e.text, "bad frame: nesting too deep", sizeof(e.text));
	buf_init(&b, GEN_BUF_MAX);
	gen_frames("error-frame", &b, proto_encode_error(&b, &e) == 0);
}

/* A reply body with every msgpack type the protocol allows. */
static void
gen_reply_types(void)
{
	static const char bin[] = {0, 1, 2, (char)0xff};
	msgpack_packer pk;
	struct buf b;
	size_t start;

	buf_init(&b, GEN_BUF_MAX);
	if (proto_reply_begin(&b, 3, &pk, &start) == -1)
		gen_die("reply");
	msgpack_pack_map(&pk, 9);
	mp_pack_str(&pk, "nil");
	msgpack_pack_nil(&pk);
	mp_pack_str(&pk, "bools");
	msgpack_pack_array(&pk, 2);
	msgpack_pack_true(&pk);
	msgpack_pack_false(&pk);
	mp_pack_str(&pk, "ints");
	msgpack_pack_array(&pk, 4);
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_int64(&pk, -1);
	msgpack_pack_uint64(&pk, 0);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	mp_pack_str(&pk, "floats");
	msgpack_pack_array(&pk, 3);
	msgpack_pack_double(&pk, 0.1);
	msgpack_pack_float(&pk, 3.4028235e38f);
	msgpack_pack_double(&pk, -0.0);
	mp_pack_str(&pk, "text");
	mp_pack_str(&pk, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \"q\" \\ \t\x01\x7f\xc2\x85");
	mp_pack_str(&pk, "bad utf-8");
	mp_pack_str(&pk, "\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82");
	mp_pack_str(&pk, "bin");
	msgpack_pack_bin(&pk, sizeof(bin));
	msgpack_pack_bin_body(&pk, bin, sizeof(bin));
	mp_pack_str(&pk, "nested");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 1);
	mp_pack_str(&pk, "a");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 0);
	mp_pack_str(&pk, "");
	msgpack_pack_array(&pk, 0);
	gen_frames("reply-types", &b, proto_reply_end(&b, start) == 0);
}

/* Several frames in one stream, as a connection carries them. */
static void
gen_stream(void)
{
	struct msg_hello h;
	struct snapshot s;
	struct buf b;

	memset(&h, 0, sizeof(h));
	h.major = PROTO_MAJOR;
	h.role = ROLE_AGENT;
	ifl_strlcpy(h.agent, "ipcfleet-agent 0.1.0", sizeof(h.agent));
	ifl_strlcpy(h.os, "Linux", sizeof(h.os));
	ifl_strlcpy(h.os_release, "6.1.0", sizeof(h.os_release));
	h.page_size = 4096;
	if (snapshot_init(&s) == -1)
		gen_die("out of memory");
	s.seq = 5;
	buf_init(&b, GEN_BUF_MAX);
	if (proto_encode_hello(&b, &h) == -1 || proto_encode_snapshot(&b, &s) == -1 ||
	    proto_encode_ack(&b, 5) == -1)
		gen_die("stream");
	gen_write("fuzz_frame", "stream-hello-snapshot-ack", b.data, b.len);
	buf_free(&b);
	snapshot_free(&s);
}

/* Inputs that once took msgpack-c down when given to it unchecked. */
static void
gen_hazards(void)
{
	/* array32 claiming 0xff000000 elements: msgpack-c allocates for them all */
	static const uint8_t arr[] = {0xdd, 0xff, 0x00, 0x00, 0x00};
	static const uint8_t arr_framed[] = {0, 0, 0, 5, 0xdd, 0xff, 0x00, 0x00, 0x00};
	static const uint8_t inmap[] = {0x81, 0xa1, 'a', 0xdd, 0xff, 0x00, 0x00, 0x00};
	uint8_t maps[4 + 45];

	gen_write("fuzz_frame", "hazard-array32-huge", arr_framed, sizeof(arr_framed));
	gen_write("fuzz_json", "hazard-array32-huge", arr, sizeof(arr));
	/* the same inside a map, so that the validator's count check refuses it */
	gen_write2("fuzz_frame", "hazard-array32-in-map", "\0\0\0\10", 4, inmap, sizeof(inmap));
	gen_write("fuzz_json", "hazard-array32-in-map", inmap, sizeof(inmap));
	/* 43 nested map32 headers (each claiming billions of pairs), then "\n\n" */
	maps[0] = maps[1] = maps[2] = 0;
	maps[3] = 45;
	memset(maps + 4, 0xdf, 43);
	maps[4 + 43] = maps[4 + 44] = '\n';
	gen_write("fuzz_frame", "hazard-map32-nest", maps + 4, 45);
	gen_write("fuzz_frame", "hazard-map32-nest-framed", maps, sizeof(maps));
	gen_write("fuzz_json", "hazard-map32-nest", maps + 4, 45);
}

static void
gen_procfs(const char *src)
{
	static const char *const fixtures[] = {"linux-modern", "linux-old", "linux-garbage"};
	static const char *const files[] = {"shm", "sem", "msg"};
	char path[4096], name[128];
	size_t i, t, len;
	uint8_t sel;
	char *text;

	for (i = 0; i < NELEM(fixtures); i++) {
		for (t = 0; t < NELEM(files); t++) {
			snprintf(path, sizeof(path), "%s/tests/fixtures/%s/proc/sysvipc/%s", src,
			         fixtures[i], files[t]);
			if (read_file_bounded(path, COLLECT_FILE_MAX, &text, &len) == -1) {
				if (errno == ENOENT)
					continue;
				gen_die("%s: %s", path, strerror(errno));
			}
			/* the selector: the parser; every other file into a namespace */
			sel = (uint8_t)(t | ((i + t) % 2 ? 4 : 0));
			snprintf(name, sizeof(name), "%s-%s", fixtures[i], files[t]);
			gen_write2("fuzz_procfs", name, &sel, 1, text, len);
			free(text);
		}
	}
}

static void
gen_config_file(const char *src, const char *file)
{
	char path[4096];
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/deploy/etc/%s", src, file);
	if (read_file_bounded(path, 1024 * 1024, &text, &len) == -1)
		gen_die("%s: %s", path, strerror(errno));
	gen_write("fuzz_config", file, text, len);
	free(text);
}

static void
gen_config(const char *src)
{
	static const char lists[] = "[server]\n"
	                            "admins = ops1, ops2\n"
	                            "    ops3,ops4\n"
	                            "admins = ops5\n"
	                            "max_connections = 1000000\n"
	                            "idle_timeout = 7d\n"
	                            "[agent]\n"
	                            "server = [::1]:7701, agg1.example.org:7701\n"
	                            "spool_max = 64M\n"
	                            "interval = 90s\n"
	                            "cert = ~/agent.crt\n"
	                            "[thresholds]\n"
	                            "semmns.warn = 70\n"
	                            "semmns.crit = 95\n"
	                            "shm.all.crit = 100\n";
	static const char bad[] = "\xef\xbb\xbf; BOM, CRLF and a bad value\r\n"
	                          "[cli]\r\n"
	                          "timeout = 10m\r\n"
	                          "timeout = 601\r\n";
	static const char cont[] = "[agent]\nsource = linux\n  continued\n";
	static const char unknown[] = "[nosuch]\n[thresholds]\nBAD.warn = 5\n";
	static const char nul[] = "[cli]\nserver = a\0b:7701\n";
	/* "[cli]\n", then a line one character over the limit */
	char longline[6 + CFG_LINE_MAX + 1 + 1];

	gen_config_file(src, "agent.conf.example");
	gen_config_file(src, "aggregator.conf.example");
	gen_config_file(src, "cli.conf.example");
	gen_write("fuzz_config", "lists-and-thresholds", lists, sizeof(lists) - 1);
	gen_write("fuzz_config", "bom-crlf-bad-value", bad, sizeof(bad) - 1);
	gen_write("fuzz_config", "continued-scalar", cont, sizeof(cont) - 1);
	gen_write("fuzz_config", "unknown-section", unknown, sizeof(unknown) - 1);
	gen_write("fuzz_config", "nul-byte", nul, sizeof(nul) - 1);
	memcpy(longline, "[cli]\nserver = ", 15);
	memset(longline + 15, 'a', sizeof(longline) - 15 - 1);
	longline[sizeof(longline) - 1] = '\n';
	gen_write("fuzz_config", "long-line", longline, sizeof(longline));
}

/* A fixture file into a growing buffer; absent files add nothing. */
static void
gen_cat(struct buf *b, const char *src, const char *rel, int required)
{
	char path[4096];
	size_t len;
	char *text;

	snprintf(path, sizeof(path), "%s/tests/fixtures/%s", src, rel);
	if (read_file_bounded(path, COLLECT_FILE_MAX, &text, &len) == -1) {
		if (errno == ENOENT && !required)
			return;
		gen_die("%s: %s", path, strerror(errno));
	}
	buf_append(b, text, len);
	free(text);
}

/* One FreeBSD parser's input: the selector byte, then the fixture. */
static void
gen_fbsd_file(const char *src, const char *name, uint8_t sel, const char *rel)
{
	struct buf b;

	buf_init(&b, COLLECT_FILE_MAX);
	buf_append(&b, &sel, 1);
	gen_cat(&b, src, rel, 1);
	if (buf_failed(&b))
		gen_die("%s: too large", rel);
	gen_write("fuzz_freebsd", name, b.data, b.len);
	buf_free(&b);
}

static void
gen_fbsd_text(const char *name, uint8_t sel, const char *text)
{
	gen_write2("fuzz_freebsd", name, &sel, 1, text, strlen(text));
}

/*
 * A whole capture for the pipeline mode: the files in the collector's
 * order, separated by form feeds (see fuzz_freebsd.c).  An empty name
 * leaves its section empty.
 */
static void
gen_fbsd_capture(const char *src, const char *name, const char *const *rels, size_t n)
{
	const uint8_t sel = 6, sep = '\f';
	struct buf b;
	size_t i;

	buf_init(&b, COLLECT_FILE_MAX);
	buf_append(&b, &sel, 1);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_append(&b, &sep, 1);
		if (rels[i][0] != '\0')
			gen_cat(&b, src, rels[i], 1);
	}
	if (buf_failed(&b))
		gen_die("%s: too large", name);
	gen_write("fuzz_freebsd", name, b.data, b.len);
	buf_free(&b);
}

static void
gen_freebsd(const char *src)
{
	static const char *const jails[] = {
	    "freebsd-jails/sysctl-kern.ipc.txt",
	    "freebsd-jails/pagesize.txt",
	    "freebsd-jails/date.txt",
	    "freebsd-jails/passwd",
	    "freebsd-jails/group",
	    "freebsd-jails/ipcs-a.txt",
	    "freebsd-jails/jls.txt",
	    "freebsd-jails/ps.txt",
	    "freebsd-jails/jail-pg/ipcs-a.txt",
	    "freebsd-jails/jail-pg/passwd",
	    "freebsd-jails/jail-pg/group",
	    "freebsd-jails/jail-zbx/ipcs-a.txt",
	    "freebsd-jails/jail-zbx/passwd",
	    "freebsd-jails/jail-zbx/group",
	};
	static const char *const sorthat[] = {
	    "freebsd-11-sorthat/sysctl-kern.ipc.txt", "freebsd-11-sorthat/pagesize.txt", "", "", "",
	    "freebsd-11-sorthat/ipcs-ma.txt",
	};

	gen_fbsd_file(src, "sysctl-jails", 0, "freebsd-jails/sysctl-kern.ipc.txt");
	gen_fbsd_file(src, "sysctl-sorthat", 0, "freebsd-11-sorthat/sysctl-kern.ipc.txt");
	gen_fbsd_file(src, "ipcs-jails", 1 | 8, "freebsd-jails/ipcs-a.txt");
	gen_fbsd_file(src, "ipcs-jail-pg", 1, "freebsd-jails/jail-pg/ipcs-a.txt");
	gen_fbsd_file(src, "ipcs-jail-zbx", 1 | 16, "freebsd-jails/jail-zbx/ipcs-a.txt");
	gen_fbsd_file(src, "ipcs-sorthat-ma", 1, "freebsd-11-sorthat/ipcs-ma.txt");
	gen_fbsd_file(src, "ipcs-sorthat-as", 1 | 24, "freebsd-11-sorthat/ipcs-as.txt");
	gen_fbsd_file(src, "jls-jails", 2, "freebsd-jails/jls.txt");
	gen_fbsd_file(src, "ps-jails", 3, "freebsd-jails/ps.txt");
	gen_fbsd_file(src, "passwd-jails", 4, "freebsd-jails/passwd");
	gen_fbsd_file(src, "group-jails", 4 | 8, "freebsd-jails/group");
	gen_fbsd_file(src, "pagesize-sorthat", 5, "freebsd-11-sorthat/pagesize.txt");
	gen_fbsd_file(src, "date-jails", 5, "freebsd-jails/date.txt");
	gen_fbsd_text("time-hms", 5, "14:07:38");
	gen_fbsd_text("time-leap", 5, "23:59:60");
	gen_fbsd_text("mode-rw", 5, "--rw-------");
	gen_fbsd_text("mode-shm-dest", 5, "D-rw-r--r--");
	gen_fbsd_text("jls-quotes", 2,
	              "jid=7 name=\"a \\\"b\\\\\" path='/j/x y' sysvshm=new allow.sysvipc\n"
	              "jid=8 name=c allow.nosysvipc\n");
	gen_fbsd_capture(src, "capture-jails", jails, NELEM(jails));
	gen_fbsd_capture(src, "capture-sorthat", sorthat, NELEM(sorthat));
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fuzz_gen_corpus SRCDIR OUTDIR\n");
		return 2;
	}
	gen_out = argv[2];
	gen_mkdir("fuzz_frame");
	gen_mkdir("fuzz_json");
	gen_mkdir("fuzz_procfs");
	gen_mkdir("fuzz_config");
	gen_mkdir("fuzz_freebsd");
	gen_hello();
	gen_snapshots(argv[1]);
	gen_small();
	gen_reply_types();
	gen_stream();
	gen_hazards();
	gen_procfs(argv[1]);
	gen_config(argv[1]);
	gen_freebsd(argv[1]);
	return 0;
}
