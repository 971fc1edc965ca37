// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-console both ways (VIRTIO 1.2 section 5.3, port 0 only): the guest
 * sends "hello-from-guest" on transmitq, the host test reads it from the
 * console socket and writes "hello-from-host", which the guest receives on
 * receiveq and echoes on serial as "CONSOLE-RX <line>".
 * Command line: test=console.
 */
#include "virtio.h"

#define VEC_RX 0x50
#define VEC_TX 0x51
#define NRX    4

static struct vdev con;
static uint8_t *rxbuf[VQ_MAX];

static bool con_send(const char *s)
{
	static char *txbuf;
	struct vbuf b;
	uint32_t len;

	if (!txbuf)
		txbuf = palloc(128, 64);
	while (vq_poll(&con.vq[1], &len) >= 0)
		;
	b = (struct vbuf){txbuf, (uint32_t)strlen(s), false};
	memcpy(txbuf, s, b.len);
	if (vq_add(&con.vq[1], &b, 1) < 0)
		return false;
	vq_kick(&con.vq[1]);
	return true;
}

static void post_rx(uint8_t *p)
{
	struct vbuf b = {p, 128, true};
	int h = vq_add(&con.vq[0], &b, 1);

	if (h >= 0)
		rxbuf[h] = p;
}

/* Collects received bytes until a newline; resends the guest line every
 * second so a host that connects late still sees it. */
static int receive_line(char *line, size_t max, uint64_t timeout_us)
{
	uint64_t end = now_us() + timeout_us, resend = now_us() + 1000000;
	size_t n = 0;
	uint32_t len;
	int h;

	while (now_us() < end) {
		if ((h = vq_poll(&con.vq[0], &len)) < 0) {
			if (now_us() > resend) {
				con_send("hello-from-guest\n");
				resend = now_us() + 1000000;
			}
			cpu_relax();
			continue;
		}
		for (uint32_t i = 0; i < len && i < 128 && n + 1 < max; i++) {
			if (rxbuf[h][i] == '\n') {
				line[n] = 0;
				return (int)n;
			}
			if (rxbuf[h][i] != '\r')
				line[n++] = rxbuf[h][i];
		}
		post_rx(rxbuf[h]);
		vq_kick(&con.vq[0]);
	}
	line[n] = 0;
	return -1;
}

/* Writes flood= MiB to the console in 4 KiB buffers while the host side
 * does not read. The device may drop or hold back (stop consuming); either
 * way the VMM's memory must stay bounded, which the host test measures. */
static void flood(uint64_t mib)
{
	uint8_t *chunk = palloc(4096, 4096);
	struct vbuf b = {chunk, 4096, false};
	uint64_t sent = 0, total = mib << 20;
	uint32_t len;

	memset(chunk, 'F', 4096);
	chunk[4095] = '\n';
	printf("READY console-flood\n");
	delay_us(1000000);
	while (sent < total) {
		while (vq_poll(&con.vq[1], &len) >= 0)
			;
		if (vq_add(&con.vq[1], &b, 1) < 0) {
			if (vq_wait(&con.vq[1], &len, 2000000) < 0)
				break; /* held back: backpressure */
			continue;
		}
		vq_kick(&con.vq[1]);
		sent += 4096;
	}
	printf("INFO console flood: queued %lu KiB of %lu, %s\n",
	       (unsigned long)(sent >> 10), (unsigned long)(total >> 10),
	       sent < total ? "device held back (backpressure)" : "all taken");
	pass("console_flood_survived");
}

void test_console(void)
{
	char line[128];
	uint32_t seen_tx;
	int n;

	if (!virtio_find(&con, VIRTIO_ID_CONSOLE, 0, "console") ||
	    !virtio_init(&con, 0))
		return;
	msix_enable(&con);
	msix_route(&con, 1, VEC_RX, false);
	msix_route(&con, 2, VEC_TX, false);
	if (!virtio_setup_vq(&con, 0, 8, 1) || !virtio_setup_vq(&con, 1, 8, 2))
		return;
	virtio_driver_ok(&con);
	for (int i = 0; i < NRX; i++)
		post_rx(palloc(128, 64));
	vq_kick(&con.vq[0]);
	if (arg_u64("flood", 0)) {
		flood(arg_u64("flood", 0));
		return;
	}
	seen_tx = irq_count[VEC_TX];
	check(con_send("hello-from-guest\n"), "console_tx_queued",
	      "transmitq full");
	check(vq_wait(&con.vq[1], NULL, 3000000) >= 0, "console_tx_used",
	      "the device did not consume the transmit buffer in 3 s");
	check(irq_wait(VEC_TX, seen_tx, 1000000), "console_tx_msix",
	      "no interrupt on vector 0x%x", VEC_TX);
	printf("READY console\n");
	n = receive_line(line, sizeof(line), 20000000);
	printf("CONSOLE-RX %s\n", line);
	if (check(n >= 0 && !strcmp(line, "hello-from-host"),
	          "console_host_to_guest", "received '%s' (%d) in 20 s", line,
	          n))
		check(irq_wait(VEC_RX, 0, 1000000), "console_rx_msix",
		      "no interrupt on vector 0x%x", VEC_RX);
}
