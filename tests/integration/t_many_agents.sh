#!/usr/bin/env bash
# 2,000 concurrent agents (500 in a sanitizer build, below) from the load generator (real mutual TLS, a 3 KB
# snapshot of 40 objects every 20 s each, 100 snapshots/s in all), plus one
# peer that never reads its acks and one that sends one byte per second:
#   - nothing is lost: every acknowledged snapshot is in the store, and the
#     store holds exactly as many as were acknowledged;
#   - the aggregator's peak RSS stays within the bound of docs/DELIVERY.md;
#   - the two bad peers are cut off by their timeouts (write/idle timeout,
#     frame_timeout) while the others' acks keep flowing (ack latency p99).
# Limits (docs/DELIVERY.md, "Measured"): the bounds below have a margin of
# about 2x over what was measured; a sanitizer build gets its own RSS bound
# (shadow memory and the allocator's quarantine).
. "$(dirname "$0")/lib.sh"
need sqlite3

AGENTS=2000
INTERVAL=20
DURATION=90
# The bad peers start, and latency is measured, from here on: after the
# connection ramp (8 s; about 15 s in a sanitizer build).  The non-reader is
# cut once the acks it does not read fill the kernel's buffers and 8 KiB of
# ours, which takes 6 s here at the 40 snapshots/s it is read at, but took
# more than 35 s on a busier CI machine: it gets 60 s.
STEADY=30
IDLE=30         # idle_timeout: above the interval
FRAME=5         # frame_timeout; for agents also the write timeout
RSS_MAX_KB=$((160 * 1024))
RSS_MAX_KB_ASAN=$((1024 * 1024))
P99_MAX_MS=1000

# A sanitizer build makes the aggregator and the load generator (both
# instrumented) several times slower, and its 2,000 TLS handshakes alone
# then outlast the ramp on a busy 2-CPU machine: in CI beside stress-ng the
# ramp's late handshakes ran into the steady window (p99 5.5 s), and at a
# load average of 12 the 10 s connect timeouts made a reconnect storm. What
# the sanitizers check (memory and undefined behaviour on every path:
# handshakes, frames, acks, both bad peers, the drain) does not need 2,000,
# so a sanitizer build runs 500 agents at the same per-agent interval; the
# scale itself is the plain build's test.
# Its steady p99 bound is the agents' write timeout (FRAME) rather than 1 s:
# at a load average of 11 the instrumented pair gave p50 0.37 s, p99 2.8 s
# with every ack in time, and an ack within the timeout is what an agent
# needs; the plain build keeps the 1 s bound (measured 21 ms there).
if sanitized; then
	SANITIZED=1
	AGENTS=500
	P99_MAX_MS=$((FRAME * 1000))
else
	SANITIZED=0
fi

# descriptors: 2,000 connections on each side, plus the two bad peers
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge $((AGENTS + 200)) ] ||
	skip "needs ulimit -n >= $((AGENTS + 200)) (have $(ulimit -n))"

pki_dev it-many
write_agg_conf
sed -i "/^\[server\]/a max_connections = 5000\nhandshake_timeout = 30\nidle_timeout = $IDLE\nframe_timeout = $FRAME" \
	"$T/aggregator.conf"
start_agg

start=$(date +%s)
set +e
"$BIN/ipcfleet-loadgen" --ca-cert "$T/pki/ca.crt" --ca-key "$T/pki/ca.key" \
	--server "localhost:$PORT" --agents $AGENTS --interval $INTERVAL --duration $DURATION \
	--connect-rate 250 --drain 60 --slow-reader 1 --trickle 1 --steady-after $STEADY \
	--progress 5 --prefix many \
	--log-acks "$T/acks" >"$T/loadgen.out" 2>"$T/loadgen.err"
rc=$?
set -e
elapsed=$(($(date +%s) - start))
check_eq "load generator exits 0" 0 "$rc"
sed 's/^/# /' "$T/loadgen.out"

val() { sed -n "s/^$1=\([0-9.]*\) .*/\1/p" "$T/loadgen.out"; }
# integer part of a decimal figure
int() { echo "${1%%.*}"; }

hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$AGG_PID/status")
echo "# aggregator VmHWM ${hwm} kB after ${elapsed}s"
check "aggregator still running" kill -0 "$AGG_PID"

# nothing lost
taken=$(val snapshots_taken)
acked=$(val snapshots_acked)
check "all $AGENTS agents connected" test "$(val connections)" -ge $((AGENTS + 2))
check_eq "no protocol error" 0 "$(val errors)"
[ "$(val errors)" = 0 ] || {
	echo "# the load generator's first errors:"
	grep -Ev ' t=[0-9]+s open=|connect failed' "$T/loadgen.err" | head -8 | sed 's/^/#   /'
}
check_eq "every snapshot taken was acknowledged" "$taken" "$acked"
check_eq "nothing left unacknowledged" 0 "$(val snapshots_unacked)"
check "a realistic volume ($acked snapshots)" test "$acked" -ge $((AGENTS * DURATION / INTERVAL - AGENTS))
sort "$T/acks" >"$T/acked"
sqlite3 -separator ' ' "$T/ipcfleet.db" \
	"select h.name, r.seq from received r join hosts h on h.id = r.host_id
	 where h.name glob 'many-[0-9]*'" | sort >"$T/stored"
check_eq "every acknowledged snapshot is stored" 0 "$(comm -13 "$T/stored" "$T/acked" | wc -l)"
check_eq "the store holds exactly the acknowledged ones" "$acked" "$(wc -l <"$T/stored")"

# memory
if [ "$SANITIZED" = 1 ]; then
	check "aggregator peak RSS ${hwm} kB <= ${RSS_MAX_KB_ASAN} kB (sanitizer build)" \
		test "$hwm" -le "$RSS_MAX_KB_ASAN"
else
	check "aggregator peak RSS ${hwm} kB <= ${RSS_MAX_KB} kB" test "$hwm" -le "$RSS_MAX_KB"
fi

# the bad peers are cut off, the others are not slowed
check_eq "the peer that does not read was cut off" 1 "$(val slow_reader_cut)"
[ "$(val slow_reader_cut)" = 1 ] || {
	echo "# what the aggregator logged about it, and the load generator's last lines:"
	grep "many-slow" "$T/aggregator.log" | tail -5 | sed 's/^/#   /'
	tail -5 "$T/loadgen.err" | sed 's/^/#   /'
}
check "... by its write timeout ($(val slow_reader_cut_after_max)s)" \
	test "$(int "$(val slow_reader_cut_after_max)")" -le $((DURATION - STEADY - 5))
check_eq "the one-byte-a-second peer was cut off" 1 "$(val trickle_cut)"
check "... by frame_timeout ($(val trickle_cut_after_max)s)" \
	test "$(int "$(val trickle_cut_after_max)")" -le $((FRAME + 5))
check "the aggregator logged the partial-frame timeout" \
	grep -q "many-trickle-0001.*timed out in state agent" "$T/aggregator.log"
check "and the one that does not read" grep -Eq "many-slow-0001.*(write timeout|timed out)" "$T/aggregator.log"
# measured from $STEADY s on, after the ramp (2,000 TLS handshakes are the
# aggregator's costliest work), while the bad peers are at it
check "ack latency p99 $(val ack_latency_steady_p99) ms <= $P99_MAX_MS ms" \
	test "$(int "$(val ack_latency_steady_p99)")" -le "$P99_MAX_MS"
check "acks keep flowing at the offered rate ($(val acks_per_s_steady)/s of $((AGENTS / INTERVAL))/s)" \
	test "$(int "$(val acks_per_s_steady)")" -ge $((AGENTS * 9 / INTERVAL / 10))

# and it still stops cleanly, promptly
t0=$(date +%s%N)
kill -TERM "$AGG_PID"
set +e
wait "$AGG_PID"
rc=$?
set -e
AGG_PID=
check_eq "aggregator exits 0 on SIGTERM" 0 "$rc"
ms=$((($(date +%s%N) - t0) / 1000000))
check "... within the drain bound (${ms} ms)" test "$ms" -le 7000

finish
