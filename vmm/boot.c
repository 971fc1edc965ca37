/* SPDX-License-Identifier: Apache-2.0 */
/*
 * boot_load(): puts the kernel, command line and initrd into guest RAM and
 * writes every table a direct boot needs (layout in boot_priv.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "podvisor/boot.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/vm.h"

#include "boot_priv.h"

/* -1: decide per VM (on, except on PVM hosts), 0 off, 1 on. */
static int boot_acpi = -1;

void boot_set_acpi(bool on)
{
	boot_acpi = on;
}

/*
 * Measured on PVM hosts (tests/linux): with the hardware-reduced FADT Linux
 * drops the PIT clock event, its TSC calibration against the PIT fails
 * under the instruction emulator ("tsc: Unable to calibrate against PIT"),
 * jiffies never advance and the boot stalls before the PCI scan. Without
 * ACPI the MP table describes the machine, the PIT drives the tick and the
 * same kernel reaches the virtio probes. So ACPI defaults to off there.
 */
static bool boot_acpi_wanted(const struct vm *vm)
{
	if (boot_acpi >= 0)
		return boot_acpi;
	return !vm->kvm.pvm;
}

struct boot_file {
	const char *path;
	uint8_t *data;
	size_t len;
};

static int boot_file_map(struct boot_file *f, const char *what)
{
	_cleanup_close_ int fd = open(f->path, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return log_err_errno(errno, "%s %s: cannot open", what,
		                     f->path);
	if (fstat(fd, &st) < 0)
		return log_err_errno(errno, "%s %s: stat", what, f->path);
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		log_err("%s %s: not a regular non-empty file", what, f->path);
		return -EINVAL;
	}
	f->len = (size_t)st.st_size;
	f->data = mmap(NULL, f->len, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f->data == MAP_FAILED) {
		f->data = NULL;
		return log_err_errno(errno, "%s %s: mmap", what, f->path);
	}
	return 0;
}

static void boot_file_unmap(struct boot_file *f)
{
	if (f->data)
		munmap(f->data, f->len);
	f->data = NULL;
}

/* Guest RAM for [gpa, gpa + len) or NULL after an error naming what
 * (and the file name, when there is one). */
static uint8_t *boot_ram_named(struct vm *vm, uint64_t gpa, uint64_t len,
                               const char *what, const char *name)
{
	uint8_t *p = gmem_ptr(&vm->mem, gpa, len);

	if (!p)
		log_err("%s%s%s: [0x%" PRIx64 ", 0x%" PRIx64 ") is not guest "
		        "RAM (%" PRIu64 " MiB); give the VM more memory",
		        what, name ? " " : "", name ? name : "", gpa, gpa + len,
		        (uint64_t)(vm->mem.ram_size / MiB));
	return p;
}

static uint8_t *boot_ram(struct vm *vm, uint64_t gpa, uint64_t len,
                         const char *what)
{
	return boot_ram_named(vm, gpa, len, what, NULL);
}

static int boot_load_bzimage(struct vm *vm, const struct boot_file *k,
                             struct boot_info *bi, struct bzimage_hdr *h,
                             uint8_t *zp)
{
	uint64_t addr;
	uint8_t *dst;
	int r = bzimage_parse(k->data, k->len, k->path, h);

	if (r < 0)
		return r;
	addr = bzimage_load_addr(h, gmem_low_end(&vm->mem));
	if (!addr) {
		log_err("kernel %s: needs %u bytes from 0x%" PRIx64
		        " but RAM below the MMIO gap ends at 0x%" PRIx64
		        "; give the VM more memory",
		        k->path, h->init_size, h->pref_address,
		        gmem_low_end(&vm->mem));
		return -ENOMEM;
	}
	dst = boot_ram_named(vm, addr, h->kernel_size, "kernel", k->path);
	if (!dst)
		return -ENOMEM;
	memcpy(dst, k->data + h->kernel_offset, h->kernel_size);
	/* The setup header goes into the zero page at the same offset. */
	memcpy(zp + BZ_HDR_OFFSET, k->data + BZ_HDR_OFFSET,
	       MIN(h->hdr_end, (size_t)4096) - BZ_HDR_OFFSET);
	bi->kind = BOOT_KERNEL_BZIMAGE;
	bi->entry_mode = BOOT_ENTRY_LINUX64;
	bi->entry = addr + 0x200; /* the 64-bit entry point */
	bi->kernel_start = addr;
	bi->kernel_end = addr + h->init_size;
	return 0;
}

/*
 * The kernel must leave [0, 1 MiB) to the boot tables (zero page, page
 * tables, MP table, ACPI) and enter inside what it loads.
 */
static int boot_elf_check_place(const struct elf_image *img, const char *path)
{
	uint64_t entry = img->has_pvh ? img->pvh_entry : img->entry;
	bool inside = false;

	if (img->start < BOOT_HIMEM_START) {
		log_err("kernel %s: a PT_LOAD segment starts at 0x%" PRIx64
		        ", inside the boot tables below 1 MiB; link the "
		        "kernel at 1 MiB or above",
		        path, img->start);
		return -ENOEXEC;
	}
	for (unsigned int i = 0; i < img->nr_loads; i++)
		inside |= entry >= img->loads[i].paddr &&
		          entry - img->loads[i].paddr < img->loads[i].memsz;
	if (!inside) {
		log_err("kernel %s: entry point 0x%" PRIx64 " is outside "
		        "every PT_LOAD segment; the ELF is corrupt",
		        path, entry);
		return -ENOEXEC;
	}
	return 0;
}

static int boot_load_elf(struct vm *vm, const struct boot_file *k,
                         struct boot_info *bi)
{
	struct elf_image img;
	int r = elf_parse(k->data, k->len, k->path, &img);

	if (r < 0)
		return r;
	r = boot_elf_check_place(&img, k->path);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < img.nr_loads; i++) {
		const struct elf_load *l = &img.loads[i];
		uint8_t *dst =
		    boot_ram_named(vm, l->paddr, l->memsz, "kernel", k->path);

		if (!dst)
			return -ENOMEM;
		memcpy(dst, k->data + l->offset, l->filesz);
		memset(dst + l->filesz, 0, l->memsz - l->filesz);
	}
	bi->kind = BOOT_KERNEL_ELF;
	bi->entry_mode = img.has_pvh ? BOOT_ENTRY_PVH : BOOT_ENTRY_LINUX64;
	bi->entry = img.has_pvh ? img.pvh_entry : img.entry;
	bi->kernel_start = img.start;
	bi->kernel_end = img.end;
	return 0;
}

static int boot_load_cmdline(struct vm *vm, const char *cmdline,
                             uint32_t max_len, struct boot_info *bi)
{
	size_t len = cmdline ? strlen(cmdline) : 0;
	uint8_t *dst;

	if (len > max_len || len >= BOOT_CMDLINE_MAX) {
		log_err("cmdline: %zu bytes, the kernel accepts at most %u; "
		        "shorten the command line",
		        len, MIN(max_len, (uint32_t)BOOT_CMDLINE_MAX - 1));
		return -E2BIG;
	}
	dst = boot_ram(vm, BOOT_CMDLINE_ADDR, len + 1, "cmdline");
	if (!dst)
		return -ENOMEM;
	memcpy(dst, cmdline ? cmdline : "", len + 1);
	bi->cmdline_addr = BOOT_CMDLINE_ADDR;
	return 0;
}

/* Places the initrd as high as allowed, page aligned, above the kernel. */
static int boot_load_initrd(struct vm *vm, const char *path, uint64_t max_addr,
                            struct boot_info *bi)
{
	struct boot_file f = {.path = path};
	uint64_t top = MIN(gmem_low_end(&vm->mem), max_addr);
	uint64_t addr;
	uint8_t *dst;
	int r = boot_file_map(&f, "initrd");

	if (r < 0)
		return r;
	addr = f.len < top ? ALIGN_DOWN(top - f.len, 4096) : 0;
	if (addr < ALIGN_UP(bi->kernel_end, 4096)) {
		log_err("initrd %s: %zu bytes do not fit between the kernel "
		        "(ends 0x%" PRIx64 ") and 0x%" PRIx64
		        "; give the VM more memory",
		        path, f.len, bi->kernel_end, top);
		boot_file_unmap(&f);
		return -ENOMEM;
	}
	dst = boot_ram_named(vm, addr, f.len, "initrd", path);
	if (dst)
		memcpy(dst, f.data, f.len);
	boot_file_unmap(&f);
	if (!dst)
		return -ENOMEM;
	bi->initrd_start = addr;
	bi->initrd_size = f.len;
	return 0;
}

static int boot_write_cpu_tables(struct vm *vm, struct boot_info *bi,
                                 uint64_t *rsdp)
{
	uint8_t *p =
	    boot_ram(vm, BOOT_MPTABLE_ADDR, BOOT_MPTABLE_MAX, "MP table");
	int r;

	if (!p)
		return -ENOMEM;
	r = mptable_build(p, BOOT_MPTABLE_MAX, BOOT_MPTABLE_ADDR, vm->nr_vcpus);
	if (r < 0)
		return log_err_errno(r, "MP table for %u vCPUs", vm->nr_vcpus);
	*rsdp = 0;
	if (boot_acpi_wanted(vm)) {
		p = boot_ram(vm, BOOT_ACPI_ADDR, BOOT_ACPI_MAX, "ACPI");
		if (!p)
			return -ENOMEM;
		r = acpi_build(p, BOOT_ACPI_MAX, BOOT_ACPI_ADDR, vm->nr_vcpus);
		if (r < 0)
			return log_err_errno(r, "ACPI tables for %u vCPUs",
			                     vm->nr_vcpus);
		*rsdp = BOOT_ACPI_ADDR;
	}
	p = boot_ram(vm, BOOT_GDT_ADDR, 8 * BOOT_GDT_ENTRIES, "GDT");
	if (!p)
		return -ENOMEM;
	boot_gdt_build((uint64_t *)(void *)p);
	bi->gdt = BOOT_GDT_ADDR;
	p = boot_ram(vm, BOOT_PML4_ADDR, BOOT_PT_BYTES, "page tables");
	if (!p)
		return -ENOMEM;
	boot_pagetable_build(p, BOOT_PML4_ADDR);
	bi->pml4 = BOOT_PML4_ADDR;
	return 0;
}

static int boot_write_zero_page(struct vm *vm, uint8_t *zp, uint64_t rsdp,
                                struct boot_info *bi)
{
	struct e820_entry e820[E820_MAX];
	int n = boot_e820_build(&vm->mem, e820, E820_MAX);
	struct boot_zp_args a = {
	    .cmdline_addr = bi->cmdline_addr,
	    .initrd_addr = bi->initrd_start,
	    .initrd_size = bi->initrd_size,
	    .rsdp_addr = rsdp,
	    .e820 = e820,
	    .nr_e820 = n > 0 ? (unsigned int)n : 0,
	};
	uint8_t *dst;

	if (n < 0)
		return n;
	boot_zero_page_fill(zp, &a);
	dst = boot_ram(vm, BOOT_ZERO_PAGE_ADDR, 4096, "zero page");
	if (!dst)
		return -ENOMEM;
	memcpy(dst, zp, 4096);
	bi->zero_page = BOOT_ZERO_PAGE_ADDR;
	return 0;
}

static int boot_write_start_info(struct vm *vm, uint64_t rsdp,
                                 struct boot_info *bi)
{
	struct e820_entry e820[E820_MAX];
	int n = boot_e820_build(&vm->mem, e820, E820_MAX);
	uint8_t *dst = boot_ram(vm, BOOT_START_INFO_ADDR, 4096, "start info");

	if (n < 0 || !dst)
		return n < 0 ? n : -ENOMEM;
	if (!pvh_start_info_build(dst, 4096, BOOT_START_INFO_ADDR, bi, rsdp,
	                          e820, (unsigned int)n))
		return -E2BIG;
	bi->start_info = BOOT_START_INFO_ADDR;
	return 0;
}

int boot_load(struct vm *vm, const char *cmdline, struct boot_info *bi)
{
	struct boot_file k = {.path = vm->cfg->kernel};
	struct bzimage_hdr h = {.cmdline_size = BOOT_CMDLINE_MAX - 1,
	                        .initrd_addr_max = UINT32_MAX};
	uint8_t zp[4096] = {0};
	uint64_t rsdp;
	int r;

	memset(bi, 0, sizeof(*bi));
	if (gmem_low_end(&vm->mem) < 2 * MiB) {
		log_err("memory: %" PRIu64 " MiB is too small to boot; give "
		        "the VM at least 2 MiB",
		        (uint64_t)(vm->mem.ram_size / MiB));
		return -EINVAL;
	}
	r = boot_file_map(&k, "kernel");
	if (r < 0)
		return r;
	if (elf_is_elf(k.data, k.len))
		r = boot_load_elf(vm, &k, bi);
	else
		r = boot_load_bzimage(vm, &k, bi, &h, zp);
	boot_file_unmap(&k);
	if (r >= 0)
		r = boot_load_cmdline(vm, cmdline, h.cmdline_size, bi);
	if (r >= 0 && vm->cfg->initrd)
		r = boot_load_initrd(vm, vm->cfg->initrd,
		                     (uint64_t)h.initrd_addr_max + 1, bi);
	if (r >= 0)
		r = boot_write_cpu_tables(vm, bi, &rsdp);
	if (r < 0)
		return r;
	if (bi->entry_mode == BOOT_ENTRY_PVH)
		return boot_write_start_info(vm, rsdp, bi);
	return boot_write_zero_page(vm, zp, rsdp, bi);
}

const char *boot_pvm_cmdline(void)
{
	/* shared/guest/NOTES.md, "The exact command-line profile that
	 * reached /init here": the guest runs part of its code natively and
	 * reads the host's CPUID, so only clearcpuid hides these features. */
	return "noxsave mitigations=off nopti tsc=reliable no_timer_check "
	       "lpj=5000000 i8042.noaux i8042.nokbd "
	       "clearcpuid=smap,smep,umip,pku,fsgsbase,pcid,invpcid,popcnt,"
	       "sse4_1,sse4_2,ssse3,avx,avx2,f16c,fma,bmi1,bmi2,erms,fsrm,"
	       "movbe,abm,rdrand,rdseed,adx,aes,pclmulqdq,cx16,sha_ni,"
	       "avx512f,avx512dq,avx512ifma,avx512cd,avx512bw,avx512vl,"
	       "avx512vbmi,avx512_vbmi2,gfni,vaes,vpclmulqdq,avx512_vnni,"
	       "avx512_bitalg,avx512_vpopcntdq,avx512_bf16,clflushopt,clwb,"
	       "xsaveopt,xsavec,xsaves,rdpid,rdtscp,x2apic,"
	       "tsc_deadline_timer,misalignsse,3dnowprefetch,sse4a,clzero,"
	       "xgetbv1,lahf_lm,osvw,topoext,pdpe1gb";
}
