#!/usr/bin/env bash
# Scale-out: two aggregators sharing one PostgreSQL database
# (docs/SCALE-OUT.md).  A throwaway cluster owned by the `postgres` system
# user, on a unix socket in a private directory, started and stopped here.
#   - the store's unit tests run against it (tests/unit/test_store_pg.c);
#   - aggregators A and B on one database; agents push to each; a snapshot
#     stored through A and resent to B is acknowledged there as a duplicate;
#   - an agent listing both (server = A, B) at a 1 s interval: A is killed
#     with SIGKILL, the agent fails over to B; the database restarts under
#     B; A comes back;
#   - the same answers through either aggregator (hosts, host, alerts,
#     trend), nothing lost (every sequence an agent logged as acknowledged is
#     in `received`, without holes), nothing stored twice.
. "$(dirname "$0")/lib.sh"
need jq
. "$(dirname "$0")/../lib-pg.sh"
why=$(pg_cluster_check) || skip "$why"
UNIT="$BIN/../tests/test_store_pg"
[ -x "$UNIT" ] || skip "built without libpq: no PostgreSQL backend"

# ---- the cluster (fsync off: the test measures no speed) ----
AGG_A=''
AGG_B=''
FO=''
on_exit() {
	for p in $FO $AGG_A $AGG_B; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pg_cluster_remove
	cleanup
}
trap on_exit EXIT

pg_cluster_init "-c fsync=off"
pg "$PGBIN/createdb" -h "$PGDIR" -p "$PGPORT" unit
pg_db ipcfleet
check_eq "throwaway cluster answers ($PGBIN, socket in $PGDIR)" 1 "$(psql_q 'SELECT 1')"

# ---- the store's unit tests, against the real server ----
if IPCFLEET_PG_URL="$(pg_url unit)" "$UNIT" \
	>"$T/unit.log" 2>&1; then
	pass "test_store_pg: $(grep -c '^\[       OK' "$T/unit.log") store tests against PostgreSQL"
else
	sed 's/^/# /' "$T/unit.log"
	fail "test_store_pg"
fi

# ---- two aggregators on one database ----
pki_dev it-pg-a it-pg-b it-pg-fo it-pg-ancient
# start_pg_agg NAME: aggregator NAME (a or b) on a port of its own; sets PORT_NAME, AGG_NAME
start_pg_agg() {
	local n=$1 pid
	cat >"$T/agg-$n.conf" <<CONF
[server]
listen = 127.0.0.1:0
cert = $T/pki/localhost.crt
key = $T/pki/localhost.key
ca = $T/pki/ca.crt
admins = admin
[storage]
backend = postgresql
url = $URL
[analysis]
check_interval = 1s
stale_grace = 0
CONF
	rm -f "$T/port-$n"
	"$BIN/ipcfleet-aggregator" -c "$T/agg-$n.conf" --port-file "$T/port-$n" -v \
		>>"$T/agg-$n.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do
		[ -s "$T/port-$n" ] && break
		kill -0 "$pid" 2>/dev/null || { sed 's/^/# /' "$T/agg-$n.log"; return 1; }
		sleep 0.05
	done
	[ -s "$T/port-$n" ] || return 1
	eval "PORT_$n=\$(cat \"\$T/port-$n\")"
	eval "AGG_$n=$pid"
}
start_pg_agg A
start_pg_agg B
check "two aggregators started on one database (ports $PORT_A, $PORT_B)" \
	test -n "$PORT_A" -a -n "$PORT_B"
check_eq "schema version 4 recorded once" 4 "$(psql_q "SELECT value FROM meta WHERE key = 'schema_version'")"

# agent_conf NAME CN SERVERS [INTERVAL]
agent_conf() {
	cat >"$T/$1.conf" <<CONF
[agent]
server = $3
cert = $T/pki/$2.crt
key = $T/pki/$2.key
ca = $T/pki/ca.crt
interval = ${4:-60s}
spool = $T/spool-$1
CONF
}
LINUX="linux-root:$SRC/tests/fixtures/linux-modern"
SORTHAT="freebsd-capture:$SRC/tests/fixtures/freebsd-11-sorthat"
once() { "$BIN/ipcfleet-agent" -c "$T/$1.conf" --source "$2" --once >>"$T/$1.log" 2>&1; }

# it-pg-a: snapshot 1 spooled while no aggregator answers; a copy is kept
agent_conf a it-pg-a "localhost:1"
set +e
once a "$LINUX"
rc=$?
set -e
check_eq "agent a: --once without an aggregator exits 1" 1 "$rc"
SNAP1="$T/spool-a/00000000000000000001.snap"
check "agent a: snapshot 1 spooled" test -f "$SNAP1"
cp -p "$SNAP1" "$T/seq1.copy"
# ... delivered to A with snapshot 2
agent_conf a it-pg-a "localhost:$PORT_A"
check "agent a: snapshots 1 and 2 delivered to A" once a "$LINUX"
# ... and snapshot 1 sent again, to B, with snapshot 3: B knows it is a duplicate
cp -p "$T/seq1.copy" "$SNAP1"
agent_conf a it-pg-a "localhost:$PORT_B"
check "agent a: resent snapshot 1 and snapshot 3 acknowledged by B" once a "$LINUX"
check_eq "agent a: spool empty" 0 "$(find "$T/spool-a" -name '*.snap' | wc -l)"
check "B recognised the snapshot A stored as a duplicate" \
	grep -q "it-pg-a.*snapshot 1 was a duplicate" "$T/agg-B.log"

# it-pg-b: a FreeBSD capture, to B then A
agent_conf b it-pg-b "localhost:$PORT_B"
check "agent b: delivered to B" once b "$SORTHAT"
agent_conf b it-pg-b "localhost:$PORT_A"
check "agent b: delivered to A" once b "$SORTHAT"

# a snapshot dated -2^63: its hour was computed with a signed overflow and
# PostgreSQL refused the whole batch ("bigint out of range"), every other
# agent's snapshots in it too; now filed at its arrival and acknowledged
"$BIN/ipcfleet-hostile" --server "localhost:$PORT_A" --cert "$T/pki/it-pg-ancient.crt" \
	--key "$T/pki/it-pg-ancient.key" --ca "$T/pki/ca.crt" time-ancient >"$T/ancient.out"
check "a snapshot dated -2^63 is acknowledged" grep -Eqx "time-ancient: ack [0-9]+" "$T/ancient.out"
check "... and A's commits did not fail" sh -c "! grep -q 'bigint out of range' \"$T/agg-A.log\""

# ---- fail-over: it-pg-fo lists both, at 1 s ----
agent_conf fo it-pg-fo "localhost:$PORT_A, localhost:$PORT_B" 1s
"$BIN/ipcfleet-agent" -c "$T/fo.conf" --source "$LINUX" -v >"$T/fo.log" 2>&1 &
FO=$!
acked() { grep -c "snapshot [0-9]* acknowledged" "$T/fo.log" || true; }
for _ in $(seq 1 300); do [ "$(acked)" -ge 4 ] && break; sleep 0.1; done
check "agent fo delivers to A" grep -q "it-pg-fo" "$T/agg-A.log"
check "agent fo: 4 snapshots acknowledged before the kill" test "$(acked)" -ge 4
kill -9 "$AGG_A"
wait "$AGG_A" 2>/dev/null || true
AGG_A=
before=$(acked)
for _ in $(seq 1 300); do [ "$(acked)" -ge $((before + 4)) ] && break; sleep 0.1; done
check "agent fo failed over to B" grep -q "failed over to localhost:$PORT_B" "$T/fo.log"
check "agent fo: 4 more acknowledged by B" test "$(acked)" -ge $((before + 4))
check "B stores agent fo's snapshots" grep -q "it-pg-fo.*snapshot [0-9]* stored" "$T/agg-B.log"

# the database restarts under B: B reconnects, the agent resends what was not acknowledged
pg_cluster_stop fast
sleep 1.5
pg_cluster_start
before=$(acked)
for _ in $(seq 1 450); do [ "$(acked)" -ge $((before + 3)) ] && break; sleep 0.1; done
check "agent fo: delivering again after the database restart" test "$(acked)" -ge $((before + 3))
check "B survived the database restart" kill -0 "$AGG_B"

# A comes back on a new port; the agent stops (SIGTERM) with its spool empty
start_pg_agg A
check "A restarted on the same database" kill -0 "$AGG_A"
sleep 1
kill -TERM "$FO"
set +e
wait "$FO"
rc=$?
set -e
FO=
check_eq "agent fo exits 0 on SIGTERM" 0 "$rc"
# what SIGTERM left unacknowledged goes now, with one more snapshot
check "agent fo: --once delivers the rest" \
	sh -c "\"\$1\" -c \"\$2\" --source \"\$3\" --once -v >>\"\$4\" 2>&1" _ \
	"$BIN/ipcfleet-agent" "$T/fo.conf" "$LINUX" "$T/fo.log"
check_eq "agent fo: spool empty" 0 "$(find "$T/spool-fo" -name '*.snap' | wc -l)"
N=$(cat "$T/spool-fo/seq")

# ---- nothing lost, nothing stored twice ----
seqs() { psql_q "SELECT r.seq FROM received r JOIN hosts h ON h.id = r.host_id WHERE h.name = '$1' ORDER BY r.seq" | tr '\n' ' ' | sed 's/ $//'; }
check_eq "it-pg-a: sequences 1 2 3, each once" "1 2 3" "$(seqs it-pg-a)"
check_eq "it-pg-b: sequences 1 2" "1 2" "$(seqs it-pg-b)"
# comm wants both lists in the same (lexical) order
sed -n 's/.*snapshot \([0-9]*\) acknowledged.*/\1/p' "$T/fo.log" | sort -u >"$T/fo.acked"
seqs it-pg-fo | tr ' ' '\n' | sort >"$T/fo.stored"
check_eq "agent fo: every acknowledged sequence is stored" "" \
	"$(comm -23 "$T/fo.acked" "$T/fo.stored" | tr '\n' ' ')"
check_eq "agent fo: sequences 1..$N stored, no hole" "1 $N $N" \
	"$(psql_q "SELECT min(r.seq), max(r.seq), count(DISTINCT r.seq) FROM received r JOIN hosts h ON h.id = r.host_id WHERE h.name = 'it-pg-fo'" | tr '|' ' ')"
check_eq "no (host, seq) stored twice" "" \
	"$(psql_q 'SELECT host_id, seq, count(*) FROM received GROUP BY host_id, seq HAVING count(*) > 1')"
check_eq "samples: none twice" "" \
	"$(psql_q 'SELECT host_id, limit_name, t FROM samples GROUP BY 1, 2, 3 HAVING count(*) > 1')"
check_eq "four host rows (it-pg-ancient too)" "4" "$(psql_q 'SELECT count(*) FROM hosts')"
check_eq "no finding open twice" "" \
	"$(psql_q 'SELECT host_id, fkey FROM findings WHERE closed IS NULL GROUP BY 1, 2 HAVING count(*) > 1')"
check_eq "latest state is the newest sequence" "$N" \
	"$(psql_q "SELECT last_seq FROM hosts WHERE name = 'it-pg-fo'")"
dups=$(cat "$T/agg-A.log" "$T/agg-B.log" | grep -c "snapshot [0-9]* was a duplicate" || true)
echo "# duplicates acknowledged by the aggregators: $dups"
check "duplicates were acknowledged (at least the resent snapshot 1)" test "$dups" -ge 1
# storage errors are allowed only while the database was down
storage_errors() {
	grep -E 'failed: |housekeeping: |stale check: ' "$1" |
		grep -v 'connection to the database lost' || true
}
check_eq "A logged no storage error" "" "$(storage_errors "$T/agg-A.log")"
check_eq "B logged no storage error but while the database restarted" "" \
	"$(storage_errors "$T/agg-B.log")"
check "B said why it could not use the database during the restart" \
	grep -q ": postgresql://.*: connection to the database lost" "$T/agg-B.log"

# ---- the same answers through either aggregator ----
cat >"$T/cli.conf" <<CONF
[cli]
server = localhost:$PORT_A
cert = $T/pki/admin.crt
key = $T/pki/admin.key
ca = $T/pki/ca.crt
CONF
q() { local port=$1; shift; "$BIN/ipcfleet" --config "$T/cli.conf" --server "localhost:$port" "$@"; }
# Agent fo is silent now: after 3 intervals (3 s) both aggregators' ticks
# find it stale, and one of them opens the finding (the other, serialized by
# the host's row lock, finds it open).  Then nothing changes any more.
stale_open() {
	psql_q "SELECT count(*) FROM findings f JOIN hosts h ON h.id = f.host_id
		WHERE h.name = 'it-pg-fo' AND f.kind = 'stale' AND f.closed IS NULL"
}
for _ in $(seq 1 300); do [ "$(stale_open)" -ge 1 ] && break; sleep 0.1; done
sleep 2
check_eq "it-pg-fo went stale: one open finding" 1 "$(stale_open)"
# (it may have gone stale before too, while it failed over: each time is a
# row, opened and closed once, by one aggregator or the other)
stale_rows() {
	psql_q "SELECT count(*) FROM findings f JOIN hosts h ON h.id = f.host_id
		WHERE h.name = 'it-pg-fo' AND f.kind = 'stale' ${1:-}"
}
logged() { cat "$T/agg-A.log" "$T/agg-B.log" | grep -c "host it-pg-fo: finding $1: warn stale" || true; }
check_eq "each stale finding reported opened once, by one aggregator" "$(stale_rows)" "$(logged opened)"
check_eq "each closed one reported closed once" "$(stale_rows 'AND f.closed IS NOT NULL')" \
	"$(logged closed)"
check_eq "still no finding open twice" "" \
	"$(psql_q 'SELECT host_id, fkey FROM findings WHERE closed IS NULL GROUP BY 1, 2 HAVING count(*) > 1')"
for cmd in "hosts --json" "host it-pg-a --json" "host it-pg-b --json" "host it-pg-fo --json" \
	"alerts --json" "trend it-pg-fo semmns --csv --since 1h"; do
	# shellcheck disable=SC2086
	q "$PORT_A" $cmd >"$T/ans-A" 2>&1 || echo "exit $?" >>"$T/ans-A"
	# shellcheck disable=SC2086
	q "$PORT_B" $cmd >"$T/ans-B" 2>&1 || echo "exit $?" >>"$T/ans-B"
	case $cmd in
	*--json)
		if jq -S . "$T/ans-A" >"$T/norm-A" 2>/dev/null &&
			jq -S . "$T/ans-B" >"$T/norm-B" 2>/dev/null && [ -s "$T/norm-A" ]; then
			check "A and B answer '$cmd' alike" cmp -s "$T/norm-A" "$T/norm-B"
		else
			fail "'$cmd': not JSON: $(head -c 200 "$T/ans-A")"
		fi
		;;
	*) check "A and B answer '$cmd' alike" cmp -s "$T/ans-A" "$T/ans-B" ;;
	esac
done
jqt() { jq -e "$@" >/dev/null; }
q "$PORT_B" hosts --json >"$T/hosts.json"
# in pages (the cursor's WHERE name > $1 ... LIMIT $2): the same rows
q "$PORT_B" hosts --json --page 1 >"$T/hosts-p1.json"
check "hosts in pages of 1: the same as all at once" cmp -s "$T/hosts.json" "$T/hosts-p1.json"
q "$PORT_B" hosts --json --page 2 >"$T/hosts-p2.json"
check "hosts in pages of 2: the same as all at once" cmp -s "$T/hosts.json" "$T/hosts-p2.json"
check_eq "hosts: the four hosts" "it-pg-a it-pg-ancient it-pg-b it-pg-fo" "$(jq -r '[.[].host] | join(" ")' "$T/hosts.json")"
check_eq "it-pg-fo is stale" "stale" "$(jq -r '.[] | select(.host == "it-pg-fo") | .status' "$T/hosts.json")"
check_eq "it-pg-b is the FreeBSD capture" "FreeBSD" "$(jq -r '.[] | select(.host == "it-pg-b") | .os' "$T/hosts.json")"
check "it-pg-fo has usage" jqt '.[] | select(.host == "it-pg-fo") | .usage.semmns.limit > 0' "$T/hosts.json"
q "$PORT_A" alerts --json >"$T/alerts.json"
check "alerts: it-pg-b's restart_headroom finding" \
	jqt 'any(.[]; .host == "it-pg-b" and .kind == "restart_headroom")' "$T/alerts.json"
check_eq "alerts: every open finding of the database" \
	"$(psql_q 'SELECT count(*) FROM findings WHERE closed IS NULL')" "$(jq length "$T/alerts.json")"
check_eq "trend: one row per stored sample of fo" \
	"$(psql_q "SELECT count(*) FROM samples s JOIN hosts h ON h.id = s.host_id WHERE h.name = 'it-pg-fo' AND s.limit_name = 'semmns'")" \
	"$(q "$PORT_A" trend it-pg-fo semmns --csv --since 1h | grep -c '^[0-9]')"

finish
