#!/usr/bin/env bash
# Security (issue 6, docs/SECURITY.md): revocation, rotation, reload.
#
# deploy/pki/ipcfleet-pki revoke writes a CRL; the aggregator ([server] crl)
# refuses revoked agent and admin certificates and says why in its log.  A
# CRL installed later takes effect on SIGHUP: new connections are refused and
# open connections of the newly revoked certificates (and admins no longer
# listed) are closed, while an agent already connected with a good
# certificate keeps being served on its connection.  Rotation:
# --force keeps the replaced certificate, which is revoked once the new one
# works.  A CRL that cannot be read keeps the running one; an expired CRL
# refuses everybody (the operational hazard SECURITY.md warns about).
. "$(dirname "$0")/lib.sh"
need openssl
need sqlite3

PKI="$SRC/deploy/pki/ipcfleet-pki"
FIX="linux-root:$FIXTURES/linux-modern"
pki_dev crl-b crl-c crl-r crl-d crl-e
"$PKI" admin "$T/pki" admin2 >/dev/null
"$PKI" admin "$T/pki" admin3 >/dev/null
"$PKI" revoke "$T/pki" crl-r keyCompromise >"$T/revoke1.out"
check "revoke: the certificate and key move to revoked/" \
	sh -c "ls \"$T/pki/revoked/\"crl-r-*.crt \"$T/pki/revoked/\"crl-r-*.key >/dev/null"
check "revoke: it names the CRL written" grep -q "wrote $T/pki/crl.pem (1 revoked;" "$T/revoke1.out"
check "the CRL lists one serial, reason key compromise" sh -c \
	"openssl crl -in \"$T/pki/crl.pem\" -noout -text | grep -c 'Serial Number' | grep -qx 1 &&
	 openssl crl -in \"$T/pki/crl.pem\" -noout -text | grep -q 'Key Compromise'"
check "the CRL verifies against the CA" sh -c \
	"openssl crl -in \"$T/pki/crl.pem\" -CAfile \"$T/pki/ca.crt\" -noout 2>&1 | grep -qx 'verify OK'"
R_CRT=$(ls "$T/pki/revoked/"crl-r-*.crt)
R_KEY=$(ls "$T/pki/revoked/"crl-r-*.key)

# the aggregator reads its own copy of the CRL
cp "$T/pki/crl.pem" "$T/agg-crl.pem"
write_agg_conf "crl = $T/agg-crl.pem"
# "crl = ..." went after [storage]: move it into [server]
sed -i "/^crl = /d; s|^admins = admin$|admins = admin, admin2, admin3\ncrl = $T/agg-crl.pem|" \
	"$T/aggregator.conf"
start_agg
write_cli_conf

agent_conf() {
	cat >"$T/$1.conf" <<CONF
[agent]
server = localhost:$PORT
cert = $2
key = $3
ca = $T/pki/ca.crt
spool = $T/spool-$1
source = $FIX
interval = ${4:-60s}
timeout = 5s
CONF
}
once() {
	local rc=0
	"$BIN/ipcfleet-agent" -c "$T/$1.conf" --once >"$T/$1.out" 2>&1 || rc=$?
	return $rc
}
sq() { sqlite3 "$T/ipcfleet.db" "$1"; }
received() { sq "SELECT count(*) FROM received r JOIN hosts h ON h.id = r.host_id WHERE h.name = '$1'"; }
nlog() { grep -Ec -- "$1" "$T/aggregator.log" || true; }
admin_cli() {
	timeout 20 "$BIN/ipcfleet" --server "localhost:$PORT" --cert "$T/pki/$1.crt" \
		--key "$T/pki/$1.key" --ca "$T/pki/ca.crt" hosts >"$T/cli-$1.out" 2>&1
}
# hup: reload and wait until the aggregator logs the outcome
hup() {
	local n
	n=$(nlog "reload: ")
	kill -HUP "$AGG_PID"
	for _ in $(seq 1 100); do
		[ "$(nlog "reload: ")" -gt "$n" ] && return 0
		sleep 0.05
	done
	return 1
}

# --- a certificate revoked before start ---
agent_conf r "$R_CRT" "$R_KEY"
rc=0
once r || rc=$?
check_eq "revoked agent certificate: --once exits 1" 1 "$rc"
check "... the agent says the certificate was refused (revoked)" grep -Eq "alert certificate revoked|was this certificate refused" "$T/r.out"
check "... the aggregator logs: certificate revoked" \
	grep -q "TLS handshake failed: .*client certificate: certificate revoked" "$T/aggregator.log"
check_eq "... nothing stored for crl-r" 0 "$(received crl-r)"
# revoke moves DIR/NAME.{crt,key} aside: crl-c keeps using its copies
cp "$T/pki/crl-c.crt" "$T/pki/crl-c.key" "$T/"
agent_conf c "$T/crl-c.crt" "$T/crl-c.key"
rc=0
once c || rc=$?
check_eq "a valid agent certificate is served with the CRL on" 0 "$rc"

# --- an agent that stays connected across the reload ---
agent_conf b "$T/pki/crl-b.crt" "$T/pki/crl-b.key" 1s
"$BIN/ipcfleet-agent" -c "$T/b.conf" -v >"$T/b-daemon.log" 2>&1 &
BPID=$!
for _ in $(seq 1 200); do [ "$(received crl-b)" -ge 2 ] && break; sleep 0.05; done
check "the connected agent crl-b delivers" test "$(received crl-b)" -ge 2

# connections that are open when the revocation arrives: crl-e (revoked
# below), an admin session of admin (revoked) and of admin3 (removed from admins)
hostile() {
	local who=$1
	shift
	"$BIN/ipcfleet-hostile" --server "localhost:$PORT" --cert "$T/pki/$who.crt" \
		--key "$T/pki/$who.key" --ca "$T/pki/ca.crt" --timeout 30000 "$@"
}
hostile crl-e hold >"$T/hold-e.out" &
H1=$!
hostile admin hold-admin >"$T/hold-admin.out" &
H2=$!
hostile admin3 hold-admin >"$T/hold-admin3.out" &
H3=$!
for f in hold-e hold-admin hold-admin3; do
	for _ in $(seq 1 100); do grep -q ": connected" "$T/$f.out" && break; sleep 0.05; done
done

# --- revoke crl-c, crl-e and the admin certificate later: SIGHUP ---
"$PKI" revoke "$T/pki" crl-c >/dev/null
"$PKI" revoke "$T/pki" crl-e >/dev/null
"$PKI" revoke "$T/pki" admin keyCompromise >/dev/null
sed -i 's|^admins = .*|admins = admin, admin2|' "$T/aggregator.conf"
admin_key_rev=$(ls "$T/pki/revoked/"admin-*.key)
admin_crt_rev=$(ls "$T/pki/revoked/"admin-*.crt)
cp "$T/pki/crl.pem" "$T/agg-crl.pem"
b_before=$(received crl-b)
check "SIGHUP reloads" hup
check "... the certificates and the CRL" grep -q "reload: configuration and certificates reloaded" \
	"$T/aggregator.log"
rc=0
once c || rc=$?
check_eq "crl-c revoked later: refused after SIGHUP" 1 "$rc"
check_eq "... logged twice now (crl-r, crl-c)" 2 \
	"$(nlog "client certificate: certificate revoked")"
check "... crl-c is told its certificate was refused (revoked)" grep -Eq "alert certificate revoked|was this certificate refused" "$T/c.out"
cp "$admin_crt_rev" "$T/pki/stolen.crt"
cp "$admin_key_rev" "$T/pki/stolen.key"
rc=0
admin_cli stolen || rc=$?
check_eq "a revoked (stolen) admin certificate: the CLI exits 1" 1 "$rc"
rc=0
admin_cli admin2 || rc=$?
check_eq "another admin certificate still queries" 0 "$rc"
for _ in $(seq 1 200); do [ "$(received crl-b)" -ge $((b_before + 2)) ] && break; sleep 0.05; done
check "the agent connected before the reload is still served" \
	test "$(received crl-b)" -ge $((b_before + 2))
check_eq "... on the same connection (one hello from crl-b in the log)" 1 \
	"$(nlog "crl-b \(127\.0\.0\.1:[0-9]+\): agent connected")"
kill "$BPID" && wait "$BPID" || true
wait "$H1" "$H2" "$H3" || true
check "an agent connection of a certificate revoked since is closed at the reload" \
	grep -Eqx "hold: closed after [0-9.]+s: error 3 forbidden: certificate 'crl-e' is no longer accepted after the reload: certificate revoked" \
	"$T/hold-e.out"
check "... an admin session of a revoked admin certificate too" \
	grep -Eqx "hold-admin: closed after [0-9.]+s: error 3 forbidden: certificate 'admin' is no longer accepted after the reload: certificate revoked" \
	"$T/hold-admin.out"
check "... and one whose CN left admins" \
	grep -Eqx "hold-admin: closed after [0-9.]+s: error 3 forbidden: certificate 'admin3' is no longer listed in admins after the reload" \
	"$T/hold-admin3.out"

# --- rotation: a new certificate, then the old one revoked ---
agent_conf d "$T/pki/crl-d.crt" "$T/pki/crl-d.key"
once d
"$PKI" --force agent "$T/pki" crl-d >"$T/rotate.out"
old_d=$(sed -n 's/^ipcfleet-pki: kept the replaced certificate as \(.*\.crt\); .*/\1/p' "$T/rotate.out")
check "rotation keeps the replaced certificate" test -f "$old_d"
check "... and says how to revoke it" grep -q "ipcfleet-pki revoke $T/pki $old_d superseded" \
	"$T/rotate.out"
rc=0
once d || rc=$?
check_eq "the new certificate of crl-d is served" 0 "$rc"
"$PKI" revoke "$T/pki" "$old_d" superseded >/dev/null
cp "$T/pki/crl.pem" "$T/agg-crl.pem"
hup
cp "$old_d" "$T/old-d.crt"
agent_conf dold "$T/old-d.crt" "$T/pki/crl-d.key"
rc=0
once dold || rc=$?
check_eq "the replaced certificate, revoked: refused" 1 "$rc"
rc=0
once d || rc=$?
check_eq "the new one still served" 0 "$rc"
check "the CRL now lists 5 serials (crl-r, crl-c, crl-e, admin, crl-d's old)" sh -c \
	"openssl crl -in \"$T/pki/crl.pem\" -noout -text | grep -c 'Serial Number' | grep -qx 5"

# --- a broken CRL on reload keeps the running one ---
echo "not a CRL" >"$T/agg-crl.pem"
hup
check "an unreadable CRL: the reload is refused, the running configuration kept" \
	grep -q "reload: crl $T/agg-crl.pem: .*keeping the running configuration" "$T/aggregator.log"
rc=0
once c || rc=$?
check_eq "... crl-c is still refused" 1 "$rc"
rc=0
once d || rc=$?
check_eq "... crl-d still served" 0 "$rc"

# --- an expired CRL refuses everybody (renew it with: ipcfleet-pki crl DIR) ---
cat >"$T/crl.cnf" <<CONF
[ca]
default_ca = x
[x]
database = $T/pki/ca.db/index.txt
crlnumber = $T/pki/ca.db/crlnumber
certificate = $T/pki/ca.crt
private_key = $T/pki/ca.key
default_md = sha256
CONF
openssl ca -batch -config "$T/crl.cnf" -gencrl -crl_lastupdate 20200101000000Z \
	-crl_nextupdate 20200102000000Z -out "$T/agg-crl.pem" 2>/dev/null
hup
rc=0
once d || rc=$?
check_eq "with an expired CRL a valid certificate is refused" 1 "$rc"
check "... logged: CRL has expired" grep -q "client certificate: CRL has expired" "$T/aggregator.log"
"$PKI" crl "$T/pki" >/dev/null
cp "$T/pki/crl.pem" "$T/agg-crl.pem"
hup
rc=0
once d || rc=$?
check_eq "a renewed CRL (ipcfleet-pki crl) serves it again" 0 "$rc"
check "the aggregator is still running" kill -0 "$AGG_PID"
finish
