#!/usr/bin/env bash
# Linux IPC namespaces: four namespaces held open by sleeping processes,
# each with semaphore limits and objects of its own (the fourth's cannot
# be read: unknown, never "no limit").  The agent, run in
# this (the host's) namespace, must report each one as an "ipcns" scope
# with its own limits and exact usage, keep their objects out of the host's
# pool, name a namespace after its UTS host name or its container, and
# report a "container" that shares the host's IPC namespace.
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc, /proc/sys/kernel/sem and setns into other namespaces"
need jq
need ipcmk
need unshare
need stat
need setpriv

SLEEPERS=
CGDIR=
cleanup_ns() {
	for p in $SLEEPERS; do kill "$p" 2>/dev/null || true; done
	for p in $SLEEPERS; do
		for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
	done
	if [ -n "$CGDIR" ]; then
		for d in "$CGDIR"/*/; do rmdir "$d" 2>/dev/null || true; done
		rmdir "$CGDIR" 2>/dev/null || true
	fi
	cleanup
}
trap cleanup_ns EXIT

# start_ns NAME "SEMMSL SEMMNS SEMOPM SEMMNI" SCRIPT [UNSHARE FLAGS]: a new IPC
# namespace with those limits in which SCRIPT creates objects; its sleeper's
# pid goes to $T/NAME.pid
start_ns() {
	local name=$1 sem=$2 script=$3
	shift 3
	rm -f "$T/$name.ready"
	unshare --ipc "$@" sh -c '
		set -e
		echo "$1" > /proc/sys/kernel/sem
		eval "$2"
		touch "$3"
		exec sleep 600
	' _ "$sem" "$script" "$T/$name.ready" >"$T/$name.log" 2>&1 &
	echo $! >"$T/$name.pid"
	SLEEPERS="$SLEEPERS $!"
	for _ in $(seq 1 100); do
		[ -e "$T/$name.ready" ] && return 0
		sleep 0.05
	done
	cat "$T/$name.log"
	return 1
}

# 3 sets of 10 and one 65536-byte segment (16 pages)
start_ns a "250 1000 32 40" 'for i in 1 2 3; do ipcmk -S 10 >/dev/null; done; ipcmk -M 65536 >/dev/null'
# FreeBSD defaults, 5 sets of 17 (85 of 340), two queues; its own host name
start_ns b "340 340 100 50" 'hostname it-ns-b; for i in 1 2 3 4 5; do ipcmk -S 17 >/dev/null; done; ipcmk -Q >/dev/null; ipcmk -Q >/dev/null' --uts
# full: 8 sets of 25 = 200 of semmns 200, 8 of semmni 8
start_ns c "100 200 50 8" 'for i in 1 2 3 4 5 6 7 8; do ipcmk -S 25 >/dev/null; done'

# d: a semaphore line the kernel takes but no count can use (semmsl -1);
# one segment of 4096 bytes
start_ns d "-1 32000 32 128" 'ipcmk -M 4096 >/dev/null'

ino() { stat -L -c %i "/proc/$(cat "$T/$1.pid")/ns/ipc"; }
A="ipcns:$(ino a)"
B="ipcns:$(ino b)"
C="ipcns:$(ino c)"
D="ipcns:$(ino d)"
check "three distinct namespaces" test "$A" != "$B" -a "$B" != "$C" -a "$A" != "$C"

# Namespace c runs in a cgroup named like a Docker container, and a process
# of this namespace in another one: a container sharing the host's IPC
# namespace (--ipc=host).  Only where a cgroup hierarchy can be written to:
# cgroup v2 (unified) or the v1 "name=systemd" one.
CG=
for h in /sys/fs/cgroup /sys/fs/cgroup/unified /sys/fs/cgroup/systemd; do
	[ -e "$h/cgroup.procs" ] || continue
	mkdir "$h/ipcfleet-it-$$" 2>/dev/null || continue
	CGDIR=$h/ipcfleet-it-$$
	ID1=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	ID2=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	sleep 600 &
	SLEEPERS="$SLEEPERS $!"
	if mkdir "$CGDIR/docker-$ID1.scope" "$CGDIR/docker-$ID2.scope" &&
		echo "$(cat "$T/c.pid")" >"$CGDIR/docker-$ID1.scope/cgroup.procs" &&
		echo $! >"$CGDIR/docker-$ID2.scope/cgroup.procs"; then
		CG=1
		break
	fi
done

"$BIN/ipcfleet-agent" --print --json >"$T/print.json" 2>"$T/print.err"
check "agent --print --json exits 0" test $? -eq 0
check "its output is JSON" jq -e . "$T/print.json" >/dev/null
check_eq "the host scope comes first" "host host" \
	"$(jq -r '.scopes[0] | "\(.id) \(.kind)"' "$T/print.json")"
check_eq "the three namespaces are ipcns scopes" 3 \
	"$(jq --arg a "$A" --arg b "$B" --arg c "$C" \
		'[.scopes[] | select((.id == $a or .id == $b or .id == $c) and .kind == "ipcns")] | length' "$T/print.json")"
check "at least three ipcns scopes in all" \
	sh -c "jq -e '[.scopes[] | select(.kind == \"ipcns\")] | length >= 3' '$T/print.json' >/dev/null"

# scope ID -> "semmsl semmns semopm semmni | used: semmns semmni shmall shmmni msgmni | objects"
scope() {
	jq -r --arg id "$1" '.scopes[] | select(.id == $id) |
		"\(.own_limits) \(.limits.semmsl) \(.limits.semmns) \(.limits.semopm) \(.limits.semmni) | \(.usage.semmns.used)/\(.usage.semmns.limit) \(.usage.semmni.used)/\(.usage.semmni.limit) \(.usage.shmall.used) \(.usage.shmmni.used) \(.usage.msgmni.used) | \(.objects)"' \
		"$T/print.json"
}
check_eq "a: own limits, 30 of 1000, 3 of 40, 16 pages, 1 segment" \
	"true 250 1000 32 40 | 30/1000 3/40 16 1 0 | 4" "$(scope "$A")"
check_eq "b: FreeBSD defaults, 85 of 340, 5 of 50, 2 queues" \
	"true 340 340 100 50 | 85/340 5/50 0 0 2 | 7" "$(scope "$B")"
check_eq "c: full, 200 of 200, 8 of 8" \
	"true 100 200 50 8 | 200/200 8/8 0 0 0 | 8" "$(scope "$C")"
check_eq "c at 100.0%" "100 100" \
	"$(jq -r --arg id "$C" '.scopes[] | select(.id == $id) | "\(.usage.semmns.pct) \(.usage.semmni.pct)"' "$T/print.json")"
check_eq "objects carry their namespace's scope" "4 7 8" \
	"$(for s in "$A" "$B" "$C"; do jq --arg id "$s" '[.objects[] | select(.scope == $id)] | length' "$T/print.json"; done | xargs)"
# owners come from each namespace's own passwd (here the host's: they share
# its root), looked up over that namespace's objects only
check_eq "the namespaces' objects are root's" "root root root" \
	"$(for s in "$A" "$B" "$C"; do jq -r --arg id "$s" '[.objects[] | select(.scope == $id) | .owner] | unique | join(",")' "$T/print.json"; done | xargs)"
check_eq "b's sets: 17 semaphores each" "17 17 17 17 17" \
	"$(jq -r --arg id "$B" '[.objects[] | select(.scope == $id and .type == "sem") | .nsems] | join(" ")' "$T/print.json")"
check_eq "isolation of an ipcns scope: all new" "new new new" \
	"$(jq -r --arg id "$A" '.scopes[] | select(.id == $id) | .isolation | "\(.shm) \(.sem) \(.msg)"' "$T/print.json")"
# the host's pool counts only the host's own objects
check_eq "host usage excludes the namespaces' objects" true \
	"$(jq '([.objects[] | select(.scope == "host" and .type == "sem") | .nsems] | add // 0) == .usage.semmns.used' "$T/print.json")"
# a container or unit name comes first: where this test itself runs in one
# (a CI runner's service), the scopes carry its name instead
if grep -Eq '(\.service|docker|libpod|lxc|kubepods)' "/proc/$(cat "$T/b.pid")/cgroup"; then
	echo "# this test runs in a container or unit: host name check skipped"
else
	check_eq "b is named after its host name" it-ns-b \
		"$(jq -r --arg id "$B" '.scopes[] | select(.id == $id) | .name' "$T/print.json")"
	check_eq "a (no container, unit or host name of its own) is named after its oldest process" \
		"pid $(cat "$T/a.pid") sleep" \
		"$(jq -r --arg id "$A" '.scopes[] | select(.id == $id) | .name' "$T/print.json")"
fi
if [ -n "$CG" ]; then
	check_eq "c is named after its container" "docker:${ID1:0:12}" \
		"$(jq -r --arg id "$C" '.scopes[] | select(.id == $id) | .name' "$T/print.json")"
	check_eq "a container in the host's namespace is an isolation finding" \
		"warn host container docker:${ID2:0:12} shares the host's IPC namespace (--ipc=host), so it can read and remove the host's objects" \
		"$(jq -r --arg l "docker:${ID2:0:12}" '.findings[] | select(.kind == "isolation" and (.message | contains($l))) | "\(.severity) \(.scope) \(.message)"' "$T/print.json")"
	check_eq "a container with its own namespace is not" 0 \
		"$(jq --arg l "docker:${ID1:0:12}" '[.findings[] | select(.kind == "isolation" and (.message | contains($l)))] | length' "$T/print.json")"
else
	echo "# no writable cgroup hierarchy: container checks skipped"
fi
check "no namespace was skipped" sh -c "! grep -E '($A|$B|$C)' '$T/print.err'"
# d's semaphore limits could not be read: unknown, with the reason, never
# "no limit"; its segment is counted against its readable shm limits
check_eq "d: semmns and semmni limits unknown, and why; shmmni 1 of 4096" \
	"null null /proc/sys/kernel/sem 1/4096" \
	"$(jq -r --arg id "$D" '.scopes[] | select(.id == $id) | .usage |
		"\(.semmns.limit) \(.semmni.limit) \(.semmns.unknown | split(":")[0]) \(.shmmni.used)/\(.shmmni.limit)"' "$T/print.json")"
check "the host's incomplete finding names the namespace's limits" \
	sh -c "jq -e '[.findings[] | select(.kind == \"incomplete\" and (.message | contains(\"limits of 1 scope(s) unknown: /proc/sys/kernel/sem\")))] | length == 1' '$T/print.json' >/dev/null"

# the text form: the scopes table and each namespace's own limits
"$BIN/ipcfleet-agent" --print >"$T/print.txt" 2>/dev/null
check "text: c in the scopes table" grep -Eq "^$C +ipcns +.* +8 +200 +0\$" "$T/print.txt"
check "text: c's limits table" grep -q "^LIMITS IN $C" "$T/print.txt"
check "text: c's semmns row" sh -c "sed -n '/^LIMITS IN $C/,/^\$/p' '$T/print.txt' | grep -Eq '^semmns +200 +200 +100.0% +0\$'"
check "text: a's semmni row" sh -c "sed -n '/^LIMITS IN $A/,/^\$/p' '$T/print.txt' | grep -Eq '^semmni +3 +40 +7.5% +37\$'"
check "text: c's alarm" grep -q "!! semmns at 100.0% in $C: 200 of 200 used, 0 free" "$T/print.txt"

# an agent that cannot enter the namespaces (root without CAP_SYS_ADMIN, as
# under a unit's CapabilityBoundingSet) still reports them: figures unknown,
# with why, and the host's incomplete finding counts them
setpriv --bounding-set -sys_admin "$BIN/ipcfleet-agent" --print --json \
	>"$T/nocap.json" 2>"$T/nocap.err" || true
check_eq "without CAP_SYS_ADMIN: b is there, its usage unknown, and why" \
	"null cannot enter it (setns: Operation not permitted, needs CAP_SYS_ADMIN)" \
	"$(jq -r --arg id "$B" '.scopes[] | select(.id == $id) | "\(.usage.semmns.used) \(.usage.semmns.unknown)"' "$T/nocap.json")"
check_eq "and its limits" "null" \
	"$(jq -r --arg id "$B" '.scopes[] | select(.id == $id) | .usage.semmni.limit' "$T/nocap.json")"
check "the host's incomplete finding counts them" \
	sh -c "jq -e '[.findings[] | select(.kind == \"incomplete\" and (.message | contains(\"scope(s) unknown: cannot enter it\")))] | length == 1' '$T/nocap.json' >/dev/null"
check "the agent warned" grep -q "$B: cannot enter it" "$T/nocap.err"

# a namespace whose processes are gone is no longer reported
kill "$(cat "$T/a.pid")"
for _ in $(seq 1 50); do kill -0 "$(cat "$T/a.pid")" 2>/dev/null || break; sleep 0.05; done
"$BIN/ipcfleet-agent" --print --json >"$T/print2.json" 2>/dev/null
check_eq "a is gone with its last process" 0 \
	"$(jq --arg id "$A" '[.scopes[] | select(.id == $id)] | length' "$T/print2.json")"
check_eq "b and c remain" 2 \
	"$(jq --arg b "$B" --arg c "$C" '[.scopes[] | select(.id == $b or .id == $c)] | length' "$T/print2.json")"

finish
