/*
 * loadgen.c: ipcfleet-loadgen, N simulated agents over real mutual TLS.
 *
 * The command line of the engine in lgcore.c (see lgcore.h and
 * docs/DELIVERY.md): options in, one "name=value unit" line per figure out.
 * Exit 0, 1 when the set-up failed, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lgcore.h"
#include "util.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
	        "usage: ipcfleet-loadgen --ca-cert FILE --ca-key FILE --server HOST:PORT\n"
	        "                        [--agents N] [--interval S] [--duration S] [--drain S]\n"
	        "                        [--prefix NAME] [--log-acks FILE] [--connect-rate R]\n"
	        "                        [--slow-reader K] [--trickle K] [--progress S]\n"
	        "                        [--steady-after S]\n"
	        "\n"
	        "Simulates N ipcfleet agents over mutual TLS: each has a certificate minted\n"
	        "from the CA (CN PREFIX-0001, ...), sends hello, then one snapshot of 40\n"
	        "objects every interval and waits for its ack.  After --duration seconds no\n"
	        "new snapshots are taken; outstanding acks are awaited for up to --drain\n"
	        "seconds.  Prints one \"name=value unit\" line per figure.\n"
	        "\n"
	        "  --agents N        simulated agents (default 10)\n"
	        "  --interval S      seconds between snapshots (default 10; fractions allowed)\n"
	        "  --duration S      seconds of load (default 30)\n"
	        "  --drain S         seconds to wait for outstanding acks (default 30)\n"
	        "  --prefix NAME     certificate CN prefix (default lg)\n"
	        "  --log-acks FILE   one \"host seq\" line per ack received\n"
	        "  --connect-rate R  at most R connection attempts per second (default: no limit)\n"
	        "  --slow-reader K   K more connections that never read their acks\n"
	        "  --trickle K       K more connections that send one byte per second\n"
	        "  --progress S      every S seconds, one line on stderr: acks and latency\n"
	        "  --steady-after S  the ack_latency_steady_* figures count snapshots sent\n"
	        "                    from S seconds on (default: once all agents connected),\n"
	        "                    and the slow and trickle peers connect only then\n");
}

static double
lg_parse_num(const char *opt, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
		fprintf(stderr, "ipcfleet-loadgen: %s '%s': expected a number from %g to %g\n", opt,
		        s, min, max);
		exit(2);
	}
	return v;
}

/* A count: a whole number from min to max. */
static size_t
lg_parse_count(const char *opt, const char *s, uint64_t max)
{
	uint64_t v;
	const char *why;

	if (parse_u64(s, 0, max, &v, &why) == -1) {
		fprintf(stderr, "ipcfleet-loadgen: %s '%s': %s (a whole number up to %llu)\n", opt,
		        s, why, (unsigned long long)max);
		exit(2);
	}
	return (size_t)v;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {{"agents", required_argument, NULL, 'n'},
	                                         {"interval", required_argument, NULL, 'i'},
	                                         {"duration", required_argument, NULL, 'd'},
	                                         {"drain", required_argument, NULL, 'D'},
	                                         {"ca-cert", required_argument, NULL, 'C'},
	                                         {"ca-key", required_argument, NULL, 'K'},
	                                         {"server", required_argument, NULL, 's'},
	                                         {"prefix", required_argument, NULL, 'p'},
	                                         {"log-acks", required_argument, NULL, 'l'},
	                                         {"slow-reader", required_argument, NULL, 'S'},
	                                         {"trickle", required_argument, NULL, 'T'},
	                                         {"connect-rate", required_argument, NULL, 'r'},
	                                         {"progress", required_argument, NULL, 'P'},
	                                         {"steady-after", required_argument, NULL, 'A'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	struct lg_opts o;
	struct lg *lg;
	int ch;

	lg_opts_defaults(&o);
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			o.nagents = lg_parse_count("--agents", optarg, LG_MAX_AGENTS);
			break;
		case 'i':
			o.interval_ms =
			    (uint64_t)(lg_parse_num("--interval", optarg, 0.01, 86400) * 1000);
			break;
		case 'd':
			o.duration_ms =
			    (uint64_t)(lg_parse_num("--duration", optarg, 0.1, 86400) * 1000);
			break;
		case 'D':
			o.drain_ms = (uint64_t)(lg_parse_num("--drain", optarg, 0, 3600) * 1000);
			break;
		case 'C':
			o.ca_cert_path = optarg;
			break;
		case 'K':
			o.ca_key_path = optarg;
			break;
		case 's':
			o.server = optarg;
			break;
		case 'p':
			o.prefix = optarg;
			break;
		case 'l':
			o.ack_log_path = optarg;
			break;
		case 'S':
			o.nslow = lg_parse_count("--slow-reader", optarg, 1000);
			break;
		case 'T':
			o.ntrickle = lg_parse_count("--trickle", optarg, 1000);
			break;
		case 'r':
			o.connect_rate = lg_parse_num("--connect-rate", optarg, 0, 1e6);
			break;
		case 'A':
			o.steady_after_ms =
			    (uint64_t)(lg_parse_num("--steady-after", optarg, 0, 86400) * 1000);
			break;
		case 'P':
			o.progress_ms =
			    (uint64_t)(lg_parse_num("--progress", optarg, 0.1, 3600) * 1000);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || o.ca_cert_path == NULL || o.ca_key_path == NULL || o.server == NULL) {
		usage(stderr);
		return 2;
	}
	if (o.nagents + o.nslow + o.ntrickle == 0) {
		fprintf(stderr, "ipcfleet-loadgen: nothing to simulate\n");
		return 2;
	}
	if (o.nagents + o.nslow + o.ntrickle > LG_MAX_AGENTS) {
		fprintf(stderr, "ipcfleet-loadgen: at most %d agents in all\n", LG_MAX_AGENTS);
		return 2;
	}
	lg = lg_new(&o);
	lg_run(lg);
	lg_report(lg, stdout);
	lg_free(lg);
	return 0;
}
