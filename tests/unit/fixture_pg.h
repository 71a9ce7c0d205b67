/*
 * fixture_pg.h: the PostgreSQL store tests' own connection to the database
 * that IPCFLEET_PG_URL names (tests/unit/with-pg.sh makes a throwaway one),
 * for test_store_pg.c and the PostgreSQL build of test_store_contract.c.
 * Every helper fails the running cmocka test on an error.
 */
#ifndef IPCFLEET_TEST_FIXTURE_PG_H
#define IPCFLEET_TEST_FIXTURE_PG_H

#include <stddef.h>

#include "store.h"

extern const char *fixture_pg_url;

/* Connects: 0, 77 (no IPCFLEET_PG_URL: the caller skips) or 1 (prog says why). */
int fixture_pg_start(const char *prog);
/* Drops what the tests made and disconnects. */
void fixture_pg_stop(void);
void fixture_pg_exec(const char *sql);
/* The first column of the first row as text, into out. */
void fixture_pg_text(const char *sql, char *out, size_t len);
long long fixture_pg_int(const char *sql);
/* cmocka setup: every test starts from an empty database. */
int fixture_pg_setup(void **state);
/* A store on the database (store_open("postgresql")). */
struct store *fixture_pg_open(void);

#endif
