/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lifecycle of one pod VM as podvisord sees it. Pure: no I/O, so every
 * transition is unit-tested (tests/unit/test_daemon_state.c).
 *
 *   creating --ready--> running <--pause/resume--> paused
 *   creating|running|paused --stop--> stopping --exited--> stopped
 *   any live state --exited with a failure--> failed
 *   stopped|failed --start--> creating
 *   creating|running|paused --reboot--> creating (new VMM process)
 */
#ifndef PODVISORD_STATE_H
#define PODVISORD_STATE_H

#include <stdbool.h>
#include <stddef.h>

enum pod_state {
	POD_CREATING,
	POD_RUNNING,
	POD_PAUSED,
	POD_STOPPING,
	POD_STOPPED,
	POD_FAILED,
	POD_STATE_COUNT,
};

enum pod_event {
	POD_EV_READY,     /* the VMM's control socket answered */
	POD_EV_PAUSE,     /* operator */
	POD_EV_RESUME,    /* operator */
	POD_EV_STOP,      /* operator (stop or delete) */
	POD_EV_START,     /* operator */
	POD_EV_REBOOT,    /* operator, or the guest asked (VMM exit 3) */
	POD_EV_EXIT_OK,   /* VMM exited 0: poweroff or requested stop */
	POD_EV_EXIT_FAIL, /* VMM exited non-zero (not 3) or by a signal */
	POD_EV_COUNT,
};

/* Lower-case word used in JSON and logs ("running"). */
const char *pod_state_name(enum pod_state s);
const char *pod_event_name(enum pod_event e);
/* Parses a state word; -1 when unknown. */
int pod_state_parse(const char *s);

/*
 * The state after ev in cur. Returns 0 and sets *next, or -EBUSY when the
 * event is not allowed in cur (the API answers 409).
 */
int pod_state_next(enum pod_state cur, enum pod_event ev, enum pod_state *next);

/* True in the states where a VMM process exists. */
bool pod_state_has_process(enum pod_state s);

/* What the VMM's wait status means, per the podvisor-vmm exit codes. */
enum pod_exit_kind {
	POD_EXIT_CLEAN,   /* 0: guest poweroff or stop requested */
	POD_EXIT_REBOOT,  /* 3: guest requested reboot */
	POD_EXIT_FAILURE, /* everything else */
};

/*
 * Describes a waitpid() status in words, e.g. "guest crashed (triple fault
 * or shutdown), exit code 4" or "killed by signal 9 (Killed)", into buf.
 * Returns the kind.
 */
enum pod_exit_kind pod_exit_describe(int wstatus, char *buf, size_t size);

#endif
