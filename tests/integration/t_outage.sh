#!/usr/bin/env bash
# Outage: an agent at a 1 s interval keeps running while the aggregator is
# down for 15 s (stopped with SIGTERM, which must drain and exit 0), then
# comes back on the same port.  Afterwards the store holds exactly one
# snapshot per interval over the whole period: sequence numbers 1..N with no
# hole and no duplicate, N being what the agent handed out, and `taken` one
# second apart (no gap in the sampling during the outage).
. "$(dirname "$0")/lib.sh"
need sqlite3

OUTAGE=15

pki_dev it-outage
write_agg_conf

# count of snapshots stored for the host
stored() { sqlite3 "$T/ipcfleet.db" 'select count(*) from received' 2>/dev/null || echo 0; }
spooled() { ls "$T/spool-out" 2>/dev/null | grep -c '\.snap$' || true; }

start_agg_fixed
write_agent_conf out it-outage
sed -i 's/^interval = .*/interval = 1s/' "$T/out.conf"

"$BIN/ipcfleet-agent" -c "$T/out.conf" -v >"$T/agent.log" 2>&1 &
AGENT=$!
for _ in $(seq 1 100); do [ "$(stored)" -ge 4 ] && break; sleep 0.2; done
check "the agent delivers before the outage" test "$(stored)" -ge 4

# the outage; SIGTERM: the aggregator drains and exits 0
kill -TERM "$AGG_PID"
set +e
wait "$AGG_PID"
rc=$?
set -e
AGG_PID=
check_eq "aggregator exits 0 on SIGTERM" 0 "$rc"
check "it drained before exiting" grep -q "draining" "$T/aggregator.log"
before=$(stored)
sleep "$OUTAGE"
check "snapshots were spooled during the outage" test "$(spooled)" -ge $((OUTAGE - 3))
check "the agent kept running" kill -0 "$AGENT"

start_agg_fixed same
# backoff: the retry comes at most 32 s after the last failure (1, 2, ..., 32 s)
for _ in $(seq 1 300); do [ "$(spooled)" -eq 0 ] && break; sleep 0.2; done
check_eq "the backlog was delivered" 0 "$(spooled)"
sleep 2
kill -TERM "$AGENT"
set +e
wait "$AGENT"
rc=$?
set -e
check_eq "agent exits 0 on SIGTERM" 0 "$rc"
check "it logged the failed attempts" grep -q "delivery failed (attempt" "$T/agent.log"
check "and the recovery" grep -q "delivering again after" "$T/agent.log"

N=$(cat "$T/spool-out/seq")
# SIGTERM may land between a snapshot's spooling and its ack (one a second):
# that one stays spooled for the next start, and may or may not be stored
R=$(spooled)
check "at most the snapshot in flight stays spooled ($R)" test "$R" -le 1
if [ "$R" = 1 ]; then
	check_eq "... and it is the last one" "$(printf '%020d.snap' "$N")" \
		"$(ls "$T/spool-out" | grep '\.snap$')"
	check "... and the agent said so" grep -q "stay spooled, sequences $N to $N" "$T/agent.log"
fi
M=$(stored)
check "more than the outage's worth of snapshots" test "$N" -ge $((before + OUTAGE))
check "N snapshots stored, or N-1 with the last one spooled ($M of $N)" \
	test "$M" = "$N" -o "$M" = $((N - R))
check_eq "sequence numbers 1..$M, each once" "1 $M $M" \
	"$(sqlite3 "$T/ipcfleet.db" 'select min(seq), max(seq), count(distinct seq) from received' | tr '|' ' ')"
check_eq "the host's latest snapshot is the last one stored" "$M" \
	"$(sqlite3 "$T/ipcfleet.db" 'select last_seq from hosts')"
# one snapshot per second: each step 0..2 s (a late snapshot and the one after
# it), the whole span N-1 s within 2 s
sqlite3 "$T/ipcfleet.db" 'select taken from received order by seq' >"$T/taken"
steps=$(awk 'NR > 1 { d = $1 - p; if (d < 0 || d > 2) bad++ } { p = $1 } END { print bad + 0 }' "$T/taken")
check_eq "no gap in the sampling (steps of 1 s)" 0 "$steps"
span=$(($(tail -1 "$T/taken") - $(head -1 "$T/taken")))
check "span of taken is M-1 s within 2 s ($span for M=$M)" test "$span" -ge $((M - 3)) -a "$span" -le $((M + 1))

finish
