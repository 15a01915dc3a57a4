"""The built-in Whisper model's files are checked against the recorded SHA-256 sums, once."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from voice_coach import paths
from voice_coach.errors import UserError
from voice_coach.hearing import make_recognizer, model_sums
from voice_coach.hearing.whisper_engine import default_model_path
from voice_coach.settings import HearingSettings


@pytest.fixture(autouse=True)
def fresh_process_memory():
    model_sums._verified.clear()  # as in a new process
    yield
    model_sums._verified.clear()


def small_model(tmp_path):
    files = {"model.bin": b"weights" * 1000, "config.json": b"{}"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def test_the_installed_wheel_has_the_recorded_files_and_the_verdict_is_cached():
    folder = default_model_path()
    model_sums.verify(folder)
    cached = json.loads((paths.cache_dir() / "model-sums.json").read_text())[str(folder.resolve())]
    assert {name: entry[2] for name, entry in cached.items()} == model_sums.SUMS
    assert all(entry[0] == (folder / name).stat().st_size for name, entry in cached.items())


def test_the_built_in_engine_checks_its_model_at_first_load():
    make_recognizer(HearingSettings(engine="whisper"))
    assert str(default_model_path().resolve()) in json.loads((paths.cache_dir() / "model-sums.json").read_text())


def test_a_changed_file_is_a_clear_error(tmp_path):
    sums = small_model(tmp_path)
    model_sums.verify(tmp_path, sums)
    model_sums._verified.clear()
    (tmp_path / "model.bin").write_bytes(b"weightz" * 1000)  # same size, new mtime
    with pytest.raises(UserError, match=r"model\.bin is not the one recorded .*pip install --force-reinstall"):
        model_sums.verify(tmp_path, sums)


def test_a_missing_file_is_a_clear_error(tmp_path):
    sums = small_model(tmp_path)
    (tmp_path / "config.json").unlink()
    with pytest.raises(UserError, match="incomplete: .*config.json is missing"):
        model_sums.verify(tmp_path, sums)


def test_the_cache_is_keyed_by_size_and_mtime(tmp_path):
    """A file whose size and mtime are those found good is not hashed again (that is the speed-up);
    any change of either is hashed."""
    sums = small_model(tmp_path)
    model_sums.verify(tmp_path, sums)
    st = (tmp_path / "model.bin").stat()
    (tmp_path / "model.bin").write_bytes(b"weightz" * 1000)
    os.utime(tmp_path / "model.bin", ns=(st.st_atime_ns, st.st_mtime_ns))
    model_sums._verified.clear()
    model_sums.verify(tmp_path, sums)  # cache hit: not read
    os.utime(tmp_path / "model.bin", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    model_sums._verified.clear()
    with pytest.raises(UserError, match="not the one recorded"):
        model_sums.verify(tmp_path, sums)
