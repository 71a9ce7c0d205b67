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

/* A host: name, os ("Linux" or another), a 60 s interval. */
void fixture_info(struct host_info *hi, const char *name, const char *os);

/* Semaphore sets of nsems[0..nsets) and one shm segment; limits semmns and shmall. */
void fixture_snap(struct snapshot *s, uint64_t seq, int64_t taken, const uint64_t *nsems,
                  size_t nsets, uint64_t shm_size, uint64_t semmns, uint64_t shmall);

/* put_snapshot of a FreeBSD snapshot whose semmns used is used (limit 340). */
int fixture_put(struct store *st, const char *host, uint64_t seq, int64_t taken, uint64_t used,
                const char *raw, int64_t received, int *dup, char *err, size_t errlen);

/* fixture_put(), which must succeed with *dup == want_dup. */
void fixture_put_ok(struct store *st, const char *host, uint64_t seq, int64_t taken, uint64_t used,
                    const char *raw, int64_t received, int want_dup);

/* h has a snapshot, the bytes of want. */
void fixture_assert_raw(const struct stored_host *h, const char *want);

/* each_host callback state: copies of the hosts walked (at most 8). */
struct fixture_seen {
	size_t n, stop_after;
	struct store *st; /* when set, fn reads each host again with get_host() */
	struct stored_host h[8];
};

/* each_host callback into a struct fixture_seen; 7 after stop_after hosts. */
int fixture_collect(void *arg, const struct stored_host *h);

void fixture_seen_free(struct fixture_seen *sn);

/* semmns used = used (limit 340), shmall 1 of 1000, at taken. */
void fixture_put_used(struct store *st, const char *host, uint64_t seq, int64_t taken,
                      uint64_t used);

/* store_series() and store_rollups() (since 0), which must succeed: how many. */
size_t fixture_series(struct store *st, const char *host, const char *limit, int64_t t0,
                      struct sample *sm, size_t max);

size_t fixture_rollups(struct store *st, const char *host, const char *limit, struct rollup *r,
                       size_t max);

/* |x| */
double fixture_dabs(double x);

/* A finding of kind and severity with those texts, the rest zero. */
void fixture_finding(struct finding *f, enum finding_kind kind, enum severity sev,
                     const char *limit, const char *scope, const char *message);

/* store_put_snapshots of one snapshot of host from spool (semmns used = seq). */
void fixture_put_spool(struct store *st, const char *host, const char *spool, uint64_t seq,
                       int64_t taken, const char *raw, int want_dup, int want_conflict);

#endif
