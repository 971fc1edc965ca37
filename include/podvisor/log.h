/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One-line log records on stderr: "<program>: <level>: [<ident>: ]<message>".
 * When stderr is the journal (JOURNAL_STREAM set) each line also starts with
 * the syslog priority prefix "<N>" so journald keeps the level.
 *
 * Library code logs only through this API and never prints to stdout.
 */
#ifndef PODVISOR_LOG_H
#define PODVISOR_LOG_H

#include <stdarg.h>

enum pv_log_level {
	PV_LOG_ERR = 3,
	PV_LOG_WARN = 4,
	PV_LOG_INFO = 6,
	PV_LOG_DEBUG = 7,
};

/* Program name and the most verbose level printed (default PV_LOG_INFO). */
void pv_log_init(const char *prog, enum pv_log_level max);

/*
 * Identity prepended to every record of this process, e.g. "vm 3f2a".
 * NULL clears it. The string is copied.
 */
void pv_log_set_ident(const char *ident);

/* Parses "error", "warn", "info" or "debug"; returns -EINVAL otherwise. */
int pv_log_level_parse(const char *s);

void pv_log(enum pv_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pv_logv(enum pv_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Logs "<message>: <strerror(err)>" and returns -err (err > 0 or < 0). */
int pv_log_errno(enum pv_log_level level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...)   pv_log(PV_LOG_ERR, __VA_ARGS__)
#define log_warn(...)  pv_log(PV_LOG_WARN, __VA_ARGS__)
#define log_info(...)  pv_log(PV_LOG_INFO, __VA_ARGS__)
#define log_debug(...) pv_log(PV_LOG_DEBUG, __VA_ARGS__)

/* "return log_err_errno(r, "open %s", path);" returns -|r|. */
#define log_err_errno(err, ...)  pv_log_errno(PV_LOG_ERR, (err), __VA_ARGS__)
#define log_warn_errno(err, ...) pv_log_errno(PV_LOG_WARN, (err), __VA_ARGS__)

#endif
