"""Telling storage failures apart: a full disk, a read-only folder, a locked file, a damaged file.

SQLite reports most of them as an error name (``SQLITE_FULL``, ``SQLITE_READONLY``...); a few arrive as
a bare ``disk I/O error`` (a full disk while it sets up the WAL index, a write past ``RLIMIT_FSIZE``),
so those are explained by looking at the folder itself (free space, read-only mount, size limit).
Only what is really damaged is called damaged: people move a damaged file aside, a full disk needs room.
"""

from __future__ import annotations

import errno
import os
import resource
import sqlite3
from pathlib import Path

from voice_coach.errors import (EXIT_DAMAGED, EXIT_DISK_FULL, EXIT_IO, EXIT_LOCKED, EXIT_READ_ONLY,
                                StorageError)

LOW_SPACE_BYTES = 256 * 1024  # less than this free: a failed write is taken as "disk full"


def full(path: Path, doing: str) -> StorageError:
    return StorageError(f"Cannot {doing} {path}: the disk is full. Free some space and try again; "
                        "nothing was lost that was already saved.", "full", EXIT_DISK_FULL)


def read_only(path: Path, doing: str) -> StorageError:
    return StorageError(f"Cannot {doing} {path}: the folder {path.parent} is read-only (or not yours to "
                        "write). Make it writable, or point XDG_DATA_HOME at a writable folder.",
                        "read-only", EXIT_READ_ONLY)


def locked(path: Path, doing: str) -> StorageError:
    return StorageError(f"Cannot {doing} {path}: another program holds it locked. Try again in a moment.",
                        "locked", EXIT_LOCKED)


def damaged(path: Path, why: str) -> StorageError:
    return StorageError(
        f"The file {path} is damaged ({why}). It was left untouched. To start afresh, move it aside "
        f"(e.g. mv '{path}' '{path}.damaged'); you can still try to rescue it with the sqlite3 tool's "
        ".recover command.", "damaged", EXIT_DAMAGED)


def io_error(path: Path, doing: str, detail: str) -> StorageError:
    return StorageError(f"Cannot {doing} {path}: the disk reported an error ({detail}). The file itself may "
                        "be fine; check the disk (dmesg) and try again.", "io", EXIT_IO)


def _folder_state(path: Path) -> str | None:
    """'full' or 'read-only' when the folder explains a failed write, else None."""
    folder = path if path.is_dir() else path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY or not os.access(folder, os.W_OK):
        return "read-only"
    if st.f_bavail * st.f_frsize < LOW_SPACE_BYTES:
        return "full"
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        try:
            biggest = max((p.stat().st_size for p in folder.glob(path.name + "*")), default=0)
        except OSError:
            biggest = 0
        if biggest + LOW_SPACE_BYTES >= limit:
            return "full"
    return None


def classify(exc: BaseException, path: Path, doing: str) -> StorageError:
    """The one StorageError that says what really went wrong with ``path``."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError) and not isinstance(exc, sqlite3.Error):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return full(path, doing)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            return read_only(path, doing)
        return io_error(path, doing, exc.strerror or str(exc))
    if isinstance(exc, UnicodeDecodeError):
        return damaged(path, "a stored text is not valid UTF-8")
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name == "SQLITE_FULL" or "disk is full" in text:
        return full(path, doing)
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return read_only(path, doing)
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return locked(path, doing)
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text or "not a database" in text \
            or "decode" in text:
        return damaged(path, text)
    state = _folder_state(path)
    if state == "full":
        return full(path, doing)
    if state == "read-only":
        return read_only(path, doing)
    if name.startswith("SQLITE_CANTOPEN"):
        return read_only(path, doing) if path.exists() else io_error(path, doing, text)
    return io_error(path, doing, text)
