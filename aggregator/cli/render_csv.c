/*
 * render_csv.c: CSV for spreadsheets and scripts (cli.h).  RFC 4180 quoting
 * with LF line ends; numbers as sent (integers exactly, floats in their
 * shortest form); an absent value is an empty field.  Text that a
 * spreadsheet would take for a formula is prefixed with a quote.
 */
#include <stdint.h>
#include <string.h>

#include "cli.h"

#define CSV_MAX_POINTS (1u << 20)

int
render_trend_csv(const msgpack_object *body, struct buf *out)
{
	static const char *const extra[] = {"min", "max", "mean"};
	const msgpack_object *points = mpr_get(body, "points"), *p;
	size_t i, k, n;
	int rollup = 0;

	if (body == NULL || body->type != MSGPACK_OBJECT_MAP || points == NULL ||
	    points->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	n = points->via.array.size;
	if (n > CSV_MAX_POINTS)
		return -1;
	for (i = 0; i < n && !rollup; i++)
		for (k = 0; k < 3; k++)
			if (mpr_get(&points->via.array.ptr[i], extra[k]) != NULL)
				rollup = 1;
	buf_puts(out, rollup ? "t,used,limit,min,max,mean\n" : "t,used,limit\n");
	for (i = 0; i < n; i++) {
		p = &points->via.array.ptr[i];
		rt_csv_mp(out, mpr_get(p, "t"));
		buf_puts(out, ",");
		rt_csv_mp(out, mpr_get(p, "used"));
		buf_puts(out, ",");
		rt_csv_mp(out, mpr_get(p, "limit"));
		for (k = 0; rollup && k < 3; k++) {
			buf_puts(out, ",");
			rt_csv_mp(out, mpr_get(p, extra[k]));
		}
		buf_puts(out, "\n");
	}
	return buf_failed(out) ? -1 : 0;
}

/* host,os,status: the first fields of every row of a host. */
static void
csv_host_fields(const msgpack_object *h, struct buf *out)
{
	rt_csv_mp(out, mpr_get(h, "host"));
	buf_puts(out, ",");
	rt_csv_mp(out, mpr_get(h, "os"));
	buf_puts(out, ",");
	rt_csv_mp(out, mpr_get(h, "status"));
	buf_puts(out, ",");
}

/* ,nearest,exhaust_at and the line end, for the row of limit key. */
static void
csv_nearest_fields(const msgpack_object *nearest, const msgpack_object *key, struct buf *out)
{
	if (mpr_streq2(mpr_get(nearest, "limit"), key)) {
		buf_puts(out, ",true,");
		rt_csv_mp(out, mpr_get(nearest, "exhaust_at"));
	} else {
		buf_puts(out, ",false,");
	}
	buf_puts(out, "\n");
}

/* recommended,needs_change,reboot. */
static void
csv_rec_fields(const msgpack_object *rec, struct buf *out)
{
	rt_csv_mp(out, mpr_get(rec, "recommended"));
	buf_puts(out, ",");
	rt_csv_mp(out, mpr_get(rec, "needs_change"));
	buf_puts(out, ",");
	rt_csv_mp(out, mpr_get(rec, "reboot"));
}

/*
 * One row per host and limit: the counted limits (usage) first, then the
 * limits that only have a recommendation.  The limit's value is in column
 * limit_value (a second column named "limit" would confuse CSV readers).
 */
int
render_report_csv(const msgpack_object *body, struct buf *out)
{
	const msgpack_object *hosts = mpr_get(body, "hosts");
	size_t i, k;

	if (body == NULL || body->type != MSGPACK_OBJECT_MAP || hosts == NULL ||
	    hosts->type != MSGPACK_OBJECT_ARRAY)
		return -1;
	/*
	 * Columns added later go last, so that scripts reading by position keep
	 * working: unknown (why used or limit_value is empty, never 0), then
	 * nearest (true on the row of the host's limit nearest exhaustion) and
	 * exhaust_at (that limit's forecast date, on that row).
	 */
	buf_puts(out, "host,os,status,limit,used,limit_value,pct,recommended,needs_change,reboot,"
	              "unknown,nearest,exhaust_at\n");
	for (i = 0; i < hosts->via.array.size; i++) {
		const msgpack_object *h = &hosts->via.array.ptr[i];
		const msgpack_object *usage = mpr_get(h, "usage");
		const msgpack_object *recs = mpr_get(h, "recommendations");

		for (k = 0; k < mpr_mapsize(usage); k++) {
			const msgpack_object_kv *kv = &usage->via.map.ptr[k];

			csv_host_fields(h, out);
			rt_csv_mp(out, &kv->key);
			buf_puts(out, ",");
			rt_csv_mp(out, mpr_get(&kv->val, "used"));
			buf_puts(out, ",");
			rt_csv_mp(out, mpr_get(&kv->val, "limit"));
			buf_puts(out, ",");
			rt_csv_mp(out, mpr_get(&kv->val, "pct"));
			buf_puts(out, ",");
			csv_rec_fields(rt_rec_for(recs, &kv->key), out);
			buf_puts(out, ",");
			rt_csv_mp(out, mpr_get(&kv->val, "unknown"));
			csv_nearest_fields(mpr_get(h, "nearest"), &kv->key, out);
		}
		for (k = 0; k < mpr_arrsize(recs) && k < RT_MAX_RECS; k++) {
			const msgpack_object *rec = &recs->via.array.ptr[k];

			if (rt_in_usage(usage, mpr_get(rec, "limit")))
				continue;
			csv_host_fields(h, out);
			rt_csv_mp(out, mpr_get(rec, "limit"));
			buf_puts(out, ",,");
			rt_csv_mp(out, mpr_get(rec, "current"));
			buf_puts(out, ",,");
			csv_rec_fields(rec, out);
			buf_puts(out, ",");
			csv_nearest_fields(mpr_get(h, "nearest"), mpr_get(rec, "limit"), out);
		}
	}
	return buf_failed(out) ? -1 : 0;
}
