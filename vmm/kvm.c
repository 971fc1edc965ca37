/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KVM VM fd: capability checks, the in-kernel irqchip and PIT, the GSI
 * routing table (IOAPIC/PIC pins plus MSI routes), irqfds and ioeventfds.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "podvisor/kvm.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

/* Just below the 4 GiB boundary, inside the MMIO gap and away from the
 * IOAPIC (0xfec00000), LAPIC (0xfee00000) and the reset vector page. */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ULL
#define KVM_TSS_ADDR          (KVM_IDENTITY_MAP_ADDR + 0x1000)

int kvm_ioctl_at(int fd, unsigned long req, void *arg, const char *name,
                 const char *file, int line)
{
	int r = ioctl(fd, req, arg);

	if (r < 0) {
		int err = errno;

		log_err("%s failed (%s:%d): %s", name, file, line,
		        strerror(err));
		return -err;
	}
	return r;
}

int kvm_ioctl_raw(int fd, unsigned long req, void *arg)
{
	int r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

bool kvm_host_is_pvm(void)
{
	char line[512];
	bool hw = false;
	FILE *f;

	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return true;
	if (access("/dev/kvm", R_OK | W_OK) != 0)
		return false;
	/* /dev/kvm works but the CPU has no vmx/svm: software nesting. */
	f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		hw = strstr(line, " vmx") || strstr(line, " svm");
		break;
	}
	fclose(f);
	return !hw;
}

static const struct {
	int cap;
	const char *name;
} kvm_required_caps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING"},
    {KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
};

static int kvm_open_checked(struct kvm_vm *vm)
{
	int r;

	vm->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->sys_fd < 0)
		return log_err_errno(errno,
		                     "cannot open /dev/kvm (load kvm_intel, "
		                     "kvm_amd or kvm_pvm and check its "
		                     "permissions)");
	r = kvm_ioctl(vm->sys_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		log_err("/dev/kvm speaks API version %d, podvisor needs %d", r,
		        KVM_API_VERSION);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < ARRAY_SIZE(kvm_required_caps); i++) {
		r = kvm_ioctl_raw(vm->sys_fd, KVM_CHECK_EXTENSION,
		                  (void *)(long)kvm_required_caps[i].cap);
		if (r <= 0) {
			log_err("/dev/kvm lacks %s, which podvisor needs; use "
			        "a newer host kernel",
			        kvm_required_caps[i].name);
			return -ENOTSUP;
		}
	}
	r = kvm_ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < 0)
		return r;
	vm->vcpu_mmap_size = r;
	return 0;
}

static void kvm_route_irqchip(struct kvm_irq_routing_entry *e, uint32_t gsi,
                              uint32_t chip, uint32_t pin)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

/* Called with routes_lock held. */
static int kvm_routes_commit(struct kvm_vm *vm)
{
	size_t sz = sizeof(struct kvm_irq_routing) +
	            vm->nr_routes * sizeof(struct kvm_irq_routing_entry);
	struct kvm_irq_routing *tbl = calloc(1, sz);
	int r;

	if (!tbl)
		return -ENOMEM;
	tbl->nr = vm->nr_routes;
	memcpy(tbl->entries, vm->routes,
	       vm->nr_routes * sizeof(struct kvm_irq_routing_entry));
	r = kvm_ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, tbl);
	free(tbl);
	return r < 0 ? r : 0;
}

/*
 * The same table KVM installs with the irqchip: GSI i reaches IOAPIC pin i,
 * and GSIs 0-15 also the 8259 pair (master 0-7, slave 8-15). Kept here
 * because KVM_SET_GSI_ROUTING replaces the whole table; not committed until
 * the first MSI route, as every commit waits for an SRCU grace period
 * (milliseconds of start-up time on a busy host).
 */
static int kvm_routes_init(struct kvm_vm *vm)
{
	vm->routes = calloc(KVM_MAX_GSI_ROUTES, sizeof(*vm->routes));
	if (!vm->routes)
		return -ENOMEM;
	vm->nr_routes = 0;
	for (uint32_t gsi = 0; gsi < 16; gsi++)
		kvm_route_irqchip(&vm->routes[vm->nr_routes++], gsi,
		                  gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
		                          : KVM_IRQCHIP_PIC_SLAVE,
		                  gsi % 8);
	for (uint32_t gsi = 0; gsi < KVM_IOAPIC_PINS; gsi++)
		kvm_route_irqchip(&vm->routes[vm->nr_routes++], gsi,
		                  KVM_IRQCHIP_IOAPIC, gsi);
	memset(vm->msi_used, 0, sizeof(vm->msi_used));
	for (uint32_t gsi = 0; gsi < KVM_IOAPIC_PINS; gsi++)
		vm->msi_used[gsi] = 1;
	return 0;
}

int kvm_vm_create(struct kvm_vm *vm)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	uint64_t idmap = KVM_IDENTITY_MAP_ADDR;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->sys_fd = vm->vm_fd = -1;
	pthread_mutex_init(&vm->routes_lock, NULL);
	r = kvm_open_checked(vm);
	if (r < 0)
		return r;
	vm->pvm = kvm_host_is_pvm();
	vm->vm_fd = kvm_ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vm->vm_fd;
	(void)fcntl(vm->vm_fd, F_SETFD, FD_CLOEXEC);
	r = kvm_ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
	if (r < 0)
		return r;
	r = kvm_ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (long)KVM_TSS_ADDR);
	if (r < 0)
		return r;
	r = kvm_ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0);
	if (r < 0)
		return r;
	r = kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);
	if (r < 0)
		return r;
	return kvm_routes_init(vm);
}

void kvm_vm_destroy(struct kvm_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	vm->vm_fd = vm->sys_fd = -1;
	free(vm->routes);
	vm->routes = NULL;
	vm->nr_routes = 0;
}

int kvm_vm_set_memory(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
                      uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region mr = {
	    .slot = slot,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)hva,
	};
	int r = kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr);

	return r < 0 ? r : 0;
}

int kvm_vm_irq_line(struct kvm_vm *vm, uint32_t irq, int level)
{
	struct kvm_irq_level il = {.irq = irq, .level = level};
	int r = kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &il);

	return r < 0 ? r : 0;
}

static void kvm_route_msi(struct kvm_irq_routing_entry *e, uint32_t gsi,
                          uint64_t addr, uint32_t data)
{
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_MSI;
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
}

static struct kvm_irq_routing_entry *kvm_route_find(struct kvm_vm *vm,
                                                    uint32_t gsi)
{
	for (uint32_t i = 0; i < vm->nr_routes; i++)
		if (vm->routes[i].gsi == gsi &&
		    vm->routes[i].type == KVM_IRQ_ROUTING_MSI)
			return &vm->routes[i];
	return NULL;
}

int kvm_vm_msi_route_add(struct kvm_vm *vm, uint64_t addr, uint32_t data)
{
	uint32_t gsi;
	int r;

	pthread_mutex_lock(&vm->routes_lock);
	for (gsi = KVM_IOAPIC_PINS; gsi < KVM_MAX_GSI_ROUTES; gsi++)
		if (!vm->msi_used[gsi])
			break;
	if (gsi == KVM_MAX_GSI_ROUTES || vm->nr_routes == KVM_MAX_GSI_ROUTES) {
		pthread_mutex_unlock(&vm->routes_lock);
		log_err("no free GSI for an MSI route (%u in use)",
		        vm->nr_routes);
		return -ENOSPC;
	}
	kvm_route_msi(&vm->routes[vm->nr_routes++], gsi, addr, data);
	r = kvm_routes_commit(vm);
	if (r < 0)
		vm->nr_routes--;
	else
		vm->msi_used[gsi] = 1;
	pthread_mutex_unlock(&vm->routes_lock);
	return r < 0 ? r : (int)gsi;
}

int kvm_vm_msi_route_update(struct kvm_vm *vm, uint32_t gsi, uint64_t addr,
                            uint32_t data)
{
	struct kvm_irq_routing_entry *e, old;
	int r;

	pthread_mutex_lock(&vm->routes_lock);
	e = gsi < KVM_MAX_GSI_ROUTES ? kvm_route_find(vm, gsi) : NULL;
	if (!e) {
		pthread_mutex_unlock(&vm->routes_lock);
		return -ENOENT;
	}
	old = *e;
	kvm_route_msi(e, gsi, addr, data);
	r = kvm_routes_commit(vm);
	if (r < 0)
		*e = old;
	pthread_mutex_unlock(&vm->routes_lock);
	return r;
}

int kvm_vm_msi_route_del(struct kvm_vm *vm, uint32_t gsi)
{
	struct kvm_irq_routing_entry *e;
	int r;

	pthread_mutex_lock(&vm->routes_lock);
	e = gsi < KVM_MAX_GSI_ROUTES ? kvm_route_find(vm, gsi) : NULL;
	if (!e) {
		pthread_mutex_unlock(&vm->routes_lock);
		return -ENOENT;
	}
	*e = vm->routes[--vm->nr_routes];
	vm->msi_used[gsi] = 0;
	r = kvm_routes_commit(vm);
	pthread_mutex_unlock(&vm->routes_lock);
	return r;
}

int kvm_vm_signal_msi(struct kvm_vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
	    .address_lo = (uint32_t)addr,
	    .address_hi = (uint32_t)(addr >> 32),
	    .data = data,
	};
	int r = kvm_ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);

	return r < 0 ? r : 0;
}

int kvm_vm_irqfd(struct kvm_vm *vm, int efd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd irqfd = {
	    .fd = (uint32_t)efd,
	    .gsi = gsi,
	    .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};
	int r = kvm_ioctl(vm->vm_fd, KVM_IRQFD, &irqfd);

	return r < 0 ? r : 0;
}

int kvm_vm_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, bool pio,
                     int efd, bool assign)
{
	struct kvm_ioeventfd io = {
	    .addr = addr,
	    .len = len,
	    .fd = efd,
	    .flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
	             (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};
	int r = kvm_ioctl(vm->vm_fd, KVM_IOEVENTFD, &io);

	return r < 0 ? r : 0;
}
