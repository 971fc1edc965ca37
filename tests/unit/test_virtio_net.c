/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net with a vhost-user back-end: a fake guest driver on one side,
 * a fake back-end connecting to the device's socket on the other. Config
 * space, the DRIVER_OK handover (memfd, rings, the queues' own eventfds),
 * link status following the back-end, and the replay on its return.
 */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_backend.h"
#include "fake_driver.h"
#include "fake_vm.h"
#include "podvisor/virtio.h"
#include "podvisor/virtio_net.h"

#define SLOT   VIRTIO_SLOT_NET0
#define RAM    (1 << 20)
#define RXRING 0x10000
#define TXRING 0x18000
#define F_PF   (1ull << 30)
#define F_V1   (1ull << 32)
#define BACKEND_F                                                              \
	(F_V1 | F_PF | 1ull << VIRTIO_NET_F_MAC |                              \
	 1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_MRG_RXBUF |        \
	 1ull << VIRTIO_F_EVENT_IDX | 1ull << VIRTIO_F_INDIRECT_DESC)
#define BACKEND_PROTO 0x10c3fULL /* DPDK 22.11 */

static struct vm *vm;
static struct drv d;
static char dir[64], path[128];
static void *calloc_ram;
static int memfd = -1;

static void pump(void)
{
	for (int i = 0; i < 20; i++) {
		event_base_loop(vm->evbase, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* Guest RAM shared with the back-end, as gmem_create() makes it. */
static void ram_to_memfd(void)
{
	void *p;

	memfd = memfd_create("vnet-test", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, RAM), 0);
	p = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	calloc_ram = vm->mem.regions[0].hva;
	vm->mem.regions[0].hva = p;
	vm->mem.fd = memfd;
}

static void setup_net(bool memfd_ram)
{
	struct vm_config *cfg;

	vm = fake_vm_create(RAM);
	if (memfd_ram)
		ram_to_memfd();
	cfg = (struct vm_config *)vm->cfg;
	memset(cfg, 0, sizeof(*cfg));
	strcpy(dir, "/tmp/pv-vnet-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/net0.sock", dir);
	cfg->nr_nets = 1;
	cfg->nets[0].vhost_user_socket = path;
	memcpy(cfg->nets[0].mac, (uint8_t[]){2, 0, 0, 0, 0, 0x42}, 6);
	cfg->nets[0].mtu = 1500;
	ck_assert_int_eq(virtio_net_create(vm, 0, SLOT), 0);
	ck_assert_int_eq(drv_probe(&d, vm, SLOT), 0);
}

static void setup(void)
{
	setup_net(true);
}

static void teardown(void)
{
	struct virtio_dev *vdev = virtio_dev_at_slot(vm, SLOT);

	if (vdev)
		virtio_dev_destroy(vdev);
	if (calloc_ram) {
		munmap(vm->mem.regions[0].hva, RAM);
		vm->mem.regions[0].hva = calloc_ram;
		calloc_ram = NULL;
		close(memfd);
	}
	fake_vm_destroy(vm);
	unlink(path);
	rmdir(dir);
}

static void backend_connect(struct fake *f, uint64_t features)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fake_run(f, fd, features, BACKEND_PROTO);
	pump();
}

static uint16_t link_status(void)
{
	uint16_t st;

	drv_config_read(&d, 6, &st, 2);
	return st;
}

static void guest_up(void)
{
	ck_assert_uint_eq(drv_negotiate(&d, 1ull << VIRTIO_NET_F_MAC |
	                                        1ull << VIRTIO_NET_F_STATUS |
	                                        1ull << VIRTIO_NET_F_MTU),
	                  0xb);
	drv_setup_queue(&d, 0, 64, RXRING);
	drv_setup_queue(&d, 1, 64, TXRING);
	drv_driver_ok(&d);
	pump();
}

static const struct rec *find(const struct fake *f, uint32_t id,
                              unsigned int nth)
{
	for (unsigned int i = 0; i < f->n; i++)
		if (f->log[i].id == id && nth-- == 0)
			return &f->log[i];
	return NULL;
}

START_TEST(config_space_and_features)
{
	uint8_t mac[6];
	uint16_t pairs, mtu;
	uint64_t offered;

	drv_config_read(&d, 0, mac, 6);
	ck_assert_mem_eq(mac, ((uint8_t[]){2, 0, 0, 0, 0, 0x42}), 6);
	ck_assert_uint_eq(link_status(), 0); /* no switch yet */
	drv_config_read(&d, 8, &pairs, 2);
	ck_assert_uint_eq(pairs, 1);
	drv_config_read(&d, 10, &mtu, 2);
	ck_assert_uint_eq(mtu, 1500);
	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, 2, 2), 0x1041);
	drv_common_write(&d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	offered = drv_common_read(&d, VIRTIO_PCI_COMMON_DF, 4);
	ck_assert(offered & 1u << VIRTIO_NET_F_MAC);
	ck_assert(offered & 1u << VIRTIO_NET_F_STATUS);
	ck_assert(offered & 1u << VIRTIO_NET_F_MTU);
	/* The control queue would have to live in the VMM: not offered. */
	ck_assert(!(offered & 1u << VIRTIO_NET_F_CTRL_VQ));
	ck_assert(!(offered & 1u << 30));
	ck_assert_uint_eq(drv_common_read(&d, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
}
END_TEST

START_TEST(driver_ok_hands_rings_to_backend)
{
	struct virtio_dev *vdev = virtio_dev_at_slot(vm, SLOT);
	struct fake f;
	const struct rec *r;
	struct vhost_user_vring_addr a;
	struct vhost_user_mem_table t;
	struct stat st;
	uint64_t v;

	backend_connect(&f, BACKEND_F);
	ck_assert_uint_eq(link_status(), VIRTIO_NET_S_LINK_UP);
	guest_up();
	ck_assert_uint_eq(drv_status(&d), 0xf);

	r = find(&f, VHOST_USER_SET_FEATURES, 0);
	ck_assert_ptr_nonnull(r);
	memcpy(&v, r->payload, 8);
	/* The guest acked MAC, STATUS and MTU too, but the VMM serves those
	 * itself: the back-end gets VERSION_1 and bit 30 only. */
	ck_assert_uint_eq(d.features, F_V1 | 1ull << VIRTIO_NET_F_MAC |
	                                  1ull << VIRTIO_NET_F_STATUS |
	                                  1ull << VIRTIO_NET_F_MTU);
	ck_assert_uint_eq(v, F_V1 | F_PF);
	r = find(&f, VHOST_USER_SET_MEM_TABLE, 0);
	ck_assert_ptr_nonnull(r);
	memcpy(&t, r->payload, (size_t)r->size);
	ck_assert_uint_eq(t.nregions, 1);
	ck_assert_uint_eq(t.regions[0].size, RAM);
	ck_assert_uint_eq(t.regions[0].user_addr,
	                  (uintptr_t)vm->mem.regions[0].hva);
	fstat(memfd, &st);
	ck_assert_uint_eq(r->ino[0], st.st_ino);
	/* Ring 1 (TX) addresses are the VMM's views of the guest's rings. */
	r = find(&f, VHOST_USER_SET_VRING_ADDR, 1);
	memcpy(&a, r->payload, sizeof(a));
	ck_assert_uint_eq(a.index, 1);
	ck_assert_uint_eq(a.desc, (uintptr_t)fake_gpa(vm, TXRING));
	ck_assert_uint_eq(a.avail, (uintptr_t)fake_gpa(vm, d.q[1].avail));
	ck_assert_uint_eq(a.used, (uintptr_t)fake_gpa(vm, d.q[1].used));
	/* The kick and call fds are the queues' own eventfds. */
	for (unsigned int q = 0; q < 2; q++) {
		ck_assert_int_eq(read(vdev->queues[q].kick_fd, &v, 8), 8);
		ck_assert_uint_eq(
		    v, find(&f, VHOST_USER_SET_VRING_KICK, q)->written);
	}
	ck_assert_ptr_nonnull(find(&f, VHOST_USER_SET_VRING_ENABLE, 1));
	r = find(&f, VHOST_USER_SET_STATUS, 0);
	memcpy(&v, r->payload, 8);
	ck_assert_uint_eq(v, 0xf);
	shutdown(f.fd, SHUT_RDWR);
	fake_join(&f);
}
END_TEST

START_TEST(link_follows_backend_and_replays)
{
	struct virtio_dev *vdev;
	struct fake f1, f2;
	const struct rec *r;
	struct vhost_user_vring_state s;
	uint8_t gen;

	backend_connect(&f1, BACKEND_F);
	guest_up();
	vdev = virtio_dev_at_slot(vm, SLOT);
	gen = vdev->config_generation;
	shutdown(f1.fd, SHUT_RDWR); /* the switch dies */
	fake_join(&f1);
	pump();
	ck_assert_uint_eq(link_status(), 0);
	ck_assert_uint_ne(vdev->config_generation, gen); /* config irq */
	ck_assert_uint_eq(drv_status(&d), 0xf);          /* no reset needed */

	/* The guest used 5 TX buffers meanwhile; the new switch resumes
	 * there. */
	((uint16_t *)fake_gpa(vm, d.q[1].used))[1] = 5;
	backend_connect(&f2, BACKEND_F);
	ck_assert_uint_eq(link_status(), VIRTIO_NET_S_LINK_UP);
	r = find(&f2, VHOST_USER_SET_VRING_BASE, 1);
	ck_assert_ptr_nonnull(r);
	memcpy(&s, r->payload, 8);
	ck_assert_uint_eq(s.index, 1);
	ck_assert_uint_eq(s.num, 5);
	ck_assert_ptr_nonnull(find(&f2, VHOST_USER_SET_STATUS, 0));
	shutdown(f2.fd, SHUT_RDWR);
	fake_join(&f2);
}
END_TEST

START_TEST(guest_reset_stops_rings)
{
	struct fake f;

	backend_connect(&f, BACKEND_F);
	guest_up();
	drv_common_write(&d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	ck_assert_ptr_nonnull(find(&f, VHOST_USER_GET_VRING_BASE, 1));
	shutdown(f.fd, SHUT_RDWR);
	fake_join(&f);
}
END_TEST

/* A back-end that refuses the handover is dropped; the guest keeps
 * running with the link down until a back-end takes the rings. */
START_TEST(refused_handover_leaves_link_down)
{
	struct fake f1, f2;

	backend_connect(&f1, BACKEND_F);
	f1.fail_id = VHOST_USER_SET_MEM_TABLE; /* back-end cannot map */
	guest_up();
	fake_join(&f1);
	pump();
	ck_assert_uint_eq(drv_status(&d), 0xf);
	ck_assert_uint_eq(link_status(), 0);
	backend_connect(&f2, BACKEND_F);
	ck_assert_uint_eq(link_status(), VIRTIO_NET_S_LINK_UP);
	ck_assert_ptr_nonnull(find(&f2, VHOST_USER_SET_STATUS, 0));
	shutdown(f2.fd, SHUT_RDWR);
	fake_join(&f2);
}
END_TEST

START_TEST(ram_that_is_not_shareable_is_refused)
{
	struct fake f;

	teardown();
	setup_net(false);
	backend_connect(&f, BACKEND_F);
	guest_up();
	ck_assert(drv_status(&d) & VIRTIO_STATUS_NEEDS_RESET);
	shutdown(f.fd, SHUT_RDWR);
	fake_join(&f);
}
END_TEST

START_TEST(net_without_backend_is_refused)
{
	/* nets[1] names neither a socket nor a tap. */
	ck_assert_int_eq(virtio_net_create(vm, 1, SLOT + 1), -EINVAL);
	ck_assert_ptr_null(virtio_dev_at_slot(vm, SLOT + 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_net");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, config_space_and_features);
	tcase_add_test(tc, driver_ok_hands_rings_to_backend);
	tcase_add_test(tc, link_follows_backend_and_replays);
	tcase_add_test(tc, guest_reset_stops_rings);
	tcase_add_test(tc, refused_handover_leaves_link_down);
	tcase_add_test(tc, ram_that_is_not_shareable_is_refused);
	tcase_add_test(tc, net_without_backend_is_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
