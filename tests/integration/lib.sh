# lib.sh: helpers for the integration tests (sourced by t_*.sh).
#
# Each test gets a private temporary directory ($T), a development PKI in
# $T/pki, and helpers to start the real aggregator on a loopback port chosen
# by the kernel.  Everything is torn down on exit.
set -eu

: "${BIN:?BIN must point at build/bin}"
: "${SRC:?SRC must point at the source tree}"

T=$(mktemp -d /tmp/ipcfleet-it.XXXXXX)
AGG_PID=
cleanup() {
	local rc=$? f
	if [ -n "$AGG_PID" ]; then kill "$AGG_PID" 2>/dev/null || true; wait "$AGG_PID" 2>/dev/null || true; fi
	for p in $(jobs -p); do kill "$p" 2>/dev/null || true; done
	# a failed test shows the first sanitizer report of its programs' logs
	if [ "$rc" -ne 0 ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] && grep -q "Sanitizer" "$f" || continue
			echo "# sanitizer report in ${f##*/}:"
			grep -m1 -A40 -E "^(WARNING|ERROR): [A-Za-z]+Sanitizer|runtime error" "$f" | sed 's/^/# /'
		done
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

FAILS=0
PASSES=0
pass() { PASSES=$((PASSES + 1)); echo "ok - $*"; }
fail() { FAILS=$((FAILS + 1)); echo "not ok - $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds
check() { local d=$1; shift; if "$@"; then pass "$d"; else fail "$d"; fi; }
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi; }
finish() {
	echo "$PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}
skip() { echo "SKIP: $*"; exit 77; }
# wait_for SECONDS COMMAND...: runs the command every 0.2 s until it
# succeeds (0) or SECONDS have passed (1).  For conditions the program
# promises eventually, on a machine that may be busy: the bound is generous,
# the test goes on as soon as the condition holds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$end" ] && return 1
		sleep 0.2
	done
}
# whole_capture SRC DST: a FreeBSD capture as the agent on that host reads
# it.  sorthat's sysctl-kern.ipc.txt kept only the SysV lines; a kernel's
# whole listing also has the socket layer's, which tell the agent that a
# facility without limits in it is absent, not filtered out
# (agent/collect_freebsd.h).  Pushed as it is, its message queues are unknown.
whole_capture() {
	cp -r "$1" "$2"
	{ printf 'kern.ipc.maxsockbuf: 2097152\nkern.ipc.soacceptqueue: 128\n'; cat "$1/sysctl-kern.ipc.txt"; } \
		>"$2/sysctl-kern.ipc.txt"
}
# sanitized: the programs under test are a sanitizer build (AddressSanitizer,
# or ThreadSanitizer: tests/run-all.sh), several times slower and larger;
# tests that bound time or memory take that build's bounds.
sanitized() { ldd "$BIN/ipcfleet-aggregator" 2>/dev/null | grep -Eq 'lib(a|t)san'; }
# tsanitized: ThreadSanitizer's build, whose every copy of memory is checked
tsanitized() { ldd "$BIN/ipcfleet-aggregator" 2>/dev/null | grep -q 'libtsan'; }
need_root() { [ "$(id -u)" = 0 ] || skip "needs root ($*)"; }
need() { command -v "$1" >/dev/null 2>&1 || skip "needs $1"; }

# pki_dev HOST...: CA, server "localhost", agents HOST..., admin "admin"
pki_dev() {
	"$SRC/deploy/pki/ipcfleet-pki" dev "$T/pki" "$1" >/dev/null
	shift
	for h in "$@"; do "$SRC/deploy/pki/ipcfleet-pki" agent "$T/pki" "$h" >/dev/null; done
}

# write_agg_conf [EXTRA LINES...]: aggregator config on 127.0.0.1:0
write_agg_conf() {
	cat >"$T/aggregator.conf" <<CONF
[server]
listen = 127.0.0.1:0
cert = $T/pki/localhost.crt
key = $T/pki/localhost.key
ca = $T/pki/ca.crt
admins = admin
[storage]
backend = sqlite
path = $T/ipcfleet.db
CONF
	for l in "$@"; do echo "$l" >>"$T/aggregator.conf"; done
}

# start_agg [http]: starts the aggregator, waits for its port, sets $PORT.
# With "http" (a configuration with [http] listen = 127.0.0.1:0) it also
# waits for the HTTP port and sets $HPORT and $URL (http://127.0.0.1:HPORT).
start_agg() {
	local http=${1:-} args=(--port-file "$T/port")
	rm -f "$T/port" "$T/hport"
	if [ "$http" = http ]; then args+=(--http-port-file "$T/hport"); fi
	"$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" "${args[@]}" -v \
		>>"$T/aggregator.log" 2>&1 &
	AGG_PID=$!
	for _ in $(seq 1 100); do
		[ -s "$T/port" ] && { [ "$http" != http ] || [ -s "$T/hport" ]; } && break
		kill -0 "$AGG_PID" 2>/dev/null || { cat "$T/aggregator.log"; return 1; }
		sleep 0.05
	done
	PORT=$(cat "$T/port")
	[ -n "$PORT" ] || return 1
	if [ "$http" = http ]; then
		HPORT=$(cat "$T/hport")
		URL="http://127.0.0.1:$HPORT"
		[ -n "$HPORT" ]
	fi
}

# start_agg_fixed [same]: for tests whose agents' configuration names a
# port, so that the aggregator must come back on the same one: a random port
# in 20000-40000 ($FIXED_PORT), another one when it is taken (unless "same":
# then wait for it).
start_agg_fixed() {
	local try
	for try in $(seq 1 20); do
		[ -n "${FIXED_PORT:-}" ] || FIXED_PORT=$((20000 + RANDOM % 20000))
		sed -i "s/^listen = .*/listen = 127.0.0.1:$FIXED_PORT/" "$T/aggregator.conf"
		start_agg >/dev/null && return 0
		if [ "${1:-}" = same ]; then sleep 0.3; else FIXED_PORT=; fi
	done
	return 1
}

# no_sanitizer_report FILE...: no report of AddressSanitizer, LeakSanitizer,
# ThreadSanitizer or UndefinedBehaviorSanitizer ("runtime error") in them
no_sanitizer_report() {
	! grep -Eq 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error' "$@" 2>/dev/null
}
# stop_agg: SIGTERM, then wait; a sanitizer report made while it ran or shut
# down (a race on the SIGTERM path, say) fails the test here
stop_agg() {
	kill "$AGG_PID" && wait "$AGG_PID" || true
	AGG_PID=
	no_sanitizer_report "$T/aggregator.log" || fail "a sanitizer report in aggregator.log"
}

# term_agent PID: SIGTERM to a running agent, which must exit 0
term_agent() {
	local rc=0
	kill -TERM "$1"
	wait "$1" || rc=$?
	check_eq "the agent exits 0 on SIGTERM" 0 "$rc"
}

# write_agent_conf NAME HOST: agent config for certificate HOST into $T/NAME.conf
write_agent_conf() {
	cat >"$T/$1.conf" <<CONF
[agent]
server = localhost:$PORT
cert = $T/pki/$2.crt
key = $T/pki/$2.key
ca = $T/pki/ca.crt
interval = 60s
spool = $T/spool-$1
CONF
}

write_cli_conf() {
	cat >"$T/cli.conf" <<CONF
[cli]
server = localhost:$PORT
cert = $T/pki/admin.crt
key = $T/pki/admin.key
ca = $T/pki/ca.crt
CONF
}

cli() { "$BIN/ipcfleet" --config "$T/cli.conf" "$@"; }

# start_loadgen ACKS PORT AGENTS INTERVAL DURATION DRAIN PREFIX: simulated
# agents (ipcfleet-loadgen) in the background, $LG their pid: AGENTS
# persistent mTLS agents named PREFIX-0001..., a snapshot each INTERVAL
# seconds for DURATION seconds, then DRAIN seconds at most for the acks
# outstanding.  Each acknowledged "host seq" is a line of $T/ACKS; the
# figures go to $T/ACKS.out (lg_val), errors to $T/ACKS.err.
start_loadgen() {
	"$BIN/ipcfleet-loadgen" --ca-cert "$T/pki/ca.crt" --ca-key "$T/pki/ca.key" \
		--server "localhost:$2" --agents "$3" --interval "$4" --duration "$5" \
		--drain "$6" --prefix "$7" --log-acks "$T/$1" >"$T/$1.out" 2>"$T/$1.err" &
	LG=$!
}
# lg_val FIGURE [ACKS]: a figure the load generator printed at its end
lg_val() { sed -n "s/^$1=\([0-9.]*\) .*/\1/p" "$T/${2:-acks}.out"; }
