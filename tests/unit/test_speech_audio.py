"""Device choice errors and resampling (voice_coach.audio)."""

from __future__ import annotations

import numpy as np
import pytest

from voice_coach import audio
from voice_coach.errors import DeviceError


def test_unknown_device_name_is_a_clear_error():
    with pytest.raises(DeviceError, match=r"no output device found matching 'no-such-speaker'.*voice-coach devices"):
        audio.resolve_output("no-such-speaker")
    with pytest.raises(DeviceError, match=r"no input device .*voice-coach devices"):
        audio.resolve_input("no-such-microphone")


def test_unknown_index_is_a_clear_error():
    with pytest.raises(DeviceError, match="index 4242"):
        audio.resolve_output(4242)
    with pytest.raises(DeviceError, match="index 4242"):
        audio.resolve_input("4242")


def test_listed_devices_are_resolvable_by_index_and_name():
    for d in audio.list_devices():
        if d.max_output_channels:
            assert audio.resolve_output(d.index) == d
            assert audio.resolve_output(d.name).name == d.name


@pytest.mark.parametrize("dtype", [np.int16, np.float32])
@pytest.mark.parametrize("to_rate", [16000, 44100, 48000])
def test_resample_keeps_frequency_level_and_length(dtype, to_rate):
    t = np.arange(22050) / 22050
    x = 0.3 * np.sin(2 * np.pi * 1000 * t)
    x = (x * 32767).astype(np.int16) if dtype is np.int16 else x.astype(np.float32)
    y = audio.resample(x, 22050, to_rate)
    assert y.dtype == dtype and y.size == to_rate
    spec = np.abs(np.fft.rfft(y.astype(np.float64)))
    assert np.argmax(spec) * to_rate / y.size == pytest.approx(1000, abs=2)
    mid = y[to_rate // 10 : -to_rate // 10].astype(np.float64)
    assert np.sqrt(np.mean(mid**2)) == pytest.approx(np.sqrt(np.mean(x.astype(np.float64) ** 2)), rel=0.02)


def test_resample_removes_what_the_new_rate_cannot_carry():
    t = np.arange(48000) / 48000
    x = (0.5 * np.sin(2 * np.pi * 12000 * t)).astype(np.float32)  # above 8 kHz: must not alias
    y = audio.resample(x, 48000, 16000)
    assert np.sqrt(np.mean(y[1000:-1000] ** 2)) < 0.01


def test_stream_resampler_matches_whole_signal():
    x = (np.random.default_rng(1).standard_normal(48000) * 2000).astype(np.int16)
    r = audio.StreamResampler(48000, 16000)
    parts = [r.process(x[i : i + 480]) for i in range(0, x.size, 480)] + [r.flush()]
    y = np.concatenate(parts)
    assert abs(y.size - 16000) <= 32
    whole = audio.resample(x, 48000, 16000)
    n = min(y.size, whole.size)
    assert np.corrcoef(y[:n].astype(float), whole[:n].astype(float))[0, 1] > 0.99


def test_same_rate_is_a_copy():
    x = np.arange(10, dtype=np.int16)
    y = audio.resample(x, 16000, 16000)
    assert np.array_equal(x, y) and y is not x
