#!/usr/bin/env bash
# Crash: the aggregator is killed with SIGKILL five times while the load
# generator pushes snapshots from several agents (mutual TLS, one ack each).
# After each restart every snapshot acknowledged before the kill is in the
# store; at the end every acknowledged snapshot is stored exactly once, and
# nothing the agents took is missing (they resend what was not acknowledged;
# the aggregator recognises what it had already stored).
. "$(dirname "$0")/lib.sh"
need sqlite3

AGENTS=12
KILLS=5

pki_dev it-crash
write_agg_conf

# "host seq" of every stored snapshot of the load generator's agents, sorted
store_pairs() {
	sqlite3 -separator ' ' "$T/ipcfleet.db" \
		"select h.name, r.seq from received r join hosts h on h.id = r.host_id" | sort
}
# complete lines of the ack log, sorted
acked_pairs() {
	local n
	n=$(wc -l <"$T/acks")
	head -n "$n" "$T/acks" | sort
}

start_agg_fixed
start_loadgen acks "$FIXED_PORT" "$AGENTS" 0.5 $((KILLS * 2 + 4)) 60 crash

prev=0
for k in $(seq 1 $KILLS); do
	# kill only once this life of the aggregator has acknowledged something,
	# so that each round tests acknowledged snapshots, not an empty list
	for _ in $(seq 1 300); do
		[ "$(wc -l <"$T/acks" 2>/dev/null || echo 0)" -gt "$prev" ] && break
		sleep 0.1
	done
	sleep 1
	kill -KILL "$AGG_PID"
	wait "$AGG_PID" 2>/dev/null || true
	AGG_PID=
	acked_pairs >"$T/acked.$k"
	check "kill $k: snapshots were acknowledged before it ($(wc -l <"$T/acked.$k") in all)" \
		test "$(wc -l <"$T/acked.$k")" -gt "$prev"
	prev=$(wc -l <"$T/acked.$k")
	start_agg_fixed same
	lost=$(store_pairs | comm -13 - "$T/acked.$k" | wc -l)
	check_eq "kill $k: all $(wc -l <"$T/acked.$k") acknowledged snapshots are stored" 0 "$lost"
done

set +e
wait "$LG"
rc=$?
set -e
check_eq "load generator exits 0" 0 "$rc"
taken=$(lg_val snapshots_taken)
acked=$(lg_val snapshots_acked)
check "the load generator reported its counts (taken $taken, acked $acked)" \
	test -n "$taken" -a -n "$acked" -a "${taken:-0}" -gt 0
check "the load generator saw the crashes (reconnects: $(lg_val reconnects))" test "$(lg_val reconnects)" -gt 0
check_eq "every snapshot taken was acknowledged in the end" "$taken" "$acked"
check_eq "no snapshot left unacknowledged" 0 "$(lg_val snapshots_unacked)"
check_eq "no protocol error" 0 "$(lg_val errors)"
acked_pairs >"$T/acked.all"
check_eq "the ack log has one line per ack, none twice" "$acked" "$(uniq "$T/acked.all" | wc -l)"
check_eq "every acknowledged snapshot is stored" 0 "$(store_pairs | comm -13 - "$T/acked.all" | wc -l)"
check_eq "and the store holds nothing else (count exact)" "$acked" "$(store_pairs | wc -l)"
echo "# resent and recognised as duplicates: $(grep -c 'was a duplicate' "$T/aggregator.log" || true)"

finish
