/*
 * view_text.c: the host and hosts documents as text tables (view.h), in the
 * manner of lsipc and ipcs -a.
 *
 * The documents come from remote hosts, so they are read defensively: a
 * missing or mistyped field shows as "-", and every string is cleaned before
 * it reaches the terminal (control characters, C1 controls, bidirectional
 * overrides and invalid UTF-8 become '?').  Tables are printed in two passes
 * over the document, one to measure the columns and one to print, so nothing
 * is allocated per row.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "text.h"
#include "util.h"
#include "mpread.h"
#include "view.h"

#define VT_CELL     512 /* bytes of one cell, NUL included; longer text is cut */
#define VT_COLS     24
#define VT_MAXUSAGE 64 /* usage entries a limit row is checked against */
#define VT_WARN     80.0
#define VT_CRIT     90.0

struct vt_cell {
	char s[VT_CELL];
	size_t w; /* display width: code points */
};

/* About 28 KiB: allocated once per rendering, not on the stack. */
struct vt_table {
	size_t ncols;
	struct vt_cell hdr[VT_COLS];
	int right[VT_COLS]; /* numbers are right-aligned, header too */
	size_t width[VT_COLS];
	struct vt_cell cells[VT_COLS]; /* the row being measured or printed */
	struct vt_cell tmp[5];         /* scratch for lines outside tables */
};

/* Fills cells[0..ncols) for row i; returns 0 to leave the row out. */
typedef int (*vt_row_fn)(const void *ctx, size_t i, struct vt_cell *cells);

static size_t
vt_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Copies n bytes of untrusted text into the cell, cleaned (text.h) and bounded. */
static void
vt_setn(struct vt_cell *c, const char *s, size_t n)
{
	text_clean_cell(c->s, sizeof(c->s), s, n);
	c->w = vt_width(c->s);
}

static void
vt_set(struct vt_cell *c, const char *s)
{
	vt_setn(c, s, strlen(s));
}

static void vt_setf(struct vt_cell *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Our own formatting (numbers, fixed words): trusted, only bounded. */
static void
vt_setf(struct vt_cell *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(c->s, sizeof(c->s), fmt, ap) < 0)
		c->s[0] = '\0';
	va_end(ap);
	c->w = vt_width(c->s);
}

/* A scalar for display: integers exactly, strings cleaned, else "-". */
static void
vt_any(struct vt_cell *c, const msgpack_object *o)
{
	if (o == NULL) {
		vt_set(c, "-");
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		vt_setn(c, o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		vt_setf(c, "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		vt_setf(c, "%" PRId64, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		vt_setf(c, "%.1f", o->via.f64);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		vt_set(c, o->via.boolean ? "yes" : "no");
		break;
	default:
		vt_set(c, "-");
		break;
	}
}

/* Strings only (names, times): anything else is "-". */
static void
vt_str(struct vt_cell *c, const msgpack_object *o)
{
	if (mpr_is_str(o))
		vt_setn(c, o->via.str.ptr, o->via.str.size);
	else
		vt_set(c, "-");
}

/* A figure that may be unknown: nil is "?" (unknown is never shown as 0 or "-"). */
static void
vt_num(struct vt_cell *c, const msgpack_object *o)
{
	if (o != NULL && o->type == MSGPACK_OBJECT_NIL)
		vt_set(c, "?");
	else
		vt_any(c, o);
}

/* Whether a usage entry says something about it is unknown. */
static int
vt_unknown(const msgpack_object *it)
{
	return mpr_is_str(mpr_get(it, "unknown"));
}

/* A usage entry's field: its number, "?" when the entry says it is unknown, else "-". */
static void
vt_usage_num(struct vt_cell *c, const msgpack_object *it, const char *k)
{
	const msgpack_object *o = mpr_get(it, k);

	if ((o == NULL || o->type == MSGPACK_OBJECT_NIL) && vt_unknown(it))
		vt_set(c, "?");
	else
		vt_any(c, o);
}

/* A usage entry's use%: "82.4%", "?" when unknown, "-" when there is no limit. */
static void
vt_pct(struct vt_cell *c, const msgpack_object *it)
{
	double v;

	if (mpr_num(mpr_get(it, "pct"), &v) == 0)
		vt_setf(c, "%.1f%%", v);
	else if (vt_unknown(it))
		vt_set(c, "?");
	else
		vt_set(c, "-");
}

static void
vt_line(FILE *fp, const struct vt_table *t, const struct vt_cell *cells)
{
	size_t c, pad;

	for (c = 0; c < t->ncols; c++) {
		pad = t->width[c] > cells[c].w ? t->width[c] - cells[c].w : 0;
		if (c > 0)
			fputs("  ", fp);
		if (t->right[c])
			fprintf(fp, "%*s%s", (int)pad, "", cells[c].s);
		else if (c + 1 < t->ncols)
			fprintf(fp, "%s%*s", cells[c].s, (int)pad, "");
		else
			fputs(cells[c].s, fp); /* no trailing blanks */
	}
	fputc('\n', fp);
}

/* Measures every row, then prints the header and the rows. */
static void
vt_print(FILE *fp, struct vt_table *t, size_t nrows, vt_row_fn fn, const void *ctx)
{
	struct vt_cell *cells = t->cells;
	size_t pass, i, c;

	for (c = 0; c < t->ncols; c++)
		t->width[c] = t->hdr[c].w;
	for (pass = 0; pass < 2; pass++) {
		if (pass == 1)
			vt_line(fp, t, t->hdr);
		for (i = 0; i < nrows; i++) {
			for (c = 0; c < t->ncols; c++)
				vt_set(&cells[c], "-");
			if (!fn(ctx, i, cells))
				continue;
			for (c = 0; c < t->ncols; c++) {
				if (pass == 0 && cells[c].w > t->width[c])
					t->width[c] = cells[c].w;
			}
			if (pass == 1)
				vt_line(fp, t, cells);
		}
	}
}

/* Sets up a table from "NAME" or ">NAME" (right-aligned) headers. */
static void
vt_table_init(struct vt_table *t, const char *const *hdr, size_t n)
{
	size_t c;

	t->ncols = 0;
	memset(t->right, 0, sizeof(t->right));
	for (c = 0; c < n && c < VT_COLS; c++) {
		t->right[c] = hdr[c][0] == '>';
		vt_set(&t->hdr[c], hdr[c] + t->right[c]);
	}
	t->ncols = c;
}

/* hosts */

struct vt_hosts {
	const msgpack_object *rows;
	size_t nlim;
	const msgpack_object *lim[VT_COLS]; /* limit names (STR), usage column order */
};

static int
vt_hosts_row(const void *vctx, size_t i, struct vt_cell *cells)
{
	const struct vt_hosts *h = vctx;
	const msgpack_object *row = &h->rows->via.array.ptr[i], *usage;
	size_t k;

	vt_str(&cells[0], mpr_get(row, "host"));
	vt_str(&cells[1], mpr_get(row, "os"));
	vt_str(&cells[2], mpr_get(row, "status"));
	usage = mpr_get(row, "usage");
	for (k = 0; k < h->nlim; k++) {
		const msgpack_object *name = h->lim[k];
		const msgpack_object *it = mpr_getn(usage, name->via.str.ptr, name->via.str.size);

		vt_pct(&cells[3 + k], it);
	}
	vt_str(&cells[3 + h->nlim], mpr_get(row, "last_seen"));
	return 1;
}

int
view_text_hosts(const msgpack_object *rows, FILE *fp)
{
	struct vt_hosts h;
	struct vt_table *t;
	static const char *const fixed[] = {"HOST", "OS", "STATUS"};
	uint32_t i, k;
	size_t c, n;

	if (rows == NULL || rows->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	if (rows->via.array.size == 0) {
		fputs("no hosts\n", fp);
		return ferror(fp) ? -1 : 0;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	memset(&h, 0, sizeof(h));
	h.rows = rows;
	/* The limit columns: every usage name, in order of first appearance. */
	for (i = 0; i < rows->via.array.size; i++) {
		const msgpack_object *u = mpr_get(&rows->via.array.ptr[i], "usage");

		for (k = 0; u != NULL && u->type == MSGPACK_OBJECT_MAP && k < u->via.map.size;
		     k++) {
			const msgpack_object *name = &u->via.map.ptr[k].key;

			if (name->type != MSGPACK_OBJECT_STR)
				continue;
			for (c = 0; c < h.nlim; c++)
				if (mpr_streq2(h.lim[c], name))
					break;
			if (c == h.nlim && h.nlim < VT_COLS - 4)
				h.lim[h.nlim++] = name;
		}
	}
	vt_table_init(t, fixed, NELEM(fixed));
	for (c = 0; c < h.nlim; c++) {
		char *p;

		vt_setn(&t->hdr[3 + c], h.lim[c]->via.str.ptr, h.lim[c]->via.str.size);
		for (p = t->hdr[3 + c].s; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		t->right[3 + c] = 1;
	}
	n = 3 + h.nlim;
	vt_set(&t->hdr[n], "LAST SEEN");
	t->ncols = n + 1;
	vt_print(fp, t, rows->via.array.size, vt_hosts_row, &h);
	free(t);
	return ferror(fp) ? -1 : 0;
}

/* host */

/* The usage entry at index i of a usage map, or NULL. */
static const msgpack_object_kv *
vt_kv(const msgpack_object *map, size_t i)
{
	if (map == NULL || map->type != MSGPACK_OBJECT_MAP || i >= map->via.map.size)
		return NULL;
	return &map->via.map.ptr[i];
}

/* "sorthat  FreeBSD 11.2-RELEASE  status warn  last seen 2026-11-26T14:00:00Z" */
static void
vt_summary(const msgpack_object *doc, struct vt_cell *c, FILE *fp)
{
	const msgpack_object *o;

	if ((o = mpr_get(doc, "host")) != NULL) {
		vt_str(c, o);
		fprintf(fp, "%s  ", c->s);
	}
	vt_str(c, mpr_get(doc, "os"));
	fputs(c->s, fp);
	if (mpr_is_str(o = mpr_get(doc, "os_release")) && o->via.str.size > 0) {
		vt_str(c, o);
		fprintf(fp, " %s", c->s);
	}
	if ((o = mpr_get(doc, "status")) != NULL) {
		vt_str(c, o);
		fprintf(fp, "  status %s", c->s);
	}
	if ((o = mpr_get(doc, "last_seen")) != NULL) {
		vt_str(c, o);
		fprintf(fp, "  last seen %s", c->s);
	} else if ((o = mpr_get(doc, "taken")) != NULL) {
		vt_str(c, o);
		fprintf(fp, "  taken %s", c->s);
	}
	{
		uint64_t dropped;

		if (mpr_u64(mpr_get(doc, "dropped"), &dropped) == 0 && dropped > 0)
			fprintf(fp, "  dropped %llu (agent spool full)",
			        (unsigned long long)dropped);
	}
	fputc('\n', fp);
}

/*
 * "  ! semmns at 82.4%: 280 of 340 used, 60 free", "!!" from VT_CRIT on; for
 * a scope with its own limits "  ! semmni at 100.0% in ipcns:4026532200: ...".
 * scope is NULL for the host's pool.
 */
static void
vt_alarms(const msgpack_object *usage, const msgpack_object *scope, struct vt_cell *tmp, FILE *fp)
{
	struct vt_cell *name = &tmp[0], *used = &tmp[1], *limit = &tmp[2], *freec = &tmp[3];
	struct vt_cell *where = &tmp[4];
	const msgpack_object_kv *kv;
	uint64_t u, l;
	double pct;
	size_t i;

	if (scope != NULL)
		vt_str(where, scope);
	for (i = 0; (kv = vt_kv(usage, i)) != NULL; i++) {
		/* written so that a NaN from the document is no alarm */
		if (mpr_num(mpr_get(&kv->val, "pct"), &pct) == -1 || !(pct >= VT_WARN))
			continue;
		vt_str(name, &kv->key);
		vt_any(used, mpr_get(&kv->val, "used"));
		vt_any(limit, mpr_get(&kv->val, "limit"));
		if (mpr_u64(mpr_get(&kv->val, "used"), &u) == 0 &&
		    mpr_u64(mpr_get(&kv->val, "limit"), &l) == 0)
			vt_setf(freec, "%" PRIu64, l > u ? l - u : 0);
		else
			vt_set(freec, "-");
		fprintf(fp, "  %s %s at %.1f%%%s%s: %s of %s used, %s free\n",
		        pct >= VT_CRIT ? "!!" : "!", name->s, pct, scope != NULL ? " in " : "",
		        scope != NULL ? where->s : "", used->s, limit->s, freec->s);
	}
}

/*
 * "  ? semmns unknown: ipcs-as.txt has no NSEMS column (ipcs without -a)":
 * every usage figure that could not be read, and why, right under the
 * alarms (scope NULL: the host's pool; else "in ID").
 */
static void
vt_unknowns(const msgpack_object *usage, const msgpack_object *scope, struct vt_cell *tmp, FILE *fp)
{
	struct vt_cell *name = &tmp[0], *why = &tmp[1], *where = &tmp[4];
	const msgpack_object_kv *kv;
	size_t i;

	if (scope != NULL)
		vt_str(where, scope);
	for (i = 0; (kv = vt_kv(usage, i)) != NULL; i++) {
		if (!vt_unknown(&kv->val))
			continue;
		vt_str(name, &kv->key);
		vt_str(why, mpr_get(&kv->val, "unknown"));
		fprintf(fp, "  ? %s unknown%s%s: %s\n", name->s, scope != NULL ? " in " : "",
		        scope != NULL ? where->s : "", why->s);
	}
}

/* Alarms of the scopes that have their own limits (IPC namespaces). */
static void
vt_scope_alarms(const msgpack_object *scopes, struct vt_cell *tmp, FILE *fp)
{
	const msgpack_object *own, *sc;
	size_t i;

	for (i = 0; i < mpr_arrsize(scopes); i++) {
		sc = &scopes->via.array.ptr[i];
		own = mpr_get(sc, "own_limits");
		if (own != NULL && own->type == MSGPACK_OBJECT_BOOLEAN && own->via.boolean)
			vt_alarms(mpr_get(sc, "usage"), mpr_get(sc, "id"), tmp, fp);
	}
}

struct vt_limits {
	const msgpack_object *usage, *limits;
	size_t nusage;
};

static int
vt_limits_row(const void *vctx, size_t i, struct vt_cell *cells)
{
	const struct vt_limits *x = vctx;
	const msgpack_object_kv *kv;
	size_t k;
	uint64_t u, l;

	if (i < x->nusage) {
		kv = vt_kv(x->usage, i);
		vt_str(&cells[0], &kv->key);
		vt_usage_num(&cells[1], &kv->val, "used");
		vt_usage_num(&cells[2], &kv->val, "limit");
		vt_pct(&cells[3], &kv->val);
		if (mpr_u64(mpr_get(&kv->val, "used"), &u) == 0 &&
		    mpr_u64(mpr_get(&kv->val, "limit"), &l) == 0)
			vt_setf(&cells[4], "%" PRIu64, l > u ? l - u : 0);
		else if (vt_unknown(&kv->val))
			vt_set(&cells[4], "?");
		return 1;
	}
	if ((kv = vt_kv(x->limits, i - x->nusage)) == NULL)
		return 0;
	/* Limits already shown with their usage are left out. */
	for (k = 0; k < x->nusage && k < VT_MAXUSAGE; k++) {
		const msgpack_object *uk = &vt_kv(x->usage, k)->key;

		if (mpr_streq2(&kv->key, uk))
			return 0;
	}
	vt_str(&cells[0], &kv->key);
	vt_any(&cells[2], &kv->val);
	return 1;
}

/* "shm=new sem=inherit msg=new", or "-" when isolation is unknown (nil). */
static void
vt_isolation(struct vt_cell *c, const msgpack_object *iso)
{
	static const char *const types[] = {"shm", "sem", "msg"};
	struct vt_cell v;
	char out[VT_CELL];
	size_t i;

	if (iso == NULL || iso->type != MSGPACK_OBJECT_MAP) {
		vt_set(c, "-");
		return;
	}
	out[0] = '\0';
	for (i = 0; i < 3; i++) {
		vt_str(&v, mpr_get(iso, types[i]));
		/* each v.s is under VT_CELL: cut at 150 so three fit in out */
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s=%.150s",
		         i > 0 ? " " : "", types[i], v.s);
	}
	vt_set(c, out);
}

static int
vt_scopes_row(const void *vctx, size_t i, struct vt_cell *cells)
{
	const msgpack_object *scopes = vctx, *sc = &scopes->via.array.ptr[i], *usage;

	vt_str(&cells[0], mpr_get(sc, "id"));
	vt_str(&cells[1], mpr_get(sc, "kind"));
	vt_str(&cells[2], mpr_get(sc, "name"));
	vt_isolation(&cells[3], mpr_get(sc, "isolation"));
	vt_any(&cells[4], mpr_get(sc, "objects"));
	usage = mpr_get(sc, "usage");
	vt_usage_num(&cells[5], mpr_get(usage, "semmns"), "used");
	vt_usage_num(&cells[6], mpr_get(usage, "shmall"), "used");
	return 1;
}

static int
vt_objects_row(const void *vctx, size_t i, struct vt_cell *cells)
{
	const msgpack_object *objs = vctx, *o = &objs->via.array.ptr[i], *type;

	type = mpr_get(o, "type");
	vt_str(&cells[0], type);
	vt_any(&cells[1], mpr_get(o, "id"));
	vt_any(&cells[2], mpr_get(o, "key"));
	vt_str(&cells[3], mpr_get(o, "mode"));
	/* the owner's name where the collector knew it, else the uid */
	if (mpr_is_str(mpr_get(o, "owner")) && mpr_get(o, "owner")->via.str.size > 0)
		vt_str(&cells[4], mpr_get(o, "owner"));
	else
		vt_any(&cells[4], mpr_get(o, "uid"));
	vt_str(&cells[5], mpr_get(o, "scope"));
	if (mpr_streq(type, "shm")) {
		vt_num(&cells[6], mpr_get(o, "size"));
		vt_num(&cells[7], mpr_get(o, "nattch"));
		vt_num(&cells[8], mpr_get(o, "cpid"));
		vt_num(&cells[9], mpr_get(o, "lpid"));
	} else if (mpr_streq(type, "sem")) {
		vt_num(&cells[6], mpr_get(o, "nsems"));
	} else if (mpr_streq(type, "msg")) {
		vt_num(&cells[6], mpr_get(o, "qbytes"));
	}
	vt_str(&cells[10], mpr_get(o, "ctime"));
	return 1;
}

/* Rank of a severity string: crit 0, warn 1, info 2, anything else 3. */
static int
vt_sev_rank(const msgpack_object *sev)
{
	if (mpr_streq(sev, "crit"))
		return 0;
	if (mpr_streq(sev, "warn"))
		return 1;
	if (mpr_streq(sev, "info"))
		return 2;
	return 3;
}

/*
 * The FINDINGS section, most severe first (document order within a
 * severity, so no allocation): "warn  orphan  MESSAGE" and, when there is
 * one, the command on the next line, indented by four spaces.
 */
static void
vt_findings(const msgpack_object *findings, struct vt_cell *tmp, FILE *fp)
{
	struct vt_cell *sev = &tmp[0], *kind = &tmp[1], *msg = &tmp[2], *cmd = &tmp[3];
	size_t i, n = mpr_arrsize(findings), wsev = 0, wkind = 0;
	const msgpack_object *f, *c;
	int rank;

	if (n == 0) {
		fputs("no findings\n", fp);
		return;
	}
	for (i = 0; i < n; i++) {
		f = &findings->via.array.ptr[i];
		vt_str(sev, mpr_get(f, "severity"));
		vt_str(kind, mpr_get(f, "kind"));
		if (sev->w > wsev)
			wsev = sev->w;
		if (kind->w > wkind)
			wkind = kind->w;
	}
	fputs("FINDINGS\n", fp);
	for (rank = 0; rank < 4; rank++) {
		for (i = 0; i < n; i++) {
			f = &findings->via.array.ptr[i];
			if (vt_sev_rank(mpr_get(f, "severity")) != rank)
				continue;
			vt_str(sev, mpr_get(f, "severity"));
			vt_str(kind, mpr_get(f, "kind"));
			vt_str(msg, mpr_get(f, "message"));
			fprintf(fp, "%s%*s  %s%*s  %s\n", sev->s, (int)(wsev - sev->w), "", kind->s,
			        (int)(wkind - kind->w), "", msg->s);
			if (mpr_is_str(c = mpr_get(f, "command")) && c->via.str.size > 0) {
				vt_str(cmd, c);
				fprintf(fp, "    %s\n", cmd->s);
			}
		}
	}
}

/*
 * A limits table for each scope with limits of its own (an IPC namespace):
 * its usage against its own pool, headed "LIMITS IN ID (NAME)".
 */
static void
vt_scope_limits(const msgpack_object *scopes, struct vt_table *t, FILE *fp)
{
	static const char *const hdr[] = {"LIMIT", ">USED", ">LIMIT", ">USE%", ">FREE"};
	const msgpack_object *own, *sc;
	struct vt_limits lim;
	size_t i;

	for (i = 0; i < mpr_arrsize(scopes); i++) {
		sc = &scopes->via.array.ptr[i];
		own = mpr_get(sc, "own_limits");
		if (own == NULL || own->type != MSGPACK_OBJECT_BOOLEAN || !own->via.boolean)
			continue;
		vt_str(&t->tmp[0], mpr_get(sc, "id"));
		vt_str(&t->tmp[1], mpr_get(sc, "name"));
		if (strcmp(t->tmp[0].s, t->tmp[1].s) == 0)
			fprintf(fp, "\nLIMITS IN %s\n", t->tmp[0].s);
		else
			fprintf(fp, "\nLIMITS IN %s (%s)\n", t->tmp[0].s, t->tmp[1].s);
		lim.usage = mpr_get(sc, "usage");
		lim.limits = mpr_get(sc, "limits");
		lim.nusage = mpr_mapsize(lim.usage);
		vt_table_init(t, hdr, NELEM(hdr));
		vt_print(fp, t, lim.nusage + mpr_mapsize(lim.limits), vt_limits_row, &lim);
	}
}

/*
 * Recommendations that need a change, grouped by the file they go into,
 * ready to paste: "WHAT TO CHANGE", then per file its lines with the figures
 * behind them.  Nothing is printed when every limit has its headroom.
 */
static void
vt_recommendations(const msgpack_object *recs, struct vt_cell *tmp, FILE *fp)
{
	struct vt_cell *file = &tmp[0], *line = &tmp[1], *other = &tmp[2];
	size_t i, k, n = mpr_arrsize(recs), shown = 0;

	for (i = 0; i < n; i++) {
		const msgpack_object *r = &recs->via.array.ptr[i], *nc = mpr_get(r, "needs_change");
		const msgpack_object *rb;
		int first_of_file = 1;

		if (nc == NULL || nc->type != MSGPACK_OBJECT_BOOLEAN || !nc->via.boolean)
			continue;
		/* print each file once, at its first recommendation */
		for (k = 0; k < i; k++) {
			const msgpack_object *o = &recs->via.array.ptr[k];
			const msgpack_object *onc = mpr_get(o, "needs_change");

			if (onc != NULL && onc->type == MSGPACK_OBJECT_BOOLEAN &&
			    onc->via.boolean && mpr_streq2(mpr_get(o, "file"), mpr_get(r, "file")))
				first_of_file = 0;
		}
		if (!first_of_file)
			continue;
		if (shown++ == 0)
			fputs("\nWHAT TO CHANGE (twice the peak, or the peak plus the largest "
			      "consumer)\n",
			      fp);
		vt_str(file, mpr_get(r, "file"));
		rb = mpr_get(r, "reboot");
		fprintf(fp, "  %s%s\n", file->s,
		        rb != NULL && rb->type == MSGPACK_OBJECT_BOOLEAN && rb->via.boolean
		            ? "  (takes effect after a reboot)"
		            : "");
		for (k = i; k < n; k++) {
			const msgpack_object *o = &recs->via.array.ptr[k];
			const msgpack_object *onc = mpr_get(o, "needs_change");
			uint64_t cur = 0, peak = 0, largest = 0;
			size_t j;
			int dup = 0;

			if (onc == NULL || onc->type != MSGPACK_OBJECT_BOOLEAN ||
			    !onc->via.boolean ||
			    !mpr_streq2(mpr_get(o, "file"), mpr_get(r, "file")))
				continue;
			/* Linux's kernel.sem line serves semmns and semmni alike: print it once */
			for (j = i; j < k && !dup; j++) {
				const msgpack_object *p = &recs->via.array.ptr[j];
				const msgpack_object *pnc = mpr_get(p, "needs_change");

				dup = pnc != NULL && pnc->type == MSGPACK_OBJECT_BOOLEAN &&
				      pnc->via.boolean &&
				      mpr_streq2(mpr_get(p, "line"), mpr_get(o, "line"));
			}
			if (dup)
				continue;
			vt_str(line, mpr_get(o, "line"));
			vt_str(other, mpr_get(o, "limit"));
			mpr_u64(mpr_get(o, "current"), &cur);
			mpr_u64(mpr_get(o, "peak"), &peak);
			mpr_u64(mpr_get(o, "largest_consumer"), &largest);
			fprintf(fp,
			        "    %s    # %s now %" PRIu64 ", peak %" PRIu64
			        ", largest consumer %" PRIu64 "\n",
			        line->s, other->s, cur, peak, largest);
		}
	}
}

/* "sets", "segments": what a headroom row counts, by its type. */
static const char *
vt_hr_what(int sem, uint64_t n)
{
	if (sem)
		return n == 1 ? "set" : "sets";
	return n == 1 ? "segment" : "segments";
}

/* A count of a headroom row: its number, "?" when unknown (nil). */
static void
vt_hr_units(struct vt_cell *c, const msgpack_object *o)
{
	uint64_t v;

	if (mpr_u64(o, &v) == 0)
		vt_setf(c, "%" PRIu64, v);
	else
		vt_set(c, "?");
}

/*
 * HEADROOM: per consumer and shape, how many more fit (the document's
 * "headroom", tightest first): "uid 54321 (oracle): 100 sets of 156; room
 * for 28 more sets, 0 more instances; semmni binds first".
 */
static void
vt_headroom(const msgpack_object *rows, struct vt_cell *tmp, FILE *fp)
{
	struct vt_cell *who = &tmp[0], *where = &tmp[1], *more = &tmp[2], *inst = &tmp[3];
	struct vt_cell *bind = &tmp[4];
	size_t i, n = mpr_arrsize(rows);

	if (n == 0)
		return;
	fputs("\nHEADROOM (how many more fit now, and which limit binds first)\n", fp);
	for (i = 0; i < n; i++) {
		const msgpack_object *r = &rows->via.array.ptr[i], *o;
		uint64_t uid = 0, objects = 0, shape = 0;
		int sem = mpr_streq(mpr_get(r, "type"), "sem");

		mpr_u64(mpr_get(r, "uid"), &uid);
		mpr_u64(mpr_get(r, "objects"), &objects);
		mpr_u64(mpr_get(r, sem ? "nsems" : "size"), &shape);
		if (mpr_is_str(o = mpr_get(r, "owner")) && o->via.str.size > 0) {
			vt_str(where, o);
			vt_setf(who, "uid %" PRIu64 " (%.64s)", uid, where->s);
		} else
			vt_setf(who, "uid %" PRIu64, uid);
		vt_str(where, mpr_get(r, "scope"));
		fprintf(fp, "  %s%s%s: %" PRIu64 " %s of %" PRIu64 "%s", who->s,
		        strcmp(where->s, "host") != 0 ? " in " : "",
		        strcmp(where->s, "host") != 0 ? where->s : "", objects,
		        vt_hr_what(sem, objects), shape, sem ? "" : " bytes");
		vt_hr_units(more, mpr_get(r, "more_objects"));
		vt_hr_units(inst, mpr_get(r, "more_instances"));
		fprintf(fp, "; room for %s more %s, %s more instance%s", more->s,
		        vt_hr_what(sem, strcmp(more->s, "1") == 0), inst->s,
		        strcmp(inst->s, "1") == 0 ? "" : "s");
		if (mpr_is_str(o = mpr_get(r, "binding"))) {
			vt_str(bind, o);
			fprintf(fp, "; %s binds first", bind->s);
			if (mpr_is_str(o = mpr_get(r, "instances_binding")) &&
			    !mpr_streq2(o, mpr_get(r, "binding"))) {
				vt_str(bind, o);
				fprintf(fp, " (for instances %s)", bind->s);
			}
		}
		if (mpr_is_str(o = mpr_get(r, "unknown"))) {
			vt_str(bind, o);
			fprintf(fp, "; %s", bind->s);
		}
		fputc('\n', fp);
	}
}

/*
 * SHARES: every jail draws on the host's pools (FreeBSD): "jail pg holds
 * 34 of 340 semmns, 10.0%", and with racct its own rules: "jail pg holds
 * 34 of 300 nsem (rctl), 11.3%".  Nothing when no jail holds anything.
 */
static void
vt_shares(const msgpack_object *scopes, struct vt_cell *tmp, FILE *fp)
{
	static const char *const pools[] = {"semmns", "semmni", "shmall", "shmmni"};
	struct vt_cell *name = &tmp[0], *lim = &tmp[1];
	size_t i, k, shown = 0;

	for (i = 0; i < mpr_arrsize(scopes); i++) {
		const msgpack_object *sc = &scopes->via.array.ptr[i], *usage, *rctl;
		const msgpack_object_kv *kv;

		if (!mpr_streq(mpr_get(sc, "kind"), "jail"))
			continue;
		vt_str(name, mpr_get(sc, "name"));
		usage = mpr_get(sc, "usage");
		for (k = 0; k < NELEM(pools); k++) {
			const msgpack_object *it = mpr_get(usage, pools[k]);
			uint64_t u, l;
			double pct;

			if (mpr_u64(mpr_get(it, "used"), &u) == -1 || u == 0 ||
			    mpr_u64(mpr_get(it, "limit"), &l) == -1 ||
			    mpr_num(mpr_get(it, "pct"), &pct) == -1)
				continue;
			if (shown++ == 0)
				fputs("\nSHARES OF THE HOST'S POOLS\n", fp);
			fprintf(fp, "  jail %s holds %" PRIu64 " of %" PRIu64 " %s, %.1f%%\n",
			        name->s, u, l, pools[k], pct);
		}
		rctl = mpr_get(sc, "rctl");
		for (k = 0; (kv = vt_kv(rctl, k)) != NULL; k++) {
			uint64_t u, l;
			double pct;

			if (mpr_u64(mpr_get(&kv->val, "limit"), &l) == -1)
				continue; /* no rule: nothing to hold it against */
			if (shown++ == 0)
				fputs("\nSHARES OF THE HOST'S POOLS\n", fp);
			vt_str(lim, &kv->key);
			if (mpr_u64(mpr_get(&kv->val, "used"), &u) == 0 &&
			    mpr_num(mpr_get(&kv->val, "pct"), &pct) == 0)
				fprintf(fp,
				        "  jail %s holds %" PRIu64 " of %" PRIu64
				        " %s (rctl), %.1f%%\n",
				        name->s, u, l, lim->s, pct);
			else
				fprintf(fp, "  jail %s holds ? of %" PRIu64 " %s (rctl)\n", name->s,
				        l, lim->s);
		}
	}
}

int
view_text_host(const msgpack_object *doc, FILE *fp)
{
	static const char *const limits_hdr[] = {"LIMIT", ">USED", ">LIMIT", ">USE%", ">FREE"};
	static const char *const scopes_hdr[] = {"ID",       "KIND",    "NAME",   "ISOLATION",
	                                         ">OBJECTS", ">SEMMNS", ">SHMALL"};
	static const char *const objects_hdr[] = {
	    "T",       ">ID",   ">KEY",  "MODE", "OWNER", "SCOPE", ">SIZE/NSEMS/QBYTES",
	    ">NATTCH", ">CPID", ">LPID", "CTIME"};
	struct vt_table *t;
	struct vt_limits lim;
	const msgpack_object *scopes, *objects;
	size_t nscopes;

	if (doc == NULL || doc->type != MSGPACK_OBJECT_MAP)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;

	vt_summary(doc, &t->tmp[0], fp);
	lim.usage = mpr_get(doc, "usage");
	lim.limits = mpr_get(doc, "limits");
	lim.nusage = mpr_mapsize(lim.usage);
	scopes = mpr_get(doc, "scopes");
	vt_alarms(lim.usage, NULL, t->tmp, fp);
	vt_scope_alarms(scopes, t->tmp, fp);
	vt_unknowns(lim.usage, NULL, t->tmp, fp);

	/* what to act on comes first, right under the summary */
	fputc('\n', fp);
	vt_findings(mpr_get(doc, "findings"), t->tmp, fp);
	vt_recommendations(mpr_get(doc, "recommendations"), t->tmp, fp);

	fputc('\n', fp);
	vt_table_init(t, limits_hdr, NELEM(limits_hdr));
	vt_print(fp, t, lim.nusage + mpr_mapsize(lim.limits), vt_limits_row, &lim);

	/* Scopes only matter when there is more than the host itself. */
	nscopes = mpr_arrsize(scopes);
	if (nscopes > 1 ||
	    (nscopes == 1 && !mpr_streq(mpr_get(&scopes->via.array.ptr[0], "kind"), "host"))) {
		fputc('\n', fp);
		vt_table_init(t, scopes_hdr, NELEM(scopes_hdr));
		vt_print(fp, t, nscopes, vt_scopes_row, scopes);
		vt_shares(scopes, t->tmp, fp);
		vt_scope_limits(scopes, t, fp);
	}
	vt_headroom(mpr_get(doc, "headroom"), t->tmp, fp);

	fputc('\n', fp);
	objects = mpr_get(doc, "objects");
	if (mpr_arrsize(objects) > 0) {
		vt_table_init(t, objects_hdr, NELEM(objects_hdr));
		vt_print(fp, t, mpr_arrsize(objects), vt_objects_row, objects);
	} else {
		fputs("no IPC objects\n", fp);
	}

	free(t);
	return ferror(fp) ? -1 : 0;
}
