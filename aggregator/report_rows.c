/*
 * report_rows.c: the report row's "nearest" and "history" (report_rows.h).
 *
 * The HTML report draws, for every host, the daily peaks of the limit
 * nearest exhaustion, and for hosts with findings the daily min-max band of
 * the limits concerned.  Both come with the one report reply (not one trend
 * query per host): the hourly rollups of at most REPORT_HIST_LIMITS limits
 * per host folded into REPORT_DAYS days here, within a byte budget for the
 * whole reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "report_rows.h"
#include "util.h"

#define DAY          86400
#define HOURS_MAX    ((REPORT_DAYS + 1) * 24)
#define NO_DATE      INT64_MAX
#define DEFAULT_CRIT 90.0

int
report_nearest(const struct usage *u, const struct finding *f, size_t nf, view_levels_fn levels,
               void *levels_arg, int64_t now, int64_t *at)
{
	int best = -1;
	int64_t best_at = NO_DATE;
	double best_pct = -1;
	size_t i, k;

	*at = 0;
	for (i = 0; i < u->n && i < USAGE_MAX; i++) {
		const struct usage_item *it = &u->v[i];
		double warn = 80.0, crit = DEFAULT_CRIT, pct;
		int64_t when = NO_DATE;

		if (!USAGE_KNOWN(it))
			continue;
		pct = usage_pct(it->used, it->limit);
		if (levels != NULL)
			levels(levels_arg, it->name, &warn, &crit);
		for (k = 0; k < nf; k++)
			if ((f[k].kind == FK_FORECAST || f[k].kind == FK_LEAK) &&
			    f[k].exhaust_at != 0 && strcmp(f[k].limit, it->name) == 0 &&
			    f[k].exhaust_at < when)
				when = f[k].exhaust_at;
		/* at or past crit it has run out as far as anyone should plan */
		if (pct >= crit && now < when)
			when = now;
		if (best == -1 || when < best_at || (when == best_at && pct > best_pct)) {
			best = (int)i;
			best_at = when;
			best_pct = pct;
		}
	}
	if (best != -1 && best_at != NO_DATE)
		*at = best_at;
	return best;
}

/* Bytes msgpack takes for an unsigned integer, or nil when none. */
static size_t
rr_uint_size(uint64_t v, int none)
{
	if (none)
		return 1;
	return v < 128 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffffu ? 5 : 9;
}

/* One limit's daily min and max; have[d] is 0 for a day without rollups. */
struct rr_days {
	const char *name;
	uint64_t min[REPORT_DAYS], max[REPORT_DAYS];
	int have[REPORT_DAYS];
};

static int
rr_load(struct report_row *rr, struct rollup *buf, int64_t t0, int with_min, struct rr_days *d)
{
	char err[256];
	size_t n, k;

	memset(d->have, 0, sizeof(d->have));
	/* peaks alone: 30 rows of daily peaks instead of 720 rollups (2,000 hosts' worth) */
	if (!with_min && rr->st->ops->daily_peaks != NULL) {
		if (rr->st->ops->daily_peaks(rr->st, rr->host, d->name, t0, d->max, d->have,
		                             REPORT_DAYS, err, sizeof(err)) == 0)
			return 0;
		log_warnx("host %s: report history of %s: %s", rr->host, d->name, err);
		return -1;
	}
	if (store_rollups(rr->st, rr->host, d->name, t0, buf, HOURS_MAX, &n, err, sizeof(err)) ==
	    -1) {
		log_warnx("host %s: report history of %s: %s", rr->host, d->name, err);
		return -1;
	}
	for (k = 0; k < n; k++) {
		int64_t day;

		if (buf[k].hour < t0 || buf[k].count == 0)
			continue;
		day = (buf[k].hour - t0) / DAY;
		if (day >= REPORT_DAYS)
			continue; /* ahead of our clock: not part of the month */
		if (!d->have[day] || buf[k].max > d->max[day])
			d->max[day] = buf[k].max;
		if (!d->have[day] || buf[k].min < d->min[day])
			d->min[day] = buf[k].min;
		d->have[day] = 1;
	}
	return 0;
}

static void
rr_pack_days(msgpack_packer *pk, const struct rr_days *d, const uint64_t *v)
{
	size_t i;

	msgpack_pack_array(pk, REPORT_DAYS);
	for (i = 0; i < REPORT_DAYS; i++) {
		if (d->have[i])
			msgpack_pack_uint64(pk, v[i]);
		else
			msgpack_pack_nil(pk); /* no figure that day: unknown, never 0 */
	}
}

/* Adds name to the list unless it is there, full, or not a counted limit. */
static void
rr_add(const char **names, size_t *n, const struct usage *u, const char *name)
{
	size_t i;

	if (*n == REPORT_HIST_LIMITS || name[0] == '\0')
		return;
	for (i = 0; i < *n; i++)
		if (strcmp(names[i], name) == 0)
			return;
	for (i = 0; i < u->n && i < USAGE_MAX; i++)
		if (strcmp(u->v[i].name, name) == 0 && USAGE_KNOWN(&u->v[i])) {
			names[(*n)++] = u->v[i].name;
			return;
		}
}

static void
rr_pack_history(msgpack_packer *pk, struct report_row *rr, const struct usage *u, int nearest)
{
	const char *names[REPORT_HIST_LIMITS];
	struct rr_days *d = NULL;
	struct rollup *buf = NULL;
	size_t n = 0, i, k, need = 40;
	int64_t today = rr->now - rr->now % DAY, t0 = today - (REPORT_DAYS - 1) * (int64_t)DAY;
	int with_min = rr->nfindings > 0;
	char t[32];

	if (nearest >= 0)
		rr_add(names, &n, u, u->v[nearest].name);
	/* the limits the host's findings are about: the report charts them */
	for (i = 0; i < rr->nfindings; i++)
		rr_add(names, &n, u, rr->findings[i].limit);
	if (n == 0 || (d = calloc(n, sizeof(*d))) == NULL ||
	    (buf = calloc(HOURS_MAX, sizeof(*buf))) == NULL)
		goto none;
	for (i = 0; i < n; i++) {
		d[i].name = names[i];
		if (rr_load(rr, buf, t0, with_min, &d[i]) == -1)
			goto none;
		need += 16 + strlen(names[i]);
		for (k = 0; k < REPORT_DAYS; k++)
			need += rr_uint_size(d[i].max[k], !d[i].have[k]) +
			        (with_min ? rr_uint_size(d[i].min[k], !d[i].have[k]) : 0);
	}
	if (need > *rr->budget)
		goto none; /* the reply's history is spent: the row says so (nil) */
	*rr->budget -= need;
	msgpack_pack_map(pk, 3);
	mp_pack_kv_str(pk, "from", fmt_rfc3339(t0, t, sizeof(t)));
	mp_pack_kv_u64(pk, "days", REPORT_DAYS);
	mp_pack_str(pk, "limits");
	msgpack_pack_map(pk, (uint32_t)n);
	for (i = 0; i < n; i++) {
		mp_pack_str(pk, names[i]);
		msgpack_pack_map(pk, with_min ? 2 : 1);
		mp_pack_str(pk, "max");
		rr_pack_days(pk, &d[i], d[i].max);
		if (with_min) {
			mp_pack_str(pk, "min");
			rr_pack_days(pk, &d[i], d[i].min);
		}
	}
	free(d);
	free(buf);
	return;
none:
	msgpack_pack_nil(pk);
	free(d);
	free(buf);
}

void
report_row_pack(msgpack_packer *pk, void *arg)
{
	struct report_row *rr = arg;
	struct usage u;
	int64_t at;
	int i;
	char t[32];

	model_usage(rr->s, -1, &u);
	i = report_nearest(&u, rr->findings, rr->nfindings, rr->levels, rr->levels_arg, rr->now,
	                   &at);
	mp_pack_str(pk, "nearest");
	if (i < 0) {
		msgpack_pack_nil(pk);
	} else {
		const struct usage_item *it = &u.v[i];

		msgpack_pack_map(pk, 6);
		mp_pack_kv_str(pk, "limit", it->name);
		mp_pack_kv_u64(pk, "used", it->used);
		mp_pack_kv_u64(pk, "limit_value", it->limit);
		mp_pack_str(pk, "pct");
		msgpack_pack_double(pk, usage_pct(it->used, it->limit));
		mp_pack_kv_u64(pk, "free", it->used < it->limit ? it->limit - it->used : 0);
		mp_pack_str(pk, "exhaust_at");
		if (at != 0)
			mp_pack_str(pk, fmt_rfc3339(at, t, sizeof(t)));
		else
			msgpack_pack_nil(pk);
	}
	mp_pack_str(pk, "history");
	rr_pack_history(pk, rr, &u, i);
}
