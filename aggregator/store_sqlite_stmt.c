/*
 * store_sqlite_stmt.c: how the SQLite backend runs its statements
 * (store_sqlite_local.h): error messages, binding values, reading columns
 * back with every value checked, the store core's view of a row, and the
 * write transactions with what is checked before each: database files made
 * immutable, a -wal removed under us, and a WAL kept small after a full
 * disk.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "log.h"
#include "store_core.h"
#include "store_sqlite_local.h"

/* "PATH: what: sqlite's message".  Call before anything resets the message. */
int
sq_fail(struct sq_store *q, const char *what, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: %s", q->path, what, sqlite3_errmsg(q->db));
	return -1;
}

void
sq_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows; resets it.  Returns the step code. */
int
sq_exec_stmt(sqlite3_stmt *st)
{
	int rc;

	rc = sqlite3_step(st);
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	return rc;
}

/*
 * Rolls back whatever transaction is open; keeps err as it is.  In a group,
 * only the savepoint: the group's other hosts keep what they wrote.
 */
void
sq_rollback(struct sq_store *q)
{
	/*
	 * Some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) may already
	 * have rolled the transaction back; ROLLBACK then would fail.
	 */
	if (sqlite3_get_autocommit(q->db))
		return;
	if (q->group) {
		/* undone, then released: the group's transaction goes on */
		if (sq_exec_stmt(q->stmt[SQ_ROLLBACK_TO]) == SQLITE_DONE)
			sq_exec_stmt(q->stmt[SQ_RELEASE]);
		sqlite3_reset(q->stmt[SQ_ROLLBACK_TO]);
		sqlite3_reset(q->stmt[SQ_RELEASE]);
		return;
	}
	sq_exec_stmt(q->stmt[SQ_ROLLBACK]);
	sqlite3_reset(q->stmt[SQ_ROLLBACK]);
}

/* ---- binding values ---- */

int
sq_bind_text(sqlite3_stmt *st, int i, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (n >= max) /* not NUL-terminated within its field */
		return -1;
	return sqlite3_bind_text(st, i, s, (int)n, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

int
sq_bind_i64(sqlite3_stmt *st, int i, int64_t v)
{
	return sqlite3_bind_int64(st, i, v) == SQLITE_OK ? 0 : -1;
}

/* uint64_t as its int64_t bit pattern: see the schema comment (store_sqlite.c). */
int
sq_bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
	return sq_bind_i64(st, i, (int64_t)v);
}

/* ---- reading columns back: every value is checked ---- */

int
sq_col_i64(sqlite3_stmt *st, int i, int64_t *v)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return -1;
	*v = sqlite3_column_int64(st, i);
	return 0;
}

int
sq_col_u64(sqlite3_stmt *st, int i, uint64_t *v)
{
	int64_t x;

	if (sq_col_i64(st, i, &x) == -1)
		return -1;
	*v = (uint64_t)x;
	return 0;
}

/* Copies a TEXT column into out; too long or an embedded NUL is an error. */
int
sq_col_text(sqlite3_stmt *st, int i, char *out, size_t outlen)
{
	const unsigned char *s;
	int n;

	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return -1;
	s = sqlite3_column_text(st, i);
	n = sqlite3_column_bytes(st, i); /* after column_text: the UTF-8 length */
	if (s == NULL || n < 0 || (size_t)n >= outlen || strlen((const char *)s) != (size_t)n)
		return -1;
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
	return 0;
}

/* A blob column as a pointer and length (NULL, 0 when empty); -1 when not a blob. */
int
sq_col_blob(sqlite3_stmt *x, int i, const uint8_t **p, size_t *n)
{
	int len;

	if (sqlite3_column_type(x, i) != SQLITE_BLOB)
		return -1;
	*p = sqlite3_column_blob(x, i);
	len = sqlite3_column_bytes(x, i);
	if (len < 0 || (len > 0 && *p == NULL))
		return -1;
	*n = (size_t)len;
	return 0;
}

/* ---- the store core's view of a statement (store_core.h) ---- */

static int
sq_row_text(const struct store_row *r, int col, char *out, size_t outlen)
{
	return sq_col_text(r->res, col, out, outlen);
}

static int
sq_row_i64(const struct store_row *r, int col, int64_t *v)
{
	return sq_col_i64(r->res, col, v);
}

static int
sq_row_f64(const struct store_row *r, int col, double *v)
{
	if (sqlite3_column_type(r->res, col) != SQLITE_FLOAT)
		return -1;
	*v = sqlite3_column_double(r->res, col);
	return 0;
}

static int
sq_row_null(const struct store_row *r, int col)
{
	return sqlite3_column_type(r->res, col) == SQLITE_NULL;
}

static int
sq_row_blob(const struct store_row *r, int col, const void **p, size_t *n)
{
	int len;

	if (sqlite3_column_type(r->res, col) != SQLITE_BLOB)
		return -1;
	*p = sqlite3_column_blob(r->res, col);
	len = sqlite3_column_bytes(r->res, col);
	if (len < 0 || (len > 0 && *p == NULL))
		return -2;
	*n = (size_t)len;
	return 0;
}

/* The current row of x. */
struct store_row
sq_row(sqlite3_stmt *x)
{
	struct store_row r = {sq_row_text, sq_row_i64, sq_row_f64, sq_row_null, sq_row_blob, x, 0};

	return r;
}

int
sq_commit(struct sq_store *q, char *err, size_t errlen)
{
	sqlite3_stmt *x = q->stmt[q->group ? SQ_RELEASE : SQ_COMMIT];
	int rc = sq_exec_stmt(x);

	if (rc != SQLITE_DONE)
		return sq_fail(q, "commit", err, errlen);
	sqlite3_reset(x);
	return 0;
}

/*
 * -1 with err when a file of the database has been made immutable or
 * append-only (chattr +i, chflags schg) under the running aggregator.
 * SQLite writes the -shm through a shared mapping, and the kernel answers
 * such a write with SIGBUS, ending the process with nothing logged.  Reads
 * write it too (a WAL reader's marks), so every operation of the backend
 * checks first: sq_files_frozen() for writes (sq_begin: all three files,
 * so a failed commit names the one), sq_shm_frozen() for the readers on
 * entry (the -shm only: the database and the -wal are read with read(),
 * which an immutable file allows; one statx, not three, per read of a
 * report that makes one per host and limit).  The window between this
 * check and SQLite's access is microseconds; the SIGBUS handler (main.c)
 * covers it.
 */
static int
sq_frozen(struct sq_store *q, const char *const *suffix, size_t n, char *err, size_t errlen)
{
	char p[PATH_MAX + 8];
	size_t i;

	for (i = 0; i < n; i++) {
		int frozen = 0;

		snprintf(p, sizeof(p), "%s%s", q->path, suffix[i]);
#ifdef STATX_ATTR_IMMUTABLE
		/*
		 * statx, not open + ioctl(FS_IOC_GETFLAGS): closing any
		 * descriptor of the database would drop SQLite's POSIX locks
		 * on it, and another process's sqlite3 would then remove the
		 * -wal under us as the last one to close.
		 */
		{
			struct statx sx;

			if (statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, 0, &sx) == -1)
				continue; /* no -wal yet: SQLite reports what else is wrong */
			frozen = (sx.stx_attributes_mask & sx.stx_attributes &
			          (STATX_ATTR_IMMUTABLE | STATX_ATTR_APPEND)) != 0;
		}
#elif defined(SF_IMMUTABLE)
		{
			struct stat sb;

			if (stat(p, &sb) == -1)
				continue;
			frozen = (sb.st_flags &
			          (SF_IMMUTABLE | UF_IMMUTABLE | SF_APPEND | UF_APPEND)) != 0;
		}
#endif
		if (frozen) {
			snprintf(
			    err, errlen,
			    "%s: file is immutable or append-only (chattr +i / chflags schg?): "
			    "nothing can be written, nor read (SQLite's readers write to the -shm)",
			    p);
			return -1;
		}
	}
	return 0;
}

int
sq_files_frozen(struct sq_store *q, char *err, size_t errlen)
{
	static const char *const all[] = {"", "-wal", "-shm"};

	return sq_frozen(q, all, sizeof(all) / sizeof(all[0]), err, errlen);
}

int
sq_shm_frozen(struct sq_store *q, char *err, size_t errlen)
{
	static const char *const shm[] = {"-shm"};

	return sq_frozen(q, shm, 1, err, errlen);
}

/*
 * After SQLITE_FULL: copies the WAL into the database and truncates it to
 * zero bytes, freeing its space.  And from then on keeps the WAL small
 * (SQ_TIGHT_PAGES between checkpoints, cut back to that size): a WAL that
 * may grow to 32 MiB on a disk with less room than that fills it again,
 * and then no checkpoint can grow the database to empty it.
 */
void
sq_wal_truncate(struct sq_store *q)
{
	if (!q->wal_full || !sqlite3_get_autocommit(q->db))
		return;
	if (!q->wal_tight) {
		q->wal_tight = 1;
		sqlite3_wal_autocheckpoint(q->db, SQ_TIGHT_PAGES);
		sqlite3_exec(q->db, "PRAGMA journal_size_limit = " SQ_TIGHT_LIMIT, NULL, NULL,
		             NULL);
	}
	if (sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
	    SQLITE_OK)
		q->wal_full = 0;
}

/* Notes a failure for full disk; call before anything resets the error code. */
void
sq_note_full(struct sq_store *q)
{
	if ((sqlite3_extended_errcode(q->db) & 0xff) == SQLITE_FULL)
		q->wal_full = 1;
}

/*
 * The -wal removed (or replaced) under the running aggregator, by hand or
 * by another process's sqlite3 that took itself for the last user: this
 * connection would go on committing into a file no one else sees, lost at
 * the next restart.  Copies what it holds into the database, reopens (a new
 * -wal), and says so.  -1 with err when the copy fails: nothing is then
 * written (and acknowledged) into the lost file.
 */
static int
sq_wal_check(struct sq_store *q, char *err, size_t errlen)
{
	char p[PATH_MAX + 8];
	struct stat sb;
	int frames = 0, rc;
	size_t i;

	snprintf(p, sizeof(p), "%s-wal", q->path);
	rc = stat(p, &sb);
	if (!q->wal_known) {
		if (rc == 0) {
			q->wal_known = 1;
			q->wal_dev = sb.st_dev;
			q->wal_ino = sb.st_ino;
		}
		return 0;
	}
	if (rc == 0 && sb.st_dev == q->wal_dev && sb.st_ino == q->wal_ino)
		return 0;
	if (sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_FULL, &frames, NULL) !=
	    SQLITE_OK) {
		sq_fail(q, "the -wal was removed under us, and copying it into the database failed",
		        err, errlen);
		return -1;
	}
	for (i = 0; i < SQ_NSTMT; i++) {
		sqlite3_finalize(q->stmt[i]);
		q->stmt[i] = NULL;
	}
	sqlite3_close(q->db);
	q->db = NULL;
	if (sq_connect(q, 0, err, errlen) == -1)
		return -1;
	log_warnx("%s: removed under the running aggregator (by hand, or by another "
	          "process's sqlite3): its %d frames copied into the database, database reopened",
	          p, frames);
	return 0;
}

int
sq_begin(struct sq_store *q, char *err, size_t errlen)
{
	sqlite3_stmt *x;

	/* a group whose transaction an error rolled back is over: begin as usual */
	if (q->group && sqlite3_get_autocommit(q->db))
		q->group = 0;
	if (q->group) {
		x = q->stmt[SQ_SAVEPOINT];
		if (sq_exec_stmt(x) != SQLITE_DONE) {
			sq_fail(q, "savepoint", err, errlen);
			sqlite3_reset(x);
			return -1;
		}
		sqlite3_reset(x);
		return 0;
	}
	if (sq_files_frozen(q, err, errlen) == -1 || sq_wal_check(q, err, errlen) == -1)
		return -1;
	sq_wal_truncate(q);
	x = q->stmt[SQ_BEGIN]; /* after sq_wal_check: it may have reopened */
	if (sq_exec_stmt(x) != SQLITE_DONE) {
		sq_fail(q, "begin", err, errlen);
		sqlite3_reset(x);
		return -1;
	}
	sqlite3_reset(x);
	return 0;
}

/*
 * A group (store_ops.group_begin): one transaction, begun with sq_begin's
 * checks, in which each host's transaction is a savepoint.
 */
int
sq_group_begin(struct store *st, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;

	if (q->group)
		return 0;
	if (sq_begin(q, err, errlen) == -1)
		return -1;
	q->group = 1;
	return 0;
}

/* Commits the group; -1 with err when that fails (none of it is kept). */
int
sq_group_end(struct store *st, char *err, size_t errlen)
{
	struct sq_store *q = st->impl;

	if (!q->group)
		return 0;
	q->group = 0;
	/* an error inside rolled it all back already: the savepoints since committed alone */
	if (sqlite3_get_autocommit(q->db))
		return 0;
	if (sq_commit(q, err, errlen) == -1) {
		sq_rollback(q);
		return -1;
	}
	return 0;
}
