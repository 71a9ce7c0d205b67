#!/usr/bin/env bash
# The Prometheus endpoint ([http] listen): the real agent pushes a snapshot of
# a fixture tree (exact, known numbers; no root needed) to the real
# aggregator, and /metrics must show exactly those numbers, validate with
# promtool, and count frames, snapshots, queries and ingest latency.  Then
# /healthz, 404, 405 and the request bounds.
. "$(dirname "$0")/lib.sh"
need curl
need promtool
need openssl

pki_dev it-m1
# a fixture host: semmns 268 of 536, semmni 3 of 128, shmmni 4 of 5, and an OS release with
# a quote and a backslash, which label values must escape
mkdir -p "$T/root"
cp -r "$FIXTURES/linux-modern/proc" "$T/root/"
echo "250 536 100 128" >"$T/root/proc/sys/kernel/sem"
# shmmni 4 of 5: a warn finding (80 %), for ipcfleet_findings
echo 5 >"$T/root/proc/sys/kernel/shmmni"
printf '6.1.0-"q"\\b\n' >"$T/root/proc/sys/kernel/osrelease"

write_agg_conf "[http]" "listen = 127.0.0.1:0"
start_agg http
check "the aggregator logs the HTTP endpoint" grep -q "serving /metrics and /healthz" "$T/aggregator.log"

scrape() { curl -sS --max-time 10 "$URL/metrics" >"$T/$1"; }
# has FILE LINE: the exact sample line is in FILE
has() { grep -qxF -- "$2" "$T/$1"; }
valid() { promtool check metrics <"$T/$1" >"$T/$1.promtool" 2>&1; }

# --- before any agent ---
scrape m0.txt
check "empty fleet: promtool check metrics passes" valid m0.txt
check "empty fleet: ipcfleet_hosts 0" has m0.txt "ipcfleet_hosts 0"
check "empty fleet: store up" has m0.txt "ipcfleet_store_up 1"
check "empty fleet: no latency observed" has m0.txt "ipcfleet_ingest_latency_seconds_count 0"
check_eq "content type is the text format 0.0.4" "text/plain; version=0.0.4; charset=utf-8" \
	"$(curl -sS -o /dev/null -w '%{content_type}' "$URL/metrics")"

# --- one snapshot ---
write_agent_conf m1 it-m1
write_cli_conf
t0=$(date +%s)
rc=0
"$BIN/ipcfleet-agent" -c "$T/m1.conf" --source "linux-root:$T/root" --once >"$T/agent.out" 2>&1 || rc=$?
check_eq "agent --once exits 0" 0 "$rc"
t1=$(date +%s)
# the agent's connection may still be closing on the server side, and the
# per-host part of the page is rebuilt at most every 2 s: wait for both
for _ in $(seq 1 100); do
	scrape m1.txt
	has m1.txt "ipcfleet_connected_agents 0" && has m1.txt "ipcfleet_hosts 1" && break
	sleep 0.05
done
check "promtool check metrics passes" valid m1.txt
check "promtool has nothing to say" test ! -s "$T/m1.txt.promtool"
h='host="it-m1"'
check "ipcfleet_hosts 1" has m1.txt "ipcfleet_hosts 1"
check "semmns used 268" has m1.txt "ipcfleet_limit_used{$h,limit=\"semmns\"} 268"
check "semmns limit 536" has m1.txt "ipcfleet_limit_value{$h,limit=\"semmns\"} 536"
check "semmns ratio 0.5" has m1.txt "ipcfleet_limit_ratio{$h,limit=\"semmns\"} 0.5"
check "semmni used 3" has m1.txt "ipcfleet_limit_used{$h,limit=\"semmni\"} 3"
check "semmni limit 128" has m1.txt "ipcfleet_limit_value{$h,limit=\"semmni\"} 128"
check "semmni ratio 3/128" has m1.txt "ipcfleet_limit_ratio{$h,limit=\"semmni\"} 0.0234375"
check "shmmni used 4" has m1.txt "ipcfleet_limit_used{$h,limit=\"shmmni\"} 4"
check "shmmni ratio 4/5" has m1.txt "ipcfleet_limit_ratio{$h,limit=\"shmmni\"} 0.8"
check "one open warn threshold finding" \
	has m1.txt 'ipcfleet_findings{kind="threshold",severity="warn"} 1'
check "msgmni ratio 2/32000" has m1.txt "ipcfleet_limit_ratio{$h,limit=\"msgmni\"} 6.25e-05"
# served from the usage kept with each host, not by decoding its snapshot:
# the countable limits only
check "no series for a non-countable limit (semopm)" \
	sh -c "! grep -q 'limit=\"semopm\"' '$T/m1.txt'"
check "a near-2^64 limit is exact" \
	has m1.txt "ipcfleet_limit_value{$h,limit=\"shmall\"} 18446744073692774399"
if [ "$(getconf PAGESIZE)" = 4096 ]; then
	check "shmall used in 4 KiB pages" \
		has m1.txt "ipcfleet_limit_used{$h,limit=\"shmall\"} 4503599627366785"
fi
check "host info, label values escaped" has m1.txt \
	"ipcfleet_host_info{$h,os=\"Linux\",os_release=\"6.1.0-\\\"q\\\"\\\\b\",agent=\"ipcfleet-agent 0.1.0\"} 1"
seen=$(sed -n "s/^ipcfleet_host_last_seen_seconds{$h} //p" "$T/m1.txt")
check "last seen ($seen) is between $t0 and $t1" test "${seen:-0}" -ge "$t0" -a "${seen:-0}" -le "$t1"
check_eq "42 findings series (14 kinds x 3 severities)" 42 \
	"$(grep -c '^ipcfleet_findings{kind="[a-z_]*",severity="\(info\|warn\|crit\)"} [0-9][0-9]*$' "$T/m1.txt")"
EXTRA_Q=0 # queries of this test besides the one below
if command -v jq >/dev/null 2>&1; then
	EXTRA_Q=1
	nf=$(cli --json alerts | jq 'length')
	check "the fixture has open findings ($nf)" test "$nf" -gt 0
	check_eq "findings total equals the open findings (ipcfleet alerts)" "$nf" \
		"$(awk '/^ipcfleet_findings\{/ { s += $2 } END { print s + 0 }' "$T/m1.txt")"
fi
check "connected agents back to 0 after the agent left" has m1.txt "ipcfleet_connected_agents 0"
check "frames accepted: hello and snapshot" has m1.txt 'ipcfleet_frames_total{result="accepted"} 2'
check "frames rejected: 0" has m1.txt 'ipcfleet_frames_total{result="rejected"} 0'
check "snapshots stored: 1" has m1.txt 'ipcfleet_snapshots_total{result="stored"} 1'
check "snapshots duplicate: 0" has m1.txt 'ipcfleet_snapshots_total{result="duplicate"} 0'
check "one ingest latency observed" has m1.txt "ipcfleet_ingest_latency_seconds_count 1"
check "+Inf bucket holds it" has m1.txt 'ipcfleet_ingest_latency_seconds_bucket{le="+Inf"} 1'
check "17 buckets, cumulative" awk '
	/^ipcfleet_ingest_latency_seconds_bucket/ { n++; if ($2 < last) bad = 1; last = $2 }
	END { exit !(n == 17 && !bad) }' "$T/m1.txt"
check "latency sum is positive and under 10 s" awk '
	/^ipcfleet_ingest_latency_seconds_sum / { found = 1; ok = ($2 > 0 && $2 < 10) }
	END { exit !(found && ok) }' "$T/m1.txt"

# --- an agent that stays connected: a hand-made hello (msgpack, octal escapes) ---
HELLO='\000\000\000\145\211\244\164\171\160\145\245\150\145\154\154\157\245\155\141\152\157\162\001\245\155\151\156\157\162\000\244\162\157\154\145\245\141\147\145\156\164\245\141\147\145\156\164\251\164\137\155\145\164\162\151\143\163\242\157\163\245\114\151\156\165\170\252\157\163\137\162\145\154\145\141\163\145\243\066\056\061\251\160\141\147\145\137\163\151\172\145\315\020\000\251\142\157\157\164\137\164\151\155\145\001'
mkfifo "$T/hold.in"
openssl s_client -quiet -connect "127.0.0.1:$PORT" -cert "$T/pki/it-m1.crt" \
	-key "$T/pki/it-m1.key" -CAfile "$T/pki/ca.crt" <"$T/hold.in" >"$T/hold.out" 2>&1 &
hold=$!
exec 3>"$T/hold.in"
# shellcheck disable=SC2059
printf "$HELLO" >&3
for _ in $(seq 1 100); do
	scrape mh.txt
	has mh.txt "ipcfleet_connected_agents 1" && break
	sleep 0.05
done
check "an agent past hello is counted as connected" has mh.txt "ipcfleet_connected_agents 1"
check "its TLS connection is open" has mh.txt "ipcfleet_connections_open 1"
kill "$hold" 2>/dev/null || true
wait "$hold" 2>/dev/null || true
exec 3>&-
for _ in $(seq 1 100); do
	scrape mh.txt
	has mh.txt "ipcfleet_connected_agents 0" && break
	sleep 0.05
done
check "and no longer once it is gone" has mh.txt "ipcfleet_connected_agents 0"

# --- a second snapshot, a query, a rejected frame ---
rc=0
"$BIN/ipcfleet-agent" -c "$T/m1.conf" --source "linux-root:$T/root" --once >>"$T/agent.out" 2>&1 || rc=$?
check_eq "second agent --once exits 0" 0 "$rc"
rc=0
cli hosts >/dev/null || rc=$?
check_eq "the CLI query succeeds" 0 "$rc"
# a frame header announcing 4 GiB: rejected before anything is read
set +e
printf '\377\377\377\377' | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" \
	-cert "$T/pki/it-m1.crt" -key "$T/pki/it-m1.key" -CAfile "$T/pki/ca.crt" \
	>"$T/bad.out" 2>&1
set -e
for _ in $(seq 1 40); do
	scrape m2.txt
	has m2.txt 'ipcfleet_frames_total{result="rejected"} 1' && break
	sleep 0.05
done
check "after more traffic: promtool passes" valid m2.txt
check "snapshots stored: 2" has m2.txt 'ipcfleet_snapshots_total{result="stored"} 2'
check "two latencies observed" has m2.txt "ipcfleet_ingest_latency_seconds_count 2"
check "queries: $((1 + EXTRA_Q))" has m2.txt "ipcfleet_queries_total $((1 + EXTRA_Q))"
check "frames accepted: $((4 + EXTRA_Q)) hellos, 2 snapshots, $((1 + EXTRA_Q)) queries" \
	has m2.txt "ipcfleet_frames_total{result=\"accepted\"} $((7 + 2 * EXTRA_Q))"
check "frames rejected: 1 (the 4 GiB header)" has m2.txt 'ipcfleet_frames_total{result="rejected"} 1'
check "still one host" has m2.txt "ipcfleet_hosts 1"

# --- /healthz and the rest ---
check_eq "/healthz says ok" ok "$(curl -sS --max-time 10 "$URL/healthz")"
code() { curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }
check_eq "/healthz is 200" 200 "$(code "$URL/healthz")"
check_eq "/metrics with a query string is 200" 200 "$(code "$URL/metrics?x=1")"
check_eq "an unknown path is 404" 404 "$(code "$URL/nope")"
check_eq "/ is 404" 404 "$(code "$URL/")"
check_eq "POST /metrics is 405" 405 "$(code -X POST "$URL/metrics")"
check_eq "DELETE /healthz is 405" 405 "$(code -X DELETE "$URL/healthz")"
check "405 says which method is allowed" sh -c \
	"curl -sS -o /dev/null -D - -X POST '$URL/metrics' | tr -d '\r' | grep -qx 'Allow: GET'"
check_eq "a request body is refused (413)" 413 "$(code -X POST --data xyz "$URL/metrics")"
big=$(head -c 10000 /dev/zero | tr '\0' a)
check_eq "oversized headers are refused (400)" 400 "$(code -H "X-Big: $big" "$URL/metrics")"
check "the aggregator still serves" kill -0 "$AGG_PID"

# --- off by default; a bad address stops start-up ---
stop_agg
write_agg_conf
"$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" --port-file "$T/port2" \
	--http-port-file "$T/hport2" >"$T/nohttp.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do [ -s "$T/port2" ] && break; sleep 0.05; done
check "without [http] no HTTP port is written" test ! -e "$T/hport2"
kill "$pid" && wait "$pid" || true
write_agg_conf "[http]" "listen = 127.0.0.1:99999"
set +e
timeout 10 "$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" >"$T/badhttp.log" 2>&1
rc=$?
set -e
check_eq "a bad [http] listen exits 1" 1 "$rc"
check "and names [http]" grep -q "\[http\] listen" "$T/badhttp.log"

finish
