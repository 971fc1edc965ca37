/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small set of ACPI 6 tables so Linux can power off and find the PCI
 * host bridge: RSDP -> XSDT -> {FADT -> DSDT, MADT}. The FADT declares a
 * hardware-reduced platform (no PM1 blocks, no SCI events) whose sleep
 * control/status registers are BOOT_PM_SLEEP_PORT; the DSDT holds \_S5
 * (sleep type 5) and \_SB.PCI0, the host bridge with its bus, I/O and
 * MMIO windows. Without PCI0 Linux would not scan PCI at all when ACPI is
 * on (arch/x86/pci/legacy.c leaves it to the ACPI root bridge driver).
 */
#include <errno.h>
#include <string.h>

#include "podvisor/boot.h"
#include "podvisor/pci.h"
#include "podvisor/util.h"

#include "boot_priv.h"

#define ACPI_HDR_LEN    36
#define FADT_LEN        276
#define FADT_REVISION   6
#define FADT_HW_REDUCED (1U << 20)
#define FADT_PWR_BUTTON (1U << 4) /* no fixed power button */
#define FADT_SLP_BUTTON (1U << 5)
#define ACPI_SCI_IRQ    9 /* unused in hardware-reduced mode; kept off IRQ 0 */

static void wr16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void acpi_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	wr32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "PODVSR", 6);
	memcpy(t + 16, "PODVISOR", 8);
	wr32(t + 24, 1);
	memcpy(t + 28, "PVSR", 4);
	wr32(t + 32, 1);
}

static void acpi_finish(uint8_t *t)
{
	uint32_t len;

	memcpy(&len, t + 4, 4);
	t[9] = 0;
	t[9] = (uint8_t)-boot_checksum(t, len);
}

/* Generic Address Structure: System I/O, byte-wide, at port. */
static void acpi_gas_io8(uint8_t *p, uint16_t port)
{
	p[0] = 1; /* System I/O space */
	p[1] = 8; /* bit width */
	p[2] = 0;
	p[3] = 1; /* byte access */
	wr64(p + 4, port);
}

static size_t fadt_build(uint8_t *t, uint64_t dsdt)
{
	memset(t, 0, FADT_LEN);
	acpi_header(t, "FACP", FADT_LEN, FADT_REVISION);
	wr32(t + 40, (uint32_t)dsdt);
	wr16(t + 46, ACPI_SCI_IRQ);
	/* IAPC_BOOT_ARCH: 8042 present (reboot path), no VGA */
	wr16(t + 109, (1U << 1) | (1U << 2));
	wr32(t + 112, FADT_HW_REDUCED | FADT_PWR_BUTTON | FADT_SLP_BUTTON);
	t[131] = 0; /* FADT minor version: ACPI 6.0 */
	wr64(t + 140, dsdt);
	acpi_gas_io8(t + 244, BOOT_PM_SLEEP_PORT); /* SLEEP_CONTROL_REG */
	acpi_gas_io8(t + 256, BOOT_PM_SLEEP_PORT); /* SLEEP_STATUS_REG */
	memcpy(t + 268, "PODVISOR", 8);            /* hypervisor vendor */
	acpi_finish(t);
	return FADT_LEN;
}

/*
 * Emits op (1 or 2 bytes), a PkgLength covering body, then body
 * (ACPI 6.4, 20.2.4 "Package Length Encoding"). Returns bytes written.
 */
static size_t aml_pkg(uint8_t *out, const uint8_t *op, size_t oplen,
                      const uint8_t *body, size_t blen)
{
	size_t n = oplen, total;

	memcpy(out, op, oplen);
	if (blen + 1 <= 63) {
		out[n++] = (uint8_t)(blen + 1);
	} else {
		total = blen + 2; /* two-byte form: up to 4095 */
		out[n++] = (uint8_t)(0x40 | (total & 0xf));
		out[n++] = (uint8_t)(total >> 4);
	}
	memcpy(out + n, body, blen);
	return n + blen;
}

/* Name(_S5_, Package() {5, 5, 0, 0}): SLP_TYPa = SLP_TYPb = 5. */
static const uint8_t aml_s5[] = {
    0x08, '_',  'S',  '5',  '_',  0x12, 0x08,
    0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
};

/* The host bridge's resources: buses 0-255, the config ports, all other
 * I/O ports, and the 32-bit MMIO window where BARs are placed. */
static size_t aml_pci_crs(uint8_t *p)
{
	static const uint8_t fixed[] = {
	    /* WordBusNumber 0-0xff */
	    0x88,
	    0x0d,
	    0x00,
	    0x02,
	    0x0c,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0xff,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0x01,
	    /* IO (Decode16, 0xcf8, 0xcf8, 1, 8) */
	    0x47,
	    0x01,
	    0xf8,
	    0x0c,
	    0xf8,
	    0x0c,
	    0x01,
	    0x08,
	    /* WordIO 0x0000-0x0cf7 */
	    0x88,
	    0x0d,
	    0x00,
	    0x01,
	    0x0c,
	    0x03,
	    0x00,
	    0x00,
	    0x00,
	    0x00,
	    0xf7,
	    0x0c,
	    0x00,
	    0x00,
	    0xf8,
	    0x0c,
	    /* WordIO 0x0d00-0xffff */
	    0x88,
	    0x0d,
	    0x00,
	    0x01,
	    0x0c,
	    0x03,
	    0x00,
	    0x00,
	    0x00,
	    0x0d,
	    0xff,
	    0xff,
	    0x00,
	    0x00,
	    0x00,
	    0xf3,
	};
	size_t n = sizeof(fixed);

	memcpy(p, fixed, n);
	/* DWordMemory, read-write, non-cacheable, min/max fixed */
	p[n++] = 0x87;
	wr16(p + n, 23);
	n += 2;
	p[n++] = 0x00; /* memory range */
	p[n++] = 0x0c; /* MinFixed, MaxFixed */
	p[n++] = 0x01; /* read-write */
	wr32(p + n, 0);
	wr32(p + n + 4, (uint32_t)PCI_MMIO_BASE);
	wr32(p + n + 8, (uint32_t)(PCI_MMIO_END - 1));
	wr32(p + n + 12, 0);
	wr32(p + n + 16, (uint32_t)(PCI_MMIO_END - PCI_MMIO_BASE));
	n += 20;
	p[n++] = 0x79; /* end tag, checksum 0 = not computed */
	p[n++] = 0x00;
	return n;
}

/* Scope(\_SB) { Device(PCI0) { _HID PNP0A03, _UID 0, _BBN 0, _CRS } } */
static size_t aml_pci0(uint8_t *out)
{
	static const uint8_t scope_op[] = {0x10};
	static const uint8_t dev_op[] = {0x5b, 0x82};
	static const uint8_t buf_op[] = {0x11};
	static const uint8_t names[] = {
	    'P',  'C',  'I',  '0',  0x08, '_', 'H', 'I', 'D',  0x0c, 0x41,
	    0xd0, 0x0a, 0x03, 0x08, '_',  'U', 'I', 'D', 0x00, 0x08, '_',
	    'B',  'B',  'N',  0x00, 0x08, '_', 'C', 'R', 'S',
	};
	uint8_t crs[128], buf[160], dev[256], scope[320];
	size_t ncrs, nbuf, ndev, nscope;

	ncrs = aml_pci_crs(crs + 2);
	crs[0] = 0x0a; /* BufferSize as a byte constant */
	crs[1] = (uint8_t)ncrs;
	nbuf = aml_pkg(buf, buf_op, 1, crs, ncrs + 2);

	memcpy(dev, names, sizeof(names));
	memcpy(dev + sizeof(names), buf, nbuf);
	ndev = aml_pkg(scope + 5, dev_op, 2, dev, sizeof(names) + nbuf);

	memcpy(scope, "\\_SB_", 5);
	nscope = 5 + ndev;
	return aml_pkg(out, scope_op, 1, scope, nscope);
}

static size_t dsdt_build(uint8_t *t)
{
	size_t len = ACPI_HDR_LEN;

	memcpy(t + len, aml_s5, sizeof(aml_s5));
	len += sizeof(aml_s5);
	len += aml_pci0(t + len);
	acpi_header(t, "DSDT", (uint32_t)len, 2);
	acpi_finish(t);
	return len;
}

static size_t madt_build(uint8_t *t, unsigned int nr_vcpus)
{
	size_t len = ACPI_HDR_LEN + 8;

	wr32(t + ACPI_HDR_LEN, BOOT_LAPIC_ADDR);
	wr32(t + ACPI_HDR_LEN + 4, 1); /* PCAT_COMPAT: 8259s present */
	for (unsigned int i = 0; i < nr_vcpus; i++, len += 8) {
		uint8_t *e = t + len;

		e[0] = 0; /* processor local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i; /* ACPI processor UID */
		e[3] = (uint8_t)i; /* APIC id */
		wr32(e + 4, 1);    /* enabled */
	}
	t[len] = 1; /* I/O APIC */
	t[len + 1] = 12;
	t[len + 2] = (uint8_t)nr_vcpus;
	t[len + 3] = 0;
	wr32(t + len + 4, BOOT_IOAPIC_ADDR);
	wr32(t + len + 8, 0); /* GSI base */
	len += 12;
	if (BOOT_IRQ0_PIN != 0) {
		t[len] = 2; /* interrupt source override */
		t[len + 1] = 10;
		t[len + 2] = 0; /* ISA */
		t[len + 3] = 0; /* IRQ 0 */
		wr32(t + len + 4, BOOT_IRQ0_PIN);
		wr16(t + len + 8, 0); /* conforms to the bus */
		len += 10;
	}
	acpi_header(t, "APIC", (uint32_t)len, 5);
	acpi_finish(t);
	return len;
}

static size_t xsdt_build(uint8_t *t, uint64_t fadt, uint64_t madt)
{
	size_t len = ACPI_HDR_LEN + 16;

	wr64(t + ACPI_HDR_LEN, fadt);
	wr64(t + ACPI_HDR_LEN + 8, madt);
	acpi_header(t, "XSDT", (uint32_t)len, 1);
	acpi_finish(t);
	return len;
}

static void rsdp_build(uint8_t *t, uint64_t xsdt)
{
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, "PODVSR", 6);
	t[15] = 2; /* ACPI 2.0+: use the XSDT */
	wr32(t + 16, 0);
	wr32(t + 20, 36);
	wr64(t + 24, xsdt);
	t[8] = (uint8_t)-boot_checksum(t, 20);
	t[32] = (uint8_t)-boot_checksum(t, 36);
}

/* Upper bound of the tables' size, checked before anything is written. */
static size_t acpi_size_max(unsigned int nr_vcpus)
{
	return 64 + 64 + FADT_LEN + 16 + 512 + 16 + ACPI_HDR_LEN + 8 +
	       8 * nr_vcpus + 12 + 10 + 16;
}

int acpi_build(uint8_t *buf, size_t max, uint64_t addr, unsigned int nr_vcpus)
{
	size_t off = 64, xsdt, fadt, dsdt, madt;

	if (nr_vcpus == 0 || nr_vcpus > 254)
		return -EINVAL;
	if (acpi_size_max(nr_vcpus) > max)
		return -E2BIG;
	memset(buf, 0, acpi_size_max(nr_vcpus));
	xsdt = off;
	off += 64; /* XSDT is 52 bytes */
	dsdt = off;
	off = ALIGN_UP(off + dsdt_build(buf + dsdt), 16);
	fadt = off;
	off = ALIGN_UP(off + fadt_build(buf + fadt, addr + dsdt), 16);
	madt = off;
	off += madt_build(buf + madt, nr_vcpus);
	xsdt_build(buf + xsdt, addr + fadt, addr + madt);
	rsdp_build(buf, addr + xsdt);
	return (int)off;
}
