/*
 * view.h: the documents users see, built once and shown three ways.
 *
 * A host document (CONTRACT.md, `ipcfleet host NAME --json`) is packed as
 * msgpack from a snapshot by view_pack_host().  The aggregator sends it in a
 * reply; the agent's --print builds it locally.  Either side then shows it
 * as JSON (mp_to_json) or as text tables (view_text_host, view_text_hosts).
 */
#ifndef IPCFLEET_VIEW_H
#define IPCFLEET_VIEW_H

#include <stdint.h>
#include <stdio.h>
#include <msgpack.h>

#include "buf.h"
#include "model.h"

/* Warn and crit percent for a limit, as the aggregator applies them. */
typedef void (*view_levels_fn)(void *arg, const char *limit, double *warn, double *crit);

/* What only the aggregator knows; all optional (NULL / 0 to leave out). */
struct view_extra {
	const char *host;   /* fleet name; when NULL the key is omitted */
	const char *status; /* "ok" "warn" "crit" "stale" */
	int64_t last_seen;  /* 0: omitted */
	/* the aggregator's view: when findings is set it replaces s->findings */
	const struct finding *findings;
	size_t nfindings;
	const struct recommendation *recs; /* "recommendations", when set */
	size_t nrecs;
	int row_details;        /* view_pack_host_row: add "findings" and "recommendations" */
	uint64_t more_findings; /* with row_details: open findings not listed ("more_findings") */
	view_levels_fn levels;  /* when set, usage entries carry "warn" and "crit" */
	void *levels_arg;
	/* with row_details: nmore more key/value pairs, packed last by more() (report rows) */
	size_t nmore;
	void (*more)(msgpack_packer *pk, void *arg);
	void *more_arg;
};

/* One finding as CONTRACT.md shows it; host is omitted when NULL. */
void view_pack_finding(msgpack_packer *pk, const char *host, const struct finding *f);
/*
 * The same, the last listed of its host in a fleet-wide list, with "more":
 * how many more open findings that host has that the list leaves out.
 */
void view_pack_finding_more(msgpack_packer *pk, const char *host, const struct finding *f,
                            uint64_t more);
/* One recommendation: limit current peak largest_consumer recommended ... */
void view_pack_recommendation(msgpack_packer *pk, const struct recommendation *r);

/* The usage map: {"semmns": {"used": .., "limit": .., "pct": ..}, ...}. */
void view_pack_usage(msgpack_packer *pk, const struct usage *u);
/* The same with each entry's "warn" and "crit" levels (levels may be NULL). */
void view_pack_usage_levels(msgpack_packer *pk, const struct usage *u, view_levels_fn levels,
                            void *arg);
/*
 * The host document: host, os, os_release, status, last_seen, usage, limits,
 * scopes (with their usage), objects, findings (the snapshot's own: orphan,
 * isolation; objects carry "owner" when the collector knew the name).
 */
void view_pack_host(msgpack_packer *pk, const struct snapshot *s, const struct view_extra *x);
/* One row of `hosts`: host, os, status, last_seen, usage. */
void view_pack_host_row(msgpack_packer *pk, const struct snapshot *s, const struct view_extra *x);
/*
 * The same row from the usage of the host's snapshot (model_usage(s, -1))
 * and its OS, for a caller that kept them instead of the snapshot; without
 * row_details.
 */
void view_pack_host_row_usage(msgpack_packer *pk, const char *os, const struct usage *u,
                              const struct view_extra *x);

/* Status from usage: "crit" >= 90%, "warn" >= 80%, else "ok". */
const char *view_status(const struct usage *u, double warn, double crit);

/*
 * Generic msgpack -> JSON: maps (string keys only; others are stringified),
 * arrays, ints, floats (shortest round-trip form), strings (escaped), nil,
 * bools.  Pretty prints with two-space indents when pretty is set.
 */
int mp_to_json(const msgpack_object *o, struct buf *out, int pretty);

/* Text renderings for a person; return 0 or -1 (document misshapen). */
int view_text_host(const msgpack_object *doc, FILE *fp);
int view_text_hosts(const msgpack_object *rows, FILE *fp);

#endif
