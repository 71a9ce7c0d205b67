#!/usr/bin/env bash
# The monitor survives the outage it reports (issue 13): in an IPC namespace
# whose every pool is used up -- semmni 8 of 8, shmmni 4 of 4, msgmni 2 of
# 2, so that any semget, shmget or msgget fails with ENOSPC -- the real
# agent still takes its snapshot and delivers it over TLS, and the
# aggregator reports the pools full.  Neither program uses SysV IPC.
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc and writing /proc/sys/kernel"
need jq
need ipcmk

pki_dev it-full
write_agg_conf
start_agg
write_agent_conf full it-full
write_cli_conf

rc=0
unshare --ipc bash -c '
	set -e
	echo "250 32000 32 8" >/proc/sys/kernel/sem
	echo 4 >/proc/sys/kernel/shmmni
	echo 2 >/proc/sys/kernel/msgmni
	echo 4000 >/proc/sys/kernel/msgmax
	echo 9000 >/proc/sys/kernel/msgmnb
	for i in 1 2 3 4 5 6 7 8; do ipcmk -S 1 >/dev/null; done
	for i in 1 2 3 4; do ipcmk -M 4096 >/dev/null; done
	for i in 1 2; do ipcmk -Q >/dev/null; done
	# the pools are really exhausted: one more of each fails
	! ipcmk -S 1 >/dev/null 2>&1 || exit 10
	! ipcmk -M 4096 >/dev/null 2>&1 || exit 11
	! ipcmk -Q >/dev/null 2>&1 || exit 12
	"$1/ipcfleet-agent" -c "$2" --once
' _ "$BIN" "$T/full.conf" >"$T/agent.out" 2>&1 || rc=$?
check_eq "pools exhausted, and the agent delivered anyway (exit 0)" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/agent.out"

cli hosts --json >"$T/hosts.json"
u='.[] | select(.host == "it-full") | .usage'
check_eq "semmni 8 of 8" "8 8 100" "$(jq -r "$u.semmni | \"\(.used) \(.limit) \(.pct)\"" "$T/hosts.json")"
check_eq "shmmni 4 of 4" "4 4 100" "$(jq -r "$u.shmmni | \"\(.used) \(.limit) \(.pct)\"" "$T/hosts.json")"
check_eq "msgmni 2 of 2" "2 2 100" "$(jq -r "$u.msgmni | \"\(.used) \(.limit) \(.pct)\"" "$T/hosts.json")"
# the limits as this namespace has them (SEM_INFO and MSG_INFO carry them too)
cli host it-full --json >"$T/host.json"
check_eq "its limits: semmsl semmns semopm semmni msgmax msgmnb msgmni shmmni" \
	"250 32000 32 8 4000 9000 2 4" \
	"$(jq -r '.limits | "\(.semmsl) \(.semmns) \(.semopm) \(.semmni) \(.msgmax) \(.msgmnb) \(.msgmni) \(.shmmni)"' "$T/host.json")"
check_eq "status crit" crit "$(jq -r '.[] | select(.host == "it-full") | .status' "$T/hosts.json")"

finish
