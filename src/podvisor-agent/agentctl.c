/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisor-agentctl ADDR JSON: sends one request to a podvisor-agent and
 * prints the answer as one line of JSON. ADDR is unix:/path or
 * hvsock:/path[:port]. Exit status: 0 ok:true, 1 ok:false, 2 usage or
 * transport error. For scripts, tests and the demo.
 */
#include <stdio.h>
#include <string.h>

#include "podvisor/agent.h"
#include "podvisor/log.h"

int main(int argc, char **argv)
{
	struct agent_client *c;
	json_object *req, *resp;
	int r, ok;

	pv_log_init("podvisor-agentctl", PV_LOG_WARN);
	if (argc != 3 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "Usage: podvisor-agentctl unix:/path|"
		                "hvsock:/path[:port] '{\"op\":\"ping\"}'\n");
		return 2;
	}
	req = json_tokener_parse(argv[2]);
	if (!req || !json_object_is_type(req, json_type_object)) {
		fprintf(stderr, "podvisor-agentctl: the request is not a JSON "
		                "object\n");
		return 2;
	}
	r = agent_client_connect(argv[1], 0, &c);
	if (r == 0)
		r = agent_client_call(c, req, &resp);
	agent_client_close(c);
	json_object_put(req);
	if (r < 0) {
		fprintf(stderr, "podvisor-agentctl: %s: %s\n", argv[1],
		        strerror(-r));
		return 2;
	}
	printf("%s\n", json_object_to_json_string_ext(
	                   resp, JSON_C_TO_STRING_PLAIN |
	                             JSON_C_TO_STRING_NOSLASHESCAPE));
	ok = json_object_get_boolean(json_object_object_get(resp, "ok"));
	json_object_put(resp);
	return ok ? 0 : 1;
}
