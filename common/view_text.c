/*
 * view_text.c: the host and hosts documents as text tables (view.h), in the
 * manner of lsipc and ipcs -a.
 *
 * The documents come from remote hosts, so they are read defensively: a
 * missing or mistyped field shows as "-", a figure that is unknown as "?",
 * and every string is cleaned by the one text rule (text.h) before it
 * reaches the terminal.  The tables are table.h's, the one table every text
 * view prints; the whole view is built in memory and written in one go.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpread.h"
#include "table.h"
#include "text.h"
#include "util.h"
#include "view.h"

#define VT_MAXOUT   (64u * 1024 * 1024) /* bytes of one view */
#define VT_MAXUSAGE 64                  /* usage entries a limit row is checked against */
#define VT_MAXLIMS  20                  /* limit columns of the hosts table */
#define VT_WARN     80.0
#define VT_CRIT     90.0

/* A string from the document, cleaned and cut; "-" for anything else. */
static void
vt_str(struct buf *out, const msgpack_object *o)
{
	if (mpr_is_str(o))
		text_clean_buf(out, o->via.str.ptr, o->via.str.size, TABLE_CELL);
	else
		buf_puts(out, "-");
}

/* A scalar from the document the way a cell shows it. */
static void
vt_any(struct buf *out, const msgpack_object *o)
{
	table_put_mp(out, o, TABLE_CELL, "-");
}

/* Writes the view to fp; -1 when it could not be built or written. */
static int
vt_flush(struct buf *out, FILE *fp)
{
	int rc = 0;

	if (buf_failed(out) || fwrite(out->data, 1, out->len, fp) != out->len || ferror(fp))
		rc = -1;
	buf_free(out);
	return rc;
}

/* Prints the table and frees it; a table that failed fails the view. */
static void
vt_table_out(struct table *t, struct buf *out)
{
	if (table_print(t, out, 0) == -1)
		out->failed = 1;
	table_free(t);
}

/* hosts */

int
view_text_hosts(const msgpack_object *rows, FILE *fp)
{
	static const char *const fixed[] = {"HOST", "OS", "STATUS"};
	const msgpack_object *lim[VT_MAXLIMS]; /* limit names (STR), usage column order */
	struct table t;
	struct buf out;
	size_t nlim = 0, c;
	uint32_t i, k;

	if (rows == NULL || rows->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	buf_init(&out, VT_MAXOUT);
	if (rows->via.array.size == 0) {
		buf_puts(&out, "no hosts\n");
		return vt_flush(&out, fp);
	}
	/* The limit columns: every usage name, in order of first appearance. */
	for (i = 0; i < rows->via.array.size; i++) {
		const msgpack_object *u = mpr_get(&rows->via.array.ptr[i], "usage");

		for (k = 0; k < mpr_mapsize(u); k++) {
			const msgpack_object *name = &u->via.map.ptr[k].key;

			if (name->type != MSGPACK_OBJECT_STR)
				continue;
			for (c = 0; c < nlim; c++)
				if (mpr_streq2(lim[c], name))
					break;
			if (c == nlim && nlim < VT_MAXLIMS)
				lim[nlim++] = name;
		}
	}
	table_init(&t, fixed, NELEM(fixed), VT_MAXOUT);
	for (c = 0; c < nlim; c++)
		table_set_header(&t, 3 + c, lim[c]->via.str.ptr, lim[c]->via.str.size, 1, 1);
	table_set_header(&t, 3 + nlim, "LAST SEEN", 9, 0, 0);
	for (i = 0; i < rows->via.array.size; i++) {
		const msgpack_object *row = &rows->via.array.ptr[i], *usage = mpr_get(row, "usage");

		table_row(&t);
		table_cell_str(&t, mpr_get(row, "host"));
		table_cell_str(&t, mpr_get(row, "os"));
		table_cell_str(&t, mpr_get(row, "status"));
		for (c = 0; c < nlim; c++)
			table_cell_usage(
			    &t, mpr_getn(usage, lim[c]->via.str.ptr, lim[c]->via.str.size), "pct");
		table_cell_str(&t, mpr_get(row, "last_seen"));
	}
	vt_table_out(&t, &out);
	return vt_flush(&out, fp);
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
vt_summary(const msgpack_object *doc, struct buf *out)
{
	const msgpack_object *o;
	uint64_t dropped;

	if ((o = mpr_get(doc, "host")) != NULL) {
		vt_str(out, o);
		buf_puts(out, "  ");
	}
	vt_str(out, mpr_get(doc, "os"));
	if (mpr_is_str(o = mpr_get(doc, "os_release")) && o->via.str.size > 0) {
		buf_puts(out, " ");
		vt_str(out, o);
	}
	if ((o = mpr_get(doc, "status")) != NULL) {
		buf_puts(out, "  status ");
		vt_str(out, o);
	}
	if ((o = mpr_get(doc, "last_seen")) != NULL) {
		buf_puts(out, "  last seen ");
		vt_str(out, o);
	} else if ((o = mpr_get(doc, "taken")) != NULL) {
		buf_puts(out, "  taken ");
		vt_str(out, o);
	}
	if (mpr_u64(mpr_get(doc, "dropped"), &dropped) == 0 && dropped > 0)
		buf_printf(out, "  dropped %" PRIu64 " (agent spool full)", dropped);
	buf_puts(out, "\n");
}

/* " in ID" for a scope's line, nothing for the host's pool (scope NULL). */
static void
vt_in_scope(struct buf *out, const msgpack_object *scope)
{
	if (scope == NULL)
		return;
	buf_puts(out, " in ");
	vt_str(out, scope);
}

/*
 * "  ! semmns at 82.4%: 280 of 340 used, 60 free", "!!" from VT_CRIT on; for
 * a scope with its own limits "  ! semmni at 100.0% in ipcns:4026532200: ...".
 * scope is NULL for the host's pool.
 */
static void
vt_alarms(const msgpack_object *usage, const msgpack_object *scope, struct buf *out)
{
	const msgpack_object_kv *kv;
	uint64_t u, l;
	double pct;
	size_t i;

	for (i = 0; (kv = vt_kv(usage, i)) != NULL; i++) {
		/* written so that a NaN from the document is no alarm */
		if (mpr_num(mpr_get(&kv->val, "pct"), &pct) == -1 || !(pct >= VT_WARN))
			continue;
		buf_puts(out, pct >= VT_CRIT ? "  !! " : "  ! ");
		vt_str(out, &kv->key);
		buf_printf(out, " at %.1f%%", pct);
		vt_in_scope(out, scope);
		buf_puts(out, ": ");
		vt_any(out, mpr_get(&kv->val, "used"));
		buf_puts(out, " of ");
		vt_any(out, mpr_get(&kv->val, "limit"));
		if (mpr_u64(mpr_get(&kv->val, "used"), &u) == 0 &&
		    mpr_u64(mpr_get(&kv->val, "limit"), &l) == 0)
			buf_printf(out, " used, %" PRIu64 " free\n", l > u ? l - u : 0);
		else
			buf_puts(out, " used, - free\n");
	}
}

/*
 * "  ? semmns unknown: ipcs-as.txt has no NSEMS column (ipcs without -a)":
 * every usage figure that could not be read, and why, right under the
 * alarms (scope NULL: the host's pool; else "in ID").
 */
static void
vt_unknowns(const msgpack_object *usage, const msgpack_object *scope, struct buf *out)
{
	const msgpack_object_kv *kv;
	size_t i;

	for (i = 0; (kv = vt_kv(usage, i)) != NULL; i++) {
		if (!table_usage_unknown(&kv->val))
			continue;
		buf_puts(out, "  ? ");
		vt_str(out, &kv->key);
		buf_puts(out, " unknown");
		vt_in_scope(out, scope);
		buf_puts(out, ": ");
		vt_str(out, mpr_get(&kv->val, "unknown"));
		buf_puts(out, "\n");
	}
}

/* Whether a scope has limits of its own (an IPC namespace). */
static int
vt_own_limits(const msgpack_object *sc)
{
	const msgpack_object *own = mpr_get(sc, "own_limits");

	return own != NULL && own->type == MSGPACK_OBJECT_BOOLEAN && own->via.boolean;
}

/* Alarms of the scopes that have their own limits (IPC namespaces). */
static void
vt_scope_alarms(const msgpack_object *scopes, struct buf *out)
{
	size_t i;

	for (i = 0; i < mpr_arrsize(scopes); i++)
		if (vt_own_limits(&scopes->via.array.ptr[i]))
			vt_alarms(mpr_get(&scopes->via.array.ptr[i], "usage"),
			          mpr_get(&scopes->via.array.ptr[i], "id"), out);
}

/*
 * LIMIT USED LIMIT USE% FREE: every usage entry, then the limits without
 * one (their USED is "-").
 */
static void
vt_limits(const msgpack_object *usage, const msgpack_object *limits, struct buf *out)
{
	static const char *const hdr[] = {"LIMIT", ">USED", ">LIMIT", ">USE%", ">FREE"};
	const msgpack_object_kv *kv;
	struct table t;
	size_t i, k, nusage = mpr_mapsize(usage);
	uint64_t u, l;

	table_init(&t, hdr, NELEM(hdr), VT_MAXOUT);
	for (i = 0; (kv = vt_kv(usage, i)) != NULL; i++) {
		table_row(&t);
		table_cell_str(&t, &kv->key);
		table_cell_usage(&t, &kv->val, "used");
		table_cell_usage(&t, &kv->val, "limit");
		table_cell_usage(&t, &kv->val, "pct");
		if (mpr_u64(mpr_get(&kv->val, "used"), &u) == 0 &&
		    mpr_u64(mpr_get(&kv->val, "limit"), &l) == 0)
			table_cellf(&t, "%" PRIu64, l > u ? l - u : 0);
		else
			table_cell(&t, table_usage_unknown(&kv->val) ? "?" : "-");
	}
	for (i = 0; (kv = vt_kv(limits, i)) != NULL; i++) {
		/* Limits already shown with their usage are left out. */
		for (k = 0; k < nusage && k < VT_MAXUSAGE; k++)
			if (mpr_streq2(&kv->key, &vt_kv(usage, k)->key))
				break;
		if (k < nusage && k < VT_MAXUSAGE)
			continue;
		table_row(&t);
		table_cell_str(&t, &kv->key);
		table_cell(&t, "-");
		table_cell_mp(&t, &kv->val);
	}
	vt_table_out(&t, out);
}

/* "shm=new sem=inherit msg=new", or "-" when isolation is unknown (nil). */
static void
vt_isolation(struct table *t, const msgpack_object *iso)
{
	static const char *const types[] = {"shm", "sem", "msg"};
	struct buf b;
	size_t i;

	if (iso == NULL || iso->type != MSGPACK_OBJECT_MAP) {
		table_cell(t, "-");
		return;
	}
	buf_init(&b, TABLE_CELL);
	for (i = 0; i < 3; i++) {
		buf_printf(&b, "%s%s=", i > 0 ? " " : "", types[i]);
		vt_str(&b, mpr_get(iso, types[i]));
	}
	table_cell(t, buf_failed(&b) ? "-" : buf_cstr(&b));
	buf_free(&b);
}

static void
vt_scopes(const msgpack_object *scopes, struct buf *out)
{
	static const char *const hdr[] = {"ID",       "KIND",    "NAME",   "ISOLATION",
	                                  ">OBJECTS", ">SEMMNS", ">SHMALL"};
	struct table t;
	size_t i;

	table_init(&t, hdr, NELEM(hdr), VT_MAXOUT);
	for (i = 0; i < mpr_arrsize(scopes); i++) {
		const msgpack_object *sc = &scopes->via.array.ptr[i], *usage = mpr_get(sc, "usage");

		table_row(&t);
		table_cell_str(&t, mpr_get(sc, "id"));
		table_cell_str(&t, mpr_get(sc, "kind"));
		table_cell_str(&t, mpr_get(sc, "name"));
		vt_isolation(&t, mpr_get(sc, "isolation"));
		table_cell_mp(&t, mpr_get(sc, "objects"));
		table_cell_usage(&t, mpr_get(usage, "semmns"), "used");
		table_cell_usage(&t, mpr_get(usage, "shmall"), "used");
	}
	vt_table_out(&t, out);
}

static void
vt_objects(const msgpack_object *objs, struct buf *out)
{
	static const char *const hdr[] = {
	    "T",       ">ID",   ">KEY",  "MODE", "OWNER", "SCOPE", ">SIZE/NSEMS/QBYTES",
	    ">NATTCH", ">CPID", ">LPID", "CTIME"};
	struct table t;
	size_t i, k;

	table_init(&t, hdr, NELEM(hdr), VT_MAXOUT);
	for (i = 0; i < mpr_arrsize(objs); i++) {
		const msgpack_object *o = &objs->via.array.ptr[i], *type = mpr_get(o, "type");
		const msgpack_object *owner = mpr_get(o, "owner");

		table_row(&t);
		table_cell_str(&t, type);
		table_cell_mp(&t, mpr_get(o, "id"));
		table_cell_mp(&t, mpr_get(o, "key"));
		table_cell_str(&t, mpr_get(o, "mode"));
		/* the owner's name where the collector knew it, else the uid */
		if (mpr_is_str(owner) && owner->via.str.size > 0)
			table_cell_str(&t, owner);
		else
			table_cell_mp(&t, mpr_get(o, "uid"));
		table_cell_str(&t, mpr_get(o, "scope"));
		if (mpr_streq(type, "shm")) {
			table_cell_num(&t, mpr_get(o, "size"));
			table_cell_num(&t, mpr_get(o, "nattch"));
			table_cell_num(&t, mpr_get(o, "cpid"));
			table_cell_num(&t, mpr_get(o, "lpid"));
		} else if (mpr_streq(type, "sem") || mpr_streq(type, "msg")) {
			table_cell_num(&t, mpr_get(o, mpr_streq(type, "sem") ? "nsems" : "qbytes"));
			table_cell(&t, "-");
			table_cell(&t, "-");
			table_cell(&t, "-");
		} else {
			for (k = 0; k < 4; k++)
				table_cell(&t, "-");
		}
		table_cell_str(&t, mpr_get(o, "ctime"));
	}
	vt_table_out(&t, out);
}

/*
 * The FINDINGS section, most severe first (table.h's order; document order
 * within a severity): "warn  orphan  MESSAGE" and, when there is one, the
 * command on the next line, indented by four spaces.
 */
static void
vt_findings(const msgpack_object *findings, struct buf *out)
{
	static const char *const hdr[] = {"SEVERITY", "KIND", "MESSAGE"};
	size_t i, n = mpr_arrsize(findings);
	const msgpack_object *f, *c;
	struct table t;
	int rank;

	if (n == 0) {
		buf_puts(out, "no findings\n");
		return;
	}
	buf_puts(out, "FINDINGS\n");
	table_init(&t, hdr, NELEM(hdr), VT_MAXOUT);
	t.bare = 1; /* the section's title says what the columns are */
	for (rank = 0; rank < 4; rank++) {
		for (i = 0; i < n; i++) {
			f = &findings->via.array.ptr[i];
			if (table_severity_rank(mpr_get(f, "severity")) != rank)
				continue;
			table_row(&t);
			table_cell_str(&t, mpr_get(f, "severity"));
			table_cell_str(&t, mpr_get(f, "kind"));
			table_cell_str(&t, mpr_get(f, "message"));
			if (mpr_is_str(c = mpr_get(f, "command")) && c->via.str.size > 0) {
				struct buf cmd;

				buf_init(&cmd, TABLE_CELL + 8);
				vt_str(&cmd, c);
				table_under(&t, cmd.data, buf_failed(&cmd) ? 0 : cmd.len);
				buf_free(&cmd);
			}
		}
	}
	vt_table_out(&t, out);
}
/*
 * A limits table for each scope with limits of its own (an IPC namespace):
 * its usage against its own pool, headed "LIMITS IN ID (NAME)".
 */
static void
vt_scope_limits(const msgpack_object *scopes, struct buf *out)
{
	const msgpack_object *sc, *id, *name;
	size_t i;

	for (i = 0; i < mpr_arrsize(scopes); i++) {
		sc = &scopes->via.array.ptr[i];
		if (!vt_own_limits(sc))
			continue;
		id = mpr_get(sc, "id");
		name = mpr_get(sc, "name");
		buf_puts(out, "\nLIMITS IN ");
		vt_str(out, id);
		if (!mpr_streq2(id, name) || !mpr_is_str(id)) {
			buf_puts(out, " (");
			vt_str(out, name);
			buf_puts(out, ")");
		}
		buf_puts(out, "\n");
		vt_limits(mpr_get(sc, "usage"), mpr_get(sc, "limits"), out);
	}
}

/* Whether a recommendation asks for a change. */
static int
vt_needs_change(const msgpack_object *r)
{
	const msgpack_object *nc = mpr_get(r, "needs_change");

	return nc != NULL && nc->type == MSGPACK_OBJECT_BOOLEAN && nc->via.boolean;
}

/*
 * Recommendations that need a change, grouped by the file they go into,
 * ready to paste: "WHAT TO CHANGE", then per file its lines with the figures
 * behind them.  Nothing is printed when every limit has its headroom.
 */
static void
vt_recommendations(const msgpack_object *recs, struct buf *out)
{
	size_t i, j, k, n = mpr_arrsize(recs), shown = 0;

	for (i = 0; i < n; i++) {
		const msgpack_object *r = &recs->via.array.ptr[i], *rb;

		if (!vt_needs_change(r))
			continue;
		/* print each file once, at its first recommendation */
		for (k = 0; k < i; k++)
			if (vt_needs_change(&recs->via.array.ptr[k]) &&
			    mpr_streq2(mpr_get(&recs->via.array.ptr[k], "file"),
			               mpr_get(r, "file")))
				break;
		if (k < i)
			continue;
		if (shown++ == 0)
			buf_puts(out,
			         "\nWHAT TO CHANGE (twice the peak, or the peak plus the largest "
			         "consumer)\n");
		buf_puts(out, "  ");
		vt_str(out, mpr_get(r, "file"));
		rb = mpr_get(r, "reboot");
		if (rb != NULL && rb->type == MSGPACK_OBJECT_BOOLEAN && rb->via.boolean)
			buf_puts(out, "  (takes effect after a reboot)");
		buf_puts(out, "\n");
		for (k = i; k < n; k++) {
			const msgpack_object *o = &recs->via.array.ptr[k];
			uint64_t cur = 0, peak = 0, largest = 0;

			if (!vt_needs_change(o) ||
			    !mpr_streq2(mpr_get(o, "file"), mpr_get(r, "file")))
				continue;
			/* Linux's kernel.sem line serves semmns and semmni alike: print it once */
			for (j = i; j < k; j++)
				if (vt_needs_change(&recs->via.array.ptr[j]) &&
				    mpr_streq2(mpr_get(&recs->via.array.ptr[j], "line"),
				               mpr_get(o, "line")))
					break;
			if (j < k)
				continue;
			mpr_u64(mpr_get(o, "current"), &cur);
			mpr_u64(mpr_get(o, "peak"), &peak);
			mpr_u64(mpr_get(o, "largest_consumer"), &largest);
			buf_puts(out, "    ");
			vt_str(out, mpr_get(o, "line"));
			buf_puts(out, "    # ");
			vt_str(out, mpr_get(o, "limit"));
			buf_printf(out,
			           " now %" PRIu64 ", peak %" PRIu64 ", largest consumer %" PRIu64
			           "\n",
			           cur, peak, largest);
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

/* "room for 28 more sets", "?" for a count that is unknown (nil). */
static void
vt_hr_count(struct buf *out, const msgpack_object *o, int sem, const char *unit)
{
	uint64_t v;

	if (mpr_u64(o, &v) == 0)
		buf_printf(out, "%" PRIu64 " more %s", v,
		           unit != NULL ? (v == 1 ? unit : "instances") : vt_hr_what(sem, v));
	else
		buf_printf(out, "? more %s", unit != NULL ? "instances" : vt_hr_what(sem, 2));
}

/*
 * HEADROOM: per consumer and shape, how many more fit (the document's
 * "headroom", tightest first): "uid 54321 (oracle): 100 sets of 156; room
 * for 28 more sets, 0 more instances; semmni binds first".
 */
static void
vt_headroom(const msgpack_object *rows, struct buf *out)
{
	/* a row's "?" reason, said once under the rows: one scope's rows share it */
	const msgpack_object *why[4];
	size_t i, k, n = mpr_arrsize(rows), nwhy = 0;

	if (n == 0)
		return;
	buf_puts(out, "\nHEADROOM (how many more fit now, and which limit binds first)\n");
	for (i = 0; i < n; i++) {
		const msgpack_object *r = &rows->via.array.ptr[i], *o, *scope;
		uint64_t uid = 0, objects = 0, shape = 0;
		int sem = mpr_streq(mpr_get(r, "type"), "sem");

		mpr_u64(mpr_get(r, "uid"), &uid);
		mpr_u64(mpr_get(r, "objects"), &objects);
		mpr_u64(mpr_get(r, sem ? "nsems" : "size"), &shape);
		buf_printf(out, "  uid %" PRIu64, uid);
		if (mpr_is_str(o = mpr_get(r, "owner")) && o->via.str.size > 0) {
			buf_puts(out, " (");
			text_clean_buf(out, o->via.str.ptr, o->via.str.size, 64);
			buf_puts(out, ")");
		}
		scope = mpr_get(r, "scope");
		if (!mpr_streq(scope, "host"))
			vt_in_scope(out, scope);
		buf_printf(out, ": %" PRIu64 " %s of %" PRIu64 "%s; room for ", objects,
		           vt_hr_what(sem, objects), shape, sem ? "" : " bytes");
		vt_hr_count(out, mpr_get(r, "more_objects"), sem, NULL);
		buf_puts(out, ", ");
		vt_hr_count(out, mpr_get(r, "more_instances"), sem, "instance");
		if (mpr_is_str(o = mpr_get(r, "binding"))) {
			buf_puts(out, "; ");
			vt_str(out, o);
			buf_puts(out, " binds first");
			if (mpr_is_str(o = mpr_get(r, "instances_binding")) &&
			    !mpr_streq2(o, mpr_get(r, "binding"))) {
				buf_puts(out, " (for instances ");
				vt_str(out, o);
				buf_puts(out, ")");
			}
		}
		if (mpr_is_str(o = mpr_get(r, "unknown"))) {
			for (k = 0; k < nwhy && !mpr_streq2(why[k], o); k++)
				;
			if (k == nwhy && nwhy < NELEM(why))
				why[nwhy++] = o;
			else if (k == nwhy) { /* too many different ones: said on its row */
				buf_puts(out, "; ");
				vt_str(out, o);
			}
		}
		buf_puts(out, "\n");
	}
	for (k = 0; k < nwhy; k++) {
		buf_puts(out, "  ? ");
		vt_str(out, why[k]);
		buf_puts(out, "\n");
	}
}

/*
 * SHARES: every jail draws on the host's pools (FreeBSD): "jail pg holds
 * 34 of 340 semmns, 10.0%", and with racct its own rules: "jail pg holds
 * 34 of 300 nsem (rctl), 11.3%".  Nothing when no jail holds anything.
 */
static void
vt_shares(const msgpack_object *scopes, struct buf *out)
{
	static const char *const pools[] = {"semmns", "semmni", "shmall", "shmmni"};
	size_t i, k, shown = 0;

	for (i = 0; i < mpr_arrsize(scopes); i++) {
		const msgpack_object *sc = &scopes->via.array.ptr[i], *usage, *name;
		const msgpack_object_kv *kv;
		uint64_t u, l;
		double pct;

		if (!mpr_streq(mpr_get(sc, "kind"), "jail"))
			continue;
		name = mpr_get(sc, "name");
		usage = mpr_get(sc, "usage");
		for (k = 0; k < NELEM(pools); k++) {
			const msgpack_object *it = mpr_get(usage, pools[k]);

			if (mpr_u64(mpr_get(it, "used"), &u) == -1 || u == 0 ||
			    mpr_u64(mpr_get(it, "limit"), &l) == -1 ||
			    mpr_num(mpr_get(it, "pct"), &pct) == -1)
				continue;
			if (shown++ == 0)
				buf_puts(out, "\nSHARES OF THE HOST'S POOLS\n");
			buf_puts(out, "  jail ");
			vt_str(out, name);
			buf_printf(out, " holds %" PRIu64 " of %" PRIu64 " %s, %.1f%%\n", u, l,
			           pools[k], pct);
		}
		for (k = 0; (kv = vt_kv(mpr_get(sc, "rctl"), k)) != NULL; k++) {
			if (mpr_u64(mpr_get(&kv->val, "limit"), &l) == -1)
				continue; /* no rule: nothing to hold it against */
			if (shown++ == 0)
				buf_puts(out, "\nSHARES OF THE HOST'S POOLS\n");
			buf_puts(out, "  jail ");
			vt_str(out, name);
			if (mpr_u64(mpr_get(&kv->val, "used"), &u) == 0 &&
			    mpr_num(mpr_get(&kv->val, "pct"), &pct) == 0) {
				buf_printf(out, " holds %" PRIu64 " of %" PRIu64 " ", u, l);
				vt_str(out, &kv->key);
				buf_printf(out, " (rctl), %.1f%%\n", pct);
			} else {
				buf_printf(out, " holds ? of %" PRIu64 " ", l);
				vt_str(out, &kv->key);
				buf_puts(out, " (rctl)\n");
			}
		}
	}
}

int
view_text_host(const msgpack_object *doc, FILE *fp)
{
	const msgpack_object *usage, *scopes, *objects;
	struct buf out;
	size_t nscopes;

	if (doc == NULL || doc->type != MSGPACK_OBJECT_MAP)
		return -1;
	buf_init(&out, VT_MAXOUT);
	vt_summary(doc, &out);
	usage = mpr_get(doc, "usage");
	scopes = mpr_get(doc, "scopes");
	vt_alarms(usage, NULL, &out);
	vt_scope_alarms(scopes, &out);
	vt_unknowns(usage, NULL, &out);

	/* what to act on comes first, right under the summary */
	buf_puts(&out, "\n");
	vt_findings(mpr_get(doc, "findings"), &out);
	vt_recommendations(mpr_get(doc, "recommendations"), &out);

	buf_puts(&out, "\n");
	vt_limits(usage, mpr_get(doc, "limits"), &out);

	/* Scopes only matter when there is more than the host itself. */
	nscopes = mpr_arrsize(scopes);
	if (nscopes > 1 ||
	    (nscopes == 1 && !mpr_streq(mpr_get(&scopes->via.array.ptr[0], "kind"), "host"))) {
		buf_puts(&out, "\n");
		vt_scopes(scopes, &out);
		vt_shares(scopes, &out);
		vt_scope_limits(scopes, &out);
	}
	vt_headroom(mpr_get(doc, "headroom"), &out);

	buf_puts(&out, "\n");
	objects = mpr_get(doc, "objects");
	if (mpr_arrsize(objects) > 0)
		vt_objects(objects, &out);
	else
		buf_puts(&out, "no IPC objects\n");
	return vt_flush(&out, fp);
}
