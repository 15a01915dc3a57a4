"""`voice-coach say` and `voice-coach devices` as a user runs them (subprocess), without the room."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import pytest


def run(*args, env_extra=None):
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "voice_coach", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_say_wav_writes_the_sentence(tmp_path):
    out = tmp_path / "roll.wav"
    p = run("say", "Roll slowly up to your shoulders", "--wav", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(out), "only the path is printed (no pyttsx3 chatter)"
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        assert 1.2 < w.getnframes() / w.getframerate() < 3.5


def test_say_wav_into_a_missing_folder_is_a_clear_error(tmp_path):
    p = run("say", "Hello", "--wav", str(tmp_path / "nope" / "x.wav"))
    assert p.returncode == 2
    assert "cannot write" in p.stderr and "Traceback" not in p.stderr


def test_say_with_an_unknown_device_is_a_clear_error():
    p = run("say", "Hello", "--output-device", "nonexistent")
    assert p.returncode == 3, p.stderr
    assert "no output device found matching 'nonexistent'" in p.stderr
    assert "voice-coach devices" in p.stderr and "Traceback" not in p.stderr


def test_say_with_no_audio_server_at_all_is_a_clear_error(tmp_path):
    # PortAudio's ALSA devices route through PulseAudio; a server that is not there = no device.
    p = run("say", "Hello", env_extra={"PULSE_SERVER": f"unix:{tmp_path}/no-server"})
    assert p.returncode == 3, p.stderr
    assert "no output device" in p.stderr and "Traceback" not in p.stderr


def test_say_with_an_unknown_voice_is_a_clear_error(tmp_path):
    cfg = run("config", "set", "speech.voice", "klingon-xyz")  # refused when set ...
    assert cfg.returncode == 2 and "no voice matches" in cfg.stderr, cfg.stderr
    path = Path(run("config", "path").stdout.strip())  # ... and when the file is edited by hand
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[speech]\nvoice = "klingon-xyz"\n', encoding="utf-8")
    p = run("say", "Hello", "--wav", str(tmp_path / "x.wav"))
    assert p.returncode == 2 and "no voice matches" in p.stderr and "Traceback" not in p.stderr


def test_say_needs_text():
    p = run("say", "   ")
    assert p.returncode == 2 and "nothing to say" in p.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_devices_lists_and_marks_the_picks(as_json):
    p = run("devices", *(["--json"] if as_json else []))
    assert p.returncode == 0, p.stderr
    if as_json:
        data = json.loads(p.stdout)
        assert set(data) >= {"devices", "output", "input", "problems"}
        for d in data["devices"]:
            assert set(d) >= {"index", "name", "max_input_channels", "max_output_channels",
                              "default_samplerate", "hostapi", "picked_output", "picked_input"}
        if data["output"] is not None:
            assert sum(d["picked_output"] for d in data["devices"]) == 1
    else:
        assert p.stdout.splitlines()[0].split()[:4] == ["#", "in", "out", "rate"]
