"""Which engine the settings give, and clear errors for what a user can fix."""

from __future__ import annotations

import wave

import numpy as np
import pytest

from voice_coach.errors import UserError
from voice_coach.hearing import make_recognizer, recognize_wav
from voice_coach.hearing.factory import find_vosk_model, vosk_model_language
from voice_coach.hearing.pcm import read_audio
from voice_coach.settings import HearingSettings


def test_a_missing_model_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not a folder"):
        make_recognizer(HearingSettings(model_path=str(tmp_path / "nope")))


def test_a_folder_that_is_no_model_is_a_user_error(tmp_path):
    (tmp_path / "junk.txt").write_text("x")
    with pytest.raises(UserError, match="neither a Vosk model"):
        make_recognizer(HearingSettings(model_path=str(tmp_path)))


def test_a_broken_vosk_model_is_a_user_error(tmp_path):
    for d in ("am", "conf", "graph"):
        (tmp_path / d).mkdir()
    (tmp_path / "am" / "final.mdl").write_bytes(b"not a model")
    (tmp_path / "conf" / "model.conf").write_text("")
    with pytest.raises(UserError, match="could not load the Vosk model"):
        make_recognizer(HearingSettings(engine="vosk", model_path=str(tmp_path)))


def test_whisper_is_english_only():
    with pytest.raises(UserError, match="only knows English"):
        make_recognizer(HearingSettings(engine="whisper", language="ko"))


def test_vosk_without_an_english_model_names_the_download_and_the_fallback():
    with pytest.raises(UserError, match="model download.*whisper"):
        make_recognizer(HearingSettings(engine="vosk", language="en"))


def test_unknown_language_is_a_user_error():
    with pytest.raises(UserError, match="no command vocabulary"):
        make_recognizer(HearingSettings(language="xx"))


def test_auto_finds_a_vosk_model_in_the_user_models_folder(tmp_path):
    from voice_coach import paths

    model = paths.user_models_dir() / "vosk-model-small-en-us-0.15"
    for d in ("am", "conf", "graph"):
        (model / d).mkdir(parents=True)
    (model / "am" / "final.mdl").write_bytes(b"")
    assert find_vosk_model(HearingSettings(language="en")) == model
    assert find_vosk_model(HearingSettings(language="ko")).name == "model"  # the packaged Korean one
    assert vosk_model_language(model) == "en"


def test_read_audio_any_rate_and_stereo(tmp_path):
    path = tmp_path / "stereo44k.wav"
    t = np.arange(44100) / 44100
    x = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
        w.writeframes(np.stack([x, x], axis=1).tobytes())
    pcm = np.frombuffer(read_audio(path), dtype=np.int16)
    assert abs(len(pcm) - 16000) < 200
    assert 5000 < np.abs(pcm).max() < 9000


def test_recognize_wav_missing_or_unreadable_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        recognize_wav(tmp_path / "missing.wav", HearingSettings())
    bad = tmp_path / "bad.wav"
    bad.write_text("this is not audio")
    with pytest.raises(UserError, match="cannot read it as audio"):
        recognize_wav(bad, HearingSettings())
