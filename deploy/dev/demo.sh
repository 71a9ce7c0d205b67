#!/bin/sh
# The main job on one machine: builds everything, makes a development PKI,
# starts a local aggregator on SQLite, runs the agent on this host once, and
# shows what the CLI sees.  State lives in ./run/; the aggregator keeps
# running (its pid is in run/aggregator.pid, its log in run/aggregator.log).
set -eu
cd "$(dirname "$0")/../.."
deploy/dev/build.sh
R=$PWD/run
H=$(hostname)
mkdir -p "$R"
[ -f "$R/pki/ca.crt" ] && [ -f "$R/pki/$H.crt" ] || deploy/pki/ipcfleet-pki dev "$R/pki" "$H" >/dev/null
cat >"$R/aggregator.conf" <<CONF
[server]
listen = 127.0.0.1:7701
cert = $R/pki/localhost.crt
key = $R/pki/localhost.key
ca = $R/pki/ca.crt
admins = admin
[storage]
backend = sqlite
path = $R/ipcfleet.db
CONF
cat >"$R/agent.conf" <<CONF
[agent]
server = localhost:7701
cert = $R/pki/$H.crt
key = $R/pki/$H.key
ca = $R/pki/ca.crt
interval = 60s
spool = $R/spool
CONF
cat >"$R/cli.conf" <<CONF
[cli]
server = localhost:7701
cert = $R/pki/admin.crt
key = $R/pki/admin.key
ca = $R/pki/ca.crt
CONF
if [ -f "$R/aggregator.pid" ] && kill -0 "$(cat "$R/aggregator.pid")" 2>/dev/null; then
	kill "$(cat "$R/aggregator.pid")"
	sleep 0.5
fi
build/bin/ipcfleet-aggregator -c "$R/aggregator.conf" >>"$R/aggregator.log" 2>&1 &
echo $! >"$R/aggregator.pid"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	build/bin/ipcfleet --config "$R/cli.conf" hosts >/dev/null 2>&1 && break
	sleep 0.25
done
build/bin/ipcfleet-agent -c "$R/agent.conf" --once
echo "\$ ipcfleet hosts"
build/bin/ipcfleet --config "$R/cli.conf" hosts
echo
echo "\$ ipcfleet host $H"
build/bin/ipcfleet --config "$R/cli.conf" host "$H"
echo
echo "The aggregator keeps running (pid $(cat "$R/aggregator.pid")); try:"
echo "  IPCFLEET_CONFIG=$R/cli.conf build/bin/ipcfleet hosts --json"
echo "  build/bin/ipcfleet-agent -c $R/agent.conf     # one snapshot a minute"
