/*
 * pgplan.h: how many System V semaphores and semaphore sets a PostgreSQL
 * instance needs (`ipcfleet plan postgres`), and whether a host has them.
 *
 * PostgreSQL allocates one semaphore per process slot, in sets of 16 plus
 * one "magic number" semaphore each: sets = ceil(slots / 16), semaphores =
 * sets x 17.  The slots per major version are in pgplan.c, with sources.
 */
#ifndef IPCFLEET_PGPLAN_H
#define IPCFLEET_PGPLAN_H

#include <stdint.h>
#include <msgpack.h>

#include "buf.h"

/* PostgreSQL refuses more backends than this (MAX_BACKENDS, 2^18 - 1). */
#define PGPLAN_MAX_BACKENDS 262143

struct pgplan_in {
	int branch; /* 904 .. 906 for 9.4 .. 9.6, then 1000, 1100, ..., 1700, 1800, ... */
	int minor;  /* 9.6.24 -> 24, 17.2 -> 2; -1 when not given */
	uint64_t max_connections;
	uint64_t autovacuum_max_workers;
	uint64_t max_worker_processes;
	uint64_t max_wal_senders;
	uint64_t num_os_semaphores; /* 0: not given; else used as is (any version) */
};

struct pgplan {
	struct pgplan_in in;
	uint64_t slots;       /* semaphores PostgreSQL itself asks for */
	uint64_t sets;        /* SEMMNI needed */
	uint64_t semaphores;  /* SEMMNS needed */
	int constant;         /* the "+ N" of the formula; 0 with num_os_semaphores */
	int wal_senders;      /* 1 when max_wal_senders counts (12 and later) */
	int posix_default;    /* 1 when Linux/FreeBSD builds use POSIX semaphores (10+) */
	char formula[256];    /* the documented formula, symbolic */
	char arith[256];      /* the same with the numbers filled in */
	char arith_sets[192]; /* its first part: "ceil((..) / 16) = ceil(N / 16) = SETS" */
	char note[320];       /* "" or a caveat for this version */
};

/* What a host has free, from its `host` document. */
struct pgplan_fit {
	uint64_t semmns, semmni;           /* limits */
	uint64_t free_semmns, free_semmni; /* limit - used, 0 when over */
	int has_semmsl;
	uint64_t semmsl;
	int fits;              /* free >= needed (and semmsl >= 17 where known) */
	int fits_with_restart; /* free >= 2 x needed: a crashed instance's sets linger */
	int stale;             /* the document says the host is stale */
	/* how many such instances fit now, and the limit that binds first (capacity.h) */
	uint64_t instances;
	const char *binding;
};

/*
 * "9.6", "9.6.24", "10", "12.4", "17": returns 0 with branch and minor set,
 * or -1 with a static reason.  Versions before 9.4 are refused.
 */
int pgplan_parse_version(const char *s, int *branch, int *minor, const char **why);
/* Formats a branch: "9.6", "17". */
void pgplan_branch_name(int branch, char *out, size_t len);
/* Computes p from in.  Returns 0, or -1 with a static reason (bad inputs). */
int pgplan_compute(const struct pgplan_in *in, struct pgplan *p, const char **why);
/*
 * Reads semmns/semmni usage and limits from a host document.  Returns 0, or
 * -1 with a reason in err when the document lacks them.
 */
int pgplan_fit(const struct pgplan *p, const msgpack_object *doc, struct pgplan_fit *f, char *err,
               size_t errlen);
/* Text for a person; host and f may be NULL. */
void pgplan_text(const struct pgplan *p, const char *host, const struct pgplan_fit *f,
                 struct buf *out);
/* The JSON document of CONTRACT.md (pretty); host and f may be NULL. */
void pgplan_json(const struct pgplan *p, const char *host, const struct pgplan_fit *f,
                 struct buf *out);

#endif
