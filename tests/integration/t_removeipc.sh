#!/usr/bin/env bash
# removeipc_risk end to end (issue 13): a copied Linux tree where systemd
# runs with RemoveIPC=yes and uid 1000 owns a segment, a set and a queue
# (tests/fixtures/linux-modern), pushed by the real agent to the real
# aggregator: `ipcfleet alerts` names the owner and the fix; with
# RemoveIPC=no in a logind.conf.d drop-in the finding closes.  No root.
. "$(dirname "$0")/lib.sh"
need jq

pki_dev it-rmipc
write_agg_conf
start_agg
write_agent_conf r it-rmipc
write_cli_conf
mkdir -p "$T/root/run/systemd/system" "$T/root/etc/systemd"
cp -r "$FIXTURES/linux-modern/proc" "$T/root/"
printf '[Login]\nRemoveIPC=yes\n' >"$T/root/etc/systemd/logind.conf"

rc=0
"$BIN/ipcfleet-agent" -c "$T/r.conf" --source "linux-root:$T/root" --once >"$T/agent.out" 2>&1 || rc=$?
check_eq "agent --once exits 0" 0 "$rc"
cli alerts --json >"$T/alerts.json"
f='[.[] | select(.kind == "removeipc_risk")]'
check_eq "one removeipc_risk finding, for uid 1000" "1 1000 warn" \
	"$(jq -r "$f | \"\(length) \(.[0].uid) \(.[0].severity)\"" "$T/alerts.json")"
check "it says where RemoveIPC is set and what to do" \
	grep -q "RemoveIPC is on (/etc/systemd/logind.conf): uid 1000, above SYS_UID_MAX 999, owns 1 segment(s), 1 semaphore set(s), 1 queue(s).*set RemoveIPC=no or make it a system user" "$T/alerts.json"

mkdir -p "$T/root/etc/systemd/logind.conf.d"
printf '[Login]\nRemoveIPC=no\n' >"$T/root/etc/systemd/logind.conf.d/50-keep-ipc.conf"
rc=0
"$BIN/ipcfleet-agent" -c "$T/r.conf" --source "linux-root:$T/root" --once >>"$T/agent.out" 2>&1 || rc=$?
check_eq "agent --once exits 0 again" 0 "$rc"
cli alerts --json >"$T/alerts2.json"
check_eq "RemoveIPC=no in a drop-in: the finding closed" 0 "$(jq "$f | length" "$T/alerts2.json")"

finish
