// SPDX-License-Identifier: Apache-2.0
/* podvisord's VM state machine and VMM exit-status words. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

/* W_EXITCODE-style statuses, built the way the kernel reports them. */
#define EXITED(c)   (((c)&0xff) << 8)
#define SIGNALED(s) ((s)&0x7f)

static enum pod_state next_of(enum pod_state s, enum pod_event e)
{
	enum pod_state n = POD_STATE_COUNT;

	ck_assert_int_eq(pod_state_next(s, e, &n), 0);
	return n;
}

static void refused(enum pod_state s, enum pod_event e)
{
	enum pod_state n = POD_STATE_COUNT;

	ck_assert_int_eq(pod_state_next(s, e, &n), -EBUSY);
	ck_assert_int_eq(n, POD_STATE_COUNT); /* untouched */
}

START_TEST(test_happy_path)
{
	enum pod_state s = next_of(POD_STOPPED, POD_EV_START);

	ck_assert_int_eq(s, POD_CREATING);
	s = next_of(s, POD_EV_READY);
	ck_assert_int_eq(s, POD_RUNNING);
	s = next_of(s, POD_EV_PAUSE);
	ck_assert_int_eq(s, POD_PAUSED);
	s = next_of(s, POD_EV_RESUME);
	ck_assert_int_eq(s, POD_RUNNING);
	s = next_of(s, POD_EV_STOP);
	ck_assert_int_eq(s, POD_STOPPING);
	s = next_of(s, POD_EV_EXIT_OK);
	ck_assert_int_eq(s, POD_STOPPED);
}
END_TEST

START_TEST(test_wrong_state_is_refused)
{
	refused(POD_CREATING, POD_EV_PAUSE);
	refused(POD_RUNNING, POD_EV_RESUME);
	refused(POD_RUNNING, POD_EV_READY);
	refused(POD_RUNNING, POD_EV_START);
	refused(POD_PAUSED, POD_EV_PAUSE);
	refused(POD_STOPPED, POD_EV_STOP);
	refused(POD_STOPPED, POD_EV_PAUSE);
	refused(POD_STOPPED, POD_EV_REBOOT);
	refused(POD_FAILED, POD_EV_RESUME);
	refused(POD_STOPPING, POD_EV_STOP);
	refused(POD_STOPPING, POD_EV_START);
	/* No process, so no exit can arrive. */
	refused(POD_STOPPED, POD_EV_EXIT_FAIL);
	ck_assert_int_eq(
	    pod_state_next(POD_STATE_COUNT, POD_EV_STOP, &(enum pod_state){0}),
	    -EINVAL);
}
END_TEST

START_TEST(test_exits)
{
	/* A VMM that dies on its own fails; one we stopped is stopped. */
	ck_assert_int_eq(next_of(POD_RUNNING, POD_EV_EXIT_FAIL), POD_FAILED);
	ck_assert_int_eq(next_of(POD_CREATING, POD_EV_EXIT_FAIL), POD_FAILED);
	ck_assert_int_eq(next_of(POD_PAUSED, POD_EV_EXIT_FAIL), POD_FAILED);
	ck_assert_int_eq(next_of(POD_STOPPING, POD_EV_EXIT_FAIL), POD_STOPPED);
	ck_assert_int_eq(next_of(POD_RUNNING, POD_EV_EXIT_OK), POD_STOPPED);
	ck_assert_int_eq(next_of(POD_FAILED, POD_EV_START), POD_CREATING);
	ck_assert_int_eq(next_of(POD_RUNNING, POD_EV_REBOOT), POD_CREATING);
}
END_TEST

START_TEST(test_names)
{
	for (int s = 0; s < POD_STATE_COUNT; s++)
		ck_assert_int_eq(pod_state_parse(pod_state_name(s)), s);
	ck_assert_str_eq(pod_state_name(POD_FAILED), "failed");
	ck_assert_int_eq(pod_state_parse("bogus"), -1);
	ck_assert(pod_state_has_process(POD_STOPPING));
	ck_assert(!pod_state_has_process(POD_FAILED));
	ck_assert(!pod_state_has_process(POD_STOPPED));
}
END_TEST

START_TEST(test_exit_words)
{
	char buf[160];

	ck_assert_int_eq(pod_exit_describe(EXITED(0), buf, sizeof(buf)),
	                 POD_EXIT_CLEAN);
	ck_assert_ptr_nonnull(strstr(buf, "powered off"));
	ck_assert_int_eq(pod_exit_describe(EXITED(2), buf, sizeof(buf)),
	                 POD_EXIT_FAILURE);
	ck_assert_ptr_nonnull(strstr(buf, "bad configuration, exit code 2"));
	ck_assert_int_eq(pod_exit_describe(EXITED(3), buf, sizeof(buf)),
	                 POD_EXIT_REBOOT);
	ck_assert_int_eq(pod_exit_describe(EXITED(4), buf, sizeof(buf)),
	                 POD_EXIT_FAILURE);
	ck_assert_ptr_nonnull(strstr(buf, "guest crashed"));
	pod_exit_describe(EXITED(5), buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "KVM internal"));
	pod_exit_describe(EXITED(1), buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "VMM error"));
	pod_exit_describe(EXITED(127), buf, sizeof(buf));
	ck_assert_ptr_nonnull(strstr(buf, "could not be executed"));
	pod_exit_describe(EXITED(77), buf, sizeof(buf));
	ck_assert_str_eq(buf, "unknown exit code 77");
	ck_assert_int_eq(pod_exit_describe(SIGNALED(SIGKILL), buf, sizeof(buf)),
	                 POD_EXIT_FAILURE);
	ck_assert_ptr_nonnull(strstr(buf, "killed by signal 9"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon_state");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_happy_path);
	tcase_add_test(tc, test_wrong_state_is_refused);
	tcase_add_test(tc, test_exits);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_exit_words);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
