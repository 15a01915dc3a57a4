"""The rendered-prompt cache: a routine is synthesized once, not every day.

One WAV per (text, engine, voice, rate) in ``paths.cache_dir()/speech``. Writes are atomic (temp file +
rename), a read that fails for any reason (deleted, truncated, garbage) is a miss and the bad file
is removed, and the folder is kept under its byte bound by evicting the least recently used files.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import wave
from pathlib import Path

import numpy as np

from voice_coach import paths

log = logging.getLogger(__name__)

FORMAT_VERSION = 3  # bump when the rendering changes, so old entries are never served


def key_for(text: str, engine: str, voice: str, rate: int) -> str:
    """Volume is not part of the key: it is applied at playback, so one entry serves every volume."""
    h = hashlib.sha256(f"v{FORMAT_VERSION}\0{engine}\0{voice}\0{int(rate)}\0{text}".encode("utf-8"))
    return h.hexdigest()[:40]


class PromptCache:
    def __init__(self, folder: Path | None = None, max_bytes: int = 64 * 1024 * 1024):
        self.folder = Path(folder) if folder is not None else paths.cache_dir() / "speech"
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.wav"

    def get(self, key: str) -> tuple[np.ndarray, int] | None:
        p = self._path(key)
        try:
            with wave.open(str(p), "rb") as w:
                if w.getnchannels() != 1 or w.getsampwidth() != 2:
                    raise wave.Error("not mono 16-bit")
                n, rate = w.getnframes(), w.getframerate()
                raw = w.readframes(n)
            x = np.frombuffer(raw, dtype="<i2").astype(np.int16)
            if x.size != n or n == 0:
                raise wave.Error(f"truncated ({x.size} of {n} samples)")
        except FileNotFoundError:
            return None
        except (wave.Error, EOFError, OSError, ValueError) as exc:
            log.warning("dropping a bad cache entry %s: %s", p.name, exc)
            p.unlink(missing_ok=True)
            return None
        try:
            os.utime(p)  # mark as recently used, for eviction
        except OSError:
            pass
        return x, rate

    def put(self, key: str, samples: np.ndarray, rate: int) -> None:
        """Store; never raises for a full disk or a vanished folder (the cache is optional)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".part")
            with os.fdopen(fd, "wb") as f, wave.open(f, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(int(rate))
                w.writeframes(np.asarray(samples, dtype="<i2").tobytes())
            os.replace(tmp, self._path(key))
        except OSError as exc:
            log.warning("could not cache a rendered prompt: %s", exc)
            return
        self.trim()

    def size_bytes(self) -> int:
        return sum(e.stat().st_size for e in self._entries())

    def _entries(self) -> list[os.DirEntry]:
        try:
            return [e for e in os.scandir(self.folder) if e.name.endswith(".wav")]
        except OSError:
            return []

    def trim(self) -> None:
        """Evict least recently used entries until the folder is within its bound."""
        with self._lock:
            entries = []
            for e in self._entries():
                try:
                    st = e.stat()
                except OSError:
                    continue
                entries.append((st.st_mtime, st.st_size, e.path))
            total = sum(s for _, s, _ in entries)
            for _, size, path in sorted(entries):
                if total <= self.max_bytes:
                    break
                try:
                    os.unlink(path)
                    total -= size
                except OSError:
                    pass

    def clear(self) -> None:
        for e in self._entries():
            try:
                os.unlink(e.path)
            except OSError:
                pass
