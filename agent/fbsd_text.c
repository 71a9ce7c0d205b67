/*
 * fbsd_text.c: the lines and fields of FreeBSD tools' output, and the user
 * and group names they print (fbsd_local.h, collect_freebsd.h).
 *
 * Every parser takes (text, len): the text may contain NUL bytes and need
 * not be NUL-terminated.  Lines are bounded before they are copied, and a
 * line holding binary data is reported and skipped.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbsd_local.h"
#include "text.h"
#include "util.h"

void
fbsd_lines_init(struct fbsd_lines *it, const char *text, size_t len)
{
	it->p = text;
	it->end = text + len;
	it->no = 0;
}

/* The next line (without its newline) of at most any length.  0 at the end. */
int
fbsd_lines_next(struct fbsd_lines *it, const char **line, size_t *n)
{
	const char *nl;

	if (it->p >= it->end)
		return 0;
	nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	*line = it->p;
	if (nl == NULL) {
		*n = (size_t)(it->end - it->p);
		it->p = it->end;
	} else {
		*n = (size_t)(nl - it->p);
		it->p = nl + 1;
	}
	it->no++;
	return 1;
}

/* A short printable copy of untrusted text for a warning (text_quote()). */
void
fbsd_quote(const char *in, char *out, size_t outlen)
{
	text_quote(in, out, outlen, FBSD_QUOTE_MAX);
}

/* Position of the first control character (other than tab) in p[0..n), or n. */
size_t
fbsd_ctrl_at(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return i;
	}
	return n;
}

/*
 * Copies one line into buf (bufsize bytes) without trailing white space
 * (CR included).  A line that does not fit or holds a control character
 * other than tab (binary data) is reported and -1 returned.
 */
int
fbsd_line_take(const char *line, size_t n, char *buf, size_t bufsize, const char *name, size_t no,
               struct collect_warnings *w)
{
	size_t at;

	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
		n--;
	if (n >= bufsize) {
		collect_warn(w, "%s line %zu: longer than %zu bytes, skipped", name, no,
		             bufsize - 1);
		return -1;
	}
	if ((at = fbsd_ctrl_at(line, n)) < n) {
		collect_warn(w,
		             "%s line %zu: control character 0x%02x at byte %zu (binary data?), "
		             "skipped",
		             name, no, (unsigned char)line[at], at + 1);
		return -1;
	}
	memcpy(buf, line, n);
	buf[n] = '\0';
	return 0;
}

int
fbsd_lines_take(struct fbsd_lines *it, char *buf, size_t bufsize, const char *name,
                struct collect_warnings *w)
{
	const char *line;
	size_t n;

	while (fbsd_lines_next(it, &line, &n))
		if (fbsd_line_take(line, n, buf, bufsize, name, it->no, w) == 0 && buf[0] != '\0')
			return 1;
	return 0;
}

int
fbsd_all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/*
 * A one-value input (pagesize, date, uname): at most outlen - 1 bytes once
 * leading and trailing white space is removed, no control characters, one
 * line.  0 or -1.
 */
int
fbsd_small(const char *text, size_t len, char *out, size_t outlen)
{
	while (len > 0 && (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')) {
		text++;
		len--;
	}
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
	                   text[len - 1] == '\r'))
		len--;
	if (len == 0 || len >= outlen || fbsd_ctrl_at(text, len) < len)
		return -1;
	memcpy(out, text, len);
	out[len] = '\0';
	return 0;
}

void
fbsd_idmap_init(struct fbsd_idmap *m, int is_group, int use_system)
{
	memset(m, 0, sizeof(*m));
	m->is_group = is_group;
	m->use_system = use_system;
}

void
fbsd_idmap_free(struct fbsd_idmap *m)
{
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

static int
ident_cmp(const void *a, const void *b)
{
	const struct fbsd_ident *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
fbsd_parse_idfile(const char *text, size_t len, const char *name, struct fbsd_idmap *m,
                  struct collect_warnings *w)
{
	struct fbsd_lines it;
	char buf[FBSD_LINE_MAX + 1];
	size_t cap = m->n;

	fbsd_lines_init(&it, text, len);
	while (fbsd_lines_take(&it, buf, sizeof(buf), name, w)) {
		char *f[4], *p = buf, q[FBSD_QUOTE_MAX + 4];
		size_t nf = 0;
		uint64_t id;
		const char *errstr;

		/* comments, and NIS compat entries ("+user", "-@group"): no local name */
		if (buf[0] == '#' || buf[0] == '+' || buf[0] == '-')
			continue;
		f[nf++] = p;
		while (nf < NELEM(f) && (p = strchr(p, ':')) != NULL) {
			*p++ = '\0';
			f[nf++] = p;
		}
		if (nf < 3) {
			collect_warn(w, "%s line %zu: not NAME:PASSWORD:ID:..., skipped", name,
			             it.no);
			continue;
		}
		if (f[0][0] == '\0' || strlen(f[0]) >= FBSD_IDNAME_MAX || strpbrk(f[0], " \t")) {
			fbsd_quote(f[0], q, sizeof(q));
			collect_warn(w, "%s line %zu: bad name \"%s\", skipped", name, it.no, q);
			continue;
		}
		/* (uid_t)-1 is not an id anyone can hold */
		if (parse_u64(f[2], 0, UINT32_MAX - 1, &id, &errstr) == -1) {
			fbsd_quote(f[2], q, sizeof(q));
			collect_warn(w, "%s line %zu: id \"%s\" %s, skipped", name, it.no, q,
			             errstr);
			continue;
		}
		if (m->n >= FBSD_IDMAP_MAX) {
			collect_warn(w, "%s line %zu: more than %u entries: the rest are ignored",
			             name, it.no, (unsigned)FBSD_IDMAP_MAX);
			break;
		}
		if (grow_array(&m->v, &cap, m->n + 1, 64, FBSD_IDMAP_MAX, sizeof(*m->v)) == -1)
			return -1;
		ifl_strlcpy(m->v[m->n].name, f[0], sizeof(m->v[m->n].name));
		m->v[m->n].id = (uint32_t)id;
		m->v[m->n].seq = (uint32_t)m->n;
		m->n++;
	}
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), ident_cmp);
	return 0;
}

/* The system's databases (nsswitch: files, LDAP, ...): the live host only. */
static int
fbsd_system_lookup(int is_group, const char *name, uint32_t *id)
{
	char buf[16384];

	if (is_group) {
		struct group gr, *res = NULL;

		if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
			return -1;
		*id = (uint32_t)res->gr_gid;
	} else {
		struct passwd pw, *res = NULL;

		if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
			return -1;
		*id = (uint32_t)res->pw_uid;
	}
	return 0;
}

int
fbsd_idmap_lookup(const struct fbsd_idmap *m, const char *name, uint32_t *id)
{
	size_t lo = 0, hi = m->n;

	/* lower bound: among equal names the first of the file */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(m->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < m->n && strcmp(m->v[lo].name, name) == 0) {
		*id = m->v[lo].id;
		return 0;
	}
	if (m->use_system)
		return fbsd_system_lookup(m->is_group, name, id);
	return -1;
}
