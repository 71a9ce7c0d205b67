#!/usr/bin/env bash
# Full disks.  The aggregator's database on a tmpfs that fills up: it keeps
# running, acknowledges nothing it could not commit, the agent keeps the
# snapshots spooled and delivers them once there is room again, none lost.
# Then the agent's spool on a full tmpfs: it keeps running and counts what
# it could not spool.
. "$(dirname "$0")/lib.sh"
need_root "mounting tmpfs file systems"
need jq
need sqlite3

pki_dev full1
mkdir -p "$T/dbfs" "$T/spoolfs"
mount -t tmpfs -o size=1m tmpfs "$T/dbfs"
mount -t tmpfs -o size=192k tmpfs "$T/spoolfs"
trap 'umount "$T/dbfs" "$T/spoolfs" 2>/dev/null; cleanup' EXIT
write_agg_conf
sed -i "s|^path = .*|path = $T/dbfs/ipcfleet.db|" "$T/aggregator.conf"
start_agg
write_agent_conf full1 full1
write_cli_conf
src="linux-root:$SRC/tests/fixtures/linux-modern"

# fill the database's file system, leaving a little room
dd if=/dev/zero of="$T/dbfs/ballast" bs=1k count=2000 2>/dev/null || true
acked=0 refused=0
for i in $(seq 1 40); do
	if "$BIN/ipcfleet-agent" -c "$T/full1.conf" --source "$src" --once >>"$T/agent.out" 2>&1; then
		acked=$((acked + 1))
	else
		refused=$((refused + 1))
	fi
done
check "some snapshots were refused for lack of space ($refused)" test "$refused" -gt 0
check "the aggregator is still running" kill -0 "$AGG_PID"
check "it says storage failed" grep -q "storage failed" "$T/agent.out"
check "the aggregator logged why" grep -Eqi "full|disk|space" "$T/aggregator.log"
spooled=$(ls "$T/spool-full1" | grep -c '\.snap$' || true)
check_eq "every refused snapshot waits in the spool" "$refused" "$spooled"

# room again: the next --once delivers the whole backlog
rm -f "$T/dbfs/ballast"
"$BIN/ipcfleet-agent" -c "$T/full1.conf" --source "$src" --once >>"$T/agent.out" 2>&1
check "with room again the backlog is delivered" test $? -eq 0
check_eq "the spool is empty" 0 "$(ls "$T/spool-full1" | grep -c '\.snap$' || true)"
check_eq "every snapshot taken is stored, once" "$((acked + refused + 1)) $((acked + refused + 1))" \
	"$(sqlite3 -separator ' ' "$T/dbfs/ipcfleet.db" 'select count(*), count(distinct seq) from received')"
check "queries still work" sh -c "\"$BIN/ipcfleet\" --config \"$T/cli.conf\" host full1 --json | jq -e '.host == \"full1\"' >/dev/null"

# the agent's own spool on a full file system: it keeps going and counts
stop_agg
sed -i "s|^spool = .*|spool = $T/spoolfs/spool|" "$T/full1.conf"
dd if=/dev/zero of="$T/spoolfs/ballast" bs=1k count=1000 2>/dev/null || true
set +e
"$BIN/ipcfleet-agent" -c "$T/full1.conf" --source "$src" --once >"$T/agentfull.out" 2>&1
rc=$?
set -e
check_eq "agent --once with a full spool exits 1" 1 "$rc"
check "and says why" grep -Eqi "no space|spool" "$T/agentfull.out"

finish
