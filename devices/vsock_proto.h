/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock packet header and the checks every guest packet passes
 * (virtio 1.2 §5.10.6), plus the hybrid vsock "CONNECT <port>\n" line of
 * the host side (devices/ internal; pure functions, unit tested).
 */
#ifndef PODVISOR_DEVICES_VSOCK_PROTO_H
#define PODVISOR_DEVICES_VSOCK_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define VSOCK_CID_HOST     2
#define VSOCK_TYPE_STREAM  1
#define VSOCK_HDR_SIZE     44
#define VSOCK_MAX_PAYLOAD  (64 * 1024)
#define VSOCK_CONNECT_LINE 64 /* longest accepted CONNECT line */

enum vsock_op {
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

#define VSOCK_SHUTDOWN_RCV  1
#define VSOCK_SHUTDOWN_SEND 2

/* Little-endian on the wire; x86 hosts only, so used as is. */
struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

_Static_assert(sizeof(struct vsock_hdr) == VSOCK_HDR_SIZE,
               "virtio-vsock header is 44 bytes");

/*
 * Checks a header the guest sent with payload_len bytes after it: source
 * is guest_cid, destination the host, op known, type stream, len within
 * the payload, VSOCK_MAX_PAYLOAD and zero for every op but RW. Returns 0,
 * or -EINVAL with *why naming the field, or -EPROTOTYPE for a type other
 * than stream (the device answers those with RST).
 */
int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid,
                    uint64_t payload_len, const char **why);

/*
 * Parses the host client's first line in buf[0..len): "CONNECT <port>\n"
 * (a trailing '\r' is accepted). Returns the number of bytes the line used
 * (> 0) with *port set, 0 when no newline arrived yet and the line may
 * still be valid, or -EINVAL when it can never be valid.
 */
int vsock_parse_connect(const char *buf, size_t len, uint32_t *port);

#endif
