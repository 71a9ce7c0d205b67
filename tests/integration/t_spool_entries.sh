#!/usr/bin/env bash
# Issue 19.2: a spool entry whose content does not match its name must not
# block the agent.  While the aggregator is down, one entry gets a flipped
# byte, another is overwritten with a copy of a later one, and a third is
# changed into a frame the aggregator refuses (its checksum made right).
# Once the aggregator is back, the three are set aside (*.bad, logged, counted
# as dropped), each other entry is stored exactly once under its own number,
# and the agent goes on delivering.  (Before: "ack for 6 while waiting for
# 3", retried forever.)
. "$(dirname "$0")/lib.sh"
need sqlite3
need jq
need openssl

pki_dev it-entries
write_agg_conf
start_agg_fixed
write_agent_conf e it-entries
write_cli_conf
sed -i 's/^interval = .*/interval = 1s/' "$T/e.conf"
SP=$T/spool-e
stop_agg
entries() { ls "$SP" 2>/dev/null | grep '\.snap$' || true; }
db() { sqlite3 "$T/ipcfleet.db" "$1"; }
seqof() { echo $((10#${1%.snap})); }

"$BIN/ipcfleet-agent" -c "$T/e.conf" -v >"$T/spooling.log" 2>&1 &
AGENT=$!
for _ in $(seq 1 150); do [ "$(entries | wc -l)" -ge 8 ] && break; sleep 0.2; done
kill -TERM "$AGENT"
wait "$AGENT" || true
entries >"$T/before"
check "eight entries or more wait ($(wc -l <"$T/before"))" test "$(wc -l <"$T/before")" -ge 8
E2=$(sed -n 2p "$T/before")
E3=$(sed -n 3p "$T/before")
E4=$(sed -n 4p "$T/before")
E6=$(sed -n 6p "$T/before")

# where the frame starts: after the 64-byte header ("IFSE"), or at 0 (a bare frame)
frame_off() { if [ "$(head -c 4 "$1")" = IFSE ]; then echo 64; else echo 0; fi; }
# poke FILE OFFSET BYTE(octal): write one byte in place
poke() { printf "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
# the header's SHA-256 (bytes 32..63) over bytes 0..31 and the frame
fix_sum() {
	[ "$(frame_off "$1")" = 64 ] || return 0
	head -c 32 "$1" >"$T/h"
	tail -c +65 "$1" >"$T/f"
	cat "$T/h" "$T/f" | openssl dgst -sha256 -binary >"$T/s"
	cat "$T/h" "$T/s" "$T/f" >"$1"
}

# a flipped bit in the last byte (inside the payload)
last=$(($(stat -c %s "$SP/$E2") - 1))
b=$(od -An -tu1 -j "$last" -N1 "$SP/$E2" | tr -d ' ')
poke "$SP/$E2" "$last" "$(printf %o $((b ^ 1)))"
# a copy of a later entry under an earlier name
cp "$SP/$E6" "$SP/$E3"
# a frame the aggregator refuses: its "seq" key renamed "sez" (well-formed
# msgpack, but no sequence number), with a correct checksum
off=$(frame_off "$SP/$E4")
k=$(tail -c +$((off + 1)) "$SP/$E4" | grep -obUa 'seq' | head -1 | cut -d: -f1)
poke "$SP/$E4" $((off + k + 2)) 172 # 'z'
fix_sum "$SP/$E4"

start_agg_fixed same
"$BIN/ipcfleet-agent" -c "$T/e.conf" -v >"$T/agent.log" 2>&1 &
AGENT=$!
# every good entry delivered, three set aside (the refused one after 3 tries)
for _ in $(seq 1 300); do
	[ "$(ls "$SP" | grep -c '\.bad$' || true)" -ge 3 ] && [ -z "$(entries | grep -Fxf "$T/before" || true)" ] && break
	sleep 0.2
done
check "the flipped entry was set aside" test -f "$SP/$E2.bad"
check "... for its checksum" grep -q "$E2 is corrupt (checksum mismatch)" "$T/agent.log"
check "the copied entry was set aside" test -f "$SP/$E3.bad"
check "... for its number" grep -q "$E3 is corrupt (its sequence number is not its name's" "$T/agent.log"
check "the refused entry was set aside" test -f "$SP/$E4.bad"
check "... after the aggregator refused it three times" \
	grep -q "snapshot $(seqof "$E4") was refused 3 times in a row" "$T/agent.log"
check_eq "every other entry was delivered" "" "$(entries | grep -Fxf "$T/before" || true)"
# stored: each good entry once, under its own number
grep -vFx -e "$E2" -e "$E3" -e "$E4" "$T/before" | while read -r e; do seqof "$e"; done >"$T/want"
check_eq "each good entry stored once under its number" "$(tr '\n' ' ' <"$T/want")" \
	"$(db "select seq from received where seq <= $(seqof "$(tail -1 "$T/before")") order by seq" | tr '\n' ' ')"
check_eq "none of the bad ones stored" 0 \
	"$(db "select count(*) from received where seq in ($(seqof "$E2"), $(seqof "$E3"), $(seqof "$E4"))")"
check_eq "nothing stored twice" 0 "$(db 'select count(*) - count(distinct seq) from received')"
# the three drops travel with the next snapshots
for _ in $(seq 1 50); do
	d=$(cli host it-entries --json 2>/dev/null | jq -r '.dropped // 0')
	[ "$d" = 3 ] && break
	sleep 0.2
done
check_eq "the host reports 3 dropped" 3 "$d"
n=$(db 'select count(*) from received')
more() { [ "$(db 'select count(*) from received')" -gt "$n" ]; }
check "the agent keeps delivering" wait_for 30 more
term_agent "$AGENT"

finish
