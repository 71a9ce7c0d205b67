/*
 * fixture.h: building snapshots and reading them back, for the store's
 * unit tests (test_store_contract.c, test_store.c, test_store_pg.c), which
 * link fixture.c.  Every helper fails the running cmocka test on an error.
 */
#ifndef IPCFLEET_TEST_FIXTURE_H
#define IPCFLEET_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "store.h"

void fixture_info(struct host_info *hi, const char *name, const char *os);

/* Semaphore sets of nsems[0..nsets) and one shm segment; limits semmns and shmall. */
void fixture_snap(struct snapshot *s, uint64_t seq, int64_t taken, const uint64_t *nsems,
                  size_t nsets, uint64_t shm_size, uint64_t semmns, uint64_t shmall);

int fixture_put(struct store *st, const char *host, uint64_t seq, int64_t taken, uint64_t used,
                const char *raw, int64_t received, int *dup, char *err, size_t errlen);

void fixture_put_ok(struct store *st, const char *host, uint64_t seq, int64_t taken, uint64_t used,
                    const char *raw, int64_t received, int want_dup);

void fixture_assert_raw(const struct stored_host *h, const char *want);

struct fixture_seen {
	size_t n, stop_after;
	struct store *st; /* when set, fn reads each host again with get_host() */
	struct stored_host h[8];
};

int fixture_collect(void *arg, const struct stored_host *h);

void fixture_seen_free(struct fixture_seen *sn);

/* semmns used = used (limit 340), shmall 1 of 1000, at taken. */
void fixture_put_used(struct store *st, const char *host, uint64_t seq, int64_t taken,
                      uint64_t used);

size_t fixture_series(struct store *st, const char *host, const char *limit, int64_t t0,
                      struct sample *sm, size_t max);

size_t fixture_rollups(struct store *st, const char *host, const char *limit, struct rollup *r,
                       size_t max);

double fixture_dabs(double x);

void fixture_finding(struct finding *f, enum finding_kind kind, enum severity sev,
                     const char *limit, const char *scope, const char *message);

/* store_put_snapshots of one snapshot of host from spool (semmns used = seq). */
void fixture_put_spool(struct store *st, const char *host, const char *spool, uint64_t seq,
                       int64_t taken, const char *raw, int want_dup, int want_conflict);

#endif
