#!/usr/bin/env bash
# docs/DELIVERY.md, "Bound": a full spool whose oldest entry cannot be
# removed (an I/O error, a read-only or immutable file: here chattr +i).  Before, that entry was taken
# for an acknowledged one: never listed or sent again, deleted unsent later,
# never counted; and the next oldest was dropped instead.  Now it stays, the
# next oldest stays too, and the snapshot that does not fit is the one
# dropped, counted and said.
. "$(dirname "$0")/lib.sh"
need_root "chattr +i"
need chattr
touch "$T/probe"
chattr +i "$T/probe" 2>/dev/null || skip "chattr +i is not supported on $T's filesystem"
chattr -i "$T/probe"

pki_dev it-stuck
# a copied tree of 250 semaphore sets: about 25 KB a snapshot, two fit in 64K
R=$T/root
cp -r "$FIXTURES/linux-modern" "$R"
{
	head -1 "$FIXTURES/linux-modern/proc/sysvipc/sem"
	for i in $(seq 0 249); do
		printf '%11d %10d %5d %10d %5d %5d %5d %5d %10d %10d\n' \
			$((5432001 + i)) "$i" 600 17 70 70 70 70 1764165601 1764165001
	done
} >"$R/proc/sysvipc/sem"
# an aggregator that is not there: everything stays spooled
for _ in $(seq 1 20); do
	PORT=$((20000 + RANDOM % 20000))
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || break
done
write_agent_conf a it-stuck
sed -i 's/^interval = .*/interval = 1s/' "$T/a.conf"
echo "spool_max = 64K" >>"$T/a.conf"
SP=$T/spool-a
entries() { ls "$SP" 2>/dev/null | grep '\.snap$' || true; }

"$BIN/ipcfleet-agent" -c "$T/a.conf" --source "linux-root:$R" -v >"$T/agent.log" 2>&1 &
AGENT=$!
trap 'kill "$AGENT" 2>/dev/null || true; chattr -i "$SP" "$SP"/*.snap 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 1 100); do grep -q "dropped the 1 oldest" "$T/agent.log" && break; sleep 0.2; done
check "the spool is full: the oldest are dropped" grep -q "dropped the 1 oldest" "$T/agent.log"

# the oldest entry now cannot be removed
# (the oldest may go between the listing and chattr: then the next one)
for _ in $(seq 1 20); do
	OLDEST=$(entries | head -1)
	chattr +i "$SP/$OLDEST" 2>/dev/null && break
done
NEXT=$(entries | sed -n 2p)
for _ in $(seq 1 100); do grep -q "cannot be removed to make room" "$T/agent.log" && break; sleep 0.2; done
check "a snapshot that does not fit is dropped, and why is said" grep -q \
	"spool $SP full (spool_max 65536 bytes), and its oldest snapshot $OLDEST cannot be removed to make room: Operation not permitted; snapshot dropped" \
	"$T/agent.log"
sleep 2.2 # two more snapshots
check "the entry that could not be removed is still listed (not taken for acknowledged)" \
	test -f "$SP/$OLDEST"
check "the next oldest was not dropped in its place ($NEXT)" test -f "$SP/$NEXT"
stuck=$(grep -c "cannot be removed to make room" "$T/agent.log")
check "every snapshot that did not fit was counted ($stuck so far)" grep -q \
	"cannot be removed to make room: Operation not permitted; snapshot dropped ($(($(grep -c 'dropped the 1 oldest' "$T/agent.log") + stuck)) dropped so far)" \
	"$T/agent.log"
term_agent "$AGENT"

# --- --once where nothing can be written: what is spooled still goes ---
# (delivering the backlog is what frees a full disk; before, --once gave up)
need sqlite3
chattr -i "$SP/$OLDEST"
write_agg_conf
start_agg
sed -i "s/^server = .*/server = localhost:$PORT/" "$T/a.conf"
N=$(entries | wc -l)
chattr +i "$SP" # no file can be made, renamed or removed in it
rc=0
"$BIN/ipcfleet-agent" -c "$T/a.conf" --source "linux-root:$R" --once >"$T/once.log" 2>&1 || rc=$?
chattr -i "$SP"
check_eq "--once exits 1: its own snapshot could not be spooled" 1 "$rc"
check "... and says so" grep -q "cannot write seq: Operation not permitted; snapshot dropped" "$T/once.log"
check_eq "... but the $N snapshots spooled were delivered and stored" "$N" \
	"$(sqlite3 "$T/ipcfleet.db" 'select count(*) from received')"
finish
