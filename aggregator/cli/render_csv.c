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

/*
 * Columns taken from one map each: a trend point (the last three for
 * rollups only), a host, a usage entry, a recommendation.
 */
static const char *const csv_point[] = {"t", "used", "limit", "min", "max", "mean"};
static const char *const csv_host[] = {"host", "os", "status"};
static const char *const csv_usage[] = {"used", "limit", "pct"};
static const char *const csv_rec[] = {"recommended", "needs_change", "reboot"};

/* The values of keys[0..n) in map o, comma-separated, without a line end. */
static void
csv_fields(struct buf *out, const msgpack_object *o, const char *const *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_puts(out, ",");
		rt_csv_mp(out, mpr_get(o, keys[i]));
	}
}

int
render_trend_csv(const msgpack_object *body, struct buf *out)
{
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
			if (mpr_get(&points->via.array.ptr[i], csv_point[3 + k]) != NULL)
				rollup = 1;
	buf_puts(out, rollup ? "t,used,limit,min,max,mean\n" : "t,used,limit\n");
	for (i = 0; i < n; i++) {
		p = &points->via.array.ptr[i];
		csv_fields(out, p, csv_point, rollup ? 6 : 3);
		buf_puts(out, "\n");
	}
	return buf_failed(out) ? -1 : 0;
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

			csv_fields(out, h, csv_host, 3);
			buf_puts(out, ",");
			rt_csv_mp(out, &kv->key);
			buf_puts(out, ",");
			csv_fields(out, &kv->val, csv_usage, 3);
			buf_puts(out, ",");
			csv_fields(out, rt_rec_for(recs, &kv->key), csv_rec, 3);
			buf_puts(out, ",");
			rt_csv_mp(out, mpr_get(&kv->val, "unknown"));
			csv_nearest_fields(mpr_get(h, "nearest"), &kv->key, out);
		}
		for (k = 0; k < mpr_arrsize(recs) && k < RT_MAX_RECS; k++) {
			const msgpack_object *rec = &recs->via.array.ptr[k];

			if (rt_in_usage(usage, mpr_get(rec, "limit")))
				continue;
			csv_fields(out, h, csv_host, 3);
			buf_puts(out, ",");
			rt_csv_mp(out, mpr_get(rec, "limit"));
			buf_puts(out, ",,");
			rt_csv_mp(out, mpr_get(rec, "current"));
			buf_puts(out, ",,");
			csv_fields(out, rec, csv_rec, 3);
			buf_puts(out, ",");
			csv_nearest_fields(mpr_get(h, "nearest"), mpr_get(rec, "limit"), out);
		}
	}
	return buf_failed(out) ? -1 : 0;
}
