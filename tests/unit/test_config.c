/*
 * test_config.c: the INI loader against a schema like the aggregator's.
 * Every error is checked as the exact "NAME:LINE: message" a user would see.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "util.h"

struct tconf {
	char listen[CFG_STR_MAX];
	char cert[CFG_PATH_MAX];
	char key[CFG_PATH_MAX];
	char ca[CFG_PATH_MAX];
	struct cfg_list admins;
	struct cfg_list peers;
	uint64_t timeout;
	uint64_t max_frame;
	char backend[CFG_STR_MAX];
	char path[CFG_PATH_MAX];
	uint64_t warn, crit;
	int nover;
	char over[4][32];
	uint64_t overv[4];
};

/* "LIMIT.warn": LIMIT lowercase letters, value 1..100. */
static int
t_warn_key(void *user, const char *key, const char *value, char *err, size_t errlen)
{
	struct tconf *c = user;
	const char *dot = strrchr(key, '.'), *why;
	size_t n = (size_t)(dot - key);
	uint64_t v;

	if (n >= sizeof(c->over[0]) || strspn(key, "abcdefghijklmnopqrstuvwxyz") != n) {
		snprintf(err, errlen, "'%.*s' is not a limit name", (int)n, key);
		return -1;
	}
	if (parse_u64(value, 1, 100, &v, &why) == -1) {
		snprintf(err, errlen, "%s (a percentage from 1 to 100)", why);
		return -1;
	}
	if (c->nover >= 4) {
		snprintf(err, errlen, "too many");
		return -1;
	}
	memcpy(c->over[c->nover], key, n);
	c->over[c->nover][n] = '\0';
	c->overv[c->nover++] = v;
	return 0;
}

#define OFF(f) offsetof(struct tconf, f)
static const struct cfg_key schema[] = {
    {"server", "listen", CFG_STRING, OFF(listen), 0, 0, NULL, "address:port"},
    {"server", "cert", CFG_PATH, OFF(cert), 0, 0, NULL, "certificate"},
    {"server", "key", CFG_PATH, OFF(key), 0, 0, NULL, "private key"},
    {"server", "ca", CFG_PATH, OFF(ca), 0, 0, NULL, "CA"},
    {"server", "admins", CFG_LIST, OFF(admins), 0, 0, NULL, "admin CNs"},
    {"server", "peers", CFG_HOSTPORT_LIST, OFF(peers), 0, 0, NULL, "peers"},
    {"server", "timeout", CFG_DURATION, OFF(timeout), 1, 3600, NULL, "timeout"},
    {"server", "max_frame", CFG_SIZE, OFF(max_frame), 1024, 1024 * 1024 * 1024, NULL, "frame"},
    {"storage", "backend", CFG_STRING, OFF(backend), 0, 0, NULL, "sqlite"},
    {"storage", "path", CFG_PATH, OFF(path), 0, 0, NULL, "database"},
    {"thresholds", "warn", CFG_U64, OFF(warn), 1, 100, NULL, "percent"},
    {"thresholds", "crit", CFG_U64, OFF(crit), 1, 100, NULL, "percent"},
    {"thresholds", "*.warn", CFG_CUSTOM, 0, 0, 0, t_warn_key, "per-limit warn"},
    {NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

static void
t_defaults(struct tconf *c)
{
	memset(c, 0, sizeof(*c));
	ifl_strlcpy(c->listen, "0.0.0.0:7701", sizeof(c->listen));
	ifl_strlcpy(c->backend, "sqlite", sizeof(c->backend));
	ifl_strlcpy(c->path, "/var/db/ipcfleet/ipcfleet.db", sizeof(c->path));
	c->admins.n = 1;
	ifl_strlcpy(c->admins.v[0], "default-admin", sizeof(c->admins.v[0]));
	c->timeout = 10;
	c->max_frame = 1024 * 1024;
	c->warn = 80;
	c->crit = 90;
}

/* Loads text as "t.conf"; returns config_load_string()'s result, err filled. */
static int
t_load(const char *text, struct tconf *c, char *err, size_t errlen)
{
	t_defaults(c);
	err[0] = '\0';
	return config_load_string("t.conf", text, schema, c, err, errlen);
}

/* Asserts that text fails with exactly want. */
static void
t_fails(const char *text, const char *want)
{
	struct tconf c;
	char err[1024];

	assert_int_equal(t_load(text, &c, err, sizeof(err)), -1);
	assert_string_equal(err, want);
}

static void
test_good_file(void **state)
{
	struct tconf c;
	char err[1024];

	(void)state;
	assert_int_equal(setenv("HOME", "/home/ops", 1), 0);
	assert_int_equal(t_load("; aggregator test\n"
	                        "# another comment style\n"
	                        "[server]\n"
	                        "listen = 127.0.0.1:7701   ; inline comment\n"
	                        "cert = /etc/ipcfleet/agg.crt\n"
	                        "key = ~/agg.key\n"
	                        "ca=/etc/ipcfleet/ca.crt\n"
	                        "admins = ops1, ops2 ,ops3\n"
	                        "peers = agg1.example.org:7701, [::1]:7702, 10.0.0.1:7703\n"
	                        "timeout = 15m\n"
	                        "\n"
	                        "[thresholds]\n"
	                        "warn = 70\n"
	                        "semmns.warn = 60\n"
	                        "shmall.warn = 75\n",
	                        &c, err, sizeof(err)),
	                 0);
	assert_string_equal(err, "");
	assert_string_equal(c.listen, "127.0.0.1:7701");
	assert_string_equal(c.cert, "/etc/ipcfleet/agg.crt");
	assert_string_equal(c.key, "/home/ops/agg.key");
	assert_string_equal(c.ca, "/etc/ipcfleet/ca.crt");
	/* the file's list replaces the default list */
	assert_int_equal(c.admins.n, 3);
	assert_string_equal(c.admins.v[0], "ops1");
	assert_string_equal(c.admins.v[1], "ops2");
	assert_string_equal(c.admins.v[2], "ops3");
	assert_int_equal(c.peers.n, 3);
	assert_string_equal(c.peers.v[0], "agg1.example.org:7701");
	assert_string_equal(c.peers.v[1], "[::1]:7702");
	assert_string_equal(c.peers.v[2], "10.0.0.1:7703");
	assert_int_equal(c.timeout, 900);
	assert_int_equal(c.warn, 70);
	assert_int_equal(c.nover, 2);
	assert_string_equal(c.over[0], "semmns");
	assert_int_equal(c.overv[0], 60);
	assert_string_equal(c.over[1], "shmall");
	assert_int_equal(c.overv[1], 75);
	/* defaults kept */
	assert_int_equal(c.max_frame, 1024 * 1024);
	assert_int_equal(c.crit, 90);
	assert_string_equal(c.backend, "sqlite");
	assert_string_equal(c.path, "/var/db/ipcfleet/ipcfleet.db");
	/* "~" alone and a tilde elsewhere */
	assert_int_equal(t_load("[storage]\npath = ~\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.path, "/home/ops");
	assert_int_equal(t_load("[storage]\npath = /a/~/b\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.path, "/a/~/b");
	/* sizes and an empty file */
	assert_int_equal(t_load("[server]\nmax_frame = 64M\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_frame, 64ull * 1024 * 1024);
	assert_int_equal(t_load("[server]\nmax_frame = 1G\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.max_frame, 1024ull * 1024 * 1024);
	assert_int_equal(t_load("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.warn, 80);
	assert_int_equal(c.admins.n, 1);
	assert_string_equal(c.admins.v[0], "default-admin");
	/* a scalar given twice: the last one wins */
	assert_int_equal(t_load("[thresholds]\nwarn = 50\nwarn = 60\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.warn, 60);
}

static void
test_crlf_and_bom(void **state)
{
	struct tconf c;
	char err[1024];

	(void)state;
	assert_int_equal(t_load("\xef\xbb\xbf[server]\r\nlisten = a:1\r\nadmins = x, y\r\n", &c,
	                        err, sizeof(err)),
	                 0);
	assert_string_equal(c.listen, "a:1");
	assert_int_equal(c.admins.n, 2);
	assert_string_equal(c.admins.v[1], "y");
	t_fails("\xef\xbb\xbf[server]\r\n\r\nport = 1\r\n",
	        "t.conf:3: unknown key 'port' in [server]");
}

static void
test_unknown_section(void **state)
{
	(void)state;
	t_fails("[server]\nlisten = a:1\n[bogus]\nfoo = 1\n", "t.conf:3: unknown section [bogus]");
	/* an unknown section is an error even with no key in it */
	t_fails("[server]\nlisten = a:1\n\n[htttp]\n; listen = 1\n",
	        "t.conf:4: unknown section [htttp]");
	/* names are not trimmed or folded */
	t_fails("[ server ]\n", "t.conf:1: unknown section [ server ]");
	t_fails("[Server]\n", "t.conf:1: unknown section [Server]");
	/* a section header may carry a comment; what follows "]" is ignored */
	t_fails("[server] ; main\nlisten = a:1\n[storage]x\n[stor]\n",
	        "t.conf:4: unknown section [stor]");
}

static void
test_unknown_key(void **state)
{
	(void)state;
	t_fails("[server]\nlisten = a:1\nport = 7701\n",
	        "t.conf:3: unknown key 'port' in [server]");
	/* keys belong to their section */
	t_fails("[storage]\nlisten = a:1\n", "t.conf:2: unknown key 'listen' in [storage]");
	/* "*.warn" needs something before the dot, and only matches ".warn" */
	t_fails("[thresholds]\n.warn = 5\n", "t.conf:2: unknown key '.warn' in [thresholds]");
	t_fails("[thresholds]\nsemmns.crit = 5\n",
	        "t.conf:2: unknown key 'semmns.crit' in [thresholds]");
	/* patterns are per section */
	t_fails("[server]\nsemmns.warn = 5\n", "t.conf:2: unknown key 'semmns.warn' in [server]");
}

static void
test_key_outside_section(void **state)
{
	(void)state;
	t_fails("; header\nlisten = a:1\n[server]\n", "t.conf:2: key 'listen' outside a section");
}

static void
test_bad_numbers(void **state)
{
	(void)state;
	t_fails("[thresholds]\nwarn = 8o\n", "t.conf:2: warn: bad value '8o': not a number");
	t_fails("[thresholds]\nwarn = -5\n", "t.conf:2: warn: bad value '-5': not a number");
	t_fails("[thresholds]\nwarn =\n", "t.conf:2: warn: bad value '': empty");
	t_fails("[thresholds]\nwarn = 99999999999999999999\n",
	        "t.conf:2: warn: bad value '99999999999999999999': too large (at most 100)");
	/* a ';' without a blank before it is part of the value */
	t_fails("[thresholds]\nwarn = 70;x\n", "t.conf:2: warn: bad value '70;x': not a number");
	t_fails("[server]\ntimeout = 10w\n",
	        "t.conf:2: timeout: bad value '10w': not a duration (use a number with s, m, h or "
	        "d)");
	t_fails("[server]\ntimeout = m\n",
	        "t.conf:2: timeout: bad value 'm': not a duration (use a number with s, m, h or "
	        "d)");
	t_fails("[server]\nmax_frame = 1T\n",
	        "t.conf:2: max_frame: bad value '1T': not a size (use a number with K, M or G)");
	t_fails("[server]\nmax_frame = 64 M\n",
	        "t.conf:2: max_frame: bad value '64 M': not a size (use a number with K, M or G)");
}

static void
test_out_of_range(void **state)
{
	(void)state;
	t_fails("[thresholds]\nwarn = 101\n",
	        "t.conf:2: warn: bad value '101': too large (at most 100)");
	t_fails("[thresholds]\ncrit = 0\n",
	        "t.conf:2: crit: bad value '0': too small (at least 1)");
	t_fails("[server]\ntimeout = 2h\n",
	        "t.conf:2: timeout: bad value '2h': too large (at most 1h)");
	t_fails("[server]\ntimeout = 0\n",
	        "t.conf:2: timeout: bad value '0': too small (at least 1s)");
	t_fails("[server]\ntimeout = 213503982334602d\n",
	        "t.conf:2: timeout: bad value '213503982334602d': too large (at most 1h)");
	t_fails("[server]\nmax_frame = 2G\n",
	        "t.conf:2: max_frame: bad value '2G': too large (at most 1G)");
	t_fails("[server]\nmax_frame = 1000\n",
	        "t.conf:2: max_frame: bad value '1000': too small (at least 1K)");
	/* a custom key's own message */
	t_fails("[thresholds]\nsemmns.warn = 700\n",
	        "t.conf:2: semmns.warn: bad value '700': too large (a percentage from 1 to 100)");
	t_fails("[thresholds]\nSEMMNS.warn = 70\n",
	        "t.conf:2: SEMMNS.warn: bad value '70': 'SEMMNS' is not a limit name");
}

static void
test_strings(void **state)
{
	struct tconf c;
	char err[1024], line[CFG_LINE_MAX + 2];

	(void)state;
	t_fails("[server]\ncert =\n", "t.conf:2: cert: bad value '': empty");
	t_fails("[server]\nlisten =    ; nothing\n", "t.conf:2: listen: bad value '': empty");
	/* a value as long as a line allows is kept whole */
	memset(line, 'p', sizeof(line));
	memcpy(line, "cert = /", 8);
	line[CFG_LINE_MAX] = '\0';
	{
		char text[CFG_LINE_MAX + 32];

		snprintf(text, sizeof(text), "[server]\n%s\n", line);
		assert_int_equal(t_load(text, &c, err, sizeof(err)), 0);
		assert_int_equal(strlen(c.cert), CFG_LINE_MAX - 7);
	}
	/* values in messages: escaped, cut after 64 characters */
	t_fails("[thresholds]\nwarn = \001\\\n",
	        "t.conf:2: warn: bad value '\\x01\\\\': not a number");
	t_fails("[thresholds]\nwarn = "
	        "0123456789012345678901234567890123456789012345678901234567890123456789\n",
	        "t.conf:2: warn: bad value "
	        "'0123456789012345678901234567890123456789012345678901234567890123...': too large "
	        "(at most 100)");
}

static void
test_lists(void **state)
{
	struct tconf c;
	char err[1024], text[1024];
	size_t i;
	int off;

	(void)state;
	/* continuation lines (indented) append, across blank and comment lines */
	assert_int_equal(t_load("[server]\n"
	                        "admins = a, b\n"
	                        "   c\n"
	                        "\n"
	                        "; a comment\n"
	                        "\td, e   ; inline\n"
	                        "listen = x:1\n",
	                        &c, err, sizeof(err)),
	                 0);
	assert_int_equal(c.admins.n, 5);
	assert_string_equal(c.admins.v[0], "a");
	assert_string_equal(c.admins.v[2], "c");
	assert_string_equal(c.admins.v[3], "d");
	assert_string_equal(c.admins.v[4], "e");
	assert_string_equal(c.listen, "x:1");
	/* a key repeated on its own line appends too */
	assert_int_equal(t_load("[server]\nadmins = a\nadmins = b\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.admins.n, 2);
	assert_string_equal(c.admins.v[1], "b");
	/* "key =" empties the default list */
	assert_int_equal(t_load("[server]\nadmins =\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.admins.n, 0);
	/* exactly CFG_LIST_MAX items, over two lines */
	off = snprintf(text, sizeof(text), "[server]\nadmins = a0");
	for (i = 1; i < CFG_LIST_MAX; i++)
		off += snprintf(text + off, sizeof(text) - (size_t)off, "%s%zu",
		                i == 16 ? "\n  " : ", ", i);
	snprintf(text + off, sizeof(text) - (size_t)off, "\n");
	assert_int_equal(t_load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.admins.n, CFG_LIST_MAX);
	assert_string_equal(c.admins.v[CFG_LIST_MAX - 1], "31");
	/* one more is refused, on the line that brings it */
	snprintf(text + off, sizeof(text) - (size_t)off, "\n  x\n");
	assert_int_equal(t_load(text, &c, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf:4: admins: bad value 'x': too many items (at most 32)");
	t_fails("[server]\nadmins = a,,b\n",
	        "t.conf:2: admins: bad value 'a,,b': empty item (remove the extra comma)");
	t_fails("[server]\nadmins = a, b,\n",
	        "t.conf:2: admins: bad value 'a, b,': empty item (remove the extra comma)");
	t_fails("[server]\nadmins = , a\n",
	        "t.conf:2: admins: bad value ', a': empty item (remove the extra comma)");
	t_fails("[server]\nadmins = ops1 ops2\n",
	        "t.conf:2: admins: bad value 'ops1 ops2': item 'ops1 ops2' contains blanks "
	        "(separate items by commas)");
	/* host:port lists check every item */
	t_fails("[server]\npeers = a:1, b\n",
	        "t.conf:2: peers: bad value 'a:1, b': 'b': expected HOST:PORT");
	t_fails("[server]\npeers = a:1\n  b:65536\n",
	        "t.conf:3: peers: bad value 'b:65536': 'b:65536': bad port (0 to 65535)");
	t_fails("[server]\npeers = :7701\n",
	        "t.conf:2: peers: bad value ':7701': ':7701': empty host");
	/* only lists continue */
	t_fails("[server]\ncert = /a\n  /b\n",
	        "t.conf:3: cert: bad value '/b': an indented line continues the value of 'cert', "
	        "which is not a list");
	/* after a section header nothing continues: that is a syntax error */
	t_fails("[server]\nadmins = a\n[storage]\n  b\n",
	        "t.conf:4: syntax error (expected key = value or [section])");
}

static void
test_syntax(void **state)
{
	(void)state;
	t_fails("[server]\nlisten\n", "t.conf:2: syntax error (expected key = value or [section])");
	t_fails("[server\nlisten = a:1\n",
	        "t.conf:1: syntax error (expected key = value or [section])");
	t_fails("[server ; comment]\n",
	        "t.conf:1: syntax error (expected key = value or [section])");
	/* the first error wins, whichever kind it is */
	t_fails("[server]\nlisten\nport = 1\n",
	        "t.conf:2: syntax error (expected key = value or [section])");
	t_fails("[server]\nport = 1\nlisten\n", "t.conf:2: unknown key 'port' in [server]");
	t_fails("[server]\nlisten\n[bogus]\n",
	        "t.conf:2: syntax error (expected key = value or [section])");
	t_fails("[bogus]\nlisten\n", "t.conf:1: unknown section [bogus]");
	t_fails("[thresholds]\nwarn = 5x\ncrit = 5x\n",
	        "t.conf:2: warn: bad value '5x': not a number");
}

static void
test_line_length(void **state)
{
	char text[1024], line[400];

	(void)state;
	/* a 300-character line */
	memset(line, 'x', 300);
	memcpy(line, "; ", 2);
	line[300] = '\0';
	snprintf(text, sizeof(text), "[server]\n%s\nlisten = a:1\n", line);
	t_fails(text, "t.conf:2: line too long (at most 199 characters; continue a list on an "
	              "indented next line)");
	/* 200 characters is one too many, even in a comment at the end without "\n" */
	line[200] = '\0';
	snprintf(text, sizeof(text), "[server]\n\n%s", line);
	t_fails(text, "t.conf:3: line too long (at most 199 characters; continue a list on an "
	              "indented next line)");
	/* 199 characters are fine, and the next line keeps its number */
	line[199] = '\0';
	snprintf(text, sizeof(text), "[server]\n%s\nport = 1\n", line);
	t_fails(text, "t.conf:3: unknown key 'port' in [server]");
	/* "\r\n" does not count */
	snprintf(text, sizeof(text), "[server]\r\n%s\r\nport = 1\r\n", line);
	t_fails(text, "t.conf:3: unknown key 'port' in [server]");
}

static void
test_require(void **state)
{
	static const char *const req[] = {"server.cert", "server.key", "server.admins", NULL};
	static const char *const bad[] = {"server.nope", NULL};
	struct tconf c;
	char err[1024];

	(void)state;
	assert_int_equal(
	    t_load("[server]\ncert = /c\nkey = /k\nadmins = a\n", &c, err, sizeof(err)), 0);
	assert_int_equal(config_require("t.conf", schema, &c, req, err, sizeof(err)), 0);
	assert_int_equal(t_load("[server]\ncert = /c\n", &c, err, sizeof(err)), 0);
	assert_int_equal(config_require("t.conf", schema, &c, req, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf: [server] key is required");
	assert_int_equal(t_load("[server]\ncert = /c\nkey = /k\nadmins =\n", &c, err, sizeof(err)),
	                 0);
	assert_int_equal(config_require("t.conf", schema, &c, req, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf: [server] admins is required");
	assert_int_equal(config_require("t.conf", schema, &c, bad, err, sizeof(err)), -1);
	assert_string_equal(err, "t.conf: required key 'server.nope' is not in the schema (a bug)");
}

/* Writes len bytes to dir/name; returns the path in a static buffer. */
static const char *
t_write(const char *dir, const char *name, const char *data, size_t len)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX", err[1024], want[1024], *big;
	const char *path;
	struct tconf c;
	static const char nul[] = "[server]\nlisten = a:1\ncert = /x\0y\n";

	(void)state;
	assert_non_null(mkdtemp(dir));

	path = t_write(dir, "good.conf", "[thresholds]\nwarn = 42\n", 23);
	t_defaults(&c);
	assert_int_equal(config_load(path, schema, &c, err, sizeof(err)), 0);
	assert_int_equal(c.warn, 42);
	assert_int_equal(c.crit, 90);

	path = t_write(dir, "bad.conf", "[thresholds]\n\nwarn = 420\n", 25);
	t_defaults(&c);
	assert_int_equal(config_load(path, schema, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
	         "%s/bad.conf:3: warn: bad value '420': too large (at most 100)", dir);
	assert_string_equal(err, want);

	/* a NUL byte can only come from a file */
	path = t_write(dir, "nul.conf", nul, sizeof(nul) - 1);
	t_defaults(&c);
	assert_int_equal(config_load(path, schema, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/nul.conf:3: NUL byte", dir);
	assert_string_equal(err, want);

	/* 1 MiB is allowed, one byte more is not */
	assert_non_null(big = malloc(CFG_FILE_MAX + 1));
	memset(big, '\n', CFG_FILE_MAX + 1);
	memcpy(big, "[thresholds]\nwarn = 7\n", 22);
	path = t_write(dir, "big.conf", big, CFG_FILE_MAX);
	t_defaults(&c);
	assert_int_equal(config_load(path, schema, &c, err, sizeof(err)), 0);
	assert_int_equal(c.warn, 7);
	path = t_write(dir, "big.conf", big, CFG_FILE_MAX + 1);
	assert_int_equal(config_load(path, schema, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/big.conf: larger than 1 MiB", dir);
	assert_string_equal(err, want);
	free(big);

	snprintf(want, sizeof(want), "%s/missing.conf", dir);
	assert_int_equal(config_load(want, schema, &c, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s/missing.conf: cannot open: No such file or directory",
	         dir);
	assert_string_equal(err, want);

	snprintf(want, sizeof(want), "%s/good.conf", dir);
	assert_int_equal(unlink(want), 0);
	snprintf(want, sizeof(want), "%s/bad.conf", dir);
	assert_int_equal(unlink(want), 0);
	snprintf(want, sizeof(want), "%s/nul.conf", dir);
	assert_int_equal(unlink(want), 0);
	snprintf(want, sizeof(want), "%s/big.conf", dir);
	assert_int_equal(unlink(want), 0);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_crlf_and_bom),
	    cmocka_unit_test(test_unknown_section),
	    cmocka_unit_test(test_unknown_key),
	    cmocka_unit_test(test_key_outside_section),
	    cmocka_unit_test(test_bad_numbers),
	    cmocka_unit_test(test_out_of_range),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_line_length),
	    cmocka_unit_test(test_require),
	    cmocka_unit_test(test_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
