#!/usr/bin/env bash
# ipcfleet-agent --textfile DIR: node_exporter's textfile, for real.
#  1. no configuration, a fixture tree: --once writes DIR/ipcfleet.prom with
#     exactly the fixture's numbers, mode 0644 under umask 077, and promtool
#     check metrics has nothing to say; the daemon form rewrites it and stops
#     on SIGTERM;
#  2. with a configuration and a real aggregator: it delivers as usual, the
#     host label is the certificate's CN, and the limit series are the very
#     lines of the aggregator's /metrics; [agent] textfile works as the flag;
#  3. atomic: a reader looping over the file while 20 agents rewrite a 2 MB
#     one (1,500 jails) never sees it incomplete;
#  4. refused: a DIR that is a symbolic link (nothing written through it), a
#     DIR others may write, with a clear reason and exit 1; -t says so too;
#  5. (root) a private IPC namespace with real objects: exact figures.
. "$(dirname "$0")/lib.sh"
need promtool
need curl

AGENT=$BIN/ipcfleet-agent
# the default configuration makes --textfile deliver as well: this test
# wants its absence for the modes without one
DEFCONF=$("$AGENT" --help | sed -n 's/.*configuration (default \(.*\))$/\1/p')
[ -n "$DEFCONF" ] || { echo "no default configuration in --help"; exit 1; }
[ ! -e "$DEFCONF" ] || skip "$DEFCONF exists: --textfile would deliver with it"

# semmns 268 of 536, semmni 3 of 128, shmmni 4 of 4096, msgmni 2 of 32000
mkdir -p "$T/root"
cp -r "$FIXTURES/linux-modern/proc" "$T/root/"
echo "250 536 100 128" >"$T/root/proc/sys/kernel/sem"
printf '6.1.0-"q"\\b\n' >"$T/root/proc/sys/kernel/osrelease"
has() { grep -qxF -- "$2" "$1"; }
promtool_clean() { promtool check metrics <"$1" >"$T/promtool.out" 2>&1 && [ ! -s "$T/promtool.out" ]; }

# --- 1. no configuration ---
mkdir -m 0755 "$T/tf"
rc=0
(umask 077 && "$AGENT" --source "linux-root:$T/root" --textfile "$T/tf" --once) >"$T/once.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || cat "$T/once.out"
check_eq "--textfile DIR --once without a configuration exits 0" 0 "$rc"
F=$T/tf/ipcfleet.prom
check_eq "the file is 0644 under umask 077 (node_exporter reads it)" 644 "$(stat -c %a "$F")"
check "no temporary is left" test ! -e "$T/tf/.ipcfleet.prom.tmp"
check "promtool check metrics: no complaint" promtool_clean "$F"
h="host=\"$(hostname)\""
check "semmns used 268" has "$F" "ipcfleet_limit_used{$h,limit=\"semmns\"} 268"
check "semmns limit 536" has "$F" "ipcfleet_limit_value{$h,limit=\"semmns\"} 536"
check "semmns ratio 0.5" has "$F" "ipcfleet_limit_ratio{$h,limit=\"semmns\"} 0.5"
check "semmni 3 of 128" sh -c "grep -qxF 'ipcfleet_limit_used{$h,limit=\"semmni\"} 3' '$F' &&
	grep -qxF 'ipcfleet_limit_ratio{$h,limit=\"semmni\"} 0.0234375' '$F'"
check "shmmni 4 of 4096" has "$F" "ipcfleet_limit_ratio{$h,limit=\"shmmni\"} 0.0009765625"
check "msgmni 2 of 32000" has "$F" "ipcfleet_limit_ratio{$h,limit=\"msgmni\"} 6.25e-05"
check "no unknown figure" sh -c "! grep -q '^ipcfleet_limit_unknown{' '$F'"
check "host info, label values escaped" has "$F" \
	"ipcfleet_host_info{$h,os=\"Linux\",os_release=\"6.1.0-\\\"q\\\"\\\\b\",agent=\"ipcfleet-agent 0.1.0\"} 1"
check "the host scope" has "$F" "ipcfleet_scope_info{$h,scope=\"host\",kind=\"host\",name=\"host\"} 1"
check "the host scope's semmns" has "$F" "ipcfleet_scope_limit_used{$h,scope=\"host\",limit=\"semmns\"} 268"
check "objects by type: 3 sets" has "$F" "ipcfleet_objects{$h,type=\"sem\"} 3"
check "objects by type: 4 segments" has "$F" "ipcfleet_objects{$h,type=\"shm\"} 4"
check "objects by type: 2 queues" has "$F" "ipcfleet_objects{$h,type=\"msg\"} 2"
check "findings: incomplete looked for, none" has "$F" \
	"ipcfleet_findings{$h,kind=\"incomplete\",severity=\"warn\"} 0"
# no spool: vanished objects were not looked for, so no vanished sample (not 0)
check "findings: vanished not looked for, absent" sh -c "! grep -q 'kind=\"vanished\"' '$F'"
if command -v jq >/dev/null 2>&1; then
	nf=$("$AGENT" --print --json --source "linux-root:$T/root" | jq '.findings | length')
	check_eq "findings total equals --print's" "$nf" \
		"$(awk '/^ipcfleet_findings\{/ { s += $2 } END { print s + 0 }' "$F")"
fi
check_eq "nothing but the file in DIR" ipcfleet.prom "$(ls -A "$T/tf")"

# the daemon form: one snapshot at start, SIGTERM stops it with 0
mkdir -m 0700 "$T/tfd"
"$AGENT" --source "linux-root:$T/root" --textfile "$T/tfd" >"$T/daemon.out" 2>&1 &
dpid=$!
for _ in $(seq 1 100); do [ -s "$T/tfd/ipcfleet.prom" ] && break; sleep 0.05; done
check "the daemon form writes the file" test -s "$T/tfd/ipcfleet.prom"
kill -TERM "$dpid"
rc=0
wait "$dpid" || rc=$?
check_eq "and stops on SIGTERM with 0" 0 "$rc"

# --- 2. with a configuration: delivery as usual, the aggregator's names ---
pki_dev it-tf1
write_agg_conf "[http]" "listen = 127.0.0.1:0"
start_agg http
write_agent_conf a1 it-tf1
mkdir -m 0755 "$T/tfc"
rc=0
"$AGENT" -c "$T/a1.conf" --source "linux-root:$T/root" --textfile "$T/tfc" --once >"$T/a1.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || cat "$T/a1.out"
check_eq "-c FILE --textfile DIR --once delivers (exit 0)" 0 "$rc"
G=$T/tfc/ipcfleet.prom
check "and writes the file" test -s "$G"
check "its host label is the certificate's CN" has "$G" \
	"ipcfleet_limit_used{host=\"it-tf1\",limit=\"semmns\"} 268"
curl -sS --max-time 10 "http://127.0.0.1:$HPORT/metrics" >"$T/metrics.txt"
check "the aggregator has the host" grep -q 'host="it-tf1"' "$T/metrics.txt"
# the limit series of both, for the countable limits the textfile exports
countable='limit="\(semmns\|semmni\|shmall\|shmmni\|msgmni\|msgtql\)"'
for fam in limit_used limit_ratio limit_unknown limit_value; do
	grep "^ipcfleet_$fam{host=\"it-tf1\",$countable}" "$G" | sort >"$T/tf.$fam"
	grep "^ipcfleet_$fam{host=\"it-tf1\",$countable}" "$T/metrics.txt" | sort >"$T/agg.$fam"
	check "ipcfleet_$fam: the textfile's lines are /metrics' ($(wc -l <"$T/tf.$fam") lines)" \
		cmp -s "$T/tf.$fam" "$T/agg.$fam"
	check_eq "ipcfleet_$fam: the same TYPE" "$(grep "^# TYPE ipcfleet_$fam " "$T/metrics.txt")" \
		"$(grep "^# TYPE ipcfleet_$fam " "$G")"
done
for fam in limit_used limit_ratio limit_unknown limit_value; do
	check_eq "ipcfleet_$fam: the same HELP" "$(grep "^# HELP ipcfleet_$fam " "$T/metrics.txt")" \
		"$(grep "^# HELP ipcfleet_$fam " "$G")"
done
check_eq "host_info: the same line" "$(grep '^ipcfleet_host_info{host="it-tf1"' "$T/metrics.txt")" \
	"$(grep '^ipcfleet_host_info{host="it-tf1"' "$G")"
# [agent] textfile in the file does the same
mkdir -m 0755 "$T/tfk"
echo "textfile = $T/tfk" >>"$T/a1.conf"
check "-t accepts [agent] textfile" sh -c "'$AGENT' -t -c '$T/a1.conf' >/dev/null"
rc=0
"$AGENT" -c "$T/a1.conf" --source "linux-root:$T/root" --once >"$T/a2.out" 2>&1 || rc=$?
check_eq "[agent] textfile: --once exits 0" 0 "$rc"
check "[agent] textfile: the file is there" has "$T/tfk/ipcfleet.prom" \
	"ipcfleet_limit_used{host=\"it-tf1\",limit=\"semmni\"} 3"
stop_agg

# --- 3. atomic: never seen incomplete ---
# a capture with 1,500 jails more: a 2 MB file that takes a while to write
cp -r "$FIXTURES/freebsd-jails" "$T/big"
for i in $(seq 100 1599); do
	echo "devfs_ruleset=4 enforce_statfs=2 host=new ip4=new ip6=disable jid=$i name=j$i osrelease=11.1-RELEASE parent=0 path=/jails/j$i persist securelevel=-1 sysvmsg=inherit sysvsem=inherit sysvshm=inherit"
done >>"$T/big/jls.txt"
mkdir -m 0755 "$T/tfa"
A=$T/tfa/ipcfleet.prom
"$AGENT" --source "freebsd-capture:$T/big" --textfile "$T/tfa" --once 2>/dev/null
lines=$(wc -l <"$A")
last=$(tail -n 1 "$A")
check "the big file is large ($(wc -c <"$A") bytes, $lines lines)" test "$(wc -c <"$A")" -gt 1000000
check "promtool check metrics: no complaint on it" promtool_clean "$A"
# readers compare every read with the whole file's line count and last line
(
	bad=0 reads=0
	while [ ! -e "$T/stop" ]; do
		n=$(wc -l <"$A")
		reads=$((reads + 1))
		[ "$n" = "$lines" ] || bad=$((bad + 1))
	done
	echo "$reads $bad" >"$T/reader.out"
) &
reader=$!
wfail=0
for _ in $(seq 1 20); do
	"$AGENT" --source "freebsd-capture:$T/big" --textfile "$T/tfa" --once 2>/dev/null || wfail=$((wfail + 1))
done
touch "$T/stop"
wait "$reader"
read -r reads bad <"$T/reader.out"
echo "# $reads reads during 20 writes"
check_eq "20 rewrites succeed" 0 "$wfail"
check "the reader read many times ($reads)" test "$reads" -ge 20
check_eq "no read saw an incomplete file" 0 "$bad"
check_eq "the last line is the same after them" "$last" "$(tail -n 1 "$A")"
check "no temporary is left" test ! -e "$T/tfa/.ipcfleet.prom.tmp"

# --- 4. refused directories ---
mkdir -m 0700 "$T/real"
ln -s "$T/real" "$T/link"
rc=0
"$AGENT" --source "linux-root:$T/root" --textfile "$T/link" --once >"$T/link.out" 2>&1 || rc=$?
check_eq "a symbolic link as DIR: exit 1" 1 "$rc"
check "it says so" grep -q "textfile directory $T/link is a symbolic link: refused" "$T/link.out"
check "nothing was written through it" test -z "$(ls -A "$T/real")"
rc=0
"$AGENT" --source "linux-root:$T/root" --textfile "$T/link/" --once >/dev/null 2>&1 || rc=$?
check_eq "nor with a trailing slash" 1 "$rc"
mkdir -m 0777 "$T/open"
chmod 0777 "$T/open"
rc=0
"$AGENT" --source "linux-root:$T/root" --textfile "$T/open" --once >"$T/open.out" 2>&1 || rc=$?
check_eq "a DIR others may write: exit 1" 1 "$rc"
check "it says so" grep -q "writable by group or others (mode 0777): refused" "$T/open.out"
check "nothing was written there" test -z "$(ls -A "$T/open")"
rc=0
"$AGENT" --source "linux-root:$T/root" --textfile "$T/none" --once >"$T/none.out" 2>&1 || rc=$?
check_eq "a missing DIR: exit 1" 1 "$rc"
"$SRC/deploy/pki/ipcfleet-pki" agent "$T/pki" it-tf2 >/dev/null
PORT=1
write_agent_conf a3 it-tf2
echo "textfile = $T/link" >>"$T/a3.conf"
rc=0
"$AGENT" -t -c "$T/a3.conf" >"$T/t.out" 2>&1 || rc=$?
check_eq "-t refuses [agent] textfile naming a link" 1 "$rc"
check "and says why" grep -q "is a symbolic link: refused" "$T/t.out"
rc=0
"$AGENT" --print --textfile "$T/tf" >/dev/null 2>&1 || rc=$?
check_eq "--print --textfile is a usage error" 2 "$rc"

# --- 5. a private IPC namespace (root) ---
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null 2>&1; then
	mkdir -m 0755 "$T/tfn"
	rc=0
	unshare --ipc sh -c "'$BIN/ipcobj' sem 7 0600 >/dev/null && '$BIN/ipcobj' sem 3 0600 >/dev/null &&
		'$BIN/ipcobj' shm 8193 0600 >/dev/null && '$BIN/ipcobj' msgq 16384 300 >/dev/null &&
		'$AGENT' --textfile '$T/tfn' --once" >"$T/ns.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || cat "$T/ns.out"
	check_eq "namespace: --once exits 0" 0 "$rc"
	N=$T/tfn/ipcfleet.prom
	ps=$(getconf PAGESIZE)
	check "namespace: promtool check metrics: no complaint" promtool_clean "$N"
	check "namespace: semmns used 10" has "$N" "ipcfleet_limit_used{$h,limit=\"semmns\"} 10"
	check "namespace: semmni used 2" has "$N" "ipcfleet_limit_used{$h,limit=\"semmni\"} 2"
	check "namespace: shmall used $(((8193 + ps - 1) / ps)) pages" has "$N" \
		"ipcfleet_limit_used{$h,limit=\"shmall\"} $(((8193 + ps - 1) / ps))"
	check "namespace: shmmni used 1" has "$N" "ipcfleet_limit_used{$h,limit=\"shmmni\"} 1"
	check "namespace: msgmni used 1" has "$N" "ipcfleet_limit_used{$h,limit=\"msgmni\"} 1"
	check "namespace: its semmni limit is a new namespace's" has "$N" \
		"ipcfleet_limit_value{$h,limit=\"semmni\"} $(unshare --ipc cat /proc/sys/kernel/sem | awk '{print $4}')"
	check "namespace: the host scope holds them" has "$N" \
		"ipcfleet_scope_limit_used{$h,scope=\"host\",limit=\"semmns\"} 10"
else
	echo "# part 5 (a private IPC namespace) needs root and unshare"
fi

finish
