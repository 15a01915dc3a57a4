"""Checks that a setting names something this machine has (a voice, a model folder, a language).

:mod:`voice_coach.settings` checks what a value *is* (a number in range) and stays free of the
engines; these checks ask the engines, so they live here and import them only when called. They
run at ``config set`` (a bad value is refused before it is saved) and before ``run`` and
``serve`` start (a hand-edited file gets one clear line, not a warning per sentence). A new
setting that names something registers its check with :func:`check`.
"""

from __future__ import annotations

from collections.abc import Callable

from voice_coach.errors import UserError
from voice_coach.settings import Settings

Check = Callable[[Settings], None]  # raises UserError saying what is available
_CHECKS: dict[str, Check] = {}


def check(key: str) -> Callable[[Check], Check]:
    """Register ``fn`` as the check of the dotted setting ``key`` (e.g. ``speech.voice``)."""
    def register(fn: Check) -> Check:
        _CHECKS[key] = fn
        return fn
    return register


def check_key(settings: Settings, key: str) -> None:
    """Run the check of ``key``, if it has one."""
    fn = _CHECKS.get(key)
    if fn is not None:
        fn(settings)


def check_all(settings: Settings) -> None:
    """Run every registered check; the first failure is raised."""
    for fn in _CHECKS.values():
        fn(settings)


@check("speech.voice")
def _speech_voice(settings: Settings) -> None:
    if settings.speech.voice:
        from voice_coach.speech.synth import resolve_voice

        resolve_voice(settings.speech.voice)  # UserError naming the voices there are


@check("hearing.language")
def _hearing_language(settings: Settings) -> None:
    from voice_coach.vocabulary import vocabulary

    try:
        vocabulary(settings.hearing.language)
    except ValueError as exc:
        raise UserError(f"hearing.language: {exc}") from None


@check("hearing.model_path")
def _hearing_model_path(settings: Settings) -> None:
    if settings.hearing.model_path:
        from voice_coach.hearing.factory import find_vosk_model

        find_vosk_model(settings.hearing)  # UserError when the folder is no model
