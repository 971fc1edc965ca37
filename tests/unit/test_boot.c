/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot loader: e820 maps for several RAM sizes, bzImage header parsing
 * on real header bytes (tests/unit/data/bzImage-head.bin, the first 24 KiB
 * of Debian 12's stock cloud kernel, see data/README), rejection of
 * bad headers with a message naming the problem, ELF and PVH note parsing,
 * and boot_load() end to end into real guest memory.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/boot.h"
#include "podvisor/guest_mem.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/vm.h"

#include "boot_priv.h"

/* ---- helpers ---- */

static char stderr_buf[4096];

/* Runs the parse with stderr redirected, keeps what it logged. */
static int capture_bz(const uint8_t *buf, size_t len, struct bzimage_hdr *h)
{
	FILE *f = tmpfile();
	int saved = dup(2), r;
	size_t n;

	ck_assert_ptr_nonnull(f);
	fflush(stderr);
	dup2(fileno(f), 2);
	r = bzimage_parse(buf, len, "vmlinuz-test", h);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(stderr_buf, 1, sizeof(stderr_buf) - 1, f);
	stderr_buf[n] = 0;
	fclose(f);
	return r;
}

static uint8_t *read_fixture(size_t *len)
{
	const char *src = getenv("PODVISOR_SOURCE");
	char path[4096];
	FILE *f;
	uint8_t *buf = malloc(64 * 1024);

	snprintf(path, sizeof(path), "%s/tests/unit/data/bzImage-head.bin",
	         src ? src : ".");
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "fixture %s missing", path);
	*len = fread(buf, 1, 64 * 1024, f);
	fclose(f);
	return buf;
}

static char *write_tmp(const void *data, size_t len)
{
	char *path = strdup("/tmp/pv-test-boot.XXXXXX");
	int fd = mkstemp(path);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---- e820 ---- */

static int e820_for(uint64_t ram, struct e820_entry *e)
{
	struct guest_mem gm = {0};
	uint64_t low = MIN(ram, GMEM_GAP_START);

	gm.ram_size = ram;
	gm.regions[0] = (struct gmem_region){.gpa = 0, .size = low};
	gm.nr_regions = 1;
	if (ram > low) {
		gm.regions[1] = (struct gmem_region){.gpa = GMEM_GAP_END,
		                                     .size = ram - low};
		gm.nr_regions = 2;
	}
	return boot_e820_build(&gm, e, E820_MAX);
}

START_TEST(test_e820_small)
{
	struct e820_entry e[E820_MAX];

	ck_assert_int_eq(e820_for(128 * MiB, e), 3);
	ck_assert_uint_eq(e[0].addr, 0);
	ck_assert_uint_eq(e[0].size, 0x9fc00);
	ck_assert_uint_eq(e[0].type, E820_RAM);
	ck_assert_uint_eq(e[1].addr, 0x9fc00);
	ck_assert_uint_eq(e[1].addr + e[1].size, 1 * MiB);
	ck_assert_uint_eq(e[1].type, E820_RESERVED);
	ck_assert_uint_eq(e[2].addr, 1 * MiB);
	ck_assert_uint_eq(e[2].size, 127 * MiB);
	ck_assert_uint_eq(e[2].type, E820_RAM);
}
END_TEST

START_TEST(test_e820_exactly_gap)
{
	struct e820_entry e[E820_MAX];

	ck_assert_int_eq(e820_for(3 * GiB, e), 3);
	ck_assert_uint_eq(e[2].addr + e[2].size, GMEM_GAP_START);
}
END_TEST

START_TEST(test_e820_above_gap)
{
	struct e820_entry e[E820_MAX];
	uint64_t ram = 0;

	ck_assert_int_eq(e820_for(6 * GiB, e), 4);
	ck_assert_uint_eq(e[2].addr + e[2].size, GMEM_GAP_START);
	ck_assert_uint_eq(e[3].addr, 4 * GiB);
	ck_assert_uint_eq(e[3].size, 3 * GiB);
	ck_assert_uint_eq(e[3].type, E820_RAM);
	for (int i = 0; i < 4; i++)
		if (e[i].type == E820_RAM)
			ram += e[i].size;
	/* all RAM but what sits under the reserved 0x9fc00-1 MiB hole */
	ck_assert_uint_eq(ram, 6 * GiB - (1 * MiB - 0x9fc00));
}
END_TEST

START_TEST(test_e820_too_small)
{
	struct e820_entry e[E820_MAX];

	ck_assert_int_eq(e820_for(1 * MiB, e), -EINVAL);
}
END_TEST

/* ---- bzImage ---- */

START_TEST(test_bz_real_header)
{
	size_t len;
	uint8_t *buf = read_fixture(&len);
	struct bzimage_hdr h;

	ck_assert_uint_eq(len, 24 * 1024);
	ck_assert_int_eq(capture_bz(buf, len, &h), 0);
	ck_assert_uint_ge(h.version, 0x020f); /* Linux 6.1: 2.15 */
	ck_assert(h.xloadflags & BZ_XLF_KERNEL_64);
	ck_assert_uint_eq(h.setup_sects, buf[0x1f1]);
	ck_assert_uint_eq(h.kernel_offset, (buf[0x1f1] + 1) * 512ULL);
	ck_assert_uint_eq(h.pref_address, 0x1000000); /* LOAD_PHYSICAL_ADDR */
	ck_assert_uint_eq(h.kernel_alignment, 0x200000);
	ck_assert(h.relocatable);
	ck_assert_uint_eq(h.cmdline_size, 2047);
	ck_assert_uint_eq(h.initrd_addr_max, 0x7fffffff);
	ck_assert_uint_gt(h.init_size, 1 * MiB);
	ck_assert_uint_eq(h.hdr_end, 0x202 + buf[0x201]);
	ck_assert_uint_eq(h.init_size, 0x3378000); /* this kernel's */
	/* pref_address fits in 256 MiB; in 64 MiB it does not, so the
	 * relocatable kernel goes to 1 MiB rounded up to 2 MiB */
	ck_assert_uint_eq(bzimage_load_addr(&h, 256 * MiB), 0x1000000);
	ck_assert_uint_eq(bzimage_load_addr(&h, 64 * MiB), 2 * MiB);
	ck_assert_uint_eq(bzimage_load_addr(&h, 32 * MiB), 0);
	h.relocatable = false;
	ck_assert_uint_eq(bzimage_load_addr(&h, 64 * MiB), 0);
	free(buf);
}
END_TEST

START_TEST(test_bz_truncated)
{
	size_t len;
	uint8_t *buf = read_fixture(&len);
	struct bzimage_hdr h;

	ck_assert_int_eq(capture_bz(buf, 0x200, &h), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(stderr_buf, "vmlinuz-test"));
	ck_assert_ptr_nonnull(strstr(stderr_buf, "too short"));
	/* header complete but the kernel body is cut off */
	ck_assert_int_eq(capture_bz(buf, (buf[0x1f1] + 1) * 512, &h), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(stderr_buf, "truncated"));
	free(buf);
}
END_TEST

START_TEST(test_bz_bad_magic)
{
	size_t len;
	uint8_t *buf = read_fixture(&len);
	struct bzimage_hdr h;

	buf[0x203] = 'X'; /* "HXrS" */
	ck_assert_int_eq(capture_bz(buf, len, &h), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(stderr_buf, "HdrS"));
	buf[0x203] = 'd';
	buf[0x1fe] = 0;
	ck_assert_int_eq(capture_bz(buf, len, &h), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(stderr_buf, "0xaa55"));
	free(buf);
}
END_TEST

START_TEST(test_bz_too_old)
{
	size_t len;
	uint8_t *buf = read_fixture(&len);
	struct bzimage_hdr h;

	buf[0x206] = 0x0b; /* 2.11 */
	ck_assert_int_eq(capture_bz(buf, len, &h), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(stderr_buf, "2.11 is too old"));
	buf[0x206] = 0x0f;
	buf[0x236] &= (uint8_t)~1; /* no 64-bit entry */
	ck_assert_int_eq(capture_bz(buf, len, &h), -ENOEXEC);
	ck_assert_ptr_nonnull(strstr(stderr_buf, "64-bit entry"));
	free(buf);
}
END_TEST

/* ---- ELF ---- */

struct elf_fixture {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	Elf64_Nhdr nh;
	char name[4];
	uint64_t desc;
	uint8_t code[64];
} __attribute__((packed));

/* A kernel-like ELF: one PT_LOAD linked high (vaddr 0xffffffff81000000)
 * and loaded at 16 MiB, 4 KiB of bss, optionally the PVH note. */
static void elf_fixture_init(struct elf_fixture *f, bool pvh, uint64_t entry)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->eh.e_ident, ELFMAG, SELFMAG);
	f->eh.e_ident[EI_CLASS] = ELFCLASS64;
	f->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f->eh.e_ident[EI_VERSION] = EV_CURRENT;
	f->eh.e_type = ET_EXEC;
	f->eh.e_machine = EM_X86_64;
	f->eh.e_version = EV_CURRENT;
	f->eh.e_entry = entry;
	f->eh.e_phoff = offsetof(struct elf_fixture, ph);
	f->eh.e_ehsize = sizeof(Elf64_Ehdr);
	f->eh.e_phentsize = sizeof(Elf64_Phdr);
	f->eh.e_phnum = pvh ? 2 : 1;
	f->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
	                        .p_offset = offsetof(struct elf_fixture, code),
	                        .p_vaddr = 0xffffffff81000000ULL,
	                        .p_paddr = 0x1000000,
	                        .p_filesz = sizeof(f->code),
	                        .p_memsz = sizeof(f->code) + 4096};
	f->ph[1] = (Elf64_Phdr){.p_type = PT_NOTE,
	                        .p_offset = offsetof(struct elf_fixture, nh),
	                        .p_filesz = sizeof(Elf64_Nhdr) + 4 + 8};
	f->nh = (Elf64_Nhdr){
	    .n_namesz = 4, .n_descsz = 8, .n_type = XEN_ELFNOTE_PHYS32_ENTRY};
	memcpy(f->name, "Xen", 4);
	f->desc = 0x1000020;
	memset(f->code, 0xf4, sizeof(f->code)); /* hlt */
}

START_TEST(test_elf_parse)
{
	struct elf_fixture f;
	struct elf_image img;

	elf_fixture_init(&f, false, 0xffffffff81000010ULL);
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img), 0);
	ck_assert_uint_eq(img.nr_loads, 1);
	ck_assert(!img.has_pvh);
	/* virtual entry translated through its segment */
	ck_assert_uint_eq(img.entry, 0x1000010);
	ck_assert_uint_eq(img.start, 0x1000000);
	ck_assert_uint_eq(img.end, 0x1000000 + 64 + 4096);

	elf_fixture_init(&f, false, 0x1000008); /* already physical */
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img), 0);
	ck_assert_uint_eq(img.entry, 0x1000008);
}
END_TEST

START_TEST(test_elf_pvh_note)
{
	struct elf_fixture f;
	struct elf_image img;

	elf_fixture_init(&f, true, 0x1000000);
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img), 0);
	ck_assert(img.has_pvh);
	ck_assert_uint_eq(img.pvh_entry, 0x1000020);
	/* 4-byte descriptor form */
	f.nh.n_descsz = 4;
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img), 0);
	ck_assert(img.has_pvh);
	ck_assert_uint_eq(img.pvh_entry, 0x1000020);
	/* another note type is not the PVH entry */
	f.nh.n_type = 17;
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img), 0);
	ck_assert(!img.has_pvh);
	/* a name size running past the note segment is ignored safely */
	f.nh.n_type = XEN_ELFNOTE_PHYS32_ENTRY;
	f.nh.n_namesz = 0xfffffff0;
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img), 0);
	ck_assert(!img.has_pvh);
}
END_TEST

START_TEST(test_elf_rejects)
{
	struct elf_fixture f;
	struct elf_image img;

	elf_fixture_init(&f, false, 0x1000000);
	/* segment bytes beyond the end of the file */
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f) - 8, "t", &img),
	                 -ENOEXEC);
	f.ph[0].p_filesz = f.ph[0].p_memsz + 1; /* filesz > memsz */
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img),
	                 -ENOEXEC);
	elf_fixture_init(&f, false, 0x1000000);
	f.eh.e_phnum = 200; /* program headers past the end */
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img),
	                 -ENOEXEC);
	elf_fixture_init(&f, false, 0x1000000);
	f.eh.e_machine = EM_386;
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img),
	                 -ENOEXEC);
	elf_fixture_init(&f, false, 0x1000000);
	f.ph[0].p_paddr = UINT64_MAX - 16; /* wraps */
	ck_assert_int_eq(elf_parse((uint8_t *)&f, sizeof(f), "t", &img),
	                 -ENOEXEC);
}
END_TEST

/* ---- boot_load end to end ---- */

struct boot_env {
	struct vm vm;
	struct vm_config cfg;
	struct boot_info bi;
	char *kernel, *initrd;
	uint8_t initrd_data[10000];
};

static void env_init(struct boot_env *e, uint64_t ram, const void *kernel,
                     size_t klen)
{
	struct gmem_opts o = {.ram_size = ram, .name = "test-boot"};

	memset(e, 0, sizeof(*e));
	ck_assert_int_eq(gmem_create(&e->vm.mem, &o), 0);
	e->vm.cfg = &e->cfg;
	e->vm.nr_vcpus = 2;
	e->kernel = write_tmp(kernel, klen);
	e->cfg.kernel = e->kernel;
	for (size_t i = 0; i < sizeof(e->initrd_data); i++)
		e->initrd_data[i] = (uint8_t)(i * 7);
	e->initrd = write_tmp(e->initrd_data, sizeof(e->initrd_data));
	e->cfg.initrd = e->initrd;
}

static void env_fini(struct boot_env *e)
{
	unlink(e->kernel);
	unlink(e->initrd);
	free(e->kernel);
	free(e->initrd);
	gmem_destroy(&e->vm.mem);
}

static uint8_t *gpa(struct boot_env *e, uint64_t a, uint64_t len)
{
	uint8_t *p = gmem_ptr(&e->vm.mem, a, len);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* What every LINUX64 boot must have in its zero page. */
static void check_zero_page(struct boot_env *e, const char *cmdline,
                            uint64_t ram)
{
	uint8_t *zp = gpa(e, e->bi.zero_page, 4096);
	uint64_t rd = rd32(zp + 0x218), rs = rd32(zp + 0x21c);

	ck_assert_mem_eq(zp + 0x202, "HdrS", 4);
	ck_assert_uint_eq(zp[0x210], 0xff);
	ck_assert_uint_eq(rd32(zp + 0x228), e->bi.cmdline_addr);
	ck_assert_str_eq((char *)gpa(e, rd32(zp + 0x228), 1), cmdline);
	ck_assert_uint_eq(zp[0x1e8], 3);
	ck_assert_uint_eq(rd64(zp + 0x2d0 + 2 * 20 + 8), ram - 1 * MiB);
	ck_assert_uint_eq(rs, sizeof(e->initrd_data));
	ck_assert(IS_ALIGNED(rd, 4096));
	ck_assert_uint_le(rd + rs, ram);
	ck_assert_uint_gt(rd + rs, ram - 4096); /* as high as it goes */
	ck_assert_uint_ge(rd, e->bi.kernel_end);
	ck_assert_mem_eq(gpa(e, rd, rs), e->initrd_data, rs);
	ck_assert_uint_eq(rd64(zp + 0x070), 0xe0000);
	ck_assert_mem_eq(gpa(e, 0xe0000, 8), "RSD PTR ", 8);
	ck_assert_mem_eq(gpa(e, 0x9fc00, 4), "_MP_", 4);
}

START_TEST(test_load_elf)
{
	struct elf_fixture f;
	struct boot_env e;

	elf_fixture_init(&f, false, 0x1000000);
	env_init(&e, 64 * MiB, &f, sizeof(f));
	memset(gpa(&e, 0x1000000 + 64, 4096), 0xaa, 4096); /* dirty bss */
	ck_assert_int_eq(boot_load(&e.vm, "console=ttyS0 x=1", &e.bi), 0);
	ck_assert_int_eq(e.bi.kind, BOOT_KERNEL_ELF);
	ck_assert_int_eq(e.bi.entry_mode, BOOT_ENTRY_LINUX64);
	ck_assert_uint_eq(e.bi.entry, 0x1000000);
	ck_assert_mem_eq(gpa(&e, 0x1000000, 64), f.code, 64);
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(gpa(&e, 0x1000000 + 64, 4096)[i], 0);
	check_zero_page(&e, "console=ttyS0 x=1", 64 * MiB);
	/* identity map: PML4 -> PDPT -> 2 MiB page covering the LAPIC */
	ck_assert_uint_eq(rd64(gpa(&e, e.bi.pml4, 8)) & ~0xfffULL,
	                  e.bi.pml4 + 4096);
	ck_assert_uint_eq(rd64(gpa(&e, 0xb000 + 8 * (0xfee00000 >> 21), 8)),
	                  0xfee00000 | 0x83);
	env_fini(&e);
}
END_TEST

START_TEST(test_load_pvh)
{
	struct elf_fixture f;
	struct boot_env e;
	uint8_t *si;

	elf_fixture_init(&f, true, 0x1000000);
	env_init(&e, 64 * MiB, &f, sizeof(f));
	ck_assert_int_eq(boot_load(&e.vm, "pvh=1", &e.bi), 0);
	ck_assert_int_eq(e.bi.entry_mode, BOOT_ENTRY_PVH);
	ck_assert_uint_eq(e.bi.entry, 0x1000020);
	si = gpa(&e, e.bi.start_info, 0x38);
	ck_assert_uint_eq(rd32(si), 0x336ec578);
	ck_assert_uint_eq(rd32(si + 4), 1);
	ck_assert_uint_eq(rd32(si + 0xc), 1); /* nr_modules */
	ck_assert_str_eq((char *)gpa(&e, rd64(si + 0x18), 1), "pvh=1");
	ck_assert_uint_eq(rd64(si + 0x20), 0xe0000); /* rsdp */
	ck_assert_uint_eq(rd32(si + 0x30), 3);       /* memmap entries */
	ck_assert_uint_eq(rd64(gpa(&e, rd64(si + 0x28) + 48 + 8, 8)), 63 * MiB);
	ck_assert_uint_eq(rd64(gpa(&e, rd64(si + 0x10), 8)), e.bi.initrd_start);
	ck_assert_uint_eq(rd64(gpa(&e, rd64(si + 0x10) + 8, 8)),
	                  sizeof(e.initrd_data));
	env_fini(&e);
}
END_TEST

START_TEST(test_load_bzimage)
{
	size_t len;
	uint8_t *buf = read_fixture(&len);
	struct bzimage_hdr h;
	struct boot_env e;
	char longcmd[3000];

	ck_assert_int_eq(bzimage_parse(buf, len, "t", &h), 0);
	env_init(&e, 128 * MiB, buf, len);
	ck_assert_int_eq(boot_load(&e.vm, "console=ttyS0", &e.bi), 0);
	ck_assert_int_eq(e.bi.kind, BOOT_KERNEL_BZIMAGE);
	ck_assert_int_eq(e.bi.entry_mode, BOOT_ENTRY_LINUX64);
	ck_assert_uint_eq(e.bi.kernel_start, 0x1000000);
	ck_assert_uint_eq(e.bi.entry, 0x1000200);
	ck_assert_uint_eq(e.bi.kernel_end, 0x1000000 + h.init_size);
	ck_assert_mem_eq(gpa(&e, 0x1000000, len - h.kernel_offset),
	                 buf + h.kernel_offset, len - h.kernel_offset);
	/* setup header copied: setup_sects and the kernel's own fields */
	ck_assert_uint_eq(gpa(&e, 0x7000 + 0x1f1, 1)[0], buf[0x1f1]);
	ck_assert_mem_eq(gpa(&e, 0x7000 + 0x258, 8), buf + 0x258, 8);
	check_zero_page(&e, "console=ttyS0", 128 * MiB);
	/* the kernel's cmdline_size (2047) is enforced */
	memset(longcmd, 'a', sizeof(longcmd) - 1);
	longcmd[sizeof(longcmd) - 1] = 0;
	ck_assert_int_eq(boot_load(&e.vm, longcmd, &e.bi), -E2BIG);
	env_fini(&e);

	/* 64 MiB: below pref_address + init_size, loaded at 2 MiB instead */
	env_init(&e, 64 * MiB, buf, len);
	ck_assert_int_eq(boot_load(&e.vm, "", &e.bi), 0);
	ck_assert_uint_eq(e.bi.entry, 2 * MiB + 0x200);
	env_fini(&e);

	/* 32 MiB of RAM cannot hold the 51 MiB the kernel needs at all */
	env_init(&e, 32 * MiB, buf, len);
	ck_assert_int_eq(boot_load(&e.vm, "", &e.bi), -ENOMEM);
	env_fini(&e);
	free(buf);
}
END_TEST

START_TEST(test_load_missing_kernel)
{
	struct boot_env e;
	struct elf_fixture f;

	elf_fixture_init(&f, false, 0x1000000);
	env_init(&e, 64 * MiB, &f, sizeof(f));
	e.cfg.kernel = "/nonexistent/vmlinux";
	ck_assert_int_eq(boot_load(&e.vm, "", &e.bi), -ENOENT);
	env_fini(&e);
}
END_TEST

/* ---- entry registers ---- */

START_TEST(test_regs_linux64)
{
	struct boot_info bi = {.entry_mode = BOOT_ENTRY_LINUX64,
	                       .entry = 0x1000200,
	                       .zero_page = 0x7000,
	                       .pml4 = 0x9000};
	struct kvm_sregs s = {0};
	struct kvm_regs r;
	uint64_t gdt[BOOT_GDT_ENTRIES];

	boot_sregs_fill(&s, &bi);
	boot_regs_fill(&r, &bi);
	ck_assert_uint_eq(s.cs.selector, 0x10);
	ck_assert_uint_eq(s.cs.l, 1);
	ck_assert_uint_eq(s.cs.db, 0);
	ck_assert_uint_eq(s.ds.selector, 0x18);
	ck_assert_uint_eq(s.ss.selector, 0x18);
	ck_assert_uint_eq(s.cr0 & 0x80000001, 0x80000001); /* PG | PE */
	ck_assert_uint_eq(s.cr4 & 0x20, 0x20);             /* PAE */
	ck_assert_uint_eq(s.efer, 0x500);                  /* LME | LMA */
	ck_assert_uint_eq(s.cr3, 0x9000);
	ck_assert_uint_eq(r.rip, 0x1000200);
	ck_assert_uint_eq(r.rsi, 0x7000);
	ck_assert_uint_eq(r.rflags, 2);
	/* the GDT descriptors agree with the segment registers */
	boot_gdt_build(gdt);
	ck_assert_uint_eq(gdt[0], 0);
	ck_assert_uint_eq((gdt[2] >> 53) & 1, 1); /* L */
	ck_assert_uint_eq((gdt[2] >> 40) & 0xff, 0x9b);
	ck_assert_uint_eq((gdt[3] >> 40) & 0xff, 0x93);
}
END_TEST

START_TEST(test_regs_pvh)
{
	struct boot_info bi = {.entry_mode = BOOT_ENTRY_PVH,
	                       .entry = 0x1000020,
	                       .start_info = 0x6000};
	struct kvm_sregs s = {0};
	struct kvm_regs r;

	boot_sregs_fill(&s, &bi);
	boot_regs_fill(&r, &bi);
	ck_assert_uint_eq(s.cs.selector, 0x08);
	ck_assert_uint_eq(s.cs.l, 0);
	ck_assert_uint_eq(s.cs.db, 1);
	ck_assert_uint_eq(s.cs.limit, 0xffffffff);
	ck_assert_uint_eq(s.cr0 & 0x80000001, 1); /* PE, paging off */
	ck_assert_uint_eq(s.efer, 0);
	ck_assert_uint_eq(r.rbx, 0x6000);
	ck_assert_uint_eq(r.rip, 0x1000020);
}
END_TEST

START_TEST(test_pvm_cmdline)
{
	const char *c = boot_pvm_cmdline();

	ck_assert_ptr_nonnull(strstr(c, "noxsave mitigations=off nopti"));
	ck_assert_ptr_nonnull(strstr(c, "clearcpuid=smap,smep,"));
	ck_assert_ptr_nonnull(strstr(c, ",topoext,pdpe1gb"));
	ck_assert_ptr_null(strchr(c, '\n'));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("boot");
	TCase *tc = tcase_create("boot");
	SRunner *sr;
	int failed;

	pv_log_init("test_boot", PV_LOG_INFO);
	tcase_add_test(tc, test_e820_small);
	tcase_add_test(tc, test_e820_exactly_gap);
	tcase_add_test(tc, test_e820_above_gap);
	tcase_add_test(tc, test_e820_too_small);
	tcase_add_test(tc, test_bz_real_header);
	tcase_add_test(tc, test_bz_truncated);
	tcase_add_test(tc, test_bz_bad_magic);
	tcase_add_test(tc, test_bz_too_old);
	tcase_add_test(tc, test_elf_parse);
	tcase_add_test(tc, test_elf_pvh_note);
	tcase_add_test(tc, test_elf_rejects);
	tcase_add_test(tc, test_load_elf);
	tcase_add_test(tc, test_load_pvh);
	tcase_add_test(tc, test_load_bzimage);
	tcase_add_test(tc, test_load_missing_kernel);
	tcase_add_test(tc, test_regs_linux64);
	tcase_add_test(tc, test_regs_pvh);
	tcase_add_test(tc, test_pvm_cmdline);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
