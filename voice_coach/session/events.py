"""What goes into the session engine. Each event is handed over together with the time ``now``."""

from __future__ import annotations

from dataclasses import dataclass

from voice_coach.session.commands import Command


@dataclass(frozen=True)
class Start:
    """Begin the session (the opening words, then the first check-in or step)."""


@dataclass(frozen=True)
class Tick:
    """Time has passed; timers due by ``now`` fire."""


@dataclass(frozen=True)
class Heard:
    """A command the person gave, by voice or typed. ``number`` is set for Command.NUMBER."""

    command: Command
    number: int | None = None


@dataclass(frozen=True)
class NotUnderstood:
    """Speech was heard but was no command the coach knows."""


@dataclass(frozen=True)
class SpeechDone:
    """The utterance ``key`` has really finished playing (or was cut off). Timers gate on this."""

    key: str


@dataclass(frozen=True)
class MicrophoneLost:
    detail: str = ""


@dataclass(frozen=True)
class MicrophoneBack:
    pass


@dataclass(frozen=True)
class Shutdown:
    """End now without ceremony (Ctrl-C, SIGTERM, input closed): the session ends as ``reason``."""

    reason: str = "stopped"


Event = Shutdown | Start | Tick | Heard | NotUnderstood | SpeechDone | MicrophoneLost | MicrophoneBack
