/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's seccomp filter, applied in a child process per case: what a
 * taken-over VMM must not do (exec, fork) ends the process, what the VMM
 * itself does (threads, files) keeps working.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "podvisor/sandbox.h"

/* The "Seccomp:" mode of this process (0 none, 2 filter), or -1. */
static int seccomp_mode(void)
{
	char buf[4096], *p;
	int fd = open("/proc/self/status", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "\nSeccomp:");
	return p ? p[10] - '0' : -1;
}

static void *thread_main(void *arg)
{
	return arg;
}

/* Child side of each case; its exit status tells the parent what held:
 * 10 the filter was not installed, 11 a thread could not start. */
static void child(enum vm_seccomp mode, const char *then)
{
	static int token;
	pthread_t t;
	void *ret = NULL;

	if (sandbox_apply(mode) < 0)
		_exit(10);
	if (pthread_create(&t, NULL, thread_main, &token) != 0 ||
	    pthread_join(t, &ret) != 0 || ret != &token)
		_exit(11);
	if (!strcmp(then, "mode"))
		_exit(seccomp_mode());
	if (!strcmp(then, "exec")) {
		char *argv[] = {"true", NULL};

		execv("/bin/true", argv);
		_exit(12);
	}
	if (!strcmp(then, "fork")) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		_exit(13);
	}
	if (!strcmp(then, "clone3")) {
		long r = syscall(SYS_clone3, NULL, 0);

		_exit(r == -1 && errno == ENOSYS ? 0 : 14);
	}
	_exit(15);
}

/* Runs child(mode, then) and returns its wait status. */
static int run(enum vm_seccomp mode, const char *then)
{
	int st = 0;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		child(mode, then);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void ck_exit(int st, int code)
{
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == code,
	              "wanted exit %d, got status 0x%x", code, st);
}

static void ck_sigsys(int st)
{
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
	              "wanted death by SIGSYS, got status 0x%x", st);
}

START_TEST(kill_mode_installs_a_filter)
{
	ck_exit(run(VM_SECCOMP_KILL, "mode"), 2);
}
END_TEST

START_TEST(kill_mode_exec_kills)
{
	ck_sigsys(run(VM_SECCOMP_KILL, "exec"));
}
END_TEST

START_TEST(kill_mode_fork_kills)
{
	ck_sigsys(run(VM_SECCOMP_KILL, "fork"));
}
END_TEST

START_TEST(clone3_answers_enosys)
{
	ck_exit(run(VM_SECCOMP_KILL, "clone3"), 0);
}
END_TEST

START_TEST(log_mode_lets_exec_through)
{
	ck_exit(run(VM_SECCOMP_LOG, "exec"), 0);
}
END_TEST

START_TEST(off_installs_nothing)
{
	ck_exit(run(VM_SECCOMP_OFF, "mode"), 0);
}
END_TEST

START_TEST(deny_list_names_the_dangerous_calls)
{
	static const char *const must[] = {
	    "execve", "execveat", "fork",        "vfork", "ptrace", "mount",
	    "setns",  "unshare",  "init_module", "bpf",   "setuid", NULL};

	for (const char *const *m = must; *m; m++) {
		bool found = false;

		for (const char *const *s = sandbox_denied; *s; s++)
			found = found || !strcmp(*s, *m);
		ck_assert_msg(found, "%s is not denied", *m);
	}
}
END_TEST

static Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("seccomp");

	tcase_add_test(tc, kill_mode_installs_a_filter);
	tcase_add_test(tc, kill_mode_exec_kills);
	tcase_add_test(tc, kill_mode_fork_kills);
	tcase_add_test(tc, clone3_answers_enosys);
	tcase_add_test(tc, log_mode_lets_exec_through);
	tcase_add_test(tc, off_installs_nothing);
	tcase_add_test(tc, deny_list_names_the_dangerous_calls);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(sandbox_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
