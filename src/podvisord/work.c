// SPDX-License-Identifier: Apache-2.0
/*
 * Worker threads of podvisord: one detached thread per job, at most
 * WORK_MAX_JOBS at once. A finished job goes on the pool's done list and
 * an eventfd wakes the loop, which runs its done() there. Jobs with a key
 * wait in the pool's queue while another job of that key runs.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#include "podvisor/log.h"
#include "work.h"

struct work_job {
	struct work_job *next;
	struct work_pool *wp;
	const struct work_ops *ops;
	void *arg;
	char key[WORK_KEY_MAX]; /* "" for none */
};

struct work_pool {
	int efd;
	struct event *ev;
	unsigned int in_flight; /* loop thread only, as the next three */
	unsigned int nr_queued;
	struct work_job *queued; /* oldest first: keys busy when submitted */
	char busy[WORK_MAX_JOBS][WORK_KEY_MAX]; /* keys of jobs in flight */
	pthread_mutex_t lock;                   /* guards the fields below */
	struct work_job *done; /* finished, waiting for the loop */
	unsigned int running;  /* threads not yet finished */
	bool closing;          /* work_pool_free() ran */
};

static void pool_destroy(struct work_pool *wp)
{
	if (wp->ev)
		event_free(wp->ev);
	if (wp->efd >= 0)
		close(wp->efd);
	pthread_mutex_destroy(&wp->lock);
	free(wp);
}

/* Takes the done list; the caller owns the jobs. */
static struct work_job *take_done(struct work_pool *wp)
{
	struct work_job *list, *rev = NULL;

	pthread_mutex_lock(&wp->lock);
	list = wp->done;
	wp->done = NULL;
	pthread_mutex_unlock(&wp->lock);
	while (list) { /* oldest first */
		struct work_job *j = list;

		list = j->next;
		j->next = rev;
		rev = j;
	}
	return rev;
}

static void start_next(struct work_pool *wp, const char *key);

static void on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct work_pool *wp = arg;
	struct work_job *j;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("work: eventfd read: %s", strerror(errno));
	for (j = take_done(wp); j;) {
		struct work_job *next = j->next;

		wp->in_flight--;
		j->ops->done(j->arg);
		if (j->key[0])
			start_next(wp, j->key);
		free(j);
		j = next;
	}
}

/* Hands a finished job to the loop, or discards it when nobody is left to
 * run done(); the last thread out of a closed pool frees it. */
static void finish(struct work_job *j)
{
	struct work_pool *wp = j->wp;
	uint64_t one = 1;
	bool last;

	pthread_mutex_lock(&wp->lock);
	wp->running--;
	if (!wp->closing) {
		j->next = wp->done;
		wp->done = j;
		j = NULL;
		if (write(wp->efd, &one, sizeof(one)) < 0)
			log_warn("work: eventfd write: %s", strerror(errno));
	}
	last = wp->closing && wp->running == 0;
	pthread_mutex_unlock(&wp->lock);
	if (j) {
		j->ops->discard(j->arg);
		free(j);
	}
	if (last)
		pool_destroy(wp);
}

static void *job_thread(void *arg)
{
	struct work_job *j = arg;

	j->ops->run(j->arg);
	finish(j);
	return NULL;
}

int work_pool_new(struct event_base *base, struct work_pool **out)
{
	struct work_pool *wp = calloc(1, sizeof(*wp));

	if (!wp)
		return -ENOMEM;
	pthread_mutex_init(&wp->lock, NULL);
	wp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (wp->efd < 0) {
		int r = -errno;

		pool_destroy(wp);
		return log_err_errno(-r, "work: eventfd");
	}
	wp->ev = event_new(base, wp->efd, EV_READ | EV_PERSIST, on_wakeup, wp);
	if (!wp->ev || event_add(wp->ev, NULL) < 0) {
		pool_destroy(wp);
		return log_err_errno(ENOMEM, "work: event_new");
	}
	*out = wp;
	return 0;
}

/* Detached, with every signal blocked: SIGCHLD and SIGTERM belong to the
 * loop, and a blocking call must not see EINTR from them. */
static int spawn(struct work_job *j)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t t;
	int r;

	sigfillset(&all);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&t, &attr, job_thread, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	return -r;
}

/* Runs j on its thread; j is the thread's from here, or freed. */
static int start(struct work_job *j)
{
	struct work_pool *wp = j->wp;
	int r;

	pthread_mutex_lock(&wp->lock);
	wp->running++;
	pthread_mutex_unlock(&wp->lock);
	r = spawn(j);
	if (r < 0) {
		pthread_mutex_lock(&wp->lock);
		wp->running--;
		pthread_mutex_unlock(&wp->lock);
		free(j);
		return log_err_errno(-r, "work: pthread_create");
	}
	wp->in_flight++;
	return 0;
}

/* Slot of key among the jobs in flight, or -1. key "" finds a free one. */
static int busy_slot(struct work_pool *wp, const char *key)
{
	for (int i = 0; i < WORK_MAX_JOBS; i++)
		if (!strcmp(wp->busy[i], key))
			return i;
	return -1;
}

/* Starts j, which waited for its key; false when it did not run (it got
 * its done() instead: skipped, or no thread). The key stays busy through
 * that done(), so a job it submits for the key waits its turn. */
static bool start_waiting(struct work_pool *wp, struct work_job *j, int slot)
{
	const struct work_ops *ops = j->ops;
	void *arg = j->arg;

	if (slot >= 0)
		snprintf(wp->busy[slot], WORK_KEY_MAX, "%s", j->key);
	if (ops->skip && ops->skip(arg))
		free(j);
	else if (start(j) == 0)
		return true;
	/* j is freed; its owner still has to answer */
	ops->done(arg);
	if (slot >= 0)
		wp->busy[slot][0] = '\0';
	return false;
}

/* A job of key is done: the oldest job waiting for key starts (one that
 * is skipped or cannot start gets its done() without run()). */
static void start_next(struct work_pool *wp, const char *key)
{
	struct work_job **pp, *j;
	int slot = busy_slot(wp, key);

	if (slot >= 0)
		wp->busy[slot][0] = '\0';
	for (pp = &wp->queued; *pp;) {
		j = *pp;
		if (strcmp(j->key, key)) {
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		wp->nr_queued--;
		j->next = NULL;
		if (start_waiting(wp, j, slot))
			return;
		pp = &wp->queued; /* done() may have queued more */
	}
}

int work_submit_keyed(struct work_pool *wp, const char *key,
                      const struct work_ops *ops, void *arg)
{
	struct work_job *j, **pp;
	int slot;

	if (wp->in_flight + wp->nr_queued >= WORK_MAX_JOBS)
		return -EAGAIN;
	if (strlen(key) >= WORK_KEY_MAX)
		return -ENAMETOOLONG;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->wp = wp;
	j->ops = ops;
	j->arg = arg;
	snprintf(j->key, sizeof(j->key), "%s", key);
	if (key[0] && busy_slot(wp, key) >= 0) {
		for (pp = &wp->queued; *pp; pp = &(*pp)->next)
			;
		*pp = j;
		wp->nr_queued++;
		return 0;
	}
	slot = key[0] ? busy_slot(wp, "") : -1;
	if (slot >= 0)
		snprintf(wp->busy[slot], WORK_KEY_MAX, "%s", key);
	if (start(j) < 0) {
		if (slot >= 0)
			wp->busy[slot][0] = '\0';
		return -EAGAIN;
	}
	return 0;
}

int work_submit(struct work_pool *wp, const struct work_ops *ops, void *arg)
{
	return work_submit_keyed(wp, "", ops, arg);
}

unsigned int work_in_flight(const struct work_pool *wp)
{
	return wp->in_flight + wp->nr_queued;
}

void work_pool_free(struct work_pool *wp)
{
	struct work_job *j, *list, *queued;
	bool last;

	if (!wp)
		return;
	event_free(wp->ev);
	wp->ev = NULL;
	queued = wp->queued;
	wp->queued = NULL;
	/* From here a finishing thread discards its job itself, and the last
	 * one frees the pool: touch nothing of wp after the unlock unless
	 * no thread is left. */
	pthread_mutex_lock(&wp->lock);
	wp->closing = true;
	list = wp->done;
	wp->done = NULL;
	last = wp->running == 0;
	pthread_mutex_unlock(&wp->lock);
	for (j = list; j;) {
		struct work_job *next = j->next;

		j->ops->discard(j->arg);
		free(j);
		j = next;
	}
	/* Waiting jobs never reached a thread: ours to discard. */
	for (j = queued; j;) {
		struct work_job *next = j->next;

		j->ops->discard(j->arg);
		free(j);
		j = next;
	}
	if (last)
		pool_destroy(wp);
}
