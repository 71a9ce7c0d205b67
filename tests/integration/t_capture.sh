#!/usr/bin/env bash
# deploy/freebsd/ipcfleet-capture, run here against the fake FreeBSD tools of
# tests/fixtures/fakebin (they print the freebsd-jails capture): what it
# writes must read back, through the agent, exactly as that capture does.
#  1. it exits 0, writes a directory only its owner may read (umask 077),
#     every file the collector reads, each jail's own view and hostname.txt;
#  2. --print --json on what it wrote and on the fixture agree on limits,
#     usage, scopes, every object (attribution and times) and the findings
#     (the fake date(1) gives the capture the fixture's date.txt: ipcs
#     prints times of day, which date.txt puts on a day);
#  3. --print shows the capture under the name in its hostname.txt;
#  4. refusals: an output directory that is not empty, an unknown argument.
# The script's own PATH line is the one thing changed in the copy run here
# (to put the fakes first); everything else is the shipped script.
. "$(dirname "$0")/lib.sh"
need jq

CAP=$SRC/deploy/freebsd/ipcfleet-capture
FIX=$FIXTURES/freebsd-jails
AGENT=$BIN/ipcfleet-agent

grep -qx 'PATH=/sbin:/bin:/usr/sbin:/usr/bin' "$CAP" || {
	echo "the capture script's PATH line changed: update this test"
	exit 1
}
sed "s|^PATH=/sbin:/bin:/usr/sbin:/usr/bin\$|PATH=$SRC/tests/fixtures/fakebin:/bin:/usr/bin|" \
	"$CAP" >"$T/capture.sh"

# --- 1. the capture ---
set +e
IPCFLEET_FAKE_DIR=$FIX sh "$T/capture.sh" -o "$T/cap" >"$T/cap.out" 2>&1
rc=$?
set -e
check_eq "ipcfleet-capture exits 0" 0 "$rc"
check "it says where it wrote" grep -q "wrote $T/cap" "$T/cap.out"
check_eq "the directory is its owner's alone" 700 "$(stat -c %a "$T/cap")"
for f in sysctl-kern.ipc.txt pagesize.txt uname.txt hostname.txt jls.txt ps.txt ipcs-a.txt \
	date.txt passwd group jail-pg/ipcs-a.txt jail-zbx/ipcs-a.txt jail-pg/passwd; do
	check "it wrote $f" test -s "$T/cap/$f"
done
check_eq "files are mode 600" 600 "$(stat -c %a "$T/cap/ipcs-a.txt")"
check_eq "hostname.txt holds the host's name" "$(hostname)" "$(cat "$T/cap/hostname.txt")"
check "each jail's view is the jail's own" cmp -s "$FIX/jail-pg/ipcs-a.txt" "$T/cap/jail-pg/ipcs-a.txt"
check "date.txt is date's, taken last (here the fixture's, through the fake)" \
	cmp -s "$FIX/date.txt" "$T/cap/date.txt"

# --- 2. read back: what the fixture gives ---
"$AGENT" --print --json --source "freebsd-capture:$FIX" >"$T/fix.json" 2>"$T/fix.err"
"$AGENT" --print --json --source "freebsd-capture:$T/cap" >"$T/cap.json" 2>"$T/cap.err"
same() { # same DESCRIPTION JQ-FILTER
	local a b
	a=$(jq -S -c "$2" "$T/fix.json")
	b=$(jq -S -c "$2" "$T/cap.json")
	if [ -n "$a" ] && [ "$a" != "null" ] && [ "$a" = "$b" ]; then
		pass "$1"
	else
		fail "$1: fixture $a, capture $b"
	fi
}
same "the same limits" '.limits'
same "the same usage" '.usage'
same "the same scopes" '.scopes'
same "every object in the same scope, with the same uid, size and times (owner names come from the reading machine's passwd here)" \
	'[.objects[] | del(.owner)]'
same "the same findings, by kind, scope and object" \
	'[.findings[] | {kind, severity, scope, type, id, uid}] | sort_by(.kind, .scope, .id)'
check_eq "an orphan and an isolation finding" "isolation orphan" \
	"$(jq -r '[.findings[].kind] | sort | join(" ")' "$T/cap.json")"
check_eq "jail pg holds two semaphore sets" 2 \
	"$(jq '[.objects[] | select(.type == "sem" and .scope == "jail:pg")] | length' "$T/cap.json")"
check_eq "the agent read both without a warning" "" "$(cat "$T/fix.err" "$T/cap.err")"

# --- 3. its name ---
check_eq "--print names the capture by its hostname.txt" "$(hostname)" "$(jq -r .host "$T/cap.json")"
check_eq "a capture without one, by its directory" freebsd-jails "$(jq -r .host "$T/fix.json")"

# --- 4. refusals ---
set +e
IPCFLEET_FAKE_DIR=$FIX sh "$T/capture.sh" -o "$T/cap" >"$T/again.out" 2>&1
rc=$?
IPCFLEET_FAKE_DIR=$FIX sh "$T/capture.sh" --bogus >"$T/bogus.out" 2>&1
rc2=$?
set -e
check_eq "an output directory that is not empty: exit 1" 1 "$rc"
check "it says why" grep -q "exists and is not empty" "$T/again.out"
check_eq "an unknown argument: exit 2" 2 "$rc2"
check "it names the argument" grep -q "unknown argument: --bogus" "$T/bogus.out"

finish
