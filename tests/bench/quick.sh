#!/bin/sh
# quick.sh BENCH [pg|growth]: the bench.quick smoke tests.  Runs BENCH --quick
# (with pg: its pg section on a throwaway PostgreSQL cluster, through pg.sh;
# exit 77 when none can be made; with growth: its growth section alone) and
# checks that it succeeds, that every line of its output is one "name=value
# unit" figure (or an ack latency "name=unknown why"), and that the figures
# docs/BENCHMARKS.md reports are all there.
set -u
bench=$1
mode=${2:-}
out=$(mktemp /tmp/bench-quick.XXXXXX)
trap 'rm -f "$out"' EXIT
if [ "$mode" = pg ]; then
	sh "$(dirname "$0")/pg.sh" "$bench" --quick >"$out"
	rc=$?
elif [ "$mode" = growth ]; then
	"$bench" --quick --only growth >"$out"
	rc=$?
else
	"$bench" --quick >"$out"
	rc=$?
fi
if [ $rc = 77 ]; then
	cat "$out"
	exit 77
fi
if [ $rc != 0 ]; then
	echo "not ok - ipcfleet-bench --quick failed"
	cat "$out"
	exit 1
fi
fails=0
# (an ack latency may be "unknown WHY": on a loaded machine no snapshot
# sent in the measured part may be acknowledged before the run ends)
bad=$(grep -Ev '^[a-z][a-z0-9_]*=-?[0-9]+(\.[0-9]+)? [A-Za-z0-9/%]+$' "$out" |
	grep -Ev '^[a-z0-9_]*_ack_p(50|99)_ms(_[0-9a-z]+)?=unknown .+$')
if [ -n "$bad" ]; then
	echo "not ok - lines not in the name=value unit form:"
	echo "$bad"
	fails=1
fi
want="storage_bytes_per_sample query_hosts_p99_ms query_trend_30d_p99_ms report_s
ingest_snapshots_per_s ingest_cpu_us_per_snapshot conn_rss_kb_per_conn handshake_storm_s
analysis_10k_findings_ms analysis_10k_findings_cpu_ms analysis_10k_scopes_ms report_html_mb report_html_s"
if [ "$mode" = pg ]; then
	want="pg_query_hosts_p99_ms pg_query_host_p99_ms pg_report_s pg_ingest_snapshots_per_s
pg_ingest_cpu_us_per_snapshot pg_ingest_server_cpu_us_per_snapshot pg_ingest_ack_p99_ms
pg_pair_snapshots_per_s pg_pair_server_cpu_us_per_snapshot"
elif [ "$mode" = growth ]; then
	# the quick sizes (bench_growth.c); the busy ones need root
	want="growth_ingest_cpu_us_per_snapshot_40obj growth_ingest_cpu_us_per_snapshot_400obj
growth_ingest_cpu_us_per_snapshot_4000obj growth_query_hosts_p99_ms_100h
growth_query_hosts_p99_ms_1000h growth_query_hosts_p99_ms_5000h growth_query_host_p99_ms_100h
growth_query_host_p99_ms_1000h growth_query_host_p99_ms_5000h growth_report_html_mb_20h
growth_report_html_s_20h growth_report_html_mb_400h growth_report_html_s_400h"
	if [ "$(id -u)" = 0 ]; then
		want="$want growth_agent_busy_cpu_us_per_snapshot_250procs
growth_agent_busy_cpu_us_per_snapshot_500procs growth_agent_busy_cpu_us_per_snapshot_1000procs"
	fi
	# each size measured afresh: a CPU cost per snapshot is never zero or negative
	bad=$(grep -E '^growth_.*_cpu_us_per_snapshot_[0-9a-z]+=(-|0 )' "$out")
	if [ -n "$bad" ]; then
		echo "not ok - a size was not measured: $bad"
		fails=1
	fi
	# and an ingest run at each size made no errors
	bad=$(grep -E '^growth_ingest_errors_[0-9a-z]+=' "$out" | grep -v '=0 ')
	if [ -n "$bad" ]; then
		echo "not ok - errors while ingesting: $bad"
		fails=1
	fi
elif [ "$(id -u)" = 0 ]; then
	want="$want agent_cpu_us_per_snapshot agent_rss_kb ipcs_cpu_us_per_run"
fi
for f in $want; do
	if ! grep -q "^$f=" "$out"; then
		echo "not ok - figure $f missing"
		fails=1
	fi
done
# every *_errors figure (ingest_errors, pg_ingest_errors, pg_pair_errors) is 0
bad=$(grep -E '^[a-z_]*_errors=' "$out" | grep -v '=0 ')
if [ -n "$bad" ]; then
	echo "not ok - errors while ingesting: $bad"
	fails=1
fi
cat "$out"
[ "$fails" = 0 ] && echo "ok - ipcfleet-bench --quick: $(wc -l <"$out") figures"
exit "$fails"
