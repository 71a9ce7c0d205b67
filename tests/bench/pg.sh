#!/bin/sh
# pg.sh BENCH [ARGS...]: runs ipcfleet-bench's pg section against a
# throwaway PostgreSQL cluster (tests/lib-pg.sh: owned by the postgres user,
# on a unix socket in a private directory, removed afterwards; KEEP=1 keeps
# it).  Unlike the tests' cluster this one keeps fsync and synchronous
# commit on, as production would: the figures include the WAL flushes.
# ARGS go to the harness (e.g. --quick).  Exit 77 when no cluster can be made.
set -u
bench=${1:?usage: pg.sh BENCH [ARGS...]}
shift
. "$(dirname "$0")/../lib-pg.sh"
if ! why=$(pg_cluster_check); then
	echo "SKIP: $why"
	exit 77
fi
trap 'pg_cluster_remove' EXIT
trap 'exit 1' INT TERM
pg_cluster_init "-c shared_buffers=256MB -c max_connections=50" || exit 1
pg "$PGBIN/createdb" -h "$PGDIR" -p "$PGPORT" bench || exit 1
echo "pg.sh: PostgreSQL $("$PGBIN/postgres" --version | sed 's/.* //'), fsync on, $PGDIR" >&2
"$bench" --only pg --pg-url "$(pg_url bench)" "$@"
