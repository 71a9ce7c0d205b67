/*
 * workq.h: one worker thread that runs a function over queued items, and
 * gives them back in the order they were queued.
 *
 * The caller embeds a struct workq_item in each of its jobs.  Only the
 * owner's thread (the one that made the queue) calls these functions; the
 * worker only runs fn.  fn reads what the owner wrote before workq_push and
 * writes the job's result; the owner reads the result after the item comes
 * back from workq_take_done.  Any other field of a job is the owner's alone.
 *
 * workq_fd is readable when an item is done and not yet taken: one byte,
 * however many items, until the owner takes them.  The worker runs with
 * every signal blocked.
 */
#ifndef IPCFLEET_WORKQ_H
#define IPCFLEET_WORKQ_H

#include <stddef.h>

struct workq_item {
	struct workq_item *next; /* the queue's order; the owner's to read */
	int done;                /* the queue's: read it through workq_take_done */
};

typedef void (*workq_fn)(struct workq_item *it);

struct workq;

/* A queue and its started thread, or NULL with the reason in err. */
struct workq *workq_new(workq_fn fn, char *err, size_t errlen);
int workq_fd(const struct workq *q);
/* Queues it (the worker is not woken: workq_kick). */
void workq_push(struct workq *q, struct workq_item *it);
/* Wakes the worker if it waits and something is queued. */
void workq_kick(struct workq *q);
/*
 * The done items at the head of the queue, in order, as a list linked by
 * next (NULL: none); empties workq_fd.
 */
struct workq_item *workq_take_done(struct workq *q);
/* The first item still queued (done or not), for the owner to walk by next. */
struct workq_item *workq_first(const struct workq *q);
/* Wakes the worker and waits until every queued item is done. */
void workq_wait(struct workq *q);
/*
 * Stops the worker after its current item, frees the queue and returns
 * the items still queued (done or not) for the caller to free.
 */
struct workq_item *workq_free(struct workq *q);

#endif
