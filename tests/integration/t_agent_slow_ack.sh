#!/usr/bin/env bash
# docs/DELIVERY.md, "Retry and pacing": `timeout` is per network operation.
# A connection made shortly before the next snapshot was due was given the
# rest of the interval to connect, and that shortened deadline stayed with
# every later read and write on it: an aggregator slower to acknowledge
# than that (many agents back after an outage, a commit falling behind)
# made the agent drop the connection, back off and send again.  Here the
# aggregator is stopped for 7 s with interval 3s and timeout 15s: a
# snapshot is sent in its first 3 s, its ack comes 4 s or more later (the
# connection's old deadline was 3 s), and nothing fails.
. "$(dirname "$0")/lib.sh"
need sqlite3

pki_dev it-slowack
write_agg_conf
start_agg
write_agent_conf a it-slowack
sed -i 's/^interval = .*/interval = 3s/' "$T/a.conf"
echo "timeout = 15s" >>"$T/a.conf"
stored() { sqlite3 "$T/ipcfleet.db" 'select count(*) from received' 2>/dev/null || echo 0; }

"$BIN/ipcfleet-agent" -c "$T/a.conf" --source "linux-root:$FIXTURES/linux-modern" -v \
	>"$T/agent.log" 2>&1 &
AGENT=$!
trap 'kill -CONT "$AGG_PID" 2>/dev/null || true; kill "$AGENT" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 100); do [ "$(stored)" -ge 2 ] && break; sleep 0.2; done
check "the agent delivers on its connection (2 stored)" test "$(stored)" -ge 2
# a snapshot is sent while the aggregator is stopped: its ack waits
kill -STOP "$AGG_PID"
sleep 7
kill -CONT "$AGG_PID"
S=$(stored)
for _ in $(seq 1 100); do [ "$(stored)" -ge $((S + 2)) ] && break; sleep 0.2; done
check "delivery goes on after the pause" test "$(stored)" -ge $((S + 2))
check "nothing failed or timed out: the late acknowledgement was waited for" \
	sh -c "! grep -Eq 'failed|timed out' '$T/agent.log'"
check_eq "one connection throughout: none replaced by a newer one" 0 \
	"$(grep -c "replaced by a newer connection" "$T/aggregator.log" || true)"
term_agent "$AGENT"
finish
