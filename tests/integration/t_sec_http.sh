#!/usr/bin/env bash
# Security (issue 18, docs/SECURITY.md, "The HTTP endpoint"): a slowloris
# against /metrics while the aggregator runs with only 64 descriptors and an
# agent keeps delivering.  No certificate is needed for this attack.
#   - one slow client, trickling a header byte every second, is cut by the
#     whole-request deadline (10 s), not kept for hours;
#   - 300 of them at once (ipcfleet-slowloris): HTTP holds at most 8
#     descriptors and never the last quarter, so the TLS listener keeps
#     accepting and the agent delivers every time; the aggregator does not
#     spin (its CPU time stays far below the wall time) and its log stays
#     small (repeated lines are limited);
#   - afterwards /metrics and /healthz answer, and promtool takes the page,
#     even with a host row stored (by an older aggregator) with a release
#     that is not UTF-8: label values are written cleaned.
. "$(dirname "$0")/lib.sh"
need curl
need promtool
need sqlite3
[ -x "$BIN/ipcfleet-slowloris" ] || {
	echo "not ok - $BIN/ipcfleet-slowloris is not built (tests/hostile)"
	exit 1
}

NOFILE=64
FLOOD=300      # slow connections at once
FLOOD_S=15     # seconds of flood
CPU_SHARE=20   # percent of the wall time the aggregator may use meanwhile
LOG_MAX=65536  # bytes the log may grow by meanwhile

pki_dev good
write_agg_conf "[http]" "listen = 127.0.0.1:0"
rm -f "$T/port" "$T/hport"
# both the soft and the hard limit: the aggregator cannot raise it
(
	ulimit -n "$NOFILE"
	exec "$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" --port-file "$T/port" \
		--http-port-file "$T/hport" >>"$T/aggregator.log" 2>&1
) &
AGG_PID=$!
for _ in $(seq 1 100); do
	[ -s "$T/port" ] && [ -s "$T/hport" ] && break
	kill -0 "$AGG_PID" 2>/dev/null || { cat "$T/aggregator.log"; exit 1; }
	sleep 0.05
done
PORT=$(cat "$T/port")
HPORT=$(cat "$T/hport")
check_eq "the aggregator runs with $NOFILE descriptors" "$NOFILE" \
	"$(awk '/^Max open files/ { print $4 }' "/proc/$AGG_PID/limits")"

write_agent_conf good good
echo "source = linux-root:$FIXTURES/linux-modern" >>"$T/good.conf"
good_once() { "$BIN/ipcfleet-agent" -c "$T/good.conf" --once >>"$T/good.out" 2>&1; }
slow() { "$BIN/ipcfleet-slowloris" --server "127.0.0.1:$HPORT" "$@"; }
# CPU time of the aggregator, in clock ticks (utime + stime)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AGG_PID/stat"; }

check "a well-behaved agent is served before" good_once

# --- one slow client: the whole request must arrive within 10 s ---
slow --connections 1 --duration 14 --every 1000 >"$T/one.out"
sed 's/^/# /' "$T/one.out"
check "one client trickling a byte a second is cut after 10 s" \
	grep -Eq "cut by the server 1 after (9|10|11|12)\.[0-9]s" "$T/one.out"

# --- the flood ---
cpu0=$(cpu_ticks)
log0=$(stat -c %s "$T/aggregator.log")
t0=$(date +%s%N)
slow --connections "$FLOOD" --duration "$FLOOD_S" --every 1000 >"$T/flood.out" &
SLOW=$!
(
	while [ ! -e "$T/stop" ]; do
		rc=0
		good_once || rc=$?
		echo "$rc" >>"$T/good.rc"
		sleep 0.3
	done
) &
GOOD=$!
(
	while [ ! -e "$T/stop" ]; do
		ls "/proc/$AGG_PID/fd" 2>/dev/null | wc -l >>"$T/fds"
		sleep 0.2
	done
) &
FDS=$!
wait "$SLOW"
touch "$T/stop"
wait "$GOOD" "$FDS"
t1=$(date +%s%N)
cpu1=$(cpu_ticks)
log1=$(stat -c %s "$T/aggregator.log")
sed 's/^/# /' "$T/flood.out"

wall_ms=$(((t1 - t0) / 1000000))
cpu_ms=$(((cpu1 - cpu0) * 1000 / $(getconf CLK_TCK)))
echo "# aggregator CPU ${cpu_ms} ms in ${wall_ms} ms; log +$((log1 - log0)) bytes;" \
	"descriptors at most $(sort -n "$T/fds" | tail -1)"
check "the agent delivered at least 5 times during the flood" \
	test "$(wc -l <"$T/good.rc")" -ge 5
check_eq "... and every delivery was acknowledged" "" "$(grep -vx 0 "$T/good.rc" || true)"
check "HTTP never took the last quarter of the descriptors (at most $((NOFILE * 3 / 4)) in use)" \
	test "$(sort -n "$T/fds" | tail -1)" -le $((NOFILE * 3 / 4))
check "the aggregator did not spin (CPU ${cpu_ms} ms < ${CPU_SHARE}% of ${wall_ms} ms)" \
	test "$((cpu_ms * 100))" -lt "$((wall_ms * CPU_SHARE))"
check "its log grew by less than $LOG_MAX bytes ($((log1 - log0)))" \
	test "$((log1 - log0))" -lt "$LOG_MAX"
check "slow connections were cut by the deadline meanwhile" \
	grep -Eq "cut by the server ([89]|[1-9][0-9]+) after" "$T/flood.out"

# --- afterwards ---
check "a well-behaved agent is served after" good_once
# The flood's connections that the server had not accepted yet are closed
# with the flood; until it has accepted and closed them (and the kernel has
# dropped those still half-open), a new connection may find the accept
# queue full, and its SYN is retried 1, 3, 7, 15 s later.  On a loaded
# machine with an instrumented build that took more than curl's 10 s: what
# is promised is that /metrics and /healthz answer again, so each is asked
# until it does, for 60 s at most.
metrics_ok() { curl -sS --max-time 10 "http://127.0.0.1:$HPORT/metrics" >"$T/metrics.txt"; }
check "/metrics answers again after the flood" wait_for 60 metrics_ok
check "/metrics answers, and promtool takes it" \
	sh -c "promtool check metrics <'$T/metrics.txt' >'$T/promtool.out' 2>&1"
check "... with the agent's host in it" grep -q '^ipcfleet_host_info{host="good"' "$T/metrics.txt"
# (the same for /healthz: the first answer above does not mean the queue is
# empty; a run in a sanitizer build beside stress-ng waited longer here)
healthz_ok() { [ "$(curl -sS --max-time 10 "http://127.0.0.1:$HPORT/healthz")" = ok ]; }
check "/healthz answers 'ok'" wait_for 60 healthz_ok
check "the aggregator is still running" kill -0 "$AGG_PID"
stop_agg

# --- a row stored by an older aggregator, before text was checked ---
# (os_release "6.1 \xff\xfe", an agent string with U+202E): /metrics writes
# such label values cleaned, so one host cannot break the page of all
sqlite3 "$T/ipcfleet.db" "UPDATE hosts SET os_release = CAST(X'362e3120fffe' AS TEXT),
	agent = CAST(X'61e280ae62' AS TEXT) WHERE name = 'good'"
rm -f "$T/port" "$T/hport"
"$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" --port-file "$T/port" \
	--http-port-file "$T/hport" >>"$T/aggregator.log" 2>&1 &
AGG_PID=$!
for _ in $(seq 1 100); do [ -s "$T/hport" ] && break; sleep 0.05; done
curl -sS --max-time 10 "http://127.0.0.1:$(cat "$T/hport")/metrics" >"$T/metrics2.txt"
check "a stored release that is not UTF-8 does not break the page (promtool)" \
	sh -c "promtool check metrics <'$T/metrics2.txt' >'$T/promtool2.out' 2>&1"
check "... it shows as '?'" grep -qF 'os_release="6.1 ??",agent="a?b"' "$T/metrics2.txt"
stop_agg
check "no sanitizer report in the aggregator's log" \
	no_sanitizer_report "$T/aggregator.log"
finish
