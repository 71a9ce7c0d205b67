#!/usr/bin/env bash
# ci-check.sh [source|package]: checks the Ansible roles for real, on this
# machine (Debian 12, as root):
#   1. ansible-playbook --syntax-check and ansible-lint (production profile);
#   2. both roles against localhost (connection local), with service
#      management off: "source" (the default) builds this checkout into a
#      scratch prefix; "package" builds the Debian packages
#      (deploy/debian/build-deb.sh) and has the roles install them
#      (ipcfleet_install_method: package), into /usr and /etc/ipcfleet;
#   3. a second run, which must report changed=0;
#   4. the installed aggregator (as the user the role, or the package,
#      created), the installed agent --once delivering to it and writing its
#      node_exporter textfile, and the installed CLI seeing the host;
#      /healthz and /metrics on the installed aggregator.
# Installs ansible and ansible-lint with apt when they are missing.
# Leaves nothing behind (KEEP=1 keeps the scratch directory): the user the
# aggregator role creates (ipcfleet-ci) is removed again; "package" purges
# the packages (their user, /var/db/ipcfleet*) and removes /etc/ipcfleet,
# and refuses to run (exit 77) where ipcfleet is installed already.
# IPCFLEET_SRC names another checkout to build.
set -euo pipefail
METHOD=${1:-source}
case $METHOD in source | package) ;; *) echo "usage: ci-check.sh [source|package]" >&2; exit 2 ;; esac

HERE=$(cd "$(dirname "$0")" && pwd)
# the checkout to build (default: the one this script is in)
SRC=${IPCFLEET_SRC:-$(cd "$HERE/../.." && pwd)}
CI_USER=ipcfleet-ci
t_start=$(date +%s)

say() { printf '== %s\n' "$*"; }
die() { printf 'ci-check: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (the roles install packages and set owners)"
PKGS="ipcfleet ipcfleet-aggregator ipcfleet-agent ipcfleet-common"
if [ "$METHOD" = package ]; then
	# this installs into /usr and /etc: never over an installation of ipcfleet
	if dpkg-query -W -f='${db:Status-Abbrev}\n' $PKGS 2>/dev/null | grep -q '^[a-z]i\|^rc' ||
		[ -e /etc/ipcfleet ] || [ -e /var/db/ipcfleet ] || [ -e /var/db/ipcfleet-agent ] ||
		getent passwd ipcfleet >/dev/null; then
		echo "SKIP: ipcfleet is installed on this machine (packages, /etc/ipcfleet or the user); not touching it"
		exit 77
	fi
fi

# --- tools ---
missing=
for p in ansible ansible-lint python3-apt curl; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	say "installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

S=$(mktemp -d /tmp/ipcfleet-ansible.XXXXXX)
chmod 0755 "$S" # the aggregator's user must reach its files below
AGG_PID=
user_created=0
cleanup() {
	if [ -n "$AGG_PID" ]; then
		kill "$AGG_PID" 2>/dev/null || true
		wait "$AGG_PID" 2>/dev/null || true
	fi
	if [ "$user_created" = 1 ]; then
		userdel "$CI_USER" 2>/dev/null || true
		groupdel "$CI_USER" 2>/dev/null || true
	fi
	if [ "$METHOD" = package ]; then
		# shellcheck disable=SC2086
		dpkg --purge $PKGS >/dev/null 2>&1 || true
		rm -rf /etc/ipcfleet
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $S"; else rm -rf "$S"; fi
}
trap cleanup EXIT
if [ "$METHOD" = package ]; then
	CI_USER=ipcfleet # the package's
else
	id "$CI_USER" >/dev/null 2>&1 || user_created=1
fi

# two free loopback ports: TLS and HTTP
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		[ "$p" != "${1:-}" ] || continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}
PORT=$(free_port) || die "no free port"
HPORT=$(free_port "$PORT") || die "no free port"

if [ "$METHOD" = package ]; then
	say "building the Debian packages"
	t0=$(date +%s)
	"$SRC/deploy/debian/build-deb.sh" "$S/debs" >"$S/build-deb.out" 2>&1 ||
		{ tail -30 "$S/build-deb.out"; die "build-deb.sh failed"; }
	echo "build-deb.sh took $(($(date +%s) - t0))s"
	P=/usr
	C=/etc/ipcfleet
	DB=/var/db/ipcfleet
	AD=/var/db/ipcfleet-agent
	where="    ipcfleet_install_method: package
    ipcfleet_deb_dir: $S/debs"
else
	P=$S/prefix
	C=$P/etc/ipcfleet
	DB=$S/db
	AD=$S/agent
	where="    ipcfleet_src: $SRC
    ipcfleet_prefix: $P
    ipcfleet_dbdir: $DB
    ipcfleet_agent_dir: $AD"
fi
mkdir -m 0755 "$S/textfile-parent"

cat >"$S/inventory.yml" <<EOF
---
all:
  hosts:
    ipcfleet-ci:
      ansible_connection: local
      ansible_python_interpreter: /usr/bin/python3
  children:
    ipcfleet_aggregators:
      hosts:
        ipcfleet-ci:
    ipcfleet_agents:
      hosts:
        ipcfleet-ci:
  vars:
$where
    ipcfleet_build_dir: $S/build
    ipcfleet_pki_dir: $S/pki
    ipcfleet_manage_service: false
    ipcfleet_aggregator_name: localhost
    ipcfleet_aggregator_sans: ["IP:127.0.0.1"]
    ipcfleet_aggregator_listen: 127.0.0.1:$PORT
    ipcfleet_aggregator_http_listen: 127.0.0.1:$HPORT
    ipcfleet_aggregator_admins: [ci-admin, ci-admin2]
    ipcfleet_aggregator_user: $CI_USER
    ipcfleet_aggregator_limit_thresholds: {semmns: {warn: 70}, shmall: {crit: 95}}
    ipcfleet_aggregator_server_options: {idle_timeout: 5m}
    ipcfleet_agent_name: ci-agent
    ipcfleet_agent_servers: ["localhost:$PORT"]
    ipcfleet_agent_timeout: 10s
    ipcfleet_agent_textfile: $S/textfile-parent/textfile
EOF

export ANSIBLE_CONFIG="$HERE/ansible.cfg"
export ANSIBLE_NOCOLOR=1
export ANSIBLE_FORCE_COLOR=0
export ANSIBLE_LOCAL_TEMP="$S/ansible-tmp"
export ANSIBLE_REMOTE_TEMP="$S/ansible-tmp"
cd "$HERE"

PASSES=0
FAILS=0
ok() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
notok() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }

# --- 1. static checks ---
say "syntax check"
check "syntax-check (example inventory)" \
	ansible-playbook --syntax-check -i inventory/example/hosts.yml site.yml
check "syntax-check (CI inventory)" ansible-playbook --syntax-check -i "$S/inventory.yml" site.yml
say "ansible-lint"
if ansible-lint --offline -q >"$S/lint.out" 2>&1; then
	ok "ansible-lint passes"
else
	cat "$S/lint.out"
	notok "ansible-lint passes"
fi

# --- 2. and 3. two real runs ---
# recap_changed FILE: the changed= count of the run's only host
recap_changed() { sed -n 's/^ipcfleet-ci *: .*changed=\([0-9]*\).*$/\1/p' "$1" | tail -1; }
recap_failed() { sed -n 's/^ipcfleet-ci *: .*failed=\([0-9]*\).*$/\1/p' "$1" | tail -1; }
for run in 1 2; do
	say "run $run"
	t0=$(date +%s)
	rc=0
	ansible-playbook -i "$S/inventory.yml" site.yml >"$S/run$run.out" 2>&1 || rc=$?
	t1=$(date +%s)
	echo "run $run took $((t1 - t0))s"
	if [ "$rc" != 0 ]; then
		tail -60 "$S/run$run.out"
		notok "run $run succeeds (exit $rc)"
		echo "$PASSES passed, $FAILS failed"
		exit 1
	fi
	ok "run $run succeeds"
	check "run $run: failed=0" test "$(recap_failed "$S/run$run.out")" = 0
done
c1=$(recap_changed "$S/run1.out")
c2=$(recap_changed "$S/run2.out")
check "run 1 changed things ($c1)" test "${c1:-0}" -gt 0
if [ "$c2" = 0 ]; then
	ok "run 2: changed=0 (idempotent)"
else
	grep -E '^changed:' "$S/run2.out" || true
	notok "run 2: changed=0 (idempotent), got changed=$c2"
fi

# --- what was installed ---
if [ "$METHOD" = package ]; then
	man=share/man/man1/ipcfleet.1.gz\ share/man/man5/ipcfleet.conf.5.gz\ share/man/man8/ipcfleet-agent.8.gz
	UNITS=/lib/systemd/system
	for p in $PKGS; do
		check "package $p is installed" \
			test "$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" | cut -c1-2)" = ii
	done
else
	man=share/man/man1/ipcfleet.1\ share/man/man5/ipcfleet.conf.5\ share/man/man8/ipcfleet-agent.8
	UNITS=$P/share/ipcfleet/systemd
fi
for f in sbin/ipcfleet-agent sbin/ipcfleet-aggregator bin/ipcfleet sbin/ipcfleet-pki $man \
	share/bash-completion/completions/ipcfleet share/ipcfleet/grafana/ipcfleet.json \
	share/ipcfleet/prometheus/ipcfleet.rules.yml; do
	check "installed $f" test -s "$P/$f"
done
for f in ipcfleet-agent.service ipcfleet-aggregator.service; do
	check "installed $UNITS/$f" test -s "$UNITS/$f"
done
check "the installed units name this prefix" \
	grep -qx "ExecStart=$P/sbin/ipcfleet-aggregator -c $C/aggregator.conf" \
	"$UNITS/ipcfleet-aggregator.service"
check "agent key is mode 0600" test "$(stat -c %a "$C/agent.key")" = 600
check "aggregator key belongs to $CI_USER, mode 0600" \
	test "$(stat -c '%U %a' "$C/aggregator.key")" = "$CI_USER 600"
check "database directory belongs to $CI_USER" test "$(stat -c %U "$DB")" = "$CI_USER"
check "spool is mode 0700" test "$(stat -c %a "$AD/spool")" = 700
check "spool's parent is root's alone" test "$(stat -c '%U %a' "$AD")" = "root 700"
check "the textfile directory is root's, 0755" \
	test "$(stat -c '%U %a' "$S/textfile-parent/textfile")" = "root 755"
check "agent.conf names it" grep -qx "textfile = $S/textfile-parent/textfile" "$C/agent.conf"
check "agent.conf names the aggregator" grep -qx "server = localhost:$PORT" "$C/agent.conf"
check "aggregator.conf has both admins" \
	sh -c "grep -qx 'admins = ci-admin' '$C/aggregator.conf' && grep -qx '    ci-admin2' '$C/aggregator.conf'"
check "aggregator.conf has the per-limit threshold" grep -qx "semmns.warn = 70" "$C/aggregator.conf"
check "installed agent -t accepts agent.conf" "$P/sbin/ipcfleet-agent" -t -c "$C/agent.conf"
check "installed aggregator -t accepts aggregator.conf" \
	"$P/sbin/ipcfleet-aggregator" -t -c "$C/aggregator.conf"
check "admin certificates issued on the controller" test -s "$S/pki/ci-admin2.crt"
if command -v systemd-analyze >/dev/null 2>&1 && systemd-analyze --version >/dev/null 2>&1; then
	check "systemd-analyze verify accepts the installed units" \
		systemd-analyze verify --man=no "$UNITS/ipcfleet-agent.service" \
		"$UNITS/ipcfleet-aggregator.service"
fi

# --- 4. the installed programs, together ---
say "installed aggregator, agent and CLI"
runuser -u "$CI_USER" -- "$P/sbin/ipcfleet-aggregator" -c "$C/aggregator.conf" -v \
	>"$S/aggregator.log" 2>&1 &
AGG_PID=$!
up=0
for _ in $(seq 1 100); do
	if [ "$(curl -s --max-time 2 "http://127.0.0.1:$HPORT/healthz" || true)" = ok ]; then
		up=1
		break
	fi
	kill -0 "$AGG_PID" 2>/dev/null || break
	sleep 0.1
done
if [ "$up" != 1 ]; then
	cat "$S/aggregator.log"
	notok "the installed aggregator starts as $CI_USER and answers /healthz"
	echo "$PASSES passed, $FAILS failed"
	exit 1
fi
ok "the installed aggregator starts as $CI_USER and answers /healthz"
rc=0
"$P/sbin/ipcfleet-agent" -c "$C/agent.conf" --once >"$S/agent.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || cat "$S/agent.out"
check "the installed agent delivers (--once exits 0)" test "$rc" = 0
check "and writes its node_exporter textfile" \
	grep -q '^ipcfleet_limit_value{host="ci-agent",limit="semmni"} ' "$S/textfile-parent/textfile/ipcfleet.prom"
if command -v promtool >/dev/null 2>&1; then
	check "promtool check metrics on the textfile" \
		sh -c "promtool check metrics <'$S/textfile-parent/textfile/ipcfleet.prom'"
fi
cli() {
	"$P/bin/ipcfleet" --server "localhost:$PORT" --cert "$S/pki/ci-admin.crt" \
		--key "$S/pki/ci-admin.key" --ca "$C/ca.crt" "$@"
}
rc=0
cli --json hosts >"$S/hosts.json" 2>&1 || rc=$?
check "the installed CLI lists hosts (exit 0)" test "$rc" = 0
check "the agent's host is there" grep -q '"host": "ci-agent"' "$S/hosts.json"
rc=0
cli host ci-agent >"$S/host.txt" 2>&1 || rc=$?
check "ipcfleet host ci-agent exits 0" test "$rc" = 0
rc=0
cli host no-such-host >/dev/null 2>&1 || rc=$?
check "an unknown host exits 1" test "$rc" = 1
curl -s --max-time 5 "http://127.0.0.1:$HPORT/metrics" >"$S/metrics.txt" || true
check "/metrics counts the stored snapshot" grep -qx 'ipcfleet_snapshots_total{result="stored"} 1' "$S/metrics.txt"
check "/metrics has the host's limits" grep -q '^ipcfleet_limit_value{host="ci-agent",limit="semmni"} ' "$S/metrics.txt"
if command -v promtool >/dev/null 2>&1; then
	check "promtool check metrics" sh -c "promtool check metrics <'$S/metrics.txt'"
fi
check "the aggregator is still running" kill -0 "$AGG_PID"

echo "ci-check ($METHOD) took $(($(date +%s) - t_start))s"
echo "$PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
