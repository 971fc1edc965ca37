/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Blocking work off the daemon's event loop: each job runs on its own
 * short-lived thread, and its completion comes back on the loop thread.
 *
 * A job's run() sees only what its arg owns: never struct pod, the daemon,
 * json objects the loop also holds, or an api_request. Whoever submits
 * copies what run() needs into arg first; done() runs on the loop and looks
 * everything up again (a pod may have been deleted in between).
 */
#ifndef PODVISORD_WORK_H
#define PODVISORD_WORK_H

#include <stdbool.h>

struct event_base;
struct work_pool;

/* Jobs in flight or waiting at once; work_submit() says -EAGAIN beyond. */
#define WORK_MAX_JOBS 16
/* Longest key of work_submit_keyed(), NUL included. */
#define WORK_KEY_MAX 32

struct work_ops {
	/* On the job's thread, every signal blocked: the blocking part. */
	void (*run)(void *arg);
	/* On the loop thread after run(): the reply; frees arg. Also
	 * without run() when a job that waited for its key finds no thread:
	 * arg should start out saying "not run". */
	void (*done)(void *arg);
	/* Instead of done() when the pool is freed first: frees arg, on any
	 * thread, touching nothing else. */
	void (*discard)(void *arg);
	/* Optional, on the loop thread when a job that waited for its key
	 * gets its turn: true gives it done() without run(), as when the
	 * object it works for has gone meanwhile. */
	bool (*skip)(void *arg);
};

int work_pool_new(struct event_base *base, struct work_pool **out);

/*
 * Starts ops->run(arg) on a new thread. Returns 0 (done or discard will
 * follow, exactly once), -EAGAIN when WORK_MAX_JOBS jobs are in flight, or
 * -errno when no thread could be made; arg stays the caller's on failure.
 * Loop thread only.
 */
int work_submit(struct work_pool *wp, const struct work_ops *ops, void *arg);

/*
 * Same, but jobs with the same key run one at a time, in the order they
 * were submitted: while one runs the next waits in the pool (and counts
 * against WORK_MAX_JOBS). Its done() starts the next. key "" is no key.
 * Returns 0, -EAGAIN (full, or no thread could be made), -ENOMEM, or
 * -ENAMETOOLONG for a key of WORK_KEY_MAX bytes or more.
 */
int work_submit_keyed(struct work_pool *wp, const char *key,
                      const struct work_ops *ops, void *arg);

/* Jobs in flight or waiting (done() not yet run). Loop thread only. */
unsigned int work_in_flight(const struct work_pool *wp);

/*
 * Loop thread, after the loop has stopped: finished and waiting jobs are
 * discarded now, running ones when their run() returns; the last one
 * frees the pool.
 * NULL is fine.
 */
void work_pool_free(struct work_pool *wp);

#endif
