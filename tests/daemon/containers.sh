#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Container routes through the real podvisord: a pod VM whose agent is a
# host-side podvisor-agent (label podvisor.io/agent, as on PVM hosts where
# guest userspace cannot run) runs a container from an OCI tarball; its
# output and exit code 3 come back; deleting the VM leaves nothing behind.
. "$(dirname "$0")/lib.sh"
need_all
start_host_agent
start_daemon

post_json /v1/vms "{\"name\":\"pod\",\"labels\":{\"podvisor.io/agent\":\"unix:$T/agent.sock\"}}"
ID=$(body .id)
check "pod VM runs" wait_state pod running 10
post_json /v1/vms/pod/containers "{\"name\":\"c1\",\"rootfs\":\"$T/bb.tar\",\"args\":[\"sh\",\"-c\",\"echo hello from \$(hostname); exit 3\"]}"
check "POST containers: 201" [ "$STATUS" = 201 -a "$(body .name)" = c1 ]
exited() {
	api GET /v1/vms/pod/containers/c1
	[ "$(body .state)" = exited ]
}
for _ in $(seq 100); do exited && break; sleep 0.1; done
check "the container exited with code 3" [ "$(body .exit_code)" = 3 ]
api GET /v1/vms/pod/containers/c1/logs
check "its output came back" [ "$(body .stdout)" = "hello from c1" ]
api GET /v1/vms/pod/containers
check "the list has it" [ "$(body 'map(.name)|join(",")')" = c1 ]
# A command that cannot run: 400 naming args, and the name stays free.
post_json /v1/vms/pod/containers "{\"name\":\"c2\",\"rootfs\":\"$T/bb.tar\",\"args\":[\"/bin/nonexist\"]}"
check "a command that cannot run: 400 naming args" [ "$STATUS" = 400 -a "$(body .error.field)" = args ]
post_json /v1/vms/pod/containers "{\"name\":\"c2\",\"rootfs\":\"$T/bb.tar\",\"args\":[\"true\"]}"
check "the same name with a good command: 201" [ "$STATUS" = 201 ]
post_json /v1/vms/pod/containers "{\"name\":\"c3\",\"rootfs\":\"$T/bb.tar\",\"argv\":[\"true\"]}"
check "a misspelt field: 400 naming it" [ "$STATUS" = 400 -a "$(body .error.field)" = argv ]
api GET /v1/vms/nope/containers
check "unknown VM: 404" [ "$STATUS" = 404 ]
# POSTs without a body: exec has nothing to run (400 naming args); the
# daemon stays up for the next request.
api POST /v1/vms/pod/containers/c1/exec
check "exec without a body: 400 naming args" [ "$STATUS" = 400 -a "$(body .error.field)" = args ]
api POST /v1/vms/pod/containers/c1/kill
check "kill without a body: answered, not a crash" [ "$STATUS" != 000 ]
api GET /v1/vms/pod
check "podvisord still answers after bodiless POSTs" [ "$STATUS" = 200 ]

api DELETE /v1/vms/pod
check "deleting the pod VM: 204" [ "$STATUS" = 204 ]
check "its run dir is gone, converted disk included" [ ! -e "$T/run/vms/$ID" ]
finish
