#!/usr/bin/env bash
# PostgreSQL stops for 35 s under an aggregator and 50 simulated agents
# (issue 19, item 10): acks resume within a few seconds of the database's
# return (the reconnection backoff is capped at 5 s; it was 30 s), the
# outage fills the log with at most a bounded number of lines (rate
# limited, counted), and every acknowledged snapshot is stored exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib-pg.sh"
why=$(pg_cluster_check) || skip "$why"
[ -x "$BIN/../tests/test_store_pg" ] || skip "built without libpq: no PostgreSQL backend"

on_exit() {
	[ -n "${LG:-}" ] && kill "$LG" 2>/dev/null || true
	pg_cluster_remove
	cleanup
}
trap on_exit EXIT
pg_cluster_init "-c fsync=off"
pg_db ipcfleet

pki_dev po1
write_agg_conf
agg_conf_pg "$T/aggregator.conf"
start_agg_fixed
start_loadgen acks "$FIXED_PORT" 50 0.5 70 30 po
acks() { wc -l <"$T/acks" 2>/dev/null || echo 0; }
for _ in $(seq 1 300); do [ "$(acks)" -ge 300 ] && break; sleep 0.1; done
check "acks before the outage ($(acks))" test "$(acks)" -ge 300

# what is logged without -v (the test runs the aggregator with -v)
warnings() { grep -cvE 'TLS established|snapshot [0-9]+ (stored|was a duplicate)' "$T/aggregator.log"; }
lines_before=$(warnings)
pg_cluster_stop fast
sleep 35
during=$(($(warnings) - lines_before))
a0=$(acks)
pg_cluster_start
t0=$(date +%s%N)
for _ in $(seq 1 600); do [ "$(acks)" -gt "$a0" ] && break; sleep 0.05; done
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# first ack $ms ms after the database returned; $during log lines during the 35 s outage"
check "acks resume within 10 s of the database's return ($ms ms)" test "$ms" -le 10000
check "the outage logged at most 400 lines ($during)" test "$during" -le 400
check "and said how many it did not log" grep -q "more like this not logged" "$T/aggregator.log"
check_eq "the outage is logged once" 1 "$(grep -c 'storage failing:' "$T/aggregator.log")"
check_eq "and the recovery once" 1 "$(grep -c 'storage works again' "$T/aggregator.log")"

set +e
wait "$LG"
rc=$?
set -e
LG=
check_eq "load generator exits 0" 0 "$rc"
acked=$(lg_val snapshots_acked)
check_eq "every snapshot taken was acknowledged in the end" "$(lg_val snapshots_taken)" "$acked"
n=$(wc -l <"$T/acks")
head -n "$n" "$T/acks" | sort >"$T/acked"
psql_q "SELECT h.name || ' ' || r.seq FROM received r JOIN hosts h ON h.id = r.host_id" | sort >"$T/stored"
check_eq "every acknowledged snapshot is stored" 0 "$(comm -13 "$T/stored" "$T/acked" | wc -l)"
check_eq "exactly once" "$acked" "$(wc -l <"$T/stored")"
finish
