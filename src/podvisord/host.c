// SPDX-License-Identifier: Apache-2.0
/* GET /v1/host, GET /metrics and the capacity check behind 503. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config.h"
#include "podvisor/log.h"
#include "pod.h"

/* Value of a /proc/meminfo line in MiB; 0 when absent. */
static uint64_t meminfo_mib(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	uint64_t kib = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			kib = strtoull(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib / 1024;
}

/* "pvm" (kvm_pvm module), "hardware", or "none" without /dev/kvm. */
static const char *kvm_kind(void)
{
	if (access("/dev/kvm", F_OK) < 0)
		return "none";
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return "pvm";
	return "hardware";
}

static void live_usage(struct daemon *d, const struct pod *except,
                       unsigned int *vcpus, uint64_t *mib, unsigned int *live)
{
	*vcpus = 0;
	*mib = 0;
	*live = 0;
	for (struct pod *p = d->pods; p; p = p->next) {
		if (p == except || !pod_state_has_process(p->state))
			continue;
		*vcpus += p->spec.vcpus;
		*mib += p->spec.memory_mib;
		(*live)++;
	}
}

json_object *host_to_json(struct daemon *d)
{
	json_object *o = json_object_new_object(), *vms;
	unsigned int vcpus, live, total = 0, counts[POD_STATE_COUNT] = {0};
	uint64_t mib;

	live_usage(d, NULL, &vcpus, &mib, &live);
	for (struct pod *p = d->pods; p; p = p->next) {
		total++;
		counts[p->state]++;
	}
	json_object_object_add(o, "version",
	                       json_object_new_string(PODVISOR_VERSION));
	json_object_object_add(o, "kvm", json_object_new_string(kvm_kind()));
	json_object_object_add(
	    o, "cpus", json_object_new_int((int)sysconf(_SC_NPROCESSORS_ONLN)));
	json_object_object_add(
	    o, "memory_mib",
	    json_object_new_int64((int64_t)meminfo_mib("MemTotal")));
	json_object_object_add(
	    o, "memory_available_mib",
	    json_object_new_int64((int64_t)meminfo_mib("MemAvailable")));
	json_object_object_add(o, "vcpu_overcommit",
	                       json_object_new_int((int)d->vcpu_overcommit));
	json_object_object_add(o, "vcpus_allocated",
	                       json_object_new_int((int)vcpus));
	json_object_object_add(o, "memory_allocated_mib",
	                       json_object_new_int64((int64_t)mib));
	vms = json_object_new_object();
	json_object_object_add(vms, "total", json_object_new_int((int)total));
	for (int s = 0; s < POD_STATE_COUNT; s++)
		json_object_object_add(vms, pod_state_name(s),
		                       json_object_new_int((int)counts[s]));
	json_object_object_add(o, "vms", vms);
	json_object_object_add(o, "vmm", json_object_new_string(d->vmm_path));
	if (d->placer)
		json_object_object_add(o, "numa", numa_host_to_json(d->placer));
	return o;
}

int host_capacity_check(struct daemon *d, const struct pod_spec *s,
                        const struct pod *except, char *why, size_t size)
{
	unsigned int vcpus, live;
	uint64_t mib, avail = meminfo_mib("MemAvailable");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	uint64_t vcpu_cap =
	    (uint64_t)(cpus > 0 ? cpus : 1) * d->vcpu_overcommit;

	live_usage(d, except, &vcpus, &mib, &live);
	if (mib + s->memory_mib > avail) {
		snprintf(why, size,
		         "memory_mib %llu does not fit: %llu MiB already given "
		         "to %u running VMs, %llu MiB available on the host",
		         (unsigned long long)s->memory_mib,
		         (unsigned long long)mib, live,
		         (unsigned long long)avail);
		return -ENOSPC;
	}
	if (vcpus + s->vcpus > vcpu_cap) {
		snprintf(why, size,
		         "vcpus %u does not fit: %u vCPUs already running, the "
		         "limit is %llu (%ld CPUs x overcommit %u; see "
		         "--vcpu-overcommit)",
		         s->vcpus, vcpus, (unsigned long long)vcpu_cap, cpus,
		         d->vcpu_overcommit);
		return -ENOSPC;
	}
	return 0;
}

/* Label values are names we validated ([A-Za-z0-9_.-]) and hex ids, so no
 * escaping is needed. */
static void metrics_vms(FILE *f, struct daemon *d)
{
	fprintf(f, "# HELP podvisor_vm_info One series per VM; value 1.\n"
	           "# TYPE podvisor_vm_info gauge\n");
	for (struct pod *p = d->pods; p; p = p->next)
		fprintf(
		    f,
		    "podvisor_vm_info{id=\"%s\",name=\"%s\",state=\"%s\"} 1\n",
		    p->id, p->spec.name, pod_state_name(p->state));
	fprintf(f, "# HELP podvisor_vm_vcpus vCPUs of the VM.\n"
	           "# TYPE podvisor_vm_vcpus gauge\n");
	for (struct pod *p = d->pods; p; p = p->next)
		fprintf(f, "podvisor_vm_vcpus{id=\"%s\"} %u\n", p->id,
		        p->spec.vcpus);
	fprintf(f, "# HELP podvisor_vm_memory_bytes Guest RAM of the VM.\n"
	           "# TYPE podvisor_vm_memory_bytes gauge\n");
	for (struct pod *p = d->pods; p; p = p->next)
		fprintf(f, "podvisor_vm_memory_bytes{id=\"%s\"} %llu\n", p->id,
		        (unsigned long long)p->spec.memory_mib << 20);
	fprintf(f, "# HELP podvisor_vm_boot_seconds From VMM spawn to its "
	           "control socket answering.\n"
	           "# TYPE podvisor_vm_boot_seconds gauge\n");
	for (struct pod *p = d->pods; p; p = p->next)
		if (p->boot_ms >= 0)
			fprintf(f, "podvisor_vm_boot_seconds{id=\"%s\"} %.3f\n",
			        p->id, (double)p->boot_ms / 1000.0);
}

char *host_metrics(struct daemon *d, size_t *len)
{
	static const char *const kinds[] = {"clean", "reboot", "failure"};
	unsigned int counts[POD_STATE_COUNT] = {0};
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f)
		return NULL;
	for (struct pod *p = d->pods; p; p = p->next)
		counts[p->state]++;
	fprintf(f, "# HELP podvisor_vms VMs known to podvisord by state.\n"
	           "# TYPE podvisor_vms gauge\n");
	for (int s = 0; s < POD_STATE_COUNT; s++)
		fprintf(f, "podvisor_vms{state=\"%s\"} %u\n", pod_state_name(s),
		        counts[s]);
	fprintf(f,
	        "# HELP podvisor_vmm_spawns_total VMM processes started.\n"
	        "# TYPE podvisor_vmm_spawns_total counter\n"
	        "podvisor_vmm_spawns_total %llu\n",
	        (unsigned long long)d->vmm_spawns);
	fprintf(f, "# HELP podvisor_vmm_exits_total VMM processes ended, by "
	           "kind.\n# TYPE podvisor_vmm_exits_total counter\n");
	for (int k = 0; k < 3; k++)
		fprintf(f, "podvisor_vmm_exits_total{kind=\"%s\"} %llu\n",
		        kinds[k], (unsigned long long)d->vmm_exits[k]);
	fprintf(f,
	        "# HELP podvisor_host_memory_available_bytes "
	        "MemAvailable.\n"
	        "# TYPE podvisor_host_memory_available_bytes gauge\n"
	        "podvisor_host_memory_available_bytes %llu\n",
	        (unsigned long long)meminfo_mib("MemAvailable") << 20);
	metrics_vms(f, d);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}
