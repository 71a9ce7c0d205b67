/*
 * store_pg_codec.c: how values cross between the PostgreSQL backend and the
 * database (store_pg_local.h).  Parameters go out in text format from
 * bounded buffers (text made valid UTF-8 by pg_clean(), the way it will be
 * stored), bytea in binary; results come back in binary format and every
 * column's type and length are checked before it is decoded, as if it came
 * from the network.  Also the store core's view of a result row and of a
 * statement's parameters (store_core.h), so that the core's host and
 * finding codecs run over PostgreSQL as they do over SQLite.
 */
#ifdef IPCFLEET_HAVE_LIBPQ

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>

#include "model.h"
#include "store_core.h"
#include "store_pg_local.h"
#include "text.h"

/* ---- parameters ---- */

static char *
pg_param_slot(struct pg_params *p)
{
	if (p->n >= PG_NPARAMS) {
		p->bad = 1;
		return NULL;
	}
	return p->buf[p->n];
}

/* Takes the next parameter: v as text (fmt 0, len 0) or binary (fmt 1, len bytes). */
static void
pg_param_add(struct pg_params *p, const char *v, int len, int fmt)
{
	p->v[p->n] = v;
	p->len[p->n] = len;
	p->fmt[p->n] = fmt;
	p->n++;
}

void
pg_p_i64(struct pg_params *p, int64_t v)
{
	char *b = pg_param_slot(p);

	if (b == NULL)
		return;
	snprintf(b, PG_TEXT_MAX, "%" PRId64, v);
	pg_param_add(p, b, 0, 0);
}

/* uint64_t as its int64_t bit pattern: see the schema comment. */
void
pg_p_u64(struct pg_params *p, uint64_t v)
{
	pg_p_i64(p, (int64_t)v);
}

/*
 * The limits of u that have one, as four array parameters (text[],
 * bigint[], bigint[], float8[] literals): names, used, limit, and used as a
 * double.  The names are model_usage()'s own identifiers, never quoted.
 */
void
pg_p_usage(struct pg_params *p, const struct usage *u)
{
	char *b[4];
	size_t off[4] = {0, 0, 0, 0}, i, k;
	int n;

	for (k = 0; k < 4; k++) {
		if ((b[k] = pg_param_slot(p)) == NULL)
			return;
		b[k][0] = '{';
		off[k] = 1;
		pg_param_add(p, b[k], 0, 0);
	}
	for (i = 0; i < u->n; i++) {
		const char *sep = off[0] > 1 ? "," : "";

		/* unknown figures are no samples: a gap in the series */
		if (!USAGE_KNOWN(&u->v[i]))
			continue;
		for (k = 0; k < 4; k++) {
			size_t room = PG_TEXT_MAX - off[k];

			switch (k) {
			case 0:
				n = snprintf(b[k] + off[k], room, "%s%s", sep, u->v[i].name);
				break;
			case 1:
				n = snprintf(b[k] + off[k], room, "%s%" PRId64, sep,
				             (int64_t)u->v[i].used);
				break;
			case 2:
				n = snprintf(b[k] + off[k], room, "%s%" PRId64, sep,
				             (int64_t)u->v[i].limit);
				break;
			default:
				n = snprintf(b[k] + off[k], room, "%s%.17g", sep,
				             (double)u->v[i].used);
				break;
			}
			if (n < 0 || (size_t)n + 2 > room) {
				p->bad = 1;
				return;
			}
			off[k] += (size_t)n;
		}
	}
	for (k = 0; k < 4; k++) {
		b[k][off[k]] = '}';
		b[k][off[k] + 1] = '\0';
	}
}

/*
 * Copies s (at most max bytes with its NUL) into out as valid UTF-8: each
 * byte sequence that is not UTF-8 becomes '?', so the output is never longer
 * than the input.  Names and messages come from agents and need not be
 * UTF-8, which PostgreSQL's text refuses; the mapping is deterministic and
 * leaves valid text alone, so a host's name (or a finding's identity) maps
 * to the same stored text every time.  -1 when s is not NUL-terminated
 * within max or does not fit outlen.
 */
static int
pg_clean(const char *s, size_t max, char *out, size_t outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strnlen(s, max), i = 0, o = 0, len, bad;

	if (n >= max || n >= outlen)
		return -1;
	while (i < n) {
		if (u[i] < 0x80) {
			out[o++] = s[i++];
			continue;
		}
		len = text_utf8_len(u + i, n - i, &bad);
		if (len == 0) {
			out[o++] = '?';
			i += bad > 0 ? bad : 1;
			continue;
		}
		memcpy(out + o, s + i, len);
		o += len;
		i += len;
	}
	out[o] = '\0';
	return 0;
}

/* Text that must be NUL-terminated within max bytes (its field's size). */
void
pg_p_text(struct pg_params *p, const char *s, size_t max)
{
	char *b = pg_param_slot(p);

	if (b == NULL)
		return;
	if (pg_clean(s, max, b, PG_TEXT_MAX) == -1) {
		p->bad = 1;
		return;
	}
	pg_param_add(p, b, 0, 0);
}

void
pg_p_bytea(struct pg_params *p, const uint8_t *b, size_t n)
{
	if (pg_param_slot(p) == NULL)
		return;
	if (n > INT_MAX) {
		p->bad = 1;
		return;
	}
	/* libpq wants a non-NULL pointer even for zero bytes */
	pg_param_add(p, n > 0 ? (const char *)b : "", (int)n, 1);
}

/* A small bytea copied into the parameter's own buffer (a digest). */
void
pg_p_bytea_copy(struct pg_params *p, const uint8_t *b, size_t n)
{
	char *slot = pg_param_slot(p);

	if (slot == NULL)
		return;
	if (n == 0 || n > PG_TEXT_MAX) {
		p->bad = 1;
		return;
	}
	memcpy(slot, b, n);
	pg_p_bytea(p, (const uint8_t *)slot, n);
}

/* ---- reading columns back (binary format): every value is checked ---- */

int
pg_col_ok(const PGresult *r, int row, int col, Oid type)
{
	return col < PQnfields(r) && PQftype(r, col) == type && PQfformat(r, col) == 1 &&
	       !PQgetisnull(r, row, col);
}

/*
 * An 8-byte column of type, in network order, into *v: an int64_t or a
 * double (int8 and float8 alike, the same 8 bytes in host order).
 */
static int
pg_col_be64(const PGresult *r, int row, int col, Oid type, void *v)
{
	const unsigned char *p;
	uint64_t x = 0;
	int i;

	if (!pg_col_ok(r, row, col, type) || PQgetlength(r, row, col) != 8)
		return -1;
	p = (const unsigned char *)PQgetvalue(r, row, col);
	for (i = 0; i < 8; i++)
		x = x << 8 | p[i];
	memcpy(v, &x, sizeof(x));
	return 0;
}

int
pg_col_i64(const PGresult *r, int row, int col, int64_t *v)
{
	return pg_col_be64(r, row, col, PG_INT8OID, v);
}

static int
pg_col_f64(const PGresult *r, int row, int col, double *v)
{
	return pg_col_be64(r, row, col, PG_FLOAT8OID, v);
}

int
pg_col_bool(const PGresult *r, int row, int col, int *v)
{
	if (!pg_col_ok(r, row, col, PG_BOOLOID) || PQgetlength(r, row, col) != 1)
		return -1;
	*v = PQgetvalue(r, row, col)[0] != 0;
	return 0;
}

/* Copies a text column into out; too long or an embedded NUL is an error. */
int
pg_col_text(const PGresult *r, int row, int col, char *out, size_t outlen)
{
	const char *s;
	int n;

	if (!pg_col_ok(r, row, col, PG_TEXTOID))
		return -1;
	s = PQgetvalue(r, row, col);
	n = PQgetlength(r, row, col);
	if (s == NULL || n < 0 || (size_t)n >= outlen || memchr(s, '\0', (size_t)n) != NULL)
		return -1;
	memcpy(out, s, (size_t)n);
	out[n] = '\0';
	return 0;
}

/* ---- the store core's view of a result and of parameters (store_core.h) ---- */

static int
pg_row_text(const struct store_row *r, int col, char *out, size_t outlen)
{
	return pg_col_text(r->res, r->row, col, out, outlen);
}

static int
pg_row_i64(const struct store_row *r, int col, int64_t *v)
{
	return pg_col_i64(r->res, r->row, col, v);
}

static int
pg_row_f64(const struct store_row *r, int col, double *v)
{
	return pg_col_f64(r->res, r->row, col, v);
}

static int
pg_row_null(const struct store_row *r, int col)
{
	return PQgetisnull(r->res, r->row, col);
}

static int
pg_row_blob(const struct store_row *r, int col, const void **p, size_t *n)
{
	int len;

	if (!pg_col_ok(r->res, r->row, col, PG_BYTEAOID))
		return -1;
	len = PQgetlength(r->res, r->row, col);
	if (len < 0)
		return -1;
	*p = PQgetvalue(r->res, r->row, col);
	*n = (size_t)len;
	return 0;
}

/* Row row of r. */
struct store_row
pg_row(const PGresult *r, int row)
{
	struct store_row sr = {pg_row_text, pg_row_i64, pg_row_f64, pg_row_null,
	                       pg_row_blob, (void *)r,  row};

	return sr;
}

/* pg_params go in order: i is their count plus one. */
static int
pg_param_text(struct store_params *sp, int i, const char *s, size_t max)
{
	struct pg_params *p = sp->stmt;

	(void)i;
	pg_p_text(p, s, max);
	return p->bad ? -1 : 0;
}

static int
pg_param_i64(struct store_params *sp, int i, int64_t v)
{
	struct pg_params *p = sp->stmt;

	(void)i;
	pg_p_i64(p, v);
	return p->bad ? -1 : 0;
}

/* Decodes PG_FINDING_COLUMNS (starting at column 0) of row into f. */
int
pg_row_finding(const PGresult *r, int row, struct finding *f)
{
	struct store_row sr = pg_row(r, row);

	return store_finding_read(&sr, f);
}

/* Parameters $1..$20 of PG_FINDING_INSERT. */
void
pg_p_finding(struct pg_params *p, int64_t host_id, const char *fkey, const struct finding *f,
             int64_t now)
{
	struct store_params sp = {pg_param_text, pg_param_i64, p};

	memset(p, 0, sizeof(*p));
	store_finding_params(&sp, 1, host_id, fkey, f, now, 0); /* a failure sets p->bad */
}

/*
 * Parameters $1..$13 of PG_FINDING_UPDATE: what may change in an open
 * finding, and the row's id.
 */
void
pg_p_finding_update(struct pg_params *p, int64_t host_id, const char *fkey, const struct finding *f,
                    int64_t now, int64_t row)
{
	struct store_params sp = {pg_param_text, pg_param_i64, p};

	memset(p, 0, sizeof(*p));
	if (store_finding_params(&sp, 1, host_id, fkey, f, now, 1) != -1) /* else p->bad */
		pg_p_i64(p, row);
}

/*
 * Field s (size bytes, its NUL included) as it will be stored (see
 * pg_clean()), in place.  -1 when it is not NUL-terminated.
 */
static int
pg_clean_field(char *s, size_t size)
{
	char tmp[PG_TEXT_MAX];

	if (pg_clean(s, size, tmp, size) == -1)
		return -1;
	memcpy(s, tmp, size);
	return 0;
}

/*
 * The text of a finding as it will be stored (see pg_clean()), so that
 * identities and messages compare equal with what is read back.  -1 when a
 * field is not NUL-terminated.
 */
int
pg_finding_clean(struct finding *f)
{
	if (pg_clean_field(f->limit, sizeof(f->limit)) == -1 ||
	    pg_clean_field(f->scope, sizeof(f->scope)) == -1 ||
	    pg_clean_field(f->message, sizeof(f->message)) == -1 ||
	    pg_clean_field(f->owner, sizeof(f->owner)) == -1 ||
	    pg_clean_field(f->command, sizeof(f->command)) == -1)
		return -1;
	return 0;
}

#endif /* IPCFLEET_HAVE_LIBPQ */
