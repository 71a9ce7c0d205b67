/*
 * health.c: what the aggregator knows of its own ability to see its fleet.
 *
 * Two things make every host look silent at once although none is: the
 * storage failing (disk full, read-only, PostgreSQL down: nothing can be
 * committed or acknowledged) and the aggregator itself not running (SIGSTOP,
 * a paused VM, a loop blocked on a lock).  /healthz reports the first (the
 * last commit's result); the stale check counts a host's silence only from
 * when the aggregator could last see again (health_seeing_since()).
 */
#include <inttypes.h>
#include <stdio.h>

#include "aggregator.h"
#include "log.h"
#include "util.h"

void
health_init(struct agg *a, int64_t now)
{
	struct agg_health *h = &a->health;

	h->seeing_since = now;
	h->last_tick_mono = agg_mono_us();
	h->failing_since = 0;
	h->failed_commits = 0;
	h->reason[0] = '\0';
}

void
health_commit(struct agg *a, int ok, const char *err, int64_t now)
{
	struct agg_health *h = &a->health;

	if (ok) {
		if (h->failing_since != 0) {
			log_warnx("storage works again after %" PRId64
			          " s and %llu failed commit(s); stale checks wait %llu s "
			          "more (stale_grace)",
			          now - h->failing_since, (unsigned long long)h->failed_commits,
			          (unsigned long long)a->cfg.stale_grace);
			/* the agents' snapshots of the outage are arriving only now */
			h->seeing_since = now;
		}
		h->failing_since = 0;
		h->failed_commits = 0;
		h->reason[0] = '\0';
		h->last_commit_ok = now;
		return;
	}
	if (h->failing_since == 0) {
		h->failing_since = now;
		log_warnx("storage failing: %s (healthz answers 503 until a commit succeeds)", err);
	}
	h->failed_commits++;
	a->stats.commits_failed++;
	ifl_strlcpy(h->reason, err, sizeof(h->reason));
}

int
health_storage_ok(const struct agg *a, char *why, size_t whylen)
{
	const struct agg_health *h = &a->health;

	if (h->failing_since == 0)
		return 1;
	snprintf(why, whylen, "storage failing for %" PRId64 " s (%llu failed commits): %s",
	         now_unix() - h->failing_since, (unsigned long long)h->failed_commits, h->reason);
	return 0;
}

int64_t
health_tick(struct agg *a, int64_t now)
{
	struct agg_health *h = &a->health;
	uint64_t mono = agg_mono_us(), gap_us = mono - h->last_tick_mono;
	/*
	 * A tick comes every check_interval; one more than 5 s late means the
	 * loop did not run (stopped, paused, blocked) and nothing could be
	 * received.  A busy loop taken for a stop only delays stale findings.
	 */
	uint64_t late_us = (a->cfg.check_interval + 5) * 1000000u;

	h->last_tick_mono = mono;
	if (gap_us > late_us) {
		log_warnx("the aggregator did not run for %llu s (stopped or paused?): "
		          "stale checks count from now, plus %llu s (stale_grace)",
		          (unsigned long long)(gap_us / 1000000u),
		          (unsigned long long)a->cfg.stale_grace);
		h->seeing_since = now;
	}
	if (h->failing_since != 0)
		return INT64_MAX; /* not seeing now */
	return h->seeing_since + (int64_t)a->cfg.stale_grace;
}
