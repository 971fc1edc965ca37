// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "podvisor/log.h"

static char log_prog[32] = "podvisor";
static char log_ident[64];
static enum pv_log_level log_max = PV_LOG_INFO;
static bool log_journal;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
    [PV_LOG_ERR] = "error",
    [PV_LOG_WARN] = "warn",
    [PV_LOG_INFO] = "info",
    [PV_LOG_DEBUG] = "debug",
};

void pv_log_init(const char *prog, enum pv_log_level max)
{
	snprintf(log_prog, sizeof(log_prog), "%s", prog);
	log_max = max;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

void pv_log_set_ident(const char *ident)
{
	pthread_mutex_lock(&log_lock);
	snprintf(log_ident, sizeof(log_ident), "%s", ident ? ident : "");
	pthread_mutex_unlock(&log_lock);
}

int pv_log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++)
		if (level_names[i] && strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

void pv_logv(enum pv_log_level level, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* Keep one record per line whatever the message holds. */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	pthread_mutex_lock(&log_lock);
	if (log_journal)
		fprintf(stderr, "<%d>", (int)level);
	fprintf(stderr, "%s: %s: %s%s%s\n", log_prog, level_names[level],
	        log_ident, log_ident[0] ? ": " : "", msg);
	pthread_mutex_unlock(&log_lock);
}

void pv_log(enum pv_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pv_logv(level, fmt, ap);
	va_end(ap);
}

int pv_log_errno(enum pv_log_level level, int err, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pv_log(level, "%s: %s", msg, strerror(err));
	return -err;
}
