#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Placement through the API on this host: a dedicated VM gets a whole core
# (never the housekeeping one), its VMM's vCPU thread is pinned there, a
# second dedicated VM that cannot fit gets 507 with what is free, the
# reservation survives a daemon restart and is released on delete.
. "$(dirname "$0")/lib.sh"
need_all
NCPU=$(nproc)
[ "$NCPU" -ge 2 ] || skip "needs 2 CPUs (one housekeeping, one dedicated)"
start_daemon

post_json /v1/vms '{"name":"d1","placement":{"cpus":"dedicated"}}'
check "a dedicated VM is created" [ "$STATUS" = 201 ]
CPU=$(body '.placement.vcpus[0].host_cpu')
HK=$(body '.placement.housekeeping_cpus')
check "its vCPU has a host CPU ($CPU)" [ -n "$CPU" -a "$CPU" != null ]
check "which is not a housekeeping CPU ($HK)" [ "$CPU" != "$HK" ]
check "d1 runs" wait_state d1 running 10
PID=$(body .pid)
api GET /v1/host
check "GET /v1/host shows the CPU as dedicated" \
	[ "$(body '.numa.nodes[0].dedicated_cpus')" = "$CPU" ]

# The VMM applies the plan: some thread of it runs only on that CPU.
pinned() {
	grep -h Cpus_allowed_list /proc/"$PID"/task/*/status | grep -qx "Cpus_allowed_list:[[:space:]]*$CPU"
}
check "a thread of d1's VMM is pinned to CPU $CPU" pinned

if [ "$NCPU" -eq 2 ]; then
	post_json /v1/vms '{"name":"d2","placement":{"cpus":"dedicated"}}'
	check "a second dedicated VM does not fit: 507" [ "$STATUS" = 507 ]
	check "the 507 says what is free" [ "$(body '.error.detail.free | length')" -ge 1 ]
	api GET /v1/vms/d2
	check "the refused VM does not exist" [ "$STATUS" = 404 ]
fi

stop_daemon
start_daemon
api GET /v1/vms/d1
check "after a restart d1 keeps its CPU" [ "$(body '.placement.vcpus[0].host_cpu')" = "$CPU" ]
if [ "$NCPU" -eq 2 ]; then
	post_json /v1/vms '{"name":"d2","placement":{"cpus":"dedicated"}}'
	check "and its core is still reserved (507)" [ "$STATUS" = 507 ]
fi

post_json /v1/vms '{"name":"bad","placement":{"cpus":"all"}}'
check "a bad placement is a 400 naming placement.cpus" \
	[ "$STATUS" = 400 -a "$(body .error.field)" = placement.cpus ]

api DELETE /v1/vms/d1
check "d1 deleted" [ "$STATUS" = 204 ]
post_json /v1/vms '{"name":"d2","placement":{"cpus":"dedicated"}}'
check "its core is free again: d2 fits" [ "$STATUS" = 201 ]
check "d2 runs" wait_state d2 running 10
api DELETE /v1/vms/d2
finish
