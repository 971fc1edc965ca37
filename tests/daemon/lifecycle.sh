#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One pod VM through its whole life with curl: create -> running -> GET ->
# console shows the guest's output -> pause/resume -> stop/start -> reboot
# -> delete; plus guests that power off, crash, or cannot be loaded.
. "$(dirname "$0")/lib.sh"
need_all
start_daemon

post_json /v1/vms '{"name":"p1","labels":{"app":"idle"}}'
check "POST /v1/vms answers 201" [ "$STATUS" = 201 ]
ID=$(body .id)
check "the resource has an id" [ ${#ID} -eq 12 ]
check "it is creating or running" [ "$(body .state)" = creating -o "$(body .state)" = running ]
PID=$(body .pid)
check "it has a VMM pid that is alive" alive "$PID"

check "p1 becomes running" wait_state p1 running 10
shared_fds() {
	comm -12 <(readlink /proc/"$PID"/fd/* | sort -u) \
		<(readlink /proc/"$DPID"/fd/* | sort -u) |
		grep -v -e '^/dev/null$' -e '^anon_inode:'
}
SHARED=$(shared_fds)
check "the VMM holds none of podvisord's fds ($SHARED)" [ -z "$SHARED" ]
check "boot_ms is known once running" [ "$(body .boot_ms)" -ge 0 ]
api GET "/v1/vms/$ID"
check "GET by id works" [ "$STATUS" = 200 -a "$(body .name)" = p1 ]
check "labels are kept" [ "$(body .labels.app)" = idle ]
check "vcpus and memory defaults" [ "$(body .vcpus)" = 1 -a "$(body .memory_mib)" = 128 ]
api GET /v1/vms
check "GET /v1/vms lists p1" [ "$(body '.vms[].name')" = p1 ]
api GET "/v1/vms?label=app=idle&state=running"
check "the list filters by label and state" [ "$(body '.vms[].name')" = p1 ]
api GET "/v1/vms?label=app=other"
check "a label that does not match lists nothing" [ "$(body '.vms | length')" = 0 ]
api GET "/v1/vms?state=sleeping"
check "an unknown state filter is a 400 on state" [ "$STATUS" = 400 -a "$(body .error.field)" = state ]

api GET /v1/vms/p1/console
check "console has the guest's output (Z)" grep -q Z "$T/body"

api POST /v1/vms/p1/pause
check "pause answers 200 paused" [ "$STATUS" = 200 -a "$(body .state)" = paused ]
api POST /v1/vms/p1/pause
check "pausing a paused VM is 409" [ "$STATUS" = 409 ]
api POST /v1/vms/p1/resume
check "resume answers 200 running" [ "$STATUS" = 200 -a "$(body .state)" = running ]

api POST /v1/vms/p1/stop
check "stop answers 200 stopped" [ "$STATUS" = 200 -a "$(body .state)" = stopped ]
check "the VMM is gone after stop" dead "$PID"
check "no pid once stopped" [ "$(body .pid)" = null ]
api GET /v1/vms/p1/console
check "console of a stopped VM still has its output" grep -q Z "$T/body"
api POST /v1/vms/p1/stop
check "stopping a stopped VM is 409" [ "$STATUS" = 409 ]

api POST /v1/vms/p1/start
check "start answers 200" [ "$STATUS" = 200 ]
check "p1 runs again" wait_state p1 running 10
PID2=$(body .pid)
api POST /v1/vms/p1/reboot
check "reboot answers 200" [ "$STATUS" = 200 ]
check "p1 runs after reboot" wait_state p1 running 10
check "reboot made a new VMM process" [ "$(body .pid)" != "$PID2" ]
check "the old VMM is gone" dead "$PID2"
PID3=$(body .pid)

api GET /v1/host
check "GET /v1/host names the KVM kind" [ "$(body .kvm)" = pvm -o "$(body .kvm)" = hardware ]
check "GET /v1/host counts 1 running VM" [ "$(body .vms.running)" = 1 ]
check "GET /v1/host has cpus" [ "$(body .cpus)" -ge 1 ]
api GET /metrics
check "metrics count the running VM" grep -q '^podvisor_vms{state="running"} 1$' "$T/body"
check "metrics carry the VM's id" grep -q "podvisor_vm_info{id=\"$ID\",name=\"p1\",state=\"running\"} 1" "$T/body"

# Guests that end on their own.
post_json /v1/vms "{\"name\":\"off\",\"kernel\":\"$PVGUEST\",\"cmdline\":\"test=poweroff\"}"
check "poweroff guest created" [ "$STATUS" = 201 ]
check "a guest poweroff leaves the VM stopped" wait_state off stopped 30
check "reason says powered off" grep -q "powered off" <(body .reason)

post_json /v1/vms "{\"name\":\"crash\",\"kernel\":\"$PVGUEST\",\"cmdline\":\"test=triple\"}"
check "a triple-faulting guest leaves the VM failed" wait_state crash failed 30
check "reason says the guest crashed (exit 4)" grep -q "guest crashed.*exit code 4" <(body .reason)

post_json /v1/vms "{\"name\":\"rb\",\"kernel\":\"$PVGUEST\",\"cmdline\":\"test=reboot\"}"
check "a guest that only reboots ends failed" wait_state rb failed 60
check "after 10 restarts, and says so" grep -q "exit code 3; 10 guest reboots within 60 s, not restarting" <(body .reason)
check "each guest reboot was a new VMM" \
	[ "$(grep -c "vm [0-9a-f]* (rb): started" "$DLOG")" = 11 ]

echo "not a kernel" >"$T/junk"
post_json /v1/vms "{\"name\":\"junk\",\"kernel\":\"$T/junk\"}"
check "a kernel the VMM rejects leaves the VM failed" wait_state junk failed 10
check "reason gives the exit code and the VMM's last words" grep -q "exit code [12].*last log" <(body .reason)

for n in off crash rb junk p1; do
	api DELETE "/v1/vms/$n"
	check "DELETE $n answers 204" [ "$STATUS" = 204 ]
done
api GET /v1/vms/p1
check "p1 is gone (404)" [ "$STATUS" = 404 ]
check "its VMM is gone" dead "$PID3"
check "no run dir left" [ -z "$(ls -A "$T/run/vms")" ]
check "no state file left" [ -z "$(ls -A "$T/state/vms")" ]
check "audit lines carry the uid" grep -q "audit: vm $ID (p1): running -> paused by uid $(id -u)" "$DLOG"
stop_daemon
check "podvisord exits 0 on SIGTERM" [ $? -eq 0 ]
check "the API socket is removed" [ ! -e "$SOCK" ]
finish
