/*
 * store_core.h: what the SQLite and PostgreSQL stores do the same way,
 * written once over a few per-backend primitives.  Internal to aggstore.
 *
 * A backend (store_sqlite.c, store_pg.c) keeps its SQL and its database
 * API; the core keeps the rest: the finding's columns (one table: their
 * names for the SQL, their order, which ones an update changes, how each
 * value is checked when read back), the host's columns, the checks of a
 * snapshot to store and of the readers' arguments, the findings sync (what
 * to open, update and close, and the changes it reports) and the count
 * runs' read-merge-write.  The backend hands the core a column reader over
 * one result row, a parameter writer over one statement, and in
 * store_ops.tx a struct store_tx of transaction primitives.  One contract
 * suite (tests/unit/test_store_contract.c) runs against every backend.
 */
#ifndef IPCFLEET_STORE_CORE_H
#define IPCFLEET_STORE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "findings.h"
#include "model.h"
#include "store.h"

/*
 * The finding's columns in the order the codec reads them (column 0 on),
 * each name after the prefix p ("" or a table alias such as "f."): the
 * backends build their SELECTs from it, so that a column cannot move in one
 * backend's SQL and not in the codec.
 */
#define STORE_FINDING_COLUMNS(p)                                                                   \
	p "kind, " p "severity, " p "limit_name, " p "scope, " p "message, " p "has_object, " p    \
	  "otype, " p "oid, " p "age, " p "uid, " p "owner, " p "command, " p "has_headroom, " p   \
	  "held, " p "free, " p "safe_limit, " p "exhaust_at, " p "opened, " p "updated"
#define STORE_FINDING_NCOLUMNS 19
/* A host's columns, decoded by store_host_read(). */
#define STORE_HOST_COLUMNS                                                                         \
	"name, os, os_release, agent, page_size, boot_time, last_seq, last_taken, "                \
	"last_received, snapshot, interval"

/* Reads the columns of one result row; each getter -1 when the value is not of its type. */
struct store_row {
	int (*text)(const struct store_row *r, int col, char *out, size_t outlen);
	int (*i64)(const struct store_row *r, int col, int64_t *v);
	int (*f64)(const struct store_row *r, int col, double *v);
	/* 1 when the column is NULL, else 0. */
	int (*null)(const struct store_row *r, int col);
	/*
	 * A blob: its bytes (valid until the row moves on) and length.  -1 when
	 * the column is not a blob, -2 when it cannot be read (out of memory).
	 */
	int (*blob)(const struct store_row *r, int col, const void **p, size_t *n);
	void *res; /* the backend's statement or result */
	int row;   /* the row in res, where the backend has several at once */
};

/*
 * Writes the parameters of one statement, numbered from 1; a backend whose
 * parameters go in order may ignore i.  Each -1 when the value cannot be
 * sent (text not NUL-terminated within max, no room).
 */
struct store_params {
	int (*text)(struct store_params *p, int i, const char *s, size_t max);
	int (*i64)(struct store_params *p, int i, int64_t v);
	void *stmt;
};

/*
 * Decodes STORE_HOST_COLUMNS of r into h.  The snapshot, when there is one,
 * is copied into h->raw (malloc'd, at most PROTO_MAX_FRAME bytes; freed by
 * stored_host_free()); a host with no snapshot yet (last_seq NULL) has raw
 * NULL and last_* 0.  0, or -1 with err (h->raw then NULL).
 */
int store_host_read(const struct store_row *r, const char *label, struct stored_host *h, char *err,
                    size_t errlen);
/* Decodes the finding's columns (0 .. STORE_FINDING_NCOLUMNS-1) of r.  0 or -1. */
int store_finding_read(const struct store_row *r, struct finding *f);
/*
 * Writes the parameters of a finding's insert or update from i on: host_id,
 * fkey, the columns but opened and updated (changes_only: only those an
 * update of an open finding changes), then now.  The next parameter's
 * number, or -1.
 */
int store_finding_params(struct store_params *p, int i, int64_t host_id, const char *fkey,
                         const struct finding *f, int64_t now, int changes_only);
/* Decodes a rollup row: hour, min, max, mean, count, limit.  0 or -1. */
int store_rollup_read(const struct store_row *r, struct rollup *out);
/* Decodes a sample row: t, used, limit.  0 or -1. */
int store_sample_read(const struct store_row *r, struct sample *out);
/*
 * What both backends check of a snapshot before any SQL: a payload of at
 * most PROTO_MAX_FRAME bytes, a host name, every text field of hi
 * NUL-terminated in its array.  Then its digest (store_digest()).  0, or -1
 * with err.
 */
int store_put_check(const char *label, const struct host_info *hi, const uint8_t *raw,
                    size_t rawlen, uint8_t digest[STORE_DIGEST_LEN], char *err, size_t errlen);
/*
 * The readers' argument check (series, rollups): 1 when nothing can be
 * found (max 0, a name no host or limit can have), else 0.
 */
int store_read_none(const char *host, const char *limit, size_t max);

/*
 * One host's transaction, as a backend runs it (store_ops.tx): begin()
 * starts it and finds the host (and, where several aggregators share the
 * database, locks it until the end of the transaction).  On any failure the
 * core calls rollback(), which must be harmless when nothing was begun.
 */
struct store_tx {
	/* The database, for messages. */
	const char *(*label)(const struct store *st);
	/* 0 with *id, 1 unknown host, -1 with err. */
	int (*begin)(struct store *st, const char *host, int64_t *id, char *err, size_t errlen);
	int (*commit)(struct store *st, char *err, size_t errlen);
	void (*rollback)(struct store *st);

	/* findings */
	/*
	 * Optional: f's text as the backend will store it, so that identities
	 * and messages compare equal with what is read back; -1 when a field is
	 * not NUL-terminated.
	 */
	int (*clean)(struct finding *f);
	/* The open findings of host id and their row ids, malloc'd (bounded). */
	int (*load_open)(struct store *st, int64_t id, struct finding **open, int64_t **rowid,
	                 size_t *n, char *err, size_t errlen);
	/* Stores one step (open, update, close); rowid is the open row's, or -1. */
	int (*apply)(struct store *st, int64_t id, const struct finding_step *sp, int64_t rowid,
	             int64_t now, char *err, size_t errlen);
	/* Optional: records findings_status() of the new open set with the host. */
	int (*set_status)(struct store *st, int64_t id, const char *status, char *err,
	                  size_t errlen);

	/* count runs */
	/* The host's runs as stored: 0 with blob filled, 1 when none, -1 with err. */
	int (*counts_get)(struct store *st, int64_t id, struct buf *blob, char *err, size_t errlen);
	int (*counts_put)(struct store *st, int64_t id, const struct buf *blob, char *err,
	                  size_t errlen);
};

/* store_ops.sync_findings and counts of a backend, over its store_ops.tx. */
int store_core_sync_findings(struct store *st, const char *host, const struct finding *cur,
                             size_t n, int64_t now, struct finding_change **changes,
                             size_t *nchanges, char *err, size_t errlen);
int store_core_counts(struct store *st, const char *host, int64_t t, const struct count_run *cur,
                      size_t n, int64_t keep, struct count_run **runs, size_t *nruns, char *err,
                      size_t errlen);

#endif
