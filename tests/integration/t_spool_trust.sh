#!/usr/bin/env bash
# Issue 18.2: the agent runs as root, so a spool that another user controls
# would let that user make it write anywhere.  A system user made for the
# test (removed at exit) owns the spool, or its parent, or plants a link; the
# agent must refuse to start with a clear error, and the root-owned files
# the links point at must be unchanged.  A spool in a sticky directory (as
# /tmp), or one only readable by others, is still accepted.
. "$(dirname "$0")/lib.sh"
need_root "makes a system user and files owned by it"
need useradd
need userdel
need runuser

U=ipcft$$
on_exit() {
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	userdel "$U" 2>/dev/null || true
	cleanup
}
trap on_exit EXIT
useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$U" || skip "useradd failed"
UID_U=$(id -u "$U")
as_user() { runuser -u "$U" -- "$@"; }
chmod 0711 "$T" # the user may reach its directories below, nothing else

pki_dev it-trust
write_agg_conf
start_agg
printf 'precious\n' >"$T/victim"
chmod 0644 "$T/victim"
VSUM=$(sha256sum <"$T/victim")
victim_intact() { [ "$(sha256sum <"$T/victim")" = "$VSUM" ] && [ -f "$T/victim" ] && [ ! -L "$T/victim" ]; }

# conf NAME SPOOL: agent configuration $T/NAME.conf with that spool, 1 s interval
conf() {
	write_agent_conf "$1" it-trust
	sed -i "s#^spool = .*#spool = $2#; s/^interval = .*/interval = 1s/" "$T/$1.conf"
}
# refused NAME: --once must fail; its log in $T/NAME.log
refused() {
	set +e
	"$BIN/ipcfleet-agent" -c "$T/$1.conf" --once >"$T/$1.log" 2>&1
	RC=$?
	set -e
	[ "$RC" = 1 ]
}

# 1. the spool belongs to the user: the agent starts, the user then plants
# .seq.tmp -> victim; the agent (root) must never write through it
mkdir -m 0755 "$T/p1" "$T/p1/spool"
chown "$U" "$T/p1/spool"
conf c1 "$T/p1/spool"
"$BIN/ipcfleet-agent" -c "$T/c1.conf" -v >"$T/c1.log" 2>&1 &
A1=$!
sleep 1.5
as_user ln -s "$T/victim" "$T/p1/spool/.seq.tmp" 2>/dev/null || true
as_user ln -s "$T/victim" "$T/p1/spool/.dropped.tmp" 2>/dev/null || true
sleep 3
if kill -0 "$A1" 2>/dev/null; then
	fail "spool owned by uid $UID_U: the agent refused to start (it is running)"
	kill "$A1"
	wait "$A1" 2>/dev/null || true
else
	set +e
	wait "$A1"
	rc=$?
	set -e
	check_eq "spool owned by uid $UID_U: the agent exits 1" 1 "$rc"
fi
check "... saying whose it is" grep -q "spool $T/p1/spool belongs to uid $UID_U, not to this agent" "$T/c1.log"
check "... and the file behind the planted link is unchanged" victim_intact

# 2. the parent belongs to the user (as /var/db/ipcfleet to the aggregator's
# user): it could swap the spool for its own at any restart
mkdir -m 0755 "$T/p2"
chown "$U" "$T/p2"
conf c2 "$T/p2/spool"
check "parent owned by uid $UID_U: refused" refused c2
check "... naming the parent and its owner" \
	grep -q "its parent $T/p2 belongs to uid $UID_U, who could replace the spool" "$T/c2.log"
check "... and nothing was created in it" test ! -e "$T/p2/spool"
# the swap itself: the user's own spool with a link waiting in it
rm -rf "$T/p2/spool" # (made by an agent that did not refuse)
as_user mkdir -m 0777 "$T/p2/spool"
as_user ln -s "$T/victim" "$T/p2/spool/.seq.tmp"
check "swapped spool: refused" refused c2
check "... and the file behind the link is unchanged" victim_intact

# 3. the spool path is a link (in a sticky, world-writable parent such as
# /tmp, where the user may create names): never followed
mkdir -m 1777 "$T/p3"
mkdir -m 0755 "$T/target"
: >"$T/target/.keep.tmp"
as_user ln -s "$T/target" "$T/p3/spool"
conf c3 "$T/p3/spool"
check "spool is a symbolic link: refused" refused c3
check "... saying so" grep -q "spool $T/p3/spool is a symbolic link: refused" "$T/c3.log"
check "... the directory behind it keeps its mode" test "$(stat -c %a "$T/target")" = 755
check "... and its files" test -e "$T/target/.keep.tmp"

# 4. root's, but writable by others: files may have been planted in it
mkdir -m 0755 "$T/p4"
mkdir "$T/p4/spool"
chmod 0777 "$T/p4/spool"
as_user ln -s "$T/victim" "$T/p4/spool/.seq.tmp"
conf c4 "$T/p4/spool"
check "spool writable by others: refused" refused c4
check "... saying so" grep -q "spool $T/p4/spool is writable by group or others (mode 0777)" "$T/c4.log"
check "... and the file behind the link is unchanged" victim_intact

# 5. a parent writable by group, not sticky
mkdir -m 0775 "$T/p5"
conf c5 "$T/p5/spool"
check "parent writable by group: refused" refused c5
check "... saying so" grep -q "its parent $T/p5 is writable by group or others (mode 0775)" "$T/c5.log"

# 6. accepted: a new spool in a sticky parent, and one that others could
# only read (made private)
conf c6 "$T/p3/spool6"
"$BIN/ipcfleet-agent" -c "$T/c6.conf" --once >"$T/c6.log" 2>&1 && rc=0 || rc=$?
check_eq "a new spool in a sticky directory: delivered" 0 "$rc"
check "... made 0700, root's" test "$(stat -c '%U %a' "$T/p3/spool6")" = "root 700"
mkdir -m 0755 "$T/p6"
mkdir -m 0755 "$T/p6/spool"
conf c7 "$T/p6/spool"
"$BIN/ipcfleet-agent" -c "$T/c7.conf" --once >"$T/c7.log" 2>&1 && rc=0 || rc=$?
check_eq "a root spool readable by others: delivered" 0 "$rc"
check "... and made 0700" test "$(stat -c %a "$T/p6/spool")" = 700
check "the victim was never touched" victim_intact

finish
