#!/usr/bin/env bash
# Issue 19.9: after the aggregator returns, a monitor must see again within
# seconds.  The agents' retry delay is capped at 30 s (SEND_BACKOFF_MAX_MS,
# full jitter), so after an outage of any length every agent delivers again
# within 30 s of the aggregator's return, plus one connection attempt
# (docs/DELIVERY.md).  Eight agents at a 1 s interval, the aggregator stopped
# for 45 s (long enough for the former cap of 300 s to leave agents waiting
# a minute or more) and restarted on the same port: each agent's first
# delivery after the return is timed.
# Issue 19.10: when no server answers, the agent names each one and why.
. "$(dirname "$0")/lib.sh"
need sqlite3

OUTAGE=45
BOUND=33 # 30 s cap + connection, TLS and the ack, with room for a loaded machine
N=8

hosts=
for i in $(seq 1 $N); do hosts="$hosts it-rc$i"; done
# shellcheck disable=SC2086
pki_dev $hosts
write_agg_conf

# --- every server named ---
PORT=1 # replaced below
write_agent_conf none it-rc1
P1=$((40000 + RANDOM % 10000))
P2=$((P1 + 1))
sed -i "s/^server = .*/server = 127.0.0.1:$P1, localhost:$P2/" "$T/none.conf"
set +e
"$BIN/ipcfleet-agent" -c "$T/none.conf" --once >"$T/none.log" 2>&1
rc=$?
set -e
check_eq "no server answers: --once exits 1" 1 "$rc"
check "... naming the first server and its reason" grep -q "127.0.0.1:$P1: cannot connect: Connection refused" "$T/none.log"
check "... and the second" grep -q "localhost:$P2: cannot connect: Connection refused" "$T/none.log"

# --- the fleet comes back ---
count() { sqlite3 "$T/ipcfleet.db" "select count(*) from received r join hosts h on h.id = r.host_id where h.name = '$1'" 2>/dev/null || echo 0; }
start_agg_fixed
for i in $(seq 1 $N); do
	write_agent_conf "a$i" "it-rc$i"
	sed -i 's/^interval = .*/interval = 1s/' "$T/a$i.conf"
	"$BIN/ipcfleet-agent" -c "$T/a$i.conf" -v >"$T/a$i.log" 2>&1 &
	eval "PID$i=$!"
done
ok=1
for i in $(seq 1 $N); do
	for _ in $(seq 1 100); do [ "$(count "it-rc$i")" -ge 2 ] && break; sleep 0.2; done
	[ "$(count "it-rc$i")" -ge 2 ] || ok=0
done
check "all $N agents deliver" test $ok = 1

stop_agg
sleep "$OUTAGE"
for i in $(seq 1 $N); do eval "BASE$i=$(count "it-rc$i")"; done
start_agg_fixed same
R=$(date +%s%N)
# each agent's first delivery after the return, in ms
left=$N
for _ in $(seq 1 $(((BOUND + 30) * 10))); do
	for i in $(seq 1 $N); do
		eval "d=\${DELAY$i:-}"
		[ -z "$d" ] || continue
		eval "b=\$BASE$i"
		if [ "$(count "it-rc$i")" -gt "$b" ]; then
			eval "DELAY$i=$((($(date +%s%N) - R) / 1000000))"
			left=$((left - 1))
		fi
	done
	[ $left = 0 ] && break
	sleep 0.1
done
max=0
all=
for i in $(seq 1 $N); do
	eval "d=\${DELAY$i:-999999}"
	all="$all $d"
	[ "$d" -gt "$max" ] && max=$d
done
echo "# first delivery after the return, ms:$all (max $max)"
check "every agent delivers within ${BOUND}s of the return (max ${max} ms)" test "$max" -le $((BOUND * 1000))
for i in $(seq 1 $N); do
	check "agent $i: its retry delay never exceeded 30 s" \
		test -z "$(sed -n 's/.*next try in \([0-9]*\)\..*/\1/p' "$T/a$i.log" | awk '$1 > 30')"
done
for i in $(seq 1 $N); do
	eval "p=\$PID$i"
	kill -TERM "$p"
	wait "$p" || true
done

finish
