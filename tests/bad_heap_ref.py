#!/usr/bin/env python3
"""Copies an HDF5 file with the stored heap reference of one variable-length
string replaced by one to an object its global heap does not hold (issue 17:
HDF5 1.10's H5HG_read dereferences it unchecked). The string is found by its
value; its reference is the 16 bytes (length, collection address, index)
that name the object holding it.
usage: bad_heap_ref.py IN OUT VALUE"""
import struct
import sys

src, dst, value = sys.argv[1], sys.argv[2], sys.argv[3].encode()
b = bytearray(open(src, "rb").read())
assert b[:8] == b"\x89HDF\r\n\x1a\n" and b[8] == 0, "expects a version-0 superblock at 0"
offsets, lengths = b[13], b[14]
assert offsets == 8 and lengths == 8
done = 0
at = b.find(b"GCOL")
while at >= 0:
    size = struct.unpack_from("<Q", b, at + 8)[0]
    p, held = at + 16, set()
    found = None
    while p + 16 <= at + size:
        idx, _, _, osize = struct.unpack_from("<HHIQ", b, p)
        if idx == 0:
            break
        held.add(idx)
        if bytes(b[p + 16:p + 16 + osize]) == value:
            found = (idx, osize)
        p += 16 + ((osize + 7) & ~7)
    if found:
        ref = struct.pack("<IQI", found[1], at, found[0])
        absent = max(held) + 7
        k = b.find(ref)
        while k >= 0:
            b[k:k + 16] = struct.pack("<IQI", found[1], at, absent)
            done += 1
            k = b.find(ref, k + 16)
    at = b.find(b"GCOL", at + 4)
assert done > 0, "no reference to %r" % value
open(dst, "wb").write(b)
