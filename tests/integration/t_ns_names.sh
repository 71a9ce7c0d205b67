#!/usr/bin/env bash
# Names for every IPC namespace (issue 13): real namespaces (unshare --ipc)
# whose process sits in a real cgroup made here -- a systemd unit, a
# docker-like scope, a CRI-like kubepods scope -- and a bare unshare outside
# any.  The agent must name each after what runs there, never just the
# inode, and report its cgroup path and how many processes it has.
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc and making cgroups"
need jq

# cgroup v2 (unified) and/or the v1 name=systemd hierarchy: whichever exist
HIER=
for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
	[ -w "$h/cgroup.procs" ] && HIER="$HIER $h"
done
[ -n "$HIER" ] || skip "no writable cgroup hierarchy to make a unit's cgroup in"

TAG="it-$$"
MADE=
PIDS=
ns_cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	cleanup # the aggregator too, and waits for every job
	# the deepest first: a cgroup goes only once it is empty and childless
	for d in $(printf '%s\n' $MADE | awk '{print length, $0}' | sort -rn | cut -d' ' -f2-); do
		rmdir "$d" 2>/dev/null || true
	done
}
trap ns_cleanup EXIT

# start_in CGPATH: a process in a new IPC namespace, moved into CGPATH
# (relative; "" for none) in every hierarchy; sets $PID
start_in() {
	local h d
	unshare --ipc sleep 300 &
	PID=$!
	PIDS="$PIDS $PID"
	[ -n "$1" ] || return 0
	for h in $HIER; do
		d="$h/$1"
		# every directory made, to remove them all at the end
		MADE="$MADE $(mkdir -pv "$d" | sed "s/^mkdir: created directory '\(.*\)'$/\1/")"
		echo "$PID" >"$d/cgroup.procs"
	done
}

POD="1b2c3d4e_5f60_4a7b_8c9d_${TAG#it-}0000000"
POD=${POD:0:36}
CTR=$(printf '%s' "$TAG" | sha256sum | cut -c1-64)
start_in "system.slice/$TAG.service"
P_UNIT=$PID
start_in "system.slice/docker-${CTR}.scope"
P_DOCKER=$PID
start_in "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD}.slice/cri-containerd-${CTR}.scope"
P_CRI=$PID
start_in ""
P_BARE=$PID
sleep 0.5

"$BIN/ipcfleet-agent" --print --json >"$T/print.json" 2>"$T/print.err"
# the scope whose member is PID: its name, cgroup and processes
ns_of() {
	local ino
	ino=$(stat -L -c %i "/proc/$1/ns/ipc")
	jq -r --arg id "ipcns:$ino" '.scopes[] | select(.id == $id) | "\(.name)|\(.cgroup)|\(.processes)"' "$T/print.json"
}
check_eq "a systemd unit: named after the unit" \
	"$TAG.service|/system.slice/$TAG.service|1" "$(ns_of $P_UNIT)"
check_eq "a docker-like scope: docker and the container id" \
	"docker:${CTR:0:12}|/system.slice/docker-${CTR}.scope|1" "$(ns_of $P_DOCKER)"
pod12=$(printf '%s' "${POD:0:12}" | tr _ -)
check_eq "a CRI-like scope: the pod (IPC is the pod's), the container in the cgroup" \
	"k8s:$pod12|/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${POD}.slice/cri-containerd-${CTR}.scope|1" \
	"$(ns_of $P_CRI)"
bare=$(ns_of $P_BARE)
check_eq "a bare unshare: its oldest process, pid and command" "pid $P_BARE sleep" "${bare%%|*}"
check "no namespace is named by its inode alone" \
	sh -c "! jq -e '.scopes[] | select(.kind == \"ipcns\" and (.name | startswith(\"ipcns:\")))' '$T/print.json' >/dev/null"
check "the host scope counts its processes" \
	test "$(jq '.scopes[0].processes' "$T/print.json")" -gt 0

# --- limits_below_host: the docker-like namespace's own semmni, 8, holds 7 sets ---
nsenter -t "$P_DOCKER" --ipc sh -c '
	echo "250 32000 32 8" >/proc/sys/kernel/sem
	for i in 1 2 3 4 5 6 7; do ipcmk -S 1 >/dev/null; done
'
pki_dev it-ns
write_agg_conf
start_agg
write_agent_conf ns it-ns
write_cli_conf
rc=0
"$BIN/ipcfleet-agent" -c "$T/ns.conf" --once >"$T/agent.out" 2>&1 || rc=$?
check_eq "agent --once exits 0" 0 "$rc"
cli alerts --json >"$T/alerts.json"
ino=$(stat -L -c %i "/proc/$P_DOCKER/ns/ipc")
lbh=$(jq -r --arg s "ipcns:$ino" '.[] | select(.kind == "limits_below_host" and .scope == $s) | .message' "$T/alerts.json")
check_eq "limits_below_host names the numbers and docker's --sysctl" \
	"semmni in docker:${CTR:0:12}: 7 of its own 8 (87.5%), below the host's $(awk '{print $4}' /proc/sys/kernel/sem): recreate it with docker run --sysctl kernel.sem=\"250 32000 32 $(awk '{print $4}' /proc/sys/kernel/sem)\"" \
	"$lbh"
check "no limits_below_host for the namespaces under their limits" \
	test "$(jq '[.[] | select(.kind == "limits_below_host")] | length' "$T/alerts.json")" -eq 1

# the text view shows the names
"$BIN/ipcfleet-agent" --print >"$T/print.txt" 2>/dev/null
check "text: the unit's name in the scopes table" grep -q "$TAG.service" "$T/print.txt"
check "text: the bare namespace's pid and command" grep -q "pid $P_BARE sleep" "$T/print.txt"

finish
