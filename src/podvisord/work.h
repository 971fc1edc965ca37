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

struct event_base;
struct work_pool;

/* Jobs in flight at once; work_submit() says -EAGAIN beyond. */
#define WORK_MAX_JOBS 16

struct work_ops {
	/* On the job's thread, every signal blocked: the blocking part. */
	void (*run)(void *arg);
	/* On the loop thread after run(): the reply; frees arg. */
	void (*done)(void *arg);
	/* Instead of done() when the pool is freed first: frees arg, any
	 * thread, touching nothing else. */
	void (*discard)(void *arg);
};

int work_pool_new(struct event_base *base, struct work_pool **out);

/*
 * Starts ops->run(arg) on a new thread. Returns 0 (done or discard will
 * follow, exactly once), -EAGAIN when WORK_MAX_JOBS jobs are in flight, or
 * -errno when no thread could be made; arg stays the caller's on failure.
 * Loop thread only.
 */
int work_submit(struct work_pool *wp, const struct work_ops *ops, void *arg);

/* Jobs in flight (submitted, done() not yet run). Loop thread only. */
unsigned int work_in_flight(const struct work_pool *wp);

/*
 * Loop thread, after the loop has stopped: finished jobs are discarded now,
 * running ones when their run() returns; the last one frees the pool.
 * NULL is fine.
 */
void work_pool_free(struct work_pool *wp);

#endif
