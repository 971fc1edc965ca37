#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# podvisor-vmm's own lifecycle, as an operator sees it: a JSON config with a
# flag overriding it, the serial console to stdout by default, SIGTERM stops
# the VM with exit 0 and one log line, GET /v1/vm reports what the host is
# (PVM or not), every thread runs under the seccomp filter unless told
# otherwise, a hugepage shortage is refused with the numbers to fix it.
. "$(dirname "$0")/lib.sh"
need_kvm
need_tool curl curl
need_tool jq jq

# 1. Config file + overriding flag: the file says test=ticks (never ends by
#    itself), the flag says test=poweroff; the flag must win.
cat >"$T/vm.json" <<EOF
{"kernel": "$GUEST", "memory_mib": 64, "vcpus": 1, "name": "lc1",
 "cmdline": "test=ticks secs=60"}
EOF
timeout -k 5 30 "$VMM" --config "$T/vm.json" --cmdline test=poweroff \
	>"$T/stdout1" 2>"$VMMLOG"
RC=$?
echo "podvisor-vmm --config vm.json --cmdline test=poweroff -> exit $RC"
expect_rc 0 "guest powered off"
grep -qa '^PASS poweroff_reached' "$T/stdout1" ||
	err "no PASS poweroff_reached on stdout (the default console)"
grep -q 'vm lc1: ready: 1 vCPUs running, 64 MiB' "$VMMLOG" ||
	err "no ready line naming the VM from the config file"
[ "$(tail -n 1 "$VMMLOG" | sed 's/.*: //')" = "guest powered off" ] ||
	err "last log line is not 'guest powered off': $(tail -n 1 "$VMMLOG")"
grep -q '"memory_mib":64' "$VMMLOG" || err "effective config not logged"

# 2. SIGTERM: a running guest stops, exit 0, one line saying why.
API=$T/api.sock
start_vmm --memory 64 --api-socket "$API" --cmdline "test=ticks secs=60"
wait_serial '^TICK ' 20 || err "the ticking guest never ticked"
body=$(curl -s --max-time 5 --unix-socket "$API" http://vmm/v1/vm)
echo "GET /v1/vm: $body"
want_pvm=false
[ -e /sys/module/kvm_pvm ] && want_pvm=true
[ "$(jq -r .pvm <<<"$body")" = "$want_pvm" ] ||
	err "GET /v1/vm says pvm=$(jq -r .pvm <<<"$body"), host says $want_pvm"
[ "$(jq -r .pid <<<"$body")" = "$VMM_PID" ] || err "GET /v1/vm has the wrong pid"
[ "$(jq -r .state <<<"$body")" = running ] || err "state is not running"
# The seccomp filter is on by default, in every thread (vCPU included).
for task in /proc/"$VMM_PID"/task/*; do
	mode=$(awk '/^Seccomp:/ { print $2 }' "$task/status")
	[ "$mode" = 2 ] || err "thread ${task##*/} runs without the seccomp filter (Seccomp: $mode)"
done
grep -q 'seccomp: [0-9]* system calls denied (kill)' "$VMMLOG" ||
	err "no log line saying the seccomp filter is on"
kill -TERM "$VMM_PID"
wait_vmm 10
expect_rc 0 "stopped by SIGTERM"
grep -q 'stopped by signal SIGTERM' "$VMMLOG" || err "no 'stopped by signal SIGTERM' line"
[ ! -e "$API" ] || err "control socket $API left behind"

# 2b. --seccomp off runs without a filter and says so.
start_vmm --memory 64 --seccomp off --cmdline "test=ticks secs=60"
wait_serial '^TICK ' 20 || err "the ticking guest never ticked (seccomp off)"
mode=$(awk '/^Seccomp:/ { print $2 }' /proc/"$VMM_PID"/status)
[ "$mode" = 0 ] || err "--seccomp off still has a filter (Seccomp: $mode)"
grep -q 'seccomp off' "$VMMLOG" || err "--seccomp off is not logged"
kill -TERM "$VMM_PID"
wait_vmm 10
expect_rc 0 "stopped by SIGTERM (seccomp off)"

# 3. Hugepages: ask for well more than the pool has free (other processes
#    may take or give back pages meanwhile); refused before the guest
#    starts, with the count to reserve. The host is not modified.
free=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
want=$(((free + 512) * 2))
total_mib=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)
if [ "$want" -lt "$total_mib" ]; then
	run_vmm 20 --memory "$want" --hugepages --cmdline test=poweroff
	expect_rc 1 "hugepage shortage"
	grep -Eq "memory: $want MiB of 2 MiB hugepages needed, only [0-9]+ free; reserve more with echo [0-9]+ > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages" "$VMMLOG" ||
		err "no hugepage shortage message: $(grep error "$VMMLOG")"
	! grep -qa PASS "$SERIAL" || err "the guest ran without its memory"
else
	echo "hugepage check left out: $free free pages cover most of RAM"
fi

finish
