#!/usr/bin/env bash
# Security (issue 18, item 6; docs/protocol.md "Each host's share"): a few
# hosts with many long findings must not break the fleet-wide replies.
#
# Three hostile agents each report 10,000 orphans with 255-byte messages.
# Before the fix `alerts`, `orphans` and `report` put every open finding of
# the fleet in one reply, over the 16 MiB frame: "reply too large" for every
# admin.  Now the analysis keeps 1,000 of a host's own findings (and one
# that counts the rest), and each fleet-wide list gives each host a share,
# its 100 worst here, the last of them saying how many more it has ("more";
# in the report "more_findings"); the CLI shows it in every format.
. "$(dirname "$0")/lib.sh"
need jq
[ -x "$BIN/ipcfleet-hostile" ] || {
	echo "not ok - $BIN/ipcfleet-hostile is not built (tests/hostile)"
	exit 1
}

pki_dev good evil1 evil2 evil3
write_agg_conf
start_agg
write_cli_conf
write_agent_conf good good
echo "source = linux-root:$FIXTURES/linux-modern" >>"$T/good.conf"
check "a well-behaved agent delivers" "$BIN/ipcfleet-agent" -c "$T/good.conf" --once
for e in evil1 evil2 evil3; do
	"$BIN/ipcfleet-hostile" --server "localhost:$PORT" --cert "$T/pki/$e.crt" \
		--key "$T/pki/$e.key" --ca "$T/pki/ca.crt" --timeout 60000 findings-long \
		>"$T/$e.out" 2>&1
	check_eq "$e: 10,000 long findings acked" "findings-long: 1 of 1 snapshots acked" \
		"$(tail -1 "$T/$e.out")"
done

# --- alerts ---
rc=0
cli alerts --json >"$T/alerts.json" 2>"$T/alerts.err" || rc=$?
check_eq "alerts --json answers" "0 " "$rc $(cat "$T/alerts.err")"
# good: its fixture's three objects others may read or write (permissions, info)
check_eq "alerts: each hostile host its 100 worst" "evil1 100,evil2 100,evil3 100,good 3" \
	"$(jq -r 'group_by(.host) | map("\(.[0].host) \(length)") | join(",")' "$T/alerts.json")"
check_eq "... the last of each says how many more: 1,001 - 100" "evil1 901,evil2 901,evil3 901" \
	"$(jq -r '[.[] | select(.more != null)] | map("\(.host) \(.more)") | join(",")' "$T/alerts.json")"
cli alerts >"$T/alerts.txt" || true
check "alerts (text) says so, for each host" \
	test "$(grep -Ec '^  evil[123]: 901 more not listed; ipcfleet host evil[123] lists them all$' \
		"$T/alerts.txt")" -eq 3
# --- orphans ---
rc=0
cli orphans --json >"$T/orphans.json" 2>"$T/orphans.err" || rc=$?
check_eq "orphans --json answers" "0 " "$rc $(cat "$T/orphans.err")"
check_eq "orphans: 300, each with its command" "300 300" \
	"$(jq -r '"\(length) \([.[] | select(.command | test("^jexec n+ ipcrm -s [0-9]+$"))] | length)"' \
		"$T/orphans.json")"
check_eq "... and 2,703 more counted" 2703 "$(jq '[.[].more // 0] | add' "$T/orphans.json")"
cli orphans >"$T/orphans.txt" || true
check "orphans (text) says so" grep -q '^  evil2: 901 more not listed; ipcfleet host evil2 lists them all$' \
	"$T/orphans.txt"
# --- report ---
rc=0
cli report --json >"$T/report.json" 2>"$T/report.err" || rc=$?
check_eq "report --json answers" "0 " "$rc $(cat "$T/report.err")"
check_eq "report: each hostile host's 100 worst findings and the count of the rest" \
	"evil1 100 901,evil2 100 901,evil3 100 901,good 3 null" \
	"$(jq -r '.hosts | sort_by(.host) | map("\(.host) \(.findings | length) \(.more_findings)") | join(",")' \
		"$T/report.json")"
cli report >"$T/report.txt" || true
check "report (text) says so" test "$(grep -c '^    and 901 more, not listed; ipcfleet host evil[123] lists them all$' \
	"$T/report.txt")" -eq 3
cli report --format html -o "$T/report.html" || true
check "report (HTML) says so" grep -q 'And 901 more, not listed: <code>ipcfleet host evil1</code> lists them all' \
	"$T/report.html"
# --- the host itself lists all of them ---
check_eq "host evil1 lists its 1,001 findings" 1001 \
	"$(cli host evil1 --json | jq '.findings | length' || true)"
check "and the one that counts what the analysis did not keep" \
	sh -c "\"$BIN/ipcfleet\" --config \"$T/cli.conf\" host evil1 --json |
		jq -r '.findings[].message' | grep -q '^9000 more orphan findings were not kept'"
stop_agg
check "no sanitizer report in the aggregator's log" \
	no_sanitizer_report "$T/aggregator.log"
finish
