"""Zip packages (.docx) assembled from members deflated once.

A national plan writes thousands of agreement documents that share one styled Word package; its styles alone are
0.8 MB of XML, and deflating them again for every agreement was most of the export's time. Here the shared
members are deflated once and copied as compressed bytes; only the members that differ are deflated per document.
The layout is the plain zip format (no zip64: a package is far below 4 GB), readable by Word, WPS, LibreOffice
and Python's zipfile.
"""
from __future__ import annotations

import struct
import time
import zlib
from dataclasses import dataclass

_LOCAL = struct.Struct("<4s2B4HL2L2H")  # local file header
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")  # central directory entry
_END = struct.Struct("<4s4H2LH")  # end of central directory
_DEFLATED, _VERSION, _UNIX, _UTF8_NAME = 8, 20, 3, 0x800
_MODE = 0o600 << 16  # the permissions zipfile.writestr gives a member


@dataclass(frozen=True)
class Member:
    """One member of a package, already deflated."""

    name: bytes
    flags: int
    crc: int
    size: int
    packed: bytes


def deflated(name: str, data: bytes) -> Member:
    """The member `name` holding `data`, deflated as zipfile's ZIP_DEFLATED does (zlib's default level)."""
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
    packed = packer.compress(data) + packer.flush()
    try:
        encoded, flags = name.encode("ascii"), 0
    except UnicodeEncodeError:
        encoded, flags = name.encode("utf-8"), _UTF8_NAME
    return Member(encoded, flags, zlib.crc32(data), len(data), packed)


def dos_stamp(when: tuple | None = None) -> tuple[int, int]:
    """(time, date) in the zip format's MS-DOS fields, for `when` (a time tuple; now, local time, by default)."""
    y, mo, d, h, mi, s = (when or time.localtime())[:6]
    return (h << 11) | (mi << 5) | (s // 2), ((y - 1980) << 9) | (mo << 5) | d


def package_bytes(members: list[Member], stamp: tuple[int, int]) -> bytes:
    """The zip file holding `members` in order, each stamped with `stamp` (see dos_stamp)."""
    dos_time, dos_date = stamp
    out, central = bytearray(), bytearray()
    for m in members:
        offset = len(out)
        out += _LOCAL.pack(b"PK\x03\x04", _VERSION, 0, m.flags, _DEFLATED, dos_time, dos_date, m.crc,
                           len(m.packed), m.size, len(m.name), 0)
        out += m.name
        out += m.packed
        central += _CENTRAL.pack(b"PK\x01\x02", _VERSION, _UNIX, _VERSION, 0, m.flags, _DEFLATED, dos_time, dos_date,
                                 m.crc, len(m.packed), m.size, len(m.name), 0, 0, 0, 0, _MODE, offset)
        central += m.name
    start = len(out)
    out += central
    out += _END.pack(b"PK\x05\x06", 0, 0, len(members), len(members), len(central), start, 0)
    return bytes(out)


__all__ = ["Member", "deflated", "dos_stamp", "package_bytes"]
