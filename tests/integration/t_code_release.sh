#!/usr/bin/env bash
# Issue 17.4 (docs/BENCHMARKS.md): the agent lets go of the library code
# that only its start and a connection's handshake run.  After the first
# delivery on each connection it drops the page table entries of its
# read-only file mappings (platform_release_code); what a snapshot runs
# comes back on its first use.  Measured from outside, in /proc/PID/smaps,
# on libcrypto's code mapping: resident well below its size once it
# delivers, and back to that level after the aggregator was away and the
# agent connected again (before, a reconnection's handshake left its pages
# resident for good: 2,288 kB of 2,548 against 1,140 here).
. "$(dirname "$0")/lib.sh"
need sqlite3
[ "$(uname -s)" = Linux ] || skip "the release is Linux's (MADV_DONTNEED; FreeBSD keeps its pages)"

pki_dev cr1
write_agg_conf
start_agg_fixed
write_agent_conf a cr1
sed -i 's/^interval = .*/interval = 1s/' "$T/a.conf"
"$BIN/ipcfleet-agent" -c "$T/a.conf" -v >"$T/a.log" 2>&1 &
APID=$!

count() { sqlite3 "$T/ipcfleet.db" "select count(*) from received" 2>/dev/null || echo 0; }
# "SIZE RSS" (kB) of the agent's executable mapping of libcrypto
crypto_text() {
	awk '/libcrypto/ && / r-xp / { f = 1; next }
	     f && /^Size:/ { s = $2 }
	     f && /^Rss:/ { print s, $2; exit }' "/proc/$APID/smaps"
}
delivered() { [ "$(count)" -ge "$1" ]; }

check "the agent delivers" wait_for 30 delivered 3
read -r SIZE RSS1 <<<"$(crypto_text)"
check "libcrypto's code is mapped ($SIZE kB)" test -n "$SIZE" -a "${SIZE:-0}" -gt 0
# the start ran most of it (fault-around maps 64 KiB at a time); a snapshot
# runs much less
check "after the first delivery its code is let go: $RSS1 of $SIZE kB resident" \
	test "${RSS1:-$SIZE}" -lt $((SIZE * 7 / 10))

# the aggregator goes away; the agent's attempts and then the new
# connection's handshake run code again
stop_agg
sleep 3
read -r _ RSS_DOWN <<<"$(crypto_text)"
start_agg_fixed same
N=$(count)
check "the agent delivers again after the outage" wait_for 40 delivered $((N + 2))
# let go after the first delivery on the new connection; allow for what a
# snapshot touches differently from one time to the next
LIMIT=$((RSS1 + RSS1 / 4 + 64))
RSS2=
low() {
	read -r _ RSS2 <<<"$(crypto_text)"
	[ "${RSS2:-$LIMIT}" -le "$LIMIT" ]
}
if wait_for 10 low; then
	pass "after the reconnection it is let go again: $RSS2 kB (at most $LIMIT; $RSS_DOWN during the outage)"
else
	fail "after the reconnection it stays resident: $RSS2 kB, more than $LIMIT ($RSS_DOWN during the outage)"
fi
kill "$APID" 2>/dev/null || true
wait "$APID" 2>/dev/null || true
finish
