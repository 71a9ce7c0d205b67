#!/bin/sh
# quick.sh BENCH: the bench.quick smoke test.  Runs BENCH --quick and checks
# that it succeeds, that every line of its output is one "name=value unit"
# figure, and that the figures docs/BENCHMARKS.md reports are all there.
set -u
bench=$1
out=$(mktemp /tmp/bench-quick.XXXXXX)
trap 'rm -f "$out"' EXIT
if ! "$bench" --quick >"$out"; then
	echo "not ok - ipcfleet-bench --quick failed"
	cat "$out"
	exit 1
fi
fails=0
bad=$(grep -Ev '^[a-z][a-z0-9_]*=-?[0-9]+(\.[0-9]+)? [A-Za-z0-9/%]+$' "$out")
if [ -n "$bad" ]; then
	echo "not ok - lines not in the name=value unit form:"
	echo "$bad"
	fails=1
fi
want="storage_bytes_per_sample query_hosts_p99_ms query_trend_30d_p99_ms report_s
ingest_snapshots_per_s ingest_cpu_us_per_snapshot conn_rss_kb_per_conn handshake_storm_s"
if [ "$(id -u)" = 0 ]; then
	want="$want agent_cpu_us_per_snapshot agent_rss_kb ipcs_cpu_us_per_run"
fi
for f in $want; do
	if ! grep -q "^$f=" "$out"; then
		echo "not ok - figure $f missing"
		fails=1
	fi
done
cat "$out"
[ "$fails" = 0 ] && echo "ok - ipcfleet-bench --quick: $(wc -l <"$out") figures"
exit "$fails"
