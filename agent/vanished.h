/*
 * vanished.h: objects that disappeared while their creator still runs
 * (agent/vanished.c says why this is found by the agent).
 */
#ifndef IPCFLEET_VANISHED_H
#define IPCFLEET_VANISHED_H

#include <stdint.h>

#include "buf.h"
#include "collect.h"
#include "model.h"

/* Bytes of state kept: 100,000 objects of up to ~120 bytes a line. */
#define VANISHED_STATE_MAX (16u * 1024 * 1024)

/* One object of the previous snapshot, as the state keeps it. */
struct vanished_prev {
	enum ipc_type type;
	int64_t id, key, ctime, cpid; /* ctime, cpid: -1 when they were unknown */
	uint32_t uid;
	char scope[MODEL_NAME_MAX];
};

/* What s holds, as the state for the next snapshot (text, into out). 0 or -1. */
int vanished_state(const struct snapshot *s, struct buf *out);
/*
 * Compares s with prev (vanished_state() of an earlier snapshot; NUL
 * terminated, edited in place) and adds a vanished finding (warn) for each
 * object of prev that s no longer holds while its creator still runs, by
 * pt.  Nothing without a whole process table.  seen: a later time when
 * every object of prev was still present (a snapshot that held the same
 * objects, so the state was not written again), or 0; the findings say
 * "vanished since" the later of it and prev's own time.  Returns how many
 * were added, or -1 when out of memory.
 */
int vanished_findings(struct snapshot *s, struct proc_table *pt, char *prev, int64_t seen);
/* 1 when state a and b (vanished_state() texts) hold the same objects, whenever taken. */
int vanished_same_objects(const char *a, size_t alen, const char *b, size_t blen);

#endif
