"""Which speech engine speaks: Piper's neural voice when it is installed, pyttsx3 otherwise.

Both engines offer the same small interface (``engine``, ``voice``, ``sample_rate``, ``describe()``,
``sentences(text, wpm, background)`` yielding int16 PCM per sentence), so render, cache and player never ask
which one they have. pyttsx3 is the fallback (32-bit ARM has no Piper wheels; a missing or broken
voice; ``speech.engine = "pyttsx3"``; a language the Piper voice does not speak). A fallback is
said once per process as one warning line, never a traceback.
"""

from __future__ import annotations

import logging
import platform
import threading
from collections.abc import Iterator

import numpy as np

from voice_coach.settings import SpeechSettings
from voice_coach.speech import piper_engine, synth

log = logging.getLogger(__name__)

_lock = threading.Lock()
_chosen: dict[tuple, object] = {}
_noticed: set[str] = set()
_broken: dict[tuple, str] = {}  # Piper voices that failed while rendering: pyttsx3 from then on


class Pyttsx3Speech:
    """pyttsx3 / espeak-ng behind the engine interface (one chunk: it renders a text in ~10 ms)."""

    engine = "pyttsx3"
    sample_rate = synth.SYNTH_RATE

    def __init__(self, voice_spec: str):
        self.voice = synth.resolve_voice(voice_spec)  # UserError for a voice that does not exist

    def describe(self) -> str:
        return f"pyttsx3 / espeak-ng voice {self.voice}"

    def sentences(self, text: str, wpm: int, background: bool = False) -> Iterator[np.ndarray]:
        x, _ = synth.synthesize(text, self.voice, wpm)
        yield x


def _notice(message: str) -> None:
    if message not in _noticed:
        _noticed.add(message)
        log.warning("%s", message)


def chose_pyttsx3(settings: SpeechSettings) -> str | None:
    """The setting by which the user chose pyttsx3, if any: the engine, or (with engine auto and no
    Piper voice_path) an espeak voice in speech.voice, which keeps meaning what it meant before Piper."""
    if settings.engine == "pyttsx3":
        return "speech.engine = pyttsx3"
    if settings.engine == "auto" and settings.voice and not settings.voice_path:
        return f"speech.voice = {settings.voice!r}"
    return None


def why_not_piper(settings: SpeechSettings) -> str | None:
    """Why Piper will not speak (None if it can), without loading the model."""
    chosen = chose_pyttsx3(settings)
    if chosen:
        return chosen
    if platform.machine().lower() in ("armv7l", "armv6l", "armhf") and not settings.voice_path:
        return f"Piper has no wheels for 32-bit ARM ({platform.machine()})"
    try:
        piper_engine.voice_files(settings.voice_path)
    except piper_engine.VoiceUnavailable as exc:
        return str(exc)
    return None


def engine_for(settings: SpeechSettings, language: str = "en"):
    """The engine for these settings, chosen (and its voice loaded) once per process."""
    key = (settings.engine, settings.voice_path, settings.voice, settings.threads, language)
    with _lock:
        found = _chosen.get(key)
    if found is not None:
        return found
    engine = _choose(settings, language)
    with _lock:
        engine = _chosen.setdefault(key, engine)
    return engine


def _choose(settings: SpeechSettings, language: str):
    reason = why_not_piper(settings) or _broken.get((settings.voice_path, settings.threads))
    if reason is None:
        try:
            voice = piper_engine.load(settings.voice_path, settings.threads)
        except piper_engine.VoiceUnavailable as exc:
            reason = str(exc)
        else:
            if voice.speaks(language):
                log.info("speaking with the %s", voice.describe())
                return voice
            log.info("the Piper voice %s does not speak '%s'; using pyttsx3", voice.voice, language)
            reason = ""
    fallback = Pyttsx3Speech(settings.voice)
    if reason and not chose_pyttsx3(settings):
        _notice(f"{reason}: speaking with the {fallback.describe()} instead")
    else:
        log.info("speaking with the %s", fallback.describe())
    return fallback


def give_up(settings: SpeechSettings, engine, exc: BaseException) -> None:
    """A Piper render failed: use pyttsx3 for the rest of this process (one notice)."""
    with _lock:
        _broken[(settings.voice_path, settings.threads)] = f"the {engine.voice} voice failed ({exc})"
        for key in [k for k, v in _chosen.items() if v is engine]:
            del _chosen[key]
    log.debug("Piper render failed", exc_info=exc)


def planned(settings: SpeechSettings) -> str:
    """Which engine will speak, in one line, without loading a model (``config show``, ``devices``)."""
    reason = why_not_piper(settings)
    if reason is None:
        files = piper_engine.voice_files(settings.voice_path)
        return f"Piper voice {files.name} ({files.model})"
    return f"pyttsx3 / espeak-ng ({reason})"
