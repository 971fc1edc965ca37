// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <string.h>

#include "vsock_proto.h"

int vsock_hdr_check(const struct vsock_hdr *h, uint64_t guest_cid,
                    uint64_t payload_len, const char **why)
{
	if (h->src_cid != guest_cid)
		*why = "src_cid is not the guest's CID";
	else if (h->dst_cid != VSOCK_CID_HOST)
		*why = "dst_cid is not the host (2)";
	else if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
		*why = "unknown op";
	else if (h->len > payload_len)
		*why = "len runs past the buffer";
	else if (h->len > VSOCK_MAX_PAYLOAD)
		*why = "len above 64 KiB";
	else if (h->op != VSOCK_OP_RW && h->len)
		*why = "payload on a control packet";
	else if (h->type != VSOCK_TYPE_STREAM)
		return *why = "type is not stream", -EPROTOTYPE;
	else
		return 0;
	return -EINVAL;
}

int vsock_parse_connect(const char *buf, size_t len, uint32_t *port)
{
	static const char verb[] = "CONNECT ";
	const size_t vlen = sizeof(verb) - 1;
	uint64_t v = 0;
	size_t i;

	if (len < vlen)
		return memcmp(buf, verb, len) ? -EINVAL : 0;
	if (memcmp(buf, verb, vlen) != 0)
		return -EINVAL;
	for (i = vlen; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		v = v * 10 + (uint64_t)(buf[i] - '0');
		if (v > UINT32_MAX || i - vlen >= 10)
			return -EINVAL;
	}
	if (i == len)
		return len >= VSOCK_CONNECT_LINE ? -EINVAL : 0;
	if (i == vlen)
		return -EINVAL; /* no digits */
	if (buf[i] == '\r')
		i++;
	if (i == len)
		return 0;
	if (buf[i] != '\n')
		return -EINVAL;
	*port = (uint32_t)v;
	return (int)(i + 1);
}
