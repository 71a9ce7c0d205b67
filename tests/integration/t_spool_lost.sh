#!/usr/bin/env bash
# Issue 19.1: an agent whose spool is lost (reinstall, new disk, a spool on
# tmpfs) numbers from 1 again under the same certificate.  Each spool has an
# identity, sent in hello, and the aggregator deduplicates on (host, spool,
# seq): every snapshot of the new spool is stored, none is taken for a
# duplicate of the old spool's, and the host's latest snapshot follows.
# Then the upgrade path: a spool in the previous format (bare frames, no id)
# is delivered under the legacy identity and takes an identity once empty.
. "$(dirname "$0")/lib.sh"
need sqlite3
need jq

pki_dev it-lost
write_agg_conf
start_agg_fixed
write_agent_conf a it-lost
write_cli_conf
sed -i 's/^interval = .*/interval = 1s/' "$T/a.conf"
SP=$T/spool-a
db() { sqlite3 "$T/ipcfleet.db" "$1"; }
stored() { db 'select count(*) from received' 2>/dev/null || echo 0; }
entries() { ls "$SP" 2>/dev/null | grep '\.snap$' || true; }
# run_agent LOG N: the agent until N more snapshots are stored, then SIGTERM
run_agent() {
	local want=$(($(stored) + $2)) rc
	"$BIN/ipcfleet-agent" -c "$T/a.conf" -v >"$T/$1" 2>&1 &
	AGENT=$!
	for _ in $(seq 1 150); do [ "$(stored)" -ge "$want" ] && break; sleep 0.2; done
	kill -TERM "$AGENT"
	set +e
	wait "$AGENT"
	rc=$?
	set -e
	check_eq "$1: the agent exits 0 on SIGTERM" 0 "$rc"
}
# acked LOG: the sequence numbers the agent logged as acknowledged, sorted
acked() { sed -n 's/.*snapshot \([0-9]*\) acknowledged.*/\1/p' "$T/$1" | sort -n | uniq; }
# trend points of semmni (every snapshot stored is one sample)
points() { cli trend it-lost semmni --csv --since 1d | tail -n +2 | wc -l; }

# --- a spool, delivered, then lost ---
run_agent first.log 4
ID1=$(cat "$SP/id" 2>/dev/null || true)
check "the spool has an identity (32 hex digits)" grep -qxE '[0-9a-f]{32}' "$SP/id"
N1=$(cat "$SP/seq")
S1=$(stored)
check_eq "first spool: every acknowledged snapshot stored" "$(acked first.log | wc -l)" \
	"$(db "select count(*) from received where spool = '$ID1'")"
P1=$(points)
rm -rf "$SP"
sleep 1 # the next snapshot is in another second than the last one

run_agent second.log 4
ID2=$(cat "$SP/id" 2>/dev/null || true)
check "the new spool has another identity" test "$ID2" != "$ID1" -a -n "$ID2"
N2=$(cat "$SP/seq")
check "the new spool numbers from 1 again (to $N2; the first went to $N1)" \
	test "$(acked second.log | head -1)" = 1
check_eq "every snapshot the new spool delivered is stored: sequences" "$(acked second.log | tr '\n' ' ')" \
	"$(db "select seq from received where spool = '$ID2' order by seq" | tr '\n' ' ')"
check_eq "stored in all: first spool + second spool" $((S1 + $(acked second.log | wc -l))) "$(stored)"
check_eq "none was acknowledged as a duplicate" 0 "$(grep -c 'was a duplicate' "$T/aggregator.log" || true)"
# (two snapshots taken in one second make one point)
check "trend points: the new spool's were added ($P1 -> $(points))" test "$(points)" -gt "$P1"
check_eq "trend points: one per stored snapshot's time" "$(db 'select count(distinct taken) from received')" \
	"$(points)"
check_eq "the host's latest snapshot is the new spool's last" "$ID2 $(acked second.log | tail -1)" \
	"$(db "select last_spool || ' ' || last_seq from hosts")"
check_eq "no conflict counted" 0 "$(grep -c 'differs from the one stored' "$T/aggregator.log" || true)"

# --- upgrade: a spool of the previous version (bare frames, no id) ---
stop_agg
"$BIN/ipcfleet-agent" -c "$T/a.conf" -v >"$T/spooling.log" 2>&1 &
AGENT=$!
for _ in $(seq 1 100); do [ "$(entries | wc -l)" -ge 4 ] && break; sleep 0.2; done
kill -TERM "$AGENT"
wait "$AGENT" || true
# the previous format: the frame alone (the 64-byte header goes), no id file
for e in $(entries); do
	tail -c +65 "$SP/$e" >"$SP/$e.old" && mv "$SP/$e.old" "$SP/$e"
done
rm -f "$SP/id"
entries | sed 's/\.snap$//' | sed 's/^0*//' >"$T/legacy"
L=$(wc -l <"$T/legacy")
check "entries in the previous format wait ($L)" test "$L" -ge 4
start_agg_fixed same
run_agent third.log $((L + 3))
check "it keeps the legacy identity while they wait" grep -q "made by an earlier version (no id)" "$T/third.log"
# (with the snapshot taken at the start, before the spool was empty)
check_eq "the old entries are stored under the legacy identity" "$(tr '\n' ' ' <"$T/legacy")" \
	"$(db "select seq from received where spool = '' and seq <= $(tail -1 "$T/legacy") order by seq" | tr '\n' ' ')"
check "none was set aside" test -z "$(ls "$SP" | grep '\.bad$' || true)"
ID3=$(cat "$SP/id" 2>/dev/null || true)
check "once empty, the spool takes a new identity" grep -qxE '[0-9a-f]{32}' "$SP/id"
check "... and says so" grep -q "empty now; it takes the identity $ID3" "$T/third.log"
check "the snapshots after it carry it, numbers continuing" test \
	"$(db "select min(seq) from received where spool = '$ID3'")" -gt "$(tail -1 "$T/legacy")"
check_eq "every snapshot acknowledged is stored once" "$(acked third.log | wc -l)" \
	"$(db "select count(*) from received where spool in ('', '$ID3')")"
check_eq "nothing was a duplicate" 0 "$(grep -c 'was a duplicate' "$T/aggregator.log" || true)"

finish
