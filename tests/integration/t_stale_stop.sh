#!/usr/bin/env bash
# False stale alerts (issue 19, item 7): a stop of the aggregator itself
# (SIGSTOP: a paused VM, a loop blocked) is not every host's silence.  Four
# agents at 1 s (stale after 3 s of silence), the aggregator stopped 12 s:
# no stale finding opens, for any host.  Then one agent really stops: its
# host, and only it, turns stale.  Counted in the findings table, closed
# findings included.
. "$(dirname "$0")/lib.sh"
need sqlite3

H="st1 st2 st3 st4"
pki_dev st1 st2 st3 st4
write_agg_conf "[analysis]" "check_interval = 1s" "stale_grace = 5s"
start_agg
for h in $H; do
	write_agent_conf "$h" "$h"
	sed -i 's/^interval = .*/interval = 1s/' "$T/$h.conf"
	# longer than the stop: the agents wait for their acks, no reconnect backoff
	echo "timeout = 30s" >>"$T/$h.conf"
	"$BIN/ipcfleet-agent" -c "$T/$h.conf" --source "linux-root:$SRC/tests/fixtures/linux-modern" \
		>>"$T/agent-$h.log" 2>&1 &
	eval "PID_$h=\$!"
done
q() { sqlite3 "$T/ipcfleet.db" "$1"; }
stale_count() { q "select count(*) from findings where kind = 'stale'"; }
for _ in $(seq 1 100); do
	[ "$(q 'select count(*) from hosts where last_received is not null')" = 4 ] && break
	sleep 0.1
done
check_eq "four hosts deliver" 4 "$(q 'select count(*) from hosts where last_received is not null')"
sleep 2
check_eq "no stale finding before" 0 "$(stale_count)"

kill -STOP "$AGG_PID"
sleep 12
kill -CONT "$AGG_PID"
# the grace (5 s) and three intervals past it, and then some
sleep 10
check_eq "after a 12 s stop of the aggregator: no stale finding (any host)" 0 "$(stale_count)"
check "it says it did not run" grep -q "the aggregator did not run for 1[0-9] s" "$T/aggregator.log"
before=$(q "select count(*) from received")
sleep 3
after=$(q "select count(*) from received")
check "the agents deliver again" test "$after" -gt "$before"

# a host that does stop still turns stale, alone
kill "$PID_st4"
for _ in $(seq 1 150); do [ "$(stale_count)" -ge 1 ] && break; sleep 0.1; done
sleep 2
check_eq "a silent host turns stale: one finding" 1 "$(stale_count)"
check_eq "and it is st4's" st4 \
	"$(q "select h.name from findings f join hosts h on h.id = f.host_id where f.kind = 'stale'")"
finish
