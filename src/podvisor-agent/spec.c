/* SPDX-License-Identifier: Apache-2.0 */
/* Command specs (args, env, cwd) and bounded output capture. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "container.h"
#include "podvisor/util.h"

#define DEFAULT_PATH                                                           \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static char **str_array(json_object *a, const char *extra)
{
	size_t n = a ? json_object_array_length(a) : 0, i, k = 0;
	char **v = calloc(n + 2, sizeof(*v));

	if (!v)
		return NULL;
	for (i = 0; i < n; i++)
		v[k++] = strdup(
		    json_object_get_string(json_object_array_get_idx(a, i)));
	if (extra)
		v[k++] = strdup(extra);
	for (i = 0; i < k; i++)
		if (!v[i])
			goto oom;
	return v;
oom:
	for (i = 0; i < k; i++)
		free(v[i]);
	free(v);
	return NULL;
}

static bool env_has_path(json_object *env)
{
	size_t i, n = env ? json_object_array_length(env) : 0;

	for (i = 0; i < n; i++)
		if (!strncmp(json_object_get_string(
		                 json_object_array_get_idx(env, i)),
		             "PATH=", 5))
			return true;
	return false;
}

int spec_parse_cmd(json_object *req, struct ctr_spec *spec,
                   struct agent_error *err)
{
	json_object *args = NULL, *env = NULL, *v;

	/* The request was validated: types and shapes are right. */
	json_object_object_get_ex(req, "args", &args);
	json_object_object_get_ex(req, "env", &env);
	if (json_object_object_get_ex(req, "name", &v))
		snprintf(spec->name, sizeof(spec->name), "%s",
		         json_object_get_string(v));
	if (json_object_object_get_ex(req, "cwd", &v))
		snprintf(spec->cwd, sizeof(spec->cwd), "%s",
		         json_object_get_string(v));
	spec->argv = str_array(args, NULL);
	spec->envp = str_array(env, env_has_path(env) ? NULL : DEFAULT_PATH);
	if (!spec->argv || !spec->envp) {
		spec_free(spec);
		agent_err_set(err, AGENT_ERR_INTERNAL, "", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void free_strv(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void spec_free(struct ctr_spec *spec)
{
	free_strv(spec->argv);
	free_strv(spec->envp);
	spec->argv = spec->envp = NULL;
}

void capture_init(struct capture *c, int fd, int file)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->file = file;
	/* The event loop must never block on a chatty or stuck workload. */
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void capture_keep(struct capture *c, const char *data, size_t n)
{
	size_t room = AGENT_LOG_MAX - c->len;
	size_t keep = MIN(room, n);

	if (keep && c->file >= 0) {
		if (pv_write_full(c->file, data, keep) < 0)
			keep = 0;
	} else if (keep) {
		char *nb = realloc(c->buf, c->len + keep + 1);

		if (!nb) {
			keep = 0;
		} else {
			c->buf = nb;
			memcpy(c->buf + c->len, data, keep);
			c->buf[c->len + keep] = '\0';
		}
	}
	c->len += keep;
	c->dropped += n - keep;
}

bool capture_pump(struct capture *c)
{
	char buf[16384];

	while (c->fd >= 0) {
		ssize_t n = read(c->fd, buf, sizeof(buf));

		if (n > 0) {
			capture_keep(c, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		close(c->fd);
		c->fd = -1;
	}
	return false;
}

void capture_close(struct capture *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->file >= 0)
		close(c->file);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = c->file = -1;
}
