"""The rendered-prompt cache: bounded, keyed by text/voice/rate, safe when deleted or corrupt."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from voice_coach import paths
from voice_coach.speech.cache import PromptCache, key_for


def _tone(n=22050, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * 3000).astype(np.int16)


def test_round_trip_is_exact_and_lives_in_the_user_cache_dir():
    cache = PromptCache()
    assert cache.folder.is_relative_to(paths.cache_dir())
    x = _tone()
    cache.put("k", x, 22050)
    got, rate = cache.get("k")
    assert rate == 22050 and np.array_equal(got, x)


def test_key_depends_on_text_engine_voice_and_rate():
    keys = {key_for("Roll slowly", "pyttsx3", "gmw/en", 165), key_for("Roll slowly.", "pyttsx3", "gmw/en", 165),
            key_for("Roll slowly", "pyttsx3", "gmw/en-us", 165), key_for("Roll slowly", "pyttsx3", "gmw/en", 185),
            key_for("Roll slowly", "piper", "gmw/en", 165)}
    assert len(keys) == 5
    assert key_for("Roll slowly", "piper", "en_US-joe-medium", 165) == key_for("Roll slowly", "piper",
                                                                             "en_US-joe-medium", 165)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_corrupt_entry_is_a_miss_and_is_removed(damage):
    cache = PromptCache()
    cache.put("k", _tone(), 22050)
    path = cache.folder / "k.wav"
    data = path.read_bytes()
    path.write_bytes({"garbage": b"not a wav at all" * 10, "truncated": data[: len(data) // 2],
                      "empty": b""}[damage])
    assert cache.get("k") is None
    assert not path.exists()
    cache.put("k", _tone(), 22050)  # and it can be filled again
    assert cache.get("k") is not None


def test_a_deleted_cache_folder_is_fine():
    cache = PromptCache()
    cache.put("k", _tone(), 22050)
    for f in cache.folder.iterdir():
        f.unlink()
    cache.folder.rmdir()
    assert cache.get("k") is None
    cache.put("k2", _tone(), 22050)
    assert cache.get("k2") is not None


def test_size_is_bounded_and_least_recently_used_go_first():
    one = 44 + 2 * 22050  # one second of audio as a WAV
    cache = PromptCache(max_bytes=3 * one + 100)
    for i in range(3):
        cache.put(f"k{i}", _tone(seed=i), 22050)
        past = time.time() - 100 + i
        os.utime(cache.folder / f"k{i}.wav", (past, past))
    assert cache.get("k0") is not None  # k0 is now the most recently used
    cache.put("k3", _tone(seed=3), 22050)
    assert cache.size_bytes() <= cache.max_bytes
    assert cache.get("k1") is None, "the least recently used entry should have been evicted"
    assert cache.get("k0") is not None and cache.get("k3") is not None
    for i in range(4, 12):
        cache.put(f"k{i}", _tone(seed=i), 22050)
        assert cache.size_bytes() <= cache.max_bytes


def test_no_partial_files_are_left_behind():
    cache = PromptCache()
    for i in range(5):
        cache.put(f"k{i}", _tone(seed=i), 22050)
    assert sorted(p.suffix for p in cache.folder.iterdir()) == [".wav"] * 5
