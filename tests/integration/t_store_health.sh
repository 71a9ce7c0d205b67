#!/usr/bin/env bash
# Storage failures are visible and quiet (issue 19, item 4).  The database on
# a small loop-mounted ext4: filled up, then its files made
# immutable (chattr +i), under the running aggregator.  /healthz answers 503
# with the reason while commits fail and 200 once one works again; the
# failure and the recovery are logged once each, not per snapshot; nothing
# acknowledged is lost and every snapshot is stored exactly once; immutable
# files are a failed commit, not SIGBUS.  Then a snapshot that cannot be read
# back is an error for `host NAME`, never an empty "ok" host, and a damaged
# page makes the aggregator refuse to start (PRAGMA quick_check).
. "$(dirname "$0")/lib.sh"
need_root "loop-mounting ext4, chattr"
need jq
need sqlite3
need curl
need chattr
need mkfs.ext4

pki_dev h1
mkdir -p "$T/dbfs"
truncate -s 32M "$T/img"
mkfs.ext4 -q -F "$T/img"
mount -o loop "$T/img" "$T/dbfs"
DB=$T/dbfs/ipcfleet.db
unmount() {
	chattr -i "$DB" "$DB-wal" "$DB-shm" 2>/dev/null || true
	if [ -n "$AGG_PID" ]; then kill "$AGG_PID" 2>/dev/null || true; wait "$AGG_PID" 2>/dev/null || true; fi
	AGG_PID=
	umount "$T/dbfs" 2>/dev/null || true
	cleanup
}
trap unmount EXIT
write_agg_conf "[http]" "listen = 127.0.0.1:0"
sed -i "s|^path = .*|path = $DB|" "$T/aggregator.conf"
start_agg http
write_agent_conf h1 h1
write_cli_conf
src="linux-root:$SRC/tests/fixtures/linux-modern"
deliver() { "$BIN/ipcfleet-agent" -c "$T/h1.conf" --source "$src" --once >>"$T/agent.out" 2>&1; }
code() { curl -s -o "$T/body" -w '%{http_code}' --max-time 10 "$URL/healthz"; }
spooled() { ls "$T/spool-h1" | grep -c '\.snap$' || true; }
stored() { sqlite3 -separator ' ' "$DB" 'select count(*), count(distinct seq) from received'; }

for i in 1 2 3; do deliver; done
check_eq "healthz 200 while commits work" 200 "$(code)"

# --- a full file system: deliveries refused, logged once ---
# (a read-only remount is refused while the database is open for writing;
# a full disk makes the same failing commits)
dd if=/dev/zero of="$T/dbfs/ballast" bs=64k 2>/dev/null || true
acked=0 refused=0
while [ "$refused" -lt 20 ] && [ $((acked + refused)) -lt 200 ]; do
	if deliver; then acked=$((acked + 1)); else refused=$((refused + 1)); fi
done
check_eq "deliveries on a full file system are refused" 20 "$refused"
check_eq "and every refused snapshot waits in the spool" 20 "$(spooled)"
check_eq "healthz 503 while commits fail" 503 "$(code)"
check "its body says why" grep -q "storage failing for .* (20 failed commits): .*full" "$T/body"
check_eq "the outage is logged once, not per snapshot" 1 "$(grep -c 'storage failing:' "$T/aggregator.log")"
metric() { curl -s --max-time 10 "$URL/metrics" | sed -n "s/^$1 //p"; }
check_eq "/metrics counts the 20 failed commits" 20 "$(metric ipcfleet_store_commits_failed_total)"
rm -f "$T/dbfs/ballast"
deliver
check_eq "with room again the backlog is delivered" 0 "$(spooled)"
check_eq "healthz 200 again after a commit" 200 "$(code)"
check_eq "the recovery is logged once, with the count" 1 \
	"$(grep -c 'storage works again after [0-9]* s and 20 failed commit' "$T/aggregator.log")"
n=$((3 + acked + 20 + 1))
check_eq "every snapshot stored exactly once (3 + $acked + 20 + 1)" "$n $n" "$(stored)"

# --- immutable files: a failed commit with a reason, not SIGBUS ---
# (sqlite3 above may have checkpointed and removed the -wal: one delivery
# makes it again, so that all three files exist)
deliver
chattr +i "$DB" "$DB-wal" "$DB-shm"
refused=0
for i in 1 2 3; do deliver || refused=$((refused + 1)); done
check_eq "deliveries to immutable files are refused" 3 "$refused"
check "the aggregator is still running" kill -0 "$AGG_PID"
check "it says the file is immutable" grep -q "file is immutable or append-only" "$T/aggregator.log"
check_eq "healthz 503" 503 "$(code)"
# reads touch the -shm too (a WAL reader's marks): every way in must answer
# with a reason, not end the process with SIGBUS
check_eq "/metrics counts 20 + 3 failed commits" 23 "$(metric ipcfleet_store_commits_failed_total)"
# (the store's part of the document is cached for up to 2 s: an earlier
# scrape may still be served)
store_down() { [ "$(metric ipcfleet_store_up)" = 0 ]; }
check "and says the store does not answer, once its 2 s cache expires" wait_for 10 store_down
check "the aggregator is still running after /metrics" kill -0 "$AGG_PID"
set +e
cli hosts >"$T/hosts.out" 2>&1
rch=$?
cli host h1 >"$T/h1.out" 2>&1
rc1=$?
cli trend h1 semmns >"$T/trend.out" 2>&1
rct=$?
cli report --format html >"$T/report.out" 2>&1
rcr=$?
set -e
no_file_named() { ! grep -q "ipcfleet.db" "$1"; }
# the admin is told the storage failed and where to read why; the log
# (never the client) names the file
for q in hosts h1 trend report; do
	case $q in hosts) rc=$rch ;; h1) rc=$rc1 ;; trend) rc=$rct ;; report) rc=$rcr ;; esac
	check_eq "$q answers an error" 1 "$rc"
	check "$q: the storage failed, see the log" \
		grep -q "storage failed (the aggregator's log says why)" "$T/$q.out"
	check "$q: no file named to the client" no_file_named "$T/$q.out"
done
check "the log says why, for each" \
	test "$(grep -Ec '(hosts|host|trend|report) query: .*ipcfleet.db-shm: file is immutable' "$T/aggregator.log")" -ge 4
check "the aggregator is still running after the queries" kill -0 "$AGG_PID"
check "its body names the file" grep -q "ipcfleet.db.*immutable" "$T/body"
chattr -i "$DB" "$DB-wal" "$DB-shm"
deliver
check_eq "after chattr -i the backlog is delivered" 0 "$(spooled)"
check_eq "healthz 200" 200 "$(code)"
n=$((n + 5))
check_eq "every snapshot stored exactly once (and 1 + 3 + 1)" "$n $n" "$(stored)"
stop_agg
check "no SIGBUS, nothing fatal" sh -c "! grep -qi 'sigbus\|fatal' \"$T/aggregator.log\""

# --- a stored snapshot that cannot be read back ---
cp "$DB" "$T/good.db"
sqlite3 "$DB" "update hosts set snapshot = x'c1c1c1c1' where name = 'h1'"
start_agg http
write_cli_conf
set +e
cli host h1 >"$T/host.out" 2>&1
rc=$?
cli host h1 --json >"$T/hostjson.out" 2>&1
rcj=$?
set -e
check_eq "host NAME with an unreadable snapshot exits 1" 1 "$rc"
check "and says so" grep -q "stored snapshot cannot be read" "$T/host.out"
check_eq "host NAME --json too" 1 "$rcj"
check "never an ok host" sh -c "! grep -q '\"ok\"' \"$T/hostjson.out\""
stop_agg

# --- a damaged page: the aggregator refuses to start ---
cp "$T/good.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
pages=$(sqlite3 "$DB" 'pragma page_count')
psize=$(sqlite3 "$DB" 'pragma page_size')
# the last page (data, not the schema the start reads): garbage
head -c "$psize" /dev/urandom | dd of="$DB" bs="$psize" seek=$((pages - 1)) conv=notrunc 2>/dev/null
set +e
timeout 60 "$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" --port-file "$T/port" >"$T/damaged.log" 2>&1
rc=$?
set -e
[ "$rc" = 1 ] || sed 's/^/# /' "$T/damaged.log" | head -40
check_eq "the aggregator refuses a damaged database" 1 "$rc"
check "and says what quick_check found" grep -q "damaged (PRAGMA quick_check: " "$T/damaged.log"
finish
