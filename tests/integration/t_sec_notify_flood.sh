#!/usr/bin/env bash
# Security (issue 18, item 4; docs/ANALYSIS.md "Notifications"): one host
# must not silence the notifications of the others.
#
# A hostile agent opens 1,000 orphan findings per snapshot (new object ids
# each time, so each snapshot also closes the previous 1,000), six
# snapshots, while its notifications cannot finish (the notify script waits
# for the test's go).  Before the fix every change was a job in one queue
# of 1,000 for all hosts, newest dropped: the victim's crit threshold,
# arriving next, never reached notify_command.  Now each host has at most
# one notification waiting, which takes all of that host's changes
# (coalesced), and waiting hosts take turns: the four running notifications
# of the hostile host hold every slot, its fifth takes snapshots 5 and 6,
# and the victim's crit comes right after it.
. "$(dirname "$0")/lib.sh"
need jq
[ -x "$BIN/ipcfleet-hostile" ] || {
	echo "not ok - $BIN/ipcfleet-hostile is not built (tests/hostile)"
	exit 1
}
: "${FIXTURES:=$SRC/tests/fixtures}"

pki_dev victim evil
cat >"$T/notify.sh" <<EOF
#!/bin/sh
printf '%s %s %s %s %s changes=%s opened=%s closed=%s snapshots=%s\n' "\$IPCFLEET_HOST" \
	"\$IPCFLEET_EVENT" "\$IPCFLEET_SEVERITY" "\$IPCFLEET_KIND" "\$IPCFLEET_LIMIT" \
	"\$IPCFLEET_CHANGES" "\$IPCFLEET_CHANGES_OPENED" "\$IPCFLEET_CHANGES_CLOSED" \
	"\$IPCFLEET_SNAPSHOTS" >>"$T/notified"
if [ "\$IPCFLEET_HOST" = evil ]; then
	printf '%s\n---\n' "\$IPCFLEET_SUMMARY" >>"$T/summaries"
	# the hostile host's notifications hold their slots until the test says go
	i=0
	while [ ! -e "$T/go" ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i + 1)); done
fi
EOF
chmod 755 "$T/notify.sh"
# the victim: the sorthat capture, semmns at 78.2 %, crit from 75 % for it.
# orphan_keep 0: each round's orphans close when the next opens (no records
# of removed ones: t_sec_flood counts those), so the changes add up exactly
write_agg_conf "[analysis]" "notify_command = $T/notify.sh" "orphan_keep = 0" \
	"[host_thresholds]" "victim = semmns.warn=50 semmns.crit=75"
start_agg
write_agent_conf victim victim
hostile() {
	local who=$1
	shift
	"$BIN/ipcfleet-hostile" --server "localhost:$PORT" --cert "$T/pki/$who.crt" \
		--key "$T/pki/$who.key" --ca "$T/pki/ca.crt" "$@"
}

# six snapshots: twice the three of notify-flood, the second time with later seqs
hostile evil --timeout 60000 notify-flood >"$T/flood.out" 2>&1
hostile evil --timeout 60000 --seq "$(($(date +%s) * 1000 + 500))" notify-flood >>"$T/flood.out" 2>&1
sed 's/^/# /' "$T/flood.out"
check_eq "the flood: every snapshot acked" "2" \
	"$(grep -c '^notify-flood: 3 of 3 snapshots acked$' "$T/flood.out")"
rc=0
"$BIN/ipcfleet-agent" -c "$T/victim.conf" --source "freebsd-capture:$FIXTURES/freebsd-11-sorthat" \
	--once >"$T/victim.out" 2>&1 || rc=$?
check_eq "the victim's snapshot is acked" 0 "$rc"
# the hostile host's notifications may finish now; the victim's crit must
# run soon: behind at most one notification of each other host
touch "$T/go"
got=
for _ in $(seq 1 100); do
	got=$(grep -m1 '^victim opened crit threshold semmns ' "$T/notified" 2>/dev/null || true)
	[ -n "$got" ] && break
	sleep 0.1
done
check "the victim's crit threshold reached notify_command within 10 s" test -n "$got"
# sum KEY...: the sums of the hostile host's KEY=N over its notifications
sum() {
	awk -v keys="$*" '$1 == "evil" {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] }
	} END { n = split(keys, k, " "); for (i = 1; i <= n; i++) printf("%s%d", (i > 1 ? " " : ""), s[k[i]]); print "" }' \
		"$T/notified"
}
# let the hostile host's last notification run
for _ in $(seq 1 50); do
	[ "$(sum snapshots)" = 6 ] && break
	sleep 0.1
done
sed 's/^/# /' "$T/notified"
check_eq "the hostile host: four notifications ran, the fifth took two snapshots" \
	"5 1" "$(grep -c '^evil ' "$T/notified") $(grep -c '^evil .* snapshots=2$' "$T/notified")"
check_eq "... which count its 6 snapshots" 6 "$(sum snapshots)"
check_eq "... and all its 11,000 changes: 6,000 opened, 5,000 closed" "11000 6000 5000" \
	"$(sum changes opened closed)"
check "each lists its first changes and counts the rest" \
	grep -Eq '^and [0-9]+ more$' "$T/summaries"
check "the victim's notification counts its changes" \
	grep -Eq '^victim opened crit threshold semmns changes=[0-9]+ ' "$T/notified"
check "the log does not list the 11,000 changes one by one (20 an analysis)" \
	test "$(grep -c 'host evil: finding ' "$T/aggregator.log")" -le 120
check_eq "... but counts them" 6 \
	"$(grep -c 'host evil: [0-9]* more finding changes not logged one by one' "$T/aggregator.log")"
stop_agg
check "no sanitizer report in the aggregator's log" \
	no_sanitizer_report "$T/aggregator.log"
finish
