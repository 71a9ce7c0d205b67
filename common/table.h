/*
 * table.h: the one aligned text table every text view prints (the agent's
 * --print, ipcfleet host/hosts, and the CLI's fleet views), and the one way
 * a msgpack value becomes a cell.  Cells are collected into one buffer and
 * printed in one go, columns as wide as their widest cell (in code points),
 * two spaces apart, numbers right-aligned, no trailing blanks.
 *
 * Text from a document is cleaned by the one text rule (text.h) as it
 * becomes a cell; our own words and numbers go in as they are.
 */
#ifndef IPCFLEET_TABLE_H
#define IPCFLEET_TABLE_H

#include <stddef.h>

#include <msgpack.h>

#include "buf.h"

#define TABLE_MAXCOLS 24     /* columns of one table */
#define TABLE_MAXROWS 200000 /* rows of one table; past it the table fails */
#define TABLE_CELL    400    /* bytes of one cell; longer text is cut with "..." */

struct table {
	size_t ncols;
	char hdr[TABLE_MAXCOLS][64];
	int right[TABLE_MAXCOLS];
	struct buf text; /* every cell, NUL-terminated, back to back */
	size_t *off;     /* per row: ncols cell offsets, then the line under it */
	size_t nrows, caprows, col;
	int failed;
	int bare; /* no header line */
};

/*
 * hdr: "NAME", or ">NAME" for a right-aligned column (numbers); our own
 * words, cut at 63 bytes.  maxbytes bounds all cells together.
 */
void table_init(struct table *t, const char *const *hdr, size_t ncols, size_t maxbytes);
/* Sets column c's header from untrusted text (cleaned), upper-cased when upper. */
void table_set_header(struct table *t, size_t c, const char *s, size_t n, int right, int upper);
void table_free(struct table *t);
/* Starts a row; cells the previous row did not give are "-". */
void table_row(struct table *t);
/* Trusted text (our own words and numbers). */
void table_cell(struct table *t, const char *s);
void table_cellf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Untrusted text: cleaned and cut (text.h). */
void table_cell_text(struct table *t, const char *s, size_t n);
/* A msgpack scalar: strings cleaned, integers exactly, floats "%.1f", booleans yes/no, else "-". */
void table_cell_mp(struct table *t, const msgpack_object *o);
/* The same, but nil is "?" (a figure that is unknown is never "-" nor 0). */
void table_cell_num(struct table *t, const msgpack_object *o);
/* Strings only (names, times): anything else is "-". */
void table_cell_str(struct table *t, const msgpack_object *o);
/* Percent with one decimal ("78.2%"), "-" when not a number. */
void table_cell_pct(struct table *t, const msgpack_object *o);
/*
 * A usage entry's "used", "limit" or "pct": "?" when it is nil or missing
 * and the entry says it is unknown (unknown is never 0 nor "-").
 */
void table_cell_usage(struct table *t, const msgpack_object *it, const char *k);
/* Whether a usage entry carries "unknown" (a reason). */
int table_usage_unknown(const msgpack_object *it);
/* A line printed under the current row, indented by four (already clean). */
void table_under(struct table *t, const char *s, size_t n);
/* Prints the header and rows, each line starting with indent spaces; -1 when it failed. */
int table_print(struct table *t, struct buf *out, size_t indent);

/* Display width of UTF-8 text: code points. */
size_t table_width(const char *s);
/*
 * Appends a msgpack scalar the way a cell shows it (strings cleaned and cut
 * at max bytes), or dflt for anything else.
 */
void table_put_mp(struct buf *out, const msgpack_object *o, size_t max, const char *dflt);
/* Percent with one decimal ("78.2%"), "-" when not a number: a pct cell's text. */
void table_put_pct(struct buf *out, const msgpack_object *o);
/* A number as text: integers exactly, floats in their shortest form; else nothing. */
void table_put_number(struct buf *out, const msgpack_object *o);

/*
 * The one order of severities and statuses, most severe first: crit 0,
 * warn 1, info 2, anything else 3; statuses crit 0, warn 1, stale 2, ok 3,
 * anything else 4.
 */
int table_severity_rank(const msgpack_object *sev);
int table_status_rank(const msgpack_object *status);

#endif
