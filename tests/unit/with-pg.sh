#!/usr/bin/env bash
# with-pg.sh PROGRAM [ARGS]: runs a unit test against a throwaway PostgreSQL
# cluster (tests/lib-pg.sh: owned by the postgres user, unix socket only,
# removed afterwards) with IPCFLEET_PG_URL naming an empty database.  Exits
# 77 (skip) when no cluster can be made here (not root, no postgresql
# package), 1 when one should be and does not start, else the test's status.
set -u
. "$(dirname "$0")/../lib-pg.sh"
if ! why=$(pg_cluster_check); then
	echo "SKIP: $why"
	exit 77
fi
trap pg_cluster_remove EXIT
if ! pg_cluster_init "-c fsync=off"; then
	echo "with-pg.sh: the throwaway cluster did not start" >&2
	exit 1
fi
pg "$PGBIN/createdb" -h "$PGDIR" -p "$PGPORT" unit || exit 1
IPCFLEET_PG_URL=$(pg_url unit) "$@"
