#!/usr/bin/env bash
# Issue 19.8: an agent whose clock is a day behind a freshly made PKI could
# not connect ("certificate is not yet valid") and nobody saw why.
# ipcfleet-pki now dates certificates from two days ago: such an agent
# delivers (and the aggregator raises a `clock` finding for it).  Beyond
# that, the agent's error says to check this host's clock, for a server
# certificate not yet valid as for an expired one.  The clocks are moved
# with faketime (Debian package faketime).
. "$(dirname "$0")/lib.sh"
need faketime
need jq

pki_dev it-clock
write_agg_conf
start_agg
write_agent_conf c it-clock
write_cli_conf
# the agent alone runs on a shifted clock (its monotonic clock left alone);
# a sanitizer runtime must let faketime's library come first
agent_at() {
	local shift=$1
	shift
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f "$shift" "$BIN/ipcfleet-agent" "$@"
}
check "faketime moves the clock" test "$(FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f -1d date -u +%s)" -lt $(($(date -u +%s) - 80000))

set +e
agent_at -1d -c "$T/c.conf" --once >"$T/behind1.log" 2>&1
rc=$?
set -e
check_eq "an agent one day behind a fresh PKI delivers" 0 "$rc"
[ "$rc" = 0 ] || sed 's/^/# /' "$T/behind1.log"
n=$(cli host it-clock --json 2>/dev/null | jq '[.findings[] | select(.kind == "clock")] | length' || true)
check_eq "the aggregator raises a clock finding for it" 1 "$n"

set +e
agent_at -3d -c "$T/c.conf" --once >"$T/behind3.log" 2>&1
rc=$?
set -e
check_eq "three days behind: it cannot connect" 1 "$rc"
check "... and says the certificate is not yet valid by this host's clock" \
	grep -q "server certificate refused: certificate is not yet valid (by this host's clock, now 20" "$T/behind3.log"
check "... to check the clock" grep -q "check this host's clock" "$T/behind3.log"

set +e
agent_at +900d -c "$T/c.conf" --once >"$T/ahead.log" 2>&1
rc=$?
set -e
check_eq "past the certificates' end (825 days): it cannot connect" 1 "$rc"
check "... and says the certificate has expired, and to check the clock" \
	grep -q "certificate has expired (by this host's clock, now 20.*check this host's clock" "$T/ahead.log"

finish
