#!/usr/bin/env bash
# Security (issue 18, docs/SECURITY.md, "Files"): the files the aggregator
# opens by name, maybe as root, do not follow a symbolic link planted there.
#   - a link at the SQLite database path, or at its -wal or -shm file: the
#     aggregator refuses to start and the file the link points to is left
#     as it was (SQLite would have written a database into it);
#   - a link at --port-file or --http-port-file: replaced by a regular file,
#     the target untouched, and the file is 0644 even under umask 000.
. "$(dirname "$0")/lib.sh"

pki_dev good
write_agg_conf "[http]" "listen = 127.0.0.1:0"
DB=$T/ipcfleet.db
agg_try() {
	timeout 20 "$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" --port-file "$T/port" \
		>"$T/try.log" 2>&1
}

# --- the database path ---
: >"$T/victim"
ln -s "$T/victim" "$DB"
rc=0
agg_try || rc=$?
check_eq "a link at the database path: the aggregator does not start" 1 "$rc"
check "... and says why" grep -qF "$DB: is a symbolic link; refusing to follow it" "$T/try.log"
check "... the file it points to is untouched" test ! -s "$T/victim"
rm -f "$DB"

# a real database, then a link planted as its -wal, then as its -shm
start_agg
stop_agg
for f in wal shm; do
	rm -f "$DB-wal" "$DB-shm"
	: >"$T/victim-$f"
	ln -s "$T/victim-$f" "$DB-$f"
	rc=0
	agg_try || rc=$?
	check_eq "a link at the database's -$f file: the aggregator does not start" 1 "$rc"
	check "... and says why" grep -qF "$DB-$f: is a symbolic link; refusing to follow it" \
		"$T/try.log"
	check "... the file it points to is untouched" test ! -s "$T/victim-$f"
	rm -f "$DB-$f"
done

# --- the port files ---
echo precious >"$T/victim-port"
echo precious >"$T/victim-hport"
ln -s "$T/victim-port" "$T/port.link"
ln -s "$T/victim-hport" "$T/hport.link"
(
	umask 000
	exec "$BIN/ipcfleet-aggregator" -c "$T/aggregator.conf" --port-file "$T/port.link" \
		--http-port-file "$T/hport.link" >>"$T/aggregator.log" 2>&1
) &
AGG_PID=$!
for _ in $(seq 1 100); do
	[ -f "$T/port.link" ] && [ ! -L "$T/port.link" ] && [ -f "$T/hport.link" ] &&
		[ ! -L "$T/hport.link" ] && break
	kill -0 "$AGG_PID" 2>/dev/null || break
	sleep 0.05
done
for f in port hport; do
	check "--$([ $f = port ] && echo port || echo http-port)-file: the link is replaced by a file" \
		sh -c "[ -f '$T/$f.link' ] && [ ! -L '$T/$f.link' ]"
	check "... holding the port" grep -Eqx '[0-9]{1,5}' "$T/$f.link"
	check_eq "... mode 0644 under umask 000" 644 "$(stat -c %a "$T/$f.link")"
	check_eq "... the file the link pointed to is untouched" precious "$(cat "$T/victim-$f")"
done
check_eq "no temporary file is left beside them" "" \
	"$(find "$T" -maxdepth 1 -name '*port.link.*' | tr '\n' ' ')"
PORT=$(cat "$T/port.link")
write_agent_conf good good
echo "source = linux-root:$FIXTURES/linux-modern" >>"$T/good.conf"
check "and the aggregator serves on the port it wrote" \
	"$BIN/ipcfleet-agent" -c "$T/good.conf" --once
stop_agg
finish
