// SPDX-License-Identifier: Apache-2.0
/* PCI bus 0 through the 0xCF8/0xCFC ports, as a guest sees it. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "fake_vm.h"
#include "podvisor/pci.h"

static struct vm *vm;
static unsigned int bar_reads;

static void bar_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	uint32_t v = 0xab000000u | (uint32_t)off;

	bar_reads++;
	memcpy(data, &v, len < 4 ? len : 4);
}

static const struct io_ops bar_ops = {.read = bar_read};

struct test_dev {
	struct pci_dev pci;
	unsigned int moves;
	bool last_mapped;
	uint64_t last_addr;
};

static void on_bar_moved(struct pci_dev *dev, unsigned int bar, bool mapped,
                         uint64_t addr)
{
	struct test_dev *t = dev->priv;

	t->moves++;
	t->last_mapped = mapped;
	t->last_addr = addr;
}

static struct test_dev dev32, dev64;

static void setup(void)
{
	vm = fake_vm_create(1 << 20);
	memset(&dev32, 0, sizeof(dev32));
	memset(&dev64, 0, sizeof(dev64));
	pci_dev_init(&dev32.pci, "t32", 0x1234, 0x5678, 0x020000);
	ck_assert_int_eq(
	    pci_dev_set_bar(&dev32.pci, 0, 0x1000, false, &bar_ops, &dev32), 0);
	dev32.pci.priv = &dev32;
	dev32.pci.bar_moved = on_bar_moved;
	pci_dev_init(&dev64.pci, "t64", 0x1af4, 0x1042, 0x018000);
	ck_assert_int_eq(
	    pci_dev_set_bar(&dev64.pci, 2, 0x8000, true, &bar_ops, &dev64), 0);
	dev64.pci.priv = &dev64;
	dev64.pci.bar_moved = on_bar_moved;
	ck_assert_int_eq(pci_bus_add_dev(vm->pci, &dev32.pci, 1), 0);
	ck_assert_int_eq(pci_bus_add_dev(vm->pci, &dev64.pci, 3), 0);
}

static void teardown(void)
{
	fake_vm_destroy(vm);
}

START_TEST(test_host_bridge_ids)
{
	ck_assert_uint_eq(fake_cfg_read(vm, 0, 0, 4), 0x0d578086);
	ck_assert_uint_eq(fake_cfg_read(vm, 0, 0x0a, 2), 0x0600);
	ck_assert_uint_eq(fake_cfg_read(vm, 0, 0x0e, 1), 0);
	/* Word and byte reads inside the dword. */
	ck_assert_uint_eq(fake_cfg_read(vm, 0, 2, 2), 0x0d57);
	ck_assert_uint_eq(fake_cfg_read(vm, 0, 1, 1), 0x80);
}
END_TEST

START_TEST(test_absent_slots_read_all_ones)
{
	ck_assert_uint_eq(fake_cfg_read(vm, 2, 0, 4), 0xffffffff);
	ck_assert_uint_eq(fake_cfg_read(vm, 31, 0, 2), 0xffff);
	ck_assert_uint_eq(fake_cfg_read(vm, 2, 0, 1), 0xff);
	/* Function 1 of a present slot is absent too. */
	uint32_t a = 0x80000000u | 1 << 11 | 1 << 8;
	uint32_t v = 0;

	io_bus_access(&vm->pio, 0xcf8, &a, 4, true);
	io_bus_access(&vm->pio, 0xcfc, &v, 4, false);
	ck_assert_uint_eq(v, 0xffffffff);
	/* Enable bit clear: nothing decodes. */
	a = 1 << 11;
	io_bus_access(&vm->pio, 0xcf8, &a, 4, true);
	io_bus_access(&vm->pio, 0xcfc, &v, 4, false);
	ck_assert_uint_eq(v, 0xffffffff);
}
END_TEST

START_TEST(test_ids_are_read_only)
{
	fake_cfg_write(vm, 1, 0, 4, 0);
	ck_assert_uint_eq(fake_cfg_read(vm, 1, 0, 4), 0x56781234);
	fake_cfg_write(vm, 1, 0x08, 4, 0xffffffff);
	ck_assert_uint_eq(fake_cfg_read(vm, 1, 0x0a, 2), 0x0200);
	/* Interrupt line is scratch, pin stays 0 (no INTx). */
	fake_cfg_write(vm, 1, 0x3c, 2, 0xffff);
	ck_assert_uint_eq(fake_cfg_read(vm, 1, 0x3c, 1), 0xff);
	ck_assert_uint_eq(fake_cfg_read(vm, 1, 0x3d, 1), 0);
}
END_TEST

START_TEST(test_bar32_sizing_and_move)
{
	uint32_t orig = fake_cfg_read(vm, 1, 0x10, 4);

	ck_assert_uint_eq(orig, 0xc0000000);
	ck_assert_uint_eq(fake_mmio_read(vm, orig + 0x10, 4), 0xab000010);
	/* Sizing with decode off, as Linux does it. */
	fake_cfg_write(vm, 1, 0x04, 2, 0);
	ck_assert(!dev32.last_mapped);
	ck_assert_uint_eq(fake_mmio_read(vm, orig, 4), 0xffffffff);
	fake_cfg_write(vm, 1, 0x10, 4, 0xffffffff);
	ck_assert_uint_eq(fake_cfg_read(vm, 1, 0x10, 4), 0xfffff000);
	fake_cfg_write(vm, 1, 0x10, 4, 0xd0000000);
	fake_cfg_write(vm, 1, 0x04, 2, PCI_COMMAND_MEMORY);
	ck_assert(dev32.last_mapped);
	ck_assert_uint_eq(dev32.last_addr, 0xd0000000);
	ck_assert_uint_eq(fake_mmio_read(vm, 0xd0000004, 4), 0xab000004);
	ck_assert_uint_eq(fake_mmio_read(vm, orig + 4, 4), 0xffffffff);
	/* Moving with decode on re-registers at once. */
	fake_cfg_write(vm, 1, 0x10, 4, 0xd0010000);
	ck_assert_uint_eq(fake_mmio_read(vm, 0xd0010008, 4), 0xab000008);
	ck_assert_uint_eq(fake_mmio_read(vm, 0xd0000008, 4), 0xffffffff);
}
END_TEST

START_TEST(test_bar64_sizing)
{
	ck_assert_uint_eq(fake_cfg_read(vm, 3, 0x18, 4), 0xc0008004);
	ck_assert_uint_eq(fake_cfg_read(vm, 3, 0x1c, 4), 0);
	/* BAR 0 and 1 of this device are unused: they read 0, stay 0. */
	fake_cfg_write(vm, 3, 0x10, 4, 0xffffffff);
	ck_assert_uint_eq(fake_cfg_read(vm, 3, 0x10, 4), 0);
	fake_cfg_write(vm, 3, 0x04, 2, 0);
	fake_cfg_write(vm, 3, 0x18, 4, 0xffffffff);
	fake_cfg_write(vm, 3, 0x1c, 4, 0xffffffff);
	ck_assert_uint_eq(fake_cfg_read(vm, 3, 0x18, 4), 0xffff8004);
	ck_assert_uint_eq(fake_cfg_read(vm, 3, 0x1c, 4), 0xffffffff);
	/* Place it above 4 GiB. */
	fake_cfg_write(vm, 3, 0x18, 4, 0x00000000);
	fake_cfg_write(vm, 3, 0x1c, 4, 0x00000008);
	fake_cfg_write(vm, 3, 0x04, 2, PCI_COMMAND_MEMORY);
	ck_assert(dev64.last_mapped);
	ck_assert_uint_eq(dev64.last_addr, 0x800000000ULL);
	ck_assert_uint_eq(fake_mmio_read(vm, 0x800000020ULL, 4), 0xab000020);
}
END_TEST

START_TEST(test_sizing_pattern_with_decode_on_does_not_map)
{
	unsigned int moves = dev32.moves;

	fake_cfg_write(vm, 1, 0x10, 4, 0xffffffff);
	ck_assert_uint_eq(dev32.moves, moves + 1);
	ck_assert(!dev32.last_mapped);
	fake_cfg_write(vm, 1, 0x10, 4, 0xc0000000);
	ck_assert(dev32.last_mapped);
	ck_assert_uint_eq(fake_mmio_read(vm, 0xc0000000, 4), 0xab000000);
}
END_TEST

START_TEST(test_overlapping_bar_stays_unmapped)
{
	/* Point dev32's BAR into dev64's: the bus refuses, no crash. */
	fake_cfg_write(vm, 1, 0x10, 4, 0xc0008000);
	ck_assert(!dev32.last_mapped);
	ck_assert_uint_eq(fake_mmio_read(vm, 0xc0008000, 4), 0xab000000);
}
END_TEST

START_TEST(test_capability_chain)
{
	struct pci_dev d;
	int a, b;

	memset(&d, 0, sizeof(d));
	pci_dev_init(&d, "caps", 1, 2, 0);
	a = pci_dev_add_cap(&d, PCI_CAP_ID_MSIX, 12);
	b = pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, 17);
	ck_assert_int_eq(a, 0x40);
	ck_assert_int_eq(b, 0x4c);
	ck_assert_int_eq(pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, 16), 0x60);
	ck_assert_int_eq(pci_dev_add_cap(&d, PCI_CAP_ID_VNDR, 200), -ENOSPC);
	ck_assert_int_eq(pci_bus_add_dev(vm->pci, &d, 5), 0);

	/* Walk it the way a guest does. */
	ck_assert(fake_cfg_read(vm, 5, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	uint8_t ids[8], n = 0;
	for (uint32_t p = fake_cfg_read(vm, 5, 0x34, 1); p && n < 8;
	     p = fake_cfg_read(vm, 5, p + 1, 1))
		ids[n++] = (uint8_t)fake_cfg_read(vm, 5, p, 1);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(ids[0], PCI_CAP_ID_MSIX);
	ck_assert_uint_eq(ids[1], PCI_CAP_ID_VNDR);
	ck_assert_uint_eq(ids[2], PCI_CAP_ID_VNDR);
	/* The list is read-only. */
	fake_cfg_write(vm, 5, 0x34, 1, 0);
	ck_assert_uint_eq(fake_cfg_read(vm, 5, 0x34, 1), 0x40);
	ck_assert_int_eq(pci_bus_add_dev(vm->pci, &d, 5), -EBUSY);
	pci_bus_remove_dev(vm->pci, &d);
	ck_assert_uint_eq(fake_cfg_read(vm, 5, 0, 4), 0xffffffff);
}
END_TEST

START_TEST(test_bad_bar_declarations)
{
	struct pci_dev d;

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(pci_dev_set_bar(&d, 0, 0x1800, false, &bar_ops, 0),
	                 -EINVAL);
	ck_assert_int_eq(pci_dev_set_bar(&d, 5, 0x1000, true, &bar_ops, 0),
	                 -EINVAL);
	ck_assert_int_eq(pci_dev_set_bar(&d, 6, 0x1000, false, &bar_ops, 0),
	                 -EINVAL);
	ck_assert_int_eq(pci_dev_set_bar(&d, 0, 0x800, false, &bar_ops, 0),
	                 -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pci");
	TCase *tc = tcase_create("config");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_host_bridge_ids);
	tcase_add_test(tc, test_absent_slots_read_all_ones);
	tcase_add_test(tc, test_ids_are_read_only);
	tcase_add_test(tc, test_bar32_sizing_and_move);
	tcase_add_test(tc, test_bar64_sizing);
	tcase_add_test(tc, test_sizing_pattern_with_decode_on_does_not_map);
	tcase_add_test(tc, test_overlapping_bar_stays_unmapped);
	tcase_add_test(tc, test_capability_chain);
	tcase_add_test(tc, test_bad_bar_declarations);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
