#!/usr/bin/env bash
# Security (issue 6, docs/SECURITY.md): least privilege.
#
# The aggregator started as root with [server] user = nobody binds, opens its
# database, gives the database files to that user, then runs as that user for
# good (uids, gids, groups, no capabilities) and still stores snapshots.  A
# reload reads the keys as that user.  Files are created private whatever
# the umask: the database and its -wal/-shm 0600, the agent's spool 0700 with
# 0600 files (an existing 0755 spool is made 0700).  The agent, started as
# root, keeps only CAP_SYS_ADMIN, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH.
. "$(dirname "$0")/lib.sh"
need_root "switching users and dropping capabilities"
need stat
getent passwd nobody >/dev/null || skip "needs the user nobody"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

pki_dev pd-host
# The aggregator reads its files as nobody after the drop (SIGHUP): a copy
# of its certificates that nobody owns, reachable through $T.
chmod 711 "$T"
install -d -m 0700 -o nobody -g "$NOBODY_GID" "$T/etc"
for f in localhost.crt localhost.key ca.crt; do
	install -m 0600 -o nobody -g "$NOBODY_GID" "$T/pki/$f" "$T/etc/$f"
done
mkdir -m 0755 "$T/db"
cat >"$T/aggregator.conf" <<CONF
[server]
listen = 127.0.0.1:0
cert = $T/etc/localhost.crt
key = $T/etc/localhost.key
ca = $T/etc/ca.crt
admins = admin
user = nobody
[storage]
path = $T/db/ipcfleet.db
CONF
chmod 644 "$T/aggregator.conf"

# --- configuration checks ---
sed 's/^user = nobody$/user = no-such-user-ipcfleet/' "$T/aggregator.conf" >"$T/bad-user.conf"
set +e
"$BIN/ipcfleet-aggregator" -c "$T/bad-user.conf" -t >"$T/bad-user.out" 2>&1
rc=$?
set -e
check_eq "an unknown [server] user: -t exits 1" 1 "$rc"
check "... and names it" grep -q "\[server\] user 'no-such-user-ipcfleet': no such user" \
	"$T/bad-user.out"
sed 's/^user = nobody$/user = root/' "$T/aggregator.conf" >"$T/root-user.conf"
sed -i "s|^path = .*|path = $T/root-user.db|" "$T/root-user.conf"
set +e
"$BIN/ipcfleet-aggregator" -c "$T/root-user.conf" --port-file "$T/port-root" >"$T/root-user.out" 2>&1
rc=$?
set -e
check_eq "user = root is refused at start" 1 "$rc"
check "... nothing would be dropped" grep -q "\[server\] user 'root' is root: nothing would be dropped" \
	"$T/root-user.out"

# --- started as root, with umask 000: runs as nobody, files stay private ---
(umask 000 && exec "$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" --port-file "$T/port" -v) \
	>>"$T/aggregator.log" 2>&1 &
AGG_PID=$!
for _ in $(seq 1 100); do
	grep -q "running as user nobody" "$T/aggregator.log" 2>/dev/null && break
	kill -0 "$AGG_PID" 2>/dev/null || break
	sleep 0.05
done
PORT=$(cat "$T/port")
check "it logs the switch" grep -q "running as user nobody (uid $NOBODY_UID, gid $NOBODY_GID)" \
	"$T/aggregator.log"
st() { awk -v k="$1:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$AGG_PID/status"; }
check_eq "real, effective, saved and fs uid are nobody's" \
	"$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" "$(st Uid)"
check_eq "all four gids are nobody's group" \
	"$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID" "$(st Gid)"
check_eq "no supplementary group but that one" "$NOBODY_GID" "$(st Groups | tr -d ' ')"
check_eq "no effective capability" 0000000000000000 "$(st CapEff)"
check_eq "no permitted capability" 0000000000000000 "$(st CapPrm)"
for f in ipcfleet.db ipcfleet.db-wal ipcfleet.db-shm; do
	check_eq "$f: owned by nobody, mode 0600 (umask 000)" "$NOBODY_UID 600" \
		"$(stat -c '%u %a' "$T/db/$f")"
done

write_agent_conf pd pd-host
echo "source = linux-root:$FIXTURES/linux-modern" >>"$T/pd.conf"
rc=0
(umask 000 && exec "$BIN/ipcfleet-agent" -c "$T/pd.conf" --once) >"$T/pd.out" 2>&1 || rc=$?
check_eq "snapshots are stored after the switch (agent --once acknowledged)" 0 "$rc"
check_eq "a new spool is 0700 (umask 000)" 700 "$(stat -c '%a' "$T/spool-pd")"
check_eq "its seq file is 0600" 600 "$(stat -c '%a' "$T/spool-pd/seq")"
mkdir -m 0755 "$T/spool-loose"
sed "s|^spool = .*|spool = $T/spool-loose|" "$T/pd.conf" >"$T/loose.conf"
(umask 000 && exec "$BIN/ipcfleet-agent" -c "$T/loose.conf" --once) >"$T/loose.out" 2>&1 || true
check_eq "an existing spool of mode 0755 is made 0700" 700 "$(stat -c '%a' "$T/spool-loose")"
# a spooled entry: the aggregator is unreachable, so it stays
sed "s|^server = .*|server = 127.0.0.1:1|; s|^spool = .*|spool = $T/spool-kept|" "$T/pd.conf" \
	>"$T/kept.conf"
(umask 000 && exec "$BIN/ipcfleet-agent" -c "$T/kept.conf" --once) >"$T/kept.out" 2>&1 || true
check_eq "a spooled snapshot is 0600 (umask 000)" 600 \
	"$(stat -c '%a' "$(ls "$T/spool-kept/"*.snap | head -1)")"

# --- reload as nobody ---
nlog() { grep -c -- "$1" "$T/aggregator.log" || true; }
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
hup
check "SIGHUP as nobody reloads the files nobody owns" \
	grep -q "reload: configuration and certificates reloaded" "$T/aggregator.log"
chown root "$T/etc/localhost.key"
hup
check "a key nobody cannot read: the reload says so and keeps running" \
	grep -q "reload: key $T/etc/localhost.key: Permission denied; keeping the running configuration" \
	"$T/aggregator.log"
rc=0
"$BIN/ipcfleet-agent" -c "$T/pd.conf" --once >>"$T/pd.out" 2>&1 || rc=$?
check_eq "... and still serves" 0 "$rc"
stop_agg

# --- the agent, started as root, keeps three capabilities ---
KEEP_MASK=$(printf '%016x' $((0x$(awk '/^CapBnd:/ { print $2 }' /proc/self/status) & 0x280004)))
"$BIN/ipcfleet-agent" -c "$T/kept.conf" >"$T/agent-daemon.out" 2>&1 &
APID=$!
for _ in $(seq 1 100); do
	[ "$(awk '/^CapEff:/ { print $2 }' "/proc/$APID/status" 2>/dev/null)" = "$KEEP_MASK" ] && break
	sleep 0.05
done
ast() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$APID/status"; }
check_eq "agent: effective capabilities sys_admin, sys_ptrace, dac_read_search" "$KEEP_MASK" \
	"$(ast CapEff)"
check_eq "agent: permitted, the same" "$KEEP_MASK" "$(ast CapPrm)"
check_eq "agent: bounding set, the same (nothing it runs gets more)" "$KEEP_MASK" "$(ast CapBnd)"
check_eq "agent: no inheritable capability" 0000000000000000 "$(ast CapInh)"
check_eq "agent: no ambient capability" 0000000000000000 "$(ast CapAmb)"
kill "$APID" && wait "$APID" || true
finish
