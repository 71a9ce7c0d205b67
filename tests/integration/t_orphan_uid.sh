#!/usr/bin/env bash
# The running agent reads a process's uid afresh in every snapshot (issue
# 17 keeps pidfds, namespaces and cgroups between snapshots, never uids).
# A daemon that drops from root to its user after the agent first saw it is
# the case a kept uid would get wrong: its user's semaphore set would stay
# "abandoned", with an ipcrm to paste, while the daemon runs.  Here a set of
# uid 4545 has no process of that uid, so it is an orphan; then a process
# the agent has seen for several snapshots as root changes its real uid to
# 4545, and the next snapshots must say no orphan: the aggregator closes an
# orphan whose object is still there at once (docs/ANALYSIS.md).
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc and setpriv to other uids"
need perl
need jq
need setpriv
need ipcmk
need unshare

pki_dev it-ouid
write_agg_conf
start_agg
write_agent_conf ouid it-ouid
write_cli_conf
echo "orphan_min_age = 0s" >>"$T/ouid.conf"
sed -i 's/^interval = .*/interval = 1s/' "$T/ouid.conf"

cat >"$T/inside.sh" <<'SH'
set -u
BIN=$1 CONF=$2 T=$3
# this set's open orphan findings, as `ipcfleet host` says
orphans() {
	"$BIN/ipcfleet" --config "$T/cli.conf" host it-ouid --json |
		jq --argjson id "$(cat "$T/sem.id")" \
			'[.findings[] | select(.kind == "orphan" and .scope == "host" and .type == "sem" and .id == $id)] | length'
}
# snapshot N taken and everything up to it acknowledged (no entry spooled)
delivered() {
	[ "$(cat "$T/spool-ouid/seq" 2>/dev/null || echo 0)" -ge "$1" ] &&
		! ls "$T/spool-ouid" | grep -q '\.snap$'
}
setpriv --reuid=4545 --regid=4545 --clear-groups ipcmk -S 2 | awk '{print $NF}' >"$T/sem.id"
# root now; its real uid becomes 4545 on SIGUSR1
perl -e '$SIG{USR1} = sub { $< = 4545; $> = 4545; }; sleep 1 while 1' &
DAEMON=$!
"$BIN/ipcfleet-agent" -c "$CONF" >"$T/agent.out" 2>&1 &
AGENT=$!
trap 'kill $AGENT $DAEMON 2>/dev/null' EXIT
# the same agent process has seen the daemon as root in two snapshots or more
wait_for 60 delivered 3 || echo "fewer than 3 snapshots" >>"$T/inside.err"
orphans >"$T/before"
kill -0 "$AGENT" && echo "$AGENT" >"$T/agent.pid"
kill -USR1 "$DAEMON"
wait_for 10 sh -c "awk '/^Uid:/ {print \$2}' /proc/$DAEMON/status | grep -qx 4545" ||
	echo "the daemon's uid did not change" >>"$T/inside.err"
awk '/^Uid:/ {print $2}' "/proc/$DAEMON/status" >"$T/uid.after"
S=$(cat "$T/spool-ouid/seq")
# snapshot S+2 begins after S+1 has been numbered, which is after this
# point: so it was taken wholly after the change, and S+3 being numbered
# with nothing spooled means it was delivered
wait_for 60 delivered $((S + 3)) || echo "no snapshots after the change" >>"$T/inside.err"
orphans >"$T/after"
kill -0 "$AGENT" && echo "$AGENT" >"$T/agent.pid.after"
SH
rc=0
export -f wait_for # lib.sh's, for the script in the namespace
unshare --ipc bash "$T/inside.sh" "$BIN" "$T/ouid.conf" "$T" || rc=$?
check_eq "the namespace's script ran" 0 "$rc"
check_eq "... and met every condition it waited for" "" "$(cat "$T/inside.err" 2>/dev/null)"
check_eq "while no process of uid 4545 runs, its set is an orphan" 1 "$(cat "$T/before")"
check_eq "the daemon's real uid is then 4545" 4545 "$(cat "$T/uid.after")"
check_eq "once it runs as 4545, the same agent says no orphan" 0 "$(cat "$T/after")"
check_eq "one agent process throughout (its pidfds kept)" "$(cat "$T/agent.pid")" \
	"$(cat "$T/agent.pid.after" 2>/dev/null)"
[ "$(cat "$T/after")" = 0 ] || cat "$T/agent.out"
finish
