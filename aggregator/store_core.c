/*
 * store_core.c: the store's logic that does not depend on the database
 * (store_core.h): the finding's column table and codec, the readers'
 * checks, the findings sync and the count runs' update, over the
 * primitives each backend provides.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "findings.h"
#include "proto.h"
#include "store_blocks.h"
#include "store_core.h"

/* How a column's value maps to a field of struct finding, and its checks. */
enum sc_type {
	SC_KIND,     /* text: finding_kind_name() */
	SC_SEVERITY, /* integer SEV_INFO..SEV_CRIT */
	SC_TEXT,     /* text within its field */
	SC_FLAG,     /* integer, 0 or not */
	SC_OTYPE,    /* integer IPC_SHM..IPC_MSG */
	SC_UID,      /* integer 0..UINT32_MAX */
	SC_I64,
	SC_U64, /* as its int64_t bit pattern, as both schemas keep it */
};

struct sc_column {
	enum sc_type type;
	size_t off, size; /* of the field in struct finding */
	int changes;      /* an update of an open finding writes it */
};

#define SC_FIELD(t, f, ch)                                                                         \
	{                                                                                          \
		t, offsetof(struct finding, f), sizeof(((struct finding *)0)->f), ch               \
	}

/* STORE_FINDING_COLUMNS, in that order. */
static const struct sc_column sc_finding[STORE_FINDING_NCOLUMNS] = {
    SC_FIELD(SC_KIND, kind, 0),         SC_FIELD(SC_SEVERITY, severity, 1),
    SC_FIELD(SC_TEXT, limit, 0),        SC_FIELD(SC_TEXT, scope, 0),
    SC_FIELD(SC_TEXT, message, 1),      SC_FIELD(SC_FLAG, has_object, 0),
    SC_FIELD(SC_OTYPE, otype, 0),       SC_FIELD(SC_I64, oid, 0),
    SC_FIELD(SC_I64, age, 1),           SC_FIELD(SC_UID, uid, 0),
    SC_FIELD(SC_TEXT, owner, 1),        SC_FIELD(SC_TEXT, command, 1),
    SC_FIELD(SC_FLAG, has_headroom, 0), SC_FIELD(SC_U64, held, 1),
    SC_FIELD(SC_U64, free, 1),          SC_FIELD(SC_U64, safe_limit, 1),
    SC_FIELD(SC_I64, exhaust_at, 1),    SC_FIELD(SC_I64, opened, 0),
    SC_FIELD(SC_I64, updated, 0),
};
/* The columns a write sends; opened and updated come from its time. */
#define SC_WRITTEN (STORE_FINDING_NCOLUMNS - 2)

/* Reads column col of r into f as c says, checking its range. */
static int
sc_read_column(const struct store_row *r, int col, const struct sc_column *c, struct finding *f)
{
	char *field = (char *)f + c->off;
	char kind[MODEL_NAME_MAX];
	int64_t v;

	switch (c->type) {
	case SC_KIND:
		return r->text(r, col, kind, sizeof(kind)) == -1 ||
		               finding_kind_parse(kind, &f->kind) == -1
		           ? -1
		           : 0;
	case SC_TEXT:
		return r->text(r, col, field, c->size);
	default:
		break;
	}
	if (r->i64(r, col, &v) == -1)
		return -1;
	switch (c->type) {
	case SC_SEVERITY:
		if (v < SEV_INFO || v > SEV_CRIT)
			return -1;
		f->severity = (enum severity)v;
		return 0;
	case SC_FLAG:
		*(int *)(void *)field = v != 0;
		return 0;
	case SC_OTYPE:
		if (v < IPC_SHM || v > IPC_MSG)
			return -1;
		f->otype = (enum ipc_type)v;
		return 0;
	case SC_UID:
		if (v < 0 || v > UINT32_MAX)
			return -1;
		f->uid = (uint32_t)v;
		return 0;
	case SC_U64: {
		uint64_t u = (uint64_t)v;

		memcpy(field, &u, sizeof(u));
		return 0;
	}
	default:
		memcpy(field, &v, sizeof(v));
		return 0;
	}
}

int
store_finding_read(const struct store_row *r, struct finding *f)
{
	int i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < STORE_FINDING_NCOLUMNS; i++)
		if (sc_read_column(r, i, &sc_finding[i], f) == -1)
			return -1;
	return 0;
}

int
store_host_read(const struct store_row *r, const char *label, struct stored_host *h, char *err,
                size_t errlen)
{
	int64_t page_size, iv;
	const void *blob;
	size_t n;
	int rc;

	memset(h, 0, sizeof(*h));
	if (r->text(r, 0, h->info.name, sizeof(h->info.name)) == -1) {
		snprintf(err, errlen, "%s: hosts: bad or too long name", label);
		return -1;
	}
	if (r->text(r, 1, h->info.os, sizeof(h->info.os)) == -1 ||
	    r->text(r, 2, h->info.os_release, sizeof(h->info.os_release)) == -1 ||
	    r->text(r, 3, h->info.agent, sizeof(h->info.agent)) == -1) {
		snprintf(err, errlen, "%s: hosts: bad or too long os, os_release or agent of %s",
		         label, h->info.name);
		return -1;
	}
	if (r->i64(r, 4, &page_size) == -1 || page_size < 0 || page_size > UINT32_MAX ||
	    r->i64(r, 5, &h->info.boot_time) == -1) {
		snprintf(err, errlen, "%s: hosts: bad page_size or boot_time of %s", label,
		         h->info.name);
		return -1;
	}
	h->info.page_size = (uint32_t)page_size;
	if (r->i64(r, 10, &iv) == -1 || iv < 0 || iv > UINT32_MAX) {
		snprintf(err, errlen, "%s: hosts: bad interval of %s", label, h->info.name);
		return -1;
	}
	h->info.interval = (uint32_t)iv;

	if (r->null(r, 6))
		return 0; /* no snapshot stored yet */
	if (r->i64(r, 6, &iv) == -1 || r->i64(r, 7, &h->last_taken) == -1 ||
	    r->i64(r, 8, &h->last_received) == -1) {
		snprintf(err, errlen, "%s: hosts: bad last_seq, last_taken or last_received of %s",
		         label, h->info.name);
		return -1;
	}
	h->last_seq = (uint64_t)iv;
	if (r->null(r, 9))
		return 0;
	if ((rc = r->blob(r, 9, &blob, &n)) != 0) {
		snprintf(err, errlen, "%s: hosts: snapshot of %s %s", label, h->info.name,
		         rc == -1 ? "is not a blob" : "cannot be read (out of memory)");
		return -1;
	}
	if (n > PROTO_MAX_FRAME) {
		snprintf(err, errlen, "%s: hosts: snapshot of %s is larger than %u bytes", label,
		         h->info.name, PROTO_MAX_FRAME);
		return -1;
	}
	/* malloc(0) may return NULL: allocate one byte so raw != NULL means "has one" */
	if ((h->raw = malloc(n > 0 ? n : 1)) == NULL) {
		snprintf(err, errlen, "%s: snapshot of %s: %s", label, h->info.name,
		         strerror(errno));
		return -1;
	}
	if (n > 0)
		memcpy(h->raw, blob, n);
	h->rawlen = n;
	return 0;
}

/* The value of f's column c as an integer (the non-text types). */
static int64_t
sc_int_of(const struct sc_column *c, const struct finding *f)
{
	const char *field = (const char *)f + c->off;
	uint64_t u;
	int64_t v;

	switch (c->type) {
	case SC_SEVERITY:
		return f->severity;
	case SC_FLAG:
		return *(const int *)(const void *)field;
	case SC_OTYPE:
		return f->otype;
	case SC_UID:
		return f->uid;
	case SC_U64:
		memcpy(&u, field, sizeof(u));
		return (int64_t)u;
	default:
		memcpy(&v, field, sizeof(v));
		return v;
	}
}

int
store_finding_params(struct store_params *p, int i, int64_t host_id, const char *fkey,
                     const struct finding *f, int64_t now, int changes_only)
{
	const struct sc_column *c;
	int k, rc;

	if (p->i64(p, i++, host_id) == -1 || p->text(p, i++, fkey, FINDING_KEY_MAX) == -1)
		return -1;
	for (k = 0; k < SC_WRITTEN; k++) {
		c = &sc_finding[k];
		if (changes_only && !c->changes)
			continue;
		if (c->type == SC_KIND)
			rc = p->text(p, i, finding_kind_name(f->kind), MODEL_NAME_MAX);
		else if (c->type == SC_TEXT)
			rc = p->text(p, i, (const char *)f + c->off, c->size);
		else
			rc = p->i64(p, i, sc_int_of(c, f));
		if (rc == -1)
			return -1;
		i++;
	}
	return p->i64(p, i, now) == -1 ? -1 : i + 1;
}

int
store_rollup_read(const struct store_row *r, struct rollup *out)
{
	int64_t v[5];

	if (r->i64(r, 0, &out->hour) == -1 || r->i64(r, 1, &v[1]) == -1 ||
	    r->i64(r, 2, &v[2]) == -1 || r->f64(r, 3, &out->mean) == -1 ||
	    r->i64(r, 4, &v[3]) == -1 || r->i64(r, 5, &v[4]) == -1)
		return -1;
	out->min = (uint64_t)v[1];
	out->max = (uint64_t)v[2];
	out->count = (uint64_t)v[3];
	out->limit = (uint64_t)v[4];
	return 0;
}

int
store_sample_read(const struct store_row *r, struct sample *out)
{
	int64_t used, limit;

	if (r->i64(r, 0, &out->t) == -1 || r->i64(r, 1, &used) == -1 || r->i64(r, 2, &limit) == -1)
		return -1;
	out->used = (uint64_t)used;
	out->limit = (uint64_t)limit;
	return 0;
}

int
store_put_check(const char *label, const struct host_info *hi, const uint8_t *raw, size_t rawlen,
                uint8_t digest[STORE_DIGEST_LEN], char *err, size_t errlen)
{
	if (raw == NULL || rawlen > PROTO_MAX_FRAME) {
		snprintf(err, errlen, "%s: snapshot payload missing or larger than %u bytes", label,
		         PROTO_MAX_FRAME);
		return -1;
	}
	if (hi->name[0] == '\0' || strnlen(hi->name, sizeof(hi->name)) >= sizeof(hi->name) ||
	    strnlen(hi->os, sizeof(hi->os)) >= sizeof(hi->os) ||
	    strnlen(hi->os_release, sizeof(hi->os_release)) >= sizeof(hi->os_release) ||
	    strnlen(hi->agent, sizeof(hi->agent)) >= sizeof(hi->agent) ||
	    strnlen(hi->spool, sizeof(hi->spool)) >= sizeof(hi->spool)) {
		snprintf(err, errlen, "%s: bad host name, os, os_release, agent or spool", label);
		return -1;
	}
	if (store_digest(raw, rawlen, digest) == -1) {
		snprintf(err, errlen, "%s: cannot compute the snapshot's digest", label);
		return -1;
	}
	return 0;
}

int
store_read_none(const char *host, const char *limit, size_t max)
{
	return max == 0 || strnlen(host, MODEL_NAME_MAX) >= MODEL_NAME_MAX ||
	       strnlen(limit, MODEL_NAME_MAX) >= MODEL_NAME_MAX;
}

/* Begins st's transaction for host: 0 with *id, or -1 with err (rolled back). */
static int
sc_begin(struct store *st, const char *what, const char *host, int64_t *id, char *err,
         size_t errlen)
{
	const struct store_tx *tx = st->ops->tx;
	int rc = -1;

	if (strnlen(host, MODEL_NAME_MAX) < MODEL_NAME_MAX &&
	    (rc = tx->begin(st, host, id, err, errlen)) == 0)
		return 0;
	if (rc != -1)
		snprintf(err, errlen, "%s: %s for unknown host %.*s", tx->label(st), what,
		         MODEL_NAME_MAX - 1, host);
	tx->rollback(st);
	return -1;
}

/* cur as tx->clean() says it will be stored, malloc'd (NULL when n is 0).  0 or -1. */
static int
sc_clean(struct store *st, const struct finding *cur, size_t n, struct finding **out, char *err,
         size_t errlen)
{
	const struct store_tx *tx = st->ops->tx;
	size_t i;

	*out = NULL;
	if (n == 0)
		return 0;
	if ((*out = calloc(n, sizeof(**out))) == NULL) {
		snprintf(err, errlen, "%s: findings: out of memory", tx->label(st));
		return -1;
	}
	for (i = 0; i < n; i++) {
		(*out)[i] = cur[i];
		if (tx->clean != NULL && tx->clean(&(*out)[i]) == -1) {
			snprintf(err, errlen, "%s: findings: a text field is not terminated",
			         tx->label(st));
			free(*out);
			*out = NULL;
			return -1;
		}
	}
	return 0;
}

int
store_core_sync_findings(struct store *st, const char *host, const struct finding *cur, size_t n,
                         int64_t now, struct finding_change **changes, size_t *nchanges, char *err,
                         size_t errlen)
{
	const struct store_tx *tx = st->ops->tx;
	struct finding *open = NULL, *clean = NULL;
	struct finding_step *steps = NULL;
	int64_t *rowid = NULL; /* of each open finding */
	size_t nopen = 0, nsteps = 0, i;
	int64_t id;

	*changes = NULL;
	*nchanges = 0;
	if (tx->clean != NULL) {
		if (sc_clean(st, cur, n, &clean, err, errlen) == -1)
			return -1;
		cur = clean;
	}
	if (sc_begin(st, "findings", host, &id, err, errlen) == -1) {
		free(clean);
		return -1;
	}
	if (tx->load_open(st, id, &open, &rowid, &nopen, err, errlen) == -1)
		goto failed;
	if (findings_plan(cur, n, open, nopen, now, &steps, &nsteps) == -1 ||
	    findings_plan_changes(steps, nsteps, changes, nchanges) == -1) {
		snprintf(err, errlen, "%s: findings: out of memory", tx->label(st));
		goto failed;
	}
	for (i = 0; i < nsteps; i++) {
		const struct finding_step *sp = &steps[i];

		if (tx->apply(st, id, sp, sp->c.what == FC_OPENED ? -1 : rowid[sp->open_at], now,
		              err, errlen) == -1)
			goto failed;
	}
	/* cur is now the open set: a backend that keeps the status reads it from the row */
	if (tx->set_status != NULL &&
	    tx->set_status(st, id, findings_status(cur, n), err, errlen) == -1)
		goto failed;
	if (tx->commit(st, err, errlen) == -1)
		goto failed;
	free(clean);
	free(open);
	free(rowid);
	free(steps);
	return 0;
failed:
	tx->rollback(st);
	free(clean);
	free(open);
	free(rowid);
	free(steps);
	free(*changes);
	*changes = NULL;
	*nchanges = 0;
	return -1;
}

int
store_core_counts(struct store *st, const char *host, int64_t t, const struct count_run *cur,
                  size_t n, int64_t keep, struct count_run **runs, size_t *nruns, char *err,
                  size_t errlen)
{
	const struct store_tx *tx = st->ops->tx;
	struct count_run *v = NULL;
	struct buf blob;
	size_t nv = 0;
	int64_t id;
	int rc;

	*runs = NULL;
	*nruns = 0;
	if (sc_begin(st, "counts", host, &id, err, errlen) == -1)
		return -1;
	buf_init(&blob, (size_t)COUNT_RUNS_MAX * 128 + 64);
	if ((rc = tx->counts_get(st, id, &blob, err, errlen)) == -1)
		goto failed;
	/* a row that does not decode is history lost, not a failure: start again */
	if (rc == 0 && sb_counts_decode((const uint8_t *)blob.data, blob.len, &v, &nv) == -1) {
		v = NULL;
		nv = 0;
	}
	buf_reset(&blob);
	if (sb_counts_merge(&v, &nv, cur, n, t, keep) == -1 ||
	    sb_counts_encode(v, nv, &blob) == -1) {
		snprintf(err, errlen, "%s: counts: out of memory", tx->label(st));
		goto failed;
	}
	if (tx->counts_put(st, id, &blob, err, errlen) == -1 || tx->commit(st, err, errlen) == -1)
		goto failed;
	buf_free(&blob);
	*runs = v;
	*nruns = nv;
	return 0;
failed:
	tx->rollback(st);
	buf_free(&blob);
	free(v);
	return -1;
}
