#!/usr/bin/env bash
# Orphans, end to end, in a private IPC namespace (the agent's own namespace
# is its host scope): a segment whose creator exited, a semaphore set whose
# owner has no process left, next to objects that are still in use.  The
# agent must name exactly the abandoned ones, with the command that removes
# each, honour orphan_min_age, and the command must work.
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc and setpriv to other uids"
need jq
need ipcmk
need ipcs
need ipcrm
need setpriv
need unshare

pki_dev it-orphans
cat >"$T/agent.conf" <<CONF
[agent]
cert = $T/pki/it-orphans.crt
key = $T/pki/it-orphans.key
ca = $T/pki/ca.crt
orphan_min_age = 0s
CONF

# Everything below runs in one new IPC namespace; the script leaves its
# results in $T and stops its own sleepers.
unshare --ipc bash -c '
	set -e
	BIN=$1 T=$2
	PIDS=
	trap "kill \$PIDS 2>/dev/null || true" EXIT
	# abandoned: a segment nobody attached, its creator (ipcmk) gone
	ipcmk -M 4096 | awk "{print \$NF}" >"$T/shm.id"
	# abandoned: a set of uid 4242, which has no process left here
	setpriv --reuid=4242 --regid=4242 --clear-groups ipcmk -S 3 | awk "{print \$NF}" >"$T/sem.id"
	# in use: a set of uid 4343, which has a process here
	setpriv --reuid=4343 --regid=4343 --clear-groups ipcmk -S 2 | awk "{print \$NF}" >"$T/live.id"
	setpriv --reuid=4343 --regid=4343 --clear-groups sleep 600 &
	PIDS="$PIDS $!"
	# in use: a segment whose creator still runs (where python3 can create one)
	if command -v python3 >/dev/null; then
		python3 -c "
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
print(libc.shmget(0, 8192, 0o1600), flush=True)
time.sleep(600)" >"$T/liveshm.id" &
		PIDS="$PIDS $!"
		for _ in $(seq 1 100); do [ -s "$T/liveshm.id" ] && break; sleep 0.05; done
	fi
	ipcs -m >"$T/ipcs-m.txt"
	ipcs -s >"$T/ipcs-s.txt"
	"$BIN/ipcfleet-agent" -c "$T/agent.conf" --print --json >"$T/print.json" 2>"$T/print.err"
	"$BIN/ipcfleet-agent" -c "$T/agent.conf" --print >"$T/print.txt" 2>/dev/null
	# in a PID namespace of its own, under the host'"'"'s /proc, the agent cannot
	# use pidfds (/proc/self is not its pid): each process'"'"'s uid comes from
	# /proc/PID/status, as on kernels before 6.13
	unshare --pid --fork "$BIN/ipcfleet-agent" -c "$T/agent.conf" --print --json \
		>"$T/print-status.json" 2>/dev/null
	# the default orphan_min_age (1h): nothing here is old enough
	"$BIN/ipcfleet-agent" --print --json >"$T/young.json" 2>/dev/null
	# the commands, as a person would type them
	eval "$(jq -r ".findings[] | select(.kind == \"orphan\" and .scope == \"host\") | .command" "$T/print.json")"
	"$BIN/ipcfleet-agent" -c "$T/agent.conf" --print --json >"$T/after.json" 2>/dev/null
	ipcs -a >"$T/ipcs-after.txt"
' _ "$BIN" "$T" >"$T/ns.log" 2>&1
rc=$?
[ $rc -eq 0 ] || cat "$T/ns.log" "$T/print.err" 2>/dev/null
check_eq "the namespace script ran" 0 "$rc"

# semaphore sets are judged by their owner's processes, i.e. by uid (shared
# memory by creator pid, which a PID namespace translates: not compared);
# only this namespace's ("host" to the agent run in it): other tests' come
# and go between the two runs
sem_orphans_of() {
	jq -c '[.findings[] | select(.kind == "orphan" and .type == "sem" and .scope == "host") | [.severity, .id, .uid, .command]] | sort' "$1"
}
check_eq "the same semaphore orphans with uids from /proc/PID/status (no pidfds)" \
	"$(sem_orphans_of "$T/print.json")" "$(sem_orphans_of "$T/print-status.json")"
check_eq "... the set of uid 4242 only: uid 4343 still has a process" 1 \
	"$(jq '[.findings[] | select(.kind == "orphan" and .type == "sem" and .scope == "host")] | length' "$T/print-status.json")"

SHM=$(cat "$T/shm.id")
SEM=$(cat "$T/sem.id")
LIVE=$(cat "$T/live.id")
check "ipcs shows the segment" grep -Eq "^0x[0-9a-f]+ +$SHM +root " "$T/ipcs-m.txt"
check "ipcs shows the set of uid 4242" grep -Eq "^0x[0-9a-f]+ +$SEM +4242 " "$T/ipcs-s.txt"

orphans='[.findings[] | select(.kind == "orphan" and .scope == "host")]'
check_eq "exactly two orphans in the agent's namespace" 2 "$(jq "$orphans | length" "$T/print.json")"
check_eq "the segment: info, its command" "info shm $SHM 0 ipcrm -m $SHM" \
	"$(jq -r --argjson id "$SHM" "$orphans[] | select(.type == \"shm\" and .id == \$id) | \"\(.severity) \(.type) \(.id) \(.uid) \(.command)\"" "$T/print.json")"
check_eq "the set: warn, uid 4242, its command" "warn sem $SEM 4242 ipcrm -s $SEM" \
	"$(jq -r --argjson id "$SEM" "$orphans[] | select(.type == \"sem\" and .id == \$id) | \"\(.severity) \(.type) \(.id) \(.uid) \(.command)\"" "$T/print.json")"
check "the set's message says why" sh -c "jq -r '.findings[].message' '$T/print.json' | grep -Eq '^semaphore set $SEM \\(3 semaphores, uid 4242\\) looks abandoned: no process of uid 4242 is left in host; last used [0-9]+s ago, made [0-9]+s ago\$'"
check "the segment's message says why" sh -c "jq -r '.findings[].message' '$T/print.json' | grep -Eq '^shared memory segment $SHM \\(4096 bytes, uid 0 root\\) looks abandoned: nattch 0, never attached, creator pid [0-9]+ gone, uid 0 still runs in host; last used [0-9]+s ago, made [0-9]+s ago\$'"
check_eq "the set still in use is not an orphan" 0 \
	"$(jq --argjson id "$LIVE" "$orphans | map(select(.type == \"sem\" and .id == \$id)) | length" "$T/print.json")"
if [ -s "$T/liveshm.id" ]; then
	LIVESHM=$(cat "$T/liveshm.id")
	check_eq "the segment whose creator runs is not an orphan" 0 \
		"$(jq --argjson id "$LIVESHM" "$orphans | map(select(.type == \"shm\" and .id == \$id)) | length" "$T/print.json")"
fi
check_eq "the objects carry their owners' names where known" "root 4242" \
	"$(jq -r --argjson s "$SHM" --argjson m "$SEM" '[(.objects[] | select(.scope == "host" and .type == "shm" and .id == $s) | .owner // "?"), (.objects[] | select(.scope == "host" and .type == "sem" and .id == $m) | .owner // (.uid | tostring))] | join(" ")' "$T/print.json")"

check "text: the findings come first" sh -c "sed -n '3p' '$T/print.txt' | grep -qx FINDINGS"
check "text: the set's command under it" grep -qx "    ipcrm -s $SEM" "$T/print.txt"
check "text: the segment's command under it" grep -qx "    ipcrm -m $SHM" "$T/print.txt"
check "text: warn before info" sh -c "grep -nE '^(warn|info) +orphan' '$T/print.txt' | head -1 | grep -q warn"

check_eq "orphan_min_age 1h (the default): none yet" 0 \
	"$(jq '[.findings[] | select(.kind == "orphan" and .scope == "host")] | length' "$T/young.json")"

check_eq "after the commands: no orphans left" 0 \
	"$(jq '[.findings[] | select(.kind == "orphan" and .scope == "host")] | length' "$T/after.json")"
check "after the commands: the set is gone" sh -c "! grep -Eq '^0x[0-9a-f]+ +$SEM +4242 ' '$T/ipcs-after.txt'"
check_eq "after the commands: the set in use stays" 1 \
	"$(jq --argjson id "$LIVE" '[.objects[] | select(.scope == "host" and .type == "sem" and .id == $id)] | length' "$T/after.json")"

finish
