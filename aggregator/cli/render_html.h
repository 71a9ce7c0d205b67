/*
 * render_html.h: what the HTML report's two files share (render_html.c the
 * document and its sections, render_html_svg.c the inline SVG drawings).
 */
#ifndef IPCFLEET_RENDER_HTML_H
#define IPCFLEET_RENDER_HTML_H

#include "cli.h"

/* Escapes s[0..n) for HTML text and attribute values (see render_html.c). */
void h_esc(struct buf *out, const char *s, size_t n);
/* Untrusted text: cleaned (the one text rule), cut at max bytes, escaped. */
void h_text(struct buf *out, const msgpack_object *o, size_t max, const char *dflt);

/*
 * A row's history of one limit: "max" (and "min") arrays of daily values,
 * nil for a day without figures.  NULL when the row has none for it.
 */
const msgpack_object *h_history(const msgpack_object *host, const msgpack_object *limit);

/* The sparkline of a history's daily peaks: a small inline SVG, or "-". */
void h_sparkline(struct buf *out, const msgpack_object *hist);
/*
 * The 30-day chart of one limit of a host: the daily min-max band, the
 * limit's line, warn and crit marks.  usage: the host's usage entry for it
 * (limit value, levels); id numbers the chart's title.
 */
void h_band_chart(struct buf *out, const msgpack_object *host, const msgpack_object *limit,
                  const msgpack_object *hist, const msgpack_object *usage, size_t id);

#endif
