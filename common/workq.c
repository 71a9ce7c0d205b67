/*
 * workq.c: one worker thread over an ordered queue (workq.h).
 *
 * Under mu: the links of the queue (written by the owner in workq_push,
 * followed by the worker), todo (the worker's next item), each item's done,
 * notified, idle and stop.  head and tail are the owner's alone.  The mutex
 * orders everything else: what the owner wrote in an item before pushing
 * it, the worker sees; what fn wrote before done was set, the owner sees
 * after workq_take_done.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "workq.h"

struct workq {
	workq_fn fn;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work_cv;         /* something queued, or stop */
	pthread_cond_t idle_cv;         /* the worker ran out of items */
	struct workq_item *head, *tail; /* the owner's */
	struct workq_item *todo;        /* under mu */
	int idle, stop, notified;       /* under mu */
	int fd[2];                      /* the worker writes a byte, the owner reads */
};

static void *
workq_main(void *arg)
{
	struct workq *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		struct workq_item *it;

		while (q->todo == NULL && !q->stop) {
			q->idle = 1;
			pthread_cond_broadcast(&q->idle_cv);
			pthread_cond_wait(&q->work_cv, &q->mu);
		}
		if (q->stop)
			break;
		q->idle = 0;
		it = q->todo;
		q->todo = it->next;
		pthread_mutex_unlock(&q->mu);

		q->fn(it);

		pthread_mutex_lock(&q->mu);
		it->done = 1;
		/* one byte until the owner takes the done items: a wakeup per batch */
		if (!q->notified) {
			char b = 0;

			q->notified = 1;
			/* EAGAIN: the pipe already holds a byte for the owner */
			while (write(q->fd[1], &b, 1) == -1 && errno == EINTR)
				;
		}
	}
	q->idle = 1;
	pthread_cond_broadcast(&q->idle_cv);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static int
set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return 0;
}

struct workq *
workq_new(workq_fn fn, char *err, size_t errlen)
{
	struct workq *q;
	sigset_t all, old;
	int rc;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	q->fn = fn;
	q->idle = 1;
	if (pipe(q->fd) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		free(q);
		return NULL;
	}
	if (set_flags(q->fd[0]) == -1 || set_flags(q->fd[1]) == -1) {
		snprintf(err, errlen, "fcntl: %s", strerror(errno));
		goto fail;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work_cv, NULL);
	pthread_cond_init(&q->idle_cv, NULL);
	/* the owner handles the signals: the worker starts with all blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&q->thread, NULL, workq_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(rc));
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->work_cv);
		pthread_cond_destroy(&q->idle_cv);
		goto fail;
	}
	return q;
fail:
	close(q->fd[0]);
	close(q->fd[1]);
	free(q);
	return NULL;
}

int
workq_fd(const struct workq *q)
{
	return q->fd[0];
}

void
workq_push(struct workq *q, struct workq_item *it)
{
	it->next = NULL;
	it->done = 0;
	pthread_mutex_lock(&q->mu);
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	if (q->todo == NULL)
		q->todo = it;
	pthread_mutex_unlock(&q->mu);
}

void
workq_kick(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	if (q->idle && q->todo != NULL)
		pthread_cond_signal(&q->work_cv);
	pthread_mutex_unlock(&q->mu);
}

struct workq_item *
workq_take_done(struct workq *q)
{
	struct workq_item *first, *last = NULL, *it;
	char b[64];

	while (read(q->fd[0], b, sizeof(b)) > 0)
		;
	pthread_mutex_lock(&q->mu);
	/* after the read: a byte written from now on announces items not taken */
	q->notified = 0;
	first = q->head;
	for (it = q->head; it != NULL && it->done; it = it->next)
		last = it;
	if (last != NULL) {
		q->head = last->next;
		if (q->head == NULL)
			q->tail = NULL;
		last->next = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return last != NULL ? first : NULL;
}

struct workq_item *
workq_first(const struct workq *q)
{
	return q->head;
}

void
workq_wait(struct workq *q)
{
	pthread_mutex_lock(&q->mu);
	if (q->idle && q->todo != NULL)
		pthread_cond_signal(&q->work_cv);
	while (q->todo != NULL || !q->idle)
		pthread_cond_wait(&q->idle_cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

struct workq_item *
workq_free(struct workq *q)
{
	struct workq_item *left;

	if (q == NULL)
		return NULL;
	pthread_mutex_lock(&q->mu);
	q->stop = 1;
	pthread_cond_signal(&q->work_cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	left = q->head;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->work_cv);
	pthread_cond_destroy(&q->idle_cv);
	close(q->fd[0]);
	close(q->fd[1]);
	free(q);
	return left;
}
