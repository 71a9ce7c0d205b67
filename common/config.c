/*
 * config.c: INI configuration files checked against a schema (config.h),
 * and the command-line options that name and check them in both daemons.
 *
 * inih does the INI syntax; this file adds what inih cannot: exact line
 * numbers, a bounded line length, and a schema.  The text is handed to inih
 * one line at a time by cfg_reader(), which also mirrors inih's view of each
 * line (section header, key line or continuation) so that the handler knows
 * the line it is called for and whether the value continues a previous key.
 *
 * Why not ini_parse_string(): its reader splits a line of exactly
 * INI_MAX_LINE - 1 characters from its newline, so every later line number is
 * off by one, and its handler gets no line numbers (Debian builds inih with
 * INI_HANDLER_LINENO 0).
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "config.h"
#include "util.h"

#define CFG_MSG_MAX   1024 /* one error message, without "FILE:LINE: " */
#define CFG_QUOTE_MAX 64   /* characters of a value shown in a message */

struct cfg_ctx {
	const char *name; /* file name, for messages */
	const char *text; /* whole file, len bytes (no NUL inside: pre-scanned) */
	size_t len;
	size_t pos; /* next unread byte of text */
	int lineno; /* line last handed to inih (1-based) */

	/* inih's view of the current line, mirrored by cfg_classify() */
	int have_prev; /* a key line was seen since the last section header */
	int cont;      /* the current line continues the previous key's value */

	const struct cfg_key *schema;
	size_t nschema;
	unsigned char *seen; /* nschema flags: the key already appeared */
	void *out;

	int err_line; /* line of the first error; 0 when none */
	char err_msg[CFG_MSG_MAX];
};

/*
 * Copies s into dst for a message: at most CFG_QUOTE_MAX characters, control
 * and non-ASCII bytes and backslashes escaped, "..." when cut.  dst must hold
 * CFG_QUOTE_MAX * 4 + 4 bytes.
 */
static void
cfg_quote(char *dst, size_t dstlen, const char *s)
{
	size_t i, o = 0;

	for (i = 0; s[i] != '\0' && i < CFG_QUOTE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (o + 5 >= dstlen)
			break;
		if (ch == '\\') {
			dst[o++] = '\\';
			dst[o++] = '\\';
		} else if (ch < 0x20 || ch >= 0x7f) {
			o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", ch);
		} else {
			dst[o++] = (char)ch;
		}
	}
	if (s[i] != '\0' && o + 4 <= dstlen) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

/* Records the first error only: inih keeps calling us after a failure. */
static void __attribute__((format(printf, 3, 4)))
cfg_error(struct cfg_ctx *c, int line, const char *fmt, ...)
{
	va_list ap;

	if (c->err_line != 0)
		return;
	c->err_line = line;
	va_start(ap, fmt);
	vsnprintf(c->err_msg, sizeof(c->err_msg), fmt, ap);
	va_end(ap);
}

/*
 * The next line of text from *pos: *line and *n (without "\n", a "\r" before
 * it, or a UTF-8 byte order mark on line 1).  Returns 0 at the end of text.
 */
static int
cfg_next_line(const char *text, size_t len, size_t *pos, int lineno, const char **line, size_t *n)
{
	const char *p, *nl;
	size_t rest, l;

	if (*pos >= len)
		return 0;
	p = text + *pos;
	rest = len - *pos;
	if ((nl = memchr(p, '\n', rest)) != NULL) {
		l = (size_t)(nl - p);
		*pos += l + 1;
	} else {
		l = rest;
		*pos += l;
	}
	if (l > 0 && p[l - 1] == '\r')
		l--;
	if (lineno == 1 && l >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
		p += 3;
		l -= 3;
	}
	*line = p;
	*n = l;
	return 1;
}

/* What inih sees in a line: NUL bytes end its strings, long lines are split. */
static int
cfg_prescan(struct cfg_ctx *c)
{
	const char *line;
	size_t pos = 0, n;
	int lineno = 0;

	while (cfg_next_line(c->text, c->len, &pos, lineno + 1, &line, &n)) {
		lineno++;
		if (memchr(line, '\0', n) != NULL) {
			cfg_error(c, lineno, "NUL byte");
			return -1;
		}
		if (n > CFG_LINE_MAX) {
			cfg_error(c, lineno,
			          "line too long (at most %d characters; continue a list on an "
			          "indented next line)",
			          CFG_LINE_MAX);
			return -1;
		}
	}
	return 0;
}

static size_t
cfg_count(const struct cfg_key *schema)
{
	size_t n = 0;

	while (schema[n].key != NULL)
		n++;
	return n;
}

static int
cfg_section_known(const struct cfg_ctx *c, const char *section, size_t len)
{
	size_t i;

	for (i = 0; i < c->nschema; i++)
		if (strlen(c->schema[i].section) == len &&
		    memcmp(c->schema[i].section, section, len) == 0)
			return 1;
	return 0;
}

/*
 * inih's find_chars_or_comment() with inline comments on: the first of chars,
 * or a ';' that follows whitespace, or the end of s.
 */
static const char *
cfg_find(const char *s, const char *chars)
{
	int was_space = 0;

	while (*s != '\0' && strchr(chars, *s) == NULL && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/*
 * Mirrors inih's ini_parse_stream() decisions for one line: comment, blank,
 * continuation (indented, after a key line), section header, key line.  A
 * section header naming no schema section is an error here, on its own line,
 * even when no key follows it.  inih reports the syntax errors itself.
 */
static void
cfg_classify(struct cfg_ctx *c, const char *line)
{
	const char *s = line, *e;

	c->cont = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return; /* blank or comment: inih keeps its previous key */
	if (c->have_prev && s > line) {
		c->cont = 1;
		return;
	}
	if (*s == '[') {
		e = cfg_find(s + 1, "]");
		if (*e == ']') {
			c->have_prev = 0;
			if (!cfg_section_known(c, s + 1, (size_t)(e - (s + 1)))) {
				char name[CFG_LINE_MAX + 1], q[CFG_QUOTE_MAX * 4 + 4];
				size_t n = (size_t)(e - (s + 1));

				/* n < the line's length, at most CFG_LINE_MAX */
				memcpy(name, s + 1, n);
				name[n] = '\0';
				cfg_quote(q, sizeof(q), name);
				cfg_error(c, c->lineno, "unknown section [%s]", q);
			}
		}
		return;
	}
	e = cfg_find(s, "=:");
	if (*e == '=' || *e == ':') {
		/* inih remembers the name with trailing blanks removed */
		while (e > s && isspace((unsigned char)e[-1]))
			e--;
		c->have_prev = e > s;
	}
}

/* inih's reader: one line per call, without its newline. */
static char *
cfg_reader(char *str, int num, void *stream)
{
	struct cfg_ctx *c = stream;
	const char *line;
	size_t n;

	if (num < 2 || !cfg_next_line(c->text, c->len, &c->pos, c->lineno + 1, &line, &n))
		return NULL;
	c->lineno++;
	if (n >= (size_t)num) {
		/* only if this inih was built with a smaller INI_MAX_LINE */
		cfg_error(c, c->lineno, "line too long (at most %d characters)", num - 1);
		return NULL;
	}
	memcpy(str, line, n);
	str[n] = '\0';
	cfg_classify(c, str);
	return str;
}

/* "1d", "2h", "90s": the largest unit that divides exactly. */
static void
cfg_fmt_duration(char *buf, size_t len, uint64_t v)
{
	static const struct {
		uint64_t mult;
		char unit;
	} u[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}};
	size_t i;

	for (i = 0; i < NELEM(u); i++)
		if (v != 0 && v % u[i].mult == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", v / u[i].mult, u[i].unit);
			return;
		}
	snprintf(buf, len, "%" PRIu64 "s", v);
}

static void
cfg_fmt_size(char *buf, size_t len, uint64_t v)
{
	static const struct {
		uint64_t mult;
		char unit;
	} u[] = {{1024 * 1024 * 1024, 'G'}, {1024 * 1024, 'M'}, {1024, 'K'}};
	size_t i;

	for (i = 0; i < NELEM(u); i++)
		if (v != 0 && v % u[i].mult == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", v / u[i].mult, u[i].unit);
			return;
		}
	snprintf(buf, len, "%" PRIu64, v);
}

static void
cfg_fmt_number(char *buf, size_t len, enum cfg_type type, uint64_t v)
{
	if (type == CFG_DURATION)
		cfg_fmt_duration(buf, len, v);
	else if (type == CFG_SIZE)
		cfg_fmt_size(buf, len, v);
	else
		snprintf(buf, len, "%" PRIu64, v);
}

/*
 * Numbers: parsed, then bounded by the schema (max 0: no maximum).  A number
 * too large even for uint64_t is reported against the schema's maximum.
 */
static int
cfg_set_number(const struct cfg_key *k, const char *value, void *dst, char *why, size_t whylen)
{
	uint64_t v, max = k->max == 0 ? UINT64_MAX : k->max;
	const char *errstr = NULL;
	char b[32];
	int rc;

	if (k->type == CFG_DURATION)
		rc = parse_duration(value, &v, &errstr);
	else if (k->type == CFG_SIZE)
		rc = parse_size(value, &v, &errstr);
	else
		rc = parse_u64(value, 0, UINT64_MAX, &v, &errstr);
	if (rc == -1 && !(strcmp(errstr, "too large") == 0 && k->max != 0)) {
		snprintf(why, whylen, "%s", errstr);
		return -1;
	}
	if (rc == -1 || v > max) {
		cfg_fmt_number(b, sizeof(b), k->type, max);
		snprintf(why, whylen, "too large (at most %s)", b);
		return -1;
	}
	if (v < k->min) {
		cfg_fmt_number(b, sizeof(b), k->type, k->min);
		snprintf(why, whylen, "too small (at least %s)", b);
		return -1;
	}
	memcpy(dst, &v, sizeof(v));
	return 0;
}

/*
 * Appends the comma separated items of value to l.  On error l->n is left as
 * it was (items past it may have been overwritten).
 */
static int
cfg_set_list(const struct cfg_key *k, const char *value, struct cfg_list *l, char *why,
             size_t whylen)
{
	const char *p = value, *e, *b;
	size_t n0 = l->n, n;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 0; /* "key =": no items */
	for (;;) {
		char q[CFG_QUOTE_MAX * 4 + 4];

		e = strchr(p, ',');
		if (e == NULL)
			e = p + strlen(p);
		b = p;
		while (b < e && isspace((unsigned char)*b))
			b++;
		n = (size_t)(e - b);
		while (n > 0 && isspace((unsigned char)b[n - 1]))
			n--;
		if (n == 0) {
			snprintf(why, whylen, "empty item (remove the extra comma)");
			goto fail;
		}
		if (n >= CFG_STR_MAX) {
			snprintf(why, whylen, "an item is too long (at most %d characters)",
			         CFG_STR_MAX - 1);
			goto fail;
		}
		if (l->n >= CFG_LIST_MAX) {
			snprintf(why, whylen, "too many items (at most %d)", CFG_LIST_MAX);
			goto fail;
		}
		memcpy(l->v[l->n], b, n);
		l->v[l->n][n] = '\0';
		cfg_quote(q, sizeof(q), l->v[l->n]);
		if (strcspn(l->v[l->n], " \t\r\f\v") != n) {
			snprintf(why, whylen,
			         "item '%s' contains blanks (separate items by commas)", q);
			goto fail;
		}
		if (k->type == CFG_HOSTPORT_LIST) {
			char host[CFG_STR_MAX], port[8];
			const char *errstr;

			if (parse_hostport(l->v[l->n], host, sizeof(host), port, sizeof(port),
			                   &errstr) == -1) {
				snprintf(why, whylen, "'%s': %s", q, errstr);
				goto fail;
			}
		}
		l->n++;
		if (*e == '\0')
			break;
		p = e + 1;
	}
	return 0;
fail:
	l->n = n0;
	return -1;
}

/* Finds the schema entry for section/key: exact names first, then "*.suffix", then "*". */
static const struct cfg_key *
cfg_lookup(const struct cfg_ctx *c, const char *section, const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < c->nschema; i++)
		if (strcmp(c->schema[i].section, section) == 0 &&
		    strcmp(c->schema[i].key, key) == 0)
			return &c->schema[i];
	for (i = 0; i < c->nschema; i++) {
		const struct cfg_key *k = &c->schema[i];
		size_t sl;

		if (k->type != CFG_CUSTOM || k->key[0] != '*' || strcmp(k->section, section) != 0)
			continue;
		if (k->key[1] == '\0')
			return k; /* "*": any key of the section */
		if (k->key[1] != '.')
			continue;
		sl = strlen(k->key + 1); /* ".suffix" */
		if (kl > sl && strcmp(key + kl - sl, k->key + 1) == 0)
			return k;
	}
	return NULL;
}

/* Stores one value; fills why (the reason only) on error. */
static int
cfg_apply(struct cfg_ctx *c, const struct cfg_key *k, const char *key, const char *value, char *why,
          size_t whylen)
{
	char *dst = (char *)c->out + k->offset;
	size_t idx = (size_t)(k - c->schema);
	int first = !c->seen[idx];

	c->seen[idx] = 1;
	if (c->cont && k->type != CFG_LIST && k->type != CFG_HOSTPORT_LIST) {
		snprintf(why, whylen,
		         "an indented line continues the value of '%s', which is not a list", key);
		return -1;
	}
	switch (k->type) {
	case CFG_STRING:
		if (*value == '\0') {
			snprintf(why, whylen, "empty");
			return -1;
		}
		if (strlen(value) >= CFG_STR_MAX) {
			snprintf(why, whylen, "too long (at most %d characters)", CFG_STR_MAX - 1);
			return -1;
		}
		ifl_strlcpy(dst, value, CFG_STR_MAX);
		return 0;
	case CFG_PATH: {
		char path[CFG_PATH_MAX];

		if (*value == '\0') {
			snprintf(why, whylen, "empty");
			return -1;
		}
		if (expand_tilde(value, path, sizeof(path)) == -1) {
			snprintf(why, whylen, "too long (at most %d characters)", CFG_PATH_MAX - 1);
			return -1;
		}
		memcpy(dst, path, strlen(path) + 1);
		return 0;
	}
	case CFG_U64:
	case CFG_DURATION:
	case CFG_SIZE:
		return cfg_set_number(k, value, dst, why, whylen);
	case CFG_LIST:
	case CFG_HOSTPORT_LIST: {
		struct cfg_list *l = (struct cfg_list *)(void *)dst;

		/* the file's first mention replaces the caller's default */
		if (first)
			l->n = 0;
		return cfg_set_list(k, value, l, why, whylen);
	}
	case CFG_CUSTOM:
		if (k->fn == NULL) {
			snprintf(why, whylen, "no handler for this key (a bug)");
			return -1;
		}
		why[0] = '\0';
		if (k->fn(dst, key, value, why, whylen) == -1) {
			if (why[0] == '\0')
				snprintf(why, whylen, "refused");
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen, "unknown type in the schema (a bug)");
	return -1;
}

/* inih's handler: nonzero to go on; 0 marks an error on this line. */
static int
cfg_handler(void *user, const char *section, const char *key, const char *value)
{
	struct cfg_ctx *c = user;
	const struct cfg_key *k;
	char qk[CFG_QUOTE_MAX * 4 + 4], qs[CFG_QUOTE_MAX * 4 + 4], qv[CFG_QUOTE_MAX * 4 + 4];
	char why[512], cut[CFG_LINE_MAX + 1];

	if (c->err_line != 0)
		return 0; /* only the first error is reported */
	if (c->cont) {
		/*
		 * Some inih versions (Debian's r55) leave an inline comment in a
		 * continuation line's value: cut it as on a key line.  The value
		 * is shorter than the line, at most CFG_LINE_MAX characters.
		 */
		size_t n = (size_t)(cfg_find(value, "") - value);

		while (n > 0 && isspace((unsigned char)value[n - 1]))
			n--;
		if (n >= sizeof(cut))
			n = sizeof(cut) - 1;
		memcpy(cut, value, n);
		cut[n] = '\0';
		value = cut;
	}
	cfg_quote(qk, sizeof(qk), key);
	cfg_quote(qs, sizeof(qs), section);
	if (*section == '\0') {
		cfg_error(c, c->lineno, "key '%s' outside a section", qk);
		return 0;
	}
	if (!cfg_section_known(c, section, strlen(section))) {
		cfg_error(c, c->lineno, "unknown section [%s]", qs);
		return 0;
	}
	if ((k = cfg_lookup(c, section, key)) == NULL) {
		cfg_error(c, c->lineno, "unknown key '%s' in [%s]", qk, qs);
		return 0;
	}
	if (cfg_apply(c, k, key, value, why, sizeof(why)) == -1) {
		cfg_quote(qv, sizeof(qv), value);
		cfg_error(c, c->lineno, "%s: bad value '%s': %s", qk, qv, why);
		return 0;
	}
	return 1;
}

/* Loads len bytes of text (NUL bytes inside are reported, not parsed). */
static int
config_load_buf(const char *name, const char *text, size_t len, const struct cfg_key *schema,
                void *out, char *err, size_t errlen)
{
	struct cfg_ctx c;
	int rc;

	if (len > CFG_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than 1 MiB", name);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.name = name;
	c.text = text;
	c.len = len;
	c.schema = schema;
	c.nschema = cfg_count(schema);
	c.out = out;
	if (cfg_prescan(&c) == -1) {
		snprintf(err, errlen, "%s:%d: %s", name, c.err_line, c.err_msg);
		return -1;
	}
	if ((c.seen = calloc(c.nschema + 1, 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	rc = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
	free(c.seen);
	/*
	 * rc is the first line where inih saw a syntax error or our handler
	 * failed; c.err_line the first line where we found an error (which
	 * includes every handler failure).  The earlier one wins.
	 */
	if (c.err_line != 0 && (rc <= 0 || c.err_line <= rc)) {
		snprintf(err, errlen, "%s:%d: %s", name, c.err_line, c.err_msg);
		return -1;
	}
	if (rc > 0) {
		snprintf(err, errlen, "%s:%d: syntax error (expected key = value or [section])",
		         name, rc);
		return -1;
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot parse (inih error %d)", name, rc);
		return -1;
	}
	return 0;
}

int
config_load(const char *path, const struct cfg_key *schema, void *out, char *err, size_t errlen)
{
	char *buf;
	size_t len;
	int rc;

	if (read_file_bounded(path, CFG_FILE_MAX, &buf, &len) == -1) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than 1 MiB", path);
		else
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	rc = config_load_buf(path, buf, len, schema, out, err, errlen);
	free(buf);
	return rc;
}

int
config_load_string(const char *name, const char *text, const struct cfg_key *schema, void *out,
                   char *err, size_t errlen)
{
	return config_load_buf(name, text, strlen(text), schema, out, err, errlen);
}

int
config_require(const char *path, const struct cfg_key *schema, const void *cfg,
               const char *const *required, char *err, size_t errlen)
{
	size_t i, j, n = cfg_count(schema);

	for (i = 0; required[i] != NULL; i++) {
		const char *r = required[i], *dot = strchr(r, '.');
		const struct cfg_key *k = NULL;

		for (j = 0; dot != NULL && j < n; j++)
			if (strlen(schema[j].section) == (size_t)(dot - r) &&
			    strncmp(schema[j].section, r, (size_t)(dot - r)) == 0 &&
			    strcmp(schema[j].key, dot + 1) == 0)
				k = &schema[j];
		if (k == NULL) {
			snprintf(err, errlen, "%s: required key '%s' is not in the schema (a bug)",
			         path, r);
			return -1;
		}
		switch (k->type) {
		case CFG_STRING:
		case CFG_PATH:
			if (*((const char *)cfg + k->offset) != '\0')
				continue;
			break;
		case CFG_LIST:
		case CFG_HOSTPORT_LIST: {
			const struct cfg_list *l =
			    (const struct cfg_list *)(const void *)((const char *)cfg + k->offset);

			if (l->n > 0)
				continue;
			break;
		}
		default:
			continue; /* numbers always have a value */
		}
		snprintf(err, errlen, "%s: [%s] %s is required", path, k->section, k->key);
		return -1;
	}
	return 0;
}

int
config_getopt(struct config_opts *o, int argc, char *const *argv, const struct option *longopts)
{
	int ch;

	for (;;) {
		switch ((ch = getopt_long(argc, argv, CONFIG_SHORTOPTS, longopts, NULL))) {
		case -1:
			if (optind == argc)
				return -1;
			fprintf(stderr, "%s: unexpected argument '%s'\n", o->prog, argv[optind]);
			o->exit = 2;
			return CONFIG_OPT_EXIT;
		case 'c':
			o->config = optarg;
			break;
		case 't':
			o->test = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			o->usage(stdout);
			o->exit = 0;
			return CONFIG_OPT_EXIT;
		case 'V':
			printf("%s %s\n", o->prog, IPCFLEET_VERSION);
			o->exit = 0;
			return CONFIG_OPT_EXIT;
		case '?':
		case ':':
			fprintf(stderr, "%s: see --help for usage\n", o->prog);
			o->exit = 2;
			return CONFIG_OPT_EXIT;
		default:
			return ch;
		}
	}
}
