// SPDX-License-Identifier: Apache-2.0
/*
 * What the VMM hands a 64-bit ELF kernel (Documentation/arch/x86/boot.rst,
 * include/podvisor/boot.h): entry state, zero page, e820, command line,
 * identity page tables, MP table and ACPI tables.
 * Command line: test=boot mem=<MiB> vcpus=<n> marker=<token>.
 */
#include "rt.h"

struct entry_regs {
	uint64_t rsi, rflags;
	uint16_t cs, ds, ss, pad;
	uint64_t rsp, cr0, cr4;
};
extern struct entry_regs entry_regs;
extern char _end[];
static uint8_t bss_probe[4096];

static void check_entry(void)
{
	struct entry_regs *r = &entry_regs;
	uint64_t efer = rdmsr(0xc0000080);

	printf("INFO entry: rsi 0x%lx rflags 0x%lx cs 0x%x ds 0x%x ss 0x%x "
	       "cr0 0x%lx cr4 0x%lx efer 0x%lx\n",
	       (unsigned long)r->rsi, (unsigned long)r->rflags, r->cs, r->ds,
	       r->ss, (unsigned long)r->cr0, (unsigned long)r->cr4,
	       (unsigned long)efer);
	check(r->rsi && r->rsi < 0x100000000ull && !(r->rsi & 0xfff),
	      "entry_rsi", "RSI 0x%lx is not a page-aligned zero page",
	      (unsigned long)r->rsi);
	check(!(r->rflags & 0x200), "entry_interrupts_off",
	      "RFLAGS.IF set at entry (0x%lx)", (unsigned long)r->rflags);
	check((efer & 0x500) == 0x500 && (r->cr0 & 0x80000001) == 0x80000001 &&
	          (r->cr4 & 0x20),
	      "entry_long_mode", "EFER 0x%lx CR0 0x%lx CR4 0x%lx",
	      (unsigned long)efer, (unsigned long)r->cr0,
	      (unsigned long)r->cr4);
	check(r->cs == 0x10 && r->ds == 0x18 && r->ss == 0x18, "entry_segments",
	      "CS 0x%x DS 0x%x SS 0x%x (boot.rst: 0x10, "
	      "0x18)",
	      r->cs, r->ds, r->ss);
	for (unsigned int i = 0; i < sizeof(bss_probe); i++) {
		if (bss_probe[i]) {
			fail("elf_bss_zeroed", "byte %u of .bss is 0x%x", i,
			     bss_probe[i]);
			return;
		}
	}
	pass("elf_bss_zeroed");
}

struct e820 {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

static bool ram_covers(const struct e820 *e, unsigned int n, uint64_t a,
                       uint64_t len)
{
	for (unsigned int i = 0; i < n; i++)
		if (e[i].type == 1 && e[i].addr <= a &&
		    a + len <= e[i].addr + e[i].size)
			return true;
	return false;
}

static void check_e820(void)
{
	unsigned int n = zero_page[0x1e8];
	const struct e820 *e = (const void *)(zero_page + 0x2d0);
	uint64_t mem = arg_u64("mem", 128) << 20, top = 0, want_top;
	int bad = 0;

	if (!check(n >= 2 && n <= 128, "e820_count", "%u entries", n))
		return;
	for (unsigned int i = 0; i < n; i++) {
		printf("E820 0x%016lx 0x%016lx %u\n", (unsigned long)e[i].addr,
		       (unsigned long)e[i].size, e[i].type);
		if (i && e[i].addr < e[i - 1].addr + e[i - 1].size) {
			fail("e820_sorted", "entry %u overlaps or precedes %u",
			     i, i - 1);
			bad++;
		}
		if (e[i].type != 1)
			continue;
		if (e[i].addr + e[i].size > top)
			top = e[i].addr + e[i].size;
		if (e[i].addr < 0x100000 && e[i].addr + e[i].size > 0xa0000) {
			fail("e820_legacy_hole",
			     "RAM entry %u covers "
			     "[0xa0000, 0x100000)",
			     i);
			bad++;
		}
		if (e[i].addr < 0x100000000ull &&
		    e[i].addr + e[i].size > 0xc0000000ull) {
			fail("e820_mmio_gap",
			     "RAM entry %u reaches into the "
			     "MMIO gap above 3 GiB",
			     i);
			bad++;
		}
	}
	if (!bad)
		pass("e820_sorted_and_holes");
	want_top = mem <= 0xc0000000ull ? mem : mem + 0x40000000ull;
	check(top == want_top, "e820_ram_size",
	      "highest RAM byte 0x%lx, expected 0x%lx for %lu MiB",
	      (unsigned long)top, (unsigned long)want_top,
	      (unsigned long)(mem >> 20));
	check(ram_covers(e, n, 0, 0x9fc00) &&
	          ram_covers(e, n, 0x100000, (uint64_t)_end - 0x100000),
	      "e820_covers_low_and_kernel",
	      "RAM does not cover [0, 0x9fc00) and the kernel [1 MiB, 0x%lx)",
	      (unsigned long)_end);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static void check_cmdline(void)
{
	const char *c = cmdline();
	char marker[64], want[80];
	uint32_t size = *(uint32_t *)(zero_page + 0x238);

	printf("CMDLINE %s\n", c);
	if (!check(arg_str("marker", marker, sizeof(marker)) != NULL,
	           "cmdline_marker", "no marker= on '%s'", c))
		return;
	snprintf(want, sizeof(want), "test=boot");
	check(!strncmp(c, want, strlen(want)), "cmdline_order",
	      "the command line does not start with what the test passed");
	check(!overlaps((uint64_t)c, strlen(c) + 1, 0x100000,
	                (uint64_t)_end - 0x100000) &&
	          !overlaps((uint64_t)c, strlen(c) + 1, (uint64_t)zero_page,
	                    4096),
	      "cmdline_placement",
	      "command line at %p overlaps the kernel "
	      "or the zero page",
	      (const void *)c);
	printf("INFO setup header: loader 0x%x loadflags 0x%x cmdline_size "
	       "%u\n",
	       zero_page[0x210], zero_page[0x211], size);
}

/* The first 4 GiB must be identity mapped with 2 MiB (or 1 GiB) pages, and
 * the tables must not sit on the kernel image. */
static void check_page_tables(void)
{
	uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xfffull), *pdpt;
	uint64_t kend = (uint64_t)_end;
	int bad = 0;

	printf("INFO page tables: cr3 0x%lx\n", (unsigned long)read_cr3());
	if (!(pml4[0] & 1)) {
		fail("page_tables_identity", "PML4[0] not present");
		return;
	}
	pdpt = (uint64_t *)(pml4[0] & 0x000ffffffffff000ull);
	if (overlaps((uint64_t)pml4, 4096, 0x100000, kend - 0x100000) ||
	    overlaps((uint64_t)pdpt, 4096, 0x100000, kend - 0x100000))
		fail("page_tables_placement", "tables overlap the kernel");
	for (unsigned int g = 0; g < 4 && !bad; g++) {
		uint64_t *pd;

		if ((pdpt[g] & 0x81) == 0x81) {
			bad += (pdpt[g] & 0xfffffc0000000ull) != (uint64_t)g
			                                             << 30;
			continue;
		}
		if (!(pdpt[g] & 1)) {
			fail("page_tables_identity", "PDPT[%u] not present", g);
			return;
		}
		pd = (uint64_t *)(pdpt[g] & 0x000ffffffffff000ull);
		if (overlaps((uint64_t)pd, 4096, 0x100000, kend - 0x100000))
			fail("page_tables_placement", "PD %u on the kernel", g);
		for (unsigned int i = 0; i < 512; i++) {
			uint64_t want =
			    ((uint64_t)g << 30) | ((uint64_t)i << 21);

			if ((pd[i] & 0x83) != 0x83 ||
			    (pd[i] & 0xfffffffe00000ull) != want) {
				fail("page_tables_identity",
				     "PD[%u][%u] = 0x%lx"
				     " for 0x%lx",
				     g, i, (unsigned long)pd[i],
				     (unsigned long)want);
				bad++;
				break;
			}
		}
	}
	if (!bad)
		pass("page_tables_identity");
}

static uint8_t sum8(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

static const uint8_t *scan(uint64_t from, uint64_t to, const char *sig,
                           size_t siglen)
{
	for (uint64_t a = from; a + siglen <= to; a += 16)
		if (!memcmp((const void *)a, sig, siglen))
			return (const uint8_t *)a;
	return NULL;
}

static void check_mptable(void)
{
	const uint8_t *fp = scan(0x9fc00, 0xa0000, "_MP_", 4), *ct, *p;
	unsigned int cpus = 0, want = arg_u64("vcpus", 1), len, count;

	if (!fp)
		fp = scan(0xf0000, 0x100000, "_MP_", 4);
	if (!check(fp != NULL, "mptable_found",
	           "no _MP_ floating pointer "
	           "in the EBDA or 0xf0000-0xfffff"))
		return;
	check(sum8(fp, 16) == 0, "mptable_fp_checksum", "sum 0x%x",
	      sum8(fp, 16));
	ct = (const uint8_t *)(uint64_t) * (const uint32_t *)(fp + 4);
	if (!check(ct && !memcmp(ct, "PCMP", 4), "mptable_config",
	           "config table pointer %p has no PCMP", (const void *)ct))
		return;
	len = *(const uint16_t *)(ct + 4);
	count = *(const uint16_t *)(ct + 34);
	check(sum8(ct, len) == 0, "mptable_checksum", "sum 0x%x over %u",
	      sum8(ct, len), len);
	p = ct + 44;
	for (unsigned int i = 0; i < count && p < ct + len; i++) {
		if (*p == 0) {
			cpus += (p[3] & 1);
			p += 20;
		} else {
			p += 8;
		}
	}
	check(cpus == want, "mptable_cpus",
	      "%u enabled processors, expected "
	      "%u",
	      cpus, want);
}

/* The power-off port must be where ACPI tells Linux to write S5: PM1a_CNT_BLK,
 * or SLEEP_CONTROL_REG (a GAS at 244) on a hardware-reduced platform. */
static void check_fadt(const uint8_t *t)
{
	uint32_t len = *(const uint32_t *)(t + 4),
	         flags = *(const uint32_t *)(t + 112);
	bool hw_reduced = len >= 116 && (flags & (1u << 20));
	uint64_t port;

	if (hw_reduced && len >= 256) {
		port = *(const uint64_t *)(t + 248);
		check(
		    t[244] == 1 && port == PM_SLEEP_PORT,
		    "acpi_fadt_sleep_port",
		    "hardware-reduced FADT: SLEEP_CONTROL_REG space %u address "
		    "0x%lx, boot.h says I/O 0x%x",
		    t[244], (unsigned long)port, PM_SLEEP_PORT);
		return;
	}
	port = *(const uint32_t *)(t + 64);
	check(port == PM_SLEEP_PORT, "acpi_fadt_sleep_port",
	      "PM1a_CNT_BLK 0x%lx, boot.h says 0x%x", (unsigned long)port,
	      PM_SLEEP_PORT);
}

static void check_acpi(void)
{
	const uint8_t *rsdp = scan(0xe0000, 0x100000, "RSD PTR ", 8), *rsdt;
	unsigned int n;

	if (!rsdp) {
		printf("INFO acpi: no RSDP in 0xe0000-0xfffff\n");
		return;
	}
	check(sum8(rsdp, 20) == 0, "acpi_rsdp_checksum", "sum 0x%x",
	      sum8(rsdp, 20));
	rsdt = (const uint8_t *)(uint64_t) * (const uint32_t *)(rsdp + 16);
	if (rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24))
		rsdt = (const uint8_t *)*(const uint64_t *)(rsdp + 24);
	if (!check(rsdt && sum8(rsdt, *(const uint32_t *)(rsdt + 4)) == 0,
	           "acpi_root_checksum", "root table at %p",
	           (const void *)rsdt))
		return;
	n = (*(const uint32_t *)(rsdt + 4) - 36) / (rsdt[0] == 'X' ? 8 : 4);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *t =
		    rsdt[0] == 'X' ? (const uint8_t *)*(
		                         const uint64_t *)(rsdt + 36 + 8 * i)
		                   : (const uint8_t *)(uint64_t) *
		                         (const uint32_t *)(rsdt + 36 + 4 * i);

		printf("INFO acpi: table %c%c%c%c at %p\n", t[0], t[1], t[2],
		       t[3], (const void *)t);
		check(sum8(t, *(const uint32_t *)(t + 4)) == 0,
		      "acpi_table_checksum", "%c%c%c%c", t[0], t[1], t[2],
		      t[3]);
		if (!memcmp(t, "FACP", 4))
			check_fadt(t);
	}
}

void test_boot(void)
{
	check_entry();
	check_e820();
	check_cmdline();
	check_page_tables();
	check_mptable();
	check_acpi();
}
