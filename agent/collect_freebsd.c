/*
 * collect_freebsd.c: the FreeBSD collector (collect_freebsd.h).
 *
 * One pipeline (fbsd_collect) reads every input from either the running
 * system or a capture directory (fbsd_fetch) and hands it to the parsers:
 *
 *   input        live command                 capture file            needed
 *   limits       sysctl kern.ipc              sysctl-kern.ipc.txt     yes
 *   page size    pagesize (else sysconf)      pagesize.txt            yes
 *   release      uname -r                     uname.txt               no
 *   host names   getpwnam(3), getgrnam(3)     passwd, group           no
 *   objects      ipcs -a (else -ma, -as, -aq) ipcs-a.txt (else split) yes
 *   time         the clock after ipcs         date.txt, else mtime    -
 *   jails        jls -n -q                    jls.txt                 no
 *   processes    ps -axo pid,jid,uid,comm     ps.txt                  no
 *   jail view    jexec JID ipcs -a            jail-NAME/ipcs-a.txt    no
 *   jail names   ROOT/etc/passwd, group       jail-NAME/passwd, group no
 *
 * The host's view is the inventory: every object it lists is kept, on the
 * host's scope, with the key the host sees (0 for objects created in a
 * jail).  Attribution then moves objects to jails: first by each jail's own
 * view (a jail sees the real key of the objects created in it and 0 for all
 * others), then, for shared memory, by the jail of the creator pid.  What
 * neither places stays on the host (a semaphore set made in a jail with
 * IPC_PRIVATE, say).  The processes of ps also go to the caller's
 * proc_table, for orphan detection.
 *
 * Bounds: files and command outputs are capped (COLLECT_FILE_MAX,
 * FBSD_EXEC_OUT_MAX, FBSD_EXEC_TIMEOUT_MS per command), lines (FBSD_LINE_MAX)
 * and fields per line (FBSD_FIELDS_MAX), jails (MODEL_MAX_SCOPES), objects
 * (MODEL_MAX_OBJECTS), names (FBSD_IDMAP_MAX) and processes (FBSD_PROCS_MAX).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect_freebsd.h"
#include "exec.h"
#include "util.h"

#define FBSD_QUOTE_MAX 24             /* bytes of a bad value quoted in a warning */
#define FBSD_SMALL_MAX 256            /* one-value inputs: pagesize, date, uname */
#define FBSD_TIME_MAX  253402300799LL /* 9999-12-31T23:59:59Z */
#define FBSD_DAY       86400
/* messages naming up to two paths, before they are cut to the caller's size */
#define FBSD_ERR_MAX (2 * COLLECT_PATH_MAX + 512)

/* ------------------------------------------------------------------ */
/* lines and fields */

struct fbsd_lines {
	const char *p, *end;
	size_t no; /* 1-based number of the line last returned */
};

static void
lines_init(struct fbsd_lines *it, const char *text, size_t len)
{
	it->p = text;
	it->end = text + len;
	it->no = 0;
}

/* The next line (without its newline) of at most any length.  0 at the end. */
static int
lines_next(struct fbsd_lines *it, const char **line, size_t *n)
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

/* A short printable copy of untrusted text for a warning. */
static void
fbsd_quote(const char *in, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; in[i] != '\0' && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];

		if (i == FBSD_QUOTE_MAX) {
			if (n + 4 >= outlen)
				break;
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		out[n++] = (c >= 0x20 && c < 0x7f && c != '"') ? (char)c : '?';
	}
	out[n] = '\0';
}

/* Position of the first control character (other than tab) in p[0..n), or n. */
static size_t
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
static int
line_take(const char *line, size_t n, char *buf, size_t bufsize, const char *name, size_t no,
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

static int
all_digits(const char *s)
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
static int
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

/* ------------------------------------------------------------------ */
/* user and group names */

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
	const char *line;
	char buf[FBSD_LINE_MAX + 1];
	size_t n, cap = m->n;

	lines_init(&it, text, len);
	while (lines_next(&it, &line, &n)) {
		char *f[4], *p = buf, q[FBSD_QUOTE_MAX + 4];
		size_t nf = 0;
		uint64_t id;
		const char *errstr;

		if (line_take(line, n, buf, sizeof(buf), name, it.no, w) == -1)
			continue;
		/* comments, and NIS compat entries ("+user", "-@group"): no local name */
		if (buf[0] == '\0' || buf[0] == '#' || buf[0] == '+' || buf[0] == '-')
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
		if (m->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct fbsd_ident *nv;

			if (ncap > FBSD_IDMAP_MAX)
				ncap = FBSD_IDMAP_MAX;
			if ((nv = reallocarray(m->v, ncap, sizeof(*nv))) == NULL)
				return -1;
			m->v = nv;
			cap = ncap;
		}
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

/* ------------------------------------------------------------------ */
/* sysctl kern.ipc */

int
fbsd_parse_sysctl(const char *text, size_t len, const char *name, struct ipc_limits *l,
                  struct collect_warnings *w)
{
	static const char prefix[] = "kern.ipc.";
	struct fbsd_lines it;
	const char *line;
	char buf[FBSD_LINE_MAX + 1];
	size_t n;
	int nset = 0;

	lines_init(&it, text, len);
	while (lines_next(&it, &line, &n)) {
		char *nm, *val, *colon, q[FBSD_QUOTE_MAX + 4];
		uint64_t v;
		const char *errstr;

		if (line_take(line, n, buf, sizeof(buf), name, it.no, w) == -1)
			continue;
		if (buf[0] == '\0')
			continue;
		if (strncmp(buf, prefix, sizeof(prefix) - 1) != 0 ||
		    (colon = strchr(buf, ':')) == NULL) {
			fbsd_quote(buf, q, sizeof(q));
			collect_warn(w,
			             "%s line %zu: \"%s\" is not \"kern.ipc.NAME: VALUE\", skipped",
			             name, it.no, q);
			continue;
		}
		*colon = '\0';
		nm = buf + sizeof(prefix) - 1;
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
		/* only the SysV IPC limits; kern.ipc also holds socket buffer tunables */
		if (strncmp(nm, "shm", 3) != 0 && strncmp(nm, "sem", 3) != 0 &&
		    strncmp(nm, "msg", 3) != 0)
			continue;
		if (!limit_name_valid(nm)) {
			fbsd_quote(nm, q, sizeof(q));
			collect_warn(w, "%s line %zu: bad limit name \"%s\", skipped", name, it.no,
			             q);
			continue;
		}
		if (parse_u64(val, 0, UINT64_MAX, &v, &errstr) == -1) {
			fbsd_quote(val, q, sizeof(q));
			collect_warn(w, "%s line %zu: kern.ipc.%s: \"%s\" %s, skipped", name, it.no,
			             nm, q, errstr);
			continue;
		}
		if (limits_set(l, nm, v) == -1) {
			collect_warn(w, "%s line %zu: more than %d limits, kern.ipc.%s skipped",
			             name, it.no, MODEL_MAX_LIMITS, nm);
			continue;
		}
		nset++;
	}
	return nset;
}

/* ------------------------------------------------------------------ */
/* small inputs */

int
fbsd_parse_pagesize(const char *text, size_t len, uint32_t *page_size, char *err, size_t errlen)
{
	char buf[FBSD_SMALL_MAX], q[FBSD_QUOTE_MAX + 4];
	uint64_t v;
	const char *errstr;

	if (fbsd_small(text, len, buf, sizeof(buf)) == -1) {
		snprintf(err, errlen, "not one number");
		return -1;
	}
	if (parse_u64(buf, 512, 1024 * 1024, &v, &errstr) == -1 || (v & (v - 1)) != 0) {
		fbsd_quote(buf, q, sizeof(q));
		snprintf(err, errlen, "\"%s\" is not a power of two from 512 to 1048576", q);
		return -1;
	}
	*page_size = (uint32_t)v;
	return 0;
}

int
fbsd_parse_date(const char *text, size_t len, int64_t *t, int32_t *utc_offset, char *err,
                size_t errlen)
{
	char buf[FBSD_SMALL_MAX], *f[3], q[FBSD_QUOTE_MAX + 4];
	const char *errstr;
	size_t nf;

	if (fbsd_small(text, len, buf, sizeof(buf)) == -1) {
		snprintf(err, errlen, "not \"EPOCH [+HHMM]\"");
		return -1;
	}
	nf = split_fields(buf, f, NELEM(f));
	if (nf < 1 || nf > 2) {
		snprintf(err, errlen, "not \"EPOCH [+HHMM]\"");
		return -1;
	}
	if (parse_i64(f[0], 1, FBSD_TIME_MAX, t, &errstr) == -1) {
		fbsd_quote(f[0], q, sizeof(q));
		snprintf(err, errlen, "time \"%s\" %s", q, errstr);
		return -1;
	}
	*utc_offset = 0;
	if (nf == 2) {
		const char *o = f[1];
		int hh, mm;

		if (strlen(o) != 5 || (o[0] != '+' && o[0] != '-') || !all_digits(o + 1)) {
			fbsd_quote(o, q, sizeof(q));
			snprintf(err, errlen, "offset \"%s\" is not +HHMM or -HHMM", q);
			return -1;
		}
		hh = (o[1] - '0') * 10 + (o[2] - '0');
		mm = (o[3] - '0') * 10 + (o[4] - '0');
		if (hh > 23 || mm > 59) {
			snprintf(err, errlen, "offset \"%s\" is out of range", o);
			return -1;
		}
		*utc_offset = (int32_t)((hh * 3600 + mm * 60) * (o[0] == '-' ? -1 : 1));
	}
	return 0;
}

int
fbsd_resolve_time(const char *hms, int64_t capture_time, int32_t utc_offset, int64_t *out)
{
	int h, m, sec;
	size_t hl;
	int64_t local, t;

	if (capture_time < 0 || capture_time > FBSD_TIME_MAX || utc_offset < -FBSD_DAY ||
	    utc_offset > FBSD_DAY)
		return -1;
	/* "%2d:%02d:%02d" once split on white space: H:MM:SS or HH:MM:SS */
	for (hl = 0; hms[hl] >= '0' && hms[hl] <= '9'; hl++)
		;
	if (hl < 1 || hl > 2 || strlen(hms) != hl + 6 || hms[hl] != ':' || hms[hl + 3] != ':')
		return -1;
	if (!(hms[hl + 1] >= '0' && hms[hl + 1] <= '9' && hms[hl + 2] >= '0' &&
	      hms[hl + 2] <= '9' && hms[hl + 4] >= '0' && hms[hl + 4] <= '9' &&
	      hms[hl + 5] >= '0' && hms[hl + 5] <= '9'))
		return -1;
	h = hl == 1 ? hms[0] - '0' : (hms[0] - '0') * 10 + (hms[1] - '0');
	m = (hms[hl + 1] - '0') * 10 + (hms[hl + 2] - '0');
	sec = (hms[hl + 4] - '0') * 10 + (hms[hl + 5] - '0');
	if (h > 23 || m > 59 || sec > 60) /* 60: a leap second */
		return -1;
	/* the capture's local day, then that time of day; the day before when
	 * that would be later than the capture */
	local = capture_time + utc_offset;
	t = local - ((local % FBSD_DAY) + FBSD_DAY) % FBSD_DAY + h * 3600 + m * 60 + sec;
	if (t > local)
		t -= FBSD_DAY;
	t -= utc_offset;
	if (t <= 0)
		return -1;
	*out = t;
	return 0;
}

int
fbsd_parse_mode(const char *s, uint32_t *mode)
{
	uint32_t m = 0;
	int i;

	/* FreeBSD's fmt_perm: two flag positions (always "-"), then rwa
	 * triplets where "a" stands for the 0100/010/01 bit; some ipcs
	 * implementations print "a" (alter) in the write position of
	 * semaphores, or "x": the position decides the bit, not the letter. */
	if (strlen(s) != 11 || s[0] != '-' || s[1] != '-')
		return -1;
	for (i = 0; i < 9; i++) {
		char c = s[2 + i];
		int ok;

		if (c == '-')
			continue;
		switch (i % 3) {
		case 0:
			ok = c == 'r';
			break;
		case 1:
			ok = c == 'w' || c == 'a';
			break;
		default:
			ok = c == 'a' || c == 'x';
			break;
		}
		if (!ok)
			return -1;
		m |= 0400u >> i;
	}
	*mode = m;
	return 0;
}

/* ------------------------------------------------------------------ */
/* ipcs -a */

enum fbsd_col {
	FC_T = 1,
	FC_ID,
	FC_KEY,
	FC_MODE,
	FC_OWNER,
	FC_GROUP,
	FC_CREATOR,
	FC_CGROUP,
	FC_CBYTES,
	FC_QNUM,
	FC_QBYTES,
	FC_LSPID,
	FC_LRPID,
	FC_STIME,
	FC_RTIME,
	FC_NATTCH,
	FC_SEGSZ,
	FC_CPID,
	FC_LPID,
	FC_ATIME,
	FC_DTIME,
	FC_NSEMS,
	FC_OTIME,
	FC_CTIME,
};

#define TB(t)  (1u << (t))
#define TB_ALL (TB(IPC_SHM) | TB(IPC_SEM) | TB(IPC_MSG))

/*
 * The header names of FreeBSD's ipcs -a, the sections they belong to and
 * the object field each fills.  Columns with a field (of) are not needed to
 * count an object: a bad value there leaves that field unknown and keeps
 * the row; a bad value in the others (of 0) skips the row.
 */
static const struct fbsd_colspec {
	const char *name;
	enum fbsd_col col;
	unsigned types;
	uint32_t of;
} fbsd_cols[] = {
    {"T", FC_T, TB_ALL, 0},
    {"ID", FC_ID, TB_ALL, 0},
    {"KEY", FC_KEY, TB_ALL, 0},
    {"MODE", FC_MODE, TB_ALL, 0},
    {"OWNER", FC_OWNER, TB_ALL, 0},
    {"GROUP", FC_GROUP, TB_ALL, 0},
    {"CREATOR", FC_CREATOR, TB_ALL, 0},
    {"CGROUP", FC_CGROUP, TB_ALL, 0},
    {"CBYTES", FC_CBYTES, TB(IPC_MSG), OF_CBYTES},
    {"QNUM", FC_QNUM, TB(IPC_MSG), OF_QNUM},
    {"QBYTES", FC_QBYTES, TB(IPC_MSG), OF_QBYTES},
    {"LSPID", FC_LSPID, TB(IPC_MSG), OF_LSPID},
    {"LRPID", FC_LRPID, TB(IPC_MSG), OF_LRPID},
    {"STIME", FC_STIME, TB(IPC_MSG), OF_STIME},
    {"RTIME", FC_RTIME, TB(IPC_MSG), OF_RTIME},
    {"NATTCH", FC_NATTCH, TB(IPC_SHM), OF_NATTCH},
    {"SEGSZ", FC_SEGSZ, TB(IPC_SHM), OF_SIZE},
    {"CPID", FC_CPID, TB(IPC_SHM), OF_CPID},
    {"LPID", FC_LPID, TB(IPC_SHM), OF_LPID},
    {"ATIME", FC_ATIME, TB(IPC_SHM), OF_ATIME},
    {"DTIME", FC_DTIME, TB(IPC_SHM), OF_DTIME},
    {"NSEMS", FC_NSEMS, TB(IPC_SEM), OF_NSEMS},
    {"OTIME", FC_OTIME, TB(IPC_SEM), OF_OTIME},
    {"CTIME", FC_CTIME, TB_ALL, OF_CTIME},
};

static const struct fbsd_secspec {
	const char *title;
	enum ipc_type type;
	char letter; /* the T column */
} fbsd_secs[] = {
    {"Message Queues:", IPC_MSG, 'q'},
    {"Shared Memory:", IPC_SHM, 'm'},
    {"Semaphores:", IPC_SEM, 's'},
};

struct fbsd_section {
	const struct fbsd_secspec *spec;
	size_t ncols;
	const struct fbsd_colspec *cols[FBSD_FIELDS_MAX]; /* NULL: a column we ignore */
	uint32_t missing; /* fields of this type with no column: unknown in every row */
	size_t rows;      /* rows kept so far */
};

/* Parses a section's header line (in place).  0, or -1 with a warning. */
static int
ipcs_header(char *buf, struct fbsd_section *sec, const char *name, size_t no,
            struct collect_warnings *w)
{
	static const enum fbsd_col always[] = {FC_T, FC_ID, FC_KEY, FC_MODE, FC_OWNER, FC_GROUP};
	char *f[FBSD_FIELDS_MAX + 1], q[FBSD_QUOTE_MAX + 4];
	uint32_t seen = 0;
	size_t nf, i, k;

	nf = split_fields(buf, f, NELEM(f));
	if (nf == 0 || strcmp(f[0], "T") != 0) {
		collect_warn(w,
		             "%s line %zu: expected the column header (T ID KEY MODE ...) after "
		             "\"%s\", section skipped",
		             name, no, sec->spec->title);
		return -1;
	}
	if (nf > FBSD_FIELDS_MAX) {
		collect_warn(w, "%s line %zu: more than %d columns, section skipped", name, no,
		             FBSD_FIELDS_MAX);
		return -1;
	}
	for (i = 0; i < nf; i++) {
		const struct fbsd_colspec *cs = NULL;

		for (k = 0; k < NELEM(fbsd_cols); k++) {
			if (strcmp(fbsd_cols[k].name, f[i]) == 0 &&
			    (fbsd_cols[k].types & TB(sec->spec->type))) {
				cs = &fbsd_cols[k];
				break;
			}
		}
		if (cs == NULL) {
			fbsd_quote(f[i], q, sizeof(q));
			collect_warn(w, "%s line %zu: unknown column \"%s\" under \"%s\", ignored",
			             name, no, q, sec->spec->title);
		} else if (seen & (1u << cs->col)) {
			collect_warn(w, "%s line %zu: column %s appears twice, section skipped",
			             name, no, cs->name);
			return -1;
		} else {
			seen |= 1u << cs->col;
		}
		sec->cols[i] = cs;
	}
	for (k = 0; k < NELEM(always); k++) {
		const char *cname = NULL;
		size_t j;

		if (seen & (1u << always[k]))
			continue;
		for (j = 0; j < NELEM(fbsd_cols); j++)
			if (fbsd_cols[j].col == always[k])
				cname = fbsd_cols[j].name;
		collect_warn(w,
		             "%s line %zu: no %s column under \"%s\" (not ipcs output?), "
		             "section skipped",
		             name, no, cname, sec->spec->title);
		return -1;
	}
	/* what a listing without -a lacks (NSEMS, SEGSZ, times, pids) is unknown */
	sec->missing = 0;
	for (k = 0; k < NELEM(fbsd_cols); k++)
		if ((fbsd_cols[k].types & TB(sec->spec->type)) && fbsd_cols[k].of != 0 &&
		    !(seen & (1u << fbsd_cols[k].col)))
			sec->missing |= fbsd_cols[k].of;
	sec->ncols = nf;
	return 0;
}

/*
 * Bad value in a row: one warning naming line, column and value, and
 * whether the row is skipped or only that field is unknown (cs->of).
 */
static int
ipcs_bad(const char *name, size_t no, const struct fbsd_colspec *cs, const char *v, const char *why,
         struct collect_warnings *w)
{
	char q[FBSD_QUOTE_MAX + 4];

	fbsd_quote(v, q, sizeof(q));
	collect_warn(w, "%s line %zu: %s \"%s\" %s, %s", name, no, cs->name, q, why,
	             cs->of != 0 ? "unknown" : "row skipped");
	return -1;
}

static int
ipcs_i64(const char *v, int64_t min, int64_t max, int64_t *out, const char *name, size_t no,
         const struct fbsd_colspec *cs, struct collect_warnings *w)
{
	const char *errstr;

	if (parse_i64(v, min, max, out, &errstr) == -1)
		return ipcs_bad(name, no, cs, v, errstr, w);
	return 0;
}

static int
ipcs_u64(const char *v, uint64_t max, uint64_t *out, const char *name, size_t no,
         const struct fbsd_colspec *cs, struct collect_warnings *w)
{
	const char *errstr;

	if (parse_u64(v, 0, max, out, &errstr) == -1)
		return ipcs_bad(name, no, cs, v, errstr, w);
	return 0;
}

/* An OWNER/GROUP/CREATOR/CGROUP value: a number, or a name to resolve. */
static int
ipcs_ident(const char *v, const struct fbsd_idmap *m, int is_group, uint32_t *out, const char *name,
           size_t no, const struct fbsd_colspec *cs, struct collect_warnings *w)
{
	char q[FBSD_QUOTE_MAX + 4];
	uint64_t id;
	const char *errstr;

	if (all_digits(v)) {
		if (parse_u64(v, 0, UINT32_MAX, &id, &errstr) == -1)
			return ipcs_bad(name, no, cs, v, errstr, w);
		*out = (uint32_t)id;
		return 0;
	}
	if (v[0] == '-' || v[0] == '+')
		return ipcs_bad(name, no, cs, v, "is not an id or a name", w);
	if (m != NULL && fbsd_idmap_lookup(m, v, out) == 0)
		return 0;
	fbsd_quote(v, q, sizeof(q));
	collect_warn(w, "%s line %zu: %s \"%s\" is not in the %s file given: recorded as %lu", name,
	             no, cs->name, q, is_group ? "group" : "passwd",
	             (unsigned long)FBSD_ID_UNKNOWN);
	*out = FBSD_ID_UNKNOWN;
	return 0;
}

static int
ipcs_time(const char *v, const struct fbsd_ipcs_ctx *ctx, int64_t *out, const char *name, size_t no,
          const struct fbsd_colspec *cs, struct collect_warnings *w)
{
	if (strcmp(v, "no-entry") == 0) {
		*out = 0;
		return 0;
	}
	if (fbsd_resolve_time(v, ctx->capture_time, ctx->utc_offset, out) == -1)
		return ipcs_bad(name, no, cs, v, "is not H:MM:SS or no-entry", w);
	return 0;
}

/* One value of a row into o.  0, or -1 with a warning. */
static int
ipcs_value(const char *v, const struct fbsd_colspec *cs, const struct fbsd_section *sec,
           const struct fbsd_ipcs_ctx *ctx, struct ipc_object *o, const char *name, size_t no,
           struct collect_warnings *w)
{
	uint64_t u;
	int r = 0;

	switch (cs->col) {
	case FC_T:
		if (v[0] != sec->spec->letter || v[1] != '\0')
			r = ipcs_bad(name, no, cs, v, "does not match the section", w);
		break;
	case FC_ID:
		r = ipcs_i64(v, 0, INT32_MAX, &o->id, name, no, cs, w);
		break;
	case FC_KEY:
		/* key_t printed with %d: signed */
		r = ipcs_i64(v, INT32_MIN, INT32_MAX, &o->key, name, no, cs, w);
		break;
	case FC_MODE:
		if (fbsd_parse_mode(v, &o->mode) == -1)
			r = ipcs_bad(name, no, cs, v, "is not like --rw-------", w);
		break;
	case FC_OWNER:
		r = ipcs_ident(v, ctx->users, 0, &o->uid, name, no, cs, w);
		/* the name as this view printed it (see ipc_object.owner) */
		if (r == 0 && !all_digits(v) && strlen(v) < sizeof(o->owner))
			memcpy(o->owner, v, strlen(v) + 1);
		break;
	case FC_GROUP:
		r = ipcs_ident(v, ctx->groups, 1, &o->gid, name, no, cs, w);
		break;
	case FC_CREATOR:
		r = ipcs_ident(v, ctx->users, 0, &o->cuid, name, no, cs, w);
		break;
	case FC_CGROUP:
		r = ipcs_ident(v, ctx->groups, 1, &o->cgid, name, no, cs, w);
		break;
	case FC_CBYTES:
		r = ipcs_u64(v, UINT64_MAX, &o->cbytes, name, no, cs, w);
		break;
	case FC_QNUM:
		r = ipcs_u64(v, UINT64_MAX, &o->qnum, name, no, cs, w);
		break;
	case FC_QBYTES:
		r = ipcs_u64(v, UINT64_MAX, &o->qbytes, name, no, cs, w);
		break;
	case FC_LSPID:
		r = ipcs_i64(v, 0, INT32_MAX, &o->lspid, name, no, cs, w);
		break;
	case FC_LRPID:
		r = ipcs_i64(v, 0, INT32_MAX, &o->lrpid, name, no, cs, w);
		break;
	case FC_STIME:
		r = ipcs_time(v, ctx, &o->stime, name, no, cs, w);
		break;
	case FC_RTIME:
		r = ipcs_time(v, ctx, &o->rtime, name, no, cs, w);
		break;
	case FC_NATTCH:
		r = ipcs_u64(v, INT32_MAX, &o->nattch, name, no, cs, w);
		break;
	case FC_SEGSZ:
		r = ipcs_u64(v, UINT64_MAX, &o->size, name, no, cs, w);
		break;
	case FC_CPID:
		r = ipcs_i64(v, 0, INT32_MAX, &o->cpid, name, no, cs, w);
		break;
	case FC_LPID:
		r = ipcs_i64(v, 0, INT32_MAX, &o->lpid, name, no, cs, w);
		break;
	case FC_ATIME:
		r = ipcs_time(v, ctx, &o->atime, name, no, cs, w);
		break;
	case FC_DTIME:
		r = ipcs_time(v, ctx, &o->dtime, name, no, cs, w);
		break;
	case FC_NSEMS:
		r = ipcs_u64(v, INT32_MAX, &u, name, no, cs, w);
		o->nsems = u;
		break;
	case FC_OTIME:
		r = ipcs_time(v, ctx, &o->otime, name, no, cs, w);
		break;
	case FC_CTIME:
		r = ipcs_time(v, ctx, &o->ctime, name, no, cs, w);
		break;
	}
	return r;
}

/*
 * Parses one row (in place) into o.  0, or -1 with a warning when the row
 * cannot be counted (wrong field count, a bad value in a column without a
 * field); a bad value elsewhere leaves that field unknown.
 */
static int
ipcs_row(char *buf, const struct fbsd_section *sec, const struct fbsd_ipcs_ctx *ctx,
         struct ipc_object *o, const char *name, size_t no, struct collect_warnings *w)
{
	char *f[FBSD_FIELDS_MAX + 1];
	size_t nf, i;

	nf = split_fields(buf, f, NELEM(f));
	if (nf != sec->ncols) {
		collect_warn(w, "%s line %zu: %zu fields where the header has %zu, row skipped",
		             name, no, nf, sec->ncols);
		return -1;
	}
	memset(o, 0, sizeof(*o));
	o->type = sec->spec->type;
	o->unknown = sec->missing;
	/* without CREATOR/CGROUP columns the creator is not known */
	o->cuid = o->cgid = FBSD_ID_UNKNOWN;
	for (i = 0; i < nf; i++) {
		const struct fbsd_colspec *cs = sec->cols[i];

		if (cs == NULL || ipcs_value(f[i], cs, sec, ctx, o, name, no, w) == 0)
			continue;
		if (cs->of == 0)
			return -1;
		o->unknown |= cs->of;
	}
	return 0;
}

/*
 * What a section's missing columns make unknown, said once, at its first
 * row (an empty table lacks nothing): the figure each counts, in scope.
 */
static void
ipcs_missing(const struct fbsd_section *sec, const char *name, size_t no, struct snapshot *s,
             uint32_t scope, struct collect_warnings *w)
{
	static const struct {
		uint32_t of;
		const char *col, *usage;
	} counted[] = {
	    {OF_SIZE, "SEGSZ", "shmall"},
	    {OF_NSEMS, "NSEMS", "semmns"},
	    {OF_QNUM, "QNUM", "msgtql"},
	};
	size_t k;

	for (k = 0; k < NELEM(counted); k++) {
		if (!(sec->missing & counted[k].of))
			continue;
		collect_warn(w,
		             "%s line %zu: no %s column under \"%s\": %s unknown (ipcs -a has it)",
		             name, no, counted[k].col, sec->spec->title, counted[k].usage);
		if (scope == 0)
			snapshot_unknown(s, UNK_USED, counted[k].usage,
			                 "%s has no %s column (ipcs without -a)", name,
			                 counted[k].col);
		else if (scope < s->nscopes && s->scopes[scope].unknown[0] == '\0')
			snprintf(s->scopes[scope].unknown, sizeof(s->scopes[scope].unknown),
			         "%s has no %s column (ipcs without -a)", name, counted[k].col);
	}
}

/* A row of type t that could not be counted: the counts of t are unknown. */
static void
ipcs_lost(struct snapshot *s, uint32_t scope, enum ipc_type t, const char *name, size_t no,
          const char *what)
{
	snapshot_unknown_type(s, scope, t, "%s line %zu: %s", name, no, what);
}

int
fbsd_parse_ipcs(const char *text, size_t len, const char *name, const struct fbsd_ipcs_ctx *ctx,
                struct snapshot *s, uint32_t scope, struct collect_warnings *w, unsigned *types)
{
	enum { ST_NONE, ST_HEADER, ST_ROWS, ST_SKIP } st = ST_NONE;
	struct fbsd_section sec;
	struct fbsd_lines it;
	struct ipc_object obj;
	const char *line;
	char buf[FBSD_LINE_MAX + 1];
	size_t n, k, title_no = 0;
	int nsec = 0;

	if (types != NULL)
		*types = 0;
	memset(&sec, 0, sizeof(sec));
	lines_init(&it, text, len);
	while (lines_next(&it, &line, &n)) {
		const struct fbsd_secspec *spec = NULL;
		int cut = line + n == it.end; /* no newline after it: the output ended */
		struct ipc_object *o;

		if (line_take(line, n, buf, sizeof(buf), name, it.no, w) == -1) {
			if (st == ST_ROWS)
				ipcs_lost(s, scope, sec.spec->type, name, it.no, "unreadable line");
			continue;
		}
		for (k = 0; k < NELEM(fbsd_secs); k++)
			if (strcmp(buf, fbsd_secs[k].title) == 0)
				spec = &fbsd_secs[k];
		if (spec != NULL) {
			if (st == ST_HEADER)
				collect_warn(w, "%s line %zu: \"%s\" has no column header", name,
				             title_no, sec.spec->title);
			memset(&sec, 0, sizeof(sec));
			sec.spec = spec;
			title_no = it.no;
			st = ST_HEADER;
			continue;
		}
		if (buf[0] == '\0') {
			/* a blank line ends a section */
			if (st == ST_ROWS || st == ST_SKIP)
				st = ST_NONE;
			continue;
		}
		switch (st) {
		case ST_NONE:
			collect_warn(w,
			             "%s line %zu: outside any section (no \"Shared Memory:\", "
			             "\"Semaphores:\" or \"Message Queues:\" before it), skipped",
			             name, it.no);
			break;
		case ST_HEADER:
			if (ipcs_header(buf, &sec, name, it.no, w) == 0) {
				st = ST_ROWS;
				nsec++;
				if (types != NULL)
					*types |= TB(sec.spec->type);
			} else {
				/* whatever the section held cannot be read */
				st = ST_SKIP;
				ipcs_lost(s, scope, sec.spec->type, name, it.no,
				          "the column header could not be read");
			}
			break;
		case ST_SKIP:
			break;
		case ST_ROWS:
			/* output cut in the middle of its last line: that row is not whole */
			if (cut) {
				collect_warn(
				    w, "%s line %zu: cut short (truncated output), row skipped",
				    name, it.no);
				ipcs_lost(s, scope, sec.spec->type, name, it.no,
				          "cut short (truncated output)");
				break;
			}
			if (ipcs_row(buf, &sec, ctx, &obj, name, it.no, w) == -1) {
				ipcs_lost(s, scope, sec.spec->type, name, it.no,
				          "a row could not be read");
				break;
			}
			obj.scope = scope;
			if ((o = snapshot_add_object(s)) == NULL) {
				if (s->nobjects < MODEL_MAX_OBJECTS)
					return -1;
				collect_warn(
				    w, "%s line %zu: more than %d objects: the rest are ignored",
				    name, it.no, MODEL_MAX_OBJECTS);
				ipcs_lost(s, scope, sec.spec->type, name, it.no,
				          "more objects than the agent keeps");
				return nsec;
			}
			*o = obj;
			if (sec.rows++ == 0)
				ipcs_missing(&sec, name, it.no, s, scope, w);
			break;
		}
	}
	if (st == ST_HEADER)
		collect_warn(w, "%s line %zu: \"%s\" has no column header", name, title_no,
		             sec.spec->title);
	return nsec;
}

/* ------------------------------------------------------------------ */
/* jls -n */

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

	lines_init(&it, text, len);
	while (lines_next(&it, &line, &n)) {
		const char *p = line, *end;
		char nm[64], val[COLLECT_PATH_MAX], q[FBSD_QUOTE_MAX + 4], id[MODEL_NAME_MAX];
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
		for (i = 0; i < j->n; i++) {
			if (j->v[i].jid == jid || strcmp(j->v[i].name, jl.name) == 0)
				break;
		}
		if (i < j->n) {
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
		snprintf(id, sizeof(id), "jail:%s", jl.name);
		if ((sc = snapshot_add_scope(s, id, jl.name, SCOPE_JAIL)) == NULL) {
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
		if (j->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct fbsd_jail *nv;

			if ((nv = reallocarray(j->v, ncap, sizeof(*nv))) == NULL) {
				s->nscopes--; /* keep scopes and jails in step */
				return -1;
			}
			j->v = nv;
			cap = ncap;
		}
		jl.jid = (int32_t)jid;
		jl.scope = (uint32_t)(s->nscopes - 1);
		j->v[j->n++] = jl;
		added++;
	}
	return added;
}

/* ------------------------------------------------------------------ */
/* ps -axo pid,jid,uid,comm */

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
static int
parse_ps(const char *text, size_t len, const char *name, struct fbsd_procs *p, int *complete,
         struct collect_warnings *w)
{
	struct fbsd_lines it;
	const char *line;
	char buf[FBSD_LINE_MAX + 1];
	size_t n, cap = p->n, start = p->n;
	size_t rows = 0; /* lines after the header that should be processes */
	int header = 0, cut = 0;

	*complete = 0;
	lines_init(&it, text, len);
	while (lines_next(&it, &line, &n)) {
		char *f[4], q[FBSD_QUOTE_MAX + 4];
		const char *errstr;
		int64_t pid, jid;
		uint64_t uid;
		size_t nf;

		if (line_take(line, n, buf, sizeof(buf), name, it.no, w) == -1) {
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
		if (p->n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct fbsd_proc *nv;

			if (ncap > FBSD_PROCS_MAX)
				ncap = FBSD_PROCS_MAX;
			if ((nv = reallocarray(p->v, ncap, sizeof(*nv))) == NULL)
				return -1;
			p->v = nv;
			cap = ncap;
		}
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

	return parse_ps(text, len, name, p, &complete, w);
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

/* ------------------------------------------------------------------ */
/* index, duplicates, attribution */

static int
ikey_cmp(const void *a, const void *b)
{
	const struct fbsd_ikey *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int
fbsd_index_build(const struct snapshot *s, struct fbsd_index *ix)
{
	size_t i;

	ix->n = 0;
	ix->v = NULL;
	if (s->nobjects == 0)
		return 0;
	if ((ix->v = calloc(s->nobjects, sizeof(*ix->v))) == NULL)
		return -1;
	for (i = 0; i < s->nobjects; i++) {
		ix->v[i].type = (uint32_t)s->objects[i].type;
		ix->v[i].id = s->objects[i].id;
		ix->v[i].idx = i;
	}
	ix->n = s->nobjects;
	qsort(ix->v, ix->n, sizeof(*ix->v), ikey_cmp);
	return 0;
}

void
fbsd_index_free(struct fbsd_index *ix)
{
	free(ix->v);
	ix->v = NULL;
	ix->n = 0;
}

/* The first entry for (type, id), or NULL. */
static const struct fbsd_ikey *
index_find(const struct fbsd_index *ix, enum ipc_type type, int64_t id)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct fbsd_ikey *k = &ix->v[mid];

		if (k->type < (uint32_t)type || (k->type == (uint32_t)type && k->id < id))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ix->n && ix->v[lo].type == (uint32_t)type && ix->v[lo].id == id)
		return &ix->v[lo];
	return NULL;
}

int
fbsd_dedupe(struct snapshot *s, struct collect_warnings *w)
{
	struct fbsd_index ix;
	unsigned char *drop;
	size_t i, k, ndrop = 0;

	if (fbsd_index_build(s, &ix) == -1)
		return -1;
	if (ix.n < 2) {
		fbsd_index_free(&ix);
		return 0;
	}
	if ((drop = calloc(ix.n, 1)) == NULL) {
		fbsd_index_free(&ix);
		return -1;
	}
	for (i = 1; i < ix.n; i++) {
		if (ix.v[i].type == ix.v[i - 1].type && ix.v[i].id == ix.v[i - 1].id) {
			/* sorted by index within equal keys: the later entry goes */
			drop[ix.v[i].idx] = 1;
			ndrop++;
			collect_warn(w,
			             "%s id %" PRId64 " is listed more than once: the later "
			             "entry is ignored",
			             ipc_type_name((enum ipc_type)ix.v[i].type), ix.v[i].id);
		}
	}
	for (i = k = 0; i < s->nobjects; i++)
		if (!drop[i])
			s->objects[k++] = s->objects[i];
	s->nobjects = k;
	free(drop);
	fbsd_index_free(&ix);
	return (int)ndrop;
}

/*
 * The work of fbsd_attribute_view.  pidscope (NULL: not known) gives, per
 * object of s, the jail scope its creator pid runs in (0: none); such an
 * object takes its owner name from that jail's view even where the view
 * shows key 0, and named[] (NULL with pidscope) records whose names came
 * from a jail's view.
 */
static int
attribute_view(struct snapshot *s, const struct fbsd_index *ix, const struct snapshot *view,
               uint32_t scope, const char *jailname, const uint32_t *pidscope, unsigned char *named,
               struct collect_warnings *w)
{
	size_t i;
	int moved = 0;

	for (i = 0; i < view->nobjects; i++) {
		const struct ipc_object *vo = &view->objects[i];
		const struct fbsd_ikey *k = index_find(ix, vo->type, vo->id);
		struct ipc_object *o;

		/* a jail sees the real key only of what was created in it */
		if (vo->key == 0) {
			if (k != NULL && pidscope != NULL && pidscope[k->idx] == scope &&
			    s->objects[k->idx].scope == 0) {
				memcpy(s->objects[k->idx].owner, vo->owner, sizeof(vo->owner));
				named[k->idx] = 1;
			}
			continue;
		}
		if (k == NULL) {
			collect_warn(w,
			             "jail %s: %s id %" PRId64 " is not in the host's view "
			             "(created after it was read?): ignored",
			             jailname, ipc_type_name(vo->type), vo->id);
			continue;
		}
		o = &s->objects[k->idx];
		if (o->scope == scope) {
			/* as for the host's view: the first entry wins, once */
			collect_warn(w,
			             "jail %s: %s id %" PRId64 " is listed twice: the later entry "
			             "is ignored",
			             jailname, ipc_type_name(vo->type), vo->id);
			continue;
		}
		if (o->scope != 0 && o->scope != scope) {
			collect_warn(w,
			             "jail %s: %s id %" PRId64 " is also claimed by jail %s: "
			             "left there",
			             jailname, ipc_type_name(vo->type), vo->id,
			             o->scope < s->nscopes ? s->scopes[o->scope].name : "?");
			continue;
		}
		if (o->scope == 0 && o->key != 0) {
			/* the host sees a real key only for what the host created */
			collect_warn(w,
			             "jail %s: %s id %" PRId64 " has key %" PRId64
			             " on the host and %" PRId64 " in the jail: left to the host",
			             jailname, ipc_type_name(vo->type), vo->id, o->key, vo->key);
			continue;
		}
		o->scope = scope;
		o->key = vo->key;
		/* the host's reading wins; the jail's fills what it could not resolve */
		if (o->uid == FBSD_ID_UNKNOWN)
			o->uid = vo->uid;
		if (o->gid == FBSD_ID_UNKNOWN)
			o->gid = vo->gid;
		if (o->cuid == FBSD_ID_UNKNOWN)
			o->cuid = vo->cuid;
		if (o->cgid == FBSD_ID_UNKNOWN)
			o->cgid = vo->cgid;
		/* but names are the jail's: the host's passwd does not name its users */
		memcpy(o->owner, vo->owner, sizeof(o->owner));
		if (named != NULL)
			named[k->idx] = 1;
		moved++;
	}
	return moved;
}

int
fbsd_attribute_view(struct snapshot *s, const struct fbsd_index *ix, const struct snapshot *view,
                    uint32_t scope, const char *jailname, struct collect_warnings *w)
{
	return attribute_view(s, ix, view, scope, jailname, NULL, NULL, w);
}

struct fbsd_jidscope {
	int32_t jid;
	uint32_t scope;
};

static int
jidscope_cmp(const void *a, const void *b)
{
	const struct fbsd_jidscope *x = a, *y = b;

	return x->jid < y->jid ? -1 : x->jid > y->jid;
}

/* The listed jails sorted by jid, for jail_scope().  NULL when out of memory. */
static struct fbsd_jidscope *
jidscopes(const struct fbsd_jails *j)
{
	struct fbsd_jidscope *js;
	size_t i;

	if ((js = calloc(j->n ? j->n : 1, sizeof(*js))) == NULL)
		return NULL;
	for (i = 0; i < j->n; i++) {
		js[i].jid = j->v[i].jid;
		js[i].scope = j->v[i].scope;
	}
	if (j->n > 1)
		qsort(js, j->n, sizeof(*js), jidscope_cmp);
	return js;
}

/* The scope of jail jid, or 0 when it is not listed. */
static uint32_t
jail_scope(const struct fbsd_jidscope *js, size_t n, int32_t jid)
{
	struct fbsd_jidscope key, *hit;

	key.jid = jid;
	key.scope = 0;
	if (n == 0 || (hit = bsearch(&key, js, n, sizeof(*js), jidscope_cmp)) == NULL)
		return 0;
	return hit->scope;
}

/*
 * Per object of s (calloc'd, s->nobjects entries, the caller frees): the
 * scope of the listed jail its creator pid runs in, else 0.  Only shared
 * memory still on the host with key 0 there (the host did not create it)
 * whose creator still runs: a dead creator's pid may have been reused.
 * NULL when out of memory.
 */
static uint32_t *
cpid_scopes(const struct snapshot *s, const struct fbsd_jails *j, const struct fbsd_procs *p)
{
	struct fbsd_jidscope *js;
	uint32_t *out;
	size_t i;

	if ((out = calloc(s->nobjects ? s->nobjects : 1, sizeof(*out))) == NULL)
		return NULL;
	if (j->n == 0 || p->n == 0)
		return out;
	if ((js = jidscopes(j)) == NULL) {
		free(out);
		return NULL;
	}
	for (i = 0; i < s->nobjects; i++) {
		const struct ipc_object *o = &s->objects[i];
		int32_t jid;

		if (o->type != IPC_SHM || o->scope != 0 || o->key != 0 || o->cpid <= 0)
			continue;
		if (fbsd_procs_jid(p, o->cpid, &jid) == -1 || jid == 0)
			continue;
		out[i] = jail_scope(js, j->n, jid);
	}
	free(js);
	return out;
}

/* Moves what cpid_scopes found, where no view has claimed it meanwhile. */
static int
apply_cpid(struct snapshot *s, const uint32_t *pidscope, const unsigned char *named)
{
	size_t i;
	int moved = 0;

	for (i = 0; i < s->nobjects; i++) {
		struct ipc_object *o = &s->objects[i];

		if (pidscope[i] == 0 || o->scope != 0)
			continue;
		o->scope = pidscope[i];
		/* a name the host printed is the host's, not the jail's */
		if (named == NULL || !named[i])
			o->owner[0] = '\0';
		moved++;
	}
	return moved;
}

int
fbsd_attribute_cpid(struct snapshot *s, const struct fbsd_jails *j, const struct fbsd_procs *p)
{
	uint32_t *pidscope;
	int moved;

	if ((pidscope = cpid_scopes(s, j, p)) == NULL)
		return -1;
	moved = apply_cpid(s, pidscope, NULL);
	free(pidscope);
	return moved;
}

/*
 * ps into pt: each process on its scope, and a jailed one a second time on
 * the host's, where the objects that could not be attributed stay.
 */
static int
fill_procs(struct proc_table *pt, const struct fbsd_procs *p, int complete,
           const struct fbsd_jails *j, struct collect_warnings *w)
{
	struct fbsd_jidscope *js;
	size_t i;

	if ((js = jidscopes(j)) == NULL)
		return -1;
	for (i = 0; i < p->n; i++) {
		const struct fbsd_proc *pr = &p->v[i];
		uint32_t scope = 0;

		if (pr->jid != 0 && (scope = jail_scope(js, j->n, pr->jid)) == 0)
			scope = PROC_SCOPE_NONE; /* a jail jls did not list (dying) */
		if (proc_table_add(pt, pr->pid, pr->uid, scope) == -1 ||
		    (scope != 0 && proc_table_add(pt, pr->pid, pr->uid, 0) == -1)) {
			collect_warn(w, "process table full (%d entries): no orphans are judged",
			             PROC_MAX);
			pt->valid = 0;
			free(js);
			return 0;
		}
	}
	pt->valid = complete;
	free(js);
	return 0;
}

/* ------------------------------------------------------------------ */
/* inputs: the running system or a capture directory */

enum fbsd_item {
	FI_SYSCTL,
	FI_PAGESIZE,
	FI_UNAME,
	FI_PASSWD,
	FI_GROUP,
	FI_IPCS,
	FI_IPCS_SHM,
	FI_IPCS_SEM,
	FI_IPCS_MSG,
	FI_DATE,
	FI_JLS,
	FI_PS,
	FI_JAIL_IPCS,
	FI_JAIL_PASSWD,
	FI_JAIL_GROUP,
};

/* Capture file of each item. */
static const char *const fbsd_files[] = {
    [FI_SYSCTL] = "sysctl-kern.ipc.txt",
    [FI_PAGESIZE] = "pagesize.txt",
    [FI_UNAME] = "uname.txt",
    [FI_PASSWD] = "passwd",
    [FI_GROUP] = "group",
    [FI_IPCS] = "ipcs-a.txt",
    [FI_IPCS_SHM] = "ipcs-ma.txt",
    [FI_IPCS_SEM] = "ipcs-as.txt",
    [FI_IPCS_MSG] = "ipcs-aq.txt",
    [FI_DATE] = "date.txt",
    [FI_JLS] = "jls.txt",
    [FI_PS] = "ps.txt",
    [FI_JAIL_IPCS] = "ipcs-a.txt", /* under jail-NAME/ */
    [FI_JAIL_PASSWD] = "passwd",
    [FI_JAIL_GROUP] = "group",
};

struct fbsd_fetch {
	int live;
	const char *dir;    /* capture */
	int64_t ipcs_mtime; /* newest mtime of the ipcs files read (capture) */
};

/* Reads one capture file: 1 read, 0 absent, -1 with err. */
static int
fbsd_read_capture(const char *path, char **buf, size_t *len, int64_t *mtime, char *err,
                  size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	/* a FIFO or a device would block or never end */
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if ((uint64_t)st.st_size > COLLECT_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, (unsigned)COLLECT_FILE_MAX);
		return -1;
	}
	if (read_file_bounded(path, COLLECT_FILE_MAX, buf, len) == -1) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: larger than %u bytes", path,
			         (unsigned)COLLECT_FILE_MAX);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (mtime != NULL)
		*mtime = (int64_t)st.st_mtime;
	return 1;
}

/*
 * Reads ROOT/etc/FILE of a live jail without following symbolic links below
 * ROOT: the jail's root user owns those and could point them at the host's
 * files (or at a FIFO).  ROOT itself comes from jls, i.e. the host.
 * 1 read, 0 absent, -1 with err.
 */
static int
fbsd_read_jail_etc(const char *root, const char *file, char **bufp, size_t *lenp, char *err,
                   size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, max;
	int dfd, efd = -1, fd = -1, rc = -1;

	*bufp = NULL;
	*lenp = 0;
	if (root[0] == '\0')
		return 0;
	if ((dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", root, strerror(errno));
		return -1;
	}
	if ((efd = openat(dfd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc == -1)
			snprintf(err, errlen, "%s/etc: %s (symbolic links are not followed)", root,
			         strerror(errno));
		goto out;
	}
	fd = openat(efd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		rc = errno == ENOENT ? 0 : -1;
		if (rc == -1)
			snprintf(err, errlen, "%s/etc/%s: %s (symbolic links are not followed)",
			         root, file, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s/etc/%s: not a regular file", root, file);
		goto out;
	}
	if ((uint64_t)st.st_size > COLLECT_FILE_MAX) {
		snprintf(err, errlen, "%s/etc/%s: larger than %u bytes", root, file,
		         (unsigned)COLLECT_FILE_MAX);
		goto out;
	}
	/* what fstat said, plus nothing: a file growing meanwhile is cut there */
	max = (size_t)st.st_size;
	if ((buf = malloc(max + 1)) == NULL) {
		snprintf(err, errlen, "%s/etc/%s: out of memory", root, file);
		goto out;
	}
	while (len < max) {
		ssize_t r = read(fd, buf + len, max - len);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s/etc/%s: %s", root, file, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	buf = NULL;
	rc = 1;
out:
	free(buf);
	if (fd != -1)
		close(fd);
	if (efd != -1)
		close(efd);
	close(dfd);
	return rc;
}

/* Runs argv with the collector's bounds: 1 with output, -1 with err. */
static int
fbsd_run(char *const argv[], char **buf, size_t *len, char *err, size_t errlen)
{
	if (exec_capture(argv, FBSD_EXEC_TIMEOUT_MS, FBSD_EXEC_OUT_MAX, buf, len, err, errlen) ==
	    -1)
		return -1;
	return 1;
}

/*
 * Gets one input.  Returns 1 with *buf (malloc'd, NUL-terminated; the caller
 * frees it) and *len; 0 when the input is absent (a capture without that
 * file; the live host's passwd, read through getpwnam instead); -1 with err.
 * what receives the name used in warnings (a file or a command line).
 */
static int
fbsd_fetch(struct fbsd_fetch *f, enum fbsd_item it, const struct fbsd_jail *j, char **buf,
           size_t *len, char *what, size_t whatlen, char *err, size_t errlen)
{
	char jid[16], rel[FBSD_JAILNAME_MAX + 32], path[COLLECT_PATH_MAX + sizeof(rel) + 1];
	char *av[6] = {NULL};
	int64_t mtime = 0;
	int r;

	*buf = NULL;
	*len = 0;
	if (!f->live) {
		if (j != NULL) {
			if (strchr(j->name, '/') != NULL) {
				snprintf(what, whatlen, "jail %s", j->name);
				snprintf(err, errlen,
				         "jail name \"%s\" holds a \"/\": no capture "
				         "directory for it",
				         j->name);
				return -1;
			}
			snprintf(rel, sizeof(rel), "jail-%s/%s", j->name, fbsd_files[it]);
		} else {
			ifl_strlcpy(rel, fbsd_files[it], sizeof(rel));
		}
		ifl_strlcpy(what, rel, whatlen);
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", f->dir, rel) >= sizeof(path)) {
			snprintf(err, errlen, "%s: path too long", rel);
			return -1;
		}
		r = fbsd_read_capture(path, buf, len, &mtime, err, errlen);
		if (r == 1 &&
		    (it == FI_IPCS || it == FI_IPCS_SHM || it == FI_IPCS_SEM ||
		     it == FI_IPCS_MSG) &&
		    mtime > f->ipcs_mtime)
			f->ipcs_mtime = mtime;
		return r;
	}

	/*
	 * The running system.  A native reader (sysctlbyname(3) for the
	 * kern.ipc limits and the kern.ipc.shmsegs/sema/msqids tables,
	 * jail_getv(3) for the jails) would plug in here on FreeBSD, behind
	 * #ifdef __FreeBSD__, producing the same structures; the commands
	 * keep this file buildable and testable everywhere.
	 */
	switch (it) {
	case FI_SYSCTL:
		av[0] = (char *)"sysctl";
		av[1] = (char *)"kern.ipc";
		break;
	case FI_PAGESIZE:
		av[0] = (char *)"pagesize";
		break;
	case FI_UNAME:
		av[0] = (char *)"uname";
		av[1] = (char *)"-r";
		break;
	case FI_IPCS:
		av[0] = (char *)"ipcs";
		av[1] = (char *)"-a";
		break;
	case FI_IPCS_SHM:
	case FI_IPCS_SEM:
	case FI_IPCS_MSG:
		av[0] = (char *)"ipcs";
		av[1] = (char *)(it == FI_IPCS_SHM ? "-m" : it == FI_IPCS_SEM ? "-s" : "-q");
		av[2] = (char *)"-a";
		break;
	case FI_JLS:
		/* -q quotes values holding blanks, which -n alone prints bare */
		av[0] = (char *)"jls";
		av[1] = (char *)"-n";
		av[2] = (char *)"-q";
		break;
	case FI_PS:
		av[0] = (char *)"ps";
		av[1] = (char *)"-axo";
		av[2] = (char *)"pid,jid,uid,comm";
		break;
	case FI_JAIL_IPCS:
		/* the jail's own ipcs: what it prints is bounded like any output,
		 * and it can only claim objects the host lists with key 0 */
		snprintf(jid, sizeof(jid), "%d", (int)j->jid);
		av[0] = (char *)"jexec";
		av[1] = jid;
		av[2] = (char *)"ipcs";
		av[3] = (char *)"-a";
		break;
	case FI_JAIL_PASSWD:
	case FI_JAIL_GROUP:
		snprintf(what, whatlen, "%s/etc/%s", j->path,
		         it == FI_JAIL_PASSWD ? "passwd" : "group");
		return fbsd_read_jail_etc(j->path, it == FI_JAIL_PASSWD ? "passwd" : "group", buf,
		                          len, err, errlen);
	case FI_PASSWD:
	case FI_GROUP:
	case FI_DATE:
		/* getpwnam/getgrnam and the clock instead */
		ifl_strlcpy(what, fbsd_files[it], whatlen);
		return 0;
	}
	{
		size_t i;

		what[0] = '\0';
		for (i = 0; av[i] != NULL; i++) {
			if (i > 0)
				ifl_strlcat(what, " ", whatlen);
			ifl_strlcat(what, av[i], whatlen);
		}
	}
	return fbsd_run(av, buf, len, err, errlen);
}

static int32_t
fbsd_local_offset(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int32_t)tm.tm_gmtoff;
}

/* One jail's view: parse it with the jail's own names, then attribute. */
static int
fbsd_jail_view(struct fbsd_fetch *f, const struct fbsd_jail *j, struct snapshot *s,
               const struct fbsd_index *ix, const struct fbsd_ipcs_ctx *hostctx,
               const uint32_t *pidscope, unsigned char *named, struct collect_warnings *w)
{
	struct fbsd_idmap users, groups;
	struct fbsd_ipcs_ctx ctx;
	struct snapshot view;
	char *buf = NULL, what[COLLECT_PATH_MAX + 64], ferr[FBSD_ERR_MAX];
	size_t len;
	int r, g, rc = -1;

	r = fbsd_fetch(f, FI_JAIL_IPCS, j, &buf, &len, what, sizeof(what), ferr, sizeof(ferr));
	if (r == 0) {
		collect_warn(w, "jail %s: no %s: its objects are attributed by creator pid only",
		             j->name, what);
		return 0;
	}
	if (r == -1) {
		collect_warn(w, "jail %s: %s: its objects are attributed by creator pid only",
		             j->name, ferr);
		return 0;
	}
	fbsd_idmap_init(&users, 0, 0);
	fbsd_idmap_init(&groups, 1, 0);
	if (snapshot_init(&view) == -1) {
		free(buf);
		return -1;
	}
	for (g = 0; g < 2; g++) {
		char *ib = NULL, iwhat[COLLECT_PATH_MAX + 64];
		size_t ilen;

		r = fbsd_fetch(f, g ? FI_JAIL_GROUP : FI_JAIL_PASSWD, j, &ib, &ilen, iwhat,
		               sizeof(iwhat), ferr, sizeof(ferr));
		if (r == -1)
			collect_warn(w, "jail %s: %s", j->name, ferr);
		if (r == 1 && fbsd_parse_idfile(ib, ilen, iwhat, g ? &groups : &users, w) == -1) {
			free(ib);
			goto out;
		}
		free(ib);
	}
	/* the jail's times are printed in the jail's zone: the host's are kept */
	ctx = *hostctx;
	ctx.users = &users;
	ctx.groups = &groups;
	r = fbsd_parse_ipcs(buf, len, what, &ctx, &view, 0, w, NULL);
	if (r == -1)
		goto out;
	if (r == 0)
		collect_warn(w,
		             "jail %s: %s is not ipcs -a output: its objects are attributed by "
		             "creator pid only",
		             j->name, what);
	else
		(void)attribute_view(s, ix, &view, j->scope, j->name, pidscope, named, w);
	/* what the jail's own view could not read is missing from its share */
	if (view.unknown.n > 0 && s->scopes[j->scope].unknown[0] == '\0') {
		char why[2 * MODEL_TEXT_MAX];

		snprintf(why, sizeof(why), "jail %s: %s", j->name, view.unknown.v[0].why);
		ifl_strlcpy(s->scopes[j->scope].unknown, why, sizeof(s->scopes[j->scope].unknown));
	}
	rc = 0;
out:
	snapshot_free(&view);
	fbsd_idmap_free(&users);
	fbsd_idmap_free(&groups);
	free(buf);
	return rc;
}

/* Without kern.ipc, every limit that usage is measured against is unknown. */
static void
fbsd_limits_unknown(struct snapshot *s, const char *why)
{
	static const char *const counted[] = {"semmns", "semmni", "shmall",
	                                      "shmmni", "msgmni", "msgtql"};
	size_t i;

	for (i = 0; i < NELEM(counted); i++)
		snapshot_unknown(s, UNK_LIMIT, counted[i], "%s", why);
}

/*
 * A type whose section is in none of the ipcs outputs read: its counts are
 * unknown (a truncated or partial capture), unless kern.ipc was read and
 * has no limit of that type either, i.e. the kernel lacks the facility
 * (ipcs then prints only "SVID ... facility not configured" on stderr).
 */
static void
fbsd_sections_absent(struct snapshot *s, unsigned types, int have_sysctl, const char *what,
                     struct collect_warnings *w)
{
	static const char *const prefix[3] = {"shm", "sem", "msg"};
	size_t k, i;

	for (k = 0; k < NELEM(fbsd_secs); k++) {
		enum ipc_type t = fbsd_secs[k].type;
		int has_limits = 0;

		if (types & TB(t))
			continue;
		for (i = 0; i < s->limits.n; i++)
			if (strncmp(s->limits.v[i].name, prefix[t], 3) == 0)
				has_limits = 1;
		if (have_sysctl && !has_limits)
			continue; /* no such facility in this kernel */
		collect_warn(w, "%s: no \"%s\" section: its counts are unknown", what,
		             fbsd_secs[k].title);
		snapshot_unknown_type(s, 0, t, "no \"%s\" section in %s", fbsd_secs[k].title, what);
	}
}

/*
 * Output of another system's ipcs (macOS prints "IPC status from ...",
 * hexadecimal keys and the header before each section title): refused in
 * one line, since its columns would be misread.  1 with err, else 0.
 */
static int
fbsd_foreign_ipcs(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	static const char mac[] = "IPC status from ";

	if (len >= sizeof(mac) - 1 && memcmp(text, mac, sizeof(mac) - 1) == 0) {
		snprintf(err, errlen,
		         "%s: this is macOS ipcs output (\"IPC status from ...\"), not FreeBSD's",
		         name);
		return 1;
	}
	return 0;
}

/* The pipeline shared by both sources (see the top of this file). */
static int
fbsd_collect(struct fbsd_fetch *f, struct snapshot *s, struct proc_table *pt,
             struct collect_warnings *w, char *err, size_t errlen)
{
	static const enum fbsd_item split[] = {FI_IPCS_MSG, FI_IPCS_SHM, FI_IPCS_SEM};
	struct fbsd_idmap users, groups;
	struct fbsd_jails jails = {0, NULL};
	struct fbsd_procs procs = {0, NULL};
	struct fbsd_index ix = {0, NULL};
	struct fbsd_ipcs_ctx ctx;
	uint32_t *pidscope = NULL;
	unsigned char *named = NULL;
	char *buf = NULL, *texts[4] = {NULL}, what[COLLECT_PATH_MAX + 64],
	     names[4][COLLECT_PATH_MAX + 64], ferr[FBSD_ERR_MAX], line[MODEL_NAME_MAX];
	size_t len, lens[4] = {0}, ntexts = 0, i;
	int r, rc = -1, nsec = 0, ps_complete = 0, have_sysctl = 0;
	unsigned types = 0, t1;

	fbsd_idmap_init(&users, 0, f->live);
	fbsd_idmap_init(&groups, 1, f->live);
	if (pt != NULL) {
		pt->n = 0; /* its memory is kept */
		pt->valid = 0;
	}

	/* limits: without them the usage is still counted, against unknown limits */
	r = fbsd_fetch(f, FI_SYSCTL, NULL, &buf, &len, what, sizeof(what), ferr, sizeof(ferr));
	if (r != 1) {
		char why[FBSD_ERR_MAX];

		if (r == 0)
			snprintf(why, sizeof(why), "%s: missing", what);
		else
			ifl_strlcpy(why, ferr, sizeof(why));
		collect_warn(w, "%s: the limits are unknown", why);
		fbsd_limits_unknown(s, why);
	} else if (fbsd_parse_sysctl(buf, len, what, &s->limits, w) == 0) {
		collect_warn(w, "%s: no shm, sem or msg limits (SysV IPC not in the kernel?)",
		             what);
	}
	have_sysctl = r == 1;
	free(buf);
	buf = NULL;

	/* page size */
	r = fbsd_fetch(f, FI_PAGESIZE, NULL, &buf, &len, what, sizeof(what), ferr, sizeof(ferr));
	if (r == 1) {
		if (fbsd_parse_pagesize(buf, len, &s->page_size, ferr, sizeof(ferr)) == -1) {
			snprintf(err, errlen, "%s: %s", what, ferr);
			goto out;
		}
	} else if (f->live) {
		long ps = sysconf(_SC_PAGESIZE);

		if (ps < 512 || ps > 1024 * 1024 || (ps & (ps - 1)) != 0) {
			snprintf(err, errlen, "%s; sysconf(_SC_PAGESIZE) gives no page size", ferr);
			goto out;
		}
		collect_warn(w, "%s; page size %ld from sysconf", ferr, ps);
		s->page_size = (uint32_t)ps;
	} else {
		if (r == 0)
			snprintf(err, errlen, "%s/%s: missing%s", f->dir, what,
			         have_sysctl
			             ? ""
			             : ", and no sysctl-kern.ipc.txt: not a FreeBSD capture?");
		else
			snprintf(err, errlen, "%s", ferr);
		goto out;
	}
	free(buf);
	buf = NULL;

	/* release: optional */
	r = fbsd_fetch(f, FI_UNAME, NULL, &buf, &len, what, sizeof(what), ferr, sizeof(ferr));
	if (r == -1)
		collect_warn(w, "%s", ferr);
	if (r == 1) {
		if (fbsd_small(buf, len, line, sizeof(line)) == 0)
			ifl_strlcpy(s->os_release, line, sizeof(s->os_release));
		else
			collect_warn(w, "%s: not one line of at most %zu bytes: release unknown",
			             what, sizeof(line) - 1);
	}
	free(buf);
	buf = NULL;

	/* the host's names: optional */
	for (i = 0; i < 2; i++) {
		r = fbsd_fetch(f, i ? FI_GROUP : FI_PASSWD, NULL, &buf, &len, what, sizeof(what),
		               ferr, sizeof(ferr));
		if (r == -1)
			collect_warn(w, "%s", ferr);
		if (r == 1 && fbsd_parse_idfile(buf, len, what, i ? &groups : &users, w) == -1) {
			snprintf(err, errlen, "%s: out of memory", what);
			goto out;
		}
		free(buf);
		buf = NULL;
	}

	/* the host's view: ipcs -a, else its three parts */
	r = fbsd_fetch(f, FI_IPCS, NULL, &texts[0], &lens[0], names[0], sizeof(names[0]), ferr,
	               sizeof(ferr));
	if (r == 1) {
		ntexts = 1;
	} else {
		if (r == -1) {
			if (!f->live) {
				snprintf(err, errlen, "%s", ferr);
				goto out;
			}
			collect_warn(w, "%s; trying ipcs -m, -s, -q one by one", ferr);
		}
		for (i = 0; i < NELEM(split); i++) {
			r = fbsd_fetch(f, split[i], NULL, &texts[ntexts], &lens[ntexts],
			               names[ntexts], sizeof(names[ntexts]), ferr, sizeof(ferr));
			if (r == -1)
				collect_warn(w, "%s", ferr);
			if (r == 1)
				ntexts++;
		}
		if (ntexts == 0) {
			if (f->live)
				snprintf(err, errlen, "ipcs failed: %s", ferr);
			else
				snprintf(err, errlen,
				         "%s: none of ipcs-a.txt, ipcs-ma.txt, "
				         "ipcs-as.txt, ipcs-aq.txt",
				         f->dir);
			goto out;
		}
	}

	/* when: the clock right after ipcs, or what the capture says */
	memset(&ctx, 0, sizeof(ctx));
	if (f->live) {
		ctx.capture_time = now_unix();
		ctx.utc_offset = fbsd_local_offset(ctx.capture_time);
	} else {
		r = fbsd_fetch(f, FI_DATE, NULL, &buf, &len, what, sizeof(what), ferr,
		               sizeof(ferr));
		if (r == -1) {
			snprintf(err, errlen, "%s", ferr);
			goto out;
		}
		if (r == 1) {
			if (fbsd_parse_date(buf, len, &ctx.capture_time, &ctx.utc_offset, ferr,
			                    sizeof(ferr)) == -1) {
				snprintf(err, errlen, "%s: %s", what, ferr);
				goto out;
			}
		} else {
			/* written right after ipcs ran; its zone is unknown: UTC */
			ctx.capture_time = f->ipcs_mtime;
			ctx.utc_offset = 0;
		}
		free(buf);
		buf = NULL;
	}
	ctx.users = &users;
	ctx.groups = &groups;

	for (i = 0; i < ntexts; i++) {
		if (fbsd_foreign_ipcs(texts[i], lens[i], names[i], err, errlen))
			goto out;
		r = fbsd_parse_ipcs(texts[i], lens[i], names[i], &ctx, s, 0, w, &t1);
		if (r == -1) {
			snprintf(err, errlen, "%s: out of memory", names[i]);
			goto out;
		}
		if (r == 0 && ntexts > 1)
			collect_warn(w, "%s: no ipcs section in it", names[i]);
		nsec += r;
		types |= t1;
	}
	if (nsec == 0) {
		snprintf(err, errlen,
		         "%s: no \"Shared Memory:\", \"Semaphores:\" or \"Message "
		         "Queues:\" section with a header: not ipcs -a output",
		         names[0]);
		goto out;
	}
	fbsd_sections_absent(s, types, have_sysctl, ntexts > 1 ? "the ipcs files" : names[0], w);
	if (fbsd_dedupe(s, w) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	/* jails and processes: optional */
	r = fbsd_fetch(f, FI_JLS, NULL, &buf, &len, what, sizeof(what), ferr, sizeof(ferr));
	if (r == -1)
		collect_warn(w, "%s: no jails known", ferr);
	if (r == 1 && fbsd_parse_jls(buf, len, what, s, &jails, w) == -1) {
		snprintf(err, errlen, "%s: out of memory", what);
		goto out;
	}
	free(buf);
	buf = NULL;
	if (jails.n > 0 || pt != NULL) {
		r = fbsd_fetch(f, FI_PS, NULL, &buf, &len, what, sizeof(what), ferr, sizeof(ferr));
		if (r == -1)
			collect_warn(w, "%s", ferr);
		if (r == 1 && parse_ps(buf, len, what, &procs, &ps_complete, w) == -1) {
			snprintf(err, errlen, "%s: out of memory", what);
			goto out;
		}
		free(buf);
		buf = NULL;
	}

	/*
	 * Attribution: each jail's own view, then creator pids.  Where the pids
	 * are known first, a jail's view also names the owners of the objects
	 * they will give it.
	 */
	if (fbsd_index_build(s, &ix) == -1 || (pidscope = cpid_scopes(s, &jails, &procs)) == NULL ||
	    (named = calloc(s->nobjects ? s->nobjects : 1, 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < jails.n; i++) {
		const struct fbsd_jail *j = &jails.v[i];
		const struct ipc_scope *sc = &s->scopes[j->scope];

		/* nothing to see in a jail without SysV IPC */
		if (sc->iso[IPC_SHM] == ISO_DISABLE && sc->iso[IPC_SEM] == ISO_DISABLE &&
		    sc->iso[IPC_MSG] == ISO_DISABLE)
			continue;
		if (fbsd_jail_view(f, j, s, &ix, &ctx, pidscope, named, w) == -1) {
			snprintf(err, errlen, "jail %s: out of memory", j->name);
			goto out;
		}
	}
	(void)apply_cpid(s, pidscope, named);
	if (pt != NULL && fill_procs(pt, &procs, ps_complete, &jails, w) == -1) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}

	ifl_strlcpy(s->os, "FreeBSD", sizeof(s->os));
	rc = 0;
out:
	if (rc == -1) {
		/* nothing half-read is left behind */
		s->nobjects = 0;
		s->nscopes = s->nscopes > 0 ? 1 : 0;
		memset(&s->limits, 0, sizeof(s->limits));
		s->page_size = 0;
		s->os_release[0] = '\0';
		if (pt != NULL) {
			pt->n = 0;
			pt->valid = 0;
		}
	}
	free(pidscope);
	free(named);
	for (i = 0; i < NELEM(texts); i++)
		free(texts[i]);
	free(buf);
	fbsd_index_free(&ix);
	fbsd_jails_free(&jails);
	fbsd_procs_free(&procs);
	fbsd_idmap_free(&users);
	fbsd_idmap_free(&groups);
	return rc;
}

int
collect_freebsd(const struct source *src, struct snapshot *s, struct proc_table *pt,
                struct collect_warnings *w, char *err, size_t errlen)
{
	struct fbsd_fetch f;
	struct stat st;

	memset(&f, 0, sizeof(f));
	switch (src->kind) {
	case SRC_FREEBSD:
		f.live = 1;
		f.dir = "";
		break;
	case SRC_FREEBSD_CAPTURE:
		if (stat(src->dir, &st) == -1) {
			snprintf(err, errlen, "freebsd-capture:%s: %s", src->dir, strerror(errno));
			return -1;
		}
		if (!S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "freebsd-capture:%s: not a directory", src->dir);
			return -1;
		}
		f.dir = src->dir;
		break;
	default:
		snprintf(err, errlen, "collect_freebsd: not a FreeBSD source (kind %d)",
		         (int)src->kind);
		return -1;
	}
	return fbsd_collect(&f, s, pt, w, err, errlen);
}
