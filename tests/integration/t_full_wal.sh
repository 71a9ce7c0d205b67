#!/usr/bin/env bash
# A full disk that stays full (issue 19, item 5).  The database on a small
# loop-mounted ext4 with a ballast file: the WAL grows until the disk is
# full and commits fail (nothing is acknowledged then).  The ballast goes:
# the aggregator checkpoints and truncates the WAL (it no longer keeps the
# space it grew to), deliveries resume and go on, and every acknowledged
# snapshot is stored exactly once.
. "$(dirname "$0")/lib.sh"
need_root "loop-mounting ext4"
need sqlite3
need mkfs.ext4

AGENTS=100
pki_dev fw1
mkdir -p "$T/dbfs"
truncate -s 32M "$T/img"
mkfs.ext4 -q -F -m 0 "$T/img"
mount -o loop "$T/img" "$T/dbfs"
DB=$T/dbfs/ipcfleet.db
unmount() {
	if [ -n "$AGG_PID" ]; then kill "$AGG_PID" 2>/dev/null || true; wait "$AGG_PID" 2>/dev/null || true; fi
	AGG_PID=
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
	umount "$T/dbfs" 2>/dev/null || true
	cleanup
}
trap unmount EXIT
write_agg_conf
sed -i "s|^path = .*|path = $DB|" "$T/aggregator.conf"
start_agg_fixed
# leave about 6 MB; and with the ballast gone, less room than the WAL grows
# to between checkpoints (32 MiB): it fills the disk again
free_kb=$(df -k --output=avail "$T/dbfs" | tail -1)
dd if=/dev/zero of="$T/dbfs/ballast" bs=1k count=$((free_kb - 6144)) 2>/dev/null
wal() { stat -c %s "$DB-wal" 2>/dev/null || echo 0; }
acks() { wc -l <"$T/acks" 2>/dev/null || echo 0; }

start_loadgen acks "$FIXED_PORT" "$AGENTS" 0.2 75 60 fw

for _ in $(seq 1 600); do grep -q "storage failing" "$T/aggregator.log" && break; sleep 0.1; done
check "the disk fills up: commits fail" grep -q "storage failing: .*full" "$T/aggregator.log"
sleep 3
wal_full=$(wal)
echo "# WAL when the disk was full: $wal_full bytes; acks so far $(acks)"
rm -f "$T/dbfs/ballast"
# the smallest WAL seen over 5 s: truncated (then it grows again)
wal_min=$wal_full
for _ in $(seq 1 50); do
	w=$(wal)
	[ "$w" -lt "$wal_min" ] && wal_min=$w
	sleep 0.1
done
echo "# smallest WAL within 5 s after space returned: $wal_min bytes"
check "the WAL is truncated once space returns ($wal_full -> $wal_min bytes)" \
	test "$wal_min" -lt $((wal_full / 4))
# deliveries go on: acks in each of four 5 s windows
for w in 1 2 3 4; do
	a=$(acks)
	sleep 5
	check "window $w: deliveries go on ($a -> $(acks) acks)" test "$(acks)" -gt "$a"
done
echo "# WAL at the end of the load: $(wal) bytes; storage failures: $(grep -c 'storage failing:' "$T/aggregator.log")"
set +e
wait "$LG"
rc=$?
set -e
check_eq "load generator exits 0" 0 "$rc"
acked=$(lg_val snapshots_acked)
check_eq "every snapshot taken was acknowledged in the end" "$(lg_val snapshots_taken)" "$acked"
stored=$(sqlite3 "$DB" "select count(*) from received where host_id in (select id from hosts where name like 'fw-%')")
check_eq "every acknowledged snapshot stored exactly once" "$acked" "$stored"
finish
