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
 * Limitation: the tap back-end (cfg->nets[i].tap) is not implemented yet;
 * a net with only a tap is refused with a clear message.
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

struct vm;

/* Creates nets[index] of vm->cfg at PCI slot; listens on its socket.
 * Returns 0 or -errno after logging (-EINVAL: the config names the field). */
int virtio_net_create(struct vm *vm, unsigned int index, unsigned int slot);

#endif
