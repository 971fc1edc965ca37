// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-pci transport as a guest driver sees it, with virtio-rng as
 * the device: ids and capabilities, feature negotiation, MSI-X table and
 * masking (checked against the recorded KVM calls), ioeventfds, reset, and
 * a hostile ring turning the device NEEDS_RESET.
 */
#include <check.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "fake_driver.h"
#include "fake_vm.h"
#include "podvisor/pci.h"
#include "podvisor/virtio.h"

#define SLOT 10
#define RING 0x10000
#define BUF  0x40000

static struct vm *vm;
static struct drv d;

static void setup(void)
{
	vm = fake_vm_create(1 << 20);
	ck_assert_int_eq(virtio_rng_create(vm, SLOT), 0);
	ck_assert_int_eq(drv_probe(&d, vm, SLOT), 0);
}

static void teardown(void)
{
	struct virtio_dev *vdev = virtio_dev_at_slot(vm, SLOT);

	if (vdev)
		virtio_dev_destroy(vdev);
	fake_vm_destroy(vm);
}

static struct virtio_dev *vdev(void)
{
	return virtio_dev_at_slot(vm, SLOT);
}

static void start(void)
{
	ck_assert_uint_eq(drv_negotiate(&d, 0), 0xb);
	drv_setup_queue(&d, 0, 16, RING);
	drv_driver_ok(&d);
	ck_assert_uint_eq(drv_status(&d), 0xf);
}

START_TEST(test_ids_and_bar)
{
	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, 0, 4), 0x10441af4);
	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, PCI_REVISION_ID, 1), 1);
	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, PCI_SUBSYSTEM_VENDOR_ID, 2),
	                  0x1af4);
	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, PCI_INTERRUPT_PIN, 1), 0);
	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, 0x10, 4) & 0xf,
	                  PCI_BAR_MEM_64);
	ck_assert_uint_ge(d.bar, PCI_MMIO_BASE);
	ck_assert_uint_eq(d.bar % VIRTIO_PCI_BAR_SIZE, 0);
	/* Sizing reads back 32 KiB. */
	fake_cfg_write(vm, SLOT, 0x10, 4, 0xffffffff);
	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, 0x10, 4),
	                  (uint32_t) ~(VIRTIO_PCI_BAR_SIZE - 1) | 4);
}
END_TEST

START_TEST(test_capabilities)
{
	unsigned int seen = 0, n = 0;
	bool msix = false;

	for (uint32_t p = fake_cfg_read(vm, SLOT, 0x34, 1); p && n < 16;
	     p = fake_cfg_read(vm, SLOT, p + 1, 1), n++) {
		uint32_t id = fake_cfg_read(vm, SLOT, p, 1);

		if (id == PCI_CAP_ID_MSIX) {
			msix = true;
			/* Table size nr_queues + 1 = 2, table and PBA in BAR 0.
			 */
			ck_assert_uint_eq(
			    fake_cfg_read(vm, SLOT, p + 2, 2) & 0x7ff, 1);
			ck_assert_uint_eq(fake_cfg_read(vm, SLOT, p + 4, 4),
			                  VIRTIO_PCI_MSIX_OFF);
			ck_assert_uint_eq(fake_cfg_read(vm, SLOT, p + 8, 4),
			                  VIRTIO_PCI_PBA_OFF);
			continue;
		}
		ck_assert_uint_eq(id, PCI_CAP_ID_VNDR);
		uint32_t type = fake_cfg_read(vm, SLOT, p + 3, 1);
		seen |= 1u << type;
		ck_assert_uint_eq(fake_cfg_read(vm, SLOT, p + 4, 1), 0);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			ck_assert_uint_eq(fake_cfg_read(vm, SLOT, p + 8, 4),
			                  VIRTIO_PCI_NOTIFY_OFF);
			ck_assert_uint_eq(fake_cfg_read(vm, SLOT, p + 16, 4),
			                  4);
		}
		if (type == VIRTIO_PCI_CAP_COMMON_CFG)
			ck_assert_uint_eq(fake_cfg_read(vm, SLOT, p + 12, 4),
			                  VIRTIO_PCI_COMMON_SIZE);
	}
	ck_assert(msix);
	/* COMMON, NOTIFY, ISR, PCI_CFG (rng has no device config). */
	ck_assert_uint_eq(seen, 1u << 1 | 1u << 2 | 1u << 3 | 1u << 5);
}
END_TEST

START_TEST(test_version_1_required)
{
	/* A legacy-only driver: accepts nothing, sets FEATURES_OK. */
	drv_common_write(&d, VIRTIO_PCI_COMMON_STATUS, 1, 3);
	drv_common_write(&d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	drv_common_write(&d, VIRTIO_PCI_COMMON_GF, 4, 0);
	drv_common_write(&d, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	ck_assert_uint_eq(drv_status(&d) & VIRTIO_STATUS_FEATURES_OK, 0);
	/* Offered bits: VERSION_1 in the high word. */
	drv_common_write(&d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	ck_assert_uint_eq(drv_common_read(&d, VIRTIO_PCI_COMMON_DF, 4) & 1, 1);
	ck_assert_uint_eq(drv_common_read(&d, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
}
END_TEST

START_TEST(test_unoffered_feature_refused)
{
	drv_common_write(&d, VIRTIO_PCI_COMMON_STATUS, 1, 3);
	drv_common_write(&d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	drv_common_write(&d, VIRTIO_PCI_COMMON_GF, 4, 1 | 1 << 2); /* PACKED */
	drv_common_write(&d, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	ck_assert_uint_eq(drv_status(&d) & VIRTIO_STATUS_FEATURES_OK, 0);
}
END_TEST

START_TEST(test_rng_fills_buffer_and_interrupts)
{
	struct drv_buf b = {BUF, 64, true};
	uint32_t id, len;
	uint8_t zero[64] = {0};
	struct virtio_dev *v = vdev();
	uint64_t n = 0;

	start();
	/* Queue 0 -> vector 1: a route and an irqfd on its GSI. */
	ck_assert_int_ge(v->msix[1].gsi, 24);
	ck_assert_uint_eq(fake_irqfds_on((uint32_t)v->msix[1].gsi), 1);
	ck_assert_uint_eq(fake_kvm.route_data[v->msix[1].gsi - 24], 0x41);
	/* An ioeventfd watches the queue's notify address. */
	ck_assert_uint_eq(fake_kvm.nr_ioeventfds, 1);
	ck_assert_uint_eq(fake_kvm.ioeventfds[0].addr,
	                  d.bar + VIRTIO_PCI_NOTIFY_OFF);

	drv_submit(&d, 0, &b, 1, true);
	ck_assert(drv_get_used(&d, 0, &id, &len));
	ck_assert_uint_eq(id, 0);
	ck_assert_uint_eq(len, 64);
	ck_assert(memcmp(fake_gpa(vm, BUF), zero, 64) != 0);
	ck_assert_int_eq(read(v->queues[0].call_fd, &n, 8), 8);
	ck_assert_uint_eq(n, 1);
	/* ISR says "queue" and reading it clears it. */
	ck_assert_uint_eq(fake_mmio_read(vm, d.bar + VIRTIO_PCI_ISR_OFF, 1), 1);
	ck_assert_uint_eq(fake_mmio_read(vm, d.bar + VIRTIO_PCI_ISR_OFF, 1), 0);
}
END_TEST

START_TEST(test_msix_masking)
{
	struct virtio_dev *v = vdev();
	uint64_t e1 = d.bar + VIRTIO_PCI_MSIX_OFF + 16;
	int gsi;

	start();
	gsi = v->msix[1].gsi;
	ck_assert_uint_eq(fake_irqfds_on((uint32_t)gsi), 1);
	/* Mask vector 1: irqfd unbound, signals become pending. */
	fake_mmio_write(vm, e1 + 12, 4, 1);
	ck_assert_uint_eq(fake_irqfds_on((uint32_t)gsi), 0);
	ck_assert_uint_eq(fake_mmio_read(vm, e1 + 12, 4), 1);
	struct drv_buf b = {BUF, 8, true};
	uint32_t id, len;

	drv_submit(&d, 0, &b, 1, true);
	ck_assert(drv_get_used(&d, 0, &id, &len));
	ck_assert_uint_eq(fake_mmio_read(vm, d.bar + VIRTIO_PCI_PBA_OFF, 4), 2);
	/* New address/data while masked, then unmask: route updated, bound,
	 * pending cleared (KVM injects the queued count at bind). */
	unsigned int updates = fake_kvm.routes_updated;

	fake_mmio_write(vm, e1 + 8, 4, 0x77);
	fake_mmio_write(vm, e1 + 12, 4, 0);
	ck_assert_uint_eq(fake_kvm.routes_updated, updates + 1);
	/* Mask and unmask with the same message: no recommit. */
	fake_mmio_write(vm, e1 + 12, 4, 1);
	fake_mmio_write(vm, e1 + 12, 4, 0);
	ck_assert_uint_eq(fake_kvm.routes_updated, updates + 1);
	ck_assert_uint_eq(fake_irqfds_on((uint32_t)gsi), 1);
	ck_assert_uint_eq(fake_kvm.route_data[gsi - 24], 0x77);
	ck_assert_uint_eq(fake_mmio_read(vm, d.bar + VIRTIO_PCI_PBA_OFF, 4), 0);
	/* Function mask in the capability unbinds everything. */
	fake_cfg_write(vm, SLOT, 0x42, 2, 0xc000);
	ck_assert_uint_eq(fake_irqfds_on((uint32_t)gsi), 0);
	fake_cfg_write(vm, SLOT, 0x42, 2, 0x8000);
	ck_assert_uint_eq(fake_irqfds_on((uint32_t)gsi), 1);
	/* MSI-X disabled: nothing bound. */
	fake_cfg_write(vm, SLOT, 0x42, 2, 0);
	ck_assert_uint_eq(fake_irqfds_on((uint32_t)gsi), 0);
}
END_TEST

START_TEST(test_bad_vector_reads_no_vector)
{
	start();
	drv_common_write(&d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	drv_common_write(&d, VIRTIO_PCI_COMMON_Q_MSIX, 2, 9);
	ck_assert_uint_eq(drv_common_read(&d, VIRTIO_PCI_COMMON_Q_MSIX, 2),
	                  VIRTIO_MSI_NO_VECTOR);
	/* A queue that does not exist reads size 0. */
	drv_common_write(&d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 5);
	ck_assert_uint_eq(drv_common_read(&d, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
}
END_TEST

START_TEST(test_reset_drops_kvm_bindings)
{
	start();
	ck_assert_uint_eq(fake_kvm.nr_ioeventfds, 1);
	ck_assert_uint_eq(fake_kvm.nr_irqfds, 1);
	drv_common_write(&d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	ck_assert_uint_eq(drv_status(&d), 0);
	ck_assert_uint_eq(fake_kvm.nr_ioeventfds, 0);
	ck_assert_uint_eq(fake_kvm.nr_irqfds, 0);
	ck_assert_uint_eq(fake_kvm.routes_deleted, fake_kvm.routes_added);
	drv_common_write(&d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	ck_assert_uint_eq(drv_common_read(&d, VIRTIO_PCI_COMMON_Q_ENABLE, 2),
	                  0);
	/* And it comes back. */
	start();
	ck_assert_uint_eq(fake_kvm.nr_irqfds, 1);
}
END_TEST

START_TEST(test_bar_move_moves_ioeventfd)
{
	start();
	fake_cfg_write(vm, SLOT, 0x10, 4, 0xd0000000);
	ck_assert_uint_eq(fake_kvm.nr_ioeventfds, 1);
	ck_assert_uint_eq(fake_kvm.ioeventfds[0].addr,
	                  0xd0000000ULL + VIRTIO_PCI_NOTIFY_OFF);
	d.bar = 0xd0000000;
	ck_assert_uint_eq(drv_status(&d), 0xf);
	/* Decode off: no ioeventfd left behind. */
	fake_cfg_write(vm, SLOT, PCI_COMMAND, 2, 0);
	ck_assert_uint_eq(fake_kvm.nr_ioeventfds, 0);
}
END_TEST

START_TEST(test_hostile_ring_needs_reset)
{
	struct virtio_dev *v = vdev();
	struct drv_buf b[2] = {{BUF, 8, true}, {BUF, 8, true}};
	unsigned int before;

	start();
	/* Make the two-descriptor chain loop back on itself. */
	drv_submit(&d, 0, b, 2, false);
	struct virtq_desc *desc = fake_gpa(vm, RING);
	desc[1].flags |= VIRTQ_DESC_F_NEXT;
	desc[1].next = 0;
	before = fake_kvm.msi_signalled;
	drv_kick(&d, 0);
	ck_assert_uint_eq(drv_status(&d) & VIRTIO_STATUS_NEEDS_RESET,
	                  VIRTIO_STATUS_NEEDS_RESET);
	/* Config interrupt on vector 0 (data 0x40). */
	ck_assert_uint_eq(fake_kvm.msi_signalled, before + 1);
	ck_assert_uint_eq(fake_kvm.last_msi_data, 0x40);
	ck_assert(v->queues[0].vq.broken);
	/* Kicks of a broken device do nothing; reset recovers. */
	drv_kick(&d, 0);
	start();
	ck_assert_uint_eq(drv_status(&d), 0xf);
}
END_TEST

START_TEST(test_out_of_ram_ring_needs_reset)
{
	ck_assert_uint_eq(drv_negotiate(&d, 0), 0xb);
	drv_common_write(&d, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	drv_common_write(&d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0xfff00000);
	drv_common_write(&d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	ck_assert_uint_eq(drv_common_read(&d, VIRTIO_PCI_COMMON_Q_ENABLE, 2),
	                  0);
	ck_assert(drv_status(&d) & VIRTIO_STATUS_NEEDS_RESET);
}
END_TEST

START_TEST(test_pci_cfg_window)
{
	uint32_t c = 0;

	ck_assert_uint_eq(drv_negotiate(&d, 0), 0xb);
	for (uint32_t p = fake_cfg_read(vm, SLOT, 0x34, 1); p;
	     p = fake_cfg_read(vm, SLOT, p + 1, 1))
		if (fake_cfg_read(vm, SLOT, p, 1) == PCI_CAP_ID_VNDR &&
		    fake_cfg_read(vm, SLOT, p + 3, 1) == VIRTIO_PCI_CAP_PCI_CFG)
			c = p;
	ck_assert_uint_ne(c, 0);
	fake_cfg_write(vm, SLOT, c + 4, 1, 0);
	fake_cfg_write(vm, SLOT, c + 8, 4, VIRTIO_PCI_COMMON_STATUS);
	fake_cfg_write(vm, SLOT, c + 12, 4, 1);
	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, c + 16, 1), 0xb);
	/* Write through the window: reset. */
	fake_cfg_write(vm, SLOT, c + 16, 1, 0);
	ck_assert_uint_eq(drv_status(&d), 0);
}
END_TEST

START_TEST(test_config_change_interrupt)
{
	struct virtio_dev *v = vdev();
	unsigned int before;
	uint8_t gen;

	start();
	gen = (uint8_t)drv_common_read(&d, VIRTIO_PCI_COMMON_CFGGEN, 1);
	before = fake_kvm.msi_signalled;
	pthread_mutex_lock(&v->lock);
	virtio_config_changed(v);
	pthread_mutex_unlock(&v->lock);
	ck_assert_uint_eq(drv_common_read(&d, VIRTIO_PCI_COMMON_CFGGEN, 1),
	                  (uint8_t)(gen + 1));
	ck_assert_uint_eq(fake_kvm.msi_signalled, before + 1);
	ck_assert_uint_eq(fake_kvm.last_msi_addr, 0xfee00000);
	ck_assert_uint_eq(fake_kvm.last_msi_data, 0x40);
	ck_assert_uint_eq(fake_mmio_read(vm, d.bar + VIRTIO_PCI_ISR_OFF, 1) &
	                      VIRTIO_ISR_CONFIG,
	                  VIRTIO_ISR_CONFIG);
	/* Masked config vector: pending, delivered at unmask. */
	fake_mmio_write(vm, d.bar + VIRTIO_PCI_MSIX_OFF + 12, 4, 1);
	pthread_mutex_lock(&v->lock);
	virtio_config_changed(v);
	pthread_mutex_unlock(&v->lock);
	ck_assert_uint_eq(fake_kvm.msi_signalled, before + 1);
	ck_assert_uint_eq(fake_mmio_read(vm, d.bar + VIRTIO_PCI_PBA_OFF, 4) & 1,
	                  1);
	fake_mmio_write(vm, d.bar + VIRTIO_PCI_MSIX_OFF + 12, 4, 0);
	ck_assert_uint_eq(fake_kvm.msi_signalled, before + 2);
	ck_assert_uint_eq(fake_mmio_read(vm, d.bar + VIRTIO_PCI_PBA_OFF, 4) & 1,
	                  0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_pci");
	TCase *tc = tcase_create("transport");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_ids_and_bar);
	tcase_add_test(tc, test_capabilities);
	tcase_add_test(tc, test_version_1_required);
	tcase_add_test(tc, test_unoffered_feature_refused);
	tcase_add_test(tc, test_rng_fills_buffer_and_interrupts);
	tcase_add_test(tc, test_msix_masking);
	tcase_add_test(tc, test_bad_vector_reads_no_vector);
	tcase_add_test(tc, test_reset_drops_kvm_bindings);
	tcase_add_test(tc, test_bar_move_moves_ioeventfd);
	tcase_add_test(tc, test_hostile_ring_needs_reset);
	tcase_add_test(tc, test_out_of_ram_ring_needs_reset);
	tcase_add_test(tc, test_pci_cfg_window);
	tcase_add_test(tc, test_config_change_interrupt);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
