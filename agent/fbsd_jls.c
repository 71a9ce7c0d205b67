/*
 * fbsd_jls.c: the jails (`jls -n -q`: one line of name=value pairs per jail)
 * and the processes (`ps -axo pid,jid,uid,comm`) of a FreeBSD host
 * (collect_freebsd.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbsd_local.h"
#include "text.h"
#include "util.h"

/*
 * The next name[=value] token of a jls line at *pp (the line ends at end).
 * name and value are copied, truncated to their buffers (*toolong is then
 * set).  Returns 1 with a token, 0 at the end of the line, -1 on a bad quote.
 */
static int
jls_token(const char **pp, const char *end, char *nm, size_t nmlen, char *val, size_t vallen,
          int *hasval, int *toolong)
{
	const char *p = *pp;
	size_t k = 0;

	*hasval = *toolong = 0;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end) {
		*pp = p;
		return 0;
	}
	while (p < end && *p != '=' && *p != ' ' && *p != '\t') {
		if (k + 1 < nmlen)
			nm[k++] = *p;
		else
			*toolong = 1;
		p++;
	}
	nm[k] = '\0';
	k = 0;
	if (p < end && *p == '=') {
		*hasval = 1;
		p++;
		if (p < end && (*p == '"' || *p == '\'')) {
			/* jls -q quotes values holding blanks or quotes: "..." or '...';
			 * inside "...", \" and \\ stand for " and \ */
			char qc = *p++;

			for (;;) {
				char c;

				if (p >= end)
					return -1;
				if (*p == qc) {
					p++;
					break;
				}
				c = *p;
				if (qc == '"' && c == '\\' && p + 1 < end &&
				    (p[1] == '"' || p[1] == '\\'))
					c = *++p;
				if (k + 1 < vallen)
					val[k++] = c;
				else
					*toolong = 1;
				p++;
			}
			if (p < end && *p != ' ' && *p != '\t')
				return -1;
		} else {
			while (p < end && *p != ' ' && *p != '\t') {
				if (k + 1 < vallen)
					val[k++] = *p;
				else
					*toolong = 1;
				p++;
			}
		}
	}
	val[k] = '\0';
	*pp = p;
	return 1;
}

void
fbsd_jails_free(struct fbsd_jails *j)
{
	free(j->v);
	j->v = NULL;
	j->n = 0;
}

int
fbsd_parse_jls(const char *text, size_t len, const char *name, struct snapshot *s,
               struct fbsd_jails *j, struct collect_warnings *w)
{
	static const char *const sysv[3] = {"sysvshm", "sysvsem", "sysvmsg"}; /* by ipc_type */
	struct fbsd_lines it;
	const char *line;
	size_t n, cap = j->n;
	int added = 0;

	fbsd_lines_init(&it, text, len);
	while (fbsd_lines_next(&it, &line, &n)) {
		const char *p = line, *end;
		char nm[64], val[COLLECT_PATH_MAX], q[FBSD_QUOTE_MAX + 4], id[MODEL_NAME_MAX];
		char shown[sizeof(((struct fbsd_jail *)0)->name)];
		struct fbsd_jail jl;
		struct ipc_scope *sc;
		enum isolation iso[3] = {ISO_UNKNOWN, ISO_UNKNOWN, ISO_UNKNOWN};
		int64_t jid = -1;
		int allow = 0, bad = 0, r, hasval, toolong, t;
		size_t at, i;

		while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
			n--;
		if (n == 0)
			continue;
		if (n > FBSD_JLS_LINE_MAX) {
			collect_warn(w, "%s line %zu: longer than %u bytes, skipped", name, it.no,
			             (unsigned)FBSD_JLS_LINE_MAX);
			continue;
		}
		if ((at = fbsd_ctrl_at(line, n)) < n) {
			collect_warn(w,
			             "%s line %zu: control character 0x%02x at byte %zu (binary "
			             "data?), skipped",
			             name, it.no, (unsigned char)line[at], at + 1);
			continue;
		}
		memset(&jl, 0, sizeof(jl));
		end = line + n;
		while ((r = jls_token(&p, end, nm, sizeof(nm), val, sizeof(val), &hasval,
		                      &toolong)) == 1) {
			if (strcmp(nm, "jid") == 0) {
				const char *errstr;

				if (parse_i64(val, 1, INT32_MAX, &jid, &errstr) == -1) {
					fbsd_quote(val, q, sizeof(q));
					collect_warn(w, "%s line %zu: jid \"%s\" %s, jail skipped",
					             name, it.no, q, errstr);
					bad = 1;
				}
			} else if (strcmp(nm, "name") == 0) {
				if (toolong || strlen(val) >= sizeof(jl.name)) {
					collect_warn(
					    w,
					    "%s line %zu: jail name longer than %zu bytes, "
					    "jail skipped",
					    name, it.no, sizeof(jl.name) - 1);
					bad = 1;
				} else {
					ifl_strlcpy(jl.name, val, sizeof(jl.name));
				}
			} else if (strcmp(nm, "path") == 0) {
				if (toolong) {
					collect_warn(w,
					             "%s line %zu: path longer than %zu bytes, "
					             "ignored",
					             name, it.no, sizeof(jl.path) - 1);
				} else {
					ifl_strlcpy(jl.path, val, sizeof(jl.path));
				}
			} else if (strcmp(nm, "allow.sysvipc") == 0) {
				/* a bare word in jls -n; "=1"/"=0" in jail.conf style */
				allow =
				    (!hasval || strcmp(val, "1") == 0 || strcmp(val, "true") == 0)
				        ? 1
				        : -1;
			} else if (strcmp(nm, "allow.nosysvipc") == 0) {
				allow = -1;
			} else {
				for (t = 0; t < 3; t++) {
					enum isolation v;

					if (strcmp(nm, sysv[t]) != 0)
						continue;
					if (isolation_parse(val, &v) == -1 || v == ISO_UNKNOWN) {
						fbsd_quote(val, q, sizeof(q));
						collect_warn(w,
						             "%s line %zu: %s=\"%s\" is not new, "
						             "inherit or disable: left unknown",
						             name, it.no, nm, q);
					} else {
						iso[t] = v;
					}
				}
			}
		}
		if (r == -1) {
			collect_warn(w, "%s line %zu: unterminated or misplaced quote, skipped",
			             name, it.no);
			continue;
		}
		if (bad)
			continue;
		if (jid < 0 || jl.name[0] == '\0') {
			collect_warn(w,
			             "%s line %zu: no jid= or name= (not jls -n output?), skipped",
			             name, it.no);
			continue;
		}
		/*
		 * The scope carries the name cleaned by the one text rule
		 * (common/text.h); two names that differ only in refused
		 * characters would make one id, which the aggregator refuses.
		 */
		text_clean(shown, sizeof(shown), jl.name, strlen(jl.name));
		snprintf(id, sizeof(id), "jail:%s", shown);
		for (i = 0; i < j->n; i++) {
			if (j->v[i].jid == jid || strcmp(j->v[i].name, jl.name) == 0)
				break;
		}
		if (i < j->n || snapshot_find_scope(s, id) >= 0) {
			fbsd_quote(jl.name, q, sizeof(q));
			collect_warn(w,
			             "%s line %zu: jail %" PRId64 " \"%s\" listed twice, skipped",
			             name, it.no, jid, q);
			continue;
		}
		/* sysvshm/sysvsem/sysvmsg say it exactly; allow.sysvipc is the old
		 * form, the same as inherit for all three */
		for (t = 0; t < 3; t++)
			if (iso[t] == ISO_UNKNOWN && allow != 0)
				iso[t] = allow > 0 ? ISO_INHERIT : ISO_DISABLE;
		if ((sc = snapshot_add_scope(s, id, shown, SCOPE_JAIL)) == NULL) {
			if (s->nscopes < MODEL_MAX_SCOPES)
				return -1;
			collect_warn(
			    w, "%s line %zu: more than %d scopes: the other jails are ignored",
			    name, it.no, MODEL_MAX_SCOPES);
			break;
		}
		for (t = 0; t < 3; t++)
			sc->iso[t] = iso[t];
		sc->own_limits = 0; /* FreeBSD's limits are global: jails share the host's */
		if (grow_array(&j->v, &cap, j->n + 1, 16, MODEL_MAX_SCOPES, sizeof(*j->v)) == -1) {
			s->nscopes--; /* keep scopes and jails in step */
			return -1;
		}
		jl.jid = (int32_t)jid;
		jl.scope = (uint32_t)(s->nscopes - 1);
		j->v[j->n++] = jl;
		added++;
	}
	return added;
}

static int
proc_cmp(const void *a, const void *b)
{
	const struct fbsd_proc *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void
fbsd_procs_free(struct fbsd_procs *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/* fbsd_parse_ps, telling also whether every line became a process. */
int
fbsd_parse_ps_all(const char *text, size_t len, const char *name, struct fbsd_procs *p,
                  int *complete, struct collect_warnings *w)
{
	struct fbsd_lines it;
	const char *line;
	char buf[FBSD_LINE_MAX + 1];
	size_t n, cap = p->n, start = p->n;
	size_t rows = 0; /* lines after the header that should be processes */
	int header = 0, cut = 0;

	*complete = 0;
	fbsd_lines_init(&it, text, len);
	while (fbsd_lines_next(&it, &line, &n)) {
		char *f[4], q[FBSD_QUOTE_MAX + 4];
		const char *errstr;
		int64_t pid, jid;
		uint64_t uid;
		size_t nf;

		if (fbsd_line_take(line, n, buf, sizeof(buf), name, it.no, w) == -1) {
			rows++;
			continue;
		}
		if (buf[0] == '\0')
			continue;
		nf = split_fields(buf, f, NELEM(f));
		if (!header) {
			if (nf != 4 || strcmp(f[0], "PID") != 0 || strcmp(f[1], "JID") != 0 ||
			    strcmp(f[2], "UID") != 0 || strcmp(f[3], "COMMAND") != 0) {
				collect_warn(w,
				             "%s line %zu: not the header of ps -axo "
				             "pid,jid,uid,comm: processes ignored",
				             name, it.no);
				return 0;
			}
			header = 1;
			continue;
		}
		/* COMMAND may be empty or hold blanks: only the first three count */
		rows++;
		if (nf < 3) {
			collect_warn(w,
			             "%s line %zu: %zu fields, want PID JID UID COMMAND, skipped",
			             name, it.no, nf);
			continue;
		}
		if (parse_i64(f[0], 0, INT32_MAX, &pid, &errstr) == -1) {
			fbsd_quote(f[0], q, sizeof(q));
			collect_warn(w, "%s line %zu: PID \"%s\" %s, skipped", name, it.no, q,
			             errstr);
			continue;
		}
		if (parse_i64(f[1], 0, INT32_MAX, &jid, &errstr) == -1) {
			fbsd_quote(f[1], q, sizeof(q));
			collect_warn(w, "%s line %zu: JID \"%s\" %s, skipped", name, it.no, q,
			             errstr);
			continue;
		}
		if (parse_u64(f[2], 0, UINT32_MAX, &uid, &errstr) == -1) {
			fbsd_quote(f[2], q, sizeof(q));
			collect_warn(w, "%s line %zu: UID \"%s\" %s, skipped", name, it.no, q,
			             errstr);
			continue;
		}
		if (p->n >= FBSD_PROCS_MAX) {
			collect_warn(w, "%s line %zu: more than %u processes: the rest are ignored",
			             name, it.no, (unsigned)FBSD_PROCS_MAX);
			cut = 1;
			break;
		}
		if (grow_array(&p->v, &cap, p->n + 1, 256, FBSD_PROCS_MAX, sizeof(*p->v)) == -1)
			return -1;
		p->v[p->n].pid = (int32_t)pid;
		p->v[p->n].jid = (int32_t)jid;
		p->v[p->n].uid = (uint32_t)uid;
		p->n++;
	}
	if (p->n > 1)
		qsort(p->v, p->n, sizeof(*p->v), proc_cmp);
	/* complete: every line after the header became a process */
	*complete = header && !cut && rows == p->n - start;
	return (int)(p->n - start);
}

int
fbsd_parse_ps(const char *text, size_t len, const char *name, struct fbsd_procs *p,
              struct collect_warnings *w)
{
	int complete;

	return fbsd_parse_ps_all(text, len, name, p, &complete, w);
}

int
fbsd_procs_jid(const struct fbsd_procs *p, int64_t pid, int32_t *jid)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->v[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < p->n && p->v[lo].pid == pid) {
		*jid = p->v[lo].jid;
		return 0;
	}
	return -1;
}
