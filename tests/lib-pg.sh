# lib-pg.sh: a throwaway PostgreSQL cluster for tests and benchmarks, owned
# by the `postgres` system user, listening only on a unix socket in a private
# directory.  Sourced (POSIX sh or bash); needs root and Debian's postgresql
# package.  Functions:
#
#   pg_cluster_check       prints why a cluster cannot be made, returns 1
#   pg_cluster_init [OPTS] initdb in a new $PGDIR, then pg_cluster_start OPTS
#                          (extra server options, e.g. "-c fsync=off")
#   pg_cluster_start       starts the server again with the same options
#   pg_cluster_stop MODE   pg_ctl stop -m MODE (fast, immediate)
#   pg_cluster_remove      stops it (immediate) and removes $PGDIR, unless
#                          KEEP=1
#   pg_url DB              prints the libpq URL of database DB
#   pg_db DB               creates database DB and sets URL to its URL
#   psql_q SQL             runs SQL on $URL: unaligned, tuples only
#   agg_conf_pg FILE       turns an aggregator configuration written by
#                          write_agg_conf (lib.sh) to PostgreSQL at $URL
#   pg CMD...              runs CMD as the postgres user
#
# Variables set: PGBIN (the server's binaries), PGDIR, PGPORT (names the
# socket only: no TCP listener).

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
PGDIR=''
PGPORT=''
PG_OPTS=''

pg() { runuser -u postgres -- "$@"; }

pg_cluster_check() {
	if [ "$(id -u)" != 0 ]; then
		echo "needs root (a cluster owned by the postgres user)"
		return 1
	fi
	if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ]; then
		echo "needs the postgresql package (deploy/dev/install-deps.sh installs it)"
		return 1
	fi
	if ! id postgres >/dev/null 2>&1; then
		echo "needs the postgres system user (postgresql package)"
		return 1
	fi
	if ! command -v runuser >/dev/null 2>&1; then
		echo "needs runuser"
		return 1
	fi
	return 0
}

pg_cluster_init() {
	PG_OPTS=${1:-}
	PGDIR=$(mktemp -d /tmp/ipcfleet-pg.XXXXXX) || return 1
	chown postgres: "$PGDIR"
	PGPORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000))
	if ! pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --no-sync \
		>"$PGDIR/initdb.log" 2>&1; then
		cat "$PGDIR/initdb.log"
		return 1
	fi
	pg_cluster_start
}

pg_cluster_start() {
	pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 30 \
		-o "-k $PGDIR -p $PGPORT -c listen_addresses='' $PG_OPTS" start >/dev/null
}

pg_cluster_stop() {
	pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m "${1:-fast}" -w stop >/dev/null
}

pg_cluster_remove() {
	[ -n "$PGDIR" ] || return 0
	if [ -f "$PGDIR/data/postmaster.pid" ]; then
		pg_cluster_stop immediate 2>/dev/null || true
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "kept $PGDIR"; else rm -rf "$PGDIR"; fi
}

pg_url() { echo "postgresql:///$1?host=$PGDIR&port=$PGPORT&user=postgres"; }

pg_db() {
	pg "$PGBIN/createdb" -h "$PGDIR" -p "$PGPORT" "$1" || return 1
	URL=$(pg_url "$1")
}

psql_q() { "$PGBIN/psql" -X -A -t -q "$URL" -c "$1"; }

agg_conf_pg() {
	sed -i "s|^backend = sqlite|backend = postgresql|; /^path = /d" "$1"
	printf 'url = %s\n' "$URL" >>"$1"
}
