#!/usr/bin/env bash
# Capacity intelligence (issue 14), end to end through the real agent and
# aggregator over TLS:
#  - in a private IPC namespace (semmni set to 128): one new semaphore set
#    before each of six --once runs, with leak_window 3s, is a `leak` that
#    runs semmni out; a queue filled to 85% of its qbytes is `queue_fill`
#    warn; a 0666 segment is `permissions`; the host document's `headroom`
#    counts exactly; an orphan removed between two runs is still listed by
#    `ipcfleet orphans` as a record of what it was;
#  - a FreeBSD jailhost read live through fake tools on PATH (sysctl, ipcs,
#    jls, jexec, ps, rctl printing what rctl(8) prints): a jail's rctl rule
#    is a limit with a threshold, the jails' shares show in `host`, `top`
#    ranks a whole jail with the owners; without racct one info finding.
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc, /proc/sys/kernel/sem in it, setpriv to other uids"
need jq
need ipcrm
need setpriv
need unshare

# jqtrue FILTER FILE: the filter holds (jq -e), quietly
jqtrue() { jq -e "$@" >/dev/null; }

pki_dev it-cap it-cap-bsd
write_agg_conf "[analysis]" "leak_window = 3s" "leak_min_snapshots = 6" "orphan_keep = 1h"
start_agg
write_agent_conf cap it-cap
echo "orphan_min_age = 0s" >>"$T/cap.conf"
write_cli_conf

# ---- Linux, in a namespace of its own ----
cat >"$T/inside.sh" <<'SH'
set -e
BIN=$1 CONF=$2 T=$3
echo "250 32000 100 128" >/proc/sys/kernel/sem
"$BIN/ipcobj" msgq 1000 850 0600 >"$T/q.id"
"$BIN/ipcobj" shm 4096 0666 >"$T/shm.id"
# an orphan: a set of uid 4242, which runs nothing here
setpriv --reuid=4242 --regid=4242 --clear-groups "$BIN/ipcobj" sem 1 0600 >"$T/orphan.id"
for i in 1 2 3 4 5 6; do
	"$BIN/ipcobj" sem 1 0600 >>"$T/leak.ids"
	"$BIN/ipcfleet-agent" -c "$CONF" --once >>"$T/agent.out" 2>&1
	sleep 1.1 # a second apart at least: snapshots are timed in seconds
done
"$BIN/ipcfleet" --config "$T/cli.conf" host it-cap --json >"$T/host1.json"
"$BIN/ipcfleet" --config "$T/cli.conf" host it-cap >"$T/host1.txt"
# the orphan is removed as its finding says; the next run reports it gone
ipcrm -s "$(cat "$T/orphan.id")"
"$BIN/ipcfleet-agent" -c "$CONF" --once >>"$T/agent.out" 2>&1
"$BIN/ipcfleet" --config "$T/cli.conf" orphans --json >"$T/orphans.json"
"$BIN/ipcfleet" --config "$T/cli.conf" orphans >"$T/orphans.txt"
SH
rc=0
unshare --ipc bash "$T/inside.sh" "$BIN" "$T/cap.conf" "$T" || rc=$?
check_eq "seven deliveries in the namespace" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/agent.out"

Q=$(cat "$T/q.id")
SHM=$(cat "$T/shm.id")
ORPH=$(cat "$T/orphan.id")
leak='[.findings[] | select(.kind == "leak" and .scope == "host")]'
check_eq "one leak: root's sets in the namespace, crit, named by semmni" "crit 0 root semmni" \
	"$(jq -r "$leak | map(\"\(.severity) \(.uid) \(.owner) \(.limit)\") | join(\",\")" "$T/host1.json")"
check "the leak says 1 to 6, never falling, its rate and when semmni runs out" \
	grep -Eq "^crit +leak +uid 0 \(root\) in host leaks semaphore sets: 1 to 6 in [0-9]+s, never falling, [0-9]+\.[0-9] a day; semmni runs out around [0-9TZ:-]+ \(in 0\.0 days\)" "$T/host1.txt"
check "the leak carries when it runs out" \
	jqtrue "$leak | .[0].exhaust_at | test(\"^20[0-9-]+T[0-9:]+Z$\")" "$T/host1.json"

qf='[.findings[] | select(.kind == "queue_fill" and .scope == "host")]'
check_eq "queue_fill warn for the queue at 85% of its qbytes" "warn msg $Q msgmnb" \
	"$(jq -r "$qf | map(\"\(.severity) \(.type) \(.id) \(.limit)\") | join(\",\")" "$T/host1.json")"
check_eq "... and it says so, and that nothing reads it" \
	"queue $Q of uid 0 (root) in host holds 850 of 1000 bytes (85.0%, warn at 80%) in 9 messages; no reader: nothing was ever received from it" \
	"$(jq -r "$qf | .[0].message" "$T/host1.json")"

perm='[.findings[] | select(.kind == "permissions" and .scope == "host" and .type == "shm")]'
check_eq "permissions for the 0666 segment, info (nothing shares the namespace)" "info $SHM 0" \
	"$(jq -r "$perm | map(\"\(.severity) \(.id) \(.uid)\") | join(\",\")" "$T/host1.json")"
check "... saying who may do what and who made it" \
	jqtrue "$perm | .[0].message | test(\"^segment $SHM of uid 0 \\\\(root\\\\) in host is mode 0666: every user may read and write it; members of group 0 may read and write it; created with that mode by uid 0 \\\\(pid [0-9]+\\\\)$\")" "$T/host1.json"

# headroom: 7 sets of 1 semaphore in all (6 root's, 1 of uid 4242): 121 of 128 free
hr='[.headroom[] | select(.scope == "host" and .uid == 0 and .type == "sem")]'
check_eq "headroom: root's 6 sets of 1: 121 more sets, 20 more copies, semmni binds" \
	"6 1 121 20 semmni semmni" \
	"$(jq -r "$hr | map(\"\(.objects) \(.nsems) \(.more_objects) \(.more_instances) \(.binding) \(.instances_binding)\") | join(\",\")" "$T/host1.json")"
check "the HEADROOM section says it in words" \
	grep -q "^  uid 0 (root): 6 sets of 1; room for 121 more sets, 20 more instances; semmni binds first$" "$T/host1.txt"

rem="[.[] | select(.kind == \"orphan\" and .type == \"sem\" and .id == $ORPH and .scope == \"host\")]"
check_eq "the removed orphan is still listed, as info, without a command" "info null" \
	"$(jq -r "$rem | map(\"\(.severity) \(.command)\") | join(\",\")" "$T/orphans.json")"
check "... as a record of what it was" \
	jqtrue "$rem | .[0].message | test(\"^removed by [0-9TZ:-]+: semaphore set $ORPH \\\\(1 semaphores, uid 4242\\\\) looks abandoned: no process of uid 4242 is left in host\")" "$T/orphans.json"
check "ipcfleet orphans says which rows are records" \
	grep -Eq "orphaned objects? \([0-9]+ removed since, kept for the record\)" "$T/orphans.txt"

# ---- FreeBSD, live through fake tools ----
BSD=$T/bsd
cp -r "$FIXTURES/freebsd-jails" "$BSD"
cp "$FIXTURES/freebsd-rctl/"*.txt "$BSD/"
write_agent_conf bsd it-cap-bsd
bsd_once() {
	PATH="$FIXTURES/fakebin:$PATH" IPCFLEET_FAKE_DIR="$BSD" \
		"$BIN/ipcfleet-agent" -c "$T/bsd.conf" --source freebsd --once >>"$T/agent-bsd.out" 2>&1
}
rc=0
bsd_once || rc=$?
check_eq "the FreeBSD snapshot delivered" 0 "$rc"
cli host it-cap-bsd --json >"$T/bsd1.json"
cli host it-cap-bsd >"$T/bsd1.txt"
cli top --by semmns --count 10 --json >"$T/top.json"
check_eq "jail pg's rctl, as rctl -u and its deny rule say" "34 40 85" \
	"$(jq -r '.scopes[] | select(.id == "jail:pg") | .rctl.nsem | "\(.used) \(.limit) \(.pct)"' "$T/bsd1.json")"
check_eq "its rule is a limit: a threshold at 85%, naming the rule" \
	"warn nsem at 85.0% in jail:pg: 34 of 40 used, 6 free (rctl rule jail:pg:nsem:deny=40; warn at 80%)" \
	"$(jq -r '.findings[] | select(.kind == "threshold" and .scope == "jail:pg") | "\(.severity) \(.message)"' "$T/bsd1.json")"
check "host shows the jail's share of the host's pool and of its rule" \
	grep -Pzq "SHARES OF THE HOST'S POOLS\n  jail pg holds 34 of 340 semmns, 10\.0%\n  jail pg holds 2 of 50 semmni, 4\.0%\n(.*\n)*  jail pg holds 34 of 40 nsem \(rctl\), 85\.0%\n" "$T/bsd1.txt"
check_eq "headroom in jail pg: no more set of 17 fits its rule (6 free)" "0 nsem" \
	"$(jq -r '.headroom[] | select(.scope == "jail:pg" and .type == "sem") | "\(.more_objects) \(.binding)"' "$T/bsd1.json")"
check_eq "top ranks the whole jail with the owners" "34 340 null" \
	"$(jq -r '.[] | select(.host == "it-cap-bsd" and .scope == "jail:pg" and .by == "scope") | "\(.held) \(.limit_value) \(.uid)"' "$T/top.json")"
check_eq "... and its owner in it" "owner 770 34" \
	"$(jq -r '.[] | select(.host == "it-cap-bsd" and .scope == "jail:pg" and .by == "owner") | "\(.by) \(.uid) \(.held)"' "$T/top.json")"
check_eq "a 0666 set in the host's namespace, which jail zbx inherits: permissions warn" "warn" \
	"$(jq -r '.findings[] | select(.kind == "permissions" and .type == "sem" and .id == 65540) | .severity' "$T/bsd1.json")"
check_eq "with racct: no word about enabling it" 0 \
	"$(jq '[.findings[] | select(.kind == "isolation" and .scope == null)] | length' "$T/bsd1.json")"

# racct off: the rules are gone, one info finding says how to get them
echo 0 >"$BSD/racct-enable.txt"
sleep 1.1
bsd_once
cli host it-cap-bsd --json >"$T/bsd2.json"
check_eq "without racct: one info finding" \
	"info jails draw on the host's SysV IPC pools with no limits of their own: per-jail limits (rctl) need kern.racct.enable=1 in /boot/loader.conf and a reboot" \
	"$(jq -r '.findings[] | select(.kind == "isolation" and .scope == null) | "\(.severity) \(.message)"' "$T/bsd2.json")"
check_eq "... and the rule's threshold has closed" 0 \
	"$(jq '[.findings[] | select(.kind == "threshold" and .scope == "jail:pg")] | length' "$T/bsd2.json")"

finish
