/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Intel MultiProcessor Specification 1.4 tables: the floating pointer and
 * the configuration table Linux reads (arch/x86/kernel/mpparse.c) to find
 * every CPU, the ISA bus and the IOAPIC when ACPI is absent or off. Placed
 * in the last KiB below 640 KiB, one of the areas the spec says to scan.
 */
#include <errno.h>
#include <string.h>

#include "boot_priv.h"

#define MP_SPEC_REV       4 /* 1.4 */
#define MP_APIC_VERSION   0x14
#define MP_IOAPIC_VERSION 0x11
#define MP_ISA_IRQS       16

struct mpf {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length; /* 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_header {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char product[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t count;
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type; /* 0 */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag; /* bit 0 enabled, bit 1 boot processor */
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type; /* 1 */
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type; /* 2 */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags; /* bit 0 enabled */
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type;     /* 3 */
	uint8_t irqtype;  /* 0 vectored INT */
	uint16_t irqflag; /* 0: conforms to the bus (ISA: edge, high) */
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

uint8_t boot_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return sum;
}

static size_t mptable_size(unsigned int nr_vcpus)
{
	return sizeof(struct mpf) + sizeof(struct mpc_header) +
	       nr_vcpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
	       sizeof(struct mpc_ioapic) +
	       MP_ISA_IRQS * sizeof(struct mpc_intsrc);
}

static uint8_t *mptable_entries(uint8_t *p, unsigned int nr_vcpus)
{
	struct mpc_bus bus = {.type = 1, .busid = 0};
	struct mpc_ioapic io = {.type = 2,
	                        .apicid = (uint8_t)nr_vcpus,
	                        .apicver = MP_IOAPIC_VERSION,
	                        .flags = 1,
	                        .apicaddr = BOOT_IOAPIC_ADDR};

	for (unsigned int i = 0; i < nr_vcpus; i++) {
		struct mpc_cpu c = {.type = 0,
		                    .apicid = (uint8_t)i,
		                    .apicver = MP_APIC_VERSION,
		                    .cpuflag = i == 0 ? 3 : 1,
		                    .cpufeature = 0x600, /* family 6 */
		                    .featureflag =
		                        (1U << 9) | 1U}; /* APIC, FPU */

		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	memcpy(bus.bustype, "ISA   ", 6);
	memcpy(p, &bus, sizeof(bus));
	p += sizeof(bus);
	memcpy(p, &io, sizeof(io));
	p += sizeof(io);
	for (unsigned int irq = 0; irq < MP_ISA_IRQS; irq++) {
		struct mpc_intsrc s = {.type = 3,
		                       .srcbus = 0,
		                       .srcbusirq = (uint8_t)irq,
		                       .dstapic = (uint8_t)nr_vcpus,
		                       .dstirq = (uint8_t)irq};

		if (irq == 0)
			s.dstirq = BOOT_IRQ0_PIN;
		else if (irq == 2 && BOOT_IRQ0_PIN == 2)
			continue; /* pin 2 carries IRQ 0 instead */
		memcpy(p, &s, sizeof(s));
		p += sizeof(s);
	}
	return p;
}

int mptable_build(uint8_t *buf, size_t max, uint64_t addr,
                  unsigned int nr_vcpus)
{
	struct mpf *mpf = (struct mpf *)buf;
	struct mpc_header *h = (struct mpc_header *)(buf + sizeof(*mpf));
	uint8_t *end;

	/* APIC ids are 8 bits and the IOAPIC takes id nr_vcpus. */
	if (nr_vcpus == 0 || nr_vcpus > 254 || addr > UINT32_MAX)
		return -EINVAL;
	if (mptable_size(nr_vcpus) > max)
		return -E2BIG;
	memset(buf, 0, mptable_size(nr_vcpus));
	end = mptable_entries((uint8_t *)(h + 1), nr_vcpus);

	memcpy(h->signature, "PCMP", 4);
	h->length = (uint16_t)(end - (uint8_t *)h);
	h->spec = MP_SPEC_REV;
	memcpy(h->oem, "PODVISOR", 8);
	memcpy(h->product, "podvisor-vmm", 12);
	h->count = (uint16_t)(nr_vcpus + 2 + MP_ISA_IRQS -
	                      (BOOT_IRQ0_PIN == 2 ? 1 : 0));
	h->lapic = BOOT_LAPIC_ADDR;
	h->checksum = (uint8_t)-boot_checksum(h, h->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(addr + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = MP_SPEC_REV;
	mpf->checksum = (uint8_t)-boot_checksum(mpf, sizeof(*mpf));
	return (int)(end - buf);
}
