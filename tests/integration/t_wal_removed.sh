#!/usr/bin/env bash
# The SQLite -wal removed under a running aggregator (issue 19, item 10):
# by hand, or by another process's sqlite3 that took itself for the last
# user.  The aggregator went on committing into the removed file, and a
# kill -9 then lost what it had acknowledged.  Now its next write notices,
# copies the removed WAL into the database, reopens and says so: after a
# kill -9, every acknowledged snapshot is stored, exactly once.
. "$(dirname "$0")/lib.sh"
need sqlite3

pki_dev wr1
write_agg_conf
start_agg_fixed
# runs until killed below: both waits may take 30 s on a busy machine
start_loadgen acks "$FIXED_PORT" 20 0.5 600 5 wr
acks() { wc -l <"$T/acks" 2>/dev/null || echo 0; }
for _ in $(seq 1 300); do [ "$(acks)" -ge 200 ] && break; sleep 0.1; done
check "snapshots acknowledged before ($(acks))" test "$(acks)" -ge 200
rm -f "$T/ipcfleet.db-wal" "$T/ipcfleet.db-shm"
before=$(acks)
for _ in $(seq 1 300); do [ "$(acks)" -ge $((before + 200)) ] && break; sleep 0.1; done
check "and after the removal ($before -> $(acks))" test "$(acks)" -ge $((before + 200))
check "the aggregator says the -wal was removed" \
	grep -q "ipcfleet.db-wal: removed under the running aggregator .* frames copied into the database, database reopened" \
	"$T/aggregator.log"
kill -KILL "$AGG_PID"
wait "$AGG_PID" 2>/dev/null || true
AGG_PID=
kill "$LG" 2>/dev/null || true
wait "$LG" 2>/dev/null || true
n=$(wc -l <"$T/acks")
head -n "$n" "$T/acks" | sort >"$T/acked"
sqlite3 -separator ' ' "$T/ipcfleet.db" \
	"select h.name, r.seq from received r join hosts h on h.id = r.host_id" | sort >"$T/stored"
check_eq "after kill -9, every one of the $n acknowledged snapshots is stored" 0 \
	"$(comm -13 "$T/stored" "$T/acked" | wc -l)"
check_eq "each once" "$(wc -l <"$T/stored")" "$(uniq "$T/stored" | wc -l)"
finish
