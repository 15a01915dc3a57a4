"""What the hearing side hands out, and the one interface every recognizer has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from voice_coach.session.commands import Command

SAMPLE_RATE = 16_000  # every recognizer is fed 16 kHz mono int16 PCM
SAMPLE_WIDTH = 2


@dataclass(frozen=True)
class Heard:
    """One utterance that was heard.

    ``command`` None means speech that was heard but not understood (the loop may say "Sorry?").
    ``start``/``end`` are seconds of the audio stream fed to the recognizer so far. The live
    :class:`~voice_coach.hearing.listener.Listener` also sets ``ended_at``: the ``time.monotonic()``
    at which the end of the speech was captured, so the caller can measure its own latency, and
    ``stages``: where the time went until it was handed out, in seconds by stage (for the logs and
    the benchmarks: hangover, queue, recognizer, and the decode's own stages).
    """

    command: Command | None
    number: int | None
    text: str
    start: float
    end: float
    confidence: float | None
    level_db: float
    ended_at: float | None = None
    stages: tuple[tuple[str, float], ...] = ()


@runtime_checkable
class CommandRecognizer(Protocol):
    """A streaming command recognizer fed 16 kHz mono int16 PCM in chunks of any size."""

    language: str

    def accept(self, pcm: bytes) -> list[Heard]:
        """Feed audio; return whatever utterances ended inside it."""

    def flush(self) -> list[Heard]:
        """End of input: close a pending utterance and return it."""

    def set_allowed(self, commands: frozenset[Command] | None, numbers: bool, extra: tuple[str, ...] = ()) -> None:
        """Listen only for ``commands`` (None = all) and, if ``numbers``, the numbers 0-10, plus the
        free phrases ``extra`` (their text is handed on; the caller interprets it)."""

    def reset(self) -> None:
        """Forget a pending utterance and the stream position (e.g. after a device change)."""
