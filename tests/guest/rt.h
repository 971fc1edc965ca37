/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runtime of the freestanding test guests. The guests are entered by
 * podvisor-vmm exactly like a Linux ELF vmlinux: 64-bit long mode, RSI = zero
 * page, identity page tables over the first 4 GiB, interrupts off. They use
 * general registers only (no SSE/x87), no int3 and no syscall, because on PVM
 * hosts every kernel-mode instruction is emulated and those are not.
 *
 * Output contract (read by the tests/kvm scripts on the serial log):
 *   "PASS <name>" or "FAIL <name>: <reason>" per check, "INFO ..." lines,
 *   "READY <what>" when the guest waits for the host test to act,
 *   "SUMMARY pass=N fail=M" and "DONE" at the end, then power off.
 */
#ifndef PVGUEST_RT_H
#define PVGUEST_RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a)  (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))

/* Power-off value for BOOT_PM_SLEEP_PORT (include/podvisor/boot.h). */
#define PM_SLEEP_PORT 0x600
#define PM_SLEEP_OFF  ((5u << 10) | (1u << 13))

/* ---- CPU helpers ---- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* x86 is TSO; a compiler barrier orders stores to the ring against each
 * other, mfence orders them against the notify write that follows. */
static inline void mb(void)
{
	__asm__ volatile("mfence" ::: "memory");
}

static inline void irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}

static inline void irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

/* ---- MMIO ---- */
static inline uint8_t mmio_r8(uint64_t a)
{
	return *(volatile uint8_t *)a;
}

static inline uint16_t mmio_r16(uint64_t a)
{
	return *(volatile uint16_t *)a;
}

static inline uint32_t mmio_r32(uint64_t a)
{
	return *(volatile uint32_t *)a;
}

static inline uint64_t mmio_r64(uint64_t a)
{
	return *(volatile uint64_t *)a;
}

static inline void mmio_w8(uint64_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}

static inline void mmio_w16(uint64_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}

static inline void mmio_w32(uint64_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static inline void mmio_w64(uint64_t a, uint64_t v)
{
	*(volatile uint64_t *)a = v;
}

/* ---- libc subset (lib.c) ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *h, const char *n);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- serial console (COM1, polled) ---- */
void serial_putc(char c);
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- results ---- */
void pass(const char *name);
void fail(const char *name, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Checks cond; prints PASS or FAIL with the formatted reason. */
bool check(bool cond, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
unsigned int failures(void);
/* Prints SUMMARY and DONE, then powers off. Never returns. */
__attribute__((noreturn)) void guest_finish(void);
__attribute__((noreturn)) void poweroff(void);
__attribute__((noreturn)) void halt_forever(void);

/* ---- time: TSC ticks, calibrated against the PIT at start ---- */
void time_init(void);
uint64_t now_us(void);
void delay_us(uint64_t us);

/* ---- zero page and command line ---- */
extern uint8_t *zero_page;
const char *cmdline(void);
/* Value of key=value on the command line, copied into buf; NULL if absent. */
const char *arg_str(const char *key, char *buf, size_t len);
uint64_t arg_u64(const char *key, uint64_t def);

/* ---- bump allocator over a static pool (never freed) ---- */
void *palloc(size_t size, size_t align);

/* ---- interrupts ---- */
struct irq_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

#define LAPIC_BASE 0xfee00000ull
void idt_init(void);
void lapic_init(void);
uint32_t lapic_id(void);
uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
/* Count of interrupts taken on vector (32..255). */
extern volatile uint32_t irq_count[256];
/* APIC id of the CPU that last took each vector. */
extern volatile uint8_t irq_cpu[256];
/* Loads the IDT built by idt_init() on this CPU. */
void idt_load(void);
/* Waits (interrupts on) until irq_count[vec] > seen or timeout. */
bool irq_wait(unsigned int vec, uint32_t seen, uint64_t timeout_us);
/* Runs fn(frame) instead of failing when the next exception vec happens. */
typedef void (*exc_hook_fn)(struct irq_frame *f);
void exc_expect(unsigned int vec, exc_hook_fn fn);
void load_idt(uint64_t base, uint16_t limit);

/* ---- PCI (config mechanism #1) ---- */
struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class, subclass, revision;
	uint64_t bar[6];
	uint64_t bar_size[6];
	bool bar_io[6], bar_64[6];
};

uint32_t pci_read32(const struct pci_dev *d, uint8_t reg);
uint16_t pci_read16(const struct pci_dev *d, uint8_t reg);
uint8_t pci_read8(const struct pci_dev *d, uint8_t reg);
void pci_write32(const struct pci_dev *d, uint8_t reg, uint32_t v);
void pci_write16(const struct pci_dev *d, uint8_t reg, uint16_t v);
/* Scans bus 0; fills up to max devices; returns the count. */
int pci_scan(struct pci_dev *out, int max);
/* Finds the n-th function with vendor:device; false if absent. */
bool pci_find(uint16_t vendor, uint16_t device, int n, struct pci_dev *out);
/* Sizes every BAR (writes all ones, restores), assigns unassigned memory
 * BARs from the guest's own window, enables memory decoding and bus master.
 * Returns 0 or a negative count of problems (already reported as FAIL). */
int pci_setup_bars(struct pci_dev *d, const char *who);
/* Offset of the first capability with id after 'from' (0: start); 0 if
 * none. The walk is bounded so a looping chain ends. */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t from);
/* Makes [addr, addr + len) addressable (adds 2 MiB identity mappings above
 * the 4 GiB the VMM mapped). */
void map_identity(uint64_t addr, uint64_t len);

/* ---- tests (one per t_*.c); each returns after printing its results ---- */
void test_boot(void);
void test_pci(void);
void test_blk(void);
void test_rng(void);
void test_console(void);
void test_vsock(void);
void test_msix(void);
void test_hostile(void);
void test_poweroff(void);
void test_triple(void);
void test_reboot(void);
void test_smp(void);
void test_serial(void);
void test_ticks(void);
void test_fuzz(void);
void test_net(void);
void test_halt(void);
void test_rtc(void);
void test_ringfuzz(void);
void test_net_switch(void);

#endif
