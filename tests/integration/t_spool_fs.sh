#!/usr/bin/env bash
# Issue 19.6: a full or read-only spool filesystem must not make silent
# gaps.  The spool lives on a small tmpfs of its own (root: mount).
#   full: while the aggregator is down the tmpfs fills up; each snapshot that
#     cannot be spooled is counted in memory (the dropped file is on the full
#     filesystem too) and the count reaches the aggregator with the next one
#     spooled once the backlog is delivered.
#   read-only: entries acknowledged but not removable are not sent again
#     (before: the same window was resent every 400 ms), snapshots that
#     cannot be spooled are counted, and after the remount read-write the
#     leftovers go and the count arrives.
# At the end the host's `dropped` equals the number of snapshots the agent
# said it dropped, and every acknowledged snapshot is stored exactly once.
. "$(dirname "$0")/lib.sh"
need_root "mounts a tmpfs"
need sqlite3
need jq
: "${FIXTURES:=$SRC/tests/fixtures}"

FS=$T/fs
on_exit() {
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	umount "$FS" 2>/dev/null || true
	cleanup
}
trap on_exit EXIT
mkdir "$FS"
mount -t tmpfs -o size=32k,mode=0700 tmpfs "$FS" || skip "cannot mount a tmpfs"

pki_dev it-fs
write_agg_conf
start_agg_fixed
write_agent_conf f it-fs
write_cli_conf
SP=$FS/spool
# a fixed source: snapshots of one size, whatever runs on this machine
sed -i "s#^spool = .*#spool = $SP#; s/^interval = .*/interval = 1s/" "$T/f.conf"
echo "source = linux-root:$FIXTURES/linux-modern" >>"$T/f.conf"
stop_agg

db() { sqlite3 "$T/ipcfleet.db" "$1" 2>/dev/null || echo 0; }
stored() { db 'select count(*) from received'; }
entries() { ls "$SP" 2>/dev/null | grep -c '\.snap$' || true; }
drops() { grep -c 'snapshot dropped (' "$T/agent.log" || true; }
dups() { grep -c 'was a duplicate' "$T/aggregator.log" || true; }
# the host's `dropped` as the aggregator has it; -1 before its first snapshot
reported() {
	local r
	r=$(cli host it-fs --json 2>/dev/null | jq -r '.dropped // 0' 2>/dev/null || true)
	echo "${r:--1}"
}
acked() { sed -n 's/.*snapshot \([0-9]*\) acknowledged.*/\1/p' "$T/agent.log" | sort -n | uniq; }
# wait_for SECONDS EXPRESSION: until the shell expression holds
wait_for() {
	local n=$(($1 * 5))
	for _ in $(seq 1 "$n"); do eval "$2" && return 0; sleep 0.2; done
	return 1
}

"$BIN/ipcfleet-agent" -c "$T/f.conf" -v >"$T/agent.log" 2>&1 &
AGENT=$!

# --- full ---
check "the tmpfs fills up and snapshots are dropped" wait_for 60 '[ "$(drops)" -ge 3 ]'
check "... each counted in memory" \
	grep -q 'No space left on device; snapshot dropped (3 dropped so far)' "$T/agent.log"
check "the dropped file could not say so" test "$(cat "$SP/dropped" 2>/dev/null || echo 0)" -lt 3
start_agg_fixed same
# the backlog goes (the agent's next try is at most 30 s away), space is free,
# the next snapshot is spooled with the count
check "the count reaches the aggregator" wait_for 60 '[ "$(reported)" -ge 3 ]'
check "the spool is emptied" wait_for 10 '[ "$(entries)" -eq 0 ]'
check_eq "reported = dropped so far" "$(drops)" "$(reported)"
# (the agent logs an ack a moment after the aggregator committed it)
check "every acknowledged snapshot stored" wait_for 10 '[ "$(acked | wc -l)" -eq "$(stored)" ]'

# --- read-only ---
stop_agg
mount -o remount,size=1m "$FS"
check "a backlog of more than one window (8) waits" wait_for 60 '[ "$(entries)" -ge 10 ]'
mount -o remount,ro "$FS"
W=$(entries)
R0=$(stored)
D0=$(drops)
start_agg_fixed same
check "the backlog of $W is delivered" wait_for 60 '[ "$(stored)" -ge $((R0 + W)) ]'
check "... the agent could not remove the entries" \
	grep -q 'cannot remove acknowledged snapshot .*; it will not be sent again' "$T/agent.log"
check "snapshots go on being counted while read-only" wait_for 30 '[ "$(drops)" -ge $((D0 + 3)) ]'
check_eq "no acknowledged entry was sent again" 0 "$(dups)"
check_eq "... exactly the backlog was stored" $((R0 + W)) "$(stored)"
check_eq "the files are still there (read-only)" "$W" "$(entries)"
mount -o remount,rw "$FS"
check "after the remount the leftovers are removed" wait_for 30 '[ "$(entries)" -eq 0 ]'
check "... and the count arrives" wait_for 30 '[ "$(reported)" -ge $((D0 + 3)) ]'
term_agent "$AGENT"
check_eq "reported = every snapshot the agent dropped" "$(drops)" "$(reported)"
check_eq "still no duplicate" 0 "$(dups)"
check_eq "every acknowledged snapshot stored once" "$(acked | tr '\n' ' ')" \
	"$(db 'select seq from received order by seq' | tr '\n' ' ')"

finish
