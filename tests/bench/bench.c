/*
 * bench.c: ipcfleet-bench, the performance figures of docs/BENCHMARKS.md.
 *
 * Runs the real programs of this build (ipcfleet-aggregator, ipcfleet-agent
 * beside this binary) on loopback with a throw-away PKI, and the store
 * library in-process, and prints one "name=value unit" line per figure on
 * stdout; progress and notes go to stderr.  --quick is a smoke run (under
 * two minutes on two cores, smaller fleets); the full run is what
 * docs/BENCHMARKS.md reports.
 *
 * Exit 0 when every section ran, 1 when one could not, 2 on a usage error.
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "lgcore.h"
#include "util.h"

#ifndef IPCFLEET_SRC_DIR
#define IPCFLEET_SRC_DIR "."
#endif

/* The pg section: only with --pg-url (tests/bench/pg.sh gives one). */
static int
bench_pg(struct bench *b)
{
	int rc = 0;

	if (b->pg_url == NULL) {
		bench_note(
		    "pg: skipped: no --pg-url (tests/bench/pg.sh makes a throwaway cluster)");
		return 0;
	}
	if (bench_pg_query(b) == -1)
		rc = -1;
	if (bench_pg_ingest(b) == -1)
		rc = -1;
	if (bench_pg_ingest2(b) == -1)
		rc = -1;
	return rc;
}

static const struct section {
	const char *name;
	int (*fn)(struct bench *b);
	const char *what;
	int named; /* runs only when --only names it */
} sections[] = {
    /* first: the tools it runs are timed with fork, cheapest while this process is small */
    {"agent", bench_agent, "the agent on 1,000 objects beside ipcs -a and lsipc (root)", 0},
    {"busy", bench_agent_busy,
     "the agent on a busy host: 200 IPC namespaces, 2,000 processes, 2,000 objects (root)", 0},
    {"storage", bench_storage, "bytes per sample of realistic series, from the file size", 0},
    {"query", bench_query, "hosts, trend and report on a synthetic fleet with 30 days of history",
     0},
    {"ingest", bench_ingest, "sustained snapshots per second from persistent mTLS agents", 0},
    {"conns", bench_conns, "memory per idle connection, then a reconnect storm", 0},
    {"analysis", bench_analysis,
     "how long one agent's snapshot of 10,000 findings holds the aggregator's thread", 0},
    {"report", bench_report,
     "the HTML report of 2,000 hosts with 30 days of history: size and time (issue 15)", 0},
    {"pg", bench_pg, "query and ingest with the store on PostgreSQL (needs --pg-url)", 0},
    {"growth", bench_growth,
     "how cost grows: busy, ingest, query and report at three sizes each (only with --only)", 1},
};

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(
	    fp,
	    "usage: ipcfleet-bench [--quick] [--only SECTION,...] [--workdir DIR] [--keep]\n"
	    "                      [--query-hosts N] [--ingest-agents N] [--ingest-seconds S]\n"
	    "                      [--conns N] [--pg-url URL] [--report-out FILE]\n"
	    "                      [--ingest-objects N] [--busy-procs N] [--growth-parts LIST]\n"
	    "\n"
	    "Measures ipcfleet's performance figures and prints one \"name=value unit\"\n"
	    "line per figure.  --quick: small fleets, a smoke run of under two minutes.\n"
	    "The sizes override the mode's: hosts of the synthetic fleet (10,000; quick\n"
	    "200), ingesting agents (1,000; 200) and for how long (45 s; 8 s), idle\n"
	    "connections and storm (10,000; 1,000).  --pg-url names an empty PostgreSQL\n"
	    "database (postgresql://...) for the pg section, which runs the query and\n"
	    "ingest figures again with the store there (pg_ prefix); tests/bench/pg.sh\n"
	    "makes a throwaway cluster and runs it.  --report-out keeps the report\n"
	    "section's HTML (2,000 hosts; quick 200; --query-hosts sets it too).\n"
	    "--ingest-objects: objects in each ingested snapshot (40; at most 10,000);\n"
	    "--busy-procs: processes of the busy section (2,000, spread over its 200\n"
	    "namespaces; at least 200).  The growth section runs busy, ingest, query\n"
	    "and report at three sizes each and prints their figures as\n"
	    "growth_NAME_SIZE (growth_ingest_cpu_us_per_snapshot_400obj,\n"
	    "growth_query_hosts_p99_ms_50000h, ...): about 30 minutes, quick 2; it\n"
	    "runs only when --only names it; --growth-parts picks its parts\n"
	    "(busy,ingest,query,report).\n"
	    "\n"
	    "sections:\n");
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		fprintf(fp, "  %-8s %s\n", sections[i].name, sections[i].what);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
wanted(const struct bench *b, const char *name, int named)
{
	const char *p = b->only;
	size_t n = strlen(name);

	if (p == NULL)
		return !named;
	while ((p = strstr(p, name)) != NULL) {
		if ((p == b->only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return 1;
		p += n;
	}
	return 0;
}

/* A whole number from min to max, or exit 2. */
static size_t
count_arg(const char *opt, const char *s, uint64_t min, uint64_t max)
{
	const char *why;
	uint64_t v;

	if (parse_u64(s, min, max, &v, &why) == -1) {
		fprintf(stderr, "ipcfleet-bench: %s '%s': %s (%llu to %llu)\n", opt, s, why,
		        (unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return (size_t)v;
}

/* Every name in the comma separated list is a section. */
static int
only_valid(const char *list)
{
	const char *names[sizeof(sections) / sizeof(sections[0])], *bad;
	size_t i, badlen;

	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		names[i] = sections[i].name;
	if (bench_list_valid(list, names, i, &bad, &badlen) == -1) {
		fprintf(stderr, "ipcfleet-bench: unknown section '%.*s'\n", (int)badlen, bad);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {{"quick", no_argument, NULL, 'q'},
	                                         {"only", required_argument, NULL, 'o'},
	                                         {"keep", no_argument, NULL, 'k'},
	                                         {"workdir", required_argument, NULL, 'w'},
	                                         {"query-hosts", required_argument, NULL, 'H'},
	                                         {"ingest-agents", required_argument, NULL, 'A'},
	                                         {"ingest-seconds", required_argument, NULL, 'S'},
	                                         {"conns", required_argument, NULL, 'C'},
	                                         {"pg-url", required_argument, NULL, 'P'},
	                                         {"report-out", required_argument, NULL, 'R'},
	                                         {"ingest-objects", required_argument, NULL, 'O'},
	                                         {"busy-procs", required_argument, NULL, 'B'},
	                                         {"growth-parts", required_argument, NULL, 'G'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	static struct bench b;
	const char *base = "/tmp";
	char self[PATH_MAX], pki[PATH_MAX + 32];
	ssize_t n;
	size_t i;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'q':
			b.quick = 1;
			break;
		case 'o':
			b.only = optarg;
			break;
		case 'k':
			b.keep = 1;
			break;
		case 'w':
			base = optarg;
			break;
		case 'H':
			b.query_hosts = count_arg("--query-hosts", optarg, 1, 100000);
			break;
		case 'A':
			b.ingest_agents = count_arg("--ingest-agents", optarg, 1, 50000);
			break;
		case 'S':
			b.ingest_seconds = (unsigned)count_arg("--ingest-seconds", optarg, 2, 3600);
			break;
		case 'C':
			b.conns = count_arg("--conns", optarg, 1, 50000);
			break;
		case 'P':
			if (strncmp(optarg, "postgresql://", 13) != 0) {
				fprintf(stderr,
				        "ipcfleet-bench: --pg-url '%s': not a postgresql:// URL\n",
				        optarg);
				return 2;
			}
			b.pg_url = optarg;
			break;
		case 'R':
			b.report_out = optarg;
			break;
		case 'O':
			b.ingest_objects = count_arg("--ingest-objects", optarg, 1, LG_MAX_OBJECTS);
			break;
		case 'G':
			if (bench_growth_parts_valid(optarg) == -1) {
				fprintf(stderr,
				        "ipcfleet-bench: --growth-parts '%s': not a list of "
				        "busy, ingest, query, report\n",
				        optarg);
				return 2;
			}
			b.growth_parts = optarg;
			break;
		case 'B':
			/* at least one process per namespace, and the default pid_max allows 32,768
			 */
			b.busy_procs = count_arg("--busy-procs", optarg, 200, 20000);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (b.only != NULL && only_valid(b.only) == -1) {
		usage(stderr);
		return 2;
	}
	if (b.only != NULL && wanted(&b, "pg", 0) && b.pg_url == NULL) {
		fprintf(stderr,
		        "ipcfleet-bench: the pg section needs --pg-url (or tests/bench/pg.sh)\n");
		return 2;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0) {
		bench_note("cannot find my own binary: %s", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	snprintf(b.bindir, sizeof(b.bindir), "%s", dirname(self));
	snprintf(b.srcdir, sizeof(b.srcdir), "%s", IPCFLEET_SRC_DIR);
	if (snprintf(b.work, sizeof(b.work), "%s/ipcfleet-bench.XXXXXX", base) >=
	        (int)sizeof(b.work) ||
	    mkdtemp(b.work) == NULL) {
		bench_note("%s: cannot make a work directory: %s", base, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	bench_raise_nofile();
	snprintf(b.pki, sizeof(b.pki), "%s/pki", b.work);
	snprintf(pki, sizeof(pki), "%s/deploy/pki/ipcfleet-pki", b.srcdir);
	{
		char *av[] = {pki, "dev", b.pki, "bench-agent", NULL};

		if (bench_run(av, NULL) != 0) {
			bench_note("%s dev %s failed", pki, b.pki);
			return 1;
		}
	}
	bench_note("%s run, work directory %s", b.quick ? "quick" : "full", b.work);
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		double t0 = bench_now();

		if (!wanted(&b, sections[i].name, sections[i].named))
			continue;
		bench_note("section %s: %s", sections[i].name, sections[i].what);
		if (sections[i].fn(&b) == -1)
			b.failed = 1;
		bench_note("section %s took %.1f s", sections[i].name, bench_now() - t0);
	}
	if (b.keep)
		bench_note("kept %s", b.work);
	else
		nftw(b.work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return b.failed ? 1 : 0;
}
