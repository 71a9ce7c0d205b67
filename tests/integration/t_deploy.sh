#!/usr/bin/env bash
# The deployment files, checked without deploying: the FreeBSD rc.d scripts
# (sh -n, rc.subr conventions, and what they would run, under a stand-in
# rc.subr), the systemd units (systemd-analyze verify), the bash completion
# (against a real aggregator), and the Grafana dashboard (valid JSON, every
# metric it uses served by a real aggregator, every query valid PromQL).
. "$(dirname "$0")/lib.sh"
D=$SRC/deploy

# --- rc.d ---
for s in ipcfleet_agent ipcfleet_aggregator; do
	f=$D/freebsd/rc.d/$s
	check "$s: sh -n" sh -n "$f"
	check "$s: executable" test -x "$f"
	for pat in "^# PROVIDE: $s\$" '^# REQUIRE: ' '^# KEYWORD: shutdown$' "^name=\"$s\"\$" \
		"^rcvar=\"${s}_enable\"\$" '^load_rc_config "\$name"$' \
		'^extra_commands="configtest reload"$' "^required_files=\"\\\${${s}_config}\"\$" \
		'^command="/usr/sbin/daemon"$' "^: \"\\\${${s}_enable:=NO}\"\$" '^run_rc_command "\$1"$'; do
		check "$s: has $pat" grep -q -- "$pat" "$f"
	done
done

# A stand-in for rc.subr: load_rc_config reads $T/rc.conf; run_rc_command
# prints what rc.subr would run (command, then ${name}_flags, then
# command_args, and su to ${name}_user when set), or runs the method.
cat >"$T/rc.subr" <<'EOF'
load_rc_config() { . "$RC_CONF"; }
check_pidfile() { [ -s "$1" ] && cat "$1"; }
run_rc_command() {
	eval "_flags=\${${name}_flags}; _user=\${${name}_user}"
	case $1 in
	start)
		eval "$start_precmd" || { echo "precmd failed"; return 1; }
		echo "RUN ${_user:+su -m $_user: }$command $_flags $command_args"
		;;
	*)
		eval "_cmd=\${${1}_cmd}; _pre=\${${1}_precmd}"
		[ -z "$_pre" ] || eval "$_pre" || return 1
		eval "$_cmd"
		;;
	esac
}
EOF
# fake programs that record their arguments and signals
mkdir -p "$T/fakebin"
for p in ipcfleet-agent ipcfleet-aggregator; do
	printf '#!/bin/sh\necho "%s $*" >>"%s/calls"\nexit "${FAKE_RC:-0}"\n' "$p" "$T" >"$T/fakebin/$p"
	chmod +x "$T/fakebin/$p"
done
rcrun() { # rcrun SCRIPT ARG: runs the rc.d script under the stand-in
	sed -e "s#^\. /etc/rc.subr\$#. $T/rc.subr#" -e "s#/usr/local/sbin/#$T/fakebin/#" \
		-e "s#/var/run/#$T/run-#" -e "s#install -d#true#" "$D/freebsd/rc.d/$1" >"$T/$1.sh"
	RC_CONF=$T/rc.conf sh "$T/$1.sh" "$2"
}
cat >"$T/rc.conf" <<'EOF'
ipcfleet_aggregator_enable=YES
ipcfleet_aggregator_flags="-v"
ipcfleet_agent_flags="-v --source freebsd"
ipcfleet_agent_config=/etc/ipcfleet-agent.conf
EOF
out=$(rcrun ipcfleet_aggregator start)
check_eq "aggregator start: daemon(8) with pidfiles, restart, syslog, user; flags to the program" \
	"RUN /usr/sbin/daemon -P $T/run-ipcfleet_aggregator.pid -p $T/run-ipcfleet_aggregator.child.pid -r -S -T ipcfleet_aggregator -u ipcfleet $T/fakebin/ipcfleet-aggregator -c /usr/local/etc/ipcfleet/aggregator.conf -v" \
	"$(echo "$out" | grep '^RUN' | tr -s ' ')"
check "aggregator start: configtest ran first" grep -qx "ipcfleet-aggregator -t -c /usr/local/etc/ipcfleet/aggregator.conf" "$T/calls"
out=$(rcrun ipcfleet_agent start)
check_eq "agent start: config and flags from rc.conf, as root" \
	"RUN /usr/sbin/daemon -P $T/run-ipcfleet_agent.pid -p $T/run-ipcfleet_agent.child.pid -r -S -T ipcfleet_agent $T/fakebin/ipcfleet-agent -c /etc/ipcfleet-agent.conf -v --source freebsd" \
	"$(echo "$out" | grep '^RUN' | tr -s ' ')"
: >"$T/calls"
rc=0
FAKE_RC=1 rcrun ipcfleet_agent start >"$T/out" 2>&1 || rc=$?
check "agent start: a bad configuration stops it" sh -c "[ $rc -ne 0 ] && ! grep -q '^RUN' '$T/out'"
rc=0
rcrun ipcfleet_agent configtest >"$T/out" 2>&1 || rc=$?
check_eq "agent configtest runs -t" "0 ipcfleet-agent -t -c /etc/ipcfleet-agent.conf" "$rc $(tail -1 "$T/calls")"
# reload: SIGHUP to the program's pid (daemon -p), not to daemon(8)
(
	trap 'echo hup >"$T/hup"; exit 0' HUP
	for _ in $(seq 1 100); do sleep 0.1; done
) &
child=$!
echo "$child" >"$T/run-ipcfleet_agent.child.pid"
echo 999999 >"$T/run-ipcfleet_agent.pid"
rcrun ipcfleet_agent reload >"$T/out" 2>&1 || true
wait "$child" 2>/dev/null || true
check "reload sends SIGHUP to the program's pid" test -s "$T/hup"
check "reload checked the configuration first" grep -qx "ipcfleet-agent -t -c /etc/ipcfleet-agent.conf" "$T/calls"

# --- systemd units ---
for u in ipcfleet-agent ipcfleet-aggregator; do
	f=$D/systemd/$u.service
	for pat in '^Type=simple$' "^ExecStartPre=/usr/local/sbin/$u -t -c /usr/local/etc/ipcfleet/" \
		"^ExecStart=/usr/local/sbin/$u -c /usr/local/etc/ipcfleet/" '^ExecReload=/bin/kill -HUP \$MAINPID$' \
		'^NoNewPrivileges=yes$' '^ProtectSystem=strict$' \
		'^PrivateTmp=yes$' '^ProtectHome=yes$'; do
		check "$u.service: has $pat" grep -q -- "$pat" "$f"
	done
done
check "aggregator writes its database directory" grep -qx 'ReadWritePaths=/var/db/ipcfleet' \
	"$D/systemd/ipcfleet-aggregator.service"
check "agent writes its own spool directory, not the aggregator's" grep -qx \
	'ReadWritePaths=/var/db/ipcfleet-agent' "$D/systemd/ipcfleet-agent.service"
check "aggregator runs as ipcfleet without capabilities" sh -c \
	"grep -qx 'User=ipcfleet' '$D/systemd/ipcfleet-aggregator.service' && grep -qx 'CapabilityBoundingSet=' '$D/systemd/ipcfleet-aggregator.service'"
check "agent keeps only the capabilities it documents" grep -qx \
	'CapabilityBoundingSet=CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_DAC_READ_SEARCH' "$D/systemd/ipcfleet-agent.service"
check "agent does not get a private IPC namespace" sh -c "! grep -q '^PrivateIPC=' '$D/systemd/ipcfleet-agent.service'"
if command -v systemd-analyze >/dev/null 2>&1 && systemd-analyze --version >/dev/null 2>&1; then
	for u in ipcfleet-agent ipcfleet-aggregator; do
		sed "s#/usr/local/sbin/#$BIN/#g" "$D/systemd/$u.service" >"$T/$u.service"
	done
	check "systemd-analyze verify accepts both units" \
		systemd-analyze verify --man=no "$T/ipcfleet-agent.service" "$T/ipcfleet-aggregator.service"
else
	echo "# systemd-analyze not available: units not verified"
fi

# --- a real aggregator with one host, for the completion and the dashboard ---
need openssl
pki_dev it-d1
write_agg_conf "[http]" "listen = 127.0.0.1:0"
rm -f "$T/port" "$T/hport"
"$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" --port-file "$T/port" \
	--http-port-file "$T/hport" >>"$T/aggregator.log" 2>&1 &
AGG_PID=$!
for _ in $(seq 1 100); do
	[ -s "$T/port" ] && [ -s "$T/hport" ] && break
	sleep 0.05
done
PORT=$(cat "$T/port")
write_agent_conf d1 it-d1
write_cli_conf
rc=0
"$BIN/ipcfleet-agent" -c "$T/d1.conf" --source "linux-root:$FIXTURES/linux-modern" --once \
	>"$T/agent.out" 2>&1 || rc=$?
check_eq "agent --once exits 0" 0 "$rc"

# --- bash completion ---
comp=$D/bash-completion/ipcfleet
check "completion: bash -n" bash -n "$comp"
# complete WORDS...: what the completion offers for the last word
complete_words() {
	PATH="$BIN:$PATH" bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		COMPREPLY=(); _ipcfleet; echo "${COMPREPLY[*]}"' _ "$comp" "$@"
}
check_eq "completion: commands" "hosts host" "$(complete_words ipcfleet ho)"
check_eq "completion: global options" "--ca --cert --config" \
	"$(complete_words ipcfleet --c | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
check_eq "completion: host names from the aggregator" it-d1 \
	"$(complete_words ipcfleet --config "$T/cli.conf" host "")"
check_eq "completion: host names for check" it-d1 \
	"$(complete_words ipcfleet --config "$T/cli.conf" check it)"
check_eq "completion: limits for trend" "shmall shmmax shmmni shmseg" \
	"$(complete_words ipcfleet --config "$T/cli.conf" trend it-d1 sh)"
check_eq "completion: report formats" "csv" "$(complete_words ipcfleet report --format c)"
sorted() { tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//'; }
check_eq "completion: trend options" "--scale --server --since" \
	"$(complete_words ipcfleet trend it-d1 semmns --s | sorted)"
check_eq "completion: plan options" "--max-connections --max-wal-senders --max-worker-processes" \
	"$(complete_words ipcfleet plan postgres --max | sorted)"
check_eq "completion: plan's first argument" postgres "$(complete_words ipcfleet plan "")"
check_eq "completion: --scale values" "auto limit max" "$(complete_words ipcfleet trend h l --scale "")"
check_eq "completion: no aggregator, no names, no noise" "" \
	"$(complete_words ipcfleet --server 127.0.0.1:1 --config "$T/cli.conf" host "" 2>&1)"

# --- Grafana dashboard ---
g=$D/grafana/ipcfleet.json
if command -v jq >/dev/null 2>&1; then
	check "dashboard: valid JSON with panels" sh -c "jq -e '.panels | length > 5' '$g' >/dev/null"
	check "dashboard: every panel has a unique id" \
		sh -c "jq -e '[.panels[].id] | length == (unique | length)' '$g' >/dev/null"
fi
curl -sS --max-time 10 "http://127.0.0.1:$(cat "$T/hport")/metrics" >"$T/metrics.txt"
for m in $(grep -o 'ipcfleet_[a-z_]*' "$g" | sort -u); do
	check "dashboard metric $m is served" grep -q "^${m}[{ ]" "$T/metrics.txt"
done
if command -v promtool >/dev/null 2>&1 && command -v jq >/dev/null 2>&1; then
	# every query as a recording rule, so that promtool parses it
	{
		echo "groups:"
		echo "  - name: dashboard"
		echo "    rules:"
		jq -r '.panels[].targets[]?.expr' "$g" |
			sed -e 's/\$__rate_interval/5m/g' -e 's/\$host/.*/g' -e 's/\$limit/.*/g' |
			awk '{ gsub(/\\/, "\\\\"); gsub(/"/, "\\\""); printf "      - record: ipcfleet:dashboard:q%d\n        expr: \"%s\"\n", NR, $0 }'
	} >"$T/rules.yml"
	check "dashboard: every query is valid PromQL (promtool check rules)" \
		sh -c "promtool check rules '$T/rules.yml' >'$T/rules.out' 2>&1"
fi

finish
