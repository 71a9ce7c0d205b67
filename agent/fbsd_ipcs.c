/*
 * fbsd_ipcs.c: `ipcs -a` (or its parts -ma, -as, -aq) into objects
 * (collect_freebsd.h).
 *
 * Rows are split on white space, not on column positions (some columns are
 * wider than their headers); the header names the columns, so listings with
 * fewer columns (ipcs without -a) are read too, with what they lack
 * unknown.  Times are "H:MM:SS" local time without a date, resolved against
 * the capture time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fbsd_local.h"
#include "util.h"

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

	if (fbsd_all_digits(v)) {
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
		if (r == 0 && !fbsd_all_digits(v) && strlen(v) < sizeof(o->owner))
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
		r = ipcs_u64(v, INT32_MAX, &o->nsems, name, no, cs, w);
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
	fbsd_lines_init(&it, text, len);
	while (fbsd_lines_next(&it, &line, &n)) {
		const struct fbsd_secspec *spec = NULL;
		int cut = line + n == it.end; /* no newline after it: the output ended */
		struct ipc_object *o;

		if (fbsd_line_take(line, n, buf, sizeof(buf), name, it.no, w) == -1) {
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

/*
 * Output of another system's ipcs (macOS prints "IPC status from ...",
 * hexadecimal keys and the header before each section title): refused in
 * one line, since its columns would be misread.  1 with err, else 0.
 */
int
fbsd_ipcs_foreign(const char *text, size_t len, const char *name, char *err, size_t errlen)
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

/*
 * A type whose section is in none of the ipcs outputs read: its counts are
 * unknown (a truncated or partial capture), unless the whole kern.ipc
 * listing was read and has no limit of that type either, i.e. the kernel
 * lacks the facility
 * (ipcs then prints only "SVID ... facility not configured" on stderr).
 */
void
fbsd_ipcs_absent(struct snapshot *s, unsigned types, int sysctl_whole, const char *what,
                 struct collect_warnings *w)
{
	size_t k;

	for (k = 0; k < NELEM(fbsd_secs); k++) {
		enum ipc_type t = fbsd_secs[k].type;

		if (types & TB(t))
			continue;
		if (sysctl_whole && !fbsd_has_limits(&s->limits, t))
			continue; /* no such facility in this kernel */
		collect_warn(w, "%s: no \"%s\" section: its counts are unknown", what,
		             fbsd_secs[k].title);
		snapshot_unknown_type(s, 0, t, "no \"%s\" section in %s", fbsd_secs[k].title, what);
	}
}
