"""Rendering with pyttsx3 (espeak-ng, ``speech.engine = "pyttsx3"``): real synthesis, through the prompt cache."""

from __future__ import annotations

import time
import wave

import numpy as np
import pytest

from voice_coach.errors import UserError
from voice_coach.settings import SpeechSettings
from voice_coach.speech import CHIME_KINDS, render, synth, write_wav
from voice_coach.speech.cache import key_for
from voice_coach.speech.chimes import chime
from voice_coach.speech.render import cache_for, is_cached

TEXT = "Roll slowly up to your shoulders"


def test_render_gives_mono_int16_speech_of_plausible_length():
    x, rate = render(TEXT, SpeechSettings(engine="pyttsx3", rate=165))
    assert rate == 22050 and x.dtype == np.int16 and x.ndim == 1
    seconds = x.size / rate
    assert 1.2 < seconds < 3.5, seconds  # 6 words at 165 wpm is about 2 s
    assert np.abs(x).max() > 8000, "speech should be loud enough"
    tail = x[-int(0.3 * rate):]
    assert np.abs(tail[-int(0.05 * rate):]).max() < 2000 or np.abs(tail).max() > 0
    # espeak's long end pause is trimmed: the last 0.3 s is not all silence
    assert np.abs(tail).max() > 100


def test_rate_changes_the_length_every_time():
    """Alternate rates: each render must use its own rate (espeak once lagged one utterance behind)."""
    lengths = {}
    for i, wpm in enumerate((240, 120, 240, 120, 165, 300, 80)):
        x, r = render(f"Roll slowly up to your shoulders number {i}", SpeechSettings(engine="pyttsx3", rate=wpm))
        lengths.setdefault(wpm, []).append(x.size / r)
    fast, slow = min(lengths[240]), max(lengths[240])
    assert max(lengths[120]) > min(lengths[120]) > 1.6 * slow, lengths
    assert max(lengths[80]) > 1.3 * max(lengths[120]) and max(lengths[300]) < 0.9 * fast, lengths


def test_second_render_comes_from_the_cache():
    s = SpeechSettings(engine="pyttsx3")
    assert not is_cached(TEXT, s)
    first, _ = render(TEXT, s)
    assert is_cached(TEXT, s)
    t = time.perf_counter()
    again, _ = render(TEXT, s)
    assert np.array_equal(first, again)
    assert time.perf_counter() - t < 0.5


def test_a_corrupt_cache_entry_is_rendered_again():
    s = SpeechSettings(engine="pyttsx3")
    first, _ = render(TEXT, s)
    path = cache_for(s).folder / f"{key_for(TEXT, 'pyttsx3', synth.resolve_voice(''), s.rate)}.wav"
    assert path.exists()
    path.write_bytes(b"RIFF....WAVEfmt garbage")
    again, _ = render(TEXT, s)  # espeak is not bit-exact run to run: compare length and shape
    assert abs(again.size - first.size) < 0.01 * first.size
    rms = [np.sqrt(np.mean(v.astype(float) ** 2)) for v in (first, again)]
    assert rms[1] == pytest.approx(rms[0], rel=0.05)
    assert path.stat().st_size > 1000


def test_cache_stays_within_settings_bound():
    s = SpeechSettings(engine="pyttsx3", cache_mb=1)  # about 23 s of audio
    for i in range(16):
        render(f"Step {i}: hold the ice pack on your lower back and breathe slowly and deeply", s)
    assert cache_for(s).size_bytes() <= 1024 * 1024


def test_unknown_voice_is_a_user_error():
    with pytest.raises(UserError, match="no voice matches"):
        render(TEXT, SpeechSettings(engine="pyttsx3", voice="no-such-voice-xyz"))


def test_voice_by_name_fragment():
    assert synth.resolve_voice("en-us") == "gmw/en-us"
    x, _ = render(TEXT, SpeechSettings(engine="pyttsx3", voice="en-us"))
    y, _ = render(TEXT, SpeechSettings(engine="pyttsx3", voice="en-gb-x-rp"))
    assert not np.array_equal(x[: min(x.size, y.size)], y[: min(x.size, y.size)])


def test_pyttsx3_notice_does_not_reach_stdout(capfd):
    render("A sentence never rendered before in this test run", SpeechSettings(engine="pyttsx3"))
    out, _ = capfd.readouterr()
    assert "Audio saved" not in out


def test_many_renders_in_a_row_all_complete():
    s = SpeechSettings(engine="pyttsx3")
    for i in range(10):
        x, _ = render(f"Sentence number {i} of the routine", s)
        assert x.size > 22050 // 2
    assert synth.fallback_reason() is None, "pyttsx3 should not have been given up"


def test_write_wav_applies_the_volume(tmp_path):
    loud = write_wav(TEXT, tmp_path / "loud.wav", SpeechSettings(engine="pyttsx3", volume=1.0))
    soft = write_wav(TEXT, tmp_path / "soft.wav", SpeechSettings(engine="pyttsx3", volume=0.5))
    peaks = []
    for p in (loud, soft):
        with wave.open(str(p)) as w:
            assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22050)
            peaks.append(np.abs(np.frombuffer(w.readframes(w.getnframes()), "<i2")).max())
    assert peaks[1] == pytest.approx(peaks[0] * 0.5, abs=2)


@pytest.mark.parametrize("kind", CHIME_KINDS)
def test_chimes_are_short_and_audible(kind):
    x = chime(kind, 22050)
    assert x.dtype == np.int16 and 0.04 < x.size / 22050 < 1.5
    assert np.abs(x).max() > 3000
    assert abs(int(x[0])) < 500 and abs(int(x[-1])) < 500, "no click at either end"


def test_alert_is_the_loudest_chime_and_kinds_differ():
    peaks = {k: np.abs(chime(k)).max() for k in CHIME_KINDS}
    assert max(peaks, key=peaks.get) == "alert"
    assert len({chime(k).size for k in CHIME_KINDS}) == len(CHIME_KINDS)
    with pytest.raises(ValueError):
        chime("bogus")


def test_an_utterance_pyttsx3_renders_as_silence_is_said_by_espeak_ng_instead(monkeypatch):
    """pyttsx3 #419 (seen here once in a full run): a later utterance came back as an empty WAV.
    A prompt must never be skipped silently."""

    def empty_wav(text, voice, rate, out_path):
        with wave.open(out_path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)

    monkeypatch.setattr(synth, "_synth_pyttsx3", empty_wav)
    x, rate = synth.synthesize("Keep it there for fifteen minutes.", synth.default_voice(), 165)
    assert rate == 22050
    assert x.size > 1.0 * rate  # about two seconds of real speech from the espeak-ng program
    assert np.abs(x).max() > 1000
    assert synth.fallback_reason() is None  # pyttsx3 stays in use for the next utterances
