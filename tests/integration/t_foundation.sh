#!/usr/bin/env bash
# Foundation, end to end: a private IPC namespace with FreeBSD's default
# semaphore limits, real objects, the real agent pushing over mutual TLS to
# the real aggregator, and the CLI reading exact numbers back.  Then the
# refusals: no certificate, a foreign CA, an agent certificate that queries.
. "$(dirname "$0")/lib.sh"
need_root "unshare --ipc and writing /proc/sys/kernel/sem"
need jq
need ipcmk
need openssl
need sqlite3

pki_dev it-host1
write_agg_conf
start_agg
write_agent_conf host1 it-host1
write_cli_conf

# In a new IPC namespace: FreeBSD defaults (SEMMSL SEMMNS SEMOPM SEMMNI),
# 5 sets of 17 semaphores, 2 segments of 1048577 bytes (257 pages each).
unshare --ipc bash -c '
	set -e
	echo "340 340 100 50" > /proc/sys/kernel/sem
	for i in 1 2 3 4 5; do ipcmk -S 17 >/dev/null; done
	ipcmk -M 1048577 >/dev/null
	ipcmk -M 1048577 >/dev/null
	"$1/ipcfleet-agent" -c "$2" --once
' _ "$BIN" "$T/host1.conf" >"$T/agent.out" 2>&1
check "agent --once exits 0 after the ack" test $? -eq 0
check "the acknowledged snapshot left the spool" test -z "$(ls "$T/spool-host1" | grep snap || true)"

cli hosts --json >"$T/hosts.json"
check "hosts --json is valid JSON" jq -e . "$T/hosts.json" >/dev/null
u='.[] | select(.host == "it-host1") | .usage'
check_eq "semmns 85 of 340 (25.0%)" '85 340 25' \
	"$(jq -r "$u.semmns | \"\(.used) \(.limit) \(.pct)\"" "$T/hosts.json")"
check_eq "pct printed with one decimal" 1 "$(grep -c '"pct": 25.0' "$T/hosts.json")"
check_eq "semmni 5 of 50" '5 50' "$(jq -r "$u.semmni | \"\(.used) \(.limit)\"" "$T/hosts.json")"
check_eq "shmmni used 2" 2 "$(jq -r "$u.shmmni.used" "$T/hosts.json")"
check_eq "shmall used 514 pages" 514 "$(jq -r "$u.shmall.used" "$T/hosts.json")"
check_eq "os is Linux" Linux "$(jq -r '.[0].os' "$T/hosts.json")"
check_eq "status ok at 25%" ok "$(jq -r '.[0].status' "$T/hosts.json")"

cli host it-host1 --json >"$T/host.json"
# other namespaces on the machine show up as ipcns scopes: count the agent's own
check_eq "host: 7 objects" 7 "$(jq '[.objects[] | select(.scope == "host")] | length' "$T/host.json")"
check_eq "host: 5 sem sets of 17" "17 17 17 17 17" \
	"$(jq -r '[.objects[] | select(.scope == "host" and .type == "sem") | .nsems] | join(" ")' "$T/host.json")"
check_eq "host: shm sizes" "1048577 1048577" \
	"$(jq -r '[.objects[] | select(.scope == "host" and .type == "shm") | .size] | join(" ")' "$T/host.json")"
check_eq "host: limits semopm 100 semmsl 340" "100 340" \
	"$(jq -r '"\(.limits.semopm) \(.limits.semmsl)"' "$T/host.json")"
check "host: text output names the limit" sh -c "\"$BIN/ipcfleet\" --config \"$T/cli.conf\" host it-host1 | grep -Eq 'semmns +85 +340 +25.0%'"
check "hosts: text output has the host" sh -c "\"$BIN/ipcfleet\" --config \"$T/cli.conf\" hosts | grep -q it-host1"

set +e
cli host no-such-host >"$T/out" 2>&1
rc=$?
set -e
check_eq "unknown host exits 1" 1 "$rc"
check "unknown host says so in one line" grep -q "unknown host 'no-such-host'" "$T/out"

# --- refusals; the aggregator keeps serving after each ---
set +e
# TLS 1.3: the client learns of the refusal when it reads, so send a byte and read
printf x | timeout 10 openssl s_client -ign_eof -connect "127.0.0.1:$PORT" \
	-servername localhost -CAfile "$T/pki/ca.crt" >"$T/nocert.out" 2>&1
timeout 10 "$BIN/ipcfleet" --server "localhost:$PORT" --cert "$T/pki/it-host1.crt" \
	--key "$T/pki/it-host1.key" --ca "$T/pki/ca.crt" hosts >"$T/agentq.out" 2>&1
rc_agentq=$?
"$SRC/deploy/pki/ipcfleet-pki" init "$T/other" >/dev/null &&
	"$SRC/deploy/pki/ipcfleet-pki" admin "$T/other" admin >/dev/null
timeout 10 "$BIN/ipcfleet" --server "localhost:$PORT" --cert "$T/other/admin.crt" \
	--key "$T/other/admin.key" --ca "$T/pki/ca.crt" hosts >"$T/otherca.out" 2>&1
rc_otherca=$?
set -e
check "no client certificate: refused in the handshake" \
	grep -q "alert certificate required" "$T/nocert.out"
check "no client certificate: logged by the aggregator" \
	grep -q "TLS handshake failed" "$T/aggregator.log"
check_eq "agent certificate querying exits 1" 1 "$rc_agentq"
check "agent certificate querying is forbidden" grep -q "forbidden" "$T/agentq.out"
check_eq "foreign CA exits 1" 1 "$rc_otherca"
check "foreign CA: refused, and it says so" grep -Eqi "certificate|unknown ca" "$T/otherca.out"
check "aggregator still serves after the refusals" sh -c "\"$BIN/ipcfleet\" --config \"$T/cli.conf\" hosts --json | jq -e 'length == 1' >/dev/null"
check "aggregator still running" kill -0 "$AGG_PID"

# --- delivery: aggregator down -> spooled, exit 1; back -> both delivered ---
stop_agg
set +e
"$BIN/ipcfleet-agent" -c "$T/host1.conf" --once >"$T/down.out" 2>&1
rc=$?
set -e
check_eq "agent --once with no aggregator exits 1" 1 "$rc"
check "it says the snapshot stays spooled" grep -q "kept in the spool" "$T/down.out"
check_eq "one snapshot waits in the spool" 1 "$(ls "$T/spool-host1" | grep -c '\.snap$')"
start_agg
write_agent_conf host1 it-host1
write_cli_conf
"$BIN/ipcfleet-agent" -c "$T/host1.conf" --once >>"$T/agent.out" 2>&1
check "the backlog went out with the next --once" test "$(ls "$T/spool-host1" | grep -c '\.snap$')" = 0
check_eq "three snapshots stored in all (sequence numbers 1..3)" 3 \
	"$(sqlite3 "$T/ipcfleet.db" 'select count(*) from received')"

# A queue's capacity: qbytes 1000 (not the default), 300 bytes in 3 messages.
# --print --json says 1000, never 0 (/proc/sysvipc/msg has no qbytes column:
# the agent reads it with MSG_STAT_ANY, or says null).
unshare --ipc bash -c '
	set -e
	"$1/ipcobj" msgq 1000 300 >/dev/null
	"$1/ipcfleet-agent" --print --json
' _ "$BIN" >"$T/print-msg.json" 2>"$T/print-msg.err"
check_eq "--print: the queue's qbytes 1000, cbytes 300, qnum 3" "1000 300 3" \
	"$(jq -r '.objects[] | select(.type == "msg" and .scope == "host") | "\(.qbytes) \(.cbytes) \(.qnum)"' "$T/print-msg.json")"

# Configuration checks across keys: rollups kept shorter than the samples
# they summarise are refused by -t (exit 1), naming both keys; as long as
# the samples is accepted.
{ cat "$T/aggregator.conf"; printf '[analysis]\nretention = 14d\nrollup_retention = 1d\n'; } \
	>"$T/short-rollups.conf"
set +e
"$BIN/ipcfleet-aggregator" -t -c "$T/short-rollups.conf" >"$T/short-rollups.out" 2>&1
rc=$?
set -e
check_eq "-t: rollup_retention shorter than retention exits 1" 1 "$rc"
check "it names both keys" grep -q \
	"short-rollups.conf: \[analysis\] rollup_retention (86400s) is shorter than retention (1209600s)" \
	"$T/short-rollups.out"
sed -i 's/^rollup_retention = 1d$/rollup_retention = 14d/' "$T/short-rollups.conf"
check "-t: rollup_retention as long as retention is accepted" \
	"$BIN/ipcfleet-aggregator" -t -c "$T/short-rollups.conf"

finish
