/*
 * fuzz_config.c: the configuration parser (common/config.h) with a schema
 * shaped like the three programs' together: every value type, including a
 * CFG_CUSTOM pattern key like the aggregator's per-limit thresholds.
 *
 * The input is the file's text.  config_load_string() sees it up to its
 * first NUL; an input that holds a NUL is also loaded as a file (through a
 * memfd), where the NUL must be refused.  Checked afterwards: a failure has
 * a "NAME:" message; on success every value respects its schema bounds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"
#include "model.h"
#include "util.h"

#define FC_MAX_OVERRIDES 16

struct fc_override {
	char limit[MODEL_NAME_MAX];
	uint64_t warn, crit;
};

struct fc_config {
	/* [agent] */
	struct cfg_list servers;
	char cert[CFG_PATH_MAX];
	uint64_t interval, spool_max, tls12;
	char source[CFG_STR_MAX];
	/* [server] */
	char listen[CFG_STR_MAX];
	struct cfg_list admins;
	uint64_t max_connections, idle_timeout;
	/* [storage] */
	char backend[CFG_STR_MAX];
	char path[CFG_PATH_MAX];
	/* [cli] */
	char server[CFG_STR_MAX];
	uint64_t timeout;
	/* [thresholds] */
	uint64_t warn, crit;
	size_t noverrides;
	struct fc_override overrides[FC_MAX_OVERRIDES];
};

/* "LIMIT.warn" / "LIMIT.crit" = percent; user is the whole fc_config. */
static int
fc_threshold(void *user, const char *key, const char *value, char *err, size_t errlen)
{
	struct fc_config *c = user;
	struct fc_override *o = NULL;
	const char *dot = strrchr(key, '.'), *why;
	char limit[MODEL_NAME_MAX];
	uint64_t pct;
	size_t i, n;

	if (dot == NULL || (n = (size_t)(dot - key)) == 0 || n >= sizeof(limit)) {
		snprintf(err, errlen, "expected LIMIT.warn or LIMIT.crit");
		return -1;
	}
	memcpy(limit, key, n);
	limit[n] = '\0';
	if (!limit_name_valid(limit)) {
		snprintf(err, errlen, "not a limit name");
		return -1;
	}
	if (parse_u64(value, 1, 100, &pct, &why) == -1) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	for (i = 0; i < c->noverrides && o == NULL; i++)
		if (strcmp(c->overrides[i].limit, limit) == 0)
			o = &c->overrides[i];
	if (o == NULL) {
		if (c->noverrides >= FC_MAX_OVERRIDES) {
			snprintf(err, errlen, "too many");
			return -1;
		}
		o = &c->overrides[c->noverrides++];
		memset(o, 0, sizeof(*o));
		memcpy(o->limit, limit, n + 1);
	}
	if (strcmp(dot + 1, "warn") == 0)
		o->warn = pct;
	else
		o->crit = pct;
	return 0;
}

#define OFF(f) offsetof(struct fc_config, f)
static const struct cfg_key fc_schema[] = {
    {"agent", "server", CFG_HOSTPORT_LIST, OFF(servers), 0, 0, NULL, "aggregators"},
    {"agent", "cert", CFG_PATH, OFF(cert), 0, 0, NULL, "certificate"},
    {"agent", "key", CFG_PATH, OFF(cert), 0, 0, NULL, "key"},
    {"agent", "ca", CFG_PATH, OFF(cert), 0, 0, NULL, "ca"},
    {"agent", "spool", CFG_PATH, OFF(cert), 0, 0, NULL, "spool"},
    {"agent", "interval", CFG_DURATION, OFF(interval), 1, 86400, NULL, "interval"},
    {"agent", "orphan_min_age", CFG_DURATION, OFF(interval), 0, 86400 * 365, NULL, "age"},
    {"agent", "spool_max", CFG_SIZE, OFF(spool_max), 64 * 1024, UINT64_MAX, NULL, "size"},
    {"agent", "source", CFG_STRING, OFF(source), 0, 0, NULL, "source"},
    {"agent", "timeout", CFG_DURATION, OFF(timeout), 1, 600, NULL, "timeout"},
    {"agent", "tls12", CFG_U64, OFF(tls12), 0, 1, NULL, "tls 1.2"},
    {"server", "listen", CFG_STRING, OFF(listen), 0, 0, NULL, "listen"},
    {"server", "cert", CFG_PATH, OFF(path), 0, 0, NULL, "certificate"},
    {"server", "key", CFG_PATH, OFF(path), 0, 0, NULL, "key"},
    {"server", "ca", CFG_PATH, OFF(path), 0, 0, NULL, "ca"},
    {"server", "crl", CFG_PATH, OFF(path), 0, 0, NULL, "crl"},
    {"server", "admins", CFG_LIST, OFF(admins), 0, 0, NULL, "admins"},
    {"server", "max_connections", CFG_U64, OFF(max_connections), 1, 1000000, NULL, "conns"},
    {"server", "idle_timeout", CFG_DURATION, OFF(idle_timeout), 1, 86400 * 7, NULL, "idle"},
    {"server", "tls12", CFG_U64, OFF(tls12), 0, 1, NULL, "tls 1.2"},
    {"storage", "backend", CFG_STRING, OFF(backend), 0, 0, NULL, "backend"},
    {"storage", "path", CFG_PATH, OFF(path), 0, 0, NULL, "database"},
    {"storage", "url", CFG_STRING, OFF(backend), 0, 0, NULL, "url"},
    {"http", "listen", CFG_STRING, OFF(listen), 0, 0, NULL, "metrics"},
    {"cli", "server", CFG_STRING, OFF(server), 0, 0, NULL, "aggregator"},
    {"cli", "cert", CFG_PATH, OFF(path), 0, 0, NULL, "certificate"},
    {"cli", "key", CFG_PATH, OFF(path), 0, 0, NULL, "key"},
    {"cli", "ca", CFG_PATH, OFF(path), 0, 0, NULL, "ca"},
    {"cli", "timeout", CFG_DURATION, OFF(timeout), 1, 600, NULL, "timeout"},
    {"thresholds", "warn", CFG_U64, OFF(warn), 1, 100, NULL, "percent"},
    {"thresholds", "crit", CFG_U64, OFF(crit), 1, 100, NULL, "percent"},
    {"thresholds", "*.warn", CFG_CUSTOM, 0, 0, 0, fc_threshold, "per-limit warn"},
    {"thresholds", "*.crit", CFG_CUSTOM, 0, 0, 0, fc_threshold, "per-limit crit"},
    {NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

static void
fc_defaults(struct fc_config *c)
{
	memset(c, 0, sizeof(*c));
	c->servers.n = 1;
	memcpy(c->servers.v[0], "localhost:7701", sizeof("localhost:7701"));
	c->interval = 60;
	c->spool_max = 64 * 1024 * 1024;
	c->max_connections = 1000;
	c->idle_timeout = 300;
	c->timeout = 10;
	c->warn = 80;
	c->crit = 90;
}

static void
fc_check_list(const struct cfg_list *l)
{
	size_t i;

	FUZZ_CHECK(l->n <= CFG_LIST_MAX);
	for (i = 0; i < l->n; i++) {
		size_t n = strnlen(l->v[i], CFG_STR_MAX);

		FUZZ_CHECK(n > 0 && n < CFG_STR_MAX);
		FUZZ_CHECK(strpbrk(l->v[i], " \t,") == NULL);
	}
}

/* Every value of a successful load is within its schema's bounds. */
static void
fc_check(const struct fc_config *c)
{
	size_t i;

	fc_check_list(&c->servers);
	fc_check_list(&c->admins);
	FUZZ_CHECK(strnlen(c->cert, CFG_PATH_MAX) < CFG_PATH_MAX);
	FUZZ_CHECK(strnlen(c->path, CFG_PATH_MAX) < CFG_PATH_MAX);
	FUZZ_CHECK(strnlen(c->source, CFG_STR_MAX) < CFG_STR_MAX);
	FUZZ_CHECK(strnlen(c->listen, CFG_STR_MAX) < CFG_STR_MAX);
	FUZZ_CHECK(strnlen(c->backend, CFG_STR_MAX) < CFG_STR_MAX);
	FUZZ_CHECK(strnlen(c->server, CFG_STR_MAX) < CFG_STR_MAX);
	FUZZ_CHECK(c->interval <= 86400 * 365);
	FUZZ_CHECK(c->spool_max >= 64 * 1024);
	FUZZ_CHECK(c->tls12 <= 1);
	FUZZ_CHECK(c->max_connections >= 1 && c->max_connections <= 1000000);
	FUZZ_CHECK(c->idle_timeout >= 1 && c->idle_timeout <= 86400 * 7);
	FUZZ_CHECK(c->timeout >= 1 && c->timeout <= 600);
	FUZZ_CHECK(c->warn >= 1 && c->warn <= 100 && c->crit >= 1 && c->crit <= 100);
	FUZZ_CHECK(c->noverrides <= FC_MAX_OVERRIDES);
	for (i = 0; i < c->noverrides; i++) {
		FUZZ_CHECK(limit_name_valid(c->overrides[i].limit));
		FUZZ_CHECK(c->overrides[i].warn <= 100 && c->overrides[i].crit <= 100);
	}
}

static void
fc_check_rc(int rc, const char *err, const char *name)
{
	size_t n = strlen(name);

	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == -1) {
		/* "NAME:LINE: message" or "NAME: message" */
		FUZZ_CHECK(strncmp(err, name, n) == 0 && err[n] == ':');
		FUZZ_CHECK(err[n + 1] != '\0');
	}
}

/* The same bytes as a file: a NUL inside must be refused. */
static void
fc_load_file(const uint8_t *data, size_t size)
{
	struct fc_config c;
	char path[64], err[2048] = "";
	int fd, rc;

	if ((fd = memfd_create("fuzz_config", 0)) == -1)
		FUZZ_FAIL("memfd_create failed");
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		FUZZ_FAIL("cannot write the memfd");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	fc_defaults(&c);
	rc = config_load(path, fc_schema, &c, err, sizeof(err));
	fc_check_rc(rc, err, path);
	if (rc == -1 && strstr(err, "cannot open") != NULL)
		FUZZ_FAIL("%s", err);
	if (size <= CFG_FILE_MAX)
		FUZZ_CHECK(rc == -1); /* only called when there is a NUL */
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char name[] = "fuzz.conf";
	struct fc_config c;
	char err[2048] = "";
	char *text;
	int rc;

	text = fuzz_strndup(data, size);
	fc_defaults(&c);
	rc = config_load_string(name, text, fc_schema, &c, err, sizeof(err));
	fc_check_rc(rc, err, name);
	if (rc == -1)
		fuzz_note("config_load_string", err);
	if (rc == 0)
		fc_check(&c);
	free(text);
	if (size > 0 && memchr(data, '\0', size) != NULL)
		fc_load_file(data, size);
	return 0;
}
