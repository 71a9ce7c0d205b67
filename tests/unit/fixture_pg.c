/* fixture_pg.c: the PostgreSQL store tests' connection (fixture_pg.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "fixture_pg.h"
#include "store.h"
#include "util.h"

const char *fixture_pg_url;
static PGconn *fixture_pg_db; /* the tests' own connection, beside the stores' */

int
fixture_pg_start(const char *prog)
{
	fixture_pg_url = getenv("IPCFLEET_PG_URL");
	if (fixture_pg_url == NULL || fixture_pg_url[0] == '\0') {
		printf("SKIP: IPCFLEET_PG_URL is not set (tests/unit/with-pg.sh sets it)\n");
		return 77;
	}
	fixture_pg_db = PQconnectdb(fixture_pg_url);
	if (PQstatus(fixture_pg_db) != CONNECTION_OK) {
		fprintf(stderr, "%s: %s", prog, PQerrorMessage(fixture_pg_db));
		PQfinish(fixture_pg_db);
		return 1;
	}
	PQclear(PQexec(fixture_pg_db, "SET client_min_messages = warning"));
	return 0;
}

void
fixture_pg_exec(const char *sql)
{
	PGresult *r = PQexec(fixture_pg_db, sql);
	ExecStatusType s = PQresultStatus(r);

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	PQclear(r);
}

void
fixture_pg_text(const char *sql, char *out, size_t len)
{
	PGresult *r = PQexec(fixture_pg_db, sql);

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1)
		fail_msg("%s: %s", sql, PQresultErrorMessage(r));
	ifl_strlcpy(out, PQgetvalue(r, 0, 0), len);
	PQclear(r);
}

long long
fixture_pg_int(const char *sql)
{
	char buf[64];

	fixture_pg_text(sql, buf, sizeof(buf));
	return strtoll(buf, NULL, 10);
}

int
fixture_pg_setup(void **state)
{
	(void)state;
	fixture_pg_exec("DROP TABLE IF EXISTS counts, findings, rollups, samples, received, hosts,"
	                " meta CASCADE");
	fixture_pg_exec("DROP FUNCTION IF EXISTS boom() CASCADE");
	return 0;
}

void
fixture_pg_stop(void)
{
	fixture_pg_setup(NULL);
	PQfinish(fixture_pg_db);
}

struct store *
fixture_pg_open(void)
{
	char err[512] = "";
	struct store *st = store_open("postgresql", "", fixture_pg_url, err, sizeof(err));

	if (st == NULL)
		fail_msg("store_open_pg: %s", err);
	return st;
}
