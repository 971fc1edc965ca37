// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock stream sockets both ways (VIRTIO 1.2 section 5.10) through
 * the VMM's hybrid UNIX socket:
 *  - guest -> host: REQUEST to CID 2 port hport; the VMM connects to
 *    <uds>_<hport>; the guest sends "guest-to-host-data\n" and expects
 *    the listener's "host-reply\n";
 *  - host -> guest: after "READY vsock-listen <gport>" the host writes
 *    "CONNECT <gport>\n" to <uds>, then "host-to-guest-data\n"; the guest
 *    answers "guest-echo:host-to-guest-data\n".
 * Command line: test=vsock cid=<n> hport=<p> gport=<p> [credit=<p>]
 * [hostile=1].
 */
#include "virtio.h"

struct vs_hdr {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
} __attribute__((packed));

enum {
	OP_REQUEST = 1,
	OP_RESPONSE,
	OP_RST,
	OP_SHUTDOWN,
	OP_RW,
	OP_CREDIT_UPDATE,
	OP_CREDIT_REQUEST
};

#define VEC_RX   0x58
#define VEC_TX   0x59
#define RXSZ     (sizeof(struct vs_hdr) + 1024)
#define BUFALLOC 65536

static struct vdev vs;
static uint8_t *rxbuf[VQ_MAX];
static uint64_t my_cid;
static uint32_t fwd_cnt;

static bool vsock_up(void);

static void post_rx(uint8_t *p)
{
	struct vbuf b = {p, RXSZ, true};
	int h = vq_add(&vs.vq[0], &b, 1);

	if (h >= 0)
		rxbuf[h] = p;
}

/* Header and payload in two descriptors, as Linux 6.1 sends them. */
/* Sends hdr_bytes of *hin (a full header unless a test cuts it) and len
 * payload bytes, in two descriptors. */
static bool vs_xmit(const struct vs_hdr *hin, uint32_t hdr_bytes,
                    const char *data, uint32_t len)
{
	static struct vs_hdr *h;
	static char *pay;
	struct vbuf b[2];

	if (!h) {
		h = palloc(sizeof(*h), 64);
		pay = palloc(256, 64);
	}
	*h = *hin;
	b[0] = (struct vbuf){h, hdr_bytes, false};
	b[1] = (struct vbuf){pay, len, false};
	memcpy(pay, data ? data : "", len);
	if (vq_add(&vs.vq[1], b, len ? 2 : 1) < 0)
		return false;
	vq_kick(&vs.vq[1]);
	return vq_wait(&vs.vq[1], NULL, 3000000) >= 0;
}

static struct vs_hdr mkhdr(uint16_t op, uint32_t sport, uint32_t dport,
                           uint32_t len)
{
	return (struct vs_hdr){.src_cid = my_cid,
	                       .dst_cid = 2,
	                       .src_port = sport,
	                       .dst_port = dport,
	                       .len = len,
	                       .type = 1,
	                       .op = op,
	                       .buf_alloc = BUFALLOC,
	                       .fwd_cnt = fwd_cnt};
}

static bool vs_send(uint16_t op, uint32_t sport, uint32_t dport,
                    const char *data)
{
	uint32_t len = data ? strlen(data) : 0;
	struct vs_hdr h = mkhdr(op, sport, dport, len);

	if (op == OP_SHUTDOWN)
		h.flags = 3;
	return vs_xmit(&h, sizeof(h), data, len);
}

/* Next packet for dport (others are logged and dropped). */
static bool vs_recv(uint32_t dport, struct vs_hdr *out, char *data, size_t max,
                    uint64_t timeout_us)
{
	uint64_t end = now_us() + timeout_us;
	uint32_t len;
	int h;

	while (now_us() < end) {
		if ((h = vq_poll(&vs.vq[0], &len)) < 0) {
			cpu_relax();
			continue;
		}
		memcpy(out, rxbuf[h], sizeof(*out));
		if (len < sizeof(*out) || out->len > len - sizeof(*out) ||
		    out->len + 1 > max) {
			fail("vsock_rx_packet", "used len %u, header len %u",
			     len, out->len);
			out->len = 0;
		}
		memcpy(data, rxbuf[h] + sizeof(*out), out->len);
		data[out->len] = 0;
		post_rx(rxbuf[h]);
		vq_kick(&vs.vq[0]);
		if (out->dst_port == dport) {
			fwd_cnt += out->len;
			return true;
		}
		printf("INFO vsock: dropped op %u for port %u\n", out->op,
		       out->dst_port);
	}
	return false;
}

static void guest_to_host(uint32_t hport)
{
	const uint32_t sport = 40000;
	struct vs_hdr h;
	char d[256];

	fwd_cnt = 0; /* credit counters are per connection (5.10.6.3) */
	vs_send(OP_REQUEST, sport, hport, NULL);
	if (!check(vs_recv(sport, &h, d, sizeof(d), 5000000) &&
	               h.op == OP_RESPONSE && h.src_cid == 2 &&
	               h.src_port == hport && h.dst_cid == my_cid,
	           "vsock_guest_connect",
	           "no RESPONSE from CID 2 port %u "
	           "(got op %u from %lu:%u)",
	           hport, h.op, (unsigned long)h.src_cid, h.src_port))
		return;
	check(h.buf_alloc > 0, "vsock_host_credit", "peer buf_alloc 0");
	check(vs_send(OP_RW, sport, hport, "guest-to-host-data\n"),
	      "vsock_guest_send", "transmit not consumed");
	do {
		if (!vs_recv(sport, &h, d, sizeof(d), 5000000))
			h.op = 0;
	} while (h.op == OP_CREDIT_UPDATE);
	check(h.op == OP_RW && !strcmp(d, "host-reply\n"),
	      "vsock_guest_receive", "op %u data '%s'", h.op, d);
	vs_send(OP_SHUTDOWN, sport, hport, NULL);
}

static void host_to_guest(uint32_t gport)
{
	struct vs_hdr h;
	uint32_t hp;
	char d[256], echo[300];

	fwd_cnt = 0;
	printf("READY vsock-listen %u\n", gport);
	if (!check(vs_recv(gport, &h, d, sizeof(d), 20000000) &&
	               h.op == OP_REQUEST && h.src_cid == 2,
	           "vsock_host_connect", "no REQUEST for port %u in 20 s",
	           gport))
		return;
	hp = h.src_port;
	vs_send(OP_RESPONSE, gport, hp, NULL);
	do {
		if (!vs_recv(gport, &h, d, sizeof(d), 10000000))
			h.op = 0;
	} while (h.op == OP_CREDIT_UPDATE || h.op == OP_CREDIT_REQUEST);
	if (!check(h.op == OP_RW && !strcmp(d, "host-to-guest-data\n"),
	           "vsock_host_data", "op %u data '%s'", h.op, d))
		return;
	snprintf(echo, sizeof(echo), "guest-echo:%s", d);
	check(vs_send(OP_RW, gport, hp, echo), "vsock_guest_echo",
	      "transmit not consumed");
	if (vs_recv(gport, &h, d, sizeof(d), 10000000))
		printf("INFO vsock: after echo got op %u flags %u\n", h.op,
		       h.flags);
	vs_send(OP_RST, gport, hp, NULL);
}

/* After a hostile packet: the device must answer RST (want_rst) or stay
 * silent, never RESPONSE; NEEDS_RESET is tolerated and undone. */
static void no_connection(const char *name, uint32_t sport, bool want_rst)
{
	struct vs_hdr h = {0};
	char d[256];
	bool got =
	    vs_recv(sport, &h, d, sizeof(d), want_rst ? 2000000 : 500000);

	if (virtio_status(&vs) & VIRTIO_S_NEEDS_RESET) {
		printf("INFO %s: device went NEEDS_RESET; resetting\n", name);
		vsock_up();
		got = false;
	}
	if (want_rst)
		check(got && h.op == OP_RST, name, "got %s op %u, expected RST",
		      got ? "" : "nothing,", h.op);
	else
		check(!got || h.op == OP_RST, name,
		      "device answered op %u (a connection was made)", h.op);
}

static void vsock_hostile(uint32_t hport)
{
	struct vs_hdr h;

	vs_send(OP_RW, 41001, hport, "no-such-connection\n");
	no_connection("vsock_hostile_rw_unknown_conn", 41001, true);
	h = mkhdr(OP_REQUEST, 41002, hport, 0);
	h.src_cid = 7; /* not our CID */
	vs_xmit(&h, sizeof(h), NULL, 0);
	no_connection("vsock_hostile_spoofed_src_cid", 41002, false);
	h = mkhdr(OP_REQUEST, 41003, hport, 0);
	h.dst_cid = 5; /* another VM, not the host */
	vs_xmit(&h, sizeof(h), NULL, 0);
	no_connection("vsock_hostile_other_dst_cid", 41003, false);
	h = mkhdr(OP_REQUEST, 41004, hport, 0);
	h.type = 2; /* SEQPACKET */
	vs_xmit(&h, sizeof(h), NULL, 0);
	no_connection("vsock_hostile_seqpacket", 41004, false);
	h = mkhdr(OP_RW, 41005, hport, 4096); /* claims more than it sends */
	vs_xmit(&h, sizeof(h), "short", 5);
	no_connection("vsock_hostile_len_beyond_buffer", 41005, false);
	h = mkhdr(OP_REQUEST, 41006, hport, 0);
	vs_xmit(&h, 20, NULL, 0); /* header cut at 20 bytes */
	no_connection("vsock_hostile_short_header", 41006, false);
	vs_send(OP_REQUEST, 41007, 5999, NULL); /* nobody listens there */
	no_connection("vsock_hostile_no_listener", 41007, true);
	guest_to_host(hport);
}

/* Credit (5.10.6.3): the guest accepts with buf_alloc 100 and reads
 * nothing; the host sends 1001 bytes. The device may pass on at most 100
 * until a CREDIT_UPDATE frees room, then the rest must follow. */
static void credit(uint32_t gport)
{
	struct vs_hdr h, resp;
	uint32_t hp, got = 0;
	uint64_t end;
	char d[1100];

	printf("READY vsock-credit %u\n", gport);
	if (!check(vs_recv(gport, &h, d, sizeof(d), 20000000) &&
	               h.op == OP_REQUEST,
	           "vsock_credit_connect", "no REQUEST for port %u", gport))
		return;
	hp = h.src_port;
	fwd_cnt = 0;
	resp = mkhdr(OP_RESPONSE, gport, hp, 0);
	resp.buf_alloc = 100;
	vs_xmit(&resp, sizeof(resp), NULL, 0);
	end = now_us() + 2000000;
	while (now_us() < end) {
		if (!vs_recv(gport, &h, d, sizeof(d), 100000))
			continue;
		printf("INFO vsock credit: op %u len %u\n", h.op, h.len);
		if (h.op == OP_RW)
			got += h.len;
	}
	check(got > 0 && got <= 100, "vsock_credit_respected",
	      "%u bytes arrived against a buf_alloc of 100", got);
	resp = mkhdr(OP_CREDIT_UPDATE, gport, hp, 0);
	resp.buf_alloc = 65536;
	resp.fwd_cnt = got;
	vs_xmit(&resp, sizeof(resp), NULL, 0);
	end = now_us() + 5000000;
	while (got < 1001 && now_us() < end) {
		if (!vs_recv(gport, &h, d, sizeof(d), 200000))
			continue;
		printf("INFO vsock credit: op %u len %u\n", h.op, h.len);
		if (h.op == OP_RW)
			got += h.len;
	}
	check(got == 1001, "vsock_credit_update_resumes",
	      "%u of 1001 bytes after the credit update", got);
	vs_send(OP_RST, gport, hp, NULL);
}

static bool vsock_up(void)
{
	if (!virtio_init(&vs, 0))
		return false;
	msix_enable(&vs);
	msix_route(&vs, 1, VEC_RX, false);
	msix_route(&vs, 2, VEC_TX, false);
	if (!virtio_setup_vq(&vs, 0, 16, 1) ||
	    !virtio_setup_vq(&vs, 1, 16, 2) ||
	    !virtio_setup_vq(&vs, 2, 4, VIRTIO_NO_VECTOR))
		return false;
	virtio_driver_ok(&vs);
	my_cid = vcfg_r64(&vs, 0);
	for (int i = 0; i < 8; i++)
		post_rx(palloc(RXSZ, 64));
	vq_kick(&vs.vq[0]);
	return true;
}

void test_vsock(void)
{
	uint64_t want_cid = arg_u64("cid", 3);

	if (!virtio_find(&vs, VIRTIO_ID_VSOCK, 0, "vsock") || !vsock_up())
		return;
	check(my_cid == want_cid, "vsock_guest_cid",
	      "config guest_cid %lu, "
	      "expected %lu",
	      (unsigned long)my_cid, (unsigned long)want_cid);
	if (arg_u64("hostile", 0)) {
		vsock_hostile(arg_u64("hport", 5000));
		return;
	}
	guest_to_host(arg_u64("hport", 5000));
	host_to_guest(arg_u64("gport", 1234));
	if (arg_u64("credit", 0))
		credit(arg_u64("credit", 0));
	check(irq_wait(VEC_RX, 0, 1000000), "vsock_rx_msix",
	      "no interrupt on "
	      "vector 0x%x",
	      VEC_RX);
}
