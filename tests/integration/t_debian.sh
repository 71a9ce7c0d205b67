#!/usr/bin/env bash
# The Debian packages, for real, on this machine (root): built by
# deploy/debian/build-deb.sh, checked by lintian (no tag at all beyond the
# overrides, pedantic and experimental ones included), installed with
# dpkg -i; the installed programs run (the agent's --print in a private IPC
# namespace with exact numbers, -t on the installed example
# configurations, the aggregator as the user postinst made, the agent
# --once delivering through the package's spool, the CLI); then removed
# (conffiles, user and data stay) and purged, which must leave nothing:
# no file of the packages, no directory, no user or group, no systemd
# state.  Runs in the build without sanitizers only (it builds its own
# tree).
. "$(dirname "$0")/lib.sh"
need_root "dpkg -i, a system user"
if grep -q '^IPCFLEET_SANITIZE:BOOL=ON' "$BIN/../CMakeCache.txt" 2>/dev/null; then
	skip "runs in the build without sanitizers only"
fi
need dpkg-buildpackage
need dh
need unshare
need jq
PKGS="ipcfleet ipcfleet-aggregator ipcfleet-agent ipcfleet-common"
# A run killed midway left its packages installed: purge them first.  Any
# other installation of ipcfleet on this machine is not the test's to touch.
MARK=/var/tmp/ipcfleet-t_debian.running
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' $PKGS 2>/dev/null |
	awk '$2 ~ /^[a-z]i/ || $2 ~ /^rc/ {print $1}' || true)
if [ -n "$installed" ]; then
	if [ -e "$MARK" ]; then
		echo "# purging what an interrupted run left: $installed"
		# shellcheck disable=SC2086
		dpkg --purge $installed >/dev/null 2>&1 || true
	else
		skip "ipcfleet packages are installed on this machine ($installed); not touching them"
	fi
fi
for p in /etc/ipcfleet /var/db/ipcfleet /var/db/ipcfleet-agent; do
	[ ! -e "$p" ] || [ -e "$MARK" ] || skip "$p exists on this machine; not touching it"
done
if getent passwd ipcfleet >/dev/null && [ ! -e "$MARK" ]; then
	skip "a user ipcfleet exists on this machine; not touching it"
fi
vardb_existed=0
[ -d /var/db ] && [ ! -e "$MARK" ] && vardb_existed=1

# dpkg with a wait for its lock (another process may be using apt)
dpkg_w() {
	local i
	for i in $(seq 1 60); do
		if dpkg "$@" >"$T/dpkg.out" 2>&1; then return 0; fi
		grep -q "lock" "$T/dpkg.out" || { cat "$T/dpkg.out"; return 1; }
		sleep 2
	done
	cat "$T/dpkg.out"
	return 1
}

# --- build ---
t0=$(date +%s)
rc=0
"$SRC/deploy/debian/build-deb.sh" "$T/debs" >"$T/build.out" 2>&1 || rc=$?
t1=$(date +%s)
echo "# build-deb.sh took $((t1 - t0))s"
[ "$rc" = 0 ] || cat "$T/build.out"
check_eq "build-deb.sh exits 0" 0 "$rc"
V=$(sed -n 's/^project(ipcfleet VERSION \([0-9][0-9.]*\) .*/\1/p' "$SRC/CMakeLists.txt")
A=$(dpkg --print-architecture)
for p in ipcfleet ipcfleet-aggregator ipcfleet-agent; do
	check "built ${p}_${V}_$A.deb" test -s "$T/debs/${p}_${V}_$A.deb"
done
check "built ipcfleet-common_${V}_all.deb" test -s "$T/debs/ipcfleet-common_${V}_all.deb"
[ "$rc" = 0 ] || { finish; exit 1; }
DEBS="$T/debs/ipcfleet-common_${V}_all.deb $T/debs/ipcfleet-agent_${V}_$A.deb
$T/debs/ipcfleet-aggregator_${V}_$A.deb $T/debs/ipcfleet_${V}_$A.deb"

# --- contents ---
contents() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|'; }
has_file() { contents "$1" | grep -qx -- "$2"; }
conffiles() { dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./conffiles 2>/dev/null || true; }
D=$T/debs
check "agent: /usr/sbin/ipcfleet-agent" has_file "$D/ipcfleet-agent_${V}_$A.deb" /usr/sbin/ipcfleet-agent
check "agent: its unit" has_file "$D/ipcfleet-agent_${V}_$A.deb" /lib/systemd/system/ipcfleet-agent.service
check "agent: its man page" has_file "$D/ipcfleet-agent_${V}_$A.deb" /usr/share/man/man8/ipcfleet-agent.8.gz
check_eq "agent: the example is its conffile" /etc/ipcfleet/agent.conf.example \
	"$(conffiles "$D/ipcfleet-agent_${V}_$A.deb")"
check "aggregator: its unit" has_file "$D/ipcfleet-aggregator_${V}_$A.deb" \
	/lib/systemd/system/ipcfleet-aggregator.service
check "aggregator: the alerting rules" has_file "$D/ipcfleet-aggregator_${V}_$A.deb" \
	/usr/share/ipcfleet/prometheus/ipcfleet.rules.yml
check_eq "aggregator: the example is its conffile" /etc/ipcfleet/aggregator.conf.example \
	"$(conffiles "$D/ipcfleet-aggregator_${V}_$A.deb")"
check "cli: /usr/bin/ipcfleet" has_file "$D/ipcfleet_${V}_$A.deb" /usr/bin/ipcfleet
check "cli: ipcfleet-pki and its man page" has_file "$D/ipcfleet_${V}_$A.deb" /usr/share/man/man8/ipcfleet-pki.8.gz
check_eq "cli: the example is its conffile" /etc/ipcfleet/cli.conf.example \
	"$(conffiles "$D/ipcfleet_${V}_$A.deb")"
check "common: ipcfleet.conf(5)" has_file "$D/ipcfleet-common_${V}_all.deb" /usr/share/man/man5/ipcfleet.conf.5.gz
check "no FreeBSD file in any package" sh -c "! (for d in $D/*.deb; do dpkg-deb -c \$d; done) | grep -q freebsd"
check "the packaged unit runs /usr/sbin with /etc/ipcfleet" \
	sh -c "dpkg-deb --fsys-tarfile '$D/ipcfleet-agent_${V}_$A.deb' | tar -xOf - ./lib/systemd/system/ipcfleet-agent.service |
	grep -qx 'ExecStart=/usr/sbin/ipcfleet-agent -c /etc/ipcfleet/agent.conf'"

# --- lintian: nothing but the documented overrides ---
if command -v lintian >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	lintian -E --pedantic --info --display-info "$D"/*.deb >"$T/lintian.out" 2>&1 || true
	grep -E '^[EWIPX]: ' "$T/lintian.out" >"$T/lintian.tags" || true
	[ -s "$T/lintian.tags" ] && cat "$T/lintian.tags"
	check_eq "lintian: no tag (errors to pedantic, experimental too)" 0 "$(wc -l <"$T/lintian.tags")"
	# the three overrides, each still needed (lintian says when one is not)
	check "lintian: no unused override" sh -c "! grep -q 'unused-override' '$T/lintian.out'"
else
	fail "lintian is not installed (deploy/dev/install-deps.sh installs it)"
fi

# --- install ---
touch "$MARK"
# shellcheck disable=SC2086
check "dpkg -i the four packages" dpkg_w -i $DEBS
for p in $PKGS; do
	check_eq "$p is installed" "ii" "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" | cut -c1-2)"
done
# the files of the packages, to look for after the purge
dpkg-query -L $PKGS | sort -u >"$T/files.txt"
check "the agent is on PATH" test -x /usr/sbin/ipcfleet-agent
check "the aggregator is on PATH" test -x /usr/sbin/ipcfleet-aggregator
check "the CLI is on PATH" test -x /usr/bin/ipcfleet
check "ipcfleet --version" sh -c "/usr/bin/ipcfleet --version | grep -q '$V'"
check "the user ipcfleet exists" sh -c "getent passwd ipcfleet >/dev/null"
check "ipcfleet is a system user" test "$(getent passwd ipcfleet | cut -d: -f3)" -lt 1000
check_eq "ipcfleet's home and shell" "/var/db/ipcfleet:/usr/sbin/nologin" \
	"$(getent passwd ipcfleet | cut -d: -f6-7)"
check_eq "the database directory: ipcfleet's, 0750" "ipcfleet ipcfleet 750" \
	"$(stat -c '%U %G %a' /var/db/ipcfleet)"
check_eq "the spool's parent: root's alone, 0700" "root root 700" \
	"$(stat -c '%U %G %a' /var/db/ipcfleet-agent)"
check "the agent's unit is installed, not enabled" \
	sh -c "test -f /lib/systemd/system/ipcfleet-agent.service &&
	! ls /etc/systemd/system/*.wants/ipcfleet-agent.service 2>/dev/null"
check "the aggregator's unit is installed, not enabled" \
	sh -c "test -f /lib/systemd/system/ipcfleet-aggregator.service &&
	! ls /etc/systemd/system/*.wants/ipcfleet-aggregator.service 2>/dev/null"

# --- the installed agent: --print, exact, in a private IPC namespace ---
rc=0
unshare --ipc sh -c "'$BIN/ipcobj' sem 7 0600 >/dev/null && '$BIN/ipcobj' sem 5 0600 >/dev/null &&
	/usr/sbin/ipcfleet-agent --print --json" >"$T/print.json" 2>"$T/print.err" || rc=$?
check_eq "ipcfleet-agent --print --json exits 0" 0 "$rc"
check_eq "--print: semmns used 12" 12 "$(jq '.usage.semmns.used' "$T/print.json")"
check_eq "--print: semmni used 2" 2 "$(jq '.usage.semmni.used' "$T/print.json")"
rc=0
/usr/sbin/ipcfleet-agent --print >"$T/print.txt" 2>&1 || rc=$?
check_eq "ipcfleet-agent --print (text, this host) exits 0" 0 "$rc"
check "--print shows the limits table" grep -q '^semmni ' "$T/print.txt"

# --- -t on the installed examples, with certificates where they name them ---
/usr/sbin/ipcfleet-pki init "$T/pki" >/dev/null
/usr/sbin/ipcfleet-pki server "$T/pki" localhost IP:127.0.0.1 >/dev/null
/usr/sbin/ipcfleet-pki agent "$T/pki" deb-agent >/dev/null
/usr/sbin/ipcfleet-pki admin "$T/pki" ops1 >/dev/null
check "the packaged ipcfleet-pki made a CA and certificates" test -s "$T/pki/deb-agent.crt"
install -m 0644 "$T/pki/ca.crt" /etc/ipcfleet/ca.crt
install -m 0644 "$T/pki/localhost.crt" /etc/ipcfleet/aggregator.crt
install -m 0600 "$T/pki/localhost.key" /etc/ipcfleet/aggregator.key
install -m 0644 "$T/pki/deb-agent.crt" /etc/ipcfleet/agent.crt
install -m 0600 "$T/pki/deb-agent.key" /etc/ipcfleet/agent.key
check_eq "ipcfleet-aggregator -t on the installed example" \
	"/etc/ipcfleet/aggregator.conf.example: configuration OK" \
	"$(/usr/sbin/ipcfleet-aggregator -t -c /etc/ipcfleet/aggregator.conf.example 2>&1)"
check_eq "ipcfleet-agent -t on the installed example" \
	"/etc/ipcfleet/agent.conf.example: configuration OK" \
	"$(/usr/sbin/ipcfleet-agent -t -c /etc/ipcfleet/agent.conf.example 2>&1)"

# --- together: the aggregator as ipcfleet, the agent through its spool ---
chmod 0755 "$T"
install -d -m 0755 -o ipcfleet "$T/run"
install -m 0600 -o ipcfleet "$T/pki/localhost.key" "$T/run/agg.key"
sed -e 's/^listen = .*/listen = 127.0.0.1:0/' -e "s|^key = .*|key = $T/run/agg.key|" \
	-e 's/^admins = .*/admins = ops1/' /etc/ipcfleet/aggregator.conf.example >"$T/run/aggregator.conf"
chmod 0644 "$T/run/aggregator.conf"
runuser -u ipcfleet -- /usr/sbin/ipcfleet-aggregator -c "$T/run/aggregator.conf" \
	--port-file "$T/run/port" -v >"$T/aggregator.log" 2>&1 &
AGG_PID=$!
for _ in $(seq 1 100); do
	[ -s "$T/run/port" ] && break
	kill -0 "$AGG_PID" 2>/dev/null || break
	sleep 0.05
done
PORT=$(cat "$T/run/port" 2>/dev/null || true)
[ -n "$PORT" ] || cat "$T/aggregator.log"
check "the installed aggregator starts as ipcfleet" test -n "$PORT"
check_eq "its database is in /var/db/ipcfleet, ipcfleet's" ipcfleet \
	"$(stat -c %U /var/db/ipcfleet/ipcfleet.db 2>/dev/null)"
sed -e "s/^server = .*/server = localhost:$PORT/" /etc/ipcfleet/agent.conf.example >"$T/run/agent.conf"
rc=0
unshare --ipc sh -c "'$BIN/ipcobj' sem 9 0600 >/dev/null &&
	/usr/sbin/ipcfleet-agent -c '$T/run/agent.conf' --once" >"$T/agent.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || cat "$T/agent.out"
check_eq "the installed agent delivers (--once exits 0)" 0 "$rc"
check "its spool is in /var/db/ipcfleet-agent, root's, 0700" \
	test "$(stat -c '%U %a' /var/db/ipcfleet-agent/spool)" = "root 700"
rc=0
/usr/bin/ipcfleet --server "localhost:$PORT" --cert "$T/pki/ops1.crt" --key "$T/pki/ops1.key" \
	--ca /etc/ipcfleet/ca.crt --json host deb-agent >"$T/host.json" 2>&1 || rc=$?
check_eq "the installed CLI sees the host" 0 "$rc"
check_eq "... with its 9 semaphores" 9 "$(jq '.usage.semmns.used' "$T/host.json" 2>/dev/null)"
stop_agg

# --- remove: conffiles, the user and the data stay ---
rm -f /etc/ipcfleet/ca.crt /etc/ipcfleet/aggregator.crt /etc/ipcfleet/aggregator.key \
	/etc/ipcfleet/agent.crt /etc/ipcfleet/agent.key
# shellcheck disable=SC2086
check "dpkg -r the four packages" dpkg_w -r $PKGS
check "after remove: the programs are gone" test ! -e /usr/sbin/ipcfleet-agent
check "after remove: the examples (conffiles) stay" test -f /etc/ipcfleet/aggregator.conf.example
check "after remove: the user stays" sh -c "getent passwd ipcfleet >/dev/null"
check "after remove: the database stays" test -f /var/db/ipcfleet/ipcfleet.db

# --- purge: nothing left ---
# shellcheck disable=SC2086
check "dpkg --purge the four packages" dpkg_w --purge $PKGS
for p in $PKGS; do
	check_eq "$p is not known to dpkg any more" "" \
		"$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | tr -d ' ' || true)"
done
left=
while read -r f; do
	case $f in
	/ | /. | /etc | /lib | /lib/systemd | /lib/systemd/system | /usr | /usr/bin | /usr/sbin | /usr/share | \
		/usr/share/doc | /usr/share/man | /usr/share/man/man[158] | /usr/share/bash-completion | \
		/usr/share/bash-completion/completions | /usr/share/lintian | /usr/share/lintian/overrides) continue ;;
	esac
	[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$T/files.txt"
check_eq "purge: no file or directory of the packages is left" "" "$left"
for p in /etc/ipcfleet /var/db/ipcfleet /var/db/ipcfleet-agent /usr/share/ipcfleet; do
	check "purge: $p is gone" test ! -e "$p"
done
if [ "$vardb_existed" = 0 ]; then
	check "purge: /var/db, made by postinst, is gone" test ! -e /var/db
fi
check "purge: the user ipcfleet is gone" sh -c "! getent passwd ipcfleet >/dev/null"
check "purge: the group ipcfleet is gone" sh -c "! getent group ipcfleet >/dev/null"
check "purge: no systemd state of the units" \
	sh -c "! ls /var/lib/systemd/deb-systemd-helper-enabled/ 2>/dev/null | grep -q ipcfleet &&
	! ls /var/lib/systemd/deb-systemd-helper-masked/ 2>/dev/null | grep -q ipcfleet"
rm -f "$MARK"
echo "# t_debian took $(($(date +%s) - t0))s"
finish
