// SPDX-License-Identifier: Apache-2.0
/*
 * podvisord's worker pool (src/podvisord/work.c): completions come back on
 * the loop thread, jobs of one key run one at a time and in order, other
 * keys run meanwhile, the bound says -EAGAIN, a pool freed with jobs
 * still running discards them, and a waiting job can be skipped.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "work.h"

struct job {
	char name[8];
	int sleep_ms;
	uint64_t start_ns, end_ns;
	pthread_t ran_on;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char order[64]; /* names in the order done() ran */
static int nr_done, nr_discarded;
static pthread_t loop_self;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void job_run(void *arg)
{
	struct job *j = arg;

	j->start_ns = now_ns();
	j->ran_on = pthread_self();
	usleep((useconds_t)j->sleep_ms * 1000);
	j->end_ns = now_ns();
}

static void job_done(void *arg)
{
	struct job *j = arg;

	ck_assert(pthread_equal(pthread_self(), loop_self));
	ck_assert(!pthread_equal(j->ran_on, loop_self));
	strcat(order, j->name);
	nr_done++;
}

static void job_discard(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	nr_discarded++;
	pthread_mutex_unlock(&lock);
}

static const struct work_ops ops = {
    .run = job_run,
    .done = job_done,
    .discard = job_discard,
};

static void run_until(struct event_base *base, int want)
{
	uint64_t deadline = now_ns() + 5000000000ULL;

	while (nr_done < want && now_ns() < deadline)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	ck_assert_int_eq(nr_done, want);
}

static void reset(void)
{
	order[0] = '\0';
	nr_done = nr_discarded = 0;
	loop_self = pthread_self();
}

START_TEST(test_keys_serialise)
{
	struct event_base *base = event_base_new();
	struct work_pool *wp = NULL;
	struct job a1 = {.name = "a1", .sleep_ms = 60},
	           a2 = {.name = "a2", .sleep_ms = 10},
	           a3 = {.name = "a3", .sleep_ms = 10};
	struct job b1 = {.name = "b1", .sleep_ms = 10};

	reset();
	ck_assert_int_eq(work_pool_new(base, &wp), 0);
	ck_assert_int_eq(work_submit_keyed(wp, "a", &ops, &a1), 0);
	ck_assert_int_eq(work_submit_keyed(wp, "a", &ops, &a2), 0);
	ck_assert_int_eq(work_submit_keyed(wp, "a", &ops, &a3), 0);
	ck_assert_int_eq(work_submit_keyed(wp, "b", &ops, &b1), 0);
	ck_assert_uint_eq(work_in_flight(wp), 4);
	run_until(base, 4);
	/* b1 ran beside a1; a2 and a3 waited for the one before. */
	ck_assert_str_eq(order, "b1a1a2a3");
	ck_assert(b1.start_ns < a1.end_ns);
	ck_assert(a2.start_ns >= a1.end_ns);
	ck_assert(a3.start_ns >= a2.end_ns);
	ck_assert_uint_eq(work_in_flight(wp), 0);
	work_pool_free(wp);
	event_base_free(base);
}
END_TEST

START_TEST(test_bound)
{
	struct event_base *base = event_base_new();
	struct work_pool *wp = NULL;
	struct job jobs[WORK_MAX_JOBS + 1];

	reset();
	memset(jobs, 0, sizeof(jobs));
	ck_assert_int_eq(work_pool_new(base, &wp), 0);
	for (int i = 0; i < WORK_MAX_JOBS; i++) {
		jobs[i].sleep_ms = 5;
		ck_assert_int_eq(
		    work_submit_keyed(wp, i % 2 ? "x" : "", &ops, &jobs[i]), 0);
	}
	ck_assert_int_eq(work_submit(wp, &ops, &jobs[WORK_MAX_JOBS]), -EAGAIN);
	run_until(base, WORK_MAX_JOBS);
	ck_assert_int_eq(work_submit(wp, &ops, &jobs[WORK_MAX_JOBS]), 0);
	run_until(base, WORK_MAX_JOBS + 1);
	work_pool_free(wp);
	event_base_free(base);
}
END_TEST

START_TEST(test_free_discards)
{
	struct event_base *base = event_base_new();
	struct work_pool *wp = NULL;
	static struct job slow = {.name = "s", .sleep_ms = 200},
	                  waiting = {.name = "w", .sleep_ms = 1};

	reset();
	ck_assert_int_eq(work_pool_new(base, &wp), 0);
	ck_assert_int_eq(work_submit_keyed(wp, "k", &ops, &slow), 0);
	ck_assert_int_eq(work_submit_keyed(wp, "k", &ops, &waiting), 0);
	work_pool_free(wp); /* the waiting one now, the slow one later */
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&lock);
		int n = nr_discarded;
		pthread_mutex_unlock(&lock);
		if (n == 2)
			break;
		usleep(5000);
	}
	ck_assert_int_eq(nr_discarded, 2);
	ck_assert_int_eq(nr_done, 0);
	event_base_free(base);
}
END_TEST

/* Jobs named "s..." are skipped when their turn comes. */
static bool job_skip(void *arg)
{
	const struct job *j = arg;

	return j->name[0] == 's';
}

static const struct work_ops skip_ops = {
    .run = job_run,
    .done = job_done,
    .discard = job_discard,
    .skip = job_skip,
};

START_TEST(test_skip_waiting)
{
	struct event_base *base = event_base_new();
	struct work_pool *wp = NULL;
	struct job a1 = {.name = "a1", .sleep_ms = 60},
	           s2 = {.name = "s2", .sleep_ms = 10},
	           a3 = {.name = "a3", .sleep_ms = 10};

	reset();
	ck_assert_int_eq(work_pool_new(base, &wp), 0);
	ck_assert_int_eq(work_submit_keyed(wp, "a", &skip_ops, &a1), 0);
	ck_assert_int_eq(work_submit_keyed(wp, "a", &skip_ops, &s2), 0);
	ck_assert_int_eq(work_submit_keyed(wp, "a", &skip_ops, &a3), 0);
	run_until(base, 3);
	/* s2 got its done() in its turn without running; a3 ran after. */
	ck_assert_str_eq(order, "a1s2a3");
	ck_assert_uint_eq(s2.start_ns, 0);
	ck_assert(a3.start_ns >= a1.end_ns);
	ck_assert_uint_eq(work_in_flight(wp), 0);
	work_pool_free(wp);
	event_base_free(base);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon_work");
	TCase *tc = tcase_create("work");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_keys_serialise);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_free_discards);
	tcase_add_test(tc, test_skip_waiting);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
