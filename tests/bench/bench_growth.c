/*
 * bench_growth.c: how cost grows (issue 17 item 5).  Runs other sections'
 * code at three sizes each and prints their figures as
 * growth_NAME_SIZE (bench_fig_names), e.g.
 * growth_ingest_cpu_us_per_snapshot_400obj, growth_query_hosts_p99_ms_10000h:
 *
 *   busy    the agent on a busy host (200 IPC namespaces, 2,000 objects)
 *           with 500, 2,000 and 8,000 processes (root)
 *   ingest  100 agents for 12 s each with 40, 400 and 4,000 objects per
 *           snapshot: the aggregator's CPU per snapshot (a smaller fleet
 *           than the ingest section's: the figure is per snapshot)
 *   query   hosts and host on 1,000, 10,000 and 50,000 hosts (latest
 *           snapshots and findings, no history), one database grown
 *   report  the HTML report of 200, 2,000 and 10,000 hosts with thirty
 *           days of history, one database grown
 *
 * --quick runs smaller sizes (a smoke run); --growth-parts picks parts
 * (busy,ingest,query,report).  Not part of the full run: it repeats the
 * other sections; name it in --only.
 */
#include <stdio.h>
#include <string.h>

#include "bench.h"
#include "util.h"

/* Whether --growth-parts (a comma separated list, NULL: all) names part. */
static int
growth_part(const struct bench *b, const char *part)
{
	const char *p = b->growth_parts;
	size_t n = strlen(part);

	if (p == NULL)
		return 1;
	while ((p = strstr(p, part)) != NULL) {
		if ((p == b->growth_parts || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

int
bench_growth_parts_valid(const char *list)
{
	static const char *const parts[] = {"busy", "ingest", "query", "report"};
	const char *bad;
	size_t badlen;

	return bench_list_valid(list, parts, NELEM(parts), &bad, &badlen);
}

int
bench_growth(struct bench *b)
{
	static const size_t procs[] = {500, 2000, 8000}, procs_q[] = {250, 500, 1000};
	static const size_t objs[] = {40, 400, 4000};
	static const size_t hosts[] = {1000, 10000, 50000}, hosts_q[] = {100, 1000, 5000};
	static const size_t rhosts[] = {200, 2000, 10000}, rhosts_q[] = {20, 100, 400};
	struct bench sb = *b; /* the sizes set here stay here */
	char sfx[32];
	size_t i;
	int rc = 0;

	/* the agent first: its 8,000 processes are forked from this process, cheapest small */
	for (i = 0; growth_part(b, "busy") && i < NELEM(procs); i++) {
		sb.busy_procs = b->quick ? procs_q[i] : procs[i];
		snprintf(sfx, sizeof(sfx), "_%zuprocs", sb.busy_procs);
		bench_fig_names("growth_", sfx);
		if (bench_agent_busy(&sb) == -1)
			rc = -1;
	}
	sb.busy_procs = b->busy_procs;
	sb.ingest_agents = b->ingest_agents ? b->ingest_agents : b->quick ? 20 : 100;
	sb.ingest_seconds = b->ingest_seconds ? b->ingest_seconds : b->quick ? 4 : 12;
	for (i = 0; growth_part(b, "ingest") && i < NELEM(objs); i++) {
		sb.ingest_objects = objs[i];
		snprintf(sfx, sizeof(sfx), "_%zuobj", objs[i]);
		bench_fig_names("growth_", sfx);
		if (bench_ingest(&sb) == -1)
			rc = -1;
	}
	bench_fig_names("", "");
	if (sb.failed)
		b->failed = 1;
	if (growth_part(b, "query") &&
	    bench_query_growth(b, b->quick ? hosts_q : hosts, NELEM(hosts)) == -1)
		rc = -1;
	if (growth_part(b, "report") &&
	    bench_report_growth(b, b->quick ? rhosts_q : rhosts, NELEM(rhosts)) == -1)
		rc = -1;
	return rc;
}
