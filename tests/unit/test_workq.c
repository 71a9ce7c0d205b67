/*
 * test_workq.c: the aggregator's decoding thread's queue (common/workq.h):
 * items come back in the order they were queued whatever each one costs,
 * on another thread with every signal blocked; one byte announces any
 * number of done items; waiting finishes everything; freeing the queue
 * hands back what is left.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "workq.h"

struct job {
	struct workq_item it;
	unsigned n;       /* its place in the queue */
	unsigned spin_us; /* what fn costs for it */
	pthread_t ran_on; /* fn's thread */
	int term_blocked; /* SIGTERM was blocked in fn */
	unsigned squared; /* fn's result */
};

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_closed; /* fn waits while set: to hold the worker on purpose */
static unsigned ran;    /* items fn finished, under gate_mu */

static void
spin(unsigned us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < (long)us);
}

static void
job_fn(struct workq_item *it)
{
	struct job *j = (struct job *)it;
	sigset_t cur;

	pthread_mutex_lock(&gate_mu);
	while (gate_closed)
		pthread_cond_wait(&gate_cv, &gate_mu);
	pthread_mutex_unlock(&gate_mu);
	spin(j->spin_us);
	j->ran_on = pthread_self();
	pthread_sigmask(SIG_SETMASK, NULL, &cur);
	j->term_blocked = sigismember(&cur, SIGTERM) == 1;
	j->squared = j->n * j->n;
	pthread_mutex_lock(&gate_mu);
	ran++;
	pthread_mutex_unlock(&gate_mu);
}

static void
gate(int closed)
{
	pthread_mutex_lock(&gate_mu);
	gate_closed = closed;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

static unsigned
ran_count(void)
{
	unsigned n;

	pthread_mutex_lock(&gate_mu);
	n = ran;
	pthread_mutex_unlock(&gate_mu);
	return n;
}

static struct job *
jobs_new(unsigned n)
{
	struct job *js = calloc(n, sizeof(*js));
	unsigned i;

	assert_non_null(js);
	for (i = 0; i < n; i++) {
		js[i].n = i;
		/* uneven costs: a slow item must not let later ones overtake it */
		js[i].spin_us = i % 7 == 0 ? 300 : i % 3;
	}
	return js;
}

/* Takes what is done; checks order and results; returns how many. */
static unsigned
take(struct workq *q, unsigned *next)
{
	struct workq_item *it;
	unsigned got = 0;

	for (it = workq_take_done(q); it != NULL; it = it->next) {
		struct job *j = (struct job *)it;

		assert_int_equal(j->n, *next);
		assert_int_equal(j->squared, j->n * j->n);
		assert_true(j->term_blocked);
		assert_false(pthread_equal(j->ran_on, pthread_self()));
		(*next)++;
		got++;
	}
	return got;
}

static void
test_order(void **state)
{
	enum { N = 2000 };
	struct job *js = jobs_new(N);
	char err[128];
	struct workq *q = workq_new(job_fn, err, sizeof(err));
	unsigned i, next = 0, polls = 0;

	(void)state;
	assert_non_null(q);
	/* queued in bursts and taken while the worker goes on, as the loop does */
	for (i = 0; i < N; i++) {
		workq_push(q, &js[i].it);
		if (i % 32 == 31)
			workq_kick(q);
		if (i % 100 == 99)
			take(q, &next);
	}
	workq_kick(q);
	while (next < N) {
		struct pollfd p = {.fd = workq_fd(q), .events = POLLIN};

		/* nothing done and not taken means no byte: this poll ends only with one */
		assert_int_equal(poll(&p, 1, 10000), 1);
		take(q, &next);
		polls++;
	}
	assert_int_equal(next, N);
	assert_true(polls <= N);
	assert_null(workq_take_done(q));
	assert_null(workq_free(q));
	free(js);
}

static void
test_one_byte(void **state)
{
	enum { N = 50 };
	struct job *js = jobs_new(N);
	char err[128], b[8];
	struct workq *q = workq_new(job_fn, err, sizeof(err));
	unsigned i, next = 0, before = ran_count();

	(void)state;
	assert_non_null(q);
	for (i = 0; i < N; i++) {
		js[i].spin_us = 0;
		workq_push(q, &js[i].it);
	}
	workq_wait(q);
	assert_int_equal(ran_count() - before, N);
	/* fifty items done, not taken: one byte says so, not fifty */
	assert_int_equal(read(workq_fd(q), b, sizeof(b)), 1);
	assert_int_equal(take(q, &next), N);
	/* taking emptied the descriptor: nothing new, nothing to read */
	assert_int_equal(read(workq_fd(q), b, sizeof(b)), -1);
	assert_null(workq_free(q));
	free(js);
}

static void *
open_gate_later(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	gate(0);
	return NULL;
}

static void
test_free_hands_back(void **state)
{
	enum { N = 10 };
	struct job *js = jobs_new(N);
	char err[128];
	struct workq *q = workq_new(job_fn, err, sizeof(err));
	struct workq_item *left, *it;
	unsigned i, n = 0, started;
	pthread_t opener;

	(void)state;
	assert_non_null(q);
	gate(1);
	for (i = 0; i < N; i++)
		workq_push(q, &js[i].it);
	started = ran_count();
	workq_kick(q);
	/*
	 * The worker waits at the gate in the first item's fn, at most; the
	 * queue is told to stop meanwhile, and the gate opens 100 ms later.
	 */
	assert_int_equal(pthread_create(&opener, NULL, open_gate_later, NULL), 0);
	left = workq_free(q);
	pthread_join(opener, NULL);
	/* it stopped after at most the item it held: the rest come back, in order */
	assert_true(ran_count() - started <= 1);
	for (it = left; it != NULL; it = it->next) {
		assert_int_equal(((struct job *)it)->n, n);
		n++;
	}
	assert_int_equal(n, N);
	free(js);
}

static void
test_first_walks_all(void **state)
{
	enum { N = 5 };
	struct job *js = jobs_new(N);
	char err[128];
	struct workq *q = workq_new(job_fn, err, sizeof(err));
	struct workq_item *it;
	unsigned i, n = 0, next = 0;

	(void)state;
	assert_non_null(q);
	for (i = 0; i < N; i++)
		workq_push(q, &js[i].it);
	workq_wait(q);
	/* done but not taken: still the owner's to walk (a closed connection's jobs) */
	for (it = workq_first(q); it != NULL; it = it->next)
		assert_int_equal(((struct job *)it)->n, n++);
	assert_int_equal(n, N);
	assert_int_equal(take(q, &next), N);
	assert_null(workq_first(q));
	assert_null(workq_free(q));
	free(js);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_one_byte),
	    cmocka_unit_test(test_free_hands_back),
	    cmocka_unit_test(test_first_walks_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
