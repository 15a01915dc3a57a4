"""Is a history file's write-ahead log readable? (SQLite's WAL format, checked without SQLite.)

SQLite silently ignores a WAL whose header or frames fail their checksums: the sessions in it read as
absent, and the next read-write open would checkpoint, reset and so delete them. So a WAL that holds
committed frames SQLite would skip is reported as damage before anything opens the file.
Format: https://www.sqlite.org/fileformat2.html#walformat
"""

from __future__ import annotations

import struct
from array import array
from pathlib import Path

_MAGIC = (0x377F0682, 0x377F0683)  # ...83: checksums on big-endian words
_HEADER = 32
_FRAME_HEADER = 24
_MASK = 0xFFFFFFFF


def _checksum(data: bytes, big_endian: bool, s0: int = 0, s1: int = 0) -> tuple[int, int]:
    words = array("I", data)
    if big_endian != (struct.pack("=I", 1) == b"\x00\x00\x00\x01"):
        words.byteswap()
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & _MASK
        s1 = (s1 + words[i + 1] + s0) & _MASK
    return s0, s1


def problem(db: Path) -> str | None:
    """Why the WAL next to ``db`` would lose committed data, or None when it is fine or absent."""
    wal = db.with_name(db.name + "-wal")
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return None
    if len(data) < _HEADER:
        return None  # an empty (or just-created) log holds nothing
    magic, version, page_size, _seq, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:_HEADER])
    frame = _FRAME_HEADER + page_size if page_size else 0
    if magic not in _MAGIC or not page_size or page_size & (page_size - 1) or version != 3007000:
        return "its write-ahead log (-wal) has a damaged header" if len(data) > _HEADER else None
    big = magic & 1 == 1
    s0, s1 = _checksum(data[:24], big)
    if (s0, s1) != (c1, c2):
        return "its write-ahead log (-wal) has a damaged header" if len(data) >= _HEADER + frame else None
    offset, broken = _HEADER, False
    while offset + frame <= len(data):
        head = data[offset:offset + _FRAME_HEADER]
        _page, commit, f1, f2, k1, k2 = struct.unpack(">6I", head)
        mine = (f1, f2) == (salt1, salt2)
        if not broken:
            if not mine:
                return None  # the rest is left over from before the log was last reset
            s0, s1 = _checksum(head[:8] + data[offset + _FRAME_HEADER:offset + frame], big, s0, s1)
            if (s0, s1) != (k1, k2):
                broken = True
        elif mine and commit:
            return "its write-ahead log (-wal) is damaged: saved changes after the damage would be lost"
        offset += frame
    return None
