/*
 * store.h: the storage interface of the aggregator.
 *
 * Callers use the store_* functions; a backend (store_sqlite.c today,
 * PostgreSQL later) fills a struct store_ops.  Every write is one
 * transaction, and store_put_snapshot() returns only after the commit, so the
 * caller may acknowledge the snapshot when it returns 0.
 */
#ifndef IPCFLEET_STORE_H
#define IPCFLEET_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* What the aggregator knows of a host besides its latest snapshot. */
struct host_info {
	char name[MODEL_NAME_MAX]; /* certificate CN */
	char os[MODEL_NAME_MAX];
	char os_release[MODEL_NAME_MAX];
	char agent[MODEL_NAME_MAX];
	uint32_t page_size;
	int64_t boot_time;
};

/* A host as stored: info, times, and its latest snapshot's raw payload. */
struct stored_host {
	struct host_info info;
	uint64_t last_seq;
	int64_t last_taken;    /* agent clock of the latest snapshot */
	int64_t last_received; /* aggregator clock when it arrived */
	uint8_t *raw;          /* msgpack payload of the latest snapshot (malloc'd) */
	size_t rawlen;
};
void stored_host_free(struct stored_host *h);

/* One sample of one limit. */
struct sample {
	int64_t t;
	uint64_t used, limit;
};

struct store;

struct store_ops {
	const char *name;
	int (*put_snapshot)(struct store *st, const struct host_info *hi, const struct snapshot *s,
			    const uint8_t *raw, size_t rawlen, int64_t received, int *duplicate,
			    char *err, size_t errlen);
	/* Calls fn once per host, sorted by name; fn returning non-zero stops. */
	int (*each_host)(struct store *st, int (*fn)(void *arg, const struct stored_host *h),
			 void *arg, char *err, size_t errlen);
	/* 0 found, 1 unknown host, -1 error. */
	int (*get_host)(struct store *st, const char *name, struct stored_host *out, char *err,
			size_t errlen);
	/* Samples of one limit since t0, oldest first, at most max. */
	int (*series)(struct store *st, const char *host, const char *limit, int64_t t0,
		      struct sample *out, size_t max, size_t *n, char *err, size_t errlen);
	void (*close)(struct store *st);
};

struct store {
	const struct store_ops *ops;
	void *impl;
};

/* Opens the SQLite backend at path (created 0600, WAL). NULL with err. */
struct store *store_open_sqlite(const char *path, char *err, size_t errlen);

static inline int
store_put_snapshot(struct store *st, const struct host_info *hi, const struct snapshot *s,
		   const uint8_t *raw, size_t rawlen, int64_t received, int *duplicate, char *err,
		   size_t errlen)
{
	return st->ops->put_snapshot(st, hi, s, raw, rawlen, received, duplicate, err, errlen);
}

static inline int
store_each_host(struct store *st, int (*fn)(void *arg, const struct stored_host *h), void *arg,
		char *err, size_t errlen)
{
	return st->ops->each_host(st, fn, arg, err, errlen);
}

static inline int
store_get_host(struct store *st, const char *name, struct stored_host *out, char *err,
	       size_t errlen)
{
	return st->ops->get_host(st, name, out, err, errlen);
}

static inline int
store_series(struct store *st, const char *host, const char *limit, int64_t t0, struct sample *out,
	     size_t max, size_t *n, char *err, size_t errlen)
{
	return st->ops->series(st, host, limit, t0, out, max, n, err, errlen);
}

static inline void
store_close(struct store *st)
{
	if (st != NULL)
		st->ops->close(st);
}

#endif
