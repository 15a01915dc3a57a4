"""``voice-coach listen --wav`` as a user runs it: a subprocess on real synthesized speech."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "scripts" / "make_corpus.py")
corpus = importlib.util.module_from_spec(spec)
sys.modules["make_corpus"] = corpus
spec.loader.exec_module(corpus)


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


@pytest.fixture(scope="module")
def wavs(tmp_path_factory):
    d = tmp_path_factory.mktemp("wav")
    out = {}
    for i, (name, text, voice) in enumerate([("next", "next", "en-us"), ("pause", "pause", "flite:slt"),
                                             ("hold_on", "hold on", "en-gb+f3"),
                                             ("narration", corpus.NARRATION["en"][0], "en-us"),
                                             ("narration2", corpus.NARRATION["en"][6], "flite:rms")]):
        x = corpus.synth(text, voice, 170, d)
        audio, _, _ = corpus.place(x, "clean", None, np.random.default_rng(i))
        out[name] = d / f"{name}.wav"
        corpus.write_wav(out[name], audio)
    # the same "next" at 44.1 kHz stereo, as a phone recorder would write it
    out["next_stereo"] = d / "next_stereo.wav"
    subprocess.run(["sox", str(out["next"]), "-r", "44100", "-c", "2", str(out["next_stereo"])], check=True)
    return out


def test_listen_wav_json_prints_the_right_commands(wavs):
    files = [wavs["next"], wavs["pause"], wavs["hold_on"], wavs["next_stereo"]]
    r = cli("listen", "--engine", "whisper", "--json", "--wav", *map(str, files))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(Path(o["file"]).name, o["command"]) for o in rows] == [
        ("next.wav", "next"), ("pause.wav", "pause"), ("hold_on.wav", "pause"), ("next_stereo.wav", "next")]
    for o in rows:
        assert set(o) >= {"file", "command", "text", "start", "end", "confidence"}
        assert 0 < o["start"] < o["end"]


def test_listen_wav_prints_nothing_for_narration(wavs):
    r = cli("listen", "--json", "--wav", str(wavs["narration"]), str(wavs["narration2"]))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""


def test_listen_words_narrows_the_vocabulary(wavs):
    r = cli("listen", "--json", "--words", "yes", "no", "--wav", str(wavs["next"]))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == ""
    r = cli("listen", "--words", "banana", "--wav", str(wavs["next"]))
    assert r.returncode == 2 and "not in the en vocabulary" in r.stderr


def test_listen_missing_or_unreadable_file_is_a_clear_error(tmp_path, wavs):
    r = cli("listen", "--wav", str(wavs["next"]), str(tmp_path / "missing.wav"))
    assert r.returncode != 0
    assert "missing.wav: no such file" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00garbage")
    r = cli("listen", "--wav", str(bad))
    assert r.returncode != 0 and "cannot read it as audio" in r.stderr and "Traceback" not in r.stderr


def test_listen_bad_model_path_is_a_clear_error(tmp_path, wavs):
    r = cli("listen", "--model", str(tmp_path / "nope"), "--wav", str(wavs["next"]))
    assert r.returncode == 2 and "not a folder" in r.stderr and "Traceback" not in r.stderr


def test_a_clip_trimmed_to_its_first_and_last_sample_is_heard_like_the_padded_one(tmp_path):
    """A real "yes" (tests/data/real) cut so that speech starts at the first sample and ends at the
    last: `listen --wav` treats a file's edges as silence, so it hears what it hears with padding."""
    import wave

    with wave.open(str(ROOT / "tests" / "data" / "real" / "yes-sc1_2.wav")) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160).astype(np.float64)
    loud = np.flatnonzero(np.sqrt(np.mean(frames ** 2, axis=1)) > 10 ** (-35 / 20) * 32768)
    trimmed = x[loud[0] * 160 : (loud[-1] + 1) * 160]
    padded = np.concatenate([np.zeros(16000, np.int16), trimmed, np.zeros(16000, np.int16)])
    for name, pcm in (("trimmed", trimmed), ("padded", padded)):
        with wave.open(str(tmp_path / f"{name}.wav"), "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(pcm.tobytes())
    assert len(trimmed) < 0.6 * len(x)  # the clip's own silence really is gone
    r = cli("listen", "--engine", "whisper", "--json", "--wav", str(tmp_path / "trimmed.wav"), str(tmp_path / "padded.wav"))
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [(Path(o["file"]).stem, o["command"]) for o in rows] == [("trimmed", "yes"), ("padded", "yes")], rows
