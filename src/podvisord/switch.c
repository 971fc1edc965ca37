// SPDX-License-Identifier: Apache-2.0
/*
 * NICs with a "segment" become ports of podvisor-switch for as long as the
 * VM has a VMM: port_add before the VMM starts (the switch connects to the
 * VMM's vhost-user socket as a client and retries), port_del when it ends.
 * Protocol: include/podvisor/switch.h, one JSON object per line each way.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "podvisor/api.h"
#include "podvisor/log.h"
#include "podvisor/switch.h"
#include "podvisor/util.h"
#include "pod.h"

#define SWITCH_TIMEOUT_MS 2000

static int sw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {SWITCH_TIMEOUT_MS / 1000, 0};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return fd;
}

/* Sends req (consumed), reads one answer line. 0 and *resp, or -errno. */
static int sw_call(const char *path, json_object *req, json_object **resp)
{
	char line[8192];
	size_t got = 0;
	const char *text =
	    json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	_cleanup_close_ int fd = sw_connect(path);
	int r;

	*resp = NULL;
	if (fd < 0) {
		json_object_put(req);
		return fd;
	}
	r = pv_write_full(fd, text, strlen(text));
	if (r == 0)
		r = pv_write_full(fd, "\n", 1);
	json_object_put(req);
	if (r < 0)
		return r;
	while (got < sizeof(line) - 1) {
		ssize_t n = read(fd, line + got, sizeof(line) - 1 - got);

		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		got += (size_t)n;
		if (memchr(line, '\n', got))
			break;
	}
	line[got] = '\0';
	*resp = json_tokener_parse(line);
	return *resp ? 0 : -EBADMSG;
}

/* 0 when the switch said ok; else -EIO with its message in why. */
static int sw_do(const char *path, json_object *req, char *why, size_t size)
{
	json_object *resp, *v, *e;
	int r = sw_call(path, req, &resp);

	if (r < 0) {
		snprintf(why, size, "podvisor-switch at %s: %s", path,
		         strerror(-r));
		return r;
	}
	if (json_object_object_get_ex(resp, "ok", &v) &&
	    json_object_get_boolean(v)) {
		json_object_put(resp);
		return 0;
	}
	r = -EIO;
	if (json_object_object_get_ex(resp, "error", &e) &&
	    json_object_object_get_ex(e, "code", &v) &&
	    strcmp(json_object_get_string(v), "conflict") == 0)
		r = -EEXIST;
	snprintf(why, size, "podvisor-switch refused: %s",
	         json_object_to_json_string(resp));
	json_object_put(resp);
	return r;
}

static void port_name(const struct pod *p, unsigned int i, char *buf,
                      size_t size)
{
	snprintf(buf, size, "%s-eth%u", p->id, i);
}

static json_object *port_add_req(const struct pod *p, unsigned int i)
{
	const struct pod_net *n = &p->spec.nets[i];
	json_object *o = json_object_new_object();
	char name[SW_NAME_MAX], path[PATH_MAX], mac[18];

	port_name(p, i, name, sizeof(name));
	if (n->vhost_user_socket)
		snprintf(path, sizeof(path), "%s", n->vhost_user_socket);
	else
		snprintf(path, sizeof(path), "%s/net%u.sock", p->dir, i);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0],
	         n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
	json_object_object_add(o, "op", json_object_new_string("port_add"));
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "segment",
	                       json_object_new_string(n->segment));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	if (n->allow)
		json_object_object_add(o, "rules", json_object_get(n->allow));
	return o;
}

void pod_switch_detach(struct pod *p)
{
	for (unsigned int i = 0; i < p->spec.nr_nets; i++) {
		json_object *o;
		char name[SW_NAME_MAX], why[320];

		if (!p->spec.nets[i].segment || !(p->switch_ports & (1u << i)))
			continue;
		port_name(p, i, name, sizeof(name));
		o = json_object_new_object();
		json_object_object_add(o, "op",
		                       json_object_new_string("port_del"));
		json_object_object_add(o, "name", json_object_new_string(name));
		if (sw_do(p->d->switch_socket, o, why, sizeof(why)) < 0)
			log_warn("vm %s (%s): port %s stays in the switch: %s",
			         p->id, p->spec.name, name, why);
		else
			log_info("vm %s (%s): switch port %s removed", p->id,
			         p->spec.name, name);
		p->switch_ports &= ~(1u << i);
	}
}

static int segment_ensure(struct pod *p, const char *seg, char *why,
                          size_t size)
{
	json_object *o = json_object_new_object();
	int r;

	json_object_object_add(o, "op", json_object_new_string("segment_add"));
	json_object_object_add(o, "name", json_object_new_string(seg));
	json_object_object_add(o, "default", json_object_new_string("allow"));
	r = sw_do(p->d->switch_socket, o, why, size);
	return r == -EEXIST ? 0 : r;
}

int pod_switch_attach(struct pod *p, struct api_request *req)
{
	char why[320] = "";
	unsigned int i;
	int r = 0;

	for (i = 0; i < p->spec.nr_nets && r == 0; i++) {
		if (!p->spec.nets[i].segment || (p->switch_ports & (1u << i)))
			continue;
		r = segment_ensure(p, p->spec.nets[i].segment, why,
		                   sizeof(why));
		if (r == 0)
			r = sw_do(p->d->switch_socket, port_add_req(p, i), why,
			          sizeof(why));
		if (r == 0) {
			p->switch_ports |= 1u << i;
			log_info("vm %s (%s): nets[%u] is switch port "
			         "%s-eth%u in segment %s",
			         p->id, p->spec.name, i, p->id, i,
			         p->spec.nets[i].segment);
		}
	}
	if (r == 0)
		return 0;
	pod_switch_detach(p);
	if (r == -EIO || r == -EEXIST)
		api_reply_error(req, 409, API_E_CONFLICT, NULL, "nets[%u]: %s",
		                i - 1, why);
	else
		api_reply_error(req, 503, API_E_UNAVAILABLE, NULL,
		                "nets[%u] needs podvisor-switch: %s; start it "
		                "or point --switch-socket at it",
		                i - 1, why);
	return r;
}
