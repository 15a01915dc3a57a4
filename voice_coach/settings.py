"""Settings: frozen dataclasses loaded from one TOML file in the per-user config folder.

Every field has a default that works, so a missing or partial file is fine. A bad value is a
:class:`~voice_coach.errors.UserError` naming the file and the key, never a traceback.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from voice_coach import paths
from voice_coach.errors import UserError


@dataclass(frozen=True)
class SpeechSettings:
    """Speech out: the coach's voice and the speaker."""

    engine: str = "auto"  # auto (Piper when installed, else pyttsx3) | piper | pyttsx3
    voice_path: str = ""  # a Piper voice (.onnx, with its .onnx.json beside it); "" = the bundled voice
    voice: str = ""  # a pyttsx3 voice id or name fragment (with engine auto: pyttsx3 speaks); "" = default
    rate: int = 165  # words per minute (both engines)
    volume: float = 0.9  # 0.0 .. 1.0
    output_device: str = ""  # PortAudio device name fragment or index; "" = the system default
    chime: bool = True  # a short generated chime at step changes and timer ends
    cache_mb: int = 64  # bound of the rendered-prompt cache
    threads: int = 1  # Piper's CPU threads (1 measured as fast as 2 here, with less CPU)


@dataclass(frozen=True)
class HearingSettings:
    """Speech in: the microphone and the command recognizer."""

    engine: str = "auto"  # auto | vosk | whisper
    language: str = "en"
    model_path: str = ""  # a Vosk model folder or a CTranslate2 Whisper model folder; "" = built-in
    input_device: str = ""  # PortAudio device name fragment or index; "" = the system default
    wake_word: str = "coach"
    use_wake_word: bool = False  # require "coach, next" in noisy homes
    max_utterance_s: float = 3.0


@dataclass(frozen=True)
class SessionSettings:
    """How a session runs."""

    default_routine: str = "evening-back-relief"
    ask_pain: bool = True  # ask for the pain level 0-10 before and after a session
    reprompt_after_s: float = 20.0  # no answer for this long: say briefly what can be said now
    reprompt_again_s: float = 40.0  # then again, more briefly, after this much more silence
    max_reprompts: int = 3  # reminders before the coach pauses (and says how to resume)


@dataclass(frozen=True)
class Settings:
    speech: SpeechSettings = field(default_factory=SpeechSettings)
    hearing: HearingSettings = field(default_factory=HearingSettings)
    session: SessionSettings = field(default_factory=SessionSettings)


ENGINES = ("auto", "vosk", "whisper")
SPEECH_ENGINES = ("auto", "piper", "pyttsx3")


def _validate(settings: Settings) -> None:
    s, h, n = settings.speech, settings.hearing, settings.session
    if not 60 <= s.rate <= 400:
        raise ValueError("speech.rate must be between 60 and 400 words per minute")
    if not 0.0 <= s.volume <= 1.0:
        raise ValueError("speech.volume must be between 0.0 and 1.0")
    if s.cache_mb < 1:
        raise ValueError("speech.cache_mb must be at least 1")
    if s.engine not in SPEECH_ENGINES:
        raise ValueError(f"speech.engine must be one of {', '.join(SPEECH_ENGINES)}")
    if not 1 <= s.threads <= 8:
        raise ValueError("speech.threads must be between 1 and 8")
    if h.engine not in ENGINES:
        raise ValueError(f"hearing.engine must be one of {', '.join(ENGINES)}")
    if not 0.5 <= h.max_utterance_s <= 15:
        raise ValueError("hearing.max_utterance_s must be between 0.5 and 15 seconds")
    for key in ("reprompt_after_s", "reprompt_again_s"):
        if not 3.0 <= getattr(n, key) <= 600.0:
            raise ValueError(f"session.{key} must be between 3 and 600 seconds")
    if not 1 <= n.max_reprompts <= 10:
        raise ValueError("session.max_reprompts must be between 1 and 10")


def _coerce(value: Any, kind: type, key: str) -> Any:
    """Turn a TOML or command-line value into the field's type, or explain what is expected."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
            return value.lower() in ("true", "yes", "on", "1")
        raise ValueError(f"{key} must be true or false")
    if kind is int:
        if isinstance(value, bool):
            raise ValueError(f"{key} must be a whole number")
        try:
            return int(value)
        except (TypeError, ValueError, OverflowError):  # OverflowError: inf
            raise ValueError(f"{key} must be a whole number, not {value!r}") from None
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(f"{key} must be a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key} must be a number, not {value!r}") from None
        if not math.isfinite(number):
            raise ValueError(f"{key} must be a finite number, not {value!r}")
        return number
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError(f"{key} must be text")
    return str(value)


_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


def _section_fields(section: str) -> dict[str, dataclasses.Field]:
    sections = {f.name: f for f in fields(Settings)}
    if section not in sections:
        raise ValueError(f"unknown section [{section}]; the sections are {', '.join(sections)}")
    return {f.name: f for f in fields(sections[section].default_factory())}


def from_dict(data: dict[str, Any]) -> Settings:
    settings = Settings()
    for section, values in data.items():
        if not isinstance(values, dict):
            raise ValueError(f"{section} must be a table like [{section}]")
        known = _section_fields(section)
        changes = {}
        for key, value in values.items():
            if key not in known:
                raise ValueError(f"unknown key {section}.{key}; known keys: {', '.join(known)}")
            changes[key] = _coerce(value, _TYPES[known[key].type], f"{section}.{key}")
        settings = replace(settings, **{section: replace(getattr(settings, section), **changes)})
    _validate(settings)
    return settings


def to_dict(settings: Settings) -> dict[str, Any]:
    return dataclasses.asdict(settings)


def load(path: Path | None = None) -> Settings:
    """Load the settings file; defaults when it does not exist."""
    path = path or paths.settings_file()
    if not path.exists():
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return from_dict(data)
    except (tomllib.TOMLDecodeError, ValueError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: {exc}. Fix it, or run 'voice-coach config path' and delete the file.") from None


def save(settings: Settings, path: Path | None = None) -> Path:
    """Write atomically: a power cut mid-write leaves the old file, never half a file."""
    path = path or paths.settings_file()
    paths.secure_user_folders()
    tmp = paths.private_file(path.with_suffix(".tmp"))  # 0600 whatever the umask; replace() keeps it
    tmp.write_text(tomli_w.dumps(to_dict(settings)), encoding="utf-8")
    tmp.replace(path)
    return path


def with_value(settings: Settings, dotted_key: str, value: str) -> Settings:
    """Return settings with ``section.key`` set to ``value``, validated."""
    if "." not in dotted_key:
        raise ValueError(f"a key looks like section.key, e.g. speech.rate (got {dotted_key!r})")
    section, key = dotted_key.split(".", 1)
    data = to_dict(settings)
    known = _section_fields(section)
    if key not in known:
        raise ValueError(f"unknown key {dotted_key}; known keys in [{section}]: {', '.join(known)}")
    data[section][key] = value
    return from_dict(data)
