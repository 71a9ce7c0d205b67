#!/usr/bin/env bash
# docs/DELIVERY.md, "A spool that vanishes": the spool directory removed
# while the agent runs (rm -rf, a filesystem unmounted under it).  Before,
# every later snapshot was dropped until a restart, and the drops never
# reached the aggregator.  Now the next snapshot makes the spool again, as
# a start would, with a new identity, and delivery goes on: every snapshot
# the new spool numbers is stored.  A directory put in its place that the
# agent must refuse (writable by others) is refused, the snapshots are
# dropped and counted meanwhile, and once it is fixed they go on, the count
# with them.
. "$(dirname "$0")/lib.sh"
need sqlite3
need jq

pki_dev it-vanish
write_agg_conf
start_agg
write_agent_conf a it-vanish
sed -i 's/^interval = .*/interval = 1s/' "$T/a.conf"
SP=$T/spool-a
db() { sqlite3 "$T/ipcfleet.db" "$1"; }
stored() { db 'select count(*) from received' 2>/dev/null || echo 0; }
# wait_stored N: until N snapshots are stored (30 s at most)
wait_stored() { for _ in $(seq 1 150); do [ "$(stored)" -ge "$1" ] && return 0; sleep 0.2; done; return 1; }

"$BIN/ipcfleet-agent" -c "$T/a.conf" --source "linux-root:$FIXTURES/linux-modern" -v \
	>"$T/agent.log" 2>&1 &
AGENT=$!
trap 'kill "$AGENT" 2>/dev/null || true; cleanup' EXIT
check "the agent delivers (3 stored)" wait_stored 3
ID1=$(cat "$SP/id")

# --- removed while running (again if the agent wrote in it meanwhile) ---
for _ in 1 2 3; do rm -rf "$SP" 2>/dev/null && break; sleep 0.1; done
S1=$(stored)
check "after the removal, delivery goes on (3 more stored)" wait_stored $((S1 + 3))
check "the agent said what happened" grep -q \
	"spool $SP was removed or replaced while running: opened again, with a new identity" "$T/agent.log"
ID2=$(cat "$SP/id" 2>/dev/null || true)
check "the spool is there again, with another identity" test -n "$ID2" -a "$ID2" != "$ID1"
check_eq "... private (0700)" 700 "$(stat -c '%a' "$SP")"
check "the new spool's snapshots are stored from sequence 1, none missing" test \
	"$(db "select min(seq) = 1 and max(seq) = count(*) from received where spool = '$ID2'")" = 1
check_eq "none was taken for a duplicate" 0 "$(grep -c 'was a duplicate' "$T/aggregator.log" || true)"

# --- replaced by a directory others may write: refused, drops counted ---
mv "$SP" "$T/old-spool"
mkdir -p "$SP" # (the agent may have made it again already)
chmod 0777 "$SP"
for _ in $(seq 1 50); do grep -q "cannot be made again" "$T/agent.log" && break; sleep 0.2; done
check "a spool others may write is refused, and said once" test \
	"$(grep -c "spool $SP is gone and cannot be made again: spool $SP is writable by group or others" "$T/agent.log")" = 1
sleep 2.5 # two or three snapshots dropped meanwhile
S2=$(stored)
chmod 0700 "$SP"
check "once it is private again, delivery goes on" wait_stored $((S2 + 2))
ID3=$(cat "$SP/id" 2>/dev/null || true)
check "... under a third identity" test -n "$ID3" -a "$ID3" != "$ID2"
ND=$(sed -n 's/.*snapshot dropped (\([0-9]*\) dropped so far).*/\1/p' "$T/agent.log" | tail -1)
check "the agent said it dropped the snapshots it could not spool (${ND:-none})" \
	test "${ND:-0}" -ge 2
write_cli_conf
check_eq "... and the aggregator has the count: ipcfleet host says dropped $ND" "$ND" \
	"$(cli host it-vanish --json | jq -r '.dropped')"
term_agent "$AGENT"
finish
