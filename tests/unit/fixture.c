/* fixture.c: the store tests' helpers (fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "model.h"
#include "store.h"
#include "util.h"

void
fixture_info(struct host_info *hi, const char *name, const char *os)
{
	memset(hi, 0, sizeof(*hi));
	ifl_strlcpy(hi->name, name, sizeof(hi->name));
	ifl_strlcpy(hi->os, os, sizeof(hi->os));
	ifl_strlcpy(hi->os_release, strcmp(os, "Linux") == 0 ? "6.1.0-18-amd64" : "14.1-RELEASE",
	            sizeof(hi->os_release));
	ifl_strlcpy(hi->agent, "ipcfleet-agent 0.1.0", sizeof(hi->agent));
	hi->page_size = 4096;
	hi->boot_time = 1764100000;
	hi->interval = 60;
}

/* Semaphore sets of nsems[0..nsets) and one shm segment; limits semmns and shmall. */
void
fixture_snap(struct snapshot *s, uint64_t seq, int64_t taken, const uint64_t *nsems, size_t nsets,
             uint64_t shm_size, uint64_t semmns, uint64_t shmall)
{
	struct ipc_object *o;
	size_t i;

	assert_int_equal(snapshot_init(s), 0);
	s->seq = seq;
	s->taken = taken;
	s->page_size = 4096;
	for (i = 0; i < nsets; i++) {
		o = snapshot_add_object(s);
		assert_non_null(o);
		o->type = IPC_SEM;
		o->id = (int64_t)i;
		o->nsems = nsems[i];
	}
	o = snapshot_add_object(s);
	assert_non_null(o);
	o->type = IPC_SHM;
	o->id = 100;
	o->size = shm_size;
	assert_int_equal(limits_set(&s->limits, "semmns", semmns), 0);
	assert_int_equal(limits_set(&s->limits, "shmall", shmall), 0);
}

int
fixture_put(struct store *st, const char *host, uint64_t seq, int64_t taken, uint64_t used,
            const char *raw, int64_t received, int *dup, char *err, size_t errlen)
{
	struct host_info hi;
	struct snapshot s;
	int rc;

	fixture_info(&hi, host, "FreeBSD");
	fixture_snap(&s, seq, taken, &used, 1, 4096, 340, 1000);
	rc = store_put_snapshot(st, &hi, &s, (const uint8_t *)raw, strlen(raw), received, dup, err,
	                        errlen);
	snapshot_free(&s);
	return rc;
}

void
fixture_put_ok(struct store *st, const char *host, uint64_t seq, int64_t taken, uint64_t used,
               const char *raw, int64_t received, int want_dup)
{
	char err[512] = "";
	int dup = -1;

	if (fixture_put(st, host, seq, taken, used, raw, received, &dup, err, sizeof(err)) != 0)
		fail_msg("put_snapshot: %s", err);
	assert_int_equal(dup, want_dup);
}

void
fixture_assert_raw(const struct stored_host *h, const char *want)
{
	assert_non_null(h->raw);
	assert_int_equal(h->rawlen, strlen(want));
	assert_memory_equal(h->raw, want, strlen(want));
}

int
fixture_collect(void *arg, const struct stored_host *h)
{
	struct fixture_seen *sn = arg;
	struct stored_host *c;

	assert_true(sn->n < NELEM(sn->h));
	c = &sn->h[sn->n++];
	*c = *h;
	c->raw = NULL;
	if (h->raw != NULL) {
		c->raw = malloc(h->rawlen + 1);
		assert_non_null(c->raw);
		memcpy(c->raw, h->raw, h->rawlen);
	}
	if (sn->st != NULL) {
		struct stored_host again;
		char err[512] = "";

		assert_int_equal(store_get_host(sn->st, h->info.name, &again, err, sizeof(err)), 0);
		assert_string_equal(again.info.name, h->info.name);
		assert_int_equal(again.rawlen, h->rawlen);
		stored_host_free(&again);
	}
	if (sn->stop_after != 0 && sn->n == sn->stop_after)
		return 7;
	return 0;
}

void
fixture_seen_free(struct fixture_seen *sn)
{
	size_t i;

	for (i = 0; i < sn->n; i++)
		stored_host_free(&sn->h[i]);
}

/* semmns used = used (limit 340), shmall 1 of 1000, at taken. */
void
fixture_put_used(struct store *st, const char *host, uint64_t seq, int64_t taken, uint64_t used)
{
	fixture_put_ok(st, host, seq, taken, used, "r", taken + 1, 0);
}

size_t
fixture_series(struct store *st, const char *host, const char *limit, int64_t t0, struct sample *sm,
               size_t max)
{
	char err[512] = "";
	size_t n = 999;

	if (store_series(st, host, limit, t0, sm, max, &n, err, sizeof(err)) != 0)
		fail_msg("series: %s", err);
	return n;
}

size_t
fixture_rollups(struct store *st, const char *host, const char *limit, struct rollup *r, size_t max)
{
	char err[512] = "";
	size_t n = 999;

	if (store_rollups(st, host, limit, 0, r, max, &n, err, sizeof(err)) != 0)
		fail_msg("rollups: %s", err);
	return n;
}

double
fixture_dabs(double x)
{
	return x < 0 ? -x : x;
}

void
fixture_finding(struct finding *f, enum finding_kind kind, enum severity sev, const char *limit,
                const char *scope, const char *message)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->severity = sev;
	ifl_strlcpy(f->limit, limit, sizeof(f->limit));
	ifl_strlcpy(f->scope, scope, sizeof(f->scope));
	ifl_strlcpy(f->message, message, sizeof(f->message));
}

/* store_put_snapshots of one snapshot of host from spool (semmns used = seq). */
void
fixture_put_spool(struct store *st, const char *host, const char *spool, uint64_t seq,
                  int64_t taken, const char *raw, int want_dup, int want_conflict)
{
	struct host_info hi;
	struct snapshot s;
	struct store_put v;
	char err[512] = "";

	fixture_info(&hi, host, "Linux");
	ifl_strlcpy(hi.spool, spool, sizeof(hi.spool));
	fixture_snap(&s, seq, taken, &seq, 1, 4096, 340, 1000);
	v = (struct store_put){.hi = &hi,
	                       .s = &s,
	                       .raw = (const uint8_t *)raw,
	                       .rawlen = strlen(raw),
	                       .received = taken + 1,
	                       .duplicate = -1,
	                       .conflict = -1};
	if (store_put_snapshots(st, &v, 1, err, sizeof(err)) != 0)
		fail_msg("put_snapshots: %s", err);
	snapshot_free(&s);
	assert_int_equal(v.duplicate, want_dup);
	assert_int_equal(v.conflict, want_conflict);
}
