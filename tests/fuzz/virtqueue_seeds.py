#!/usr/bin/env python3
"""Writes starting inputs for fuzz_virtqueue into the directory argv[1]:
valid rings (one buffer, a chain, an indirect table, EVENT_IDX) so the
fuzzer mutates from shapes a driver really builds. Layout as in
fuzz_virtqueue.c: byte 0 log2(size), byte 1 flags, then RAM from 0 with
avail at 0x0, desc at 0x240, used at 0x800."""
import os
import struct
import sys

AVAIL, DESC = 0x0, 0x240


def image(log2size, flags, descs, heads, extra=()):
    ram = bytearray(0x1000)
    struct.pack_into('<HH', ram, AVAIL, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into('<H', ram, AVAIL + 4 + 2 * i, h)
    for i, (addr, ln, fl, nxt) in enumerate(descs):
        struct.pack_into('<QIHH', ram, DESC + 16 * i, addr, ln, fl, nxt)
    for off, blob in extra:
        ram[off:off + len(blob)] = blob
    return bytes([log2size, flags]) + bytes(ram)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    ind = b''.join(struct.pack('<QIHH', 0xc00 + 16 * i, 16,
                               (1 if i < 2 else 0) | (2 if i == 2 else 0),
                               i + 1) for i in range(3))
    seeds = {
        'single': image(3, 0, [(0xc00, 64, 0, 0)], [0]),
        'chain': image(3, 1, [(0xc00, 16, 1, 1), (0xd00, 64, 3, 2),
                              (0xe00, 1, 2, 0)], [0, 0]),
        'indirect': image(4, 3, [(0xa00, 48, 4, 0)], [0],
                          extra=[(0xa00, ind)]),
        'many': image(2, 1, [(0xc00, 8, 0, 0), (0xc10, 8, 2, 0),
                             (0xc20, 8, 0, 0), (0xc30, 8, 2, 0)],
                      [0, 1, 2, 3]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, 'seed-' + name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
