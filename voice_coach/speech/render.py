"""Text -> audio, through the prompt cache. Used by the Speaker and by ``say --wav``.

``sentences`` streams: a cached prompt comes back as one piece, an uncached one sentence by
sentence as the engine renders it, and it is cached once it was rendered to the end.
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from voice_coach.errors import UserError
from voice_coach.settings import SpeechSettings
from voice_coach.speech import engines
from voice_coach.speech.cache import PromptCache, key_for


def cache_for(settings: SpeechSettings) -> PromptCache:
    return PromptCache(max_bytes=settings.cache_mb * 1024 * 1024)


def sentences(
    text: str, settings: SpeechSettings, *, rate: int | None = None, cache: PromptCache | None = None,
    language: str = "en", background: bool = False,
) -> Iterator[tuple[np.ndarray, int]]:
    """``text`` as (mono int16 PCM, sample rate) pieces, the first as soon as it is rendered.

    ``rate`` (words per minute) overrides ``settings.rate`` (the session's slower/faster).
    Volume is not baked in: the player applies it, so one cached entry serves every volume.
    Stop iterating (or close the generator) and nothing half-rendered is cached. A ``background``
    render (prerendering) lets prompts that are about to be said go first.
    """
    wpm = int(rate if rate is not None else settings.rate)
    cache = cache if cache is not None else cache_for(settings)
    engine = engines.engine_for(settings, language)
    key = key_for(text, engine.engine, engine.voice, wpm)
    hit = cache.get(key)
    if hit is not None:
        yield hit
        return
    parts: list[np.ndarray] = []
    try:
        for x in engine.sentences(text, wpm, background):
            parts.append(x)
            yield x, engine.sample_rate
    except UserError:
        raise
    except Exception as exc:  # a broken voice: pyttsx3 from now on, and for this text if nothing played
        if engine.engine == "pyttsx3" or parts:
            raise
        engines.give_up(settings, engine, exc)
        yield from sentences(text, settings, rate=wpm, cache=cache, language=language, background=background)
        return
    if parts:
        cache.put(key, np.concatenate(parts), engine.sample_rate)


def render(
    text: str, settings: SpeechSettings, *, rate: int | None = None, cache: PromptCache | None = None,
    language: str = "en", background: bool = False,
) -> tuple[np.ndarray, int]:
    """``text`` as mono int16 PCM and its sample rate; from the cache when it was rendered before."""
    pieces = list(sentences(text, settings, rate=rate, cache=cache, language=language, background=background))
    if not pieces:
        return np.zeros(0, np.int16), engines.engine_for(settings, language).sample_rate
    sr = pieces[0][1]
    return np.concatenate([x for x, _ in pieces]), sr


def is_cached(text: str, settings: SpeechSettings, *, rate: int | None = None, language: str = "en") -> bool:
    wpm = int(rate if rate is not None else settings.rate)
    engine = engines.engine_for(settings, language)
    return cache_for(settings).get(key_for(text, engine.engine, engine.voice, wpm)) is not None


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
