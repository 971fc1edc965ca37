/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside the API server (api/http.c: dispatch and the listening socket;
 * api/http_request.c: a request's accessors, replies and deferral).
 */
#ifndef PODVISOR_API_HTTP_INTERNAL_H
#define PODVISOR_API_HTTP_INTERNAL_H

#include <stdbool.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "podvisor/api.h"

struct api_server {
	struct event_base *base;
	struct evhttp *http;
	char *path;
	const struct api_route *routes;
	size_t nr;
	void *ctx;
	gid_t admin_gid;
	uid_t self_uid;
};

/*
 * One request. Lives on the heap from on_request() until it is answered:
 * a request the handler answered is freed when the handler returns; a
 * deferred one (api_request_defer) when its reply is sent. ev is NULL once
 * the client has hung up (evhttp owns and frees its request then), so
 * everything a late reply or its log line needs is copied here.
 */
struct api_request {
	struct api_server *srv;
	struct evhttp_request *ev;
	struct evhttp_connection *conn; /* closecb set while deferred */
	struct event *hup_ev;           /* watches conn's fd meanwhile */
	const struct api_route *route;
	struct api_params params;
	const char *method;
	char *path;
	char *uri;
	struct evkeyvalq query;
	bool query_parsed;
	struct json_object *json;
	struct ucred cred;
	bool admin;
	bool replied;
	bool deferred;    /* the handler asked to answer later */
	bool outstanding; /* deferred and its handler has returned */
	char subject[96];
};

/* After the handler has returned: a deferred request without its reply
 * yet is watched until the reply; any other is finished and freed. */
void http_request_handler_returned(struct api_request *req);
/* Frees a request nobody answers (it was refused before its handler). */
void http_request_free(struct api_request *req);

#endif
