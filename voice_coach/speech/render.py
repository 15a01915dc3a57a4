"""Text -> audio, through the prompt cache. Used by the Speaker and by ``say --wav``."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from voice_coach.settings import SpeechSettings
from voice_coach.speech import synth
from voice_coach.speech.cache import PromptCache, key_for


def cache_for(settings: SpeechSettings) -> PromptCache:
    return PromptCache(max_bytes=settings.cache_mb * 1024 * 1024)


def render(
    text: str, settings: SpeechSettings, *, rate: int | None = None, cache: PromptCache | None = None
) -> tuple[np.ndarray, int]:
    """``text`` as mono int16 PCM and its sample rate; from the cache when it was rendered before.

    ``rate`` (words per minute) overrides ``settings.rate`` (the session's slower/faster).
    Volume is not baked in: the player applies it, so one cached entry serves every volume.
    """
    wpm = int(rate if rate is not None else settings.rate)
    voice = synth.resolve_voice(settings.voice)
    cache = cache if cache is not None else cache_for(settings)
    key = key_for(text, voice, wpm)
    hit = cache.get(key)
    if hit is not None:
        return hit
    samples, sr = synth.synthesize(text, voice, wpm)
    if samples.size:
        cache.put(key, samples, sr)
    return samples, sr


def is_cached(text: str, settings: SpeechSettings, *, rate: int | None = None) -> bool:
    wpm = int(rate if rate is not None else settings.rate)
    key = key_for(text, synth.resolve_voice(settings.voice), wpm)
    return cache_for(settings).get(key) is not None


def write_wav(text: str, path: str | Path, settings: SpeechSettings) -> Path:
    """Write ``text`` as a WAV file at the settings' volume (for ``voice-coach say --wav``)."""
    samples, sr = render(text, settings)
    scaled = np.clip(np.round(samples.astype(np.float32) * settings.volume), -32768, 32767).astype("<i2")
    path = Path(path)
    with open(path, "wb") as f, wave.open(f, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(scaled.tobytes())
    return path
