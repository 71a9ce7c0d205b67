#!/usr/bin/env bash
# One frozen aggregator must not stall another on PostgreSQL (issue 19,
# item 3).  Aggregators A and B on one database.  A is busy (20 simulated
# agents every 0.1 s, hosts sh-*); B serves 10 hosts of its own (bo-*) and
# two hosts A also serves (sh-0001, sh-0002).  A is stopped (SIGSTOP) while
# its batch transaction is open, holding host rows (made so, not hoped for:
# see below), for 30 s.  B's own
# hosts are acknowledged throughout (every 2 s window has acks: a batch waits
# 1 s at most for a row, then goes on without that host), and the shared
# hosts within 20 s (the server ends A's session after 10 s idle in its
# transaction).  Every acknowledged snapshot of B's is stored.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../lib-pg.sh"
why=$(pg_cluster_check) || skip "$why"
[ -x "$BIN/../tests/test_store_pg" ] || skip "built without libpq: no PostgreSQL backend"

PIDS=''
on_exit() {
	for p in $PIDS; do kill -CONT "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pg_cluster_remove
	cleanup
}
trap on_exit EXIT
pg_cluster_init "-c fsync=off"
pg_db ipcfleet

pki_dev fz1
start_pg_agg() {
	local n=$1 pid
	write_agg_conf
	mv "$T/aggregator.conf" "$T/agg-$n.conf"
	agg_conf_pg "$T/agg-$n.conf"
	"$BIN/ipcfleet-aggregator" -c "$T/agg-$n.conf" --port-file "$T/port-$n" \
		>>"$T/agg-$n.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	for _ in $(seq 1 200); do [ -s "$T/port-$n" ] && break; sleep 0.05; done
	[ -s "$T/port-$n" ] || { cat "$T/agg-$n.log"; return 1; }
	eval "AGG_$n=$pid"
}
start_pg_agg A
start_pg_agg B
# The load generators run until the test ends (on_exit stops them): with a
# fixed 60 s, a slow start on a busy machine (the wait below, the freeze
# loop) left A's generator past its last snapshot by the time A was
# continued, and "A delivers again" waited for acks that could not come.
lg() { # PREFIX AGENTS INTERVAL PORT-FILE ACKS
	start_loadgen "$5" "$(cat "$T/port-$4")" "$2" "$3" 600 30 "$1"
	PIDS="$PIDS $LG"
}
lg sh 20 0.1 A acks-a
lg bo 10 0.5 B acks-bo
lg sh 2 0.5 B acks-sh
acks() { { wc -l <"$T/$1"; } 2>/dev/null || echo 0; }
for _ in $(seq 1 300); do
	[ "$(acks acks-bo)" -ge 50 ] && [ "$(acks acks-sh)" -ge 10 ] && [ "$(acks acks-a)" -ge 200 ] && break
	sleep 0.1
done
check "all deliver before (A $(acks acks-a), B own $(acks acks-bo), B shared $(acks acks-sh))" \
	test "$(acks acks-bo)" -ge 50 -a "$(acks acks-sh)" -ge 10

# Stop A inside its batch transaction, holding the shared hosts' rows.
# Not by luck (a stop at a random moment rarely lands in a transaction that
# lasts milliseconds, and a batch formed in a few milliseconds rarely holds
# the two rows): one psql request (no round trips between its statements)
# locks the `received` table three times, 0.8 s, 0.9 s and 0.9 s.
#   1. A's batch waits on the table; A's loop with it, and A's agents'
#      snapshots pile up unread.
#   2. A reads the pile and hands it to its decoder thread; its next batch is
#      what the thread had decoded by then (a few hosts, fewer on a slow
#      machine: that is how this test once failed ten tries in a row) and
#      waits on the table, while the thread decodes the rest.
#   3. A's next batch is the rest, every host: it locks their rows in name
#      order (sh-0001, sh-0002 first) and waits on the table inside its
#      transaction. A is stopped during this lock, which then goes: A's
#      server session runs what A had sent and waits on A, holding the rows.
# B's batches wait on the table too, each time for less than their 1 s
# lock_timeout; should one wait longer (a busy machine), B sets one host
# aside and its agent sends again: before the windows counted below. A try
# that stops A in another batch is seen (the rows are free) and made again.
#
# held_by_stopped NAME: NAME's row cannot be locked within 2 s. Only a
# stopped session holds a host row that long (a running aggregator's
# transaction lasts milliseconds, or 1 s waiting for a row); a failure of
# any other kind (psql cannot connect) is not taken for a hold.
held_by_stopped() {
	local out
	out=$("$PGBIN/psql" -X -A -t -q "$URL" -v ON_ERROR_STOP=1 2>&1 <<-SQL
		BEGIN;
		SET LOCAL lock_timeout = '2s';
		SELECT id FROM hosts WHERE name = '$1' FOR UPDATE;
		ROLLBACK;
	SQL
	) && return 1
	case $out in *"lock timeout"*) return 0 ;; esac
	echo "# probe of $1: $out"
	return 1
}
third_lock() {
	[ "$(psql_q "SELECT count(*) FROM pg_stat_activity
		WHERE application_name = 'ipcfleet-test-lock3' AND wait_event = 'PgSleep'")" = 1 ]
}
locks='BEGIN; LOCK TABLE received IN EXCLUSIVE MODE; SELECT pg_sleep(0.8); COMMIT;
BEGIN; LOCK TABLE received IN EXCLUSIVE MODE; SELECT pg_sleep(0.9); COMMIT;
BEGIN; LOCK TABLE received IN EXCLUSIVE MODE;
SET LOCAL application_name = '"'ipcfleet-test-lock3'"'; SELECT pg_sleep(0.9); COMMIT;'
frozen=0
for try in $(seq 1 10); do
	"$PGBIN/psql" -X -A -t -q "$URL" -c "$locks" >/dev/null 2>&1 &
	holder=$!
	wait_for 20 third_lock
	sleep 0.3
	kill -STOP "$AGG_A"
	# what the aggregators' sessions were doing when A stopped: for a try
	# that misses, to tell why
	seen=$(psql_q "SELECT string_agg(coalesce(state, '?') || '/' ||
		coalesce(wait_event_type, '-') || '/' ||
		coalesce(backend_xid::text, '-'), ' ') FROM pg_stat_activity
		WHERE application_name = 'ipcfleet-aggregator'")
	rows=$(psql_q "SELECT string_agg(name || '/' || xmax::text, ' ' ORDER BY name)
		FROM hosts WHERE name IN ('sh-0001', 'sh-0002')")
	wait "$holder" || true
	a1=0 a2=0
	held_by_stopped sh-0001 && a1=1
	held_by_stopped sh-0002 && a2=1
	if [ "$a1$a2" = 11 ]; then
		frozen=1
		echo "# A stopped holding both shared hosts' rows on try $try"
		break
	fi
	echo "# try $try: A stopped holding sh-0001: $a1, sh-0002: $a2" \
		"(sessions state/wait/xid: $seen; rows name/xmax: $rows); again"
	kill -CONT "$AGG_A"
	sleep 1
done
check "A stopped with its batch transaction open, holding the shared hosts" test "$frozen" = 1
t0=$(date +%s)
sh0=$(acks acks-sh)
sh_ms=
windows_empty=0
for w in $(seq 1 15); do
	b=$(acks acks-bo)
	sleep 2
	[ "$(acks acks-bo)" -gt "$b" ] || windows_empty=$((windows_empty + 1))
	[ -z "$sh_ms" ] && [ "$(acks acks-sh)" -gt "$sh0" ] && sh_ms=$(($(date +%s) - t0))
done
echo "# during A's 30 s stop: $windows_empty of 15 two-second windows without an ack of B's own hosts; shared hosts acked again after ${sh_ms:-never} s"
check_eq "B's own hosts acknowledged in every 2 s window" 0 "$windows_empty"
check "the shared hosts acknowledged by B again within 20 s (${sh_ms:-never} s)" \
	test -n "$sh_ms" -a "${sh_ms:-99}" -le 20
check "B set the shared hosts aside while A held their rows" \
	grep -q "sh-000[12]: host row held by another aggregator" "$T/agg-B.log"
kill -CONT "$AGG_A"
sleep 5
a0=$(acks acks-a)
# A's database session was ended (idle_in_transaction_session_timeout): A
# reconnects (at most 5 s), its agents retry within their 30 s cap
# (docs/DELIVERY.md, "Back within 30 s"); on a busy machine, give it 60 s
a_again() { [ "$(acks acks-a)" -gt "$a0" ]; }
check "A delivers again after SIGCONT" wait_for 60 a_again

# A session stopped in the middle of a pipeline (statements executed, the
# rest and its Sync not yet sent) is not "idle in transaction" for the
# server, and its timeout never ends it. A session of our application
# name that holds the shared hosts' rows inside a transaction, with no
# idle timeout of its own, stands for it: the aggregators end it after
# 10 s waiting on its client (pg_reap_stuck), and B acks those hosts again.
( echo "BEGIN; SELECT id FROM hosts WHERE name IN ('sh-0001', 'sh-0002') FOR UPDATE;"
	sleep 90 ) | PGAPPNAME=ipcfleet-aggregator "$PGBIN/psql" -X -q "$URL" >/dev/null 2>&1 &
PIDS="$PIDS $!"
held() { held_by_stopped sh-0001; }
check "a stuck session of ours holds the shared hosts" wait_for 20 held
sh1=$(acks acks-sh)
t1=$(date +%s)
sh_more() { [ "$(acks acks-sh)" -gt "$sh1" ]; }
check "B acks the shared hosts again once it is ended (10 s stuck, then B's retries)" \
	wait_for 40 sh_more
echo "# shared hosts acked again $(($(date +%s) - t1)) s after the stuck session took their rows"
check "an aggregator logged ending it" \
	grep -q "ended 1 session(s) of another aggregator, inside a transaction and waiting on its client" \
	"$T/agg-A.log" "$T/agg-B.log"

for f in acks-bo acks-sh; do
	n=$(wc -l <"$T/$f")
	head -n "$n" "$T/$f"
done | sort -u >"$T/acked-b"
psql_q "SELECT h.name || ' ' || r.seq FROM received r JOIN hosts h ON h.id = r.host_id" | sort >"$T/stored"
check_eq "every snapshot B acknowledged is stored ($(wc -l <"$T/acked-b"))" 0 \
	"$(comm -13 "$T/stored" "$T/acked-b" | wc -l)"
finish
