#!/usr/bin/env bash
# Analysis end to end: the real sorthat capture pushed through the agent
# (--source freebsd-capture:) yields the seed's restart_headroom finding and
# no threshold finding; notify_command runs on open and close without ever
# delaying an ack; a silent host turns stale and comes back; check exits
# with the worst finding; the HTML report is one self-contained file.
. "$(dirname "$0")/lib.sh"
need jq
need openssl

: "${FIXTURES:=$SRC/tests/fixtures}"
pki_dev sorthat linux1
whole_capture "$FIXTURES/freebsd-11-sorthat" "$T/sorthat-cap"
write_agg_conf "[analysis]" "check_interval = 1s" "stale_grace = 0" \
	"notify_command = env | grep ^IPCFLEET_ | sort > $T/notify.\$\$.\$IPCFLEET_EVENT.\$IPCFLEET_KIND"
start_agg
write_agent_conf sorthat sorthat
write_cli_conf
"$BIN/ipcfleet-agent" -c "$T/sorthat.conf" \
	--source "freebsd-capture:$T/sorthat-cap" --once >"$T/agent.out" 2>&1
check "agent pushed the sorthat capture" test $? -eq 0

cli alerts --json >"$T/alerts.json"
check_eq "one restart_headroom finding" 1 \
	"$(jq '[.[] | select(.kind == "restart_headroom")] | length' "$T/alerts.json")"
check_eq "it is semmns for uid 770: 238 held, 74 free" "sorthat semmns 770 238 74 504" \
	"$(jq -r '.[] | select(.kind == "restart_headroom") | "\(.host) \(.limit) \(.uid) \(.held) \(.free) \(.safe_limit)"' "$T/alerts.json")"
check_eq "no threshold finding at 78.2%" 0 \
	"$(jq '[.[] | select(.kind == "threshold")] | length' "$T/alerts.json")"
cli host sorthat --json >"$T/host.json"
check_eq "semmns at 78.2%" "266 340 78.2" \
	"$(jq -r '.usage.semmns | "\(.used) \(.limit) \(.pct)"' "$T/host.json")"
check_eq "status warn (restart headroom)" warn "$(jq -r .status "$T/host.json")"
check_eq "recommendation for semmns" "kern.ipc.semmns=540 /boot/loader.conf true" \
	"$(jq -r '.recommendations[] | select(.limit == "semmns") | "\(.line) \(.file) \(.reboot)"' "$T/host.json")"
check "host text names the problem and the fix" sh -c \
	"\"$BIN/ipcfleet\" --config \"$T/cli.conf\" host sorthat | grep -q 'kern.ipc.semmns=540'"

for _ in $(seq 1 50); do ls "$T"/notify.*.opened.restart_headroom >/dev/null 2>&1 && break; sleep 0.1; done
f=$(ls "$T"/notify.*.opened.restart_headroom 2>/dev/null | head -1)
check "notify_command ran on open" test -n "$f"
check "with the finding in its environment" grep -q '^IPCFLEET_LIMIT=semmns$' "${f:-/dev/null}"
check "and the host" grep -q '^IPCFLEET_HOST=sorthat$' "${f:-/dev/null}"
check "and the severity" grep -q '^IPCFLEET_SEVERITY=warn$' "${f:-/dev/null}"

set +e
cli check sorthat >"$T/check.out"
rc=$?
set -e
check_eq "check exits 1 on a warn finding" 1 "$rc"
check "check prints perfdata" grep -q 'semmns=266;' "$T/check.out"

cli report --format html -o "$T/report.html"
check "the HTML report exists" test -s "$T/report.html"
check "it references nothing outside itself" sh -c \
	"! grep -Eiq 'https?:|src=|@import|url\\(|href=\"//' \"$T/report.html\""
check "it names the host" grep -q sorthat "$T/report.html"

# --- stale: an agent at 1 s that stops; then comes back ---
sed -i 's/^interval = .*/interval = 1s/' "$T/sorthat.conf"
"$BIN/ipcfleet-agent" -c "$T/sorthat.conf" --source "freebsd-capture:$T/sorthat-cap" \
	>>"$T/agent.out" 2>&1 &
apid=$!
sleep 2.5
kill "$apid"; wait "$apid" || true
is_stale() { [ "$(cli hosts --json | jq -r '.[] | select(.host == "sorthat") | .status')" = stale ]; }
check "a host silent for three intervals turns stale" wait_for 60 is_stale
set +e
cli check sorthat >/dev/null
rc=$?
set -e
check_eq "check exits 3 on a stale host" 3 "$rc"
"$BIN/ipcfleet-agent" -c "$T/sorthat.conf" --source "freebsd-capture:$T/sorthat-cap" \
	--once >>"$T/agent.out" 2>&1
check_eq "back: the stale finding closes" warn \
	"$(cli hosts --json | jq -r '.[] | select(.host == "sorthat") | .status')"
for _ in $(seq 1 50); do ls "$T"/notify.*.closed.stale >/dev/null 2>&1 && break; sleep 0.1; done
check "notify_command ran on close" sh -c "ls \"$T\"/notify.*.closed.stale >/dev/null 2>&1"

# --- a notify_command that hangs never delays an ack ---
stop_agg
write_agg_conf "[analysis]" "notify_command = sleep 600" "notify_timeout = 2s"
rm -f "$T/ipcfleet.db"*
start_agg
write_agent_conf sorthat sorthat
start_ms=$(date +%s%3N)
"$BIN/ipcfleet-agent" -c "$T/sorthat.conf" --source "freebsd-capture:$T/sorthat-cap" \
	--once >>"$T/agent.out" 2>&1
check "acked with a hanging notify_command" test $? -eq 0
elapsed=$(( $(date +%s%3N) - start_ms ))
check "within a second ($elapsed ms)" test "$elapsed" -lt 1000
for _ in $(seq 1 50); do grep -q "notify_command (pid .*) still running after 2 s: killed" "$T/aggregator.log" && break; sleep 0.1; done
check "the hanging command is killed after notify_timeout" \
	grep -q "notify_command (pid .*) still running after 2 s: killed" "$T/aggregator.log"

# --- per-host thresholds by glob reach findings, the document and check ---
stop_agg
write_agg_conf "[host_thresholds]" "sort* = semmns.warn=70"
rm -f "$T/ipcfleet.db"*
start_agg
write_agent_conf sorthat sorthat
write_cli_conf
"$BIN/ipcfleet-agent" -c "$T/sorthat.conf" --source "freebsd-capture:$T/sorthat-cap" \
	--once >>"$T/agent.out" 2>&1
check_eq "sort* = semmns.warn=70: threshold finding at 78.2%" "warn semmns" \
	"$(cli alerts --json | jq -r '.[] | select(.kind == "threshold") | "\(.severity) \(.limit)"')"
check_eq "the document carries the levels" "70 90" \
	"$(cli host sorthat --json | jq -r '.usage.semmns | "\(.warn) \(.crit)"')"
set +e
cli check sorthat >"$T/check2.out"
set -e
check "check's perfdata uses them (70% of 340 = 238)" grep -q 'semmns=266;238;306;0;340' "$T/check2.out"

# --- the capture as it is: no message queue lines in it, so unknown, never 0 ---
"$BIN/ipcfleet-agent" -c "$T/sorthat.conf" --source "freebsd-capture:$FIXTURES/freebsd-11-sorthat" \
	--once >"$T/agent-raw.out" 2>&1
check "the agent warns that the msg limits are unknown" \
	grep -q "no kern.ipc.msg\* line in a partial listing" "$T/agent-raw.out"
check_eq "msgmni used is null, and why" 'null no "Message Queues:" section in the ipcs files' \
	"$(cli host sorthat --json | jq -r '.usage.msgmni | "\(.used) \(.unknown)"')"
check_eq "semmns is still counted" 266 "$(cli host sorthat --json | jq -r '.usage.semmns.used')"
rc=0
cli check sorthat >"$T/check3.out" || rc=$?
check_eq "check exits 3 UNKNOWN" 3 "$rc"

finish
