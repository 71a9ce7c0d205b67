/*
 * cmd_common.c: what every querying command needs (cli.h): the
 * configuration, one query, writing the result.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "text.h"
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

int
cli_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("ipcfleet: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

/* Finds the configuration file: returns the path, or NULL when none exists. */
static const char *
cli_find_config(const char *flag, char *buf, size_t len)
{
	const char *env = getenv("IPCFLEET_CONFIG");
	struct stat st;

	if (flag != NULL)
		return flag;
	if (env != NULL && *env != '\0')
		return env;
	if (expand_tilde("~/.config/ipcfleet/cli.conf", buf, len) == 0 && stat(buf, &st) == 0)
		return buf;
	if (stat(SYSTEM_CONFIG, &st) == 0)
		return SYSTEM_CONFIG;
	return NULL;
}

static int
cli_set_path(char *dst, size_t len, const char *src, const char *what, char *err, size_t errlen)
{
	if (expand_tilde(src, dst, len) == -1) {
		snprintf(err, errlen, "--%s: path too long", what);
		return -1;
	}
	return 0;
}

int
cli_setup(const struct cli_run *r, struct cli_config *c, char *err, size_t errlen)
{
	char pathbuf[CFG_PATH_MAX];
	const char *path, *why;

	memset(c, 0, sizeof(*c));
	c->timeout = 10;
	c->json = r->json;
	path = cli_find_config(r->fconfig, pathbuf, sizeof(pathbuf));
	if (path != NULL && config_load(path, cli_schema, c, err, errlen) == -1)
		return CLI_FAIL;
	if (r->fserver != NULL &&
	    ifl_strlcpy(c->server, r->fserver, sizeof(c->server)) >= sizeof(c->server)) {
		snprintf(err, errlen, "--server: too long");
		return CLI_USAGE;
	}
	if ((r->fcert != NULL &&
	     cli_set_path(c->cert, sizeof(c->cert), r->fcert, "cert", err, errlen) == -1) ||
	    (r->fkey != NULL &&
	     cli_set_path(c->key, sizeof(c->key), r->fkey, "key", err, errlen) == -1) ||
	    (r->fca != NULL && cli_set_path(c->ca, sizeof(c->ca), r->fca, "ca", err, errlen) == -1))
		return CLI_USAGE;
	if (r->ftimeout != NULL && parse_duration(r->ftimeout, &c->timeout, &why) == -1) {
		snprintf(err, errlen, "--timeout: %s", why);
		return CLI_USAGE;
	}
	if (c->timeout == 0 || c->timeout > 600) {
		snprintf(err, errlen, "--timeout: between 1s and 600s");
		return CLI_USAGE;
	}
	if (c->server[0] == '\0') {
		snprintf(err, errlen, "%s",
		         path == NULL ? "no aggregator configured: give --server or write "
		                        "~/.config/ipcfleet/cli.conf"
		                      : "no aggregator configured: [cli] server is empty");
		return CLI_FAIL;
	}
	if (c->cert[0] == '\0' || c->key[0] == '\0' || c->ca[0] == '\0') {
		snprintf(err, errlen,
		         "an admin certificate is needed: set cert, key and ca in "
		         "[cli] or give --cert, --key and --ca");
		return CLI_FAIL;
	}
	return CLI_OK;
}

/* Fills q with cmd and nargs (name, value) pairs from kv.  CLI_OK or CLI_USAGE with err. */
static int
cli_make_query(struct msg_query *q, uint64_t id, const char *cmd, const char *const *kv,
               size_t nargs, char *err, size_t errlen)
{
	size_t i;

	memset(q, 0, sizeof(*q));
	q->id = id;
	ifl_strlcpy(q->cmd, cmd, sizeof(q->cmd));
	if (nargs > QUERY_MAX_ARGS) {
		snprintf(err, errlen, "too many query arguments");
		return CLI_USAGE;
	}
	for (i = 0; i < nargs; i++) {
		if (strlen(kv[2 * i]) >= sizeof(q->args[i].name) ||
		    strlen(kv[2 * i + 1]) >= sizeof(q->args[i].value)) {
			snprintf(err, errlen, "argument too long: %.64s", kv[2 * i + 1]);
			return CLI_USAGE;
		}
		ifl_strlcpy(q->args[i].name, kv[2 * i], sizeof(q->args[i].name));
		ifl_strlcpy(q->args[i].value, kv[2 * i + 1], sizeof(q->args[i].value));
	}
	q->nargs = nargs;
	return CLI_OK;
}

int
cli_fetch(const struct cli_run *r, const char *cmd, const char *const *kv, size_t nargs,
          struct proto_doc *doc, const msgpack_object **body, char *err, size_t errlen)
{
	struct cli_config c;
	struct msg_query q;
	int rc;

	memset(doc, 0, sizeof(*doc));
	if ((rc = cli_setup(r, &c, err, errlen)) != CLI_OK ||
	    (rc = cli_make_query(&q, 1, cmd, kv, nargs, err, errlen)) != CLI_OK)
		return rc;
	if (cli_query(&c, &q, doc, body, err, errlen) == -1)
		return CLI_FAIL;
	return CLI_OK;
}

void
cli_pages_free(struct cli_pages *p)
{
	size_t i;

	for (i = 0; i < p->ndocs; i++)
		proto_doc_free(&p->docs[i]);
	free(p->docs);
	free(p->all.via.array.ptr);
	memset(p, 0, sizeof(*p));
}

/* Appends rows (an array) to p->all: the objects are copied, what they point to stays in its doc.
 */
static int
pages_add_rows(struct cli_pages *p, const msgpack_object *rows, char *err, size_t errlen)
{
	msgpack_object *v;
	size_t have = p->all.via.array.size, n = rows->via.array.size;

	if (n > CLI_HOSTS_MAX - have) {
		snprintf(err, errlen, "more than %u hosts listed: stopped", CLI_HOSTS_MAX);
		return CLI_FAIL;
	}
	if (n == 0)
		return CLI_OK;
	if ((v = reallocarray(p->all.via.array.ptr, have + n, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory after %zu hosts", have);
		return CLI_FAIL;
	}
	memcpy(v + have, rows->via.array.ptr, n * sizeof(*v));
	p->all.via.array.ptr = v;
	p->all.via.array.size = (uint32_t)(have + n);
	return CLI_OK;
}

/* A string object of a constant. */
static msgpack_object
str_obj(const char *s)
{
	msgpack_object o;

	memset(&o, 0, sizeof(o));
	o.type = MSGPACK_OBJECT_STR;
	o.via.str.ptr = s;
	o.via.str.size = (uint32_t)strlen(s);
	return o;
}

int
cli_fetch_pages(const struct cli_run *r, const char *cmd, uint32_t page, struct cli_pages *p,
                const msgpack_object **body, char *err, size_t errlen)
{
	char limit[16], after[MODEL_NAME_MAX] = "";
	const char *kv[4] = {"limit", limit, "after", after};
	const msgpack_object *b, *list, *next, *gen = NULL;
	struct cli_config c;
	struct cli_conn cc;
	struct msg_query q;
	int rc;

	memset(p, 0, sizeof(*p));
	p->all.type = MSGPACK_OBJECT_ARRAY;
	snprintf(limit, sizeof(limit), "%u", page);
	/* one configuration, one connection, one handshake for all the pages */
	if ((rc = cli_setup(r, &c, err, errlen)) != CLI_OK)
		return rc;
	if (cli_open(&c, &cc, err, errlen) == -1)
		return CLI_FAIL;
	for (;;) {
		if (p->ndocs == p->cap && grow_array(&p->docs, &p->cap, p->ndocs + 1, 8,
		                                     SIZE_MAX / 2, sizeof(*p->docs)) == -1) {
			snprintf(err, errlen, "%s: out of memory", cmd);
			rc = CLI_FAIL;
			break;
		}
		if ((rc = cli_make_query(&q, p->ndocs + 1, cmd, kv, after[0] != '\0' ? 2 : 1, err,
		                         errlen)) != CLI_OK)
			break;
		if (cli_ask(&cc, &q, &p->docs[p->ndocs], &b, err, errlen) == -1) {
			rc = CLI_FAIL;
			break;
		}
		p->ndocs++;
		/* hosts all at once: an aggregator from before pages */
		if (b->type == MSGPACK_OBJECT_ARRAY && p->ndocs == 1) {
			rc = pages_add_rows(p, b, err, errlen);
			break;
		}
		list = mpr_get(b, "hosts");
		next = mpr_get(b, "next");
		if (p->ndocs == 1)
			gen = mpr_get(b, "generated");
		if (list == NULL || list->type != MSGPACK_OBJECT_ARRAY ||
		    (next != NULL && next->type != MSGPACK_OBJECT_NIL &&
		     next->type != MSGPACK_OBJECT_STR)) {
			snprintf(err, errlen, "%s: the aggregator's reply has an unexpected shape",
			         cmd);
			rc = CLI_FAIL;
			break;
		}
		if ((rc = pages_add_rows(p, list, err, errlen)) != CLI_OK)
			break;
		if (next == NULL || next->type == MSGPACK_OBJECT_NIL)
			break;
		/* a next page must start past this one: the same name again would never end */
		if (next->via.str.size == 0 || next->via.str.size >= sizeof(after) ||
		    memchr(next->via.str.ptr, '\0', next->via.str.size) != NULL ||
		    (strlen(after) == next->via.str.size &&
		     memcmp(after, next->via.str.ptr, next->via.str.size) == 0)) {
			snprintf(err, errlen, "%s: the aggregator's next page is not a host name",
			         cmd);
			rc = CLI_FAIL;
			break;
		}
		memcpy(after, next->via.str.ptr, next->via.str.size);
		after[next->via.str.size] = '\0';
	}
	cli_close(&cc);
	if (rc != CLI_OK) {
		cli_pages_free(p);
		return rc;
	}
	*body = &p->all;
	if (gen != NULL) {
		p->kv[0].key = str_obj("generated");
		p->kv[0].val = *gen;
		p->kv[1].key = str_obj("hosts");
		p->kv[1].val = p->all;
		p->map.type = MSGPACK_OBJECT_MAP;
		p->map.via.map.size = 2;
		p->map.via.map.ptr = p->kv;
		*body = &p->map;
	}
	return CLI_OK;
}

int
cli_json_body(const msgpack_object *body, struct buf *out)
{
	if (mp_to_json(body, out, 1) == -1 || buf_puts(out, "\n") == -1)
		return -1;
	return 0;
}

static int
cli_write_all(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
cli_output(const struct buf *out, const char *path)
{
	char tmp[CFG_PATH_MAX + 16], dir[CFG_PATH_MAX];
	mode_t um;
	int fd, saved;

	if (path == NULL || strcmp(path, "-") == 0) {
		if ((out->len > 0 && fwrite(out->data, 1, out->len, stdout) != out->len) ||
		    fflush(stdout) != 0)
			return cli_fail(CLI_FAIL, "cannot write to standard output: %s",
			                strerror(errno));
		return CLI_OK;
	}
	if (strlen(path) >= CFG_PATH_MAX)
		return cli_fail(CLI_USAGE, "-o: path too long");
	/* the temporary file lives beside the target so that rename() is atomic */
	ifl_strlcpy(dir, path, sizeof(dir));
	snprintf(tmp, sizeof(tmp), "%s/.ipcfleet.XXXXXX", dirname(dir));
	if ((fd = mkstemp(tmp)) == -1)
		return cli_fail(CLI_FAIL, "%s: cannot create a temporary file: %s", path,
		                strerror(errno));
	/* mkstemp makes 0600; a report is for sharing: 0666 less the umask */
	um = umask(0);
	umask(um);
	if (fchmod(fd, 0666 & ~um) == -1 || cli_write_all(fd, out->data, out->len) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		return cli_fail(CLI_FAIL, "%s: %s", path, strerror(saved));
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		return cli_fail(CLI_FAIL, "%s: %s", path, strerror(saved));
	}
	return CLI_OK;
}

const char *
cli_opt_val(const struct cli_args *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->cmd->nopts && i < CLI_MAX_OPTS; i++)
		if (strcmp(a->cmd->opts[i].name, name) == 0)
			return a->val[i];
	return NULL;
}

int
cli_host_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < MODEL_NAME_MAX && text_valid(name, n);
}
