#!/usr/bin/env bash
# vanished (issue 13): a segment removed with ipcrm while its creator still
# runs, between two --once deliveries, is a `vanished` finding in `ipcfleet
# host`; it stays open for [analysis] vanished_keep, then closes.  A segment
# whose creator ended before it went is no such finding.  The agent's state
# of objects is rewritten only when they change.  Real objects in a private
# IPC namespace, the real agent and aggregator.
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc"
need jq
need ipcrm

pki_dev it-van
write_agg_conf "[analysis]" "vanished_keep = 6s"
start_agg
write_agent_conf van it-van
write_cli_conf

# inside one namespace: a segment whose creator stays (A), one whose creator
# has ended (B); deliver, remove both, deliver twice, deliver after the keep
cat >"$T/inside.sh" <<'SH'
set -e
BIN=$1 CONF=$2 T=$3
n=0
keep_state() { # the state file's inode, and its objects (not its first line, "taken")
	n=$((n + 1))
	stat -c %i "$T/spool-van/objects" >"$T/ino.$n"
	tail -n +2 "$T/spool-van/objects" >"$T/objects.$n"
}
"$BIN/ipcobj" hold shm 4096 0600 >"$T/a.id" &
HOLDER=$!
for _ in $(seq 1 50); do [ -s "$T/a.id" ] && break; sleep 0.05; done
"$BIN/ipcobj" shm 8192 0600 >"$T/b.id"
echo "$HOLDER" >"$T/holder.pid"
"$BIN/ipcfleet-agent" -c "$CONF" --once >>"$T/agent.out" 2>&1
keep_state
ipcrm -m "$(cat "$T/a.id")"
ipcrm -m "$(cat "$T/b.id")"
"$BIN/ipcfleet-agent" -c "$CONF" --once >>"$T/agent.out" 2>&1
keep_state
"$BIN/ipcfleet" --config "$T/cli.conf" host it-van --json >"$T/host1.json"
"$BIN/ipcfleet" --config "$T/cli.conf" host it-van >"$T/host1.txt"
# within vanished_keep: the next snapshot no longer says it, the finding stays
"$BIN/ipcfleet-agent" -c "$CONF" --once >>"$T/agent.out" 2>&1
keep_state
"$BIN/ipcfleet" --config "$T/cli.conf" host it-van --json >"$T/host1b.json"
sleep 7
"$BIN/ipcfleet-agent" -c "$CONF" --once >>"$T/agent.out" 2>&1
keep_state
"$BIN/ipcfleet" --config "$T/cli.conf" host it-van --json >"$T/host2.json"
kill "$HOLDER"
SH
rc=0
unshare --ipc bash "$T/inside.sh" "$BIN" "$T/van.conf" "$T" || rc=$?
check_eq "four deliveries in the namespace" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/agent.out"

A=$(cat "$T/a.id")
B=$(cat "$T/b.id")
v='[.findings[] | select(.kind == "vanished")]'
check_eq "one vanished finding: the segment whose creator runs" "shm $A" \
	"$(jq -r "$v | map(\"\(.type) \(.id)\") | join(\",\")" "$T/host1.json")"
check "its message names the creator and the likely causes" \
	grep -q "shared memory segment $A (key 0, uid 0) vanished since .* while its creator, pid $(cat "$T/holder.pid"), still runs: RemoveIPC at a logout, or an ipcrm" "$T/host1.txt"
check_eq "no finding for the segment whose creator had ended" 0 \
	"$(jq "$v | map(select(.id == $B)) | length" "$T/host1.json")"
check_eq "within vanished_keep it stays open, though the next snapshot is silent" "shm $A" \
	"$(jq -r "$v | map(\"\(.type) \(.id)\") | join(\",\")" "$T/host1b.json")"
check_eq "after vanished_keep the finding has closed" 0 "$(jq "$v | length" "$T/host2.json")"

# the agent's state of objects (spool/objects) is written anew (a new file
# renamed over the old) only when the objects change.  (Objects of other
# namespaces on the host count too, so each pair is judged by its contents.)
check "the state file: a new one when the test's segments went" \
	test "$(cat "$T/ino.1")" != "$(cat "$T/ino.2")"
check "... the segments are no longer in it" \
	test "$(grep -c "^shm \($A\|$B\) .* host$" "$T/objects.1") $(grep -c "^shm \($A\|$B\) .* host$" "$T/objects.2")" = "2 0"
same=0
for i in 2 3; do
	if cmp -s "$T/objects.$i" "$T/objects.$((i + 1))"; then
		same=$((same + 1))
		check_eq "deliveries $i and $((i + 1)), the same objects: the same file" \
			"$(cat "$T/ino.$i")" "$(cat "$T/ino.$((i + 1))")"
	else
		check "deliveries $i and $((i + 1)), other objects: a new file" \
			test "$(cat "$T/ino.$i")" != "$(cat "$T/ino.$((i + 1))")"
	fi
done
check "... the same objects at least once (nothing else on the host changed them)" \
	test "$same" -ge 1

finish
