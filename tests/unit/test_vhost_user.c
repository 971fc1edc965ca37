/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user front-end against a fake back-end on a socketpair: message
 * order and payloads, fds that really are the caller's objects, every step
 * failing under its own name, reconnect replay.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_backend.h"
#include "podvisor/vhost_user.h"

#define F_MAC  (1ull << 5)
#define F_MRG  (1ull << 15)
#define F_STAT (1ull << 16)
#define F_V1   (1ull << 32)
#define F_PF   (1ull << 30)
/* What DPDK 22.11 offers: MQ, LOG_SHMFD, RARP, REPLY_ACK, MTU, SLAVE_REQ,
 * SLAVE_SEND_FD, HOST_NOTIFIER, PAGEFAULT, STATUS. */
#define DPDK_PROTO 0x10c3fULL

static int link_ups, link_downs;

static void on_link(struct vhost_user *vu, bool up, void *opaque)
{
	if (up)
		link_ups++;
	else
		link_downs++;
}

/* A guest: 2 RAM regions in one memfd, 2 rings, eventfds. */
struct guest {
	int memfd;
	uint8_t *ram;
	struct vhost_user_mem mem;
	struct vhost_user_ring rings[2];
};

static void guest_make(struct guest *g)
{
	g->memfd = memfd_create("vu-test", MFD_CLOEXEC);
	ck_assert_int_ge(g->memfd, 0);
	ck_assert_int_eq(ftruncate(g->memfd, 2 << 20), 0);
	g->ram = mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED,
	              g->memfd, 0);
	ck_assert_ptr_ne(g->ram, MAP_FAILED);
	g->mem.nr = 2;
	g->mem.r[0].gpa = 0;
	g->mem.r[0].size = 1 << 20;
	g->mem.r[0].hva = g->ram;
	g->mem.r[0].fd = g->memfd;
	g->mem.r[1].gpa = 1ull << 32;
	g->mem.r[1].size = 1 << 20;
	g->mem.r[1].hva = g->ram + (1 << 20);
	g->mem.r[1].fd = g->memfd;
	g->mem.r[1].fd_offset = 1 << 20;
	for (int i = 0; i < 2; i++) {
		g->rings[i] = (struct vhost_user_ring){
		    .num = 256,
		    .desc = g->ram + 0x10000 * (i + 1),
		    .avail = g->ram + 0x10000 * (i + 1) + 0x1000,
		    .used = g->ram + 0x10000 * (i + 1) + 0x2000,
		    .kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		    .call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		};
	}
}

static void guest_free(struct guest *g)
{
	for (int i = 0; i < 2; i++) {
		close(g->rings[i].kick_fd);
		close(g->rings[i].call_fd);
	}
	munmap(g->ram, 2 << 20);
	close(g->memfd);
}

static const uint32_t connect_seq[] = {
    VHOST_USER_SET_OWNER,
    VHOST_USER_GET_FEATURES,
    VHOST_USER_GET_PROTOCOL_FEATURES,
    VHOST_USER_SET_PROTOCOL_FEATURES,
    VHOST_USER_GET_QUEUE_NUM,
};

static const uint32_t start_seq[] = {
    VHOST_USER_SET_FEATURES,     VHOST_USER_SET_MEM_TABLE,
    VHOST_USER_SET_VRING_NUM,    VHOST_USER_SET_VRING_BASE,
    VHOST_USER_SET_VRING_ADDR,   VHOST_USER_SET_VRING_KICK,
    VHOST_USER_SET_VRING_CALL,   VHOST_USER_SET_VRING_NUM,
    VHOST_USER_SET_VRING_BASE,   VHOST_USER_SET_VRING_ADDR,
    VHOST_USER_SET_VRING_KICK,   VHOST_USER_SET_VRING_CALL,
    VHOST_USER_SET_VRING_ENABLE, VHOST_USER_SET_VRING_ENABLE,
    VHOST_USER_SET_STATUS,
};

static void expect_ids(const struct fake *f, unsigned int from,
                       const uint32_t *ids, unsigned int n)
{
	ck_assert_uint_ge(f->n, from + n);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_msg(f->log[from + i].id == ids[i],
		              "message %u is %s, expected %s", from + i,
		              vhost_user_msg_name(f->log[from + i].id),
		              vhost_user_msg_name(ids[i]));
}

static uint64_t u64_of(const struct rec *r)
{
	uint64_t v;

	ck_assert_int_eq(r->size, 8);
	memcpy(&v, r->payload, 8);
	return v;
}

START_TEST(message_table_rows)
{
	const struct vhost_user_msg_info *m;

	m = vhost_user_msg_info(VHOST_USER_SET_MEM_TABLE);
	ck_assert_str_eq(m->name, "SET_MEM_TABLE");
	ck_assert(m->takes_fd);
	m = vhost_user_msg_info(VHOST_USER_GET_VRING_BASE);
	ck_assert_uint_eq(m->size, 8);
	ck_assert_uint_eq(m->reply_size, 8);
	m = vhost_user_msg_info(VHOST_USER_SET_VRING_ADDR);
	ck_assert_uint_eq(m->size, 40);
	ck_assert(!m->takes_fd);
	ck_assert(vhost_user_msg_info(VHOST_USER_SET_VRING_CALL)->takes_fd);
	ck_assert_ptr_null(vhost_user_msg_info(7));
	ck_assert_str_eq(vhost_user_msg_name(7), "UNKNOWN");
}
END_TEST

START_TEST(connect_then_driver_ok_sequence)
{
	struct vhost_user vu;
	struct guest g;
	struct fake f;
	uint64_t acked = F_V1 | F_MAC | F_MRG, v;
	struct vhost_user_mem_table t;
	struct vhost_user_vring_addr a;
	struct vhost_user_vring_state s;
	struct stat st;

	guest_make(&g);
	link_ups = link_downs = 0;
	vhost_user_init(&vu, "/tmp/vu-test.sock", on_link, NULL);
	ck_assert_int_eq(
	    vhost_user_attach(
	        &vu, fake_start(&f, F_V1 | F_PF | F_MAC | F_MRG | F_STAT,
	                        DPDK_PROTO)),
	    0);
	ck_assert_uint_eq(vu.protocol_features,
	                  DPDK_PROTO & VHOST_USER_PROTOCOL_SUPPORTED);
	ck_assert_int_eq(link_ups, 1);
	ck_assert_int_eq(vhost_user_start(&vu, acked, &g.mem, g.rings, 2, 0x0f),
	                 0);
	ck_assert_int_eq(vhost_user_stop(&vu), 0);
	vhost_user_close(&vu);
	fake_join(&f);

	expect_ids(&f, 0, connect_seq, 5);
	/* Before REPLY_ACK is agreed nothing asks for an ack. */
	for (int i = 0; i < 5; i++)
		ck_assert_uint_eq(f.log[i].flags & VHOST_USER_NEED_REPLY, 0);
	/* We keep only what we support: no LOG_SHMFD, RARP, SLAVE_REQ... */
	ck_assert_uint_eq(u64_of(&f.log[3]), (1ull << 0) | (1ull << 3) |
	                                         (1ull << 4) | (1ull << 16));
	expect_ids(&f, 5, start_seq, 15);
	/* SET_FEATURES: the guest's ∩ the back-end's, plus bit 30. */
	ck_assert_uint_eq(u64_of(&f.log[5]), acked | F_PF);
	/* SET_MEM_TABLE: two regions, two fds that are our memfd. */
	memcpy(&t, f.log[6].payload, (size_t)f.log[6].size);
	ck_assert_int_eq(f.log[6].size, 8 + 2 * 32);
	ck_assert_uint_eq(t.nregions, 2);
	ck_assert_uint_eq(t.regions[1].gpa, 1ull << 32);
	ck_assert_uint_eq(t.regions[1].user_addr, (uintptr_t)g.ram + (1 << 20));
	ck_assert_uint_eq(t.regions[1].mmap_offset, 1 << 20);
	ck_assert_uint_eq(f.log[6].nfds, 2);
	fstat(g.memfd, &st);
	ck_assert_uint_eq(f.log[6].ino[0], st.st_ino);
	ck_assert_uint_eq(f.log[6].ino[1], st.st_ino);
	/* Ring 1: NUM 256, BASE 0, ADDR with used before avail. */
	memcpy(&s, f.log[12].payload, 8);
	ck_assert_uint_eq(s.index, 1);
	ck_assert_uint_eq(s.num, 256);
	memcpy(&a, f.log[14].payload, sizeof(a));
	ck_assert_uint_eq(a.index, 1);
	ck_assert_uint_eq(a.desc, (uintptr_t)g.rings[1].desc);
	ck_assert_uint_eq(a.used, (uintptr_t)g.rings[1].used);
	ck_assert_uint_eq(a.avail, (uintptr_t)g.rings[1].avail);
	/* KICK/CALL carry the index and the very eventfds we gave. */
	for (int ring = 0; ring < 2; ring++) {
		const struct rec *k = &f.log[10 + ring * 5];
		const struct rec *c = &f.log[11 + ring * 5];

		ck_assert_uint_eq(u64_of(k), (uint64_t)ring);
		ck_assert_uint_eq(k->nfds, 1);
		ck_assert_uint_eq(c->nfds, 1);
		ck_assert_int_eq(read(g.rings[ring].kick_fd, &v, 8), 8);
		ck_assert_uint_eq(v, k->written);
		ck_assert_int_eq(read(g.rings[ring].call_fd, &v, 8), 8);
		ck_assert_uint_eq(v, c->written);
	}
	memcpy(&s, f.log[18].payload, 8);
	ck_assert_uint_eq(s.index, 1);
	ck_assert_uint_eq(s.num, 1);
	ck_assert_uint_eq(u64_of(&f.log[19]), 0x0f);
	/* With REPLY_ACK every message without a reply asks for one. */
	for (int i = 5; i < 20; i++)
		ck_assert(f.log[i].flags & VHOST_USER_NEED_REPLY);
	/* Stop: ENABLE(0) then GET_VRING_BASE for both rings. */
	ck_assert_uint_eq(f.log[20].id, VHOST_USER_SET_VRING_ENABLE);
	memcpy(&s, f.log[20].payload, 8);
	ck_assert_uint_eq(s.num, 0);
	ck_assert_uint_eq(f.log[22].id, VHOST_USER_GET_VRING_BASE);
	ck_assert_uint_eq(f.log[23].id, VHOST_USER_GET_VRING_BASE);
	ck_assert_uint_eq(f.n, 24);
	guest_free(&g);
}
END_TEST

/* Each DRIVER_OK step refused by the back-end is reported by name. */
START_TEST(each_start_step_failure_is_named)
{
	static const uint32_t steps[] = {
	    VHOST_USER_SET_FEATURES,   VHOST_USER_SET_MEM_TABLE,
	    VHOST_USER_SET_VRING_NUM,  VHOST_USER_SET_VRING_BASE,
	    VHOST_USER_SET_VRING_ADDR, VHOST_USER_SET_VRING_KICK,
	    VHOST_USER_SET_VRING_CALL, VHOST_USER_SET_VRING_ENABLE,
	    VHOST_USER_SET_STATUS,
	};
	uint32_t id = steps[_i % 9];
	bool hang_up = _i >= 9;
	struct vhost_user vu;
	struct guest g;
	struct fake f;
	int r;

	guest_make(&g);
	link_ups = link_downs = 0;
	vhost_user_init(&vu, "/tmp/vu-test.sock", on_link, NULL);
	ck_assert_int_eq(
	    vhost_user_attach(&vu,
	                      fake_start(&f, F_V1 | F_PF | F_MAC, DPDK_PROTO)),
	    0);
	f.fail_id = id;
	f.hang_up = hang_up;
	r = vhost_user_start(&vu, F_V1 | F_MAC, &g.mem, g.rings, 2, 0x0f);
	ck_assert_int_eq(r, hang_up ? -EPIPE : -EIO);
	ck_assert_str_eq(vu.failed_msg, vhost_user_msg_name(id));
	ck_assert_int_eq(vu.fd, -1);
	ck_assert_int_eq(link_downs, 1);
	fake_join(&f);
	ck_assert_uint_eq(f.log[f.n - 1].id, id);
	guest_free(&g);
}
END_TEST

/* Connect-sequence messages that have replies fail under their names. */
START_TEST(each_connect_query_failure_is_named)
{
	static const uint32_t steps[] = {
	    VHOST_USER_GET_FEATURES,
	    VHOST_USER_GET_PROTOCOL_FEATURES,
	    VHOST_USER_GET_QUEUE_NUM,
	};
	struct vhost_user vu;
	struct fake f;
	int fd;

	vhost_user_init(&vu, "/tmp/vu-test.sock", NULL, NULL);
	fd = fake_start(&f, F_V1 | F_PF, DPDK_PROTO);
	f.fail_id = steps[_i];
	f.hang_up = true;
	ck_assert_int_eq(vhost_user_attach(&vu, fd), -EPIPE);
	ck_assert_str_eq(vu.failed_msg, vhost_user_msg_name(steps[_i]));
	fake_join(&f);
}
END_TEST

START_TEST(reconnect_replays_with_base_from_used_idx)
{
	struct vhost_user vu;
	struct guest g;
	struct fake f1, f2;
	struct vhost_user_vring_state s;
	uint64_t acked = F_V1 | F_MAC;

	guest_make(&g);
	link_ups = link_downs = 0;
	vhost_user_init(&vu, "/tmp/vu-test.sock", on_link, NULL);
	ck_assert_int_eq(
	    vhost_user_attach(&vu,
	                      fake_start(&f1, F_V1 | F_PF | F_MAC, DPDK_PROTO)),
	    0);
	ck_assert_int_eq(vhost_user_start(&vu, acked, &g.mem, g.rings, 2, 15),
	                 0);
	/* The back-end dies; the guest has completed 7 and 300 buffers. */
	shutdown(f1.fd, SHUT_RDWR);
	fake_join(&f1);
	vhost_user_handle_event(&vu);
	ck_assert_int_eq(vu.fd, -1);
	ck_assert_int_eq(link_downs, 1);
	((uint16_t *)g.rings[0].used)[1] = 7;
	((uint16_t *)g.rings[1].used)[1] = 300;

	ck_assert_int_eq(
	    vhost_user_attach(&vu,
	                      fake_start(&f2, F_V1 | F_PF | F_MAC, DPDK_PROTO)),
	    0);
	ck_assert_int_eq(link_ups, 2);
	vhost_user_close(&vu);
	fake_join(&f2);
	expect_ids(&f2, 0, connect_seq, 5);
	expect_ids(&f2, 5, start_seq, 15);
	ck_assert_uint_eq(u64_of(&f2.log[5]), acked | F_PF);
	memcpy(&s, f2.log[8].payload, 8);
	ck_assert_uint_eq(s.index, 0);
	ck_assert_uint_eq(s.num, 7);
	memcpy(&s, f2.log[13].payload, 8);
	ck_assert_uint_eq(s.index, 1);
	ck_assert_uint_eq(s.num, 300);
	guest_free(&g);
}
END_TEST

START_TEST(reconnect_with_fewer_features_is_refused)
{
	struct vhost_user vu;
	struct guest g;
	struct fake f1, f2;

	guest_make(&g);
	vhost_user_init(&vu, "/tmp/vu-test.sock", NULL, NULL);
	ck_assert_int_eq(
	    vhost_user_attach(&vu,
	                      fake_start(&f1, F_V1 | F_PF | F_MRG, DPDK_PROTO)),
	    0);
	ck_assert_int_eq(
	    vhost_user_start(&vu, F_V1 | F_MRG, &g.mem, g.rings, 2, 15), 0);
	vhost_user_disconnect(&vu);
	fake_join(&f1);
	ck_assert_int_eq(
	    vhost_user_attach(&vu, fake_start(&f2, F_V1 | F_PF, DPDK_PROTO)),
	    -EPROTO);
	ck_assert_int_eq(vu.fd, -1);
	fake_join(&f2);
	/* Only the connect sequence ran: no ring was handed over. */
	ck_assert_uint_eq(f2.n, 5);
	guest_free(&g);
}
END_TEST

START_TEST(plain_backend_gets_no_acks_or_enables)
{
	struct vhost_user vu;
	struct guest g;
	struct fake f;
	int call0;
	static const uint32_t want[] = {
	    VHOST_USER_SET_OWNER,      VHOST_USER_GET_FEATURES,
	    VHOST_USER_SET_FEATURES,   VHOST_USER_SET_MEM_TABLE,
	    VHOST_USER_SET_VRING_NUM,  VHOST_USER_SET_VRING_BASE,
	    VHOST_USER_SET_VRING_ADDR, VHOST_USER_SET_VRING_KICK,
	    VHOST_USER_SET_VRING_CALL,
	};

	guest_make(&g);
	call0 = g.rings[0].call_fd;
	g.rings[0].call_fd = -1; /* no fd: index | 0x100 */
	vhost_user_init(&vu, "/tmp/vu-test.sock", NULL, NULL);
	/* A start before any back-end connects runs at attach. */
	ck_assert_int_eq(vhost_user_start(&vu, F_V1, &g.mem, g.rings, 1, 15),
	                 0);
	ck_assert_int_eq(vhost_user_attach(&vu, fake_start(&f, F_V1, 0)), 0);
	vhost_user_close(&vu);
	fake_join(&f);
	expect_ids(&f, 0, want, 9);
	ck_assert_uint_eq(f.n, 9);
	for (unsigned int i = 0; i < f.n; i++)
		ck_assert_uint_eq(f.log[i].flags, VHOST_USER_VERSION);
	ck_assert_uint_eq(u64_of(&f.log[8]), VHOST_USER_VRING_NOFD);
	ck_assert_uint_eq(f.log[8].nfds, 0);
	g.rings[0].call_fd = call0;
	guest_free(&g);
}
END_TEST

START_TEST(listen_accept_and_second_backend_refused)
{
	char path[] = "/tmp/vu-test-XXXXXX";
	struct vhost_user vu;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct fake f;
	int c1, c2;

	ck_assert_ptr_nonnull(mkdtemp(path));
	vhost_user_init(&vu, "", NULL, NULL);
	snprintf(vu.path, sizeof(vu.path), "%s/net0.sock", path);
	ck_assert_int_eq(vhost_user_listen(&vu), 0);
	ck_assert_int_eq(vhost_user_accept(&vu), -EAGAIN);
	strcpy(sa.sun_path, vu.path);
	c1 = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(c1, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fake_run(&f, c1, F_V1, 0);
	ck_assert_int_eq(vhost_user_accept(&vu), 0);
	c2 = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(c2, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(vhost_user_accept(&vu), -EBUSY);
	close(c2);
	vhost_user_close(&vu);
	fake_join(&f);
	ck_assert_int_eq(access(vu.path, F_OK), -1);
	rmdir(path);
}
END_TEST

START_TEST(send_rejects_too_many_fds_and_recv_closes_extras)
{
	int sv[2], fds[9], got[2], p[2];
	unsigned int n = 2;
	uint32_t id, flags;
	uint64_t v = 5;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (int i = 0; i < 9; i++)
		fds[i] = sv[0];
	ck_assert_int_eq(vhost_user_send(sv[0], 2, 0, &v, 8, fds, 9), -EINVAL);
	ck_assert_int_eq(pipe(p), 0);
	for (int i = 0; i < 3; i++)
		fds[i] = p[1];
	ck_assert_int_eq(vhost_user_send(sv[0], 2, 0, &v, 8, fds, 3), 0);
	ck_assert_int_eq(vhost_user_recv(sv[1], &id, &flags, &v, 8, got, &n),
	                 8);
	ck_assert_uint_eq(n, 2);
	close(got[0]);
	close(got[1]);
	close(p[1]);
	/* Every copy of the write end is closed: the reader sees EOF. */
	ck_assert_int_eq(read(p[0], &v, 1), 0);
	/* A payload larger than the caller's buffer is refused. */
	ck_assert_int_eq(vhost_user_send(sv[0], 2, 0, &v, 8, NULL, 0), 0);
	ck_assert_int_eq(vhost_user_recv(sv[1], &id, &flags, &v, 4, NULL, NULL),
	                 -EMSGSIZE);
	close(p[0]);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vhost_user");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, message_table_rows);
	tcase_add_test(tc, connect_then_driver_ok_sequence);
	tcase_add_loop_test(tc, each_start_step_failure_is_named, 0, 18);
	tcase_add_loop_test(tc, each_connect_query_failure_is_named, 0, 3);
	tcase_add_test(tc, reconnect_replays_with_base_from_used_idx);
	tcase_add_test(tc, reconnect_with_fewer_features_is_refused);
	tcase_add_test(tc, plain_backend_gets_no_acks_or_enables);
	tcase_add_test(tc, listen_accept_and_second_backend_refused);
	tcase_add_test(tc, send_rejects_too_many_fds_and_recv_closes_extras);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
