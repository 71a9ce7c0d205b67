#!/usr/bin/env bash
# Unknown is never zero, end to end: the real agent pushes what a FreeBSD
# jail's plain `ipcs` (no -a) shows -- 17 semaphore sets and 13 segments, but
# not their sizes -- to the real aggregator.  semmns and shmall must travel
# as unknown, never as 0: `hosts` prints "?", `host` says why, `check` exits
# 3 UNKNOWN with "U" in its perfdata, /metrics omits their series and flags
# them, and trend stores no sample for them.  No root needed.
. "$(dirname "$0")/lib.sh"
need curl
need openssl
need jq

pki_dev it-unk it-unk2
# its sysctl lines are sorthat's: made whole, so that only ipcs's gaps count
whole_capture "$FIXTURES/unknown/freebsd-plain-ipcs" "$T/cap"
# a capture is a snapshot of its date.txt's time: today's, for the trend below
echo "$(date +%s) +0100" >"$T/cap/date.txt"

write_agg_conf "[http]" "listen = 127.0.0.1:0"
start_agg http
write_agent_conf a it-unk
write_cli_conf

rc=0
"$BIN/ipcfleet-agent" -c "$T/a.conf" --source "freebsd-capture:$T/cap" --once \
	>"$T/agent.out" 2>&1 || rc=$?
check_eq "agent --once exits 0" 0 "$rc"
check "the agent says why semmns is unknown" grep -q "no NSEMS column" "$T/agent.out"

# --- hosts ---
cli hosts --json >"$T/hosts.json"
check_eq "hosts: semmns used is null" null "$(jq '.[0].usage.semmns.used' "$T/hosts.json")"
check_eq "hosts: semmns pct is null" null "$(jq '.[0].usage.semmns.pct' "$T/hosts.json")"
check_eq "hosts: semmns says why" '"ipcs-a.txt has no NSEMS column (ipcs without -a)"' \
	"$(jq '.[0].usage.semmns.unknown' "$T/hosts.json")"
check_eq "hosts: semmns limit is still known" 340 "$(jq '.[0].usage.semmns.limit' "$T/hosts.json")"
check_eq "hosts: semmni counted: 17" 17 "$(jq '.[0].usage.semmni.used' "$T/hosts.json")"
check_eq "hosts: shmmni counted: 13" 13 "$(jq '.[0].usage.shmmni.used' "$T/hosts.json")"
check_eq "hosts: shmall used is null" null "$(jq '.[0].usage.shmall.used' "$T/hosts.json")"
check_eq "hosts: status warn (the incomplete finding)" '"warn"' "$(jq '.[0].status' "$T/hosts.json")"
cli hosts >"$T/hosts.txt"
# HOST OS STATUS SEMMNS SEMMNI SHMALL SHMMNI MSGMNI LAST SEEN
check_eq "hosts text: ? for semmns and shmall" "? 34.0% ? 6.8%" \
	"$(awk '$1 == "it-unk" {print $4, $5, $6, $7}' "$T/hosts.txt")"

# --- host ---
cli host it-unk >"$T/host.txt"
check "host text: semmns unknown, and why" \
	grep -qxF "  ? semmns unknown: ipcs-a.txt has no NSEMS column (ipcs without -a)" "$T/host.txt"
check "host text: the incomplete finding" grep -q "^warn  incomplete  shmall unknown" "$T/host.txt"
check_eq "host text: the LIMIT row of semmns" "semmns ? 340 ? ?" \
	"$(awk '$1 == "semmns" && NF == 5 {print $1, $2, $3, $4, $5}' "$T/host.txt")"
cli host it-unk --json >"$T/host.json"
check_eq "host json: 17 sets, each without nsems" "17 17" \
	"$(jq '[.objects[] | select(.type == "sem")] | "\(length) \([.[] | select(.nsems == null)] | length)"' -r "$T/host.json")"
check_eq "host json: one incomplete finding, warn" '"warn"' \
	"$(jq '[.findings[] | select(.kind == "incomplete")] | .[0].severity' "$T/host.json")"
check_eq "host json: no threshold from an unknown figure" 0 \
	"$(jq '[.findings[] | select(.kind == "threshold" or .kind == "restart_headroom")] | length' "$T/host.json")"

# --- check: UNKNOWN, never OK with a 0 ---
rc=0
cli check it-unk >"$T/check.txt" || rc=$?
check_eq "check exits 3 UNKNOWN" 3 "$rc"
check "check: the status line names the figure and why" \
	grep -q "^IPCFLEET UNKNOWN - it-unk: semmns unknown: ipcs-a.txt has no NSEMS column (ipcs without -a) (+1 more) | " "$T/check.txt"
check "check: perfdata says U for semmns" grep -q " semmns=U;272;306;0;340" "$T/check.txt"
check "check: perfdata keeps the known semmni" grep -q " semmni=17;40;45;0;50" "$T/check.txt"

# --- /metrics: the series is absent, the flag is there ---
curl -sS --max-time 10 "$URL/metrics" >"$T/m.txt"
h='host="it-unk"'
check "metrics: no used series for semmns" sh -c "! grep -q 'ipcfleet_limit_used{$h,limit=\"semmns\"}' '$T/m.txt'"
check "metrics: no ratio for shmall" sh -c "! grep -q 'ipcfleet_limit_ratio{$h,limit=\"shmall\"}' '$T/m.txt'"
check "metrics: semmns flagged unknown" grep -qxF "ipcfleet_limit_unknown{$h,limit=\"semmns\"} 1" "$T/m.txt"
check "metrics: semmni used 17" grep -qxF "ipcfleet_limit_used{$h,limit=\"semmni\"} 17" "$T/m.txt"
check "metrics: semmni not flagged" sh -c "! grep -q 'ipcfleet_limit_unknown{$h,limit=\"semmni\"}' '$T/m.txt'"
if command -v promtool >/dev/null 2>&1; then
	check "metrics: promtool check metrics passes" sh -c "promtool check metrics <'$T/m.txt' >/dev/null 2>&1"
fi

# --- trend: no sample from an unknown figure ---
cli trend it-unk semmns --json >"$T/trend-semmns.json"
check_eq "trend semmns: no points" 0 "$(jq '.points | length' "$T/trend-semmns.json")"
cli trend it-unk semmni --json >"$T/trend-semmni.json"
check_eq "trend semmni: one point of 17" 17 "$(jq '.points[0].used' "$T/trend-semmni.json")"

# --- a running agent says a recurring problem once, not every interval ---
mkdir -p "$T/bad"
cp -r "$FIXTURES/linux-modern/proc" "$T/bad/"
echo "garbage" >>"$T/bad/proc/sysvipc/shm"
write_agent_conf d it-unk2
sed -i 's/^interval = .*/interval = 1s/' "$T/d.conf"
"$BIN/ipcfleet-agent" -c "$T/d.conf" --source "linux-root:$T/bad" >"$T/daemon.log" 2>&1 &
DPID=$!
# four snapshots at least: trend points of semmni (known in that tree) count them
for _ in $(seq 1 100); do
	n=$(cli trend it-unk2 semmni --json 2>/dev/null | jq '.points | length' 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 5 ] && break
	sleep 0.2
done
kill "$DPID"
wait "$DPID" || true
check "the daemon delivered at least four more snapshots" test "${n:-0}" -ge 5
check_eq "a garbage line is warned of once, not once per snapshot" 1 \
	"$(grep -c 'shm line 6: expected 16 fields, got 1' "$T/daemon.log")"

finish
