#!/usr/bin/env bash
# The agent's first snapshot does not fit spool_max (800 semaphore sets in a
# private IPC namespace make it about 80 KB; spool_max is 64K): an always-on
# agent must not exit over it.  It logs the drop, counts it, and keeps
# snapshotting; once objects are removed (ipcrm inside its namespace) the
# snapshots fit, reach the aggregator, and carry the drop count.  With
# --once the same start-up fails with exit 1, as a one-shot should.
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc"
need unshare
need nsenter
need ipcmk
need ipcrm
need jq

pki_dev it-first
write_agg_conf
start_agg
write_agent_conf sf it-first
write_cli_conf
sed -i 's/^interval = .*/interval = 1s/' "$T/sf.conf"
echo "spool_max = 64K" >>"$T/sf.conf"

mkobjects='for i in $(seq 1 800); do ipcmk -S 1 >/dev/null || exit 1; done'

# --once: one snapshot, too large: exit 1 with the reason
set +e
unshare --ipc bash -c "$mkobjects"'; exec "$1" -c "$2" --once' _ \
	"$BIN/ipcfleet-agent" "$T/sf.conf" >"$T/once.log" 2>&1
rc=$?
set -e
check_eq "--once exits 1 when its snapshot cannot be spooled" 1 "$rc"
check "... and says why" grep -q "exceeds spool_max" "$T/once.log"
rm -rf "$T/spool-sf"

# the daemon: keeps running
unshare --ipc bash -c "$mkobjects"'; exec "$1" -c "$2" -v' _ \
	"$BIN/ipcfleet-agent" "$T/sf.conf" >"$T/agent.log" 2>&1 &
AGENT=$!
# 800 ipcmk runs come first: on a busy machine that takes a while
dropped() { cat "$T/spool-sf/dropped" 2>/dev/null || echo 0; }
wait_for 120 grep -q "exceeds spool_max" "$T/agent.log" || true
two_dropped() { [ "$(dropped)" -ge 2 ]; }
wait_for 60 two_dropped || true
check "the agent keeps running although its first snapshot does not fit" kill -0 "$AGENT"
check "it logs why" grep -q "exceeds spool_max" "$T/agent.log"
dropped=$(dropped)
check "the snapshots that did not fit are counted ($dropped)" test "$dropped" -ge 2

# 700 of the 800 sets go: the snapshots fit again
nsenter --ipc="/proc/$AGENT/ns/ipc" sh -c \
	'ipcs -s | awk "/^0x/ { print \"-s\", \$2 }" | head -700 | xargs ipcrm'
check_eq "700 sets removed in the agent's namespace" 100 \
	"$(nsenter --ipc="/proc/$AGENT/ns/ipc" ipcs -s | grep -c '^0x')"
sems() { jq '[.objects[] | select(.scope == "host" and .type == "sem")] | length' "$T/host.json"; }
delivered() { cli host it-first --json >"$T/host.json" 2>/dev/null && [ "$(sems)" = 100 ]; }
wait_for 90 delivered || true
check "delivered once the snapshots fit" test -s "$T/host.json"
check_eq "with the 100 sets that are left" 100 "$(sems)"
d=$(jq '.dropped // 0' "$T/host.json" 2>/dev/null || echo 0)
check "and the drop count ($d)" test "${d:-0}" -ge 2
kill -TERM "$AGENT"
set +e
wait "$AGENT"
rc=$?
set -e
check_eq "agent exits 0 on SIGTERM" 0 "$rc"
finish
