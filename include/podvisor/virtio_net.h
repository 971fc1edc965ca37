/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (virtio 1.2 §5.1) whose queues are served by a vhost-user
 * back-end, podvisor-switch (see vhost_user.h). The VMM keeps only the
 * control plane: PCI function, config space (mac, status, mtu), and the
 * handover of guest RAM and rings at DRIVER_OK; frames never pass through
 * the VMM. Kicks reach the back-end through the ioeventfd on the queue's
 * notify address, completions reach the guest through the irqfd of the
 * queue's MSI-X vector.
 *
 * The device listens on cfg->nets[index].vhost_user_socket; the switch
 * connects as client and may come and go: config status LINK_UP follows
 * the connection (with a config interrupt), and a returning switch is
 * handed the running rings again without a guest reset.
 *
 * Queue pair 0 only: ring 0 RX, ring 1 TX; no control queue.
 *
 * With cfg->nets[index].tap instead, the VMM moves the frames itself
 * between the rings and a tap interface (devices/virtio_net_tap.c); the
 * link is always up.
 */
#ifndef PODVISOR_VIRTIO_NET_H
#define PODVISOR_VIRTIO_NET_H

#define VIRTIO_NET_F_CSUM      0
#define VIRTIO_NET_F_MTU       3
#define VIRTIO_NET_F_MAC       5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS    16
#define VIRTIO_NET_F_CTRL_VQ   17
#define VIRTIO_NET_S_LINK_UP   1
#define VIRTIO_NET_QUEUE_SIZE  256

#include <stdint.h>

/* Device config (§5.1.4), little-endian (x86 hosts only). */
struct virtio_net_config {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
	uint16_t mtu;
} __attribute__((packed));

struct vm;

/* Creates nets[index] of vm->cfg at PCI slot: vhost-user (listens on its
 * socket) or tap. Returns 0 or -errno after logging (the message names the
 * config field). */
int virtio_net_create(struct vm *vm, unsigned int index, unsigned int slot);

/* The tap variant; virtio_net_create() calls it for a net with a tap. */
int virtio_net_tap_create(struct vm *vm, unsigned int index, unsigned int slot);

#endif
