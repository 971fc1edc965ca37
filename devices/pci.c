// SPDX-License-Identifier: Apache-2.0
/*
 * PCI bus 0 and its host bridge: configuration mechanism #1, masked config
 * space writes, BAR sizing and moves, capability lists (see pci.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/log.h"
#include "podvisor/pci.h"
#include "podvisor/util.h"

#define CFG_ADDR_ENABLE 0x80000000u
#define PCI_PHYS_LIMIT                                                         \
	(1ULL << 46)                 /* keep BARs below any host's MAXPHYADDR  \
	                              */
#define PCI_HOLE_START 0xFEC00000ULL /* IOAPIC, HPET, LAPIC up to 4 GiB */
#define PCI_HOLE_END   0x100000000ULL

void pci_cfg_set_writable(struct pci_dev *d, uint32_t off, uint32_t len)
{
	if (off >= PCI_CFG_SIZE)
		return;
	memset(&d->wmask[off], 0xff, MIN(len, PCI_CFG_SIZE - off));
}

void pci_dev_init(struct pci_dev *dev, const char *name, uint16_t vendor,
                  uint16_t device, uint32_t class_code)
{
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	pci_cfg_set16(dev, PCI_VENDOR_ID, vendor);
	pci_cfg_set16(dev, PCI_DEVICE_ID, device);
	pci_cfg_set8(dev, PCI_CLASS_PROG, (uint8_t)class_code);
	pci_cfg_set16(dev, PCI_CLASS_DEVICE, (uint16_t)(class_code >> 8));
	pci_cfg_set8(dev, PCI_HEADER_TYPE, 0);
	/* No firmware runs, so decode starts enabled the way a BIOS leaves
	 * it: guests may use the pre-assigned BARs straight away. */
	pci_cfg_set16(dev, PCI_COMMAND, PCI_COMMAND_MEMORY);
	dev->wmask[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	dev->wmask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
	/* Error bits of the status register are write-one-to-clear. */
	dev->w1cmask[PCI_STATUS + 1] = 0xf9;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	pci_cfg_set8(dev, PCI_INTERRUPT_PIN, 0);
	dev->cap_next = PCI_CAP_FIRST;
	dev->cap_last = 0;
}

int pci_dev_set_bar(struct pci_dev *dev, unsigned int bar, uint64_t size,
                    bool is64, const struct io_ops *ops, void *opaque)
{
	uint32_t off = PCI_BAR0 + 4 * bar;
	uint64_t mask;

	if (bar >= PCI_NR_BARS || (is64 && bar + 1 >= PCI_NR_BARS) ||
	    size < 4096 || (size & (size - 1)) || (!is64 && size > 1ULL << 31))
		return -EINVAL;
	dev->bars[bar] = (struct pci_bar){
	    .size = size, .is64 = is64, .ops = ops, .opaque = opaque};
	/* Sizing (PCI 3.0 §6.2.5.1): only address bits above the size are
	 * writable, so writing all ones reads back the size mask. */
	mask = ~(size - 1);
	pci_cfg_set32(dev, off, is64 ? PCI_BAR_MEM_64 : 0);
	for (int i = 0; i < 4; i++)
		dev->wmask[off + i] = (uint8_t)((mask & ~0xfULL) >> (8 * i));
	if (is64) {
		pci_cfg_set32(dev, off + 4, 0);
		for (int i = 0; i < 4; i++)
			dev->wmask[off + 4 + i] =
			    (uint8_t)(mask >> (32 + 8 * i));
	}
	return 0;
}

int pci_dev_add_cap(struct pci_dev *dev, uint8_t id, uint8_t len)
{
	uint32_t off = dev->cap_next;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	dev->cfg[off] = id;
	dev->cfg[off + 1] = 0;
	if (dev->cap_last)
		dev->cfg[dev->cap_last + 1] = (uint8_t)off;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->cap_last = (uint8_t)off;
	dev->cap_next = (uint8_t)MIN(ALIGN_UP(off + len, 4u), 0xffu);
	return (int)off;
}

static uint64_t bar_addr(const struct pci_dev *dev, unsigned int bar)
{
	uint32_t off = PCI_BAR0 + 4 * bar;
	uint64_t a = pci_cfg_get32(dev, off) & ~0xfULL;

	if (dev->bars[bar].is64)
		a |= (uint64_t)pci_cfg_get32(dev, off + 4) << 32;
	return a;
}

/* A BAR decodes only at an address that cannot be a sizing pattern and
 * does not cover the interrupt controllers below 4 GiB. */
static bool bar_addr_usable(uint64_t a, uint64_t size)
{
	if (a == 0 || a + size < a || a + size > PCI_PHYS_LIMIT)
		return false;
	return a + size <= PCI_HOLE_START || a >= PCI_HOLE_END;
}

static void bar_update(struct pci_dev *dev, unsigned int i)
{
	struct pci_bar *b = &dev->bars[i];
	struct io_bus *mmio = dev->bus->mmio;
	bool decode = pci_cfg_get16(dev, PCI_COMMAND) & PCI_COMMAND_MEMORY;
	uint64_t a = bar_addr(dev, i);
	bool want = decode && bar_addr_usable(a, b->size);
	int r = 0;

	if (b->mapped && want && a == b->mapped_addr)
		return;
	if (!b->mapped && !want)
		return;
	if (b->mapped && want)
		r = io_bus_move(mmio, b->mapped_addr, a, b->opaque);
	else if (b->mapped)
		r = io_bus_remove(mmio, b->mapped_addr, b->opaque);
	else
		r = io_bus_add(mmio, a, b->size, b->ops, b->opaque);
	if (r < 0 && want && b->mapped) {
		/* The move failed: the old range is still registered. Drop it
		 * so a stale address does not keep decoding. */
		io_bus_remove(mmio, b->mapped_addr, b->opaque);
	}
	if (r < 0 && want) {
		log_warn("pci %02x.0 %s: BAR %u at 0x%llx (%llu bytes) "
		         "overlaps another range; it stays unmapped",
		         dev->slot, dev->name, i, (unsigned long long)a,
		         (unsigned long long)b->size);
		b->mapped = false;
	} else {
		b->mapped = want;
		b->mapped_addr = want ? a : 0;
	}
	if (dev->bar_moved)
		dev->bar_moved(dev, i, b->mapped, b->mapped_addr);
}

static void dev_update_bars(struct pci_dev *dev)
{
	for (unsigned int i = 0; i < PCI_NR_BARS; i++)
		if (dev->bars[i].size)
			bar_update(dev, i);
}

static void dev_unmap_bars(struct pci_dev *dev)
{
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];

		if (!b->size || !b->mapped)
			continue;
		io_bus_remove(dev->bus->mmio, b->mapped_addr, b->opaque);
		b->mapped = false;
		if (dev->bar_moved)
			dev->bar_moved(dev, i, false, 0);
	}
}

static struct pci_dev *cfg_target(struct pci_bus *bus, uint32_t *off,
                                  unsigned int port_off, uint32_t *len)
{
	uint32_t a = bus->config_addr;
	unsigned int slot = (a >> 11) & 0x1f;

	if (!(a & CFG_ADDR_ENABLE) || ((a >> 16) & 0xff) != 0 ||
	    ((a >> 8) & 0x7) != 0)
		return NULL;
	*off = (a & 0xfc) + (port_off & 3);
	/* An access may not run past the dword the address selects. */
	*len = MIN(*len, 4 - (port_off & 3));
	return bus->devs[slot];
}

void pci_bus_config_addr_write(struct pci_bus *bus, uint32_t val)
{
	pthread_mutex_lock(&bus->lock);
	bus->config_addr = val & ~3u;
	pthread_mutex_unlock(&bus->lock);
}

uint32_t pci_bus_config_read(struct pci_bus *bus, unsigned int port_off,
                             uint32_t len)
{
	struct pci_dev *dev;
	uint32_t off, v = 0;

	if (len != 1 && len != 2 && len != 4)
		return 0xffffffff;
	pthread_mutex_lock(&bus->lock);
	dev = cfg_target(bus, &off, port_off, &len);
	if (!dev) {
		pthread_mutex_unlock(&bus->lock);
		return len == 4 ? 0xffffffff : (1u << (8 * len)) - 1;
	}
	if (dev->cfg_read)
		dev->cfg_read(dev, off, len);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint32_t)dev->cfg[off + i] << (8 * i);
	pthread_mutex_unlock(&bus->lock);
	return v;
}

void pci_bus_config_write(struct pci_bus *bus, unsigned int port_off,
                          uint32_t len, uint32_t val)
{
	struct pci_dev *dev;
	uint32_t off;

	if (len != 1 && len != 2 && len != 4)
		return;
	pthread_mutex_lock(&bus->lock);
	dev = cfg_target(bus, &off, port_off, &len);
	if (!dev) {
		pthread_mutex_unlock(&bus->lock);
		return;
	}
	for (uint32_t i = 0; i < len; i++) {
		uint8_t b = (uint8_t)(val >> (8 * i));
		uint8_t m = dev->wmask[off + i];
		uint8_t *c = &dev->cfg[off + i];

		*c = (uint8_t)((*c & ~m) | (b & m));
		*c &= (uint8_t) ~(b & dev->w1cmask[off + i]);
	}
	if ((off < PCI_COMMAND + 2 && off + len > PCI_COMMAND) ||
	    (off < PCI_BAR0 + 24 && off + len > PCI_BAR0))
		dev_update_bars(dev);
	if (dev->cfg_write)
		dev->cfg_write(dev, off, len);
	pthread_mutex_unlock(&bus->lock);
}

static void cf8_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	uint32_t v;

	if (off < 4) {
		pthread_mutex_lock(&bus->lock);
		v = bus->config_addr >> (8 * off);
		pthread_mutex_unlock(&bus->lock);
	} else {
		v = pci_bus_config_read(bus, (unsigned int)off - 4, len);
	}
	memcpy(data, &v, MIN(len, 4u));
}

static void cf8_write(void *opaque, uint64_t off, const void *data,
                      uint32_t len)
{
	struct pci_bus *bus = opaque;
	uint32_t v = 0;

	memcpy(&v, data, MIN(len, 4u));
	if (off < 4) {
		/* Only a dword write to 0xCF8 is a config address (byte
		 * writes to 0xCF9 are the reset control register). */
		if (off == 0 && len == 4)
			pci_bus_config_addr_write(bus, v);
		return;
	}
	pci_bus_config_write(bus, (unsigned int)off - 4, len, v);
}

static const struct io_ops cf8_ops = {
    .read = cf8_read,
    .write = cf8_write,
};

struct pci_bus *pci_bus_create(struct io_bus *pio, struct io_bus *mmio)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));
	int r;

	if (!bus)
		return NULL;
	bus->mmio = mmio;
	bus->mmio_next = PCI_MMIO_BASE;
	pthread_mutex_init(&bus->lock, NULL);
	pci_dev_init(&bus->host, "host-bridge", PCI_HOST_VENDOR,
	             PCI_HOST_DEVICE, 0x060000);
	bus->host.bus = bus;
	bus->devs[0] = &bus->host;
	if (pio) {
		r = io_bus_add(pio, PCI_CONFIG_ADDR_PORT, 8, &cf8_ops, bus);
		if (r < 0) {
			log_err_errno(r, "pci: cannot claim ports 0xcf8-0xcff");
			pthread_mutex_destroy(&bus->lock);
			free(bus);
			errno = -r;
			return NULL;
		}
		bus->pio = pio;
	}
	return bus;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus)
		return;
	for (unsigned int s = 1; s < PCI_MAX_SLOTS; s++)
		if (bus->devs[s])
			pci_bus_remove_dev(bus, bus->devs[s]);
	if (bus->pio)
		io_bus_remove(bus->pio, PCI_CONFIG_ADDR_PORT, bus);
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

static int dev_alloc_bars(struct pci_bus *bus, struct pci_dev *dev)
{
	uint64_t next = bus->mmio_next;

	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bars[i];
		uint32_t off = PCI_BAR0 + 4 * i;
		uint64_t a;

		if (!b->size)
			continue;
		a = ALIGN_UP(next, b->size);
		if (a + b->size > PCI_MMIO_END)
			return log_err_errno(ENOSPC,
			                     "pci %s: no room for a %llu-byte "
			                     "BAR in the MMIO window",
			                     dev->name,
			                     (unsigned long long)b->size);
		pci_cfg_set32(dev, off,
		              (uint32_t)a | (b->is64 ? PCI_BAR_MEM_64 : 0));
		if (b->is64)
			pci_cfg_set32(dev, off + 4, (uint32_t)(a >> 32));
		b->addr = a;
		next = a + b->size;
	}
	bus->mmio_next = next;
	return 0;
}

int pci_bus_add_dev(struct pci_bus *bus, struct pci_dev *dev, unsigned int slot)
{
	int r;

	if (slot == 0 || slot >= PCI_MAX_SLOTS)
		return -EINVAL;
	pthread_mutex_lock(&bus->lock);
	if (bus->devs[slot]) {
		pthread_mutex_unlock(&bus->lock);
		return log_err_errno(EBUSY, "pci: slot %u is taken by %s", slot,
		                     bus->devs[slot]->name);
	}
	dev->bus = bus;
	dev->slot = slot;
	r = dev_alloc_bars(bus, dev);
	if (r == 0) {
		bus->devs[slot] = dev;
		dev_update_bars(dev);
		log_debug("pci 00:%02x.0 %s: %04x:%04x", slot, dev->name,
		          pci_cfg_get16(dev, PCI_VENDOR_ID),
		          pci_cfg_get16(dev, PCI_DEVICE_ID));
	}
	pthread_mutex_unlock(&bus->lock);
	return r;
}

void pci_bus_remove_dev(struct pci_bus *bus, struct pci_dev *dev)
{
	pthread_mutex_lock(&bus->lock);
	if (dev->slot < PCI_MAX_SLOTS && bus->devs[dev->slot] == dev) {
		dev_unmap_bars(dev);
		bus->devs[dev->slot] = NULL;
	}
	pthread_mutex_unlock(&bus->lock);
}
