#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Every error class of the API with curl: status, JSON shape, the field it
# names, and the log line podvisord writes for it.
. "$(dirname "$0")/lib.sh"
need_all
start_daemon

# err STATUS CODE FIELD: the last answer was that error.
err() {
	[ "$STATUS" = "$1" ] && [ "$(body .error.code)" = "$2" ] &&
		[ "$(body '.error.field // ""')" = "$3" ] &&
		[ -n "$(body .error.message)" ]
}

post_json /v1/vms '{"name":"p1","vcpus":0}'
check "400 names vcpus" err 400 invalid_argument vcpus
check "the message says the range" grep -q "from 1 to 64" <(body .error.message)
post_json /v1/vms '{"name":"p1","memory_mib":"lots"}'
check "400 names memory_mib" err 400 invalid_argument memory_mib
post_json /v1/vms '{"name":"p1","kernel":"/nonexistent/vmlinux"}'
check "400 names kernel" err 400 invalid_argument kernel
post_json /v1/vms '{"name":"p1","disks":[{"path":"/nonexistent.img"}]}'
check "400 names disks[0].path" err 400 invalid_argument "disks[0].path"
post_json /v1/vms '{"name":"p1","colour":"blue"}'
check "400 names an unknown field" err 400 invalid_argument colour
post_json /v1/vms '{"name":"bad name"}'
check "400 names name" err 400 invalid_argument name
post_json /v1/vms '{"name":"p1","labels":{"podvisor.io/agent":"/run/agent.sock"}}'
check "400 names an agent label without unix:" err 400 invalid_argument "labels.podvisor.io/agent"
post_json /v1/vms '{"name":'
check "400 for a body that is not JSON" err 400 invalid_argument ""
check "the log has the request line of a 400" \
	grep -q "POST /v1/vms (uid $(id -u) pid [0-9]*): vm bad name: 400\|POST /v1/vms (uid $(id -u) pid [0-9]*): 400 invalid_argument" "$DLOG"

api GET /v1/vms/nosuch
check "404 for an unknown VM" err 404 not_found id
check "the log names the VM of a 404" grep -q "GET /v1/vms/nosuch .*: vm nosuch: 404" "$DLOG"
api GET /v1/nothing
check "404 for an unknown path" err 404 not_found ""
api PUT /v1/vms
check "405 for a known path with another method" err 405 method_not_allowed ""
check "the 405 names the methods to use" grep -q "use GET or POST" <(body .error.message)
api GET '/v1/vms?lable=app=fw'
check "400 names an unknown query parameter" err 400 invalid_argument lable

post_json /v1/vms '{"name":"p1"}'
check "p1 created" [ "$STATUS" = 201 ]
post_json /v1/vms '{"name":"p1"}'
check "409 for a duplicate name" err 409 conflict name
check "p1 running" wait_state p1 running 10
api POST /v1/vms/p1/resume
check "409 to resume a running VM" err 409 conflict state
post_json /v1/vms/p1/containers '{"name":"c1","rootfs":"/x","args":["true"]}'
check "409 naming vsock for containers in a VM without one" err 409 conflict vsock
check "the log names the VM of a 409" grep -q "POST /v1/vms/p1/resume .*: vm [0-9a-f]* (p1): 409" "$DLOG"

head -c $((2 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$T/big"
api POST /v1/vms -H 'Content-Type: application/json' --data-binary "@$T/big"
check "413 for a 2 MiB body" err 413 body_too_large ""
api POST /v1/vms -d '{"name":"p2"}'
check "415 for a form-encoded body (curl -d without a type)" err 415 unsupported_media_type ""
check "the 415 message says what to send" grep -q "application/json" <(body .error.message)

post_json /v1/vms '{"name":"huge","memory_mib":1048576}'
check "503 when the host lacks the memory" err 503 insufficient_resources memory_mib
post_json /v1/vms '{"name":"many","vcpus":64}'
check "503 when vCPUs exceed the overcommit" err 503 insufficient_resources vcpus
api GET /v1/vms/huge
check "a refused VM was not created" [ "$STATUS" = 404 ]

api DELETE /v1/vms/p1
check "cleanup" [ "$STATUS" = 204 ]
finish
