/*
 * render_check.c: `ipcfleet check NAME`, a Nagios/Icinga plugin (cli.h).
 *
 * One line: "IPCFLEET STATE - NAME: TEXT | PERFDATA", where TEXT is the
 * message of the worst open warn/crit finding (and how many more there
 * are), or else the use% of every counted limit; PERFDATA has one
 * "limit=used;warn;crit;0;max" item per counted limit, warn and crit in the
 * limit's own unit (80 and 90 percent of it unless the usage entry carries
 * its own "warn"/"crit" percentages), and "limit=U;..." for a use that could
 * not be read.  A figure the agent could not read makes the state UNKNOWN
 * (unknown is never zero), unless a critical finding is open: CRITICAL
 * outranks UNKNOWN, which outranks WARNING, as Nagios ranks them.
 * Nothing from the document may break
 * the line: text is cleaned of control characters and '|' (which starts
 * perfdata) becomes '/'; perfdata labels must be valid limit names.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cli.h"
#include "model.h"

#define CHK_TEXT_MAX 200

static const char *const chk_state[] = {"OK", "WARNING", "CRITICAL", "UNKNOWN"};

/* Untrusted text for the status line. */
static void
chk_text(struct buf *out, const char *s, size_t n)
{
	size_t start = out->len, i;

	rt_clean(out, s, n, CHK_TEXT_MAX);
	for (i = start; i < out->len && !buf_failed(out); i++)
		if (out->data[i] == '|')
			out->data[i] = '/';
}

static void
chk_head(struct buf *out, int code, const char *name)
{
	buf_printf(out, "IPCFLEET %s - ", chk_state[code]);
	if (name != NULL) {
		chk_text(out, name, strlen(name));
		buf_puts(out, ": ");
	}
}

int
render_check_unknown(const char *name, const char *why, struct buf *out)
{
	chk_head(out, CLI_UNKNOWN, name);
	chk_text(out, why, strlen(why));
	buf_puts(out, "\n");
	return CLI_UNKNOWN;
}

/* floor(limit x pct / 100) without overflow, pct rounded to 1/100 percent. */
static uint64_t
chk_level(uint64_t limit, double pct)
{
	uint64_t p = (uint64_t)llround(pct * 100.0); /* 0..10000 (rt_thresholds) */

	return limit / 10000 * p + limit % 10000 * p / 10000;
}

/* " | semmns=266;272;306;0;340 ..." for every counted limit with numbers. */
static void
chk_perfdata(const msgpack_object *usage, struct buf *out)
{
	char name[MODEL_NAME_MAX];
	double warn, crit;
	uint64_t used, limit;
	size_t i;
	int first = 1;

	for (i = 0; i < mpr_mapsize(usage); i++) {
		const msgpack_object_kv *kv = &usage->via.map.ptr[i];

		if (mpr_str_copy(&kv->key, name, sizeof(name)) == -1 || !limit_name_valid(name) ||
		    mpr_u64(mpr_get(&kv->val, "limit"), &limit) == -1)
			continue;
		rt_thresholds(&kv->val, &warn, &crit);
		/* "U": a value that could not be determined (the plugin guidelines) */
		if (mpr_u64(mpr_get(&kv->val, "used"), &used) == 0)
			buf_printf(out, "%s%s=%" PRIu64, first ? " | " : " ", name, used);
		else if (mpr_is_str(mpr_get(&kv->val, "unknown")))
			buf_printf(out, "%s%s=U", first ? " | " : " ", name);
		else
			continue;
		buf_printf(out, ";%" PRIu64 ";%" PRIu64 ";0;%" PRIu64, chk_level(limit, warn),
		           chk_level(limit, crit), limit);
		first = 0;
	}
}

/* "semmns 78.2%, semmni 32.0%" */
static void
chk_usage_text(const msgpack_object *usage, struct buf *out)
{
	size_t i, n = 0;
	double pct;

	for (i = 0; i < mpr_mapsize(usage); i++) {
		const msgpack_object_kv *kv = &usage->via.map.ptr[i];

		if (!mpr_is_str(&kv->key) || mpr_num(mpr_get(&kv->val, "pct"), &pct) == -1)
			continue;
		if (n++ > 0)
			buf_puts(out, ", ");
		chk_text(out, kv->key.via.str.ptr, kv->key.via.str.size);
		buf_printf(out, " %.1f%%", pct);
	}
	if (n == 0)
		buf_puts(out, "no usage reported");
}

/*
 * The first usage entry that says it is unknown, and how many do; NULL and
 * 0 when every figure was read.
 */
static const msgpack_object_kv *
chk_unknown(const msgpack_object *usage, size_t *n)
{
	const msgpack_object_kv *first = NULL;
	size_t i;

	*n = 0;
	for (i = 0; i < mpr_mapsize(usage); i++) {
		const msgpack_object_kv *kv = &usage->via.map.ptr[i];

		/* the caller prints the key as the figure's name: a string only */
		if (!mpr_is_str(&kv->key) || !mpr_is_str(mpr_get(&kv->val, "unknown")))
			continue;
		if ((*n)++ == 0)
			first = kv;
	}
	return first;
}

/* An open finding: no "closed" time (nil or absent). */
static int
chk_open(const msgpack_object *f)
{
	const msgpack_object *c = mpr_get(f, "closed");

	return c == NULL || c->type == MSGPACK_OBJECT_NIL;
}

int
render_check(const msgpack_object *doc, const char *name, struct buf *out)
{
	const msgpack_object *usage = mpr_get(doc, "usage"), *findings = mpr_get(doc, "findings");
	const msgpack_object *worst = NULL, *msg, *seen;
	const msgpack_object_kv *unk;
	size_t i, nbad = 0, nunk;
	int rank, wrank = 0, code;

	if (doc == NULL || doc->type != MSGPACK_OBJECT_MAP || usage == NULL ||
	    usage->type != MSGPACK_OBJECT_MAP)
		return render_check_unknown(name, "the aggregator sent no usage for this host",
		                            out);
	for (i = 0; i < mpr_arrsize(findings); i++) {
		const msgpack_object *f = &findings->via.array.ptr[i];

		if (!chk_open(f))
			continue;
		if (mpr_streq(mpr_get(f, "kind"), "stale")) {
			wrank = -1; /* the host itself is stale */
			break;
		}
		/* here higher is worse, as the plugin's exit codes: crit 3 .. other 0 */
		rank = 3 - table_severity_rank(mpr_get(f, "severity"));
		if (rank >= 2)
			nbad++;
		if (rank > wrank) {
			wrank = rank;
			worst = f;
		}
	}
	if (wrank == -1 || mpr_streq(mpr_get(doc, "status"), "stale")) {
		chk_head(out, CLI_UNKNOWN, name);
		buf_puts(out, "stale: no report");
		if (mpr_is_str(seen = mpr_get(doc, "last_seen"))) {
			buf_puts(out, " since ");
			chk_text(out, seen->via.str.ptr, seen->via.str.size);
		}
		buf_puts(out, "\n");
		return buf_failed(out) ? -1 : CLI_UNKNOWN;
	}
	code = wrank >= 3 ? 2 : wrank == 2 ? 1 : 0;
	if (code < 2 && (unk = chk_unknown(usage, &nunk)) != NULL) {
		/* a figure that could not be read: neither OK nor a number */
		chk_head(out, CLI_UNKNOWN, name);
		chk_text(out, unk->key.via.str.ptr, unk->key.via.str.size);
		buf_puts(out, " unknown: ");
		msg = mpr_get(&unk->val, "unknown");
		chk_text(out, msg->via.str.ptr, msg->via.str.size);
		if (nunk > 1)
			buf_printf(out, " (+%zu more)", nunk - 1);
		chk_perfdata(usage, out);
		buf_puts(out, "\n");
		return buf_failed(out) ? -1 : CLI_UNKNOWN;
	}
	chk_head(out, code, name);
	if (code > 0 && mpr_is_str(msg = mpr_get(worst, "message")) && msg->via.str.size > 0) {
		chk_text(out, msg->via.str.ptr, msg->via.str.size);
		if (nbad > 1)
			buf_printf(out, " (+%zu more)", nbad - 1);
	} else
		chk_usage_text(usage, out);
	chk_perfdata(usage, out);
	buf_puts(out, "\n");
	return buf_failed(out) ? -1 : code;
}
