// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "state.h"

static const char *const state_names[POD_STATE_COUNT] = {
    [POD_CREATING] = "creating", [POD_RUNNING] = "running",
    [POD_PAUSED] = "paused",     [POD_STOPPING] = "stopping",
    [POD_STOPPED] = "stopped",   [POD_FAILED] = "failed",
};

static const char *const event_names[POD_EV_COUNT] = {
    [POD_EV_READY] = "ready",     [POD_EV_PAUSE] = "pause",
    [POD_EV_RESUME] = "resume",   [POD_EV_STOP] = "stop",
    [POD_EV_START] = "start",     [POD_EV_REBOOT] = "reboot",
    [POD_EV_EXIT_OK] = "exit_ok", [POD_EV_EXIT_FAIL] = "exit_fail",
};

/* -1: not allowed. One row per state, one column per event. */
static const signed char transitions[POD_STATE_COUNT][POD_EV_COUNT] = {
    [POD_CREATING] =
        {
            [POD_EV_READY] = POD_RUNNING,
            [POD_EV_PAUSE] = -1,
            [POD_EV_RESUME] = -1,
            [POD_EV_STOP] = POD_STOPPING,
            [POD_EV_START] = -1,
            [POD_EV_REBOOT] = POD_CREATING,
            [POD_EV_EXIT_OK] = POD_STOPPED,
            [POD_EV_EXIT_FAIL] = POD_FAILED,
        },
    [POD_RUNNING] =
        {
            [POD_EV_READY] = -1,
            [POD_EV_PAUSE] = POD_PAUSED,
            [POD_EV_RESUME] = -1,
            [POD_EV_STOP] = POD_STOPPING,
            [POD_EV_START] = -1,
            [POD_EV_REBOOT] = POD_CREATING,
            [POD_EV_EXIT_OK] = POD_STOPPED,
            [POD_EV_EXIT_FAIL] = POD_FAILED,
        },
    [POD_PAUSED] =
        {
            [POD_EV_READY] = -1,
            [POD_EV_PAUSE] = -1,
            [POD_EV_RESUME] = POD_RUNNING,
            [POD_EV_STOP] = POD_STOPPING,
            [POD_EV_START] = -1,
            [POD_EV_REBOOT] = POD_CREATING,
            [POD_EV_EXIT_OK] = POD_STOPPED,
            [POD_EV_EXIT_FAIL] = POD_FAILED,
        },
    [POD_STOPPING] =
        {
            [POD_EV_READY] = -1,
            [POD_EV_PAUSE] = -1,
            [POD_EV_RESUME] = -1,
            [POD_EV_STOP] = -1,
            [POD_EV_START] = -1,
            [POD_EV_REBOOT] = -1,
            /* Whatever the exit code, an exit we asked for is a stop. */
            [POD_EV_EXIT_OK] = POD_STOPPED,
            [POD_EV_EXIT_FAIL] = POD_STOPPED,
        },
    [POD_STOPPED] =
        {
            [POD_EV_READY] = -1,
            [POD_EV_PAUSE] = -1,
            [POD_EV_RESUME] = -1,
            [POD_EV_STOP] = -1,
            [POD_EV_START] = POD_CREATING,
            [POD_EV_REBOOT] = -1,
            [POD_EV_EXIT_OK] = -1,
            [POD_EV_EXIT_FAIL] = -1,
        },
    [POD_FAILED] =
        {
            [POD_EV_READY] = -1,
            [POD_EV_PAUSE] = -1,
            [POD_EV_RESUME] = -1,
            [POD_EV_STOP] = -1,
            [POD_EV_START] = POD_CREATING,
            [POD_EV_REBOOT] = -1,
            [POD_EV_EXIT_OK] = -1,
            [POD_EV_EXIT_FAIL] = -1,
        },
};

const char *pod_state_name(enum pod_state s)
{
	return (unsigned)s < POD_STATE_COUNT ? state_names[s] : "unknown";
}

const char *pod_event_name(enum pod_event e)
{
	return (unsigned)e < POD_EV_COUNT ? event_names[e] : "unknown";
}

int pod_state_parse(const char *s)
{
	for (int i = 0; i < POD_STATE_COUNT; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

int pod_state_next(enum pod_state cur, enum pod_event ev, enum pod_state *next)
{
	int n;

	if ((unsigned)cur >= POD_STATE_COUNT || (unsigned)ev >= POD_EV_COUNT)
		return -EINVAL;
	n = transitions[cur][ev];
	if (n < 0)
		return -EBUSY;
	*next = (enum pod_state)n;
	return 0;
}

bool pod_state_has_process(enum pod_state s)
{
	return s == POD_CREATING || s == POD_RUNNING || s == POD_PAUSED ||
	       s == POD_STOPPING;
}

static const char *const exit_words[] = {
    [0] = "guest powered off or stop requested",
    [1] = "VMM error",
    [2] = "bad configuration",
    [3] = "guest requested reboot",
    [4] = "guest crashed (triple fault or shutdown)",
    [5] = "KVM internal or emulation error",
};

enum pod_exit_kind pod_exit_describe(int wstatus, char *buf, size_t size)
{
	if (WIFSIGNALED(wstatus)) {
		snprintf(buf, size, "killed by signal %d (%s)",
		         WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
		return POD_EXIT_FAILURE;
	}
	if (!WIFEXITED(wstatus)) {
		snprintf(buf, size, "unexpected wait status 0x%x", wstatus);
		return POD_EXIT_FAILURE;
	}
	int code = WEXITSTATUS(wstatus);

	if (code == 127)
		snprintf(buf, size,
		         "podvisor-vmm could not be executed "
		         "(exit code 127; check --vmm)");
	else if ((unsigned)code < sizeof(exit_words) / sizeof(exit_words[0]))
		snprintf(buf, size, "%s, exit code %d", exit_words[code], code);
	else
		snprintf(buf, size, "unknown exit code %d", code);
	if (code == 0)
		return POD_EXIT_CLEAN;
	return code == 3 ? POD_EXIT_REBOOT : POD_EXIT_FAILURE;
}
