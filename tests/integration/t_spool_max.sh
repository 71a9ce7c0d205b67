#!/usr/bin/env bash
# A tiny spool_max (64K, the minimum): in a private IPC namespace holding
# 250 semaphore sets, each snapshot is about 25 KB, so two fit.  With the
# aggregator down, the agent keeps running, drops the oldest snapshots and
# counts them; once the aggregator is up the count travels in the next
# snapshots and `ipcfleet host NAME` shows it.
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc"
need unshare
need ipcmk
need jq
need sqlite3

pki_dev it-spool
write_agg_conf

# a port nothing listens on yet: the agent is configured before the aggregator starts
for _ in $(seq 1 20); do
	PORT=$((20000 + RANDOM % 20000))
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
sed -i "s/^listen = .*/listen = 127.0.0.1:$PORT/" "$T/aggregator.conf"
write_agent_conf sm it-spool
write_cli_conf
sed -i 's/^interval = .*/interval = 1s/' "$T/sm.conf"
echo "spool_max = 64K" >>"$T/sm.conf"

stored() { sqlite3 "$T/ipcfleet.db" 'select count(*) from received' 2>/dev/null || echo 0; }
entries() { ls "$T/spool-sm" 2>/dev/null | grep -c '\.snap$' || true; }

# exec: the agent keeps the PID of the background job
unshare --ipc bash -c '
	for i in $(seq 1 250); do ipcmk -S 1 >/dev/null || exit 1; done
	exec "$1" -c "$2" -v
' _ "$BIN/ipcfleet-agent" "$T/sm.conf" >"$T/agent.log" 2>&1 &
AGENT=$!

# 250 ipcmk runs, then snapshots every second into a spool that holds 2 or 3:
# wait (on a busy machine, long) until at least 3 were dropped and said so
spool_dropped() { cat "$T/spool-sm/dropped" 2>/dev/null || echo 0; }
full() { [ "$(spool_dropped)" -ge 3 ] && grep -q "dropped the .* oldest snapshot" "$T/agent.log"; }
wait_for 120 full || true
check "the agent keeps running with the spool full" kill -0 "$AGENT"
size=$(find "$T/spool-sm" -name '*.snap' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
check "the spool stays within spool_max ($size bytes)" test "$size" -le 65536
check "snapshots are large (2 or 3 fit: $(entries))" test "$(entries)" -le 3
dropped=$(cat "$T/spool-sm/dropped" 2>/dev/null || echo 0)
check "the oldest were dropped and counted ($dropped)" test "$dropped" -ge 3
check "the agent says so" grep -q "dropped the .* oldest snapshot" "$T/agent.log"

start_agg
# SIGHUP reloads and retries at once instead of waiting out the backoff
kill -HUP "$AGENT"
drained() { [ "$(stored)" -ge 3 ] && [ "$(entries)" -eq 0 ]; }
wait_for 90 drained || true
check "delivered once the aggregator is up" test "$(stored)" -ge 3
check "SIGHUP reloaded the configuration" grep -q "reload: configuration and certificates reloaded" "$T/agent.log"
dropped=$(cat "$T/spool-sm/dropped")
sleep 2
kill -TERM "$AGENT"
set +e
wait "$AGENT"
rc=$?
set -e
check_eq "agent exits 0 on SIGTERM" 0 "$rc"

total=$(cat "$T/spool-sm/dropped")
check_eq "no drops once delivery works again" "$dropped" "$total"
check "the dropped ones are the oldest: sequence 1 never arrived" \
	test "$(sqlite3 "$T/ipcfleet.db" 'select min(seq) from received')" -gt 1
cli host it-spool --json >"$T/host.json"
check_eq "the host document shows the drop count" "$total" "$(jq '.dropped' "$T/host.json")"
check "dropped > 0" sh -c "jq -e '.dropped > 0' '$T/host.json' >/dev/null"
check "the text output shows it too" sh -c "\"$BIN/ipcfleet\" --config \"$T/cli.conf\" host it-spool | grep -q 'dropped $total'"

finish
