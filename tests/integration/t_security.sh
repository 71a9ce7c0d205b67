#!/usr/bin/env bash
# Security (issue 6, docs/SECURITY.md): identity and transport.
#
# Identity comes only from the verified certificate: a hello naming another
# host is refused and logged and the claimed host's data stays untouched; a
# snapshot has no host field (an extra "host" key is ignored, the data goes
# to the certificate's CN).  Agents cannot query, admins cannot push.
# Transport: TLS 1.3 only (a TLS 1.2 client is refused; with tls12 = 1
# renegotiation is still refused), no compression, no plaintext, no client
# certificate / a foreign CA / an expired certificate refused with the reason
# in the aggregator's log.  The agent and the CLI check the aggregator's name
# and send SNI.  Private keys readable by others are refused by all three
# programs.  No root needed.
. "$(dirname "$0")/lib.sh"
need openssl
need sqlite3
need jq
[ -x "$BIN/ipcfleet-hostile" ] || {
	echo "not ok - $BIN/ipcfleet-hostile is not built (tests/hostile)"
	exit 1
}

PKI="$SRC/deploy/pki/ipcfleet-pki"
FIX="linux-root:$FIXTURES/linux-modern"
pki_dev sec-a sec-b
"$PKI" --not-before 20200101000000Z --not-after 20200102000000Z agent "$T/pki" sec-expired \
	>/dev/null
"$PKI" server "$T/pki" other.example >/dev/null
# a foreign CA issuing a certificate with a CN of this fleet
"$PKI" init "$T/foreign" >/dev/null
"$PKI" agent "$T/foreign" sec-a >/dev/null

write_agg_conf
start_agg
write_cli_conf

# agent_conf NAME CERT KEY [SERVER]: a fixture agent (exact, known objects)
agent_conf() {
	cat >"$T/$1.conf" <<CONF
[agent]
server = ${4:-localhost:$PORT}
cert = $2
key = $3
ca = $T/pki/ca.crt
spool = $T/spool-$1
source = $FIX
timeout = 5s
CONF
}
# once NAME: one delivery; the exit status is returned, the output kept
once() {
	local rc=0
	"$BIN/ipcfleet-agent" -c "$T/$1.conf" --once >"$T/$1.out" 2>&1 || rc=$?
	return $rc
}
# hostile CERT-NAME ARGS...: the misbehaving peer with $T/pki/NAME.{crt,key}
hostile() {
	local who=$1
	shift
	"$BIN/ipcfleet-hostile" --server "localhost:$PORT" --cert "$T/pki/$who.crt" \
		--key "$T/pki/$who.key" --ca "$T/pki/ca.crt" "$@"
}
sq() { sqlite3 "$T/ipcfleet.db" "$1"; }
received() { sq "SELECT count(*) FROM received r JOIN hosts h ON h.id = r.host_id WHERE h.name = '$1'"; }
victim_doc() { cli host sec-b --json | jq -S '{taken, os_release, page_size, limits, objects}'; }
log_has() { grep -Eq -- "$1" "$T/aggregator.log"; }

# --- the victim reports ---
agent_conf b "$T/pki/sec-b.crt" "$T/pki/sec-b.key"
rc=0
once b || rc=$?
check_eq "victim sec-b: agent --once acknowledged" 0 "$rc"
victim_doc >"$T/victim.before"
check "victim sec-b: its document has objects" \
	sh -c "jq -e '.objects | length > 0' \"$T/victim.before\" >/dev/null"
check_eq "victim sec-b: one snapshot received" 1 "$(received sec-b)"

# --- identity: a hello naming another host ---
hostile sec-a --victim sec-b hello-other-host >"$T/h1.out"
check "hello naming sec-b from sec-a's certificate: forbidden, connection closed" \
	grep -qx "hello-other-host: error 3 forbidden \[closed\]: hello names host 'sec-b' but the certificate is for 'sec-a'" "$T/h1.out"
check "the refusal is logged with the certificate and the claimed name" \
	log_has "sec-a \(127\.0\.0\.1:[0-9]+\): forbidden: hello names host 'sec-b' but the certificate is for 'sec-a'"
check_eq "nothing was stored for sec-a" 0 "$(received sec-a)"

# --- a snapshot cannot name a host: an extra "host" key is ignored ---
hostile sec-a --victim sec-b --seq 4242 snapshot-host-field >"$T/h2.out"
check "a snapshot with \"host\": \"sec-b\" is acknowledged" \
	grep -qx "snapshot-host-field: ack 4242" "$T/h2.out"
check_eq "... and stored under the certificate's CN, sec-a" 1 \
	"$(sq "SELECT count(*) FROM received r JOIN hosts h ON h.id = r.host_id WHERE h.name = 'sec-a' AND r.seq = 4242")"
check_eq "victim sec-b: still exactly one snapshot" 1 "$(received sec-b)"
victim_doc >"$T/victim.after"
check "victim sec-b: its document is untouched" cmp -s "$T/victim.before" "$T/victim.after"

# --- roles: agents cannot query, admins cannot push ---
set +e
timeout 20 "$BIN/ipcfleet" --server "localhost:$PORT" --cert "$T/pki/sec-a.crt" \
	--key "$T/pki/sec-a.key" --ca "$T/pki/ca.crt" hosts >"$T/agentq.out" 2>&1
rc=$?
set -e
check_eq "CLI with an agent certificate exits 1" 1 "$rc"
check "CLI with an agent certificate: forbidden" grep -q "forbidden" "$T/agentq.out"
hostile sec-a agent-query hello-admin >"$T/h3.out"
check "agent hello then query: forbidden, closed" \
	grep -qx "agent-query: error 3 forbidden \[closed\]: agent certificate 'sec-a' may only send snapshots" "$T/h3.out"
check "agent certificate saying hello as admin: forbidden" \
	grep -qx "hello-admin: error 3 forbidden \[closed\]: certificate 'sec-a' is not listed in admins" "$T/h3.out"
agent_conf adm "$T/pki/admin.crt" "$T/pki/admin.key"
rc=0
once adm || rc=$?
check_eq "agent with the admin certificate: --once exits 1" 1 "$rc"
check "... and the aggregator says why" \
	log_has "certificate 'admin' is an admin certificate and may not push snapshots"
hostile admin admin-push >"$T/h4.out"
check "admin hello then snapshot: forbidden, closed" \
	grep -qx "admin-push: error 3 forbidden \[closed\]: admin connections may only send queries" "$T/h4.out"
check_eq "no host named admin was created" 0 "$(received admin)"

# --- transport ---
set +e
echo | timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$PORT" -servername localhost \
	-cert "$T/pki/sec-a.crt" -key "$T/pki/sec-a.key" -CAfile "$T/pki/ca.crt" >"$T/tls12.out" 2>&1
rc12=$?
printf x | timeout 10 openssl s_client -ign_eof -tls1_3 -connect "127.0.0.1:$PORT" \
	-servername localhost -cert "$T/pki/sec-a.crt" -key "$T/pki/sec-a.key" \
	-CAfile "$T/pki/ca.crt" >"$T/tls13.out" 2>&1
printf x | timeout 10 openssl s_client -ign_eof -connect "127.0.0.1:$PORT" -servername localhost \
	-CAfile "$T/pki/ca.crt" >"$T/nocert.out" 2>&1
set -e
check "a TLS 1.2-only client fails" test "$rc12" -ne 0
check "... with a protocol version alert" grep -aq "alert protocol version" "$T/tls12.out"
check "... logged as an unsupported protocol" log_has "TLS handshake failed: .*unsupported protocol"
# (the handshake's summary line: the "SSL-Session" block with "Protocol :" is
# printed only for a session ticket, and the aggregator issues none)
check "TLS 1.3 is what a client gets" grep -aq "^New, TLSv1.3, " "$T/tls13.out"
check "no compression" grep -aq "^Compression: NONE" "$T/tls13.out"
check "the aggregator's certificate verifies" grep -aq "Verification: OK" "$T/tls13.out"
check "no client certificate: refused in the handshake" \
	grep -aq "alert certificate required" "$T/nocert.out"

hostile sec-a plaintext >"$T/plain.out"
check "a plaintext client gets no frame and is closed" grep -Eqx "plaintext: closed, 0 bytes back|plaintext: closed, [0-9]+ bytes back, first byte 0x15 \(TLS alert\)" "$T/plain.out"
check "... logged as a failed handshake" log_has "TLS handshake failed: .*wrong version number"

agent_conf foreign "$T/foreign/sec-a.crt" "$T/foreign/sec-a.key"
rc=0
once foreign || rc=$?
check_eq "a foreign CA's certificate with a fleet CN: --once exits 1" 1 "$rc"
check "... logged: unknown issuer" \
	log_has "TLS handshake failed: .*client certificate: unable to get local issuer certificate"
agent_conf exp "$T/pki/sec-expired.crt" "$T/pki/sec-expired.key"
rc=0
once exp || rc=$?
check_eq "an expired agent certificate: --once exits 1" 1 "$rc"
check "... logged: expired" log_has "TLS handshake failed: .*client certificate: certificate has expired"
# a server certificate (serverAuth only) cannot be used to connect as a client
agent_conf srv "$T/pki/other.example.crt" "$T/pki/other.example.key"
rc=0
once srv || rc=$?
check_eq "a server certificate used by an agent: --once exits 1" 1 "$rc"
check "... logged: unsuitable certificate purpose" \
	log_has "TLS handshake failed: .*client certificate: unsuitable certificate purpose"
check_eq "nothing of theirs was stored: sec-b's and sec-a's one snapshot only" 2 \
	"$(sq "SELECT count(*) FROM received")"

# --- the aggregator's name: checked by the agent and the CLI ---
# A second aggregator whose certificate names other.example, not localhost;
# it also accepts TLS 1.2 (tls12 = 1), for the renegotiation check.
cat >"$T/agg2.conf" <<CONF
[server]
listen = 127.0.0.1:0
cert = $T/pki/other.example.crt
key = $T/pki/other.example.key
ca = $T/pki/ca.crt
admins = admin
tls12 = 1
[storage]
path = $T/agg2.db
CONF
"$BIN/ipcfleet-aggregator" -c "$T/agg2.conf" --port-file "$T/port2" -v >"$T/agg2.log" 2>&1 &
AGG2=$!
for _ in $(seq 1 100); do [ -s "$T/port2" ] && break; sleep 0.05; done
PORT2=$(cat "$T/port2")
agent_conf wrongname "$T/pki/sec-a.crt" "$T/pki/sec-a.key" "localhost:$PORT2"
rc=0
once wrongname || rc=$?
check_eq "agent to an aggregator certified for another name: exits 1" 1 "$rc"
check "... and says the server certificate was refused: hostname mismatch" \
	grep -q "localhost:$PORT2: server certificate refused: hostname mismatch" "$T/wrongname.out"
set +e
timeout 20 "$BIN/ipcfleet" --server "localhost:$PORT2" --cert "$T/pki/admin.crt" \
	--key "$T/pki/admin.key" --ca "$T/pki/ca.crt" hosts >"$T/wrongname-cli.out" 2>&1
rc=$?
set -e
check_eq "CLI to that aggregator: exits 1" 1 "$rc"
check "... server certificate refused: hostname mismatch" \
	grep -q "server certificate refused: hostname mismatch" "$T/wrongname-cli.out"

set +e
(printf 'R\n'; sleep 2) | timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$PORT2" \
	-cert "$T/pki/sec-a.crt" -key "$T/pki/sec-a.key" -CAfile "$T/pki/ca.crt" >"$T/reneg.out" 2>&1
set -e
check "with tls12 = 1 a TLS 1.2 client connects" grep -aq "Protocol  : TLSv1.2" "$T/reneg.out"
check "... without compression" grep -aq "^Compression: NONE" "$T/reneg.out"
check "... and its renegotiation is refused" grep -aq "no renegotiation" "$T/reneg.out"
kill "$AGG2" && wait "$AGG2" || true

# SNI: a stand-in server prints the name the client sent
sni() {
	SNIOUT=$1
	rm -f "$T/$SNIOUT"
	(sleep 8 | timeout 10 openssl s_server -naccept 1 -accept 127.0.0.1:0 -tlsextdebug \
		-cert "$T/pki/localhost.crt" -key "$T/pki/localhost.key" >"$T/$SNIOUT" 2>&1 &)
	for _ in $(seq 1 100); do grep -q '^ACCEPT' "$T/$SNIOUT" 2>/dev/null && break; sleep 0.05; done
	SNIPORT=$(sed -n 's/^ACCEPT .*:\([0-9]*\)$/\1/p' "$T/$SNIOUT")
}
# the server name extension it printed (hex dump: "....localhost"); its
# output reaches the file when the connection ends
sent_sni() {
	for _ in $(seq 1 100); do
		grep -aA1 'TLS client extension "server name"' "$T/$SNIOUT" |
			grep -q '\.localhost$' && return 0
		sleep 0.1
	done
	return 1
}
sni sni-agent.out
agent_conf sni "$T/pki/sec-a.crt" "$T/pki/sec-a.key" "localhost:$SNIPORT"
sed -i 's/^timeout = .*/timeout = 2s/' "$T/sni.conf"
once sni || true
check "the agent sends SNI: the aggregator's name" sent_sni
sni sni-cli.out
timeout 20 "$BIN/ipcfleet" --server "localhost:$SNIPORT" --cert "$T/pki/admin.crt" \
	--key "$T/pki/admin.key" --ca "$T/pki/ca.crt" hosts >/dev/null 2>&1 || true
check "the CLI sends SNI too" sent_sni

# --- private keys readable by others are refused, by all three programs ---
cp "$T/pki/sec-a.key" "$T/loose.key"
chmod 640 "$T/loose.key"
agent_conf loose "$T/pki/sec-a.crt" "$T/loose.key"
set +e
"$BIN/ipcfleet-agent" -c "$T/loose.conf" -t >"$T/loose-agent.out" 2>&1
rca=$?
sed "s|^key = .*|key = $T/loose.key|" "$T/aggregator.conf" >"$T/loose-agg.conf"
cp "$T/pki/localhost.key" "$T/loose.key"
chmod 644 "$T/loose.key"
"$BIN/ipcfleet-aggregator" -c "$T/loose-agg.conf" -t >"$T/loose-agg.out" 2>&1
rcg=$?
cp "$T/pki/admin.key" "$T/loose.key"
chmod 604 "$T/loose.key"
timeout 20 "$BIN/ipcfleet" --server "localhost:$PORT" --cert "$T/pki/admin.crt" \
	--key "$T/loose.key" --ca "$T/pki/ca.crt" hosts >"$T/loose-cli.out" 2>&1
rcc=$?
set -e
check_eq "agent -t with a key of mode 0640 exits 1" 1 "$rca"
check "... key is readable by group or others (mode 0640); chmod 600" \
	grep -q "key $T/loose.key is readable by group or others (mode 0640); chmod 600 $T/loose.key" "$T/loose-agent.out"
check_eq "aggregator -t with a key of mode 0644 exits 1" 1 "$rcg"
check "... the same message, mode 0644" grep -q "is readable by group or others (mode 0644)" "$T/loose-agg.out"
check_eq "CLI with a key of mode 0604 exits 1" 1 "$rcc"
check "... the same message, mode 0604" grep -q "is readable by group or others (mode 0604)" "$T/loose-cli.out"
chmod 600 "$T/loose.key"
check "the same key at mode 0600 is accepted (CLI)" sh -c \
	"\"$BIN/ipcfleet\" --server localhost:$PORT --cert \"$T/pki/admin.crt\" --key \"$T/loose.key\" --ca \"$T/pki/ca.crt\" hosts >/dev/null"

check "after all of this the aggregator still answers" sh -c \
	"\"$BIN/ipcfleet\" --config \"$T/cli.conf\" hosts --json | jq -e 'length == 2' >/dev/null"
check "and is still running" kill -0 "$AGG_PID"
finish
