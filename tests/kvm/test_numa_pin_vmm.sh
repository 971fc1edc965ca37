#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A 1-vCPU dedicated VM as podvisord would start it from a placement
# (--vcpu-cpus / --housekeeping-cpus / --numa-node): read the placement back
# from the running podvisor-vmm through /proc, the way an operator would.
#   pin:     thread "vcpu0" runs only on the last CPU, the VMM's other
#            threads only on the housekeeping CPU.
#   shared:  a shared VM (no --vcpu-cpus, its pool as --housekeeping-cpus):
#            vcpu0 inherits the pool and runs nowhere else.
#   membind: the guest-RAM memfd mapping shows "bind:0" in numa_maps.
# The guest waits up to 20 s for a console line (test=console), which keeps
# it running while we look; we then stop it.
. "$(dirname "$0")/lib.sh"
need_kvm
what=${1:-pin}

mapfile -t cpus < <(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' |
	awk -F- '{ e = NF > 1 ? $2 : $1; for (i = $1; i <= e; i++) print i }')
[ "${#cpus[@]}" -ge 2 ] ||
	skip "needs 2 allowed CPUs (one housekeeping, one for the vCPU)"
hk=${cpus[0]}
vcpu=${cpus[-1]}

if [ "$what" = shared ]; then
	# numa_alloc_to_vm_config() for a shared VM: no per-vCPU CPU, the
	# pool as housekeeping_cpus; the vCPU thread inherits the pool.
	hk=$vcpu
	start_vmm --memory 64 --vcpus 1 --housekeeping-cpus "$vcpu" \
		--console-socket "$T/con.sock" --cmdline "test=console"
else
	start_vmm --memory 64 --vcpus 1 --vcpu-cpus "$vcpu" \
		--housekeeping-cpus "$hk" --numa-node 0 \
		--console-socket "$T/con.sock" --cmdline "test=console"
fi

# wait for the vCPU thread to exist (named by the VMM with
# pthread_setname_np), at most 20 s
tid=
for ((i = 0; i < 200; i++)); do
	for t in /proc/"$VMM_PID"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = vcpu0 ] && tid=${t##*/}
	done
	[ -n "$tid" ] && break
	sleep 0.1
done
[ -n "$tid" ] || err "no thread named vcpu0 in podvisor-vmm $VMM_PID"

allowed() { sed -n 's/^Cpus_allowed_list:\s*//p' "/proc/$VMM_PID/task/$1/status"; }

case $what in
pin | shared)
	if [ -n "$tid" ]; then
		got=$(allowed "$tid")
		echo "vcpu0 (tid $tid): Cpus_allowed_list $got"
		[ "$got" = "$vcpu" ] ||
			err "vcpu0 runs on CPUs '$got', the placement says $vcpu"
	fi
	for t in /proc/"$VMM_PID"/task/*; do
		n=$(cat "$t/comm" 2>/dev/null) || continue
		case $n in vcpu*) continue ;; esac
		got=$(allowed "${t##*/}")
		echo "$n (tid ${t##*/}): Cpus_allowed_list $got"
		# Only the threads started after the placement was applied
		# are held to it: the main (I/O) thread must be.
		[ "${t##*/}" = "$VMM_PID" ] && [ "$got" != "$hk" ] &&
			err "I/O thread runs on CPUs '$got', housekeeping is $hk"
	done
	;;
membind)
	pol=$(awk '/guest-ram/ { print $2; exit }' "/proc/$VMM_PID/numa_maps")
	echo "guest RAM policy in /proc/$VMM_PID/numa_maps: ${pol:-<no mapping>}"
	[ "$pol" = bind:0 ] ||
		err "guest RAM is not bound to node 0 although --numa-node 0" \
			"was given (podvisor-vmm should call numa_bind_memory()" \
			"before first touch)"
	;;
*)
	err "unknown mode $what (pin or membind)"
	;;
esac

kill -TERM "$VMM_PID" 2>/dev/null
wait_vmm 20
finish
