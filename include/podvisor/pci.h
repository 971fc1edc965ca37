/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PCI bus 0 behind a host bridge at 00:00.0, reached through configuration
 * mechanism #1 (address port 0xCF8, data ports 0xCFC-0xCFF; PCI Local Bus
 * 3.0 §3.2.2.3.2). One function per slot, 256 bytes of configuration space
 * each, with per-byte write masks so read-only fields (ids, class, capability
 * pointers) stay read-only and status bits are write-one-to-clear.
 *
 * BARs are memory BARs only (32- or 64-bit), allocated naturally aligned from
 * the MMIO window [PCI_MMIO_BASE, PCI_MMIO_END) in the 32-bit gap, and
 * programmed before the guest starts (there is no firmware). A BAR is live on
 * the MMIO bus while the command register's memory-space bit is set and the
 * address is not a sizing pattern; guest reprogramming moves the range and
 * calls the device's bar_moved hook (virtio-pci moves its ioeventfds there).
 *
 * No INTx: interrupt pin is 0 for every device; they interrupt through MSI-X.
 *
 * Threads: config accesses come from vCPU threads; the bus lock serialises
 * them. Device hooks run with the bus lock held and must not call back into
 * the bus.
 */
#ifndef PODVISOR_PCI_H
#define PODVISOR_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "podvisor/iobus.h"

#define PCI_CONFIG_ADDR_PORT 0xCF8
#define PCI_CONFIG_DATA_PORT 0xCFC
#define PCI_MMIO_BASE        0xC0000000ULL
#define PCI_MMIO_END         0xFEC00000ULL /* IOAPIC */
#define PCI_MAX_SLOTS        32
#define PCI_CFG_SIZE         256
#define PCI_NR_BARS          6

/* Host bridge ids (an Intel-style host bridge, class 06:00:00). */
#define PCI_HOST_VENDOR 0x8086
#define PCI_HOST_DEVICE 0x0d57

/* Standard header offsets (type 0). */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_CLASS_DEVICE        0x0a
#define PCI_HEADER_TYPE         0x0e
#define PCI_BAR0                0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d

#define PCI_COMMAND_IO           0x1
#define PCI_COMMAND_MEMORY       0x2
#define PCI_COMMAND_MASTER       0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS_CAP_LIST      0x10

#define PCI_BAR_MEM_64   0x4
#define PCI_BAR_PREFETCH 0x8
#define PCI_CAP_ID_VNDR  0x09
#define PCI_CAP_ID_MSIX  0x11
#define PCI_CAP_FIRST    0x40

struct pci_dev;
struct pci_bus;

struct pci_bar {
	uint64_t size; /* power of two >= 4 KiB; 0: BAR unused */
	uint64_t addr; /* address programmed in the BAR */
	bool is64;     /* 64-bit memory BAR: uses the next BAR slot too */
	bool mapped;   /* registered on the MMIO bus at mapped_addr */
	uint64_t mapped_addr;
	const struct io_ops *ops;
	void *opaque;
};

struct pci_dev {
	struct pci_bus *bus;
	unsigned int slot;
	char name[32]; /* for logs, e.g. "virtio-blk0" */
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];   /* bits the guest may write */
	uint8_t w1cmask[PCI_CFG_SIZE]; /* bits a written 1 clears */
	struct pci_bar bars[PCI_NR_BARS];
	uint8_t cap_next; /* where pci_dev_add_cap puts the next capability */
	uint8_t cap_last; /* offset of the last capability, 0: none */

	/* Optional hooks, called with the bus lock held. */
	/* After the standard write handling of [off, off + len). */
	void (*cfg_write)(struct pci_dev *dev, uint32_t off, uint32_t len);
	/* Before a read of [off, off + len): may refresh dev->cfg. */
	void (*cfg_read)(struct pci_dev *dev, uint32_t off, uint32_t len);
	/* A BAR was mapped (mapped true, at new_addr) or unmapped. */
	void (*bar_moved)(struct pci_dev *dev, unsigned int bar, bool mapped,
	                  uint64_t new_addr);
	void *priv;
};

struct pci_bus {
	struct io_bus *mmio;
	struct io_bus *pio; /* NULL when the ports were not registered */
	pthread_mutex_t lock;
	uint32_t config_addr; /* last value written to 0xCF8 */
	uint64_t mmio_next;   /* allocation cursor in the MMIO window */
	struct pci_dev host;
	struct pci_dev *devs[PCI_MAX_SLOTS];
};

/*
 * Creates bus 0 with the host bridge at slot 0 and claims ports 0xCF8-0xCFF
 * on pio (when pio is not NULL; tests drive pci_bus_config_* directly).
 * Returns the bus or NULL with errno set.
 */
struct pci_bus *pci_bus_create(struct io_bus *pio, struct io_bus *mmio);

/* Unmaps every BAR, releases the ports; devices themselves belong to their
 * owners. Accepts NULL. */
void pci_bus_destroy(struct pci_bus *bus);

/*
 * Prepares dev (caller-owned, zeroed first by the caller) with its ids:
 * header type 0, memory decode enabled, no INTx (pin 0), empty capability
 * list. Fields not set here (subsystem ids, revision) may be stored with
 * pci_cfg_set16()/pci_cfg_set8() before pci_bus_add_dev().
 */
void pci_dev_init(struct pci_dev *dev, const char *name, uint16_t vendor,
                  uint16_t device, uint32_t class_code);

/*
 * Declares BAR bar as a memory BAR of size bytes (power of two, >= 4 KiB)
 * served by ops/opaque. A 64-bit BAR occupies bar and bar + 1. The address
 * is chosen by pci_bus_add_dev(). Returns 0 or -EINVAL.
 */
int pci_dev_set_bar(struct pci_dev *dev, unsigned int bar, uint64_t size,
                    bool is64, const struct io_ops *ops, void *opaque);

/*
 * Appends a capability of len bytes (len >= 2) with the given id, links it
 * into the list and returns its offset in configuration space, or -ENOSPC.
 * The caller fills bytes 2.. and their write masks afterwards.
 */
int pci_dev_add_cap(struct pci_dev *dev, uint8_t id, uint8_t len);

/*
 * Places dev at slot (1..31; 0 is the host bridge), allocates its BARs in the
 * MMIO window and maps them. Returns 0, -EBUSY when the slot is taken,
 * -ENOSPC when the window is full, or the MMIO bus's error.
 */
int pci_bus_add_dev(struct pci_bus *bus, struct pci_dev *dev,
                    unsigned int slot);

/* Unmaps dev's BARs and frees its slot. */
void pci_bus_remove_dev(struct pci_bus *bus, struct pci_dev *dev);

/*
 * Configuration mechanism #1: the 0xCF8 register and a data access of len
 * (1, 2, 4) at port 0xCFC + port_off. Reads of absent functions return all
 * ones. Exposed for unit tests; the port handlers call these.
 */
void pci_bus_config_addr_write(struct pci_bus *bus, uint32_t val);
uint32_t pci_bus_config_read(struct pci_bus *bus, unsigned int port_off,
                             uint32_t len);
void pci_bus_config_write(struct pci_bus *bus, unsigned int port_off,
                          uint32_t len, uint32_t val);

/* Little-endian accessors for dev->cfg (no masks applied). */
static inline void pci_cfg_set8(struct pci_dev *d, uint32_t off, uint8_t v)
{
	d->cfg[off] = v;
}

static inline void pci_cfg_set16(struct pci_dev *d, uint32_t off, uint16_t v)
{
	d->cfg[off] = (uint8_t)v;
	d->cfg[off + 1] = (uint8_t)(v >> 8);
}

static inline void pci_cfg_set32(struct pci_dev *d, uint32_t off, uint32_t v)
{
	pci_cfg_set16(d, off, (uint16_t)v);
	pci_cfg_set16(d, off + 2, (uint16_t)(v >> 16));
}

static inline uint16_t pci_cfg_get16(const struct pci_dev *d, uint32_t off)
{
	return (uint16_t)(d->cfg[off] | d->cfg[off + 1] << 8);
}

static inline uint32_t pci_cfg_get32(const struct pci_dev *d, uint32_t off)
{
	return pci_cfg_get16(d, off) | (uint32_t)pci_cfg_get16(d, off + 2)
	                                   << 16;
}

/* Sets the write mask of [off, off + len) to all ones (writable). */
void pci_cfg_set_writable(struct pci_dev *d, uint32_t off, uint32_t len);

#endif
